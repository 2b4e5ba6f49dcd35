//! Queue consumer against real brokers (moto's SQS API, a RabbitMQ node) and the replicator's
//! SQS target read back from moto.
//!
//! moto: the shared test server (`S3DB_TEST_S3_ENDPOINT`, else started once per process); it
//! serves SQS on the S3 port. RabbitMQ: `S3DB_TEST_AMQP_URL` (CI's `.ci/run` starts one and
//! exports it), or else a node these tests start with `.ci/start-rabbitmq.sh` (left running
//! for the next run; stop it with `.ci/stop-rabbitmq.sh`). Without a server the tests fail,
//! they never skip.
//!
//! moto serves one request at a time, so the SQS sources here never long-poll (wait time 0).

use crate::common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use common::processes::{Worker, spawn};
use common::{rec, unique};
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Connection, ConnectionProperties};
use s3db_core::extend::{HookPoint, Payload};
use s3db_core::{Database, ResourceConfig};
use s3db_plugins::queue_consumer::{AmqpSource, QueueConsumer, QueueConsumerStats, SqsSource};
use s3db_plugins::replicator::{Replicator, Route, SqsTarget};
use s3db_storage::testing::{self, Server};
use s3db_storage::{S3Config, S3Storage, Storage};
use serde_json::{Value, json};

const DEFAULT_AMQP_PORT: u16 = 25680;

// ---------------------------------------------------------------------------------------
// Brokers

/// The shared RabbitMQ node's URL.
fn amqp_url() -> String {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| match std::env::var("S3DB_TEST_AMQP_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => {
            let port = std::env::var("S3DB_TEST_AMQP_PORT")
                .ok()
                .and_then(|p| p.parse().ok())
                .unwrap_or(DEFAULT_AMQP_PORT);
            eprintln!("S3DB_TEST_AMQP_URL is not set: starting a node with .ci/start-rabbitmq.sh");
            let script =
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.ci/start-rabbitmq.sh");
            let output = Command::new("bash")
                .arg(script)
                .arg(port.to_string())
                .stdin(Stdio::null())
                .stderr(Stdio::inherit())
                .output()
                .unwrap_or_else(|e| panic!("cannot run .ci/start-rabbitmq.sh: {e}"));
            assert!(
                output.status.success(),
                "no RabbitMQ server: .ci/start-rabbitmq.sh {port} failed ({}); set \
                 S3DB_TEST_AMQP_URL to a running broker",
                output.status
            );
            String::from_utf8_lossy(&output.stdout)
                .lines()
                .last()
                .expect(".ci/start-rabbitmq.sh printed no URL")
                .to_owned()
        }
    })
    .clone()
}

/// The moto endpoint's AWS settings (static test credentials, us-east-1).
fn moto_settings(endpoint: &str) -> S3Config {
    S3Config {
        region: Some("us-east-1".into()),
        ..testing::s3_config_at(endpoint.to_owned(), "unused")
    }
}

/// A queue on one of the brokers.
#[derive(Clone)]
enum Queue {
    Sqs {
        client: aws_sdk_sqs::Client,
        url: String,
    },
    Amqp {
        url: String,
        name: String,
    },
}

impl Queue {
    /// A new SQS queue on moto (`name` ending in `.fifo` makes a FIFO queue).
    async fn sqs(endpoint: &str, name: &str) -> Queue {
        let client = s3db_plugins::sqs::client(&moto_settings(endpoint))
            .await
            .unwrap();
        let mut create = client.create_queue().queue_name(name);
        if name.ends_with(".fifo") {
            create = create.attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true");
        }
        let url = create.send().await.unwrap().queue_url().unwrap().to_owned();
        Queue::Sqs { client, url }
    }

    /// A new durable queue on the RabbitMQ node.
    async fn amqp(name: &str) -> Queue {
        let url = amqp_url();
        let connection = Connection::connect(&url, ConnectionProperties::default())
            .await
            .unwrap();
        let channel = connection.create_channel().await.unwrap();
        let options = QueueDeclareOptions {
            durable: true,
            ..QueueDeclareOptions::default()
        };
        channel
            .queue_declare(name.into(), options, FieldTable::default())
            .await
            .unwrap();
        connection.close(200, "declared".into()).await.unwrap();
        Queue::Amqp {
            url,
            name: name.to_owned(),
        }
    }

