//! The webhook resource and its rules.

use crate::{dedup::Deduplication, names::WebhookName, Error, FieldViolation, Secret};
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
    /// A catalogue entry named by `verification_provider`.
    Provider = 11,
    /// A custom scheme described by `hmac`.
    Hmac = 12,
}

const LAST_TYPE: i32 = 12;

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
            11 => Self::Provider,
            12 => Self::Hmac,
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
            Self::Provider => "provider",
            Self::Hmac => "hmac",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        (1..=LAST_TYPE)
            .filter_map(Self::from_proto)
            .find(|t| t.as_str() == value)
    }

    /// The verification catalogue's id for a type that predates the catalogue.
    pub fn catalogue_id(self) -> Option<&'static str> {
        match self {
            Self::None | Self::Provider | Self::Hmac => None,
            Self::StandardWebhooks => Some("standard-webhooks"),
            other => Some(other.as_str()),
        }
    }

    /// The legacy type a catalogue id stands for, if any.
    pub fn from_catalogue_id(id: &str) -> Option<Self> {
        (2..=10)
            .filter_map(Self::from_proto)
            .find(|t| t.catalogue_id() == Some(id))
    }
}

/// The hash of a custom HMAC scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HmacAlgorithm {
    Sha1,
    #[default]
    Sha256,
    Sha512,
}

/// How a signature is written down in its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SignatureEncoding {
    #[default]
    Hex,
    Base64,
}

pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// A signature scheme described by the user (`VERIFICATION_TYPE_HMAC`); checked for sense
/// by the verification crate when it is written.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HmacScheme {
    pub header: String,
    pub algorithm: HmacAlgorithm,
    pub encoding: SignatureEncoding,
    pub prefix: String,
    /// A template over `{body}`, `{timestamp}`, `{url}`, `{method}`, `{header:NAME}`.
    pub signed_content: String,
    pub timestamp_header: String,
    pub tolerance: Duration,
}

impl Default for HmacScheme {
    fn default() -> Self {
        Self {
            header: String::new(),
            algorithm: HmacAlgorithm::default(),
            encoding: SignatureEncoding::default(),
            prefix: String::new(),
            signed_content: "{body}".into(),
            timestamp_header: String::new(),
            tolerance: DEFAULT_TOLERANCE,
        }
    }
}

pub const DEFAULT_SECRET_GRACE: Duration = Duration::from_secs(24 * 3600);
pub const MAX_SECRET_GRACE: Duration = Duration::from_secs(7 * 24 * 3600);

/// A replaced signing secret that still verifies until `expire_time` (secret rotation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviousSecret {
    pub secret: Secret,
    pub expire_time: DateTime<Utc>,
}

/// Everything a client can set on a webhook. Secrets are [`Secret`]s, so `{:?}` shows none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSpec {
    pub display_name: String,
    pub description: String,
    pub disabled: bool,
    pub verification_type: VerificationType,
    pub verification_code: Secret,
    pub signing_secret: Option<Secret>,
    /// With [`VerificationType::Provider`]: the catalogue id.
    pub verification_provider: String,
    // The rarely set parts are boxed: every gateway holds every webhook in memory, and a
    // `None` box costs 8 bytes where the inline struct costs its whole size.
    /// With [`VerificationType::Hmac`]: the scheme.
    pub hmac: Option<Box<HmacScheme>>,
    pub previous_secret: Option<Box<PreviousSecret>>,
    /// 0 means 200.
    pub response_code: u16,
    pub wait_for_reply: bool,
    pub reply_timeout: Duration,
    pub basic_auth_username: String,
    /// SHA-256 of the password, never the password itself.
    // A boxed `str`, 8 bytes smaller than a `String`, keeps every gateway's copy of a
    // webhook one allocation size class smaller.
    pub basic_auth_password_digest: Option<Secret<Box<str>>>,
    /// `None` until a client sets it.
    pub deduplication: Option<Box<Deduplication>>,
}

