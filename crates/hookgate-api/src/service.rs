//! `hookgate.v1.WebhookService` on top of the store.

use crate::test_request;
use crate::{auth::Authorizer, convert::to_proto, mask, page_token, status::to_status};
use hookgate_domain::{
    tester::{WebhookChanges, WebhookTester},
    ApplicationName, Error, Webhook, WebhookName,
};
use hookgate_proto::v1::{self as pb, webhook_service_server::WebhookService};
use hookgate_storage::Store;
use std::sync::Arc;
use tonic::{Request, Response, Status};

const DEFAULT_PAGE_SIZE: u64 = 50;
const MAX_PAGE_SIZE: u64 = 1000;

/// The gRPC service. Cheap to clone.
#[derive(Clone)]
pub struct WebhookApi {
    store: Store,
    public_url: String,
    authorizer: Authorizer,
    tester: Option<Arc<dyn WebhookTester>>,
    gateway: Option<Arc<dyn WebhookChanges>>,
}

impl WebhookApi {
    pub fn new(store: Store, public_url: impl Into<String>, authorizer: Authorizer) -> Self {
        Self {
            store,
            public_url: public_url.into().trim_end_matches('/').to_owned(),
            authorizer,
            tester: None,
            gateway: None,
        }
    }

    /// Makes writes visible to a gateway in this process before they are answered (other
    /// processes read them from the change log within their sync interval).
    pub fn with_gateway(mut self, gateway: Arc<dyn WebhookChanges>) -> Self {
        self.gateway = Some(gateway);
        self
    }

    /// Brings this process's gateway up to date after a committed write.
    async fn refresh_gateway(&self) {
        if let Some(gateway) = &self.gateway {
            gateway.changed().await;
        }
    }

    /// Enables `TestWebhook`, which publishes through `tester` (the gateway's pipeline).
    pub fn with_tester(mut self, tester: Arc<dyn WebhookTester>) -> Self {
        self.tester = Some(tester);
        self
    }

    pub(crate) fn authorizer(&self) -> &Authorizer {
        &self.authorizer
    }

    fn authorize<T>(&self, request: &Request<T>, application_id: &str) -> Result<(), Error> {
        let header = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        self.authorizer.authorize(header, application_id)
    }

    /// Parses `name`, checks the caller may see its application, and loads it.
    async fn load<T>(
        &self,
        request: &Request<T>,
        name: &str,
        field: &str,
    ) -> Result<Webhook, Error> {
        let name = WebhookName::parse(name, field)?;
        self.authorize(request, &name.application_id)?;
        self.store.get(&name).await
    }

    fn reply(&self, webhook: &Webhook) -> Response<pb::Webhook> {
        Response::new(to_proto(webhook, &self.public_url))
    }

    async fn create(
        &self,
        request: Request<pb::CreateWebhookRequest>,
    ) -> Result<Response<pb::Webhook>, Error> {
        let parent = ApplicationName::parse(&request.get_ref().parent, "parent")?;
        self.authorize(&request, &parent.application_id)?;
        let message = request
            .get_ref()
            .webhook
            .as_ref()
            .ok_or_else(|| Error::invalid("webhook", "is required"))?;
        let spec = mask::spec_from(message, "webhook")?;
        hookgate_verify::validate(&spec, "webhook")?;
        let webhook = self.store.create(&parent.application_id, spec).await?;
        self.refresh_gateway().await;
        tracing::info!(webhook = %webhook.name, "webhook created");
        Ok(self.reply(&webhook))
    }

    async fn list(
        &self,
        request: Request<pb::ListWebhooksRequest>,
    ) -> Result<Response<pb::ListWebhooksResponse>, Error> {
        let message = request.get_ref();
        let parent = ApplicationName::parse(&message.parent, "parent")?;
        self.authorize(&request, &parent.application_id)?;
        let page_size = match u64::try_from(message.page_size) {
            Err(_) => return Err(Error::invalid("page_size", "must not be negative")),
            Ok(0) => DEFAULT_PAGE_SIZE,
            Ok(size) => size.min(MAX_PAGE_SIZE),
        };
        let parent_name = parent.to_string();
        let after = page_token::decode(&message.page_token, &parent_name)?;
        let page = self
            .store
            .list(&parent.application_id, after.as_deref(), page_size)
            .await?;
        let next_page_token = match (page.more, page.webhooks.last()) {
            (true, Some(last)) => page_token::encode(&parent_name, &last.name.webhook_id),
            _ => String::new(),
        };
        Ok(Response::new(pb::ListWebhooksResponse {
            webhooks: page
                .webhooks
                .iter()
                .map(|w| to_proto(w, &self.public_url))
                .collect(),
            next_page_token,
        }))
    }

    async fn update(
        &self,
        request: Request<pb::UpdateWebhookRequest>,
    ) -> Result<Response<pb::Webhook>, Error> {
        let message = request
            .get_ref()
            .webhook
            .as_ref()
            .ok_or_else(|| Error::invalid("webhook", "is required"))?;
        let updated =
            last_write_wins(&message.etag, || self.update_once(&request, message)).await?;
        Ok(self.reply(&updated))
    }

