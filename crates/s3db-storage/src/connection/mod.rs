//! Connection strings: parsed into a typed [`StorageConfig`] and opened as a storage.
//!
//! | form | meaning |
//! |---|---|
//! | `s3://KEY:SECRET@bucket/prefix?region=eu-west-1` | AWS S3, or the endpoint of `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL` |
//! | `http(s)://KEY:SECRET@host:port/bucket/prefix` | an S3-compatible endpoint (MinIO, R2, moto...), path-style; the bucket is the first path segment |
//! | `memory://bucket/prefix` | the process-wide in-memory bucket of that name |
//! | `file:///abs/path` or `file://./relative/path` | the filesystem backend rooted there |
//!
//! User name, password and path segments are percent-decoded, so a secret containing `/`
//! is written `%2F`. Secrets are never shown: `Debug` and `Display` print `***` in their
//! place.
//!
//! The S3 forms take query parameters (durations are `500ms`, `30s`, `2m`, or plain seconds):
//!
//! | parameter | meaning | default |
//! |---|---|---|
//! | `region` | the bucket's region | `us-east-1` |
//! | `retries` | retries after the first attempt of a failed request; `0` opts out of the retry layer | 14 |
//! | `retry_deadline` | total time one operation may spend retrying | `2m` |
//! | `connect_timeout` | per attempt: time to open a connection | `5s` |
//! | `read_timeout` | per attempt: time to wait for the response | `30s` |
//!
//! The S3 forms need the crate feature `s3` (on by default); a build without it rejects them
//! with [`ConnectionError::FeatureDisabled`], which names the feature.
//!
//! [`StorageConfig::open`] returns the default stack: the backend behind a retry layer where
//! one is needed (see [`crate::layers`]).
//!
//! For the S3 forms, what the string leaves out follows the AWS conventions (details in
//! [`crate::s3`]): the region is `?region=`, else `AWS_REGION`, `AWS_DEFAULT_REGION`, the
//! AWS profile's, else `us-east-1`; an `s3://` string goes to `AWS_ENDPOINT_URL_S3`, else
//! `AWS_ENDPOINT_URL`, else AWS (an `http(s)://` string names its endpoint and wins); the
//! credentials are `KEY:SECRET@`, else the AWS default chain (environment, profile, SSO,
//! container, EC2 instance). Opening fails with one `InvalidInput` error naming the fix
//! when no credentials are found.
//!
//! ```
//! use s3db_storage::connection::StorageConfig;
//! let config: StorageConfig = "s3://AKID:s%2Fcret@my-bucket/apps/crm?region=eu-west-1".parse()?;
//! assert_eq!(config.to_string(), "s3://AKID:***@my-bucket/apps/crm?region=eu-west-1");
//! assert!(!format!("{config:?}").contains("s/cret"));
//! # Ok::<(), s3db_storage::connection::ConnectionError>(())
//! ```

#[cfg(feature = "s3")]
mod s3;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use percent_encoding::percent_decode_str;
use url::Url;

use crate::error::{Error, ErrorKind, Operation, Result};
#[cfg(feature = "s3")]
use crate::layers::RetryPolicy;
use crate::layers::{RetryConfig, Stack, StackBuilder};
use crate::memory::MemoryStorage;
use crate::prefixed::Prefixed;
#[cfg(feature = "s3")]
use crate::s3::{S3Config, S3Storage};
use crate::storage::Storage;

