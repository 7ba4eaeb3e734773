//! Why a client event is refused, in words fit for the client.

use confab_chat::ChatError;
use confab_chat::store::StoreError;
use confab_engine::EncodeError;
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
    /// Not allowed to the caller (not a member, not the sender, not an
    /// admin, blocked).
    #[error("{0}")]
    Denied(String),
    /// The chat, message or member named does not exist.
    #[error("{0}")]
    Missing(String),
    #[error("internal error")]
    Internal,
    /// This node of a cluster does not run the chat service.
    #[error("{0}")]
    ServedElsewhere(String),
}

impl Refusal {
    pub fn invalid(message: impl Into<String>) -> Refusal {
        Refusal::Invalid(message.into())
    }
}

impl From<ChatError> for Refusal {
    fn from(err: ChatError) -> Refusal {
        if err.is_refusal() {
            let message = err.to_string();
            match err {
                ChatError::NotFound | ChatError::MessageNotFound | ChatError::NotParticipant => {
                    Refusal::Missing(message)
                }
                ChatError::NotMember
                | ChatError::NotSender
                | ChatError::NotAdmin
                | ChatError::Blocked => Refusal::Denied(message),
                _ => Refusal::Chat(message),
            }
        } else {
            error!(%err, "chat request failed");
            Refusal::Internal
        }
    }
}

impl From<EncodeError> for Refusal {
    fn from(err: EncodeError) -> Refusal {
        error!(%err, "chat answer not encoded");
        Refusal::Internal
    }
}

impl From<StoreError> for Refusal {
    fn from(err: StoreError) -> Refusal {
        error!(%err, "chat store failed");
        Refusal::Internal
    }
}
