//! The benchmark's socketioxide peer: socketioxide on axum and tokio, with
//! the behaviour every server of `bench/` has:
//! - CONNECT needs `auth.token`, any non-empty string;
//! - `join` (room name) joins the room and acks `true`;
//! - `chat` `{room, text, ts}` is broadcast as `chat` to the whole room,
//!   sender included, and acked `true`;
//! - `echo` is acked with its own arguments.
//!
//! `PORT` (default 3000) picks the port. TCP_NODELAY is set on every
//! connection, as in the other servers. Prints `ready socketioxide <port>`
//! once listening.

use axum::serve::ListenerExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use socketioxide::SocketIo;
use socketioxide::extract::{AckSender, Data, SocketRef};
use socketioxide::handler::ConnectHandler;

#[derive(Debug)]
struct Unauthorized;

impl std::fmt::Display for Unauthorized {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("unauthorized")
    }
}

#[derive(Deserialize, Serialize)]
struct Chat {
    room: String,
    text: Value,
    ts: Value,
}

async fn authenticate(Data(auth): Data<Value>) -> Result<(), Unauthorized> {
    match auth.get("token").and_then(Value::as_str) {
        Some(token) if !token.is_empty() => Ok(()),
        _ => Err(Unauthorized),
    }
}

async fn on_connect(socket: SocketRef) {
    socket.on(
        "join",
        async |socket: SocketRef, Data(room): Data<String>, ack: AckSender| {
            socket.join(room);
            let _ = ack.send(&true);
        },
    );
    socket.on(
        "chat",
        async |io: SocketIo, Data(chat): Data<Chat>, ack: AckSender| {
            let _ = io.to(chat.room.clone()).emit("chat", &chat).await;
            let _ = ack.send(&true);
        },
    );
    socket.on("echo", async |Data(data): Data<Value>, ack: AckSender| {
        let _ = ack.send(&data);
    });
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let (layer, io) = SocketIo::new_layer();
    io.ns("/", on_connect.with(authenticate));
    let app = axum::Router::new().layer(layer);
    // TCP_NODELAY on every connection, as axum's docs show: Node's http
    // server sets it by default; axum::serve does not, nor does actix-web
    // (the confab server asks for it with `HttpServer::tcp_nodelay`).
    // A listen backlog of 4096, as the other servers are given.
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind(std::net::SocketAddr::from(([127, 0, 0, 1], port)))?;
    let listener = socket.listen(4096)?.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    println!("ready socketioxide {port}");
    axum::serve(listener, app).await
}
