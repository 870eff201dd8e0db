//! Consumption per product and month (seed 9.2): how many certificates the
//! account ordered of each product in each calendar month (UTC), and what
//! they cost, counting the orders that were not cancelled, rejected or
//! failed. One read of the monthly sums that the database keeps beside the
//! orders (migration 0020).

use time::{Date, Month, OffsetDateTime};

use crate::{Caller, Orders, Result, Right};

/// One product's consumption in one month.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Consumption {
    /// The month's first day, `YYYY-MM`.
    pub month: String,
    /// The product ordered.
    pub product_code: String,
    /// How many orders.
    pub count: i64,
    /// Their summed price, in minor units of the account's currency.
    pub amount: i64,
}

/// The most months one read covers.
pub const MAX_MONTHS: u32 = 24;

/// The starts of the `months` calendar months (UTC) ending with the one of
/// `now`, oldest first, and the end of the last one.
fn month_starts(now: i64, months: u32) -> Vec<i64> {
    let today = OffsetDateTime::from_unix_timestamp(now).map_or(OffsetDateTime::UNIX_EPOCH.date(), |t| t.date());
    let first =
        |y: i32, m: Month| Date::from_calendar_date(y, m, 1).map_or(0, |d| d.midnight().assume_utc().unix_timestamp());
    let (mut y, mut m) = (today.year(), today.month());
    // The end: the first day of the next month.
    let mut out = vec![if m == Month::December { first(y + 1, Month::January) } else { first(y, m.next()) }];
    for _ in 0..months {
        out.push(first(y, m));
        if m == Month::January {
            y -= 1;
        }
        m = m.previous();
    }
    out.reverse();
    out
}

impl Orders {
    /// The caller's consumption per product over the last `months` calendar
    /// months (1 to 24), the current one included: the months (`YYYY-MM`,
    /// oldest first) and the rows of those that had orders.
    pub async fn consumption(&self, caller: &Caller, months: u32) -> Result<(Vec<String>, Vec<Consumption>)> {
        caller.require(Right::Billing)?;
        let starts = month_starts(self.now(), months.clamp(1, MAX_MONTHS));
        let month = |start: i64| crate::iso(start).get(..7).unwrap_or_default().to_string();
        let (from, to) = (starts.first().copied().unwrap_or(0), starts.last().copied().unwrap_or(0));
        let rows = storage::orders::consumption(&mut *self.db().acquire().await?, caller.account_id, from, to).await?;
        let out = rows
            .into_iter()
            .map(|(start, product_code, count, amount)| Consumption {
                month: month(start),
                product_code,
                count,
                amount,
            })
            .collect();
        let names = starts[..starts.len().saturating_sub(1)].iter().map(|&s| month(s)).collect();
        Ok((names, out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_calendar_months_ending_with_the_current_one() {
        // 2026-01-15: the last three months are Nov, Dec and Jan, ending on 1 Feb.
        let now = 1_768_435_200;
        let starts: Vec<String> = month_starts(now, 3).into_iter().map(crate::iso).collect();
        assert_eq!(
            starts,
            ["2025-11-01T00:00:00Z", "2025-12-01T00:00:00Z", "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"]
        );
        let dec = 1_765_152_000; // 2025-12-08
        let starts: Vec<String> = month_starts(dec, 1).into_iter().map(crate::iso).collect();
        assert_eq!(starts, ["2025-12-01T00:00:00Z", "2026-01-01T00:00:00Z"]);
    }
}
