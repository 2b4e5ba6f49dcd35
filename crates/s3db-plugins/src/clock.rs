//! Time for plugins that depend on it (cache TTL, TTL sweeps, audit timestamps): the core's
//! one [`Clock`] abstraction, re-exported. A plugin uses the clock it was given, else the
//! database's ([`s3db_core::extend::PluginContext::clock`]), so tests move time forward
//! instead of sleeping.

pub use s3db_core::clock::{Clock, ManualClock, SharedClock, SystemClock, iso, parse_iso};
