//! `idGenerator: "incremental"`: record ids from a [`Sequence`], as s3db.js 21.6.2 makes
//! them (`concerns/incremental-sequence.js`).
//!
//! The configuration takes s3db.js's forms: `"incremental"`, `"incremental:1000"` (start),
//! `"incremental:ORD-0001"` (prefix `ORD-`, start 1, padding 4), `"incremental:fast"` or
//! `"incremental:fast:1000"` (batch mode), or an object `{type: "incremental", start,
//! increment, mode: "standard"|"fast", batchSize, prefix, padding}` with the same limits.
//! Ids come from the sequence `resource=<name>/sequence=id/value`, shared with s3db.js
//! (advanced under s3db.js's lock object beside it, see [`Sequence::s3dbjs_lock`]):
//! in `standard` mode each id advances it by `increment` (ids gap-free across processes);
//! in `fast` mode a process reserves `batchSize` values at once and hands them out locally
//! (unique, but a process that stops leaves the rest of its batch unused).
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use s3db_core::{Database, ResourceConfig};
//! use serde_json::json;
//!
//! let db = Database::connect("memory://incremental-doc").await?;
//! let orders = db
//!     .create_resource(ResourceConfig::from_json(&json!({
//!         "name": "orders",
//!         "attributes": {"item": "string"},
//!         "idGenerator": "incremental:ORD-0001",
//!     }))?)
//!     .await?;
//! let first = orders.insert(json!({"item": "tea"}).as_object().unwrap().clone()).await?;
//! let second = orders.insert(json!({"item": "milk"}).as_object().unwrap().clone()).await?;
//! assert_eq!((first["id"].as_str(), second["id"].as_str()), (Some("ORD-0001"), Some("ORD-0002")));
//! # Ok::<(), s3db_core::Error>(())
//! # }).unwrap();
//! ```

use std::ops::Range;
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::Mutex;

use crate::Result;
use crate::sequence::Sequence;

/// How ids are taken from the sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncrementalMode {
    /// One sequence advance per id: gap-free.
    Standard,
    /// One advance per `batch_size` ids, handed out by this process.
    Fast,
}

/// The `incremental` generator's settings (s3db.js defaults: start 1, increment 1,
/// standard mode, batch 100, no prefix, no padding).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncrementalConfig {
    /// The first id's number.
    pub start: i64,
    /// The step between ids in standard mode (not zero).
    pub increment: i64,
    /// Standard or fast (batched).
    pub mode: IncrementalMode,
    /// Values reserved per batch in fast mode (1..=100000).
    pub batch_size: u32,
    /// Text before the number (at most 20 of `A-Za-z0-9_-`).
    pub prefix: String,
    /// Zero-padding width of the number (0..=20).
    pub padding: usize,
}

impl Default for IncrementalConfig {
    fn default() -> Self {
        IncrementalConfig {
            start: 1,
            increment: 1,
            mode: IncrementalMode::Standard,
            batch_size: 100,
            prefix: String::new(),
            padding: 0,
        }
    }
}

/// A bad `incremental` setting: the field and why (s3db.js's `IncrementalConfigError`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncrementalConfigError {
    /// The setting (`start`, `increment`, `mode`, `batchSize`, `prefix`, `padding`).
    pub field: &'static str,
    /// What it must be.
    pub reason: &'static str,
}

impl IncrementalConfig {
    /// Whether `value` asks for the incremental generator (`"incremental"`,
    /// `"incremental:…"` or `{type: "incremental"}`).
    pub fn is_incremental(value: &Value) -> bool {
        match value {
            Value::String(s) => s == "incremental" || s.starts_with("incremental:"),
            Value::Object(o) => o.get("type").and_then(Value::as_str) == Some("incremental"),
            _ => false,
        }
    }

