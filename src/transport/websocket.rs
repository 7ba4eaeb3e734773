//! The WebSocket transport.
//!
//! A connection that opens on WebSocket is read by its session itself: a
//! [`WsReader`] decodes the client's frames into Engine.IO packets, a
//! stream the session adds to its own context, so no actor stands between
//! the socket and the session (one task wake-up per message read, and no
//! second actor per connection). A WebSocket that probes to replace
//! long-polling is read by a small task that forwards its packets to the
//! session's mailbox: that session may run on another thread, and a
//! request's payload cannot leave its own.
//!
//! What is written to the client passes through neither: the session and
//! broadcasts queue frames in the connection's [`WsSink`], and the response
//! body ([`WsBody`]) takes each batch as one chunk, charged to the
//! connection's byte budget until the connection has taken it. The reader
//! queues its own replies there (pongs, the answer to a close, a close
//! with a status code for a protocol error). actix-web-actors validates
//! the handshake and writes its answer.

use std::pin::Pin;
use std::task::{Context, Poll};

use actix::Addr;
use actix_codec::Decoder;
use actix_http::error::PayloadError;
use actix_http::ws::{
    CloseCode, CloseReason, Codec, Frame as WsFrame, Item, OpCode, Parser, ProtocolError,
};
use actix_web::{HttpRequest, HttpResponse, web};
use actix_web_actors::ws;
use bytes::{Bytes, BytesMut};
use bytestring::ByteString;
use confab_engine::handshake::Handshake;
use confab_engine::outbound::{self, Drained, WsSink};
use confab_engine::protocol::engineio::{Frame, Packet, decode_text};
use confab_engine::session::{
    AttachProbe, Inbound, NewTransport, Packets, Session, SessionRequest, TransportClosed,
    TransportKind, WsEvent,
};
use confab_engine::{DisconnectReason, Engine, Stats};
use futures_util::{Stream, StreamExt};
use tracing::debug;

use super::EngineIoError;
use super::connection::SocketCell;

/// A new connection that starts on WebSocket: its session reads it.
pub fn open(
    req: &HttpRequest,
    body: web::Payload,
    engine: &Engine,
    handshake: Handshake,
) -> Result<HttpResponse, EngineIoError> {
    let (response, reader) = start(req, body, engine)?;
    let sink = reader.sink.clone();
    engine.open(handshake, NewTransport::WebSocket(sink, Box::pin(reader)));
    Ok(response)
}

/// A WebSocket joining a polling session: the upgrade probe.
pub fn upgrade(
    req: &HttpRequest,
    body: web::Payload,
    engine: &Engine,
    session: Addr<Session>,
) -> Result<HttpResponse, EngineIoError> {
    let (response, reader) = start(req, body, engine)?;
    actix::spawn(forward(session, reader));
    Ok(response)
}

/// Answers the handshake; the response's body writes what the sink
/// queues, the reader reads the request's.
fn start(
    req: &HttpRequest,
    body: web::Payload,
    engine: &Engine,
) -> Result<(HttpResponse, WsReader), EngineIoError> {
    let mut response = ws::handshake(req).map_err(|_| EngineIoError::BadRequest)?;
    let sink = WsSink::default();
    let socket = SocketCell::of(req);
    if let Some(socket) = &socket {
        sink.outbound.on_abort(socket.aborter());
    }
    let reader = WsReader::new(body, sink.clone(), engine);
    let body = WsBody {
        sink,
        handed: 0,
        closed: false,
        engine: engine.clone(),
        socket,
    };
    Ok((response.streaming(body), reader))
}

/// Reads a probing WebSocket for the polling session it may replace:
/// nothing is read until the session accepts the probe.
async fn forward(session: Addr<Session>, mut reader: WsReader) {
    let sink = reader.sink.clone();
    if !matches!(session.send(AttachProbe(sink.clone())).await, Ok(Ok(()))) {
        sink.close();
        return;
    }
    while let Some(event) = reader.next().await {
        match event {
            WsEvent::Packet(packet) => session.do_send(Inbound {
                packets: Packets::One(packet),
                via: TransportKind::WebSocket,
            }),
            WsEvent::Malformed => {
                session.do_send(SessionRequest::Close(DisconnectReason::ParseError))
            }
        }
    }
    // A socket its session closed is no news to the session (nor to the
    // probe that may have followed it).
    if reader.closed_by_reader || !sink.is_closed() {
        session.do_send(TransportClosed(TransportKind::WebSocket));
    }
}

