//! The appliance's configuration: defaults, then a TOML file, then
//! `CONFAB_*` environment variables, each overriding the one before.

use std::path::{Path, PathBuf};
use std::time::Duration;

use confab_actors::EngineConfig;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Deserializer, Serialize};

/// Everything `confab` reads at start-up.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub host: String,
    pub port: u16,
    /// Engine.IO path (`/socket.io/` like the Node server; `/realtime` works).
    pub path: String,
    /// Where confab keeps its state (the sled database, uploads).
    pub data_dir: PathBuf,
    pub ping_interval_ms: u64,
    pub ping_timeout_ms: u64,
    pub connect_timeout_ms: u64,
    /// Largest message or polling body a client may send, in bytes.
    pub max_payload: usize,
    /// Origins allowed by CORS: a list, or `*` for any. Empty: no CORS headers.
    #[serde(deserialize_with = "list_or_csv")]
    pub cors_origins: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        let engine = EngineConfig::default();
        Config {
            host: "0.0.0.0".into(),
            port: 3000,
            path: "/socket.io/".into(),
            data_dir: PathBuf::from("./data"),
            ping_interval_ms: engine.ping_interval.as_millis() as u64,
            ping_timeout_ms: engine.ping_timeout.as_millis() as u64,
            connect_timeout_ms: engine.connect_timeout.as_millis() as u64,
            max_payload: engine.max_payload,
            cors_origins: Vec::new(),
        }
    }
}

/// Why the configuration could not be read.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(#[from] Box<figment::Error>);

impl Config {
    /// Defaults, then `file` if given, then the environment.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            figment = figment.merge(Toml::file_exact(file));
        }
        figment
            .merge(Env::prefixed("CONFAB_"))
            .extract()
            .map_err(|e| ConfigError(Box::new(e)))
    }

    /// The engine's part of the configuration.
    pub fn engine(&self) -> EngineConfig {
        EngineConfig {
            ping_interval: Duration::from_millis(self.ping_interval_ms),
            ping_timeout: Duration::from_millis(self.ping_timeout_ms),
            connect_timeout: Duration::from_millis(self.connect_timeout_ms),
            max_payload: self.max_payload,
            ..EngineConfig::default()
        }
    }
}

/// Accepts `["a", "b"]` (file) or `"a,b"` (environment).
fn list_or_csv<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum ListOrCsv {
        List(Vec<String>),
        Csv(String),
    }
    Ok(match ListOrCsv::deserialize(deserializer)? {
        ListOrCsv::List(list) => list,
        ListOrCsv::Csv(csv) => csv
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
    })
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment's Jail API returns its large error
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_node_server() {
        figment::Jail::expect_with(|_| {
            let config = Config::load(None).unwrap();
            assert_eq!((config.port, config.path.as_str()), (3000, "/socket.io/"));
            assert_eq!(
                (
                    config.ping_interval_ms,
                    config.ping_timeout_ms,
                    config.max_payload
                ),
                (25000, 20000, 1_000_000)
            );
            assert_eq!(config.connect_timeout_ms, 45000);
            Ok(())
        });
    }

    #[test]
    fn environment_overrides_file() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "confab.toml",
                "port = 4000\npath = \"/realtime\"\ncors_origins = [\"http://a\"]",
            )?;
            jail.set_env("CONFAB_PORT", "5000");
            jail.set_env("CONFAB_CORS_ORIGINS", "http://b, http://c");
            let config = Config::load(Some(Path::new("confab.toml"))).unwrap();
            assert_eq!(config.port, 5000);
            assert_eq!(config.path, "/realtime");
            assert_eq!(config.cors_origins, vec!["http://b", "http://c"]);
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_are_refused() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("bad.toml", "prot = 1")?;
            assert!(Config::load(Some(Path::new("bad.toml"))).is_err());
            Ok(())
        });
    }
}
