//! The WebSocket transport, on actix-web-actors. This is the only module
//! that touches that crate, so moving to its successor is one file.
//!
//! One actor per WebSocket: text and binary frames in become Engine.IO
//! packets for the session; frames the session writes go out unchanged,
//! charged to the connection's byte budget ([`Outbound`]) until the
//! connection has taken them.

use std::pin::Pin;
use std::task::{Context, Poll};

use actix::prelude::*;
use actix_http::ws::{Codec, Item};
use actix_web::{HttpRequest, HttpResponse, web};
use actix_web_actors::ws::{self, CloseCode, CloseReason, Message, ProtocolError};
use bytes::{Bytes, BytesMut};
use confab_engine::handshake::Handshake;
use confab_engine::outbound::{Outbound, WsSink};
use confab_engine::protocol::engineio::{Frame, Packet, decode_text};
use confab_engine::session::{
    AttachProbe, Inbound, NewTransport, Packets, Session, SessionRequest, TransportClosed,
    TransportKind, WsOut,
};
use confab_engine::{DisconnectReason, Engine, Stats};
use futures_util::Stream;
use tracing::debug;

use super::EngineIoError;
use super::connection::SocketCell;

/// A new connection that starts on WebSocket.
pub fn open(
    req: &HttpRequest,
    body: web::Payload,
    engine: &Engine,
    handshake: Handshake,
) -> Result<HttpResponse, EngineIoError> {
    start(req, body, engine, Role::Open(Box::new(handshake)))
}

/// A WebSocket joining a polling session: the upgrade probe.
pub fn upgrade(
    req: &HttpRequest,
    body: web::Payload,
    engine: &Engine,
    session: Addr<Session>,
) -> Result<HttpResponse, EngineIoError> {
    start(req, body, engine, Role::Probe(session))
}

fn start(
    req: &HttpRequest,
    body: web::Payload,
    engine: &Engine,
    role: Role,
) -> Result<HttpResponse, EngineIoError> {
    let mut response = ws::handshake(req).map_err(|_| EngineIoError::BadRequest)?;
    let outbound = Outbound::default();
    let socket = SocketCell::of(req);
    if let Some(socket) = &socket {
        outbound.on_abort(socket.aborter());
    }
    let actor = WsTransport {
        engine: engine.clone(),
        role: Some(role),
        session: None,
        fragments: None,
        outbound: outbound.clone(),
    };
    let codec = Codec::new().max_size(engine.config().max_payload);
    let frames = ws::WebsocketContext::with_codec(actor, body, codec);
    Ok(response.streaming(Metered {
        frames: Box::pin(frames),
        outbound,
        handed: 0,
        socket,
    }))
}

/// The WebSocket's response body: the actor's frames, encoded.
///
/// actix-http polls a response body only while its write buffer holds
/// less than `h1_write_buffer_size` (32 KiB by default): a poll says the
/// chunks given before have left for the kernel, all but that much. So
/// what the actor handed over during one poll stays charged to the budget
/// until the next one; a client that stops reading keeps it charged, and
/// the session's next frames find the budget full.
struct Metered<S> {
    frames: Pin<Box<S>>,
    outbound: Outbound,
    /// Charged bytes handed over during the last poll.
    handed: usize,
    /// Emptied when the body goes, before the connection closes its socket.
    socket: Option<SocketCell>,
}

impl<S: Stream> Stream for Metered<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = self.get_mut();
        this.outbound.release(std::mem::take(&mut this.handed));
        if this.outbound.is_aborted() {
            return Poll::Ready(None);
        }
        let next = this.frames.as_mut().poll_next(cx);
        this.handed = this.outbound.take_handed();
        next
    }
}

impl<S> Drop for Metered<S> {
    fn drop(&mut self) {
        if let Some(socket) = &self.socket {
            socket.forget();
        }
    }
}

enum Role {
    Open(Box<Handshake>),
    Probe(Addr<Session>),
}

struct WsTransport {
    engine: Engine,
    role: Option<Role>,
    session: Option<Addr<Session>>,
    /// A fragmented message being reassembled (text?, bytes so far).
    fragments: Option<(bool, BytesMut)>,
    /// The connection's byte budget, charged by the session.
    outbound: Outbound,
}

impl WsTransport {
    fn deliver(&mut self, packet: Packet) {
        if let Some(session) = &self.session {
            session.do_send(Inbound {
                packets: Packets::One(packet),
                via: TransportKind::WebSocket,
            });
        }
    }

    fn on_text(&mut self, text: bytestring::ByteString, ctx: &mut ws::WebsocketContext<Self>) {
        match decode_text(text) {
            Ok(packet) => self.deliver(packet),
            Err(err) => {
                debug!(%err, "malformed Engine.IO packet on websocket");
                Stats::bump(&self.engine.stats().malformed_packets);
                if let Some(session) = &self.session {
                    session.do_send(SessionRequest::Close(DisconnectReason::ParseError));
                }
                self.close_quietly(ctx);
            }
        }
    }

