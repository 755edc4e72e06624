//! "Explain an assertion" in the dashboard: the verdicts for a good, an expired and a
//! wrong-audience assertion, and that explaining consumes nothing — the same assertion still
//! gets a token afterwards, no log event is written and the credential's last use stays unset.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::dashboard::Session;
use crate::helpers::{Db, TestApp};
use crate::on_both_databases;
use crate::private_key_jwt::{Setup, ok_token, sign, unique_jti};

const PUB_2048: &str = include_str!("../fixtures/keys/rsa2048.pub.pem");
const KEY_2048: &str = include_str!("../fixtures/keys/rsa2048.key.pem");

on_both_databases!(explaining_gives_verdicts_and_consumes_nothing);

fn now() -> i64 {
    signet::time_util::now_millis() / 1000
}

/// The `<tr>` of check `name` in an explanation page.
pub(crate) fn row<'h>(html: &'h str, name: &str) -> &'h str {
    let start = html
        .find(&format!("id=\"check-{name}\""))
        .unwrap_or_else(|| panic!("no row for {name}"));
    let end = html[start..].find("</tr>").unwrap() + start;
    &html[start..end]
}

/// The verdict of check `name`: `pass`, `fail`, `not-run` or `not-applicable`.
pub(crate) fn verdict<'h>(html: &'h str, name: &str) -> &'h str {
    let r = row(html, name);
    let marker = "data-verdict=\"";
    let start = r.find(marker).unwrap() + marker.len();
    &r[start..start + r[start..].find('"').unwrap()]
}

/// Every row's `(name, verdict)`.
fn verdicts(html: &str) -> Vec<(String, String)> {
    html.match_indices("id=\"check-")
        .map(|(at, m)| {
            let name = &html[at + m.len()..];
            let name = &name[..name.find('"').unwrap()];
            (name.to_owned(), verdict(html, name).to_owned())
        })
        .collect()
}

async fn explain(s: &Setup, session: &Session, fields: &[(&str, &str)]) -> (StatusCode, String) {
    let res = session
        .post(
            &s.app,
            &format!("/dashboard/applications/{}/explain", s.client_id),
            fields,
        )
        .await;
    (res.status(), res.text().await.unwrap())
}

