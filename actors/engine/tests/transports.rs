//! The Engine.IO side of a session: heartbeat, connect timeout,
//! long-polling (queue, parked GET, overlap, overflow) and the upgrade
//! from long-polling to WebSocket.

mod common;

use common::*;
use confab_engine::outbound::WsSink;
use confab_engine::protocol::engineio::decode_text;
use confab_engine::session::{
    AttachProbe, NewTransport, PollError, TransportClosed, TransportKind, WsEvent,
};
use confab_engine::{DisconnectReason, Engine, EngineConfig, Handshake, Stats};
use serde_json::json;

/// A closed polling session with no parked GET: the next GET gets the
/// close packet (or finds the session gone), and then it is forgotten.
async fn last_get_closes(engine: &Engine, session: &actix::Addr<confab_engine::session::Session>) {
    match tokio::time::timeout(WAIT, session.send(confab_engine::session::Poll)).await {
        Ok(Ok(Ok(body))) => assert_eq!(&body[..], b"1"),
        Ok(Err(_)) => {} // already stopped
        other => panic!("GET on a closed session: {other:?}"),
    }
    assert_eq!(engine.session_count(), 0);
    assert!(
        session.send(confab_engine::session::Poll).await.is_err(),
        "session stopped"
    );
}

fn fast_heartbeat() -> EngineConfig {
    EngineConfig {
        ping_interval: ms(50),
        ping_timeout: ms(150),
        ..Default::default()
    }
}

#[actix_rt::test]
async fn answered_pings_keep_the_session() {
    let (engine, mut evs) = engine_with(fast_heartbeat(), &[]);
    let (mut client, _, _) = Client::connected(&engine, &mut evs).await;

    for _ in 0..3 {
        assert_eq!(client.text().await, "2");
        client.send("3");
    }
    assert_eq!(client.text().await, "2");
    assert_eq!(engine.session_count(), 1);
    assert_eq!(
        client.call(1, "echo", &[json!("alive")]).await,
        json!(["alive"])
    );
}

#[actix_rt::test]
async fn a_missed_pong_closes_the_session() {
    let (engine, mut evs) = engine_with(fast_heartbeat(), &[]);
    let (mut client, id, _) = Client::connected(&engine, &mut evs).await;
    let mut other = Client::open(&engine).await;

    assert_eq!(client.text().await, "2");
    client.send("3");
    assert_eq!(client.text().await, "2");
    // No pong this time.
    client.ws.closed().await;
    assert_eq!(
        evs.disconnected().await,
        (id, DisconnectReason::PingTimeout)
    );
    assert!(engine.io().of("/").sockets().await.is_empty());

    // The other session (never answering either) goes the same way; only
    // the open sessions count.
    assert_eq!(other.text().await, "2");
    other.ws.closed().await;
    assert_eq!(engine.session_count(), 0);
}

#[actix_rt::test]
async fn unsolicited_pong_and_noop_are_harmless_but_a_client_ping_closes() {
    let (engine, mut evs) = engine_with(fast_heartbeat(), &[]);
    let (mut client, _, _) = Client::connected(&engine, &mut evs).await;
    client.send("3");
    client.send("6");
    assert_eq!(client.text().await, "2");
    client.send("3");
    assert_eq!(client.text().await, "2");
    assert_eq!(engine.session_count(), 1);
    // In Engine.IO v4 only the server pings, as the Node server enforces.
    client.send("2");
    client.ws.closed().await;
    let (_, reason) = evs.disconnected().await;
    assert_eq!(reason, DisconnectReason::TransportError);
}

#[actix_rt::test]
async fn polling_heartbeat_goes_through_the_queue() {
    let (engine, _evs) = engine_with(fast_heartbeat(), &[]);
    let session = engine.open(Handshake::default(), NewTransport::Polling);
    assert!(poll(&session).await.unwrap().starts_with('0'));
    // The parked GET is released by the ping.
    assert_eq!(poll(&session).await.unwrap(), "2");
    send_polling(&session, "3");
    assert_eq!(poll(&session).await.unwrap(), "2");
    // No pong: the parked GET ends with a close packet.
    assert_eq!(poll(&session).await.unwrap(), "1");
    assert_eq!(engine.session_count(), 0);
}

