//! A multipart file field streamed to a temporary file, its size limit
//! enforced chunk by chunk: a 500 MB video never sits in memory, and an
//! oversized upload stops being read at the limit.

use std::path::{Path, PathBuf};

use actix_multipart::Field;
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use confab_chat::store::MessageType;

use super::sniff::{HEAD_LEN, looks_like_video};
use crate::settings::UploadSettings;

/// A file that is removed when dropped, unless kept.
#[derive(Debug)]
pub struct TempFile {
    path: PathBuf,
    keep: bool,
}

impl TempFile {
    pub fn new(path: PathBuf) -> TempFile {
        TempFile { path, keep: false }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Moves it to `to` (same file system), where it stays.
    pub async fn persist(mut self, to: &Path) -> std::io::Result<()> {
        tokio::fs::rename(&self.path, to).await?;
        self.keep = true;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// A file field, on disk.
#[derive(Debug)]
pub struct Received {
    pub file: TempFile,
    pub size: u64,
    /// Its first bytes, for sniffing.
    pub head: Vec<u8>,
    /// The file name the client gave.
    pub name: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReceiveError {
    #[error("the file is too large (at most {limit} bytes)")]
    TooLarge { limit: u64 },
    #[error("the upload could not be stored: {0}")]
    Io(#[from] std::io::Error),
    #[error("malformed multipart body: {0}")]
    Multipart(String),
}

/// A fresh random name: 32 hex digits.
pub fn random_name() -> std::io::Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(std::io::Error::other)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Streams `field` into a new file of `dir`. `kind` is the upload's kind
/// if the form has told it yet; until then the limit is the largest any
/// kind allows for what the content looks like.
pub async fn receive(
    field: &mut Field,
    dir: &Path,
    kind: Option<MessageType>,
    limits: &UploadSettings,
) -> Result<Received, ReceiveError> {
    let name = field
        .content_disposition()
        .and_then(|cd| cd.get_filename())
        .map(str::to_owned);
    let temp = TempFile::new(dir.join(format!("{}.part", random_name()?)));
    let mut out = tokio::fs::File::create(temp.path()).await?;
    let mut head = Vec::with_capacity(HEAD_LEN);
    let mut size: u64 = 0;
    let mut limit = limits.limit_while_reading(kind, false);
    while let Some(chunk) = field.next().await {
        let chunk = chunk.map_err(|e| ReceiveError::Multipart(e.to_string()))?;
        if head.len() < HEAD_LEN {
            let take = (HEAD_LEN - head.len()).min(chunk.len());
            head.extend_from_slice(&chunk[..take]);
            if head.len() == HEAD_LEN || take < chunk.len() {
                limit = limits.limit_while_reading(kind, looks_like_video(&head));
            }
        }
        size += chunk.len() as u64;
        if size > limit {
            return Err(ReceiveError::TooLarge { limit });
        }
        out.write_all(&chunk).await?;
    }
    out.flush().await?;
    out.sync_all().await?;
    Ok(Received {
        file: temp,
        size,
        head,
        name,
    })
}