/// Decodes a WebSocket's frames (read from `P`, the request's body) into
/// Engine.IO packets. It answers the client's pings and close itself,
/// through the sink, and closes the socket with a status code on a
/// protocol error; the stream ends then, or with the connection.
struct WsReader<P = web::Payload> {
    payload: P,
    /// Bytes read and not yet decoded; let go when empty, so that an idle
    /// connection holds no buffer.
    buf: BytesMut,
    codec: Codec,
    sink: WsSink,
    /// A fragmented message being reassembled (text?, bytes so far);
    /// boxed, as few connections ever fragment.
    fragments: Option<Box<(bool, BytesMut)>>,
    engine: Engine,
    /// The reader closed the socket (a close frame or an error of the
    /// client's), not the session.
    closed_by_reader: bool,
    /// Nothing more is read.
    ended: bool,
}

impl<P> WsReader<P> {
    fn new(payload: P, sink: WsSink, engine: &Engine) -> WsReader<P> {
        WsReader {
            payload,
            buf: BytesMut::new(),
            codec: Codec::new().max_size(engine.config().max_payload),
            sink,
            fragments: None,
            engine: engine.clone(),
            closed_by_reader: false,
            ended: false,
        }
    }

    /// Closes the socket with `code` after what is queued, and stops
    /// reading.
    fn close(&mut self, code: Option<CloseCode>) {
        self.sink.close_with(code.map(u16::from));
        self.closed_by_reader = true;
        self.ended = true;
    }

    /// What a frame means to the session, if anything.
    fn on_frame(&mut self, frame: WsFrame) -> Option<WsEvent> {
        match frame {
            WsFrame::Text(data) => self.on_message(true, data),
            WsFrame::Binary(data) => self.on_message(false, data),
            WsFrame::Continuation(item) => self.on_fragment(item),
            WsFrame::Ping(data) => {
                self.sink.pong(data);
                None
            }
            WsFrame::Pong(_) => None,
            WsFrame::Close(reason) => {
                // Answer the client's close frame, as the protocol asks.
                self.close(reason.map(|r| r.code));
                None
            }
        }
    }

    fn on_message(&mut self, text: bool, data: Bytes) -> Option<WsEvent> {
        Stats::add(&self.engine.stats().bytes_in, data.len() as u64);
        if !text {
            return Some(WsEvent::Packet(Packet::Binary(data)));
        }
        let Ok(text) = ByteString::try_from(data) else {
            self.close(Some(CloseCode::Invalid));
            return None;
        };
        match decode_text(text) {
            Ok(packet) => Some(WsEvent::Packet(packet)),
            Err(err) => {
                debug!(%err, "malformed Engine.IO packet on websocket");
                Stats::bump(&self.engine.stats().malformed_packets);
                // A close frame without a code, as the Node server sends.
                self.sink.close();
                self.ended = true;
                Some(WsEvent::Malformed)
            }
        }
    }

    /// Reassembles a fragmented message, within maxPayload.
    fn on_fragment(&mut self, item: Item) -> Option<WsEvent> {
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
                    self.close(Some(CloseCode::Protocol));
                    return None;
                };
                buf.extend_from_slice(&data);
                let (text, too_big) = (*text, buf.len() > max);
                if too_big {
                    self.close(Some(CloseCode::Size));
                    return None;
                }
                if last {
                    let (_, buf) = *self.fragments.take().expect("checked above");
                    return self.on_message(text, buf.freeze());
                }
            }
        }
        None
    }
}

impl<P: Stream<Item = Result<Bytes, PayloadError>> + Unpin> Stream for WsReader<P> {
    type Item = WsEvent;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<WsEvent>> {
        let this = self.get_mut();
        loop {
            if this.ended {
                return Poll::Ready(None);
            }
            match this.codec.decode(&mut this.buf) {
                Ok(Some(frame)) => match this.on_frame(frame) {
                    Some(event) => return Poll::Ready(Some(event)),
                    None => continue,
                },
                Ok(None) => {}
                Err(ProtocolError::Overflow) => {
                    debug!("websocket message over maxPayload");
                    this.close(Some(CloseCode::Size));
                    continue;
                }
                Err(err) => {
                    debug!(%err, "websocket protocol error");
                    this.close(Some(CloseCode::Protocol));
                    continue;
                }
            }
            match Pin::new(&mut this.payload).poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => this.buf.extend_from_slice(&chunk),
                // The connection ended (or broke): so does the stream.
                Poll::Ready(Some(Err(_)) | None) => {
                    this.ended = true;
                    return Poll::Ready(None);
                }
                Poll::Pending => {
                    if this.buf.is_empty() {
                        this.buf = BytesMut::new();
                    }
                    return Poll::Pending;
                }
            }
        }
    }
}

