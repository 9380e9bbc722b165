//! The VPC end of a Client VPN tunnel: a userspace TCP/IP stack (smoltcp) that takes the IP
//! packets a client sends through its tun device, terminates its TCP connections, and opens
//! each one through the fabric from the endpoint's interface in the destination's zone (source
//! NAT, as AWS does), once the services say the connection may go there
//! ([`airlock_services::ec2::clientvpn::dataplane::Client::egress`]: a route, an authorization rule,
//! the security groups). A connection that may not go is dropped, as AWS drops its packets: the
//! client's SYNs go unanswered until it gives up. DNS queries to the VPC's resolver are answered
//! as that resolver answers them, and pings as the interface holding the address would when the
//! groups' ICMP rules let them in; other UDP and ICMP are dropped.

use crate::dns::{answer_in, Transport};
use crate::fabric::connect_from;
use crate::source::Source;
use airlock_services::ec2::clientvpn::dataplane::{Client, Dropped};
use airlock_store::Scope;
use smoltcp::iface::{Config, Interface, PollResult, SocketHandle, SocketSet};
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::phy::{Device, DeviceCapabilities, Medium, RxToken, TxToken};
use smoltcp::socket::tcp;
use smoltcp::wire::{
    HardwareAddress, Icmpv4Packet, Icmpv4Repr, IpAddress, IpCidr, IpListenEndpoint, IpProtocol,
    Ipv4Address, Ipv4Packet, Ipv4Repr, TcpPacket, UdpPacket, UdpRepr,
};
use std::collections::{HashMap, VecDeque};
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The tunnel's MTU (the client's tun device is 1500).
const MTU: usize = 1500;
/// Each connection's receive buffer in the stack (client → target).
const RX_BUFFER: usize = 256 * 1024;
/// Each connection's send buffer (target → client), which bounds the bytes in flight towards
/// the client. OpenVPN's UDP socket takes about 90 full datagrams with Linux's default buffer
/// (208 KiB); more in flight and it drops them, and smoltcp (no selective acknowledgements)
/// resends everything after the first loss.
const TX_BUFFER: usize = 96 * 1024;
/// Bytes read from a target and not yet taken by the stack, per connection, at most.
const PENDING_LIMIT: usize = 1024 * 1024;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Turns of the stack in one poll, at most (each sends up to one segment per connection).
const MAX_POLLS: usize = 1024;
/// A connection whose handshake has not finished after this long is forgotten.
const HANDSHAKE_LIMIT: Duration = Duration::from_secs(30);

/// Packets between the session and the stack.
#[derive(Default)]
struct Queue {
    rx: VecDeque<Vec<u8>>,
    tx: VecDeque<Vec<u8>>,
}

struct Rx(Vec<u8>);
struct Tx<'a>(&'a mut VecDeque<Vec<u8>>);

impl RxToken for Rx {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

impl TxToken for Tx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut buf = vec![0; len];
        let r = f(&mut buf);
        self.0.push_back(buf);
        r
    }
}

impl Device for Queue {
    type RxToken<'a> = Rx;
    type TxToken<'a> = Tx<'a>;

    fn receive(
        &mut self,
        _: smoltcp::time::Instant,
    ) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        let p = self.rx.pop_front()?;
        Some((Rx(p), Tx(&mut self.tx)))
    }

    fn transmit(&mut self, _: smoltcp::time::Instant) -> Option<Self::TxToken<'_>> {
        Some(Tx(&mut self.tx))
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut c = DeviceCapabilities::default();
        c.medium = Medium::Ip;
        c.max_transmission_unit = MTU;
        c
    }
}

/// A TCP connection: client address and port, destination address and port.
pub type FlowKey = (Ipv4Addr, u16, Ipv4Addr, u16);

/// What a connection's bridge to its target reports.
#[derive(Debug)]
pub enum FlowEvent {
    /// Connected; bytes for the target go to this sender.
    Connected(mpsc::Sender<Vec<u8>>),
    Data(Vec<u8>),
    /// The target closed its side.
    Closed,
    /// The target could not be reached.
    Failed,
}

struct Flow {
    handle: SocketHandle,
    /// When its SYN came: a connection still not established a while later is given up.
    opened: Instant,
    to_target: Option<mpsc::Sender<Vec<u8>>>,
    from_target: VecDeque<u8>,
    target_closed: bool,
    failed: bool,
    bridge: JoinHandle<()>,
}

impl Drop for Flow {
    fn drop(&mut self) {
        self.bridge.abort();
    }
}

/// Who the tunnel belongs to: the endpoint and the client's access groups.
pub struct Owner {
    pub source: Arc<Source>,
    pub scope: Scope,
    pub endpoint: String,
}

