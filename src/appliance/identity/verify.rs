//! Checking a token: the algorithm is pinned, the signature, `exp`, `nbf`,
//! `iss` and `aud` are checked, and the configured claims become an
//! [`Identity`].

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Validation};
use serde_json::Value;
use tracing::{debug, warn};

use super::Identity;
use super::config::IdentityConfig;
use super::error::{IdentityError, SetupError};
use super::keys;

/// Largest `leeway_secs` accepted.
pub const MAX_LEEWAY_SECS: u64 = 24 * 60 * 60;

/// Tokens longer than this are refused unread.
pub const MAX_TOKEN_LEN: usize = 16 * 1024;

/// Checks (and mints) tokens with the configured algorithm and keys. Built
/// once at start-up; cheap to share behind an `Arc`.
pub struct Verifier {
    pub(crate) config: IdentityConfig,
    decoding: DecodingKey,
    pub(crate) encoding: Option<EncodingKey>,
    validation: Validation,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("config", &self.config)
            .field("can_mint", &self.encoding.is_some())
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// Reads and checks the keys. A missing secret, an unreadable or
    /// malformed key file, or a private key that does not match the public
    /// one is an error here, not at the first connection.
    pub fn from_config(config: &IdentityConfig) -> Result<Verifier, SetupError> {
        if config.leeway_secs > MAX_LEEWAY_SECS {
            return Err(SetupError::LeewayTooLarge(config.leeway_secs));
        }
        if config.user_claim.is_empty() {
            return Err(SetupError::EmptyUserClaim);
        }
        let keys = keys::load(config)?;

        let mut validation = Validation::new(config.algorithm);
        validation.leeway = config.leeway_secs;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        let mut required = vec!["exp"];
        if let Some(issuer) = config.issuer() {
            validation.set_issuer(&[issuer]);
            required.push("iss");
        }
        match config.audience() {
            Some(audience) => {
                validation.set_audience(&[audience]);
                required.push("aud");
            }
            None => validation.validate_aud = false,
        }
        validation.set_required_spec_claims(&required);

        if config.trust_query_user_id {
            warn!(
                "identity.trust_query_user_id is on: clients without a token are believed \
                 about `query.userId`. Development only: never in production"
            );
        }
        debug!(
            algorithm = ?config.algorithm,
            user_claim = %config.user_claim,
            issuer = ?config.issuer(),
            audience = ?config.audience(),
            can_mint = keys.encoding.is_some(),
            "identity verifier ready"
        );
        Ok(Verifier {
            config: config.clone(),
            decoding: keys.decoding,
            encoding: keys.encoding,
            validation,
        })
    }

    pub fn config(&self) -> &IdentityConfig {
        &self.config
    }

    /// Checks `token` and reads the identity it carries.
    pub fn verify(&self, token: &str) -> Result<Identity, IdentityError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(IdentityError::Malformed);
        }
        // Look at `alg` first, to refuse `none` and strangers by name (the
        // library would refuse them too, as unparsable headers).
        let alg = header_alg(token).ok_or(IdentityError::Malformed)?;
        let expected = self.config.algorithm;
        if alg.parse::<Algorithm>().ok() != Some(expected) {
            return Err(IdentityError::WrongAlgorithm {
                expected,
                found: alg,
            });
        }
        let data = jsonwebtoken::decode::<Value>(token, &self.decoding, &self.validation)
            .map_err(|e| refusal(e.into_kind()))?;
        self.identity(data.claims)
    }

    /// Whether `identity` has the configured admin role.
    pub fn is_admin(&self, identity: &Identity) -> bool {
        identity.has_role(&self.config.admin_role)
    }

    fn identity(&self, claims: Value) -> Result<Identity, IdentityError> {
        let config = &self.config;
        let user_claim = config.user_claim.as_str();
        let user_id = match claims.get(user_claim) {
            None | Some(Value::Null) => {
                return Err(IdentityError::MissingClaim(user_claim.into()));
            }
            Some(value) => {
                id_text(value).ok_or_else(|| IdentityError::BadClaim(user_claim.into()))?
            }
        };
        let text = |claim: Option<&str>| {
            claim
                .and_then(|c| claims.get(c))
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(String::from)
        };
        let name = text(config.name_claim());
        let avatar = text(config.avatar_claim());
        let roles = roles(claims.get(&config.roles_claim));
        let expires_at = claims.get("exp").and_then(Value::as_u64);
        Ok(Identity {
            user_id,
            name,
            avatar,
            roles,
            expires_at,
            claims,
        })
    }
}

/// The `alg` of a compact JWS, if its header is readable JSON.
fn header_alg(token: &str) -> Option<String> {
    let mut parts = token.split('.');
    let (header, _payload, _signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
    header.get("alg")?.as_str().map(String::from)
}

/// A user id claim as text: strings as they are (if not empty), whole
/// numbers in decimal (`42`, `42.0` → `"42"`).
fn id_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Some(i.to_string())
            } else if let Some(u) = n.as_u64() {
                Some(u.to_string())
            } else {
                let f = n.as_f64()?;
                // Exactly representable whole numbers only.
                (f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0)
                    .then(|| format!("{}", f as i64))
            }
        }
        _ => None,
    }
}

/// Roles from a list of strings (other entries skipped) or a single string.
fn roles(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(s)) if !s.is_empty() => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
        _ => Vec::new(),
    }
}

fn refusal(kind: ErrorKind) -> IdentityError {
    match kind {
        ErrorKind::InvalidSignature => IdentityError::BadSignature,
        ErrorKind::ExpiredSignature => IdentityError::Expired,
        ErrorKind::ImmatureSignature => IdentityError::NotYetValid,
        ErrorKind::InvalidIssuer => IdentityError::WrongIssuer,
        ErrorKind::InvalidAudience => IdentityError::WrongAudience,
        ErrorKind::MissingRequiredClaim(claim) => IdentityError::MissingClaim(claim),
        ErrorKind::InvalidClaimFormat(claim) => IdentityError::BadClaim(claim),
        ErrorKind::InvalidToken
        | ErrorKind::Base64(_)
        | ErrorKind::Json(_)
        | ErrorKind::Utf8(_) => IdentityError::Malformed,
        other => IdentityError::Other(format!("{other:?}")),
    }
}
