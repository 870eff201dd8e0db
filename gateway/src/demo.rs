//! `certgate demo`: a whole gateway on loopback in one command, with a
//! fresh SQLite database, the embedded CA, and a demo account ready for
//! certbot and XML-RPC clients.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use orders::NewOrganisation;
use orders::{Caller, Formula, Orders, Rights};
use upstream::{EmbeddedCa, IssueRequest};

use crate::admin::{AdminError, print_acme_credentials};
use crate::app::App;
use crate::config::Config;
use crate::listeners::Listeners;
use crate::tls::TlsSettings;

/// The demo's product list, in the CSV import format (seed 8.1.1 columns).
pub const DEMO_PRICES: &str = "\
Range,Code,Product,Validity (year),New order and renewal,Additional SAN,additional SAN Wildcard,Validation,Wildcard,Max SANs,SAN code,Wildcard SAN code,Renewal code,Upstream
TBS X509,ssl1,TBS X509 SSL OV 1 year,1,106.95,68.20,309.23,OV,yes,10,sanssl1,sanwildssl1,renssl1,embedded
TBS X509,dv1,TBS X509 SSL DV 1 year,1,39.00,20.00,-,DV,no,5,sandv1,,,embedded
";

const DEMO_API_LOGIN: &str = "demo-api";

/// The demo account's generic contact, who receives every notification.
const DEMO_CONTACT: &str = "hostmaster@example.test";

fn random_token(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    aws_lc_rs::rand::fill(&mut b).expect("system random source");
    URL_SAFE_NO_PAD.encode(b)
}

/// Runs the demo until Ctrl-C; with `tls`, over HTTPS with a certificate
/// from the embedded CA instead of plain HTTP.
pub async fn run(
    listen: SocketAddr,
    data_dir: Option<PathBuf>,
    tls: bool,
    mut config: Config,
) -> Result<(), Box<dyn std::error::Error>> {
    let _temp;
    let dir = match data_dir {
        Some(d) => d,
        None => {
            let t = tempfile::Builder::new().prefix("certgate-demo-").tempdir()?;
            let p = t.path().to_path_buf();
            _temp = t;
            p
        }
    };
    std::fs::create_dir_all(&dir)?;
    // The demo keeps its own secret key beside its database.
    let key_file = dir.join("secret.key");
    if !key_file.exists() {
        std::fs::write(&key_file, random_token(32))?;
    }
    config.secret_key = Some(std::fs::read_to_string(&key_file)?.trim().to_string());
    config.database_url = Some(format!("sqlite://{}", dir.join("certgate.db").display()));
    config.data_dir = dir.clone();
    config.listen = (!tls).then(|| listen.to_string());
    config.tls = tls.then(|| TlsSettings {
        listen: listen.to_string(),
        cert_file: dir.join("https-cert.pem"),
        key_file: dir.join("https-key.pem"),
        reload_secs: 0,
    });
    // A new user sees the notifications: written to a file unless an SMTP
    // server (a local catcher, say) is configured.
    if config.notifications.smtp_url.is_none() && config.notifications.log_file.is_none() {
        config.notifications.log_file = Some(dir.join("notifications.log"));
    }
    let notifications = match (&config.notifications.smtp_url, &config.notifications.log_file) {
        (Some(_), _) => "sent through the configured SMTP server".to_string(),
        (None, Some(file)) => format!("written to {}", file.display()),
        (None, None) => "off".to_string(),
    };
    let public_url = config.public_url();
    let app = App::open(config).await?;
    let ca = app.embedded_ca.clone().ok_or(DemoError::NoEmbeddedCa)?;
    let root_file = dir.join("embedded-root.pem");
    std::fs::write(&root_file, ca.root_pem())?;
    if let Some(settings) = &app.config.tls {
        mint_https_cert(&ca, listen, settings)?;
    }
    let listeners = Listeners::bind(&app.config).await?;

    let fresh = app.orders.accounts().await?.is_empty();
    println!("certgate demo on {public_url} (data in {})", dir.display());
    if fresh {
        seed(&app.orders, &public_url, &dir, tls.then_some(root_file.as_path())).await?;
    } else {
        println!("The data directory was set up by an earlier run; its credentials were shown then.");
    }
    println!();
    println!("XML-RPC endpoint: {public_url}/xmlrpc (also /api-operations.php and /api-infos.php)");
    println!("Customer area: {public_url}/portal/");
    println!("Embedded CA root (trust it to verify certificates): {}", root_file.display());
    if let Some(settings) = &app.config.tls {
        println!(
            "HTTPS certificate (from the embedded CA, for localhost and {}): {}",
            listen.ip(),
            settings.cert_file.display()
        );
        println!("Python clients trust the root with: REQUESTS_CA_BUNDLE={}", root_file.display());
    }
    println!("Notifications to {DEMO_CONTACT} (deliveries, expiry notices...): {notifications}");
    println!("Press Ctrl-C to stop.");
    crate::server::run(&app, listeners).await?;
    Ok(())
}

