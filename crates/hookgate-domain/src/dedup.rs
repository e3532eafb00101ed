//! Deduplication of provider retries: which part of a request identifies a delivery, and
//! the id a delivery's record gets, so the same delivery always has the same id.

use sha2::{Digest, Sha256};
use std::time::Duration;

pub const DEFAULT_WINDOW: Duration = Duration::from_secs(24 * 60 * 60);
pub const MIN_WINDOW: Duration = Duration::from_secs(1);
pub const MAX_WINDOW: Duration = Duration::from_secs(7 * 24 * 60 * 60);
const MAX_KEY_RULE: usize = 1024;

/// Namespace of hookgate's name-based (version 5) event ids.
const EVENT_ID_NAMESPACE: uuid::Uuid =
    uuid::Uuid::from_u128(0x6b1f_5c8e_2d4a_4e0b_9a57_c3d1_8e2f_7a90);

/// A webhook's deduplication settings, as a client writes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deduplication {
    pub enabled: bool,
    /// Empty (the provider's default), `header:NAME`, `json:/pointer` or `body`.
    pub key: String,
    /// How long a delivered key suppresses copies.
    pub window: Duration,
}

impl Default for Deduplication {
    fn default() -> Self {
        Self {
            enabled: false,
            key: String::new(),
            window: DEFAULT_WINDOW,
        }
    }
}

/// Where a request's delivery key is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRule {
    Header(http::HeaderName),
    /// An RFC 6901 pointer into the JSON body.
    JsonPointer(String),
    /// The hex SHA-256 of the raw body.
    Body,
}

/// The key rule of webhooks whose provider documents no delivery id (SPEC §3.8).
pub const BODY_KEY: &str = "body";

impl KeyRule {
    /// Parses a non-empty rule; the error says what is wrong with it.
    pub fn parse(rule: &str) -> Result<Self, String> {
        if rule == BODY_KEY {
            return Ok(Self::Body);
        }
        if let Some(name) = rule.strip_prefix("header:") {
            let name = http::HeaderName::from_bytes(name.trim().as_bytes())
                .map_err(|_| format!("{name:?} is not a valid header name"))?;
            // These never reach Kafka: the key would copy the sender's credentials there.
            if crate::trigger::DROPPED_HEADERS.contains(&name.as_str()) {
                return Err(format!(
                    "the {name} header carries credentials and cannot be a key"
                ));
            }
            return Ok(Self::Header(name));
        }
        if let Some(pointer) = rule.strip_prefix("json:") {
            return match is_json_pointer(pointer) {
                true => Ok(Self::JsonPointer(pointer.to_owned())),
                false => Err(format!(
                    "{pointer:?} is not a JSON pointer (RFC 6901): it must start with '/' and escape '~' as ~0 or ~1"
                )),
            };
        }
        Err("must be empty (the provider's default), header:NAME, json:/pointer or body".into())
    }

    /// The delivery key of a request, `None` when the request does not carry one.
    pub fn extract(&self, headers: &http::HeaderMap, body: &[u8]) -> Option<String> {
        let key = match self {
            Self::Header(name) => headers
                .get(name)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).trim().to_owned())?,
            Self::JsonPointer(pointer) => {
                let document: serde_json::Value = serde_json::from_slice(body).ok()?;
                match document.pointer(pointer)? {
                    serde_json::Value::Null => return None,
                    serde_json::Value::String(text) => text.clone(),
                    other => other.to_string(),
                }
            }
            Self::Body => hex::encode(Sha256::digest(body)),
        };
        (!key.is_empty()).then_some(key)
    }
}

/// RFC 6901: empty (the whole document, useless as a key) is refused; otherwise `/`
/// separated tokens in which `~` only appears as `~0` or `~1`.
fn is_json_pointer(pointer: &str) -> bool {
    pointer.starts_with('/')
        && pointer
            .split('~')
            .skip(1)
            .all(|after| after.starts_with('0') || after.starts_with('1'))
}

impl Deduplication {
    /// Each broken rule as (sub-field, description).
    pub fn violations(&self) -> Vec<(&'static str, String)> {
        let mut violations = Vec::new();
        if self.key.chars().count() > MAX_KEY_RULE {
            violations.push(("key", format!("must be at most {MAX_KEY_RULE} characters")));
        } else if !self.key.is_empty() {
            if let Err(description) = KeyRule::parse(&self.key) {
                violations.push(("key", description));
            }
        }
        if self.window < MIN_WINDOW || self.window > MAX_WINDOW {
            violations.push(("window", "must be at least 1 s and at most 7 days".into()));
        }
        violations
    }

    /// The rule in force: the configured key, or for an empty one `default_key`, the
    /// default of the webhook's provider. The verification catalogue knows each provider's
    /// delivery id and is the only one that decides it; this crate cannot see it.
    pub fn rule(&self, default_key: &str) -> KeyRule {
        let rule = match self.key.as_str() {
            "" => default_key,
            configured => configured,
        };
        // Stored settings were validated; should one not parse, the body still tells
        // copies apart without dropping anything.
        KeyRule::parse(rule).unwrap_or(KeyRule::Body)
    }
}

/// A request's identity as a delivery of one webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryKey {
    pub value: String,
    /// The record's `ce_id`: the same for every copy, inside the window or not.
    pub event_id: String,
}

impl DeliveryKey {
    pub fn new(webhook_id: &str, value: String) -> Self {
        Self {
            event_id: event_id(webhook_id, &value),
            value,
        }
    }

    /// A fixed-size stand-in for the key in storage, whatever the key's length.
    pub fn digest(&self) -> String {
        hex::encode(Sha256::digest(self.value.as_bytes()))
    }
}

