//! Observable operations: each public operation's `DEBUG` span and closing event carry the
//! resource, operation, id or count, outcome, duration and the storage requests and bytes
//! it caused, the latter equal to what a request-counting layer saw for it, also when
//! operations run concurrently; each storage request has its `TRACE` event.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use s3db_core::{Database, ListRequest, OPERATION_TARGET, Record, ResourceConfig};
use s3db_storage::MemoryStorage;
use s3db_storage::layers::{MetricsSnapshot, Stack};
use serde_json::json;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record as SpanRecord};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

/// Field values as text.
type Fields = BTreeMap<String, String>;

#[derive(Default)]
struct FieldsVisitor(Fields);

impl Visit for FieldsVisitor {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(
            field.name().to_owned(),
            format!("{value:?}").replace('"', ""),
        );
    }
}

/// One captured event: its target, its fields, and the fields of its innermost span.
#[derive(Debug, Clone)]
struct Captured {
    target: String,
    fields: Fields,
    span: Fields,
}

/// A layer keeping every event with the fields of the span it happened in.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<Captured>>>);

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut visitor = FieldsVisitor::default();
        attrs.record(&mut visitor);
        ctx.span(id).unwrap().extensions_mut().insert(visitor.0);
    }

    fn on_record(&self, id: &Id, values: &SpanRecord<'_>, ctx: Context<'_, S>) {
        let span = ctx.span(id).unwrap();
        let mut extensions = span.extensions_mut();
        let fields = extensions.get_mut::<Fields>().unwrap();
        let mut visitor = FieldsVisitor(std::mem::take(fields));
        values.record(&mut visitor);
        *fields = visitor.0;
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut visitor = FieldsVisitor::default();
        event.record(&mut visitor);
        let span = ctx
            .event_span(event)
            .and_then(|span| span.extensions().get::<Fields>().cloned())
            .unwrap_or_default();
        self.0.lock().unwrap().push(Captured {
            target: event.metadata().target().to_owned(),
            fields: visitor.0,
            span,
        });
    }
}

impl Capture {
    /// Takes the closing events of the operations so far.
    fn operations(&self) -> Vec<Captured> {
        let mut all = self.0.lock().unwrap();
        let taken = std::mem::take(&mut *all);
        taken
            .into_iter()
            .filter(|c| c.target == OPERATION_TARGET)
            .collect()
    }

    /// Takes every event so far.
    fn all(&self) -> Vec<Captured> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

fn record(value: serde_json::Value) -> Record {
    value.as_object().cloned().unwrap()
}

fn requests(before: MetricsSnapshot, after: MetricsSnapshot) -> String {
    (after.requests() - before.requests()).to_string()
}

#[tokio::test]
async fn each_operation_reports_its_fields_and_the_requests_it_sent() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry().with(capture.clone().with_filter(
        tracing_subscriber::filter::Targets::new().with_target("s3db", tracing::Level::TRACE),
    ));
    let _guard = tracing::subscriber::set_default(subscriber);

    let stack = Stack::builder(Arc::new(MemoryStorage::new()))
        .metrics()
        .build();
    let counted = stack.metrics().unwrap().clone();
    let db = Database::builder(stack.storage()).open().await.unwrap();
    let users = db
        .create_resource(
            ResourceConfig::new("users")
                .attribute("name", "string")
                .attribute("team", "string|optional")
                .partition("byTeam", [("team", "string")]),
        )
        .await
        .unwrap();
    capture.all();

    // insert: the id it generated, the requests the metrics layer counted.
    let before = counted.snapshot();
    let inserted = users
        .insert(record(json!({"name": "Ana", "team": "red"})))
        .await
        .unwrap();
    let after = counted.snapshot();
    let ops = capture.operations();
    assert_eq!(ops.len(), 1, "{ops:?}");
    let insert = &ops[0];
    assert_eq!(insert.span["resource"], "users");
    assert_eq!(insert.span["operation"], "insert");
    assert_eq!(insert.span["id"], inserted["id"].as_str().unwrap());
    assert_eq!(insert.fields["outcome"], "ok");
    assert_eq!(insert.fields["requests"], requests(before, after));
    assert_eq!(
        insert.fields["bytes_written"],
        (after.bytes_written - before.bytes_written).to_string()
    );
    assert!(insert.fields.contains_key("duration_us"));
    let id = inserted["id"].as_str().unwrap().to_owned();

