//! Memory of a gateway that knows 100,000 webhooks, in SQLite (or PostgreSQL, as deployed,
//! with `HOOKGATE_BENCH_POSTGRES=1`):
//!
//! 1. the webhook snapshot alone, loaded by a fresh process, which prints its resident set
//!    size (SQLite's page cache lives in the process and adds to it);
//! 2. the whole gateway (`hookgate gateway` as the binary builds it, with its producer) in
//!    another fresh process, while every webhook is called once with a signed 1 KiB JSON
//!    event over 64 connections; its resident set and peak are read from `/proc` after the
//!    load. Needs the broker (HOOKGATE_TEST_KAFKA_BROKERS, default 127.0.0.1:9092); without
//!    one this part is skipped.
//!
//! `cargo bench -p hookgate-tests --bench snapshot` (optionally `-- 250000` for another
//! count; HOOKGATE_BENCH_RATE_LIMIT sets the requests per window, which decide how wide
//! the limiter's counters are).

use bytes::Bytes;
use hookgate_domain::{token, VerificationType, WebhookSpec};
use hookgate_gateway::WebhookSnapshot;
use hookgate_storage::Store;
use hookgate_tests::TestDb;
use sea_orm::{ConnectionTrait, Database};
use std::{
    io::{BufRead, BufReader, Read},
    process::Stdio,
    sync::Arc,
    time::Instant,
};

const DEFAULT_COUNT: usize = 100_000;
const ROWS_PER_INSERT: usize = 500;
/// Set in the child process: the database URL to load from.
const LOAD_FROM: &str = "HOOKGATE_BENCH_LOAD_FROM";
/// Set in the child process: the database URL to serve as a gateway from.
const SERVE_FROM: &str = "HOOKGATE_BENCH_SERVE_FROM";
/// Requests per window each webhook may take; hookgate's default when unset. The limit
/// decides how wide the limiter's counters are (1, 2 or 4 bytes).
const RATE_LIMIT: &str = "HOOKGATE_BENCH_RATE_LIMIT";
/// Lookups timed after the snapshot is loaded.
const LOOKUPS: usize = 1_000_000;
/// Requests in flight while every webhook is called once.
const CONNECTIONS: usize = 64;

fn main() {
    let runtime = hookgate::runtime::build().expect("runtime");
    if let Ok(url) = std::env::var(SERVE_FROM) {
        return runtime.block_on(serve(&url));
    }
    match std::env::var(LOAD_FROM) {
        Ok(url) => runtime.block_on(load(&url)),
        Err(_) => runtime.block_on(prepare_and_measure()),
    }
}

fn count() -> usize {
    std::env::args()
        .skip(1)
        .find_map(|arg| arg.parse().ok())
        .unwrap_or(DEFAULT_COUNT)
}

/// Fills a database, then has a fresh process load it, so nothing the filling
/// allocated counts.
async fn prepare_and_measure() {
    let count = count();
    // PostgreSQL, as deployed, with HOOKGATE_BENCH_POSTGRES=1; SQLite otherwise.
    let db = match std::env::var_os("HOOKGATE_BENCH_POSTGRES") {
        Some(_) => TestDb::postgres()
            .await
            .expect("PostgreSQL for HOOKGATE_BENCH_POSTGRES"),
        None => TestDb::sqlite(),
    };
    let store = db.store().await;
    let started = Instant::now();
    fill(&store, &db.url, count).await;
    println!("inserted {count} webhooks in {:?}", started.elapsed());
    drop(store);
    let status = std::process::Command::new(std::env::current_exe().expect("own path"))
        .env(LOAD_FROM, &db.url)
        .status()
        .expect("run the loading process");
    assert!(status.success(), "the loading process failed");
    under_load(&db.url).await;
}

/// Starts the gateway in a fresh process, calls every webhook once, and prints the
/// process's memory afterwards.
async fn under_load(url: &str) {
    let brokers = hookgate_tests::kafka::brokers();
    if tokio::net::TcpStream::connect(&brokers).await.is_err() {
        println!("no broker at {brokers}: the gateway under load is not measured");
        return;
    }
    let mut child = std::process::Command::new(std::env::current_exe().expect("own path"))
        .env(SERVE_FROM, url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the gateway process");
    let pid = child.id();
    let stdout = child.stdout.take().expect("gateway stdout");
    let address = tokio::task::spawn_blocking(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .find_map(|line| line.strip_prefix("listening ").map(str::to_owned))
            .expect("the gateway process ended before listening")
    })
    .await
    .expect("read the gateway's address");
    let idle = rss_of(pid, "VmRSS");
    let webhooks = signed_webhooks(url).await;
    let called = webhooks.len();
    let started = Instant::now();
    let accepted = call_each_once(&address, webhooks).await;
    let took = started.elapsed();
    let (rss, peak) = (rss_of(pid, "VmRSS"), rss_of(pid, "VmHWM"));
    println!(
        "gateway with {called} webhooks (rate limit {}): {idle:.1} MiB RSS ready; each webhook called once ({accepted} accepted, {:.0} req/s over {CONNECTIONS} connections): {rss:.1} MiB RSS after, peak {peak:.1} MiB",
        std::env::var(RATE_LIMIT).unwrap_or_else(|_| "as by default".into()),
        called as f64 / took.as_secs_f64()
    );
    assert_eq!(accepted, called, "every signed request is accepted");
    drop(child.stdin.take());
    let _ = tokio::task::spawn_blocking(move || child.wait()).await;
}

