//! Audit plugin: the trail of a scripted sequence of writes equals the expected list, secrets
//! never appear in clear (neither in entries nor in any stored object), masking, queries.

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use common::{Write, create, rec, run_writes};
use s3db_core::extend::OperationContext;
use s3db_core::{Database, Record, Resource, ResourceConfig};
use s3db_plugins::audit::{AuditConfig, AuditEntry, AuditPlugin, DEFAULT_RESOURCE, MASK};
use s3db_plugins::clock::{ManualClock, iso};
use s3db_storage::{MemoryStorage, Storage, StorageExt};
use serde_json::{Value, json};

/// 2024-03-01T10:00:00Z.
const START_MILLIS: i64 = 1_709_287_200_000;

async fn setup(config: AuditConfig) -> (Database, AuditPlugin, ManualClock, Arc<MemoryStorage>) {
    let memory = Arc::new(MemoryStorage::new());
    let db = Database::builder(memory.clone()).open().await.unwrap();
    let clock = ManualClock::at_millis(START_MILLIS);
    let audit = AuditPlugin::with_clock(config, Arc::new(clock.clone()));
    db.use_plugin(Arc::new(audit.clone())).await.unwrap();
    (db, audit, clock, memory)
}

async fn users(db: &Database) -> Resource {
    create(
        db,
        ResourceConfig::new("users")
            .attribute("name", "string")
            .attribute("city", "string|optional"),
    )
    .await
}

/// (user, operation, record id, before, after) of an entry.
type Row = (Option<String>, String, String, Option<Value>, Option<Value>);

fn row(entry: &AuditEntry) -> Row {
    (
        entry.user.clone(),
        entry.operation.clone(),
        entry.record_id.clone(),
        entry.before.clone().map(Value::Object),
        entry.after.clone().map(Value::Object),
    )
}

/// The row `[user, operation, id, before, after]` describes (`null` for none).
fn expected(row: Value) -> Row {
    let [user, op, id, before, after] =
        <[Value; 5]>::try_from(row.as_array().unwrap().clone()).unwrap();
    let some = |v: Value| (!v.is_null()).then_some(v);
    (
        user.as_str().map(str::to_owned),
        op.as_str().unwrap().to_owned(),
        id.as_str().unwrap().to_owned(),
        some(before),
        some(after),
    )
}

