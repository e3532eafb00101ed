//! The `hookgate` binary as operators run it: separate processes, environment
//! configuration, signals and exit codes.

use hookgate_proto::v1::{self as pb, webhook_service_client::WebhookServiceClient};
use hookgate_tests::{http, kafka, TestDb};
use std::{
    net::{SocketAddr, TcpListener},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// A port for a child process to listen on. Asking the kernel for port 0 and handing the
/// number on races: with the tests running in parallel, the kernel hands the same port to
/// another test (or to an outgoing connection) before the child binds it. So ports come
/// from a counter in a range below Linux's ephemeral ports, from a random start, each
/// checked free.
fn free_addr() -> SocketAddr {
    use std::sync::atomic::{AtomicU32, Ordering};
    const FIRST: u32 = 20_000;
    const SPAN: u32 = 12_000;
    static TAKEN: AtomicU32 = AtomicU32::new(0);
    let start = std::process::id() % SPAN;
    loop {
        let offset = (start + TAKEN.fetch_add(1, Ordering::SeqCst)) % SPAN;
        let port = u16::try_from(FIRST + offset).expect("port in range");
        if let Ok(listener) = TcpListener::bind(("127.0.0.1", port)) {
            return listener.local_addr().expect("addr");
        }
    }
}

/// A `hookgate` child process, killed when dropped.
struct Process(Child);

impl Process {
    fn signal(&self, signal: &str) {
        let pid = self.0.id().to_string();
        let killed = Command::new("kill")
            .args([signal, &pid])
            .status()
            .expect("kill");
        assert!(killed.success());
    }

    fn terminate(&self) {
        self.signal("-TERM");
    }

    /// The exit code, waiting at most `limit`; `None` when ended by a signal.
    async fn exit_code_within(&mut self, limit: Duration) -> Option<i32> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.0.try_wait().expect("wait") {
                return status.code();
            }
            assert!(
                Instant::now() < deadline,
                "hookgate did not exit in {limit:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn hookgate(args: &[&str], env: &[(&str, String)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hookgate"));
    command.args(args).env("HOOKGATE_LOG", "warn");
    for (key, value) in env {
        command.env(key, value);
    }
    command
}

fn spawn(args: &[&str], env: &[(&str, String)]) -> Process {
    Process(
        hookgate(args, env)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn hookgate"),
    )
}

