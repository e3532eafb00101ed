//! What the ingress answers before and after publishing: handshakes, credentials, replies.

use crate::{secret, Error, VerificationType, WebhookSpec};
use base64::Engine;
use bytes::Bytes;
use std::borrow::Cow;

pub const JSON: &str = "application/json";
pub const TEXT: &str = "text/plain; charset=utf-8";
pub const XML: &str = "text/xml";
const SUCCESS_BODY: &[u8] = br#"{"success":true}"#;
const EMPTY_TWIML: &[u8] = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>";

/// An answer decided by hookgate itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub content_type: Option<&'static str>,
    pub body: Bytes,
}

impl Reply {
    fn new(status: u16, content_type: Option<&'static str>, body: impl Into<Bytes>) -> Self {
        Self {
            status,
            content_type,
            body: body.into(),
        }
    }

    fn empty(status: u16) -> Self {
        Self::new(status, None, Bytes::new())
    }

    /// `{"error": message}` with `status`.
    pub fn error(status: u16, message: &str) -> Self {
        let body = serde_json::json!({ "error": message }).to_string();
        Self::new(status, Some(JSON), body)
    }
}

/// The reply once the message is in Kafka.
pub fn success_reply(spec: &WebhookSpec) -> Reply {
    let status = spec.success_status();
    match spec.verification_type {
        VerificationType::Fitbit => Reply::empty(204),
        VerificationType::Twilio => Reply::new(status, Some(XML), EMPTY_TWIML),
        _ => Reply::new(status, Some(JSON), SUCCESS_BODY),
    }
}

/// Query pairs, decoded once per request.
pub type Query<'a> = Vec<(Cow<'a, str>, Cow<'a, str>)>;

pub fn parse_query(query: Option<&str>) -> Query<'_> {
    query
        .map(|q| form_urlencoded::parse(q.as_bytes()).collect())
        .unwrap_or_default()
}

fn query_value<'q>(query: &'q Query<'_>, key: &str) -> Option<&'q str> {
    query
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_ref())
}

/// Answers a provider's subscription handshake; `None` means the request is a real event.
/// Handshakes are answered before signatures are checked: providers do not sign them.
pub fn query_handshake(
    spec: &WebhookSpec,
    method: &http::Method,
    query: &Query<'_>,
) -> Option<Reply> {
    let code = spec.verification_code.as_bytes();
    match spec.verification_type {
        VerificationType::Facebook
            if method == http::Method::GET
                && query_value(query, "hub.mode") == Some("subscribe") =>
        {
            let token = query_value(query, "hub.verify_token").unwrap_or_default();
            Some(if secret::constant_time_eq(token.as_bytes(), code) {
                let challenge = query_value(query, "hub.challenge").unwrap_or_default();
                Reply::new(200, Some(TEXT), challenge.to_owned())
            } else {
                Reply::error(403, "verify token mismatch")
            })
        }
        VerificationType::Fitbit => query_value(query, "verify").map(|verify| {
            if secret::constant_time_eq(verify.as_bytes(), code) {
                Reply::empty(204)
            } else {
                Reply::empty(404)
            }
        }),
        _ => None,
    }
}

/// Slack's `url_verification`, answered once the signature has been checked.
pub fn slack_handshake(spec: &WebhookSpec, body: &[u8]) -> Option<Reply> {
    if spec.verification_type != VerificationType::Slack {
        return None;
    }
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    if value.get("type")?.as_str()? != "url_verification" {
        return None;
    }
    let challenge = value.get("challenge")?.as_str()?;
    Some(Reply::new(200, Some(TEXT), challenge.to_owned()))
}

