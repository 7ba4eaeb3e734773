//! The physical ceiling of durable writes on a disk: how many `write` of
//! one block followed by `fsync` one thread gets per second, in a file of
//! `--dir` (put it on the disk the server's data directory is on). Two
//! patterns: appending to a growing file (each fsync also commits the new
//! size), and overwriting blocks of a file already written and synced
//! (data only). A server that flushes once per message cannot ack faster
//! than this; one that shares a flush among concurrent writers can.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::proto::Error;
use crate::{Opts, pct_ms, round};

/// Writes + fsyncs for `secs`; their latencies in µs, and the rate.
fn measure(
    secs: f64,
    mut write: impl FnMut(u64) -> std::io::Result<()>,
) -> Result<(Vec<u32>, f64), Error> {
    let start = Instant::now();
    let until = start + Duration::from_secs_f64(secs);
    let mut lat = Vec::new();
    let mut i = 0u64;
    while Instant::now() < until {
        let t = Instant::now();
        write(i)?;
        lat.push(t.elapsed().as_micros().min(u32::MAX as u128) as u32);
        i += 1;
    }
    let rate = lat.len() as f64 / start.elapsed().as_secs_f64();
    lat.sort_unstable();
    Ok((lat, rate))
}

pub fn run(opts: &Opts) -> Result<(), Error> {
    let dir = std::path::PathBuf::from(opts.str("dir", "."));
    let secs: f64 = opts.get("secs", 3.0)?;
    let block: usize = opts.get("block", 4096)?;
    let buf = vec![0x5a_u8; block];

    let append_path = dir.join("loadgen-disk-append");
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(&append_path)?;
    let append = measure(secs, |_| {
        file.write_all(&buf)?;
        file.sync_all()
    });
    std::fs::remove_file(&append_path)?;
    let (append_lat, append_rate) = append?;

    // 1024 blocks written and synced once, then overwritten in turn.
    let over_path = dir.join("loadgen-disk-overwrite");
    let file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(&over_path)?;
    file.write_all_at(&vec![0u8; block * 1024], 0)?;
    file.sync_all()?;
    let over = measure(secs, |i| {
        file.write_all_at(&buf, (i % 1024) * block as u64)?;
        file.sync_all()
    });
    std::fs::remove_file(&over_path)?;
    let (over_lat, over_rate) = over?;

    let result = json!({
        "scenario": "disk",
        "server": opts.str("server", "confab"),
        "repeat": opts.get("repeat", 1)?,
        "dir": dir.display().to_string(),
        "block": block,
        "append_fsync_per_sec": round(append_rate, 1),
        "append_p50_ms": pct_ms(&append_lat, 50.0),
        "append_p99_ms": pct_ms(&append_lat, 99.0),
        "overwrite_fsync_per_sec": round(over_rate, 1),
        "overwrite_p50_ms": pct_ms(&over_lat, 50.0),
        "overwrite_p99_ms": pct_ms(&over_lat, 99.0),
    });
    println!("RESULT {result}");
    eprintln!(
        "[disk] {block} B write + fsync: append {append_rate:.0}/s (p50 {} ms), overwrite {over_rate:.0}/s (p50 {} ms) in {}",
        pct_ms(&append_lat, 50.0).unwrap_or(0.0),
        pct_ms(&over_lat, 50.0).unwrap_or(0.0),
        dir.display()
    );
    Ok(())
}
