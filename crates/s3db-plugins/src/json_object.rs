//! Plugin objects stored as JSON: dead letters, journal entries, claims, cache entries.

use bytes::Bytes;
use s3db_storage::{PutMode, PutPayload, Storage};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Error, Result};

/// A JSON object body.
pub(crate) fn json_payload(body: impl Into<Bytes>) -> PutPayload {
    PutPayload {
        body: body.into(),
        content_type: Some("application/json".into()),
        ..PutPayload::default()
    }
}

/// Writes `value` as JSON at `key`, overwriting what is there.
pub(crate) async fn put_json(
    storage: &dyn Storage,
    key: &str,
    value: &impl Serialize,
) -> Result<()> {
    let body = serde_json::to_vec(value).map_err(|e| Error::Corrupt {
        key: key.to_owned(),
        reason: format!("cannot encode it: {e}"),
    })?;
    storage
        .put(key, json_payload(body), PutMode::Overwrite)
        .await?;
    Ok(())
}

/// Reads the JSON object at `key`; [`Error::Corrupt`] names the key when it cannot be parsed.
pub(crate) async fn get_json<T: DeserializeOwned>(storage: &dyn Storage, key: &str) -> Result<T> {
    let found = storage.get(key).await?;
    serde_json::from_slice(&found.body).map_err(|e| Error::Corrupt {
        key: key.to_owned(),
        reason: e.to_string(),
    })
}
