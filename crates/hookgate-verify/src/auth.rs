//! Basic authentication and the one-way form its password is stored in.

use base64::Engine;
use hookgate_domain::{secret::constant_time_eq, Error, Secret, WebhookSpec};
use sha2::{Digest, Sha256};

/// What is stored for a basic-auth password: its SHA-256, hex.
pub fn password_digest(password: &str) -> Secret<Box<str>> {
    Secret::from(hex::encode(Sha256::digest(password.as_bytes())))
}

fn password_matches(password: &str, digest: &Secret<Box<str>>) -> bool {
    constant_time_eq(
        password_digest(password).expose().as_bytes(),
        digest.expose().as_bytes(),
    )
}

/// Checks `Authorization: Basic …` when the webhook asks for it.
pub fn check_basic_auth(spec: &WebhookSpec, authorization: Option<&[u8]>) -> Result<(), Error> {
    if !spec.has_basic_auth() {
        return Ok(());
    }
    let denied = || Error::Unauthenticated("basic authentication required".into());
    let encoded = authorization
        .and_then(|h| std::str::from_utf8(h).ok())
        .and_then(|h| {
            h.strip_prefix("Basic ")
                .or_else(|| h.strip_prefix("basic "))
        })
        .ok_or_else(denied)?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| denied())?;
    let decoded = String::from_utf8(decoded).map_err(|_| denied())?;
    let (user, password) = decoded.split_once(':').ok_or_else(denied)?;
    let user_ok = constant_time_eq(user.as_bytes(), spec.basic_auth_username.as_bytes());
    let password_ok = match &spec.basic_auth_password_digest {
        Some(digest) => password_matches(password, digest),
        None => password.is_empty(),
    };
    if user_ok && password_ok {
        Ok(())
    } else {
        Err(denied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_requires_matching_credentials() {
        let protected = WebhookSpec {
            basic_auth_username: "user".into(),
            basic_auth_password_digest: Some(password_digest("pw")),
            ..WebhookSpec::default()
        };
        let header = |s: &str| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(s)
            )
        };
        assert!(check_basic_auth(&protected, Some(header("user:pw").as_bytes())).is_ok());
        assert!(check_basic_auth(&protected, Some(header("user:no").as_bytes())).is_err());
        assert!(check_basic_auth(&protected, Some(header("other:pw").as_bytes())).is_err());
        assert!(check_basic_auth(&protected, Some(b"Bearer x")).is_err());
        assert!(check_basic_auth(&protected, None).is_err());
        assert!(check_basic_auth(&WebhookSpec::default(), None).is_ok());
    }
}
