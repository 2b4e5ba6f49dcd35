//! Behaviors: how a mapped record is split between user metadata (2 KB) and the body.
//!
//! Each of s3db.js's five behaviors is a small strategy type implementing [`Behavior`];
//! [`BehaviorKind`] names them as `s3db.json` does. All accounting follows s3db.js
//! (`concerns/calculator.js`): UTF-8 bytes of names plus values *before* metadata encoding,
//! against an effective limit of `2047 − overhead` (see [`WriteContext::effective_limit`]).

mod body_only;
mod body_overflow;
mod enforce_limits;
mod truncate_data;
mod user_managed;

pub use body_only::BodyOnly;
pub use body_overflow::BodyOverflow;
pub use enforce_limits::EnforceLimits;
pub use truncate_data::TruncateData;
pub use user_managed::UserManaged;

use std::fmt;

use s3db_codec::budget::{SystemFields, calculate_total_size, effective_limit};

use crate::error::Result;
use crate::mapper::entries::{Entries, MappedValue};

pub use s3db_codec::budget::S3DBJS_METADATA_LIMIT as DEFAULT_METADATA_LIMIT;

/// The five behaviors of s3db.js, by their stored names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum BehaviorKind {
    /// `user-managed`: metadata when it fits, otherwise everything in the body (with a warning).
    #[default]
    UserManaged,
    /// `enforce-limits`: metadata only; oversize records are rejected.
    EnforceLimits,
    /// `truncate-data`: metadata only; the largest values are cut to fit.
    TruncateData,
    /// `body-overflow`: small values in metadata, the rest in a JSON body.
    BodyOverflow,
    /// `body-only`: everything in a JSON body, metadata holds `_v` and the key map.
    BodyOnly,
}

impl BehaviorKind {
    /// All behaviors.
    pub const ALL: [BehaviorKind; 5] = [
        BehaviorKind::UserManaged,
        BehaviorKind::EnforceLimits,
        BehaviorKind::TruncateData,
        BehaviorKind::BodyOverflow,
        BehaviorKind::BodyOnly,
    ];

    /// The name stored in `s3db.json`.
    pub fn as_str(self) -> &'static str {
        match self {
            BehaviorKind::UserManaged => "user-managed",
            BehaviorKind::EnforceLimits => "enforce-limits",
            BehaviorKind::TruncateData => "truncate-data",
            BehaviorKind::BodyOverflow => "body-overflow",
            BehaviorKind::BodyOnly => "body-only",
        }
    }

    /// Parses a behavior name: the five s3db.js stores, and the legacy names
    /// `user-management` (user-managed) and `data-truncate` (truncate-data).
    ///
    /// ```
    /// use s3db_core::BehaviorKind;
    /// assert_eq!(BehaviorKind::parse("data-truncate"), Some(BehaviorKind::TruncateData));
    /// assert_eq!(BehaviorKind::parse("body-only"), Some(BehaviorKind::BodyOnly));
    /// assert_eq!(BehaviorKind::parse("trim"), None);
    /// ```
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "user-management" => Some(BehaviorKind::UserManaged),
            "data-truncate" => Some(BehaviorKind::TruncateData),
            _ => BehaviorKind::ALL.into_iter().find(|k| k.as_str() == name),
        }
    }

    /// The strategy implementing this behavior.
    pub fn strategy(self) -> &'static dyn Behavior {
        match self {
            BehaviorKind::UserManaged => &UserManaged,
            BehaviorKind::EnforceLimits => &EnforceLimits,
            BehaviorKind::TruncateData => &TruncateData,
            BehaviorKind::BodyOverflow => &BodyOverflow,
            BehaviorKind::BodyOnly => &BodyOnly,
        }
    }
}

