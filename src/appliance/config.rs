//! The appliance's configuration: defaults, then a TOML file, then
//! `CONFAB_*` environment variables, each overriding the one before.
//!
//! Nested keys take `__` in the environment: `CONFAB_IDENTITY__SECRET` is
//! `identity.secret`, `CONFAB_IDENTITY__MESSAGES__INVALID` is
//! `identity.messages.invalid`; flat keys keep their single underscores
//! (`CONFAB_CORS_ORIGINS` is `cors_origins`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use confab_engine::{EngineConfig, EventRate, Recovery};
use figment::providers::{Env, Format, Serialized, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};
use serde::{Deserialize, Serialize};

use crate::appliance::admin::AdminConfig;
use confab_chat_contract::ChatConfig;
use confab_redis::AdapterConfig;

use crate::appliance::data_dir::{self, SecretError};
use crate::appliance::identity::{self, IdentityConfig};
use crate::appliance::list_setting::list_or_csv;
use crate::appliance::logging::LogFormat;
use crate::appliance::metrics::MetricsConfig;
use crate::appliance::services::auth::AuthConfig;
use crate::appliance::services::notifications::NotificationsConfig;
use crate::appliance::services::operations::OperationsConfig;
use crate::appliance::services::presence::PresenceConfig;
use crate::appliance::services::relay::RelayRule;
use crate::appliance::services::rooms::RoomsConfig;

/// Everything `confab` reads at start-up.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub host: String,
    pub port: u16,
    /// Engine.IO path (`/socket.io/` like the Node server; `/realtime` works).
    pub path: String,
    /// Serve the realtime endpoint at `path`. `false` (BAASIX's
    /// `SOCKET_ENABLED=false`) leaves only the HTTP routes: the server API
    /// still answers, and the Engine.IO path is a 404.
    pub socket_enabled: bool,
    /// Where confab keeps its state (the sled database, uploads).
    pub data_dir: PathBuf,
    /// Log lines as text, or as JSON objects for log shippers.
    pub log_format: LogFormat,
    pub ping_interval_ms: u64,
    pub ping_timeout_ms: u64,
    pub connect_timeout_ms: u64,
    /// Largest message or polling body a client may send, in bytes.
    pub max_payload: usize,
    /// Bytes queued for one connection before it is cut (a client that
    /// stopped reading).
    pub max_buffered_bytes: usize,
    /// Events a connection may send at once (the rate limit's bucket).
    pub event_rate_burst: u32,
    /// Events per second a connection may keep sending (`0`: no limit).
    pub event_rate_per_sec: u32,
    /// Refused events within 10 s that disconnect the connection.
    pub event_rate_strikes: u32,
    /// Origins allowed by CORS: a list, or `*` for any. Empty: no CORS headers.
    #[serde(deserialize_with = "list_or_csv")]
    pub cors_origins: Vec<String>,
    /// A preset for one of the seed contracts (`seam`, `nickdoc`, `baasix`,
    /// `ignis`): its settings go under the file's and the environment's.
    pub profile: Option<String>,
    /// How tokens are checked (`[identity]`).
    pub identity: IdentityConfig,
    /// When and how sockets authenticate (`[auth]`).
    pub auth: AuthConfig,
    /// Room names and who may join what (`[rooms]`).
    pub rooms: RoomsConfig,
    /// Presence events (`[presence]`).
    pub presence: PresenceConfig,
    /// Events relayed to a room (`[[relays]]`).
    pub relays: Vec<RelayRule>,
    /// The HTTP server API and who may call it (`[api]`).
    pub api: ApiConfig,
    /// Operation progress and `data:changed` (`[operations]`).
    pub operations: OperationsConfig,
    /// Stored notifications and their events (`[notifications]`).
    pub notifications: NotificationsConfig,
    /// The chat service (`[chat]`).
    pub chat: ChatConfig,
    // Request body deadlines ([`crate::appliance::body_deadline`]).
    /// Time every request body has from the end of its headers, before the
    /// minimum rate must keep it going: past it, 408 and the connection
    /// closed. `0`: no deadline.
    pub body_timeout_ms: u64,
    /// Bytes a second that keep a body going: each `body_min_rate` bytes
    /// received extend its deadline by a second. `0`: the deadline is the
    /// whole body's.
    pub body_min_rate: u64,
    /// The Socket.IO admin UI (`[admin]`).
    pub admin: AdminConfig,
    /// Prometheus metrics (`[metrics]`).
    pub metrics: MetricsConfig,
    /// Connection state recovery (`[recovery]`).
    pub recovery: RecoveryConfig,
    /// Where rooms and broadcasts live: this process, or a cluster on
    /// Redis (`[adapter]`).
    pub adapter: AdapterConfig,
}