    async fn update_once(
        &self,
        request: &Request<pb::UpdateWebhookRequest>,
        message: &pb::Webhook,
    ) -> Result<Webhook, Error> {
        let current = self.load(request, &message.name, "webhook.name").await?;
        current.check_etag(&message.etag)?;
        let paths = mask::resolve_paths(message, request.get_ref().update_mask.as_ref())?;
        let mut spec = current.spec.clone();
        mask::write_fields(&mut spec, message, &paths, "webhook")?;
        hookgate_verify::validate(&spec, "webhook")?;
        let updated = self.store.update(&current, spec).await?;
        self.refresh_gateway().await;
        tracing::info!(webhook = %updated.name, fields = ?paths, "webhook updated");
        Ok(updated)
    }

    async fn delete(
        &self,
        request: Request<pb::DeleteWebhookRequest>,
    ) -> Result<Response<()>, Error> {
        let message = request.get_ref();
        last_write_wins(&message.etag, || async {
            let current = self.load(&request, &message.name, "name").await?;
            current.check_etag(&message.etag)?;
            self.store.delete(&current).await?;
            self.refresh_gateway().await;
            tracing::info!(webhook = %current.name, "webhook deleted");
            Ok(())
        })
        .await?;
        Ok(Response::new(()))
    }

    async fn test(
        &self,
        request: Request<pb::TestWebhookRequest>,
    ) -> Result<Response<pb::TestWebhookResponse>, Error> {
        let webhook = self.load(&request, &request.get_ref().name, "name").await?;
        let tester = self.tester.as_ref().ok_or_else(|| {
            Error::Unimplemented("TestWebhook needs a Kafka producer in this process".into())
        })?;
        let ingress = test_request::to_ingress(request.get_ref(), &webhook.url(&self.public_url))?;
        let outcome = tester.test(&webhook, ingress).await;
        tracing::info!(webhook = %webhook.name, status = outcome.status, "webhook tested");
        Ok(Response::new(test_request::to_reply(outcome)))
    }

    async fn rotate(
        &self,
        request: Request<pb::RotateWebhookUrlRequest>,
    ) -> Result<Response<pb::Webhook>, Error> {
        let rotated = last_write_wins("", || async {
            let current = self.load(&request, &request.get_ref().name, "name").await?;
            let rotated = self.store.rotate_token(&current).await?;
            self.refresh_gateway().await;
            Ok(rotated)
        })
        .await?;
        tracing::info!(webhook = %rotated.name, "webhook url rotated");
        Ok(self.reply(&rotated))
    }
}

/// Without a client etag a write means "last one wins", so losing a race to a concurrent
/// write is retried on fresh data instead of surfacing as ABORTED.
async fn last_write_wins<T, Attempt>(
    client_etag: &str,
    mut attempt: impl FnMut() -> Attempt,
) -> Result<T, Error>
where
    Attempt: std::future::Future<Output = Result<T, Error>>,
{
    const RETRIES: usize = 3;
    let mut retries = 0;
    loop {
        match attempt().await {
            Err(Error::EtagMismatch(_)) if client_etag.is_empty() && retries < RETRIES => {
                retries += 1;
            }
            outcome => return outcome,
        }
    }
}

#[tonic::async_trait]
impl WebhookService for WebhookApi {
    async fn create_webhook(
        &self,
        request: Request<pb::CreateWebhookRequest>,
    ) -> Result<Response<pb::Webhook>, Status> {
        self.create(request).await.map_err(to_status)
    }

    async fn get_webhook(
        &self,
        request: Request<pb::GetWebhookRequest>,
    ) -> Result<Response<pb::Webhook>, Status> {
        let webhook = self
            .load(&request, &request.get_ref().name, "name")
            .await
            .map_err(to_status)?;
        Ok(self.reply(&webhook))
    }

    async fn list_webhooks(
        &self,
        request: Request<pb::ListWebhooksRequest>,
    ) -> Result<Response<pb::ListWebhooksResponse>, Status> {
        self.list(request).await.map_err(to_status)
    }

    async fn update_webhook(
        &self,
        request: Request<pb::UpdateWebhookRequest>,
    ) -> Result<Response<pb::Webhook>, Status> {
        self.update(request).await.map_err(to_status)
    }

    async fn delete_webhook(
        &self,
        request: Request<pb::DeleteWebhookRequest>,
    ) -> Result<Response<()>, Status> {
        self.delete(request).await.map_err(to_status)
    }

    async fn test_webhook(
        &self,
        request: Request<pb::TestWebhookRequest>,
    ) -> Result<Response<pb::TestWebhookResponse>, Status> {
        self.test(request).await.map_err(to_status)
    }

    async fn rotate_webhook_url(
        &self,
        request: Request<pb::RotateWebhookUrlRequest>,
    ) -> Result<Response<pb::Webhook>, Status> {
        self.rotate(request).await.map_err(to_status)
    }

    async fn list_verification_providers(
        &self,
        request: Request<pb::ListVerificationProvidersRequest>,
    ) -> Result<Response<pb::ListVerificationProvidersResponse>, Status> {
        // The catalogue is the same for every application: any valid token may read it.
        let header = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        self.authorizer.authenticate(header).map_err(to_status)?;
        let providers = hookgate_verify::providers()
            .iter()
            .map(crate::convert::provider_to_proto)
            .collect();
        Ok(Response::new(pb::ListVerificationProvidersResponse {
            providers,
        }))
    }
}
