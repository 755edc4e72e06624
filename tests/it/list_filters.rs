//! Auth0's list parameters, applied: the filters of `GET /api/v2/clients`, log search (`q`,
//! `sort`, `fields`) and checkpoint paging (`from`/`take`) of `GET /api/v2/logs`, the filters
//! and checkpoints of `GET /api/v2/client-grants`, `identifiers` of
//! `GET /api/v2/resource-servers`; and the refusal, by name, of Auth0 parameters signet does
//! not implement.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{BOOTSTRAP_ID, BOOTSTRAP_SECRET, Db, TestApp, assert_api_error};
use crate::on_both_databases;

on_both_databases!(
    clients_are_filtered_by_app_type_first_party_and_global,
    logs_are_searched_with_q_sort_and_fields,
    checkpoint_paging_reads_every_event_once_while_events_arrive,
    client_grants_are_filtered_and_paged_by_checkpoint,
    resource_servers_are_filtered_by_identifiers,
    events_read_back_exactly_as_written,
);

const API: &str = "https://filters.example/api";

async fn json_of(res: reqwest::Response) -> Value {
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

fn ids(list: &Value, key: &str) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|v| v[key].as_str().unwrap().to_owned())
        .collect()
}

/// Asserts a 400 `invalid_query_string` whose message mentions each of `says`.
async fn assert_refused(app: &TestApp, token: &str, path: &str, says: &[&str]) {
    let body = assert_api_error(app.get(token, path).await, 400, "invalid_query_string").await;
    let message = body["message"].as_str().unwrap();
    for s in says {
        assert!(
            message.contains(s),
            "{path}: {message:?} should mention {s:?}"
        );
    }
}

// ---- Clients --------------------------------------------------------------------------------

