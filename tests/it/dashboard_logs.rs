//! The dashboard's Logs pages over plain HTTP: the tenant-wide page shows failures of client IDs
//! no application has, each filter narrows it, reasons are explained, and the charts count the
//! token requests; on SQLite and PostgreSQL.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use signet::clock::Clock;

use crate::dashboard::{KEY_2048, PUB_2048, Session};
use crate::helpers::{Db, TestApp};
use crate::on_both_databases;
use crate::private_key_jwt::{Setup, sign};

const API: &str = "https://logs.example/";

async fn text(res: reqwest::Response) -> String {
    res.text().await.unwrap()
}

/// Rows of the log table on a page.
fn rows(html: &str) -> usize {
    html.matches("<td data-label=\"Date\">").count()
}

/// Failure rows among them.
fn failures(html: &str) -> usize {
    html.matches("<span class=\"state bad\">feccft</span>")
        .count()
}

/// The page at `path` once it shows `want` rows (events are written in the background).
async fn page_with_rows(app: &TestApp, s: &Session, path: &str, want: usize) -> String {
    let mut html = String::new();
    for _ in 0..60 {
        let res = s.get(app, path).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        html = text(res).await;
        if rows(&html) == want {
            return html;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "{path}: expected {want} rows, found {}:\n{html}",
        rows(&html)
    );
}

/// A Machine to Machine application on a client secret, authorized for [`API`].
async fn secret_app(app: &TestApp, mgmt: &str, name: &str) -> (String, String) {
    let client = app.create_client(mgmt, name).await;
    let id = client["client_id"].as_str().unwrap().to_owned();
    let secret = client["client_secret"].as_str().unwrap().to_owned();
    app.grant(mgmt, &id, API, &["read"]).await;
    (id, secret)
}

async fn refused(app: &TestApp, id: &str, secret: &str, audience: &str, status: StatusCode) {
    let res = app.secret_token_request(id, secret, audience).await;
    assert_eq!(res.status(), status, "{id} {audience}");
}

async fn a_failure_of_an_unknown_client_id_shows_on_the_tenant_page_only(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let mgmt = app.management_token().await;
    app.create_api(&mgmt, API, &["read"]).await;
    let (id, secret) = secret_app(&app, &mgmt, "Known worker").await;
    app.token_with_secret(&id, &secret, API).await;
    refused(
        &app,
        "no-such-client-7q",
        "s",
        API,
        StatusCode::UNAUTHORIZED,
    )
    .await;

    let s = Session::sign_in(&app).await;
    let html = page_with_rows(&app, &s, "/dashboard/logs", 3).await;
    // The management token's own request, the worker's success and the unknown client's failure.
    assert!(html.contains("<code>no-such-client-7q</code>"), "{html}");
    assert_eq!(
        html.matches("unknown-app\">unknown application</span>")
            .count(),
        1,
        "{html}"
    );
    assert!(html.contains("<code title=\"No application in this tenant has this client ID"));
    assert!(html.contains(">Known worker</a>"), "{html}");
    assert!(html.contains("id=\"log-filters\""));

    // Its failure is on no application's tab.
    let tab = page_with_rows(&app, &s, &format!("/dashboard/applications/{id}/logs"), 1).await;
    assert!(!tab.contains("no-such-client-7q"), "{tab}");
    assert_eq!(failures(&tab), 0);

    // Searched for by its claimed id, it is the only event.
    let found = page_with_rows(&app, &s, "/dashboard/logs?client_id=no-such-client-7q", 1).await;
    assert_eq!(failures(&found), 1);
    assert!(
        found.contains("value=\"no-such-client-7q\""),
        "the typed id stays in its field"
    );
    assert!(
        found.contains("Activity of client ID no-such-client-7q"),
        "{found}"
    );
}

async fn each_filter_narrows_the_tenant_logs(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let mgmt = app.management_token().await;
    app.create_api(&mgmt, API, &["read"]).await;
    let (a, a_secret) = secret_app(&app, &mgmt, "Alpha").await;
    let (b, b_secret) = secret_app(&app, &mgmt, "Bravo").await;
    // Two days ago: one success of Alpha.
    app.token_with_secret(&a, &a_secret, API).await;
    let old_day = signet::time_util::format_millis(app.clock.now())[..10].to_owned();
    app.clock.advance(Duration::from_secs(2 * 24 * 3600));
    let today = signet::time_util::format_millis(app.clock.now())[..10].to_owned();

    // Today: Alpha one success and one wrong secret; Bravo one success and one request for an
    // API it is not authorized for; and a client ID no application has.
    app.token_with_secret(&a, &a_secret, API).await;
    refused(&app, &a, "wrong", API, StatusCode::UNAUTHORIZED).await;
    app.token_with_secret(&b, &b_secret, API).await;
    refused(
        &app,
        &b,
        &b_secret,
        "https://nope.example/",
        StatusCode::FORBIDDEN,
    )
    .await;
    refused(&app, "ghost-client", "s", API, StatusCode::UNAUTHORIZED).await;

    let s = Session::sign_in(&app).await;
    // Six token requests of ours and the management token's own (before the jump).
    let all = page_with_rows(&app, &s, "/dashboard/logs", 7).await;
    assert_eq!(failures(&all), 3);

    for (query, want, want_failures) in [
        ("show=failures", 3, 3),
        ("show=successes", 4, 0),
        (&*format!("app={a}"), 3, 1),
        (&*format!("client_id={b}"), 2, 1),
        // The typed client ID wins over the select.
        (&*format!("app={a}&client_id={b}"), 2, 1),
        (&*format!("app={a}&show=failures"), 1, 1),
        ("reason=bad_client_secret", 1, 1),
        ("reason=access_denied", 1, 1),
        ("reason=unknown_client", 1, 1),
        ("reason=aud_mismatch", 0, 0),
        (&*format!("period=24h&app={a}"), 2, 1),
        ("period=1h", 5, 3),
        ("period=7d", 7, 3),
        (&*format!("from={old_day}&to={old_day}"), 2, 0),
        (&*format!("from={today}"), 5, 3),
        (&*format!("to={old_day}&app={a}"), 1, 0),
        // Dates take precedence over the period.
        (&*format!("period=1h&from={old_day}&to={old_day}"), 2, 0),
    ] {
        let html = text(s.get(&app, &format!("/dashboard/logs?{query}")).await).await;
        assert_eq!(
            (rows(&html), failures(&html)),
            (want, want_failures),
            "{query}:\n{html}"
        );
    }
    // The chosen filters stay chosen, and paging keeps them.
    let html = text(
        s.get(
            &app,
            "/dashboard/logs?show=failures&reason=access_denied&period=7d",
        )
        .await,
    )
    .await;
    assert!(html.contains("<option value=\"failures\" selected>"));
    assert!(html.contains("<option value=\"access_denied\" selected>"));
    assert!(html.contains("<option value=\"7d\" selected>"));
    assert!(html.contains("id=\"clear-filters\""));

    for bad in [
        "show=everything",
        "reason=not_a_reason",
        "reason=invalid_client",
        "period=2d",
        "from=yesterday",
        "to=2026-02-30",
        "from=2026-12-02&to=2026-12-01",
        "page=-1",
        &format!("client_id={}", "x".repeat(201)),
        "client_id=a%01b",
    ] {
        let res = s.get(&app, &format!("/dashboard/logs?{bad}")).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{bad}");
        let page = text(res).await;
        assert!(page.contains("must"), "{bad}: {page}");
    }
}

async fn a_reason_is_explained_next_to_it(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let setup = Setup::new(app, PUB_2048, "RS256").await;
    let mut claims = setup.claims();
    claims["aud"] = json!("https://not-the-issuer.example/");
    let assertion = sign(KEY_2048, &json!({"alg": "RS256"}), &claims);
    let res = setup.post_form(&assertion, None).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    let app = &setup.app;
    let s = Session::sign_in(app).await;
    let tab = format!("/dashboard/applications/{}/logs", setup.client_id);
    let html = page_with_rows(app, &s, &tab, 1).await;
    assert!(html.contains("<code title=\"The assertion"), "{html}");
    assert!(html.contains(">aud_mismatch</code>"), "{html}");
    // The sentence is shown, not only in a tooltip, and names the exact `aud` to use.
    let sentence = format!(
        "<p class=\"explain\">The assertion&#x27;s aud is not this tenant&#x27;s issuer ({}); \
         set aud to exactly the issuer",
        app.issuer
    );
    let sentence_alt = sentence.replace("&#x27;", "&#39;");
    assert!(
        html.contains(&sentence) || html.contains(&sentence_alt),
        "{sentence}\n{html}"
    );
    let tenant = page_with_rows(app, &s, "/dashboard/logs?reason=aud_mismatch", 1).await;
    assert!(
        tenant.contains("<p class=\"explain\">The assertion"),
        "{tenant}"
    );
}

/// The `data-…` counts of the chart `id` on a page.
fn chart_totals(html: &str, id: &str) -> (i64, i64) {
    let start = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no chart {id}"));
    let tag = &html[start..start + html[start..].find('>').unwrap()];
    let read = |name: &str| -> i64 {
        let marker = format!("{name}=\"");
        let at = tag.find(&marker).unwrap() + marker.len();
        tag[at..at + tag[at..].find('"').unwrap()].parse().unwrap()
    };
    (read("data-successes"), read("data-failures"))
}

/// The sum of the `data-count`s of the bars of `class` in a chart.
fn bar_sum(svg: &str, class: &str) -> i64 {
    svg.split(&format!("<rect class=\"{class}\""))
        .skip(1)
        .map(|bar| {
            let at = bar.find("data-count=\"").unwrap() + "data-count=\"".len();
            bar[at..at + bar[at..].find('"').unwrap()]
                .parse::<i64>()
                .unwrap()
        })
        .sum()
}

/// The markup of the chart `id`.
fn chart<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html.find(&format!("id=\"{id}\"")).unwrap();
    &html[start..start + html[start..].find("</svg>").unwrap()]
}

