//! Scheduler: jobs on cron expressions or fixed intervals, each tick run **once across all
//! processes** sharing the bucket, with run history, per-run timeout, retries with backoff
//! and a manual trigger. See `docs/plugins-scheduler.md`.
//!
//! Exactly once comes from the bucket, not from a lock: the first process to see a tick
//! creates the tick's run object `<job>/runs/<tick>` with `If-None-Match: *`
//! ([`CasDoc::create`]); only the process whose create succeeded runs the job, and every
//! later change of the run (outcome, retry, take-over) is an `If-Match` replace of that
//! object. Time comes from an injected [`Clock`](crate::clock::Clock), so tests move a
//! [`ManualClock`](crate::clock::ManualClock) forward and call [`Scheduler::tick`].
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use std::sync::Arc;
//! use std::time::Duration;
//! use s3db_plugins::clock::ManualClock;
//! use s3db_plugins::scheduler::{Job, RunStatus, Schedule, Scheduler, SchedulerOptions};
//! use s3db_storage::MemoryStorage;
//!
//! let clock = ManualClock::at_millis(0);
//! let job = Job::new("report", Schedule::cron("*/5 * * * *")?, |run| async move {
//!     println!("tick {} attempt {}", run.tick, run.attempt);
//!     Ok(())
//! });
//! let scheduler = Scheduler::new(
//!     Arc::new(MemoryStorage::new()),
//!     Arc::new(clock.clone()),
//!     vec![job],
//!     SchedulerOptions::new("worker-1"),
//! )?;
//! assert!(scheduler.tick().await?.is_empty(), "no tick since the start");
//! clock.advance(Duration::from_secs(300));
//! let runs = scheduler.tick().await?;
//! assert_eq!((runs.len(), runs[0].status), (1, RunStatus::Succeeded));
//! assert_eq!(runs[0].tick, "1970-01-01T00:05:00.000Z");
//! assert!(scheduler.tick().await?.is_empty(), "a tick runs once");
//! # Ok::<(), s3db_plugins::Error>(())
//! # }).unwrap();
//! ```

mod plugin;
mod run;
mod schedule;

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::{FutureExt, TryStreamExt};
use s3db_storage::{ListOptions, Storage};
use time::OffsetDateTime;

use crate::clock::{SharedClock, iso, parse_iso};
use crate::coord::CasDoc;
use crate::{Error, Result};

pub use plugin::SchedulerPlugin;
pub use run::{RunRecord, RunStatus, Trigger};
pub use schedule::Schedule;

/// The plugin's slug: its objects live under `plugin=scheduler/`.
pub const SLUG: &str = "scheduler";

/// What a job's action is told about the run it is doing.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct JobContext {
    /// The job.
    pub job: String,
    /// The tick (ISO-8601; the trigger time of a manual run).
    pub tick: String,
    /// The attempt, from 1.
    pub attempt: u32,
    /// How the run was started.
    pub trigger: Trigger,
}

/// A job's action: `Err(reason)` fails the attempt.
pub type JobAction =
    Arc<dyn Fn(JobContext) -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

/// One scheduled job. Defaults: 5 minutes timeout, no retries, 1 s base backoff (doubling
/// per attempt, at most 1 h), enabled.
#[derive(Clone)]
pub struct Job {
    name: String,
    schedule: Schedule,
    action: JobAction,
    timeout: Duration,
    retries: u32,
    backoff: Duration,
    enabled: bool,
}

impl fmt::Debug for Job {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Job")
            .field("name", &self.name)
            .field("schedule", &self.schedule)
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .finish_non_exhaustive()
    }
}

/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

impl Job {
    /// A job `name` (`[A-Za-z0-9_-]+`, checked by [`Scheduler::new`]) running `action` on
    /// each tick of `schedule`.
    pub fn new<F, Fut>(name: impl Into<String>, schedule: Schedule, action: F) -> Job
    where
        F: Fn(JobContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        Job {
            name: name.into(),
            schedule,
            action: Arc::new(move |ctx| action(ctx).boxed()),
            timeout: Duration::from_secs(300),
            retries: 0,
            backoff: Duration::from_secs(1),
            enabled: true,
        }
    }

    /// The job's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// An attempt running longer than this fails ("timed out"). A run whose owner went
    /// silent for twice this long is taken over by [`Scheduler::recover`].
    pub fn timeout(mut self, timeout: Duration) -> Job {
        self.timeout = timeout;
        self
    }

    /// Attempts after a failed one (so `retries(2)` makes at most 3 attempts).
    pub fn retries(mut self, retries: u32) -> Job {
        self.retries = retries;
        self
    }

