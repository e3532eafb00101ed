//! Webhooks as the snapshot keeps them: packed (postcard) back to back in one buffer, and
//! decoded again when a request arrives. For a signed webhook that is about 140 bytes
//! instead of the 590 a `Webhook` and the strings it points to take in the allocator,
//! which is most of a gateway's memory when it knows a hundred thousand webhooks;
//! decoding costs a few small allocations per request.
//!
//! An entry is its length (4 bytes), the token behind a one-byte length, so a lookup
//! compares it in place, then the other fields.

use chrono::{DateTime, Utc};
use hookgate_domain::{
    dedup::Deduplication, Error, HmacScheme, PreviousSecret, Secret, VerificationType, Webhook,
    WebhookName, WebhookSpec,
};
use serde::{Deserialize, Serialize};
use std::{borrow::Cow, time::Duration};

const LENGTH_BYTES: usize = 4;

/// Everything of a [`Webhook`] but its token and the fields only people read (display
/// name and description, which the snapshot never loads).
#[derive(Serialize, Deserialize)]
struct Fields<'a> {
    application_id: &'a str,
    webhook_id: &'a str,
    revision: i64,
    create_time_micros: i64,
    update_time_micros: i64,
    disabled: bool,
    verification_type: i32,
    verification_code: &'a str,
    signing_secret: Option<&'a str>,
    verification_provider: &'a str,
    hmac: Option<Cow<'a, HmacScheme>>,
    previous_secret: Option<(&'a str, i64)>,
    response_code: u16,
    wait_for_reply: bool,
    reply_timeout: Duration,
    basic_auth_username: &'a str,
    basic_auth_password_digest: Option<&'a str>,
    deduplication: Option<(bool, &'a str, Duration)>,
}

fn corrupt(what: impl std::fmt::Display) -> Error {
    Error::Internal(format!("packed webhook unreadable: {what}"))
}

fn time(micros: i64) -> Result<DateTime<Utc>, Error> {
    DateTime::from_timestamp_micros(micros).ok_or_else(|| corrupt("time out of range"))
}

/// Appends `webhook`, packed, to `buffer`; on error the buffer is left as it was.
pub(crate) fn pack_into(webhook: &Webhook, buffer: &mut Vec<u8>) -> Result<(), Error> {
    let token_len = u8::try_from(webhook.token.len())
        .map_err(|_| Error::Internal("token longer than 255 bytes".into()))?;
    let spec = &webhook.spec;
    let fields = Fields {
        application_id: &webhook.name.application_id,
        webhook_id: &webhook.name.webhook_id,
        revision: webhook.revision,
        create_time_micros: webhook.create_time.timestamp_micros(),
        update_time_micros: webhook.update_time.timestamp_micros(),
        disabled: spec.disabled,
        verification_type: spec.verification_type.as_proto(),
        verification_code: spec.verification_code.expose(),
        signing_secret: spec.signing_secret.as_ref().map(|s| s.expose().as_str()),
        verification_provider: &spec.verification_provider,
        hmac: spec.hmac.as_deref().map(Cow::Borrowed),
        previous_secret: spec.previous_secret.as_ref().map(|previous| {
            (
                previous.secret.expose().as_str(),
                previous.expire_time.timestamp_micros(),
            )
        }),
        response_code: spec.response_code,
        wait_for_reply: spec.wait_for_reply,
        reply_timeout: spec.reply_timeout,
        basic_auth_username: &spec.basic_auth_username,
        basic_auth_password_digest: spec
            .basic_auth_password_digest
            .as_ref()
            .map(|digest| &**digest.expose()),
        deduplication: spec
            .deduplication
            .as_deref()
            .map(|dedup| (dedup.enabled, dedup.key.as_str(), dedup.window)),
    };
    let fields = postcard::to_allocvec(&fields).map_err(corrupt)?;
    let len = u32::try_from(1 + webhook.token.len() + fields.len())
        .map_err(|_| Error::Internal("webhook too large to pack".into()))?;
    buffer.extend_from_slice(&len.to_le_bytes());
    buffer.push(token_len);
    buffer.extend_from_slice(webhook.token.as_bytes());
    buffer.extend_from_slice(&fields);
    Ok(())
}

/// One packed webhook: its whole entry, length included.
#[derive(Clone, Copy)]
pub(crate) struct Packed<'a>(&'a [u8]);

impl<'a> Packed<'a> {
    /// The entry at `offset` of `buffer`; an empty one (which unpacks to an error) when
    /// there is none.
    pub(crate) fn at(buffer: &'a [u8], offset: usize) -> Self {
        let entry = buffer.get(offset..).and_then(|rest| {
            let len = <[u8; LENGTH_BYTES]>::try_from(rest.get(..LENGTH_BYTES)?).ok()?;
            let len = usize::try_from(u32::from_le_bytes(len)).ok()?;
            rest.get(..LENGTH_BYTES + len)
        });
        Self(entry.unwrap_or_default())
    }

