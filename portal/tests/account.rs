//! The account page over HTTP, on SQLite and PostgreSQL: the statement of
//! each ledger with the balance after every movement, paged and as CSV; the
//! consumption per product and month as an SVG chart and a table; bad
//! fields refused; and the billing right required.

use certgate_tests::portal::{send, sign_in};
use certgate_tests::{Fixture, TestDb, serve_router};
use orders::{Formula, Rights};

async fn session(base: &str, login: &str) -> String {
    let signed = sign_in(base, login, "a long password").await;
    assert_eq!(signed.status, 303, "{}", signed.body);
    signed.cookie("certgate_session").expect("a session").0
}

/// The cells of each row of the table with `id`.
fn rows(body: &str, id: &str) -> Vec<Vec<String>> {
    let start = body.find(&format!(r#"<table id="{id}">"#)).unwrap_or_else(|| panic!("no table {id}: {body}"));
    let table = &body[start..start + body[start..].find("</table>").unwrap()];
    let tbody = &table[table.find("<tbody>").unwrap()..];
    tbody
        .split("<tr>")
        .skip(1)
        .map(|row| {
            row.split("<td")
                .skip(1)
                .map(|cell| {
                    let inner = &cell[cell.find('>').unwrap() + 1..cell.find("</td>").unwrap()];
                    // The text without tags (a reference is a link).
                    let mut text = String::new();
                    let mut in_tag = false;
                    for ch in inner.chars() {
                        match ch {
                            '<' => in_tag = true,
                            '>' => in_tag = false,
                            c if !in_tag => text.push(c),
                            _ => {}
                        }
                    }
                    text
                })
                .collect()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statements_and_consumption_show_every_movement_and_count() {
    for tdb in TestDb::all().await {
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        f.orders.credit_tokens(&f.op, "ssl1", 3, "").await.unwrap();
        let kept = f.orders.place(&f.op, &f.ssl1_for(&["www.example.test"])).await.unwrap().order;
        let cancelled = f.orders.place(&f.op, &f.ssl1_for(&["api.example.test"])).await.unwrap().order;
        f.orders.cancel(&f.op, cancelled.reference.as_deref().unwrap()).await.unwrap();
        f.orders.create_user(&f.op, "money", "a long password", Rights::parse("billing").unwrap()).await.unwrap();
        f.orders.create_user(&f.op, "tech", "a long password", Rights::parse("technical").unwrap()).await.unwrap();
        let base = serve_router(certgate_portal::Portal::new(f.orders.clone(), None).router()).await;
        let cookie = session(&base, "money").await;
        let cookies = [("certgate_session", cookie.as_str())];

        // This month's tokens: the credit, two debits and a refund, each with the balance after it.
        let page = send(&base, "GET", "/portal/account", &cookies, None).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let lines = rows(&page.body, "statement-lines");
        let moves: Vec<(&str, &str, &str)> =
            lines.iter().map(|l| (l[3].as_str(), l[5].as_str(), l[6].as_str())).collect();
        assert_eq!(
            moves,
            [("topup", "3", "3"), ("order", "-1", "2"), ("order", "-1", "1"), ("refund", "1", "2")],
            "{}",
            tdb.backend
        );
        assert_eq!(lines[1][1], kept.reference.clone().unwrap(), "the order's reference");
        assert_eq!(lines[1][2], "www.example.test");

        // Consumption: the order kept counts, the cancelled one does not; the chart tells the same.
        let page = send(&base, "GET", "/portal/account/consumption", &cookies, None).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let consumption = rows(&page.body, "consumption-table");
        let month = orders::iso(f.orders.now())[..7].to_string();
        assert_eq!(consumption, [vec![month.clone(), "ssl1".into(), "1".into(), "100.00".into()]]);
        assert!(page.body.contains("<svg class=\"chart\""), "a chart drawn on the server");
        // Twelve months, the last this one with its order; the earlier ones empty.
        let desc = page.body.split("<desc id=\"chart-desc\">").nth(1).unwrap().split("</desc>").next().unwrap();
        assert_eq!(desc.split(", ").count(), 12, "{desc}");
        assert!(desc.ends_with(&format!("{month}: 1")) && desc.matches(": 0").count() == 11, "{desc}");
        assert!(page.body.contains(&format!("{month} · ssl1: 1")));

        // A deposit statement of a bulk account: nothing; CSV of the tokens: a header and 4 lines.
        let deposit = send(&base, "GET", "/portal/account?ledger=deposit", &cookies, None).await;
        assert_eq!(deposit.status, 200);
        assert!(!deposit.body.contains("statement-lines"));
        let csv = send(&base, "GET", "/portal/account?ledger=tokens&format=csv", &cookies, None).await;
        assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
        assert_eq!(csv.body.lines().count(), 5, "{}", csv.body);
        assert!(csv.body.starts_with("date,reference,cn,reason,item,amount,balance"));

        // A period before anything happened, then bad fields: refused, not ignored.
        let old = send(&base, "GET", "/portal/account?from=2001-01-01&to=2001-01-31", &cookies, None).await;
        assert_eq!(old.status, 200);
        assert!(!old.body.contains("statement-lines"));
        for bad in ["from=last-week", "to=2001-13-01", "ledger=gold"] {
            let a = send(&base, "GET", &format!("/portal/account?{bad}"), &cookies, None).await;
            assert_eq!(a.status, 400, "{bad}");
        }

        // Without the billing right: refused.
        let tech = session(&base, "tech").await;
        for path in ["/portal/account", "/portal/account/consumption"] {
            let refused = send(&base, "GET", path, &[("certgate_session", &tech)], None).await;
            assert_eq!(refused.status, 403, "{path}");
        }
        tdb.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumption_counts_each_month_and_follows_cancellations() {
    for tdb in TestDb::all().await {
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        f.orders.credit_tokens(&f.op, "ssl1", 5, "").await.unwrap();
        f.orders.credit_tokens(&f.op, "sanssl1", 2, "").await.unwrap();
        f.orders.create_user(&f.op, "money", "a long password", Rights::parse("billing").unwrap()).await.unwrap();
        let day = 86_400;
        let placed = std::cell::RefCell::new(Vec::new());
        let place_at = |offset: i64, names: &'static [&'static str]| {
            let (f, placed) = (&f, &placed);
            async move {
                f.orders.set_clock_offset(offset);
                let order = f.orders.place(&f.op, &f.ssl1_for(names)).await.unwrap().order;
                placed.borrow_mut().push(order.clone());
                order.reference.unwrap()
            }
        };
        // Two months back (about): two orders, one of them for two names.
        place_at(-62 * day, &["a.example.test"]).await;
        place_at(-62 * day, &["b.example.test", "c.example.test"]).await;
        // A month back (about): two, one of them cancelled then (its tokens come back).
        place_at(-31 * day, &["d.example.test"]).await;
        let cancelled = place_at(-31 * day, &["e.example.test"]).await;
        f.orders.cancel(&f.op, &cancelled).await.unwrap();
        // This month: one.
        place_at(0, &["f.example.test"]).await;
        certgate_tests::assert_consumption_matches_orders(&f.db).await;

        let base = serve_router(certgate_portal::Portal::new(f.orders.clone(), None).router()).await;
        let cookie = session(&base, "money").await;
        let page =
            send(&base, "GET", "/portal/account/consumption", &[("certgate_session", cookie.as_str())], None).await;
        assert_eq!(page.status, 200, "{}", page.body);
        // The orders kept, summed per calendar month and product, as the table must show them.
        let mut sums = std::collections::BTreeMap::<(String, String), (i64, i64)>::new();
        for o in placed.borrow().iter().filter(|o| o.reference.as_deref() != Some(cancelled.as_str())) {
            let sum = sums.entry((orders::iso(o.created_at)[..7].to_string(), o.product_code.clone())).or_default();
            *sum = (sum.0 + 1, sum.1 + o.price);
        }
        assert!(sums.len() >= 2, "orders in more than one month: {sums:?}");
        let expected: Vec<Vec<String>> =
            sums.into_iter().map(|((m, p), (n, a))| vec![m, p, n.to_string(), orders::format_money(a)]).collect();
        let mut shown = rows(&page.body, "consumption-table");
        shown.sort();
        assert_eq!(shown, expected, "{}", tdb.backend);
        tdb.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_statement_is_paged_without_losing_or_repeating_a_line() {
    for tdb in TestDb::all().await {
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        // 230 movements in the same few seconds: pages must order them by id too.
        for _ in 0..230 {
            f.orders.credit_tokens(&f.op, "ssl1", 1, "").await.unwrap();
        }
        f.orders.create_user(&f.op, "money", "a long password", Rights::parse("billing").unwrap()).await.unwrap();
        let base = serve_router(certgate_portal::Portal::new(f.orders.clone(), None).router()).await;
        let cookie = session(&base, "money").await;
        let mut path = "/portal/account".to_string();
        let mut balances = Vec::new();
        let mut pages = 0;
        loop {
            let page = send(&base, "GET", &path, &[("certgate_session", &cookie)], None).await;
            assert_eq!(page.status, 200);
            pages += 1;
            balances.extend(rows(&page.body, "statement-lines").into_iter().map(|l| l[6].parse::<i64>().unwrap()));
            // The next page's link: the one that says where it starts.
            let Some(at) = page.body.find("after=") else { break };
            let start = page.body[..at].rfind("href=\"").unwrap() + 6;
            path = page.body[start..at + page.body[at..].find('"').unwrap()].replace("&amp;", "&");
        }
        assert_eq!(pages, 3, "100 + 100 + 30 ({})", tdb.backend);
        assert_eq!(balances, (1..=230).collect::<Vec<i64>>(), "every line once, in order");

        // An export of more lines than a CSV holds is refused, not cut short.
        let csv = |path: &'static str| {
            let (base, cookie) = (base.clone(), cookie.clone());
            async move { send(&base, "GET", path, &[("certgate_session", &cookie)], None).await }
        };
        assert_eq!(csv("/portal/account?format=csv").await.body.lines().count(), 231, "230 and the header");
        let mut c = f.db.acquire_writer().await.unwrap();
        storage::sql::query_built(
            "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 10000)
             INSERT INTO ledger (account_id, order_id, reason, asset, item, amount, balance, author, note, created_at)
             SELECT $1, NULL, 'topup', 'token', 'ssl1', 1, 230 + n, 'test', '', $2 FROM seq"
                .to_string(),
        )
        .bind(f.account)
        .bind(f.orders.now())
        .execute(&mut c)
        .await
        .unwrap();
        drop(c);
        let refused = csv("/portal/account?format=csv").await;
        assert_eq!(refused.status, 400, "{}", tdb.backend);
        assert!(refused.body.contains("at most 10,000 lines"), "{}", refused.body);
        assert_eq!(refused.header("content-type"), Some("text/html; charset=utf-8"), "no file");
        tdb.cleanup().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renewals_to_prepare_contacts_and_warning_levels() {
    for tdb in TestDb::all().await {
        let f = Fixture::new(&tdb, Formula::Bulk).await;
        f.orders.credit_tokens(&f.op, "ssl1", 2, "").await.unwrap();
        let o = f.orders.place(&f.op, &f.ssl1_for(&["www.example.test"])).await.unwrap().order;
        orders::Worker::new(f.orders.clone(), "t").drain().await.unwrap();
        f.orders.create_user(&f.op, "web", "a long password", Rights::all()).await.unwrap();
        f.orders.create_user(&f.op, "money", "a long password", Rights::parse("billing").unwrap()).await.unwrap();
        let base = serve_router(certgate_portal::Portal::new(f.orders.clone(), None).router()).await;
        let cookie = session(&base, "web").await;
        let cookies = [("certgate_session", cookie.as_str())];

        // The certificate (a year) renews in about ten months: not in the next 90 days...
        let soon = send(&base, "GET", "/portal/account/renewals", &cookies, None).await;
        assert_eq!(soon.status, 200, "{}", soon.body);
        assert!(!soon.body.contains("renewing-table"));
        // ...but in a period around its renewal date, with the token it takes and those held.
        let day = |d: i64| orders::iso(f.orders.now() + d * 86_400)[..10].to_string();
        let path = format!("/portal/account/renewals?from={}&to={}", day(250), day(366));
        let later = send(&base, "GET", &path, &cookies, None).await;
        let renewing = rows(&later.body, "renewing-table");
        assert_eq!(renewing.len(), 1, "{}", later.body);
        assert_eq!(renewing[0][0], o.reference.clone().unwrap());
        let needs = rows(&later.body, "needs-table");
        // Renewed 65 days before expiry, it is priced as a renewal: one renssl1 token, none held.
        assert_eq!(needs, [["renssl1", "1", "0", "1"]], "{needs:?}");
        let csv = send(&base, "GET", &format!("{path}&format=csv"), &cookies, None).await;
        assert!(csv.body.starts_with("kind,item or reference"), "{}", csv.body);
        let bad = send(&base, "GET", "/portal/account/renewals?from=soon", &cookies, None).await;
        assert_eq!(bad.status, 400);

        // A contact and a deposit warning level, through the forms.
        let page = send(&base, "GET", "/portal/account/contacts", &cookies, None).await;
        assert_eq!(page.status, 200);
        let csrf = page.csrf();
        let post = |path: &'static str, form: String| {
            let base = base.clone();
            async move { send(&base, "POST", path, &cookies, Some(&form)).await }
        };
        let set =
            post("/portal/account/contacts", format!("csrf={csrf}&role=delivery&email=pki%40example.test&language=fr"))
                .await;
        assert_eq!(set.status, 303, "{}", set.body);
        let level =
            post("/portal/account/warning-level", format!("csrf={csrf}&ledger=deposit&item=&level=12.50")).await;
        assert_eq!(level.status, 303, "{}", level.body);
        let page = send(&base, "GET", "/portal/account/contacts", &cookies, None).await;
        assert_eq!(
            rows(&page.body, "contacts-table"),
            [vec!["delivery".to_string(), "pki@example.test".into(), "fr".into()]]
        );
        assert_eq!(rows(&page.body, "levels-table"), [vec!["deposit".to_string(), "EUR".into(), "12.50".into()]]);

        // Bad fields and a forged form change nothing.
        let before = certgate_tests::scalar(&f.db, "SELECT COUNT(*) FROM audit_log").await;
        for (path, form) in [
            ("/portal/account/contacts", format!("csrf={csrf}&role=delivery&email=not-an-address&language=fr")),
            ("/portal/account/contacts", format!("csrf={csrf}&role=boss&email=a%40example.test&language=fr")),
            ("/portal/account/warning-level", format!("csrf={csrf}&ledger=deposit&item=&level=lots")),
            ("/portal/account/warning-level", format!("csrf={csrf}&ledger=tokens&item=&level=5")),
            ("/portal/account/warning-level", format!("csrf={csrf}&ledger=invoice&item=&level=5")),
        ] {
            let a = post(path, form.clone()).await;
            assert_eq!(a.status, 400, "{form}: {}", a.body);
        }
        let forged =
            post("/portal/account/contacts", "csrf=x&role=delivery&email=evil%40example.test&language=en".into()).await;
        assert_eq!(forged.status, 403);
        assert_eq!(certgate_tests::scalar(&f.db, "SELECT COUNT(*) FROM audit_log").await, before, "nothing recorded");

        // The billing right alone: levels, not contacts; setting a contact is refused.
        let money = session(&base, "money").await;
        let page = send(&base, "GET", "/portal/account/contacts", &[("certgate_session", &money)], None).await;
        assert!(page.body.contains("levels-table") && !page.body.contains("contacts-table"));
        let form = format!("csrf={}&role=generic&email=a%40example.test&language=en", page.csrf());
        let refused =
            send(&base, "POST", "/portal/account/contacts", &[("certgate_session", &money)], Some(&form)).await;
        assert_eq!(refused.status, 403);
        tdb.cleanup().await;
    }
}
