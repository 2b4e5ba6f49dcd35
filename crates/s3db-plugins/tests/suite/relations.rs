//! Relations plugin: `include` equals a brute-force join of generated data on memory and on
//! SeaweedFS, before and after random deletes, with the requests counted against a
//! per-parent loop; write checks, `restrict`, `cascade`, `set null`; a delete crashed after
//! every possible number of writes leaves only states `check` and `repair` handle.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use s3db_core::{Database, ListRequest, PageRequest, QueryOptions, Record, ResourceConfig};
use s3db_plugins::relations::{
    Include, OnDelete, Relation, RelationError, RelationsConfig, RelationsPlugin,
};
use s3db_storage::layers::{Fault, FaultPlan, MetricsSnapshot, RetryConfig, Stack};
use s3db_storage::testing::{Server, fresh_storage_on};
use s3db_storage::{ErrorKind, MemoryStorage, Operation, Storage};
use serde_json::{Value, json};

use crate::common::rec;

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        ((self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize) % n.max(1)
    }
}

/// users ─ posts (hasMany, cascade) ─ comments (hasMany, cascade; no partition: scans)
///       ├ profile (hasOne, set null)     posts ─ tags (belongsToMany through postTags)
///       └ orders (hasMany, restrict)     posts.author (belongsTo users, checked)
fn relations() -> RelationsConfig {
    RelationsConfig::new()
        .relation(
            "users",
            "posts",
            Relation::has_many("posts", "userId").on_delete(OnDelete::Cascade),
        )
        .relation(
            "users",
            "profile",
            Relation::has_one("profiles", "userId").on_delete(OnDelete::SetNull),
        )
        .relation(
            "users",
            "orders",
            Relation::has_many("orders", "userId").on_delete(OnDelete::Restrict),
        )
        .relation(
            "posts",
            "author",
            Relation::belongs_to("users", "userId").checked(),
        )
        .relation(
            "posts",
            "comments",
            Relation::has_many("comments", "postId").on_delete(OnDelete::Cascade),
        )
        .relation(
            "posts",
            "tags",
            Relation::belongs_to_many("tags", "postTags", "postId", "tagId")
                .on_delete(OnDelete::Cascade),
        )
        .relation(
            "tags",
            "posts",
            Relation::belongs_to_many("posts", "postTags", "tagId", "postId"),
        )
}

fn definitions() -> Vec<Value> {
    let by = |field: &str| json!({"fields": {field: "string"}});
    vec![
        json!({"name": "users", "attributes": {"name": "string"}}),
        json!({"name": "profiles", "attributes": {"userId": "string|optional", "bio": "string"},
               "partitions": {"byUser": by("userId")}}),
        json!({"name": "orders", "attributes": {"userId": "string", "total": "number"},
               "partitions": {"byUser": by("userId")}}),
        json!({"name": "posts", "attributes": {"userId": "string", "title": "string"},
               "partitions": {"byUser": by("userId")}}),
        json!({"name": "comments", "attributes": {"postId": "string", "text": "string"}}),
        json!({"name": "tags", "attributes": {"label": "string"}}),
        json!({"name": "postTags", "attributes": {"postId": "string", "tagId": "string"},
               "partitions": {"byPost": by("postId"), "byTag": by("tagId")}}),
    ]
}

const RESOURCES: [&str; 7] = [
    "users", "profiles", "orders", "posts", "comments", "tags", "postTags",
];

/// Opens a database with the plugin on `storage` and defines the resources.
async fn open(storage: Arc<dyn Storage>) -> (Database, RelationsPlugin) {
    let plugin = RelationsPlugin::new(relations()).unwrap();
    let db = Database::builder(storage)
        .plugin(Arc::new(plugin.clone()))
        .open()
        .await
        .unwrap();
    for definition in definitions() {
        db.create_resource(ResourceConfig::from_json(&definition).unwrap())
            .await
            .unwrap();
    }
    (db, plugin)
}

