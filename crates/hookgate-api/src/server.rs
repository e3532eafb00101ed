//! Serving the API, reflection and health on one listener.

use crate::{status::to_status, WebhookApi};
use hookgate_proto::v1::{webhook_service_server::WebhookServiceServer, FILE_DESCRIPTOR_SET};
use std::{future::Future, time::Duration};
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("building server reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("grpc server: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// How long [`serve`] lets in-flight calls finish after `shutdown`.
pub const DEFAULT_DRAIN: Duration = Duration::from_secs(30);

/// Serves until `shutdown` resolves, then finishes in-flight calls for up to
/// [`DEFAULT_DRAIN`].
pub async fn serve(
    listener: TcpListener,
    api: WebhookApi,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    serve_with_drain(listener, api, shutdown, DEFAULT_DRAIN).await
}

/// Serves until `shutdown` resolves, then finishes in-flight calls for up to `drain`; calls
/// still running then are cut off. A `TestWebhook` call on a `wait_for_reply` webhook can
/// wait up to its `reply_timeout`, so without the bound shutdown could take minutes.
pub async fn serve_with_drain(
    listener: TcpListener,
    api: WebhookApi,
    shutdown: impl Future<Output = ()> + Send,
    drain: Duration,
) -> Result<(), ServeError> {
    let (draining, drain_started) = tokio::sync::oneshot::channel::<()>();
    let shutdown = async move {
        shutdown.await;
        let _ = draining.send(());
    };
    let drain_over = async move {
        match drain_started.await {
            Ok(()) => tokio::time::sleep(drain).await,
            // The server ended by itself: its own result decides.
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        served = serve_until(listener, api, shutdown) => served,
        () = drain_over => {
            tracing::warn!(?drain, "grpc drain timed out; cutting off the calls still running");
            Ok(())
        }
    }
}

async fn serve_until(
    listener: TcpListener,
    api: WebhookApi,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    // Unknown callers learn nothing about their request, not even whether it was valid.
    let authorizer = api.authorizer().clone();
    let authenticate = move |request: tonic::Request<()>| {
        let header = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        authorizer.authenticate(header).map_err(to_status)?;
        Ok(request)
    };
    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_serving::<WebhookServiceServer<WebhookApi>>()
        .await;
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    tonic::transport::Server::builder()
        .add_service(health_service)
        .add_service(reflection().build_v1()?)
        .add_service(reflection().build_v1alpha()?)
        .add_service(WebhookServiceServer::with_interceptor(api, authenticate))
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown)
        .await?;
    Ok(())
}