/// `[recovery]`: Socket.IO's connection state recovery. A client whose
/// connection was lost comes back within the window with the same socket
/// (id, rooms, user) and the events it missed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RecoveryConfig {
    /// Off by default, as in Node: every event then carries an offset.
    pub enabled: bool,
    /// How long a lost socket waits for its client (Node's
    /// `maxDisconnectionDuration`).
    pub max_disconnection_duration_ms: u64,
    /// A recovered socket skips the handshake middlewares (Node's
    /// `skipMiddlewares`): it passed them when it first connected.
    pub skip_middlewares: bool,
    /// Bytes of missed events one lost socket may hold; past it, it is not
    /// recovered and what it held is released.
    pub max_missed_bytes: usize,
}

impl Default for RecoveryConfig {
    fn default() -> Self {
        let engine = Recovery::default();
        RecoveryConfig {
            enabled: engine.enabled,
            max_disconnection_duration_ms: engine.max_disconnection.as_millis() as u64,
            skip_middlewares: engine.skip_middlewares,
            max_missed_bytes: engine.max_missed_bytes,
        }
    }
}

impl RecoveryConfig {
    /// The engine's settings.
    pub fn engine(&self) -> Recovery {
        Recovery {
            enabled: self.enabled,
            max_disconnection: Duration::from_millis(self.max_disconnection_duration_ms),
            skip_middlewares: self.skip_middlewares,
            max_missed_bytes: self.max_missed_bytes,
        }
    }
}

/// `[api]`: the HTTP twin of the server-side API, for backends in other
/// languages.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ApiConfig {
    /// Mount the HTTP API beside the Engine.IO path.
    pub enabled: bool,
    /// Where its routes live (`/api/emit`, `/api/clients`, ...).
    pub prefix: String,
    /// Keys a backend may send as `Authorization: Bearer <key>` or
    /// `X-API-Key: <key>` (a list, or `a,b` in the environment). A token
    /// with the admin role (`identity.admin_role`) is accepted too.
    #[serde(deserialize_with = "list_or_csv")]
    pub keys: Vec<String>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            enabled: true,
            prefix: "/api".into(),
            keys: Vec::new(),
        }
    }
}

/// Debug without the keys.
impl std::fmt::Debug for ApiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiConfig")
            .field("enabled", &self.enabled)
            .field("prefix", &self.prefix)
            .field("keys", &format_args!("({} redacted)", self.keys.len()))
            .finish()
    }
}

impl Default for Config {
    fn default() -> Self {
        let engine = EngineConfig::default();
        Config {
            host: "0.0.0.0".into(),
            port: 3000,
            path: "/socket.io/".into(),
            socket_enabled: true,
            data_dir: PathBuf::from("./data"),
            log_format: LogFormat::Text,
            ping_interval_ms: engine.ping_interval.as_millis() as u64,
            ping_timeout_ms: engine.ping_timeout.as_millis() as u64,
            connect_timeout_ms: engine.connect_timeout.as_millis() as u64,
            max_payload: engine.max_payload,
            max_buffered_bytes: engine.max_buffered_bytes,
            event_rate_burst: engine.event_rate.burst,
            event_rate_per_sec: engine.event_rate.per_second,
            event_rate_strikes: engine.event_rate.strikes,
            cors_origins: Vec::new(),
            profile: None,
            identity: IdentityConfig::default(),
            auth: AuthConfig::default(),
            rooms: RoomsConfig::default(),
            presence: PresenceConfig::default(),
            relays: Vec::new(),
            api: ApiConfig::default(),
            operations: OperationsConfig::default(),
            notifications: NotificationsConfig::default(),
            chat: ChatConfig::default(),
            // Apache's mod_reqtimeout defaults (`body=20,MinRate=500`):
            // 500 B/s is a tenth of the slowest mobile data still in use
            // (2G EDGE, ~5 kB/s), so an honest upload never meets it.
            body_timeout_ms: 20_000,
            body_min_rate: 500,
            admin: AdminConfig::default(),
            metrics: MetricsConfig::default(),
            recovery: RecoveryConfig::default(),
            adapter: AdapterConfig::default(),
        }
    }
}

