//! Namespace features on top of plain Socket.IO: deferred authentication
//! (`Socket::authenticate` and its deadline), periodic events, event guards
//! and the presence hook.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use confab_engine::adapter::Deliver;
use confab_engine::{
    Args, DisconnectReason, Engine, EngineConfig, Handshake, Namespace, Namespaces, Presence,
};
use serde_json::{Value, json};
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

/// `authenticate(user)`: calls `socket.authenticate(user)` and acks with
/// its result.
fn with_authenticate(ns: &mut Namespace) {
    ns.on("authenticate", |socket, payload, ack| async move {
        let user: String = payload.decode().unwrap();
        let accepted = socket.authenticate(user).await;
        if let Some(ack) = ack {
            ack.send(&accepted).unwrap();
        }
    });
}

/// A recording `/` with deferred authentication (`authenticate` and
/// `echo` allowed before it) and an optional periodic `tick`.
fn deferred(timeout: Duration, tick: Option<Duration>) -> (Engine, Evs) {
    let (tx, evs) = ev_channel();
    let mut ns = recording(tx);
    ns.deferred_authentication(timeout, ["authenticate", "echo"]);
    with_authenticate(&mut ns);
    if let Some(interval) = tick {
        ns.periodic_event(interval, "tick", || json!({"t": 1}));
    }
    let mut namespaces = Namespaces::default();
    namespaces.insert("/", ns);
    (Engine::start(EngineConfig::default(), namespaces), evs)
}

const TICK: &str = r#"42["tick",{"t":1}]"#;

