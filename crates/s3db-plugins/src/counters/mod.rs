//! Counters plugin (s3db.js's `EventualConsistencyPlugin`): `add`, `sub` and `set` on numeric
//! fields without a read-modify-write of the record: each is one small transaction object
//! (one PUT under a unique key), folded into the record later — in the background, on
//! demand, or virtually on read.
//!
//! # Consolidation, and why a crash loses and double-counts nothing
//!
//! A record's consolidated values live in a state object (`state/<id>` in the resource's
//! plugin area, a [`CasDoc`]) together with the names of the transactions already folded
//! into them. Consolidating a record:
//!
//! 1. reads the state;
//! 2. lists the record's transactions (their op, field and value are in their keys, so no
//!    transaction is read), and if there are any, rewrites the state's analytics
//!    contributions (see below);
//! 3. folds those not yet in the state's `applied` list and writes the state **with
//!    `If-Match`**: the new values and `applied` = the folded names plus those of the
//!    previous `applied` still listed. A lost race starts again from 1;
//! 4. writes the record's fields (`patch_if` on the version read), until the state read
//!    after that write is still the one written;
//! 5. deletes the transactions in `applied`.
//!
//! A transaction is folded in the same atomic write that records it as applied, so it is
//! never folded twice; it is deleted only after that write, so it is never lost; a crash
//! between 3 and 5 leaves transactions the next consolidation skips and deletes. The state
//! carries a revision number, so its ETag never repeats and a stale `If-Match` always fails.
//! Concurrent consolidators of one record therefore agree: one wins each revision.
//!
//! # Analytics
//!
//! With [`CountersConfig::analytics`], each consolidation also records, per field and UTC
//! hour touched, a contribution `rollup/<field>/<hour>/<id>~<rev>~<count>~<sum>` (empty
//! body; the numbers are in the key). The names go into the state in the same write as the
//! values (its `outbox`) and are written after it, before any transaction is deleted;
//! whoever next finds transactions under that state writes them again (same keys, so
//! idempotent). [`CountersPlugin::rollups`] adds them up by hour, day
//! or month from listings alone.
//!
//! | operation | requests |
//! |---|---|
//! | [`add`](CountersPlugin::add), [`sub`](CountersPlugin::sub), [`set`](CountersPlugin::set) | 1 PUT |
//! | [`consolidate`](CountersPlugin::consolidate) of n transactions | 2 GET (state before, and after the record write) + 1 LIST per 1000 + 1 PUT (state) + the record's GET and PUT + 1 DeleteObjects per 1000, + 1 PUT per field and hour touched (analytics) |
//! | [`consolidate`](CountersPlugin::consolidate) with nothing pending | 1 GET + 1 LIST |
//! | [`consolidated_value`](CountersPlugin::consolidated_value) (no write) | 1 GET + 1 LIST per 1000 pending |
//! | [`rollups`](CountersPlugin::rollups) | 1 LIST per 1000 contributions |
//!
//! The guide with a compiled example: `docs/plugins-counters.md`.

mod ledger;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt};
use s3db_core::Database;
use s3db_core::extend::{Plugin, PluginContext};
use s3db_storage::{ListOptions, PutMode, Storage};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use ledger::Op;

use crate::clock::SharedClock;
use crate::coord::CasDoc;
use crate::error::{Error, Result};
use crate::json_object::json_payload;
use ledger::{ROLLUP, STATE, State, TX, Tx, contributions, fold, number, parse_contribution};

/// The plugin's slug: its objects live under `resource=<R>/plugin=counters/`.
pub const SLUG: &str = "counters";

/// Conditional writes of one record's state tried before [`Error::Contended`].
const MAX_ROUNDS: u32 = 50;
/// Records consolidated at once by [`CountersPlugin::consolidate_all`].
const RECORDS_IN_FLIGHT: usize = 8;

/// Which fields of which resources are counters, and how consolidation runs.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CountersConfig {
    /// Resource name → its counter fields (s3db.js's `resources`).
    pub resources: BTreeMap<String, BTreeSet<String>>,
    /// How often the background task consolidates every record with transactions
    /// (`consolidationInterval`, default 60 s); `None`: only on demand.
    pub consolidation_interval: Option<Duration>,
    /// Record analytics contributions (`enableAnalytics`, default off).
    pub analytics: bool,
}

impl Default for CountersConfig {
    fn default() -> Self {
        CountersConfig {
            resources: BTreeMap::new(),
            consolidation_interval: Some(Duration::from_secs(60)),
            analytics: false,
        }
    }
}