impl Default for WebhookSpec {
    fn default() -> Self {
        Self {
            display_name: String::new(),
            description: String::new(),
            disabled: false,
            verification_type: VerificationType::None,
            verification_code: Secret::default(),
            signing_secret: None,
            verification_provider: String::new(),
            hmac: None,
            previous_secret: None,
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
        let violations = self.violations(prefix);
        if violations.is_empty() {
            Ok(())
        } else {
            Err(Error::InvalidArgument(violations))
        }
    }

    /// The broken rules that need no knowledge of verification schemes; the verification
    /// crate adds its own (secrets, providers, custom schemes).
    pub fn violations(&self, prefix: &str) -> Vec<FieldViolation> {
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
        if self.verification_code.expose().chars().count() > MAX_SHORT_TEXT {
            bad(
                "verification_code",
                format!("must be at most {MAX_SHORT_TEXT} characters"),
            );
        }
        if self
            .signing_secret
            .as_ref()
            .is_some_and(|s| s.expose().len() > MAX_SECRET)
        {
            bad(
                "signing_secret",
                format!("must be at most {MAX_SECRET} bytes"),
            );
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
        violations
    }

    /// The status of the default reply. A 1xx code is interim in HTTP and cannot end a
    /// request (hyper would turn it into a 500 after the record was published), so such
    /// webhooks answer 200.
    pub fn success_status(&self) -> u16 {
        match (self.answers_like(), self.response_code) {
            (VerificationType::Fitbit, _) => 204,
            (_, 0..=199) => 200,
            (_, code) => code,
        }
    }

    /// The legacy type whose replies this webhook gives: a catalogue entry for Fitbit or
    /// Twilio answers like the type of the same name.
    pub fn answers_like(&self) -> VerificationType {
        match self.verification_type {
            VerificationType::Provider => {
                VerificationType::from_catalogue_id(&self.verification_provider)
                    .unwrap_or(VerificationType::Provider)
            }
            other => other,
        }
    }

    /// Replaces the signing secret. The one it replaces keeps verifying for `grace`
    /// (none when zero); a secret rotated out earlier is forgotten, only one is kept.
    pub fn rotate_signing_secret(
        &mut self,
        secret: Option<Secret>,
        grace: Duration,
        now: DateTime<Utc>,
    ) {
        if secret == self.signing_secret {
            return;
        }
        // Kept to the microsecond, as every database stores it, so reads equal writes.
        let expire_time = chrono::TimeDelta::from_std(grace)
            .ok()
            .and_then(|grace| now.checked_add_signed(grace))
            .map(|time| {
                chrono::DurationRound::duration_trunc(time, chrono::TimeDelta::microseconds(1))
                    .unwrap_or(time)
            });
        self.previous_secret = match (self.signing_secret.take(), expire_time) {
            (Some(secret), Some(expire_time)) if !grace.is_zero() => {
                Some(Box::new(PreviousSecret {
                    secret,
                    expire_time,
                }))
            }
            _ => None,
        };
        self.signing_secret = secret;
    }

    /// The replaced secret, while it still verifies.
    pub fn active_previous_secret(&self, now: DateTime<Utc>) -> Option<&Secret> {
        self.previous_secret
            .as_ref()
            .filter(|previous| previous.expire_time > now)
            .map(|previous| &previous.secret)
    }

    pub fn has_basic_auth(&self) -> bool {
        !self.basic_auth_username.is_empty() || self.basic_auth_password_digest.is_some()
    }
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
    /// `applications/acme/webhooks/w1` with default settings, for unit tests.
    #[cfg(test)]
    pub(crate) fn example() -> Self {
        Self {
            name: WebhookName::new("acme", "w1"),
            token: "t".repeat(32),
            spec: WebhookSpec::default(),
            revision: 1,
            create_time: Utc::now(),
            update_time: Utc::now(),
        }
    }

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
                    signing_secret: Some("x".repeat(1025).into()),
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
            previous_secret: Some(Box::new(PreviousSecret {
                secret: "previous-signing".into(),
                expire_time: Utc::now(),
            })),
            basic_auth_password_digest: Some("digest-of-password".into()),
            verification_code: "verify-me".into(),
            ..valid()
        };
        let shown = format!("{spec:?}");
        for secret in [
            "top-secret-signing",
            "previous-signing",
            "digest-of-password",
            "verify-me",
        ] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("<redacted>"));
    }

    #[test]
    fn verification_type_names_round_trip() {
        for n in 1..=LAST_TYPE {
            let t = VerificationType::from_proto(n).unwrap();
            assert_eq!(VerificationType::parse(t.as_str()), Some(t));
            assert_eq!(t.as_proto(), n);
        }
        assert_eq!(
            VerificationType::from_proto(0),
            Some(VerificationType::None)
        );
        assert_eq!(VerificationType::from_proto(LAST_TYPE + 1), None);
        for n in 2..=10 {
            let t = VerificationType::from_proto(n).unwrap();
            let id = t.catalogue_id().unwrap();
            assert_eq!(VerificationType::from_catalogue_id(id), Some(t));
        }
    }

    #[test]
    fn a_rotated_secret_keeps_verifying_for_its_grace_only() {
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let day = Duration::from_secs(86_400);
        let mut spec = WebhookSpec {
            signing_secret: Some("one".into()),
            ..valid()
        };
        spec.rotate_signing_secret(Some("one".into()), day, now);
        assert_eq!(
            spec.previous_secret, None,
            "an unchanged secret rotates nothing"
        );
        spec.rotate_signing_secret(Some("two".into()), day, now);
        assert_eq!(spec.active_previous_secret(now), Some(&Secret::from("one")));
        let later = now + chrono::TimeDelta::seconds(86_400);
        assert_eq!(spec.active_previous_secret(later), None);
        spec.rotate_signing_secret(Some("three".into()), day, now);
        assert_eq!(spec.active_previous_secret(now), Some(&Secret::from("two")));
        spec.rotate_signing_secret(Some("four".into()), Duration::ZERO, now);
        assert_eq!(
            spec.previous_secret, None,
            "a zero grace drops the old secret"
        );
        assert_eq!(spec.signing_secret, Some(Secret::from("four")));
    }
}
