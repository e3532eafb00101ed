//! Alexa's signing certificate chains: downloaded once per URL, kept for a while, and
//! checked against the Web PKI roots on every request.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use hookgate_domain::Error;
use hookgate_verify::alexa::{self, AlexaClaim};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::{
    client::legacy::{connect::HttpConnector, Client},
    rt::TokioExecutor,
};
use rustls_pki_types::TrustAnchor;
use std::{future::Future, pin::Pin, sync::Arc, time::Duration};

/// Amazon's chains are a few KiB; anything far larger is not one.
const MAX_CHAIN_BYTES: usize = 64 * 1024;
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(5);
/// Amazon rotates the certificate rarely and under a new URL; an hour bounds staleness.
const CHAIN_TTL: Duration = Duration::from_secs(3600);

pub type ChainFuture<'a> = Pin<Box<dyn Future<Output = Result<Bytes, Error>> + Send + 'a>>;

/// Where certificate chains come from: Amazon over HTTPS in production, a fixture in tests.
pub trait ChainSource: Send + Sync {
    fn fetch<'a>(&'a self, url: &'a str) -> ChainFuture<'a>;
}

/// Downloads chains over HTTPS, verifying the server against the Web PKI roots.
struct HttpsChainSource {
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Empty<Bytes>>,
}

impl HttpsChainSource {
    fn new() -> Result<Self, rustls::Error> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            })
            .with_no_client_auth();
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_only()
            .enable_http1()
            .build();
        Ok(Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
        })
    }

    async fn download(&self, url: &str) -> Result<Bytes, Error> {
        let uri: http::Uri = url
            .parse()
            .map_err(|_| Error::Unauthenticated("alexa certificate url is not a uri".into()))?;
        let unavailable = |error: String| {
            Error::Unavailable(format!("alexa certificate chain download failed: {error}"))
        };
        let response = tokio::time::timeout(DOWNLOAD_TIMEOUT, self.client.get(uri))
            .await
            .map_err(|_| unavailable("timed out".into()))?
            .map_err(|error| unavailable(error.to_string()))?;
        if !response.status().is_success() {
            return Err(Error::Unauthenticated(format!(
                "alexa certificate chain download answered {}",
                response.status()
            )));
        }
        let body = tokio::time::timeout(
            DOWNLOAD_TIMEOUT,
            Limited::new(response.into_body(), MAX_CHAIN_BYTES).collect(),
        )
        .await
        .map_err(|_| unavailable("timed out".into()))?
        .map_err(|error| unavailable(error.to_string()))?;
        Ok(body.to_bytes())
    }
}

impl ChainSource for HttpsChainSource {
    fn fetch<'a>(&'a self, url: &'a str) -> ChainFuture<'a> {
        Box::pin(self.download(url))
    }
}

/// Checks Alexa requests' signatures. Cheap to clone.
#[derive(Clone)]
pub struct AlexaVerifier {
    source: Arc<dyn ChainSource>,
    chains: moka::future::Cache<String, Bytes>,
    anchors: Arc<Vec<TrustAnchor<'static>>>,
}

impl AlexaVerifier {
    /// Amazon's chains over HTTPS, trusted when they lead to a Web PKI root.
    pub fn amazon() -> Result<Self, rustls::Error> {
        let source = Arc::new(HttpsChainSource::new()?);
        Ok(Self::new(source, webpki_roots::TLS_SERVER_ROOTS.to_vec()))
    }

    pub fn new(source: Arc<dyn ChainSource>, anchors: Vec<TrustAnchor<'static>>) -> Self {
        Self {
            source,
            chains: moka::future::Cache::builder()
                .max_capacity(64)
                .time_to_live(CHAIN_TTL)
                .build(),
            anchors: Arc::new(anchors),
        }
    }

    /// Whether `body` carries Amazon's signature as `claim` says. A failed download is
    /// not cached, so the next request tries again.
    pub async fn verify(
        &self,
        claim: &AlexaClaim,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        let chain = self
            .chains
            .try_get_with_by_ref(&claim.cert_url, self.source.fetch(&claim.cert_url))
            .await
            .map_err(|error| (*error).clone())?;
        alexa::verify_chain(&chain, claim, body, now, &self.anchors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Counting {
        calls: AtomicUsize,
        answer: Result<Bytes, Error>,
    }

    impl ChainSource for Counting {
        fn fetch<'a>(&'a self, _url: &'a str) -> ChainFuture<'a> {
            Box::pin(async move {
                self.calls.fetch_add(1, Ordering::SeqCst);
                self.answer.clone()
            })
        }
    }

    fn claim() -> AlexaClaim {
        AlexaClaim {
            cert_url: "https://s3.amazonaws.com/echo.api/echo-api-cert.pem".into(),
            signature: vec![1, 2, 3],
        }
    }

    /// Verifies `attempts` times against a source that always gives `answer`; returns
    /// each outcome and how often the source was asked.
    async fn verify_repeatedly(
        answer: Result<Bytes, Error>,
        attempts: usize,
    ) -> (Vec<Result<(), Error>>, usize) {
        let source = Arc::new(Counting {
            calls: AtomicUsize::new(0),
            answer,
        });
        let verifier = AlexaVerifier::new(source.clone(), Vec::new());
        let mut outcomes = Vec::new();
        for _ in 0..attempts {
            outcomes.push(verifier.verify(&claim(), b"{}", Utc::now()).await);
        }
        (outcomes, source.calls.load(Ordering::SeqCst))
    }

    #[tokio::test]
    async fn chains_are_downloaded_once_and_failures_retried() {
        let (outcomes, calls) = verify_repeatedly(Ok(Bytes::from_static(b"not pem")), 3).await;
        assert!(
            outcomes
                .iter()
                .all(|o| matches!(o, Err(Error::Unauthenticated(_)))),
            "{outcomes:?}"
        );
        assert_eq!(calls, 1, "the chain is cached");

        let (outcomes, calls) = verify_repeatedly(Err(Error::Unavailable("down".into())), 2).await;
        assert!(
            outcomes
                .iter()
                .all(|o| matches!(o, Err(Error::Unavailable(_)))),
            "{outcomes:?}"
        );
        assert_eq!(calls, 2, "failures are not cached");
    }

    #[test]
    fn the_https_source_builds() {
        assert!(AlexaVerifier::amazon().is_ok());
    }
}
