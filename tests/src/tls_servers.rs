//! TLS servers on loopback for the monitoring tests: `openssl s_server`
//! serving a chosen certificate and chain (and, when asked, TLS 1.0 and
//! 1.1 too), and a server that accepts connections and never says a word.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{free_port, have_tool};

/// The TLS versions an [`OpensslServer`] speaks.
#[derive(Clone, Copy, Debug)]
pub enum Versions {
    /// OpenSSL's defaults: 1.2 and 1.3.
    Default,
    /// 1.0 to 1.3.
    WithLegacy,
    /// 1.0 and 1.1 alone.
    LegacyOnly,
}

/// `openssl s_server` on a loopback port; it stops when dropped.
pub struct OpensslServer {
    child: Child,
    /// Its port.
    pub port: u16,
}

impl Drop for OpensslServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl OpensslServer {
    /// Serves `cert_pem` with `key_pem`, sending `chain_pem` after it when
    /// given, speaking the TLS `versions`. Files go in `dir`, under `name`.
    /// `None` (after saying why) without openssl.
    pub fn start(
        dir: &Path,
        name: &str,
        cert_pem: &str,
        key_pem: &str,
        chain_pem: Option<&str>,
        versions: Versions,
    ) -> Option<OpensslServer> {
        if !have_tool("openssl") {
            return None;
        }
        let write = |suffix: &str, pem: &str| {
            let path = dir.join(format!("{name}-{suffix}.pem"));
            std::fs::write(&path, pem).expect("write TLS material");
            path.display().to_string()
        };
        let port = free_port();
        let mut args = vec![
            "s_server".to_string(),
            "-accept".into(),
            format!("127.0.0.1:{port}"),
            "-cert".into(),
            write("cert", cert_pem),
            "-key".into(),
            write("key", key_pem),
            "-www".into(),
            "-quiet".into(),
        ];
        if let Some(chain) = chain_pem {
            args.extend(["-cert_chain".into(), write("chain", chain)]);
        }
        // TLS 1.0 and 1.1 need OpenSSL's security level 0.
        let legacy = ["-min_protocol", "TLSv1", "-cipher", "DEFAULT:@SECLEVEL=0"];
        match versions {
            Versions::Default => {}
            Versions::WithLegacy => args.extend(legacy.map(String::from)),
            Versions::LegacyOnly => {
                args.extend(legacy.into_iter().chain(["-max_protocol", "TLSv1.1"]).map(String::from))
            }
        }
        let child = Command::new("openssl")
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("openssl s_server");
        let server = OpensslServer { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "openssl s_server did not listen on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(server)
    }
}

/// A self-signed certificate and its key for `name`, made by openssl.
pub fn self_signed(dir: &Path, name: &str) -> (String, String) {
    let (cert, key) = (dir.join(format!("{name}-self.pem")), dir.join(format!("{name}-self.key")));
    let status = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "30"])
        .args(["-subj", &format!("/CN={name}"), "-addext", &format!("subjectAltName=DNS:{name}")])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl req");
    assert!(status.success(), "openssl req -x509");
    (std::fs::read_to_string(cert).expect("cert"), std::fs::read_to_string(key).expect("key"))
}

/// A loopback port that accepts connections and never answers: a scan of
/// it times out. Holds what it accepts until the process ends.
pub fn silent_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    port
}
