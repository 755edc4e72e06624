//! Reading the audit log: searches (Auth0's `q`, `sort` and pages) and checkpoint paging
//! (`from`/`take`).

use super::{Listing, ManagementError, Tenant};
use crate::domain::log::{HourCount, LogEvent, LogFilter as Filter, LogOrder, ReasonCount};
use crate::domain::paging::Page;
use crate::store::logs;
use crate::time_util::Millis;

pub async fn list(
    tenant: &Tenant,
    filter: &Filter,
    order: LogOrder,
    page: Page,
    include_totals: bool,
) -> Result<Listing<LogEvent>, ManagementError> {
    let pool = tenant.store.pool();
    let items = logs::list(pool, filter, order, page).await?;
    let total = if include_totals {
        Some(logs::count(pool, filter).await?)
    } else {
        None
    };
    Ok(Listing { items, total })
}

/// Up to `take` events readable after the event `from`, oldest first; without `from`, from
/// the oldest kept event. Exact under concurrent writers (see `store::logs::insert_batch`).
/// `None` when `from` names no kept event: the caller refuses it rather than read from the
/// beginning, since a checkpoint that was pruned away would otherwise silently replay events.
pub async fn after(
    tenant: &Tenant,
    from: Option<&str>,
    take: i64,
) -> Result<Option<Vec<LogEvent>>, ManagementError> {
    let pool = tenant.store.pool();
    let ordinal = match from {
        None => 0,
        Some(id) => match logs::ordinal_of(pool, id).await? {
            Some(ordinal) => ordinal,
            None => return Ok(None),
        },
    };
    Ok(Some(logs::after(pool, ordinal, take).await?))
}

pub async fn get(tenant: &Tenant, id: &str) -> Result<LogEvent, ManagementError> {
    logs::get(tenant.store.pool(), id)
        .await?
        .ok_or_else(|| ManagementError::NotFound {
            error_code: "inexistent_log",
            message: "The log event does not exist".into(),
        })
}

/// Events of `kinds` per UTC hour in `[since, until)`, of one client when given (the
/// dashboard's charts).
pub async fn count_by_hour(
    tenant: &Tenant,
    kinds: &[&str],
    client_id: Option<&str>,
    (since, until): (Millis, Millis),
) -> Result<Vec<HourCount>, ManagementError> {
    let kinds: Vec<String> = kinds.iter().map(|k| (*k).to_owned()).collect();
    Ok(logs::count_by_hour(tenant.store.pool(), &kinds, client_id, since, until).await?)
}

/// Events of `kinds` per kind and reason in `[since, until)`, of one client when given.
pub async fn count_by_reason(
    tenant: &Tenant,
    kinds: &[&str],
    client_id: Option<&str>,
    (since, until): (Millis, Millis),
) -> Result<Vec<ReasonCount>, ManagementError> {
    let kinds: Vec<String> = kinds.iter().map(|k| (*k).to_owned()).collect();
    Ok(logs::count_by_reason(tenant.store.pool(), &kinds, client_id, since, until).await?)
}
