//! The write-time rules that depend on how a webhook is verified.

use crate::{
    catalogue::{self, Algorithm, KeyFormat, Provider, Scheme},
    custom,
};
use base64::{engine::general_purpose::STANDARD, Engine};
use hookgate_domain::{Error, FieldViolation, VerificationType, WebhookSpec};

/// Every rule of `spec`, the model's and the verification's, reported at once.
pub fn validate(spec: &WebhookSpec, prefix: &str) -> Result<(), Error> {
    let mut violations = spec.violations(prefix);
    violations.extend(verification_violations(spec, prefix));
    if violations.is_empty() {
        Ok(())
    } else {
        Err(Error::InvalidArgument(violations))
    }
}

fn verification_violations(spec: &WebhookSpec, prefix: &str) -> Vec<FieldViolation> {
    let mut violations = match (spec.verification_type, &spec.hmac) {
        (VerificationType::Hmac, Some(scheme)) => custom::violations(scheme, prefix),
        _ => Vec::new(),
    };
    let mut bad = |field: &str, description: String| {
        violations.push(FieldViolation::new(
            format!("{prefix}.{field}"),
            description,
        ))
    };
    let kind = spec.verification_type;
    match kind {
        VerificationType::Hmac => match &spec.hmac {
            None => bad("hmac", "is required for verification type hmac".into()),
            Some(_) => {
                if spec.signing_secret.is_none() {
                    bad("signing_secret", "is required for verification type hmac: without it every request would be accepted".into());
                }
            }
        },
        VerificationType::Provider if spec.verification_provider.is_empty() => bad(
            "verification_provider",
            "is required for verification type provider".into(),
        ),
        _ => {}
    }
    let provider = catalogue::provider_of(spec);
    if kind == VerificationType::Provider
        && provider.is_none()
        && !spec.verification_provider.is_empty()
    {
        bad(
            "verification_provider",
            format!(
                "unknown provider {:?}; ListVerificationProviders lists the known ones",
                spec.verification_provider
            ),
        );
    }
    let Some(provider) = provider else {
        return violations;
    };
    let label = provider.id;
    if provider.needs_verification_code() && spec.verification_code.expose().is_empty() {
        bad(
            "verification_code",
            format!("is required for {label}: it is the handshake's token"),
        );
    }
    // The older types accepted unsigned Facebook and Fitbit webhooks; catalogue ids fail closed.
    let secret_required = provider.needs_secret()
        && (kind == VerificationType::Provider
            || !matches!(kind, VerificationType::Facebook | VerificationType::Fitbit));
    match &spec.signing_secret {
        None if secret_required => {
            bad(
                "signing_secret",
                format!(
                "is required for verification type {}: without it every request would be accepted",
                if kind == VerificationType::Provider { label } else { kind.as_str() }
            ),
            )
        }
        Some(secret) => {
            if let Some(problem) = key_problem(provider, secret.expose()) {
                bad("signing_secret", problem);
            }
        }
        None => {}
    }
    violations
}

