//! Bearer tokens, each scoped to a set of applications.

use hookgate_domain::{secret::constant_time_eq, Error, Secret};
use std::collections::HashSet;

/// Which applications a token may touch.
#[derive(Debug, Clone)]
enum Scope {
    All,
    Only(HashSet<String>),
}

#[derive(Debug, Clone)]
struct Grant {
    token: Secret,
    scope: Scope,
}

/// The API's access rules. With no tokens the API is open.
#[derive(Debug, Clone, Default)]
pub struct Authorizer {
    grants: Vec<Grant>,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid api token entry {entry:?}: expected TOKEN=app1,app2 or TOKEN=*, entries separated by ';', tokens of at least 16 characters")]
pub struct ParseTokensError {
    entry: String,
}

impl Authorizer {
    /// Parses `TOKEN=app1,app2;OTHER=*`.
    pub fn parse(spec: &str) -> Result<Self, ParseTokensError> {
        let mut grants = Vec::new();
        for entry in spec.split(';').map(str::trim).filter(|e| !e.is_empty()) {
            let invalid = || ParseTokensError {
                // The token itself is a secret: only its scope may appear in errors.
                entry: entry
                    .split_once('=')
                    .map(|(_, s)| format!("…={s}"))
                    .unwrap_or_else(|| "…".into()),
            };
            let (token, scope) = entry.split_once('=').ok_or_else(invalid)?;
            let token = token.trim();
            if token.len() < 16 {
                return Err(invalid());
            }
            let scope = match scope.trim() {
                "*" => Scope::All,
                apps => {
                    let apps: HashSet<String> = apps
                        .split(',')
                        .map(str::trim)
                        .filter(|a| !a.is_empty())
                        .map(str::to_owned)
                        .collect();
                    if apps.is_empty() {
                        return Err(invalid());
                    }
                    Scope::Only(apps)
                }
            };
            grants.push(Grant {
                token: Secret::from(token),
                scope,
            });
        }
        Ok(Self { grants })
    }

    pub fn is_open(&self) -> bool {
        self.grants.is_empty()
    }

    /// The grant behind the `authorization` metadata; `None` when the API is open.
    fn grant(&self, authorization: Option<&str>) -> Result<Option<&Grant>, Error> {
        if self.is_open() {
            return Ok(None);
        }
        let presented = authorization
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .map(str::trim)
            .ok_or_else(|| {
                Error::Unauthenticated("missing authorization: Bearer <token>".into())
            })?;
        self.grants
            .iter()
            .find(|g| constant_time_eq(g.token.expose().as_bytes(), presented.as_bytes()))
            .map(Some)
            .ok_or_else(|| Error::Unauthenticated("unknown bearer token".into()))
    }

    /// Checks that the caller presented a known token, before its request is looked at.
    pub fn authenticate(&self, authorization: Option<&str>) -> Result<(), Error> {
        self.grant(authorization).map(|_| ())
    }

    /// Checks the `authorization` metadata against `application_id`.
    pub fn authorize(
        &self,
        authorization: Option<&str>,
        application_id: &str,
    ) -> Result<(), Error> {
        match self.grant(authorization)?.map(|grant| &grant.scope) {
            None | Some(Scope::All) => Ok(()),
            Some(Scope::Only(apps)) if apps.contains(application_id) => Ok(()),
            Some(Scope::Only(_)) => Err(Error::PermissionDenied(format!(
                "token may not access applications/{application_id}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hookgate_domain::ErrorKind;

    #[test]
    fn scoped_tokens() {
        let auth = Authorizer::parse("aaaaaaaaaaaaaaaa=acme,globex; bbbbbbbbbbbbbbbb=*").unwrap();
        assert!(auth
            .authorize(Some("Bearer aaaaaaaaaaaaaaaa"), "acme")
            .is_ok());
        assert_eq!(
            auth.authorize(Some("Bearer aaaaaaaaaaaaaaaa"), "initech")
                .unwrap_err()
                .kind(),
            ErrorKind::PermissionDenied
        );
        assert!(auth
            .authorize(Some("Bearer bbbbbbbbbbbbbbbb"), "initech")
            .is_ok());
        assert_eq!(
            auth.authorize(None, "acme").unwrap_err().kind(),
            ErrorKind::Unauthenticated
        );
        assert_eq!(
            auth.authorize(Some("Bearer cccccccccccccccc"), "acme")
                .unwrap_err()
                .kind(),
            ErrorKind::Unauthenticated
        );
    }

    #[test]
    fn debug_never_shows_a_token() {
        let auth = Authorizer::parse("aaaaaaaaaaaaaaaa-secret=acme").unwrap();
        let printed = format!("{auth:?}");
        assert!(!printed.contains("aaaaaaaaaaaaaaaa-secret"), "{printed}");
        assert!(printed.contains("acme"), "{printed}");
    }

    #[test]
    fn rejects_bad_entries_without_echoing_the_token() {
        let err = Authorizer::parse("short=*").unwrap_err().to_string();
        assert!(!err.contains("short"), "{err}");
        assert!(Authorizer::parse("aaaaaaaaaaaaaaaa=").is_err());
        assert!(Authorizer::parse("").unwrap().is_open());
    }
}
