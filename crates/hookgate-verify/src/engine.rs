//! The one interpreter of [`SignatureSpec`]s: finds the signatures, checks the timestamp,
//! rebuilds the signed message and compares in constant time.

use crate::{
    catalogue::{
        Algorithm, Encoding, KeyFormat, Location, Part, Separator, SignatureSpec, TimeUnit,
        TimestampSource,
    },
    request::{json_text, malformed, unauthenticated, within_tolerance, SignedRequest},
};
use base64::{
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
    Engine,
};
use hmac::{Hmac, Mac};
use hookgate_domain::{secret::constant_time_eq, Error};
use std::borrow::Cow;

/// Checks `request` against `spec` with `secret` as the key.
pub(crate) fn check(
    spec: &SignatureSpec<'_>,
    secret: &str,
    request: &SignedRequest<'_>,
) -> Result<(), Error> {
    let json = needs_json(spec).then(|| request.json()).transpose()?;
    let found = locate(spec, request, json.as_ref())?;
    let timestamp = match &spec.timestamp {
        Some(ts) => {
            let (text, bad) = match ts.source {
                TimestampSource::Header(name) => {
                    (request.header(name)?.to_owned(), malformed(name))
                }
                TimestampSource::Field => (
                    found
                        .timestamp
                        .clone()
                        .ok_or_else(|| malformed(found.name))?,
                    malformed(found.name),
                ),
                TimestampSource::Json(pointer) => (
                    json_text(body_json(json.as_ref())?, pointer)?,
                    unauthenticated(format!("malformed {pointer} in body")),
                ),
            };
            let millis = timestamp_millis(&text, ts.unit).ok_or(bad)?;
            within_tolerance(millis, request.now, ts.tolerance_secs)?;
            Some(text)
        }
        None => None,
    };
    let message = message(spec.signed, request, timestamp.as_deref(), json.as_ref())?;
    let key = key_bytes(spec.key, secret)?;
    let candidates: Vec<Vec<u8>> = found
        .values
        .iter()
        .filter_map(|value| value.trim().strip_prefix(spec.prefix))
        .filter_map(|value| decode(spec.encoding, value.trim()))
        .collect();
    if candidates.is_empty() {
        // One signature that cannot be read is malformed; a list with none we know is a mismatch.
        return Err(
            if spec.separator == Separator::None && found.values.len() == 1 {
                malformed(found.name)
            } else {
                unauthenticated("signature mismatch")
            },
        );
    }
    let matched = match spec.algorithm {
        Algorithm::HmacSha1 => any_equal(&hmac::<Hmac<sha1::Sha1>>(&key, &message), &candidates),
        Algorithm::HmacSha256 => {
            any_equal(&hmac::<Hmac<sha2::Sha256>>(&key, &message), &candidates)
        }
        Algorithm::HmacSha512 => {
            any_equal(&hmac::<Hmac<sha2::Sha512>>(&key, &message), &candidates)
        }
        Algorithm::Token => any_equal(&key, &candidates),
        Algorithm::Ed25519 => ed25519(&key, &message, &candidates)?,
        Algorithm::EcdsaP256 => ecdsa_p256(&key, &message, &candidates)?,
    };
    if matched {
        Ok(())
    } else {
        Err(unauthenticated("signature mismatch"))
    }
}

/// The signatures a request offers, and where they were found (for messages).
struct Found<'r> {
    name: &'r str,
    values: Vec<Cow<'r, str>>,
    timestamp: Option<String>,
}

fn needs_json(spec: &SignatureSpec<'_>) -> bool {
    matches!(spec.location, Location::Json(_))
        || spec.signed.iter().any(|p| matches!(p, Part::Json(_)))
        || spec
            .timestamp
            .is_some_and(|ts| matches!(ts.source, TimestampSource::Json(_)))
}

fn body_json(json: Option<&serde_json::Value>) -> Result<&serde_json::Value, Error> {
    json.ok_or_else(|| Error::Internal("body was not parsed".into()))
}

