//! One actor per Engine.IO connection.
//!
//! The session owns everything that belongs to one client connection: its
//! transport (long-polling queue or WebSocket sink) and the upgrade between
//! them, the heartbeat, the Socket.IO decoder, the sockets connected per
//! namespace and their pending acks. Transports feed it packets; rooms and
//! handlers feed it encoded frames to write.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use actix::fut::future::LocalBoxActorFuture;
use actix::prelude::*;
use bytes::Bytes;
use tokio::sync::oneshot;
use tracing::{debug, info, warn};

use crate::CONNECTIONS;
use crate::ack::{AckError, AckReply, Ask};
use crate::adapter::{Control, Deliver, SocketHandle};
use crate::engine::Engine;
use crate::handshake::{ConnectRequest, Handshake};
use crate::held::HeldEvents;
use crate::namespace::Namespace;
use crate::outbound::{self, OverBudget, WsSink};
use crate::payload::Payload;
use crate::protocol::engineio::{Frame, Frames, OpenPacket, Packet, Sid, encode_payload};
use crate::protocol::socketio::{self, Args, DecodeError, Decoder, Incoming};
use crate::rate::{RateLimit, Verdict};
use crate::socket::{Ack, DisconnectReason, Socket, SocketParts};
use crate::stats::{Refusal, Stats};

/// What an event over the rate limit is answered.
const RATE_LIMITED: &str = "rate limited";

/// The transport a packet came by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    Polling,
    WebSocket,
}

/// What a session asks of a WebSocket transport actor.
#[derive(Message, Clone)]
#[rtype(result = "()")]
pub enum WsOut {
    /// Write these frames, in order.
    Frames(Frames),
    /// Close the WebSocket.
    Close,
}

/// How a new session's first transport reaches the client.
pub enum NewTransport {
    Polling,
    WebSocket(WsSink),
}

enum Transport {
    Polling(PollQueue),
    WebSocket(WsSink),
}

/// Frames waiting for the client's next GET, and that GET if it is parked.
#[derive(Default)]
struct PollQueue {
    frames: VecDeque<Frame>,
    /// What `frames` cost against `max_buffered_bytes`.
    bytes: usize,
    waiting: Option<oneshot::Sender<Bytes>>,
}

impl PollQueue {
    /// Queues `frames`, within `limit` bytes queued.
    fn push(&mut self, frames: &Frames, limit: usize) -> Result<(), OverBudget> {
        let queued = self.bytes + outbound::cost(frames.iter());
        if queued > limit {
            return Err(OverBudget { queued, limit });
        }
        self.bytes = queued;
        self.frames.extend(frames.iter().cloned());
        Ok(())
    }

    /// Takes everything queued.
    fn take(&mut self) -> Vec<Frame> {
        self.bytes = 0;
        self.frames.drain(..).collect()
    }

    /// Answers a parked GET with everything queued.
    fn flush(&mut self) {
        if !self.frames.is_empty()
            && let Some(waiting) = self.waiting.take()
        {
            let _ = waiting.send(encode_payload(self.take().iter()));
        }
    }

    /// Ends a parked GET with a single control packet.
    fn release(&mut self, packet: Packet) {
        if let Some(waiting) = self.waiting.take() {
            let _ = waiting.send(encode_payload([&Frame::control(packet)]));
        }
    }
}

struct SocketState {
    socket: Socket,
    ns: Arc<Namespace>,
    acks: HashMap<i64, AckReply>,
    /// Disconnects the socket if it has not authenticated in time.
    auth_deadline: Option<SpawnHandle>,
    /// The namespace's periodic event to this socket.
    periodic: Option<SpawnHandle>,
}

/// One Engine.IO connection.
pub struct Session {
    sid: Sid,
    engine: Engine,
    handshake: Arc<Handshake>,
    transport: Transport,
    /// A WebSocket that is probing to replace long-polling.
    probe: Option<WsSink>,
    /// The probe answered `3probe`: the client is pausing polling, so every
    /// GET is released at once (Node's noop check) until `5` arrives.
    upgrading: bool,
    decoder: Decoder,
    sockets: HashMap<String, SocketState>,
    /// Namespaces whose CONNECT is still in progress, with the events the
    /// client sent meanwhile.
    connecting: HashMap<String, HeldEvents>,
    pong_deadline: Option<SpawnHandle>,
    /// Closes the connection if no namespace CONNECT succeeds in time;
    /// cancelled by the first one (an actor polls its live timers on every
    /// wake-up, so dead ones are not left waiting).
    connect_deadline: Option<SpawnHandle>,
    /// The client's event rate limit.
    rate: RateLimit,
    closed: bool,
}

