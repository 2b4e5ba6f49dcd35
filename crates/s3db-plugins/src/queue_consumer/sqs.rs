//! Amazon SQS source: `ReceiveMessage`, `DeleteMessage` after the write,
//! `ChangeMessageVisibility` to bring a failed message back sooner.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::MessageSystemAttributeName;

use super::{Delivery, MessageSource};
use crate::sqs::describe;
use crate::{Error, Result};

/// Reads an SQS queue (Amazon SQS, moto, LocalStack, ElasticMQ).
///
/// Each receive asks for up to [`SqsSource::max_messages`] messages (10), hidden from other
/// consumers for [`SqsSource::visibility_timeout`] (30 s): a consumer that dies mid-message
/// never deletes it, so SQS delivers it again once that time has passed. A message whose
/// write failed is made visible again after [`SqsSource::retry_delay`] (5 s). The delivery
/// count is SQS's `ApproximateReceiveCount`. Receives long-poll for
/// [`SqsSource::wait_time`] (20 s); when the queue is empty and the wait time is zero, the
/// source sleeps [`SqsSource::poll_interval`] (1 s) between receives.
///
/// ```no_run
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use std::time::Duration;
/// use s3db_plugins::queue_consumer::{QueueConsumer, SqsSource};
///
/// let client = s3db_plugins::sqs::client(&s3db_storage::S3Config::new("")).await?;
/// let source = SqsSource::new(client, "https://sqs.eu-west-1.amazonaws.com/123456789012/users")
///     .visibility_timeout(Duration::from_secs(60));
/// let consumer = QueueConsumer::builder().source(source, ["users"]).build()?;
/// # Ok::<(), s3db_plugins::Error>(())
/// # }).unwrap();
/// ```
pub struct SqsSource {
    name: String,
    client: Client,
    queue_url: String,
    max_messages: i32,
    visibility_timeout: Duration,
    retry_delay: Duration,
    wait_time: Duration,
    poll_interval: Duration,
}

impl std::fmt::Debug for SqsSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqsSource")
            .field("name", &self.name)
            .field("queue_url", &self.queue_url)
            .finish_non_exhaustive()
    }
}

/// Whole seconds, as SQS takes them (at most `max`).
fn seconds(duration: Duration, max: u64) -> i32 {
    i32::try_from(duration.as_secs().min(max)).unwrap_or(i32::MAX)
}

impl SqsSource {
    /// A source named `sqs` reading the queue at `queue_url` (see [`crate::sqs::client`]).
    pub fn new(client: Client, queue_url: impl Into<String>) -> SqsSource {
        SqsSource {
            name: "sqs".into(),
            client,
            queue_url: queue_url.into(),
            max_messages: 10,
            visibility_timeout: Duration::from_secs(30),
            retry_delay: Duration::from_secs(5),
            wait_time: Duration::from_secs(20),
            poll_interval: Duration::from_secs(1),
        }
    }

    /// Renames the source (the name of its dead letters).
    pub fn named(mut self, name: impl Into<String>) -> SqsSource {
        self.name = name.into();
        self
    }

    /// Messages per receive (1 to 10).
    pub fn max_messages(mut self, messages: u32) -> SqsSource {
        self.max_messages = i32::try_from(messages.clamp(1, 10)).unwrap_or(10);
        self
    }

    /// How long a received message stays hidden from other consumers (whole seconds, at
    /// most 12 hours): longer than a write takes.
    pub fn visibility_timeout(mut self, timeout: Duration) -> SqsSource {
        self.visibility_timeout = timeout;
        self
    }

    /// How long a message whose write failed stays hidden before it is delivered again.
    pub fn retry_delay(mut self, delay: Duration) -> SqsSource {
        self.retry_delay = delay;
        self
    }

    /// How long a receive waits for messages (long polling, whole seconds up to 20; zero
    /// asks once and returns).
    pub fn wait_time(mut self, wait: Duration) -> SqsSource {
        self.wait_time = wait;
        self
    }

    /// The pause after an empty receive when [`SqsSource::wait_time`] is zero.
    pub fn poll_interval(mut self, interval: Duration) -> SqsSource {
        self.poll_interval = interval;
        self
    }

    fn fail<E, R>(&self, what: &str, error: aws_sdk_sqs::error::SdkError<E, R>) -> Error
    where
        E: aws_sdk_sqs::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        let reason = format!("{what} on {}: {}", self.queue_url, describe(&error));
        Error::target(&self.name, reason, error)
    }
}

#[async_trait]
impl MessageSource for SqsSource {
    fn name(&self) -> &str {
        &self.name
    }

    async fn receive(&self) -> Result<Vec<Delivery>> {
        let output = self
            .client
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(self.max_messages)
            .visibility_timeout(seconds(self.visibility_timeout, 43_200))
            .wait_time_seconds(seconds(self.wait_time, 20))
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(|e| self.fail("ReceiveMessage", e))?;
        let deliveries: Vec<Delivery> = output
            .messages()
            .iter()
            .filter_map(|message| {
                let attempt = message
                    .attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|count| count.parse().ok())
                    .unwrap_or(1);
                Some(Delivery {
                    body: message.body().unwrap_or_default().as_bytes().to_vec(),
                    message_id: message.message_id().unwrap_or_default().to_owned(),
                    attempt,
                    handle: message.receipt_handle()?.to_owned(),
                })
            })
            .collect();
        if deliveries.is_empty() && self.wait_time.is_zero() {
            tokio::time::sleep(self.poll_interval).await;
        }
        Ok(deliveries)
    }

    async fn ack(&self, delivery: &Delivery) -> Result<()> {
        self.client
            .delete_message()
            .queue_url(&self.queue_url)
            .receipt_handle(&delivery.handle)
            .send()
            .await
            .map_err(|e| self.fail("DeleteMessage", e))?;
        Ok(())
    }

    async fn retry(&self, delivery: &Delivery) -> Result<()> {
        self.client
            .change_message_visibility()
            .queue_url(&self.queue_url)
            .receipt_handle(&delivery.handle)
            .visibility_timeout(seconds(self.retry_delay, 43_200))
            .send()
            .await
            .map_err(|e| self.fail("ChangeMessageVisibility", e))?;
        Ok(())
    }
}
