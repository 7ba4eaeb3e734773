//! Verification, refusal, CONNECT and minting tests. Key pairs for RS256 and
//! ES256 are the throw-away ones in `tests/keys/`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use confab_engine::{ConnectRequest, Handshake, Pairs};
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};

use super::*;

const SECRET: &str = "a-test-secret-that-is-at-least-32-bytes-long";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn key_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/keys")
        .join(name)
}

fn hs256() -> IdentityConfig {
    IdentityConfig {
        secret: SECRET.into(),
        ..IdentityConfig::default()
    }
}

fn rs256() -> IdentityConfig {
    IdentityConfig {
        algorithm: Algorithm::RS256,
        public_key_file: Some(key_file("test-rs256-public.pem")),
        private_key_file: Some(key_file("test-rs256-private.pem")),
        ..IdentityConfig::default()
    }
}

fn es256() -> IdentityConfig {
    IdentityConfig {
        algorithm: Algorithm::ES256,
        public_key_file: Some(key_file("test-es256-public.pem")),
        private_key_file: Some(key_file("test-es256-private.pem")),
        ..IdentityConfig::default()
    }
}

fn verifier(config: IdentityConfig) -> Verifier {
    Verifier::from_config(&config).unwrap()
}

/// Signs arbitrary claims with an HMAC secret.
fn hs_token(algorithm: Algorithm, secret: &str, claims: Value) -> String {
    jsonwebtoken::encode(
        &Header::new(algorithm),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

fn hs(claims: Value) -> String {
    hs_token(Algorithm::HS256, SECRET, claims)
}

fn b64(json: &Value) -> String {
    URL_SAFE_NO_PAD.encode(json.to_string())
}

fn valid_claims() -> Value {
    json!({"sub": "u1", "exp": now() + 3600})
}

// ---------------------------------------------------------------- verify

#[test]
fn hs256_token_verifies() {
    let v = verifier(IdentityConfig {
        avatar_claim: Some("avatar".into()),
        ..hs256()
    });
    let exp = now() + 3600;
    let token = hs(json!({
        "sub": "u1", "exp": exp, "name": "Ana", "avatar": "https://a/img.png",
        "roles": ["admin", "staff"], "extra": 7
    }));
    let identity = v.verify(&token).unwrap();
    assert_eq!(identity.user_id, "u1");
    assert_eq!(identity.name.as_deref(), Some("Ana"));
    assert_eq!(identity.avatar.as_deref(), Some("https://a/img.png"));
    assert_eq!(identity.roles, ["admin", "staff"]);
    assert_eq!(identity.expires_at, Some(exp));
    assert_eq!(identity.claims["extra"], 7);
    assert!(v.is_admin(&identity));
}

#[test]
fn hs384_and_hs512_verify_when_configured() {
    for algorithm in [Algorithm::HS384, Algorithm::HS512] {
        let v = verifier(IdentityConfig {
            algorithm,
            ..hs256()
        });
        let token = hs_token(algorithm, SECRET, valid_claims());
        assert_eq!(v.verify(&token).unwrap().user_id, "u1");
    }
}

#[test]
fn expired_token_is_refused() {
    let v = verifier(hs256());
    let token = hs(json!({"sub": "u1", "exp": now() - 3600}));
    assert_eq!(v.verify(&token), Err(IdentityError::Expired));
}

#[test]
fn token_without_exp_is_refused() {
    let v = verifier(hs256());
    let token = hs(json!({"sub": "u1"}));
    assert_eq!(
        v.verify(&token),
        Err(IdentityError::MissingClaim("exp".into()))
    );
    let token = hs(json!({"sub": "u1", "exp": "tomorrow"}));
    assert!(v.verify(&token).is_err());
}

#[test]
fn nbf_in_the_future_is_refused() {
    let v = verifier(hs256());
    let token = hs(json!({"sub": "u1", "exp": now() + 7200, "nbf": now() + 3600}));
    assert_eq!(v.verify(&token), Err(IdentityError::NotYetValid));
    let token = hs(json!({"sub": "u1", "exp": now() + 7200, "nbf": now() - 10}));
    assert!(v.verify(&token).is_ok());
}

#[test]
fn leeway_is_honoured() {
    let v = verifier(hs256()); // 30 s
    let just_expired = hs(json!({"sub": "u1", "exp": now() - 10}));
    assert!(v.verify(&just_expired).is_ok());
    let long_expired = hs(json!({"sub": "u1", "exp": now() - 120}));
    assert_eq!(v.verify(&long_expired), Err(IdentityError::Expired));
    let nearly_valid = hs(json!({"sub": "u1", "exp": now() + 3600, "nbf": now() + 10}));
    assert!(v.verify(&nearly_valid).is_ok());

    let strict = verifier(IdentityConfig {
        leeway_secs: 0,
        ..hs256()
    });
    assert_eq!(strict.verify(&just_expired), Err(IdentityError::Expired));
    assert_eq!(
        strict.verify(&nearly_valid),
        Err(IdentityError::NotYetValid)
    );
}

#[test]
fn wrong_secret_is_refused() {
    let v = verifier(hs256());
    let token = hs_token(
        Algorithm::HS256,
        "another-secret-of-at-least-32-bytes!!",
        valid_claims(),
    );
    assert_eq!(v.verify(&token), Err(IdentityError::BadSignature));
}

#[test]
fn tampered_payload_is_refused() {
    let v = verifier(hs256());
    let token = hs(valid_claims());
    let mut parts: Vec<String> = token.split('.').map(String::from).collect();
    parts[1] = b64(&json!({"sub": "admin", "exp": now() + 3600}));
    assert_eq!(v.verify(&parts.join(".")), Err(IdentityError::BadSignature));
}

#[test]
fn another_hmac_algorithm_is_refused() {
    let v = verifier(hs256());
    let token = hs_token(Algorithm::HS512, SECRET, valid_claims());
    assert!(matches!(
        v.verify(&token),
        Err(IdentityError::WrongAlgorithm { expected: Algorithm::HS256, found }) if found == "HS512"
    ));
}

#[test]
fn hs_token_to_an_rs_verifier_is_refused() {
    let v = verifier(rs256());
    let token = hs(valid_claims());
    assert!(matches!(
        v.verify(&token),
        Err(IdentityError::WrongAlgorithm { .. })
    ));
    // The classic confusion attack: HMAC keyed with the RSA public key.
    let public = std::fs::read_to_string(key_file("test-rs256-public.pem")).unwrap();
    let forged = hs_token(Algorithm::HS256, &public, valid_claims());
    assert!(matches!(
        v.verify(&forged),
        Err(IdentityError::WrongAlgorithm { .. })
    ));
}

#[test]
fn rs_token_to_an_hs_verifier_is_refused() {
    let token = verifier(rs256())
        .mint("u1", None, Duration::from_secs(60), &[])
        .unwrap();
    assert!(matches!(
        verifier(hs256()).verify(&token),
        Err(IdentityError::WrongAlgorithm { expected: Algorithm::HS256, found }) if found == "RS256"
    ));
    assert!(matches!(
        verifier(es256()).verify(&token),
        Err(IdentityError::WrongAlgorithm { .. })
    ));
}

#[test]
fn alg_none_is_refused() {
    let v = verifier(hs256());
    let payload = b64(&valid_claims());
    for alg in ["none", "None", "NONE"] {
        let header = b64(&json!({"alg": alg, "typ": "JWT"}));
        for token in [
            format!("{header}.{payload}."),
            format!("{header}.{payload}"),
        ] {
            assert!(v.verify(&token).is_err(), "{token}");
        }
        let token = format!("{header}.{payload}.");
        assert!(matches!(
            v.verify(&token),
            Err(IdentityError::WrongAlgorithm { found, .. }) if found == alg
        ));
    }
    // No `alg` at all.
    let header = b64(&json!({"typ": "JWT"}));
    assert_eq!(
        v.verify(&format!("{header}.{payload}.")),
        Err(IdentityError::Malformed)
    );
}

#[test]
fn malformed_tokens_are_refused_without_panicking() {
    let v = verifier(hs256());
    let good = hs(valid_claims());
    let header = good.split('.').next().unwrap();
    let long = "a".repeat(MAX_TOKEN_LEN + 1);
    for token in [
        "",
        ".",
        "..",
        "abc",
        "a.b",
        "a.b.c",
        "a.b.c.d",
        "é.é.é",
        &format!("{good}.extra"),
        &format!("{header}.!!!.sig"),
        &format!("{header}.{}.sig", b64(&json!([1, 2]))),
        &format!("{header}.{}.sig", URL_SAFE_NO_PAD.encode("not json")),
        &long,
    ] {
        assert!(v.verify(token).is_err(), "{token:?}");
    }
}

#[test]
fn issuer_is_checked_when_configured() {
    let v = verifier(IdentityConfig {
        issuer: Some("seam".into()),
        ..hs256()
    });
    let exp = now() + 3600;
    assert!(
        v.verify(&hs(json!({"sub": "u1", "exp": exp, "iss": "seam"})))
            .is_ok()
    );
    assert_eq!(
        v.verify(&hs(json!({"sub": "u1", "exp": exp, "iss": "other"}))),
        Err(IdentityError::WrongIssuer)
    );
    assert_eq!(
        v.verify(&hs(json!({"sub": "u1", "exp": exp}))),
        Err(IdentityError::MissingClaim("iss".into()))
    );
    // Not configured: any issuer.
    assert!(
        verifier(hs256())
            .verify(&hs(json!({"sub": "u1", "exp": exp, "iss": "other"})))
            .is_ok()
    );
}

#[test]
fn audience_is_checked_when_configured() {
    let v = verifier(IdentityConfig {
        audience: Some("chat".into()),
        ..hs256()
    });
    let exp = now() + 3600;
    assert!(
        v.verify(&hs(json!({"sub": "u1", "exp": exp, "aud": "chat"})))
            .is_ok()
    );
    assert!(
        v.verify(&hs(
            json!({"sub": "u1", "exp": exp, "aud": ["web", "chat"]})
        ))
        .is_ok()
    );
    assert_eq!(
        v.verify(&hs(json!({"sub": "u1", "exp": exp, "aud": "billing"}))),
        Err(IdentityError::WrongAudience)
    );
    assert_eq!(
        v.verify(&hs(json!({"sub": "u1", "exp": exp}))),
        Err(IdentityError::MissingClaim("aud".into()))
    );
    // Not configured: a token with an audience is still accepted.
    assert!(
        verifier(hs256())
            .verify(&hs(json!({"sub": "u1", "exp": exp, "aud": "billing"})))
            .is_ok()
    );
}

#[test]
fn numeric_user_claim_becomes_text() {
    let v = verifier(IdentityConfig {
        user_claim: "idUser".into(),
        ..hs256()
    });
    let exp = now() + 3600;
    for (value, expected) in [
        (json!(42), "42"),
        (json!(-7), "-7"),
        (json!(42.0), "42"),
        (json!(u64::MAX), "18446744073709551615"),
        (json!("abc-1"), "abc-1"),
    ] {
        let token = hs(json!({"idUser": value, "exp": exp}));
        assert_eq!(v.verify(&token).unwrap().user_id, expected, "{value}");
    }
    for value in [
        json!(4.5),
        json!(true),
        json!(""),
        json!({"id": 1}),
        json!([1]),
    ] {
        let token = hs(json!({"idUser": value, "exp": exp}));
        assert_eq!(
            v.verify(&token),
            Err(IdentityError::BadClaim("idUser".into())),
            "{value}"
        );
    }
    for claims in [json!({"exp": exp}), json!({"exp": exp, "idUser": null})] {
        assert_eq!(
            v.verify(&hs(claims)),
            Err(IdentityError::MissingClaim("idUser".into()))
        );
    }
    // `sub` does not stand in for the configured claim.
    assert!(v.verify(&hs(json!({"sub": "u1", "exp": exp}))).is_err());
}

#[test]
fn roles_from_a_list_or_a_string() {
    let v = verifier(IdentityConfig {
        roles_claim: "role".into(),
        ..hs256()
    });
    let exp = now() + 3600;
    let single = v
        .verify(&hs(json!({"sub": "u", "exp": exp, "role": "admin"})))
        .unwrap();
    assert_eq!(single.roles, ["admin"]);
    assert!(v.is_admin(&single));
    let mixed = v
        .verify(&hs(
            json!({"sub": "u", "exp": exp, "role": ["a", 1, null, "", "b"]}),
        ))
        .unwrap();
    assert_eq!(mixed.roles, ["a", "b"]);
    assert!(!v.is_admin(&mixed));
    let none = v.verify(&hs(json!({"sub": "u", "exp": exp}))).unwrap();
    assert!(none.roles.is_empty());
    assert_eq!(none.name, None);
}

// ------------------------------------------------------------- key pairs

#[test]
fn rs256_mint_and_verify() {
    let v = verifier(rs256());
    let token = v
        .mint("u1", Some("Ana"), Duration::from_secs(60), &[])
        .unwrap();
    let identity = v.verify(&token).unwrap();
    assert_eq!(
        (identity.user_id.as_str(), identity.name.as_deref()),
        ("u1", Some("Ana"))
    );
    // A verifier with only the public key accepts it and cannot mint.
    let public_only = verifier(IdentityConfig {
        private_key_file: None,
        ..rs256()
    });
    assert!(public_only.verify(&token).is_ok());
    assert!(!public_only.can_mint());
    assert!(matches!(
        public_only.mint("u1", None, Duration::from_secs(60), &[]),
        Err(MintError::NoSigningKey(Algorithm::RS256))
    ));
    // Another key pair's verifier does not.
    let other = verifier(IdentityConfig {
        public_key_file: Some(key_file("test-rs256-other-public.pem")),
        private_key_file: None,
        ..rs256()
    });
    assert_eq!(other.verify(&token), Err(IdentityError::BadSignature));
}

#[test]
fn es256_mint_and_verify() {
    let v = verifier(es256());
    let token = v
        .mint("u2", None, Duration::from_secs(60), &["admin".into()])
        .unwrap();
    let identity = v.verify(&token).unwrap();
    assert_eq!(identity.user_id, "u2");
    assert!(v.is_admin(&identity));
    let other = verifier(IdentityConfig {
        public_key_file: Some(key_file("test-es256-other-public.pem")),
        private_key_file: None,
        ..es256()
    });
    assert_eq!(other.verify(&token), Err(IdentityError::BadSignature));
}

#[test]
fn bad_keys_are_start_up_errors() {
    let setup = |config: IdentityConfig| Verifier::from_config(&config).unwrap_err();
    assert!(matches!(
        setup(IdentityConfig::default()),
        SetupError::MissingSecret(Algorithm::HS256)
    ));
    assert!(matches!(
        setup(IdentityConfig {
            public_key_file: None,
            ..rs256()
        }),
        SetupError::MissingPublicKey(Algorithm::RS256)
    ));
    assert!(matches!(
        setup(IdentityConfig {
            public_key_file: Some(key_file("does-not-exist.pem")),
            ..rs256()
        }),
        SetupError::ReadKey { .. }
    ));
    for (config, kind) in [
        (
            IdentityConfig {
                public_key_file: Some(key_file("test-not-a-key.pem")),
                ..rs256()
            },
            "public",
        ),
        (
            IdentityConfig {
                public_key_file: Some(key_file("test-not-a-key.pem")),
                ..es256()
            },
            "public",
        ),
        // An EC key where an RSA one is expected, and the other way round.
        (
            IdentityConfig {
                public_key_file: Some(key_file("test-es256-public.pem")),
                private_key_file: None,
                ..rs256()
            },
            "public",
        ),
        (
            IdentityConfig {
                public_key_file: Some(key_file("test-rs256-public.pem")),
                private_key_file: None,
                ..es256()
            },
            "public",
        ),
        (
            IdentityConfig {
                private_key_file: Some(key_file("test-es256-private.pem")),
                ..rs256()
            },
            "private",
        ),
        (
            IdentityConfig {
                private_key_file: Some(key_file("test-rs256-public.pem")),
                ..rs256()
            },
            "private",
        ),
    ] {
        match setup(config) {
            SetupError::BadKey { kind: k, .. } => assert_eq!(k, kind),
            other => panic!("expected a bad {kind} key, got {other}"),
        }
    }
    assert!(matches!(
        setup(IdentityConfig {
            public_key_file: Some(key_file("test-rs256-other-public.pem")),
            ..rs256()
        }),
        SetupError::KeyMismatch(_)
    ));
    assert!(matches!(
        setup(IdentityConfig {
            public_key_file: Some(key_file("test-es256-other-public.pem")),
            ..es256()
        }),
        SetupError::KeyMismatch(_)
    ));
    assert!(matches!(
        setup(IdentityConfig {
            leeway_secs: MAX_LEEWAY_SECS + 1,
            ..hs256()
        }),
        SetupError::LeewayTooLarge(_)
    ));
    assert!(matches!(
        setup(IdentityConfig {
            user_claim: String::new(),
            ..hs256()
        }),
        SetupError::EmptyUserClaim
    ));
}

// --------------------------------------------------------------- minting

#[test]
fn mint_then_verify_round_trip() {
    let v = verifier(IdentityConfig {
        user_claim: "idUser".into(),
        issuer: Some("confab".into()),
        audience: Some("chat".into()),
        ..hs256()
    });
    let before = now();
    let token = v
        .mint(
            "42",
            Some("Ana"),
            Duration::from_secs(3600),
            &["admin".into(), "staff".into()],
        )
        .unwrap();
    let identity = v.verify(&token).unwrap();
    assert_eq!(identity.user_id, "42");
    assert_eq!(identity.name.as_deref(), Some("Ana"));
    assert_eq!(identity.roles, ["admin", "staff"]);
    let exp = identity.expires_at.unwrap();
    assert!((before + 3600..=now() + 3600).contains(&exp));
    assert_eq!(identity.claims["iss"], "confab");
    assert_eq!(identity.claims["aud"], "chat");
    assert!(identity.claims["iat"].is_u64());
    assert!(identity.claims.get("sub").is_none());
    assert!(matches!(
        v.mint("", None, Duration::from_secs(1), &[]),
        Err(MintError::EmptyUserId)
    ));
    assert!(matches!(
        v.mint("u", None, MAX_TTL + Duration::from_secs(1), &[]),
        Err(MintError::BadTtl(_))
    ));
}

#[test]
fn a_minted_token_expires() {
    let v = verifier(IdentityConfig {
        leeway_secs: 0,
        ..hs256()
    });
    let token = v.mint("u1", None, Duration::ZERO, &[]).unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(v.verify(&token), Err(IdentityError::Expired));
}

#[test]
fn ttl_parsing() {
    for (text, secs) in [
        ("90", 90),
        ("90s", 90),
        ("15m", 900),
        ("1h", 3600),
        (" 1h30m ", 5400),
        ("7d", 604_800),
        ("2w", 1_209_600),
        ("0s", 0),
    ] {
        assert_eq!(
            parse_ttl(text).unwrap(),
            Duration::from_secs(secs),
            "{text}"
        );
    }
    for text in [
        "",
        "h",
        "1x",
        "1.5h",
        "-1h",
        "1h 30m",
        "1H",
        "99999999999999999999d",
        "3651d",
    ] {
        assert!(parse_ttl(text).is_err(), "{text}");
    }
}

// ------------------------------------------------------------ CONNECT

fn request(auth: Value, query: &[(&str, &str)], headers: &[(&str, &str)]) -> ConnectRequest {
    let map = |pairs: &[(&str, &str)]| -> Pairs {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    ConnectRequest {
        nsp: "/".into(),
        auth,
        handshake: Arc::new(Handshake {
            query: map(query),
            headers: map(headers),
            ..Handshake::default()
        }),
        user_id: None,
        data: Default::default(),
    }
}

fn seam() -> IdentityConfig {
    IdentityConfig {
        user_claim: "idUser".into(),
        messages: IdentityMessages {
            missing: "Token requerido para conectarse".into(),
            invalid: "Token inválido o expirado".into(),
        },
        ..hs256()
    }
}

#[test]
fn connect_without_a_token_gets_the_missing_message() {
    let v = verifier(hs256());
    let err = v.authenticate(&request(json!({}), &[], &[])).unwrap_err();
    assert_eq!(err.message, "Authentication token required");
    let v = verifier(seam());
    let err = v
        .authenticate(&request(json!({"token": null}), &[], &[]))
        .unwrap_err();
    assert_eq!(err.message, "Token requerido para conectarse");
}

#[test]
fn connect_with_a_bad_token_gets_the_invalid_message() {
    let v = verifier(seam());
    let expired = hs(json!({"idUser": 1, "exp": now() - 3600}));
    for auth in [
        json!({"token": "garbage"}),
        json!({"token": expired}),
        json!({"token": hs_token(Algorithm::HS256, "wrong-secret-wrong-secret-wrong-se", valid_claims())}),
    ] {
        let err = v.authenticate(&request(auth, &[], &[])).unwrap_err();
        assert_eq!(err.message, "Token inválido o expirado");
        assert_eq!(err.data, None);
    }
}

#[test]
fn connect_with_a_token_from_each_source() {
    let v = verifier(seam());
    let token = hs(json!({"idUser": 42, "exp": now() + 60}));
    let bearer = format!("Bearer {token}");
    for req in [
        request(json!({"token": token}), &[], &[]),
        request(json!({}), &[("token", &token)], &[]),
        request(json!({}), &[("accessToken", &token)], &[]),
        request(json!({}), &[], &[("authorization", &bearer)]),
    ] {
        assert_eq!(v.authenticate(&req).unwrap().user_id, "42");
    }
}

#[test]
fn a_cookie_token_counts_only_from_a_trusted_origin() {
    let v = verifier(IdentityConfig {
        cookie: Some("token".into()),
        ..seam()
    });
    let token = hs(json!({"idUser": 42, "exp": now() + 60}));
    let cookie = format!("token={token}");
    let mut req = request(json!({}), &[], &[("cookie", &cookie)]);
    assert_eq!(v.token_of(&req), None);
    let err = v.authenticate(&req).unwrap_err();
    assert_eq!(err.message, "Token requerido para conectarse");
    Arc::get_mut(&mut req.handshake).unwrap().trusted_origin = true;
    assert_eq!(v.authenticate(&req).unwrap().user_id, "42");
}

#[test]
fn the_first_token_found_decides() {
    let v = verifier(hs256());
    let good = hs(valid_claims());
    // A good auth.token wins over a bad query token...
    let req = request(json!({"token": good}), &[("token", "bad")], &[]);
    assert_eq!(
        v.token_of(&req).map(|(_, source)| source),
        Some(TokenSource::Auth)
    );
    assert!(v.authenticate(&req).is_ok());
    // ...and a bad one is not rescued by a good one further down.
    let req = request(
        json!({"token": "bad"}),
        &[("token", &good)],
        &[("authorization", &format!("Bearer {good}"))],
    );
    assert!(v.authenticate(&req).is_err());
    let req = request(
        json!({}),
        &[("accessToken", "bad")],
        &[("authorization", &format!("Bearer {good}"))],
    );
    assert_eq!(
        v.token_of(&req).map(|(_, source)| source),
        Some(TokenSource::Query("accessToken"))
    );
    assert!(v.authenticate(&req).is_err());
}

#[test]
fn query_user_id_is_ignored_by_default() {
    let v = verifier(hs256());
    let err = v
        .authenticate(&request(json!({}), &[("userId", "u9")], &[]))
        .unwrap_err();
    assert_eq!(err.message, "Authentication token required");
}

#[test]
fn query_user_id_is_trusted_when_switched_on() {
    let v = verifier(IdentityConfig {
        trust_query_user_id: true,
        ..hs256()
    });
    let identity = v
        .authenticate(&request(json!({}), &[("userId", "u9")], &[]))
        .unwrap();
    assert_eq!(identity, Identity::unverified("u9"));
    // Still refused with no user id either.
    for query in [&[][..], &[("userId", "")], &[("userId", "undefined")]] {
        assert!(v.authenticate(&request(json!({}), query, &[])).is_err());
    }
    // A token, when present, must verify and wins over userId.
    let req = request(json!({"token": "bad"}), &[("userId", "u9")], &[]);
    assert_eq!(
        v.authenticate(&req).unwrap_err().message,
        "Invalid or expired token"
    );
    let req = request(
        json!({"token": hs(valid_claims())}),
        &[("userId", "u9")],
        &[],
    );
    assert_eq!(v.authenticate(&req).unwrap().user_id, "u1");
}

#[test]
fn apply_records_the_identity_in_the_request() {
    let v = Arc::new(verifier(hs256()));
    let token = hs(json!({"sub": "u1", "exp": now() + 60, "name": "Ana"}));
    let req = (v.middleware())(request(json!({"token": token}), &[], &[]))
        .into_inner()
        .unwrap();
    assert_eq!(req.user_id.as_deref(), Some("u1"));
    let identity = &req.data[IDENTITY_DATA_KEY];
    assert_eq!(identity["userId"], "u1");
    assert_eq!(identity["name"], "Ana");
    assert_eq!(identity["claims"]["sub"], "u1");
    let err = (v.middleware())(request(json!({}), &[], &[]))
        .into_inner()
        .unwrap_err();
    assert_eq!(err.message, "Authentication token required");
    // It fits a namespace.
    let mut ns = confab_engine::Namespace::new();
    ns.middleware(v.middleware());
}
