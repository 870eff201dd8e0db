//! ACME problem documents (RFC 7807 with RFC 8555's error types), and the one
//! place where the order core's refusals become them.

use axum::http::StatusCode;
use orders::OrderError;
use serde_json::json;

use crate::jws::ALGORITHMS;

/// An ACME error: its RFC 8555 type (without the URN prefix), the HTTP
/// status and a detail that says what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The error type after `urn:ietf:params:acme:error:`.
    pub kind: &'static str,
    /// The HTTP status to answer with.
    pub status: StatusCode,
    /// What went wrong, for a person.
    pub detail: String,
    /// Seconds after which a retry may succeed (rate limits).
    pub retry_after: Option<u64>,
}

impl Problem {
    /// A problem of `kind` with `status` and `detail`.
    pub fn new(kind: &'static str, status: StatusCode, detail: impl Into<String>) -> Problem {
        Problem { kind, status, detail: detail.into(), retry_after: None }
    }

    /// The request is malformed.
    pub fn malformed(detail: impl Into<String>) -> Problem {
        Problem::new("malformed", StatusCode::BAD_REQUEST, detail)
    }

    /// The client is not allowed to do this.
    pub fn unauthorized(detail: impl Into<String>) -> Problem {
        Problem::new("unauthorized", StatusCode::FORBIDDEN, detail)
    }

    /// The nonce is missing, unknown, expired or used.
    pub fn bad_nonce(detail: impl Into<String>) -> Problem {
        metrics::counter!("certgate_acme_nonce_rejections_total").increment(1);
        Problem::new("badNonce", StatusCode::BAD_REQUEST, detail)
    }

    /// The JWS algorithm is not one certgate accepts.
    pub fn bad_signature_algorithm(alg: &str) -> Problem {
        let others: Vec<&str> = ALGORITHMS.iter().copied().filter(|a| *a != alg).collect();
        Problem::new(
            "badSignatureAlgorithm",
            StatusCode::BAD_REQUEST,
            format!("algorithm {alg:?} is not accepted; use one of {}", others.join(", ")),
        )
    }

    /// The JWS algorithm is one certgate accepts, but not with the key that
    /// signed; `fits` is the one that would, if any.
    pub fn algorithm_not_for_key(alg: &str, fits: Option<&str>) -> Problem {
        let detail = match fits {
            Some(fits) => format!("algorithm {alg:?} does not fit the signing key, which takes {fits:?}"),
            None => format!("algorithm {alg:?} does not fit the signing key, whose type certgate does not accept"),
        };
        Problem::new("badSignatureAlgorithm", StatusCode::BAD_REQUEST, detail)
    }

    /// The account key is not acceptable.
    pub fn bad_public_key(detail: impl Into<String>) -> Problem {
        Problem::new("badPublicKey", StatusCode::BAD_REQUEST, detail)
    }

    /// The account or resource does not exist.
    pub fn not_found(detail: impl Into<String>) -> Problem {
        Problem::new("malformed", StatusCode::NOT_FOUND, detail)
    }

    /// Something failed inside certgate; the detail stays generic.
    pub fn internal(detail: impl std::fmt::Display) -> Problem {
        tracing::error!(error = %detail, "ACME request failed");
        Problem::new("serverInternal", StatusCode::INTERNAL_SERVER_ERROR, "internal error; try again later")
    }

    /// The problem document as JSON.
    pub fn body(&self) -> serde_json::Value {
        let mut v = json!({
            "type": format!("urn:ietf:params:acme:error:{}", self.kind),
            "detail": self.detail,
            "status": self.status.as_u16(),
        });
        if self.kind == "badSignatureAlgorithm" {
            v["algorithms"] = json!(ALGORITHMS);
        }
        v
    }
}

impl From<OrderError> for Problem {
    fn from(e: OrderError) -> Problem {
        let detail = e.to_string();
        let (kind, status) = match &e {
            OrderError::BadCsr(_) | OrderError::NamesMismatch(_) | OrderError::WeakKey(_) => {
                ("badCSR", StatusCode::BAD_REQUEST)
            }
            OrderError::BadName(..) | OrderError::TooManySans { .. } | OrderError::WildcardNotAllowed(_) => {
                ("rejectedIdentifier", StatusCode::BAD_REQUEST)
            }
            OrderError::NoPrevalidation { .. }
            | OrderError::InsufficientTokens { .. }
            | OrderError::InsufficientDeposit { .. }
            | OrderError::NoPrice { .. }
            | OrderError::Forbidden(_)
            | OrderError::BadCredentials
            | OrderError::Locked(_)
            | OrderError::NotAdmitted { .. }
            | OrderError::BadSecondFactor => ("unauthorized", StatusCode::FORBIDDEN),
            OrderError::AlreadyRevoked => ("alreadyRevoked", StatusCode::BAD_REQUEST),
            OrderError::BadRevocationReason(_) => ("badRevocationReason", StatusCode::BAD_REQUEST),
            OrderError::AlreadyRenewed(_) => ("alreadyReplaced", StatusCode::CONFLICT),
            OrderError::WrongState { .. } | OrderError::OutsideRenewalWindow(_) | OrderError::PurchaseStarted(_) => {
                ("orderNotReady", StatusCode::FORBIDDEN)
            }
            OrderError::UnknownOrder(_)
            | OrderError::UnknownAcmeUrl(_)
            | OrderError::UnknownAccount(_)
            | OrderError::UnknownOrganisation(_)
            | OrderError::UnknownDomain(_)
            | OrderError::UnknownProduct(_) => ("malformed", StatusCode::NOT_FOUND),
            OrderError::Invalid(_) | OrderError::QuoteChanged { .. } => ("malformed", StatusCode::BAD_REQUEST),
            // ACME orders never wait for funds; kept apart for completeness.
            OrderError::TooManyWaiting(_) | OrderError::TooManyDomains(_) => {
                ("rateLimited", StatusCode::TOO_MANY_REQUESTS)
            }
            OrderError::DcvNotProven(_) => ("unauthorized", StatusCode::FORBIDDEN),
            OrderError::CaaForbidden(_) => ("caa", StatusCode::FORBIDDEN),
            OrderError::CaaLookup(_) => ("dns", StatusCode::BAD_REQUEST),
            OrderError::Busy | OrderError::Throttled(_) => ("rateLimited", StatusCode::TOO_MANY_REQUESTS),
            OrderError::UnknownUpstream(_) | OrderError::UnknownState(_) | OrderError::Storage(_) => {
                return Problem::internal(detail);
            }
        };
        Problem::new(kind, status, detail)
    }
}
