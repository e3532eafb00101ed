//! Verification of webhook payload signatures, one scheme per verification type.

use crate::{
    alexa::{self, AlexaClaim},
    secret::constant_time_eq,
    Error, VerificationType, WebhookSpec,
};
use base64::{engine::general_purpose::STANDARD, Engine};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::Sha256;

type HmacSha1 = Hmac<Sha1>;
type HmacSha256 = Hmac<Sha256>;

/// Replay window of the timestamped schemes (Stripe, Slack and Standard Webhooks all use 5 minutes).
const TOLERANCE_SECS: u64 = 300;

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

/// What a request's signature check came to, when it did not fail.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing to check: no signing_secret set, or a type without a signature scheme.
    Unsigned,
    /// The signature was checked and is valid; the scheme's name.
    Verified(&'static str),
    /// Alexa passed the checks that need no network; the caller must still verify the
    /// body's signature against the certificate chain the claim names ([`crate::alexa`]).
    NeedsAlexaChain(AlexaClaim),
}

/// Err(Error::Unauthenticated(msg)): missing/malformed/mismatched signature or stale
/// timestamp; `msg` never contains the secret or the expected signature. Alexa is checked
/// with or without a secret.
pub fn verify(spec: &WebhookSpec, request: &SignedRequest<'_>) -> Result<Verdict, Error> {
    use VerificationType as T;
    let kind = spec.verification_type;
    let body = request.body;
    let (expected, candidates) = match (kind, spec.signing_secret.as_deref()) {
        // Alexa is signed with Amazon's certificate, not a shared secret.
        (T::Alexa, _) => return alexa::claim(request).map(Verdict::NeedsAlexaChain),
        (T::None, _) | (_, None) => return Ok(Verdict::Unsigned),
        (T::Facebook | T::Github, Some(secret)) => (
            mac::<HmacSha256>(secret.as_bytes(), &[body])?,
            vec![hex_header(request, "X-Hub-Signature-256", "sha256=")?],
        ),
        (T::Fitbit, Some(secret)) => (
            mac::<HmacSha1>(format!("{secret}&").as_bytes(), &[body])?,
            vec![base64_header(request, "X-Fitbit-Signature")?],
        ),
        (T::Twilio, Some(secret)) => (
            mac::<HmacSha1>(
                secret.as_bytes(),
                &[twilio_signed_data(request)?.as_bytes()],
            )?,
            vec![base64_header(request, "X-Twilio-Signature")?],
        ),
        (T::Shopify, Some(secret)) => (
            mac::<HmacSha256>(secret.as_bytes(), &[body])?,
            vec![base64_header(request, "X-Shopify-Hmac-Sha256")?],
        ),
        (T::Stripe, Some(secret)) => stripe(secret.as_bytes(), request)?,
        (T::Slack, Some(secret)) => {
            let ts = timestamp_header(request, "X-Slack-Request-Timestamp")?;
            (
                mac::<HmacSha256>(secret.as_bytes(), &[b"v0:", ts.as_bytes(), b":", body])?,
                vec![hex_header(request, "X-Slack-Signature", "v0=")?],
            )
        }
        (T::StandardWebhooks, Some(secret)) => standard_webhooks(secret, request)?,
    };
    check_any(&expected, candidates)?;
    Ok(Verdict::Verified(kind.as_str()))
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
        mac::<HmacSha256>(key, &[ts.as_bytes(), b".", request.body])?,
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
        mac::<HmacSha256>(
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
        // Twilio's own validators sign each distinct key/value pair once.
        params.sort();
        params.dedup();
        for (key, value) in params {
            data.push_str(&key);
            data.push_str(&value);
        }
    }
    Ok(data)
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

pub(crate) fn within_tolerance(
    unix_secs: i64,
    now: DateTime<Utc>,
    tolerance: u64,
) -> Result<(), Error> {
    if now.timestamp().abs_diff(unix_secs) <= tolerance {
        Ok(())
    } else {
        Err(unauthenticated(format!(
            "timestamp outside the {tolerance} s tolerance"
        )))
    }
}

pub(crate) fn optional_header<'r>(
    request: &SignedRequest<'r>,
    name: &str,
) -> Result<Option<&'r str>, Error> {
    request
        .headers
        .get(name)
        .map(|value| value.to_str().map_err(|_| malformed(name)))
        .transpose()
}

pub(crate) fn header<'r>(request: &SignedRequest<'r>, name: &str) -> Result<&'r str, Error> {
    optional_header(request, name)?.ok_or_else(|| unauthenticated(format!("missing {name} header")))
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