fn locate<'r>(
    spec: &SignatureSpec<'r>,
    request: &SignedRequest<'r>,
    json: Option<&serde_json::Value>,
) -> Result<Found<'r>, Error> {
    let one = |name: &'r str, value: Cow<'r, str>| Found {
        name,
        values: split(spec.separator, value),
        timestamp: None,
    };
    Ok(match spec.location {
        Location::Header(name) => one(name, request.header(name)?.into()),
        Location::AnyHeader(names) => {
            let mut values = Vec::new();
            for name in names {
                values.extend(request.optional_header(name)?.map(Cow::from));
            }
            let first = names.first().copied().unwrap_or_default();
            if values.is_empty() {
                return Err(unauthenticated(format!("missing {first} header")));
            }
            Found {
                name: first,
                values,
                timestamp: None,
            }
        }
        Location::Numbered(prefix) => {
            let mut values = Vec::new();
            for n in 1.. {
                match request.optional_header(&format!("{prefix}{n}"))? {
                    Some(value) => values.push(Cow::from(value)),
                    None => break,
                }
            }
            if values.is_empty() {
                return Err(unauthenticated(format!("missing {prefix}1 header")));
            }
            Found {
                name: prefix,
                values,
                timestamp: None,
            }
        }
        Location::Fields {
            header,
            separator,
            timestamp,
            signature,
        } => {
            let value = request.header(header)?;
            let pairs: Vec<(&str, &str)> = value
                .split(separator)
                .filter_map(|item| item.trim().split_once('='))
                .collect();
            Found {
                name: header,
                values: pairs
                    .iter()
                    .filter(|(k, _)| *k == signature)
                    .map(|(_, v)| Cow::from(*v))
                    .collect(),
                timestamp: pairs
                    .iter()
                    .find(|(k, _)| *k == timestamp)
                    .map(|(_, v)| (*v).to_owned()),
            }
        }
        Location::Json(pointer) => one(
            pointer,
            json_text(body_json(json)?, pointer)
                .map_err(|_| unauthenticated(format!("missing {pointer} in body")))?
                .into(),
        ),
        Location::Query(name) => one(
            name,
            request
                .query_param(name)
                .ok_or_else(|| unauthenticated(format!("missing {name} query parameter")))?
                .into(),
        ),
        Location::Authorization(word) => {
            let value = request.header("Authorization")?;
            let rest = value
                .split_once(' ')
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case(word))
                .map(|(_, rest)| rest)
                .ok_or_else(|| malformed("Authorization"))?;
            one("Authorization", rest.into())
        }
    })
}

fn split(separator: Separator, value: Cow<'_, str>) -> Vec<Cow<'_, str>> {
    let parts = |pattern: &dyn Fn(char) -> bool| -> Vec<Cow<'_, str>> {
        value
            .split(pattern)
            .filter(|s| !s.trim().is_empty())
            .map(|s| Cow::Owned(s.to_owned()))
            .collect()
    };
    match separator {
        Separator::None => vec![value.clone()],
        Separator::Comma => parts(&|c| c == ','),
        Separator::Whitespace => parts(&char::is_whitespace),
        Separator::CommaOrWhitespace => parts(&|c| c == ',' || c.is_whitespace()),
    }
}

fn timestamp_millis(text: &str, unit: TimeUnit) -> Option<i64> {
    let text = text.trim();
    match unit {
        TimeUnit::Seconds => text.parse::<i64>().ok()?.checked_mul(1000),
        TimeUnit::Millis => text.parse::<i64>().ok(),
        // Unix seconds are accepted too: not every provider that documents a date sends one.
        TimeUnit::Rfc3339 => chrono::DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|time| time.timestamp_millis())
            .or_else(|| text.parse::<i64>().ok()?.checked_mul(1000)),
    }
}

