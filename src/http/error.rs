//! One error type for the HTTP surface, rendered in the contract's shape:
//! `{"error": {"code": "...", "message": "..."}}`. Internal causes go to the
//! log; the client sees only the outer sentence. The room's and the
//! store's errors become this one here and nowhere else.

use std::time::Duration;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::slug::InvalidSlug;
use crate::domain::TextError;
use crate::live::RoomError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    InvalidInput(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("Wrong password for this room.")]
    BadPassword,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("This room is full.")]
    RoomFull,
    /// A 409 with a code of its own: the thing is not in a state that
    /// allows it (a poll not open).
    #[error("{1}")]
    Conflict(&'static str, String),
    #[error("This session has ended.")]
    RoomEnded,
    #[error("The request is too large: at most {0} bytes.")]
    TooLarge(usize),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("Too many attempts: please try again in {} s.", retry_after_secs(*.retry_after))]
    RateLimited { retry_after: Duration },
    #[error("{0}")]
    Unavailable(String),
    #[error("Something went wrong on the server. Please try again.")]
    Internal(#[source] anyhow::Error),
}

fn retry_after_secs(d: Duration) -> u64 {
    // Round up: a client that waits the advertised time must succeed.
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// Every status and code an `ApiError` can be, for the API's description.
pub const CODES: [(u16, &str); 18] = [
    (400, "invalid_input"),
    (401, "unauthorized"),
    (401, "bad_password"),
    (403, "forbidden"),
    (404, "not_found"),
    (405, "method_not_allowed"),
    (409, "room_full"),
    (409, "poll_not_open"),
    (409, "poll_status"),
    (409, "stage_full"),
    (409, "already_on_stage"),
    (409, "room_live"),
    (410, "room_ended"),
    (413, "too_large"),
    (415, "unsupported_media_type"),
    (429, "rate_limited"),
    (500, "internal"),
    (503, "unavailable"),
];

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// What went wrong, for programs.
    #[schema(schema_with = error_code)]
    pub code: &'static str,
    /// A sentence for the person who will read it.
    pub message: String,
}

fn error_code() -> utoipa::openapi::Object {
    crate::views::one_of(CODES.iter().map(|(_, code)| *code))
}

impl ApiError {
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::InvalidInput(_) => "invalid_input",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::BadPassword => "bad_password",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed(_) => "method_not_allowed",
            ApiError::RoomFull => "room_full",
            ApiError::Conflict(code, _) => code,
            ApiError::RoomEnded => "room_ended",
            ApiError::TooLarge(_) => "too_large",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }

    pub fn internal(e: impl Into<anyhow::Error>) -> Self {
        ApiError::Internal(e.into())
    }

    pub fn db_unavailable() -> Self {
        ApiError::Unavailable(
            "The server cannot reach its database: please try again shortly.".into(),
        )
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::InvalidInput(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) | ApiError::BadPassword => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::RoomFull | ApiError::Conflict(..) => StatusCode::CONFLICT,
            ApiError::RoomEnded => StatusCode::GONE,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            ApiError::Internal(cause) => tracing::error!(error = ?cause, "internal error"),
            ApiError::Unavailable(_) => tracing::warn!(error = %self, "unavailable"),
            _ => {}
        }
        let mut res = HttpResponse::build(self.status_code());
        if let ApiError::RateLimited { retry_after } = self {
            res.insert_header((
                header::RETRY_AFTER,
                retry_after_secs(*retry_after).to_string(),
            ));
        }
        res.json(ErrorBody {
            error: ErrorDetail {
                code: self.code(),
                message: self.to_string(),
            },
        })
    }
}

impl From<TextError> for ApiError {
    fn from(e: TextError) -> Self {
        ApiError::InvalidInput(e.to_string())
    }
}

/// A link that could never have been issued names no room: 404, as a
/// person following a mistyped or truncated link expects.
impl From<InvalidSlug> for ApiError {
    fn from(e: InvalidSlug) -> Self {
        ApiError::NotFound(e.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable => ApiError::db_unavailable(),
            StoreError::Internal(cause) => ApiError::Internal(anyhow::anyhow!(cause)),
        }
    }
}

impl From<RoomError> for ApiError {
    fn from(e: RoomError) -> Self {
        match e {
            RoomError::Forbidden(why) => ApiError::Forbidden(why),
            RoomError::NotFound(what) => ApiError::NotFound(what.to_owned()),
            RoomError::InvalidInput(why) => ApiError::InvalidInput(why),
            RoomError::Ended => ApiError::RoomEnded,
            RoomError::Conflict(code, why) => ApiError::Conflict(code, why),
            RoomError::RateLimited(retry_after) => ApiError::RateLimited { retry_after },
            RoomError::Unavailable => ApiError::db_unavailable(),
            e @ RoomError::Moved => ApiError::Unavailable(e.to_string()),
            RoomError::Internal(cause) => ApiError::Internal(anyhow::anyhow!(cause)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::to_bytes;

    #[actix_web::test]
    async fn errors_have_the_contract_shape() {
        let res = ApiError::RateLimited {
            retry_after: Duration::from_millis(1500),
        }
        .error_response();
        assert_eq!(res.status(), 429);
        assert_eq!(res.headers().get("retry-after").unwrap(), "2");
        let body = to_bytes(res.into_body()).await.unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["error"]["code"], "rate_limited");
        assert!(v["error"]["message"].as_str().unwrap().contains("2 s"));
    }

    #[test]
    fn every_error_is_listed_with_its_status() {
        let every = [
            ApiError::InvalidInput(String::new()),
            ApiError::Unauthorized(String::new()),
            ApiError::BadPassword,
            ApiError::Forbidden(String::new()),
            ApiError::NotFound(String::new()),
            ApiError::MethodNotAllowed(String::new()),
            ApiError::RoomFull,
            ApiError::Conflict("poll_not_open", String::new()),
            ApiError::Conflict("poll_status", String::new()),
            ApiError::Conflict("stage_full", String::new()),
            ApiError::Conflict("already_on_stage", String::new()),
            ApiError::Conflict("room_live", String::new()),
            ApiError::RoomEnded,
            ApiError::TooLarge(1),
            ApiError::UnsupportedMediaType(String::new()),
            ApiError::RateLimited {
                retry_after: Duration::ZERO,
            },
            ApiError::internal(anyhow::anyhow!("x")),
            ApiError::Unavailable(String::new()),
        ];
        assert_eq!(every.len(), CODES.len());
        for e in every {
            let listed = (e.status_code().as_u16(), e.code());
            assert!(CODES.contains(&listed), "{listed:?} is not in CODES");
        }
    }

    #[actix_web::test]
    async fn internal_errors_hide_their_cause() {
        let res = ApiError::internal(anyhow::anyhow!("secret detail")).error_response();
        assert_eq!(res.status(), 500);
        let body = to_bytes(res.into_body()).await.unwrap();
        assert!(!String::from_utf8_lossy(&body).contains("secret detail"));
    }
}
