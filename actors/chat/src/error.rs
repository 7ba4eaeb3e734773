//! Why a chat request is refused.

use crate::store::StoreError;

/// A refusal, worded for the client, or a server fault (`Store`,
/// `Unavailable`) that the caller logs and answers generically.
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error("chat not found")]
    NotFound,
    #[error("not a member of this chat")]
    NotMember,
    #[error("message not found")]
    MessageNotFound,
    #[error("only the sender may change a message")]
    NotSender,
    #[error("this conversation is blocked")]
    Blocked,
    #[error("not a group chat")]
    NotGroup,
    #[error("only a group admin may do this")]
    NotAdmin,
    #[error("that user is not a member of this chat")]
    NotParticipant,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("chat service unavailable")]
    Unavailable,
}

impl ChatError {
    /// Whether the client caused it (and may be told the reason as is).
    pub fn is_refusal(&self) -> bool {
        !matches!(self, ChatError::Store(_) | ChatError::Unavailable)
    }
}
