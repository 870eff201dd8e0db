//! HTTPS for `serve` and `demo`: a rustls listener whose certificate and key
//! are read from PEM files and read again on SIGHUP or when the files change,
//! without closing the listening socket.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use serde::Deserialize;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::connections::{Accept, Admitted, Gate};

/// A client gets this long to finish its handshake, so a silent one holds no
/// task for ever.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The `[tls]` section: where HTTPS listens and the files it serves.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSettings {
    /// Address the HTTPS server listens on.
    pub listen: String,
    /// The certificate chain, PEM, leaf first.
    pub cert_file: PathBuf,
    /// The certificate's private key, PEM (PKCS#8, PKCS#1 or SEC1).
    pub key_file: PathBuf,
    /// How often the files' modification times are checked, in seconds; 0
    /// leaves reloading to SIGHUP alone.
    #[serde(default = "default_reload_secs")]
    pub reload_secs: u64,
}

fn default_reload_secs() -> u64 {
    5
}

/// Why a certificate or the HTTPS listener could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file could not be read or parsed.
    #[error("TLS file {0}: {1}")]
    Pem(PathBuf, rustls::pki_types::pem::Error),
    /// The certificate file holds no certificate.
    #[error("TLS file {0}: no certificate in it")]
    NoCertificate(PathBuf),
    /// rustls refused the key (unsupported, or not the certificate's).
    #[error("TLS key {0}: {1}")]
    Key(PathBuf, rustls::Error),
    /// rustls could not build a server configuration.
    #[error("TLS: {0}")]
    Config(#[from] rustls::Error),
    /// The HTTPS address could not be bound.
    #[error("TLS listener {0}: {1}")]
    Bind(String, std::io::Error),
    /// SIGHUP, which reloads the certificate, could not be caught.
    #[error("TLS: cannot catch SIGHUP: {0}")]
    Signal(std::io::Error),
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// Reads the certificate chain and key of `settings` and checks that they belong together.
pub fn load(settings: &TlsSettings) -> Result<CertifiedKey, TlsError> {
    let pem_err = |path: &Path| {
        let path = path.to_path_buf();
        move |e| TlsError::Pem(path, e)
    };
    let chain = CertificateDer::pem_file_iter(&settings.cert_file)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(pem_err(&settings.cert_file))?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate(settings.cert_file.clone()));
    }
    let key = PrivateKeyDer::from_pem_file(&settings.key_file).map_err(pem_err(&settings.key_file))?;
    CertifiedKey::from_der(chain, key, &provider()).map_err(|e| TlsError::Key(settings.key_file.clone(), e))
}

/// The certificate in force; handshakes read it, reloads replace it.
#[derive(Debug)]
struct CertSlot(RwLock<Arc<CertifiedKey>>);

impl CertSlot {
    fn set(&self, key: CertifiedKey) {
        // A panic elsewhere cannot leave a half-written Arc, so a poisoned lock is still sound.
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(key);
    }
}

impl ResolvesServerCert for CertSlot {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.read().unwrap_or_else(PoisonError::into_inner).clone())
    }
}

/// When the certificate and key files last changed, to notice a new pair.
type Stamp = Option<[(SystemTime, u64); 2]>;

fn stamp(settings: &TlsSettings) -> Stamp {
    let one = |p: &Path| std::fs::metadata(p).and_then(|m| Ok((m.modified()?, m.len()))).ok();
    Some([one(&settings.cert_file)?, one(&settings.key_file)?])
}

/// The HTTPS listener: a TCP listener whose handshakes run in their own
/// tasks, so a slow client delays nobody else, and a certificate that
/// follows its files.
pub struct TlsListener {
    local: SocketAddr,
    handshaken: mpsc::Receiver<Admitted<TlsStream<TcpStream>>>,
}

