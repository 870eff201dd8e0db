//! Running the `certgate` binary, for the gateway's tests and the bench:
//! operator commands with a given secret, data directory and database or
//! configuration; waiting until `serve` answers; stopping it with SIGTERM;
//! raw HTTP/1.1 requests to it.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output};
use std::time::{Duration, Instant};

/// One certgate's binary and state, to run commands on.
#[derive(Clone)]
pub struct Certgate {
    bin: PathBuf,
    dir: PathBuf,
    secret: &'static str,
    /// `--database-url URL` or `--config FILE`.
    source: [String; 2],
    env: Vec<(String, String)>,
}

impl Certgate {
    /// Commands of `bin` on the database at `url`, with `dir` as the data directory.
    pub fn with_database(bin: impl Into<PathBuf>, dir: &Path, secret: &'static str, url: &str) -> Certgate {
        Certgate::new(bin.into(), dir, secret, ["--database-url".into(), url.into()])
    }

    /// Commands of `bin` reading the configuration file `config`.
    pub fn with_config(bin: impl Into<PathBuf>, dir: &Path, secret: &'static str, config: &Path) -> Certgate {
        Certgate::new(bin.into(), dir, secret, ["--config".into(), config.display().to_string()])
    }

    fn new(bin: PathBuf, dir: &Path, secret: &'static str, source: [String; 2]) -> Certgate {
        Certgate { bin, dir: dir.to_path_buf(), secret, source, env: Vec::new() }
    }

    /// Adds an environment variable to every command.
    pub fn env(mut self, key: &str, value: &str) -> Certgate {
        self.env.push((key.into(), value.into()));
        self
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `certgate ARGS` with this state; the caller's own configuration
    /// variables and failpoints are left out.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.bin);
        c.env("CERTGATE_SECRET_KEY", self.secret)
            .env("CERTGATE_DATA_DIR", &self.dir)
            .env_remove("CERTGATE_CONFIG")
            .env_remove("CERTGATE_FAILPOINT")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .args(&self.source)
            .args(args);
        c
    }

    /// Runs a command; its standard output, or why it failed.
    pub fn run(&self, args: &[&str]) -> Result<String, String> {
        let out = self.cmd(args).output().map_err(|e| format!("{}: {e}", self.bin.display()))?;
        if !out.status.success() {
            return Err(format!("certgate {args:?} failed: {}", String::from_utf8_lossy(&out.stderr)));
        }
        String::from_utf8(out.stdout).map_err(|e| format!("certgate {args:?}: {e}"))
    }

