//! Reading the audit log.

use super::{Listing, ManagementError, Tenant};
use crate::domain::log::{LogEvent, LogFilter as Filter};
use crate::domain::paging::Page;
use crate::store::logs;

pub async fn list(
    tenant: &Tenant,
    filter: &Filter,
    page: Page,
    include_totals: bool,
) -> Result<Listing<LogEvent>, ManagementError> {
    let pool = tenant.store.pool();
    let items = logs::list(pool, filter, page).await?;
    let total = if include_totals {
        Some(logs::count(pool, filter).await?)
    } else {
        None
    };
    Ok(Listing { items, total })
}

pub async fn get(tenant: &Tenant, id: &str) -> Result<LogEvent, ManagementError> {
    logs::get(tenant.store.pool(), id)
        .await?
        .ok_or_else(|| ManagementError::NotFound {
            error_code: "inexistent_log",
            message: "The log event does not exist".into(),
        })
}
