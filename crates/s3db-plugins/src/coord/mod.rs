//! Coordination on S3 conditional writes.
//!
//! Every coordination part (lock, sequence, queue, scheduler, counters, state machine) is
//! built on one primitive, [`CasDoc`]: a JSON document at one key that is created only if
//! absent (`If-None-Match: *`) and replaced only if unchanged since it was read
//! (`If-Match: <etag>`). Whoever loses a race sees it, reads again and decides again.

mod cas;
mod lock;

pub use cas::{CasDoc, Change, Versioned};
pub use lock::{Fenced, Lock, LockGuard, LockState, fenced_update};
/// The atomic sequence ([`s3db_core::sequence`]): it lives in the core, whose
/// `incremental` id generator uses it, and is re-exported here beside the other parts.
pub use s3db_core::sequence::Sequence;
