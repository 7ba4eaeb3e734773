//! The bytes Node's `@socket.io/redis-adapter` 8.3.0 and
//! `@socket.io/redis-emitter` 5.1.0 published on a real Redis
//! (`fixtures/node.json`, captured by `tests/js/cluster/capture-fixtures.js`),
//! decoded here; what confab writes for the same call is compared byte for
//! byte where Node's key order is fixed.

use confab_redis::{
    Answer, Ask, BroadcastMessage, BroadcastScope, Channels, Request, Response, Selection, Target,
};
use serde::Deserialize;

#[derive(Deserialize)]
struct Fixture {
    step: String,
    channel: String,
    hex: String,
}

fn fixtures() -> Vec<(Fixture, Vec<u8>)> {
    let all: Vec<Fixture> = serde_json::from_str(include_str!("../fixtures/node.json")).unwrap();
    all.into_iter()
        .map(|f| {
            let bytes = (0..f.hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&f.hex[i..i + 2], 16).unwrap())
                .collect();
            (f, bytes)
        })
        .collect()
}

fn step(name: &str) -> Vec<(String, Vec<u8>)> {
    let found: Vec<_> = fixtures()
        .into_iter()
        .filter(|(f, _)| f.step == name)
        .map(|(f, b)| (f.channel, b))
        .collect();
    assert!(!found.is_empty(), "no fixture for {name}");
    found
}

#[test]
fn every_captured_message_decodes_on_its_channel() {
    let main = Channels::new("socket.io", "/");
    let admin = Channels::new("socket.io", "/admin");
    for (fixture, bytes) in fixtures() {
        let channel = fixture.channel.as_str();
        let result = if main.broadcast_scope(channel).is_some()
            || admin.broadcast_scope(channel).is_some()
        {
            BroadcastMessage::decode(&bytes).map(drop)
        } else if channel == main.request() {
            Request::decode(&bytes).map(drop)
        } else if channel == main.response() {
            Response::decode(&bytes).map(drop)
        } else {
            panic!("unexpected channel {channel}");
        };
        assert!(result.is_ok(), "{}: {result:?}", fixture.step);
    }
}

#[test]
fn a_room_broadcast_is_read_and_written_as_node_does() {
    let [(channel, bytes)] = step("adapter room broadcast").try_into().unwrap();
    let channels = Channels::new("socket.io", "/");
    assert_eq!(
        channels.broadcast_scope(&channel),
        Some(BroadcastScope::Room("room1"))
    );
    let message = BroadcastMessage::decode(&bytes).unwrap();
    assert_eq!(message.packet.event, "hello");
    assert_eq!(
        message.packet.args.json(),
        r#"[1,"two",{"a":[true,null],"n":-7,"f":1.5}]"#
    );
    assert_eq!(message.opts.selection.rooms, ["room1"]);
    assert_eq!(channels.broadcast(&message.opts.selection.rooms), channel);
    assert_eq!(message.encode().unwrap(), bytes);
}

#[test]
fn binary_survives_both_ways() {
    let [(_, bytes)] = step("adapter binary broadcast").try_into().unwrap();
    let message = BroadcastMessage::decode(&bytes).unwrap();
    assert_eq!(
        message.packet.args.json(),
        r#"[{"_placeholder":true,"num":0},{"nested":{"_placeholder":true,"num":1}}]"#
    );
    assert_eq!(
        message.packet.args.attachments(),
        [&[1u8, 2, 3][..], &[255u8][..]]
    );
    assert_eq!(message.encode().unwrap(), bytes);
}

#[test]
fn rooms_except_and_namespaces_match() {
    let [(_, bytes)] = step("adapter rooms and except").try_into().unwrap();
    let message = BroadcastMessage::decode(&bytes).unwrap();
    assert_eq!(
        message.opts.selection,
        Selection {
            rooms: vec!["a".into(), "b".into()],
            except: vec!["c".into()]
        }
    );
    assert_eq!(message.encode().unwrap(), bytes);
    let [(channel, bytes)] = step("adapter namespace broadcast").try_into().unwrap();
    assert_eq!(channel, "socket.io#/admin#");
    let message = BroadcastMessage::decode(&bytes).unwrap();
    assert_eq!(message.packet.nsp, "/admin");
    assert_eq!(message.packet.args.json(), "[300,70000]");
    assert_eq!(message.encode().unwrap(), bytes);
}

