//! Routing workflow replies to the requests waiting for them.
//!
//! Every process reads every partition of the reply topic from its end (no consumer group),
//! so whichever gateway replica holds a request sees its reply. The first reply for a
//! `replyId` wins; later ones find nobody waiting and are dropped.

use crate::{
    consumer::{is_fatal, report_read_error, READ_RETRY},
    watch::BrokerWatch,
    BusError, KafkaConfig,
};
use rdkafka::{
    consumer::{Consumer, StreamConsumer},
    Message, Offset, TopicPartitionList,
};
use serde_json::Value;
use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};
use tokio::sync::oneshot;

type Waiters = Arc<Mutex<HashMap<String, oneshot::Sender<Value>>>>;

/// How often the reply topic is checked for partitions added since start-up.
const PARTITION_CHECK: Duration = Duration::from_secs(30);
const MAX_RETRY_DELAY: Duration = Duration::from_secs(30);
/// How often, during an outage, the brokers are asked whether they answer again.
const OUTAGE_CHECK: Duration = Duration::from_secs(1);

/// Reads the reply topic and hands each reply to its waiting request.
#[derive(Clone)]
pub struct ReplyRouter {
    waiters: Waiters,
    reading: Arc<AtomicBool>,
}

/// A request's claim on its reply; dropping it stops waiting.
pub struct PendingReply {
    reply_id: String,
    waiters: Waiters,
    receiver: Option<oneshot::Receiver<Value>>,
}

impl PendingReply {
    /// The reply message, or `None` when `timeout` passes first.
    pub async fn wait(mut self, timeout: Duration) -> Option<Value> {
        let receiver = self.receiver.take()?;
        tokio::time::timeout(timeout, receiver).await.ok()?.ok()
    }
}

impl Drop for PendingReply {
    fn drop(&mut self) {
        if let Ok(mut waiters) = self.waiters.lock() {
            waiters.remove(&self.reply_id);
        }
    }
}

impl ReplyRouter {
    fn idle() -> Self {
        Self {
            waiters: Arc::default(),
            reading: Arc::default(),
        }
    }

    /// Starts reading `config.reply_topic` from its current end; fails when Kafka or the
    /// topic cannot be reached.
    pub async fn start(config: &KafkaConfig) -> Result<Self, BusError> {
        let consumer =
            crate::consumer::whole_topic(config, &config.reply_topic, Offset::End).await?;
        let router = Self::idle();
        router.spawn_route(consumer, config.clone());
        Ok(router)
    }

