//! OpenAPI 3.1 of the live resource definitions: a JSON Schema per resource from its
//! attribute rules, built on each request so it follows definition changes.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use s3db_core::schema::{
    ArrayRule, CustomKind, NumberKind, ObjectRule, Rule, RuleSpec, Schema, SchemaOptions,
    StringKind,
};
use serde_json::{Map, Value, json};

use crate::routes::{App, MAX_LIMIT};

/// `GET /openapi.json`.
pub(crate) async fn serve(State(app): State<App>) -> Response {
    axum::Json(document(&app)).into_response()
}

/// The JSON Schema of one rule (without presence: see [`spec_schema`]).
fn rule_schema(rule: &Rule) -> Value {
    match rule {
        Rule::Any(_) | Rule::Forbidden => json!({}),
        Rule::String { kind, checks } => {
            let mut s = json!({"type": "string"});
            let min = checks.length.or(checks.min);
            let max = checks.length.or(checks.max);
            if let Some(min) = min {
                s["minLength"] = json!(min);
            }
            if let Some(max) = max {
                s["maxLength"] = json!(max);
            }
            if let Some(values) = &checks.one_of {
                s["enum"] = json!(values);
            }
            match kind {
                StringKind::Ip4 => s["format"] = json!("ipv4"),
                StringKind::Ip6 => s["format"] = json!("ipv6"),
                _ => {}
            }
            s
        }
        Rule::Number { kind, checks } => {
            let mut s = json!({"type": if checks.integer { "integer" } else { "number" }});
            let (low, high) = match kind {
                NumberKind::GeoLat { .. } => (Some(-90.0), Some(90.0)),
                NumberKind::GeoLon { .. } => (Some(-180.0), Some(180.0)),
                NumberKind::Money { .. } | NumberKind::Crypto { .. } => (Some(0.0), None),
                _ => (None, None),
            };
            if let Some(min) = checks.min.or(low) {
                s["minimum"] = json!(min);
            }
            if let Some(max) = checks.max.or(high) {
                s["maximum"] = json!(max);
            }
            if checks.positive {
                s["exclusiveMinimum"] = json!(0);
            }
            if checks.negative {
                s["exclusiveMaximum"] = json!(0);
            }
            s
        }
        Rule::Boolean { .. } => json!({"type": "boolean"}),
        Rule::Email(e) => {
            let mut s = json!({"type": "string", "format": "email"});
            if let Some(max) = e.max {
                s["maxLength"] = json!(max);
            }
            s
        }
        Rule::Url { .. } => json!({"type": "string", "format": "uri"}),
        Rule::Uuid { .. } => json!({"type": "string", "format": "uuid"}),
        Rule::Date => json!({"type": "string", "format": "date-time"}),
        Rule::Enum { values } => json!({"enum": values}),
        Rule::Array(array) => array_schema(array, false),
        Rule::Embedding(array) => array_schema(array, true),
        Rule::Object(object) => object_schema(object),
        Rule::Custom(kind) => match kind {
            CustomKind::Json => json!({}),
            CustomKind::Duration => json!({"type": ["string", "number"]}),
            CustomKind::DateTime => json!({"type": ["string", "number"]}),
            CustomKind::Ean => json!({"type": ["string", "integer"]}),
            _ => json!({"type": "string"}),
        },
        Rule::Multi(alternatives) => {
            json!({"anyOf": alternatives.iter().map(|a| rule_schema(&a.rule)).collect::<Vec<_>>()})
        }
    }
}

fn array_schema(array: &ArrayRule, embedding: bool) -> Value {
    let mut s = json!({"type": "array"});
    match &array.items {
        Some(items) => s["items"] = spec_schema(items),
        None if embedding => s["items"] = json!({"type": "number"}),
        None => {}
    }
    let min = array
        .length
        .or(array.min)
        .or((array.non_empty || embedding).then_some(1));
    if let Some(min) = min {
        s["minItems"] = json!(min);
    }
    if let Some(max) = array.length.or(array.max) {
        s["maxItems"] = json!(max);
    }
    if array.unique {
        s["uniqueItems"] = json!(true);
    }
    s
}

fn object_schema(object: &ObjectRule) -> Value {
    let Some(props) = &object.props else {
        return json!({"type": "object"});
    };
    let mut properties = Map::new();
    let mut required = Vec::new();
    for (name, spec) in props {
        properties.insert(name.clone(), spec_schema(spec));
        if !spec.optional && spec.default.is_none() {
            required.push(name.clone());
        }
    }
    json!({"type": "object", "properties": properties, "required": required})
}

