//! The rejection record: what an operator needs to see why a sender's requests are
//! refused. Like the trigger record, minus the body, plus the reason; no credentials.

use crate::{body, trigger, trigger::TriggerRecord, Webhook};
use chrono::{SecondsFormat, Utc};
use serde::Serialize;
use serde_json::{Map, Value};
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

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RejectedValue<'a> {
    id: &'a str,
    time: &'a str,
    application_id: &'a str,
    webhook_id: &'a str,
    test: bool,
    data: RejectedData<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RejectedData<'a> {
    reason: &'a str,
    method: String,
    path: &'a str,
    query: Map<String, Value>,
    headers: Map<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    remote_address: Option<String>,
}

/// The record saying `request` to `webhook` was refused for `reason`.
pub fn build(
    webhook: &Webhook,
    request: &RejectedRequest<'_>,
    reason: &str,
    event_id: String,
    test: bool,
) -> Result<TriggerRecord, crate::Error> {
    let time = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
    let value = RejectedValue {
        id: &event_id,
        time: &time,
        application_id: &webhook.name.application_id,
        webhook_id: &webhook.name.webhook_id,
        test,
        data: RejectedData {
            reason,
            method: request.method.as_str().to_ascii_lowercase(),
            path: request.path,
            query: request
                .query
                .map(|q| body::form_pairs(q.as_bytes()))
                .unwrap_or_default(),
            headers: trigger::header_object(request.headers),
            remote_address: request
                .remote_address
                .map(|ip| ip.to_canonical().to_string()),
        },
    };
    let value = serde_json::to_vec(&value)
        .map_err(|error| crate::Error::Internal(format!("rejection record: {error}")))?;
    Ok(TriggerRecord {
        key: webhook.name.webhook_id.clone(),
        headers: vec![
            ("ce_specversion", "1.0".to_owned()),
            ("ce_id", event_id.clone()),
            ("ce_source", webhook.name.event_source()),
            ("ce_type", EVENT_TYPE.to_owned()),
            ("ce_time", time),
            ("content-type", "application/json".to_owned()),
        ],
        value,
        event_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{WebhookName, WebhookSpec};

    #[test]
    fn the_record_names_the_reason_and_carries_no_body_or_credentials() {
        let webhook = Webhook {
            name: WebhookName::new("acme", "w1"),
            token: "t".repeat(32),
            spec: WebhookSpec::default(),
            revision: 1,
            create_time: Utc::now(),
            update_time: Utc::now(),
        };
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
        let record = build(&webhook, &request, "signature", "e1".into(), false).unwrap();
        let value: Value = serde_json::from_slice(&record.value).unwrap();
        assert_eq!(value["data"]["reason"], "signature");
        assert_eq!(value["data"]["query"]["a"], "1");
        assert_eq!(value["data"]["headers"]["x-hub-signature-256"], "sha256=00");
        assert!(value["data"].get("body").is_none());
        assert!(value["data"]["headers"].get("authorization").is_none());
        assert!(record
            .headers
            .contains(&("ce_type", "io.hookgate.webhook.rejected".to_owned())));
        assert_eq!(record.key, "w1");
    }
}
