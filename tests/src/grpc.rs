//! The gRPC API on a loopback port, with a client for it.

use crate::TestDb;
use hookgate_api::{Authorizer, WebhookApi};
use hookgate_proto::v1::webhook_service_client::WebhookServiceClient;
use hookgate_storage::Store;
use std::net::SocketAddr;
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};
use tonic::transport::Channel;

pub const PUBLIC_URL: &str = "http://hooks.example.test";

/// A running API server; stops when dropped.
pub struct ApiServer {
    pub addr: SocketAddr,
    pub store: Store,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl ApiServer {
    pub async fn start(db: &TestDb) -> Self {
        Self::start_with_tokens(db, "").await
    }

    pub async fn start_with_tokens(db: &TestDb, tokens: &str) -> Self {
        let store = db.store().await;
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let api = WebhookApi::new(
            store.clone(),
            PUBLIC_URL,
            Authorizer::parse(tokens).expect("tokens"),
        );
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            hookgate_api::serve(listener, api, async {
                let _ = stopped.await;
            })
            .await
            .expect("grpc server");
        });
        Self {
            addr,
            store,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.addr))
            .expect("uri")
            .connect()
            .await
            .expect("connect to api")
    }

    pub async fn client(&self) -> WebhookServiceClient<Channel> {
        WebhookServiceClient::new(self.channel().await)
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
