//! The inverted index of one resource: entries owned by their record, kept in step by a
//! per-record manifest changed only by compare-and-swap.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use s3db_core::random::{RandomSource, ThreadRandom};
use s3db_core::{ListRequest, Record, Resource};
use s3db_storage::{ErrorKind, PutMode, PutPayload, Storage, StorageExt};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::FullTextResource;
use super::analyzer::{escape, unescape};
use crate::coord::CasDoc;
use crate::{Error, Result};

/// Rounds of [`FullTextIndex::reconcile`] (each lost only to another writer of the same
/// record) before giving up.
const ATTEMPTS: u32 = 64;
/// Index objects written or listed at once.
pub(super) const IN_FLIGHT: usize = 8;

/// Which entries of one record may exist and which surely do.
///
/// Every writer first adds the entries it is about to write to `maybe` (compare-and-swap),
/// reads the record again (so its target is no older than any write whose writer saw the
/// manifest before the claim), then writes and deletes, then sets both sets to its target
/// only if nobody changed the manifest meanwhile. A writer that lost that race starts again
/// from a fresh read of the record, and its next claim records what it did (its `maybe`,
/// and the entries it deleted leave `confirmed`); until that claim lands it does not return,
/// even on a clean manifest. Every write gives the manifest a new ETag (see [`CasDoc`]), so
/// a writer's claim makes every earlier claim lose its swap. The last successful swap is a
/// clean one, made by a writer that read the record after every other writer had finished,
/// so the entries end equal to the stored record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Manifest {
    maybe: BTreeSet<String>,
    confirmed: BTreeSet<String>,
}

/// The entries one writer of [`FullTextIndex::reconcile`] may have written and those it
/// deleted in rounds whose swap it lost: its next claim adds them to `maybe` and takes
/// them out of `confirmed`.
#[derive(Debug, Default)]
struct Unrecorded {
    written: BTreeSet<String>,
    deleted: BTreeSet<String>,
}

impl Unrecorded {
    fn is_empty(&self) -> bool {
        self.written.is_empty() && self.deleted.is_empty()
    }
}

/// What [`FullTextIndex::rebuild`] found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RebuildReport {
    /// Records indexed.
    pub records: usize,
    /// Index entries they make (postings and document-length objects).
    pub entries: usize,
    /// Entries that were missing and were written.
    pub added: usize,
    /// Entries that should not have been there and were deleted.
    pub removed: usize,
}

/// Search and maintenance of one resource's index (from [`super::FullTextPlugin::index`]).
///
/// Objects under `resource=<R>/plugin=fulltext/`, all empty but the manifests:
/// - `p/<field>/<term>/<id>/<tf>`: a posting (the term occurs `tf` times in the field);
/// - `d/<id>/<len>.<len>…`: the record's length in terms, field by field;
/// - `m/<id>`: the record's manifest (JSON), the entries it owns.
///
/// Terms and field names are escaped (`a`–`z`, `0`–`9` kept, other bytes as `_hh`).
#[derive(Clone)]
pub struct FullTextIndex {
    pub(super) resource: Resource,
    pub(super) settings: Arc<FullTextResource>,
    pub(super) area: Arc<dyn Storage>,
}

impl std::fmt::Debug for FullTextIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FullTextIndex")
            .field("resource", &self.resource.name())
            .field("fields", &self.settings.fields)
            .finish_non_exhaustive()
    }
}

impl FullTextIndex {
    /// The resource's name.
    pub fn resource(&self) -> &str {
        self.resource.name()
    }

    /// The resource's settings (fields, analyzer, BM25 parameters).
    pub fn settings(&self) -> &FullTextResource {
        &self.settings
    }

    /// The terms of every indexed field of `record`, in order, field by field (what the
    /// index holds for it).
    pub fn terms_of(&self, record: &Record) -> Vec<Vec<String>> {
        self.settings
            .fields
            .iter()
            .map(|field| self.settings.analyzer.tokens(&text_of(record, field)))
            .collect()
    }

