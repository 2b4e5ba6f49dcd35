//! Integration tests of the facade: the derive and codegen, end to end.

#![allow(clippy::unwrap_used)]

#[rustfmt::skip]
#[path = "generated/all_types.rs"]
mod all_types;
mod codegen;
mod derive;

use s3db::core::Database;
use s3db::core::metadata::document::ResourceEntry;

/// The `s3db.json` entry of `name`, with the version creation times blanked (the only part
/// that depends on when it was written).
fn stored_entry(db: &Database, name: &str) -> ResourceEntry {
    let mut entry = db.document().resources.get(name).cloned().unwrap();
    for version in entry.versions.values_mut() {
        version.created_at = None;
    }
    entry
}
