//! Socket.IO v5 packets over Engine.IO messages, with binary attachments.
//!
//! Decoding uses `socketioxide-parser-common` for the packet frame and the
//! attachments, then turns each packet into a typed [`Incoming`], checking
//! what that parser leaves to its caller and the Node server checks (an
//! event is a non-empty array named by a string or number, an ack is an
//! array, a CONNECT payload an object). Each payload is parsed once.
//!
//! Encoding is written by hand: a packet is one `String` built in place,
//! `4` (the Engine.IO message) included, then one binary frame per
//! attachment.

use std::fmt::Write as _;

use bytes::Bytes;
use serde::Serialize;
use serde_json::value::RawValue;
use socketioxide_core::parser::{Parse, ParseConfig, ParserState};
use socketioxide_parser_common::CommonParser;

pub use socketioxide_core::{
    Str, Value,
    packet::{Packet, PacketData},
    parser::ParseError,
};

use super::engineio::{Frame, Frames};

/// Why an incoming Socket.IO packet is refused. Any of these closes the
/// Engine.IO connection, as the Node server does on a parse error.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error("event payload must be a non-empty array starting with the event name")]
    NotAnEvent,
    #[error("a client may not send a reserved event name")]
    ReservedEvent,
    #[error("ack payload must be an array")]
    NotAnAck,
    #[error("CONNECT payload must be a JSON object")]
    BadConnectPayload,
    #[error("a client may not send CONNECT_ERROR")]
    ClientConnectError,
    #[error("ack id too large")]
    AckIdTooLarge,
}

/// A packet from a client, parsed and checked.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// CONNECT with its `auth` object (`{}` when absent).
    Connect {
        nsp: String,
        auth: serde_json::Value,
    },
    Disconnect {
        nsp: String,
    },
    Event {
        nsp: String,
        name: String,
        args: Args,
        ack: Option<i64>,
    },
    Ack {
        nsp: String,
        id: i64,
        args: Args,
    },
}