    /// Parses and validates an s3db.js `idGenerator` value that
    /// [`is_incremental`](Self::is_incremental). Like s3db.js, an unrecognised suffix
    /// keeps the defaults.
    pub fn from_json(value: &Value) -> std::result::Result<Self, IncrementalConfigError> {
        let mut config = IncrementalConfig::default();
        match value {
            Value::String(s) => {
                if let Some(suffix) = s.strip_prefix("incremental:") {
                    config.apply_suffix(suffix);
                }
            }
            Value::Object(o) => config.apply_object(o)?,
            _ => {}
        }
        config.validate()?;
        Ok(config)
    }

    fn apply_suffix(&mut self, suffix: &str) {
        let mut rest = suffix;
        if rest == "fast" {
            self.mode = IncrementalMode::Fast;
            return;
        }
        if let Some(after) = rest.strip_prefix("fast:") {
            self.mode = IncrementalMode::Fast;
            rest = after;
        }
        if let Ok(start) = rest.parse::<i64>()
            && start.to_string() == rest
        {
            self.start = start;
            return;
        }
        // `^([A-Za-z]+-?)(\d+)$`: a prefix, then the digits giving start and padding.
        let digits_at = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let (prefix, digits) = rest.split_at(digits_at);
        let letters = prefix.strip_suffix('-').unwrap_or(prefix);
        if !letters.is_empty()
            && letters.chars().all(|c| c.is_ascii_alphabetic())
            && !digits.is_empty()
            && digits.chars().all(|c| c.is_ascii_digit())
            && let Ok(start) = digits.parse::<i64>()
        {
            self.prefix = prefix.to_owned();
            self.start = start;
            self.padding = digits.len();
        }
    }

    fn apply_object(
        &mut self,
        o: &serde_json::Map<String, Value>,
    ) -> std::result::Result<(), IncrementalConfigError> {
        let int =
            |field: &'static str| -> std::result::Result<Option<i64>, IncrementalConfigError> {
                match o.get(field) {
                    None | Some(Value::Null) => Ok(None),
                    Some(v) => v.as_i64().map(Some).ok_or(IncrementalConfigError {
                        field,
                        reason: "must be an integer",
                    }),
                }
            };
        if let Some(start) = int("start")? {
            self.start = start;
        }
        if let Some(increment) = int("increment")? {
            self.increment = increment;
        }
        if let Some(batch) = int("batchSize")? {
            self.batch_size = u32::try_from(batch).map_err(|_| IncrementalConfigError {
                field: "batchSize",
                reason: "must be between 1 and 100000",
            })?;
        }
        if let Some(padding) = int("padding")? {
            self.padding = usize::try_from(padding).map_err(|_| IncrementalConfigError {
                field: "padding",
                reason: "must be between 0 and 20",
            })?;
        }
        match o.get("mode") {
            None | Some(Value::Null) => {}
            Some(Value::String(m)) if m == "standard" => self.mode = IncrementalMode::Standard,
            Some(Value::String(m)) if m == "fast" => self.mode = IncrementalMode::Fast,
            Some(_) => {
                return Err(IncrementalConfigError {
                    field: "mode",
                    reason: "must be one of: standard, fast",
                });
            }
        }
        match o.get("prefix") {
            None | Some(Value::Null) => {}
            Some(Value::String(p)) => self.prefix.clone_from(p),
            Some(_) => {
                return Err(IncrementalConfigError {
                    field: "prefix",
                    reason: "must be a string",
                });
            }
        }
        Ok(())
    }

    /// Checks s3db.js's limits.
    pub fn validate(&self) -> std::result::Result<(), IncrementalConfigError> {
        const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;
        let fail = |field, reason| Err(IncrementalConfigError { field, reason });
        if !(-MAX_SAFE_INTEGER..=MAX_SAFE_INTEGER).contains(&self.start) {
            return fail(
                "start",
                "must be between -9007199254740991 and 9007199254740991",
            );
        }
        if self.increment == 0 {
            return fail("increment", "cannot be zero");
        }
        if !(1..=100_000).contains(&self.batch_size) {
            return fail("batchSize", "must be between 1 and 100000");
        }
        if self.prefix.len() > 20 {
            return fail("prefix", "must be at most 20 characters");
        }
        if !self
            .prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return fail(
                "prefix",
                "must contain only alphanumeric characters, hyphens, and underscores",
            );
        }
        if self.padding > 20 {
            return fail("padding", "must be between 0 and 20");
        }
        Ok(())
    }

    /// The id for sequence value `value`: prefix, then the number zero-padded to `padding`.
    pub fn format(&self, value: i64) -> String {
        format!("{}{:0width$}", self.prefix, value, width = self.padding)
    }
}

