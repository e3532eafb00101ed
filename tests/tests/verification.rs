//! The verification catalogue, custom HMAC schemes and secret rotation: written through the
//! gRPC API on SQLite and PostgreSQL, and exercised over HTTP with records read back from
//! the broker.

use ::http::Method;
use base64::{engine::general_purpose::STANDARD as B64, Engine};
use ed25519_dalek::Signer;
use hmac::{Hmac, Mac};
use hookgate_proto::v1::{self as pb, VerificationType};
use hookgate_tests::{
    for_each_backend,
    http::{self, HttpReply},
    ApiServer, Stack, StackOptions, TestDb,
};
use serde_json::{json, Value};
use std::time::Duration;
use tonic::{Code, Status};
use tonic_types::StatusExt;

const QUIET: Duration = Duration::from_millis(700);

fn provider(id: &str, secret: &str) -> pb::Webhook {
    pb::Webhook {
        display_name: format!("{id} webhook"),
        verification_type: VerificationType::Provider as i32,
        verification_provider: id.into(),
        signing_secret: secret.into(),
        ..Default::default()
    }
}

/// A custom-scheme webhook with a secret.
fn custom(scheme: Option<pb::HmacScheme>) -> pb::Webhook {
    pb::Webhook {
        display_name: "custom".into(),
        verification_type: VerificationType::Hmac as i32,
        hmac: scheme,
        signing_secret: "s".into(),
        ..Default::default()
    }
}

fn violated_fields(status: &Status) -> Vec<String> {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    status
        .get_details_bad_request()
        .expect("BadRequest details")
        .field_violations
        .into_iter()
        .map(|v| v.field)
        .collect()
}

