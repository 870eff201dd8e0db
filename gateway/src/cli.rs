//! The command line: `certgate --help` documents every command.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// certgate: a certificate-reseller gateway (ACME and legacy XML-RPC in front
/// of one order core, with exact billing and upstream CAs behind).
#[derive(Debug, Parser)]
#[command(name = "certgate", version)]
pub struct Cli {
    /// TOML configuration file; `CERTGATE_*` environment variables override it.
    #[arg(long, short, global = true, env = "CERTGATE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Database URL (`sqlite://FILE` or `postgres://...`), overriding the configuration.
    #[arg(long, global = true)]
    pub database_url: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gateway on loopback with a fresh database, the embedded CA and a
    /// demo account, and print how to point certbot and XML-RPC clients at it.
    Demo {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Keep the database here (default: a temporary directory removed at exit).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Serve HTTPS instead of HTTP, with a certificate for localhost and the
        /// listening address from the embedded CA; trust `embedded-root.pem`.
        #[arg(long)]
        tls: bool,
    },
    /// Run the gateway: HTTP server and job worker.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Load and check the configuration, then exit.
    CheckConfig,
    /// Customer accounts.
    #[command(subcommand)]
    Account(AccountCmd),
    /// Organisations of an account.
    #[command(subcommand)]
    Org(OrgCmd),
    /// Users of an account (API logins).
    #[command(subcommand)]
    User(UserCmd),
    /// The product catalogue and prices.
    #[command(subcommand)]
    Product(ProductCmd),
    /// Credit tokens of a product (or SAN, renewal) code to an account.
    CreditTokens {
        #[arg(long)]
        account: i64,
        /// Product, SAN or renewal code.
        #[arg(long)]
        item: String,
        #[arg(long)]
        count: i64,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Credit money to a deposit account (amount like 150.00, in the account's currency).
    CreditDeposit {
        #[arg(long)]
        account: i64,
        #[arg(long)]
        amount: String,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Pre-validations of organisations at a CA brand.
    #[command(subcommand)]
    Prevalidation(PrevalidationCmd),
    /// The domain inventory: domains whose proven control spares orders their DCV.
    #[command(subcommand)]
    Domain(DomainCmd),
    /// Certificate monitoring: periodic scans of installed certificates.
    #[command(subcommand)]
    Monitor(MonitorCmd),
    /// ACME URLs: one directory and EAB credential per (product, organisation).
    #[command(subcommand)]
    AcmeUrl(AcmeUrlCmd),
    /// Orders.
    #[command(subcommand)]
    Order(OrderCmd),
    /// Automatic renewal (65 days before expiry) of delivered certificates.
    #[command(subcommand)]
    AutoRenew(AutoRenewCmd),
    /// Contact points: who is e-mailed, per role, in which language.
    #[command(subcommand)]
    Contact(ContactCmd),
    /// Webhook endpoints that every event of an account is POSTed to.
    #[command(subcommand)]
    Webhook(WebhookCmd),
    /// The prepaid balance below which the accounting contact is warned.
    WarningLevel {
        #[arg(long)]
        account: i64,
        /// A token item (product, SAN or renewal code); without it, the deposit.
        #[arg(long)]
        item: Option<String>,
        /// Tokens, or an amount like 150.00 for the deposit; 0 removes it.
        #[arg(long)]
        level: String,
    },
    /// What the CAA records of names say of a product's CA, before ordering.
    CaaCheck {
        #[arg(long)]
        account: i64,
        #[arg(long)]
        product: String,
        /// Names to check, comma-separated.
        #[arg(long, value_delimiter = ',', required = true)]
        names: Vec<String>,
    },
    /// The tokens needed to renew the certificates that expire in a period.
    RenewalForecast {
        #[arg(long)]
        account: i64,
        /// First day of the period (YYYY-MM-DD, UTC).
        #[arg(long)]
        from: String,
        /// Last day of the period, included (YYYY-MM-DD, UTC).
        #[arg(long)]
        to: String,
        /// Print CSV instead of a table.
        #[arg(long)]
        csv: bool,
    },
    /// Print an account statement.
    Statement {
        #[arg(long)]
        account: i64,
        /// `balances` (tokens per product), `tokens`, `deposit` or `invoice`.
        #[arg(long, default_value = "balances")]
        kind: String,
        /// Print CSV instead of a table.
        #[arg(long)]
        csv: bool,
    },
    /// List upstream jobs (attempts, last error, next run).
    Jobs {
        /// Only jobs in this state: queued, done, failed.
        #[arg(long, default_value = "")]
        state: String,
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum AccountCmd {
    /// Create an account; prints its id.
    Create {
        #[arg(long)]
        name: String,
        /// bulk, rebate, deposit or monthly.
        #[arg(long)]
        formula: String,
        #[arg(long, default_value = "EUR")]
        currency: String,
        /// Orders by users without the approval right wait for an approver.
        #[arg(long)]
        approval_mode: bool,
        /// How far the deposit may go below zero, like 50.00.
        #[arg(long, default_value = "0")]
        overdraft: String,
    },
    /// List accounts.
    List,
}

#[derive(Debug, Subcommand)]
pub enum OrgCmd {
    /// Create an organisation; prints its id.
    Create {
        #[arg(long)]
        account: i64,
        #[arg(long)]
        name: String,
        /// National identification number (SIREN...).
        #[arg(long, default_value = "")]
        ident: String,
        #[arg(long, default_value = "")]
        country: String,
        #[arg(long, default_value = "")]
        address: String,
        #[arg(long, default_value = "")]
        vat: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCmd {
    /// Create a user; the password is read from CERTGATE_USER_PASSWORD, from
    /// standard input (--password-stdin), or from --password (which the
    /// shell's history keeps: avoid it).
    Create(UserCreate),
    /// Unlock a user locked after too many failed logins.
    Unlock {
        #[arg(long)]
        login: String,
    },
}

#[derive(Debug, Args)]
pub struct UserCreate {
    #[arg(long)]
    pub account: i64,
    #[arg(long)]
    pub login: String,
    /// The password. On the command line it stays in the shell's history
    /// and shows in the process list: prefer the environment variable or
    /// --password-stdin.
    #[arg(long, env = "CERTGATE_USER_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// Read the password from the first line of standard input (it wins
    /// over the others).
    #[arg(long)]
    pub password_stdin: bool,
    /// Comma-separated: technical, commercial, billing, administrative, approval, or `all`.
    #[arg(long, default_value = "all")]
    pub rights: String,
}

#[derive(Debug, Subcommand)]
pub enum ProductCmd {
    /// Import a price list CSV (seed 8.1.1 columns plus Code and catalogue
    /// columns). Without --account: products and retail prices; with it: that
    /// account's negotiated prices.
    Import {
        #[arg(long)]
        file: PathBuf,
        #[arg(long)]
        account: Option<i64>,
    },
    /// List the catalogue.
    List,
}

#[derive(Debug, Subcommand)]
pub enum PrevalidationCmd {
    /// Record an active pre-validation of an organisation at a CA brand.
    Add {
        #[arg(long)]
        account: i64,
        #[arg(long)]
        org: i64,
        #[arg(long)]
        brand: String,
        /// DV, OV or EV.
        #[arg(long)]
        validation: String,
        /// Days until it expires.
        #[arg(long, default_value_t = 397)]
        days: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum MonitorCmd {
    /// Set the account's defaults for new certificates and who is told.
    Defaults {
        #[arg(long)]
        account: i64,
        /// Monitor new certificates.
        #[arg(long)]
        on: bool,
        /// Days between scans: 0 (never), 7, 30 or 90.
        #[arg(long, default_value_t = 30)]
        frequency: i64,
        /// The address results are sent to (else the generic and delivery contacts).
        #[arg(long)]
        manager: Option<String>,
        /// en or fr.
        #[arg(long, default_value = "en")]
        language: String,
        /// Plain-text messages, without HTML.
        #[arg(long)]
        plain_text: bool,
    },
    /// Monitor an order's certificate (what is not given is kept).
    Set {
        #[arg(long)]
        account: i64,
        /// The order's reference.
        #[arg(long)]
        order: String,
        /// on or off.
        #[arg(long)]
        state: Option<String>,
        /// Days between scans: 0 (never), 7, 30 or 90.
        #[arg(long)]
        frequency: Option<i64>,
        /// Host names to scan, comma-separated (names of the certificate).
        #[arg(long, value_delimiter = ',')]
        hosts: Option<Vec<String>>,
        #[arg(long)]
        port: Option<u16>,
        /// none, smtp, imap, pop3, ftp, xmpp or postgres.
        #[arg(long)]
        starttls: Option<String>,
    },
    /// The monitored certificates with their last results.
    List {
        #[arg(long)]
        account: i64,
    },
    /// An order's scan history, newest first.
    Results {
        #[arg(long)]
        account: i64,
        #[arg(long)]
        order: String,
        #[arg(long, default_value_t = 20)]
        limit: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum DomainCmd {
    /// Add a domain (`example.com`, or `*.example.com` for the names below
    /// it only); it waits for its DCV token in DNS unless --validated.
    Add {
        #[arg(long)]
        account: i64,
        #[arg(long)]
        org: i64,
        #[arg(long)]
        domain: String,
        /// Record it validated, without end: the operator answers for its control.
        #[arg(long)]
        validated: bool,
    },
    /// Look for a pending domain's DCV token in DNS, and validate it when found.
    Validate {
        #[arg(long)]
        account: i64,
        #[arg(long)]
        id: i64,
    },
    /// Remove a domain: orders below it need DCV again.
    Remove {
        #[arg(long)]
        account: i64,
        #[arg(long)]
        id: i64,
    },
    /// The account's domains, their state, orders and last CAA check.
    List {
        #[arg(long)]
        account: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum AcmeUrlCmd {
    /// Create an ACME URL; prints its KID and HMAC key once, with a certbot line.
    Create {
        #[arg(long)]
        account: i64,
        #[arg(long)]
        product: String,
        #[arg(long)]
        org: i64,
        #[arg(long, default_value = "")]
        name: String,
    },
    /// List the ACME URLs of an account, credentials masked.
    List {
        #[arg(long)]
        account: i64,
    },
    /// Revoke an ACME URL for good.
    Revoke {
        #[arg(long)]
        account: i64,
        #[arg(long)]
        id: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum OrderCmd {
    /// Place an order from a CSR file as the operator; prints its reference.
    Place {
        #[arg(long)]
        account: i64,
        #[arg(long)]
        org: i64,
        #[arg(long)]
        product: String,
        /// CSR file (PEM or DER).
        #[arg(long)]
        csr: PathBuf,
        /// Names, common name first, comma-separated (default: the CSR's).
        #[arg(long, value_delimiter = ',')]
        names: Vec<String>,
        /// When the account cannot pay now, hold the order until it is
        /// credited instead of refusing it.
        #[arg(long)]
        wait_for_funds: bool,
    },
    /// List the orders of an account, newest first, a page at a time; a
    /// line on standard error says when more follow.
    List {
        #[arg(long)]
        account: i64,
        #[arg(long, default_value = "")]
        status: String,
        /// Orders on the page (1 to 1000).
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(i64).range(1..=1000))]
        limit: i64,
        /// Orders skipped before the page.
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(i64).range(0..))]
        offset: i64,
    },
    /// Give an automatic renewal waiting for a new CSR (waiting_csr) its CSR.
    Csr {
        #[arg(long)]
        account: i64,
        #[arg(long)]
        reference: String,
        /// CSR file (PEM or DER), for the order's names with a new key.
        #[arg(long)]
        csr: PathBuf,
    },
    /// Print an order's certificate with its chain (PEM).
    Cert {
        #[arg(long)]
        account: i64,
        #[arg(long)]
        reference: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AutoRenewCmd {
    /// List the certificates that can renew, with their renewal date or "manual".
    List {
        #[arg(long)]
        account: i64,
    },
    /// Switch automatic renewal on for orders (by reference), all or none.
    On {
        #[arg(long)]
        account: i64,
        #[arg(required = true)]
        references: Vec<String>,
    },
    /// Switch automatic renewal off for orders (by reference), all or none.
    Off {
        #[arg(long)]
        account: i64,
        #[arg(required = true)]
        references: Vec<String>,
    },
    /// Whether the account's new orders renew automatically: on or off.
    Default {
        #[arg(long)]
        account: i64,
        #[arg(value_parser = ["on", "off"])]
        switch: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ContactCmd {
    /// Set the contact of a role: generic (in copy of everything), delivery, accounting, emergency.
    Set {
        #[arg(long)]
        account: i64,
        #[arg(long)]
        role: String,
        #[arg(long)]
        email: String,
        /// en or fr.
        #[arg(long, default_value = "en")]
        language: String,
    },
    /// Remove the contact of a role.
    Remove {
        #[arg(long)]
        account: i64,
        #[arg(long)]
        role: String,
    },
    /// List the contacts of an account.
    List {
        #[arg(long)]
        account: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum WebhookCmd {
    /// Register an HTTPS endpoint; prints its signing secret, once.
    Create {
        #[arg(long)]
        account: i64,
        #[arg(long)]
        url: String,
    },
    /// List the live endpoints of an account.
    List {
        #[arg(long)]
        account: i64,
    },
    /// Delete an endpoint.
    Delete {
        #[arg(long)]
        account: i64,
        #[arg(long)]
        id: i64,
    },
    /// The latest deliveries of an account's events, newest first.
    Deliveries {
        #[arg(long)]
        account: i64,
        /// Only those to this webhook.
        #[arg(long)]
        id: Option<i64>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
}