/// Event names a client may not send: the Socket.IO client and server use
/// them for their own lifecycle.
pub const RESERVED_EVENTS: [&str; 6] = [
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// Per-connection decoding state: a binary packet waits here for its
/// attachments, which arrive as the next Engine.IO binary messages.
#[derive(Debug)]
pub struct Decoder {
    /// The parser's state while a binary packet waits for its attachments,
    /// none otherwise: the state is ~180 bytes, which every idle session
    /// kept inline, and a state without a partial packet is the default.
    pending: Option<Box<ParserState>>,
    /// The parser's configuration is made from this on each call, not
    /// kept: 32 bytes less in every session.
    max_attachment_bytes: usize,
}

/// The parser's own limits.
impl Default for Decoder {
    fn default() -> Self {
        Decoder::new(ParseConfig::default().max_incoming_binary_buf_size)
    }
}

impl Decoder {
    pub fn new(max_attachment_bytes: usize) -> Self {
        Decoder {
            pending: None,
            max_attachment_bytes,
        }
    }

    fn config(&self) -> ParseConfig {
        ParseConfig {
            max_incoming_binary_buf_size: self.max_attachment_bytes,
            ..ParseConfig::default()
        }
    }

    /// Decodes a text message. `Ok(None)`: a binary packet now waits for its
    /// attachments.
    pub fn text(&mut self, text: Str) -> Result<Option<Incoming>, DecodeError> {
        if ack_id_too_large(text.as_str()) {
            return Err(DecodeError::AckIdTooLarge);
        }
        self.parse(|config, state| CommonParser.decode_str(config, state, text))
    }

    /// Feeds one binary attachment. `Ok(None)`: more attachments are due.
    pub fn binary(&mut self, data: Bytes) -> Result<Option<Incoming>, DecodeError> {
        self.parse(|config, state| CommonParser.decode_bin(config, state, data))
    }

    /// Runs the parser on the pending state, or on a default one on the
    /// stack (no allocation per message), and keeps the state only while
    /// it holds a partial packet.
    fn parse(
        &mut self,
        parse: impl FnOnce(&ParseConfig, &ParserState) -> Result<Packet, ParseError>,
    ) -> Result<Option<Incoming>, DecodeError> {
        let config = self.config();
        let result = match self.pending.take() {
            Some(state) => {
                let result = parse(&config, &state);
                if partial(&state) {
                    self.pending = Some(state);
                }
                result
            }
            None => {
                let state = ParserState::default();
                let result = parse(&config, &state);
                if partial(&state) {
                    self.pending = Some(Box::new(state));
                }
                result
            }
        };
        complete(result)
    }
}

/// Whether the parser holds a binary packet waiting for attachments.
fn partial(state: &ParserState) -> bool {
    state
        .partial_bin_packet
        .lock()
        .is_ok_and(|packet| packet.is_some())
}

/// Whether an EVENT's ack id is too large for an `i64`. The parser reads
/// such an id as no id at all, so the event would run and its sender wait
/// for an ack that never comes (the Node server answers with the id rounded
/// to a double, which the client cannot match either): it is refused like
/// any other invalid id. Only the header is read: type, attachment count,
/// namespace, then the id's digits up to the payload.
fn ack_id_too_large(text: &str) -> bool {
    let mut rest = match text.as_bytes().first() {
        Some(b'2') => &text[1..],
        Some(b'5') => text[1..].split_once('-').map_or("", |(_, rest)| rest),
        _ => return false,
    };
    if rest.starts_with('/') {
        rest = rest.split_once(',').map_or("", |(_, rest)| rest);
    }
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0 && rest[digits..].starts_with(['[', '{']) && rest[..digits].parse::<i64>().is_err()
}

fn complete(result: Result<Packet, ParseError>) -> Result<Option<Incoming>, DecodeError> {
    match result {
        Ok(packet) => typed(packet).map(Some),
        Err(ParseError::NeedsMoreBinaryData) => Ok(None),
        Err(err) => Err(err.into()),
    }
}

/// The text and attachments of a decoded payload.
fn parts(value: Value) -> (Str, Vec<Bytes>) {
    match value {
        Value::Str(text, bins) => (text, bins.map(Vec::from).unwrap_or_default()),
        Value::Bytes(_) => (Str::from(String::new()), Vec::new()),
    }
}

fn typed(packet: Packet) -> Result<Incoming, DecodeError> {
    let nsp = packet.ns.as_str().to_owned();
    Ok(match packet.inner {
        PacketData::Connect(auth) => {
            let auth = match auth {
                None => serde_json::Value::Object(Default::default()),
                Some(value) => match serde_json::from_str(parts(value).0.as_str()) {
                    Ok(object @ serde_json::Value::Object(_)) => object,
                    _ => return Err(DecodeError::BadConnectPayload),
                },
            };
            Incoming::Connect { nsp, auth }
        }
        PacketData::Disconnect => Incoming::Disconnect { nsp },
        PacketData::Event(value, ack) | PacketData::BinaryEvent(value, ack) => {
            let (text, attachments) = parts(value);
            let (name, json) = split_event(text.as_str())?;
            Incoming::Event {
                nsp,
                name,
                args: Args::from_raw(json, attachments),
                ack,
            }
        }
        PacketData::EventAck(value, id) | PacketData::BinaryAck(value, id) => {
            let (text, attachments) = parts(value);
            serde_json::from_str::<Vec<&RawValue>>(text.as_str())
                .map_err(|_| DecodeError::NotAnAck)?;
            Incoming::Ack {
                nsp,
                id,
                args: Args::from_raw(text.as_str().to_owned(), attachments),
            }
        }
        PacketData::ConnectError(_) => return Err(DecodeError::ClientConnectError),
    })
}

/// Splits an event payload into its name and the JSON text of its argument
/// array (without the name).
pub fn split_event(text: &str) -> Result<(String, String), DecodeError> {
    let items: Vec<&RawValue> = serde_json::from_str(text).map_err(|_| DecodeError::NotAnEvent)?;
    let (name, args) = items.split_first().ok_or(DecodeError::NotAnEvent)?;
    // A string, or a number as the Node server allows; never a reserved name.
    let name = match serde_json::from_str::<serde_json::Value>(name.get()) {
        Ok(serde_json::Value::String(name)) if !RESERVED_EVENTS.contains(&name.as_str()) => name,
        Ok(serde_json::Value::String(_)) => return Err(DecodeError::ReservedEvent),
        Ok(serde_json::Value::Number(n)) => n.to_string(),
        _ => return Err(DecodeError::NotAnEvent),
    };
    Ok((name, join_array(args)))
}

/// The JSON text of an array built from raw elements.
fn join_array(items: &[&RawValue]) -> String {
    let mut out = String::with_capacity(2 + items.iter().map(|v| v.get().len() + 1).sum::<usize>());
    out.push('[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(item.get());
    }
    out.push(']');
    out
}

/// A Socket.IO argument list, encoded: the JSON array text (binary parts as
/// `{"_placeholder":true,"num":n}`) and the attachments in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Args {
    json: String,
    attachments: Vec<Bytes>,
}

