//! Pure, I/O-free value encoders for s3db: base62, metadata encoding, embeddings, ip/uuid packing
//! and secrets — byte for byte compatible with s3db.js 21.6.2.
//!
//! Three layers turn a record into S3 user metadata, and reading undoes them in reverse:
//! the schema layer ([`value`]) turns each typed value into a compact string, behaviors (in
//! `s3db-core`) split entries between metadata and body, and the client layer ([`meta`]) makes
//! every metadata key and value safe for HTTP headers. [`budget`] counts sizes, [`secret`]
//! encrypts secret fields and holds secrets that never print themselves.

pub mod base62;
pub mod budget;
pub mod calendar;
pub mod error;
pub mod meta;
pub mod secret;
pub mod value;

pub use error::CodecError;
