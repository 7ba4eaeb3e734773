//! Why a client event is refused, in words fit for the client.

use confab_actors::chat::ChatError;
use confab_actors::store::StoreError;
use tracing::error;

/// A refused event: its ack gets `{error: "<message>"}`, or, when the
/// client asked for no ack, the socket gets `exception {status, message}`
/// (as a NestJS gateway answers a `WsException`).
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("unauthenticated")]
    Unauthenticated,
    #[error("userId does not match the connection")]
    ForgedUser,
    #[error("{0}")]
    Invalid(String),
    #[error("user not found")]
    UnknownUser,
    #[error("{0}")]
    Chat(String),
    #[error("internal error")]
    Internal,
}

impl Refusal {
    pub fn invalid(message: impl Into<String>) -> Refusal {
        Refusal::Invalid(message.into())
    }
}

impl From<ChatError> for Refusal {
    fn from(err: ChatError) -> Refusal {
        if err.is_refusal() {
            Refusal::Chat(err.to_string())
        } else {
            error!(%err, "chat request failed");
            Refusal::Internal
        }
    }
}

impl From<StoreError> for Refusal {
    fn from(err: StoreError) -> Refusal {
        error!(%err, "chat store failed");
        Refusal::Internal
    }
}
