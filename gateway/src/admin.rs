//! The operator's commands: they act through the order core as the operator
//! of an account and print what they did.

use orders::NewOrganisation;
use orders::{Caller, Formula, Ledger, Orders, Rights, format_money, iso, parse_money};

use crate::cli::{
    AccountCmd, AcmeUrlCmd, AutoRenewCmd, Command, ContactCmd, DomainCmd, MonitorCmd, OrderCmd, OrgCmd,
    PrevalidationCmd, ProductCmd, UserCmd, WebhookCmd,
};

/// Prints one line of a command's output. A closed standard output (`| head`)
/// ends the command quietly, as it ends other Unix tools, instead of the
/// panic `println!` gives on a broken pipe (see [`write_out`]).
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::admin::say(format_args!($($arg)*))
    };
}

/// Writes `line` and a newline to standard output; see [`say!`].
pub fn say(line: std::fmt::Arguments<'_>) {
    write_out(format_args!("{line}\n"));
}

/// Writes `text` to standard output as it is. On a broken pipe the command
/// ends at once, silently, with the status a shell gives a process killed by
/// SIGPIPE (141): not 0, since what was not read may have been shown only
/// once (an ACME URL's credentials).
pub fn write_out(text: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(text).and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(141);
        }
        eprintln!("certgate: cannot write the output: {e}");
        std::process::exit(1);
    }
}