    // get, hit and miss.
    let before = counted.snapshot();
    users.get(&id).await.unwrap();
    assert!(users.get("nobody").await.is_err());
    let after = counted.snapshot();
    let ops = capture.operations();
    assert_eq!(ops.len(), 2, "{ops:?}");
    assert_eq!(
        (
            ops[0].span["operation"].as_str(),
            ops[0].span["id"].as_str()
        ),
        ("get", id.as_str())
    );
    assert_eq!(ops[0].fields["outcome"], "ok");
    assert_eq!(ops[0].fields["requests"], "1");
    assert_eq!(
        ops[0].fields["bytes_read"],
        (after.bytes_read - before.bytes_read).to_string()
    );
    assert_eq!(ops[1].fields["outcome"], "error");
    assert!(ops[1].fields["error"].contains("nobody"), "{:?}", ops[1]);

    // list: a count, and the requests of its record reads (spawned tasks) included.
    users
        .insert(record(json!({"id": "u2", "name": "Bo", "team": "blue"})))
        .await
        .unwrap();
    capture.all();
    let before = counted.snapshot();
    let listed = users.list(&ListRequest::all()).await.unwrap();
    let after = counted.snapshot();
    let ops = capture.operations();
    assert_eq!(ops.len(), 1, "{ops:?}");
    assert_eq!(ops[0].span["operation"], "list");
    assert_eq!(ops[0].fields["count"], listed.len().to_string());
    assert_eq!(ops[0].fields["requests"], requests(before, after));

    // upsert nests the operations it calls (with no hook watching, an existing id is
    // updated without an exists check); the outer one counts theirs too.
    let before = counted.snapshot();
    users
        .upsert(record(json!({"id": "u2", "name": "Bob"})))
        .await
        .unwrap();
    let after = counted.snapshot();
    let ops = capture.operations();
    let names: Vec<&str> = ops.iter().map(|c| c.span["operation"].as_str()).collect();
    assert_eq!(names, ["update", "upsert"]);
    assert_eq!(ops[1].fields["requests"], requests(before, after));

    // delete: the TRACE events of its storage requests, inside its span.
    users.delete("u2").await.unwrap();
    let events = capture.all();
    let storage: Vec<&Captured> = events
        .iter()
        .filter(|c| c.target == "s3db_storage::request")
        .collect();
    let closing = events
        .iter()
        .find(|c| c.target == OPERATION_TARGET)
        .unwrap();
    assert_eq!(closing.fields["requests"], storage.len().to_string());
    for request in &storage {
        assert_eq!(request.span["operation"], "delete");
        assert_eq!(request.fields["status"], "ok");
        for field in ["op", "key", "bytes", "keys", "duration_us"] {
            assert!(request.fields.contains_key(field), "{field}: {request:?}");
        }
    }
    assert!(
        storage
            .iter()
            .any(|r| r.fields["key"] == "resource=users/data/id=u2"),
        "{storage:?}"
    );
}

#[test]
fn concurrent_operations_count_only_their_own_requests() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry().with(capture.clone().with_filter(
        tracing_subscriber::filter::Targets::new().with_target("s3db_core", tracing::Level::DEBUG),
    ));
    let dispatch = tracing::Dispatch::new(subscriber);
    let on_worker = dispatch.clone();
    // Every worker thread of this runtime (and only those) reports to the capture.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .on_thread_start(move || std::mem::forget(tracing::dispatcher::set_default(&on_worker)))
        .enable_all()
        .build()
        .unwrap();
    let _guard = tracing::dispatcher::set_default(&dispatch);
    runtime.block_on(gets_in_parallel(capture));
}

