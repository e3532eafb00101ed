//! The shape of a catalogue entry: everything about a provider's verification is data
//! here, read by one engine. The entries themselves are in [`crate::providers`].

use hookgate_domain::{VerificationType, WebhookSpec};

/// One provider: how its requests are signed, what it expects during set-up, and what
/// a user pastes as the webhook's `signing_secret`.
#[derive(Debug, Clone, Copy)]
pub struct Provider {
    /// Stable, lowercase, what `verification_provider` names.
    pub id: &'static str,
    pub display_name: &'static str,
    /// Where the provider documents the scheme this entry follows.
    pub docs_url: &'static str,
    /// What to paste as `signing_secret`.
    pub secret: &'static str,
    pub handshake: Handshake,
    pub scheme: Scheme,
    /// The default deduplication key (`header:NAME`, `json:/pointer`), empty when none.
    pub dedup_key: &'static str,
}

impl Provider {
    /// Whether a webhook of this provider must have a signing secret when it is written.
    /// Asana hands its secret over in the handshake, so it may start without one.
    pub fn needs_secret(&self) -> bool {
        !matches!(self.scheme, Scheme::Alexa) && self.handshake != Handshake::AsanaHookSecret
    }

    /// Whether the handshake compares against `verification_code`.
    pub fn needs_verification_code(&self) -> bool {
        matches!(self.handshake, Handshake::MetaHub | Handshake::FitbitVerify)
    }

    pub fn has_handshake(&self) -> bool {
        self.handshake != Handshake::None
    }
}

/// What a provider sends while a subscription is set up, and what it wants back. None of
/// these publishes a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handshake {
    None,
    /// Meta: `GET ?hub.mode=subscribe&hub.verify_token=T&hub.challenge=C` → `C` when `T`
    /// is the verification code, else 403.
    MetaHub,
    /// Fitbit: `?verify=C` → 204 when `C` is the verification code, else 404.
    FitbitVerify,
    /// `?{param}=C` → 200 with `C` as text (Dropbox's `challenge`, Microsoft Graph's
    /// `validationToken`).
    QueryEcho(&'static str),
    /// `HEAD` → 200 (Trello checks the callback URL answers).
    Head,
    /// Okta: a `GET` with `X-Okta-Verification-Challenge` → `{"verification": value}`.
    OktaChallenge,
    /// Asana: `X-Hook-Secret` is echoed back and, when the webhook has no secret yet,
    /// kept as its signing secret.
    AsanaHookSecret,
    /// X (Twitter) CRC: `GET ?crc_token=T` → `{"response_token":"sha256=" + base64
    /// HMAC-SHA256(secret, T)}`.
    TwitterCrc,
    /// Slack, after the signature: `{"type":"url_verification","challenge":C}` → `C`.
    SlackUrlVerification,
    /// Zoom, after the signature: `endpoint.url_validation` →
    /// `{"plainToken":P,"encryptedToken":hex HMAC-SHA256(secret, P)}`.
    ZoomUrlValidation,
    /// Discord, after the signature: a PING `{"type":1}` → `{"type":1}`.
    DiscordPing,
    /// Twitch, after the signature: `webhook_callback_verification` → the challenge as text.
    TwitchChallenge,
}

impl Handshake {
    /// Handshakes the provider signs are answered only once the signature is checked.
    pub fn after_signature(self) -> bool {
        matches!(
            self,
            Self::SlackUrlVerification
                | Self::ZoomUrlValidation
                | Self::DiscordPing
                | Self::TwitchChallenge
        )
    }
}

/// How a provider proves a request is its own.
#[derive(Debug, Clone, Copy)]
pub enum Scheme {
    /// A signature (or token) found in the request, checked by the one engine.
    Signature(SignatureSpec<'static>),
    /// Amazon's RSA certificate chain, named by the request itself.
    Alexa,
    /// The public URL plus the sorted form parameters, HMAC-SHA1, base64; `bodySHA256`
    /// in the URL pins a JSON body.
    Twilio,
    /// Microsoft Graph: every notification's `clientState` equals the secret.
    GraphClientState,
}

/// A signature's place, form and input. Generic over the lifetime so custom HMAC schemes
/// borrow from the webhook instead of being leaked into `'static`.
#[derive(Debug, Clone, Copy)]
pub struct SignatureSpec<'a> {
    pub algorithm: Algorithm,
    /// How the pasted secret becomes key bytes.
    pub key: KeyFormat,
    pub location: Location<'a>,
    pub encoding: Encoding,
    /// What each signature starts with; stripped before decoding.
    pub prefix: &'a str,
    /// Several signatures in one value, any of which may match.
    pub separator: Separator,
    /// The signed message, part after part, in the provider's order.
    pub signed: &'a [Part<'a>],
    pub timestamp: Option<TimestampSpec<'a>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    HmacSha1,
    HmacSha256,
    HmacSha512,
    /// The secret is the provider's Ed25519 public key.
    Ed25519,
    /// The secret is the provider's P-256 public key; DER signatures over SHA-256.
    EcdsaP256,
    /// No signature: the value must equal the secret.
    Token,
}

impl Algorithm {
    pub fn name(self) -> &'static str {
        match self {
            Self::HmacSha1 => "HMAC-SHA1",
            Self::HmacSha256 => "HMAC-SHA256",
            Self::HmacSha512 => "HMAC-SHA512",
            Self::Ed25519 => "Ed25519",
            Self::EcdsaP256 => "ECDSA P-256",
            Self::Token => "token",
        }
    }
}

