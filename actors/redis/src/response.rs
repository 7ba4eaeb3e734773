//! Answers on the response channel, as the 8.x adapter writes them:
//! JSON `{requestId, sockets}`, `{requestId, rooms}`, `{requestId}`,
//! `{type: 6, requestId, data}`, `{type: 8, requestId, clientCount}`, and
//! msgpack `{type: 9, requestId, packet}` (a client's ack may be binary).
//! Answers without a type are told apart by their keys; the asking node
//! knows which request it sent under that id.

use confab_engine::Args;
use rmpv::Value;

use crate::data::{args_to_value, json_value, values_to_args};
use crate::request::kind;
use crate::wire::{self, WireError, get, map, room_list, strings};

/// One socket of another node, as `fetchSockets()` lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteSocket {
    pub id: String,
    /// Socket.IO's handshake object (`headers`, `time`, `address`, `query`,
    /// `auth`, ...).
    pub handshake: serde_json::Value,
    pub rooms: Vec<String>,
    /// `socket.data`.
    pub data: serde_json::Value,
}

impl RemoteSocket {
    fn to_value(&self) -> Result<Value, WireError> {
        Ok(map([
            ("id", Value::from(self.id.as_str())),
            ("handshake", from_json(&self.handshake)?),
            ("rooms", strings(&self.rooms)),
            ("data", from_json(&self.data)?),
        ]))
    }

    fn from_value(value: &Value) -> Option<RemoteSocket> {
        Some(RemoteSocket {
            id: get(value, "id")?.as_str()?.to_owned(),
            handshake: get(value, "handshake").map(json_value).unwrap_or_default(),
            rooms: room_list(get(value, "rooms")),
            data: get(value, "data").map(json_value).unwrap_or_default(),
        })
    }
}

/// What an answer carries.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// Socket ids (to SOCKETS).
    SocketIds(Vec<String>),
    /// Sockets with their details (to REMOTE_FETCH).
    Sockets(Vec<RemoteSocket>),
    /// Room names (to ALL_ROOMS).
    Rooms(Vec<String>),
    /// Done (to a one-socket join, leave or disconnect).
    Done,
    /// One node's ack to a server-side emit (its first argument).
    ServerSideEmit(serde_json::Value),
    /// How many clients a node sent a broadcast with acks to.
    ClientCount(u64),
    /// One client's ack to a broadcast with acks (its first argument).
    BroadcastAck(Args),
}

/// An answer to the request `request_id`.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub request_id: String,
    pub answer: Answer,
}

impl Response {
    pub fn encode(&self) -> Result<Vec<u8>, WireError> {
        let id = Value::from(self.request_id.as_str());
        let typed = |kind: u64, key: &'static str, value: Value| {
            map([
                ("type", Value::from(kind)),
                ("requestId", id.clone()),
                (key, value),
            ])
        };
        let json = |value: Value| Ok(wire::encode_json(&value));
        match &self.answer {
            Answer::SocketIds(ids) => json(map([("requestId", id), ("sockets", strings(ids))])),
            Answer::Sockets(sockets) => json(map([
                ("requestId", id),
                (
                    "sockets",
                    Value::Array(
                        sockets
                            .iter()
                            .map(RemoteSocket::to_value)
                            .collect::<Result<_, _>>()?,
                    ),
                ),
            ])),
            Answer::Rooms(rooms) => json(map([("requestId", id), ("rooms", strings(rooms))])),
            Answer::Done => json(map([("requestId", id)])),
            Answer::ServerSideEmit(data) => {
                json(typed(kind::SERVER_SIDE_EMIT, "data", from_json(data)?))
            }
            Answer::ClientCount(n) => json(typed(
                kind::BROADCAST_CLIENT_COUNT,
                "clientCount",
                Value::from(*n),
            )),
            Answer::BroadcastAck(reply) => {
                let first = match args_to_value(reply)? {
                    Value::Array(mut items) if !items.is_empty() => items.swap_remove(0),
                    _ => Value::Nil,
                };
                Ok(wire::encode_msgpack(&typed(
                    kind::BROADCAST_ACK,
                    "packet",
                    first,
                )))
            }
        }
    }

    pub fn decode(bytes: &[u8]) -> Result<Response, WireError> {
        let value = wire::decode(bytes)?;
        let request_id = match get(&value, "requestId") {
            Some(Value::String(s)) => s.as_str().unwrap_or_default().to_owned(),
            Some(Value::Integer(n)) => n.to_string(),
            _ => return Err(WireError::Missing("response", "requestId")),
        };
        let kind = get(&value, "type").and_then(Value::as_u64);
        let answer = match kind {
            Some(kind::SERVER_SIDE_EMIT) => {
                Answer::ServerSideEmit(get(&value, "data").map(json_value).unwrap_or_default())
            }
            Some(kind::BROADCAST_CLIENT_COUNT) => Answer::ClientCount(
                get(&value, "clientCount")
                    .and_then(Value::as_u64)
                    .ok_or(WireError::Missing("response", "clientCount"))?,
            ),
            Some(kind::BROADCAST_ACK) => Answer::BroadcastAck(values_to_args(
                std::slice::from_ref(get(&value, "packet").unwrap_or(&Value::Nil)),
            )?),
            _ => untyped(&value),
        };
        Ok(Response { request_id, answer })
    }
}

