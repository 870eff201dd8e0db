//! The order core with a million orders in the database: the list filters
//! of `order.list`, `changementCommandes` over one day, `domain.list`, and
//! one order placed (the conditional token debit), each timed through
//! `orders::Orders`.

use std::time::{Duration, Instant};

use certgate_tests::{Fixture, Key, csr};
use orders::{Formula, OrderFilter};
use storage::sql::{query, query_built};

use crate::stats::{Samples, ms};

/// Seconds between two made-up orders: a million orders over about a year.
const SPACING: i64 = 31;
/// Orders written per statement.
const BATCH: i64 = 1_000;

/// The rows, all of the bench account (the worst case for its filters):
/// product `dv1` for one order in 7, else `ssl1`; `cancelled` one in 100,
/// `processing` one in 1000, `failed` one in 100,000 (ten rows), else
/// `delivered`. `created_at` is spread over the past year, one order every
/// 31 s, and `updated_at` is a minute later. The CSR column holds a short
/// placeholder: a real one (about 1 kB) makes the tables larger, so full
/// scans would be slower than measured here, index lookups not. One
/// statement writes rows `$5` to `$6` of `$3`.
fn insert_sql(postgres: bool) -> String {
    let source = if postgres { "generate_series($5::BIGINT, $6::BIGINT) AS g(n)" } else { "seq" };
    let prefix = if postgres {
        String::new()
    } else {
        "WITH RECURSIVE seq(n) AS (SELECT $5 UNION ALL SELECT n + 1 FROM seq WHERE n < $6) ".to_string()
    };
    format!(
        "{prefix}INSERT INTO orders (reference, account_id, organisation_id, product_code, kind, cn, sans, csr_pem,
            source, client_ref, created_by, payment, price, currency, status, upstream, created_at, updated_at)
         SELECT 'S' || n, $1, $2, CASE WHEN n % 7 = 0 THEN 'dv1' ELSE 'ssl1' END, 'new',
            'h' || n || '.example.test', '', '-----BEGIN CERTIFICATE REQUEST-----',
            CASE n % 3 WHEN 0 THEN 'acme' WHEN 1 THEN 'xmlrpc' ELSE 'cli' END, 'ref' || n, 'bench', 'tokens',
            10000, 'EUR',
            CASE WHEN n % 100000 = 3 THEN 'failed' WHEN n % 1000 = 1 THEN 'processing'
                 WHEN n % 100 = 0 THEN 'cancelled' ELSE 'delivered' END,
            'embedded', $4 - ($3 - n) * {SPACING}, $4 - ($3 - n) * {SPACING} + 60
         FROM {source}"
    )
}

/// One timed call, repeated.
struct Timed {
    what: String,
    rows: usize,
    samples: Samples,
}

async fn time<F, Fut>(what: &str, runs: usize, mut f: F) -> Timed
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = usize>,
{
    let mut v = Vec::new();
    let mut rows = 0;
    for _ in 0..runs {
        let s = Instant::now();
        rows = f().await;
        v.push(s.elapsed());
    }
    Timed { what: what.to_string(), rows, samples: Samples::new(v) }
}

