//! Metrics plugin: operation counts and storage requests equal what the storage saw, an
//! application's recorder (given or global) receives them, latencies land in the right
//! buckets, and the Prometheus text parses back to the same numbers.

use crate::common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use common::{create, rec};
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use s3db_core::extend::HookPoint;
use s3db_core::{Database, ResourceConfig};
use s3db_plugins::clock::ManualClock;
use s3db_plugins::costs::CostsPlugin;
use s3db_plugins::metrics::{
    LATENCY_BUCKETS, MetricsPlugin, OPERATIONS_TOTAL, STORAGE_REQUESTS_TOTAL,
};
use s3db_storage::MemoryStorage;
use serde_json::json;

/// One sample of the exposition text: name, labels, value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// A strict-enough parser of the Prometheus text format: `# HELP`/`# TYPE` must come before
/// the samples of their family, label values are unescaped.
fn parse(text: &str) -> (Vec<Sample>, BTreeMap<String, String>) {
    let mut types = BTreeMap::new();
    let mut helps = BTreeMap::new();
    let mut samples = Vec::new();
    for line in text.lines() {
        // The exporter separates families with a blank line.
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap();
            assert!(!help.is_empty());
            helps.insert(name.to_owned(), help.to_owned());
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(helps.contains_key(name), "HELP before TYPE for {name}");
            types.insert(name.to_owned(), kind.to_owned());
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap();
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => (name, parse_labels(rest.strip_suffix('}').unwrap())),
            None => (series, BTreeMap::new()),
        };
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| {
                name.strip_suffix(suffix)
                    .filter(|base| types.get(*base).map(String::as_str) == Some("histogram"))
            })
            .unwrap_or(name);
        assert!(types.contains_key(family), "sample {name} before its TYPE");
        let value = match value {
            "+Inf" => f64::INFINITY,
            v => v.parse().unwrap(),
        };
        samples.push(Sample {
            name: name.to_owned(),
            labels,
            value,
        });
    }
    (samples, types)
}

fn parse_labels(text: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut chars = text.chars().peekable();
    while chars.peek().is_some() {
        let name: String = chars.by_ref().take_while(|c| *c != '=').collect();
        assert_eq!(chars.next(), Some('"'));
        let mut value = String::new();
        loop {
            match chars.next().unwrap() {
                '\\' => match chars.next().unwrap() {
                    'n' => value.push('\n'),
                    c => value.push(c),
                },
                '"' => break,
                c => value.push(c),
            }
        }
        labels.insert(name, value);
        if chars.peek() == Some(&',') {
            chars.next();
        }
    }
    labels
}

