//! Writing a `Webhook` message onto a spec, field by field, as an update mask says.

use hookgate_domain::{
    dedup::{Deduplication, DEFAULT_WINDOW},
    webhook::{DEFAULT_REPLY_TIMEOUT, DEFAULT_SECRET_GRACE, DEFAULT_TOLERANCE, MAX_SECRET_GRACE},
    Error, FieldViolation, HmacAlgorithm, HmacScheme, SignatureEncoding, VerificationType,
    WebhookSpec,
};
use hookgate_proto::v1 as pb;
use hookgate_verify::password_digest;
use std::time::Duration;

/// Every field a client may write, by its proto name.
pub const WRITABLE: [&str; 15] = [
    "display_name",
    "description",
    "disabled",
    "verification_type",
    "verification_code",
    "signing_secret",
    "response_code",
    "wait_for_reply",
    "reply_timeout",
    "basic_auth_username",
    "basic_auth_password",
    "verification_provider",
    "hmac",
    // Read with `signing_secret`: how long the secret it replaces keeps verifying.
    "signing_secret_grace",
    "deduplication",
];

/// Written but never returned.
const INPUT_ONLY: [&str; 3] = [
    "signing_secret",
    "basic_auth_password",
    "signing_secret_grace",
];

const OUTPUT_ONLY: [&str; 8] = [
    "name",
    "url",
    "create_time",
    "update_time",
    "etag",
    "has_signing_secret",
    "has_basic_auth_password",
    "previous_secret_expire_time",
];

/// A spec built from every field of `message`, for create.
pub fn spec_from(message: &pb::Webhook, prefix: &str) -> Result<WebhookSpec, Error> {
    let mut spec = WebhookSpec::default();
    write_fields(&mut spec, message, &WRITABLE, prefix)?;
    Ok(spec)
}

/// The paths an update touches: the mask's, `*` for all, or the populated fields when empty.
pub fn resolve_paths(
    message: &pb::Webhook,
    mask: Option<&prost_types::FieldMask>,
) -> Result<Vec<&'static str>, Error> {
    let paths = mask.map(|m| m.paths.as_slice()).unwrap_or_default();
    if paths.is_empty() {
        return Ok(WRITABLE
            .iter()
            .copied()
            .filter(|p| is_populated(message, p))
            .collect());
    }
    if paths.iter().any(|p| p == "*") {
        // Secrets are never read back, so a read-modify-write with `*` carries them empty;
        // that must not wipe them. Clearing one takes naming its path.
        return Ok(WRITABLE
            .iter()
            .copied()
            .filter(|p| !INPUT_ONLY.contains(p) || is_populated(message, p))
            .collect());
    }
    let mut resolved = Vec::new();
    let mut violations = Vec::new();
    for path in paths {
        match WRITABLE.iter().find(|w| *w == path) {
            Some(known) => resolved.push(*known),
            None if OUTPUT_ONLY.contains(&path.as_str()) => violations.push(FieldViolation::new(
                "update_mask",
                format!("{path:?} is output only and cannot be updated"),
            )),
            None => violations.push(FieldViolation::new(
                "update_mask",
                format!(
                    "unknown field {path:?}; updatable fields: {}",
                    WRITABLE.join(", ")
                ),
            )),
        }
    }
    if violations.is_empty() {
        Ok(resolved)
    } else {
        Err(Error::InvalidArgument(violations))
    }
}

fn is_populated(message: &pb::Webhook, path: &str) -> bool {
    match path {
        "display_name" => !message.display_name.is_empty(),
        "description" => !message.description.is_empty(),
        "disabled" => message.disabled,
        "verification_type" => message.verification_type != 0,
        "verification_code" => !message.verification_code.is_empty(),
        "signing_secret" => !message.signing_secret.is_empty(),
        "response_code" => message.response_code != 0,
        "wait_for_reply" => message.wait_for_reply,
        "reply_timeout" => message.reply_timeout.is_some(),
        "basic_auth_username" => !message.basic_auth_username.is_empty(),
        "basic_auth_password" => !message.basic_auth_password.is_empty(),
        "verification_provider" => !message.verification_provider.is_empty(),
        "hmac" => message.hmac.is_some(),
        "signing_secret_grace" => message.signing_secret_grace.is_some(),
        "deduplication" => message.deduplication.is_some(),
        _ => false,
    }
}

