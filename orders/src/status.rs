//! Order statuses (seed 6.6) and account formulas (seed 2.4, 9), as stored.

use crate::states::states;

states! {
    /// Where an order stands (seed 6.6).
    Status {
        /// Placed by a user without the approval right; nothing charged yet.
        PendingApproval = "pending_approval",
        /// Paid, waiting for domain control validation of names not pre-validated.
        WaitingDcv = "waiting_dcv",
        /// Paid and queued for, or in, issuance ("verification in process").
        Processing = "processing",
        /// A certificate was issued and stored.
        Delivered = "delivered",
        /// Cancelled before any charge.
        Cancelled = "cancelled",
        /// Cancelled after a charge, which was refunded.
        CancelledRefunded = "cancelled_refunded",
        /// Rejected by an approver.
        Discarded = "discarded",
        /// The upstream refused for good; the charge was refunded.
        Failed = "failed",
        /// Its certificate was revoked (final, no refund).
        Revoked = "revoked",
        /// Placed, and held unpaid until the account is credited (an
        /// automatic renewal, or an order that asked to wait).
        WaitingFunds = "waiting_funds",
        /// Its certificate is past its end of validity.
        Expired = "expired",
        /// An automatic renewal of a product that does not allow a key to
        /// be reused, waiting for the customer's new CSR; nothing charged yet.
        WaitingCsr = "waiting_csr",
    }
}

impl Status {
    /// The statuses of an order that waits for its customer to act: an
    /// approver, domain control, funds, or a new CSR.
    pub const AWAITING_CUSTOMER: [Status; 4] =
        [Status::PendingApproval, Status::WaitingDcv, Status::WaitingFunds, Status::WaitingCsr];

    /// Every status.
    pub const ALL: [Status; 12] = [
        Status::PendingApproval,
        Status::WaitingDcv,
        Status::Processing,
        Status::Delivered,
        Status::Cancelled,
        Status::CancelledRefunded,
        Status::Discarded,
        Status::Failed,
        Status::Revoked,
        Status::WaitingFunds,
        Status::Expired,
        Status::WaitingCsr,
    ];
}

/// True for an order status whose certificates may be served: not one of an
/// order cancelled, rejected or failed before it was delivered.
pub(crate) fn serves_certificates(status: Status) -> bool {
    !matches!(status, Status::Cancelled | Status::CancelledRefunded | Status::Discarded | Status::Failed)
}

states! {
    /// How an account pays (seed 2.4).
    Formula {
        /// Prepaid tokens per product code.
        Bulk = "bulk",
        /// Negotiated prices, invoiced per order; tokens used first when held.
        Rebate = "rebate",
        /// A money balance debited per order.
        Deposit = "deposit",
        /// Accrued to the month's invoice.
        Monthly = "monthly",
    }
}