/// A command failed; the message is for the operator.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error(transparent)]
    Order(#[from] orders::OrderError),
    #[error(transparent)]
    Storage(#[from] storage::Error),
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Runs one operator command. `public_url` is where clients reach the gateway.
pub async fn run(orders: &Orders, cmd: Command, public_url: &str) -> Result<(), AdminError> {
    match cmd {
        Command::Account(AccountCmd::Create { name, formula, currency, approval_mode, overdraft }) => {
            let formula = Formula::parse(&formula).ok_or_else(|| {
                AdminError::Usage(format!("formula {formula:?}: use bulk, rebate, deposit or monthly"))
            })?;
            let overdraft = money(&overdraft)?;
            let id = orders.create_account(&name, formula, &currency, approval_mode, overdraft).await?;
            say!("{id}");
        }
        Command::Account(AccountCmd::List) => {
            for a in orders.accounts().await? {
                say!("{}\t{}\t{}\t{}\tapproval={}", a.id, a.name, a.formula.as_str(), a.currency, a.approval_mode);
            }
        }
        Command::Org(OrgCmd::Create { account, name, ident, country, address, vat }) => {
            let org = NewOrganisation {
                account_id: account,
                name: &name,
                ident: &ident,
                country: &country,
                address: &address,
                vat: &vat,
            };
            say!("{}", orders.create_organisation(&Caller::operator(account), &org).await?);
        }
        Command::User(UserCmd::Create(u)) => {
            let rights = Rights::parse(&u.rights).map_err(AdminError::Usage)?;
            let password = user_password(&u)?;
            let id = orders.create_user(&Caller::operator(u.account), &u.login, &password, rights).await?;
            say!("{id}");
        }
        Command::User(UserCmd::Unlock { login }) => {
            orders.unlock_user(&login).await?;
            say!("unlocked {login}");
        }
        Command::Product(ProductCmd::Import { file, account }) => {
            let text = std::fs::read_to_string(&file)?;
            let caller = Caller::operator(account.unwrap_or(0));
            let r = orders.import_prices(&caller, &text, account).await?;
            say!("imported {} products and {} prices", r.products, r.prices);
        }
        Command::Product(ProductCmd::List) => {
            for p in orders.products().await? {
                say!(
                    "{}\t{}\t{} days\t{}\t{}\tupstream={}\twildcard={}\tmax_sans={}",
                    p.code,
                    p.name,
                    p.validity_days,
                    p.validation,
                    p.brand,
                    p.upstream,
                    p.wildcard,
                    p.max_sans
                );
            }
        }
        Command::CreditTokens { account, item, count, note } => {
            let balance = orders.credit_tokens(&Caller::operator(account), &item, count, &note).await?;
            say!("{item}: {balance} tokens");
        }
        Command::CreditDeposit { account, amount, note } => {
            let balance = orders.credit_deposit(&Caller::operator(account), money(&amount)?, &note).await?;
            say!("deposit: {}", format_money(balance));
        }
        Command::Prevalidation(PrevalidationCmd::Add { account, org, brand, validation, days }) => {
            let expires = orders.now() + days * 86_400;
            let id = orders.add_prevalidation(&Caller::operator(account), org, &brand, &validation, expires).await?;
            say!("{id}");
        }
        Command::Domain(cmd) => domain(orders, cmd).await?,
        Command::Monitor(cmd) => monitor(orders, cmd).await?,
        Command::AcmeUrl(AcmeUrlCmd::Create { account, product, org, name }) => {
            let c = orders.create_acme_url(&Caller::operator(account), &name, &product, org).await?;
            print_acme_credentials(public_url, &c, "domain.ltd", None, None);
        }
        Command::AcmeUrl(AcmeUrlCmd::List { account }) => {
            for u in orders.acme_urls(&Caller::operator(account)).await? {
                say!(
                    "{}\t{}\t{}\torg={}\t{}/acme/{}/directory\tkid={}\thmac={}\t{}",
                    u.id,
                    u.name,
                    u.product_code,
                    u.organisation_id,
                    public_url,
                    u.path,
                    u.kid_masked,
                    u.hmac_masked,
                    if u.revoked { "revoked" } else { "active" }
                );
            }
        }
        Command::AcmeUrl(AcmeUrlCmd::Revoke { account, id }) => {
            orders.revoke_acme_url(&Caller::operator(account), id).await?;
            say!("revoked ACME URL {id}");
        }
        Command::Order(OrderCmd::Place { account, org, product, csr, names, wait_for_funds }) => {
            let req = orders::PlaceOrder {
                organisation_id: org,
                product_code: product,
                csr: std::fs::read(&csr)?,
                names,
                wait_for_funds,
                ..Default::default()
            };
            let placed = orders.place(&Caller::operator(account), &req).await?;
            let o = placed.order;
            say!("{}\t{}", o.reference.unwrap_or_default(), o.status);
        }
        Command::Order(OrderCmd::List { account, status, limit, offset }) => {
            // One more than the page, to tell whether more follow.
            let status = match status.as_str() {
                "" => None,
                word => Some(
                    orders::Status::parse(word)
                        .ok_or_else(|| AdminError::Usage(format!("--status: no order status {word:?}")))?,
                ),
            };
            let filter = orders::OrderFilter { status, limit: limit + 1, offset, ..Default::default() };
            let mut page = orders.list_orders(&Caller::operator(account), &filter).await?;
            if page.len() as i64 > limit {
                page.truncate(limit as usize);
                eprintln!("more orders follow: list them with --offset {}", offset + limit);
            }
            for o in page {
                say!(
                    "{}\t{}\t{}\t{}\t{}\t{} {}\t{}",
                    o.reference.unwrap_or_default(),
                    iso(o.created_at),
                    o.product_code,
                    o.cn,
                    o.status,
                    format_money(o.price),
                    o.currency,
                    o.payment
                );
            }
        }
        Command::Order(OrderCmd::Csr { account, reference, csr }) => {
            let o = orders.provide_csr(&Caller::operator(account), &reference, &std::fs::read(&csr)?).await?;
            say!("{}\t{}", o.reference.unwrap_or_default(), o.status);
        }
        Command::Order(OrderCmd::Cert { account, reference }) => {
            let certs = orders.certificates(&Caller::operator(account), &reference).await?;
            let c =
                certs.last().ok_or_else(|| AdminError::Usage(format!("order {reference} has no certificate yet")))?;
            write_out(format_args!("{}{}", c.leaf_pem, c.chain_pem));
        }
        Command::Statement { account, kind, csv } => statement(orders, account, &kind, csv).await?,
        Command::AutoRenew(cmd) => auto_renew(orders, cmd).await?,
        Command::CaaCheck { account, product, names } => {
            for (name, verdict) in orders.caa_verdicts(&Caller::operator(account), &product, &names).await? {
                say!("{name}\t{}\t{}", verdict.as_str(), verdict.detail().unwrap_or(""));
            }
        }
        Command::Contact(ContactCmd::Set { account, role, email, language }) => {
            orders.set_contact(&Caller::operator(account), &role, &email, &language).await?;
            say!("{role}\t{email}\t{language}");
        }
        Command::Contact(ContactCmd::Remove { account, role }) => {
            orders.remove_contact(&Caller::operator(account), &role).await?;
        }
        Command::Contact(ContactCmd::List { account }) => {
            for c in orders.contacts(&Caller::operator(account)).await? {
                say!("{}\t{}\t{}", c.role, c.email, c.language);
            }
        }
        Command::Webhook(WebhookCmd::Create { account, url }) => {
            let w = orders.create_webhook(&Caller::operator(account), &url).await?;
            say!("webhook {} for {}", w.webhook.id, w.webhook.url);
            say!("  signing secret: {}", w.secret);
            say!(
                "  (shown once: events carry certgate-signature = v1=hex(HMAC-SHA256(secret, timestamp + \".\" + body)))"
            );
        }
        Command::Webhook(WebhookCmd::List { account }) => {
            for w in orders.webhooks(&Caller::operator(account)).await? {
                say!("{}\t{}\t{}", w.id, w.url, iso(w.created_at));
            }
        }
        Command::Webhook(WebhookCmd::Delete { account, id }) => {
            orders.delete_webhook(&Caller::operator(account), id).await?;
        }
        Command::Webhook(WebhookCmd::Deliveries { account, id, limit }) => {
            say!("event\tchannel\tto\tstate\tattempts\tlast answer\tlast error\tat");
            for d in orders.deliveries(&Caller::operator(account), id, limit).await? {
                say!(
                    "evt_{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    d.event_id,
                    d.channel,
                    d.target,
                    d.state,
                    d.attempts,
                    d.last_status.unwrap_or_default(),
                    d.last_error.unwrap_or_default(),
                    iso(d.updated_at)
                );
            }
        }
        Command::WarningLevel { account, item, level } => {
            let (which, parsed) = match &item {
                Some(_) => (Ledger::Tokens, level.trim().parse().ok()),
                None => (Ledger::Deposit, parse_money(&level)),
            };
            let parsed =
                parsed.ok_or_else(|| AdminError::Usage(format!("--level: {level:?} is not a count or an amount")))?;
            orders.set_warning_level(&Caller::operator(account), which, item.as_deref(), parsed).await?;
        }
        Command::RenewalForecast { account, from, to, csv } => {
            let (from, to) = (day(&from, "--from")?, day(&to, "--to")? + 86_400);
            let f = orders.renewal_forecast(&Caller::operator(account), from, to).await?;
            if csv {
                write_out(format_args!("{}", orders::forecast_csv(&f)));
            } else {
                say!("{} orders to renew from {} to {}", f.orders.len(), iso(f.from), iso(f.to));
                say!("item	needed	held	shortfall");
                for n in &f.needs {
                    say!("{}	{}	{}	{}", n.item, n.needed, n.held, n.shortfall);
                }
                for o in &f.orders {
                    let items = o.items.iter().map(|(i, n)| format!("{n} {i}")).collect::<Vec<_>>().join(" + ");
                    let reference = o.order.reference.clone().unwrap_or_default();
                    say!("{reference}	{}	expires {}	{items}", o.order.cn, iso(o.not_after));
                }
            }
        }
        Command::Jobs { state, limit } => {
            say!("id\tkind\tfor\tstate\tattempts\tnext run\tlast error");
            let state = match state.as_str() {
                "" => None,
                word => Some(
                    orders::JobState::parse(word)
                        .ok_or_else(|| AdminError::Usage(format!("--state is queued, done or failed, not {word:?}")))?,
                ),
            };
            for j in orders.jobs(state, limit).await? {
                say!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    j.id,
                    j.kind,
                    j.subject,
                    j.state,
                    j.attempts,
                    iso(j.run_after),
                    j.last_error.unwrap_or_default()
                );
            }
        }
        Command::Demo { .. } | Command::Serve | Command::Migrate | Command::CheckConfig => {
            return Err(AdminError::Usage("not an operator command".into()));
        }
    }
    Ok(())
}

async fn statement(orders: &Orders, account: i64, kind: &str, csv: bool) -> Result<(), AdminError> {
    let caller = Caller::operator(account);
    if kind == "balances" {
        let rows = orders.token_balances(&caller).await?;
        if csv {
            write_out(format_args!("{}", orders::balances_csv(&rows)));
        } else {
            say!("product\tname\tlast operation\tbalance");
            for r in rows {
                say!("{}\t{}\t{}\t{}", r.item, r.name, iso(r.last_operation), r.balance);
            }
        }
        return Ok(());
    }
    let which = match kind {
        "tokens" => Ledger::Tokens,
        "deposit" => Ledger::Deposit,
        "invoice" => Ledger::Invoice,
        other => {
            return Err(AdminError::Usage(format!(
                "statement kind {other:?}: use balances, tokens, deposit or invoice"
            )));
        }
    };
    let lines = orders.statement(&caller, which, 0, i64::MAX).await?;
    if csv {
        write_out(format_args!("{}", orders::statement_csv(&lines)));
    } else {
        let fmt = |v: i64| if which == Ledger::Tokens { v.to_string() } else { format_money(v) };
        say!("date\treference\tcn\treason\titem\tamount\tbalance");
        for l in lines {
            say!(
                "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                iso(l.at),
                l.reference.unwrap_or_default(),
                l.cn.unwrap_or_default(),
                l.reason,
                l.item,
                fmt(l.amount),
                fmt(l.balance)
            );
        }
    }
    Ok(())
}

/// The domain inventory: adds, validates, removes and lists domains.
async fn domain(orders: &Orders, cmd: DomainCmd) -> Result<(), AdminError> {
    let d = match cmd {
        DomainCmd::Add { account, org, domain, validated } => {
            orders.add_domain(&Caller::operator(account), org, &domain, validated).await?
        }
        DomainCmd::Validate { account, id } => orders.validate_domain(&Caller::operator(account), id).await?,
        DomainCmd::Remove { account, id } => {
            return Ok(orders.remove_domain(&Caller::operator(account), id).await?);
        }
        DomainCmd::List { account } => {
            let (list, total) = orders.domains(&Caller::operator(account), 0).await?;
            for d in &list {
                print_domain(d);
            }
            if total > list.len() as i64 {
                say!("({} of {total} domains)", list.len());
            }
            return Ok(());
        }
    };
    print_domain(&d);
    if let Some((record, token)) = &d.dcv {
        say!("publish the TXT record {record} holding {token}, then: certgate domain validate --id {}", d.id);
    }
    Ok(())
}

/// Certificate monitoring: defaults, one certificate's monitor, the list, the history.
async fn monitor(orders: &Orders, cmd: MonitorCmd) -> Result<(), AdminError> {
    match cmd {
        MonitorCmd::Defaults { account, on, frequency, manager, language, plain_text } => {
            let d = orders::MonitorDefaults {
                default_on: on,
                frequency_days: frequency,
                manager_email: manager,
                manager_language: language,
                plain_text,
            };
            orders.set_monitor_defaults(&Caller::operator(account), &d).await?;
            say!("new certificates monitored: {on}, every {frequency} days");
        }
        MonitorCmd::Set { account, order, state, frequency, hosts, port, starttls } => {
            let enabled = match state.as_deref() {
                None => None,
                Some("on") => Some(true),
                Some("off") => Some(false),
                Some(other) => return Err(AdminError::Usage(format!("--state {other:?}: on or off"))),
            };
            let change = orders::MonitorChange { enabled, frequency_days: frequency, hosts, port, starttls };
            print_monitor(&orders.set_monitor(&Caller::operator(account), &order, &change).await?);
        }
        MonitorCmd::List { account } => {
            for m in orders.monitors(&Caller::operator(account), 500, 0).await? {
                print_monitor(&m);
            }
        }
        MonitorCmd::Results { account, order, limit } => {
            for r in orders.monitor_results(&Caller::operator(account), &order, limit).await? {
                print_result(&r);
            }
        }
    }
    Ok(())
}

/// A monitor's line, then its last results.
fn print_monitor(m: &orders::Monitor) {
    say!(
        "{}\t{}\t{}\tevery {} days\t{}:{} {}\tnext={}",
        m.reference,
        m.cn,
        if m.enabled { "on" } else { "off" },
        m.frequency_days,
        m.hosts.join(","),
        m.port,
        m.starttls,
        m.next_scan_at.map_or("-".into(), iso)
    );
    for r in &m.last {
        print_result(r);
    }
}

/// One host's result of a scan.
fn print_result(r: &orders::ScanResult) {
    say!(
        "  {}\t{}\t{}\t{}\tserved={}\tchain={}\tname={}\tdays={}\ttls={}\t{}",
        iso(r.scanned_at),
        r.host,
        r.outcome,
        r.problems.join(",").to_string() + r.error_class.as_deref().unwrap_or(""),
        r.served.as_deref().unwrap_or("-"),
        r.chain_valid.map_or("-", |v| if v { "valid" } else { "invalid" }),
        r.name_matches.map_or("-", |v| if v { "matches" } else { "mismatch" }),
        r.days_left.map_or("-".into(), |d| d.to_string()),
        r.tls_versions.join(","),
        r.detail.as_deref().unwrap_or("")
    );
}

/// One line of a domain: id, organisation, name, state, end, orders, last CAA verdict.
fn print_domain(d: &orders::Domain) {
    say!(
        "{}	org={}	{}	{}	until={}	orders={}	caa={}",
        d.id,
        d.organisation_id,
        d.domain,
        d.state,
        d.expires_at.map_or("-".into(), iso),
        d.orders_count,
        d.caa.as_ref().map_or("-", |c| c.verdict.as_str())
    );
}

/// Lists or switches automatic renewal, printing each certificate's
/// renewal date or "manual".
async fn auto_renew(orders: &Orders, cmd: AutoRenewCmd) -> Result<(), AdminError> {
    let list = match cmd {
        AutoRenewCmd::List { account } => orders.auto_renewals(&Caller::operator(account)).await?,
        AutoRenewCmd::On { account, references } => {
            orders.set_auto_renew(&Caller::operator(account), &references, true).await?
        }
        AutoRenewCmd::Off { account, references } => {
            orders.set_auto_renew(&Caller::operator(account), &references, false).await?
        }
        AutoRenewCmd::Default { account, switch } => {
            orders.set_auto_renew_default(&Caller::operator(account), switch == "on").await?;
            say!("new orders of account {account}: automatic renewal {switch}");
            return Ok(());
        }
    };
    for a in list {
        let when = a.renews_at.map_or_else(|| "manual".to_string(), |t| format!("automatic {}", iso(t)));
        let renewed = if a.renewed { "	renewed" } else { "" };
        let o = &a.order;
        say!(
            "{}	{}	{}	expires {}	{when}{renewed}",
            o.reference.clone().unwrap_or_default(),
            o.product_code,
            o.cn,
            iso(a.not_after)
        );
    }
    Ok(())
}

/// Midnight UTC of a `YYYY-MM-DD` day, in Unix seconds.
fn day(s: &str, flag: &str) -> Result<i64, AdminError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(s, format)
        .map(|d| d.midnight().assume_utc().unix_timestamp())
        .map_err(|_| AdminError::Usage(format!("{flag}: {s:?} is not a day like 2027-01-31")))
}