    fn on_message(&mut self, text: bool, data: Bytes, ctx: &mut ws::WebsocketContext<Self>) {
        Stats::add(&self.engine.stats().bytes_in, data.len() as u64);
        if !text {
            return self.deliver(Packet::Binary(data));
        }
        match bytestring::ByteString::try_from(data) {
            Ok(text) => self.on_text(text, ctx),
            Err(_) => self.close(ctx, CloseCode::Invalid),
        }
    }

    /// A close frame without a code, as the Node server sends.
    fn close_quietly(&mut self, ctx: &mut ws::WebsocketContext<Self>) {
        ctx.close(None);
        ctx.stop();
    }

    fn close(&mut self, ctx: &mut ws::WebsocketContext<Self>, code: CloseCode) {
        ctx.close(Some(CloseReason::from(code)));
        ctx.stop();
    }
}

impl Actor for WsTransport {
    type Context = ws::WebsocketContext<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let sink = WsSink {
            out: ctx.address().recipient(),
            outbound: self.outbound.clone(),
        };
        match self.role.take() {
            Some(Role::Open(handshake)) => {
                self.session = Some(self.engine.open(*handshake, NewTransport::WebSocket(sink)));
            }
            Some(Role::Probe(session)) => {
                // Hold every frame until the session accepts the probe.
                ctx.wait(session.send(AttachProbe(sink)).into_actor(self).map(
                    move |accepted, act, ctx| match accepted {
                        Ok(Ok(())) => act.session = Some(session),
                        _ => act.close_quietly(ctx),
                    },
                ));
            }
            None => {}
        }
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        if let Some(session) = &self.session {
            session.do_send(TransportClosed(TransportKind::WebSocket));
        }
    }
}

impl Handler<WsOut> for WsTransport {
    type Result = ();
    fn handle(&mut self, msg: WsOut, ctx: &mut Self::Context) {
        match msg {
            WsOut::Frames(frames) => {
                self.outbound.handed(&frames);
                let bytes = frames.iter().map(Frame::wire_len).sum::<usize>();
                Stats::add(&self.engine.stats().bytes_out, bytes as u64);
                for frame in frames.iter() {
                    match frame {
                        Frame::Text(text) => ctx.text(text.clone()),
                        Frame::Binary(data) => ctx.binary(data.clone()),
                    }
                }
            }
            WsOut::Close => {
                self.session = None;
                self.close_quietly(ctx);
            }
        }
    }
}

impl StreamHandler<Result<Message, ProtocolError>> for WsTransport {
    fn handle(&mut self, msg: Result<Message, ProtocolError>, ctx: &mut Self::Context) {
        match msg {
            Ok(Message::Text(text)) => {
                Stats::add(&self.engine.stats().bytes_in, text.len() as u64);
                self.on_text(text, ctx)
            }
            Ok(Message::Binary(data)) => {
                Stats::add(&self.engine.stats().bytes_in, data.len() as u64);
                self.deliver(Packet::Binary(data))
            }
            Ok(Message::Continuation(item)) => self.on_fragment(item, ctx),
            Ok(Message::Ping(data)) => ctx.pong(&data),
            Ok(Message::Pong(_) | Message::Nop) => {}
            Ok(Message::Close(reason)) => {
                // Answer the client's close frame, as the protocol asks.
                ctx.close(reason);
                ctx.stop();
            }
            Err(ProtocolError::Overflow) => {
                debug!("websocket message over maxPayload");
                self.close(ctx, CloseCode::Size);
            }
            Err(err) => {
                debug!(%err, "websocket protocol error");
                self.close(ctx, CloseCode::Protocol);
            }
        }
    }
}

impl WsTransport {
    /// Reassembles a fragmented message, within maxPayload.
    fn on_fragment(&mut self, item: Item, ctx: &mut ws::WebsocketContext<Self>) {
        let max = self.engine.config().max_payload;
        let last = matches!(item, Item::Last(_));
        match item {
            Item::FirstText(data) => self.fragments = Some((true, BytesMut::from(&data[..]))),
            Item::FirstBinary(data) => self.fragments = Some((false, BytesMut::from(&data[..]))),
            Item::Continue(data) | Item::Last(data) => {
                let Some((text, buf)) = self.fragments.as_mut() else {
                    return self.close(ctx, CloseCode::Protocol);
                };
                buf.extend_from_slice(&data);
                let (text, too_big) = (*text, buf.len() > max);
                if too_big {
                    return self.close(ctx, CloseCode::Size);
                }
                if last {
                    let (_, buf) = self.fragments.take().expect("checked above");
                    self.on_message(text, buf.freeze(), ctx);
                }
            }
        }
    }
}
