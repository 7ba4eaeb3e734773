//! The adapter driven by its own calls, with real sessions (opened on
//! WebSocket sinks) as the members that frames go to.

mod common;

use actix::prelude::*;
use common::*;
use confab_engine::adapter::{Adapter, SocketHandle};
use confab_engine::link::SessionLink;
use confab_engine::protocol::engineio::{Frames, Sid};
use confab_engine::session::Session;
use confab_engine::{Args, RoomChange, Stats, Target};
use std::sync::Arc;

fn frames(event: &str) -> Frames {
    Args::empty().event_frames("/", event, None)
}

fn target(rooms: &[&str], except: &[&str]) -> Target {
    Target {
        nsp: "/".into(),
        rooms: rooms.iter().map(|r| r.to_string()).collect(),
        except: except.iter().map(|r| r.to_string()).collect(),
        local: false,
    }
}

fn handle(session: &Addr<Session>) -> SocketHandle {
    SocketHandle {
        session: SessionLink::new(session.clone().recipient()),
        log: None,
    }
}

fn adapter() -> Adapter {
    Adapter::new(None, None, Arc::new(Stats::default()))
}

fn emit(adapter: &Adapter, target: &Target, event: &str) {
    adapter.broadcast(target, event, &Args::empty());
}

fn ids(mut infos: Vec<confab_engine::SocketInfo>) -> Vec<String> {
    let mut ids: Vec<String> = infos.drain(..).map(|i| i.id).collect();
    ids.sort();
    ids
}

fn sorted(sids: &[Sid]) -> Vec<String> {
    let mut ids: Vec<String> = sids.iter().map(|s| s.as_str().to_owned()).collect();
    ids.sort();
    ids
}

fn rooms(names: &[&str]) -> Vec<String> {
    names.iter().map(|r| r.to_string()).collect()
}

