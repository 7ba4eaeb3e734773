//! Rooms and broadcasts: the adapter's membership and fan-out, and the
//! selections of `Io` and `Socket`.
//!
//! Absence is proven with a marker: after the expected frames, the server
//! emits to the socket alone, and the marker must be its very next frame.

mod common;

use common::*;
use confab_engine::{DisconnectReason, Engine, EngineConfig};
use serde_json::json;

/// A connected client and its socket id.
struct Member {
    client: Client,
    id: String,
}

async fn member(engine: &Engine, evs: &mut Evs) -> Member {
    let mut client = Client::open(engine).await;
    let id = client.connect().await;
    evs.connected().await;
    Member { client, id }
}

impl Member {
    /// Joins a room through the `join` handler (`socket.join`), waiting for
    /// the ack that says the join is done.
    async fn join(&mut self, room: &str) {
        assert_eq!(
            self.client.call(90, "join", &[json!(room)]).await,
            json!(["ok"])
        );
    }

    async fn leave(&mut self, room: &str) {
        assert_eq!(
            self.client.call(91, "leave", &[json!(room)]).await,
            json!(["ok"])
        );
    }

    async fn expect(&mut self, frame: &str) {
        assert_eq!(self.client.text().await, frame, "socket {}", self.id);
    }

    async fn nothing_else(&mut self, engine: &Engine) {
        self.client.expect_only_marker(engine, &self.id).await;
    }
}

/// a: red; b: red, blue; c: blue.
async fn three(engine: &Engine, evs: &mut Evs) -> (Member, Member, Member) {
    let mut a = member(engine, evs).await;
    let mut b = member(engine, evs).await;
    let mut c = member(engine, evs).await;
    a.join("red").await;
    b.join("red").await;
    b.join("blue").await;
    c.join("blue").await;
    (a, b, c)
}