impl CountersConfig {
    /// No counters yet; background consolidation every 60 s; no analytics.
    pub fn new() -> CountersConfig {
        CountersConfig::default()
    }

    /// Makes `fields` of `resource` counters.
    pub fn resource<I, S>(mut self, resource: impl Into<String>, fields: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.resources
            .entry(resource.into())
            .or_default()
            .extend(fields.into_iter().map(Into::into));
        self
    }

    /// Sets (or with `None` turns off) the background consolidation.
    pub fn consolidation_interval(mut self, interval: Option<Duration>) -> Self {
        self.consolidation_interval = interval;
        self
    }

    /// Turns the analytics contributions on or off.
    pub fn analytics(mut self, on: bool) -> Self {
        self.analytics = on;
        self
    }

    fn validate(&self) -> Result<()> {
        let bad = |reason: String| Error::Config {
            plugin: SLUG,
            reason,
        };
        if self.resources.is_empty() {
            return Err(bad(
                "no resource has counter fields; add one with `resource`".into(),
            ));
        }
        for (resource, fields) in &self.resources {
            if fields.is_empty() {
                return Err(bad(format!("resource {resource:?} lists no counter field")));
            }
            if let Some(field) = fields
                .iter()
                .find(|f| f.is_empty() || f.contains(['~', '/']))
            {
                return Err(bad(format!(
                    "resource {resource:?}: counter field {field:?} must be non-empty, without '~' or '/'"
                )));
            }
        }
        if self.consolidation_interval.is_some_and(|i| i.is_zero()) {
            return Err(bad(
                "`consolidation_interval` is zero; use None to consolidate only on demand".into(),
            ));
        }
        Ok(())
    }
}

/// What one consolidation did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Consolidation {
    /// Transactions folded by this call (others' work is not counted).
    pub applied: usize,
    /// The record's consolidated values afterwards.
    pub values: BTreeMap<String, f64>,
}

/// A period analytics add up to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    /// `YYYY-MM-DDTHH` (UTC).
    Hour,
    /// `YYYY-MM-DD`.
    Day,
    /// `YYYY-MM`.
    Month,
}

impl Period {
    fn cohort(self, hour: &str) -> &str {
        let len = match self {
            Period::Hour => hour.len(),
            Period::Day => 10,
            Period::Month => 7,
        };
        hour.get(..len).unwrap_or(hour)
    }
}

/// One period's analytics of a field, over all records.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Rollup {
    /// Transactions consolidated.
    pub transactions: u64,
    /// Their net change: adds minus subs (sets count as transactions only).
    pub sum: f64,
}

/// The counters plugin. Install it on the database; keep a clone of the `Arc` to count.
pub struct CountersPlugin {
    config: CountersConfig,
    clock: Option<SharedClock>,
    ctx: OnceLock<PluginContext>,
    background: Mutex<Option<(oneshot::Sender<()>, JoinHandle<()>)>>,
}

