//! The HTTP ingress end to end: real TCP in, records read back from the real broker.

use base64::{engine::general_purpose::STANDARD as B64, Engine};
use hmac::{Hmac, Mac};
use hookgate_proto::v1::{self as pb, VerificationType};
use hookgate_tests::{
    http::{self, HttpReply},
    kafka::Record,
    Stack, StackOptions, TestDb,
};
use serde_json::{json, Value};
use std::{num::NonZeroU32, time::Duration};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const QUIET: Duration = Duration::from_millis(700);

fn webhook(display_name: &str) -> pb::Webhook {
    pb::Webhook {
        display_name: display_name.into(),
        ..Default::default()
    }
}

async fn stack() -> (Stack, TestDb) {
    stack_with(StackOptions::default()).await
}

async fn stack_with(options: StackOptions) -> (Stack, TestDb) {
    let db = TestDb::sqlite();
    (Stack::start(&db, options).await, db)
}

fn assert_success(reply: &HttpReply, status: u16) {
    assert_eq!(reply.status.as_u16(), status, "{}", reply.text());
    assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.text(), r#"{"success":true}"#);
}

fn id_of(webhook: &pb::Webhook) -> String {
    webhook.name.rsplit('/').next().unwrap().to_owned()
}

#[tokio::test]
async fn a_request_becomes_the_documented_record() {
    let (stack, _db) = stack().await;
    let hook = stack.create("acme", webhook("orders")).await;
    let traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    let reply = http::post(
        &format!("{}/sub/path?a=1&b=2&b=3", hook.url),
        &[
            ("content-type", "application/json"),
            ("x-custom", "yes"),
            ("cookie", "session=secret"),
            ("authorization", "Bearer secret"),
            ("traceparent", traceparent),
        ],
        r#"{"order":{"id":7}}"#,
    )
    .await;
    assert_success(&reply, 200);
    let record = stack.reader().one();
    assert_eq!(record.key, id_of(&hook));
    let h = &record.headers;
    assert_eq!(h["ce_specversion"], "1.0");
    assert_eq!(h["ce_source"], format!("/{}", hook.name));
    assert_eq!(h["ce_type"], "io.hookgate.webhook.request");
    assert_eq!(h["content-type"], "application/json");
    assert_eq!(h["traceparent"], traceparent);
    assert!(chrono_like(&h["ce_time"]), "{}", h["ce_time"]);
    let v = &record.value;
    assert_eq!(v["id"], h["ce_id"].as_str());
    assert_eq!(v["time"], h["ce_time"].as_str());
    assert_eq!(v["applicationId"], "acme");
    assert_eq!(v["webhookId"], id_of(&hook).as_str());
    assert_eq!(v["test"], false);
    let data = &v["data"];
    assert_eq!(data["method"], "post");
    assert_eq!(data["path"], "/sub/path");
    assert_eq!(data["query"], json!({"a": "1", "b": ["2", "3"]}));
    assert_eq!(data["body"], json!({"order": {"id": 7}}));
    assert_eq!(data["remoteAddress"], "127.0.0.1");
    assert_eq!(data["headers"]["x-custom"], "yes");
    assert_eq!(data["headers"]["content-type"], "application/json");
    assert!(data["headers"].get("cookie").is_none());
    assert!(data["headers"].get("authorization").is_none());
    assert!(data.get("verified").is_none());
    assert!(data.get("replyId").is_none());
    assert!(data.get("bodyEncoding").is_none());

    let second = http::get(&hook.url).await;
    assert_success(&second, 200);
    let record = stack
        .reader()
        .read(2, Duration::from_secs(10))
        .pop()
        .unwrap();
    assert_eq!(record.value["data"]["path"], "/");
    assert_eq!(record.value["data"]["query"], json!({}));
    assert_eq!(record.value["data"]["body"], Value::Null);
    assert_eq!(record.value["data"]["method"], "get");
    assert!(!record.headers.contains_key("traceparent"));
    assert_ne!(record.value["id"], v["id"], "ids are unique per request");
}

fn chrono_like(value: &str) -> bool {
    value.len() == 24 && value.ends_with('Z') && value.as_bytes()[10] == b'T'
}

