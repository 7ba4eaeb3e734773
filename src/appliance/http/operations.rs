//! `POST /api/operations`: SEAM's operation progress from a backend that is
//! not written in Rust (the twin of the [`crate::Operation`] extractor).

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::input::{Id, present};
use super::operation::socket_id_header;
use super::{Admin, Body, HttpError};
use crate::appliance::Appliance;
use crate::appliance::services::operations::{Progress, Status, check_operation};

/// `{operation, status, message?, data?, socketId?, userId}`; the socket id
/// may come as the `X-Socket-ID` header instead, as the browser sent it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct OperationRequest {
    pub operation: String,
    pub status: Status,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub data: Option<Value>,
    #[serde(default)]
    pub socket_id: Option<String>,
    pub user_id: Id,
}

impl OperationRequest {
    /// The report, its user and socket, or why not.
    pub fn validate(
        self,
        header_socket: Option<String>,
    ) -> Result<(Progress, String, Option<String>), HttpError> {
        check_operation(&self.operation).map_err(HttpError::bad_request)?;
        let socket = self
            .socket_id
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .or(header_socket);
        let progress = Progress::new(
            self.operation,
            self.status,
            self.message.unwrap_or_default(),
        )
        .with_data(self.data.unwrap_or(Value::Null));
        Ok((progress, self.user_id.0, socket))
    }
}

pub async fn report(
    _: Admin,
    req: HttpRequest,
    app: web::Data<Appliance>,
    Body(body): Body<OperationRequest>,
) -> Result<HttpResponse, HttpError> {
    let (progress, user, socket) = body.validate(socket_id_header(&req))?;
    let delivery = app
        .report_progress(&user, socket.as_deref(), &progress)
        .await?;
    let broadcast = progress.broadcasts(&app.config().operations);
    Ok(HttpResponse::Ok().json(json!({
        "ok": true,
        "delivered": delivery.kind(),
        "room": delivery.room(),
        "broadcast": broadcast,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::appliance::http::input::parse_body;

    fn parse(
        v: Value,
        header: Option<&str>,
    ) -> Result<(Progress, String, Option<String>), HttpError> {
        parse_body::<OperationRequest>(v.to_string().as_bytes())?.validate(header.map(String::from))
    }

    #[test]
    fn reports_are_read() {
        let (p, user, socket) = parse(
            json!({"operation": "users:create", "status": "success", "message": "Creado", "data": {"id": 1}, "socketId": "abc", "userId": 42}),
            Some("from-header"),
        )
        .unwrap();
        assert_eq!(
            (p.operation.as_str(), p.status),
            ("users:create", Status::Success)
        );
        assert_eq!(p.data, json!({"id": 1}));
        assert_eq!(user, "42");
        assert_eq!(socket.as_deref(), Some("abc"), "the body's socket id wins");
        let (p, _, socket) = parse(
            json!({"operation": "users:fetchAll", "status": "start", "userId": "u"}),
            Some("h"),
        )
        .unwrap();
        assert_eq!((p.message.as_str(), &p.data), ("", &Value::Null));
        assert_eq!(socket.as_deref(), Some("h"));
        let (_, _, socket) = parse(
            json!({"operation": "x", "status": "error", "userId": "u", "socketId": " "}),
            None,
        )
        .unwrap();
        assert_eq!(socket, None);
    }

    #[test]
    fn bad_reports_are_400() {
        for bad in [
            json!({"operation": "x", "status": "done", "userId": "u"}),
            json!({"operation": "x", "status": "start"}),
            json!({"operation": "", "status": "start", "userId": "u"}),
            json!({"operation": "x", "status": "start", "userId": ""}),
            json!({"operation": "x", "status": "start", "userId": "u", "extra": 1}),
        ] {
            assert_eq!(
                parse(bad.clone(), None).unwrap_err().status().as_u16(),
                400,
                "{bad}"
            );
        }
    }
}
