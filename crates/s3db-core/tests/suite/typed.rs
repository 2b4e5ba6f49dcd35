//! Typed records end to end: every `TypedResource` operation on a struct with a nested
//! struct, `Option`, `Vec`, a renamed enum, numbers and a secret, against the memory and
//! filesystem backends; typed conditional writes, streams, pages and builder filters; typed
//! reads equal untyped ones on every decoding path.

use crate::common;

use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use s3db_core::extend::{HookPoint, Payload};
use s3db_core::filter::Filter;
use s3db_core::{
    BehaviorKind, Database, Error, ListRequest, PageRequest, QueryOptions, Record, ResourceConfig,
    TypedResource,
};
use s3db_storage::{FsStorage, MemoryStorage, Storage};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
enum Status {
    #[serde(rename = "active")]
    Active,
    #[serde(rename = "banned")]
    Banned,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Address {
    city: String,
    zip: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Account {
    #[serde(default)]
    id: String,
    name: String,
    age: u32,
    score: f64,
    status: Status,
    address: Address,
    nickname: Option<String>,
    tags: Vec<String>,
    token: String,
}

fn account(id: &str, age: u32, status: Status, city: &str) -> Account {
    Account {
        id: id.into(),
        name: format!("name {id}"),
        age,
        score: f64::from(age) / 4.0,
        status,
        address: Address {
            city: city.into(),
            zip: format!("{age:04}"),
        },
        nickname: age.is_multiple_of(2).then(|| format!("nick-{id}")),
        tags: vec!["t".into(), id.into()],
        token: format!("secret-{id}"),
    }
}

fn config() -> ResourceConfig {
    ResourceConfig::new("accounts")
        .attribute("name", "string")
        .attribute("age", "number|integer:true")
        .attribute("score", "number")
        .attribute("status", "string")
        .attribute("address", json!({"city": "string", "zip": "string"}))
        .attribute("nickname", "string|optional")
        .attribute("tags", "array|items:string")
        .attribute("token", "secret")
        .partition("byStatus", [("status", "string")])
}

async fn accounts(storage: Arc<dyn Storage>) -> TypedResource<Account> {
    let db = Database::builder(storage).open().await.unwrap();
    db.create_resource(config()).await.unwrap().typed()
}

/// Untyped records read as accounts (numbers compare by value: `0` is `0.0`).
fn as_accounts(records: Vec<Record>) -> Vec<Account> {
    records
        .into_iter()
        .map(|r| serde_json::from_value(Value::Object(r)).unwrap())
        .collect()
}

fn ids(list: &[Account]) -> Vec<&str> {
    list.iter().map(|a| a.id.as_str()).collect()
}

fn strings(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|s| (*s).to_owned()).collect()
}

/// Every typed operation, checked against what was written.
async fn every_operation(storage: Arc<dyn Storage>) {
    let accounts = accounts(storage.clone()).await;
    let a = account("a", 30, Status::Active, "Lisboa");
    let b = account("b", 17, Status::Banned, "Porto");
    let c = account("c", 42, Status::Active, "Porto");

    // Writes and reads.
    assert_eq!(accounts.insert(&a).await.unwrap(), a);
    let many = accounts
        .insert_many(&[b.clone(), c.clone(), a.clone()])
        .await;
    assert_eq!(many[0].as_ref().unwrap(), &b);
    assert_eq!(many[1].as_ref().unwrap(), &c);
    assert!(matches!(many[2], Err(Error::AlreadyExists { .. })));
    assert_eq!(accounts.get("a").await.unwrap(), a);
    let stored = storage.head("resource=accounts/data/id=a").await.unwrap();
    assert!(
        stored.metadata.values().all(|v| !v.contains("secret-a")),
        "the secret is stored encrypted"
    );
    assert!(accounts.exists("b").await.unwrap());
    assert!(!accounts.exists("zz").await.unwrap());
    let read = accounts
        .get_many(&strings(&["c", "zz", "a"]))
        .await
        .unwrap();
    assert_eq!(read, [c.clone(), a.clone()]);
    assert_eq!(
        accounts.get_all().await.unwrap(),
        [a.clone(), b.clone(), c.clone()]
    );
    let mut active = Record::new();
    active.insert("status".into(), json!("active"));
    assert_eq!(
        accounts
            .get_from_partition("c", "byStatus", &active)
            .await
            .unwrap(),
        c
    );

    // Object facts.
    let versioned = accounts.get_with_meta("a").await.unwrap();
    assert_eq!(versioned.record, a);
    assert_eq!(versioned.meta.etag, stored.meta.etag);
    assert_eq!(versioned.meta.version, "v1");
    let written = stored.meta.last_modified;
    let reported = versioned.meta.last_modified;
    assert!(
        written.duration_since(reported).unwrap() < std::time::Duration::from_millis(1),
        "_lastModified is the object's time to the millisecond"
    );
    assert_eq!(versioned.meta.original_version.as_deref(), Some("1"));
    assert!(!versioned.meta.has_content);

    // Listings.
    assert_eq!(
        accounts.list_ids().await.unwrap(),
        strings(&["a", "b", "c"])
    );
    let by_active = ListRequest::partition("byStatus", json!({"status": "active"}));
    assert_eq!(
        accounts.list_ids_by(&by_active).await.unwrap(),
        strings(&["a", "c"])
    );
    assert_eq!(accounts.count().await.unwrap(), 3);
    assert_eq!(accounts.count_by(&by_active).await.unwrap(), 2);
    assert_eq!(
        accounts
            .list(&ListRequest::all().offset(1).limit(1))
            .await
            .unwrap(),
        std::slice::from_ref(&b)
    );
    assert_eq!(
        accounts
            .list_partition("byStatus", json!({"status": "banned"}))
            .await
            .unwrap(),
        std::slice::from_ref(&b)
    );
    let page = accounts
        .page(&PageRequest {
            size: 2,
            ..PageRequest::default()
        })
        .await
        .unwrap();
    assert_eq!(page.items, [a.clone(), b.clone()]);
    assert_eq!((page.total_items, page.total_pages), (Some(3), Some(2)));
    let last = accounts
        .page(&PageRequest {
            size: 2,
            cursor: page.next_cursor,
            ..PageRequest::default()
        })
        .await
        .unwrap();
    assert_eq!((last.items, last.next_cursor), (vec![c.clone()], None));

    // Queries and streams.
    let adults = Filter::field("age").gte(18);
    let scan = QueryOptions::scanning();
    assert_eq!(
        accounts.query(&adults, &scan).await.unwrap(),
        [a.clone(), c.clone()]
    );
    let streamed: Vec<Account> = accounts
        .query_stream(
            &adults
                .clone()
                .and(Filter::field("address.city").eq("Porto")),
            &scan,
        )
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(streamed, std::slice::from_ref(&c));
    let served = Filter::field("status").eq(Status::Banned);
    assert_eq!(
        accounts
            .query(&served, &QueryOptions::default())
            .await
            .unwrap(),
        std::slice::from_ref(&b),
        "an equality on the partition field needs no scan"
    );
    let all: Vec<Account> = accounts
        .stream(&ListRequest::all())
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all, [a.clone(), b.clone(), c.clone()]);
    let streamed_ids: Vec<String> = accounts
        .id_stream(&by_active)
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(streamed_ids, strings(&["a", "c"]));

