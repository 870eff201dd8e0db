//! Key material of the embedded CA, shared by every instance on the database.

use crate::sql::{query, query_as};
use crate::{Conn, Result};

crate::row_struct! {
    /// One row of `ca_keys`.
    #[derive(Clone, Debug)]
    pub struct CaKeyRow {
        /// The CA's name, such as `embedded:root` or `embedded:issuing`.
        pub name: String,
        /// The CA's certificate, PEM.
        pub cert_pem: String,
        /// The private key, sealed with the configured secret key.
        pub key_sealed: String,
        /// When the key material was stored, in UTC Unix seconds.
        pub created_at: i64,
    }
}

/// Reads a CA by name (`root`, `issuing`).
pub async fn get(c: &mut Conn, name: &str) -> Result<Option<CaKeyRow>> {
    query_as("SELECT * FROM ca_keys WHERE name = $1").bind(name).fetch_optional(c).await
}

/// Stores a CA unless one of that name exists; returns whether this call stored it.
pub async fn insert(c: &mut Conn, name: &str, cert_pem: &str, key_sealed: &str, now: i64) -> Result<bool> {
    let r = query(
        "INSERT INTO ca_keys (name, cert_pem, key_sealed, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(cert_pem)
    .bind(key_sealed)
    .bind(now)
    .execute(c)
    .await?;
    Ok(r.rows_affected() == 1)
}
