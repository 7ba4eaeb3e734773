//! The README's embedding example: confab mounted in an actix-web app next
//! to a REST route, on one port.

use actix_web::{App, HttpServer, web};
use confab::{Confab, ConnectError, Io};

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let confab = Confab::builder()
        .namespace("/", |ns| {
            // Handshake middleware: accept or refuse a CONNECT, attach a user.
            ns.middleware(|mut req| async move {
                match req.auth.get("token").and_then(|t| t.as_str()) {
                    Some(token) => {
                        req.user_id = Some(token.to_owned());
                        Ok(req)
                    }
                    None => Err(ConnectError::new("token required")),
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
            ns.on("chat", |socket, payload, _| async move {
                // To everyone in the room but the sender.
                if let Ok((room, text)) = payload.decode::<(String, String)>() {
                    let _ = socket.to(room).emit("chat", &text);
                }
            });
        })
        .start();

    HttpServer::new(move || {
        App::new()
            .configure(confab.service()) // the Engine.IO endpoint at /socket.io/
            .route(
                "/announce",
                web::post().to(|io: web::Data<Io>| async move {
                    let _ = io.to("lobby").except("muted").emit("announcement", "hello");
                    "sent"
                }),
            )
    })
    .tcp_nodelay(true) // small frames out at once, as in the binary
    .bind(("127.0.0.1", 3000))?
    .run()
    .await
}
