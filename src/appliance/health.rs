//! Liveness and readiness, for load balancers, orchestrators and the
//! container's `HEALTHCHECK` (`confab health`).
//!
//! - `GET /api/health` (liveness): the process answers HTTP. Restart it
//!   when this fails.
//! - `GET /api/ready` (readiness): the data store answers a read too. Send
//!   it no traffic while this fails.
//!
//! Both are cheap: no lock, no write, one sled read of an absent key. They
//! stay at these paths whatever `api.prefix` is, and need no credentials.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::appliance::config::Config;

pub const LIVENESS: &str = "/api/health";
pub const READINESS: &str = "/api/ready";

/// A key no service writes: reading it goes through sled's tree and pages.
const PROBE_KEY: &[u8] = b"confab:readiness";

/// Mounts both routes; `db` is the appliance's database.
pub fn configure(db: sled::Db) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(web::Data::new(db))
            .route(LIVENESS, web::get().to(live))
            .route(READINESS, web::get().to(ready));
    }
}

async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "ok": true }))
}

async fn ready(db: web::Data<sled::Db>) -> HttpResponse {
    match db.get(PROBE_KEY) {
        Ok(_) => HttpResponse::Ok().json(json!({ "ready": true })),
        Err(err) => {
            tracing::error!(%err, "readiness: the data store does not answer");
            HttpResponse::ServiceUnavailable()
                .json(json!({ "ready": false, "error": "data store unavailable" }))
        }
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