impl Session {
    pub(crate) fn new(
        sid: Sid,
        engine: Engine,
        handshake: Handshake,
        transport: NewTransport,
    ) -> Session {
        let transport = match transport {
            NewTransport::Polling => Transport::Polling(PollQueue::default()),
            NewTransport::WebSocket(sink) => Transport::WebSocket(sink),
        };
        let decoder = Decoder::new(engine.config().max_payload);
        let rate = RateLimit::new(engine.config().event_rate, Instant::now());
        Session {
            sid,
            engine,
            handshake: Arc::new(handshake),
            transport,
            probe: None,
            upgrading: false,
            decoder,
            sockets: HashMap::new(),
            connecting: HashMap::new(),
            pong_deadline: None,
            connect_deadline: None,
            rate,
            closed: false,
        }
    }

    fn write(&mut self, frames: Frames, ctx: &mut Context<Self>) {
        let limit = self.engine.config().max_buffered_bytes;
        let written = match &mut self.transport {
            Transport::WebSocket(sink) => sink.write(frames, limit),
            Transport::Polling(queue) => queue.push(&frames, limit).map(|()| queue.flush()),
        };
        if let Err(over) = written {
            self.overflow(over, ctx);
        }
    }

    /// The client is not reading what it is sent: drop what waits for it
    /// and cut the connection at once, without a close packet behind the
    /// queue (its reconnect takes over).
    fn overflow(&mut self, over: OverBudget, ctx: &mut Context<Self>) {
        Stats::bump(&self.engine.stats().outbound_overflows);
        warn!(sid = %self.sid.as_str(), %over, "client not reading, cutting the connection");
        match &mut self.transport {
            Transport::WebSocket(sink) => sink.outbound.abort(),
            Transport::Polling(queue) => drop(queue.take()),
        }
        self.close(DisconnectReason::TransportError, ctx);
    }

    /// A protocol violation: counted, reported at debug level (the session
    /// logs its close once), and the connection closed with `reason`.
    fn refuse(&mut self, reason: DisconnectReason, ctx: &mut Context<Self>) {
        Stats::bump(&self.engine.stats().malformed_packets);
        self.close(reason, ctx);
    }

    /// The open-connections gauge of the current transport.
    fn connections_gauge(&self) -> &std::sync::atomic::AtomicI64 {
        let stats = self.engine.stats();
        match self.transport {
            Transport::Polling(_) => &stats.connections_polling,
            Transport::WebSocket(_) => &stats.connections_websocket,
        }
    }

    fn write_control(&mut self, packet: Packet, ctx: &mut Context<Self>) {
        self.write(Frames::from([Frame::control(packet)]), ctx);
    }

    fn open_packet(&self) -> Packet {
        let config = self.engine.config();
        let mut open = OpenPacket {
            sid: self.sid,
            ping_interval: config.ping_interval,
            ping_timeout: config.ping_timeout,
            max_payload: config.max_payload as u64,
            ..OpenPacket::default()
        };
        if matches!(self.transport, Transport::WebSocket(_)) {
            open.upgrades.clear();
        }
        Packet::Open(open)
    }

    /// Pings after `pingInterval`; a pong must follow within `pingTimeout`.
    fn schedule_ping(&mut self, ctx: &mut Context<Self>) {
        ctx.run_later(self.engine.config().ping_interval, |act, ctx| {
            act.write_control(Packet::Ping, ctx);
            let timeout = act.engine.config().ping_timeout;
            act.pong_deadline = Some(ctx.run_later(timeout, |act, ctx| {
                debug!(sid = %act.sid.as_str(), "ping timeout");
                act.close(DisconnectReason::PingTimeout, ctx);
            }));
        });
    }

