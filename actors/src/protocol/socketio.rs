//! Socket.IO v5 packets over Engine.IO messages, with binary attachments.
//!
//! Decoding uses `socketioxide-parser-common`, then checks what that parser
//! leaves to its caller and the Node server checks: an event is a non-empty
//! JSON array whose first element is the event name, an ack is a JSON array.

use std::collections::VecDeque;

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

use super::engineio::{Frame, Frames, message_frame};

/// Why an incoming Socket.IO packet is refused. Any of these closes the
/// Engine.IO connection, as the Node server does on a parse error.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error("invalid JSON payload: {0}")]
    Json(#[from] serde_json::Error),
    #[error("event payload must be a non-empty array starting with the event name")]
    NotAnEvent,
    #[error("a client may not send a reserved event name")]
    ReservedEvent,
    #[error("ack payload must be an array")]
    NotAnAck,
    #[error("CONNECT payload must be a JSON object")]
    BadConnectPayload,
}

/// Per-connection decoding state: a binary packet waits here for its
/// attachments, which arrive as the next Engine.IO binary messages.
#[derive(Debug, Default)]
pub struct Decoder {
    state: ParserState,
    config: ParseConfig,
}

impl Decoder {
    pub fn new(max_attachment_bytes: usize) -> Self {
        let config = ParseConfig {
            max_incoming_binary_buf_size: max_attachment_bytes,
            ..ParseConfig::default()
        };
        Decoder {
            state: ParserState::default(),
            config,
        }
    }

    /// Decodes a text message. `Ok(None)`: a binary packet now waits for its
    /// attachments.
    pub fn text(&self, text: Str) -> Result<Option<Packet>, DecodeError> {
        complete(CommonParser.decode_str(&self.config, &self.state, text))
    }

    /// Feeds one binary attachment. `Ok(None)`: more attachments are due.
    pub fn binary(&self, data: Bytes) -> Result<Option<Packet>, DecodeError> {
        complete(CommonParser.decode_bin(&self.config, &self.state, data))
    }
}

fn complete(result: Result<Packet, ParseError>) -> Result<Option<Packet>, DecodeError> {
    match result {
        Ok(packet) => validate(&packet).map(|()| Some(packet)),
        Err(ParseError::NeedsMoreBinaryData) => Ok(None),
        Err(err) => Err(err.into()),
    }
}

fn validate(packet: &Packet) -> Result<(), DecodeError> {
    match &packet.inner {
        PacketData::Event(value, _) | PacketData::BinaryEvent(value, _) => {
            split_event(value).map(|_| ())
        }
        PacketData::EventAck(value, _) | PacketData::BinaryAck(value, _) => parse_array(value)
            .map_err(|_| DecodeError::NotAnAck)
            .map(|_| ()),
        PacketData::Connect(Some(value)) => {
            let text = value.as_str().map(|s| s.as_str()).unwrap_or("");
            match serde_json::from_str::<serde_json::Value>(text) {
                Ok(serde_json::Value::Object(_)) => Ok(()),
                _ => Err(DecodeError::BadConnectPayload),
            }
        }
        _ => Ok(()),
    }
}

fn text_of(value: &Value) -> &str {
    value.as_str().map(|s| s.as_str()).unwrap_or("")
}

