//! The request as verification sees it, and how its parts are read.

use chrono::{DateTime, Utc};
use hookgate_domain::Error;

/// What signature checks need to know about one request.
pub struct SignedRequest<'a> {
    pub method: &'a http::Method,
    /// The full public URL the sender called, including sub-path and query string.
    pub url: &'a str,
    pub headers: &'a http::HeaderMap,
    /// Raw body bytes exactly as received.
    pub body: &'a [u8],
    pub now: DateTime<Utc>,
}

impl<'a> SignedRequest<'a> {
    pub(crate) fn optional_header(&self, name: &str) -> Result<Option<&'a str>, Error> {
        self.headers
            .get(name)
            .map(|value| value.to_str().map_err(|_| malformed(name)))
            .transpose()
    }

    pub(crate) fn header(&self, name: &str) -> Result<&'a str, Error> {
        self.optional_header(name)?
            .ok_or_else(|| unauthenticated(format!("missing {name} header")))
    }

    /// The raw query string of the URL, if any.
    pub(crate) fn query(&self) -> &'a str {
        self.url.split_once('?').map(|(_, q)| q).unwrap_or_default()
    }

    pub(crate) fn query_param(&self, name: &str) -> Option<String> {
        form_urlencoded::parse(self.query().as_bytes())
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    }

    pub(crate) fn is_form(&self) -> Result<bool, Error> {
        Ok(self.optional_header("Content-Type")?.is_some_and(|ct| {
            let media_type = ct.split(';').next().unwrap_or_default().trim();
            media_type.eq_ignore_ascii_case("application/x-www-form-urlencoded")
        }))
    }

    pub(crate) fn json(&self) -> Result<serde_json::Value, Error> {
        serde_json::from_slice(self.body).map_err(|_| unauthenticated("body is not json"))
    }
}

/// A string or a number at `pointer`, as text.
pub(crate) fn json_text(value: &serde_json::Value, pointer: &str) -> Result<String, Error> {
    match value.pointer(pointer) {
        Some(serde_json::Value::String(text)) => Ok(text.clone()),
        Some(serde_json::Value::Number(number)) => Ok(number.to_string()),
        _ => Err(unauthenticated(format!("missing {pointer} in body"))),
    }
}

pub(crate) fn within_tolerance(
    unix_millis: i64,
    now: DateTime<Utc>,
    tolerance_secs: u64,
) -> Result<(), Error> {
    if now.timestamp_millis().abs_diff(unix_millis) <= tolerance_secs.saturating_mul(1000) {
        Ok(())
    } else {
        Err(unauthenticated(format!(
            "timestamp outside the {tolerance_secs} s tolerance"
        )))
    }
}

pub(crate) fn malformed(name: &str) -> Error {
    unauthenticated(format!("malformed {name} header"))
}

pub(crate) fn unauthenticated(msg: impl Into<String>) -> Error {
    Error::Unauthenticated(msg.into())
}
