//! The seeds' socket policies on the engine's seam, at the wire: deferred
//! authentication (`Socket::authenticate` and its deadline) and periodic
//! events, on the engine's own test harness (sessions without HTTP).

#[path = "../actors/engine/tests/common/mod.rs"]
mod common;

use std::time::Duration;

use common::*;
use confab::services::socket_policies::{DeferredAuthentication, PeriodicEvent};
use confab_engine::requests::SessionRequest;
use confab_engine::{Args, DisconnectReason, Engine, EngineConfig, Namespaces};
use serde_json::json;

/// A recording `/` with deferred authentication (`authenticate` and
/// `echo` allowed before it) and an optional periodic `tick`.
fn deferred(timeout: Duration, tick: Option<Duration>) -> (Engine, Evs) {
    let (tx, evs) = ev_channel();
    let mut ns = recording(tx);
    DeferredAuthentication::install(&mut ns, timeout, ["authenticate", "echo"]);
    with_authenticate(&mut ns);
    if let Some(interval) = tick {
        PeriodicEvent::install(&mut ns, interval, "tick", || json!({"t": 1}), true);
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
    client.session.do_send(SessionRequest::Deliver(frames));
    assert_eq!(client.text().await, r#"42["marker",0]"#);
}

/// Writes a marker and reads up to it, allowing only ticks before it.
async fn skip_ticks_to_marker(client: &mut Client) {
    let frames = Args::new(&0).unwrap().event_frames("/", "marker", None);
    client.session.do_send(SessionRequest::Deliver(frames));
    loop {
        match client.text().await.as_str() {
            TICK => continue,
            r#"42["marker",0]"# => break,
            other => panic!("unexpected frame {other}"),
        }
    }
}

/// The client leaves `/`, and its ticks stop.
async fn leave_and_see_ticks_stop(client: &mut Client, evs: &mut Evs, id: String) {
    client.send("41");
    assert_eq!(
        evs.disconnected().await,
        (id, DisconnectReason::ClientNamespaceDisconnect)
    );
    // Ticks written before the `41` was handled may still come.
    skip_ticks_to_marker(client).await;
    // No socket on `/` any more: three intervals without a tick.
    actix_rt::time::sleep(ms(100)).await;
    only_marker_follows(client).await;
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
    DeferredAuthentication::install(&mut ns, ms(40), ["authenticate"]);
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
    PeriodicEvent::install(&mut ns, ms(30), "tick", || json!({"t": 1}), false);
    let mut namespaces = Namespaces::default();
    namespaces.insert("/", ns);
    let engine = Engine::start(EngineConfig::default(), namespaces);

    let (mut client, id, _) = Client::connected(&engine, &mut evs).await;
    assert_eq!(client.text().await, TICK);
    assert_eq!(client.text().await, TICK);

    leave_and_see_ticks_stop(&mut client, &mut evs, id).await;
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

/// `Socket::authenticate` in a namespace without deferred authentication
/// (a socket admitted without a user) must not start a second periodic
/// timer, nor one that outlives the socket.
#[actix_rt::test]
async fn authenticate_without_deferred_mode_keeps_one_periodic_timer() {
    let (tx, mut evs) = ev_channel();
    let mut ns = recording(tx);
    PeriodicEvent::install(&mut ns, ms(30), "tick", || json!({"t": 1}), false);
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
    leave_and_see_ticks_stop(&mut client, &mut evs, id).await;
}