async fn clients_are_filtered_by_app_type_first_party_and_global(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.management_token().await;
    for (name, app_type, first_party) in [
        ("m2m third party", "non_interactive", false),
        ("m2m", "non_interactive", true),
        ("spa", "spa", false),
        ("native", "native", true),
        ("web", "regular_web", true),
    ] {
        let res = app
            .post_json(
                &admin,
                "/api/v2/clients",
                &json!({"name": name, "app_type": app_type, "is_first_party": first_party}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    let all = json_of(app.get(&admin, "/api/v2/clients?per_page=100").await).await;
    let all = all.as_array().unwrap().clone();
    let expected = |keep: &dyn Fn(&Value) -> bool| -> Vec<String> {
        all.iter()
            .filter(|c| keep(c))
            .map(|c| c["client_id"].as_str().unwrap().to_owned())
            .collect()
    };
    let m2m = expected(&|c| c["app_type"] == "non_interactive");
    assert!(m2m.len() >= 3, "the bootstrap client and two more");

    // node-auth0's `clients.getAll({app_type, page, per_page, include_totals})`.
    let page = json_of(
        app.get(
            &admin,
            "/api/v2/clients?app_type=non_interactive&page=0&per_page=50&include_totals=true",
        )
        .await,
    )
    .await;
    assert_eq!(page["total"], m2m.len());
    assert_eq!(page["start"], 0);
    assert_eq!(page["limit"], 50);
    assert_eq!(ids(&page["clients"], "client_id"), m2m);

    // Totals and pages follow the filter, in SQL.
    let second = json_of(
        app.get(
            &admin,
            "/api/v2/clients?app_type=non_interactive&page=1&per_page=1&include_totals=true",
        )
        .await,
    )
    .await;
    assert_eq!(second["total"], m2m.len());
    assert_eq!(ids(&second["clients"], "client_id"), [m2m[1].clone()]);

    let list = json_of(app.get(&admin, "/api/v2/clients?app_type=spa,native").await).await;
    assert_eq!(
        ids(&list, "client_id"),
        expected(&|c| c["app_type"] == "spa" || c["app_type"] == "native")
    );
    // An Auth0 type signet never creates is a valid filter that matches nothing.
    let none = json_of(
        app.get(&admin, "/api/v2/clients?app_type=sso_integration")
            .await,
    )
    .await;
    assert_eq!(none, json!([]));

    let third = json_of(
        app.get(
            &admin,
            "/api/v2/clients?is_first_party=false&include_totals=true",
        )
        .await,
    )
    .await;
    let third_ids = expected(&|c| c["is_first_party"] == false);
    assert_eq!(third_ids.len(), 2);
    assert_eq!(third["total"], 2);
    assert_eq!(ids(&third["clients"], "client_id"), third_ids);
    let both = json_of(
        app.get(
            &admin,
            "/api/v2/clients?app_type=non_interactive&is_first_party=false",
        )
        .await,
    )
    .await;
    assert_eq!(
        ids(&both, "client_id"),
        expected(&|c| c["app_type"] == "non_interactive" && c["is_first_party"] == false)
    );

    // signet has no global client.
    let global = json_of(
        app.get(&admin, "/api/v2/clients?is_global=true&include_totals=true")
            .await,
    )
    .await;
    assert_eq!(global["total"], 0);
    assert_eq!(global["clients"], json!([]));
    let not_global = json_of(
        app.get(&admin, "/api/v2/clients?is_global=false&per_page=100")
            .await,
    )
    .await;
    assert_eq!(not_global.as_array().unwrap().len(), all.len());

    let fields = json_of(
        app.get(
            &admin,
            "/api/v2/clients?app_type=spa&fields=name,app_type&include_fields=true",
        )
        .await,
    )
    .await;
    assert_eq!(fields, json!([{"name": "spa", "app_type": "spa"}]));

    assert_refused(
        &app,
        &admin,
        "/api/v2/clients?app_type=non_interactive,m2m",
        &["app_type", "\"m2m\" is not an application type"],
    )
    .await;
    assert_refused(
        &app,
        &admin,
        "/api/v2/clients?q=client_grant.organization_id%3Aorg_1&from=a&take=10",
        &["parameter q", "organizations"],
    )
    .await;
    assert_refused(&app, &admin, "/api/v2/clients?take=10", &["parameter take"]).await;
    assert_refused(
        &app,
        &admin,
        "/api/v2/clients?from=abc",
        &["parameter from"],
    )
    .await;
    assert_refused(
        &app,
        &admin,
        "/api/v2/clients?client_ids=a,b",
        &["parameter client_ids"],
    )
    .await;
    // Parameters Auth0 does not have stay unknown.
    assert_refused(
        &app,
        &admin,
        "/api/v2/clients?color=red",
        &["unknown field"],
    )
    .await;
}

// ---- Log search -----------------------------------------------------------------------------

/// A client granted access to [`API`]: (id, secret).
async fn granted_client(app: &TestApp, admin: &str, name: &str) -> (String, String) {
    let c = app.create_client(admin, name).await;
    let id = c["client_id"].as_str().unwrap().to_owned();
    app.grant(admin, &id, API, &["read"]).await;
    (id, c["client_secret"].as_str().unwrap().to_owned())
}

/// Every event of `client_id`, newest first, once `expected` of them are written (the log is
/// written in the background).
async fn events_of(app: &TestApp, admin: &str, client_id: &str, expected: usize) -> Vec<Value> {
    let mut events = Vec::new();
    for _ in 0..200 {
        let page = json_of(
            app.get(
                admin,
                &format!("/api/v2/logs?client_id={client_id}&per_page=100"),
            )
            .await,
        )
        .await;
        events = page.as_array().unwrap().clone();
        if events.len() >= expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(events.len(), expected, "{events:#?}");
    events
}

async fn search(app: &TestApp, admin: &str, query: &str) -> Vec<Value> {
    json_of(app.get(admin, &format!("/api/v2/logs?{query}")).await)
        .await
        .as_array()
        .unwrap()
        .clone()
}

fn log_ids(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["log_id"].as_str().unwrap().to_owned())
        .collect()
}

async fn logs_are_searched_with_q_sort_and_fields(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.management_token().await;
    app.create_api(&admin, API, &["read"]).await;
    let (a, a_secret) = granted_client(&app, &admin, "alpha").await;
    let (b, b_secret) = granted_client(&app, &admin, "beta").await;
    // Real token requests: three successes and two failures for alpha, one of each for beta.
    for (id, secret, times) in [
        (&a, a_secret.as_str(), 3),
        (&a, "wrong-secret", 2),
        (&b, b_secret.as_str(), 1),
        (&b, "wrong-secret", 1),
    ] {
        for _ in 0..times {
            let _ = app.secret_token_request(id, secret, API).await;
        }
    }
    let a_events = events_of(&app, &admin, &a, 5).await;
    let b_events = events_of(&app, &admin, &b, 2).await;
    let of_kind = |events: &[Value], kind: &str| -> Vec<Value> {
        events
            .iter()
            .filter(|e| e["type"] == kind)
            .cloned()
            .collect()
    };

    // node-auth0 encodes `q: 'type:"feccft"'` as `q=type%3A%22feccft%22`.
    let failures = search(&app, &admin, "q=type%3A%22feccft%22&per_page=100").await;
    assert!(failures.iter().all(|e| e["type"] == "feccft"));
    let mine: Vec<Value> = failures
        .iter()
        .filter(|e| e["client_id"] == a || e["client_id"] == b)
        .cloned()
        .collect();
    assert_eq!(mine.len(), 3);

    let a_failures = of_kind(&a_events, "feccft");
    for q in [
        format!("type:feccft AND client_id:{a}"),
        format!("type:\"feccft\" client_id:\"{a}\""),
        format!("client_id:{a} && type:(feccft)"),
    ] {
        let found = search(&app, &admin, &format!("q={}", urlencoding(&q))).await;
        assert_eq!(log_ids(&found), log_ids(&a_failures), "{q}");
    }
    let b_successes = search(
        &app,
        &admin,
        &format!("q={}", urlencoding(&format!("type:seccft client_id:{b}"))),
    )
    .await;
    assert_eq!(
        log_ids(&b_successes),
        log_ids(&of_kind(&b_events, "seccft"))
    );
    let either = search(
        &app,
        &admin,
        &format!(
            "q={}",
            urlencoding(&format!("type:(seccft OR feccft) AND client_id:{a}"))
        ),
    )
    .await;
    assert_eq!(log_ids(&either), log_ids(&a_events));
    // The older `type` and `client_id` parameters still work, and combine with `q`.
    let combined = search(&app, &admin, &format!("type=feccft&q=client_id%3A{a}")).await;
    assert_eq!(log_ids(&combined), log_ids(&a_failures));

    // Totals and pages follow `q`.
    let page = json_of(
        app.get(
            &admin,
            &format!("/api/v2/logs?q=client_id%3A{a}&per_page=2&page=1&include_totals=true"),
        )
        .await,
    )
    .await;
    assert_eq!(page["total"], 5);
    assert_eq!(
        log_ids(page["logs"].as_array().unwrap()),
        log_ids(&a_events[2..4])
    );

    // Dates: whole days, open ends, exclusive ends.
    let since_2000 = search(
        &app,
        &admin,
        &format!(
            "q={}",
            urlencoding(&format!("client_id:{a} AND date:[2000-01-01 TO *]"))
        ),
    )
    .await;
    assert_eq!(since_2000.len(), 5);
    let before_2000 = search(
        &app,
        &admin,
        &format!(
            "q={}",
            urlencoding(&format!("client_id:{a} AND date:[* TO 1999-12-31]"))
        ),
    )
    .await;
    assert!(before_2000.is_empty());
    let oldest = a_events.last().unwrap()["date"]
        .as_str()
        .unwrap()
        .to_owned();
    let after_oldest = search(
        &app,
        &admin,
        &format!(
            "q={}",
            urlencoding(&format!("client_id:{a} date:{{{oldest} TO *]"))
        ),
    )
    .await;
    let expected: Vec<Value> = a_events
        .iter()
        .filter(|e| e["date"].as_str().unwrap() > oldest.as_str())
        .cloned()
        .collect();
    assert_eq!(log_ids(&after_oldest), log_ids(&expected));
    let up_to_oldest = search(
        &app,
        &admin,
        &format!(
            "q={}",
            urlencoding(&format!("client_id:{a} date:[* TO \"{oldest}\"]"))
        ),
    )
    .await;
    assert_eq!(up_to_oldest.len(), a_events.len() - expected.len());

    // `sort`: by date, either way.
    let ascending = search(&app, &admin, &format!("q=client_id%3A{a}&sort=date%3A1")).await;
    let mut reversed = a_events.clone();
    reversed.reverse();
    assert_eq!(log_ids(&ascending), log_ids(&reversed));
    let descending = search(&app, &admin, &format!("q=client_id%3A{a}&sort=date%3A-1")).await;
    assert_eq!(log_ids(&descending), log_ids(&a_events));

    // `fields` + `include_fields`.
    let slim = search(
        &app,
        &admin,
        &format!("q=client_id%3A{b}&fields=log_id,type&include_fields=true"),
    )
    .await;
    assert_eq!(slim.len(), 2);
    for e in &slim {
        let keys: Vec<&String> = e.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 2, "{e}");
        assert!(e["log_id"].is_string() && e["type"].is_string());
    }
    let without = search(
        &app,
        &admin,
        &format!("q=client_id%3A{b}&fields=details&include_fields=false"),
    )
    .await;
    assert!(
        without
            .iter()
            .all(|e| e.get("details").is_none() && e["type"].is_string())
    );

    // What is outside the subset is refused, never ignored.
    for (q, says) in [
        ("feccft", "has no field"),
        ("user_id:auth0|123", "have no user_id"),
        ("type:fec*", "wildcards"),
        ("type:seccft OR type:feccft", "OR is supported only"),
        ("NOT type:seccft", "NOT"),
        ("date:[yesterday TO *]", "not a date"),
    ] {
        assert_refused(
            &app,
            &admin,
            &format!("/api/v2/logs?q={}", urlencoding(q)),
            &["q:", says, "signet supports"],
        )
        .await;
    }
    let long = format!("type:{}", "a".repeat(1100));
    assert_refused(
        &app,
        &admin,
        &format!("/api/v2/logs?q={long}"),
        &["longer than 1024 bytes"],
    )
    .await;
    assert_refused(
        &app,
        &admin,
        "/api/v2/logs?sort=type%3A1",
        &["sort", "date:-1 or date:1"],
    )
    .await;
}

/// Percent-encodes a query value as node-auth0 (URLSearchParams) does.
fn urlencoding(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

// ---- Checkpoint paging ----------------------------------------------------------------------

/// The `from` of a response's `Link: <…>; rel="next"`.
fn next_from(res: &reqwest::Response) -> Option<String> {
    let link = res.headers().get("link")?.to_str().ok()?;
    let url = link.strip_prefix('<')?.split('>').next()?;
    let url = url::Url::parse(url).ok()?;
    url.query_pairs()
        .find(|(k, _)| k == "from")
        .map(|(_, v)| v.into_owned())
}

/// `count` synthetic events written in batches of 1 to 40 through the store's own batch
/// writer, on a connection pool of their own: a second writer beside the server's.
async fn write_events(url: String, writer: usize, count: usize) -> Vec<String> {
    use signet::store::logs::{self, LogEvent};
    let store = signet::store::Store::connect(&url).await.unwrap();
    let mut written = Vec::with_capacity(count);
    let mut n = 0;
    while n < count {
        let size = (1 + (n * 7 + writer * 13) % 40).min(count - n);
        let now = signet::time_util::now_millis();
        let batch: Vec<LogEvent> = (0..size)
            .map(|i| LogEvent {
                id: format!("log_{now:013}{}", signet::crypto::random::base62(16)),
                seq: (n + i) as i64,
                date: now,
                kind: "feccft".into(),
                description: format!("synthetic {writer}/{}", n + i),
                client_id: Some(format!("writer-{writer}")),
                client_name: None,
                audience: None,
                scope: None,
                ip: Some("192.0.2.1".into()),
                user_agent: None,
                details: json!({}),
            })
            .collect();
        store
            .with_writer(async |conn| logs::insert_batch(conn, &batch).await)
            .await
            .unwrap();
        written.extend(batch.into_iter().map(|e| e.id));
        n += size;
        tokio::task::yield_now().await;
    }
    store.close().await;
    written
}

async fn checkpoint_paging_reads_every_event_once_while_events_arrive(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.management_token().await;
    let url = app.db.url.clone();
    let writing = Arc::new(AtomicBool::new(true));
    // Two writers beside the server's own audit writer, and token requests feeding that one
    // (successes: each is written, none is counted into a summary written later).
    let writers = [
        tokio::spawn(write_events(url.clone(), 1, 2000)),
        tokio::spawn(write_events(url.clone(), 2, 2000)),
    ];
    let requests = tokio::spawn({
        let (http, token_url, audience, writing) = (
            app.http.clone(),
            app.url("/oauth/token"),
            app.management_audience(),
            writing.clone(),
        );
        async move {
            let mut sent = 0;
            while writing.load(Ordering::Relaxed) {
                let res = http
                    .post(&token_url)
                    .form(&[
                        ("grant_type", "client_credentials"),
                        ("client_id", BOOTSTRAP_ID),
                        ("client_secret", BOOTSTRAP_SECRET),
                        ("audience", audience.as_str()),
                    ])
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), StatusCode::OK);
                sent += 1;
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            sent
        }
    });

    // The reader: from the oldest kept event, following `Link` as Auth0 asks, until the
    // writers are done and a page comes back empty.
    let mut seen: Vec<String> = Vec::new();
    let mut from: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &from {
            None => "/api/v2/logs?take=100".to_owned(),
            Some(f) => format!("/api/v2/logs?from={f}&take=100"),
        };
        let done_before =
            writers.iter().all(|w| w.is_finished()) && !writing.load(Ordering::Relaxed);
        let res = app.get(&admin, &path).await;
        assert_eq!(res.status(), StatusCode::OK);
        let next = next_from(&res);
        let page: Value = res.json().await.unwrap();
        let page = page.as_array().unwrap();
        assert!(page.len() <= 100);
        seen.extend(
            page.iter()
                .map(|e| e["log_id"].as_str().unwrap().to_owned()),
        );
        pages += 1;
        if let Some(last) = seen.last() {
            assert_eq!(
                next.as_deref(),
                Some(last.as_str()),
                "Link names the last event"
            );
        }
        from = next;
        if page.is_empty() {
            if done_before {
                break;
            }
            if writers.iter().all(|w| w.is_finished()) {
                // Stop the token requests, let the server's writer flush, then one last pass.
                writing.store(false, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(300)).await;
            } else {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        assert!(pages < 10_000, "paging does not end");
    }
    let sent = requests.await.unwrap();
    let mut written: HashSet<String> = HashSet::new();
    for w in writers {
        written.extend(w.await.unwrap());
    }
    assert_eq!(written.len(), 4000);

    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "an event was read twice");
    for id in &written {
        assert!(unique.contains(id), "event {id} was never read");
    }
    // Everything the log holds was read: the synthetic events, the server's own.
    let total = json_of(
        app.get(&admin, "/api/v2/logs?per_page=1&include_totals=true")
            .await,
    )
    .await["total"]
        .as_i64()
        .unwrap();
    assert_eq!(seen.len() as i64, total, "{sent} token requests sent");
    assert!(seen.len() > 4000);

    // Nothing new: an empty page, and `Link` repeats the same checkpoint.
    let last = seen.last().unwrap();
    let res = app
        .get(&admin, &format!("/api/v2/logs?from={last}&take=100"))
        .await;
    assert_eq!(next_from(&res).as_deref(), Some(last.as_str()));
    assert_eq!(json_of(res).await, json!([]));

    // `take` bounds, an unknown checkpoint, and search parameters beside it are refused.
    assert_refused(&app, &admin, "/api/v2/logs?take=101", &["take"]).await;
    assert_refused(&app, &admin, "/api/v2/logs?from=x&take=0", &["take"]).await;
    assert_refused(
        &app,
        &admin,
        "/api/v2/logs?from=log_0000000000000nope&take=10",
        &["from names no kept log event"],
    )
    .await;
    assert_refused(
        &app,
        &admin,
        &format!("/api/v2/logs?q=type%3A%22feccft%22&from={last}&take=100"),
        &["cannot be combined with q"],
    )
    .await;
    assert_refused(
        &app,
        &admin,
        &format!("/api/v2/logs?from={last}&per_page=10&sort=date%3A1"),
        &["sort, per_page"],
    )
    .await;
}

// ---- Client grants --------------------------------------------------------------------------

async fn client_grants_are_filtered_and_paged_by_checkpoint(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.management_token().await;
    app.create_api(&admin, API, &["read"]).await;
    let other = "https://filters.example/other";
    app.create_api(&admin, other, &["read"]).await;
    let mut created = Vec::new();
    for i in 0..5 {
        let (id, _) = granted_client(&app, &admin, &format!("grantee {i}")).await;
        if i % 2 == 0 {
            app.grant(&admin, &id, other, &["read"]).await;
        }
        created.push(id);
    }
    let all = json_of(app.get(&admin, "/api/v2/client-grants?per_page=100").await).await;
    let all_ids = ids(&all, "id");

    let on_other = json_of(
        app.get(
            &admin,
            &format!(
                "/api/v2/client-grants?audience={}&include_totals=true",
                urlencoding(other)
            ),
        )
        .await,
    )
    .await;
    assert_eq!(on_other["total"], 3);
    let of_first = json_of(
        app.get(
            &admin,
            &format!("/api/v2/client-grants?client_id={}", created[0]),
        )
        .await,
    )
    .await;
    assert_eq!(of_first.as_array().unwrap().len(), 2);

    // Every signet grant lets an application act as itself.
    let clients = json_of(
        app.get(
            &admin,
            "/api/v2/client-grants?subject_type=client&per_page=100",
        )
        .await,
    )
    .await;
    assert_eq!(ids(&clients, "id"), all_ids);
    let users = json_of(
        app.get(
            &admin,
            "/api/v2/client-grants?subject_type=user&include_totals=true",
        )
        .await,
    )
    .await;
    assert_eq!(users["total"], 0);
    assert_refused(
        &app,
        &admin,
        "/api/v2/client-grants?subject_type=robot",
        &["subject_type"],
    )
    .await;

    // Checkpoint paging: `next` until it is absent reads every grant once, in list order.
    let mut read = Vec::new();
    let mut path = "/api/v2/client-grants?take=2".to_owned();
    loop {
        let page = json_of(app.get(&admin, &path).await).await;
        let items = ids(&page["client_grants"], "id");
        assert!(items.len() <= 2);
        read.extend(items);
        match page["next"].as_str() {
            Some(next) => path = format!("/api/v2/client-grants?from={next}&take=2"),
            None => break,
        }
    }
    assert_eq!(read, all_ids);
    let filtered = json_of(
        app.get(
            &admin,
            &format!(
                "/api/v2/client-grants?audience={}&take=100",
                urlencoding(other)
            ),
        )
        .await,
    )
    .await;
    assert_eq!(filtered["client_grants"].as_array().unwrap().len(), 3);
    assert!(filtered.get("next").is_none());

    assert_refused(
        &app,
        &admin,
        "/api/v2/client-grants?from=cgr_nope&take=2",
        &["from names no client grant"],
    )
    .await;
    assert_refused(
        &app,
        &admin,
        "/api/v2/client-grants?take=2&page=1",
        &["cannot be combined with page"],
    )
    .await;
    assert_refused(
        &app,
        &admin,
        "/api/v2/client-grants?allow_any_organization=true",
        &["parameter allow_any_organization", "organizations"],
    )
    .await;
    assert_refused(
        &app,
        &admin,
        "/api/v2/client-grants?default_for=third_party_clients",
        &["parameter default_for"],
    )
    .await;
}

// ---- Resource servers -----------------------------------------------------------------------

async fn resource_servers_are_filtered_by_identifiers(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let admin = app.management_token().await;
    for name in ["one", "two", "three"] {
        app.create_api(&admin, &format!("https://{name}.example/"), &["read"])
            .await;
    }
    let two = json_of(
        app.get(
            &admin,
            "/api/v2/resource-servers?identifiers=https%3A%2F%2Fone.example%2F\
             &identifiers=https%3A%2F%2Fthree.example%2F&include_totals=true&page=0&per_page=50",
        )
        .await,
    )
    .await;
    assert_eq!(two["total"], 2);
    assert_eq!(
        ids(&two["resource_servers"], "identifier"),
        ["https://one.example/", "https://three.example/"]
    );
    let one = json_of(
        app.get(
            &admin,
            &format!(
                "/api/v2/resource-servers?identifiers={}&include_fields=true",
                urlencoding(&app.management_audience())
            ),
        )
        .await,
    )
    .await;
    assert_eq!(one.as_array().unwrap().len(), 1);
    assert_eq!(one[0]["is_system"], true);
    let unknown = json_of(
        app.get(
            &admin,
            "/api/v2/resource-servers?identifiers=https%3A%2F%2Fnone%2F",
        )
        .await,
    )
    .await;
    assert_eq!(unknown, json!([]));

    let eleven: String = (0..11)
        .map(|i| format!("identifiers=https%3A%2F%2F{i}.example%2F"))
        .collect::<Vec<_>>()
        .join("&");
    assert_refused(
        &app,
        &admin,
        &format!("/api/v2/resource-servers?{eleven}"),
        &["identifiers", "at most 10"],
    )
    .await;
    assert_refused(
        &app,
        &admin,
        "/api/v2/resource-servers?identifiers=",
        &["identifiers"],
    )
    .await;
    assert_refused(
        &app,
        &admin,
        "/api/v2/resource-servers?per_page=1000",
        &["per_page"],
    )
    .await;
    assert_refused(
        &app,
        &admin,
        "/api/v2/resource-servers?identifier=x",
        &["unknown field"],
    )
    .await;
}

/// Every field of an event reads back as it was written, whatever it holds (PostgreSQL's batch
/// travels as one array literal per column, SQLite's as bound rows), and a batch's ordinals
/// follow its order, after those of the batch before.
async fn events_read_back_exactly_as_written(db: Db) {
    use signet::domain::log::{LogFilter, LogOrder};
    use signet::domain::paging::Page;
    use signet::store::logs::{self, LogEvent};

    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let store = signet::store::Store::connect(&app.db.url).await.unwrap();
    let awkward = [
        r#"quote"d"#,
        r"back\slash \u0041",
        "line\u{2028}separator",
        "emoji-🔑 é e\u{301}",
        "NULL",
        "{a,b} , ",
    ];
    let now = signet::time_util::now_millis();
    let batch: Vec<LogEvent> = awkward
        .iter()
        .enumerate()
        .map(|(i, text)| LogEvent {
            id: format!("log_{now:013}{}", signet::crypto::random::base62(16)),
            seq: i as i64,
            date: now,
            kind: if i % 2 == 0 { "feccft" } else { "seccft" }.into(),
            description: format!("{text} description"),
            client_id: Some(format!("{text} client")),
            client_name: (i != 1).then(|| format!("{text} name")),
            audience: Some(format!("{text} audience")),
            scope: (i != 2).then(|| format!("{text} scope")),
            ip: Some("2001:db8::1".into()),
            user_agent: Some((*text).to_owned()),
            details: json!({
                "error": text,
                "nested": {"text": text, "escaped": "\u{0}", "n": i},
            }),
        })
        .collect();
    for half in batch.chunks(2) {
        store
            .with_writer(async |conn| logs::insert_batch(conn, half).await)
            .await
            .unwrap();
    }
    let mut read = logs::list(
        store.pool(),
        &LogFilter::default(),
        LogOrder::OldestFirst,
        Page {
            page: 0,
            per_page: 100,
        },
    )
    .await
    .unwrap();
    read.retain(|e| batch.iter().any(|b| b.id == e.id));
    assert_eq!(read, batch);
    let mut ordinals = Vec::new();
    for e in &batch {
        ordinals.push(
            logs::ordinal_of(store.pool(), &e.id)
                .await
                .unwrap()
                .unwrap(),
        );
    }
    assert!(
        ordinals.windows(2).all(|w| w[1] == w[0] + 1),
        "consecutive, in the batch's order: {ordinals:?}"
    );
    for (e, reason) in read.iter().zip(&awkward) {
        assert_eq!(e.reason(), Some(*reason));
    }
    store.close().await;
}
