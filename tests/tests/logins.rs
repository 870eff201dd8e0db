//! The guards around logins, on every backend: parallel wrong passwords
//! cannot check more than the lockout allows, even across two instances;
//! unknown and known logins answer alike; failed logins throttle their
//! address; password checks beyond the bound are refused at once.

use certgate_tests::{Fixture, TestDb, order_core, race};
use orders::{Formula, OrderError, Rights, Settings, Source, Worker};
use storage::Db;

/// Wrong passwords of `login` that were checked: each leaves one
/// `login.failed` audit entry, and a refusal unchecked leaves none.
async fn wrong_checked(db: &Db, login: &str) -> usize {
    let audit = storage::audit::list(&mut db.acquire().await.unwrap(), None, 10_000).await.unwrap();
    audit.iter().filter(|a| a.action == "login.failed" && a.actor == login).count()
}

/// 60 parallel logins, 59 with a wrong password and one with the right one,
/// spread over two instances (two pools on one database): at most 5 wrong
/// passwords are checked, then the login is locked, and the right password
/// sent after them is refused. Should the right one be checked before the
/// fifth failure, it starts a new row, as it would one at a time, and at
/// most 5 more are checked after it.
#[tokio::test]
async fn parallel_wrong_passwords_check_no_more_than_the_lockout_allows() {
    for tdb in TestDb::all().await {
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        f.orders.create_user(&f.op, "api", "correct horse", Rights::all()).await.unwrap();
        let second = order_core(&Db::connect(&tdb.url).await.unwrap(), Settings::default()).await;
        let instances = [f.orders.clone(), second.clone()];
        let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let outcomes = race(60, || {
            let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let orders = instances[n % 2].clone();
            async move {
                let password = if n == 30 { "correct horse" } else { "wrong horse" };
                (n == 30, orders.authenticate("api", password, "192.0.2.1", Source::Xmlrpc).await)
            }
        })
        .await;
        let right_got_in = outcomes.iter().any(|(right, r)| *right && r.is_ok());
        assert!(outcomes.iter().all(|(right, r)| *right || r.is_err()), "a wrong password got in");
        let checked = wrong_checked(&f.db, "api").await;
        eprintln!("{}: {checked} wrong passwords checked; the right one got in: {right_got_in}", tdb.backend);
        assert!(checked <= if right_got_in { 10 } else { 5 }, "{checked} wrong passwords were checked");
        assert!(checked >= 5, "the login should have locked");
        for orders in &instances {
            let after = orders.authenticate("api", "correct horse", "192.0.2.1", Source::Xmlrpc).await;
            assert!(matches!(after, Err(OrderError::Locked(_))), "{}: {after:?}", tdb.backend);
        }
        second.close().await;
        tdb.cleanup().await;
    }
}

/// 60 parallel wrong passwords and no right one: exactly 5 are checked.
#[tokio::test]
async fn an_attacker_gets_five_checks_however_many_run_at_once() {
    for tdb in TestDb::all().await {
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        f.orders.create_user(&f.op, "api", "correct horse", Rights::all()).await.unwrap();
        let orders = f.orders.clone();
        let outcomes = race(60, || {
            let o = orders.clone();
            async move { o.authenticate("api", "guess", "192.0.2.7", Source::Xmlrpc).await }
        })
        .await;
        assert!(outcomes.iter().all(Result::is_err));
        assert_eq!(wrong_checked(&f.db, "api").await, 5, "{}", tdb.backend);
        let after = f.orders.authenticate("api", "correct horse", "192.0.2.1", Source::Xmlrpc).await;
        assert!(matches!(after, Err(OrderError::Locked(_))), "{after:?}");
        tdb.cleanup().await;
    }
}

/// An unknown login is counted and locked like a known one, so that the
/// answers after five failures cannot tell which logins exist.
#[tokio::test]
async fn unknown_and_known_logins_lock_alike() {
    for tdb in TestDb::all().await {
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        f.orders.create_user(&f.op, "api", "correct horse", Rights::all()).await.unwrap();
        let answers = |login: &'static str| {
            let orders = f.orders.clone();
            async move {
                let mut out = Vec::new();
                for _ in 0..7 {
                    let e = orders.authenticate(login, "wrong", "192.0.2.9", Source::Xmlrpc).await.unwrap_err();
                    out.push(e.to_string().replace(login, "LOGIN"));
                }
                out
            }
        };
        let (known, unknown) = (answers("api").await, answers("ghost").await);
        assert_eq!(known, unknown, "{}", tdb.backend);
        assert!(known[4].contains("login failed") && known[5].contains("locked"), "{known:?}");
        // The operator unlocks either name the same way.
        f.orders.unlock_user("api").await.unwrap();
        f.orders.unlock_user("ghost").await.unwrap();
        f.orders.authenticate("api", "correct horse", "192.0.2.1", Source::Xmlrpc).await.unwrap();
        assert!(f.orders.unlock_user("never-seen").await.is_err());
        tdb.cleanup().await;
    }
}

