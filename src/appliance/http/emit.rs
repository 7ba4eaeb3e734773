//! `POST /api/emit` (with `ackTimeoutMs`: a broadcast with acks), `GET
//! /api/clients` (`partial` when a node of the cluster did not answer),
//! `POST /api/disconnect`.

use std::time::Duration;

use actix_web::HttpResponse;
use actix_web::web;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::input::{List, present};
use super::{Admin, Body, HttpError, Query};
use crate::appliance::Appliance;
use crate::appliance::api::{Targets, check_event};
use crate::{Args, SocketInfo};

/// `POST /api/emit`: `event` with `data` (one argument; none when absent)
/// to rooms, users and sockets, minus `except`; no target is everyone in
/// the namespace.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmitRequest {
    pub nsp: Option<String>,
    #[serde(default)]
    pub rooms: List,
    #[serde(default)]
    pub users: List,
    #[serde(default)]
    pub sockets: List,
    #[serde(default)]
    pub except: List,
    pub event: String,
    /// Passed on as sent: key order and number text kept.
    #[serde(default, deserialize_with = "present")]
    pub data: Option<Box<RawValue>>,
    /// Wait this long for every client's ack and answer with the replies.
    #[serde(rename = "ackTimeoutMs")]
    pub ack_timeout_ms: Option<u64>,
}

/// A namespace as given: `/name`.
fn namespace(nsp: Option<String>) -> Result<Option<String>, HttpError> {
    match nsp {
        Some(nsp) if !nsp.starts_with('/') => Err(HttpError::bad_request(format!(
            "`nsp` must start with `/`, found `{nsp}`"
        ))),
        other => Ok(other),
    }
}

impl EmitRequest {
    /// The targets, the event and its arguments, or why not.
    /// The targets, the event, its arguments and how long to wait for acks
    /// (none: do not wait), or why not.
    pub fn validate(self) -> Result<(Targets, String, Args, Option<Duration>), HttpError> {
        check_event(&self.event)?;
        let targets = Targets {
            nsp: namespace(self.nsp)?,
            rooms: self.rooms.0,
            users: self.users.0,
            sockets: self.sockets.0,
            except: self.except.0,
        };
        let args = match &self.data {
            None => Args::empty(),
            Some(data) => Args::from_raw(format!("[{}]", data.get()), Vec::new()),
        };
        let ack = self.ack_timeout_ms.map(Duration::from_millis);
        Ok((targets, self.event, args, ack))
    }
}

pub async fn emit(
    _: Admin,
    app: web::Data<Appliance>,
    Body(req): Body<EmitRequest>,
) -> Result<HttpResponse, HttpError> {
    let (targets, event, args, ack) = req.validate()?;
    let Some(timeout) = ack else {
        app.emit_args(&targets, &event, &args)?;
        return Ok(HttpResponse::Ok().json(json!({ "ok": true })));
    };
    let answers = app.emit_with_ack(&targets, &event, &args, timeout).await?;
    // Each client's first answer, as Node's broadcast acks give them.
    let replies: Vec<Value> = answers
        .replies
        .iter()
        .map(|reply| reply.json().into_iter().next().unwrap_or(Value::Null))
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "ok": true,
        "complete": answers.complete,
        "expected": answers.expected,
        "replies": replies,
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientsQuery {
    pub nsp: Option<String>,
    pub room: Option<String>,
    pub user: Option<String>,
}

/// A socket as the API lists it, `connectedAt` in ISO 8601.
pub fn client_json(info: &SocketInfo) -> Value {
    json!({
        "id": info.id,
        "nsp": info.nsp,
        "userId": info.user_id,
        "rooms": info.rooms,
        "connectedAt": confab_engine::iso_millis(info.connected_at),
    })
}

/// `GET /api/clients?nsp=&room=&user=`: the namespace's sockets, those in
/// `room` and of `user` if given.
pub async fn clients(
    _: Admin,
    app: web::Data<Appliance>,
    Query(query): Query<ClientsQuery>,
) -> Result<HttpResponse, HttpError> {
    let nonempty = |s: Option<String>| s.filter(|s| !s.is_empty());
    let targets = Targets {
        nsp: namespace(nonempty(query.nsp))?,
        rooms: nonempty(query.room).into_iter().collect(),
        ..Targets::default()
    };
    let user = nonempty(query.user);
    let fetched = app.fetch_clients(&targets).await?;
    let mut found = fetched.value;
    if let Some(user) = &user {
        found.retain(|s| s.user_id.as_ref() == Some(user));
    }
    found.sort_by_key(|s| (s.connected_at, s.id.clone()));
    let list: Vec<Value> = found.iter().map(client_json).collect();
    // A node of the cluster did not answer: say so rather than look whole.
    if !fetched.complete {
        return Ok(HttpResponse::Ok().json(json!({ "clients": list, "partial": true })));
    }
    Ok(HttpResponse::Ok().json(json!({ "clients": list })))
}

/// `POST /api/disconnect`: the sockets given, the users' and the rooms'.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisconnectRequest {
    pub nsp: Option<String>,
    #[serde(default)]
    pub sockets: List,
    #[serde(default)]
    pub users: List,
    #[serde(default)]
    pub rooms: List,
}

