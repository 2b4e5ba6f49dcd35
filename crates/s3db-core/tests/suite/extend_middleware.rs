//! Middleware: order (first registered = outermost), short-circuit, argument and result
//! rewriting, timing, errors, and the direct path when none is registered.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use s3db_core::extend::{Middlewares, Operation, Payload, PayloadMismatch};
use serde_json::{Map, Value, json};

#[derive(Debug, PartialEq, thiserror::Error)]
enum TestError {
    #[error("not found: {0}")]
    NotFound(String),
    #[error(transparent)]
    Payload(#[from] PayloadMismatch),
}

type Log = Arc<Mutex<Vec<String>>>;

fn tracer(
    middlewares: &Middlewares<TestError>,
    operation: Operation,
    name: &'static str,
    log: &Log,
) {
    let log = log.clone();
    middlewares.register(operation, move |ctx, next| {
        let log = log.clone();
        async move {
            log.lock().unwrap().push(format!("{name} in"));
            let result = next.run(ctx).await;
            log.lock().unwrap().push(format!("{name} out"));
            result
        }
    });
}

/// A `get` that answers with `{"id": <id>}`.
async fn get(args: Payload) -> Result<Payload, TestError> {
    let id = args.into_id()?;
    let mut record = Map::new();
    record.insert("id".into(), Value::String(id));
    Ok(Payload::Record(record))
}

#[tokio::test]
async fn the_first_registered_middleware_is_the_outermost() {
    let middlewares = Middlewares::<TestError>::new("users");
    let log: Log = Arc::default();
    tracer(&middlewares, Operation::Get, "a", &log);
    tracer(&middlewares, Operation::Get, "b", &log);
    tracer(&middlewares, Operation::Get, "c", &log);
    assert_eq!(middlewares.len(Operation::Get), 3);

    let method_log = log.clone();
    let out = middlewares
        .run(
            Operation::Get,
            Payload::Id("ana".into()),
            move |args| async move {
                method_log.lock().unwrap().push("method".into());
                get(args).await
            },
        )
        .await
        .unwrap();
    assert_eq!(out.into_record().unwrap()["id"], "ana");
    assert_eq!(
        *log.lock().unwrap(),
        ["a in", "b in", "c in", "method", "c out", "b out", "a out"]
    );
}

#[tokio::test]
async fn a_middleware_can_short_circuit_the_method() {
    let middlewares = Middlewares::<TestError>::new("users");
    let log: Log = Arc::default();
    tracer(&middlewares, Operation::Exists, "outer", &log);
    middlewares.register(Operation::Exists, |_ctx, _next| async move {
        Ok(Payload::Flag(true))
    });
    tracer(&middlewares, Operation::Exists, "inner", &log);

    let called = Arc::new(AtomicBool::new(false));
    let flag = called.clone();
    let out = middlewares
        .run(
            Operation::Exists,
            Payload::Id("x".into()),
            move |_args| async move {
                flag.store(true, Ordering::SeqCst);
                Ok(Payload::Flag(false))
            },
        )
        .await;
    assert_eq!(out, Ok(Payload::Flag(true)));
    assert!(!called.load(Ordering::SeqCst), "the method never ran");
    assert_eq!(*log.lock().unwrap(), ["outer in", "outer out"]);

    // Short-circuiting with an error works the same way.
    middlewares.clear(Operation::Exists);
    middlewares.register(Operation::Exists, |ctx, _next| async move {
        Err(TestError::NotFound(ctx.args.into_id()?))
    });
    let out = middlewares
        .run(
            Operation::Exists,
            Payload::Id("y".into()),
            |_args| async move { Ok(Payload::Flag(false)) },
        )
        .await;
    assert_eq!(out, Err(TestError::NotFound("y".into())));
}

#[tokio::test]
async fn middlewares_can_rewrite_arguments_and_results() {
    let middlewares = Middlewares::<TestError>::new("users");
    // Outer: rewrites the result.
    middlewares.register(Operation::Get, |ctx, next| async move {
        let mut out = next.run(ctx).await?;
        if let Some(record) = out.record_mut() {
            record.insert("seen".into(), json!(true));
        }
        Ok(out)
    });
    // Inner: rewrites the id the method receives.
    middlewares.register(Operation::Get, |mut ctx, next| async move {
        if ctx.args == Payload::Id("old".into()) {
            ctx.args = Payload::Id("new".into());
        }
        next.run(ctx).await
    });
    let out = middlewares
        .run(Operation::Get, Payload::Id("old".into()), get)
        .await
        .unwrap();
    assert_eq!(
        Value::Object(out.into_record().unwrap()),
        json!({"id": "new", "seen": true})
    );

    // Arguments rewritten into the wrong kind surface as a typed error from the method.
    middlewares.register(Operation::Get, |mut ctx, next| async move {
        ctx.args = Payload::Count(1);
        next.run(ctx).await
    });
    let out = middlewares
        .run(Operation::Get, Payload::Id("old".into()), get)
        .await;
    assert_eq!(
        out,
        Err(TestError::Payload(PayloadMismatch {
            expected: "id",
            found: "count"
        }))
    );
}

#[tokio::test]
async fn a_middleware_can_time_the_call() {
    let middlewares = Middlewares::<TestError>::new("users");
    let timings = Arc::new(Mutex::new(Vec::new()));
    let sink = timings.clone();
    middlewares.register(Operation::Count, move |ctx, next| {
        let sink = sink.clone();
        async move {
            let started = std::time::Instant::now();
            let result = next.run(ctx).await;
            sink.lock()
                .unwrap()
                .push((result_kind(&result), started.elapsed()));
            result
        }
    });
    let out = middlewares
        .run(Operation::Count, Payload::None, |_args| async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            Ok(Payload::Count(42))
        })
        .await;
    assert_eq!(out, Ok(Payload::Count(42)));
    // The timer wraps the whole method: it saw the result and at least the method's sleep.
    let timings = timings.lock().unwrap();
    assert_eq!(timings.len(), 1);
    assert_eq!(timings[0].0, "count");
    assert!(
        timings[0].1 >= Duration::from_millis(20),
        "{:?}",
        timings[0].1
    );
}

