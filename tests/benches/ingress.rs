//! The cost of an acknowledged webhook, measured with `wrk` against the real gateway and
//! the real broker, beside a bare hyper server that answers 200 at once (the HTTP floor on
//! this machine, on tokio's default runtime with a worker per core; hookgate runs on the
//! runtime its binary builds). Prints figures and ratios; asserts nothing but that every 2xx has its
//! record in Kafka.
//!
//!   cargo bench -p hookgate-tests --bench ingress
//!
//! For each connection count it runs wrk (2 threads, 1 KiB JSON POST) against the bare
//! server and against a webhook, and reads this process's CPU time (user + system, from
//! `/proc/self/stat`) around each run: the gateway, its tokio workers and librdkafka's
//! threads all live in this process, the broker and wrk do not. Each hookgate run also
//! prints its CPU by thread (tokio's workers, librdkafka's broker thread), and is followed by the Kafka floor: hookgate's own producer publishing the
//! same size of record from as many tasks as there were connections, with no HTTP. What
//! hookgate costs beyond the two floors together is its own.
//!
//! Environment: HOOKGATE_BENCH_SECONDS (default 10), HOOKGATE_BENCH_CONNECTIONS
//! (default `16,64,256`), HOOKGATE_TEST_KAFKA_BROKERS (127.0.0.1:9092), HOOKGATE_BENCH_POSTGRES=1 to
//! keep deduplication claims in PostgreSQL instead of SQLite, HOOKGATE_BENCH_DEDUPLICATION=0
//! to skip the deduplicated webhook, HOOKGATE_BENCH_LOGS=0 to run without the log subscriber
//! `hookgate serve` installs.

use bytes::Bytes;
use hookgate_domain::trigger::TriggerRecord;
use hookgate_proto::v1 as pb;
use hookgate_tests::{Stack, StackOptions, TestDb};
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use std::{convert::Infallible, net::SocketAddr, process::Command, time::Duration};

struct Figures {
    requests: u64,
    requests_per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    non_2xx: u64,
    cpu_us_per_request: f64,
}

impl Figures {
    fn ok(&self) -> u64 {
        self.requests.saturating_sub(self.non_2xx)
    }
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

/// `wrk --latency` prints `50%   1.23ms`; normalise to milliseconds.
fn latency_ms(output: &str, percentile: &str) -> f64 {
    let value = output
        .lines()
        .map(str::trim)
        .find_map(|line| line.strip_prefix(percentile))
        .map(str::trim)
        .unwrap_or("nan");
    let (number, unit) = value.split_at(
        value
            .find(|c: char| c.is_ascii_alphabetic())
            .unwrap_or(value.len()),
    );
    let number: f64 = number.parse().unwrap_or(f64::NAN);
    match unit {
        "us" => number / 1000.0,
        "ms" => number,
        "s" => number * 1000.0,
        _ => f64::NAN,
    }
}

/// This process's CPU time so far (user + system), in microseconds.
fn process_cpu_us(ticks_per_second: f64) -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("read /proc/self/stat");
    // The command name may hold spaces; the fields after its closing parenthesis do not.
    let after_name = &stat[stat.rfind(')').expect("stat format") + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    let ticks: f64 =
        fields[11].parse::<f64>().expect("utime") + fields[12].parse::<f64>().expect("stime");
    ticks / ticks_per_second * 1e6
}

/// CPU ticks (user + system) of each of this process's threads, by thread id, with its name.
fn thread_ticks() -> std::collections::HashMap<u64, (String, u64)> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Default::default();
    };
    tasks
        .filter_map(|task| {
            let task = task.ok()?;
            let tid: u64 = task.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(task.path().join("stat")).ok()?;
            let (open, close) = (stat.find('(')?, stat.rfind(')')?);
            let name = stat[open + 1..close].to_owned();
            let fields: Vec<&str> = stat[close + 2..].split_whitespace().collect();
            let ticks =
                fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
            Some((tid, (name, ticks)))
        })
        .collect()
}