/// `users` users with random posts, comments, tags, profiles and orders.
async fn generate(db: &Database, users: usize, seed: u64) {
    let mut rng = Rng(seed);
    let mut rows: BTreeMap<&str, Vec<Record>> = BTreeMap::new();
    let mut push = |resource: &'static str, value: Value| {
        rows.entry(resource).or_default().push(rec(value));
    };
    let tags = 12;
    for t in 0..tags {
        push(
            "tags",
            json!({"id": format!("t{t:02}"), "label": format!("tag {t}")}),
        );
    }
    let (mut post, mut comment, mut pair) = (0, 0, 0);
    for u in 0..users {
        let user = format!("u{u:03}");
        push("users", json!({"id": user, "name": format!("user {u}")}));
        if rng.below(2) == 0 {
            push(
                "profiles",
                json!({"id": format!("f{u:03}"), "userId": user, "bio": "hi"}),
            );
        }
        if rng.below(8) == 0 {
            push(
                "orders",
                json!({"id": format!("o{u:03}"), "userId": user, "total": u}),
            );
        }
        for _ in 0..rng.below(5) {
            let id = format!("p{post:04}");
            post += 1;
            push(
                "posts",
                json!({"id": id, "userId": user, "title": format!("post {post}")}),
            );
            for _ in 0..rng.below(4) {
                push(
                    "comments",
                    json!({"id": format!("c{comment:05}"), "postId": id, "text": "nice"}),
                );
                comment += 1;
            }
            for _ in 0..rng.below(4) {
                let tag = format!("t{:02}", rng.below(tags));
                push(
                    "postTags",
                    json!({"id": format!("x{pair:05}"), "postId": id, "tagId": tag}),
                );
                pair += 1;
            }
        }
    }
    // Parents first, so the checked `posts.author` finds its users.
    for resource in [
        "users", "tags", "profiles", "orders", "posts", "comments", "postTags",
    ] {
        let records = rows.remove(resource).unwrap_or_default();
        for result in db.resource(resource).unwrap().insert_many(records).await {
            result.unwrap();
        }
    }
}

