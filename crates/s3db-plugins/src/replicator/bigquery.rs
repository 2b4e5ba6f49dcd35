//! BigQuery target: changes appended through the REST API's `tabledata.insertAll`.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use super::change::{TargetChange, tables};
use super::http::{Http, refused};
use super::target::ReplicationTarget;
use crate::{Error, Result};

/// The public BigQuery API.
pub const BIGQUERY_ENDPOINT: &str = "https://bigquery.googleapis.com";

/// Where a [`BigQueryTarget`] gets the OAuth 2.0 access token of each request (scope
/// `https://www.googleapis.com/auth/bigquery`). A `String` is a fixed token; implement it
/// over your credentials library (service account, workload identity, the metadata server)
/// to refresh tokens before they expire.
#[async_trait]
pub trait AccessToken: Send + Sync + 'static {
    /// A valid access token (without the `Bearer ` prefix).
    async fn token(&self) -> Result<String>;
}

#[async_trait]
impl AccessToken for String {
    async fn token(&self) -> Result<String> {
        Ok(self.clone())
    }
}

/// Appends changes to BigQuery tables, one table per target resource name, through the
/// REST API's `tabledata.insertAll` (streaming inserts).
///
/// BigQuery tables are append-only for streaming inserts, so the table is a change log:
/// each change is a row `id STRING, op STRING ("upsert" | "delete"), data JSON (the record
/// minus its id; NULL for a delete), changed_at TIMESTAMP`. `changed_at` increases
/// strictly with every row this target writes (microseconds; the system clock, never going
/// back), so the current state of a record is its latest row:
///
/// ```sql
/// SELECT * FROM `project.dataset.users`
/// WHERE TRUE QUALIFY ROW_NUMBER() OVER (PARTITION BY id ORDER BY changed_at DESC) = 1
///   AND op = 'upsert'
/// ```
///
/// With [`BigQueryTarget::create_tables`] (on by default) a missing table is created with
/// that schema (`tables.insert`; "already exists" is fine) before its first insert, once
/// per table and process. Changes queued together (up to [`BigQueryTarget::batch`], 500
/// by default, the API's recommended request size) go out as one `insertAll` request per
/// table, with `skipInvalidRows: false` so an invalid row fails the whole request. A
/// request refused (non-2xx, or `insertErrors` in the answer) is an error, retried and then
/// dead-lettered; a retry may append rows again, which the latest-row query absorbs (no
/// `insertId` is sent: it would make a record changed back to an earlier content within
/// BigQuery's deduplication window disappear).
///
/// ```
/// use s3db_plugins::replicator::{BigQueryTarget, ReplicationTarget};
///
/// let token = std::env::var("BIGQUERY_TOKEN").unwrap_or_default();
/// let target = BigQueryTarget::new("my-project", "s3db_copy", token)
///     .named("warehouse")
///     .batch(200);
/// assert_eq!((target.name(), target.max_batch()), ("warehouse", 200));
/// ```
pub struct BigQueryTarget {
    name: String,
    project: String,
    dataset: String,
    endpoint: String,
    token: Arc<dyn AccessToken>,
    batch: usize,
    create_tables: bool,
    http: Http,
    /// Tables created (or found) by this target.
    created: Mutex<HashSet<String>>,
    /// The last `changed_at` given, in Unix microseconds.
    last_micros: AtomicI64,
}

