//! The S3 backend: AWS S3 or any S3-compatible server (MinIO, R2, moto, s3s...) via aws-sdk-s3.
//!
//! * Conditional writes: `PutMode::Create` sends `If-None-Match: *`, `PutMode::IfMatch`
//!   sends `If-Match`. A 412 becomes `AlreadyExists` (create) or `PreconditionFailed`
//!   (if-match); S3's 404 for `If-Match` on a missing key is reported as
//!   `PreconditionFailed` too, as the memory and filesystem backends do.
//! * Errors: 404 → `NotFound`; 401/403 (`AccessDenied`, `InvalidAccessKeyId`,
//!   `SignatureDoesNotMatch`, `ExpiredToken`) → `PermissionDenied`; 503/`SlowDown`/429 →
//!   `Throttled`; other 5xx, 409 (`ConditionalRequestConflict`), timeouts, connection
//!   failures and responses cut short → `Unavailable`.
//! * The 2 KB user-metadata budget is checked before sending (`MetadataTooLarge`), since
//!   not every S3-compatible server enforces it. Metadata keys are lower-cased (S3 does).
//! * The SDK's own retries are off: retrying belongs to the retry layer, which knows how
//!   to resolve a conditional write that may have landed, and which the default stack puts
//!   around this backend (see [`crate::layers`]). Each attempt is bounded by
//!   [`S3Config::connect_timeout`] and [`S3Config::read_timeout`].
//! * Requests carry checksums only where S3 requires them (`DeleteObjects`), which keeps
//!   older S3-compatible servers happy.
//! * Keys are used as given; a key prefix is applied by wrapping in [`crate::Prefixed`].
//!
//! What the configuration leaves open is resolved the AWS way when the client is built:
//!
//! * Region: [`S3Config::region`] (`?region=`), else `AWS_REGION`, else `AWS_DEFAULT_REGION`,
//!   else the `region` of the AWS profile (`AWS_PROFILE`, else `default`, in `~/.aws/config`),
//!   else `us-east-1`. The EC2 instance metadata is not asked for a region.
//! * Endpoint: [`S3Config::endpoint`] (an `http(s)://` connection string), else
//!   `AWS_ENDPOINT_URL_S3`, else `AWS_ENDPOINT_URL`, else the profile's `endpoint_url`, else
//!   AWS (`AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true` skips the variables and the profile).
//!   An endpoint from the environment keeps the SDK's addressing: path-style for an IP
//!   address, virtual-hosted (`bucket.host`) otherwise.
//! * Credentials: [`S3Config::credentials`] (`KEY:SECRET@`), else the AWS default chain
//!   (environment variables, profile, SSO, web identity, container, EC2 instance metadata
//!   with one short attempt). The chain is asked once up front, so missing credentials fail
//!   [`S3Storage::connect`] with one `InvalidInput` error naming the fix.

use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use aws_config::profile::ProfileFileRegionProvider;
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, RequestChecksumCalculation, ResponseChecksumValidation};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Delete, MetadataDirective, ObjectIdentifier};
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use futures::stream::{self, BoxStream, StreamExt};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use s3db_codec::budget::S3_METADATA_LIMIT;
use s3db_codec::secret::SecretString;

use crate::aws_defaults;
use crate::error::{Error, ErrorKind, Operation, Result};
use crate::etag::{etag_of, etags_match, quoted};
use crate::metadata_budget::check_metadata_budget;
use crate::packed::PackedMetadata;
use crate::storage::Storage;
use crate::types::{
    Capabilities, CopyOptions, GetResult, HeadResult, ListOptions, Metadata, ObjectMeta, PutMode,
    PutPayload,
};

/// Keys per `DeleteObjects` request (the S3 maximum).
pub const DELETE_BATCH: usize = 1000;
/// Default region when none is given.
pub const DEFAULT_REGION: &str = "us-east-1";
/// Default time one attempt may take to open a connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default time one attempt may wait for the response after sending the request.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Static S3 credentials. `Debug` never shows the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Credentials {
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: SecretString,
}

