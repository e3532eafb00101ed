//! Wiring the crates into one application: storage, Kafka, the gRPC API, the ingress and
//! the admin endpoint, each present as the process's roles ask.

use crate::{
    admin::{Admin, ReadinessCheck},
    config::Settings,
};
use anyhow::{bail, Context};
use hookgate_api::{Authorizer, WebhookApi};
use hookgate_bus::{KafkaConfig, Producer, ReplyRouter};
use hookgate_gateway::{
    AlexaVerifier, Gateway, GatewayConfig, Metrics, Pipeline, RateLimit, RejectionTopic,
    WebhookSnapshot,
};
use hookgate_storage::Store;
use prometheus_client::registry::Registry;
use std::{
    net::SocketAddr,
    num::NonZeroU32,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};
use tokio::{net::TcpListener, sync::watch, task::JoinSet};

/// How long shutdown waits for Kafka to acknowledge what is still queued.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(10);

/// Which parts a process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Roles {
    pub api: bool,
    pub gateway: bool,
}

impl Roles {
    pub const SERVE: Self = Self {
        api: true,
        gateway: true,
    };
    pub const API: Self = Self {
        api: true,
        gateway: false,
    };
    pub const GATEWAY: Self = Self {
        api: false,
        gateway: true,
    };
}

/// What an embedding program (the tests) supplies instead of what the settings say.
#[derive(Default)]
pub struct Overrides {
    /// An already connected (and migrated) store instead of connecting to the database URL.
    pub store: Option<Store>,
    /// Already bound listeners, so a caller can use port 0 and learn the address first.
    pub http: Option<TcpListener>,
    pub grpc: Option<TcpListener>,
    pub admin: Option<TcpListener>,
    /// Checks Alexa signatures against other roots than Amazon's.
    pub alexa: Option<AlexaVerifier>,
    /// Leaves topic creation (the rejection topic's too) to the caller.
    pub skip_topic_creation: bool,
}

/// A built application, listening but not yet serving: [`App::run`] serves it.
pub struct App {
    settings: Settings,
    roles: Roles,
    store: Store,
    kafka: KafkaConfig,
    producer: Producer,
    replies: ReplyRouter,
    pipeline: Pipeline,
    rejections: Option<RejectionTopic>,
    metrics: Metrics,
    registry: Arc<Registry>,
    config: GatewayConfig,
    authorizer: Option<Authorizer>,
    snapshot: Option<WebhookSnapshot>,
    grpc: Option<TcpListener>,
    http: Option<TcpListener>,
    admin: TcpListener,
}

impl App {
    /// Everything the settings describe, for `roles`.
    pub async fn build(settings: Settings, roles: Roles) -> anyhow::Result<Self> {
        Self::build_with(settings, roles, Overrides::default()).await
    }

