//! The seed's "Auth0 Dashboard" steps in a real browser: headless Chromium driven through
//! chromedriver (Debian's `chromium` and `chromium-driver`). SQLite only; the same flows run over
//! plain HTTP on both databases in `dashboard.rs`. Screenshots of the main pages are written to
//! `target/screenshots/`.
//!
//! Without chromium or chromedriver these tests print `SKIPPED: …` and pass — except under
//! `CI=true`, where they fail instead.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, Db, TestApp};
use crate::private_key_jwt::sign;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const WAIT: Duration = Duration::from_secs(20);
const API: &str = "https://billing.example.com/";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/keys")
        .join(name)
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// One browser at a time: two Chromiums on a loaded 2-core machine only slow each other down.
static BROWSER_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// chromedriver (a child process this test owns) and a WebDriver session on it.
struct Browser {
    client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
    shots: PathBuf,
}

impl Browser {
    /// `javascript: false` turns scripts off in the page, as for a visitor who blocks them.
    async fn start(javascript: bool) -> Option<Self> {
        let chromium = std::env::var("SIGNET_TEST_CHROMIUM").unwrap_or_else(|_| CHROMIUM.into());
        let driver_bin =
            std::env::var("SIGNET_TEST_CHROMEDRIVER").unwrap_or_else(|_| CHROMEDRIVER.into());
        if !Path::new(&chromium).exists() || !Path::new(&driver_bin).exists() {
            let why = format!(
                "{chromium} or {driver_bin} is missing (apt-get install chromium chromium-driver)"
            );
            if in_ci() {
                panic!("browser tests are required under CI=true but {why}");
            }
            eprintln!("SKIPPED: browser test ({why})");
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(&driver_bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let profile = tempfile::tempdir().unwrap();
        let caps: serde_json::Map<String, Value> = serde_json::from_value(json!({
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking", "--disable-dev-shm-usage",
                    "--disable-component-update", "--disable-sync", "--no-first-run",
                    "--window-size=1280,1600",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
                "prefs": {
                    "profile.managed_default_content_settings.javascript": if javascript { 1 } else { 2 }
                }
            }
        }))
        .unwrap();
        let url = format!("http://127.0.0.1:{port}");
        let mut last_error = String::new();
        for _ in 0..100 {
            match ClientBuilder::rustls()
                .expect("a TLS-capable WebDriver client")
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => {
                    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
                    std::fs::create_dir_all(&shots).unwrap();
                    return Some(Self {
                        client,
                        driver,
                        _profile: profile,
                        shots,
                    });
                }
                Err(e) => {
                    last_error = e.to_string();
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
        let mut driver = driver;
        let _ = driver.kill();
        panic!("could not open a browser session through chromedriver: {last_error}");
    }

    async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap();
    }

    async fn find(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"))
    }

    async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap();
    }

    async fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        e.clear().await.unwrap();
        e.send_keys(text).await.unwrap();
    }

