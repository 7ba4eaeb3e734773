//! `GET /uploads/chat-messages/...`: an uploaded file, to its uploader and
//! to the members of a chat with a message naming it; anyone else is
//! refused (403). Ranges, `ETag` and `Last-Modified` as actix-files does
//! them (a video seeks). Nothing is served as a type a browser would run:
//! media go with the type found in their content, other files as
//! `application/octet-stream` attachments, all with `nosniff` and a
//! sandboxing CSP.

use actix_files::NamedFile;
use actix_web::http::header::{
    self, Charset, ContentDisposition, DispositionParam, DispositionType, ExtendedValue,
    HeaderValue,
};
use actix_web::{HttpRequest, HttpResponse, mime, web};

use confab_chat::store::MessageType;

use super::{ChatRest, RestRefusal};
use crate::files::disk_path;

pub async fn serve(
    req: HttpRequest,
    tail: web::Path<String>,
    state: web::Data<ChatRest>,
) -> Result<HttpResponse, RestRefusal> {
    let caller = state.caller(&req, true)?;
    let settings = &state.service.settings().uploads;
    let url = format!("{}/{}", settings.url_prefix.trim_end_matches('/'), tail);
    let not_found = || RestRefusal::not_found("file not found");
    let disk = disk_path(settings, &url).ok_or_else(not_found)?;
    let store = state.service.store();
    let upload = store.upload(&url)?.ok_or_else(not_found)?;
    if !store.may_read_upload(&upload, &caller.user_id)? {
        return Err(RestRefusal::forbidden(
            "only the uploader and the members of a chat with this file may read it",
        ));
    }
    let file = NamedFile::open(&disk).map_err(|_| not_found())?;
    let file = if upload.kind == MessageType::File {
        let name = upload
            .original_name
            .clone()
            .unwrap_or_else(|| tail.rsplit('/').next().unwrap_or("file").to_owned());
        file.set_content_type(mime::APPLICATION_OCTET_STREAM)
            .set_content_disposition(ContentDisposition {
                disposition: DispositionType::Attachment,
                parameters: vec![DispositionParam::FilenameExt(ExtendedValue {
                    charset: Charset::Ext("UTF-8".into()),
                    language_tag: None,
                    value: name.into_bytes(),
                })],
            })
    } else {
        let media = upload
            .mime
            .parse::<mime::Mime>()
            .unwrap_or(mime::APPLICATION_OCTET_STREAM);
        file.set_content_type(media).disable_content_disposition()
    };
    let mut response = file.into_response(&req);
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private"));
    Ok(response)
}