/// A rule with its presence modifiers: nullable (or optional, which accepts `null`) adds
/// `null`; a default is documented.
fn spec_schema(spec: &RuleSpec) -> Value {
    presence(
        rule_schema(&spec.rule),
        spec.optional || spec.nullable,
        spec.default.as_ref(),
    )
}

fn presence(schema: Value, nullable: bool, default: Option<&Value>) -> Value {
    let mut schema = match nullable {
        true => json!({"anyOf": [schema, {"type": "null"}]}),
        false => schema,
    };
    if let Some(default) = default {
        schema["default"] = default.clone();
    }
    schema
}

/// The JSON Schema of a record body of a resource (nested attributes as nested objects).
pub(crate) fn record_schema(attributes: &Map<String, Value>) -> Value {
    let (schema, _) = Schema::parse_lenient(attributes, SchemaOptions::default());
    let mut root = json!({"type": "object", "properties": {}, "required": []});
    for field in schema.fields() {
        if matches!(field.rule, Rule::Forbidden) {
            continue;
        }
        let mut node = &mut root;
        let mut segments = field.path.split('.').peekable();
        while let Some(segment) = segments.next() {
            if segments.peek().is_none() {
                node["properties"][segment] = presence(
                    rule_schema(&field.rule),
                    field.optional || field.nullable,
                    field.default.as_ref(),
                );
                if !field.optional
                    && field.default.is_none()
                    && let Some(required) = node["required"].as_array_mut()
                {
                    required.push(json!(segment));
                }
            } else {
                let child = &mut node["properties"][segment];
                if child.is_null() {
                    *child = json!({"type": "object", "properties": {}, "required": []});
                }
                node = child;
            }
        }
    }
    root["properties"]["id"] =
        json!({"anyOf": [{"type": "string", "minLength": 1}, {"type": "null"}]});
    root
}

/// The problem+json schema shared by every error response.
fn problem_schema() -> Value {
    json!({
        "type": "object",
        "required": ["type", "title", "status", "detail", "kind"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "kind": {"type": "string"},
            "requestId": {"type": "string"},
            "errors": {"type": "array", "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "rule": {"type": "string"}, "message": {"type": "string"}}
            }}
        }
    })
}

/// Error responses of the listed statuses.
fn errors(statuses: &[u16]) -> Map<String, Value> {
    statuses
        .iter()
        .map(|s| {
            (
                s.to_string(),
                json!({"description": "problem", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}),
            )
        })
        .collect()
}

fn with(mut responses: Map<String, Value>, status: &str, response: Value) -> Value {
    responses.insert(status.to_owned(), response);
    Value::Object(responses)
}

fn json_body(schema: Value) -> Value {
    json!({"required": true, "content": {"application/json": {"schema": schema}}})
}

fn record_envelope(reference: &str) -> Value {
    json!({"type": "object", "properties": {"success": {"type": "boolean"}, "data": {"allOf": [{"$ref": reference}, {"$ref": "#/components/schemas/RecordMeta"}]}}})
}

fn list_envelope(reference: &str) -> Value {
    json!({"type": "object", "properties": {
        "success": {"type": "boolean"},
        "data": {"type": "array", "items": {"$ref": reference}},
        "pagination": {"type": "object"}
    }})
}

fn response(description: &str, schema: Value, etag: bool) -> Value {
    let mut r =
        json!({"description": description, "content": {"application/json": {"schema": schema}}});
    if etag {
        r["headers"] = json!({"ETag": {"schema": {"type": "string"}}});
    }
    r
}

