//! Cursor pages in s3db.js's cursor format: base64url (no padding) of
//! `{"v":1,"prefix":…,"token":…,"pageSize":size}`. Our token is the last key of the page
//! (the listing resumes strictly after it), so a cursor stays valid across processes.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures::{StreamExt, TryStreamExt};
use serde_json::{Value, json};

use super::query::DEFAULT_READ_CONCURRENCY;
use super::{Record, Resource};
use crate::error::{Error, Result};

/// Which page to read.
#[derive(Debug, Clone)]
pub struct PageRequest {
    /// Records per page (at least 1).
    pub size: usize,
    /// Continue after this cursor (from [`Page::next_cursor`]).
    pub cursor: Option<String>,
    /// 1-based page number, used when there is no cursor (walks the keys before it).
    pub page: Option<usize>,
    /// Partition and values, as in [`super::query::ListRequest`].
    pub partition: Option<String>,
    /// Values selecting inside the partition.
    pub values: Record,
}

impl Default for PageRequest {
    fn default() -> Self {
        PageRequest {
            size: 100,
            cursor: None,
            page: None,
            partition: None,
            values: Record::new(),
        }
    }
}

/// One page of records.
#[derive(Debug, Clone)]
pub struct Page {
    /// The records, in key order.
    pub items: Vec<Record>,
    /// The cursor of the next page; `None` on the last page.
    pub next_cursor: Option<String>,
    /// The page size asked for.
    pub page_size: usize,
}

impl Resource {
    /// Reads one page of records (a listing of `size + 1` keys at most, then the reads).
    pub async fn page(&self, request: &PageRequest) -> Result<Page> {
        let size = request.size.max(1);
        let source = self.key_source(request.partition.as_deref(), &request.values)?;
        let start_after = match &request.cursor {
            Some(cursor) => Some(self.decode_cursor(cursor, source.prefix())?),
            None => None,
        };
        let skip = match (&request.cursor, request.page) {
            (None, Some(page)) => page.saturating_sub(1).saturating_mul(size),
            _ => 0,
        };
        let prefix = source.prefix().to_owned();
        let keys: Vec<(String, String)> = self
            .ids_from(source, start_after)
            .skip(skip)
            .take(size + 1)
            .try_collect()
            .await?;
        let more = keys.len() > size;
        let page_keys = &keys[..keys.len().min(size)];
        let next_cursor = match page_keys.last() {
            Some((_, last)) if more => Some(encode_cursor(&prefix, last, size)),
            _ => None,
        };
        let ids: Vec<Result<String>> = page_keys.iter().map(|(id, _)| Ok(id.clone())).collect();
        let items = self
            .read_all(futures::stream::iter(ids).boxed(), DEFAULT_READ_CONCURRENCY)
            .try_collect()
            .await?;
        Ok(Page {
            items,
            next_cursor,
            page_size: size,
        })
    }

    /// The last key a cursor of this listing carries.
    fn decode_cursor(&self, cursor: &str, prefix: &str) -> Result<String> {
        let fail = |reason: &str| Error::InvalidCursor {
            resource: self.def.name.clone(),
            reason: reason.to_owned(),
        };
        let bytes = URL_SAFE_NO_PAD
            .decode(cursor.trim_end_matches('='))
            .map_err(|_| fail("not base64url"))?;
        let value: Value = serde_json::from_slice(&bytes).map_err(|_| fail("not JSON"))?;
        if value["v"] != json!(1) {
            return Err(fail("unsupported cursor version"));
        }
        if value["prefix"].as_str() != Some(prefix) {
            return Err(fail("the cursor belongs to another listing"));
        }
        let token = value["token"].as_str().ok_or_else(|| fail("no token"))?;
        if !token.starts_with(prefix) {
            return Err(fail(
                "the token is not a key of this listing (an S3 continuation token of s3db.js?)",
            ));
        }
        Ok(token.to_owned())
    }
}

/// A cursor resuming after `last_key`.
fn encode_cursor(prefix: &str, last_key: &str, size: usize) -> String {
    let body = json!({"v": 1, "prefix": prefix, "token": last_key, "pageSize": size});
    URL_SAFE_NO_PAD.encode(body.to_string())
}