    /// Runs a command that must succeed; its standard output.
    pub fn ok(&self, args: &[&str]) -> String {
        self.run(args).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Runs a command that must fail.
    pub fn fails(&self, args: &[&str]) -> Output {
        let out = self.cmd(args).output().expect("run certgate");
        assert!(!out.status.success(), "certgate {args:?} should fail");
        out
    }
}

/// A bulk account an operator set up with the CLI, as the gateway's tests
/// and the bench need one.
pub struct CliAccount {
    /// The account's id.
    pub account: String,
    /// Its organisation's id.
    pub org: String,
}

impl Certgate {
    /// Migrates, then sets up with the operator CLI a bulk account with
    /// `tokens` tokens of `ssl1` ([`crate::TEST_PRICES`]), an organisation
    /// with an OV pre-validation at `Brand` and the pre-validated domain
    /// `*.example.test`, and the API user `hoster` (every right).
    pub fn bulk_account(&self, tokens: u32) -> CliAccount {
        self.ok(&["migrate"]);
        let account = self.ok(&["account", "create", "--name", "Hoster", "--formula", "bulk"]).trim().to_string();
        let org = self.ok(&["org", "create", "--account", &account, "--name", "Example Org"]).trim().to_string();
        let prices = self.dir.join("prices.csv");
        std::fs::write(&prices, crate::TEST_PRICES).expect("write the price list");
        self.ok(&["product", "import", "--file", &prices.display().to_string()]);
        if tokens > 0 {
            self.ok(&["credit-tokens", "--account", &account, "--item", "ssl1", "--count", &tokens.to_string()]);
        }
        self.ok(&[
            "prevalidation",
            "add",
            "--account",
            &account,
            "--org",
            &org,
            "--brand",
            "Brand",
            "--validation",
            "OV",
        ]);
        self.ok(&["domain", "add", "--account", &account, "--org", &org, "--domain", "*.example.test", "--validated"]);
        let user = self
            .cmd(&["user", "create", "--account", &account, "--login", "hoster", "--rights", "all"])
            .env("CERTGATE_USER_PASSWORD", "a long password")
            .output()
            .expect("run certgate");
        assert!(user.status.success(), "user create: {}", String::from_utf8_lossy(&user.stderr));
        CliAccount { account, org }
    }
}

/// The value after `name` on the line of `output` that starts with it (the
/// CLI prints credentials as `  name: value`).
pub fn field(output: &str, name: &str) -> Option<String> {
    output.lines().find_map(|l| l.trim().strip_prefix(name)).map(|v| v.trim().to_string())
}

/// Sends a raw HTTP request on a new connection; the whole answer.
pub fn http(port: u16, request: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(request.as_bytes()).ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

/// `GET path`; the whole answer.
pub fn http_get(port: u16, path: &str) -> Option<String> {
    http(port, &format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"))
}

/// `POST path` with an XML body; the whole answer.
pub fn http_post(port: u16, path: &str, body: &str) -> Option<String> {
    http(
        port,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        ),
    )
}

/// Waits up to 30 s until `serve` on `port` answers `/healthz` with 200.
pub fn wait_healthy(port: u16, child: &mut Child) -> Result<(), String> {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        if http_get(port, "/healthz").is_some_and(|r| r.starts_with("HTTP/1.1 200")) {
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("certgate exited early: {status}"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err("certgate did not become healthy".into())
}

/// Sends SIGTERM and waits up to `within` for the exit: its status, or
/// `None` if the process is still running.
pub fn stop(child: &mut Child, within: Duration) -> Option<ExitStatus> {
    let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    let start = Instant::now();
    while start.elapsed() < within {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// A running `certgate demo` on a free loopback port, in a data directory
/// of its own, with what it printed; stopped when dropped.
pub struct Demo {
    bin: String,
    child: Child,
    /// The port it listens on.
    pub port: u16,
    /// Its data directory.
    pub dir: tempfile::TempDir,
    /// What it printed before serving.
    pub output: String,
    /// Its ACME directory URL.
    pub directory: String,
    /// The EAB KID it printed.
    pub kid: String,
    /// The EAB HMAC key it printed.
    pub hmac: String,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Demo {
    /// Starts `bin demo` with extra `args` (`--tls`) and `env` (configuration).
    pub fn start(bin: &str, args: &[&str], env: &[(&str, String)]) -> Demo {
        use std::io::{BufRead, BufReader};
        use std::process::Stdio;
        let port = crate::free_port();
        let dir = tempfile::tempdir().expect("data directory");
        let mut child = Command::new(bin)
            .args(["demo", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
            .arg(dir.path())
            .args(args)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .env_remove("CERTGATE_SECRET_KEY")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("certgate demo starts");
        let mut output = String::new();
        let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap_or(0) > 0 {
            output.push_str(&line);
            if line.contains("Press Ctrl-C") {
                break;
            }
            line.clear();
        }
        let get = |name: &str| field(&output, name).unwrap_or_else(|| panic!("no {name} in {output}"));
        let (directory, kid, hmac) = (get("directory:"), get("EAB KID:"), get("EAB HMAC key:"));
        Demo { bin: bin.to_string(), child, port, dir, output, directory, kid, hmac }
    }

    /// The certbot command exactly as the demo printed it, environment included.
    pub fn certbot_line(&self) -> String {
        let start = self.output.find("certbot certonly").expect("a certbot line");
        let start = self.output[..start].rfind('\n').map_or(0, |n| n + 1);
        let rest = self.output[start..].trim_start();
        let end = rest.find("-d www.example.test").expect("for www.example.test") + "-d www.example.test".len();
        rest[..end].to_string()
    }

    /// An operator command on the demo's database; its output.
    pub fn certgate(&self, args: &[&str]) -> String {
        let secret = std::fs::read_to_string(self.dir.path().join("secret.key")).expect("secret.key");
        let url = format!("sqlite://{}", self.dir.path().join("certgate.db").display());
        let out = Command::new(&self.bin)
            .env("CERTGATE_SECRET_KEY", secret.trim())
            .arg("--database-url")
            .arg(url)
            .args(args)
            .output()
            .expect("certgate runs");
        assert!(out.status.success(), "certgate {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The embedded CA's root, as a file.
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("embedded-root.pem")
    }
}
