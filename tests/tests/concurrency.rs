//! Money under concurrency: N parallel orders against a balance worth K
//! orders succeed exactly K times, on SQLite and on PostgreSQL, and the
//! ledger sums to the balance.

use certgate_tests::{Fixture, Key, TestDb, csr};
use orders::{Formula, Ledger, OrderError, Orders, PlaceOrder};

const PARALLEL: usize = 50;
const AFFORDABLE: i64 = 20;

async fn race(orders: &Orders, op: &orders::Caller, org: i64) -> (usize, Vec<OrderError>) {
    let csr_pem = csr(&["www.example.test"], Key::P256);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..PARALLEL {
        let (orders, op) = (orders.clone(), op.clone());
        // Fifty distinct orders: identical requests would be one order, retried.
        let req = PlaceOrder {
            organisation_id: org,
            product_code: "ssl1".into(),
            csr: csr_pem.clone().into_bytes(),
            client_ref: Some(format!("race-{i}")),
            ..Default::default()
        };
        tasks.spawn(async move { orders.place(&op, &req).await });
    }
    let (mut ok, mut refused) = (0, Vec::new());
    while let Some(r) = tasks.join_next().await {
        match r.expect("task") {
            Ok(_) => ok += 1,
            Err(e) => refused.push(e),
        }
    }
    (ok, refused)
}

async fn ledger_sum(db: &storage::Db, account: i64, asset: &str, item: &str) -> i64 {
    storage::ledger::sum(&mut db.acquire().await.unwrap(), account, asset, item).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_orders_against_twenty_tokens_succeed_twenty_times() {
    for tdb in TestDb::all().await {
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        f.orders.credit_tokens(&f.op, "ssl1", AFFORDABLE, "").await.unwrap();
        let (ok, refused) = race(&f.orders, &f.op, f.org).await;
        assert_eq!(ok as i64, AFFORDABLE, "{}", tdb.backend);
        assert_eq!(refused.len(), PARALLEL - AFFORDABLE as usize);
        for e in &refused {
            assert!(matches!(e, OrderError::InsufficientTokens { needed: 1, available: 0, .. }), "{e:?}");
        }
        assert_eq!(f.orders.balance(&f.op, Ledger::Tokens, Some("ssl1")).await.unwrap(), 0);
        assert_eq!(ledger_sum(&f.db, f.account, "token", "ssl1").await, 0, "top-up minus 20 debits");
        let lines = f.orders.statement(&f.op, Ledger::Tokens, 0, i64::MAX).await.unwrap();
        assert_eq!(lines.iter().filter(|l| l.reason == "order").count() as i64, AFFORDABLE);
        certgate_tests::assert_ledger_matches_orders(&f.db).await;
        tdb.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_orders_against_a_deposit_worth_twenty_succeed_twenty_times() {
    for tdb in TestDb::all().await {
        let f = Fixture::new(&tdb, Formula::Deposit).await;
        f.orders.credit_deposit(&f.op, AFFORDABLE * 100_00, "").await.unwrap();
        let (ok, refused) = race(&f.orders, &f.op, f.org).await;
        assert_eq!(ok as i64, AFFORDABLE, "{}", tdb.backend);
        assert_eq!(refused.len(), PARALLEL - AFFORDABLE as usize);
        for e in &refused {
            assert!(matches!(e, OrderError::InsufficientDeposit { needed: 100_00, balance: 0, .. }), "{e:?}");
        }
        assert_eq!(f.orders.balance(&f.op, Ledger::Deposit, None).await.unwrap(), 0);
        assert_eq!(ledger_sum(&f.db, f.account, "deposit", "EUR").await, 0);
        // The running balance of the statement ends at zero and never dips below.
        let lines = f.orders.statement(&f.op, Ledger::Deposit, 0, i64::MAX).await.unwrap();
        assert!(lines.iter().all(|l| l.balance >= 0));
        assert_eq!(lines.last().unwrap().balance, 0);
        certgate_tests::assert_ledger_matches_orders(&f.db).await;
        tdb.cleanup().await;
    }
}
