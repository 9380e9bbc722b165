//! Client VPN's OpenVPN server: on each associated target network's public address, UDP
//! datagrams (or TCP frames, a 16-bit length before each packet) from OpenVPN clients. Each
//! client gets a task that runs its [`airlock_vpn::Session`] (TLS with the endpoint's server
//! certificate, the client's certificate verified against the endpoint's client root chain,
//! key method 2, the push reply, the data channel) and its [`Tunnel`] into the VPC.
//!
//! The addresses handed to clients are leased from the endpoint's client CIDR in a table of
//! this process (`LEASES`), shared by the endpoint's listeners.

use crate::source::Source;
use crate::tunnel::{Owner, Tunnel};
use airlock_services::acm;
use airlock_services::ec2::cidr::Cidr;
use airlock_services::ec2::clientvpn::{connections, ClientVpnEndpoint};
use airlock_store::Scope;
use airlock_vpn::{packet, Event, Session};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::collections::{HashMap, HashSet};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// Clients per listener, at most.
const MAX_CLIENTS: usize = 1024;
/// Datagrams (or a bridge's reports) a client's task takes in one go, at most.
const BATCH: usize = 64;

/// The endpoint a listener serves.
#[derive(Clone)]
pub struct Front {
    pub source: Arc<Source>,
    pub scope: Scope,
    pub endpoint: String,
    pub udp: bool,
}

/// Addresses in use per endpoint (its id), across its listeners.
fn leases() -> &'static Mutex<HashMap<String, HashSet<u32>>> {
    static L: OnceLock<Mutex<HashMap<String, HashSet<u32>>>> = OnceLock::new();
    L.get_or_init(Default::default)
}

/// An address of the client CIDR for one client, given back when dropped.
struct Lease {
    endpoint: String,
    ip: u32,
}

impl Lease {
    /// The lowest free address after the gateway (the CIDR's first address after its base).
    fn take(endpoint: &str, cidr: Cidr) -> Option<Lease> {
        let mut all = leases().lock().unwrap_or_else(|e| e.into_inner());
        let used = all.entry(endpoint.to_owned()).or_default();
        let ip = (cidr.base + 2..cidr.last()).find(|ip| !used.contains(ip))?;
        used.insert(ip);
        Some(Lease {
            endpoint: endpoint.to_owned(),
            ip,
        })
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let mut all = leases().lock().unwrap_or_else(|e| e.into_inner());
        if let Some(used) = all.get_mut(&self.endpoint) {
            used.remove(&self.ip);
        }
    }
}

/// Where a client's datagrams go back.
enum Sink {
    Udp(Arc<UdpSocket>, SocketAddr),
    Tcp(tokio::net::tcp::OwnedWriteHalf),
}

impl Sink {
    async fn send(&mut self, packet: &[u8]) -> std::io::Result<()> {
        match self {
            Sink::Udp(s, peer) => s.send_to(packet, *peer).await.map(|_| ()),
            Sink::Tcp(w) => {
                let len = u16::try_from(packet.len()).map_err(std::io::Error::other)?;
                let mut framed = Vec::with_capacity(2 + packet.len());
                framed.extend_from_slice(&len.to_be_bytes());
                framed.extend_from_slice(packet);
                w.write_all(&framed).await
            }
        }
    }
}

/// Serves UDP clients on `socket` until the task is aborted (which ends every client's task).
pub async fn serve_udp(socket: UdpSocket, front: Front) {
    let socket = Arc::new(socket);
    let mut clients: HashMap<SocketAddr, mpsc::Sender<Vec<u8>>> = HashMap::new();
    let mut tasks: JoinSet<SocketAddr> = JoinSet::new();
    let mut buf = vec![0u8; 65536];
    loop {
        tokio::select! {
            r = socket.recv_from(&mut buf) => {
                let Ok((n, peer)) = r else { continue };
                let datagram = buf[..n].to_vec();
                if let Some(tx) = clients.get(&peer) {
                    // A client that cannot keep up loses datagrams, as on a real network.
                    let _ = tx.try_send(datagram);
                    continue;
                }
                if packet::header(&datagram).map(|h| h.0) != Ok(packet::HARD_RESET_CLIENT_V2)
                    || clients.len() >= MAX_CLIENTS
                {
                    continue;
                }
                let (tx, rx) = mpsc::channel(1024);
                let _ = tx.try_send(datagram);
                clients.insert(peer, tx);
                let sink = Sink::Udp(socket.clone(), peer);
                let front = front.clone();
                tasks.spawn(async move {
                    client(front, sink, rx, peer).await;
                    peer
                });
            }
            Some(done) = tasks.join_next() => {
                if let Ok(peer) = done {
                    clients.remove(&peer);
                }
            }
        }
    }
}

