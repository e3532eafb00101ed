//! The webhook field flags of `create` and `update`, and the one place they become a
//! `Webhook` message and its update mask.

use super::text::read_secret;
use anyhow::{bail, Context};
use clap::Args;
use hookgate_proto::v1 as pb;
use std::{path::PathBuf, time::Duration};

#[derive(Debug, Clone, Default, Args)]
pub struct WebhookFields {
    /// 1 to 255 characters.
    #[arg(long)]
    display_name: Option<String>,
    #[arg(long)]
    description: Option<String>,
    /// A disabled webhook answers 200 and publishes nothing (`--disabled=false` re-enables).
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    disabled: Option<bool>,
    /// none, facebook, fitbit, twilio, github, stripe, slack, shopify, standard-webhooks,
    /// alexa, …
    #[arg(long, value_name = "TYPE", value_parser = parse_verification_type, conflicts_with = "provider")]
    verification_type: Option<i32>,
    /// A catalogue id from `hookgate providers list`, e.g. `zoom`.
    #[arg(long, value_name = "ID")]
    provider: Option<String>,
    /// The handshake token (Facebook Verify Token, Fitbit subscriber verification code).
    #[arg(long, value_name = "CODE")]
    verification_code: Option<String>,
    /// Read the signing secret from a file (`-` for stdin); one trailing newline is dropped.
    #[arg(long, value_name = "PATH", conflicts_with = "clear_signing_secret")]
    signing_secret_file: Option<PathBuf>,
    /// After a secret change, how long the replaced secret still verifies (0 to 7 days).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    signing_secret_grace: Option<Duration>,
    /// Remove the signing secret.
    #[arg(long)]
    clear_signing_secret: bool,
    /// HTTP status of the default reply (0 = 200).
    #[arg(long, value_name = "CODE")]
    response_code: Option<i32>,
    /// Hold each request until a workflow replies (`--wait-for-reply=false` turns it off).
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    wait_for_reply: Option<bool>,
    /// How long to wait for a reply, e.g. `30s` (at most 120 s).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    reply_timeout: Option<Duration>,
    #[arg(long, value_name = "USERNAME")]
    basic_auth_username: Option<String>,
    /// Read the Basic auth password from a file (`-` for stdin).
    #[arg(
        long,
        value_name = "PATH",
        conflicts_with = "clear_basic_auth_password"
    )]
    basic_auth_password_file: Option<PathBuf>,
    /// Remove the Basic auth password.
    #[arg(long)]
    clear_basic_auth_password: bool,
}

impl WebhookFields {
    /// The message carrying every field given, and the update-mask paths naming them.
    pub fn to_proto(&self) -> anyhow::Result<(pb::Webhook, Vec<String>)> {
        if self.signing_secret_file.as_deref() == Some("-".as_ref())
            && self.basic_auth_password_file.as_deref() == Some("-".as_ref())
        {
            bail!(
                "only one of --signing-secret-file and --basic-auth-password-file can read stdin"
            );
        }
        let mut webhook = pb::Webhook::default();
        let mut paths = Vec::new();
        let mut set = |path: &str| paths.push(path.to_owned());
        if let Some(value) = &self.display_name {
            webhook.display_name = value.clone();
            set("display_name");
        }
        if let Some(value) = &self.description {
            webhook.description = value.clone();
            set("description");
        }
        if let Some(value) = self.disabled {
            webhook.disabled = value;
            set("disabled");
        }
        if let Some(value) = self.verification_type {
            webhook.verification_type = value;
            set("verification_type");
        }
        if let Some(id) = &self.provider {
            set_provider(&mut webhook, id, &mut set);
        }
        if let Some(value) = &self.verification_code {
            webhook.verification_code = value.clone();
            set("verification_code");
        }
        if let Some(path) = &self.signing_secret_file {
            webhook.signing_secret = read_secret(path).context("--signing-secret-file")?;
            set("signing_secret");
        }
        if self.clear_signing_secret {
            set("signing_secret");
        }
        if let Some(value) = self.response_code {
            webhook.response_code = value;
            set("response_code");
        }
        if let Some(value) = self.wait_for_reply {
            webhook.wait_for_reply = value;
            set("wait_for_reply");
        }
        if let Some(value) = self.reply_timeout {
            webhook.reply_timeout = Some(duration(value).context("--reply-timeout")?);
            set("reply_timeout");
        }
        if let Some(value) = self.signing_secret_grace {
            webhook.signing_secret_grace = Some(duration(value).context("--signing-secret-grace")?);
            set("signing_secret_grace");
        }
        if let Some(value) = &self.basic_auth_username {
            webhook.basic_auth_username = value.clone();
            set("basic_auth_username");
        }
        if let Some(path) = &self.basic_auth_password_file {
            webhook.basic_auth_password =
                read_secret(path).context("--basic-auth-password-file")?;
            set("basic_auth_password");
        }
        if self.clear_basic_auth_password {
            set("basic_auth_password");
        }
        Ok((webhook, paths))
    }
}