/// The WebSocket's response body: the frames queued in the [`WsSink`] by
/// the session, by broadcasts and by the reader, each batch encoded into
/// one chunk.
///
/// actix-http polls a response body only while its write buffer holds
/// less than `h1_write_buffer_size` (32 KiB by default): a poll says the
/// chunks given before have left for the kernel, all but that much. So
/// what a poll took stays charged to the budget until the next one; a
/// client that stops reading keeps it charged, and the next writes find
/// the budget full.
struct WsBody {
    sink: WsSink,
    /// What the last batch was charged.
    handed: usize,
    /// The close frame is written: the body ends.
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

impl Stream for WsBody {
    type Item = Result<Bytes, std::convert::Infallible>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        this.sink.outbound.release(std::mem::take(&mut this.handed));
        if this.sink.outbound.is_aborted() || this.closed {
            return Poll::Ready(None);
        }
        let mut chunk = BytesMut::new();
        match this.sink.drain(cx.waker()) {
            Drained::Pong(data) => {
                Parser::write_message(&mut chunk, data, OpCode::Pong, true, false);
            }
            Drained::Frames(frames) => {
                this.handed = outbound::cost(frames.iter());
                let bytes = frames.iter().map(Frame::wire_len).sum::<usize>();
                Stats::add(&this.engine.stats().bytes_out, bytes as u64);
                return Poll::Ready(Some(Ok(encode_batch(frames, bytes))));
            }
            Drained::Closed(code) => {
                this.closed = true;
                let reason = code.map(|code| CloseReason::from(CloseCode::from(code)));
                Parser::write_close(&mut chunk, reason, false);
            }
            Drained::Empty => return Poll::Pending,
        }
        Poll::Ready(Some(Ok(chunk.freeze())))
    }
}

impl Drop for WsBody {
    fn drop(&mut self) {
        if let Some(socket) = &self.socket {
            socket.forget();
        }
    }
}

#[cfg(test)]
mod tests {
    use confab_engine::{EngineConfig, Namespaces};
    use futures_util::stream;

    use super::*;

    /// A client's frame, masked as a client sends it.
    fn client_frame(data: &[u8], op: OpCode, fin: bool) -> Vec<u8> {
        let mut frame = BytesMut::new();
        Parser::write_message(&mut frame, data, op, fin, true);
        frame.to_vec()
    }

    fn close_frame(code: u16) -> Vec<u8> {
        let mut frame = BytesMut::new();
        let reason = CloseReason::from(CloseCode::from(code));
        Parser::write_close(&mut frame, Some(reason), true);
        frame.to_vec()
    }

    fn engine(max_payload: usize) -> Engine {
        let config = EngineConfig {
            max_payload,
            ..EngineConfig::default()
        };
        Engine::start(config, Namespaces::default())
    }

    /// Reads `chunks` (as the connection delivers them) to the end: the
    /// events and what the reader queued in the sink.
    async fn read(chunks: Vec<Vec<u8>>, max_payload: usize) -> (Vec<WsEvent>, Vec<Drained>) {
        let engine = engine(max_payload);
        let sink = WsSink::default();
        let payload = stream::iter(
            chunks
                .into_iter()
                .map(|chunk| Ok::<_, PayloadError>(Bytes::from(chunk))),
        );
        let reader = WsReader::new(payload, sink.clone(), &engine);
        let events = reader.collect::<Vec<_>>().await;
        let mut queued = Vec::new();
        loop {
            match sink.drain(std::task::Waker::noop()) {
                Drained::Empty => break,
                Drained::Closed(code) => {
                    queued.push(Drained::Closed(code));
                    break;
                }
                other => queued.push(other),
            }
        }
        (events, queued)
    }

    fn message(event: &WsEvent) -> Option<&str> {
        match event {
            WsEvent::Packet(Packet::Message(text)) => Some(text.as_str()),
            _ => None,
        }
    }

