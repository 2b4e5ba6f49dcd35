//! The `s3db.json` database document, in s3db.js 21.6.2's exact structure.
//!
//! [`DatabaseDocument`] is the whole file; [`registry::SchemaRegistry`] assigns the short
//! metadata keys of a resource's attributes; [`hash::definition_hash`] is the `sha256:` hash
//! s3db.js uses to decide whether a definition changed (and thus whether to create a new
//! version).

pub mod document;
pub mod hash;
pub mod registry;

pub use document::{DatabaseDocument, ResourceEntry, VersionEntry};
pub use hash::{definition_hash, stable_stringify};
pub use registry::{BurnedAttribute, SchemaRegistry};
