//! Verification of webhook payload signatures, one scheme per verification type.

use crate::{secret::constant_time_eq, Error, VerificationType, WebhookSpec};
use base64::{engine::general_purpose::STANDARD, Engine};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::Sha256;

/// Replay window of the timestamped schemes (Stripe, Slack and Standard Webhooks all use 5 minutes).
const TOLERANCE_SECS: u64 = 300;
/// Amazon requires Alexa requests to be rejected when older than 150 s.
const ALEXA_TOLERANCE_SECS: u64 = 150;

/// What signature checks need to know about one request.
pub struct SignedRequest<'a> {
    pub method: &'a http::Method,
    /// The full public URL the sender called, including sub-path and query string (Twilio signs it).
    pub url: &'a str,
    pub headers: &'a http::HeaderMap,
    /// Raw body bytes exactly as received.
    pub body: &'a [u8],
    pub now: DateTime<Utc>,
}

/// Ok(None): nothing to check (no signing_secret set, or a type without a signature scheme).
/// Ok(Some(name)): the signature was checked and is valid; `name` is `spec.verification_type.as_str()`.
/// Err(Error::Unauthenticated(msg)): missing/malformed/mismatched signature or stale timestamp; `msg`
/// never contains the secret or the expected signature.
pub fn verify(
    spec: &WebhookSpec,
    request: &SignedRequest<'_>,
) -> Result<Option<&'static str>, Error> {
    use VerificationType as T;
    let kind = spec.verification_type;
    let body = request.body;
    let (expected, candidates) = match (kind, spec.signing_secret.as_deref()) {
        // Alexa is signed with Amazon's certificate, not a shared secret.
        (T::Alexa, _) => return verify_alexa(request).map(|()| Some(kind.as_str())),
        (T::None, _) | (_, None) => return Ok(None),
        (T::Facebook | T::Github, Some(secret)) => (
            hmac_sha256(secret.as_bytes(), &[body])?,
            vec![hex_header(request, "X-Hub-Signature-256", "sha256=")?],
        ),
        (T::Fitbit, Some(secret)) => (
            hmac_sha1(format!("{secret}&").as_bytes(), &[body])?,
            vec![base64_header(request, "X-Fitbit-Signature")?],
        ),
        (T::Twilio, Some(secret)) => (
            hmac_sha1(
                secret.as_bytes(),
                &[twilio_signed_data(request)?.as_bytes()],
            )?,
            vec![base64_header(request, "X-Twilio-Signature")?],
        ),
        (T::Shopify, Some(secret)) => (
            hmac_sha256(secret.as_bytes(), &[body])?,
            vec![base64_header(request, "X-Shopify-Hmac-Sha256")?],
        ),
        (T::Stripe, Some(secret)) => stripe(secret.as_bytes(), request)?,
        (T::Slack, Some(secret)) => {
            let ts = timestamp_header(request, "X-Slack-Request-Timestamp")?;
            (
                hmac_sha256(secret.as_bytes(), &[b"v0:", ts.as_bytes(), b":", body])?,
                vec![hex_header(request, "X-Slack-Signature", "v0=")?],
            )
        }
        (T::StandardWebhooks, Some(secret)) => standard_webhooks(secret, request)?,
    };
    check_any(&expected, candidates)?;
    Ok(Some(kind.as_str()))
}

/// The expected signature and the candidates the sender offered for it.
type Signatures = (Vec<u8>, Vec<Vec<u8>>);

fn stripe(key: &[u8], request: &SignedRequest<'_>) -> Result<Signatures, Error> {
    let name = "Stripe-Signature";
    let items: Vec<_> = header(request, name)?
        .split(',')
        .filter_map(|item| item.trim().split_once('='))
        .collect();
    let (_, ts) = items
        .iter()
        .find(|(k, _)| *k == "t")
        .ok_or_else(|| malformed(name))?;
    check_timestamp(name, ts, request.now)?;
    // A v1 that is not hex cannot match; Stripe's own libraries skip it the same way.
    let candidates = items.iter().filter(|(k, _)| *k == "v1");
    Ok((
        hmac_sha256(key, &[ts.as_bytes(), b".", request.body])?,
        candidates
            .filter_map(|(_, v)| hex::decode(v).ok())
            .collect(),
    ))
}