/// A version 5 (SHA-1, name-based) UUID of `webhook_id` and `key`. Webhook ids never
/// contain `/`, so the name cannot be read two ways.
pub fn event_id(webhook_id: &str, key: &str) -> String {
    name_based_uuid(EVENT_ID_NAMESPACE, &format!("{webhook_id}/{key}")).to_string()
}

fn name_based_uuid(namespace: uuid::Uuid, name: &str) -> uuid::Uuid {
    use sha1::Digest as _;
    let mut hasher = sha1::Sha1::new();
    hasher.update(namespace.as_bytes());
    hasher.update(name.as_bytes());
    let hash = hasher.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&hash[..16]);
    uuid::Builder::from_sha1_bytes(bytes).into_uuid()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> http::HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (k.parse().unwrap(), v.parse().unwrap()))
            .collect()
    }

    #[test]
    fn name_based_uuids_follow_rfc_4122_version_5() {
        // The RFC's namespace for DNS names and a published test vector.
        let dns = uuid::Uuid::from_u128(0x6ba7_b810_9dad_11d1_80b4_00c0_4fd4_30c8);
        assert_eq!(
            name_based_uuid(dns, "python.org").to_string(),
            "886313e1-3b8a-5372-9b90-0c9aee199e5d"
        );
    }

    #[test]
    fn event_ids_depend_on_webhook_and_key_only() {
        let a = DeliveryKey::new("w1", "d-1".into());
        assert_eq!(a, DeliveryKey::new("w1", "d-1".into()));
        assert_ne!(a.event_id, DeliveryKey::new("w2", "d-1".into()).event_id);
        assert_ne!(a.event_id, DeliveryKey::new("w1", "d-2".into()).event_id);
        let parsed = uuid::Uuid::parse_str(&a.event_id).unwrap();
        assert_eq!(parsed.get_version_num(), 5);
        assert_eq!(a.digest().len(), 64);
    }

    #[test]
    fn an_empty_key_takes_the_default_and_a_configured_one_wins() {
        let dedup = Deduplication::default();
        assert_eq!(
            dedup.rule("header:X-GitHub-Delivery"),
            KeyRule::Header("x-github-delivery".parse().unwrap())
        );
        assert_eq!(dedup.rule("json:/id"), KeyRule::JsonPointer("/id".into()));
        assert_eq!(dedup.rule(BODY_KEY), KeyRule::Body);
        // A default that does not parse still tells copies apart by their bodies.
        assert_eq!(dedup.rule("nonsense"), KeyRule::Body);
        let custom = Deduplication {
            key: "json:/event/id".into(),
            ..dedup
        };
        assert_eq!(
            custom.rule("header:X-GitHub-Delivery"),
            KeyRule::JsonPointer("/event/id".into())
        );
    }

    #[test]
    fn keys_come_from_headers_pointers_or_the_body() {
        let h = headers(&[("x-github-delivery", " 72d3162e ")]);
        let body = br#"{"id":"evt_1","n":7,"a/b":{"~x":"deep"},"nothing":null,"empty":""}"#;
        let header = KeyRule::parse("header:X-GitHub-Delivery").unwrap();
        assert_eq!(header.extract(&h, body), Some("72d3162e".into()));
        assert_eq!(header.extract(&http::HeaderMap::new(), body), None);
        let pointer = |p: &str| KeyRule::parse(&format!("json:{p}")).unwrap();
        assert_eq!(pointer("/id").extract(&h, body), Some("evt_1".into()));
        assert_eq!(pointer("/n").extract(&h, body), Some("7".into()));
        assert_eq!(pointer("/a~1b/~0x").extract(&h, body), Some("deep".into()));
        for absent in ["/missing", "/nothing", "/empty"] {
            assert_eq!(pointer(absent).extract(&h, body), None, "{absent}");
        }
        assert_eq!(pointer("/id").extract(&h, b"not json"), None);
        assert_eq!(
            KeyRule::Body.extract(&h, b""),
            Some("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".into())
        );
    }

    #[test]
    fn webhook_validation_names_the_nested_field() {
        let spec = crate::WebhookSpec {
            display_name: "orders".into(),
            deduplication: Some(Box::new(Deduplication {
                key: "nope".into(),
                window: Duration::ZERO,
                enabled: true,
            })),
            ..Default::default()
        };
        match spec.validate("webhook") {
            Err(crate::Error::InvalidArgument(v)) => {
                let fields: Vec<_> = v.iter().map(|v| v.field.as_str()).collect();
                assert_eq!(
                    fields,
                    ["webhook.deduplication.key", "webhook.deduplication.window"]
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_settings_name_their_sub_field() {
        let cases = [
            ("header:", "key"),
            ("header:bad name", "key"),
            ("header:Authorization", "key"),
            ("json:id", "key"),
            ("json:/a~2", "key"),
            ("json:", "key"),
            ("sha256", "key"),
        ];
        for (key, field) in cases {
            let dedup = Deduplication {
                key: key.into(),
                ..Default::default()
            };
            let fields: Vec<_> = dedup.violations().into_iter().map(|v| v.0).collect();
            assert_eq!(fields, vec![field], "{key}");
        }
        for window in [
            Duration::from_millis(999),
            MAX_WINDOW + Duration::from_secs(1),
        ] {
            let dedup = Deduplication {
                window,
                ..Default::default()
            };
            assert_eq!(dedup.violations()[0].0, "window");
        }
        for key in ["", "body", "header:webhook-id", "json:/", "json:/a~0b~1c"] {
            let dedup = Deduplication {
                key: key.into(),
                window: MIN_WINDOW,
                ..Default::default()
            };
            assert!(dedup.violations().is_empty(), "{key}");
        }
    }
}
