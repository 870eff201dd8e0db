//! `certgate demo`: a whole gateway on loopback in one command, with a
//! fresh SQLite database, the embedded CA, and a demo account ready for
//! certbot and XML-RPC clients.

use std::net::SocketAddr;
use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use orders::NewOrganisation;
use orders::{Caller, Formula, Orders, Rights};

use crate::admin::{AdminError, print_acme_credentials};
use crate::app::App;
use crate::config::Config;

/// The demo's product list, in the CSV import format (seed 8.1.1 columns).
pub const DEMO_PRICES: &str = "\
Range,Code,Product,Validity (year),New order and renewal,Additional SAN,additional SAN Wildcard,Validation,Wildcard,Max SANs,SAN code,Wildcard SAN code,Renewal code,Upstream
TBS X509,ssl1,TBS X509 SSL OV 1 year,1,106.95,68.20,309.23,OV,yes,10,sanssl1,sanwildssl1,renssl1,embedded
TBS X509,dv1,TBS X509 SSL DV 1 year,1,39.00,20.00,-,DV,no,5,sandv1,,,embedded
";

const DEMO_API_LOGIN: &str = "demo-api";

fn random_token(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    aws_lc_rs::rand::fill(&mut b).expect("system random source");
    URL_SAFE_NO_PAD.encode(b)
}

/// Runs the demo until Ctrl-C.
pub async fn run(
    listen: SocketAddr,
    data_dir: Option<PathBuf>,
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
    config.listen = listen.to_string();
    let public_url = config.public_url();
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let app = App::open(config).await?;
    let root_file = dir.join("embedded-root.pem");
    std::fs::write(&root_file, &app.embedded_root_pem)?;

    let fresh = app.orders.accounts().await?.is_empty();
    println!("certgate demo on {public_url} (data in {})", dir.display());
    if fresh {
        seed(&app.orders, &public_url, &dir).await?;
    } else {
        println!("The data directory was set up by an earlier run; its credentials were shown then.");
    }
    println!();
    println!("XML-RPC endpoint: {public_url}/xmlrpc (also /api-operations.php and /api-infos.php)");
    println!("Embedded CA root (trust it to verify certificates): {}", root_file.display());
    println!("Press Ctrl-C to stop.");
    crate::server::run(&app, listener).await?;
    Ok(())
}

async fn seed(orders: &Orders, public_url: &str, dir: &std::path::Path) -> Result<(), AdminError> {
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
    orders.add_prevalidated_domain(&op, org, "*.example.test").await?;
    let creds = orders.create_acme_url(&op, "demo", "ssl1", org).await?;
    let password = random_token(18);
    orders.create_user(&op, DEMO_API_LOGIN, &password, Rights::all()).await?;
    println!("Demo account {account} (bulk: 100 ssl1 tokens, 100 sanssl1 tokens), organisation {org},");
    println!("product ssl1 (OV), an active OV pre-validation, pre-validated domains *.example.test.");
    println!();
    print_acme_credentials(public_url, &creds, "www.example.test", Some(dir));
    println!();
    println!("XML-RPC API user: {DEMO_API_LOGIN}  password: {password}");
    Ok(())
}
