//! Uploaded files: streamed to disk within their kind's limit
//! ([`receive`]), their type read from their content ([`sniff`]), images
//! converted to WebP ([`convert`]), then kept under
//! `<uploads>/chat-messages/{images,audio,videos,files}/` with a record of
//! who uploaded them (the store's `uploads` tree).

pub mod convert;
pub mod gate;
pub mod receive;
pub mod sniff;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use confab_chat::store::{MessageType, Upload, now_millis};

use self::convert::ConvertError;
use self::gate::Busy;
use self::receive::{Received, random_name};
use self::sniff::Mismatch;
use super::service::ChatService;
use super::settings::UploadSettings;

/// Why an upload is refused, or failed.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("the file is too large (at most {limit} bytes)")]
    TooLarge { limit: u64 },
    #[error("the file is empty")]
    Empty,
    #[error("{0}")]
    Content(#[from] Mismatch),
    #[error("not a valid image: {0}")]
    BadImage(String),
    #[error("{0}")]
    ImageTooLarge(String),
    #[error("{0}")]
    Busy(#[from] Busy),
    #[error("the upload could not be stored")]
    Io(#[from] std::io::Error),
    #[error("the upload could not be recorded")]
    Store(#[from] confab_chat::store::StoreError),
}

/// The folder of each kind, under `chat-messages/`.
pub fn folder(kind: MessageType) -> &'static str {
    match kind {
        MessageType::Image => "images",
        MessageType::Audio => "audio",
        MessageType::Video => "videos",
        MessageType::File | MessageType::Text => "files",
    }
}

/// Where temporary parts are written (on the uploads' file system, so
/// that keeping one is a rename).
pub fn temp_dir(settings: &UploadSettings) -> PathBuf {
    settings.dir.join("tmp")
}

/// The file on disk of an upload's URL path, if the path is one this
/// service gives out: `<prefix>/chat-messages/<folder>/<32 hex>.<ext>`.
pub fn disk_path(settings: &UploadSettings, url_path: &str) -> Option<PathBuf> {
    let rest = url_path
        .strip_prefix(settings.url_prefix.as_str())?
        .strip_prefix("/chat-messages/")?;
    let (folder, file) = rest.split_once('/')?;
    if !["images", "audio", "videos", "files"].contains(&folder) {
        return None;
    }
    let (stem, ext) = file.split_once('.')?;
    let hex = stem.len() == 32 && stem.bytes().all(|b| b.is_ascii_hexdigit());
    let ext_ok = (1..=10).contains(&ext.len()) && ext.bytes().all(|b| b.is_ascii_alphanumeric());
    (hex && ext_ok).then(|| settings.dir.join("chat-messages").join(folder).join(file))
}

/// Checks a received file against `kind` and keeps it: converted to WebP
/// for an image, moved into place otherwise; recorded as `user`'s upload
/// and durable before this returns.
pub async fn keep(
    service: &ChatService,
    user: &str,
    kind: MessageType,
    received: Received,
) -> Result<Upload, UploadError> {
    let settings = &service.settings().uploads;
    let limit = settings.max_bytes(kind);
    if received.size > limit {
        return Err(UploadError::TooLarge { limit });
    }
    if received.size == 0 {
        return Err(UploadError::Empty);
    }
    let sniffed = sniff::check(
        kind,
        &received.head,
        received.name.as_deref(),
        settings.allow_executables,
    )?;
    let folder_path = settings.dir.join("chat-messages").join(folder(kind));
    tokio::fs::create_dir_all(&folder_path).await?;
    if kind == MessageType::Image {
        let webp = format!("{}.webp", random_name()?);
        let target = folder_path.join(&webp);
        let (source, side) = (received.file.path().to_path_buf(), settings.image_max_side);
        let budget = settings.image_decode_budget;
        let converting = target.clone();
        let slot = service.decodes().enter().await?;
        let converted = actix_web::web::block(move || {
            let _slot = slot;
            convert::to_webp(&source, &converting, side, budget)
        })
        .await;
        match converted {
            Ok(Ok(_)) => {}
            Ok(Err(err)) => {
                let _ = tokio::fs::remove_file(&target).await;
                return Err(match err {
                    ConvertError::TooLarge(_) => UploadError::ImageTooLarge(err.to_string()),
                    err => UploadError::BadImage(err.to_string()),
                });
            }
            Err(err) => return Err(UploadError::Io(std::io::Error::other(err))),
        }
        let size = tokio::fs::metadata(&target).await?.len();
        return record(
            service,
            user,
            kind,
            &webp,
            "image/webp",
            size,
            received.name,
        )
        .await;
    }
    let name = format!("{}.{}", random_name()?, sniffed.ext);
    let size = received.size;
    received.file.persist(&folder_path.join(&name)).await?;
    record(
        service,
        user,
        kind,
        &name,
        &sniffed.mime,
        size,
        received.name,
    )
    .await
}

async fn record(
    service: &ChatService,
    user: &str,
    kind: MessageType,
    file: &str,
    mime: &str,
    size: u64,
    original_name: Option<String>,
) -> Result<Upload, UploadError> {
    let settings = &service.settings().uploads;
    let upload = Upload {
        path: format!(
            "{}/chat-messages/{}/{file}",
            settings.url_prefix,
            folder(kind)
        ),
        uploader: user.to_owned(),
        kind,
        mime: mime.to_owned(),
        size,
        original_name: original_name.map(|n| n.chars().take(255).collect()),
        created_at: now_millis(),
    };
    service.store().put_upload(&upload)?;
    service.store().durable().await?;
    Ok(upload)
}

/// Creates the folders uploads are written to.
pub fn prepare(settings: &UploadSettings) -> std::io::Result<()> {
    std::fs::create_dir_all(temp_dir(settings))?;
    for kind in [
        MessageType::Image,
        MessageType::Audio,
        MessageType::Video,
        MessageType::File,
    ] {
        std::fs::create_dir_all(settings.dir.join("chat-messages").join(folder(kind)))?;
    }
    Ok(())
}

/// Whether `body` names a file of this service's uploads (a media
/// message's body must then be an upload its sender may read).
pub fn is_upload_path(settings: &UploadSettings, body: &str) -> bool {
    body.strip_prefix(settings.url_prefix.as_str())
        .is_some_and(|rest| rest.starts_with('/'))
}

/// A temporary part no upload has written to for this long is left over:
/// an upload in progress writes to its part with every chunk, and a
/// request body that stalls is cut off long before (`body_idle_secs`).
pub const STALE_PART: Duration = Duration::from_secs(60 * 60);

/// How often the service looks for left-over parts.
pub const CLEAN_EVERY: Duration = Duration::from_secs(10 * 60);

/// Removes the temporary parts not written to for `older_than`: those a
/// crash left (at start-up, with no upload running, all of them), or an
/// upload whose part was not removed when it ended.
pub fn clean_temp(settings: &UploadSettings, older_than: Duration) {
    let Ok(entries) = std::fs::read_dir(temp_dir(settings)) else {
        return;
    };
    let now = SystemTime::now();
    for entry in entries.flatten() {
        let path: &Path = &entry.path();
        let stale = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|at| now.duration_since(at).unwrap_or_default() >= older_than);
        if path.extension().is_some_and(|e| e == "part") && stale {
            match std::fs::remove_file(path) {
                Ok(()) => tracing::info!(path = %path.display(), "left-over upload part removed"),
                Err(err) => tracing::warn!(path = %path.display(), %err, "upload part not removed"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_this_service_gives_out_map_to_disk() {
        let s = UploadSettings {
            dir: PathBuf::from("/data/uploads"),
            ..UploadSettings::default()
        };
        let hex = "0123456789abcdef0123456789abcdef";
        assert_eq!(
            disk_path(&s, &format!("/uploads/chat-messages/images/{hex}.webp")),
            Some(PathBuf::from(format!(
                "/data/uploads/chat-messages/images/{hex}.webp"
            )))
        );
        for bad in [
            format!("/uploads/chat-messages/../{hex}.webp"),
            format!("/uploads/chat-messages/images/../../{hex}.webp"),
            format!("/uploads/chat-messages/secrets/{hex}.webp"),
            format!("/uploads/chat-messages/images/{hex}.we/bp"),
            format!("/uploads/chat-messages/images/{hex}"),
            "/uploads/chat-messages/images/short.webp".to_string(),
            format!("/elsewhere/chat-messages/images/{hex}.webp"),
        ] {
            assert_eq!(disk_path(&s, &bad), None, "{bad}");
        }
        assert!(is_upload_path(&s, "/uploads/x"));
        assert!(!is_upload_path(&s, "/uploadsx"));
        assert!(!is_upload_path(&s, "https://cdn/uploads/x"));
    }

    #[test]
    fn left_over_parts_are_removed_and_uploads_in_progress_kept() {
        let dir = std::env::temp_dir().join(format!("confab-clean-temp-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let s = UploadSettings {
            dir: dir.clone(),
            ..UploadSettings::default()
        };
        prepare(&s).unwrap();
        let tmp = temp_dir(&s);
        let file = |name: &str, age: Duration| {
            let path = tmp.join(name);
            let f = std::fs::File::create(&path).unwrap();
            f.set_modified(SystemTime::now() - age).unwrap();
            path
        };
        let old = file("old.part", STALE_PART + Duration::from_secs(60));
        let fresh = file("fresh.part", Duration::ZERO);
        let other = file("old.txt", STALE_PART * 2);
        clean_temp(&s, STALE_PART);
        assert!(!old.exists());
        assert!(fresh.exists() && other.exists());
        // At start-up nothing is uploading: every part goes.
        clean_temp(&s, Duration::ZERO);
        assert!(!fresh.exists() && other.exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
