//! Serving the API, reflection and health on one listener.

use crate::{status::to_status, WebhookApi};
use hookgate_proto::v1::{webhook_service_server::WebhookServiceServer, FILE_DESCRIPTOR_SET};
use std::future::Future;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("building server reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("grpc server: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// Serves until `shutdown` resolves, then finishes in-flight calls.
pub async fn serve(
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
