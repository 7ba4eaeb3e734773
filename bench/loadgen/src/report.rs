//! `loadgen report FILE.jsonl [--reference confab]`: the side-by-side table
//! of one run, as Markdown, with ratios reference/peer.
//!
//! The file holds the `RESULT` lines of the scenarios (prefix stripped),
//! plus what `run.sh` adds: `{"scenario":"server", ...}` lines with each
//! server process's CPU seconds and peak RSS per scenario run,
//! `{"scenario":"redis", ...}` lines with what Redis counted during each
//! cross-node fan-out run, and one `{"scenario":"meta", ...}` line.

use serde_json::Value;

use crate::proto::Error;

struct Metric {
    label: String,
    /// Higher is better (for the mark next to the ratio); `None`: no
    /// ratio (context lines: load generator, other processes).
    higher_better: Option<bool>,
    values: Vec<(String, Option<f64>)>,
}

pub fn run(args: &[String]) -> Result<(), Error> {
    let path = args.first().ok_or("report needs a results file")?;
    let reference = match args.get(1).map(String::as_str) {
        Some("--reference") => args.get(2).cloned().ok_or("--reference needs a name")?,
        _ => "confab".to_owned(),
    };
    let text = std::fs::read_to_string(path)?;
    let records: Vec<Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l.trim().trim_start_matches("RESULT ")).ok())
        .collect();

    let mut servers: Vec<String> = Vec::new();
    for r in &records {
        if let Some(s) = r["server"].as_str()
            && r["scenario"] != "meta"
            && !servers.iter().any(|x| x == s)
        {
            servers.push(s.to_owned());
        }
    }
    // The reference first, then the peers in the order they ran.
    servers.sort_by_key(|s| *s != reference);
    let peers: Vec<&String> = servers.iter().filter(|s| **s != reference).collect();

    // Each run (a scenario, or a connection count) may have been repeated:
    // the repeat with the best primary figure stands for the server (the
    // least disturbed by whatever else the machine was doing), and the
    // server-process line of that same repeat goes with it.
    let label_of = |r: &Value| -> Option<String> {
        match r["scenario"].as_str()? {
            "connections" => Some(format!("connections {}", r["conns"].as_u64()?)),
            "chat" => Some(format!(
                "chat {} {}{}",
                r["mode"].as_str()?,
                r["senders"].as_u64()?,
                if r["variant"] == "strace" {
                    " under strace"
                } else {
                    ""
                }
            )),
            "server" | "meta" | "flushes" | "redis" => None,
            other => Some(other.to_owned()),
        }
    };
    let primary = |r: &Value| -> f64 {
        let key = match r["scenario"].as_str() {
            Some("connections") => "connect_rate",
            Some("fanout" | "cluster-fanout") => "best_deliveries_per_sec",
            Some("disk") => "overwrite_fsync_per_sec",
            _ => "acks_per_sec",
        };
        r[key].as_f64().unwrap_or(-1.0)
    };
    let mut labels: Vec<String> = Vec::new();
    for r in &records {
        if let Some(l) = label_of(r)
            && !labels.contains(&l)
        {
            labels.push(l);
        }
    }
    labels.sort_by_key(|l| match l.split(' ').next() {
        Some("connections") => (
            0,
            l.split(' ')
                .nth(1)
                .and_then(|n| n.parse().ok())
                .unwrap_or(0u64),
        ),
        Some("echo") => (1, 0),
        Some("fanout") => (2, 0),
        Some("cluster-fanout") => (3, 0),
        Some("polling") => (4, 0),
        Some("chat") => (
            if l.contains("group") { 6 } else { 5 },
            l.split(' ')
                .nth(2)
                .and_then(|n| n.parse().ok())
                .unwrap_or(0u64),
        ),
        _ => (7, 0),
    });
    let best = |server: &str, label: &str| -> Option<&Value> {
        records
            .iter()
            .filter(|r| r["server"] == server && label_of(r).as_deref() == Some(label))
            .max_by(|a, b| primary(a).total_cmp(&primary(b)))
    };
    // A line run.sh adds (`server`, `flushes`, `redis`) for the chosen repeat.
    let companion = |kind: &str, server: &str, label: &str| -> Option<&Value> {
        let chosen = best(server, label)?;
        records.iter().find(|r| {
            r["scenario"] == kind
                && r["server"] == server
                && r["run"] == label
                && r["repeat"] == chosen["repeat"]
        })
    };
    let server_line = |server: &str, label: &str| companion("server", server, label);
    let repeats = |label: &str| -> usize {
        servers
            .iter()
            .map(|s| {
                records
                    .iter()
                    .filter(|r| r["server"] == s.as_str() && label_of(r).as_deref() == Some(label))
                    .count()
            })
            .max()
            .unwrap_or(0)
    };

    let mut metrics: Vec<Metric> = Vec::new();
    let mut add =
        |label: String, higher_better: Option<bool>, values: Vec<(String, Option<f64>)>| {
            if values.iter().any(|(_, v)| v.is_some()) {
                metrics.push(Metric {
                    label,
                    higher_better,
                    values,
                });
            }
        };
    let from_best =
        |run: &str, pick: &dyn Fn(&Value) -> Option<f64>| -> Vec<(String, Option<f64>)> {
            servers
                .iter()
                .map(|s| (s.clone(), best(s, run).and_then(pick)))
                .collect()
        };
    let from_server =
        |run: &str, pick: &dyn Fn(&Value) -> Option<f64>| -> Vec<(String, Option<f64>)> {
            servers
                .iter()
                .map(|s| (s.clone(), server_line(s, run).and_then(pick)))
                .collect()
        };
    let f = |key: &'static str| move |r: &Value| r[key].as_f64();
    let mb = |key: &'static str| move |r: &Value| r[key].as_f64().map(|k| k / 1024.0);
    let last_conns = labels
        .iter()
        .rfind(|l| l.starts_with("connections "))
        .cloned();
    for run in &labels {
        let n = repeats(run);
        let t = |what: &str| {
            if n > 1 {
                format!("{run}: {what} (best of {n})")
            } else {
                format!("{run}: {what}")
            }
        };
        match run.split(' ').next().unwrap_or("") {
            "connections" => {
                add(
                    t("idle RSS per connection (bytes)"),
                    Some(false),
                    from_best(run, &f("rss_per_conn_bytes")),
                );
                add(t("connected"), Some(true), from_best(run, &f("ok")));
                add(
                    t("connect rate (/s)"),
                    Some(true),
                    from_best(run, &f("connect_rate")),
                );
                add(
                    t("server RSS with all connected (MB)"),
                    Some(false),
                    from_best(run, &mb("rss_kb")),
                );
                if last_conns.as_deref() == Some(run.as_str()) {
                    add(
                        "projected RSS at 50k connections (MB, baseline + 50k × per connection)"
                            .into(),
                        Some(false),
                        from_best(run, &|r: &Value| {
                            Some(
                                (r["rss_base_kb"].as_f64()? * 1024.0
                                    + r["rss_per_conn_bytes"].as_f64()? * 50_000.0)
                                    / 1048576.0,
                            )
                        }),
                    );
                }
            }
            "echo" | "polling" => {
                for (what, better, key) in ECHO_ROWS.iter().chain(&CONTEXT_ROWS) {
                    add(t(what), *better, from_best(run, &f(key)));
                }
            }
            "fanout" => {
                for (what, better, key) in &FANOUT_ROWS {
                    add(t(what), *better, from_best(run, &f(key)));
                }
            }
            "cluster-fanout" => {
                for (what, better, key) in &FANOUT_ROWS {
                    add(t(what), *better, from_best(run, &f(key)));
                }
                for (what, better, key) in &REDIS_ROWS {
                    add(
                        t(what),
                        *better,
                        servers
                            .iter()
                            .map(|s| (s.clone(), companion("redis", s, run).and_then(f(key))))
                            .collect(),
                    );
                }
            }
            "chat" => {
                for (what, better, key) in &CHAT_ROWS {
                    add(t(what), *better, from_best(run, &f(key)));
                }
                add(
                    t("fsync, fdatasync, sync_file_range calls/s (strace)"),
                    None,
                    servers
                        .iter()
                        .map(|s| {
                            let flushes = companion("flushes", s, run);
                            (s.clone(), flushes.and_then(|r| r["per_sec"].as_f64()))
                        })
                        .collect(),
                );
                for (what, better, key) in &CONTEXT_ROWS {
                    add(t(what), *better, from_best(run, &f(key)));
                }
            }
            "disk" => {
                for (what, better, key) in &DISK_ROWS {
                    add(t(what), *better, from_best(run, &f(key)));
                }
            }
            _ => {}
        }
        add(
            t("server process CPU, whole run (s)"),
            None,
            from_server(run, &f("cpu_secs")),
        );
        add(
            t("server peak RSS, VmHWM (MB)"),
            Some(false),
            from_server(run, &mb("hwm_kb")),
        );
    }

    if let Some(meta) = records.iter().find(|r| r["scenario"] == "meta") {
        for (k, v) in meta.as_object().into_iter().flatten() {
            if k != "scenario" {
                println!("- {k}: {}", v.as_str().map_or(v.to_string(), str::to_owned));
            }
        }
        println!();
    }
    let mut header = format!("| metric | {} |", servers.join(" | "));
    let mut rule = format!("|---|{}", "---:|".repeat(servers.len()));
    for p in &peers {
        header.push_str(&format!(" {reference}/{p} |"));
        rule.push_str("---:|");
    }
    println!("{header}\n{rule}");
    for m in &metrics {
        let mut line = format!("| {} |", m.label);
        for (_, v) in &m.values {
            line.push_str(&format!(" {} |", fmt(*v)));
        }
        let reference_value = m
            .values
            .iter()
            .find(|(s, _)| *s == reference)
            .and_then(|(_, v)| *v);
        for p in &peers {
            let pv = m.values.iter().find(|(s, _)| s == *p).and_then(|(_, v)| *v);
            let cell = match (reference_value, pv, m.higher_better) {
                (Some(a), Some(b), Some(higher_better)) if b != 0.0 => {
                    let ratio = a / b;
                    let better = if higher_better {
                        ratio >= 1.0
                    } else {
                        ratio <= 1.0
                    };
                    format!("{:.2}×{}", ratio, if better { "" } else { " ✗" })
                }
                _ => "–".into(),
            };
            line.push_str(&format!(" {cell} |"));
        }
        println!("{line}");
    }
    println!("\n✗: {reference} is worse than that peer on this line.");
    for r in records.iter().filter(|r| {
        r.get("error").is_some()
            || r["failed"].as_u64().is_some_and(|f| f > 0)
            || r["errors"].as_u64().is_some_and(|e| e > 0)
    }) {
        println!(
            "note: {} {}: error={} failed={} errors={} first_error={}",
            r["server"], r["scenario"], r["error"], r["failed"], r["errors"], r["first_error"]
        );
    }
    Ok(())
}

