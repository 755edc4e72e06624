//! The token requests, as the people on call read them: the tenant-wide Logs page
//! (`/dashboard/logs`), which shows every failure, those of client IDs no application has
//! among them, with filters; and an application's Logs tab. Both read their query with one
//! parser, list with one function, show rows built one way (each failure's reason explained,
//! `reasons.rs`) and draw the same charts (`chart.rs`).

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use time::Date;
use time::macros::format_description;

use super::chart::{self, Chart, HOUR};
use super::paging::{Pager, page_and_more, parse_page};
use super::reasons;
use super::views::{AppView, Ctx, page};
use super::{Admin, DashError};
use crate::audit::{FAILURE, SUCCESS};
use crate::domain::client::ClientFilter;
use crate::domain::log::{LogEvent, LogFilter, LogOrder};
use crate::domain::paging::{MAX_PER_PAGE, Page};
use crate::http::AppState;
use crate::tenant::{ManagementError, clients, logs};
use crate::time_util::{Millis, format_millis};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dashboard/logs", get(tenant_logs))
        .route("/dashboard/applications/{id}/logs", get(app_logs))
}

/// The longest client ID the filter takes: the audit log keeps 64 characters of one, so
/// anything much longer can match nothing.
const MAX_CLIENT_ID: usize = 200;
const DAY: Millis = 24 * HOUR;

/// Which events: `?show=`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Show {
    #[default]
    All,
    Failures,
    Successes,
}

impl Show {
    fn parse(v: &str) -> Option<Self> {
        match v {
            "all" => Some(Self::All),
            "failures" => Some(Self::Failures),
            "successes" => Some(Self::Successes),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Failures => "failures",
            Self::Successes => "successes",
        }
    }

    fn event_type(self) -> Option<&'static str> {
        match self {
            Self::All => None,
            Self::Failures => Some(FAILURE),
            Self::Successes => Some(SUCCESS),
        }
    }
}

/// A period ending now: `?period=`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Period {
    #[default]
    All,
    Hour,
    Day,
    Week,
}

impl Period {
    const CHOICES: [(&'static str, &'static str); 4] = [
        ("all", "Any time"),
        ("1h", "Last hour"),
        ("24h", "Last 24 hours"),
        ("7d", "Last 7 days"),
    ];

    fn parse(v: &str) -> Option<Self> {
        match v {
            "all" => Some(Self::All),
            "1h" => Some(Self::Hour),
            "24h" => Some(Self::Day),
            "7d" => Some(Self::Week),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Hour => "1h",
            Self::Day => "24h",
            Self::Week => "7d",
        }
    }

    fn length(self) -> Option<Millis> {
        match self {
            Self::All => None,
            Self::Hour => Some(HOUR),
            Self::Day => Some(DAY),
            Self::Week => Some(7 * DAY),
        }
    }
}

/// What a Logs page was asked to show. Unknown parameters are ignored (like `?done=`); a bad
/// value of a known one is refused, so a mistyped link never shows a page that looks right but
/// is not what was asked for.
#[derive(Debug, Default, PartialEq, Eq)]
struct LogView {
    page: i64,
    show: Show,
    /// `?client_id=` (typed) or `?app=` (chosen); the typed one wins when both are given, since
    /// the select keeps showing the previous choice while a new ID is typed.
    client_id: Option<String>,
    reason: Option<&'static str>,
    period: Period,
    /// `?from=` and `?to=`, whole UTC days (`to` included); when either is given they replace
    /// the period.
    from: Option<Date>,
    to: Option<Date>,
}

fn bad(message: &str) -> DashError {
    DashError::BadRequest(message.into())
}

fn parse_day(name: &str, v: &str) -> Result<Option<Date>, DashError> {
    let v = v.trim();
    if v.is_empty() {
        return Ok(None);
    }
    Date::parse(v, format_description!("[year]-[month]-[day]"))
        .map(Some)
        .map_err(|_| DashError::BadRequest(format!("{name} must be a date such as 2026-12-01.")))
}