    /// The wait before the first retry; it doubles for each further one (at most 1 h).
    pub fn backoff(mut self, backoff: Duration) -> Job {
        self.backoff = backoff;
        self
    }

    /// A disabled job never runs on its schedule (a manual trigger still runs it).
    pub fn enabled(mut self, enabled: bool) -> Job {
        self.enabled = enabled;
        self
    }

    fn backoff_after(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
        self.backoff.saturating_mul(factor).min(MAX_BACKOFF)
    }
}

/// How a [`Scheduler`] runs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SchedulerOptions {
    /// This process's name in run records (`owner`); give each process its own.
    pub owner: String,
    /// Runs kept per job; older finished runs are deleted after each run (default 100).
    /// A deleted run's tick could be claimed again by a process whose clock is that far
    /// behind, so keep more runs than any process can lag.
    pub keep_runs: usize,
}

impl SchedulerOptions {
    /// The defaults, with this process's name.
    pub fn new(owner: impl Into<String>) -> SchedulerOptions {
        SchedulerOptions {
            owner: owner.into(),
            keep_runs: 100,
        }
    }

    /// Runs kept per job (at least 1).
    pub fn keep_runs(mut self, keep: usize) -> SchedulerOptions {
        self.keep_runs = keep.max(1);
        self
    }
}

/// A retry this process owes: the run's key, the ETag it wrote, when it is due.
#[derive(Debug, Clone)]
struct Pending {
    key: String,
    etag: String,
    due: OffsetDateTime,
}

/// What this process remembers of one job.
#[derive(Debug, Default)]
struct JobState {
    last_tick: Option<OffsetDateTime>,
    pending: Vec<Pending>,
}

/// Runs jobs on their schedules over a storage area shared by any number of processes.
pub struct Scheduler {
    storage: Arc<dyn Storage>,
    clock: SharedClock,
    jobs: Vec<Job>,
    options: SchedulerOptions,
    state: Mutex<HashMap<String, JobState>>,
    manual: AtomicU64,
}

