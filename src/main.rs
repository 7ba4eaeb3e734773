//! `confab`, the appliance: the engine on its own port, configured by a
//! file and `CONFAB_*` environment variables, keeping state in a data
//! directory.

use std::path::PathBuf;

use actix_web::{App, HttpResponse, HttpServer, web};
use clap::{Parser, Subcommand};
use confab::{Confab, Config};
use tracing::info;

#[derive(Parser)]
#[command(version, about = "A realtime chat engine that speaks Socket.IO")]
struct Cli {
    /// TOML configuration file (settings not in it keep their defaults;
    /// CONFAB_* environment variables override both).
    #[arg(long, short, env = "CONFAB_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the engine (the default).
    Serve,
    /// Print the effective configuration as TOML and exit.
    Config,
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let config = Config::load(cli.config.as_deref())?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Config => {
            print!("{}", toml::to_string_pretty(&config)?);
            Ok(())
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    std::fs::create_dir_all(&config.data_dir)?;
    let confab = Confab::builder()
        .config(&config)
        .namespace("/", |_| {})
        .start();
    let server = HttpServer::new({
        let confab = confab.clone();
        move || {
            App::new().configure(confab.service()).route(
                "/api/health",
                web::get()
                    .to(|| async { HttpResponse::Ok().json(serde_json::json!({"ok": true})) }),
            )
        }
    })
    .bind((config.host.as_str(), config.port))?;
    for addr in server.addrs() {
        println!("confab listening on http://{addr}");
    }
    info!(path = %config.path, data_dir = %config.data_dir.display(), "engine started");
    server.run().await?;
    confab.engine().shutdown();
    Ok(())
}
