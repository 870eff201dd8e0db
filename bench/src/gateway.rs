//! A `certgate serve` started by the bench, set up with the operator CLI
//! as an operator would: an account, an organisation with a pre-validated
//! domain, the embedded CA, an ACME URL, an API user and plenty of tokens.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use certgate_tests::binary::{self, Certgate};

/// The secret the bench's gateways seal with.
const SECRET: &str = "bench-secret-key-0123456789abcdef";

/// The price list: product `ssl1` from the embedded CA (P-256 issuing key).
const PRICES: &str = "\
Range,Code,Product,Validity (year),New order and renewal,Additional SAN,additional SAN Wildcard,Validation,Wildcard,Max SANs,SAN code,Wildcard SAN code,Renewal code,Upstream
TBS X509,ssl1,TBS X509 SSL OV 1 year,1,106.95,68.20,309.23,OV,yes,10,sanssl1,sanwildssl1,renssl1,embedded
";

/// The domain the bench's organisation has pre-validated.
pub const DOMAIN: &str = "bench.test";

/// The API user's login.
pub const API_LOGIN: &str = "bench-api";
/// The API user's password.
pub const API_PASSWORD: &str = "bench api password, long enough";

/// A running gateway.
pub struct Gateway {
    child: Child,
    /// Its process id, for CPU accounting.
    pub pid: u32,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Its base URL.
    pub base: String,
    /// The ACME directory URL.
    pub directory: String,
    /// The EAB key ID.
    pub eab_kid: String,
    /// The EAB HMAC key, decoded.
    pub eab_hmac: Vec<u8>,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        // SIGTERM first: serve drains and releases its job leases.
        if binary::stop(&mut self.child, Duration::from_secs(10)).is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The `certgate` binary beside this one (both come from `cargo build --release`).
pub fn default_binary() -> PathBuf {
    let me = std::env::current_exe().unwrap_or_default();
    me.parent().map(|d| d.join("certgate")).unwrap_or_else(|| PathBuf::from("certgate"))
}

impl Gateway {
    /// Sets up a migrated, empty database at `db_url` with the CLI, then
    /// starts `serve` on it. `tokens` is how many `ssl1` tokens the account gets.
    pub fn start(bin: &Path, dir: &Path, db_url: &str, tokens: u64) -> Result<Gateway, String> {
        Gateway::start_with(bin, dir, db_url, tokens, &[])
    }

    /// As [`Gateway::start`], with more configuration in `env`.
    pub fn start_with(
        bin: &Path,
        dir: &Path,
        db_url: &str,
        tokens: u64,
        env: &[(&str, &str)],
    ) -> Result<Gateway, String> {
        let port = certgate_tests::free_port();
        let listen = format!("127.0.0.1:{port}");
        let mut certgate = Certgate::with_database(bin, dir, SECRET, db_url)
            .env("CERTGATE_LISTEN", &listen)
            .env("CERTGATE_USER_PASSWORD", API_PASSWORD);
        for (k, v) in env {
            certgate = certgate.env(k, v);
        }
        let run = |args: &[&str]| certgate.run(args);
        run(&["migrate"])?;
        let account = run(&["account", "create", "--name", "Bench Hosting", "--formula", "bulk"])?.trim().to_string();
        let org = run(&["org", "create", "--account", &account, "--name", "Bench Org", "--ident", "123456789"])?
            .trim()
            .to_string();
        let prices = dir.join("prices.csv");
        std::fs::write(&prices, PRICES).map_err(|e| e.to_string())?;
        run(&["product", "import", "--file", &prices.display().to_string()])?;
        run(&["credit-tokens", "--account", &account, "--item", "ssl1", "--count", &tokens.to_string()])?;
        run(&[
            "prevalidation",
            "add",
            "--account",
            &account,
            "--org",
            &org,
            "--brand",
            "TBS X509",
            "--validation",
            "OV",
        ])?;
        let wildcard = format!("*.{DOMAIN}");
        run(&["domain", "add", "--account", &account, "--org", &org, "--domain", &wildcard, "--validated"])?;
        run(&["user", "create", "--account", &account, "--login", API_LOGIN, "--rights", "all"])?;
        let created = run(&["acme-url", "create", "--account", &account, "--product", "ssl1", "--org", &org])?;
        let field = |name: &str| {
            binary::field(&created, name).ok_or_else(|| format!("acme-url create printed no {name}: {created}"))
        };
        let (directory, eab_kid, hmac) = (field("directory:")?, field("EAB KID:")?, field("EAB HMAC key:")?);
        let eab_hmac = URL_SAFE_NO_PAD.decode(&hmac).map_err(|e| format!("HMAC key: {e}"))?;

        let log = std::fs::File::create(dir.join("serve.log")).map_err(|e| e.to_string())?;
        let child = certgate
            .cmd(&["serve"])
            // The bench places many orders per account and per hour: rate
            // limits off (0), as pebble has none.
            .env("CERTGATE_ACME__RATE_LIMITS__ORDERS_PER_ACCOUNT", "0")
            .env("CERTGATE_ACME__RATE_LIMITS__ORDERS_PER_URL", "0")
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("{}: {e}", bin.display()))?;
        let pid = child.id();
        // Built first, so that a serve that never becomes healthy is stopped.
        let mut g = Gateway { child, pid, port, base: format!("http://{listen}"), directory, eab_kid, eab_hmac };
        binary::wait_healthy(port, &mut g.child)?;
        Ok(g)
    }

    /// How many statements certgate has sent to its database so far, from
    /// its own `/metrics`; `None` when it does not answer.
    pub fn statements(&self) -> Option<f64> {
        let port: u16 = self.base.rsplit(':').next()?.parse().ok()?;
        statements_in(&binary::http_get(port, "/metrics")?)
    }
}

/// The statement counter's value in a `/metrics` page.
fn statements_in(metrics: &str) -> Option<f64> {
    metrics.lines().find_map(|l| l.strip_prefix(storage::STATEMENTS)?.strip_prefix(' ')?.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_statement_counter_is_read_from_its_own_line() {
        let page = "# TYPE certgate_db_statements_total counter\ncertgate_db_statements_total_x 1\n\
                    certgate_db_statements_total 1234\n";
        assert_eq!(super::statements_in(page), Some(1234.0));
        assert_eq!(super::statements_in("certgate_http_requests_total 5\n"), None);
    }
}
