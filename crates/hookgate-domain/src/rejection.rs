//! The rejection record: what an operator needs to see why a sender's requests are
//! refused. Like the trigger record, minus the body, plus the reason; no credentials.

use crate::{
    trigger::{self, InboundRequest, RecordContext, TriggerRecord},
    Webhook,
};
use bytes::Bytes;
use serde_json::Value;
use std::net::IpAddr;

pub const EVENT_TYPE: &str = "io.hookgate.webhook.rejected";

/// What the ingress saw of a refused request; the body is never kept.
pub struct RejectedRequest<'a> {
    pub method: &'a http::Method,
    /// What follows the token, starting with `/`.
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub headers: &'a http::HeaderMap,
    pub remote_address: Option<IpAddr>,
}

/// The record saying `request` to `webhook` was refused for `reason`: the trigger record
/// of the same request, so the two never drift apart, with `data.reason` for the body.
pub async fn build(
    webhook: &Webhook,
    request: &RejectedRequest<'_>,
    reason: &str,
    event_id: String,
    test: bool,
) -> Result<TriggerRecord, crate::Error> {
    let no_body = Bytes::new();
    let inbound = InboundRequest {
        method: request.method,
        path: request.path,
        query: request.query,
        headers: request.headers,
        body: &no_body,
        remote_address: request.remote_address,
    };
    let context = RecordContext {
        event_id,
        test,
        ..Default::default()
    };
    let mut record = trigger::build(webhook, &inbound, context).await?;
    let malformed =
        |error: serde_json::Error| crate::Error::Internal(format!("rejection record: {error}"));
    let mut value: Value = serde_json::from_slice(&record.value).map_err(malformed)?;
    if let Some(data) = value.get_mut("data").and_then(Value::as_object_mut) {
        data.remove("body");
        data.remove("bodyEncoding");
        data.insert("reason".to_owned(), Value::String(reason.to_owned()));
    }
    record.value = serde_json::to_vec(&value).map_err(malformed)?;
    for (name, value) in &mut record.headers {
        if *name == "ce_type" {
            *value = EVENT_TYPE.into();
        }
    }
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_record_names_the_reason_and_carries_no_body_or_credentials() {
        let webhook = Webhook::example();
        let mut headers = http::HeaderMap::new();
        headers.insert("authorization", "Basic b3BzOndyb25n".parse().unwrap());
        headers.insert("x-hub-signature-256", "sha256=00".parse().unwrap());
        let request = RejectedRequest {
            method: &http::Method::POST,
            path: "/",
            query: Some("a=1"),
            headers: &headers,
            remote_address: Some("203.0.113.7".parse().unwrap()),
        };
        let record = build(&webhook, &request, "signature", "e1".into(), false)
            .await
            .unwrap();
        let value: Value = serde_json::from_slice(&record.value).unwrap();
        assert_eq!(value["data"]["reason"], "signature");
        assert_eq!(value["data"]["query"]["a"], "1");
        assert_eq!(value["data"]["headers"]["x-hub-signature-256"], "sha256=00");
        assert!(value["data"].get("body").is_none());
        assert_eq!(value["data"]["remoteAddress"], "203.0.113.7");
        assert_eq!(value["id"], "e1");
        assert!(value["data"]["headers"].get("authorization").is_none());
        assert!(record
            .headers
            .contains(&("ce_type", "io.hookgate.webhook.rejected".into())));
        assert_eq!(record.key, "w1");
    }
}
