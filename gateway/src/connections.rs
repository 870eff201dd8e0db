//! How the gateway holds its clients' connections: a cap on how many are open
//! at once, and deadlines for a request's head, its body and an idle
//! connection, so that slow or silent clients cannot hold the process's file
//! descriptors or tasks (docs/security.md).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tower::ServiceExt as _;

/// The `[http]` section: how many connections are held and for how long.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpLimits {
    /// Connections open at once, both listeners together; a connection past
    /// it is closed as soon as it is accepted.
    pub max_connections: usize,
    /// Seconds a client has to send a request's head (line and headers); an
    /// idle HTTP/1.1 keep-alive connection waits for a head, so this bounds
    /// it too.
    pub head_timeout_secs: u64,
    /// Seconds a client has to send a request's whole body, from its head.
    pub body_timeout_secs: u64,
    /// Seconds a connection may stay open with no request in flight.
    pub idle_timeout_secs: u64,
    /// Requests one HTTP/2 connection may have in flight at once.
    pub max_streams: u32,
}

impl Default for HttpLimits {
    fn default() -> HttpLimits {
        HttpLimits {
            max_connections: 4096,
            head_timeout_secs: 10,
            body_timeout_secs: 30,
            idle_timeout_secs: 60,
            max_streams: 32,
        }
    }
}

impl HttpLimits {
    /// Refuses limits that would turn a protection off or stop the server.
    pub fn check(&self) -> Result<(), String> {
        let zero = [
            ("max_connections", self.max_connections as u64),
            ("head_timeout_secs", self.head_timeout_secs),
            ("body_timeout_secs", self.body_timeout_secs),
            ("idle_timeout_secs", self.idle_timeout_secs),
            ("max_streams", u64::from(self.max_streams)),
        ];
        match zero.iter().find(|(_, v)| *v == 0) {
            Some((key, _)) => Err(format!("http.{key} must be at least 1")),
            None => Ok(()),
        }
    }
}

/// The open-connection cap shared by every listener of the process.
#[derive(Clone)]
pub struct Gate {
    slots: Arc<Semaphore>,
}

impl Gate {
    /// A gate admitting `max` connections at once.
    pub fn new(max: usize) -> Gate {
        Gate { slots: Arc::new(Semaphore::new(max.min(Semaphore::MAX_PERMITS))) }
    }

    /// A slot for one more connection, or `None` (counted) when all are taken.
    pub fn admit(&self) -> Option<OwnedSemaphorePermit> {
        let permit = self.slots.clone().try_acquire_owned().ok();
        if permit.is_none() {
            metrics::counter!("certgate_connections_refused_total").increment(1);
        }
        permit
    }
}

/// A connection that got a slot: its stream, the peer, and the slot, freed
/// when the connection ends.
pub struct Admitted<I> {
    /// The byte stream (TCP, or TLS over TCP).
    pub io: I,
    /// The client's address.
    pub peer: SocketAddr,
    /// The connection's slot under [`HttpLimits::max_connections`].
    pub slot: OwnedSemaphorePermit,
}

/// A source of admitted connections: the plain listener below, or the TLS one.
pub trait Accept: Send {
    /// The connections' byte stream.
    type Io: AsyncRead + AsyncWrite + Unpin + Send + 'static;
    /// The next admitted connection.
    fn accept(&mut self) -> impl Future<Output = Admitted<Self::Io>> + Send;
}

/// The plain-HTTP listener behind the gate.
pub struct Plain {
    /// The bound socket.
    pub tcp: TcpListener,
    /// The process's connection cap.
    pub gate: Gate,
}

impl Accept for Plain {
    type Io = tokio::net::TcpStream;

    async fn accept(&mut self) -> Admitted<Self::Io> {
        loop {
            match self.tcp.accept().await {
                Ok((io, peer)) => {
                    // Dropped at once past the cap: the client sees a closed connection.
                    let Some(slot) = self.gate.admit() else { continue };
                    let _ = io.set_nodelay(true);
                    return Admitted { io, peer, slot };
                }
                Err(e) => accept_failed(&e).await,
            }
        }
    }
}