#[tokio::test]
async fn the_trail_of_a_scripted_sequence_equals_the_expected_list() {
    let (db, audit, clock, _) = setup(AuditConfig::default()).await;
    let users = users(&db).await;
    let tick = || clock.advance(Duration::from_secs(1));
    let ana = || OperationContext::user("ana");
    let bob = || OperationContext::user("bob").with("request", "r-2");

    // `None`: without a context, so no user.
    let script = [
        (
            Some(ana()),
            Write::Insert(json!({"id": "u1", "name": "Ana"})),
        ),
        (
            Some(bob()),
            Write::Insert(json!({"id": "u2", "name": "Bob", "city": "Porto"})),
        ),
        (Some(ana()), Write::Update("u1", json!({"city": "Lisboa"}))),
        (Some(ana()), Write::Patch("u1", json!({"name": "Ana M."}))),
        (
            Some(bob()),
            Write::Replace("u2", json!({"name": "Roberto"})),
        ),
        (None, Write::Upsert(json!({"id": "u3", "name": "Cy"}))),
        (
            Some(ana()),
            Write::Upsert(json!({"id": "u3", "city": "Faro"})),
        ),
        (Some(bob()), Write::Delete("u2")),
        (
            Some(ana()),
            Write::InsertMany(vec![
                json!({"id": "u4", "name": "D"}),
                json!({"id": "u5", "name": "E"}),
            ]),
        ),
    ];
    for (context, write) in script {
        let write = run_writes(&users, [write]);
        match context {
            Some(context) => context.scope(write).await,
            None => write.await,
        }
        tick();
    }
    let ids = ["u4", "u5", "ghost"].map(String::from);
    assert_eq!(bob().scope(users.delete_many(&ids)).await.unwrap(), 2);
    // A failed write is not audited.
    assert!(
        users
            .update("ghost", rec(json!({"name": "x"})))
            .await
            .is_err()
    );

    let trail = audit.by_resource("users").await.unwrap();
    let mut rows: Vec<(String, Row)> = trail
        .iter()
        .map(|e| (e.timestamp.clone(), row(e)))
        .collect();
    // The trail is in time order; within one bulk call order by record id.
    assert!(rows.windows(2).all(|w| w[0].0 <= w[1].0));
    rows.sort_by(|a, b| (&a.0, &a.1.2).cmp(&(&b.0, &b.1.2)));
    let rows: Vec<Row> = rows.into_iter().map(|(_, r)| r).collect();

    let want = [
        json!(["ana", "insert", "u1", null, {"id": "u1", "name": "Ana"}]),
        json!(["bob", "insert", "u2", null, {"id": "u2", "name": "Bob", "city": "Porto"}]),
        json!(["ana", "update", "u1", {"id": "u1", "name": "Ana"}, {"id": "u1", "name": "Ana", "city": "Lisboa"}]),
        json!(["ana", "patch", "u1", {"id": "u1", "name": "Ana", "city": "Lisboa"}, {"id": "u1", "name": "Ana M.", "city": "Lisboa"}]),
        json!(["bob", "replace", "u2", {"id": "u2", "name": "Bob", "city": "Porto"}, {"id": "u2", "name": "Roberto"}]),
        json!([null, "insert", "u3", null, {"id": "u3", "name": "Cy"}]),
        json!(["ana", "update", "u3", {"id": "u3", "name": "Cy"}, {"id": "u3", "name": "Cy", "city": "Faro"}]),
        json!(["bob", "delete", "u2", {"id": "u2", "name": "Roberto"}, null]),
        json!(["ana", "insert", "u4", null, {"id": "u4", "name": "D"}]),
        json!(["ana", "insert", "u5", null, {"id": "u5", "name": "E"}]),
        json!(["bob", "deleteMany", "u4", {"id": "u4", "name": "D"}, null]),
        json!(["bob", "deleteMany", "u5", {"id": "u5", "name": "E"}, null]),
    ]
    .map(expected);
    assert_eq!(rows, want);

    // Timestamps come from the injected clock; metadata from the context.
    assert_eq!(trail[0].timestamp, "2024-03-01T10:00:00.000Z");
    assert_eq!(trail[1].timestamp, "2024-03-01T10:00:01.000Z");
    assert_eq!(trail[1].metadata["request"], "r-2");
    assert!(trail[0].metadata.is_empty());
    assert_eq!(audit.failures(), 0);

    // By record, and never the audit resource itself.
    let u1: Vec<String> = audit
        .by_record("users", "u1")
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.operation)
        .collect();
    assert_eq!(u1, ["insert", "update", "patch"]);
    assert!(
        audit
            .by_resource(DEFAULT_RESOURCE)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(audit.all().await.unwrap().len(), want.len());
}

#[tokio::test]
async fn secrets_never_appear_in_clear_in_entries_or_stored_objects() {
    let (db, audit, _, memory) = setup(AuditConfig::default()).await;
    let vault = create(
        &db,
        ResourceConfig::new("vault")
            .attribute("owner", "string")
            .attribute("token", "secret")
            .attribute(
                "keys",
                json!({"api": "secret|optional", "label": "string|optional"}),
            ),
    )
    .await;
    let plaintexts = ["PLAIN-token-1", "PLAIN-api-1", "PLAIN-token-2"];
    vault
        .insert(rec(json!({
            "id": "v1", "owner": "ana", "token": plaintexts[0],
            "keys": {"api": plaintexts[1], "label": "main"}
        })))
        .await
        .unwrap();
    vault
        .update("v1", rec(json!({"token": plaintexts[2]})))
        .await
        .unwrap();
    // The resource itself decrypts for its reader.
    assert_eq!(vault.get("v1").await.unwrap()["token"], plaintexts[2]);
    vault.delete("v1").await.unwrap();

    let trail = audit.by_record("vault", "v1").await.unwrap();
    assert_eq!(trail.len(), 3);
    for entry in &trail {
        for data in [&entry.before, &entry.after].into_iter().flatten() {
            assert_eq!(data["token"], MASK);
            assert_eq!(data["keys"]["api"], MASK);
            assert_eq!(data["keys"]["label"], "main");
            assert_eq!(data["owner"], "ana");
        }
    }

    // No stored object anywhere in the bucket holds a plaintext: not the audit entries
    // (metadata or body), not their partition references.
    let keys = memory.list_keys("").await.unwrap();
    assert!(
        keys.iter()
            .any(|k| k.starts_with("resource=plugin_audits/"))
    );
    for key in keys {
        let object = memory.get(&key).await.unwrap();
        let mut raw = String::from_utf8_lossy(&object.body).into_owned();
        for (name, value) in &object.metadata {
            raw.push_str(name);
            raw.push_str(value);
        }
        raw.push_str(&key);
        for plaintext in plaintexts {
            assert!(!raw.contains(plaintext), "{plaintext} in clear in {key}");
        }
    }
}

