//! The framework floor for the `connections` scenario: actix-web and
//! actix-web-actors with one WebSocket actor per connection, answering the
//! Engine.IO open packet and a Socket.IO CONNECT and nothing else (no
//! session, no rooms, no heartbeat). Its idle RSS per connection is what any
//! engine on the design card's WebSocket path pays before it stores a byte
//! of its own; `confab − floor` is confab's own share.
//!
//! `PORT` (default 3000) picks the port. Prints `ready actix-floor <port>`.

use actix::{Actor, ActorContext, StreamHandler};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use actix_web_actors::ws;

const OPEN: &str = r#"0{"sid":"floor","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;
const CONNECTED: &str = r#"40{"sid":"floor-socket"}"#;

struct Connection;

impl Actor for Connection {
    type Context = ws::WebsocketContext<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.text(OPEN);
    }
}

impl StreamHandler<Result<ws::Message, ws::ProtocolError>> for Connection {
    fn handle(&mut self, msg: Result<ws::Message, ws::ProtocolError>, ctx: &mut Self::Context) {
        match msg {
            Ok(ws::Message::Text(text)) if text.starts_with("40") => ctx.text(CONNECTED),
            Ok(ws::Message::Close(reason)) => {
                ctx.close(reason);
                ctx.stop();
            }
            Err(_) => ctx.stop(),
            Ok(_) => {}
        }
    }
}

async fn websocket(req: HttpRequest, body: web::Payload) -> actix_web::Result<HttpResponse> {
    ws::start(Connection, &req, body)
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let server = HttpServer::new(|| App::new().route("/socket.io/", web::get().to(websocket)))
        .backlog(4096)
        .max_connection_rate(4096)
        .bind(("127.0.0.1", port))?;
    println!("ready actix-floor {port}");
    server.run().await
}