/// Every record of every resource, read without the plugin's help.
struct Snapshot(BTreeMap<&'static str, Vec<Record>>);

impl Snapshot {
    async fn take(db: &Database) -> Snapshot {
        let mut all = BTreeMap::new();
        for resource in RESOURCES {
            all.insert(
                resource,
                db.resource(resource).unwrap().get_all().await.unwrap(),
            );
        }
        Snapshot(all)
    }

    /// Records of `resource` whose `field` equals `value`, in id order.
    fn by(&self, resource: &str, field: &str, value: &Value) -> Vec<Record> {
        let mut found: Vec<Record> = self.0[resource]
            .iter()
            .filter(|r| r.get(field) == Some(value))
            .cloned()
            .collect();
        found.sort_by(|a, b| id(a).cmp(id(b)));
        found
    }

    /// The tags of a post through the junction, in id order.
    fn tags_of(&self, post: &Value) -> Value {
        let ids: BTreeSet<&str> = self.0["postTags"]
            .iter()
            .filter(|row| row.get("postId") == Some(post))
            .filter_map(|row| row["tagId"].as_str())
            .collect();
        let tags: Vec<Value> = ids
            .into_iter()
            .filter_map(|t| self.by("tags", "id", &json!(t)).into_iter().next())
            .map(Value::Object)
            .collect();
        Value::Array(tags)
    }

    /// Users as `Include::paths(["posts.comments", "posts.tags", "profile", "orders"])`
    /// should return them, by nested loops.
    fn users_joined(&self, users: &[Record]) -> Vec<Record> {
        users
            .iter()
            .map(|user| {
                let mut user = user.clone();
                let posts: Vec<Value> = self
                    .by("posts", "userId", &user["id"])
                    .into_iter()
                    .map(|mut post| {
                        let comments = self.by("comments", "postId", &post["id"]);
                        post.insert("comments".into(), objects(comments));
                        post.insert("tags".into(), self.tags_of(&post["id"]));
                        Value::Object(post)
                    })
                    .collect();
                let profile = self
                    .by("profiles", "userId", &user["id"])
                    .into_iter()
                    .next();
                let orders = self.by("orders", "userId", &user["id"]);
                user.insert("posts".into(), Value::Array(posts));
                user.insert("profile".into(), profile.map_or(Value::Null, Value::Object));
                user.insert("orders".into(), objects(orders));
                user
            })
            .collect()
    }

    /// Posts with `author` and `tags`.
    fn posts_joined(&self, posts: &[Record]) -> Vec<Record> {
        posts
            .iter()
            .map(|post| {
                let mut post = post.clone();
                let author = self.by("users", "id", &post["userId"]).into_iter().next();
                post.insert("author".into(), author.map_or(Value::Null, Value::Object));
                post.insert("tags".into(), self.tags_of(&post["id"]));
                post
            })
            .collect()
    }

    /// Every (resource, id, field) whose foreign key names a missing record.
    fn dangling(&self) -> BTreeSet<(String, String, String)> {
        let links = [
            ("profiles", "userId", "users"),
            ("orders", "userId", "users"),
            ("posts", "userId", "users"),
            ("comments", "postId", "posts"),
            ("postTags", "postId", "posts"),
            ("postTags", "tagId", "tags"),
        ];
        let mut found = BTreeSet::new();
        for (child, field, parent) in links {
            let present: BTreeSet<&str> = self.0[parent].iter().map(id).collect();
            for record in &self.0[child] {
                if let Some(value) = record.get(field).and_then(Value::as_str)
                    && !present.contains(value)
                {
                    found.insert((child.to_owned(), id(record).to_owned(), field.to_owned()));
                }
            }
        }
        found
    }
}

fn objects(records: Vec<Record>) -> Value {
    Value::Array(records.into_iter().map(Value::Object).collect())
}

fn id(record: &Record) -> &str {
    record["id"].as_str().unwrap()
}

fn snapshot(stack: &Stack) -> MetricsSnapshot {
    stack.metrics().unwrap().snapshot()
}

/// Requests between two snapshots: (LIST, GET, HEAD, all).
fn spent(before: &MetricsSnapshot, after: &MetricsSnapshot) -> (u64, u64, u64, u64) {
    (
        after.list.requests - before.list.requests,
        after.get.requests - before.get.requests,
        after.head.requests - before.head.requests,
        after.requests() - before.requests(),
    )
}

fn writes(s: &MetricsSnapshot) -> u64 {
    s.put.requests + s.delete.requests + s.delete_many.requests + s.copy.requests
}

/// Every include shape equals the brute-force join.
async fn agree(db: &Database, plugin: &RelationsPlugin) {
    let all = Snapshot::take(db).await;
    let include = Include::paths(["posts.comments", "posts.tags", "profile", "orders"]);
    let users = plugin
        .list("users", &ListRequest::all(), &include)
        .await
        .unwrap();
    assert_eq!(users, all.users_joined(&all.0["users"]));
    let posts = plugin
        .list(
            "posts",
            &ListRequest::all(),
            &Include::paths(["author", "tags"]),
        )
        .await
        .unwrap();
    assert_eq!(posts, all.posts_joined(&all.0["posts"]));
    if let Some(first) = all.0["users"].first() {
        let one = plugin.get("users", id(first), &include).await.unwrap();
        assert_eq!(one, all.users_joined(std::slice::from_ref(first))[0]);
    }
    let page = plugin
        .page(
            "users",
            &PageRequest {
                size: 7,
                ..PageRequest::default()
            },
            &include,
        )
        .await
        .unwrap();
    let expected: Vec<Record> = all.0["users"].iter().take(7).cloned().collect();
    assert_eq!(page.items, all.users_joined(&expected));
    let picked = plugin
        .query(
            "posts",
            &json!({"userId": {"$in": ["u001", "u002", "u003"]}}),
            &QueryOptions::default(),
            &Include::paths(["author"]),
        )
        .await
        .unwrap();
    let expected: Vec<Record> = all.0["posts"]
        .iter()
        .filter(|p| ["u001", "u002", "u003"].contains(&p["userId"].as_str().unwrap()))
        .cloned()
        .collect();
    let mut picked_ids: Vec<&str> = picked.iter().map(id).collect();
    picked_ids.sort();
    assert_eq!(picked_ids, expected.iter().map(id).collect::<Vec<_>>());
    for post in &picked {
        assert_eq!(post["author"]["id"], post["userId"]);
    }
    // A tag's posts through the same junction, the other way.
    let tags = plugin
        .list("tags", &ListRequest::all(), &Include::paths(["posts"]))
        .await
        .unwrap();
    for tag in &tags {
        let expected: BTreeSet<&str> = all.0["postTags"]
            .iter()
            .filter(|row| row["tagId"] == tag["id"])
            .map(|row| row["postId"].as_str().unwrap())
            .collect();
        let found: Vec<&str> = tag["posts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap())
            .collect();
        assert_eq!(found, expected.into_iter().collect::<Vec<_>>());
    }
}

/// Counts the requests of `include` against a per-parent loop and asserts the batched
/// bounds; prints the figures.
async fn measure(db: &Database, plugin: &RelationsPlugin, stack: &Stack, label: &str) {
    let all = Snapshot::take(db).await;
    let posts_resource = db.resource("posts").unwrap();
    let mut users = db.resource("users").unwrap().get_all().await.unwrap();
    let parents = users.len();
    let related = all.0["posts"].len() as u64;

    let before = snapshot(stack);
    plugin
        .include("users", &mut users, &Include::paths(["posts"]))
        .await
        .unwrap();
    let (lists, gets, _, total) = spent(&before, &snapshot(stack));
    assert_eq!(
        lists, 1,
        "{parents} users: one listing of the posts partition"
    );
    assert_eq!(gets, related, "one GET per related post");
    assert_eq!(total, 1 + related);

    let before = snapshot(stack);
    for user in &users {
        posts_resource
            .list_partition("byUser", json!({"userId": user["id"]}))
            .await
            .unwrap();
    }
    let (loop_lists, loop_gets, _, loop_total) = spent(&before, &snapshot(stack));
    assert_eq!(loop_lists, parents as u64);
    eprintln!(
        "relations {label}: {parents} users include posts ({related} posts): {total} requests \
         ({lists} LIST + {gets} GET); per-user loop: {loop_total} ({loop_lists} LIST + {loop_gets} GET)"
    );

    // A few parents: one listing per distinct value.
    let mut few: Vec<Record> = users.iter().take(5).cloned().collect();
    let expected: u64 = few
        .iter()
        .map(|u| u["posts"].as_array().unwrap().len() as u64)
        .sum();
    let before = snapshot(stack);
    plugin
        .include("users", &mut few, &Include::paths(["posts"]))
        .await
        .unwrap();
    let (lists, gets, _, _) = spent(&before, &snapshot(stack));
    assert_eq!((lists, gets), (5, expected), "5 users: a listing each");

    // belongsTo: one GET per distinct author, however many posts.
    let mut posts = all.0["posts"].clone();
    let authors: BTreeSet<&str> = posts
        .iter()
        .map(|p| p["userId"].as_str().unwrap())
        .collect();
    let authors = authors.len() as u64;
    let before = snapshot(stack);
    plugin
        .include("posts", &mut posts, &Include::paths(["author"]))
        .await
        .unwrap();
    let (lists, gets, _, total) = spent(&before, &snapshot(stack));
    assert_eq!((lists, gets, total), (0, authors, authors));
    eprintln!(
        "relations {label}: {} posts include author: {total} GET ({authors} distinct authors; \
         per-post loop: {} GET)",
        posts.len(),
        posts.len()
    );

    // Nested and many-to-many: bounded per level, whatever the number of users.
    let comments = all.0["comments"].len() as u64;
    let pairs = all.0["postTags"].len() as u64;
    let tags_used: BTreeSet<&str> = all.0["postTags"]
        .iter()
        .map(|r| r["tagId"].as_str().unwrap())
        .collect();
    let mut users = db.resource("users").unwrap().get_all().await.unwrap();
    let before = snapshot(stack);
    plugin
        .include(
            "users",
            &mut users,
            &Include::paths(["posts.comments", "posts.tags"]),
        )
        .await
        .unwrap();
    let (lists, gets, _, total) = spent(&before, &snapshot(stack));
    // posts: 1 LIST; comments (no partition): a scan, 1 LIST + a GET each; postTags: 1 LIST
    // of the byPost partition + a GET per row; tags: a GET per distinct tag.
    assert_eq!(lists, 3);
    assert_eq!(gets, related + comments + pairs + tags_used.len() as u64);
    eprintln!(
        "relations {label}: {parents} users include posts.comments + posts.tags: {total} \
         requests ({lists} LIST + {gets} GET for {related} posts, {comments} comments, \
         {pairs} junction rows, {} tags)",
        tags_used.len()
    );
}

/// Random deletes through the plugin (cascade, set null, restrict), each followed by the
/// brute-force comparison; nothing ever dangles.
async fn delete_randomly(db: &Database, plugin: &RelationsPlugin, rounds: usize, seed: u64) {
    let mut rng = Rng(seed);
    for _ in 0..rounds {
        let all = Snapshot::take(db).await;
        let resource = ["users", "posts", "tags"][rng.below(3)];
        let Some(victim) = all.0[resource].get(rng.below(all.0[resource].len())) else {
            continue;
        };
        let victim = id(victim).to_owned();
        let blocked = resource == "users"
            && all.0["orders"]
                .iter()
                .any(|o| o["userId"] == victim.as_str());
        let result = db.resource(resource).unwrap().delete(&victim).await;
        if blocked {
            let err = result.unwrap_err();
            assert!(
                matches!(
                    RelationError::of(&err),
                    Some(RelationError::Restricted { .. })
                ),
                "{err}"
            );
            assert_eq!(
                Snapshot::take(db).await.0,
                all.0,
                "a refused delete deletes nothing"
            );
        } else {
            result.unwrap();
        }
        let now = Snapshot::take(db).await;
        assert!(now.dangling().is_empty(), "{:?}", now.dangling());
        assert!(plugin.check().await.unwrap().is_clean());
        agree(db, plugin).await;
    }
}

async fn scenario(storage: Arc<dyn Storage>, users: usize, rounds: usize, label: &str) {
    let stack = Stack::builder(storage).metrics().build();
    let (db, plugin) = open(stack.storage()).await;
    generate(&db, users, 0x9E37_79B9_7F4A_7C15).await;
    agree(&db, &plugin).await;
    measure(&db, &plugin, &stack, label).await;
    delete_randomly(&db, &plugin, rounds, 7).await;
    db.disconnect().await.unwrap();
}

#[tokio::test]
async fn include_equals_a_join_on_memory() {
    scenario(Arc::new(MemoryStorage::new()), 100, 25, "memory").await;
}

#[tokio::test]
async fn include_equals_a_join_on_seaweedfs() {
    let storage = fresh_storage_on(Server::SeaweedFs).await.unwrap();
    scenario(Arc::new(storage), 30, 6, "SeaweedFS").await;
}

#[tokio::test]
async fn checks_refuse_missing_targets_and_restrict_refuses_deletes() {
    let stack = Stack::builder(Arc::new(MemoryStorage::new()))
        .metrics()
        .build();
    let (db, _plugin) = open(stack.storage()).await;
    let users = db.resource("users").unwrap();
    let posts = db.resource("posts").unwrap();
    users
        .insert(rec(json!({"id": "ann", "name": "Ann"})))
        .await
        .unwrap();
    let err = posts
        .insert(rec(json!({"id": "p1", "userId": "bob", "title": "t"})))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), s3db_core::ErrorKind::Validation);
    assert_eq!(
        RelationError::of(&err),
        Some(&RelationError::MissingTarget {
            resource: "posts".into(),
            field: "userId".into(),
            value: "bob".into(),
            target: "users".into(),
            key: "id".into(),
        })
    );
    assert!(
        err.to_string().contains("insert that users record first"),
        "{err}"
    );
    assert!(!posts.exists("p1").await.unwrap(), "nothing was written");
    posts
        .insert(rec(json!({"id": "p1", "userId": "ann", "title": "t"})))
        .await
        .unwrap();
    let err = posts
        .update("p1", rec(json!({"userId": "bob"})))
        .await
        .unwrap_err();
    assert!(RelationError::of(&err).is_some(), "{err}");
    assert_eq!(posts.get("p1").await.unwrap()["userId"], "ann");
    // Changes that leave the foreign key alone are not checked.
    posts
        .patch("p1", rec(json!({"title": "renamed"})))
        .await
        .unwrap();

    db.resource("orders")
        .unwrap()
        .insert(rec(json!({"id": "o1", "userId": "ann", "total": 3})))
        .await
        .unwrap();
    let before = snapshot(&stack);
    let err = users.delete("ann").await.unwrap_err();
    assert_eq!(writes(&snapshot(&stack)) - writes(&before), 0, "{err}");
    assert_eq!(err.kind(), s3db_core::ErrorKind::Refused);
    let Some(RelationError::Restricted {
        resource,
        child,
        field,
        child_id,
        count,
        ..
    }) = RelationError::of(&err)
    else {
        panic!("{err}");
    };
    assert_eq!(
        (
            resource.as_str(),
            child.as_str(),
            field.as_str(),
            child_id.as_str(),
            *count
        ),
        ("users", "orders", "userId", "o1", 1)
    );
    assert!(posts.exists("p1").await.unwrap() && users.exists("ann").await.unwrap());
    let err = users.delete_many(&["ann".to_owned()]).await.unwrap_err();
    assert!(RelationError::of(&err).is_some(), "{err}");
    db.resource("orders").unwrap().delete("o1").await.unwrap();
    users.delete("ann").await.unwrap();
    assert!(!posts.exists("p1").await.unwrap(), "cascaded");
}