fn day_start(d: Date) -> Millis {
    d.midnight().assume_utc().unix_timestamp() * 1000
}

impl LogView {
    fn parse(query: Option<&str>) -> Result<Self, DashError> {
        let mut view = Self::default();
        let (mut chosen, mut typed) = (None, None);
        for (k, v) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            match &*k {
                "page" => view.page = parse_page(&v)?,
                "show" => {
                    view.show = Show::parse(&v)
                        .ok_or_else(|| bad("show must be all, failures or successes."))?;
                }
                "app" | "client_id" => {
                    let v = v.trim();
                    if v.chars().count() > MAX_CLIENT_ID {
                        return Err(bad("A client ID must be at most 200 characters."));
                    }
                    if v.chars().any(char::is_control) {
                        return Err(bad("A client ID must not contain control characters."));
                    }
                    let v = (!v.is_empty()).then(|| v.to_owned());
                    if k == "app" {
                        chosen = v;
                    } else {
                        typed = v;
                    }
                }
                "reason" if v.is_empty() => view.reason = None,
                "reason" => {
                    view.reason = Some(
                        reasons::filterable()
                            .into_iter()
                            .find(|c| *c == v)
                            .ok_or_else(|| bad("reason must be one of the listed reason codes."))?,
                    );
                }
                "period" => {
                    view.period = Period::parse(&v)
                        .ok_or_else(|| bad("period must be all, 1h, 24h or 7d."))?;
                }
                "from" => view.from = parse_day("from", &v)?,
                "to" => view.to = parse_day("to", &v)?,
                _ => {}
            }
        }
        view.client_id = typed.or(chosen);
        if let (Some(from), Some(to)) = (view.from, view.to)
            && from > to
        {
            return Err(bad("from must not be after to."));
        }
        Ok(view)
    }

    /// `[since, until)` in milliseconds: the dates when given, else the period up to `now`.
    fn range(&self, now: Millis) -> (Option<Millis>, Option<Millis>) {
        if self.from.is_some() || self.to.is_some() {
            (
                self.from.map(day_start),
                self.to.map(|d| day_start(d) + DAY),
            )
        } else {
            (self.period.length().map(|l| now - l), None)
        }
    }

    fn filter(&self, now: Millis) -> LogFilter {
        let (since, until) = self.range(now);
        LogFilter {
            kind: self.show.event_type().map(str::to_owned),
            client_id: self.client_id.clone(),
            reason: self.reason.map(str::to_owned),
            since,
            until,
            ..LogFilter::default()
        }
    }

    /// The query that keeps these filters from page to page (`show` always, as the pager's
    /// links have always carried it; the others when set).
    fn keep(&self) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        q.append_pair("show", self.show.as_str());
        if let Some(id) = &self.client_id {
            q.append_pair("client_id", id);
        }
        if let Some(reason) = self.reason {
            q.append_pair("reason", reason);
        }
        if self.period != Period::All {
            q.append_pair("period", self.period.as_str());
        }
        if let Some(d) = self.from {
            q.append_pair("from", &d.to_string());
        }
        if let Some(d) = self.to {
            q.append_pair("to", &d.to_string());
        }
        q.finish()
    }
}

/// Which application an event names, as the row shows it.
pub enum AppRef {
    /// No client ID at all (a rate limit's refusal of an address).
    None,
    Known(String),
    /// The event names an application that has since been deleted.
    Deleted(String),
    /// A client ID no application has: only its claim is known.
    Unknown,
}

pub struct LogRow {
    pub date: String,
    pub ok: bool,
    pub kind: String,
    pub description: String,
    pub client_id: String,
    /// The application's name when the event was written (none for an unknown client ID).
    pub recorded_name: Option<String>,
    pub app: AppRef,
    pub audience: String,
    pub method: String,
    pub reason: String,
    /// What the reason means and the likely fix (`reasons.rs`).
    pub explanation: Option<String>,
    pub credential_id: String,
    pub ip: String,
}

