//! The client side of Engine.IO v4 / Socket.IO v5, as little as the load
//! needs: open a WebSocket or a long-polling session, CONNECT to `/` with
//! `auth.token`, answer pings, and read just enough of what comes back
//! (ack ids, the `ts` of a chat message) without a JSON parser.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::os::fd::AsRawFd;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

pub type Ws = WebSocketStream<TcpStream>;
pub type Error = Box<dyn std::error::Error>;

/// Where the server is, and how the load reaches it.
#[derive(Clone, Debug)]
pub struct Target {
    pub port: u16,
    pub path: String,
    pub token: String,
    /// Source addresses 127.0.0.1 ..= 127.0.0.<sources>, used round-robin,
    /// so that more than one address's ~28k ephemeral ports are available.
    pub sources: u8,
}

impl Target {
    fn server(&self) -> SocketAddr {
        SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, self.port))
    }

    fn query(&self, transport: &str, sid: Option<&str>) -> String {
        let mut q = format!("{}?EIO=4&transport={transport}", self.path);
        if let Some(sid) = sid {
            q.push_str("&sid=");
            q.push_str(sid);
        }
        q
    }

    fn connect_packet(&self) -> String {
        format!("40{}", serde_json::json!({ "token": self.token }))
    }

    /// A TCP connection to the server, from source address `idx % sources`.
    pub async fn tcp(&self, idx: usize) -> Result<TcpStream, Error> {
        let stream = if self.sources <= 1 {
            TcpStream::connect(self.server()).await?
        } else {
            let socket = TcpSocket::new_v4()?;
            // Pick the port at connect time, per (source, destination):
            // without this, bind() reserves a port from one global range.
            let one: libc::c_int = 1;
            // SAFETY: a valid fd and a c_int option value of the right size.
            let rc = unsafe {
                libc::setsockopt(
                    socket.as_raw_fd(),
                    libc::IPPROTO_IP,
                    libc::IP_BIND_ADDRESS_NO_PORT,
                    &one as *const _ as *const libc::c_void,
                    std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                )
            };
            if rc != 0 {
                return Err(std::io::Error::last_os_error().into());
            }
            let host = 1 + (idx % self.sources as usize) as u8;
            socket.bind(SocketAddr::V4(SocketAddrV4::new(
                Ipv4Addr::new(127, 0, 0, host),
                0,
            )))?;
            socket.connect(self.server()).await?
        };
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    /// A WebSocket session connected to `/` (open packet read, CONNECT
    /// answered). Pings that arrive meanwhile are answered.
    pub async fn ws(&self, idx: usize) -> Result<Ws, Error> {
        let stream = self.tcp(idx).await?;
        let url = format!(
            "ws://127.0.0.1:{}{}",
            self.port,
            self.query("websocket", None)
        );
        // Small buffers: tungstenite zero-fills its whole read buffer before
        // each read (128 KiB by default), which would dominate the client's
        // CPU and memory; the packets here are small.
        let config = WebSocketConfig::default()
            .read_buffer_size(4096)
            .write_buffer_size(0);
        let (mut ws, _) =
            tokio_tungstenite::client_async_with_config(url, stream, Some(config)).await?;
        let open = next_text(&mut ws).await?;
        if !open.starts_with('0') {
            return Err(format!("expected an open packet, got {open:?}").into());
        }
        ws.send(Message::text(self.connect_packet())).await?;
        loop {
            let text = next_text(&mut ws).await?;
            match text.as_bytes() {
                [b'4', b'0', ..] => return Ok(ws),
                [b'4', b'4', ..] => return Err(format!("CONNECT refused: {text}").into()),
                b"2" => ws.send(Message::text("3")).await?,
                _ => {}
            }
        }
    }
}

/// The next text message (pings answered, other frames skipped).
pub async fn next_text(ws: &mut Ws) -> Result<String, Error> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => return Ok(text.as_str().to_owned()),
            Some(Ok(Message::Close(_))) | None => return Err("connection closed".into()),
            Some(Ok(_)) => {}
            Some(Err(err)) => return Err(err.into()),
        }
    }
}

/// What one received Engine.IO text packet is, for the load's purposes.
#[derive(Debug, PartialEq)]
pub enum Incoming {
    Ping,
    /// An ack to the main namespace, by id.
    Ack(u64),
    /// A `chat` event, with the `ts` it carries.
    Chat(Option<u64>),
    Connected,
    Close,
    Other,
}