    fn on_packet(&mut self, packet: Packet, via: TransportKind, ctx: &mut Context<Self>) {
        tracing::trace!(sid = %self.sid.as_str(), ?via, ?packet, "inbound");
        let current = match self.transport {
            Transport::Polling(_) => TransportKind::Polling,
            Transport::WebSocket(_) => TransportKind::WebSocket,
        };
        if via != current {
            if via == TransportKind::WebSocket {
                self.on_probe_packet(packet);
            }
            // Anything still arriving on the replaced polling transport is
            // ignored, as in the Node server.
            return;
        }
        match packet {
            Packet::Pong => {
                if let Some(deadline) = self.pong_deadline.take() {
                    ctx.cancel_future(deadline);
                    self.schedule_ping(ctx);
                }
            }
            Packet::Close => {
                // The client is leaving: a parked GET ends with a noop.
                if let Transport::Polling(queue) = &mut self.transport {
                    queue.release(Packet::Noop);
                }
                self.close(DisconnectReason::TransportClose, ctx);
            }
            Packet::Message(text) => {
                let decoded = self.decoder.text(text);
                self.on_decoded(decoded, ctx);
            }
            Packet::Binary(data) => {
                let decoded = self.decoder.binary(data);
                self.on_decoded(decoded, ctx);
            }
            Packet::Noop => {}
            // In Engine.IO v4 only the server pings.
            Packet::Ping => {
                debug!(sid = %self.sid.as_str(), "client sent a ping, closing");
                self.refuse(DisconnectReason::TransportError, ctx);
            }
            other => {
                debug!(sid = %self.sid.as_str(), ?other, "unexpected Engine.IO packet, closing");
                self.refuse(DisconnectReason::ParseError, ctx);
            }
        }
    }

    /// The WebSocket upgrade: `2probe` → `3probe` (and a noop to free the
    /// parked GET), then `5` makes the WebSocket the transport.
    fn on_probe_packet(&mut self, packet: Packet) {
        let (Some(probe), Transport::Polling(queue)) = (&self.probe, &mut self.transport) else {
            return;
        };
        let limit = self.engine.config().max_buffered_bytes;
        match packet {
            Packet::PingUpgrade => {
                let pong = Frames::from([Frame::control(Packet::PongUpgrade)]);
                // Within budget: the probe's queue is empty.
                let _ = probe.write(pong, limit);
                queue.release(Packet::Noop);
                self.upgrading = true;
            }
            Packet::Upgrade => {
                queue.release(Packet::Noop);
                let pending: Frames = queue.take().into();
                let sink = self.probe.take().expect("probe checked above");
                // Within budget: the polling queue was.
                if !pending.is_empty() {
                    let _ = sink.write(pending, limit);
                }
                self.transport = Transport::WebSocket(sink);
                self.upgrading = false;
                self.handshake.upgraded.store(true, Ordering::Relaxed);
                let stats = self.engine.stats();
                Stats::bump(&stats.upgrades);
                Stats::shift(&stats.connections_polling, -1);
                Stats::shift(&stats.connections_websocket, 1);
                debug!(sid = %self.sid.as_str(), "upgraded to websocket");
            }
            other => {
                // Only the probe and the upgrade belong on a probing socket.
                debug!(sid = %self.sid.as_str(), ?other, "closing a probe that sent another packet");
                if let Some(probe) = self.probe.take() {
                    probe.close();
                }
                self.upgrading = false;
            }
        }
    }

    fn on_decoded(
        &mut self,
        decoded: Result<Option<Incoming>, DecodeError>,
        ctx: &mut Context<Self>,
    ) {
        match decoded {
            Ok(Some(incoming)) => self.on_socketio(incoming, ctx),
            Ok(None) => {}
            Err(err) => {
                debug!(sid = %self.sid.as_str(), %err, "malformed Socket.IO packet, closing");
                self.refuse(DisconnectReason::ParseError, ctx);
            }
        }
    }

    fn on_socketio(&mut self, incoming: Incoming, ctx: &mut Context<Self>) {
        match incoming {
            Incoming::Connect { nsp, auth } => self.connect(nsp, auth, ctx),
            Incoming::Disconnect { nsp } => {
                self.remove_socket(&nsp, DisconnectReason::ClientNamespaceDisconnect, ctx)
            }
            Incoming::Event {
                nsp,
                name,
                args,
                ack,
            } => {
                Stats::bump(&self.engine.stats().events_received);
                self.on_event(nsp, Payload::new(name, args), ack, ctx)
            }
            Incoming::Ack { nsp, id, args } => self.on_ack(&nsp, id, args),
        }
    }

