//! The benchmark's confab server, written against the embedding API only.
//!
//! Behaviour (the same in every peer server of `bench/`):
//! - CONNECT needs `auth.token`, any non-empty string;
//! - `join` (room name) joins the room and acks `true`;
//! - `chat` `{room, text, ts}` is broadcast as `chat` to the whole room,
//!   sender included, and acked `true`;
//! - `echo` is acked with its own arguments.
//!
//! `PORT` (default 3000) picks the port, `WORKERS` the actix-web worker
//! count (default: actix's own, one per available core), `REDIS_URL`
//! (unset: one process) puts the node in a cluster on that Redis (confab's
//! Redis adapter, `[adapter]` with its defaults but for the URL). Prints
//! `ready confab <port>` once listening.

use actix_web::{App, HttpServer};
use confab::{AdapterConfig, Confab, ConnectError, EngineConfig, EventRate};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
struct Chat {
    room: String,
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    // The echo clients send over a thousand events a second each, past the
    // default rate limit (made for people): the benchmark turns it off.
    let engine = EngineConfig {
        event_rate: EventRate {
            per_second: 0,
            ..EventRate::default()
        },
        ..EngineConfig::default()
    };
    let adapter = AdapterConfig {
        url: std::env::var("REDIS_URL").unwrap_or_default(),
        ..AdapterConfig::default()
    };
    let confab = Confab::builder()
        .engine_config(engine)
        .adapter(adapter)
        .namespace("/", |ns| {
            ns.middleware(|req| async move {
                match req.auth.get("token").and_then(Value::as_str) {
                    Some(token) if !token.is_empty() => Ok(req),
                    _ => Err(ConnectError::new("unauthorized")),
                }
            });
            ns.on("join", |socket, payload, ack| async move {
                if let Ok(room) = payload.decode::<String>() {
                    socket.join([room]).await;
                }
                if let Some(ack) = ack {
                    let _ = ack.send(&true);
                }
            });
            ns.on("chat", |socket, payload, ack| async move {
                // Only the room is read; the message goes out as received.
                if let Ok(chat) = payload.decode::<Chat>() {
                    socket.io().to(chat.room).emit_args("chat", payload.args());
                }
                if let Some(ack) = ack {
                    let _ = ack.send(&true);
                }
            });
            ns.on("echo", |_socket, payload, ack| async move {
                if let Some(ack) = ack {
                    ack.send_args(payload.args());
                }
            });
        })
        .start();
    let mut server = HttpServer::new(move || App::new().configure(confab.service()));
    if let Some(workers) = std::env::var("WORKERS").ok().and_then(|w| w.parse().ok()) {
        server = server.workers(workers);
    }
    let server = server
        .tcp_nodelay(true)
        .backlog(4096)
        .max_connection_rate(4096)
        .bind(("127.0.0.1", port))?;
    println!("ready confab {port}");
    server.run().await
}
