//! Plugins for s3db: cache, TTL, audit, replicator, costs and metrics. (Not yet implemented.)