#[tokio::test]
async fn response_code_and_unknown_tokens() {
    let (stack, _db) = stack().await;
    let hook = stack
        .create(
            "acme",
            pb::Webhook {
                response_code: 202,
                ..webhook("w")
            },
        )
        .await;
    assert_success(&http::post(&hook.url, &[], "x").await, 202);
    for path in [
        "/webhooks/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "/webhooks/short",
        "/",
        "/other",
    ] {
        let reply = http::get(&format!("http://{}{path}", stack.http_addr)).await;
        assert_eq!(reply.status.as_u16(), 404, "{path}");
        assert_eq!(reply.text(), r#"{"error":"not found"}"#);
        assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
    }
    assert_eq!(stack.reader().read(5, Duration::from_secs(2)).len(), 1);
}

#[tokio::test]
async fn disabled_webhooks_answer_success_and_publish_nothing() {
    let (stack, _db) = stack().await;
    let hook = stack
        .create(
            "acme",
            pb::Webhook {
                disabled: true,
                response_code: 201,
                ..webhook("off")
            },
        )
        .await;
    assert_success(
        &http::post(&hook.url, &[("content-type", "application/json")], "{}").await,
        200,
    );
    stack.reader().assert_none(QUIET);
}

#[tokio::test]
async fn facebook_handshake_and_events() {
    let (stack, _db) = stack().await;
    let hook = stack
        .create(
            "acme",
            pb::Webhook {
                verification_type: VerificationType::Facebook as i32,
                verification_code: "verify-me".into(),
                ..webhook("fb")
            },
        )
        .await;
    let ok = http::get(&format!(
        "{}?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=1158201444",
        hook.url
    ))
    .await;
    assert_eq!(ok.status.as_u16(), 200);
    assert_eq!(ok.text(), "1158201444");
    assert!(ok.header("content-type").unwrap().starts_with("text/plain"));
    assert_eq!(ok.header("x-content-type-options"), Some("nosniff"));
    let bad = http::get(&format!(
        "{}?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1",
        hook.url
    ))
    .await;
    assert_eq!(bad.status.as_u16(), 403);
    stack.reader().assert_none(QUIET);
    assert_success(
        &http::post(
            &hook.url,
            &[("content-type", "application/json")],
            r#"{"object":"page"}"#,
        )
        .await,
        200,
    );
    assert_eq!(stack.reader().one().value["data"]["body"]["object"], "page");
}

#[tokio::test]
async fn fitbit_handshake_and_events() {
    let (stack, _db) = stack().await;
    let hook = stack
        .create(
            "acme",
            pb::Webhook {
                verification_type: VerificationType::Fitbit as i32,
                verification_code: "fitcode".into(),
                response_code: 200,
                ..webhook("fitbit")
            },
        )
        .await;
    assert_eq!(
        http::get(&format!("{}?verify=fitcode", hook.url))
            .await
            .status
            .as_u16(),
        204
    );
    assert_eq!(
        http::get(&format!("{}?verify=nope", hook.url))
            .await
            .status
            .as_u16(),
        404
    );
    stack.reader().assert_none(QUIET);
    let event = http::post(
        &hook.url,
        &[("content-type", "application/json")],
        r#"[{"collectionType":"sleep"}]"#,
    )
    .await;
    assert_eq!(event.status.as_u16(), 204);
    assert!(event.body.is_empty());
    assert_eq!(
        stack.reader().one().value["data"]["body"][0]["collectionType"],
        "sleep"
    );
}

#[tokio::test]
async fn twilio_gets_empty_twiml_after_a_valid_signature() {
    let (stack, _db) = stack().await;
    let hook = stack
        .create(
            "acme",
            pb::Webhook {
                verification_type: VerificationType::Twilio as i32,
                signing_secret: "twilio-auth-token".into(),
                ..webhook("sms")
            },
        )
        .await;
    let body = "From=%2B15005550006&Body=hello";
    let signed = format!("{}{}{}{}", hook.url, "Body", "hello", "From+15005550006");
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(b"twilio-auth-token").unwrap();
    mac.update(signed.as_bytes());
    let signature = B64.encode(mac.finalize().into_bytes());
    let form = [("content-type", "application/x-www-form-urlencoded")];
    let reply = http::post(
        &hook.url,
        &[form[0], ("x-twilio-signature", &signature)],
        body,
    )
    .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text());
    assert_eq!(reply.header("content-type"), Some("text/xml"));
    assert_eq!(
        reply.text(),
        r#"<?xml version="1.0" encoding="UTF-8"?><Response></Response>"#
    );
    let record = stack.reader().one();
    assert_eq!(
        record.value["data"]["body"],
        json!({"From": "+15005550006", "Body": "hello"})
    );
    assert_eq!(record.value["data"]["verified"], "twilio");
    let forged = http::post(
        &hook.url,
        &[form[0], ("x-twilio-signature", "Zm9yZ2Vk")],
        body,
    )
    .await;
    assert_eq!(forged.status.as_u16(), 401);
    let records = stack.reader().read(2, QUIET);
    assert_eq!(
        records.len(),
        1,
        "a forged request was published: {records:?}"
    );
}