/// The incremental generator of one resource: its settings and, in fast mode, the batch
/// this process reserved.
#[derive(Debug)]
pub struct IncrementalIds {
    config: IncrementalConfig,
    batch: Mutex<Range<i64>>,
}

impl IncrementalIds {
    /// A generator with `config` and no batch reserved yet.
    pub fn new(config: IncrementalConfig) -> Self {
        IncrementalIds {
            config,
            batch: Mutex::new(0..0),
        }
    }

    /// Its settings.
    pub fn config(&self) -> &IncrementalConfig {
        &self.config
    }

    /// The next id, from `sequence` (its start must be the config's: see
    /// [`IncrementalIds::sequence`]). Standard mode: one advance of the sequence per id
    /// (five requests under s3db.js's lock); fast mode: one per `batch_size` ids.
    pub async fn next_id(&self, sequence: &Sequence) -> Result<String> {
        let value = match self.config.mode {
            IncrementalMode::Standard => sequence.advance(self.config.increment).await?,
            IncrementalMode::Fast => {
                let mut batch = self.batch.lock().await;
                if batch.is_empty() {
                    *batch = sequence.reserve(self.config.batch_size).await?;
                }
                let value = batch.start;
                batch.start += 1;
                value
            }
        };
        Ok(self.config.format(value))
    }

    /// The sequence s3db.js uses for the ids of `resource`, starting at the config's start.
    pub fn sequence(&self, storage: Arc<dyn s3db_storage::Storage>, resource: &str) -> Sequence {
        Sequence::for_resource(storage, resource, "id").start(self.config.start)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parsed(value: Value) -> IncrementalConfig {
        IncrementalConfig::from_json(&value).unwrap()
    }

    #[test]
    fn parses_s3dbjs_forms() {
        assert_eq!(parsed(json!("incremental")), IncrementalConfig::default());
        assert_eq!(parsed(json!("incremental:1000")).start, 1000);
        let fast = parsed(json!("incremental:fast:500"));
        assert_eq!((fast.mode, fast.start), (IncrementalMode::Fast, 500));
        let ord = parsed(json!("incremental:ORD-0042"));
        assert_eq!(
            (ord.prefix.as_str(), ord.start, ord.padding),
            ("ORD-", 42, 4)
        );
        assert_eq!(ord.format(7), "ORD-0007");
        let object = parsed(json!({"type": "incremental", "start": 10, "increment": 5,
            "mode": "fast", "batchSize": 50, "prefix": "INV", "padding": 6}));
        assert_eq!(object.format(10), "INV000010");
        assert_eq!((object.increment, object.batch_size), (5, 50));
        // s3db.js keeps the defaults for a suffix it does not recognise.
        assert_eq!(
            parsed(json!("incremental:??")),
            IncrementalConfig::default()
        );
    }

    #[test]
    fn bad_settings_name_the_field() {
        for (value, field) in [
            (json!({"type": "incremental", "increment": 0}), "increment"),
            (json!({"type": "incremental", "batchSize": 0}), "batchSize"),
            (json!({"type": "incremental", "padding": 21}), "padding"),
            (json!({"type": "incremental", "prefix": "a b"}), "prefix"),
            (json!({"type": "incremental", "mode": "slow"}), "mode"),
            (json!({"type": "incremental", "start": 1.5}), "start"),
        ] {
            assert_eq!(
                IncrementalConfig::from_json(&value).unwrap_err().field,
                field,
                "{value}"
            );
        }
    }
}