    /// Brings the entries of record `id` in line with the stored record (none when it does
    /// not exist). Safe under any number of concurrent callers, in any process.
    ///
    /// Requests when nothing else writes the record: a GET of the manifest and of the record;
    /// when the entries change, a PUT of the manifest, a GET of the record again, a PUT per
    /// added entry, one batched DELETE for the removed ones, and a PUT of the manifest.
    pub async fn reconcile(&self, id: &str) -> Result<()> {
        let doc = self.manifest(id);
        // What this writer did in rounds whose swap it lost, not yet in the manifest.
        let mut unrecorded = Unrecorded::default();
        for attempt in 1..=ATTEMPTS {
            let current = doc.load().await?;
            let target = self.target(id).await?;
            let (manifest, etag) = match current {
                Some(read) => (read.value, Some(read.etag)),
                None => (Manifest::default(), None),
            };
            if unrecorded.is_empty() && manifest.maybe == target && manifest.confirmed == target {
                return Ok(());
            }
            let claimed = Manifest {
                maybe: (manifest.maybe.iter())
                    .chain(&unrecorded.written)
                    .chain(&target)
                    .cloned()
                    .collect(),
                confirmed: (manifest.confirmed.intersection(&target))
                    .filter(|entry| !unrecorded.deleted.contains(*entry))
                    .cloned()
                    .collect(),
            };
            // Always a write (the nonce gives it a new ETag), so every writer whose claim
            // came before it loses its swap and goes round again.
            let claim = match &etag {
                None => doc.create(&claimed).await?,
                Some(etag) => doc.replace(&claimed, etag).await?,
            };
            let Some(claim) = claim else {
                back_off(attempt).await;
                continue;
            };
            unrecorded = Unrecorded::default();
            // A writer that read the manifest before this claim may have found it clean and
            // returned, having read the record after its own write; this writer's read of the
            // record may be older than that write. Read it again, after the claim: a target
            // that moved meanwhile starts a new round (what was claimed stays in `maybe`).
            if self.target(id).await? != target {
                continue;
            }
            let added: Vec<String> = target.difference(&claimed.confirmed).cloned().collect();
            let removed: Vec<String> = claimed.maybe.difference(&target).cloned().collect();
            self.put_entries(added).await?;
            self.delete_entries(&removed).await?;
            let done = Manifest {
                maybe: target.clone(),
                confirmed: target,
            };
            if doc.replace(&done, &claim).await?.is_some() {
                return Ok(());
            }
            // Another writer claimed meanwhile, and may have swapped its own clean manifest
            // without seeing this round's writes: the next claim records them.
            unrecorded = Unrecorded {
                written: claimed.maybe,
                deleted: removed.into_iter().collect(),
            };
            back_off(attempt).await;
        }
        Err(Error::Contended {
            key: doc.key().to_owned(),
            attempts: ATTEMPTS,
        })
    }

    /// Recomputes the whole index from a scan of the records: writes missing entries,
    /// deletes stray ones, rewrites every manifest. Use it after installing the plugin on a
    /// resource that has records, after changing its fields or analyzer, or to repair. Writes
    /// made while it runs may need another rebuild (or a write of the same record).
    pub async fn rebuild(&self) -> Result<RebuildReport> {
        let mut wanted: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut records = self.resource.stream(&ListRequest::all())?;
        while let Some(record) = records.try_next().await? {
            if let Some(id) = record.get("id").and_then(Value::as_str) {
                wanted.insert(id.to_owned(), self.entries(id, &record));
            }
        }
        let all: BTreeSet<&String> = wanted.values().flatten().collect();
        let mut existing: BTreeSet<String> = self.area.list_keys("p/").await?.into_iter().collect();
        existing.extend(self.area.list_keys("d/").await?);
        let stray: Vec<String> = existing
            .iter()
            .filter(|key| !all.contains(key))
            .cloned()
            .collect();
        let missing: Vec<String> = all
            .iter()
            .filter(|key| !existing.contains(**key))
            .map(|key| (*key).clone())
            .collect();
        let report = RebuildReport {
            records: wanted.len(),
            entries: all.len(),
            added: missing.len(),
            removed: stray.len(),
        };
        self.put_entries(missing).await?;
        self.delete_entries(&stray).await?;
        let orphans: Vec<String> = self
            .area
            .list_keys("m/")
            .await?
            .into_iter()
            .filter(|key| !wanted.contains_key(&key[2..]))
            .collect();
        self.delete_entries(&orphans).await?;
        futures::stream::iter(wanted.iter())
            .map(|(id, entries)| async move {
                let manifest = Manifest {
                    maybe: entries.clone(),
                    confirmed: entries.clone(),
                };
                self.manifest(id).overwrite(&manifest).await
            })
            .buffer_unordered(IN_FLIGHT)
            .try_collect::<Vec<_>>()
            .await?;
        Ok(report)
    }

