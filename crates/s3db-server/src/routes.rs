//! The resource routes: list, get/head, insert, replace, update, delete, query, count.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use s3db_core::schema::{Schema, SchemaOptions};
use s3db_core::{Database, Error, ListRequest, PageRequest, QueryOptions, Record, Resource};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::auth::Principal;
use crate::config::ServerConfig;
use crate::problem::ApiError;

/// The most records one list or query answers.
pub(crate) const MAX_LIMIT: usize = 1000;
/// Records per page when `limit` is not given.
const DEFAULT_LIMIT: usize = 100;

/// What every handler shares.
#[derive(Clone)]
pub(crate) struct App {
    pub(crate) db: Database,
    pub(crate) config: Arc<ServerConfig>,
}

/// Reading or writing.
#[derive(Clone, Copy)]
enum Access {
    Read,
    Write,
}

impl App {
    /// The resource `name` (a handle returning `_etag` and the other internal fields),
    /// once `principal` may access it as asked.
    fn resource(
        &self,
        principal: &Principal,
        name: &str,
        access: Access,
    ) -> Result<Resource, ApiError> {
        let allowed = match access {
            Access::Read => principal.permissions.can_read(name),
            Access::Write => {
                if self.config.read_only {
                    return Err(ApiError::new(
                        StatusCode::FORBIDDEN,
                        "ReadOnly",
                        "the server is read-only: writes are refused",
                    ));
                }
                principal.permissions.can_write(name)
            }
        };
        if !allowed {
            let verb = match access {
                Access::Read => "read",
                Access::Write => "write",
            };
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "Forbidden",
                format!("{} may not {verb} resource {name:?}", principal.name),
            ));
        }
        Ok(self.db.resource(name)?.with_meta())
    }

    /// The path of a record, with the base path.
    fn location(&self, resource: &str, id: &str) -> String {
        format!(
            "{}/{resource}/{}",
            self.config.base_path,
            encode_segment(id)
        )
    }
}

/// Percent-encodes a path segment (everything but unreserved characters).
fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// A JSON object request body. Malformed JSON, a non-object, a wrong content type or a body
/// over the limit become problem+json (400, 400, 415, 413), never axum's plain-text answers.
pub(crate) struct JsonObject(pub(crate) Record);

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_none_or(|v| {
                let essence = v.split(';').next().unwrap_or_default().trim();
                essence.eq_ignore_ascii_case("application/json") || essence.ends_with("+json")
            });
        if !json_type {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "InvalidInput",
                "the body must be application/json",
            ));
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                ApiError::new(rejection.status(), "InvalidInput", rejection.body_text())
            })?;
        match serde_json::from_slice(&bytes) {
            Ok(Value::Object(record)) => Ok(JsonObject(record)),
            Ok(_) => Err(ApiError::bad_request("the body must be a JSON object")),
            Err(e) => Err(ApiError::bad_request(format!(
                "the body is not valid JSON: {e}"
            ))),
        }
    }
}

/// The version of a read record: its stored etag, without quotes.
fn version_of(record: &Record) -> Option<&str> {
    record
        .get("_etag")
        .and_then(Value::as_str)
        .map(|etag| etag.trim_matches('"'))
}

/// An entity tag from a header (`"abc"`, `W/"abc"`, `abc`) without quotes and weakness.
fn bare_tag(tag: &str) -> &str {
    tag.trim().trim_start_matches("W/").trim_matches('"')
}

/// The header's value as text; a header that is not text is a 400.
fn header_text(headers: &HeaderMap, name: header::HeaderName) -> Result<Option<&str>, ApiError> {
    headers
        .get(&name)
        .map(|v| {
            v.to_str()
                .map_err(|_| ApiError::bad_request(format!("header {name} is not valid text")))
        })
        .transpose()
}

/// A single record response: the envelope with `ETag` (and `Location` when created).
fn record_response(status: StatusCode, record: Record, location: Option<String>) -> Response {
    let mut headers = HeaderMap::new();
    if let Some(etag) =
        version_of(&record).and_then(|v| HeaderValue::from_str(&format!("\"{v}\"")).ok())
    {
        headers.insert(header::ETAG, etag);
    }
    if let Some(location) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        headers.insert(header::LOCATION, location);
    }
    (
        status,
        headers,
        axum::Json(json!({"success": true, "data": record})),
    )
        .into_response()
}

