//! Amazon SQS target: each change becomes one message, sent ten at a time.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use md5::{Digest, Md5};
use serde_json::{Value, json};

use super::change::{ChangeOp, TargetChange};
use super::target::ReplicationTarget;
use crate::clock::{Clock, SystemClock, iso};
use crate::sqs::{describe, is_fifo};
use crate::{Error, Result};

/// The most entries of one `SendMessageBatch` request (the SQS limit).
pub const SQS_BATCH: usize = 10;
/// The most bytes of message bodies in one `SendMessageBatch` request (the SQS limit of
/// 256 KiB per request; a single larger message is refused by SQS).
const SQS_BATCH_BYTES: usize = 256 * 1024;
/// SQS's limit on message group and deduplication ids.
const SQS_ID_LIMIT: usize = 128;

/// Replicates into Amazon SQS (or moto, LocalStack, ElasticMQ): each change is one message
/// in s3db.js's SQS replicator shape,
/// `{"resource":"users","action":"upsert","id":"u1","data":{"id":"u1",..},"timestamp":"..","source":"s3db-replicator"}`
/// (`action` is `upsert` or `delete`; a delete's `data` is `{"id":..}`; `resource` is the
/// route's target name). Changes queued together go out in `SendMessageBatch` requests of up
/// to ten messages (and 256 KiB), one request per queue.
///
/// Every resource goes to the queue given to [`SqsTarget::new`] unless
/// [`SqsTarget::queue_for`] names another. On a FIFO queue (name ending in `.fifo`) each
/// message carries a message group id, `<resource>:<id>` by default, so the changes of one
/// record arrive in write order while different records are delivered in parallel
/// ([`SqsTarget::message_group`] puts every message in one group instead), and a
/// deduplication id unique to the send.
///
/// Delivery is at least once: a batch that failed in part is sent again message by message
/// by the replicator's retries, so a consumer may see a change twice (applying a whole
/// record again, or deleting a deleted one, changes nothing — the queue consumer plugin does
/// exactly that).
///
/// ```no_run
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use s3db_plugins::replicator::{ReplicationTarget, SqsTarget};
///
/// let client = s3db_plugins::sqs::client(&s3db_storage::S3Config::new("")).await?;
/// let target = SqsTarget::new(client, "https://sqs.eu-west-1.amazonaws.com/123456789012/changes")
///     .queue_for("orders", "https://sqs.eu-west-1.amazonaws.com/123456789012/orders.fifo")
///     .named("events");
/// assert_eq!(target.name(), "events");
/// # Ok::<(), s3db_plugins::Error>(())
/// # }).unwrap();
/// ```
pub struct SqsTarget {
    name: String,
    client: Client,
    default_queue: String,
    queues: HashMap<String, String>,
    message_group: Option<String>,
    /// Makes deduplication ids unique across processes: a digest of the process id and
    /// the time the target was made.
    instance: String,
    sent: AtomicU64,
}

impl std::fmt::Debug for SqsTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqsTarget")
            .field("name", &self.name)
            .field("default_queue", &self.default_queue)
            .field("queues", &self.queues)
            .finish_non_exhaustive()
    }
}

impl SqsTarget {
    /// A target named `sqs` sending every change to the queue at `queue_url` (see
    /// [`crate::sqs::client`] for the client).
    pub fn new(client: Client, queue_url: impl Into<String>) -> SqsTarget {
        let started = SystemClock.now().unix_timestamp_nanos();
        let mut digest = Md5::new();
        digest.update(format!("{}-{started}", std::process::id()));
        SqsTarget {
            name: "sqs".into(),
            client,
            default_queue: queue_url.into(),
            queues: HashMap::new(),
            message_group: None,
            instance: hex::encode(&digest.finalize()[..8]),
            sent: AtomicU64::new(0),
        }
    }

    /// Renames the target (the name of its stats and dead letters).
    pub fn named(mut self, name: impl Into<String>) -> SqsTarget {
        self.name = name.into();
        self
    }

    /// Sends the changes of `resource` (the route's target name) to the queue at
    /// `queue_url` instead of the default queue.
    pub fn queue_for(
        mut self,
        resource: impl Into<String>,
        queue_url: impl Into<String>,
    ) -> SqsTarget {
        self.queues.insert(resource.into(), queue_url.into());
        self
    }

    /// On FIFO queues, puts every message in the group `group` (one ordered stream) instead
    /// of one group per record.
    pub fn message_group(mut self, group: impl Into<String>) -> SqsTarget {
        self.message_group = Some(group.into());
        self
    }

    fn queue_of(&self, resource: &str) -> &str {
        self.queues
            .get(resource)
            .map_or(self.default_queue.as_str(), String::as_str)
    }

