//! Engine.IO v4 framing: packets for the WebSocket transport and payloads for
//! HTTP long-polling.
//!
//! Packets are parsed with `engineioxide-core`; what goes out is kept as a
//! ready-to-write [`Frame`], so that one broadcast is encoded once and its
//! bytes are shared by every recipient.

use std::sync::Arc;

use base64::Engine as _;
use bytes::{BufMut, Bytes, BytesMut};
use bytestring::ByteString;
pub use engineioxide_core::{OpenPacket, Packet, PacketParseError, ProtocolVersion, Sid, Str};

/// Separates the packets of one long-polling payload.
pub const PAYLOAD_SEPARATOR: u8 = 0x1e;

/// One Engine.IO packet as it goes on the wire.
///
/// `Text` holds the whole packet, type digit included (`"2"`, `"42[...]"`);
/// `Binary` holds raw bytes (a WebSocket binary frame, `b<base64>` in a
/// polling payload). Both are reference counted: cloning is cheap.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    Text(ByteString),
    Binary(Bytes),
}

/// The frames of one Socket.IO packet (its text and binary attachments),
/// shared between every recipient of a broadcast.
pub type Frames = Arc<[Frame]>;

impl Frame {
    /// A control packet that carries no data (`ping`, `noop`, `close`...).
    pub fn control(packet: Packet) -> Frame {
        Frame::from(packet)
    }

    /// Length of this frame inside a polling payload.
    fn payload_len(&self) -> usize {
        match self {
            Frame::Text(text) => text.len(),
            Frame::Binary(data) => {
                1 + base64::encoded_len(data.len(), true).unwrap_or(usize::MAX / 2)
            }
        }
    }

    /// Size counted against the outbound buffer limit.
    pub fn wire_len(&self) -> usize {
        match self {
            Frame::Text(text) => text.len(),
            Frame::Binary(data) => data.len(),
        }
    }
}

impl From<Packet> for Frame {
    fn from(packet: Packet) -> Frame {
        match packet {
            Packet::Binary(data) | Packet::BinaryV3(data) => Frame::Binary(data),
            other => Frame::Text(ByteString::from(String::from(other))),
        }
    }
}

/// Encodes frames into one long-polling payload (`\x1e`-separated, binary as
/// `b<base64>`).
pub fn encode_payload<'a>(frames: impl IntoIterator<Item = &'a Frame>) -> Bytes {
    let frames: Vec<&Frame> = frames.into_iter().collect();
    let len = frames.iter().map(|f| f.payload_len() + 1).sum::<usize>();
    let mut out = BytesMut::with_capacity(len);
    for (i, frame) in frames.into_iter().enumerate() {
        if i > 0 {
            out.put_u8(PAYLOAD_SEPARATOR);
        }
        match frame {
            Frame::Text(text) => out.put_slice(text.as_bytes()),
            Frame::Binary(data) => {
                out.put_u8(b'b');
                out.put_slice(
                    base64::engine::general_purpose::STANDARD
                        .encode(data)
                        .as_bytes(),
                );
            }
        }
    }
    out.freeze()
}

/// Why a long-polling body was refused.
#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    #[error("payload of {size} bytes exceeds maxPayload {max}")]
    TooLarge { size: usize, max: usize },
    #[error("payload is not UTF-8")]
    NotUtf8,
    #[error("invalid packet in payload: {0}")]
    Packet(#[from] PacketParseError),
}

/// Decodes one long-polling body into its packets, all or nothing.
pub fn decode_payload(body: Bytes, max_payload: usize) -> Result<Vec<Packet>, PayloadError> {
    if body.len() > max_payload {
        return Err(PayloadError::TooLarge {
            size: body.len(),
            max: max_payload,
        });
    }
    std::str::from_utf8(&body).map_err(|_| PayloadError::NotUtf8)?;
    body.split(|b| *b == PAYLOAD_SEPARATOR)
        .map(|chunk| {
            // SAFETY: the body was checked to be UTF-8 and 0x1e is an ASCII
            // byte, so every chunk between separators is UTF-8 too.
            let text = unsafe { Str::from_bytes_unchecked(body.slice_ref(chunk)) };
            Ok(Packet::parse(ProtocolVersion::V4, text)?)
        })
        .collect()
}

/// Parses one WebSocket text frame into an Engine.IO packet.
pub fn decode_text(text: ByteString) -> Result<Packet, PacketParseError> {
    // SAFETY: a ByteString is valid UTF-8.
    let text = unsafe { Str::from_bytes_unchecked(text.into_bytes()) };
    Packet::parse(ProtocolVersion::V4, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Frame {
        Frame::Text(ByteString::from(s))
    }

    #[test]
    fn payload_joins_packets_with_record_separator() {
        let frames = [
            text("2"),
            text("42[\"a\"]"),
            Frame::Binary(Bytes::from_static(&[1, 2, 3])),
        ];
        assert_eq!(&encode_payload(&frames)[..], b"2\x1e42[\"a\"]\x1ebAQID");
    }

    #[test]
    fn payload_decodes_text_and_base64_binary() {
        let packets = decode_payload(Bytes::from_static(b"3\x1e4hello\x1ebAQID"), 100).unwrap();
        assert_eq!(
            packets,
            vec![
                Packet::Pong,
                Packet::Message(Str::from("hello".to_string())),
                Packet::Binary(Bytes::from_static(&[1, 2, 3]))
            ]
        );
    }

    #[test]
    fn payload_over_max_is_refused() {
        let err = decode_payload(Bytes::from(vec![b'4'; 11]), 10).unwrap_err();
        assert!(matches!(err, PayloadError::TooLarge { size: 11, max: 10 }));
    }

    #[test]
    fn payload_with_unknown_packet_type_is_refused() {
        assert!(matches!(
            decode_payload(Bytes::from_static(b"4a\x1e9"), 100),
            Err(PayloadError::Packet(_))
        ));
        assert!(decode_payload(Bytes::from_static(b""), 100).is_err());
    }

    #[test]
    fn payload_with_invalid_utf8_is_refused() {
        assert!(matches!(
            decode_payload(Bytes::from_static(b"4\xff"), 100),
            Err(PayloadError::NotUtf8)
        ));
    }

    #[test]
    fn control_frames_are_single_digits() {
        assert_eq!(Frame::control(Packet::Ping), text("2"));
        assert_eq!(Frame::control(Packet::Noop), text("6"));
        assert_eq!(Frame::control(Packet::PongUpgrade), text("3probe"));
    }

    #[test]
    fn websocket_text_frames_parse() {
        assert_eq!(
            decode_text(ByteString::from("2probe")).unwrap(),
            Packet::PingUpgrade
        );
        assert_eq!(decode_text(ByteString::from("5")).unwrap(), Packet::Upgrade);
        assert!(decode_text(ByteString::from("x")).is_err());
    }
}