#[actix_rt::test]
async fn membership_and_fanout_through_the_adapter() {
    let (engine, _evs) = engine();
    let mut c1 = Client::open(&engine).await;
    let mut c2 = Client::open(&engine).await;
    let adapter = adapter();
    let (s1, s2) = (Sid::new(), Sid::new());
    adapter.add_socket("/", s1, handle(&c1.session), None);
    adapter.add_socket("/", s2, handle(&c2.session), None);

    adapter.join("/", s1, &rooms(&["r", "r", "q"]));
    adapter.join("/", s2, &rooms(&["r"]));
    // Joining for a socket the adapter does not know is ignored.
    adapter.join("/", Sid::new(), &rooms(&["r"]));
    assert_eq!(
        adapter.rooms_of("/", s1),
        vec![s1.as_str().to_owned(), "q".into(), "r".into()]
    );
    assert!(adapter.rooms_of("/", Sid::new()).is_empty());

    // One room.
    emit(&adapter, &target(&["r"], &[]), "one");
    assert_eq!(c1.text().await, r#"42["one"]"#);
    assert_eq!(c2.text().await, r#"42["one"]"#);
    // One room minus a socket (its id room).
    emit(&adapter, &target(&["r"], &[s1.as_str()]), "two");
    assert_eq!(c2.text().await, r#"42["two"]"#);
    // Two rooms: once per socket.
    emit(&adapter, &target(&["r", "q"], &[]), "three");
    assert_eq!(c1.text().await, r#"42["three"]"#);
    assert_eq!(c2.text().await, r#"42["three"]"#);
    // A room minus a room.
    emit(&adapter, &target(&["r"], &["q"]), "four");
    assert_eq!(c2.text().await, r#"42["four"]"#);
    // Another namespace selects nobody here.
    let mut t = target(&[], &[]);
    t.nsp = "/other".into();
    emit(&adapter, &t, "five");
    emit(&adapter, &target(&[s1.as_str()], &[]), "six");
    assert_eq!(c1.text().await, r#"42["six"]"#);
    emit(&adapter, &target(&[s2.as_str()], &[]), "mark");
    assert_eq!(
        c2.text().await,
        r#"42["mark"]"#,
        "c2 got nothing in between"
    );

    adapter.leave("/", s1, &rooms(&["r", "nope"]));
    assert_eq!(
        adapter.rooms_of("/", s1),
        vec![s1.as_str().to_owned(), "q".into()]
    );
    let r = adapter.local_sockets(&target(&["r"], &[]));
    assert_eq!(ids(r), sorted(&[s2]));

    // Removing a socket leaves every room: "q" has no member left.
    adapter.remove_socket("/", s1);
    assert!(adapter.local_sockets(&target(&["q"], &[])).is_empty());
    assert_eq!(adapter.census().rooms.get("/"), Some(&1), "only r is left");
    emit(&adapter, &target(&["q"], &[]), "seven");
    emit(&adapter, &target(&[], &[]), "eight");
    assert_eq!(c2.text().await, r#"42["eight"]"#);
    // s1 is gone: c1 got neither; its session still takes direct frames.
    SessionLink::new(c1.session.clone().recipient()).deliver(&frames("mark"));
    assert_eq!(c1.text().await, r#"42["mark"]"#);
}

#[actix_rt::test]
async fn disconnect_sockets_reaches_the_selected_sessions() {
    let (engine, mut evs) = engine();
    let (mut a, a_id, _) = Client::connected(&engine, &mut evs).await;
    let (mut b, b_id, _) = Client::connected(&engine, &mut evs).await;
    // Not the engine's adapter: the real sockets' ids in a private one.
    let adapter = adapter();
    adapter.add_socket("/", a_id.parse().unwrap(), handle(&a.session), None);
    adapter.add_socket("/", b_id.parse().unwrap(), handle(&b.session), None);
    adapter.join("/", b_id.parse().unwrap(), &rooms(&["x"]));

    adapter.disconnect_sockets(&target(&["x"], &[]), false);
    assert_eq!(b.text().await, "41");
    let (id, _) = evs.disconnected().await;
    assert_eq!(id, b_id);
    a.expect_only_marker(&engine, &a_id).await;
}

/// The room hook hears every join and leave once, in order, the socket's
/// own id room and repeated joins aside; `add_sockets` joins a target's
/// sockets, and leaving on removal is heard too.
#[actix_rt::test]
async fn the_room_hook_hears_joins_and_leaves() {
    let (engine, _evs) = engine();
    let c1 = Client::open(&engine).await;
    let heard = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = heard.clone();
    let hook: confab_engine::RoomHook = Arc::new(move |change| sink.lock().unwrap().push(change));
    let adapter = Adapter::new(None, Some(hook), Arc::new(Stats::default()));
    let (s1, s2) = (Sid::new(), Sid::new());
    adapter.add_socket("/", s1, handle(&c1.session), None);
    adapter.add_socket("/", s2, handle(&c1.session), None);
    adapter.join("/", s1, &rooms(&["a", "a", s1.as_str()]));
    adapter.add_sockets(&target(&["a"], &[]), &rooms(&["b"]));
    adapter.leave("/", s1, &rooms(&["a", "never"]));
    adapter.remove_socket("/", s1);
    let change = |joined: bool, room: &str| {
        let (nsp, room, socket) = ("/".into(), room.into(), s1.as_str().into());
        match joined {
            true => RoomChange::Joined { nsp, room, socket },
            false => RoomChange::Left { nsp, room, socket },
        }
    };
    assert_eq!(
        *heard.lock().unwrap(),
        [
            change(true, "a"),
            change(true, "b"),
            change(false, "a"),
            change(false, "b")
        ]
    );
    // s2 was in neither room: add_sockets left it alone.
    assert_eq!(adapter.rooms_of("/", s2), [s2.as_str().to_owned()]);
}

/// A user is online from their first socket (in any namespace) to their
/// last; a socket that authenticates later counts from then on, once.
#[actix_rt::test]
async fn presence_counts_a_users_sockets_across_namespaces() {
    let (engine, _evs) = engine();
    let c1 = Client::open(&engine).await;
    let heard = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = heard.clone();
    let hook: confab_engine::PresenceHook = Arc::new(move |p| {
        let line = match p {
            confab_engine::Presence::Online { user_id } => format!("+{user_id}"),
            confab_engine::Presence::Offline { user_id, .. } => format!("-{user_id}"),
        };
        sink.lock().unwrap().push(line)
    });
    let adapter = Adapter::new(Some(hook), None, Arc::new(Stats::default()));
    let (s1, s2, s3) = (Sid::new(), Sid::new(), Sid::new());
    adapter.add_socket("/", s1, handle(&c1.session), Some("u".into()));
    adapter.add_socket("/chat", s2, handle(&c1.session), Some("u".into()));
    adapter.add_socket("/", s3, handle(&c1.session), None);
    adapter.set_user("/", s3, "v");
    adapter.set_user("/", s3, "w");
    adapter.remove_socket("/", s1);
    adapter.remove_socket("/chat", s2);
    adapter.remove_socket("/", s3);
    adapter.remove_socket("/", s3);
    assert_eq!(*heard.lock().unwrap(), ["+u", "+v", "-u", "-v"]);
    assert!(adapter.census().sockets.is_empty());
}

/// Another node, as the adapter sees it: it records what it is asked and
/// answers with one socket, one ack reply, and a presence it filters.
#[derive(Default)]
struct OtherNode(std::sync::Mutex<Vec<String>>);

impl OtherNode {
    fn heard(&self, line: String) {
        self.0.lock().unwrap().push(line);
    }
}

impl confab_engine::Cluster for OtherNode {
    fn broadcast(&self, target: &Target, event: &str, _: &Args) {
        self.heard(format!("broadcast {event} to {:?}", target.rooms));
    }
    fn add_sockets(&self, target: &Target, rooms: &[String]) {
        self.heard(format!("join {:?} -> {rooms:?}", target.rooms));
    }
    fn del_sockets(&self, target: &Target, rooms: &[String]) {
        self.heard(format!("leave {:?} -> {rooms:?}", target.rooms));
    }
    fn disconnect_sockets(&self, target: &Target, close: bool) {
        self.heard(format!("disconnect {:?} close={close}", target.rooms));
    }
    fn fetch_sockets(
        &self,
        target: &Target,
    ) -> futures_util::future::BoxFuture<
        'static,
        confab_engine::Remote<Vec<confab_engine::SocketInfo>>,
    > {
        let info = confab_engine::SocketInfo {
            id: "remote".into(),
            nsp: target.nsp.clone(),
            user_id: None,
            rooms: vec!["remote".into()],
            connected_at: 0,
        };
        Box::pin(async move {
            confab_engine::Remote {
                value: vec![info],
                complete: false,
            }
        })
    }
    fn broadcast_with_ack(
        &self,
        _: &Target,
        event: &str,
        _: &Args,
        _: std::time::Duration,
    ) -> futures_util::future::BoxFuture<'static, confab_engine::AckReplies> {
        self.heard(format!("ask {event}"));
        let reply = confab_engine::Payload::new(String::new(), Args::new(&"far").unwrap());
        Box::pin(async move {
            confab_engine::AckReplies {
                expected: 2,
                replies: vec![reply],
                complete: false,
            }
        })
    }
    fn server_side_emit(&self, nsp: &str, event: &str, _: &Args) {
        self.heard(format!("server {event} on {nsp}"));
    }
    fn server_side_emit_with_ack(
        &self,
        _: &str,
        event: &str,
        _: &Args,
        _: std::time::Duration,
    ) -> futures_util::future::BoxFuture<'static, confab_engine::Remote<Vec<serde_json::Value>>>
    {
        self.heard(format!("server ask {event}"));
        Box::pin(async {
            confab_engine::Remote {
                value: vec![serde_json::json!("far")],
                complete: true,
            }
        })
    }
    fn presence(&self, change: confab_engine::Presence, hook: confab_engine::PresenceHook) {
        self.heard(
            format!("presence {change:?}")
                .split(',')
                .next()
                .unwrap()
                .to_owned(),
        );
        // The user is still online on this other node: no offline.
        if matches!(change, confab_engine::Presence::Online { .. }) {
            hook(change)
        }
    }
}

/// Every operation reaches the other nodes after this one, but those made
/// local (Node's `local` flag, or applied for another node); answers merge.
#[actix_rt::test]
async fn the_cluster_hears_every_operation_but_local_ones() {
    let node = Arc::new(OtherNode::default());
    let heard = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = heard.clone();
    let presence: confab_engine::PresenceHook = Arc::new(move |p| sink.lock().unwrap().push(p));
    let hooks = confab_engine::EngineHooks {
        presence: Some(presence),
        cluster: Some(Box::new({
            let node = node.clone();
            move |_io| node as Arc<dyn confab_engine::Cluster>
        })),
        ..Default::default()
    };
    let engine = confab_engine::Engine::start_with_hooks(
        confab_engine::EngineConfig::default(),
        confab_engine::Namespaces::default(),
        hooks,
    );
    let mut client = Client::open(&engine).await;
    let io = engine.io();
    let adapter = io.of("/").to("r");
    let s = Sid::new();
    // Registered straight in the engine's adapter, as a session does.
    engine
        .adapter()
        .add_socket("/", s, handle(&client.session), Some("u".into()));
    io.of("/").join(["r"]);
    adapter.clone().emit("hi", &1).unwrap();
    assert_eq!(client.text().await, r#"42["hi",1]"#);
    adapter.clone().local().emit("quiet", &2).unwrap();
    assert_eq!(client.text().await, r#"42["quiet",2]"#);
    io.apply(Target::namespace("/"))
        .emit("applied", &3)
        .unwrap();
    assert_eq!(client.text().await, r#"42["applied",3]"#);
    let sockets = io.of("/").fetch_sockets().await;
    assert_eq!(sockets.value.len(), 2);
    assert!(!sockets.complete, "the other node's answer was partial");
    let asked = io
        .of("/")
        .to("nobody")
        .emit_with_ack("q", &0, std::time::Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(
        (asked.expected, asked.replies.len(), asked.complete),
        (2, 1, false)
    );
    io.server_side_emit("/", "note", &1).unwrap();
    let answers = io
        .server_side_emit_with_ack("/", "who", &(), std::time::Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(answers.value, [serde_json::json!("far")]);
    io.of("/").to("r").leave(["r"]);
    io.of("/").to("r").disconnect();
    engine.adapter().remove_socket("/", s);
    assert_eq!(
        *node.0.lock().unwrap(),
        [
            r#"presence Online { user_id: "u" }"#.to_owned(),
            r#"join [] -> ["r"]"#.into(),
            r#"broadcast hi to ["r"]"#.into(),
            r#"ask q"#.into(),
            r#"server note on /"#.into(),
            r#"server ask who"#.into(),
            r#"leave ["r"] -> ["r"]"#.into(),
            r#"disconnect ["r"] close=false"#.into(),
            r#"presence Offline { user_id: "u""#.into(),
        ]
    );
    assert_eq!(
        heard.lock().unwrap().len(),
        1,
        "online told, offline held back"
    );
}

/// Another node's server-side event reaches this namespace's handler with
/// its arguments, and the handler's answer comes back; an event nobody
/// handles is said so. Alone, a server-side emit with acks is answered at
/// once: complete and empty, as Node does without other servers.
#[actix_rt::test]
async fn server_side_events_reach_the_namespace_handler() {
    let mut ns = confab_engine::Namespace::new();
    ns.on_server_event("who", |_io, payload, ack| async move {
        let asked: Vec<serde_json::Value> = payload.json();
        if let Some(ack) = ack {
            ack.send(&serde_json::json!({ "me": "here", "asked": asked }))
                .unwrap();
        }
    });
    let mut namespaces = confab_engine::Namespaces::default();
    namespaces.insert("/", ns);
    let engine = confab_engine::Engine::start(confab_engine::EngineConfig::default(), namespaces);
    let io = engine.io();
    let (ack, answer) = confab_engine::ServerAck::new();
    let payload = confab_engine::Payload::new("who".into(), Args::new(&(1, "x")).unwrap());
    assert!(io.server_event("/", payload, Some(ack)));
    assert_eq!(
        answer.await.unwrap(),
        serde_json::json!({ "me": "here", "asked": [1, "x"] })
    );
    let unknown = confab_engine::Payload::new("nobody".into(), Args::empty());
    assert!(!io.server_event("/", unknown, None));
    let other = confab_engine::Payload::new("who".into(), Args::empty());
    assert!(!io.server_event("/elsewhere", other, None));
    let alone = io
        .server_side_emit_with_ack("/", "who", &(), std::time::Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!((alone.value.len(), alone.complete), (0, true));
}
