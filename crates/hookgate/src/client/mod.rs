//! `hookgate webhooks …` and `hookgate providers list`: the gRPC API from the command line,
//! tables for people and proto3 JSON for scripts.

mod fields;
mod output;
mod status;
mod text;

use anyhow::{bail, Context};
use clap::{Args, Subcommand, ValueEnum};
use hookgate_proto::v1::{self as pb, webhook_service_client::WebhookServiceClient};
use std::{path::PathBuf, time::Duration};
use tokio::sync::watch;
use tonic::{
    metadata::MetadataValue,
    service::interceptor::InterceptedService,
    transport::{Certificate, Channel, ClientTlsConfig},
};

pub use fields::WebhookFields;
use output::Output;

/// The client commands, flattened into the top-level command list.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create, read, change, delete and test webhooks through the gRPC API.
    Webhooks(Box<WebhooksArgs>),
    /// The verification provider catalogue of the server.
    Providers(ProvidersArgs),
}

#[derive(Debug, Args)]
pub struct WebhooksArgs {
    #[command(subcommand)]
    command: WebhooksCommand,
    #[command(flatten)]
    connection: Connection,
}

#[derive(Debug, Args)]
pub struct ProvidersArgs {
    #[command(subcommand)]
    command: ProvidersCommand,
    #[command(flatten)]
    connection: Connection,
}

#[derive(Debug, Subcommand)]
enum ProvidersCommand {
    /// Every id `--provider` accepts, with what to paste as the signing secret.
    List,
}

#[derive(Debug, Subcommand)]
enum WebhooksCommand {
    /// Create a webhook under an application.
    Create {
        /// The application (tenant) the webhook belongs to.
        #[arg(long)]
        app: String,
        #[command(flatten)]
        fields: WebhookFields,
    },
    /// Show one webhook.
    Get {
        /// `applications/{application}/webhooks/{webhook}`.
        name: String,
    },
    /// List an application's webhooks, oldest first (every page).
    List {
        /// The application (tenant) whose webhooks to list.
        #[arg(long)]
        app: String,
        /// Webhooks fetched per call (the server caps it at 1000).
        #[arg(long, default_value_t = 100)]
        page_size: i32,
    },
    /// Change the fields given as flags; the others keep their values.
    Update {
        /// `applications/{application}/webhooks/{webhook}`.
        name: String,
        /// Only update if the webhook still has this etag.
        #[arg(long)]
        etag: Option<String>,
        #[command(flatten)]
        fields: WebhookFields,
    },
    /// Delete a webhook; its URL answers 404 from then on.
    Delete {
        /// `applications/{application}/webhooks/{webhook}`.
        name: String,
        /// Only delete if the webhook still has this etag.
        #[arg(long)]
        etag: Option<String>,
    },
    /// Send a request through the real request path; the record is marked "test": true.
    Test {
        /// `applications/{application}/webhooks/{webhook}`.
        name: String,
        /// HTTP method.
        #[arg(long, default_value = "POST")]
        method: String,
        /// Sub-path after the webhook URL, may carry `?query`.
        #[arg(long, default_value = "")]
        path: String,
        /// Request body (JSON text).
        #[arg(long, conflicts_with = "body_file")]
        body: Option<String>,
        /// Read the body from a file (`-` for stdin).
        #[arg(long, value_name = "PATH")]
        body_file: Option<PathBuf>,
        /// A request header, `Name: value`; repeatable.
        #[arg(short = 'H', long = "header", value_name = "NAME: VALUE", value_parser = parse_header)]
        headers: Vec<(String, String)>,
    },
    /// Give the webhook a new URL; the old one answers 404 from then on.
    RotateUrl {
        /// `applications/{application}/webhooks/{webhook}`.
        name: String,
    },
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Connection")]
struct Connection {
    /// The gRPC API.
    #[arg(
        long,
        global = true,
        env = "HOOKGATE_SERVER",
        default_value = "http://127.0.0.1:50051"
    )]
    server: String,
    /// API bearer token (prefer the environment variable or --token-file: argv is visible to
    /// other local users).
    #[arg(
        long,
        global = true,
        env = "HOOKGATE_TOKEN",
        hide_env_values = true,
        conflicts_with = "token_file"
    )]
    token: Option<String>,
    /// Read the API bearer token from a file (`-` for stdin).
    #[arg(long, global = true, value_name = "PATH")]
    token_file: Option<PathBuf>,
    /// PEM certificate(s) to trust for an `https://` server besides the Web PKI roots.
    #[arg(long, global = true, env = "HOOKGATE_CA_FILE", value_name = "PATH")]
    ca_file: Option<PathBuf>,
    /// `table` for people, `json` (proto3 JSON) for scripts.
    #[arg(short, long, global = true, value_enum, default_value_t = Format::Table)]
    output: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Table,
    Json,
}