/// Why a connection string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectionError {
    /// The string is not a URL at all.
    #[error("not a connection URL ({0}); expected s3://, http(s)://, memory:// or file://")]
    NotAUrl(String),
    /// The scheme is none of the supported ones.
    #[error("unknown scheme {0:?}; expected s3, http, https, memory or file")]
    UnknownScheme(String),
    /// No bucket was given.
    #[error("missing bucket: {0}")]
    MissingBucket(&'static str),
    /// The port is not a number in 1..=65535.
    #[error("bad port in {0:?}: expected a number from 1 to 65535")]
    BadPort(String),
    /// The endpoint URL has no host.
    #[error("missing host in the endpoint URL")]
    MissingHost,
    /// A user name without a password or the other way round.
    #[error("incomplete credentials: give both KEY and SECRET (KEY:SECRET@) or neither")]
    IncompleteCredentials,
    /// A percent-encoded part does not decode to UTF-8.
    #[error("the {0} is not valid UTF-8 after percent-decoding")]
    BadEncoding(&'static str),
    /// A query parameter this form does not know.
    #[error(
        "unknown parameter {0:?} (s3 and http(s) take region, retries, retry_deadline, \
         connect_timeout and read_timeout)"
    )]
    UnknownParameter(String),
    /// A parameter with an unusable value.
    #[error("bad value for {0}: {1}")]
    BadParameter(&'static str, String),
    /// A `file://` URL that is neither absolute nor explicitly relative.
    #[error("bad file URL {0:?}: use file:///absolute/path or file://./relative/path")]
    BadFilePath(String),
    /// Credentials or parameters where the form takes none.
    #[error("{0} takes no credentials or parameters")]
    Unexpected(&'static str),
    /// A form this build of s3db left out: its cargo feature is off.
    #[error(
        "{scheme}:// connection strings need the cargo feature `{feature}` of s3db (or \
         s3db-storage), which this build left out; rebuild with it enabled (it is on by default)"
    )]
    FeatureDisabled {
        /// The scheme of the connection string.
        scheme: String,
        /// The cargo feature that adds it.
        feature: &'static str,
    },
}

impl From<ConnectionError> for Error {
    fn from(error: ConnectionError) -> Self {
        Error::new(ErrorKind::InvalidInput, Operation::Connect, "")
            .with_message("bad connection string")
            .with_source(error)
    }
}

/// A parsed connection string.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
// Parsed once per connection, so the S3 variant's size does not matter; boxing it would only
// make matching clumsier.
#[allow(clippy::large_enum_variant)]
pub enum StorageConfig {
    /// An S3 bucket (AWS or a custom endpoint), optionally under a key prefix (crate feature
    /// `s3`).
    #[cfg(feature = "s3")]
    S3 {
        /// Bucket, region, endpoint, credentials and timeouts.
        config: S3Config,
        /// Key prefix (empty, or ending in `/`).
        prefix: String,
        /// Retries of the default stack (`retries`, `retry_deadline`).
        retry: RetryPolicy,
    },
    /// A process-wide in-memory bucket, optionally under a key prefix.
    Memory {
        /// Bucket name.
        bucket: String,
        /// Key prefix (empty, or ending in `/`).
        prefix: String,
    },
    /// A directory for the filesystem backend.
    File {
        /// The root directory (relative paths are relative to the working directory).
        path: PathBuf,
    },
}

fn decode(raw: &str, what: &'static str) -> Result<String, ConnectionError> {
    percent_decode_str(raw)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| ConnectionError::BadEncoding(what))
}

/// Decodes a bucket name: not empty (else `MissingBucket` with the `form` to use) and without
/// `/` (a `%2F` would make a bucket that the displayed connection string splits differently).
fn decode_bucket(raw: &str, form: &'static str) -> Result<String, ConnectionError> {
    let bucket = decode(raw, "bucket")?;
    if bucket.is_empty() {
        return Err(ConnectionError::MissingBucket(form));
    }
    if bucket.contains('/') || bucket == "." || bucket == ".." {
        return Err(ConnectionError::BadParameter(
            "bucket",
            format!("{bucket:?}: a bucket name is one segment, not '.' or '..'"),
        ));
    }
    Ok(bucket)
}

/// Decodes path segments into a directory-like prefix (`a/b/`), dropping empty segments, also
/// those a decoded `%2F` makes (`a%2F%2Fb` is `a/b/`).
fn decode_prefix<'a>(segments: impl Iterator<Item = &'a str>) -> Result<String, ConnectionError> {
    let mut prefix = String::new();
    for segment in segments {
        for part in decode(segment, "key prefix")?.split('/') {
            if part == "." || part == ".." {
                // URLs collapse dot segments, so the displayed string would not parse back.
                return Err(ConnectionError::BadParameter(
                    "key prefix",
                    format!("{part:?} (also as %2E) cannot be a prefix segment"),
                ));
            }
            if !part.is_empty() {
                prefix.push_str(part);
                prefix.push('/');
            }
        }
    }
    Ok(prefix)
}

