//! The Engine.IO half of the session: the transport (long-polling queue or
//! WebSocket sink) and the upgrade between them, the heartbeat, the open
//! packet, and writing frames within the outbound byte budget.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;

use actix::prelude::*;
use bytes::Bytes;
use tokio::sync::oneshot;
use tracing::debug;

use super::Session;
use super::messages::{
    AttachProbe, Inbound, Poll, PollError, TransportClosed, TransportKind, UpgradeError, WsEvent,
};
use crate::disconnect::DisconnectReason;
use crate::outbound::{self, OverBudget, WsSink};
use crate::protocol::engineio::{Frame, Frames, OpenPacket, Packet, encode_payload};
use crate::stats::Stats;

/// How the session reaches its client now.
pub(super) enum Transport {
    /// Boxed: most connections upgrade, and a WebSocket's session would
    /// carry the queue's size for its whole life.
    Polling(Box<PollQueue>),
    WebSocket(WsSink),
}

/// Frames waiting for the client's next GET, and that GET if it is parked.
#[derive(Default)]
pub(super) struct PollQueue {
    pub(super) frames: VecDeque<Frame>,
    /// What `frames` cost against `max_buffered_bytes`.
    bytes: usize,
    pub(super) waiting: Option<oneshot::Sender<Bytes>>,
}

impl PollQueue {
    /// Queues `frames`, within `limit` bytes queued.
    pub(super) fn push(&mut self, frames: &Frames, limit: usize) -> Result<(), OverBudget> {
        let queued = self.bytes + outbound::cost(frames.iter());
        if queued > limit {
            return Err(OverBudget { queued, limit });
        }
        self.bytes = queued;
        self.frames.extend(frames.iter().cloned());
        Ok(())
    }

    /// Takes everything queued.
    pub(super) fn take(&mut self) -> Vec<Frame> {
        self.bytes = 0;
        self.frames.drain(..).collect()
    }

    /// Answers a parked GET with everything queued.
    pub(super) fn flush(&mut self) {
        if !self.frames.is_empty()
            && let Some(waiting) = self.waiting.take()
        {
            let _ = waiting.send(encode_payload(self.take().iter()));
        }
    }

    /// Ends a parked GET with a single control packet.
    pub(super) fn release(&mut self, packet: Packet) {
        if let Some(waiting) = self.waiting.take() {
            let _ = waiting.send(encode_payload([&Frame::control(packet)]));
        }
    }
}

impl Session {
    /// Writes `frames` to the client within the outbound byte budget; over
    /// it, the connection is cut.
    pub(super) fn write(&mut self, frames: Frames, ctx: &mut Context<Self>) {
        let limit = self.engine.config().max_buffered_bytes;
        let written = match &mut self.transport {
            Transport::WebSocket(sink) => sink.write(&frames, limit),
            Transport::Polling(queue) => queue.push(&frames, limit).map(|()| queue.flush()),
        };
        if let Err(over) = written {
            self.overflow(over, ctx);
        }
    }

    pub(super) fn write_control(&mut self, packet: Packet, ctx: &mut Context<Self>) {
        self.write(Frames::from([Frame::control(packet)]), ctx);
    }

    pub(super) fn open_packet(&self) -> Packet {
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
    pub(super) fn schedule_ping(&mut self, ctx: &mut Context<Self>) {
        ctx.run_later(self.engine.config().ping_interval, |act, ctx| {
            act.mark_ping();
            act.write_control(Packet::Ping, ctx);
            let timeout = act.engine.config().ping_timeout;
            act.pong_deadline = Some(ctx.run_later(timeout, |act, ctx| {
                debug!(sid = %act.sid.as_str(), "ping timeout");
                act.close(DisconnectReason::PingTimeout, ctx);
            }));
        });
    }

    pub(super) fn on_packet(
        &mut self,
        packet: Packet,
        via: TransportKind,
        ctx: &mut Context<Self>,
    ) {
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
                    self.confirm_ping();
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
                let _ = probe.write(&pong, limit);
                queue.release(Packet::Noop);
                self.upgrading = true;
            }
            Packet::Upgrade => {
                queue.release(Packet::Noop);
                let pending: Frames = queue.take().into();
                let sink = self.probe.take().expect("probe checked above");
                // Within budget: the polling queue was.
                if !pending.is_empty() {
                    let _ = sink.write(&pending, limit);
                }
                self.transport = Transport::WebSocket(sink);
                self.open_link();
                self.upgrading = false;
                self.handshake.upgraded.store(true, Ordering::Relaxed);
                let stats = self.engine.stats();
                Stats::bump(&stats.upgrades);
                Stats::shift(&stats.connections_polling, -1);
                Stats::shift(&stats.connections_websocket, 1);
                self.engine
                    .upgraded(self.sockets.values().map(|state| &state.socket));
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
}

impl Session {
    /// Lets the link write straight into the WebSocket, if that is the
    /// transport now.
    pub(super) fn open_link(&self) {
        if let Transport::WebSocket(sink) = &self.transport {
            let limit = self.engine.config().max_buffered_bytes;
            self.link
                .open(sink.clone(), limit, self.engine.stats.clone());
        }
    }

    /// Writes frames someone sent this session (an emit, a broadcast, an
    /// ack's answer), unless it has closed.
    pub(super) fn deliver(&mut self, frames: Frames, ctx: &mut Context<Self>) {
        if !self.closed {
            Stats::bump(&self.engine.stats().events_sent);
            self.write(frames, ctx);
        }
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
            // What was kept for this GET. The close packet goes alone, in
            // the GET after, as the Node server sends it once what was
            // queued before it drained: a client acts on a payload's close
            // before the Socket.IO packets beside it (a DISCONNECT's
            // "io server disconnect" would read "transport close").
            let mut frames = queue.take();
            let close = Frame::control(Packet::Close);
            if frames.len() > 1 && frames.last() == Some(&close) {
                frames.pop();
                queue.frames.push_back(close);
            } else {
                ctx.stop();
            }
            let payload = encode_payload(frames.iter());
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

/// The packets of the WebSocket the session opened on, read by the
/// session itself.
impl StreamHandler<WsEvent> for Session {
    fn handle(&mut self, event: WsEvent, ctx: &mut Context<Self>) {
        if self.closed {
            return;
        }
        match event {
            WsEvent::Packet(packet) => self.on_packet(packet, TransportKind::WebSocket, ctx),
            WsEvent::Malformed => self.close(DisconnectReason::ParseError, ctx),
        }
    }

    /// The connection ended (not the session: the default would stop it
    /// without its goodbyes).
    fn finished(&mut self, ctx: &mut Context<Self>) {
        self.transport_closed(TransportKind::WebSocket, ctx);
    }
}

impl Handler<TransportClosed> for Session {
    type Result = ();
    fn handle(&mut self, msg: TransportClosed, ctx: &mut Context<Self>) {
        self.transport_closed(msg.0, ctx);
    }
}

impl Session {
    fn transport_closed(&mut self, kind: TransportKind, ctx: &mut Context<Self>) {
        debug!(sid = %self.sid.as_str(), ?kind, "transport connection ended");
        match (&self.transport, kind) {
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
