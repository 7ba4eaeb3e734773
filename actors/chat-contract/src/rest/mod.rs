//! The chat service's HTTP endpoints, for the seed's REST side:
//!
//! | method | path | what |
//! | --- | --- | --- |
//! | POST | `/api/chat/uploadFile` | multipart `file` + `messageType`: the file kept, answered `{success, data: path, message}` |
//! | GET | `/uploads/chat-messages/...` | an uploaded file, to its uploader and the members of a chat that names it |
//! | GET | `/api/chat/getChatHeaderAsync?user1Id=&user2Id=` | the individual chat of two users, got or created; the caller is one of them |
//! | GET | `/api/chat/{chatHeaderId}/messages?before=&after=&limit=` | history for a member |
//! | POST | `/api/chat/groups` | `{name?, members}`: a group of the caller (its admin) and `members` |
//! | POST | `/api/chat/groups/{id}/participants` | `{userIds}`: an admin adds members |
//! | DELETE | `/api/chat/groups/{id}/participants/{userId}` | an admin removes a member, or a member leaves |
//!
//! Every call carries `Authorization: Bearer <jwt>`, checked by a
//! [`CallerCheck`] (the appliance's identity layer implements it); a file may take its token as `?token=`
//! instead (for `<img src>`). Answers are `{success, data, message}`; a
//! refusal is `{success: false, data: null, message}` with its status.
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use actix_web::App;
//! # use confab_chat_contract::{ChatService, rest::CallerCheck};
//! # fn mount(service: ChatService, verifier: Arc<impl CallerCheck>) {
//! let app = App::new().configure(|cfg| confab_chat_contract::rest::configure(cfg, service.clone(), verifier.clone()));
//! # }
//! ```

mod caller;
mod chats;
mod files;
mod groups;
mod upload;

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use tracing::{error, warn};

use super::service::ChatService;
pub use caller::{Caller, CallerCheck};

/// What the handlers share.
pub(crate) struct ChatRest {
    pub service: ChatService,
    pub verifier: Arc<dyn CallerCheck>,
}

/// Mounts the endpoints (under `settings.http_prefix` and
/// `settings.uploads.url_prefix`) on an actix-web app; `verifier` says who
/// a token names.
pub fn configure(
    cfg: &mut web::ServiceConfig,
    service: ChatService,
    verifier: Arc<impl CallerCheck>,
) {
    let settings = service.settings().clone();
    if let Err(err) = super::files::prepare(&settings.uploads) {
        warn!(%err, dir = %settings.uploads.dir.display(), "uploads folder not created");
    }
    let api = settings.http_prefix.trim_end_matches('/');
    let uploads = settings.uploads.url_prefix.trim_end_matches('/');
    cfg.app_data(web::Data::new(ChatRest { service, verifier }))
        .route(
            &format!("{api}/uploadFile"),
            web::post().to(upload::upload_file),
        )
        .route(
            &format!("{api}/getChatHeaderAsync"),
            web::get().to(chats::chat_header),
        )
        .route(
            &format!("{api}/{{chatHeaderId}}/messages"),
            web::get().to(chats::history),
        )
        .route(&format!("{api}/groups"), web::post().to(groups::create))
        .route(
            &format!("{api}/groups/{{id}}/participants"),
            web::post().to(groups::add),
        )
        .route(
            &format!("{api}/groups/{{id}}/participants/{{userId}}"),
            web::delete().to(groups::remove),
        )
        .route(
            &format!("{uploads}/{{tail:.*}}"),
            web::get().to(files::serve),
        );
}

/// A refusal or failure, answered `{success: false, data: null, message}`.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct RestRefusal {
    pub status: StatusCode,
    pub message: String,
    /// Seconds to wait before trying again (`Retry-After`), for a 503.
    pub retry_after: Option<u64>,
}

impl RestRefusal {
    pub fn new(status: StatusCode, message: impl Into<String>) -> RestRefusal {
        RestRefusal {
            status,
            message: message.into(),
            retry_after: None,
        }
    }

