//! Where a client put its token: the CONNECT `auth` object, the handshake
//! query, or the `Authorization` header.

use std::fmt;

use confab_engine::Handshake;
use serde_json::Value;

/// Where a token was found, in the order they are looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    /// `auth.token` of the namespace CONNECT (`io(url, {auth: {token}})`).
    Auth,
    /// A handshake query parameter: `token`, then `accessToken`.
    Query(&'static str),
    /// `Authorization: Bearer <token>` on the handshake request.
    Header,
    /// A cookie of the handshake request (a browser connecting
    /// `withCredentials` to the site that logged it in).
    Cookie,
}

impl fmt::Display for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenSource::Auth => f.write_str("auth.token"),
            TokenSource::Query(name) => write!(f, "query.{name}"),
            TokenSource::Header => f.write_str("authorization header"),
            TokenSource::Cookie => f.write_str("cookie"),
        }
    }
}

/// Query parameters that may carry a token, in order.
pub const QUERY_PARAMS: [&str; 2] = ["token", "accessToken"];

/// The first token present: `auth.token`, then the query's `token` and
/// `accessToken`, then `Authorization: Bearer`. Empty values, `null` and the
/// texts `"null"` / `"undefined"` (what a template literal makes of a missing
/// token) count as absent. A `Bearer ` prefix is accepted everywhere.
pub fn find_token<'a>(auth: &'a Value, handshake: &'a Handshake) -> Option<(&'a str, TokenSource)> {
    if let Some(token) = auth.get("token").and_then(Value::as_str).and_then(usable) {
        return Some((token, TokenSource::Auth));
    }
    for name in QUERY_PARAMS {
        if let Some(token) = handshake.query(name).and_then(usable) {
            return Some((token, TokenSource::Query(name)));
        }
    }
    handshake
        .header("authorization")
        .and_then(bearer)
        .and_then(usable)
        .map(|token| (token, TokenSource::Header))
}

/// The token in the cookie `name` of the handshake, if any.
pub fn find_cookie_token<'a>(
    handshake: &'a Handshake,
    name: &str,
) -> Option<(&'a str, TokenSource)> {
    handshake
        .header("cookie")?
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .and_then(|(_, value)| usable(value))
        .map(|token| (token, TokenSource::Cookie))
}

/// The credentials of an `Authorization: Bearer` value.
fn bearer(value: &str) -> Option<&str> {
    let value = value.trim();
    let (scheme, rest) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
}

fn usable(token: &str) -> Option<&str> {
    let token = token.trim();
    let token = bearer(token).unwrap_or(token);
    (!token.is_empty() && token != "null" && token != "undefined").then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn handshake(query: &[(&str, &str)], headers: &[(&str, &str)]) -> Handshake {
        Handshake {
            query: query
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Handshake::default()
        }
    }

    #[test]
    fn cookie_token_by_name() {
        let hs = handshake(&[], &[("cookie", "a=1; token=abc; b=2")]);
        assert_eq!(
            find_cookie_token(&hs, "token"),
            Some(("abc", TokenSource::Cookie))
        );
        assert_eq!(find_cookie_token(&hs, "other"), None);
        assert_eq!(find_cookie_token(&handshake(&[], &[]), "token"), None);
    }

    #[test]
    fn auth_token_comes_first() {
        let hs = handshake(
            &[("token", "q"), ("accessToken", "a")],
            &[("authorization", "Bearer h")],
        );
        let auth = json!({"token": "t"});
        assert_eq!(find_token(&auth, &hs), Some(("t", TokenSource::Auth)));
    }

    #[test]
    fn then_query_token_then_access_token() {
        let hs = handshake(
            &[("token", "q"), ("accessToken", "a")],
            &[("authorization", "Bearer h")],
        );
        assert_eq!(
            find_token(&json!({}), &hs),
            Some(("q", TokenSource::Query("token")))
        );
        let hs = handshake(&[("accessToken", "a")], &[("authorization", "Bearer h")]);
        assert_eq!(
            find_token(&json!({}), &hs),
            Some(("a", TokenSource::Query("accessToken")))
        );
    }

    #[test]
    fn then_the_bearer_header() {
        let hs = handshake(&[], &[("authorization", "bearer  h.h.h ")]);
        assert_eq!(
            find_token(&json!({}), &hs),
            Some(("h.h.h", TokenSource::Header))
        );
        let basic = handshake(&[], &[("authorization", "Basic dXNlcjpwdw==")]);
        assert_eq!(find_token(&json!({}), &basic), None);
    }

    #[test]
    fn empty_and_null_tokens_are_absent() {
        let hs = handshake(&[("token", "undefined"), ("accessToken", "")], &[]);
        for auth in [
            json!({"token": null}),
            json!({"token": ""}),
            json!({"token": "null"}),
            json!({"token": 42}),
            json!(null),
            json!("token"),
        ] {
            assert_eq!(find_token(&auth, &hs), None, "{auth}");
        }
        let hs = handshake(&[], &[("authorization", "Bearer ")]);
        assert_eq!(find_token(&json!({}), &hs), None);
    }

    #[test]
    fn a_bearer_prefix_in_auth_is_accepted() {
        let auth = json!({"token": "Bearer t.t.t"});
        assert_eq!(
            find_token(&auth, &Handshake::default()),
            Some(("t.t.t", TokenSource::Auth))
        );
    }

    #[test]
    fn an_absent_auth_token_falls_through() {
        let hs = handshake(&[("token", "q")], &[]);
        assert_eq!(
            find_token(&json!({"token": ""}), &hs),
            Some(("q", TokenSource::Query("token")))
        );
    }
}
