//! Answers to providers' set-up handshakes. None of them publishes a record.

use crate::{
    catalogue::{self, Handshake},
    engine,
};
use base64::{engine::general_purpose::STANDARD, Engine};
use hmac::Hmac;
use hookgate_domain::{
    ingress::{Query, Reply, JSON, TEXT},
    secret::constant_time_eq,
    Secret, WebhookSpec,
};
use sha2::Sha256;

/// What a handshake calls for.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    Reply(Reply),
    /// Asana: answer `reply` once `secret` is kept as the webhook's signing secret.
    KeepSecret {
        secret: Secret,
        reply: Reply,
    },
}

fn handshake_of(spec: &WebhookSpec) -> Handshake {
    catalogue::provider_of(spec).map_or(Handshake::None, |p| p.handshake)
}

fn query_value<'q>(query: &'q Query<'_>, key: &str) -> Option<&'q str> {
    query
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_ref())
}

fn header<'h>(headers: &'h http::HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn json(value: serde_json::Value) -> Reply {
    Reply::new(200, Some(JSON), value.to_string())
}

fn hmac_sha256(secret: &Secret, message: &str) -> Vec<u8> {
    engine::hmac::<Hmac<Sha256>>(secret.expose().as_bytes(), message.as_bytes())
}

/// Handshakes providers do not sign, answered before any signature check; `None` means
/// the request is an event.
pub fn before_signature(
    spec: &WebhookSpec,
    method: &http::Method,
    query: &Query<'_>,
    headers: &http::HeaderMap,
) -> Option<Step> {
    let code = spec.verification_code.expose().as_bytes();
    let reply = match handshake_of(spec) {
        Handshake::MetaHub
            if method == http::Method::GET
                && query_value(query, "hub.mode") == Some("subscribe") =>
        {
            let token = query_value(query, "hub.verify_token").unwrap_or_default();
            if constant_time_eq(token.as_bytes(), code) {
                let challenge = query_value(query, "hub.challenge").unwrap_or_default();
                Reply::new(200, Some(TEXT), challenge.to_owned())
            } else {
                Reply::error(403, "verify token mismatch")
            }
        }
        Handshake::FitbitVerify => {
            let verify = query_value(query, "verify")?;
            Reply::empty(if constant_time_eq(verify.as_bytes(), code) {
                204
            } else {
                404
            })
        }
        Handshake::QueryEcho(param) => {
            Reply::new(200, Some(TEXT), query_value(query, param)?.to_owned())
        }
        Handshake::Head if method == http::Method::HEAD => Reply::empty(200),
        Handshake::OktaChallenge if method == http::Method::GET => {
            let challenge = header(headers, "X-Okta-Verification-Challenge")?;
            json(serde_json::json!({ "verification": challenge }))
        }
        Handshake::AsanaHookSecret => {
            let secret = header(headers, "X-Hook-Secret")?;
            let mut reply = Reply::empty(200);
            reply.headers.push(("X-Hook-Secret", secret.to_owned()));
            if spec.signing_secret.is_none() {
                return Some(Step::KeepSecret {
                    secret: secret.into(),
                    reply,
                });
            }
            reply
        }
        Handshake::TwitterCrc if method == http::Method::GET => {
            let token = query_value(query, "crc_token")?;
            match &spec.signing_secret {
                Some(secret) => json(serde_json::json!({
                    "response_token":
                        format!("sha256={}", STANDARD.encode(hmac_sha256(secret, token)))
                })),
                None => Reply::error(401, "the webhook has no signing secret"),
            }
        }
        _ => return None,
    };
    Some(Step::Reply(reply))
}

/// Handshakes the provider signs, answered once the signature has been checked.
pub fn after_signature(
    spec: &WebhookSpec,
    headers: &http::HeaderMap,
    body: &[u8],
) -> Option<Reply> {
    let handshake = handshake_of(spec);
    if !handshake.after_signature() {
        return None;
    }
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let text = |pointer: &str| value.pointer(pointer).and_then(serde_json::Value::as_str);
    match handshake {
        Handshake::SlackUrlVerification if text("/type")? == "url_verification" => {
            Some(Reply::new(200, Some(TEXT), text("/challenge")?.to_owned()))
        }
        Handshake::ZoomUrlValidation if text("/event")? == "endpoint.url_validation" => {
            let plain = text("/payload/plainToken")?;
            let encrypted = hex::encode(hmac_sha256(spec.signing_secret.as_ref()?, plain));
            Some(json(serde_json::json!({
                "plainToken": plain,
                "encryptedToken": encrypted,
            })))
        }
        Handshake::DiscordPing if value.get("type")?.as_i64()? == 1 => {
            Some(json(serde_json::json!({ "type": 1 })))
        }
        Handshake::TwitchChallenge
            if header(headers, "Twitch-Eventsub-Message-Type")?
                == "webhook_callback_verification" =>
        {
            Some(Reply::new(200, Some(TEXT), text("/challenge")?.to_owned()))
        }
        _ => None,
    }
}