/// How long connecting may take; the calls themselves run until answered or interrupted,
/// since a tested webhook may wait up to its reply_timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs one client command; SIGINT and SIGTERM (`stop`) end it at once.
pub async fn run(command: Command, mut stop: watch::Receiver<bool>) -> anyhow::Result<()> {
    tokio::select! {
        result = dispatch(command) => result,
        _ = stop.wait_for(|stopped| *stopped) => bail!("interrupted"),
    }
}

async fn dispatch(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Webhooks(args) => {
            // Read secrets before connecting, so a bad path fails without a network round trip.
            let request = webhooks_request(args.command)?;
            let output = Output::new(args.connection.output == Format::Json);
            let mut client = connect(&args.connection).await?;
            request.send(&mut client, &output).await
        }
        Command::Providers(args) => {
            let output = Output::new(args.connection.output == Format::Json);
            let mut client = connect(&args.connection).await?;
            match args.command {
                ProvidersCommand::List => {
                    let request = pb::ListVerificationProvidersRequest {};
                    let rpc = client.list_verification_providers(request);
                    output.providers(&call("ListVerificationProviders", rpc).await?.providers)
                }
            }
        }
    }
}

type Client = WebhookServiceClient<InterceptedService<Channel, Bearer>>;

/// Adds `authorization: Bearer …` to every call when a token is configured.
#[derive(Clone)]
struct Bearer(Option<MetadataValue<tonic::metadata::Ascii>>);