/// Fills a fresh database of `backend` with `n` orders and times the calls.
/// `postgres` is an admin URL; without it, SQLite.
/// `without_new_indexes` drops the indexes of migration 0005 first, to show
/// what they change.
pub async fn run(n: i64, postgres: Option<String>, runs: usize, without_new_indexes: bool) {
    let tdb = crate::bench_db(postgres).await;
    let pg = tdb.backend == "postgres";
    let f = Fixture::new(&tdb, Formula::Bulk).await;
    f.orders.credit_tokens(&f.op, "ssl1", 1000, "bench").await.expect("tokens");
    let now = f.orders.now();

    let t = Instant::now();
    {
        let mut c = tdb.db.acquire_writer().await.expect("connection");
        // In batches, as orders come in many transactions: the consumption
        // trigger (migration 0020) updates a month's row once per order, and
        // PostgreSQL walks every version one transaction made of a row, so a
        // single statement of a million orders takes quadratic time.
        for first in (1..=n).step_by(BATCH as usize) {
            query_built(insert_sql(pg))
                .bind(f.account)
                .bind(f.org)
                .bind(n)
                .bind(now - 3600)
                .bind(first)
                .bind((first + BATCH - 1).min(n))
                .execute(&mut c)
                .await
                .expect("bulk insert");
        }
        if without_new_indexes {
            for index in ["orders_account_status", "orders_account_client_ref", "orders_account_id"] {
                query_built(format!("DROP INDEX {index}")).execute(&mut c).await.expect("drop index");
            }
        }
        if pg {
            // Autovacuum would analyze a table that grew this much within a minute.
            query("ANALYZE orders").execute(&mut c).await.expect("analyze");
        }
    }
    println!(
        "backend: {}  {n} orders inserted in {:.1} s  (load {})",
        tdb.backend,
        t.elapsed().as_secs_f64(),
        crate::procstat::loadavg()
    );

    let list = |filter: OrderFilter| {
        let (orders, op) = (f.orders.clone(), f.op.clone());
        move || {
            let (orders, op, filter) = (orders.clone(), op.clone(), filter.clone());
            async move { orders.list_orders(&op, &filter).await.expect("list").len() }
        }
    };
    let day = 86_400;
    let old = now - 200 * day;
    let filter = |status: &str, product: &str, client_ref: &str, from: i64, to: i64, limit: i64| OrderFilter {
        status: orders::Status::parse(status),
        product_code: product.into(),
        client_ref: client_ref.into(),
        updated_from: from,
        updated_to: to,
        limit,
        ..Default::default()
    };
    let calls = [
        ("order.list, newest 50", filter("", "", "", 0, 0, 50)),
        ("order.list statut=delivered produit=ssl1", filter("delivered", "ssl1", "", 0, 0, 50)),
        ("order.list statut=cancelled produit=dv1 (1 in 700)", filter("cancelled", "dv1", "", 0, 0, 50)),
        ("order.list statut=failed (10 rows)", filter("failed", "", "", 0, 0, 50)),
        ("order.list depuis/jusqua one day 200 days ago", filter("", "", "", old, old + day, 50)),
        ("order.list refClient=ref123457", filter("", "", "ref123457", 0, 0, 50)),
        // changementCommandes asks the order core for up to 10,000 orders.
        ("changementCommandes, one day 200 days ago", filter("", "", "", old, old + day, 10_000)),
        ("changementCommandes, the last day", filter("", "", "", now - day, now, 10_000)),
    ];
    let mut results = Vec::new();
    for (what, q) in calls {
        results.push(time(what, runs, list(q)).await);
    }
    // The domain inventory finds each domain's orders among the account's
    // 10,000 newest (orders::LINKED_ORDERS_SCANNED): one bounded read.
    results.push(
        time("domain.list (the fixture's domain, 10,000 newest orders read)", runs, || {
            let (orders, op) = (f.orders.clone(), f.op.clone());
            async move { orders.domains(&op, 0).await.expect("domains").0.len() }
        })
        .await,
    );
    let csrs: Vec<String> = (0..runs).map(|i| csr(&[&format!("p{i}.example.test")], Key::P256)).collect();
    let mut i = 0;
    results.push(
        time("place one order (token debit)", runs, || {
            let req = f.ssl1_order(csrs[i % csrs.len()].clone());
            i += 1;
            let (orders, op) = (f.orders.clone(), f.op.clone());
            async move {
                orders.place(&op, &req).await.expect("place");
                1
            }
        })
        .await,
    );
    // The same filters as plain conjunctions, as a query built from the
    // filters present would write them: what the order core's catch-all
    // `($2 = '' OR status = $2)` form costs where the planner cannot see
    // through it (SQLite always; PostgreSQL when it picks a generic plan).
    let by_account = "SELECT * FROM orders WHERE account_id = $1";
    let direct_calls = [
        ("direct SQL: account and status=failed", "AND status = $2 ORDER BY id DESC LIMIT 50", None, Some("failed")),
        ("direct SQL: account and refClient", "AND client_ref = $2 ORDER BY id DESC LIMIT 50", None, Some("ref123457")),
        (
            "direct SQL: account and one day 200 days ago (changementCommandes)",
            "AND updated_at >= $2 AND updated_at <= $3 ORDER BY id DESC LIMIT 10000",
            Some(old),
            None,
        ),
    ];
    for (what, rest, from, text) in direct_calls {
        let (db, account) = (tdb.db.clone(), f.account);
        let sql = format!("{by_account} {rest}");
        let call = move || {
            let (db, sql) = (db.clone(), sql.clone());
            async move {
                let mut conn = db.acquire().await.expect("connection");
                let q = query_built(sql).read_as::<(i64,)>().bind(account);
                let q = match (from, text) {
                    (Some(from), _) => q.bind(from).bind(from + day),
                    (None, text) => q.bind(text.unwrap_or_default()),
                };
                q.fetch_all(&mut conn).await.expect("direct query").len()
            }
        };
        results.push(time(what, runs, call).await);
    }
    println!("| call | rows | p50 | max | under 50 ms |");
    println!("|---|---|---|---|---|");
    for r in &results {
        let ok = if r.samples.max() < Duration::from_millis(50) { "yes" } else { "**no**" };
        println!("| {} | {} | {} | {} | {ok} |", r.what, r.rows, ms(r.samples.p(0.5)), ms(r.samples.max()));
    }
    portal(&tdb, &f, (now, n), runs).await;
    tdb.cleanup().await;
}