/// Checks `Authorization: Basic …` when the webhook asks for it.
pub fn check_basic_auth(spec: &WebhookSpec, authorization: Option<&[u8]>) -> Result<(), Error> {
    if !spec.has_basic_auth() {
        return Ok(());
    }
    let denied = || Error::Unauthenticated("basic authentication required".into());
    let encoded = authorization
        .and_then(|h| std::str::from_utf8(h).ok())
        .and_then(|h| {
            h.strip_prefix("Basic ")
                .or_else(|| h.strip_prefix("basic "))
        })
        .ok_or_else(denied)?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| denied())?;
    let decoded = String::from_utf8(decoded).map_err(|_| denied())?;
    let (user, password) = decoded.split_once(':').ok_or_else(denied)?;
    let user_ok = secret::constant_time_eq(user.as_bytes(), spec.basic_auth_username.as_bytes());
    let password_ok = match &spec.basic_auth_password_digest {
        Some(digest) => secret::password_matches(password, digest),
        None => password.is_empty(),
    };
    if user_ok && password_ok {
        Ok(())
    } else {
        Err(denied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(kind: VerificationType, code: &str) -> WebhookSpec {
        WebhookSpec {
            display_name: "t".into(),
            verification_type: kind,
            verification_code: code.into(),
            ..WebhookSpec::default()
        }
    }

    #[test]
    fn facebook_echoes_the_challenge_only_for_the_right_token() {
        let fb = spec(VerificationType::Facebook, "tok");
        let ok = parse_query(Some(
            "hub.mode=subscribe&hub.verify_token=tok&hub.challenge=123",
        ));
        let reply = query_handshake(&fb, &http::Method::GET, &ok).unwrap();
        assert_eq!((reply.status, reply.body.as_ref()), (200, b"123".as_ref()));
        let bad = parse_query(Some(
            "hub.mode=subscribe&hub.verify_token=no&hub.challenge=123",
        ));
        assert_eq!(
            query_handshake(&fb, &http::Method::GET, &bad)
                .unwrap()
                .status,
            403
        );
        assert!(query_handshake(&fb, &http::Method::POST, &ok).is_none());
        assert!(query_handshake(&fb, &http::Method::GET, &parse_query(None)).is_none());
    }

    #[test]
    fn fitbit_verify_answers_204_or_404() {
        let fitbit = spec(VerificationType::Fitbit, "code");
        let get = &http::Method::GET;
        assert_eq!(
            query_handshake(&fitbit, get, &parse_query(Some("verify=code")))
                .unwrap()
                .status,
            204
        );
        assert_eq!(
            query_handshake(&fitbit, get, &parse_query(Some("verify=x")))
                .unwrap()
                .status,
            404
        );
        assert!(query_handshake(&fitbit, get, &parse_query(Some("a=b"))).is_none());
        assert_eq!(success_reply(&fitbit), Reply::empty(204));
    }

    #[test]
    fn twilio_gets_empty_twiml_and_others_success_json() {
        let twilio = success_reply(&spec(VerificationType::Twilio, ""));
        assert_eq!(twilio.content_type, Some(XML));
        assert_eq!(twilio.body.as_ref(), EMPTY_TWIML);
        let plain = success_reply(&WebhookSpec {
            response_code: 202,
            ..spec(VerificationType::None, "")
        });
        assert_eq!((plain.status, plain.body.as_ref()), (202, SUCCESS_BODY));
    }

    #[test]
    fn slack_url_verification_returns_the_challenge() {
        let slack = spec(VerificationType::Slack, "");
        let reply =
            slack_handshake(&slack, br#"{"type":"url_verification","challenge":"abc"}"#).unwrap();
        assert_eq!(reply.body.as_ref(), b"abc");
        assert!(slack_handshake(&slack, br#"{"type":"event_callback"}"#).is_none());
    }

    #[test]
    fn basic_auth_requires_matching_credentials() {
        let protected = WebhookSpec {
            basic_auth_username: "user".into(),
            basic_auth_password_digest: Some(secret::password_digest("pw")),
            ..spec(VerificationType::None, "")
        };
        let header = |s: &str| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(s)
            )
        };
        assert!(check_basic_auth(&protected, Some(header("user:pw").as_bytes())).is_ok());
        assert!(check_basic_auth(&protected, Some(header("user:no").as_bytes())).is_err());
        assert!(check_basic_auth(&protected, Some(header("other:pw").as_bytes())).is_err());
        assert!(check_basic_auth(&protected, Some(b"Bearer x")).is_err());
        assert!(check_basic_auth(&protected, None).is_err());
        assert!(check_basic_auth(&spec(VerificationType::None, ""), None).is_ok());
    }
}
