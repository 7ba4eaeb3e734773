//! `confab`, the appliance: the engine on its own port, configured by a
//! file and `CONFAB_*` environment variables, keeping state in a data
//! directory.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use actix_web::{App, HttpServer};
use clap::{Parser, Subcommand};
use confab::Config;
use confab::appliance::Appliance;
use confab::appliance::check::{self, Problems};
use confab::body_deadline::BodyDeadline;
use confab::identity::{Verifier, parse_ttl};
use tracing::info;

/// `confab --help` ends with where things live, for an operator who has
/// only the binary.
const WHERE_THINGS_LIVE: &str = "\
Where things live:
  configuration  --config FILE (or CONFAB_CONFIG); CONFAB_* variables override it
  data           data_dir (CONFAB_DATA_DIR, default ./data): the database in db/,
                 uploads in uploads/
  token secret   identity.secret (CONFAB_IDENTITY__SECRET); if unset, with HS*,
                 data_dir/jwt-secret, made on first start
  key files      identity.public_key_file, identity.private_key_file (RS*, ES*, EdDSA)
  API keys       api.keys (CONFAB_API__KEYS)
  admin UI       admin.password_hash (CONFAB_ADMIN__PASSWORD_HASH), a bcrypt hash
                 from `confab hash-password`
  logs           stderr; RUST_LOG filters, log_format = text | json

`confab check` validates a configuration; `confab config` prints the effective one
(secrets redacted).";

#[derive(Parser)]
#[command(
    version,
    about = "A realtime chat engine that speaks Socket.IO",
    after_help = WHERE_THINGS_LIVE
)]
struct Cli {
    /// TOML configuration file (settings not in it keep their defaults;
    /// CONFAB_* environment variables override both).
    #[arg(long, short, env = "CONFAB_CONFIG")]
    config: Option<PathBuf>,
    /// A preset for one seed contract: seam, nickdoc, baasix or ignis
    /// (also `profile` in the file, or CONFAB_PROFILE).
    #[arg(long)]
    profile: Option<String>,
    /// The data directory, over `data_dir` in the file and CONFAB_DATA_DIR.
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the engine (the default).
    Serve,
    /// Print the effective configuration as TOML and exit (the identity
    /// secret and the API keys are shown as "(redacted)").
    Config,
    /// Validate the configuration (values, URLs, files and keys, the data
    /// directory, the port) and print "ok", or each problem with its key
    /// and exit 1. Writes nothing.
    Check,
    /// Ask the running server whether it is ready (GET /api/ready on the
    /// configured host and port); exit 0 if so, 1 otherwise.
    Health,
    /// Print a token for a user, signed with the configured key
    /// (identity.secret, or identity.private_key_file for RS/ES/EdDSA).
    Token(TokenArgs),
    /// Read a password from stdin (one line) and print its bcrypt hash,
    /// for admin.password_hash.
    HashPassword,
}

#[derive(clap::Args)]
struct TokenArgs {
    /// The user id, written to the configured user claim.
    user_id: String,
    /// Display name, written to the configured name claim.
    #[arg(long)]
    name: Option<String>,
    /// Lifetime: 90s, 15m, 1h, 7d, 1h30m, or seconds.
    #[arg(long, default_value = "1h", value_parser = parse_ttl)]
    ttl: Duration,
    /// A role for the roles claim; repeat for several.
    #[arg(long = "role")]
    roles: Vec<String>,
}

/// Errors go to stderr one problem a line, each naming what to fix.
#[actix_web::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            for line in err.to_string().lines() {
                eprintln!("confab: {line}");
            }
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut config = Config::load_with_profile(cli.config.as_deref(), cli.profile.as_deref())?;
    if let Some(dir) = cli.data_dir {
        config.data_dir = dir;
    }
    confab::appliance::logging::init("info", config.log_format);
    // Only the server makes the data directory's secret; `config` shows
    // what is configured, and `token` signs with the server's own secret.
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config.with_data_secret()?).await?,
        Command::Check => check(&config)?,
        Command::Health => confab::appliance::health::probe(&config, Duration::from_secs(5))?,
        Command::Config => {
            let mut shown = config;
            if !shown.identity.secret.is_empty() {
                shown.identity.secret = "(redacted)".into();
            }
            for key in &mut shown.api.keys {
                *key = "(redacted)".into();
            }
            if !shown.admin.password_hash.is_empty() {
                shown.admin.password_hash = "(redacted)".into();
            }
            if !shown.metrics.key.is_empty() {
                shown.metrics.key = "(redacted)".into();
            }
            shown.adapter.url = confab_redis::config::redacted_url(&shown.adapter.url);
            print!("{}", toml::to_string_pretty(&shown)?);
        }
        Command::Token(args) => {
            let config = config.with_existing_data_secret()?;
            let verifier = Verifier::from_config(&config.identity)?;
            let token =
                verifier.mint(&args.user_id, args.name.as_deref(), args.ttl, &args.roles)?;
            println!("{token}");
        }
        Command::HashPassword => {
            let mut password = String::new();
            std::io::stdin().read_line(&mut password)?;
            let password = password.trim_end_matches(['\r', '\n']);
            anyhow::ensure!(!password.is_empty(), "no password on stdin");
            println!("{}", confab::admin::hash_password(password)?);
        }
    }
    Ok(())
}

/// `confab check`: "ok", or every problem.
fn check(config: &Config) -> Result<(), Problems> {
    let mut problems = check::settings(config);
    problems.extend(check::port(config));
    if !problems.is_empty() {
        return Err(Problems(problems));
    }
    println!("ok");
    Ok(())
}

/// Checks the configuration, starts the appliance, binds, then says
/// "listening": any error before that names what to fix.
async fn serve(config: Config) -> anyhow::Result<()> {
    let problems = check::settings(&config);
    if !problems.is_empty() {
        return Err(Problems(problems).into());
    }
    let appliance = Appliance::builder(config.clone()).start()?;
    let deadline = BodyDeadline::from_config(&config);
    let server = HttpServer::new({
        let appliance = appliance.clone();
        move || {
            App::new()
                .wrap(deadline)
                .configure(appliance.service())
                .configure(confab::appliance::health::configure(
                    appliance.db().clone(),
                    appliance.confab().membership().cloned(),
                ))
        }
    })
    // `client_request_timeout` (5 s) and `client_disconnect_timeout` cover
    // the headers and the close only; the body's deadline is BodyDeadline's.
    .disable_signals()
    // A client that drops a parked GET must end its future (and session).
    .h1_allow_half_closed(false)
    // A WebSocket whose client stops reading can be cut at once.
    .on_connect(confab::transport::on_connect)
    // Small frames go out at once: with Nagle's algorithm the second of two
    // small writes (an event, then an ack) waits for the client's delayed
    // ACK, ~40 ms.
    .tcp_nodelay(true)
    .shutdown_timeout(5)
    .bind((config.host.as_str(), config.port))
    .map_err(|err| Problems(vec![check::bind_problem(&config, &err)]))?;
    for addr in server.addrs() {
        println!("confab listening on http://{addr}");
    }
    info!(path = %config.path, data_dir = %config.data_dir.display(), profile = ?config.profile, "engine started");
    if !config.socket_enabled {
        tracing::warn!(path = %config.path, "socket_enabled = false: no realtime endpoint, the HTTP API only");
    }
    confab::shutdown::run_until_signal(server.run(), appliance.confab().engine().clone()).await?;
    // Every write is flushed as it is made; this is for anything else.
    if let Err(err) = appliance.db().flush_async().await {
        tracing::error!(%err, "database not flushed at shutdown");
    }
    Ok(())
}