    // Partial changes: a struct of some fields, the record type (None = unchanged), a map.
    #[derive(Serialize)]
    struct Rename<'a> {
        name: &'a str,
        nickname: Option<&'a str>,
    }
    let renamed = accounts
        .update(
            "a",
            &Rename {
                name: "Ana",
                nickname: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (renamed.name.as_str(), renamed.nickname),
        ("Ana", a.nickname.clone())
    );
    let odd = Account {
        nickname: None,
        id: String::new(),
        ..account("x", 31, Status::Banned, "Faro")
    };
    let changed = accounts.patch("a", &odd).await.unwrap();
    assert_eq!(
        changed,
        Account {
            id: "a".into(),
            nickname: a.nickname.clone(),
            ..odd.clone()
        }
    );
    let moved = accounts
        .update("a", &json!({"address": {"city": "Braga"}, "tags": []}))
        .await
        .unwrap();
    assert_eq!(
        moved.address,
        Address {
            city: "Braga".into(),
            zip: odd.address.zip.clone()
        }
    );
    assert!(moved.tags.is_empty());
    assert_eq!(accounts.get("a").await.unwrap(), moved);
    let older = accounts
        .update_with("a", |current: &Account| {
            Ok(Account {
                age: current.age + 1,
                nickname: None,
                ..current.clone()
            })
        })
        .await
        .unwrap();
    assert_eq!((older.age, older.nickname.as_deref()), (32, None));
    assert_eq!(accounts.get("a").await.unwrap(), older);
    assert_eq!(
        accounts
            .count_by(&ListRequest::partition(
                "byStatus",
                json!({"status": "banned"})
            ))
            .await
            .unwrap(),
        2,
        "the patch moved a to byStatus=banned"
    );
    let replaced = accounts
        .replace("b", &account("b", 18, Status::Active, "Évora"))
        .await
        .unwrap();
    assert_eq!(accounts.get("b").await.unwrap(), replaced);
    let upserted = accounts
        .upsert(&account("d", 50, Status::Active, "Beja"))
        .await
        .unwrap();
    assert_eq!(accounts.get("d").await.unwrap(), upserted);
    let merged = accounts
        .upsert(&Account {
            nickname: None,
            ..account("d", 51, Status::Active, "Beja")
        })
        .await
        .unwrap();
    assert_eq!(
        (merged.age, merged.nickname),
        (51, upserted.nickname.clone())
    );

    // Content.
    accounts
        .set_content("c", Bytes::from_static(b"png"), "image/png")
        .await
        .unwrap();
    assert!(accounts.has_content("c").await.unwrap());
    let content = accounts.content("c").await.unwrap().unwrap();
    assert_eq!(
        (&content.body[..], content.content_type.as_deref()),
        (&b"png"[..], Some("image/png"))
    );
    let with_content = accounts.get_with_meta("c").await.unwrap();
    assert_eq!(with_content.record, c, "content keeps the fields");
    assert!(with_content.meta.has_content);
    assert_eq!(with_content.meta.content_length, 3);
    assert_eq!(with_content.meta.mime_type, "image/png");
    accounts.delete_content("c").await.unwrap();
    assert!(!accounts.has_content("c").await.unwrap());

    // Streamed writes, repair, deletes.
    let report = accounts
        .write(
            futures::stream::iter([
                account("e", 5, Status::Active, "Tavira"),
                account("a", 1, Status::Active, "dup"),
            ]),
            2,
        )
        .await;
    assert_eq!(report.written, 1);
    assert_eq!(report.failures.len(), 1);
    assert_eq!(
        (report.failures[0].index, report.failures[0].id.as_deref()),
        (1, Some("a"))
    );
    assert_eq!(accounts.get("e").await.unwrap().address.city, "Tavira");
    assert!(accounts.repair().await.unwrap().is_clean());
    accounts.delete("e").await.unwrap();
    assert!(matches!(
        accounts.get("e").await,
        Err(Error::NotFound { .. })
    ));
    assert_eq!(
        accounts.delete_many(&strings(&["d", "zz"])).await.unwrap(),
        1
    );
    assert!(matches!(
        accounts.delete_all().await,
        Err(Error::Paranoid { .. })
    ));
    assert_eq!(
        accounts.list_ids().await.unwrap(),
        strings(&["a", "b", "c"])
    );
}

