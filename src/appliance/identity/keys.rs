//! Turning the configured secret or PEM files into keys, once, at start-up,
//! and proving they work so a bad key never waits for the first client.

use std::path::Path;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, crypto};
use rsa::pkcs1::DecodeRsaPublicKey;
use tracing::warn;

use super::config::IdentityConfig;
use super::error::SetupError;

/// The keys of one configuration: always one to verify with, and one to
/// sign with when the configuration has it.
pub(crate) struct Keys {
    pub decoding: DecodingKey,
    pub encoding: Option<EncodingKey>,
}

#[derive(Clone, Copy, PartialEq)]
enum Family {
    Hmac,
    Rsa,
    Ec,
    Ed,
}

fn family(algorithm: Algorithm) -> Family {
    use Algorithm::*;
    match algorithm {
        HS256 | HS384 | HS512 => Family::Hmac,
        RS256 | RS384 | RS512 | PS256 | PS384 | PS512 => Family::Rsa,
        ES256 | ES384 => Family::Ec,
        EdDSA => Family::Ed,
    }
}

/// Shorter HMAC secrets than this get a warning (RFC 7518 §3.2 asks for at
/// least the hash size; 32 bytes for HS256).
const MIN_SECRET_LEN: usize = 32;

pub(crate) fn load(config: &IdentityConfig) -> Result<Keys, SetupError> {
    let algorithm = config.algorithm;
    let keys = match family(algorithm) {
        Family::Hmac => {
            if config.secret.is_empty() {
                return Err(SetupError::MissingSecret(algorithm));
            }
            if config.secret.len() < MIN_SECRET_LEN {
                warn!(
                    length = config.secret.len(),
                    "identity.secret is shorter than {MIN_SECRET_LEN} bytes: easy to brute-force"
                );
            }
            for (key, set) in [
                ("public_key_file", config.public_key_file.is_some()),
                ("private_key_file", config.private_key_file.is_some()),
            ] {
                if set {
                    warn!("identity.{key} is ignored with {algorithm:?} (it uses identity.secret)");
                }
            }
            let secret = config.secret.as_bytes();
            Keys {
                decoding: DecodingKey::from_secret(secret),
                encoding: Some(EncodingKey::from_secret(secret)),
            }
        }
        family => {
            let Some(public) = &config.public_key_file else {
                return Err(SetupError::MissingPublicKey(algorithm));
            };
            if !config.secret.is_empty() {
                warn!("identity.secret is ignored with {algorithm:?} (it uses key files)");
            }
            let decoding = public_key(public, algorithm, family)?;
            let encoding = match &config.private_key_file {
                Some(private) => Some(private_key(private, algorithm, family)?),
                None => None,
            };
            Keys { decoding, encoding }
        }
    };
    probe(&keys, config)?;
    Ok(keys)
}

const HMAC: &str = "HMAC algorithms use identity.secret, not key files";

fn read(path: &Path, kind: &'static str) -> Result<Vec<u8>, SetupError> {
    std::fs::read(path).map_err(|source| SetupError::ReadKey {
        path: path.to_owned(),
        kind,
        source,
    })
}

fn bad_key(path: &Path, algorithm: Algorithm, kind: &'static str, reason: String) -> SetupError {
    SetupError::BadKey {
        path: path.to_owned(),
        algorithm,
        kind,
        reason,
    }
}

fn public_key(
    path: &Path,
    algorithm: Algorithm,
    family: Family,
) -> Result<DecodingKey, SetupError> {
    let pem = read(path, "public")?;
    let key = match family {
        Family::Rsa => DecodingKey::from_rsa_pem(&pem),
        Family::Ec => DecodingKey::from_ec_pem(&pem),
        Family::Ed => DecodingKey::from_ed_pem(&pem),
        Family::Hmac => return Err(bad_key(path, algorithm, "public", HMAC.into())),
    }
    .map_err(|e| bad_key(path, algorithm, "public", e.to_string()))?;
    // RSA public keys are only parsed when a signature is checked, so parse
    // this one now; EC and Ed keys are parsed by `crypto::verify` below.
    if family == Family::Rsa {
        rsa::RsaPublicKey::from_pkcs1_der(key.as_bytes())
            .map_err(|e| bad_key(path, algorithm, "public", e.to_string()))?;
    }
    if let Err(e) = crypto::verify("", b"probe", &key, algorithm) {
        return Err(bad_key(path, algorithm, "public", e.to_string()));
    }
    Ok(key)
}

fn private_key(
    path: &Path,
    algorithm: Algorithm,
    family: Family,
) -> Result<EncodingKey, SetupError> {
    let pem = read(path, "private")?;
    match family {
        Family::Rsa => EncodingKey::from_rsa_pem(&pem),
        Family::Ec => EncodingKey::from_ec_pem(&pem),
        Family::Ed => EncodingKey::from_ed_pem(&pem),
        Family::Hmac => return Err(bad_key(path, algorithm, "private", HMAC.into())),
    }
    .map_err(|e| bad_key(path, algorithm, "private", e.to_string()))
}

/// Signs a probe with the private key (if any) and checks it with the public
/// one: catches unusable private keys and pairs that do not match.
fn probe(keys: &Keys, config: &IdentityConfig) -> Result<(), SetupError> {
    let (Some(encoding), Some(path)) = (&keys.encoding, &config.private_key_file) else {
        return Ok(());
    };
    if family(config.algorithm) == Family::Hmac {
        return Ok(());
    }
    let message = b"confab key probe";
    let signature = crypto::sign(message, encoding, config.algorithm)
        .map_err(|e| bad_key(path, config.algorithm, "private", e.to_string()))?;
    match crypto::verify(&signature, message, &keys.decoding, config.algorithm) {
        Ok(true) => Ok(()),
        _ => Err(SetupError::KeyMismatch(path.clone())),
    }
}