fn standard_webhooks(secret: &str, request: &SignedRequest<'_>) -> Result<Signatures, Error> {
    // The reference libraries accept the key with or without the prefix; validation insists on it.
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .map_err(|_| Error::Internal("signing secret is not whsec_ followed by base64".into()))?;
    let id = header(request, "webhook-id")?;
    let ts = timestamp_header(request, "webhook-timestamp")?;
    let candidates = header(request, "webhook-signature")?
        .split_whitespace()
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .filter_map(|sig| STANDARD.decode(sig).ok());
    Ok((
        hmac_sha256(
            &key,
            &[id.as_bytes(), b".", ts.as_bytes(), b".", request.body],
        )?,
        candidates.collect(),
    ))
}

/// The URL, then — for form posts only — every parameter sorted, as key and value with no separators.
fn twilio_signed_data(request: &SignedRequest<'_>) -> Result<String, Error> {
    let mut data = request.url.to_owned();
    let is_form = optional_header(request, "Content-Type")?.is_some_and(|ct| {
        let media_type = ct.split(';').next().unwrap_or_default().trim();
        media_type.eq_ignore_ascii_case("application/x-www-form-urlencoded")
    });
    if request.method == http::Method::POST && is_form {
        let mut params: Vec<_> = form_urlencoded::parse(request.body).collect();
        params.sort();
        for (key, value) in params {
            data.push_str(&key);
            data.push_str(&value);
        }
    }
    Ok(data)
}

fn verify_alexa(request: &SignedRequest<'_>) -> Result<(), Error> {
    // Only the checks that need no network live here: the caller must download the chain from
    // SignatureCertChainUrl, validate it, and check the RSA signature of the body with it.
    let cert_url = header(request, "SignatureCertChainUrl")?;
    if !alexa_cert_url_allowed(cert_url) {
        return Err(unauthenticated(
            "SignatureCertChainUrl header is not an amazon echo.api url",
        ));
    }
    let name = match optional_header(request, "Signature-256")? {
        Some(_) => "Signature-256",
        None => "Signature",
    };
    if base64_header(request, name)?.is_empty() {
        return Err(malformed(name));
    }
    let body: serde_json::Value = serde_json::from_slice(request.body)
        .map_err(|_| unauthenticated("alexa body is not json"))?;
    let timestamp = body
        .pointer("/request/timestamp")
        .and_then(serde_json::Value::as_str)
        .and_then(|ts| DateTime::parse_from_rfc3339(ts).ok())
        .ok_or_else(|| unauthenticated("missing or malformed request.timestamp in body"))?;
    within_tolerance(timestamp.timestamp(), request.now, ALEXA_TOLERANCE_SECS)
}

/// Amazon's rules for the certificate chain URL of an Alexa request.
pub fn alexa_cert_url_allowed(url: &str) -> bool {
    let Some((scheme, rest)) = url.split_once("://") else {
        return false;
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, rest) = rest.split_at(authority_end);
    let (host, port) = match authority.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    let path = &rest[..rest.find(['?', '#']).unwrap_or(rest.len())];
    // Escapes could hide dot segments or separators that the downloading client would decode.
    scheme.eq_ignore_ascii_case("https")
        && host.eq_ignore_ascii_case("s3.amazonaws.com")
        && port.is_none_or(|p| p == "443")
        && !path.contains(['%', '\\'])
        && remove_dot_segments(path).starts_with("/echo.api/")
}

fn remove_dot_segments(path: &str) -> String {
    let Some(path) = path.strip_prefix('/') else {
        return String::new();
    };
    let mut out: Vec<&str> = Vec::new();
    let mut segments = path.split('/').peekable();
    while let Some(segment) = segments.next() {
        match segment {
            "." | ".." => {
                if segment == ".." {
                    out.pop();
                }
                // A trailing dot segment still names a directory: `/a/b/..` is `/a/`.
                if segments.peek().is_none() {
                    out.push("");
                }
            }
            other => out.push(other),
        }
    }
    format!("/{}", out.join("/"))
}

fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> Result<Vec<u8>, Error> {
    mac::<Hmac<Sha256>>(key, parts)
}

fn hmac_sha1(key: &[u8], parts: &[&[u8]]) -> Result<Vec<u8>, Error> {
    mac::<Hmac<Sha1>>(key, parts)
}

fn mac<M: Mac + hmac::digest::KeyInit>(key: &[u8], parts: &[&[u8]]) -> Result<Vec<u8>, Error> {
    // HMAC accepts keys of any length, so this error cannot happen in practice.
    let mut mac =
        <M as Mac>::new_from_slice(key).map_err(|_| Error::Internal("hmac key".into()))?;
    for part in parts {
        mac.update(part);
    }
    Ok(mac.finalize().into_bytes().to_vec())
}

fn check_any(expected: &[u8], candidates: impl IntoIterator<Item = Vec<u8>>) -> Result<(), Error> {
    // Fold rather than `any` so every candidate is compared, whichever one matches.
    let matched = candidates.into_iter().fold(false, |found, given| {
        constant_time_eq(expected, &given) | found
    });
    if matched {
        Ok(())
    } else {
        Err(unauthenticated("signature mismatch"))
    }
}

fn check_timestamp(name: &str, value: &str, now: DateTime<Utc>) -> Result<(), Error> {
    let ts = value.trim().parse::<i64>().map_err(|_| malformed(name))?;
    within_tolerance(ts, now, TOLERANCE_SECS)
}

fn within_tolerance(unix_secs: i64, now: DateTime<Utc>, tolerance: u64) -> Result<(), Error> {
    if now.timestamp().abs_diff(unix_secs) <= tolerance {
        Ok(())
    } else {
        Err(unauthenticated(&format!(
            "timestamp outside the {tolerance} s tolerance"
        )))
    }
}

fn optional_header<'r>(request: &SignedRequest<'r>, name: &str) -> Result<Option<&'r str>, Error> {
    request
        .headers
        .get(name)
        .map(|value| value.to_str().map_err(|_| malformed(name)))
        .transpose()
}

fn header<'r>(request: &SignedRequest<'r>, name: &str) -> Result<&'r str, Error> {
    optional_header(request, name)?
        .ok_or_else(|| unauthenticated(&format!("missing {name} header")))
}

/// The header's value, once it is known to be a unix time within the tolerance.
fn timestamp_header<'r>(request: &SignedRequest<'r>, name: &str) -> Result<&'r str, Error> {
    let value = header(request, name)?;
    check_timestamp(name, value, request.now)?;
    Ok(value)
}

fn hex_header(request: &SignedRequest<'_>, name: &str, prefix: &str) -> Result<Vec<u8>, Error> {
    let value = header(request, name)?.strip_prefix(prefix);
    value
        .and_then(|v| hex::decode(v).ok())
        .ok_or_else(|| malformed(name))
}

fn base64_header(request: &SignedRequest<'_>, name: &str) -> Result<Vec<u8>, Error> {
    STANDARD
        .decode(header(request, name)?.trim())
        .map_err(|_| malformed(name))
}

fn malformed(name: &str) -> Error {
    unauthenticated(&format!("malformed {name} header"))
}

