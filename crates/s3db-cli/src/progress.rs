//! Progress bars on stderr (indicatif), drawn only for people at a terminal.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::output::Output;

/// A counter of processed items, with a spinner, rate and elapsed time.
#[derive(Debug, Clone)]
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A counter labelled `what` (e.g. `objects exported`); hidden unless `output` shows progress.
    pub fn new(output: &Output, what: &str) -> Self {
        let bar = if output.shows_progress() {
            ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
        } else {
            ProgressBar::hidden()
        };
        let template = format!("{{spinner}} {{pos}} {what} ({{per_sec}}, {{elapsed}})");
        if let Ok(style) = ProgressStyle::with_template(&template) {
            bar.set_style(style);
        }
        Progress { bar }
    }

    /// Counts one processed item.
    pub fn inc(&self) {
        self.bar.inc(1);
    }

    /// Prints a message above the bar (or on stderr when the bar is hidden).
    pub fn warn(&self, message: &str) {
        if self.bar.is_hidden() {
            eprintln!("{message}");
        } else {
            self.bar.println(message);
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
