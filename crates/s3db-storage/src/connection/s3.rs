//! The S3 forms of connection strings (`s3://` and `http(s)://`, crate feature `s3`).

use std::fmt;
use std::time::Duration;

use url::Url;

use super::{
    ConnectionError, PATH_SET, StorageConfig, decode, decode_bucket, decode_prefix, encode,
};
use crate::layers::RetryPolicy;
use crate::s3::{DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT, S3Config, S3Credentials};

fn credentials(url: &Url) -> Result<Option<S3Credentials>, ConnectionError> {
    match (url.username(), url.password()) {
        ("", None) => Ok(None),
        ("", Some(_)) | (_, None) | (_, Some("")) => Err(ConnectionError::IncompleteCredentials),
        (user, Some(password)) => Ok(Some(S3Credentials {
            access_key_id: decode(user, "access key")?,
            secret_access_key: decode(password, "secret key")?.into(),
        })),
    }
}

/// Most retries a connection string may ask for.
const MAX_RETRIES: u32 = 100;

/// Parses a duration parameter: `500ms`, `30s`, `2m`, or plain (possibly fractional) seconds.
fn duration(name: &'static str, value: &str) -> Result<Duration, ConnectionError> {
    let bad = || {
        ConnectionError::BadParameter(
            name,
            format!("{value:?}: expected a duration such as 500ms, 30s or 2m"),
        )
    };
    let (number, unit) = match value {
        v if v.ends_with("ms") => (&v[..v.len() - 2], 0.001),
        v if v.ends_with('s') => (&v[..v.len() - 1], 1.0),
        v if v.ends_with('m') => (&v[..v.len() - 1], 60.0),
        v => (v, 1.0),
    };
    let seconds = number.parse::<f64>().map_err(|_| bad())? * unit;
    Duration::try_from_secs_f64(seconds)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(bad)
}

/// Applies the S3 forms' query parameters (see the [module docs](self)).
fn apply_params(
    url: &Url,
    config: &mut S3Config,
    retry: &mut RetryPolicy,
) -> Result<(), ConnectionError> {
    for (name, value) in url.query_pairs() {
        match name.as_ref() {
            "region" if value.is_empty() => {
                return Err(ConnectionError::BadParameter("region", "empty".into()));
            }
            "region" => config.region = Some(value.into_owned()),
            "retries" => {
                let retries = value
                    .parse::<u32>()
                    .ok()
                    .filter(|n| *n <= MAX_RETRIES)
                    .ok_or_else(|| {
                        ConnectionError::BadParameter(
                            "retries",
                            format!("{value:?}: expected a whole number from 0 to {MAX_RETRIES}"),
                        )
                    })?;
                retry.max_attempts = retries + 1;
            }
            "retry_deadline" => retry.deadline = duration("retry_deadline", &value)?,
            "connect_timeout" => config.connect_timeout = duration("connect_timeout", &value)?,
            "read_timeout" => config.read_timeout = duration("read_timeout", &value)?,
            other => return Err(ConnectionError::UnknownParameter(other.to_owned())),
        }
    }
    Ok(())
}

pub(super) fn parse_s3(url: &Url) -> Result<StorageConfig, ConnectionError> {
    let bucket = decode_bucket(url.host_str().unwrap_or_default(), "s3://bucket/prefix")?;
    if url.port().is_some() {
        return Err(ConnectionError::BadPort(
            "s3:// takes no port; use http(s)://host:port/bucket for custom endpoints".into(),
        ));
    }
    let mut config = S3Config {
        credentials: credentials(url)?,
        ..S3Config::new(bucket)
    };
    let mut retry = RetryPolicy::default();
    apply_params(url, &mut config, &mut retry)?;
    let prefix = decode_prefix(url.path().split('/'))?;
    Ok(StorageConfig::S3 {
        config,
        prefix,
        retry,
    })
}

pub(super) fn parse_endpoint(url: &Url) -> Result<StorageConfig, ConnectionError> {
    let host = url.host_str().ok_or(ConnectionError::MissingHost)?;
    let mut endpoint = format!("{}://{host}", url.scheme());
    if let Some(port) = url.port() {
        if port == 0 {
            return Err(ConnectionError::BadPort("0".into()));
        }
        endpoint.push_str(&format!(":{port}"));
    }
    let mut segments = url.path().split('/').filter(|s| !s.is_empty());
    let bucket = decode_bucket(
        segments.next().unwrap_or_default(),
        "http(s)://host:port/bucket/prefix (the bucket is the first path segment)",
    )?;
    let mut config = S3Config {
        credentials: credentials(url)?,
        endpoint: Some(endpoint),
        force_path_style: true,
        ..S3Config::new(bucket)
    };
    let mut retry = RetryPolicy::default();
    apply_params(url, &mut config, &mut retry)?;
    let prefix = decode_prefix(segments)?;
    Ok(StorageConfig::S3 {
        config,
        prefix,
        retry,
    })
}

/// What [`encode_user`] escapes: [`PATH_SET`] and `/`.
const USER_SET: &percent_encoding::AsciiSet = &PATH_SET.add(b'/');

/// Percent-encodes the access key for display: like [`encode`], and `/` too (a `/` would end
/// the authority).
fn encode_user(component: &str) -> String {
    percent_encoding::utf8_percent_encode(component, USER_SET).to_string()
}

/// A duration as a connection-string parameter (`30s`, or `1500ms` when not whole seconds).
fn show_duration(duration: Duration) -> String {
    if duration.subsec_nanos() == 0 {
        format!("{}s", duration.as_secs())
    } else if duration.subsec_nanos().is_multiple_of(1_000_000) {
        format!("{}ms", duration.as_millis())
    } else {
        duration.as_secs_f64().to_string()
    }
}

/// Writes an S3 config as its connection string, the secret key replaced by `***`.
pub(super) fn fmt(
    config: &S3Config,
    prefix: &str,
    retry: &RetryPolicy,
    f: &mut fmt::Formatter<'_>,
) -> fmt::Result {
    let creds = config
        .credentials
        .as_ref()
        .map(|c| format!("{}:***@", encode_user(&c.access_key_id)))
        .unwrap_or_default();
    let prefix = encode(prefix.trim_end_matches('/'));
    let bucket = encode(&config.bucket);
    match &config.endpoint {
        None => write!(f, "s3://{creds}{bucket}/{prefix}")?,
        Some(endpoint) => {
            let (scheme, host) = endpoint.split_once("://").unwrap_or(("http", endpoint));
            write!(f, "{scheme}://{creds}{host}/{bucket}/{prefix}")?;
        }
    }
    let default = RetryPolicy::default();
    let params = [
        config
            .region
            .as_ref()
            .map(|region| ("region", encode(region))),
        (retry.max_attempts != default.max_attempts).then(|| {
            let retries = retry.max_attempts.saturating_sub(1);
            ("retries", retries.to_string())
        }),
        (retry.deadline != default.deadline)
            .then(|| ("retry_deadline", show_duration(retry.deadline))),
        (config.connect_timeout != DEFAULT_CONNECT_TIMEOUT)
            .then(|| ("connect_timeout", show_duration(config.connect_timeout))),
        (config.read_timeout != DEFAULT_READ_TIMEOUT)
            .then(|| ("read_timeout", show_duration(config.read_timeout))),
    ];
    for (i, (name, value)) in params.into_iter().flatten().enumerate() {
        let separator = if i == 0 { '?' } else { '&' };
        write!(f, "{separator}{name}={value}")?;
    }
    Ok(())
}