fn hmac256(key: &str, data: &str) -> Vec<u8> {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

type Client = pb::webhook_service_client::WebhookServiceClient<tonic::transport::Channel>;

async fn create(client: &mut Client, webhook: pb::Webhook) -> Result<pb::Webhook, Status> {
    client
        .create_webhook(pb::CreateWebhookRequest {
            parent: "applications/acme".into(),
            webhook: Some(webhook),
        })
        .await
        .map(|r| r.into_inner())
}

async fn get(client: &mut Client, name: &str) -> pb::Webhook {
    client
        .get_webhook(pb::GetWebhookRequest { name: name.into() })
        .await
        .unwrap()
        .into_inner()
}

#[tokio::test]
async fn list_verification_providers_serves_the_catalogue() {
    let db = TestDb::sqlite();
    let server = ApiServer::start(&db).await;
    let providers = server
        .client()
        .await
        .list_verification_providers(pb::ListVerificationProvidersRequest {})
        .await
        .unwrap()
        .into_inner()
        .providers;
    let ids: Vec<_> = providers.iter().map(|p| p.id.as_str()).collect();
    println!("{} providers: {}", ids.len(), ids.join(" "));
    assert!(providers.len() >= 60, "{}", providers.len());
    let zoom = providers.iter().find(|p| p.id == "zoom").unwrap();
    assert!(zoom.handshake);
    assert_eq!(zoom.display_name, "Zoom");
    assert!(zoom.docs_url.starts_with("https://developers.zoom.us/"));
    assert!(!zoom.secret_description.is_empty());
    let github = providers.iter().find(|p| p.id == "github").unwrap();
    assert_eq!(github.deduplication_key, "header:X-GitHub-Delivery");
    assert!(!github.handshake);
    for legacy in ["facebook", "fitbit", "twilio", "stripe", "slack", "shopify"] {
        assert!(ids.contains(&legacy), "{legacy}");
    }
    assert!(ids.contains(&"standard-webhooks") && ids.contains(&"alexa"));
    server.stop().await;
}

#[tokio::test]
async fn list_verification_providers_needs_a_valid_token_when_tokens_are_set() {
    let db = TestDb::sqlite();
    let server = ApiServer::start_with_tokens(&db, "t0ken-for-acme-000000=acme").await;
    let status = server
        .client()
        .await
        .list_verification_providers(pb::ListVerificationProvidersRequest {})
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    server.stop().await;
}

#[tokio::test]
async fn providers_and_hmac_schemes_are_validated_when_written() {
    for_each_backend(|db| async move {
        let server = ApiServer::start(&db).await;
        let mut client = server.client().await;
        let created = create(&mut client, provider("zoom", "s")).await.unwrap();
        assert_eq!(created.verification_provider, "zoom");
        assert_eq!(created.verification_type, VerificationType::Provider as i32);
        assert!(created.has_signing_secret && created.signing_secret.is_empty());

        let cases: Vec<(pb::Webhook, Vec<&str>)> = vec![
            (provider("nope", "s"), vec!["webhook.verification_provider"]),
            (provider("", "s"), vec!["webhook.verification_provider"]),
            (provider("zoom", ""), vec!["webhook.signing_secret"]),
            (
                provider("discord", "not-hex"),
                vec!["webhook.signing_secret"],
            ),
            (
                custom(Some(pb::HmacScheme::default())),
                vec!["webhook.hmac.header"],
            ),
            (
                custom(Some(pb::HmacScheme {
                    header: "X-Sig".into(),
                    signed_content: "{body}{nonce}".into(),
                    ..Default::default()
                })),
                vec!["webhook.hmac.signed_content"],
            ),
            (
                custom(Some(pb::HmacScheme {
                    header: "X-Sig".into(),
                    algorithm: 9,
                    ..Default::default()
                })),
                vec!["webhook.hmac.algorithm"],
            ),
            (custom(None), vec!["webhook.hmac"]),
            (
                pb::Webhook {
                    signing_secret_grace: Some(prost_types::Duration {
                        seconds: 8 * 86_400,
                        nanos: 0,
                    }),
                    ..provider("github", "s")
                },
                vec!["webhook.signing_secret_grace"],
            ),
        ];
        for (webhook, fields) in cases {
            let status = create(&mut client, webhook).await.unwrap_err();
            assert_eq!(violated_fields(&status), fields, "{}", db.backend);
        }
        let scheme = pb::HmacScheme {
            header: "X-Sig".into(),
            algorithm: pb::HmacAlgorithm::Sha512 as i32,
            encoding: pb::SignatureEncoding::Base64 as i32,
            prefix: "v1=".into(),
            signed_content: "{timestamp}.{body}".into(),
            timestamp_header: "X-Ts".into(),
            tolerance: Some(prost_types::Duration {
                seconds: 60,
                nanos: 0,
            }),
        };
        let hmac = create(&mut client, custom(Some(scheme.clone())))
            .await
            .unwrap();
        let read = get(&mut client, &hmac.name).await;
        assert_eq!(read.hmac, Some(scheme), "{}", db.backend);
        server.stop().await;
    })
    .await;
}

#[tokio::test]
async fn replacing_a_secret_keeps_the_old_one_for_its_grace() {
    for_each_backend(|db| async move {
        let server = ApiServer::start(&db).await;
        let mut client = server.client().await;
        let created = create(&mut client, provider("github", "first"))
            .await
            .unwrap();
        assert_eq!(created.previous_secret_expire_time, None);
        let update = |secret: &str, grace: Option<i64>| pb::UpdateWebhookRequest {
            webhook: Some(pb::Webhook {
                name: created.name.clone(),
                signing_secret: secret.into(),
                signing_secret_grace: grace
                    .map(|seconds| prost_types::Duration { seconds, nanos: 0 }),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["signing_secret".into(), "signing_secret_grace".into()],
            }),
        };
        let rotated = client
            .update_webhook(update("second", None))
            .await
            .unwrap()
            .into_inner();
        let expires = rotated
            .previous_secret_expire_time
            .expect("expire time")
            .seconds;
        let day_from_now = now() + 86_400;
        assert!(
            (expires - day_from_now).abs() <= 5,
            "{expires} vs {day_from_now}"
        );
        assert_eq!(rotated.signing_secret_grace, None, "input only");
        let read = get(&mut client, &created.name).await;
        assert_eq!(
            read.previous_secret_expire_time,
            rotated.previous_secret_expire_time
        );

        let hour = client
            .update_webhook(update("third", Some(3600)))
            .await
            .unwrap()
            .into_inner();
        let expires = hour.previous_secret_expire_time.unwrap().seconds;
        assert!((expires - (now() + 3600)).abs() <= 5, "{}", db.backend);
        let none = client
            .update_webhook(update("fourth", Some(0)))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            none.previous_secret_expire_time, None,
            "a zero grace keeps nothing"
        );
        let status = client
            .update_webhook(update("fifth", Some(-1)))
            .await
            .unwrap_err();
        assert_eq!(
            violated_fields(&status),
            vec!["webhook.signing_secret_grace"]
        );
        server.stop().await;
    })
    .await;
}

async fn stack() -> (Stack, TestDb) {
    let db = TestDb::sqlite();
    (Stack::start(&db, StackOptions::default()).await, db)
}