fn parse_memory(url: &Url) -> Result<StorageConfig, ConnectionError> {
    if !url.username().is_empty() || url.password().is_some() || url.query().is_some() {
        return Err(ConnectionError::Unexpected("memory://"));
    }
    let bucket = decode_bucket(url.host_str().unwrap_or_default(), "memory://bucket/prefix")?;
    let prefix = decode_prefix(url.path().split('/'))?;
    Ok(StorageConfig::Memory { bucket, prefix })
}

/// `file://` strings are split by hand: `file://./x` is not a host-and-path URL.
fn parse_file(conn: &str) -> Result<StorageConfig, ConnectionError> {
    let rest = &conn["file://".len()..];
    let bad = || ConnectionError::BadFilePath(conn.to_owned());
    if rest.contains(['?', '#']) {
        return Err(ConnectionError::Unexpected("file://"));
    }
    let path = if let Some(absolute) = rest.strip_prefix("localhost/") {
        format!("/{absolute}")
    } else if rest.starts_with('/')
        || rest == "."
        || rest.starts_with("./")
        || rest == ".."
        || rest.starts_with("../")
    {
        rest.to_owned()
    } else {
        return Err(bad());
    };
    let decoded = decode(&path, "file path")?;
    if decoded.contains('\0') {
        return Err(bad());
    }
    Ok(StorageConfig::File {
        path: PathBuf::from(decoded),
    })
}

impl StorageConfig {
    /// Parses a connection string (see the [module docs](self)).
    pub fn parse(conn: &str) -> Result<StorageConfig, ConnectionError> {
        let conn = conn.trim();
        let scheme = conn
            .split_once("://")
            .map(|(scheme, _)| scheme.to_ascii_lowercase())
            .ok_or_else(|| ConnectionError::NotAUrl("no scheme://".into()))?;
        if scheme == "file" {
            return parse_file(conn);
        }
        if !matches!(scheme.as_str(), "s3" | "http" | "https" | "memory") {
            return Err(ConnectionError::UnknownScheme(scheme));
        }
        let url = Url::parse(conn).map_err(|e| match e {
            url::ParseError::InvalidPort => ConnectionError::BadPort(conn_without_secret(conn)),
            url::ParseError::EmptyHost => match scheme.as_str() {
                "http" | "https" => ConnectionError::MissingHost,
                _ => ConnectionError::MissingBucket("the bucket goes after ://"),
            },
            other => ConnectionError::NotAUrl(other.to_string()),
        })?;
        match scheme.as_str() {
            "memory" => parse_memory(&url),
            #[cfg(feature = "s3")]
            "s3" => s3::parse_s3(&url),
            #[cfg(feature = "s3")]
            _ => s3::parse_endpoint(&url),
            #[cfg(not(feature = "s3"))]
            _ => Err(ConnectionError::FeatureDisabled {
                scheme,
                feature: "s3",
            }),
        }
    }

    /// Opens the bare backend, wrapped in [`Prefixed`] when there is a prefix — no retry
    /// layer. Most callers want [`StorageConfig::open`].
    pub async fn open_backend(&self) -> Result<Arc<dyn Storage>> {
        fn prefixed<S: Storage>(store: S, prefix: &str) -> Arc<dyn Storage> {
            if prefix.is_empty() {
                Arc::new(store)
            } else {
                Arc::new(Prefixed::new(store, prefix))
            }
        }
        Ok(match self {
            #[cfg(feature = "s3")]
            StorageConfig::S3 { config, prefix, .. } => {
                prefixed(S3Storage::connect(config).await?, prefix)
            }
            StorageConfig::Memory { bucket, prefix } => {
                prefixed(MemoryStorage::shared(bucket), prefix)
            }
            StorageConfig::File { path } => open_dir(path)?,
        })
    }

