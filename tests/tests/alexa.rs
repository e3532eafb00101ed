//! Alexa signatures: the certificate chain and RSA checks, then end to end through the
//! gateway with a test CA standing in for Amazon's.

use base64::{engine::general_purpose::STANDARD as B64, Engine};
use chrono::Utc;
use hookgate_domain::Error;
use hookgate_proto::v1::{self as pb, VerificationType};
use hookgate_tests::{
    alexa::{Issued, CERT_URL},
    http, Stack, StackOptions, TestDb,
};
use hookgate_verify::alexa::{verify_chain, AlexaClaim, SIGNING_CERT_NAME};
use std::time::Duration;

fn verdict(issued: &Issued, chain: &str, signature: Vec<u8>, body: &[u8]) -> String {
    let claim = AlexaClaim {
        cert_url: CERT_URL.into(),
        signature,
    };
    let anchors = [issued.trust_anchor()];
    match verify_chain(chain.as_bytes(), &claim, body, Utc::now(), &anchors) {
        Ok(()) => "verified".into(),
        Err(Error::Unauthenticated(msg)) => msg,
        Err(other) => panic!("expected unauthenticated, got {other:?}"),
    }
}

#[test]
fn a_body_signed_with_the_certificate_verifies_and_nothing_else_does() {
    let issued = Issued::new(SIGNING_CERT_NAME, 2099);
    let chain = &issued.chain_pem;
    let body = br#"{"request":{"type":"LaunchRequest"}}"#;
    assert_eq!(verdict(&issued, chain, issued.sign(body), body), "verified");
    let msg = verdict(&issued, chain, issued.sign(body), b"{}");
    assert_eq!(msg, "signature mismatch", "a changed body must fail");
    let mut forged = issued.sign(body);
    forged[10] ^= 1;
    assert_eq!(verdict(&issued, chain, forged, body), "signature mismatch");
}

#[test]
fn chains_that_are_not_amazons_fail() {
    let body = b"{}";
    let wrong_name = Issued::new("echo-api.example.com", 2099);
    let msg = verdict(
        &wrong_name,
        &wrong_name.chain_pem,
        wrong_name.sign(body),
        body,
    );
    assert_eq!(msg, "alexa certificate is not for echo-api.amazon.com");

    let expired = Issued::new(SIGNING_CERT_NAME, 2021);
    let msg = verdict(&expired, &expired.chain_pem, expired.sign(body), body);
    assert!(msg.starts_with("alexa certificate chain rejected"), "{msg}");

    let trusted = Issued::new(SIGNING_CERT_NAME, 2099);
    let stranger = Issued::new(SIGNING_CERT_NAME, 2099);
    let msg = verdict(&trusted, &stranger.chain_pem, stranger.sign(body), body);
    assert!(msg.starts_with("alexa certificate chain rejected"), "{msg}");

    let msg = verdict(&trusted, "not a certificate", vec![1], body);
    assert_eq!(msg, "alexa certificate chain is empty");
}

#[tokio::test]
async fn signed_alexa_requests_are_published_and_forged_ones_refused() {
    let issued = Issued::new(SIGNING_CERT_NAME, 2099);
    let options = StackOptions {
        alexa: Some(issued.verifier(&issued.chain_pem)),
        ..Default::default()
    };
    let db = TestDb::sqlite();
    let stack = Stack::start(&db, options).await;
    let hook = stack
        .create(
            "acme",
            pb::Webhook {
                display_name: "skill".into(),
                verification_type: VerificationType::Alexa as i32,
                ..Default::default()
            },
        )
        .await;
    let body = format!(
        r#"{{"version":"1.0","request":{{"type":"LaunchRequest","timestamp":"{}"}}}}"#,
        Utc::now().to_rfc3339()
    );
    let send = |signature: Vec<u8>| {
        let (url, body) = (hook.url.clone(), body.clone());
        async move {
            let signature = B64.encode(signature);
            let headers = [
                ("content-type", "application/json"),
                ("signaturecertchainurl", CERT_URL),
                ("signature-256", signature.as_str()),
            ];
            http::post(&url, &headers, body).await
        }
    };
    let reader = stack.reader();

    let mut forged = issued.sign(body.as_bytes());
    forged[0] ^= 1;
    let refused = send(forged).await;
    assert_eq!(refused.status.as_u16(), 401, "{}", refused.text());
    assert!(refused.text().contains("signature mismatch"));
    reader.assert_none(Duration::from_millis(700));

    let accepted = send(issued.sign(body.as_bytes())).await;
    assert_eq!(accepted.status.as_u16(), 200, "{}", accepted.text());
    let record = reader.one();
    assert_eq!(record.value["data"]["verified"], "alexa");
    assert_eq!(
        record.value["data"]["body"]["request"]["type"],
        "LaunchRequest"
    );
}
