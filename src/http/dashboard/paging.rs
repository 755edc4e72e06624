//! Pages of the dashboard's long lists (applications, APIs, an application's token requests):
//! `?page=N` from 0, 50 rows each, Newer/Older (or Previous/Next) links only where such a page
//! exists.

use std::future::Future;

use super::DashError;
use crate::domain::paging::Page;
use crate::tenant::{Listing, ManagementError};

pub const PER_PAGE: i64 = 50;

/// The `page` parameter's value. A bad value is refused rather than read as 0, so a mistyped
/// link never shows a page that looks right but is not what was asked for.
pub fn parse_page(value: &str) -> Result<i64, DashError> {
    value
        .parse::<i64>()
        .ok()
        .and_then(|p| Page::parse(Some(p), Some(PER_PAGE)).ok())
        .map(|p| p.page)
        .ok_or_else(|| {
            DashError::BadRequest("page must be a whole number from 0 to 1000000.".into())
        })
}

/// The `page` of a list's query string, 0 when absent; other parameters (like `?done=`) are
/// left to their own readers.
pub fn page_in(query: Option<&str>) -> Result<i64, DashError> {
    url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .find(|(k, _)| k == "page")
        .map_or(Ok(0), |(_, v)| parse_page(&v))
}

/// Page `page` of a listing, and whether another page follows: asked with one row past this
/// page, not a count of every row.
pub async fn page_and_more<T, F, Fut>(page: i64, mut list: F) -> Result<(Vec<T>, bool), DashError>
where
    F: FnMut(Page) -> Fut,
    Fut: Future<Output = Result<Listing<T>, ManagementError>>,
{
    let items = list(Page {
        page,
        per_page: PER_PAGE,
    })
    .await?
    .items;
    let first_of_next = Page {
        page: (page + 1) * PER_PAGE,
        per_page: 1,
    };
    let more = !list(first_of_next).await?.items.is_empty();
    Ok((items, more))
}

/// What a page shows of its position: rows `first`–`last` (from 1), and links to the
/// neighbouring pages that exist (`templates/pager.html`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pager {
    pub page: i64,
    pub first: i64,
    pub last: i64,
    pub previous: Option<i64>,
    pub next: Option<i64>,
    /// The list's address, and the parameter it keeps from page to page (`show=failures`).
    pub path: String,
    pub keep: Option<String>,
    /// What the links say: `Previous` / `Next`, or `Newer` / `Older` for a newest-first list.
    pub previous_label: &'static str,
    pub next_label: &'static str,
}

impl Pager {
    /// A page of a list kept in creation order.
    pub fn new(page: i64, shown: usize, more: bool, path: String) -> Self {
        let first = page * PER_PAGE;
        Self {
            page,
            first: first + 1,
            last: first + shown as i64,
            previous: (page > 0).then(|| page - 1),
            next: more.then_some(page + 1),
            path,
            keep: None,
            previous_label: "Previous",
            next_label: "Next",
        }
    }

    /// A page of a newest-first list: the previous page is newer, the next older.
    pub fn newest_first(page: i64, shown: usize, more: bool, path: String, keep: String) -> Self {
        Self {
            keep: Some(keep),
            previous_label: "Newer",
            next_label: "Older",
            ..Self::new(page, shown, more, path)
        }
    }

    pub fn has_links(&self) -> bool {
        self.previous.is_some() || self.next.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_page_and_refuses_bad_values() {
        assert_eq!(page_in(None).unwrap(), 0);
        assert_eq!(page_in(Some("done=app-created")).unwrap(), 0);
        assert_eq!(page_in(Some("done=x&page=3")).unwrap(), 3);
        assert_eq!(parse_page("1000000").unwrap(), 1_000_000);
        for bad in ["-1", "1000001", "two", "", "99999999999999999999"] {
            assert!(
                matches!(parse_page(bad), Err(DashError::BadRequest(_))),
                "{bad}"
            );
        }
        assert!(page_in(Some("page=next")).is_err());
    }

    #[test]
    fn links_only_to_pages_that_exist() {
        let base = || "/dashboard/apis".to_owned();
        let only = Pager::new(0, 7, false, base());
        assert_eq!((only.first, only.last), (1, 7));
        assert!(!only.has_links());
        let middle = Pager::new(2, 50, true, base());
        assert_eq!((middle.first, middle.last), (101, 150));
        assert_eq!((middle.previous, middle.next), (Some(1), Some(3)));
        let last = Pager::newest_first(1, 8, false, base(), "show=all".into());
        assert_eq!((last.previous_label, last.next_label), ("Newer", "Older"));
        assert_eq!((last.previous, last.next), (Some(0), None));
        assert!(last.has_links());
    }
}
