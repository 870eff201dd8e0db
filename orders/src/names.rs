//! Domain names: syntax checks, and whether a pre-validated domain covers a name.

use crate::{Order, OrderError, Result};

/// Every name of an order, common name first.
pub(crate) fn order_names(o: &Order) -> Vec<String> {
    std::iter::once(o.cn.clone()).chain(o.sans.lines().filter(|l| !l.is_empty()).map(str::to_string)).collect()
}

/// Lower-cases a DNS name and checks its syntax; a leading `*.` is a wildcard.
pub fn normalize(name: &str) -> Result<String> {
    let n = name.trim().trim_end_matches('.').to_ascii_lowercase();
    let bad = |why: &str| Err(OrderError::BadName(name.to_string(), why.to_string()));
    let host = n.strip_prefix("*.").unwrap_or(&n);
    if host.is_empty() || host.len() > 253 {
        return bad("empty or longer than 253 characters");
    }
    if !host.contains('.') {
        return bad("not a fully qualified domain name");
    }
    for label in host.split('.') {
        if label.is_empty() || label.len() > 63 {
            return bad("each label must have 1 to 63 characters");
        }
        if !label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return bad("only letters, digits and '-' are allowed");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return bad("a label may not start or end with '-'");
        }
    }
    if host.rsplit('.').next().is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit())) {
        return bad("IP addresses are not accepted");
    }
    Ok(n)
}

/// True when the pre-validated `domain` covers `name`. A pre-validated domain
/// covers itself and every name below it; `*.example.test` covers the names
/// below `example.test` but not `example.test` itself.
pub fn covered_by(name: &str, domain: &str) -> bool {
    match domain.strip_prefix("*.") {
        Some(base) => name.ends_with(&format!(".{base}")),
        None => name == domain || name.ends_with(&format!(".{domain}")),
    }
}

/// The additional names of an order beyond its common name, as
/// (plain, wildcard) counts: what its SAN tokens are counted on.
pub(crate) fn additional_names(names: &[String]) -> (i64, i64) {
    let wildcard = names.iter().skip(1).filter(|n| n.starts_with("*.")).count() as i64;
    (names.len().saturating_sub(1) as i64 - wildcard, wildcard)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_and_refuses_bad_names() {
        assert_eq!(normalize("WWW.Example.Test.").unwrap(), "www.example.test");
        assert_eq!(normalize("*.example.test").unwrap(), "*.example.test");
        for bad in ["", "localhost", "a..b", "-a.test", "a_b.test", "1.2.3.4", "*.*.a.test"] {
            assert!(normalize(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn coverage_follows_the_domain_tree() {
        assert!(covered_by("www.example.test", "*.example.test"));
        assert!(covered_by("a.b.example.test", "*.example.test"));
        assert!(!covered_by("example.test", "*.example.test"));
        assert!(covered_by("example.test", "example.test"));
        assert!(covered_by("*.example.test", "example.test"));
        assert!(!covered_by("badexample.test", "example.test"));
    }
}