/// Writes a marker straight to the session (no socket needed) and checks it
/// is the next frame.
async fn only_marker_follows(client: &mut Client) {
    let frames = Args::new(&0).unwrap().event_frames("/", "marker", None);
    client.session.do_send(Deliver(frames));
    assert_eq!(client.text().await, r#"42["marker",0]"#);
}

/// Writes a marker and reads up to it, allowing only ticks before it.
async fn skip_ticks_to_marker(client: &mut Client) {
    let frames = Args::new(&0).unwrap().event_frames("/", "marker", None);
    client.session.do_send(Deliver(frames));
    loop {
        match client.text().await.as_str() {
            TICK => continue,
            r#"42["marker",0]"# => break,
            other => panic!("unexpected frame {other}"),
        }
    }
}

#[actix_rt::test]
async fn deferred_socket_is_disconnected_without_authentication() {
    let (engine, mut evs) = deferred(ms(200), None);
    let (mut client, id, socket) = Client::connected(&engine, &mut evs).await;
    assert_eq!(socket.user_id(), None);

    // Before authenticating: only the open events reach handlers.
    assert_eq!(
        client.call(1, "record", &[]).await,
        json!([{"error": "unauthenticated"}])
    );
    assert_eq!(
        client.call(2, "echo", &[json!("open")]).await,
        json!(["open"])
    );
    assert_eq!(
        client.call(3, "nobody", &[]).await,
        json!([{"error": "unauthenticated"}])
    );

    assert_eq!(client.text().await, "41");
    assert_eq!(
        evs.disconnected().await,
        (id, DisconnectReason::ServerNamespaceDisconnect)
    );
    // The connection itself stays.
    assert_eq!(engine.session_count(), 1);
    assert!(engine.io().of("/").sockets().await.is_empty());
}

#[actix_rt::test]
async fn authenticated_socket_is_accepted_and_kept() {
    let (engine, mut evs) = deferred(ms(150), None);
    let (mut client, id, socket) = Client::connected(&engine, &mut evs).await;

    assert_eq!(
        client.call(1, "authenticate", &[json!("ann")]).await,
        json!([true])
    );
    assert_eq!(socket.user_id(), Some("ann"));
    assert_eq!(client.call(2, "record", &[]).await, json!(["ok"]));
    evs.event().await;
    let listed = engine.io().of("/").sockets().await;
    assert_eq!(listed[0].user_id.as_deref(), Some("ann"));
    // Once only.
    assert_eq!(
        client.call(3, "authenticate", &[json!("bob")]).await,
        json!([false])
    );
    assert_eq!(socket.user_id(), Some("ann"));

    // Past the deadline (a timer: nothing to await), still connected.
    actix_rt::time::sleep(ms(250)).await;
    client.expect_only_marker(&engine, &id).await;
    assert_eq!(engine.io().of("/").sockets().await.len(), 1);
}

#[actix_rt::test]
async fn middleware_user_needs_no_deferred_authentication() {
    let (tx, mut evs) = ev_channel();
    let mut ns = recording(tx);
    ns.deferred_authentication(ms(40), ["authenticate"]);
    user_from_auth(&mut ns);
    let mut namespaces = Namespaces::default();
    namespaces.insert("/", ns);
    let engine = Engine::start(EngineConfig::default(), namespaces);

    let mut client = Client::open(&engine).await;
    client.send(r#"40{"user":"ann"}"#);
    let reply = client.text().await;
    assert!(reply.starts_with(r#"40{"sid":"#), "{reply}");
    let socket = evs.connected().await;
    assert_eq!(socket.user_id(), Some("ann"));
    assert_eq!(client.call(1, "record", &[]).await, json!(["ok"]));
    actix_rt::time::sleep(ms(100)).await;
    client.expect_only_marker(&engine, socket.id()).await;
}

#[actix_rt::test]
async fn periodic_event_runs_while_the_socket_is_connected() {
    let (tx, mut evs) = ev_channel();
    let mut ns = recording(tx);
    ns.periodic_event(ms(30), "tick", || json!({"t": 1}));
    let mut namespaces = Namespaces::default();
    namespaces.insert("/", ns);
    let engine = Engine::start(EngineConfig::default(), namespaces);

    let (mut client, id, _) = Client::connected(&engine, &mut evs).await;
    assert_eq!(client.text().await, TICK);
    assert_eq!(client.text().await, TICK);

    client.send("41");
    assert_eq!(
        evs.disconnected().await,
        (id, DisconnectReason::ClientNamespaceDisconnect)
    );
    // Ticks written before the `41` was handled may still come.
    skip_ticks_to_marker(&mut client).await;
    // No socket on `/` any more: three intervals without a tick.
    actix_rt::time::sleep(ms(100)).await;
    only_marker_follows(&mut client).await;
}

#[actix_rt::test]
async fn periodic_event_starts_after_deferred_authentication() {
    let (engine, mut evs) = deferred(ms(500), Some(ms(30)));
    let (mut client, _, _) = Client::connected(&engine, &mut evs).await;

    // Three intervals without a tick.
    actix_rt::time::sleep(ms(100)).await;
    only_marker_follows(&mut client).await;

    // Authenticating sends one tick at once (Ignis' initial ping), in any
    // order with the ack, then one per interval.
    client.send(r#"421["authenticate","ann"]"#);
    let mut first = [client.text().await, client.text().await];
    first.sort();
    assert_eq!(first, [TICK.to_string(), r#"431[true]"#.to_string()]);
    assert_eq!(client.text().await, TICK);
}

#[actix_rt::test]
async fn guards_refuse_events_with_an_error_ack() {
    let (tx, mut evs) = ev_channel();
    let mut ns = recording(tx);
    ns.guard(|_, payload| match payload.event() {
        "record" if payload.json().first() == Some(&json!("forbidden")) => {
            Err("not allowed".into())
        }
        _ => Ok(()),
    });
    ns.guard(|socket, _| {
        if socket.auth().get("banned").is_some() {
            Err("banned".into())
        } else {
            Ok(())
        }
    });
    let mut namespaces = Namespaces::default();
    namespaces.insert("/", ns);
    let engine = Engine::start(EngineConfig::default(), namespaces);

    let (mut client, _, _) = Client::connected(&engine, &mut evs).await;
    assert_eq!(
        client.call(1, "record", &[json!("forbidden")]).await,
        json!([{"error": "not allowed"}])
    );
    // Without an ack, a refused event just vanishes.
    client.send(r#"42["record","forbidden"]"#);
    assert_eq!(
        client.call(2, "record", &[json!("fine")]).await,
        json!(["ok"])
    );
    let (_, payload) = evs.event().await;
    assert_eq!(payload.json(), vec![json!("fine")]);

    let mut banned = Client::open(&engine).await;
    banned.send(r#"40{"banned":true}"#);
    banned.text().await;
    evs.connected().await;
    assert_eq!(
        banned.call(1, "echo", &[json!(1)]).await,
        json!([{"error": "banned"}])
    );
    evs.assert_quiet(ms(20)).await;
}

/// A middleware that takes the socket's user from `auth.user`.
fn user_from_auth(ns: &mut Namespace) {
    ns.middleware(|mut req| async move {
        req.user_id = req
            .auth
            .get("user")
            .and_then(Value::as_str)
            .map(str::to_owned);
        Ok(req)
    });
}

/// An engine whose `/` takes its user from `auth.user` (or later through
/// `authenticate`, deferred) and reports presence changes.
fn presence_engine() -> (Engine, Evs, UnboundedReceiver<Presence>) {
    let (tx, evs) = ev_channel();
    let mut ns = recording(tx);
    ns.deferred_authentication(ms(1000), ["authenticate"]);
    with_authenticate(&mut ns);
    user_from_auth(&mut ns);
    let mut namespaces = Namespaces::default();
    namespaces.insert("/", ns);
    let (ptx, prx) = unbounded_channel();
    let hook = Arc::new(move |p: Presence| {
        let _ = ptx.send(p);
    });
    let engine = Engine::start_with_presence(EngineConfig::default(), namespaces, Some(hook));
    (engine, evs, prx)
}

async fn next_presence(rx: &mut UnboundedReceiver<Presence>) -> Presence {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("no presence change within 1 s")
        .unwrap()
}

fn online(user: &str) -> Presence {
    Presence::Online {
        user_id: user.into(),
    }
}

fn is_offline(p: &Presence, user: &str) -> bool {
    matches!(p, Presence::Offline { user_id, .. } if user_id == user)
}

async fn connect_as(engine: &Engine, evs: &mut Evs, user: &str) -> Client {
    let mut client = Client::open(engine).await;
    client.send(&format!(r#"40{{"user":"{user}"}}"#));
    assert!(client.text().await.starts_with("40{"));
    evs.connected().await;
    client
}

#[actix_rt::test]
async fn presence_follows_a_users_first_and_last_socket() {
    let (engine, mut evs, mut presence) = presence_engine();
    let ann1 = connect_as(&engine, &mut evs, "ann").await;
    assert_eq!(next_presence(&mut presence).await, online("ann"));
    let mut ann2 = connect_as(&engine, &mut evs, "ann").await;
    let _bob = connect_as(&engine, &mut evs, "bob").await;
    // ann's second socket changed nothing: the next change is bob's.
    assert_eq!(next_presence(&mut presence).await, online("bob"));

    ann1.send("41");
    evs.disconnected().await;
    ann2.send("1");
    ann2.ws.closed().await;
    evs.disconnected().await;
    // ann1's leaving changed nothing: the next change is ann going offline.
    let change = next_presence(&mut presence).await;
    assert!(is_offline(&change, "ann"), "{change:?}");
    // ann1's connection is still open, bob's socket too.
    assert_eq!(engine.session_count(), 2);
}

#[actix_rt::test]
async fn deferred_authentication_counts_for_presence() {
    let (engine, mut evs, mut presence) = presence_engine();
    let (mut client, id, _) = Client::connected(&engine, &mut evs).await;
    let listed = engine.io().of("/").sockets().await;
    assert_eq!(listed[0].user_id, None);

    assert_eq!(
        client.call(1, "authenticate", &[json!("cat")]).await,
        json!([true])
    );
    assert_eq!(next_presence(&mut presence).await, online("cat"));
    let listed = engine.io().of("/").sockets().await;
    assert_eq!(listed[0].user_id.as_deref(), Some("cat"));

    client.send("41");
    assert_eq!(
        evs.disconnected().await,
        (id, DisconnectReason::ClientNamespaceDisconnect)
    );
    let change = next_presence(&mut presence).await;
    assert!(is_offline(&change, "cat"), "{change:?}");
}

/// `Socket::authenticate` of a socket that has already left must not
/// authenticate whichever socket now holds its namespace on the session.
#[actix_rt::test]
async fn late_authenticate_of_a_departed_socket_leaves_its_successor_alone() {
    let (engine, mut evs, _presence) = presence_engine();
    let session = engine.open(
        Handshake::default(),
        confab_engine::session::NewTransport::Polling,
    );
    assert!(poll(&session).await.unwrap().starts_with('0'));
    send_polling(&session, "40");
    let first = evs.connected().await;
    assert!(poll(&session).await.unwrap().starts_with("40"));

    // One POST: authenticate, leave the namespace, connect again. The
    // handler's authenticate() runs after the new socket exists.
    send_polling(&session, "421[\"authenticate\",\"ann\"]\x1e41\x1e40");
    assert_eq!(
        evs.disconnected().await,
        (
            first.id().to_owned(),
            DisconnectReason::ClientNamespaceDisconnect
        )
    );
    let second = evs.connected().await;
    let mut parts = Vec::new();
    while parts.len() < 2 {
        parts.extend(
            poll(&session)
                .await
                .unwrap()
                .split('\x1e')
                .map(str::to_owned),
        );
    }
    assert!(parts.contains(&"431[true]".to_owned()), "{parts:?}");
    assert_eq!(second.user_id(), None);

    // The successor never authenticated: the registry must not say otherwise.
    let listed = engine.io().of("/").sockets().await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, second.id());
    assert_eq!(
        listed[0].user_id, None,
        "successor got the departed socket's user"
    );
}

/// `Socket::authenticate` in a namespace without deferred authentication
/// (a socket admitted without a user) must not start a second periodic
/// timer, nor one that outlives the socket.
#[actix_rt::test]
async fn authenticate_without_deferred_mode_keeps_one_periodic_timer() {
    let (tx, mut evs) = ev_channel();
    let mut ns = recording(tx);
    ns.periodic_event(ms(30), "tick", || json!({"t": 1}));
    with_authenticate(&mut ns);
    let mut namespaces = Namespaces::default();
    namespaces.insert("/", ns);
    let engine = Engine::start(EngineConfig::default(), namespaces);

    let (mut client, id, _) = Client::connected(&engine, &mut evs).await;
    assert_eq!(client.text().await, TICK);
    client.send(r#"421["authenticate","ann"]"#);
    loop {
        let frame = client.text().await;
        if frame == "431[true]" {
            break;
        }
        assert_eq!(frame, TICK);
    }
    client.send("41");
    assert_eq!(
        evs.disconnected().await,
        (id, DisconnectReason::ClientNamespaceDisconnect)
    );
    // Ticks written before the `41` was handled may still come.
    skip_ticks_to_marker(&mut client).await;
    // No socket on `/` any more: three intervals without a tick.
    actix_rt::time::sleep(ms(100)).await;
    only_marker_follows(&mut client).await;
}
