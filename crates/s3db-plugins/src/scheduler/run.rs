//! The run object of one tick of one job: claim, attempts and outcome.

use serde::{Deserialize, Serialize};

/// How a run was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Trigger {
    /// A tick of the job's schedule.
    Schedule,
    /// [`super::Scheduler::trigger`].
    Manual,
}

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RunStatus {
    /// An attempt is under way (its owner holds the run).
    Running,
    /// An attempt failed; the next one is due at `nextAttemptAt`.
    Retrying,
    /// An attempt succeeded.
    Succeeded,
    /// The last attempt failed (or timed out) and no retries are left.
    Failed,
}

impl RunStatus {
    /// Whether the run is over.
    pub fn is_final(self) -> bool {
        matches!(self, RunStatus::Succeeded | RunStatus::Failed)
    }
}

/// One run of a job, stored as JSON at `<job>/runs/<tick>` in the scheduler's area. Its
/// conditional creation is what makes a tick run once across processes; every later
/// change is a compare-and-swap on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RunRecord {
    /// The job.
    pub job: String,
    /// The tick this run is for (ISO-8601; the trigger time of a manual run).
    pub tick: String,
    /// How it was started.
    pub trigger: Trigger,
    /// Where it stands.
    pub status: RunStatus,
    /// The attempt under way or last made (1-based).
    pub attempt: u32,
    /// Who runs (or last ran) it: [`super::SchedulerOptions::owner`].
    pub owner: String,
    /// When the first attempt started.
    pub started_at: String,
    /// When the current or last attempt started.
    pub attempt_started_at: String,
    /// When the run ended (final status only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<String>,
    /// Why the last attempt failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// When the next attempt is due (status `retrying`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<String>,
}