/// The operations of one resource.
fn resource_paths(paths: &mut Map<String, Value>, base: &str, name: &str, partitions: &[String]) {
    let record = format!("#/components/schemas/{name}");
    let stored = "#/components/schemas/StoredRecord";
    let read_errors = [400, 401, 403, 404, 429, 503];
    let write_errors = [400, 401, 403, 404, 409, 412, 413, 415, 422, 429, 503];
    // The characters `validate_id` refuses (plus `..`, which a pattern cannot say simply).
    let id_param = json!({"name": "id", "in": "path", "required": true,
        "schema": {"type": "string", "minLength": 1, "pattern": "^[^/\\\\=%\\u0000-\\u001f\\u007f-\\u009f]+$"}});
    let if_match = json!({"name": "If-Match", "in": "header", "required": false, "schema": {"type": "string", "minLength": 1}});
    let one = response("the record", record_envelope(stored), true);
    // Partition parameters only where the resource has partitions (an empty enum would be
    // a parameter nobody can send).
    let partition: Vec<Value> = match partitions.is_empty() {
        true => Vec::new(),
        false => vec![
            json!({"name": "partition", "in": "query", "schema": {"enum": partitions}}),
            json!({"name": "partitionValues", "in": "query", "description": "a JSON object", "schema": {"type": "string"}}),
        ],
    };
    let mut page = vec![
        json!({"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}}),
        json!({"name": "cursor", "in": "query", "schema": {"type": "string"}}),
        json!({"name": "fields", "in": "query", "schema": {"type": "string"}}),
    ];
    page.extend(partition.iter().cloned());
    paths.insert(
        format!("{base}/{name}"),
        json!({
            "get": {"operationId": format!("list_{name}"), "tags": [name], "parameters": page,
                "responses": with(errors(&read_errors), "200", response("a page of records", list_envelope(stored), false))},
            "post": {"operationId": format!("insert_{name}"), "tags": [name], "requestBody": json_body(json!({"$ref": record})),
                "responses": with(errors(&write_errors), "201", one.clone())},
        }),
    );
    paths.insert(
        format!("{base}/{name}/{{id}}"),
        json!({
            "get": {"operationId": format!("get_{name}"), "tags": [name],
                "parameters": [id_param, {"name": "fields", "in": "query", "schema": {"type": "string"}}],
                "responses": with(with(errors(&read_errors), "200", one.clone()).as_object().cloned().unwrap_or_default(), "304", json!({"description": "not modified"}))},
            "put": {"operationId": format!("replace_{name}"), "tags": [name], "parameters": [id_param, if_match],
                "requestBody": json_body(json!({"$ref": record})),
                "responses": with(with(errors(&write_errors), "200", one.clone()).as_object().cloned().unwrap_or_default(), "201", one.clone())},
            "patch": {"operationId": format!("update_{name}"), "tags": [name], "parameters": [id_param, if_match],
                "requestBody": json_body(json!({"type": "object"})),
                "responses": with(errors(&write_errors), "200", one)},
            "delete": {"operationId": format!("delete_{name}"), "tags": [name], "parameters": [id_param, if_match],
                "responses": with(errors(&write_errors), "204", json!({"description": "deleted"}))},
        }),
    );
    paths.insert(
        format!("{base}/{name}/query"),
        json!({"post": {"operationId": format!("query_{name}"), "tags": [name],
            "requestBody": json_body(json!({"type": "object", "additionalProperties": false, "properties": {
                "filter": {"type": "object"},
                "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
                "offset": {"type": "integer", "minimum": 0},
                "fields": {"type": ["array", "null"], "items": {"type": "string"}}
            }})),
            "responses": with(errors(&write_errors), "200", response("matching records", list_envelope(stored), false))}}),
    );
    paths.insert(
        format!("{base}/{name}/count"),
        json!({"get": {"operationId": format!("count_{name}"), "tags": [name], "parameters": partition,
            "responses": with(errors(&read_errors), "200", response("the count",
                json!({"type": "object", "properties": {"data": {"type": "object", "properties": {"count": {"type": "integer", "minimum": 0}}}}}), false))}}),
    );
}

/// The whole document.
pub(crate) fn document(app: &App) -> Value {
    let base = app.config.base_path.trim_end_matches('/');
    let mut paths = Map::new();
    let mut schemas = Map::new();
    schemas.insert("Problem".into(), problem_schema());
    schemas.insert(
        "StoredRecord".into(),
        json!({"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}}),
    );
    schemas.insert(
        "RecordMeta".into(),
        json!({"type": "object", "properties": {"_etag": {"type": "string"}, "_lastModified": {"type": "string"}}}),
    );
    let health = json!({"description": "ok", "content": {"application/json": {"schema": {"type": "object"}}}});
    paths.insert(
        format!("{base}/health"),
        json!({"get": {"operationId": "health", "responses": {"200": health}}}),
    );
    paths.insert(
        format!("{base}/ready"),
        json!({"get": {"operationId": "ready", "responses": with(errors(&[404, 503]), "200", health)}}),
    );
    let document = app.db.document();
    for name in app.db.list_resources() {
        let Ok(resource) = app.db.resource(&name) else {
            continue;
        };
        schemas.insert(name.clone(), record_schema(resource.attributes()));
        let partitions: Vec<String> = document
            .resources
            .get(&name)
            .and_then(|entry| entry.partitions.as_ref())
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default();
        resource_paths(&mut paths, base, &name, &partitions);
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "s3db REST API", "version": env!("CARGO_PKG_VERSION")},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                "basic": {"type": "http", "scheme": "basic"}
            }
        },
    })
}
