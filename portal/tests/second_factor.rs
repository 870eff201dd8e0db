//! The second factor over HTTP, on SQLite and PostgreSQL: a user enrols the
//! secret the page shows, with codes computed by Python's standard library
//! (an implementation of RFC 6238 of its own); then sign-in needs a code,
//! refuses a wrong or replayed one (counted as failed logins), and the
//! factor is switched off with a current code.

use certgate_tests::portal::{by_id, send, sign_in, sign_in_with_code};
use certgate_tests::{Fixture, TestDb, python_json, scalar, serve_router};
use orders::{Formula, Rights};

/// The text of one row and column that `sql` selects.
async fn scalar_text(f: &Fixture, sql: &'static str) -> String {
    storage::sql::query_scalar(sql).fetch_one(&mut f.db.acquire().await.unwrap()).await.unwrap()
}

/// The TOTP code of `secret` (base32) at `now`, as an authenticator app computes it.
fn code(secret: &str, now: i64) -> String {
    let script = r#"
import base64, hashlib, hmac, json, os, struct
key = base64.b32decode(os.environ["SECRET"] + "=" * (-len(os.environ["SECRET"]) % 8))
mac = hmac.new(key, struct.pack(">Q", int(os.environ["NOW"]) // 30), hashlib.sha1).digest()
o = mac[-1] & 15
print(json.dumps("%06d" % ((struct.unpack(">I", mac[o:o + 4])[0] & 0x7fffffff) % 1000000)))
"#;
    python_json(script, &[("SECRET", secret.to_string()), ("NOW", now.to_string())]).as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_factor_is_enrolled_asked_and_switched_off() {
    for tdb in TestDb::all().await {
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        f.orders.create_user(&f.op, "web", "a long password", Rights::all()).await.unwrap();
        let base = serve_router(certgate_portal::Portal::new(f.orders.clone(), None).router()).await;
        let signed = sign_in(&base, "web", "a long password").await;
        let cookie = signed.cookie("certgate_session").unwrap().0;
        let cookies = [("certgate_session", cookie.as_str())];

        let page = send(&base, "GET", "/portal/second-factor", &cookies, None).await;
        assert_eq!(page.status, 200);
        let secret = by_id(&page.body, "totp-secret");
        assert!(by_id(&page.body, "totp-uri").starts_with(&format!("otpauth://totp/certgate:web?secret={secret}")));
        let post = |form: String| {
            let base = base.clone();
            async move { send(&base, "POST", "/portal/second-factor", &cookies, Some(&form)).await }
        };
        let csrf = page.csrf();
        // A wrong code does not switch it on.
        let wrong = post(format!("csrf={csrf}&action=enable&secret={secret}&code=000000")).await;
        assert_eq!(wrong.status, 400);
        assert_eq!(scalar(&f.db, "SELECT COUNT(*) FROM users WHERE totp_sealed IS NOT NULL").await, 0);
        let now = f.orders.now();
        let on = post(format!("csrf={csrf}&action=enable&secret={secret}&code={}", code(&secret, now))).await;
        assert_eq!(on.status, 303, "{}", on.body);
        assert!(send(&base, "GET", "/portal/second-factor", &cookies, None).await.body.contains("totp-state"));
        // A session cannot swap the factor for another without a code of this one.
        let sealed = || scalar_text(&f, "SELECT totp_sealed FROM users WHERE login = 'web'");
        let kept = sealed().await;
        let other = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
        let swap = post(format!("csrf={csrf}&action=enable&secret={other}&code={}", code(other, now))).await;
        assert_eq!(swap.status, 400, "{}", swap.body);
        assert!(swap.body.contains("switch it off with a current code first"), "{}", swap.body);
        assert_eq!(sealed().await, kept, "the factor is unchanged");
        // The API asks no code, so a user with a second factor keeps to the portal.
        let api = f.orders.authenticate("web", "a long password", "192.0.2.9", orders::Source::Xmlrpc).await;
        assert!(matches!(api, Err(orders::OrderError::NotAdmitted { .. })), "{api:?}");

        // Sign-in now needs a code: none, a wrong one, the one just used: refused, counted.
        assert_eq!(sign_in(&base, "web", "a long password").await.status, 401);
        assert_eq!(sign_in_with_code(&base, "web", "a long password", "123456").await.status, 401);
        let replayed = sign_in_with_code(&base, "web", "a long password", &code(&secret, now)).await;
        assert_eq!(replayed.status, 401, "a code is good once");
        let failed = scalar(&f.db, "SELECT COUNT(*) FROM audit_log WHERE detail = 'wrong second-factor code'").await;
        assert_eq!(failed, 3);
        // The next step's code signs in (and clears the failures).
        f.orders.set_clock_offset(30);
        let good = sign_in_with_code(&base, "web", "a long password", &code(&secret, f.orders.now())).await;
        assert_eq!(good.status, 303, "{}", good.body);
        // A wrong password with a right code is still a wrong password.
        f.orders.set_clock_offset(60);
        let bad = sign_in_with_code(&base, "web", "wrong password", &code(&secret, f.orders.now())).await;
        assert_eq!(bad.status, 401);

        // Off with a current code; then the password alone signs in again.
        let new_cookie = good.cookie("certgate_session").unwrap().0;
        let page = send(&base, "GET", "/portal/second-factor", &[("certgate_session", &new_cookie)], None).await;
        let form = format!("csrf={}&action=disable&code={}", page.csrf(), code(&secret, f.orders.now()));
        let off = send(&base, "POST", "/portal/second-factor", &[("certgate_session", &new_cookie)], Some(&form)).await;
        assert_eq!(off.status, 303, "{}", off.body);
        assert_eq!(sign_in(&base, "web", "a long password").await.status, 303);
        tdb.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_wrong_codes_lock_the_user() {
    for tdb in TestDb::all().await {
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        f.orders.create_user(&f.op, "web", "a long password", Rights::all()).await.unwrap();
        let base = serve_router(certgate_portal::Portal::new(f.orders.clone(), None).router()).await;
        let cookie = sign_in(&base, "web", "a long password").await.cookie("certgate_session").unwrap().0;
        let page = send(&base, "GET", "/portal/second-factor", &[("certgate_session", &cookie)], None).await;
        let secret = by_id(&page.body, "totp-secret");
        let form = format!("csrf={}&action=enable&secret={secret}&code={}", page.csrf(), code(&secret, f.orders.now()));
        send(&base, "POST", "/portal/second-factor", &[("certgate_session", &cookie)], Some(&form)).await;
        for _ in 0..5 {
            sign_in_with_code(&base, "web", "a long password", "999999").await;
        }
        f.orders.set_clock_offset(30);
        let locked = sign_in_with_code(&base, "web", "a long password", &code(&secret, f.orders.now())).await;
        assert_eq!(locked.status, 403, "locked after five wrong codes ({})", tdb.backend);
        let home = send(&base, "GET", "/portal/", &[("certgate_session", &cookie)], None).await;
        assert_eq!(home.status, 303, "the lock ended the open session");
        tdb.cleanup().await;
    }
}

/// Enrols the second factor of the session `cookie` through its page; returns the secret.
async fn enrol(base: &str, cookie: &str, now: i64) -> String {
    let cookies = [("certgate_session", cookie)];
    let page = send(base, "GET", "/portal/second-factor", &cookies, None).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let secret = by_id(&page.body, "totp-secret");
    let form = format!("csrf={}&action=enable&secret={secret}&code={}", page.csrf(), code(&secret, now));
    let on = send(base, "POST", "/portal/second-factor", &cookies, Some(&form)).await;
    assert_eq!(on.status, 303, "{}", on.body);
    secret
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_requires_a_second_factor_and_clears_a_lost_one() {
    for tdb in TestDb::all().await {
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        f.orders.create_user(&f.op, "boss", "a long password", Rights::all()).await.unwrap();
        f.orders.create_user(&f.op, "clerk", "a long password", Rights::all()).await.unwrap();
        let base = serve_router(certgate_portal::Portal::new(f.orders.clone(), None).router()).await;
        let session = |login: &'static str| {
            let base = base.clone();
            async move {
                let signed = sign_in(&base, login, "a long password").await;
                assert_eq!(signed.status, 303, "{}", signed.body);
                signed.cookie("certgate_session").unwrap().0
            }
        };
        let required = || {
            scalar(
                &f.db,
                "SELECT second_factor_required FROM accounts WHERE id IN (SELECT account_id FROM users WHERE login = 'boss')",
            )
        };
        let boss = session("boss").await;
        let boss_cookies = [("certgate_session", boss.as_str())];
        let users = send(&base, "GET", "/portal/users", &boss_cookies, None).await;
        assert!(by_id(&users.body, "second-factor-rule").contains("optional"), "{}", users.body);
        let act = |form: String| {
            let base = base.clone();
            async move { send(&base, "POST", "/portal/users/action", &boss_cookies, Some(&form)).await }
        };
        let csrf = users.csrf();

        // Not before the administrator has its own: it would shut itself out.
        let early = act(format!("csrf={csrf}&action=require_totp")).await;
        assert_eq!(early.status, 400);
        assert!(early.body.contains("enrol your own second factor first"), "{}", early.body);
        assert_eq!(required().await, 0);
        let now = f.orders.now();
        enrol(&base, &boss, now).await;
        assert_eq!(act("csrf=forged&action=require_totp".to_string()).await.status, 403);
        assert_eq!(required().await, 0, "a forged form changes nothing");
        assert_eq!(act(format!("csrf={csrf}&action=require_totp")).await.status, 303);
        assert_eq!(required().await, 1);
        let users = send(&base, "GET", "/portal/users", &boss_cookies, None).await;
        assert!(by_id(&users.body, "second-factor-rule").contains("must have"), "{}", users.body);

        // A user without one may do nothing but enrol: every page leads there,
        // and the order core refuses what a form asks.
        let clerk = session("clerk").await;
        let clerk_cookies = [("certgate_session", clerk.as_str())];
        for path in ["/portal/", "/portal/orders", "/portal/users", "/portal/account"] {
            let page = send(&base, "GET", path, &clerk_cookies, None).await;
            assert_eq!((page.status, page.header("location")), (303, Some("/portal/second-factor")), "{path}");
        }
        let page = send(&base, "GET", "/portal/second-factor", &clerk_cookies, None).await;
        assert!(page.body.contains(r#"id="must-enrol""#), "{}", page.body);
        let before = scalar(&f.db, "SELECT COUNT(*) FROM users").await;
        let form = format!("csrf={}&login=sneaky&kind=web&right_technical=on", page.csrf());
        let sneaky = send(&base, "POST", "/portal/users", &clerk_cookies, Some(&form)).await;
        assert_eq!(sneaky.status, 403, "{}", sneaky.body);
        assert_eq!(scalar(&f.db, "SELECT COUNT(*) FROM users").await, before, "nothing created");
        // The API asks no code: its logins are not held by the rule.
        assert!(f.orders.authenticate("clerk", "a long password", "192.0.2.9", orders::Source::Xmlrpc).await.is_ok());
        enrol(&base, &clerk, now).await;
        assert_eq!(send(&base, "GET", "/portal/", &clerk_cookies, None).await.status, 200, "enrolled, let in");

        // The clerk's phone is lost: an administrator clears its factor, which
        // ends its sessions; it signs in with its password and must enrol again.
        assert_eq!(act(format!("csrf={csrf}&action=reset_totp&login=boss")).await.status, 400, "not one's own");
        assert_eq!(act(format!("csrf={csrf}&action=reset_totp&login=clerk")).await.status, 303);
        assert_eq!(scalar(&f.db, "SELECT COUNT(*) FROM users WHERE login = 'clerk' AND totp_sealed IS NULL").await, 1);
        assert_eq!(
            send(&base, "GET", "/portal/", &clerk_cookies, None).await.header("location"),
            Some("/portal/sign-in"),
            "its sessions ended"
        );
        let again = act(format!("csrf={csrf}&action=reset_totp&login=clerk")).await;
        assert_eq!(again.status, 400, "nothing left to clear: {}", again.body);
        let audited =
            scalar(&f.db, "SELECT COUNT(*) FROM audit_log WHERE action = 'user.totp_reset' AND detail = 'clerk'");
        assert_eq!(audited.await, 1);
        let clerk = session("clerk").await;
        let page = send(&base, "GET", "/portal/orders", &[("certgate_session", clerk.as_str())], None).await;
        assert_eq!(page.header("location"), Some("/portal/second-factor"));

        // Optional again: the clerk is let in without one.
        assert_eq!(act(format!("csrf={csrf}&action=relax_totp")).await.status, 303);
        assert_eq!(required().await, 0);
        assert_eq!(
            send(&base, "GET", "/portal/orders", &[("certgate_session", clerk.as_str())], None).await.status,
            200
        );
        tdb.cleanup().await;
    }
}
