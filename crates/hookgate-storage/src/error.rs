//! The storage boundary: every `DbErr` becomes a domain error here.

use hookgate_domain::Error;
use sea_orm::{DbErr, SqlErr};

pub(crate) fn from_db(err: DbErr) -> Error {
    if let Some(SqlErr::UniqueConstraintViolation(detail)) = err.sql_err() {
        // Tokens and ids come from a CSPRNG; a collision means a bug, not a user mistake.
        return Error::Internal(format!("unique constraint violated: {detail}"));
    }
    match err {
        DbErr::ConnectionAcquire(e) => Error::Unavailable(format!("database unavailable: {e}")),
        DbErr::Conn(e) => Error::Unavailable(format!("database unavailable: {e}")),
        other => Error::Internal(format!("database error: {other}")),
    }
}