impl Owner {
    /// The client as the endpoint's decisions see it (certificate authentication: no groups).
    fn client(&self) -> Client<'_> {
        Client {
            scope: &self.scope,
            endpoint: &self.endpoint,
            groups: &[],
        }
    }
}

pub struct Tunnel {
    owner: Arc<Owner>,
    iface: Interface,
    device: Queue,
    sockets: SocketSet<'static>,
    flows: HashMap<FlowKey, Flow>,
    events: mpsc::Sender<(FlowKey, FlowEvent)>,
    started: Instant,
}

/// Logs a packet the services' decision drops (at debug level: a client retrying makes many).
fn dropped(endpoint: &str, to: Ipv4Addr, what: &str, why: Dropped) {
    tracing::debug!(target: "airlock::vpn", %endpoint, %to, what, reason = ?why, "dropped");
}

fn stamp(started: Instant, now: Instant) -> smoltcp::time::Instant {
    smoltcp::time::Instant::from_micros(now.duration_since(started).as_micros() as i64)
}

impl Tunnel {
    /// A stack whose own address is `gateway` in the client network `prefix` (what the client
    /// was pushed as its route gateway), accepting packets for any address; flow events arrive
    /// on the receiver returned.
    pub fn new(
        owner: Arc<Owner>,
        gateway: Ipv4Addr,
        prefix: u8,
        now: Instant,
    ) -> (Tunnel, mpsc::Receiver<(FlowKey, FlowEvent)>) {
        let mut device = Queue::default();
        let mut config = Config::new(HardwareAddress::Ip);
        config.random_seed = rand::random();
        let mut iface = Interface::new(config, &mut device, stamp(now, now));
        let gw: Ipv4Address = gateway;
        iface.update_ip_addrs(|a| {
            let _ = a.push(IpCidr::new(IpAddress::Ipv4(gw), prefix));
        });
        iface.set_any_ip(true);
        let _ = iface.routes_mut().add_default_ipv4_route(gw);
        let (events, rx) = mpsc::channel(256);
        (
            Tunnel {
                owner,
                iface,
                device,
                sockets: SocketSet::new(Vec::new()),
                flows: HashMap::new(),
                events,
                started: now,
            },
            rx,
        )
    }

    /// Takes an IP packet from the client.
    pub fn input(&mut self, packet: Vec<u8>) {
        let Ok(ip) = Ipv4Packet::new_checked(&packet[..]) else {
            return;
        };
        let (src, dst): (Ipv4Addr, Ipv4Addr) = (ip.src_addr(), ip.dst_addr());
        if ip.next_header() == IpProtocol::Udp {
            if let Ok(udp) = UdpPacket::new_checked(ip.payload()) {
                if udp.dst_port() == 53 {
                    self.dns(src, udp.src_port(), dst, udp.payload());
                }
            }
            return;
        }
        if ip.next_header() == IpProtocol::Icmp {
            self.ping(src, dst, ip.payload());
            return;
        }
        if ip.next_header() != IpProtocol::Tcp {
            return;
        }
        let Ok(tcp) = TcpPacket::new_checked(ip.payload()) else {
            return;
        };
        let key = (src, tcp.src_port(), dst, tcp.dst_port());
        if tcp.syn() && !tcp.ack() && !self.flows.contains_key(&key) && !self.open(key) {
            return;
        }
        self.device.rx.push_back(packet);
    }

    /// Answers a DNS query to the VPC's resolver as that resolver does (the VPC's private names
    /// first); a query to any other address, or one no route and rule allow, is dropped.
    fn dns(&mut self, src: Ipv4Addr, port: u16, dst: Ipv4Addr, query: &[u8]) {
        let o = &self.owner;
        let clock = o.source.clock();
        let vpc = o
            .source
            .store()
            .read(|v| o.client().resolver(v, clock, dst));
        let vpc = match vpc {
            Ok(vpc) => vpc,
            Err(why) => {
                return dropped(&o.endpoint, dst, "DNS query", why);
            }
        };
        let Some(reply) = answer_in(&o.source, query, Transport::Udp, Some((&o.scope, &vpc)))
        else {
            return;
        };
        self.device
            .tx
            .push_back(udp_packet(dst, 53, src, port, &reply));
    }

