//! The [`Operation`] extractor: SEAM's operation progress from an actix-web
//! handler (the HTTP side of [`Appliance::report_progress`]).

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use serde::Serialize;
use serde_json::Value;
use tracing::warn;

use super::HttpError;
use super::keys::bearer_token;
use crate::appliance::Appliance;
use crate::appliance::api::{ApiError, Delivery};
use crate::appliance::identity::Identity;
use crate::appliance::services::operations::{Progress, Status};

/// The header that names the socket an HTTP request comes from.
pub const SOCKET_ID_HEADER: &str = "x-socket-id";

/// An HTTP request's operation, reported to the client that asked: reads
/// `X-Socket-ID` and the bearer token of the request (or the configured
/// cookie), verifies the token with the appliance's verifier (401 JSON
/// `{error}` if it is missing or invalid; take `Option<Operation>` where a
/// token is optional), and decides once where progress goes: to that socket
/// if it is connected and the token's user's, else to the user's room.
///
/// Each report is `operation:progress {operation, status, message, data,
/// timestamp}`; [`Operation::success`] of a mutating operation also sends
/// `data:changed {operation, message, data, initiatorSocketId}` to everyone
/// (read-only operations, `[operations]` in the configuration, do not).
/// Reports leave in the order they are made. Needs the appliance mounted
/// with [`Appliance::service`].
pub struct Operation {
    appliance: Appliance,
    identity: Identity,
    socket_id: Option<String>,
    delivery: Delivery,
}

impl Operation {
    /// The user the request's token names.
    pub fn user_id(&self) -> &str {
        &self.identity.user_id
    }

    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The request's `X-Socket-ID`, if any.
    pub fn socket_id(&self) -> Option<&str> {
        self.socket_id.as_deref()
    }

    /// Where reports go.
    pub fn delivery(&self) -> &Delivery {
        &self.delivery
    }

    /// `status: start`: the operation begins.
    pub fn start(&self, operation: &str, message: impl Into<String>) {
        self.send(Progress::new(operation, Status::Start, message));
    }

    /// `status: processing`: an intermediate step.
    pub fn processing(&self, operation: &str, message: impl Into<String>) {
        self.send(Progress::new(operation, Status::Processing, message));
    }

    /// `status: success` with the result; `data:changed` to everyone
    /// unless the operation only reads.
    pub fn success<T: Serialize + ?Sized>(
        &self,
        operation: &str,
        message: impl Into<String>,
        data: &T,
    ) {
        let data = serde_json::to_value(data).unwrap_or_else(|err| {
            warn!(operation, %err, "operation result is not JSON: sent as null");
            Value::Null
        });
        self.send(Progress::new(operation, Status::Success, message).with_data(data));
    }

    /// `status: error`: the operation failed.
    pub fn error(&self, operation: &str, message: impl Into<String>) {
        self.send(Progress::new(operation, Status::Error, message));
    }

    /// Any report, with its outcome.
    pub fn report(&self, progress: &Progress) -> Result<(), ApiError> {
        self.appliance
            .send_progress(&self.delivery, progress, self.socket_id.as_deref())
    }

    fn send(&self, progress: Progress) {
        if let Err(err) = self.report(&progress) {
            warn!(operation = progress.operation, %err, "operation progress not sent");
        }
    }
}

/// The request's `X-Socket-ID`, trimmed, if usable.
pub(crate) fn socket_id_header(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(SOCKET_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|s| !s.is_empty() && s.len() <= 128 && *s != "undefined" && *s != "null")
        .map(str::to_owned)
}

impl FromRequest for Operation {
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<Operation, HttpError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let appliance = req
            .app_data::<web::Data<Appliance>>()
            .map(|data| data.get_ref().clone());
        let socket_id = socket_id_header(req);
        let token = bearer_token(req).or_else(|| appliance.as_ref()?.cookie_token(req));
        Box::pin(async move {
            let appliance = appliance.ok_or_else(|| {
                HttpError::internal("Operation needs the appliance mounted (Appliance::service)")
            })?;
            let messages = &appliance.verifier().config().messages;
            let token = token.ok_or_else(|| HttpError::unauthorized(messages.missing.clone()))?;
            let identity = appliance
                .verifier()
                .verify(&token)
                .map_err(|_| HttpError::unauthorized(messages.invalid.clone()))?;
            let delivery = appliance
                .progress_delivery(&identity.user_id, socket_id.as_deref())
                .await;
            Ok(Operation {
                appliance,
                identity,
                socket_id,
                delivery,
            })
        })
    }
}