/// Keeps `id`, `_etag` and the `fields` asked for.
fn project(record: Record, fields: Option<&BTreeSet<String>>) -> Record {
    match fields {
        None => record,
        Some(fields) => record
            .into_iter()
            .filter(|(k, _)| k == "id" || k == "_etag" || fields.contains(k))
            .collect(),
    }
}

fn parse_fields(raw: Option<&str>) -> Option<BTreeSet<String>> {
    raw.map(|list| {
        list.split(',')
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(str::to_owned)
            .collect()
    })
}

fn parse_limit(raw: Option<&str>) -> Result<usize, ApiError> {
    match raw {
        None => Ok(DEFAULT_LIMIT),
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            _ => Err(ApiError::bad_request(format!(
                "query parameter limit must be an integer from 1 to {MAX_LIMIT}, got {text:?}"
            ))),
        },
    }
}

/// The attribute paths of a resource a filter may name (plus `id`).
fn filterable(resource: &Resource) -> BTreeSet<String> {
    let (schema, _) = Schema::parse_lenient(resource.attributes(), SchemaOptions::default());
    let mut paths: BTreeSet<String> = schema.fields().iter().map(|f| f.path.clone()).collect();
    paths.insert("id".into());
    paths
}

/// A filter value from the query string: JSON when it parses (`18`, `true`,
/// `{"$gte":18}`), else the text itself.
fn filter_value(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

/// The query parameters of list and count: reserved names, the rest are equality filters on
/// attributes (an unknown name is a 400).
struct Listing {
    limit: usize,
    cursor: Option<String>,
    partition: Option<String>,
    values: Record,
    fields: Option<BTreeSet<String>>,
    filter: Map<String, Value>,
}

impl Listing {
    fn parse(
        resource: &Resource,
        params: Vec<(String, String)>,
        paging: bool,
    ) -> Result<Listing, ApiError> {
        let mut listing = Listing {
            limit: DEFAULT_LIMIT,
            cursor: None,
            partition: None,
            values: Record::new(),
            fields: None,
            filter: Map::new(),
        };
        let mut allowed = None;
        for (name, value) in params {
            match name.as_str() {
                "limit" if paging => listing.limit = parse_limit(Some(&value))?,
                // An empty value is an absent one (`?cursor=` from a form or a template).
                "cursor" | "fields" | "partitionValues" if value.is_empty() => {}
                "cursor" if paging => listing.cursor = Some(value),
                "fields" if paging => listing.fields = parse_fields(Some(&value)),
                "partition" => listing.partition = Some(value),
                "partitionValues" => match serde_json::from_str(&value) {
                    Ok(Value::Object(values)) => listing.values = values,
                    _ => {
                        return Err(ApiError::bad_request(
                            "query parameter partitionValues must be a JSON object, e.g. {\"region\":\"eu\"}",
                        ));
                    }
                },
                _ => {
                    let known = allowed.get_or_insert_with(|| filterable(resource));
                    if !known.contains(&name) {
                        return Err(ApiError::bad_request(format!(
                            "unknown query parameter {name:?}: expected {} or an attribute of resource {:?}",
                            if paging {
                                "limit, cursor, fields, partition, partitionValues"
                            } else {
                                "partition, partitionValues"
                            },
                            resource.name()
                        )));
                    }
                    listing.filter.insert(name, filter_value(&value));
                }
            }
        }
        if listing.partition.is_none() && !listing.values.is_empty() {
            return Err(ApiError::bad_request("partitionValues needs partition"));
        }
        Ok(listing)
    }

    /// The filter with the partition values folded in (a query picks its partition itself).
    fn query_filter(&self) -> Value {
        let mut filter = self.filter.clone();
        for (k, v) in &self.values {
            filter.entry(k.clone()).or_insert_with(|| v.clone());
        }
        Value::Object(filter)
    }

    fn list_request(&self) -> ListRequest {
        match &self.partition {
            Some(p) => ListRequest::partition(p.clone(), Value::Object(self.values.clone())),
            None => ListRequest::all(),
        }
    }
}

/// `GET /{resource}`.
pub(crate) async fn list(
    State(app): State<App>,
    Extension(principal): Extension<Principal>,
    Path(name): Path<String>,
    params: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let resource = app.resource(&principal, &name, Access::Read)?;
    let listing = Listing::parse(&resource, params, true)?;
    let (items, next_cursor) = if listing.filter.is_empty() {
        let page = resource
            .page(&PageRequest {
                size: listing.limit,
                cursor: listing.cursor.clone(),
                skip_count: true,
                partition: listing.partition.clone(),
                values: listing.values.clone(),
                ..PageRequest::default()
            })
            .await?;
        (page.items, page.next_cursor)
    } else {
        if listing.cursor.is_some() {
            return Err(ApiError::bad_request(
                "cursor cannot be combined with filters; use POST /{resource}/query with offset",
            ));
        }
        let options = QueryOptions {
            limit: Some(listing.limit),
            ..QueryOptions::scanning()
        };
        (
            resource.query(&listing.query_filter(), &options).await?,
            None,
        )
    };
    let items: Vec<Value> = items
        .into_iter()
        .map(|r| Value::Object(project(r, listing.fields.as_ref())))
        .collect();
    let mut headers = HeaderMap::new();
    if let Some(cursor) = next_cursor
        .as_deref()
        .and_then(|c| HeaderValue::from_str(c).ok())
    {
        headers.insert("x-next-cursor", cursor);
    }
    let body = json!({
        "success": true,
        "data": items,
        "pagination": {
            "pageSize": listing.limit,
            "hasMore": next_cursor.is_some(),
            "nextCursor": next_cursor,
        },
    });
    Ok((headers, axum::Json(body)).into_response())
}

/// The query parameters of a single-record read.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GetParams {
    fields: Option<String>,
}

