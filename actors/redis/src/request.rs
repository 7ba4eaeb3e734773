//! Requests on a namespace's request channel, as `@socket.io/redis-adapter`
//! 8.x numbers and encodes them: JSON objects `{uid, requestId?, type, ...}`,
//! except BROADCAST (a broadcast with acks), which is msgpack because its
//! packet may hold binary. The emitter sends REMOTE_JOIN, REMOTE_LEAVE,
//! REMOTE_DISCONNECT and SERVER_SIDE_EMIT without `uid`.

use confab_engine::Args;
use rmpv::Value;

use crate::broadcast::{BroadcastOpts, EventPacket};
use crate::data::{event_to_value, value_to_event};
use crate::wire::{self, Selection, WireError, get, room_list, room_name, strings};

/// The request (and response) type numbers of the 8.x adapter.
pub mod kind {
    pub const SOCKETS: u64 = 0;
    pub const ALL_ROOMS: u64 = 1;
    pub const REMOTE_JOIN: u64 = 2;
    pub const REMOTE_LEAVE: u64 = 3;
    pub const REMOTE_DISCONNECT: u64 = 4;
    pub const REMOTE_FETCH: u64 = 5;
    pub const SERVER_SIDE_EMIT: u64 = 6;
    pub const BROADCAST: u64 = 7;
    pub const BROADCAST_CLIENT_COUNT: u64 = 8;
    pub const BROADCAST_ACK: u64 = 9;
}

/// A request's fields after `uid`, `requestId` and `type`, in Node's order.
type Fields = Vec<(&'static str, Value)>;

/// Which sockets a remote join, leave or disconnect is for: a selection
/// (8.x and the emitter), or one socket by id (older adapters, answered).
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    Selection(Selection),
    Socket(String),
}

/// What a request asks.
#[derive(Debug, Clone, PartialEq)]
pub enum Ask {
    /// The ids of the sockets in any of `rooms` (older adapters' `allSockets`).
    Sockets {
        rooms: Vec<String>,
    },
    AllRooms,
    Join {
        target: Target,
        rooms: Vec<String>,
    },
    Leave {
        target: Target,
        rooms: Vec<String>,
    },
    Disconnect {
        target: Target,
        close: bool,
    },
    /// `fetchSockets()`: each node lists its matching sockets.
    Fetch {
        selection: Selection,
    },
    /// `serverSideEmit(event, ...args)`: JSON, so binary arrives as a
    /// Buffer's JSON.
    ServerSideEmit {
        event: String,
        args: Args,
    },
    /// A broadcast with acks: each node answers its client count, then each
    /// client's ack.
    Broadcast {
        packet: EventPacket,
        opts: BroadcastOpts,
    },
}

/// A request with its sender and its id (absent when no answer is awaited).
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub uid: Option<String>,
    pub request_id: Option<String>,
    pub ask: Ask,
}

impl Request {
    /// The bytes to publish, in the encoding the Node adapter uses for this
    /// request type.
    pub fn encode(&self) -> Result<Vec<u8>, WireError> {
        let mut pairs = Vec::with_capacity(6);
        if let Some(uid) = &self.uid {
            pairs.push(("uid", Value::from(uid.as_str())));
        }
        if let Some(id) = &self.request_id {
            pairs.push(("requestId", Value::from(id.as_str())));
        }
        let (kind, body) = self.body()?;
        pairs.push(("type", Value::from(kind)));
        pairs.extend(body);
        let value = Value::Map(
            pairs
                .into_iter()
                .map(|(k, v)| (Value::from(k), v))
                .collect(),
        );
        Ok(match self.ask {
            Ask::Broadcast { .. } => wire::encode_msgpack(&value),
            _ => wire::encode_json(&value),
        })
    }

    fn body(&self) -> Result<(u64, Fields), WireError> {
        Ok(match &self.ask {
            Ask::Sockets { rooms } => (kind::SOCKETS, vec![("rooms", strings(rooms))]),
            Ask::AllRooms => (kind::ALL_ROOMS, vec![]),
            Ask::Join { target, rooms } => (kind::REMOTE_JOIN, membership(target, rooms)),
            Ask::Leave { target, rooms } => (kind::REMOTE_LEAVE, membership(target, rooms)),
            Ask::Disconnect { target, close } => {
                let mut body = target_pairs(target);
                body.push(("close", Value::from(*close)));
                (kind::REMOTE_DISCONNECT, body)
            }
            Ask::Fetch { selection } => (kind::REMOTE_FETCH, vec![("opts", selection.to_value())]),
            Ask::ServerSideEmit { event, args } => (
                kind::SERVER_SIDE_EMIT,
                vec![("data", event_to_value(event, args)?)],
            ),
            Ask::Broadcast { packet, opts } => (
                kind::BROADCAST,
                vec![("packet", packet.to_value()?), ("opts", opts.to_value())],
            ),
        })
    }