    fn connect(&mut self, nsp: String, auth: serde_json::Value, ctx: &mut Context<Self>) {
        let Some(ns) = self.engine.namespaces().get(&nsp).cloned() else {
            self.engine.stats().refuse(Refusal::ConnectRefused);
            info!(target: CONNECTIONS, sid = %self.sid.as_str(), nsp, "CONNECT refused: unknown namespace");
            self.write(
                socketio::connect_error_frames(&nsp, "Invalid namespace", None),
                ctx,
            );
            return;
        };
        if self.sockets.contains_key(&nsp) || self.connecting.contains_key(&nsp) {
            debug!(sid = %self.sid.as_str(), nsp, "second CONNECT to a namespace, closing");
            self.refuse(DisconnectReason::ParseError, ctx);
            return;
        }
        let held = HeldEvents::new(self.engine.config().max_payload);
        self.connecting.insert(nsp.clone(), held);
        let request = ConnectRequest {
            nsp: nsp.clone(),
            auth,
            handshake: self.handshake.clone(),
            user_id: None,
            data: serde_json::Map::new(),
        };
        let admitted = ns.admit(request);
        ctx.spawn(admitted.into_actor(self).then(move |result, act, ctx| {
            match result {
                _ if act.closed => Box::pin(fut::ready(())) as LocalBoxActorFuture<Self, ()>,
                Ok(request) => act.accept(ns, request, ctx),
                Err(refusal) => {
                    act.engine.stats().refuse(Refusal::ConnectRefused);
                    let dropped = act.connecting.remove(&nsp).map_or(0, |held| held.len());
                    info!(target: CONNECTIONS, sid = %act.sid.as_str(), nsp, reason = %refusal, dropped, "CONNECT refused");
                    act.write(
                        socketio::connect_error_frames(
                            &nsp,
                            &refusal.message,
                            refusal.data.as_ref(),
                        ),
                        ctx,
                    );
                    Box::pin(fut::ready(()))
                }
            }
        }));
    }

    /// Creates the socket, registers it, then answers CONNECT, runs the
    /// connection handler and handles the events held meanwhile.
    fn accept(
        &mut self,
        ns: Arc<Namespace>,
        req: ConnectRequest,
        ctx: &mut Context<Self>,
    ) -> LocalBoxActorFuture<Self, ()> {
        let id = Sid::new();
        let socket = Socket::new(SocketParts {
            id,
            nsp: req.nsp.clone(),
            session: ctx.address(),
            io: self.engine.io(),
            handshake: req.handshake,
            auth: req.auth,
            user_id: req.user_id.clone(),
            data: req.data,
            ack_timeout: self.engine.config().ack_timeout,
        });
        let nsp = req.nsp;
        let state = SocketState {
            socket: socket.clone(),
            ns: ns.clone(),
            acks: HashMap::new(),
            auth_deadline: None,
            periodic: None,
        };
        self.sockets.insert(nsp.clone(), state);
        let handle = SocketHandle {
            deliver: ctx.address().recipient(),
            control: ctx.address().recipient(),
        };
        self.engine
            .adapter()
            .add_socket(&nsp, id, handle, req.user_id);
        self.answer_connect(ns, socket, ctx);
        Box::pin(fut::ready(()))
    }

    /// Answers CONNECT for a registered socket, runs the connection handler
    /// and handles the events held meanwhile.
    fn answer_connect(&mut self, ns: Arc<Namespace>, socket: Socket, ctx: &mut Context<Self>) {
        let (nsp, id) = (socket.nsp().to_owned(), socket.sid());
        if self.sockets.get(&nsp).is_some_and(|s| s.socket.sid() == id) {
            self.write(socketio::connect_frames(&nsp, id.as_str()), ctx);
            if let Some(deadline) = self.connect_deadline.take() {
                ctx.cancel_future(deadline);
            }
            // Writing may have closed the session (a full queue).
            if self.sockets.get(&nsp).is_some_and(|s| s.socket.sid() == id) {
                info!(
                    target: CONNECTIONS,
                    sid = %self.sid.as_str(),
                    socket = %id.as_str(),
                    nsp,
                    user = socket.user_id().unwrap_or("-"),
                    "socket connected"
                );
                self.start_auth_clock(&ns, &socket, ctx);
                ns.connected(socket);
            }
        }
        if let Some(held) = self.connecting.remove(&nsp) {
            self.replay(&nsp, id, held, ctx);
        }
    }

    /// A socket without a user in a deferred-authentication namespace gets
    /// its deadline; any other socket starts its periodic event.
    fn start_auth_clock(&mut self, ns: &Namespace, socket: &Socket, ctx: &mut Context<Self>) {
        let (nsp, id) = (socket.nsp().to_owned(), socket.sid());
        match &ns.deferred {
            Some(deferred) if socket.user_id().is_none() => {
                let deadline = ctx.run_later(deferred.timeout, move |act, ctx| {
                    act.auth_expired(&nsp, id, ctx)
                });
                if let Some(state) = self.sockets.get_mut(socket.nsp()) {
                    state.auth_deadline = Some(deadline);
                }
            }
            _ => self.start_periodic(&nsp, ctx),
        }
    }

