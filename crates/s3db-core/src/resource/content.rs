//! Binary content attached to a record: the object body, with its own Content-Type, for
//! records whose fields live in metadata.

use bytes::Bytes;
use s3db_storage::{ErrorKind, PutMode};

use super::codec::{BodyPlan, encode_record};

use super::Resource;
use crate::error::{Error, Result};
use crate::extend::Operation;

/// Binary content of a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content {
    /// The bytes.
    pub body: Bytes,
    /// Their Content-Type, if one was stored.
    pub content_type: Option<String>,
}

impl Resource {
    /// Stores `body` as the record's content (keeping its fields), conditionally on the
    /// record not changing meanwhile. Records whose fields live in the body (body-only,
    /// overflowed records) cannot carry content: [`Error::Unsupported`]. Note that S3 ETags
    /// hash only the body, so updates of a record carrying content are compare-and-swap
    /// only against content changes (see the crate docs on concurrency).
    pub async fn set_content(&self, id: &str, body: Bytes, content_type: &str) -> Result<()> {
        self.write_content(id, body, Some(content_type.to_owned()))
            .await
    }

    /// The record's content: [`Error::NotFound`] when the record does not exist, `None` when
    /// it has no content.
    pub async fn content(&self, id: &str) -> Result<Option<Content>> {
        let loaded = self.load(id).await?;
        Ok(loaded
            .content
            .map(|(body, content_type)| Content { body, content_type }))
    }

    /// Whether the record carries content.
    pub async fn has_content(&self, id: &str) -> Result<bool> {
        Ok(self.content(id).await?.is_some())
    }

    /// Removes the record's content (its fields stay).
    pub async fn delete_content(&self, id: &str) -> Result<()> {
        self.write_content(id, Bytes::new(), None).await
    }

    async fn write_content(
        &self,
        id: &str,
        body: Bytes,
        content_type: Option<String>,
    ) -> Result<()> {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let loaded = self.load(id).await?;
            let mut record = loaded.record.clone();
            record.shift_remove("id");
            let plan = BodyPlan {
                content: (!body.is_empty()).then(|| (body.clone(), content_type.clone())),
                unique: true,
            };
            let payload = encode_record(
                &self.def,
                id,
                &record,
                Some(&loaded),
                plan,
                self.oversize(Operation::SetContent),
            )?;
            let key = self.def.record_key(id);
            match self
                .storage
                .put(&key, payload, PutMode::IfMatch(loaded.etag))
                .await
            {
                Ok(_) => return Ok(()),
                Err(e) if e.kind() == ErrorKind::PreconditionFailed => {
                    if attempts >= self.settings.max_attempts {
                        return Err(Error::Conflict {
                            what: key,
                            attempts,
                        });
                    }
                }
                Err(e) if e.kind() == ErrorKind::NotFound => return Err(self.not_found(id)),
                Err(e) => return Err(e.into()),
            }
        }
    }
}