/// `GET|HEAD /{resource}/{id}`; `If-None-Match` → 304.
pub(crate) async fn get(
    State(app): State<App>,
    Extension(principal): Extension<Principal>,
    Path((name, id)): Path<(String, String)>,
    params: Result<Query<GetParams>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let resource = app.resource(&principal, &name, Access::Read)?;
    let record = resource.get(&id).await?;
    if let (Some(wanted), Some(version)) = (
        header_text(&headers, header::IF_NONE_MATCH)?,
        version_of(&record),
    ) && (wanted.trim() == "*" || wanted.split(',').any(|t| bare_tag(t) == version))
    {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        if let Ok(etag) = HeaderValue::from_str(&format!("\"{version}\"")) {
            response.headers_mut().insert(header::ETAG, etag);
        }
        return Ok(response);
    }
    let fields = parse_fields(params.fields.as_deref());
    Ok(record_response(
        StatusCode::OK,
        project(record, fields.as_ref()),
        None,
    ))
}

/// `POST /{resource}`: insert; 201 with `Location` and `ETag`.
pub(crate) async fn insert(
    State(app): State<App>,
    Extension(principal): Extension<Principal>,
    Path(name): Path<String>,
    JsonObject(record): JsonObject,
) -> Result<Response, ApiError> {
    let resource = app.resource(&principal, &name, Access::Write)?;
    if let Some(id) = record
        .get("id")
        .filter(|id| !id.is_string() && !id.is_null())
    {
        return Err(ApiError::bad_request(format!(
            "the body's id must be a string, got {id}"
        )));
    }
    let inserted = resource.insert(record).await?;
    let id = inserted
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let stored = resource.get(&id).await?;
    Ok(record_response(
        StatusCode::CREATED,
        stored,
        Some(app.location(&name, &id)),
    ))
}

/// The `If-Match` version of a conditional write.
fn if_match(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    match header_text(headers, header::IF_MATCH)?.map(bare_tag) {
        Some("") => Err(ApiError::bad_request(
            "If-Match needs an entity tag: the ETag of the record as read",
        )),
        tag => Ok(tag.map(str::to_owned)),
    }
}

/// Refuses a body whose `id` differs from the path's.
fn same_id(record: &mut Record, id: &str) -> Result<(), ApiError> {
    match record.shift_remove("id") {
        None => Ok(()),
        Some(Value::String(body_id)) if body_id == id => Ok(()),
        Some(other) => Err(ApiError::bad_request(format!(
            "the body's id {other} differs from the path's id {id:?}"
        ))),
    }
}

