//! What the ingress answers by itself: replies, and the query string they are decided on.

use crate::{VerificationType, WebhookSpec};
use bytes::Bytes;
use std::borrow::Cow;

pub const JSON: &str = "application/json";
pub const TEXT: &str = "text/plain; charset=utf-8";
pub const XML: &str = "text/xml";
const SUCCESS_BODY: &[u8] = br#"{"success":true}"#;
const EMPTY_TWIML: &[u8] = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>";

/// An answer decided by hookgate itself.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reply {
    pub status: u16,
    pub content_type: Option<&'static str>,
    pub body: Bytes,
    /// Extra response headers a handshake calls for (Asana's `X-Hook-Secret`).
    pub headers: Vec<(&'static str, String)>,
}

impl Reply {
    pub fn new(status: u16, content_type: Option<&'static str>, body: impl Into<Bytes>) -> Self {
        Self {
            status,
            content_type,
            body: body.into(),
            headers: Vec::new(),
        }
    }

    pub fn empty(status: u16) -> Self {
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
    match spec.answers_like() {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(kind: VerificationType) -> WebhookSpec {
        WebhookSpec {
            display_name: "t".into(),
            verification_type: kind,
            ..WebhookSpec::default()
        }
    }

    #[test]
    fn twilio_gets_empty_twiml_fitbit_204_and_others_success_json() {
        let twilio = success_reply(&spec(VerificationType::Twilio));
        assert_eq!(twilio.content_type, Some(XML));
        assert_eq!(twilio.body.as_ref(), EMPTY_TWIML);
        let provider = WebhookSpec {
            verification_provider: "twilio".into(),
            ..spec(VerificationType::Provider)
        };
        assert_eq!(success_reply(&provider), twilio);
        assert_eq!(success_reply(&spec(VerificationType::Fitbit)).status, 204);
        let plain = success_reply(&WebhookSpec {
            response_code: 202,
            ..spec(VerificationType::None)
        });
        assert_eq!((plain.status, plain.body.as_ref()), (202, SUCCESS_BODY));
    }
}
