//! What one database statement costs certgate's process through `storage::sql`: an
//! indexed read and an autocommit write, on a fresh SQLite file or
//! PostgreSQL database. This is the unit that CPU per ACME request is made
//! of, so it tells how many statements an issuance can afford.

use std::time::Instant;

use storage::{acme_nonces, acme_urls};

use crate::procstat::own_cpu_seconds;

/// Times `n` runs of each kind of statement and prints CPU and wall time per statement.
pub async fn run(n: usize, postgres: Option<String>) {
    let tdb = crate::bench_db(postgres).await;
    let db = tdb.db.clone();
    println!("{} statements through storage::sql, {n} of each:", tdb.backend);
    let report = |what: &str, cpu0: f64, t0: Instant| {
        let (cpu, wall) = ((own_cpu_seconds() - cpu0) * 1e6 / n as f64, t0.elapsed().as_secs_f64() * 1e6 / n as f64);
        println!("  {what:<44} {cpu:>7.1} us CPU  {wall:>7.1} us wall");
    };
    let (cpu0, t0) = (own_cpu_seconds(), Instant::now());
    for _ in 0..n {
        let mut c = db.acquire().await.expect("connection");
        acme_urls::by_path(&mut c, "none").await.expect("select");
    }
    report("indexed SELECT (connection from the pool)", cpu0, t0);
    let (cpu0, t0) = (own_cpu_seconds(), Instant::now());
    let mut c = db.acquire().await.expect("connection");
    for _ in 0..n {
        acme_urls::by_path(&mut c, "none").await.expect("select");
    }
    drop(c);
    report("indexed SELECT (one connection held)", cpu0, t0);
    let (cpu0, t0) = (own_cpu_seconds(), Instant::now());
    for i in 0..n {
        let mut c = db.acquire_writer().await.expect("connection");
        acme_nonces::redeem(&mut c, &format!("bench-{i}"), i64::MAX).await.expect("insert");
    }
    report("autocommit INSERT (a nonce redeemed)", cpu0, t0);
    tdb.cleanup().await;
}