impl fmt::Debug for CountersPlugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CountersPlugin")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl CountersPlugin {
    /// Counters per `config`, timestamps from the database's clock; [`Error::Config`]
    /// names what cannot work.
    pub fn new(config: CountersConfig) -> Result<CountersPlugin> {
        CountersPlugin::build(config, None)
    }

    /// Like [`CountersPlugin::new`], timestamps from `clock`.
    pub fn with_clock(config: CountersConfig, clock: SharedClock) -> Result<CountersPlugin> {
        CountersPlugin::build(config, Some(clock))
    }

    fn build(config: CountersConfig, clock: Option<SharedClock>) -> Result<CountersPlugin> {
        config.validate()?;
        Ok(CountersPlugin {
            config,
            clock,
            ctx: OnceLock::new(),
            background: Mutex::new(None),
        })
    }

    fn ctx(&self) -> Result<&PluginContext> {
        self.ctx.get().ok_or_else(|| Error::Config {
            plugin: SLUG,
            reason: "the plugin is not installed on a database".into(),
        })
    }

    /// The plugin area of `resource`, after checking `field` (when given) is a counter of it.
    fn area(&self, resource: &str, field: Option<&str>) -> Result<Arc<dyn Storage>> {
        let fields = self
            .config
            .resources
            .get(resource)
            .ok_or_else(|| Error::Config {
                plugin: SLUG,
                reason: format!("resource {resource:?} has no counter fields"),
            })?;
        if let Some(field) = field.filter(|f| !fields.contains(*f)) {
            return Err(Error::Config {
                plugin: SLUG,
                reason: format!("{resource:?}.{field} is not a counter; configured: {fields:?}"),
            });
        }
        Ok(self.ctx()?.resource_storage(resource))
    }

    /// Adds `value` to `field` of record `id`: one PUT. Returns the transaction's name.
    pub async fn add(&self, resource: &str, id: &str, field: &str, value: f64) -> Result<String> {
        self.record(resource, id, field, Op::Add, value).await
    }

    /// Subtracts `value` from `field` of record `id`: one PUT.
    pub async fn sub(&self, resource: &str, id: &str, field: &str, value: f64) -> Result<String> {
        self.record(resource, id, field, Op::Sub, value).await
    }

    /// Sets `field` of record `id` to `value` (transactions after it add to it): one PUT.
    pub async fn set(&self, resource: &str, id: &str, field: &str, value: f64) -> Result<String> {
        self.record(resource, id, field, Op::Set, value).await
    }

    /// Adds 1.
    pub async fn increment(&self, resource: &str, id: &str, field: &str) -> Result<String> {
        self.add(resource, id, field, 1.0).await
    }

    /// Subtracts 1.
    pub async fn decrement(&self, resource: &str, id: &str, field: &str) -> Result<String> {
        self.sub(resource, id, field, 1.0).await
    }

    async fn record(
        &self,
        resource: &str,
        id: &str,
        field: &str,
        op: Op,
        value: f64,
    ) -> Result<String> {
        let area = self.area(resource, Some(field))?;
        check_id(id)?;
        if !value.is_finite() {
            return Err(Error::Config {
                plugin: SLUG,
                reason: format!("{resource:?}.{field} of {id:?}: {value} is not a finite number"),
            });
        }
        let ctx = self.ctx()?;
        let at_ms = self.clock.as_ref().unwrap_or(ctx.clock()).now_millis();
        let random = s3db_core::id::nanoid(12, ctx.random().as_ref());
        let name = Tx::name(at_ms, &random, field, op, value);
        let body = serde_json::json!({
            "originalId": id, "field": field, "operation": op.name(), "value": number(value),
            "timestamp": at_ms,
        });
        area.put(
            &format!("{TX}{id}/{name}"),
            json_payload(body.to_string()),
            PutMode::Create,
        )
        .await?;
        Ok(name)
    }

    /// Folds record `id`'s pending transactions into its state and its record (see the
    /// module docs for the order that makes a crash harmless). Safe to run from any number
    /// of processes at once.
    pub async fn consolidate(&self, resource: &str, id: &str) -> Result<Consolidation> {
        let area = self.area(resource, None)?;
        check_id(id)?;
        let doc = CasDoc::<State>::new(area.clone(), format!("{STATE}{id}"));
        for _ in 0..MAX_ROUNDS {
            let read = doc.load().await?;
            let (state, etag) = match read {
                Some(v) => (v.value, Some(v.etag)),
                None => (State::default(), None),
            };
            let listed = self.pending(&area, id).await?;
            if !listed.is_empty() {
                // Transactions are deleted only after the outbox of the state that folded
                // them was written, so with none listed it was.
                self.write_outbox(&area, &state).await?;
            }
            let applied: BTreeSet<&str> = state.applied.iter().map(String::as_str).collect();
            let (done, new): (Vec<&Tx>, Vec<&Tx>) = listed
                .iter()
                .partition(|tx| applied.contains(tx.name.as_str()));
            if new.is_empty() {
                // Nothing listed: whoever deleted the transactions wrote the record first.
                // Leftovers of a consolidation that stopped before its deletes: finish it.
                if !done.is_empty() {
                    self.sync_record(resource, id, &doc, state.clone()).await?;
                    delete_txs(&area, id, &done).await?;
                }
                return Ok(Consolidation {
                    applied: 0,
                    values: state.values,
                });
            }
            let mut next = State {
                rev: state.rev + 1,
                values: state.values.clone(),
                applied: done.iter().chain(&new).map(|tx| tx.name.clone()).collect(),
                outbox: Vec::new(),
            };
            fold(&mut next.values, new.iter().copied());
            if self.config.analytics {
                next.outbox = contributions(id, next.rev, new.iter().copied());
            }
            let written = match &etag {
                None => doc.create(&next).await?,
                Some(etag) => doc.replace(&next, etag).await?,
            };
            if written.is_none() {
                continue; // another consolidator wrote this revision
            }
            self.write_outbox(&area, &next).await?;
            let values = next.values.clone();
            self.sync_record(resource, id, &doc, next).await?;
            delete_txs(&area, id, &listed.iter().collect::<Vec<_>>()).await?;
            return Ok(Consolidation {
                applied: new.len(),
                values,
            });
        }
        Err(Error::Contended {
            key: doc.key().to_owned(),
            attempts: MAX_ROUNDS,
        })
    }

    /// Consolidates every record of `resource` that has pending transactions (one listing
    /// of them all, then [`CountersPlugin::consolidate`] per record); returns the
    /// transactions folded.
    pub async fn consolidate_all(&self, resource: &str) -> Result<usize> {
        let area = self.area(resource, None)?;
        let ids: BTreeSet<String> = area
            .list(ListOptions {
                prefix: TX.into(),
                ..ListOptions::default()
            })
            .try_filter_map(|meta| async move {
                let rest = meta.key.strip_prefix(TX).unwrap_or_default();
                Ok(rest.rsplit_once('/').map(|(id, _)| id.to_owned()))
            })
            .try_collect()
            .await?;
        let reports: Vec<Consolidation> = futures::stream::iter(ids)
            .map(|id| async move { self.consolidate(resource, &id).await })
            .buffer_unordered(RECORDS_IN_FLIGHT)
            .try_collect()
            .await?;
        Ok(reports.iter().map(|r| r.applied).sum())
    }

    /// `field` of record `id` as consolidation would make it, without writing anything:
    /// the state's value plus the pending transactions (0 when there is neither).
    pub async fn consolidated_value(&self, resource: &str, id: &str, field: &str) -> Result<f64> {
        let area = self.area(resource, Some(field))?;
        check_id(id)?;
        let doc = CasDoc::<State>::new(area.clone(), format!("{STATE}{id}"));
        let mut state = doc.load().await?.map(|v| v.value).unwrap_or_default();
        let listed = self.pending(&area, id).await?;
        let applied: BTreeSet<&str> = state.applied.iter().map(String::as_str).collect();
        let new: Vec<&Tx> = listed
            .iter()
            .filter(|tx| !applied.contains(tx.name.as_str()))
            .collect();
        fold(&mut state.values, new);
        Ok(state.values.get(field).copied().unwrap_or(0.0))
    }

    /// The number of transactions of record `id` not deleted yet (folded or not).
    pub async fn pending_count(&self, resource: &str, id: &str) -> Result<usize> {
        let area = self.area(resource, None)?;
        check_id(id)?;
        Ok(self.pending(&area, id).await?.len())
    }

    /// `field`'s analytics of `resource` by `period` (cohort → rollup), over all records
    /// and consolidations so far. Empty unless [`CountersConfig::analytics`] is on.
    pub async fn rollups(
        &self,
        resource: &str,
        field: &str,
        period: Period,
    ) -> Result<BTreeMap<String, Rollup>> {
        let area = self.area(resource, Some(field))?;
        let prefix = format!("{ROLLUP}{field}/");
        let mut out: BTreeMap<String, Rollup> = BTreeMap::new();
        let mut listing = area.list(ListOptions {
            prefix: prefix.clone(),
            ..ListOptions::default()
        });
        while let Some(meta) = listing.try_next().await? {
            let rest = meta.key.strip_prefix(&prefix).unwrap_or_default();
            let (hour, count, sum) = parse_contribution(rest).ok_or_else(|| Error::Corrupt {
                key: meta.key.clone(),
                reason: "not an analytics contribution key (hour/id~rev~count~sum)".into(),
            })?;
            let rollup = out.entry(period.cohort(&hour).to_owned()).or_default();
            rollup.transactions += count;
            rollup.sum += sum;
        }
        Ok(out)
    }

    /// The record's transactions in time order (one LIST per 1000).
    async fn pending(&self, area: &Arc<dyn Storage>, id: &str) -> Result<Vec<Tx>> {
        let prefix = format!("{TX}{id}/");
        let mut txs = Vec::new();
        let mut listing = area.list(ListOptions {
            prefix: prefix.clone(),
            ..ListOptions::default()
        });
        while let Some(meta) = listing.try_next().await? {
            let name = meta.key.strip_prefix(&prefix).unwrap_or_default();
            txs.push(Tx::parse(name).ok_or_else(|| Error::Corrupt {
                key: meta.key.clone(),
                reason: "not a transaction key (ms-random~field~op~value)".into(),
            })?);
        }
        Ok(txs)
    }

    /// Writes the analytics contributions a state carries (the same keys every time).
    async fn write_outbox(&self, area: &Arc<dyn Storage>, state: &State) -> Result<()> {
        for key in &state.outbox {
            area.put(key, json_payload(""), PutMode::Overwrite).await?;
        }
        Ok(())
    }

    /// Writes `state`'s values into the record (if it exists) with the core's conditional
    /// read-modify-write ([`s3db_core::Resource::update_with`]: 1 GET + 1 PUT), until the
    /// state read after the write is still the one written.
    async fn sync_record(
        &self,
        resource: &str,
        id: &str,
        doc: &CasDoc<State>,
        mut state: State,
    ) -> Result<()> {
        let records = self.ctx()?.database()?.resource(resource)?;
        for _ in 0..MAX_ROUNDS {
            let values = state.values.clone();
            let written = records
                .update_with(id, move |record| {
                    let mut record = record.clone();
                    for (field, value) in &values {
                        record.insert(field.clone(), number(*value));
                    }
                    Ok(record)
                })
                .await;
            match written {
                Ok(_) => {}
                Err(e) if e.kind() == s3db_core::ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(e.into()),
            }
            match doc.load().await? {
                Some(now) if now.value.rev != state.rev => state = now.value,
                _ => return Ok(()),
            }
        }
        Err(Error::Contended {
            key: records.record_key(id),
            attempts: MAX_ROUNDS,
        })
    }

    async fn consolidate_everything(&self) -> Result<usize> {
        let db: Database = self.ctx()?.database()?;
        let mut applied = 0;
        for resource in self.config.resources.keys() {
            if db.resource_exists(resource) {
                applied += self.consolidate_all(resource).await?;
            }
        }
        Ok(applied)
    }

    fn background(
        &self,
    ) -> std::sync::MutexGuard<'_, Option<(oneshot::Sender<()>, JoinHandle<()>)>> {
        self.background
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

