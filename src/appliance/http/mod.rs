//! The HTTP twin of the server-side API ([`crate::appliance::api`]), for backends in
//! other languages. [`crate::appliance::Appliance::service`] mounts it under
//! `api.prefix` (`/api`), one route at a time, so an application's own
//! routes under the same prefix keep working.
//!
//! Callers: an API key from `api.keys` (`Authorization: Bearer <key>` or
//! `X-API-Key: <key>`), or a token whose roles include the admin role. No
//! credentials, or bad ones: 401; a valid token without the role: 403 (a
//! user token may read and mark its own notifications). Bodies are JSON;
//! errors are `{"error": "..."}` with 400 for bad input.
//!
//! | route | what |
//! | --- | --- |
//! | `POST /api/emit` | `{nsp?, rooms?, users?, sockets?, except?, event, data?, ackTimeoutMs?}` |
//! | `GET /api/clients?nsp=&room=&user=` | `{clients: [{id, nsp, userId, rooms, connectedAt}], partial?}` |
//! | `POST /api/disconnect` | `{nsp?, sockets?, users?, rooms?}` |
//! | `POST /api/operations` | `{operation, status, message?, data?, socketId?, userId}` |
//! | `POST /api/items/{collection}/{created\|updated\|deleted}` | `{item: {id, ...}, userId?}` |
//! | `POST /api/files/{uploaded\|deleted}` | `{file, user, rooms?}` |
//! | `POST /api/notifications` | `{userId, type?, title?, message\|body?, data?}` |
//! | `GET /api/notifications?userId=&unseen=&limit=` | a user's notifications, newest first |
//! | `GET /api/notifications/unread-count?userId=` | `{unreadCount}` |
//! | `POST /api/notifications/seen` | `{userId}`: all of them seen |
//! | `POST /api/notifications/{id}/seen` | one seen |
//! | `GET`, `DELETE /api/notifications/{id}` | one |
//! | `PUT /api/users/{id}` | `{name?, avatar?}`: create or update a chat user |
//! | `GET /api/users/{id}` | `{user: {id, name, avatar, isOnline}}` |
//! | `GET /api/users/{id}/friendships` | `{friendships: [...]}` |
//! | `PUT /api/friendships` | `{userId, otherUserId, status: 0-3 \| null, by?}` |

pub(crate) mod caller;
mod emit;
mod error;
mod input;
mod items;
pub(crate) mod keys;
mod notifications;
pub mod operation;
mod operations;
mod users;

use actix_web::{HttpResponse, web};

pub use caller::{Admin, Caller};
pub use error::HttpError;
pub use input::{Body, Id, List, Query};
pub use keys::{API_KEY_HEADER, bearer_token};
pub use operation::Operation;

use crate::appliance::Appliance;

async fn method_not_allowed() -> Result<HttpResponse, HttpError> {
    Err(HttpError::new(
        actix_web::http::StatusCode::METHOD_NOT_ALLOWED,
        "method not allowed",
    ))
}

/// Registers the routes under the configured prefix.
pub(crate) fn configure(cfg: &mut web::ServiceConfig, appliance: &web::Data<Appliance>) {
    let config = appliance.config();
    let prefix = config.api.prefix.trim_end_matches('/').to_owned();
    let limit = config.max_payload;
    let resource = |path: &str| {
        web::resource(format!("{prefix}{path}"))
            .app_data(web::PayloadConfig::new(limit))
            .default_service(web::to(method_not_allowed))
    };
    cfg.service(resource("/emit").route(web::post().to(emit::emit)))
        .service(resource("/clients").route(web::get().to(emit::clients)))
        .service(resource("/disconnect").route(web::post().to(emit::disconnect)))
        .service(resource("/operations").route(web::post().to(operations::report)))
        .service(resource("/items/{collection}/{action}").route(web::post().to(items::item)))
        .service(resource("/files/{action}").route(web::post().to(items::file)))
        .service(
            resource("/notifications")
                .route(web::get().to(notifications::list))
                .route(web::post().to(notifications::create)),
        )
        .service(
            resource("/notifications/unread-count")
                .route(web::get().to(notifications::unread_count)),
        )
        .service(resource("/notifications/seen").route(web::post().to(notifications::seen_all)))
        .service(resource("/notifications/{id}/seen").route(web::post().to(notifications::seen)))
        .service(
            resource("/notifications/{id}")
                .route(web::get().to(notifications::get))
                .route(web::delete().to(notifications::delete)),
        )
        .service(
            resource("/users/{id}")
                .route(web::get().to(users::get_user))
                .route(web::put().to(users::put_user)),
        )
        .service(resource("/users/{id}/friendships").route(web::get().to(users::friendships)))
        .service(resource("/friendships").route(web::put().to(users::put_friendship)));
}
