//! Wiring the crates into the `serve`, `api`, `gateway` and `migrate` commands.

use crate::{
    admin::{Admin, ReadinessCheck},
    config::{kafka_props_from_env, Cli, Command, Settings, TailArgs},
    telemetry,
};
use anyhow::{bail, Context};
use hookgate_api::{Authorizer, WebhookApi};
use hookgate_bus::{KafkaConfig, Producer};
use hookgate_gateway::{
    Gateway, GatewayConfig, Metrics, Pipeline, RateLimit, RejectionTopic, WebhookCache,
};
use hookgate_storage::Store;
use prometheus_client::registry::Registry;
use std::{future::Future, net::SocketAddr, num::NonZeroU32, sync::Arc, time::Duration};
use tokio::{net::TcpListener, sync::watch, task::JoinSet};

/// How long shutdown waits for Kafka to acknowledge what is still queued.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(10);

/// Which parts a process runs.
struct Roles {
    api: bool,
    gateway: bool,
}

pub fn main(cli: Cli) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        // Listening from the first moment, so SIGTERM during start-up is a clean exit too.
        let (stop_sender, stop) = watch::channel(false);
        let stop_sender = Arc::new(stop_sender);
        stop_on_signal(stop_sender.clone());
        let (settings, roles, migrate) = match cli.command {
            Command::Migrate(settings) => (settings, None, true),
            Command::Serve(settings) => (
                settings,
                Some(Roles {
                    api: true,
                    gateway: true,
                }),
                true,
            ),
            Command::Api(settings) => (
                settings,
                Some(Roles {
                    api: true,
                    gateway: false,
                }),
                false,
            ),
            Command::Tail(args) => return tail(args, stop).await,
            Command::Client(command) => return crate::client::run(command, stop).await,
            Command::Gateway(settings) => (
                settings,
                Some(Roles {
                    api: false,
                    gateway: true,
                }),
                false,
            ),
        };
        let telemetry = telemetry::init(&settings)?;
        // Refuse an open API on a public address before touching anything else.
        let authorizer = match &roles {
            Some(Roles { api: true, .. }) => Some(authorizer(&settings)?),
            _ => None,
        };
        let Some(store) = unless_stopped(
            &stop,
            Store::connect_with_pool(&settings.database_url, settings.database_pool),
        )
        .await
        else {
            return Ok(());
        };
        let store = store.context("HOOKGATE_DATABASE_URL: cannot connect to the database")?;
        if migrate {
            // Not cancelled by a signal: a migration is short and best not cut in half.
            store.migrate().await.context("applying migrations")?;
            tracing::info!("migrations applied");
        }
        let result = match roles {
            Some(roles) => {
                let shutdown = Shutdown {
                    sender: stop_sender,
                    stop,
                };
                run(settings, store, roles, authorizer, shutdown).await
            }
            None => Ok(()),
        };
        telemetry.shutdown();
        result
    })
}

/// Prints records until a signal (SIGINT or SIGTERM) flips `stop`: either ends it cleanly.
async fn tail(args: TailArgs, stop: watch::Receiver<bool>) -> anyhow::Result<()> {
    // Only records on stdout: logs below warnings would get in the way of piping.
    let _telemetry = telemetry::init(&Settings {
        log: "warn".into(),
        ..args.settings.clone()
    })?;
    let kafka = kafka_config(&args.settings);
    let topic = args.topic.unwrap_or_else(|| kafka.trigger_topic.clone());
    let printing = hookgate_bus::tail(&kafka, &topic, args.from_beginning, |record| {
        println!("{record}")
    });
    tokio::select! {
        result = printing => result.with_context(|| format!("HOOKGATE_KAFKA_BROKERS: cannot read {topic}")),
        () = stopped(stop) => Ok(()),
    }
}

async fn bind(addr: SocketAddr, setting: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("{setting}: cannot listen on {addr}"))
}

