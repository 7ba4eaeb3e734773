//! How a caller presents a key: an `X-API-Key` header or an
//! `Authorization: Bearer` one, compared in constant time. Shared by the
//! HTTP API's callers and the metrics route.

use actix_web::HttpRequest;

/// The header a backend may send its API key in.
pub const API_KEY_HEADER: &str = "x-api-key";

/// The credentials of an `Authorization: Bearer` header.
pub fn bearer_token(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get("authorization")?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}

/// Compares with every configured key, each in time independent of where
/// the texts differ.
pub(crate) fn key_matches(keys: &[String], given: &str) -> bool {
    !given.is_empty()
        && keys
            .iter()
            .filter(|k| !k.is_empty())
            .fold(false, |found, key| {
                found | same_bytes(key.as_bytes(), given.as_bytes())
            })
}

fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