/// The state left by a delete that crashed: (resources' records, dangling by brute force).
async fn crashed_delete(writes_allowed: usize) -> (Snapshot, Snapshot, RelationsPlugin, Database) {
    let memory: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
    let (db, plugin) = open(memory.clone()).await;
    generate(&db, 6, 11).await;
    let before = Snapshot::take(&db).await;
    let faults = FaultPlan::script(std::iter::repeat_n(Fault::Pass, writes_allowed).chain(
        std::iter::repeat_n(Fault::Fail(ErrorKind::Unavailable), 10_000),
    ))
    .only(&[
        Operation::Put,
        Operation::Copy,
        Operation::Delete,
        Operation::DeleteMany,
    ]);
    let crashing = Stack::builder(memory).faults(faults).build();
    // A crashed process does not retry: the first refused write ends its work.
    let doomed_db = Database::builder(crashing.storage())
        .retry(RetryConfig::disabled())
        .plugin(Arc::new(RelationsPlugin::new(relations()).unwrap()))
        .open()
        .await
        .unwrap();
    let victim = victim(&before);
    let _ = doomed_db.resource("users").unwrap().delete(&victim).await;
    (before, Snapshot::take(&db).await, plugin, db)
}

/// The user without orders with the most posts: the deepest cascade.
fn victim(all: &Snapshot) -> String {
    all.0["users"]
        .iter()
        .map(|u| id(u).to_owned())
        .filter(|u| !all.0["orders"].iter().any(|o| o["userId"] == u.as_str()))
        .max_by_key(|u| all.by("posts", "userId", &json!(u)).len())
        .unwrap()
}