    /// A deferred-authentication socket ran out of time.
    fn auth_expired(&mut self, nsp: &str, id: Sid, ctx: &mut Context<Self>) {
        let pending = self
            .sockets
            .get(nsp)
            .is_some_and(|s| s.socket.sid() == id && s.socket.user_id().is_none());
        if pending {
            info!(target: CONNECTIONS, sid = %self.sid.as_str(), nsp, "not authenticated in time");
            self.write(socketio::disconnect_frames(nsp), ctx);
            self.remove_socket(nsp, DisconnectReason::ServerNamespaceDisconnect, ctx);
        }
    }

    fn start_periodic(&mut self, nsp: &str, ctx: &mut Context<Self>) {
        let Some(state) = self.sockets.get_mut(nsp) else {
            return;
        };
        let Some(periodic) = state.ns.periodic.clone() else {
            return;
        };
        if let Some(previous) = state.periodic.take() {
            ctx.cancel_future(previous);
        }
        let owned = nsp.to_owned();
        // One at once (Ignis sends an initial ping), then every interval.
        let tick = move |act: &mut Session, ctx: &mut Context<Session>| match Args::new(&(periodic
            .payload)(
        )) {
            Ok(args) => act.write(args.event_frames(&owned, &periodic.event, None), ctx),
            Err(err) => warn!(%err, "periodic event payload cannot be encoded"),
        };
        let interval = periodic.interval;
        tick(self, ctx);
        let handle = ctx.run_interval(interval, tick);
        if let Some(state) = self.sockets.get_mut(nsp) {
            state.periodic = Some(handle);
        }
    }

    /// Handles the events held during a CONNECT, in order, for as long as
    /// the socket they were sent to is connected.
    fn replay(&mut self, nsp: &str, id: Sid, held: HeldEvents, ctx: &mut Context<Self>) {
        let mut events = held.into_iter();
        for (payload, ack) in events.by_ref() {
            if self.closed || self.sockets.get(nsp).is_none_or(|s| s.socket.sid() != id) {
                break;
            }
            self.on_event(nsp.to_owned(), payload, ack, ctx);
        }
        let dropped = events.len();
        if dropped > 0 {
            debug!(sid = %self.sid.as_str(), nsp, dropped, "socket gone, dropping held events");
        }
    }

    fn on_event(
        &mut self,
        nsp: String,
        payload: Payload,
        ack: Option<i64>,
        ctx: &mut Context<Self>,
    ) {
        // The CONNECT is still in progress: the client jumped the gun. Held
        // events meet the rate limit when they are replayed, once.
        if let Some(held) = self.connecting.get_mut(&nsp) {
            if let Err(err) = held.hold(payload, ack) {
                debug!(sid = %self.sid.as_str(), nsp, %err, "too much sent before the CONNECT answer, closing");
                self.refuse(DisconnectReason::ParseError, ctx);
            }
            return;
        }
        if !self.within_rate(&nsp, &payload, ack, ctx) {
            return;
        }
        let Some(state) = self.sockets.get(&nsp) else {
            debug!(sid = %self.sid.as_str(), nsp, "event for a namespace not connected, closing");
            self.refuse(DisconnectReason::ParseError, ctx);
            return;
        };
        let event = payload.event().to_owned();
        let reply = ack.map(|id| Ack::new(ctx.address(), nsp.clone(), id));
        let refusal = if state.socket.user_id().is_none() && !state.ns.admits_before_auth(&event) {
            Err("unauthenticated".to_owned())
        } else {
            state.ns.check(&state.socket, &payload)
        };
        if let Err(message) = refusal {
            debug!(sid = %self.sid.as_str(), nsp, event, message, "event refused");
            if let Some(reply) = reply {
                let _ = reply.send(&serde_json::json!({ "error": message }));
            }
            return;
        }
        if let Err(reply) = state.ns.dispatch(state.socket.clone(), payload, reply) {
            debug!(sid = %self.sid.as_str(), nsp, event, "no handler for event");
            // A client that asked for an answer gets a clear one.
            if let Some(reply) = reply {
                let _ =
                    reply.send(&serde_json::json!({ "error": format!("unknown event: {event}") }));
            }
        }
    }