/// Where a run's CPU went, by thread name (tokio's workers, librdkafka's broker, main and
/// delivery-report threads), in microseconds per request, largest first.
fn cpu_by_thread(
    before: &std::collections::HashMap<u64, (String, u64)>,
    requests: u64,
    ticks_per_second: f64,
) -> String {
    let mut by_name: std::collections::BTreeMap<String, u64> = Default::default();
    for (tid, (name, ticks)) in thread_ticks() {
        let earlier = before.get(&tid).map_or(0, |(_, t)| *t);
        *by_name.entry(name).or_default() += ticks.saturating_sub(earlier);
    }
    let mut shares: Vec<(String, f64)> = by_name
        .into_iter()
        .map(|(name, ticks)| {
            (
                name,
                ticks as f64 / ticks_per_second * 1e6 / requests.max(1) as f64,
            )
        })
        .filter(|(_, us)| *us >= 0.05)
        .collect();
    shares.sort_by(|a, b| b.1.total_cmp(&a.1));
    shares
        .iter()
        .map(|(name, us)| format!("{name} {us:.1}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

async fn run_wrk(
    url: &str,
    seconds: u64,
    connections: u64,
    script: &std::path::Path,
    ticks: f64,
) -> Figures {
    let cpu_before = process_cpu_us(ticks);
    let mut command = Command::new("wrk");
    command
        .args([
            "-t2",
            &format!("-c{connections}"),
            &format!("-d{seconds}s"),
            "--latency",
            "-s",
        ])
        .arg(script)
        .arg(url);
    // Off the runtime's workers: they are serving the requests being measured.
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("wrk task")
        .expect("wrk is required: apt-get install wrk");
    let cpu = process_cpu_us(ticks) - cpu_before;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let requests = text
        .lines()
        .find_map(|l| l.trim().split_once(" requests in "))
        .and_then(|(n, _)| n.trim().parse().ok())
        .unwrap_or(0);
    let requests_per_second = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(f64::NAN);
    let non_2xx = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Non-2xx or 3xx responses:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    Figures {
        requests,
        requests_per_second,
        p50_ms: latency_ms(&text, "50%"),
        p99_ms: latency_ms(&text, "99%"),
        non_2xx,
        cpu_us_per_request: cpu / requests.max(1) as f64,
    }
}

/// The HTTP floor: hyper 1.x answering `{"success":true}` at once, same settings as the
/// gateway's server.
async fn start_bare_hyper() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(|_request| async {
                    Ok::<_, Infallible>(
                        http::Response::builder()
                            .header("content-type", "application/json")
                            .body(Full::new(Bytes::from_static(br#"{"success":true}"#)))
                            .expect("static response"),
                    )
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

/// The Kafka floor: hookgate's own producer, built as the gateway builds it, publishing a
/// record of the size a 1 KiB event makes from `concurrency` tasks that each wait for the
/// acknowledgement before sending the next, as `concurrency` connections would. No HTTP,
/// no webhook: what is left between this, the bare server and hookgate is hookgate's own.
async fn producer_floor(
    brokers: &str,
    topic: &str,
    seconds: u64,
    concurrency: u64,
    ticks: f64,
) -> Figures {
    // A topic of its own, so the trigger topic's count still checks hookgate's answers.
    let config = hookgate_bus::KafkaConfig {
        brokers: brokers.to_owned(),
        trigger_topic: format!("{topic}-producer-floor"),
        reply_topic: format!("{topic}-producer-floor-replies"),
        ..hookgate::Settings::defaults()
            .expect("default settings")
            .kafka()
    };
    hookgate_bus::ensure_topics(&config)
        .await
        .expect("create the producer floor's topic");
    let producer = hookgate_bus::Producer::new(&config).expect("producer");
    let record = std::sync::Arc::new(TriggerRecord {
        key: uuid::Uuid::now_v7().to_string(),
        headers: vec![
            ("ce_specversion", "1.0".into()),
            ("ce_id", uuid::Uuid::now_v7().to_string().into()),
            (
                "ce_source",
                "/applications/bench/webhooks/0193a7c2-e4d0-7b3f-9c1d-2e3f4a5b6c7d".into(),
            ),
            ("ce_type", "io.hookgate.webhook.request".into()),
            ("ce_time", "2026-11-29T10:00:00.123Z".into()),
            ("content-type", "application/json".into()),
        ],
        value: vec![b'x'; PRODUCER_FLOOR_VALUE_BYTES],
        event_id: String::new(),
    });
    // Warm the connection and the producer id outside the measurement.
    producer
        .publish(TriggerRecord::clone(&record))
        .await
        .expect("first record");
    let deadline = std::time::Instant::now() + Duration::from_secs(seconds);
    let cpu_before = process_cpu_us(ticks);
    let started = std::time::Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (producer, record) = (producer.clone(), record.clone());
            tokio::spawn(async move {
                let (mut latencies, mut failures) = (Vec::new(), 0u64);
                while std::time::Instant::now() < deadline {
                    let sent = std::time::Instant::now();
                    // A record per publish, as the gateway builds one per request.
                    match producer.publish(TriggerRecord::clone(&record)).await {
                        Ok(_) => latencies.push(sent.elapsed()),
                        Err(_) => failures += 1,
                    }
                }
                (latencies, failures)
            })
        })
        .collect();
    let (mut latencies, mut failures) = (Vec::new(), 0);
    for task in tasks {
        let (some, failed) = task.await.expect("publishing task");
        latencies.extend(some);
        failures += failed;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = process_cpu_us(ticks) - cpu_before;
    latencies.sort_unstable();
    let percentile = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
    };
    let requests = latencies.len() as u64 + failures;
    let _ = producer.flush(Duration::from_secs(5)).await;
    Figures {
        requests,
        requests_per_second: requests as f64 / elapsed,
        p50_ms: percentile(0.5),
        p99_ms: percentile(0.99),
        non_2xx: failures,
        cpu_us_per_request: cpu / requests.max(1) as f64,
    }
}

/// The value hookgate writes for the benchmark's 1 KiB event (the event, its headers and
/// the record's envelope).
const PRODUCER_FLOOR_VALUE_BYTES: usize = 1_350;

/// Long enough for a steady figure; the producer alone sends far more records a second.
const PRODUCER_FLOOR_SECONDS: u64 = 3;

/// Each request a new delivery (claimed, published, completed), then every request a copy
/// of one delivery (answered from its claim, nothing published), beside the plain webhook.
async fn deduplicated(
    stack: &Stack,
    plain: &[(u64, Figures, Figures, Figures)],
    seconds: u64,
    ticks: f64,
    backend: &str,
) {
    let hook = stack
        .create(
            "bench",
            pb::Webhook {
                display_name: "bench deduplicated".into(),
                deduplication: Some(pb::Deduplication {
                    enabled: true,
                    key: "header:x-delivery".into(),
                    window: None,
                }),
                ..Default::default()
            },
        )
        .await;
    let script = std::env::temp_dir().join("hookgate-bench-deliveries.lua");
    std::fs::write(&script, DELIVERIES_SCRIPT).expect("write wrk script");
    let copies = std::env::temp_dir().join("hookgate-bench-copies.lua");
    std::fs::write(
        &copies,
        "wrk.method = \"POST\"\nwrk.headers[\"X-Delivery\"] = \"one\"\nwrk.body = '{}'\n",
    )
    .expect("write wrk script");
    println!();
    println!("deduplicated webhook, claims in {backend}:");
    for (connections, _, hookgate, _) in plain {
        let fresh = run_wrk(&hook.url, seconds, *connections, &script, ticks).await;
        row("new keys", *connections, &fresh);
        let duplicates = run_wrk(&hook.url, seconds, *connections, &copies, ticks).await;
        row("copies", *connections, &duplicates);
        println!(
            "  {connections:>3} connections, deduplicated / plain hookgate: new keys {:.2}x, copies {:.2}x",
            fresh.requests_per_second / hookgate.requests_per_second,
            duplicates.requests_per_second / hookgate.requests_per_second
        );
    }
    let _ = std::fs::remove_file(script);
    let _ = std::fs::remove_file(copies);
}

/// A distinct `X-Delivery` per request: wrk's threads each count under their own prefix.
const DELIVERIES_SCRIPT: &str = r#"
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("prefix", tostring(threads))
end
local sent = 0
function request()
  sent = sent + 1
  return wrk.format("POST", nil, {["Content-Type"] = "application/json", ["X-Delivery"] = prefix .. "-" .. sent}, '{"event":"order.created"}')
end
"#;

fn row(label: &str, connections: u64, f: &Figures) {
    println!(
        "{label:<10} {connections:>5} {:>11.0} {:>8.2} {:>8.2} {:>10.1} {:>8}",
        f.requests_per_second, f.p50_ms, f.p99_ms, f.cpu_us_per_request, f.non_2xx
    );
}

fn main() {
    // The HTTP floor at its best: tokio's default runtime, a worker per core.
    let floor = tokio::runtime::Runtime::new().expect("the floor's runtime");
    let bare = floor.block_on(start_bare_hyper());
    // hookgate on the runtime the binary builds.
    let runtime = hookgate::runtime::build().expect("runtime");
    runtime.block_on(measure(bare));
}

async fn measure(bare: SocketAddr) {
    if Command::new("wrk").arg("--version").output().is_err() {
        eprintln!("wrk not found: apt-get install wrk");
        std::process::exit(2);
    }
    let seconds: u64 = env_or("HOOKGATE_BENCH_SECONDS", "10").parse().unwrap_or(10);
    let connection_counts: Vec<u64> = env_or("HOOKGATE_BENCH_CONNECTIONS", "16,64,256")
        .split(',')
        .filter_map(|c| c.trim().parse().ok())
        .collect();
    let ticks = clock_ticks_per_second();
    let db = match std::env::var("HOOKGATE_BENCH_POSTGRES").as_deref() {
        Ok("1") => TestDb::postgres()
            .await
            .expect("PostgreSQL for the benchmark"),
        _ => TestDb::sqlite(),
    };
    let options = StackOptions {
        rate_limit: hookgate_gateway::RateLimit {
            requests: std::num::NonZeroU32::new(1_000_000).unwrap_or(std::num::NonZeroU32::MIN),
            window: Duration::from_secs(1),
        },
        ..Default::default()
    };
    // Logs as `hookgate serve` writes them (HOOKGATE_LOG, default info), so the per-request
    // span and log filtering cost what they cost in production.
    let _telemetry = match env_or("HOOKGATE_BENCH_LOGS", "1").as_str() {
        "0" => None,
        _ => Some(
            hookgate::telemetry::init(&hookgate::Settings::defaults().expect("default settings"))
                .expect("install the log subscriber"),
        ),
    };
    let stack = Stack::start(&db, options).await;
    let hook = stack
        .create(
            "bench",
            pb::Webhook {
                display_name: "bench".into(),
                ..Default::default()
            },
        )
        .await;
    // 1 KiB of JSON, as a typical provider event.
    let padding = "x".repeat(1024 - 96);
    let script = std::env::temp_dir().join(format!("hookgate-bench-{}.lua", std::process::id()));
    std::fs::write(
        &script,
        format!(
            "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\nwrk.body = '{{\"event\":\"order.created\",\"order\":{{\"id\":12345,\"total\":99.5,\"items\":[1,2,3]}},\"note\":\"{padding}\"}}'\n"
        ),
    )
    .expect("write wrk script");

    println!(
        "hookgate ingress benchmark: wrk -t2, 1 KiB JSON POST, {seconds} s per run, broker {}",
        stack.options.brokers
    );
    println!(
        "{:<10} {:>5} {:>11} {:>8} {:>8} {:>10} {:>8}",
        "server", "conns", "req/s", "p50 ms", "p99 ms", "CPU us/req", "non-2xx"
    );
    let mut acknowledged = 0;
    let mut results = Vec::new();
    for &connections in &connection_counts {
        let floor = run_wrk(
            &format!("http://{bare}/"),
            seconds,
            connections,
            &script,
            ticks,
        )
        .await;
        row("bare hyper", connections, &floor);
        let threads_before = thread_ticks();
        let hookgate = run_wrk(&hook.url, seconds, connections, &script, ticks).await;
        row("hookgate", connections, &hookgate);
        println!(
            "           CPU us per request by thread: {}",
            cpu_by_thread(&threads_before, hookgate.requests, ticks)
        );
        acknowledged += hookgate.ok();
        // After hookgate's run and shorter: the broker's memory grows with every record,
        // and a fuller broker would slow the runs that follow.
        let kafka = producer_floor(
            &stack.options.brokers,
            &stack.options.topic,
            seconds.min(PRODUCER_FLOOR_SECONDS),
            connections,
            ticks,
        )
        .await;
        row("producer", connections, &kafka);
        results.push((connections, floor, hookgate, kafka));
    }
    println!();
    println!("ratios, hookgate / bare hyper:");
    for (connections, floor, hookgate, kafka) in &results {
        println!(
            "  {connections:>3} connections: throughput {:.2}x ({:.0}% of the floor), p50 {:.2}x, p99 {:.2}x, CPU per request {:.2}x ({:.1} us above the floor)",
            hookgate.requests_per_second / floor.requests_per_second,
            100.0 * hookgate.requests_per_second / floor.requests_per_second,
            hookgate.p50_ms / floor.p50_ms,
            hookgate.p99_ms / floor.p99_ms,
            hookgate.cpu_us_per_request / floor.cpu_us_per_request,
            hookgate.cpu_us_per_request - floor.cpu_us_per_request,
        );
        // What neither the HTTP floor nor the Kafka floor accounts for.
        println!(
            "       CPU per request: bare hyper {:.1} + producer alone {:.1} = {:.1} us; hookgate {:.1} us, {:.1} us its own; producer alone p50 {:.2} ms",
            floor.cpu_us_per_request,
            kafka.cpu_us_per_request,
            floor.cpu_us_per_request + kafka.cpu_us_per_request,
            hookgate.cpu_us_per_request,
            hookgate.cpu_us_per_request - floor.cpu_us_per_request - kafka.cpu_us_per_request,
            kafka.p50_ms,
        );
    }
    let records = hookgate_tests::kafka::Reader::new(&stack.options.brokers, &stack.options.topic)
        .count_all(Duration::from_secs(3));
    println!();
    println!(
        "records in the trigger topic: {records}; 2xx answers: {acknowledged}; {}",
        if records >= acknowledged {
            "every 2xx has its record"
        } else {
            "RECORDS MISSING"
        }
    );
    let _ = std::fs::remove_file(script);
    if env_or("HOOKGATE_BENCH_DEDUPLICATION", "1") != "0" {
        deduplicated(&stack, &results, seconds, ticks, db.backend).await;
    }
    stack.stop().await;
    if records < acknowledged {
        std::process::exit(1);
    }
}