/// `X-Hub-Signature-256` of `body`.
fn github_signature(secret: &str, body: &str) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[tokio::test]
async fn github_signatures_are_checked() {
    let (stack, _db) = stack().await;
    let hook = stack
        .create(
            "acme",
            pb::Webhook {
                verification_type: VerificationType::Github as i32,
                signing_secret: "gh-secret".into(),
                ..webhook("gh")
            },
        )
        .await;
    let body = r#"{"action":"opened"}"#;
    let good = github_signature("gh-secret", body);
    let json_type = ("content-type", "application/json");
    let forged = http::post(
        &hook.url,
        &[json_type, ("x-hub-signature-256", "sha256=00")],
        body,
    )
    .await;
    assert_eq!(forged.status.as_u16(), 401);
    let missing = http::post(&hook.url, &[json_type], body).await;
    assert_eq!(missing.status.as_u16(), 401);
    stack.reader().assert_none(QUIET);
    assert_success(
        &http::post(
            &hook.url,
            &[json_type, ("x-hub-signature-256", &good)],
            body,
        )
        .await,
        200,
    );
    let record = stack.reader().one();
    assert_eq!(record.value["data"]["verified"], "github");
}

#[tokio::test]
async fn basic_auth_is_required_when_configured() {
    let (stack, _db) = stack().await;
    let hook = stack
        .create(
            "acme",
            pb::Webhook {
                basic_auth_username: "user".into(),
                basic_auth_password: "pass".into(),
                ..webhook("locked")
            },
        )
        .await;
    let denied = http::post(&hook.url, &[], "x").await;
    assert_eq!(denied.status.as_u16(), 401);
    assert!(denied
        .header("www-authenticate")
        .unwrap()
        .starts_with("Basic"));
    let wrong = format!("Basic {}", B64.encode("user:nope"));
    assert_eq!(
        http::post(&hook.url, &[("authorization", &wrong)], "x")
            .await
            .status
            .as_u16(),
        401
    );
    stack.reader().assert_none(QUIET);
    let right = format!("Basic {}", B64.encode("user:pass"));
    assert_success(
        &http::post(&hook.url, &[("authorization", &right)], "x").await,
        200,
    );
    let record = stack.reader().one();
    assert!(record.value["data"]["headers"]
        .get("authorization")
        .is_none());
}

async fn body_of(
    stack: &Stack,
    hook: &pb::Webhook,
    content_type: &str,
    body: &'static [u8],
) -> Value {
    let reply = http::post(&hook.url, &[("content-type", content_type)], body).await;
    assert_success(&reply, 200);
    let record: Record = stack
        .reader()
        .read(usize::MAX, Duration::from_millis(1500))
        .pop()
        .unwrap();
    record.value["data"].clone()
}

