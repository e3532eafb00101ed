//! Domain errors as gRPC statuses; the codes come from the domain's single table.

use hookgate_domain::Error;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

pub fn to_status(err: Error) -> Status {
    let code = Code::from_i32(err.kind().grpc_code());
    match err {
        Error::InvalidArgument(violations) => {
            let message = Error::InvalidArgument(violations.clone()).to_string();
            let details = ErrorDetails::with_bad_request(
                violations
                    .into_iter()
                    .map(|v| tonic_types::FieldViolation::new(v.field, v.description))
                    .collect::<Vec<_>>(),
            );
            Status::with_error_details(code, message, details)
        }
        Error::Internal(detail) => {
            tracing::error!(error = %detail, "internal error");
            Status::new(code, "internal error")
        }
        other => Status::new(code, other.to_string()),
    }
}
