//! The HTTP/1.1 server: header and body limits, routing to a webhook, reading the body.

use crate::{
    events::{self, Reason},
    response, GatewayConfig, IngressRequest, Metrics, Pipeline, WebhookSnapshot,
};
use bytes::Bytes;
use hookgate_domain::{rejection::RejectedRequest, Error};
use http::{header, Request, Response};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};

use std::{
    convert::Infallible,
    future::Future,
    net::{IpAddr, SocketAddr},
    sync::Arc,
    time::Duration,
};
use tokio::net::TcpListener;
use tracing::Instrument;

const WEBHOOK_PREFIX: &str = "/webhooks/";

/// The request line and header block as sent, give or take the separators' bytes.
fn head_size<B>(request: &Request<B>) -> usize {
    let target = request
        .uri()
        .path_and_query()
        .map_or(1, |pq| pq.as_str().len());
    let line = request.method().as_str().len() + target + 12;
    request.headers().iter().fold(line, |size, (name, value)| {
        size + name.as_str().len() + value.len() + 4
    })
}

/// Everything a request needs. Shared by all connections.
pub struct Gateway {
    pub webhooks: WebhookSnapshot,
    pub pipeline: Pipeline,
    pub config: GatewayConfig,
    pub metrics: Metrics,
}

impl Gateway {
    async fn handle(&self, request: Request<Incoming>, remote: SocketAddr) -> Response<Bytes> {
        let response = self.route(request, remote).await;
        self.metrics.count_response(response.status().as_u16());
        response
    }

    /// A refusal before any webhook is known: counted and logged, never recorded.
    fn refuse_unknown(&self, error: &Error, reason: Reason) -> Response<Bytes> {
        events::rejected(&self.metrics, reason, None, error);
        response::from_error(error, false)
    }

    async fn route(&self, request: Request<Incoming>, remote: SocketAddr) -> Response<Bytes> {
        let limit = self.config.max_header_bytes;
        if head_size(&request) > limit {
            return self.refuse_unknown(&Error::HeadersTooLarge { limit }, Reason::HeaderTooLarge);
        }
        let not_found =
            || self.refuse_unknown(&Error::NotFound("webhook".into()), Reason::NotFound);
        let Some(rest) = request.uri().path().strip_prefix(WEBHOOK_PREFIX) else {
            return not_found();
        };
        let (token, sub_path) = match rest.find('/') {
            Some(slash) => (&rest[..slash], rest[slash..].to_owned()),
            None => (rest, "/".to_owned()),
        };
        let webhook = match self.webhooks.get(token) {
            Ok(Some(webhook)) => webhook,
            Ok(None) => return not_found(),
            Err(error) => return self.refuse_unknown(&error, Reason::Unavailable),
        };
        let remote_address =
            client_address(request.headers(), remote, self.config.trusted_proxy_hops);
        // `unproven` refusals spend the webhook's budget for requests that did not prove
        // they come from the sender; the others are charged to no budget.
        let refuse = |error: &Error,
                      reason: Reason,
                      unproven: bool,
                      parts: (&http::Method, &http::Uri, &http::HeaderMap)| {
            let (method, uri, headers) = parts;
            let described = RejectedRequest {
                method,
                path: &sub_path,
                query: uri.query(),
                headers,
                remote_address: Some(remote_address),
            };
            match unproven {
                true => self
                    .pipeline
                    .reject(error, reason, &webhook, &described, false),
                false => self
                    .pipeline
                    .refuse(error, reason, &webhook, &described, false),
            }
        };
        if let Err(error) = self.pipeline.has_room(&webhook) {
            let head = (request.method(), request.uri(), request.headers());
            return refuse(&error, Reason::RateLimit, false, head);
        }
        let limit = self.config.max_body_bytes;
        let declared = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|length| length > limit as u64) {
            let head = (request.method(), request.uri(), request.headers());
            return refuse(
                &Error::PayloadTooLarge { limit },
                Reason::BodyTooLarge,
                true,
                head,
            );
        }
        let (parts, body) = request.into_parts();
        let head = (&parts.method, &parts.uri, &parts.headers);
        let body = match tokio::time::timeout(
            self.config.body_read_timeout,
            Limited::new(body, limit).collect(),
        )
        .await
        {
            Ok(Ok(collected)) => collected.to_bytes(),
            Ok(Err(error)) if error.is::<LengthLimitError>() => {
                return refuse(
                    &Error::PayloadTooLarge { limit },
                    Reason::BodyTooLarge,
                    true,
                    head,
                )
            }
            Ok(Err(error)) => {
                tracing::debug!(%error, "request body unreadable");
                let error = Error::invalid("body", "request body could not be read");
                return refuse(&error, Reason::BadRequest, true, head);
            }
            Err(_) => {
                let error = Error::RequestTimeout("request body not received in time".into());
                return refuse(&error, Reason::Timeout, true, head);
            }
        };
        let query = parts.uri.query().map(str::to_owned);
        let url = public_url(&self.config.public_url, &parts.uri);
        let ingress = IngressRequest {
            method: parts.method,
            path: sub_path,
            query,
            headers: parts.headers,
            body,
            remote_address: Some(remote_address),
            url,
        };
        let span = crate::trace::request_span(&webhook.name, &ingress.method, &ingress.headers);
        let outcome = self
            .pipeline
            .handle(&webhook, ingress, false)
            .instrument(span)
            .await;
        if outcome.secret_kept {
            // The events that follow Asana's handshake must see the secret it handed over;
            // other gateways read it from the change log.
            if let Err(error) = self.webhooks.refresh().await {
                tracing::warn!(%error, "gateway snapshot not refreshed after a handshake");
            }
        }
        outcome.response
    }
}

