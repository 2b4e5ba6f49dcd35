//! The s3db engine: databases, schemas, resources, behaviors, partitions and versioning. (Not yet implemented.)
