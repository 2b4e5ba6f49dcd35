//! Helpers of the replicator target tests: the servers `.ci/` starts, the standard script
//! of writes, the resource's rows to compare a target with, and an HTTP server that records
//! the requests it gets.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use s3db_core::{Database, Resource};
use serde_json::{Value, json};

use super::{Write, define_timestamped};

/// A script in `.ci/`.
pub fn ci_script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../.ci")
        .join(name)
}

/// Runs `.ci/{script} {port}` (a start-*.sh script) and returns the URL it prints last;
/// panics naming `url_var` (the variable that would have named a running server) if it
/// fails.
pub fn start_server(script: &str, port: u16, url_var: &str) -> String {
    let output = Command::new("bash")
        .arg(ci_script(script))
        .arg(port.to_string())
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("cannot run .ci/{script}: {e}"));
    assert!(
        output.status.success(),
        "no server: .ci/{script} {port} failed ({}); set {url_var} to a running server",
        output.status
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout
        .lines()
        .last()
        .unwrap_or_else(|| panic!(".ci/{script} {port} printed no URL"))
        .to_owned()
}

/// The resource of the target tests: a few optional and nested attributes, timestamps on.
pub async fn people(db: &Database, name: &str) -> Resource {
    let attributes = json!({
        "name": "string|required",
        "age": "number|optional",
        "tags": "array|items:string|optional",
        "address": {"$$type": "object|optional", "city": "string|optional"}
    });
    define_timestamped(db, name, attributes).await
}

/// Changes [`every_kind_of_write`] makes (each insert, update, patch, replace, upsert and
/// delete is one, `delete_many` one per id).
pub const EVERY_KIND_CHANGES: u64 = 13;

/// Inserts, `insert_many`, update, patch, replace, upserts (existing and new), delete and
/// `delete_many` (with a missing id): ana, bob, cid and fay are left.
pub fn every_kind_of_write() -> Vec<Write> {
    vec![
        Write::Insert(json!({"id": "ana", "name": "Ana", "age": 31, "tags": ["a", "b"]})),
        Write::Insert(json!({"id": "bob", "name": "Bob", "address": {"city": "Porto"}})),
        Write::InsertMany(vec![
            json!({"id": "cid", "name": "Cid", "age": 7.5}),
            json!({"id": "dee", "name": "Dee"}),
            json!({"id": "eve", "name": "Eve"}),
        ]),
        Write::Update("ana", json!({"age": 32})),
        Write::Patch("bob", json!({"address": {"city": "Lisboa"}})),
        Write::Replace("cid", json!({"name": "Cid II"})),
        Write::Upsert(json!({"id": "dee", "tags": ["z"]})),
        Write::Upsert(json!({"id": "fay", "name": "Fay"})),
        Write::Delete("eve"),
        Write::DeleteMany(&["dee", "missing"]),
    ]
}

/// The resource's records as (id, record without id), by id.
pub async fn resource_rows(db: &Database, resource: &str) -> Vec<(String, Value)> {
    let mut rows: Vec<(String, Value)> = db
        .resource(resource)
        .unwrap()
        .get_all()
        .await
        .unwrap()
        .into_iter()
        .map(|mut record| {
            let id = record.shift_remove("id").unwrap();
            (id.as_str().unwrap().to_owned(), Value::Object(record))
        })
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    rows
}

/// One request a [`Recorder`] got.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: Method,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Recorded {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    /// A header's value (panics when missing).
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header in {self:?}"))
            .to_str()
            .unwrap()
    }
}

#[derive(Default)]
struct Shared {
    requests: Mutex<Vec<Recorded>>,
    /// Answers for the next requests, in order; then 200 with the default body.
    script: Mutex<VecDeque<(StatusCode, String)>>,
    default_body: String,
}

/// An HTTP server on 127.0.0.1 that records every request and answers 200 with a fixed
/// body, or what [`Recorder::answer_next`] scripted.
pub struct Recorder {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    shared: Arc<Shared>,
}

impl Recorder {
    /// Starts one answering 200 with `default_body`.
    pub async fn start(default_body: &str) -> Recorder {
        let shared = Arc::new(Shared {
            default_body: default_body.to_owned(),
            ..Shared::default()
        });
        let app = axum::Router::new()
            .fallback(record)
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Recorder { url, shared }
    }

    /// The next request (after those already scripted) gets this answer.
    pub fn answer_next(&self, status: u16, body: &str) {
        let status = StatusCode::from_u16(status).unwrap();
        self.shared
            .script
            .lock()
            .unwrap()
            .push_back((status, body.to_owned()));
    }

    /// The requests so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.requests.lock().unwrap().clone()
    }
}

async fn record(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    shared.requests.lock().unwrap().push(Recorded {
        method,
        path: uri.path().to_owned(),
        headers,
        body,
    });
    let scripted = shared.script.lock().unwrap().pop_front();
    scripted.unwrap_or_else(|| (StatusCode::OK, shared.default_body.clone()))
}
