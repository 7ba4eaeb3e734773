//! The embedding application's room validator (Ignis' `validateRoomFn`)
//! has the last word on `join`, after the configured policy: driven over a
//! real WebSocket with raw Engine.IO / Socket.IO frames.

use std::time::Duration;

use actix_web::{App, HttpServer};
use awc::ws::{Frame, Message};
use confab::{Appliance, Config};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};

async fn next_text(ws: &mut actix_codec::Framed<awc::BoxedSocket, awc::ws::Codec>) -> String {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("a frame within 5 s")
            .expect("the websocket is open")
            .expect("a valid frame");
        if let Frame::Text(text) = frame {
            return String::from_utf8(text.to_vec()).unwrap();
        }
    }
}

#[actix_rt::test]
async fn the_room_validator_has_the_last_word() {
    let dir = std::env::temp_dir().join(format!("confab-room-validator-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut config = Config {
        data_dir: dir.clone(),
        ..Config::default()
    };
    config.identity.secret = "room-validator-test-secret-0123456789".into();
    config.rooms.allow = vec!["*".into()];
    let appliance = Appliance::builder(config)
        .room_validator(|_socket, rooms| async move {
            rooms
                .into_iter()
                .filter(|r| r.starts_with("even-"))
                .collect()
        })
        .start()
        .unwrap();
    let token = appliance
        .verifier()
        .mint("7", None, Duration::from_secs(60), &[])
        .unwrap();
    let mounted = appliance.clone();
    let server = HttpServer::new(move || App::new().configure(mounted.service()))
        .workers(1)
        .bind(("127.0.0.1", 0))
        .unwrap();
    let addr = server.addrs()[0];
    let server = server.run();
    let handle = server.handle();
    actix_rt::spawn(server);

    let (_, mut ws) = awc::Client::new()
        .ws(format!("ws://{addr}/socket.io/?EIO=4&transport=websocket"))
        .connect()
        .await
        .unwrap();
    assert!(next_text(&mut ws).await.starts_with("0{"), "open packet");
    ws.send(Message::Text(format!(r#"40{{"token":"{token}"}}"#).into()))
        .await
        .unwrap();
    assert!(next_text(&mut ws).await.starts_with("40{"), "CONNECT reply");

    ws.send(Message::Text(
        r#"421["join",{"rooms":["even-2","odd-3","user:8"]}]"#.into(),
    ))
    .await
    .unwrap();
    let reply = next_text(&mut ws).await;
    let body: Value =
        serde_json::from_str(reply.strip_prefix("431").expect("the join ack")).unwrap();
    assert_eq!(
        body,
        json!([{
            "success": false,
            "rooms": ["even-2"],
            "refused": [
                {"room": "user:8", "message": "another user's room"},
                {"room": "odd-3", "message": "refused by the room validator"},
            ],
        }])
    );
    handle.stop(false).await;
    let _ = std::fs::remove_dir_all(&dir);
}