    /// With `Retry-After: secs`.
    pub fn retry_after(mut self, secs: u64) -> RestRefusal {
        self.retry_after = Some(secs);
        self
    }

    pub fn bad_request(message: impl Into<String>) -> RestRefusal {
        RestRefusal::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn forbidden(message: impl Into<String>) -> RestRefusal {
        RestRefusal::new(StatusCode::FORBIDDEN, message)
    }

    pub fn not_found(message: impl Into<String>) -> RestRefusal {
        RestRefusal::new(StatusCode::NOT_FOUND, message)
    }

    pub fn internal(err: impl std::fmt::Display) -> RestRefusal {
        error!(%err, "chat HTTP request failed");
        RestRefusal::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
    }
}

impl ResponseError for RestRefusal {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        if self.status == StatusCode::UNAUTHORIZED {
            response.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
        }
        if let Some(secs) = self.retry_after {
            response.insert_header((header::RETRY_AFTER, secs));
        }
        response.json(Answer {
            success: false,
            data: (),
            message: Some(&self.message),
        })
    }
}

impl From<confab_chat::store::StoreError> for RestRefusal {
    fn from(err: confab_chat::store::StoreError) -> RestRefusal {
        RestRefusal::internal(err)
    }
}

impl From<super::error::Refusal> for RestRefusal {
    fn from(refusal: super::error::Refusal) -> RestRefusal {
        use super::error::Refusal;
        let status = match &refusal {
            Refusal::Unauthenticated => StatusCode::UNAUTHORIZED,
            Refusal::ForgedUser => StatusCode::FORBIDDEN,
            Refusal::Invalid(_) => StatusCode::BAD_REQUEST,
            Refusal::UnknownUser => StatusCode::NOT_FOUND,
            Refusal::Chat(_) => StatusCode::BAD_REQUEST,
            Refusal::Denied(_) => StatusCode::FORBIDDEN,
            Refusal::Missing(_) => StatusCode::NOT_FOUND,
            Refusal::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Refusal::ServedElsewhere(_) => StatusCode::SERVICE_UNAVAILABLE,
        };
        RestRefusal::new(status, refusal.to_string())
    }
}

/// The seed's answer, its fields in the seed's order.
#[derive(serde::Serialize)]
struct Answer<'a, T> {
    success: bool,
    data: T,
    message: Option<&'a str>,
}

/// `{success: true, data, message: null}`.
pub fn success(data: impl serde::Serialize) -> HttpResponse {
    HttpResponse::Ok().json(Answer {
        success: true,
        data,
        message: None,
    })
}

/// The token of `Authorization: Bearer <token>`.
fn bearer(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The token of `?token=` or `?access_token=`.
fn query_token(req: &HttpRequest) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(req.query_string()).ok()?;
    pairs
        .into_iter()
        .find(|(k, v)| (k == "token" || k == "access_token") && !v.is_empty())
        .map(|(_, v)| v)
}

impl ChatRest {
    /// Who calls: the bearer token verified (or, if `query_ok`, a
    /// `?token=`). The user is recorded with the token's name and avatar.
    pub fn caller(&self, req: &HttpRequest, query_ok: bool) -> Result<Caller, RestRefusal> {
        let token = match bearer(req) {
            Some(token) => token.to_owned(),
            None => match query_ok.then(|| query_token(req)).flatten() {
                Some(token) => token,
                None => {
                    return Err(RestRefusal::new(
                        StatusCode::UNAUTHORIZED,
                        self.verifier.missing_token(),
                    ));
                }
            },
        };
        let caller = self
            .verifier
            .caller(&token)
            .map_err(|message| RestRefusal::new(StatusCode::UNAUTHORIZED, message))?;
        self.service.upsert_user(
            &caller.user_id,
            caller.name.as_deref(),
            caller.avatar.as_deref(),
        )?;
        Ok(caller)
    }
}
