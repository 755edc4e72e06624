//! The OpenAPI document: valid OpenAPI 3.1, the same as the repository's copy, covering every
//! route the router has, and (with schemathesis) what the server actually does.

use std::path::{Path, PathBuf};
use std::process::Command;

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{Db, TestApp, in_ci};

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

async fn served_document(app: &TestApp) -> Value {
    let res = app
        .http
        .get(app.url("/api/v2/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

/// Every `(METHOD, path template)` the document lists.
fn operations(doc: &Value) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            if item.get(method).is_some() {
                found.push((method.to_uppercase(), path.clone()));
            }
        }
    }
    found
}

/// Whether a Python module can be imported; under CI=true a missing one is a failure.
fn python_has(module: &str, install: &str) -> bool {
    let ok = Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(!in_ci(), "{install} is required under CI=true");
        eprintln!("SKIPPED: {install} is not installed");
    }
    ok
}

#[tokio::test]
async fn served_document_is_valid_openapi_3_1() {
    let app = TestApp::spawn(Db::Sqlite).await.unwrap();
    let doc = served_document(&app).await;
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(&doc, signet::http::openapi::document());
    if !python_has(
        "openapi_spec_validator",
        "pip install openapi-spec-validator",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, serde_json::to_vec(&doc).unwrap()).unwrap();
    let out = Command::new("python3")
        .args([
            "-c",
            "import sys, json\n\
             from openapi_spec_validator import validate\n\
             from openapi_spec_validator.validation.validators import OpenAPIV31SpecValidator\n\
             validate(json.load(open(sys.argv[1])), cls=OpenAPIV31SpecValidator)\n\
             print('valid')",
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the document is not valid OpenAPI 3.1:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `docs/openapi.json` is what `signet openapi` prints: a change of contract shows in review.
#[test]
fn repository_copy_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/openapi.json");
    let kept = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        kept == signet::http::openapi::pretty(),
        "docs/openapi.json is stale: run `cargo run -- openapi --out docs/openapi.json`"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_signet"))
        .arg("openapi")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), kept);
}

