//! gRPC failures as people read them: the status code, its message and each field violation.

use tonic::{Code, Status};
use tonic_types::StatusExt;

/// An RPC that the server answered with an error status.
#[derive(Debug)]
pub struct RpcError {
    rpc: &'static str,
    status: Status,
}

pub fn rpc_error(rpc: &'static str, status: Status) -> anyhow::Error {
    anyhow::Error::new(RpcError { rpc, status })
}

impl std::fmt::Display for RpcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let code = self.status.code();
        write!(f, "{}: {}", self.rpc, code_name(code))?;
        let violations = self
            .status
            .get_details_bad_request()
            .map(|details| details.field_violations)
            .unwrap_or_default();
        match code {
            // The message only repeats the violations listed below.
            _ if !violations.is_empty() => {}
            Code::Unimplemented => write!(
                f,
                ": the server at this address does not offer {} (it is older than this client)",
                self.rpc
            )?,
            Code::Unavailable | Code::Unknown if self.status.message().is_empty() => {}
            _ => write!(f, ": {}", self.status.message())?,
        }
        for violation in violations {
            write!(f, "\n  {}: {}", violation.field, violation.description)?;
        }
        Ok(())
    }
}

impl std::error::Error for RpcError {}

/// The canonical name of a code, as gRPC's documentation and other tools spell it.
fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// The innermost cause of a connection failure ("Connection refused"), which is what a
/// person can act on; tonic's own message is only "transport error".
pub fn transport_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic_types::{ErrorDetails, FieldViolation};

    #[test]
    fn violations_follow_the_code_and_message() {
        let status = Status::with_error_details(
            Code::InvalidArgument,
            "invalid webhook",
            ErrorDetails::with_bad_request(vec![FieldViolation::new(
                "webhook.display_name",
                "is required",
            )]),
        );
        assert_eq!(
            RpcError {
                rpc: "CreateWebhook",
                status
            }
            .to_string(),
            "CreateWebhook: INVALID_ARGUMENT\n  webhook.display_name: is required"
        );
        let older = RpcError {
            rpc: "ListVerificationProviders",
            status: Status::unimplemented(""),
        };
        assert!(older.to_string().contains("older than this client"));
    }
}