async fn the_charts_count_successes_and_failures_by_reason(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let mgmt = app.management_token().await;
    app.create_api(&mgmt, API, &["read"]).await;
    let (id, secret) = secret_app(&app, &mgmt, "Charted").await;
    for _ in 0..3 {
        app.token_with_secret(&id, &secret, API).await;
    }
    for _ in 0..2 {
        refused(&app, &id, "wrong", API, StatusCode::UNAUTHORIZED).await;
    }
    refused(&app, "ghost-client", "s", API, StatusCode::UNAUTHORIZED).await;

    let s = Session::sign_in(&app).await;
    // The management token's success too: 4 successes, 3 failures tenant-wide.
    let html = page_with_rows(&app, &s, "/dashboard/logs", 7).await;
    assert_eq!(chart_totals(&html, "chart-day"), (4, 3));
    assert_eq!(chart_totals(&html, "chart-week"), (4, 3));
    assert_eq!(chart_totals(&html, "chart-reasons"), (4, 3));
    assert!(
        html.contains("7 token requests in the last 24 hours: 4 succeeded, 3 failed."),
        "{html}"
    );
    // The bars hold the counts (one stacked bar, or two if an hour ended meanwhile).
    let day = chart(&html, "chart-day");
    assert_eq!((bar_sum(day, "ok"), bar_sum(day, "fail")), (4, 3), "{day}");
    assert!(day.contains("role=\"img\"") && day.contains("aria-label=\""));
    let reasons = chart(&html, "chart-reasons");
    for (reason, count) in [
        ("success", 4),
        ("bad_client_secret", 2),
        ("unknown_client", 1),
    ] {
        let bar = reasons
            .split(&format!("data-reason=\"{reason}\""))
            .nth(1)
            .unwrap_or_else(|| panic!("no bar for {reason}: {reasons}"));
        let bar = &bar[..bar.find("</g>").unwrap()];
        assert!(
            bar.contains(&format!("data-count=\"{count}\"")),
            "{reason}: {bar}"
        );
    }
    assert!(html.contains(
        "In the last 7 days: 4 succeeded, 3 failed (bad_client_secret 2, unknown_client 1)."
    ));

    // One application's charts, on its tab and with it chosen on the tenant page.
    let tab = page_with_rows(&app, &s, &format!("/dashboard/applications/{id}/logs"), 5).await;
    assert_eq!(chart_totals(&tab, "chart-day"), (3, 2));
    assert_eq!(chart_totals(&tab, "chart-reasons"), (3, 2));
    let chosen = text(s.get(&app, &format!("/dashboard/logs?app={id}")).await).await;
    assert_eq!(chart_totals(&chosen, "chart-week"), (3, 2));
    assert!(
        chosen.contains(&format!("Activity of Charted ({id})")),
        "{chosen}"
    );

    // Two hours on, the day still holds them, in an earlier hour than the current one.
    app.clock.advance(Duration::from_secs(2 * 3600));
    let later = text(
        s.get(&app, &format!("/dashboard/applications/{id}/logs"))
            .await,
    )
    .await;
    assert_eq!(chart_totals(&later, "chart-day"), (3, 2));
    // Eight days on, the week has forgotten them.
    app.clock.advance(Duration::from_secs(8 * 24 * 3600));
    let s = Session::sign_in(&app).await;
    let gone = text(
        s.get(&app, &format!("/dashboard/applications/{id}/logs"))
            .await,
    )
    .await;
    assert_eq!(chart_totals(&gone, "chart-week"), (0, 0));
    assert!(
        gone.contains("No token requests in the last 7 days."),
        "{gone}"
    );
}

on_both_databases!(
    a_failure_of_an_unknown_client_id_shows_on_the_tenant_page_only,
    each_filter_narrows_the_tenant_logs,
    a_reason_is_explained_next_to_it,
    the_charts_count_successes_and_failures_by_reason,
);
