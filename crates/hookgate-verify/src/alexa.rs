//! Alexa's request signatures: Amazon signs each request with the private key of a
//! certificate for `echo-api.amazon.com`, whose chain the request names by URL. The checks
//! that need no network are [`claim`]'s; [`verify_chain`] does the rest once the caller has
//! downloaded the chain.

use crate::request::{malformed, unauthenticated, within_tolerance, SignedRequest};
use base64::{engine::general_purpose::STANDARD, Engine};
use chrono::{DateTime, Utc};
use hookgate_domain::Error;
use rustls_pki_types::{pem::PemObject, CertificateDer, ServerName, TrustAnchor, UnixTime};
use std::time::Duration;

/// Amazon requires Alexa requests to be rejected when older than 150 s.
const ALEXA_TOLERANCE_SECS: u64 = 150;
/// The name Amazon's signing certificate must carry.
pub const SIGNING_CERT_NAME: &str = "echo-api.amazon.com";
const SIGNATURE_HEADER: &str = "Signature-256";

/// What an Alexa request claims: where its certificate chain is and the body's signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlexaClaim {
    pub cert_url: String,
    /// RSA PKCS#1 v1.5 over SHA-256 of the raw body.
    pub signature: Vec<u8>,
}

/// The URL rules, the signature header and the 150 s timestamp. Only `Signature-256` is
/// accepted: Amazon sends it beside the legacy SHA-1 `Signature` on every request.
pub(crate) fn claim(request: &SignedRequest<'_>) -> Result<AlexaClaim, Error> {
    let cert_url = request.header("SignatureCertChainUrl")?;
    if !cert_url_allowed(cert_url) {
        return Err(unauthenticated(
            "SignatureCertChainUrl header is not an amazon echo.api url",
        ));
    }
    let signature = STANDARD
        .decode(request.header(SIGNATURE_HEADER)?.trim())
        .map_err(|_| malformed(SIGNATURE_HEADER))?;
    if signature.is_empty() {
        return Err(malformed(SIGNATURE_HEADER));
    }
    let body: serde_json::Value = serde_json::from_slice(request.body)
        .map_err(|_| unauthenticated("alexa body is not json"))?;
    let timestamp = body
        .pointer("/request/timestamp")
        .and_then(serde_json::Value::as_str)
        .and_then(|ts| DateTime::parse_from_rfc3339(ts).ok())
        .ok_or_else(|| unauthenticated("missing or malformed request.timestamp in body"))?;
    within_tolerance(
        timestamp.timestamp_millis(),
        request.now,
        ALEXA_TOLERANCE_SECS,
    )?;
    Ok(AlexaClaim {
        cert_url: cert_url.to_owned(),
        signature,
    })
}

/// Checks that `chain_pem` (the signing certificate first, then intermediates) leads to one
/// of `anchors`, is valid at `now`, names `echo-api.amazon.com`, and that its key signed
/// `body` as `claim` says.
pub fn verify_chain(
    chain_pem: &[u8],
    claim: &AlexaClaim,
    body: &[u8],
    now: DateTime<Utc>,
    anchors: &[TrustAnchor<'_>],
) -> Result<(), Error> {
    let chain = CertificateDer::pem_slice_iter(chain_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| unauthenticated("alexa certificate chain is not pem"))?;
    let (signing, intermediates) = chain
        .split_first()
        .ok_or_else(|| unauthenticated("alexa certificate chain is empty"))?;
    let signing = webpki::EndEntityCert::try_from(signing)
        .map_err(|_| unauthenticated("alexa signing certificate is malformed"))?;
    let time = UnixTime::since_unix_epoch(Duration::from_secs(
        u64::try_from(now.timestamp()).unwrap_or_default(),
    ));
    signing
        .verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            anchors,
            intermediates,
            time,
            webpki::KeyUsage::server_auth(),
            None,
            None,
        )
        .map_err(|error| unauthenticated(format!("alexa certificate chain rejected: {error}")))?;
    let name = ServerName::try_from(SIGNING_CERT_NAME)
        .map_err(|_| Error::Internal("alexa certificate name".into()))?;
    signing
        .verify_is_valid_for_subject_name(&name)
        .map_err(|_| {
            unauthenticated(format!("alexa certificate is not for {SIGNING_CERT_NAME}"))
        })?;
    signing
        .verify_signature(
            webpki::ring::RSA_PKCS1_2048_8192_SHA256,
            body,
            &claim.signature,
        )
        .map_err(|_| unauthenticated("signature mismatch"))
}

