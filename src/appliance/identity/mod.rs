//! Who is connecting: JWTs checked at namespace CONNECT.
//!
//! - [`IdentityConfig`]: the `[identity]` settings (algorithm, secret or
//!   PEM keys, claim names, `iss`/`aud`, leeway, refusal messages).
//! - [`Verifier`]: built once from them ([`Verifier::from_config`]; a bad
//!   key is a start-up error); [`Verifier::verify`] turns a token into an
//!   [`Identity`], the algorithm pinned.
//! - [`find_token`]: the token of a handshake, from `auth.token`, the query
//!   (`token`, `accessToken`) or `Authorization: Bearer`.
//! - [`Verifier::authenticate`] / [`Verifier::middleware`]: the CONNECT
//!   check, refusing with the configured messages.
//! - [`Verifier::mint`]: tokens for development and scripts (`confab token`).
//! - [`SocketTokens`]: the `accessToken` of a socket's events, verified once
//!   per socket rather than once per event.
//!
//! ```no_run
//! use std::sync::Arc;
//! use confab::{Confab, Config};
//! use confab::identity::Verifier;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config = Config::load(None)?;
//! let verifier = Arc::new(Verifier::from_config(&config.identity)?);
//! let confab = Confab::builder()
//!     .namespace("/", |ns| {
//!         ns.middleware(verifier.middleware());
//!     })
//!     .start();
//! # Ok(()) }
//! ```

mod authenticate;
mod chat_caller;
mod config;
mod error;
mod keys;
mod mint;
mod socket_tokens;
mod token_source;
mod verify;

#[cfg(test)]
mod tests;

use serde::Serialize;
use serde_json::Value;

pub use confab_engine::IDENTITY_DATA_KEY;
pub(crate) use config::TEXT_KEYS;
pub use config::{IdentityConfig, IdentityMessages};
pub use error::{IdentityError, MintError, SetupError};
pub use jsonwebtoken::Algorithm;
pub use mint::{MAX_TTL, parse_ttl};
pub use socket_tokens::SocketTokens;
pub use token_source::{QUERY_PARAMS, TokenSource, find_cookie_token, find_token};
pub use verify::{MAX_LEEWAY_SECS, MAX_TOKEN_LEN, Verifier};

/// Who a connection belongs to, as its token says.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Identity {
    /// The user claim as text (numbers become their decimal digits).
    pub user_id: String,
    pub name: Option<String>,
    pub avatar: Option<String>,
    pub roles: Vec<String>,
    /// `exp`, in seconds since the epoch (`None` for trusted query ids).
    pub expires_at: Option<u64>,
    /// Every claim of the token (`{}` for trusted query ids).
    pub claims: Value,
}

impl Identity {
    /// An identity nobody vouched for (`trust_query_user_id`).
    pub(crate) fn unverified(user_id: &str) -> Identity {
        Identity {
            user_id: user_id.into(),
            name: None,
            avatar: None,
            roles: Vec::new(),
            expires_at: None,
            claims: Value::Object(Default::default()),
        }
    }

    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }
}
