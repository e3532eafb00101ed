//! The webhook resource and its rules.

use crate::{dedup::Deduplication, names::WebhookName, Error, FieldViolation};
use base64::Engine;
use chrono::{DateTime, Utc};
use std::time::Duration;

pub const DEFAULT_REPLY_TIMEOUT: Duration = Duration::from_secs(60);
pub const MAX_REPLY_TIMEOUT: Duration = Duration::from_secs(120);
const MAX_DISPLAY_NAME: usize = 255;
const MAX_DESCRIPTION: usize = 32767;
const MAX_SHORT_TEXT: usize = 255;
const MAX_SECRET: usize = 1024;

/// How requests to a webhook are verified. The discriminants are the proto enum's numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(i32)]
pub enum VerificationType {
    #[default]
    None = 1,
    Facebook = 2,
    Fitbit = 3,
    Twilio = 4,
    Github = 5,
    Stripe = 6,
    Slack = 7,
    Shopify = 8,
    StandardWebhooks = 9,
    Alexa = 10,
}

impl VerificationType {
    /// From the proto number; 0 (unspecified) means none, unknown numbers are `None`.
    pub fn from_proto(value: i32) -> Option<Self> {
        Some(match value {
            0 | 1 => Self::None,
            2 => Self::Facebook,
            3 => Self::Fitbit,
            4 => Self::Twilio,
            5 => Self::Github,
            6 => Self::Stripe,
            7 => Self::Slack,
            8 => Self::Shopify,
            9 => Self::StandardWebhooks,
            10 => Self::Alexa,
            _ => return None,
        })
    }

    pub fn as_proto(self) -> i32 {
        self as i32
    }

    /// The name used in storage and in the trigger record's `verified` field.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Facebook => "facebook",
            Self::Fitbit => "fitbit",
            Self::Twilio => "twilio",
            Self::Github => "github",
            Self::Stripe => "stripe",
            Self::Slack => "slack",
            Self::Shopify => "shopify",
            Self::StandardWebhooks => "standard_webhooks",
            Self::Alexa => "alexa",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        (1..=10)
            .filter_map(Self::from_proto)
            .find(|t| t.as_str() == value)
    }

    /// Types whose whole point is a signature: without a secret they would accept anything.
    pub fn requires_signing_secret(self) -> bool {
        matches!(
            self,
            Self::Twilio
                | Self::Github
                | Self::Stripe
                | Self::Slack
                | Self::Shopify
                | Self::StandardWebhooks
        )
    }

    pub fn requires_verification_code(self) -> bool {
        matches!(self, Self::Facebook | Self::Fitbit)
    }
}

/// Everything a client can set on a webhook.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSpec {
    pub display_name: String,
    pub description: String,
    pub disabled: bool,
    pub verification_type: VerificationType,
    pub verification_code: String,
    pub signing_secret: Option<String>,
    /// 0 means 200.
    pub response_code: u16,
    pub wait_for_reply: bool,
    pub reply_timeout: Duration,
    pub basic_auth_username: String,
    /// SHA-256 of the password, never the password itself.
    pub basic_auth_password_digest: Option<String>,
    /// `None` until a client sets it.
    pub deduplication: Option<Deduplication>,
}

/// Shows that secrets are set, never what they are, so a stray `?spec` leaks nothing.
fn redacted<T>(secret: &Option<T>) -> Option<&'static str> {
    secret.as_ref().map(|_| "<redacted>")
}

impl std::fmt::Debug for WebhookSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSpec")
            .field("display_name", &self.display_name)
            .field("description", &self.description)
            .field("disabled", &self.disabled)
            .field("verification_type", &self.verification_type)
            .field(
                "verification_code",
                &redacted(&Some(&self.verification_code)),
            )
            .field("signing_secret", &redacted(&self.signing_secret))
            .field("response_code", &self.response_code)
            .field("wait_for_reply", &self.wait_for_reply)
            .field("reply_timeout", &self.reply_timeout)
            .field("basic_auth_username", &self.basic_auth_username)
            .field(
                "basic_auth_password_digest",
                &redacted(&self.basic_auth_password_digest),
            )
            .field("deduplication", &self.deduplication)
            .finish()
    }
}

impl Default for WebhookSpec {
    fn default() -> Self {
        Self {
            display_name: String::new(),
            description: String::new(),
            disabled: false,
            verification_type: VerificationType::None,
            verification_code: String::new(),
            signing_secret: None,
            response_code: 0,
            wait_for_reply: false,
            reply_timeout: DEFAULT_REPLY_TIMEOUT,
            basic_auth_username: String::new(),
            basic_auth_password_digest: None,
            deduplication: None,
        }
    }
}

