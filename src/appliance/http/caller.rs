//! Who is calling the HTTP API: a backend with an API key from the
//! configuration, an administrator's token, or a user's token (who may only
//! read their own notifications; a browser may send it as the
//! `identity.cookie` cookie).

use std::future::{Ready, ready};

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};

use super::HttpError;
use super::keys::{API_KEY_HEADER, bearer_token, key_matches};
use crate::appliance::Appliance;
use crate::appliance::identity::Identity;

/// An authenticated caller of the HTTP API. Extracting it refuses (401,
/// JSON `{error}`) a request without credentials or with ones that do not
/// verify.
#[derive(Debug, Clone, PartialEq)]
pub enum Caller {
    /// A configured API key (`Authorization: Bearer <key>` or `X-API-Key`).
    Key,
    /// A token whose roles include the admin role.
    Admin(Identity),
    /// Any other valid token.
    User(Identity),
}

impl Caller {
    /// Whether the caller may use the whole API.
    pub fn is_privileged(&self) -> bool {
        !matches!(self, Caller::User(_))
    }

    /// The user a user token names.
    pub fn user(&self) -> Option<&str> {
        match self {
            Caller::User(identity) => Some(&identity.user_id),
            _ => None,
        }
    }

    /// Decides who is calling, from the request's headers.
    pub fn identify(req: &HttpRequest, appliance: &Appliance) -> Result<Caller, HttpError> {
        let keys = &appliance.config().api.keys;
        if let Some(key) = req.headers().get(API_KEY_HEADER) {
            let key = key.to_str().unwrap_or_default().trim();
            return if key_matches(keys, key) {
                Ok(Caller::Key)
            } else {
                Err(HttpError::unauthorized("invalid API key"))
            };
        }
        let Some(token) = bearer_token(req) else {
            return Caller::from_cookie(req, appliance).ok_or_else(|| {
                HttpError::unauthorized(
                    "an API key (Authorization: Bearer or X-API-Key) or an admin token is required",
                )
            });
        };
        if key_matches(keys, &token) {
            return Ok(Caller::Key);
        }
        let verifier = appliance.verifier();
        match verifier.verify(&token) {
            Ok(identity) if verifier.is_admin(&identity) => Ok(Caller::Admin(identity)),
            Ok(identity) => Ok(Caller::User(identity)),
            Err(_) => Err(HttpError::unauthorized("invalid API key or token")),
        }
    }
}

impl Caller {
    /// A browser's own calls (nick-doc's `GET /api/notifications/unread-count`
    /// with credentials): a valid token in the `identity.cookie` cookie. It
    /// only ever makes a [`Caller::User`], admin role or not, so that a page
    /// of another site cannot make a browser call the API as an admin.
    fn from_cookie(req: &HttpRequest, appliance: &Appliance) -> Option<Caller> {
        let token = appliance.cookie_token(req)?;
        let identity = appliance.verifier().verify(&token).ok()?;
        Some(Caller::User(identity))
    }
}

fn appliance(req: &HttpRequest) -> Result<&Appliance, HttpError> {
    req.app_data::<web::Data<Appliance>>()
        .map(|data| data.get_ref())
        .ok_or_else(|| HttpError::internal("the appliance is not mounted"))
}

impl FromRequest for Caller {
    type Error = HttpError;
    type Future = Ready<Result<Caller, HttpError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(appliance(req).and_then(|a| Caller::identify(req, a)))
    }
}

/// A caller allowed the whole API: an API key or an admin token. A valid
/// token without the admin role is refused with 403.
#[derive(Debug, Clone, PartialEq)]
pub struct Admin(pub Caller);

impl FromRequest for Admin {
    type Error = HttpError;
    type Future = Ready<Result<Admin, HttpError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            appliance(req)
                .and_then(|a| Caller::identify(req, a))
                .and_then(|caller| {
                    if caller.is_privileged() {
                        Ok(Admin(caller))
                    } else {
                        Err(HttpError::forbidden(
                            "this needs an API key or the admin role",
                        ))
                    }
                }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_match_exactly() {
        let keys = vec!["k-1".to_string(), String::new(), "other".to_string()];
        assert!(key_matches(&keys, "k-1"));
        assert!(key_matches(&keys, "other"));
        assert!(!key_matches(&keys, "k-"));
        assert!(!key_matches(&keys, "k-12"));
        assert!(
            !key_matches(&keys, ""),
            "an empty configured key never matches"
        );
        assert!(!key_matches(&[], "k-1"));
    }
}