/// Copies the named fields of `message` onto `spec`; conversion problems name `{prefix}.{field}`.
pub fn write_fields(
    spec: &mut WebhookSpec,
    message: &pb::Webhook,
    paths: &[&str],
    prefix: &str,
) -> Result<(), Error> {
    let mut violations = Vec::new();
    for path in paths {
        let mut bad = |description: String| {
            violations.push(FieldViolation::new(format!("{prefix}.{path}"), description))
        };
        match *path {
            "display_name" => spec.display_name = message.display_name.clone(),
            "description" => spec.description = message.description.clone(),
            "disabled" => spec.disabled = message.disabled,
            "verification_type" => match VerificationType::from_proto(message.verification_type) {
                Some(kind) => spec.verification_type = kind,
                None => bad(format!(
                    "unknown verification type {}",
                    message.verification_type
                )),
            },
            "verification_code" => {
                spec.verification_code = message.verification_code.as_str().into()
            }
            "signing_secret" => match secret_grace(message.signing_secret_grace.as_ref()) {
                Some(grace) => spec.rotate_signing_secret(
                    non_empty(&message.signing_secret).map(Into::into),
                    grace,
                    chrono::Utc::now(),
                ),
                None => violations.push(grace_violation(prefix)),
            },
            // Checked here only when no secret is written with it, so it is reported once.
            "signing_secret_grace"
                if secret_grace(message.signing_secret_grace.as_ref()).is_none()
                    && !paths.contains(&"signing_secret") =>
            {
                violations.push(grace_violation(prefix));
            }
            "verification_provider" => {
                spec.verification_provider = message.verification_provider.trim().to_owned()
            }
            "hmac" => match message.hmac.as_ref().map(|h| hmac_scheme(h, prefix)) {
                None => spec.hmac = None,
                Some(Ok(scheme)) => spec.hmac = Some(Box::new(scheme)),
                Some(Err(mut bad)) => violations.append(&mut bad),
            },
            "response_code" => match u16::try_from(message.response_code) {
                Ok(code) => spec.response_code = code,
                Err(_) => bad(format!(
                    "must be 0 (200) or 100 to 599, got {}",
                    message.response_code
                )),
            },
            "wait_for_reply" => spec.wait_for_reply = message.wait_for_reply,
            "reply_timeout" => match reply_timeout(message.reply_timeout.as_ref()) {
                Some(timeout) => spec.reply_timeout = timeout,
                None => bad("must be a positive duration of at most 120 s".into()),
            },
            "basic_auth_username" => spec.basic_auth_username = message.basic_auth_username.clone(),
            "basic_auth_password" => {
                spec.basic_auth_password_digest =
                    non_empty(&message.basic_auth_password).map(|p| password_digest(&p))
            }
            "deduplication" => match message.deduplication.as_ref().map(deduplication) {
                Some(Err(description)) => violations.push(FieldViolation::new(
                    format!("{prefix}.deduplication.window"),
                    description,
                )),
                Some(Ok(dedup)) => spec.deduplication = Some(Box::new(dedup)),
                None => spec.deduplication = None,
            },
            _ => {}
        }
    }
    if violations.is_empty() {
        Ok(())
    } else {
        Err(Error::InvalidArgument(violations))
    }
}

fn grace_violation(prefix: &str) -> FieldViolation {
    FieldViolation::new(
        format!("{prefix}.signing_secret_grace"),
        "must be a duration from 0 to 7 days",
    )
}

/// Unset means the default 24 h; zero drops the replaced secret at once.
fn secret_grace(value: Option<&prost_types::Duration>) -> Option<Duration> {
    let Some(value) = value else {
        return Some(DEFAULT_SECRET_GRACE);
    };
    let grace = positive_duration(value)?;
    (grace <= MAX_SECRET_GRACE).then_some(grace)
}

fn positive_duration(value: &prost_types::Duration) -> Option<Duration> {
    if value.seconds < 0 || value.nanos < 0 || value.nanos >= 1_000_000_000 {
        return None;
    }
    Some(Duration::new(
        u64::try_from(value.seconds).ok()?,
        u32::try_from(value.nanos).ok()?,
    ))
}

/// The message's scheme; enum and duration problems name `{prefix}.hmac.{field}`. The
/// scheme's own rules are the verification crate's, checked with the rest of the webhook.
fn hmac_scheme(message: &pb::HmacScheme, prefix: &str) -> Result<HmacScheme, Vec<FieldViolation>> {
    let mut violations = Vec::new();
    let mut bad = |field: &str, description: String| {
        violations.push(FieldViolation::new(
            format!("{prefix}.hmac.{field}"),
            description,
        ))
    };
    let algorithm = match pb::HmacAlgorithm::try_from(message.algorithm) {
        Ok(pb::HmacAlgorithm::Sha1) => HmacAlgorithm::Sha1,
        Ok(pb::HmacAlgorithm::Unspecified | pb::HmacAlgorithm::Sha256) => HmacAlgorithm::Sha256,
        Ok(pb::HmacAlgorithm::Sha512) => HmacAlgorithm::Sha512,
        Err(_) => {
            bad(
                "algorithm",
                format!("unknown algorithm {}", message.algorithm),
            );
            HmacAlgorithm::default()
        }
    };
    let encoding = match pb::SignatureEncoding::try_from(message.encoding) {
        Ok(pb::SignatureEncoding::Unspecified | pb::SignatureEncoding::Hex) => {
            SignatureEncoding::Hex
        }
        Ok(pb::SignatureEncoding::Base64) => SignatureEncoding::Base64,
        Err(_) => {
            bad("encoding", format!("unknown encoding {}", message.encoding));
            SignatureEncoding::default()
        }
    };
    let tolerance = match message.tolerance.as_ref().map(positive_duration) {
        None => DEFAULT_TOLERANCE,
        Some(Some(zero)) if zero.is_zero() => DEFAULT_TOLERANCE,
        Some(Some(tolerance)) => tolerance,
        Some(None) => {
            bad("tolerance", "must be a positive duration".into());
            DEFAULT_TOLERANCE
        }
    };
    if !violations.is_empty() {
        return Err(violations);
    }
    Ok(HmacScheme {
        header: message.header.trim().to_owned(),
        algorithm,
        encoding,
        prefix: message.prefix.clone(),
        signed_content: message.signed_content.clone(),
        timestamp_header: message.timestamp_header.trim().to_owned(),
        tolerance,
    })
}