impl tonic::service::Interceptor for Bearer {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

async fn connect(connection: &Connection) -> anyhow::Result<Client> {
    let token = match (&connection.token, &connection.token_file) {
        (Some(token), _) => Some(token.trim().to_owned()),
        (None, Some(path)) => Some(text::read_secret(path).context("--token-file")?),
        (None, None) => None,
    };
    let bearer = token
        .filter(|token| !token.is_empty())
        .map(|token| {
            let mut value = MetadataValue::try_from(format!("Bearer {token}"))
                .context("HOOKGATE_TOKEN: not a valid header value")?;
            value.set_sensitive(true);
            anyhow::Ok(value)
        })
        .transpose()?;
    let mut endpoint = tonic::transport::Endpoint::from_shared(connection.server.clone())
        .with_context(|| format!("HOOKGATE_SERVER: {} is not a URL", connection.server))?
        .connect_timeout(CONNECT_TIMEOUT);
    if endpoint.uri().scheme_str() == Some("https") {
        let mut tls = ClientTlsConfig::new().with_webpki_roots();
        if let Some(path) = &connection.ca_file {
            let pem = std::fs::read(path)
                .with_context(|| format!("HOOKGATE_CA_FILE: reading {}", path.display()))?;
            tls = tls.ca_certificate(Certificate::from_pem(pem));
        }
        endpoint = endpoint
            .tls_config(tls)
            .context("HOOKGATE_SERVER: TLS setup")?;
    }
    let channel = endpoint.connect().await.map_err(|error| {
        anyhow::anyhow!(
            "cannot reach the hookgate API at {}: {}",
            connection.server,
            status::transport_cause(&error)
        )
    })?;
    Ok(WebhookServiceClient::with_interceptor(
        channel,
        Bearer(bearer),
    ))
}

/// A webhooks command with its inputs read, ready to send.
enum WebhooksRequest {
    Create(pb::CreateWebhookRequest),
    Get(pb::GetWebhookRequest),
    List(pb::ListWebhooksRequest),
    Update(pb::UpdateWebhookRequest),
    Delete(pb::DeleteWebhookRequest),
    Test(pb::TestWebhookRequest),
    RotateUrl(pb::RotateWebhookUrlRequest),
}

fn webhooks_request(command: WebhooksCommand) -> anyhow::Result<WebhooksRequest> {
    Ok(match command {
        WebhooksCommand::Create { app, fields } => {
            let (webhook, _) = fields.to_proto()?;
            WebhooksRequest::Create(pb::CreateWebhookRequest {
                parent: format!("applications/{app}"),
                webhook: Some(webhook),
            })
        }
        WebhooksCommand::Get { name } => WebhooksRequest::Get(pb::GetWebhookRequest { name }),
        WebhooksCommand::List { app, page_size } => {
            WebhooksRequest::List(pb::ListWebhooksRequest {
                parent: format!("applications/{app}"),
                page_size,
                page_token: String::new(),
            })
        }
        WebhooksCommand::Update { name, etag, fields } => {
            let (mut webhook, paths) = fields.to_proto()?;
            if paths.is_empty() {
                bail!("nothing to update: give at least one field flag (see --help)");
            }
            webhook.name = name;
            webhook.etag = etag.unwrap_or_default();
            WebhooksRequest::Update(pb::UpdateWebhookRequest {
                webhook: Some(webhook),
                update_mask: Some(prost_types::FieldMask { paths }),
            })
        }
        WebhooksCommand::Delete { name, etag } => {
            WebhooksRequest::Delete(pb::DeleteWebhookRequest {
                name,
                etag: etag.unwrap_or_default(),
            })
        }
        WebhooksCommand::Test {
            name,
            method,
            path,
            body,
            body_file,
            headers,
        } => {
            let body = match (body, body_file) {
                (Some(body), _) => body,
                (None, Some(path)) => text::read_text(&path).context("--body-file")?,
                (None, None) => String::new(),
            };
            WebhooksRequest::Test(pb::TestWebhookRequest {
                name,
                method,
                path,
                body,
                headers: headers.into_iter().collect(),
            })
        }
        WebhooksCommand::RotateUrl { name } => {
            WebhooksRequest::RotateUrl(pb::RotateWebhookUrlRequest { name })
        }
    })
}

/// The answer to one RPC, its failure named after the RPC.
async fn call<T>(
    rpc: &'static str,
    response: impl std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>>,
) -> anyhow::Result<T> {
    response
        .await
        .map(tonic::Response::into_inner)
        .map_err(|status| status::rpc_error(rpc, status))
}

impl WebhooksRequest {
    async fn send(self, client: &mut Client, output: &Output) -> anyhow::Result<()> {
        match self {
            Self::Create(request) => {
                output.webhook(&call("CreateWebhook", client.create_webhook(request)).await?)
            }
            Self::Get(request) => {
                output.webhook(&call("GetWebhook", client.get_webhook(request)).await?)
            }
            Self::List(mut request) => {
                let mut webhooks = Vec::new();
                loop {
                    let page = call("ListWebhooks", client.list_webhooks(request.clone())).await?;
                    webhooks.extend(page.webhooks);
                    if page.next_page_token.is_empty() {
                        break;
                    }
                    request.page_token = page.next_page_token;
                }
                output.webhooks(&webhooks)
            }
            Self::Update(request) => {
                output.webhook(&call("UpdateWebhook", client.update_webhook(request)).await?)
            }
            Self::Delete(request) => {
                let name = request.name.clone();
                call("DeleteWebhook", client.delete_webhook(request)).await?;
                output.deleted(&name)
            }
            Self::Test(request) => {
                output.test(&call("TestWebhook", client.test_webhook(request)).await?)
            }
            Self::RotateUrl(request) => {
                output.webhook(&call("RotateWebhookUrl", client.rotate_webhook_url(request)).await?)
            }
        }
    }
}

fn parse_header(value: &str) -> Result<(String, String), String> {
    match value.split_once(':') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_owned(), value.trim().to_owned()))
        }
        _ => Err("expected `Name: value`".into()),
    }
}
