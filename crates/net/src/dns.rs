//! The authoritative DNS server: UDP and TCP on one address. Each query is parsed, answered from
//! `airlock_services::dns` at query time (so answers follow the API at once) and encoded here,
//! with RFC 1035's message format, name compression and EDNS(0) (RFC 6891).
//!
//! What a client sees is what AWS's name servers answer for these zones: authoritative answers
//! (`aa`), `ra` echoing `rd` (clients reach Airlock as they reach the VPC resolver, which
//! recurses), CNAME chains followed while they stay in Airlock's zones, NXDOMAIN and NODATA with
//! the zone's SOA, REFUSED for other zones and for zone transfers, FORMERR for malformed
//! questions, NOTIMP for other opcodes, and truncation (`tc`) when a UDP answer would not fit.
//!
//! One task serves UDP, in batches: up to 32 queries read with one `recvmmsg`, answered inline (no
//! task per packet), and their answers sent with one `sendmmsg`. TCP connections are served one
//! task each, several queries per connection, closed after 10 idle seconds.

use airlock_services::dns::{self, Answer};
use airlock_store::Scope;
use nix::sys::socket::{
    recvmmsg, sendmmsg, ControlMessage, MsgFlags, MultiHeaders, SockaddrStorage,
};
use std::io::{IoSlice, IoSliceMut};
use std::net::{Ipv4Addr, SocketAddr};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt, Interest};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::task::JoinHandle;

use crate::accept;
pub use crate::source::Source;

/// How many aliases an answer follows.
const MAX_CHAIN: usize = 8;
/// A TCP connection with no query for this long is closed.
const TCP_IDLE: Duration = Duration::from_secs(10);
/// TCP connections served at once; more wait in the listen queue.
const TCP_CONNECTIONS: usize = 128;
/// The UDP payload Airlock offers with EDNS, and the most it sends.
const EDNS_PAYLOAD: u16 = 4096;
/// Datagrams read (and answered) per system call.
const BATCH: usize = 32;
/// The longest UDP query read; the rest of a longer one is cut off (and the query answered
/// FORMERR): real queries are a few dozen bytes.
const MAX_QUERY: usize = 4096;

const TYPE_A: u16 = 1;
const TYPE_NS: u16 = 2;
const TYPE_CNAME: u16 = 5;
const TYPE_SOA: u16 = 6;
const TYPE_OPT: u16 = 41;
const TYPE_IXFR: u16 = 251;
const TYPE_AXFR: u16 = 252;
const TYPE_ANY: u16 = 255;
const CLASS_IN: u16 = 1;
const CLASS_ANY: u16 = 255;

/// The name servers and SOA of every zone, as AWS's public zones show them.
const NAME_SERVER: &str = "ns-1536.awsdns-00.co.uk";
const HOSTMASTER: &str = "awsdns-hostmaster.amazon.com";

/// Response codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rcode {
    NoError = 0,
    FormErr = 1,
    NxDomain = 3,
    NotImp = 4,
    Refused = 5,
    /// EDNS version not supported (16, carried partly in the OPT record).
    BadVers = 16,
}

/// How a query arrived: UDP answers must fit the client's buffer, TCP answers need not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}

/// A running DNS server.
pub struct DnsServer {
    pub addr: SocketAddr,
    udp: JoinHandle<()>,
    tcp: JoinHandle<()>,
}

impl DnsServer {
    /// Binds UDP and TCP on `addr` and answers for Airlock's zones. With port 0, UDP picks a
    /// free port and TCP takes the same number; when that number is taken for TCP (by some
    /// connection's local port), another is tried.
    pub async fn start(addr: SocketAddr, source: Source) -> std::io::Result<DnsServer> {
        let source = Arc::new(source);
        let mut attempts = 0;
        let (udp, tcp) = loop {
            let udp = UdpSocket::bind(addr).await?;
            match crate::accept::bind(udp.local_addr()?) {
                Ok(tcp) => break (udp, tcp),
                Err(e)
                    if addr.port() == 0
                        && e.kind() == std::io::ErrorKind::AddrInUse
                        && attempts < 32 =>
                {
                    attempts += 1;
                }
                Err(e) => return Err(e),
            }
        };
        let addr = udp.local_addr()?;
        Ok(DnsServer {
            addr,
            udp: tokio::spawn(serve_udp(udp, source.clone())),
            tcp: tokio::spawn(serve_tcp(tcp, source)),
        })
    }

