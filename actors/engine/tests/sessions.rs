//! One session's Socket.IO life: open packet, namespace CONNECT and its
//! middlewares, events and acks both ways, binary attachments, and every
//! way a socket or a session ends.

mod common;

use bytes::Bytes;
use common::*;
use confab_engine::protocol::engineio::Sid;
use confab_engine::session::NewTransport;
use confab_engine::{
    AckError, ConnectError, DisconnectReason, Engine, EngineConfig, Handshake, Namespaces, Stats,
};
use serde_json::{Value, json};

#[actix_rt::test]
async fn websocket_open_packet_offers_no_upgrade() {
    let config = EngineConfig {
        ping_interval: ms(1234),
        ping_timeout: ms(567),
        max_payload: 4321,
        ..Default::default()
    };
    let (engine, _evs) = engine_with(config, &[]);
    let client = Client::open(&engine).await;

    let sid = client.sid();
    assert_eq!(sid.len(), 16, "sid {sid}");
    assert_eq!(client.open["upgrades"], json!([]));
    assert_eq!(client.open["pingInterval"], 1234);
    assert_eq!(client.open["pingTimeout"], 567);
    assert_eq!(client.open["maxPayload"], 4321);
    assert_eq!(engine.session_count(), 1);
    let found = engine
        .session(&sid.parse::<Sid>().unwrap())
        .expect("session listed by sid");
    assert_eq!(found, client.session);
}

#[actix_rt::test]
async fn polling_open_packet_offers_websocket() {
    let (engine, _evs) = engine();
    let session = engine.open(Handshake::default(), NewTransport::Polling);
    let body = poll(&session).await.unwrap();
    let open = open_json(&body);
    assert_eq!(open["upgrades"], json!(["websocket"]));
    assert_eq!(open["pingInterval"], 25_000);
    assert_eq!(open["pingTimeout"], 20_000);
    assert!(open["sid"].as_str().is_some_and(|s| !s.is_empty()));
}

#[actix_rt::test]
async fn connect_to_main_namespace() {
    let (engine, mut evs) = engine();
    let mut client = Client::open(&engine).await;
    let id = client.connect().await;

    assert_ne!(id, client.sid(), "socket id differs from the Engine.IO sid");
    let socket = evs.connected().await;
    assert_eq!(socket.id(), id);
    assert_eq!(socket.nsp(), "/");
    assert_eq!(socket.user_id(), None);
    assert_eq!(socket.auth(), &json!({}));

    let listed = engine.io().of("/").sockets().await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, id);
    assert_eq!(listed[0].nsp, "/");
    assert_eq!(listed[0].rooms, vec![id.clone()]);
}

