//! The account's log (seed 7.5): who did what, when, from which address and
//! through which front, read newest first a page at a time, filtered by
//! period, user and kind of action; as CSV too. Administrative right.

use storage::audit;

use crate::order::spreadsheet_safe;
use crate::{Caller, Keyset, Orders, Result, Right};

/// The kinds of action the log can be filtered by: the first word of the
/// action's dotted name.
pub const LOG_KINDS: [&str; 15] = [
    "order",
    "certificate",
    "login",
    "portal",
    "user",
    "acme",
    "acme_url",
    "account",
    "ledger",
    "contact",
    "organisation",
    "prevalidation",
    "domain",
    "monitor",
    "webhook",
];

/// Which entries to read; empty words and zeros mean "any".
#[derive(Clone, Debug, Default)]
pub struct LogFilter {
    /// Only entries at or after this time (UTC Unix seconds).
    pub from: i64,
    /// Only entries at or before this time (0: no bound).
    pub to: i64,
    /// Only the entries of this user (its login).
    pub user: String,
    /// Only the actions of this kind (one of [`LOG_KINDS`]).
    pub kind: String,
    /// Only entries before this one: the previous page's last.
    pub before: Option<Keyset>,
    /// The most entries (1 to 10,000).
    pub limit: i64,
}

/// One entry of the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntry {
    /// Its identifier, which orders entries of the same second.
    pub id: i64,
    /// When (UTC Unix seconds).
    pub at: i64,
    /// Who: a login, an ACME account, `operator`, or a worker.
    pub actor: String,
    /// From which address, or `local`.
    pub ip: String,
    /// Through which front: `portal`, `xmlrpc`, `acme`, `cli` or `worker`.
    pub source: String,
    /// What, as a dotted name such as `order.place`.
    pub action: String,
    /// The details.
    pub detail: String,
}

impl LogEntry {
    /// Its place, where the log's next (older) page starts.
    pub fn place(&self) -> Keyset {
        Keyset { at: self.at, id: self.id }
    }
}

impl Orders {
    /// The caller's account's log, newest first.
    pub async fn log(&self, caller: &Caller, f: &LogFilter) -> Result<Vec<LogEntry>> {
        caller.require(Right::Administrative)?;
        if !f.kind.is_empty() && !LOG_KINDS.contains(&f.kind.as_str()) {
            return Err(crate::OrderError::Invalid(format!("kind {:?}: one of {}", f.kind, LOG_KINDS.join(", "))));
        }
        let search = audit::Search {
            account_id: caller.account_id,
            from: f.from,
            to: f.to,
            actor: f.user.trim().to_string(),
            action_prefix: if f.kind.is_empty() { String::new() } else { format!("{}.", f.kind) },
            before: f.before.map(|k| (k.at, k.id)),
            limit: f.limit,
        };
        let rows = audit::search(&mut *self.db().acquire().await?, &search).await?;
        Ok(rows
            .into_iter()
            .map(|r| LogEntry {
                id: r.id,
                at: r.at,
                actor: r.actor,
                ip: r.ip,
                source: r.source,
                action: r.action,
                detail: r.detail,
            })
            .collect())
    }
}

/// Log entries as CSV, one line each.
pub fn log_csv(entries: &[LogEntry]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(["date", "user", "address", "front", "action", "detail"]);
    for e in entries {
        let _ = w.write_record([
            crate::iso(e.at),
            spreadsheet_safe(&e.actor),
            spreadsheet_safe(&e.ip),
            e.source.clone(),
            e.action.clone(),
            spreadsheet_safe(&e.detail),
        ]);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}
