//! `TestWebhook` requests as ingress requests, and outcomes as replies.

use bytes::Bytes;
use hookgate_domain::{
    tester::{TestOutcome, TestRequest},
    Error,
};
use hookgate_proto::v1 as pb;
use http::{header, HeaderMap, HeaderName, HeaderValue, Method};

pub fn to_ingress(
    message: &pb::TestWebhookRequest,
    webhook_url: &str,
) -> Result<TestRequest, Error> {
    let method = if message.method.is_empty() {
        Method::POST
    } else {
        Method::from_bytes(message.method.to_ascii_uppercase().as_bytes()).map_err(|_| {
            Error::invalid(
                "method",
                format!("{:?} is not an HTTP method", message.method),
            )
        })?
    };
    let (path, query) = match message.path.split_once('?') {
        Some((path, query)) => (path, Some(query.to_owned())),
        None => (message.path.as_str(), None),
    };
    let path = match path {
        "" => "/".to_owned(),
        p if p.starts_with('/') => p.to_owned(),
        p => {
            return Err(Error::invalid(
                "path",
                format!("must start with '/', got {p:?}"),
            ))
        }
    };
    let mut headers = HeaderMap::new();
    for (name, value) in &message.headers {
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            Error::invalid("headers", format!("{name:?} is not a valid header name"))
        })?;
        let value = HeaderValue::from_str(value).map_err(|_| {
            Error::invalid(
                "headers",
                format!("the value of {name} is not a valid header value"),
            )
        })?;
        headers.append(name, value);
    }
    if !message.body.is_empty() && !headers.contains_key(header::CONTENT_TYPE) {
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    let url = match &query {
        Some(q) if path == "/" => format!("{webhook_url}?{q}"),
        Some(q) => format!("{webhook_url}{path}?{q}"),
        None if path == "/" => webhook_url.to_owned(),
        None => format!("{webhook_url}{path}"),
    };
    Ok(TestRequest {
        method,
        path,
        query,
        headers,
        body: Bytes::from(message.body.clone()),
        url,
    })
}

pub fn to_reply(outcome: TestOutcome) -> pb::TestWebhookResponse {
    let headers = outcome
        .headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let mut reply = pb::TestWebhookResponse {
        status_code: i32::from(outcome.status),
        headers,
        body: String::from_utf8_lossy(&outcome.body).into_owned(),
        ..Default::default()
    };
    if let Some(published) = outcome.published {
        reply.event_id = published.event_id;
        reply.topic = published.topic;
        reply.partition = published.partition;
        reply.offset = published.offset;
    }
    reply
}
