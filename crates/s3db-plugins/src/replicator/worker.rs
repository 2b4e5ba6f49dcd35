//! The workers, one per target: each applies its queue to its target, dead-letters what
//! keeps failing; the first also replays what dead processes left in the journal. Dead
//! letters are replayed from here too.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use serde_json::{Map, Value};
use tokio::sync::mpsc::UnboundedReceiver;

use super::change::{ChangeOp, SourceChange, TargetChange};
use super::dead_letter::{DeadLetter, DeadLetterStore};
use super::journal::Journal;
use super::retry::apply_with_retry;
use super::route::Route;
use super::stats::Counters;
use super::{Destination, Message, Shared};
use crate::clock::iso;
use crate::{Error, Result};

/// The worker of the target `lane` (its index in `Shared::destinations`): replays the
/// journal first when `recover`, then applies its queue until a stop message, taking up to
/// the target's [`max_batch`](super::ReplicationTarget::max_batch) queued changes at a
/// time; hands the receiver back so a later start resumes with what was queued after the
/// stop.
pub(super) async fn run(
    shared: Arc<Shared>,
    lane: usize,
    mut receiver: UnboundedReceiver<Message>,
    recover: bool,
) -> UnboundedReceiver<Message> {
    let store = shared
        .context
        .get()
        .map(|ctx| DeadLetterStore::new(ctx.storage()));
    if let (true, Some(journal)) = (recover, shared.journal.get()) {
        replay_journal(&shared, store.as_ref(), journal).await;
        shared.done();
    }
    let Some(destination) = shared.destinations.get(lane) else {
        return receiver;
    };
    let limit = destination.target.max_batch().max(1);
    while let Some(Message::Change(first)) = receiver.recv().await {
        let mut changes = vec![first];
        let mut stop = false;
        while changes.len() < limit {
            match receiver.try_recv() {
                Ok(Message::Change(change)) => changes.push(change),
                Ok(Message::Stop) => {
                    stop = true;
                    break;
                }
                Err(_) => break,
            }
        }
        let sources: Vec<&SourceChange> = changes.iter().map(|q| &q.change).collect();
        process_destination(&shared, store.as_ref(), destination, &sources).await;
        for queued in &changes {
            // The last worker to handle a change settles its journal entry.
            if queued.remaining.fetch_sub(1, Ordering::SeqCst) == 1 {
                settle(&shared, &queued.change).await;
            }
            shared.done();
        }
        if stop {
            break;
        }
    }
    receiver
}

/// Removes the journal entry of a handled change.
pub(super) async fn settle(shared: &Shared, change: &SourceChange) {
    let (Some(journal), Some(key)) = (shared.journal.get(), &change.journal_key) else {
        return;
    };
    if let Err(error) = journal.remove(key).await {
        tracing::warn!(%key, %error, "replicator: a handled change's journal entry could not be removed");
    }
}

/// Replays, oldest first, the journal entries other instances left: each record once, from
/// its current state in the source (upsert when it exists, delete when it does not), through
/// the same routes, retries and dead letters as a live change. An entry is removed once
/// replayed (or when its resource no longer exists); one that cannot be read, or whose
/// record cannot be read now, is logged and kept for the next start.
async fn replay_journal(shared: &Shared, store: Option<&DeadLetterStore>, journal: &Journal) {
    let keys = match journal.foreign_keys().await {
        Ok(keys) => keys,
        Err(error) => {
            tracing::error!(%error, "replicator: the journal could not be listed");
            return;
        }
    };
    let mut replayed = HashSet::new();
    for key in keys {
        let entry = match journal.read(&key).await {
            Ok(entry) => entry,
            Err(error) => {
                // Gone (another instance replayed it) or unreadable: left as it is.
                tracing::warn!(%key, %error, "replicator: a journal entry was not replayed");
                continue;
            }
        };
        if replayed.insert((entry.resource.clone(), entry.id.clone())) {
            match current_state(shared, &entry.resource, &entry.id).await {
                Ok(Some((op, record))) => {
                    let change = SourceChange {
                        resource: entry.resource.as_str().into(),
                        op,
                        id: entry.id.clone(),
                        record,
                        written: Instant::now(),
                        journal_key: None,
                    };
                    for destination in &shared.destinations {
                        process_destination(shared, store, destination, &[&change]).await;
                    }
                    Counters::bump(&shared.counters.recovered);
                }
                Ok(None) => tracing::warn!(
                    resource = %entry.resource,
                    id = %entry.id,
                    "replicator: a journal entry names a resource that no longer exists"
                ),
                Err(error) => {
                    tracing::warn!(%key, %error, "replicator: a journaled record could not be read");
                    replayed.remove(&(entry.resource, entry.id));
                    continue;
                }
            }
        }
        if let Err(error) = journal.remove(&key).await {
            tracing::warn!(%key, %error, "replicator: a replayed journal entry could not be removed");
        }
    }
}

