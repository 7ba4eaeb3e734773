//! A tiny SEAM-style backend (seed 000), for the end-to-end tests and as an
//! example of the embedding API: the appliance mounted in an actix-web app
//! (Engine.IO, its HTTP API under `/api`) beside the application's own REST
//! routes under `/api/v1`, whose handlers report progress to the socket
//! that asked with the [`confab::Operation`] extractor.
//!
//! Configured like the `confab` binary (`CONFAB_*`, `CONFAB_PROFILE=seam`).

use std::sync::Mutex;

use actix_web::{App, HttpResponse, HttpServer, web};
use confab::{Appliance, Config, Operation};
use serde_json::{Value, json};

/// The backend's "database".
type Users = web::Data<Mutex<Vec<Value>>>;

/// `POST /api/v1/users {name}`: `users:create`, a mutation: its success is
/// broadcast as `data:changed`.
async fn create_user(op: Operation, users: Users, body: web::Json<Value>) -> HttpResponse {
    const OP: &str = "users:create";
    op.start(OP, "Creando usuario...");
    let Some(name) = body
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
    else {
        op.error(OP, "El nombre es obligatorio");
        return HttpResponse::BadRequest().json(json!({ "error": "El nombre es obligatorio" }));
    };
    op.processing(OP, "Guardando usuario...");
    let user = {
        let mut users = users.lock().unwrap_or_else(|e| e.into_inner());
        let user = json!({ "id": users.len() + 1, "name": name, "createdBy": op.user_id() });
        users.push(user.clone());
        user
    };
    op.success(OP, "Usuario creado", &user);
    HttpResponse::Created().json(user)
}

/// `GET /api/v1/users`: `users:fetchAll`, read-only: progress to the
/// caller, no broadcast.
async fn list_users(op: Operation, users: Users) -> HttpResponse {
    const OP: &str = "users:fetchAll";
    op.start(OP, "Cargando usuarios...");
    let list = users.lock().unwrap_or_else(|e| e.into_inner()).clone();
    op.success(OP, "Usuarios cargados", &list);
    HttpResponse::Ok().json(list)
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::load(None)?;
    confab::appliance::logging::init("warn", config.log_format);
    let config = config.with_data_secret()?;
    let appliance = Appliance::builder(config.clone()).start()?;
    let users: Users = web::Data::new(Mutex::new(Vec::new()));
    let server = HttpServer::new(move || {
        App::new()
            .configure(appliance.service())
            .app_data(users.clone())
            .route("/api/v1/users", web::post().to(create_user))
            .route("/api/v1/users", web::get().to(list_users))
    })
    .workers(2)
    .tcp_nodelay(true) // small frames out at once, as in the binary
    .bind((config.host.as_str(), config.port))?;
    for addr in server.addrs() {
        println!("confab listening on http://{addr}");
    }
    server.run().await?;
    Ok(())
}
