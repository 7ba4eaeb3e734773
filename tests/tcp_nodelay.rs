//! `HttpServer::tcp_nodelay(true)`, as the binary, the testbed, the examples
//! and the bench server build their server, reaches every accepted
//! connection through the patched actix-http (`vendor/actix-http`): read on
//! the server's side of a real connection. Without it the connection keeps
//! the OS default, Nagle on, and an ack written right after an event waits
//! for the client's delayed ACK.

use std::any::Any;
use std::time::Duration;

use actix_web::dev::Extensions;
use actix_web::rt::net::TcpStream;
use actix_web::{App, HttpServer};
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

/// `TCP_NODELAY` on the server's side of one accepted connection.
async fn server_side_nodelay(set: Option<bool>) -> bool {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut server = HttpServer::new(App::new).workers(1).on_connect(
        move |conn: &dyn Any, _: &mut Extensions| {
            if let Some(tcp) = conn.downcast_ref::<TcpStream>() {
                let _ = tx.send(tcp.nodelay().expect("getsockopt TCP_NODELAY"));
            }
        },
    );
    if let Some(set) = set {
        server = server.tcp_nodelay(set);
    }
    let server = server.bind(("127.0.0.1", 0)).unwrap();
    let addr = server.addrs()[0];
    let server = server.run();
    let handle = server.handle();
    actix_rt::spawn(server);

    let mut client = tokio::net::TcpStream::connect(addr).await.unwrap();
    client
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let nodelay = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("the server saw the connection within 10 s")
        .expect("on_connect ran");
    handle.stop(false).await;
    nodelay
}

#[actix_rt::test]
async fn tcp_nodelay_is_set_on_the_accepted_connection() {
    assert!(server_side_nodelay(Some(true)).await);
}

#[actix_rt::test]
async fn without_the_setting_the_connection_keeps_nagle() {
    assert!(!server_side_nodelay(None).await);
}