#[actix_rt::test]
async fn a_second_connect_to_a_namespace_closes_the_connection() {
    // As the Node server: a CONNECT to a namespace already joined (or
    // joining) is a protocol violation.
    let (engine, mut evs) = engine();
    let mut client = Client::open(&engine).await;
    client.send("40");
    let reply = client.text().await;
    assert!(reply.starts_with(r#"40{"sid":"#), "{reply}");
    evs.connected().await;
    client.send("40");
    client.ws.closed().await;
    let (_, reason) = evs.disconnected().await;
    assert_eq!(reason, DisconnectReason::ParseError);
}

#[actix_rt::test]
async fn namespace_names_are_normalized() {
    let (tx, mut evs) = ev_channel();
    let mut namespaces = Namespaces::default();
    namespaces.insert("lobby", recording(tx));
    let mut names: Vec<&str> = namespaces.names().collect();
    names.sort();
    assert_eq!(names, ["/lobby"]);
    let engine = Engine::start(EngineConfig::default(), namespaces);
    let mut client = Client::open(&engine).await;
    client.send("40");
    assert_eq!(client.text().await, r#"44{"message":"Invalid namespace"}"#);
    client.connect_to("/lobby").await;
    assert_eq!(evs.connected().await.nsp(), "/lobby");
}

#[actix_rt::test]
async fn poll_on_a_websocket_session_is_refused() {
    let (engine, _evs) = engine();
    let client = Client::open(&engine).await;
    assert_eq!(
        poll(&client.session).await,
        Err(confab_engine::session::PollError::NotPolling)
    );
    assert_eq!(engine.session_count(), 1);
}

#[actix_rt::test]
async fn connect_auth_reaches_the_socket() {
    let (engine, mut evs) = engine();
    let mut client = Client::open(&engine).await;
    client.send(r#"40{"token":"t0k","n":1}"#);
    assert!(client.text().await.starts_with(r#"40{"sid":"#));
    let socket = evs.connected().await;
    assert_eq!(socket.auth(), &json!({"token": "t0k", "n": 1}));
}

#[actix_rt::test]
async fn connect_to_unknown_namespace_is_refused_and_session_stays() {
    let (engine, mut evs) = engine();
    let mut client = Client::open(&engine).await;
    client.send("40/nope,");
    assert_eq!(
        client.text().await,
        r#"44/nope,{"message":"Invalid namespace"}"#
    );
    // The connection is still usable.
    client.connect().await;
    evs.connected().await;
    assert_eq!(engine.session_count(), 1);
}

#[actix_rt::test]
async fn sockets_on_two_namespaces_share_a_session() {
    let (engine, mut evs) = engine_with(EngineConfig::default(), &["/admin"]);
    let (mut client, main, _) = Client::connected(&engine, &mut evs).await;
    let admin = client.connect_to("/admin").await;
    let socket = evs.connected().await;
    assert_eq!(socket.nsp(), "/admin");
    assert_eq!(socket.id(), admin);
    assert_ne!(main, admin);

    engine.io().of("/admin").emit("only", "admins").unwrap();
    assert_eq!(client.text().await, r#"42/admin,["only","admins"]"#);
    engine.io().emit("all", &1).unwrap();
    assert_eq!(client.text().await, r#"42["all",1]"#);

    client.send(r#"42/admin,5["echo",{"a":[1,2]}]"#);
    assert_eq!(client.text().await, r#"43/admin,5[{"a":[1,2]}]"#);

    // Leaving /admin leaves / alone.
    client.send("41/admin,");
    let (id, reason) = evs.disconnected().await;
    assert_eq!(
        (id.as_str(), reason),
        (admin.as_str(), DisconnectReason::ClientNamespaceDisconnect)
    );
    assert_eq!(
        client.call(1, "echo", &[json!("still")]).await,
        json!(["still"])
    );
    assert!(engine.io().of("/admin").sockets().await.is_empty());
    assert_eq!(engine.io().of("/").sockets().await.len(), 1);
}

/// Refuses unless `auth.token` is "alice"; then sets the user and data.
fn guarded(tx: tokio::sync::mpsc::UnboundedSender<Ev>) -> Namespaces {
    let mut ns = recording(tx);
    ns.middleware(|mut req| async move {
        match req.auth.get("token").and_then(Value::as_str) {
            Some("alice") => {
                req.user_id = Some("alice".into());
                req.data.insert("role".into(), json!("admin"));
                Ok(req)
            }
            _ => Err(ConnectError::new("unauthorized").with_data(json!({"code": 401}))),
        }
    });
    // Middlewares run in order: the second sees what the first set.
    ns.middleware(|req| async move {
        match req.user_id.as_deref() {
            Some("alice") => Ok(req),
            other => Err(ConnectError::new(format!(
                "second middleware saw {other:?}"
            ))),
        }
    });
    let mut namespaces = Namespaces::default();
    namespaces.insert("/", ns);
    namespaces
}

#[actix_rt::test]
async fn middleware_refusal_sends_message_and_data() {
    let (tx, mut evs) = ev_channel();
    let engine = Engine::start(EngineConfig::default(), guarded(tx));
    let mut client = Client::open(&engine).await;

    client.send(r#"40{"token":"mallory"}"#);
    let reply = client.text().await;
    let body = reply
        .strip_prefix("44")
        .unwrap_or_else(|| panic!("expected CONNECT_ERROR, got {reply}"));
    let body: Value = serde_json::from_str(body).unwrap();
    assert_eq!(
        body,
        json!({"message": "unauthorized", "data": {"code": 401}})
    );

    client.send("40");
    let body: Value =
        serde_json::from_str(client.text().await.strip_prefix("44").unwrap()).unwrap();
    assert_eq!(body["message"], "unauthorized");

    assert!(engine.io().of("/").sockets().await.is_empty());
    client.send("40/nope,");
    assert_eq!(
        client.text().await,
        r#"44/nope,{"message":"Invalid namespace"}"#
    );
    // No socket came to be: an event for "/" is a protocol violation, no
    // handler runs.
    client.send(r#"421["echo",1]"#);
    client.ws.closed().await;
    evs.assert_quiet(ms(20)).await;
}

#[actix_rt::test]
async fn middleware_user_id_and_data_reach_on_connect() {
    let (tx, mut evs) = ev_channel();
    let engine = Engine::start(EngineConfig::default(), guarded(tx));
    let mut client = Client::open(&engine).await;

    client.send(r#"40{"token":"alice"}"#);
    let reply = client.text().await;
    assert!(reply.starts_with(r#"40{"sid":"#), "{reply}");
    let socket = evs.connected().await;
    assert_eq!(socket.user_id(), Some("alice"));
    assert_eq!(socket.data().get("role"), Some(&json!("admin")));
    assert_eq!(socket.auth(), &json!({"token": "alice"}));

    let listed = engine.io().of("/").sockets().await;
    assert_eq!(listed[0].user_id.as_deref(), Some("alice"));
}

#[actix_rt::test]
async fn event_with_ack_is_answered_by_the_handler() {
    let (engine, mut evs) = engine();
    let (mut client, _, _) = Client::connected(&engine, &mut evs).await;

    client.send(r#"4212["echo","hi",{"n":2},[3]]"#);
    assert_eq!(client.text().await, r#"4312["hi",{"n":2},[3]]"#);

    client.send(r#"42["record","no ack wanted",7]"#);
    let (_, payload) = evs.event().await;
    assert_eq!(payload.event(), "record");
    assert_eq!(payload.json(), vec![json!("no ack wanted"), json!(7)]);
    let (text, n): (String, u8) = payload.decode().unwrap();
    assert_eq!((text.as_str(), n), ("no ack wanted", 7));
    // No ack was asked for, so none was sent: the next frame is the marker.
    let id = engine.io().of("/").sockets().await[0].id.clone();
    client.expect_only_marker(&engine, &id).await;
}

#[actix_rt::test]
async fn a_panicking_handler_loses_only_its_own_event() {
    let (engine, mut evs) = engine();
    let (mut client, _, _) = Client::connected(&engine, &mut evs).await;

    client.send(r#"42["panic"]"#);
    client.send(r#"421["echo","still here"]"#);
    assert_eq!(client.text().await, r#"431["still here"]"#);
    assert_eq!(engine.session_count(), 1);
}

#[actix_rt::test]
async fn unknown_event_with_ack_gets_an_error_ack() {
    let (engine, mut evs) = engine();
    let (mut client, id, _) = Client::connected(&engine, &mut evs).await;

    client.send(r#"42["nobody-listens",1]"#);
    client.send(r#"425["x",1]"#);
    assert_eq!(client.text().await, r#"435[{"error":"unknown event: x"}]"#);
    client.expect_only_marker(&engine, &id).await;
    assert_eq!(engine.session_count(), 1);
}

#[actix_rt::test]
async fn on_any_catches_events_without_their_own_handler() {
    let mut ns = confab_engine::Namespace::new();
    ns.on("named", |_, _, ack| async move {
        ack.unwrap().send("named").unwrap();
    });
    ns.on_any(|_, payload, ack| async move {
        ack.unwrap()
            .send(&format!("any:{}", payload.event()))
            .unwrap();
    });
    let mut namespaces = Namespaces::default();
    namespaces.insert("/", ns);
    let engine = Engine::start(EngineConfig::default(), namespaces);
    let mut client = Client::open(&engine).await;
    client.connect().await;
    assert_eq!(client.call(1, "named", &[]).await, json!(["named"]));
    assert_eq!(client.call(2, "other", &[]).await, json!(["any:other"]));
}

#[actix_rt::test]
async fn binary_event_reaches_the_handler_with_its_attachment() {
    let (engine, mut evs) = engine();
    let (mut client, _, _) = Client::connected(&engine, &mut evs).await;

    client.send(r#"451-0["record",{"_placeholder":true,"num":0}]"#);
    client.send_binary(b"\x00\x01\xfe\xff");
    let (_, payload) = evs.event().await;
    assert_eq!(payload.event(), "record");
    let data: Bytes = payload.decode().unwrap();
    assert_eq!(&data[..], b"\x00\x01\xfe\xff");
    assert_eq!(payload.args().attachments().len(), 1);
    assert_eq!(client.text().await, r#"430["ok"]"#);

    // Two attachments, with an ack: the echo goes back as a BINARY_ACK.
    client
        .send(r#"452-9["echo",{"_placeholder":true,"num":0},"mid",{"_placeholder":true,"num":1}]"#);
    client.send_binary(b"one");
    client.send_binary(b"two");
    assert_eq!(
        client.text().await,
        r#"462-9[{"_placeholder":true,"num":0},"mid",{"_placeholder":true,"num":1}]"#
    );
    assert_eq!(&client.ws.binary().await[..], b"one");
    assert_eq!(&client.ws.binary().await[..], b"two");
}

#[actix_rt::test]
async fn server_binary_emit_writes_attachments_after_the_text() {
    let (engine, mut evs) = engine();
    let (mut client, _, socket) = Client::connected(&engine, &mut evs).await;
    socket
        .emit("file", &(Bytes::from_static(b"\x01\x02"), "name"))
        .unwrap();
    assert_eq!(
        client.text().await,
        r#"451-["file",{"_placeholder":true,"num":0},"name"]"#
    );
    assert_eq!(&client.ws.binary().await[..], b"\x01\x02");
}

#[actix_rt::test]
async fn server_emit_with_ack_resolves_with_the_client_answer() {
    let (engine, mut evs) = engine();
    let (mut client, _, socket) = Client::connected(&engine, &mut evs).await;

    let s = socket.clone();
    let first =
        actix_rt::spawn(async move { s.emit_with_ack_timeout("ask", &("q", 1), WAIT).await });
    assert_eq!(client.text().await, r#"420["ask","q",1]"#);
    let s = socket.clone();
    let second = actix_rt::spawn(async move { s.emit_with_ack("ask", "again").await });
    assert_eq!(client.text().await, r#"421["ask","again"]"#);

    // Answered out of order.
    client.send(r#"431["second"]"#);
    client.send(r#"430["answer",{"x":true}]"#);
    let answer = first.await.unwrap().expect("ack");
    assert_eq!(answer.json(), vec![json!("answer"), json!({"x": true})]);
    let answer = second.await.unwrap().expect("ack");
    assert_eq!(answer.decode::<String>().unwrap(), "second");
}

#[actix_rt::test]
async fn server_emit_with_ack_resolves_with_a_binary_answer() {
    let (engine, mut evs) = engine();
    let (mut client, _, socket) = Client::connected(&engine, &mut evs).await;

    let pending =
        actix_rt::spawn(async move { socket.emit_with_ack_timeout("ask", &1, WAIT).await });
    assert_eq!(client.text().await, r#"420["ask",1]"#);
    client.send(r#"461-0[{"_placeholder":true,"num":0}]"#);
    client.send_binary(b"bin");
    let answer = pending.await.unwrap().expect("ack");
    assert_eq!(&answer.decode::<Bytes>().unwrap()[..], b"bin");
}

#[actix_rt::test]
async fn server_emit_with_ack_times_out_without_an_answer() {
    let (engine, mut evs) = engine();
    let (mut client, id, socket) = Client::connected(&engine, &mut evs).await;

    let result = socket.emit_with_ack_timeout("ask", &1, ms(30)).await;
    assert!(
        matches!(result, Err(AckError::Timeout(t)) if t == ms(30)),
        "{result:?}"
    );
    assert_eq!(client.text().await, r#"420["ask",1]"#);
    // A late answer is ignored and harms nothing.
    client.send(r#"430["late"]"#);
    client.expect_only_marker(&engine, &id).await;
    assert_eq!(engine.session_count(), 1);
}

#[actix_rt::test]
async fn server_emit_with_ack_fails_when_the_socket_leaves() {
    let (engine, mut evs) = engine();
    let (mut client, _, socket) = Client::connected(&engine, &mut evs).await;

    let s = socket.clone();
    let pending = actix_rt::spawn(async move { s.emit_with_ack_timeout("ask", &1, WAIT).await });
    assert_eq!(client.text().await, r#"420["ask",1]"#);
    client.send("41");
    assert!(matches!(
        pending.await.unwrap(),
        Err(AckError::Disconnected)
    ));
    // Emitting with an ack on a socket that has left fails at once.
    assert!(matches!(
        socket.emit_with_ack("ask", &2).await,
        Err(AckError::Disconnected)
    ));
}

/// An ack timer belongs to one emit: it must not fire for a later emit that
/// happens to reuse the same ack id on a reconnected socket.
#[actix_rt::test]
async fn ack_timer_of_a_previous_socket_does_not_time_out_a_new_emit() {
    let (engine, mut evs) = engine();
    let (mut client, _, first_socket) = Client::connected(&engine, &mut evs).await;

    let first =
        actix_rt::spawn(
            async move { first_socket.emit_with_ack_timeout("ask", &1, ms(100)).await },
        );
    assert_eq!(client.text().await, r#"420["ask",1]"#);
    client.send("41");
    evs.disconnected().await;
    assert!(matches!(first.await.unwrap(), Err(AckError::Disconnected)));

    // Same session, same namespace, new socket: ack ids do not start over
    // (one counter per engine, as Node's per namespace), so the first
    // emit's id cannot be mistaken for the second's.
    client.connect().await;
    let second_socket = evs.connected().await;
    let second =
        actix_rt::spawn(async move { second_socket.emit_with_ack_timeout("ask", &2, WAIT).await });
    assert_eq!(client.text().await, r#"421["ask",2]"#);

    // Let the first emit's 100 ms timer run out (a timer: nothing to await).
    actix_rt::time::sleep(ms(150)).await;
    client.send(r#"431["in time"]"#);
    let answer = tokio::time::timeout(WAIT, second).await.unwrap().unwrap();
    let answer = answer.expect("the second emit had 1 s and was answered after 150 ms");
    assert_eq!(answer.json(), vec![json!("in time")]);
}

#[actix_rt::test]
async fn client_namespace_disconnect_forgets_the_socket() {
    let (engine, mut evs) = engine();
    let (mut client, id, _) = Client::connected(&engine, &mut evs).await;
    client.call(1, "join", &[json!("room")]).await;

    client.send("41");
    let (gone, reason) = evs.disconnected().await;
    assert_eq!(gone, id);
    assert_eq!(reason, DisconnectReason::ClientNamespaceDisconnect);
    assert!(engine.io().of("/").sockets().await.is_empty());
    assert!(engine.io().to("room").sockets().await.is_empty());
    // The connection stays, and may connect again with a new socket.
    assert_eq!(engine.session_count(), 1);
    let again = client.connect().await;
    assert_ne!(again, id);
    evs.connected().await;
    assert_eq!(engine.io().of("/").sockets().await[0].rooms, vec![again]);
}

#[actix_rt::test]
async fn server_socket_disconnect_sends_disconnect_packet() {
    let (engine, mut evs) = engine_with(EngineConfig::default(), &["/chat"]);
    let (mut client, id, _) = Client::connected(&engine, &mut evs).await;
    let chat = client.connect_to("/chat").await;
    let chat_socket = evs.connected().await;

    // From a handler.
    client.send(r#"42["bye"]"#);
    assert_eq!(client.text().await, "41");
    assert_eq!(
        evs.disconnected().await,
        (id, DisconnectReason::ServerNamespaceDisconnect)
    );

    // From a socket handle.
    chat_socket.disconnect();
    assert_eq!(client.text().await, "41/chat,");
    assert_eq!(
        evs.disconnected().await,
        (chat, DisconnectReason::ServerNamespaceDisconnect)
    );

    assert!(engine.io().of("/").sockets().await.is_empty());
    assert!(engine.io().of("/chat").sockets().await.is_empty());
    assert_eq!(engine.session_count(), 1);
    // Disconnecting again is a no-op.
    chat_socket.disconnect();
    client.send("40/nope,");
    assert_eq!(
        client.text().await,
        r#"44/nope,{"message":"Invalid namespace"}"#
    );
}

#[actix_rt::test]
async fn io_disconnect_disconnects_the_selection() {
    let (engine, mut evs) = engine();
    let (mut a, a_id, _) = Client::connected(&engine, &mut evs).await;
    let (mut b, b_id, _) = Client::connected(&engine, &mut evs).await;
    a.call(1, "join", &[json!("doomed")]).await;

    engine.io().to("doomed").disconnect();
    assert_eq!(a.text().await, "41");
    assert_eq!(
        evs.disconnected().await,
        (a_id, DisconnectReason::ServerNamespaceDisconnect)
    );
    b.expect_only_marker(&engine, &b_id).await;
}

#[actix_rt::test]
async fn close_connection_and_shutdown_close_sessions() {
    let (engine, mut evs) = engine();
    let (mut a, a_id, a_socket) = Client::connected(&engine, &mut evs).await;
    let (mut b, b_id, _) = Client::connected(&engine, &mut evs).await;
    let mut c = Client::open(&engine).await;

    a_socket.close_connection();
    a.ws.closed().await;
    assert_eq!(
        evs.disconnected().await,
        (a_id, DisconnectReason::ForcedClose)
    );
    assert_eq!(engine.session_count(), 2);

    engine.shutdown();
    b.ws.closed().await;
    c.ws.closed().await;
    assert_eq!(
        evs.disconnected().await,
        (b_id, DisconnectReason::ServerShutdown)
    );
    assert_eq!(engine.session_count(), 0);
    assert!(engine.io().of("/").sockets().await.is_empty());
}

#[actix_rt::test]
async fn engineio_close_packet_closes_the_session() {
    let (engine, mut evs) = engine();
    let (mut client, id, _) = Client::connected(&engine, &mut evs).await;
    client.send("1");
    client.ws.closed().await;
    assert_eq!(
        evs.disconnected().await,
        (id, DisconnectReason::TransportClose)
    );
    assert_eq!(engine.session_count(), 0);
}

#[actix_rt::test]
async fn malformed_packets_close_only_their_session() {
    let (engine, mut evs) = engine();
    let (mut bystander, bystander_id, _) = Client::connected(&engine, &mut evs).await;

    let malformed = [
        "49",                    // unknown Socket.IO packet type
        r#"42["a",{]"#,          // invalid JSON
        r#"42{"event":"a"}"#,    // event payload not an array
        "42[]",                  // event without a name
        r#"431{"not":"array"}"#, // ack payload not an array
        "40[1]",                 // CONNECT payload not an object
        "44{\"message\":\"x\"}", // the client may not send CONNECT_ERROR
    ];
    for wire in malformed {
        let (mut client, id, _) = Client::connected(&engine, &mut evs).await;
        assert_eq!(engine.session_count(), 2);

        client.send(wire);
        client.ws.closed().await;
        assert_eq!(
            evs.disconnected().await,
            (id, DisconnectReason::ParseError),
            "for {wire}"
        );
        assert_eq!(engine.session_count(), 1, "for {wire}");
        // Later packets of the closed session are not processed.
        client.send(r#"421["echo",1]"#);

        assert_eq!(
            bystander.call(1, "echo", &[json!(wire)]).await,
            json!([wire])
        );
    }
    let listed = engine.io().of("/").sockets().await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, bystander_id);
    // Counted, one each (their log line is the session's close).
    let counted = Stats::read(&engine.stats().malformed_packets);
    assert_eq!(counted, malformed.len() as u64);
}

#[actix_rt::test]
async fn unexpected_attachment_is_a_parse_error() {
    let (engine, mut evs) = engine();
    let (mut client, id, _) = Client::connected(&engine, &mut evs).await;
    client.send_binary(b"stray");
    client.ws.closed().await;
    assert_eq!(evs.disconnected().await, (id, DisconnectReason::ParseError));
}

#[actix_rt::test]
async fn malformed_packet_before_connect_closes_the_session() {
    let (engine, mut evs) = engine();
    let mut client = Client::open(&engine).await;
    client.send("4{");
    client.ws.closed().await;
    assert_eq!(engine.session_count(), 0);
    evs.assert_quiet(ms(20)).await;
}
