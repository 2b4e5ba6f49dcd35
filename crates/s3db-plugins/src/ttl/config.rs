//! What the TTL plugin does per resource: when records expire and what happens then.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use s3db_core::Record;
use time::OffsetDateTime;

use crate::error::{Error, Result};

/// The plugin's slug: its storage areas are `resource=<R>/plugin=ttl/…`.
pub const SLUG: &str = "ttl";

/// When a record of a resource expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expiry {
    /// A fixed lifetime counted from the insert (as the plugin's clock sees it; `backfill`
    /// counts from the record's `createdAt`).
    After(Duration),
    /// The record's own field holds the expiry: an ISO-8601 timestamp or epoch milliseconds
    /// (a number or a string of digits). Records without it (or with `null`) never expire.
    Field(String),
}

impl Expiry {
    /// A fixed lifetime of `seconds` counted from the insert.
    pub fn after_secs(seconds: u64) -> Expiry {
        Expiry::After(Duration::from_secs(seconds))
    }

    /// The expiry read from the field `name` of each record.
    pub fn field(name: impl Into<String>) -> Expiry {
        Expiry::Field(name.into())
    }
}

/// The value a soft delete writes into its flag field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagValue {
    /// The sweep's time as an ISO-8601 string (for fields like `deletedAt`).
    Timestamp,
    /// `true` (for fields like `isExpired`).
    True,
}

/// A record that expired, as a callback receives it.
#[derive(Debug, Clone)]
pub struct Expired {
    /// The resource it belongs to.
    pub resource: String,
    /// Its id.
    pub id: String,
    /// The record as read by the sweep (with `id`).
    pub record: Record,
    /// When it expired.
    pub expired_at: OffsetDateTime,
}

/// A user function called once per expired record; an error leaves the record to the next
/// sweep.
pub type ExpiryCallback = Arc<dyn Fn(Expired) -> BoxFuture<'static, Result<()>> + Send + Sync>;

/// What happens to an expired record.
#[derive(Clone)]
pub enum Action {
    /// Sets `field` (through `update`, so hooks and events run) and keeps the record.
    SoftDelete {
        /// The flag field, e.g. `deletedAt` or `isExpired`.
        field: String,
        /// What is written into it.
        value: FlagValue,
    },
    /// Deletes the record.
    HardDelete,
    /// Inserts the record, same id, into the resource `to`, then deletes it.
    Archive {
        /// The archive resource (must exist when the sweep runs and accept the fields).
        to: String,
    },
    /// Calls a user function; the record stays as it is.
    Callback(ExpiryCallback),
}

impl Action {
    /// Soft delete writing the sweep time into `field` (e.g. `deletedAt`).
    pub fn soft_delete(field: impl Into<String>) -> Action {
        Action::SoftDelete {
            field: field.into(),
            value: FlagValue::Timestamp,
        }
    }

    /// Archive into the resource `to`.
    pub fn archive(to: impl Into<String>) -> Action {
        Action::Archive { to: to.into() }
    }

    /// Calls `callback` once per expired record.
    pub fn callback<F, Fut>(callback: F) -> Action
    where
        F: Fn(Expired) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<()>> + Send + 'static,
    {
        Action::Callback(Arc::new(move |expired| Box::pin(callback(expired))))
    }

    /// The flag field of a soft delete.
    pub(crate) fn flag_field(&self) -> Option<&str> {
        match self {
            Action::SoftDelete { field, .. } => Some(field),
            _ => None,
        }
    }
}

impl fmt::Debug for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::SoftDelete { field, value } => f
                .debug_struct("SoftDelete")
                .field("field", field)
                .field("value", value)
                .finish(),
            Action::HardDelete => f.write_str("HardDelete"),
            Action::Archive { to } => f.debug_struct("Archive").field("to", to).finish(),
            Action::Callback(_) => f.write_str("Callback(..)"),
        }
    }
}

/// The rule of one resource: when its records expire and what happens then.
#[derive(Debug, Clone)]
pub struct ResourceTtl {
    /// When records expire.
    pub expiry: Expiry,
    /// What happens to expired records.
    pub action: Action,
}

