//! Hooks: order, rewriting, vetoes, payload checks, sharing and removal.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use s3db_core::extend::{HookError, HookPoint, Hooks, Payload, PayloadMismatch, Veto};
use serde_json::{Map, Value, json};

fn record(value: Value) -> Map<String, Value> {
    value.as_object().cloned().unwrap()
}

/// A hook appending `tag` to the record's `trail` array.
fn tagger(hooks: &Hooks, point: HookPoint, tag: &'static str) {
    hooks.register(point, move |_ctx, mut data: Payload| async move {
        if let Some(record) = data.record_mut() {
            let trail = record.entry("trail").or_insert_with(|| json!([]));
            if let Value::Array(items) = trail {
                items.push(json!(tag));
            }
        }
        Ok(data)
    });
}

#[tokio::test]
async fn hooks_rewrite_the_data_in_registration_order() {
    let hooks = Hooks::for_resource("users");
    tagger(&hooks, HookPoint::BeforeInsert, "first");
    tagger(&hooks, HookPoint::BeforeInsert, "second");
    tagger(&hooks, HookPoint::BeforeInsert, "third");
    assert_eq!(hooks.len(HookPoint::BeforeInsert), 3);

    let out = hooks
        .run(
            HookPoint::BeforeInsert,
            Payload::Record(record(json!({"name": "Ana"}))),
        )
        .await
        .unwrap()
        .into_record()
        .unwrap();
    assert_eq!(
        Value::Object(out),
        json!({"name": "Ana", "trail": ["first", "second", "third"]})
    );
}

#[tokio::test]
async fn a_veto_stops_the_chain_and_keeps_its_reason() {
    let hooks = Hooks::for_resource("users");
    let later_calls = Arc::new(AtomicUsize::new(0));
    tagger(&hooks, HookPoint::BeforeUpdate, "checked");
    hooks.register(HookPoint::BeforeUpdate, |_ctx, data: Payload| async move {
        match &data {
            Payload::Change { record, .. } if record.contains_key("role") => {
                Err(Veto::new("role cannot be changed here"))
            }
            _ => Ok(data),
        }
    });
    let counter = later_calls.clone();
    hooks.register(HookPoint::BeforeUpdate, move |_ctx, data| {
        counter.fetch_add(1, Ordering::SeqCst);
        async move { Ok(data) }
    });

    let change = Payload::Change {
        id: "ana".into(),
        record: record(json!({"role": "admin"})),
    };
    let err = hooks
        .run(HookPoint::BeforeUpdate, change)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        HookError::Vetoed {
            point: HookPoint::BeforeUpdate,
            resource: Some("users".into()),
            position: 1,
            reason: "role cannot be changed here".into(),
        }
    );
    assert_eq!(err.reason(), Some("role cannot be changed here"));
    assert_eq!(
        err.to_string(),
        "resource \"users\": beforeUpdate hook #1 vetoed the operation: role cannot be changed here"
    );
    assert_eq!(
        later_calls.load(Ordering::SeqCst),
        0,
        "hooks after a veto never run"
    );

    // Allowed changes pass through every hook.
    let allowed = Payload::Change {
        id: "ana".into(),
        record: record(json!({"name": "Ana"})),
    };
    let (id, changes) = hooks
        .run(HookPoint::BeforeUpdate, allowed)
        .await
        .unwrap()
        .into_change()
        .unwrap();
    assert_eq!(id, "ana");
    assert_eq!(changes["trail"], json!(["checked"]));
    assert_eq!(later_calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_hook_must_hand_back_the_kind_of_data_it_received() {
    let hooks = Hooks::for_resource("users");
    hooks.register(HookPoint::AfterGet, |_ctx, _data| async move {
        Ok(Payload::Ids(vec!["x".into()]))
    });
    let err = hooks
        .run(HookPoint::AfterGet, Payload::Record(Map::new()))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        HookError::WrongPayload {
            point: HookPoint::AfterGet,
            resource: Some("users".into()),
            position: 0,
            source: PayloadMismatch {
                expected: "record",
                found: "ids"
            },
        }
    );
    assert_eq!(err.reason(), None);
}

