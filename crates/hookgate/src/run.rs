//! Wiring the crates into the `serve`, `api` and `migrate` commands.

use crate::{
    admin::{Admin, ReadinessCheck},
    config::{Cli, Command, Settings},
};
use anyhow::{bail, Context};
use hookgate_api::{Authorizer, WebhookApi};
use hookgate_storage::Store;
use std::{net::SocketAddr, sync::Arc};
use tokio::{net::TcpListener, sync::watch};

pub fn main(cli: Cli) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        match cli.command {
            Command::Migrate(settings) => {
                init_tracing(&settings)?;
                let store = connect(&settings).await?;
                store.migrate().await.context("applying migrations")?;
                tracing::info!("migrations applied");
                Ok(())
            }
            Command::Serve(settings) => {
                init_tracing(&settings)?;
                let store = connect(&settings).await?;
                store.migrate().await.context("applying migrations")?;
                run_api(settings, store).await
            }
            Command::Api(settings) => {
                init_tracing(&settings)?;
                let store = connect(&settings).await?;
                run_api(settings, store).await
            }
        }
    })
}

fn init_tracing(settings: &Settings) -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_new(&settings.log)
        .map_err(|e| anyhow::anyhow!("invalid HOOKGATE_LOG {:?}: {e}", settings.log))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if settings.log_format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
    Ok(())
}

async fn connect(settings: &Settings) -> anyhow::Result<Store> {
    Store::connect(&settings.database_url)
        .await
        .context("HOOKGATE_DATABASE_URL: cannot connect to the database")
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
            "NO API TOKENS CONFIGURED: the gRPC API is open to every local caller; set HOOKGATE_API_TOKENS"
        );
    }
    Ok(authorizer)
}

/// Resolves on SIGTERM or Ctrl-C, and tells every receiver.
fn shutdown_signal() -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            if let Ok(mut term) =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            } else {
                let _ = ctrl_c.await;
            }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        tracing::info!("shutting down");
        let _ = tx.send(true);
    });
    rx
}

async fn wait_for(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

fn database_check(store: &Store) -> ReadinessCheck {
    let store = store.clone();
    Arc::new(move || {
        let store = store.clone();
        Box::pin(async move { store.ping().await.map_err(|e| format!("database: {e}")) })
    })
}

async fn run_api(settings: Settings, store: Store) -> anyhow::Result<()> {
    let authorizer = authorizer(&settings)?;
    let grpc = bind(settings.grpc_addr, "HOOKGATE_GRPC_ADDR").await?;
    let admin_listener = bind(settings.admin_addr, "HOOKGATE_ADMIN_ADDR").await?;
    let stop = shutdown_signal();
    let admin = Admin {
        registry: prometheus_client::registry::Registry::with_prefix("hookgate"),
        checks: vec![database_check(&store)],
    };
    let admin_task = tokio::spawn(admin.serve(admin_listener, wait_for(stop.clone())));
    tracing::info!(grpc = %settings.grpc_addr, admin = %settings.admin_addr, "hookgate api listening");
    let api = WebhookApi::new(store, settings.public_url.clone(), authorizer);
    hookgate_api::serve(grpc, api, wait_for(stop.clone()))
        .await
        .context("gRPC server")?;
    let _ = admin_task.await;
    Ok(())
}