#[tokio::test]
async fn a_delete_crashed_after_any_write_leaves_only_what_repair_handles() {
    let mut partial = 0;
    let mut writes_allowed = 0;
    loop {
        let (before, after, plugin, db) = crashed_delete(writes_allowed).await;
        let victim = victim(&before);
        let found = plugin.check().await.unwrap();
        let found: BTreeSet<(String, String, String)> = found
            .dangling
            .iter()
            .map(|d| (d.resource.clone(), d.id.clone(), d.field.clone()))
            .collect();
        assert_eq!(found, after.dangling(), "after {writes_allowed} writes");
        assert!(
            after.dangling().is_empty(),
            "children go first: nothing dangles"
        );
        let repaired = plugin.repair().await.unwrap();
        assert!(
            Snapshot::take(&db).await.dangling().is_empty(),
            "{repaired:?}"
        );
        let done = !after.0["users"].iter().any(|u| id(u) == victim);
        if done {
            assert!(writes_allowed > 0);
            break;
        }
        if after.0 != before.0 {
            partial += 1;
        }
        // Deleting again finishes the cascade.
        db.resource("users").unwrap().delete(&victim).await.unwrap();
        let finished = Snapshot::take(&db).await;
        assert!(finished.dangling().is_empty());
        assert!(finished.by("posts", "userId", &json!(victim)).is_empty());
        assert!(finished.by("profiles", "userId", &json!(victim)).is_empty());
        writes_allowed += 1;
        assert!(writes_allowed < 200, "the delete never completed");
    }
    eprintln!(
        "relations crash: the cascade takes {writes_allowed} writes; {partial} crash points \
         left it part-done, none left a dangling reference"
    );
    assert!(
        partial > 0,
        "some crash points interrupt the cascade midway"
    );
}

