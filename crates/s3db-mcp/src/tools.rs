//! The tools, named as s3db.js's MCP server names them. A tool returns its result as JSON
//! text; a failure is a tool error (`isError`) whose text starts with the error kind.

use futures::StreamExt;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::{tool, tool_router};
use s3db_core::{
    Database, Error, ListRequest, PageRequest, QueryOptions, Resource, ResourceConfig,
};
use s3db_storage::layers::Prices;
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::S3dbMcp;
use crate::params::{
    BulkUpsertParams, CountParams, CreateResourceParams, ExportParams, GetParams, ImportParams,
    ListParams, MaybeResource, PageParams, QueryParams, RecordId, RecordIds, ResourceName,
    UpdateParams, WriteParams,
};

/// Records a listing returns when the call gives no `limit`.
const DEFAULT_LIMIT: usize = 100;

/// What a tool returns: JSON text, or the error text of a tool error.
type ToolResult = Result<String, String>;

/// A failure as a tool error's text: the kind first, then the message (which names the
/// resource, record, field or option at fault).
fn failure(error: Error) -> String {
    format!("{:?}: {error}", error.kind())
}

/// A tool argument that is wrong in a way its schema cannot say.
fn invalid(message: impl std::fmt::Display) -> String {
    format!("InvalidInput: {message}")
}

/// `value` as pretty JSON text.
fn to_text(value: &impl Serialize) -> ToolResult {
    serde_json::to_string_pretty(value).map_err(|e| format!("Internal: {e}"))
}

/// The selection of a listing: a partition's values, or every record.
fn selection(partition: Option<String>, values: Option<Map<String, Value>>) -> ListRequest {
    match partition {
        Some(partition) => {
            ListRequest::partition(partition, Value::Object(values.unwrap_or_default()))
        }
        None => ListRequest::all(),
    }
}

/// The selection and window of `resourceList` and `resourceListIds`.
fn window(p: ListParams) -> ListRequest {
    selection(p.partition, p.partition_values)
        .offset(p.offset.unwrap_or(0))
        .limit(p.limit.unwrap_or(DEFAULT_LIMIT))
}

/// The records as JSON lines.
fn to_jsonl(records: &[Map<String, Value>]) -> ToolResult {
    let mut out = String::new();
    for record in records {
        out.push_str(&serde_json::to_string(record).map_err(|e| format!("Internal: {e}"))?);
        out.push('\n');
    }
    Ok(out)
}

/// The record objects of JSON lines (blank lines skipped); the error names the line.
fn from_jsonl(text: &str) -> Result<Vec<Map<String, Value>>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(n, line)| match serde_json::from_str(line) {
            Ok(Value::Object(record)) => Ok(record),
            Ok(_) => Err(invalid(format!("line {}: not a JSON object", n + 1))),
            Err(e) => Err(invalid(format!("line {}: {e}", n + 1))),
        })
        .collect()
}

/// A resource's shape: what `dbListResources` and `dbInspectResource` report.
fn partitions_of(resource: &Resource) -> Map<String, Value> {
    resource
        .partitions()
        .iter()
        .map(|p| {
            let fields: Map<String, Value> = p
                .fields
                .iter()
                .map(|(field, rule)| (field.clone(), Value::String(rule.clone())))
                .collect();
            (p.name.clone(), Value::Object(fields))
        })
        .collect()
}

/// Upserts of a bulk tool in flight at once (fewer when the resource's parallelism says so).
const BULK_IN_FLIGHT: usize = 8;

/// The outcome of upserting each record (a bounded number at a time): how many, and the
/// failures by position.
async fn upsert_all(resource: &Resource, records: Vec<Map<String, Value>>) -> Value {
    let total = records.len();
    let in_flight = resource
        .parallelism()
        .map_or(BULK_IN_FLIGHT, |bound| bound.min(BULK_IN_FLIGHT))
        .max(1);
    let mut failures: Vec<(usize, Value)> = futures::stream::iter(records.into_iter().enumerate())
        .map(|(index, record)| async move {
            let id = record.get("id").cloned().unwrap_or(Value::Null);
            let outcome = resource.upsert(record).await;
            outcome.err().map(|e| {
                let failure = json!({"index": index, "id": id, "error": failure(e)});
                (index, failure)
            })
        })
        .buffer_unordered(in_flight)
        .filter_map(std::future::ready)
        .collect()
        .await;
    failures.sort_unstable_by_key(|(index, _)| *index);
    let failures: Vec<Value> = failures.into_iter().map(|(_, f)| f).collect();
    json!({"upserted": total - failures.len(), "failed": failures.len(), "failures": failures})
}

