//! The durable-chat scenario: seed 003's `createMessage` with an ack
//! against the confab appliance, whose ack means "written and flushed".
//!
//! Every user connects with an HS256 token this process signs with the
//! server's secret (`--secret-file`, the `jwt-secret` in its data
//! directory). `individual`: `--senders` pairs (sender, peer), each pair in
//! its own chat (the sender opens it with `joinRoom {otherUserId}`), the
//! peer connected too, so every message fans out to two sockets.
//! `group`: `--senders` users in one group (made with `createGroup` by the
//! first), every member sending, so every message fans out to all of them.
//! Each sender has one `createMessage` in flight at a time (a closed loop:
//! the next goes when the ack is back). Measured after `--warmup` for
//! `--secs`: acked messages/s, ack latency percentiles, the `message`
//! events the members receive per second, and the server's CPU per message.
//! Also the flushes per second and the writers each served, from the
//! server's `/metrics` (`confab_store_flush_batch_size`, a histogram)
//! read at the window's two ends: the server logs nothing for them.
//! `--variant strace` only labels a run made with strace attached (run.sh
//! counts the server's fsync calls in a run of its own: strace slows it).

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::task::spawn_local;
use tokio_tungstenite::tungstenite::Message;

use crate::proto::{self, Error, Incoming, Target, Ws, classify, event};
use crate::{Common, CpuMeter, Opts, Window, open_many, pct_ms, round};

/// What all the clients of one run saw.
#[derive(Default)]
struct Stats {
    /// Ack latencies (µs) of the messages sent within the window.
    lat: Vec<u32>,
    /// `message` events received within the window, all members.
    deliveries: u64,
    /// Acks that carried `{error}`.
    refused: u64,
    first_refusal: Option<String>,
}

/// A `message` server event (seed 003's fan-out of a new message).
fn is_message(text: &str) -> bool {
    text.starts_with("42[\"message\",")
}

/// Counts a received `message` event if it falls within the window.
fn count_delivery(stats: &RefCell<Stats>, window: &Window) {
    let now = Instant::now();
    if now >= window.measure_from && now < window.until {
        stats.borrow_mut().deliveries += 1;
    }
}

/// Sends `name` with ack id `id` and returns the ack's first argument,
/// answering pings and ignoring other events meanwhile (set-up only).
async fn call(ws: &mut Ws, id: u64, name: &str, body: &Value) -> Result<Value, Error> {
    ws.send(Message::text(event(id, name, &body.to_string())))
        .await?;
    loop {
        let text = tokio::time::timeout(Duration::from_secs(30), proto::next_text(ws))
            .await
            .map_err(|_| Error::from(format!("no {name} ack within 30 s")))??;
        match classify(&text) {
            Incoming::Ack(got) if got == id => {
                let args = text[2..].trim_start_matches(|c: char| c.is_ascii_digit());
                let first = serde_json::from_str::<Value>(args)?
                    .get(0)
                    .cloned()
                    .unwrap_or(Value::Null);
                if let Some(err) = first.get("error") {
                    return Err(format!("{name} refused: {err}").into());
                }
                return Ok(first);
            }
            Incoming::Ping => ws.send(Message::text("3")).await?,
            Incoming::Close => return Err("server closed the session".into()),
            _ => {}
        }
    }
}