fn authorizer(settings: &Settings) -> anyhow::Result<Authorizer> {
    let authorizer = Authorizer::parse(&settings.api_tokens).context("HOOKGATE_API_TOKENS")?;
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

fn kafka_config(settings: &Settings) -> KafkaConfig {
    let mut properties = kafka_props_from_env(std::env::vars());
    properties.extend(settings.kafka_props.iter().cloned());
    KafkaConfig {
        brokers: settings.kafka_brokers.clone(),
        trigger_topic: settings.trigger_topic.clone(),
        reply_topic: settings.reply_topic.clone(),
        topic_partitions: settings.topic_partitions,
        topic_replication: settings.topic_replication,
        publish_timeout: settings.request_timeout,
        max_record_bytes: usize::try_from(settings.max_record_bytes).unwrap_or(usize::MAX),
        properties,
        metrics: Default::default(),
    }
}

/// The producer for `HOOKGATE_REJECTION_TOPIC`, creating the topic when missing; `None`
/// when the setting is empty.
fn rejection_topic(
    settings: &Settings,
    kafka: &KafkaConfig,
) -> anyhow::Result<Option<RejectionTopic>> {
    if settings.rejection_topic.is_empty() {
        return Ok(None);
    }
    let config = KafkaConfig {
        trigger_topic: settings.rejection_topic.clone(),
        ..kafka.clone()
    };
    // In the background: rejection records are best effort and must not hold up start-up.
    let creating = config.clone();
    tokio::spawn(async move {
        if let Err(error) = hookgate_bus::ensure_topics(&creating).await {
            tracing::warn!(%error, topic = %creating.trigger_topic, "could not create the rejection topic");
        }
    });
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
        cache_ttl: settings.cache_ttl,
        trusted_proxy_hops: usize::from(settings.trusted_proxy_hops),
        drain_timeout: settings.shutdown_timeout,
        ..GatewayConfig::new(settings.public_url.clone())
    }
}

/// Flips `stop` on SIGTERM or Ctrl-C.
fn stop_on_signal(stop: Arc<watch::Sender<bool>>) {
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
        tracing::info!("shutting down: no new connections, finishing in-flight requests");
        let _ = stop.send(true);
    });
}

async fn stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

/// `work`'s output, or `None` when shutdown was asked for first.
async fn unless_stopped<T>(
    stop: &watch::Receiver<bool>,
    work: impl Future<Output = T>,
) -> Option<T> {
    tokio::select! {
        output = work => Some(output),
        () = stopped(stop.clone()) => {
            tracing::info!("stopped during start-up");
            None
        }
    }
}

/// The process-wide stop switch: flipped by a signal or by a failing server.
struct Shutdown {
    sender: Arc<watch::Sender<bool>>,
    stop: watch::Receiver<bool>,
}

fn readiness(
    store: &Store,
    producer: &Producer,
    kafka: &KafkaConfig,
    replies: &hookgate_bus::ReplyRouter,
) -> Vec<ReadinessCheck> {
    // New pods take no traffic until migrations (run before them) reached their version.
    let migrated = store.clone();
    let schema: ReadinessCheck = Arc::new(move || {
        let store = migrated.clone();
        Box::pin(async move { store.schema_current().await.map_err(|e| e.to_string()) })
    });
    let store = store.clone();
    let database: ReadinessCheck = Arc::new(move || {
        let store = store.clone();
        Box::pin(async move { store.ping().await.map_err(|e| format!("database: {e}")) })
    });
    let producer = producer.clone();
    let kafka = kafka.clone();
    let topics: ReadinessCheck = Arc::new(move || {
        let producer = producer.clone();
        let kafka = kafka.clone();
        Box::pin(async move {
            // Topics that exist are no use while nothing can be published to them.
            producer.health().map_err(|e| format!("kafka: {e}"))?;
            hookgate_bus::topics_ready(&producer, &kafka)
                .await
                .map_err(|e| format!("kafka: {e}"))
        })
    });
    let replies = replies.clone();
    let reading: ReadinessCheck = Arc::new(move || {
        let reading = replies.is_reading();
        Box::pin(async move {
            match reading {
                true => Ok(()),
                false => Err("kafka: the reply topic is not being read yet".to_owned()),
            }
        })
    });
    vec![database, schema, topics, reading]
}