    pub(crate) fn bytes(self) -> &'a [u8] {
        self.0
    }

    fn body(self) -> &'a [u8] {
        self.0.get(LENGTH_BYTES..).unwrap_or_default()
    }

    pub(crate) fn token(self) -> &'a [u8] {
        let body = self.body();
        let len = body.first().copied().map_or(0, usize::from);
        body.get(1..=len).unwrap_or_default()
    }

    pub(crate) fn unpack(self) -> Result<Webhook, Error> {
        let token = self.token();
        let rest = self.body().get(1 + token.len()..).unwrap_or_default();
        let token = String::from_utf8(token.to_vec()).map_err(corrupt)?;
        let fields: Fields<'_> = postcard::from_bytes(rest).map_err(corrupt)?;
        let verification_type = VerificationType::from_proto(fields.verification_type)
            .ok_or_else(|| corrupt("unknown verification type"))?;
        let previous_secret = match fields.previous_secret {
            Some((secret, expire_micros)) => Some(Box::new(PreviousSecret {
                secret: secret.into(),
                expire_time: time(expire_micros)?,
            })),
            None => None,
        };
        Ok(Webhook {
            name: WebhookName::new(fields.application_id, fields.webhook_id),
            token,
            spec: WebhookSpec {
                display_name: String::new(),
                description: String::new(),
                disabled: fields.disabled,
                verification_type,
                verification_code: fields.verification_code.into(),
                signing_secret: fields.signing_secret.map(Secret::from),
                verification_provider: fields.verification_provider.into(),
                hmac: fields.hmac.map(|hmac| Box::new(hmac.into_owned())),
                previous_secret,
                response_code: fields.response_code,
                wait_for_reply: fields.wait_for_reply,
                reply_timeout: fields.reply_timeout,
                basic_auth_username: fields.basic_auth_username.into(),
                basic_auth_password_digest: fields.basic_auth_password_digest.map(Secret::from),
                deduplication: fields.deduplication.map(|(enabled, key, window)| {
                    Box::new(Deduplication {
                        enabled,
                        key: key.into(),
                        window,
                    })
                }),
            },
            revision: fields.revision,
            create_time: time(fields.create_time_micros)?,
            update_time: time(fields.update_time_micros)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hookgate_domain::HmacAlgorithm;

    fn routing(spec: WebhookSpec) -> Webhook {
        let time = DateTime::from_timestamp_micros(1_790_000_000_123_456).unwrap();
        Webhook {
            name: WebhookName::new("acme", "0193a1b2c3d4e5f60718293a4b5c6d7e"),
            token: "Ab3_-".repeat(6) + "xy",
            spec,
            revision: 7,
            create_time: time,
            update_time: time + chrono::TimeDelta::seconds(5),
        }
    }

    #[test]
    fn a_webhook_reads_back_as_written() {
        let plain = routing(WebhookSpec::default());
        let every_field = routing(WebhookSpec {
            disabled: true,
            verification_type: VerificationType::Hmac,
            verification_code: "challenge".into(),
            signing_secret: Some("whsec_current".into()),
            verification_provider: "github".into(),
            hmac: Some(Box::new(HmacScheme {
                header: "X-Hub-Signature".into(),
                algorithm: HmacAlgorithm::Sha1,
                prefix: "sha1=".into(),
                tolerance: Duration::from_secs(60),
                ..HmacScheme::default()
            })),
            previous_secret: Some(Box::new(PreviousSecret {
                secret: "whsec_old".into(),
                expire_time: plain.create_time,
            })),
            response_code: 202,
            wait_for_reply: true,
            reply_timeout: Duration::from_millis(1500),
            basic_auth_username: "robot".into(),
            basic_auth_password_digest: Some("ab".repeat(32).into()),
            deduplication: Some(Box::new(Deduplication {
                enabled: true,
                key: "header:X-Delivery".into(),
                window: Duration::from_secs(3600),
            })),
            ..WebhookSpec::default()
        });
        let mut buffer = Vec::new();
        pack_into(&plain, &mut buffer).unwrap();
        let second = buffer.len();
        pack_into(&every_field, &mut buffer).unwrap();
        for (offset, webhook) in [(0, plain), (second, every_field)] {
            let packed = Packed::at(&buffer, offset);
            assert_eq!(packed.token(), webhook.token.as_bytes());
            assert_eq!(packed.unpack().unwrap(), webhook);
        }
        assert_eq!(
            Packed::at(&buffer, second).bytes().len(),
            buffer.len() - second
        );
    }

    #[test]
    fn a_signed_webhook_packs_into_few_bytes() {
        let webhook = routing(WebhookSpec {
            verification_type: VerificationType::Github,
            signing_secret: Some("s".repeat(40).into()),
            ..WebhookSpec::default()
        });
        let mut buffer = Vec::new();
        pack_into(&webhook, &mut buffer).unwrap();
        // Token 32, ids 36, secret 40, and about 30 bytes for everything else.
        assert!(buffer.len() < 150, "{} bytes", buffer.len());
    }

    #[test]
    fn damaged_bytes_are_an_error_not_a_panic() {
        let mut buffer = Vec::new();
        pack_into(&routing(WebhookSpec::default()), &mut buffer).unwrap();
        for cut in [0, 3, 5, 20, buffer.len() - 1] {
            assert!(
                Packed::at(&buffer[..cut], 0).unpack().is_err(),
                "cut at {cut}"
            );
        }
        // A length that claims more than the entry holds.
        let mut lying = buffer.clone();
        lying[0] = lying[0].wrapping_sub(1);
        assert!(Packed::at(&lying, 0).unpack().is_err());
        assert!(Packed::at(&buffer, buffer.len() + 7).unpack().is_err());
    }
}
