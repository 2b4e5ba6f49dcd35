//! Cursor pages in s3db.js's cursor format: base64url (no padding) of
//! `{"v":1,"prefix":…,"token":…,"pageSize":size}`, where `prefix` is the listing prefix as
//! s3db.js builds it and `token` is the standard base64 of the page's last key — exactly what
//! s3db.js's memory and filesystem clients put in their continuation tokens. Cursors pass both
//! ways with s3db.js on those clients; a cursor holding an S3 server's continuation token
//! (opaque, meaningful only to that server) is refused with [`Error::InvalidCursor`].

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use futures::{StreamExt, TryStreamExt};
use serde_json::{Map, Value, json};

use super::query::{DEFAULT_READ_CONCURRENCY, KeySource, ListRequest};
use super::{Record, Resource};
use crate::error::{Error, Result};
use crate::extend::{Operation, Payload};

/// Which page to read.
#[derive(Debug, Clone)]
pub struct PageRequest {
    /// Records per page (at least 1).
    pub size: usize,
    /// Continue after this cursor (from [`Page::next_cursor`], or an s3db.js cursor).
    pub cursor: Option<String>,
    /// 1-based page number, used when there is no cursor (walks the keys before it).
    pub page: Option<usize>,
    /// Records to skip before the page (s3db.js `offset`), used when there is no cursor;
    /// wins over `page`.
    pub offset: Option<usize>,
    /// Leave the totals out (s3db.js `skipCount`): they cost a listing of every key of
    /// the selection (LIST requests only, no record reads).
    pub skip_count: bool,
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
            offset: None,
            skip_count: false,
            partition: None,
            values: Record::new(),
        }
    }
}

impl PageRequest {
    /// The request as page options (`size`, `cursor`, `page`, `partition`,
    /// `partitionValues`), what the `page` middleware sees.
    fn to_options(&self) -> Map<String, Value> {
        let mut options = Map::new();
        options.insert("size".into(), Value::from(self.size));
        options.insert(
            "cursor".into(),
            self.cursor.clone().map_or(Value::Null, Value::String),
        );
        options.insert("page".into(), self.page.map_or(Value::Null, Value::from));
        options.insert(
            "offset".into(),
            self.offset.map_or(Value::Null, Value::from),
        );
        options.insert("skipCount".into(), Value::Bool(self.skip_count));
        if let Some(partition) = &self.partition {
            options.insert("partition".into(), Value::String(partition.clone()));
            options.insert("partitionValues".into(), Value::Object(self.values.clone()));
        }
        options
    }

    /// The request page options describe (absent options take their defaults).
    fn from_options(resource: &str, options: &Map<String, Value>) -> Result<Self> {
        let listing = ListRequest::from_options(resource, options)?;
        let bad = |name: &str, expected: &str| Error::Unsupported {
            resource: resource.to_owned(),
            reason: format!("option {name:?} must be {expected}"),
        };
        let count = |name: &str| match options.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => value
                .as_u64()
                .and_then(|n| usize::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| bad(name, "a non-negative integer")),
        };
        let cursor = match options.get("cursor") {
            None | Some(Value::Null) => None,
            Some(Value::String(cursor)) => Some(cursor.clone()),
            Some(_) => return Err(bad("cursor", "a string")),
        };
        let skip_count = match options.get("skipCount") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(skip)) => *skip,
            Some(_) => return Err(bad("skipCount", "a boolean")),
        };
        Ok(PageRequest {
            size: count("size")?.unwrap_or(PageRequest::default().size),
            cursor,
            page: count("page")?,
            offset: count("offset")?,
            skip_count,
            partition: listing.partition,
            values: listing.values,
        })
    }
}