/// An answer without a type, by its keys.
fn untyped(value: &Value) -> Answer {
    if let Some(rooms) = get(value, "rooms") {
        return Answer::Rooms(room_list(Some(rooms)));
    }
    let Some(items) = get(value, "sockets").and_then(Value::as_array) else {
        return Answer::Done;
    };
    if !items.is_empty() && items.iter().all(Value::is_str) {
        Answer::SocketIds(room_list(Some(&Value::Array(items.clone()))))
    } else {
        Answer::Sockets(items.iter().filter_map(RemoteSocket::from_value).collect())
    }
}

/// A JSON tree in msgpack terms, keys in their order.
fn from_json(value: &serde_json::Value) -> Result<Value, WireError> {
    Ok(serde_json::from_value(value.clone())?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_answer_round_trips() {
        let socket = RemoteSocket {
            id: "s1".into(),
            handshake: json!({"query": {"a": "1"}, "auth": {}}),
            rooms: vec!["s1".into(), "r".into()],
            data: json!({"userId": "u1"}),
        };
        let answers = [
            Answer::SocketIds(vec!["a".into(), "b".into()]),
            Answer::Sockets(vec![socket]),
            Answer::Sockets(vec![]),
            Answer::Rooms(vec!["r".into()]),
            Answer::Done,
            Answer::ServerSideEmit(json!({"ok": true})),
            Answer::ClientCount(3),
            Answer::BroadcastAck(Args::from_raw(
                r#"[{"_placeholder":true,"num":0}]"#.into(),
                vec![bytes::Bytes::from_static(b"\x07")],
            )),
        ];
        for answer in answers {
            let response = Response {
                request_id: "r1".into(),
                answer,
            };
            let bytes = response.encode().unwrap();
            assert_eq!(Response::decode(&bytes).unwrap(), response);
        }
    }

    #[test]
    fn a_broadcast_ack_is_msgpack_and_the_others_json() {
        let ack = Response {
            request_id: "r".into(),
            answer: Answer::BroadcastAck(Args::from_raw("[1]".into(), vec![])),
        };
        assert_ne!(ack.encode().unwrap()[0], b'{');
        let count = Response {
            request_id: "r".into(),
            answer: Answer::ClientCount(2),
        };
        assert_eq!(
            String::from_utf8(count.encode().unwrap()).unwrap(),
            r#"{"type":8,"requestId":"r","clientCount":2}"#
        );
    }

    #[test]
    fn an_answer_without_request_id_is_refused() {
        assert!(matches!(
            Response::decode(br#"{"rooms":[]}"#),
            Err(WireError::Missing(..))
        ));
    }
}