    /// The retry configuration of the default stack: the S3 forms' `retries` and
    /// `retry_deadline`, else [`RetryConfig::default`] (memory and filesystem backends never
    /// fail transiently, so no retry layer is added for them anyway).
    pub fn retry_config(&self) -> RetryConfig {
        match self {
            #[cfg(feature = "s3")]
            StorageConfig::S3 { retry, .. } => RetryConfig::with_policy(*retry),
            _ => RetryConfig::default(),
        }
    }

    /// The default stack, not yet built: the backend and [`Self::retry_config`], so a caller
    /// can add layers (the CLI adds metrics below the retries) before
    /// [`StackBuilder::build`].
    pub async fn stack(&self) -> Result<StackBuilder> {
        Ok(Stack::builder(self.open_backend().await?).retry(self.retry_config()))
    }

    /// Opens the default stack: the backend (under its prefix) behind a retry layer where
    /// transient failures are possible (S3), unless `?retries=0` opts out.
    pub async fn open(&self) -> Result<Arc<dyn Storage>> {
        Ok(self.stack().await?.build().storage())
    }
}

#[cfg(unix)]
fn open_dir(path: &std::path::Path) -> Result<Arc<dyn Storage>> {
    Ok(Arc::new(crate::fs::FsStorage::open(path)?))
}

#[cfg(not(unix))]
fn open_dir(_path: &std::path::Path) -> Result<Arc<dyn Storage>> {
    Err(Error::new(ErrorKind::InvalidInput, Operation::Connect, "")
        .with_message("the filesystem backend needs a Unix system"))
}

/// The connection string up to the first `@`-free part, for error messages (no secrets).
fn conn_without_secret(conn: &str) -> String {
    match conn.rsplit_once('@') {
        Some((_, host)) => format!("…@{host}"),
        None => conn.to_owned(),
    }
}

impl FromStr for StorageConfig {
    type Err = ConnectionError;

    fn from_str(conn: &str) -> Result<Self, Self::Err> {
        StorageConfig::parse(conn)
    }
}

/// What [`encode`] escapes: everything but unreserved characters, `/` and `=`.
const PATH_SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/')
    .remove(b'=');

/// Percent-encodes a path component for display (so the output parses back).
fn encode(component: &str) -> String {
    percent_encoding::utf8_percent_encode(component, PATH_SET).to_string()
}

/// The connection string with the secret key replaced by `***`.
impl fmt::Display for StorageConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            #[cfg(feature = "s3")]
            StorageConfig::S3 {
                config,
                prefix,
                retry,
            } => s3::fmt(config, prefix, retry, f),
            StorageConfig::Memory { bucket, prefix } => {
                write!(
                    f,
                    "memory://{}/{}",
                    encode(bucket),
                    encode(prefix.trim_end_matches('/'))
                )
            }
            StorageConfig::File { path } => write!(f, "file://{}", encode(&path.to_string_lossy())),
        }
    }
}