    /// Waits until the element's text contains `wanted` (pages load after a click).
    async fn wait_text(&self, css: &str, wanted: &str) -> String {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Ok(e) = self.client.find(Locator::Css(css)).await
                && let Ok(t) = e.text().await
                && t.contains(wanted)
            {
                return t;
            }
            if tokio::time::Instant::now() > deadline {
                let page = self.client.source().await.unwrap_or_default();
                panic!("{css} never contained {wanted:?}; page:\n{page}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn shot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        std::fs::write(self.shots.join(format!("{name}.png")), png).unwrap();
    }

    async fn sign_in(&self, app: &TestApp, password: &str) {
        self.goto(&app.url("/dashboard/login")).await;
        self.type_into("#email", ADMIN_EMAIL).await;
        self.type_into("#password", password).await;
        // Submitted from the keyboard, as a person does.
        self.find("#password")
            .await
            .send_keys(&char::from(Key::Enter).to_string())
            .await
            .unwrap();
    }

    async fn finish(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // A failed assertion unwinds past `finish`: never leave chromedriver behind.
        let _ = self.driver.kill();
    }
}

fn assertion(client_id: &str, issuer: &str, kid: &str) -> String {
    let now = signet::time_util::now_millis() / 1000;
    sign(
        include_str!("../fixtures/keys/rsa2048.key.pem"),
        &json!({"alg": "RS256", "typ": "JWT", "kid": kid}),
        &json!({
            "iss": client_id, "sub": client_id, "aud": issuer,
            "iat": now, "exp": now + 60, "jti": signet::crypto::random::base62(20),
        }),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_dashboard_steps_work_in_a_browser() {
    let _one = BROWSER_LOCK.lock().await;
    let Some(app) = TestApp::spawn(Db::Sqlite).await else {
        return;
    };
    // The core flows need no JavaScript: the page's scripts are off for the whole walk.
    let Some(b) = Browser::start(false).await else {
        return;
    };
    let mgmt = app.management_token().await;

    // Log in.
    b.goto(&app.url("/dashboard")).await;
    b.find("#sign-in").await;
    b.shot("01-login").await;
    b.sign_in(&app, ADMIN_PASSWORD).await;
    b.wait_text("h1", "Applications").await;

    // Create an application (Machine to Machine).
    b.type_into("#app-name-input", "Billing worker").await;
    b.find("#app-type")
        .await
        .select_by_value("non_interactive")
        .await
        .unwrap();
    b.click("#create-app").await;
    b.wait_text("#notice", "Application created").await;
    let client_id = b.find("#client-id").await.text().await.unwrap();
    let secret = app
        .get(&mgmt, &format!("/api/v2/clients/{client_id}"))
        .await
        .json::<Value>()
        .await
        .unwrap()["client_secret"]
        .as_str()
        .unwrap()
        .to_owned();

    // Credentials tab: choose Private Key JWT.
    b.click("#method-private_key_jwt").await;
    b.click("#save-method").await;
    b.wait_text("#notice", "needs a credential").await;

    // Add Credential: name, upload the PEM file, algorithm.
    b.type_into("#credential-name", "key-2026").await;
    b.find("#pem-file")
        .await
        .send_keys(fixture("rsa2048.pub.pem").to_str().unwrap())
        .await
        .unwrap();
    b.find("#credential-alg")
        .await
        .select_by_value("RS256")
        .await
        .unwrap();
    b.click("#add-credential-button").await;
    b.wait_text("#notice", "Credential added").await;

    // Its kid is on the page, it is active, and the secret is hidden.
    let listed: Value = app
        .get(&mgmt, &format!("/api/v2/clients/{client_id}/credentials"))
        .await
        .json()
        .await
        .unwrap();
    let kid = listed[0]["kid"].as_str().unwrap().to_owned();
    let expected_kid = signet::crypto::public_key::parse_public_key_pem(include_str!(
        "../fixtures/keys/rsa2048.pub.pem"
    ))
    .unwrap()
    .thumbprint;
    assert_eq!(kid, expected_kid);
    assert_eq!(
        b.find("#credentials code.kid").await.text().await.unwrap(),
        kid
    );
    b.wait_text("#credentials .state", "active").await;
    b.wait_text("#current-method", "Private Key JWT").await;
    b.find("#secret-hidden").await;
    assert!(!b.client.source().await.unwrap().contains(&secret));
    b.shot("03-credentials-private-key-jwt").await;

    // An API with scopes, and the application authorised for one of them.
    b.goto(&app.url("/dashboard/apis")).await;
    b.type_into("#api-name", "Billing").await;
    b.type_into("#api-identifier", API).await;
    b.type_into("#api-scopes", "read:invoices write:invoices")
        .await;
    b.click("#create-api").await;
    b.wait_text("#notice", "API created").await;
    b.shot("05-apis").await;
    b.goto(&app.url(&format!("/dashboard/applications/{client_id}/apis")))
        .await;
    b.click("input[name='scope'][value='read:invoices']").await;
    b.client
        .find(Locator::XPath(
            "//input[@value='read:invoices']/ancestor::form//button[@type='submit']",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait_text("#notice", "Authorization saved").await;
    b.shot("06-application-apis").await;

    // A token at /oauth/token, signed with the private key of the uploaded public key.
    let res = app
        .http
        .post(app.url("/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id.as_str()),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            (
                "client_assertion",
                assertion(&client_id, &app.issuer, &kid).as_str(),
            ),
            ("audience", API),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let token: Value = res.json().await.unwrap();
    assert_eq!(token["scope"], "read:invoices");

    // A refused request: an assertion for another audience. The caller learns nothing more than
    // invalid_client; the Logs tab names the reason.
    let res = app
        .http
        .post(app.url("/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            (
                "client_assertion",
                assertion(&client_id, "https://elsewhere.example.com/", &kid).as_str(),
            ),
            ("audience", API),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    // Both requests show on the Logs tab, the failure with its reason code.
    let logs = app.url(&format!("/dashboard/applications/{client_id}/logs"));
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        b.goto(&logs).await;
        let html = b.client.source().await.unwrap();
        if html.contains("seccft") && html.contains("feccft") {
            assert!(html.contains("aud_mismatch"), "{html}");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the token request never showed in the logs"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    b.shot("07-logs").await;
    // The tab's charts are drawn from the same requests, with JavaScript's help or not: a success
    // bar, and the failure's reason as a bar of its own with its count in the summary.
    b.find("#chart-day rect.ok").await;
    b.find("#chart-reasons g[data-reason=\"aud_mismatch\"] rect.fail")
        .await;
    b.wait_text("#chart-reasons-summary", "aud_mismatch 1")
        .await;
    // The tenant-wide page shows them too, the reason explained beside its code.
    b.goto(&app.url("/dashboard/logs")).await;
    b.find("#chart-week rect.fail").await;
    b.wait_text("#logs td.reason .explain", "set aud to exactly the issuer")
        .await;
    b.shot("07-tenant-logs").await;

    // Edit Credential: set an explicit expiry date.
    b.goto(&app.url(&format!("/dashboard/applications/{client_id}/credentials")))
        .await;
    b.click("#credentials a.button").await;
    b.wait_text("h2", "Edit Credential").await;
    b.click("#set-expiry").await;
    let date = b.find("#expiry-date").await;
    b.client
        .execute(
            "arguments[0].value = '2031-06-30';",
            vec![serde_json::to_value(&date).unwrap()],
        )
        .await
        .unwrap();
    b.shot("04-edit-credential").await;
    b.click("#update-credential").await;
    b.wait_text("#notice", "Credential updated").await;
    b.wait_text("#credentials td.expires", "2031-06-30").await;
    let listed: Value = app
        .get(&mgmt, &format!("/api/v2/clients/{client_id}/credentials"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0]["expires_at"], "2031-06-30T23:59:59.999Z");

    // Switch to Client Secret (Post): the secret is back, masked until revealed.
    b.click("#method-client_secret_post").await;
    b.click("#save-method").await;
    b.wait_text("#notice", "Authentication method saved").await;
    b.wait_text("#current-method", "Client Secret (Post)").await;
    let shown = b.find("#client-secret").await;
    assert!(
        !shown.is_displayed().await.unwrap(),
        "masked until revealed"
    );
    b.click("#secret summary").await;
    assert_eq!(shown.text().await.unwrap(), secret);
    // Reveal worked without JavaScript; Copy, which needs it, stays hidden.
    assert!(
        !b.find("#secret button.copy")
            .await
            .is_displayed()
            .await
            .unwrap()
    );
    b.wait_text("#credentials .state", "not enabled").await;
    b.shot("08-credentials-client-secret").await;

    // Applications list.
    b.goto(&app.url("/dashboard/applications")).await;
    b.wait_text("#applications", "Billing worker").await;
    b.shot("02-applications").await;
    b.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_shown_in_the_page() {
    let _one = BROWSER_LOCK.lock().await;
    let Some(app) = TestApp::spawn(Db::Sqlite).await else {
        return;
    };
    let Some(b) = Browser::start(true).await else {
        return;
    };

    // A wrong password.
    b.sign_in(&app, "not the password").await;
    b.wait_text("#login-error", "The email or password is not correct.")
        .await;
    assert_eq!(
        b.find("#email")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some(ADMIN_EMAIL)
    );
    assert_eq!(
        b.find("#password")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("")
    );
    b.shot("10-login-wrong-password").await;

    b.sign_in(&app, ADMIN_PASSWORD).await;
    b.wait_text("h1", "Applications").await;

    // A POST without the CSRF token is refused with a clear page, and changes nothing.
    b.type_into("#app-name-input", "Forged").await;
    b.client
        .execute(
            "document.querySelectorAll(\"input[name='csrf']\").forEach(function (e) { e.remove(); });",
            vec![],
        )
        .await
        .unwrap();
    b.click("#create-app").await;
    b.wait_text("#error-message", "nothing was changed").await;
    b.wait_text("h1", "Request refused").await;
    b.shot("11-csrf-refused").await;
    b.goto(&app.url("/dashboard/applications")).await;
    assert!(!b.client.source().await.unwrap().contains("Forged"));

    // An invalid upload: the error is next to the key field, and the name is kept.
    b.type_into("#app-name-input", "Uploader").await;
    b.click("#create-app").await;
    b.wait_text("#notice", "Application created").await;
    // With JavaScript on, the script (allowed by the CSP, from our origin) adds Copy.
    b.click("#secret summary").await;
    assert!(
        b.find("#secret button.copy")
            .await
            .is_displayed()
            .await
            .unwrap()
    );
    b.type_into("#credential-name", "too-small").await;
    b.find("#pem-file")
        .await
        .send_keys(fixture("rsa1024.pub.pem").to_str().unwrap())
        .await
        .unwrap();
    b.click("#add-credential-button").await;
    let message = b.wait_text("#pem-error", "1024 bits").await;
    assert!(message.contains("2048"), "{message}");
    assert_eq!(
        b.find("#credential-name")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("too-small")
    );
    assert_eq!(
        b.find("#pem-file")
            .await
            .attr("aria-invalid")
            .await
            .unwrap()
            .as_deref(),
        Some("true")
    );
    b.find("#no-credentials").await;
    b.shot("12-invalid-upload").await;
    b.finish().await;
}