#[tokio::test]
async fn bodies_are_parsed_by_content_type_and_never_dropped() {
    let (stack, _db) = stack().await;
    let hook = stack.create("acme", webhook("bodies")).await;
    let form = body_of(
        &stack,
        &hook,
        "application/x-www-form-urlencoded",
        b"a=1&a=2&b=x+y",
    )
    .await;
    assert_eq!(form["body"], json!({"a": ["1", "2"], "b": "x y"}));
    let multipart = b"--b0\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nv\r\n--b0\r\nContent-Disposition: form-data; name=\"up\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b0--\r\n";
    let multipart = body_of(&stack, &hook, "multipart/form-data; boundary=b0", multipart).await;
    assert_eq!(
        multipart["body"],
        json!({"f": "v", "up": {"filename": "a.txt", "contentType": "text/plain", "base64": "aGk="}})
    );
    let text = body_of(&stack, &hook, "text/plain", b"plain words").await;
    assert_eq!(text["body"], "plain words");
    let binary = body_of(
        &stack,
        &hook,
        "application/octet-stream",
        &[0, 159, 146, 150],
    )
    .await;
    assert_eq!(binary["body"], "AJ+Slg==");
    assert_eq!(binary["bodyEncoding"], "base64");
    let broken = body_of(&stack, &hook, "application/json", b"{\"unterminated\": ").await;
    assert_eq!(broken["body"], "{\"unterminated\": ");
}

#[tokio::test]
async fn bodies_over_the_limit_get_413_and_publish_nothing() {
    let (stack, _db) = stack_with(StackOptions {
        max_body_bytes: 1024,
        ..Default::default()
    })
    .await;
    let hook = stack.create("acme", webhook("small")).await;
    let declared = http::post(&hook.url, &[], vec![b'x'; 2000]).await;
    assert_eq!(declared.status.as_u16(), 413);
    assert_eq!(declared.header("x-content-type-options"), Some("nosniff"));
    // Chunked: no Content-Length, so the limit applies while reading.
    let mut tcp = tokio::net::TcpStream::connect(stack.http_addr)
        .await
        .unwrap();
    let path = hook
        .url
        .split_once(&stack.http_addr.to_string())
        .unwrap()
        .1
        .to_owned();
    let head = format!("POST {path} HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n");
    tcp.write_all(head.as_bytes()).await.unwrap();
    for _ in 0..3 {
        let chunk = format!("200\r\n{}\r\n", "y".repeat(512));
        if tcp.write_all(chunk.as_bytes()).await.is_err() {
            break;
        }
    }
    let _ = tcp.write_all(b"0\r\n\r\n").await;
    let mut answer = vec![0u8; 1024];
    let n = tcp.read(&mut answer).await.unwrap();
    assert!(
        String::from_utf8_lossy(&answer[..n]).starts_with("HTTP/1.1 413"),
        "{}",
        String::from_utf8_lossy(&answer[..n])
    );
    assert_success(&http::post(&hook.url, &[], vec![b'x'; 1024]).await, 200);
    assert_eq!(
        stack.reader().read(5, Duration::from_secs(2)).len(),
        1,
        "only the request within the limit is published"
    );
}

fn three_a_minute() -> StackOptions {
    StackOptions {
        rate_limit: hookgate_gateway::RateLimit {
            requests: NonZeroU32::new(3).unwrap(),
            window: Duration::from_secs(60),
        },
        ..Default::default()
    }
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let (stack, _db) = stack_with(three_a_minute()).await;
    let hook = stack.create("acme", webhook("limited")).await;
    let other = stack.create("acme", webhook("other")).await;
    for _ in 0..3 {
        assert_success(&http::post(&hook.url, &[], "x").await, 200);
    }
    let limited = http::post(&hook.url, &[], "x").await;
    assert_eq!(limited.status.as_u16(), 429);
    let retry: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    // At most the window plus one of its sixteen buckets.
    assert!((1..=64).contains(&retry), "{retry}");
    assert_success(&http::post(&other.url, &[], "x").await, 200);
    assert_eq!(stack.reader().read(10, Duration::from_secs(2)).len(), 4);
}

