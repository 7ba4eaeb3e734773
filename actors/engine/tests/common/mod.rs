//! Test harness for the engine's actors, without HTTP.
//!
//! A [`Ws`] stands in for a WebSocket transport: it drains the session's
//! [`WsSink`] and records every frame and close on a channel the test awaits (with a timeout).
//! A [`Client`] is a session opened on such a sink, fed with wire text the
//! way the WebSocket transport feeds it. Handlers of the [`recording`]
//! namespace report what happens to them as [`Ev`]s.

#![allow(dead_code)]

use std::time::Duration;

use actix::prelude::*;
use bytes::Bytes;
use bytestring::ByteString;
use confab_engine::outbound::{Drained, WsSink, cost};
use confab_engine::protocol::engineio::{Frame, Packet, decode_payload, decode_text};
use confab_engine::session::{
    Inbound, NewTransport, Packets, Poll, PollError, Session, TransportKind,
};
use confab_engine::{
    DisconnectReason, Engine, EngineConfig, Handshake, Namespace, Namespaces, Payload, Socket,
};
use serde_json::Value;
use tokio::sync::mpsc::{
    UnboundedReceiver, UnboundedSender, error::TryRecvError, unbounded_channel,
};

/// Longest a test waits for something that should happen.
pub const WAIT: Duration = Duration::from_secs(1);

/// What a session sent to a WebSocket sink.
#[derive(Debug, PartialEq)]
pub enum Out {
    Frame(Frame),
    Close,
}

/// A WebSocket that writes at once: it drains the sink as a transport
/// does, and what it takes leaves the budget.
async fn collect(sink: WsSink, tx: UnboundedSender<Out>) {
    loop {
        let drained = std::future::poll_fn(|cx| match sink.drain(cx.waker()) {
            Drained::Empty => std::task::Poll::Pending,
            other => std::task::Poll::Ready(other),
        })
        .await;
        let taken = match drained {
            Drained::Frames(taken) => taken,
            Drained::Pong(_) => continue,
            Drained::Closed(_) | Drained::Empty => {
                let _ = tx.send(Out::Close);
                return;
            }
        };
        sink.outbound.release(cost(taken.iter()));
        for frame in taken {
            if tx.send(Out::Frame(frame)).is_err() {
                return;
            }
        }
    }
}

/// The test's end of a WebSocket: what the session wrote, in order.
pub struct Ws {
    rx: UnboundedReceiver<Out>,
}

impl Ws {
    /// A new sink and its end to hand to the session.
    pub fn new() -> (Ws, WsSink) {
        let (tx, rx) = unbounded_channel();
        let sink = WsSink::default();
        actix_rt::spawn(collect(sink.clone(), tx));
        (Ws { rx }, sink)
    }

    pub async fn next(&mut self) -> Out {
        tokio::time::timeout(WAIT, self.rx.recv())
            .await
            .expect("nothing written to the websocket within 1 s")
            .expect("the session dropped the websocket without a Close")
    }

    /// The next frame, which must be text.
    pub async fn text(&mut self) -> String {
        match self.next().await {
            Out::Frame(Frame::Text(text)) => text.to_string(),
            other => panic!("expected a text frame, got {other:?}"),
        }
    }

    /// The next frame, which must be binary.
    pub async fn binary(&mut self) -> Bytes {
        match self.next().await {
            Out::Frame(Frame::Binary(data)) => data,
            other => panic!("expected a binary frame, got {other:?}"),
        }
    }

    /// The next thing written must be a Close.
    pub async fn closed(&mut self) {
        match self.next().await {
            Out::Close => {}
            other => panic!("expected a close, got {other:?}"),
        }
    }

    /// Nothing is waiting right now (use after a marker proved ordering).
    pub fn assert_empty(&mut self) {
        match self.rx.try_recv() {
            Err(TryRecvError::Empty) => {}
            Err(TryRecvError::Disconnected) => {}
            Ok(out) => panic!("unexpected output {out:?}"),
        }
    }
}

/// A WebSocket transport on `sink` whose packets the test sends as
/// [`Inbound`] messages (with [`send_ws`]): its reader never yields.
pub fn websocket(sink: WsSink) -> NewTransport {
    NewTransport::WebSocket(sink, Box::pin(futures_util::stream::pending()))
}

/// Feeds one WebSocket text frame (as it is on the wire) to a session.
pub fn send_ws(session: &Addr<Session>, wire: &str) {
    let packet = decode_text(ByteString::from(wire.to_owned()))
        .expect("test sent an invalid Engine.IO packet");
    session.do_send(Inbound {
        packets: Packets::One(packet),
        via: TransportKind::WebSocket,
    });
}

/// Feeds one long-polling POST body to a session.
pub fn send_polling(session: &Addr<Session>, body: &str) {
    let packets = decode_payload(Bytes::from(body.to_owned()), 1_000_000)
        .expect("test sent an invalid payload");
    session.do_send(Inbound {
        packets: Packets::Batch(packets),
        via: TransportKind::Polling,
    });
}