/// The URL the sender called, as it saw it, allocated once at its final length.
fn public_url(base: &str, uri: &http::Uri) -> String {
    let (path, query) = (uri.path(), uri.query());
    let mut url = String::with_capacity(base.len() + path.len() + query.map_or(0, |q| q.len() + 1));
    url.push_str(base);
    url.push_str(path);
    if let Some(query) = query {
        url.push('?');
        url.push_str(query);
    }
    url
}

/// The caller's address: the peer, or, behind `hops` trusted proxies, the address those
/// proxies recorded in `X-Forwarded-For` (counted from the right, since a client can
/// forge the left end).
fn client_address(headers: &http::HeaderMap, peer: SocketAddr, hops: usize) -> IpAddr {
    if hops == 0 {
        return peer.ip();
    }
    let forwarded: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    forwarded
        .len()
        .checked_sub(hops)
        .and_then(|index| forwarded.get(index))
        .and_then(|ip| ip.parse().ok())
        .unwrap_or_else(|| peer.ip())
}

/// Serves until `shutdown` resolves, then stops accepting and lets in-flight requests finish.
pub async fn serve(
    listener: TcpListener,
    gateway: Arc<Gateway>,
    shutdown: impl Future<Output = ()>,
) {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(gateway.config.header_read_timeout)
        // hyper's own limit is only the backstop; below it, `route` answers 431 itself so
        // the answer carries hookgate's headers like every other.
        .max_buf_size(gateway.config.max_header_bytes.saturating_mul(4).max(8192))
        // Without it, hyper reads the socket once more while each request is answered, to
        // notice a caller that hung up: a syscall per request, and a fresh read buffer,
        // since the request's headers and body still hold the old one. A caller that goes
        // away is still noticed when its answer is written; its record is published either
        // way, as it would be had the request been dropped after the hand-over.
        .half_close(true)
        .keep_alive(true);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let gateway = gateway.clone();
        let service = hyper::service::service_fn(move |request| {
            let gateway = gateway.clone();
            async move { Ok::<_, Infallible>(gateway.handle(request, remote).await.map(Full::new)) }
        });
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "ingress connection ended with an error");
            }
        });
    }
    drop(listener);
    tracing::info!("ingress draining in-flight requests");
    if tokio::time::timeout(gateway.config.drain_timeout, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("ingress drain timed out");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_public_url_is_the_base_the_path_and_the_query_as_called() {
        let base = "https://hooks.example.com";
        let called = |target: &str| public_url(base, &target.parse::<http::Uri>().unwrap());
        let plain = called("/webhooks/abc/sub");
        assert_eq!(plain, "https://hooks.example.com/webhooks/abc/sub");
        assert_eq!(plain.capacity(), plain.len());
        let queried = called("/webhooks/abc?hub.mode=subscribe&x=%20");
        assert_eq!(
            queried,
            "https://hooks.example.com/webhooks/abc?hub.mode=subscribe&x=%20"
        );
        assert_eq!(queried.capacity(), queried.len());
    }

    #[test]
    fn forwarded_addresses_are_trusted_only_as_far_as_configured() {
        let peer: SocketAddr = "10.0.0.9:5000".parse().unwrap();
        let mut headers = http::HeaderMap::new();
        headers.append("x-forwarded-for", "6.6.6.6, 203.0.113.7".parse().unwrap());
        headers.append("x-forwarded-for", "10.0.0.2".parse().unwrap());
        assert_eq!(client_address(&headers, peer, 0).to_string(), "10.0.0.9");
        assert_eq!(client_address(&headers, peer, 1).to_string(), "10.0.0.2");
        assert_eq!(client_address(&headers, peer, 2).to_string(), "203.0.113.7");
        assert_eq!(client_address(&headers, peer, 9).to_string(), "10.0.0.9");
        assert_eq!(
            client_address(&http::HeaderMap::new(), peer, 1).to_string(),
            "10.0.0.9"
        );
    }
}