/// Serves TCP clients on `listener` until the task is aborted.
pub async fn serve_tcp(listener: TcpListener, front: Front) {
    let mut tasks: JoinSet<()> = JoinSet::new();
    loop {
        tokio::select! {
            r = listener.accept() => {
                let Ok((stream, peer)) = r else { continue };
                if tasks.len() >= MAX_CLIENTS {
                    continue;
                }
                let _ = stream.set_nodelay(true);
                let (mut read, write) = stream.into_split();
                let (tx, rx) = mpsc::channel(1024);
                let front = front.clone();
                tasks.spawn(async move {
                    let reader = async move {
                        let mut len = [0u8; 2];
                        while read.read_exact(&mut len).await.is_ok() {
                            let mut packet = vec![0u8; u16::from_be_bytes(len) as usize];
                            if read.read_exact(&mut packet).await.is_err() || tx.send(packet).await.is_err() {
                                break;
                            }
                        }
                    };
                    tokio::select! {
                        _ = reader => {}
                        _ = client(front, Sink::Tcp(write), rx, peer) => {}
                    }
                });
            }
            Some(_) = tasks.join_next() => {}
        }
    }
}

/// What a client session needs from the endpoint's record.
struct Setup {
    tls: Arc<ServerConfig>,
    cidr: Cidr,
    push: Vec<String>,
    options: String,
    /// `SessionTimeoutHours` (real hours), and whether the client is then told to stop.
    timeout: std::time::Duration,
    disconnect_on_timeout: bool,
}

fn certs(pem: &str) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .filter_map(Result::ok)
        .collect()
}

fn mask(prefix: u8) -> Ipv4Addr {
    Ipv4Addr::from(Cidr { base: 0, prefix }.mask())
}

