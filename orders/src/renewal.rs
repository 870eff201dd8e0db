//! The renewal policy, asked by ACME Renewal Information, by `renouvellement`
//! and by the automatic renewal: a certificate may be renewed from 90 days
//! before its expiry to 30 days after (seed 5.2); the reseller's automatic
//! renewal renews it 65 days before expiry (seed 5.7), or at two thirds of a
//! shorter lifetime; and ARI suggests a window that opens at that point.

use crate::Certificate;

const DAY: i64 = 86_400;
/// How long before expiry renewal opens (seed 5.2).
pub const OPENS_BEFORE_EXPIRY: i64 = 90 * DAY;
/// How long after expiry renewal stays open (seed 5.2).
pub const CLOSES_AFTER_EXPIRY: i64 = 30 * DAY;
/// How long before expiry the automatic renewal renews (seed 5.7).
pub const AUTOMATIC_BEFORE_EXPIRY: i64 = 65 * DAY;
/// Until how long before expiry a renewal is priced as one (seed 5.7): a
/// renewal placed later pays the product's own price.
pub const RENEWAL_PRICE_UNTIL_BEFORE_EXPIRY: i64 = 60 * DAY;
/// How soon a renewal is placed when automatic renewal is switched on after
/// its date has passed (seed 5.7): the sweep that places it runs at least
/// this often.
pub const LATE_SWITCH_PLACED_WITHIN: i64 = DAY;

/// True when a certificate that expires at `not_after` may be renewed at
/// `now` (seed 5.2).
pub fn may_renew(not_after: i64, now: i64) -> bool {
    (not_after - OPENS_BEFORE_EXPIRY..=not_after + CLOSES_AFTER_EXPIRY).contains(&now)
}

/// When the automatic renewal renews a certificate valid from `not_before`
/// to `not_after`: 65 days before expiry, or at two thirds of a lifetime
/// shorter than three times that.
pub fn automatic_renewal_at(not_before: i64, not_after: i64) -> i64 {
    not_after - AUTOMATIC_BEFORE_EXPIRY.min((not_after - not_before) / 3)
}

/// True when a renewal placed at `placed_at` of a certificate that expires
/// at `not_after` is priced as a renewal (a renewal token, or the renewal
/// price): from 90 to 60 days before expiry (seed 5.7).
pub fn priced_as_renewal(not_after: i64, placed_at: i64) -> bool {
    (not_after - OPENS_BEFORE_EXPIRY..=not_after - RENEWAL_PRICE_UNTIL_BEFORE_EXPIRY).contains(&placed_at)
}

/// The renewal window (start, end) that ACME Renewal Information suggests
/// for `cert` at `now` (RFC 9773): from the automatic renewal point halfway
/// to expiry; already past for a certificate that is revoked or superseded
/// by a reissue, which should be replaced at once.
pub fn suggested_window(cert: &Certificate, now: i64) -> (i64, i64) {
    if cert.revoked_at.is_some() || cert.revoke_after.is_some() {
        return (now - 2 * DAY, now - DAY);
    }
    let start = automatic_renewal_at(cert.not_before, cert.not_after);
    (start, start + (cert.not_after - start) / 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renewal_opens_90_days_before_expiry_and_closes_30_days_after() {
        let expiry = 1_000 * DAY;
        assert!(!may_renew(expiry, expiry - 90 * DAY - 1));
        assert!(may_renew(expiry, expiry - 90 * DAY));
        assert!(may_renew(expiry, expiry + 30 * DAY));
        assert!(!may_renew(expiry, expiry + 30 * DAY + 1));
    }

    #[test]
    fn renewal_price_applies_from_90_to_60_days_before_expiry() {
        let expiry = 1_000 * DAY;
        assert!(!priced_as_renewal(expiry, expiry - 90 * DAY - 1));
        assert!(priced_as_renewal(expiry, expiry - 90 * DAY));
        assert!(priced_as_renewal(expiry, expiry - 65 * DAY));
        assert!(priced_as_renewal(expiry, expiry - 60 * DAY));
        assert!(!priced_as_renewal(expiry, expiry - 60 * DAY + 1));
    }

    #[test]
    fn automatic_renewal_is_65_days_before_expiry_or_at_two_thirds_of_a_short_life() {
        assert_eq!(automatic_renewal_at(0, 397 * DAY), 332 * DAY);
        assert_eq!(automatic_renewal_at(0, 90 * DAY), 60 * DAY);
    }
}
