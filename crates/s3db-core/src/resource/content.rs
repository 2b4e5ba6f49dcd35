//! Binary content attached to a record: the object body, with its own Content-Type, for
//! records whose fields live in metadata.

use bytes::Bytes;
use s3db_storage::{ErrorKind, PutMode};

use super::codec::{BodyPlan, encode_record};

use super::Resource;
use crate::error::{Error, Result};
use crate::extend::{Event, Operation, Payload, PayloadMismatch};

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
    /// only against content changes (see the crate docs on concurrency). Runs the
    /// `setContent` middleware and emits `ContentSet`.
    pub async fn set_content(&self, id: &str, body: Bytes, content_type: &str) -> Result<()> {
        self.observed(
            "setContent",
            Some(id),
            self.set_content_op(id, body, content_type),
        )
        .await
    }

    async fn set_content_op(&self, id: &str, body: Bytes, content_type: &str) -> Result<()> {
        if !self.ext.middlewares.has(Operation::SetContent) {
            return self
                .set_content_inner(id, body, content_type.to_owned())
                .await;
        }
        let args = Payload::Content {
            id: id.to_owned(),
            body,
            content_type: Some(content_type.to_owned()),
        };
        let out = self
            .wrapped(Operation::SetContent, args, |this, args| async move {
                let (id, body, content_type) = match args {
                    Payload::Content {
                        id,
                        body,
                        content_type,
                    } => (id, body, content_type.unwrap_or_default()),
                    other => return Err(mismatch("content", &other).into()),
                };
                this.set_content_inner(&id, body, content_type).await?;
                Ok(Payload::None)
            })
            .await?;
        Ok(out.into_none()?)
    }

    async fn set_content_inner(&self, id: &str, body: Bytes, content_type: String) -> Result<()> {
        let content_length = body.len();
        self.write_content(id, body, Some(content_type.clone()))
            .await?;
        self.ext.events.emit_with(|| Event::ContentSet {
            resource: self.def.name.clone(),
            id: id.to_owned(),
            content_type,
            content_length,
        });
        Ok(())
    }

    /// The record's content: [`Error::NotFound`] when the record does not exist, `None` when
    /// it has no content. Runs the `content` middleware and emits `ContentFetched`.
    pub async fn content(&self, id: &str) -> Result<Option<Content>> {
        self.observed("content", Some(id), self.content_op(id))
            .await
    }

    async fn content_op(&self, id: &str) -> Result<Option<Content>> {
        if !self.ext.middlewares.has(Operation::Content) {
            return self.content_inner(id).await;
        }
        let out = self
            .wrapped(
                Operation::Content,
                Payload::Id(id.to_owned()),
                |this, args| async move {
                    let id = args.into_id()?;
                    Ok(match this.content_inner(&id).await? {
                        Some(Content { body, content_type }) => Payload::Content {
                            id,
                            body,
                            content_type,
                        },
                        None => Payload::None,
                    })
                },
            )
            .await?;
        match out {
            Payload::Content {
                body, content_type, ..
            } => Ok(Some(Content { body, content_type })),
            Payload::None => Ok(None),
            other => Err(mismatch("content", &other).into()),
        }
    }

    async fn content_inner(&self, id: &str) -> Result<Option<Content>> {
        let content = self.read_content(id).await?;
        self.ext.events.emit_with(|| Event::ContentFetched {
            resource: self.def.name.clone(),
            id: id.to_owned(),
        });
        Ok(content)
    }

    async fn read_content(&self, id: &str) -> Result<Option<Content>> {
        let loaded = self.load(id).await?;
        Ok(loaded
            .content
            .map(|(body, content_type)| Content { body, content_type }))
    }

    /// Whether the record carries content. Runs the `hasContent` middleware (not the
    /// `content` one).
    pub async fn has_content(&self, id: &str) -> Result<bool> {
        self.observed("hasContent", Some(id), self.has_content_op(id))
            .await
    }

    async fn has_content_op(&self, id: &str) -> Result<bool> {
        if !self.ext.middlewares.has(Operation::HasContent) {
            return Ok(self.read_content(id).await?.is_some());
        }
        let out = self
            .wrapped(
                Operation::HasContent,
                Payload::Id(id.to_owned()),
                |this, args| async move {
                    let found = this.read_content(&args.into_id()?).await?;
                    Ok(Payload::Flag(found.is_some()))
                },
            )
            .await?;
        Ok(out.into_flag()?)
    }

    /// Removes the record's content (its fields stay). Runs the `deleteContent` middleware
    /// and emits `ContentDeleted`.
    pub async fn delete_content(&self, id: &str) -> Result<()> {
        self.observed("deleteContent", Some(id), self.delete_content_op(id))
            .await
    }

    async fn delete_content_op(&self, id: &str) -> Result<()> {
        if !self.ext.middlewares.has(Operation::DeleteContent) {
            return self.delete_content_inner(id).await;
        }
        let out = self
            .wrapped(
                Operation::DeleteContent,
                Payload::Id(id.to_owned()),
                |this, args| async move {
                    this.delete_content_inner(&args.into_id()?).await?;
                    Ok(Payload::None)
                },
            )
            .await?;
        Ok(out.into_none()?)
    }

    async fn delete_content_inner(&self, id: &str) -> Result<()> {
        self.write_content(id, Bytes::new(), None).await?;
        self.ext.events.emit_with(|| Event::ContentDeleted {
            resource: self.def.name.clone(),
            id: id.to_owned(),
        });
        Ok(())
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
                nonce: Some(self.settings.random.next_u64()),
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

/// The mismatch of a payload that should have been `expected`.
fn mismatch(expected: &'static str, found: &Payload) -> PayloadMismatch {
    PayloadMismatch {
        expected,
        found: found.kind(),
    }
}
