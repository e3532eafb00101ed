//! The admin endpoint: `/healthz`, `/readyz`, `/metrics`.

use bytes::Bytes;
use http::{header, Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use prometheus_client::registry::Registry;
use std::{future::Future, pin::Pin, sync::Arc};
use tokio::net::TcpListener;

/// Something `/readyz` asks; an `Err` names what is not ready.
pub type ReadinessCheck =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Send + Sync>;

pub struct Admin {
    pub registry: Registry,
    pub checks: Vec<ReadinessCheck>,
}

type Reply = Response<Full<Bytes>>;

fn text(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Reply {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    response
}

impl Admin {
    async fn handle(&self, request: Request<Incoming>) -> Reply {
        if request.method() != Method::GET && request.method() != Method::HEAD {
            return text(
                StatusCode::METHOD_NOT_ALLOWED,
                "text/plain",
                "method not allowed\n",
            );
        }
        match request.uri().path() {
            "/healthz" => text(StatusCode::OK, "text/plain", "ok\n"),
            "/readyz" => {
                // Concurrently, so the answer takes as long as the slowest check rather than
                // their sum, and stays inside the probe's timeout when a dependency hangs.
                let outcomes =
                    futures::future::join_all(self.checks.iter().map(|check| check())).await;
                let failures: Vec<String> = outcomes.into_iter().filter_map(Result::err).collect();
                if failures.is_empty() {
                    text(StatusCode::OK, "text/plain", "ready\n")
                } else {
                    text(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "text/plain",
                        format!("not ready: {}\n", failures.join("; ")),
                    )
                }
            }
            "/metrics" => {
                let mut out = String::new();
                // Prometheus' classic text parser reads this output too (the OpenMetrics-only
                // lines are comments to it), so the content type follows what was asked for.
                let wants_openmetrics = request
                    .headers()
                    .get(hyper::header::ACCEPT)
                    .and_then(|accept| accept.to_str().ok())
                    .is_some_and(|accept| accept.contains("application/openmetrics-text"));
                let content_type = match wants_openmetrics {
                    true => "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    false => "text/plain; version=0.0.4; charset=utf-8",
                };
                match prometheus_client::encoding::text::encode(&mut out, &self.registry) {
                    Ok(()) => text(StatusCode::OK, content_type, out),
                    Err(_) => text(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "text/plain",
                        "encoding failed\n",
                    ),
                }
            }
            _ => text(StatusCode::NOT_FOUND, "text/plain", "not found\n"),
        }
    }

    /// Serves until `shutdown` resolves.
    pub async fn serve(self, listener: TcpListener, shutdown: impl Future<Output = ()>) {
        let admin = Arc::new(self);
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                () = &mut shutdown => return,
            };
            let Ok((stream, _)) = accepted else { continue };
            let admin = admin.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request| {
                    let admin = admin.clone();
                    async move { Ok::<_, std::convert::Infallible>(admin.handle(request).await) }
                });
                let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                if let Err(error) = builder
                    .serve_connection(TokioIo::new(stream), service)
                    .await
                {
                    tracing::debug!(%error, "admin connection ended with an error");
                }
            });
        }
    }
}
