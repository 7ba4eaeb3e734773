//! `confab token` prints a token that the configured verifier accepts.

use std::process::Command;

use confab::identity::{IdentityConfig, Verifier};

const SECRET: &str = "token-command-test-secret-32-bytes-long";

fn confab(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_confab"));
    // Only the settings of this test, whatever the caller's environment.
    for (name, _) in std::env::vars() {
        if name.starts_with("CONFAB_") {
            command.env_remove(name);
        }
    }
    // A data directory of its own: confab keeps its token secret there.
    let data_dir = std::env::temp_dir().join(format!("confab-token-test-{}", std::process::id()));
    command
        .args(args)
        .env("CONFAB_DATA_DIR", &data_dir)
        .envs(env.iter().copied())
        .env("RUST_LOG", "warn")
        .output()
        .expect("run confab")
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
    let out = confab(&["config"], &[("CONFAB_IDENTITY__SECRET", SECRET)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains(SECRET));
    assert!(text.contains("[identity]"));
    assert!(text.contains("(redacted)"));
}

#[test]
fn without_a_secret_the_data_directory_keeps_one() {
    let first = confab(&["token", "u1"], &[]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let data_dir = std::env::temp_dir().join(format!("confab-token-test-{}", std::process::id()));
    let secret = std::fs::read_to_string(data_dir.join("jwt-secret")).unwrap();
    let verifier = Verifier::from_config(&IdentityConfig {
        secret,
        ..IdentityConfig::default()
    })
    .unwrap();
    let token = String::from_utf8(first.stdout).unwrap();
    assert_eq!(verifier.verify(token.trim()).unwrap().user_id, "u1");
}