    /// Stops answering (open TCP connections are closed).
    pub async fn stop(self) {
        self.udp.abort();
        self.tcp.abort();
        let _ = self.udp.await;
        let _ = self.tcp.await;
    }
}

/// Reads queries in batches (`recvmmsg`) and sends the batch's answers with one system call
/// (`sendmmsg`): under load, the system calls and the clients' wake-ups are shared by many
/// queries.
async fn serve_udp(socket: UdpSocket, source: Arc<Source>) {
    let fd = socket.as_raw_fd();
    let mut bufs = vec![[0u8; MAX_QUERY]; BATCH];
    let mut replies: Vec<Vec<u8>> = Vec::with_capacity(BATCH);
    let mut peers: Vec<Option<SockaddrStorage>> = Vec::with_capacity(BATCH);
    loop {
        if socket.readable().await.is_err() {
            continue;
        }
        let got = socket.try_io(Interest::READABLE, || {
            // (The headers hold raw pointers, so they cannot be kept across an await.)
            let mut received = MultiHeaders::<SockaddrStorage>::preallocate(BATCH, None);
            let mut slices: Vec<[IoSliceMut<'_>; 1]> =
                bufs.iter_mut().map(|b| [IoSliceMut::new(b)]).collect();
            let messages = recvmmsg(
                fd,
                &mut received,
                slices.iter_mut(),
                MsgFlags::MSG_DONTWAIT,
                None,
            )
            .map_err(std::io::Error::from)?;
            Ok(messages.map(|m| (m.bytes, m.address)).collect::<Vec<_>>())
        });
        let got = match got {
            Ok(got) => got,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) => {
                tracing::debug!(target: "airlock::dns", error = %e, "udp receive failed");
                continue;
            }
        };
        replies.clear();
        peers.clear();
        for (buf, (len, peer)) in bufs.iter().zip(got) {
            if let Some(reply) = answer(&source, &buf[..len.min(MAX_QUERY)], Transport::Udp) {
                replies.push(reply);
                peers.push(peer);
            }
        }
        let mut done = 0;
        while done < replies.len() {
            let sent = socket.try_io(Interest::WRITABLE, || {
                let mut sending = MultiHeaders::<SockaddrStorage>::preallocate(BATCH, None);
                let slices: Vec<[IoSlice<'_>; 1]> =
                    replies[done..].iter().map(|r| [IoSlice::new(r)]).collect();
                let none: [ControlMessage<'_>; 0] = [];
                let sent = sendmmsg(
                    fd,
                    &mut sending,
                    &slices,
                    &peers[done..],
                    none,
                    MsgFlags::MSG_DONTWAIT,
                )
                .map_err(std::io::Error::from)?;
                Ok(sent.count())
            });
            match sent {
                Ok(n) => done += n.max(1),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    let _ = socket.writable().await;
                }
                // This answer cannot be sent (its client is gone): the others still go.
                Err(_) => done += 1,
            }
        }
    }
}

async fn serve_tcp(listener: TcpListener, source: Arc<Source>) {
    accept::serve(
        listener,
        TCP_CONNECTIONS,
        |_| true,
        |stream, _| serve_tcp_connection(stream, source.clone()),
    )
    .await
}

/// Length-prefixed messages (RFC 1035 4.2.2), answered in order, until the client closes, goes
/// quiet or sends something that deserves no answer.
async fn serve_tcp_connection(mut stream: TcpStream, source: Arc<Source>) {
    let _ = stream.set_nodelay(true);
    loop {
        let Ok(Ok(len)) = tokio::time::timeout(TCP_IDLE, stream.read_u16()).await else {
            return;
        };
        let mut message = vec![0u8; usize::from(len)];
        let Ok(Ok(_)) = tokio::time::timeout(TCP_IDLE, stream.read_exact(&mut message)).await
        else {
            return;
        };
        let Some(reply) = answer(&source, &message, Transport::Tcp) else {
            return;
        };
        let mut framed = Vec::with_capacity(reply.len() + 2);
        framed.extend_from_slice(&(reply.len() as u16).to_be_bytes());
        framed.extend_from_slice(&reply);
        if stream.write_all(&framed).await.is_err() {
            return;
        }
    }
}

/// The reply to one DNS message, or `None` for messages that get none (shorter than a header,
/// or responses rather than queries). The query path without sockets: the tests and the fuzz
/// target (`fuzz/`) drive it with arbitrary bytes.
pub fn answer(source: &Source, packet: &[u8], transport: Transport) -> Option<Vec<u8>> {
    answer_in(source, packet, transport, None)
}

/// The reply to one DNS message as the resolver of VPC `inside` (its scope and id) gives it:
/// the VPC's private names first (`services::dns::lookup_in`), then the public ones; what a
/// Client VPN client asks the VPC's resolver through its tunnel.
pub fn answer_in(
    source: &Source,
    packet: &[u8],
    transport: Transport,
    inside: Option<(&Scope, &str)>,
) -> Option<Vec<u8>> {
    let header = Header::parse(packet)?;
    if header.flags & 0x8000 != 0 {
        return None;
    }
    let query = match Query::parse(packet, &header) {
        Ok(q) => q,
        Err(rcode) => return Some(header_only(&header, rcode)),
    };
    let opcode = (header.flags >> 11) & 0xF;
    let resolved = if opcode != 0 {
        Resolved::code(Rcode::NotImp)
    } else if query.edns.is_some_and(|e| e.version != 0) {
        Resolved::code(Rcode::BadVers)
    } else if !matches!(query.qclass, CLASS_IN | CLASS_ANY) {
        Resolved::code(Rcode::Refused)
    } else {
        resolve(source, &query.name, query.qtype, inside)
    };
    let limit = match (transport, query.edns) {
        (Transport::Tcp, _) => usize::from(u16::MAX),
        (Transport::Udp, Some(e)) => usize::from(e.payload.clamp(512, EDNS_PAYLOAD)),
        (Transport::Udp, None) => 512,
    };
    let reply = Writer::reply(&header, &query, &resolved, false);
    if reply.len() <= limit {
        return Some(reply);
    }
    // Too large for the client's buffer: the question alone, truncated, so it retries over TCP.
    Some(Writer::reply(
        &header,
        &query,
        &Resolved {
            answers: Vec::new(),
            soa: None,
            ..resolved
        },
        true,
    ))
}

struct Header {
    id: u16,
    flags: u16,
    qdcount: u16,
    ancount: u16,
    nscount: u16,
    arcount: u16,
}

impl Header {
    fn parse(p: &[u8]) -> Option<Header> {
        let u = |i: usize| u16::from_be_bytes([p[i], p[i + 1]]);
        (p.len() >= 12).then(|| Header {
            id: u(0),
            flags: u(2),
            qdcount: u(4),
            ancount: u(6),
            nscount: u(8),
            arcount: u(10),
        })
    }
}

#[derive(Debug, Clone, Copy)]
struct Edns {
    payload: u16,
    version: u8,
}

/// A query's question and EDNS record.
struct Query<'a> {
    /// The question as sent (name, type, class), echoed in the reply.
    raw: &'a [u8],
    /// For each label of the name: where its text starts in `name`, and where the label
    /// starts in the message (for compression pointers).
    labels: Vec<(usize, u16)>,
    /// The name in lowercase, without the final dot; unusual bytes escaped as `\DDD`.
    name: String,
    qtype: u16,
    qclass: u16,
    edns: Option<Edns>,
}

