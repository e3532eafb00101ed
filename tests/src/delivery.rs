//! Provider deliveries signed as the provider signs them, for sending the same one again.

use hmac::{Hmac, Mac};

/// The headers of a GitHub delivery of `body` with id `delivery`.
pub fn github(secret: &str, delivery: &str, body: &str) -> Vec<(&'static str, String)> {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("any key size");
    mac.update(body.as_bytes());
    vec![
        ("content-type", "application/json".into()),
        ("x-github-event", "push".into()),
        ("x-github-delivery", delivery.into()),
        (
            "x-hub-signature-256",
            format!("sha256={}", hex::encode(mac.finalize().into_bytes())),
        ),
    ]
}

/// The headers of a Svix delivery of `body` with message id `id`, signed now with the
/// endpoint's `whsec_` secret.
pub fn svix(secret: &str, id: &str, body: &str) -> Vec<(&'static str, String)> {
    use base64::{engine::general_purpose::STANDARD, Engine};
    let key = STANDARD
        .decode(secret.trim_start_matches("whsec_"))
        .expect("a whsec_ secret");
    let timestamp = chrono::Utc::now().timestamp().to_string();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).expect("any key size");
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    vec![
        ("content-type", "application/json".into()),
        ("svix-id", id.into()),
        ("svix-timestamp", timestamp),
        (
            "svix-signature",
            format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes())),
        ),
    ]
}

/// Borrowed pairs for `http::send`.
pub fn pairs<'a>(headers: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    headers.iter().map(|(k, v)| (*k, v.as_str())).collect()
}