#[tokio::test]
async fn configured_paths_are_masked_everywhere_or_per_resource() {
    let config = AuditConfig::default()
        .mask(["email"])
        .mask_in("people", ["profile.ssn"]);
    let (db, audit, _, _) = setup(config).await;
    let people = create(
        &db,
        ResourceConfig::new("people")
            .attribute("email", "string")
            .attribute("profile", json!({"ssn": "string", "city": "string"})),
    )
    .await;
    let pets = create(
        &db,
        ResourceConfig::new("pets")
            .attribute("email", "string")
            .attribute("profile", json!({"ssn": "string"})),
    )
    .await;
    let doc = json!({"id": "x", "email": "a@b.c", "profile": {"ssn": "123", "city": "Lx"}});
    people.insert(rec(doc)).await.unwrap();
    pets.insert(rec(
        json!({"id": "y", "email": "p@b.c", "profile": {"ssn": "9"}}),
    ))
    .await
    .unwrap();

    for (resource, id, want) in [
        (
            "people",
            "x",
            json!({"id": "x", "email": MASK, "profile": {"ssn": MASK, "city": "Lx"}}),
        ),
        (
            "pets",
            "y",
            json!({"id": "y", "email": MASK, "profile": {"ssn": "9"}}),
        ),
    ] {
        let after = audit.by_record(resource, id).await.unwrap()[0]
            .after
            .clone();
        assert_eq!(after.map(Value::Object), Some(want), "{resource}");
    }
}

#[tokio::test]
async fn entries_are_found_by_time_range_across_days() {
    let (db, audit, clock, _) = setup(AuditConfig::default()).await;
    let users = users(&db).await;
    let start = clock_now(&clock);
    for i in 0..4 {
        users
            .insert(rec(json!({"id": format!("u{i}"), "name": "n"})))
            .await
            .unwrap();
        // 10:00 on day 1, 22:00 day 1, 10:00 day 2, 22:00 day 2.
        clock.advance(Duration::from_secs(12 * 3600));
    }
    let hour = time::Duration::hours(1);
    let ids = |entries: Vec<AuditEntry>| -> Vec<String> {
        entries.into_iter().map(|e| e.record_id).collect()
    };
    let all = audit
        .between(start, start + time::Duration::days(3))
        .await
        .unwrap();
    assert_eq!(ids(all), ["u0", "u1", "u2", "u3"]);
    // 21:00 day 1 .. 11:00 day 2 spans midnight.
    let night = audit
        .between(start + 11 * hour, start + 25 * hour)
        .await
        .unwrap();
    assert_eq!(ids(night), ["u1", "u2"]);
    // Bounds are inclusive, to the millisecond.
    let exact = audit.between(start, start).await.unwrap();
    assert_eq!(ids(exact), ["u0"]);
    assert!(audit.between(start + hour, start).await.unwrap().is_empty());
    assert_eq!(iso(start), "2024-03-01T10:00:00.000Z");
}

fn clock_now(clock: &ManualClock) -> time::OffsetDateTime {
    use s3db_plugins::clock::Clock;
    clock.now()
}

