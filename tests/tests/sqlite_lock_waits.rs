//! SQLite runs on the request's own runtime thread. When another process
//! (a CLI command, say) holds the file's write lock, a writer of `serve`
//! waits for it; it must not hold up the other requests of its thread
//! meanwhile. Each case runs on one runtime worker, where a blocked worker
//! would run nothing else until the lock is given up.

use std::time::{Duration, Instant};

use certgate_tests::TestDb;

/// How long the other connection holds the lock.
const HELD: Duration = Duration::from_millis(400);

/// Holds `file`'s write lock from another connection for [`HELD`], with a
/// row of its own in the table.
fn hold_the_lock(file: &std::path::Path) -> std::thread::JoinHandle<()> {
    let other = rusqlite::Connection::open(file).expect("open");
    other.execute_batch("BEGIN IMMEDIATE; INSERT INTO t (n) VALUES (0)").expect("lock");
    std::thread::spawn(move || {
        std::thread::sleep(HELD);
        other.execute_batch("COMMIT").expect("commit");
    })
}

/// Spawns `write` once another connection holds the lock, and checks that a
/// task spawned while it waits runs before it ends.
async fn other_tasks_run_while(
    file: &std::path::Path,
    what: &str,
    write: impl std::future::Future<Output = ()> + Send + 'static,
) {
    let start = Instant::now();
    let holder = hold_the_lock(file);
    let write = tokio::spawn(write);
    // By now the write waits on the worker.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let other_ran = tokio::spawn(async { Instant::now() }).await.expect("other task");
    write.await.expect(what);
    let written = Instant::now();
    holder.join().expect("holder");
    assert!(
        written - start >= HELD - Duration::from_millis(100),
        "{what}: waited for the lock ({:?})",
        written - start
    );
    assert!(other_ran + Duration::from_millis(100) < written, "{what}: another task ran only as the write ended");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_writer_waiting_for_another_process_lock_lets_its_thread_run_other_tasks() {
    let test_db = TestDb::sqlite().await;
    let (db, file) = (&test_db.db, test_db.sqlite_file().expect("an SQLite file"));
    certgate_tests::execute(db, "CREATE TABLE t (n INTEGER NOT NULL)").await;

    let writer = db.clone();
    let autocommit = async move { certgate_tests::execute(&writer, "INSERT INTO t (n) VALUES (1)").await };
    other_tasks_run_while(&file, "an autocommit write", autocommit).await;

    let writer = db.clone();
    let transaction = async move {
        let mut tx = writer.begin().await.expect("begin");
        storage::sql::query("INSERT INTO t (n) VALUES (2)").execute(&mut tx).await.expect("insert");
        storage::commit(tx).await.expect("commit");
    };
    other_tasks_run_while(&file, "a transaction", transaction).await;

    let rows: Vec<i64> = storage::sql::query_scalar("SELECT n FROM t ORDER BY rowid")
        .fetch_all(&mut db.acquire().await.expect("conn"))
        .await
        .expect("rows");
    assert_eq!(rows, [0, 1, 0, 2], "every write is in, each after the other connection's");
    test_db.cleanup().await;
}
