//! The one place where instant-acme's errors are sorted into what a job
//! should do next: retry later (the network, 5xx, `rateLimited`,
//! `badNonce`) or give up (the upstream refused the request itself).

use instant_acme::{Error, Problem};

use crate::UpstreamError;

const ACME_ERROR: &str = "urn:ietf:params:acme:error:";

/// The short ACME error type of a problem (`badNonce`), if it has one.
pub(crate) fn problem_type(p: &Problem) -> Option<&str> {
    p.r#type.as_deref().and_then(|t| t.strip_prefix(ACME_ERROR))
}

/// True when the upstream answered that it no longer knows our account.
pub(crate) fn is_unknown_account(e: &Error) -> bool {
    matches!(e, Error::Api(p) if problem_type(p) == Some("accountDoesNotExist"))
}

/// True when the upstream answered 404 for the resource asked for.
pub(crate) fn is_not_found(e: &Error) -> bool {
    matches!(e, Error::Api(p) if p.status == Some(404))
}

/// Sorts an error from `step` (what the connector was doing) at `upstream`.
pub(crate) fn classify(upstream: &str, step: &str, e: Error) -> UpstreamError {
    let transient = match &e {
        Error::Api(p) => {
            matches!(problem_type(p), Some("badNonce" | "rateLimited" | "serverInternal"))
                || p.status.is_some_and(|s| s >= 500 || s == 429)
        }
        // The network, a timeout, or a body that is not a problem document
        // (a proxy's error page): the upstream may answer properly later.
        Error::Hyper(_) | Error::Other(_) | Error::Json(_) | Error::Timeout(_) => true,
        _ => false,
    };
    let detail = format!("{step}: {e}");
    let upstream = upstream.to_string();
    if transient { UpstreamError::Transient { upstream, detail } } else { UpstreamError::Final { upstream, detail } }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(kind: &str, status: u16) -> Error {
        let json = format!(r#"{{"type":"{ACME_ERROR}{kind}","detail":"d","status":{status}}}"#);
        Error::Api(serde_json::from_str(&json).expect("problem JSON"))
    }

    #[test]
    fn retryable_and_final_problems() {
        for (kind, status) in [("badNonce", 400), ("rateLimited", 429), ("serverInternal", 500), ("malformed", 503)] {
            assert!(!classify("ca", "finalize", problem(kind, status)).is_final(), "{kind} should be retried");
        }
        for (kind, status) in [("unauthorized", 403), ("rejectedIdentifier", 400), ("badCSR", 400)] {
            let e = classify("ca", "finalize", problem(kind, status));
            assert!(e.is_final(), "{kind} should be final");
            assert!(e.to_string().contains("upstream ca") && e.to_string().contains(kind), "{e}");
        }
        assert!(!classify("ca", "x", Error::Json(serde_json::from_str::<u8>("<html>").unwrap_err())).is_final());
        assert!(classify("ca", "x", Error::Str("invalid order state")).is_final());
    }

    #[test]
    fn recognises_unknown_accounts_and_missing_orders() {
        assert!(is_unknown_account(&problem("accountDoesNotExist", 400)));
        assert!(!is_unknown_account(&problem("malformed", 400)));
        assert!(is_not_found(&problem("malformed", 404)));
    }
}
