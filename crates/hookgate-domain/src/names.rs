//! Resource names: `applications/{application}` and
//! `applications/{application}/webhooks/{webhook}`.

use crate::Error;
use std::fmt;

const MAX_SEGMENT: usize = 63;

fn valid_segment(segment: &str) -> bool {
    !segment.is_empty()
        && segment.len() <= MAX_SEGMENT
        && segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && segment != "."
        && segment != ".."
}

/// `applications/{application}`: the tenant that owns webhooks.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ApplicationName {
    pub application_id: String,
}

impl ApplicationName {
    /// Parses a `parent`; `field` names the request field in the error.
    pub fn parse(value: &str, field: &str) -> Result<Self, Error> {
        match value.split('/').collect::<Vec<_>>().as_slice() {
            ["applications", app] if valid_segment(app) => Ok(Self {
                application_id: (*app).to_owned(),
            }),
            _ => Err(Error::invalid(
                field,
                format!(
                    "must look like applications/{{application}} (letters, digits, '-', '_', '.', at most {MAX_SEGMENT}), got {value:?}"
                ),
            )),
        }
    }
}

impl fmt::Display for ApplicationName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "applications/{}", self.application_id)
    }
}

/// `applications/{application}/webhooks/{webhook}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WebhookName {
    pub application_id: String,
    pub webhook_id: String,
}

impl WebhookName {
    pub fn new(application_id: impl Into<String>, webhook_id: impl Into<String>) -> Self {
        Self {
            application_id: application_id.into(),
            webhook_id: webhook_id.into(),
        }
    }

    pub fn parse(value: &str, field: &str) -> Result<Self, Error> {
        match value.split('/').collect::<Vec<_>>().as_slice() {
            ["applications", app, "webhooks", hook] if valid_segment(app) && valid_segment(hook) => {
                Ok(Self::new(*app, *hook))
            }
            _ => Err(Error::invalid(
                field,
                format!(
                    "must look like applications/{{application}}/webhooks/{{webhook}}, got {value:?}"
                ),
            )),
        }
    }

    /// CloudEvents `source` of this webhook's trigger messages.
    pub fn event_source(&self) -> String {
        const FIXED: &str = "/applications//webhooks/";
        let mut source =
            String::with_capacity(FIXED.len() + self.application_id.len() + self.webhook_id.len());
        source.push_str("/applications/");
        source.push_str(&self.application_id);
        source.push_str("/webhooks/");
        source.push_str(&self.webhook_id);
        source
    }
}

impl fmt::Display for WebhookName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "applications/{}/webhooks/{}",
            self.application_id, self.webhook_id
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_names() {
        let name = WebhookName::parse("applications/acme/webhooks/w1", "name").unwrap();
        assert_eq!(name.application_id, "acme");
        assert_eq!(name.webhook_id, "w1");
        assert_eq!(name.to_string(), "applications/acme/webhooks/w1");
        assert_eq!(name.event_source(), "/applications/acme/webhooks/w1");
        let app = ApplicationName::parse("applications/acme", "parent").unwrap();
        assert_eq!(app.to_string(), "applications/acme");
    }

    #[test]
    fn rejects_malformed_names_naming_the_field() {
        for bad in [
            "",
            "applications/",
            "applications/a/b",
            "apps/a",
            "applications/a b",
            "applications/..",
        ] {
            match ApplicationName::parse(bad, "parent") {
                Err(Error::InvalidArgument(v)) => assert_eq!(v[0].field, "parent"),
                other => panic!("{bad:?} gave {other:?}"),
            }
        }
        assert!(WebhookName::parse("applications/a/webhooks/", "name").is_err());
        assert!(WebhookName::parse("applications/a/hooks/x", "name").is_err());
        let long = format!("applications/{}", "a".repeat(64));
        assert!(ApplicationName::parse(&long, "parent").is_err());
    }
}