/// `PUT /{resource}/{id}`: replace, or create (201). `If-Match` makes it conditional;
/// `If-None-Match: *` only creates.
pub(crate) async fn replace(
    State(app): State<App>,
    Extension(principal): Extension<Principal>,
    Path((name, id)): Path<(String, String)>,
    headers: HeaderMap,
    JsonObject(mut record): JsonObject,
) -> Result<Response, ApiError> {
    let resource = app.resource(&principal, &name, Access::Write)?;
    // Internal fields a client sends back from a read (`_etag`, …) are dropped by the core.
    same_id(&mut record, &id)?;
    let created = if let Some(version) = if_match(&headers)? {
        resource.replace_if(&id, record, &version).await?;
        false
    } else if header_text(&headers, header::IF_NONE_MATCH)?.is_some_and(|t| t.trim() == "*") {
        record.insert("id".into(), Value::String(id.clone()));
        resource.insert(record).await.map_err(|e| match e {
            Error::AlreadyExists { .. } => ApiError::new(
                StatusCode::PRECONDITION_FAILED,
                "AlreadyExists",
                format!("{e} (If-None-Match: *)"),
            ),
            other => other.into(),
        })?;
        true
    } else {
        let existed = resource.exists(&id).await?;
        resource.replace(&id, record).await?;
        !existed
    };
    let stored = resource.get(&id).await?;
    let (status, location) = match created {
        true => (StatusCode::CREATED, Some(app.location(&name, &id))),
        false => (StatusCode::OK, None),
    };
    Ok(record_response(status, stored, location))
}

/// `PATCH /{resource}/{id}`: merge the given fields; `If-Match` makes it conditional.
pub(crate) async fn patch(
    State(app): State<App>,
    Extension(principal): Extension<Principal>,
    Path((name, id)): Path<(String, String)>,
    headers: HeaderMap,
    JsonObject(mut changes): JsonObject,
) -> Result<Response, ApiError> {
    let resource = app.resource(&principal, &name, Access::Write)?;
    same_id(&mut changes, &id)?;
    match if_match(&headers)? {
        Some(version) => resource.patch_if(&id, changes, &version).await?,
        None => resource.patch(&id, changes).await?,
    };
    let stored = resource.get(&id).await?;
    Ok(record_response(StatusCode::OK, stored, None))
}

/// `DELETE /{resource}/{id}`: 204; `If-Match` makes it conditional.
pub(crate) async fn delete(
    State(app): State<App>,
    Extension(principal): Extension<Principal>,
    Path((name, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let resource = app.resource(&principal, &name, Access::Write)?;
    match if_match(&headers)? {
        Some(version) => resource.delete_if(&id, &version).await?,
        None => {
            // A delete of a missing record is a 404, not a silent success.
            if !resource.exists(&id).await? {
                return Err(Error::NotFound { resource: name, id }.into());
            }
            resource.delete(&id).await?
        }
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The body of `POST /{resource}/query`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QueryBody {
    #[serde(default)]
    filter: Map<String, Value>,
    #[serde(default)]
    limit: Option<usize>,
    #[serde(default)]
    offset: Option<usize>,
    #[serde(default)]
    fields: Option<Vec<String>>,
}

/// `POST /{resource}/query`: `{filter, limit, offset, fields}`.
pub(crate) async fn query(
    State(app): State<App>,
    Extension(principal): Extension<Principal>,
    Path(name): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    let resource = app.resource(&principal, &name, Access::Read)?;
    let body: QueryBody = serde_json::from_value(Value::Object(body))
        .map_err(|e| ApiError::bad_request(format!("invalid query body: {e}")))?;
    let limit = body.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "limit must be from 1 to {MAX_LIMIT}"
        )));
    }
    let options = QueryOptions {
        limit: Some(limit),
        offset: body.offset.unwrap_or(0),
        ..QueryOptions::scanning()
    };
    let fields = body.fields.map(|f| f.into_iter().collect::<BTreeSet<_>>());
    let items: Vec<Value> = resource
        .query(&Value::Object(body.filter), &options)
        .await?
        .into_iter()
        .map(|r| Value::Object(project(r, fields.as_ref())))
        .collect();
    let count = items.len();
    Ok(axum::Json(json!({
        "success": true,
        "data": items,
        "pagination": {"pageSize": limit, "offset": options.offset, "hasMore": count == limit},
    }))
    .into_response())
}

/// `GET /{resource}/count`: all records, a partition's, or those matching filters.
pub(crate) async fn count(
    State(app): State<App>,
    Extension(principal): Extension<Principal>,
    Path(name): Path<String>,
    params: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let resource = app.resource(&principal, &name, Access::Read)?;
    let listing = Listing::parse(&resource, params, false)?;
    let count = if listing.filter.is_empty() {
        resource.count_by(&listing.list_request()).await?
    } else {
        resource
            .query(&listing.query_filter(), &QueryOptions::scanning())
            .await?
            .len()
    };
    Ok(axum::Json(json!({"success": true, "data": {"count": count}})).into_response())
}