/// One sender: `createMessage` after `createMessage` to `chat`, each sent
/// when the ack of the one before is back, until the window ends.
async fn sender(
    mut ws: Ws,
    chat: u64,
    token: Rc<str>,
    text: Rc<str>,
    window: Rc<Window>,
    stats: Rc<RefCell<Stats>>,
) -> Result<Ws, Error> {
    let mut id = 100u64;
    while Instant::now() < window.until {
        id += 1;
        let body = format!(
            "{{\"message\":\"{text}\",\"chatHeaderId\":{chat},\"accessToken\":\"{token}\",\"messageType\":0}}"
        );
        let sent = Instant::now();
        ws.send(Message::text(event(id, "createMessage", &body)))
            .await?;
        loop {
            let next = tokio::time::timeout(Duration::from_secs(10), ws.next())
                .await
                .map_err(|_| Error::from("no createMessage ack within 10 s"))?;
            let t = match next {
                Some(Ok(Message::Text(t))) => t,
                Some(Ok(_)) => continue,
                Some(Err(err)) => return Err(err.into()),
                None => return Err("connection closed".into()),
            };
            match classify(t.as_str()) {
                Incoming::Ack(got) if got == id => {
                    let mut s = stats.borrow_mut();
                    if t.as_str().contains("\"error\"") {
                        s.refused += 1;
                        s.first_refusal.get_or_insert_with(|| t.as_str().to_owned());
                    } else if sent >= window.measure_from {
                        s.lat
                            .push(sent.elapsed().as_micros().min(u32::MAX as u128) as u32);
                    }
                    break;
                }
                Incoming::Ping => ws.send(Message::text("3")).await?,
                Incoming::Close => return Err("server closed the session".into()),
                _ if is_message(t.as_str()) => count_delivery(&stats, &window),
                _ => {}
            }
        }
    }
    Ok(ws)
}

/// A member that only receives (and a sender once it has stopped
/// sending): counts `message` events until told to stop.
async fn listen(
    mut ws: Ws,
    window: Rc<Window>,
    stats: Rc<RefCell<Stats>>,
    mut stop: watch::Receiver<bool>,
) -> Result<(), Error> {
    loop {
        tokio::select! {
            msg = ws.next() => match msg {
                Some(Ok(Message::Text(t))) => match classify(t.as_str()) {
                    Incoming::Ping => ws.send(Message::text("3")).await?,
                    Incoming::Close => return Err("server closed the session".into()),
                    _ if is_message(t.as_str()) => count_delivery(&stats, &window),
                    _ => {}
                },
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.into()),
                None => return Err("connection closed".into()),
            },
            _ = stop.changed() => break,
        }
    }
    proto::close_ws(ws).await;
    Ok(())
}

/// Tokens for `n` users named `{prefix}{i}`, signed with `secret`.
fn tokens(secret: &[u8], prefix: &str, n: usize) -> Vec<Rc<str>> {
    (0..n)
        .map(|i| crate::jwt::hs256(secret, &format!("{prefix}{i}"), 3600).into())
        .collect()
}

/// Connects one user per token, in order.
async fn connect(c: &Common, tokens: &[Rc<str>]) -> Result<Vec<Ws>, Error> {
    let target = |i: usize| Target {
        token: tokens[i].to_string(),
        ..c.target.clone()
    };
    let (sessions, failed, first_error) = open_many(target, tokens.len(), 64, 0).await;
    if failed > 0 {
        return Err(format!(
            "{failed} of {} users failed to connect: {first_error:?}",
            tokens.len()
        )
        .into());
    }
    Ok(sessions.into_iter().flatten().collect())
}

/// Seconds since the epoch, to the microsecond.
fn unix_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The flushes and the writers they served so far, as the server's
/// `/metrics` count them (the count and sum of the histogram
/// `confab_store_flush_batch_size`); `None` if it does not answer.
fn flush_counts(port: u16) -> Option<(u64, u64)> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    flush_counts_in(&text)
}

/// The histogram's count and sum in a Prometheus text exposition.
fn flush_counts_in(text: &str) -> Option<(u64, u64)> {
    let value = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
            .and_then(|v| v.trim().parse::<f64>().ok())
    };
    let count = value("confab_store_flush_batch_size_count")?;
    let sum = value("confab_store_flush_batch_size_sum")?;
    Some((count as u64, sum as u64))
}

/// The chat id in an ack: `chatHeaderId`, or a header's `id`.
fn chat_id(ack: &Value) -> Result<u64, Error> {
    ack.get("chatHeaderId")
        .or_else(|| ack.get("id"))
        .and_then(Value::as_u64)
        .ok_or_else(|| format!("no chat id in {ack}").into())
}