fn check_id(id: &str) -> Result<()> {
    if id.is_empty() || id.contains('/') {
        return Err(Error::Config {
            plugin: SLUG,
            reason: format!(
                "record id {id:?} cannot carry counters: it must be non-empty, without '/'"
            ),
        });
    }
    Ok(())
}

async fn delete_txs(area: &Arc<dyn Storage>, id: &str, txs: &[&Tx]) -> Result<()> {
    if txs.is_empty() {
        return Ok(());
    }
    let keys: Vec<String> = txs
        .iter()
        .map(|tx| format!("{TX}{id}/{}", tx.name))
        .collect();
    area.delete_many(&keys).await?;
    Ok(())
}

#[async_trait]
impl Plugin for CountersPlugin {
    fn slug(&self) -> &str {
        SLUG
    }

    async fn install(&self, ctx: &PluginContext) -> s3db_core::Result<()> {
        self.ctx.set(ctx.clone()).map_err(|_| Error::Config {
            plugin: SLUG,
            reason: "a CountersPlugin is installed on one database only".into(),
        })?;
        Ok(())
    }

    /// Starts the background consolidation (when an interval is configured).
    async fn start(&self, ctx: &PluginContext) -> s3db_core::Result<()> {
        let Some(interval) = self.config.consolidation_interval else {
            return Ok(());
        };
        let mut background = self.background();
        if background.is_none() {
            let (stop, mut stopped) = oneshot::channel();
            let plugin = CountersPlugin {
                config: self.config.clone(),
                clock: self.clock.clone(),
                ctx: OnceLock::from(ctx.clone()),
                background: Mutex::new(None),
            };
            let task = tokio::spawn(async move {
                let start = tokio::time::Instant::now() + interval;
                let mut ticker = tokio::time::interval_at(start, interval);
                loop {
                    tokio::select! {
                        _ = &mut stopped => break,
                        _ = ticker.tick() => {}
                    }
                    match plugin.consolidate_everything().await {
                        Ok(_) => {}
                        Err(Error::Core(s3db_core::Error::Disconnected)) => break,
                        Err(error) => tracing::warn!(%error, "background consolidation failed"),
                    }
                }
            });
            *background = Some((stop, task));
        }
        Ok(())
    }

    /// Stops the background consolidation, letting a round under way finish.
    async fn stop(&self, _ctx: &PluginContext) -> s3db_core::Result<()> {
        let background = self.background().take();
        if let Some((stop, task)) = background {
            let _ = stop.send(());
            if let Err(error) = task.await {
                tracing::warn!(%error, "counters background task ended abnormally");
            }
        }
        Ok(())
    }
}