fn duration(value: Duration) -> anyhow::Result<prost_types::Duration> {
    Ok(prost_types::Duration {
        seconds: i64::try_from(value.as_secs()).context("too long")?,
        nanos: i32::try_from(value.subsec_nanos()).unwrap_or(0),
    })
}

/// `--provider ID`: `VERIFICATION_TYPE_PROVIDER` and `verification_provider`.
fn set_provider(webhook: &mut pb::Webhook, id: &str, set: &mut impl FnMut(&str)) {
    webhook.verification_type = pb::VerificationType::Provider as i32;
    webhook.verification_provider = id.to_owned();
    set("verification_type");
    set("verification_provider");
}

/// `github`, `standard-webhooks`, `STANDARD_WEBHOOKS`: any `VerificationType` but UNSPECIFIED.
fn parse_verification_type(value: &str) -> Result<i32, String> {
    let name = format!(
        "VERIFICATION_TYPE_{}",
        value.trim().to_ascii_uppercase().replace('-', "_")
    );
    match pb::VerificationType::from_str_name(&name) {
        Some(pb::VerificationType::Unspecified) | None => {
            let known: Vec<String> = (1..64)
                .filter_map(|n| pb::VerificationType::try_from(n).ok())
                .map(verification_type_flag)
                .collect();
            Err(format!("expected one of: {}", known.join(", ")))
        }
        Some(kind) => Ok(kind as i32),
    }
}

/// The flag spelling of a verification type: `standard-webhooks`.
pub fn verification_type_flag(kind: pb::VerificationType) -> String {
    kind.as_str_name()
        .trim_start_matches("VERIFICATION_TYPE_")
        .to_ascii_lowercase()
        .replace('_', "-")
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Flags {
        #[command(flatten)]
        fields: WebhookFields,
    }

    fn parse(args: &[&str]) -> (pb::Webhook, Vec<String>) {
        let flags = Flags::try_parse_from(std::iter::once("x").chain(args.iter().copied()))
            .expect("flags parse");
        flags.fields.to_proto().expect("mapped")
    }

    #[test]
    fn each_flag_sets_its_field_and_names_its_path() {
        let (webhook, paths) = parse(&[
            "--display-name",
            "orders",
            "--verification-type",
            "standard-webhooks",
            "--wait-for-reply",
            "--disabled=false",
            "--reply-timeout",
            "1500ms",
            "--clear-signing-secret",
        ]);
        assert_eq!(webhook.display_name, "orders");
        assert_eq!(
            webhook.verification_type,
            pb::VerificationType::StandardWebhooks as i32
        );
        assert!(webhook.wait_for_reply);
        assert!(!webhook.disabled);
        assert_eq!(
            webhook.reply_timeout,
            Some(prost_types::Duration {
                seconds: 1,
                nanos: 500_000_000
            })
        );
        assert_eq!(
            paths,
            [
                "display_name",
                "disabled",
                "verification_type",
                "signing_secret",
                "wait_for_reply",
                "reply_timeout"
            ]
        );
        assert_eq!(parse(&[]).1, Vec::<String>::new());
    }

    #[test]
    fn a_provider_sets_the_type_and_the_catalogue_id() {
        let (webhook, paths) = parse(&["--provider", "zoom", "--signing-secret-grace", "1h"]);
        assert_eq!(
            webhook.verification_type,
            pb::VerificationType::Provider as i32
        );
        assert_eq!(webhook.verification_provider, "zoom");
        assert_eq!(webhook.signing_secret_grace.map(|d| d.seconds), Some(3600));
        assert_eq!(
            paths,
            [
                "verification_type",
                "verification_provider",
                "signing_secret_grace"
            ]
        );
    }

    #[test]
    fn verification_types_are_named_like_flags() {
        assert_eq!(
            parse_verification_type("GitHub"),
            Ok(pb::VerificationType::Github as i32)
        );
        let err = parse_verification_type("unspecified").unwrap_err();
        assert!(err.contains("standard-webhooks"), "{err}");
        assert!(parse_verification_type("nope").is_err());
    }
}
