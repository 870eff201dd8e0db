//! certgate's connection pool (`storage::Pooled`): a connection goes back
//! without a ping, so these show what the ping used to guard against cannot
//! leak into the next borrower: a transaction dropped or cancelled half-way is
//! rolled back, and a connection the server killed is replaced.

use std::num::NonZeroU32;
use std::time::Duration;

use certgate_tests::TestDb;
use sqlx::Connection as _;
use storage::sql::{query, query_scalar};
use storage::{Db, commit};

async fn scratch_table(db: &Db) {
    let mut c = db.acquire().await.unwrap();
    c.batch("CREATE TABLE pool_probe (tag TEXT NOT NULL)").await.unwrap();
}

async fn count(db: &Db, tag: &str) -> i64 {
    let mut c = db.acquire().await.unwrap();
    query_scalar("SELECT COUNT(*) FROM pool_probe WHERE tag = $1").bind(tag).fetch_one(&mut c).await.unwrap()
}

/// Writes one row in a transaction of its own and commits it: this fails (or,
/// on PostgreSQL, also commits a leftover) if the borrowed connection were
/// still inside someone else's transaction.
async fn write_committed(db: &Db) {
    let mut tx = db.begin().await.unwrap();
    query("INSERT INTO pool_probe (tag) VALUES ('committed')").execute(&mut tx).await.unwrap();
    commit(tx).await.unwrap();
}

#[tokio::test]
async fn a_dropped_transaction_is_rolled_back_before_its_connection_is_lent_again() {
    for tdb in TestDb::all().await {
        let db = &tdb.db;
        scratch_table(db).await;
        for _ in 0..5 {
            let mut tx = db.begin().await.unwrap();
            query("INSERT INTO pool_probe (tag) VALUES ('dropped')").execute(&mut tx).await.unwrap();
            drop(tx);
            // The connection comes back after its rollback; borrowed first
            // (most recent first) by the next writer.
            tokio::time::sleep(Duration::from_millis(50)).await;
            write_committed(db).await;
        }
        assert_eq!((count(db, "dropped").await, count(db, "committed").await), (0, 5), "{}", tdb.backend);
        tdb.cleanup().await;
    }
}

#[tokio::test]
async fn a_transaction_cancelled_while_it_begins_or_writes_leaves_nothing_behind() {
    for tdb in TestDb::all().await {
        let db = &tdb.db;
        scratch_table(db).await;
        let mut cancelled = 0;
        for i in 0..40 {
            // Cancelled at its first await that is not ready: inside BEGIN,
            // or inside the INSERT.
            let attempt = async {
                let mut tx = db.begin().await.unwrap();
                query("INSERT INTO pool_probe (tag) VALUES ('cancelled')").execute(&mut tx).await.unwrap();
                tokio::time::sleep(Duration::from_secs(10)).await;
                commit(tx).await.unwrap();
            };
            let budget = Duration::from_micros(if i % 2 == 0 { 0 } else { 300 });
            if tokio::time::timeout(budget, attempt).await.is_err() {
                cancelled += 1;
            }
            write_committed(db).await;
        }
        assert_eq!(cancelled, 40, "{}: every attempt was cut short", tdb.backend);
        assert_eq!((count(db, "cancelled").await, count(db, "committed").await), (0, 40), "{}", tdb.backend);
        tdb.cleanup().await;
    }
}

