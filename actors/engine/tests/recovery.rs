//! Connection state recovery in the adapter: a lost socket parked in the
//! index (rooms and presence kept), what it misses held within its budget,
//! given back once to the client with the right offset, and removed for
//! good past the window, the budget or a server disconnect.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::prelude::*;
use common::*;
use confab_engine::adapter::recovery::{
    Claimed, Farewell, Log, NotRecovered, Parked, Recovery, Resume, SharedLog, SharedSession,
};
use confab_engine::adapter::{Adapter, SocketHandle};
use confab_engine::link::SessionLink;
use confab_engine::protocol::engineio::{Frame, Sid};
use confab_engine::session::Session;
use confab_engine::{Args, Presence, PresenceHook, Stats, Target};

fn handle(session: &Addr<Session>, log: Option<SharedLog>) -> SocketHandle {
    SocketHandle {
        session: SessionLink::new(session.clone().recipient()),
        log,
    }
}

fn log(budget: usize) -> SharedLog {
    Arc::new(Mutex::new(Log::new(budget)))
}

/// An adapter with recovery on, and what its presence hook heard.
fn adapter(config: Recovery) -> (Arc<Adapter>, Arc<Mutex<Vec<String>>>) {
    let heard = Arc::new(Mutex::new(Vec::new()));
    let sink = heard.clone();
    let hook: PresenceHook = Arc::new(move |p| {
        let line = match p {
            Presence::Online { user_id } => format!("+{user_id}"),
            Presence::Offline { user_id, .. } => format!("-{user_id}"),
        };
        sink.lock().unwrap().push(line)
    });
    let config = Recovery {
        enabled: true,
        ..config
    };
    let adapter = Adapter::new(Some(hook), None, Arc::new(Stats::default())).recoverable(config);
    (Arc::new(adapter), heard)
}

fn room(name: &str) -> Target {
    Target {
        nsp: "/".into(),
        rooms: vec![name.into()],
        ..Target::default()
    }
}

fn say(adapter: &Adapter, target: &Target, text: &str) {
    adapter.broadcast(target, "news", &Args::new(text).unwrap());
}

/// Parks socket `sid` with its log; the returned flag is set when its
/// farewell (disconnect handlers) runs.
fn park(adapter: &Arc<Adapter>, sid: Sid, log: SharedLog) -> Arc<Mutex<bool>> {
    let gone = Arc::new(Mutex::new(false));
    let flag = gone.clone();
    let farewell: Farewell = Box::new(move || *flag.lock().unwrap() = true);
    let parked = Parked::new(
        "pid-1".into(),
        "/".into(),
        sid,
        serde_json::Map::new(),
        log,
        farewell,
    );
    adapter.park(parked, true);
    gone
}

fn text(frame: &Frame) -> String {
    match frame {
        Frame::Text(t) => t.to_string(),
        Frame::Binary(_) => panic!("binary"),
    }
}

async fn until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..500 {
        if done() {
            return;
        }
        actix_rt::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("{what} never happened");
}

