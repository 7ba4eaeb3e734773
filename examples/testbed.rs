//! The server every end-to-end test drives: confab mounted in an actix-web
//! app through the embedding API, with the handlers of `tests/TESTBED.md`
//! and a few REST routes on the same port.

use std::collections::HashMap;
use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use confab::body_deadline::BodyDeadline;
use confab::{
    Args, Broadcast, Confab, Config, ConnectError, CorsPolicy, Io, Namespace, Payload, Socket,
};
use serde::Deserialize;
use serde_json::{Value, json};

/// `echo`: acks the same args, or emits them back when no ack was asked.
fn echo(ns: &mut Namespace) {
    ns.on("echo", |socket, payload, ack| async move {
        match ack {
            Some(ack) => ack.send_args(payload.args()),
            None => socket.emit_args("echo", payload.args()),
        }
    });
    ns.on("whoami", |socket, _, ack| async move {
        if let Some(ack) = ack {
            let _ = ack.send(&json!({
                "id": socket.id(),
                "nsp": socket.nsp(),
                "auth": socket.auth(),
                "query": socket.handshake().query,
            }));
        }
    });
}

/// One field of the first argument, as a one-argument list passed on as
/// received: binary placeholders keep pointing at the same attachments.
fn field_args(payload: &Payload, field: &str) -> Args {
    let value = payload
        .json()
        .into_iter()
        .next()
        .and_then(|v| v.get(field).cloned());
    let json =
        serde_json::to_string(&[value.unwrap_or(Value::Null)]).unwrap_or_else(|_| "[null]".into());
    Args::from_raw(json, payload.args().attachments().to_vec())
}

async fn rooms_reply(socket: &Socket) -> Value {
    json!({ "rooms": socket.rooms().await })
}

