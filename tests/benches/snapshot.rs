//! Memory of the gateway's webhook snapshot: 100,000 webhooks in SQLite (or PostgreSQL,
//! as deployed, with `HOOKGATE_BENCH_POSTGRES=1`), loaded by a fresh process, which prints
//! its resident set size. SQLite's page cache lives in the process and adds to it.
//!
//! `cargo bench -p hookgate-tests --bench snapshot` (optionally `-- 250000` for another
//! count).

use hookgate_domain::{token, VerificationType, WebhookSpec};
use hookgate_gateway::WebhookSnapshot;
use hookgate_storage::Store;
use hookgate_tests::TestDb;
use sea_orm::{ConnectionTrait, Database};
use std::time::Instant;

const DEFAULT_COUNT: usize = 100_000;
const ROWS_PER_INSERT: usize = 500;
/// Set in the child process: the database URL to load from.
const LOAD_FROM: &str = "HOOKGATE_BENCH_LOAD_FROM";

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
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
        "snapshot of {} webhooks loaded in {took:?}: process RSS {:.1} MiB (peak {:.1} MiB; {:.1} MiB before loading, connected; {} bytes per webhook; a Webhook is {} bytes)",
        snapshot.len(),
        after as f64 / 1024.0,
        peak as f64 / 1024.0,
        before as f64 / 1024.0,
        (after - before) * 1024 / snapshot.len().max(1) as u64,
        std::mem::size_of::<hookgate_domain::Webhook>(),
    );
}

/// A `/proc/self/status` line's value in KiB.
fn rss_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a memory line")
}