    #[actix_rt::test]
    async fn text_frames_become_packets_even_split_across_reads() {
        let mut wire = client_frame(br#"4["a"]"#, OpCode::Text, true);
        wire.extend(client_frame(br#"4["b"]"#, OpCode::Text, true));
        let (first, second) = wire.split_at(5);
        let (events, queued) = read(vec![first.to_vec(), second.to_vec()], 1000).await;
        let texts: Vec<_> = events.iter().filter_map(message).collect();
        assert_eq!(texts, [r#"["a"]"#, r#"["b"]"#]);
        assert!(queued.is_empty(), "{queued:?}");
    }

    #[actix_rt::test]
    async fn a_fragmented_message_is_one_packet_and_binary_stays_binary() {
        let mut wire = client_frame(b"4he", OpCode::Text, false);
        wire.extend(client_frame(b"ll", OpCode::Continue, false));
        wire.extend(client_frame(b"o", OpCode::Continue, true));
        wire.extend(client_frame(&[1, 2, 3], OpCode::Binary, true));
        let (events, _) = read(vec![wire], 1000).await;
        assert_eq!(events.len(), 2, "{events:?}");
        assert_eq!(message(&events[0]), Some("hello"));
        assert!(
            matches!(&events[1], WsEvent::Packet(Packet::Binary(data)) if data[..] == [1, 2, 3])
        );
    }

    #[actix_rt::test]
    async fn a_ping_is_answered_and_a_close_is_answered_with_its_code() {
        let mut wire = client_frame(b"hi", OpCode::Ping, true);
        wire.extend(close_frame(1000));
        wire.extend(client_frame(b"4after", OpCode::Text, true));
        let (events, queued) = read(vec![wire], 1000).await;
        assert!(
            events.is_empty(),
            "nothing read after the close: {events:?}"
        );
        assert_eq!(
            queued,
            [
                Drained::Pong(Bytes::from_static(b"hi")),
                Drained::Closed(Some(1000))
            ]
        );
    }

    #[actix_rt::test]
    async fn protocol_errors_close_with_their_codes() {
        // Over maxPayload: 1009.
        let big = client_frame(&[b'4'; 64], OpCode::Text, true);
        let (events, queued) = read(vec![big], 32).await;
        assert!(events.is_empty());
        assert_eq!(queued, [Drained::Closed(Some(1009))]);
        // Fragments past maxPayload together: 1009 too.
        let mut wire = client_frame(&[b'4'; 20], OpCode::Text, false);
        wire.extend(client_frame(&[b'x'; 20], OpCode::Continue, true));
        let (_, queued) = read(vec![wire], 32).await;
        assert_eq!(queued, [Drained::Closed(Some(1009))]);
        // Text that is not UTF-8: 1007.
        let (_, queued) = read(vec![client_frame(&[b'4', 0xff], OpCode::Text, true)], 1000).await;
        assert_eq!(queued, [Drained::Closed(Some(1007))]);
        // A continuation with nothing to continue: 1002.
        let (_, queued) = read(vec![client_frame(b"x", OpCode::Continue, true)], 1000).await;
        assert_eq!(queued, [Drained::Closed(Some(1002))]);
        // An unmasked client frame: 1002.
        let mut unmasked = BytesMut::new();
        Parser::write_message(&mut unmasked, b"4x", OpCode::Text, true, false);
        let (_, queued) = read(vec![unmasked.to_vec()], 1000).await;
        assert_eq!(queued, [Drained::Closed(Some(1002))]);
    }

    #[actix_rt::test]
    async fn a_message_that_is_no_engine_io_packet_is_malformed_and_ends_the_reading() {
        let mut wire = client_frame(b"zzz", OpCode::Text, true);
        wire.extend(client_frame(b"4later", OpCode::Text, true));
        let (events, queued) = read(vec![wire], 1000).await;
        assert!(matches!(events[..], [WsEvent::Malformed]), "{events:?}");
        // A close frame without a code, as the Node server sends.
        assert_eq!(queued, [Drained::Closed(None)]);
    }

    #[actix_rt::test]
    async fn the_end_of_the_connection_ends_the_stream_without_a_close_frame() {
        let (events, queued) = read(vec![client_frame(b"2", OpCode::Text, false)], 1000).await;
        assert!(events.is_empty());
        assert!(queued.is_empty(), "{queued:?}");
    }
}
