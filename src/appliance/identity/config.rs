//! The `[identity]` section of the configuration: how tokens are checked,
//! which claims say who the user is, and what a refused client is told.

use std::fmt;
use std::path::PathBuf;

use jsonwebtoken::Algorithm;
use serde::{Deserialize, Serialize};

/// How clients prove who they are (`[identity]` in the TOML file,
/// `CONFAB_IDENTITY__*` in the environment).
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct IdentityConfig {
    /// The only algorithm accepted (`HS256`, `HS384`, `HS512`, `RS256`,
    /// `RS384`, `RS512`, `PS256`, `PS384`, `PS512`, `ES256`, `ES384`,
    /// `EdDSA`). A token naming another one, or `none`, is refused.
    pub algorithm: Algorithm,
    /// The shared secret, for the `HS*` algorithms.
    pub secret: String,
    /// The PEM public key, for the `RS*`, `PS*`, `ES*` and `EdDSA` algorithms.
    pub public_key_file: Option<PathBuf>,
    /// The matching PEM private key: only needed to mint tokens with a
    /// public-key algorithm (`confab token`).
    pub private_key_file: Option<PathBuf>,
    /// The claim holding the user id (`sub`; SEAM uses `idUser`). A string or
    /// a whole number; numbers become their decimal text.
    pub user_claim: String,
    /// The claim holding the display name, if any (empty: none).
    pub name_claim: Option<String>,
    /// The claim holding the avatar URL, if any (empty: none).
    pub avatar_claim: Option<String>,
    /// The claim holding the user's roles: a list of strings, or one string.
    pub roles_claim: String,
    /// The role that makes a user an administrator (server-side API).
    pub admin_role: String,
    /// Required `iss`, if set.
    pub issuer: Option<String>,
    /// Required `aud`, if set. When unset, tokens carrying an `aud` are
    /// accepted whatever it says.
    pub audience: Option<String>,
    /// Clock skew allowed on `exp` and `nbf`, in seconds (at most a day).
    pub leeway_secs: u64,
    /// What a refused client reads in its CONNECT_ERROR.
    pub messages: IdentityMessages,
    /// Development only: with no token at all, believe `query.userId`.
    pub trust_query_user_id: bool,
    /// A cookie that may carry the token when the handshake has none.
    pub cookie: Option<String>,
}

/// The texts of CONNECT_ERROR when authentication fails.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct IdentityMessages {
    /// No token anywhere in the handshake.
    pub missing: String,
    /// A token that does not verify (bad signature, expired, wrong issuer...).
    pub invalid: String,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        IdentityConfig {
            algorithm: Algorithm::HS256,
            secret: String::new(),
            public_key_file: None,
            private_key_file: None,
            user_claim: "sub".into(),
            name_claim: Some("name".into()),
            avatar_claim: None,
            roles_claim: "roles".into(),
            admin_role: "admin".into(),
            issuer: None,
            audience: None,
            leeway_secs: 30,
            messages: IdentityMessages::default(),
            trust_query_user_id: false,
            cookie: None,
        }
    }
}

impl Default for IdentityMessages {
    fn default() -> Self {
        IdentityMessages {
            missing: "Authentication token required".into(),
            invalid: "Invalid or expired token".into(),
        }
    }
}

impl IdentityConfig {
    /// The name claim, unless unset or empty.
    pub fn name_claim(&self) -> Option<&str> {
        non_empty(self.name_claim.as_deref())
    }

    /// The avatar claim, unless unset or empty.
    pub fn avatar_claim(&self) -> Option<&str> {
        non_empty(self.avatar_claim.as_deref())
    }

    /// The issuer to require, unless unset or empty.
    pub fn issuer(&self) -> Option<&str> {
        non_empty(self.issuer.as_deref())
    }

    /// The audience to require, unless unset or empty.
    pub fn audience(&self) -> Option<&str> {
        non_empty(self.audience.as_deref())
    }
}

fn non_empty(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.is_empty())
}

/// Keys under `identity` whose environment values are taken as text, never
/// parsed as numbers, lists or tables: a numeric secret such as `007` must
/// stay `007`.
pub(crate) const TEXT_KEYS: &[&str] = &[
    "secret",
    "public_key_file",
    "private_key_file",
    "user_claim",
    "name_claim",
    "avatar_claim",
    "roles_claim",
    "admin_role",
    "issuer",
    "audience",
    "messages.missing",
    "messages.invalid",
    "cookie",
];

/// Debug without the secret.
impl fmt::Debug for IdentityConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdentityConfig")
            .field("algorithm", &self.algorithm)
            .field(
                "secret",
                &if self.secret.is_empty() {
                    "(unset)"
                } else {
                    "(redacted)"
                },
            )
            .field("public_key_file", &self.public_key_file)
            .field("private_key_file", &self.private_key_file)
            .field("user_claim", &self.user_claim)
            .field("name_claim", &self.name_claim)
            .field("avatar_claim", &self.avatar_claim)
            .field("roles_claim", &self.roles_claim)
            .field("admin_role", &self.admin_role)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("leeway_secs", &self.leeway_secs)
            .field("messages", &self.messages)
            .field("trust_query_user_id", &self.trust_query_user_id)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let config = IdentityConfig::default();
        assert_eq!(config.algorithm, Algorithm::HS256);
        assert_eq!(config.user_claim, "sub");
        assert_eq!(config.roles_claim, "roles");
        assert_eq!(config.leeway_secs, 30);
        assert_eq!(config.messages.missing, "Authentication token required");
        assert_eq!(config.messages.invalid, "Invalid or expired token");
        assert!(!config.trust_query_user_id);
        assert_eq!(config.name_claim(), Some("name"));
        assert_eq!(config.avatar_claim(), None);
    }

    #[test]
    fn seam_profile_from_toml() {
        let config: IdentityConfig = toml::from_str(
            r#"
            algorithm = "HS256"
            secret = "s3cret"
            user_claim = "idUser"
            name_claim = ""
            [messages]
            missing = "Token requerido para conectarse"
            invalid = "Token inválido o expirado"
            "#,
        )
        .unwrap();
        assert_eq!(config.user_claim, "idUser");
        assert_eq!(config.name_claim(), None);
        assert_eq!(config.messages.invalid, "Token inválido o expirado");
        assert_eq!(config.leeway_secs, 30);
    }

    #[test]
    fn unknown_algorithm_and_keys_are_refused() {
        assert!(toml::from_str::<IdentityConfig>(r#"algorithm = "none""#).is_err());
        assert!(toml::from_str::<IdentityConfig>(r#"algorithm = "HS1""#).is_err());
        assert!(toml::from_str::<IdentityConfig>(r#"secrte = "x""#).is_err());
        assert!(toml::from_str::<IdentityConfig>("[messages]\nmising = \"x\"").is_err());
    }

    #[test]
    fn debug_hides_the_secret() {
        let config = IdentityConfig {
            secret: "hunter2".into(),
            ..IdentityConfig::default()
        };
        assert!(!format!("{config:?}").contains("hunter2"));
    }
}
