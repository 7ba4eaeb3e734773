//! One actor per Engine.IO connection.
//!
//! The session owns everything that belongs to one client connection: its
//! transport (long-polling queue or WebSocket sink) and the upgrade between
//! them, the heartbeat, the Socket.IO decoder, the sockets connected per
//! namespace and their pending acks. Transports feed it packets; sockets,
//! acks, the adapter and the engine send it [`SessionRequest`]s.
//!
//! One actor, its halves in their own files:
//! - [`messages`]: what the session accepts from its transports;
//! - `transport`: the Engine.IO half (long-polling queue, WebSocket sink,
//!   the upgrade between them, the heartbeat);
//! - `sockets`: the Socket.IO half (namespace sockets, CONNECT and its
//!   middlewares, events, acks, the rate limit, per-socket timers);
//! - `registration`: every line that talks to the adapter's index;
//! - `recovery`: connection state recovery (parking a lost socket,
//!   resuming it for a client that comes back).

pub mod messages;
mod recovery;
mod registration;
mod sockets;
mod transport;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use actix::prelude::*;
use tracing::{debug, info, warn};

pub use crate::requests::SessionRequest;
pub use messages::{
    AttachProbe, Inbound, NewTransport, Packets, Poll, PollError, TransportClosed, TransportKind,
    UpgradeError, WsEvent, WsPackets,
};

use crate::CONNECTIONS;
use crate::disconnect::DisconnectReason;
use crate::handshake::Handshake;
use crate::held::HeldEvents;
use crate::link::SessionLink;
use crate::outbound::{OverBudget, WsSink};
use crate::protocol::engineio::{Frame, Packet, Sid};
use crate::protocol::socketio::{self, Decoder};
use crate::rate::RateLimit;
use crate::shared::Shared;
use crate::stats::Stats;
use sockets::SocketState;
use transport::Transport;

/// One Engine.IO connection.
pub struct Session {
    sid: Sid,
    engine: Arc<Shared>,
    handshake: Arc<Handshake>,
    /// How its sockets, acks and the adapter reach it; open to direct
    /// writes while the transport is a WebSocket.
    link: SessionLink,
    transport: Transport,
    /// A WebSocket that is probing to replace long-polling.
    probe: Option<WsSink>,
    /// The probe answered `3probe`: the client is pausing polling, so every
    /// GET is released at once (Node's noop check) until `5` arrives.
    upgrading: bool,
    decoder: Decoder,
    /// Boxed: a map's table holds at least four slots, and a connection
    /// has one socket or two, so the slots hold pointers, not states.
    sockets: HashMap<String, Box<SocketState>>,
    /// Namespaces whose CONNECT is still in progress, with the events the
    /// client sent meanwhile: rarely more than one, so a list.
    connecting: Vec<(String, HeldEvents)>,
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
    /// Starts the session of a new connection on the current arbiter.
    pub(crate) fn open(
        sid: Sid,
        engine: Arc<Shared>,
        handshake: Handshake,
        transport: NewTransport,
    ) -> Addr<Session> {
        let (transport, packets) = match transport {
            NewTransport::Polling => (Transport::Polling(Box::default()), None),
            NewTransport::WebSocket(sink, packets) => (Transport::WebSocket(sink), Some(packets)),
        };
        <Session as Actor>::create(|ctx| {
            if let Some(packets) = packets {
                ctx.add_stream(packets);
            }
            let link = SessionLink::new(ctx.address().recipient());
            Session::new(sid, engine, handshake, transport, link)
        })
    }

    fn new(
        sid: Sid,
        engine: Arc<Shared>,
        handshake: Handshake,
        transport: Transport,
        link: SessionLink,
    ) -> Session {
        let decoder = Decoder::new(engine.config().max_payload);
        let rate = RateLimit::new(engine.config().event_rate, Instant::now());
        Session {
            sid,
            engine,
            handshake: Arc::new(handshake),
            link,
            transport,
            probe: None,
            upgrading: false,
            decoder,
            sockets: HashMap::new(),
            connecting: Vec::new(),
            pong_deadline: None,
            connect_deadline: None,
            rate,
            closed: false,
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

    /// Ends the connection: every socket leaves with `reason`, the
    /// transport closes, the engine forgets the session.
    fn close(&mut self, reason: DisconnectReason, ctx: &mut Context<Self>) {
        if self.closed {
            return;
        }
        self.closed = true;
        self.link.shut();
        Stats::shift(self.connections_gauge(), -1);
        info!(target: CONNECTIONS, sid = %self.sid.as_str(), %reason, "connection closed");
        let namespaces: Vec<String> = self.sockets.keys().cloned().collect();
        // `disconnect(true)` (Node's `Client._disconnect`): each socket is
        // told with a DISCONNECT packet, sent before the connection closes,
        // so the client says "io server disconnect" as with Node.
        let told = reason == DisconnectReason::ServerNamespaceDisconnect;
        if told {
            for nsp in &namespaces {
                self.write(socketio::disconnect_frames(nsp), ctx);
            }
        }
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
                // as the Node server does, for at most a ping timeout. A close
                // the server chose (Node's `socket.close()`) comes after what
                // was queued, the sockets' DISCONNECT packets included; one
                // for a client's fault (Node's `onClose`) drops the queue.
                let graceful = matches!(
                    reason,
                    DisconnectReason::ServerNamespaceDisconnect
                        | DisconnectReason::ServerShutdown
                        | DisconnectReason::ForcedClose
                );
                if !graceful {
                    queue.take();
                }
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
        self.open_link();
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