impl std::fmt::Debug for BigQueryTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token stays out.
        f.debug_struct("BigQueryTarget")
            .field("name", &self.name)
            .field("project", &self.project)
            .field("dataset", &self.dataset)
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl BigQueryTarget {
    /// A target named `bigquery` writing into `dataset` of `project` with access tokens from
    /// `token`.
    pub fn new(
        project: impl Into<String>,
        dataset: impl Into<String>,
        token: impl AccessToken,
    ) -> BigQueryTarget {
        BigQueryTarget {
            name: "bigquery".into(),
            project: project.into(),
            dataset: dataset.into(),
            endpoint: BIGQUERY_ENDPOINT.into(),
            token: Arc::new(token),
            batch: 500,
            create_tables: true,
            http: Http::new(),
            created: Mutex::new(HashSet::new()),
            last_micros: AtomicI64::new(0),
        }
    }

    /// Renames the target (the name of its stats and dead letters).
    pub fn named(mut self, name: impl Into<String>) -> BigQueryTarget {
        self.name = name.into();
        self
    }

    /// The most changes sent in one `insertAll` request (at least 1).
    pub fn batch(mut self, changes: usize) -> BigQueryTarget {
        self.batch = changes.max(1);
        self
    }

    /// Whether missing tables are created (default: true). Off, the tables must exist with
    /// the schema above.
    pub fn create_tables(mut self, on: bool) -> BigQueryTarget {
        self.create_tables = on;
        self
    }

    /// The API's base URL (default [`BIGQUERY_ENDPOINT`]): a proxy or a local stand-in.
    pub fn endpoint(mut self, url: impl Into<String>) -> BigQueryTarget {
        self.endpoint = url.into().trim_end_matches('/').to_owned();
        self
    }

    /// How long a request may take before it fails (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> BigQueryTarget {
        self.http = Http::with_timeout(timeout);
        self
    }

    fn fail(&self, reason: impl Into<String>) -> Error {
        Error::Target {
            target: self.name.clone(),
            reason: reason.into(),
            source: None,
        }
    }

    /// `{endpoint}/bigquery/v2/projects/{project}/datasets/{dataset}/tables[/{table}/insertAll]`,
    /// each segment percent-encoded.
    fn url(&self, table: Option<&str>) -> Result<reqwest::Url> {
        let mut url = reqwest::Url::parse(&self.endpoint)
            .map_err(|e| self.fail(format!("endpoint {:?}: {e}", self.endpoint)))?;
        {
            let mut segments = url.path_segments_mut().map_err(|()| {
                self.fail(format!("endpoint {:?} cannot take a path", self.endpoint))
            })?;
            segments.pop_if_empty().extend([
                "bigquery",
                "v2",
                "projects",
                &self.project,
                "datasets",
                &self.dataset,
                "tables",
            ]);
            if let Some(table) = table {
                segments.extend([table, "insertAll"]);
            }
        }
        Ok(url)
    }

    async fn authorized(&self, url: reqwest::Url) -> Result<reqwest::RequestBuilder> {
        let token = self.token.token().await?;
        Ok(self.http.client(&self.name)?.post(url).bearer_auth(token))
    }

    /// Creates `table` unless this target already did (or found it).
    async fn ensure_table(&self, table: &str) -> Result<()> {
        let mut created = self.created.lock().await;
        if !self.create_tables || created.contains(table) {
            return Ok(());
        }
        let body = json!({
            "tableReference": {
                "projectId": self.project,
                "datasetId": self.dataset,
                "tableId": table,
            },
            "schema": {"fields": [
                {"name": "id", "type": "STRING", "mode": "REQUIRED"},
                {"name": "op", "type": "STRING", "mode": "REQUIRED"},
                {"name": "data", "type": "JSON", "mode": "NULLABLE"},
                {"name": "changed_at", "type": "TIMESTAMP", "mode": "REQUIRED"},
            ]},
        });
        let what = format!("create table {table}");
        let request = self.authorized(self.url(None)?).await?.json(&body);
        let (status, response) = self.http.send(&self.name, &what, request).await?;
        if status.is_success() || status == reqwest::StatusCode::CONFLICT {
            created.insert(table.to_owned());
            Ok(())
        } else {
            Err(refused(&self.name, &what, status, &response))
        }
    }

    /// `n` strictly increasing Unix microseconds, after every one given before.
    fn stamps(&self, n: usize) -> i64 {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
            .unwrap_or_default();
        let n = i64::try_from(n).unwrap_or(i64::MAX);
        let previous = self
            .last_micros
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| {
                Some(now.max(last.saturating_add(1)).saturating_add(n - 1))
            })
            .unwrap_or_default();
        now.max(previous.saturating_add(1))
    }

    /// One `insertAll` request per table of `changes`.
    async fn insert(&self, changes: &[TargetChange]) -> Result<()> {
        let first = self.stamps(changes.len());
        let mut stamp = first..;
        let rows: Vec<(&str, Value)> = changes
            .iter()
            .map(|change| {
                (
                    change.resource.as_str(),
                    row(change, stamp.next().unwrap_or(first)),
                )
            })
            .collect();
        for table in tables(changes) {
            self.ensure_table(table).await?;
            let table_rows: Vec<&Value> = rows
                .iter()
                .filter(|(t, _)| *t == table)
                .map(|(_, row)| row)
                .collect();
            let body = json!({
                "kind": "bigquery#tableDataInsertAllRequest",
                "skipInvalidRows": false,
                "ignoreUnknownValues": false,
                "rows": table_rows,
            });
            let what = format!("insertAll of {} rows into {table}", table_rows.len());
            let request = self.authorized(self.url(Some(table))?).await?.json(&body);
            let (status, response) = self.http.send(&self.name, &what, request).await?;
            if !status.is_success() {
                return Err(refused(&self.name, &what, status, &response));
            }
            if let Some(errors) = insert_errors(&response) {
                return Err(self.fail(format!("{what}: rows refused: {errors}")));
            }
        }
        Ok(())
    }
}