/// How the pasted secret is turned into key bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFormat {
    /// The secret's UTF-8 bytes.
    Raw,
    /// The secret followed by this text (Fitbit signs with `secret&`).
    Suffixed(&'static str),
    /// Base64 after an optional prefix such as `whsec_`.
    Base64 {
        strip: &'static str,
    },
    Hex,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Hex,
    Base64,
    /// URL-safe base64, padded or not.
    Base64Url,
    /// The value itself (tokens).
    Plain,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Separator {
    /// One signature per value.
    None,
    Comma,
    Whitespace,
    /// Commas or whitespace, for custom schemes.
    CommaOrWhitespace,
}

/// Where the signature is.
#[derive(Debug, Clone, Copy)]
pub enum Location<'a> {
    Header(&'a str),
    /// Several headers, each with one signature (Box's primary and secondary).
    AnyHeader(&'a [&'a str]),
    /// `{prefix}1`, `{prefix}2`, … (DocuSign's `X-DocuSign-Signature-N`).
    Numbered(&'a str),
    /// A header of `key=value` fields (`t=…,v1=…`): the signatures are the fields named
    /// `signature`, the timestamp the field named `timestamp`.
    Fields {
        header: &'a str,
        separator: char,
        timestamp: &'a str,
        signature: &'a str,
    },
    /// A string at a JSON pointer of the body.
    Json(&'a str),
    /// A query parameter of the URL.
    Query(&'a str),
    /// The `Authorization` header after a scheme word (`HMAC <signature>`).
    Authorization(&'a str),
}

/// One piece of the signed message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part<'a> {
    Body,
    Literal(&'a str),
    /// The timestamp exactly as sent.
    Timestamp,
    Header(&'a str),
    /// `HOOKGATE_PUBLIC_URL` + path + `?` + raw query.
    Url,
    Method,
    /// A string or number at a JSON pointer of the body.
    Json(&'a str),
    /// For form posts: every parameter sorted by name, as name then value (Mailchimp).
    SortedForm,
}

#[derive(Debug, Clone, Copy)]
pub struct TimestampSpec<'a> {
    pub source: TimestampSource<'a>,
    pub unit: TimeUnit,
    pub tolerance_secs: u64,
}

#[derive(Debug, Clone, Copy)]
pub enum TimestampSource<'a> {
    Header(&'a str),
    /// The `timestamp` field of [`Location::Fields`].
    Field,
    Json(&'a str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeUnit {
    Seconds,
    Millis,
    Rfc3339,
}

/// Every provider, in catalogue order.
pub fn providers() -> &'static [Provider] {
    crate::providers::PROVIDERS
}

pub fn find(id: &str) -> Option<&'static Provider> {
    providers().iter().find(|p| p.id == id)
}

/// The catalogue entry a webhook is verified by: its provider, or the entry of its
/// legacy type. `None` for no verification and for custom HMAC schemes.
pub fn provider_of(spec: &WebhookSpec) -> Option<&'static Provider> {
    match spec.verification_type {
        VerificationType::Provider => find(&spec.verification_provider),
        other => other.catalogue_id().and_then(find),
    }
}

/// The name a verified request records in `verified`: the catalogue id, or the legacy
/// type's name for webhooks made before the catalogue.
pub fn verified_name(spec: &WebhookSpec) -> Option<&'static str> {
    match spec.verification_type {
        VerificationType::None => None,
        VerificationType::Provider => find(&spec.verification_provider).map(|p| p.id),
        other => Some(other.as_str()),
    }
}

/// The README's table of providers, generated so it cannot drift from the catalogue.
pub fn markdown_table() -> String {
    let mut table = String::from(
        "| id | provider | `signing_secret` to paste | handshake |\n|---|---|---|---|\n",
    );
    for p in providers() {
        let handshake = if p.has_handshake() { "yes" } else { "no" };
        table.push_str(&format!(
            "| `{}` | [{}]({}) | {} | {} |\n",
            p.id,
            p.display_name,
            p.docs_url,
            p.secret.replace('|', "\\|"),
            handshake
        ));
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEGIN: &str = "<!-- providers:begin (generated: HOOKGATE_WRITE_README=1 cargo test -p hookgate-verify readme) -->\n";
    const END: &str = "<!-- providers:end -->";

    #[test]
    fn deduplication_defaults_are_the_ones_spec_names() {
        for (id, key) in [
            ("github", "header:X-GitHub-Delivery"),
            ("stripe", "json:/id"),
            ("shopify", "header:X-Shopify-Webhook-Id"),
            ("standard-webhooks", "header:webhook-id"),
            ("svix", "header:svix-id"),
            ("slack", "json:/event_id"),
            ("twilio", "header:I-Twilio-Idempotency-Token"),
        ] {
            assert_eq!(find(id).map(|p| p.dedup_key), Some(key), "{id}");
        }
    }

    /// The README's provider table equals the catalogue's; with `HOOKGATE_WRITE_README=1`
    /// the table is rewritten instead.
    #[test]
    fn readme_lists_the_catalogue() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
        let readme = std::fs::read_to_string(&path).unwrap();
        let start = readme.find(BEGIN).expect("README has the providers marker") + BEGIN.len();
        let end = start
            + readme[start..]
                .find(END)
                .expect("README has the end marker");
        let table = markdown_table();
        if std::env::var("HOOKGATE_WRITE_README").is_ok_and(|v| v == "1") {
            let rewritten = format!("{}{table}{}", &readme[..start], &readme[end..]);
            std::fs::write(&path, rewritten).unwrap();
        } else {
            assert_eq!(
                readme[start..end],
                table,
                "README's provider table is stale: HOOKGATE_WRITE_README=1 cargo test -p hookgate-verify readme"
            );
        }
    }
}
