//! SQLite's WAL is copied back into the database file by a thread of its
//! own, not by the commits of requests, and that thread ends with its pool,
//! closed or dropped. This binary holds one test: it counts the process's
//! checkpoint threads.

use std::time::Instant;

use certgate_tests::TestDb;
use storage::Db;
use storage::checkpoint::{PERIOD, REQUEST_CHECKPOINT_PAGES};

fn checkpoint_threads() -> usize {
    certgate_tests::threads_named(std::process::id(), "wal-checkpoint")
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < PERIOD * 25, "{what}: not within {:?}", PERIOD * 25);
        tokio::time::sleep(PERIOD / 4).await;
    }
}

#[tokio::test]
async fn a_thread_checkpoints_the_wal_and_ends_with_the_pool() {
    let test_db = TestDb::sqlite().await;
    let (db, file) = (&test_db.db, test_db.sqlite_file().expect("an SQLite file"));
    // A thread is named from inside itself, so it may take a moment.
    wait_for("one checkpoint thread per SQLite pool", || checkpoint_threads() == 1).await;

    let autocheckpoint: i64 = storage::sql::query_scalar("PRAGMA wal_autocheckpoint")
        .fetch_one(&mut db.acquire().await.expect("conn"))
        .await
        .expect("pragma");
    assert_eq!(autocheckpoint, i64::from(REQUEST_CHECKPOINT_PAGES), "requests checkpoint only as a safety net");

    // About 600 pages in 200 commits (each row's leaf and overflow pages, the
    // root, the header page): fewer than SQLite's default of 1,000 pages, so
    // without the thread they would all stay in the WAL.
    certgate_tests::execute(db, "CREATE TABLE blobs (b BLOB NOT NULL)").await;
    for _ in 0..200 {
        certgate_tests::execute(db, "INSERT INTO blobs (b) VALUES (randomblob(4000))").await;
    }
    let written = 200 * 4000;
    wait_for("the rows reach the database file", || std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0) >= written)
        .await;

    db.close().await;
    assert_eq!(checkpoint_threads(), 0, "closing the pool waits for its checkpoint thread");
    let wal = format!("{}-wal", file.display());
    assert!(!std::path::Path::new(&wal).exists(), "the last connection closed removed the WAL");

    let dropped = Db::connect(&test_db.url).await.expect("sqlite");
    wait_for("a new pool's checkpoint thread", || checkpoint_threads() == 1).await;
    drop(dropped);
    wait_for("the checkpoint thread ends with its dropped pool", || checkpoint_threads() == 0).await;
}