/// A table row read straight from a run's best repeat: its label, whether
/// higher is better (`None`: context, not compared), and the result field.
type Row = (&'static str, Option<bool>, &'static str);

/// What the load generator cost and what else ran on both cores: the
/// context of every timed run.
const CONTEXT_ROWS: [Row; 3] = [
    ("loadgen CPU (% of its core)", None, "loadgen_cpu_pct"),
    (
        "other processes on server core (%)",
        None,
        "server_core_others_pct",
    ),
    ("… on loadgen core (%)", None, "load_core_others_pct"),
];

const ECHO_ROWS: [Row; 4] = [
    ("acks/s", Some(true), "acks_per_sec"),
    ("p50 (ms)", Some(false), "p50_ms"),
    ("p99 (ms)", Some(false), "p99_ms"),
    (
        "server CPU per ack (µs)",
        Some(false),
        "server_cpu_us_per_ack",
    ),
];

const FANOUT_ROWS: [Row; 9] = [
    (
        "highest rate/room with p99 within limit (msg/s)",
        Some(true),
        "best_rate_per_room",
    ),
    (
        "deliveries/s at that rate",
        Some(true),
        "best_deliveries_per_sec",
    ),
    ("p50 at that rate (ms)", Some(false), "best_p50_ms"),
    ("p99 at that rate (ms)", Some(false), "best_p99_ms"),
    (
        "server CPU per delivery at that rate (µs)",
        Some(false),
        "best_server_cpu_us_per_delivery",
    ),
    (
        "first failing rate/room (msg/s)",
        Some(true),
        "first_fail_rate_per_room",
    ),
    (
        "loadgen CPU at that rate (% of its core)",
        None,
        "best_loadgen_cpu_pct",
    ),
    (
        "other processes on server core (%)",
        None,
        "best_server_core_others_pct",
    ),
    ("… on loadgen core (%)", None, "best_load_core_others_pct"),
];

