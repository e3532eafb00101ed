//! Between `hookgate.v1.Webhook` messages and domain webhooks.

use chrono::{DateTime, Utc};
use hookgate_domain::Webhook;
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
        verification_code: spec.verification_code.clone(),
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
        deduplication: spec.deduplication.as_ref().map(deduplication),
    }
}

fn deduplication(dedup: &hookgate_domain::dedup::Deduplication) -> pb::Deduplication {
    pb::Deduplication {
        enabled: dedup.enabled,
        key: dedup.key.clone(),
        window: Some(duration(dedup.window)),
    }
}
