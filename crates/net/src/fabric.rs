//! The loopback VPC fabric's sockets: where a [`Place`] listens and how a component inside a
//! VPC connects from its interface.
//!
//! The address arithmetic (VPC addresses ↔ `127.<slot>.x.y`) and every decision about who may
//! connect live in the EC2 model ([`airlock_services::ec2::fabric`], re-exported here); this
//! module adds what needs the operating system: the privileged-port fallback and the sockets.

use crate::source::Source;
use airlock_services::dataplane::Place;
use airlock_services::ec2::eni;
use airlock_services::ec2::fabric as model;
use airlock_store::Scope;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use tokio::net::TcpStream;

pub use model::{from_loopback, is_public, slot_of, to_loopback, PUBLIC_SLOT};

/// Ports below 1024 need privileges; without them every listener and connection in the fabric
/// uses `port + 10000` instead (443 → 10443, 22 → 10022), the same on both sides.
pub fn port(p: u16) -> u16 {
    static OFFSET: std::sync::OnceLock<u16> = std::sync::OnceLock::new();
    let offset = *OFFSET.get_or_init(|| {
        match std::net::TcpListener::bind((Ipv4Addr::new(127, 0, 0, 1), 1)) {
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => 10000,
            _ => 0,
        }
    });
    if p < 1024 {
        p + offset
    } else {
        p
    }
}

/// The loopback address where VPC address `ip` of `vpc_id` is reached at `port` (the slot of
/// its /16 is taken on first use).
pub fn address_of(
    source: &Source,
    scope: &Scope,
    vpc_id: &str,
    ip: Ipv4Addr,
    port: u16,
) -> Option<SocketAddr> {
    let slot = model::ensure_slot(source.store(), &source.config, scope, vpc_id, ip).ok()?;
    Some(SocketAddr::V4(SocketAddrV4::new(
        to_loopback(slot, ip)?,
        self::port(port),
    )))
}

/// The socket address a listener at `place` binds.
pub fn socket_of(source: &Source, place: &Place) -> Option<SocketAddr> {
    match place {
        Place::Public { ip, port, .. } => {
            Some(SocketAddr::V4(SocketAddrV4::new(*ip, self::port(*port))))
        }
        Place::Interface {
            scope,
            vpc_id,
            ip,
            port,
            ..
        } => address_of(source, scope, vpc_id, *ip, *port),
    }
}

/// Connects from interface `from` (its fabric address is the source) to VPC address `to`:`port`,
/// as a component inside the VPC does, so the listener's admission sees that interface.
pub async fn connect_from(
    source: &Source,
    scope: &Scope,
    from: &eni::NetworkInterface,
    to: Ipv4Addr,
    port: u16,
) -> std::io::Result<TcpStream> {
    let local = address_of(
        source,
        scope,
        &from.vpc_id,
        Ipv4Addr::from(from.private_ip),
        0,
    )
    .ok_or_else(|| std::io::Error::other("the interface has no fabric address"))?;
    let remote = address_of(source, scope, &from.vpc_id, to, port)
        .ok_or_else(|| std::io::Error::other("no fabric address"))?;
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(local.ip(), 0))?;
    socket.connect(remote).await
}
