//! certgate's statement layer (`storage::sql`) on both backends: `$n`
//! placeholders bound by number whatever their order in the statement, typed
//! NULLs, narrow integers read as i64, the first row of many, every row of a
//! write that returns rows, and a clear error for a wrong number of
//! parameters.

use certgate_tests::TestDb;
use storage::sql::{FromRow, Row, query, query_as, query_scalar};

#[tokio::test]
async fn statements_bind_read_and_refuse_the_same_way_on_both_backends() {
    for tdb in TestDb::all().await {
        let b = tdb.backend;
        let mut c = tdb.db.acquire_writer().await.unwrap();
        // SQLite takes BYTEA as a type name and keeps blobs as blobs.
        c.batch("CREATE TABLE probe (n BIGINT NOT NULL, tag TEXT, data BYTEA)").await.unwrap();
        // $2 comes before $1 in the statement, and $1 is used twice.
        query("INSERT INTO probe (n, tag, data) VALUES ($2 + $1 + $1, $3, $4)")
            .bind(1_i64)
            .bind(40_i64)
            .bind("forty-two")
            .bind(vec![1_u8, 2, 3])
            .execute(&mut c)
            .await
            .unwrap();
        // Typed NULLs of each kind.
        query("INSERT INTO probe (n, tag, data) VALUES ($1, $2, $3)")
            .bind(7_i64)
            .bind(None::<&str>)
            .bind(None::<Vec<u8>>)
            .execute(&mut c)
            .await
            .unwrap();
        let rows: Vec<(i64, Option<String>, Option<Vec<u8>>)> =
            query_as("SELECT n, tag, data FROM probe ORDER BY n").fetch_all(&mut c).await.unwrap();
        assert_eq!(rows, [(7, None, None), (42, Some("forty-two".into()), Some(vec![1, 2, 3]))], "{b}");
        // A literal is a 4-byte integer on PostgreSQL; it reads as i64.
        let one: i64 = query_scalar("SELECT 1").fetch_one(&mut c).await.unwrap();
        assert_eq!(one, 1, "{b}");
        // The first row of many, and none.
        let first: Option<i64> =
            query_scalar("SELECT n FROM probe ORDER BY n DESC").fetch_optional(&mut c).await.unwrap();
        assert_eq!(first, Some(42), "{b}");
        let none: Option<i64> = query_scalar("SELECT n FROM probe WHERE n < 0").fetch_optional(&mut c).await.unwrap();
        assert_eq!(none, None, "{b}");
        assert!(matches!(
            query_scalar::<i64>("SELECT n FROM probe WHERE n < 0").fetch_one(&mut c).await,
            Err(storage::Error::RowNotFound)
        ));
        // A write that returns rows, read with fetch_optional, still writes
        // every row it matches (SQLite makes every change at the first step).
        let some: Option<i64> =
            query_scalar("UPDATE probe SET n = n + 100 RETURNING n").fetch_optional(&mut c).await.unwrap();
        assert!(some.is_some(), "{b}");
        let total: i64 = query_scalar("SELECT CAST(SUM(n) AS BIGINT) FROM probe").fetch_one(&mut c).await.unwrap();
        assert_eq!(total, 7 + 42 + 200, "{b}: both rows updated");
        // rows_affected counts what a write changed.
        let done = query("DELETE FROM probe WHERE n > $1").bind(0_i64).execute(&mut c).await.unwrap();
        assert_eq!(done.rows_affected(), 2, "{b}");
        let read = query("SELECT n FROM probe").execute(&mut c).await.unwrap();
        assert_eq!(read.rows_affected(), 0, "{b}: a read changes nothing, whatever the write before it did");
        // Too few parameters: an error, and nothing written.
        let short = query("INSERT INTO probe (n, tag) VALUES ($1, $2)").bind(1_i64).execute(&mut c).await;
        assert!(short.is_err(), "{b}: one parameter for two");
        let count: i64 = query_scalar("SELECT COUNT(*) FROM probe").fetch_one(&mut c).await.unwrap();
        assert_eq!(count, 0, "{b}");
        drop(c);
        tdb.cleanup().await;
    }
}

/// On SQLite, writers of one process take turns before they touch the file;
/// a debug build refuses a writing statement on a connection borrowed
/// without the turn (it would wait in SQLite's busy handler on a request
/// thread), and writes nothing.
#[tokio::test]
async fn a_debug_build_refuses_an_sqlite_write_without_the_write_turn() {
    let tdb = TestDb::sqlite().await;
    let mut writer = tdb.db.acquire_writer().await.unwrap();
    writer.batch("CREATE TABLE turn_probe (n BIGINT NOT NULL)").await.unwrap();
    drop(writer);
    let mut reader = tdb.db.acquire().await.unwrap();
    let refused = query("INSERT INTO turn_probe (n) VALUES (1)").execute(&mut reader).await;
    if cfg!(debug_assertions) {
        assert!(matches!(refused, Err(storage::Error::WriteWithoutTurn(_))), "{refused:?}");
    }
    let count: i64 = query_scalar("SELECT COUNT(*) FROM turn_probe").fetch_one(&mut reader).await.unwrap();
    assert_eq!(count, if cfg!(debug_assertions) { 0 } else { 1 });
    // Reads need no turn, and the same connection borrowed as a writer writes.
    drop(reader);
    let mut writer = tdb.db.acquire_writer().await.unwrap();
    query("INSERT INTO turn_probe (n) VALUES (2)").execute(&mut writer).await.unwrap();
    drop(writer);
    tdb.cleanup().await;
}

