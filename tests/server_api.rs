//! The server-side API in process: the appliance mounted in an actix-web
//! test service, its HTTP routes' callers, the `Operation` extractor, and
//! notifications kept across a restart of the appliance.

use actix_web::{App, HttpResponse, http::StatusCode, test, web};
use confab::services::notifications::NewNotification;
use confab::{Appliance, Config, Operation};
use serde_json::{Value, json};

const SECRET: &str = "server-api-test-secret-0123456789abcdef";

fn config(data_dir: &std::path::Path) -> Config {
    let mut config = Config {
        data_dir: data_dir.to_owned(),
        ..Config::default()
    };
    config.identity.secret = SECRET.into();
    config.api.keys = vec!["key-1".into()];
    config
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("confab-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

async fn report(op: Operation) -> HttpResponse {
    op.start("users:create", "Creando");
    HttpResponse::Ok().json(json!({
        "user": op.user_id(),
        "socket": op.socket_id(),
        "delivered": op.delivery().kind(),
        "room": op.delivery().room(),
    }))
}

async fn json_of(res: actix_web::dev::ServiceResponse) -> Value {
    serde_json::from_slice(&test::read_body(res).await).unwrap()
}

#[actix_rt::test]
async fn callers_extractor_and_errors() {
    let dir = temp_dir("server-api");
    let appliance = Appliance::builder(config(&dir)).start().unwrap();
    let verifier = appliance.verifier().clone();
    let user = verifier
        .mint("42", None, std::time::Duration::from_secs(60), &[])
        .unwrap();
    let admin = verifier
        .mint(
            "root",
            None,
            std::time::Duration::from_secs(60),
            &["admin".into()],
        )
        .unwrap();
    let app = test::init_service(
        App::new()
            .configure(appliance.service())
            .route("/api/v1/users", web::post().to(report)),
    )
    .await;
    let emit = |auth: Option<(&str, String)>| {
        let mut req = test::TestRequest::post()
            .uri("/api/emit")
            .set_payload(r#"{"event":"hello","data":1}"#);
        if let Some(header) = auth {
            req = req.insert_header(header);
        }
        req.to_request()
    };

    let res = test::call_service(&app, emit(None)).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(json_of(res).await["error"].is_string());
    let res = test::call_service(&app, emit(Some(("X-API-Key", "key-1".into())))).await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = test::call_service(
        &app,
        emit(Some(("Authorization", format!("Bearer {admin}")))),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = test::call_service(
        &app,
        emit(Some(("Authorization", format!("Bearer {user}")))),
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    // The extractor: no token is 401; with one, no connected socket means
    // the user's room.
    let req = test::TestRequest::post().uri("/api/v1/users").to_request();
    assert_eq!(
        test::call_service(&app, req).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let req = test::TestRequest::post()
        .uri("/api/v1/users")
        .insert_header(("Authorization", format!("Bearer {user}")))
        .insert_header(("X-Socket-ID", "not-connected"))
        .to_request();
    let res = test::call_service(&app, req).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        json_of(res).await,
        json!({"user": "42", "socket": "not-connected", "delivered": "user", "room": "user:42"})
    );

    // Bad input is 400 with a reason.
    let req = test::TestRequest::post()
        .uri("/api/emit")
        .insert_header(("X-API-Key", "key-1"))
        .set_payload(r#"{"event":"x","nsp":"/nope"}"#)
        .to_request();
    let res = test::call_service(&app, req).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        json_of(res).await,
        json!({"error": "unknown namespace `/nope`"})
    );
    drop(app);
    drop(appliance);
    let _ = std::fs::remove_dir_all(&dir);
}

#[actix_rt::test]
async fn notifications_outlive_the_appliance() {
    let dir = temp_dir("server-api-restart");
    // Two appliances on one database in one process: the chat actors of the
    // first would keep it open (sled locks it); the chat has its own
    // restart test (tests/js/chat/restart.test.js).
    let config = |dir: &std::path::Path| {
        let mut config = config(dir);
        config.chat.enabled = false;
        config
    };
    let id = {
        let appliance = Appliance::builder(config(&dir)).start().unwrap();
        let notifications = appliance.notifications();
        let a = notifications
            .create(NewNotification::new("7", "A", "first"))
            .await
            .unwrap();
        notifications
            .create(NewNotification::new("7", "B", "second"))
            .await
            .unwrap();
        assert!(notifications.mark_seen(&a.id).await.unwrap().unwrap().seen);
        assert_eq!(notifications.unread_count("7").unwrap(), 1);
        a.id
    };
    // sled's background flusher may hold the file lock a moment after the
    // first appliance is dropped: wait for it, as a restart would.
    let appliance = (0..100)
        .find_map(|_| {
            Appliance::builder(config(&dir)).start().ok().or_else(|| {
                std::thread::sleep(std::time::Duration::from_millis(50));
                None
            })
        })
        .expect("the database lock is released");
    let notifications = appliance.notifications();
    assert_eq!(notifications.unread_count("7").unwrap(), 1);
    assert!(notifications.get(&id).unwrap().unwrap().seen);
    assert_eq!(notifications.list("7", false, 10).unwrap().len(), 2);
    drop(appliance);
    let _ = std::fs::remove_dir_all(&dir);
}