#[tokio::test]
async fn without_hooks_the_data_passes_untouched() {
    let hooks = Hooks::for_resource("users");
    assert!(hooks.is_empty());
    tagger(&hooks, HookPoint::AfterInsert, "after");
    assert!(!hooks.is_empty());
    for point in HookPoint::ALL {
        assert_eq!(hooks.has(point), point == HookPoint::AfterInsert, "{point}");
    }
    let data = Payload::Record(record(json!({"a": 1})));
    assert_eq!(
        hooks
            .run(HookPoint::BeforeInsert, data.clone())
            .await
            .unwrap(),
        data
    );
}

#[tokio::test]
async fn clones_share_the_registry_and_hooks_can_be_removed() {
    let hooks = Hooks::for_resource("users");
    let handle = hooks.clone();
    let first = handle.register(HookPoint::AfterCount, |_ctx, data| async move {
        Ok(Payload::Count(data.into_count().unwrap_or_default() + 1))
    });
    let second = hooks.register(HookPoint::AfterCount, |_ctx, data| async move {
        Ok(Payload::Count(data.into_count().unwrap_or_default() * 10))
    });
    assert_eq!(
        hooks.run(HookPoint::AfterCount, Payload::Count(1)).await,
        Ok(Payload::Count(20))
    );

    assert!(hooks.remove(HookPoint::AfterCount, first));
    assert!(
        !hooks.remove(HookPoint::AfterCount, first),
        "already removed"
    );
    assert!(
        !hooks.remove(HookPoint::AfterList, second),
        "registered elsewhere"
    );
    assert_eq!(
        handle.run(HookPoint::AfterCount, Payload::Count(1)).await,
        Ok(Payload::Count(10))
    );
    assert!(hooks.remove(HookPoint::AfterCount, second));
    assert!(!handle.has(HookPoint::AfterCount));

    tagger(&hooks, HookPoint::AfterList, "x");
    hooks.clear(HookPoint::AfterList);
    assert!(handle.is_empty());
}

#[tokio::test]
async fn hooks_are_told_their_point_and_scope() {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let database = Hooks::for_database();
    let resource = Hooks::for_resource("users");
    for (hooks, point) in [
        (&database, HookPoint::BeforeCreateResource),
        (&resource, HookPoint::BeforeGet),
    ] {
        let seen = seen.clone();
        hooks.register(point, move |ctx, data| {
            seen.lock()
                .unwrap()
                .push((ctx.point, ctx.resource.as_deref().map(str::to_owned)));
            async move { Ok(data) }
        });
    }
    database
        .run(
            HookPoint::BeforeCreateResource,
            Payload::Options(Map::new()),
        )
        .await
        .unwrap();
    resource
        .run(HookPoint::BeforeGet, Payload::Id("a".into()))
        .await
        .unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        vec![
            (HookPoint::BeforeCreateResource, None),
            (HookPoint::BeforeGet, Some("users".to_owned())),
        ]
    );
    assert_eq!(database.resource(), None);

    database.register(HookPoint::BeforeConnect, |_ctx, _data| async move {
        Err(Veto::new("maintenance window"))
    });
    let err = database
        .run(HookPoint::BeforeConnect, Payload::None)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "database: beforeConnect hook #0 vetoed the operation: maintenance window"
    );
}

#[tokio::test]
async fn a_run_uses_the_hooks_registered_when_it_started() {
    let hooks = Hooks::for_resource("users");
    let registry = hooks.clone();
    hooks.register(HookPoint::AfterExists, move |_ctx, data| {
        // Registering from inside a hook neither deadlocks nor joins the current run.
        registry.register(HookPoint::AfterExists, |_ctx, _data| async move {
            Ok(Payload::Flag(false))
        });
        async move { Ok(data) }
    });
    assert_eq!(
        hooks.run(HookPoint::AfterExists, Payload::Flag(true)).await,
        Ok(Payload::Flag(true))
    );
    assert_eq!(hooks.len(HookPoint::AfterExists), 2);
    assert_eq!(
        hooks.run(HookPoint::AfterExists, Payload::Flag(true)).await,
        Ok(Payload::Flag(false))
    );
}

#[tokio::test]
async fn runs_are_send_and_work_from_spawned_tasks() {
    let hooks = Hooks::for_resource("users");
    tagger(&hooks, HookPoint::AfterGet, "spawned");
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let hooks = hooks.clone();
            tokio::spawn(async move {
                hooks
                    .run(HookPoint::AfterGet, Payload::Record(Map::new()))
                    .await
            })
        })
        .collect();
    for task in tasks {
        let record = task.await.unwrap().unwrap().into_record().unwrap();
        assert_eq!(record["trail"], json!(["spawned"]));
    }
}
