//! Identifiers handed out by hookgate.

use base64::Engine;
use rand::RngCore;

/// Bytes of randomness in a URL token: 192 bits, well above the 128 required.
const TOKEN_BYTES: usize = 24;

/// A new unguessable, URL-safe webhook token from the operating system's CSPRNG.
pub fn new_url_token() -> String {
    let mut bytes = [0u8; TOKEN_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A new webhook id: time-ordered (UUIDv7), so listing by id is listing by age.
pub fn new_webhook_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

/// A new CloudEvents id, unique per request: a UUIDv4 from the thread's userspace CSPRNG
/// (uuid's `fast-rng`, seeded by the operating system), not a syscall per request.
pub fn new_event_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Whether a string could be a token, so junk never reaches the database.
pub fn looks_like_token(candidate: &str) -> bool {
    (22..=64).contains(&candidate.len())
        && candidate
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_url_safe_and_distinct() {
        let a = new_url_token();
        let b = new_url_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert!(looks_like_token(&a));
        assert!(!looks_like_token("short"));
        assert!(!looks_like_token(&format!("{a}/x")));
    }

    #[test]
    fn event_ids_are_random_uuids() {
        let (a, b) = (new_event_id(), new_event_id());
        assert_ne!(a, b);
        let parsed = uuid::Uuid::parse_str(&a).unwrap();
        assert_eq!(parsed.get_version(), Some(uuid::Version::Random));
        assert_eq!(parsed.get_variant(), uuid::Variant::RFC4122);
    }

    #[test]
    fn webhook_ids_sort_by_creation() {
        let first = new_webhook_id();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = new_webhook_id();
        assert!(first < second);
    }
}
