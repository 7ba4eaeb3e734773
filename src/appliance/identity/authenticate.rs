//! The namespace CONNECT check: find the token, verify it, and answer a
//! refusal with the configured message.

use std::future::{Ready, ready};
use std::sync::Arc;

use confab_engine::{ConnectError, ConnectRequest, Handshake, IDENTITY_DATA_KEY};
use serde_json::Value;
use tracing::debug;

use super::Identity;
use super::token_source::{TokenSource, find_cookie_token, find_token};
use super::verify::Verifier;

impl Verifier {
    /// Who is connecting, or the CONNECT_ERROR to send: `messages.missing`
    /// without a token, `messages.invalid` with one that does not verify. A
    /// token, when present, must verify even if `trust_query_user_id` is on.
    pub fn authenticate(&self, req: &ConnectRequest) -> Result<Identity, ConnectError> {
        self.authenticate_handshake(&req.nsp, &req.auth, &req.handshake)
    }

    /// [`Verifier::authenticate`] from the parts of a CONNECT.
    pub fn authenticate_handshake(
        &self,
        nsp: &str,
        auth: &Value,
        handshake: &Handshake,
    ) -> Result<Identity, ConnectError> {
        let messages = &self.config.messages;
        match self.find(auth, handshake) {
            Some((token, source)) => self.verify(token).map_err(|reason| {
                debug!(nsp, %source, %reason, "connection refused: invalid token");
                ConnectError::new(messages.invalid.clone())
            }),
            None => match self.trusted_query_user(handshake) {
                Some(user_id) => {
                    debug!(
                        nsp,
                        user_id, "no token: trusting query.userId (development switch)"
                    );
                    Ok(Identity::unverified(user_id))
                }
                None => {
                    debug!(nsp, "connection refused: no token");
                    Err(ConnectError::new(messages.missing.clone()))
                }
            },
        }
    }

    /// The token a CONNECT carries and where it was, if any.
    pub fn token_of<'a>(&self, req: &'a ConnectRequest) -> Option<(&'a str, TokenSource)> {
        self.find(&req.auth, &req.handshake)
    }

    /// The handshake's token, then the configured cookie's: only from a
    /// trusted origin ([`Handshake::trusted_origin`]), as a page on another
    /// site makes the browser send the cookie too.
    fn find<'a>(
        &self,
        auth: &'a Value,
        handshake: &'a Handshake,
    ) -> Option<(&'a str, TokenSource)> {
        find_token(auth, handshake).or_else(|| {
            let name = self.config.cookie.as_deref()?;
            let found = find_cookie_token(handshake, name)?;
            if !handshake.trusted_origin {
                debug!(
                    origin = handshake.header("origin"),
                    "cookie token ignored: foreign origin"
                );
                return None;
            }
            Some(found)
        })
    }

    fn trusted_query_user<'a>(&self, handshake: &'a Handshake) -> Option<&'a str> {
        if !self.config.trust_query_user_id {
            return None;
        }
        handshake
            .query("userId")
            .map(str::trim)
            .filter(|id| !id.is_empty() && *id != "null" && *id != "undefined")
    }

    /// Authenticates `req` and records the result in it: `user_id`, and the
    /// [`Identity`] under [`IDENTITY_DATA_KEY`] in `data`.
    pub fn apply(&self, mut req: ConnectRequest) -> Result<ConnectRequest, ConnectError> {
        let identity = self.authenticate(&req)?;
        req.user_id = Some(identity.user_id.clone());
        let value = serde_json::to_value(&identity).unwrap_or(Value::Null);
        req.data.insert(IDENTITY_DATA_KEY.into(), value);
        Ok(req)
    }

    /// [`Verifier::apply`] as a namespace middleware:
    /// `ns.middleware(verifier.middleware())`.
    pub fn middleware(
        self: &Arc<Self>,
    ) -> impl Fn(ConnectRequest) -> Ready<Result<ConnectRequest, ConnectError>> + Send + Sync + 'static
    {
        let verifier = Arc::clone(self);
        move |req| ready(verifier.apply(req))
    }
}