fn main_namespace(ns: &mut Namespace) {
    echo(ns);
    ns.on("join-room", |socket, payload, ack| async move {
        if let Ok(room) = payload.decode::<String>() {
            socket.join([room]).await;
        }
        if let Some(ack) = ack {
            let _ = ack.send(&rooms_reply(&socket).await);
        }
    });
    ns.on("leave-room", |socket, payload, ack| async move {
        if let Ok(room) = payload.decode::<String>() {
            socket.leave([room]).await;
        }
        if let Some(ack) = ack {
            let _ = ack.send(&rooms_reply(&socket).await);
        }
    });
    ns.on("to-room", |socket, payload, ack| async move {
        #[derive(Deserialize)]
        struct ToRoom {
            room: String,
            event: String,
        }
        if let Ok(msg) = payload.decode::<ToRoom>() {
            socket
                .to(msg.room)
                .emit_args(&msg.event, &field_args(&payload, "data"));
        }
        if let Some(ack) = ack {
            let _ = ack.send(&true);
        }
    });
    ns.on("ask", |socket, payload, ack| async move {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Ask {
            event: String,
            timeout_ms: u64,
        }
        let Some(ack) = ack else { return };
        let Ok(ask) = payload.decode::<Ask>() else {
            let _ = ack.send(&json!({ "ok": false, "error": "expected {event, data, timeoutMs}" }));
            return;
        };
        let question = field_args(&payload, "data");
        let timeout = Duration::from_millis(ask.timeout_ms);
        match socket
            .emit_args_with_ack(&ask.event, question, timeout)
            .await
        {
            // The client's answer goes back as received, binary included.
            Ok(reply) => {
                let json = format!(r#"[{{"ok":true,"reply":{}}}]"#, reply.args().json());
                ack.send_args(&Args::from_raw(json, reply.args().attachments().to_vec()));
            }
            Err(_) => {
                let _ = ack.send(&json!({ "ok": false, "error": "timeout" }));
            }
        }
    });
    // Server-side events between the nodes of a cluster: `who` is answered
    // with this process's id, `note` passed on to this node's clients
    // (`server-note`), and a client's `ask-servers` asks the other nodes
    // `who`, naming itself (Node's serverSideEmitWithAck).
    ns.on_server_event("who", |_, _, ack| async move {
        if let Some(ack) = ack {
            let _ = ack.send(&json!({ "from": "confab", "pid": std::process::id() }));
        }
    });
    ns.on_server_event("note", |io, payload, _| async move {
        let note = payload.json().into_iter().next().unwrap_or(Value::Null);
        let _ = io.of("/").local().emit("server-note", &note);
    });
    ns.on("ask-servers", |socket, _, ack| async move {
        let Some(ack) = ack else { return };
        let answers = socket
            .io()
            .server_side_emit_with_ack(socket.nsp(), "who", &socket.id(), Duration::from_secs(3))
            .await;
        let _ = match answers {
            Ok(answers) => {
                ack.send(&json!({ "complete": answers.complete, "answers": answers.value }))
            }
            Err(error) => ack.send(&json!({ "error": error.to_string() })),
        };
    });
    ns.on("note-servers", |socket, payload, ack| async move {
        let note = payload.json().into_iter().next().unwrap_or(Value::Null);
        let sent = socket
            .io()
            .server_side_emit(socket.nsp(), "note", &note)
            .is_ok();
        if let Some(ack) = ack {
            let _ = ack.send(&sent);
        }
    });
    // A broadcast with acks (Node's `io.to(room).timeout(t).emit(..., cb)`):
    // each client's first answer, and whether all came in time.
    ns.on("ask-room", |socket, payload, ack| async move {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct AskRoom {
            room: String,
            event: String,
            timeout_ms: u64,
        }
        let Some(ack) = ack else { return };
        let Ok(ask) = payload.decode::<AskRoom>() else {
            let _ = ack
                .send(&json!({ "ok": false, "error": "expected {room, event, data, timeoutMs}" }));
            return;
        };
        let answers = socket
            .io()
            .of(socket.nsp())
            .to(ask.room)
            .emit_args_with_ack(
                &ask.event,
                &field_args(&payload, "data"),
                Duration::from_millis(ask.timeout_ms),
            )
            .await;
        let replies: Vec<Value> = answers
            .replies
            .iter()
            .map(|reply| reply.json().into_iter().next().unwrap_or(Value::Null))
            .collect();
        let _ = ack.send(&json!({ "ok": answers.complete, "replies": replies }));
    });
    ns.on("server-disconnect", |socket, _, _| async move {
        socket.disconnect()
    });
    ns.on("server-close", |socket, _, _| async move {
        socket.close_connection()
    });
    // An event, then the connection closed: the event goes first.
    ns.on("goodbye-close", |socket, payload, _| async move {
        socket.emit_args("goodbye", payload.args());
        socket.close_connection()
    });
    // A handle an application keeps past a recovery: `keep-handle` keeps
    // this socket's, `ask-kept` emits with an ack through the kept handle
    // of socket `id`, `close-kept` closes its connection.
    ns.on("keep-handle", |socket, _, ack| async move {
        kept().insert(socket.id().to_owned(), socket.clone());
        if let Some(ack) = ack {
            let _ = ack.send(&true);
        }
    });
    ns.on("ask-kept", |_, payload, ack| async move {
        let Some(ack) = ack else { return };
        let id = payload.json().into_iter().next().unwrap_or(Value::Null);
        let Some(socket) = id.as_str().and_then(|id| kept().get(id).cloned()) else {
            let _ = ack.send(&json!({ "ok": false, "error": "no kept handle" }));
            return;
        };
        let answer = socket
            .emit_with_ack_timeout("kept-q", &1, Duration::from_secs(5))
            .await;
        let _ = match answer {
            Ok(reply) => ack.send(&json!({ "ok": true, "reply": reply.json() })),
            Err(error) => ack.send(&json!({ "ok": false, "error": error.to_string() })),
        };
    });
    ns.on("close-kept", |_, payload, _| async move {
        let id = payload.json().into_iter().next().unwrap_or(Value::Null);
        if let Some(socket) = id.as_str().and_then(|id| kept().get(id).cloned()) {
            socket.close_connection();
        }
    });
}

/// The handles `keep-handle` kept, by socket id.
fn kept() -> std::sync::MutexGuard<'static, HashMap<String, Socket>> {
    static KEPT: std::sync::LazyLock<std::sync::Mutex<HashMap<String, Socket>>> =
        std::sync::LazyLock::new(Default::default);
    KEPT.lock().unwrap_or_else(|e| e.into_inner())
}

fn observe_disconnects(ns: &mut Namespace) {
    ns.on_disconnect(|socket, reason| async move {
        let _ = socket.io().of(socket.nsp()).to("observers").emit(
            "left",
            &json!({ "id": socket.id(), "reason": reason.as_str() }),
        );
    });
}

fn admin_namespace(ns: &mut Namespace) {
    ns.middleware(|req| async move {
        if req.auth.get("token").and_then(Value::as_str) == Some("let-me-in") {
            Ok(req)
        } else {
            Err(ConnectError::new("unauthorized").with_data(json!({ "reason": "bad token" })))
        }
    });
    echo(ns);
}

/// Which sockets a route acts on: those of `nsp` in any of `rooms` (all
/// when empty), minus those in `except`.
#[derive(Deserialize)]
struct Selection {
    #[serde(default = "main_nsp")]
    nsp: String,
    #[serde(default)]
    rooms: Vec<String>,
    #[serde(default)]
    except: Vec<String>,
}