async fn run(
    settings: Settings,
    store: Store,
    roles: Roles,
    authorizer: Option<Authorizer>,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let Shutdown {
        sender: stop_sender,
        stop,
    } = shutdown;
    let kafka = kafka_config(&settings);
    let producer = Producer::new(&kafka)
        .context("HOOKGATE_KAFKA_PROP_*: invalid Kafka client configuration")?;
    match unless_stopped(&stop, hookgate_bus::ensure_topics(&kafka)).await {
        None => return Ok(()),
        // Not fatal: /readyz names the topic until someone creates it.
        Some(Err(error)) => tracing::warn!(
            %error,
            "could not create topics; reporting not ready until they exist"
        ),
        Some(Ok(())) => {}
    }
    let grpc = match roles.api {
        true => Some(bind(settings.grpc_addr, "HOOKGATE_GRPC_ADDR").await?),
        false => None,
    };
    let http = match roles.gateway {
        true => Some(bind(settings.http_addr, "HOOKGATE_HTTP_ADDR").await?),
        false => None,
    };
    let admin_listener = bind(settings.admin_addr, "HOOKGATE_ADMIN_ADDR").await?;

    let mut registry = Registry::with_prefix("hookgate");
    let metrics = Metrics::new(&mut registry);
    kafka.metrics.register(&mut registry);
    let config = gateway_config(&settings);
    let replies = hookgate_bus::ReplyRouter::start_in_background(&kafka);
    let mut pipeline = Pipeline::new(producer.clone(), &config, metrics.clone())
        .with_replies(replies.clone())
        .with_secret_store(store.clone())
        .with_deduplication(store.clone(), &kafka)
        .context("HOOKGATE_KAFKA_PROP_*: invalid Kafka client configuration")?;
    let rejections = rejection_topic(&settings, &kafka)?;
    if let Some(topic) = rejections.clone() {
        pipeline = pipeline.with_rejections(topic);
    }
    let claimed = pipeline.clone();
    let mut tasks: JoinSet<anyhow::Result<()>> = JoinSet::new();

    let admin = Admin {
        registry,
        checks: readiness(&store, &producer, &kafka, &replies),
    };
    let admin_stop = stopped(stop.clone());
    tasks.spawn(async move {
        admin.serve(admin_listener, admin_stop).await;
        Ok(())
    });
    let cache = WebhookCache::new(store.clone(), config.cache_ttl);
    if let (Some(listener), Some(authorizer)) = (grpc, authorizer) {
        let api = WebhookApi::new(store.clone(), settings.public_url.clone(), authorizer)
            .with_tester(Arc::new(pipeline.clone()))
            .with_gateway_cache(Arc::new(cache.clone()));
        let (stop, drain) = (stop.clone(), settings.shutdown_timeout);
        tasks.spawn(async move {
            hookgate_api::serve_with_drain(listener, api, stopped(stop), drain)
                .await
                .context("the gRPC server failed")
        });
    }
    if let Some(listener) = http {
        let gateway = Arc::new(Gateway {
            cache,
            pipeline,
            config,
            metrics,
        });
        let gateway_stop = stopped(stop.clone());
        tasks.spawn(async move {
            hookgate_gateway::serve(listener, gateway, gateway_stop).await;
            Ok(())
        });
    }
    tracing::info!(
        grpc = roles.api.then(|| settings.grpc_addr.to_string()),
        http = roles.gateway.then(|| settings.http_addr.to_string()),
        admin = %settings.admin_addr,
        public_url = %settings.public_url,
        "hookgate listening"
    );
    // A server that ends before shutdown was asked for takes the others down with it, so
    // an orchestrator restarts the process instead of it running half-alive.
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
        let _ = stop_sender.send(true);
    }
    // Requests were answered, or cut off when the drain timed out; a record still queued
    // now may yet land or time out. Either way no caller was told it was stored, so this
    // is worth a warning, not a failed exit.
    if let Err(error) = producer.flush(FLUSH_TIMEOUT).await {
        tracing::warn!(%error, queued = producer.in_flight(), "kafka producer not flushed at shutdown");
    }
    claimed.flush_claimed(FLUSH_TIMEOUT).await;
    if let Some(rejections) = rejections {
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