#[actix_rt::test]
async fn room_emit_reaches_members_only() {
    let (engine, mut evs) = engine();
    let (mut a, mut b, mut c) = three(&engine, &mut evs).await;

    engine.io().to("red").emit("news", &1).unwrap();
    a.expect(r#"42["news",1]"#).await;
    b.expect(r#"42["news",1]"#).await;
    c.nothing_else(&engine).await;
    a.nothing_else(&engine).await;
    b.nothing_else(&engine).await;

    engine.io().to("blue").emit("news", &2).unwrap();
    b.expect(r#"42["news",2]"#).await;
    c.expect(r#"42["news",2]"#).await;
    a.nothing_else(&engine).await;

    // A room nobody is in reaches nobody.
    engine.io().to("green").emit("news", &3).unwrap();
    for m in [&mut a, &mut b, &mut c] {
        m.nothing_else(&engine).await;
    }
}

#[actix_rt::test]
async fn emit_to_everyone_and_to_one_socket() {
    let (engine, mut evs) = engine();
    let (mut a, mut b, mut c) = three(&engine, &mut evs).await;

    engine.io().emit("all", "x").unwrap();
    for m in [&mut a, &mut b, &mut c] {
        m.expect(r#"42["all","x"]"#).await;
    }
    // A socket id works as a room.
    engine.io().to(b.id.clone()).emit("you", &true).unwrap();
    b.expect(r#"42["you",true]"#).await;
    a.nothing_else(&engine).await;
    c.nothing_else(&engine).await;
}

#[actix_rt::test]
async fn except_leaves_out_rooms_and_sockets() {
    let (engine, mut evs) = engine();
    let (mut a, mut b, mut c) = three(&engine, &mut evs).await;

    engine.io().to("red").except("blue").emit("e", &1).unwrap();
    a.expect(r#"42["e",1]"#).await;
    a.nothing_else(&engine).await;
    b.nothing_else(&engine).await;
    c.nothing_else(&engine).await;

    engine
        .io()
        .to("red")
        .except(a.id.clone())
        .emit("e", &2)
        .unwrap();
    b.expect(r#"42["e",2]"#).await;
    b.nothing_else(&engine).await;
    a.nothing_else(&engine).await;

    // The whole namespace minus a room.
    engine.io().of("/").except("red").emit("e", &3).unwrap();
    c.expect(r#"42["e",3]"#).await;
    for m in [&mut a, &mut b, &mut c] {
        m.nothing_else(&engine).await;
    }
}

#[actix_rt::test]
async fn several_rooms_deliver_once_to_a_socket_in_both() {
    let (engine, mut evs) = engine();
    let (mut a, mut b, mut c) = three(&engine, &mut evs).await;

    engine.io().to("red").to("blue").emit("both", &1).unwrap();
    engine
        .io()
        .of("/")
        .to_rooms(["blue", "red", "blue"])
        .emit("both", &2)
        .unwrap();
    for m in [&mut a, &mut b, &mut c] {
        m.expect(r#"42["both",1]"#).await;
        m.expect(r#"42["both",2]"#).await;
        m.nothing_else(&engine).await;
    }
}

#[actix_rt::test]
async fn socket_to_room_excludes_the_sender() {
    let (engine, mut evs) = engine();
    let (mut a, mut b, mut c) = three(&engine, &mut evs).await;

    // b says to red (a and b): a hears it, b does not.
    assert_eq!(
        b.client
            .call(5, "say", &[json!("red"), json!("hello")])
            .await,
        json!(["ok"])
    );
    a.expect(r#"42["said","hello"]"#).await;
    b.nothing_else(&engine).await;
    c.nothing_else(&engine).await;

    // c says to red, which c is not in: a and b hear it.
    assert_eq!(
        c.client.call(6, "say", &[json!("red"), json!("hi")]).await,
        json!(["ok"])
    );
    a.expect(r#"42["said","hi"]"#).await;
    b.expect(r#"42["said","hi"]"#).await;
    c.nothing_else(&engine).await;
}

#[actix_rt::test]
async fn socket_broadcast_reaches_everyone_else() {
    let (engine, mut evs) = engine();
    let (mut a, mut b, mut c) = three(&engine, &mut evs).await;
    // d's socket handle comes from its on_connect.
    let (mut d, d_id, d_socket) = Client::connected(&engine, &mut evs).await;
    assert_eq!(d_socket.id(), d_id);

    d_socket.broadcast().emit("hey", &0).unwrap();
    for m in [&mut a, &mut b, &mut c] {
        m.expect(r#"42["hey",0]"#).await;
    }
    d.expect_only_marker(&engine, &d_id).await;
}

#[actix_rt::test]
async fn leaving_a_room_stops_its_deliveries() {
    let (engine, mut evs) = engine();
    let (mut a, mut b, _c) = three(&engine, &mut evs).await;

    a.leave("red").await;
    engine.io().to("red").emit("news", &1).unwrap();
    b.expect(r#"42["news",1]"#).await;
    a.nothing_else(&engine).await;

    // The last member leaves: the room is gone; joining again makes it anew.
    b.leave("red").await;
    engine.io().to("red").emit("news", &2).unwrap();
    a.nothing_else(&engine).await;
    b.nothing_else(&engine).await;
    assert!(engine.io().to("red").sockets().await.is_empty());

    a.join("red").await;
    engine.io().to("red").emit("news", &3).unwrap();
    a.expect(r#"42["news",3]"#).await;
    b.nothing_else(&engine).await;

    // Leaving a room one is not in, or one's own id, changes nothing.
    b.leave("red").await;
    a.leave(&a.id.clone()).await;
    engine.io().to(a.id.clone()).emit("self", &4).unwrap();
    a.expect(r#"42["self",4]"#).await;
}

#[actix_rt::test]
async fn rooms_list_own_id_first() {
    let (engine, mut evs) = engine();
    let (mut a, mut b, _c) = three(&engine, &mut evs).await;

    assert_eq!(
        b.client.call(1, "rooms", &[]).await,
        json!([[b.id, "blue", "red"]])
    );
    assert_eq!(a.client.call(1, "rooms", &[]).await, json!([[a.id, "red"]]));
    // Joining twice, or one's own id, adds nothing.
    a.join("red").await;
    a.join(&a.id.clone()).await;
    a.join("alpha").await;
    assert_eq!(
        a.client.call(2, "rooms", &[]).await,
        json!([[a.id, "alpha", "red"]])
    );
}

#[actix_rt::test]
async fn fetch_sockets_by_namespace_room_and_exception() {
    let (engine, mut evs) = engine();
    let (a, b, c) = three(&engine, &mut evs).await;
    let ids = |mut infos: Vec<confab_engine::SocketInfo>| {
        infos.sort_by(|x, y| x.id.cmp(&y.id));
        infos.into_iter().map(|i| i.id).collect::<Vec<_>>()
    };
    let sorted = |mut v: Vec<&String>| {
        v.sort();
        v.into_iter().cloned().collect::<Vec<_>>()
    };

    let all = engine.io().of("/").sockets().await;
    assert_eq!(ids(all.clone()), sorted(vec![&a.id, &b.id, &c.id]));
    let b_info = all.iter().find(|i| i.id == b.id).unwrap();
    assert_eq!(
        b_info.rooms,
        vec![b.id.clone(), "blue".into(), "red".into()]
    );
    assert_eq!(b_info.nsp, "/");
    assert!(b_info.connected_at > 0);

    assert_eq!(
        ids(engine.io().to("red").sockets().await),
        sorted(vec![&a.id, &b.id])
    );
    assert_eq!(
        ids(engine.io().to("blue").except("red").sockets().await),
        vec![c.id.clone()]
    );
    assert_eq!(
        ids(engine.io().to(c.id.clone()).sockets().await),
        vec![c.id.clone()]
    );
    assert!(engine.io().of("/other").sockets().await.is_empty());
}

#[actix_rt::test]
async fn disconnect_removes_the_socket_from_its_rooms() {
    let (engine, mut evs) = engine();
    let (mut a, mut b, mut c) = three(&engine, &mut evs).await;

    b.client.send("41");
    assert_eq!(
        evs.disconnected().await,
        (b.id.clone(), DisconnectReason::ClientNamespaceDisconnect)
    );
    engine.io().to("red").emit("news", &1).unwrap();
    a.expect(r#"42["news",1]"#).await;
    engine.io().to("blue").emit("news", &2).unwrap();
    c.expect(r#"42["news",2]"#).await;
    b.client.ws.assert_empty();
    let red: Vec<String> = engine
        .io()
        .to("red")
        .sockets()
        .await
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(red, vec![a.id.clone()]);

    // Closing the whole session does the same.
    a.client.send("1");
    a.client.ws.closed().await;
    assert_eq!(
        evs.disconnected().await,
        (a.id.clone(), DisconnectReason::TransportClose)
    );
    assert!(engine.io().to("red").sockets().await.is_empty());
    engine.io().to("red").emit("news", &3).unwrap();
    c.nothing_else(&engine).await;
}

#[actix_rt::test]
async fn rooms_are_per_namespace() {
    let (engine, mut evs) = engine_with(EngineConfig::default(), &["/chat"]);
    let mut main = member(&engine, &mut evs).await;
    main.join("red").await;

    let mut chat = Client::open(&engine).await;
    let chat_id = chat.connect_to("/chat").await;
    evs.connected().await;
    chat.send(r#"42/chat,1["join","red"]"#);
    assert_eq!(chat.text().await, r#"43/chat,1["ok"]"#);

    engine.io().to("red").emit("main", &1).unwrap();
    main.expect(r#"42["main",1]"#).await;
    engine.io().of("/chat").to("red").emit("chat", &2).unwrap();
    assert_eq!(chat.text().await, r#"42/chat,["chat",2]"#);
    main.nothing_else(&engine).await;
    engine
        .io()
        .of("/chat")
        .to(chat_id.clone())
        .emit("marker", &0)
        .unwrap();
    assert_eq!(chat.text().await, r#"42/chat,["marker",0]"#);

    let chat_red = engine.io().of("/chat").to("red").sockets().await;
    assert_eq!(chat_red.len(), 1);
    assert_eq!(chat_red[0].id, chat_id);
    assert_eq!(chat_red[0].nsp, "/chat");
}

#[actix_rt::test]
async fn a_large_room_delivers_to_every_member_once() {
    let (engine, mut evs) = engine();
    let mut members = Vec::new();
    for _ in 0..20 {
        let mut m = member(&engine, &mut evs).await;
        m.join("big").await;
        members.push(m);
    }
    for n in 0..3 {
        engine.io().to("big").emit("n", &n).unwrap();
    }
    for m in &mut members {
        for n in 0..3 {
            m.expect(&format!(r#"42["n",{n}]"#)).await;
        }
        m.nothing_else(&engine).await;
    }
}

/// A socket id names the room that socket is in; a socket that joins
/// another socket's id room must not take that socket out of it.
#[actix_rt::test]
async fn joining_another_sockets_id_room_keeps_that_socket_in_it() {
    let (engine, mut evs) = engine();
    let mut a = member(&engine, &mut evs).await;
    let mut b = member(&engine, &mut evs).await;
    a.join(&b.id.clone()).await;

    // The adapter's own view: both are in b's id room.
    let listed = engine.io().to(b.id.clone()).sockets().await;
    assert_eq!(listed.len(), 2, "FetchSockets sees a and b");

    engine.io().to(b.id.clone()).emit("dm", &1).unwrap();
    a.expect(r#"42["dm",1]"#).await;
    b.expect(r#"42["dm",1]"#).await;
}
