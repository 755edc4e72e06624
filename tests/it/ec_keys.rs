//! P-256, P-384 and Ed25519 credentials (BEHAVIOUR A.1, B.4, B.8), a signet extension beyond
//! Auth0: uploaded through the Management API, used at the token endpoint with assertions signed
//! by an independent JWT library, and refused with their reason codes in the audit log.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::dashboard::Session;
use crate::helpers::{Db, TestApp, assert_api_error};
use crate::on_both_databases;
use crate::private_key_jwt::{Setup, ok_token};

macro_rules! key {
    ($name:literal) => {
        include_str!(concat!("../fixtures/keys/", $name))
    };
}

/// (alg, jsonwebtoken's algorithm, uploaded public key or certificate, private key PEM).
const CURVES: [(&str, Algorithm, &str, &str); 3] = [
    (
        "ES256",
        Algorithm::ES256,
        key!("ec-p256.pub.pem"),
        key!("ec-p256.key.pem"),
    ),
    (
        "ES384",
        Algorithm::ES384,
        key!("ec-p384.cert.pem"),
        key!("ec-p384.key.pem"),
    ),
    (
        "EdDSA",
        Algorithm::EdDSA,
        key!("ed25519.pub.pem"),
        key!("ed25519.key.pem"),
    ),
];

fn encoding_key(algorithm: Algorithm, private: &str) -> EncodingKey {
    match algorithm {
        Algorithm::EdDSA => EncodingKey::from_ed_pem(private.as_bytes()).unwrap(),
        _ => EncodingKey::from_ec_pem(private.as_bytes()).unwrap(),
    }
}

/// An assertion with any header `alg`, signed by jsonwebtoken as `algorithm` (the header is
/// rewritten after signing when they differ, so the signature is genuine but mislabelled).
fn assertion(
    s: &Setup,
    algorithm: Algorithm,
    private: &str,
    header_alg: &str,
    kid: bool,
) -> String {
    let mut header = Header::new(algorithm);
    if kid {
        header.kid = Some(s.kid().to_owned());
    }
    let token = encode(&header, &s.claims(), &encoding_key(algorithm, private)).unwrap();
    let mut parts = token.splitn(2, '.');
    let (h, rest) = (parts.next().unwrap(), parts.next().unwrap());
    let mut h: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).unwrap()).unwrap();
    if h["alg"] == header_alg {
        return token;
    }
    h["alg"] = json!(header_alg);
    format!("{}.{rest}", URL_SAFE_NO_PAD.encode(h.to_string()))
}

on_both_databases!(
    ec_and_ed25519_keys_get_tokens_with_and_without_kid,
    ec_credential_upload_defaults_and_fits_the_alg_to_the_key,
    ec_and_ed25519_assertions_are_refused_with_their_reasons,
    ec_keys_are_added_in_the_dashboard_with_their_alg,
);

async fn ec_and_ed25519_keys_get_tokens_with_and_without_kid(db: Db) {
    for (alg, algorithm, public, private) in CURVES {
        let Some(app) = TestApp::spawn(db).await else {
            return;
        };
        let s = Setup::new(app, public, alg).await;
        assert_eq!(s.credential["alg"], alg);
        assert_eq!(s.kid().len(), 43, "the RFC 7638 thumbprint");
        for kid in [false, true] {
            let a = assertion(&s, algorithm, private, alg, kid);
            let client_id = kid.then_some(s.client_id.as_str());
            let body = ok_token(s.post_form(&a, client_id).await).await;
            assert_eq!(body["scope"], "read:reports", "{alg}");
        }
    }
}

