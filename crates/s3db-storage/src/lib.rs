//! The storage layer of s3db: one async trait, memory / filesystem / S3 backends, and layers.
