//! Logs to stderr, filtered by `RUST_LOG` (else the given default level),
//! as text for people or as one JSON object a line for log shippers
//! (`log_format`): the one set-up of the `confab` binary and the example
//! servers.
//!
//! Connections are logged under their own target,
//! [`confab_engine::CONNECTIONS`], so that
//! `RUST_LOG=info,confab::connections=off` keeps everything but them.

use serde::{Deserialize, Serialize};
use tracing_subscriber::EnvFilter;

/// How log lines are written (`log_format`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// `2026-11-30T15:04:45Z  INFO target: message key=value`, coloured
    /// on a terminal.
    #[default]
    Text,
    /// `{"timestamp", "level", "target", "fields": {"message", ...}}`.
    Json,
}

pub fn init(default_level: &str, format: LogFormat) {
    let builder = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| default_level.into()))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
