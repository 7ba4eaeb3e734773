//! The Socket.IO half of the session: the sockets connected per namespace,
//! CONNECT and its middlewares, events and their acks, the client's rate
//! limit, and the timers a socket's policies arm.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use actix::fut::future::LocalBoxActorFuture;
use actix::prelude::*;
use tracing::{debug, info, warn};

use super::Session;
use super::recovery::Tracking;
use crate::CONNECTIONS;
use crate::ack::{AckError, AckReply, Ask};
use crate::adapter::recovery::Resume;
use crate::disconnect::DisconnectReason;
use crate::handshake::ConnectRequest;
use crate::held::HeldEvents;
use crate::link::Linked;
use crate::namespace::Namespace;
use crate::payload::Payload;
use crate::protocol::engineio::{Frames, Sid};
use crate::protocol::socketio::{self, Args, DecodeError, Incoming};
use crate::rate::Verdict;
use crate::requests::{Authenticated, SessionRequest, SocketTimer, TimerAction};
use crate::socket::{Ack, Socket, SocketParts};
use crate::stats::{Refusal, Stats};

/// What an event over the rate limit is answered.
const RATE_LIMITED: &str = "rate limited";

/// One namespace socket of the session.
pub(super) struct SocketState {
    pub(super) socket: Socket,
    pub(super) ns: Arc<Namespace>,
    acks: HashMap<i64, AckReply>,
    /// The timers its policies armed, by name ([`SocketTimer`]).
    timers: HashMap<&'static str, SpawnHandle>,
    /// Its private id and last offset, with connection state recovery on.
    pub(super) recovery: Option<Tracking>,
}

impl Session {
    pub(super) fn on_decoded(
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
        if self.sockets.contains_key(&nsp) || self.connecting.iter().any(|(n, _)| *n == nsp) {
            debug!(sid = %self.sid.as_str(), nsp, "second CONNECT to a namespace, closing");
            self.refuse(DisconnectReason::ParseError, ctx);
            return;
        }
        let held = HeldEvents::new(self.engine.config().max_payload);
        self.connecting.push((nsp.clone(), held));
        let resume = self.resume_of(&auth);
        let request = ConnectRequest {
            nsp: nsp.clone(),
            auth,
            handshake: self.handshake.clone(),
            user_id: None,
            data: serde_json::Map::new(),
        };
        let Err(request) = self.resume_before_middlewares(&ns, request, resume.as_ref(), ctx)
        else {
            return;
        };
        self.admit(ns, request, resume, ctx);
    }