async fn ec_credential_upload_defaults_and_fits_the_alg_to_the_key(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.management_token().await;
    let add = |id: String, body: Value| {
        let app = &app;
        let admin = &admin;
        async move {
            app.post_json(admin, &format!("/api/v2/clients/{id}/credentials"), &body)
                .await
        }
    };
    let new_client = || async {
        app.create_client(&admin, "ec").await["client_id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    // No alg: the key's own, in Auth0's credential shape.
    for (alg, _, public, _) in CURVES {
        let id = new_client().await;
        let res = add(
            id.clone(),
            json!({"credential_type": "public_key", "name": "k", "pem": public}),
        )
        .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let credential: Value = res.json().await.unwrap();
        assert_eq!(credential["alg"], alg);
        assert_eq!(credential["credential_type"], "public_key");
        assert!(credential.get("pem").is_none());
        let mut members: Vec<&str> = credential
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        members.sort_unstable();
        assert_eq!(
            members,
            [
                "alg",
                "created_at",
                "credential_type",
                "expires_at",
                "id",
                "kid",
                "last_used_at",
                "name",
                "updated_at"
            ]
        );
    }
    // An alg of another kind of key, named in the message with the key found.
    let id = new_client().await;
    let refused = [
        (
            key!("ec-p256.pub.pem"),
            "ES384",
            "alg: ES384 needs a P-384 key; this key is P-256",
        ),
        (
            key!("ec-p256.pub.pem"),
            "RS256",
            "alg: RS256 needs an RSA key; this key is P-256",
        ),
        (
            key!("ec-p384.pub.pem"),
            "ES256",
            "alg: ES256 needs a P-256 key; this key is P-384",
        ),
        (
            key!("ed25519.pub.pem"),
            "ES256",
            "alg: ES256 needs a P-256 key; this key is Ed25519",
        ),
        (
            key!("rsa2048.pub.pem"),
            "ES256",
            "alg: ES256 needs a P-256 key; this key is RSA 2048 bits",
        ),
        (
            key!("rsa2048.pub.pem"),
            "EdDSA",
            "alg: EdDSA needs an Ed25519 key; this key is RSA 2048 bits",
        ),
    ];
    for (pem, alg, words) in refused {
        let res = add(
            id.clone(),
            json!({"credential_type": "public_key", "pem": pem, "alg": alg}),
        )
        .await;
        let err = assert_api_error(res, 400, "invalid_body").await;
        let message = err["message"].as_str().unwrap();
        assert!(message.contains(words), "{words}: {message}");
    }
    // ES512 is no alg of ours; other curves and types are refused by name; private keys as
    // leaked.
    let res = add(
        id.clone(),
        json!({"credential_type": "public_key", "pem": key!("ec-p256.pub.pem"), "alg": "ES512"}),
    )
    .await;
    assert_api_error(res, 400, "invalid_body").await;
    for (pem, words) in [
        (key!("ec-p521.pub.pem"), "P-521 keys are not accepted"),
        (
            key!("ec-secp256k1.pub.pem"),
            "secp256k1 keys are not accepted",
        ),
        (key!("ed448.pub.pem"), "Ed448 keys are not accepted"),
        (key!("x25519.pub.pem"), "X25519"),
        (key!("ec-p256.key.pem"), "leaked"),
        (key!("ec-p256.sec1.key.pem"), "leaked"),
        (key!("ed25519.key.pem"), "leaked"),
    ] {
        let res = add(
            id.clone(),
            json!({"credential_type": "public_key", "pem": pem}),
        )
        .await;
        let err = assert_api_error(res, 400, "invalid_body").await;
        let message = err["message"].as_str().unwrap();
        assert!(message.contains(words), "{words}: {message}");
        assert!(
            !message.contains("MII"),
            "no key material echoed: {message}"
        );
    }
    let listed: Value = app
        .get(&admin, &format!("/api/v2/clients/{id}/credentials"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed, json!([]), "nothing refused was stored");
    // The same key as a certificate is the same key: a conflict.
    let id = new_client().await;
    for (pem, status) in [
        (key!("ec-p384.pub.pem"), StatusCode::CREATED),
        (key!("ec-p384.cert.pem"), StatusCode::CONFLICT),
    ] {
        let res = add(
            id.clone(),
            json!({"credential_type": "public_key", "pem": pem}),
        )
        .await;
        assert_eq!(res.status(), status);
    }
}

async fn ec_and_ed25519_assertions_are_refused_with_their_reasons(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let (_, _, p256_public, p256_private) = CURVES[0];
    let (_, _, _, p384_private) = CURVES[1];
    let (_, _, _, ed_private) = CURVES[2];
    let s = Setup::new(app, p256_public, "ES256").await;

    // ES384 named against the P-256 credential, signed by a P-384 key: the credential's alg
    // decides before any verification.
    let a = assertion(&s, Algorithm::ES384, p384_private, "ES384", true);
    s.assert_refused(s.post_form(&a, None).await, "alg_mismatch")
        .await;
    let a = assertion(&s, Algorithm::EdDSA, ed_private, "EdDSA", true);
    s.assert_refused(s.post_form(&a, None).await, "alg_mismatch")
        .await;
    // An RS256 signature labelled ES256.
    let rsa = EncodingKey::from_rsa_pem(key!("rsa2048.key.pem").as_bytes()).unwrap();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(s.kid().to_owned());
    let token = encode(&header, &s.claims(), &rsa).unwrap();
    let rest = token.split_once('.').unwrap().1;
    let relabelled = format!(
        "{}.{rest}",
        URL_SAFE_NO_PAD.encode(json!({"alg": "ES256", "kid": s.kid()}).to_string())
    );
    s.assert_refused(s.post_form(&relabelled, None).await, "bad_signature")
        .await;
    // A P-384 signature labelled ES256, against the P-256 key.
    let a = assertion(&s, Algorithm::ES384, p384_private, "ES256", true);
    s.assert_refused(s.post_form(&a, None).await, "bad_signature")
        .await;
    // ES512 is not on the allowlist.
    let a = format!(
        "{}.{}.AAAA",
        URL_SAFE_NO_PAD.encode(json!({"alg": "ES512"}).to_string()),
        URL_SAFE_NO_PAD.encode(s.claims().to_string())
    );
    s.assert_refused(s.post_form(&a, None).await, "unsupported_alg")
        .await;
    // A tampered genuine signature.
    let genuine = assertion(&s, Algorithm::ES256, p256_private, "ES256", true);
    let (input, sig) = genuine.rsplit_once('.').unwrap();
    let mut sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
    sig[10] ^= 1;
    let tampered = format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig));
    s.assert_refused(s.post_form(&tampered, None).await, "bad_signature")
        .await;
    // And the genuine one still works (nothing above spent its jti).
    ok_token(s.post_form(&genuine, None).await).await;
}

async fn ec_keys_are_added_in_the_dashboard_with_their_alg(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let s = Session::sign_in(&app).await;
    let id = s.create_app(&app, "Curves").await;
    // The form offers the new algorithms.
    let page = s
        .http
        .get(app.url(&format!("/dashboard/applications/{id}/credentials")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for option in ["value=\"ES256\"", "value=\"ES384\"", "value=\"EdDSA\""] {
        assert!(page.contains(option), "{option}");
    }
    // The form's default RS256 with a P-256 key: refused next to the algorithm, naming both.
    let res = s
        .add_credential(
            &app,
            &id,
            &[("name", "p256"), ("alg", "RS256")],
            Some(key!("ec-p256.pub.pem")),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("RS256 needs an RSA key; this key is P-256"),
        "{html}"
    );
    for (name, alg, pem) in [
        ("p256", "ES256", key!("ec-p256.pub.pem")),
        ("ed25519", "EdDSA", key!("ed25519.cert.pem")),
    ] {
        let res = s
            .add_credential(&app, &id, &[("name", name), ("alg", alg)], Some(pem))
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{name}");
    }
    let admin = app.management_token().await;
    let listed: Value = app
        .get(&admin, &format!("/api/v2/clients/{id}/credentials"))
        .await
        .json()
        .await
        .unwrap();
    let algs: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["alg"].as_str().unwrap())
        .collect();
    assert_eq!(algs.len(), 2);
    assert!(
        algs.contains(&"ES256") && algs.contains(&"EdDSA"),
        "{algs:?}"
    );
}
