//! API and gateway in one process on loopback ports, against a real broker.

use crate::{kafka, TestDb};
use hookgate::{App, Overrides, Roles, Settings};
use hookgate_bus::{Producer, ReplyRouter};
use hookgate_gateway::RateLimit;
use hookgate_proto::v1::{self as pb, webhook_service_client::WebhookServiceClient};
use hookgate_storage::Store;
use prometheus_client::registry::Registry;
use std::{
    net::SocketAddr,
    num::NonZeroU32,
    sync::Arc,
    time::{Duration, Instant},
};
use tokio::{net::TcpListener, sync::watch};
use tonic::transport::Channel;

/// What a test may change about the stack.
#[derive(Clone)]
pub struct StackOptions {
    pub brokers: String,
    /// Create the topics; false when the test made them itself (the mock cluster).
    pub create_topics: bool,
    pub topic: String,
    pub rate_limit: RateLimit,
    pub max_body_bytes: usize,
    /// `HOOKGATE_MAX_RECORD_BYTES`.
    pub max_record_bytes: usize,
    pub request_timeout: Duration,
    pub header_read_timeout: Duration,
    pub body_read_timeout: Duration,
    /// Checks Alexa signatures against a test CA instead of Amazon's chains.
    pub alexa: Option<hookgate_gateway::AlexaVerifier>,
    /// Requests that may wait for a workflow reply at once.
    pub max_waiting_requests: u32,
    /// Reach the database through this URL (e.g. a proxy) instead of the test database's.
    pub database_url: Option<String>,
    /// `HOOKGATE_REJECTION_TOPIC`, created by the stack.
    pub rejection_topic: Option<String>,
    /// `HOOKGATE_KAFKA_PROP_*`: librdkafka properties for every Kafka client.
    pub kafka_properties: Vec<(String, String)>,
}

impl Default for StackOptions {
    fn default() -> Self {
        Self {
            brokers: kafka::brokers(),
            create_topics: true,
            topic: kafka::unique_topic("triggers"),
            rate_limit: RateLimit {
                requests: NonZeroU32::new(10_000).unwrap_or(NonZeroU32::MIN),
                window: Duration::from_secs(1),
            },
            max_body_bytes: 262_144,
            max_record_bytes: 1_000_000,
            request_timeout: Duration::from_secs(10),
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            alexa: None,
            max_waiting_requests: 10_000,
            database_url: None,
            rejection_topic: None,
            kafka_properties: Vec::new(),
        }
    }
}

pub struct Stack {
    pub http_addr: SocketAddr,
    pub grpc_addr: SocketAddr,
    pub admin_addr: SocketAddr,
    pub options: StackOptions,
    pub producer: Producer,
    registry: Arc<Registry>,
    stop: Arc<watch::Sender<bool>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Stack {
    /// `hookgate serve` as the binary builds it, on loopback ports chosen by the system.
    pub async fn start(db: &TestDb, options: StackOptions) -> Self {
        let store = match &options.database_url {
            Some(url) => {
                db.store().await;
                Store::connect(url)
                    .await
                    .expect("connect through the given url")
            }
            None => db.store().await,
        };
        let http = TcpListener::bind("127.0.0.1:0").await.expect("bind http");
        let grpc = TcpListener::bind("127.0.0.1:0").await.expect("bind grpc");
        let admin = TcpListener::bind("127.0.0.1:0").await.expect("bind admin");
        let http_addr = http.local_addr().expect("addr");
        let grpc_addr = grpc.local_addr().expect("addr");
        let admin_addr = admin.local_addr().expect("addr");
        let settings = Settings {
            database_url: options
                .database_url
                .clone()
                .unwrap_or_else(|| db.url.clone())
                .into(),
            grpc_addr,
            http_addr,
            admin_addr,
            public_url: format!("http://{http_addr}"),
            kafka_brokers: options.brokers.clone(),
            trigger_topic: options.topic.clone(),
            reply_topic: format!("{}-replies", options.topic),
            topic_partitions: 1,
            request_timeout: options.request_timeout,
            max_body_bytes: options.max_body_bytes as u64,
            header_timeout: options.header_read_timeout,
            body_timeout: options.body_read_timeout,
            rate_limit_requests: options.rate_limit.requests.get(),
            rate_limit_window: options.rate_limit.window,
            max_waiting_requests: options.max_waiting_requests,
            max_record_bytes: options.max_record_bytes as u64,
            rejection_topic: options.rejection_topic.clone().unwrap_or_default(),
            kafka_props: options
                .kafka_properties
                .iter()
                .map(|(key, value)| (key.clone(), value.as_str().into()))
                .collect(),
            ..Settings::defaults().expect("default settings")
        };
        if let Some(topic) = &options.rejection_topic {
            // Before the first refusal, so none is lost to a topic still being created.
            let rejections = hookgate_bus::KafkaConfig {
                trigger_topic: topic.clone(),
                ..settings.kafka()
            };
            hookgate_bus::ensure_topics(&rejections)
                .await
                .expect("create the rejection topic");
        }
        let overrides = Overrides {
            store: Some(store),
            http: Some(http),
            grpc: Some(grpc),
            admin: Some(admin),
            alexa: options.alexa.clone(),
            skip_topic_creation: !options.create_topics,
        };
        let app = App::build_with(settings, Roles::SERVE, overrides)
            .await
            .expect("build the application");
        if options.create_topics {
            wait_until_reading(app.replies()).await;
        }
        let producer = app.producer().clone();
        let registry = app.registry();
        let stop = Arc::new(watch::channel(false).0);
        let tasks = vec![tokio::spawn({
            let stop = stop.clone();
            async move { app.run(stop).await.expect("hookgate stopped with an error") }
        })];
        Self {
            http_addr,
            grpc_addr,
            admin_addr,
            options,
            producer,
            registry,
            stop,
            tasks,
        }
    }

    pub async fn client(&self) -> WebhookServiceClient<Channel> {
        let channel = Channel::from_shared(format!("http://{}", self.grpc_addr))
            .expect("uri")
            .connect()
            .await
            .expect("connect");
        WebhookServiceClient::new(channel)
    }

    /// Creates a webhook under `applications/{app}`.
    pub async fn create(&self, app: &str, webhook: pb::Webhook) -> pb::Webhook {
        self.client()
            .await
            .create_webhook(pb::CreateWebhookRequest {
                parent: format!("applications/{app}"),
                webhook: Some(webhook),
            })
            .await
            .expect("create webhook")
            .into_inner()
    }

    /// `/metrics` as the binary would serve it.
    pub fn metrics_text(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry).expect("metrics");
        out
    }

    pub fn reply_topic(&self) -> String {
        format!("{}-replies", self.options.topic)
    }

    pub fn reader(&self) -> kafka::Reader {
        kafka::Reader::new(&self.options.brokers, &self.options.topic)
    }

    /// Stops accepting, waits for in-flight requests.
    pub async fn stop(self) {
        self.stop.send_replace(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// Replies are read from the topic's end: a test that answers at once must not be early.
async fn wait_until_reading(replies: &ReplyRouter) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !replies.is_reading() {
        assert!(Instant::now() < deadline, "the reply topic is never read");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