/// The customer area's orders page and statement over the same million
/// orders, each with its token debit in the ledger: whole HTTP requests to
/// the portal (session check, queries, rendering), timed at p99.
async fn portal(tdb: &certgate_tests::TestDb, f: &Fixture, (now, n): (i64, i64), runs: usize) {
    let t = Instant::now();
    {
        let mut c = tdb.db.acquire_writer().await.expect("connection");
        query_built(
            "INSERT INTO ledger (account_id, order_id, reason, asset, item, amount, balance, author, note, created_at)
             SELECT account_id, id, 'order', 'token', 'ssl1', -1, 1000000000 - id, 'bench', '', created_at
             FROM orders WHERE account_id = $1 AND reference LIKE 'S%'"
                .to_string(),
        )
        .bind(f.account)
        .execute(&mut c)
        .await
        .expect("ledger rows");
        if tdb.backend == "postgres" {
            query("ANALYZE ledger").execute(&mut c).await.expect("analyze");
        } else {
            // The bulk insert left the whole ledger in the WAL; certgate's
            // checkpointer folds it back in, as it would over a year of orders.
            query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&mut c).await.expect("checkpoint");
        }
    }
    println!("\nledger: one debit per order written in {:.1} s", t.elapsed().as_secs_f64());
    f.orders.create_user(&f.op, "bench-web", "a long password", orders::Rights::all()).await.expect("user");
    let base = certgate_tests::serve_router(portal::Portal::new(f.orders.clone(), None).router()).await;
    let signed = certgate_tests::portal::sign_in(&base, "bench-web", "a long password").await;
    let cookie = signed.cookie("certgate_session").expect("a session").0;
    let day = |t: i64| orders::iso(t)[..10].to_string();
    let old = day(now - 200 * 86_400);
    let pages = [
        ("orders page, newest 50".to_string(), "/portal/orders".to_string()),
        ("orders page, status=failed (10 rows)".into(), "/portal/orders?status=failed".into()),
        ("orders page, name prefix h12345".into(), "/portal/orders?cn=h12345".into()),
        ("orders page, your reference".into(), "/portal/orders?client_ref=ref123457".into()),
        (
            "orders page, placed one day 200 days ago".into(),
            format!("/portal/orders?placed_from={old}&placed_to={old}"),
        ),
        ("orders page, page 200 (the deepest)".into(), "/portal/orders?page=200".into()),
        (format!("order page S{}", n / 2), format!("/portal/orders/S{}", n / 2)),
        ("account page: this month's statement".into(), "/portal/account".into()),
        ("account page: statement of one day 200 days ago".into(), format!("/portal/account?from={old}&to={old}")),
        ("consumption page: 12 months of monthly sums".into(), "/portal/account/consumption".into()),
    ];
    println!("| page | p50 | p99 | max | p99 under 100 ms |");
    println!("|---|---|---|---|---|");
    for (what, path) in pages {
        let t = time(&what, runs, || async {
            let a = certgate_tests::portal::send(&base, "GET", &path, &[("certgate_session", &cookie)], None).await;
            assert_eq!(a.status, 200, "{path}: {}", a.body);
            1
        })
        .await;
        let s = &t.samples;
        let ok = if s.p(0.99) < Duration::from_millis(100) { "yes" } else { "**no**" };
        println!("| {} | {} | {} | {} | {ok} |", t.what, ms(s.p(0.5)), ms(s.p(0.99)), ms(s.max()));
    }
}