    pub async fn build_with(
        settings: Settings,
        roles: Roles,
        overrides: Overrides,
    ) -> anyhow::Result<Self> {
        // Refuse an open API on a public address before touching anything else.
        let authorizer = match roles.api {
            true => Some(authorizer(&settings)?),
            false => None,
        };
        let store = match overrides.store {
            Some(store) => store,
            None => {
                Store::connect_with_pool(settings.database_url.expose(), settings.database_pool)
                    .await
                    .context("HOOKGATE_DATABASE_URL: cannot connect to the database")?
            }
        };
        let kafka = settings.kafka();
        let producer = Producer::new(&kafka)
            .context("HOOKGATE_KAFKA_PROP_*: invalid Kafka client configuration")?;
        if !overrides.skip_topic_creation {
            // Not fatal: /readyz names the topic until someone creates it.
            if let Err(error) = hookgate_bus::ensure_topics(&kafka).await {
                tracing::warn!(
                    %error,
                    "could not create topics; reporting not ready until they exist"
                );
            }
        }
        let grpc = match (roles.api, overrides.grpc) {
            (true, Some(listener)) => Some(listener),
            (true, None) => Some(bind(settings.grpc_addr, "HOOKGATE_GRPC_ADDR").await?),
            (false, _) => None,
        };
        let http = match (roles.gateway, overrides.http) {
            (true, Some(listener)) => Some(listener),
            (true, None) => Some(bind(settings.http_addr, "HOOKGATE_HTTP_ADDR").await?),
            (false, _) => None,
        };
        let admin = match overrides.admin {
            Some(listener) => listener,
            None => bind(settings.admin_addr, "HOOKGATE_ADMIN_ADDR").await?,
        };
        let mut registry = Registry::with_prefix("hookgate");
        let metrics = Metrics::new(&mut registry);
        kafka.metrics.register(&mut registry);
        let config = gateway_config(&settings);
        let replies = ReplyRouter::start_in_background(&kafka);
        let mut pipeline = Pipeline::new(producer.clone(), &config, metrics.clone())
            .with_replies(replies.clone())
            .with_secret_store(store.clone())
            .with_deduplication(store.clone(), &kafka)
            .context("HOOKGATE_KAFKA_PROP_*: invalid Kafka client configuration")?;
        if let Some(verifier) = overrides.alexa {
            pipeline = pipeline.with_alexa(verifier);
        }
        let rejections = rejection_topic(&settings, &kafka, !overrides.skip_topic_creation)?;
        if let Some(topic) = rejections.clone() {
            pipeline = pipeline.with_rejections(topic);
        }
        let snapshot = roles.gateway.then(|| WebhookSnapshot::new(store.clone()));
        Ok(Self {
            settings,
            roles,
            store,
            kafka,
            producer,
            replies,
            pipeline,
            rejections,
            metrics,
            registry: Arc::new(registry),
            config,
            authorizer,
            snapshot,
            grpc,
            http,
            admin,
        })
    }

    /// Where the ingress listens, when this process runs it.
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// Where the gRPC API listens, when this process runs it.
    pub fn grpc_addr(&self) -> Option<SocketAddr> {
        self.grpc.as_ref().and_then(|l| l.local_addr().ok())
    }

    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin.local_addr().ok()
    }

    pub fn producer(&self) -> &Producer {
        &self.producer
    }

    pub fn replies(&self) -> &ReplyRouter {
        &self.replies
    }

    /// Every metric `/metrics` serves.
    pub fn registry(&self) -> Arc<Registry> {
        self.registry.clone()
    }

    /// Serves until `stop` is set, then drains and flushes. A server that ends on its own
    /// sets `stop` for the others and makes this an error.
    pub async fn run(self, stop: Arc<watch::Sender<bool>>) -> anyhow::Result<()> {
        let stopped = || {
            let mut receiver = stop.subscribe();
            async move {
                let _ = receiver.wait_for(|stop| *stop).await;
            }
        };
        // Deduplicated records still being tried settle their claims before exit.
        let claimed = self.pipeline.clone();
        let mut tasks: JoinSet<anyhow::Result<()>> = JoinSet::new();
        let admin_server = Admin {
            registry: self.registry,
            checks: readiness(
                &self.store,
                self.snapshot.as_ref(),
                &self.producer,
                &self.kafka,
                &self.replies,
            ),
        };
        let admin_stop = stopped();
        tasks.spawn(async move {
            admin_server.serve(self.admin, admin_stop).await;
            Ok(())
        });
        if let Some(snapshot) = &self.snapshot {
            snapshot.spawn_sync(self.config.sync_interval);
        }
        if let (Some(listener), Some(authorizer)) = (self.grpc, self.authorizer) {
            let mut api = WebhookApi::new(
                self.store.clone(),
                self.settings.public_url.clone(),
                authorizer,
            )
            .with_tester(Arc::new(self.pipeline.clone()));
            if let Some(snapshot) = &self.snapshot {
                api = api.with_gateway(Arc::new(snapshot.clone()));
            }
            let (api_stop, drain) = (stopped(), self.settings.shutdown_timeout);
            tasks.spawn(async move {
                hookgate_api::serve_with_drain(listener, api, api_stop, drain)
                    .await
                    .context("the gRPC server failed")
            });
        }
        if let (Some(listener), Some(webhooks)) = (self.http, self.snapshot) {
            let gateway = Arc::new(Gateway {
                webhooks,
                pipeline: self.pipeline,
                config: self.config,
                metrics: self.metrics,
            });
            let gateway_stop = stopped();
            tasks.spawn(async move {
                hookgate_gateway::serve(listener, gateway, gateway_stop).await;
                Ok(())
            });
        }
        tracing::info!(
            grpc = self.roles.api.then(|| self.settings.grpc_addr.to_string()),
            http = self.roles.gateway.then(|| self.settings.http_addr.to_string()),
            admin = %self.settings.admin_addr,
            public_url = %self.settings.public_url,
            "hookgate listening"
        );
        let failure = supervise(tasks, &stop).await;
        // Requests were answered, or cut off when the drain timed out; a record still queued
        // now may yet land or time out. Either way no caller was told it was stored, so this
        // is worth a warning, not a failed exit.
        if let Err(error) = self.producer.flush(FLUSH_TIMEOUT).await {
            tracing::warn!(%error, queued = self.producer.in_flight(), "kafka producer not flushed at shutdown");
        }
        claimed.flush_claimed(FLUSH_TIMEOUT).await;
        if let Some(rejections) = &self.rejections {
            // Best effort, like the records themselves.
            let _ = rejections.producer().flush(FLUSH_TIMEOUT).await;
        }
        match failure {
            Some(error) => Err(error),
            None => {
                tracing::info!("stopped");
                Ok(())
            }
        }
    }
}

