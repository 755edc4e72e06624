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

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
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

/// One browser test at a time: a fresh server on SQLite and a browser session. `None` (after a
/// `SKIPPED` message) on a machine without what the test needs, outside CI.
async fn server_and_browser(
    javascript: bool,
) -> Option<(tokio::sync::MutexGuard<'static, ()>, TestApp, Browser)> {
    let one = BROWSER_LOCK.lock().await;
    let app = TestApp::spawn(Db::Sqlite).await?;
    let browser = Browser::start(javascript).await?;
    Some((one, app, browser))
}

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

/// A client-credentials request for `API` with `client_assertion`; the client is named by the
/// assertion's `iss`.
async fn token_request(app: &TestApp, client_assertion: &str) -> reqwest::Response {
    app.http
        .post(app.url("/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", client_assertion),
            ("audience", API),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_dashboard_steps_work_in_a_browser() {
    // The core flows need no JavaScript: the page's scripts are off for the whole walk.
    let Some((_one, app, b)) = server_and_browser(false).await else {
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
    b.choose_key("key-2026", "rsa2048.pub.pem").await;
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
    let res = token_request(&app, &assertion(&client_id, &app.issuer, &kid)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let token: Value = res.json().await.unwrap();
    assert_eq!(token["scope"], "read:invoices");

    // A refused request: an assertion for another audience. The caller learns nothing more than
    // invalid_client; the Logs tab names the reason.
    let elsewhere = assertion(&client_id, "https://elsewhere.example.com/", &kid);
    let res = token_request(&app, &elsewhere).await;
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

    // Switch to Client Secret (Post): asked first, then the secret is back, masked until
    // revealed.
    b.click("#method-client_secret_post").await;
    b.click("#save-method").await;
    b.wait_text(
        "#consequences",
        "Assertions signed with the application's keys",
    )
    .await;
    b.shot("09-confirm-switch").await;
    b.click("#confirm-button").await;
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
    let Some((_one, app, b)) = server_and_browser(true).await else {
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
    b.choose_key("too-small", "rsa1024.pub.pem").await;
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

impl Browser {
    /// Whether the whole element is inside the visible part of the page.
    async fn in_viewport(&self, css: &str) -> bool {
        let e = self.find(css).await;
        self.client
            .execute(
                "const r = arguments[0].getBoundingClientRect(); \
                 return r.top >= 0 && r.bottom <= window.innerHeight && r.height > 0;",
                vec![serde_json::to_value(&e).unwrap()],
            )
            .await
            .unwrap()
            .as_bool()
            .unwrap()
    }

    /// Sets a date input the way a date picker does (typing into one depends on the locale).
    async fn set_value(&self, css: &str, value: &str) {
        let e = self.find(css).await;
        self.client
            .execute(
                "arguments[0].value = arguments[1];",
                vec![serde_json::to_value(&e).unwrap(), json!(value)],
            )
            .await
            .unwrap();
    }

    /// Fills the Add Credential form's name and chooses the fixture file, as a person does.
    async fn choose_key(&self, name: &str, file: &str) {
        self.type_into("#credential-name", name).await;
        self.find("#pem-file")
            .await
            .send_keys(fixture(file).to_str().unwrap())
            .await
            .unwrap();
    }

    async fn text_of(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap()
    }

    async fn viewport(&self, width: u32, height: u32) {
        self.client.set_window_size(width, height).await.unwrap();
    }
}

async fn secret_of(app: &TestApp, mgmt: &str, client_id: &str) -> String {
    app.get(mgmt, &format!("/api/v2/clients/{client_id}"))
        .await
        .json::<Value>()
        .await
        .unwrap()["client_secret"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn credentials_of(app: &TestApp, mgmt: &str, client_id: &str) -> Vec<Value> {
    app.get(mgmt, &format!("/api/v2/clients/{client_id}/credentials"))
        .await
        .json::<Vec<Value>>()
        .await
        .unwrap()
}

/// The on-call points: refusals in view, questions before breaking changes, ids and kids that
/// match the logs, one expiry control, the enable-now warning, the integration values.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_guards_breaking_changes_and_shows_what_callers_need() {
    let Some((_one, app, b)) = server_and_browser(false).await else {
        return;
    };
    let mgmt = app.management_token().await;
    b.viewport(1280, 900).await;

    // `GET /` in a browser leads to the dashboard, not to a JSON 404.
    b.goto(&app.url("/")).await;
    b.find("#sign-in").await;
    b.sign_in(&app, ADMIN_PASSWORD).await;
    b.wait_text("h1", "Applications").await;
    b.type_into("#app-name-input", "On-call demo").await;
    b.click("#create-app").await;
    b.wait_text("#notice", "Application created").await;
    let client_id = b.text_of("#client-id").await;
    let secret = secret_of(&app, &mgmt, &client_id).await;

    // "Enable it now" is off by default on a client-secret application, with its warning.
    let enable = b.find("#enable-credential").await;
    assert!(!enable.is_selected().await.unwrap());
    assert!(
        b.text_of("#enable-warning")
            .await
            .contains("Save the secret first")
    );

    // A refused upload: the page comes back at the form, with a summary linking to the field.
    b.choose_key("too-small", "rsa1024.pub.pem").await;
    b.click("#add-credential-button").await;
    b.wait_text("#credential-errors", "1024 bits").await;
    assert!(
        b.in_viewport("#credential-errors").await,
        "the refusal is in view"
    );
    assert_eq!(
        b.find("#credential-errors a")
            .await
            .attr("href")
            .await
            .unwrap()
            .as_deref(),
        Some("#pem-file")
    );
    b.shot("20-refused-upload-in-view").await;

    // Rotate secret asks first; Cancel changes nothing.
    b.goto(&app.url(&format!("/dashboard/applications/{client_id}/credentials")))
        .await;
    b.click("#rotate-secret").await;
    b.wait_text("#confirm-title", "Rotate the client secret")
        .await;
    assert!(b.text_of("#consequences").await.contains("invalid_client"));
    b.shot("21-confirm-rotate").await;
    b.click("#confirm-cancel").await;
    b.find("#credential-form").await;
    assert_eq!(secret_of(&app, &mgmt, &client_id).await, secret);
    b.click("#rotate-secret").await;
    b.click("#confirm-button").await;
    b.wait_text("#notice", "new client secret").await;
    assert_ne!(secret_of(&app, &mgmt, &client_id).await, secret);

    // One expiry control. A certificate without a date expires with the certificate.
    b.choose_key("from-cert", "rsa3072.cert.pem").await;
    b.click("#add-credential-button").await;
    b.wait_text("#notice", "not enabled").await;
    let not_after = signet::crypto::public_key::parse_public_key_pem(include_str!(
        "../fixtures/keys/rsa3072.cert.pem"
    ))
    .unwrap()
    .certificate_not_after
    .unwrap();
    let cert_day = format!(
        "{:04}-{:02}-{:02}",
        not_after.year(),
        u8::from(not_after.month()),
        not_after.day()
    );
    // A key with a picked date expires at the end of that day; nothing else to tick.
    b.choose_key("dated", "rsa2048.pub.pem").await;
    b.set_value("#expiry-date", "2031-06-30").await;
    b.click("#add-credential-button").await;
    b.wait_text("#notice", "not enabled").await;
    let creds = credentials_of(&app, &mgmt, &client_id).await;
    let by_name = |name: &str| {
        creds
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no credential {name}: {creds:?}"))
            .clone()
    };
    let (cert, dated) = (by_name("from-cert"), by_name("dated"));
    assert!(
        cert["expires_at"].as_str().unwrap().starts_with(&cert_day),
        "{cert}"
    );
    assert_eq!(dated["expires_at"], "2031-06-30T23:59:59.999Z");
    // Ids and kids are on the rows, as the logs name them.
    let dated_id = dated["id"].as_str().unwrap().to_owned();
    let dated_kid = dated["kid"].as_str().unwrap().to_owned();
    let row = format!("#credential-{dated_id}");
    assert_eq!(b.text_of(&format!("{row} code.cred-id")).await, dated_id);
    assert_eq!(b.text_of(&format!("{row} code.kid")).await, dated_kid);
    b.wait_text(
        &format!("#credential-{} td.expires", cert["id"].as_str().unwrap()),
        &cert_day,
    )
    .await;
    b.wait_text(&format!("{row} td.expires"), "2031-06-30")
        .await;

    // Enabling a key of a client-secret application is a switch: asked first.
    b.click(&format!("{row} form[action$='/enable'] button"))
        .await;
    b.wait_text("#confirm-title", "switch On-call demo to Private Key JWT")
        .await;
    assert!(b.text_of("#consequences").await.contains(&dated_kid));
    b.click("#confirm-button").await;
    b.wait_text("#notice", "Credential enabled").await;
    b.wait_text("#current-method", "Private Key JWT").await;

    // The Integration tab shows the server's own values.
    let discovery: Value = app
        .http
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    b.click("#tab-integration").await;
    assert_eq!(b.text_of("#issuer").await, discovery["issuer"]);
    assert_eq!(
        b.text_of("#token-endpoint").await,
        discovery["token_endpoint"]
    );
    assert_eq!(b.text_of("#assertion-aud").await, discovery["issuer"]);
    assert_eq!(b.text_of("#assertion-iss").await, client_id);
    assert!(b.text_of("#integration-kids").await.contains(&dated_kid));
    let snippet = b.text_of("#snippet-signet").await;
    assert!(snippet.contains(&client_id), "{snippet}");
    assert!(
        snippet.contains(discovery["issuer"].as_str().unwrap()),
        "{snippet}"
    );
    b.shot("22-integration").await;

    // Explain: a good assertion, an expired one and one for another audience, each check with
    // its verdict; nothing is consumed, so the good one still gets a token afterwards.
    let now = signet::time_util::now_millis() / 1000;
    let expired = sign(
        include_str!("../fixtures/keys/rsa2048.key.pem"),
        &json!({"alg": "RS256", "typ": "JWT", "kid": dated_kid}),
        &json!({"iss": client_id, "sub": client_id, "aud": app.issuer,
                "iat": now - 400, "exp": now - 200, "jti": "expired-one"}),
    );
    let good = assertion(&client_id, &app.issuer, &dated_kid);
    let elsewhere = assertion(&client_id, "https://elsewhere.example.com/", &dated_kid);
    let verdict = |check: &'static str| format!("#check-{check}");
    for (text, failing, reason) in [
        (&good, None, None),
        (&expired, Some("exp"), Some("expired")),
        (&elsewhere, Some("aud"), Some("aud_mismatch")),
    ] {
        b.click("#tab-explain").await;
        b.set_value("#assertion", text).await;
        b.click("#explain-submit").await;
        b.find("#explanation").await;
        assert!(
            b.in_viewport("#explain-summary").await,
            "the result is in view"
        );
        let summary = b.find("#explain-summary").await;
        assert_eq!(
            summary.attr("data-reason").await.unwrap().as_deref(),
            reason
        );
        let signature = b.find(&verdict("signature")).await;
        assert_eq!(
            signature.attr("data-verdict").await.unwrap().as_deref(),
            Some("pass")
        );
        if let Some(check) = failing {
            let row = b.find(&verdict(check)).await;
            assert_eq!(
                row.attr("data-verdict").await.unwrap().as_deref(),
                Some("fail")
            );
            if check == "aud" {
                assert!(row.text().await.unwrap().contains(&app.issuer));
            }
        }
        assert!(
            !b.client.source().await.unwrap().contains(text.as_str()),
            "the assertion is not echoed back"
        );
    }
    b.shot("23-explain-wrong-aud").await;

    // Scopes: "all" in one press; none at all is saved with a warning.
    app.create_api(&mgmt, API, &["read:invoices", "write:invoices"])
        .await;
    let api_id = app.resource_server_id(&mgmt, API).await;
    b.goto(&app.url(&format!("/dashboard/applications/{client_id}/apis")))
        .await;
    b.click(&format!("#all-scopes-{api_id}")).await;
    b.wait_text("#notice", "Authorization saved").await;
    let grants: Value = app
        .get(
            &mgmt,
            &format!("/api/v2/client-grants?client_id={client_id}"),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        grants[0]["scope"],
        json!(["read:invoices", "write:invoices"])
    );
    for scope in ["read:invoices", "write:invoices"] {
        b.click(&format!("#grant-{api_id} input[value='{scope}']"))
            .await;
    }
    b.click(&format!("#grant-{api_id} button.primary")).await;
    b.wait_text("#notice", "no scopes").await;
    assert!(
        b.text_of("#notice")
            .await
            .starts_with("Saved without scopes"),
        "the warning says so in words, not only in colour"
    );

    // The explained assertion was not consumed: with a grant for the API it gets a token.
    let res = token_request(&app, &good).await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap()
    );

    // An unknown page keeps the navigation.
    b.goto(&app.url("/dashboard/nothing-here")).await;
    b.wait_text("h1", "Not found").await;
    b.find("nav a[href='/dashboard/apis']").await;
    b.finish().await;
}

/// What a page must not do at 390 px: spill sideways. Returns the offending elements.
const OVERFLOW_JS: &str = r#"
const width = document.documentElement.clientWidth;
const out = [];
if (document.documentElement.scrollWidth > width + 1) out.push('page scrolls sideways: ' + document.documentElement.scrollWidth + ' > ' + width);
for (const e of document.querySelectorAll('body *')) {
  if (e.closest('.skip, .visually-hidden, thead, pre, option, optgroup')) continue;
  const r = e.getBoundingClientRect();
  if (r.width === 0 && r.height === 0) continue;
  if (r.right > width + 1 || r.left < -1) {
    out.push(e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className ? '.' + String(e.className).replace(/ /g, '.') : '') + ' ' + Math.round(r.left) + '..' + Math.round(r.right));
  }
}
return out.slice(0, 10);
"#;

/// Accessibility basics: every control has a label; every state pill and notice says its state
/// in words.
const A11Y_JS: &str = r#"
const out = [];
for (const e of document.querySelectorAll('input, select, textarea')) {
  if (e.type === 'hidden') continue;
  const named = (e.labels && e.labels.length > 0) || e.getAttribute('aria-label') || e.getAttribute('aria-labelledby');
  if (!named) out.push('no label: ' + e.outerHTML.slice(0, 80));
}
for (const e of document.querySelectorAll('.state, .notice, .banner, .error-summary')) {
  if (e.textContent.trim() === '') out.push('state without words: ' + e.outerHTML.slice(0, 80));
}
return out;
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_fits_a_phone_and_is_screenshot_at_two_sizes() {
    let Some((_one, app, b)) = server_and_browser(true).await else {
        return;
    };
    let mgmt = app.management_token().await;

    // A tenant with something on every page: an application on Private Key JWT with a
    // credential, an API it is granted, successful and refused token requests.
    let client = app
        .create_client(&mgmt, "Nightly reconciliation worker")
        .await;
    let client_id = client["client_id"].as_str().unwrap().to_owned();
    let cred: Value = app
        .post_json(
            &mgmt,
            &format!("/api/v2/clients/{client_id}/credentials"),
            &json!({"credential_type": "public_key", "name": "reconciliation-2026",
                    "pem": include_str!("../fixtures/keys/rsa2048.pub.pem"), "alg": "RS256"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let cred_id = cred["id"].as_str().unwrap().to_owned();
    let kid = cred["kid"].as_str().unwrap().to_owned();
    let switched = app
        .patch_json(
            &mgmt,
            &format!("/api/v2/clients/{client_id}"),
            &json!({"token_endpoint_auth_method": null,
                    "client_authentication_methods": {"private_key_jwt": {"credentials": [{"id": cred_id}]}}}),
        )
        .await;
    assert_eq!(switched.status(), StatusCode::OK);
    app.create_api(&mgmt, API, &["read:invoices", "write:invoices"])
        .await;
    let api_id = app.resource_server_id(&mgmt, API).await;
    app.grant(&mgmt, &client_id, API, &["read:invoices"]).await;
    for issuer in [app.issuer.clone(), "https://elsewhere.example.com/".into()] {
        token_request(&app, &assertion(&client_id, &issuer, &kid)).await;
    }

    b.viewport(1280, 900).await;
    b.sign_in(&app, ADMIN_PASSWORD).await;
    b.wait_text("h1", "Applications").await;
    let app_path = format!("/dashboard/applications/{client_id}");
    let pages: Vec<(&str, String)> = vec![
        ("applications", "/dashboard/applications".into()),
        ("app-settings", app_path.clone()),
        ("app-credentials", format!("{app_path}/credentials")),
        ("app-integration", format!("{app_path}/integration")),
        ("app-apis", format!("{app_path}/apis")),
        ("app-logs", format!("{app_path}/logs")),
        ("app-explain", format!("{app_path}/explain")),
        (
            "credential-edit",
            format!("{app_path}/credentials/{cred_id}/edit"),
        ),
        ("apis", "/dashboard/apis".into()),
        ("api", format!("/dashboard/apis/{api_id}")),
        ("logs", "/dashboard/logs".into()),
        ("signing-keys", "/dashboard/settings/signing-keys".into()),
        ("not-found", "/dashboard/no-such-page".into()),
    ];
    let mut problems = Vec::new();
    for (width, height) in [(1280, 900), (390, 844)] {
        b.viewport(width, height).await;
        for (name, path) in &pages {
            b.goto(&app.url(path)).await;
            b.find("main").await;
            let title = b.text_of("h1").await;
            if *name != "not-found" {
                assert_ne!(title, "Not found", "{path} is a page");
            }
            b.shot(&format!("page-{name}-{width}")).await;
            if width == 390 {
                let spilled = b.client.execute(OVERFLOW_JS, vec![]).await.unwrap();
                if spilled.as_array().is_some_and(|a| !a.is_empty()) {
                    problems.push(format!("{path} at 390 px: {spilled}"));
                }
            }
            let a11y = b.client.execute(A11Y_JS, vec![]).await.unwrap();
            if a11y.as_array().is_some_and(|a| !a.is_empty()) {
                problems.push(format!("{path}: {a11y}"));
            }
        }
        // The question page before a breaking change, at both sizes.
        b.goto(&app.url(&format!("{app_path}/credentials"))).await;
        b.click("#method-client_secret_post").await;
        b.click("#save-method").await;
        b.find("#confirm-title").await;
        b.shot(&format!("page-confirm-{width}")).await;
        if width == 390 {
            let spilled = b.client.execute(OVERFLOW_JS, vec![]).await.unwrap();
            if spilled.as_array().is_some_and(|a| !a.is_empty()) {
                problems.push(format!("confirm page at 390 px: {spilled}"));
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");

    // At 390 px Sign out and every tab are on screen, not clipped.
    b.goto(&app.url(&format!("{app_path}/credentials"))).await;
    assert!(b.in_viewport("#sign-out").await);
    assert!(b.in_viewport("#tab-explain").await);

    // Focus is visible: the first Tab from the top lands on the skip link, which shows, and the
    // next ones on links with an outline.
    b.goto(&app.url("/dashboard/applications")).await;
    b.find("main").await;
    for _ in 0..3 {
        let tab = char::from(Key::Tab);
        b.client
            .perform_actions(
                KeyActions::new("keyboard".into())
                    .then(KeyAction::Down { value: tab })
                    .then(KeyAction::Up { value: tab }),
            )
            .await
            .unwrap();
        let outline = b
            .client
            .execute(
                "const s = getComputedStyle(document.activeElement); \
                 return [document.activeElement.tagName, s.outlineStyle, s.outlineWidth];",
                vec![],
            )
            .await
            .unwrap();
        assert_ne!(outline[1], "none", "focus must be visible: {outline}");
    }
    b.finish().await;
}