#[tokio::test]
async fn without_data_records_who_what_when_only_and_resources_defined_before_are_audited() {
    let memory = Arc::new(MemoryStorage::new());
    let db = Database::builder(memory.clone() as Arc<dyn Storage>)
        .open()
        .await
        .unwrap();
    let early = users(&db).await;
    let audit = AuditPlugin::new(AuditConfig::default().without_data().resource("trail"));
    db.use_plugin(Arc::new(audit.clone())).await.unwrap();
    OperationContext::user("ops")
        .scope(early.insert(rec(json!({"id": "e1", "name": "n"}))))
        .await
        .unwrap();
    let trail = audit.by_resource("users").await.unwrap();
    assert_eq!(trail.len(), 1);
    assert_eq!(
        (
            trail[0].user.as_deref(),
            trail[0].before.as_ref(),
            trail[0].after.as_ref()
        ),
        (Some("ops"), None, None)
    );
    assert!(db.resource_exists("trail"));
    assert!(!db.resource_exists(DEFAULT_RESOURCE));
    // Installing the same plugin on a second database is refused.
    let other = Database::builder(Arc::new(MemoryStorage::new()))
        .open()
        .await
        .unwrap();
    assert!(other.use_plugin(Arc::new(audit.clone())).await.is_err());
}

#[tokio::test]
async fn delete_all_records_one_entry_per_record_with_before() {
    let (db, audit, _, _) = setup(AuditConfig::default()).await;
    let mut config = ResourceConfig::new("temp").attribute("x", "string");
    config.paranoid = false;
    let temp = create(&db, config).await;
    for id in ["t1", "t2"] {
        temp.insert(rec(json!({"id": id, "x": "v"}))).await.unwrap();
    }
    assert_eq!(
        OperationContext::user("root")
            .scope(temp.delete_all())
            .await
            .unwrap(),
        2
    );
    let deletes: Vec<Row> = audit
        .by_resource("temp")
        .await
        .unwrap()
        .iter()
        .filter(|e| e.operation == "deleteAll")
        .map(row)
        .collect();
    assert_eq!(
        deletes,
        [
            json!(["root", "deleteAll", "t1", {"id": "t1", "x": "v"}, null]),
            json!(["root", "deleteAll", "t2", {"id": "t2", "x": "v"}, null]),
        ]
        .map(expected)
    );
}

#[tokio::test]
async fn update_with_is_audited_as_an_update() {
    let (db, audit, _, _) = setup(AuditConfig::default()).await;
    let counters = create(
        &db,
        ResourceConfig::new("counters").attribute("n", "number"),
    )
    .await;
    counters
        .insert(rec(json!({"id": "c", "n": 1})))
        .await
        .unwrap();
    let stored = OperationContext::user("ops")
        .scope(counters.update_with("c", |current| {
            let mut next = current.clone();
            next.insert("n".into(), json!(current["n"].as_i64().unwrap_or(0) + 1));
            Ok(next)
        }))
        .await
        .unwrap();
    assert_eq!(stored["n"], 2);
    let updates: Vec<Row> = audit
        .by_record("counters", "c")
        .await
        .unwrap()
        .iter()
        .filter(|e| e.operation != "insert")
        .map(row)
        .collect();
    assert_eq!(
        updates,
        [expected(
            json!(["ops", "update", "c", {"id": "c", "n": 1}, {"id": "c", "n": 2}])
        )]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_updates_each_record_the_version_they_replaced() {
    let (db, audit, _, _) = setup(AuditConfig::default()).await;
    let counters = create(
        &db,
        ResourceConfig::new("counters").attribute("n", "number"),
    )
    .await;
    counters
        .insert(rec(json!({"id": "c", "n": 0})))
        .await
        .unwrap();
    let writers: Vec<_> = (1..=8)
        .map(|n| {
            let counters = counters.clone();
            tokio::spawn(async move { counters.update("c", rec(json!({"n": n}))).await })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap().unwrap();
    }
    let updates: Vec<AuditEntry> = audit
        .by_record("counters", "c")
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.operation == "update")
        .collect();
    assert_eq!(updates.len(), 8);
    // The writes form one chain: every version but the last was replaced exactly once.
    let n = |r: &Option<Record>| r.as_ref().unwrap()["n"].as_i64().unwrap();
    let mut replaced: Vec<i64> = updates.iter().map(|e| n(&e.before)).collect();
    let mut written: Vec<i64> = updates.iter().map(|e| n(&e.after)).collect();
    let last = counters.get("c").await.unwrap()["n"].as_i64().unwrap();
    written.retain(|v| *v != last);
    written.push(0);
    replaced.sort_unstable();
    written.sort_unstable();
    assert_eq!(replaced, written);
}
