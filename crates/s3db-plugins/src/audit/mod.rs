//! Audit plugin: a trail of every write. (Being built.)