    /// Takes a token for one event. Over the rate, the event is refused
    /// (`{error: "rate limited"}` to its ack, or an `exception` event);
    /// a client that keeps at it is disconnected. Logged once for each.
    fn within_rate(
        &mut self,
        nsp: &str,
        payload: &Payload,
        ack: Option<i64>,
        ctx: &mut Context<Self>,
    ) -> bool {
        let stats = self.engine.stats();
        match self.rate.check(Instant::now()) {
            Verdict::Allowed => return true,
            Verdict::Refused { first } => {
                Stats::bump(&stats.rate_limited_events);
                if first {
                    warn!(sid = %self.sid.as_str(), "client over the event rate, refusing events");
                }
            }
            Verdict::Disconnect => {
                Stats::bump(&stats.rate_limited_events);
                Stats::bump(&stats.rate_limited_connections);
                warn!(sid = %self.sid.as_str(), "client kept over the event rate, disconnecting");
                // A server disconnect: the stock client does not reconnect.
                let namespaces: Vec<String> = self.sockets.keys().cloned().collect();
                for nsp in namespaces {
                    self.write(socketio::disconnect_frames(&nsp), ctx);
                }
                self.close(DisconnectReason::ForcedClose, ctx);
                return false;
            }
        }
        if self.sockets.contains_key(nsp) {
            let refusal = serde_json::json!({
                "status": "error",
                "message": RATE_LIMITED,
                "event": payload.event(),
            });
            match ack {
                Some(id) => {
                    let _ = Ack::new(ctx.address(), nsp.to_owned(), id)
                        .send(&serde_json::json!({ "error": RATE_LIMITED }));
                }
                None => {
                    if let Ok(args) = Args::new(&refusal) {
                        self.write(args.event_frames(nsp, "exception", None), ctx);
                    }
                }
            }
        }
        false
    }

    fn on_ack(&mut self, nsp: &str, id: i64, args: Args) {
        match self.sockets.get_mut(nsp).and_then(|s| s.acks.remove(&id)) {
            Some(reply) => {
                Stats::shift(&self.engine.stats().acks_pending, -1);
                let _ = reply.send(Ok(Payload::new(String::new(), args)));
            }
            None => debug!(sid = %self.sid.as_str(), nsp, id, "ack with unknown id ignored"),
        }
    }

    fn remove_socket(&mut self, nsp: &str, reason: DisconnectReason, ctx: &mut Context<Self>) {
        let Some(state) = self.sockets.remove(nsp) else {
            return;
        };
        for timer in [state.auth_deadline, state.periodic].into_iter().flatten() {
            ctx.cancel_future(timer);
        }
        self.engine.adapter().remove_socket(nsp, state.socket.sid());
        Stats::shift(
            &self.engine.stats().acks_pending,
            -(state.acks.len() as i64),
        );
        for (_, reply) in state.acks {
            let _ = reply.send(Err(AckError::Disconnected));
        }
        state.ns.disconnected(state.socket, reason);
    }

    /// Ends the connection: every socket leaves with `reason`, the
    /// transport closes, the engine forgets the session.
    fn close(&mut self, reason: DisconnectReason, ctx: &mut Context<Self>) {
        if self.closed {
            return;
        }
        self.closed = true;
        Stats::shift(self.connections_gauge(), -1);
        info!(target: CONNECTIONS, sid = %self.sid.as_str(), %reason, "connection closed");
        let namespaces: Vec<String> = self.sockets.keys().cloned().collect();
        for nsp in namespaces {
            self.remove_socket(&nsp, reason, ctx);
        }
        if let Some(probe) = self.probe.take() {
            probe.close();
        }
        match &mut self.transport {
            Transport::WebSocket(sink) => sink.close(),
            Transport::Polling(queue) if queue.waiting.is_some() => queue.release(Packet::Close),
            // A client that stopped answering pings is forgotten at once, as
            // in the Node server: its next GET is told the sid is unknown.
            Transport::Polling(queue)
                if ctx.state().alive()
                    && !matches!(
                        reason,
                        DisconnectReason::TransportClose | DisconnectReason::PingTimeout
                    ) =>
            {
                // No GET to carry the close packet: keep it for the next one,
                // as the Node server does, for at most a ping timeout.
                queue.take();
                queue.frames.push_back(Frame::control(Packet::Close));
                ctx.run_later(self.engine.config().ping_timeout, |_, ctx| ctx.stop());
                return;
            }
            Transport::Polling(_) => {}
        }
        ctx.stop();
    }
}