fn assert_answer(reply: &HttpReply, text: &str) {
    assert_eq!((reply.status.as_u16(), reply.text().as_str()), (200, text));
}

fn assert_rejected(reply: &HttpReply, what: &str) {
    assert_eq!(reply.status.as_u16(), 401, "{what}: {}", reply.text());
}

fn github_signature(secret: &str, body: &str) -> String {
    format!("sha256={}", hex::encode(hmac256(secret, body)))
}

#[tokio::test]
async fn a_rotated_secret_verifies_over_http_until_replaced_again() {
    let (stack, _db) = stack().await;
    let mut client = stack.client().await;
    let hook = create(&mut client, provider("github", "old"))
        .await
        .unwrap();
    let body = r#"{"zen":"ok"}"#;
    let send = |secret: &'static str| {
        let url = hook.url.clone();
        async move {
            let signature = github_signature(secret, body);
            http::post(&url, &[("x-hub-signature-256", signature.as_str())], body).await
        }
    };
    let update = |secret: &str, grace: i64| pb::UpdateWebhookRequest {
        webhook: Some(pb::Webhook {
            name: hook.name.clone(),
            signing_secret: secret.into(),
            signing_secret_grace: Some(prost_types::Duration {
                seconds: grace,
                nanos: 0,
            }),
            ..Default::default()
        }),
        update_mask: None,
    };
    client.update_webhook(update("new", 3600)).await.unwrap();
    let reader = stack.reader();
    for secret in ["old", "new"] {
        let reply = send(secret).await;
        assert_eq!(reply.status.as_u16(), 200, "{secret}: {}", reply.text());
        let record = reader.read(1, Duration::from_secs(10)).pop().unwrap();
        assert_eq!(record.value["data"]["verified"], "github");
    }
    client.update_webhook(update("newer", 0)).await.unwrap();
    assert_rejected(&send("old").await, "the secret replaced twice");
    assert_rejected(&send("new").await, "replaced with no grace");
    reader.assert_none(QUIET);
    stack.stop().await;
}

/// A provider webhook and a request signed for it, with the names of its headers.
struct Signed {
    body: String,
    headers: Vec<(String, String)>,
}

impl Signed {
    async fn send(&self, url: &str) -> HttpReply {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        http::post(url, &headers, self.body.clone()).await
    }
}

fn zoom(secret: &str, ts: i64, body: &str) -> Signed {
    let signature = hex::encode(hmac256(secret, &format!("v0:{ts}:{body}")));
    Signed {
        body: body.into(),
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("x-zm-request-timestamp".into(), ts.to_string()),
            ("x-zm-signature".into(), format!("v0={signature}")),
        ],
    }
}

#[tokio::test]
async fn wrong_stale_and_missing_signatures_get_401_and_publish_nothing() {
    let (stack, _db) = stack().await;
    let mut client = stack.client().await;
    let hook = create(&mut client, provider("zoom", "zoom-secret"))
        .await
        .unwrap();
    let body = r#"{"event":"meeting.started","payload":{}}"#;
    let reader = stack.reader();

    let good = zoom("zoom-secret", now(), body);
    let reply = good.send(&hook.url).await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text());
    let record = reader.read(1, Duration::from_secs(10)).pop().unwrap();
    assert_eq!(record.value["data"]["verified"], "zoom");

    assert_rejected(
        &zoom("other", now(), body).send(&hook.url).await,
        "wrong secret",
    );
    assert_rejected(
        &zoom("zoom-secret", now() - 400, body).send(&hook.url).await,
        "stale timestamp",
    );
    for missing in ["x-zm-signature", "x-zm-request-timestamp"] {
        let mut request = zoom("zoom-secret", now(), body);
        request.headers.retain(|(name, _)| name != missing);
        let reply = request.send(&hook.url).await;
        assert_rejected(&reply, missing);
        assert!(reply.text().contains("missing"), "{}", reply.text());
    }
    reader.assert_none(QUIET);
    stack.stop().await;
}

