//! The s3db engine: databases, schemas, resources, behaviors, partitions and versioning.

pub mod id;
pub mod schema;