impl fmt::Display for BehaviorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a behavior needs to know about the write besides the entries.
#[derive(Debug, Clone, Copy)]
pub struct WriteContext<'a> {
    /// Resource name (for errors and warnings).
    pub resource: &'a str,
    /// Record id.
    pub id: &'a str,
    /// Version written into `_v`, e.g. `v1`.
    pub version: &'a str,
    /// Whether the resource has timestamps (they are reserved in the budget).
    pub timestamps: bool,
    /// Absolute metadata limit ([`DEFAULT_METADATA_LIMIT`] unless configured).
    pub metadata_limit: usize,
    /// `JSON.stringify(schema.map)` — attribute → short key — for `body-only`'s `_map`.
    pub key_map_json: &'a str,
}

impl WriteContext<'_> {
    /// s3db.js's effective limit: the absolute limit minus the bytes of `{_v, id}` (plus two
    /// 24-character timestamps when enabled). The id is reserved although it is not stored.
    pub fn effective_limit(&self) -> usize {
        let fields = SystemFields {
            version: self.version,
            id: self.id,
            timestamps: self.timestamps,
        };
        effective_limit(self.metadata_limit, &fields)
    }
}

/// Where a behavior put a record: metadata entries (pre-encoding, keys not yet sanitized) and
/// an optional JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// Entries for user metadata, `_v` first.
    pub metadata: Entries,
    /// JSON body, if any (written with Content-Type `application/json`).
    pub body: Option<String>,
}

/// A strategy placing mapped entries into metadata and body.
pub trait Behavior: Send + Sync + fmt::Debug {
    /// Which behavior this is.
    fn kind(&self) -> BehaviorKind;

    /// Places `entries` (`_v` first, JavaScript order) for an insert, update or replace.
    fn place(&self, ctx: &WriteContext<'_>, entries: Entries) -> Result<Placement>;

    /// Whether reads merge the JSON body under the metadata (`enforce-limits` and
    /// `truncate-data` ignore bodies, like s3db.js).
    fn reads_body(&self) -> bool {
        true
    }
}

/// Total accounted bytes of entries: names plus values.
pub(crate) fn total_bytes(entries: &[(String, MappedValue)]) -> usize {
    calculate_total_size(entries.iter().map(|(k, v)| (k, v.as_meta())))
}

/// Splits `_v` from the other entries.
pub(crate) fn split_version(entries: Entries) -> (Option<MappedValue>, Entries) {
    let mut version = None;
    let rest = entries
        .into_iter()
        .filter_map(|(k, v)| {
            if k == "_v" {
                version = Some(v);
                None
            } else {
                Some((k, v))
            }
        })
        .collect();
    (version, rest)
}

/// Entries sorted by accounted value size, ascending; ties keep JavaScript object order.
pub(crate) fn by_value_size(entries: Entries) -> Entries {
    let mut ordered = crate::mapper::entries::js_order(entries);
    ordered.sort_by_key(|(_, v)| v.accounted_bytes());
    ordered
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    pub fn ctx<'a>(id: &'a str) -> WriteContext<'a> {
        WriteContext {
            resource: "r",
            id,
            version: "v1",
            timestamps: false,
            metadata_limit: DEFAULT_METADATA_LIMIT,
            key_map_json: r#"{"a":"0","b":"1"}"#,
        }
    }

    pub fn entries(list: &[(&str, &str)]) -> Entries {
        let mut out = vec![("_v".to_string(), MappedValue::Text("v1".into()))];
        out.extend(
            list.iter()
                .map(|(k, v)| (k.to_string(), MappedValue::Text(v.to_string()))),
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for kind in BehaviorKind::ALL {
            assert_eq!(BehaviorKind::parse(kind.as_str()), Some(kind));
            assert_eq!(kind.strategy().kind(), kind);
        }
        assert_eq!(
            BehaviorKind::parse("data-truncate"),
            Some(BehaviorKind::TruncateData)
        );
        assert_eq!(
            BehaviorKind::parse("user-management"),
            Some(BehaviorKind::UserManaged)
        );
        assert_eq!(BehaviorKind::parse("truncate"), None);
    }

    #[test]
    fn effective_limit_matches_s3dbjs() {
        // 2047 - ("_v" + "v1") - ("id" + "x1") = 2039 (spec §4).
        assert_eq!(test_support::ctx("x1").effective_limit(), 2039);
    }
}