/// What Redis counted over a whole cross-node fan-out run (`INFO
/// commandstats` and the redis-server process's CPU, read by run.sh).
const REDIS_ROWS: [Row; 3] = [
    (
        "Redis PUBLISH per broadcast",
        Some(false),
        "publish_per_broadcast",
    ),
    (
        "Redis commands per broadcast (all kinds)",
        Some(false),
        "calls_per_broadcast",
    ),
    ("redis-server CPU, whole run (s)", None, "redis_cpu_secs"),
];

/// The chat rows before the strace count; [`CONTEXT_ROWS`] follow it.
const CHAT_ROWS: [Row; 9] = [
    ("acked createMessage/s", Some(true), "acks_per_sec"),
    ("ack p50 (ms)", Some(false), "p50_ms"),
    ("ack p99 (ms)", Some(false), "p99_ms"),
    ("ack p99.9 (ms)", Some(false), "p999_ms"),
    (
        "fan-out: `message` deliveries/s",
        Some(true),
        "deliveries_per_sec",
    ),
    (
        "server CPU per message (µs)",
        Some(false),
        "server_cpu_us_per_ack",
    ),
    ("server CPU (% of its core)", None, "server_cpu_pct"),
    (
        "store flushes/s (confab's flusher, /metrics)",
        None,
        "flushes_per_sec",
    ),
    ("… writers served per flush", None, "writers_per_flush"),
];

const DISK_ROWS: [Row; 4] = [
    (
        "4 KB write + fsync, overwriting (/s)",
        Some(true),
        "overwrite_fsync_per_sec",
    ),
    (
        "4 KB write + fsync, appending (/s)",
        Some(true),
        "append_fsync_per_sec",
    ),
    ("… p50 overwriting (ms)", None, "overwrite_p50_ms"),
    ("… p50 appending (ms)", None, "append_p50_ms"),
];

fn fmt(v: Option<f64>) -> String {
    match v {
        None => "–".into(),
        Some(x) if x.abs() >= 1000.0 => format!("{x:.0}"),
        Some(x) if x.abs() >= 10.0 => format!("{x:.1}"),
        Some(x) => format!("{x:.3}"),
    }
}