impl fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scheduler")
            .field("jobs", &self.jobs)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Scheduler {
    /// A scheduler of `jobs` keeping its run objects in `storage` (give every process the
    /// same area). Ticks at or before now are not run: the first tick is the first one
    /// after this call. [`Error::Config`] names a bad or repeated job name.
    pub fn new(
        storage: Arc<dyn Storage>,
        clock: SharedClock,
        jobs: Vec<Job>,
        options: SchedulerOptions,
    ) -> Result<Scheduler> {
        let now = clock.now();
        let mut state = HashMap::new();
        for job in &jobs {
            let valid = !job.name.is_empty()
                && job
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !valid {
                return Err(config(format!(
                    "job name {:?}: use letters, digits, '-' and '_'",
                    job.name
                )));
            }
            let first = JobState {
                last_tick: job.schedule.latest_at_or_before(now),
                pending: Vec::new(),
            };
            if state.insert(job.name.clone(), first).is_some() {
                return Err(config(format!("job {:?} is defined twice", job.name)));
            }
        }
        Ok(Scheduler {
            storage,
            clock,
            jobs,
            options,
            state: Mutex::new(state),
            manual: AtomicU64::new(0),
        })
    }

    /// The jobs.
    pub fn jobs(&self) -> &[Job] {
        &self.jobs
    }

    /// Runs what is due now: the retries this process owes, and for each enabled job its
    /// latest tick if this process has not seen it yet and no other process claimed it
    /// first. Jobs run concurrently; the returned runs are those this call ran, as they
    /// ended (or await a retry). Ticks missed while no process called `tick` are
    /// coalesced: only the latest runs.
    pub async fn tick(&self) -> Result<Vec<RunRecord>> {
        let now = self.clock.now();
        let runs =
            futures::future::try_join_all(self.jobs.iter().map(|job| self.tick_job(job, now)))
                .await?;
        Ok(runs.into_iter().flatten().collect())
    }

    async fn tick_job(&self, job: &Job, now: OffsetDateTime) -> Result<Vec<RunRecord>> {
        let (due, tick) = {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            let state = state.entry(job.name.clone()).or_default();
            let (due, later) = std::mem::take(&mut state.pending)
                .into_iter()
                .partition(|p| p.due <= now);
            state.pending = later;
            let latest = job.schedule.latest_at_or_before(now);
            let tick =
                latest.filter(|t| job.enabled && state.last_tick.is_none_or(|last| *t > last));
            if tick.is_some() {
                state.last_tick = tick;
            }
            (due, tick)
        };
        let mut runs = Vec::new();
        for pending in due {
            if let Some(run) = self.resume(job, &pending.key, &pending.etag).await? {
                runs.push(run);
            }
        }
        if let Some(tick) = tick {
            let key = run_key(&job.name, &iso(tick));
            if let Some(run) = self.claim(job, key, iso(tick), Trigger::Schedule).await? {
                runs.push(run);
            }
        }
        Ok(runs)
    }

    /// Runs `job` now, whatever its schedule, as a run of its own (`<now>~manual-<owner>-<n>`).
    /// [`Error::Config`] when there is no such job.
    pub async fn trigger(&self, job: &str) -> Result<RunRecord> {
        let job = self.job(job)?;
        let now = self.clock.now_iso();
        let n = self.manual.fetch_add(1, Ordering::Relaxed);
        let key = run_key(
            &job.name,
            &format!("{now}~manual-{}-{n}", self.options.owner),
        );
        self.claim(job, key.clone(), now, Trigger::Manual)
            .await?
            .ok_or_else(|| config(format!("manual run {key:?} exists already")))
    }

    /// The runs of `job` kept in the bucket, newest first.
    pub async fn history(&self, job: &str) -> Result<Vec<RunRecord>> {
        let job = self.job(job)?;
        let mut runs = Vec::new();
        for key in self.run_keys(&job.name).await?.into_iter().rev() {
            if let Some(run) = CasDoc::<RunRecord>::new(self.storage.clone(), key)
                .load()
                .await?
            {
                runs.push(run.value);
            }
        }
        Ok(runs)
    }

    /// Takes over the kept runs whose owner went silent (a process that died or hung): a
    /// run `running` for more than twice its job's timeout counts as a failed attempt
    /// (retried when retries are left, else `failed`); a run `retrying` whose next attempt
    /// is overdue by more than the timeout is attempted here. Each take-over is a
    /// conditional replace, so one process wins it. Returns the runs this call ran or
    /// ended.
    pub async fn recover(&self) -> Result<Vec<RunRecord>> {
        let now = self.clock.now();
        let mut runs = Vec::new();
        for job in &self.jobs {
            for key in self.run_keys(&job.name).await? {
                if let Some(run) = self.take_over(job, key, now).await? {
                    runs.push(run);
                }
            }
        }
        Ok(runs)
    }

    async fn take_over(
        &self,
        job: &Job,
        key: String,
        now: OffsetDateTime,
    ) -> Result<Option<RunRecord>> {
        let doc = CasDoc::<RunRecord>::new(self.storage.clone(), key);
        let Some(read) = doc.load().await? else {
            return Ok(None);
        };
        let mut run = read.value;
        let grace = time::Duration::try_from(job.timeout).unwrap_or(time::Duration::MAX);
        let since = |at: &Option<String>| at.as_deref().and_then(parse_iso);
        let stale = match run.status {
            RunStatus::Running => since(&Some(run.attempt_started_at.clone()))
                .is_some_and(|at| at + grace + grace < now),
            RunStatus::Retrying => since(&run.next_attempt_at).is_some_and(|at| at + grace < now),
            RunStatus::Succeeded | RunStatus::Failed => false,
        };
        if !stale {
            return Ok(None);
        }
        let silent_owner = run.owner.clone();
        if run.status == RunStatus::Running && run.attempt > job.retries {
            run.status = RunStatus::Failed;
            run.ended_at = Some(iso(now));
            run.error = Some(format!(
                "abandoned: owner {silent_owner:?} did not finish attempt {} within twice the timeout",
                run.attempt
            ));
            return Ok(doc.replace(&run, &read.etag).await?.map(|_| run));
        }
        self.restart(job, doc, run, &read.etag).await
    }

    /// Starts the next attempt of a run if its ETag is still `etag`.
    async fn resume(&self, job: &Job, key: &str, etag: &str) -> Result<Option<RunRecord>> {
        let doc = CasDoc::<RunRecord>::new(self.storage.clone(), key);
        match doc.load().await? {
            Some(read) if read.etag == etag && read.value.status == RunStatus::Retrying => {
                self.restart(job, doc, read.value, etag).await
            }
            // Taken over or deleted meanwhile: no longer ours.
            _ => Ok(None),
        }
    }

    async fn restart(
        &self,
        job: &Job,
        doc: CasDoc<RunRecord>,
        mut run: RunRecord,
        etag: &str,
    ) -> Result<Option<RunRecord>> {
        run.attempt += 1;
        run.status = RunStatus::Running;
        run.owner.clone_from(&self.options.owner);
        run.attempt_started_at = self.clock.now_iso();
        run.next_attempt_at = None;
        match doc.replace(&run, etag).await? {
            Some(etag) => self.execute(job, doc, run, etag).await.map(Some),
            None => Ok(None),
        }
    }

    /// Creates the run object; runs the job when this process created it.
    async fn claim(
        &self,
        job: &Job,
        key: String,
        tick: String,
        trigger: Trigger,
    ) -> Result<Option<RunRecord>> {
        let now = self.clock.now_iso();
        let run = RunRecord {
            job: job.name.clone(),
            tick,
            trigger,
            status: RunStatus::Running,
            attempt: 1,
            owner: self.options.owner.clone(),
            started_at: now.clone(),
            attempt_started_at: now,
            ended_at: None,
            error: None,
            next_attempt_at: None,
        };
        let doc = CasDoc::new(self.storage.clone(), key);
        match doc.create(&run).await? {
            Some(etag) => self.execute(job, doc, run, etag).await.map(Some),
            None => Ok(None),
        }
    }

    /// Runs one attempt and records its outcome on the run object.
    async fn execute(
        &self,
        job: &Job,
        doc: CasDoc<RunRecord>,
        mut run: RunRecord,
        etag: String,
    ) -> Result<RunRecord> {
        let context = JobContext {
            job: job.name.clone(),
            tick: run.tick.clone(),
            attempt: run.attempt,
            trigger: run.trigger,
        };
        let outcome = match tokio::time::timeout(job.timeout, (job.action)(context)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(format!("timed out after {:?}", job.timeout)),
        };
        let now = self.clock.now();
        match outcome {
            Ok(()) => {
                run.status = RunStatus::Succeeded;
                run.ended_at = Some(iso(now));
                run.error = None;
            }
            Err(error) if run.attempt <= job.retries => {
                let wait = time::Duration::try_from(job.backoff_after(run.attempt))
                    .unwrap_or(time::Duration::MAX);
                run.status = RunStatus::Retrying;
                run.error = Some(error);
                run.next_attempt_at = Some(iso(now.saturating_add(wait)));
            }
            Err(error) => {
                run.status = RunStatus::Failed;
                run.ended_at = Some(iso(now));
                run.error = Some(error);
            }
        }
        let Some(etag) = doc.replace(&run, &etag).await? else {
            tracing::warn!(key = doc.key(), "scheduler run was taken over while it ran");
            return Ok(run);
        };
        if run.status == RunStatus::Retrying {
            let due = run
                .next_attempt_at
                .as_deref()
                .and_then(parse_iso)
                .unwrap_or(now);
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            state
                .entry(job.name.clone())
                .or_default()
                .pending
                .push(Pending {
                    key: doc.key().to_owned(),
                    etag,
                    due,
                });
        } else {
            self.prune(&job.name).await?;
        }
        Ok(run)
    }

    /// Deletes the oldest finished runs of `job` beyond [`SchedulerOptions::keep_runs`].
    async fn prune(&self, job: &str) -> Result<()> {
        let keys = self.run_keys(job).await?;
        let excess = keys.len().saturating_sub(self.options.keep_runs);
        let mut doomed = Vec::new();
        for key in keys.into_iter().take(excess) {
            let doc = CasDoc::<RunRecord>::new(self.storage.clone(), key);
            if let Some(read) = doc.load().await?
                && read.value.status.is_final()
            {
                doomed.push(doc.key().to_owned());
            }
        }
        if !doomed.is_empty() {
            self.storage.delete_many(&doomed).await?;
        }
        Ok(())
    }

    /// The run keys of `job`, oldest first.
    async fn run_keys(&self, job: &str) -> Result<Vec<String>> {
        let options = ListOptions {
            prefix: format!("{job}/runs/"),
            ..ListOptions::default()
        };
        let metas: Vec<_> = self.storage.list(options).try_collect().await?;
        Ok(metas.into_iter().map(|m| m.key).collect())
    }

    fn job(&self, name: &str) -> Result<&Job> {
        self.jobs
            .iter()
            .find(|j| j.name == name)
            .ok_or_else(|| config(format!("no job named {name:?}")))
    }
}

/// The run object's key of `job` at `tick`.
fn run_key(job: &str, tick: &str) -> String {
    format!("{job}/runs/{tick}")
}

fn config(reason: String) -> Error {
    Error::Config {
        plugin: SLUG,
        reason,
    }
}