    /// Runs the namespace's middlewares, then accepts or refuses.
    pub(super) fn admit(
        &mut self,
        ns: Arc<Namespace>,
        request: ConnectRequest,
        resume: Option<Resume>,
        ctx: &mut Context<Self>,
    ) {
        let nsp = request.nsp.clone();
        let admitted = ns.admit(request);
        ctx.spawn(admitted.into_actor(self).then(move |result, act, ctx| {
            match result {
                _ if act.closed => Box::pin(fut::ready(())) as LocalBoxActorFuture<Self, ()>,
                Ok(request) => act.accept(ns, request, resume, ctx),
                Err(refusal) => {
                    act.engine.stats().refuse(Refusal::ConnectRefused);
                    let dropped = act.connected(&nsp).map_or(0, |held| held.len());
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

    /// Resumes the client's lost socket if it asked and may, else creates
    /// a socket and registers it; then answers CONNECT, runs the
    /// connection handler and handles the events held meanwhile.
    fn accept(
        &mut self,
        ns: Arc<Namespace>,
        req: ConnectRequest,
        resume: Option<Resume>,
        ctx: &mut Context<Self>,
    ) -> LocalBoxActorFuture<Self, ()> {
        let req = match resume {
            Some(resume) => match self.resume(&ns, req, &resume, true, Session::create, ctx) {
                Ok(()) => return Box::pin(fut::ready(())),
                Err(req) => req,
            },
            None => req,
        };
        self.create(ns, req, ctx);
        Box::pin(fut::ready(()))
    }

    /// A new socket for an admitted CONNECT: registered, answered.
    fn create(&mut self, ns: Arc<Namespace>, req: ConnectRequest, ctx: &mut Context<Self>) {
        // The CONNECT answer goes before anything routed to the socket
        // once it is in the index.
        let link = self.link.clone();
        let _hold = link.hold();
        let id = Sid::new();
        let tracking = self.new_tracking();
        let handle = self.socket_handle(tracking.as_ref());
        let (nsp, user_id) = (req.nsp.clone(), req.user_id.clone());
        let socket = self.install(ns.clone(), req, id, tracking, false);
        self.register(id, &nsp, handle, user_id);
        self.answer_connect(ns, socket, Vec::new(), ctx);
    }

    /// Makes the socket `id` of a CONNECT this session's (`tracking`: a
    /// `recovered` one has its own back).
    pub(super) fn install(
        &mut self,
        ns: Arc<Namespace>,
        req: ConnectRequest,
        id: Sid,
        tracking: Option<Tracking>,
        recovered: bool,
    ) -> Socket {
        let socket = Socket::new(SocketParts {
            id,
            nsp: req.nsp.clone(),
            session: self.link.clone(),
            io: self.engine.io(),
            handshake: req.handshake,
            auth: req.auth,
            user_id: req.user_id,
            data: req.data,
            ack_timeout: self.engine.config().ack_timeout,
            recovered,
        });
        let state = Box::new(SocketState {
            socket: socket.clone(),
            ns,
            acks: HashMap::new(),
            timers: HashMap::new(),
            recovery: tracking,
        });
        self.sockets.insert(req.nsp, state);
        socket
    }

    /// Answers CONNECT for a registered socket, writes what a recovered one
    /// missed, runs the connection handler and handles the events held
    /// meanwhile.
    pub(super) fn answer_connect(
        &mut self,
        ns: Arc<Namespace>,
        socket: Socket,
        missed: Vec<Frames>,
        ctx: &mut Context<Self>,
    ) {
        let (nsp, id) = (socket.nsp().to_owned(), socket.sid());
        if let Some(state) = self.sockets.get(&nsp).filter(|s| s.socket.sid() == id) {
            let pid = state.recovery.as_ref().map(|t| t.pid.as_str());
            self.write(socketio::connect_frames(&nsp, id.as_str(), pid), ctx);
            for frames in missed {
                self.write(frames, ctx);
            }
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
                for policy in ns.policies() {
                    policy.connected(&socket);
                }
                ns.connected(socket);
            }
        }
        if let Some(held) = self.connected(&nsp) {
            self.replay(&nsp, id, held, ctx);
        }
    }

    /// Ends the CONNECT in progress to `nsp`, answered or refused, giving
    /// back the events held meanwhile. The list of CONNECTs in progress is
    /// released once it is empty: a vector keeps its buffer when emptied,
    /// and that buffer would otherwise stay with every idle connection for
    /// its whole life.
    fn connected(&mut self, nsp: &str) -> Option<HeldEvents> {
        let at = self.connecting.iter().position(|(n, _)| n == nsp)?;
        let (_, held) = self.connecting.swap_remove(at);
        if self.connecting.is_empty() {
            self.connecting = Vec::new();
        }
        Some(held)
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
        if let Some((_, held)) = self.connecting.iter_mut().find(|(n, _)| *n == nsp) {
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
        let reply = ack.map(|id| Ack::new(self.link.clone(), nsp.clone(), id));
        if let Err(message) = state.ns.check(&state.socket, &payload) {
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
                // A server disconnect: the stock client does not reconnect,
                // and (as in Node) its sockets are not kept for recovery.
                let namespaces: Vec<String> = self.sockets.keys().cloned().collect();
                for nsp in namespaces {
                    self.write(socketio::disconnect_frames(&nsp), ctx);
                }
                self.close(DisconnectReason::ServerNamespaceDisconnect, ctx);
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
                    let _ = Ack::new(self.link.clone(), nsp.to_owned(), id)
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

    pub(super) fn remove_socket(
        &mut self,
        nsp: &str,
        reason: DisconnectReason,
        ctx: &mut Context<Self>,
    ) {
        let Some(mut state) = self.sockets.remove(nsp) else {
            return;
        };
        for (_, timer) in state.timers.drain() {
            ctx.cancel_future(timer);
        }
        let parked = self.park(&state, reason);
        if !parked {
            self.unregister(nsp, state.socket.sid());
        }
        Stats::shift(
            &self.engine.stats().acks_pending,
            -(state.acks.len() as i64),
        );
        for (_, reply) in state.acks {
            let _ = reply.send(Err(AckError::Disconnected));
        }
        if !parked {
            state.ns.disconnected(state.socket, reason);
        }
    }
}

impl Session {
    /// Sends an event that awaits the client's ack (one socket's, or a
    /// broadcast's: the adapter asks each member).
    fn ask(&mut self, msg: Ask, ctx: &mut Context<Self>) {
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

    /// The server disconnects the socket `id` of `nsp`, if still there.
    fn disconnect_socket(&mut self, nsp: &str, id: Sid, ctx: &mut Context<Self>) {
        if self.socket_state(nsp, id).is_some() {
            self.write(socketio::disconnect_frames(nsp), ctx);
            self.remove_socket(nsp, DisconnectReason::ServerNamespaceDisconnect, ctx);
        }
    }

    fn authenticated(&mut self, msg: Authenticated) {
        let Some(state) = self.socket_state(&msg.nsp, msg.socket) else {
            return;
        };
        let (socket, ns) = (state.socket.clone(), state.ns.clone());
        info!(
            target: CONNECTIONS,
            sid = %self.sid.as_str(),
            socket = %socket.id(),
            nsp = msg.nsp,
            user = msg.user_id,
            "socket authenticated"
        );
        for policy in ns.policies() {
            policy.authenticated(&socket);
        }
        self.set_user(&msg.nsp, msg.socket, &msg.user_id);
    }
}

impl Handler<SessionRequest> for Session {
    type Result = ();
    fn handle(&mut self, msg: SessionRequest, ctx: &mut Context<Self>) {
        self.on_request(msg, ctx);
    }
}

impl Handler<Linked> for Session {
    type Result = ();
    fn handle(&mut self, linked: Linked, ctx: &mut Context<Self>) {
        self.on_request(linked.request, ctx);
        linked.link.handled();
    }
}

impl Session {
    fn on_request(&mut self, msg: SessionRequest, ctx: &mut Context<Self>) {
        match msg {
            SessionRequest::Deliver(frames) => self.deliver(frames, ctx),
            SessionRequest::Ask(ask) => self.ask(ask, ctx),
            SessionRequest::Disconnect { nsp, socket } => self.disconnect_socket(&nsp, socket, ctx),
            SessionRequest::Close(reason) => self.close(reason, ctx),
            SessionRequest::Authenticated(authenticated) => self.authenticated(authenticated),
            SessionRequest::Timer(timer) => self.arm(timer, ctx),
        }
    }
}

impl Session {
    /// The socket `id` on `nsp`, if it is still the one connected there.
    fn socket_state(&mut self, nsp: &str, id: Sid) -> Option<&mut SocketState> {
        self.sockets
            .get_mut(nsp)
            .map(|s| &mut **s)
            .filter(|s| s.socket.sid() == id)
    }

    /// Arms, replaces or cancels one of a socket's timers.
    fn arm(&mut self, timer: SocketTimer, ctx: &mut Context<Self>) {
        let SocketTimer {
            nsp,
            socket,
            name,
            action,
        } = timer;
        let Some(state) = self.socket_state(&nsp, socket) else {
            return;
        };
        if let Some(previous) = state.timers.remove(name) {
            ctx.cancel_future(previous);
        }
        let handle = match action {
            None => return,
            Some(TimerAction::Once(delay, f)) => ctx.run_later(delay, move |act, _| {
                if let Some(state) = act.socket_state(&nsp, socket) {
                    state.timers.remove(name);
                }
                f();
            }),
            Some(TimerAction::Every(interval, mut f)) => {
                ctx.run_interval(interval, move |_, _| f())
            }
        };
        state.timers.insert(name, handle);
    }
}