impl TlsListener {
    /// Loads the certificate (a bad one stops start-up), binds the address
    /// and starts accepting and watching the files. A connection takes its
    /// slot under `gate` when accepted, so handshakes count towards the cap.
    pub async fn bind(settings: &TlsSettings, gate: Gate) -> Result<TlsListener, TlsError> {
        // Stamped before reading, so a change made while loading is picked up by the next poll.
        let stamp = stamp(settings);
        let slot = Arc::new(CertSlot(RwLock::new(Arc::new(load(settings)?))));
        let mut config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_cert_resolver(slot.clone());
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let tcp =
            crate::connections::bind(&settings.listen).await.map_err(|e| TlsError::Bind(settings.listen.clone(), e))?;
        let local = tcp.local_addr().map_err(|e| TlsError::Bind(settings.listen.clone(), e))?;
        let hangup = hangup_signal().map_err(TlsError::Signal)?;
        let (tx, handshaken) = mpsc::channel(64);
        let watcher = Watcher { settings: settings.clone(), slot, stamp };
        tokio::spawn(accept_loop(tcp, TlsAcceptor::from(Arc::new(config)), tx, watcher, hangup, gate));
        Ok(TlsListener { local, handshaken })
    }
}

impl TlsListener {
    /// The address the listener is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }
}

impl Accept for TlsListener {
    type Io = TlsStream<TcpStream>;

    async fn accept(&mut self) -> Admitted<Self::Io> {
        match self.handshaken.recv().await {
            Some(conn) => conn,
            // The accept loop only ends once this listener is dropped; until
            // then, nothing more will come.
            None => std::future::pending().await,
        }
    }
}

/// Reloads the certificate when asked to or when its files change.
struct Watcher {
    settings: TlsSettings,
    slot: Arc<CertSlot>,
    stamp: Stamp,
}

impl Watcher {
    fn reload(&mut self, why: &str) {
        self.stamp = stamp(&self.settings);
        match load(&self.settings) {
            Ok(key) => {
                self.slot.set(key);
                tracing::info!(cert = %self.settings.cert_file.display(), why, "TLS certificate reloaded");
            }
            Err(e) => tracing::error!(error = %e, why, "TLS certificate not reloaded; the previous one stays in use"),
        }
    }

    fn poll(&mut self) {
        // Recorded even when the new files fail to load, so a broken pair is
        // reported once, and tried again as soon as either file changes.
        if stamp(&self.settings) != self.stamp {
            self.reload("the files changed");
        }
    }
}

#[cfg(unix)]
type Hangup = tokio::signal::unix::Signal;
#[cfg(not(unix))]
type Hangup = ();

#[cfg(unix)]
fn hangup_signal() -> std::io::Result<Hangup> {
    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
}

#[cfg(not(unix))]
fn hangup_signal() -> std::io::Result<Hangup> {
    Ok(())
}

async fn hung_up(_h: &mut Hangup) {
    #[cfg(unix)]
    _h.recv().await;
    #[cfg(not(unix))]
    std::future::pending::<()>().await;
}

async fn accept_loop(
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    tx: mpsc::Sender<Admitted<TlsStream<TcpStream>>>,
    mut watcher: Watcher,
    mut hangup: Hangup,
    gate: Gate,
) {
    let period = Duration::from_secs(watcher.settings.reload_secs.max(1));
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let polling = watcher.settings.reload_secs > 0;
    loop {
        tokio::select! {
            // The server stopped (graceful shutdown drops the listener): close the socket.
            _ = tx.closed() => return,
            _ = hung_up(&mut hangup) => watcher.reload("SIGHUP"),
            _ = tick.tick(), if polling => watcher.poll(),
            accepted = tcp.accept() => match accepted {
                Ok((stream, peer)) => {
                    // Past the cap the socket is closed at once, before any handshake.
                    let Some(slot) = gate.admit() else { continue };
                    // Nagle would hold back a response's last TLS record until
                    // the client's delayed ACK.
                    let _ = stream.set_nodelay(true);
                    let (acceptor, tx) = (acceptor.clone(), tx.clone());
                    tokio::spawn(async move {
                        match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                            Ok(Ok(io)) => {
                                let _ = tx.send(Admitted { io, peer, slot }).await;
                            }
                            Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                            Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                        }
                    });
                }
                Err(e) => crate::connections::accept_failed(&e).await,
            },
        }
    }
}
