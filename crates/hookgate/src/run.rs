//! The process around the application: signals, start-up order, `migrate` and `tail`.

use anyhow::Context;
use hookgate::telemetry;
use hookgate::{
    config::{Cli, Command, Settings, TailArgs},
    App, Roles,
};
use hookgate_storage::Store;
use std::{future::Future, sync::Arc};
use tokio::sync::watch;

pub fn main(cli: Cli) -> anyhow::Result<()> {
    let runtime = hookgate::runtime::build().context("starting the async runtime")?;
    runtime.block_on(async move {
        // Listening from the first moment, so SIGTERM during start-up is a clean exit too.
        let (stop_sender, stop) = watch::channel(false);
        let stop_sender = Arc::new(stop_sender);
        stop_on_signal(stop_sender.clone());
        let (settings, roles, migrate) = match cli.command {
            Command::Migrate(settings) => (settings, None, true),
            Command::Serve(settings) => (settings, Some(Roles::SERVE), true),
            Command::Api(settings) => (settings, Some(Roles::API), false),
            Command::Gateway(settings) => (settings, Some(Roles::GATEWAY), false),
            Command::Tail(args) => return tail(args, stop).await,
            Command::Client(command) => return hookgate::client::run(command, stop).await,
        };
        let telemetry = telemetry::init(&settings)?;
        let result = start(settings, roles, migrate, stop_sender, stop).await;
        telemetry.shutdown();
        result
    })
}

async fn start(
    settings: Settings,
    roles: Option<Roles>,
    migrate: bool,
    stop_sender: Arc<watch::Sender<bool>>,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let mut overrides = hookgate::Overrides::default();
    if migrate {
        let Some(store) = unless_stopped(
            &stop,
            Store::connect_with_pool(settings.database_url.expose(), settings.database_pool),
        )
        .await
        else {
            return Ok(());
        };
        let store = store.context("HOOKGATE_DATABASE_URL: cannot connect to the database")?;
        // Not cancelled by a signal: a migration is short and best not cut in half.
        store.migrate().await.context("applying migrations")?;
        tracing::info!("migrations applied");
        overrides.store = Some(store);
    }
    let Some(roles) = roles else {
        return Ok(());
    };
    match unless_stopped(&stop, App::build_with(settings, roles, overrides)).await {
        None => Ok(()),
        Some(app) => app?.run(stop_sender).await,
    }
}

/// Prints records until a signal (SIGINT or SIGTERM) flips `stop`: either ends it cleanly.
async fn tail(args: TailArgs, mut stop: watch::Receiver<bool>) -> anyhow::Result<()> {
    // Only records on stdout: logs below warnings would get in the way of piping.
    let _telemetry = telemetry::init(&Settings {
        log: "warn".into(),
        ..args.settings.clone()
    })?;
    let kafka = args.settings.kafka();
    let topic = args.topic.unwrap_or_else(|| kafka.trigger_topic.clone());
    let printing = hookgate_bus::tail(&kafka, &topic, args.from_beginning, |record| {
        println!("{record}")
    });
    tokio::select! {
        result = printing => result.with_context(|| format!("HOOKGATE_KAFKA_BROKERS: cannot read {topic}")),
        _ = stop.wait_for(|stop| *stop) => Ok(()),
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

/// `work`'s output, or `None` when shutdown was asked for first.
async fn unless_stopped<T>(
    stop: &watch::Receiver<bool>,
    work: impl Future<Output = T>,
) -> Option<T> {
    let mut stop = stop.clone();
    tokio::select! {
        output = work => Some(output),
        _ = stop.wait_for(|stop| *stop) => {
            tracing::info!("stopped during start-up");
            None
        }
    }
}