/// The endpoint as a session uses it, or why it cannot serve (for the log).
fn setup(front: &Front) -> Result<Setup, String> {
    let clock = front.source.clock();
    let scope = &front.scope;
    front.source.store().read(|v| {
        let e = v
            .get::<ClientVpnEndpoint>(scope, &front.endpoint)
            .ok_or("the endpoint is gone")?;
        let Some(root_arn) = e.client_root_chain() else {
            return Err(
                "the endpoint has no certificate authentication; directory and federated authentication are not emulated"
                    .to_owned(),
            );
        };
        let (chain, key) = acm::key_material(v, scope, &e.server_certificate_arn, clock)
            .ok_or("the server certificate is not issued")?;
        let roots_pem = acm::served(v, scope, root_arn, clock)
            .ok_or("the client root certificate chain is not issued")?
            .chain;
        let mut roots = RootCertStore::empty();
        for c in certs(&roots_pem) {
            let _ = roots.add(c);
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map_err(|e| format!("client root chain: {e}"))?;
        let key = PrivateKeyDer::from_pem_slice(key.as_bytes())
            .map_err(|e| format!("server key: {e}"))?;
        let tls = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_client_cert_verifier(verifier)
            .with_single_cert(certs(&chain), key)
            .map_err(|e| format!("server certificate: {e}"))?;
        let cidr = Cidr::parse(&e.client_cidr).ok_or("the client CIDR")?;
        Ok(Setup {
            tls: Arc::new(tls),
            cidr,
            push: push_options(v, scope, &e, cidr),
            timeout: std::time::Duration::from_secs(e.session_timeout_hours.max(1) as u64 * 3600),
            disconnect_on_timeout: e.disconnect_on_session_timeout,
            options: format!(
                "V4,dev-type tun,link-mtu {},tun-mtu 1500,proto {},cipher AES-256-GCM,auth [null-digest],keysize 256,key-method 2,tls-server",
                if front.udp { 1549 } else { 1551 },
                if front.udp { "UDPv4" } else { "TCPv4_SERVER" }
            ),
        })
    })
}

/// The options every client of `e` is pushed (its own `ifconfig` is added per client): the
/// gateway and topology, the endpoint's routes (and, without split tunnel, the default route),
/// and the DNS servers (the endpoint's, or the VPC's resolver at its base + 2).
fn push_options(
    v: &airlock_store::View<'_>,
    scope: &Scope,
    e: &ClientVpnEndpoint,
    cidr: Cidr,
) -> Vec<String> {
    let mut push = vec![
        format!("route-gateway {}", Ipv4Addr::from(cidr.base + 1)),
        "topology subnet".to_owned(),
    ];
    if !e.split_tunnel {
        push.push("redirect-gateway def1".to_owned());
    }
    let mut seen = HashSet::new();
    for r in &e.routes {
        if let Some(c) = Cidr::parse(&r.destination) {
            if c.prefix > 0 && seen.insert(c) {
                push.push(format!(
                    "route {} {}",
                    Ipv4Addr::from(c.base),
                    mask(c.prefix)
                ));
            }
        }
    }
    let dns: Vec<String> = if e.dns_servers.is_empty() {
        e.vpc_id
            .as_deref()
            .and_then(|id| v.get::<airlock_services::ec2::vpc::Vpc>(scope, id))
            .map(|vpc| vec![Ipv4Addr::from(vpc.cidr().base + 2).to_string()])
            .unwrap_or_default()
    } else {
        e.dns_servers.clone()
    };
    for d in dns {
        push.push(format!("dhcp-option DNS {d}"));
    }
    push
}

/// A connection's record (DescribeClientVpnConnections): written when the client connects,
/// with its counters every heartbeat, and as ended when the session ends or its task is
/// stopped (dropped).
struct Recorded {
    source: Arc<Source>,
    scope: Scope,
    id: String,
    counters: connections::Counters,
    written: Instant,
    checked: Instant,
}

impl Recorded {
    /// Writes the counters when a heartbeat is due, and says whether the connection was asked
    /// to end (read at most once a second).
    fn due(&mut self, now: Instant) -> bool {
        let store = self.source.store();
        let wall = time::OffsetDateTime::now_utc();
        if now.duration_since(self.written).as_secs() >= connections::HEARTBEAT_SECS as u64 {
            self.written = now;
            self.checked = now;
            return connections::heartbeat(store, &self.scope, &self.id, &self.counters, wall)
                .unwrap_or(false);
        }
        if now.duration_since(self.checked).as_secs() >= 1 {
            self.checked = now;
            return connections::terminating(store, &self.scope, &self.id);
        }
        false
    }
}

impl Drop for Recorded {
    fn drop(&mut self) {
        let now = time::OffsetDateTime::now_utc();
        if let Err(e) = connections::closed(
            self.source.store(),
            &self.scope,
            &self.id,
            &self.counters,
            now,
        ) {
            tracing::warn!(target: "airlock::vpn", connection = %self.id, error = %e, "cannot record the end of a connection");
        }
    }
}

/// One client, from its hard reset to the end of its session.
async fn client(front: Front, mut sink: Sink, mut rx: mpsc::Receiver<Vec<u8>>, peer: SocketAddr) {
    let endpoint = front.endpoint.clone();
    let setup = match setup(&front) {
        Ok(s) => s,
        Err(why) => {
            tracing::warn!(target: "airlock::vpn", %endpoint, %peer, reason = %why, "client refused");
            return;
        }
    };
    let Some(lease) = Lease::take(&endpoint, setup.cidr) else {
        tracing::warn!(target: "airlock::vpn", %endpoint, %peer, "no free address in the client CIDR");
        return;
    };
    let ip = Ipv4Addr::from(lease.ip);
    let mut push = setup.push.clone();
    push.insert(2, format!("ifconfig {ip} {}", mask(setup.cidr.prefix)));
    let now = Instant::now();
    let peer_id = lease.ip & 0x00ff_ffff;
    let Ok(mut session) = Session::new(setup.tls, push.join(","), setup.options, peer_id, now)
    else {
        return;
    };
    let owner = Arc::new(Owner {
        source: front.source.clone(),
        scope: front.scope.clone(),
        endpoint: endpoint.clone(),
    });
    let (mut tunnel, mut flow_events) = Tunnel::new(
        owner,
        Ipv4Addr::from(setup.cidr.base + 1),
        setup.cidr.prefix,
        now,
    );
    let mut common_name = String::new();
    let mut recorded: Option<Recorded> = None;
    let mut connected_at: Option<Instant> = None;
    loop {
        let now = Instant::now();
        let mut closed = None;
        if recorded.as_mut().is_some_and(|r| r.due(now)) {
            session.terminate(now, "terminated by TerminateClientVpnConnections", true);
        }
        if connected_at.is_some_and(|at| now >= at + setup.timeout) {
            // AWS's session timeout: the client is asked to reconnect, or to stop when the
            // endpoint disconnects on timeout (its user then reconnects by hand).
            session.terminate(now, "the session timed out", !setup.disconnect_on_timeout);
        }
        for ev in session.take_events() {
            match ev {
                Event::Authenticated { certificates } => {
                    common_name = certificates
                        .first()
                        .and_then(|der| acm::common_name_of(der))
                        .unwrap_or_default();
                }
                Event::Connected => {
                    connected_at = Some(now);
                    tracing::info!(target: "airlock::vpn", %endpoint, %peer, client = %common_name, address = %ip, "client connected");
                    let wall = time::OffsetDateTime::now_utc();
                    let store = front.source.store();
                    match connections::opened(
                        store,
                        &front.scope,
                        &endpoint,
                        &common_name,
                        &ip.to_string(),
                        wall,
                    ) {
                        Ok(id) => {
                            recorded = Some(Recorded {
                                source: front.source.clone(),
                                scope: front.scope.clone(),
                                id,
                                counters: Default::default(),
                                written: now,
                                checked: now,
                            })
                        }
                        Err(e) => {
                            tracing::warn!(target: "airlock::vpn", %endpoint, error = %e, "cannot record a connection")
                        }
                    }
                }
                Event::Packet(p) => {
                    if let Some(r) = recorded.as_mut() {
                        r.counters.ingress_packets += 1;
                        r.counters.ingress_bytes += p.len() as u64;
                    }
                    tunnel.input(p)
                }
                Event::Closed(why) => closed = Some(why),
            }
        }
        for p in tunnel.poll(now) {
            if let Some(r) = recorded.as_mut() {
                r.counters.egress_packets += 1;
                r.counters.egress_bytes += p.len() as u64;
            }
            session.send_packet(now, &p);
        }
        for d in session.take_output() {
            if sink.send(&d).await.is_err() {
                closed.get_or_insert_with(|| "the client's connection broke".to_owned());
                break;
            }
        }
        if let Some(why) = closed {
            tracing::info!(target: "airlock::vpn", %endpoint, %peer, client = %common_name, reason = %why, "client disconnected");
            return;
        }
        let mut wake = session.next_tick();
        if recorded.is_some() {
            wake = wake.min(now + std::time::Duration::from_secs(1));
        }
        if let Some(at) = connected_at {
            wake = wake.min(at + setup.timeout);
        }
        if let Some(at) = tunnel.poll_at(now) {
            wake = wake.min(at);
        }
        let take_flows = tunnel.wants_events();
        // Whatever else has arrived is taken with the first, so that the stack runs and the
        // output goes out once per batch rather than once per datagram.
        tokio::select! {
            d = rx.recv() => match d {
                Some(d) => {
                    let now = Instant::now();
                    session.receive(now, &d);
                    for _ in 1..BATCH {
                        let Ok(d) = rx.try_recv() else { break };
                        session.receive(now, &d);
                    }
                }
                None => session.terminate(Instant::now(), "the listener stopped", true),
            },
            Some((key, ev)) = flow_events.recv(), if take_flows => {
                tunnel.event(key, ev);
                for _ in 1..BATCH {
                    if !tunnel.wants_events() {
                        break;
                    }
                    let Ok((key, ev)) = flow_events.try_recv() else { break };
                    tunnel.event(key, ev);
                }
            }
            _ = tokio::time::sleep_until(wake.into()) => session.tick(Instant::now()),
        }
    }
}
