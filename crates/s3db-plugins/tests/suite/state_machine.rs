//! State machine plugin: transitions are conditional writes; racing transitions from one
//! state, in one process and across processes on real S3 servers, have exactly one winner.

use crate::common::processes::{Worker, spawn};
use crate::common::{define, rec};

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use s3db_core::Database;
use s3db_plugins::Error;
use s3db_plugins::state_machine::{MachineConfig, StateMachinePlugin, TransitionError};
use s3db_storage::Storage;
use s3db_storage::layers::Metrics;
use s3db_storage::s3::S3Storage;
use s3db_storage::testing::{Server, fresh_bucket_on, s3_config_at};
use serde_json::{Value, json};

const PROCESSES: usize = 4;
const RECORDS: usize = 8;

fn machine() -> MachineConfig {
    MachineConfig::from_json(&json!({
        "resource": "orders", "stateField": "status", "initialState": "pending",
        "states": {
            "pending": {"on": {"PAY": "paid", "CANCEL": "cancelled"}},
            "paid": {"on": {"SHIP": "shipped"}, "guards": {"SHIP": "hasAddress"}, "entry": "countPaid"},
            "shipped": {"type": "final"},
            "cancelled": {"type": "final"}
        }
    }))
    .unwrap()
}

async fn install(db: &Database, paid: Arc<AtomicUsize>) -> Arc<StateMachinePlugin> {
    let plugin = StateMachinePlugin::builder()
        .machine(machine())
        .guard("hasAddress", |ctx| {
            Ok(ctx.record.get("address").is_some_and(|a| !a.is_null()))
        })
        .action("countPaid", move |_ctx| {
            let paid = Arc::clone(&paid);
            async move {
                paid.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        })
        .build()
        .unwrap();
    let plugin = Arc::new(plugin);
    db.use_plugin(plugin.clone()).await.unwrap();
    plugin
}

async fn orders(db: &Database) {
    define(
        db,
        json!({"name": "orders", "attributes": {"status": "string|optional", "address": "string|optional", "note": "string|optional"}}),
    )
    .await;
}

/// The state a losing transition found (a lost write, or the event no longer accepted);
/// `"pending"` (the state every race starts from) for any other error.
fn lost_to(error: &Error) -> &str {
    match error.transition() {
        Some(TransitionError::Conflict { found, .. }) => found,
        Some(TransitionError::InvalidEvent { state, .. }) => state,
        _ => "pending",
    }
}

#[tokio::test]
async fn transitions_guards_actions_history_and_refusals() {
    let db = crate::common::memory_db("state-machine").await;
    orders(&db).await;
    let paid = Arc::new(AtomicUsize::new(0));
    let plugin = install(&db, Arc::clone(&paid)).await;
    let mut events = plugin.subscribe();
    let orders = db.resource("orders").unwrap();
    let inserted = orders.insert(rec(json!({"id": "o1"}))).await.unwrap();
    assert_eq!(
        inserted["status"], "pending",
        "the initial state is set on insert"
    );

    // Only a transition changes the state.
    let direct = orders.patch("o1", rec(json!({"status": "shipped"}))).await;
    assert!(
        direct
            .unwrap_err()
            .to_string()
            .contains("changes only by a transition")
    );
    let replaced = orders
        .replace("o1", rec(json!({"status": "pending"})))
        .await;
    assert!(
        replaced.is_err(),
        "replace of a managed resource is refused"
    );
    let wrong_start = orders
        .insert(rec(json!({"id": "o2", "status": "paid"})))
        .await;
    assert!(wrong_start.is_err());
    orders
        .patch("o1", rec(json!({"note": "other fields are free"})))
        .await
        .unwrap();

    let invalid = plugin
        .send("orders", "o1", "SHIP", Value::Null)
        .await
        .unwrap_err();
    assert!(
        matches!(invalid.transition(), Some(TransitionError::InvalidEvent { state, .. }) if state == "pending"),
        "{invalid}"
    );
    let done = plugin
        .send("orders", "o1", "PAY", json!({"by": "card"}))
        .await
        .unwrap();
    assert_eq!(
        (done.from_state.as_str(), done.to_state.as_str()),
        ("pending", "paid")
    );
    assert_eq!(
        events.recv().await.unwrap(),
        done,
        "the transition is broadcast"
    );
    assert_eq!(paid.load(Ordering::SeqCst), 1, "the entry action ran");

    let guarded = plugin
        .send("orders", "o1", "SHIP", Value::Null)
        .await
        .unwrap_err();
    assert!(
        matches!(guarded.transition(), Some(TransitionError::GuardRejected { guard, .. }) if guard == "hasAddress"),
        "{guarded}"
    );
    orders
        .patch("o1", rec(json!({"address": "Rua A"})))
        .await
        .unwrap();
    plugin
        .send("orders", "o1", "SHIP", Value::Null)
        .await
        .unwrap();
    assert_eq!(plugin.state("orders", "o1").await.unwrap(), "shipped");
    let history = plugin.history("orders", "o1").await.unwrap();
    let steps: Vec<_> = history
        .iter()
        .map(|t| (t.event.as_str(), t.to_state.as_str()))
        .collect();
    assert_eq!(steps, [("PAY", "paid"), ("SHIP", "shipped")]);
    assert_eq!(history[0].context, json!({"by": "card"}));
}

#[tokio::test]
async fn racing_transitions_in_one_process_have_one_winner() {
    let db = crate::common::memory_db("state-machine-race").await;
    orders(&db).await;
    let plugin = install(&db, Arc::new(AtomicUsize::new(0))).await;
    db.resource("orders")
        .unwrap()
        .insert(rec(json!({"id": "o1"})))
        .await
        .unwrap();
    let attempts: Vec<_> = ["PAY", "CANCEL", "PAY", "CANCEL", "PAY", "CANCEL"]
        .into_iter()
        .map(|event| {
            let plugin = Arc::clone(&plugin);
            tokio::spawn(async move { plugin.send("orders", "o1", event, Value::Null).await })
        })
        .collect();
    let mut winners = Vec::new();
    for attempt in attempts {
        match attempt.await.unwrap() {
            Ok(done) => winners.push(done.to_state),
            Err(error) => assert_ne!(lost_to(&error), "pending", "{error}"),
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    assert_eq!(plugin.state("orders", "o1").await.unwrap(), winners[0]);
    assert_eq!(plugin.history("orders", "o1").await.unwrap().len(), 1);
}

#[tokio::test]
#[ignore = "a worker process of racing_transitions_across_processes_*"]
async fn transition_worker() {
    let Some(worker) = Worker::from_env() else {
        return;
    };
    let config = s3_config_at(worker.param("ENDPOINT").to_owned(), worker.param("BUCKET"));
    let storage: Arc<dyn Storage> = Arc::new(S3Storage::connect(&config).await.unwrap());
    let db = Database::builder(storage).open().await.unwrap();
    let plugin = install(&db, Arc::new(AtomicUsize::new(0))).await;
    let event = if worker.index % 2 == 0 {
        "PAY"
    } else {
        "CANCEL"
    };
    let (mut won, mut lost, mut unexpected) = (Vec::new(), 0, Vec::new());
    for n in 0..RECORDS {
        match plugin
            .send("orders", &format!("o{n}"), event, Value::Null)
            .await
        {
            Ok(_) => won.push(n),
            Err(error) if lost_to(&error) != "pending" => lost += 1,
            Err(other) => unexpected.push(other.to_string()),
        }
    }
    worker.report(&json!({"won": won, "lost": lost, "unexpected": unexpected}));
}

async fn racing_transitions_across_processes(server: Server) {
    let config = fresh_bucket_on(server).await.unwrap();
    let storage: Arc<dyn Storage> = Arc::new(S3Storage::connect(&config).await.unwrap());
    let db = Database::builder(storage).open().await.unwrap();
    orders(&db).await;
    let plugin = install(&db, Arc::new(AtomicUsize::new(0))).await;
    for n in 0..RECORDS {
        db.resource("orders")
            .unwrap()
            .insert(rec(json!({"id": format!("o{n}")})))
            .await
            .unwrap();
    }
    let params = [
        ("ENDPOINT", config.endpoint.clone().unwrap()),
        ("BUCKET", config.bucket.clone()),
    ];
    let results = spawn("state_machine::transition_worker", PROCESSES, &params).wait();
    let mut wins = vec![0; RECORDS];
    let mut lost = 0;
    for (ok, reports) in &results {
        assert!(ok, "a worker failed: {results:?}");
        assert_eq!(reports[0]["unexpected"], json!([]), "{}", server.name());
        lost += reports[0]["lost"].as_u64().unwrap();
        for n in reports[0]["won"].as_array().unwrap() {
            wins[usize::try_from(n.as_u64().unwrap()).unwrap()] += 1;
        }
    }
    // Exactly one winner per record; its state and a single history entry agree.
    assert_eq!(wins, vec![1; RECORDS], "{}", server.name());
    assert_eq!(lost, ((PROCESSES - 1) * RECORDS) as u64);
    for n in 0..RECORDS {
        let id = format!("o{n}");
        let history = plugin.history("orders", &id).await.unwrap();
        assert_eq!(history.len(), 1, "{id} on {}", server.name());
        assert_eq!(
            plugin.state("orders", &id).await.unwrap(),
            history[0].to_state
        );
    }
    println!(
        "state machine on {}: {PROCESSES} processes x {RECORDS} racing transitions, one winner each, {lost} typed losses",
        server.name()
    );
}

#[tokio::test]
async fn racing_transitions_across_processes_on_moto() {
    racing_transitions_across_processes(Server::Moto).await;
}

#[tokio::test]
async fn racing_transitions_across_processes_on_seaweedfs() {
    racing_transitions_across_processes(Server::SeaweedFs).await;
}

/// The requests one transition costs, counted by the metrics layer on moto.
#[tokio::test]
async fn requests_per_transition() {
    let config = fresh_bucket_on(Server::Moto).await.unwrap();
    let metrics = Metrics::new(S3Storage::connect(&config).await.unwrap());
    let recorder = metrics.recorder();
    let db = Database::builder(Arc::new(metrics)).open().await.unwrap();
    orders(&db).await;
    let plugin = install(&db, Arc::new(AtomicUsize::new(0))).await;
    db.resource("orders")
        .unwrap()
        .insert(rec(json!({"id": "o1"})))
        .await
        .unwrap();
    let before = recorder.snapshot();
    plugin
        .send("orders", "o1", "PAY", Value::Null)
        .await
        .unwrap();
    let after = recorder.snapshot();
    let (gets, puts) = (
        after.get.requests + after.head.requests - before.get.requests - before.head.requests,
        after.put.requests - before.put.requests,
    );
    println!(
        "transition: {} requests ({gets} GET/HEAD, {puts} PUT)",
        after.requests() - before.requests()
    );
    assert_eq!(puts, 2, "the conditional state write and the history entry");
    assert_eq!(
        gets, 2,
        "the read with its version, and patch_if's read of the record"
    );
    assert_eq!(after.requests() - before.requests(), gets + puts);
}
