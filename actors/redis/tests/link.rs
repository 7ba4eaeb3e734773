//! The link against a real `redis-server` (Debian's package, which
//! tests/run.sh installs) on a free loopback port: one subscription per
//! channel however often it is asked, an unreachable Redis at start, and a
//! Redis killed and started again.

use std::net::TcpListener;
use std::process::Stdio;
use std::time::Duration;

use confab_redis::{Inbound, Link, LinkError, Subscription};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc::Receiver;
use tokio::time::timeout;

/// The safety net of every wait: long enough for a loaded machine.
const PATIENCE: Duration = Duration::from_secs(20);
const CALL_TIMEOUT: Duration = Duration::from_secs(2);

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A redis-server without persistence, killed when dropped.
struct Redis(Child);

impl Redis {
    async fn start(port: u16) -> Redis {
        let mut child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("redis-server must be installed (tests/run.sh installs Debian's redis-server)");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        timeout(PATIENCE, async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if line.contains("Ready to accept connections") {
                    return;
                }
            }
            panic!("redis-server exited");
        })
        .await
        .expect("redis-server ready");
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Redis(child)
    }

    async fn kill(mut self) {
        self.0.kill().await.unwrap();
    }
}

async fn next(inbound: &mut Receiver<Inbound>) -> Inbound {
    timeout(PATIENCE, inbound.recv())
        .await
        .expect("something from the subscriber")
        .expect("subscriber alive")
}

async fn until_connected(inbound: &mut Receiver<Inbound>) {
    while next(inbound).await != Inbound::Connected {}
}

async fn expect_message(inbound: &mut Receiver<Inbound>, channel: &str, payload: &[u8]) {
    match next(inbound).await {
        Inbound::Message {
            channel: c,
            payload: p,
        } => {
            assert_eq!(c, channel);
            assert_eq!(&p[..], payload);
        }
        other => panic!("expected a message, got {other:?}"),
    }
}

fn url(port: u16) -> String {
    format!("redis://127.0.0.1:{port}")
}

#[tokio::test]
async fn a_channel_asked_three_times_is_subscribed_once() {
    let port = free_port();
    let _redis = Redis::start(port).await;
    let (link, mut inbound) = Link::open(&url(port), CALL_TIMEOUT).unwrap();
    until_connected(&mut inbound).await;
    for _ in 0..3 {
        link.subscribe(Subscription::Channel("req#/#".into()));
    }
    link.subscribe(Subscription::Pattern("b#/#*".into()));
    // A member once every ask is taken (the three as one); the
    // publisher's count proves it.
    while !link.membership().is_member() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(link.numsub("req#/#").await.unwrap(), 1);
    assert_eq!(link.publish("req#/#", b"one".to_vec()).await.unwrap(), 1);
    expect_message(&mut inbound, "req#/#", b"one").await;
    assert_eq!(link.publish("b#/#room#", b"two".to_vec()).await.unwrap(), 1);
    expect_message(&mut inbound, "b#/#room#", b"two").await;
    assert_eq!(link.numsub("req#/#").await.unwrap(), 1);

    let (other, mut other_inbound) = Link::open(&url(port), CALL_TIMEOUT).unwrap();
    other.subscribe(Subscription::Channel("req#/#".into()));
    until_connected(&mut other_inbound).await;
    while link.numsub("req#/#").await.unwrap() < 2 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(link.numsub("req#/#").await.unwrap(), 2);
}

#[tokio::test]
async fn an_unreachable_redis_fails_calls_and_is_joined_when_it_comes() {
    let port = free_port();
    let (link, mut inbound) = Link::open(&url(port), CALL_TIMEOUT).unwrap();
    link.subscribe(Subscription::Channel("c".into()));
    let membership = link.membership().clone();
    assert!(!membership.is_member() && !membership.has_joined());
    let refused = link.publish("c", b"lost".to_vec()).await;
    assert!(
        matches!(refused, Err(LinkError::Redis(_) | LinkError::Timeout(_))),
        "{refused:?}"
    );
    let _redis = Redis::start(port).await;
    until_connected(&mut inbound).await;
    assert!(membership.is_member() && membership.has_joined());
    // The publisher reconnects on its own after its failure.
    let delivered = timeout(PATIENCE, async {
        loop {
            if let Ok(n) = link.publish("c", b"found".to_vec()).await {
                return n;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .unwrap();
    assert_eq!(delivered, 1);
    expect_message(&mut inbound, "c", b"found").await;
}

#[tokio::test]
async fn after_redis_restarts_the_subscriptions_come_back() {
    let port = free_port();
    let redis = Redis::start(port).await;
    let (link, mut inbound) = Link::open(&url(port), CALL_TIMEOUT).unwrap();
    link.subscribe(Subscription::Pattern("p#*".into()));
    until_connected(&mut inbound).await;
    let membership = link.membership().clone();
    assert!(membership.is_member());
    redis.kill().await;
    assert_eq!(next(&mut inbound).await, Inbound::Lost);
    assert!(!membership.is_member() && membership.has_joined());
    // Asked while Redis is away: subscribed on reconnect.
    link.subscribe(Subscription::Channel("late".into()));
    let _redis = Redis::start(port).await;
    until_connected(&mut inbound).await;
    assert!(membership.is_member());
    let delivered = timeout(PATIENCE, async {
        loop {
            match link.publish("p#x", b"back".to_vec()).await {
                Ok(n) => return n,
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(delivered, 1);
    expect_message(&mut inbound, "p#x", b"back").await;
    assert_eq!(link.numsub("late").await.unwrap(), 1);
}
