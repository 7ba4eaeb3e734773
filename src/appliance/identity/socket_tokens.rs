//! The `accessToken` each socket's events carry (seed 003 sends the same
//! token with every call), verified once per socket instead of once per
//! event: a JWT check (signature, header and claims JSON) is the largest
//! part of a chat event's own cost.
//!
//! A socket keeps the last token that verified and the user it named,
//! until the token's `exp`: the same text again is answered from memory
//! (the signature is a function of the text; only time changes the
//! verdict, and the entry ends at `exp`, no later than the check would
//! with its leeway). Any other text is verified, and replaces the entry if
//! it verifies. An entry goes when its socket disconnects.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use super::Verifier;
use super::error::IdentityError;

/// One socket's last verified token.
struct Verified {
    token: Box<str>,
    user: Box<str>,
    /// `exp` of the token, seconds since the epoch (`None`: it has none).
    expires_at: Option<u64>,
}

impl Verified {
    fn answers(&self, token: &str, now: u64) -> bool {
        *self.token == *token && self.expires_at.is_none_or(|exp| now < exp)
    }
}

/// Verified tokens by socket id.
#[derive(Default)]
pub struct SocketTokens {
    sockets: Mutex<HashMap<String, Verified>>,
}

impl SocketTokens {
    /// The user `token` names, verified with `verifier` unless `socket`
    /// already verified this very token and it has not expired.
    pub fn user_of(
        &self,
        verifier: &Verifier,
        socket: &str,
        token: &str,
    ) -> Result<String, IdentityError> {
        self.user_at(verifier, socket, token, now_secs())
    }

    fn user_at(
        &self,
        verifier: &Verifier,
        socket: &str,
        token: &str,
        now: u64,
    ) -> Result<String, IdentityError> {
        if let Some(known) = self.lock().get(socket)
            && known.answers(token, now)
        {
            return Ok(known.user.to_string());
        }
        let identity = verifier.verify(token)?;
        let entry = Verified {
            token: token.into(),
            user: identity.user_id.as_str().into(),
            expires_at: identity.expires_at,
        };
        self.lock().insert(socket.to_owned(), entry);
        Ok(identity.user_id)
    }

    /// Forgets a socket (it disconnected).
    pub fn forget(&self, socket: &str) {
        self.lock().remove(socket);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Verified>> {
        // A panic elsewhere while holding it leaves a map that is still
        // whole: every insert and remove is one call.
        self.sockets.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::appliance::identity::IdentityConfig;
    use std::time::Duration;

    fn verifier() -> Verifier {
        Verifier::from_config(&IdentityConfig {
            secret: "socket-tokens-test-secret".into(),
            leeway_secs: 0,
            ..IdentityConfig::default()
        })
        .unwrap()
    }

    fn token(v: &Verifier, user: &str, ttl: Duration) -> String {
        v.mint(user, None, ttl, &[]).unwrap()
    }

    #[test]
    fn the_same_token_is_answered_from_memory_until_its_exp() {
        let v = verifier();
        let tokens = SocketTokens::default();
        let t = token(&v, "u1", Duration::from_secs(60));
        let now = now_secs();
        assert_eq!(tokens.user_at(&v, "s1", &t, now).unwrap(), "u1");
        let exp = tokens.lock()["s1"].expires_at.unwrap();
        // Known: answered without a check, even by a verifier that would
        // refuse it (another secret), as long as it has not expired.
        let other = Verifier::from_config(&IdentityConfig {
            secret: "another-secret".into(),
            ..IdentityConfig::default()
        })
        .unwrap();
        assert_eq!(tokens.user_at(&other, "s1", &t, exp - 1).unwrap(), "u1");
        // At `exp` the entry no longer answers: the check runs again.
        assert!(tokens.user_at(&other, "s1", &t, exp).is_err());
        // Another socket's entry is its own.
        assert!(tokens.user_at(&other, "s2", &t, now).is_err());
    }

    #[test]
    fn another_token_is_verified_and_a_bad_one_keeps_nothing() {
        let v = verifier();
        let tokens = SocketTokens::default();
        let t1 = token(&v, "u1", Duration::from_secs(60));
        let t2 = token(&v, "u2", Duration::from_secs(60));
        let now = now_secs();
        assert_eq!(tokens.user_at(&v, "s", &t1, now).unwrap(), "u1");
        assert_eq!(tokens.user_at(&v, "s", &t2, now).unwrap(), "u2");
        let forged = format!("{t2}x");
        assert_eq!(
            tokens.user_at(&v, "s", &forged, now),
            Err(IdentityError::BadSignature)
        );
        assert!(tokens.user_at(&v, "s", "not a jwt", now).is_err());
        assert_eq!(&*tokens.lock()["s"].token, t2.as_str());
        tokens.forget("s");
        assert!(tokens.lock().is_empty());
    }
}