    /// Sends `bodies` (SQS: in batches of ten; RabbitMQ: persistent, confirmed).
    async fn publish(&self, bodies: &[String]) {
        match self {
            Queue::Sqs { client, url } => {
                for (n, chunk) in bodies.chunks(10).enumerate() {
                    let entries = chunk.iter().enumerate().map(|(i, body)| {
                        aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                            .id(format!("{n}-{i}"))
                            .message_body(body)
                            .build()
                            .unwrap()
                    });
                    let sent = client
                        .send_message_batch()
                        .queue_url(url)
                        .set_entries(Some(entries.collect()))
                        .send()
                        .await
                        .unwrap();
                    assert!(sent.failed().is_empty(), "{:?}", sent.failed());
                }
            }
            Queue::Amqp { url, name } => {
                let connection = Connection::connect(url, ConnectionProperties::default())
                    .await
                    .unwrap();
                let channel = connection.create_channel().await.unwrap();
                channel
                    .confirm_select(ConfirmSelectOptions::default())
                    .await
                    .unwrap();
                for body in bodies {
                    let confirm = channel
                        .basic_publish(
                            "".into(),
                            name.as_str().into(),
                            BasicPublishOptions::default(),
                            body.as_bytes(),
                            BasicProperties::default().with_delivery_mode(2),
                        )
                        .await
                        .unwrap()
                        .await
                        .unwrap();
                    assert!(confirm.is_ack());
                }
                connection.close(200, "published".into()).await.unwrap();
            }
        }
    }

