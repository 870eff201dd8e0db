//! User rights (seed 7.1) and the authenticated caller of an operation.

use std::fmt;

/// One right a user may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Right {
    /// Order, renew, reissue, revoke.
    Technical,
    /// List orders and read their status.
    Commercial,
    /// Balances and statements.
    Billing,
    /// Users, settings and ACME URLs.
    Administrative,
    /// Approve or reject orders waiting for approval.
    Approval,
}

impl Right {
    /// Every right, in display order.
    pub const ALL: [Right; 5] =
        [Right::Technical, Right::Commercial, Right::Billing, Right::Administrative, Right::Approval];

    /// The lower-case name used in storage and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Right::Technical => "technical",
            Right::Commercial => "commercial",
            Right::Billing => "billing",
            Right::Administrative => "administrative",
            Right::Approval => "approval",
        }
    }
}

impl fmt::Display for Right {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of rights.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rights(u8);

impl Rights {
    /// Every right.
    pub fn all() -> Rights {
        Rights::from_iter(Right::ALL)
    }

    /// True when the set holds `r`.
    pub fn has(self, r: Right) -> bool {
        self.0 & (1 << r as u8) != 0
    }

    /// Parses a comma-separated list (`technical,billing`, or `all`).
    pub fn parse(s: &str) -> Result<Rights, String> {
        let mut out = Rights::default();
        for word in s.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            if word == "all" {
                return Ok(Rights::all());
            }
            let r =
                Right::ALL.into_iter().find(|r| r.as_str() == word).ok_or_else(|| format!("unknown right {word:?}"))?;
            out.0 |= 1 << r as u8;
        }
        Ok(out)
    }
}

impl FromIterator<Right> for Rights {
    fn from_iter<I: IntoIterator<Item = Right>>(iter: I) -> Rights {
        Rights(iter.into_iter().fold(0, |acc, r| acc | 1 << r as u8))
    }
}

impl fmt::Display for Rights {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<_> = Right::ALL.into_iter().filter(|r| self.has(*r)).map(Right::as_str).collect();
        f.write_str(&names.join(","))
    }
}

/// The front an operation came through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The ACME server.
    Acme,
    /// The XML-RPC API.
    Xmlrpc,
    /// The operator's command line.
    Cli,
    /// The customer area in the browser.
    Portal,
}

impl Source {
    /// The name stored with orders and audit entries.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Acme => "acme",
            Source::Xmlrpc => "xmlrpc",
            Source::Cli => "cli",
            Source::Portal => "portal",
        }
    }
}

/// Who calls an operation: authenticated by a front, or the operator's CLI.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The account the caller acts for.
    pub account_id: i64,
    /// A login, `acme:<account>`, or `operator`.
    pub login: String,
    /// The rights the caller holds.
    pub rights: Rights,
    /// The IP address the call came from, or `local` for the CLI.
    pub ip: String,
    /// The front the call came through.
    pub source: Source,
    /// The front's method being served (`xmlrpc.achat`), recorded in the
    /// audit log with the change it makes, in the same transaction.
    pub call: Option<String>,
}

impl Caller {
    /// The operator acting on an account through the CLI, with every right.
    pub fn operator(account_id: i64) -> Caller {
        Caller {
            account_id,
            login: "operator".into(),
            rights: Rights::all(),
            ip: "local".into(),
            source: Source::Cli,
            call: None,
        }
    }

    /// Refuses unless the caller holds `r`.
    pub fn require(&self, r: Right) -> crate::Result<()> {
        if self.rights.has(r) { Ok(()) } else { Err(crate::OrderError::Forbidden(r)) }
    }

    /// The audit log's identity of this caller.
    pub fn actor(&self) -> storage::audit::Actor {
        storage::audit::Actor {
            account_id: Some(self.account_id),
            name: self.login.clone(),
            ip: self.ip.clone(),
            source: self.source.as_str().into(),
            call: self.call.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_rights() {
        let r = Rights::parse("billing, technical").unwrap();
        assert!(r.has(Right::Billing) && r.has(Right::Technical) && !r.has(Right::Approval));
        assert_eq!(r.to_string(), "technical,billing");
        assert_eq!(Rights::parse("all").unwrap(), Rights::all());
        assert!(Rights::parse("root").is_err());
    }
}
