//! The dashboard over plain HTTP (no browser): sign-in, sessions, CSRF, lockout, security
//! headers, and the seed's Dashboard flows as form posts, on SQLite and PostgreSQL.

use reqwest::StatusCode;
use reqwest::header::{CONTENT_SECURITY_POLICY, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;
use serde_json::Value;

use crate::helpers::{ADMIN_EMAIL, ADMIN_PASSWORD, Db, TestApp, send_oversize};
use crate::on_both_databases;

pub const PUB_2048: &str = include_str!("../fixtures/keys/rsa2048.pub.pem");
pub const PUB_3072: &str = include_str!("../fixtures/keys/rsa3072.pub.pem");
pub const KEY_2048: &str = include_str!("../fixtures/keys/rsa2048.key.pem");

/// A browser-like client: keeps cookies, does not follow redirects (the tests look at them).
pub fn browser_like() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// The CSRF token of the first form in `html`.
pub fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html
        .find(marker)
        .expect("the page has a form with a CSRF token")
        + marker.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].to_owned()
}

async fn text(res: reqwest::Response) -> String {
    res.text().await.unwrap()
}

pub struct Session {
    pub http: reqwest::Client,
    pub csrf: String,
}

impl Session {
    pub async fn sign_in(app: &TestApp) -> Session {
        let http = browser_like();
        let res = sign_in_with(app, &http, ADMIN_EMAIL, ADMIN_PASSWORD).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let page = http
            .get(app.url("/dashboard/applications"))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let csrf = csrf_of(&text(page).await);
        Session { http, csrf }
    }

    pub async fn get(&self, app: &TestApp, path: &str) -> reqwest::Response {
        self.http.get(app.url(path)).send().await.unwrap()
    }

    pub async fn post(
        &self,
        app: &TestApp,
        path: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut all = vec![("csrf", self.csrf.as_str())];
        all.extend_from_slice(fields);
        self.http
            .post(app.url(path))
            .form(&all)
            .send()
            .await
            .unwrap()
    }

    /// Creates an application through the dashboard and returns its client id.
    pub async fn create_app(&self, app: &TestApp, name: &str) -> String {
        let res = self
            .post(
                app,
                "/dashboard/applications",
                &[("name", name), ("app_type", "non_interactive")],
            )
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let location = res.headers()[LOCATION].to_str().unwrap().to_owned();
        let id = location
            .strip_prefix("/dashboard/applications/")
            .and_then(|rest| rest.split('/').next())
            .unwrap()
            .to_owned();
        assert!(
            location.ends_with("/credentials?done=app-created"),
            "{location}"
        );
        id
    }

    pub async fn add_credential(
        &self,
        app: &TestApp,
        client_id: &str,
        parts: &[(&str, &str)],
        file: Option<&str>,
    ) -> reqwest::Response {
        let mut form = reqwest::multipart::Form::new().text("csrf", self.csrf.clone());
        for (k, v) in parts {
            form = form.text(k.to_string(), v.to_string());
        }
        if let Some(pem) = file {
            form = form.part(
                "pem_file",
                reqwest::multipart::Part::text(pem.to_owned()).file_name("key.pub.pem"),
            );
        }
        self.http
            .post(app.url(&format!("/dashboard/applications/{client_id}/credentials")))
            .multipart(form)
            .send()
            .await
            .unwrap()
    }
}

