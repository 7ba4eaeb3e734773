//! A broadcast on a namespace's broadcast channel: the msgpack array
//! `[uid, packet, opts]` that the Node adapter's `broadcast()` and the
//! emitter's `emit()` publish, with `packet = {type, data, nsp, id?}` (a
//! Socket.IO EVENT, `data = [name, ...args]`) and
//! `opts = {rooms, except, flags}`.

use confab_engine::Args;
use rmpv::Value;

use crate::data::{event_to_value, value_to_event};
use crate::wire::{self, Selection, WireError, get, map, strings};

/// The Socket.IO packet type of an event; Node publishes it even when the
/// data holds Buffers (its encoder makes it BINARY_EVENT per client).
const EVENT: u64 = 2;
const BINARY_EVENT: u64 = 5;

/// An event as it crosses between nodes.
#[derive(Debug, Clone, PartialEq)]
pub struct EventPacket {
    pub nsp: String,
    pub event: String,
    pub args: Args,
    /// The ack id, when a node relays a packet that carries one.
    pub id: Option<u64>,
}

impl EventPacket {
    pub(crate) fn to_value(&self) -> Result<Value, WireError> {
        let mut pairs = vec![
            (Value::from("type"), Value::from(EVENT)),
            (
                Value::from("data"),
                event_to_value(&self.event, &self.args)?,
            ),
            (Value::from("nsp"), Value::from(self.nsp.as_str())),
        ];
        if let Some(id) = self.id {
            pairs.push((Value::from("id"), Value::from(id)));
        }
        Ok(Value::Map(pairs))
    }

    pub(crate) fn from_value(value: &Value) -> Result<EventPacket, WireError> {
        let kind = get(value, "type")
            .and_then(Value::as_u64)
            .ok_or(WireError::Missing("packet", "type"))?;
        if kind != EVENT && kind != BINARY_EVENT {
            return Err(WireError::NotAnEvent(kind));
        }
        let data = get(value, "data").ok_or(WireError::Missing("packet", "data"))?;
        let (event, args) = value_to_event(data)?;
        // The Node adapter reads a packet without `nsp` as the main namespace.
        let nsp = get(value, "nsp")
            .and_then(Value::as_str)
            .unwrap_or("/")
            .to_owned();
        Ok(EventPacket {
            nsp,
            event,
            args,
            id: get(value, "id").and_then(Value::as_u64),
        })
    }
}

/// The broadcast flags that travel with a packet (Socket.IO's
/// `BroadcastFlags`); those confab does not act on are carried through.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Flags {
    pub volatile: Option<bool>,
    pub compress: Option<bool>,
    /// `io.local`: never published, so a received one is foreign.
    pub local: Option<bool>,
    /// Milliseconds to wait for acks, for a broadcast with acks.
    pub timeout: Option<u64>,
}

impl Flags {
    fn to_value(&self) -> Value {
        let bools = [
            ("volatile", self.volatile),
            ("compress", self.compress),
            ("local", self.local),
        ];
        let mut pairs: Vec<(Value, Value)> = bools
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (Value::from(k), Value::from(v))))
            .collect();
        if let Some(t) = self.timeout {
            pairs.push((Value::from("timeout"), Value::from(t)));
        }
        Value::Map(pairs)
    }

    fn from_value(value: Option<&Value>) -> Flags {
        let Some(value) = value else {
            return Flags::default();
        };
        let flag = |k| get(value, k).and_then(Value::as_bool);
        Flags {
            volatile: flag("volatile"),
            compress: flag("compress"),
            local: flag("local"),
            timeout: get(value, "timeout").and_then(Value::as_u64),
        }
    }
}

/// Who a broadcast is for, and how.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BroadcastOpts {
    pub selection: Selection,
    pub flags: Flags,
}

impl BroadcastOpts {
    pub(crate) fn to_value(&self) -> Value {
        map([
            ("rooms", strings(&self.selection.rooms)),
            ("except", strings(&self.selection.except)),
            ("flags", self.flags.to_value()),
        ])
    }

    pub(crate) fn from_value(value: &Value) -> Result<BroadcastOpts, WireError> {
        Ok(BroadcastOpts {
            selection: Selection::from_value(value),
            flags: Flags::from_value(get(value, "flags")),
        })
    }
}

/// `[uid, packet, opts]`: one broadcast from the node (or emitter) `uid`.
#[derive(Debug, Clone, PartialEq)]
pub struct BroadcastMessage {
    pub uid: String,
    pub packet: EventPacket,
    pub opts: BroadcastOpts,
}

impl BroadcastMessage {
    pub fn encode(&self) -> Result<Vec<u8>, WireError> {
        Ok(wire::encode_msgpack(&Value::Array(vec![
            Value::from(self.uid.as_str()),
            self.packet.to_value()?,
            self.opts.to_value(),
        ])))
    }

    pub fn decode(bytes: &[u8]) -> Result<BroadcastMessage, WireError> {
        let value = wire::decode(bytes)?;
        let [uid, packet, opts] = value.as_array().map(Vec::as_slice).unwrap_or_default() else {
            return Err(WireError::Missing("broadcast", "[uid, packet, opts]"));
        };
        Ok(BroadcastMessage {
            uid: uid.as_str().unwrap_or_default().to_owned(),
            packet: EventPacket::from_value(packet)?,
            opts: BroadcastOpts::from_value(opts)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broadcast_round_trips() {
        let message = BroadcastMessage {
            uid: "abc123".into(),
            packet: EventPacket {
                nsp: "/".into(),
                event: "hi".into(),
                args: Args::from_raw(
                    r#"[1,{"_placeholder":true,"num":0}]"#.into(),
                    vec![bytes::Bytes::from_static(b"\x01\x02")],
                ),
                id: None,
            },
            opts: BroadcastOpts {
                selection: Selection {
                    rooms: vec!["r".into()],
                    except: vec!["x".into()],
                },
                flags: Flags {
                    timeout: Some(1000),
                    ..Flags::default()
                },
            },
        };
        let bytes = message.encode().unwrap();
        assert_eq!(BroadcastMessage::decode(&bytes).unwrap(), message);
    }

    #[test]
    fn other_packet_types_and_shapes_are_refused() {
        let ack = Value::Array(vec![
            Value::from("u"),
            map([("type", Value::from(3)), ("data", Value::Array(vec![]))]),
            map([]),
        ]);
        assert!(matches!(
            BroadcastMessage::decode(&wire::encode_msgpack(&ack)),
            Err(WireError::NotAnEvent(3))
        ));
        assert!(matches!(
            BroadcastMessage::decode(&wire::encode_msgpack(&Value::from(1))),
            Err(WireError::Missing(..))
        ));
    }
}
