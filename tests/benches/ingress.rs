//! Ingress throughput and latency at 64 connections, measured with `wrk` against the real
//! gateway and the real broker. Prints figures and ratios; asserts nothing.
//!
//!   cargo bench -p hookgate-tests --bench ingress
//!
//! Environment: HOOKGATE_BENCH_SECONDS (default 10), HOOKGATE_BENCH_CONNECTIONS (64),
//! HOOKGATE_TEST_KAFKA_BROKERS (127.0.0.1:9092), HOOKGATE_BENCH_POSTGRES=1 to keep
//! deduplication claims in PostgreSQL instead of SQLite.

use hookgate_proto::v1 as pb;
use hookgate_tests::{Stack, StackOptions, TestDb};
use std::{process::Command, time::Duration};

struct Figures {
    requests_per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    non_2xx: u64,
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
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

fn run_wrk(url: &str, seconds: u64, connections: u64, script: &std::path::Path) -> Figures {
    let output = Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{connections}"),
            &format!("-d{seconds}s"),
            "--latency",
            "-s",
        ])
        .arg(script)
        .arg(url)
        .output()
        .expect("wrk is required: apt-get install wrk");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
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
        requests_per_second,
        p50_ms: latency_ms(&text, "50%"),
        p99_ms: latency_ms(&text, "99%"),
        non_2xx,
    }
}

fn print(label: &str, f: &Figures) {
    println!(
        "{label:<34} {:>10.0} req/s   p50 {:>7.2} ms   p99 {:>7.2} ms   non-2xx {}",
        f.requests_per_second, f.p50_ms, f.p99_ms, f.non_2xx
    );
}

/// Each request a new delivery (claimed, published, completed), then every request a copy
/// of one delivery (answered from its claim, nothing published), beside the plain webhook.
async fn deduplicated(
    stack: &Stack,
    plain: &Figures,
    seconds: u64,
    connections: u64,
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
    let fresh = run_wrk(&hook.url, seconds, connections, &script);
    print(&format!("deduplicated, new keys ({backend})"), &fresh);
    let copies = std::env::temp_dir().join("hookgate-bench-copies.lua");
    std::fs::write(
        &copies,
        "wrk.method = \"POST\"\nwrk.headers[\"X-Delivery\"] = \"one\"\nwrk.body = '{}'\n",
    )
    .expect("write wrk script");
    let duplicates = run_wrk(&hook.url, seconds, connections, &copies);
    print(&format!("deduplicated, copies ({backend})"), &duplicates);
    println!(
        "ratio deduplicated/plain: new keys {:.2}x, copies {:.2}x",
        fresh.requests_per_second / plain.requests_per_second,
        duplicates.requests_per_second / plain.requests_per_second
    );
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

#[tokio::main]
async fn main() {
    if Command::new("wrk").arg("--version").output().is_err() {
        eprintln!("wrk not found: apt-get install wrk");
        std::process::exit(2);
    }
    let seconds = env_or("HOOKGATE_BENCH_SECONDS", 10);
    let connections = env_or("HOOKGATE_BENCH_CONNECTIONS", 64);
    let db = match std::env::var("HOOKGATE_BENCH_POSTGRES").as_deref() {
        Ok("1") => TestDb::postgres()
            .await
            .expect("PostgreSQL for the benchmark"),
        _ => TestDb::sqlite(),
    };
    let options = StackOptions {
        rate_limit: hookgate_gateway::RateLimit {
            requests: std::num::NonZeroU32::new(u32::MAX).unwrap_or(std::num::NonZeroU32::MIN),
            window: Duration::from_secs(1),
        },
        ..Default::default()
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
    let script = std::env::temp_dir().join("hookgate-bench-post.lua");
    std::fs::write(
        &script,
        "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\nwrk.body = '{\"event\":\"order.created\",\"order\":{\"id\":12345,\"total\":99.5,\"items\":[1,2,3]}}'\n",
    )
    .expect("write wrk script");

    println!(
        "hookgate ingress benchmark: {connections} connections, {seconds} s per run, broker {}",
        stack.options.brokers
    );
    // Same server, same request, no Kafka: the cost of HTTP, routing and the lookup alone.
    let unknown = format!(
        "http://{}/webhooks/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        stack.http_addr
    );
    let baseline = run_wrk(&unknown, seconds, connections, &script);
    print("unknown token (404, no publish)", &baseline);
    let published = run_wrk(&hook.url, seconds, connections, &script);
    print("webhook (200 after Kafka ack)", &published);
    println!(
        "ratio published/baseline: throughput {:.2}x, p50 {:.2}x, p99 {:.2}x",
        published.requests_per_second / baseline.requests_per_second,
        published.p50_ms / baseline.p50_ms,
        published.p99_ms / baseline.p99_ms
    );
    let _ = std::fs::remove_file(script);
    deduplicated(&stack, &published, seconds, connections, db.backend).await;
    stack.stop().await;
}
