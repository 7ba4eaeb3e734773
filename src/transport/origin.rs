//! Which web pages may reach the Engine.IO endpoint: the CORS headers, the
//! check that refuses a disallowed `Origin` before any session exists, and
//! whether the cookies a request carries may stand for its user.
//!
//! CORS alone does not protect a WebSocket: a browser opens one to any
//! site, from any page, with that site's cookies, and never asks the
//! server's permission first (cross-site WebSocket hijacking). So the
//! handshake and the upgrade check the `Origin` themselves, against the same
//! allow-list. A request without `Origin` is not a browser's cross-site
//! request (browsers always send it on a cross-site WebSocket or `fetch`),
//! and stays allowed.

use std::sync::Arc;

use actix_cors::Cors;
use actix_web::HttpRequest;
use actix_web::http::header;
use tracing::debug;

use super::EngineIoError;

/// Which origins may reach the Engine.IO endpoint from a browser.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum CorsPolicy {
    /// No CORS headers: same-origin pages and non-browser clients only.
    #[default]
    Off,
    /// Any origin, answered `*` (without credentials).
    Any,
    /// Exactly these origins.
    Origins(Vec<String>),
}

/// What [`CorsPolicy::check_origin`] answers a page it refuses.
pub const ORIGIN_REFUSED: &str = "Origin not allowed";

impl CorsPolicy {
    /// From a configured list, where `*` means any origin.
    pub fn from_list(origins: &[String]) -> CorsPolicy {
        if origins.is_empty() {
            CorsPolicy::Off
        } else if origins.iter().any(|o| o == "*") {
            CorsPolicy::Any
        } else {
            CorsPolicy::Origins(origins.to_vec())
        }
    }

    /// The default of [`crate::ConfabBuilder::allow_request`]: with a list
    /// of origins, a request whose `Origin` is not on it is refused. Without
    /// `Origin`, with `*` or with no list, every request passes. Matching is
    /// exact, as for the CORS headers.
    pub fn check_origin(&self, req: &HttpRequest) -> Result<(), String> {
        match (self, origin(req)) {
            (CorsPolicy::Origins(list), Some(origin)) if !listed(list, origin) => {
                Err(ORIGIN_REFUSED.into())
            }
            _ => Ok(()),
        }
    }

    /// Whether a cookie of `req` may authenticate it: without `Origin` (not
    /// a browser's cross-site request), from a listed origin, or from the
    /// request's own host. `*` and no list trust only the same origin: CORS
    /// `*` allows no credentials either.
    pub fn trusts_cookies(&self, req: &HttpRequest) -> bool {
        let Some(origin) = origin(req) else {
            return true;
        };
        match self {
            CorsPolicy::Origins(list) if listed(list, origin) => true,
            _ => same_origin(req, origin),
        }
    }

    pub(crate) fn middleware(&self) -> Cors {
        let common = |cors: Cors| {
            cors.allowed_methods(["GET", "POST", "OPTIONS"])
                .allow_any_header()
                .max_age(3600)
        };
        match self {
            CorsPolicy::Off => Cors::default(),
            // As the Node server: `*` itself, and so no credentials, which
            // browsers refuse together with `*`.
            CorsPolicy::Any => common(Cors::default().allow_any_origin().send_wildcard()),
            CorsPolicy::Origins(list) => {
                let cors = list
                    .iter()
                    .fold(Cors::default(), |cors, origin| cors.allowed_origin(origin));
                common(cors).supports_credentials()
            }
        }
    }
}

fn origin(req: &HttpRequest) -> Option<&[u8]> {
    req.headers().get(header::ORIGIN).map(|v| v.as_bytes())
}

fn listed(list: &[String], origin: &[u8]) -> bool {
    list.iter().any(|o| o.as_bytes() == origin)
}