fn non_empty(value: &str) -> Option<String> {
    (!value.is_empty()).then(|| value.to_owned())
}

/// An unset or zero window means the default; the range is checked with the spec.
fn deduplication(message: &pb::Deduplication) -> Result<Deduplication, String> {
    let window = match message.window.as_ref().map(positive_duration) {
        None => DEFAULT_WINDOW,
        Some(None) => return Err("must be a positive duration".into()),
        Some(Some(window)) if window.is_zero() => DEFAULT_WINDOW,
        Some(Some(window)) => window,
    };
    Ok(Deduplication {
        enabled: message.enabled,
        key: message.key.trim().to_owned(),
        window,
    })
}

/// Unset or zero means the default; negative or malformed is rejected.
fn reply_timeout(value: Option<&prost_types::Duration>) -> Option<Duration> {
    let Some(value) = value else {
        return Some(DEFAULT_REPLY_TIMEOUT);
    };
    let timeout = positive_duration(value)?;
    Some(if timeout.is_zero() {
        DEFAULT_REPLY_TIMEOUT
    } else {
        timeout
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message() -> pb::Webhook {
        pb::Webhook {
            display_name: "new".into(),
            response_code: 201,
            ..Default::default()
        }
    }

    #[test]
    fn empty_mask_means_populated_fields() {
        let paths = resolve_paths(&message(), None).unwrap();
        assert_eq!(paths, vec!["display_name", "response_code"]);
    }

    #[test]
    fn star_means_every_writable_field_but_unsent_secrets() {
        let mask = prost_types::FieldMask {
            paths: vec!["*".into()],
        };
        let without_secrets: Vec<_> = WRITABLE
            .into_iter()
            .filter(|p| !INPUT_ONLY.contains(p))
            .collect();
        assert_eq!(
            resolve_paths(&message(), Some(&mask)).unwrap(),
            without_secrets,
            "empty secrets are kept, not cleared"
        );
        let with_secret = pb::Webhook {
            signing_secret: "s".into(),
            ..message()
        };
        let paths = resolve_paths(&with_secret, Some(&mask)).unwrap();
        assert!(paths.contains(&"signing_secret"));
        assert!(!paths.contains(&"basic_auth_password"));
    }

    #[test]
    fn unknown_and_output_only_paths_are_rejected() {
        let mask = prost_types::FieldMask {
            paths: vec!["nope".into(), "url".into(), "description".into()],
        };
        match resolve_paths(&message(), Some(&mask)).unwrap_err() {
            Error::InvalidArgument(v) => {
                assert_eq!(v.len(), 2);
                assert!(v.iter().all(|v| v.field == "update_mask"));
                assert!(v[0].description.contains("nope"));
                assert!(v[1].description.contains("output only"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn writes_only_named_fields_and_hashes_passwords() {
        let mut spec = WebhookSpec {
            display_name: "old".into(),
            description: "keep".into(),
            ..Default::default()
        };
        let msg = pb::Webhook {
            basic_auth_password: "pw".into(),
            ..message()
        };
        write_fields(
            &mut spec,
            &msg,
            &["display_name", "basic_auth_password"],
            "webhook",
        )
        .unwrap();
        assert_eq!(spec.display_name, "new");
        assert_eq!(spec.description, "keep");
        assert_eq!(spec.response_code, 0);
        assert_eq!(spec.basic_auth_password_digest, Some(password_digest("pw")));
    }

    #[test]
    fn negative_reply_timeout_and_bad_enum_name_their_fields() {
        let msg = pb::Webhook {
            reply_timeout: Some(prost_types::Duration {
                seconds: -1,
                nanos: 0,
            }),
            verification_type: 99,
            ..message()
        };
        match spec_from(&msg, "webhook").unwrap_err() {
            Error::InvalidArgument(v) => {
                let fields: Vec<_> = v.iter().map(|v| v.field.as_str()).collect();
                assert_eq!(
                    fields,
                    vec!["webhook.verification_type", "webhook.reply_timeout"]
                );
            }
            other => panic!("{other:?}"),
        }
    }
}
