//! The WebSocket transport, on actix-web-actors. This is the only module
//! that touches that crate, so moving to its successor is one file.
//!
//! One actor per WebSocket reads it: text and binary frames in become
//! Engine.IO packets for the session. What is written to the client does
//! not pass through the actor: the session and broadcasts queue frames in
//! the connection's [`WsSink`], and the response body takes each batch as
//! one chunk, charged to the connection's byte budget until the
//! connection has taken it.

use std::pin::Pin;
use std::task::{Context, Poll};

use actix::prelude::*;
use actix_http::ws::{Codec, Item, OpCode, Parser};
use actix_web::{HttpRequest, HttpResponse, web};
use actix_web_actors::ws::{self, CloseCode, CloseReason, Message, ProtocolError};
use bytes::{Bytes, BytesMut};
use confab_engine::handshake::Handshake;
use confab_engine::outbound::{self, Drained, WsSink};
use confab_engine::protocol::engineio::{Frame, Packet, decode_text};
use confab_engine::session::{
    AttachProbe, Inbound, NewTransport, Packets, Session, SessionRequest, TransportClosed,
    TransportKind,
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
    let sink = WsSink::default();
    let socket = SocketCell::of(req);
    if let Some(socket) = &socket {
        sink.outbound.on_abort(socket.aborter());
    }
    let actor = WsTransport {
        engine: engine.clone(),
        role: Some(role),
        session: None,
        fragments: None,
        sink: sink.clone(),
    };
    let codec = Codec::new().max_size(engine.config().max_payload);
    let control = ws::WebsocketContext::with_codec(actor, body, codec);
    Ok(response.streaming(WsBody {
        control: Box::pin(control),
        sink,
        handed: 0,
        closed: false,
        engine: engine.clone(),
        socket,
    }))
}

/// The WebSocket's response body: the frames queued in the [`WsSink`] by
/// the session and by broadcasts, each batch encoded into one chunk, and
/// the transport actor's own frames (pongs, the close that answers the
/// client's). Polling it also runs the actor, which reads the client.
///
/// actix-http polls a response body only while its write buffer holds
/// less than `h1_write_buffer_size` (32 KiB by default): a poll says the
/// chunks given before have left for the kernel, all but that much. So
/// what a poll took stays charged to the budget until the next one; a
/// client that stops reading keeps it charged, and the next writes find
/// the budget full.
struct WsBody<S> {
    control: Pin<Box<S>>,
    sink: WsSink,
    /// What the last batch was charged.
    handed: usize,
    /// The session's close frame is written: the body ends.
    closed: bool,
    engine: Engine,
    /// Emptied when the body goes, before the connection closes its socket.
    socket: Option<SocketCell>,
}

/// The longest header of a server frame (no mask): opcode byte, length
/// byte, 64-bit extended length.
const MAX_FRAME_HEADER: usize = 10;

/// Encodes a batch of frames, `bytes` of payload in all, as one chunk
/// (server frames: whole, not masked), allocated once.
fn encode_batch(frames: Vec<Frame>, bytes: usize) -> Bytes {
    let mut chunk = BytesMut::with_capacity(bytes + frames.len() * MAX_FRAME_HEADER);
    for frame in frames {
        match frame {
            Frame::Text(text) => {
                Parser::write_message(&mut chunk, text.as_bytes(), OpCode::Text, true, false)
            }
            Frame::Binary(data) => {
                Parser::write_message(&mut chunk, data, OpCode::Binary, true, false)
            }
        }
    }
    chunk.freeze()
}

impl<S: Stream<Item = Result<Bytes, actix_web::Error>>> Stream for WsBody<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = self.get_mut();
        this.sink.outbound.release(std::mem::take(&mut this.handed));
        if this.sink.outbound.is_aborted() || this.closed {
            return Poll::Ready(None);
        }
        match this.control.as_mut().poll_next(cx) {
            Poll::Pending => {}
            // The actor's frame, or its end (it closed the socket).
            ready => return ready,
        }
        match this.sink.drain(cx.waker()) {
            Drained::Frames(frames) => {
                this.handed = outbound::cost(frames.iter());
                let bytes = frames.iter().map(Frame::wire_len).sum::<usize>();
                Stats::add(&this.engine.stats().bytes_out, bytes as u64);
                Poll::Ready(Some(Ok(encode_batch(frames, bytes))))
            }
            Drained::Closed => {
                // A close frame without a code, as the Node server sends.
                this.closed = true;
                let mut chunk = BytesMut::new();
                Parser::write_close(&mut chunk, None, false);
                Poll::Ready(Some(Ok(chunk.freeze())))
            }
            Drained::Empty => Poll::Pending,
        }
    }
}

impl<S> Drop for WsBody<S> {
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
    /// A fragmented message being reassembled (text?, bytes so far);
    /// boxed, as few connections ever fragment.
    fragments: Option<Box<(bool, BytesMut)>>,
    /// The connection's write queue, handed to the session.
    sink: WsSink,
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
        let sink = self.sink.clone();
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
        // A socket its session closed is no news to the session (nor to
        // the probe that may have followed it).
        if self.sink.is_closed() {
            return;
        }
        if let Some(session) = &self.session {
            session.do_send(TransportClosed(TransportKind::WebSocket));
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
            Item::FirstText(data) => {
                self.fragments = Some(Box::new((true, BytesMut::from(&data[..]))))
            }
            Item::FirstBinary(data) => {
                self.fragments = Some(Box::new((false, BytesMut::from(&data[..]))))
            }
            Item::Continue(data) | Item::Last(data) => {
                let Some((text, buf)) = self.fragments.as_deref_mut() else {
                    return self.close(ctx, CloseCode::Protocol);
                };
                buf.extend_from_slice(&data);
                let (text, too_big) = (*text, buf.len() > max);
                if too_big {
                    return self.close(ctx, CloseCode::Size);
                }
                if last {
                    let (_, buf) = *self.fragments.take().expect("checked above");
                    self.on_message(text, buf.freeze(), ctx);
                }
            }
        }
    }
}
