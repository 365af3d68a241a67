//! JSON and path extraction errors in the contract's shape.

use actix_web::error::{JsonPayloadError, PathError};
use actix_web::{web, HttpRequest};

use crate::http::error::ApiError;

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

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default()
        .error_handler(|err, _| ApiError::InvalidInput(format!("bad query: {err}")).into())
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

/// A JSON object body decoded into `T`. Serde alone would also accept an
/// array in field order, which is no shape the contract documents.
pub struct Body<T>(pub T);

impl<T> Body<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: serde::de::DeserializeOwned + 'static> actix_web::FromRequest for Body<T> {
    type Error = actix_web::Error;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let value = web::Json::<serde_json::Value>::from_request(req, payload);
        Box::pin(async move {
            let value = value.await?.into_inner();
            if !value.is_object() {
                return Err(ApiError::InvalidInput("the body must be a JSON object".into()).into());
            }
            serde_json::from_value(value)
                .map(Body)
                .map_err(|e| ApiError::InvalidInput(format!("invalid JSON body: {e}")).into())
        })
    }
}
