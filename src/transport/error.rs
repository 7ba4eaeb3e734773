//! Engine.IO request errors, answered as the Node server answers them.

use actix_web::{HttpResponse, ResponseError, http::StatusCode};
use confab_engine::Refusal;

/// A refused Engine.IO request. The codes and messages are the Node
/// server's, which clients and tooling already recognise.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineIoError {
    #[error("Transport unknown")]
    UnknownTransport,
    #[error("Session ID unknown")]
    UnknownSid,
    #[error("Bad handshake method")]
    BadHandshakeMethod,
    #[error("Bad request")]
    BadRequest,
    #[error("Unsupported protocol version")]
    UnsupportedProtocolVersion,
    /// A polling body over `maxPayload`: 413 with an empty body, as Node.
    #[error("Payload Too Large")]
    PayloadTooLarge,
    /// Refused by `allow_request` (by default: an `Origin` not on the
    /// allow-list): 403 with the hook's message, as Node's `allowRequest`.
    #[error("{0}")]
    Forbidden(String),
}

impl EngineIoError {
    /// The reason counted in the engine's refusal metrics.
    pub fn refusal(&self) -> Refusal {
        match self {
            Self::UnknownTransport => Refusal::UnknownTransport,
            Self::UnknownSid => Refusal::UnknownSid,
            Self::PayloadTooLarge => Refusal::PayloadTooLarge,
            Self::Forbidden(_) => Refusal::Origin,
            Self::BadHandshakeMethod | Self::BadRequest | Self::UnsupportedProtocolVersion => {
                Refusal::BadRequest
            }
        }
    }

    fn code(&self) -> u8 {
        match self {
            Self::UnknownTransport => 0,
            Self::UnknownSid => 1,
            Self::BadHandshakeMethod => 2,
            Self::BadRequest | Self::PayloadTooLarge => 3,
            Self::Forbidden(_) => 4,
            Self::UnsupportedProtocolVersion => 5,
        }
    }
}

impl EngineIoError {
    /// The answer to a refused WebSocket upgrade: the message as text.
    pub fn plain_response(&self) -> HttpResponse {
        HttpResponse::build(self.status_code())
            .content_type("text/html")
            .body(self.to_string())
    }
}

impl ResponseError for EngineIoError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if *self == Self::PayloadTooLarge {
            return HttpResponse::PayloadTooLarge().finish();
        }
        HttpResponse::build(self.status_code())
            .json(serde_json::json!({ "code": self.code(), "message": self.to_string() }))
    }
}