fn unauthenticated(msg: &str) -> Error {
    Error::Unauthenticated(msg.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderMap, HeaderValue, Method};
    use VerificationType as T;

    const SECRET: &str = "shh-very-secret";
    const URL: &str = "https://hooks.example.com/webhooks/abc/sub?x=1";
    const BODY: &[u8] = b"b=2&a=1&a=0";
    const NOW: i64 = 1_700_000_000;
    const ALL: [T; 10] = [
        T::None,
        T::Facebook,
        T::Fitbit,
        T::Twilio,
        T::Github,
        T::Stripe,
        T::Slack,
        T::Shopify,
        T::StandardWebhooks,
        T::Alexa,
    ];

    struct Req {
        method: Method,
        url: String,
        headers: HeaderMap,
        body: Vec<u8>,
    }

    impl Req {
        fn new(url: &str, body: &[u8]) -> Self {
            Req {
                method: Method::POST,
                url: url.into(),
                headers: HeaderMap::new(),
                body: body.to_vec(),
            }
        }
        fn with(mut self, name: &'static str, value: &str) -> Self {
            self.headers
                .insert(name, HeaderValue::from_str(value).unwrap());
            self
        }
        fn check(&self, spec: &WebhookSpec) -> Result<Option<&'static str>, Error> {
            let now = DateTime::from_timestamp(NOW, 0).unwrap();
            let (method, url, headers, body) = (
                &self.method,
                self.url.as_str(),
                &self.headers,
                &self.body[..],
            );
            verify(
                spec,
                &SignedRequest {
                    method,
                    url,
                    headers,
                    body,
                    now,
                },
            )
        }
    }

    fn spec(verification_type: T, secret: &str) -> WebhookSpec {
        WebhookSpec {
            verification_type,
            signing_secret: Some(secret.into()),
            display_name: "t".into(),
            ..WebhookSpec::default()
        }
    }

    fn rejected(result: Result<Option<&'static str>, Error>) -> String {
        match result {
            Err(Error::Unauthenticated(msg)) => msg,
            other => panic!("expected unauthenticated, got {other:?}"),
        }
    }

    fn sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
        mac.update(data);
        mac.finalize().into_bytes().to_vec()
    }

    fn sha1(key: &[u8], data: &[u8]) -> String {
        let mut mac = Hmac::<Sha1>::new_from_slice(key).unwrap();
        mac.update(data);
        STANDARD.encode(mac.finalize().into_bytes())
    }

    /// A spec and a request carrying a valid signature of BODY made at `ts`, computed independently.
    fn signed(kind: T, ts: i64) -> (WebhookSpec, Req) {
        let body = std::str::from_utf8(BODY).unwrap();
        let req = Req::new(URL, BODY);
        match kind {
            T::Facebook | T::Github => {
                let sig = format!("sha256={}", hex::encode(sha256(SECRET.as_bytes(), BODY)));
                (spec(kind, SECRET), req.with("X-Hub-Signature-256", &sig))
            }
            T::Fitbit => (
                spec(kind, SECRET),
                req.with(
                    "x-fitbit-signature",
                    &sha1(format!("{SECRET}&").as_bytes(), BODY),
                ),
            ),
            T::Twilio => {
                let data = format!("{URL}a0a1b2");
                let req = req.with(
                    "Content-Type",
                    "application/x-www-form-urlencoded; charset=utf-8",
                );
                (
                    spec(kind, SECRET),
                    req.with(
                        "X-Twilio-Signature",
                        &sha1(SECRET.as_bytes(), data.as_bytes()),
                    ),
                )
            }
            T::Shopify => (
                spec(kind, SECRET),
                req.with(
                    "X-Shopify-Hmac-Sha256",
                    &STANDARD.encode(sha256(SECRET.as_bytes(), BODY)),
                ),
            ),
            T::Stripe => {
                let sig = hex::encode(sha256(SECRET.as_bytes(), format!("{ts}.{body}").as_bytes()));
                let value = format!("t={ts},v1={},v1={sig},v0=abc", "00".repeat(32));
                (spec(kind, SECRET), req.with("Stripe-Signature", &value))
            }
            T::Slack => {
                let sig = hex::encode(sha256(
                    SECRET.as_bytes(),
                    format!("v0:{ts}:{body}").as_bytes(),
                ));
                let req = req.with("X-Slack-Request-Timestamp", &ts.to_string());
                (
                    spec(kind, SECRET),
                    req.with("X-Slack-Signature", &format!("v0={sig}")),
                )
            }
            T::StandardWebhooks => {
                let key = b"0123456789abcdef0123456789abcdef";
                let sig = STANDARD.encode(sha256(key, format!("msg_1.{ts}.{body}").as_bytes()));
                let req = req
                    .with("webhook-id", "msg_1")
                    .with("webhook-timestamp", &ts.to_string());
                let req = req.with("webhook-signature", &format!("v2,{sig} v1,AAAA v1,{sig}"));
                (spec(kind, &format!("whsec_{}", STANDARD.encode(key))), req)
            }
            T::None | T::Alexa => unreachable!(),
        }
    }

    #[test]
    fn every_scheme_accepts_its_signature_and_rejects_tampering() {
        for kind in ALL.into_iter().filter(|k| !matches!(k, T::None | T::Alexa)) {
            let (spec, mut req) = signed(kind, NOW - 10);
            assert_eq!(req.check(&spec).unwrap(), Some(kind.as_str()), "{kind:?}");
            let headers = req.headers.clone();
            for name in headers.keys().filter(|n| *n != http::header::CONTENT_TYPE) {
                req.headers.remove(name);
                let msg = rejected(req.check(&spec));
                assert!(
                    msg.to_lowercase()
                        .contains(&format!("missing {name} header")),
                    "{kind:?}: {msg}"
                );
                req.headers = headers.clone();
            }
            req.body.push(b'x');
            let msg = rejected(req.check(&spec));
            assert_eq!(msg, "signature mismatch", "{kind:?}");
            assert!(!msg.contains(SECRET));
        }
    }

    #[test]
    fn timestamped_schemes_reject_stale_and_future_requests() {
        for kind in [T::Stripe, T::Slack, T::StandardWebhooks] {
            for ts in [NOW - 301, NOW + 301] {
                let (spec, req) = signed(kind, ts);
                assert_eq!(
                    rejected(req.check(&spec)),
                    "timestamp outside the 300 s tolerance",
                    "{kind:?}"
                );
            }
            let (spec, req) = signed(kind, NOW - 300);
            assert!(req.check(&spec).is_ok(), "{kind:?}");
        }
    }

    #[test]
    fn provider_documentation_vectors() {
        let github = Req::new(URL, b"Hello, World!").with(
            "X-Hub-Signature-256",
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        );
        assert_eq!(
            github
                .check(&spec(T::Github, "It's a Secret to Everybody"))
                .unwrap(),
            Some("github")
        );

        let mut twilio = Req::new(
            "https://mycompany.com/myapp.php?foo=1&bar=2",
            b"CallSid=CA1234567890ABCDE&Caller=%2B12349013030&Digits=1234&From=%2B12349013030&To=%2B18005551212",
        )
        .with("Content-Type", "application/x-www-form-urlencoded")
        .with("X-Twilio-Signature", "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
        assert_eq!(
            twilio.check(&spec(T::Twilio, "12345")).unwrap(),
            Some("twilio")
        );
        // Only form posts sign their parameters.
        twilio.method = Method::GET;
        assert_eq!(
            rejected(twilio.check(&spec(T::Twilio, "12345"))),
            "signature mismatch"
        );

        // Slack's and Standard Webhooks' examples are years old, so only the signatures are checked here.
        let slack = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
        let slack = Req::new(URL, slack.as_bytes())
            .with("X-Slack-Request-Timestamp", "1531420618")
            .with(
                "X-Slack-Signature",
                "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
            );
        assert_eq!(
            rejected(slack.check(&spec(T::Slack, "8f742231b10e8888abcd99yyyzzz85a5"))),
            "timestamp outside the 300 s tolerance"
        );

        let standard = Req::new(URL, br#"{"test": 2432232314}"#)
            .with("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek")
            .with("webhook-timestamp", "1614265330")
            .with(
                "webhook-signature",
                "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
            );
        let standard_spec = spec(
            T::StandardWebhooks,
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        );
        assert_eq!(
            rejected(standard.check(&standard_spec)),
            "timestamp outside the 300 s tolerance"
        );
    }

    #[test]
    fn nothing_to_check_without_a_secret_or_scheme() {
        let req = Req::new(URL, BODY);
        for kind in ALL.into_iter().filter(|k| *k != T::Alexa) {
            let spec = WebhookSpec {
                signing_secret: None,
                ..spec(kind, SECRET)
            };
            assert_eq!(req.check(&spec).unwrap(), None, "{kind:?}");
        }
        assert_eq!(req.check(&spec(T::None, SECRET)).unwrap(), None);
    }

    #[test]
    fn malformed_headers_are_named() {
        let (spec, mut req) = signed(T::Github, NOW);
        req.headers.insert(
            "X-Hub-Signature-256",
            HeaderValue::from_bytes(b"sha256=\xff").unwrap(),
        );
        assert_eq!(
            rejected(req.check(&spec)),
            "malformed X-Hub-Signature-256 header"
        );
        let req = req.with("X-Hub-Signature-256", "sha1=abcd");
        assert_eq!(
            rejected(req.check(&spec)),
            "malformed X-Hub-Signature-256 header"
        );
        let (spec, req) = signed(T::Slack, NOW);
        let req = req.with("X-Slack-Request-Timestamp", "soon");
        assert_eq!(
            rejected(req.check(&spec)),
            "malformed X-Slack-Request-Timestamp header"
        );
    }

    fn alexa(timestamp: &str) -> Req {
        let body = format!(
            r#"{{"version":"1.0","request":{{"type":"LaunchRequest","timestamp":"{timestamp}"}}}}"#
        );
        Req::new(URL, body.as_bytes())
            .with(
                "SignatureCertChainUrl",
                "https://s3.amazonaws.com/echo.api/echo-api-cert.pem",
            )
            .with("Signature-256", "c2lnbmF0dXJl")
    }

    #[test]
    fn alexa_checks_what_it_can_without_a_secret() {
        let none = WebhookSpec {
            signing_secret: None,
            ..spec(T::Alexa, SECRET)
        };
        assert_eq!(
            alexa("2023-11-14T22:12:20Z").check(&none).unwrap(),
            Some("alexa")
        );
        assert_eq!(
            alexa("2023-11-14T22:11:00Z").check(&none).unwrap(),
            Some("alexa")
        );
        let stale = alexa("2023-11-14T22:10:00Z");
        assert_eq!(
            rejected(stale.check(&none)),
            "timestamp outside the 150 s tolerance"
        );
        let mut missing = alexa("2023-11-14T22:13:20Z");
        missing.headers.remove("Signature-256");
        assert_eq!(rejected(missing.check(&none)), "missing Signature header");
        let legacy = missing.with("Signature", "not base64!");
        assert_eq!(rejected(legacy.check(&none)), "malformed Signature header");
        let bad_url = alexa("2023-11-14T22:13:20Z")
            .with("SignatureCertChainUrl", "https://evil.example/echo.api/x");
        assert!(rejected(bad_url.check(&none)).contains("SignatureCertChainUrl"));
        assert!(rejected(alexa("yesterday").check(&none)).contains("request.timestamp"));
    }

    #[test]
    fn alexa_cert_url_rules() {
        for url in [
            "https://s3.amazonaws.com/echo.api/echo-api-cert.pem",
            "HTTPS://s3.amazonaws.com/echo.api/echo-api-cert.pem",
            "https://S3.AMAZONAWS.COM/echo.api/echo-api-cert.pem",
            "https://s3.amazonaws.com:443/echo.api/echo-api-cert.pem",
            "https://s3.amazonaws.com/echo.api/../echo.api/echo-api-cert.pem",
            "https://s3.amazonaws.com/./echo.api/cert.pem",
        ] {
            assert!(alexa_cert_url_allowed(url), "{url}");
        }
        for url in [
            "http://s3.amazonaws.com/echo.api/echo-api-cert.pem",
            "https://notamazon.com/echo.api/echo-api-cert.pem",
            "https://s3.amazonaws.com/EcHo.aPi/echo-api-cert.pem",
            "https://s3.amazonaws.com/invalid.path/echo-api-cert.pem",
            "https://s3.amazonaws.com:563/echo.api/echo-api-cert.pem",
            "https://s3.amazonaws.com/echo.api/../evil/cert.pem",
            "https://s3.amazonaws.com/echo.api/..",
            "https://s3.amazonaws.com/echo.api/%2e%2e/evil/cert.pem",
            "https://user@s3.amazonaws.com/echo.api/cert.pem",
            "https://s3.amazonaws.com",
            "s3.amazonaws.com/echo.api/cert.pem",
        ] {
            assert!(!alexa_cert_url_allowed(url), "{url}");
        }
    }
}