#[test]
fn the_adapter_s_json_requests_come_back_byte_for_byte() {
    for name in [
        "adapter sockets join",
        "adapter sockets leave",
        "adapter disconnect sockets",
        "adapter server side emit",
    ] {
        let [(_, bytes)] = step(name).try_into().unwrap();
        let request = Request::decode(&bytes).unwrap();
        assert_eq!(request.encode().unwrap(), bytes, "{name}");
    }
    let [(_, bytes)] = step("adapter sockets leave").try_into().unwrap();
    let request = Request::decode(&bytes).unwrap();
    assert_eq!(
        request.ask,
        Ask::Leave {
            target: Target::Selection(Selection {
                rooms: vec!["room1".into()],
                except: vec!["r9".into()]
            }),
            rooms: vec!["r2".into()],
        }
    );
}

#[test]
fn asked_and_answered_requests_match() {
    for name in [
        "adapter fetch sockets",
        "adapter all rooms",
        "adapter server side emit with ack",
    ] {
        let found = step(name);
        let request = Request::decode(&found[0].1).unwrap();
        assert_eq!(request.encode().unwrap(), found[0].1, "{name}");
        let response = Response::decode(&found[1].1).unwrap();
        assert_eq!(
            Some(&response.request_id),
            request.request_id.as_ref(),
            "{name}"
        );
        match (&request.ask, &response.answer) {
            (Ask::Fetch { .. }, Answer::Sockets(sockets)) => {
                assert_eq!(sockets.len(), 1);
                assert!(sockets[0].rooms.contains(&"room1".to_string()));
                assert!(sockets[0].handshake["headers"].is_object());
            }
            (Ask::AllRooms, Answer::Rooms(rooms)) => {
                assert!(rooms.contains(&"room1".to_string()));
                assert_eq!(response.encode().unwrap(), found[1].1);
            }
            (Ask::ServerSideEmit { event, .. }, Answer::ServerSideEmit(data)) => {
                assert_eq!(event, "ping");
                assert_eq!(data, &serde_json::json!({ "pong": 5 }));
                assert_eq!(response.encode().unwrap(), found[1].1);
            }
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn a_broadcast_with_acks_is_msgpack_with_its_answers() {
    let found = step("adapter broadcast with acks");
    let [(_, request), (_, count), (_, ack)] = found.try_into().unwrap();
    assert_ne!(request[0], b'{');
    let decoded = Request::decode(&request).unwrap();
    let Ask::Broadcast { packet, opts } = &decoded.ask else {
        panic!("{decoded:?}")
    };
    assert_eq!(packet.event, "q");
    assert_eq!(opts.flags.timeout, Some(2000));
    assert_eq!(decoded.encode().unwrap(), request);
    let count = Response::decode(&count).unwrap();
    assert_eq!(count.answer, Answer::ClientCount(1));
    let decoded_ack = Response::decode(&ack).unwrap();
    let Answer::BroadcastAck(reply) = &decoded_ack.answer else {
        panic!("{decoded_ack:?}")
    };
    assert_eq!(reply.json(), r#"[{"_placeholder":true,"num":0}]"#);
    assert_eq!(reply.attachments(), [&[7u8, 42][..]]);
    assert_eq!(decoded_ack.encode().unwrap(), ack);
}

#[test]
fn the_emitter_s_messages_are_understood() {
    let [(channel, bytes)] = step("emitter room").try_into().unwrap();
    assert_eq!(channel, "socket.io#/#room1#");
    let message = BroadcastMessage::decode(&bytes).unwrap();
    assert_eq!(message.uid, "emitter");
    assert_eq!(
        message.packet.args.json(),
        r#"[{"x":1},{"_placeholder":true,"num":0}]"#
    );
    let [(_, bytes)] = step("emitter except").try_into().unwrap();
    assert_eq!(
        BroadcastMessage::decode(&bytes)
            .unwrap()
            .opts
            .selection
            .except,
        ["room1"]
    );
    let [(_, bytes)] = step("emitter namespace").try_into().unwrap();
    assert_eq!(
        BroadcastMessage::decode(&bytes).unwrap().packet.nsp,
        "/admin"
    );
    for (name, expect) in [
        ("emitter sockets join", "join"),
        ("emitter sockets leave", "leave"),
        ("emitter disconnect sockets", "disconnect"),
        ("emitter server side emit", "emit"),
    ] {
        let [(_, bytes)] = step(name).try_into().unwrap();
        let request = Request::decode(&bytes).unwrap();
        let ok = match (&request.ask, expect) {
            (Ask::Join { rooms, .. }, "join") => rooms == &["r4"],
            (
                Ask::Leave {
                    target: Target::Selection(s),
                    ..
                },
                "leave",
            ) => s.rooms.is_empty(),
            (Ask::Disconnect { close, .. }, "disconnect") => !close,
            (Ask::ServerSideEmit { event, .. }, "emit") => event == "hi",
            _ => false,
        };
        assert!(ok, "{name}: {request:?}");
    }
}
