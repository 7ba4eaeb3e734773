//! `POST /api/chat/uploadFile`: multipart `file` and `messageType` (1
//! audio, 2 image, 3 file, 4 video), in either order.

use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;

use confab_chat::store::MessageType;

use super::{ChatRest, RestRefusal, success};
use crate::files::receive::{ReceiveError, Received, receive};
use crate::files::{self, UploadError};

/// Most bytes read of a form field that is not the file.
const MAX_FIELD: usize = 1024;

impl From<UploadError> for RestRefusal {
    fn from(err: UploadError) -> RestRefusal {
        let status = match &err {
            UploadError::TooLarge { .. } | UploadError::ImageTooLarge(_) => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            UploadError::Busy(busy) => {
                return RestRefusal::new(StatusCode::SERVICE_UNAVAILABLE, err.to_string())
                    .retry_after(busy.retry_after);
            }
            UploadError::Empty => StatusCode::BAD_REQUEST,
            UploadError::Content(_) | UploadError::BadImage(_) => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            UploadError::Io(_) | UploadError::Store(_) => return RestRefusal::internal(&err),
        };
        RestRefusal::new(status, err.to_string())
    }
}

impl From<ReceiveError> for RestRefusal {
    fn from(err: ReceiveError) -> RestRefusal {
        match err {
            ReceiveError::TooLarge { limit } => UploadError::TooLarge { limit }.into(),
            ReceiveError::Multipart(message) => RestRefusal::bad_request(message),
            ReceiveError::Io(err) => RestRefusal::internal(err),
        }
    }
}

/// `messageType` as the form sends it: `"1"` to `"4"`.
fn parse_kind(text: &str) -> Result<MessageType, RestRefusal> {
    text.trim()
        .parse::<u8>()
        .ok()
        .filter(|n| (1..=4).contains(n))
        .and_then(|n| MessageType::try_from(n).ok())
        .ok_or_else(|| RestRefusal::bad_request("invalid messageType (1 to 4)"))
}

async fn small_field(field: &mut actix_multipart::Field) -> Result<String, RestRefusal> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.next().await {
        let chunk = chunk.map_err(|e| RestRefusal::bad_request(e.to_string()))?;
        if bytes.len() + chunk.len() > MAX_FIELD {
            return Err(RestRefusal::bad_request("form field too long"));
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes).map_err(|_| RestRefusal::bad_request("form field is not text"))
}

pub async fn upload_file(
    req: HttpRequest,
    mut form: Multipart,
    state: web::Data<ChatRest>,
) -> Result<HttpResponse, RestRefusal> {
    let caller = state.caller(&req, false)?;
    let settings = &state.service.settings().uploads;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(length) = declared
        && length > settings.max_request_bytes()
    {
        let limit = settings.limit_while_reading(None, true);
        return Err(UploadError::TooLarge { limit }.into());
    }
    let temp = files::temp_dir(settings);
    tokio::fs::create_dir_all(&temp)
        .await
        .map_err(RestRefusal::internal)?;

    let mut kind: Option<MessageType> = None;
    let mut file: Option<Received> = None;
    while let Some(field) = form.next().await {
        let mut field = field.map_err(|e| RestRefusal::bad_request(e.to_string()))?;
        match field.name().unwrap_or_default() {
            "messageType" => kind = Some(parse_kind(&small_field(&mut field).await?)?),
            "file" if file.is_some() => {
                return Err(RestRefusal::bad_request("one file per upload"));
            }
            "file" => {
                file = Some(receive(&mut field, &temp, kind, settings).await?);
            }
            _ => {
                small_field(&mut field).await?;
            }
        }
    }
    let kind = kind.ok_or_else(|| RestRefusal::bad_request("messageType is required"))?;
    let file = file.ok_or_else(|| RestRefusal::bad_request("file is required"))?;
    let upload = files::keep(&state.service, &caller.user_id, kind, file).await?;
    tracing::debug!(user = %caller.user_id, path = %upload.path, size = upload.size, "file uploaded");
    Ok(success(&upload.path))
}