impl Actor for Session {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        Stats::shift(self.connections_gauge(), 1);
        info!(
            target: CONNECTIONS,
            sid = %self.sid.as_str(),
            transport = match self.transport {
                Transport::Polling(_) => "polling",
                Transport::WebSocket(_) => "websocket",
            },
            address = %self.handshake.address.map_or("-".into(), |a| a.to_string()),
            "connection opened"
        );
        let open = self.open_packet();
        self.write_control(open, ctx);
        self.schedule_ping(ctx);
        self.connect_deadline = Some(ctx.run_later(
            self.engine.config().connect_timeout,
            |act, ctx| {
                // As in Node: a CONNECT still in the middlewares does not count.
                act.connect_deadline = None;
                debug!(sid = %act.sid.as_str(), "no namespace CONNECT in time");
                act.close(DisconnectReason::ForcedClose, ctx);
            },
        ));
    }

    fn stopped(&mut self, ctx: &mut Context<Self>) {
        self.close(DisconnectReason::TransportClose, ctx);
        self.engine.forget(&self.sid);
    }
}

impl Handler<Deliver> for Session {
    type Result = ();
    fn handle(&mut self, msg: Deliver, ctx: &mut Context<Self>) {
        if !self.closed {
            Stats::bump(&self.engine.stats().events_sent);
            self.write(msg.0, ctx);
        }
    }
}

/// Packets a transport received. From long-polling, refused once the
/// session has moved to WebSocket.
#[derive(Message)]
#[rtype(result = "Result<(), PollError>")]
pub struct Inbound {
    pub packets: Packets,
    pub via: TransportKind,
}

/// What one transport read carried: a WebSocket message is one packet (no
/// `Vec` for it), a long-polling POST a batch.
pub enum Packets {
    One(Packet),
    Batch(Vec<Packet>),
}

impl IntoIterator for Packets {
    type Item = Packet;
    type IntoIter = std::iter::Chain<std::option::IntoIter<Packet>, std::vec::IntoIter<Packet>>;
    fn into_iter(self) -> Self::IntoIter {
        let (one, batch) = match self {
            Packets::One(packet) => (Some(packet), Vec::new()),
            Packets::Batch(batch) => (None, batch),
        };
        one.into_iter().chain(batch)
    }
}

impl Handler<Inbound> for Session {
    type Result = Result<(), PollError>;
    fn handle(&mut self, msg: Inbound, ctx: &mut Context<Self>) -> Self::Result {
        if msg.via == TransportKind::Polling && matches!(self.transport, Transport::WebSocket(_)) {
            return Err(PollError::NotPolling);
        }
        for packet in msg.packets {
            if self.closed {
                break;
            }
            self.on_packet(packet, msg.via, ctx);
        }
        Ok(())
    }
}

/// Why a long-polling GET was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PollError {
    #[error("a GET is already pending on this session")]
    Overlap,
    #[error("the session no longer uses long-polling")]
    NotPolling,
}

/// A long-polling GET: answered at once with what is queued, or parked
/// until something is written.
#[derive(Message)]
#[rtype(result = "Result<Bytes, PollError>")]
pub struct Poll;

impl Handler<Poll> for Session {
    type Result = ResponseFuture<Result<Bytes, PollError>>;
    fn handle(&mut self, _: Poll, ctx: &mut Context<Self>) -> Self::Result {
        let Transport::Polling(queue) = &mut self.transport else {
            return Box::pin(async { Err(PollError::NotPolling) });
        };
        if queue.waiting.is_some() {
            debug!(sid = %self.sid.as_str(), "overlapping GET, closing");
            self.refuse(DisconnectReason::TransportError, ctx);
            return Box::pin(async { Err(PollError::Overlap) });
        }
        if self.closed {
            // The close packet kept for this GET: deliver it and go.
            let payload = encode_payload(queue.take().iter());
            ctx.stop();
            return Box::pin(async move { Ok(payload) });
        }
        let (tx, rx) = oneshot::channel();
        queue.waiting = Some(tx);
        queue.flush();
        if self.upgrading {
            queue.release(Packet::Noop);
        }
        // The session is gone if the sender drops: tell the client to close.
        Box::pin(async move {
            Ok(rx
                .await
                .unwrap_or_else(|_| encode_payload([&Frame::control(Packet::Close)])))
        })
    }
}

/// A WebSocket opened with this session's sid, to probe for an upgrade.
#[derive(Message)]
#[rtype(result = "Result<(), UpgradeError>")]
pub struct AttachProbe(pub WsSink);

#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("session is already on websocket or upgrading")]
pub struct UpgradeError;

