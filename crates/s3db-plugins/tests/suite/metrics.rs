//! Metrics plugin: operation counts equal the requests the storage saw, latencies land in the
//! right buckets, and the Prometheus text parses back to the same numbers.

use crate::common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use common::{create, rec};
use s3db_core::extend::{HookPoint, Operation};
use s3db_core::{Database, ResourceConfig};
use s3db_plugins::clock::ManualClock;
use s3db_plugins::costs::CostsPlugin;
use s3db_plugins::metrics::{LATENCY_BUCKETS, MetricsPlugin};
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

#[tokio::test]
async fn operation_counts_equal_the_requests_the_storage_saw() {
    let (storage, costs) = CostsPlugin::wrap(Arc::new(MemoryStorage::new()));
    let db = Database::builder(storage).open().await.unwrap();
    let metrics = MetricsPlugin::new();
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

    let stats = |op| metrics.stats_of("users", op).unwrap();
    assert_eq!(stats(Operation::Insert).count, inserted.put - start.put);
    assert_eq!(stats(Operation::Insert).errors, 0);
    assert_eq!(stats(Operation::Get).count, fetched.get - inserted.get);
    assert_eq!(
        stats(Operation::Get).errors,
        fetched.errors - inserted.errors
    );
    assert_eq!(stats(Operation::Get).errors, 1);
    assert_eq!(stats(Operation::Exists).count, checked.head - fetched.head);
    assert_eq!(
        (
            stats(Operation::Exists).count,
            checked.errors - fetched.errors
        ),
        (3, 1)
    );
    // Nothing else was called.
    let called: Vec<&str> = metrics.stats().iter().map(|s| s.operation).collect();
    assert_eq!(called, ["exists", "get", "insert"]);
}

#[tokio::test]
async fn latencies_land_in_their_buckets_and_the_text_parses_back() {
    let clock = ManualClock::at_millis(0);
    let db = Database::connect("memory://metrics-latency").await.unwrap();
    let metrics = MetricsPlugin::with_clock(Arc::new(clock.clone()));
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

    let (samples, types) = parse(&metrics.render());
    assert_eq!(types["s3db_operations_total"], "counter");
    assert_eq!(types["s3db_operation_errors_total"], "counter");
    assert_eq!(types["s3db_operation_duration_seconds"], "histogram");

    let get = [("resource", "notes"), ("operation", "get")];
    let total = find(&samples, "s3db_operations_total", &get);
    assert_eq!(total.len(), 1);
    assert_eq!(total[0].value, 3.0);
    assert_eq!(
        find(&samples, "s3db_operation_errors_total", &get)[0].value,
        1.0
    );
    let buckets = find(&samples, "s3db_operation_duration_seconds_bucket", &get);
    assert_eq!(buckets.len(), LATENCY_BUCKETS.len() + 1);
    let at = |le: &str| {
        buckets
            .iter()
            .find(|s| s.labels["le"] == le)
            .map(|s| s.value)
            .unwrap()
    };
    assert_eq!((at("0.025"), at("0.05"), at("+Inf")), (0.0, 3.0, 3.0));
    let sum = find(&samples, "s3db_operation_duration_seconds_sum", &get)[0].value;
    assert!((sum - 0.09).abs() < 1e-9, "{sum}");
    assert_eq!(
        find(&samples, "s3db_operation_duration_seconds_count", &get)[0].value,
        3.0
    );

    let insert = [("resource", "notes"), ("operation", "insert")];
    let buckets = find(&samples, "s3db_operation_duration_seconds_bucket", &insert);
    let slow: Vec<(String, f64)> = buckets
        .iter()
        .map(|s| (s.labels["le"].clone(), s.value))
        .filter(|(_, v)| *v > 0.0)
        .collect();
    assert_eq!(
        slow,
        [
            ("2.5".to_owned(), 1.0),
            ("5".to_owned(), 1.0),
            ("+Inf".to_owned(), 1.0)
        ]
    );

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
    let metrics = MetricsPlugin::new();
    db.use_plugin(Arc::new(metrics.clone())).await.unwrap();
    early.insert(rec(json!({"x": "1"}))).await.unwrap();
    assert_eq!(
        metrics.stats_of("early", Operation::Insert).unwrap().count,
        1
    );
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
    async fn the_endpoint_serves_the_same_text_on_localhost() {
        let db = Database::connect("memory://metrics-http").await.unwrap();
        let metrics = MetricsPlugin::new();
        db.use_plugin(Arc::new(metrics.clone())).await.unwrap();
        let notes = create(
            &db,
            ResourceConfig::new("notes").attribute("text", "string"),
        )
        .await;
        notes.insert(rec(json!({"text": "a"}))).await.unwrap();

        let server = MetricsServer::bind(metrics.clone(), 0).await.unwrap();
        assert!(server.local_addr().ip().is_loopback());
        let response = request(
            server.local_addr(),
            "GET /metrics?x=1 HTTP/1.1\r\nHost: localhost\r\n\r\n",
        )
        .await;
        let (head, body) = response.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(head.contains("Content-Type: text/plain; version=0.0.4"));
        assert!(head.contains(&format!("Content-Length: {}", body.len())));
        assert_eq!(body, metrics.render());
        let (samples, _) = parse(body);
        let inserts = find(
            &samples,
            "s3db_operations_total",
            &[("resource", "notes"), ("operation", "insert")],
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