impl<'a> Query<'a> {
    fn parse(p: &'a [u8], h: &Header) -> Result<Query<'a>, Rcode> {
        if h.qdcount != 1 {
            return Err(Rcode::FormErr);
        }
        let mut at = 12;
        let mut labels: Vec<(usize, u16)> = Vec::new();
        let mut name = String::new();
        loop {
            let len = usize::from(*p.get(at).ok_or(Rcode::FormErr)?);
            if len == 0 {
                at += 1;
                break;
            }
            // Compression pointers have nothing to point back to in a question.
            if len > 63 {
                return Err(Rcode::FormErr);
            }
            let label = p.get(at + 1..at + 1 + len).ok_or(Rcode::FormErr)?;
            if !name.is_empty() {
                name.push('.');
            }
            labels.push((name.len(), at as u16));
            label_text(&mut name, label);
            at += 1 + len;
            if at - 12 > 255 {
                return Err(Rcode::FormErr);
            }
        }
        let fixed = p.get(at..at + 4).ok_or(Rcode::FormErr)?;
        let qtype = u16::from_be_bytes([fixed[0], fixed[1]]);
        let qclass = u16::from_be_bytes([fixed[2], fixed[3]]);
        let raw = &p[12..at + 4];
        at += 4;
        for _ in 0..u32::from(h.ancount) + u32::from(h.nscount) {
            at = skip_record(p, at)?.0;
        }
        let mut edns = None;
        for _ in 0..h.arcount {
            let (next, rtype, class, ttl) = skip_record(p, at)?;
            if rtype == TYPE_OPT {
                // One OPT record at most, owned by the root.
                if edns.is_some() || p[at] != 0 {
                    return Err(Rcode::FormErr);
                }
                edns = Some(Edns {
                    payload: class,
                    version: (ttl >> 16) as u8,
                });
            }
            at = next;
        }
        Ok(Query {
            raw,
            name,
            labels,
            qtype,
            qclass,
            edns,
        })
    }
}

/// Appends a label as text: lowercase, with dots, backslashes and unprintable bytes escaped, so
/// that it can never spell a different name.
fn label_text(s: &mut String, label: &[u8]) {
    for &b in label {
        match b {
            b'.' | b'\\' => {
                s.push('\\');
                s.push(char::from(b));
            }
            0x21..=0x7e => s.push(char::from(b.to_ascii_lowercase())),
            _ => {
                s.push('\\');
                for d in [b / 100, b / 10 % 10, b % 10] {
                    s.push(char::from(b'0' + d));
                }
            }
        }
    }
}

/// Skips one resource record at `at`: (where the next starts, type, class, TTL).
fn skip_record(p: &[u8], mut at: usize) -> Result<(usize, u16, u16, u32), Rcode> {
    loop {
        let len = *p.get(at).ok_or(Rcode::FormErr)?;
        match len {
            0 => {
                at += 1;
                break;
            }
            l if l & 0xC0 == 0xC0 => {
                at += 2;
                break;
            }
            l if l > 63 => return Err(Rcode::FormErr),
            l => at += 1 + usize::from(l),
        }
    }
    let f = p.get(at..at + 10).ok_or(Rcode::FormErr)?;
    let rtype = u16::from_be_bytes([f[0], f[1]]);
    let class = u16::from_be_bytes([f[2], f[3]]);
    let ttl = u32::from_be_bytes([f[4], f[5], f[6], f[7]]);
    let rdlen = usize::from(u16::from_be_bytes([f[8], f[9]]));
    let end = at + 10 + rdlen;
    if end > p.len() {
        return Err(Rcode::FormErr);
    }
    Ok((end, rtype, class, ttl))
}

enum Data {
    A(Ipv4Addr),
    Cname(String),
    Ns,
    Soa,
}

/// A record to send: its owner (lowercase, no final dot) and data.
struct Rr {
    owner: String,
    data: Data,
}

/// What a query resolved to.
struct Resolved {
    rcode: Rcode,
    authoritative: bool,
    answers: Vec<Rr>,
    /// The zone whose SOA goes in the authority section (NXDOMAIN and NODATA).
    soa: Option<&'static str>,
}

impl Resolved {
    fn code(rcode: Rcode) -> Resolved {
        Resolved {
            rcode,
            authoritative: false,
            answers: Vec::new(),
            soa: None,
        }
    }

