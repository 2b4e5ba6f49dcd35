//! Replicator → HTTP targets, against a local server that records every request: the signed
//! webhook (bodies, signatures, a retry after a 500, array bodies when batched) and BigQuery
//! (the exact `tables.insert` and `insertAll` payloads; no BigQuery stand-in runs here, so
//! the requests are checked, not a real table).

use crate::common;

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use common::replication::{
    EVERY_KIND_CHANGES, Recorded, Recorder, every_kind_of_write, people, resource_rows,
};
use common::{fast_retry, insert_each, install_replicator, run_writes};
use s3db_core::extend::{Plugin, PluginContext};
use s3db_plugins::replicator::{
    BigQueryTarget, Replicator, Route, SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookTarget,
    verify_webhook_signature,
};
use serde_json::{Value, json};

const SECRET: &[u8] = b"webhook-test-secret";

/// Checks the request's signature twice: with the crate's verifier and by recomputing the
/// HMAC-SHA256 of `"{timestamp}.{body}"` here.
fn assert_signed(request: &Recorded) {
    let timestamp = request.header(TIMESTAMP_HEADER);
    let signature = request.header(SIGNATURE_HEADER);
    assert!(verify_webhook_signature(
        SECRET,
        timestamp,
        signature,
        &request.body,
        SystemTime::now(),
        Duration::from_secs(300)
    ));
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, SECRET);
    let message = [timestamp.as_bytes(), b".", &request.body].concat();
    let expected = format!(
        "v1={}",
        hex::encode(ring::hmac::sign(&key, &message).as_ref())
    );
    assert_eq!(signature, expected);
    assert_eq!(request.header("content-type"), "application/json");
    assert_eq!(request.method, "POST");
}

/// Applies webhook bodies (one change each) in order: the records left, by id, without id.
fn replay(changes: &[Value]) -> Vec<(String, Value)> {
    let mut state = BTreeMap::new();
    for change in changes {
        let id = change["id"].as_str().unwrap().to_owned();
        match change["op"].as_str().unwrap() {
            "upsert" => {
                let mut record = change["record"].as_object().unwrap().clone();
                assert_eq!(record.shift_remove("id").unwrap(), id.as_str());
                state.insert(id, Value::Object(record));
            }
            "delete" => {
                assert!(change.get("record").is_none());
                state.remove(&id);
            }
            other => panic!("unknown op {other}"),
        }
    }
    state.into_iter().collect()
}

#[tokio::test]
async fn each_change_is_one_signed_post_and_replaying_them_gives_the_resource() {
    let hook = Recorder::start("ok").await;
    let db = common::memory_db("hook-eq").await;
    let resource_name = common::unique("people");
    let replicator = install_replicator(
        &db,
        Replicator::builder().target(
            WebhookTarget::new(format!("{}/hook", hook.url), SECRET)
                .header("authorization", "Bearer receiver-token"),
            [Route::resource(resource_name.clone()).rename("people")],
        ),
    )
    .await;
    let people = people(&db, &resource_name).await;
    run_writes(&people, every_kind_of_write()).await;
    replicator.flush().await.unwrap();

    let requests = hook.requests();
    assert_eq!(requests.len() as u64, EVERY_KIND_CHANGES);
    for request in &requests {
        assert_signed(request);
        assert_eq!(request.path, "/hook");
        assert_eq!(request.header("authorization"), "Bearer receiver-token");
    }
    let bodies: Vec<Value> = requests.iter().map(Recorded::json).collect();
    let ops: Vec<(&str, &str)> = bodies
        .iter()
        .map(|b| (b["op"].as_str().unwrap(), b["id"].as_str().unwrap()))
        .collect();
    assert_eq!(
        ops,
        [
            ("upsert", "ana"),
            ("upsert", "bob"),
            ("upsert", "cid"),
            ("upsert", "dee"),
            ("upsert", "eve"),
            ("upsert", "ana"),
            ("upsert", "bob"),
            ("upsert", "cid"),
            ("upsert", "dee"),
            ("upsert", "fay"),
            ("delete", "eve"),
            ("delete", "dee"),
            ("delete", "missing"),
        ]
    );
    assert!(bodies.iter().all(|b| b["resource"] == "people"));
    assert_eq!(replay(&bodies), resource_rows(&db, &resource_name).await);
    let stats = replicator.stats();
    assert_eq!((stats.replicated, stats.failures), (EVERY_KIND_CHANGES, 0));
    db.disconnect().await.unwrap();
}