/// The source resource's attribute definitions (empty when it is gone).
fn attributes_of(shared: &Shared, resource: &str) -> Arc<Map<String, Value>> {
    let attributes = shared
        .context
        .get()
        .and_then(|ctx| ctx.database().ok())
        .and_then(|db| db.resource(resource).ok())
        .map(|r| r.attributes().clone())
        .unwrap_or_default();
    Arc::new(attributes)
}

/// The change one route sends to its target; `None` when the transform skips it.
fn routed(
    route: &Route,
    source_resource: &str,
    op: ChangeOp,
    id: &str,
    record: Option<&s3db_core::Record>,
    attributes: &Arc<Map<String, Value>>,
) -> Option<TargetChange> {
    let record = match op {
        ChangeOp::Upsert => {
            let mut record = route.apply(record.cloned().unwrap_or_default())?;
            record.insert("id".into(), Value::String(id.to_owned()));
            Some(record)
        }
        ChangeOp::Delete => None,
    };
    Some(TargetChange {
        resource: route.target_name(source_resource).to_owned(),
        source_resource: source_resource.to_owned(),
        op,
        id: id.to_owned(),
        record,
        attributes: attributes.clone(),
    })
}

/// Applies changes, in order, to every matching route of one target: in batches of up to
/// [`ReplicationTarget::max_batch`](super::ReplicationTarget::max_batch) where the target
/// takes them, each change alone (with retries and dead letters) otherwise or when its
/// batch failed.
async fn process_destination(
    shared: &Shared,
    store: Option<&DeadLetterStore>,
    destination: &Destination,
    changes: &[&SourceChange],
) {
    let mut targeted = Vec::new();
    let mut sources = Vec::new();
    // A batch is mostly one resource: its attributes are looked up once.
    let mut attributes_by_resource: HashMap<&str, Arc<Map<String, Value>>> = HashMap::new();
    for &change in changes {
        let attributes = attributes_by_resource
            .entry(&change.resource)
            .or_insert_with(|| attributes_of(shared, &change.resource))
            .clone();
        for route in destination
            .routes
            .iter()
            .filter(|r| r.matches(&change.resource))
        {
            match routed(
                route,
                &change.resource,
                change.op,
                &change.id,
                change.record.as_ref(),
                &attributes,
            ) {
                Some(target_change) => {
                    targeted.push(target_change);
                    sources.push(change);
                }
                None => Counters::bump(&shared.counters.skipped),
            }
        }
    }
    let size = destination.target.max_batch().max(1);
    for (batch, batch_sources) in targeted.chunks(size).zip(sources.chunks(size)) {
        if batch.len() > 1 && apply_batch(shared, destination, batch, batch_sources).await {
            continue;
        }
        for (change, source) in batch.iter().zip(batch_sources) {
            deliver(shared, store, destination, change, source).await;
        }
    }
}

/// Applies a batch in one call; `false` (counted and logged) when the target refused it.
async fn apply_batch(
    shared: &Shared,
    destination: &Destination,
    batch: &[TargetChange],
    sources: &[&SourceChange],
) -> bool {
    match destination.target.apply_batch(batch).await {
        Ok(()) => {
            Counters::bump(&shared.counters.batches);
            for source in sources {
                shared.counters.acknowledged(source.written.elapsed());
            }
            true
        }
        Err(error) => {
            Counters::bump(&shared.counters.batch_failures);
            tracing::debug!(target = destination.target.name(), changes = batch.len(), %error, "a replication batch failed; applying its changes one by one");
            false
        }
    }
}