/// Where and how to reach a bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Config {
    /// Bucket name.
    pub bucket: String,
    /// Region; `None` resolves it from the environment and the AWS profile, else `us-east-1`
    /// (see the [module docs](self)).
    pub region: Option<String>,
    /// Custom endpoint such as `http://127.0.0.1:9000`; `None` means `AWS_ENDPOINT_URL_S3`,
    /// `AWS_ENDPOINT_URL`, the profile's `endpoint_url`, else AWS.
    pub endpoint: Option<String>,
    /// Path-style addressing (`endpoint/bucket/key`); needed by most custom endpoints.
    pub force_path_style: bool,
    /// Static credentials; `None` uses the default AWS provider chain.
    pub credentials: Option<S3Credentials>,
    /// User-metadata budget checked before sending (`None` disables). Default: 2048.
    pub max_metadata_bytes: Option<usize>,
    /// Per attempt: time to open a connection before failing `Unavailable` (default 5 s).
    pub connect_timeout: Duration,
    /// Per attempt: time to wait for the response once the request is sent before failing
    /// `Unavailable` (default 30 s; a body still streaming is covered by the SDK's stalled
    /// stream protection instead).
    pub read_timeout: Duration,
}

impl S3Config {
    /// A configuration for `bucket` with the region, endpoint and credentials of the
    /// environment (see the [module docs](self)).
    pub fn new(bucket: impl Into<String>) -> S3Config {
        S3Config {
            bucket: bucket.into(),
            region: None,
            endpoint: None,
            force_path_style: false,
            credentials: None,
            max_metadata_bytes: Some(S3_METADATA_LIMIT),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            read_timeout: DEFAULT_READ_TIMEOUT,
        }
    }

    /// Builds an SDK client for this configuration, resolving the region, endpoint and
    /// credentials it leaves open (see the [module docs](self)). Fails with `InvalidInput`
    /// when no credentials are found, `Unavailable` when looking for them times out.
    pub async fn client(&self) -> Result<Client> {
        let builder = aws_sdk_s3::config::Builder::from(&self.sdk_config().await?)
            .force_path_style(self.force_path_style)
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(self.connect_timeout)
                    .read_timeout(self.read_timeout)
                    .build(),
            )
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
        Ok(Client::from_conf(builder.build()))
    }

    /// The AWS settings this configuration resolves (see the [module docs](self)): region,
    /// endpoint, credentials and the HTTPS client (rustls on ring), for building clients of
    /// other AWS services the way the S3 client is built — `aws_sdk_sqs::config::Builder::from(&sdk_config)`.
    /// The bucket, path style, metadata budget and timeouts are S3's alone and not in it.
    /// Fails like [`S3Config::client`] when no credentials are found.
    pub async fn sdk_config(&self) -> Result<aws_config::SdkConfig> {
        let region = aws_defaults::region(
            self.region.as_deref(),
            &aws_defaults::process_env,
            ProfileFileRegionProvider::new(),
        )
        .await;
        let http = aws_defaults::https_client();
        let credentials = match &self.credentials {
            Some(creds) => SharedCredentialsProvider::new(Credentials::new(
                creds.access_key_id.clone(),
                creds.secret_access_key.expose(),
                None,
                None,
                "s3db-connection-string",
            )),
            None => aws_defaults::default_credentials(region.clone(), http.clone()).await?,
        };
        tracing::debug!(
            bucket = %self.bucket,
            region = %region,
            endpoint = self.endpoint.as_deref().unwrap_or("from the environment, else AWS"),
            "AWS settings"
        );
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http)
            .region(region)
            .credentials_provider(credentials);
        if let Some(endpoint) = &self.endpoint {
            loader = loader.endpoint_url(endpoint);
        }
        Ok(loader.load().await)
    }
}

/// A bucket reached through aws-sdk-s3 (see the [module docs](self)).
#[derive(Clone)]
pub struct S3Storage {
    client: Client,
    bucket: String,
    endpoint: Option<String>,
    max_metadata_bytes: Option<usize>,
}