/// `Origin: http://host:port` naming the `Host` the request was sent to.
fn same_origin(req: &HttpRequest, origin: &[u8]) -> bool {
    let Some(host) = req.headers().get(header::HOST) else {
        return false;
    };
    let authority = std::str::from_utf8(origin)
        .ok()
        .and_then(|o| o.split_once("://"))
        .map(|(_, authority)| authority);
    authority.is_some_and(|a| a.as_bytes().eq_ignore_ascii_case(host.as_bytes()))
}

/// The embedding application's say on a request that opens a connection or
/// upgrades one to WebSocket, before any session exists (Node's
/// `allowRequest`): `Err(message)` refuses it with 403 `{code: 4, message}`.
pub type AllowRequest = Arc<dyn Fn(&HttpRequest) -> Result<(), String> + Send + Sync>;

/// Who may open a connection on one Engine.IO path, and whether its cookies
/// count. Shared by the path's resource as app data.
#[derive(Clone)]
pub(crate) struct Admission {
    cors: CorsPolicy,
    allow: AllowRequest,
}

impl Admission {
    /// `allow`, or by default the Origin check of `cors`.
    pub(crate) fn new(cors: CorsPolicy, allow: Option<AllowRequest>) -> Admission {
        let allow = allow.unwrap_or_else(|| {
            let cors = cors.clone();
            Arc::new(move |req: &HttpRequest| cors.check_origin(req))
        });
        Admission { cors, allow }
    }

    pub(crate) fn cors(&self) -> &CorsPolicy {
        &self.cors
    }

    /// Runs the hook on a handshake or an upgrade.
    pub(crate) fn check(&self, req: &HttpRequest) -> Result<(), EngineIoError> {
        (self.allow)(req).map_err(|message| {
            debug!(
                origin = ?req.headers().get(header::ORIGIN),
                peer = ?req.peer_addr(),
                %message,
                "connection refused by allow_request"
            );
            EngineIoError::Forbidden(message)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn request(origin: Option<&str>, host: &str) -> HttpRequest {
        let req = TestRequest::default().insert_header((header::HOST, host));
        match origin {
            Some(origin) => req.insert_header((header::ORIGIN, origin)),
            None => req,
        }
        .to_http_request()
    }

    fn listed_policy() -> CorsPolicy {
        CorsPolicy::from_list(&["http://app.example".into()])
    }

    #[test]
    fn a_list_refuses_other_origins_and_admits_listed_ones_and_none() {
        let policy = listed_policy();
        let host = "api.example";
        assert_eq!(
            policy.check_origin(&request(Some("http://app.example"), host)),
            Ok(())
        );
        assert_eq!(policy.check_origin(&request(None, host)), Ok(()));
        for foreign in [
            "http://evil.example",
            "http://APP.example",
            "null",
            "http://app.example/",
        ] {
            assert_eq!(
                policy.check_origin(&request(Some(foreign), host)),
                Err(ORIGIN_REFUSED.into()),
                "{foreign}"
            );
        }
    }

    #[test]
    fn any_and_off_admit_every_origin() {
        for policy in [CorsPolicy::Any, CorsPolicy::Off] {
            let req = request(Some("http://evil.example"), "api.example");
            assert_eq!(policy.check_origin(&req), Ok(()));
        }
    }

    #[test]
    fn cookies_count_from_listed_origins_the_same_origin_and_non_browsers() {
        let host = "api.example:3000";
        let listed = listed_policy();
        assert!(listed.trusts_cookies(&request(Some("http://app.example"), host)));
        assert!(listed.trusts_cookies(&request(None, host)));
        assert!(!listed.trusts_cookies(&request(Some("http://evil.example"), host)));
        for policy in [CorsPolicy::Any, CorsPolicy::Off] {
            assert!(policy.trusts_cookies(&request(Some("http://api.example:3000"), host)));
            assert!(policy.trusts_cookies(&request(None, host)));
            assert!(!policy.trusts_cookies(&request(Some("http://evil.example"), host)));
            assert!(!policy.trusts_cookies(&request(Some("http://api.example"), host)));
            assert!(!policy.trusts_cookies(&request(Some("null"), host)));
        }
    }
}