    pub fn decode(bytes: &[u8]) -> Result<Request, WireError> {
        let value = wire::decode(bytes)?;
        let text = |key| get(&value, key).and_then(Value::as_str).map(str::to_owned);
        let kind = get(&value, "type")
            .and_then(Value::as_u64)
            .ok_or(WireError::Missing("request", "type"))?;
        let ask = match kind {
            kind::SOCKETS => Ask::Sockets {
                rooms: room_list(get(&value, "rooms")),
            },
            kind::ALL_ROOMS => Ask::AllRooms,
            kind::REMOTE_JOIN | kind::REMOTE_LEAVE => {
                let (target, rooms) = read_membership(&value)?;
                if kind == kind::REMOTE_JOIN {
                    Ask::Join { target, rooms }
                } else {
                    Ask::Leave { target, rooms }
                }
            }
            kind::REMOTE_DISCONNECT => Ask::Disconnect {
                target: read_target(&value)?,
                close: get(&value, "close")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            },
            kind::REMOTE_FETCH => Ask::Fetch {
                selection: get(&value, "opts")
                    .map(Selection::from_value)
                    .unwrap_or_default(),
            },
            kind::SERVER_SIDE_EMIT => {
                let data = get(&value, "data").ok_or(WireError::Missing("request", "data"))?;
                let (event, args) = value_to_event(data)?;
                Ask::ServerSideEmit { event, args }
            }
            kind::BROADCAST => Ask::Broadcast {
                packet: EventPacket::from_value(
                    get(&value, "packet").ok_or(WireError::Missing("request", "packet"))?,
                )?,
                opts: BroadcastOpts::from_value(
                    get(&value, "opts").ok_or(WireError::Missing("request", "opts"))?,
                )?,
            },
            other => return Err(WireError::UnknownType(other)),
        };
        Ok(Request {
            uid: text("uid"),
            request_id: text("requestId"),
            ask,
        })
    }
}

/// `opts` (a selection) or `sid`, as the target is.
fn target_pairs(target: &Target) -> Fields {
    match target {
        Target::Selection(selection) => vec![("opts", selection.to_value())],
        Target::Socket(sid) => vec![("sid", Value::from(sid.as_str()))],
    }
}

/// A join or leave: `opts, rooms` for a selection, `sid, room` for one
/// socket (one room: the older adapters' shape).
fn membership(target: &Target, rooms: &[String]) -> Fields {
    let mut body = target_pairs(target);
    match target {
        Target::Selection(_) => body.push(("rooms", strings(rooms))),
        Target::Socket(_) => body.push((
            "room",
            Value::from(rooms.first().map(String::as_str).unwrap_or_default()),
        )),
    }
    body
}

fn read_target(value: &Value) -> Result<Target, WireError> {
    if let Some(opts) = get(value, "opts") {
        return Ok(Target::Selection(Selection::from_value(opts)));
    }
    get(value, "sid")
        .and_then(Value::as_str)
        .map(|sid| Target::Socket(sid.to_owned()))
        .ok_or(WireError::Missing("request", "opts or sid"))
}

fn read_membership(value: &Value) -> Result<(Target, Vec<String>), WireError> {
    let target = read_target(value)?;
    let rooms = match &target {
        Target::Selection(_) => room_list(get(value, "rooms")),
        Target::Socket(_) => get(value, "room").and_then(room_name).into_iter().collect(),
    };
    Ok((target, rooms))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(request: Request) {
        let bytes = request.encode().unwrap();
        assert_eq!(Request::decode(&bytes).unwrap(), request);
    }

    #[test]
    fn every_request_type_round_trips() {
        let selection = Selection {
            rooms: vec!["a".into()],
            except: vec!["b".into()],
        };
        let asks = [
            Ask::Sockets {
                rooms: vec!["r".into()],
            },
            Ask::AllRooms,
            Ask::Join {
                target: Target::Selection(selection.clone()),
                rooms: vec!["x".into(), "y".into()],
            },
            Ask::Leave {
                target: Target::Socket("sid1".into()),
                rooms: vec!["x".into()],
            },
            Ask::Disconnect {
                target: Target::Selection(selection.clone()),
                close: true,
            },
            Ask::Fetch {
                selection: selection.clone(),
            },
            Ask::ServerSideEmit {
                event: "ping".into(),
                args: Args::from_raw(r#"[1,"two"]"#.into(), vec![]),
            },
        ];
        for ask in asks {
            round_trip(Request {
                uid: Some("node01".into()),
                request_id: Some("req001".into()),
                ask,
            });
        }
    }

    #[test]
    fn json_requests_are_written_as_node_writes_them() {
        let request = Request {
            uid: Some("abc".into()),
            request_id: None,
            ask: Ask::Join {
                target: Target::Selection(Selection {
                    rooms: vec!["a".into()],
                    except: vec![],
                }),
                rooms: vec!["b".into()],
            },
        };
        assert_eq!(
            String::from_utf8(request.encode().unwrap()).unwrap(),
            r#"{"uid":"abc","type":2,"opts":{"rooms":["a"],"except":[]},"rooms":["b"]}"#
        );
    }

    #[test]
    fn unknown_types_and_missing_parts_are_refused() {
        assert!(matches!(
            Request::decode(br#"{"type":42}"#),
            Err(WireError::UnknownType(42))
        ));
        assert!(matches!(
            Request::decode(br#"{"type":4}"#),
            Err(WireError::Missing(..))
        ));
        assert!(matches!(
            Request::decode(br#"{"uid":"x"}"#),
            Err(WireError::Missing(..))
        ));
    }
}
