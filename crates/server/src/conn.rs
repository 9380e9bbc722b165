//! The API port's accept loop: every connection bounded in time and in number.
//!
//! - A connection's request headers must arrive within [`Limits::read_timeout`] of the moment
//!   the server starts waiting for them, and that wait also starts when a keep-alive connection
//!   falls idle after a response: an HTTP/1 connection that sends no complete request head for
//!   that long is closed (hyper's `header_read_timeout`, one timer per connection). A request
//!   body must keep arriving: the gateway allows at most `read_timeout` between two reads and
//!   answers AWS's `RequestTimeout` otherwise (`gateway::read_body`). HTTP/2 connections are
//!   pinged when idle and closed when the peer stops answering.
//! - At most [`Limits::max_connections_per_ip`] connections from one source address at a time,
//!   and [`Limits::max_connections`] in all (sources that hold only a few may go an eighth past
//!   it, so that a flood does not lock everyone out); a connection over a cap is closed at once,
//!   with a warning at most once a second that says who and how many. The total cap stays
//!   within the open-file limit ([`connection_budget`]), so a flood cannot take the descriptors
//!   the rest of the server needs, and the memory connections take stays bounded.
//! - A failed accept (out of file descriptors) backs off like the data plane's listeners.
//! - `stop` (the shutdown signal) stops accepting, lets requests in flight finish, and waits.

use airlock_services::authz::Arrival;
use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tower::ServiceExt;

/// How long and how many: the API port's bounds on its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The longest wait for a request's headers (which includes a keep-alive connection's idle
    /// time before its next request) and the longest gap between two reads of a body.
    pub read_timeout: Duration,
    /// Connections one source address may hold open at once.
    pub max_connections_per_ip: usize,
    /// Connections all sources together may hold open at once: what keeps a flood from many
    /// addresses from taking the file descriptors the data plane, DNS and the store need.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            read_timeout: Duration::from_secs(20),
            max_connections_per_ip: 1024,
            max_connections: 8192,
        }
    }
}

/// Descriptors kept for everything but API connections: the data plane's listeners and
/// connections, DNS, the store, the log.
const RESERVED_DESCRIPTORS: u64 = 1024;

/// Raises this process's soft limit on open files to its hard limit (the soft limit is often
/// 1024, far below what a server needs) and returns how many API connections fit in it beside
/// [`RESERVED_DESCRIPTORS`]; `None` where the limit cannot be read.
pub fn connection_budget() -> Option<usize> {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let (mut soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).ok()?;
    if soft < hard && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() {
        soft = hard;
    }
    let budget = soft.saturating_sub(RESERVED_DESCRIPTORS).max(64);
    Some(usize::try_from(budget).unwrap_or(usize::MAX))
}

/// How many listening sockets the data plane may hold: what the open-file limit leaves beside
/// the API port's connections (`max_connections`) and [`RESERVED_DESCRIPTORS`], so that a
/// region full of listeners (an interface endpoint each) never starves the API of descriptors.
/// `None` where the limit cannot be read.
pub fn listener_budget(max_connections: usize) -> Option<usize> {
    use nix::sys::resource::{getrlimit, Resource};
    let (soft, _) = getrlimit(Resource::RLIMIT_NOFILE).ok()?;
    Some(budget_beside(soft, max_connections))
}

fn budget_beside(limit: u64, max_connections: usize) -> usize {
    let taken = (max_connections as u64).saturating_add(RESERVED_DESCRIPTORS);
    usize::try_from(limit.saturating_sub(taken).max(64)).unwrap_or(usize::MAX)
}

/// A connection over one of the caps, closed at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    PerIp,
    Total,
}

/// A source holding fewer connections than this may use the reserve past the total cap.
const FEW: usize = 8;

/// Open connections, per source address and in all; a [`Slot`] gives its place back when
/// dropped.
#[derive(Default)]
struct Counts(Mutex<Open>);

#[derive(Default)]
struct Open {
    per_ip: HashMap<IpAddr, usize>,
    total: usize,
}

struct Slot {
    counts: Arc<Counts>,
    ip: IpAddr,
}

impl Counts {
    fn take(self: &Arc<Self>, ip: IpAddr, limits: &Limits) -> Result<Slot, Refusal> {
        let mut open = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let total = open.total;
        let n = open.per_ip.entry(ip).or_insert(0);
        if *n >= limits.max_connections_per_ip {
            return Err(Refusal::PerIp);
        }
        // Past the cap, a source that holds only a few connections still gets in, into a
        // reserve of an eighth of the cap: a flood from some addresses does not lock out the
        // rest while its connections wait to be timed out.
        let cap = if *n < FEW {
            limits.max_connections + limits.max_connections / 8
        } else {
            limits.max_connections
        };
        if total >= cap {
            return Err(Refusal::Total);
        }
        *n += 1;
        open.total += 1;
        Ok(Slot {
            counts: self.clone(),
            ip,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.counts.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = open.per_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.per_ip.remove(&self.ip);
            }
        }
        open.total -= 1;
    }
}