impl WebhookSpec {
    /// Checks every rule, reporting each broken one under `{prefix}.{field}`.
    pub fn validate(&self, prefix: &str) -> Result<(), Error> {
        let mut violations = Vec::new();
        let mut bad = |field: &str, description: String| {
            violations.push(FieldViolation::new(
                format!("{prefix}.{field}"),
                description,
            ))
        };
        let name_len = self.display_name.chars().count();
        if self.display_name.trim().is_empty() {
            bad("display_name", "is required".into());
        } else if name_len > MAX_DISPLAY_NAME {
            bad(
                "display_name",
                format!("must be at most {MAX_DISPLAY_NAME} characters, got {name_len}"),
            );
        }
        let description_len = self.description.chars().count();
        if description_len > MAX_DESCRIPTION {
            bad(
                "description",
                format!("must be at most {MAX_DESCRIPTION} characters, got {description_len}"),
            );
        }
        if self.response_code != 0 && !(100..=599).contains(&self.response_code) {
            bad(
                "response_code",
                format!("must be 0 (200) or 100 to 599, got {}", self.response_code),
            );
        }
        let kind = self.verification_type;
        if kind.requires_verification_code() && self.verification_code.is_empty() {
            bad(
                "verification_code",
                format!("is required for verification type {}", kind.as_str()),
            );
        }
        if self.verification_code.chars().count() > MAX_SHORT_TEXT {
            bad(
                "verification_code",
                format!("must be at most {MAX_SHORT_TEXT} characters"),
            );
        }
        match self.signing_secret.as_deref() {
            None if kind.requires_signing_secret() => bad(
                "signing_secret",
                format!(
                    "is required for verification type {}: without it every request would be accepted",
                    kind.as_str()
                ),
            ),
            Some(secret) if secret.len() > MAX_SECRET => bad(
                "signing_secret",
                format!("must be at most {MAX_SECRET} bytes"),
            ),
            Some(secret) if kind == VerificationType::StandardWebhooks && !is_standard_webhooks_secret(secret) => bad(
                "signing_secret",
                "must be whsec_ followed by base64".into(),
            ),
            _ => {}
        }
        // Stored to the millisecond, so anything shorter would be kept as zero.
        if self.reply_timeout < Duration::from_millis(1) || self.reply_timeout > MAX_REPLY_TIMEOUT {
            bad(
                "reply_timeout",
                format!(
                    "must be at least 1 ms and at most {} s",
                    MAX_REPLY_TIMEOUT.as_secs()
                ),
            );
        }
        if self.basic_auth_username.contains(':') {
            bad("basic_auth_username", "must not contain ':'".into());
        }
        if self.basic_auth_username.chars().count() > MAX_SHORT_TEXT {
            bad(
                "basic_auth_username",
                format!("must be at most {MAX_SHORT_TEXT} characters"),
            );
        }
        if let Some(dedup) = &self.deduplication {
            for (field, description) in dedup.violations() {
                bad(&format!("deduplication.{field}"), description);
            }
        }
        if violations.is_empty() {
            Ok(())
        } else {
            Err(Error::InvalidArgument(violations))
        }
    }

    /// The status of the default reply. A 1xx code is interim in HTTP and cannot end a
    /// request (hyper would turn it into a 500 after the record was published), so such
    /// webhooks answer 200.
    pub fn success_status(&self) -> u16 {
        match (self.verification_type, self.response_code) {
            (VerificationType::Fitbit, _) => 204,
            (_, 0..=199) => 200,
            (_, code) => code,
        }
    }

    pub fn has_basic_auth(&self) -> bool {
        !self.basic_auth_username.is_empty() || self.basic_auth_password_digest.is_some()
    }
}

fn is_standard_webhooks_secret(secret: &str) -> bool {
    secret.strip_prefix("whsec_").is_some_and(|key| {
        base64::engine::general_purpose::STANDARD
            .decode(key)
            .is_ok_and(|k| !k.is_empty())
    })
}

/// A stored webhook. Its `Debug` leaves out the token, which is the URL's only secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Webhook {
    pub name: WebhookName,
    pub token: String,
    pub spec: WebhookSpec,
    /// Bumped on every change; the etag is derived from it.
    pub revision: i64,
    pub create_time: DateTime<Utc>,
    pub update_time: DateTime<Utc>,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("name", &self.name)
            .field("token", &"<redacted>")
            .field("spec", &self.spec)
            .field("revision", &self.revision)
            .field("create_time", &self.create_time)
            .field("update_time", &self.update_time)
            .finish()
    }
}

impl Webhook {
    pub fn etag(&self) -> String {
        format!("\"{}\"", self.revision)
    }

