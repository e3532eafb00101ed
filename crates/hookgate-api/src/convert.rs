//! Between `hookgate.v1.Webhook` messages and domain webhooks.

use chrono::{DateTime, Utc};
use hookgate_domain::{HmacAlgorithm, HmacScheme, SignatureEncoding, Webhook};
use hookgate_proto::v1 as pb;
use prost_types::{Duration as PbDuration, Timestamp};

pub fn timestamp(time: DateTime<Utc>) -> Timestamp {
    Timestamp {
        seconds: time.timestamp(),
        nanos: i32::try_from(time.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

pub fn duration(value: std::time::Duration) -> PbDuration {
    PbDuration {
        seconds: i64::try_from(value.as_secs()).unwrap_or(i64::MAX),
        nanos: i32::try_from(value.subsec_nanos()).unwrap_or(0),
    }
}

/// The resource as clients see it: secrets blanked, output-only fields filled.
pub fn to_proto(webhook: &Webhook, public_url: &str) -> pb::Webhook {
    let spec = &webhook.spec;
    pb::Webhook {
        name: webhook.name.to_string(),
        display_name: spec.display_name.clone(),
        description: spec.description.clone(),
        disabled: spec.disabled,
        verification_type: spec.verification_type.as_proto(),
        verification_code: spec.verification_code.expose().clone(),
        signing_secret: String::new(),
        response_code: i32::from(spec.response_code),
        wait_for_reply: spec.wait_for_reply,
        reply_timeout: Some(duration(spec.reply_timeout)),
        basic_auth_username: spec.basic_auth_username.clone(),
        basic_auth_password: String::new(),
        url: webhook.url(public_url),
        create_time: Some(timestamp(webhook.create_time)),
        update_time: Some(timestamp(webhook.update_time)),
        etag: webhook.etag(),
        has_signing_secret: spec.signing_secret.is_some(),
        has_basic_auth_password: spec.basic_auth_password_digest.is_some(),
        verification_provider: spec.verification_provider.clone(),
        hmac: spec.hmac.as_deref().map(hmac_to_proto),
        signing_secret_grace: None,
        previous_secret_expire_time: spec
            .previous_secret
            .as_ref()
            .filter(|previous| previous.expire_time > Utc::now())
            .map(|previous| timestamp(previous.expire_time)),
        deduplication: spec.deduplication.as_deref().map(deduplication),
    }
}

fn deduplication(dedup: &hookgate_domain::dedup::Deduplication) -> pb::Deduplication {
    pb::Deduplication {
        enabled: dedup.enabled,
        key: dedup.key.clone(),
        window: Some(duration(dedup.window)),
    }
}

fn hmac_to_proto(scheme: &HmacScheme) -> pb::HmacScheme {
    pb::HmacScheme {
        header: scheme.header.clone(),
        algorithm: match scheme.algorithm {
            HmacAlgorithm::Sha1 => pb::HmacAlgorithm::Sha1,
            HmacAlgorithm::Sha256 => pb::HmacAlgorithm::Sha256,
            HmacAlgorithm::Sha512 => pb::HmacAlgorithm::Sha512,
        }
        .into(),
        encoding: match scheme.encoding {
            SignatureEncoding::Hex => pb::SignatureEncoding::Hex,
            SignatureEncoding::Base64 => pb::SignatureEncoding::Base64,
        }
        .into(),
        prefix: scheme.prefix.clone(),
        signed_content: scheme.signed_content.clone(),
        timestamp_header: scheme.timestamp_header.clone(),
        tolerance: Some(duration(scheme.tolerance)),
    }
}

/// A catalogue entry as `ListVerificationProviders` shows it.
pub fn provider_to_proto(provider: &hookgate_verify::Provider) -> pb::VerificationProvider {
    pb::VerificationProvider {
        id: provider.id.into(),
        display_name: provider.display_name.into(),
        docs_url: provider.docs_url.into(),
        secret_description: provider.secret.into(),
        handshake: provider.has_handshake(),
        deduplication_key: provider.delivery_id_key().into(),
    }
}
