//! The seams between the management API and the ingress, so the API needs neither the
//! HTTP gateway nor its crypto: `TestWebhook` runs a request through whatever implements
//! [`WebhookTester`], and writes tell a [`WebhookChanges`] to catch up.

use crate::Webhook;
use bytes::Bytes;
use futures::future::BoxFuture;

/// A `TestWebhook` request, already validated by the API.
#[derive(Debug, Clone)]
pub struct TestRequest {
    pub method: http::Method,
    /// What follows the token, starting with `/`.
    pub path: String,
    pub query: Option<String>,
    pub headers: http::HeaderMap,
    pub body: Bytes,
    /// The full URL a sender would have called.
    pub url: String,
}

/// What a real sender would have been answered, and where the record went if one was
/// published.
#[derive(Debug, Clone)]
pub struct TestOutcome {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
    pub published: Option<PublishedRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedRecord {
    pub event_id: String,
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

/// Runs a test request through the ingress path (handshakes aside).
pub trait WebhookTester: Send + Sync {
    fn test<'a>(&'a self, webhook: &'a Webhook, request: TestRequest)
        -> BoxFuture<'a, TestOutcome>;
}

/// Told after every committed write, so an ingress in the same process serves the new state
/// before the write is answered.
pub trait WebhookChanges: Send + Sync {
    fn changed(&self) -> BoxFuture<'_, ()>;
}
