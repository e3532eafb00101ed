//! The trigger record: one Kafka record per accepted request, CloudEvents 1.0 binary mode.

use crate::{body, Webhook};
use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{ser::SerializeMap, Serialize, Serializer};
use serde_json::{Map, Value};
use smallvec::SmallVec;
use std::borrow::Cow;
use std::net::IpAddr;

pub const EVENT_TYPE: &str = "io.hookgate.webhook.request";

/// Request headers that never reach Kafka: they carry the caller's credentials.
pub(crate) const DROPPED_HEADERS: [&str; 2] = ["cookie", "authorization"];

/// What the ingress saw of one HTTP request.
pub struct InboundRequest<'a> {
    pub method: &'a http::Method,
    /// What follows the token, starting with `/`.
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub headers: &'a http::HeaderMap,
    pub body: &'a Bytes,
    pub remote_address: Option<IpAddr>,
}

/// Facts about the request decided before it is recorded.
#[derive(Default)]
pub struct RecordContext {
    pub event_id: String,
    pub time: Option<DateTime<Utc>>,
    pub test: bool,
    /// The signature scheme that was checked.
    pub verified: Option<&'static str>,
    pub reply_id: Option<String>,
    /// W3C `traceparent` of the active trace.
    pub traceparent: Option<String>,
    /// What identifies the delivery, for deduplicated webhooks.
    pub delivery_key: Option<String>,
}

/// A record ready for the producer.
#[derive(Debug, Clone)]
pub struct TriggerRecord {
    pub key: String,
    pub headers: Vec<(&'static str, Cow<'static, str>)>,
    pub value: Vec<u8>,
    pub event_id: String,
}

/// The value's buffer is kept for the next record built on this thread.
impl Drop for TriggerRecord {
    fn drop(&mut self) {
        crate::buffers::give_back(std::mem::take(&mut self.value));
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Value_<'a> {
    id: &'a str,
    time: &'a str,
    application_id: &'a str,
    webhook_id: &'a str,
    test: bool,
    data: Data<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Data<'a> {
    method: Cow<'static, str>,
    path: &'a str,
    query: Map<String, Value>,
    headers: HeaderObject<'a>,
    body: body::BodyValue<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body_encoding: Option<&'static str>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "canonical_address"
    )]
    remote_address: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    verified: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reply_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    delivery_key: Option<&'a str>,
}

/// The address as text, IPv4-mapped IPv6 as plain IPv4, written straight into the record.
fn canonical_address<S: Serializer>(
    address: &Option<IpAddr>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match address {
        Some(ip) => serializer.collect_str(&ip.to_canonical()),
        None => serializer.serialize_none(),
    }
}

/// The request's headers as the record's `headers` object: names lowercased (as `http`
/// keeps them) and sorted, repeats joined by `, `, credentials dropped. Serialised straight
/// from the request, with no map built in between.
struct HeaderObject<'a>(&'a http::HeaderMap);

impl Serialize for HeaderObject<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut names: SmallVec<[&str; 24]> = self
            .0
            .keys()
            .map(http::HeaderName::as_str)
            .filter(|name| !DROPPED_HEADERS.contains(name))
            .collect();
        names.sort_unstable();
        let mut object = serializer.serialize_map(Some(names.len()))?;
        for name in names {
            let mut values = self.0.get_all(name).iter();
            let first = values.next().map(|v| String::from_utf8_lossy(v.as_bytes()));
            let first = first.unwrap_or_default();
            match values.next() {
                None => object.serialize_entry(name, &first)?,
                Some(second) => {
                    let mut joined = first.into_owned();
                    for value in std::iter::once(second).chain(values) {
                        joined.push_str(", ");
                        joined.push_str(&String::from_utf8_lossy(value.as_bytes()));
                    }
                    object.serialize_entry(name, &joined)?;
                }
            }
        }
        object.end()
    }
}