/// Each documented operation reaches a handler: no request for it falls through to the
/// router's "no such route" or "method not allowed" answers.
#[tokio::test]
async fn every_documented_operation_is_routed() {
    let app = TestApp::spawn(Db::Sqlite).await.unwrap();
    let doc = served_document(&app).await;
    let ops = operations(&doc);
    assert!(ops.len() >= 30, "{ops:?}");
    for (method, template) in ops {
        let path = template
            .split('/')
            .map(|seg| if seg.starts_with('{') { "x" } else { seg })
            .collect::<Vec<_>>()
            .join("/");
        let res = app
            .http
            .request(method.parse().unwrap(), app.url(&path))
            .send()
            .await
            .unwrap();
        let status = res.status();
        let body = res.text().await.unwrap_or_default();
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        assert!(
            !body.contains("inexistent_route"),
            "{method} {path} is documented but not routed: {status} {body}"
        );
    }
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// Routes reach the router only through `utoipa_axum::routes!`, which documents them: a
/// plain axum `.route(…)` anywhere but the dashboard (HTML pages, not an API) fails here.
#[test]
fn every_route_is_documented() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let dashboard = src.join("http/dashboard");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut undocumented = Vec::new();
    for file in files.iter().filter(|f| !f.starts_with(&dashboard)) {
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            if [".route(", ".route_service(", ".nest_service("]
                .iter()
                .any(|call| code.contains(call))
            {
                undocumented.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(
        undocumented.is_empty(),
        "routes added without `routes!` (so without documentation):\n{}",
        undocumented.join("\n")
    );
}

/// What the document promises of each operation: the scopes it needs, and error bodies in
/// the documented shapes.
#[tokio::test]
async fn operations_declare_scopes_and_error_shapes() {
    let app = TestApp::spawn(Db::Sqlite).await.unwrap();
    let doc = served_document(&app).await;
    for (method, path) in operations(&doc) {
        let op = &doc["paths"][&path][method.to_lowercase()];
        if path.starts_with("/api/v2/") && path != "/api/v2/openapi.json" {
            let security = op["security"].as_array().unwrap_or_else(|| {
                panic!("{method} {path} declares no scopes");
            });
            assert!(
                security.iter().all(|s| s["management_token"]
                    .as_array()
                    .is_some_and(|v| !v.is_empty())),
                "{method} {path}: {security:?}"
            );
            for status in ["400", "401", "403", "429"] {
                assert_eq!(
                    op["responses"][status]["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/ManagementErrorBody",
                    "{method} {path} {status}"
                );
            }
        }
    }
    let token = &doc["paths"]["/oauth/token"]["post"];
    assert_eq!(
        token["responses"]["401"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/OAuthErrorBody"
    );
    // A signet extension is marked as one.
    let credential = &doc["components"]["schemas"]["CredentialCreate"]["properties"]["jwks_uri"];
    assert_eq!(credential["x-signet-extension"], true, "{credential}");
}

/// schemathesis (PyPI) against the running server with a Management token, every operation,
/// bounded in time: no 5xx, no answer that breaks its declared schema or status codes, and no
/// request accepted that the schema forbids. Two runs: first every operation but the signing
/// key rotation and revocation (they end the token's validity, and every later answer would be
/// a 401), then those two. The figures go to `target/schemathesis-summary.txt`, which
/// `.ci/run` prints.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_contract_violations() {
    let installed = Command::new("schemathesis")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !installed {
        assert!(
            !in_ci(),
            "schemathesis is required under CI=true (pip install schemathesis)"
        );
        eprintln!("SKIPPED: schemathesis is not installed (pip install schemathesis)");
        return;
    }
    let app = TestApp::spawn(Db::Sqlite).await.unwrap();
    let token = app.management_token().await;
    const KEY_CHANGES: &str = r"^/api/v2/keys/signing/(rotate|\{kid\}/revoke)$";
    let mut summaries = Vec::new();
    for (name, filter) in [
        (
            "every operation but key rotation and revocation",
            "--exclude-path-regex",
        ),
        ("key rotation and revocation", "--include-path-regex"),
    ] {
        let (ok, stdout, summary) = schemathesis(&app, &token, &[filter, KEY_CHANGES]).await;
        summaries.push(format!("{name}:\n{summary}"));
        assert!(
            ok,
            "schemathesis ({name}) found contract violations:\n{stdout}"
        );
    }
    let summary = summaries.join("\n\n");
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
    let _ = std::fs::write(
        target.join("schemathesis-summary.txt"),
        format!("schemathesis against signet's OpenAPI document\n{summary}\n"),
    );
    println!("{summary}");
}

/// One schemathesis run (at most two and a half minutes, so both stay within five): whether it
/// passed, its output, and its summary.
async fn schemathesis(app: &TestApp, token: &str, filter: &[&str]) -> (bool, String, String) {
    // schemathesis keeps a cache in its working directory: not in the checkout.
    let scratch = tempfile::tempdir().unwrap();
    let mut run = Command::new("timeout");
    run.current_dir(scratch.path())
        .args(["150", "schemathesis", "run"])
        .arg(app.url("/api/v2/openapi.json"))
        .args(["--url", &app.base])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,\
             response_schema_conformance,negative_data_rejection",
        ])
        .args(["--max-examples", "40", "--seed", "19", "--workers", "2"])
        .args(["--request-timeout", "10"])
        .args(filter)
        .env("NO_COLOR", "1");
    let out = tokio::task::spawn_blocking(move || run.output())
        .await
        .unwrap()
        .expect("timeout(1) and schemathesis run");
    drop(scratch);
    let stdout = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = stdout
        .lines()
        .skip_while(|l| !l.contains("SUMMARY"))
        .collect::<Vec<_>>()
        .join("\n");
    (out.status.success(), stdout, summary)
}

/// The README's route table lists exactly the document's operations.
#[test]
fn readme_route_table_matches_the_document() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = readme
        .split("## HTTP routes")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("the README has an HTTP routes section");
    let mut listed = Vec::new();
    for row in section.lines().filter(|l| l.starts_with("| `")) {
        let first_cell = row.split('|').nth(1).unwrap_or_default();
        let tokens: Vec<&str> = first_cell
            .split('`')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .collect();
        let path = tokens.iter().find(|t| t.starts_with('/')).expect(row);
        for method in tokens.iter().filter(|t| !t.starts_with('/')) {
            listed.push((method.to_string(), path.to_string()));
        }
    }
    let mut documented = operations(signet::http::openapi::document());
    listed.sort();
    documented.sort();
    assert_eq!(listed, documented, "README table vs OpenAPI document");
}

/// serde would read a JSON array into a struct, field by field; the document says object, so
/// the server refuses it, at the top and inside (schemathesis found the nested case).
#[tokio::test]
async fn arrays_are_refused_where_objects_are_documented() {
    let app = TestApp::spawn(Db::Sqlite).await.unwrap();
    let token = app.management_token().await;
    for (path, body, named) in [
        (
            "/api/v2/clients",
            serde_json::json!(["a name"]),
            "not an array",
        ),
        (
            "/api/v2/clients",
            serde_json::json!({"name": "a", "jwt_configuration": ["RS256", 60]}),
            "(property jwt_configuration)",
        ),
        (
            "/api/v2/resource-servers",
            serde_json::json!({"identifier": "https://x.example/", "scopes": [["read:x", "d"]]}),
            "(property scopes[0])",
        ),
    ] {
        let res = app.post_json(&token, path, &body).await;
        let err = crate::helpers::assert_api_error(res, 400, "invalid_body").await;
        assert!(err["message"].as_str().unwrap().contains(named), "{err}");
    }
    let res = app
        .patch_json(
            &token,
            "/api/v2/tenants/settings",
            &serde_json::json!({"default_token_quota": [null]}),
        )
        .await;
    let err = crate::helpers::assert_api_error(res, 400, "invalid_body").await;
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("default_token_quota"),
        "{err}"
    );
    // Arrays where the document has them still work.
    let res = app
        .post_json(
            &token,
            "/api/v2/clients",
            &serde_json::json!({"name": "b", "grant_types": ["client_credentials"]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
}