/// Strangers who learned a URL spend a budget of their own: the sender is never pushed
/// into 429s by them.
#[tokio::test]
async fn failed_credentials_and_signatures_do_not_spend_the_senders_budget() {
    let (stack, _db) = stack_with(three_a_minute()).await;
    let hook = stack
        .create(
            "acme",
            pb::Webhook {
                verification_type: VerificationType::Github as i32,
                signing_secret: "gh-secret".into(),
                basic_auth_username: "user".into(),
                basic_auth_password: "pass".into(),
                ..webhook("guarded")
            },
        )
        .await;
    let body = r#"{"action":"opened"}"#;
    let good = github_signature("gh-secret", body);
    let right = format!("Basic {}", B64.encode("user:pass"));
    let wrong = format!("Basic {}", B64.encode("user:nope"));
    let send = |authorization: &str, signature: &str| {
        let (authorization, signature) = (authorization.to_owned(), signature.to_owned());
        let url = hook.url.clone();
        async move {
            http::post(
                &url,
                &[
                    ("authorization", authorization.as_str()),
                    ("x-hub-signature-256", signature.as_str()),
                    ("content-type", "application/json"),
                ],
                body,
            )
            .await
        }
    };
    // Strangers: wrong password, then a forged signature, until their budget is spent.
    let strangers = [
        send(&wrong, &good).await,
        send(&right, "sha256=00").await,
        send(&wrong, "sha256=00").await,
        send(&right, "sha256=00").await,
    ];
    let statuses: Vec<u16> = strangers.iter().map(|r| r.status.as_u16()).collect();
    assert_eq!(statuses, [401, 401, 401, 429]);
    assert!(strangers[3].header("retry-after").is_some());
    // The sender still has all of its budget.
    for _ in 0..3 {
        assert_success(&send(&right, &good).await, 200);
    }
    assert_eq!(send(&right, &good).await.status.as_u16(), 429);
    assert_eq!(stack.reader().read(10, Duration::from_secs(2)).len(), 3);
    // Either budget's 429 is a rate_limit refusal.
    let metrics = stack.metrics_text();
    for (reason, count) in [("basic_auth", 2), ("signature", 1), ("rate_limit", 2)] {
        let line = format!("hookgate_ingress_rejected_total{{reason=\"{reason}\"}} {count}");
        assert!(
            metrics.lines().any(|l| l == line),
            "no {line} in\n{metrics}"
        );
    }
}