/// A long-polling GET, waited for at most [`WAIT`].
pub async fn poll(session: &Addr<Session>) -> Result<String, PollError> {
    let answer = tokio::time::timeout(WAIT, session.send(Poll))
        .await
        .expect("GET not answered within 1 s")
        .expect("session mailbox closed");
    answer.map(|body| String::from_utf8(body.to_vec()).expect("payload is UTF-8"))
}

/// Parses an open packet (`0{...}`).
pub fn open_json(frame: &str) -> Value {
    let json = frame
        .strip_prefix('0')
        .unwrap_or_else(|| panic!("not an open packet: {frame}"));
    serde_json::from_str(json).expect("open packet JSON")
}

/// A client on a WebSocket session.
pub struct Client {
    pub session: Addr<Session>,
    pub ws: Ws,
    /// The open packet's JSON.
    pub open: Value,
}

impl Client {
    /// Opens a WebSocket session and reads its open packet.
    pub async fn open(engine: &Engine) -> Client {
        let (mut ws, sink) = Ws::new();
        let session = engine.open(Handshake::default(), websocket(sink));
        let open = open_json(&ws.text().await);
        Client { session, ws, open }
    }

    /// The Engine.IO session id.
    pub fn sid(&self) -> String {
        self.open["sid"].as_str().expect("sid").to_owned()
    }

    pub fn send(&self, wire: &str) {
        send_ws(&self.session, wire);
    }

    /// Sends a binary WebSocket frame (an attachment).
    pub fn send_binary(&self, data: &'static [u8]) {
        self.session.do_send(Inbound {
            packets: Packets::One(Packet::Binary(Bytes::from_static(data))),
            via: TransportKind::WebSocket,
        });
    }

    pub async fn text(&mut self) -> String {
        self.ws.text().await
    }

    /// A session whose socket on `/` is connected and seen by `on_connect`:
    /// the client, the socket id of the CONNECT reply, the server's socket.
    pub async fn connected(engine: &Engine, evs: &mut Evs) -> (Client, String, Socket) {
        let mut client = Client::open(engine).await;
        let id = client.connect().await;
        let socket = evs.connected().await;
        (client, id, socket)
    }

    /// CONNECT to `/`; returns the socket id of the reply.
    pub async fn connect(&mut self) -> String {
        self.connect_to("/").await
    }

    /// CONNECT to a namespace; returns the socket id of the reply.
    pub async fn connect_to(&mut self, nsp: &str) -> String {
        let prefix = if nsp == "/" {
            String::new()
        } else {
            format!("{nsp},")
        };
        self.send(&format!("40{prefix}"));
        let reply = self.text().await;
        let json = reply
            .strip_prefix(&format!("40{prefix}"))
            .unwrap_or_else(|| panic!("expected CONNECT reply for {nsp}, got {reply}"));
        let json: Value = serde_json::from_str(json).expect("CONNECT reply JSON");
        json["sid"]
            .as_str()
            .expect("sid in CONNECT reply")
            .to_owned()
    }

    /// Sends `wire` (which asks for ack `id` on `/`) and returns the ack's
    /// JSON arguments.
    pub async fn call(&mut self, id: u32, event: &str, args: &[Value]) -> Value {
        let mut array = vec![Value::from(event)];
        array.extend(args.iter().cloned());
        self.send(&format!("42{id}{}", Value::from(array)));
        let reply = self.text().await;
        let json = reply
            .strip_prefix(&format!("43{id}"))
            .unwrap_or_else(|| panic!("expected ack {id}, got {reply}"));
        serde_json::from_str(json).expect("ack JSON")
    }

    /// Proves nothing else was written before: the server emits a marker
    /// to this socket and it must be the very next frame.
    pub async fn expect_only_marker(&mut self, engine: &Engine, socket_id: &str) {
        engine.io().to(socket_id).emit("marker", &0).unwrap();
        assert_eq!(self.text().await, r#"42["marker",0]"#);
    }
}

/// What the recording namespace's handlers saw.
pub enum Ev {
    Connect(Socket),
    Disconnect {
        id: String,
        nsp: String,
        reason: DisconnectReason,
    },
    Event {
        id: String,
        payload: Payload,
    },
}

impl std::fmt::Debug for Ev {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ev::Connect(s) => write!(f, "Connect({} on {})", s.id(), s.nsp()),
            Ev::Disconnect { id, nsp, reason } => write!(f, "Disconnect({id} on {nsp}: {reason})"),
            Ev::Event { id, payload } => write!(
                f,
                "Event({id}: {} {})",
                payload.event(),
                payload.args().json()
            ),
        }
    }
}

/// The handlers' reports.
pub struct Evs(UnboundedReceiver<Ev>);

impl Evs {
    pub async fn next(&mut self) -> Ev {
        tokio::time::timeout(WAIT, self.0.recv())
            .await
            .expect("no handler ran within 1 s")
            .expect("engine dropped")
    }