pub async fn run(opts: &Opts) -> Result<(), Error> {
    let c = Common::new(opts)?;
    let senders: usize = opts.get("senders", 20)?;
    let mode = opts.str("mode", "individual");
    let secs: f64 = opts.get("secs", 6.0)?;
    let warmup: f64 = opts.get("warmup", 2.0)?;
    let text: Rc<str> = "t".repeat(opts.get("text", 32)?).into();
    let secret_file = opts.str("secret-file", "");
    if secret_file.is_empty() {
        return Err("--secret-file (the server's jwt-secret) is required".into());
    }
    let secret =
        std::fs::read_to_string(&secret_file).map_err(|e| format!("{secret_file}: {e}"))?;
    let secret = secret.trim().as_bytes();
    if senders == 0 || senders > 10_000 {
        return Err("--senders must be within 1..=10000".into());
    }
    // A run's users are new to this database: the run number keeps them
    // apart from an earlier run's on the same data directory.
    let tag = std::process::id();

    // Set-up: who sends to which chat, and who only listens.
    let (sending, tokens, listening, chats, members) = match mode.as_str() {
        "individual" => {
            let peers: Vec<String> = (0..senders).map(|i| format!("p{tag}-{i}")).collect();
            // Peers first: a chat can only be opened with a known user.
            let listening = connect(&c, &tokens(secret, &format!("p{tag}-"), senders)).await?;
            let own = tokens(secret, &format!("s{tag}-"), senders);
            let mut sending = connect(&c, &own).await?;
            let mut chats = Vec::with_capacity(senders);
            for (ws, peer) in sending.iter_mut().zip(&peers) {
                let ack = call(ws, 1, "joinRoom", &json!({ "otherUserId": peer })).await?;
                chats.push(chat_id(&ack)?);
            }
            (sending, own, listening, chats, 2)
        }
        "group" => {
            if senders > 256 {
                return Err("a group has at most 256 members".into());
            }
            let users: Vec<String> = (0..senders).map(|i| format!("g{tag}-{i}")).collect();
            let own = tokens(secret, &format!("g{tag}-"), senders);
            let mut sending = connect(&c, &own).await?;
            let ack = call(
                &mut sending[0],
                1,
                "createGroup",
                &json!({ "name": "bench", "userIds": users[1..] }),
            )
            .await?;
            let chat = chat_id(&ack)?;
            (sending, own, Vec::new(), vec![chat; senders], senders)
        }
        other => return Err(format!("--mode {other:?}: individual or group").into()),
    };

    let stats = Rc::new(RefCell::new(Stats::default()));
    let start = Instant::now();
    let window = Rc::new(Window {
        measure_from: start + Duration::from_secs_f64(warmup),
        until: start + Duration::from_secs_f64(warmup + secs),
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    let listeners: Vec<_> = listening
        .into_iter()
        .map(|ws| spawn_local(listen(ws, window.clone(), stats.clone(), stop_rx.clone())))
        .collect();
    let sends: Vec<_> = sending
        .into_iter()
        .zip(chats)
        .zip(tokens)
        .map(|((ws, chat), token)| {
            spawn_local(sender(
                ws,
                chat,
                token,
                text.clone(),
                window.clone(),
                stats.clone(),
            ))
        })
        .collect();
    tokio::time::sleep_until(window.measure_from.into()).await;
    let meter = CpuMeter::start(&c.server_pid);
    let flushes_from = flush_counts(c.target.port);
    let window_start = unix_secs();
    tokio::time::sleep_until(window.until.into()).await;
    let (wall, server_cpu, me_cpu) = meter.read();
    let window_end = unix_secs();
    let flushed = flushes_from
        .zip(flush_counts(c.target.port))
        .map(|((f0, w0), (f1, w1))| (f1.saturating_sub(f0), w1.saturating_sub(w0)));
    let others = meter.others_pct();
    let load_others = meter.load_others_pct();

    let (mut errors, mut first_error) = (0, None::<String>);
    let mut done = Vec::new();
    for s in sends {
        match s.await {
            Ok(Ok(ws)) => done.push(ws),
            Ok(Err(e)) => {
                errors += 1;
                first_error.get_or_insert(e.to_string());
            }
            Err(e) => {
                errors += 1;
                first_error.get_or_insert(e.to_string());
            }
        }
    }
    let _ = stop_tx.send(true);
    for l in listeners {
        if !matches!(
            tokio::time::timeout(Duration::from_secs(5), l).await,
            Ok(Ok(Ok(())))
        ) {
            errors += 1;
        }
    }
    for ws in done {
        proto::close_ws(ws).await;
    }

    let mut s = stats.take();
    s.lat.sort_unstable();
    let acked = s.lat.len();
    let rate = acked as f64 / wall;
    let dps = s.deliveries as f64 / wall;
    let (p50, p99, p999) = (
        pct_ms(&s.lat, 50.0),
        pct_ms(&s.lat, 99.0),
        pct_ms(&s.lat, 99.9),
    );
    c.emit(
        json!({
            "scenario": "chat",
            "variant": opts.str("variant", ""),
            "mode": mode,
            "senders": senders,
            "members_per_chat": members,
            "secs": round(wall, 3),
            "acked": acked,
            "acks_per_sec": round(rate, 1),
            "p50_ms": p50,
            "p99_ms": p99,
            "p999_ms": p999,
            "max_ms": pct_ms(&s.lat, 100.0),
            // The window on the wall clock, to count the server's syscalls
            // in it from a timestamped trace (run.sh, CHAT_STRACE).
            "window_start_unix": window_start,
            "window_end_unix": window_end,
            "deliveries_per_sec": round(dps, 1),
            "deliveries_per_ack": round(s.deliveries as f64 / acked.max(1) as f64, 2),
            "flushes_per_sec": flushed.map(|(f, _)| round(f as f64 / wall, 1)),
            "writers_per_flush": flushed.map(|(f, w)| round(w as f64 / f.max(1) as f64, 2)),
            "refused": s.refused,
            "first_refusal": s.first_refusal,
            "errors": errors,
            "first_error": first_error,
            "server_cpu_secs": server_cpu.map(|x| round(x, 2)),
            "server_cpu_pct": server_cpu.map(|x| round(100.0 * x / wall, 1)),
            "server_cpu_us_per_ack": server_cpu.map(|x| round(x * 1e6 / acked.max(1) as f64, 1)),
            "loadgen_cpu_pct": round(100.0 * me_cpu / wall, 1),
            "server_core_others_pct": others,
            "load_core_others_pct": load_others,
        }),
        format!(
            "chat {mode} senders={senders}: acked/s={rate:.0} p50={} p99={} p99.9={} ms deliveries/s={dps:.0} server cpu {} µs/msg ({}% of its core), loadgen cpu {:.0}%, others {}%/{}% (refused {}, errors {errors})",
            p50.map_or("?".into(), |v| v.to_string()),
            p99.map_or("?".into(), |v| v.to_string()),
            p999.map_or("?".into(), |v| v.to_string()),
            server_cpu.map_or("?".into(), |x| format!("{:.0}", x * 1e6 / acked.max(1) as f64)),
            server_cpu.map_or("?".into(), |x| format!("{:.0}", 100.0 * x / wall)),
            100.0 * me_cpu / wall,
            others.map_or("?".into(), |v| v.to_string()),
            load_others.map_or("?".into(), |v| v.to_string()),
            s.refused,
        ),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_flush_histograms_count_and_sum() {
        let text = "# TYPE confab_store_flush_batch_size histogram\n\
            confab_store_flush_batch_size_bucket{le=\"1\"} 3\n\
            confab_store_flush_batch_size_sum 41\n\
            confab_store_flush_batch_size_count 12\n\
            confab_store_flush_seconds_count 12\n";
        assert_eq!(flush_counts_in(text), Some((12, 41)));
        assert_eq!(
            flush_counts_in("confab_store_flush_batch_size_count 1\n"),
            None
        );
    }

    #[test]
    fn tells_message_events_from_acks() {
        assert!(is_message(r#"42["message",{"chatHeaderId":1}]"#));
        assert!(!is_message(r#"43101[{"chatHeaderId":1,"chatMessage":{}}]"#));
        assert!(!is_message(r#"42["messageUpdated",{}]"#));
    }
}
