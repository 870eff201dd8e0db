//! CAA (RFC 8659): whether a CA may issue for a name. The relevant record
//! set is the first non-empty CAA set met climbing from the name towards
//! the root (the resolver follows CNAMEs at each step); `issuewild` rules a
//! wildcard when present, else `issue`; a set without either tag, or no set
//! at all, allows every CA. A lookup that fails (SERVFAIL, a timeout) is
//! tried again, then counts as a refusal, as Boulder does: no answer is not
//! a permission.

use hickory_resolver::proto::rr::RData;

use crate::Va;

/// Why a name may not be issued for.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CaaError {
    /// A CAA record set names other CAs (or a critical property certgate does not know).
    #[error("CAA at {domain} does not allow {identities} to issue for {name}: {records}")]
    Forbidden {
        /// The name asked for.
        name: String,
        /// Where the relevant record set was found.
        domain: String,
        /// The identities of the CA that would issue.
        identities: String,
        /// The records found, as text.
        records: String,
    },
    /// The CAA lookup failed, and kept failing.
    #[error("CAA lookup of {domain} for {name} failed: {detail}")]
    Lookup {
        /// The name asked for.
        name: String,
        /// The domain whose CAA set was looked up.
        domain: String,
        /// What the resolver said.
        detail: String,
    },
}

/// Tries of a failing lookup.
const TRIES: usize = 3;

/// One CAA record, as this check reads it.
#[derive(Debug)]
struct Record {
    critical: bool,
    tag: String,
    /// The issuer domain of an `issue`/`issuewild` value, lower case; empty
    /// for `;` (no CA may issue).
    issuer: Option<String>,
    text: String,
}

impl Va {
    /// Checks that a CA known by `identities` (its CAA issuer domains, such
    /// as `letsencrypt.org`) may issue for `name` (`*.example.com` for a
    /// wildcard).
    pub async fn check_caa(&self, name: &str, identities: &[String]) -> Result<(), CaaError> {
        let wildcard = name.starts_with("*.");
        let base = name.trim_start_matches("*.").trim_end_matches('.').to_ascii_lowercase();
        let mut domain = base.as_str();
        loop {
            if let Some(records) = self.caa_set(name, domain).await? {
                return judge(name, domain, &records, wildcard, identities);
            }
            // Up to the top-level domain, never the root.
            match domain.split_once('.') {
                Some((_, parent)) if !parent.is_empty() => domain = parent,
                _ => return Ok(()),
            }
        }
    }

    /// The CAA records at `domain`, or `None` when it has none.
    async fn caa_set(&self, name: &str, domain: &str) -> Result<Option<Vec<Record>>, CaaError> {
        let failed = |detail: String| CaaError::Lookup { name: name.into(), domain: domain.into(), detail };
        let resolver = self.resolver().map_err(failed)?;
        let mut last = String::new();
        for _ in 0..TRIES {
            let lookup = resolver.lookup(format!("{domain}."), hickory_resolver::proto::rr::RecordType::CAA);
            match tokio::time::timeout(std::time::Duration::from_secs(self.settings.timeout_secs), lookup).await {
                Ok(Ok(found)) => {
                    let records: Vec<Record> = found
                        .answers()
                        .iter()
                        .filter_map(|r| match &r.data {
                            RData::CAA(caa) => Some(record(caa)),
                            _ => None,
                        })
                        .collect();
                    return Ok((!records.is_empty()).then_some(records));
                }
                Ok(Err(e)) if e.is_no_records_found() => return Ok(None),
                Ok(Err(e)) => last = e.to_string(),
                Err(_) => last = "no answer in time".into(),
            }
        }
        Err(failed(last))
    }
}

fn record(caa: &hickory_resolver::proto::rr::rdata::CAA) -> Record {
    let tag = caa.tag.to_ascii_lowercase();
    let issuer = match tag.as_str() {
        // An unreadable value names no CA: it allows none (RFC 8659, 4.2).
        "issue" | "issuewild" => Some(
            caa.value_as_issue()
                .ok()
                .and_then(|(n, _)| n)
                .map_or_else(String::new, |n| n.to_ascii().trim_end_matches('.').to_ascii_lowercase()),
        ),
        _ => None,
    };
    let critical = caa.issuer_critical;
    let text = format!("{} {tag} {:?}", u8::from(critical) * 128, String::from_utf8_lossy(&caa.value));
    Record { text, critical, tag, issuer }
}

/// Judges the relevant record set found at `domain`.
fn judge(name: &str, domain: &str, records: &[Record], wildcard: bool, identities: &[String]) -> Result<(), CaaError> {
    let forbidden = || CaaError::Forbidden {
        name: name.into(),
        domain: domain.into(),
        identities: identities.join(", "),
        records: records.iter().map(|r| r.text.as_str()).collect::<Vec<_>>().join("; "),
    };
    // A critical property certgate does not understand forbids issuance (RFC 8659, 4.1).
    if records.iter().any(|r| r.critical && !matches!(r.tag.as_str(), "issue" | "issuewild" | "iodef")) {
        return Err(forbidden());
    }
    let of = |tag: &str| records.iter().filter(|r| r.tag == tag).collect::<Vec<_>>();
    let rules = match (wildcard, of("issuewild")) {
        (true, wild) if !wild.is_empty() => wild,
        _ => of("issue"),
    };
    if rules.is_empty() {
        return Ok(());
    }
    let allowed = rules.iter().any(|r| {
        r.issuer.as_deref().is_some_and(|i| !i.is_empty() && identities.iter().any(|id| id.eq_ignore_ascii_case(i)))
    });
    if allowed { Ok(()) } else { Err(forbidden()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(tag: &str, issuer: &str, critical: bool) -> Record {
        Record { critical, tag: tag.into(), issuer: Some(issuer.into()), text: format!("{tag} {issuer}") }
    }

    #[test]
    fn the_relevant_set_is_judged_by_issue_or_issuewild() {
        let us = ["certgate.test".to_string()];
        assert!(judge("a.b", "b", &[rec("issue", "certgate.test", false)], false, &us).is_ok());
        assert!(judge("a.b", "b", &[rec("issue", "other.ca", false)], false, &us).is_err());
        assert!(judge("a.b", "b", &[rec("issue", "", false)], false, &us).is_err(), "issue \";\" forbids all");
        // issuewild rules wildcards only; without it, issue does.
        let wild_only = [rec("issue", "other.ca", false), rec("issuewild", "certgate.test", false)];
        assert!(judge("*.b", "b", &wild_only, true, &us).is_ok());
        assert!(judge("a.b", "b", &wild_only, false, &us).is_err());
        assert!(judge("*.b", "b", &[rec("issue", "certgate.test", false)], true, &us).is_ok());
        // A set with only iodef allows; an unknown critical tag forbids.
        let iodef = Record { critical: false, tag: "iodef".into(), issuer: None, text: "iodef".into() };
        assert!(judge("a.b", "b", &[iodef], false, &us).is_ok());
        let strange = Record { critical: true, tag: "tbs".into(), issuer: None, text: "128 tbs".into() };
        assert!(judge("a.b", "b", &[strange], false, &us).is_err());
    }
}
