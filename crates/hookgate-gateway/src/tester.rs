//! The gateway's side of the API's seams: `TestWebhook` through the pipeline, and the
//! snapshot catching up on writes.

use crate::{IngressRequest, Pipeline, WebhookSnapshot};
use futures::future::BoxFuture;
use hookgate_domain::{
    tester::{PublishedRecord, TestOutcome, TestRequest, WebhookChanges, WebhookTester},
    Webhook,
};

impl WebhookTester for Pipeline {
    fn test<'a>(
        &'a self,
        webhook: &'a Webhook,
        request: TestRequest,
    ) -> BoxFuture<'a, TestOutcome> {
        Box::pin(async move {
            let ingress = IngressRequest {
                method: request.method,
                path: request.path,
                query: request.query,
                headers: request.headers,
                body: request.body,
                remote_address: None,
                url: request.url,
            };
            let outcome = Pipeline::test(self, webhook, ingress).await;
            let (parts, body) = outcome.response.into_parts();
            TestOutcome {
                status: parts.status.as_u16(),
                headers: parts.headers,
                body,
                published: outcome.published.map(|published| PublishedRecord {
                    event_id: published.event_id,
                    topic: published.delivery.topic.to_string(),
                    partition: published.delivery.partition,
                    offset: published.delivery.offset,
                }),
            }
        })
    }
}

impl WebhookChanges for WebhookSnapshot {
    fn changed(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            // A failure only delays the change until the next scheduled sync.
            if let Err(error) = self.refresh().await {
                tracing::warn!(%error, "gateway snapshot not refreshed after a write");
            }
        })
    }
}