    fn answers(answers: Vec<Rr>) -> Resolved {
        Resolved {
            rcode: Rcode::NoError,
            authoritative: true,
            answers,
            soa: None,
        }
    }

    /// No record of this type (NODATA) or no such name, with the zone's SOA.
    fn empty(rcode: Rcode, zone: &'static str) -> Resolved {
        Resolved {
            rcode,
            authoritative: true,
            answers: Vec::new(),
            soa: Some(zone),
        }
    }
}

/// The served zone that holds `name`.
fn zone_of(name: &str) -> Option<&'static str> {
    dns::zone_of(name).map(|z| z.name)
}

fn lookup(source: &Source, name: &str, inside: Option<(&Scope, &str)>) -> Answer {
    dns::lookup_in(
        (*source.store).as_ref(),
        source.config.clock(time::OffsetDateTime::now_utc()),
        name,
        inside,
    )
}

fn resolve(source: &Source, name: &str, qtype: u16, inside: Option<(&Scope, &str)>) -> Resolved {
    let Some(zone) = zone_of(name) else {
        return Resolved::code(Rcode::Refused);
    };
    if matches!(qtype, TYPE_AXFR | TYPE_IXFR) {
        return Resolved::code(Rcode::Refused);
    }
    let rr = |owner: &str, data| Rr {
        owner: owner.to_owned(),
        data,
    };
    if name == zone {
        return match qtype {
            TYPE_SOA => Resolved::answers(vec![rr(zone, Data::Soa)]),
            TYPE_NS => Resolved::answers(vec![rr(zone, Data::Ns)]),
            _ => Resolved::empty(Rcode::NoError, zone),
        };
    }
    match lookup(source, name, inside) {
        Answer::NxDomain => Resolved::empty(Rcode::NxDomain, zone),
        Answer::A(ips) if matches!(qtype, TYPE_A | TYPE_ANY) => {
            Resolved::answers(ips.into_iter().map(|ip| rr(name, Data::A(ip))).collect())
        }
        Answer::A(_) => Resolved::empty(Rcode::NoError, zone),
        Answer::Cname(target) => {
            let mut chain = vec![rr(name, Data::Cname(target.clone()))];
            if matches!(qtype, TYPE_CNAME | TYPE_ANY) {
                return Resolved::answers(chain);
            }
            // Follow the chain while it stays in Airlock's zones, as AWS's servers do.
            let mut next = target;
            while chain.len() < MAX_CHAIN && zone_of(&next).is_some() {
                match lookup(source, &next, inside) {
                    Answer::Cname(t) => {
                        chain.push(rr(&next, Data::Cname(t.clone())));
                        next = t;
                    }
                    Answer::A(ips) if qtype == TYPE_A => {
                        chain.extend(ips.into_iter().map(|ip| rr(&next, Data::A(ip))));
                        break;
                    }
                    _ => break,
                }
            }
            Resolved::answers(chain)
        }
    }
}