#[tokio::test]
async fn every_typed_operation_on_memory() {
    every_operation(Arc::new(MemoryStorage::new())).await;
}

#[tokio::test]
async fn every_typed_operation_on_the_filesystem() {
    let dir = tempfile::tempdir().unwrap();
    every_operation(Arc::new(FsStorage::open(dir.path()).unwrap())).await;
}

#[tokio::test]
async fn typed_conditional_writes_hold_the_version_read() {
    let accounts = accounts(Arc::new(MemoryStorage::new())).await;
    accounts
        .insert(&account("a", 30, Status::Active, "Lisboa"))
        .await
        .unwrap();
    let read = accounts.get_with_meta("a").await.unwrap();

    #[derive(Serialize)]
    struct Age {
        age: u32,
    }
    let updated = accounts
        .update_if("a", &Age { age: 31 }, &read.meta.etag)
        .await
        .unwrap();
    assert_eq!(updated.age, 31);

    // Every conditional write with the stale version fails and writes nothing.
    let stale = &read.meta.etag;
    let edited = Account {
        name: "stale".into(),
        ..read.record.clone()
    };
    assert!(matches!(
        accounts.update_if("a", &Age { age: 99 }, stale).await,
        Err(Error::VersionMismatch { .. })
    ));
    assert!(matches!(
        accounts.patch_if("a", &Age { age: 99 }, stale).await,
        Err(Error::VersionMismatch { .. })
    ));
    assert!(matches!(
        accounts.replace_if("a", &edited, stale).await,
        Err(Error::VersionMismatch { .. })
    ));
    assert!(matches!(
        accounts.delete_if("a", stale).await,
        Err(Error::VersionMismatch { .. })
    ));
    assert_eq!(accounts.get("a").await.unwrap(), updated);

    // With the current version they go through.
    let current = accounts.get_with_meta("a").await.unwrap();
    assert_ne!(current.meta.etag, read.meta.etag);
    let patched = accounts
        .patch_if("a", &Age { age: 40 }, &current.meta.etag)
        .await
        .unwrap();
    let current = accounts.get_with_meta("a").await.unwrap();
    assert_eq!(current.record, patched);
    let replaced = accounts
        .replace_if("a", &edited, &current.meta.etag)
        .await
        .unwrap();
    assert_eq!(replaced, edited);
    let current = accounts.get_with_meta("a").await.unwrap();
    accounts.delete_if("a", &current.meta.etag).await.unwrap();
    assert!(!accounts.exists("a").await.unwrap());
}