/// One page of records: [`Record`]s, or `T`s from [`crate::TypedResource::page`].
#[derive(Debug, Clone)]
pub struct Page<R = Record> {
    /// The records, in key order.
    pub items: Vec<R>,
    /// The cursor of the next page; `None` on the last page.
    pub next_cursor: Option<String>,
    /// The page size asked for.
    pub page_size: usize,
    /// The 1-based number of this page (`offset / size + 1`); `None` for a cursor page.
    pub page: Option<usize>,
    /// Records the selection holds (s3db.js `totalItems`); `None` with `skip_count`.
    pub total_items: Option<usize>,
    /// Pages of `page_size` the selection fills (s3db.js `totalPages`); `None` with
    /// `skip_count`.
    pub total_pages: Option<usize>,
}

impl<R> Page<R> {
    /// The same page with every item converted by `convert` (the first failure is
    /// returned).
    pub fn try_map<U, E>(self, convert: impl FnMut(R) -> Result<U, E>) -> Result<Page<U>, E> {
        Ok(Page {
            items: self
                .items
                .into_iter()
                .map(convert)
                .collect::<Result<_, _>>()?,
            next_cursor: self.next_cursor,
            page_size: self.page_size,
            page: self.page,
            total_items: self.total_items,
            total_pages: self.total_pages,
        })
    }
}

impl Page {
    /// The page as the `page` middleware's result: `{items, nextCursor, pageSize, page,
    /// totalItems, totalPages}`.
    fn to_options(&self) -> Map<String, Value> {
        let mut options = Map::new();
        options.insert(
            "items".into(),
            Value::Array(self.items.iter().cloned().map(Value::Object).collect()),
        );
        options.insert(
            "nextCursor".into(),
            self.next_cursor.clone().map_or(Value::Null, Value::String),
        );
        options.insert("pageSize".into(), Value::from(self.page_size));
        let number = |n: Option<usize>| n.map_or(Value::Null, Value::from);
        options.insert("page".into(), number(self.page));
        options.insert("totalItems".into(), number(self.total_items));
        options.insert("totalPages".into(), number(self.total_pages));
        options
    }

    /// The page a middleware's result describes.
    fn from_options(resource: &str, mut options: Map<String, Value>) -> Result<Page> {
        let bad = |reason: &str| Error::Unsupported {
            resource: resource.to_owned(),
            reason: format!("a page middleware result needs {reason}"),
        };
        let items = match options.remove("items") {
            Some(Value::Array(items)) => items
                .into_iter()
                .map(|item| match item {
                    Value::Object(record) => Ok(record),
                    _ => Err(bad("records in \"items\"")),
                })
                .collect::<Result<Vec<_>>>()?,
            _ => return Err(bad("an \"items\" array")),
        };
        let next_cursor = match options.remove("nextCursor") {
            None | Some(Value::Null) => None,
            Some(Value::String(cursor)) => Some(cursor),
            Some(_) => return Err(bad("a string or null \"nextCursor\"")),
        };
        let number = |name: &str| match options.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => value
                .as_u64()
                .map(|n| Some(usize::try_from(n).unwrap_or(usize::MAX)))
                .ok_or_else(|| bad(&format!("an integer or null {name:?}"))),
        };
        Ok(Page {
            page_size: number("pageSize")?.unwrap_or(items.len()),
            page: number("page")?,
            total_items: number("totalItems")?,
            total_pages: number("totalPages")?,
            items,
            next_cursor,
        })
    }
}

impl Resource {
    /// Reads one page of records (a listing of `size + 1` keys at most, then the reads),
    /// with the totals of the selection unless `skip_count` (a listing of its keys, no
    /// record reads). Runs the `page` middleware: it sees the request as options and the
    /// page as options `{items, nextCursor, pageSize, page, totalItems, totalPages}`.
    pub async fn page(&self, request: &PageRequest) -> Result<Page> {
        self.observed("page", None, self.page_op(request)).await
    }

    async fn page_op(&self, request: &PageRequest) -> Result<Page> {
        if !self.ext.middlewares.has(Operation::Page) {
            return Ok(self.delivered_page(self.page_inner(request).await?));
        }
        let out = self
            .wrapped(
                Operation::Page,
                Payload::Options(request.to_options()),
                |this, args| async move {
                    let request = PageRequest::from_options(&this.def.name, &args.into_options()?)?;
                    let page = this.page_inner(&request).await?;
                    Ok(Payload::Options(page.to_options()))
                },
            )
            .await?;
        Ok(self.delivered_page(Page::from_options(&self.def.name, out.into_options()?)?))
    }