impl Selection {
    fn of(self, io: &Io) -> Broadcast {
        self.except
            .into_iter()
            .fold(io.of(&self.nsp).to_rooms(self.rooms), |t, room| {
                t.except(room)
            })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EmitRequest {
    #[serde(flatten)]
    selection: Selection,
    event: String,
    #[serde(default)]
    data: Value,
    /// Wait this long for every client's ack (on every node) and answer
    /// them: `io.timeout(t).emitWithAck`.
    ack_timeout_ms: Option<u64>,
}

fn main_nsp() -> String {
    "/".into()
}

async fn emit(io: web::Data<Io>, body: web::Json<EmitRequest>) -> HttpResponse {
    let body = body.into_inner();
    let target = body.selection.of(&io);
    match Args::new(&body.data) {
        Ok(args) => match body.ack_timeout_ms {
            None => {
                target.emit_args(&body.event, &args);
                HttpResponse::Ok().json(json!({ "ok": true }))
            }
            Some(ms) => {
                let timeout = Duration::from_millis(ms);
                let answered = target.emit_args_with_ack(&body.event, &args, timeout).await;
                if !answered.complete {
                    return HttpResponse::Ok().json(json!({ "ok": false, "error": "timeout" }));
                }
                let replies: Vec<Value> = answered
                    .replies
                    .iter()
                    .map(|reply| reply.json().into_iter().next().unwrap_or(Value::Null))
                    .collect();
                HttpResponse::Ok().json(json!({ "ok": true, "replies": replies }))
            }
        },
        Err(err) => {
            HttpResponse::BadRequest().json(json!({ "ok": false, "error": err.to_string() }))
        }
    }
}

/// `POST /api/rooms` and `POST /api/disconnect`: a selection and what to
/// do with it.
#[derive(Deserialize)]
struct SelectionRequest {
    #[serde(flatten)]
    selection: Selection,
    #[serde(default)]
    join: Vec<String>,
    #[serde(default)]
    leave: Vec<String>,
    #[serde(default)]
    close: bool,
}

async fn rooms(io: web::Data<Io>, body: web::Json<SelectionRequest>) -> HttpResponse {
    let body = body.into_inner();
    let target = body.selection.of(&io);
    if !body.join.is_empty() {
        target.clone().join(body.join);
    }
    if !body.leave.is_empty() {
        target.leave(body.leave);
    }
    HttpResponse::Ok().json(json!({ "ok": true }))
}

async fn disconnect(io: web::Data<Io>, body: web::Json<SelectionRequest>) -> HttpResponse {
    let body = body.into_inner();
    let target = body.selection.of(&io);
    if body.close {
        target.close_connections();
    } else {
        target.disconnect();
    }
    HttpResponse::Ok().json(json!({ "ok": true }))
}

#[derive(Deserialize)]
struct SocketsQuery {
    #[serde(default = "main_nsp")]
    nsp: String,
}

async fn sockets(io: web::Data<Io>, query: web::Query<SocketsQuery>) -> HttpResponse {
    HttpResponse::Ok().json(io.of(&query.nsp).sockets().await)
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let mut config = Config::load(None).map_err(std::io::Error::other)?;
    confab::appliance::logging::init("warn", config.log_format);
    // A test server listens on loopback unless told otherwise.
    if std::env::var_os("CONFAB_HOST").is_none() {
        config.host = "127.0.0.1".into();
    }
    // The Origin check, then the test's own refusal (`?refuse=<message>`):
    // how an application adds its say to the default.
    let cors = CorsPolicy::from_list(&config.cors_origins);
    let confab = Confab::builder()
        .config(&config)
        .allow_request(move |req| {
            cors.check_origin(req)?;
            let query = web::Query::<HashMap<String, String>>::from_query(req.query_string());
            match query.ok().and_then(|q| q.get("refuse").cloned()) {
                Some(message) => Err(message),
                None => Ok(()),
            }
        })
        .namespace("/", |ns| {
            main_namespace(ns);
            observe_disconnects(ns);
        })
        .namespace("/admin", |ns| {
            admin_namespace(ns);
            observe_disconnects(ns);
        })
        .start();
    let engine = confab.engine().clone();
    let deadline = BodyDeadline::from_config(&config);
    let (metrics, metered) = (config.metrics.clone(), engine.clone());
    let outbox_drops = confab.outbox_drops().cloned();
    let server = HttpServer::new(move || {
        App::new()
            .wrap(deadline)
            .configure(confab.service())
            .configure(confab::metrics::mount(
                &metrics,
                metered.clone(),
                None,
                outbox_drops.clone(),
            ))
            .route(
                "/api/health",
                web::get().to(|| async { HttpResponse::Ok().json(json!({ "ok": true })) }),
            )
            .route("/api/emit", web::post().to(emit))
            .route("/api/sockets", web::get().to(sockets))
            .route("/api/rooms", web::post().to(rooms))
            .route("/api/disconnect", web::post().to(disconnect))
    })
    .workers(2)
    .disable_signals()
    // A client that drops a parked GET must end its future (and session).
    .h1_allow_half_closed(false)
    // A WebSocket whose client stops reading can be cut at once.
    .on_connect(confab::transport::on_connect)
    .tcp_nodelay(true) // small frames out at once, as in the binary
    .bind((config.host.as_str(), config.port))?;
    for addr in server.addrs() {
        println!("confab listening on http://{addr}");
    }
    confab::shutdown::run_until_signal(server.run(), engine).await
}