/// Each webhook's URL token and signing secret, in a random order.
async fn signed_webhooks(url: &str) -> Vec<(String, String)> {
    use rand::seq::SliceRandom;
    let connection = Database::connect(url).await.expect("connect");
    let rows = connection
        .query_all(sea_orm::Statement::from_string(
            connection.get_database_backend(),
            "SELECT token, signing_secret FROM webhooks",
        ))
        .await
        .expect("read tokens");
    let mut webhooks: Vec<(String, String)> = rows
        .iter()
        .map(|row| {
            (
                row.try_get("", "token").expect("token"),
                row.try_get("", "signing_secret").expect("secret"),
            )
        })
        .collect();
    webhooks.shuffle(&mut rand::thread_rng());
    webhooks
}

/// POSTs a GitHub-signed event to each webhook, `CONNECTIONS` at a time; the 2xx count.
async fn call_each_once(address: &str, webhooks: Vec<(String, String)>) -> usize {
    use hmac::{Hmac, Mac};
    use http_body_util::{BodyExt, Full};
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let body = Bytes::from(format!(
        r#"{{"action":"opened","number":1,"note":"{}"}}"#,
        "x".repeat(980)
    ));
    let queue = Arc::new(std::sync::Mutex::new(webhooks));
    let workers = (0..CONNECTIONS).map(|_| {
        let (client, queue, body) = (client.clone(), queue.clone(), body.clone());
        let address = address.to_owned();
        tokio::spawn(async move {
            let mut accepted = 0;
            loop {
                let next = queue.lock().expect("queue").pop();
                let Some((token, secret)) = next else {
                    return accepted;
                };
                let mut mac =
                    Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("hmac key");
                mac.update(&body);
                let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
                let request = http::Request::post(format!("http://{address}/webhooks/{token}"))
                    .header("content-type", "application/json")
                    .header("x-github-event", "pull_request")
                    .header("x-hub-signature-256", signature)
                    .body(Full::new(body.clone()))
                    .expect("request");
                let response = client.request(request).await.expect("call the gateway");
                let success = response.status().is_success();
                let _ = response.into_body().collect().await;
                accepted += usize::from(success);
            }
        })
    });
    let mut accepted = 0;
    for worker in workers.collect::<Vec<_>>() {
        accepted += worker.await.expect("caller task");
    }
    accepted
}

