//! The one accept loop every listener uses (the data plane's listeners and the DNS server's
//! TCP port): one back-off policy, one admission hook, connections owned by the loop.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

/// How long a listener waits after a failed accept (out of file descriptors, a connection reset
/// before it was accepted) before it accepts again.
pub const BACKOFF: Duration = Duration::from_millis(50);

/// No limit on a listener's connections.
pub const UNLIMITED: usize = usize::MAX;

/// How many finished handshakes a listener's kernel queue holds before the kernel drops new
/// ones (capped by `net.core.somaxconn`). The standard library's 128 overflows in a burst of
/// connections, and each dropped handshake costs its client a one-second retransmission.
pub const BACKLOG: u32 = 4096;

/// Binds a TCP listener on `addr` (address reuse as the standard library sets it) with a
/// [`BACKLOG`]-deep queue: every listener of Airlock's binds through here.
pub fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

/// Serves `listener` until the future is dropped. Each accepted connection whose peer `admit`
/// lets in (the decision is the caller's: for the data plane, `services::ec2::fabric`) gets
/// `TCP_NODELAY` and is handed to `serve`, which runs as a task of its own; a refused one is
/// closed at once. At most `limit` connections run at a time (further ones wait in the kernel's
/// backlog). Dropping the future (aborting its task) ends every connection it started.
pub async fn serve<A, S, F>(listener: TcpListener, limit: usize, admit: A, mut serve: S)
where
    A: Fn(SocketAddr) -> bool,
    S: FnMut(TcpStream, SocketAddr) -> F,
    F: Future<Output = ()> + Send + 'static,
{
    let local = listener.local_addr().ok();
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept(), if connections.len() < limit => match accepted {
                Ok((stream, peer)) => {
                    if !admit(peer) {
                        tracing::debug!(target: "airlock::accept", %peer, listener = ?local, "refused");
                        drop(stream);
                        continue;
                    }
                    let _ = stream.set_nodelay(true);
                    connections.spawn(serve(stream, peer));
                }
                Err(e) => {
                    tracing::debug!(target: "airlock::accept", listener = ?local, error = %e, "accept failed");
                    tokio::time::sleep(BACKOFF).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A refused peer is closed without reaching `serve`; an admitted one is served.
    #[tokio::test]
    async fn refused_peers_never_reach_the_server() {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let served = Arc::new(AtomicUsize::new(0));
        let refuse_next = Arc::new(AtomicBool::new(true));
        let counter = served.clone();
        let task = tokio::spawn(serve(
            listener,
            UNLIMITED,
            move |_| !refuse_next.swap(false, Ordering::SeqCst),
            move |mut stream: TcpStream, _| {
                counter.fetch_add(1, Ordering::SeqCst);
                async move {
                    let _ = stream.write_all(b"x").await;
                }
            },
        ));
        let mut buf = [0u8; 1];
        let mut refused = TcpStream::connect(addr).await.unwrap();
        assert_eq!(refused.read(&mut buf).await.unwrap(), 0);
        let mut admitted = TcpStream::connect(addr).await.unwrap();
        assert_eq!(admitted.read(&mut buf).await.unwrap(), 1);
        assert_eq!(served.load(Ordering::SeqCst), 1);
        task.abort();
    }
}
