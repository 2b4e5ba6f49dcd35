//! Cache plugin: cached reads invalidated by every write. (Being built.)
