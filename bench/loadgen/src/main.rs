//! loadgen: the benchmark's load generator. It speaks Engine.IO v4 /
//! Socket.IO v5 itself, on one thread (pin it to a core of its own), to a
//! server on the loopback interface only, and every scenario is bounded in
//! connections and in time.
//!
//! ```text
//! loadgen connections --port P [--conns 1000] [--concurrency 256] [--sources 1]
//! loadgen echo        --port P [--clients 100] [--secs 10] [--warmup 2] [--pad 64]
//!                              [--inflight 1]
//! loadgen fanout      --port P [--rooms 10] [--members 100] [--rate-start 20]
//!                              [--rate-factor 2] [--rate-max 5000] [--step-secs 4]
//!                              [--p99-ms 50] [--text 32] [--port2 P2]
//! loadgen polling     --port P [--clients 50] [--secs 10] [--warmup 2] [--pad 64]
//! loadgen chat        --port P --secret-file F [--mode individual|group] [--senders 20]
//!                              [--secs 6] [--warmup 2] [--text 32]
//! loadgen disk        --dir D [--secs 3] [--block 4096]
//! loadgen report      FILE.jsonl
//! ```
//! Common options: `--server NAME` (a label), `--server-pid PID[,PID…]` (to
//! read the server's RSS and CPU from /proc; a server of several processes
//! counts their sum), `--path /socket.io/`, `--token T`. `fanout --port2`
//! runs the cross-node fan-out (`cluster-fanout`): clients alternate
//! between the node on `--port` and the one on `--port2`.
//! Each scenario prints one JSON line on stdout (prefixed `RESULT `) and a
//! human-readable summary on stderr.

mod chat;
mod disk;
mod jwt;
mod proto;
mod report;

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::{Semaphore, watch};
use tokio::task::{JoinHandle, spawn_local};
use tokio_tungstenite::tungstenite::Message;

use proto::{Error, Incoming, Polling, RawFrame, RawWs, Target, Ws, classify, event};

/// Options as `--key value` pairs.
struct Opts(HashMap<String, String>);

impl Opts {
    fn parse(args: &[String]) -> Result<Opts, Error> {
        let mut map = HashMap::new();
        let mut it = args.iter();
        while let Some(key) = it.next() {
            let key = key
                .strip_prefix("--")
                .ok_or_else(|| format!("unexpected argument {key:?}"))?;
            let value = it.next().ok_or_else(|| format!("--{key} needs a value"))?;
            map.insert(key.to_owned(), value.clone());
        }
        Ok(Opts(map))
    }

    fn get<T: std::str::FromStr>(&self, key: &str, default: T) -> Result<T, Error> {
        match self.0.get(key) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| format!("--{key}: cannot parse {v:?}").into()),
        }
    }

    fn str(&self, key: &str, default: &str) -> String {
        self.0
            .get(key)
            .cloned()
            .unwrap_or_else(|| default.to_owned())
    }
}

/// Microseconds since this process started: the clock of `ts` in chat
/// messages (sender and receivers are this process, so one clock).
fn now_us() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_micros() as u64
}

/// What /proc says about a process (`self` or a pid).
mod procfs {
    fn ticks_per_sec() -> f64 {
        // SAFETY: sysconf has no preconditions.
        let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        if t > 0 { t as f64 } else { 100.0 }
    }

    /// User + system CPU seconds, all threads, summed over a
    /// comma-separated list of pids (a server of several processes).
    pub fn cpu_secs(pids: &str) -> Option<f64> {
        pids.split(',').map(one_cpu_secs).sum()
    }

    fn one_cpu_secs(pid: &str) -> Option<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let after = &stat[stat.rfind(')')? + 1..];
        let fields: Vec<&str> = after.split_whitespace().collect();
        // Fields 14 and 15 of stat(5); `after` starts at field 3.
        let utime: f64 = fields.get(11)?.parse().ok()?;
        let stime: f64 = fields.get(12)?.parse().ok()?;
        Some((utime + stime) / ticks_per_sec())
    }

    /// Busy seconds (everything but idle and iowait) of one CPU core.
    pub fn core_busy_secs(core: usize) -> Option<f64> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let line = stat
            .lines()
            .find(|l| l.split_whitespace().next() == Some(&format!("cpu{core}")))?;
        let v: Vec<f64> = line
            .split_whitespace()
            .skip(1)
            .filter_map(|x| x.parse().ok())
            .collect();
        let total: f64 = v.iter().take(8).sum();
        let idle = v.get(3)? + v.get(4)?;
        Some((total - idle) / ticks_per_sec())
    }

    /// A `kB` line of /proc/<pid>/status (VmRSS, VmHWM), summed over a
    /// comma-separated list of pids.
    pub fn status_kb(pids: &str, key: &str) -> Option<u64> {
        pids.split(',').map(|pid| one_status_kb(pid, key)).sum()
    }

    fn one_status_kb(pid: &str, key: &str) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
    }
}