    /// `page` with its items [delivered](Resource::delivered).
    fn delivered_page(&self, mut page: Page) -> Page {
        page.items = self.delivered_all(std::mem::take(&mut page.items));
        page
    }

    async fn page_inner(&self, request: &PageRequest) -> Result<Page> {
        let size = request.size.max(1);
        let source = self.key_source(request.partition.as_deref(), &request.values)?;
        let cursor_prefix = self.cursor_prefix(request)?;
        let start_after = match &request.cursor {
            Some(cursor) => self.decode_cursor(cursor, &cursor_prefix, &source)?,
            None => None,
        };
        let skip = match (&request.cursor, request.offset, request.page) {
            (Some(_), _, _) => None,
            (None, Some(offset), _) => Some(offset),
            (None, None, page) => Some(page.unwrap_or(1).saturating_sub(1).saturating_mul(size)),
        };
        let total_items = match request.skip_count {
            true => None,
            false => Some(
                self.ids_from(source.clone(), None)
                    .try_fold(0usize, |n, _| async move { Ok(n + 1) })
                    .await?,
            ),
        };
        let keys: Vec<(String, String)> = self
            .ids_from(source, start_after)
            .skip(skip.unwrap_or(0))
            .take(size + 1)
            .try_collect()
            .await?;
        let more = keys.len() > size;
        let page_keys = &keys[..keys.len().min(size)];
        let next_cursor = match page_keys.last() {
            Some((_, last)) if more => Some(encode_cursor(&cursor_prefix, last, size)),
            _ => None,
        };
        let ids: Vec<Result<String>> = page_keys.iter().map(|(id, _)| Ok(id.clone())).collect();
        let items = self
            .collect_all(futures::stream::iter(ids).boxed(), DEFAULT_READ_CONCURRENCY)
            .await?;
        Ok(Page {
            items,
            next_cursor,
            page_size: size,
            page: skip.map(|skip| skip / size + 1),
            total_items,
            total_pages: total_items.map(|n| n.div_ceil(size)),
        })
    }

    /// The listing prefix s3db.js puts in the cursors of this request
    /// (`resource=<r>/data`, or its `buildPartitionPrefix`).
    fn cursor_prefix(&self, request: &PageRequest) -> Result<String> {
        Ok(match &request.partition {
            None => self.def.data_prefix(),
            Some(name) => self
                .partition(name)?
                .s3dbjs_prefix(&self.def.name, &request.values),
        })
    }

    /// The key a cursor of this listing resumes after (`None`: from the start); see
    /// [`decode_cursor`].
    fn decode_cursor(
        &self,
        cursor: &str,
        cursor_prefix: &str,
        source: &KeySource,
    ) -> Result<Option<String>> {
        decode_cursor(&self.def.name, cursor, [cursor_prefix, source.prefix()])
    }
}