#[tokio::test]
async fn a_thousand_typed_records_stream_and_page_with_totals() {
    let accounts = accounts(Arc::new(MemoryStorage::new())).await;
    let status = |i: u32| {
        if i.is_multiple_of(4) {
            Status::Banned
        } else {
            Status::Active
        }
    };
    let values = (0..1000u32).map(|i| account(&format!("r{i:04}"), i % 90, status(i), "Lisboa"));
    let report = accounts
        .write(futures::stream::iter(values.clone()), 16)
        .await;
    assert_eq!((report.written, report.failures.len()), (1000, 0));

    let streamed: Vec<Account> = accounts
        .stream(&ListRequest::all().concurrency(8))
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(streamed, values.collect::<Vec<_>>());

    let mut request = PageRequest {
        size: 128,
        ..PageRequest::default()
    };
    let mut seen = Vec::new();
    loop {
        let page = accounts.page(&request).await.unwrap();
        assert_eq!((page.total_items, page.total_pages), (Some(1000), Some(8)));
        seen.extend(page.items.into_iter().map(|a| a.id));
        match page.next_cursor {
            Some(cursor) => request.cursor = Some(cursor),
            None => break,
        }
    }
    assert_eq!(seen, accounts.list_ids().await.unwrap());
    let banned = accounts
        .page(&PageRequest {
            size: 100,
            page: Some(3),
            partition: Some("byStatus".into()),
            values: json!({"status": "banned"}).as_object().unwrap().clone(),
            ..PageRequest::default()
        })
        .await
        .unwrap();
    assert_eq!(
        (banned.total_items, banned.total_pages, banned.page),
        (Some(250), Some(3), Some(3))
    );
    assert_eq!(banned.items.len(), 50);
    assert!(banned.items.iter().all(|a| a.status == Status::Banned));
}