    /// Like [`ReplyRouter::start`], but never fails: a process that starts while Kafka is
    /// away keeps trying, and answers `wait_for_reply` requests with 503 until it reads.
    pub fn start_in_background(config: &KafkaConfig) -> Self {
        let router = Self::idle();
        let config = config.clone();
        let starting = router.clone();
        tokio::spawn(async move {
            let mut delay = Duration::from_millis(500);
            loop {
                let topic = &config.reply_topic;
                match crate::consumer::whole_topic(&config, topic, Offset::End).await {
                    Ok(consumer) => return starting.spawn_route(consumer, config),
                    Err(error) => tracing::warn!(
                        %error,
                        retry_in = ?delay,
                        "workflow replies unavailable: wait_for_reply webhooks answer 503"
                    ),
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(MAX_RETRY_DELAY);
            }
        });
        router
    }

    fn spawn_route(&self, consumer: Arc<StreamConsumer>, config: KafkaConfig) {
        self.reading.store(true, Ordering::Release);
        tracing::info!(topic = %config.reply_topic, "reading workflow replies");
        tokio::spawn(route(consumer, config, self.clone()));
    }

    /// Whether the reply topic is being read, so `wait_for_reply` requests can be served.
    pub fn is_reading(&self) -> bool {
        self.reading.load(Ordering::Acquire)
    }

    /// Registers interest in `reply_id`; call before publishing so a fast reply is not
    /// missed. `None` while the reply topic is not being read yet.
    pub fn register(&self, reply_id: &str) -> Option<PendingReply> {
        if !self.is_reading() {
            return None;
        }
        let (sender, receiver) = oneshot::channel();
        if let Ok(mut waiters) = self.waiters.lock() {
            waiters.insert(reply_id.to_owned(), sender);
        }
        Some(PendingReply {
            reply_id: reply_id.to_owned(),
            waiters: self.waiters.clone(),
            receiver: Some(receiver),
        })
    }
}

async fn route(mut consumer: Arc<StreamConsumer>, config: KafkaConfig, router: ReplyRouter) {
    let topic = config.reply_topic.clone();
    let watch = BrokerWatch::new("replies", config.metrics.clone());
    let mut partition_check = tokio::time::interval(PARTITION_CHECK);
    partition_check.tick().await;
    let mut outage_check = tokio::time::interval(OUTAGE_CHECK);
    loop {
        let message = tokio::select! {
            message = consumer.recv() => message,
            _ = partition_check.tick() => {
                follow_new_partitions(&consumer, &topic).await;
                continue;
            }
            _ = outage_check.tick() => {
                if watch.is_down() && reachable(&consumer, &topic).await {
                    watch.up();
                }
                continue;
            }
        };
        let message = match message {
            Ok(message) => message,
            Err(error) if is_fatal(&error) || consumer.client().fatal_error().is_some() => {
                tracing::error!(%error, "reply consumer reached a fatal state; replacing it");
                router.reading.store(false, Ordering::Release);
                consumer = replacement(&config, &consumer).await;
                router.reading.store(true, Ordering::Release);
                tracing::info!(%topic, "reply consumer replaced");
                continue;
            }
            Err(error) => {
                report_read_error(&watch, &error);
                tokio::time::sleep(READ_RETRY).await;
                continue;
            }
        };
        watch.up();
        let Some(value) = message
            .payload()
            .and_then(|p| serde_json::from_slice::<Value>(p).ok())
        else {
            tracing::debug!(
                offset = message.offset(),
                "ignoring a reply that is not JSON"
            );
            continue;
        };
        let Some(reply_id) = hookgate_domain::reply::reply_id(&value).map(str::to_owned) else {
            continue;
        };
        let waiter = router
            .waiters
            .lock()
            .ok()
            .and_then(|mut w| w.remove(&reply_id));
        if let Some(waiter) = waiter {
            let _ = waiter.send(value);
        }
    }
}

/// Whether the brokers answer a metadata request for `topic`.
async fn reachable(consumer: &Arc<StreamConsumer>, topic: &str) -> bool {
    let consumer = consumer.clone();
    let topic = topic.to_owned();
    let metadata = tokio::task::spawn_blocking(move || {
        consumer.fetch_metadata(Some(&topic), Duration::from_secs(1))
    })
    .await;
    matches!(metadata, Ok(Ok(_)))
}

/// A new consumer that goes on where `dead` stopped, retried until it can be made.
async fn replacement(config: &KafkaConfig, dead: &Arc<StreamConsumer>) -> Arc<StreamConsumer> {
    let resume = positions(dead, &config.reply_topic).unwrap_or_default();
    let mut delay = Duration::from_millis(500);
    loop {
        let made = crate::consumer::reader(config).and_then(|consumer| {
            consumer
                .assign(&resume)
                .map_err(|e| BusError::Topic {
                    topic: config.reply_topic.clone(),
                    reason: e.to_string(),
                })
                .map(|()| consumer)
        });
        match made {
            Ok(consumer) => return consumer,
            Err(error) => {
                tracing::warn!(%error, retry_in = ?delay, "could not replace the reply consumer")
            }
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(MAX_RETRY_DELAY);
    }
}

/// The assignment with each partition at its read position where it has one.
fn positions(consumer: &StreamConsumer, topic: &str) -> Option<TopicPartitionList> {
    let (assignment, read) = (consumer.assignment().ok()?, consumer.position().ok()?);
    let mut list = TopicPartitionList::new();
    for element in assignment.elements() {
        let offset = read
            .find_partition(topic, element.partition())
            .map(|p| p.offset())
            .filter(|o| matches!(o, Offset::Offset(_)))
            .unwrap_or(element.offset());
        let _ = list.add_partition_offset(topic, element.partition(), offset);
    }
    Some(list)
}

/// Adds partitions created since the assignment, read from their beginning (all they hold
/// was written after this process started), keeping the positions of the others.
async fn follow_new_partitions(consumer: &Arc<StreamConsumer>, topic: &str) {
    let for_metadata = consumer.clone();
    let name = topic.to_owned();
    let metadata = tokio::task::spawn_blocking(move || {
        for_metadata.fetch_metadata(Some(&name), Duration::from_secs(5))
    })
    .await;
    let Ok(Ok(metadata)) = metadata else {
        return;
    };
    let Some(mut updated) = positions(consumer, topic) else {
        return;
    };
    let partitions = metadata
        .topics()
        .iter()
        .filter(|t| t.name() == topic)
        .flat_map(|t| t.partitions());
    let mut added = 0;
    for partition in partitions {
        if updated.find_partition(topic, partition.id()).is_none() {
            let _ = updated.add_partition_offset(topic, partition.id(), Offset::Beginning);
            added += 1;
        }
    }
    if added == 0 {
        return;
    }
    match consumer.assign(&updated) {
        Ok(()) => tracing::info!(%topic, added, "reading new reply partitions"),
        Err(error) => tracing::warn!(%error, %topic, "could not read new reply partitions"),
    }
}