/// A header with no sections (the question could not be read).
fn header_only(h: &Header, rcode: Rcode) -> Vec<u8> {
    let mut out = Vec::with_capacity(12);
    out.extend_from_slice(&h.id.to_be_bytes());
    out.extend_from_slice(&flags(h, rcode, false, false).to_be_bytes());
    out.extend_from_slice(&[0; 8]);
    out
}

fn flags(h: &Header, rcode: Rcode, authoritative: bool, truncated: bool) -> u16 {
    let rd = h.flags & 0x0100;
    let opcode = h.flags & 0x7800;
    0x8000
        | opcode
        | if authoritative { 0x0400 } else { 0 }
        | if truncated { 0x0200 } else { 0 }
        | rd
        // RA: the answer comes from where a resolver would send the client.
        | (rd >> 1)
        | (rcode as u16 & 0xF)
}

/// Writes a reply, compressing names against those already written (RFC 1035 4.1.4).
struct Writer<'a> {
    out: Vec<u8>,
    /// Names written so far (lowercase, from a label on) and where.
    names: Vec<(&'a str, u16)>,
}

impl<'a> Writer<'a> {
    fn reply(h: &Header, q: &'a Query<'_>, r: &'a Resolved, truncated: bool) -> Vec<u8> {
        let mut w = Writer {
            out: Vec::with_capacity(256),
            names: q
                .labels
                .iter()
                .map(|&(text, wire)| (&q.name[text..], wire))
                .collect(),
        };
        let arcount = u16::from(q.edns.is_some());
        w.out.extend_from_slice(&h.id.to_be_bytes());
        w.out
            .extend_from_slice(&flags(h, r.rcode, r.authoritative, truncated).to_be_bytes());
        for n in [
            1,
            r.answers.len() as u16,
            u16::from(r.soa.is_some()),
            arcount,
        ] {
            w.out.extend_from_slice(&n.to_be_bytes());
        }
        w.out.extend_from_slice(q.raw);
        for rr in &r.answers {
            w.record(&rr.owner, &rr.data);
        }
        if let Some(zone) = r.soa {
            w.record(zone, &Data::Soa);
        }
        if q.edns.is_some() {
            // OPT: root owner, our payload size, the upper bits of the response code, version 0.
            w.out.push(0);
            w.out.extend_from_slice(&TYPE_OPT.to_be_bytes());
            w.out.extend_from_slice(&EDNS_PAYLOAD.to_be_bytes());
            w.out.push((r.rcode as u16 >> 4) as u8);
            w.out.extend_from_slice(&[0, 0, 0, 0, 0]);
        }
        w.out
    }