/// The child: `hookgate gateway` as the binary builds it, on a loopback port it prints,
/// until its standard input closes.
async fn serve(url: &str) {
    let http = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let admin = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = http.local_addr().expect("address");
    let admin_address = admin.local_addr().expect("address");
    let topic = hookgate_tests::kafka::unique_topic("snapshot-bench");
    let defaults = hookgate::Settings::defaults().expect("default settings");
    let rate_limit_requests = std::env::var(RATE_LIMIT)
        .ok()
        .and_then(|limit| limit.parse().ok())
        .unwrap_or(defaults.rate_limit_requests);
    let settings = hookgate::Settings {
        database_url: url.to_owned().into(),
        kafka_brokers: hookgate_tests::kafka::brokers(),
        reply_topic: format!("{topic}-replies"),
        trigger_topic: topic,
        topic_partitions: 1,
        rate_limit_requests,
        ..defaults
    };
    let overrides = hookgate::Overrides {
        http: Some(http),
        admin: Some(admin),
        ..Default::default()
    };
    let app = hookgate::App::build_with(settings, hookgate::Roles::GATEWAY, overrides)
        .await
        .expect("build the gateway");
    let stop = Arc::new(tokio::sync::watch::channel(false).0);
    let running = tokio::spawn(app.run(stop.clone()));
    // Ready once the snapshot is loaded and the producer has reached the broker.
    let readyz = format!("http://{admin_address}/readyz");
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Empty<Bytes>>();
    loop {
        let uri = readyz.parse().expect("readyz uri");
        if let Ok(response) = client.get(uri).await {
            if response.status().is_success() {
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    println!("listening {address}");
    // The parent closes our standard input when it is done measuring.
    let _ = tokio::task::spawn_blocking(|| std::io::stdin().read_to_end(&mut Vec::new())).await;
    let _ = stop.send(true);
    let _ = running.await;
}

/// A `/proc/<pid>/status` memory line in MiB.
fn rss_of(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("gateway status");
    kib_in(&status, field) as f64 / 1024.0
}

/// Realistic rows: GitHub-style webhooks with a signing secret, spread over 100
/// applications, copied from one made through the store so every column is as it writes.
async fn fill(store: &Store, url: &str, count: usize) {
    let template = store
        .create(
            "template",
            WebhookSpec {
                display_name: "template".into(),
                verification_type: VerificationType::Github,
                signing_secret: Some(hex_secret().into()),
                ..WebhookSpec::default()
            },
        )
        .await
        .expect("template webhook");
    let connection = Database::connect(url).await.expect("connect");
    let mut made = 0;
    while made < count {
        let rows: Vec<String> = (made..count.min(made + ROWS_PER_INSERT))
            .map(|i| {
                format!(
                    "('{}', 'app-{}', '{}', 'Webhook number {i}', '{}')",
                    token::new_webhook_id(),
                    i % 100,
                    token::new_url_token(),
                    hex_secret()
                )
            })
            .collect();
        made += rows.len();
        connection
            .execute_unprepared(&format!(
                "INSERT INTO webhooks (id, application_id, token, display_name, description,
                   disabled, verification_type, verification_code, signing_secret,
                   response_code, wait_for_reply, reply_timeout_ms, basic_auth_username,
                   basic_auth_password_digest, revision, create_time, update_time)
                 SELECT v.column1, v.column2, v.column3, v.column4, t.description, t.disabled,
                   t.verification_type, t.verification_code, v.column5, t.response_code,
                   t.wait_for_reply, t.reply_timeout_ms, t.basic_auth_username,
                   t.basic_auth_password_digest, t.revision, t.create_time, t.update_time
                 FROM (VALUES {}) AS v, webhooks AS t WHERE t.id = '{}'",
                rows.join(","),
                template.name.webhook_id
            ))
            .await
            .expect("insert webhooks");
    }
}

fn hex_secret() -> String {
    use rand::Rng;
    let bytes: [u8; 32] = rand::thread_rng().gen();
    hex::encode(bytes)
}

async fn load(url: &str) {
    let store = Store::connect(url).await.expect("connect");
    store.ping().await.expect("ping");
    let before = rss_kib("VmRSS");
    let snapshot = WebhookSnapshot::new(store);
    let started = Instant::now();
    snapshot.refresh().await.expect("load the snapshot");
    let took = started.elapsed();
    let after = rss_kib("VmRSS");
    let peak = rss_kib("VmHWM");
    println!(
        "snapshot of {} webhooks loaded in {took:?}: process RSS {:.1} MiB (peak {:.1} MiB; {:.1} MiB before loading, connected; {} bytes per webhook)",
        snapshot.len(),
        after as f64 / 1024.0,
        peak as f64 / 1024.0,
        before as f64 / 1024.0,
        (after - before) * 1024 / snapshot.len().max(1) as u64,
    );
    // What a request pays to find its webhook: the lookup and the decoding of the packed
    // entry into a `Webhook`.
    let tokens: Vec<String> = signed_webhooks(url)
        .await
        .into_iter()
        .map(|(token, _)| token)
        .collect();
    let started = Instant::now();
    let mut found = 0usize;
    for token in tokens.iter().cycle().take(LOOKUPS) {
        found += usize::from(snapshot.get(token).expect("loaded").is_some());
    }
    let random = started.elapsed();
    let started = Instant::now();
    for _ in 0..LOOKUPS {
        found += usize::from(snapshot.get(&tokens[0]).expect("loaded").is_some());
    }
    let hot = started.elapsed();
    assert_eq!(found, 2 * LOOKUPS, "every token resolves");
    let each = |took: std::time::Duration| took.as_nanos() as f64 / LOOKUPS as f64;
    println!(
        "lookup of a webhook by token, decoded: {:.0} ns each in random order, {:.0} ns for one webhook again and again ({LOOKUPS} lookups each)",
        each(random),
        each(hot)
    );
}

/// A `/proc/self/status` line's value in KiB.
fn rss_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    kib_in(&status, field)
}

fn kib_in(status: &str, field: &str) -> u64 {
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a memory line")
}