#[actix_rt::test]
async fn no_connect_in_time_closes_the_session() {
    let config = EngineConfig {
        connect_timeout: ms(150),
        ..Default::default()
    };
    let (engine, mut evs) = engine_with(config, &[]);
    let mut idle = Client::open(&engine).await;
    let (mut busy, _, _) = Client::connected(&engine, &mut evs).await;
    // A refused CONNECT does not count as connected.
    let mut refused = Client::open(&engine).await;
    refused.send("40/nope,");
    assert_eq!(
        refused.text().await,
        r#"44/nope,{"message":"Invalid namespace"}"#
    );

    idle.ws.closed().await;
    refused.ws.closed().await;
    assert_eq!(engine.session_count(), 1);
    // The connected session outlives the timeout.
    assert_eq!(busy.call(1, "echo", &[json!(1)]).await, json!([1]));
    evs.assert_quiet(ms(10)).await;
}

#[actix_rt::test]
async fn poll_returns_every_queued_frame_joined_by_record_separators() {
    let (engine, mut evs) = engine();
    let session = engine.open(Handshake::default(), NewTransport::Polling);
    send_polling(&session, "40");
    let socket = evs.connected().await;
    socket.emit("a", &1).unwrap();
    socket.emit("b", &("x", 2)).unwrap();

    let body = poll(&session).await.unwrap();
    let parts: Vec<&str> = body.split('\x1e').collect();
    assert_eq!(parts.len(), 4, "{body:?}");
    assert!(parts[0].starts_with(r#"0{"sid":"#));
    assert_eq!(parts[1], format!(r#"40{{"sid":"{}"}}"#, socket.id()));
    assert_eq!(parts[2], r#"42["a",1]"#);
    assert_eq!(parts[3], r#"42["b","x",2]"#);

    // A POST may carry several packets; binary goes base64 both ways.
    send_polling(&session, "421[\"echo\",\"p\"]\x1e422[\"echo\",3]");
    send_polling(
        &session,
        "451-3[\"echo\",{\"_placeholder\":true,\"num\":0}]\x1ebAQID",
    );
    // The handlers answer asynchronously: GET until the three acks are in.
    let mut parts = Vec::new();
    while parts.len() < 4 {
        parts.extend(
            poll(&session)
                .await
                .unwrap()
                .split('\x1e')
                .map(str::to_owned),
        );
    }
    assert_eq!(
        parts,
        [
            "431[\"p\"]",
            "432[3]",
            "461-3[{\"_placeholder\":true,\"num\":0}]",
            "bAQID"
        ]
    );
}

#[actix_rt::test]
async fn a_parked_poll_is_answered_by_the_next_write() {
    let (engine, mut evs) = engine();
    let session = engine.open(Handshake::default(), NewTransport::Polling);
    assert!(poll(&session).await.unwrap().starts_with('0'));

    let parked = actix_rt::spawn({
        let session = session.clone();
        async move { poll(&session).await }
    });
    send_polling(&session, "40");
    let socket = evs.connected().await;
    let body = parked.await.unwrap().unwrap();
    assert_eq!(body, format!(r#"40{{"sid":"{}"}}"#, socket.id()));

    let parked = actix_rt::spawn({
        let session = session.clone();
        async move { poll(&session).await }
    });
    engine.io().emit("late", &true).unwrap();
    assert_eq!(parked.await.unwrap().unwrap(), r#"42["late",true]"#);
}

#[actix_rt::test]
async fn overlapping_polls_close_the_session() {
    let (engine, mut evs) = engine();
    let session = engine.open(Handshake::default(), NewTransport::Polling);
    assert!(poll(&session).await.unwrap().starts_with('0'));
    send_polling(&session, "40");
    let socket = evs.connected().await;
    assert!(poll(&session).await.unwrap().starts_with("40"));

    let first = session.send(confab_engine::session::Poll);
    let second = poll(&session).await;
    assert_eq!(second, Err(PollError::Overlap));
    // The parked GET tells the client the session is over.
    let first = first.await.unwrap().unwrap();
    assert_eq!(&first[..], b"1");
    assert_eq!(
        evs.disconnected().await,
        (socket.id().to_owned(), DisconnectReason::TransportError)
    );
    assert_eq!(engine.session_count(), 0);
    assert!(
        session.send(confab_engine::session::Poll).await.is_err(),
        "session stopped"
    );
}

/// A kilobyte of text to emit.
fn kilobyte() -> String {
    "k".repeat(1000)
}

#[actix_rt::test]
async fn too_many_queued_bytes_close_the_session() {
    // The open packet and the CONNECT reply cost about 300.
    let config = EngineConfig {
        max_buffered_bytes: 2000,
        ..Default::default()
    };
    let (engine, mut evs) = engine_with(config, &[]);
    let session = engine.open(Handshake::default(), NewTransport::Polling);
    send_polling(&session, "40");
    let socket = evs.connected().await; // queued: open, CONNECT reply
    socket.emit("a", &kilobyte()).unwrap(); // ~1400: still within the limit
    socket.emit("b", &kilobyte()).unwrap(); // ~2500: over
    assert_eq!(
        evs.disconnected().await,
        (socket.id().to_owned(), DisconnectReason::TransportError)
    );
    assert_eq!(Stats::read(&engine.stats().outbound_overflows), 1);
    // The queue was dropped: the next GET gets the close packet alone.
    last_get_closes(&engine, &session).await;
}

#[actix_rt::test]
async fn a_draining_client_stays_within_the_byte_limit() {
    let config = EngineConfig {
        max_buffered_bytes: 2000,
        ..Default::default()
    };
    let (engine, mut evs) = engine_with(config, &[]);
    let session = engine.open(Handshake::default(), NewTransport::Polling);
    send_polling(&session, "40");
    let socket = evs.connected().await;
    for round in 0..5 {
        socket.emit("a", &(round, kilobyte())).unwrap();
        let body = poll(&session).await.unwrap();
        assert!(body.ends_with(&format!(r#"42["a",{round},"{}"]"#, kilobyte())));
    }
    assert_eq!(engine.session_count(), 1);
}

/// The client should never see on_connect for a socket whose connection
/// was closed while its CONNECT reply was being written.
#[actix_rt::test]
async fn on_connect_does_not_run_for_a_socket_closed_by_its_connect_reply() {
    // The open packet (about 180 with its overhead) fills the queue; the
    // CONNECT reply (about 100) overflows it.
    let config = EngineConfig {
        max_buffered_bytes: 200,
        ..Default::default()
    };
    let (engine, mut evs) = engine_with(config, &[]);
    let session = engine.open(Handshake::default(), NewTransport::Polling);
    send_polling(&session, "40");
    let (_, reason) = evs.disconnected().await;
    assert_eq!(reason, DisconnectReason::TransportError);
    // on_connect would be spawned right after on_disconnect.
    evs.assert_quiet(ms(50)).await;
}

/// Opens a polling session connected to `/`, open packet and CONNECT
/// reply already read.
async fn polling_client(
    engine: &Engine,
    evs: &mut Evs,
) -> (actix::Addr<confab_engine::session::Session>, String) {
    let session = engine.open(Handshake::default(), NewTransport::Polling);
    assert!(poll(&session).await.unwrap().starts_with('0'));
    send_polling(&session, "40");
    let socket = evs.connected().await;
    assert!(poll(&session).await.unwrap().starts_with("40"));
    (session, socket.id().to_owned())
}

#[actix_rt::test]
async fn upgrade_from_polling_to_websocket() {
    let (engine, mut evs) = engine();
    let (session, id) = polling_client(&engine, &mut evs).await;

    let (mut probe, sink) = Ws::new();
    session
        .send(AttachProbe(sink))
        .await
        .unwrap()
        .expect("probe accepted");
    // A second probe is refused while one is attached.
    let (_, other_sink) = Ws::new();
    assert!(
        session
            .send(AttachProbe(other_sink))
            .await
            .unwrap()
            .is_err()
    );

    // A GET is parked when the probe pings.
    let parked = session.send(confab_engine::session::Poll);
    send_ws(&session, "2probe");
    assert_eq!(probe.text().await, "3probe");
    assert_eq!(&parked.await.unwrap().unwrap()[..], b"6");
    // While the client pauses polling, any GET is released at once.
    assert_eq!(poll(&session).await.unwrap(), "6");

    // Written during the upgrade: held for whichever transport wins.
    engine.io().emit("during", &1).unwrap();
    send_ws(&session, "5");
    assert_eq!(probe.text().await, r#"42["during",1]"#);

    // From now on everything goes through the WebSocket.
    engine.io().emit("after", &2).unwrap();
    assert_eq!(probe.text().await, r#"42["after",2]"#);
    send_ws(&session, r#"421["echo","ws"]"#);
    assert_eq!(probe.text().await, r#"431["ws"]"#);
    assert_eq!(poll(&session).await, Err(PollError::NotPolling));
    // Late packets on the old transport are ignored.
    send_polling(&session, r#"422["echo","polling"]"#);
    engine.io().to(id.clone()).emit("marker", &0).unwrap();
    assert_eq!(probe.text().await, r#"42["marker",0]"#);
    // No probe on a websocket session.
    let (_, sink) = Ws::new();
    assert!(session.send(AttachProbe(sink)).await.unwrap().is_err());

    // Closing the websocket now closes the session.
    session.do_send(TransportClosed(TransportKind::WebSocket));
    assert_eq!(
        evs.disconnected().await,
        (id, DisconnectReason::TransportClose)
    );
    probe.closed().await;
    assert_eq!(engine.session_count(), 0);
}

#[actix_rt::test]
async fn a_failed_probe_leaves_polling_in_place() {
    let (engine, mut evs) = engine();
    let (session, id) = polling_client(&engine, &mut evs).await;

    let (mut probe, sink) = Ws::new();
    session.send(AttachProbe(sink)).await.unwrap().unwrap();
    send_ws(&session, "2probe");
    assert_eq!(probe.text().await, "3probe");
    // The probe WebSocket dies before `5`.
    session.do_send(TransportClosed(TransportKind::WebSocket));

    // Polling carries on, GETs park again.
    let parked = actix_rt::spawn({
        let session = session.clone();
        async move { poll(&session).await }
    });
    engine.io().emit("still", "polling").unwrap();
    assert_eq!(parked.await.unwrap().unwrap(), r#"42["still","polling"]"#);
    assert_eq!(engine.session_count(), 1);
    probe.assert_empty();

    // And a new probe may try again.
    let (mut probe, sink) = Ws::new();
    session
        .send(AttachProbe(sink))
        .await
        .unwrap()
        .expect("second probe accepted");
    send_ws(&session, "2probe");
    assert_eq!(probe.text().await, "3probe");
    send_ws(&session, "5");
    engine.io().to(id).emit("up", &1).unwrap();
    assert_eq!(probe.text().await, r#"42["up",1]"#);
}

#[actix_rt::test]
async fn closing_a_polling_session_closes_its_probe() {
    let (engine, mut evs) = engine();
    let (session, id) = polling_client(&engine, &mut evs).await;
    let (mut probe, sink) = Ws::new();
    session.send(AttachProbe(sink)).await.unwrap().unwrap();

    // An Engine.IO close over polling.
    send_polling(&session, "1");
    probe.closed().await;
    assert_eq!(
        evs.disconnected().await,
        (id, DisconnectReason::TransportClose)
    );
    assert!(engine.io().of("/").sockets().await.is_empty());
    last_get_closes(&engine, &session).await;
}

/// `connect_timeout` is how long a new connection may go without
/// connecting to a namespace: one that did connect, then left its
/// namespace, is not idle-new (Node clears the timer on the first CONNECT).
#[actix_rt::test]
async fn connect_timeout_spares_a_connection_that_did_connect() {
    let config = EngineConfig {
        connect_timeout: ms(100),
        ..Default::default()
    };
    let (engine, mut evs) = engine_with(config, &[]);
    let (mut client, id, _) = Client::connected(&engine, &mut evs).await;
    client.send("41");
    assert_eq!(
        evs.disconnected().await,
        (id, DisconnectReason::ClientNamespaceDisconnect)
    );
    // Past the deadline (a timer: nothing to await).
    actix_rt::time::sleep(ms(200)).await;
    assert_eq!(engine.session_count(), 1);
    client.send("40/nope,");
    assert_eq!(
        client.text().await,
        r#"44/nope,{"message":"Invalid namespace"}"#
    );
}

#[actix_rt::test]
async fn a_websocket_over_its_byte_budget_is_aborted_not_buffered_forever() {
    let config = EngineConfig {
        max_buffered_bytes: 5000,
        ..Default::default()
    };
    let (engine, mut evs) = engine_with(config, &[]);
    // A WebSocket whose peer stopped reading: nothing drains its queue,
    // so nothing leaves the budget.
    let sink = WsSink::default();
    let outbound = sink.outbound.clone();
    let (aborted_tx, aborted) = tokio::sync::oneshot::channel();
    outbound.on_abort(Box::new(move || {
        let _ = aborted_tx.send(());
    }));
    let session = engine.open(Handshake::default(), websocket(sink));
    send_ws(&session, "40");
    let socket = evs.connected().await;
    for _ in 0..10 {
        socket.emit("flood", &kilobyte()).unwrap();
    }
    let (_, reason) = evs.disconnected().await;
    assert_eq!(reason, DisconnectReason::TransportError);
    // Cut from outside the stuck transport, not by a message behind the queue.
    tokio::time::timeout(WAIT, aborted)
        .await
        .expect("the transport's abort ran")
        .unwrap();
    assert!(outbound.is_aborted());
    assert!(outbound.queued() <= 5000, "{}", outbound.queued());
}

/// A session opened on WebSocket with packets its reader hands it (the
/// test's channel stands for the reader).
fn read_session(engine: &Engine) -> (Ws, tokio::sync::mpsc::UnboundedSender<WsEvent>) {
    let (ws, sink) = Ws::new();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<WsEvent>();
    let packets = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
    engine.open(
        Handshake::default(),
        NewTransport::WebSocket(sink, Box::pin(packets)),
    );
    (ws, tx)
}

fn packet(wire: &str) -> WsEvent {
    WsEvent::Packet(decode_text(wire.to_owned().into()).unwrap())
}

#[actix_rt::test]
async fn a_session_reads_its_websocket_and_closes_when_the_reader_ends() {
    let (engine, mut evs) = engine();
    let (mut ws, reader) = read_session(&engine);
    open_json(&ws.text().await);
    reader.send(packet("40")).unwrap();
    assert!(ws.text().await.starts_with("40{\"sid\":"));
    let socket = evs.connected().await;
    reader.send(packet(r#"42["record",1]"#)).unwrap();
    let (id, _) = evs.event().await;
    assert_eq!(id, socket.id());
    // The connection ended: the reader's stream ends.
    drop(reader);
    let (_, reason) = evs.disconnected().await;
    assert_eq!(reason, DisconnectReason::TransportClose);
    ws.closed().await;
    assert_eq!(engine.session_count(), 0);
}

#[actix_rt::test]
async fn a_malformed_message_from_the_reader_closes_the_session_as_a_parse_error() {
    let (engine, mut evs) = engine();
    let (mut ws, reader) = read_session(&engine);
    open_json(&ws.text().await);
    reader.send(packet("40")).unwrap();
    ws.text().await;
    evs.connected().await;
    reader.send(WsEvent::Malformed).unwrap();
    let (_, reason) = evs.disconnected().await;
    assert_eq!(reason, DisconnectReason::ParseError);
    ws.closed().await;
}
