//! The appliance's configuration: defaults, then a TOML file, then
//! `CONFAB_*` environment variables, each overriding the one before.
//!
//! Nested keys take `__` in the environment: `CONFAB_IDENTITY__SECRET` is
//! `identity.secret`, `CONFAB_IDENTITY__MESSAGES__INVALID` is
//! `identity.messages.invalid`; flat keys keep their single underscores
//! (`CONFAB_CORS_ORIGINS` is `cors_origins`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use confab_actors::EngineConfig;
use figment::providers::{Env, Format, Serialized, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};
use serde::{Deserialize, Deserializer, Serialize};

use crate::admin::AdminConfig;
use crate::chat::ChatOptions;
use crate::identity::{self, IdentityConfig};
use crate::logging::LogFormat;
use crate::services::auth::AuthConfig;
use crate::services::notifications::NotificationsConfig;
use crate::services::operations::OperationsConfig;
use crate::services::presence::PresenceConfig;
use crate::services::relay::RelayRule;
use crate::services::rooms::RoomsConfig;

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
    /// Log lines as text, or as JSON objects for log shippers.
    pub log_format: LogFormat,
    pub ping_interval_ms: u64,
    pub ping_timeout_ms: u64,
    pub connect_timeout_ms: u64,
    /// Largest message or polling body a client may send, in bytes.
    pub max_payload: usize,
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
    pub chat: ChatOptions,
    /// The Socket.IO admin UI (`[admin]`).
    pub admin: AdminConfig,
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
            data_dir: PathBuf::from("./data"),
            log_format: LogFormat::Text,
            ping_interval_ms: engine.ping_interval.as_millis() as u64,
            ping_timeout_ms: engine.ping_timeout.as_millis() as u64,
            connect_timeout_ms: engine.connect_timeout.as_millis() as u64,
            max_payload: engine.max_payload,
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
            chat: ChatOptions::default(),
            admin: AdminConfig::default(),
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
    /// its own: `<data_dir>/jwt-secret`, made on first start. Out of the box
    /// then, `confab token` mints what `confab` accepts. An error names the
    /// file.
    pub fn with_data_secret(self) -> std::io::Result<Config> {
        self.resolve_data_secret(true)
    }

    /// `<data_dir>/jwt-secret` if the appliance keeps its own secret.
    pub fn data_secret_file(&self) -> Option<PathBuf> {
        let hmac = matches!(
            self.identity.algorithm,
            identity::Algorithm::HS256 | identity::Algorithm::HS384 | identity::Algorithm::HS512
        );
        let configured =
            !self.identity.secret.is_empty() || self.identity.public_key_file.is_some();
        (hmac && !configured).then(|| self.data_dir.join("jwt-secret"))
    }

    /// As [`Config::with_data_secret`]; a new secret is written only if
    /// `save` (`confab check` changes nothing).
    pub(crate) fn resolve_data_secret(mut self, save: bool) -> std::io::Result<Config> {
        let Some(path) = self.data_secret_file() else {
            return Ok(self);
        };
        let named = |err: std::io::Error, doing: &str| {
            std::io::Error::new(
                err.kind(),
                format!(
                    "data_dir: cannot {doing} the token secret {}: {err}",
                    path.display()
                ),
            )
        };
        let secret = match std::fs::read_to_string(&path) {
            Ok(secret) => secret.trim().to_owned(),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                let mut bytes = [0u8; 32];
                getrandom::fill(&mut bytes).map_err(std::io::Error::other)?;
                let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                if save {
                    std::fs::create_dir_all(&self.data_dir).map_err(|err| {
                        let dir = self.data_dir.display();
                        std::io::Error::new(
                            err.kind(),
                            format!("data_dir: cannot make {dir}: {err}"),
                        )
                    })?;
                    std::fs::write(&path, &secret).map_err(|err| named(err, "write"))?;
                    tracing::info!(path = %path.display(), "made a new token secret");
                }
                secret
            }
            Err(err) => return Err(named(err, "read")),
        };
        self.identity.secret = secret;
        Ok(self)
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

/// The profiles, as TOML presets (`profiles/` in the repository).
pub const PROFILES: [(&str, &str); 4] = [
    ("seam", include_str!("../profiles/seam.toml")),
    ("nickdoc", include_str!("../profiles/nickdoc.toml")),
    ("baasix", include_str!("../profiles/baasix.toml")),
    ("ignis", include_str!("../profiles/ignis.toml")),
];

fn preset_named(name: &str) -> Option<&'static str> {
    PROFILES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, toml)| *toml)
}

/// The environment names the seeds' own deployments use: `SOCKET_PATH`,
/// `SOCKET_CORS_ENABLED_ORIGINS` (BAASIX), `FRONTEND_URL` (nick-doc).
fn seed_env() -> Env {
    Env::raw()
        .only(&["socket_path", "socket_cors_enabled_origins", "frontend_url"])
        .map(|key| {
            if key == "socket_path" {
                "path".into()
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

/// Accepts `["a", "b"]` (file) or `"a,b"` (environment).
pub(crate) fn list_or_csv<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<String>, D::Error> {
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
        use crate::services::notifications::NotificationStyle;
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
        use crate::chat::ChatStyle;
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
    fn unknown_keys_are_refused() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("bad.toml", "prot = 1")?;
            assert!(Config::load(Some(Path::new("bad.toml"))).is_err());
            Ok(())
        });
    }
}