pub(crate) fn base64_header(request: &SignedRequest<'_>, name: &str) -> Result<Vec<u8>, Error> {
    STANDARD
        .decode(header(request, name)?.trim())
        .map_err(|_| malformed(name))
}

pub(crate) fn malformed(name: &str) -> Error {
    unauthenticated(format!("malformed {name} header"))
}

pub(crate) fn unauthenticated(msg: impl Into<String>) -> Error {
    Error::Unauthenticated(msg.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderMap, Method};
    use VerificationType as T;

    const SECRET: &str = "shh-very-secret";
    const WHSEC_KEY: &[u8] = b"0123456789abcdef0123456789abcdef";
    const WHSEC: &str = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
    const URL: &str = "https://hooks.example.com/webhooks/abc/sub?x=1";
    const BODY: &str = "b=2&a=1&a=0";
    const NOW: i64 = 1_700_000_000;

    struct Req {
        method: Method,
        url: &'static str,
        headers: HeaderMap,
        body: Vec<u8>,
        now: i64,
    }

    fn req(body: &str, headers: &[(&str, &str)]) -> Req {
        let headers = headers
            .iter()
            .map(|(k, v)| (k.parse().unwrap(), v.parse().unwrap()));
        let (method, url, headers, body) = (Method::POST, URL, headers.collect(), body.into());
        Req {
            method,
            url,
            headers,
            body,
            now: NOW,
        }
    }

    impl Req {
        fn check(&self, spec: &WebhookSpec) -> String {
            let request = SignedRequest {
                method: &self.method,
                url: self.url,
                headers: &self.headers,
                body: &self.body,
                now: DateTime::from_timestamp(self.now, 0).unwrap(),
            };
            match verify(spec, &request) {
                Ok(Verdict::Verified(name)) => name.to_owned(),
                Ok(Verdict::Unsigned) => "nothing to check".to_owned(),
                Ok(Verdict::NeedsAlexaChain(claim)) => format!("alexa chain {}", claim.cert_url),
                Err(Error::Unauthenticated(msg)) => msg,
                Err(other) => panic!("expected unauthenticated, got {other:?}"),
            }
        }
    }

    fn spec(verification_type: T, secret: Option<&str>) -> WebhookSpec {
        let signing_secret = secret.map(str::to_owned);
        WebhookSpec {
            verification_type,
            signing_secret,
            display_name: "t".into(),
            ..WebhookSpec::default()
        }
    }

    fn sign<M: Mac + hmac::digest::KeyInit>(key: &[u8], data: &str) -> Vec<u8> {
        let mut mac = <M as Mac>::new_from_slice(key).unwrap();
        mac.update(data.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// A spec and a request carrying a valid signature of BODY made at `ts`, computed independently.
    fn signed(kind: T, ts: i64) -> (WebhookSpec, Req) {
        let sha256 = |data: &str| sign::<HmacSha256>(SECRET.as_bytes(), data);
        let sha1 = |key: &str, data: &str| STANDARD.encode(sign::<HmacSha1>(key.as_bytes(), data));
        let hub = format!("sha256={}", hex::encode(sha256(BODY)));
        let twilio = sha1(SECRET, &format!("{URL}a0a1b2"));
        let stripe = hex::encode(sha256(&format!("{ts}.{BODY}")));
        let stripe = format!("t={ts},v1={},v1={stripe},v0=ab", "00".repeat(32));
        let slack = format!("v0={}", hex::encode(sha256(&format!("v0:{ts}:{BODY}"))));
        let whsec = STANDARD.encode(sign::<HmacSha256>(WHSEC_KEY, &format!("msg_1.{ts}.{BODY}")));
        let (t, form) = (ts.to_string(), "application/x-www-form-urlencoded");
        let headers: Vec<(&str, String)> = match kind {
            T::Facebook | T::Github => vec![("X-Hub-Signature-256", hub)],
            T::Fitbit => vec![("x-fitbit-signature", sha1("shh-very-secret&", BODY))],
            T::Twilio => vec![
                ("Content-Type", form.into()),
                ("X-Twilio-Signature", twilio),
            ],
            T::Shopify => vec![("X-Shopify-Hmac-Sha256", STANDARD.encode(sha256(BODY)))],
            T::Stripe => vec![("Stripe-Signature", stripe)],
            T::Slack => vec![
                ("X-Slack-Request-Timestamp", t),
                ("X-Slack-Signature", slack),
            ],
            T::StandardWebhooks => vec![
                ("webhook-id", "msg_1".into()),
                ("webhook-timestamp", t),
                (
                    "webhook-signature",
                    format!("v2,{whsec} v1,AAAA v1,{whsec}"),
                ),
            ],
            T::None | T::Alexa => unreachable!(),
        };
        let headers: Vec<_> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let secret = if kind == T::StandardWebhooks {
            WHSEC
        } else {
            SECRET
        };
        (spec(kind, Some(secret)), req(BODY, &headers))
    }

    #[test]
    fn every_scheme_accepts_its_signature_and_rejects_tampering() {
        for kind in (2..=9).filter_map(T::from_proto) {
            let (spec, mut req) = signed(kind, NOW - 10);
            assert_eq!(req.check(&spec), kind.as_str());
            let headers = req.headers.clone();
            for name in headers.keys().filter(|n| *n != http::header::CONTENT_TYPE) {
                req.headers.remove(name);
                let msg = req.check(&spec).to_lowercase();
                assert_eq!(msg, format!("missing {name} header"), "{kind:?}");
                req.headers = headers.clone();
            }
            req.body.push(b'x');
            assert_eq!(req.check(&spec), "signature mismatch", "{kind:?}");
        }
    }

    #[test]
    fn timestamped_schemes_reject_stale_and_future_requests() {
        for kind in [T::Stripe, T::Slack, T::StandardWebhooks] {
            for ts in [NOW - 301, NOW + 301] {
                let (spec, req) = signed(kind, ts);
                assert_eq!(req.check(&spec), "timestamp outside the 300 s tolerance");
            }
            let (spec, req) = signed(kind, NOW - 300);
            assert_eq!(req.check(&spec), kind.as_str());
        }
    }

    #[test]
    fn provider_documentation_vectors() {
        let sig = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        let github = req("Hello, World!", &[("X-Hub-Signature-256", sig)]);
        let spec_ = spec(T::Github, Some("It's a Secret to Everybody"));
        assert_eq!(github.check(&spec_), "github");

        let body = "CallSid=CA1234567890ABCDE&Caller=%2B12349013030&Digits=1234&From=%2B12349013030&To=%2B18005551212";
        let form = ("Content-Type", "application/x-www-form-urlencoded");
        let sig = ("X-Twilio-Signature", "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
        let mut twilio = req(body, &[form, sig]);
        twilio.url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        let spec_ = spec(T::Twilio, Some("12345"));
        assert_eq!(twilio.check(&spec_), "twilio");
        // Only form posts sign their parameters.
        twilio.method = Method::GET;
        assert_eq!(twilio.check(&spec_), "signature mismatch");
        // A repeated identical pair is signed once, as Twilio's validators do.
        let once = STANDARD.encode(sign::<HmacSha1>(SECRET.as_bytes(), &format!("{URL}a1b2")));
        let repeated = req("a=1&b=2&a=1", &[form, ("X-Twilio-Signature", &once)]);
        assert_eq!(repeated.check(&spec(T::Twilio, Some(SECRET))), "twilio");

        let body = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
        let ts = ("X-Slack-Request-Timestamp", "1531420618");
        let sig = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
        let mut slack = req(body, &[ts, ("X-Slack-Signature", sig)]);
        slack.now = 1_531_420_618;
        let spec_ = spec(T::Slack, Some("8f742231b10e8888abcd99yyyzzz85a5"));
        assert_eq!(slack.check(&spec_), "slack");

        let id = ("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek");
        let ts = ("webhook-timestamp", "1614265330");
        let sig = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
        let mut standard = req(
            r#"{"test": 2432232314}"#,
            &[id, ts, ("webhook-signature", sig)],
        );
        standard.now = 1_614_265_330;
        let spec_ = spec(
            T::StandardWebhooks,
            Some("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
        );
        assert_eq!(standard.check(&spec_), "standard_webhooks");
    }

    #[test]
    fn unsigned_specs_pass_and_malformed_headers_are_named() {
        let unsigned = [(T::None, Some(SECRET)), (T::None, None), (T::Github, None)];
        for (kind, secret) in unsigned {
            assert_eq!(
                req(BODY, &[]).check(&spec(kind, secret)),
                "nothing to check"
            );
        }
        let (spec, mut req) = signed(T::Github, NOW);
        let not_utf8 = http::HeaderValue::from_bytes(b"sha256=\xff").unwrap();
        req.headers.insert("X-Hub-Signature-256", not_utf8);
        assert_eq!(req.check(&spec), "malformed X-Hub-Signature-256 header");
        let (spec, mut req) = signed(T::Slack, NOW);
        let soon = "soon".parse().unwrap();
        req.headers.insert("X-Slack-Request-Timestamp", soon);
        let msg = req.check(&spec);
        assert_eq!(msg, "malformed X-Slack-Request-Timestamp header");
    }
}
