//! Domain errors and the single table that maps them to gRPC codes and HTTP statuses.

use std::time::Duration;

/// One invalid field of a request, named by its path (`webhook.display_name`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
}

impl FieldViolation {
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            description: description.into(),
        }
    }
}

/// Every failure hookgate reports to a caller, gRPC or HTTP.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    #[error("invalid argument: {}", describe(.0))]
    InvalidArgument(Vec<FieldViolation>),
    #[error("{0} not found")]
    NotFound(String),
    #[error("etag mismatch: {0} was changed by someone else")]
    EtagMismatch(String),
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    PermissionDenied(String),
    #[error("request body exceeds {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("request too large: its Kafka record would exceed {limit} bytes")]
    RecordTooLarge { limit: usize },
    #[error("request line and headers exceed {limit} bytes")]
    HeadersTooLarge { limit: usize },
    #[error("rate limit exceeded")]
    RateLimited { retry_after: Duration },
    #[error("{0}")]
    RequestTimeout(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("time out waiting for workflow reply")]
    ReplyTimeout,
    #[error("{0}")]
    Unimplemented(String),
    #[error("internal error: {0}")]
    Internal(String),
}

fn describe(violations: &[FieldViolation]) -> String {
    violations
        .iter()
        .map(|v| format!("{}: {}", v.field, v.description))
        .collect::<Vec<_>>()
        .join("; ")
}

impl Error {
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self::InvalidArgument(vec![FieldViolation::new(field, description)])
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::InvalidArgument(_) => ErrorKind::InvalidArgument,
            Self::NotFound(_) => ErrorKind::NotFound,
            Self::EtagMismatch(_) => ErrorKind::Aborted,
            Self::Unauthenticated(_) => ErrorKind::Unauthenticated,
            Self::PermissionDenied(_) => ErrorKind::PermissionDenied,
            Self::PayloadTooLarge { .. } | Self::RecordTooLarge { .. } => {
                ErrorKind::PayloadTooLarge
            }
            Self::HeadersTooLarge { .. } => ErrorKind::HeadersTooLarge,
            Self::RateLimited { .. } => ErrorKind::RateLimited,
            Self::RequestTimeout(_) => ErrorKind::RequestTimeout,
            Self::Unavailable(_) => ErrorKind::Unavailable,
            Self::ReplyTimeout => ErrorKind::ReplyTimeout,
            Self::Unimplemented(_) => ErrorKind::Unimplemented,
            Self::Internal(_) => ErrorKind::Internal,
        }
    }

    /// What an outside HTTP caller is told: no resource names, no internals.
    pub fn public_message(&self) -> String {
        match self {
            Self::NotFound(_) => "not found".into(),
            Self::Internal(_) => "internal error".into(),
            Self::Unavailable(_) => "temporarily unavailable, retry later".into(),
            Self::ReplyTimeout => "Time out waiting for workflow reply".into(),
            other => other.to_string(),
        }
    }

    /// Seconds a client should wait before retrying, where that is known.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after } => Some(*retry_after),
            Self::Unavailable(_) => Some(Duration::from_secs(1)),
            _ => None,
        }
    }
}

/// The classes of failure, each with one gRPC code and one HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    InvalidArgument,
    NotFound,
    Aborted,
    Unauthenticated,
    PermissionDenied,
    PayloadTooLarge,
    HeadersTooLarge,
    RateLimited,
    RequestTimeout,
    Unavailable,
    ReplyTimeout,
    Unimplemented,
    Internal,
}

/// gRPC status codes as numbered by `google.rpc.Code`.
pub mod grpc_code {
    pub const INVALID_ARGUMENT: i32 = 3;
    pub const DEADLINE_EXCEEDED: i32 = 4;
    pub const NOT_FOUND: i32 = 5;
    pub const PERMISSION_DENIED: i32 = 7;
    pub const RESOURCE_EXHAUSTED: i32 = 8;
    pub const ABORTED: i32 = 10;
    pub const UNIMPLEMENTED: i32 = 12;
    pub const INTERNAL: i32 = 13;
    pub const UNAVAILABLE: i32 = 14;
    pub const UNAUTHENTICATED: i32 = 16;
}

impl ErrorKind {
    /// The one mapping of error classes to `(HTTP status, gRPC code)`.
    pub const fn statuses(self) -> (u16, i32) {
        use grpc_code::*;
        match self {
            Self::InvalidArgument => (400, INVALID_ARGUMENT),
            Self::NotFound => (404, NOT_FOUND),
            Self::Aborted => (409, ABORTED),
            Self::Unauthenticated => (401, UNAUTHENTICATED),
            Self::PermissionDenied => (403, PERMISSION_DENIED),
            Self::PayloadTooLarge => (413, INVALID_ARGUMENT),
            Self::HeadersTooLarge => (431, INVALID_ARGUMENT),
            Self::RateLimited => (429, RESOURCE_EXHAUSTED),
            Self::RequestTimeout => (408, DEADLINE_EXCEEDED),
            Self::Unavailable => (503, UNAVAILABLE),
            Self::ReplyTimeout => (504, DEADLINE_EXCEEDED),
            Self::Unimplemented => (501, UNIMPLEMENTED),
            Self::Internal => (500, INTERNAL),
        }
    }

    pub const fn http_status(self) -> u16 {
        self.statuses().0
    }

    pub const fn grpc_code(self) -> i32 {
        self.statuses().1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_maps_to_a_distinct_http_status() {
        let kinds = [
            ErrorKind::InvalidArgument,
            ErrorKind::NotFound,
            ErrorKind::Aborted,
            ErrorKind::Unauthenticated,
            ErrorKind::PermissionDenied,
            ErrorKind::PayloadTooLarge,
            ErrorKind::HeadersTooLarge,
            ErrorKind::RateLimited,
            ErrorKind::RequestTimeout,
            ErrorKind::Unavailable,
            ErrorKind::ReplyTimeout,
            ErrorKind::Unimplemented,
            ErrorKind::Internal,
        ];
        let mut statuses: Vec<u16> = kinds.iter().map(|k| k.http_status()).collect();
        statuses.sort_unstable();
        statuses.dedup();
        assert_eq!(statuses.len(), kinds.len());
    }

    #[test]
    fn invalid_argument_names_the_field() {
        let err = Error::invalid("webhook.display_name", "is required");
        assert_eq!(
            err.to_string(),
            "invalid argument: webhook.display_name: is required"
        );
        assert_eq!(err.kind().grpc_code(), grpc_code::INVALID_ARGUMENT);
    }
}