/// The `insertAll` row of a change stamped `micros`.
fn row(change: &TargetChange, micros: i64) -> Value {
    let data = change
        .data()
        .map(|data| Value::String(Value::Object(data).to_string()))
        .unwrap_or(Value::Null);
    json!({"json": {
        "id": change.id,
        "op": change.op.as_str(),
        "data": data,
        "changed_at": timestamp(micros),
    }})
}

/// RFC 3339 in UTC with microseconds: `2026-12-06T08:28:56.123456Z`.
fn timestamp(micros: i64) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
    );
    at.format(&format).unwrap_or_default()
}

/// The `insertErrors` of an `insertAll` answer, as text; `None` when there are none.
fn insert_errors(response: &[u8]) -> Option<String> {
    let answer: Value = serde_json::from_slice(response).ok()?;
    let errors = answer.get("insertErrors")?.as_array()?;
    (!errors.is_empty()).then(|| {
        let first = errors.first().map(Value::to_string).unwrap_or_default();
        format!("{} rows, first: {first}", errors.len())
    })
}

#[async_trait]
impl ReplicationTarget for BigQueryTarget {
    fn name(&self) -> &str {
        &self.name
    }

    async fn apply(&self, change: &TargetChange) -> Result<()> {
        self.insert(std::slice::from_ref(change)).await
    }

    fn max_batch(&self) -> usize {
        self.batch
    }

    async fn apply_batch(&self, changes: &[TargetChange]) -> Result<()> {
        self.insert(changes).await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn timestamps_are_rfc3339_with_microseconds() {
        assert_eq!(
            timestamp(1_700_000_000_123_456),
            "2023-11-14T22:13:20.123456Z"
        );
    }

    #[test]
    fn stamps_never_repeat_or_go_back() {
        let target = BigQueryTarget::new("p", "d", String::new());
        let first = target.stamps(3);
        let second = target.stamps(1);
        assert!(second >= first + 3);
        target.last_micros.store(i64::MAX / 2, Ordering::SeqCst);
        assert_eq!(target.stamps(2), i64::MAX / 2 + 1);
        assert_eq!(target.stamps(1), i64::MAX / 2 + 3);
    }

    #[test]
    fn urls_encode_their_segments() {
        let target = BigQueryTarget::new("my-project", "data set", String::new())
            .endpoint("http://127.0.0.1:9050/");
        assert_eq!(
            target.url(Some("a/b")).unwrap().as_str(),
            "http://127.0.0.1:9050/bigquery/v2/projects/my-project/datasets/data%20set/tables/a%2Fb/insertAll"
        );
    }

    #[test]
    fn insert_errors_are_found() {
        assert_eq!(insert_errors(br#"{"kind":"x"}"#), None);
        assert_eq!(insert_errors(br#"{"insertErrors":[]}"#), None);
        let text =
            insert_errors(br#"{"insertErrors":[{"index":0,"errors":[{"reason":"invalid"}]}]}"#);
        assert!(text.unwrap().starts_with("1 rows, first: {\"index\":0"));
    }
}
