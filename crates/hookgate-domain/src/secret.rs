//! Secret values and constant-time comparisons.

use subtle::ConstantTimeEq;

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// A value that must never reach a log, an error message or a `{:?}`: signing secrets,
/// passwords, API tokens, database URLs with credentials, Kafka client properties.
/// `Debug` prints `<redacted>` and there is deliberately no `Display`; code that needs the
/// value asks for it by name with [`Secret::expose`].
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Secret<T = String>(T);

impl<T> Secret<T> {
    pub const fn new(value: T) -> Self {
        Self(value)
    }

    /// The value itself, for the one place that uses it (a MAC key, a connection string).
    pub fn expose(&self) -> &T {
        &self.0
    }

    pub fn into_exposed(self) -> T {
        self.0
    }
}

impl<T> std::fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl From<String> for Secret<String> {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret<String> {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl From<String> for Secret<Box<str>> {
    fn from(value: String) -> Self {
        Self(value.into_boxed_str())
    }
}

impl From<&str> for Secret<Box<str>> {
    fn from(value: &str) -> Self {
        Self(value.into())
    }
}

/// So `clap` can read a secret setting straight into a `Secret`.
impl std::str::FromStr for Secret<String> {
    type Err = std::convert::Infallible;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Ok(Self(value.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let secret: Secret = Secret::from("hunter2");
        assert_eq!(format!("{secret:?}"), "<redacted>");
        assert_eq!(format!("{:?}", Some(&secret)), "Some(<redacted>)");
        assert_eq!(secret.expose(), "hunter2");
    }
}
