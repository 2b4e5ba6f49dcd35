//! Replicator plugin: copies writes to other stores. (Being built.)