/// Serves `app` on `listener` until `stop` resolves, then lets the connections finish their
/// requests in flight and returns.
pub async fn serve<S, F>(
    listener: TcpListener,
    app: S,
    limits: Limits,
    stop: F,
) -> std::io::Result<()>
where
    S: tower::Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
    F: std::future::Future<Output = ()> + Send,
{
    let builder = builder(limits);
    let counts = Arc::new(Counts::default());
    let graceful = GracefulShutdown::new();
    let local = listener.local_addr().ok();
    // Refusals since the last warning, and when that was.
    let mut refused: usize = 0;
    let mut warned: Option<Instant> = None;
    tokio::pin!(stop);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(target: "airlock::accept", listener = ?local, error = %e, "accept failed; backing off");
                    tokio::time::sleep(airlock_net::accept::BACKOFF).await;
                    continue;
                }
            },
        };
        let slot = match counts.take(peer.ip(), &limits) {
            Ok(slot) => slot,
            Err(why) => {
                drop(stream);
                refused += 1;
                if warned.is_none_or(|at| at.elapsed() >= Duration::from_secs(1)) {
                    let (limit, reason) = match why {
                        Refusal::PerIp => (
                            limits.max_connections_per_ip,
                            "connection refused: this source already holds the most connections allowed per source address",
                        ),
                        Refusal::Total => (
                            limits.max_connections,
                            "connection refused: the API port already holds the most connections allowed in all",
                        ),
                    };
                    tracing::warn!(target: "airlock::accept", peer = %peer.ip(), limit, refused, "{reason}");
                    warned = Some(Instant::now());
                    refused = 0;
                }
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let builder = builder.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _slot = slot;
            // hyper's version sniffing (HTTP/1 or HTTP/2's preface) has no deadline of its own.
            if !sniffable(&stream, limits.read_timeout).await {
                tracing::debug!(target: "airlock::accept", %peer, "closed: sent no request in time");
                return;
            }
            let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                let mut req = req.map(Body::new);
                // The client's address, for `aws:SourceIp`.
                req.extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                app.clone().oneshot(req)
            });
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            if let Err(e) = watcher.watch(conn.into_owned()).await {
                tracing::debug!(target: "airlock::accept", %peer, error = %e, "connection ended");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// hyper's connection settings, the same for the API port and the interface endpoints.
fn builder(limits: Limits) -> Arc<Builder<TokioExecutor>> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.read_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(limits.read_timeout)
        .keep_alive_timeout(limits.read_timeout);
    Arc::new(builder)
}

/// What serves `app` on the decrypted connections of interface endpoints and of AWS's public
/// endpoints (see [`airlock_net::api`]): the same HTTP settings as the API port, and each request
/// carries how it came ([`Arrival`]) instead of a client address.
pub fn endpoint_handler<S>(app: S, limits: Limits) -> airlock_net::api::Handler
where
    S: tower::Service<Request, Response = Response, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    let builder = builder(limits);
    Arc::new(move |stream, arrival: Arrival| {
        let app = app.clone();
        let builder = builder.clone();
        Box::pin(async move {
            let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                let mut req = req.map(Body::new);
                req.extensions_mut().insert(arrival.clone());
                app.clone().oneshot(req)
            });
            if let Err(e) = builder
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(target: "airlock::accept", error = %e, "endpoint connection ended");
            }
        })
    })
}

/// Waits (at most `within`) until the first bytes of a connection tell HTTP/1 from HTTP/2's
/// connection preface, as hyper's version sniffing needs; `false` if they never come.
async fn sniffable(stream: &tokio::net::TcpStream, within: Duration) -> bool {
    const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    let mut buf = [0u8; 24];
    let decided = async {
        loop {
            match stream.peek(&mut buf).await {
                Ok(0) | Err(_) => return false,
                Ok(n) if n >= PREFACE.len() || !PREFACE.starts_with(&buf[..n]) => return true,
                // A prefix of the preface so far (rare: HTTP/2 with prior knowledge, sent in
                // pieces): look again shortly.
                Ok(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    };
    tokio::time::timeout(within, decided).await.unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::budget_beside;

    #[test]
    fn listeners_get_what_the_api_leaves() {
        // ulimit -n 20000 with the default 8,192 API connections: 20000 - 8192 - 1024.
        assert_eq!(budget_beside(20_000, 8192), 10_784);
        assert_eq!(budget_beside(1_048_576, 8192), 1_039_360);
        // A limit the API alone would fill still leaves the data plane a few.
        assert_eq!(budget_beside(1024, 8192), 64);
    }
}
