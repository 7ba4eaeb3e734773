//! What in a configuration would stop the appliance or make it misbehave,
//! each problem naming its key so that the operator knows what to fix:
//! `confab check` prints them all; `confab` refuses to start on any of them
//! before it binds its port.
//!
//! Nothing here writes: the data directory is checked for access, not made,
//! and a token secret the appliance would make is not saved.

use std::net::{TcpListener, ToSocketAddrs};
use std::path::Path;

use crate::appliance::config::Config;
use crate::appliance::data_dir::{self, SecretError};
use crate::appliance::identity::{IdentityConfig, Verifier};

/// One thing to fix: `key: what is wrong`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem(String);

impl Problem {
    fn new(key: &str, problem: impl std::fmt::Display) -> Problem {
        Problem(format!("{key}: {problem}"))
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Problems found before start-up, one a line.
#[derive(Debug, thiserror::Error)]
#[error("{}", .0.iter().map(Problem::to_string).collect::<Vec<_>>().join("\n"))]
pub struct Problems(pub Vec<Problem>);

/// Everything but the port: values, URLs, the data directory, the
/// identity's keys and secret, the chat's options.
pub fn settings(config: &Config) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (key, value) in [("path", &config.path), ("api.prefix", &config.api.prefix)] {
        if !value.starts_with('/') {
            problems.push(Problem::new(key, format!("{value:?} must start with /")));
        }
    }
    for (key, value) in [
        ("ping_interval_ms", config.ping_interval_ms),
        ("ping_timeout_ms", config.ping_timeout_ms),
        ("connect_timeout_ms", config.connect_timeout_ms),
        ("max_payload", config.max_payload as u64),
        ("auth.timeout_ms", config.auth.timeout_ms),
        ("auth.ping_interval_ms", config.auth.ping_interval_ms),
        (
            "recovery.max_disconnection_duration_ms",
            config.recovery.max_disconnection_duration_ms,
        ),
        (
            "recovery.max_missed_bytes",
            config.recovery.max_missed_bytes as u64,
        ),
    ] {
        if value == 0 {
            problems.push(Problem::new(key, "must be at least 1"));
        }
    }
    // A recovered socket's missed events are written at once: more than
    // the outbound queue takes would cut the connection they recovered.
    if config.recovery.enabled && config.recovery.max_missed_bytes > config.max_buffered_bytes {
        problems.push(Problem::new(
            "recovery.max_missed_bytes",
            format!(
                "{} is more than max_buffered_bytes ({}): a recovered socket's replay would be cut",
                config.recovery.max_missed_bytes, config.max_buffered_bytes
            ),
        ));
    }
    problems.extend(
        config
            .cors_origins
            .iter()
            .filter(|origin| *origin != "*")
            .filter_map(|origin| origin_problem(origin))
            .map(|problem| Problem::new("cors_origins", problem)),
    );
    let data_dir = data_dir_problem(&config.data_dir);
    // A secret that cannot be read in a data directory that is already
    // refused is the same problem.
    let identity = match config.clone().with_existing_data_secret() {
        Ok(resolved) => Ok(resolved.identity),
        // The server makes it on first start, and checking writes nothing:
        // the other identity settings are checked with a secret made here.
        Err(SecretError::Missing(_)) => data_dir::random_secret()
            .map(|secret| IdentityConfig {
                secret,
                ..config.identity.clone()
            })
            .map_err(|err| err.to_string()),
        Err(err) => Err(err.to_string()),
    };
    match identity {
        Ok(identity) => {
            if let Err(err) = Verifier::from_config(&identity) {
                problems.push(Problem(err.to_string()));
            }
        }
        Err(err) if data_dir.is_none() => problems.push(Problem(err)),
        Err(_) => {}
    }
    problems.extend(data_dir);
    if config.chat.enabled
        && let Err(err) = config.chat.check()
    {
        problems.push(Problem(err.to_string()));
    }
    if config.admin.enabled
        && let Err(err) = config.admin.check()
    {
        problems.push(Problem(err.to_string()));
    }
    if config.metrics.enabled
        && let Err(err) = config.metrics.check()
    {
        problems.push(Problem(err.to_string()));
    }
    if let Err(err) = config.adapter.check() {
        problems.push(Problem(err.to_string()));
    }
    problems
}

/// The listen address: `host` resolves, and `port` is free to bind there
/// (bound and released at once; port 0 always is).
pub fn port(config: &Config) -> Option<Problem> {
    TcpListener::bind((config.host.as_str(), config.port))
        .err()
        .map(|err| bind_problem(config, &err))
}

/// What a failure to listen on `host:port` means to the operator.
pub fn bind_problem(config: &Config, err: &std::io::Error) -> Problem {
    let (host, port) = (config.host.as_str(), config.port);
    if (host, port).to_socket_addrs().is_err() {
        return Problem::new("host", format!("{host:?} is not an address: {err}"));
    }
    match err.kind() {
        std::io::ErrorKind::AddrInUse => Problem::new(
            "port",
            format!("{host}:{port} is in use by another process: stop it, or choose another port"),
        ),
        std::io::ErrorKind::PermissionDenied => Problem::new(
            "port",
            format!(
                "{host}:{port} needs privileges: choose a port from 1024, \
                 or grant CAP_NET_BIND_SERVICE"
            ),
        ),
        std::io::ErrorKind::AddrNotAvailable => Problem::new(
            "host",
            format!("{host} is not an address of this machine: {err}"),
        ),
        _ => Problem::new("port", format!("cannot listen on {host}:{port}: {err}")),
    }
}

/// A browser's `Origin` is `scheme://host[:port]`: anything else (a path,
/// a trailing slash, no scheme) never matches one.
fn origin_problem(origin: &str) -> Option<String> {
    let valid = origin.parse::<actix_web::http::Uri>().is_ok_and(|uri| {
        uri.scheme().is_some()
            && uri.authority().is_some()
            && uri.query().is_none()
            && !origin.ends_with('/')
    });
    (!valid).then(|| format!("{origin:?} is not an origin (scheme://host[:port], no path)"))
}

/// The data directory is a directory confab may write in, or can be made
/// in the nearest directory above it that exists.
fn data_dir_problem(dir: &Path) -> Option<Problem> {
    let existing = dir.ancestors().find(|p| p.exists())?;
    let problem = if !existing.is_dir() {
        format!("{} is not a directory", existing.display())
    } else if !writable(existing) {
        match existing == dir {
            true => format!("{} is not writable by this user", dir.display()),
            false => format!(
                "{} does not exist and cannot be made: {} is not writable by this user",
                dir.display(),
                existing.display()
            ),
        }
    } else {
        return None;
    };
    Some(Problem::new("data_dir", problem))
}

/// The process may create entries in `dir` (a read-only file system counts
/// as not writable; root may write anywhere else).
fn writable(dir: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(path) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: `path` is a NUL-terminated string that outlives the call;
    // access(2) only reads it.
    unsafe { libc::access(path.as_ptr(), libc::W_OK | libc::X_OK) == 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(edit: impl FnOnce(&mut Config)) -> Vec<String> {
        let dir = std::env::temp_dir().join(format!("confab-check-unit-{}", std::process::id()));
        let mut config = Config {
            data_dir: dir,
            ..Config::default()
        };
        edit(&mut config);
        settings(&config).iter().map(Problem::to_string).collect()
    }

    #[test]
    fn the_defaults_pass() {
        assert_eq!(problems(|_| {}), Vec::<String>::new());
    }

    #[test]
    fn each_problem_names_its_key() {
        let found = problems(|c| {
            c.path = "socket.io".into();
            c.ping_interval_ms = 0;
            c.cors_origins = vec![
                "*".into(),
                "https://ok.example:8443".into(),
                "https://a/".into(),
            ];
            c.identity.leeway_secs = 1_000_000;
            c.chat.push_webhook = Some("ftp://x".into());
            c.admin.enabled = true;
            c.admin.password_hash = "hunter2".into();
            c.metrics.path = "metrics".into();
            c.adapter.kind = Some(confab_redis::AdapterKind::Redis);
        });
        let keys: Vec<&str> = found.iter().map(|p| p.split(':').next().unwrap()).collect();
        assert_eq!(
            keys,
            [
                "path",
                "ping_interval_ms",
                "cors_origins",
                "identity.leeway_secs",
                "chat.push_webhook",
                "admin.password_hash",
                "metrics.path",
                "adapter.url"
            ],
            "{found:#?}"
        );
        assert!(found[2].contains("\"https://a/\""), "{}", found[2]);
    }

    #[test]
    fn a_recovery_budget_past_the_outbound_queue_is_refused() {
        let found = problems(|c| {
            c.recovery.enabled = true;
            c.recovery.max_missed_bytes = c.max_buffered_bytes + 1;
        });
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("recovery.max_missed_bytes: "),
            "{}",
            found[0]
        );
        let zero = problems(|c| c.recovery.max_disconnection_duration_ms = 0);
        assert_eq!(
            zero,
            vec!["recovery.max_disconnection_duration_ms: must be at least 1".to_owned()]
        );
    }

    #[test]
    fn a_data_dir_under_a_file_is_refused() {
        let file = std::env::temp_dir().join(format!("confab-check-file-{}", std::process::id()));
        std::fs::write(&file, "").unwrap();
        let found = problems(|c| c.data_dir = file.join("data"));
        std::fs::remove_file(&file).unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with("data_dir: "), "{}", found[0]);
        assert!(found[0].contains("is not a directory"), "{}", found[0]);
    }

    #[test]
    fn a_port_in_use_is_named() {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let config = Config {
            host: "127.0.0.1".into(),
            port: taken.local_addr().unwrap().port(),
            ..Config::default()
        };
        let problem = port(&config).unwrap().to_string();
        assert!(problem.starts_with("port: "), "{problem}");
        assert!(
            problem.contains(&format!(":{} is in use", config.port)),
            "{problem}"
        );
        drop(taken);
        assert_eq!(port(&config), None);
    }
}
