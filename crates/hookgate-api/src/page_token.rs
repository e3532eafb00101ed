//! Opaque page tokens: a keyset cursor bound to the listing it came from.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use hookgate_domain::Error;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Cursor {
    /// The application listed, so a token cannot be replayed against another parent.
    #[serde(rename = "p")]
    parent: String,
    /// The last id of the previous page.
    #[serde(rename = "k")]
    after_id: String,
}

pub fn encode(parent: &str, after_id: &str) -> String {
    let cursor = Cursor {
        parent: parent.to_owned(),
        after_id: after_id.to_owned(),
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&cursor).unwrap_or_default())
}

/// The id to continue after; `None` for the first page.
pub fn decode(token: &str, parent: &str) -> Result<Option<String>, Error> {
    if token.is_empty() {
        return Ok(None);
    }
    let invalid = || Error::invalid("page_token", "is not a page token of this listing");
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
    let cursor: Cursor = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    if cursor.parent != parent {
        return Err(invalid());
    }
    Ok(Some(cursor.after_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_is_bound_to_its_parent() {
        let token = encode("applications/a", "id9");
        assert_eq!(
            decode(&token, "applications/a").unwrap().as_deref(),
            Some("id9")
        );
        assert!(decode(&token, "applications/b").is_err());
        assert!(decode("garbage!", "applications/a").is_err());
        assert_eq!(decode("", "applications/a").unwrap(), None);
    }
}
