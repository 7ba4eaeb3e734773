//! Liveness and readiness, for load balancers, orchestrators and the
//! container's `HEALTHCHECK` (`confab health`).
//!
//! - `GET /api/health` (liveness): the process answers HTTP. Restart it
//!   when this fails.
//! - `GET /api/ready` (readiness): the data store answers a read too and,
//!   on a Redis cluster, the node has joined it (its subscriber connected
//!   with every channel subscribed) at least once. Send it no traffic while
//!   this fails: until it joins, other nodes do not count it and their
//!   broadcasts miss its clients. A node that has joined stays ready
//!   through an outage of Redis (`"cluster": "reconnecting"`): it still
//!   serves its own clients, and taking every node out at once would serve
//!   no one.
//!
//! Both are cheap: no lock, no write, one sled read of an absent key. They
//! stay at these paths whatever `api.prefix` is, and need no credentials.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use actix_web::{HttpResponse, web};
use confab_redis::Membership;
use serde_json::json;

use crate::appliance::config::Config;

pub const LIVENESS: &str = "/api/health";
pub const READINESS: &str = "/api/ready";

/// A key no service writes: reading it goes through sled's tree and pages.
const PROBE_KEY: &[u8] = b"confab:readiness";

/// What readiness checks: the appliance's database, and the node's
/// membership of its Redis cluster, if it has one.
struct Readiness {
    db: sled::Db,
    cluster: Option<Membership>,
}

/// Mounts both routes; `db` is the appliance's database, `cluster` its
/// membership of a Redis cluster ([`crate::Confab::membership`]).
pub fn configure(
    db: sled::Db,
    cluster: Option<Membership>,
) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(web::Data::new(Readiness { db, cluster }))
            .route(LIVENESS, web::get().to(live))
            .route(READINESS, web::get().to(ready));
    }
}

async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "ok": true }))
}

async fn ready(readiness: web::Data<Readiness>) -> HttpResponse {
    if let Err(err) = readiness.db.get(PROBE_KEY) {
        tracing::error!(%err, "readiness: the data store does not answer");
        return HttpResponse::ServiceUnavailable()
            .json(json!({ "ready": false, "error": "data store unavailable" }));
    }
    match &readiness.cluster {
        None => HttpResponse::Ok().json(json!({ "ready": true })),
        Some(cluster) if cluster.has_joined() => {
            let state = match cluster.is_member() {
                true => "joined",
                false => "reconnecting",
            };
            HttpResponse::Ok().json(json!({ "ready": true, "cluster": state }))
        }
        Some(_) => HttpResponse::ServiceUnavailable().json(json!({
            "ready": false,
            "cluster": "joining",
            "error": "not yet subscribed to the cluster's Redis",
        })),
    }
}

/// Why `confab health` found the server not ready.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("no server at {0}: {1}")]
    Unreachable(String, std::io::Error),
    #[error("{0} answered {1:?}")]
    NotReady(String, String),
}

/// Asks the server the configuration describes for [`READINESS`]: on
/// loopback when it listens on every address.
pub fn probe(config: &Config, timeout: Duration) -> Result<(), ProbeError> {
    let host = match config.host.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST).to_string(),
        Ok(IpAddr::V6(ip)) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST).to_string(),
        _ => config.host.clone(),
    };
    let target = format!("{host}:{}", config.port);
    let url = format!("http://{target}{READINESS}");
    let unreachable = |err| ProbeError::Unreachable(target.clone(), err);
    let addr = (host.as_str(), config.port)
        .to_socket_addrs()
        .map_err(unreachable)?
        .next()
        .ok_or_else(|| unreachable(std::io::ErrorKind::AddrNotAvailable.into()))?;
    let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(unreachable)?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(unreachable)?;
    stream
        .set_write_timeout(Some(timeout))
        .map_err(unreachable)?;
    write!(
        stream,
        "GET {READINESS} HTTP/1.0\r\nHost: {target}\r\nConnection: close\r\n\r\n"
    )
    .map_err(unreachable)?;
    let mut answer = String::new();
    // A small answer, then the server closes: read it to the end, bounded.
    stream
        .take(4096)
        .read_to_string(&mut answer)
        .map_err(unreachable)?;
    let status = answer.lines().next().unwrap_or_default();
    match status.split(' ').nth(1) {
        Some("200") => Ok(()),
        _ => Err(ProbeError::NotReady(url, status.to_owned())),
    }
}
