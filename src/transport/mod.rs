//! The transports: HTTP long-polling and WebSocket on one Engine.IO path.
//!
//! This module reads the Engine.IO query (`EIO`, `transport`, `sid`), answers
//! the errors the Node server answers, admits or refuses the requests that
//! open or upgrade a connection ([`origin`]), and hands each request to its
//! transport. Transports move bytes; they know nothing of Socket.IO.

mod connection;
mod error;
mod origin;
mod polling;
mod websocket;

use std::borrow::Cow;
use std::collections::HashMap;
use std::str::FromStr;
use std::time::SystemTime;

use actix_web::{HttpRequest, HttpResponse, http::Method, web};
use confab_engine::Engine;
use confab_engine::handshake::Handshake;
use confab_engine::protocol::engineio::Sid;

pub use connection::on_connect;
pub use error::EngineIoError;
pub(crate) use origin::Admission;
pub use origin::{AllowRequest, CorsPolicy, ORIGIN_REFUSED};

/// The Engine.IO query parameters of one request.
struct EngineQuery<'a> {
    transport: Transport,
    sid: Option<Sid>,
    protocol: Option<Cow<'a, str>>,
    /// Every parameter, for a handshake (no `sid`) only: the session shows
    /// them to middlewares and handlers; a request on a session needs none.
    all: HashMap<String, String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Transport {
    Polling,
    WebSocket,
}

impl<'a> EngineQuery<'a> {
    /// Reads the query in place (a parameter is copied only if it is
    /// percent-encoded); as with a map of the pairs, the last of a repeated
    /// parameter counts.
    fn parse(req: &'a HttpRequest) -> Result<EngineQuery<'a>, EngineIoError> {
        let raw = req.query_string().as_bytes();
        let (mut transport, mut sid, mut protocol) = (None, None, None);
        for (key, value) in form_urlencoded::parse(raw) {
            match &*key {
                "transport" => transport = Some(value),
                "sid" => sid = Some(value),
                "EIO" => protocol = Some(value),
                _ => {}
            }
        }
        let transport = match transport.as_deref() {
            Some("polling") => Transport::Polling,
            Some("websocket") => Transport::WebSocket,
            _ => return Err(EngineIoError::UnknownTransport),
        };
        let sid = match sid {
            Some(sid) => Some(Sid::from_str(&sid).map_err(|_| EngineIoError::UnknownSid)?),
            None => None,
        };
        let all = match sid {
            Some(_) => HashMap::new(),
            None => form_urlencoded::parse(raw).into_owned().collect(),
        };
        Ok(EngineQuery {
            transport,
            sid,
            protocol,
            all,
        })
    }
}

/// What the handshake request showed, for namespace middlewares and handlers.
fn handshake(req: &HttpRequest, query: HashMap<String, String>, cors: &CorsPolicy) -> Handshake {
    let mut headers: HashMap<String, String> = HashMap::new();
    for (name, value) in req.headers() {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        headers
            .entry(name.as_str().to_owned())
            .and_modify(|v| {
                v.push_str(", ");
                v.push_str(&value);
            })
            .or_insert(value);
    }
    Handshake {
        query: query.into_iter().collect(),
        headers: headers.into_iter().collect(),
        address: req.peer_addr(),
        issued: Some(SystemTime::now()),
        url: req.uri().to_string(),
        trusted_origin: cors.trusts_cookies(req),
        secure: req.connection_info().scheme() == "https",
        connection: String::new(),
        upgraded: Default::default(),
    }
}

/// Whether the request asks for a WebSocket (`Upgrade: websocket`).
fn wants_websocket(req: &HttpRequest) -> bool {
    req.headers()
        .get(actix_web::http::header::UPGRADE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"))
}

/// Every request on the Engine.IO path comes here. Errors are JSON, except
/// to a WebSocket upgrade, which gets the message as text (as from Node).
pub(crate) async fn dispatch(
    req: HttpRequest,
    body: web::Payload,
    engine: web::Data<Engine>,
    admission: web::Data<Admission>,
) -> HttpResponse {
    let err = match route(&req, body, &engine, &admission).await {
        Ok(response) => return response,
        Err(err) => err,
    };
    engine.stats().refuse(err.refusal());
    if wants_websocket(&req) {
        err.plain_response()
    } else {
        actix_web::ResponseError::error_response(&err)
    }
}

async fn route(
    req: &HttpRequest,
    body: web::Payload,
    engine: &Engine,
    admission: &Admission,
) -> Result<HttpResponse, EngineIoError> {
    let query = EngineQuery::parse(req)?;
    let websocket = wants_websocket(req);
    if websocket && query.transport != Transport::WebSocket {
        return Err(EngineIoError::BadRequest);
    }
    // A handshake or an upgrade: decided before a session exists or gets a
    // WebSocket. Later polls ride on a sid that only an admitted request got.
    if query.sid.is_none() || websocket {
        admission.check(req)?;
    }
    match query.sid {
        Some(sid) => {
            let session = engine.session(&sid).ok_or(EngineIoError::UnknownSid)?;
            if query.protocol.as_deref().is_some_and(|p| p != "4") {
                return Err(EngineIoError::BadRequest);
            }
            match (query.transport, req.method()) {
                (Transport::WebSocket, &Method::GET) if websocket => {
                    websocket::upgrade(req, body, engine, session)
                }
                (Transport::Polling, &Method::GET) => polling::poll(engine, session).await,
                (Transport::Polling, &Method::POST) => {
                    polling::post(req, body, engine, session).await
                }
                _ => Err(EngineIoError::BadRequest),
            }
        }
        None => {
            if req.method() != Method::GET {
                return Err(EngineIoError::BadHandshakeMethod);
            }
            if query.protocol.as_deref() != Some("4") {
                return Err(EngineIoError::UnsupportedProtocolVersion);
            }
            let handshake = handshake(req, query.all, admission.cors());
            match query.transport {
                Transport::Polling => polling::open(engine, handshake).await,
                Transport::WebSocket if websocket => websocket::open(req, body, engine, handshake),
                Transport::WebSocket => Err(EngineIoError::BadRequest),
            }
        }
    }
}
