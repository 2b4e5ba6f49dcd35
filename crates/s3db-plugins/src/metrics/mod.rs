//! Metrics plugin: operation counts, errors and latencies in Prometheus text. (Being built.)
