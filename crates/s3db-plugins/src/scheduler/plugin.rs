//! [`SchedulerPlugin`]: a [`Scheduler`] on a database's storage and clock, ticking in the
//! background.

use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use s3db_core::extend::{Plugin, PluginContext};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::{Job, SLUG, Scheduler, SchedulerOptions};
use crate::Error;

/// Background polls between two [`Scheduler::recover`] passes.
const RECOVER_EVERY: u32 = 60;

/// The scheduler as a database plugin: its run objects live under `plugin=scheduler/`, it
/// reads the database's clock, and once started it calls [`Scheduler::tick`] every `poll`
/// (default 1 s) and [`Scheduler::recover`] every 60 polls until the database
/// disconnects.
pub struct SchedulerPlugin {
    jobs: Vec<Job>,
    options: SchedulerOptions,
    poll: Duration,
    scheduler: OnceLock<Arc<Scheduler>>,
    background: Mutex<Option<(oneshot::Sender<()>, JoinHandle<()>)>>,
}

impl std::fmt::Debug for SchedulerPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchedulerPlugin")
            .field("jobs", &self.jobs)
            .field("poll", &self.poll)
            .finish_non_exhaustive()
    }
}

impl SchedulerPlugin {
    /// A plugin running `jobs` with `options`.
    pub fn new(jobs: Vec<Job>, options: SchedulerOptions) -> SchedulerPlugin {
        SchedulerPlugin {
            jobs,
            options,
            poll: Duration::from_secs(1),
            scheduler: OnceLock::new(),
            background: Mutex::new(None),
        }
    }

    /// How often the background loop checks for due ticks.
    pub fn poll(mut self, poll: Duration) -> SchedulerPlugin {
        self.poll = poll.max(Duration::from_millis(1));
        self
    }

    /// The scheduler once installed (for [`Scheduler::trigger`], [`Scheduler::history`]).
    pub fn scheduler(&self) -> Option<&Arc<Scheduler>> {
        self.scheduler.get()
    }
}

#[async_trait]
impl Plugin for SchedulerPlugin {
    fn slug(&self) -> &str {
        SLUG
    }

    /// Builds the scheduler on the plugin's storage area and the database's clock.
    async fn install(&self, ctx: &PluginContext) -> s3db_core::Result<()> {
        let scheduler = Scheduler::new(
            ctx.storage(),
            ctx.clock().clone(),
            self.jobs.clone(),
            self.options.clone(),
        )?;
        self.scheduler
            .set(Arc::new(scheduler))
            .map_err(|_| Error::Config {
                plugin: SLUG,
                reason: "a SchedulerPlugin is installed on one database only".into(),
            })?;
        Ok(())
    }

    /// Starts the background loop.
    async fn start(&self, _ctx: &PluginContext) -> s3db_core::Result<()> {
        let mut background = self
            .background
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let (None, Some(scheduler)) = (background.as_ref(), self.scheduler.get()) {
            let (stop, stopped) = oneshot::channel();
            let task = tokio::spawn(run(scheduler.clone(), self.poll, stopped));
            *background = Some((stop, task));
        }
        Ok(())
    }

    /// Stops the loop, letting a run under way finish.
    async fn stop(&self, _ctx: &PluginContext) -> s3db_core::Result<()> {
        let background = self
            .background
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some((stop, task)) = background {
            let _ = stop.send(());
            if let Err(error) = task.await {
                tracing::warn!(%error, "scheduler background task ended abnormally");
            }
        }
        Ok(())
    }
}

async fn run(scheduler: Arc<Scheduler>, poll: Duration, mut stop: oneshot::Receiver<()>) {
    let mut ticker = tokio::time::interval(poll);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut polls = 0u32;
    loop {
        tokio::select! {
            _ = &mut stop => break,
            _ = ticker.tick() => {}
        }
        polls = polls.wrapping_add(1);
        if let Err(error) = scheduler.tick().await {
            tracing::warn!(%error, "scheduler tick failed");
        }
        if polls.is_multiple_of(RECOVER_EVERY)
            && let Err(error) = scheduler.recover().await
        {
            tracing::warn!(%error, "scheduler recovery failed");
        }
    }
}