#[tokio::test]
async fn query_and_header_handshakes_answer_without_publishing() {
    let (stack, _db) = stack().await;
    let mut client = stack.client().await;
    let reader = stack.reader();
    let url_of = |hook: &pb::Webhook, query: &str| format!("{}?{query}", hook.url);

    let dropbox = create(&mut client, provider("dropbox", "s")).await.unwrap();
    let reply = http::get(&url_of(&dropbox, "challenge=abc123")).await;
    assert_answer(&reply, "abc123");
    assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));

    let graph = create(&mut client, provider("microsoft-graph", "state"))
        .await
        .unwrap();
    let reply = http::post(
        &url_of(&graph, "validationToken=Validation%3A%20Testing"),
        &[],
        "",
    )
    .await;
    assert_answer(&reply, "Validation: Testing");
    assert!(reply
        .header("content-type")
        .unwrap()
        .starts_with("text/plain"));

    let trello = create(&mut client, provider("trello", "s")).await.unwrap();
    let reply = http::send(Method::HEAD, &trello.url, &[], "").await;
    assert_eq!(reply.status.as_u16(), 200);

    let okta = create(&mut client, provider("okta", "Bearer okta-key"))
        .await
        .unwrap();
    let reply = http::send(
        Method::GET,
        &okta.url,
        &[("x-okta-verification-challenge", "chal-1")],
        "",
    )
    .await;
    assert_eq!(reply.status.as_u16(), 200);
    let answer: Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(answer, json!({"verification": "chal-1"}));

    let twitter = create(&mut client, provider("twitter", "consumer-secret"))
        .await
        .unwrap();
    let reply = http::get(&url_of(&twitter, "crc_token=crc-9")).await;
    let answer: Value = serde_json::from_slice(&reply.body).unwrap();
    let token = format!("sha256={}", B64.encode(hmac256("consumer-secret", "crc-9")));
    assert_eq!(answer, json!({ "response_token": token }));

    let facebook = create(
        &mut client,
        pb::Webhook {
            verification_code: "verify-me".into(),
            ..provider("instagram", "app-secret")
        },
    )
    .await
    .unwrap();
    let reply = http::get(&url_of(
        &facebook,
        "hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=1158201444",
    ))
    .await;
    assert_answer(&reply, "1158201444");
    reader.assert_none(QUIET);
    stack.stop().await;
}

#[tokio::test]
async fn signed_handshakes_answer_after_the_signature() {
    let (stack, _db) = stack().await;
    let mut client = stack.client().await;
    let reader = stack.reader();

    // Zoom's endpoint.url_validation, with the documented response shape.
    let hook = create(&mut client, provider("zoom", "zoom-secret"))
        .await
        .unwrap();
    let body = r#"{"payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":1654503849680,"event":"endpoint.url_validation"}"#;
    let reply = zoom("zoom-secret", now(), body).send(&hook.url).await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text());
    let answer: Value = serde_json::from_slice(&reply.body).unwrap();
    let encrypted = hex::encode(hmac256("zoom-secret", "qgg8vlvZRS6UYooatFL8Aw"));
    assert_eq!(
        answer,
        json!({"plainToken": "qgg8vlvZRS6UYooatFL8Aw", "encryptedToken": encrypted})
    );
    assert_rejected(
        &zoom("wrong", now(), body).send(&hook.url).await,
        "an unsigned validation",
    );

    // Discord's PING, signed with Ed25519.
    let key = ed25519_dalek::SigningKey::from_bytes(&[3; 32]);
    let public = hex::encode(key.verifying_key().to_bytes());
    let discord = create(&mut client, provider("discord", &public))
        .await
        .unwrap();
    let ts = now().to_string();
    let ping = r#"{"type":1,"id":"1"}"#;
    let signature = hex::encode(key.sign(format!("{ts}{ping}").as_bytes()).to_bytes());
    let headers = [
        ("x-signature-timestamp", ts.as_str()),
        ("x-signature-ed25519", signature.as_str()),
        ("content-type", "application/json"),
    ];
    let reply = http::post(&discord.url, &headers, ping).await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text());
    let answer: Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(answer, json!({"type": 1}));
    let forged = http::post(&discord.url, &headers, r#"{"type":1,"id":"2"}"#).await;
    assert_rejected(&forged, "a ping signed for another body");

    // Twitch's webhook_callback_verification.
    let twitch = create(&mut client, provider("twitch", "twitch-secret"))
        .await
        .unwrap();
    let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    let body = r#"{"challenge":"pogchamp-kappa-360noscope-vohiyo","subscription":{}}"#;
    let signature = hex::encode(hmac256("twitch-secret", &format!("m-1{at}{body}")));
    let signature = format!("sha256={signature}");
    let headers = [
        ("twitch-eventsub-message-id", "m-1"),
        ("twitch-eventsub-message-timestamp", at.as_str()),
        ("twitch-eventsub-message-signature", signature.as_str()),
        (
            "twitch-eventsub-message-type",
            "webhook_callback_verification",
        ),
    ];
    let reply = http::post(&twitch.url, &headers, body).await;
    assert_answer(&reply, "pogchamp-kappa-360noscope-vohiyo");
    reader.assert_none(QUIET);
    stack.stop().await;
}

