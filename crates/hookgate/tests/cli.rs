//! `hookgate webhooks …` and `hookgate providers list`: the real binary against a real
//! gRPC server, as a person or a script would use them.

use hookgate_api::{Authorizer, WebhookApi};
use hookgate_proto::v1::webhook_service_server::WebhookServiceServer;
use hookgate_tests::{http, ApiServer, Stack, StackOptions, TestDb};
use std::{
    io::Write,
    process::{Command, Output, Stdio},
    time::Duration,
};
use tonic::transport::{Identity, Server, ServerTlsConfig};

/// The client binary, pointed at one server.
struct Cli {
    server: String,
    token: Option<String>,
}

impl Cli {
    fn new(addr: std::net::SocketAddr) -> Self {
        Self {
            server: format!("http://{addr}"),
            token: None,
        }
    }

    /// `hookgate <args>` with `stdin` fed in; waits for it to end.
    fn run(&self, args: &[&str], stdin: &str) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_hookgate"));
        command
            .args(args)
            .env("HOOKGATE_SERVER", &self.server)
            .env_remove("HOOKGATE_TOKEN")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(token) = &self.token {
            command.env("HOOKGATE_TOKEN", token);
        }
        let mut child = command.spawn().expect("spawn hookgate");
        let mut input = child.stdin.take().expect("stdin");
        input.write_all(stdin.as_bytes()).expect("write stdin");
        drop(input);
        child.wait_with_output().expect("hookgate output")
    }

    /// stdout of a command that must succeed.
    fn ok(&self, args: &[&str], stdin: &str) -> String {
        let output = self.run(args, stdin);
        assert!(
            output.status.success(),
            "hookgate {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("utf-8 stdout")
    }

    /// The `-o json` output of a command that must succeed.
    fn json(&self, args: &[&str], stdin: &str) -> serde_json::Value {
        let args = [args, &["-o", "json"]].concat();
        let out = self.ok(&args, stdin);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
    }

    /// stderr of a command that must fail with exit status `code`.
    fn fails(&self, args: &[&str], stdin: &str, code: i32) -> String {
        let output = self.run(args, stdin);
        assert_eq!(
            output.status.code(),
            Some(code),
            "hookgate {args:?}: stdout {} stderr {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(output.stdout.is_empty(), "errors go to stderr only");
        String::from_utf8(output.stderr).expect("utf-8 stderr")
    }
}

fn text(value: &serde_json::Value) -> &str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value}"))
}

