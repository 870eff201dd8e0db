//! The portal's order pages over HTTP, on SQLite and PostgreSQL: a new
//! order reviewed (price and payment, nothing written) then confirmed once
//! however often it is posted, its certificate downloaded in every format
//! and checked with openssl, the list's searches and CSV, and the actions
//! each state and right allows, with refusals that change nothing.

use certgate_tests::portal::{Answer, send, send_multipart, sign_in};
use certgate_tests::{
    Fixture, Key, TestDb, csr, embedded_root, footprint, new_org, openssl_verify, scalar, serve_router,
};
use orders::{Formula, Rights, Worker};

/// The session cookie of a signed-in `login`.
async fn session(base: &str, login: &str) -> String {
    let signed = sign_in(base, login, "a long password").await;
    assert_eq!(signed.status, 303, "{}", signed.body);
    signed.cookie("certgate_session").expect("a session").0
}

/// Percent-encodes a form value.
fn enc(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The value of hidden field `name` in a page.
fn field(page: &Answer, name: &str) -> String {
    let tag = format!(r#"name="{name}" value=""#);
    let at = page.body.find(&tag).unwrap_or_else(|| panic!("no field {name} in {}", page.body)) + tag.len();
    page.body[at..].split('"').next().unwrap().to_string()
}

/// Reviews an order for `csr_pem` with the new-order form; the review page.
async fn review(base: &str, cookie: &str, f: &Fixture, csr_pem: &str, client_ref: &str) -> Answer {
    let cookies = [("certgate_session", cookie)];
    let form = send(base, "GET", "/portal/orders/new", &cookies, None).await;
    assert_eq!(form.status, 200, "{}", form.body);
    let org = f.org.to_string();
    let fields =
        [("csrf", form.csrf()), ("product", "ssl1".into()), ("organisation", org), ("client_ref", client_ref.into())];
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut all = fields.clone();
    all.push(("csr", csr_pem));
    send_multipart(base, "/portal/orders/new", &cookies, &all, &[]).await
}

/// The fields a review hands on to the confirmation.
const REVIEWED: [&str; 9] =
    ["csrf", "product", "organisation", "csr", "client_ref", "key", "total", "payment", "items"];

/// Confirms a reviewed order; the answer (a redirect to the order's page).
async fn confirm(base: &str, cookie: &str, reviewed: &Answer) -> Answer {
    let body = REVIEWED
        .iter()
        .map(|k| format!("{k}={}", enc(&html_unescape(&field(reviewed, k)))))
        .collect::<Vec<_>>()
        .join("&");
    send(base, "POST", "/portal/orders/new/confirm", &[("certgate_session", cookie)], Some(&body)).await
}

/// The DER of the first PEM block.
fn pem_der(pem: &str) -> Vec<u8> {
    orders::formats::pem_blocks(pem).remove(0)
}

/// Undoes the escapes maud writes in attribute values.
fn html_unescape(s: &str) -> String {
    s.replace("&#10;", "\n").replace("&quot;", "\"").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_is_reviewed_placed_once_downloaded_and_found() {
    for tdb in TestDb::all().await {
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        f.orders.credit_tokens(&f.op, "ssl1", 3, "").await.unwrap();
        f.orders.credit_tokens(&f.op, "sanssl1", 1, "").await.unwrap();
        f.orders.create_user(&f.op, "web", "a long password", Rights::all()).await.unwrap();
        let base = serve_router(certgate_portal::Portal::new(f.orders.clone(), None).router()).await;
        let cookie = session(&base, "web").await;
        let cookies = [("certgate_session", cookie.as_str())];

        // The review quotes the price and payment and writes nothing.
        let before = footprint(&f.db).await;
        let pem = csr(&["www.example.test", "api.example.test"], Key::P256);
        let reviewed = review(&base, &cookie, &f, &pem, "PO-7").await;
        assert_eq!(reviewed.status, 200, "{}", reviewed.body);
        assert!(reviewed.body.contains("www.example.test") && reviewed.body.contains("api.example.test"));
        assert!(reviewed.body.contains(r#"<dd id="payment">Tokens</dd>"#), "{}", reviewed.body);
        assert!(reviewed.body.contains("1 × ssl1") && reviewed.body.contains("1 × sanssl1"), "{}", reviewed.body);
        assert_eq!(footprint(&f.db).await, before, "a review writes nothing ({})", tdb.backend);

        // Confirmed twice (a double click, a reload): one order, one charge.
        let placed = confirm(&base, &cookie, &reviewed).await;
        assert_eq!(placed.status, 303, "{}", placed.body);
        let again = confirm(&base, &cookie, &reviewed).await;
        assert_eq!(again.header("location"), placed.header("location"), "the same order");
        assert_eq!(scalar(&f.db, "SELECT COUNT(*) FROM orders").await, 1);
        assert_eq!(scalar(&f.db, "SELECT COUNT(*) FROM orders WHERE source = 'portal'").await, 1);
        assert_eq!(f.orders.balance(&f.op, orders::Ledger::Tokens, Some("ssl1")).await.unwrap(), 2);
        let page_path = placed.header("location").unwrap().to_string();
        let reference = page_path.rsplit('/').next().unwrap().to_string();

        Worker::new(f.orders.clone(), "t").drain().await.unwrap();
        let page = send(&base, "GET", &page_path, &cookies, None).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains(r#"<dd id="status">delivered</dd>"#), "{}", page.body);
        assert!(page.body.contains("PO-7"));
        let cert = &f.orders.certificates(&f.op, &reference).await.unwrap()[0];
        assert!(page.body.contains(&cert.serial), "the certificate's serial is shown");
        // Delivered: reissue, revoke and automatic renewal; nothing to cancel or approve.
        for shown in ["value=\"reissue\"", "value=\"revoke\"", "value=\"auto_renew_on\""] {
            assert!(page.body.contains(shown), "{shown} offered");
        }
        for hidden in ["value=\"cancel\"", "value=\"approve\"", "value=\"check_dcv\""] {
            assert!(!page.body.contains(hidden), "{hidden} not offered");
        }

        // Downloads: the chain checks out with openssl; DER and PKCS#7 hold the same certificate.
        let download = |format: &'static str| {
            let path = format!("{page_path}/certificates/{}/{format}", cert.id);
            let base = base.clone();
            async move { send(&base, "GET", &path, &cookies, None).await }
        };
        let chain = download("pem_chain").await;
        assert_eq!(chain.status, 200);
        assert!(chain.header("content-disposition").unwrap().contains("attachment"));
        let (leaf, rest) = chain.body.split_at(chain.body.find("-----END CERTIFICATE-----").unwrap() + 26);
        openssl_verify(&embedded_root(&f.db).await, rest, leaf).expect("the downloaded chain verifies");
        let der = download("der").await;
        let (_, x) = x509_parser::parse_x509_certificate(&der.bytes).expect("DER certificate");
        assert_eq!(x.raw_serial_as_string().replace(':', ""), cert.serial);
        let p7 = download("pkcs7").await;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("c.p7b"), &p7.bytes).unwrap();
        let out = std::process::Command::new("openssl")
            .args(["pkcs7", "-inform", "DER", "-print_certs", "-in"])
            .arg(dir.path().join("c.p7b"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).matches("BEGIN CERTIFICATE").count(),
            2,
            "leaf and intermediate"
        );
        assert_eq!(download("zip").await.status, 404, "an unknown format");

        // Searches: by a prefix of the name, status, own reference, serial, dates; and CSV.
        let find = |query: String| {
            let base = base.clone();
            async move { send(&base, "GET", &format!("/portal/orders?{query}"), &cookies, None).await }
        };
        let today = orders::iso(f.orders.now())[..10].to_string();
        let found = |a: &Answer| a.body.contains(&format!(r#"href="/portal/orders/{reference}""#));
        for q in [
            "cn=WWW.exa".to_string(),
            "status=delivered".into(),
            "client_ref=PO-7".into(),
            format!("serial={}", cert.serial.to_ascii_uppercase()),
            format!("reference={reference}"),
            format!("placed_from={today}&placed_to={today}"),
            format!("expires_from={today}"),
        ] {
            let a = find(q.clone()).await;
            assert_eq!(a.status, 200, "{q}: {}", a.body);
            assert!(found(&a), "{q} finds the order ({})", tdb.backend);
        }
        for q in [
            "cn=api.",
            "status=revoked",
            "client_ref=PO-8",
            "serial=00ff",
            "placed_to=2001-01-01",
            "expires_to=2001-01-01",
        ] {
            let a = find(q.to_string()).await;
            assert_eq!(a.status, 200, "{q}");
            assert!(!found(&a), "{q} finds nothing ({})", tdb.backend);
        }
        for q in ["placed_from=yesterday", "status=lost"] {
            let a = find(q.to_string()).await;
            assert_eq!(a.status, 400, "{q} is refused, not ignored");
        }
        let csv = find("status=delivered&format=csv".into()).await;
        assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
        let lines: Vec<&str> = csv.body.lines().collect();
        assert!(lines[0].starts_with("reference,client_ref,cn"), "{}", csv.body);
        assert_eq!(lines.len(), 2);
        assert!(lines[1].starts_with(&format!("{reference},PO-7,www.example.test")), "{}", lines[1]);
        tdb.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_and_missing_rights_order_nothing() {
    for tdb in TestDb::all().await {
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        f.orders.credit_tokens(&f.op, "ssl1", 1, "").await.unwrap();
        f.orders.create_user(&f.op, "web", "a long password", Rights::all()).await.unwrap();
        f.orders.create_user(&f.op, "billing", "a long password", Rights::parse("billing").unwrap()).await.unwrap();
        let base = serve_router(certgate_portal::Portal::new(f.orders.clone(), None).router()).await;
        let cookie = session(&base, "web").await;
        let before = footprint(&f.db).await;

        // A CSR that is not one, and a name under no pre-validation of a product that needs it.
        let bad = review(&base, &cookie, &f, "not a CSR", "").await;
        assert_eq!(bad.status, 400);
        assert!(bad.body.contains(r#"class="error""#) && bad.body.contains("<form"), "the form again, with why");
        // Two orders' worth of names when one token is held: refused at the review.
        let pem = csr(&["www.example.test", "a.example.test", "b.example.test", "c.example.test"], Key::P256);
        let too_many = review(&base, &cookie, &f, &pem, "").await;
        assert_eq!(too_many.status, 400, "{}", too_many.body);
        // An upload of a DER request is read as well as a pasted one.
        let der = pem_der(&csr(&["www.example.test"], Key::P256));
        let form = send(&base, "GET", "/portal/orders/new", &[("certgate_session", &cookie)], None).await;
        let org = f.org.to_string();
        let fields = [("csrf", form.csrf()), ("product", "ssl1".into()), ("organisation", org)];
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let files: [(&str, &str, &[u8]); 1] = [("csr_file", "www.der", &der)];
        let uploaded =
            send_multipart(&base, "/portal/orders/new", &[("certgate_session", &cookie)], &fields, &files).await;
        assert_eq!(uploaded.status, 200, "{}", uploaded.body);
        assert!(uploaded.body.contains("www.example.test"));
        // A confirmation with another token than the session's, or without the review's key.
        let pem = enc(&csr(&["www.example.test"], Key::P256));
        let confirm_path = "/portal/orders/new/confirm";
        let forged = format!("csrf={}&product=ssl1&organisation={}&csr={pem}&key=k", orders::new_token(), f.org);
        let forged = send(&base, "POST", confirm_path, &[("certgate_session", &cookie)], Some(&forged)).await;
        assert_eq!(forged.status, 403);
        let nokey = format!("csrf={}&product=ssl1&organisation={}&csr={pem}", form.csrf(), f.org);
        let nokey = send(&base, "POST", confirm_path, &[("certgate_session", &cookie)], Some(&nokey)).await;
        assert_eq!(nokey.status, 400);
        // A reviewed form changed before it is confirmed (another reference,
        // another product), or a key the review did not make: nothing ordered.
        let changed = |name: &str, value: &str| {
            REVIEWED
                .iter()
                .map(|k| {
                    let v = if *k == name { value.to_string() } else { html_unescape(&field(&uploaded, k)) };
                    format!("{k}={}", enc(&v))
                })
                .collect::<Vec<_>>()
                .join("&")
        };
        let changes = [
            ("client_ref", "not reviewed"),
            ("product", "sanssl1"),
            ("key", "made.up"),
            ("total", "1"),
            ("payment", "invoice"),
            ("items", "ssl1:2"),
        ];
        for (name, value) in changes {
            let tampered = changed(name, value);
            let answer = send(&base, "POST", confirm_path, &[("certgate_session", &cookie)], Some(&tampered)).await;
            assert_eq!(answer.status, 400, "{name}: {}", answer.body);
            assert!(answer.body.contains("changed since it was reviewed"), "{name}: {}", answer.body);
        }
        assert_eq!(footprint(&f.db).await, before, "nothing written ({})", tdb.backend);

        // The billing right alone: no orders to read, none to place.
        let billing = session(&base, "billing").await;
        let list = send(&base, "GET", "/portal/orders", &[("certgate_session", &billing)], None).await;
        assert_eq!(list.status, 403);
        let as_billing = [("certgate_session", billing.as_str())];
        assert_eq!(send(&base, "GET", "/portal/orders/new", &as_billing, None).await.status, 403, "no order form");
        let home = send(&base, "GET", "/portal/", &as_billing, None).await;
        let pem = csr(&["www.example.test"], Key::P256);
        let org = f.org.to_string();
        let fields = [("csrf", home.csrf()), ("product", "ssl1".into()), ("organisation", org), ("csr", pem)];
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let reviewed = send_multipart(&base, "/portal/orders/new", &as_billing, &fields, &[]).await;
        assert_eq!(reviewed.status, 403, "{}", reviewed.body);
        assert_eq!(footprint(&f.db).await, before, "nothing written ({})", tdb.backend);
        tdb.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_price_changed_after_the_review_is_shown_again_not_charged() {
    for tdb in TestDb::all().await {
        let f = Fixture::new(&tdb, Formula::Deposit).await;
        f.orders.credit_deposit(&f.op, 1_000_00, "").await.unwrap();
        f.orders.create_user(&f.op, "web", "a long password", Rights::all()).await.unwrap();
        let base = serve_router(certgate_portal::Portal::new(f.orders.clone(), None).router()).await;
        let cookie = session(&base, "web").await;
        let reviewed = review(&base, &cookie, &f, &csr(&["www.example.test"], Key::P256), "").await;
        assert_eq!(reviewed.status, 200, "{}", reviewed.body);
        assert!(reviewed.body.contains("100.00 EUR"), "{}", reviewed.body);

        // The account's price moves before the confirmation: nothing is
        // ordered, and the review comes again at the new price.
        f.orders.set_price("ssl1", Some(f.account), "EUR", 110_00).await.unwrap();
        let before = footprint(&f.db).await;
        let stale = confirm(&base, &cookie, &reviewed).await;
        assert_eq!(stale.status, 409, "{}", stale.body);
        assert!(stale.body.contains("the price changed"), "{}", stale.body);
        assert!(stale.body.contains("Total 110.00 EUR") && stale.body.contains("Confirm the order"), "{}", stale.body);
        assert_eq!(footprint(&f.db).await, before, "nothing written ({})", tdb.backend);
        assert_eq!(f.orders.balance(&f.op, orders::Ledger::Deposit, None).await.unwrap(), 1_000_00);

        // Confirmed at the price shown now: placed and charged that.
        let placed = confirm(&base, &cookie, &stale).await;
        assert_eq!(placed.status, 303, "{}", placed.body);
        assert_eq!(f.orders.balance(&f.op, orders::Ledger::Deposit, None).await.unwrap(), 890_00);
        assert_eq!(scalar(&f.db, "SELECT MAX(price) FROM orders").await, 110_00);
        certgate_tests::assert_ledger_matches_orders(&f.db).await;
        tdb.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewal_shows_its_price_and_is_placed_at_it() {
    for tdb in TestDb::all().await {
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        f.orders.credit_tokens(&f.op, "ssl1", 2, "").await.unwrap();
        f.orders.credit_tokens(&f.op, "renssl1", 1, "").await.unwrap();
        f.orders.create_user(&f.op, "web", "a long password", Rights::all()).await.unwrap();
        let base = serve_router(certgate_portal::Portal::new(f.orders.clone(), None).router()).await;
        let mut refs = Vec::new();
        for name in ["www.example.test", "api.example.test"] {
            refs.push(f.orders.place(&f.op, &f.ssl1_for(&[name])).await.unwrap().order.reference.unwrap());
        }
        // And a product that does not allow a key to be reused.
        let list = "Range,Code,Product,Validity (year),New order and renewal,Validation,Renewal code,Renewal price,Upstream,Key reuse\n\
                    Brand,fresh1,Fresh key OV,1,80.00,OV,renfresh1,70.00,embedded,no\n";
        f.orders.import_prices(&f.op, list, None).await.unwrap();
        f.orders.credit_tokens(&f.op, "fresh1", 1, "").await.unwrap();
        f.orders.credit_tokens(&f.op, "renfresh1", 1, "").await.unwrap();
        let fresh = orders::PlaceOrder { product_code: "fresh1".into(), ..f.ssl1_for(&["fresh.example.test"]) };
        let fresh = f.orders.place(&f.op, &fresh).await.unwrap().order.reference.unwrap();
        Worker::new(f.orders.clone(), "t").drain().await.unwrap();
        let page = |reference: &str, cookie: &str| {
            let (base, path, cookie) = (base.clone(), format!("/portal/orders/{reference}"), cookie.to_string());
            async move { send(&base, "GET", &path, &[("certgate_session", &cookie)], None).await }
        };
        // Not yet in its renewal window: nothing to renew.
        let cookie = session(&base, "web").await;
        assert!(!page(&refs[0], &cookie).await.body.contains("value=\"renew\""));

        // 89 days before expiry (a new session, the last one has expired by
        // then): the renewal item's price and its token, shown by the button.
        let not_after = f.orders.certificates(&f.op, &refs[0]).await.unwrap()[0].not_after;
        f.orders.set_clock_offset(not_after - f.orders.now() - 89 * 86_400);
        let cookie = session(&base, "web").await;
        let renew = |reference: &str, form: String| {
            let (base, path, cookie) = (base.clone(), format!("/portal/orders/{reference}/action"), cookie.clone());
            async move { send(&base, "POST", &path, &[("certgate_session", &cookie)], Some(&form)).await }
        };
        let shown = page(&refs[0], &cookie).await;
        let price = r#"<p id="renew-price">Price 90.00 EUR · Tokens (renssl1:1)</p>"#;
        assert!(shown.body.contains(price), "{}", shown.body);
        let (csrf, total, payment) = (shown.csrf(), field(&shown, "total"), field(&shown, "payment"));
        assert_eq!(
            (total.as_str(), payment.as_str(), field(&shown, "items").as_str()),
            ("9000", "tokens", "renssl1:1")
        );

        // Posted without the figures, or with others: nothing renewed.
        let before = footprint(&f.db).await;
        let unquoted = renew(&refs[0], format!("csrf={csrf}&action=renew")).await;
        assert_eq!(unquoted.status, 400, "{}", unquoted.body);
        assert!(unquoted.body.contains("its price was not shown"), "{}", unquoted.body);
        let other =
            renew(&refs[0], format!("csrf={csrf}&action=renew&total=10000&payment=tokens&items=renssl1:1")).await;
        assert_eq!(other.status, 409, "{}", other.body);
        assert!(other.body.contains("the price changed"), "{}", other.body);
        assert_eq!(footprint(&f.db).await, before, "nothing written ({})", tdb.backend);

        // At the figures shown: the renewal's page, paid with the renewal token.
        let quoted = format!("total={total}&payment={payment}&items=renssl1:1");
        let renewed = renew(&refs[0], format!("csrf={csrf}&action=renew&{quoted}")).await;
        assert_eq!(renewed.status, 303, "{}", renewed.body);
        let to = renewed.header("location").unwrap().to_string();
        let renewal = f.orders.order(&f.op, to.rsplit('/').next().unwrap()).await.unwrap();
        assert_eq!((renewal.kind.as_str(), renewal.price, renewal.source.as_str()), ("renewal", 90_00, "portal"));
        assert_eq!(f.orders.balance(&f.op, orders::Ledger::Tokens, Some("renssl1")).await.unwrap(), 0);

        // A product that keeps no key: the renewal's CSR is required, and
        // a renewal posted without one renews nothing.
        let shown = page(&fresh, &cookie).await;
        assert!(shown.body.contains(r#"<textarea id="renew-csr" name="csr" rows="6" required>"#), "{}", shown.body);
        assert!(shown.body.contains("(renfresh1:1)"), "{}", shown.body);
        let before = footprint(&f.db).await;
        let quoted = format!("total={}&payment=tokens&items=renfresh1:1", field(&shown, "total"));
        let keyless = renew(&fresh, format!("csrf={csrf}&action=renew&{quoted}")).await;
        assert_eq!(keyless.status, 400, "{}", keyless.body);
        assert!(keyless.body.contains("does not allow a key to be reused"), "{}", keyless.body);
        assert_eq!(footprint(&f.db).await, before, "nothing written ({})", tdb.backend);

        // No token left for the other: the page says why, and offers no button.
        let broke = page(&refs[1], &cookie).await;
        assert!(!broke.body.contains("value=\"renew\""), "{}", broke.body);
        assert!(broke.body.contains(r#"<p class="error" id="renew-refused">Renew: no token left"#), "{}", broke.body);
        certgate_tests::assert_ledger_matches_orders(&f.db).await;
        tdb.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approver_sees_the_price_it_pays_and_pays_that() {
    for tdb in TestDb::all().await {
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        let account = f.orders.create_account("Approving", Formula::Deposit, "EUR", true, 0).await.unwrap();
        let op = orders::Caller::operator(account);
        f.orders.credit_deposit(&op, 1_000_00, "").await.unwrap();
        let org = new_org(&f.orders, &op).await;
        f.orders.create_user(&op, "approver", "a long password", Rights::all()).await.unwrap();
        let mut tech = op.clone();
        tech.rights = Rights::parse("technical").unwrap();
        let order = orders::PlaceOrder { organisation_id: org, ..f.ssl1_for(&["www.example.test"]) };
        let r = f.orders.place(&tech, &order).await.unwrap().order.reference.unwrap();
        let base = serve_router(certgate_portal::Portal::new(f.orders.clone(), None).router()).await;
        let cookie = session(&base, "approver").await;
        let cookies = [("certgate_session", cookie.as_str())];
        let path = format!("/portal/orders/{r}");
        let shown = send(&base, "GET", &path, &cookies, None).await;
        let price = r#"<p id="approve-price">Price 100.00 EUR · Deposit (ssl1:1)</p>"#;
        assert!(shown.body.contains(price), "{}", shown.body);
        let (csrf, total, items) = (shown.csrf(), field(&shown, "total"), field(&shown, "items"));
        let approve = |form: String| {
            let (base, path) = (base.clone(), format!("{path}/action"));
            async move { send(&base, "POST", &path, &cookies, Some(&form)).await }
        };
        // Without the figures, or once the price moved: nothing charged.
        let before = footprint(&f.db).await;
        let unquoted = approve(format!("csrf={csrf}&action=approve")).await;
        assert_eq!(unquoted.status, 400, "{}", unquoted.body);
        f.orders.set_price("ssl1", Some(account), "EUR", 110_00).await.unwrap();
        let stale = approve(format!("csrf={csrf}&action=approve&total={total}&payment=deposit&items={items}")).await;
        assert_eq!(stale.status, 409, "{}", stale.body);
        assert_eq!(footprint(&f.db).await, before, "nothing written ({})", tdb.backend);
        assert_eq!(f.orders.order(&op, &r).await.unwrap().status, "pending_approval");
        // The page read again shows today's price; approved at it, it is charged that.
        let shown = send(&base, "GET", &path, &cookies, None).await;
        assert!(shown.body.contains("Price 110.00 EUR · Deposit"), "{}", shown.body);
        let total = field(&shown, "total");
        let approved = approve(format!("csrf={csrf}&action=approve&total={total}&payment=deposit&items={items}")).await;
        assert_eq!(approved.status, 303, "{}", approved.body);
        assert_eq!(f.orders.order(&op, &r).await.unwrap().status, "processing");
        assert_eq!(f.orders.balance(&op, orders::Ledger::Deposit, None).await.unwrap(), 890_00);
        certgate_tests::assert_ledger_matches_orders(&f.db).await;
        tdb.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_state_offers_its_actions_and_they_work() {
    for tdb in TestDb::all().await {
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        f.orders.credit_tokens(&f.op, "ssl1", 3, "").await.unwrap();
        f.orders.create_user(&f.op, "web", "a long password", Rights::all()).await.unwrap();
        let base = serve_router(certgate_portal::Portal::new(f.orders.clone(), None).router()).await;
        let cookie = session(&base, "web").await;
        let cookies = [("certgate_session", cookie.as_str())];
        let act = |reference: String, form: String| {
            let base = base.clone();
            async move {
                let path = format!("/portal/orders/{reference}/action");
                send(&base, "POST", &path, &cookies, Some(&form)).await
            }
        };
        let page = |reference: String| {
            let base = base.clone();
            async move { send(&base, "GET", &format!("/portal/orders/{reference}"), &cookies, None).await }
        };

        // Waiting for DCV: the token and where to publish it; check or cancel.
        let waiting = f.orders.place(&f.op, &f.ssl1_for(&["www.other.test"])).await.unwrap().order;
        let waiting = waiting.reference.unwrap();
        let p = page(waiting.clone()).await;
        let token = f.orders.order(&f.op, &waiting).await.unwrap().dcv_token.unwrap();
        assert!(p.body.contains(&token) && p.body.contains("_certgate-dcv.www.other.test."), "{}", p.body);
        assert!(p.body.contains("value=\"check_dcv\"") && p.body.contains("value=\"cancel\""));
        assert!(!p.body.contains("value=\"revoke\""));
        let csrf = p.csrf();
        // Without the session's token: refused, nothing changes.
        let forged = act(waiting.clone(), format!("csrf={}&action=cancel", orders::new_token())).await;
        assert_eq!(forged.status, 403);
        assert_eq!(f.orders.order(&f.op, &waiting).await.unwrap().status, "waiting_dcv");
        // An action the state does not allow is refused by the order core.
        let revoke = act(waiting.clone(), format!("csrf={csrf}&action=revoke&reason=1&confirm=yes")).await;
        assert_eq!(revoke.status, 400, "{}", revoke.body);
        let cancelled = act(waiting.clone(), format!("csrf={csrf}&action=cancel")).await;
        assert_eq!(cancelled.status, 303, "{}", cancelled.body);
        assert_eq!(f.orders.order(&f.op, &waiting).await.unwrap().status, "cancelled_refunded");
        assert_eq!(f.orders.balance(&f.op, orders::Ledger::Tokens, Some("ssl1")).await.unwrap(), 3, "refunded");

        // Delivered: automatic renewal on, then revoked only once confirmed.
        let delivered = f.orders.place(&f.op, &f.ssl1_for(&["www.example.test"])).await.unwrap().order;
        let delivered = delivered.reference.unwrap();
        Worker::new(f.orders.clone(), "t").drain().await.unwrap();
        let on = act(delivered.clone(), format!("csrf={csrf}&action=auto_renew_on")).await;
        assert_eq!(on.status, 303, "{}", on.body);
        assert!(f.orders.order(&f.op, &delivered).await.unwrap().auto_renew);
        assert!(page(delivered.clone()).await.body.contains("value=\"auto_renew_off\""));
        let unconfirmed = act(delivered.clone(), format!("csrf={csrf}&action=revoke&reason=1")).await;
        assert_eq!(unconfirmed.status, 400);
        assert_eq!(f.orders.order(&f.op, &delivered).await.unwrap().status, "delivered");
        let revoked = act(delivered.clone(), format!("csrf={csrf}&action=revoke&reason=4&confirm=yes")).await;
        assert_eq!(revoked.status, 303, "{}", revoked.body);
        assert_eq!(f.orders.order(&f.op, &delivered).await.unwrap().status, "revoked");
        let reason = scalar(&f.db, "SELECT MAX(revocation_reason) FROM certificates").await;
        assert_eq!(reason, 4);

        // An order of another account is unknown here.
        let account = f.orders.create_account("Other", Formula::Deposit, "EUR", false, 0).await.unwrap();
        let op = orders::Caller::operator(account);
        f.orders.import_prices(&op, certgate_tests::TEST_PRICES, None).await.unwrap();
        f.orders.credit_deposit(&op, 1_000_00, "").await.unwrap();
        let order =
            orders::PlaceOrder { organisation_id: new_org(&f.orders, &op).await, ..f.ssl1_for(&["www.example.test"]) };
        let other = f.orders.place(&op, &order).await.unwrap().order.reference.unwrap();
        assert_eq!(page(other.clone()).await.status, 404);
        let foreign = act(other.clone(), format!("csrf={csrf}&action=cancel")).await;
        assert_eq!(foreign.status, 404);
        tdb.cleanup().await;
    }
}