pub fn classify(text: &str) -> Incoming {
    let b = text.as_bytes();
    match b {
        b"2" => Incoming::Ping,
        b"1" => Incoming::Close,
        [b'4', b'3', rest @ ..] => match leading_number(rest) {
            Some(id) => Incoming::Ack(id),
            None => Incoming::Other,
        },
        [b'4', b'2', rest @ ..] if rest.starts_with(b"[\"chat\"") => {
            Incoming::Chat(number_after(text, "\"ts\":"))
        }
        [b'4', b'0', ..] => Incoming::Connected,
        [b'4', b'1'] => Incoming::Close,
        _ => Incoming::Other,
    }
}

fn leading_number(b: &[u8]) -> Option<u64> {
    let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 {
        return None;
    }
    std::str::from_utf8(&b[..digits]).ok()?.parse().ok()
}

fn number_after(text: &str, key: &str) -> Option<u64> {
    let at = text.find(key)? + key.len();
    leading_number(text[at..].trim_start().as_bytes())
}

/// `42<id>["event",<json>]`.
pub fn event(id: u64, name: &str, json: &str) -> String {
    format!("42{id}[\"{name}\",{json}]")
}

/// A long-polling session on one keep-alive HTTP/1.1 connection.
pub struct Polling {
    sender: http1::SendRequest<Full<Bytes>>,
    host: String,
    get_uri: String,
    post_uri: String,
}

impl Polling {
    /// Opens the session and CONNECTs to `/`.
    pub async fn open(target: &Target, idx: usize) -> Result<Polling, Error> {
        let stream = target.tcp(idx).await?;
        let (sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
        tokio::task::spawn_local(async move {
            let _ = conn.await;
        });
        let mut polling = Polling {
            sender,
            host: format!("127.0.0.1:{}", target.port),
            get_uri: target.query("polling", None),
            post_uri: String::new(),
        };
        let open = polling.get().await?;
        let open = open
            .split('\u{1e}')
            .next()
            .and_then(|p| p.strip_prefix('0'))
            .ok_or_else(|| format!("expected an open packet, got {open:?}"))?;
        let open: serde_json::Value = serde_json::from_str(open)?;
        let sid = open["sid"].as_str().ok_or("open packet without sid")?;
        polling.get_uri = target.query("polling", Some(sid));
        polling.post_uri = polling.get_uri.clone();
        polling.post(target.connect_packet()).await?;
        loop {
            let body = polling.get().await?;
            for packet in body.split('\u{1e}') {
                match classify(packet) {
                    Incoming::Connected => return Ok(polling),
                    Incoming::Ping => polling.post("3".into()).await?,
                    _ if packet.starts_with("44") => {
                        return Err(format!("CONNECT refused: {packet}").into());
                    }
                    _ => {}
                }
            }
        }
    }

    async fn request(&mut self, method: Method, uri: &str, body: String) -> Result<String, Error> {
        self.sender.ready().await?;
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header(hyper::header::HOST, &self.host);
        if !body.is_empty() {
            req = req.header(hyper::header::CONTENT_TYPE, "text/plain;charset=UTF-8");
        }
        let req = req.body(Full::new(Bytes::from(body)))?;
        let resp = self.sender.send_request(req).await?;
        let status = resp.status();
        let body = resp.into_body().collect().await?.to_bytes();
        if !status.is_success() {
            return Err(format!("HTTP {status}: {}", String::from_utf8_lossy(&body)).into());
        }
        Ok(String::from_utf8(body.to_vec())?)
    }

    /// One long-polling GET: the packets, `\x1e`-separated.
    pub async fn get(&mut self) -> Result<String, Error> {
        let uri = self.get_uri.clone();
        self.request(Method::GET, &uri, String::new()).await
    }

    pub async fn post(&mut self, body: String) -> Result<(), Error> {
        let uri = self.post_uri.clone();
        self.request(Method::POST, &uri, body).await.map(|_| ())
    }
}

/// Ends a WebSocket session politely (Engine.IO close, then the socket).
/// A joined fan-out member's end, read without tungstenite: the raw TCP
/// stream, read in large chunks and parsed in place (a server's frames are
/// unmasked). tungstenite's work per message (zeroing its read buffer, one
/// `String` per message, its waker bookkeeping) made the load generator,
/// not the servers, the first to saturate in the fan-out scenario.
pub struct RawWs {
    tcp: TcpStream,
    buf: BytesMut,
}

/// A WebSocket frame read from the server.
pub enum RawFrame<'a> {
    Text(&'a str),
    /// A WebSocket-level ping (answered by the reader).
    Ping,
    Close,
    Other,
}

impl RawWs {
    /// Takes over a session that expects nothing from the server right
    /// now (tungstenite may hold bytes it read ahead: none are due).
    pub fn from_ws(ws: Ws) -> RawWs {
        RawWs {
            tcp: ws.into_inner(),
            buf: BytesMut::with_capacity(64 * 1024),
        }
    }