#[tokio::test]
async fn asana_keeps_the_handshake_secret_and_verifies_with_it() {
    let (stack, _db) = stack().await;
    let mut client = stack.client().await;
    let hook = create(&mut client, provider("asana", "")).await.unwrap();
    assert!(!hook.has_signing_secret);
    let body = r#"{"events":[{"action":"changed"}]}"#;
    let signed = |secret: &str| hex::encode(hmac256(secret, body));
    let before = http::post(&hook.url, &[("x-hook-signature", &signed("x"))], body).await;
    assert_rejected(&before, "no secret yet");

    let reply = http::post(&hook.url, &[("x-hook-secret", "asana-given")], "").await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text());
    assert_eq!(reply.header("x-hook-secret"), Some("asana-given"));
    let read = get(&mut client, &hook.name).await;
    assert!(read.has_signing_secret, "the handshake kept the secret");

    let reader = stack.reader();
    let event = http::post(
        &hook.url,
        &[("x-hook-signature", &signed("asana-given"))],
        body,
    )
    .await;
    assert_eq!(event.status.as_u16(), 200, "{}", event.text());
    assert_eq!(reader.one().value["data"]["verified"], "asana");
    let forged = http::post(&hook.url, &[("x-hook-signature", &signed("x"))], body).await;
    assert_rejected(&forged, "another secret");
    // A second handshake is echoed but cannot replace the kept secret.
    let again = http::post(&hook.url, &[("x-hook-secret", "attacker")], "").await;
    assert_eq!(again.status.as_u16(), 200);
    let event = http::post(
        &hook.url,
        &[("x-hook-signature", &signed("asana-given"))],
        body,
    )
    .await;
    assert_eq!(event.status.as_u16(), 200, "{}", event.text());
    stack.stop().await;
}

#[tokio::test]
async fn twilio_json_bodies_are_pinned_by_body_sha256() {
    let (stack, _db) = stack().await;
    let mut client = stack.client().await;
    let hook = create(&mut client, provider("twilio", "auth-token"))
        .await
        .unwrap();
    let body = r#"{"MessageSid":"SM1","Body":"hi"}"#;
    let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(body.as_bytes()));
    let url = format!("{}?bodySHA256={digest}", hook.url);
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(b"auth-token").unwrap();
    mac.update(url.as_bytes());
    let signature = B64.encode(mac.finalize().into_bytes());
    let headers = [
        ("content-type", "application/json"),
        ("x-twilio-signature", signature.as_str()),
    ];
    let reader = stack.reader();
    let reply = http::post(&url, &headers, body).await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text());
    assert_eq!(reply.header("content-type"), Some("text/xml"), "TwiML");
    assert_eq!(reader.one().value["data"]["verified"], "twilio");
    let swapped = http::post(&url, &headers, r#"{"MessageSid":"SM2","Body":"hi"}"#).await;
    assert_rejected(&swapped, "a body other than the pinned one");
    assert!(swapped.text().contains("bodySHA256"), "{}", swapped.text());
    reader.assert_none(QUIET);
    stack.stop().await;
}

