//! The data directory and the token secret in it, private to the account
//! that runs confab: the directory is made `0700`, the secret `0600`. Anyone
//! who reads the secret can mint any user's token, an administrator's too.
//!
//! The secret is written to a new file created `0600` (never chmod'ed
//! afterwards) and linked into place, so no reader sees it half-written or
//! readable by others, and two processes starting at once keep one secret.
//!
//! An existing secret readable by group or others (one made by an earlier
//! confab, or copied in) is made `0600` with a warning, rather than refused:
//! a server that stops starting after an upgrade helps nobody, and the
//! warning says to replace the secret if other accounts may have read it.

use std::fs::{self, DirBuilder, File, OpenOptions, Permissions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use tracing::{info, warn};

/// The secret's file name in the data directory.
pub const SECRET_FILE: &str = "jwt-secret";

/// Why the data directory's secret could not be had.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error(
        "no token secret at {0}: start `confab` once with this data directory \
         (data_dir, CONFAB_DATA_DIR or --data-dir), or set identity.secret"
    )]
    Missing(PathBuf),
    #[error("data_dir: token secret {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

/// Creates `dir` (and its missing parents) `0700`; an existing directory is
/// left as it is, it is the operator's.
pub fn create(dir: &Path) -> io::Result<()> {
    DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

/// The secret kept in `dir`, made (with `dir`) when there is none and
/// `create` is set; otherwise its absence is an error naming the path.
pub fn secret(dir: &Path, create_missing: bool) -> Result<String, SecretError> {
    let path = dir.join(SECRET_FILE);
    let io_error = |source| SecretError::Io {
        path: path.clone(),
        source,
    };
    match read_private(&path) {
        Ok(secret) => Ok(secret),
        Err(err) if err.kind() != io::ErrorKind::NotFound => Err(io_error(err)),
        Err(_) if !create_missing => Err(SecretError::Missing(path)),
        Err(_) => {
            create(dir).map_err(io_error)?;
            write_new(dir, &path).map_err(io_error)
        }
    }
}

/// Reads the secret, first making it `0600` if others could read it.
fn read_private(path: &Path) -> io::Result<String> {
    let mut file = File::open(path)?;
    let mode = file.metadata()?.permissions().mode();
    if mode & 0o077 != 0 {
        file.set_permissions(Permissions::from_mode(0o600))?;
        warn!(
            path = %path.display(),
            was = format!("{:o}", mode & 0o777),
            "the token secret was readable by other accounts: made it 0600; if they may \
             have read it, delete it and restart to make a new one (tokens signed with it \
             stop working)"
        );
    }
    let mut secret = String::new();
    file.read_to_string(&mut secret)?;
    Ok(secret.trim().to_owned())
}

/// 32 random bytes as hex: what a new secret file holds.
pub fn random_secret() -> io::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(io::Error::other)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// A new random secret, written `0600` beside `path` and linked to it. If
/// another process linked one first, that one is kept.
fn write_new(dir: &Path, path: &Path) -> io::Result<String> {
    let secret = random_secret()?;
    let temp = dir.join(format!(".{SECRET_FILE}.{}", std::process::id()));
    let written = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temp)
        .and_then(|mut file| {
            file.write_all(secret.as_bytes())?;
            file.sync_all()
        });
    let linked = written.and_then(|()| fs::hard_link(&temp, path));
    let _ = fs::remove_file(&temp);
    match linked {
        Ok(()) => {
            info!(path = %path.display(), "made a new token secret");
            Ok(secret)
        }
        Err(err) if err.kind() == io::ErrorKind::AlreadyExists => read_private(path),
        Err(err) => Err(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("confab-data-dir-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_new_secret_is_private_in_a_private_directory() {
        let dir = temp_dir("new").join("nested");
        let secret = secret(&dir, true).unwrap();
        assert_eq!(secret.len(), 64);
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join(SECRET_FILE)), 0o600);
        // Only the secret is left behind.
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [SECRET_FILE]);
        assert_eq!(super::secret(&dir, false).unwrap(), secret);
        fs::remove_dir_all(dir.parent().unwrap()).unwrap();
    }

    #[test]
    fn a_readable_secret_is_made_private_and_kept() {
        let dir = temp_dir("readable");
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join(SECRET_FILE);
        fs::write(&path, "kept-secret\n").unwrap();
        fs::set_permissions(&path, Permissions::from_mode(0o644)).unwrap();
        assert_eq!(secret(&dir, true).unwrap(), "kept-secret");
        assert_eq!(mode(&path), 0o600);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn without_create_a_missing_secret_names_its_path_and_makes_nothing() {
        let dir = temp_dir("missing");
        let err = secret(&dir, false).unwrap_err();
        assert!(
            err.to_string()
                .contains(&dir.join(SECRET_FILE).display().to_string()),
            "{err}"
        );
        assert!(!dir.exists());
    }
}