storage::row_struct! {
    /// A row type of the test, its fields in another order than some columns below.
    struct Probe {
        tag: String,
        n: i64,
        data: Option<Vec<u8>>,
    }
}

/// Two probes in one row, the second's columns renamed `p_…`.
struct Pair(Probe, Probe);

impl FromRow for Pair {
    fn from_row(row: &Row<'_>) -> storage::Result<Self> {
        Ok(Pair(Probe::from_row(row)?, Probe::from_row_prefixed(row, "p_")?))
    }
}

#[tokio::test]
async fn row_structs_read_columns_by_name_in_any_order_prefixed_or_not() {
    for tdb in TestDb::all().await {
        let b = tdb.backend;
        let mut c = tdb.db.acquire().await.unwrap();
        let read = |p: &Probe| (p.tag.clone(), p.n, p.data.clone());
        let in_order: Probe =
            query_as("SELECT 'a' AS tag, 1 AS n, CAST(NULL AS BYTEA) AS data").fetch_one(&mut c).await.unwrap();
        assert_eq!(read(&in_order), ("a".into(), 1, None), "{b}");
        // Another order, with columns that are not fields between them.
        let shuffled: Probe =
            query_as("SELECT CAST(NULL AS BYTEA) AS data, 2 AS n, 'x' AS other, 'b' AS tag, 'y' AS tags")
                .fetch_one(&mut c)
                .await
                .unwrap();
        assert_eq!(read(&shuffled), ("b".into(), 2, None), "{b}");
        // A prefixed copy after the plain one, and the plain one read after it.
        let Pair(plain, prefixed) = query_as(
            "SELECT 'p' AS p_tag, 4 AS p_n, CAST(NULL AS BYTEA) AS p_data, 'c' AS tag, 3 AS n, CAST(NULL AS BYTEA) AS data",
        )
        .fetch_one(&mut c)
        .await
        .unwrap();
        assert_eq!((read(&plain), read(&prefixed)), (("c".into(), 3, None), ("p".into(), 4, None)), "{b}");
        // A missing column is an error that names it.
        let missing = query_as::<Probe>("SELECT 'a' AS tag, 1 AS n").fetch_one(&mut c).await.map(|_| ()).unwrap_err();
        assert!(missing.to_string().contains("data"), "{b}: {missing}");
        drop(c);
        tdb.cleanup().await;
    }
}

/// Two columns of a field's name would be read by field order; a debug build
/// (the tests') refuses such a row instead.
#[cfg(debug_assertions)]
#[tokio::test]
#[should_panic(expected = "two columns named tag")]
async fn a_debug_build_refuses_a_row_naming_a_field_twice() {
    let tdb = TestDb::sqlite().await;
    let mut c = tdb.db.acquire().await.unwrap();
    let _ =
        query_as::<Probe>("SELECT 'a' AS tag, 1 AS n, CAST(NULL AS BYTEA) AS data, 'b' AS tag").fetch_one(&mut c).await;
}

/// Every table-row struct lists its fields in its table's column order on
/// both backends: `get_next` then reads a `SELECT *` row with one name
/// comparison a field, where a field out of order makes it search the row.
#[tokio::test]
async fn table_row_structs_list_their_columns_in_table_order() {
    use storage::{
        accounts::AccountRow, acme_accounts::AcmeAccountRow, acme_orders::AcmeAuthzRow, acme_orders::AcmeOrderRow,
        acme_urls::AcmeUrlRow, audit::AuditRow, ca_keys::CaKeyRow, certificates::CertificateRow, jobs::JobRow,
        ledger::LedgerRow, orders::OrderRow, organisations::OrganisationRow, prevalidations::PrevalidationRow,
        products::ProductRow, upstream_accounts::UpstreamAccountRow, users::UserRow,
    };
    let tables: [(&str, &[&str]); 16] = [
        ("accounts", AccountRow::COLUMNS),
        ("acme_accounts", AcmeAccountRow::COLUMNS),
        ("acme_orders", AcmeOrderRow::COLUMNS),
        ("acme_authzs", AcmeAuthzRow::COLUMNS),
        ("acme_urls", AcmeUrlRow::COLUMNS),
        ("audit_log", AuditRow::COLUMNS),
        ("ca_keys", CaKeyRow::COLUMNS),
        ("certificates", CertificateRow::COLUMNS),
        ("jobs", JobRow::COLUMNS),
        ("ledger", LedgerRow::COLUMNS),
        ("orders", OrderRow::COLUMNS),
        ("organisations", OrganisationRow::COLUMNS),
        ("prevalidations", PrevalidationRow::COLUMNS),
        ("products", ProductRow::COLUMNS),
        ("upstream_accounts", UpstreamAccountRow::COLUMNS),
        ("users", UserRow::COLUMNS),
    ];
    for tdb in TestDb::all().await {
        let b = tdb.backend;
        let mut c = tdb.db.acquire().await.unwrap();
        for (table, fields) in tables {
            let sql = if tdb.pg_name().is_some() {
                "SELECT CAST(column_name AS TEXT) FROM information_schema.columns
                 WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position"
            } else {
                "SELECT name FROM pragma_table_info($1) ORDER BY cid"
            };
            let columns: Vec<String> = query_scalar(sql).bind(table).fetch_all(&mut c).await.unwrap();
            assert_eq!(columns, fields, "{b}: the row struct of {table} against the table's columns");
        }
        drop(c);
        tdb.cleanup().await;
    }
}
