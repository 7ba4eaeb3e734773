//! The registry and room actors driven by their own messages, with real
//! sessions (opened on WebSocket sinks) as the members that frames go to.

mod common;

use actix::prelude::*;
use common::*;
use confab_engine::Args;
use confab_engine::protocol::engineio::{Frames, Sid};
use confab_engine::registry::{
    DisconnectSockets, Fanout, FetchSockets, Join, JoinSockets, Leave, Register, Registry,
    RoomChange, RoomsOf, Target, Unregister,
};
use confab_engine::room::{AddMember, RemoveMember, Room, RoomFanout};
use std::collections::HashSet;
use std::sync::Arc;

fn frames(event: &str) -> Frames {
    Args::empty().event_frames("/", event, None)
}

fn target(rooms: &[&str], except: &[&str]) -> Target {
    Target {
        nsp: "/".into(),
        rooms: rooms.iter().map(|r| r.to_string()).collect(),
        except: except.iter().map(|r| r.to_string()).collect(),
        except_sockets: None,
    }
}

async fn register(
    registry: &Addr<Registry>,
    socket: Sid,
    nsp: &str,
    client: &Client,
    user: Option<&str>,
) {
    registry
        .send(Register {
            socket,
            nsp: nsp.into(),
            session: client.session.clone(),
            user_id: user.map(Into::into),
        })
        .await
        .unwrap();
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

#[actix_rt::test]
async fn membership_and_fanout_through_the_registry() {
    let (engine, _evs) = engine();
    let mut c1 = Client::open(&engine).await;
    let mut c2 = Client::open(&engine).await;
    let registry = Registry::new(vec![], None).start();
    let (s1, s2) = (Sid::new(), Sid::new());
    register(&registry, s1, "/", &c1, None).await;
    register(&registry, s2, "/", &c2, None).await;

    registry
        .send(Join {
            socket: s1,
            rooms: vec!["r".into(), "r".into(), "q".into()],
        })
        .await
        .unwrap();
    registry
        .send(Join {
            socket: s2,
            rooms: vec!["r".into()],
        })
        .await
        .unwrap();
    // Joining for a socket the registry does not know is ignored.
    registry
        .send(Join {
            socket: Sid::new(),
            rooms: vec!["r".into()],
        })
        .await
        .unwrap();
    assert_eq!(
        registry.send(RoomsOf(s1)).await.unwrap(),
        vec![s1.as_str().to_owned(), "q".into(), "r".into()]
    );
    assert!(registry.send(RoomsOf(Sid::new())).await.unwrap().is_empty());

    // One room: through the room actor.
    registry.do_send(Fanout {
        target: target(&["r"], &[]),
        frames: frames("one"),
    });
    assert_eq!(c1.text().await, r#"42["one"]"#);
    assert_eq!(c2.text().await, r#"42["one"]"#);
    // One room minus a socket: still through the room actor.
    let mut t = target(&["r"], &[]);
    t.except_sockets = Some(Arc::new(HashSet::from([s1])));
    registry.do_send(Fanout {
        target: t,
        frames: frames("two"),
    });
    assert_eq!(c2.text().await, r#"42["two"]"#);
    // Two rooms: by scanning, once per socket.
    registry.do_send(Fanout {
        target: target(&["r", "q"], &[]),
        frames: frames("three"),
    });
    assert_eq!(c1.text().await, r#"42["three"]"#);
    assert_eq!(c2.text().await, r#"42["three"]"#);
    // A room minus a room.
    registry.do_send(Fanout {
        target: target(&["r"], &["q"]),
        frames: frames("four"),
    });
    assert_eq!(c2.text().await, r#"42["four"]"#);
    // Another namespace selects nobody here.
    let mut t = target(&[], &[]);
    t.nsp = "/other".into();
    registry.do_send(Fanout {
        target: t,
        frames: frames("five"),
    });
    registry.do_send(Fanout {
        target: target(&[s1.as_str()], &[]),
        frames: frames("six"),
    });
    assert_eq!(c1.text().await, r#"42["six"]"#);
    registry.do_send(Fanout {
        target: target(&[s2.as_str()], &[]),
        frames: frames("mark"),
    });
    assert_eq!(
        c2.text().await,
        r#"42["mark"]"#,
        "c2 got nothing in between"
    );

    registry
        .send(Leave {
            socket: s1,
            rooms: vec!["r".into(), "nope".into()],
        })
        .await
        .unwrap();
    assert_eq!(
        registry.send(RoomsOf(s1)).await.unwrap(),
        vec![s1.as_str().to_owned(), "q".into()]
    );
    let r = registry
        .send(FetchSockets(target(&["r"], &[])))
        .await
        .unwrap();
    assert_eq!(ids(r), sorted(&[s2]));

    // Unregistering leaves every room: "q" has no member left.
    registry.do_send(Unregister(s1));
    assert!(
        registry
            .send(FetchSockets(target(&["q"], &[])))
            .await
            .unwrap()
            .is_empty()
    );
    registry.do_send(Fanout {
        target: target(&["q"], &[]),
        frames: frames("seven"),
    });
    registry.do_send(Fanout {
        target: target(&[], &[]),
        frames: frames("eight"),
    });
    assert_eq!(c2.text().await, r#"42["eight"]"#);
    // s1 is gone: c1 got neither; its session still takes direct frames.
    c1.session
        .do_send(confab_engine::session::Deliver(frames("mark")));
    assert_eq!(c1.text().await, r#"42["mark"]"#);
}

#[actix_rt::test]
async fn disconnect_sockets_reaches_the_selected_sessions() {
    let (engine, mut evs) = engine();
    let (mut a, a_id, _) = Client::connected(&engine, &mut evs).await;
    let (mut b, b_id, _) = Client::connected(&engine, &mut evs).await;
    // Not the engine's registry: use the real sockets' ids in a private one.
    let registry = Registry::new(vec![], None).start();
    register(&registry, a_id.parse().unwrap(), "/", &a, None).await;
    register(&registry, b_id.parse().unwrap(), "/", &b, None).await;
    registry
        .send(Join {
            socket: b_id.parse().unwrap(),
            rooms: vec!["x".into()],
        })
        .await
        .unwrap();

    registry.do_send(DisconnectSockets(target(&["x"], &[])));
    assert_eq!(b.text().await, "41");
    let (id, _) = evs.disconnected().await;
    assert_eq!(id, b_id);
    a.expect_only_marker(&engine, &a_id).await;
}

#[actix_rt::test]
async fn room_actor_lists_users_and_fans_out() {
    let (engine, _evs) = engine();
    let mut c1 = Client::open(&engine).await;
    let mut c2 = Client::open(&engine).await;
    let room = Room::default().start();
    let (s1, s2, s3) = (Sid::new(), Sid::new(), Sid::new());
    room.do_send(AddMember {
        socket: s1,
        session: c1.session.clone(),
    });
    room.do_send(AddMember {
        socket: s2,
        session: c2.session.clone(),
    });
    room.do_send(AddMember {
        socket: s3,
        session: c2.session.clone(),
    });
    room.do_send(RoomFanout {
        frames: frames("all"),
        except: None,
    });
    assert_eq!(c1.text().await, r#"42["all"]"#);
    // c2 holds two member sockets: two copies.
    assert_eq!(c2.text().await, r#"42["all"]"#);
    assert_eq!(c2.text().await, r#"42["all"]"#);

    room.do_send(RoomFanout {
        frames: frames("but"),
        except: Some(Arc::new(HashSet::from([s2, s3]))),
    });
    assert_eq!(c1.text().await, r#"42["but"]"#);
    c2.session
        .do_send(confab_engine::session::Deliver(frames("mark")));
    assert_eq!(c2.text().await, r#"42["mark"]"#);

    room.do_send(RemoveMember(s1));
    room.do_send(RemoveMember(s2));
    room.do_send(RoomFanout {
        frames: frames("left"),
        except: None,
    });
    // Only s3 is left: one copy, to c2.
    assert_eq!(c2.text().await, r#"42["left"]"#);
    // The last member leaves: the room stops.
    room.do_send(RemoveMember(s3));
    let stopped = RoomFanout {
        frames: frames("gone"),
        except: None,
    };
    assert!(room.send(stopped).await.is_err());
    c2.session
        .do_send(confab_engine::session::Deliver(frames("mark")));
    assert_eq!(c2.text().await, r#"42["mark"]"#);
}

/// The room hook hears every join and leave once, in order, the socket's
/// own id room and repeated joins aside; `JoinSockets` joins a target's
/// sockets, and leaving on unregister is heard too.
#[actix_rt::test]
async fn the_room_hook_hears_joins_and_leaves() {
    let (engine, _evs) = engine();
    let c1 = Client::open(&engine).await;
    let heard = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = heard.clone();
    let hook: confab_engine::RoomHook = Arc::new(move |change| sink.lock().unwrap().push(change));
    let registry = Registry::new(vec![], None)
        .with_room_hook(Some(hook))
        .start();
    let (s1, s2) = (Sid::new(), Sid::new());
    register(&registry, s1, "/", &c1, None).await;
    register(&registry, s2, "/", &c1, None).await;
    let join = |rooms: &[&str]| Join {
        socket: s1,
        rooms: rooms.iter().map(|r| r.to_string()).collect(),
    };
    registry.send(join(&["a", "a", s1.as_str()])).await.unwrap();
    registry
        .send(JoinSockets {
            target: target(&["a"], &[]),
            rooms: vec!["b".into()],
        })
        .await
        .unwrap();
    registry
        .send(Leave {
            socket: s1,
            rooms: vec!["a".into(), "never".into()],
        })
        .await
        .unwrap();
    registry.send(Unregister(s1)).await.unwrap();
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
    // s2 was in neither room: JoinSockets left it alone.
    assert_eq!(
        registry.send(RoomsOf(s2)).await.unwrap(),
        [s2.as_str().to_owned()]
    );
}