/// Waits for every server. One that ends before shutdown was asked for takes the others
/// down with it, so an orchestrator restarts the process instead of it running half-alive.
async fn supervise(
    mut tasks: JoinSet<anyhow::Result<()>>,
    stop: &watch::Sender<bool>,
) -> Option<anyhow::Error> {
    let mut failure = None;
    while let Some(joined) = tasks.join_next().await {
        let outcome = joined
            .map_err(anyhow::Error::from)
            .and_then(|served| served);
        let unasked = !*stop.borrow();
        if let Err(error) = outcome {
            tracing::error!(
                error = format!("{error:#}"),
                "a server failed; shutting down"
            );
            failure.get_or_insert(error);
        } else if unasked {
            failure.get_or_insert_with(|| anyhow::anyhow!("a server stopped unexpectedly"));
        }
        stop.send_replace(true);
    }
    failure
}

async fn bind(addr: SocketAddr, setting: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("{setting}: cannot listen on {addr}"))
}

fn authorizer(settings: &Settings) -> anyhow::Result<Authorizer> {
    let authorizer =
        Authorizer::parse(settings.api_tokens.expose()).context("HOOKGATE_API_TOKENS")?;
    if authorizer.is_open() {
        if !settings.grpc_addr.ip().is_loopback() {
            bail!(
                "HOOKGATE_API_TOKENS: no API tokens are configured, so the API would be open; refusing to listen on non-loopback {}",
                settings.grpc_addr
            );
        }
        tracing::warn!(
            addr = %settings.grpc_addr,
            "no api tokens configured: the grpc api is open to every local caller; set HOOKGATE_API_TOKENS"
        );
    }
    Ok(authorizer)
}

/// The producer for `HOOKGATE_REJECTION_TOPIC`, creating the topic when missing (and
/// `create`); `None` when the setting is empty.
fn rejection_topic(
    settings: &Settings,
    kafka: &KafkaConfig,
    create: bool,
) -> anyhow::Result<Option<RejectionTopic>> {
    if settings.rejection_topic.is_empty() {
        return Ok(None);
    }
    let config = KafkaConfig {
        trigger_topic: settings.rejection_topic.clone(),
        ..kafka.clone()
    };
    if create {
        // In the background: rejection records are best effort and must not hold up
        // start-up.
        let creating = config.clone();
        tokio::spawn(async move {
            if let Err(error) = hookgate_bus::ensure_topics(&creating).await {
                tracing::warn!(%error, topic = %creating.trigger_topic, "could not create the rejection topic");
            }
        });
    }
    let producer = Producer::new(&config)
        .context("HOOKGATE_KAFKA_PROP_*: invalid Kafka client configuration")?;
    Ok(Some(RejectionTopic::new(producer)))
}