/// CPU used by the server and by this process between two points.
struct CpuMeter {
    server_pid: Option<String>,
    t0: Instant,
    server0: Option<f64>,
    self0: f64,
    core0: Option<f64>,
    load_core0: Option<f64>,
}

/// The core the server is pinned to (`--server-core`), to tell how much of
/// it other processes took during a measurement: on a shared machine,
/// that is the noise.
static SERVER_CORE: OnceLock<Option<usize>> = OnceLock::new();
/// The core this process is pinned to (`--load-core`), likewise.
static LOAD_CORE: OnceLock<Option<usize>> = OnceLock::new();

fn server_core() -> Option<usize> {
    *SERVER_CORE.get().unwrap_or(&None)
}

fn load_core() -> Option<usize> {
    *LOAD_CORE.get().unwrap_or(&None)
}

impl CpuMeter {
    fn start(server_pid: &Option<String>) -> CpuMeter {
        CpuMeter {
            server_pid: server_pid.clone(),
            t0: Instant::now(),
            server0: server_pid.as_deref().and_then(procfs::cpu_secs),
            self0: procfs::cpu_secs("self").unwrap_or(0.0),
            core0: server_core().and_then(procfs::core_busy_secs),
            load_core0: load_core().and_then(procfs::core_busy_secs),
        }
    }

    /// Percent of the server's core used by other processes since start.
    fn others_pct(&self) -> Option<f64> {
        let wall = self.t0.elapsed().as_secs_f64();
        let busy = server_core().and_then(procfs::core_busy_secs)? - self.core0?;
        let (_, server, _) = self.read();
        Some(round(
            100.0 * (busy - server.unwrap_or(0.0)).max(0.0) / wall,
            1,
        ))
    }

    /// Percent of the load generator's core used by other processes.
    fn load_others_pct(&self) -> Option<f64> {
        let wall = self.t0.elapsed().as_secs_f64();
        let busy = load_core().and_then(procfs::core_busy_secs)? - self.load_core0?;
        let (_, _, me) = self.read();
        Some(round(100.0 * (busy - me).max(0.0) / wall, 1))
    }

    /// (wall secs, server CPU secs, loadgen CPU secs)
    fn read(&self) -> (f64, Option<f64>, f64) {
        let wall = self.t0.elapsed().as_secs_f64();
        let server = match (&self.server_pid, self.server0) {
            (Some(pid), Some(s0)) => procfs::cpu_secs(pid).map(|s| s - s0),
            _ => None,
        };
        let me = procfs::cpu_secs("self").unwrap_or(0.0) - self.self0;
        (wall, server, me)
    }
}

fn round(x: f64, digits: i32) -> f64 {
    let p = 10f64.powi(digits);
    (x * p).round() / p
}

/// The `p`th percentile (0..=100) of sorted microsecond samples, in ms.
fn pct_ms(sorted: &[u32], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let idx = ((p / 100.0 * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    Some(round(sorted[idx] as f64 / 1000.0, 3))
}

struct Common {
    target: Target,
    /// A second node of the same cluster (`--port2`), for the cross-node
    /// fan-out.
    target2: Option<Target>,
    server: String,
    server_pid: Option<String>,
    /// Which repetition of the same run this is (`--repeat`, from run.sh).
    repeat: u32,
}

impl Common {
    fn new(opts: &Opts) -> Result<Common, Error> {
        let port: u16 = opts.get("port", 0)?;
        if port == 0 {
            return Err("--port is required".into());
        }
        let sources: u8 = opts.get("sources", 1)?;
        if sources == 0 {
            return Err("--sources must be at least 1".into());
        }
        let target = Target {
            port,
            path: opts.str("path", "/socket.io/"),
            token: opts.str("token", "bench-token"),
            sources,
        };
        let port2: u16 = opts.get("port2", 0)?;
        Ok(Common {
            target2: (port2 != 0).then(|| Target {
                port: port2,
                ..target.clone()
            }),
            target,
            server: opts.str("server", "server"),
            server_pid: opts.0.get("server-pid").cloned(),
            repeat: opts.get("repeat", 1)?,
        })
    }

    fn rss_kb(&self) -> Option<u64> {
        procfs::status_kb(self.server_pid.as_deref()?, "VmRSS")
    }

    fn hwm_kb(&self) -> Option<u64> {
        procfs::status_kb(self.server_pid.as_deref()?, "VmHWM")
    }

    /// The JSON line and the human line.
    fn emit(&self, mut result: Value, human: String) {
        result["server"] = json!(self.server);
        result["repeat"] = json!(self.repeat);
        result["server_hwm_kb"] = json!(self.hwm_kb());
        println!("RESULT {result}");
        eprintln!("[{}] {human}", self.server);
    }
}

/// Opens `n` WebSocket sessions, `concurrency` handshakes at a time, the
/// `i`th to `target(i)` (the same server; the token may differ per client).
/// Returns the sessions (in index order, failures dropped) and the failures.
async fn open_many(
    target: impl Fn(usize) -> Target,
    n: usize,
    concurrency: usize,
    offset: usize,
) -> (Vec<Option<Ws>>, usize, Option<String>) {
    let permits = Rc::new(Semaphore::new(concurrency.max(1)));
    let mut tasks: Vec<JoinHandle<Result<Ws, Error>>> = Vec::with_capacity(n);
    for i in 0..n {
        let permits = permits.clone();
        let target = target(i);
        tasks.push(spawn_local(async move {
            let _permit = permits.acquire().await.expect("semaphore open");
            tokio::time::timeout(Duration::from_secs(30), target.ws(offset + i))
                .await
                .map_err(|_| Error::from("handshake timed out"))?
        }));
    }
    let mut out = Vec::with_capacity(n);
    let (mut failed, mut first_error) = (0, None);
    for task in tasks {
        match task.await {
            Ok(Ok(ws)) => out.push(Some(ws)),
            Ok(Err(err)) => {
                failed += 1;
                first_error.get_or_insert_with(|| err.to_string());
                out.push(None);
            }
            Err(err) => {
                failed += 1;
                first_error.get_or_insert_with(|| err.to_string());
                out.push(None);
            }
        }
    }
    (out, failed, first_error)
}

/// Keeps a session alive (answering pings) until `stop` turns true.
async fn hold(mut ws: Ws, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            msg = ws.next() => match msg {
                Some(Ok(Message::Text(t))) if t.as_str() == "2" => {
                    if ws.send(Message::text("3")).await.is_err() { return; }
                }
                Some(Ok(_)) => {}
                _ => return,
            },
            _ = stop.changed() => break,
        }
    }
    proto::close_ws(ws).await;
}