/// Why the configuration could not be read: one line per problem, each
/// naming the key and where its value came from (the file, or the
/// environment variable).
#[derive(Debug)]
pub struct ConfigError(Box<figment::Error>);

impl std::error::Error for ConfigError {}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, error) in (*self.0).clone().into_iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            let path = &error.path;
            let source = error.metadata.as_ref().map(|m| (m, m.source.as_ref()));
            match source {
                // The file itself (missing, unreadable, not TOML).
                Some((_, Some(figment::Source::File(file)))) if path.is_empty() => {
                    write!(f, "config file {}: {}", file.display(), error.kind)?
                }
                Some((_, Some(figment::Source::File(file)))) => write!(
                    f,
                    "{}: {} (in {})",
                    path.join("."),
                    error.kind,
                    file.display()
                )?,
                Some((metadata, _)) if metadata.name.contains("`CONFAB_`") => write!(
                    f,
                    "{}: {} (from CONFAB_{})",
                    path.join("."),
                    error.kind,
                    path.join("__").to_ascii_uppercase()
                )?,
                _ if path.is_empty() => write!(f, "configuration: {}", error.kind)?,
                _ => write!(f, "{}: {}", path.join("."), error.kind)?,
            }
        }
        Ok(())
    }
}

impl Config {
    /// Defaults, then the profile, then `file` if given, then the
    /// environment (the seeds' own names, then `CONFAB_*`).
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        Config::load_with_profile(file, None)
    }

    /// As [`Config::load`], with `profile` chosen by the caller (the
    /// command line) over any named in the file or environment.
    pub fn load_with_profile(
        file: Option<&Path>,
        profile: Option<&str>,
    ) -> Result<Config, ConfigError> {
        let mut user = Figment::new();
        if let Some(file) = file {
            user = user.merge(Toml::file_exact(file));
        }
        let user = user
            .merge(seed_env())
            .merge(env().filter(|key| !is_text_key(key.as_str())))
            .merge(TextEnv(env().filter(|key| is_text_key(key.as_str()))));
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        let chosen = profile
            .map(str::to_owned)
            .or_else(|| user.extract_inner::<String>("profile").ok());
        if let Some(name) = chosen {
            let preset = preset_named(&name).ok_or_else(|| {
                ConfigError(Box::new(
                    figment::Error::from(format!(
                        "unknown profile `{name}` (known: {})",
                        PROFILES
                            .iter()
                            .map(|(n, _)| *n)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                    .with_path("profile"),
                ))
            })?;
            figment = figment.merge(Toml::string(preset));
        }
        let mut user = user;
        if let Some(profile) = profile {
            user = user.merge(Serialized::default("profile", profile));
        }
        figment
            .merge(user)
            .extract()
            .map_err(|e| ConfigError(Box::new(e)))
    }

    /// With an HMAC algorithm and no secret configured, the appliance keeps
    /// its own: `<data_dir>/jwt-secret`, made on first start, private to its
    /// owner ([`crate::appliance::data_dir`]). Out of the box then, `confab token`
    /// mints what `confab` accepts.
    pub fn with_data_secret(self) -> Result<Config, SecretError> {
        self.data_secret(true)
    }

    /// As [`Config::with_data_secret`], but a missing secret is an error
    /// naming its path, and nothing is created: a tool run from another
    /// directory must not invent a secret the server does not have.
    pub fn with_existing_data_secret(self) -> Result<Config, SecretError> {
        self.data_secret(false)
    }

    fn data_secret(mut self, create: bool) -> Result<Config, SecretError> {
        let hmac = matches!(
            self.identity.algorithm,
            identity::Algorithm::HS256 | identity::Algorithm::HS384 | identity::Algorithm::HS512
        );
        if hmac && self.identity.secret.is_empty() && self.identity.public_key_file.is_none() {
            self.identity.secret = data_dir::secret(&self.data_dir, create)?;
        }
        Ok(self)
    }

    /// The engine's part of the configuration.
    pub fn engine(&self) -> EngineConfig {
        EngineConfig {
            ping_interval: Duration::from_millis(self.ping_interval_ms),
            ping_timeout: Duration::from_millis(self.ping_timeout_ms),
            connect_timeout: Duration::from_millis(self.connect_timeout_ms),
            max_payload: self.max_payload,
            max_buffered_bytes: self.max_buffered_bytes,
            event_rate: EventRate {
                burst: self.event_rate_burst,
                per_second: self.event_rate_per_sec,
                strikes: self.event_rate_strikes,
            },
            recovery: self.recovery.engine(),
            ..EngineConfig::default()
        }
    }
}

/// The profiles, as TOML presets (`profiles/` in the repository).
pub const PROFILES: [(&str, &str); 4] = [
    ("seam", include_str!("../../profiles/seam.toml")),
    ("nickdoc", include_str!("../../profiles/nickdoc.toml")),
    ("baasix", include_str!("../../profiles/baasix.toml")),
    ("ignis", include_str!("../../profiles/ignis.toml")),
];

fn preset_named(name: &str) -> Option<&'static str> {
    PROFILES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, toml)| *toml)
}

