//! The ledger writes a movement of an order once: a retried refund or charge
//! is a duplicate that leaves the balance and the ledger as they were, also
//! when two transactions race on PostgreSQL. On both backends.

use certgate_tests::{Fixture, Key, TestDb, csr};
use orders::Formula;
use storage::ledger::{self, Applied, Movement};

fn movement(account_id: i64, order_id: i64, reason: &'static str, amount: i64) -> Movement<'static> {
    Movement {
        account_id,
        order_id: Some(order_id),
        reason,
        asset: "token",
        item: "ssl1",
        amount,
        author: "test",
        note: "",
    }
}

#[tokio::test]
async fn a_movement_of_an_order_is_written_once() {
    for tdb in TestDb::all().await {
        let b = tdb.backend;
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        f.orders.credit_tokens(&f.op, "ssl1", 1, "").await.unwrap();
        let order = f.orders.place(&f.op, &f.ssl1_order(csr(&["www.example.test"], Key::P256))).await.unwrap().order;
        let db = &f.db;
        let balance = async || ledger::balance(&mut db.acquire().await.unwrap(), f.account, "token", "ssl1").await;
        let rows = async || ledger::for_order(&mut db.acquire().await.unwrap(), order.id).await.unwrap().len();
        assert_eq!((balance().await.unwrap(), rows().await), (0, 1), "{b}: charged once");

        let apply = async |m: &Movement<'_>, floor| {
            let mut tx = db.begin().await.unwrap();
            let applied = ledger::apply(&mut tx, m, floor, f.orders.now()).await.unwrap();
            storage::commit(tx).await.unwrap();
            applied
        };
        // The charge again, with nothing left to debit: a duplicate, not a refusal.
        assert_eq!(apply(&movement(f.account, order.id, "order", -1), Some(0)).await, Applied::Duplicate, "{b}");

        let refund = movement(f.account, order.id, "refund", 1);
        assert_eq!(apply(&refund, None).await, Applied::Done(1), "{b}");
        // A retry changes nothing, not even the time of the balance's last
        // movement (set far back here, as `now` would not tell within a second);
        // nor does the charge again, with a token to debit this time.
        certgate_tests::execute(db, "UPDATE balances SET updated_at = 1").await;
        assert_eq!(apply(&refund, None).await, Applied::Duplicate, "{b}");
        assert_eq!(apply(&movement(f.account, order.id, "order", -1), Some(0)).await, Applied::Duplicate, "{b}");
        let held = ledger::balances(&mut db.acquire().await.unwrap(), f.account, "token").await.unwrap();
        let ssl1 = held.iter().find(|r| r.item == "ssl1").unwrap();
        assert_eq!((ssl1.amount, ssl1.updated_at), (1, 1), "{b}: untouched");
        assert_eq!((balance().await.unwrap(), rows().await), (1, 2), "{b}: refunded once");
        let sum = ledger::sum(&mut db.acquire().await.unwrap(), f.account, "token", "ssl1").await.unwrap();
        assert_eq!(sum, 1, "{b}: the balance is the ledger's sum");
        tdb.cleanup().await;
    }
}

/// Two transactions refund the same order at once: the second waits for the
/// first's lock on the balance, then finds the refund written and moves nothing.
#[tokio::test]
async fn racing_refunds_of_one_order_move_the_balance_once_on_postgres() {
    let Some(tdb) = TestDb::postgres_or_skip().await else {
        return;
    };
    let f = Fixture::new(&tdb, Formula::Bulk).await;
    f.orders.credit_tokens(&f.op, "ssl1", 1, "").await.unwrap();
    let order = f.orders.place(&f.op, &f.ssl1_order(csr(&["www.example.test"], Key::P256))).await.unwrap().order;
    let db = f.db.clone();
    let refund = movement(f.account, order.id, "refund", 1);
    let mut first = db.begin().await.unwrap();
    assert_eq!(ledger::apply(&mut first, &refund, None, f.orders.now()).await.unwrap(), Applied::Done(1));
    let second = tokio::spawn({
        let db = db.clone();
        let refund = refund.clone();
        async move {
            let mut tx = db.begin().await.unwrap();
            let applied = ledger::apply(&mut tx, &refund, None, f.orders.now()).await.unwrap();
            storage::commit(tx).await.unwrap();
            applied
        }
    });
    // The second is blocked on the balance row until the first commits.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(!second.is_finished());
    storage::commit(first).await.unwrap();
    assert_eq!(second.await.unwrap(), Applied::Duplicate);
    let mut c = db.acquire().await.unwrap();
    assert_eq!(ledger::balance(&mut c, f.account, "token", "ssl1").await.unwrap(), 1);
    assert_eq!(ledger::sum(&mut c, f.account, "token", "ssl1").await.unwrap(), 1);
    drop(c);
    tdb.cleanup().await;
}