/// Connections the kernel may hold for the process before it accepts them.
/// tokio's default of 1,024 overflowed under a burst of a thousand logins:
/// the kernel then drops new connections' SYNs, and a health check waited
/// a second or two for the client's retransmission. The kernel caps it at
/// `net.core.somaxconn` (4,096 by default since Linux 5.4).
const LISTEN_BACKLOG: u32 = 4096;

/// Binds a TCP listener on `addr` (a host and port, resolved) with the
/// gateway's backlog, reusing the address as tokio's own `bind` does.
pub async fn bind(addr: &str) -> std::io::Result<TcpListener> {
    let mut last = None;
    for a in tokio::net::lookup_host(addr).await? {
        let socket = if a.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
        #[cfg(unix)]
        socket.set_reuseaddr(true)?;
        match socket.bind(a).and_then(|()| socket.listen(LISTEN_BACKLOG)) {
            Ok(listener) => return Ok(listener),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "no address to bind")))
}

/// Out of file descriptors and the like: say so (once a second at most)
/// and wait rather than spin.
pub async fn accept_failed(e: &std::io::Error) {
    static START: OnceLock<Instant> = OnceLock::new();
    static LAST_LOGGED_MS: AtomicU64 = AtomicU64::new(0);
    let now = START.get_or_init(Instant::now).elapsed().as_millis() as u64 + 1_000;
    let last = LAST_LOGGED_MS.load(Ordering::Relaxed);
    if now >= last + 1_000 && LAST_LOGGED_MS.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok() {
        tracing::error!(error = %e, "accepting a connection failed");
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// Serves `router` on the connections `listener` admits until `stop`
/// completes; then each connection finishes its request in flight and
/// closes, and this returns once all have. `https` marks requests with
/// [`acme::Https`], so the URLs the fronts build say `https`.
pub async fn serve<A: Accept>(
    mut listener: A,
    router: Router,
    limits: HttpLimits,
    https: bool,
    stop: impl Future<Output = ()> + Send,
) {
    let mut builder = Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(Duration::from_secs(limits.head_timeout_secs));
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits.max_streams)
        .keep_alive_interval(Duration::from_secs(30))
        .keep_alive_timeout(Duration::from_secs(10));
    let builder = Arc::new(builder);
    // Each connection holds a receiver; the sender's `closed` says all are gone.
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut stop = pin!(stop);
    loop {
        let admitted = tokio::select! {
            a = listener.accept() => a,
            _ = &mut stop => break,
        };
        let conn = Connection {
            builder: builder.clone(),
            router: router.clone(),
            limits: limits.clone(),
            https,
            stop: stop_rx.clone(),
        };
        tokio::spawn(conn.run(admitted));
    }
    drop(listener);
    drop(stop_rx);
    let _ = stop_tx.send(true);
    stop_tx.closed().await;
}

/// One connection's task and what it needs.
struct Connection {
    builder: Arc<Builder<TokioExecutor>>,
    router: Router,
    limits: HttpLimits,
    https: bool,
    stop: watch::Receiver<bool>,
}

impl Connection {
    async fn run<I: AsyncRead + AsyncWrite + Unpin + Send + 'static>(mut self, admitted: Admitted<I>) {
        let Admitted { io, peer, slot } = admitted;
        let activity = Arc::new(Activity::new());
        let (router, https, body_timeout) =
            (self.router.clone(), self.https, Duration::from_secs(self.limits.body_timeout_secs));
        let requests = activity.clone();
        let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
            let in_flight = requests.begin();
            let mut req = req.map(|b| Body::new(Deadline::new(b, body_timeout)));
            req.extensions_mut().insert(ConnectInfo(peer));
            if https {
                req.extensions_mut().insert(acme::Https);
            }
            let router = router.clone();
            async move {
                let response = router.oneshot(req).await;
                drop(in_flight);
                response
            }
        });
        let idle = Duration::from_secs(self.limits.idle_timeout_secs);
        // Until its first request a connection gets the head timeout: one
        // that sends nothing, or half an HTTP/2 preface (which hyper reads
        // with no timer), is a slow head, not an idle client.
        let first = Duration::from_secs(self.limits.head_timeout_secs).min(idle);
        let mut conn = pin!(self.builder.serve_connection_with_upgrades(TokioIo::new(io), service));
        let mut tick = tokio::time::interval((first / 4).clamp(Duration::from_millis(100), Duration::from_secs(1)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut draining = false;
        loop {
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                    break;
                }
                _ = self.stop.changed(), if !draining => {
                    draining = true;
                    conn.as_mut().graceful_shutdown();
                }
                _ = tick.tick() => {
                    let allowed = if activity.served() { idle } else { first };
                    if activity.idle_for() >= allowed {
                        // Dropping the connection closes the socket.
                        metrics::counter!("certgate_connections_idle_closed_total").increment(1);
                        break;
                    }
                }
            }
        }
        drop(slot);
    }
}

