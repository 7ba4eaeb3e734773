//! What can go wrong: at start-up (keys), checking a token, minting one.

use std::path::PathBuf;

use jsonwebtoken::Algorithm;

/// The identity settings cannot be used: a start-up error.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("identity.secret: required for {0:?}")]
    MissingSecret(Algorithm),
    #[error("identity.public_key_file: required for {0:?}")]
    MissingPublicKey(Algorithm),
    #[error("identity.{kind}_key_file: cannot read {path}: {source}")]
    ReadKey {
        path: PathBuf,
        kind: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("identity.{kind}_key_file: {path} is not a usable {algorithm:?} {kind} key: {reason}")]
    BadKey {
        path: PathBuf,
        algorithm: Algorithm,
        kind: &'static str,
        reason: String,
    },
    #[error("identity.private_key_file: {0} does not match identity.public_key_file")]
    KeyMismatch(PathBuf),
    #[error("identity.leeway_secs: {0} is too long; at most {max} seconds are allowed", max = super::verify::MAX_LEEWAY_SECS)]
    LeewayTooLarge(u64),
    #[error("identity.user_claim: must not be empty")]
    EmptyUserClaim,
}

/// Why a token was refused. Every variant means "invalid" to the client;
/// the detail is for logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    #[error("not a well-formed JWT")]
    Malformed,
    #[error("token signed with {found}, only {expected:?} is accepted")]
    WrongAlgorithm { expected: Algorithm, found: String },
    #[error("signature does not verify")]
    BadSignature,
    #[error("token has expired")]
    Expired,
    #[error("token is not valid yet (nbf)")]
    NotYetValid,
    #[error("token issuer is not the configured one")]
    WrongIssuer,
    #[error("token audience is not the configured one")]
    WrongAudience,
    #[error("token has no `{0}` claim")]
    MissingClaim(String),
    #[error("token claim `{0}` has the wrong type or an empty value")]
    BadClaim(String),
    #[error("token rejected: {0}")]
    Other(String),
}

/// Why no token could be minted.
#[derive(Debug, thiserror::Error)]
pub enum MintError {
    #[error("minting with {0:?} needs identity.private_key_file")]
    NoSigningKey(Algorithm),
    #[error("the user id must not be empty")]
    EmptyUserId,
    #[error("invalid duration {0:?}: use e.g. 90s, 15m, 1h, 7d or 1h30m")]
    BadTtl(String),
    #[error("cannot sign the token: {0}")]
    Sign(#[source] jsonwebtoken::errors::Error),
}
