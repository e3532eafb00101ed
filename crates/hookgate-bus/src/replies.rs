//! Routing workflow replies to the requests waiting for them.
//!
//! Every process reads every partition of the reply topic from its end (no consumer group),
//! so whichever gateway replica holds a request sees its reply. The first reply for a
//! `replyId` wins; later ones find nobody waiting and are dropped.

use crate::{BusError, KafkaConfig};
use rdkafka::{consumer::StreamConsumer, Message, Offset};
use serde_json::Value;
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};
use tokio::sync::oneshot;

type Waiters = Arc<Mutex<HashMap<String, oneshot::Sender<Value>>>>;

/// Reads the reply topic and hands each reply to its waiting request.
#[derive(Clone)]
pub struct ReplyRouter {
    waiters: Waiters,
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
    /// Starts reading `config.reply_topic` from its current end.
    pub async fn start(config: &KafkaConfig) -> Result<Self, BusError> {
        let consumer =
            crate::consumer::whole_topic(config, &config.reply_topic, Offset::End).await?;
        let waiters: Waiters = Arc::default();
        tokio::spawn(route(consumer, waiters.clone()));
        tracing::info!(topic = %config.reply_topic, "reading workflow replies");
        Ok(Self { waiters })
    }

    /// Registers interest in `reply_id`; call before publishing so a fast reply is not missed.
    pub fn register(&self, reply_id: &str) -> PendingReply {
        let (sender, receiver) = oneshot::channel();
        if let Ok(mut waiters) = self.waiters.lock() {
            waiters.insert(reply_id.to_owned(), sender);
        }
        PendingReply {
            reply_id: reply_id.to_owned(),
            waiters: self.waiters.clone(),
            receiver: Some(receiver),
        }
    }
}

async fn route(consumer: Arc<StreamConsumer>, waiters: Waiters) {
    loop {
        let message = match consumer.recv().await {
            Ok(message) => message,
            Err(error) => {
                tracing::warn!(%error, "reply topic read failed");
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
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
        let waiter = waiters.lock().ok().and_then(|mut w| w.remove(&reply_id));
        if let Some(waiter) = waiter {
            let _ = waiter.send(value);
        }
    }
}
