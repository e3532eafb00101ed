//! A request's verdict: which scheme applies to the webhook, with which secrets.

use crate::{
    alexa::{self, AlexaClaim},
    catalogue::{self, Scheme},
    custom, engine,
    request::{unauthenticated, SignedRequest},
};
use base64::{engine::general_purpose::STANDARD, Engine};
use hmac::Hmac;
use hookgate_domain::{secret::constant_time_eq, Error, VerificationType, WebhookSpec};
use sha2::{Digest, Sha256};

/// What a request's signature check came to, when it did not fail.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing to check: no verification, or an older type without a secret.
    Unsigned,
    /// The signature was checked and is valid; the scheme's name.
    Verified(&'static str),
    /// Alexa passed the checks that need no network; the caller must still verify the
    /// body's signature against the certificate chain the claim names ([`crate::alexa`]).
    NeedsAlexaChain(AlexaClaim),
}

/// Err(Error::Unauthenticated(msg)): missing/malformed/mismatched signature or stale
/// timestamp; `msg` never contains a secret or an expected signature. During a secret's
/// grace (secret rotation) a request signed with the replaced one verifies too.
pub fn verify(spec: &WebhookSpec, request: &SignedRequest<'_>) -> Result<Verdict, Error> {
    let Some(name) = catalogue::verified_name(spec) else {
        return Ok(Verdict::Unsigned);
    };
    if spec.verification_type == VerificationType::Hmac {
        let scheme = spec
            .hmac
            .as_ref()
            .ok_or_else(|| Error::Internal("hmac webhook without a scheme".into()))?;
        let parts = custom::parse_template(&scheme.signed_content).map_err(Error::Internal)?;
        let signature = custom::signature_spec(scheme, &parts);
        with_secrets(spec, request, |secret| {
            engine::check(&signature, secret, request)
        })?;
        return Ok(Verdict::Verified(name));
    }
    let provider = catalogue::provider_of(spec).ok_or_else(|| {
        Error::Internal(format!(
            "unknown verification provider {:?}",
            spec.verification_provider
        ))
    })?;
    if let Scheme::Alexa = provider.scheme {
        return alexa::claim(request).map(Verdict::NeedsAlexaChain);
    }
    if spec.signing_secret.is_none() && spec.verification_type != VerificationType::Provider {
        return Ok(Verdict::Unsigned);
    }
    with_secrets(spec, request, |secret| match &provider.scheme {
        Scheme::Signature(signature) => engine::check(signature, secret, request),
        Scheme::Twilio => twilio(secret, request),
        Scheme::GraphClientState => graph_client_state(secret, request),
        Scheme::Alexa => Ok(()),
    })?;
    Ok(Verdict::Verified(name))
}

/// The current secret, then the replaced one while its grace lasts. The current secret's
/// error is the one reported.
fn with_secrets(
    spec: &WebhookSpec,
    request: &SignedRequest<'_>,
    check: impl Fn(&str) -> Result<(), Error>,
) -> Result<(), Error> {
    let current = spec
        .signing_secret
        .as_ref()
        .ok_or_else(|| unauthenticated("the webhook has no signing secret yet"))?;
    let Err(error) = check(current.expose()) else {
        return Ok(());
    };
    match spec.active_previous_secret(request.now) {
        Some(previous) if check(previous.expose()).is_ok() => Ok(()),
        _ => Err(error),
    }
}

/// The URL, then — for form posts only — every parameter sorted, as key and value with no
/// separators. Repeated pairs are all signed, as Twilio sends them.
fn twilio(secret: &str, request: &SignedRequest<'_>) -> Result<(), Error> {
    let name = "X-Twilio-Signature";
    let given = STANDARD
        .decode(request.header(name)?.trim())
        .map_err(|_| crate::request::malformed(name))?;
    let mut data = request.url.to_owned();
    if request.method == http::Method::POST && request.is_form()? {
        let mut params: Vec<_> = form_urlencoded::parse(request.body).collect();
        params.sort();
        for (key, value) in params {
            data.push_str(&key);
            data.push_str(&value);
        }
    }
    let expected = engine::hmac::<Hmac<sha1::Sha1>>(secret.as_bytes(), data.as_bytes());
    if !engine::any_equal(&expected, &[given]) {
        return Err(unauthenticated("signature mismatch"));
    }
    // Twilio signs JSON bodies through the URL: bodySHA256 pins the body's hash.
    if let Some(pinned) = request.query_param("bodySHA256") {
        let actual = hex::encode(Sha256::digest(request.body));
        if !constant_time_eq(actual.as_bytes(), pinned.to_ascii_lowercase().as_bytes()) {
            return Err(unauthenticated("body does not match bodySHA256"));
        }
    }
    Ok(())
}

/// Microsoft Graph: each notification of the batch must carry the subscription's clientState.
fn graph_client_state(secret: &str, request: &SignedRequest<'_>) -> Result<(), Error> {
    let body = request.json()?;
    let notifications = body
        .get("value")
        .and_then(serde_json::Value::as_array)
        .filter(|items| !items.is_empty())
        .ok_or_else(|| unauthenticated("missing value in body"))?;
    let all_match = notifications.iter().fold(true, |ok, item| {
        let state = item
            .get("clientState")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default();
        constant_time_eq(state.as_bytes(), secret.as_bytes()) & ok
    });
    if all_match {
        Ok(())
    } else {
        Err(unauthenticated("clientState mismatch"))
    }
}