// ---------------------------------------------------------------- connections

async fn connections(opts: &Opts) -> Result<(), Error> {
    let c = Common::new(opts)?;
    let n: usize = opts.get("conns", 1000)?;
    let concurrency: usize = opts.get("concurrency", 256)?;
    let settle: f64 = opts.get("settle", 3.0)?;
    // The idle server, a moment after it started.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let base_kb = c.rss_kb();
    let meter = CpuMeter::start(&c.server_pid);
    let (sessions, failed, first_error) = open_many(|_| c.target.clone(), n, concurrency, 0).await;
    let (connect_secs, server_cpu, me_cpu) = meter.read();
    let others = meter.others_pct();
    let load_others = meter.load_others_pct();
    let ok = n - failed;
    let (stop_tx, stop_rx) = watch::channel(false);
    let holders: Vec<_> = sessions
        .into_iter()
        .flatten()
        .map(|ws| spawn_local(hold(ws, stop_rx.clone())))
        .collect();
    // Let the server finish what each connection allocates, then read RSS.
    tokio::time::sleep(Duration::from_secs_f64(settle)).await;
    let rss_kb = c.rss_kb();
    let per_conn = match (base_kb, rss_kb) {
        (Some(b), Some(r)) if ok > 0 => Some(((r as f64 - b as f64) * 1024.0 / ok as f64).round()),
        _ => None,
    };
    let rate = ok as f64 / connect_secs.max(1e-9);
    let hwm = c.hwm_kb();
    let _ = stop_tx.send(true);
    for h in holders {
        let _ = tokio::time::timeout(Duration::from_secs(5), h).await;
    }
    c.emit(
        json!({
            "scenario": "connections",
            "conns": n,
            "ok": ok,
            "failed": failed,
            "first_error": first_error,
            "connect_secs": round(connect_secs, 3),
            "connect_rate": round(rate, 1),
            "rss_base_kb": base_kb,
            "rss_kb": rss_kb,
            "rss_per_conn_bytes": per_conn,
            "server_cpu_secs": server_cpu.map(|s| round(s, 2)),
            "loadgen_cpu_secs": round(me_cpu, 2),
            "loadgen_cpu_pct": round(100.0 * me_cpu / connect_secs.max(1e-9), 1),
            "fd_soft_limit": fd_limit(),
            "server_core_others_pct": others,
            "load_core_others_pct": load_others,
        }),
        format!(
            "connections n={n} ok={ok} failed={failed} connect={:.2}s rate={:.0}/s rss {}→{} kB, per conn {} B (hwm {} kB)",
            connect_secs,
            rate,
            base_kb.map_or("?".into(), |v| v.to_string()),
            rss_kb.map_or("?".into(), |v| v.to_string()),
            per_conn.map_or("?".into(), |v| v.to_string()),
            hwm.map_or("?".into(), |v| v.to_string()),
        ),
    );
    Ok(())
}

fn fd_limit() -> Option<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: a valid pointer to an rlimit.
    (unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0).then_some(lim.rlim_cur)
}

// ----------------------------------------------------------------------- echo

struct Window {
    /// Round trips started before this are warm-up and not counted.
    measure_from: Instant,
    until: Instant,
}