    /// Answers an ICMP echo request for an address that the route, the rule and the groups'
    /// ICMP rules let the client ping, as the interface holding it would.
    fn ping(&mut self, src: Ipv4Addr, dst: Ipv4Addr, payload: &[u8]) {
        let checksums = ChecksumCapabilities::default();
        let Ok(request) = Icmpv4Packet::new_checked(payload) else {
            return;
        };
        let Ok(Icmpv4Repr::EchoRequest {
            ident,
            seq_no,
            data,
        }) = Icmpv4Repr::parse(&request, &checksums)
        else {
            return;
        };
        let o = &self.owner;
        let clock = o.source.clock();
        let allowed = o.source.store().read(|v| o.client().ping(v, clock, dst));
        if let Err(why) = allowed {
            return dropped(&o.endpoint, dst, "ping", why);
        }
        let reply = Icmpv4Repr::EchoReply {
            ident,
            seq_no,
            data,
        };
        let ip = Ipv4Repr {
            src_addr: dst,
            dst_addr: src,
            next_header: IpProtocol::Icmp,
            payload_len: reply.buffer_len(),
            hop_limit: 64,
        };
        let mut buf = vec![0u8; ip.buffer_len() + ip.payload_len];
        let mut packet = Ipv4Packet::new_unchecked(&mut buf[..]);
        ip.emit(&mut packet, &checksums);
        reply.emit(
            &mut Icmpv4Packet::new_unchecked(packet.payload_mut()),
            &checksums,
        );
        self.device.tx.push_back(buf);
    }

    /// Decides a new connection and, if it may go, listens for it and starts its bridge.
    fn open(&mut self, key: FlowKey) -> bool {
        let (_, _, dst, port) = key;
        let o = &self.owner;
        let clock = o.source.clock();
        let from = o
            .source
            .store()
            .read(|v| o.client().egress(v, clock, dst, port));
        let from = match from {
            Ok(f) => f,
            Err(why) => {
                dropped(&o.endpoint, dst, "TCP connection", why);
                return false;
            }
        };
        let mut socket = tcp::Socket::new(
            tcp::SocketBuffer::new(vec![0; RX_BUFFER]),
            tcp::SocketBuffer::new(vec![0; TX_BUFFER]),
        );
        socket.set_nagle_enabled(false);
        // As the kernels of the client and of AWS's servers: CUBIC backs off when the client
        // drops what it cannot take (its UDP socket's buffer), instead of resending into it.
        socket.set_congestion_control(tcp::CongestionControl::Cubic);
        let listen = IpListenEndpoint {
            addr: Some(IpAddress::Ipv4(dst)),
            port,
        };
        if socket.listen(listen).is_err() {
            return false;
        }
        let handle = self.sockets.add(socket);
        let owner = self.owner.clone();
        let events = self.events.clone();
        let bridge = tokio::spawn(async move {
            bridge(owner, from, key, events).await;
        });
        self.flows.insert(
            key,
            Flow {
                handle,
                opened: Instant::now(),
                to_target: None,
                from_target: VecDeque::new(),
                target_closed: false,
                failed: false,
                bridge,
            },
        );
        true
    }

    /// Takes what a bridge reports.
    pub fn event(&mut self, key: FlowKey, event: FlowEvent) {
        let Some(f) = self.flows.get_mut(&key) else {
            return;
        };
        match event {
            FlowEvent::Connected(tx) => f.to_target = Some(tx),
            FlowEvent::Data(d) => f.from_target.extend(d),
            FlowEvent::Closed => f.target_closed = true,
            FlowEvent::Failed => f.failed = true,
        }
    }

    /// Whether the bridges may send more (the bytes waiting for the stack are under the limit).
    pub fn wants_events(&self) -> bool {
        self.flows
            .values()
            .all(|f| f.from_target.len() < PENDING_LIMIT)
    }

    /// Runs the stack: the IP packets to send to the client. smoltcp sends at most one segment
    /// per socket per poll, so the stack is polled until it has nothing more to send (what the
    /// windows allow) and no bytes moved: a download goes out as far as the client's window
    /// lets it, not one segment per turn of the client's task.
    pub fn poll(&mut self, now: Instant) -> Vec<Vec<u8>> {
        let ts = stamp(self.started, now);
        for _ in 0..MAX_POLLS {
            let sent = self.iface.poll(ts, &mut self.device, &mut self.sockets);
            let moved = self.pump();
            if sent == PollResult::None && !moved {
                break;
            }
        }
        self.device.tx.drain(..).collect()
    }