impl S3dbMcp {
    fn db(&self) -> &Database {
        &self.db
    }

    fn resource(&self, name: &str) -> Result<Resource, String> {
        self.db.resource(name).map_err(failure)
    }
}

#[tool_router(vis = "pub(crate)")]
impl S3dbMcp {
    #[tool(
        name = "dbListResources",
        description = "List the resources of the database with their current version, behavior and partition names.",
        annotations(read_only_hint = true)
    )]
    async fn db_list_resources(&self) -> ToolResult {
        let mut out = Vec::new();
        for name in self.db().list_resources() {
            let resource = self.resource(&name)?;
            out.push(json!({
                "name": name,
                "version": resource.version(),
                "behavior": resource.behavior().as_str(),
                "partitions": resource.partitions().iter().map(|p| p.name.clone()).collect::<Vec<_>>(),
            }));
        }
        to_text(&out)
    }

    #[tool(
        name = "dbInspectResource",
        description = "Describe a resource: attributes (schema), partitions and their fields, behavior, version, paranoid mode, definition warnings, orphaned partitions and the storage key prefix.",
        annotations(read_only_hint = true)
    )]
    async fn db_inspect_resource(&self, Parameters(p): Parameters<ResourceName>) -> ToolResult {
        let resource = self.resource(&p.resource_name)?;
        let warnings: Vec<Value> = resource
            .definition_warnings()
            .iter()
            .map(|w| json!({"key": w.key, "message": w.message}))
            .collect();
        to_text(&json!({
            "name": resource.name(),
            "version": resource.version(),
            "behavior": resource.behavior().as_str(),
            "paranoid": resource.paranoid(),
            "attributes": resource.attributes(),
            "partitions": partitions_of(&resource),
            "orphanedPartitions": resource.find_orphaned_partitions(),
            "warnings": warnings,
            "keyPrefix": format!("resource={}/", resource.name()),
        }))
    }

    #[tool(
        name = "dbGetMetadata",
        description = "The database's s3db.json document (every resource's versions, partitions and schema registry), as stored.",
        annotations(read_only_hint = true)
    )]
    async fn db_get_metadata(&self) -> ToolResult {
        to_text(&self.db().document())
    }

    #[tool(
        name = "dbGetStats",
        description = "Records and partition references per resource (listings only, no record reads), and the storage requests this server has sent with their estimated cost (S3 Standard prices).",
        annotations(read_only_hint = true)
    )]
    async fn db_get_stats(&self, Parameters(p): Parameters<MaybeResource>) -> ToolResult {
        let names = match p.resource_name {
            Some(name) => vec![name],
            None => self.db().list_resources(),
        };
        let mut resources = Vec::new();
        for name in names {
            let resource = self.resource(&name)?;
            let mut partitions = Map::new();
            for partition in resource.partitions() {
                let request = ListRequest::partition(partition.name.clone(), Value::Null);
                let count = resource.count_by(&request).await.map_err(failure)?;
                partitions.insert(partition.name.clone(), json!(count));
            }
            resources.push(json!({
                "name": name,
                "records": resource.count().await.map_err(failure)?,
                "partitions": partitions,
            }));
        }
        let requests = self.metrics.as_ref().map(|m| {
            let r = m.snapshot();
            json!({
                "total": r.requests(),
                "get": r.get.requests,
                "head": r.head.requests,
                "put": r.put.requests,
                "copy": r.copy.requests,
                "delete": r.delete.requests,
                "deleteMany": r.delete_many.requests,
                "list": r.list.requests,
                "bytesWritten": r.bytes_written,
                "bytesRead": r.bytes_read,
                "estimatedCostUsd": r.estimated_cost_usd(Prices::S3_STANDARD),
            })
        });
        to_text(&json!({"resources": resources, "requests": requests}))
    }

    #[tool(
        name = "dbFindOrphanedPartitions",
        description = "Partitions that name a field the resource's schema no longer has, per resource (all resources when resourceName is absent).",
        annotations(read_only_hint = true)
    )]
    async fn db_find_orphaned_partitions(
        &self,
        Parameters(p): Parameters<MaybeResource>,
    ) -> ToolResult {
        let names = match p.resource_name {
            Some(name) => vec![name],
            None => self.db().list_resources(),
        };
        let mut out = Map::new();
        for name in names {
            let orphaned = self.resource(&name)?.find_orphaned_partitions();
            out.insert(name, json!(orphaned));
        }
        to_text(&out)
    }

    #[tool(
        name = "resourceGet",
        description = "Read one record by id (a NotFound error when there is none).",
        annotations(read_only_hint = true)
    )]
    async fn resource_get(&self, Parameters(p): Parameters<GetParams>) -> ToolResult {
        let resource = self.resource(&p.resource_name)?;
        let record = if p.include_meta {
            resource.get_with_meta(&p.id).await
        } else {
            resource.get(&p.id).await
        };
        to_text(&record.map_err(failure)?)
    }

    #[tool(
        name = "resourceGetMany",
        description = "Read several records by id (the ids that do not exist are left out).",
        annotations(read_only_hint = true)
    )]
    async fn resource_get_many(&self, Parameters(p): Parameters<RecordIds>) -> ToolResult {
        let resource = self.resource(&p.resource_name)?;
        to_text(&resource.get_many(&p.ids).await.map_err(failure)?)
    }

    #[tool(
        name = "resourceExists",
        description = "Whether a record exists (one HEAD request).",
        annotations(read_only_hint = true)
    )]
    async fn resource_exists(&self, Parameters(p): Parameters<RecordId>) -> ToolResult {
        let resource = self.resource(&p.resource_name)?;
        to_text(&json!({"exists": resource.exists(&p.id).await.map_err(failure)?}))
    }

    #[tool(
        name = "resourceGetRaw",
        description = "The raw object of a record: storage key, user metadata map (encoded fields as stored), size, ETag, last modified time and content type (one HEAD request).",
        annotations(read_only_hint = true)
    )]
    async fn resource_get_raw(&self, Parameters(p): Parameters<RecordId>) -> ToolResult {
        let resource = self.resource(&p.resource_name)?;
        let key = resource.record_key(&p.id);
        let head = self
            .db()
            .storage()
            .head(&key)
            .await
            .map_err(|e| failure(e.into()))?;
        let modified = head
            .meta
            .last_modified
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        to_text(&json!({
            "key": head.meta.key,
            "size": head.meta.size,
            "etag": head.meta.etag,
            "lastModifiedMs": modified,
            "contentType": head.content_type,
            "metadata": head.metadata,
        }))
    }

    #[tool(
        name = "resourceList",
        description = "List records, all or one partition's (partition + partitionValues: a listing of that partition only). Default limit 100.",
        annotations(read_only_hint = true)
    )]
    async fn resource_list(&self, Parameters(p): Parameters<ListParams>) -> ToolResult {
        let resource = self.resource(&p.resource_name)?;
        let request = window(p);
        to_text(&resource.list(&request).await.map_err(failure)?)
    }

    #[tool(
        name = "resourceListIds",
        description = "List record ids, all or one partition's. Default limit 100.",
        annotations(read_only_hint = true)
    )]
    async fn resource_list_ids(&self, Parameters(p): Parameters<ListParams>) -> ToolResult {
        let resource = self.resource(&p.resource_name)?;
        let request = window(p);
        to_text(&resource.list_ids_by(&request).await.map_err(failure)?)
    }

    #[tool(
        name = "resourcePage",
        description = "One page of records with a cursor: pass the returned nextCursor to get the next page (null on the last). Cursors are s3db.js's format.",
        annotations(read_only_hint = true)
    )]
    async fn resource_page(&self, Parameters(p): Parameters<PageParams>) -> ToolResult {
        let resource = self.resource(&p.resource_name)?;
        let request = PageRequest {
            size: p.size.unwrap_or(DEFAULT_LIMIT),
            cursor: p.cursor,
            skip_count: p.skip_count,
            partition: p.partition,
            values: p.partition_values.unwrap_or_default(),
            ..PageRequest::default()
        };
        let page = resource.page(&request).await.map_err(failure)?;
        to_text(&json!({
            "items": page.items,
            "nextCursor": page.next_cursor,
            "pageSize": page.page_size,
            "totalItems": page.total_items,
            "totalPages": page.total_pages,
        }))
    }

    #[tool(
        name = "resourceQuery",
        description = "Records matching a filter. A filter on a partition's fields reads that partition; otherwise every record is read and tested. Default limit 100.",
        annotations(read_only_hint = true)
    )]
    async fn resource_query(&self, Parameters(p): Parameters<QueryParams>) -> ToolResult {
        let resource = self.resource(&p.resource_name)?;
        let options = QueryOptions {
            offset: p.offset.unwrap_or(0),
            limit: Some(p.limit.unwrap_or(DEFAULT_LIMIT)),
            ..QueryOptions::scanning()
        };
        let records = resource
            .query(&Value::Object(p.filters), &options)
            .await
            .map_err(failure)?;
        to_text(&records)
    }

    #[tool(
        name = "resourceCount",
        description = "Number of records, all or one partition's (a listing, no record reads).",
        annotations(read_only_hint = true)
    )]
    async fn resource_count(&self, Parameters(p): Parameters<CountParams>) -> ToolResult {
        let resource = self.resource(&p.resource_name)?;
        let request = selection(p.partition, p.partition_values);
        to_text(&json!({"count": resource.count_by(&request).await.map_err(failure)?}))
    }

    #[tool(
        name = "resourceExport",
        description = "Export records (all or one partition's) as JSON lines: inline, or to a file on the server's machine when path is given.",
        annotations(read_only_hint = true)
    )]
    async fn resource_export(&self, Parameters(p): Parameters<ExportParams>) -> ToolResult {
        let resource = self.resource(&p.resource_name)?;
        let request = selection(p.partition, p.partition_values);
        let records = resource.list(&request).await.map_err(failure)?;
        let lines = to_jsonl(&records)?;
        match p.path {
            None => Ok(lines),
            Some(path) => {
                tokio::fs::write(&path, lines)
                    .await
                    .map_err(|e| invalid(format!("cannot write path {path:?}: {e}")))?;
                to_text(&json!({"exported": records.len(), "path": path}))
            }
        }
    }

    #[tool(
        name = "resourceInsert",
        description = "Insert a record (validated against the schema; an AlreadyExists error when its id is taken).",
        annotations(read_only_hint = false, destructive_hint = false)
    )]
    async fn resource_insert(&self, Parameters(p): Parameters<WriteParams>) -> ToolResult {
        let resource = self.resource(&p.resource_name)?;
        to_text(&resource.insert(p.data).await.map_err(failure)?)
    }

    #[tool(
        name = "resourceUpdate",
        description = "Merge fields into a stored record; with version (the record's _etag) only if it was not changed since (a Conflict error otherwise).",
        annotations(read_only_hint = false, destructive_hint = true)
    )]
    async fn resource_update(&self, Parameters(p): Parameters<UpdateParams>) -> ToolResult {
        let resource = self.resource(&p.resource_name)?;
        let updated = match p.version {
            Some(version) => resource.update_if(&p.id, p.data, &version).await,
            None => resource.update(&p.id, p.data).await,
        };
        to_text(&updated.map_err(failure)?)
    }

    #[tool(
        name = "resourceUpsert",
        description = "Insert a record, or merge it into the stored one when its id exists.",
        annotations(read_only_hint = false, destructive_hint = true)
    )]
    async fn resource_upsert(&self, Parameters(p): Parameters<WriteParams>) -> ToolResult {
        let resource = self.resource(&p.resource_name)?;
        to_text(&resource.upsert(p.data).await.map_err(failure)?)
    }

    #[tool(
        name = "resourceDelete",
        description = "Delete a record and its partition references (a NotFound error when there is none).",
        annotations(read_only_hint = false, destructive_hint = true)
    )]
    async fn resource_delete(&self, Parameters(p): Parameters<RecordId>) -> ToolResult {
        let resource = self.resource(&p.resource_name)?;
        resource.delete(&p.id).await.map_err(failure)?;
        to_text(&json!({"deleted": p.id}))
    }

    #[tool(
        name = "resourceBulkUpsert",
        description = "Upsert many records; reports how many were written and each failure with its index.",
        annotations(read_only_hint = false, destructive_hint = true)
    )]
    async fn resource_bulk_upsert(
        &self,
        Parameters(p): Parameters<BulkUpsertParams>,
    ) -> ToolResult {
        let resource = self.resource(&p.resource_name)?;
        to_text(&upsert_all(&resource, p.records).await)
    }

    #[tool(
        name = "resourceDeleteMany",
        description = "Delete the records of the ids that exist; returns how many were deleted.",
        annotations(read_only_hint = false, destructive_hint = true)
    )]
    async fn resource_delete_many(&self, Parameters(p): Parameters<RecordIds>) -> ToolResult {
        let resource = self.resource(&p.resource_name)?;
        to_text(&json!({"deleted": resource.delete_many(&p.ids).await.map_err(failure)?}))
    }

    #[tool(
        name = "resourceImport",
        description = "Import JSON lines (one record per line, as resourceExport writes them) from a file on the server's machine (path) or inline (jsonl); each record is upserted.",
        annotations(read_only_hint = false, destructive_hint = true)
    )]
    async fn resource_import(&self, Parameters(p): Parameters<ImportParams>) -> ToolResult {
        let resource = self.resource(&p.resource_name)?;
        let text = match (p.path, p.jsonl) {
            (Some(path), None) => tokio::fs::read_to_string(&path)
                .await
                .map_err(|e| invalid(format!("cannot read path {path:?}: {e}")))?,
            (None, Some(jsonl)) => jsonl,
            _ => return Err(invalid("give exactly one of \"path\" and \"jsonl\"")),
        };
        let records = from_jsonl(&text)?;
        to_text(&upsert_all(&resource, records).await)
    }

    #[tool(
        name = "resourceRepair",
        description = "Reconcile a resource's partition references and unique-field claims with its records: deletes stale ones, writes missing ones. Reads every record.",
        annotations(
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = true
        )
    )]
    async fn resource_repair(&self, Parameters(p): Parameters<ResourceName>) -> ToolResult {
        let resource = self.resource(&p.resource_name)?;
        let partitions = resource.repair().await.map_err(failure)?;
        let unique = resource.repair_unique().await.map_err(failure)?;
        to_text(&json!({
            "partitions": {
                "records": partitions.records,
                "references": partitions.references,
                "staleRemoved": partitions.stale_removed,
                "missingWritten": partitions.missing_written,
            },
            "unique": unique,
        }))
    }

    #[tool(
        name = "dbRemoveOrphanedPartitions",
        description = "Remove a resource's orphaned partitions (naming a field the schema no longer has): deletes their references and drops them from s3db.json.",
        annotations(
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = true
        )
    )]
    async fn db_remove_orphaned_partitions(
        &self,
        Parameters(p): Parameters<ResourceName>,
    ) -> ToolResult {
        let removed = self
            .db()
            .remove_orphaned_partitions(&p.resource_name)
            .await
            .map_err(failure)?;
        to_text(&json!({"removed": removed}))
    }

    #[tool(
        name = "dbCreateResource",
        description = "Create a resource, or evolve an existing one to a new definition (s3db.js createResource shape).",
        annotations(read_only_hint = false, destructive_hint = false)
    )]
    async fn db_create_resource(
        &self,
        Parameters(p): Parameters<CreateResourceParams>,
    ) -> ToolResult {
        let config = ResourceConfig::from_json(&Value::Object(p.config)).map_err(failure)?;
        let resource = self.db().create_resource(config).await.map_err(failure)?;
        to_text(&json!({"name": resource.name(), "version": resource.version()}))
    }
}
