//! [`CasDoc`]: one JSON document changed only by compare-and-swap.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use s3db_codec::nonce;
use s3db_core::random::{RandomSource, ThreadRandom};
use s3db_storage::{ErrorKind, PutMode, Storage};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::json_object::json_payload;
use crate::{Error, Result};

/// A document's value with the ETag it was read or written at.
#[derive(Debug, Clone, PartialEq)]
pub struct Versioned<T> {
    /// The document.
    pub value: T,
    /// The ETag of the stored object holding `value`.
    pub etag: String,
}

/// What an [`CasDoc::update`] step decides, given the current document.
#[derive(Debug, Clone, PartialEq)]
pub enum Change<T, R> {
    /// Write this document (create it when absent, else replace the version read), then
    /// return `R`.
    Write(T, R),
    /// Leave the document as it is and return `R`.
    Keep(R),
}

/// A JSON document at one key of a storage, created with `If-None-Match: *` and replaced
/// with `If-Match`, so concurrent writers in any number of processes never overwrite each
/// other's changes unseen.
///
/// S3's ETag is the MD5 of the body, so a document written back to an earlier content would
/// take back its earlier ETag, and a writer holding that ETag would win a replace it should
/// lose. Every write of an object document therefore carries a fresh `"_w"` nonce (as a
/// record's body does); a struct ignores it when read. A document that is not a JSON
/// object is written as it is.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use std::sync::Arc;
/// use s3db_plugins::coord::{CasDoc, Change};
/// use s3db_storage::MemoryStorage;
///
/// let doc = CasDoc::<u64>::new(Arc::new(MemoryStorage::new()), "counters/visits");
/// for _ in 0..3 {
///     doc.update(10, |n| Ok(Change::Write(n.copied().unwrap_or(0) + 1, ()))).await?;
/// }
/// assert_eq!(doc.load().await?.map(|v| v.value), Some(3));
/// # Ok::<(), s3db_plugins::Error>(())
/// # }).unwrap();
/// ```
pub struct CasDoc<T> {
    storage: Arc<dyn Storage>,
    key: String,
    value: PhantomData<fn() -> T>,
}

impl<T> Clone for CasDoc<T> {
    fn clone(&self) -> Self {
        CasDoc {
            storage: Arc::clone(&self.storage),
            key: self.key.clone(),
            value: PhantomData,
        }
    }
}

impl<T> fmt::Debug for CasDoc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CasDoc").field("key", &self.key).finish()
    }
}

impl<T: Serialize + DeserializeOwned> CasDoc<T> {
    /// The document at `key` of `storage` (nothing is read or written yet).
    pub fn new(storage: Arc<dyn Storage>, key: impl Into<String>) -> Self {
        CasDoc {
            storage,
            key: key.into(),
            value: PhantomData,
        }
    }

    /// The document's key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The storage the document lives in.
    pub fn storage(&self) -> &Arc<dyn Storage> {
        &self.storage
    }