/// Why data could not be encoded as Socket.IO arguments.
#[derive(Debug, thiserror::Error)]
#[error("cannot encode arguments: {0}")]
pub struct EncodeError(String);

impl Args {
    /// Encodes `data` as arguments: a tuple becomes several arguments,
    /// anything else one argument; `bytes::Bytes` values become attachments.
    pub fn new<T: Serialize + ?Sized>(data: &T) -> Result<Args, EncodeError> {
        match CommonParser
            .encode_value(data, None)
            .map_err(|e| EncodeError(e.to_string()))?
        {
            Value::Str(json, bins) => Ok(Args {
                json: json.as_str().to_owned(),
                attachments: bins.map(Vec::from).unwrap_or_default(),
            }),
            Value::Bytes(_) => Err(EncodeError("binary value without text".into())),
        }
    }

    /// No argument at all.
    pub fn empty() -> Args {
        Args {
            json: "[]".into(),
            attachments: Vec::new(),
        }
    }

    /// Arguments from their JSON array text and attachments, as received.
    pub fn from_raw(json: String, attachments: Vec<Bytes>) -> Args {
        Args { json, attachments }
    }

    pub fn json(&self) -> &str {
        &self.json
    }

    pub fn attachments(&self) -> &[Bytes] {
        &self.attachments
    }

    /// These arguments and one more text argument after them (the offset
    /// connection state recovery appends to an event).
    pub fn with_last(&self, text: &str) -> Args {
        let value = serde_json::Value::String(text.to_owned());
        let json = match self.json.strip_suffix(']') {
            Some(head) if head.trim_end() == "[" => format!("[{value}]"),
            Some(head) => format!("{head},{value}]"),
            None => format!("[{value}]"),
        };
        Args {
            json,
            attachments: self.attachments.clone(),
        }
    }

    /// The packet text up to its payload: `4`, the type (binary when there
    /// are attachments), `<n>-`, the namespace and the ack id.
    fn header(&self, kind: Kind, nsp: &str, id: Option<i64>, extra: usize) -> String {
        let mut out = String::with_capacity(self.json.len() + nsp.len() + extra + 24);
        let binary = !self.attachments.is_empty();
        out.push('4');
        out.push(char::from(b'0' + kind.code(binary)));
        if binary {
            let _ = write!(out, "{}-", self.attachments.len());
        }
        if nsp != "/" {
            out.push_str(nsp);
            out.push(',');
        }
        if let Some(id) = id {
            let _ = write!(out, "{id}");
        }
        out
    }

    fn frames(&self, text: String) -> Frames {
        std::iter::once(Frame::Text(text.into()))
            .chain(self.attachments.iter().cloned().map(Frame::Binary))
            .collect()
    }