#[tokio::test]
async fn a_500_is_retried_with_the_same_body_signed_again() {
    let hook = Recorder::start("ok").await;
    hook.answer_next(500, "busy");
    let db = common::memory_db("hook-retry").await;
    let resource_name = common::unique("people");
    let replicator = install_replicator(
        &db,
        Replicator::builder()
            .target(WebhookTarget::new(&hook.url, SECRET), [Route::all()])
            .retry(fast_retry(3)),
    )
    .await;
    let people = people(&db, &resource_name).await;
    insert_each(&people, [json!({"id": "u1", "name": "Ana"})]).await;
    replicator.flush().await.unwrap();

    let requests = hook.requests();
    assert_eq!(requests.len(), 2);
    requests.iter().for_each(assert_signed);
    assert_eq!(requests[0].body, requests[1].body);
    assert_eq!(requests[1].json()["record"]["name"], "Ana");
    let stats = replicator.stats();
    assert_eq!(
        (stats.replicated, stats.failures, stats.dead_letters),
        (1, 1, 0),
        "{stats:?}"
    );

    // A receiver that keeps refusing: the change ends as a dead letter naming the status.
    for _ in 0..3 {
        hook.answer_next(403, "bad signature");
    }
    insert_each(&people, [json!({"id": "u2", "name": "Bob"})]).await;
    replicator.flush().await.unwrap();
    assert_eq!(hook.requests().len(), 5);
    let letters = replicator.dead_letters().await.unwrap();
    assert_eq!(letters.len(), 1);
    assert!(
        letters[0]
            .error
            .contains("HTTP 403 Forbidden: bad signature"),
        "{}",
        letters[0].error
    );
    db.disconnect().await.unwrap();
}

#[tokio::test]
async fn a_batched_webhook_posts_arrays_of_up_to_its_batch_size() {
    let hook = Recorder::start("ok").await;
    let db = common::memory_db("hook-batch").await;
    let resource_name = common::unique("people");
    let replicator = install_replicator(
        &db,
        Replicator::builder().target(
            WebhookTarget::new(&hook.url, SECRET).batch(10),
            [Route::all()],
        ),
    )
    .await;
    let people = people(&db, &resource_name).await;
    let ctx = PluginContext::new(&db, "replicator").unwrap();
    replicator.stop(&ctx).await.unwrap();
    insert_each(
        &people,
        (0..25).map(|i| json!({"id": format!("p{i:02}"), "name": format!("n{i}")})),
    )
    .await;
    replicator.start(&ctx).await.unwrap();
    replicator.flush().await.unwrap();
    // A change alone still comes as an array.
    people.delete("p00").await.unwrap();
    replicator.flush().await.unwrap();

    let requests = hook.requests();
    requests.iter().for_each(assert_signed);
    let sizes: Vec<usize> = requests
        .iter()
        .map(|r| r.json().as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [10, 10, 5, 1]);
    let changes: Vec<Value> = requests
        .iter()
        .flat_map(|r| r.json().as_array().unwrap().clone())
        .collect();
    let ids: Vec<&str> = changes.iter().map(|c| c["id"].as_str().unwrap()).collect();
    let mut expected: Vec<String> = (0..25).map(|i| format!("p{i:02}")).collect();
    expected.push("p00".into());
    assert_eq!(ids, expected);
    assert_eq!(replay(&changes), resource_rows(&db, &resource_name).await);
    let stats = replicator.stats();
    assert_eq!((stats.replicated, stats.batches), (26, 3), "{stats:?}");
    db.disconnect().await.unwrap();
}

const INSERT_ALL_OK: &str = r#"{"kind":"bigquery#tableDataInsertAllResponse"}"#;

