//! Graceful shutdown: on SIGINT or SIGTERM every session is told the server
//! is going away (sockets disconnect with "server shutting down", WebSockets
//! get their close frame) before the HTTP server stops.

use std::time::Duration;

use actix_web::dev::Server;
use tracing::info;

use crate::Engine;

/// How long close packets get to reach the clients before the workers stop.
const DRAIN: Duration = Duration::from_millis(200);

/// Runs `server` until a signal, then closes `engine`'s sessions and stops
/// it. Build the server with `.disable_signals()`: this handles them.
pub async fn run_until_signal(server: Server, engine: Engine) -> std::io::Result<()> {
    let handle = server.handle();
    actix_web::rt::spawn(async move {
        signal().await;
        info!("shutting down: closing every session");
        engine.shutdown();
        actix_web::rt::time::sleep(DRAIN).await;
        handle.stop(true).await;
    });
    server.await
}

/// SIGINT or SIGTERM.
async fn signal() {
    let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
    else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