async fn seed(orders: &Orders, public_url: &str, dir: &Path, ca_bundle: Option<&Path>) -> Result<(), AdminError> {
    let account = orders.create_account("Demo Hosting", Formula::Bulk, "EUR", false, 0).await?;
    let op = Caller::operator(account);
    let org = NewOrganisation {
        account_id: account,
        name: "Example Org",
        ident: "123456789",
        country: "FR",
        address: "22 rue de Bretagne, 14000 Caen",
        vat: "FR00123456789",
    };
    let org = orders.create_organisation(&op, &org).await?;
    orders.import_prices(&op, DEMO_PRICES, None).await?;
    orders.credit_tokens(&op, "ssl1", 100, "demo").await?;
    orders.credit_tokens(&op, "sanssl1", 100, "demo").await?;
    orders.add_prevalidation(&op, org, "TBS X509", "OV", orders.now() + 397 * 86_400).await?;
    orders.add_domain(&op, org, "*.example.test", true).await?;
    let creds = orders.create_acme_url(&op, "demo", "ssl1", org).await?;
    let password = random_token(18);
    orders.create_user(&op, DEMO_API_LOGIN, &password, Rights::all()).await?;
    orders.set_contact(&op, "generic", DEMO_CONTACT, "en").await?;
    println!("Demo account {account} (bulk: 100 ssl1 tokens, 100 sanssl1 tokens), organisation {org},");
    println!("product ssl1 (OV), an active OV pre-validation, pre-validated domains *.example.test.");
    println!();
    print_acme_credentials(public_url, &creds, "www.example.test", Some(dir), ca_bundle);
    println!();
    println!("XML-RPC API user: {DEMO_API_LOGIN}  password: {password}");
    println!("Customer area in a browser: {public_url}/portal/ (sign in as {DEMO_API_LOGIN} with that password)");
    Ok(())
}

/// Why the demo could not provide its CA root or its HTTPS certificate.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The `embedded` upstream is configured as another kind.
    #[error("the demo needs the upstream named `embedded` to be the embedded CA")]
    NoEmbeddedCa,
    /// The key or its CSR could not be made.
    #[error("HTTPS key: {0}")]
    Key(#[from] rcgen::Error),
    /// The embedded CA refused to sign.
    #[error("HTTPS certificate: {0}")]
    Sign(#[from] upstream::UpstreamError),
    /// The files could not be written.
    #[error("HTTPS certificate files: {0}")]
    Io(#[from] std::io::Error),
}

/// Has the embedded CA certify a fresh key for `localhost` and the listening
/// address, so clients that trust its root reach the demo over HTTPS.
fn mint_https_cert(ca: &EmbeddedCa, listen: SocketAddr, settings: &TlsSettings) -> Result<(), DemoError> {
    let key = rcgen::KeyPair::generate()?;
    let names = vec!["localhost".to_string(), listen.ip().to_string()];
    let csr = rcgen::CertificateParams::new(names.clone())?.serialize_request(&key)?;
    let issued = ca.sign(&IssueRequest {
        order_reference: "demo-https".into(),
        csr_der: csr.der().to_vec(),
        public_key_der: rcgen::PublicKeyData::subject_public_key_info(&key),
        names,
        validity_days: 30,
    })?;
    std::fs::write(&settings.cert_file, format!("{}{}", issued.leaf_pem, issued.chain_pem))?;
    let mut file = std::fs::OpenOptions::new();
    file.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut file, 0o600);
    std::io::Write::write_all(&mut file.open(&settings.key_file)?, key.serialize_pem().as_bytes())?;
    Ok(())
}