/// The environment names the seeds' own deployments use: `SOCKET_PATH`,
/// `SOCKET_ENABLED`, `SOCKET_CORS_ENABLED_ORIGINS`, `CACHE_REDIS_URL`
/// (BAASIX), `FRONTEND_URL` (nick-doc).
fn seed_env() -> Env {
    Env::raw()
        .only(&[
            "socket_path",
            "socket_enabled",
            "socket_cors_enabled_origins",
            "frontend_url",
            "cache_redis_url",
        ])
        .map(|key| {
            // `key` is uncased: these comparisons ignore case.
            if key == "socket_path" {
                "path".into()
            } else if key == "socket_enabled" {
                "socket_enabled".into()
            } else if key == "cache_redis_url" {
                "adapter.url".into()
            } else {
                "cors_origins".into()
            }
        })
}

/// `CONFAB_*` variables, `__` nesting keys. `CONFAB_CONFIG` names the file
/// (read by the command line) and is not a setting.
fn env() -> Env {
    Env::prefixed("CONFAB_").split("__").ignore(&["config"])
}

/// Keys whose environment values are text as given, never parsed as
/// numbers, booleans, lists or tables (secrets, messages, file names).
/// `key` is as the filter sees it: not lower-cased yet.
fn is_text_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key == "api.keys"
        || key == "chat.push_token"
        || key == "adapter.url"
        || key
            .strip_prefix("identity.")
            .is_some_and(|rest| identity::TEXT_KEYS.contains(&rest))
}

/// An [`Env`] provider that keeps every value as a string.
struct TextEnv(Env);

impl Provider for TextEnv {
    fn metadata(&self) -> Metadata {
        self.0.metadata()
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let mut dict = Dict::new();
        for (key, value) in self.0.iter() {
            let nested = figment::util::nest(key.as_str(), Value::from(value));
            if let Some(nested) = nested.into_dict() {
                merge_dicts(&mut dict, nested);
            }
        }
        Ok(Profile::Default.collect(dict))
    }
}

fn merge_dicts(into: &mut Dict, from: Dict) {
    for (key, value) in from {
        match (into.get_mut(&key), value) {
            (Some(Value::Dict(_, existing)), Value::Dict(_, new)) => merge_dicts(existing, new),
            (_, value) => {
                into.insert(key, value);
            }
        }
    }
}

