//! Order statuses (seed 6.6) and account formulas (seed 2.4, 9), as stored.

/// Where an order stands. Stored as the snake-case name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Placed by a user without the approval right; nothing charged yet.
    PendingApproval,
    /// Paid, waiting for domain control validation of names not pre-validated.
    WaitingDcv,
    /// Paid and queued for, or in, issuance ("verification in process").
    Processing,
    /// A certificate was issued and stored.
    Delivered,
    /// Cancelled before any charge.
    Cancelled,
    /// Cancelled after a charge, which was refunded.
    CancelledRefunded,
    /// Rejected by an approver.
    Discarded,
    /// The upstream refused for good; the charge was refunded.
    Failed,
    /// Its certificate was revoked (final, no refund).
    Revoked,
}

impl Status {
    /// Every status.
    pub const ALL: [Status; 9] = [
        Status::PendingApproval,
        Status::WaitingDcv,
        Status::Processing,
        Status::Delivered,
        Status::Cancelled,
        Status::CancelledRefunded,
        Status::Discarded,
        Status::Failed,
        Status::Revoked,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::PendingApproval => "pending_approval",
            Status::WaitingDcv => "waiting_dcv",
            Status::Processing => "processing",
            Status::Delivered => "delivered",
            Status::Cancelled => "cancelled",
            Status::CancelledRefunded => "cancelled_refunded",
            Status::Discarded => "discarded",
            Status::Failed => "failed",
            Status::Revoked => "revoked",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A status equals its stored name, so that a front or a test may compare
/// it with the word it shows.
impl PartialEq<&str> for Status {
    fn eq(&self, word: &&str) -> bool {
        self.as_str() == *word
    }
}

impl PartialEq<str> for Status {
    fn eq(&self, word: &str) -> bool {
        self.as_str() == word
    }
}

/// True for an order status whose certificates may be served: not one of an
/// order cancelled, rejected or failed before it was delivered.
pub(crate) fn serves_certificates(status: Status) -> bool {
    !matches!(status, Status::Cancelled | Status::CancelledRefunded | Status::Discarded | Status::Failed)
}

/// How an account pays (seed 2.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Formula {
    /// Prepaid tokens per product code.
    Bulk,
    /// Negotiated prices, invoiced per order; tokens used first when held.
    Rebate,
    /// A money balance debited per order.
    Deposit,
    /// Accrued to the month's invoice.
    Monthly,
}

impl Formula {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Formula::Bulk => "bulk",
            Formula::Rebate => "rebate",
            Formula::Deposit => "deposit",
            Formula::Monthly => "monthly",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Formula> {
        [Formula::Bulk, Formula::Rebate, Formula::Deposit, Formula::Monthly].into_iter().find(|f| f.as_str() == s)
    }
}