impl fmt::Debug for S3Storage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Storage")
            .field("bucket", &self.bucket)
            .field("endpoint", &self.endpoint.as_deref().unwrap_or("aws"))
            .finish_non_exhaustive()
    }
}

impl S3Storage {
    /// Connects to the bucket described by `config`: resolves the region and credentials (see
    /// the [module docs](self)); no request is sent to the bucket yet.
    pub async fn connect(config: &S3Config) -> Result<S3Storage> {
        Ok(S3Storage {
            client: config.client().await?,
            bucket: config.bucket.clone(),
            endpoint: config.endpoint.clone(),
            max_metadata_bytes: config.max_metadata_bytes,
        })
    }

    /// Wraps an existing SDK client (its retry and checksum settings are used as they are).
    pub fn from_client(client: Client, bucket: impl Into<String>) -> S3Storage {
        S3Storage {
            client,
            bucket: bucket.into(),
            endpoint: None,
            max_metadata_bytes: Some(S3_METADATA_LIMIT),
        }
    }

    /// The SDK client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The bucket name.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The metadata of a write as the SDK takes it, keys lower-cased as S3 stores them,
    /// after checking it against the configured budget.
    fn checked_metadata(
        &self,
        operation: Operation,
        key: &str,
        metadata: PackedMetadata,
    ) -> Result<HashMap<String, String>> {
        let metadata = metadata.lowercase_keys();
        check_metadata_budget(operation, key, metadata.byte_len(), self.max_metadata_bytes)?;
        Ok(metadata
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect())
    }

    async fn delete_batch(&self, keys: &[String]) -> Result<()> {
        let op = Operation::DeleteMany;
        let first = keys.first().map(String::as_str).unwrap_or_default();
        let objects = keys
            .iter()
            .map(|key| ObjectIdentifier::builder().key(key).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::new(ErrorKind::InvalidInput, op, first).with_source(e))?;
        let delete = Delete::builder()
            .set_objects(Some(objects))
            .quiet(true)
            .build()
            .map_err(|e| Error::new(ErrorKind::InvalidInput, op, first).with_source(e))?;
        let output = self
            .client
            .delete_objects()
            .bucket(&self.bucket)
            .delete(delete)
            .send()
            .await
            .map_err(|e| sdk_error(e, op, first))?;
        match output.errors().first() {
            None => Ok(()),
            Some(failed) => {
                let kind = match failed.code() {
                    Some("SlowDown") => ErrorKind::Throttled,
                    Some("InternalError" | "ServiceUnavailable") => ErrorKind::Unavailable,
                    Some("AccessDenied") => ErrorKind::PermissionDenied,
                    _ => ErrorKind::Internal,
                };
                Err(
                    Error::new(kind, op, failed.key().unwrap_or(first)).with_message(format!(
                        "{} of {} keys not deleted: {} {}",
                        output.errors().len(),
                        keys.len(),
                        failed.code().unwrap_or("?"),
                        failed.message().unwrap_or("")
                    )),
                )
            }
        }
    }
}

/// Maps an SDK failure to a storage error (see the module docs for the table).
fn sdk_error<E>(
    error: SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
    op: Operation,
    key: &str,
) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let status = error.raw_response().map(|r| r.status().as_u16());
    let code = error.code().map(str::to_owned);
    let kind = match (&error, status, code.as_deref()) {
        // A response cut short (the server died mid-answer) is as temporary as no answer.
        (
            SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_),
            _,
            _,
        ) => ErrorKind::Unavailable,
        (_, _, Some("NoSuchBucket")) => ErrorKind::InvalidInput,
        (_, Some(404), _) | (_, _, Some("NoSuchKey" | "NotFound")) => ErrorKind::NotFound,
        (_, Some(401 | 403), _)
        | (
            _,
            _,
            Some(
                "AccessDenied"
                | "InvalidAccessKeyId"
                | "SignatureDoesNotMatch"
                | "ExpiredToken"
                | "InvalidToken",
            ),
        ) => ErrorKind::PermissionDenied,
        (_, Some(412), _) | (_, _, Some("PreconditionFailed")) => ErrorKind::PreconditionFailed,
        (_, Some(503 | 429), _)
        | (_, _, Some("SlowDown" | "Throttling" | "RequestLimitExceeded")) => ErrorKind::Throttled,
        (_, Some(409), _) => ErrorKind::Unavailable,
        (_, Some(500..=599), _) => ErrorKind::Unavailable,
        (_, _, Some("MetadataTooLarge")) => ErrorKind::MetadataTooLarge,
        (_, _, Some("KeyTooLongError")) => ErrorKind::InvalidKey,
        _ => ErrorKind::Internal,
    };
    let message = match (status, code) {
        (Some(status), Some(code)) => format!("HTTP {status} {code}"),
        (Some(status), None) => format!("HTTP {status}"),
        (None, Some(code)) => code,
        (None, None) => "request failed".to_owned(),
    };
    Error::new(kind, op, key)
        .with_message(message)
        .with_source(error)
}