/// The plugin's configuration.
///
/// ```
/// use std::time::Duration;
/// use s3db_plugins::ttl::{Action, Expiry, TtlConfig};
///
/// let config = TtlConfig::new()
///     .resource("sessions", Expiry::after_secs(3_600), Action::HardDelete)
///     .resource("invites", Expiry::field("expiresAt"), Action::archive("old_invites"))
///     .interval(Duration::from_secs(30));
/// assert!(config.validate().is_ok());
/// ```
#[derive(Debug, Clone)]
pub struct TtlConfig {
    /// Rules per resource name.
    pub resources: BTreeMap<String, ResourceTtl>,
    /// Time between two background sweeps (default one minute).
    pub interval: Duration,
    /// Expired records handled at once by one sweep (default 8).
    pub concurrency: usize,
    /// A claim not renewed for this long is taken to belong to a sweeper that died, and may
    /// be taken over (default ten minutes). Holders renew their claims every third of it.
    pub claim_timeout: Duration,
}

impl Default for TtlConfig {
    fn default() -> Self {
        TtlConfig {
            resources: BTreeMap::new(),
            interval: Duration::from_secs(60),
            concurrency: 8,
            claim_timeout: Duration::from_secs(600),
        }
    }
}

impl TtlConfig {
    /// No resources, default interval, concurrency and claim timeout.
    pub fn new() -> TtlConfig {
        TtlConfig::default()
    }

    /// Adds (or replaces) the rule of `resource`.
    pub fn resource(mut self, resource: impl Into<String>, expiry: Expiry, action: Action) -> Self {
        self.resources
            .insert(resource.into(), ResourceTtl { expiry, action });
        self
    }

    /// Sets the time between background sweeps.
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// Sets how many expired records one sweep handles at once.
    pub fn concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency;
        self
    }

    /// Sets the age after which a claim may be taken over.
    pub fn claim_timeout(mut self, timeout: Duration) -> Self {
        self.claim_timeout = timeout;
        self
    }

    /// Checks the configuration: [`Error::Config`] naming what is wrong.
    pub fn validate(&self) -> Result<()> {
        let fail = |reason: String| {
            Err(Error::Config {
                plugin: SLUG,
                reason,
            })
        };
        if self.interval.is_zero() {
            return fail("the sweep interval must be longer than zero".into());
        }
        if self.concurrency == 0 {
            return fail("the sweep concurrency must be at least 1".into());
        }
        for (name, rule) in &self.resources {
            if name.is_empty() {
                return fail("a resource name is empty".into());
            }
            if let Expiry::Field(field) = &rule.expiry
                && field.is_empty()
            {
                return fail(format!("resource {name:?}: the expiry field name is empty"));
            }
            match &rule.action {
                Action::SoftDelete { field, .. } if field.is_empty() => {
                    return fail(format!("resource {name:?}: the soft-delete field is empty"));
                }
                Action::SoftDelete { field, .. } if rule.expiry == Expiry::Field(field.clone()) => {
                    return fail(format!(
                        "resource {name:?}: the soft-delete field {field:?} is the expiry field"
                    ));
                }
                Action::Archive { to } if to.is_empty() || to == name => {
                    return fail(format!(
                        "resource {name:?}: the archive resource must be another resource, not {to:?}"
                    ));
                }
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_what_cannot_work() {
        let bad = [
            TtlConfig::new().interval(Duration::ZERO),
            TtlConfig::new().concurrency(0),
            TtlConfig::new().resource("a", Expiry::field(""), Action::HardDelete),
            TtlConfig::new().resource("a", Expiry::after_secs(1), Action::soft_delete("")),
            TtlConfig::new().resource("a", Expiry::field("x"), Action::soft_delete("x")),
            TtlConfig::new().resource("a", Expiry::after_secs(1), Action::archive("a")),
        ];
        for config in bad {
            assert!(
                matches!(config.validate(), Err(Error::Config { plugin: SLUG, .. })),
                "{config:?}"
            );
        }
        let good = TtlConfig::new().resource("a", Expiry::after_secs(1), Action::archive("b"));
        assert!(good.validate().is_ok());
    }
}