    /// Reads once (at least one byte, or the end) and hands every whole
    /// frame to `on_frame`.
    pub async fn read(&mut self, mut on_frame: impl FnMut(RawFrame<'_>)) -> Result<(), Error> {
        if self.tcp.read_buf(&mut self.buf).await? == 0 {
            return Err("connection closed".into());
        }
        let mut pings = 0;
        let mut at = 0;
        while let Some((opcode, start, end)) = frame_at(&self.buf[at..]) {
            let payload = &self.buf[at + start..at + end];
            match opcode {
                0x1 => match std::str::from_utf8(payload) {
                    Ok(text) => on_frame(RawFrame::Text(text)),
                    Err(_) => return Err("text frame is not UTF-8".into()),
                },
                0x8 => on_frame(RawFrame::Close),
                0x9 => {
                    pings += 1;
                    on_frame(RawFrame::Ping)
                }
                _ => on_frame(RawFrame::Other),
            }
            at += end;
        }
        self.buf.advance(at);
        if self.buf.capacity() - self.buf.len() < 4096 {
            self.buf.reserve(64 * 1024);
        }
        for _ in 0..pings {
            self.write_frame(0xA, b"").await?;
        }
        Ok(())
    }

    /// Sends a text message (masked, with a zero key: the payload as is).
    pub async fn send_text(&mut self, text: &str) -> Result<(), Error> {
        self.write_frame(0x1, text.as_bytes()).await
    }

    async fn write_frame(&mut self, opcode: u8, payload: &[u8]) -> Result<(), Error> {
        if payload.len() > 125 {
            return Err("only short client frames are sent".into());
        }
        let mut frame = Vec::with_capacity(6 + payload.len());
        frame.extend_from_slice(&[0x80 | opcode, 0x80 | payload.len() as u8, 0, 0, 0, 0]);
        frame.extend_from_slice(payload);
        self.tcp.write_all(&frame).await?;
        Ok(())
    }
}

/// The opcode and payload range of the whole frame at the start of `b`, if
/// it is all there.
fn frame_at(b: &[u8]) -> Option<(u8, usize, usize)> {
    if b.len() < 2 {
        return None;
    }
    let opcode = b[0] & 0x0F;
    let (len, header) = match b[1] & 0x7F {
        126 => (u16::from_be_bytes([*b.get(2)?, *b.get(3)?]) as usize, 4),
        127 => (
            u64::from_be_bytes(b.get(2..10)?.try_into().ok()?) as usize,
            10,
        ),
        n => (n as usize, 2usize),
    };
    let end = header.checked_add(len)?;
    (b.len() >= end).then_some((opcode, header, end))
}

pub async fn close_ws(mut ws: Ws) {
    let _ = tokio::time::timeout(Duration::from_millis(200), async {
        let _ = ws.send(Message::text("1")).await;
        let _ = ws.close(None).await;
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_whole_server_frames_only() {
        assert_eq!(frame_at(&[0x81, 2, b'4', b'2']), Some((1, 2, 4)));
        assert_eq!(frame_at(&[0x81, 3, b'4', b'2']), None);
        let mut long = vec![0x81, 126, 0x01, 0x00];
        long.extend(std::iter::repeat_n(b'x', 256));
        assert_eq!(frame_at(&long), Some((1, 4, 260)));
        assert_eq!(frame_at(&long[..100]), None);
        assert_eq!(frame_at(&[0x89, 0]), Some((9, 2, 2)));
        assert_eq!(frame_at(&[0x81]), None);
    }

    #[test]
    fn classifies_packets() {
        assert_eq!(classify("2"), Incoming::Ping);
        assert_eq!(classify("4317[{\"a\":1}]"), Incoming::Ack(17));
        assert_eq!(classify("43[true]"), Incoming::Other);
        assert_eq!(
            classify("42[\"chat\",{\"room\":\"r1\",\"text\":\"x\",\"ts\":12345}]"),
            Incoming::Chat(Some(12345))
        );
        assert_eq!(classify("40{\"sid\":\"x\"}"), Incoming::Connected);
        assert_eq!(event(3, "echo", "{}"), "423[\"echo\",{}]");
    }
}
