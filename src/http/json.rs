//! JSON and path extraction errors in the contract's shape.

use actix_web::error::{JsonPayloadError, PathError};
use actix_web::{web, HttpRequest};

use crate::error::ApiError;

/// Bodies larger than this get 413.
pub const MAX_BODY: usize = 64 * 1024;

pub fn config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(MAX_BODY)
        .error_handler(|err, _req: &HttpRequest| json_error(err).into())
}

pub fn path_config() -> web::PathConfig {
    web::PathConfig::default()
        .error_handler(|err: PathError, _| ApiError::InvalidInput(err.to_string()).into())
}

fn json_error(err: JsonPayloadError) -> ApiError {
    match err {
        JsonPayloadError::OverflowKnownLength { .. } | JsonPayloadError::Overflow { .. } => {
            ApiError::TooLarge(MAX_BODY)
        }
        JsonPayloadError::ContentType => {
            ApiError::UnsupportedMediaType("send the body as application/json".into())
        }
        JsonPayloadError::Deserialize(e) => {
            ApiError::InvalidInput(format!("invalid JSON body: {e}"))
        }
        other => ApiError::InvalidInput(format!("unreadable body: {other}")),
    }
}
