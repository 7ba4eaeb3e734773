//! Errors of the HTTP API: a status and `{"error": "..."}`.

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;
use tracing::error;

use crate::appliance::api::ApiError;

/// An HTTP API refusal or failure, answered as JSON `{error}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpError {
    status: StatusCode,
    message: String,
}

impl HttpError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> HttpError {
        HttpError {
            status,
            message: message.into(),
        }
    }

    /// 400: the request does not make sense.
    pub fn bad_request(message: impl Into<String>) -> HttpError {
        HttpError::new(StatusCode::BAD_REQUEST, message)
    }

    /// 401: no credentials, or credentials that do not verify.
    pub fn unauthorized(message: impl Into<String>) -> HttpError {
        HttpError::new(StatusCode::UNAUTHORIZED, message)
    }

    /// 403: a caller who may not do this.
    pub fn forbidden(message: impl Into<String>) -> HttpError {
        HttpError::new(StatusCode::FORBIDDEN, message)
    }

    pub fn not_found(message: impl Into<String>) -> HttpError {
        HttpError::new(StatusCode::NOT_FOUND, message)
    }

    pub fn internal(message: impl Into<String>) -> HttpError {
        HttpError::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.message)
    }
}

impl ResponseError for HttpError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status);
        if self.status == StatusCode::UNAUTHORIZED {
            res.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        res.json(json!({ "error": self.message }))
    }
}

impl From<ApiError> for HttpError {
    fn from(err: ApiError) -> Self {
        match err {
            ApiError::UnknownNamespace(_) | ApiError::Invalid(_) | ApiError::Encode(_) => {
                HttpError::bad_request(err.to_string())
            }
            ApiError::NotFound(message) => HttpError::not_found(message),
            ApiError::Store(err) => {
                error!(%err, "notification store failed");
                HttpError::internal("storage failure")
            }
        }
    }
}

impl From<crate::appliance::services::notifications::NotificationStoreError> for HttpError {
    fn from(err: crate::appliance::services::notifications::NotificationStoreError) -> Self {
        HttpError::from(ApiError::from(err))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::to_bytes;

    #[actix_rt::test]
    async fn errors_are_json_with_a_status() {
        let res = HttpError::bad_request("`event` is required").error_response();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        let body = to_bytes(res.into_body()).await.unwrap();
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&body).unwrap(),
            json!({ "error": "`event` is required" })
        );
        let res = HttpError::unauthorized("no").error_response();
        assert_eq!(res.headers().get("www-authenticate").unwrap(), "Bearer");
    }

    #[test]
    fn api_errors_map_to_statuses() {
        let status = |e: ApiError| HttpError::from(e).status();
        assert_eq!(
            status(ApiError::UnknownNamespace("/x".into())),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            status(ApiError::Invalid("x".into())),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            status(ApiError::NotFound("x".into())),
            StatusCode::NOT_FOUND
        );
    }
}