    /// Reads the document; `None` when there is none. [`Error::Corrupt`] names the key when
    /// the stored body is not a `T`.
    pub async fn load(&self) -> Result<Option<Versioned<T>>> {
        let found = match self.storage.get(&self.key).await {
            Ok(found) => found,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let value = serde_json::from_slice(&found.body).map_err(|e| Error::Corrupt {
            key: self.key.clone(),
            reason: e.to_string(),
        })?;
        Ok(Some(Versioned {
            value,
            etag: found.meta.etag,
        }))
    }

    /// Creates the document if there is none: the new ETag, or `None` when one exists.
    pub async fn create(&self, value: &T) -> Result<Option<String>> {
        self.put(value, PutMode::Create).await
    }

    /// Replaces the document if its ETag is still `etag`: the new ETag, or `None` when
    /// another writer changed or deleted it meanwhile.
    pub async fn replace(&self, value: &T, etag: &str) -> Result<Option<String>> {
        self.put(value, PutMode::IfMatch(etag.to_owned())).await
    }

    /// Overwrites the document whatever it holds; returns the new ETag.
    pub async fn overwrite(&self, value: &T) -> Result<String> {
        Ok(self
            .put(value, PutMode::Overwrite)
            .await?
            .unwrap_or_default())
    }

    /// Deletes the document (absent is fine).
    pub async fn delete(&self) -> Result<()> {
        match self.storage.delete(&self.key).await {
            Err(e) if e.kind() != ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    /// Reads the document, asks `step` what to do with it (`None` when absent) and writes
    /// the result conditionally; on a lost race reads again and asks again, at most
    /// `max_attempts` times. Returns `step`'s result and the document as it now stands.
    /// [`Error::Contended`] names the key when every attempt lost a race.
    pub async fn update<R>(
        &self,
        max_attempts: u32,
        mut step: impl FnMut(Option<&T>) -> Result<Change<T, R>>,
    ) -> Result<(R, Option<Versioned<T>>)> {
        for _ in 0..max_attempts.max(1) {
            let current = self.load().await?;
            match step(current.as_ref().map(|v| &v.value))? {
                Change::Keep(result) => return Ok((result, current)),
                Change::Write(value, result) => {
                    let written = match &current {
                        None => self.create(&value).await?,
                        Some(read) => self.replace(&value, &read.etag).await?,
                    };
                    if let Some(etag) = written {
                        return Ok((result, Some(Versioned { value, etag })));
                    }
                }
            }
        }
        Err(Error::Contended {
            key: self.key.clone(),
            attempts: max_attempts.max(1),
        })
    }

    async fn put(&self, value: &T, mode: PutMode) -> Result<Option<String>> {
        let body = serde_json::to_vec(value).map_err(|e| Error::Corrupt {
            key: self.key.clone(),
            reason: format!("cannot encode it: {e}"),
        })?;
        match self
            .storage
            .put(&self.key, json_payload(with_nonce(body)), mode)
            .await
        {
            Ok(etag) => Ok(Some(etag)),
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::AlreadyExists | ErrorKind::PreconditionFailed
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// `body` with a fresh `"_w"` nonce added when it is a JSON object (see [`CasDoc`]), in the
/// form record bodies carry theirs.
fn with_nonce(body: Vec<u8>) -> Vec<u8> {
    match String::from_utf8(body) {
        Ok(text) if text.starts_with('{') && text.ends_with('}') => {
            nonce::with_nonce(&text, ThreadRandom.next_u64()).into_bytes()
        }
        Ok(text) => text.into_bytes(),
        Err(not_text) => not_text.into_bytes(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use s3db_storage::MemoryStorage;

    fn doc() -> CasDoc<u64> {
        CasDoc::new(Arc::new(MemoryStorage::new()), "cas/n")
    }

    #[tokio::test]
    async fn create_once_then_replace_only_the_version_read() {
        let doc = doc();
        let first = doc.create(&1).await.unwrap().expect("created");
        assert_eq!(doc.create(&2).await.unwrap(), None, "a second create loses");
        let second = doc.replace(&3, &first).await.unwrap().expect("replaced");
        assert_eq!(
            doc.replace(&4, &first).await.unwrap(),
            None,
            "stale ETag loses"
        );
        let now = doc.load().await.unwrap().unwrap();
        assert_eq!((now.value, now.etag), (3, second));
    }

    #[tokio::test]
    async fn a_content_written_back_does_not_take_back_its_etag() {
        #[derive(Serialize, serde::Deserialize, Debug, PartialEq)]
        struct Doc {
            n: u32,
        }
        let doc = CasDoc::<Doc>::new(Arc::new(MemoryStorage::new()), "cas/doc");
        let first = doc.create(&Doc { n: 1 }).await.unwrap().unwrap();
        let second = doc.replace(&Doc { n: 2 }, &first).await.unwrap().unwrap();
        let back = doc.replace(&Doc { n: 1 }, &second).await.unwrap().unwrap();
        assert_ne!(back, first);
        assert_eq!(doc.replace(&Doc { n: 3 }, &first).await.unwrap(), None);
        assert_eq!(doc.load().await.unwrap().unwrap().value, Doc { n: 1 });
        for object in [&b"{}"[..], br#"{"a":[1,{}]}"#] {
            let stamped: serde_json::Value =
                serde_json::from_slice(&with_nonce(object.to_vec())).unwrap();
            assert_eq!(stamped["_w"].as_str().unwrap().len(), 16, "{stamped}");
        }
        assert_eq!(with_nonce(b"[1]".to_vec()), b"[1]");
    }

    #[tokio::test]
    async fn concurrent_updates_lose_nothing() {
        let doc = doc();
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let doc = doc.clone();
                tokio::spawn(async move {
                    for _ in 0..10 {
                        doc.update(1000, |n| Ok(Change::Write(n.copied().unwrap_or(0) + 1, ())))
                            .await
                            .unwrap();
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(doc.load().await.unwrap().unwrap().value, 160);
    }

    #[tokio::test]
    async fn keep_writes_nothing_and_corrupt_bodies_name_the_key() {
        let doc = doc();
        let (seen, now) = doc
            .update(3, |n| Ok(Change::<u64, _>::Keep(n.copied())))
            .await
            .unwrap();
        assert_eq!((seen, now), (None, None));
        doc.storage()
            .put("cas/n", json_payload("not json"), PutMode::Overwrite)
            .await
            .unwrap();
        let err = doc.load().await.unwrap_err();
        assert!(
            matches!(err, Error::Corrupt { ref key, .. } if key == "cas/n"),
            "{err}"
        );
    }
}
