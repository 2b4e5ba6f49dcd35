//! The costs report: request counts and dollars per database part.

use std::collections::BTreeMap;

use s3db_storage::layers::{MetricsSnapshot, Prices};
use serde::Serialize;

/// Requests of one part of the database (or all of it), by S3 request kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    /// `PutObject` requests.
    pub put: u64,
    /// `GetObject` requests.
    pub get: u64,
    /// `HeadObject` requests.
    pub head: u64,
    /// `CopyObject` requests.
    pub copy: u64,
    /// `DeleteObject` requests.
    pub delete: u64,
    /// `DeleteObjects` requests (batches).
    pub delete_many: u64,
    /// `ListObjectsV2` requests (pages).
    pub list: u64,
    /// All requests.
    pub requests: u64,
    /// Requests that failed.
    pub errors: u64,
    /// Body bytes written.
    pub bytes_written: u64,
    /// Body bytes read.
    pub bytes_read: u64,
    /// Estimated request cost in US dollars.
    pub estimated_usd: f64,
}

impl Usage {
    /// The usage of a storage metrics snapshot at `prices`.
    pub fn from_snapshot(snapshot: &MetricsSnapshot, prices: Prices) -> Usage {
        let counts = [
            snapshot.put,
            snapshot.get,
            snapshot.head,
            snapshot.copy,
            snapshot.delete,
            snapshot.delete_many,
            snapshot.list,
        ];
        Usage {
            put: snapshot.put.requests,
            get: snapshot.get.requests,
            head: snapshot.head.requests,
            copy: snapshot.copy.requests,
            delete: snapshot.delete.requests,
            delete_many: snapshot.delete_many.requests,
            list: snapshot.list.requests,
            requests: snapshot.requests(),
            errors: counts.iter().map(|c| c.errors).sum(),
            bytes_written: snapshot.bytes_written,
            bytes_read: snapshot.bytes_read,
            estimated_usd: snapshot.estimated_cost_usd(prices),
        }
    }
}

/// The prices a report was computed with, in US dollars per 1 000 requests.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PriceList {
    /// PUT, COPY and LIST requests.
    pub write_list_per_1000: f64,
    /// GET and HEAD requests.
    pub read_per_1000: f64,
}

impl From<Prices> for PriceList {
    fn from(prices: Prices) -> Self {
        PriceList {
            write_list_per_1000: prices.write_list_per_1000,
            read_per_1000: prices.read_per_1000,
        }
    }
}

/// Requests and estimated dollars of a database, in total and per part.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CostsReport {
    /// The prices used.
    pub prices: PriceList,
    /// Every request the database's storage sent.
    pub total: Usage,
    /// Requests on `s3db.json`.
    pub database: Usage,
    /// Requests per resource (records, partition references, the resource's plugin areas).
    pub resources: BTreeMap<String, Usage>,
    /// Requests per database-wide plugin area (`plugin=<slug>/`).
    pub plugins: BTreeMap<String, Usage>,
    /// Requests on other keys (listings of the whole bucket, foreign objects).
    pub other: Usage,
}

impl CostsReport {
    /// The report as JSON (camelCase keys).
    pub fn to_json(&self) -> serde_json::Value {
        // A struct of numbers and string-keyed maps always serializes.
        serde_json::to_value(self).unwrap_or_default()
    }
}
