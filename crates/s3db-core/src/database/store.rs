//! Reading and writing `s3db.json` with compare-and-swap.

use std::sync::Arc;

use bytes::Bytes;
use s3db_storage::{ErrorKind, PutMode, PutPayload, Storage};

use crate::error::{Error, Result};
use crate::metadata::document::DatabaseDocument;

pub use crate::metadata::document::METADATA_KEY;

/// `s3db.json` access: parse on read (never silently replacing a corrupt file), conditional
/// writes.
#[derive(Debug, Clone)]
pub struct MetadataStore {
    storage: Arc<dyn Storage>,
}

impl MetadataStore {
    /// A store over `storage`.
    pub fn new(storage: Arc<dyn Storage>) -> Self {
        MetadataStore { storage }
    }

    /// Reads the document and its ETag; `None` when there is none (nothing is written:
    /// opening a database never creates `s3db.json`).
    pub async fn load(&self) -> Result<Option<(DatabaseDocument, String)>> {
        match self.storage.get(METADATA_KEY).await {
            Ok(found) => {
                let document = DatabaseDocument::parse(METADATA_KEY, &found.body)?;
                Ok(Some((document, found.meta.etag)))
            }
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Writes the document if the stored one still has `etag` (or, with `None`, if there is
    /// none). `Ok(None)` means another writer got there first.
    pub async fn save(
        &self,
        document: &DatabaseDocument,
        etag: Option<&str>,
    ) -> Result<Option<String>> {
        let payload = PutPayload {
            metadata: Default::default(),
            body: Bytes::from(document.to_pretty_json()?),
            content_type: Some("application/json".into()),
        };
        let mode = match etag {
            Some(etag) => PutMode::IfMatch(etag.to_owned()),
            None => PutMode::Create,
        };
        match self.storage.put(METADATA_KEY, payload, mode).await {
            Ok(etag) => Ok(Some(etag)),
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::PreconditionFailed | ErrorKind::AlreadyExists
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(Error::from(e)),
        }
    }
}
