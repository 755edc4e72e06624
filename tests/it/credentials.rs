//! Private Key JWT credentials through the Management API: the seed's flows end to end, and every
//! upload and client-write rule of BEHAVIOUR A.1, A.2, B.8, B.9.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::PublicKeyComponents;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Db, TestApp, assert_api_error};
use crate::on_both_databases;

macro_rules! key {
    ($name:literal) => {
        include_str!(concat!("../fixtures/keys/", $name))
    };
}

const PUB_2048: &str = key!("rsa2048.pub.pem");
const PUB_3072: &str = key!("rsa3072.pub.pem");

fn credential(pem: &str) -> Value {
    json!({"name": "ci-runner", "credential_type": "public_key", "pem": pem})
}

async fn add_credential(
    app: &TestApp,
    token: &str,
    client_id: &str,
    body: &Value,
) -> reqwest::Response {
    app.post_json(
        token,
        &format!("/api/v2/clients/{client_id}/credentials"),
        body,
    )
    .await
}

fn assert_credential_shape(c: &Value) {
    let id = c["id"].as_str().unwrap();
    assert!(id.starts_with("cred_") && id.len() == 27, "{id}");
    assert_eq!(c["credential_type"], "public_key");
    assert!(c.get("pem").is_none(), "pem is write-only");
    for field in ["created_at", "updated_at"] {
        let t = c[field].as_str().unwrap();
        assert!(t.ends_with('Z') && t.len() == 24, "{field}: {t}");
    }
    assert!(
        c.get("expires_at").is_some(),
        "expires_at is present (null when unset)"
    );
}

on_both_databases!(
    seed_flow_new_application_with_a_credential,
    seed_flow_existing_application_rotate_expire_and_switch_back,
    kid_is_the_rfc7638_thumbprint,
    key_sizes_and_types_are_checked,
    upload_rules_are_enforced,
    client_write_rules_are_enforced,
    failed_client_creation_leaves_nothing_behind,
    credential_endpoints_require_their_scopes,
);