/// The method as the record spells it: lowercase, without an allocation for the usual ones.
fn lowercase_method(method: &http::Method) -> Cow<'static, str> {
    Cow::Borrowed(match *method {
        http::Method::POST => "post",
        http::Method::GET => "get",
        http::Method::PUT => "put",
        http::Method::PATCH => "patch",
        http::Method::DELETE => "delete",
        http::Method::HEAD => "head",
        http::Method::OPTIONS => "options",
        _ => return Cow::Owned(method.as_str().to_ascii_lowercase()),
    })
}

/// Whether `value` is a well-formed W3C `traceparent`, so junk is not forwarded.
pub fn is_valid_traceparent(value: &str) -> bool {
    let parts: Vec<&str> = value.split('-').collect();
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    parts.len() == 4
        && hex(parts[0], 2)
        && parts[0] != "ff"
        && hex(parts[1], 32)
        && parts[1] != "0".repeat(32)
        && hex(parts[2], 16)
        && parts[2] != "0".repeat(16)
        && hex(parts[3], 2)
}

/// Builds the record for `request` to `webhook`.
pub async fn build(
    webhook: &Webhook,
    request: &InboundRequest<'_>,
    context: RecordContext,
) -> Result<TriggerRecord, crate::Error> {
    let time = context
        .time
        .unwrap_or_else(Utc::now)
        .to_rfc3339_opts(SecondsFormat::Millis, true);
    let content_type = request
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let parsed = body::parse(content_type, request.body).await;
    let value = Value_ {
        id: &context.event_id,
        time: &time,
        application_id: &webhook.name.application_id,
        webhook_id: &webhook.name.webhook_id,
        test: context.test,
        data: Data {
            method: lowercase_method(request.method),
            path: request.path,
            query: request
                .query
                .map(|q| body::form_pairs(q.as_bytes()))
                .unwrap_or_default(),
            headers: HeaderObject(request.headers),
            body: parsed.value,
            body_encoding: parsed.encoding,
            remote_address: request.remote_address,
            verified: context.verified,
            reply_id: context.reply_id.as_deref(),
            delivery_key: context.delivery_key.as_deref(),
        },
    };
    // Strings, maps and JSON values serialise; should that ever fail, nothing is published.
    // Sized for the body and the request's head up front: grown step by step, the buffer
    // was reallocated and copied about ten times per record.
    let head: usize = request
        .headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 8)
        .sum();
    let estimate = request.body.len() + head + request.path.len() + 384;
    let mut buffer = crate::buffers::take(estimate + request.query.map_or(0, str::len));
    serde_json::to_writer(&mut buffer, &value)
        .map_err(|error| crate::Error::Internal(format!("trigger record: {error}")))?;
    let value = buffer;
    let mut headers = Vec::with_capacity(7);
    headers.extend([
        ("ce_specversion", Cow::Borrowed("1.0")),
        ("ce_id", context.event_id.clone().into()),
        ("ce_source", webhook.name.event_source().into()),
        ("ce_type", Cow::Borrowed(EVENT_TYPE)),
        ("ce_time", time.into()),
        ("content-type", Cow::Borrowed("application/json")),
    ]);
    if let Some(traceparent) = context.traceparent {
        headers.push(("traceparent", traceparent.into()));
    }
    Ok(TriggerRecord {
        key: webhook.name.webhook_id.clone(),
        headers,
        value,
        event_id: context.event_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn record_has_cloudevents_headers_and_the_documented_value() {
        let mut headers = http::HeaderMap::new();
        headers.insert("content-type", "application/json".parse().unwrap());
        headers.insert("x-thing", "1".parse().unwrap());
        headers.append("x-thing", "2".parse().unwrap());
        headers.insert("cookie", "s=1".parse().unwrap());
        headers.insert("authorization", "Bearer x".parse().unwrap());
        let body = Bytes::from_static(br#"{"a":1}"#);
        let request = InboundRequest {
            method: &http::Method::POST,
            path: "/sub/path",
            query: Some("a=1&b=2&b=3"),
            headers: &headers,
            body: &body,
            remote_address: Some("::ffff:203.0.113.7".parse().unwrap()),
        };
        let time = "2026-11-28T10:00:00.123Z".parse().unwrap();
        let traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        let record = build(
            &Webhook::example(),
            &request,
            RecordContext {
                event_id: "e1".into(),
                time: Some(time),
                verified: Some("github"),
                traceparent: Some(traceparent.into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(record.key, "w1");
        assert_eq!(
            record.headers,
            vec![
                ("ce_specversion", "1.0".into()),
                ("ce_id", "e1".into()),
                ("ce_source", "/applications/acme/webhooks/w1".into()),
                ("ce_type", EVENT_TYPE.into()),
                ("ce_time", "2026-11-28T10:00:00.123Z".into()),
                ("content-type", "application/json".into()),
                ("traceparent", traceparent.into()),
            ]
        );
        let value: Value = serde_json::from_slice(&record.value).unwrap();
        assert_eq!(
            value,
            json!({
                "id": "e1",
                "time": "2026-11-28T10:00:00.123Z",
                "applicationId": "acme",
                "webhookId": "w1",
                "test": false,
                "data": {
                    "method": "post",
                    "path": "/sub/path",
                    "query": {"a": "1", "b": ["2", "3"]},
                    "headers": {"content-type": "application/json", "x-thing": "1, 2"},
                    "body": {"a": 1},
                    "remoteAddress": "203.0.113.7",
                    "verified": "github"
                }
            })
        );
    }

    /// The record of a POST to `/` with `body` as `application/json`.
    async fn json_record(body: &Bytes) -> TriggerRecord {
        let mut headers = http::HeaderMap::new();
        headers.insert("content-type", "application/json".parse().unwrap());
        let request = InboundRequest {
            method: &http::Method::POST,
            path: "/",
            query: None,
            headers: &headers,
            body,
            remote_address: None,
        };
        build(&Webhook::example(), &request, RecordContext::default())
            .await
            .unwrap()
    }

    async fn record_with_json_body(body: String) -> Value {
        let record = json_record(&Bytes::from(body)).await;
        serde_json::from_slice(&record.value).expect("serde_json parses every record")
    }

    #[tokio::test]
    async fn a_dropped_record_lends_its_buffer_to_the_next_one() {
        let body = Bytes::from(format!(r#"{{"pad":"{}"}}"#, "x".repeat(1200)));
        let first = json_record(&body).await;
        let address = first.value.as_ptr();
        drop(first);
        // Without the spare, the allocator would hand the freed chunk to this one.
        let decoy = Vec::<u8>::with_capacity(1700);
        let second = json_record(&body).await;
        drop(decoy);
        assert_eq!(second.value.as_ptr(), address);
        assert!(
            second.value.ends_with(b"}"),
            "the reused buffer was emptied first"
        );
        let value: Value = serde_json::from_slice(&second.value).unwrap();
        assert_eq!(value["data"]["body"]["pad"], "x".repeat(1200));
    }

    #[tokio::test]
    async fn deeply_nested_json_keeps_the_record_parseable() {
        let nested = |depth: usize| format!("{}1{}", r#"{"a":"#.repeat(depth), "}".repeat(depth));
        let deep = nested(200);
        let value = record_with_json_body(deep.clone()).await;
        assert_eq!(value["data"]["body"], Value::String(deep));
        let deepest = record_with_json_body(nested(body::MAX_JSON_DEPTH)).await;
        assert!(deepest["data"]["body"]["a"].is_object());
    }

    #[test]
    fn traceparent_validation() {
        assert!(is_valid_traceparent(
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        ));
        assert!(!is_valid_traceparent(
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331"
        ));
        assert!(!is_valid_traceparent(
            "00-00000000000000000000000000000000-b7ad6b7169203331-01"
        ));
        assert!(!is_valid_traceparent(
            "zz-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        ));
    }
}