/// One client's ack round trips over WebSocket; latencies in µs.
/// One WebSocket client's echo loop: `inflight` events out at once, the
/// next sent as each ack comes back (1: strict round trips, the default).
async fn echo_ws(
    mut ws: Ws,
    pad: Rc<str>,
    window: Rc<Window>,
    inflight: usize,
) -> Result<Vec<u32>, Error> {
    let mut lat = Vec::new();
    let mut pending: VecDeque<(u64, Instant)> = VecDeque::with_capacity(inflight);
    let mut id = 0u64;
    loop {
        while pending.len() < inflight && Instant::now() < window.until {
            id += 1;
            let msg = event(id, "echo", &format!("{{\"seq\":{id},\"pad\":\"{pad}\"}}"));
            pending.push_back((id, Instant::now()));
            ws.send(Message::text(msg)).await?;
        }
        if pending.is_empty() {
            break;
        }
        let next = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .map_err(|_| Error::from("no ack within 10 s"))?;
        match next {
            Some(Ok(Message::Text(t))) => match classify(t.as_str()) {
                Incoming::Ack(got) => {
                    // Acks come back in order; a search keeps any order right.
                    if let Some(at) = pending.iter().position(|(id, _)| *id == got) {
                        let (_, sent) = pending.remove(at).expect("position is in range");
                        if sent >= window.measure_from {
                            lat.push(sent.elapsed().as_micros().min(u32::MAX as u128) as u32);
                        }
                    }
                }
                Incoming::Ping => ws.send(Message::text("3")).await?,
                Incoming::Close => return Err("server closed the session".into()),
                _ => {}
            },
            Some(Ok(_)) => {}
            Some(Err(err)) => return Err(err.into()),
            None => return Err("connection closed".into()),
        }
    }
    proto::close_ws(ws).await;
    Ok(lat)
}
async fn echo_polling(mut p: Polling, pad: Rc<str>, window: Rc<Window>) -> Result<Vec<u32>, Error> {
    let mut lat = Vec::new();
    let mut id = 0u64;
    while Instant::now() < window.until {
        id += 1;
        let sent = Instant::now();
        p.post(event(
            id,
            "echo",
            &format!("{{\"seq\":{id},\"pad\":\"{pad}\"}}"),
        ))
        .await?;
        'ack: loop {
            let body = tokio::time::timeout(Duration::from_secs(10), p.get())
                .await
                .map_err(|_| Error::from("no ack within 10 s"))??;
            let mut acked = false;
            for packet in body.split('\u{1e}') {
                match classify(packet) {
                    Incoming::Ack(got) if got == id => acked = true,
                    Incoming::Ping => p.post("3".into()).await?,
                    Incoming::Close => return Err("server closed the session".into()),
                    _ => {}
                }
            }
            if acked {
                break 'ack;
            }
        }
        if sent >= window.measure_from {
            lat.push(sent.elapsed().as_micros().min(u32::MAX as u128) as u32);
        }
    }
    let _ = p.post("1".into()).await;
    Ok(lat)
}