/// The key a page cursor resumes after (`None`: from the start), for a listing whose keys
/// start with one of `listing_prefixes` (s3db.js's cursor prefix and the key prefix listed).
/// Accepts our cursors and s3db.js's when their token is a key (raw, or base64 as s3db.js's
/// memory and filesystem clients write it, possibly behind the client's key prefix).
///
/// Cursors come from outside (an HTTP query, an s3db.js page), so anything else is an
/// [`Error::InvalidCursor`] naming `resource` and the reason, never a panic.
///
/// ```
/// use s3db_core::resource::decode_cursor;
/// let prefixes = ["resource=users/data", "resource=users/data"];
/// // base64url of {"v":1,"prefix":"resource=users/data","token":"resource=users/data/id=a"}
/// let cursor = "eyJ2IjoxLCJwcmVmaXgiOiJyZXNvdXJjZT11c2Vycy9kYXRhIiwidG9rZW4iOiJyZXNvdXJjZT11c2Vycy9kYXRhL2lkPWEifQ";
/// assert_eq!(
///     decode_cursor("users", cursor, prefixes).unwrap().as_deref(),
///     Some("resource=users/data/id=a")
/// );
/// assert!(decode_cursor("users", "not a cursor", prefixes).is_err());
/// ```
pub fn decode_cursor(
    resource: &str,
    cursor: &str,
    listing_prefixes: [&str; 2],
) -> Result<Option<String>> {
    let fail = |reason: &str| Error::InvalidCursor {
        resource: resource.to_owned(),
        reason: reason.to_owned(),
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor.trim().trim_end_matches('='))
        .map_err(|_| fail("not base64url"))?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|_| fail("not JSON"))?;
    if value["v"] != json!(1) {
        return Err(fail("unsupported cursor version"));
    }
    let prefix = value["prefix"].as_str();
    if !listing_prefixes.iter().any(|p| prefix == Some(*p)) {
        return Err(fail("the cursor belongs to another listing"));
    }
    let token = match &value["token"] {
        Value::Null => return Ok(None),
        Value::String(token) => token,
        _ => return Err(fail("the token is not a string")),
    };
    if let Some(key) = key_of_listing(token, &listing_prefixes) {
        return Ok(Some(key.to_owned()));
    }
    let decoded = STANDARD_NO_PAD
        .decode(token.trim_end_matches('='))
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok());
    match decoded
        .as_deref()
        .and_then(|d| key_of_listing(d, &listing_prefixes))
    {
        Some(key) => Ok(Some(key.to_owned())),
        None => Err(fail(
            "the token is an S3 continuation token (s3db.js on an S3 server): it is opaque \
             and only that server can resume from it; list from the start or use page numbers",
        )),
    }
}

/// The key of this listing in `text`: `text` itself, or its tail after a key prefix
/// (`<prefix>/resource=…`), when that starts with one of `prefixes`.
fn key_of_listing<'t>(text: &'t str, prefixes: &[&str]) -> Option<&'t str> {
    prefixes.iter().find_map(|prefix| {
        text.match_indices(prefix)
            .map(|(at, _)| at)
            .find(|&at| at == 0 || text[..at].ends_with('/'))
            .map(|at| &text[at..])
    })
}

/// A cursor resuming after `last_key`, in s3db.js's format.
fn encode_cursor(prefix: &str, last_key: &str, size: usize) -> String {
    let body =
        json!({"v": 1, "prefix": prefix, "token": STANDARD.encode(last_key), "pageSize": size});
    URL_SAFE_NO_PAD.encode(body.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_found_behind_a_client_key_prefix() {
        let prefixes = ["resource=a/data"];
        assert_eq!(
            key_of_listing("resource=a/data/id=x", &prefixes),
            Some("resource=a/data/id=x")
        );
        assert_eq!(
            key_of_listing("db/one/resource=a/data/id=x", &prefixes),
            Some("resource=a/data/id=x")
        );
        assert_eq!(key_of_listing("xresource=a/data/id=x", &prefixes), None);
        assert_eq!(key_of_listing("AbCdEf==", &prefixes), None);
    }

    #[test]
    fn page_options_round_trip() {
        let request = PageRequest {
            size: 7,
            cursor: Some("c".into()),
            page: Some(2),
            offset: Some(3),
            skip_count: true,
            partition: Some("byStatus".into()),
            values: json!({"status": "open"})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        };
        let back = PageRequest::from_options("r", &request.to_options()).unwrap();
        assert_eq!(
            (back.size, back.cursor, back.page, back.partition),
            (7, Some("c".into()), Some(2), Some("byStatus".into()))
        );
        assert_eq!((back.offset, back.skip_count), (Some(3), true));
        assert_eq!(back.values, request.values);
        let bad = json!({"size": "big"});
        assert!(PageRequest::from_options("r", bad.as_object().unwrap()).is_err());
    }
}