impl Handler<AttachProbe> for Session {
    type Result = Result<(), UpgradeError>;
    fn handle(&mut self, msg: AttachProbe, _: &mut Context<Self>) -> Self::Result {
        if self.closed || self.probe.is_some() || matches!(self.transport, Transport::WebSocket(_))
        {
            return Err(UpgradeError);
        }
        self.probe = Some(msg.0);
        Ok(())
    }
}

/// A transport's connection ended (WebSocket closed or errored).
#[derive(Message)]
#[rtype(result = "()")]
pub struct TransportClosed(pub TransportKind);

impl Handler<TransportClosed> for Session {
    type Result = ();
    fn handle(&mut self, msg: TransportClosed, ctx: &mut Context<Self>) {
        debug!(sid = %self.sid.as_str(), kind = ?msg.0, "transport connection ended");
        match (&self.transport, msg.0) {
            (Transport::WebSocket(_), TransportKind::WebSocket) => {
                self.close(DisconnectReason::TransportClose, ctx)
            }
            (Transport::Polling(_), TransportKind::WebSocket) => {
                self.probe = None;
                self.upgrading = false;
            }
            (_, TransportKind::Polling) => {}
        }
    }
}

/// Sends an event that awaits the client's ack (one socket's, or a
/// broadcast's: the adapter asks through [`Control::Ask`]).
impl Handler<Ask> for Session {
    type Result = ();
    fn handle(&mut self, msg: Ask, ctx: &mut Context<Self>) {
        let Some(state) = self.sockets.get_mut(&msg.nsp) else {
            let _ = msg.reply.send(Err(AckError::Disconnected));
            return;
        };
        let id = msg.id;
        state.acks.insert(id, msg.reply);
        let stats = self.engine.stats();
        Stats::bump(&stats.events_sent);
        Stats::shift(&stats.acks_pending, 1);
        let socket = state.socket.sid();
        self.write(msg.frames, ctx);
        let (nsp, timeout) = (msg.nsp, msg.timeout);
        ctx.run_later(timeout, move |act, _| {
            let state = act
                .sockets
                .get_mut(&nsp)
                .filter(|s| s.socket.sid() == socket);
            if let Some(reply) = state.and_then(|s| s.acks.remove(&id)) {
                let stats = act.engine.stats();
                Stats::shift(&stats.acks_pending, -1);
                Stats::bump(&stats.acks_timed_out);
                let _ = reply.send(Err(AckError::Timeout(timeout)));
            }
        });
    }
}

/// The adapter disconnects a socket or closes the connection.
impl Handler<Control> for Session {
    type Result = ();
    fn handle(&mut self, msg: Control, ctx: &mut Context<Self>) {
        match msg {
            Control::Disconnect { nsp } if self.sockets.contains_key(&nsp) => {
                self.write(socketio::disconnect_frames(&nsp), ctx);
                self.remove_socket(&nsp, DisconnectReason::ServerNamespaceDisconnect, ctx);
            }
            Control::Disconnect { .. } => {}
            Control::Close => self.close(DisconnectReason::ForcedClose, ctx),
            Control::Ask(ask) => <Self as Handler<Ask>>::handle(self, ask, ctx),
        }
    }
}

/// The server closes the whole connection.
#[derive(Message)]
#[rtype(result = "()")]
pub struct CloseSession(pub DisconnectReason);

impl Handler<CloseSession> for Session {
    type Result = ();
    fn handle(&mut self, msg: CloseSession, ctx: &mut Context<Self>) {
        self.close(msg.0, ctx);
    }
}

/// A socket of this session has authenticated (deferred authentication).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Authenticated {
    pub nsp: String,
    /// The socket that authenticated: a later socket on the same
    /// namespace is someone else.
    pub socket: Sid,
    pub user_id: String,
}

impl Handler<Authenticated> for Session {
    type Result = ();
    fn handle(&mut self, msg: Authenticated, ctx: &mut Context<Self>) {
        let Some(state) = self
            .sockets
            .get_mut(&msg.nsp)
            .filter(|s| s.socket.sid() == msg.socket)
        else {
            return;
        };
        if let Some(deadline) = state.auth_deadline.take() {
            ctx.cancel_future(deadline);
        }
        let socket = state.socket.sid();
        info!(
            target: CONNECTIONS,
            sid = %self.sid.as_str(),
            socket = %socket.as_str(),
            nsp = msg.nsp,
            user = msg.user_id,
            "socket authenticated"
        );
        self.start_periodic(&msg.nsp, ctx);
        self.engine
            .adapter()
            .set_user(&msg.nsp, socket, &msg.user_id);
    }
}