/// Every log event of the application, once the background writer has had time to write any.
async fn events_of(s: &Setup) -> Vec<Value> {
    tokio::time::sleep(Duration::from_millis(300)).await;
    s.app
        .get(
            &s.admin,
            &format!("/api/v2/logs?client_id={}&per_page=100", s.client_id),
        )
        .await
        .json::<Value>()
        .await
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// Neither the assertion nor its payload or signature is in the page. (A bare header such as
/// `{"alg":"RS256"}` encodes the same for every assertion: the form's placeholder shows it.)
fn assert_not_echoed(html: &str, assertion: &str) {
    assert!(!html.contains(assertion), "the assertion is not shown");
    for part in assertion.split('.').skip(1) {
        assert!(!html.contains(part), "no part of the assertion is shown");
    }
}

async fn explaining_gives_verdicts_and_consumes_nothing(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let s = Setup::new(app, PUB_2048, "RS256").await;
    let session = Session::sign_in(&s.app).await;
    let page_path = format!("/dashboard/applications/{}/explain", s.client_id);
    let res = session.get(&s.app, &page_path).await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("id=\"explain-form\"") && html.contains("name=\"assertion\""));
    assert!(!html.contains("id=\"checks\""), "no result before a paste");
    let logged_before = events_of(&s).await.len();

    // A good assertion: every check passes, none fails.
    let claims = s.claims();
    let jti = claims["jti"].as_str().unwrap().to_owned();
    let good = sign(KEY_2048, &json!({"alg": "RS256", "kid": s.kid()}), &claims);
    let (status, html) = explain(&s, &session, &[("assertion", &good)]).await;
    assert_eq!(status, StatusCode::OK);
    let all = verdicts(&html);
    assert_eq!(all.len(), 21, "{all:?}");
    assert!(all.iter().all(|(_, v)| v != "fail"), "{all:?}");
    for name in [
        "size",
        "alg",
        "kid",
        "credential",
        "signature",
        "aud",
        "exp",
        "jti",
        "replay",
    ] {
        assert_eq!(verdict(&html, name), "pass", "{name}");
    }
    assert!(row(&html, "credential").contains(s.credential["id"].as_str().unwrap()));
    assert!(html.contains("Every check passes"));
    assert_not_echoed(&html, &good);

    // An expired one: exp fails, with the instant it had to be after, and the logged reason.
    let mut expired = s.claims();
    expired["iat"] = json!(now() - 120);
    expired["exp"] = json!(now() - 60);
    let expired = sign(KEY_2048, &json!({"alg": "RS256"}), &expired);
    let (status, html) = explain(&s, &session, &[("assertion", &expired)]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(verdict(&html, "exp"), "fail");
    let exp = row(&html, "exp");
    assert!(
        exp.contains("<code>expired</code>") && exp.contains("10 s"),
        "{exp}"
    );
    assert!(html.contains("data-reason=\"expired\""));
    assert_eq!(verdict(&html, "signature"), "pass");
    assert_not_echoed(&html, &expired);

    // A wrong audience (the token endpoint): aud fails, naming the issuer it must be.
    let mut wrong_aud = s.claims();
    wrong_aud["aud"] = json!(format!("{}oauth/token", s.app.issuer));
    let wrong_aud = sign(KEY_2048, &json!({"alg": "RS256"}), &wrong_aud);
    let (_, html) = explain(&s, &session, &[("assertion", &wrong_aud)]).await;
    assert_eq!(verdict(&html, "aud"), "fail");
    let aud = row(&html, "aud");
    assert!(aud.contains("<code>aud_mismatch</code>"), "{aud}");
    let expected = &aud[aud.find("class=\"expected\"").unwrap()..];
    assert!(
        expected.contains(s.app.issuer.trim_end_matches('/')),
        "{aud}"
    );
    assert_eq!(verdict(&html, "exp"), "pass");

    // A pasted header and claims: every check but the signature.
    let header = json!({"alg": "RS256"}).to_string();
    let decoded = s.claims().to_string();
    let (_, html) = explain(&s, &session, &[("header", &header), ("claims", &decoded)]).await;
    assert_eq!(verdict(&html, "signature"), "not-applicable");
    assert_eq!(verdict(&html, "credential"), "pass");
    assert!(!verdicts(&html).iter().any(|(_, v)| v == "fail"));

    // Garbage (a NUL included) is explained, not refused.
    let (status, html) = explain(&s, &session, &[("assertion", "not.a\0.jwt")]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(verdict(&html, "form"), "fail");
    assert!(html.contains("<code>malformed_assertion</code>"));
    let (status, html) = explain(&s, &session, &[("assertion", &"x".repeat(3000))]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(verdict(&html, "size"), "fail");
    // Nothing pasted: the form says so.
    let (status, html) = explain(&s, &session, &[("assertion", "  ")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"explain-form-error\""));
    // Without the CSRF token nothing is explained.
    let res = session
        .http
        .post(s.app.url(&page_path))
        .form(&[("assertion", good.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    // Explaining wrote no log event and recorded no use of the credential.
    assert_eq!(
        events_of(&s).await.len(),
        logged_before,
        "no event was written"
    );
    let credential: Value = s
        .app
        .get(
            &s.admin,
            &format!(
                "/api/v2/clients/{}/credentials/{}",
                s.client_id,
                s.credential["id"].as_str().unwrap()
            ),
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(credential["last_used_at"].is_null(), "{credential}");

    // The jti was not consumed: the same assertion gets a token.
    ok_token(s.post_form(&good, None).await).await;
    let events = events_of(&s).await;
    assert_eq!(
        events.len(),
        logged_before + 1,
        "the token request is logged"
    );
    assert!(events.iter().any(|e| e["type"] == "seccft"), "{events:?}");

    // Now it has been used, and the explainer says so.
    let (_, html) = explain(&s, &session, &[("assertion", &good)]).await;
    assert_eq!(verdict(&html, "replay"), "fail");
    assert!(row(&html, "replay").contains("<code>replayed</code>"));
    assert!(row(&html, "replay").contains(&jti));
    // A fresh one is still good.
    let mut fresh = s.claims();
    fresh["jti"] = json!(unique_jti());
    let fresh = sign(KEY_2048, &json!({"alg": "RS256"}), &fresh);
    let (_, html) = explain(&s, &session, &[("assertion", &fresh)]).await;
    assert_eq!(verdict(&html, "replay"), "pass");
}