/// Parses `conn` and opens the default stack on the storage it names (see the
/// [module docs](self) and [`StorageConfig::open`]).
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use s3db_storage::StorageExt;
/// let store = s3db_storage::connection::open("memory://docs-example/app").await?;
/// store.put_bytes("s3db.json", "{}").await?;
/// let bucket = s3db_storage::connection::open("memory://docs-example").await?;
/// assert!(bucket.exists("app/s3db.json").await?);
/// # Ok::<(), s3db_storage::Error>(())
/// # }).unwrap();
/// ```
pub async fn open(conn: &str) -> Result<Arc<dyn Storage>> {
    StorageConfig::parse(conn)?.open().await
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::layers::RetryPolicy;
    use crate::s3::{DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT};

    fn s3(conn: &str) -> (S3Config, String) {
        match StorageConfig::parse(conn).unwrap() {
            StorageConfig::S3 { config, prefix, .. } => (config, prefix),
            other => panic!("{other:?}"),
        }
    }

    fn err(conn: &str) -> ConnectionError {
        StorageConfig::parse(conn).unwrap_err()
    }

    #[test]
    fn aws_form() {
        let (c, prefix) = s3("s3://AKID:se%2Fcr%2Bet@my-bucket/apps/crm?region=eu-west-1");
        assert_eq!(c.bucket, "my-bucket");
        assert_eq!(prefix, "apps/crm/");
        assert_eq!(c.region.as_deref(), Some("eu-west-1"));
        assert_eq!(c.endpoint, None);
        assert!(!c.force_path_style);
        let creds = c.credentials.unwrap();
        assert_eq!(creds.access_key_id, "AKID");
        assert_eq!(creds.secret_access_key.expose(), "se/cr+et");

        let (c, prefix) = s3("s3://bucket");
        assert_eq!(
            (c.region, prefix.as_str()),
            (None, ""),
            "no region: resolved from the environment when opened"
        );
        assert_eq!(
            c.credentials, None,
            "no credentials: default provider chain"
        );
        assert_eq!(s3("s3://bucket/").1, "");
        assert_eq!(s3("s3://bucket/a%20b//c/").1, "a b/c/");
    }

    #[test]
    fn retry_and_timeout_parameters() {
        let retry = |conn: &str| match StorageConfig::parse(conn).unwrap() {
            StorageConfig::S3 { retry, .. } => retry,
            other => panic!("{other:?}"),
        };
        // Defaults.
        assert_eq!(retry("s3://b"), RetryPolicy::default());
        let (c, _) = s3("s3://b");
        assert_eq!(c.connect_timeout, DEFAULT_CONNECT_TIMEOUT);
        assert_eq!(c.read_timeout, DEFAULT_READ_TIMEOUT);
        assert!(
            StorageConfig::parse("s3://b")
                .unwrap()
                .retry_config()
                .is_enabled()
        );

        let conn = "http://h:9000/b/p?retries=3&retry_deadline=90s&connect_timeout=250ms\
                    &read_timeout=2m&region=eu-west-1";
        let policy = retry(conn);
        assert_eq!(policy.max_attempts, 4);
        assert_eq!(policy.deadline, Duration::from_secs(90));
        let (c, _) = s3(conn);
        assert_eq!(c.connect_timeout, Duration::from_millis(250));
        assert_eq!(c.read_timeout, Duration::from_secs(120));
        assert_eq!(c.region.as_deref(), Some("eu-west-1"));
        assert_eq!(
            s3("s3://b?read_timeout=1.5").0.read_timeout,
            Duration::from_millis(1500)
        );

        // `retries=0` is the explicit opt-out.
        let off = StorageConfig::parse("s3://b?retries=0").unwrap();
        assert!(!off.retry_config().is_enabled());

        for (conn, name) in [
            ("s3://b?retries=-1", "retries"),
            ("s3://b?retries=1000", "retries"),
            ("s3://b?retries=two", "retries"),
            ("s3://b?retry_deadline=0s", "retry_deadline"),
            ("s3://b?connect_timeout=soon", "connect_timeout"),
            ("s3://b?read_timeout=-3s", "read_timeout"),
        ] {
            match err(conn) {
                ConnectionError::BadParameter(found, why) => {
                    assert_eq!(found, name, "{conn}");
                    assert!(why.contains("expected"), "{why}");
                }
                other => panic!("{conn}: {other:?}"),
            }
        }
        assert!(
            err("memory://b?retries=0")
                .to_string()
                .contains("memory://")
        );
    }

    #[test]
    fn endpoint_form() {
        let (c, prefix) = s3("http://minio:mini%40pass@127.0.0.1:9000/data/tenants/acme");
        assert_eq!(c.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert!(c.force_path_style);
        assert_eq!(c.bucket, "data");
        assert_eq!(prefix, "tenants/acme/");
        assert_eq!(
            c.credentials.unwrap().secret_access_key.expose(),
            "mini@pass"
        );
        let (c, prefix) = s3("https://r2.example.com/bucket?region=auto");
        assert_eq!(c.endpoint.as_deref(), Some("https://r2.example.com"));
        assert_eq!(
            (c.bucket.as_str(), prefix.as_str(), c.region.as_deref()),
            ("bucket", "", Some("auto"))
        );
    }

    #[test]
    fn memory_and_file_forms() {
        assert_eq!(
            StorageConfig::parse("memory://bucket/a/b").unwrap(),
            StorageConfig::Memory {
                bucket: "bucket".into(),
                prefix: "a/b/".into()
            }
        );
        let file = |conn: &str| match StorageConfig::parse(conn).unwrap() {
            StorageConfig::File { path } => path,
            other => panic!("{other:?}"),
        };
        assert_eq!(file("file:///data/s3db"), PathBuf::from("/data/s3db"));
        assert_eq!(file("file:///data/my%20db"), PathBuf::from("/data/my db"));
        assert_eq!(
            file("file://./relative/dir"),
            PathBuf::from("./relative/dir")
        );
        assert_eq!(file("file://../up"), PathBuf::from("../up"));
        assert_eq!(file("file://localhost/abs"), PathBuf::from("/abs"));
    }

    #[test]
    fn every_error_says_what_is_wrong() {
        assert!(matches!(err("just-a-bucket"), ConnectionError::NotAUrl(_)));
        assert_eq!(
            err("ftp://x/y"),
            ConnectionError::UnknownScheme("ftp".into())
        );
        assert!(matches!(err("s3://"), ConnectionError::MissingBucket(_)));
        assert!(matches!(
            err("s3:///prefix"),
            ConnectionError::MissingBucket(_)
        ));
        assert!(matches!(
            err("memory://"),
            ConnectionError::MissingBucket(_)
        ));
        assert!(matches!(
            err("http://host:9000"),
            ConnectionError::MissingBucket(_)
        ));
        assert!(matches!(
            err("http://host:9000/"),
            ConnectionError::MissingBucket(_)
        ));
        assert!(matches!(
            err("http://host:99999/b"),
            ConnectionError::BadPort(_)
        ));
        assert!(matches!(
            err("http://host:port/b"),
            ConnectionError::BadPort(_)
        ));
        assert!(matches!(
            err("http://host:0/b"),
            ConnectionError::BadPort(_)
        ));
        assert!(matches!(
            err("s3://bucket:9000/p"),
            ConnectionError::BadPort(_)
        ));
        assert!(matches!(
            err("http://:9000/b"),
            ConnectionError::MissingHost
        ));
        // URL rules read the first segment as the host here, leaving no bucket.
        assert!(matches!(
            err("http:///bucket"),
            ConnectionError::MissingBucket(_)
        ));
        assert_eq!(
            err("s3://KEY@bucket"),
            ConnectionError::IncompleteCredentials
        );
        assert_eq!(
            err("s3://:SECRET@bucket"),
            ConnectionError::IncompleteCredentials
        );
        assert_eq!(
            err("s3://KEY:@bucket"),
            ConnectionError::IncompleteCredentials
        );
        assert_eq!(
            err("s3://K:%FF@bucket"),
            ConnectionError::BadEncoding("secret key")
        );
        assert_eq!(
            err("s3://bucket/%FF"),
            ConnectionError::BadEncoding("key prefix")
        );
        assert_eq!(
            err("s3://b?endpoint=x"),
            ConnectionError::UnknownParameter("endpoint".into())
        );
        assert!(matches!(
            err("s3://b?region="),
            ConnectionError::BadParameter("region", _)
        ));
        assert_eq!(
            err("memory://K:S@b"),
            ConnectionError::Unexpected("memory://")
        );
        assert_eq!(err("file:///x?y=1"), ConnectionError::Unexpected("file://"));
        assert!(matches!(
            err("file://relative"),
            ConnectionError::BadFilePath(_)
        ));
        assert!(matches!(err("file://"), ConnectionError::BadFilePath(_)));
        // Dot segments would collapse when the displayed string is parsed again.
        for conn in [
            "http://h/b/x%2F.%2Fy",
            "s3://b/p%2F..%2Fq",
            "memory://m/a%2F.",
        ] {
            assert!(
                matches!(err(conn), ConnectionError::BadParameter(..)),
                "{conn}"
            );
        }
        // Messages name the problem.
        assert!(err("ftp://x").to_string().contains("unknown scheme"));
        assert!(err("http://h:99999/b").to_string().contains("port"));
        let storage_error: Error = err("s3://").into();
        assert_eq!(storage_error.kind(), ErrorKind::InvalidInput);
    }

    #[test]
    fn secrets_are_never_shown() {
        let conns = [
            "s3://AKID:TopSecret@bucket/p?region=eu-west-1",
            "https://AKID:TopSecret@host:8443/bucket/p",
        ];
        for conn in conns {
            let config = StorageConfig::parse(conn).unwrap();
            for shown in [
                config.to_string(),
                format!("{config:?}"),
                format!("{config:#?}"),
            ] {
                assert!(!shown.contains("TopSecret"), "{shown}");
            }
            assert!(config.to_string().contains("AKID:***@"));
        }
        // Errors do not echo the secret either.
        let shown = err("http://AKID:TopSecret@host:99999/b").to_string();
        assert!(!shown.contains("TopSecret"), "{shown}");
    }

    #[test]
    fn display_round_trips_without_secrets() {
        for conn in [
            "s3://bucket/apps/crm",
            "s3://bucket/?region=eu-west-1",
            "s3://bucket/?retries=0",
            "http://h:1/b/p?region=x&retries=3&retry_deadline=1500ms&connect_timeout=2s\
             &read_timeout=0.0005",
            "http://127.0.0.1:9000/data/tenants/acme",
            "https://host/bucket/a%20b",
            "memory://bucket/prefix",
            "file:///data/s3db",
            "file://./relative",
        ] {
            let config = StorageConfig::parse(conn).unwrap();
            assert_eq!(
                StorageConfig::parse(&config.to_string()).unwrap(),
                config,
                "{conn}"
            );
        }
    }

    /// Found by the `connection_string` fuzz target: a `%2F` in the bucket made a config whose
    /// displayed form parsed as another bucket and prefix.
    #[test]
    fn encoded_slashes_never_split_differently_when_displayed() {
        for conn in [
            "https://AKIAhttps://A:s%2Fec@rte@3.example&hom/te",
            "s3://a%2Fb/x",
            "memory://a%2Fb/x",
        ] {
            assert!(
                matches!(err(conn), ConnectionError::BadParameter("bucket", _)),
                "{conn}"
            );
        }
        let (_, prefix) = s3("s3://bucket/a%2F%2Fb/%2F");
        assert_eq!(prefix, "a/b/");
        let config = StorageConfig::parse("memory://bucket/%2F").unwrap();
        assert_eq!(StorageConfig::parse(&config.to_string()).unwrap(), config);
        // An access key with an encoded `/` stays in the user part when displayed.
        let config = StorageConfig::parse("https://AK%2FID:secret@host/bucket/p").unwrap();
        let shown = config.to_string();
        assert_eq!(shown, "https://AK%2FID:***@host/bucket/p");
        let (back, _) = s3(&shown);
        assert_eq!(back.credentials.unwrap().access_key_id, "AK/ID");
    }

    #[tokio::test]
    async fn open_applies_prefix_and_shares_memory_buckets() {
        use crate::ext::StorageExt;
        let app = open("memory://connection-test/tenants/acme").await.unwrap();
        app.put_bytes("users/1", "x").await.unwrap();
        let bucket = open("memory://connection-test").await.unwrap();
        assert_eq!(
            bucket.list_keys("").await.unwrap(),
            ["tenants/acme/users/1"]
        );

        let dir = tempfile::tempdir().unwrap();
        let conn = format!("file://{}", dir.path().display());
        let root = open(&conn).await.unwrap();
        root.put_bytes("tenants/acme/users/1", "x").await.unwrap();
        let acme = open(&format!("{conn}/tenants/acme")).await.unwrap();
        assert_eq!(acme.list_keys("").await.unwrap(), ["users/1"]);

        assert_eq!(
            open("nope://x").await.unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    }
}
