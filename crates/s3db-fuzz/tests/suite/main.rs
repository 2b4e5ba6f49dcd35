//! Integration tests of s3db-fuzz.

mod replay;
