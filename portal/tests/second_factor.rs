//! The second factor over HTTP, on SQLite and PostgreSQL: a user enrols the
//! secret the page shows, with codes computed by Python's standard library
//! (an implementation of RFC 6238 of its own); then sign-in needs a code,
//! refuses a wrong or replayed one (counted as failed logins), and the
//! factor is switched off with a current code.

use certgate_tests::portal::{by_id, send, sign_in, sign_in_with_code};
use certgate_tests::{Fixture, TestDb, python_json, scalar, serve_router};
use orders::{Formula, Rights};

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
