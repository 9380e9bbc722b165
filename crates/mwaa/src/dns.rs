//! Step 1 and 3 of the page, `dig CNAME host` and `dig host`, as one A query to a DNS server:
//! the answer carries the CNAME chain and the addresses at its end.

use anyhow::{bail, Context};
use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinEncodable};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What DNS says about a name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answer {
    /// The name's CNAME target, without the trailing dot.
    pub cname: Option<String>,
    /// The IPv4 addresses at the end of the chain, sorted.
    pub addrs: Vec<Ipv4Addr>,
}

/// The first `nameserver` of a resolv.conf, on port 53.
pub fn system_server(resolv_conf: &str) -> Option<SocketAddr> {
    resolv_conf.lines().find_map(|l| {
        let mut w = l.split_whitespace();
        (w.next() == Some("nameserver"))
            .then(|| w.next()?.parse().ok())
            .flatten()
            .map(|ip| SocketAddr::new(ip, 53))
    })
}

/// The DNS server to ask: `given`, else the system's first nameserver.
pub fn server(given: Option<SocketAddr>) -> anyhow::Result<SocketAddr> {
    if let Some(s) = given {
        return Ok(s);
    }
    let conf = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    system_server(&conf).context("no DNS server: give --dns-server (Airlock's: 127.0.0.1:1053)")
}

/// Asks `server` for `host`'s A records (UDP, then TCP when the answer is truncated).
pub async fn lookup(server: SocketAddr, host: &str) -> anyhow::Result<Answer> {
    let name = Name::from_ascii(host).with_context(|| format!("{host:?} is not a DNS name"))?;
    let mut m = Message::new(rand_id(), MessageType::Query, OpCode::Query);
    m.metadata.recursion_desired = true;
    m.add_query(Query::query(name, RecordType::A));
    let packet = m.to_bytes()?;
    let mut reply = None;
    for _ in 0..3 {
        if let Ok(Ok(r)) = tokio::time::timeout(Duration::from_secs(2), udp(server, &packet)).await
        {
            reply = Some(r);
            break;
        }
    }
    let Some(mut bytes) = reply else {
        bail!("no answer from the DNS server {server}");
    };
    if Message::from_bytes(&bytes)?.metadata.truncation {
        bytes = tokio::time::timeout(Duration::from_secs(5), tcp(server, &packet))
            .await
            .context("the DNS server's TCP answer timed out")??;
    }
    parse(&Message::from_bytes(&bytes)?, host)
}

fn rand_id() -> u16 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (t.subsec_nanos() ^ std::process::id()) as u16
}

async fn udp(server: SocketAddr, packet: &[u8]) -> std::io::Result<Vec<u8>> {
    let local: SocketAddr = if server.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let s = tokio::net::UdpSocket::bind(local).await?;
    s.connect(server).await?;
    s.send(packet).await?;
    let mut buf = vec![0; 4096];
    let n = s.recv(&mut buf).await?;
    buf.truncate(n);
    Ok(buf)
}

async fn tcp(server: SocketAddr, packet: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut s = tokio::net::TcpStream::connect(server).await?;
    s.write_all(&(packet.len() as u16).to_be_bytes()).await?;
    s.write_all(packet).await?;
    let n = s.read_u16().await?;
    let mut buf = vec![0; usize::from(n)];
    s.read_exact(&mut buf).await?;
    Ok(buf)
}

/// The CNAME and addresses of an answer to an A query for `host`.
pub fn parse(m: &Message, host: &str) -> anyhow::Result<Answer> {
    match m.metadata.response_code {
        ResponseCode::NoError => {}
        ResponseCode::NXDomain => bail!("{host} does not exist (NXDOMAIN)"),
        other => bail!("the DNS server answered {other} for {host}"),
    }
    let mut out = Answer::default();
    for r in &m.answers {
        match &r.data {
            RData::CNAME(c) if out.cname.is_none() => {
                out.cname = Some(c.0.to_ascii().trim_end_matches('.').to_owned())
            }
            RData::A(a) => out.addrs.push(a.0),
            _ => {}
        }
    }
    out.addrs.sort();
    out.addrs.dedup();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_nameserver_of_resolv_conf() {
        let conf = "# comment\nsearch example.com\nnameserver 10.0.0.2\nnameserver 1.1.1.1\n";
        assert_eq!(system_server(conf), Some("10.0.0.2:53".parse().unwrap()));
        assert_eq!(
            system_server("nameserver ::1\n"),
            Some("[::1]:53".parse().unwrap())
        );
        assert_eq!(system_server("nameserver bogus\n"), None);
        assert_eq!(system_server(""), None);
    }
}