    /// Messages left in the queue, counted by receiving them (SQS: visible ones; RabbitMQ:
    /// ready ones).
    async fn remaining(&self) -> usize {
        match self {
            Queue::Sqs { client, url } => {
                let attributes = client
                    .get_queue_attributes()
                    .queue_url(url)
                    .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
                    .send()
                    .await
                    .unwrap();
                let count = |name| {
                    attributes
                        .attributes()
                        .and_then(|a| a.get(&name))
                        .and_then(|v| v.parse::<usize>().ok())
                        .unwrap_or_default()
                };
                count(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
                    + count(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            }
            Queue::Amqp { url, name } => {
                let connection = Connection::connect(url, ConnectionProperties::default())
                    .await
                    .unwrap();
                let channel = connection.create_channel().await.unwrap();
                let options = QueueDeclareOptions {
                    passive: true,
                    ..QueueDeclareOptions::default()
                };
                let queue = channel
                    .queue_declare(name.as_str().into(), options, FieldTable::default())
                    .await
                    .unwrap();
                connection.close(200, "counted".into()).await.unwrap();
                queue.message_count() as usize
            }
        }
    }

    /// A consumer of this queue into `resources`, retrying a failed write quickly.
    fn consumer(&self, resources: &[&str], max_attempts: u32) -> QueueConsumer {
        let builder = QueueConsumer::builder().max_attempts(max_attempts);
        let builder = match self {
            Queue::Sqs { client, url } => builder.source(
                SqsSource::new(client.clone(), url)
                    .wait_time(Duration::ZERO)
                    .poll_interval(Duration::from_millis(50))
                    .visibility_timeout(Duration::from_secs(2))
                    .retry_delay(Duration::ZERO),
                resources.iter().copied(),
            ),
            Queue::Amqp { url, name } => {
                builder.source(AmqpSource::new(url, name), resources.iter().copied())
            }
        };
        builder.build().unwrap()
    }

    /// `(broker, url, queue)` for a worker process.
    fn params(&self) -> Vec<(&'static str, String)> {
        match self {
            Queue::Sqs { url, .. } => vec![("BROKER", "sqs".into()), ("QUEUE", url.clone())],
            Queue::Amqp { url, name } => {
                vec![
                    ("BROKER", "amqp".into()),
                    ("AMQP_URL", url.clone()),
                    ("QUEUE", name.clone()),
                ]
            }
        }
    }

    /// The queue a worker was given.
    async fn from_worker(worker: &Worker) -> Queue {
        match worker.param("BROKER") {
            "sqs" => Queue::Sqs {
                client: s3db_plugins::sqs::client(&moto_settings(worker.param("MOTO")))
                    .await
                    .unwrap(),
                url: worker.param("QUEUE").to_owned(),
            },
            _ => Queue::Amqp {
                url: worker.param("AMQP_URL").to_owned(),
                name: worker.param("QUEUE").to_owned(),
            },
        }
    }
}

// ---------------------------------------------------------------------------------------
// Helpers

/// A database on `bucket` of the moto server at `endpoint`.
async fn moto_db(endpoint: &str, bucket: &str) -> Database {
    let storage: Arc<dyn Storage> = Arc::new(
        S3Storage::connect(&testing::s3_config_at(endpoint.to_owned(), bucket))
            .await
            .unwrap(),
    );
    Database::builder(storage).open().await.unwrap()
}

/// `items`: `n` a required number.
async fn define_items(db: &Database) {
    db.create_resource(ResourceConfig::new("items").attribute("n", "number|required"))
        .await
        .unwrap();
}

/// Polls `done` every 50 ms for up to `limit`; panics naming `what` on timeout.
async fn wait_until<F, Fut>(what: &str, limit: Duration, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !done().await {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every `items` record as id → n.
async fn items(db: &Database) -> BTreeMap<String, Value> {
    db.resource("items")
        .unwrap()
        .get_all()
        .await
        .unwrap()
        .into_iter()
        .map(|record| {
            (
                record["id"].as_str().unwrap().to_owned(),
                record["n"].clone(),
            )
        })
        .collect()
}

fn message(action: &str, data: Value) -> String {
    json!({"resource": "items", "action": action, "data": data}).to_string()
}

// ---------------------------------------------------------------------------------------
// Messages become records; failed writes come back, then are dead-lettered

async fn messages_become_records(queue: Queue) {
    let db = Database::connect(&common::memory_url("qc-records"))
        .await
        .unwrap();
    define_items(&db).await;
    let mut bodies: Vec<String> = (0..20)
        .map(|i| message("insert", json!({"id": format!("i{i:02}"), "n": i})))
        .collect();
    bodies.extend([
        message("update", json!({"id": "i00", "n": 100})),
        message("upsert", json!({"id": "u1", "n": 7})),
        message("delete", json!({"id": "i19"})),
        // A redelivered insert (same values): already done, acknowledged.
        message("insert", json!({"id": "i01", "n": 1})),
        // A delete of a missing record: already done.
        message("delete", json!({"id": "never"})),
        // Breaks the schema on every attempt: retried, then dead-lettered.
        message("insert", json!({"id": "bad", "n": "not a number"})),
        // Not understood at all: dead-lettered at once.
        "{not json".to_owned(),
    ]);
    queue.publish(&bodies).await;
    let consumer = Arc::new(queue.consumer(&["items"], 3));
    db.use_plugin(consumer.clone()).await.unwrap();
    wait_until("every message settled", Duration::from_secs(60), || {
        let consumer = consumer.clone();
        async move {
            let stats = consumer.stats();
            stats.applied + stats.duplicates + stats.dead_lettered == 27
        }
    })
    .await;
    db.disconnect().await.unwrap();

    let stats = consumer.stats();
    assert_eq!(
        stats,
        QueueConsumerStats {
            received: 29,
            applied: 23,
            duplicates: 2,
            retried: 2,
            dead_lettered: 2,
            source_errors: 0,
        }
    );
    let mut expected: BTreeMap<String, Value> =
        (0..19).map(|i| (format!("i{i:02}"), json!(i))).collect();
    expected.insert("i00".into(), json!(100));
    expected.insert("u1".into(), json!(7));
    assert_eq!(items(&db).await, expected);

    let letters = consumer.dead_letters().await.unwrap();
    assert_eq!(letters.len(), 2, "{letters:?}");
    let bad = letters.iter().find(|l| l.body.contains("\"bad\"")).unwrap();
    assert_eq!(bad.attempts, 3, "dead-lettered on the third delivery");
    assert!(bad.error.contains('n'), "{}", bad.error);
    let garbled = letters.iter().find(|l| l.body == "{not json").unwrap();
    assert_eq!(garbled.attempts, 1);
    assert!(garbled.error.contains("not JSON"), "{}", garbled.error);
    assert_eq!(queue.remaining().await, 0, "every message acknowledged");
    eprintln!("queue consumer: {stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqs_messages_become_records_and_failed_writes_are_dead_lettered() {
    let endpoint = testing::endpoint(Server::Moto).unwrap();
    messages_become_records(Queue::sqs(&endpoint, &unique("qc-records")).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rabbitmq_messages_become_records_and_failed_writes_are_dead_lettered() {
    messages_become_records(Queue::amqp(&unique("qc-records")).await).await;
}

// ---------------------------------------------------------------------------------------
// A consumer killed mid-message loses nothing

/// Records written.
const KILL_MESSAGES: usize = 60;

async fn killed_consumer_loses_nothing(queue: Queue, endpoint: &str) {
    let bucket = testing::fresh_bucket_on(Server::Moto).await.unwrap().bucket;
    let db = moto_db(endpoint, &bucket).await;
    define_items(&db).await;
    let bodies: Vec<String> = (0..KILL_MESSAGES)
        .map(|i| message("insert", json!({"id": format!("m{i:03}"), "n": i})))
        .collect();
    queue.publish(&bodies).await;

    let dir = tempfile::tempdir().unwrap();
    let stalled = dir.path().join("stalled");
    let mut params = queue.params();
    params.extend([
        ("MOTO", endpoint.to_owned()),
        ("BUCKET", bucket.clone()),
        ("STALLED", stalled.display().to_string()),
        ("TOTAL", KILL_MESSAGES.to_string()),
    ]);
    let mut workers = spawn("queue_consumer::consumer_worker", 3, &params);
    // Worker 0 stops inside its first write; kill it there.
    wait_until(
        "worker 0 stalled mid-write",
        Duration::from_secs(120),
        || {
            let stalled = stalled.clone();
            async move { stalled.exists() }
        },
    )
    .await;
    workers.children()[0].kill().unwrap();
    let results = workers.wait();
    assert!(!results[0].0, "worker 0 was killed");
    let mut totals = QueueConsumerStats::default();
    for (ok, reports) in &results[1..] {
        assert!(ok, "surviving workers finish");
        let stats: QueueConsumerStats = serde_json::from_value(reports[0].clone()).unwrap();
        totals.received += stats.received;
        totals.applied += stats.applied;
        totals.duplicates += stats.duplicates;
        totals.retried += stats.retried;
        totals.dead_lettered += stats.dead_lettered;
    }
    let expected: BTreeMap<String, Value> = (0..KILL_MESSAGES)
        .map(|i| (format!("m{i:03}"), json!(i)))
        .collect();
    let stored = items(&db).await;
    assert_eq!(
        stored.len(),
        KILL_MESSAGES,
        "lost: {:?}",
        expected
            .keys()
            .filter(|k| !stored.contains_key(*k))
            .collect::<Vec<_>>()
    );
    assert_eq!(stored, expected);
    // The message worker 0 died writing was delivered again and written by a survivor.
    let stalled_id: Value =
        serde_json::from_str(&std::fs::read_to_string(&stalled).unwrap()).unwrap();
    assert!(
        stored.contains_key(stalled_id.as_str().unwrap()),
        "{stalled_id}"
    );
    assert_eq!(totals.dead_lettered, 0);
    // Worker 0 wrote nothing (it stalled in its first write), and an insert succeeds once
    // per id: the survivors wrote each record exactly once; a message delivered twice
    // (worker 0's batch, or a visibility timeout passing under load) counts as a duplicate.
    assert_eq!(totals.applied, KILL_MESSAGES as u64, "{totals:?}");
    assert_eq!(
        totals.received,
        totals.applied + totals.duplicates,
        "{totals:?}"
    );
    wait_until("queue drained", Duration::from_secs(30), || {
        let queue = queue.clone();
        async move { queue.remaining().await == 0 }
    })
    .await;
    eprintln!(
        "killed consumer: 3 processes, {KILL_MESSAGES} messages, survivors {totals:?}, lost 0"
    );
}

#[test]
#[ignore = "a worker process of the killed-consumer tests"]
fn consumer_worker() {
    let Some(worker) = Worker::from_env() else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let total: usize = worker.param("TOTAL").parse().unwrap();
        let db = moto_db(worker.param("MOTO"), worker.param("BUCKET")).await;
        if worker.index == 0 {
            // Stall inside the first write, after telling the parent so.
            let marker = PathBuf::from(worker.param("STALLED"));
            let first = Arc::new(AtomicBool::new(true));
            db.resource("items").unwrap().hooks().register(
                HookPoint::BeforeInsert,
                move |_, mut data: Payload| {
                    let marker = marker.clone();
                    let first = first.swap(false, Ordering::SeqCst);
                    async move {
                        if first {
                            let id = data
                                .record_mut()
                                .and_then(|r| r.get("id").cloned())
                                .unwrap_or_default();
                            std::fs::write(&marker, id.to_string()).unwrap();
                            std::future::pending::<()>().await;
                        }
                        Ok(data)
                    }
                },
            );
        }
        let queue = Queue::from_worker(&worker).await;
        let consumer = Arc::new(queue.consumer(&["items"], 5));
        db.use_plugin(consumer.clone()).await.unwrap();
        // Until every record is there (another process may write the last ones).
        let resource = db.resource("items").unwrap();
        loop {
            if resource.count().await.unwrap() >= total {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        db.disconnect().await.unwrap();
        worker.report(&serde_json::to_value(consumer.stats()).unwrap());
    });
}

#[test]
fn sqs_consumer_killed_mid_message_loses_nothing() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let endpoint = testing::endpoint(Server::Moto).unwrap();
        let queue = Queue::sqs(&endpoint, &unique("qc-kill")).await;
        killed_consumer_loses_nothing(queue, &endpoint).await;
    });
}

#[test]
fn rabbitmq_consumer_killed_mid_message_loses_nothing() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let endpoint = testing::endpoint(Server::Moto).unwrap();
        let queue = Queue::amqp(&unique("qc-kill")).await;
        killed_consumer_loses_nothing(queue, &endpoint).await;
    });
}

// ---------------------------------------------------------------------------------------
// SqsTarget: changes read back from moto

/// Every message of the queue at `url` (body, message group id), receiving until empty.
async fn drain(client: &aws_sdk_sqs::Client, url: &str) -> Vec<(Value, Option<String>)> {
    let mut messages = Vec::new();
    loop {
        let received = client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .message_system_attribute_names(
                aws_sdk_sqs::types::MessageSystemAttributeName::MessageGroupId,
            )
            .send()
            .await
            .unwrap();
        if received.messages().is_empty() {
            return messages;
        }
        for message in received.messages() {
            let group = message
                .attributes()
                .and_then(|a| {
                    a.get(&aws_sdk_sqs::types::MessageSystemAttributeName::MessageGroupId)
                })
                .cloned();
            messages.push((
                serde_json::from_str(message.body().unwrap()).unwrap(),
                group,
            ));
            client
                .delete_message()
                .queue_url(url)
                .receipt_handle(message.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqs_target_sends_changes_that_read_back_from_moto() {
    let endpoint = testing::endpoint(Server::Moto).unwrap();
    let Queue::Sqs {
        client,
        url: standard,
    } = Queue::sqs(&endpoint, &unique("replica")).await
    else {
        unreachable!()
    };
    let Queue::Sqs { url: fifo, .. } =
        Queue::sqs(&endpoint, &format!("{}.fifo", unique("orders"))).await
    else {
        unreachable!()
    };
    let db = Database::connect(&common::memory_url("sqs-target"))
        .await
        .unwrap();
    let replicator = Arc::new(
        Replicator::builder()
            .target(
                SqsTarget::new(client.clone(), &standard).queue_for("orders", &fifo),
                [Route::all()],
            )
            .build()
            .unwrap(),
    );
    db.use_plugin(replicator.clone()).await.unwrap();
    define_items(&db).await;
    let items_resource = db.resource("items").unwrap();
    let records: Vec<_> = (0..25)
        .map(|i| rec(json!({"id": format!("i{i:02}"), "n": i})))
        .collect();
    for record in records {
        items_resource.insert(record).await.unwrap();
    }
    items_resource
        .update("i00", rec(json!({"n": 100})))
        .await
        .unwrap();
    items_resource.delete("i24").await.unwrap();
    let orders = db
        .create_resource(ResourceConfig::new("orders").attribute("status", "string"))
        .await
        .unwrap();
    orders
        .insert(rec(json!({"id": "o1", "status": "new"})))
        .await
        .unwrap();
    for status in ["paid", "shipped", "delivered"] {
        orders
            .update("o1", rec(json!({"status": status})))
            .await
            .unwrap();
    }
    replicator.flush().await.unwrap();
    assert_eq!(replicator.stats().replicated, 31);

    // The standard queue: one message per items change, in s3db.js's shape.
    let messages = drain(&client, &standard).await;
    assert_eq!(messages.len(), 27);
    let mut last: BTreeMap<String, Value> = BTreeMap::new();
    for (body, group) in &messages {
        assert_eq!(group, &None);
        assert_eq!(body["resource"], "items");
        assert_eq!(body["source"], "s3db-replicator");
        let id = body["id"].as_str().unwrap().to_owned();
        assert_eq!(body["data"]["id"], id.as_str());
        last.insert(id, body.clone());
    }
    assert_eq!(last.len(), 25);
    assert_eq!(last["i24"]["action"], "delete");
    assert_eq!(last["i24"]["data"], json!({"id": "i24"}));
    assert_eq!(last["i03"]["action"], "upsert");
    assert_eq!(last["i03"]["data"]["n"], 3);
    let updates: Vec<&Value> = messages
        .iter()
        .map(|(b, _)| b)
        .filter(|b| b["id"] == "i00")
        .collect();
    assert_eq!(updates.len(), 2);
    assert!(updates.iter().any(|b| b["data"]["n"] == 100));

    // The FIFO queue: the order's changes in write order, in the record's message group.
    let orders_messages = drain(&client, &fifo).await;
    let statuses: Vec<&Value> = orders_messages
        .iter()
        .map(|(b, _)| &b["data"]["status"])
        .collect();
    assert_eq!(statuses, ["new", "paid", "shipped", "delivered"]);
    assert!(
        orders_messages
            .iter()
            .all(|(_, group)| group.as_deref() == Some("orders:o1"))
    );
    db.disconnect().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqs_target_feeds_the_queue_consumer_of_another_database() {
    let endpoint = testing::endpoint(Server::Moto).unwrap();
    let queue = Queue::sqs(&endpoint, &unique("bridge")).await;
    let Queue::Sqs { client, url } = &queue else {
        unreachable!()
    };
    let source = Database::connect(&common::memory_url("bridge-source"))
        .await
        .unwrap();
    let replicator = Arc::new(
        Replicator::builder()
            .target(SqsTarget::new(client.clone(), url), [Route::all()])
            .build()
            .unwrap(),
    );
    source.use_plugin(replicator.clone()).await.unwrap();
    define_items(&source).await;
    let mirror = Database::connect(&common::memory_url("bridge-mirror"))
        .await
        .unwrap();
    define_items(&mirror).await;
    let consumer = Arc::new(queue.consumer(&["items"], 3));
    mirror.use_plugin(consumer.clone()).await.unwrap();

    let resource = source.resource("items").unwrap();
    for i in 0..12 {
        resource
            .insert(rec(json!({"id": format!("b{i:02}"), "n": i})))
            .await
            .unwrap();
    }
    resource.update("b00", rec(json!({"n": 50}))).await.unwrap();
    resource.delete("b11").await.unwrap();
    replicator.flush().await.unwrap();
    let expected = items(&source).await;
    wait_until("the mirror caught up", Duration::from_secs(60), || {
        let mirror = mirror.clone();
        let expected = expected.clone();
        async move { items(&mirror).await == expected }
    })
    .await;
    assert_eq!(consumer.stats().dead_lettered, 0);
    mirror.disconnect().await.unwrap();
    source.disconnect().await.unwrap();
}