// Multi-threaded: the client runs as a blocking child process while the server answers it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tour_with_only_the_binary() {
    let db = TestDb::sqlite();
    let stack = Stack::start(&db, StackOptions::default()).await;
    let cli = Cli::new(stack.grpc_addr);

    let table = cli.ok(
        &[
            "webhooks",
            "create",
            "--app",
            "demo",
            "--display-name",
            "orders",
        ],
        "",
    );
    let row = |key: &str| {
        table
            .lines()
            .find_map(|line| line.strip_prefix(key).map(str::trim).map(str::to_owned))
            .unwrap_or_else(|| panic!("no {key} row: {table}"))
    };
    assert_eq!(row("display name "), "orders");
    assert_eq!(row("verification "), "none");
    let orders_name = row("name ");

    // Secrets come from stdin or a file, never argv; one trailing newline is dropped.
    let signed = cli.json(
        &[
            "webhooks",
            "create",
            "--app",
            "demo",
            "--display-name",
            "signed",
            "--verification-type",
            "github",
            "--signing-secret-file",
            "-",
            "--reply-timeout",
            "90s",
        ],
        "gh-secret\n",
    );
    assert_eq!(signed["verification_type"], "VERIFICATION_TYPE_GITHUB");
    assert_eq!(signed["has_signing_secret"], true);
    assert_eq!(signed["reply_timeout"], "90s");
    assert!(signed.get("signing_secret").is_none(), "{signed}");
    let guarded = cli.json(
        &[
            "webhooks",
            "create",
            "--app",
            "demo",
            "--display-name",
            "guarded",
            "--basic-auth-username",
            "ops",
            "--basic-auth-password-file",
            "-",
        ],
        "hunter2\n",
    );
    let guarded_url = text(&guarded["url"]);
    let right = http::post(
        guarded_url,
        &[("authorization", "Basic b3BzOmh1bnRlcjI=")],
        "{}",
    )
    .await;
    assert_eq!(
        right.status.as_u16(),
        200,
        "the password is exactly hunter2"
    );
    let wrong = http::post(
        guarded_url,
        &[("authorization", "Basic b3BzOmh1bnRlcjIK")],
        "{}",
    )
    .await;
    assert_eq!(wrong.status.as_u16(), 401);

    // A list follows every page and is one JSON array.
    let listed = cli.json(
        &["webhooks", "list", "--app", "demo", "--page-size", "1"],
        "",
    );
    let names: Vec<&str> = listed
        .as_array()
        .expect("a JSON array")
        .iter()
        .map(|webhook| text(&webhook["display_name"]))
        .collect();
    assert_eq!(names, ["orders", "signed", "guarded"]);
    let table = cli.ok(&["webhooks", "list", "--app", "demo"], "");
    assert!(table.starts_with("NAME "), "{table}");
    assert_eq!(table.lines().count(), 4, "{table}");
    assert_eq!(
        cli.ok(&["webhooks", "list", "--app", "nobody"], ""),
        "no webhooks\n"
    );
    assert_eq!(
        cli.json(&["webhooks", "list", "--app", "nobody"], ""),
        serde_json::json!([])
    );

    let got = cli.json(&["webhooks", "get", &orders_name], "");
    assert_eq!(got["name"], orders_name.as_str());
    let url = text(&got["url"]).to_owned();

    // Update sends only the fields given.
    let updated = cli.json(
        &[
            "webhooks",
            "update",
            &orders_name,
            "--description",
            "from the shop",
            "--response-code",
            "202",
        ],
        "",
    );
    assert_eq!(updated["display_name"], "orders");
    assert_eq!(updated["description"], "from the shop");
    assert_eq!(updated["response_code"], 202);
    assert_ne!(updated["etag"], got["etag"]);
    assert_eq!(http::post(&url, &[], "{}").await.status.as_u16(), 202);
    let stale = cli.fails(
        &[
            "webhooks",
            "update",
            &orders_name,
            "--etag",
            text(&got["etag"]),
            "--disabled",
        ],
        "",
        1,
    );
    assert!(stale.contains("ABORTED"), "{stale}");

    // Test goes through the real path; its record is in Kafka, marked "test".
    let reader = stack.reader();
    let tested = cli.json(
        &[
            "webhooks",
            "test",
            &orders_name,
            "--body",
            r#"{"ping":1}"#,
            "-H",
            "X-Trace: abc",
        ],
        "",
    );
    assert_eq!(tested["status_code"], 202);
    // Two requests above were published before this one.
    let records = reader.read(3, Duration::from_secs(10));
    let record = records
        .iter()
        .find(|record| record.value["test"] == true)
        .expect("the tested request was published");
    assert_eq!(record.value["id"], tested["event_id"]);
    assert_eq!(record.value["data"]["body"]["ping"], 1);
    assert_eq!(record.value["data"]["headers"]["x-trace"], "abc");
    let table = cli.ok(&["webhooks", "test", &orders_name], "");
    assert!(table.starts_with("status        202\n"), "{table}");

    let rotated = cli.json(&["webhooks", "rotate-url", &orders_name], "");
    assert_ne!(rotated["url"], url.as_str());
    assert_eq!(http::post(&url, &[], "{}").await.status.as_u16(), 404);

    assert_eq!(
        cli.ok(&["webhooks", "delete", &orders_name], ""),
        format!("deleted {orders_name}\n")
    );
    let missing = cli.fails(&["webhooks", "get", &orders_name], "", 1);
    assert!(missing.contains("NOT_FOUND"), "{missing}");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_name_the_status_and_each_field_and_exit_non_zero() {
    let db = TestDb::sqlite();
    let server = ApiServer::start(&db).await;
    let cli = Cli::new(server.addr);

    let invalid = cli.fails(
        &[
            "webhooks",
            "create",
            "--app",
            "demo",
            "--verification-type",
            "stripe",
            "--reply-timeout",
            "5m",
        ],
        "",
        1,
    );
    assert!(
        invalid.starts_with("error: CreateWebhook: INVALID_ARGUMENT"),
        "{invalid}"
    );
    for field in [
        "webhook.display_name",
        "webhook.signing_secret",
        "webhook.reply_timeout",
    ] {
        assert!(
            invalid.contains(&format!("\n  {field}: ")),
            "{field} missing: {invalid}"
        );
    }

    let nothing = cli.fails(
        &["webhooks", "update", "applications/demo/webhooks/x"],
        "",
        1,
    );
    assert!(nothing.contains("nothing to update"), "{nothing}");
    let with_secret = |path: &str, stdin: &str| {
        let create = ["webhooks", "create", "--app", "demo", "--display-name", "x"];
        cli.fails(
            &[&create[..], &["--signing-secret-file", path]].concat(),
            stdin,
            1,
        )
    };
    let no_file = with_secret("/nonexistent/secret", "");
    assert!(no_file.contains("--signing-secret-file"), "{no_file}");
    let empty = with_secret("-", "\n");
    assert!(empty.contains("empty"), "{empty}");
    let bad_type = cli.fails(
        &[
            "webhooks",
            "create",
            "--app",
            "demo",
            "--verification-type",
            "gitlab",
        ],
        "",
        2,
    );
    assert!(bad_type.contains("standard-webhooks"), "{bad_type}");

    // The catalogue, and a webhook verified by one of its providers.
    let providers = cli.json(&["providers", "list"], "");
    let zoom = providers
        .as_array()
        .expect("a JSON array")
        .iter()
        .find(|provider| provider["id"] == "zoom")
        .expect("zoom is in the catalogue");
    assert!(zoom["secret_description"].is_string(), "{zoom}");
    let table = cli.ok(&["providers", "list"], "");
    assert!(table.starts_with("ID "), "{table}");
    assert!(
        table.lines().any(|line| line.starts_with("zoom ")),
        "{table}"
    );
    let zoomed = cli.json(
        &[
            "webhooks",
            "create",
            "--app",
            "demo",
            "--display-name",
            "meetings",
            "--provider",
            "zoom",
            "--signing-secret-file",
            "-",
        ],
        "zoom-secret\n",
    );
    assert_eq!(zoomed["verification_type"], "VERIFICATION_TYPE_PROVIDER");
    assert_eq!(zoomed["verification_provider"], "zoom");
    assert_eq!(zoomed["has_signing_secret"], true);
    let unknown = cli.fails(
        &[
            "webhooks",
            "create",
            "--app",
            "demo",
            "--display-name",
            "x",
            "--provider",
            "no-such-provider",
        ],
        "",
        1,
    );
    assert!(
        unknown.contains("webhook.verification_provider"),
        "{unknown}"
    );

    let nobody = Cli::new(
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap(),
    );
    let unreachable = nobody.fails(&["webhooks", "list", "--app", "demo"], "", 1);
    assert!(
        unreachable.contains("cannot reach the hookgate API"),
        "{unreachable}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_comes_from_the_environment_or_a_file() {
    let db = TestDb::sqlite();
    let server = ApiServer::start_with_tokens(&db, "cli-token-0123456789=acme").await;
    let mut cli = Cli::new(server.addr);

    let anonymous = cli.fails(&["webhooks", "list", "--app", "acme"], "", 1);
    assert!(anonymous.contains("UNAUTHENTICATED"), "{anonymous}");
    assert_eq!(
        cli.ok(
            &["webhooks", "list", "--app", "acme", "--token-file", "-"],
            "cli-token-0123456789\n"
        ),
        "no webhooks\n"
    );
    cli.token = Some("cli-token-0123456789".into());
    assert_eq!(
        cli.ok(&["webhooks", "list", "--app", "acme"], ""),
        "no webhooks\n"
    );
    let elsewhere = cli.fails(&["webhooks", "list", "--app", "other"], "", 1);
    assert!(elsewhere.contains("PERMISSION_DENIED"), "{elsewhere}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_server_is_trusted_through_the_ca_file() {
    let db = TestDb::sqlite();
    let api = WebhookApi::new(db.store().await, "http://hooks.test", Authorizer::default());
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let identity = Identity::from_pem(certified.cert.pem(), certified.key_pair.serialize_pem());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = Server::builder()
        .tls_config(ServerTlsConfig::new().identity(identity))
        .unwrap()
        .add_service(WebhookServiceServer::new(api))
        .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener));
    let serving = tokio::spawn(server);
    let ca = std::env::temp_dir().join(format!("hookgate-ca-{}.pem", std::process::id()));
    std::fs::write(&ca, certified.cert.pem()).unwrap();
    let cli = Cli {
        server: format!("https://127.0.0.1:{port}"),
        token: None,
    };

    // Not a Web PKI certificate: refused until the CA file vouches for it.
    let untrusted = cli.fails(&["webhooks", "list", "--app", "demo"], "", 1);
    assert!(
        untrusted.contains("cannot reach the hookgate API"),
        "{untrusted}"
    );
    let ca_file = ca.to_str().unwrap();
    let listed = cli.ok(
        &["webhooks", "list", "--app", "demo", "--ca-file", ca_file],
        "",
    );
    assert_eq!(listed, "no webhooks\n");
    std::fs::remove_file(&ca).unwrap();
    serving.abort();
}
