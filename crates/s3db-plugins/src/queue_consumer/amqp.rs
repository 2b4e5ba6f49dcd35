//! RabbitMQ (AMQP 0.9.1) source through lapin: a consumer with a prefetch window, `basic.ack`
//! after the write, a confirmed re-publish carrying the attempt count for a failed write.

use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, Consumer};
use tokio::sync::Mutex;

use super::{Delivery, MessageSource};
use crate::{Error, Result};

/// The header carrying how many deliveries of a message failed before this copy.
pub const ATTEMPTS_HEADER: &str = "x-s3db-attempts";

/// How long one receive waits for a first message before returning none (so a stop is
/// noticed and the loop stays responsive).
const RECEIVE_WAIT: Duration = Duration::from_secs(1);

/// Reads a RabbitMQ queue (any AMQP 0.9.1 broker).
///
/// The queue is declared durable if missing (as s3db.js's consumer does; turn it off with
/// [`AmqpSource::declare`] when the queue is declared elsewhere with other arguments). Up to
/// [`AmqpSource::prefetch`] (10) messages are in flight unacknowledged; each is acknowledged
/// after its write. A consumer that dies mid-message leaves it unacknowledged: the broker
/// delivers it again when the connection drops. A message whose write failed is published
/// again to the queue with the header `x-s3db-attempts` counting its failed deliveries, and
/// the original acknowledged only once the broker has confirmed the copy, so the count
/// survives any broker and queue type (a classic queue counts nothing itself). The copy goes
/// to the back of the queue.
///
/// `amqps://` URLs use TLS on rustls (ring) with the system's trusted certificates. The
/// connection is opened on the first receive and reopened after any error.
///
/// ```no_run
/// use s3db_plugins::queue_consumer::{AmqpSource, QueueConsumer};
///
/// let source = AmqpSource::new("amqp://guest:guest@127.0.0.1:5672/%2f", "users").prefetch(20);
/// let consumer = QueueConsumer::builder().source(source, ["users"]).build()?;
/// # Ok::<(), s3db_plugins::Error>(())
/// ```
pub struct AmqpSource {
    name: String,
    url: String,
    queue: String,
    prefetch: u16,
    declare: bool,
    session: Mutex<Option<Session>>,
}

impl std::fmt::Debug for AmqpSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password: only the name and queue are shown.
        f.debug_struct("AmqpSource")
            .field("name", &self.name)
            .field("queue", &self.queue)
            .finish_non_exhaustive()
    }
}

struct Session {
    connection: Connection,
    channel: Channel,
    consumer: Consumer,
}

impl AmqpSource {
    /// A source named `amqp` reading `queue` on the broker at `url`
    /// (`amqp://user:password@host:port/vhost`, the default vhost being `%2f`).
    pub fn new(url: impl Into<String>, queue: impl Into<String>) -> AmqpSource {
        AmqpSource {
            name: "amqp".into(),
            url: url.into(),
            queue: queue.into(),
            prefetch: 10,
            declare: true,
            session: Mutex::new(None),
        }
    }

    /// Renames the source (the name of its dead letters).
    pub fn named(mut self, name: impl Into<String>) -> AmqpSource {
        self.name = name.into();
        self
    }

    /// Messages delivered ahead of their acknowledgement (at least 1).
    pub fn prefetch(mut self, messages: u16) -> AmqpSource {
        self.prefetch = messages.max(1);
        self
    }

    /// Whether to declare the queue (durable) when connecting; default true.
    pub fn declare(mut self, declare: bool) -> AmqpSource {
        self.declare = declare;
        self
    }

    fn fail(&self, what: &str, error: lapin::Error) -> Error {
        let reason = format!("{what} (queue {:?}): {error}", self.queue);
        Error::target(&self.name, reason, error)
    }