/// The `insertAll` rows of a request: (op, id, data parsed, changed_at).
fn bigquery_rows(request: &Recorded) -> Vec<(String, String, Value, String)> {
    let body = request.json();
    assert_eq!(body["skipInvalidRows"], false);
    body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            let row = &row["json"];
            let data = match &row["data"] {
                Value::String(text) => serde_json::from_str(text).unwrap(),
                other => other.clone(),
            };
            (
                row["op"].as_str().unwrap().to_owned(),
                row["id"].as_str().unwrap().to_owned(),
                data,
                row["changed_at"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn bigquery_gets_one_table_creation_and_one_insert_all_per_batch() {
    let api = Recorder::start(INSERT_ALL_OK).await;
    let db = common::memory_db("bq").await;
    let resource_name = common::unique("people");
    let replicator = install_replicator(
        &db,
        Replicator::builder().target(
            BigQueryTarget::new("proj-1", "s3db_copy", "token-123".to_owned()).endpoint(&api.url),
            [Route::resource(resource_name.clone()).rename("people")],
        ),
    )
    .await;
    let people = people(&db, &resource_name).await;
    let ctx = PluginContext::new(&db, "replicator").unwrap();
    replicator.stop(&ctx).await.unwrap();
    run_writes(&people, every_kind_of_write()).await;
    replicator.start(&ctx).await.unwrap();
    replicator.flush().await.unwrap();

    let requests = api.requests();
    let paths: Vec<&str> = requests.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/bigquery/v2/projects/proj-1/datasets/s3db_copy/tables",
            "/bigquery/v2/projects/proj-1/datasets/s3db_copy/tables/people/insertAll",
        ]
    );
    for request in &requests {
        assert_eq!(request.method, "POST");
        assert_eq!(request.header("authorization"), "Bearer token-123");
    }
    assert_eq!(
        requests[0].json(),
        json!({
            "tableReference": {"projectId": "proj-1", "datasetId": "s3db_copy", "tableId": "people"},
            "schema": {"fields": [
                {"name": "id", "type": "STRING", "mode": "REQUIRED"},
                {"name": "op", "type": "STRING", "mode": "REQUIRED"},
                {"name": "data", "type": "JSON", "mode": "NULLABLE"},
                {"name": "changed_at", "type": "TIMESTAMP", "mode": "REQUIRED"},
            ]},
        })
    );
    // All 13 changes in one request, in write order, stamped in increasing order.
    let rows = bigquery_rows(&requests[1]);
    assert_eq!(rows.len() as u64, EVERY_KIND_CHANGES);
    let stamps: Vec<&String> = rows.iter().map(|r| &r.3).collect();
    assert!(stamps.windows(2).all(|w| w[0] < w[1]), "{stamps:?}");
    assert!(
        stamps.iter().all(|s| s.len() == 27 && s.ends_with('Z')),
        "{stamps:?}"
    );
    // The latest row of each id, as the documented query takes it, is the resource.
    let mut latest = BTreeMap::new();
    for (op, id, data, _) in &rows {
        latest.insert(id.clone(), (op.clone(), data.clone()));
    }
    let current: Vec<(String, Value)> = latest
        .into_iter()
        .filter(|(_, (op, _))| op == "upsert")
        .map(|(id, (_, data))| (id, data))
        .collect();
    assert_eq!(current, resource_rows(&db, &resource_name).await);
    assert!(
        rows.iter()
            .filter(|r| r.0 == "delete")
            .all(|r| r.2.is_null())
    );
    let stats = replicator.stats();
    assert_eq!((stats.replicated, stats.batches), (EVERY_KIND_CHANGES, 1));

    // Later changes: no second table creation.
    insert_each(&people, [json!({"id": "gus", "name": "Gus"})]).await;
    replicator.flush().await.unwrap();
    let requests = api.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(bigquery_rows(&requests[2])[0].1, "gus");
    db.disconnect().await.unwrap();
}

#[tokio::test]
async fn bigquery_insert_errors_fail_the_batch_and_rows_go_again_one_by_one() {
    let api = Recorder::start(INSERT_ALL_OK).await;
    // The table exists already; the first insertAll reports a refused row.
    api.answer_next(409, r#"{"error":{"code":409,"message":"Already Exists"}}"#);
    api.answer_next(
        200,
        r#"{"insertErrors":[{"index":1,"errors":[{"reason":"invalid","message":"no"}]}]}"#,
    );
    let db = common::memory_db("bq-errors").await;
    let resource_name = common::unique("people");
    let replicator = install_replicator(
        &db,
        Replicator::builder()
            .target(
                BigQueryTarget::new("p", "d", "t".to_owned())
                    .endpoint(&api.url)
                    .batch(3),
                [Route::resource(resource_name.clone()).rename("people")],
            )
            .retry(fast_retry(3)),
    )
    .await;
    let people = people(&db, &resource_name).await;
    let ctx = PluginContext::new(&db, "replicator").unwrap();
    replicator.stop(&ctx).await.unwrap();
    insert_each(
        &people,
        ["a", "b", "c"].map(|id| json!({"id": id, "name": id})),
    )
    .await;
    replicator.start(&ctx).await.unwrap();
    replicator.flush().await.unwrap();

    let requests = api.requests();
    let sizes: Vec<usize> = requests[1..]
        .iter()
        .map(|r| bigquery_rows(r).len())
        .collect();
    assert_eq!(
        requests[0].path,
        "/bigquery/v2/projects/p/datasets/d/tables"
    );
    assert_eq!(sizes, [3, 1, 1, 1]);
    let stats = replicator.stats();
    assert_eq!(
        (
            stats.replicated,
            stats.batch_failures,
            stats.failures,
            stats.dead_letters
        ),
        (3, 1, 0, 0),
        "{stats:?}"
    );
    db.disconnect().await.unwrap();
}