    /// Writes `name` (lowercase, no final dot): its labels up to the first suffix already
    /// written, then a pointer to it.
    fn name(&mut self, name: &'a str) {
        let mut rest = name;
        while !rest.is_empty() {
            if let Some(&(_, at)) = self.names.iter().find(|(n, _)| *n == rest) {
                self.out.extend_from_slice(&(0xC000 | at).to_be_bytes());
                return;
            }
            if self.out.len() < 0x3FFF {
                self.names.push((rest, self.out.len() as u16));
            }
            let (label, tail) = rest.split_once('.').unwrap_or((rest, ""));
            self.out.push(label.len() as u8);
            self.out.extend_from_slice(label.as_bytes());
            rest = tail;
        }
        self.out.push(0);
    }

    fn record(&mut self, owner: &'a str, data: &'a Data) {
        self.name(owner);
        let rtype = match data {
            Data::A(_) => TYPE_A,
            Data::Cname(_) => TYPE_CNAME,
            Data::Ns => TYPE_NS,
            Data::Soa => TYPE_SOA,
        };
        self.out.extend_from_slice(&rtype.to_be_bytes());
        self.out.extend_from_slice(&CLASS_IN.to_be_bytes());
        self.out.extend_from_slice(&dns::TTL.to_be_bytes());
        let len_at = self.out.len();
        self.out.extend_from_slice(&[0, 0]);
        match data {
            Data::A(ip) => self.out.extend_from_slice(&ip.octets()),
            Data::Cname(target) => self.name(target),
            Data::Ns => self.name(NAME_SERVER),
            Data::Soa => {
                self.name(NAME_SERVER);
                self.name(HOSTMASTER);
                for n in [1, 7200, 900, 1_209_600, dns::TTL] {
                    self.out.extend_from_slice(&n.to_be_bytes());
                }
            }
        }
        let len = (self.out.len() - len_at - 2) as u16;
        self.out[len_at..len_at + 2].copy_from_slice(&len.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use airlock_services::Config;
    use airlock_store::Store;
    use hickory_proto::op::{
        Edns as HEdns, Message, MessageType, OpCode, Query as HQuery, ResponseCode,
    };
    use hickory_proto::rr::{Name, RData, RecordType};
    use hickory_proto::serialize::binary::{BinDecodable, BinEncodable};

    fn source() -> Source {
        struct StoreRef(Store);
        impl AsRef<Store> for StoreRef {
            fn as_ref(&self) -> &Store {
                &self.0
            }
        }
        Source {
            store: Arc::new(StoreRef(
                Store::ephemeral(&airlock_services::record_kinds()),
            )),
            config: Config::default(),
        }
    }

    fn packet(n: &str, t: RecordType) -> Vec<u8> {
        let mut m = Message::new(0x1234, MessageType::Query, OpCode::Query);
        m.metadata.recursion_desired = true;
        m.add_query(HQuery::query(Name::from_ascii(n).unwrap(), t));
        m.to_bytes().unwrap()
    }

    fn reply(s: &Source, p: &[u8]) -> Message {
        Message::from_bytes(&answer(s, p, Transport::Udp).expect("a reply"))
            .expect("a well-formed reply")
    }

    #[test]
    fn zones_answer_and_others_are_refused() {
        let s = source();
        let m = reply(&s, &packet("VPCE.amazonaws.com.", RecordType::SOA));
        assert_eq!(m.metadata.id, 0x1234);
        assert_eq!(m.metadata.response_code, ResponseCode::NoError);
        assert!(m.metadata.authoritative && m.metadata.recursion_available);
        assert!(matches!(m.answers[0].data, RData::SOA(_)));
        assert_eq!(m.answers[0].ttl, 60);
        // The question comes back as it was asked.
        assert_eq!(m.queries[0].name().to_ascii(), "VPCE.amazonaws.com.");
        let m = reply(&s, &packet("vpce.amazonaws.com.", RecordType::NS));
        assert!(
            matches!(&m.answers[0].data, RData::NS(ns) if ns.0.to_ascii() == "ns-1536.awsdns-00.co.uk.")
        );
        let m = reply(&s, &packet("x.vpce.amazonaws.com.", RecordType::A));
        assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
        assert!(matches!(m.authorities[0].data, RData::SOA(_)));
        assert_eq!(m.authorities[0].name.to_ascii(), "vpce.amazonaws.com.");
        let m = reply(&s, &packet("vpce.amazonaws.com.", RecordType::AAAA));
        assert_eq!(m.metadata.response_code, ResponseCode::NoError);
        assert!(m.answers.is_empty());
        assert_eq!(m.authorities.len(), 1);
        let m = reply(&s, &packet("example.com.", RecordType::A));
        assert_eq!(m.metadata.response_code, ResponseCode::Refused);
        assert!(!m.metadata.authoritative);
        // Under amazonaws.com, a name no zone of a service holds does not exist (AWS's public
        // endpoints are names of that zone).
        let m = reply(&s, &packet("notvpce.amazonaws.com.", RecordType::A));
        assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
        assert_eq!(m.authorities[0].name.to_ascii(), "amazonaws.com.");
        let m = reply(&s, &packet("sts.us-west-2.amazonaws.com.", RecordType::A));
        assert!(
            matches!(&m.answers[0].data, RData::A(a) if a.0 == std::net::Ipv4Addr::new(127, 255, 255, 254))
        );
        let m = reply(&s, &packet("amazonaws.com.example.", RecordType::A));
        assert_eq!(m.metadata.response_code, ResponseCode::Refused);
        let m = reply(&s, &packet("vpce.amazonaws.com.", RecordType::AXFR));
        assert_eq!(m.metadata.response_code, ResponseCode::Refused);
    }

    #[test]
    fn malformed_queries_get_the_protocol_answers() {
        let s = source();
        // Too short to be a message, or a response: no reply at all.
        assert!(answer(&s, b"\x00\x01garbage", Transport::Udp).is_none());
        let mut response = packet("vpce.amazonaws.com.", RecordType::A);
        response[2] |= 0x80;
        assert!(answer(&s, &response, Transport::Udp).is_none());
        // A cut question, or two questions: FORMERR.
        let p = packet("vpce.amazonaws.com.", RecordType::A);
        let m = reply(&s, &p[..p.len() - 3]);
        assert_eq!(m.metadata.response_code, ResponseCode::FormErr);
        let mut two = p.clone();
        two[5] = 2;
        assert_eq!(
            reply(&s, &two).metadata.response_code,
            ResponseCode::FormErr
        );
        // Another opcode: NOTIMP.
        let mut notify = p.clone();
        notify[2] = (notify[2] & 0x87) | (4 << 3);
        assert_eq!(
            reply(&s, &notify).metadata.response_code,
            ResponseCode::NotImp
        );
    }

    #[test]
    fn edns_is_answered_and_other_versions_refused() {
        let s = source();
        let mut m = Message::new(9, MessageType::Query, OpCode::Query);
        m.add_query(HQuery::query(
            Name::from_ascii("x.vpce.amazonaws.com.").unwrap(),
            RecordType::A,
        ));
        let mut edns = HEdns::new();
        edns.set_max_payload(1232);
        m.edns = Some(edns.clone());
        let r = reply(&s, &m.to_bytes().unwrap());
        assert_eq!(r.metadata.response_code, ResponseCode::NXDomain);
        assert_eq!(r.edns.as_ref().map(|e| e.max_payload()), Some(4096));
        edns.set_version(1);
        m.edns = Some(edns);
        let r = reply(&s, &m.to_bytes().unwrap());
        // 16: BADVERS (RFC 6891), which hickory names after TSIG's BADSIG of the same value.
        assert_eq!(u16::from(r.metadata.response_code), 16);
        // Two OPT records: FORMERR (RFC 6891 6.1.1), not an answer to the question.
        edns = HEdns::new();
        edns.set_max_payload(1232);
        m.edns = Some(edns);
        let mut two = m.to_bytes().unwrap();
        assert_eq!(two[11], 1, "one additional record: the OPT");
        two[11] = 2;
        two.extend_from_slice(&[0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            reply(&s, &two).metadata.response_code,
            ResponseCode::FormErr
        );
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let s = source();
        // A deterministic sweep of mutated packets (the fuzz target explores further).
        let base = packet(
            "vpce-0123456789abcdef0-abcdefgh-us-west-2a.vpce-svc-1.us-west-2.vpce.amazonaws.com.",
            RecordType::A,
        );
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..5000 {
            let mut p = base.clone();
            for _ in 0..4 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let i = (seed as usize) % p.len();
                p[i] = (seed >> 32) as u8;
            }
            p.truncate(((seed >> 40) as usize) % (p.len() + 1));
            for t in [Transport::Udp, Transport::Tcp] {
                if let Some(r) = answer(&s, &p, t) {
                    // Every reply is a message a client can read.
                    Message::from_bytes(&r).expect("a well-formed reply");
                }
            }
        }
    }

    #[test]
    fn names_with_dots_inside_labels_spell_nothing_else() {
        let text = |l: &[u8]| {
            let mut s = String::new();
            label_text(&mut s, l);
            s
        };
        assert_eq!(text(b"a.b"), "a\\.b");
        assert_eq!(text(b"A\x00"), "a\\000");
    }

    /// Names repeat as pointers: the answer's owner points at the question, the CNAME target's
    /// shared suffix at its first occurrence.
    #[test]
    fn names_are_compressed() {
        let h = Header {
            id: 1,
            flags: 0x0100,
            qdcount: 1,
            ancount: 0,
            nscount: 0,
            arcount: 0,
        };
        let p = packet("X.vpce.amazonaws.com.", RecordType::A);
        let q = Query::parse(&p, &h).unwrap();
        let r = Resolved::answers(vec![
            Rr {
                owner: "x.vpce.amazonaws.com".into(),
                data: Data::Cname("y.vpce.amazonaws.com".into()),
            },
            Rr {
                owner: "y.vpce.amazonaws.com".into(),
                data: Data::A(Ipv4Addr::new(10, 0, 0, 1)),
            },
        ]);
        let bytes = Writer::reply(&h, &q, &r, false);
        let m = Message::from_bytes(&bytes).unwrap();
        assert_eq!(m.answers[0].name.to_ascii(), "X.vpce.amazonaws.com.");
        assert!(
            matches!(&m.answers[0].data, RData::CNAME(c) if c.0.to_ascii() == "y.vpce.amazonaws.com.")
        );
        assert_eq!(m.answers[1].name.to_ascii(), "y.vpce.amazonaws.com.");
        // Header 12 + question 26; answer 1: pointer 2 + 10 + "y" label 2 + pointer 2;
        // answer 2: pointer 2 + 10 + 4.
        assert_eq!(bytes.len(), 12 + 26 + (2 + 10 + 2 + 2) + (2 + 10 + 4));
    }
}
