//! Amazon SQS clients for the replicator's [`crate::replicator::SqsTarget`] and the queue
//! consumer's [`crate::queue_consumer::SqsSource`] (crate feature `sqs`).

use aws_sdk_sqs::Client;
use s3db_storage::S3Config;

use crate::Result;

/// An SQS client with the AWS settings of `aws`: its region, endpoint (moto, LocalStack, ...)
/// and credentials, resolved the way the S3 backend resolves them (`AWS_REGION`,
/// `AWS_ENDPOINT_URL_SQS`, the default credentials chain... when left open), on the same
/// HTTPS client (rustls with ring). The bucket and S3-only settings of `aws` are not used.
///
/// ```no_run
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// // Region and credentials from the environment; endpoint: AWS.
/// let client = s3db_plugins::sqs::client(&s3db_storage::S3Config::new("")).await?;
/// # Ok::<(), s3db_plugins::Error>(())
/// # }).unwrap();
/// ```
pub async fn client(aws: &S3Config) -> Result<Client> {
    Ok(Client::new(&aws.sdk_config().await?))
}

/// Whether the queue at `url` is a FIFO queue (AWS requires their names to end in `.fifo`).
pub(crate) fn is_fifo(queue_url: &str) -> bool {
    queue_url.trim_end_matches('/').ends_with(".fifo")
}

/// The SDK error with its service code and message, on one line.
pub(crate) fn describe<E, R>(error: &aws_sdk_sqs::error::SdkError<E, R>) -> String
where
    E: aws_sdk_sqs::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_sqs::error::ProvideErrorMetadata;
    match (error.code(), error.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_owned(),
        _ => {
            let mut text = error.to_string();
            let mut source = std::error::Error::source(error);
            while let Some(cause) = source {
                text.push_str(": ");
                text.push_str(&cause.to_string());
                source = cause.source();
            }
            text
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn fifo_queues_are_told_by_their_name() {
        assert!(super::is_fifo("http://127.0.0.1:9/123/orders.fifo"));
        assert!(!super::is_fifo("http://127.0.0.1:9/123/orders"));
    }
}