    /// Encodes an EVENT (or BINARY_EVENT) packet for namespace `nsp`.
    pub fn event_frames(&self, nsp: &str, event: &str, ack_id: Option<i64>) -> Frames {
        let name = serde_json::to_string(event).unwrap_or_else(|_| "\"\"".into());
        let mut text = self.header(Kind::Event, nsp, ack_id, name.len());
        let rest = self.json.strip_prefix('[').unwrap_or(&self.json);
        text.push('[');
        text.push_str(&name);
        if rest != "]" {
            text.push(',');
        }
        text.push_str(rest);
        self.frames(text)
    }

    /// Encodes an ACK (or BINARY_ACK) packet answering `ack_id`.
    pub fn ack_frames(&self, nsp: &str, ack_id: i64) -> Frames {
        let mut text = self.header(Kind::Ack, nsp, Some(ack_id), 0);
        text.push_str(&self.json);
        self.frames(text)
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Event,
    Ack,
}

impl Kind {
    fn code(self, binary: bool) -> u8 {
        match (self, binary) {
            (Kind::Event, false) => 2,
            (Kind::Ack, false) => 3,
            (Kind::Event, true) => 5,
            (Kind::Ack, true) => 6,
        }
    }
}

/// A packet without attachments: `4`, its type digit, the namespace, a body.
fn control_frames(kind: char, nsp: &str, body: &str) -> Frames {
    let mut text = String::with_capacity(nsp.len() + body.len() + 3);
    text.push('4');
    text.push(kind);
    if nsp != "/" {
        text.push_str(nsp);
        text.push(',');
    }
    text.push_str(body);
    Frames::from([Frame::Text(text.into())])
}

/// CONNECT reply carrying the socket id, and its private session id when
/// connection state recovery is on.
pub fn connect_frames(nsp: &str, sid: &str, pid: Option<&str>) -> Frames {
    let body = match pid {
        Some(pid) => format!(r#"{{"sid":"{sid}","pid":"{pid}"}}"#),
        None => format!(r#"{{"sid":"{sid}"}}"#),
    };
    control_frames('0', nsp, &body)
}

/// CONNECT_ERROR `{message, data?}`, as `next(err)` gives it in Node, with
/// `message` first as Node writes it.
pub fn connect_error_frames(nsp: &str, message: &str, data: Option<&serde_json::Value>) -> Frames {
    let message = serde_json::Value::String(message.to_owned());
    let body = match data {
        Some(data) => format!(r#"{{"message":{message},"data":{data}}}"#),
        None => format!(r#"{{"message":{message}}}"#),
    };
    control_frames('4', nsp, &body)
}

pub fn disconnect_frames(nsp: &str) -> Frames {
    control_frames('1', nsp, "")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(frames: &Frames) -> String {
        match &frames[0] {
            Frame::Text(t) => t.to_string(),
            Frame::Binary(_) => panic!("binary first"),
        }
    }

    fn decode(s: &str) -> Result<Option<Incoming>, DecodeError> {
        Decoder::default().text(Str::from(s.to_string()))
    }

    #[test]
    fn event_with_namespace_and_ack_id_encodes_like_node() {
        let args = Args::new(&serde_json::json!({"a": 1})).unwrap();
        assert_eq!(
            text(&args.event_frames("/admin", "hi", Some(7))),
            r#"42/admin,7["hi",{"a":1}]"#
        );
        assert_eq!(
            text(&Args::empty().event_frames("/", "hi", None)),
            r#"42["hi"]"#
        );
        assert_eq!(
            text(&Args::new(&"é\"").unwrap().event_frames("/", "x", None)),
            r#"42["x","é\""]"#
        );
    }

    #[test]
    fn array_data_stays_one_argument() {
        let args = Args::new(&serde_json::json!([[1, 2], 3])).unwrap();
        assert_eq!(
            text(&args.event_frames("/", "a", None)),
            r#"42["a",[[1,2],3]]"#
        );
        let nested = Args::from_raw("[[1]]".into(), vec![]);
        assert_eq!(text(&nested.event_frames("/", "a", None)), r#"42["a",[1]]"#);
        let offset = nested.with_last("17");
        assert_eq!(
            text(&offset.event_frames("/", "a", None)),
            r#"42["a",[1],"17"]"#
        );
        let none = Args::empty().with_last("18");
        assert_eq!(text(&none.event_frames("/", "a", None)), r#"42["a","18"]"#);
    }

    #[test]
    fn tuple_becomes_several_arguments() {
        let args = Args::new(&(1, "two")).unwrap();
        assert_eq!(args.json(), r#"[1,"two"]"#);
    }

    #[test]
    fn binary_arguments_become_attachments() {
        let args = Args::new(&(Bytes::from_static(b"\x01\x02"), "x")).unwrap();
        let frames = args.event_frames("/", "file", None);
        assert_eq!(
            text(&frames),
            r#"451-["file",{"_placeholder":true,"num":0},"x"]"#
        );
        assert_eq!(frames[1], Frame::Binary(Bytes::from_static(b"\x01\x02")));
        let ack = args.ack_frames("/x", 3);
        assert_eq!(text(&ack), r#"461-/x,3[{"_placeholder":true,"num":0},"x"]"#);
        assert_eq!(text(&Args::empty().ack_frames("/", 12)), "4312[]");
    }

    #[test]
    fn connect_error_data_comes_after_the_message() {
        let data = serde_json::json!({"reason": "bad token"});
        assert_eq!(
            text(&connect_error_frames("/admin", "unauthorized", Some(&data))),
            r#"44/admin,{"message":"unauthorized","data":{"reason":"bad token"}}"#
        );
    }

    #[test]
    fn connect_and_errors_encode_like_node() {
        assert_eq!(
            text(&connect_frames("/", "abc", None)),
            r#"40{"sid":"abc"}"#
        );
        assert_eq!(
            text(&connect_frames("/", "abc", Some("p1"))),
            r#"40{"sid":"abc","pid":"p1"}"#
        );
        assert_eq!(
            text(&connect_error_frames("/x", "Invalid namespace", None)),
            r#"44/x,{"message":"Invalid namespace"}"#
        );
        assert_eq!(text(&disconnect_frames("/x")), "41/x,");
        assert_eq!(text(&disconnect_frames("/")), "41");
    }

    #[test]
    fn event_splits_into_name_and_args() {
        let incoming = decode(r#"2/chat,12["msg",{"t":1},2]"#).unwrap().unwrap();
        let expected = Incoming::Event {
            nsp: "/chat".into(),
            name: "msg".into(),
            args: Args::from_raw(r#"[{"t":1},2]"#.into(), vec![]),
            ack: Some(12),
        };
        assert_eq!(incoming, expected);
    }

    #[test]
    fn numeric_event_names_are_allowed() {
        let Incoming::Event { name, args, .. } = decode(r#"2[1,"x"]"#).unwrap().unwrap() else {
            panic!("not an event")
        };
        assert_eq!((name.as_str(), args.json()), ("1", r#"["x"]"#));
    }

    #[test]
    fn binary_event_waits_for_its_attachments() {
        let mut decoder = Decoder::default();
        let first = decoder.text(Str::from(
            r#"51-["up",{"_placeholder":true,"num":0}]"#.to_string(),
        ));
        assert!(first.unwrap().is_none());
        let Incoming::Event { args, .. } = decoder
            .binary(Bytes::from_static(b"\x09"))
            .unwrap()
            .unwrap()
        else {
            panic!("not an event")
        };
        assert_eq!(args.attachments(), [Bytes::from_static(b"\x09")]);
    }

    #[test]
    fn parser_state_is_kept_only_while_a_packet_waits() {
        let mut decoder = Decoder::default();
        let header = r#"51-["up",{"_placeholder":true,"num":0}]"#;
        assert!(
            decoder
                .text(Str::from(header.to_string()))
                .unwrap()
                .is_none()
        );
        assert!(decoder.pending.is_some());
        // Its attachment must come next: a text packet meanwhile is refused.
        assert!(decoder.text(Str::from(r#"2["x"]"#.to_string())).is_err());
        assert!(decoder.pending.is_some());
        decoder
            .binary(Bytes::from_static(b"\x09"))
            .unwrap()
            .unwrap();
        assert!(decoder.pending.is_none());
        assert!(
            decoder
                .text(Str::from(r#"2["x"]"#.to_string()))
                .unwrap()
                .is_some()
        );
        assert!(decoder.pending.is_none());
        assert!(decoder.binary(Bytes::from_static(b"\x09")).is_err());
    }

    #[test]
    fn the_largest_ack_id_is_kept() {
        let Incoming::Event { ack, .. } =
            decode(r#"2/a,9223372036854775807["x"]"#).unwrap().unwrap()
        else {
            panic!("not an event")
        };
        assert_eq!(ack, Some(i64::MAX));
        let Incoming::Event { ack, .. } = decode(r#"2["x",12345678901234567890123]"#)
            .unwrap()
            .unwrap()
        else {
            panic!("not an event")
        };
        assert_eq!(ack, None, "digits in the payload are not an id");
    }

    #[test]
    fn acks_keep_their_arguments() {
        let incoming = decode(r#"3/a,5["x",1]"#).unwrap().unwrap();
        let expected = Incoming::Ack {
            nsp: "/a".into(),
            id: 5,
            args: Args::from_raw(r#"["x",1]"#.into(), vec![]),
        };
        assert_eq!(incoming, expected);
    }

    #[test]
    fn malformed_packets_are_refused() {
        assert!(decode("9").is_err(), "unknown type");
        assert!(decode(r#"2["a",{]"#).is_err(), "invalid JSON");
        assert!(decode(r#"2{"a":1}"#).is_err(), "non-array event");
        assert!(decode("2[]").is_err(), "empty event");
        assert!(decode("2[null]").is_err(), "event name not a string");
        assert!(decode(r#"2["disconnect"]"#).is_err(), "reserved event name");
        assert!(decode(r#"2["connect"]"#).is_err(), "reserved event name");
        assert!(decode(r#"3abc["x"]"#).is_err(), "ack without id");
        assert!(
            matches!(
                decode(r#"29223372036854775808["x"]"#),
                Err(DecodeError::AckIdTooLarge)
            ),
            "ack id above i64::MAX"
        );
        assert!(
            matches!(
                decode(r#"51-/a,99999999999999999999["x",{"_placeholder":true,"num":0}]"#),
                Err(DecodeError::AckIdTooLarge)
            ),
            "binary event ack id above i64::MAX"
        );
        assert!(decode(r#"31{"x":1}"#).is_err(), "ack not an array");
        assert!(decode("0[1]").is_err(), "connect payload not an object");
        assert!(
            decode(r#"4{"message":"x"}"#).is_err(),
            "client CONNECT_ERROR"
        );
        assert!(
            Decoder::default().binary(Bytes::from_static(b"x")).is_err(),
            "unexpected attachment"
        );
    }

    #[test]
    fn valid_control_packets_decode() {
        assert_eq!(
            decode("0").unwrap().unwrap(),
            Incoming::Connect {
                nsp: "/".into(),
                auth: serde_json::json!({})
            }
        );
        assert_eq!(
            decode(r#"0/a,{"token":"t"}"#).unwrap().unwrap(),
            Incoming::Connect {
                nsp: "/a".into(),
                auth: serde_json::json!({"token": "t"})
            }
        );
        assert_eq!(
            decode("1/a,").unwrap().unwrap(),
            Incoming::Disconnect { nsp: "/a".into() }
        );
    }
}