#[tokio::test]
async fn custom_hmac_schemes_verify_over_http() {
    let (stack, _db) = stack().await;
    let mut client = stack.client().await;
    let hook = create(
        &mut client,
        pb::Webhook {
            display_name: "custom".into(),
            verification_type: VerificationType::Hmac as i32,
            signing_secret: "custom-secret".into(),
            hmac: Some(pb::HmacScheme {
                header: "X-Custom-Signature".into(),
                prefix: "sha256=".into(),
                encoding: pb::SignatureEncoding::Base64 as i32,
                signed_content: "{timestamp}.{method}.{body}".into(),
                timestamp_header: "X-Custom-Timestamp".into(),
                ..Default::default()
            }),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let body = r#"{"a":1}"#;
    let ts = now().to_string();
    let signature = B64.encode(hmac256("custom-secret", &format!("{ts}.POST.{body}")));
    let header = format!("sha256=bm9wZQ==, sha256={signature}");
    let reader = stack.reader();
    let reply = http::post(
        &hook.url,
        &[("x-custom-timestamp", &ts), ("x-custom-signature", &header)],
        body,
    )
    .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text());
    assert_eq!(reader.one().value["data"]["verified"], "hmac");
    let stale = (now() - 301).to_string();
    let reply = http::post(
        &hook.url,
        &[
            ("x-custom-timestamp", &stale),
            ("x-custom-signature", &header),
        ],
        body,
    )
    .await;
    assert_rejected(&reply, "stale");
    reader.assert_none(QUIET);
    stack.stop().await;
}

/// How a provider signs `body` at unix time `ts` for `url`, as its documentation says.
type SignWith = fn(secret: &str, url: &str, body: &str, ts: i64) -> Vec<(String, String)>;

fn header(name: &str, value: String) -> (String, String) {
    (name.to_owned(), value)
}

/// One provider per signing family, each with its tolerance (None: nothing timestamped).
fn families() -> Vec<(&'static str, String, SignWith, Option<i64>)> {
    let discord_key = ed25519_dalek::SigningKey::from_bytes(&[5; 32]);
    vec![
        (
            "paddle",
            "pdl_ntfset_secret".into(),
            |secret, _, body, ts| {
                let h1 = hex::encode(hmac256(secret, &format!("{ts}:{body}")));
                vec![header("paddle-signature", format!("ts={ts};h1={h1}"))]
            },
            Some(5),
        ),
        (
            "hubspot",
            "client-secret".into(),
            |secret, url, body, ts| {
                let ms = ts * 1000;
                let signed = format!("POST{url}{body}{ms}");
                vec![
                    header("x-hubspot-request-timestamp", ms.to_string()),
                    header(
                        "x-hubspot-signature-v3",
                        B64.encode(hmac256(secret, &signed)),
                    ),
                ]
            },
            Some(300),
        ),
        (
            "square",
            "signature-key".into(),
            |secret, url, body, _| {
                let signature = B64.encode(hmac256(secret, &format!("{url}{body}")));
                vec![header("x-square-hmacsha256-signature", signature)]
            },
            None,
        ),
        (
            "gitlab",
            "gitlab-token".into(),
            |secret, _, _, _| vec![header("x-gitlab-token", secret.to_owned())],
            None,
        ),
        (
            "discord",
            hex::encode(discord_key.verifying_key().to_bytes()),
            |_, _, body, ts| {
                let key = ed25519_dalek::SigningKey::from_bytes(&[5; 32]);
                let signature = key.sign(format!("{ts}{body}").as_bytes());
                vec![
                    header("x-signature-timestamp", ts.to_string()),
                    header("x-signature-ed25519", hex::encode(signature.to_bytes())),
                ]
            },
            Some(300),
        ),
    ]
}

#[tokio::test]
async fn every_signing_family_verifies_over_http_and_refuses_forgeries() {
    let (stack, _db) = stack().await;
    let mut client = stack.client().await;
    let reader = stack.reader();
    let body = r#"{"event_id":"evt_1","data":{"n":1}}"#;
    for (id, secret, sign, tolerance) in families() {
        let hook = create(&mut client, provider(id, &secret)).await.unwrap();
        let url = format!("{}/sub?x=1", hook.url);
        let send = |headers: Vec<(String, String)>, body: &'static str| {
            let url = url.clone();
            async move {
                let headers: Vec<(&str, &str)> = headers
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                http::post(&url, &headers, body).await
            }
        };
        let good = sign(&secret, &url, body, now());
        let reply = send(good.clone(), body).await;
        assert_eq!(reply.status.as_u16(), 200, "{id}: {}", reply.text());
        let record = reader.read(1, Duration::from_secs(10)).pop().unwrap();
        assert_eq!(record.value["data"]["verified"], id);

        if id != "discord" {
            let wrong = sign("not-the-secret", &url, body, now());
            assert_rejected(&send(wrong, body).await, id);
        }
        // A token says nothing about the body; every other family signs it.
        if id != "gitlab" {
            assert_rejected(&send(good.clone(), r#"{"event_id":"evt_2"}"#).await, id);
        }
        for (name, _) in &good {
            let missing: Vec<_> = good.iter().filter(|(n, _)| n != name).cloned().collect();
            assert_rejected(&send(missing, body).await, name);
        }
        if let Some(tolerance) = tolerance {
            let stale = sign(&secret, &url, body, now() - tolerance - 10);
            let reply = send(stale, body).await;
            assert_rejected(&reply, id);
            assert!(reply.text().contains("tolerance"), "{id}: {}", reply.text());
        }
    }
    reader.assert_none(QUIET);
    stack.stop().await;
}
