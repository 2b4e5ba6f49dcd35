//! `Error::kind()` end to end: each kind as an operation reports it, and the same kind for a
//! storage failure whether it comes through the core or straight from the storage.

use std::sync::Arc;
use std::time::Duration;

use s3db_core::{Database, DatabaseOptions, ErrorKind, Record, Resource, ResourceConfig};
use s3db_storage::layers::{Fault, FaultPlan, Faults, RetryConfig, RetryPolicy};
use s3db_storage::testing::{self, Server};
use s3db_storage::{
    ErrorKind as StorageKind, MemoryStorage, Operation, S3Credentials, S3Storage, Storage,
};
use serde_json::{Value, json};

fn record(value: Value) -> Record {
    value.as_object().unwrap().clone()
}

async fn notes(db: &Database) -> Resource {
    let config = ResourceConfig::from_json(&json!({
        "name": "notes",
        "attributes": {"title": "string|min:2", "n": "number|optional"}
    }))
    .unwrap();
    db.create_resource(config).await.unwrap()
}

#[tokio::test]
async fn not_found_conflict_and_validation_come_from_the_operations() {
    let db = Database::builder(Arc::new(MemoryStorage::new()))
        .open()
        .await
        .unwrap();
    let notes = notes(&db).await;

    let missing = notes.get("nobody").await.unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound, "{missing}");

    notes
        .insert(record(json!({"id": "a", "title": "first"})))
        .await
        .unwrap();
    let stale = notes.get_with_meta("a").await.unwrap()["_etag"]
        .as_str()
        .unwrap()
        .to_owned();
    notes
        .update("a", record(json!({"title": "someone else"})))
        .await
        .unwrap();
    let lost = notes
        .update_if("a", record(json!({"title": "mine"})), &stale)
        .await
        .unwrap_err();
    assert_eq!(lost.kind(), ErrorKind::Conflict, "{lost}");
    assert!(!lost.is_retryable());

    let bad = notes
        .insert(record(json!({"title": "x"})))
        .await
        .unwrap_err();
    assert_eq!(bad.kind(), ErrorKind::Validation, "{bad}");

    let again = notes
        .insert(record(json!({"id": "a", "title": "dup"})))
        .await
        .unwrap_err();
    assert_eq!(again.kind(), ErrorKind::AlreadyExists, "{again}");
}

/// A database on `inner` behind a fault layer that fails every get with `Unavailable` but
/// the first (which reads `s3db.json`).
async fn failing_gets(inner: Arc<dyn Storage>, retry: RetryConfig) -> Resource {
    let unavailable = Fault::Fail(StorageKind::Unavailable);
    let script = std::iter::once(Fault::Pass).chain([unavailable; 8]);
    let faults = Faults::new(inner, FaultPlan::script(script).only(&[Operation::Get]));
    let options = DatabaseOptions {
        retry,
        ..DatabaseOptions::default()
    };
    let db = Database::builder(Arc::new(faults))
        .options(options)
        .open()
        .await;
    db.unwrap().resource("notes").unwrap()
}

#[tokio::test]
async fn a_transient_storage_failure_is_unavailable_and_retryable_until_retries_gave_up() {
    let inner: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
    let setup = Database::builder(inner.clone()).open().await.unwrap();
    notes(&setup)
        .await
        .insert(record(json!({"id": "a", "title": "first"})))
        .await
        .unwrap();

    // Without retries the failure reaches the caller as it is: worth retrying.
    let notes = failing_gets(inner.clone(), RetryConfig::disabled()).await;
    let error = notes.get("a").await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unavailable, "{error}");
    assert!(error.is_retryable());
    let s3db_core::Error::Storage(storage) = &error else {
        panic!("expected a storage error, got {error:?}");
    };
    assert_eq!(ErrorKind::from(storage.kind()), error.kind());

    // Behind a retry layer that gave up, the kind stays but retrying again is pointless.
    let give_up_fast = RetryConfig::with_policy(RetryPolicy {
        max_attempts: 2,
        base_delay: Duration::ZERO,
        max_delay: Duration::ZERO,
        deadline: Duration::from_secs(600),
    });
    let notes = failing_gets(inner, give_up_fast).await;
    let error = notes.get("a").await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Unavailable, "{error}");
    assert!(!error.is_retryable(), "{error}");
}

#[tokio::test]
async fn wrong_credentials_are_permission_denied() {
    // moto accepts any credentials; SeaweedFS checks the signature.
    let mut config = testing::fresh_bucket_on(Server::SeaweedFs).await.unwrap();
    if let Some(credentials) = &mut config.credentials {
        *credentials = S3Credentials {
            access_key_id: credentials.access_key_id.clone(),
            secret_access_key: String::from("not-the-secret").into(),
        };
    }
    let storage = S3Storage::connect(&config).await.unwrap();
    let direct = storage.get("s3db.json").await.unwrap_err();
    assert_eq!(direct.kind(), StorageKind::PermissionDenied, "{direct}");
    assert!(!direct.is_retryable());

    let options = DatabaseOptions {
        retry: RetryConfig::disabled(),
        ..DatabaseOptions::default()
    };
    let error = Database::builder(Arc::new(storage))
        .options(options)
        .open()
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PermissionDenied, "{error}");
    assert!(!error.is_retryable());
}