/// Past the failed logins allowed per address, a login from that address
/// is refused without a check (no audit entry, no failure counted against
/// the name), while other addresses are still checked.
#[tokio::test]
async fn failed_logins_throttle_their_address_across_instances() {
    for tdb in TestDb::all().await {
        let settings = Settings { failed_logins_per_ip: 3, ..Settings::default() };
        let f = Fixture::with_settings(&tdb, Formula::Bulk, settings.clone()).await;
        f.orders.create_user(&f.op, "api", "correct horse", Rights::all()).await.unwrap();
        let second = order_core(&Db::connect(&tdb.url).await.unwrap(), settings).await;
        for (i, login) in ["a", "b", "c"].iter().enumerate() {
            let orders = if i % 2 == 0 { &f.orders } else { &second };
            let e = orders.authenticate(login, "wrong", "198.51.100.1", Source::Xmlrpc).await.unwrap_err();
            assert!(matches!(e, OrderError::BadCredentials), "{e:?}");
        }
        for orders in [&f.orders, &second] {
            let e = orders.authenticate("api", "correct horse", "198.51.100.1", Source::Xmlrpc).await.unwrap_err();
            assert!(matches!(e, OrderError::Throttled(s) if s > 0 && s <= 300), "{e:?}");
        }
        assert_eq!(wrong_checked(&f.db, "api").await, 0, "a throttled login is not checked");
        // Another address is still checked.
        f.orders.authenticate("api", "correct horse", "198.51.100.2", Source::Xmlrpc).await.unwrap();
        // The window passes.
        f.orders.set_clock_offset(301);
        f.orders.authenticate("api", "correct horse", "198.51.100.1", Source::Xmlrpc).await.unwrap();
        second.close().await;
        tdb.cleanup().await;
    }
}

/// With one check at a time and no wait, a login that cannot start its
/// check at once is refused as busy, and nothing is counted against it.
#[tokio::test]
async fn a_login_that_cannot_get_a_check_in_time_is_refused_as_busy() {
    let tdb = TestDb::sqlite().await;
    let settings = Settings { password_checks: 1, password_check_wait_ms: 0, ..Settings::default() };
    let f = Fixture::with_settings(&tdb, Formula::Bulk, settings).await;
    f.orders.create_user(&f.op, "api", "correct horse", Rights::all()).await.unwrap();
    let orders = f.orders.clone();
    let outcomes = race(8, || {
        let o = orders.clone();
        async move { o.authenticate("nobody", "wrong", "192.0.2.3", Source::Xmlrpc).await }
    })
    .await;
    let busy = outcomes.iter().filter(|r| matches!(r, Err(OrderError::Busy))).count();
    let checked = outcomes.iter().filter(|r| matches!(r, Err(OrderError::BadCredentials))).count();
    assert!(busy >= 1 && checked >= 1 && busy + checked == 8, "{outcomes:?}");
    assert_eq!(wrong_checked(&f.db, "nobody").await, checked);
    tdb.cleanup().await;
}

/// A worker's sweep forgets the throttle windows that ended and the
/// failures in a row that saw no attempt for `failures_forgotten_after_days`
/// (or whose check died with its process), so that logins sprayed under
/// made-up names do not grow the database for ever; a lock, a live check
/// and a recent failure stay.
#[tokio::test]
async fn the_sweep_forgets_what_no_longer_counts_and_keeps_locks() {
    for tdb in TestDb::all().await {
        let b = tdb.backend;
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        let now = f.orders.now();
        let window = f.orders.settings().failed_login_window_secs;
        let idle = f.orders.settings().failures_forgotten_after_days * 86_400;
        for (ip, start) in [("192.0.2.1", now - window - 1), ("192.0.2.2", now - 10)] {
            let q = storage::sql::query("INSERT INTO login_throttles (ip, window_start, failures) VALUES ($1, $2, 3)");
            q.bind(ip).bind(start).execute(&mut f.db.acquire_writer().await.unwrap()).await.unwrap();
        }
        for (login, failures, in_flight, in_flight_until, locked, at) in [
            ("sprayed", 2, 0, 0, 0, now - idle - 1),
            ("locked", 5, 0, 0, 1, now - idle - 1),
            ("checking", 1, 1, now + 30, 0, now - idle - 1),
            ("died checking", 1, 1, now - 1, 0, now - idle - 1),
            ("recent", 2, 0, 0, 0, now - idle + 60),
        ] {
            let q = storage::sql::query(
                "INSERT INTO login_guards (login, failures, in_flight, in_flight_until, locked, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            );
            let q = q.bind(login).bind(failures).bind(in_flight).bind(in_flight_until).bind(locked).bind(at);
            q.execute(&mut f.db.acquire_writer().await.unwrap()).await.unwrap();
        }
        Worker::new(f.orders.clone(), "sweeper").run_once().await.unwrap();
        let left = |sql: &'static str| {
            let db = f.db.clone();
            async move {
                let q = storage::sql::query_scalar::<String>(sql);
                let mut rows = q.fetch_all(&mut db.acquire().await.unwrap()).await.unwrap();
                rows.sort();
                rows
            }
        };
        assert_eq!(left("SELECT ip FROM login_throttles").await, ["192.0.2.2"], "{b}: the ended window went");
        assert_eq!(left("SELECT login FROM login_guards").await, ["checking", "locked", "recent"], "{b}");
        tdb.cleanup().await;
    }
}