/// Re-reports `error` as `kind` during `operation`, keeping it as the source.
fn rewrap(error: Error, kind: ErrorKind, operation: Operation) -> Error {
    let (key, message) = (error.key().to_owned(), error.to_string());
    Error::new(kind, operation, key)
        .with_message(message)
        .with_source(error)
}

fn to_system_time(time: Option<&aws_smithy_types::DateTime>) -> SystemTime {
    time.and_then(|t| SystemTime::try_from(*t).ok())
        .unwrap_or(UNIX_EPOCH)
}

fn to_metadata(metadata: Option<&HashMap<String, String>>) -> Metadata {
    metadata
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
                .collect()
        })
        .unwrap_or_default()
}

fn to_size(length: Option<i64>) -> u64 {
    length.and_then(|l| u64::try_from(l).ok()).unwrap_or(0)
}

/// Characters escaped in `x-amz-copy-source` (everything but unreserved characters and `/`).
const COPY_SOURCE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

#[async_trait]
impl Storage for S3Storage {
    async fn put(&self, key: &str, payload: PutPayload, mode: PutMode) -> Result<String> {
        let op = Operation::Put;
        let metadata = self.checked_metadata(op, key, payload.metadata)?;
        let fallback_etag = etag_of(&payload.body);
        let mut request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .set_metadata(Some(metadata))
            .set_content_type(payload.content_type)
            .body(ByteStream::from(payload.body));
        request = match &mode {
            PutMode::Overwrite => request,
            PutMode::Create => request.if_none_match("*"),
            PutMode::IfMatch(etag) => request.if_match(etag),
        };
        let output = request.send().await.map_err(|e| {
            let error = sdk_error(e, op, key);
            match (&mode, error.kind()) {
                (PutMode::Create, ErrorKind::PreconditionFailed) => {
                    rewrap(error, ErrorKind::AlreadyExists, op)
                }
                (PutMode::IfMatch(_), ErrorKind::NotFound) => {
                    rewrap(error, ErrorKind::PreconditionFailed, op)
                }
                _ => error,
            }
        })?;
        Ok(output.e_tag().map_or(fallback_etag, quoted))
    }