    /// The entries record `id` should have now: none when it does not exist.
    async fn target(&self, id: &str) -> Result<BTreeSet<String>> {
        match self.resource.get(id).await {
            Ok(record) => Ok(self.entries(id, &record)),
            Err(s3db_core::Error::NotFound { .. }) => Ok(BTreeSet::new()),
            Err(e) => Err(e.into()),
        }
    }

    /// The entries of a stored record: its postings and its lengths object.
    fn entries(&self, id: &str, record: &Record) -> BTreeSet<String> {
        let mut entries = BTreeSet::new();
        let mut lengths = Vec::with_capacity(self.settings.fields.len());
        for (field, terms) in self.settings.fields.iter().zip(self.terms_of(record)) {
            lengths.push(terms.len().to_string());
            let mut frequencies: BTreeMap<String, usize> = BTreeMap::new();
            for term in terms {
                *frequencies.entry(term).or_default() += 1;
            }
            for (term, tf) in frequencies {
                entries.insert(format!(
                    "{}{}/{id}/{tf}",
                    field_prefix(field),
                    escape(&term)
                ));
            }
        }
        entries.insert(format!("d/{id}/{}", lengths.join(".")));
        entries
    }

    async fn put_entries(&self, keys: Vec<String>) -> Result<()> {
        // Owned keys: a closure over borrowed items is higher-ranked and defeats the `Send`
        // proof hooks need.
        futures::stream::iter(keys)
            .map(|key| {
                let area = self.area.clone();
                async move {
                    area.put(&key, PutPayload::default(), PutMode::Overwrite)
                        .await
                }
            })
            .buffer_unordered(IN_FLIGHT)
            .try_collect::<Vec<_>>()
            .await?;
        Ok(())
    }

    async fn delete_entries(&self, keys: &[String]) -> Result<()> {
        let batch = self.area.capabilities().max_delete_batch.max(1);
        for chunk in keys.chunks(batch) {
            match self.area.delete_many(chunk).await {
                Err(e) if e.kind() != ErrorKind::NotFound => return Err(e.into()),
                _ => {}
            }
        }
        Ok(())
    }

    fn manifest(&self, id: &str) -> CasDoc<Manifest> {
        CasDoc::new(self.area.clone(), format!("m/{id}"))
    }

    /// Every record's lengths, field by field (one listing per 1 000 records).
    pub(super) async fn lengths(&self) -> Result<BTreeMap<String, Vec<usize>>> {
        let keys = self.area.list_keys("d/").await?;
        Ok(keys
            .iter()
            .filter_map(|key| {
                let (id, lengths) = key.strip_prefix("d/")?.rsplit_once('/')?;
                let lengths = lengths
                    .split('.')
                    .map(|n| n.parse().ok())
                    .collect::<Option<Vec<usize>>>()?;
                Some((id.to_owned(), lengths))
            })
            .collect())
    }

    /// The postings under `prefix` (a term followed by `/`, or a term prefix) of `field`:
    /// term → (record id, term frequency).
    pub(super) async fn postings(
        &self,
        field: &str,
        prefix: &str,
    ) -> Result<BTreeMap<String, Vec<(String, usize)>>> {
        let base = field_prefix(field);
        let keys = self.area.list_keys(&format!("{base}{prefix}")).await?;
        let mut found: BTreeMap<String, Vec<(String, usize)>> = BTreeMap::new();
        for key in &keys {
            let parsed = key.strip_prefix(&base).and_then(|rest| {
                let mut parts = rest.rsplitn(3, '/');
                let tf = parts.next()?.parse().ok()?;
                let id = parts.next()?;
                Some((unescape(parts.next()?)?, id.to_owned(), tf))
            });
            if let Some((term, id, tf)) = parsed {
                found.entry(term).or_default().push((id, tf));
            }
        }
        Ok(found)
    }
}

/// The key prefix of `field`'s postings.
pub(super) fn field_prefix(field: &str) -> String {
    format!("p/{}/", escape(field))
}

/// The text of a field of `record` (a dotted path): a string, or the strings of an array
/// joined by newlines; anything else is no text.
fn text_of(record: &Record, path: &str) -> String {
    let mut parts = path.split('.');
    let mut value = parts.next().and_then(|first| record.get(first));
    for part in parts {
        value = value.and_then(|v| v.get(part));
    }
    match value {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// A random pause before another round, up to twice as long after each lost round (0.4 ms
/// after the first, at most 0.8 s), so racing writers spread out until one finishes.
async fn back_off(attempt: u32) {
    let cap_micros = 200u64 << attempt.min(12);
    let wait = ThreadRandom.below_or_equal(cap_micros);
    tokio::time::sleep(Duration::from_micros(wait)).await;
}