    /// Moves bytes between the sockets and the bridges; whether anything moved.
    fn pump(&mut self) -> bool {
        let mut moved = false;
        let mut done = Vec::new();
        for (key, f) in self.flows.iter_mut() {
            let socket = self.sockets.get_mut::<tcp::Socket>(f.handle);
            if f.failed {
                socket.abort();
            }
            // Client → target, as far as the bridge takes it.
            if let Some(tx) = &f.to_target {
                while socket.can_recv() {
                    let Ok(permit) = tx.try_reserve() else { break };
                    let mut buf = vec![0u8; 16 * 1024];
                    match socket.recv_slice(&mut buf) {
                        Ok(n) if n > 0 => {
                            buf.truncate(n);
                            permit.send(buf);
                            moved = true;
                        }
                        _ => break,
                    }
                }
                if client_finished(socket.state()) && !socket.can_recv() {
                    // The client closed its side: so does the bridge, towards the target.
                    f.to_target = None;
                }
            }
            // Target → client, as far as the socket's buffer takes it.
            while !f.from_target.is_empty() && socket.can_send() {
                let (a, _) = f.from_target.as_slices();
                match socket.send_slice(a) {
                    Ok(n) if n > 0 => {
                        f.from_target.drain(..n);
                        moved = true;
                    }
                    _ => break,
                }
            }
            if f.target_closed && f.from_target.is_empty() && socket.may_send() {
                socket.close();
            }
            let stuck = matches!(socket.state(), tcp::State::Listen | tcp::State::SynReceived)
                && f.opened.elapsed() > HANDSHAKE_LIMIT;
            if stuck
                || matches!(socket.state(), tcp::State::Closed | tcp::State::TimeWait)
                    && (f.to_target.is_none() || f.failed || f.target_closed)
            {
                done.push(*key);
            }
        }
        for key in done {
            if let Some(f) = self.flows.remove(&key) {
                self.sockets.remove(f.handle);
            }
        }
        moved
    }

    /// When the stack next needs polling (its timers).
    pub fn poll_at(&mut self, now: Instant) -> Option<Instant> {
        let ts = stamp(self.started, now);
        self.iface
            .poll_delay(ts, &self.sockets)
            .map(|d| now + Duration::from_micros(d.total_micros()))
    }

    pub fn flows(&self) -> usize {
        self.flows.len()
    }
}

/// An IPv4 UDP packet from `src`:`sport` to `dst`:`dport` carrying `payload`, checksummed.
fn udp_packet(src: Ipv4Addr, sport: u16, dst: Ipv4Addr, dport: u16, payload: &[u8]) -> Vec<u8> {
    let udp = UdpRepr {
        src_port: sport,
        dst_port: dport,
    };
    let ip = Ipv4Repr {
        src_addr: src,
        dst_addr: dst,
        next_header: IpProtocol::Udp,
        payload_len: udp.header_len() + payload.len(),
        hop_limit: 64,
    };
    let checksums = ChecksumCapabilities::default();
    let mut buf = vec![0u8; ip.buffer_len() + ip.payload_len];
    let mut packet = Ipv4Packet::new_unchecked(&mut buf[..]);
    ip.emit(&mut packet, &checksums);
    let mut datagram = UdpPacket::new_unchecked(packet.payload_mut());
    udp.emit(
        &mut datagram,
        &IpAddress::Ipv4(src),
        &IpAddress::Ipv4(dst),
        payload.len(),
        |b| b.copy_from_slice(payload),
        &checksums,
    );
    buf
}

/// Whether the client has closed its side of a connection (its FIN arrived, or the connection
/// is over).
fn client_finished(state: tcp::State) -> bool {
    use tcp::State::*;
    matches!(state, CloseWait | LastAck | Closing | TimeWait | Closed)
}

/// Connects to the target through the fabric from interface `from` and carries bytes both ways.
async fn bridge(
    owner: Arc<Owner>,
    from: Arc<airlock_services::ec2::eni::NetworkInterface>,
    key: FlowKey,
    events: mpsc::Sender<(FlowKey, FlowEvent)>,
) {
    let (_, _, dst, port) = key;
    let connected = tokio::time::timeout(
        CONNECT_TIMEOUT,
        connect_from(&owner.source, &owner.scope, &from, dst, port),
    )
    .await;
    let stream = match connected {
        Ok(Ok(s)) => s,
        _ => {
            let _ = events.send((key, FlowEvent::Failed)).await;
            return;
        }
    };
    let _ = stream.set_nodelay(true);
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(16);
    if events.send((key, FlowEvent::Connected(tx))).await.is_err() {
        return;
    }
    let (mut r, mut w) = stream.into_split();
    let up = async move {
        while let Some(d) = rx.recv().await {
            if w.write_all(&d).await.is_err() {
                return;
            }
        }
        let _ = w.shutdown().await;
    };
    let events2 = events.clone();
    let down = async move {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            match r.read(&mut buf).await {
                Ok(n) if n > 0 => {
                    if events2
                        .send((key, FlowEvent::Data(buf[..n].to_vec())))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
                _ => {
                    let _ = events2.send((key, FlowEvent::Closed)).await;
                    return;
                }
            }
        }
    };
    tokio::join!(up, down);
}
