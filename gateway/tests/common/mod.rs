//! Running the `certgate` binary in the gateway's tests: operator commands
//! with the test's secret, data directory and database or configuration;
//! waiting until `serve` answers; stopping it with SIGTERM; raw HTTP/1.1
//! requests to it. Each test file uses the part it needs.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output};
use std::time::{Duration, Instant};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_certgate");

/// Where one test's certgate keeps its state.
#[derive(Clone)]
pub struct Certgate {
    dir: PathBuf,
    secret: &'static str,
    /// `--database-url URL` or `--config FILE`.
    source: [String; 2],
}

impl Certgate {
    /// Commands on the database at `url`, with `dir` as the data directory.
    pub fn with_database(dir: &Path, secret: &'static str, url: &str) -> Certgate {
        Certgate { dir: dir.to_path_buf(), secret, source: ["--database-url".into(), url.into()] }
    }

    /// Commands reading the configuration file `config`.
    pub fn with_config(dir: &Path, secret: &'static str, config: &Path) -> Certgate {
        Certgate { dir: dir.to_path_buf(), secret, source: ["--config".into(), config.display().to_string()] }
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `certgate ARGS` with this state; the caller's own configuration
    /// variables and failpoints are left out.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.env("CERTGATE_SECRET_KEY", self.secret)
            .env("CERTGATE_DATA_DIR", &self.dir)
            .env_remove("CERTGATE_CONFIG")
            .env_remove("CERTGATE_FAILPOINT")
            .args(&self.source)
            .args(args);
        c
    }

    /// Runs a command that must succeed; its standard output.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.cmd(args).output().expect("run certgate");
        assert!(out.status.success(), "certgate {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("utf-8")
    }

    /// Runs a command that must fail.
    pub fn fails(&self, args: &[&str]) -> Output {
        let out = self.cmd(args).output().expect("run certgate");
        assert!(!out.status.success(), "certgate {args:?} should fail");
        out
    }
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

/// Waits until `serve` on `port` answers `/healthz` with 200.
pub fn wait_healthy(port: u16, child: &mut Child) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        if http_get(port, "/healthz").is_some_and(|r| r.starts_with("HTTP/1.1 200")) {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("certgate exited early: {status}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("certgate did not become healthy");
}

/// Sends SIGTERM and waits for the exit; fails the test after 20 s.
pub fn terminate(mut child: Child) -> ExitStatus {
    Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().expect("kill");
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        if start.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("certgate did not stop on SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
