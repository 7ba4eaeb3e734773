//! `confab token` prints a token that the configured verifier accepts.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use confab::identity::{IdentityConfig, Verifier};

const SECRET: &str = "token-command-test-secret-32-bytes-long";

/// `confab` with only this test's settings, whatever the caller's
/// environment: `CONFAB_*` variables removed, logs at `warn`.
fn command(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_confab"));
    for (name, _) in std::env::vars() {
        if name.starts_with("CONFAB_") {
            command.env_remove(name);
        }
    }
    command
        .args(args)
        .envs(env.iter().copied())
        .env("RUST_LOG", "warn");
    command
}

fn confab(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    // A data directory of its own: confab keeps its token secret there.
    let data_dir = std::env::temp_dir().join(format!("confab-token-test-{}", std::process::id()));
    let mut command = command(args, &[]);
    command
        .env("CONFAB_DATA_DIR", &data_dir)
        .envs(env.iter().copied())
        .output()
        .expect("run confab")
}

/// A fresh, empty directory for one test.
fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("confab-token-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The user a successful `confab token` printed a token for, checked with
/// an HS256 verifier of `secret`.
fn minted_user(out: &std::process::Output, secret: String) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verifier = Verifier::from_config(&IdentityConfig {
        secret,
        ..IdentityConfig::default()
    })
    .unwrap();
    let token = String::from_utf8_lossy(&out.stdout);
    verifier.verify(token.trim()).unwrap().user_id
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn token_output_verifies() {
    let out = confab(
        &[
            "token", "42", "--name", "Ana", "--ttl", "2h", "--role", "admin", "--role", "staff",
        ],
        &[
            ("CONFAB_IDENTITY__SECRET", SECRET),
            ("CONFAB_IDENTITY__USER_CLAIM", "idUser"),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let token = stdout.trim_end_matches('\n');
    assert_eq!(token.lines().count(), 1);

    let verifier = Verifier::from_config(&IdentityConfig {
        secret: SECRET.into(),
        user_claim: "idUser".into(),
        ..IdentityConfig::default()
    })
    .unwrap();
    let identity = verifier.verify(token).unwrap();
    assert_eq!(identity.user_id, "42");
    assert_eq!(identity.name.as_deref(), Some("Ana"));
    assert_eq!(identity.roles, ["admin", "staff"]);
    let lifetime = identity.expires_at.unwrap() - identity.claims["iat"].as_u64().unwrap();
    assert_eq!(lifetime, 7200);

    let other = Verifier::from_config(&IdentityConfig {
        secret: "another-secret-another-secret-another".into(),
        user_claim: "idUser".into(),
        ..IdentityConfig::default()
    })
    .unwrap();
    assert!(other.verify(token).is_err());
}

#[test]
fn token_with_a_key_pair() {
    let keys = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/keys");
    let public = format!("{keys}/test-es256-public.pem");
    let private = format!("{keys}/test-es256-private.pem");
    let out = confab(
        &["token", "u1"],
        &[
            ("CONFAB_IDENTITY__ALGORITHM", "ES256"),
            ("CONFAB_IDENTITY__PUBLIC_KEY_FILE", &public),
            ("CONFAB_IDENTITY__PRIVATE_KEY_FILE", &private),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap();
    let verifier = Verifier::from_config(&IdentityConfig {
        algorithm: confab::identity::Algorithm::ES256,
        public_key_file: Some(public.into()),
        ..IdentityConfig::default()
    })
    .unwrap();
    assert_eq!(verifier.verify(token.trim()).unwrap().user_id, "u1");
}

#[test]
fn token_refuses_without_a_signing_key_or_with_a_bad_ttl() {
    let public = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/keys/test-rs256-public.pem"
    );
    let out = confab(
        &["token", "u1"],
        &[
            ("CONFAB_IDENTITY__ALGORITHM", "RS256"),
            ("CONFAB_IDENTITY__PUBLIC_KEY_FILE", public),
        ],
    );
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());

    let out = confab(
        &["token", "u1", "--ttl", "soon"],
        &[("CONFAB_IDENTITY__SECRET", SECRET)],
    );
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
}

#[test]
fn config_command_hides_the_secret() {
    let metrics_key = "metrics-key-not-to-show";
    let out = confab(
        &["config"],
        &[
            ("CONFAB_IDENTITY__SECRET", SECRET),
            ("CONFAB_METRICS__KEY", metrics_key),
            (
                "CACHE_REDIS_URL",
                "redis://:redis-password-not-to-show@127.0.0.1:6390",
            ),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains(SECRET));
    assert!(!text.contains(metrics_key));
    assert!(!text.contains("redis-password-not-to-show"));
    assert!(text.contains("redis://:(redacted)@127.0.0.1:6390"));
    assert!(text.contains("[identity]"));
    assert!(text.contains("[metrics]"));
    assert!(text.contains("(redacted)"));
}

#[test]
fn the_server_makes_a_private_secret_that_token_uses_from_anywhere() {
    let root = fresh_dir("serve");
    let data_dir = root.join("state").join("data");
    let mut server = command(&[], &[("CONFAB_PORT", "0"), ("CONFAB_HOST", "127.0.0.1")])
        .env("CONFAB_DATA_DIR", &data_dir)
        .stdout(Stdio::piped())
        .spawn()
        .expect("start confab");
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(line.starts_with("confab listening on"), "{line}");
    assert_eq!(mode(&data_dir), 0o700);
    assert_eq!(mode(data_dir.parent().unwrap()), 0o700);
    let secret_path = data_dir.join("jwt-secret");
    assert_eq!(mode(&secret_path), 0o600);

    // From another directory, naming the data directory on the command line.
    let dir = data_dir.display().to_string();
    let out = command(&["token", "u1", "--data-dir", &dir], &[])
        .current_dir(&root)
        .output()
        .unwrap();
    let secret = std::fs::read_to_string(&secret_path).unwrap();
    assert_eq!(minted_user(&out, secret), "u1");
    std::fs::remove_dir_all(root).unwrap();
}

#[test]
fn token_in_an_empty_directory_fails_naming_the_secret_and_creates_nothing() {
    let cwd = fresh_dir("empty");
    let out = command(&["token", "u1"], &[])
        .current_dir(&cwd)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("data/jwt-secret"), "{stderr}");
    assert_eq!(std::fs::read_dir(&cwd).unwrap().count(), 0);
    std::fs::remove_dir_all(cwd).unwrap();
}

#[test]
fn a_secret_readable_by_others_is_made_private_with_a_warning() {
    let data_dir = fresh_dir("readable");
    let path = data_dir.join("jwt-secret");
    std::fs::write(&path, format!("{SECRET}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = command(&["token", "u1"], &[])
        .env("CONFAB_DATA_DIR", &data_dir)
        .output()
        .unwrap();
    // The secret is kept: tokens it signed still verify.
    assert_eq!(minted_user(&out, SECRET.into()), "u1");
    assert_eq!(mode(&path), 0o600);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("readable by other accounts"), "{stderr}");
    std::fs::remove_dir_all(data_dir).unwrap();
}
