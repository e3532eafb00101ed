//! Building HTTP responses; every one carries `X-Content-Type-Options: nosniff`.

use bytes::Bytes;
use hookgate_domain::{ingress::Reply, reply::WorkflowReply, Error};
use http::HeaderName;
use http::{header, HeaderValue, Response, StatusCode};

pub(crate) fn from_reply(reply: Reply) -> Response<Bytes> {
    let mut response = Response::new(reply.body);
    *response.status_mut() = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK);
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Some(content_type) = reply.content_type {
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    for (name, value) in reply.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            headers.insert(name, value);
        }
    }
    response
}

/// `{"error": …}` with the status of the domain's error table, and the headers the status
/// calls for (`Retry-After`, `WWW-Authenticate` for basic-auth webhooks).
pub(crate) fn from_error(error: &Error, basic_auth: bool) -> Response<Bytes> {
    let status = error.kind().http_status();
    let mut response = from_reply(Reply::error(status, &error.public_message()));
    let headers = response.headers_mut();
    if let Some(wait) = error.retry_after() {
        headers.insert(
            header::RETRY_AFTER,
            // Rounded up: a client that waits the advertised whole seconds must find budget.
            HeaderValue::from((wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)),
        );
    }
    if basic_auth && status == 401 {
        headers.insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"hookgate\", charset=\"UTF-8\""),
        );
    }
    response
}

/// A workflow's reply; its headers never override the security headers set here.
pub(crate) fn from_workflow(reply: WorkflowReply) -> Response<Bytes> {
    let mut response = from_reply(Reply::new(
        reply.status,
        Some(reply.content_type),
        reply.body,
    ));
    let headers = response.headers_mut();
    for (name, value) in reply.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            headers.append(name, value);
        }
    }
    headers.insert(
        "content-security-policy",
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
    );
    headers.insert("x-xss-protection", HeaderValue::from_static("0"));
    response
}
