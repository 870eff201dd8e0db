//! The users page over HTTP, on SQLite and PostgreSQL: creating web and API
//! users (a made password shown once), each signing in only where its kind
//! allows; rights changed and applied at the next page; suspension ending
//! sessions; password reset; unlocking after a lockout; deletion; and the
//! refusals (no administrative right, forged form, oneself) changing nothing.

use certgate_tests::portal::{Answer, by_id, send, sign_in};
use certgate_tests::{Fixture, TestDb, scalar, serve_router};
use orders::{Formula, OrderError, Rights, Source};

async fn session(base: &str, login: &str, password: &str) -> String {
    let signed = sign_in(base, login, password).await;
    assert_eq!(signed.status, 303, "{login}: {}", signed.body);
    signed.cookie("certgate_session").expect("a session").0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn administrators_manage_web_and_api_users() {
    for tdb in TestDb::all().await {
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        f.orders.create_user(&f.op, "boss", "a long password", Rights::all()).await.unwrap();
        let base = serve_router(certgate_portal::Portal::new(f.orders.clone(), None).router()).await;
        let boss = session(&base, "boss", "a long password").await;
        let cookies = [("certgate_session", boss.as_str())];
        let page = send(&base, "GET", "/portal/users", &cookies, None).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let csrf = page.csrf();
        let post = |path: &'static str, form: String| {
            let base = base.clone();
            async move { send(&base, "POST", path, &cookies, Some(&form)).await }
        };
        let act = |login: &'static str, action: &'static str| {
            post("/portal/users/action", format!("csrf={csrf}&login={login}&action={action}"))
        };

        // An API user with a made password, shown once: the API takes it, the portal does not.
        let made = post("/portal/users", format!("csrf={csrf}&login=bot&kind=api&right_technical=on&password=")).await;
        assert_eq!(made.status, 200, "{}", made.body);
        let bot_password = by_id(&made.body, "new-user-password");
        assert_eq!(bot_password.len(), 24);
        assert!(f.orders.authenticate("bot", &bot_password, "192.0.2.1", Source::Xmlrpc).await.is_ok());
        let refused = sign_in(&base, "bot", &bot_password).await;
        assert_eq!(refused.status, 403, "an API user does not sign in to the portal");
        assert!(!send(&base, "GET", "/portal/users", &cookies, None).await.body.contains(&bot_password), "shown once");

        // A web user with the billing right only: the portal, not the API; no ordering.
        let clerk =
            post("/portal/users", format!("csrf={csrf}&login=clerk&kind=web&right_billing=on&password=clerk+password"))
                .await;
        assert_eq!(clerk.status, 303, "{}", clerk.body);
        let api = f.orders.authenticate("clerk", "clerk password", "192.0.2.1", Source::Xmlrpc).await;
        assert!(matches!(api, Err(OrderError::NotAdmitted { .. })), "{api:?}");
        let clerk_cookie = session(&base, "clerk", "clerk password").await;
        let as_clerk = [("certgate_session", clerk_cookie.as_str())];
        assert_eq!(send(&base, "GET", "/portal/account", &as_clerk, None).await.status, 200);
        assert_eq!(send(&base, "GET", "/portal/orders/new", &as_clerk, None).await.status, 403);
        assert_eq!(send(&base, "GET", "/portal/users", &as_clerk, None).await.status, 403);

        // Rights changed: the next page already knows.
        let set = post(
            "/portal/users/action",
            format!("csrf={csrf}&login=clerk&action=rights&right_billing=on&right_technical=on"),
        )
        .await;
        assert_eq!(set.status, 303, "{}", set.body);
        assert_eq!(send(&base, "GET", "/portal/orders/new", &as_clerk, None).await.status, 200);

        // Suspended: its session ends at once and it cannot sign in; restored, it can.
        assert_eq!(act("clerk", "suspend").await.status, 303);
        let home = send(&base, "GET", "/portal/", &as_clerk, None).await;
        assert_eq!(home.header("location"), Some("/portal/sign-in"), "signed out");
        assert_eq!(sign_in(&base, "clerk", "clerk password").await.status, 403);
        assert_eq!(act("clerk", "suspend").await.status, 400, "suspended already");
        assert_eq!(act("clerk", "restore").await.status, 303);
        let clerk_cookie = session(&base, "clerk", "clerk password").await;

        // A password reset: shown once; the old one fails, the new one works, sessions end.
        let reset = act("clerk", "reset").await;
        assert_eq!(reset.status, 200);
        let new_password = by_id(&reset.body, "new-user-password");
        let home = send(&base, "GET", "/portal/", &[("certgate_session", &clerk_cookie)], None).await;
        assert_eq!(home.status, 303, "the reset ended the session");
        assert_eq!(sign_in(&base, "clerk", "clerk password").await.status, 401);
        session(&base, "clerk", &new_password).await;

        // Locked after failures, unlocked by the administrator.
        for _ in 0..5 {
            sign_in(&base, "clerk", "wrong password").await;
        }
        assert_eq!(sign_in(&base, "clerk", &new_password).await.status, 403, "locked");
        let listed = send(&base, "GET", "/portal/users", &cookies, None).await;
        assert!(listed.body.contains("value=\"unlock\""), "unlock offered");
        assert_eq!(act("clerk", "unlock").await.status, 303);
        session(&base, "clerk", &new_password).await;

        // Refusals change nothing: oneself, a forged form, a user of no one, no confirmation.
        let audit = scalar(&f.db, "SELECT COUNT(*) FROM audit_log").await;
        assert_eq!(act("boss", "suspend").await.status, 400);
        assert_eq!(act("ghost", "suspend").await.status, 400);
        assert_eq!(act("clerk", "delete").await.status, 400, "not confirmed");
        let forged = format!("csrf={}&login=clerk&action=suspend", orders::new_token());
        assert_eq!(post("/portal/users/action", forged).await.status, 403);
        let bad_kind = post("/portal/users", format!("csrf={csrf}&login=x&kind=both&password=long+enough")).await;
        assert_eq!(bad_kind.status, 400);
        let short = post("/portal/users", format!("csrf={csrf}&login=y&kind=web&password=short")).await;
        assert_eq!(short.status, 400);
        assert_eq!(scalar(&f.db, "SELECT COUNT(*) FROM audit_log").await, audit, "nothing recorded");

        // Deleted, once confirmed: it cannot sign in, and is no longer listed.
        let deleted = post("/portal/users/action", format!("csrf={csrf}&login=clerk&action=delete&confirm=yes")).await;
        assert_eq!(deleted.status, 303);
        assert_eq!(sign_in(&base, "clerk", &new_password).await.status, 401);
        let listed: Answer = send(&base, "GET", "/portal/users", &cookies, None).await;
        assert!(!listed.body.contains("<td>clerk</td>") && listed.body.contains("<td>bot</td>"));
        tdb.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_shows_who_did_what_from_where_filtered_and_paged() {
    for tdb in TestDb::all().await {
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        f.orders.create_user(&f.op, "boss", "a long password", Rights::all()).await.unwrap();
        f.orders.create_user(&f.op, "clerk", "a long password", Rights::parse("billing").unwrap()).await.unwrap();
        // 120 credits by the operator: more than a page.
        for _ in 0..120 {
            f.orders.credit_tokens(&f.op, "ssl1", 1, "").await.unwrap();
        }
        // Another account's entries are not this one's.
        let other = f.orders.create_account("Other", Formula::Bulk, "EUR", false, 0).await.unwrap();
        f.orders
            .create_user(&orders::Caller::operator(other), "stranger", "a long password", Rights::all())
            .await
            .unwrap();
        let base = serve_router(certgate_portal::Portal::new(f.orders.clone(), None).router()).await;
        let boss = session(&base, "boss", "a long password").await;
        let clerk = session(&base, "clerk", "a long password").await;
        sign_in(&base, "clerk", "wrong password").await;
        let cookies = [("certgate_session", boss.as_str())];
        let get = |query: String| {
            let base = base.clone();
            async move { send(&base, "GET", &format!("/portal/logs?{query}"), &cookies, None).await }
        };

        // The clerk's sign-in and failed login, through the portal, from loopback.
        let mine = get("user=clerk".into()).await;
        assert_eq!(mine.status, 200, "{}", mine.body);
        let rows: Vec<&str> = mine.body.split("<tr>").skip(2).collect();
        assert_eq!(rows.len(), 2, "{}", mine.body);
        assert!(rows[0].contains("login.failed") && rows[0].contains("127.0.0.1") && rows[0].contains("portal"));
        assert!(rows[1].contains("portal.sign_in"));
        assert!(!get(String::new()).await.body.contains("stranger"), "another account's entries are not shown");

        // By kind, then paged: 120 credits and the users' creations are more than 100.
        let users = get("kind=user".into()).await;
        assert_eq!(users.body.matches("user.create").count(), 2, "{}", users.body);
        let first = get("kind=ledger".into()).await;
        assert_eq!(first.body.matches("<td>ledger.topup</td>").count(), 100);
        let at = first.body.find("before=").expect("a next page");
        let next = first.body[at..].split('"').next().unwrap().replace("&amp;", "&");
        let second = get(format!("kind=ledger&{next}")).await;
        assert_eq!(second.body.matches("<td>ledger.topup</td>").count(), 20, "the rest, none twice");
        let csv = get("kind=ledger&format=csv".into()).await;
        assert_eq!(csv.body.lines().count(), 121);
        assert!(csv.body.starts_with("date,user,address,front,action,detail"));

        // Bad filters are refused; the log needs the administrative right.
        for bad in ["kind=everything", "from=yesterday", "before=soon"] {
            assert_eq!(get(bad.into()).await.status, 400, "{bad}");
        }
        let refused = send(&base, "GET", "/portal/logs", &[("certgate_session", &clerk)], None).await;
        assert_eq!(refused.status, 403);
        assert_eq!(scalar(&f.db, "SELECT COUNT(*) FROM audit_log WHERE action = 'ledger.topup'").await, 120);
        tdb.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_racing_a_password_reset_keeps_no_session() {
    for tdb in TestDb::all().await {
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        f.orders.create_user(&f.op, "racer", "the first password", Rights::all()).await.unwrap();
        let racer_sessions = || {
            scalar(
                &f.db,
                "SELECT COUNT(*) FROM portal_sessions WHERE user_id IN (SELECT id FROM users WHERE login = 'racer')",
            )
        };
        let mut password = "the first password".to_string();
        let (mut opened, mut refused) = (0, 0);
        // Each round signs in with the current password while an
        // administrator resets it: the password check (Argon2) and the reset's
        // hashing run at once, so the reset often lands between the check and
        // the session. Whichever comes first, no session may outlive the reset.
        for _ in 0..8 {
            let (orders, op, old) = (f.orders.clone(), f.op.clone(), password.clone());
            let signing = tokio::spawn(async move { orders.sign_in("racer", &old, "", "192.0.2.7", "en").await });
            let reset = f.orders.reset_password(&op, "racer").await.unwrap();
            match signing.await.unwrap() {
                Ok(_) => opened += 1,
                Err(OrderError::BadCredentials) => refused += 1,
                Err(e) => panic!("{e}"),
            }
            assert_eq!(racer_sessions().await, 0, "a session opened with the old password outlived the reset");
            password = reset;
        }
        assert_eq!(opened + refused, 8, "({opened} opened before a reset, {refused} refused) {}", tdb.backend);
        // The last password signs in, and keeps its session.
        f.orders.sign_in("racer", &password, "", "192.0.2.7", "en").await.unwrap();
        assert_eq!(racer_sessions().await, 1);
        tdb.cleanup().await;
    }
}