    pub async fn connected(&mut self) -> Socket {
        match self.next().await {
            Ev::Connect(socket) => socket,
            other => panic!("expected on_connect, got {other:?}"),
        }
    }

    /// The next on_disconnect: socket id and reason.
    pub async fn disconnected(&mut self) -> (String, DisconnectReason) {
        match self.next().await {
            Ev::Disconnect { id, reason, .. } => (id, reason),
            other => panic!("expected on_disconnect, got {other:?}"),
        }
    }

    pub async fn event(&mut self) -> (String, Payload) {
        match self.next().await {
            Ev::Event { id, payload } => (id, payload),
            other => panic!("expected an event, got {other:?}"),
        }
    }

    /// No report arrives within `within`.
    pub async fn assert_quiet(&mut self, within: Duration) {
        if let Ok(Some(ev)) = tokio::time::timeout(within, self.0.recv()).await {
            panic!("unexpected handler report {ev:?}");
        }
    }
}

pub fn ev_channel() -> (UnboundedSender<Ev>, Evs) {
    let (tx, rx) = unbounded_channel();
    (tx, Evs(rx))
}

fn first_string(payload: &Payload) -> String {
    payload
        .decode::<String>()
        .expect("first argument is a string")
}

fn ok(ack: Option<confab_engine::Ack>) {
    if let Some(ack) = ack {
        ack.send("ok").unwrap();
    }
}

/// A namespace whose handlers report to `tx`:
/// - on_connect / on_disconnect → `Ev::Connect` / `Ev::Disconnect`;
/// - `echo`: acks with its own arguments, unchanged (binary included);
/// - `record`: reports `Ev::Event`, acks `"ok"`;
/// - `join` / `leave` (room): `socket.join` / `socket.leave`, then acks `"ok"`;
/// - `rooms`: acks with `socket.rooms()`;
/// - `say` (room, text): `socket.to(room).emit("said", text)`, acks `"ok"`;
/// - `bye`: `socket.disconnect()`.
pub fn recording(tx: UnboundedSender<Ev>) -> Namespace {
    let mut ns = Namespace::new();
    let t = tx.clone();
    ns.on_connect(move |socket| {
        let t = t.clone();
        async move {
            let _ = t.send(Ev::Connect(socket));
        }
    });
    let t = tx.clone();
    ns.on_disconnect(move |socket, reason| {
        let t = t.clone();
        async move {
            let _ = t.send(Ev::Disconnect {
                id: socket.id().to_owned(),
                nsp: socket.nsp().to_owned(),
                reason,
            });
        }
    });
    ns.on("echo", |_, payload, ack| async move {
        if let Some(ack) = ack {
            ack.send_args(payload.args());
        }
    });
    let t = tx.clone();
    ns.on("record", move |socket, payload, ack| {
        let t = t.clone();
        async move {
            let _ = t.send(Ev::Event {
                id: socket.id().to_owned(),
                payload,
            });
            ok(ack);
        }
    });
    ns.on("join", |socket, payload, ack| async move {
        socket.join([first_string(&payload)]).await;
        ok(ack);
    });
    ns.on("leave", |socket, payload, ack| async move {
        socket.leave([first_string(&payload)]).await;
        ok(ack);
    });
    ns.on("rooms", |socket, _, ack| async move {
        let rooms = socket.rooms().await;
        if let Some(ack) = ack {
            ack.send(&rooms).unwrap();
        }
    });
    ns.on("say", |socket, payload, ack| async move {
        let (room, text): (String, String) = payload.decode().expect("say(room, text)");
        socket.to(room).emit("said", &text).unwrap();
        ok(ack);
    });
    ns.on("bye", |socket, _, _| async move {
        socket.disconnect();
    });
    ns.on("panic", |_, _, _| async move {
        panic!("a handler with a bug");
    });
    ns
}

/// `authenticate(user)`: calls `socket.authenticate(user)` and acks with
/// its result.
pub fn with_authenticate(ns: &mut Namespace) {
    ns.on("authenticate", |socket, payload, ack| async move {
        let user: String = payload.decode().unwrap();
        let accepted = socket.authenticate(user).await;
        if let Some(ack) = ack {
            ack.send(&accepted).unwrap();
        }
    });
}

/// A middleware that takes the socket's user from `auth.user`.
pub fn user_from_auth(ns: &mut Namespace) {
    ns.middleware(|mut req| async move {
        req.user_id = req
            .auth
            .get("user")
            .and_then(Value::as_str)
            .map(str::to_owned);
        Ok(req)
    });
}

/// An engine whose `/` (and the given extra namespaces) are [`recording`].
pub fn engine_with(config: EngineConfig, extra: &[&str]) -> (Engine, Evs) {
    let (tx, evs) = ev_channel();
    let mut namespaces = Namespaces::default();
    namespaces.insert("/", recording(tx.clone()));
    for nsp in extra {
        namespaces.insert(*nsp, recording(tx.clone()));
    }
    (Engine::start(config, namespaces), evs)
}

pub fn engine() -> (Engine, Evs) {
    engine_with(EngineConfig::default(), &[])
}

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}
