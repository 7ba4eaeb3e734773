//! `confab`, the appliance: the engine on its own port, configured by a
//! file and `CONFAB_*` environment variables, keeping state in a data
//! directory.

use std::path::PathBuf;
use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use clap::{Parser, Subcommand};
use confab::Config;
use confab::appliance::Appliance;
use confab::identity::{Verifier, parse_ttl};
use tracing::info;

#[derive(Parser)]
#[command(version, about = "A realtime chat engine that speaks Socket.IO")]
struct Cli {
    /// TOML configuration file (settings not in it keep their defaults;
    /// CONFAB_* environment variables override both).
    #[arg(long, short, env = "CONFAB_CONFIG")]
    config: Option<PathBuf>,
    /// A preset for one seed contract: seam, nickdoc, baasix or ignis
    /// (also `profile` in the file, or CONFAB_PROFILE).
    #[arg(long)]
    profile: Option<String>,
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
    /// Print a token for a user, signed with the configured key
    /// (identity.secret, or identity.private_key_file for RS/ES/EdDSA).
    Token(TokenArgs),
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

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    confab::logging::init("info");
    let cli = Cli::parse();
    let config = Config::load_with_profile(cli.config.as_deref(), cli.profile.as_deref())?
        .with_data_secret()?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Config => {
            let mut shown = config;
            if !shown.identity.secret.is_empty() {
                shown.identity.secret = "(redacted)".into();
            }
            for key in &mut shown.api.keys {
                *key = "(redacted)".into();
            }
            print!("{}", toml::to_string_pretty(&shown)?);
            Ok(())
        }
        Command::Token(args) => {
            let verifier = Verifier::from_config(&config.identity)?;
            let token =
                verifier.mint(&args.user_id, args.name.as_deref(), args.ttl, &args.roles)?;
            println!("{token}");
            Ok(())
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let appliance = Appliance::builder(config.clone()).start()?;
    let server = HttpServer::new({
        let appliance = appliance.clone();
        move || {
            App::new().configure(appliance.service()).route(
                "/api/health",
                web::get()
                    .to(|| async { HttpResponse::Ok().json(serde_json::json!({"ok": true})) }),
            )
        }
    })
    .disable_signals()
    // A client that drops a parked GET must end its future (and session).
    .h1_allow_half_closed(false)
    // Small frames go out at once: with Nagle's algorithm the second of two
    // small writes (an event, then an ack) waits for the client's delayed
    // ACK, ~40 ms.
    .tcp_nodelay(true)
    .shutdown_timeout(5)
    .bind((config.host.as_str(), config.port))?;
    for addr in server.addrs() {
        println!("confab listening on http://{addr}");
    }
    info!(path = %config.path, data_dir = %config.data_dir.display(), profile = ?config.profile, "engine started");
    confab::shutdown::run_until_signal(server.run(), appliance.confab().engine().clone()).await?;
    // Every write is flushed as it is made; this is for anything else.
    if let Err(err) = appliance.db().flush_async().await {
        tracing::error!(%err, "database not flushed at shutdown");
    }
    Ok(())
}