async fn seed_flow_new_application_with_a_credential(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.management_token().await;
    let res = app
        .post_json(
            &admin,
            "/api/v2/clients",
            &json!({
                "name": "pkjwt app",
                "app_type": "non_interactive",
                "client_authentication_methods": {"private_key_jwt": {"credentials": [{
                    "name": "key one", "credential_type": "public_key", "pem": PUB_2048,
                    "alg": "PS256", "expires_at": "2099-08-20T19:10:06.299Z"
                }]}},
                "jwt_configuration": {"alg": "RS256"}
            }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let client: Value = res.json().await.unwrap();
    assert!(
        client.get("client_secret").is_none(),
        "secret hidden while Private Key JWT is on"
    );
    assert!(client["token_endpoint_auth_method"].is_null());
    let created = &client["client_authentication_methods"]["private_key_jwt"]["credentials"][0];
    assert_credential_shape(created);
    assert_eq!(created["name"], "key one");
    assert_eq!(created["alg"], "PS256");
    assert_eq!(created["expires_at"], "2099-08-20T19:10:06.299Z");
    assert_eq!(created["kid"].as_str().unwrap().len(), 43);
    let id = client["client_id"].as_str().unwrap();
    // GET echoes the association as ids, and the credential is listed and enabled.
    let fetched: Value = app
        .get(&admin, &format!("/api/v2/clients/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        fetched["client_authentication_methods"],
        json!({"private_key_jwt": {"credentials": [{"id": created["id"]}]}})
    );
    assert!(fetched.get("client_secret").is_none());
    let listed: Value = app
        .get(&admin, &format!("/api/v2/clients/{id}/credentials"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0], *created);
    // The secret no longer authenticates.
    let res = app
        .secret_token_request(id, "anything-at-all-here", &app.management_audience())
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // Deleting the client deletes its credentials.
    assert_eq!(
        app.delete(&admin, &format!("/api/v2/clients/{id}"))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_api_error(
        app.get(&admin, &format!("/api/v2/clients/{id}/credentials"))
            .await,
        404,
        "inexistent_client",
    )
    .await;
    assert_eq!(credential_rows(&app, id).await, 0);
}

async fn credential_rows(app: &TestApp, client_id: &str) -> i64 {
    use sqlx::{Connection, Row};
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&app.db.url).await.unwrap();
    let row = sqlx::query("SELECT COUNT(*) AS n FROM credentials WHERE client_id = $1")
        .bind(client_id)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    row.try_get("n").unwrap()
}

async fn seed_flow_existing_application_rotate_expire_and_switch_back(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.management_token().await;
    let client = app.create_client(&admin, "existing").await;
    let id = client["client_id"].as_str().unwrap().to_owned();
    let secret = client["client_secret"].as_str().unwrap().to_owned();
    let path = format!("/api/v2/clients/{id}");

    // Create the credential resource (not enabled yet).
    let res = add_credential(&app, &admin, &id, &credential(PUB_2048)).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let first: Value = res.json().await.unwrap();
    assert_credential_shape(&first);
    assert!(first["expires_at"].is_null());
    let still: Value = app.get(&admin, &path).await.json().await.unwrap();
    assert_eq!(still["token_endpoint_auth_method"], "client_secret_post");
    assert_eq!(still["client_secret"], secret.as_str());

    // Associate it: the seed's PATCH.
    let res = app
        .patch_json(&admin, &path, &json!({"token_endpoint_auth_method": null, "client_authentication_methods": {"private_key_jwt": {"credentials": [{"id": first["id"]}]}}}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let patched: Value = res.json().await.unwrap();
    assert!(patched.get("client_secret").is_none());
    assert_eq!(
        patched["client_authentication_methods"]["private_key_jwt"]["credentials"],
        json!([{"id": first["id"]}])
    );

    // Rotate: add a second key, list both, then only the new one, then delete the old one.
    let second: Value = add_credential(&app, &admin, &id, &credential(PUB_3072))
        .await
        .json()
        .await
        .unwrap();
    let res = app
        .patch_json(&admin, &path, &json!({"client_authentication_methods": {"private_key_jwt": {"credentials": [{"id": first["id"]}, {"id": second["id"]}]}}}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .delete(
            &admin,
            &format!("{path}/credentials/{}", first["id"].as_str().unwrap()),
        )
        .await;
    let err = assert_api_error(res, 409, "conflict").await;
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("client_authentication_methods")
    );
    let res = app
        .patch_json(&admin, &path, &json!({"client_authentication_methods": {"private_key_jwt": {"credentials": [{"id": second["id"]}]}}}))
        .await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body["client_authentication_methods"]["private_key_jwt"]["credentials"],
        json!([{"id": second["id"]}])
    );
    let res = app
        .delete(
            &admin,
            &format!("{path}/credentials/{}", first["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(res.text().await.unwrap().is_empty());
    assert_api_error(
        app.get(
            &admin,
            &format!("{path}/credentials/{}", first["id"].as_str().unwrap()),
        )
        .await,
        404,
        "inexistent_credential",
    )
    .await;

    // Set an expiry, then clear it; a past one is refused.
    let cred_path = format!("{path}/credentials/{}", second["id"].as_str().unwrap());
    let res = app
        .patch_json(
            &admin,
            &cred_path,
            &json!({"expires_at": "2098-01-02T03:04:05Z"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["expires_at"], "2098-01-02T03:04:05.000Z");
    assert_eq!(body["kid"], second["kid"]);
    let res = app
        .patch_json(
            &admin,
            &cred_path,
            &json!({"expires_at": "2001-01-01T00:00:00Z"}),
        )
        .await;
    assert_api_error(res, 400, "invalid_body").await;
    let res = app
        .patch_json(&admin, &cred_path, &json!({"name": "renamed"}))
        .await;
    assert_api_error(res, 400, "invalid_body").await;
    let res = app
        .patch_json(&admin, &cred_path, &json!({"expires_at": null}))
        .await;
    let body: Value = res.json().await.unwrap();
    assert!(body["expires_at"].is_null());

    // Switch back to a client secret: the same secret shows again and works again.
    let res = app
        .patch_json(&admin, &path, &json!({"token_endpoint_auth_method": "client_secret_post", "client_authentication_methods": null}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let back: Value = res.json().await.unwrap();
    assert_eq!(back["client_secret"], secret.as_str());
    assert!(back.get("client_authentication_methods").is_none());
    app.create_api(&admin, "https://back.example/", &["x"])
        .await;
    app.grant(&admin, &id, "https://back.example/", &["x"])
        .await;
    app.token_with_secret(&id, &secret, "https://back.example/")
        .await;
    // The credential is kept, no longer associated, so it can now be deleted.
    assert_eq!(
        app.delete(&admin, &cred_path).await.status(),
        StatusCode::NO_CONTENT
    );
}

/// RFC 7638 §3.1's example key, as an SPKI PEM built here from its n and e.
fn rfc7638_example_pem() -> String {
    let n = URL_SAFE_NO_PAD.decode("0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw").unwrap();
    let e = URL_SAFE_NO_PAD.decode("AQAB").unwrap();
    let der = PublicKeyComponents {
        n: n.as_slice(),
        e: e.as_slice(),
    }
    .as_der()
    .unwrap();
    let b64 = STANDARD.encode(der.as_ref());
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        lines.join("\n")
    )
}

/// The thumbprint computed independently of the server: n and e read from the certificate-free
/// PKCS#1 form with aws-lc, the JSON written by hand.
fn independent_thumbprint(pem_pkcs1: &str) -> String {
    let body: String = pem_pkcs1
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let der = STANDARD.decode(body).unwrap();
    let key = aws_lc_rs::rsa::PublicKey::from_der(&der).unwrap();
    let n = URL_SAFE_NO_PAD.encode(key.modulus().big_endian_without_leading_zero());
    let e = URL_SAFE_NO_PAD.encode(key.exponent().big_endian_without_leading_zero());
    let json = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
    URL_SAFE_NO_PAD
        .encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, json.as_bytes()).as_ref())
}

async fn kid_is_the_rfc7638_thumbprint(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.management_token().await;
    let id = app.create_client(&admin, "kid").await["client_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = add_credential(&app, &admin, &id, &credential(&rfc7638_example_pem())).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["kid"], "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    let res = add_credential(&app, &admin, &id, &credential(key!("rsa4096.cert.pem"))).await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body["kid"],
        independent_thumbprint(key!("rsa4096.pkcs1.pub.pem"))
    );
}

async fn key_sizes_and_types_are_checked(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.management_token().await;
    let accepted = [
        key!("rsa2048.pub.pem"),
        key!("rsa2048.pkcs1.pub.pem"),
        key!("rsa2048.cert.pem"),
        key!("rsa3072.pub.pem"),
        key!("rsa3072.pkcs1.pub.pem"),
        key!("rsa3072.cert.pem"),
        key!("rsa4096.pub.pem"),
        key!("rsa4096.pkcs1.pub.pem"),
        key!("rsa4096.cert.pem"),
    ];
    for pem in accepted {
        // One fresh application per key: at most two credentials each.
        let id = app.create_client(&admin, "sizes").await["client_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let res = add_credential(&app, &admin, &id, &credential(pem)).await;
        assert_eq!(res.status(), StatusCode::CREATED, "{pem}");
    }
    let id = app.create_client(&admin, "refusals").await["client_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let truncated = &PUB_2048[..PUB_2048.len() / 2];
    let refused: Vec<(String, &str)> = vec![
        (key!("rsa1024.pub.pem").into(), "1024 bits"),
        (key!("rsa2047.pub.pem").into(), "2047 bits"),
        (key!("rsa4098.pub.pem").into(), "4098 bits"),
        (key!("rsa8192.pub.pem").into(), "8192 bits"),
        // P-256, P-384 and Ed25519 are accepted (tests/it/ec_keys.rs); other curves are not.
        (key!("ec-p521.pub.pem").into(), "P-521"),
        (key!("ec-secp256k1.pub.pem").into(), "secp256k1"),
        (key!("ed448.pub.pem").into(), "Ed448"),
        (key!("rsa2048.key.pem").into(), "leaked"),
        (key!("rsa2048.pkcs1.key.pem").into(), "leaked"),
        (truncated.into(), "PEM"),
        ("garbage".into(), "PEM"),
        (
            "-----BEGIN PUBLIC KEY-----\nnot base64!\n-----END PUBLIC KEY-----\n".into(),
            "base64",
        ),
        (format!("{PUB_2048}{PUB_3072}"), "2 PEM blocks"),
    ];
    for (pem, words) in refused {
        let res = add_credential(&app, &admin, &id, &credential(&pem)).await;
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
    // Pasted forms: CRLF, the JSON-escaped form with literal \n, and the seed's one-line form.
    let one_line = PUB_2048.replace('\n', " ");
    let escaped = PUB_2048.replace('\n', "\\n");
    for (i, pem) in [PUB_2048.replace('\n', "\r\n"), escaped, one_line]
        .into_iter()
        .enumerate()
    {
        let id = app.create_client(&admin, "pasted").await["client_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let res = add_credential(&app, &admin, &id, &credential(&format!("  {pem}  "))).await;
        assert_eq!(res.status(), StatusCode::CREATED, "form {i}");
    }
}

async fn upload_rules_are_enforced(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.management_token().await;
    let id = app.create_client(&admin, "rules").await["client_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let with = |extra: Value| {
        let mut body = credential(PUB_2048);
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    let cases: Vec<(Value, &str)> = vec![
        (with(json!({"parse_expiry_from_cert": true})), "certificate"),
        (
            json!({"credential_type": "public_key", "pem": key!("rsa2048.cert.pem"), "parse_expiry_from_cert": true, "expires_at": "2090-01-01T00:00:00Z"}),
            "together",
        ),
        (
            json!({"credential_type": "public_key", "pem": key!("rsa2048.expired.cert.pem"), "parse_expiry_from_cert": true}),
            "expired",
        ),
        (
            with(json!({"expires_at": "2020-08-20T19:10:06.299Z"})),
            "future",
        ),
        (with(json!({"expires_at": "someday"})), "ISO 8601"),
        (with(json!({"alg": "HS256"})), "alg"),
        (with(json!({"alg": "ES256"})), "alg"),
        (with(json!({"kid": "short"})), "kid"),
        (with(json!({"kid": "has spaces in it"})), "kid"),
        (
            with(json!({"credential_type": "x509_cert"})),
            "credential_type",
        ),
        (with(json!({"name": "n".repeat(129)})), "name"),
        (
            with(json!({"expires_at ": "2090-01-01T00:00:00Z"})),
            "expires_at ",
        ),
        (json!({"credential_type": "public_key"}), "pem"),
    ];
    for (body, words) in cases {
        let res = add_credential(&app, &admin, &id, &body).await;
        let err = assert_api_error(res, 400, "invalid_body").await;
        assert!(
            err["message"].as_str().unwrap().contains(words),
            "{words}: {err}"
        );
    }
    // Certificates: expiry from notAfter when asked, none otherwise.
    let res = add_credential(&app, &admin, &id, &json!({"credential_type": "public_key", "pem": key!("rsa2048.cert.pem"), "parse_expiry_from_cert": true})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    assert!(
        body["expires_at"]
            .as_str()
            .unwrap()
            .starts_with("2036-11-25T"),
        "{body}"
    );
    // The same key twice (here: as a bare key after its certificate) is a conflict.
    let res = add_credential(
        &app,
        &admin,
        &id,
        &credential(key!("rsa2048.pkcs1.pub.pem")),
    )
    .await;
    assert_api_error(res, 409, "conflict").await;
    // A caller-chosen kid is kept; a third credential is refused.
    let res = add_credential(
        &app,
        &admin,
        &id,
        &with(json!({"kid": "my-own-kid_0001", "alg": "RS384"}))
            .as_object()
            .map(|o| {
                let mut o = o.clone();
                o.insert("pem".into(), json!(PUB_3072));
                Value::Object(o)
            })
            .unwrap(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["kid"], "my-own-kid_0001");
    assert_eq!(body["alg"], "RS384");
    let res = add_credential(&app, &admin, &id, &credential(key!("rsa4096.pub.pem"))).await;
    let err = assert_api_error(res, 400, "invalid_body").await;
    assert!(err["message"].as_str().unwrap().contains("at most 2"));
    // Unknown application.
    let res = add_credential(&app, &admin, "nope", &credential(PUB_2048)).await;
    assert_api_error(res, 404, "inexistent_client").await;
}

async fn client_write_rules_are_enforced(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.management_token().await;
    let pkjwt = |creds: Value| json!({"private_key_jwt": {"credentials": creds}});
    let full = json!([credential(PUB_2048)]);
    let create_cases: Vec<(Value, &str)> = vec![
        (
            json!({"name": "x", "token_endpoint_auth_method": "client_secret_post", "client_authentication_methods": pkjwt(full.clone())}),
            "mutually exclusive",
        ),
        (
            json!({"name": "x", "client_authentication_methods": pkjwt(full.clone()), "jwt_configuration": {"alg": "HS256"}}),
            "HS256",
        ),
        (
            json!({"name": "x", "client_authentication_methods": {}}),
            "private_key_jwt",
        ),
        (
            json!({"name": "x", "client_authentication_methods": {"tls_client_auth": {}}}),
            "tls_client_auth",
        ),
        (
            json!({"name": "x", "client_authentication_methods": {"private_key_jwt": {"credentials": full.clone()}, "jwt_configuration": {"alg": "RS256"}}}),
            "jwt_configuration",
        ),
        (
            json!({"name": "x", "client_authentication_methods": pkjwt(json!([]))}),
            "at least one",
        ),
        (
            json!({"name": "x", "client_authentication_methods": pkjwt(json!([credential(PUB_2048), credential(PUB_3072), credential(key!("rsa4096.pub.pem"))]))}),
            "at most 2",
        ),
        (
            json!({"name": "x", "client_authentication_methods": pkjwt(json!([credential(key!("rsa1024.pub.pem"))]))}),
            "credentials[0].pem",
        ),
    ];
    for (body, words) in create_cases {
        let res = app.post_json(&admin, "/api/v2/clients", &body).await;
        let err = assert_api_error(res, 400, "invalid_body").await;
        assert!(
            err["message"].as_str().unwrap().contains(words),
            "{words}: {err}"
        );
    }
    // PATCH rules.
    let mine = app.create_client(&admin, "mine").await["client_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let other = app.create_client(&admin, "other").await["client_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let my_cred: Value = add_credential(&app, &admin, &mine, &credential(PUB_2048))
        .await
        .json()
        .await
        .unwrap();
    let their_cred: Value = add_credential(&app, &admin, &other, &credential(PUB_3072))
        .await
        .json()
        .await
        .unwrap();
    let path = format!("/api/v2/clients/{mine}");
    let patch_cases: Vec<(Value, &str)> = vec![
        (
            json!({"token_endpoint_auth_method": "client_secret_post", "client_authentication_methods": pkjwt(json!([{"id": my_cred["id"]}]))}),
            "mutually exclusive",
        ),
        (
            json!({"client_authentication_methods": pkjwt(json!([{"id": their_cred["id"]}]))}),
            "does not belong",
        ),
        (
            json!({"client_authentication_methods": pkjwt(json!([{"id": "cred_doesnotexist0000000000"}]))}),
            "does not belong",
        ),
        (
            json!({"client_authentication_methods": pkjwt(json!([{"id": my_cred["id"]}, {"id": my_cred["id"]}]))}),
            "more than once",
        ),
        (
            json!({"client_authentication_methods": pkjwt(full.clone())}),
            "unknown field",
        ),
        (
            json!({"client_authentication_methods": pkjwt(json!([{"id": my_cred["id"]}])), "jwt_configuration": {"alg": "HS256"}}),
            "HS256",
        ),
        (
            json!({"client_authentication_methods": {}}),
            "private_key_jwt",
        ),
        (
            json!({"token_endpoint_auth_method": "private_key_jwt"}),
            "token_endpoint_auth_method",
        ),
    ];
    for (body, words) in patch_cases {
        let res = app.patch_json(&admin, &path, &body).await;
        let err = assert_api_error(res, 400, "invalid_body").await;
        assert!(
            err["message"].as_str().unwrap().contains(words),
            "{words}: {err}"
        );
    }
    // Once on Private Key JWT: HS256 is refused, and leaving needs an explicit method.
    let res = app.patch_json(&admin, &path, &json!({"token_endpoint_auth_method": null, "client_authentication_methods": pkjwt(json!([{"id": my_cred["id"]}]))})).await;
    assert_eq!(res.status(), StatusCode::OK);
    for (body, words) in [
        (json!({"jwt_configuration": {"alg": "HS256"}}), "HS256"),
        (
            json!({"client_authentication_methods": null}),
            "token_endpoint_auth_method",
        ),
        (
            json!({"token_endpoint_auth_method": "client_secret_basic"}),
            "switch back",
        ),
    ] {
        let res = app.patch_json(&admin, &path, &body).await;
        let err = assert_api_error(res, 400, "invalid_body").await;
        assert!(
            err["message"].as_str().unwrap().contains(words),
            "{words}: {err}"
        );
    }
    let still: Value = app.get(&admin, &path).await.json().await.unwrap();
    assert_eq!(
        still["client_authentication_methods"]["private_key_jwt"]["credentials"],
        json!([{"id": my_cred["id"]}])
    );
    assert_eq!(still["jwt_configuration"]["alg"], "RS256");
}

async fn failed_client_creation_leaves_nothing_behind(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.management_token().await;
    let before: Value = app
        .get(&admin, "/api/v2/clients?include_totals=true")
        .await
        .json()
        .await
        .unwrap();
    // The second credential repeats the first key: found only after the client and the first
    // credential were written inside the transaction.
    let res = app
        .post_json(&admin, "/api/v2/clients", &json!({"name": "half", "client_authentication_methods": {"private_key_jwt": {"credentials": [credential(PUB_2048), credential(key!("rsa2048.cert.pem"))]}}}))
        .await;
    assert_api_error(res, 409, "conflict").await;
    let after: Value = app
        .get(&admin, "/api/v2/clients?include_totals=true")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(before["total"], after["total"]);
    assert!(
        after["clients"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["name"] != "half")
    );
}

async fn credential_endpoints_require_their_scopes(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.management_token().await;
    let id = app.create_client(&admin, "scoped").await["client_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let cred: Value = add_credential(&app, &admin, &id, &credential(PUB_2048))
        .await
        .json()
        .await
        .unwrap();
    let cred_path = format!(
        "/api/v2/clients/{id}/credentials/{}",
        cred["id"].as_str().unwrap()
    );
    let everything_else = app
        .management_token_with(&[
            "read:clients",
            "create:clients",
            "update:clients",
            "delete:clients",
            "read:client_keys",
            "update:client_keys",
        ])
        .await;
    let res = app
        .post_json(
            &everything_else,
            &format!("/api/v2/clients/{id}/credentials"),
            &credential(PUB_3072),
        )
        .await;
    assert!(
        assert_api_error(res, 403, "insufficient_scope").await["message"]
            .as_str()
            .unwrap()
            .contains("create:client_credentials")
    );
    let res = app
        .get(
            &everything_else,
            &format!("/api/v2/clients/{id}/credentials"),
        )
        .await;
    assert!(
        assert_api_error(res, 403, "insufficient_scope").await["message"]
            .as_str()
            .unwrap()
            .contains("read:client_credentials")
    );
    let res = app.get(&everything_else, &cred_path).await;
    assert_api_error(res, 403, "insufficient_scope").await;
    let res = app
        .patch_json(&everything_else, &cred_path, &json!({"expires_at": null}))
        .await;
    assert!(
        assert_api_error(res, 403, "insufficient_scope").await["message"]
            .as_str()
            .unwrap()
            .contains("update:client_credentials")
    );
    let res = app.delete(&everything_else, &cred_path).await;
    assert!(
        assert_api_error(res, 403, "insufficient_scope").await["message"]
            .as_str()
            .unwrap()
            .contains("delete:client_credentials")
    );
    // Creating a client with credentials, and switching methods, need the credential scopes too.
    let res = app.post_json(&everything_else, "/api/v2/clients", &json!({"name": "x", "client_authentication_methods": {"private_key_jwt": {"credentials": [credential(PUB_3072)]}}})).await;
    assert!(
        assert_api_error(res, 403, "insufficient_scope").await["message"]
            .as_str()
            .unwrap()
            .contains("create:client_credentials")
    );
    let switch = json!({"token_endpoint_auth_method": null, "client_authentication_methods": {"private_key_jwt": {"credentials": [{"id": cred["id"]}]}}});
    let res = app
        .patch_json(&everything_else, &format!("/api/v2/clients/{id}"), &switch)
        .await;
    assert!(
        assert_api_error(res, 403, "insufficient_scope").await["message"]
            .as_str()
            .unwrap()
            .contains("update:client_credentials")
    );
    // With the scopes, each works; read:clients alone does not reveal the methods.
    let creds = app
        .management_token_with(&[
            "read:client_credentials",
            "create:client_credentials",
            "update:client_credentials",
            "delete:client_credentials",
            "update:clients",
        ])
        .await;
    assert_eq!(
        app.patch_json(&creds, &format!("/api/v2/clients/{id}"), &switch)
            .await
            .status(),
        StatusCode::OK
    );
    let reader = app.management_token_with(&["read:clients"]).await;
    let seen: Value = app
        .get(&reader, &format!("/api/v2/clients/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        seen.get("client_authentication_methods").is_none() && seen.get("client_secret").is_none(),
        "{seen}"
    );
    let seen: Value = app
        .get(&creds, &format!("/api/v2/clients/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        seen.get("client_authentication_methods").is_some(),
        "{seen}"
    );
    assert_eq!(app.get(&creds, &cred_path).await.status(), StatusCode::OK);
}