impl LogRow {
    pub fn of(e: &LogEvent, issuer: &str) -> Self {
        let auth_error = &e.details["client_authentication_error"];
        let reason = e.reason().unwrap_or("").to_owned();
        Self {
            date: {
                let full = format_millis(e.date);
                format!("{} {} UTC", &full[..10], &full[11..19])
            },
            ok: e.kind == SUCCESS,
            kind: e.kind.clone(),
            description: e.description.clone(),
            client_id: e.client_id.clone().unwrap_or_default(),
            recorded_name: e.client_name.clone(),
            app: AppRef::None,
            audience: e.audience.clone().unwrap_or_default(),
            explanation: reasons::explain(&reason, issuer),
            reason,
            method: e.details["auth_method"].as_str().unwrap_or("").to_owned(),
            // Failures carry it inside the error; successes at the top level.
            credential_id: auth_error["credential_id"]
                .as_str()
                .or_else(|| e.details["credential_id"].as_str())
                .unwrap_or("")
                .to_owned(),
            ip: e.ip.clone().unwrap_or_default(),
        }
    }
}

/// The charts of a Logs page: requests per hour over a day and a week, and outcomes by reason
/// over the week.
pub struct Charts {
    pub day: Chart,
    pub week: Chart,
    pub reasons: Chart,
}

/// Two grouped queries: the week's hourly counts (the day's chart is their last 24 hours) and
/// the week's counts by reason; of one application when given.
async fn charts(state: &AppState, client_id: Option<&str>) -> Result<Charts, DashError> {
    let now = state.clock.now();
    let kinds = (SUCCESS, FAILURE);
    let week = chart::window(now, 7 * 24);
    let hourly = logs::count_by_hour(&state.tenant, &[SUCCESS, FAILURE], client_id, week).await?;
    let by_reason =
        logs::count_by_reason(&state.tenant, &[SUCCESS, FAILURE], client_id, week).await?;
    Ok(Charts {
        day: chart::hourly(
            "chart-day",
            "Token requests per hour, last 24 hours",
            "the last 24 hours",
            &chart::hours(&hourly, now, 24, kinds),
        ),
        week: chart::hourly(
            "chart-week",
            "Token requests per hour, last 7 days",
            "the last 7 days",
            &chart::hours(&hourly, now, 7 * 24, kinds),
        ),
        reasons: chart::by_reason(
            "chart-reasons",
            "Outcomes by reason, last 7 days",
            "the last 7 days",
            &chart::outcomes(&by_reason, kinds),
        ),
    })
}

/// A page of the events `view` asks for, newest first, and whether older ones follow.
async fn events(
    state: &AppState,
    view: &LogView,
    filter: &LogFilter,
) -> Result<(Vec<LogRow>, bool), DashError> {
    let (events, older) = page_and_more(view.page, |p| {
        logs::list(&state.tenant, filter, LogOrder::NewestFirst, p, false)
    })
    .await?;
    let issuer = state.tenant.issuer.as_str();
    Ok((
        events.iter().map(|e| LogRow::of(e, issuer)).collect(),
        older,
    ))
}

#[derive(Template)]
#[template(path = "app_logs.html")]
pub struct AppLogsPage {
    pub ctx: Ctx,
    pub app: AppView,
    pub tab: &'static str,
    /// This tab's address, for its filter and page links.
    pub logs_url: String,
    /// `all`, `failures` or `successes`.
    pub show: &'static str,
    /// Newest first: `previous` is the newer page, `next` the older.
    pub pager: Pager,
    pub events: Vec<LogRow>,
    /// The tenant-wide page's address with this application chosen.
    pub tenant_url: String,
    pub charts: Charts,
}