fn gateway_config(settings: &Settings) -> GatewayConfig {
    GatewayConfig {
        max_body_bytes: usize::try_from(settings.max_body_bytes).unwrap_or(usize::MAX),
        max_header_bytes: usize::try_from(settings.max_header_bytes).unwrap_or(usize::MAX),
        header_read_timeout: settings.header_timeout,
        body_read_timeout: settings.body_timeout,
        rate_limit: RateLimit {
            requests: NonZeroU32::new(settings.rate_limit_requests).unwrap_or(NonZeroU32::MIN),
            window: settings.rate_limit_window,
        },
        sync_interval: settings.sync_interval,
        trusted_proxy_hops: usize::from(settings.trusted_proxy_hops),
        max_waiting_requests: usize::try_from(settings.max_waiting_requests).unwrap_or(usize::MAX),
        drain_timeout: settings.shutdown_timeout,
        ..GatewayConfig::new(settings.public_url.clone())
    }
}

/// A database that does not answer this fast is reported as down.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// `/readyz`'s checks, by the names `?exclude=` takes. A gateway's probe excludes
/// `database`: it serves from its snapshot through a database outage.
fn readiness(
    store: &Store,
    snapshot: Option<&WebhookSnapshot>,
    producer: &Producer,
    kafka: &KafkaConfig,
    replies: &ReplyRouter,
) -> Vec<(&'static str, ReadinessCheck)> {
    let mut checks = vec![
        ("database", database_check(store)),
        ("schema", schema_check(store)),
        ("kafka", kafka_check(producer, kafka, replies)),
    ];
    if let Some(snapshot) = snapshot.cloned() {
        let loaded: ReadinessCheck = Arc::new(move || {
            let loaded = snapshot.health();
            Box::pin(async move { loaded })
        });
        checks.push(("snapshot", loaded));
    }
    checks
}

/// The database answers.
fn database_check(store: &Store) -> ReadinessCheck {
    let store = store.clone();
    Arc::new(move || {
        let store = store.clone();
        Box::pin(async move {
            match tokio::time::timeout(PING_TIMEOUT, store.ping()).await {
                Err(_) => Err(format!("no answer within {PING_TIMEOUT:?}")),
                Ok(Err(e)) => Err(e.to_string()),
                Ok(Ok(())) => Ok(()),
            }
        })
    })
}

/// New pods take no traffic until migrations (run before them) reached their version.
/// Once they have, the answer is kept: schemas only move forward, and a gateway must not
/// turn unready over it when the database goes away.
fn schema_check(store: &Store) -> ReadinessCheck {
    let store = store.clone();
    let current = Arc::new(AtomicBool::new(false));
    Arc::new(move || {
        let store = store.clone();
        let current = current.clone();
        Box::pin(async move {
            if current.load(Ordering::Relaxed) {
                return Ok(());
            }
            match tokio::time::timeout(PING_TIMEOUT, store.schema_current()).await {
                Err(_) => Err(format!("no answer within {PING_TIMEOUT:?}")),
                Ok(Err(e)) => Err(e.to_string()),
                Ok(Ok(())) => {
                    current.store(true, Ordering::Relaxed);
                    Ok(())
                }
            }
        })
    })
}

/// Records can be published (topics that exist are no use otherwise) and replies are read.
fn kafka_check(producer: &Producer, kafka: &KafkaConfig, replies: &ReplyRouter) -> ReadinessCheck {
    let producer = producer.clone();
    let kafka = kafka.clone();
    let replies = replies.clone();
    Arc::new(move || {
        let producer = producer.clone();
        let kafka = kafka.clone();
        let reading = replies.is_reading();
        Box::pin(async move {
            producer.health().map_err(|e| e.to_string())?;
            hookgate_bus::topics_ready(&producer, &kafka)
                .await
                .map_err(|e| e.to_string())?;
            match reading {
                true => Ok(()),
                false => Err("the reply topic is not being read yet".to_owned()),
            }
        })
    })
}
