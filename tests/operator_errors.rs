//! What an operator sees when a configuration is wrong: `confab check`
//! prints "ok" or each problem with its key, and `confab` itself names the
//! key, port or path before anything says "listening".

use std::io::Read;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A safety net only: every case here ends on its own within a second.
const EXIT_WITHIN: Duration = Duration::from_secs(30);

fn keys(name: &str) -> String {
    format!("{}/tests/keys/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// A directory of the test's own, made empty.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("confab-operator-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

struct Run {
    success: bool,
    /// The data directory existed when confab exited.
    made_data_dir: bool,
    stdout: String,
    stderr: String,
}

/// Runs `confab args` with only these settings (a data directory of its
/// own, loopback, any port unless told) and waits for it to exit.
fn confab(name: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
    let dir = scratch(name);
    let mut command = Command::new(env!("CARGO_BIN_EXE_confab"));
    for (var, _) in std::env::vars() {
        if var.starts_with("CONFAB_") {
            command.env_remove(var);
        }
    }
    command
        .current_dir(&dir)
        .env("CONFAB_DATA_DIR", dir.join("data"))
        .env("CONFAB_HOST", "127.0.0.1")
        .env("CONFAB_PORT", "0")
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("run confab");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > EXIT_WITHIN {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("confab {args:?} still running after {EXIT_WITHIN:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut run = Run {
        success: status.success(),
        made_data_dir: dir.join("data").exists(),
        stdout: String::new(),
        stderr: String::new(),
    };
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut run.stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut run.stderr)
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    run
}

/// `confab check` and `confab` both refuse, naming every `expected` text,
/// and the server never says it listens.
fn refused(name: &str, env: &[(&str, &str)], expected: &[&str]) {
    for args in [&["check"][..], &["serve"][..]] {
        let run = confab(name, args, env);
        assert!(!run.success, "{args:?} accepted {env:?}: {}", run.stdout);
        for text in expected {
            assert!(
                run.stderr.contains(text),
                "{args:?} with {env:?}: {text:?} not in {:?}",
                run.stderr
            );
        }
        assert!(!run.stdout.contains("listening"), "{}", run.stdout);
        assert!(!run.stdout.contains("ok"), "{}", run.stdout);
    }
}

#[test]
fn a_good_configuration_is_ok() {
    let (public, private) = (
        keys("test-es256-public.pem"),
        keys("test-es256-private.pem"),
    );
    let env = [
        ("CONFAB_IDENTITY__ALGORITHM", "ES256"),
        ("CONFAB_IDENTITY__PUBLIC_KEY_FILE", public.as_str()),
        ("CONFAB_IDENTITY__PRIVATE_KEY_FILE", private.as_str()),
        (
            "CONFAB_CORS_ORIGINS",
            "https://app.example, http://localhost:5173",
        ),
        ("CONFAB_CHAT__PUSH_WEBHOOK", "http://127.0.0.1:9/push"),
    ];
    let run = confab("good", &["check"], &env);
    assert!(run.success, "{}", run.stderr);
    assert_eq!(run.stdout, "ok\n");
    // Checking writes nothing: not even the token secret the server would
    // make, nor its data directory.
    let defaults = confab("defaults", &["check"], &[]);
    assert!(defaults.success, "{}", defaults.stderr);
    assert_eq!(defaults.stdout, "ok\n");
    assert!(!defaults.made_data_dir);
}

#[test]
fn a_port_in_use_is_named() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    refused(
        "port",
        &[("CONFAB_PORT", &port)],
        &["port: ", &format!("127.0.0.1:{port} is in use")],
    );
}

#[test]
fn a_missing_key_file_is_named_with_its_key() {
    refused(
        "missing-key",
        &[
            ("CONFAB_IDENTITY__ALGORITHM", "RS256"),
            (
                "CONFAB_IDENTITY__PUBLIC_KEY_FILE",
                "/nonexistent/confab-public.pem",
            ),
        ],
        &[
            "identity.public_key_file: ",
            "/nonexistent/confab-public.pem",
        ],
    );
}

#[test]
fn a_file_that_is_not_a_key_is_named() {
    let not_a_key = keys("test-not-a-key.pem");
    refused(
        "not-a-key",
        &[
            ("CONFAB_IDENTITY__ALGORITHM", "ES256"),
            ("CONFAB_IDENTITY__PUBLIC_KEY_FILE", &not_a_key),
        ],
        &["identity.public_key_file: ", &not_a_key],
    );
}

#[test]
fn bad_values_are_named_with_their_key_and_source() {
    let cases: [(&str, (&str, &str), &[&str]); 6] = [
        (
            "bad-port",
            ("CONFAB_PORT", "abc"),
            &["port: ", "\"abc\"", "CONFAB_PORT"],
        ),
        (
            "bad-leeway",
            ("CONFAB_IDENTITY__LEEWAY_SECS", "999999999"),
            &["identity.leeway_secs: "],
        ),
        (
            "bad-ping",
            ("CONFAB_PING_INTERVAL_MS", "0"),
            &["ping_interval_ms: must be at least 1"],
        ),
        (
            "bad-origin",
            ("CONFAB_CORS_ORIGINS", "https://app.example/"),
            &["cors_origins: ", "\"https://app.example/\""],
        ),
        (
            "bad-webhook",
            ("CONFAB_CHAT__PUSH_WEBHOOK", "https://push.example/hook"),
            &["chat.push_webhook: "],
        ),
        (
            "bad-host",
            ("CONFAB_HOST", "no-such-host.invalid"),
            &["host: "],
        ),
    ];
    for (name, setting, expected) in cases {
        refused(name, &[setting], expected);
    }
}

#[test]
fn a_bad_config_file_is_named() {
    let dir = scratch("file");
    let file = dir.join("confab.toml");
    std::fs::write(&file, "port = 3000\n[identity]\nleewy_secs = 5\n").unwrap();
    let path = file.to_str().unwrap();
    refused(
        "typo",
        &[("CONFAB_CONFIG", path)],
        &["identity.leewy_secs: ", "unknown field", path],
    );
    let missing = dir.join("missing.toml");
    let missing = missing.to_str().unwrap();
    refused(
        "missing-file",
        &[("CONFAB_CONFIG", missing)],
        &["config file ", missing],
    );
    refused(
        "data-dir-under-a-file",
        &[("CONFAB_DATA_DIR", &format!("{path}/data"))],
        &["data_dir: "],
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn help_says_where_data_and_secrets_live() {
    let run = confab("help", &["--help"], &[]);
    assert!(run.success, "{}", run.stderr);
    for text in [
        "Where things live",
        "CONFAB_DATA_DIR",
        "jwt-secret",
        "identity.public_key_file",
        "api.keys",
        "confab check",
    ] {
        assert!(run.stdout.contains(text), "{text:?} not in {}", run.stdout);
    }
}