/// The engine's part of the configuration, for the embedding facade.
impl crate::ConfabBuilder {
    /// Settings from the appliance configuration (timings, path, CORS,
    /// adapter).
    pub fn config(self, config: &Config) -> Self {
        self.engine_config(config.engine())
            .path(config.path.clone())
            .cors(crate::CorsPolicy::from_list(&config.cors_origins))
            .adapter(config.adapter.clone())
    }
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
    fn connection_limits_reach_the_engine() {
        figment::Jail::expect_with(|jail| {
            let engine = Config::load(None).unwrap().engine();
            assert_eq!(engine.max_buffered_bytes, 4_000_000);
            assert_eq!(engine.event_rate, EventRate::default());
            jail.set_env("CONFAB_MAX_BUFFERED_BYTES", "123456");
            jail.set_env("CONFAB_EVENT_RATE_BURST", "10");
            jail.set_env("CONFAB_EVENT_RATE_PER_SEC", "0");
            jail.set_env("CONFAB_EVENT_RATE_STRIKES", "3");
            let engine = Config::load(None).unwrap().engine();
            assert_eq!(engine.max_buffered_bytes, 123_456);
            assert_eq!(
                engine.event_rate,
                EventRate {
                    burst: 10,
                    per_second: 0,
                    strikes: 3
                }
            );
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
    fn identity_from_file_and_nested_environment() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "confab.toml",
                "port = 4000\n[identity]\nuser_claim = \"idUser\"\nleeway_secs = 10\n\
                 [identity.messages]\nmissing = \"Token requerido para conectarse\"",
            )?;
            jail.set_env("CONFAB_PORT", "5000");
            jail.set_env("CONFAB_IDENTITY__SECRET", "from-env");
            jail.set_env("CONFAB_IDENTITY__LEEWAY_SECS", "5");
            jail.set_env("CONFAB_IDENTITY__TRUST_QUERY_USER_ID", "true");
            jail.set_env("CONFAB_IDENTITY__ALGORITHM", "HS512");
            jail.set_env(
                "CONFAB_IDENTITY__MESSAGES__INVALID",
                "Token inválido o expirado",
            );
            let config = Config::load(Some(Path::new("confab.toml"))).unwrap();
            let identity = &config.identity;
            assert_eq!(config.port, 5000);
            assert_eq!(identity.secret, "from-env");
            assert_eq!(identity.user_claim, "idUser");
            assert_eq!(identity.leeway_secs, 5);
            assert!(identity.trust_query_user_id);
            assert_eq!(identity.algorithm, jsonwebtoken::Algorithm::HS512);
            assert_eq!(identity.messages.missing, "Token requerido para conectarse");
            assert_eq!(identity.messages.invalid, "Token inválido o expirado");
            Ok(())
        });
    }

    #[test]
    fn text_settings_are_not_parsed_from_the_environment() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("CONFAB_IDENTITY__SECRET", "007");
            jail.set_env("CONFAB_IDENTITY__ISSUER", "true");
            jail.set_env("CONFAB_IDENTITY__AUDIENCE", "[a, b]");
            jail.set_env(
                "CONFAB_IDENTITY__USER_CLAIM",
                "123456789012345678901234567890",
            );
            let identity = Config::load(None).unwrap().identity;
            assert_eq!(identity.secret, "007");
            assert_eq!(identity.issuer.as_deref(), Some("true"));
            assert_eq!(identity.audience.as_deref(), Some("[a, b]"));
            assert_eq!(identity.user_claim, "123456789012345678901234567890");
            Ok(())
        });
    }

    #[test]
    fn the_adapter_from_baasix_cache_redis_url_and_confab_names() {
        use confab_redis::AdapterKind;
        figment::Jail::expect_with(|jail| {
            let adapter = Config::load(None).unwrap().adapter;
            assert_eq!(adapter.effective_kind(), AdapterKind::Local);
            jail.set_env("CACHE_REDIS_URL", "redis://127.0.0.1:6390");
            let adapter = Config::load(None).unwrap().adapter;
            assert_eq!(adapter.url, "redis://127.0.0.1:6390");
            assert_eq!(adapter.effective_kind(), AdapterKind::Redis);
            jail.set_env("CONFAB_ADAPTER__URL", "redis://:123@h:1");
            jail.set_env("CONFAB_ADAPTER__KIND", "local");
            jail.set_env("CONFAB_ADAPTER__REQUEST_TIMEOUT_MS", "250");
            let adapter = Config::load(None).unwrap().adapter;
            assert_eq!(adapter.url, "redis://:123@h:1", "CONFAB_* wins, as text");
            assert_eq!(adapter.effective_kind(), AdapterKind::Local);
            assert_eq!(adapter.request_timeout_ms, 250);
            Ok(())
        });
    }

    #[test]
    fn socket_enabled_from_baasix_name_and_confab_name() {
        figment::Jail::expect_with(|jail| {
            assert!(Config::load(None).unwrap().socket_enabled);
            jail.set_env("SOCKET_ENABLED", "false");
            assert!(!Config::load(None).unwrap().socket_enabled);
            jail.set_env("CONFAB_SOCKET_ENABLED", "true");
            assert!(Config::load(None).unwrap().socket_enabled, "CONFAB_* wins");
            Ok(())
        });
    }

    #[test]
    fn confab_config_names_the_file_not_a_setting() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("c.toml", "port = 4000")?;
            jail.set_env("CONFAB_CONFIG", "c.toml");
            assert_eq!(Config::load(None).unwrap().port, 3000);
            Ok(())
        });
    }

    #[test]
    fn unknown_identity_keys_are_refused() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("bad.toml", "[identity]\nsecrte = \"x\"")?;
            assert!(Config::load(Some(Path::new("bad.toml"))).is_err());
            jail.set_env("CONFAB_IDENTITY__SECRTE", "x");
            assert!(Config::load(None).is_err());
            Ok(())
        });
    }

    #[test]
    fn the_default_config_prints_as_toml() {
        let text = toml::to_string_pretty(&Config::default()).unwrap();
        let back: Config = toml::from_str(&text).unwrap();
        assert_eq!(back, Config::default());
    }

    #[test]
    fn api_keys_from_the_environment_stay_text() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("CONFAB_API__KEYS", "007, k2");
            let config = Config::load(None).unwrap();
            assert_eq!(config.api.keys, vec!["007", "k2"]);
            jail.set_env("CONFAB_API__KEYS", "12345");
            assert_eq!(Config::load(None).unwrap().api.keys, vec!["12345"]);
            Ok(())
        });
    }

    #[test]
    fn profiles_choose_the_notification_style() {
        use crate::appliance::services::notifications::NotificationStyle;
        figment::Jail::expect_with(|_| {
            let style = |p| {
                Config::load_with_profile(None, Some(p))
                    .unwrap()
                    .notifications
                    .style
            };
            assert_eq!(style("nickdoc"), NotificationStyle::Nickdoc);
            assert_eq!(style("baasix"), NotificationStyle::Baasix);
            assert_eq!(
                Config::load(None).unwrap().notifications.style,
                NotificationStyle::Baasix
            );
            Ok(())
        });
    }

    #[test]
    fn profiles_choose_the_chat_style() {
        use confab_chat_contract::ChatStyle;
        figment::Jail::expect_with(|jail| {
            let chat = |p| Config::load_with_profile(None, Some(p)).unwrap().chat;
            let nick = chat("nickdoc");
            assert_eq!(
                (nick.style, nick.chat_room.as_str()),
                (ChatStyle::Nickdoc, "chat-{id}")
            );
            assert_eq!(chat("seam").style, ChatStyle::Syarah);
            assert_eq!(Config::load(None).unwrap().chat.style, ChatStyle::Syarah);
            jail.set_env("CONFAB_CHAT__STYLE", "nickdoc");
            assert_eq!(Config::load(None).unwrap().chat.style, ChatStyle::Nickdoc);
            Ok(())
        });
    }

    #[test]
    fn read_only_operations_from_the_environment() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("CONFAB_OPERATIONS__READ_ONLY_SUFFIXES", ":list,:get");
            jail.set_env("CONFAB_OPERATIONS__READ_ONLY", "auth:login,auth:refresh");
            let ops = Config::load(None).unwrap().operations;
            assert_eq!(ops.read_only_suffixes, vec![":list", ":get"]);
            assert_eq!(ops.read_only, vec!["auth:login", "auth:refresh"]);
            Ok(())
        });
    }

    #[test]
    fn body_deadline_from_the_environment() {
        figment::Jail::expect_with(|jail| {
            let config = Config::load(None).unwrap();
            assert_eq!(
                (config.body_timeout_ms, config.body_min_rate),
                (20_000, 500)
            );
            jail.set_env("CONFAB_BODY_TIMEOUT_MS", "1000");
            jail.set_env("CONFAB_BODY_MIN_RATE", "0");
            let config = Config::load(None).unwrap();
            assert_eq!((config.body_timeout_ms, config.body_min_rate), (1000, 0));
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