#[tokio::test]
async fn builder_filters_query_exactly_like_their_json() {
    let accounts = accounts(Arc::new(MemoryStorage::new())).await;
    let cities = ["Lisboa", "Porto", "Faro"];
    for i in 0..30u32 {
        let status = if i % 3 == 0 {
            Status::Banned
        } else {
            Status::Active
        };
        accounts
            .insert(&account(
                &format!("q{i:02}"),
                i * 3,
                status,
                cities[i as usize % 3],
            ))
            .await
            .unwrap();
    }
    let cases = [
        (Filter::field("age").eq(30), json!({"age": 30})),
        (
            Filter::field("status").eq(Status::Banned),
            json!({"status": "banned"}),
        ),
        (
            Filter::field("status").ne(Status::Banned),
            json!({"status": {"$ne": "banned"}}),
        ),
        (Filter::field("age").gt(60), json!({"age": {"$gt": 60}})),
        (Filter::field("age").gte(60), json!({"age": {"$gte": 60}})),
        (Filter::field("age").lt(9), json!({"age": {"$lt": 9}})),
        (
            Filter::field("score").lte(2.25),
            json!({"score": {"$lte": 2.25}}),
        ),
        (
            Filter::field("address.city").in_(["Porto", "Faro"]),
            json!({"address.city": {"$in": ["Porto", "Faro"]}}),
        ),
        (
            Filter::field("nickname").exists(true),
            json!({"nickname": {"$exists": true}}),
        ),
        (
            Filter::field("nickname").exists(false),
            json!({"nickname": {"$exists": false}}),
        ),
        (
            Filter::field("age")
                .gte(18)
                .and(Filter::field("age").lt(60))
                .and(Filter::field("status").eq(Status::Active))
                .and(Filter::field("address.city").ne("Faro")),
            json!({"age": {"$gte": 18, "$lt": 60}, "status": "active", "address.city": {"$ne": "Faro"}}),
        ),
    ];
    let scan = QueryOptions::scanning();
    for (built, json) in cases {
        let typed = accounts.query(&built, &scan).await.unwrap();
        let untyped = accounts.untyped().query(&json, &scan).await.unwrap();
        assert!(!typed.is_empty(), "{json} selects some records");
        assert_eq!(typed, as_accounts(untyped), "{json}");
    }
    // Served by the partition, without a scan, the same records as the JSON filter.
    let partitioned = Filter::field("status").in_([Status::Banned]);
    let typed = accounts
        .query(&partitioned, &QueryOptions::default())
        .await
        .unwrap();
    assert_eq!(ids(&typed).len(), 10);
    let untyped = accounts
        .untyped()
        .query(
            &json!({"status": {"$in": ["banned"]}}),
            &QueryOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(typed, as_accounts(untyped));
    // A filter the engine cannot express in JSON is refused naming the field.
    let twice = Filter::field("age").gt(1).and(Filter::field("age").gt(2));
    assert!(matches!(
        accounts.query(&twice, &scan).await,
        Err(Error::Filter(e)) if e.field == "age"
    ));
}

#[tokio::test]
async fn records_that_do_not_fit_the_type_are_serialization_errors() {
    #[derive(Debug, Serialize, Deserialize)]
    struct Narrow {
        id: String,
        age: String,
    }
    let accounts = accounts(Arc::new(MemoryStorage::new())).await;
    accounts
        .insert(&account("a", 30, Status::Active, "Lisboa"))
        .await
        .unwrap();
    let narrow = accounts.untyped().typed::<Narrow>();
    let err = narrow.get("a").await.unwrap_err();
    assert!(
        matches!(&err, Error::Serialization { resource, reason } if resource == "accounts" && reason.contains("invalid type")),
        "{err}"
    );
    let streamed: Result<Vec<Narrow>, _> = narrow
        .stream(&ListRequest::all())
        .unwrap()
        .try_collect()
        .await;
    assert!(matches!(streamed, Err(Error::Serialization { .. })));
    let err = accounts.update("a", &json!(5)).await.unwrap_err();
    assert!(
        err.to_string().contains("must serialize to an object"),
        "{err}"
    );
}

#[tokio::test]
async fn typed_reads_equal_untyped_reads_on_every_decoding_path() {
    let storage: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
    let open = || Database::builder(storage.clone()).versioning(true).open();
    let notes_config = |name: &str, attributes: &Value| {
        let mut config = ResourceConfig::new(name).behavior(BehaviorKind::BodyOverflow);
        for (name, kind) in attributes.as_object().unwrap() {
            config = config.attribute(name, kind.clone());
        }
        config
    };
    let v1_attributes = json!({
        "title": "string",
        "meta": {"lang": "string", "size": "number|optional"},
        "tags": "array|items:string",
        "token": "secret",
    });
    let notes = open()
        .await
        .unwrap()
        .create_resource(notes_config("notes", &v1_attributes))
        .await
        .unwrap();
    let write = |value: Value| value.as_object().cloned().unwrap();
    // In metadata (read straight into the type), with a field left out, and overflowing
    // into the body (read through the record).
    notes
        .insert(write(
            json!({"id": "small", "title": "hi", "meta": {"lang": "pt", "size": 2},
            "tags": ["a", "b|c"], "token": "s1"}),
        ))
        .await
        .unwrap();
    notes
        .insert(write(
            json!({"id": "sparse", "title": "no size", "meta": {"lang": "en"},
            "tags": [], "token": "s2"}),
        ))
        .await
        .unwrap();
    notes
        .insert(write(
            json!({"id": "large", "title": "x".repeat(4000), "meta": {"lang": "en"},
            "tags": ["long"], "token": "s3"}),
        ))
        .await
        .unwrap();
    let ids = ["small", "sparse", "large"];
    let listed = common::typed_reads_match_untyped(&notes, &ids).await;
    let tokens: Vec<&Value> = listed.iter().map(|note| &note["token"]).collect();
    assert_eq!(
        tokens,
        ["s3", "s1", "s2"],
        "secrets come back decrypted, in id order"
    );

    // Version 2: the records above carry `v1` and are read through the record.
    let mut v2_attributes = v1_attributes.clone();
    v2_attributes["rank"] = json!("number|optional");
    let notes = open()
        .await
        .unwrap()
        .create_resource(notes_config("notes", &v2_attributes))
        .await
        .unwrap();
    assert_eq!(notes.version(), "v2");
    notes
        .insert(write(
            json!({"id": "newer", "title": "v2", "meta": {"lang": "pt"},
            "tags": ["n"], "token": "s4", "rank": 1}),
        ))
        .await
        .unwrap();
    common::typed_reads_match_untyped(&notes, &["small", "newer"]).await;

    // A hook sees (and here changes) every record: typed reads go through it.
    notes
        .hooks()
        .register(HookPoint::AfterGet, |_ctx, mut data: Payload| async move {
            if let Some(record) = data.record_mut() {
                record.insert("seen".into(), json!(true));
            }
            Ok(data)
        });
    assert_eq!(
        notes.typed::<Value>().get("newer").await.unwrap()["seen"],
        true
    );
    common::typed_reads_match_untyped(&notes, &["small", "newer"]).await;

    // Without auto-decrypt, the ciphertext comes back either way.
    let sealed = open()
        .await
        .unwrap()
        .create_resource(notes_config("sealed", &v1_attributes).auto_decrypt(false))
        .await
        .unwrap();
    sealed
        .insert(write(
            json!({"id": "s", "title": "t", "meta": {"lang": "pt"},
            "tags": [], "token": "plain"}),
        ))
        .await
        .unwrap();
    let listed = common::typed_reads_match_untyped(&sealed, &["s"]).await;
    let token = listed[0]["token"].as_str().unwrap();
    assert!(token != "plain" && token.len() > "plain".len(), "{token}");
}