async fn gets_in_parallel(capture: Capture) {
    let db = Database::builder(Arc::new(MemoryStorage::new()))
        .open()
        .await
        .unwrap();
    let notes = db
        .create_resource(ResourceConfig::new("notes").attribute("text", "string"))
        .await
        .unwrap();
    let ids: Vec<String> = (0..20).map(|i| format!("n{i}")).collect();
    for id in &ids {
        notes
            .insert(record(json!({"id": id, "text": "x".repeat(10)})))
            .await
            .unwrap();
    }
    capture.all();
    // Other tests of this binary register and drop their own subscribers meanwhile; have
    // tracing recompute which callsites are enabled with this test's subscriber alive.
    tracing::callsite::rebuild_interest_cache();
    let tasks: Vec<_> = ids
        .iter()
        .map(|id| {
            let (notes, id) = (notes.clone(), id.clone());
            tokio::spawn(async move { notes.get(&id).await.unwrap() })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let ops = capture.operations();
    assert_eq!(ops.len(), ids.len());
    let one_get = &ops[0].fields;
    for op in &ops {
        assert_eq!(op.span["operation"], "get");
        assert_eq!(op.fields["requests"], "1", "{op:?}");
        assert_eq!(op.fields["bytes_read"], one_get["bytes_read"], "{op:?}");
    }
}

/// A capture of every `s3db*` event at `TRACE`, installed for this thread.
fn capture_all() -> (Capture, tracing::subscriber::DefaultGuard) {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry().with(capture.clone().with_filter(
        tracing_subscriber::filter::Targets::new().with_target("s3db", tracing::Level::TRACE),
    ));
    (capture, tracing::subscriber::set_default(subscriber))
}

#[tokio::test]
async fn streams_report_their_items_and_requests_when_they_end() {
    use futures::StreamExt;

    let (capture, _guard) = capture_all();
    let stack = Stack::builder(Arc::new(MemoryStorage::new()))
        .metrics()
        .build();
    let counted = stack.metrics().unwrap().clone();
    let db = Database::builder(stack.storage()).open().await.unwrap();
    let notes = db
        .create_resource(ResourceConfig::new("notes").attribute("text", "string"))
        .await
        .unwrap();

    // write: the records written, its inserts nested inside it.
    capture.all();
    let before = counted.snapshot();
    let input = futures::stream::iter(
        ["a", "b", "c"].map(|id| record(json!({"id": id, "text": format!("note {id}")}))),
    );
    let report = notes.write(input, 2).await;
    let after = counted.snapshot();
    assert_eq!(report.written, 3);
    let ops = capture.operations();
    let names: Vec<&str> = ops.iter().map(|c| c.span["operation"].as_str()).collect();
    assert_eq!(names, ["insert", "insert", "insert", "write"]);
    let write = &ops[3];
    assert_eq!(write.span["resource"], "notes");
    assert_eq!(write.fields["outcome"], "ok");
    assert_eq!(write.fields["count"], "3");
    assert_eq!(write.fields["requests"], requests(before, after));

    // stream, read to the end: one event once it ends, its listing and record reads
    // (spawned tasks) counted, its storage requests inside its span.
    let before = counted.snapshot();
    let mut records = notes.stream(&ListRequest::all().concurrency(2)).unwrap();
    assert!(
        capture.operations().is_empty(),
        "no event before the stream ends"
    );
    let mut read = 0;
    while let Some(found) = records.next().await {
        found.unwrap();
        read += 1;
    }
    let after = counted.snapshot();
    assert_eq!(read, 3);
    let events = capture.all();
    let ops: Vec<&Captured> = events
        .iter()
        .filter(|c| c.target == OPERATION_TARGET)
        .collect();
    assert_eq!(ops.len(), 1, "one span, not one per record: {ops:?}");
    let stream = ops[0];
    assert_eq!(stream.span["resource"], "notes");
    assert_eq!(stream.span["operation"], "stream");
    assert_eq!(stream.fields["outcome"], "ok");
    assert_eq!(stream.fields["count"], "3");
    assert_eq!(stream.fields["requests"], requests(before, after));
    assert_eq!(stream.fields["requests"], "4", "one listing, three reads");
    assert_eq!(
        stream.fields["bytes_read"],
        (after.bytes_read - before.bytes_read).to_string()
    );
    let storage: Vec<&Captured> = events
        .iter()
        .filter(|c| c.target == "s3db_storage::request")
        .collect();
    assert_eq!(storage.len(), 4, "{storage:?}");
    assert!(storage.iter().all(|r| r.span["operation"] == "stream"));
    drop(records);
    assert!(capture.operations().is_empty(), "reported once");

    // idStream, dropped after one id: `dropped`, with the ids it delivered.
    let mut ids = notes.id_stream(&ListRequest::all()).unwrap();
    assert_eq!(ids.next().await.unwrap().unwrap(), "a");
    drop(ids);
    let ops = capture.operations();
    assert_eq!(ops.len(), 1, "{ops:?}");
    assert_eq!(ops[0].span["operation"], "idStream");
    assert_eq!(ops[0].fields["outcome"], "dropped");
    assert_eq!(ops[0].fields["count"], "1");
    assert_eq!(ops[0].fields["requests"], "1");
}

#[tokio::test]
async fn database_operations_report_their_fields() {
    let (capture, _guard) = capture_all();
    let stack = Stack::builder(Arc::new(MemoryStorage::new()))
        .metrics()
        .build();
    let counted = stack.metrics().unwrap().clone();

    // connect: no resource; its reload nested inside, reading s3db.json.
    let before = counted.snapshot();
    let db = Database::builder(stack.storage()).open().await.unwrap();
    let after = counted.snapshot();
    let ops = capture.operations();
    let names: Vec<&str> = ops.iter().map(|c| c.span["operation"].as_str()).collect();
    assert_eq!(names, ["reload", "connect"]);
    let connect = &ops[1];
    assert!(!connect.span.contains_key("resource"), "{connect:?}");
    assert_eq!(connect.fields["outcome"], "ok");
    assert_eq!(connect.fields["requests"], requests(before, after));

    // createResource: the resource named, the s3db.json write counted; an evolution of
    // its schema is another createResource.
    for attributes in [["text", "string"], ["title", "string|optional"]] {
        let before = counted.snapshot();
        let config = ResourceConfig::new("notes")
            .attribute("text", "string")
            .attribute(attributes[0], attributes[1]);
        db.create_resource(config).await.unwrap();
        let after = counted.snapshot();
        let ops = capture.operations();
        assert_eq!(ops.len(), 1, "{ops:?}");
        assert_eq!(ops[0].span["resource"], "notes");
        assert_eq!(ops[0].span["operation"], "createResource");
        assert_eq!(ops[0].fields["outcome"], "ok");
        assert_eq!(ops[0].fields["requests"], requests(before, after));
        assert!(ops[0].fields["bytes_written"] != "0", "{:?}", ops[0]);
    }

    // A definition refused: `error`, with the reason.
    let refused = db.create_resource(ResourceConfig::new("empty")).await;
    assert!(refused.is_err());
    let ops = capture.operations();
    assert_eq!(ops.len(), 1, "{ops:?}");
    assert_eq!(ops[0].span["resource"], "empty");
    assert_eq!(ops[0].fields["outcome"], "error");
    assert!(ops[0].fields["error"].contains("attribute"), "{:?}", ops[0]);

    // backup and restore: the records counted, the backup's stream nested inside it.
    let notes = db.resource("notes").unwrap();
    for id in ["a", "b"] {
        notes
            .insert(record(json!({"id": id, "text": "x"})))
            .await
            .unwrap();
    }
    capture.all();
    let dir = tempfile::tempdir().unwrap();
    let options = s3db_core::backup::BackupOptions::new().overwrite(true);
    s3db_core::backup::backup(&db, dir.path(), &options)
        .await
        .unwrap();
    let ops = capture.operations();
    let names: Vec<&str> = ops.iter().map(|c| c.span["operation"].as_str()).collect();
    assert_eq!(names, ["stream", "backup"]);
    assert_eq!(ops[1].fields["outcome"], "ok");
    assert_eq!(ops[1].fields["count"], "2");
    let restored =
        s3db_core::backup::restore(&db, dir.path(), &s3db_core::backup::RestoreOptions::new())
            .await
            .unwrap();
    assert_eq!(restored.restored(), 2);
    let ops = capture.operations();
    let restore = ops.last().unwrap();
    assert_eq!(restore.span["operation"], "restore");
    assert_eq!(restore.fields["outcome"], "ok");
    assert_eq!(restore.fields["count"], "2");
    assert!(restore.fields["requests"] != "0", "{restore:?}");
}
