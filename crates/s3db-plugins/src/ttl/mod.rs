//! TTL plugin: expiring records. (Being built.)
