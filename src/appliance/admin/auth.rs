//! Who may open the admin namespace: the UI's basic credentials checked
//! against a bcrypt hash, or anyone when the operator turned auth off. A
//! successful login gets a session id the UI keeps and presents on
//! reconnection instead of the password (as the Node server's store does).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use tracing::{debug, warn};

use crate::{ConnectError, ConnectRequest, Namespace};

/// The key a fresh login's session id travels under in the socket's data,
/// from the middleware to the connect handler that sends it.
pub(crate) const NEW_SESSION: &str = "adminSession";

/// Why the admin credentials in the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("admin.password_hash: not a bcrypt hash (`confab hash-password` makes one)")]
    NotBcrypt,
    #[error(
        "admin.password_hash: empty: set a bcrypt hash (`confab hash-password`), or admin.auth = false to open the admin UI to anyone"
    )]
    Missing,
}

/// The configured credentials and the sessions handed out.
pub(crate) struct Credentials {
    username: String,
    hash: String,
    sessions: Mutex<HashSet<String>>,
}

impl Credentials {
    /// Checks the hash's form up front, so a typo fails at start-up rather
    /// than at every login.
    pub(crate) fn new(username: &str, hash: &str) -> Result<Credentials, AuthError> {
        if hash.is_empty() {
            return Err(AuthError::Missing);
        }
        hash.parse::<bcrypt::HashParts>()
            .map_err(|_| AuthError::NotBcrypt)?;
        Ok(Credentials {
            username: username.to_owned(),
            hash: hash.to_owned(),
            sessions: Mutex::default(),
        })
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds the login check to the admin namespace.
    pub(crate) fn install(self: &Arc<Self>, ns: &mut Namespace) {
        let creds = self.clone();
        ns.middleware(move |req| {
            let creds = creds.clone();
            async move { creds.admit(req).await }
        });
    }

    async fn admit(
        self: Arc<Self>,
        mut req: ConnectRequest,
    ) -> Result<ConnectRequest, ConnectError> {
        let field = |name: &str| {
            req.auth
                .get(name)
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        };
        if let Some(session) = field("sessionId")
            && self.sessions().contains(&session)
        {
            debug!("admin: known session");
            return Ok(req);
        }
        let (Some(username), Some(password)) = (field("username"), field("password")) else {
            return Err(ConnectError::new("invalid credentials"));
        };
        // bcrypt costs tens of milliseconds by design: off the session's
        // thread, which serves other connections meanwhile.
        let hash = self.hash.clone();
        let matches = tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash))
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or(false);
        if username != self.username || !matches {
            warn!(target: confab_engine::CONNECTIONS, "admin: invalid credentials");
            return Err(ConnectError::new("invalid credentials"));
        }
        if let Some(session) = session_id() {
            self.sessions().insert(session.clone());
            req.data.insert(NEW_SESSION.into(), session.into());
        }
        Ok(req)
    }
}

/// 16 random hex digits, as the Node server's `randomBytes(8)`. Without
/// the OS's randomness there is no safe session id: the login still works,
/// and the UI asks for the password again on its next reconnection.
fn session_id() -> Option<String> {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        warn!("admin: no randomness for a session id");
        return None;
    }
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_bcrypt_hash_is_accepted() {
        assert!(matches!(
            Credentials::new("ops", ""),
            Err(AuthError::Missing)
        ));
        for bad in ["hunter2", "$2b$12$short", "$1$abc$def"] {
            assert!(
                matches!(Credentials::new("ops", bad), Err(AuthError::NotBcrypt)),
                "{bad}"
            );
        }
        // bcryptjs writes $2a$, htpasswd $2y$, confab hash-password $2b$.
        let hunter2 = "$2a$04$gIiPpkxO/D4d2d4tbZbu7evbdrZlvSi7VhMJkwPUiY2c8Chsw..IG";
        assert!(Credentials::new("ops", hunter2).is_ok());
        let htpasswd = hunter2.replacen("$2a$", "$2y$", 1);
        assert!(Credentials::new("ops", &htpasswd).is_ok());
        assert!(bcrypt::verify("hunter2", &htpasswd).unwrap());
        let made = super::super::hash_password("correct horse").unwrap();
        assert!(made.starts_with("$2b$12$"), "{made}");
        assert!(bcrypt::verify("correct horse", &made).unwrap());
        assert!(!bcrypt::verify("hunter2", &made).unwrap());
    }

    #[test]
    fn session_ids_are_sixteen_hex_digits_and_differ() {
        let (a, b) = (session_id().unwrap(), session_id().unwrap());
        assert_eq!(a.len(), 16);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