fn money(s: &str) -> Result<i64, AdminError> {
    parse_money(s).ok_or_else(|| AdminError::Usage(format!("{s:?} is not an amount like 150.00")))
}

/// Prints an ACME URL's credentials, once, with a ready certbot line (seed
/// 6.8.2). With `work_dir`, the line keeps certbot's files there and uses
/// no-op manual hooks, which suits pre-validated domains whose authorizations
/// are valid at once; without, it is the seed's line for a web server. With
/// `ca_bundle`, certbot trusts that root for the directory's HTTPS.
pub fn print_acme_credentials(
    public_url: &str,
    c: &orders::NewAcmeUrlCredentials,
    domain: &str,
    work_dir: Option<&std::path::Path>,
    ca_bundle: Option<&std::path::Path>,
) {
    let directory = format!("{public_url}/acme/{}/directory", c.path);
    say!("ACME URL {} created. Its credentials are shown only now:", c.id);
    say!("  directory:    {directory}");
    say!("  EAB KID:      {}", c.kid);
    say!("  EAB HMAC key: {}", c.hmac_key);
    say!("  certbot:");
    let how = match work_dir {
        Some(d) => {
            let d = d.display();
            format!(
                "--manual --preferred-challenges http \\\n      --manual-auth-hook /bin/true --manual-cleanup-hook /bin/true \\\n      --config-dir {d}/certbot --work-dir {d}/certbot --logs-dir {d}/certbot"
            )
        }
        None => "--apache --config-dir /path/to/a/config/directory".to_string(),
    };
    let env = ca_bundle.map(|b| format!("REQUESTS_CA_BUNDLE={} ", b.display())).unwrap_or_default();
    say!(
        "    {env}certbot certonly --register-unsafely-without-email --agree-tos -n \\\n      --eab-kid={} --eab-hmac-key={} --key-type rsa \\\n      --server {directory} \\\n      {how} -d {domain}",
        c.kid,
        c.hmac_key
    );
}

/// The new user's password: from `CERTGATE_USER_PASSWORD`, from standard
/// input with `--password-stdin`, or from `--password`, which is warned
/// about since the shell history and the process list keep it.
fn user_password(u: &crate::cli::UserCreate) -> Result<String, AdminError> {
    if u.password_stdin {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_string());
    }
    let from_env = std::env::var("CERTGATE_USER_PASSWORD").ok();
    match &u.password {
        Some(p) if from_env.as_deref() != Some(p.as_str()) => {
            eprintln!(
                "certgate: warning: a password given with --password stays in the shell's history and shows in \
                 the process list; prefer CERTGATE_USER_PASSWORD or --password-stdin"
            );
            Ok(p.clone())
        }
        Some(p) => Ok(p.clone()),
        None => Err(AdminError::Usage(
            "give the password in CERTGATE_USER_PASSWORD or on standard input with --password-stdin".into(),
        )),
    }
}
