//! The states of the ACME protocol's records (RFC 8555 §7.1.6). Each has
//! one word, the same in the database and in ACME's JSON, written here only.

use crate::states::states;

states! {
    /// An ACME account's state.
    AccountStatus {
        /// It may act.
        Valid = "valid",
        /// Deactivated by its holder, for good.
        Deactivated = "deactivated",
    }
}

states! {
    /// An ACME order's state.
    AcmeOrderStatus {
        /// Some authorization is still to be validated.
        Pending = "pending",
        /// Every authorization is valid: it may be finalized.
        Ready = "ready",
        /// Finalized; the certificate is being issued.
        Processing = "processing",
        /// Its certificate is issued.
        Valid = "valid",
        /// An authorization failed, or the issuance did.
        Invalid = "invalid",
    }
}

states! {
    /// An authorization's state.
    AuthzStatus {
        /// Its name's control is still to be proven.
        Pending = "pending",
        /// Proven, or under a pre-validated domain.
        Valid = "valid",
        /// Its challenge failed.
        Invalid = "invalid",
        /// Deactivated by its account.
        Deactivated = "deactivated",
        /// Past its expiry.
        Expired = "expired",
    }
}

states! {
    /// The state of the challenge an authorization's account answered.
    ChallengeStatus {
        /// Not answered yet.
        Pending = "pending",
        /// Being validated (a job).
        Processing = "processing",
        /// Validated.
        Valid = "valid",
        /// Validation failed.
        Invalid = "invalid",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_word_reads_back_as_its_state() {
        for s in [
            AcmeOrderStatus::Pending,
            AcmeOrderStatus::Ready,
            AcmeOrderStatus::Processing,
            AcmeOrderStatus::Valid,
            AcmeOrderStatus::Invalid,
        ] {
            assert_eq!(AcmeOrderStatus::parse(s.as_str()), Some(s));
        }
        for s in [
            AuthzStatus::Pending,
            AuthzStatus::Valid,
            AuthzStatus::Invalid,
            AuthzStatus::Deactivated,
            AuthzStatus::Expired,
        ] {
            assert_eq!(AuthzStatus::parse(s.as_str()), Some(s));
        }
        for s in
            [ChallengeStatus::Pending, ChallengeStatus::Processing, ChallengeStatus::Valid, ChallengeStatus::Invalid]
        {
            assert_eq!(ChallengeStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(AccountStatus::parse("deactivated"), Some(AccountStatus::Deactivated));
        assert_eq!(AuthzStatus::parse("Valid"), None, "words are exact");
    }
}