#[tokio::test]
async fn a_connection_the_server_killed_is_replaced_once_it_is_rechecked() {
    let Some(tdb) = TestDb::postgres_or_skip().await else {
        return;
    };
    let db = &tdb.db;
    let pid: i64 = query_scalar("SELECT pg_backend_pid()").fetch_one(&mut db.acquire().await.unwrap()).await.unwrap();
    let mut admin = sqlx::PgConnection::connect(&tdb.url).await.unwrap();
    let killed: bool =
        sqlx::query_scalar("SELECT pg_terminate_backend($1)").bind(pid as i32).fetch_one(&mut admin).await.unwrap();
    assert!(killed);
    admin.close().await.unwrap();
    tokio::time::sleep(storage::RECHECK + Duration::from_millis(100)).await;
    // The killed connection is the most recently returned, so it is the one
    // lent next: its check finds it dead and a new one is opened instead.
    let mut c = db.acquire().await.unwrap();
    let now: i64 = query_scalar("SELECT pg_backend_pid()").fetch_one(&mut c).await.unwrap();
    assert_ne!(now, pid);
    drop(c);
    tdb.cleanup().await;
}

/// On one machine certgate can reach PostgreSQL over its Unix socket (less
/// CPU than TCP with TLS): a URL naming the socket's directory works, with
/// the slashes of the directory as they are. Skipped, saying why, where the
/// server has no socket here or does not let the test's user in through it
/// (that is the server's configuration, not certgate's).
#[tokio::test]
async fn postgres_is_reachable_over_its_unix_socket() {
    let Some(tdb) = TestDb::postgres_or_skip().await else {
        return;
    };
    let mut admin = sqlx::PgConnection::connect(&tdb.url).await.unwrap();
    let (dirs, port): (String, String) =
        sqlx::query_as("SELECT current_setting('unix_socket_directories'), current_setting('port')")
            .fetch_one(&mut admin)
            .await
            .unwrap();
    admin.close().await.unwrap();
    let Some(dir) =
        dirs.split(',').map(str::trim).find(|d| std::path::Path::new(d).join(format!(".s.PGSQL.{port}")).exists())
    else {
        certgate_tests::skipping(&format!("PostgreSQL's socket ({dirs}) is not on this machine"));
        return tdb.cleanup().await;
    };
    // The test's own URL, user and password kept, through the socket instead.
    let sep = if tdb.url.contains('?') { '&' } else { '?' };
    let db = Db::connect(&format!("{}{sep}host={dir}&port={port}", tdb.url)).await.unwrap();
    let mut c = match db.acquire().await {
        Ok(c) => c,
        Err(e) => {
            certgate_tests::skipping(&format!("PostgreSQL refused the socket connection: {e}"));
            return tdb.cleanup().await;
        }
    };
    // No server address: the connection came over the socket.
    let over_socket: i64 =
        query_scalar("SELECT CASE WHEN inet_server_addr() IS NULL THEN 1 ELSE 0 END").fetch_one(&mut c).await.unwrap();
    assert_eq!(over_socket, 1);
    drop(c);
    db.close().await;
    tdb.cleanup().await;
}

/// A configured pool size bounds the connections a process opens (several
/// instances on one PostgreSQL share its `max_connections`), and so does the
/// backend's default: the next borrower waits until one comes back.
#[tokio::test]
async fn the_pool_lends_at_most_its_configured_or_default_size() {
    for tdb in TestDb::all().await {
        let b = tdb.backend;
        let default = match tdb.db.backend() {
            storage::Backend::Sqlite => storage::SQLITE_POOL_SIZE,
            storage::Backend::Postgres => storage::postgres_pool_size(),
        };
        for (configured, size) in [(NonZeroU32::new(2), 2), (None, default)] {
            let db = Db::connect_with(&tdb.url, configured).await.unwrap();
            let mut lent = Vec::new();
            for _ in 0..size {
                lent.push(db.acquire().await.unwrap());
            }
            let next = tokio::time::timeout(Duration::from_millis(300), db.acquire()).await;
            assert!(next.is_err(), "{b}: a connection beyond {size} was lent");
            lent.pop();
            let next = tokio::time::timeout(Duration::from_secs(5), db.acquire()).await;
            assert!(matches!(next, Ok(Ok(_))), "{b}: the connection given back was not lent again");
            drop((lent, next));
            db.close().await;
        }
        tdb.cleanup().await;
    }
}
