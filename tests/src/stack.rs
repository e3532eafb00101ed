//! API and gateway in one process on loopback ports, against a real broker.

use crate::{kafka, TestDb};
use hookgate_api::{Authorizer, WebhookApi};
use hookgate_bus::{KafkaConfig, Producer};
use hookgate_gateway::{Gateway, GatewayConfig, Metrics, Pipeline, RateLimit};
use hookgate_proto::v1::{self as pb, webhook_service_client::WebhookServiceClient};
use prometheus_client::registry::Registry;
use std::{net::SocketAddr, num::NonZeroU32, sync::Arc, time::Duration};
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
    /// `HOOKGATE_REJECTION_TOPIC`, created by the stack.
    pub rejection_topic: Option<String>,
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
            rejection_topic: None,
        }
    }
}

pub struct Stack {
    pub http_addr: SocketAddr,
    pub grpc_addr: SocketAddr,
    pub options: StackOptions,
    pub producer: Producer,
    registry: Arc<Registry>,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Stack {
    pub async fn start(db: &TestDb, options: StackOptions) -> Self {
        let store = db.store().await;
        let http = TcpListener::bind("127.0.0.1:0").await.expect("bind http");
        let grpc = TcpListener::bind("127.0.0.1:0").await.expect("bind grpc");
        let http_addr = http.local_addr().expect("addr");
        let grpc_addr = grpc.local_addr().expect("addr");
        let public_url = format!("http://{http_addr}");
        let kafka = KafkaConfig {
            trigger_topic: options.topic.clone(),
            reply_topic: format!("{}-replies", options.topic),
            topic_partitions: 1,
            publish_timeout: options.request_timeout,
            max_record_bytes: options.max_record_bytes,
            ..KafkaConfig::local(options.brokers.clone())
        };
        if options.create_topics {
            hookgate_bus::ensure_topics(&kafka)
                .await
                .expect("create topics");
        }
        let producer = Producer::new(&kafka).expect("producer");
        let mut registry = prometheus_client::registry::Registry::with_prefix("hookgate");
        let metrics = Metrics::new(&mut registry);
        kafka.metrics.register(&mut registry);
        let config = GatewayConfig {
            max_body_bytes: options.max_body_bytes,
            header_read_timeout: options.header_read_timeout,
            body_read_timeout: options.body_read_timeout,
            rate_limit: options.rate_limit,
            ..GatewayConfig::new(public_url.clone())
        };
        let mut pipeline = Pipeline::new(producer.clone(), &config, metrics.clone())
            .with_secret_store(store.clone())
            .with_deduplication(store.clone(), &kafka)
            .expect("deduplication producer");
        if let Some(verifier) = options.alexa.clone() {
            pipeline = pipeline.with_alexa(verifier);
        }
        if let Some(topic) = &options.rejection_topic {
            let config = KafkaConfig {
                trigger_topic: topic.clone(),
                ..kafka.clone()
            };
            hookgate_bus::ensure_topics(&config)
                .await
                .expect("create the rejection topic");
            let producer = Producer::new(&config).expect("rejection producer");
            pipeline = pipeline.with_rejections(hookgate_gateway::RejectionTopic::new(producer));
        }
        if options.create_topics {
            let router = hookgate_bus::ReplyRouter::start(&kafka)
                .await
                .expect("reply router");
            pipeline = pipeline.with_replies(router);
        }
        let cache = hookgate_gateway::WebhookCache::new(store.clone(), config.cache_ttl);
        let api = WebhookApi::new(store, public_url, Authorizer::default())
            .with_tester(Arc::new(pipeline.clone()))
            .with_gateway_cache(Arc::new(cache.clone()));
        let gateway = Arc::new(Gateway {
            cache,
            pipeline,
            config,
            metrics,
        });
        let (stop, stopped) = watch::channel(false);
        let wait = |mut rx: watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        let tasks = vec![
            tokio::spawn(hookgate_gateway::serve(
                http,
                gateway,
                wait(stopped.clone()),
            )),
            tokio::spawn({
                let shutdown = wait(stopped);
                async move {
                    hookgate_api::serve(grpc, api, shutdown)
                        .await
                        .expect("grpc server");
                }
            }),
        ];
        Self {
            http_addr,
            grpc_addr,
            options,
            producer,
            registry: Arc::new(registry),
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
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}
