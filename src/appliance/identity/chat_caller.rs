//! The identity layer as the chat HTTP endpoints' token check: the chat
//! contract asks a [`CallerCheck`], and a [`Verifier`] answers it with the
//! configured refusal messages.

use confab_chat_contract::rest::{Caller, CallerCheck};

use super::verify::Verifier;

impl CallerCheck for Verifier {
    fn caller(&self, token: &str) -> Result<Caller, String> {
        let identity = self.verify(token).map_err(|err| {
            tracing::debug!(%err, "chat HTTP token refused");
            self.config().messages.invalid.clone()
        })?;
        Ok(Caller {
            user_id: identity.user_id,
            name: identity.name,
            avatar: identity.avatar,
        })
    }

    fn missing_token(&self) -> String {
        self.config().messages.missing.clone()
    }
}
