//! Persistence for certgate: one connection pool over SQLite (the embedded
//! default) or PostgreSQL (several instances), the migrations of both, and one
//! module of queries per table (`signed_orders` writes an order signed at once
//! with its certificate, job and audit entries together; `checkpoint` keeps
//! SQLite's WAL short). It depends on nothing else of certgate; the order core
//! (`orders`) and the ACME front's protocol state call into it.
//!
//! Queries use `$n` placeholders and run through [`sql`]: on the calling
//! thread for SQLite (rusqlite), through sqlx for PostgreSQL. Integers are 64-bit, flags are 0/1 integers, timestamps are
//! UTC Unix seconds and money is integer minor units, on both backends.

pub mod accounts;
pub mod acme_accounts;
pub mod acme_nonces;
pub mod acme_orders;
pub mod acme_requests;
pub mod acme_urls;
pub mod audit;
pub mod ca_keys;
pub mod certificates;
pub mod checkpoint;
pub mod contacts;
mod db;
pub mod domains;
mod error;
pub mod events;
pub mod jobs;
pub mod ledger;
mod lock_wait;
pub mod logins;
pub mod monitors;
pub mod orders;
pub mod organisations;
mod pool;
pub mod prevalidations;
pub mod prices;
pub mod products;
pub mod sealed;
pub mod sessions;
pub mod signed_orders;
pub mod sql;
pub mod upstream_accounts;
pub mod users;
pub mod warning_levels;
pub mod webhooks;

pub use db::{
    Backend, Db, SQLITE_POOL_SIZE, Tx, WRITE_TURN_HELD, WRITE_TURN_WAIT, WriteTurn, Writer, commit, postgres_pool_size,
};
pub use error::{Error, Result};
pub use pool::{Pooled, RECHECK};
pub use sql::{Conn, STATEMENTS};
