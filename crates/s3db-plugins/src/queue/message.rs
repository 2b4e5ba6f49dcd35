//! A message's state object and its entries in the ready index.

use serde::{Deserialize, Serialize};

/// Where a message's state object lives: `messages/<id>`.
pub(crate) const MESSAGES: &str = "messages/";
/// The ready index: `ready/<visibleAt, 15 digits>/<id>`, in the order messages become
/// visible.
pub(crate) const READY: &str = "ready/";

/// Where a message is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Waiting for a worker (visible from `visibleAt` on).
    Pending,
    /// Claimed by a worker until `visibleAt` (its visibility timeout).
    Processing,
    /// Acknowledged: done.
    Completed,
    /// Given up on after `maxAttempts` deliveries (dead letter).
    Dead,
}

impl Status {
    /// Completed or dead: no worker will see it again.
    pub fn is_terminal(self) -> bool {
        matches!(self, Status::Completed | Status::Dead)
    }
}

/// A message's state, as stored (s3db.js's queue entry shape, plus redelivery counts).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    /// The message's id.
    pub id: String,
    /// The id of the record the message is about.
    pub original_id: String,
    /// Where it is in its life.
    pub status: Status,
    /// Epoch milliseconds from which a worker may claim it (pending), or until which the
    /// claiming worker holds it (processing).
    pub visible_at: i64,
    /// Deliveries so far (claims won).
    pub attempts: u32,
    /// Deliveries after which a failure makes it a dead letter.
    pub max_attempts: u32,
    /// Epoch milliseconds it was enqueued at.
    pub queued_at: i64,
    /// The worker holding it (processing), else the last one that did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed_by: Option<String>,
    /// When the current or last delivery was claimed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed_at: Option<i64>,
    /// The current delivery's token: only its holder may settle it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock_token: Option<String>,
    /// The last failure reported by a nack (or the expiry that made it dead).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// When it was acknowledged (epoch milliseconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<i64>,
    /// Deliveries that took over a claim whose visibility timeout had expired (the only way a
    /// message can be handled twice).
    #[serde(default)]
    pub redeliveries: u32,
    /// Deliveries after a nack.
    #[serde(default)]
    pub retries: u32,
}

/// One entry of the ready index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// Epoch milliseconds the entry sorts by.
    pub at: i64,
    /// The message's id.
    pub id: String,
}

impl Entry {
    pub fn new(at: i64, id: &str) -> Entry {
        Entry {
            at,
            id: id.to_owned(),
        }
    }

    /// `ready/<at>/<id>`, with `at` zero-padded so keys sort by time.
    pub fn key(&self) -> String {
        format!("{READY}{:015}/{}", self.at.max(0), self.id)
    }

    /// The entry a key of the index names, if it is one.
    pub fn parse(key: &str) -> Option<Entry> {
        let (at, id) = key.strip_prefix(READY)?.split_once('/')?;
        Some(Entry {
            at: at.parse().ok()?,
            id: id.to_owned(),
        })
    }
}

/// The state object's key of message `id`.
pub(crate) fn message_key(id: &str) -> String {
    format!("{MESSAGES}{id}")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn entry_keys_sort_by_time_and_parse_back() {
        let (early, late) = (Entry::new(999, "b"), Entry::new(1_000, "a"));
        assert!(early.key() < late.key());
        assert_eq!(Entry::parse(&late.key()), Some(late));
        assert_eq!(Entry::parse("ready/x/a"), None);
        assert_eq!(Entry::parse("messages/a"), None);
    }
}
