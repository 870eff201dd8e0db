//! The audit log: who did what, when, from which IP and through which front.

use crate::sql::{Query, query_as, query_built};
use crate::{Conn, Result};

crate::row_struct! {
    /// One row of `audit_log`.
    #[derive(Clone, Debug)]
    pub struct AuditRow {
        /// The entry's database identifier.
        pub id: i64,
        /// When the action happened, in UTC Unix seconds.
        pub at: i64,
        /// The account the action concerns, when there is one.
        pub account_id: Option<i64>,
        /// Who acted: a login, an ACME account, `operator` for the CLI, or a worker.
        pub actor: String,
        /// The IP address the action came from, or `local`.
        pub ip: String,
        /// The front the action came through: `acme`, `xmlrpc`, `cli` or `worker`.
        pub source: String,
        /// What was done, as a dotted name such as `order.place`.
        pub action: String,
        /// Free-text details of the action.
        pub detail: String,
    }
}

/// Who acts, from where and through which front; attached to every audited write.
#[derive(Clone, Debug)]
pub struct Actor {
    /// The account the actor acts on, when there is one.
    pub account_id: Option<i64>,
    /// A login, an ACME account, or `operator` for the CLI.
    pub name: String,
    /// The IP address the request came from.
    pub ip: String,
    /// `acme`, `xmlrpc`, `cli` or `worker`.
    pub source: String,
    /// The front's call that made the change (`xmlrpc.achat`), if a front
    /// names it: it is recorded as an entry of its own beside the change's,
    /// in the same statement, so a call's record commits with what it did.
    pub call: Option<String>,
}

/// Appends one entry.
pub async fn record(c: &mut Conn, actor: &Actor, action: &str, detail: &str, now: i64) -> Result<()> {
    record_all(c, actor, &[(action, detail)], now).await
}

/// Appends entries of one actor, as (action, detail), in one statement: an
/// order placed and delivered in one transaction is audited in one round trip.
pub async fn record_all(c: &mut Conn, actor: &Actor, entries: &[(&str, &str)], now: i64) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let entries = with_call(actor, entries);
    let sql = insert_entries("$1", 2, entries.len(), "");
    bind_entries(query_built(sql).bind(now), actor, &entries).execute(c).await?;
    Ok(())
}

/// `entries`, and after them the entry of the front's call that made them
/// when the actor names one (`Actor::call`); borrowed, with no copy, when
/// it names none (every write of the ACME front, the CLI and the worker).
pub(crate) fn with_call<'a>(
    actor: &'a Actor,
    entries: &'a [(&'a str, &'a str)],
) -> std::borrow::Cow<'a, [(&'a str, &'a str)]> {
    match actor.call.as_deref() {
        Some(call) => entries.iter().copied().chain([(call, "ok")]).collect::<Vec<_>>().into(),
        None => entries.into(),
    }
}

/// The statement that appends `count` entries (at least one) at time `at`,
/// an SQL expression: the actor's four fields are the placeholders from
/// `$first` on, then each entry's action and detail. The entries are the rows
/// of `e`, selected from `from` (a table list ending in a comma, or nothing)
/// and `e`, in the order given, so that their ids follow it. (`column1` to
/// `column3` are the names both backends give the columns of `VALUES`.)
pub(crate) fn insert_entries(at: &str, first: usize, count: usize, from: &str) -> String {
    let entry = |i: usize| format!("(${}, ${}, {i})", first + 4 + 2 * i, first + 5 + 2 * i);
    let rows: Vec<String> = (0..count).map(entry).collect();
    format!(
        "INSERT INTO audit_log (at, account_id, actor, ip, source, action, detail)
         SELECT {at}, ${}, ${}, ${}, ${}, e.column1, e.column2 FROM {from} (VALUES {}) AS e ORDER BY e.column3",
        first,
        first + 1,
        first + 2,
        first + 3,
        rows.join(", ")
    )
}

/// Binds the actor's four fields, then each entry's action and detail.
pub(crate) fn bind_entries<'q>(q: Query<'q>, actor: &'q Actor, entries: &[(&'q str, &'q str)]) -> Query<'q> {
    let mut q = q.bind(actor.account_id).bind(&actor.name).bind(&actor.ip).bind(&actor.source);
    for (action, detail) in entries {
        q = q.bind(*action).bind(*detail);
    }
    q
}

/// Which entries of one account [`search`] reads; empty words and zeros mean "any".
#[derive(Clone, Debug, Default)]
pub struct Search {
    /// The account.
    pub account_id: i64,
    /// Only entries at or after this time.
    pub from: i64,
    /// Only entries at or before this time (0: no bound).
    pub to: i64,
    /// Only entries of this actor (a login).
    pub actor: String,
    /// Only actions that start with this (`order.`, `user.`, `login.`...).
    pub action_prefix: String,
    /// Only entries before this one, `(at, id)`: the previous page's last.
    pub before: Option<(i64, i64)>,
    /// The most entries (1 to 10,000).
    pub limit: i64,
}

/// An account's entries, newest first, a page at a time: found by the
/// (account, time) index however long the log.
pub async fn search(c: &mut Conn, s: &Search) -> Result<Vec<AuditRow>> {
    let (before_at, before_id) = s.before.unwrap_or((i64::MAX, i64::MAX));
    // One upper bound on `at` (the page's end folded into the period's), so
    // that the index is ranged from it, not from a looser one.
    let to = if s.to == 0 { i64::MAX } else { s.to }.min(before_at);
    // The prefix is compared as it is, whatever the database's collation
    // (the time index narrows the rows, not the action).
    query_as(
        "SELECT * FROM audit_log
         WHERE account_id = $1 AND at >= $2 AND at <= $3 AND NOT (at = $4 AND id >= $5)
           AND ($6 = '' OR actor = $6) AND ($7 = '' OR substr(action, 1, length($7)) = $7)
         ORDER BY at DESC, id DESC LIMIT $8",
    )
    .bind(s.account_id)
    .bind(s.from)
    .bind(to)
    .bind(before_at)
    .bind(before_id)
    .bind(&s.actor)
    .bind(&s.action_prefix)
    .bind(s.limit.clamp(1, 10_000))
    .fetch_all(c)
    .await
}

/// The latest entries, newest first, optionally of one account.
pub async fn list(c: &mut Conn, account_id: Option<i64>, limit: i64) -> Result<Vec<AuditRow>> {
    query_as("SELECT * FROM audit_log WHERE ($1 = 0 OR account_id = $1) ORDER BY id DESC LIMIT $2")
        .bind(account_id.unwrap_or(0))
        .bind(limit)
        .fetch_all(c)
        .await
}