async fn echo(opts: &Opts, polling: bool) -> Result<(), Error> {
    let c = Common::new(opts)?;
    let clients: usize = opts.get("clients", if polling { 50 } else { 100 })?;
    let secs: f64 = opts.get("secs", 10.0)?;
    let warmup: f64 = opts.get("warmup", 2.0)?;
    let pad: Rc<str> = "x".repeat(opts.get("pad", 64)?).into();
    let inflight: usize = if polling { 1 } else { opts.get("inflight", 1)? };
    let scenario = if polling { "polling" } else { "echo" };

    // Connect everyone first; the clock starts when all are in.
    let mut ws_sessions = Vec::new();
    let mut poll_sessions = Vec::new();
    let mut failed = 0;
    let mut first_error = None;
    if polling {
        let mut tasks = Vec::new();
        for i in 0..clients {
            let target = c.target.clone();
            tasks.push(spawn_local(async move { Polling::open(&target, i).await }));
        }
        for t in tasks {
            match t.await {
                Ok(Ok(p)) => poll_sessions.push(p),
                Ok(Err(e)) => {
                    failed += 1;
                    first_error.get_or_insert(e.to_string());
                }
                Err(e) => {
                    failed += 1;
                    first_error.get_or_insert(e.to_string());
                }
            }
        }
    } else {
        let (sessions, f, e) = open_many(|_| c.target.clone(), clients, 256, 0).await;
        ws_sessions = sessions.into_iter().flatten().collect();
        failed = f;
        first_error = e;
    }
    if ws_sessions.is_empty() && poll_sessions.is_empty() {
        return Err(format!("no client could connect: {first_error:?}").into());
    }
    let start = Instant::now();
    let window = Rc::new(Window {
        measure_from: start + Duration::from_secs_f64(warmup),
        until: start + Duration::from_secs_f64(warmup + secs),
    });
    let mut tasks: Vec<JoinHandle<Result<Vec<u32>, Error>>> = Vec::new();
    for ws in ws_sessions {
        tasks.push(spawn_local(echo_ws(
            ws,
            pad.clone(),
            window.clone(),
            inflight,
        )));
    }
    for p in poll_sessions {
        tasks.push(spawn_local(echo_polling(p, pad.clone(), window.clone())));
    }
    // CPU over the measured window only.
    tokio::time::sleep_until(window.measure_from.into()).await;
    let meter = CpuMeter::start(&c.server_pid);
    tokio::time::sleep_until(window.until.into()).await;
    let (wall, server_cpu, me_cpu) = meter.read();
    let others = meter.others_pct();
    let load_others = meter.load_others_pct();
    let mut lat = Vec::new();
    let mut errors = 0;
    for t in tasks {
        match t.await {
            Ok(Ok(l)) => lat.extend(l),
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
    lat.sort_unstable();
    let acks = lat.len();
    let rate = acks as f64 / wall;
    let (p50, p99) = (pct_ms(&lat, 50.0), pct_ms(&lat, 99.0));
    c.emit(
        json!({
            "scenario": scenario,
            "clients": clients,
            "inflight": inflight,
            "failed": failed,
            "errors": errors,
            "first_error": first_error,
            "secs": round(wall, 3),
            "acks": acks,
            "acks_per_sec": round(rate, 1),
            "p50_ms": p50,
            "p99_ms": p99,
            "max_ms": pct_ms(&lat, 100.0),
            "server_cpu_secs": server_cpu.map(|s| round(s, 2)),
            "server_cpu_us_per_ack": server_cpu.map(|s| round(s * 1e6 / acks.max(1) as f64, 2)),
            "loadgen_cpu_secs": round(me_cpu, 2),
            "loadgen_cpu_pct": round(100.0 * me_cpu / wall, 1),
            "server_core_others_pct": others,
            "load_core_others_pct": load_others,
        }),
        format!(
            "{scenario} clients={clients} acks/s={rate:.0} p50={} ms p99={} ms server cpu {} s, loadgen cpu {:.0}%, others on server core {}%, on loadgen core {}% (errors {errors}, failed {failed})",
            p50.map_or("?".into(), |v| v.to_string()),
            p99.map_or("?".into(), |v| v.to_string()),
            server_cpu.map_or("?".into(), |v| format!("{v:.2}")),
            100.0 * me_cpu / wall,
            others.map_or("?".into(), |v| v.to_string()),
            load_others.map_or("?".into(), |v| v.to_string()),
        ),
    );
    Ok(())
}

// --------------------------------------------------------------------- fanout

/// What the senders do now.
#[derive(Clone, Copy, Debug)]
struct Phase {
    /// Index into `FanStats::phases`, while sending.
    active: Option<usize>,
    /// Messages per second, per room.
    rate: f64,
    stop: bool,
}

#[derive(Default)]
struct PhaseStats {
    start_us: u64,
    end_us: u64,
    sent: u64,
    lat: Vec<u32>,
}

#[derive(Default)]
struct FanStats {
    phases: Vec<PhaseStats>,
    /// Deliveries seen at all (for quiescence checks).
    received: u64,
    unattributed: u64,
}

impl FanStats {
    fn record(&mut self, ts: u64, now: u64) {
        self.received += 1;
        let lat = now.saturating_sub(ts).min(u32::MAX as u64) as u32;
        match self
            .phases
            .iter_mut()
            .rev()
            .find(|p| ts >= p.start_us && ts <= p.end_us)
        {
            Some(p) => p.lat.push(lat),
            None => self.unattributed += 1,
        }
    }
}

/// A room's sender (also one of its members): sends `chat` at the phase's
/// rate and records the deliveries it gets back.
async fn fan_sender(
    mut ws: Ws,
    room: usize,
    text: Rc<str>,
    mut phase_rx: watch::Receiver<Phase>,
    stats: Rc<RefCell<FanStats>>,
    stagger: f64,
) -> Result<(), Error> {
    let mut ticker: Option<tokio::time::Interval> = None;
    let mut id = 1_000_000u64; // clear of the join ack id
    let mut phase = *phase_rx.borrow();
    loop {
        tokio::select! {
            msg = ws.next() => match msg {
                Some(Ok(Message::Text(t))) => match classify(t.as_str()) {
                    Incoming::Chat(Some(ts)) => stats.borrow_mut().record(ts, now_us()),
                    Incoming::Ping => ws.send(Message::text("3")).await?,
                    Incoming::Close => return Err("server closed the session".into()),
                    _ => {}
                },
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.into()),
                None => return Err("connection closed".into()),
            },
            _ = async { ticker.as_mut().expect("guarded").tick().await }, if ticker.is_some() => {
                if let Some(idx) = phase.active {
                    id += 1;
                    let ts = now_us();
                    let msg = event(id, "chat", &format!(
                        "{{\"room\":\"room-{room}\",\"text\":\"{text}\",\"ts\":{ts}}}"
                    ));
                    ws.send(Message::text(msg)).await?;
                    stats.borrow_mut().phases[idx].sent += 1;
                }
            },
            changed = phase_rx.changed() => {
                if changed.is_err() { break; }
                phase = *phase_rx.borrow_and_update();
                if phase.stop { break; }
                ticker = match phase.active {
                    Some(_) => {
                        let period = Duration::from_secs_f64(1.0 / phase.rate);
                        let first = tokio::time::Instant::now() + period.mul_f64(stagger);
                        let mut t = tokio::time::interval_at(first, period);
                        t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
                        Some(t)
                    }
                    None => None,
                };
            }
        }
    }
    proto::close_ws(ws).await;
    Ok(())
}

/// A room's other members: record each delivery, answer pings, until the
/// load generator stops.
async fn fan_listener(
    mut ws: RawWs,
    mut phase_rx: watch::Receiver<Phase>,
    stats: Rc<RefCell<FanStats>>,
) -> Result<(), Error> {
    let mut pings = 0;
    let mut closed = false;
    loop {
        tokio::select! {
            read = ws.read(|frame| match frame {
                RawFrame::Text(text) => match classify(text) {
                    Incoming::Chat(Some(ts)) => stats.borrow_mut().record(ts, now_us()),
                    Incoming::Ping => pings += 1,
                    Incoming::Close => closed = true,
                    _ => {}
                },
                RawFrame::Close => closed = true,
                RawFrame::Ping | RawFrame::Other => {}
            }) => read?,
            changed = phase_rx.changed() => {
                if changed.is_err() || phase_rx.borrow_and_update().stop {
                    let _ = ws.send_text("1").await;
                    return Ok(());
                }
            }
        }
        if closed {
            return Err("server closed the session".into());
        }
        for _ in 0..std::mem::take(&mut pings) {
            ws.send_text("3").await?;
        }
    }
}

/// Joins `room` and waits for the ack.
async fn join(ws: &mut Ws, room: usize) -> Result<(), Error> {
    ws.send(Message::text(event(1, "join", &format!("\"room-{room}\""))))
        .await?;
    loop {
        let t = tokio::time::timeout(Duration::from_secs(30), proto::next_text(ws))
            .await
            .map_err(|_| Error::from("no join ack within 30 s"))??;
        match classify(&t) {
            Incoming::Ack(1) => return Ok(()),
            Incoming::Ping => ws.send(Message::text("3")).await?,
            _ => {}
        }
    }
}

async fn fanout(opts: &Opts) -> Result<(), Error> {
    let c = Common::new(opts)?;
    let rooms: usize = opts.get("rooms", 10)?;
    let members: usize = opts.get("members", 100)?;
    let rate_start: f64 = opts.get("rate-start", 20.0)?;
    let rate_factor: f64 = opts.get("rate-factor", 2.0)?;
    let rate_max: f64 = opts.get("rate-max", 5000.0)?;
    let step_secs: f64 = opts.get("step-secs", 4.0)?;
    let p99_limit: f64 = opts.get("p99-ms", 50.0)?;
    let refine: usize = opts.get("refine", 1)?;
    let text: Rc<str> = "t".repeat(opts.get("text", 32)?).into();
    let n = rooms * members;
    // With a second node, clients alternate between the two: every room
    // has members on both, its sender (index 0) on the first.
    let scenario = if c.target2.is_some() {
        "cluster-fanout"
    } else {
        "fanout"
    };
    let target_of = |i: usize| match &c.target2 {
        Some(second) if i % 2 == 1 => second.clone(),
        _ => c.target.clone(),
    };

    let (sessions, failed, first_error) = open_many(target_of, n, 256, 0).await;
    if failed > 0 {
        return Err(format!("{failed} of {n} clients failed to connect: {first_error:?}").into());
    }
    let mut sessions: Vec<Ws> = sessions.into_iter().flatten().collect();
    // Join, a room's members in a row; all joins in flight at once.
    let joins: Vec<_> = sessions
        .drain(..)
        .enumerate()
        .map(|(i, mut ws)| {
            spawn_local(async move {
                join(&mut ws, i / members).await?;
                Ok::<Ws, Error>(ws)
            })
        })
        .collect();
    let mut joined = Vec::with_capacity(n);
    for j in joins {
        joined.push(j.await.map_err(|e| e.to_string())??);
    }

    let stats = Rc::new(RefCell::new(FanStats::default()));
    let (phase_tx, phase_rx) = watch::channel(Phase {
        active: None,
        rate: 0.0,
        stop: false,
    });
    let mut members_tasks = Vec::with_capacity(n);
    for (i, ws) in joined.into_iter().enumerate() {
        let room = i / members;
        members_tasks.push(if i % members == 0 {
            spawn_local(fan_sender(
                ws,
                room,
                text.clone(),
                phase_rx.clone(),
                stats.clone(),
                room as f64 / rooms as f64,
            ))
        } else {
            spawn_local(fan_listener(
                RawWs::from_ws(ws),
                phase_rx.clone(),
                stats.clone(),
            ))
        });
    }

    let mut steps: Vec<Value> = Vec::new();
    let mut best: Option<Value> = None;
    let (mut pass_rate, mut fail_rate): (Option<f64>, Option<f64>) = (None, None);
    let mut rate = rate_start;
    let mut refinements = 0;
    let mut retried_rate: Option<f64> = None;
    let total = CpuMeter::start(&c.server_pid);
    loop {
        // Quiet first: nothing still arriving from the step before.
        let quiet_deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let before = stats.borrow().received;
            tokio::time::sleep(Duration::from_millis(300)).await;
            if stats.borrow().received == before || Instant::now() > quiet_deadline {
                break;
            }
        }
        let idx = {
            let mut s = stats.borrow_mut();
            s.phases.push(PhaseStats {
                start_us: now_us(),
                end_us: u64::MAX,
                ..Default::default()
            });
            s.phases.len() - 1
        };
        let meter = CpuMeter::start(&c.server_pid);
        let _ = phase_tx.send(Phase {
            active: Some(idx),
            rate,
            stop: false,
        });
        tokio::time::sleep(Duration::from_secs_f64(step_secs)).await;
        let _ = phase_tx.send(Phase {
            active: None,
            rate,
            stop: false,
        });
        let (wall, server_cpu, me_cpu) = meter.read();
        let others = meter.others_pct();
        let load_others = meter.load_others_pct();
        stats.borrow_mut().phases[idx].end_us = now_us();
        // Drain: wait until every delivery of this step is in, or until the
        // missing ones are late enough to fail the p99 anyway.
        let drain_deadline =
            Instant::now() + Duration::from_secs_f64((p99_limit / 1000.0) * 4.0 + 1.0);
        loop {
            let (got, expected) = {
                let s = stats.borrow();
                (
                    s.phases[idx].lat.len() as u64,
                    s.phases[idx].sent * members as u64,
                )
            };
            if got >= expected || Instant::now() > drain_deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let (sent, mut lat) = {
            let s = stats.borrow();
            (s.phases[idx].sent, s.phases[idx].lat.clone())
        };
        lat.sort_unstable();
        let expected = sent * members as u64;
        let delivered = lat.len() as u64;
        // Missing deliveries count as later than anything received.
        let p99_idx = ((0.99 * expected as f64).ceil() as usize).max(1) - 1;
        let p99 = lat.get(p99_idx).map(|&us| round(us as f64 / 1000.0, 3));
        let p50_idx = ((0.5 * expected as f64).ceil() as usize).max(1) - 1;
        let p50 = lat.get(p50_idx).map(|&us| round(us as f64 / 1000.0, 3));
        let pass = expected > 0 && p99.is_some_and(|p| p <= p99_limit);
        let dps = delivered as f64 / wall;
        let step = json!({
            "rate_per_room": round(rate, 2),
            "offered_deliveries_per_sec": round(rate * (rooms * members) as f64, 0),
            "sent": sent,
            "expected": expected,
            "delivered": delivered,
            "deliveries_per_sec": round(dps, 1),
            "p50_ms": p50,
            "p99_ms": p99,
            "pass": pass,
            "server_cpu_secs": server_cpu.map(|s| round(s, 2)),
            "server_cpu_pct": server_cpu.map(|s| round(100.0 * s / wall, 1)),
            "server_cpu_us_per_delivery": server_cpu.map(|s| round(s * 1e6 / delivered.max(1) as f64, 3)),
            "loadgen_cpu_pct": round(100.0 * me_cpu / wall, 1),
            "server_core_others_pct": others,
            "load_core_others_pct": load_others,
        });
        eprintln!(
            "[{}] {scenario} step rate/room={rate:.1} offered={:.0}/s delivered={dps:.0}/s p50={} p99={} ms server cpu {} loadgen cpu {:.0}% others {}%/{}% {}",
            c.server,
            rate * (rooms * members) as f64,
            p50.map_or("-".into(), |v| v.to_string()),
            p99.map_or(">limit (missing)".into(), |v| v.to_string()),
            server_cpu.map_or("?".into(), |s| format!("{:.0}%", 100.0 * s / wall)),
            100.0 * me_cpu / wall,
            others.map_or("?".into(), |v| v.to_string()),
            load_others.map_or("?".into(), |v| v.to_string()),
            if pass { "PASS" } else { "FAIL" },
        );
        steps.push(step.clone());
        // A failure is confirmed by running the same rate once more: on a
        // shared machine one bad step can be someone else's build.
        if !pass && retried_rate != Some(rate) {
            retried_rate = Some(rate);
            continue;
        }
        if pass {
            if best
                .as_ref()
                .is_none_or(|b| b["rate_per_room"].as_f64() < Some(rate))
            {
                best = Some(step);
            }
            pass_rate = Some(pass_rate.map_or(rate, |p: f64| p.max(rate)));
        } else {
            fail_rate = Some(fail_rate.map_or(rate, |f: f64| f.min(rate)));
        }
        // Next rate: multiply until the first failure (divide while nothing
        // has passed yet), then bisect geometrically `refine` times.
        rate = match (pass_rate, fail_rate) {
            (_, None) => rate * rate_factor,
            (None, Some(f)) => {
                if f / rate_factor < rate_start / 16.0 {
                    break;
                }
                f / rate_factor
            }
            (Some(p), Some(f)) => {
                if refinements >= refine || f / p < 1.1 {
                    break;
                }
                refinements += 1;
                (p * f).sqrt()
            }
        };
        if rate > rate_max {
            break;
        }
    }
    let (total_wall, total_server, total_me) = total.read();
    let total_others = total.others_pct();
    let total_load_others = total.load_others_pct();
    let _ = phase_tx.send(Phase {
        active: None,
        rate: 0.0,
        stop: true,
    });
    let mut errors = 0;
    for t in members_tasks {
        if !matches!(
            tokio::time::timeout(Duration::from_secs(5), t).await,
            Ok(Ok(Ok(())))
        ) {
            errors += 1;
        }
    }
    let b = best.clone().unwrap_or(Value::Null);
    c.emit(
        json!({
            "scenario": scenario,
            "rooms": rooms,
            "members": members,
            "step_secs": step_secs,
            "p99_limit_ms": p99_limit,
            "best_rate_per_room": b["rate_per_room"],
            "best_deliveries_per_sec": b["deliveries_per_sec"],
            "best_p50_ms": b["p50_ms"],
            "best_p99_ms": b["p99_ms"],
            "best_server_cpu_us_per_delivery": b["server_cpu_us_per_delivery"],
            "best_loadgen_cpu_pct": b["loadgen_cpu_pct"],
            "best_server_core_others_pct": b["server_core_others_pct"],
            "server_core_others_pct": total_others,
            "load_core_others_pct": total_load_others,
            "best_load_core_others_pct": b["load_core_others_pct"],
            "first_fail_rate_per_room": fail_rate,
            "broadcasts": steps.iter().filter_map(|s| s["sent"].as_u64()).sum::<u64>(),
            "steps": steps,
            "errors": errors,
            "unattributed": stats.borrow().unattributed,
            "server_cpu_secs": total_server.map(|s| round(s, 2)),
            "loadgen_cpu_secs": round(total_me, 2),
            "loadgen_cpu_pct": round(100.0 * total_me / total_wall, 1),
        }),
        format!(
            "{scenario} rooms={rooms} members={members}: best rate/room={} deliveries/s={} p99={} ms (first failing rate/room {})",
            b["rate_per_room"], b["deliveries_per_sec"], b["p99_ms"],
            fail_rate.map_or("none".into(), |f| format!("{f:.1}")),
        ),
    );
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(scenario) = args.first().cloned() else {
        eprintln!(
            "usage: loadgen connections|echo|fanout|polling|chat|disk|report [--key value]..."
        );
        std::process::exit(2);
    };
    if scenario == "report" {
        let code = match report::run(&args[1..]) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("report: {e}");
                1
            }
        };
        std::process::exit(code);
    }
    let opts = match Opts::parse(&args[1..]) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("loadgen: {e}");
            std::process::exit(2);
        }
    };
    now_us();
    let _ = SERVER_CORE.set(
        opts.get("server-core", usize::MAX)
            .ok()
            .filter(|&c| c != usize::MAX),
    );
    let _ = LOAD_CORE.set(
        opts.get("load-core", usize::MAX)
            .ok()
            .filter(|&c| c != usize::MAX),
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let local = tokio::task::LocalSet::new();
    // Every scenario is bounded; this is the backstop.
    let limit: f64 = opts.get("max-secs", 600.0).unwrap_or(600.0);
    let result = local.block_on(&rt, async {
        let run = async {
            match scenario.as_str() {
                "connections" => connections(&opts).await,
                "echo" => echo(&opts, false).await,
                "polling" => echo(&opts, true).await,
                "fanout" => fanout(&opts).await,
                "chat" => chat::run(&opts).await,
                "disk" => disk::run(&opts),
                other => Err(format!("unknown scenario {other:?}").into()),
            }
        };
        match tokio::time::timeout(Duration::from_secs_f64(limit), run).await {
            Ok(r) => r,
            Err(_) => Err(format!("scenario exceeded --max-secs {limit}").into()),
        }
    });
    if let Err(e) = result {
        eprintln!("loadgen {scenario}: {e}");
        println!(
            "RESULT {}",
            json!({"scenario": scenario, "server": opts.str("server", "server"), "error": e.to_string()})
        );
        std::process::exit(1);
    }
}
