//! The admin UI's page and assets: the built files of `@socket.io/admin-ui`
//! (vendored in `admin-ui/`, see its README), compiled into the binary so
//! that the appliance serves them wherever it is installed, with no path to
//! configure. Compressed on the way out for clients that accept it.

use actix_web::http::header;
use actix_web::middleware::Compress;
use actix_web::{HttpRequest, HttpResponse, web};

/// One file of the built UI.
struct Asset {
    path: &'static str,
    mime: &'static str,
    body: &'static [u8],
}

macro_rules! assets {
    ($($path:literal => $mime:literal),* $(,)?) => {
        &[$(Asset {
            path: $path,
            mime: $mime,
            body: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/admin-ui/", $path)),
        }),*]
    };
}

/// The files of `@socket.io/admin-ui` 0.5.1's `ui/dist`, source maps left
/// out. Their names carry the build's hashes: updating the UI means
/// updating this list (admin-ui/README.md).
const ASSETS: &[Asset] = assets![
    "index.html" => "text/html; charset=utf-8",
    "favicon.png" => "image/png",
    "css/app.6e3b9661.css" => "text/css; charset=utf-8",
    "css/chunk-vendors.9f55d012.css" => "text/css; charset=utf-8",
    "js/app.0d7d7845.js" => "text/javascript; charset=utf-8",
    "js/chunk-vendors.934c03ff.js" => "text/javascript; charset=utf-8",
    "img/logo-dark.3727fec5.svg" => "image/svg+xml",
    "img/logo-light.73342c25.svg" => "image/svg+xml",
];

/// Mounts the UI at `path` (`/admin-ui` serves a redirect to `/admin-ui/`,
/// where the page's relative links resolve).
pub(crate) fn configure(cfg: &mut web::ServiceConfig, path: &str) {
    let base = path.trim_end_matches('/').to_owned();
    let slash = format!("{base}/");
    cfg.service(web::resource(base.clone()).route(web::get().to(move || {
        let slash = slash.clone();
        async move {
            HttpResponse::PermanentRedirect()
                .insert_header((header::LOCATION, slash))
                .finish()
        }
    })));
    cfg.service(
        web::scope(&base)
            .wrap(Compress::default())
            .route("/{file:.*}", web::get().to(asset)),
    );
}

async fn asset(req: HttpRequest) -> HttpResponse {
    let file = req.match_info().get("file").unwrap_or_default();
    let file = if file.is_empty() { "index.html" } else { file };
    match ASSETS.iter().find(|a| a.path == file) {
        Some(asset) => HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, asset.mime))
            .body(asset.body),
        None => HttpResponse::NotFound().finish(),
    }
}