async fn deliver(
    shared: &Shared,
    store: Option<&DeadLetterStore>,
    destination: &Destination,
    change: &TargetChange,
    source: &SourceChange,
) {
    let target = destination.target.as_ref();
    let outcome = apply_with_retry(&shared.retry, target, change, |_| {
        Counters::bump(&shared.counters.failures);
    })
    .await;
    let exhausted = match outcome {
        Ok(_) => {
            shared.counters.acknowledged(source.written.elapsed());
            return;
        }
        Err(exhausted) => exhausted,
    };
    Counters::bump(&shared.counters.dead_letters);
    let letter = DeadLetter {
        key: String::new(),
        target: target.name().to_owned(),
        resource: change.source_resource.clone(),
        target_resource: change.resource.clone(),
        op: change.op,
        id: change.id.clone(),
        payload: change.record.clone(),
        error: exhausted.error.to_string(),
        attempts: exhausted.attempts,
        failed_at: iso(shared.clock().now()),
    };
    let stored = match store {
        Some(store) => store
            .add(&letter, shared.clock().now_millis())
            .await
            .map(drop),
        None => Err(Error::Config {
            plugin: super::SLUG,
            reason: "not installed: nowhere to store dead letters".into(),
        }),
    };
    if let Err(error) = stored {
        tracing::error!(
            target = %letter.target,
            resource = %letter.resource,
            id = %letter.id,
            %error,
            "replicator: a change failed and its dead letter could not be stored"
        );
    }
}

/// Replays one dead letter; `Ok(true)` when it was applied (or is now skipped) and removed,
/// `Ok(false)` when it failed again (the letter is updated).
pub(super) async fn replay(
    shared: &Shared,
    store: &DeadLetterStore,
    mut letter: DeadLetter,
) -> Result<bool> {
    let Some(destination) = shared
        .destinations
        .iter()
        .find(|d| d.target.name() == letter.target)
    else {
        return refail(
            shared,
            store,
            letter,
            0,
            "the target is no longer configured",
        )
        .await;
    };
    let route = destination.routes.iter().find(|r| {
        r.matches(&letter.resource) && r.target_name(&letter.resource) == letter.target_resource
    });
    let Some(route) = route else {
        return refail(shared, store, letter, 0, "no route leads there any more").await;
    };
    let attributes = attributes_of(shared, &letter.resource);
    let change = match current_state(shared, &letter.resource, &letter.id).await {
        Ok(Some((op, record))) => routed(
            route,
            &letter.resource,
            op,
            &letter.id,
            record.as_ref(),
            &attributes,
        ),
        Ok(None) => Some(TargetChange {
            resource: letter.target_resource.clone(),
            source_resource: letter.resource.clone(),
            op: letter.op,
            id: letter.id.clone(),
            record: letter.payload.clone(),
            attributes,
        }),
        Err(error) => {
            let reason = format!("cannot read the source record: {error}");
            return refail(shared, store, letter, 0, &reason).await;
        }
    };
    let Some(change) = change else {
        // The transform now skips the record: nothing is left to deliver.
        store.remove(&letter.key).await?;
        Counters::bump(&shared.counters.dead_letters_replayed);
        return Ok(true);
    };
    let target = destination.target.as_ref();
    let outcome = apply_with_retry(&shared.retry, target, &change, |_| {
        Counters::bump(&shared.counters.failures);
    })
    .await;
    match outcome {
        Ok(_) => {
            store.remove(&letter.key).await?;
            Counters::bump(&shared.counters.dead_letters_replayed);
            Counters::bump(&shared.counters.replicated);
            Ok(true)
        }
        Err(exhausted) => {
            letter.payload = change.record;
            letter.op = change.op;
            let reason = exhausted.error.to_string();
            refail(shared, store, letter, exhausted.attempts, &reason).await
        }
    }
}

/// The record's state now in the source: `Some((Upsert, record))` when it exists,
/// `Some((Delete, None))` when it does not, `None` when the resource or database is gone
/// (replay the stored payload).
async fn current_state(
    shared: &Shared,
    resource: &str,
    id: &str,
) -> Result<Option<(ChangeOp, Option<s3db_core::Record>)>> {
    let resource = shared
        .context
        .get()
        .and_then(|ctx| ctx.database().ok())
        .and_then(|db| db.resource(resource).ok());
    let Some(resource) = resource else {
        return Ok(None);
    };
    match resource.get(id).await {
        Ok(record) => Ok(Some((ChangeOp::Upsert, Some(record)))),
        Err(s3db_core::Error::NotFound { .. }) => Ok(Some((ChangeOp::Delete, None))),
        Err(error) => Err(error.into()),
    }
}

/// Records another failure of a dead letter.
async fn refail(
    shared: &Shared,
    store: &DeadLetterStore,
    mut letter: DeadLetter,
    attempts: u32,
    reason: &str,
) -> Result<bool> {
    letter.attempts = letter.attempts.saturating_add(attempts);
    letter.error = reason.to_owned();
    letter.failed_at = iso(shared.clock().now());
    store.update(&letter).await?;
    Ok(false)
}