    pub fn url(&self, public_url: &str) -> String {
        format!(
            "{}/webhooks/{}",
            public_url.trim_end_matches('/'),
            self.token
        )
    }

    /// Fails with ABORTED when a caller's etag is set and stale.
    pub fn check_etag(&self, etag: &str) -> Result<(), Error> {
        if etag.is_empty() || etag == self.etag() {
            Ok(())
        } else {
            Err(Error::EtagMismatch(self.name.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> WebhookSpec {
        WebhookSpec {
            display_name: "orders".into(),
            ..WebhookSpec::default()
        }
    }

    fn fields(err: Error) -> Vec<String> {
        match err {
            Error::InvalidArgument(v) => v.into_iter().map(|v| v.field).collect(),
            other => panic!("expected invalid argument, got {other:?}"),
        }
    }

    #[test]
    fn default_spec_with_a_name_is_valid() {
        valid().validate("webhook").unwrap();
    }

    #[test]
    fn each_rule_names_its_field() {
        let cases: Vec<(WebhookSpec, &str)> = vec![
            (
                WebhookSpec {
                    display_name: String::new(),
                    ..valid()
                },
                "webhook.display_name",
            ),
            (
                WebhookSpec {
                    display_name: "x".repeat(256),
                    ..valid()
                },
                "webhook.display_name",
            ),
            (
                WebhookSpec {
                    description: "x".repeat(32768),
                    ..valid()
                },
                "webhook.description",
            ),
            (
                WebhookSpec {
                    response_code: 42,
                    ..valid()
                },
                "webhook.response_code",
            ),
            (
                WebhookSpec {
                    response_code: 600,
                    ..valid()
                },
                "webhook.response_code",
            ),
            (
                WebhookSpec {
                    verification_type: VerificationType::Facebook,
                    ..valid()
                },
                "webhook.verification_code",
            ),
            (
                WebhookSpec {
                    verification_type: VerificationType::Github,
                    ..valid()
                },
                "webhook.signing_secret",
            ),
            (
                WebhookSpec {
                    verification_type: VerificationType::StandardWebhooks,
                    signing_secret: Some("nope".into()),
                    ..valid()
                },
                "webhook.signing_secret",
            ),
            (
                WebhookSpec {
                    reply_timeout: Duration::from_secs(121),
                    ..valid()
                },
                "webhook.reply_timeout",
            ),
            (
                WebhookSpec {
                    reply_timeout: Duration::from_micros(500),
                    ..valid()
                },
                "webhook.reply_timeout",
            ),
            (
                WebhookSpec {
                    basic_auth_username: "a:b".into(),
                    ..valid()
                },
                "webhook.basic_auth_username",
            ),
        ];
        for (spec, field) in cases {
            assert_eq!(
                fields(spec.validate("webhook").unwrap_err()),
                vec![field.to_string()]
            );
        }
    }

    #[test]
    fn reports_every_broken_rule_at_once() {
        let spec = WebhookSpec {
            display_name: String::new(),
            response_code: 42,
            ..valid()
        };
        assert_eq!(
            fields(spec.validate("webhook").unwrap_err()),
            vec!["webhook.display_name", "webhook.response_code"]
        );
    }

    #[test]
    fn fitbit_always_answers_204_and_zero_means_200() {
        assert_eq!(valid().success_status(), 200);
        assert_eq!(
            WebhookSpec {
                response_code: 201,
                ..valid()
            }
            .success_status(),
            201
        );
        let fitbit = WebhookSpec {
            verification_type: VerificationType::Fitbit,
            response_code: 201,
            ..valid()
        };
        assert_eq!(fitbit.success_status(), 204);
        let interim = WebhookSpec {
            response_code: 101,
            ..valid()
        };
        assert!(
            interim.validate("webhook").is_ok(),
            "100 to 599 are accepted"
        );
        assert_eq!(interim.success_status(), 200);
    }

    #[test]
    fn debug_output_keeps_secrets_out() {
        let spec = WebhookSpec {
            signing_secret: Some("top-secret-signing".into()),
            basic_auth_password_digest: Some("digest-of-password".into()),
            verification_code: "verify-me".into(),
            ..valid()
        };
        let shown = format!("{spec:?}");
        for secret in ["top-secret-signing", "digest-of-password", "verify-me"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("<redacted>"));
    }

    #[test]
    fn verification_type_names_round_trip() {
        for n in 1..=10 {
            let t = VerificationType::from_proto(n).unwrap();
            assert_eq!(VerificationType::parse(t.as_str()), Some(t));
            assert_eq!(t.as_proto(), n);
        }
        assert_eq!(
            VerificationType::from_proto(0),
            Some(VerificationType::None)
        );
        assert_eq!(VerificationType::from_proto(11), None);
    }
}