fn message(
    parts: &[Part<'_>],
    request: &SignedRequest<'_>,
    timestamp: Option<&str>,
    json: Option<&serde_json::Value>,
) -> Result<Vec<u8>, Error> {
    let mut message = Vec::with_capacity(request.body.len() + 64);
    for part in parts {
        match *part {
            Part::Body => message.extend_from_slice(request.body),
            Part::Literal(text) => message.extend_from_slice(text.as_bytes()),
            Part::Timestamp => message.extend_from_slice(
                timestamp
                    .ok_or_else(|| Error::Internal("signed timestamp without a source".into()))?
                    .as_bytes(),
            ),
            Part::Header(name) => message.extend_from_slice(request.header(name)?.as_bytes()),
            Part::Url => message.extend_from_slice(request.url.as_bytes()),
            Part::Method => message.extend_from_slice(request.method.as_str().as_bytes()),
            Part::Json(pointer) => {
                message.extend_from_slice(json_text(body_json(json)?, pointer)?.as_bytes())
            }
            Part::SortedForm => {
                if request.method == http::Method::POST && request.is_form()? {
                    let mut params: Vec<_> = form_urlencoded::parse(request.body).collect();
                    params.sort();
                    for (key, value) in params {
                        message.extend_from_slice(key.as_bytes());
                        message.extend_from_slice(value.as_bytes());
                    }
                }
            }
        }
    }
    Ok(message)
}

pub(crate) fn key_bytes(format: KeyFormat, secret: &str) -> Result<Vec<u8>, Error> {
    let unusable = |what: &str| Error::Internal(format!("signing secret is not {what}"));
    match format {
        KeyFormat::Raw => Ok(secret.as_bytes().to_vec()),
        KeyFormat::Suffixed(suffix) => Ok(format!("{secret}{suffix}").into_bytes()),
        KeyFormat::Base64 { strip } => STANDARD
            .decode(secret.strip_prefix(strip).unwrap_or(secret).trim())
            .map_err(|_| unusable("base64")),
        KeyFormat::Hex => hex::decode(secret.trim()).map_err(|_| unusable("hex")),
    }
}

fn decode(encoding: Encoding, value: &str) -> Option<Vec<u8>> {
    match encoding {
        Encoding::Hex => hex::decode(value).ok(),
        Encoding::Base64 => STANDARD.decode(value).ok(),
        Encoding::Base64Url => URL_SAFE_NO_PAD.decode(value.trim_end_matches('=')).ok(),
        Encoding::Plain => Some(value.as_bytes().to_vec()),
    }
}

pub(crate) fn hmac<M: Mac + hmac::digest::KeyInit>(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = match <M as Mac>::new_from_slice(key) {
        Ok(mac) => mac,
        // HMAC takes keys of any length; this arm is never taken.
        Err(_) => return Vec::new(),
    };
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// Every candidate is compared, whichever matches, so timing says nothing about which.
pub(crate) fn any_equal(expected: &[u8], candidates: &[Vec<u8>]) -> bool {
    candidates.iter().fold(false, |found, given| {
        constant_time_eq(expected, given) | found
    })
}

fn ed25519(key: &[u8], message: &[u8], candidates: &[Vec<u8>]) -> Result<bool, Error> {
    use ed25519_dalek::{Signature, Verifier, VerifyingKey};
    let key: [u8; 32] = key
        .try_into()
        .map_err(|_| Error::Internal("signing secret is not a 32-byte Ed25519 key".into()))?;
    let key = VerifyingKey::from_bytes(&key)
        .map_err(|_| Error::Internal("signing secret is not an Ed25519 public key".into()))?;
    Ok(candidates.iter().any(|candidate| {
        Signature::from_slice(candidate).is_ok_and(|sig| key.verify(message, &sig).is_ok())
    }))
}

fn ecdsa_p256(key: &[u8], message: &[u8], candidates: &[Vec<u8>]) -> Result<bool, Error> {
    use p256::{
        ecdsa::{signature::Verifier, Signature, VerifyingKey},
        pkcs8::DecodePublicKey,
    };
    let key = VerifyingKey::from_public_key_der(key)
        .map_err(|_| Error::Internal("signing secret is not a P-256 public key".into()))?;
    Ok(candidates.iter().any(|candidate| {
        Signature::from_der(candidate).is_ok_and(|sig| key.verify(message, &sig).is_ok())
    }))
}