/// Amazon's rules for the certificate chain URL of an Alexa request.
pub fn cert_url_allowed(url: &str) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderMap, Method};

    const NOW: i64 = 1_700_000_000;

    fn check(body: &str, headers: &[(&str, &str)]) -> String {
        let headers: HeaderMap = headers
            .iter()
            .map(|(k, v)| (k.parse().unwrap(), v.parse().unwrap()))
            .collect();
        let request = SignedRequest {
            method: &Method::POST,
            url: "https://hooks.example.com/webhooks/abc",
            headers: &headers,
            body: body.as_bytes(),
            now: DateTime::from_timestamp(NOW, 0).unwrap(),
        };
        match claim(&request) {
            Ok(claim) => format!("claim {} {}", claim.cert_url, claim.signature.len()),
            Err(Error::Unauthenticated(msg)) => msg,
            Err(other) => panic!("expected unauthenticated, got {other:?}"),
        }
    }

    #[test]
    fn claim_checks_what_needs_no_network() {
        let cert = "https://s3.amazonaws.com/echo.api/echo-api-cert.pem";
        let alexa = |timestamp: &str, signature: (&str, &str), cert: &str| {
            let body = format!(r#"{{"request":{{"timestamp":"{timestamp}"}}}}"#);
            check(&body, &[("SignatureCertChainUrl", cert), signature])
        };
        let ago = |secs: i64| {
            DateTime::from_timestamp(NOW - secs, 0)
                .unwrap()
                .to_rfc3339()
        };
        let (good, legacy) = (("Signature-256", "c2ln"), ("Signature", "c2ln"));
        let claimed = format!("claim {cert} 3");
        assert_eq!(alexa(&ago(150), good, cert), claimed);
        assert_eq!(alexa(&ago(-10), good, cert), claimed);
        let msg = alexa(&ago(0), legacy, cert);
        assert_eq!(
            msg, "missing Signature-256 header",
            "sha-1 alone is refused"
        );
        let msg = alexa(&ago(151), good, cert);
        assert_eq!(msg, "timestamp outside the 150 s tolerance");
        let msg = alexa(&ago(0), ("Signature-256", "not base64!"), cert);
        assert_eq!(msg, "malformed Signature-256 header");
        let msg = alexa("yesterday", good, cert);
        assert_eq!(msg, "missing or malformed request.timestamp in body");
        let msg = alexa(&ago(0), good, "https://evil.example/echo.api/x");
        assert_eq!(
            msg,
            "SignatureCertChainUrl header is not an amazon echo.api url"
        );
    }

    #[test]
    fn cert_url_rules() {
        for url in [
            "https://s3.amazonaws.com/echo.api/echo-api-cert.pem",
            "HTTPS://S3.AMAZONAWS.COM/echo.api/echo-api-cert.pem",
            "https://s3.amazonaws.com:443/echo.api/echo-api-cert.pem",
            "https://s3.amazonaws.com/echo.api/../echo.api/echo-api-cert.pem",
        ] {
            assert!(cert_url_allowed(url), "{url}");
        }
        for url in [
            "http://s3.amazonaws.com/echo.api/echo-api-cert.pem",
            "https://notamazon.com/echo.api/echo-api-cert.pem",
            "https://s3.amazonaws.com/EcHo.aPi/echo-api-cert.pem",
            "https://s3.amazonaws.com/invalid.path/echo-api-cert.pem",
            "https://s3.amazonaws.com:563/echo.api/echo-api-cert.pem",
            "https://s3.amazonaws.com/echo.api/../evil/cert.pem",
            "https://s3.amazonaws.com/echo.api/%2e%2e/evil/cert.pem",
            "https://user@s3.amazonaws.com/echo.api/cert.pem",
        ] {
            assert!(!cert_url_allowed(url), "{url}");
        }
    }
}
