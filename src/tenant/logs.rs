//! Reading the audit log: searches (Auth0's `q`, `sort` and pages) and checkpoint paging
//! (`from`/`take`).

use super::{Listing, ManagementError, Tenant};
use crate::domain::log::{LogEvent, LogFilter as Filter, LogOrder};
use crate::domain::paging::Page;
use crate::store::logs;

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