fn find<'a>(samples: &'a [Sample], name: &str, labels: &[(&str, &str)]) -> Vec<&'a Sample> {
    samples
        .iter()
        .filter(|s| s.name == name)
        .filter(|s| {
            labels
                .iter()
                .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .collect()
}

/// The counters of `snapshotter`, by (name, resource, operation, outcome).
fn counters(snapshotter: &Snapshotter) -> BTreeMap<(String, String, String, String), u64> {
    let label = |key: &metrics::Key, name: &str| {
        key.labels()
            .find(|l| l.key() == name)
            .map(|l| l.value().to_owned())
            .unwrap_or_default()
    };
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .filter_map(|(key, _, _, value)| match value {
            DebugValue::Counter(n) => {
                let key = key.key();
                Some((
                    (
                        key.name().to_owned(),
                        label(key, "resource"),
                        label(key, "operation"),
                        label(key, "outcome"),
                    ),
                    n,
                ))
            }
            _ => None,
        })
        .collect()
}

/// The value of counter `name` for `resource`, `operation` and `outcome` (0 if absent).
fn counter(
    all: &BTreeMap<(String, String, String, String), u64>,
    name: &str,
    resource: &str,
    operation: &str,
    outcome: &str,
) -> u64 {
    let key = (
        name.into(),
        resource.into(),
        operation.into(),
        outcome.into(),
    );
    all.get(&key).copied().unwrap_or(0)
}

#[tokio::test]
async fn operation_counts_equal_the_requests_the_storage_saw() {
    let (storage, costs) = CostsPlugin::wrap(Arc::new(MemoryStorage::new()));
    let db = Database::builder(storage).open().await.unwrap();
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let metrics = MetricsPlugin::with_recorder(Arc::new(recorder));
    db.use_plugin(Arc::new(costs.clone())).await.unwrap();
    db.use_plugin(Arc::new(metrics.clone())).await.unwrap();
    let users = create(
        &db,
        ResourceConfig::new("users").attribute("name", "string"),
    )
    .await;
    let storage_saw = || costs.report().resources["users"];

    // Each phase uses one kind of request only: inserts PUT, gets GET, exists HEAD.
    let start = storage_saw();
    for i in 0..5 {
        users
            .insert(rec(json!({"id": format!("u{i}"), "name": "x"})))
            .await
            .unwrap();
    }
    let inserted = storage_saw();
    for id in ["u0", "u1", "u2", "missing"] {
        let _ = users.get(id).await;
    }
    let fetched = storage_saw();
    for id in ["u0", "missing", "u4"] {
        users.exists(id).await.unwrap();
    }
    let checked = storage_saw();

    let all = counters(&snapshotter);
    let calls = |op, outcome| counter(&all, OPERATIONS_TOTAL, "users", op, outcome);
    let requests = |op, outcome| counter(&all, STORAGE_REQUESTS_TOTAL, "users", op, outcome);
    assert_eq!(calls("insert", "ok"), inserted.put - start.put);
    assert_eq!(calls("insert", "error"), 0);
    assert_eq!(requests("insert", "ok"), inserted.requests - start.requests);
    assert_eq!(
        calls("get", "ok") + calls("get", "error"),
        fetched.get - inserted.get
    );
    assert_eq!(calls("get", "error"), fetched.errors - inserted.errors);
    assert_eq!(calls("get", "error"), 1);
    assert_eq!(
        requests("get", "ok") + requests("get", "error"),
        fetched.requests - inserted.requests
    );
    // A miss is a successful `exists` (false); its HEAD failed with 404.
    assert_eq!(
        (calls("exists", "ok"), checked.errors - fetched.errors),
        (3, 1)
    );
    assert_eq!(requests("exists", "ok"), checked.head - fetched.head);
    // Nothing else was called.
    let called: std::collections::BTreeSet<&str> = all
        .keys()
        .filter(|(name, ..)| name == OPERATIONS_TOTAL)
        .map(|(_, _, operation, _)| operation.as_str())
        .collect();
    assert_eq!(
        called.into_iter().collect::<Vec<_>>(),
        ["exists", "get", "insert"]
    );
}

#[tokio::test]
async fn an_application_recorder_installed_globally_sees_our_metrics() {
    // The only test of this binary that installs a global recorder.
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::set_global_recorder(recorder).unwrap();
    let db = Database::connect("memory://metrics-global").await.unwrap();
    db.use_plugin(Arc::new(MetricsPlugin::new())).await.unwrap();
    let jobs = create(
        &db,
        ResourceConfig::new("global_jobs").attribute("x", "string"),
    )
    .await;
    jobs.insert(rec(json!({"id": "j1", "x": "1"})))
        .await
        .unwrap();
    jobs.get("j1").await.unwrap();
    let all = counters(&snapshotter);
    assert_eq!(
        counter(&all, OPERATIONS_TOTAL, "global_jobs", "insert", "ok"),
        1
    );
    assert_eq!(
        counter(&all, OPERATIONS_TOTAL, "global_jobs", "get", "ok"),
        1
    );
    assert_eq!(
        counter(&all, STORAGE_REQUESTS_TOTAL, "global_jobs", "get", "ok"),
        1
    );
}

#[tokio::test]
async fn latencies_land_in_their_buckets_and_the_text_parses_back() {
    let clock = ManualClock::at_millis(0);
    let db = Database::connect("memory://metrics-latency").await.unwrap();
    let metrics = MetricsPlugin::prometheus().with_clock(Arc::new(clock.clone()));
    db.use_plugin(Arc::new(metrics.clone())).await.unwrap();
    let notes = create(
        &db,
        ResourceConfig::new("notes").attribute("text", "string"),
    )
    .await;
    // Each get "takes" 30 ms, each insert 2 s.
    for (point, takes) in [
        (HookPoint::BeforeGet, Duration::from_millis(30)),
        (HookPoint::BeforeInsert, Duration::from_secs(2)),
    ] {
        let tick = clock.clone();
        notes.hooks().register(point, move |_ctx, data| {
            tick.advance(takes);
            async move { Ok(data) }
        });
    }
    notes
        .insert(rec(json!({"id": "n1", "text": "a"})))
        .await
        .unwrap();
    notes.get("n1").await.unwrap();
    notes.get("n1").await.unwrap();
    assert!(notes.get("n2").await.is_err());
    assert_eq!(notes.count().await.unwrap(), 1);

    let (samples, types) = parse(&metrics.render().unwrap());
    assert_eq!(types["s3db_operations_total"], "counter");
    assert_eq!(types["s3db_operation_storage_requests_total"], "counter");
    assert_eq!(types["s3db_operation_duration_seconds"], "histogram");

    let get = [
        ("resource", "notes"),
        ("operation", "get"),
        ("outcome", "ok"),
    ];
    let total = find(&samples, "s3db_operations_total", &get);
    assert_eq!(total.len(), 1);
    assert_eq!(total[0].value, 2.0);
    let failed = [
        ("resource", "notes"),
        ("operation", "get"),
        ("outcome", "error"),
    ];
    assert_eq!(
        find(&samples, "s3db_operations_total", &failed)[0].value,
        1.0
    );
    let buckets = find(&samples, "s3db_operation_duration_seconds_bucket", &get);
    assert_eq!(buckets.len(), LATENCY_BUCKETS.len() + 1);
    let at = |le: f64| {
        buckets
            .iter()
            .find(|s| s.labels["le"].parse::<f64>().unwrap() == le)
            .map(|s| s.value)
            .unwrap()
    };
    assert_eq!((at(0.025), at(0.05), at(f64::INFINITY)), (0.0, 2.0, 2.0));
    let sum = find(&samples, "s3db_operation_duration_seconds_sum", &get)[0].value;
    assert!((sum - 0.06).abs() < 1e-9, "{sum}");
    assert_eq!(
        find(&samples, "s3db_operation_duration_seconds_count", &get)[0].value,
        2.0
    );

    let insert = [("resource", "notes"), ("operation", "insert")];
    let buckets = find(&samples, "s3db_operation_duration_seconds_bucket", &insert);
    let slow: Vec<(f64, f64)> = buckets
        .iter()
        .map(|s| (s.labels["le"].parse().unwrap(), s.value))
        .filter(|(_, v)| *v > 0.0)
        .collect();
    assert_eq!(slow, [(2.5, 1.0), (5.0, 1.0), (f64::INFINITY, 1.0)]);

    // Buckets are cumulative in every series, and +Inf equals _count.
    for series in find(&samples, "s3db_operations_total", &[]) {
        let labels: Vec<(&str, &str)> = series
            .labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let values: Vec<f64> = find(&samples, "s3db_operation_duration_seconds_bucket", &labels)
            .iter()
            .map(|s| s.value)
            .collect();
        assert!(values.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(values.last(), Some(&series.value));
    }
    assert_eq!(
        find(&samples, "s3db_operations_total", &[("operation", "count")])[0].value,
        1.0
    );
}

#[tokio::test]
async fn resources_defined_before_the_plugin_are_measured_too() {
    let db = Database::connect("memory://metrics-existing")
        .await
        .unwrap();
    let early = create(&db, ResourceConfig::new("early").attribute("x", "string")).await;
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let metrics = MetricsPlugin::with_recorder(Arc::new(recorder));
    db.use_plugin(Arc::new(metrics.clone())).await.unwrap();
    early.insert(rec(json!({"x": "1"}))).await.unwrap();
    let all = counters(&snapshotter);
    assert_eq!(counter(&all, OPERATIONS_TOTAL, "early", "insert", "ok"), 1);
}

#[cfg(feature = "metrics-http")]
mod http {
    use super::*;
    use s3db_plugins::metrics::MetricsServer;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn request(addr: std::net::SocketAddr, head: &str) -> String {
        let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
        conn.write_all(head.as_bytes()).await.unwrap();
        let mut response = String::new();
        conn.read_to_string(&mut response).await.unwrap();
        response
    }

    #[tokio::test]
    async fn the_endpoint_serves_the_same_text_on_the_configured_address() {
        let db = Database::connect("memory://metrics-http").await.unwrap();
        let metrics = MetricsPlugin::prometheus();
        db.use_plugin(Arc::new(metrics.clone())).await.unwrap();
        let notes = create(
            &db,
            ResourceConfig::new("notes").attribute("text", "string"),
        )
        .await;
        notes.insert(rec(json!({"text": "a"}))).await.unwrap();

        // A free port, then the server on exactly that address.
        let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = free.local_addr().unwrap();
        drop(free);
        let handle = metrics.prometheus_handle().unwrap().clone();
        let server = MetricsServer::bind(handle, addr).await.unwrap();
        assert_eq!(server.local_addr(), addr);
        let response = request(
            server.local_addr(),
            "GET /metrics?x=1 HTTP/1.1\r\nHost: localhost\r\n\r\n",
        )
        .await;
        let (head, body) = response.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(head.contains("Content-Type: text/plain; version=0.0.4"));
        assert!(head.contains(&format!("Content-Length: {}", body.len())));
        // The exporter may order the families differently from one rendering to the next.
        let sorted_lines = |text: &str| {
            let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
            lines.sort();
            lines
        };
        assert_eq!(sorted_lines(body), sorted_lines(&metrics.render().unwrap()));
        let (samples, _) = parse(body);
        let inserts = find(
            &samples,
            "s3db_operations_total",
            &[
                ("resource", "notes"),
                ("operation", "insert"),
                ("outcome", "ok"),
            ],
        );
        assert_eq!(inserts[0].value, 1.0);

        let missing = request(server.local_addr(), "GET / HTTP/1.1\r\n\r\n").await;
        assert!(missing.starts_with("HTTP/1.1 404 Not Found"));
        let post = request(server.local_addr(), "POST /metrics HTTP/1.1\r\n\r\n").await;
        assert!(post.starts_with("HTTP/1.1 405 Method Not Allowed"));

        let addr = server.local_addr();
        server.shutdown();
        tokio::task::yield_now().await;
        // The listener is gone once the server task is aborted.
        let mut refused = false;
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(addr).await.is_err() {
                refused = true;
                break;
            }
            tokio::task::yield_now().await;
        }
        assert!(refused);
    }
}
