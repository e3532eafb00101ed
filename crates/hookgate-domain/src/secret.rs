//! Constant-time comparisons and one-way storage of secrets.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// What is stored for a basic-auth password: its SHA-256, hex.
pub fn password_digest(password: &str) -> String {
    hex::encode(Sha256::digest(password.as_bytes()))
}

pub fn password_matches(password: &str, digest: &str) -> bool {
    constant_time_eq(password_digest(password).as_bytes(), digest.as_bytes())
}