async fn wait_ready(admin: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(Ok(reply)) = tokio::time::timeout(
            Duration::from_secs(2),
            tokio::spawn(async move {
                http::get(&format!("http://{admin}/readyz"))
                    .await
                    .status
                    .as_u16()
            }),
        )
        .await
        {
            if reply == 200 {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{admin} never became ready");
}

/// Polls `url` until it answers `status`; returns how long that took.
async fn time_until_status(url: &str, status: u16, since: Instant) -> Duration {
    loop {
        if http::post(url, &[], "x").await.status.as_u16() == status {
            return since.elapsed();
        }
        assert!(
            since.elapsed() < Duration::from_secs(10),
            "{url} never answered {status}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn changes_through_an_api_process_reach_a_gateway_process_within_two_seconds() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let (grpc, http_addr, api_admin, gateway_admin) =
        (free_addr(), free_addr(), free_addr(), free_addr());
    let topic = kafka::unique_topic("procs");
    let common = vec![
        ("HOOKGATE_DATABASE_URL", db.url.clone()),
        ("HOOKGATE_KAFKA_BROKERS", kafka::brokers()),
        ("HOOKGATE_TRIGGER_TOPIC", topic.clone()),
        ("HOOKGATE_REPLY_TOPIC", format!("{topic}-replies")),
        ("HOOKGATE_TOPIC_PARTITIONS", "1".into()),
        ("HOOKGATE_PUBLIC_URL", format!("http://{http_addr}")),
        ("HOOKGATE_GRPC_ADDR", grpc.to_string()),
        ("HOOKGATE_HTTP_ADDR", http_addr.to_string()),
    ];
    let status = hookgate(&["migrate"], &common).status().expect("migrate");
    assert!(status.success(), "hookgate migrate failed");
    let with_admin = |admin: SocketAddr| {
        let mut env = common.clone();
        env.push(("HOOKGATE_ADMIN_ADDR", admin.to_string()));
        env
    };
    let _api = spawn(&["api"], &with_admin(api_admin));
    let _gateway = spawn(&["gateway"], &with_admin(gateway_admin));
    wait_ready(api_admin).await;
    wait_ready(gateway_admin).await;

    let mut client = WebhookServiceClient::connect(format!("http://{grpc}"))
        .await
        .expect("connect api");
    let created = create_webhook(&mut client, "cross-process").await;
    let took = time_until_status(&created.url, 200, Instant::now()).await;
    assert!(
        took <= Duration::from_secs(2),
        "create took {took:?} to reach the gateway"
    );
    let record = kafka::Reader::new(&kafka::brokers(), &topic).one();
    assert_eq!(record.headers["ce_source"], format!("/{}", created.name));
    let tailed = tail_one(&topic, &common);
    assert_eq!(tailed["headers"]["ce_source"], format!("/{}", created.name));
    assert_eq!(tailed["value"]["webhookId"], record.value["webhookId"]);

    let changed_at = Instant::now();
    client
        .update_webhook(pb::UpdateWebhookRequest {
            webhook: Some(pb::Webhook {
                name: created.name.clone(),
                response_code: 299,
                ..Default::default()
            }),
            update_mask: None,
        })
        .await
        .expect("update");
    let took = time_until_status(&created.url, 299, changed_at).await;
    assert!(took <= Duration::from_secs(2), "update took {took:?}");

    let rotated_at = Instant::now();
    let rotated = client
        .rotate_webhook_url(pb::RotateWebhookUrlRequest {
            name: created.name.clone(),
        })
        .await
        .expect("rotate")
        .into_inner();
    let took = time_until_status(&created.url, 404, rotated_at).await;
    assert!(took <= Duration::from_secs(2), "rotation took {took:?}");
    assert_eq!(
        http::post(&rotated.url, &[], "x").await.status.as_u16(),
        299
    );

    let deleted_at = Instant::now();
    client
        .delete_webhook(pb::DeleteWebhookRequest {
            name: created.name.clone(),
            etag: String::new(),
        })
        .await
        .expect("delete");
    let took = time_until_status(&rotated.url, 404, deleted_at).await;
    assert!(took <= Duration::from_secs(2), "deletion took {took:?}");
}

async fn create(
    client: &mut WebhookServiceClient<tonic::transport::Channel>,
    webhook: pb::Webhook,
) -> pb::Webhook {
    client
        .create_webhook(pb::CreateWebhookRequest {
            parent: "applications/acme".into(),
            webhook: Some(webhook),
        })
        .await
        .expect("create")
        .into_inner()
}

async fn create_webhook(
    client: &mut WebhookServiceClient<tonic::transport::Channel>,
    display_name: &str,
) -> pb::Webhook {
    let webhook = pb::Webhook {
        display_name: display_name.into(),
        ..Default::default()
    };
    create(client, webhook).await
}

/// A `wait_for_reply` webhook whose requests wait up to `reply_seconds`.
async fn create_waiting_webhook(
    client: &mut WebhookServiceClient<tonic::transport::Channel>,
    display_name: &str,
    reply_seconds: i64,
) -> pb::Webhook {
    let webhook = pb::Webhook {
        display_name: display_name.into(),
        wait_for_reply: true,
        reply_timeout: Some(prost_types::Duration {
            seconds: reply_seconds,
            nanos: 0,
        }),
        ..Default::default()
    };
    create(client, webhook).await
}

/// The first line `hookgate tail --from-beginning` prints for `topic`.
fn tail_one(topic: &str, env: &[(&str, String)]) -> serde_json::Value {
    first_line(&mut tail(topic, env))
}

fn tail(topic: &str, env: &[(&str, String)]) -> Process {
    Process(
        hookgate(&["tail", "--from-beginning", "--topic", topic], env)
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn tail"),
    )
}

/// The next JSON line `child` prints.
fn first_line(child: &mut Process) -> serde_json::Value {
    use std::io::BufRead;
    let stdout = child.0.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("hookgate tail printed nothing");
    serde_json::from_str(&line).expect("tail prints JSON lines")
}

/// Fresh loopback addresses for one process.
struct Ports {
    grpc: SocketAddr,
    http_addr: SocketAddr,
    admin: SocketAddr,
}

/// The environment of a `serve` process on SQLite `db`, publishing to `topic`.
fn serve_env(db: &TestDb, topic: &str) -> (Vec<(&'static str, String)>, Ports) {
    let ports = Ports {
        grpc: free_addr(),
        http_addr: free_addr(),
        admin: free_addr(),
    };
    let env = vec![
        ("HOOKGATE_DATABASE_URL", db.url.clone()),
        ("HOOKGATE_KAFKA_BROKERS", kafka::brokers()),
        ("HOOKGATE_TRIGGER_TOPIC", topic.to_owned()),
        ("HOOKGATE_REPLY_TOPIC", format!("{topic}-replies")),
        ("HOOKGATE_TOPIC_PARTITIONS", "1".into()),
        ("HOOKGATE_GRPC_ADDR", ports.grpc.to_string()),
        ("HOOKGATE_HTTP_ADDR", ports.http_addr.to_string()),
        ("HOOKGATE_ADMIN_ADDR", ports.admin.to_string()),
        ("HOOKGATE_PUBLIC_URL", format!("http://{}", ports.http_addr)),
    ];
    (env, ports)
}

#[tokio::test]
async fn sigterm_drains_and_exits_zero() {
    let db = TestDb::sqlite();
    let topic = kafka::unique_topic("sigterm");
    let (
        mut env,
        Ports {
            grpc,
            http_addr,
            admin,
        },
    ) = serve_env(&db, &topic);
    // Spans are exported to a collector that is not there: requests must not care.
    env.push((
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        format!("http://{}", free_addr()),
    ));
    let mut process = spawn(&["serve"], &env);
    wait_ready(admin).await;

    // With span export on, the record carries hookgate's own span in the caller's trace.
    let mut client = WebhookServiceClient::connect(format!("http://{grpc}"))
        .await
        .expect("connect api");
    let created = create_webhook(&mut client, "traced").await;
    let caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let reply = http::post(&created.url, &[("traceparent", caller)], "x").await;
    assert_eq!(reply.status.as_u16(), 200);
    let record = kafka::Reader::new(&kafka::brokers(), &topic).one();
    let traceparent = &record.headers["traceparent"];
    assert!(
        traceparent.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
        "{traceparent}"
    );
    assert_ne!(
        traceparent, caller,
        "the record's parent must be hookgate's span"
    );

    assert_eq!(
        http::get(&format!("http://{admin}/healthz"))
            .await
            .status
            .as_u16(),
        200
    );
    let metrics = http::get(&format!("http://{admin}/metrics")).await;
    assert_eq!(
        metrics.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8"),
        "Prometheus text format unless OpenMetrics is asked for"
    );
    assert!(
        metrics
            .text()
            .lines()
            .any(|line| line.starts_with("hookgate_") && line.contains("status=\"200\"")),
        "{}",
        metrics.text()
    );
    // A request still waiting for its workflow reply when SIGTERM arrives is answered.
    let waiting = create_waiting_webhook(&mut client, "in flight", 20).await;
    let url = waiting.url.clone();
    let in_flight = tokio::spawn(async move { http::post(&url, &[], "late").await });
    let reader = kafka::Reader::new(&kafka::brokers(), &topic);
    let reply_id = tokio::task::spawn_blocking(move || reader.read(2, Duration::from_secs(10)))
        .await
        .unwrap()
        .into_iter()
        .find_map(|r| r.value["data"]["replyId"].as_str().map(str::to_owned))
        .expect("the waiting request was published");

    process.terminate();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        std::net::TcpStream::connect(http_addr).is_err(),
        "the ingress must stop accepting"
    );
    let reply = serde_json::json!({"replyId": reply_id, "statusCode": 202, "body": "finished"});
    kafka::produce_json(&format!("{topic}-replies"), &reply).await;
    let answer = tokio::time::timeout(Duration::from_secs(15), in_flight)
        .await
        .expect("the in-flight request was answered")
        .unwrap();
    assert_eq!(
        (answer.status.as_u16(), answer.text().as_str()),
        (202, "finished")
    );
    assert_eq!(
        process.exit_code_within(Duration::from_secs(20)).await,
        Some(0)
    );
    assert!(
        std::net::TcpStream::connect(http_addr).is_err(),
        "the ingress must stop listening"
    );
}

#[tokio::test]
async fn sigterm_during_start_up_exits_zero() {
    let db = TestDb::sqlite();
    // Nothing listens on the broker address: start-up waits on topic creation.
    let env = vec![
        ("HOOKGATE_DATABASE_URL", db.url.clone()),
        ("HOOKGATE_KAFKA_BROKERS", free_addr().to_string()),
        ("HOOKGATE_HTTP_ADDR", free_addr().to_string()),
        ("HOOKGATE_ADMIN_ADDR", free_addr().to_string()),
    ];
    let mut process = spawn(&["gateway"], &env);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        process.0.try_wait().expect("wait").is_none(),
        "still starting"
    );
    process.terminate();
    assert_eq!(
        process.exit_code_within(Duration::from_secs(5)).await,
        Some(0)
    );
}

#[test]
fn bad_configuration_stops_start_up_with_one_line_naming_the_setting() {
    let cases = [
        ("HOOKGATE_HTTP_ADDR", "not-an-address"),
        ("HOOKGATE_MAX_BODY_BYTES", "lots"),
        ("HOOKGATE_TRIGGER_TOPIC", "bad topic"),
        ("HOOKGATE_REQUEST_TIMEOUT", "soon"),
        ("HOOKGATE_PUBLIC_URL", "ftp://example.com"),
    ];
    for (setting, value) in cases {
        let output = hookgate(&["serve"], &[(setting, value.into())])
            .output()
            .expect("run hookgate");
        assert!(!output.status.success(), "{setting}={value} was accepted");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.trim_end().lines().count(), 1, "{setting}: {stderr}");
        assert!(stderr.contains(setting), "{setting}: {stderr}");
    }
    let open_api = hookgate(&["api"], &[("HOOKGATE_GRPC_ADDR", "0.0.0.0:0".into())])
        .output()
        .expect("run hookgate");
    assert!(
        !open_api.status.success(),
        "an open API must not listen on a public address"
    );
    assert!(String::from_utf8_lossy(&open_api.stderr).contains("HOOKGATE_API_TOKENS"));
}

#[tokio::test]
async fn tail_ends_cleanly_on_sigterm_and_sigint() {
    let topic = kafka::unique_topic("tail");
    kafka::create_topic(&topic).await;
    kafka::produce_json(&topic, &serde_json::json!({"n": 1})).await;
    let env = [("HOOKGATE_KAFKA_BROKERS", kafka::brokers())];
    for signal in ["-TERM", "-INT"] {
        let mut process = tail(&topic, &env);
        let record = first_line(&mut process);
        assert_eq!(record["value"]["n"], 1, "tail is reading");
        process.signal(signal);
        assert_eq!(
            process.exit_code_within(Duration::from_secs(5)).await,
            Some(0),
            "hookgate tail on {signal}"
        );
    }
}

#[tokio::test]
async fn sigterm_cuts_grpc_calls_still_running_after_the_drain_timeout() {
    let db = TestDb::sqlite();
    let topic = kafka::unique_topic("drain");
    let (mut env, Ports { grpc, admin, .. }) = serve_env(&db, &topic);
    env.push(("HOOKGATE_SHUTDOWN_TIMEOUT", "1s".into()));
    let mut process = spawn(&["serve"], &env);
    wait_ready(admin).await;
    let mut client = WebhookServiceClient::connect(format!("http://{grpc}"))
        .await
        .expect("connect api");
    let waiting = create_waiting_webhook(&mut client, "never answered", 120).await;
    // A TestWebhook call that waits for a workflow reply nobody sends.
    let mut caller = client.clone();
    let call = tokio::spawn(async move {
        caller
            .test_webhook(pb::TestWebhookRequest {
                name: waiting.name,
                body: "{}".into(),
                ..Default::default()
            })
            .await
    });
    let reader = kafka::Reader::new(&kafka::brokers(), &topic);
    let published = tokio::task::spawn_blocking(move || reader.read(1, Duration::from_secs(10)))
        .await
        .unwrap();
    assert_eq!(published.len(), 1, "the call is waiting for its reply");

    process.terminate();
    assert_eq!(
        process.exit_code_within(Duration::from_secs(20)).await,
        Some(0),
        "the drain, not the call's 120 s reply_timeout, bounds shutdown"
    );
    let cut = tokio::time::timeout(Duration::from_secs(5), call)
        .await
        .expect("the call ended with the process")
        .unwrap();
    assert!(cut.is_err(), "the cut call is an error to its caller");
}

/// An `api` process and two `gateway` processes on one PostgreSQL database, as deployed.
struct Replicas {
    topic: String,
    brokers: String,
    /// Each gateway's base URL and admin address.
    gateways: [(String, SocketAddr); 2],
    client: WebhookServiceClient<tonic::transport::Channel>,
    _processes: Vec<Process>,
    _db: TestDb,
}

impl Replicas {
    async fn start(brokers: String, request_timeout: &str) -> Option<Self> {
        let db = TestDb::postgres().await?;
        let topic = kafka::unique_topic("dedup");
        let grpc = free_addr();
        let gateways = [free_addr(), free_addr()];
        let common = vec![
            ("HOOKGATE_DATABASE_URL", db.url.clone()),
            ("HOOKGATE_KAFKA_BROKERS", brokers.clone()),
            ("HOOKGATE_TRIGGER_TOPIC", topic.clone()),
            ("HOOKGATE_REPLY_TOPIC", format!("{topic}-replies")),
            ("HOOKGATE_TOPIC_PARTITIONS", "1".into()),
            ("HOOKGATE_REQUEST_TIMEOUT", request_timeout.into()),
            ("HOOKGATE_PUBLIC_URL", format!("http://{}", gateways[0])),
            ("HOOKGATE_GRPC_ADDR", grpc.to_string()),
        ];
        assert!(hookgate(&["migrate"], &common)
            .status()
            .expect("migrate")
            .success());
        let with = |extra: &[(&'static str, String)]| {
            let mut env = common.clone();
            env.extend_from_slice(extra);
            env
        };
        let api_admin = free_addr();
        let mut processes = vec![spawn(
            &["api"],
            &with(&[("HOOKGATE_ADMIN_ADDR", api_admin.to_string())]),
        )];
        let mut started = Vec::new();
        for http_addr in gateways {
            let admin = free_addr();
            processes.push(spawn(
                &["gateway"],
                &with(&[
                    ("HOOKGATE_HTTP_ADDR", http_addr.to_string()),
                    ("HOOKGATE_ADMIN_ADDR", admin.to_string()),
                ]),
            ));
            started.push((format!("http://{http_addr}"), admin));
        }
        wait_ready(api_admin).await;
        for (_, admin) in &started {
            wait_ready(*admin).await;
        }
        let client = WebhookServiceClient::connect(format!("http://{grpc}"))
            .await
            .expect("connect api");
        Some(Self {
            topic,
            brokers,
            gateways: [started[0].clone(), started[1].clone()],
            client,
            _processes: processes,
            _db: db,
        })
    }

    /// A GitHub webhook deduplicating on `X-GitHub-Delivery` (its default).
    async fn github_webhook(&mut self, window: Option<Duration>) -> pb::Webhook {
        let webhook = self
            .client
            .create_webhook(pb::CreateWebhookRequest {
                parent: "applications/acme".into(),
                webhook: Some(pb::Webhook {
                    display_name: "deduplicated".into(),
                    verification_type: pb::VerificationType::Github as i32,
                    signing_secret: DEDUP_SECRET.into(),
                    deduplication: Some(pb::Deduplication {
                        enabled: true,
                        key: String::new(),
                        window: window.map(|w| prost_types::Duration {
                            seconds: w.as_secs() as i64,
                            nanos: 0,
                        }),
                    }),
                    ..Default::default()
                }),
            })
            .await
            .expect("create")
            .into_inner();
        self.wait_known(&webhook).await;
        webhook
    }

    /// Waits until both gateways' snapshots hold `webhook` (an unsigned GET is refused
    /// with 401 once it is known, and publishes nothing).
    async fn wait_known(&self, webhook: &pb::Webhook) {
        for index in 0..self.gateways.len() {
            let deadline = Instant::now() + Duration::from_secs(5);
            while http::get(&self.url(webhook, index)).await.status.as_u16() == 404 {
                assert!(
                    Instant::now() < deadline,
                    "gateway {index} never learned the webhook"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }

    /// The webhook's URL on gateway `index`.
    fn url(&self, webhook: &pb::Webhook, index: usize) -> String {
        let path = webhook.url.split("/webhooks/").nth(1).expect("webhook url");
        format!("{}/webhooks/{path}", self.gateways[index].0)
    }

    async fn send(
        &self,
        webhook: &pb::Webhook,
        index: usize,
        delivery_id: &str,
    ) -> http::HttpReply {
        let headers = hookgate_tests::delivery::github(DEDUP_SECRET, delivery_id, DEDUP_BODY);
        let headers = hookgate_tests::delivery::pairs(&headers);
        http::post(&self.url(webhook, index), &headers, DEDUP_BODY).await
    }

    fn records(&self, wait: Duration) -> Vec<kafka::Record> {
        kafka::Reader::new(&self.brokers, &self.topic).read(100, wait)
    }

    /// The sum of a counter over both gateways.
    async fn counter(&self, name: &str) -> u64 {
        let mut total = 0;
        for (_, admin) in &self.gateways {
            let text = http::get(&format!("http://{admin}/metrics")).await.text();
            total += text
                .lines()
                .find_map(|line| line.strip_prefix(name)?.trim().parse::<f64>().ok())
                .unwrap_or(0.0) as u64;
        }
        total
    }
}

const DEDUP_SECRET: &str = "gh-secret";
const DEDUP_BODY: &str = r#"{"ref":"refs/heads/main","after":"6113728f"}"#;

fn is_duplicate(reply: &http::HttpReply) -> bool {
    reply.header("hookgate-duplicate") == Some("true")
}

#[tokio::test]
async fn twenty_copies_over_two_gateways_publish_one_record() {
    let Some(mut replicas) = Replicas::start(kafka::brokers(), "10s").await else {
        return;
    };
    let webhook = replicas.github_webhook(None).await;
    let replicas = std::sync::Arc::new(replicas);
    let copies: Vec<_> = (0..20)
        .map(|i| {
            let (replicas, webhook) = (replicas.clone(), webhook.clone());
            tokio::spawn(async move { replicas.send(&webhook, i % 2, "72d3162e-cc78").await })
        })
        .collect();
    let mut duplicates = 0;
    for copy in copies {
        let reply = copy.await.unwrap();
        assert_eq!(reply.status.as_u16(), 200, "{}", reply.text());
        assert_eq!(reply.text(), r#"{"success":true}"#);
        duplicates += usize::from(is_duplicate(&reply));
    }
    assert_eq!(duplicates, 19, "every copy but one is a duplicate");
    let records = replicas.records(Duration::from_secs(3));
    assert_eq!(records.len(), 1, "{records:?}");
    let webhook_id = webhook.name.rsplit('/').next().unwrap();
    assert_eq!(
        records[0].headers["ce_id"],
        hookgate_domain::dedup::event_id(webhook_id, "72d3162e-cc78")
    );
    assert_eq!(records[0].value["data"]["deliveryKey"], "72d3162e-cc78");
    assert_eq!(
        replicas.counter("hookgate_dedup_duplicates_total").await,
        19
    );
}

#[tokio::test]
async fn a_copy_after_the_window_publishes_again_with_the_same_id() {
    let Some(mut replicas) = Replicas::start(kafka::brokers(), "10s").await else {
        return;
    };
    let webhook = replicas.github_webhook(Some(Duration::from_secs(2))).await;
    let first_sent = Instant::now();
    let first = replicas.send(&webhook, 0, "d-window").await;
    assert!(
        first.status.is_success() && !is_duplicate(&first),
        "{}",
        first.text()
    );
    let within = replicas.send(&webhook, 1, "d-window").await;
    assert!(
        is_duplicate(&within),
        "a copy within the window is a duplicate"
    );
    tokio::time::sleep(Duration::from_secs(3).saturating_sub(first_sent.elapsed())).await;
    let after = replicas.send(&webhook, 1, "d-window").await;
    assert!(
        after.status.is_success() && !is_duplicate(&after),
        "{}",
        after.text()
    );
    let records = replicas.records(Duration::from_secs(3));
    assert_eq!(records.len(), 2, "{records:?}");
    assert_eq!(records[0].headers["ce_id"], records[1].headers["ce_id"]);
    assert_eq!(records[0].value["id"], records[1].value["id"]);
}

#[tokio::test]
async fn a_delivery_refused_while_the_broker_was_paused_is_published_once_on_retry() {
    let broker = hookgate_tests::tansu::Tansu::start();
    let Some(mut replicas) = Replicas::start(broker.brokers(), "2s").await else {
        return;
    };
    let webhook = replicas.github_webhook(None).await;
    let warm = replicas.send(&webhook, 0, "d-warm").await;
    assert_eq!(warm.status.as_u16(), 200, "{}", warm.text());

    broker.pause();
    let refused = replicas.send(&webhook, 0, "d-paused").await;
    assert_eq!(refused.status.as_u16(), 503, "{}", refused.text());
    assert!(refused.header("retry-after").is_some());
    broker.resume();

    // The provider retries, on either gateway, until it gets a 2xx.
    let resumed = Instant::now();
    let retried = loop {
        let reply = replicas.send(&webhook, 1, "d-paused").await;
        if reply.status.is_success() {
            break reply;
        }
        assert_eq!(reply.status.as_u16(), 503, "{}", reply.text());
        assert!(
            resumed.elapsed() < Duration::from_secs(30),
            "never published after the broker came back"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    // The paused broker held the refused request's record and wrote it on resuming; its
    // claim waited for that verdict, so the retry is answered as a duplicate of it.
    assert!(is_duplicate(&retried), "{}", retried.text());
    assert!(is_duplicate(&replicas.send(&webhook, 0, "d-paused").await));
    let records = replicas.records(Duration::from_secs(3));
    let paused: Vec<_> = records
        .iter()
        .filter(|r| r.value["data"]["deliveryKey"] == "d-paused")
        .collect();
    assert_eq!(paused.len(), 1, "{records:?}");
}

#[tokio::test]
async fn a_gateway_is_not_ready_until_the_schema_is_migrated() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let (http_addr, admin) = (free_addr(), free_addr());
    let topic = kafka::unique_topic("schema");
    let env = vec![
        ("HOOKGATE_DATABASE_URL", db.url.clone()),
        ("HOOKGATE_KAFKA_BROKERS", kafka::brokers()),
        ("HOOKGATE_TRIGGER_TOPIC", topic.clone()),
        ("HOOKGATE_REPLY_TOPIC", format!("{topic}-replies")),
        ("HOOKGATE_TOPIC_PARTITIONS", "1".into()),
        ("HOOKGATE_HTTP_ADDR", http_addr.to_string()),
        ("HOOKGATE_ADMIN_ADDR", admin.to_string()),
        ("HOOKGATE_DATABASE_POOL", "2".into()),
    ];
    let _gateway = spawn(&["gateway"], &env);
    // The database, topics and replies are ready; the schema is missing (and with it the
    // change log the snapshot loads from).
    let readyz = format!("http://{admin}/readyz");
    let deadline = Instant::now() + Duration::from_secs(30);
    let body = loop {
        let reply = tokio::spawn({
            let readyz = readyz.clone();
            async move {
                tokio::time::timeout(Duration::from_secs(2), http::get(&readyz))
                    .await
                    .ok()
            }
        })
        .await
        .ok()
        .flatten();
        if let Some(reply) = reply {
            let text = reply.text();
            if reply.status.as_u16() == 503
                && text.contains("[-]schema failed: ")
                && !text.contains("[-]kafka")
                && !text.contains("[-]database")
            {
                break text;
            }
            assert_ne!(reply.status.as_u16(), 200, "ready without a schema");
        }
        assert!(
            Instant::now() < deadline,
            "/readyz never named only the schema"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(body.ends_with("readyz check failed\n"), "{body}");

    let status = hookgate(&["migrate"], &env).status().expect("migrate");
    assert!(status.success(), "hookgate migrate failed");
    wait_ready(admin).await;
}

#[tokio::test]
async fn refusals_are_counted_and_tail_shows_their_records() {
    let db = TestDb::sqlite();
    let topic = kafka::unique_topic("refusals");
    let rejections = format!("{topic}-rejected");
    let (mut env, Ports { grpc, admin, .. }) = serve_env(&db, &topic);
    env.push(("HOOKGATE_REJECTION_TOPIC", rejections.clone()));
    let _serve = spawn(&["serve"], &env);
    wait_ready(admin).await;
    let mut client = WebhookServiceClient::connect(format!("http://{grpc}"))
        .await
        .expect("connect api");
    let guarded = pb::Webhook {
        display_name: "guarded".into(),
        basic_auth_username: "ops".into(),
        basic_auth_password: "hunter2".into(),
        ..Default::default()
    };
    let guarded = create(&mut client, guarded).await;
    let wrong = http::post(
        &guarded.url,
        &[("authorization", "Basic b3BzOndyb25n")],
        "x",
    )
    .await;
    assert_eq!(wrong.status.as_u16(), 401);

    let tailed = tail_one(&rejections, &env);
    assert_eq!(tailed["headers"]["ce_type"], "io.hookgate.webhook.rejected");
    assert_eq!(tailed["value"]["data"]["reason"], "basic_auth");
    let metrics = http::get(&format!("http://{admin}/metrics")).await.text();
    assert!(
        metrics
            .lines()
            .any(|line| line == r#"hookgate_ingress_rejected_total{reason="basic_auth"} 1"#),
        "{metrics}"
    );
}
