//! The chat backend of seed 003 (Syarah Chat API): confab with the chat
//! service on `/`, in the seed's development mode where `query.userId` is
//! trusted (`name` and `avatar` may come in the query too). The chat
//! database lives in `<CONFAB_DATA_DIR>/db`, uploads in
//! `<CONFAB_DATA_DIR>/uploads`. The end-to-end chat tests drive this
//! server.
//!
//! The HTTP endpoints (`/api/chat/uploadFile`, `/api/chat/getChatHeaderAsync`,
//! `/api/chat/{id}/messages`, `/uploads/...`) take `Authorization: Bearer
//! <jwt>`, checked with the identity layer's verifier: HS256 with
//! `CONFAB_IDENTITY__SECRET` (or `<data_dir>/jwt-secret`, made on first
//! start). `[chat]` settings (`CONFAB_CHAT__PUSH_WEBHOOK`, limits) apply.
//!
//! Development only: anyone can claim any user on the socket. A deployment
//! puts the identity layer's middleware where `dev_identity` is.

use std::sync::Arc;
use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use confab::body_deadline::BodyDeadline;
use confab::chat::{self, ChatService, ChatSettings};
use confab::identity::Verifier;
use confab::{Confab, Config, ConnectError, ConnectRequest, Namespace};
use serde_json::json;

/// Trusts `query.userId` as the user, as the seed's development mode does.
fn dev_identity(ns: &mut Namespace) {
    ns.middleware(|mut req: ConnectRequest| async move {
        let query = |name: &str| {
            req.handshake
                .query(name)
                .map(str::trim)
                .filter(|v| !v.is_empty() && *v != "null" && *v != "undefined")
                .map(str::to_owned)
        };
        let Some(user) = query("userId") else {
            return Err(ConnectError::new("userId is required"));
        };
        let identity = json!({ "userId": user, "name": query("name"), "avatar": query("avatar") });
        req.user_id = Some(user);
        req.data
            .insert(confab::identity::IDENTITY_DATA_KEY.into(), identity);
        Ok(req)
    });
}

/// The `[chat]` settings, and timings from the environment (tests
/// shorten the typing flag).
fn settings(config: &Config) -> std::io::Result<ChatSettings> {
    config.chat.check().map_err(std::io::Error::other)?;
    let mut settings = config
        .chat
        .settings(&config.rooms.user_room)
        .with_data_dir(&config.data_dir);
    if let Some(ms) = std::env::var("CHAT_TYPING_TTL_MS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        settings.actors.typing_ttl = Duration::from_millis(ms);
    }
    Ok(settings)
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let config = Config::load(None).map_err(std::io::Error::other)?;
    confab::appliance::logging::init("warn", config.log_format);
    let config = config.with_data_secret().map_err(std::io::Error::other)?;
    let verifier =
        Arc::new(Verifier::from_config(&config.identity).map_err(std::io::Error::other)?);
    let service = ChatService::open(config.data_dir.join("db"), settings(&config)?)
        .map_err(std::io::Error::other)?;
    let confab = Confab::builder()
        .config(&config)
        .namespace("/", |ns| {
            dev_identity(ns);
            chat::install(ns, service.clone());
        })
        .start();
    service.bind(confab.io());
    let deadline = BodyDeadline::from_config(&config);
    let push = service.pusher().map(|p| p.queue().clone());
    let (metrics, engine) = (config.metrics.clone(), confab.engine().clone());
    let outbox_drops = confab.outbox_drops().cloned();
    let server = HttpServer::new(move || {
        App::new()
            .wrap(deadline)
            .configure(confab.service())
            .configure(confab::metrics::mount(
                &metrics,
                engine.clone(),
                push.clone(),
                outbox_drops.clone(),
            ))
            .configure(|cfg| chat::rest::configure(cfg, service.clone(), verifier.clone()))
            .route(
                "/api/health",
                web::get().to(|| async { HttpResponse::Ok().json(json!({ "ok": true })) }),
            )
    })
    .workers(2)
    .tcp_nodelay(true) // small frames out at once, as in the binary
    .bind((config.host.as_str(), config.port))?;
    for addr in server.addrs() {
        println!("confab listening on http://{addr}");
    }
    server.run().await
}