/// Requests in flight on one connection, whether one came, and when the
/// last one ended.
struct Activity {
    started: Instant,
    in_flight: AtomicUsize,
    served: std::sync::atomic::AtomicBool,
    last_end_ms: AtomicU64,
}

/// Marks a request in flight until dropped (also when a client gives up on
/// an HTTP/2 stream and its future is dropped).
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.last_end_ms.store(self.0.started.elapsed().as_millis() as u64, Ordering::Relaxed);
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Activity {
    fn new() -> Activity {
        Activity {
            started: Instant::now(),
            in_flight: AtomicUsize::new(0),
            served: std::sync::atomic::AtomicBool::new(false),
            last_end_ms: AtomicU64::new(0),
        }
    }

    fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.served.store(true, Ordering::Relaxed);
        InFlight(self.clone())
    }

    /// True once a request came on the connection.
    fn served(&self) -> bool {
        self.served.load(Ordering::Relaxed)
    }

    /// How long the connection has had no request in flight (zero while one is).
    fn idle_for(&self) -> Duration {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return Duration::ZERO;
        }
        let since = Duration::from_millis(self.last_end_ms.load(Ordering::Relaxed));
        self.started.elapsed().saturating_sub(since)
    }
}

/// A request body that fails once its deadline has passed, so a body fed a
/// byte at a time ends within the body timeout.
struct Deadline {
    inner: Incoming,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    after: Duration,
}

/// The body did not arrive within the body timeout.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within {0:?}")]
struct BodyTimedOut(Duration);

impl Deadline {
    fn new(inner: Incoming, after: Duration) -> Deadline {
        use hyper::body::Body as _;
        // A body already complete (a GET) needs no timer.
        let sleep = (!inner.is_end_stream()).then(|| Box::pin(tokio::time::sleep(after)));
        Deadline { inner, sleep, after }
    }
}

impl hyper::body::Body for Deadline {
    type Data = bytes::Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => Poll::Ready(frame.map(|f| f.map_err(Into::into))),
            Poll::Pending => match this.sleep.as_mut().map(|s| s.as_mut().poll(cx)) {
                Some(Poll::Ready(())) => {
                    metrics::counter!("certgate_request_body_timeouts_total").increment(1);
                    Poll::Ready(Some(Err(Box::new(BodyTimedOut(this.after)))))
                }
                _ => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Raises this process's open-file limit to its hard limit, so that the
/// connection cap, not the kernel, is what refuses clients; returns the soft
/// limit in force.
pub fn raise_file_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: getrlimit and setrlimit only read and write the struct passed.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
                return None;
            }
            if lim.rlim_cur < lim.rlim_max {
                let raised = libc::rlimit { rlim_cur: lim.rlim_max, rlim_max: lim.rlim_max };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                    lim = raised;
                }
            }
        }
        Some(lim.rlim_cur)
    }
    #[cfg(not(unix))]
    None
}
