//! Logs to stderr, filtered by `RUST_LOG` (else the given default level):
//! the one set-up of the `confab` binary and the example servers.

use tracing_subscriber::EnvFilter;

pub fn init(default_level: &str) {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| default_level.into()))
        .with_writer(std::io::stderr)
        .init();
}