async fn raw_exchange(stack: &Stack, request: &[u8], wait: Duration) -> String {
    let mut tcp = tokio::net::TcpStream::connect(stack.http_addr)
        .await
        .unwrap();
    let _ = tcp.write_all(request).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(wait, tcp.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn oversized_headers_get_431() {
    let (stack, _db) = stack().await;
    let hook = stack.create("acme", webhook("h")).await;
    let path = hook
        .url
        .split_once(&stack.http_addr.to_string())
        .unwrap()
        .1
        .to_owned();
    for size in [20_000, 40_000, 500_000] {
        let request = format!(
            "GET {path} HTTP/1.1\r\nhost: x\r\nx-big: {}\r\n\r\n",
            "a".repeat(size)
        );
        let answer = raw_exchange(&stack, request.as_bytes(), Duration::from_secs(5)).await;
        assert!(answer.starts_with("HTTP/1.1 431"), "{size}: {answer:?}");
        if size < 4 * 16_384 {
            assert!(
                answer
                    .to_ascii_lowercase()
                    .contains("x-content-type-options: nosniff"),
                "{size}: {answer:?}"
            );
        }
    }
    stack.reader().assert_none(QUIET);
}

#[tokio::test]
async fn slow_clients_are_cut_off() {
    let options = StackOptions {
        header_read_timeout: Duration::from_millis(300),
        body_read_timeout: Duration::from_millis(300),
        ..Default::default()
    };
    let (stack, _db) = stack_with(options).await;
    let hook = stack.create("acme", webhook("slow")).await;
    let path = hook
        .url
        .split_once(&stack.http_addr.to_string())
        .unwrap()
        .1
        .to_owned();
    // Headers never finished: the connection is closed.
    let started = std::time::Instant::now();
    let partial = format!("POST {path} HTTP/1.1\r\nhost: x\r\n");
    let answer = raw_exchange(&stack, partial.as_bytes(), Duration::from_secs(5)).await;
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "header timeout did not close the connection"
    );
    assert!(!answer.contains("200 OK"), "{answer}");
    // An idle keep-alive connection is closed too.
    let mut idle = tokio::net::TcpStream::connect(stack.http_addr)
        .await
        .unwrap();
    idle.write_all(b"GET /nothing HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut first = vec![0u8; 512];
    let n = idle.read(&mut first).await.unwrap();
    assert!(String::from_utf8_lossy(&first[..n]).starts_with("HTTP/1.1 404"));
    let closed = tokio::time::timeout(Duration::from_secs(3), idle.read(&mut first)).await;
    assert!(
        matches!(closed, Ok(Ok(0))),
        "idle connection left open: {closed:?}"
    );
    // Body never finished: 408.
    let short_body =
        format!("POST {path} HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\nonly-part");
    let answer = raw_exchange(&stack, short_body.as_bytes(), Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    stack.reader().assert_none(QUIET);
}

#[tokio::test]
async fn test_webhook_publishes_a_test_record() {
    let (stack, _db) = stack().await;
    let hook = stack
        .create(
            "acme",
            pb::Webhook {
                response_code: 201,
                ..webhook("t")
            },
        )
        .await;
    let mut client = stack.client().await;
    let reply = client
        .test_webhook(pb::TestWebhookRequest {
            name: hook.name.clone(),
            method: "put".into(),
            path: "/x/y?k=v".into(),
            body: r#"{"hello":"world"}"#.into(),
            headers: [("x-test".to_owned(), "1".to_owned())].into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reply.status_code, 201);
    assert_eq!(reply.body, r#"{"success":true}"#);
    assert_eq!(reply.headers["content-type"], "application/json");
    assert_eq!(reply.topic, stack.options.topic);
    let reader = stack.reader();
    let record = reader.one();
    assert_eq!(record.value["id"], reply.event_id.as_str());
    assert_eq!(
        (record.partition, record.offset),
        (reply.partition, reply.offset)
    );
    assert_eq!(record.value["test"], true);
    let data = &record.value["data"];
    assert_eq!(data["method"], "put");
    assert_eq!(data["path"], "/x/y");
    assert_eq!(data["query"], json!({"k": "v"}));
    assert_eq!(data["body"], json!({"hello": "world"}));
    assert_eq!(data["headers"]["x-test"], "1");

    let bad = client
        .test_webhook(pb::TestWebhookRequest {
            name: hook.name.clone(),
            method: "NOT A METHOD".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), tonic::Code::InvalidArgument);

    let oversized = client
        .test_webhook(pb::TestWebhookRequest {
            name: hook.name.clone(),
            body: "x".repeat(stack.options.max_body_bytes + 1),
            headers: [("content-type".to_owned(), "text/plain".to_owned())].into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(oversized.status_code, 413, "{}", oversized.body);
    assert!(oversized.event_id.is_empty());
    reader.assert_none(QUIET);
}

#[tokio::test]
async fn json_bodies_reach_kafka_exactly_as_sent() {
    let (stack, _db) = stack().await;
    let hook = stack.create("acme", webhook("fidelity")).await;
    let body = r#"{"zeta":1,"alpha":12345678901234567890123456789,"price":1.10,"nested":{"b":[],"a":null}}"#;
    let reply = http::post(&hook.url, &[("content-type", "application/json")], body).await;
    assert_success(&reply, 200);
    let record = stack.reader().one();
    let raw = String::from_utf8(record.raw_value).unwrap();
    assert!(
        raw.contains(&format!(r#""body":{body}"#)),
        "key order and number precision must survive: {raw}"
    );
}

/// Other processes see writes within the sync interval (`processes.rs`); this one at once.
#[tokio::test]
async fn writes_reach_a_gateway_in_the_same_process_at_once() {
    let (stack, _db) = stack().await;
    let hook = stack.create("acme", webhook("rotating")).await;
    assert_success(&http::post(&hook.url, &[], "x").await, 200);
    let mut client = stack.client().await;
    let rotated = client
        .rotate_webhook_url(pb::RotateWebhookUrlRequest {
            name: hook.name.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(http::post(&hook.url, &[], "x").await.status.as_u16(), 404);
    assert_success(&http::post(&rotated.url, &[], "x").await, 200);
    client
        .update_webhook(pb::UpdateWebhookRequest {
            webhook: Some(pb::Webhook {
                name: hook.name.clone(),
                response_code: 299,
                ..Default::default()
            }),
            update_mask: None,
        })
        .await
        .unwrap();
    assert_success(&http::post(&rotated.url, &[], "x").await, 299);
    client
        .delete_webhook(pb::DeleteWebhookRequest {
            name: hook.name.clone(),
            etag: String::new(),
        })
        .await
        .unwrap();
    assert_eq!(
        http::post(&rotated.url, &[], "x").await.status.as_u16(),
        404
    );
    assert_eq!(stack.reader().read(10, Duration::from_secs(2)).len(), 3);
}
