//! Costs plugin: request counts and estimated dollars. (Being built.)
