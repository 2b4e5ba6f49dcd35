//! The tools' inputs: one struct each, camelCase on the wire as s3db.js's MCP server names
//! them; their JSON schemas are what `tools/list` advertises.

use rmcp::schemars::{self, JsonSchema};
use serde::Deserialize;
use serde_json::{Map, Value};

/// A resource by name.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourceName {
    /// Name of the resource.
    pub resource_name: String,
}

/// Optionally one resource (all when absent).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MaybeResource {
    /// Name of the resource; every resource when absent.
    #[serde(default)]
    pub resource_name: Option<String>,
}

/// One record by id.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecordId {
    /// Name of the resource.
    pub resource_name: String,
    /// Id of the record.
    pub id: String,
}

/// `resourceGet`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GetParams {
    /// Name of the resource.
    pub resource_name: String,
    /// Id of the record.
    pub id: String,
    /// Also return the internal fields (`_etag`, the version for a conditional update,
    /// `_lastModified`, `_contentLength`, `_v`…).
    #[serde(default)]
    pub include_meta: bool,
}

/// Several records by id.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecordIds {
    /// Name of the resource.
    pub resource_name: String,
    /// Ids of the records.
    pub ids: Vec<String>,
}

/// A record to write.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WriteParams {
    /// Name of the resource.
    pub resource_name: String,
    /// The record's fields (with `id` to choose it; one is generated otherwise on insert).
    pub data: Map<String, Value>,
}

/// `resourceUpdate`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateParams {
    /// Name of the resource.
    pub resource_name: String,
    /// Id of the record.
    pub id: String,
    /// The fields to change (merged into the stored record).
    pub data: Map<String, Value>,
    /// Update only if the record is still at this version (its `_etag`, from `resourceGet`
    /// with `includeMeta`); a Conflict error otherwise.
    #[serde(default)]
    pub version: Option<String>,
}

/// `resourceBulkUpsert`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BulkUpsertParams {
    /// Name of the resource.
    pub resource_name: String,
    /// The records, each inserted or merged into the stored one of its `id`.
    pub records: Vec<Map<String, Value>>,
}

/// Which records of a resource: all, or those of one partition's values.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListParams {
    /// Name of the resource.
    pub resource_name: String,
    /// Partition name (see `dbInspectResource`): lists its references instead of every record.
    #[serde(default)]
    pub partition: Option<String>,
    /// Values of the partition's fields, e.g. `{"status": "active"}`.
    #[serde(default)]
    pub partition_values: Option<Map<String, Value>>,
    /// Records at most (default 100).
    #[serde(default)]
    pub limit: Option<usize>,
    /// Records to skip first.
    #[serde(default)]
    pub offset: Option<usize>,
}

/// `resourceCount`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CountParams {
    /// Name of the resource.
    pub resource_name: String,
    /// Count one partition's references instead of every record.
    #[serde(default)]
    pub partition: Option<String>,
    /// Values of the partition's fields.
    #[serde(default)]
    pub partition_values: Option<Map<String, Value>>,
}

/// `resourcePage`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PageParams {
    /// Name of the resource.
    pub resource_name: String,
    /// Records per page (default 100).
    #[serde(default)]
    pub size: Option<usize>,
    /// Continue after this cursor (the `nextCursor` of the previous page).
    #[serde(default)]
    pub cursor: Option<String>,
    /// Partition name.
    #[serde(default)]
    pub partition: Option<String>,
    /// Values of the partition's fields.
    #[serde(default)]
    pub partition_values: Option<Map<String, Value>>,
    /// Leave out the totals (they cost a listing of every key of the selection).
    #[serde(default)]
    pub skip_count: bool,
}

/// `resourceQuery`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QueryParams {
    /// Name of the resource.
    pub resource_name: String,
    /// Filter: exact match `{"status": "active"}` or operators `$eq $ne $gt $gte $lt $lte
    /// $in $exists $regex`, e.g. `{"age": {"$gt": 18}}`. A filter no partition serves scans
    /// every record.
    pub filters: Map<String, Value>,
    /// Records at most (default 100).
    #[serde(default)]
    pub limit: Option<usize>,
    /// Matching records to skip first.
    #[serde(default)]
    pub offset: Option<usize>,
}

/// `resourceExport`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExportParams {
    /// Name of the resource.
    pub resource_name: String,
    /// Write the JSON lines to this file on the server's machine (created or truncated);
    /// returned inline when absent.
    #[serde(default)]
    pub path: Option<String>,
    /// Export one partition's records only.
    #[serde(default)]
    pub partition: Option<String>,
    /// Values of the partition's fields.
    #[serde(default)]
    pub partition_values: Option<Map<String, Value>>,
}

/// `resourceImport`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImportParams {
    /// Name of the resource.
    pub resource_name: String,
    /// Read the JSON lines from this file on the server's machine.
    #[serde(default)]
    pub path: Option<String>,
    /// The JSON lines inline (one record object per line); give this or `path`.
    #[serde(default)]
    pub jsonl: Option<String>,
}

/// `dbCreateResource`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateResourceParams {
    /// The definition in s3db.js's `createResource` shape: `{"name": "users", "attributes":
    /// {"email": "email|required"}, "partitions": {...}, "behavior": "body-overflow",
    /// "timestamps": true}`. An existing resource evolves to it (a new version).
    pub config: Map<String, Value>,
}
