//! The admin endpoint: `/healthz`, `/readyz`, `/metrics`.

use bytes::Bytes;
use http::{header, Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use prometheus_client::registry::Registry;
use std::{future::Future, pin::Pin, sync::Arc};
use tokio::net::TcpListener;

/// Something `/readyz` asks; an `Err` says what is not ready.
pub type ReadinessCheck =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Send + Sync>;

pub struct Admin {
    pub registry: Arc<Registry>,
    /// Each check under the name `/readyz?exclude=<name>` leaves it out by.
    pub checks: Vec<(&'static str, ReadinessCheck)>,
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
                let (ready, body) = self.readiness(request.uri().query()).await;
                let status = match ready {
                    true => StatusCode::OK,
                    false => StatusCode::SERVICE_UNAVAILABLE,
                };
                text(status, "text/plain", body)
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

    /// Runs every check the query does not exclude; whether all of them passed, and a body
    /// naming each check and its state.
    async fn readiness(&self, query: Option<&str>) -> (bool, String) {
        let excluded = excluded(query);
        // Concurrently, so the answer takes as long as the slowest check rather than their
        // sum, and stays inside the probe's timeout when a dependency hangs.
        let outcomes = futures::future::join_all(self.checks.iter().map(|(name, check)| {
            let skip = excluded.contains(name);
            async move {
                let outcome = match skip {
                    true => None,
                    false => Some(check().await),
                };
                (*name, outcome)
            }
        }))
        .await;
        render(&outcomes, &excluded)
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

/// The check names `exclude` parameters list, repeated (`?exclude=a&exclude=b`, as the
/// Kubernetes API server takes them) or comma-separated.
fn excluded(query: Option<&str>) -> Vec<&str> {
    query
        .unwrap_or_default()
        .split('&')
        .filter_map(|pair| pair.strip_prefix("exclude="))
        .flat_map(|names| names.split(','))
        .filter(|name| !name.is_empty())
        .collect()
}

/// The Kubernetes API server's verbose readiness format: `[+]name ok`, `[-]name failed:
/// why`, `[+]name excluded: ok`, then the verdict. `None` is an excluded check.
fn render(outcomes: &[(&str, Option<Result<(), String>>)], excluded: &[&str]) -> (bool, String) {
    let mut body = String::new();
    let mut ready = true;
    for (name, outcome) in outcomes {
        let line = match outcome {
            None => format!("[+]{name} excluded: ok"),
            Some(Ok(())) => format!("[+]{name} ok"),
            Some(Err(why)) => {
                ready = false;
                format!("[-]{name} failed: {why}")
            }
        };
        body.push_str(&line);
        body.push('\n');
    }
    let unknown: Vec<&str> = excluded
        .iter()
        .copied()
        .filter(|name| !outcomes.iter().any(|(check, _)| check == name))
        .collect();
    if !unknown.is_empty() {
        body.push_str(&format!(
            "warn: some checks cannot be excluded: no matches for {}\n",
            unknown.join(", ")
        ));
    }
    body.push_str(match ready {
        true => "readyz check passed\n",
        false => "readyz check failed\n",
    });
    (ready, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excluded_checks_are_named_in_repeated_or_comma_separated_parameters() {
        assert!(excluded(None).is_empty());
        assert_eq!(
            excluded(Some("verbose&exclude=database&exclude=kafka,schema")),
            ["database", "kafka", "schema"]
        );
    }

    #[test]
    fn the_body_names_every_check_and_a_failure_decides() {
        let outcomes = [
            ("database", Some(Err("no answer within 2s".to_owned()))),
            ("kafka", Some(Ok(()))),
            ("schema", None),
        ];
        let (ready, body) = render(&outcomes, &["schema", "etcd"]);
        assert!(!ready);
        assert_eq!(
            body,
            "[-]database failed: no answer within 2s\n[+]kafka ok\n[+]schema excluded: ok\n\
             warn: some checks cannot be excluded: no matches for etcd\nreadyz check failed\n"
        );
        let (ready, body) = render(&outcomes[1..], &["schema"]);
        assert!(ready, "{body}");
        assert!(body.ends_with("readyz check passed\n"), "{body}");
    }
}