    async fn connect(&self) -> Result<Session> {
        let connection = Connection::connect(&self.url, ConnectionProperties::default())
            .await
            .map_err(|e| self.fail("connect", e))?;
        let channel = connection
            .create_channel()
            .await
            .map_err(|e| self.fail("open channel", e))?;
        if self.declare {
            channel
                .queue_declare(
                    self.queue.as_str().into(),
                    QueueDeclareOptions {
                        durable: true,
                        ..QueueDeclareOptions::default()
                    },
                    FieldTable::default(),
                )
                .await
                .map_err(|e| self.fail("declare queue", e))?;
        }
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(|e| self.fail("confirm.select", e))?;
        channel
            .basic_qos(self.prefetch, BasicQosOptions::default())
            .await
            .map_err(|e| self.fail("basic.qos", e))?;
        let consumer = channel
            .basic_consume(
                self.queue.as_str().into(),
                format!("s3db-{}-{}", self.name, std::process::id())
                    .as_str()
                    .into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(|e| self.fail("basic.consume", e))?;
        Ok(Session {
            connection,
            channel,
            consumer,
        })
    }

    /// The open channel, for acknowledging or publishing.
    async fn channel(&self) -> Result<Channel> {
        match &*self.session.lock().await {
            Some(session) => Ok(session.channel.clone()),
            None => Err(Error::Target {
                target: self.name.clone(),
                reason: "the connection was lost; the message will be delivered again".into(),
                source: None,
            }),
        }
    }

    /// Drops the session after an error: the next receive reconnects (messages not
    /// acknowledged go back to the queue).
    async fn reset(&self) {
        if let Some(session) = self.session.lock().await.take() {
            let _ = session.connection.close(200, "reconnecting".into()).await;
        }
    }

    async fn ack_tag(&self, delivery: &Delivery) -> Result<()> {
        let tag: u64 = delivery.handle.parse().map_err(|_| Error::Target {
            target: self.name.clone(),
            reason: format!("delivery tag {:?} is not a number", delivery.handle),
            source: None,
        })?;
        let outcome = self
            .channel()
            .await?
            .basic_ack(tag, BasicAckOptions::default())
            .await;
        if let Err(error) = outcome {
            self.reset().await;
            return Err(self.fail("basic.ack", error));
        }
        Ok(())
    }
}

/// Failed deliveries before this one, from the attempts header.
fn failed_before(properties: &BasicProperties) -> u32 {
    let value = properties
        .headers()
        .as_ref()
        .and_then(|headers| headers.inner().get(ATTEMPTS_HEADER));
    let count = match value {
        Some(AMQPValue::LongLongInt(n)) => *n,
        Some(AMQPValue::LongInt(n)) => i64::from(*n),
        Some(AMQPValue::LongUInt(n)) => i64::from(*n),
        Some(AMQPValue::ShortInt(n)) => i64::from(*n),
        Some(AMQPValue::ShortUInt(n)) => i64::from(*n),
        _ => 0,
    };
    u32::try_from(count.max(0)).unwrap_or(u32::MAX)
}

#[async_trait]
impl MessageSource for AmqpSource {
    fn name(&self) -> &str {
        &self.name
    }

    async fn receive(&self) -> Result<Vec<Delivery>> {
        let mut guard = self.session.lock().await;
        if guard.is_none() {
            *guard = Some(self.connect().await?);
        }
        let Some(session) = guard.as_mut() else {
            return Ok(Vec::new());
        };
        let mut received = Vec::new();
        let first = match tokio::time::timeout(RECEIVE_WAIT, session.consumer.next()).await {
            Err(_) => return Ok(Vec::new()),
            Ok(next) => next,
        };
        let mut next = first;
        loop {
            match next {
                Some(Ok(delivery)) => {
                    let attempt = failed_before(&delivery.properties).saturating_add(1);
                    let message_id = match delivery.properties.message_id() {
                        Some(id) => id.as_str().to_owned(),
                        None => format!("delivery-{}", delivery.delivery_tag),
                    };
                    received.push(Delivery {
                        body: delivery.data,
                        message_id,
                        attempt,
                        handle: delivery.delivery_tag.to_string(),
                    });
                }
                Some(Err(error)) => {
                    drop(guard);
                    self.reset().await;
                    return Err(self.fail("consume", error));
                }
                None => {
                    drop(guard);
                    self.reset().await;
                    return Err(Error::Target {
                        target: self.name.clone(),
                        reason: format!("the broker cancelled the consumer of {:?}", self.queue),
                        source: None,
                    });
                }
            }
            if received.len() >= usize::from(self.prefetch) {
                break;
            }
            // Take what already arrived, without waiting.
            match futures::FutureExt::now_or_never(session.consumer.next()) {
                Some(more) => next = more,
                None => break,
            }
        }
        Ok(received)
    }

    async fn ack(&self, delivery: &Delivery) -> Result<()> {
        self.ack_tag(delivery).await
    }

    async fn retry(&self, delivery: &Delivery) -> Result<()> {
        let mut headers = FieldTable::default();
        headers.insert(
            ATTEMPTS_HEADER.into(),
            AMQPValue::LongLongInt(i64::from(delivery.attempt)),
        );
        let properties = BasicProperties::default()
            .with_headers(headers)
            .with_delivery_mode(2)
            .with_message_id(delivery.message_id.as_str().into());
        let channel = self.channel().await?;
        let confirm = channel
            .basic_publish(
                "".into(),
                self.queue.as_str().into(),
                BasicPublishOptions::default(),
                &delivery.body,
                properties,
            )
            .await;
        let confirmed = match confirm {
            Ok(confirm) => confirm.await,
            Err(error) => Err(error),
        };
        match confirmed {
            Ok(confirmation) if confirmation.is_ack() => self.ack_tag(delivery).await,
            Ok(_) => Err(Error::Target {
                target: self.name.clone(),
                reason: format!(
                    "the broker refused the retry copy of message {}",
                    delivery.message_id
                ),
                source: None,
            }),
            Err(error) => {
                self.reset().await;
                Err(self.fail("publish the retry copy", error))
            }
        }
    }

    async fn close(&self) -> Result<()> {
        self.reset().await;
        Ok(())
    }
}