fn parse_array(value: &Value) -> Result<Vec<&RawValue>, serde_json::Error> {
    serde_json::from_str(text_of(value))
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

/// Splits an event payload into its name and the JSON text of its argument
/// array (without the name), borrowing from the packet.
pub fn split_event(value: &Value) -> Result<(String, String), DecodeError> {
    let items = parse_array(value).map_err(|_| DecodeError::NotAnEvent)?;
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

    /// The payload value of an EVENT packet: the name first, then the args.
    fn with_event(&self, event: &str) -> Value {
        let name = serde_json::to_string(event).unwrap_or_else(|_| "\"\"".into());
        let rest = self.json.strip_prefix('[').unwrap_or(&self.json);
        let mut json = String::with_capacity(name.len() + self.json.len() + 1);
        json.push('[');
        json.push_str(&name);
        if rest != "]" {
            json.push(',');
        }
        json.push_str(rest);
        self.value(json)
    }

    fn value(&self, json: String) -> Value {
        let bins = (!self.attachments.is_empty()).then(|| VecDeque::from(self.attachments.clone()));
        Value::Str(Str::from(json), bins)
    }

    /// Encodes an EVENT (or BINARY_EVENT) packet for namespace `nsp`.
    pub fn event_frames(&self, nsp: &str, event: &str, ack_id: Option<i64>) -> Frames {
        let mut packet = Packet::event(Str::copy_from_slice(nsp), self.with_event(event));
        if let Some(id) = ack_id {
            packet.inner.set_ack_id(id);
        }
        encode(packet)
    }

    /// Encodes an ACK (or BINARY_ACK) packet answering `ack_id`.
    pub fn ack_frames(&self, nsp: &str, ack_id: i64) -> Frames {
        encode(Packet::ack(
            Str::copy_from_slice(nsp),
            self.value(self.json.clone()),
            ack_id,
        ))
    }
}

/// Encodes a packet into its frames: one text message, then one binary
/// message per attachment.
pub fn encode(packet: Packet) -> Frames {
    match CommonParser.encode(packet) {
        Value::Str(text, bins) => std::iter::once(message_frame(text.as_str()))
            .chain(bins.into_iter().flatten().map(Frame::Binary))
            .collect(),
        Value::Bytes(data) => Frames::from([Frame::Binary(data)]),
    }
}

/// CONNECT reply carrying the socket id.
pub fn connect_frames(nsp: &str, sid: &str) -> Frames {
    let payload = serde_json::json!({ "sid": sid }).to_string();
    encode(Packet::connect(
        Str::copy_from_slice(nsp),
        Some(Value::Str(Str::from(payload), None)),
    ))
}

/// CONNECT_ERROR `{message, data?}`, as `next(err)` gives it in Node. Built
/// here because the common parser writes the message only.
pub fn connect_error_frames(nsp: &str, message: &str, data: Option<&serde_json::Value>) -> Frames {
    // Written by hand: Node puts `message` first, and some clients compare.
    let message = serde_json::Value::String(message.to_owned());
    let body = match data {
        Some(data) => format!(r#"{{"message":{message},"data":{data}}}"#),
        None => format!(r#"{{"message":{message}}}"#),
    };
    let prefix = if nsp == "/" {
        String::new()
    } else {
        format!("{nsp},")
    };
    Frames::from([message_frame(&format!("4{prefix}{body}"))])
}

pub fn disconnect_frames(nsp: &str) -> Frames {
    encode(Packet::disconnect(Str::copy_from_slice(nsp)))
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

    fn decode(s: &str) -> Result<Option<Packet>, DecodeError> {
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
        let ack = args.ack_frames("/", 3);
        assert_eq!(text(&ack), r#"461-3[{"_placeholder":true,"num":0},"x"]"#);
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
        assert_eq!(text(&connect_frames("/", "abc")), r#"40{"sid":"abc"}"#);
        assert_eq!(
            text(&connect_error_frames("/x", "Invalid namespace", None)),
            r#"44/x,{"message":"Invalid namespace"}"#
        );
        assert_eq!(text(&disconnect_frames("/x")), "41/x,");
    }

    #[test]
    fn event_splits_into_name_and_args() {
        let packet = decode(r#"2/chat,12["msg",{"t":1},2]"#).unwrap().unwrap();
        assert_eq!(&*packet.ns, "/chat");
        let PacketData::Event(value, Some(12)) = packet.inner else {
            panic!("not an event with ack")
        };
        assert_eq!(
            split_event(&value).unwrap(),
            ("msg".to_string(), r#"[{"t":1},2]"#.to_string())
        );
    }

    #[test]
    fn numeric_event_names_are_allowed() {
        let packet = decode(r#"2[1,"x"]"#).unwrap().unwrap();
        let PacketData::Event(value, None) = packet.inner else {
            panic!("not an event")
        };
        assert_eq!(
            split_event(&value).unwrap(),
            ("1".to_string(), r#"["x"]"#.to_string())
        );
    }

    #[test]
    fn binary_event_waits_for_its_attachments() {
        let decoder = Decoder::default();
        let first = decoder.text(Str::from(
            r#"51-["up",{"_placeholder":true,"num":0}]"#.to_string(),
        ));
        assert!(first.unwrap().is_none());
        let packet = decoder
            .binary(Bytes::from_static(b"\x09"))
            .unwrap()
            .unwrap();
        let PacketData::BinaryEvent(Value::Str(_, Some(bins)), None) = packet.inner else {
            panic!("not binary")
        };
        assert_eq!(bins[0], Bytes::from_static(b"\x09"));
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
        assert!(decode(r#"31{"x":1}"#).is_err(), "ack not an array");
        assert!(decode("0[1]").is_err(), "connect payload not an object");
        assert!(
            Decoder::default().binary(Bytes::from_static(b"x")).is_err(),
            "unexpected attachment"
        );
    }

    #[test]
    fn valid_control_packets_decode() {
        assert!(matches!(
            decode("0").unwrap().unwrap().inner,
            PacketData::Connect(None)
        ));
        assert!(matches!(
            decode(r#"0/a,{"token":"t"}"#).unwrap().unwrap().inner,
            PacketData::Connect(Some(_))
        ));
        assert!(matches!(
            decode("1/a,").unwrap().unwrap().inner,
            PacketData::Disconnect
        ));
    }
}