impl DisconnectRequest {
    pub fn validate(self) -> Result<Targets, HttpError> {
        let targets = Targets {
            nsp: namespace(self.nsp)?,
            rooms: self.rooms.0,
            users: self.users.0,
            sockets: self.sockets.0,
            except: Vec::new(),
        };
        if targets.is_everyone() {
            return Err(HttpError::bad_request(
                "disconnect needs `sockets`, `users` or `rooms`",
            ));
        }
        Ok(targets)
    }
}

pub async fn disconnect(
    _: Admin,
    app: web::Data<Appliance>,
    Body(req): Body<DisconnectRequest>,
) -> Result<HttpResponse, HttpError> {
    let targets = req.validate()?;
    let gone = app.disconnect(&targets).await?;
    let ids: Vec<&str> = gone.iter().map(|s| s.id.as_str()).collect();
    Ok(HttpResponse::Ok().json(json!({ "disconnected": ids })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::appliance::http::input::parse_body;

    fn emit_req(v: Value) -> Result<(Targets, String, Args), HttpError> {
        let (targets, event, args, _) =
            parse_body::<EmitRequest>(v.to_string().as_bytes())?.validate()?;
        Ok((targets, event, args))
    }

    #[test]
    fn an_emit_may_wait_for_acks() {
        let ack = |v: Value| {
            let (_, _, _, ack) = parse_body::<EmitRequest>(v.to_string().as_bytes())?.validate()?;
            Ok::<_, HttpError>(ack)
        };
        assert_eq!(ack(json!({"event": "x"})).unwrap(), None);
        assert_eq!(
            ack(json!({"event": "x", "ackTimeoutMs": 1500})).unwrap(),
            Some(Duration::from_millis(1500))
        );
        assert!(ack(json!({"event": "x", "ackTimeoutMs": -1})).is_err());
        assert!(ack(json!({"event": "x", "ackTimeoutMs": "soon"})).is_err());
    }

    #[test]
    fn emit_requests() {
        let (targets, event, args) = emit_req(json!({
            "rooms": "r1", "users": [7, "u2"], "sockets": ["s1"], "except": "muted",
            "event": "new-purchase-request", "data": {"id": 1}
        }))
        .unwrap();
        assert_eq!(targets.rooms, ["r1"]);
        assert_eq!(targets.users, ["7", "u2"]);
        assert_eq!(targets.sockets, ["s1"]);
        assert_eq!(targets.except, ["muted"]);
        assert_eq!(event, "new-purchase-request");
        assert_eq!(args.json(), r#"[{"id":1}]"#);
        let (targets, _, args) = emit_req(json!({"event": "tick"})).unwrap();
        assert!(targets.is_everyone());
        assert_eq!(args.json(), "[]", "no data: no argument");
        let (_, _, args) = emit_req(json!({"event": "tick", "data": null})).unwrap();
        assert_eq!(args.json(), "[null]");
        let (_, _, args) = emit_req(json!({"event": "tick", "data": [1, 2]})).unwrap();
        assert_eq!(args.json(), "[[1,2]]", "an array is one argument");
        let sent = br#"{"event":"x","data":{"z":1.50,"a":{"y":12345678901234567890,"b":1}}}"#;
        let (_, _, args, _) = parse_body::<EmitRequest>(sent).unwrap().validate().unwrap();
        assert_eq!(
            args.json(),
            r#"[{"z":1.50,"a":{"y":12345678901234567890,"b":1}}]"#,
            "passed on as sent"
        );
    }

    #[test]
    fn bad_emit_requests_are_400() {
        for bad in [
            json!({}),
            json!({"event": ""}),
            json!({"event": "disconnect"}),
            json!({"event": 5}),
            json!({"event": "x", "room": "typo"}),
            json!({"event": "x", "rooms": [""]}),
            json!({"event": "x", "nsp": "admin"}),
            json!(["event"]),
        ] {
            let err = emit_req(bad.clone()).unwrap_err();
            assert_eq!(err.status().as_u16(), 400, "{bad}: {err}");
        }
    }

    #[test]
    fn disconnect_needs_a_target() {
        let parse = |v: Value| {
            parse_body::<DisconnectRequest>(v.to_string().as_bytes())
                .and_then(DisconnectRequest::validate)
        };
        assert!(parse(json!({})).is_err());
        assert!(parse(json!({"nsp": "/"})).is_err());
        assert_eq!(parse(json!({"users": 7})).unwrap().users, ["7"]);
    }

    #[test]
    fn clients_show_iso_times() {
        let info = SocketInfo {
            id: "s".into(),
            nsp: "/".into(),
            user_id: Some("7".into()),
            rooms: vec!["s".into(), "user:7".into()],
            connected_at: 1_736_937_000_000,
        };
        assert_eq!(
            client_json(&info),
            json!({"id": "s", "nsp": "/", "userId": "7", "rooms": ["s", "user:7"], "connectedAt": "2025-01-15T10:30:00.000Z"})
        );
    }
}