/// Why a secret cannot be this provider's key, if it cannot.
fn key_problem(provider: &Provider, secret: &str) -> Option<String> {
    let Scheme::Signature(spec) = provider.scheme else {
        return None;
    };
    let key = match spec.key {
        KeyFormat::Raw | KeyFormat::Suffixed(_) => return None,
        KeyFormat::Base64 { strip } => {
            let body = match strip {
                "" => Some(secret),
                strip => secret.strip_prefix(strip),
            };
            match body.and_then(|b| STANDARD.decode(b.trim()).ok()) {
                Some(key) if !key.is_empty() => key,
                _ if strip.is_empty() => return Some("must be base64".into()),
                _ => return Some(format!("must be {strip} followed by base64")),
            }
        }
        KeyFormat::Hex => match hex::decode(secret.trim()) {
            Ok(key) if !key.is_empty() => key,
            _ => return Some("must be hex".into()),
        },
    };
    match spec.algorithm {
        Algorithm::Ed25519 if key.len() != 32 => Some(format!(
            "must be a 32-byte Ed25519 public key, got {} bytes",
            key.len()
        )),
        // A DER SubjectPublicKeyInfo of a P-256 key is 91 bytes.
        Algorithm::EcdsaP256 if key.len() != 91 => {
            Some("must be the base64 DER public key the provider shows".into())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hookgate_domain::{HmacScheme, Secret};

    fn valid() -> WebhookSpec {
        WebhookSpec {
            display_name: "w".into(),
            ..WebhookSpec::default()
        }
    }

    fn fields(spec: WebhookSpec) -> Vec<String> {
        match validate(&spec, "webhook") {
            Ok(()) => Vec::new(),
            Err(Error::InvalidArgument(v)) => v.into_iter().map(|v| v.field).collect(),
            Err(other) => panic!("{other:?}"),
        }
    }

    fn provider(id: &str, secret: Option<&str>) -> WebhookSpec {
        WebhookSpec {
            verification_type: VerificationType::Provider,
            verification_provider: id.into(),
            signing_secret: secret.map(Secret::from),
            ..valid()
        }
    }

    #[test]
    fn providers_are_known_ids_and_fail_closed_without_a_secret() {
        assert!(fields(provider("zoom", Some("s"))).is_empty());
        assert_eq!(
            fields(provider("zoom", None)),
            vec!["webhook.signing_secret"]
        );
        assert_eq!(
            fields(provider("nope", Some("s"))),
            vec!["webhook.verification_provider"]
        );
        assert_eq!(
            fields(provider("", None)),
            vec!["webhook.verification_provider"]
        );
        assert!(
            fields(provider("asana", None)).is_empty(),
            "asana's handshake sets it"
        );
        assert!(fields(provider("alexa", None)).is_empty());
        let meta = fields(provider("facebook", Some("s")));
        assert_eq!(meta, vec!["webhook.verification_code"]);
    }

    #[test]
    fn legacy_types_keep_their_rules() {
        let legacy = |kind, secret: Option<&str>| WebhookSpec {
            verification_type: kind,
            signing_secret: secret.map(Secret::from),
            verification_code: "code".into(),
            ..valid()
        };
        assert_eq!(
            fields(legacy(VerificationType::Github, None)),
            vec!["webhook.signing_secret"]
        );
        assert!(fields(legacy(VerificationType::Facebook, None)).is_empty());
        assert_eq!(
            fields(legacy(VerificationType::StandardWebhooks, Some("nope"))),
            vec!["webhook.signing_secret"]
        );
        let no_code = WebhookSpec {
            verification_code: Secret::default(),
            ..legacy(VerificationType::Fitbit, None)
        };
        assert_eq!(fields(no_code), vec!["webhook.verification_code"]);
    }

    #[test]
    fn public_keys_are_checked_for_shape() {
        assert_eq!(
            fields(provider("discord", Some("abcd"))),
            vec!["webhook.signing_secret"]
        );
        assert!(fields(provider("discord", Some(&"ab".repeat(32)))).is_empty());
        assert_eq!(
            fields(provider("sendgrid", Some("bm90IGEga2V5"))),
            vec!["webhook.signing_secret"]
        );
    }

    #[test]
    fn hmac_needs_a_scheme_and_a_secret() {
        let hmac = |scheme: Option<HmacScheme>, secret: Option<&str>| WebhookSpec {
            verification_type: VerificationType::Hmac,
            hmac: scheme.map(Box::new),
            signing_secret: secret.map(Secret::from),
            ..valid()
        };
        assert_eq!(fields(hmac(None, Some("s"))), vec!["webhook.hmac"]);
        let empty_header = HmacScheme::default();
        assert_eq!(
            fields(hmac(Some(empty_header), None)),
            vec!["webhook.hmac.header", "webhook.signing_secret"]
        );
        let ok = HmacScheme {
            header: "X-Sig".into(),
            ..HmacScheme::default()
        };
        assert!(fields(hmac(Some(ok), Some("s"))).is_empty());
    }
}