    /// The message entry of `change`, `index` in its batch.
    fn entry(
        &self,
        index: usize,
        change: &TargetChange,
        fifo: bool,
    ) -> Result<SendMessageBatchRequestEntry> {
        let data = match (&change.op, &change.record) {
            (ChangeOp::Upsert, Some(record)) => Value::Object(record.clone()),
            _ => json!({ "id": change.id }),
        };
        let body = json!({
            "resource": change.resource,
            "action": change.op.as_str(),
            "id": change.id,
            "data": data,
            "timestamp": iso(SystemClock.now()),
            "source": "s3db-replicator",
        });
        let mut entry = SendMessageBatchRequestEntry::builder()
            .id(index.to_string())
            .message_body(body.to_string());
        if fifo {
            let group = match &self.message_group {
                Some(group) => group.clone(),
                None => format!("{}:{}", change.resource, change.id),
            };
            let sent = self.sent.fetch_add(1, Ordering::Relaxed);
            entry = entry
                .message_group_id(sqs_id(&group))
                .message_deduplication_id(format!("{}-{sent}", self.instance));
        }
        entry.build().map_err(|e| {
            Error::target(
                &self.name,
                format!("message of {}/{}", change.resource, change.id),
                e,
            )
        })
    }

    /// Sends `changes` (all for `queue`) in batches of up to ten messages and 256 KiB.
    async fn send(&self, queue: &str, changes: &[&TargetChange]) -> Result<()> {
        let fifo = is_fifo(queue);
        let mut batch: Vec<SendMessageBatchRequestEntry> = Vec::new();
        let mut bytes = 0;
        for change in changes {
            let entry = self.entry(batch.len(), change, fifo)?;
            let size = entry.message_body().len();
            if !batch.is_empty() && (batch.len() == SQS_BATCH || bytes + size > SQS_BATCH_BYTES) {
                self.send_batch(queue, std::mem::take(&mut batch)).await?;
                bytes = 0;
                // Entry ids are positions in their request.
                batch.push(self.entry(0, change, fifo)?);
            } else {
                batch.push(entry);
            }
            bytes += size;
        }
        if !batch.is_empty() {
            self.send_batch(queue, batch).await?;
        }
        Ok(())
    }

    async fn send_batch(
        &self,
        queue: &str,
        entries: Vec<SendMessageBatchRequestEntry>,
    ) -> Result<()> {
        let count = entries.len();
        let output = self
            .client
            .send_message_batch()
            .queue_url(queue)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| {
                Error::target(
                    &self.name,
                    format!("SendMessageBatch to {queue}: {}", describe(&e)),
                    e,
                )
            })?;
        let failed = output.failed();
        if failed.is_empty() {
            return Ok(());
        }
        let reasons: Vec<String> = failed
            .iter()
            .map(|f| {
                format!(
                    "entry {}: {} {}",
                    f.id(),
                    f.code(),
                    f.message().unwrap_or_default()
                )
            })
            .collect();
        Err(Error::Target {
            target: self.name.clone(),
            reason: format!(
                "SendMessageBatch to {queue}: {} of {count} messages refused ({})",
                failed.len(),
                reasons.join("; ")
            ),
            source: None,
        })
    }
}

/// `id` as an SQS message group id: itself when it fits SQS's 128 characters, else a digest.
fn sqs_id(id: &str) -> String {
    if id.len() <= SQS_ID_LIMIT {
        id.to_owned()
    } else {
        hex::encode(Md5::digest(id.as_bytes()))
    }
}

#[async_trait]
impl ReplicationTarget for SqsTarget {
    fn name(&self) -> &str {
        &self.name
    }

    async fn apply(&self, change: &TargetChange) -> Result<()> {
        self.send(self.queue_of(&change.resource), &[change]).await
    }

    fn max_batch(&self) -> usize {
        SQS_BATCH
    }

    async fn apply_batch(&self, changes: &[TargetChange]) -> Result<()> {
        // One request per queue, each queue's changes in write order.
        let mut by_queue: Vec<(&str, Vec<&TargetChange>)> = Vec::new();
        for change in changes {
            let queue = self.queue_of(&change.resource);
            match by_queue.iter_mut().find(|(q, _)| *q == queue) {
                Some((_, list)) => list.push(change),
                None => by_queue.push((queue, vec![change])),
            }
        }
        for (queue, list) in by_queue {
            self.send(queue, &list).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn long_group_ids_are_digested() {
        assert_eq!(super::sqs_id("users:u1"), "users:u1");
        let long = "x".repeat(200);
        assert_eq!(super::sqs_id(&long).len(), 32);
    }
}