fn result_kind(result: &Result<Payload, TestError>) -> &'static str {
    result.as_ref().map_or("error", Payload::kind)
}

#[tokio::test]
async fn middlewares_see_the_operation_and_resource_and_stay_on_their_operation() {
    let middlewares = Middlewares::<TestError>::new("users");
    assert!(middlewares.is_empty());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    middlewares.register(Operation::Insert, move |ctx, next| {
        sink.lock()
            .unwrap()
            .push((ctx.operation, ctx.resource.to_string()));
        next.run(ctx)
    });
    for op in Operation::ALL {
        assert_eq!(middlewares.has(op), op == Operation::Insert, "{op}");
    }

    // Operations without middleware call the method directly.
    let out = middlewares
        .run(Operation::Get, Payload::Id("a".into()), get)
        .await;
    assert!(out.is_ok());
    assert!(seen.lock().unwrap().is_empty());

    // Clones share the registry.
    let handle = middlewares.clone();
    let out = handle
        .run(
            Operation::Insert,
            Payload::Record(Map::new()),
            |args| async move { Ok(args) },
        )
        .await;
    assert_eq!(out, Ok(Payload::Record(Map::new())));
    assert_eq!(
        *seen.lock().unwrap(),
        [(Operation::Insert, "users".to_owned())]
    );
    handle.clear(Operation::Insert);
    assert!(middlewares.is_empty());
}

#[tokio::test]
async fn errors_from_the_method_pass_through_the_chain() {
    let middlewares = Middlewares::<TestError>::new("users");
    let log: Log = Arc::default();
    tracer(&middlewares, Operation::Delete, "a", &log);
    let out = middlewares
        .run(
            Operation::Delete,
            Payload::Id("gone".into()),
            |args| async move { Err(TestError::NotFound(args.into_id()?)) },
        )
        .await;
    assert_eq!(out, Err(TestError::NotFound("gone".into())));
    assert_eq!(*log.lock().unwrap(), ["a in", "a out"]);
}

#[tokio::test]
async fn runs_are_send_and_work_from_spawned_tasks() {
    let middlewares = Middlewares::<TestError>::new("users");
    let log: Log = Arc::default();
    tracer(&middlewares, Operation::Get, "a", &log);
    let handle = middlewares.clone();
    let out = tokio::spawn(async move {
        handle
            .run(Operation::Get, Payload::Id("t".into()), get)
            .await
    })
    .await
    .unwrap();
    assert_eq!(out.unwrap().into_record().unwrap()["id"], "t");
    assert_eq!(*log.lock().unwrap(), ["a in", "a out"]);
}