#[tokio::test]
async fn repair_finds_and_fixes_references_left_by_a_writer_without_the_plugin() {
    let memory: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
    let (db, plugin) = open(memory.clone()).await;
    generate(&db, 40, 5).await;
    // Another process, without the relations plugin, deletes parents directly.
    let plain = Database::builder(memory).open().await.unwrap();
    let all = Snapshot::take(&db).await;
    let doomed_users: Vec<String> = all.0["users"]
        .iter()
        .step_by(3)
        .map(|u| id(u).to_owned())
        .collect();
    plain
        .resource("users")
        .unwrap()
        .delete_many(&doomed_users)
        .await
        .unwrap();
    plain
        .resource("tags")
        .unwrap()
        .delete_many(&["t01".to_owned(), "t02".to_owned()])
        .await
        .unwrap();
    let broken = Snapshot::take(&db).await;
    let expected = broken.dangling();
    assert!(!expected.is_empty());
    let report = plugin.check().await.unwrap();
    let found: BTreeSet<(String, String, String)> = report
        .dangling
        .iter()
        .map(|d| (d.resource.clone(), d.id.clone(), d.field.clone()))
        .collect();
    assert_eq!(found, expected);

    let report = plugin.repair().await.unwrap();
    let orders = expected.iter().filter(|d| d.0 == "orders").count();
    assert_eq!(report.unfixed, orders, "restrict: left for the application");
    assert!(report.deleted > 0 && report.nulled > 0, "{report:?}");
    let left: BTreeSet<(String, String, String)> = Snapshot::take(&db).await.dangling();
    assert!(left.iter().all(|d| d.0 == "orders"), "{left:?}");
    assert_eq!(left.len(), orders);
    // The cascade reached the comments of the deleted users' posts.
    let fixed = Snapshot::take(&db).await;
    for comment in &fixed.0["comments"] {
        assert!(
            fixed.0["posts"]
                .iter()
                .any(|p| p["id"] == comment["postId"])
        );
    }
    agree(&db, &plugin).await;
}