    async fn get(&self, key: &str) -> Result<GetResult> {
        let op = Operation::Get;
        let output = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| sdk_error(e, op, key))?;
        let meta = ObjectMeta {
            key: key.to_owned(),
            size: to_size(output.content_length()),
            etag: quoted(output.e_tag().unwrap_or_default()),
            last_modified: to_system_time(output.last_modified()),
        };
        let metadata = to_metadata(output.metadata());
        let content_type = output.content_type().map(str::to_owned);
        let body = output.body.collect().await.map_err(|e| {
            Error::new(ErrorKind::Unavailable, op, key)
                .with_message("reading the body failed")
                .with_source(e)
        })?;
        Ok(GetResult {
            meta,
            metadata,
            content_type,
            body: body.into_bytes(),
        })
    }

    async fn head(&self, key: &str) -> Result<HeadResult> {
        let op = Operation::Head;
        let output = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| sdk_error(e, op, key))?;
        Ok(HeadResult {
            meta: ObjectMeta {
                key: key.to_owned(),
                size: to_size(output.content_length()),
                etag: quoted(output.e_tag().unwrap_or_default()),
                last_modified: to_system_time(output.last_modified()),
            },
            metadata: to_metadata(output.metadata()),
            content_type: output.content_type().map(str::to_owned),
        })
    }

    async fn copy(&self, from: &str, to: &str, options: CopyOptions) -> Result<String> {
        let op = Operation::Copy;
        if let Some(expected) = &options.source_if_match {
            // Some S3-compatible servers (moto 5) ignore `x-amz-copy-source-if-match`;
            // a HEAD first keeps the condition there too (atomically only where honoured).
            let current = self.head(from).await.map_err(|e| {
                let kind = e.kind();
                rewrap(e, kind, op)
            })?;
            if !etags_match(expected, &current.meta.etag) {
                return Err(
                    Error::new(ErrorKind::PreconditionFailed, op, from).with_message(format!(
                        "source If-Match {expected}, found {}",
                        current.meta.etag
                    )),
                );
            }
        }
        let source = format!("{}/{}", self.bucket, utf8_percent_encode(from, COPY_SOURCE));
        let mut request = self
            .client
            .copy_object()
            .bucket(&self.bucket)
            .key(to)
            .copy_source(source)
            .set_copy_source_if_match(options.source_if_match);
        if let Some((metadata, content_type)) = options.replace {
            let metadata = self.checked_metadata(op, to, metadata.into())?;
            request = request
                .metadata_directive(MetadataDirective::Replace)
                .set_metadata(Some(metadata))
                .set_content_type(content_type);
        }
        let output = request.send().await.map_err(|e| sdk_error(e, op, from))?;
        output
            .copy_object_result()
            .and_then(|r| r.e_tag())
            .map(quoted)
            .ok_or_else(|| {
                Error::new(ErrorKind::Internal, op, to)
                    .with_message("the copy response had no ETag")
            })
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| sdk_error(e, Operation::Delete, key))?;
        Ok(())
    }

    async fn delete_many(&self, keys: &[String]) -> Result<()> {
        for batch in keys.chunks(DELETE_BATCH) {
            self.delete_batch(batch).await?;
        }
        Ok(())
    }

    fn list(&self, options: ListOptions) -> BoxStream<'_, Result<ObjectMeta>> {
        enum Cursor {
            Start,
            Next(String),
            Done,
        }
        let page_size = options
            .page_size
            .map(|n| i32::try_from(n.clamp(1, 1000)).unwrap_or(1000));
        let options = std::sync::Arc::new(options);
        stream::unfold(Cursor::Start, move |cursor| {
            let options = options.clone();
            async move {
                let token = match cursor {
                    Cursor::Done => return None,
                    Cursor::Start => None,
                    Cursor::Next(token) => Some(token),
                };
                let sent = self
                    .client
                    .list_objects_v2()
                    .bucket(&self.bucket)
                    .prefix(&options.prefix)
                    .set_start_after(options.start_after.clone())
                    .set_max_keys(page_size)
                    .set_continuation_token(token)
                    .send()
                    .await;
                let output = match sent {
                    Ok(output) => output,
                    Err(e) => {
                        let error = sdk_error(e, Operation::List, &options.prefix);
                        return Some((vec![Err(error)], Cursor::Done));
                    }
                };
                let page: Vec<Result<ObjectMeta>> = output
                    .contents()
                    .iter()
                    .map(|object| {
                        Ok(ObjectMeta {
                            key: object.key().unwrap_or_default().to_owned(),
                            size: to_size(object.size()),
                            etag: quoted(object.e_tag().unwrap_or_default()),
                            last_modified: to_system_time(object.last_modified()),
                        })
                    })
                    .collect();
                let next = match output.next_continuation_token() {
                    Some(token) if output.is_truncated() == Some(true) => {
                        Cursor::Next(token.to_owned())
                    }
                    _ => Cursor::Done,
                };
                Some((page, next))
            }
        })
        .flat_map(stream::iter)
        .boxed()
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            transient_failures: true,
            ..Capabilities::conditional(self.max_metadata_bytes, DELETE_BATCH)
        }
    }
}