#[actix_rt::test]
async fn a_parked_socket_keeps_its_rooms_and_user_and_gets_what_it_missed_once() {
    let (engine, _evs) = engine();
    let mut old = Client::open(&engine).await;
    let new = Client::open(&engine).await;
    let (adapter, heard) = adapter(Recovery::default());
    let sid = Sid::new();
    let own = log(1_000_000);
    adapter.add_socket(
        "/",
        sid,
        handle(&old.session, Some(own.clone())),
        Some("u".into()),
    );
    adapter.join("/", sid, &["r".to_owned()]);
    say(&adapter, &room("r"), "live");
    let live = old.text().await;
    let sent = own.lock().unwrap().last();
    assert_eq!(live, format!(r#"42["news","live","{sent}"]"#));

    park(&adapter, sid, own);
    say(&adapter, &room("r"), "one");
    say(&adapter, &room(sid.as_str()), "two");
    say(&adapter, &room("elsewhere"), "not for it");
    assert_eq!(
        adapter.rooms_of("/", sid),
        vec![sid.as_str().to_owned(), "r".into()]
    );
    assert!(
        adapter.local_sockets(&room("r")).is_empty(),
        "not listed while lost"
    );
    assert_eq!(adapter.census().parked, 1);
    assert!(adapter.census().missed_bytes > 0);

    let resume = Resume {
        pid: "pid-1".into(),
        offset: sent.to_string(),
    };
    let restored = adapter
        .restore("/", &resume, None, handle(&new.session, None))
        .expect("recovered");
    assert_eq!(restored.sid, sid);
    assert_eq!(restored.user_id.as_deref(), Some("u"));
    let missed: Vec<String> = restored.missed.iter().map(|f| text(&f[0])).collect();
    assert_eq!(missed.len(), 2);
    assert!(missed[0].starts_with(r#"42["news","one","#), "{missed:?}");
    assert!(missed[1].starts_with(r#"42["news","two","#), "{missed:?}");
    assert_eq!(
        restored.log.lock().unwrap().last(),
        sent + 2,
        "the socket keeps its log, up to the last offset it was given"
    );
    // Only once: the pid is used up.
    let again = adapter.restore("/", &resume, None, handle(&new.session, None));
    assert_eq!(again.err(), Some(NotRecovered::Unknown));
    assert_eq!(adapter.census().parked, 0);
    assert_eq!(ids(&adapter), vec![sid.as_str().to_owned()]);
    // Presence never moved: online once, no offline.
    assert_eq!(*heard.lock().unwrap(), ["+u"]);
}

fn ids(adapter: &Adapter) -> Vec<String> {
    adapter
        .local_sockets(&Target::namespace("/"))
        .into_iter()
        .map(|s| s.id)
        .collect()
}

#[actix_rt::test]
async fn past_the_window_the_socket_goes_and_its_user_goes_offline() {
    let (engine, _evs) = engine();
    let old = Client::open(&engine).await;
    let (adapter, heard) = adapter(Recovery {
        max_disconnection: Duration::from_millis(20),
        ..Recovery::default()
    });
    let (sid, gone) = parked_user(&adapter, &old.session);
    until("expiry", || *gone.lock().unwrap()).await;
    assert_eq!(*heard.lock().unwrap(), ["+u", "-u"]);
    assert!(adapter.rooms_of("/", sid).is_empty());
    assert_eq!(adapter.census().parked, 0);
}

#[actix_rt::test]
async fn past_the_budget_the_socket_goes_at_once_and_its_frames_are_released() {
    let (engine, _evs) = engine();
    let old = Client::open(&engine).await;
    let new = Client::open(&engine).await;
    let (adapter, heard) = adapter(Recovery::default());
    let sid = Sid::new();
    adapter.add_socket("/", sid, handle(&old.session, None), Some("u".into()));
    let gone = park(&adapter, sid, log(300));
    say(&adapter, &room(sid.as_str()), "fits");
    assert!(!*gone.lock().unwrap());
    say(&adapter, &room(sid.as_str()), &"x".repeat(400));
    until("expiry", || *gone.lock().unwrap()).await;
    assert_eq!(*heard.lock().unwrap(), ["+u", "-u"]);
    assert_eq!(adapter.census().missed_bytes, 0);
    let resume = Resume {
        pid: "pid-1".into(),
        offset: "0".into(),
    };
    let refused = adapter.restore("/", &resume, None, handle(&new.session, None));
    assert_eq!(refused.err(), Some(NotRecovered::Unknown));
}

#[actix_rt::test]
async fn a_wrong_offset_or_user_ends_the_parked_socket() {
    let (engine, _evs) = engine();
    let old = Client::open(&engine).await;
    let new = Client::open(&engine).await;
    for (offset, user, why) in [("4", None, "offset"), ("5", Some("someone else"), "user")] {
        let (adapter, heard) = adapter(Recovery::default());
        let sid = Sid::new();
        adapter.add_socket("/", sid, handle(&old.session, None), Some("u".into()));
        let held = log(1_000_000);
        held.lock().unwrap().confirm(5);
        let gone = park(&adapter, sid, held);
        let resume = Resume {
            pid: "pid-1".into(),
            offset: offset.into(),
        };
        let refused = adapter.restore("/", &resume, user, handle(&new.session, None));
        match why {
            "offset" => assert!(matches!(refused, Err(NotRecovered::Offset { .. }))),
            _ => assert!(matches!(refused, Err(NotRecovered::OtherUser))),
        }
        assert!(*gone.lock().unwrap(), "{why}: its disconnect handlers ran");
        assert_eq!(*heard.lock().unwrap(), ["+u", "-u"], "{why}");
    }
}

/// A socket of user `u`, connected through `session`, then parked.
fn parked_user(adapter: &Arc<Adapter>, session: &Addr<Session>) -> (Sid, Arc<Mutex<bool>>) {
    let sid = Sid::new();
    adapter.add_socket("/", sid, handle(session, None), Some("u".into()));
    (sid, park(adapter, sid, log(1_000_000)))
}

#[actix_rt::test]
async fn a_server_disconnect_ends_a_parked_socket() {
    let (engine, _evs) = engine();
    let old = Client::open(&engine).await;
    let (adapter, heard) = adapter(Recovery::default());
    let (sid, gone) = parked_user(&adapter, &old.session);
    adapter.disconnect_sockets(&room(sid.as_str()), false);
    until("expiry", || *gone.lock().unwrap()).await;
    assert_eq!(*heard.lock().unwrap(), ["+u", "-u"]);
}

#[actix_rt::test]
async fn taken_by_another_node_it_leaves_here_with_its_disconnect_handlers() {
    let (engine, _evs) = engine();
    let old = Client::open(&engine).await;
    let (adapter, heard) = adapter(Recovery::default());
    let (sid, gone) = parked_user(&adapter, &old.session);
    adapter.handed_over("pid-1", true);
    until("its farewell", || *gone.lock().unwrap()).await;
    assert_eq!(adapter.census().parked, 0);
    assert!(adapter.rooms_of("/", sid).is_empty());
    // Alone, this node's presence is the cluster's (a cluster's script
    // sees the user held by the other node, and tells nobody).
    assert_eq!(*heard.lock().unwrap(), ["+u", "-u"]);

    let sid = Sid::new();
    adapter.add_socket("/", sid, handle(&old.session, None), None);
    let gone = park(&adapter, sid, log(1_000_000));
    adapter.handed_over("pid-1", false);
    until("its farewell", || *gone.lock().unwrap()).await;
    assert_eq!(adapter.census().parked, 0);
    adapter.handed_over("unknown", true);
}

#[actix_rt::test]
async fn a_session_claimed_from_another_node_is_adopted_live_with_its_rooms_and_later_offsets() {
    let (engine, _evs) = engine();
    let mut new = Client::open(&engine).await;
    let (adapter, heard) = adapter(Recovery::default());
    let sid = Sid::new();
    let claimed = Claimed {
        session: SharedSession {
            pid: "pid-9".into(),
            nsp: "/".into(),
            sid: sid.as_str().into(),
            user_id: Some("u".into()),
            rooms: vec!["r".into()],
            data: serde_json::Map::from_iter([("k".to_owned(), serde_json::json!(1))]),
            base: "7".into(),
        },
        missed: Vec::new(),
        last: 1_000,
    };
    let restored = adapter
        .adopt(claimed.clone(), handle(&new.session, None))
        .expect("adopted");
    assert_eq!((restored.sid, restored.pid.as_str()), (sid, "pid-9"));
    assert_eq!(restored.data["k"], 1);
    assert_eq!(
        adapter.rooms_of("/", sid),
        vec![sid.as_str().to_owned(), "r".into()]
    );
    assert_eq!(ids(&adapter), vec![sid.as_str().to_owned()]);
    assert_eq!(*heard.lock().unwrap(), ["+u"]);
    // What this node sends it next comes after the other node's offsets,
    // so its log resumes from either.
    say(&adapter, &room("r"), "next");
    let next = new.text().await;
    let offset = restored.log.lock().unwrap().last();
    assert!(offset > 1_000, "{offset}");
    assert_eq!(next, format!(r#"42["news","next","{offset}"]"#));
    assert!(restored.log.lock().unwrap().resume(1_000).is_some());
    // A socket already here is not adopted twice.
    let twice = adapter.adopt(claimed, handle(&new.session, None));
    assert_eq!(twice.err(), Some(NotRecovered::Unknown));
}
