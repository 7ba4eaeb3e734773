//! Namespace features on top of plain Socket.IO: event guards, the
//! presence hook and `Socket::authenticate`. The seed policies built on
//! the engine's seam (deferred authentication, periodic events) are tested
//! in confab's `tests/seed_policies.rs`.

mod common;

use std::sync::Arc;

use common::*;
use confab_engine::{DisconnectReason, Engine, EngineConfig, Handshake, Namespaces, Presence};
use serde_json::json;
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

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

/// An engine whose `/` takes its user from `auth.user` (or later through
/// `authenticate`, deferred) and reports presence changes.
fn presence_engine() -> (Engine, Evs, UnboundedReceiver<Presence>) {
    let (tx, evs) = ev_channel();
    let mut ns = recording(tx);
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

    // The successor never authenticated: the adapter must not say otherwise.
    let listed = engine.io().of("/").sockets().await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, second.id());
    assert_eq!(
        listed[0].user_id, None,
        "successor got the departed socket's user"
    );
}