/// Token requests of one application, newest first, a page at a time, with the reason of each
/// failure explained, and the application's charts.
async fn app_logs(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, DashError> {
    let mut view = LogView::parse(query.as_deref())?;
    let c = clients::get(&state.tenant, &id).await?;
    // The tab is this application's: a client ID in the query does not widen or move it.
    view.client_id = Some(c.client_id.clone());
    let filter = view.filter(state.clock.now());
    let (events, older) = events(&state, &view, &filter).await?;
    let charts = charts(&state, Some(&c.client_id)).await?;
    let logs_url = format!("/dashboard/applications/{}/logs", c.client_id);
    let tenant_url = format!(
        "/dashboard/logs?{}",
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", &c.client_id)
            .finish()
    );
    page(
        StatusCode::OK,
        &AppLogsPage {
            ctx: Ctx::new(&admin, "applications", None),
            app: AppView::of(&c),
            tab: "logs",
            pager: Pager::newest_first(
                view.page,
                events.len(),
                older,
                logs_url.clone(),
                format!("show={}", view.show.as_str()),
            ),
            logs_url,
            show: view.show.as_str(),
            events,
            tenant_url,
            charts,
        },
    )
}

/// One option of a select.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "logs.html")]
pub struct LogsPage {
    pub ctx: Ctx,
    pub issuer: String,
    pub show: &'static str,
    pub apps: Vec<Choice>,
    /// More applications exist than the select lists.
    pub more_apps: bool,
    /// The client ID typed in the free-text field (one no listed application has).
    pub typed_client: String,
    pub reasons: Vec<Choice>,
    pub periods: Vec<Choice>,
    pub from: String,
    pub to: String,
    /// Whom the charts count: `all applications`, or the chosen one.
    pub scope: String,
    pub filtered: bool,
    pub pager: Pager,
    pub events: Vec<LogRow>,
    pub charts: Charts,
}

/// Every token request of the tenant, failures of unknown client IDs among them, filtered by
/// outcome, application or client ID, reason and time, with charts of the tenant or of the
/// chosen application.
async fn tenant_logs(
    State(state): State<AppState>,
    admin: Admin,
    RawQuery(query): RawQuery,
) -> Result<Response, DashError> {
    let view = LogView::parse(query.as_deref())?;
    let now = state.clock.now();
    let filter = view.filter(now);
    let (mut events, older) = events(&state, &view, &filter).await?;

    // The select lists the first applications; names of others are looked up as rows need them.
    let listed = clients::list(
        &state.tenant,
        &ClientFilter::default(),
        Page {
            page: 0,
            per_page: MAX_PER_PAGE,
        },
        false,
    )
    .await?
    .items;
    let mut names: HashMap<String, Option<String>> = listed
        .iter()
        .map(|c| (c.client_id.clone(), Some(c.name.clone())))
        .collect();
    for row in &events {
        if !row.client_id.is_empty() && !names.contains_key(&row.client_id) {
            let name = match clients::get(&state.tenant, &row.client_id).await {
                Ok(c) => Some(c.name),
                Err(ManagementError::NotFound { .. }) => None,
                Err(e) => return Err(e.into()),
            };
            names.insert(row.client_id.clone(), name);
        }
    }
    for row in &mut events {
        row.app = match (names.get(&row.client_id), row.recorded_name.take()) {
            _ if row.client_id.is_empty() => AppRef::None,
            (Some(Some(name)), _) => AppRef::Known(name.clone()),
            // An event of a deleted application still carries the name it had.
            (_, Some(recorded)) => AppRef::Deleted(recorded),
            (_, None) => AppRef::Unknown,
        };
    }

    let chosen = view.client_id.as_deref();
    if let Some(id) = chosen
        && !names.contains_key(id)
    {
        let name = match clients::get(&state.tenant, id).await {
            Ok(c) => Some(c.name),
            Err(ManagementError::NotFound { .. }) => None,
            Err(e) => return Err(e.into()),
        };
        names.insert(id.to_owned(), name);
    }
    let in_select = chosen.is_some_and(|id| listed.iter().any(|c| c.client_id == id));
    let scope = match chosen {
        None => "all applications".to_owned(),
        Some(id) => match names.get(id) {
            Some(Some(name)) => format!("{name} ({id})"),
            _ => format!("client ID {id}"),
        },
    };
    let charts = charts(&state, chosen).await?;
    let (from, to) = (
        view.from.map(|d| d.to_string()).unwrap_or_default(),
        view.to.map(|d| d.to_string()).unwrap_or_default(),
    );
    page(
        StatusCode::OK,
        &LogsPage {
            ctx: Ctx::new(&admin, "logs", None),
            issuer: state.tenant.issuer.as_str().to_owned(),
            show: view.show.as_str(),
            apps: listed
                .iter()
                .map(|c| Choice {
                    value: c.client_id.clone(),
                    label: format!("{} ({})", c.name, c.client_id),
                    selected: chosen == Some(c.client_id.as_str()),
                })
                .collect(),
            more_apps: listed.len() as i64 >= MAX_PER_PAGE,
            typed_client: if in_select {
                String::new()
            } else {
                chosen.unwrap_or("").to_owned()
            },
            reasons: reasons::filterable()
                .into_iter()
                .map(|code| Choice {
                    value: code.to_owned(),
                    label: code.to_owned(),
                    selected: view.reason == Some(code),
                })
                .collect(),
            periods: Period::CHOICES
                .iter()
                .map(|(value, label)| Choice {
                    value: (*value).to_owned(),
                    label: (*label).to_owned(),
                    selected: *value == view.period.as_str(),
                })
                .collect(),
            from,
            to,
            scope,
            filtered: filter.kind.is_some()
                || filter.client_id.is_some()
                || filter.reason.is_some()
                || filter.since.is_some()
                || filter.until.is_some(),
            pager: Pager::newest_first(
                view.page,
                events.len(),
                older,
                "/dashboard/logs".into(),
                view.keep(),
            ),
            events,
            charts,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(q: &str) -> Result<LogView, DashError> {
        LogView::parse(Some(q))
    }

    #[test]
    fn reads_the_page_and_filters_and_refuses_bad_values() {
        assert_eq!(LogView::parse(None).unwrap(), LogView::default());
        let view = parsed("page=3&show=failures&done=x").unwrap();
        assert_eq!((view.page, view.show), (3, Show::Failures));
        assert_eq!(parsed("show=successes").unwrap().show, Show::Successes);
        assert_eq!(parsed("page=1000000").unwrap().page, 1_000_000);
        assert_eq!(
            parsed("reason=no_usable_credential").unwrap().reason,
            Some("no_usable_credential")
        );
        // An empty choice of a select is no filter.
        let empty = parsed("app=&client_id=+&reason=&from=&to=").unwrap();
        assert_eq!(empty, LogView::default());
        assert_eq!(parsed("period=7d").unwrap().period, Period::Week);
        let days = parsed("from=2026-11-30&to=2026-12-01").unwrap();
        assert_eq!(
            (days.from.unwrap().to_string(), days.to.unwrap().to_string()),
            ("2026-11-30".into(), "2026-12-01".into())
        );
        for bad in [
            "page=-1",
            "page=1000001",
            "page=two",
            "page=",
            "page=99999999999999999999",
            "show=everything",
            "show=",
            "reason=nonsense",
            "reason=invalid_client",
            "period=1y",
            "period=",
            "from=30/11/2026",
            "to=2026-13-01",
            "from=2026-12-02&to=2026-12-01",
            "client_id=a%0Ab",
        ] {
            assert!(
                matches!(parsed(bad), Err(DashError::BadRequest(_))),
                "{bad}"
            );
        }
        let long = format!("client_id={}", "x".repeat(MAX_CLIENT_ID + 1));
        assert!(matches!(parsed(&long), Err(DashError::BadRequest(_))));
        let longest = format!("client_id={}", "x".repeat(MAX_CLIENT_ID));
        assert!(parsed(&longest).is_ok());
    }

    #[test]
    fn a_typed_client_id_wins_over_the_chosen_application() {
        assert_eq!(
            parsed("app=a&client_id=b").unwrap().client_id.as_deref(),
            Some("b")
        );
        assert_eq!(
            parsed("client_id=b&app=a").unwrap().client_id.as_deref(),
            Some("b")
        );
        assert_eq!(
            parsed("app=a&client_id=").unwrap().client_id.as_deref(),
            Some("a")
        );
    }

    #[test]
    fn the_time_range_is_the_dates_or_else_the_period_up_to_now() {
        let now = 1_796_083_200_000 + 5 * HOUR; // 2026-12-01 05:00 UTC
        let midnight = 1_796_083_200_000;
        assert_eq!(LogView::default().range(now), (None, None));
        assert_eq!(
            parsed("period=1h").unwrap().range(now),
            (Some(now - HOUR), None)
        );
        assert_eq!(
            parsed("period=24h").unwrap().range(now),
            (Some(now - DAY), None)
        );
        // `to` includes its whole day; the dates replace the period.
        assert_eq!(
            parsed("period=1h&from=2026-11-30&to=2026-12-01")
                .unwrap()
                .range(now),
            (Some(midnight - DAY), Some(midnight + DAY))
        );
        assert_eq!(
            parsed("to=2026-11-30").unwrap().range(now),
            (None, Some(midnight))
        );
        let filter = parsed("show=failures&reason=aud_mismatch&client_id=c&period=7d")
            .unwrap()
            .filter(now);
        assert_eq!(filter.kind.as_deref(), Some(FAILURE));
        assert_eq!(filter.reason.as_deref(), Some("aud_mismatch"));
        assert_eq!(filter.client_id.as_deref(), Some("c"));
        assert_eq!((filter.since, filter.until), (Some(now - 7 * DAY), None));
    }

    #[test]
    fn page_links_keep_every_filter_and_only_those_set() {
        assert_eq!(LogView::default().keep(), "show=all");
        let view = parsed(
            "show=failures&app=x&client_id=a+b%26c&reason=expired&period=24h&from=2026-11-30",
        )
        .unwrap();
        assert_eq!(
            view.keep(),
            "show=failures&client_id=a+b%26c&reason=expired&period=24h&from=2026-11-30"
        );
        // What it keeps reads back as the same view.
        assert_eq!(parsed(&view.keep()).unwrap(), view);
    }

    #[test]
    fn a_row_explains_its_reason_and_names_its_credential() {
        let event = LogEvent {
            id: "log_1".into(),
            seq: 1,
            date: 1_796_083_200_000,
            kind: FAILURE.into(),
            description: "Client authentication failed".into(),
            client_id: Some("c".into()),
            client_name: None,
            audience: None,
            scope: None,
            ip: None,
            user_agent: None,
            details: serde_json::json!({"error": "invalid_client", "auth_method": "private_key_jwt",
                "client_authentication_error": {"code": "aud_mismatch", "credential_id": "cred_1"}}),
        };
        let row = LogRow::of(&event, "https://t.example/");
        assert_eq!(row.reason, "aud_mismatch");
        assert_eq!(row.credential_id, "cred_1");
        assert_eq!(row.date, "2026-12-01 00:00:00 UTC");
        assert!(row.explanation.unwrap().contains("(https://t.example/)"));
        let success = LogEvent {
            kind: SUCCESS.into(),
            details: serde_json::json!({"auth_method": "client_secret_post", "credential_id": null}),
            ..event
        };
        let row = LogRow::of(&success, "https://t.example/");
        assert!(row.ok && row.reason.is_empty() && row.explanation.is_none());
    }
}
