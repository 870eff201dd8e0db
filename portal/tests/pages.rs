//! The portal's pages over HTTP, on SQLite and PostgreSQL: signing in (with
//! the sign-in form's token), the home page by rights, CSRF refusals that
//! change nothing, the language, signing out, session expiry, and a lockout
//! shared with the XML-RPC front.

use certgate_tests::portal::{by_id, send, send_from, sign_in};
use certgate_tests::{Connections, Fixture, TestDb, acme_account, scalar, serve_router};
use certgate_xmlrpc::{Limits, XmlRpc};
use instant_acme::{Identifier, NewOrder};
use orders::{Formula, Rights};

async fn sessions(f: &Fixture) -> i64 {
    scalar(&f.db, "SELECT COUNT(*) FROM portal_sessions").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_signs_in_sees_the_home_page_and_signs_out() {
    for tdb in TestDb::all().await {
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        f.orders.credit_tokens(&f.op, "ssl1", 7, "").await.unwrap();
        f.orders.create_user(&f.op, "web", "a long password", Rights::all()).await.unwrap();
        // An order that waits for its DCV: a name outside the validated domain.
        let waiting = f.orders.place(&f.op, &f.ssl1_for(&["www.other.test"])).await.unwrap().order;
        let waiting = waiting.reference.unwrap();
        let base = serve_router(certgate_portal::Portal::new(f.orders.clone(), None).router()).await;

        let home = send(&base, "GET", "/portal/", &[], None).await;
        assert_eq!((home.status, home.header("location")), (303, Some("/portal/sign-in")), "signed out");
        let form = send(&base, "GET", "/portal/sign-in", &[], None).await;
        assert_eq!(form.status, 200);
        let csp = form.header("content-security-policy").unwrap();
        assert!(csp.contains("default-src 'none'") && csp.contains("form-action 'self'"), "{csp}");
        assert!(!form.body.contains("<script"), "no script");
        assert!(form.body.contains(r#"<label for="password">"#), "labelled fields");
        let (token, set) = form.cookie("certgate_sign_in").unwrap();
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("Path=/portal/"), "{set}");
        assert_eq!(token, form.csrf(), "the form carries its cookie's token");

        // Without the form's cookie, or with a token of another form: refused, no session.
        let forged = format!("csrf={}&login=web&password=a+long+password", form.csrf());
        let refused = send(&base, "POST", "/portal/sign-in", &[], Some(&forged)).await;
        assert_eq!(refused.status, 403);
        let other = orders::new_token();
        let refused = send(&base, "POST", "/portal/sign-in", &[("certgate_sign_in", &other)], Some(&forged)).await;
        assert_eq!(refused.status, 403);
        // A form posted from another site, even with a matching cookie (planted by a sibling site): refused.
        let form2 = send(&base, "GET", "/portal/sign-in", &[], None).await;
        let (token2, _) = form2.cookie("certgate_sign_in").unwrap();
        let planted = format!("csrf={token2}&login=web&password=a+long+password");
        let cookie2 = [("certgate_sign_in", token2.as_str())];
        let evil =
            send_from(&base, Some("http://evil.example"), "POST", "/portal/sign-in", &cookie2, Some(&planted)).await;
        assert_eq!(evil.status, 403);
        assert_eq!(sessions(&f).await, 0, "no session opened ({})", tdb.backend);
        // From the portal's own origin, the same form signs in (then out, below).
        let own = send_from(&base, Some(&base), "POST", "/portal/sign-in", &cookie2, Some(&planted)).await;
        assert_eq!(own.status, 303, "{}", own.body);
        assert_eq!(sessions(&f).await, 1);
        f.orders.set_clock_offset(1);

        let signed = sign_in(&base, "web", "a long password").await;
        assert_eq!((signed.status, signed.header("location")), (303, Some("/portal/")), "{}", signed.body);
        let (session, set) = signed.cookie("certgate_session").unwrap();
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax"), "{set}");
        assert!(!set.contains("Secure"), "plain HTTP on loopback: no Secure flag");
        assert_eq!(sessions(&f).await, 2);
        let stored: i64 = scalar(&f.db, "SELECT COUNT(*) FROM portal_sessions WHERE token_hash LIKE '%-%'").await;
        assert_eq!(stored, 0, "the token itself is not stored");

        let cookie = [("certgate_session", session.as_str())];
        let home = send(&base, "GET", "/portal/", &cookie, None).await;
        assert_eq!(home.status, 200);
        assert!(home.body.contains("<td>ssl1 SSL OV 1 year</td><td>6</td>"), "balances: {}", home.body);
        let row = format!("<td>{waiting}</td><td>www.other.test</td><td>waiting_dcv</td>");
        assert!(home.body.contains(&row), "the order waiting for DCV is listed: {}", home.body);
        assert!(home.body.contains("Orders needing action") && home.body.contains(r#"lang="en""#));
        let csrf = home.csrf();

        // A form without the session's token changes nothing.
        let bad = send(&base, "POST", "/portal/language", &cookie, Some("csrf=forged&language=fr")).await;
        assert_eq!(bad.status, 403);
        let bad = send(&base, "POST", "/portal/sign-out", &cookie, Some("csrf=forged")).await;
        assert_eq!(bad.status, 403);
        let from_elsewhere = format!("csrf={}", home.csrf());
        let bad =
            send_from(&base, Some("http://evil.example"), "POST", "/portal/sign-out", &cookie, Some(&from_elsewhere))
                .await;
        assert_eq!(bad.status, 403, "the right token from another site");
        assert_eq!(send(&base, "GET", "/portal/", &cookie, None).await.status, 200, "still signed in");

        let french = send(&base, "POST", "/portal/language", &cookie, Some(&format!("csrf={csrf}&language=fr"))).await;
        assert_eq!(french.status, 303);
        let home = send(&base, "GET", "/portal/", &cookie, None).await;
        assert!(home.body.contains("Commandes en attente d") && home.body.contains(r#"lang="fr""#), "{}", home.body);

        let out = send(&base, "POST", "/portal/sign-out", &cookie, Some(&format!("csrf={csrf}"))).await;
        assert_eq!(out.status, 303);
        assert!(out.cookie("certgate_session").is_some_and(|(v, set)| v.is_empty() && set.contains("Max-Age=0")));
        assert_eq!(send(&base, "GET", "/portal/", &cookie, None).await.status, 303, "the session ended");
        assert_eq!(sessions(&f).await, 1, "the other one is left");
        tdb.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rights_shape_the_home_page_and_sessions_end_when_idle() {
    for tdb in TestDb::all().await {
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        f.orders.credit_tokens(&f.op, "ssl1", 3, "").await.unwrap();
        f.orders.place(&f.op, &f.ssl1_for(&["www.other.test"])).await.unwrap();
        f.orders.create_user(&f.op, "billing", "a long password", Rights::parse("billing").unwrap()).await.unwrap();
        f.orders.create_user(&f.op, "sales", "a long password", Rights::parse("commercial").unwrap()).await.unwrap();
        let base = serve_router(certgate_portal::Portal::new(f.orders.clone(), None).router()).await;

        let (billing, _) = sign_in(&base, "billing", "a long password").await.cookie("certgate_session").unwrap();
        let home = send(&base, "GET", "/portal/", &[("certgate_session", &billing)], None).await;
        assert!(home.body.contains("Balances") && !home.body.contains("www.other.test"), "billing: {}", home.body);
        let (sales, _) = sign_in(&base, "sales", "a long password").await.cookie("certgate_session").unwrap();
        let home = send(&base, "GET", "/portal/", &[("certgate_session", &sales)], None).await;
        assert!(!home.body.contains("Balances") && home.body.contains("www.other.test"), "commercial: {}", home.body);

        // Signing in again and again keeps 10 sessions of a user at most.
        for second in 1..=11 {
            f.orders.set_clock_offset(second);
            assert_eq!(sign_in(&base, "billing", "a long password").await.status, 303);
        }
        let kept = "SELECT COUNT(*) FROM portal_sessions s JOIN users u ON u.id = s.user_id WHERE u.login = 'billing'";
        assert_eq!(scalar(&f.db, kept).await, 10);
        let home = send(&base, "GET", "/portal/", &[("certgate_session", &billing)], None).await;
        assert_eq!(home.status, 303, "the oldest ended");

        // Idle for longer than 30 minutes: the session is over.
        f.orders.set_clock_offset(31 * 60);
        let home = send(&base, "GET", "/portal/", &[("certgate_session", &sales)], None).await;
        assert_eq!(home.status, 303);
        tdb.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_sign_ins_and_xml_rpc_logins_lock_the_user_together() {
    if !certgate_tests::have_tool("python3") {
        return;
    }
    for tdb in TestDb::all().await {
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        f.orders.create_user(&f.op, "web", "a long password", Rights::all()).await.unwrap();
        let base = serve_router(certgate_portal::Portal::new(f.orders.clone(), None).router()).await;
        let (open, _) = sign_in(&base, "web", "a long password").await.cookie("certgate_session").unwrap();

        for _ in 0..3 {
            assert_eq!(sign_in(&base, "web", "wrong").await.status, 401);
        }
        let xmlrpc = serve_router(XmlRpc::new(f.orders.clone(), Limits::default(), None).router()).await;
        let script = r#"
import json, os, xmlrpc.client
infos = xmlrpc.client.ServerProxy(os.environ["URL"] + "/api-infos.php")
wrong = {"identification": {"utilisateur": "web", "motDePasse": "wrong"}}
print(json.dumps([fault_of(lambda: infos.solde(wrong)) for _ in range(2)]))
"#;
        let env = vec![("URL", xmlrpc)];
        let out = tokio::task::spawn_blocking(move || certgate_tests::python_json(script, &env)).await.unwrap();
        assert_eq!(out[1][0], 1, "the fifth failure, over XML-RPC: {out}");
        let locked = sign_in(&base, "web", "a long password").await;
        assert_eq!(locked.status, 403, "locked, with the right password");
        assert!(locked.body.contains("locked"), "{}", locked.body);
        assert!(locked.cookie("certgate_session").is_none());
        // A session opened before the lock ended with it, at once.
        assert_eq!(sessions(&f).await, 0);
        assert_eq!(send(&base, "GET", "/portal/", &[("certgate_session", &open)], None).await.status, 303);
        tdb.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_creates_an_acme_url_that_an_acme_client_registers_with() {
    for tdb in TestDb::all().await {
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        f.orders.create_user(&f.op, "admin", "a long password", Rights::all()).await.unwrap();
        f.orders.create_user(&f.op, "tech", "a long password", Rights::parse("technical").unwrap()).await.unwrap();
        let acme = certgate_acme::Acme::new(f.orders.clone(), certgate_acme::Settings::default()).router();
        let base = serve_router(certgate_portal::Portal::new(f.orders.clone(), None).router().merge(acme)).await;
        let urls = || scalar(&f.db, "SELECT COUNT(*) FROM acme_urls");

        let (admin, _) = sign_in(&base, "admin", "a long password").await.cookie("certgate_session").unwrap();
        let cookie = [("certgate_session", admin.as_str())];
        let list = send(&base, "GET", "/portal/acme-urls", &cookie, None).await;
        assert_eq!(list.status, 200);
        assert!(list.body.contains(r#"<option value="ssl1">"#), "{}", list.body);
        let csrf = list.csrf();
        let before = urls().await;
        let forged = format!("csrf=forged&name=web&product=ssl1&organisation={}", f.org);
        assert_eq!(send(&base, "POST", "/portal/acme-urls", &cookie, Some(&forged)).await.status, 403);
        let unknown = format!("csrf={csrf}&name=web&product=nope1&organisation={}", f.org);
        assert_eq!(send(&base, "POST", "/portal/acme-urls", &cookie, Some(&unknown)).await.status, 400);
        assert_eq!(urls().await, before, "nothing created by refused forms");

        let form = format!("csrf={csrf}&name=web&product=ssl1&organisation={}", f.org);
        let created = send(&base, "POST", "/portal/acme-urls", &cookie, Some(&form)).await;
        assert_eq!(created.status, 200, "{}", created.body);
        let (directory, kid, hmac) =
            (by_id(&created.body, "directory"), by_id(&created.body, "kid"), by_id(&created.body, "hmac"));
        assert!(directory.starts_with(&format!("{base}/acme/")) && directory.ends_with("/directory"));
        let certbot = by_id(&created.body, "certbot");
        assert!(certbot.contains(&format!("--eab-kid={kid} --eab-hmac-key={hmac}")), "{certbot}");
        assert!(certbot.contains(&format!("--server {directory} ")), "{certbot}");
        assert!(created.body.contains("shown this once"));
        // A real ACME client registers with what the page showed, and orders.
        let acct = acme_account(&directory, &kid, &hmac, Connections::Reused).await.expect("EAB registration");
        let id = scalar(&f.db, "SELECT MAX(id) FROM acme_urls").await;
        let url_page = format!("/portal/acme-urls/{id}");
        assert!(send(&base, "GET", &url_page, &cookie, None).await.body.contains("Nothing."), "no order yet");
        f.orders.credit_tokens(&f.op, "ssl1", 2, "").await.unwrap();
        let names = [Identifier::Dns("www.example.test".into())];
        let mut valid = acct.new_order(&NewOrder::new(&names)).await.unwrap();
        valid.finalize().await.unwrap();
        // A name outside the validated domain: the order waits for its challenge.
        let mut pending = acct.new_order(&NewOrder::new(&[Identifier::Dns("www.other.test".into())])).await.unwrap();
        assert_eq!(pending.state().status, instant_acme::OrderStatus::Pending);
        let list = send(&base, "GET", "/portal/acme-urls", &cookie, None).await;
        assert!(list.body.contains(&format!(r#"href="{url_page}""#)), "linked from the list: {}", list.body);
        let shown = send(&base, "GET", &url_page, &cookie, None).await;
        assert_eq!(shown.status, 200, "{}", shown.body);
        let reference = scalar(&f.db, "SELECT MAX(id) FROM orders").await;
        let rows: Vec<&str> = shown.body.split("<tr>").skip(2).collect();
        assert_eq!(rows.len(), 2, "both orders, the header aside: {}", shown.body);
        assert!(rows[0].contains("www.other.test") && rows[0].contains(">pending<"), "newest first: {}", rows[0]);
        assert!(!rows[0].contains("/portal/orders/"), "no certgate order before finalize: {}", rows[0]);
        assert!(rows[1].contains("www.example.test") && rows[1].contains(">valid<"), "{}", rows[1]);
        assert!(rows[1].contains(&format!(r#"href="/portal/orders/DCACME-{reference}""#)), "{}", rows[1]);
        assert!(rows[1].contains(">delivered<"), "the certgate order's status: {}", rows[1]);
        // A page older than the newest holds the rest.
        let newest = scalar(&f.db, "SELECT MAX(id) FROM acme_orders").await;
        let older = send(&base, "GET", &format!("{url_page}?before={newest}"), &cookie, None).await;
        assert!(older.body.contains("www.example.test") && !older.body.contains("www.other.test"));
        assert_eq!(send(&base, "GET", "/portal/acme-urls/999999", &cookie, None).await.status, 404);

        // Listed masked, never in full again; then revoked.
        let list = send(&base, "GET", "/portal/acme-urls", &cookie, None).await;
        assert!(!list.body.contains(&hmac) && !list.body.contains(&kid), "masked: {}", list.body);
        assert!(list.body.contains(&format!("*****{}", &hmac[hmac.len() - 4..])));
        let revoke = format!("csrf={}&id={id}", list.csrf());
        assert_eq!(send(&base, "POST", "/portal/acme-urls/revoke", &cookie, Some(&revoke)).await.status, 303);
        assert!(send(&base, "GET", "/portal/acme-urls", &cookie, None).await.body.contains(">revoked<"));
        assert!(acme_account(&directory, &kid, &hmac, Connections::Reused).await.is_err(), "revoked for good");

        // Without the administrative right: refused, nothing listed or created.
        let (tech, _) = sign_in(&base, "tech", "a long password").await.cookie("certgate_session").unwrap();
        let tech = [("certgate_session", tech.as_str())];
        let page = send(&base, "GET", "/portal/acme-urls", &tech, None).await;
        assert_eq!(page.status, 403);
        assert!(!page.body.contains("*****"), "{}", page.body);
        let form = format!("csrf={}&name=web&product=ssl1&organisation={}", page.csrf(), f.org);
        assert_eq!(send(&base, "POST", "/portal/acme-urls", &tech, Some(&form)).await.status, 403);
        assert_eq!(urls().await, before + 1);
        let refused = send(&base, "GET", &url_page, &tech, None).await;
        assert_eq!(refused.status, 403);
        assert!(!refused.body.contains("example.test"), "{}", refused.body);

        // Another account's administrator does not see this account's URL.
        let account = f.orders.create_account("Other", Formula::Bulk, "EUR", false, 0).await.unwrap();
        let other_admin = orders::Caller::operator(account);
        f.orders.create_user(&other_admin, "other", "a long password", Rights::all()).await.unwrap();
        let (other, _) = sign_in(&base, "other", "a long password").await.cookie("certgate_session").unwrap();
        let foreign = send(&base, "GET", &url_page, &[("certgate_session", other.as_str())], None).await;
        assert_eq!(foreign.status, 404);
        assert!(!foreign.body.contains("example.test"), "{}", foreign.body);
        tdb.cleanup().await;
    }
}