pub async fn sign_in_with(
    app: &TestApp,
    http: &reqwest::Client,
    email: &str,
    password: &str,
) -> reqwest::Response {
    let page = http.get(app.url("/dashboard/login")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let csrf = csrf_of(&text(page).await);
    http.post(app.url("/dashboard/login"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("email", email),
            ("password", password),
        ])
        .send()
        .await
        .unwrap()
}

async fn sign_in_sets_a_strict_http_only_cookie_and_pages_carry_security_headers(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let http = browser_like();
    let login = http.get(app.url("/dashboard/login")).send().await.unwrap();
    let csp = login.headers()[CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(login.headers()["x-frame-options"], "DENY");
    assert_eq!(login.headers()["x-content-type-options"], "nosniff");
    assert_eq!(login.headers()["cache-control"], "no-store");
    let html = text(login).await;
    assert!(
        !html.contains("<script>") && !html.contains("style="),
        "no inline script or style"
    );

    let res = sign_in_with(&app, &http, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()[LOCATION], "/dashboard/applications");
    let cookie = res
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("signet_session="))
        .expect("a session cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(cookie.contains("Path=/dashboard"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "the test issuer is http: {cookie}"
    );

    let page = http
        .get(app.url("/dashboard/applications"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(text(page).await.contains(ADMIN_EMAIL));

    let css = http
        .get(app.url("/dashboard/static/dashboard.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(css.status(), StatusCode::OK);
    assert!(
        css.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
}

async fn pages_need_a_session(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let http = browser_like();
    for path in ["/dashboard", "/dashboard/applications", "/dashboard/apis"] {
        let res = http.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(res.headers()[LOCATION], "/dashboard/login", "{path}");
    }
    let res = http
        .post(app.url("/dashboard/applications"))
        .form(&[("name", "sneaky"), ("app_type", "non_interactive")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()[LOCATION], "/dashboard/login");
    // A forged cookie is no session either.
    let res = http
        .get(app.url("/dashboard/applications"))
        .header("cookie", format!("signet_session={}", "A".repeat(43)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()[LOCATION], "/dashboard/login");
}

async fn a_wrong_password_is_refused_and_repeated_failures_lock_the_account(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let http = browser_like();
    let res = sign_in_with(&app, &http, "nobody@example.com", ADMIN_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    for attempt in 1..=4 {
        let res = sign_in_with(&app, &http, ADMIN_EMAIL, "wrong password").await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "attempt {attempt}");
        let html = text(res).await;
        assert!(html.contains("The email or password is not correct."));
        assert!(
            html.contains(&format!("value=\"{ADMIN_EMAIL}\"")),
            "the email is kept"
        );
        assert!(
            !html.contains("wrong password"),
            "the password is never echoed"
        );
    }
    let res = sign_in_with(&app, &http, ADMIN_EMAIL, "wrong password").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    // Locked: even the right password is refused now.
    let res = sign_in_with(&app, &http, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(text(res).await.contains("Too many failed sign-ins"));
    assert!(res_has_no_session(&http, &app).await);
}

async fn res_has_no_session(http: &reqwest::Client, app: &TestApp) -> bool {
    let res = http
        .get(app.url("/dashboard/applications"))
        .send()
        .await
        .unwrap();
    res.status() == StatusCode::SEE_OTHER
}

async fn a_success_resets_the_failure_count(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let http = browser_like();
    for _ in 0..4 {
        let res = sign_in_with(&app, &http, ADMIN_EMAIL, "wrong password").await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        sign_in_with(&app, &http, ADMIN_EMAIL, ADMIN_PASSWORD)
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    // A signed-in browser is sent past the sign-in page: guess from another one.
    let http = browser_like();
    for _ in 0..4 {
        let res = sign_in_with(&app, &http, ADMIN_EMAIL, "wrong password").await;
        assert_eq!(
            res.status(),
            StatusCode::UNAUTHORIZED,
            "the count started afresh"
        );
    }
}

async fn posts_without_the_csrf_token_are_refused(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    // The sign-in form itself: a post without the double-submit cookie.
    let bare = browser_like();
    let res = bare
        .post(app.url("/dashboard/login"))
        .form(&[
            ("email", ADMIN_EMAIL),
            ("password", ADMIN_PASSWORD),
            ("csrf", "made-up"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(text(res).await.contains("Request refused"));

    let s = Session::sign_in(&app).await;
    let client_id = s.create_app(&app, "Target").await;
    let posts = [
        "/dashboard/applications".to_owned(),
        format!("/dashboard/applications/{client_id}"),
        format!("/dashboard/applications/{client_id}/method"),
        format!("/dashboard/applications/{client_id}/rotate-secret"),
        format!("/dashboard/applications/{client_id}/delete"),
        format!("/dashboard/applications/{client_id}/credentials/cred_x/edit"),
        format!("/dashboard/applications/{client_id}/credentials/cred_x/enable"),
        format!("/dashboard/applications/{client_id}/credentials/cred_x/disable"),
        format!("/dashboard/applications/{client_id}/credentials/cred_x/delete"),
        format!("/dashboard/applications/{client_id}/apis/api_x"),
        format!("/dashboard/applications/{client_id}/apis/api_x/revoke"),
        "/dashboard/apis".to_owned(),
        "/dashboard/apis/api_x".to_owned(),
        "/dashboard/apis/api_x/delete".to_owned(),
        "/dashboard/logout".to_owned(),
    ];
    for path in &posts {
        for csrf in ["", "not-the-token"] {
            let res = s
                .http
                .post(app.url(path))
                .form(&[
                    ("csrf", csrf),
                    ("name", "Changed"),
                    ("method", "private_key_jwt"),
                    ("app_type", "non_interactive"),
                ])
                .send()
                .await
                .unwrap();
            assert_eq!(
                res.status(),
                StatusCode::FORBIDDEN,
                "{path} with csrf {csrf:?}"
            );
            assert!(text(res).await.contains("nothing was changed"));
        }
    }
    // The multipart upload too.
    let form = reqwest::multipart::Form::new()
        .text("name", "k")
        .text("alg", "RS256")
        .text("pem", PUB_2048);
    let res = s
        .http
        .post(app.url(&format!("/dashboard/applications/{client_id}/credentials")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    // Nothing changed: the application is there, with its name, and no credential.
    let page = text(
        s.get(
            &app,
            &format!("/dashboard/applications/{client_id}/credentials"),
        )
        .await,
    )
    .await;
    assert!(page.contains("Target") && page.contains("No credentials yet."));
    assert!(!page.contains("Changed"));
}

async fn signing_out_ends_the_session_on_the_server(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let http = browser_like();
    let res = sign_in_with(&app, &http, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let token = res
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("signet_session="))
        .and_then(|c| c.split(';').next())
        .unwrap()
        .to_owned();
    let page = text(
        http.get(app.url("/dashboard/applications"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let res = http
        .post(app.url("/dashboard/logout"))
        .form(&[("csrf", csrf_of(&page))])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    // The old cookie, replayed by another client, no longer opens anything.
    let other = browser_like();
    let res = other
        .get(app.url("/dashboard/applications"))
        .header("cookie", format!("signet_session={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()[LOCATION], "/dashboard/login");
}

/// The seed's Dashboard steps as form posts, checked against the Management API's view.
async fn the_seed_flows_work_as_form_posts(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let s = Session::sign_in(&app).await;
    let mgmt = app.management_token().await;

    // A form error is shown next to its field and keeps what was typed.
    let res = s
        .post(
            &app,
            "/dashboard/applications",
            &[("name", "  "), ("app_type", "non_interactive")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        text(res)
            .await
            .contains("id=\"name-error\">Enter a name for the application.")
    );

    let id = s.create_app(&app, "Billing worker").await;
    let secret = app
        .get(&mgmt, &format!("/api/v2/clients/{id}"))
        .await
        .json::<Value>()
        .await
        .unwrap()["client_secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let tab = format!("/dashboard/applications/{id}/credentials");
    assert!(
        text(s.get(&app, &tab).await).await.contains(&secret),
        "the secret is shown while a secret method is on"
    );

    // Choosing Private Key JWT without a credential waits for one.
    let res = s
        .post(
            &app,
            &format!("/dashboard/applications/{id}/method"),
            &[("method", "private_key_jwt")],
        )
        .await;
    assert_eq!(
        res.headers()[LOCATION].to_str().unwrap(),
        format!("{tab}?done=needs-credential#notice")
    );
    // Waiting for its first key, the form offers to switch at once; otherwise it never does.
    let waiting = text(s.get(&app, &format!("{tab}?done=needs-credential")).await).await;
    assert!(
        waiting.contains("id=\"enable-credential\" aria-describedby=\"enable-warning\" checked")
    );
    let plain = text(s.get(&app, &tab).await).await;
    assert!(plain.contains("id=\"enable-credential\" aria-describedby=\"enable-warning\">"));
    assert!(plain.contains("save the secret first") || plain.contains("Save the secret first"));

    // An invalid upload: the error is next to the key field, the name is kept.
    let res = s
        .add_credential(
            &app,
            &id,
            &[("name", "key-2026"), ("alg", "RS256"), ("enable", "1")],
            Some("-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----\n"),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = text(res).await;
    assert!(html.contains("id=\"pem-error\""), "{html}");
    assert!(html.contains("value=\"key-2026\""));
    // A private key is refused and never echoed back.
    let res = s
        .add_credential(
            &app,
            &id,
            &[("name", "oops"), ("alg", "RS256"), ("pem", KEY_2048)],
            None,
        )
        .await;
    let html = text(res).await;
    assert!(html.contains("leaked"), "{html}");
    assert!(!html.contains("PRIVATE KEY-----\n"));

    // A real upload: the credential is enabled and the application uses Private Key JWT.
    let res = s
        .add_credential(
            &app,
            &id,
            &[("name", "key-2026"), ("alg", "RS256"), ("enable", "1")],
            Some(PUB_2048),
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let creds: Value = app
        .get(&mgmt, &format!("/api/v2/clients/{id}/credentials"))
        .await
        .json()
        .await
        .unwrap();
    let kid = creds[0]["kid"].as_str().unwrap().to_owned();
    let cred_id = creds[0]["id"].as_str().unwrap().to_owned();
    let client: Value = app
        .get(&mgmt, &format!("/api/v2/clients/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        client["client_authentication_methods"]["private_key_jwt"]["credentials"][0]["id"],
        cred_id.as_str()
    );
    assert!(client.get("client_secret").is_none() || client["client_secret"].is_null());
    let html = text(s.get(&app, &tab).await).await;
    assert!(html.contains(&kid) && html.contains("active"));
    assert!(
        !html.contains(&secret),
        "the secret is hidden while Private Key JWT is on"
    );

    // Deleting an enabled credential is refused with a clear message.
    let res = s.post(&app, &format!("{tab}/{cred_id}/delete"), &[]).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(
        text(res)
            .await
            .contains("enabled for the application and cannot be deleted")
    );
    // So is disabling the only enabled one.
    let res = s.post(&app, &format!("{tab}/{cred_id}/disable"), &[]).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);

    // Edit the expiry; a past date is refused next to the field.
    let res = s
        .post(
            &app,
            &format!("{tab}/{cred_id}/edit"),
            &[("expiry_date", "2001-01-01")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        text(res)
            .await
            .contains("id=\"expiry-error\">The expiry date must be in the future.")
    );
    let res = s
        .post(
            &app,
            &format!("{tab}/{cred_id}/edit"),
            &[("expiry_date", "2031-06-30")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let cred: Value = app
        .get(
            &mgmt,
            &format!("/api/v2/clients/{id}/credentials/{cred_id}"),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(cred["expires_at"], "2031-06-30T23:59:59.999Z");

    // Authorise the application for an API with a chosen scope.
    let res = s
        .post(
            &app,
            "/dashboard/apis",
            &[
                ("name", "Billing"),
                ("identifier", "https://billing.example.com/"),
                ("scopes", "read:invoices write:invoices"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let api_id = app
        .resource_server_id(&mgmt, "https://billing.example.com/")
        .await;
    let res = s
        .post(
            &app,
            &format!("/dashboard/applications/{id}/apis/{api_id}"),
            &[("scope", "read:invoices")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let grants: Value = app
        .get(&mgmt, &format!("/api/v2/client-grants?client_id={id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(grants[0]["scope"], serde_json::json!(["read:invoices"]));

    // Switch back to Client Secret (Post): asked first, saying what breaks; nothing changes
    // until confirmed. Then the same secret is shown again, and it works.
    let method = format!("/dashboard/applications/{id}/method");
    let res = s
        .post(&app, &method, &[("method", "client_secret_post")])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let question = text(res).await;
    assert!(question.contains("Switch Billing worker to Client Secret (Post)?"));
    assert!(
        question.contains("Assertions signed with the application&#39;s keys are refused"),
        "{question}"
    );
    assert!(question.contains("name=\"method\" value=\"client_secret_post\""));
    let client: Value = app
        .get(&mgmt, &format!("/api/v2/clients/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert!(client["token_endpoint_auth_method"].is_null(), "{client}");
    let res = s
        .post(
            &app,
            &method,
            &[("method", "client_secret_post"), ("confirm", "yes")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let html = text(s.get(&app, &tab).await).await;
    assert!(html.contains(&secret));
    assert!(
        html.contains("not enabled"),
        "the credential stays, disabled"
    );
    app.token_with_secret(&id, &secret, "https://billing.example.com/")
        .await;

    // The token request shows on the Logs tab.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let mut logs = String::new();
    for _ in 0..20 {
        logs = text(
            s.get(&app, &format!("/dashboard/applications/{id}/logs"))
                .await,
        )
        .await;
        if logs.contains("seccft") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(logs.contains("seccft"), "{logs}");

    // Rotation: enable the old credential again (on a secret method that is a switch, so it is
    // asked first), add a second one, then retire the first.
    let enable = format!("{tab}/{cred_id}/enable");
    let res = s.post(&app, &enable, &[]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        text(res)
            .await
            .contains("get invalid_client from the moment you confirm")
    );
    let res = s.post(&app, &enable, &[("confirm", "yes")]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = s
        .add_credential(
            &app,
            &id,
            &[("name", "key-2027"), ("alg", "PS256"), ("enable", "1")],
            Some(PUB_3072),
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let client: Value = app
        .get(&mgmt, &format!("/api/v2/clients/{id}"))
        .await
        .json()
        .await
        .unwrap();
    let enabled = client["client_authentication_methods"]["private_key_jwt"]["credentials"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(enabled, 2, "{client}");
    let html = text(s.get(&app, &tab).await).await;
    assert!(
        html.contains("PS256") && !html.contains("Add Credential</button>"),
        "two is the limit"
    );
    let disable = format!("{tab}/{cred_id}/disable");
    let res = s.post(&app, &disable, &[]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let question = text(res).await;
    assert!(
        question.contains(&cred_id) && question.contains(&kid),
        "{question}"
    );
    let res = s.post(&app, &disable, &[("confirm", "yes")]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let client: Value = app
        .get(&mgmt, &format!("/api/v2/clients/{id}"))
        .await
        .json()
        .await
        .unwrap();
    let enabled = &client["client_authentication_methods"]["private_key_jwt"]["credentials"];
    assert_eq!(enabled.as_array().unwrap().len(), 1);
    assert_ne!(enabled[0]["id"], cred_id.as_str());

    // Client Secret (Basic) works the same way; the credentials stay, disabled.
    let res = s
        .post(
            &app,
            &method,
            &[("method", "client_secret_basic"), ("confirm", "yes")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let client: Value = app
        .get(&mgmt, &format!("/api/v2/clients/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(client["token_endpoint_auth_method"], "client_secret_basic");

    // Now the credential can be deleted (once confirmed), then the application, once its name
    // is typed.
    let res = s.post(&app, &format!("{tab}/{cred_id}/delete"), &[]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(text(res).await.contains("this cannot be undone"));
    assert_eq!(
        app.get(
            &mgmt,
            &format!("/api/v2/clients/{id}/credentials/{cred_id}")
        )
        .await
        .status(),
        StatusCode::OK,
        "not deleted before the confirmation"
    );
    let res = s
        .post(
            &app,
            &format!("{tab}/{cred_id}/delete"),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let delete = format!("/dashboard/applications/{id}/delete");
    for typed in ["", "Billing", "billing worker"] {
        let res = s.post(&app, &delete, &[("confirm", typed)]).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{typed:?}");
        assert!(text(res).await.contains(
            "id=\"confirm-error\">Type the name of the application, Billing worker, to delete it."
        ));
        let still = app.get(&mgmt, &format!("/api/v2/clients/{id}")).await;
        assert_eq!(
            still.status(),
            StatusCode::OK,
            "not deleted without the name"
        );
    }
    let res = s
        .post(&app, &delete, &[("confirm", "Billing worker")])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.get(&mgmt, &format!("/api/v2/clients/{id}"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
}

/// Rows on a Logs tab page, and how many of them are failures.
fn log_rows(html: &str) -> (usize, usize) {
    (
        html.matches("<span class=\"state good\">").count()
            + html.matches("<span class=\"state bad\">").count(),
        html.matches("<span class=\"state bad\">").count(),
    )
}

async fn the_logs_tab_pages_through_events_and_filters_them(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let mgmt = app.management_token().await;
    let client = app.create_client(&mgmt, "Paged worker").await;
    let id = client["client_id"].as_str().unwrap();
    let secret = client["client_secret"].as_str().unwrap();
    app.create_api(&mgmt, "https://paging.example/", &["read"])
        .await;
    app.grant(&mgmt, id, "https://paging.example/", &["read"])
        .await;
    for _ in 0..3 {
        app.token_with_secret(id, secret, "https://paging.example/")
            .await;
    }
    // Each failure differs (its audience): identical ones from one address would be counted
    // into one event past the first few.
    for i in 0..55 {
        let res = app
            .secret_token_request(id, "not-the-secret", &format!("https://paging.example/{i}"))
            .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }

    let s = Session::sign_in(&app).await;
    let logs = format!("/dashboard/applications/{id}/logs");
    // Events are written in the background; wait until the last of them is readable.
    let mut older = String::new();
    for _ in 0..50 {
        older = text(s.get(&app, &format!("{logs}?page=1")).await).await;
        if log_rows(&older).0 == 8 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(log_rows(&older), (8, 5), "{older}");
    assert!(older.contains("Events 51–58"), "{older}");
    assert!(older.contains("id=\"page-previous\"") && !older.contains("id=\"page-next\""));
    // The oldest page holds the oldest events: the three successes came first.
    assert_eq!(older.matches("<span class=\"state good\">").count(), 3);

    let newest = text(s.get(&app, &logs).await).await;
    assert_eq!(log_rows(&newest), (50, 50), "{newest}");
    assert!(newest.contains("Events 1–50"));
    assert!(newest.contains("id=\"page-next\"") && !newest.contains("id=\"page-previous\""));
    assert!(
        newest.contains(&format!("href=\"{logs}?show=all&amp;page=1\"")),
        "{newest}"
    );

    let failures = text(s.get(&app, &format!("{logs}?show=failures&page=1")).await).await;
    assert_eq!(log_rows(&failures), (5, 5), "{failures}");
    assert!(failures.contains(&format!("href=\"{logs}?show=failures&amp;page=0\"")));
    let successes = text(s.get(&app, &format!("{logs}?show=successes")).await).await;
    assert_eq!(log_rows(&successes), (3, 0), "{successes}");
    assert!(!successes.contains("class=\"pager\""));

    let past_the_end = text(s.get(&app, &format!("{logs}?page=7")).await).await;
    assert_eq!(log_rows(&past_the_end).0, 0);
    assert!(past_the_end.contains("No events on this page"));

    for bad in ["page=-1", "page=1000001", "page=next", "show=everything"] {
        let res = s.get(&app, &format!("{logs}?{bad}")).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{bad}");
        assert!(text(res).await.contains("must be"), "{bad}");
    }
}

/// Rows of the applications or APIs table on a dashboard page.
fn list_rows(html: &str, table: &str) -> usize {
    html.split(&format!("<table id=\"{table}\">"))
        .nth(1)
        .map_or(0, |t| {
            t.split("</table>")
                .next()
                .unwrap()
                .matches("<tr><td")
                .count()
        })
}

async fn the_applications_and_apis_lists_page_by_fifty(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let mgmt = app.management_token().await;
    // With the bootstrap client: 56 applications. With the Management API: 51 APIs.
    for i in 0..55 {
        app.create_client(&mgmt, &format!("Worker {i:02}")).await;
    }
    for i in 0..50 {
        app.create_api(&mgmt, &format!("https://api-{i:02}.paging.example/"), &[])
            .await;
    }
    let s = Session::sign_in(&app).await;

    let first = text(s.get(&app, "/dashboard/applications").await).await;
    assert_eq!(list_rows(&first, "applications"), 50, "{first}");
    assert!(first.contains("Applications 1–50"), "{first}");
    assert!(first.contains("href=\"/dashboard/applications?page=1\""));
    assert!(!first.contains("id=\"page-previous\""));
    let second = text(s.get(&app, "/dashboard/applications?page=1").await).await;
    assert_eq!(list_rows(&second, "applications"), 6, "{second}");
    assert!(second.contains("Applications 51–56"), "{second}");
    assert!(second.contains("href=\"/dashboard/applications?page=0\""));
    assert!(!second.contains("id=\"page-next\""));
    // The two pages hold every application once.
    for i in 0..55 {
        let name = format!(">Worker {i:02}<");
        assert_eq!(
            first.matches(&name).count() + second.matches(&name).count(),
            1,
            "{name}"
        );
    }
    let past = text(s.get(&app, "/dashboard/applications?page=9").await).await;
    assert!(past.contains("No applications on this page"), "{past}");

    let apis = text(s.get(&app, "/dashboard/apis?done=api-created").await).await;
    assert_eq!(list_rows(&apis, "apis"), 50, "{apis}");
    assert!(apis.contains("APIs 1–50"));
    let last = text(s.get(&app, "/dashboard/apis?page=1").await).await;
    assert_eq!(list_rows(&last, "apis"), 1, "{last}");
    for i in 0..50 {
        let id = format!("<code>https://api-{i:02}.paging.example/</code>");
        assert_eq!(
            apis.matches(&id).count() + last.matches(&id).count(),
            1,
            "{id}"
        );
    }
    assert!(last.contains("href=\"/dashboard/apis?page=0\""));

    for path in ["/dashboard/applications?page=-1", "/dashboard/apis?page=x"] {
        let res = s.get(&app, path).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{path}");
        assert!(text(res).await.contains("page must be"), "{path}");
    }
}

async fn unknown_ids_and_odd_input_never_give_a_server_error(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let s = Session::sign_in(&app).await;
    for path in [
        "/dashboard/applications/nope",
        "/dashboard/applications/nope/credentials",
        "/dashboard/applications/nope/apis",
        "/dashboard/applications/nope/logs",
        "/dashboard/applications/nope/credentials/cred_x/edit",
    ] {
        assert_eq!(
            s.get(&app, path).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let id = s.create_app(&app, "Odd").await;
    // A form's address opened as a page answers with a page, not JSON.
    let res = s
        .get(&app, &format!("/dashboard/applications/{id}/delete"))
        .await;
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(text(res).await.contains("only takes a submitted form"));
    let odd = [
        (
            format!("/dashboard/applications/{id}/method"),
            vec![("method", "magic")],
        ),
        (
            format!("/dashboard/applications/{id}"),
            vec![("name", "<b>")],
        ),
        (
            "/dashboard/applications".to_owned(),
            vec![("name", "x"), ("app_type", "robot")],
        ),
        (
            "/dashboard/apis".to_owned(),
            vec![("name", "n"), ("identifier", "i"), ("scopes", "bad\"scope")],
        ),
    ];
    for (path, fields) in &odd {
        let res = s.post(&app, path, fields).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{path}");
    }
    let res = send_oversize(|| {
        s.http
            .post(app.url("/dashboard/applications"))
            .body(vec![0xffu8; 200 * 1024])
    })
    .await;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // An oversized key is refused next to its field, not echoed back.
    let big = format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        "A".repeat(20 * 1024)
    );
    let res = s
        .add_credential(&app, &id, &[("name", "big"), ("alg", "RS256")], Some(&big))
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = text(res).await;
    assert!(
        html.contains("id=\"pem-error\"") && html.contains("larger than 16 KB"),
        "{html}"
    );
    let res = s
        .add_credential(
            &app,
            &id,
            &[("name", "garbage"), ("alg", "RS256")],
            Some("\u{0}\u{1}garbage"),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = s
        .add_credential(
            &app,
            &id,
            &[("name", "no-alg"), ("alg", "HS256"), ("pem", PUB_2048)],
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text(res).await.contains("Choose RS256, RS384 or PS256."));
    let res = s
        .get(
            &app,
            "/dashboard/applications?done=a&done=b&x=%ZZ&done=%3Cscript%3E",
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(!text(res).await.contains("<script>"));
    let res = s.get(&app, "/dashboard/no-such-page").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
}

async fn session_cookies_are_secure_when_the_issuer_is_https(db: Db) {
    let Some(database) = crate::helpers::Database::create(db).await else {
        return;
    };
    let app = TestApp::start(database, |mut s| {
        s.issuer =
            Some(signet::domain::issuer::Issuer::parse("https://auth.example.com/").unwrap());
        s
    })
    .await;
    let http = browser_like();
    let login = http.get(app.url("/dashboard/login")).send().await.unwrap();
    let login_cookie = login.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(login_cookie.contains("Secure"), "{login_cookie}");
    let csrf = csrf_of(&text(login).await);
    let token = login_cookie.split(';').next().unwrap().to_owned();
    // The client keeps no Secure cookie over http: send the sign-in cookie by hand.
    let res = http
        .post(app.url("/dashboard/login"))
        .header("cookie", token)
        .form(&[
            ("csrf", csrf.as_str()),
            ("email", ADMIN_EMAIL),
            ("password", ADMIN_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let cookie = res
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("signet_session="))
        .unwrap();
    assert!(
        cookie.contains("Secure")
            && cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
}

async fn apis_are_created_edited_and_deleted(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let s = Session::sign_in(&app).await;
    let mgmt = app.management_token().await;
    let res = s
        .post(
            &app,
            "/dashboard/apis",
            &[
                ("name", "Reports"),
                ("identifier", "https://reports.example.com/"),
                ("scopes", "read:reports, write:reports"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let apis: Value = app
        .get(&mgmt, "/api/v2/resource-servers")
        .await
        .json()
        .await
        .unwrap();
    let api = apis
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["identifier"] == "https://reports.example.com/")
        .unwrap()
        .clone();
    assert_eq!(api["scopes"].as_array().unwrap().len(), 2);
    let id = api["id"].as_str().unwrap();

    // The same identifier twice is refused next to the field, keeping what was typed.
    let res = s
        .post(
            &app,
            "/dashboard/apis",
            &[
                ("name", "Again"),
                ("identifier", "https://reports.example.com/"),
                ("scopes", ""),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = text(res).await;
    assert!(
        html.contains("id=\"api-identifier-error\">An API with this identifier already exists.")
    );
    assert!(html.contains("value=\"Again\""));

    // Edit: a bad lifetime is refused by its field; then scopes are replaced.
    let path = format!("/dashboard/apis/{id}");
    let res = s
        .post(
            &app,
            &path,
            &[
                ("name", "Reports"),
                ("scopes", "read:reports"),
                ("token_lifetime", "soon"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text(res).await.contains("id=\"api-lifetime-error\""));
    let res = s
        .post(
            &app,
            &path,
            &[
                ("name", "Reports v2"),
                ("scopes", "read:reports\nexport:reports"),
                ("token_lifetime", "3600"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let api: Value = app
        .get(&mgmt, &format!("/api/v2/resource-servers/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(api["name"], "Reports v2");
    assert_eq!(api["token_lifetime"], 3600);
    assert_eq!(
        api["scopes"],
        serde_json::json!([{"value": "read:reports", "description": ""}, {"value": "export:reports", "description": ""}])
    );

    // The Management API's own entry cannot be deleted.
    let system = apis
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["is_system"] == true)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = s
        .post(&app, &format!("/dashboard/apis/{system}/delete"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    // Deleting needs the identifier typed.
    let res = s
        .post(&app, &format!("{path}/delete"), &[("confirm", "Reports")])
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(text(res).await.contains(
        "id=\"confirm-error\">Type the identifier of the API, https://reports.example.com/, to delete it."
    ));
    let still = app
        .get(&mgmt, &format!("/api/v2/resource-servers/{id}"))
        .await;
    assert_eq!(
        still.status(),
        StatusCode::OK,
        "not deleted without the identifier"
    );
    let res = s
        .post(
            &app,
            &format!("{path}/delete"),
            &[("confirm", "https://reports.example.com/")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.get(&mgmt, &format!("/api/v2/resource-servers/{id}"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
}

/// The server's root: a browser is taken to the dashboard; an API client still gets the JSON 404
/// every unknown address gives, whatever the method.
async fn the_root_leads_browsers_to_the_dashboard(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let http = browser_like();
    let page = http
        .get(app.url("/"))
        .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert_eq!(page.headers()[LOCATION], "/dashboard");
    for (method, accept) in [
        (reqwest::Method::GET, "application/json"),
        (reqwest::Method::GET, "*/*"),
        (reqwest::Method::POST, "text/html"),
    ] {
        let res = http
            .request(method.clone(), app.url("/"))
            .header("accept", accept)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{method} {accept}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["errorCode"], "inexistent_route", "{method} {accept}");
    }
}

/// A Private Key JWT application whose only key expired: its tabs say every request fails, and
/// why, instead of showing a green "active" state nowhere.
async fn an_application_without_a_usable_key_says_so(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let mgmt = app.management_token().await;
    let client = app.create_client(&mgmt, "Expiring").await;
    let id = client["client_id"].as_str().unwrap();
    let now = signet::clock::Clock::now(&*app.clock);
    let soon = signet::time_util::format_millis(now + 60_000);
    let cred: Value = app
        .post_json(
            &mgmt,
            &format!("/api/v2/clients/{id}/credentials"),
            &serde_json::json!({"credential_type": "public_key", "pem": PUB_2048,
                                "alg": "RS256", "expires_at": soon}),
        )
        .await
        .json()
        .await
        .unwrap();
    let switched = app
        .patch_json(
            &mgmt,
            &format!("/api/v2/clients/{id}"),
            &serde_json::json!({"token_endpoint_auth_method": null,
                "client_authentication_methods": {"private_key_jwt": {"credentials": [{"id": cred["id"]}]}}}),
        )
        .await;
    assert_eq!(switched.status(), StatusCode::OK);
    let s = Session::sign_in(&app).await;
    let tab = format!("/dashboard/applications/{id}/credentials");
    let integration = format!("/dashboard/applications/{id}/integration");
    let before = text(s.get(&app, &tab).await).await;
    assert!(!before.contains("id=\"no-usable-credential\""), "{before}");
    assert!(
        text(s.get(&app, &integration).await)
            .await
            .contains("id=\"integration-kids\"")
    );

    app.clock.advance(std::time::Duration::from_secs(120));
    let after = text(s.get(&app, &tab).await).await;
    assert!(after.contains("id=\"no-usable-credential\""), "{after}");
    assert!(after.contains("<strong>No usable credential.</strong>"));
    assert!(
        text(s.get(&app, &integration).await)
            .await
            .contains("id=\"integration-no-keys\"")
    );
}

on_both_databases!(
    an_application_without_a_usable_key_says_so,
    the_root_leads_browsers_to_the_dashboard,
    apis_are_created_edited_and_deleted,
    sign_in_sets_a_strict_http_only_cookie_and_pages_carry_security_headers,
    pages_need_a_session,
    a_wrong_password_is_refused_and_repeated_failures_lock_the_account,
    a_success_resets_the_failure_count,
    posts_without_the_csrf_token_are_refused,
    signing_out_ends_the_session_on_the_server,
    the_seed_flows_work_as_form_posts,
    unknown_ids_and_odd_input_never_give_a_server_error,
    session_cookies_are_secure_when_the_issuer_is_https,
    the_logs_tab_pages_through_events_and_filters_them,
    the_applications_and_apis_lists_page_by_fifty,
);

#[tokio::test]
async fn the_administrator_is_created_once_with_a_generated_password() {
    let db = crate::helpers::Database::create(Db::Sqlite).await.unwrap();
    let store = signet::store::Store::connect(&db.url).await.unwrap();
    let hashing = signet::admins::admin::Hashing::default();
    let created = signet::admins::admin::ensure(&store, &hashing, "admin@localhost", None, 1)
        .await
        .unwrap()
        .expect("created on first start");
    assert_eq!(created.password.expose().len(), 24);
    assert!(
        signet::admins::admin::ensure(&store, &hashing, "admin@localhost", None, 2)
            .await
            .unwrap()
            .is_none()
    );
    let session =
        signet::admins::admin::login(&store, &hashing, "admin@localhost", &created.password, 3)
            .await
            .unwrap();
    assert!(
        signet::admins::admin::authenticate(&store, session.token.expose(), 4)
            .await
            .unwrap()
            .is_some()
    );
    // Past its expiry the session no longer authenticates.
    assert!(
        signet::admins::admin::authenticate(&store, session.token.expose(), session.expires_at)
            .await
            .unwrap()
            .is_none()
    );
    // A configured password replaces the generated one and ends the sessions opened with it.
    let configured = signet::crypto::secret::Secret::new("a configured password".into());
    signet::admins::admin::ensure(&store, &hashing, "admin@localhost", Some(&configured), 5)
        .await
        .unwrap();
    assert!(
        signet::admins::admin::authenticate(&store, session.token.expose(), 5)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        signet::admins::admin::login(&store, &hashing, "admin@localhost", &created.password, 6)
            .await
            .is_err()
    );
    assert!(
        signet::admins::admin::login(
            &store,
            &hashing,
            "admin@localhost",
            &signet::crypto::secret::Secret::new("a configured password".into()),
            7
        )
        .await
        .is_ok()
    );
    store.close().await;
}
