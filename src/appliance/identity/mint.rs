//! Minting tokens with the configured key, for development and scripts
//! (`confab token`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Map, Value};
use tracing::debug;

use super::error::MintError;
use super::verify::Verifier;

/// Longest lifetime a minted token may have (ten years).
pub const MAX_TTL: Duration = Duration::from_secs(10 * 365 * 24 * 60 * 60);

impl Verifier {
    /// Whether [`Verifier::mint`] can sign: always with a secret, and with a
    /// public-key algorithm only when `private_key_file` is configured.
    pub fn can_mint(&self) -> bool {
        self.encoding.is_some()
    }

    /// A token for `user_id` that this verifier accepts: the user id under
    /// `user_claim`, the name under `name_claim` (if both are set), the roles
    /// under `roles_claim` (if any), `iat`, `exp` = now + `ttl`, and the
    /// configured `iss` / `aud`.
    pub fn mint(
        &self,
        user_id: &str,
        name: Option<&str>,
        ttl: Duration,
        roles: &[String],
    ) -> Result<String, MintError> {
        let key: &EncodingKey = self
            .encoding
            .as_ref()
            .ok_or(MintError::NoSigningKey(self.config.algorithm))?;
        if user_id.is_empty() {
            return Err(MintError::EmptyUserId);
        }
        if ttl > MAX_TTL {
            return Err(MintError::BadTtl(format!("{}s", ttl.as_secs())));
        }
        let config = &self.config;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let mut claims = Map::new();
        claims.insert(config.user_claim.clone(), user_id.into());
        if let (Some(claim), Some(name)) = (config.name_claim(), name) {
            claims.insert(claim.into(), name.into());
        }
        if !roles.is_empty() {
            claims.insert(config.roles_claim.clone(), roles.into());
        }
        if let Some(issuer) = config.issuer() {
            claims.insert("iss".into(), issuer.into());
        }
        if let Some(audience) = config.audience() {
            claims.insert("aud".into(), audience.into());
        }
        claims.insert("iat".into(), now.into());
        claims.insert("exp".into(), (now + ttl.as_secs()).into());
        let token =
            jsonwebtoken::encode(&Header::new(config.algorithm), &Value::Object(claims), key)
                .map_err(MintError::Sign)?;
        debug!(user_id, ttl_secs = ttl.as_secs(), "token minted");
        Ok(token)
    }
}

/// A lifetime such as `90s`, `15m`, `1h`, `7d`, `1h30m`, or plain seconds
/// (`3600`). At most [`MAX_TTL`].
pub fn parse_ttl(text: &str) -> Result<Duration, MintError> {
    let bad = || MintError::BadTtl(text.into());
    let text = text.trim();
    if text.is_empty() {
        return Err(bad());
    }
    if let Ok(secs) = text.parse::<u64>() {
        return within_max(secs).ok_or_else(bad);
    }
    let mut total: u64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        if digits == 0 {
            return Err(bad());
        }
        let number: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "s" => 1,
            "m" => 60,
            "h" => 60 * 60,
            "d" => 24 * 60 * 60,
            "w" => 7 * 24 * 60 * 60,
            _ => return Err(bad()),
        };
        rest = &rest[unit_len..];
        total = number
            .checked_mul(unit)
            .and_then(|secs| total.checked_add(secs))
            .ok_or_else(bad)?;
    }
    within_max(total).ok_or_else(bad)
}

fn within_max(secs: u64) -> Option<Duration> {
    let ttl = Duration::from_secs(secs);
    (ttl <= MAX_TTL).then_some(ttl)
}
