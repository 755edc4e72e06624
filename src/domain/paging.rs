//! Auth0-style paging: `page` (from 0), `per_page` (1–100, default 50), `include_totals`.

use super::Invalid;

pub const MAX_PER_PAGE: i64 = 100;
pub const DEFAULT_PER_PAGE: i64 = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub page: i64,
    pub per_page: i64,
}

impl Page {
    pub fn parse(page: Option<i64>, per_page: Option<i64>) -> Result<Self, Invalid> {
        let page = page.unwrap_or(0);
        let per_page = per_page.unwrap_or(DEFAULT_PER_PAGE);
        if !(0..=1_000_000).contains(&page) {
            return Err(Invalid::field("page", "must be between 0 and 1000000"));
        }
        if !(1..=MAX_PER_PAGE).contains(&per_page) {
            return Err(Invalid::field(
                "per_page",
                format!("must be between 1 and {MAX_PER_PAGE}"),
            ));
        }
        Ok(Self { page, per_page })
    }

    pub fn offset(&self) -> i64 {
        self.page * self.per_page
    }
}

/// Auth0's checkpoint paging (`from` + `take`): `take` items at most per call (1–100, 50 by
/// default).
pub const MAX_TAKE: i64 = 100;
pub const DEFAULT_TAKE: i64 = 50;

pub fn parse_take(take: Option<i64>) -> Result<i64, Invalid> {
    let take = take.unwrap_or(DEFAULT_TAKE);
    if !(1..=MAX_TAKE).contains(&take) {
        return Err(Invalid::field(
            "take",
            format!("must be between 1 and {MAX_TAKE}"),
        ));
    }
    Ok(take)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_page_is_bounded() {
        assert_eq!(Page::parse(None, None).unwrap().per_page, 50);
        assert!(Page::parse(Some(0), Some(100)).is_ok());
        assert!(Page::parse(Some(0), Some(101)).is_err());
        assert!(Page::parse(Some(0), Some(0)).is_err());
        assert!(Page::parse(Some(-1), None).is_err());
        assert_eq!(Page::parse(Some(3), Some(10)).unwrap().offset(), 30);
    }
}
