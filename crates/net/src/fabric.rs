//! The loopback VPC fabric: how emulated VPC addresses map to real loopback addresses.
//!
//! Each VPC CIDR block (at most a /16 on AWS) is given a slot `N` in `1..=254`, and its addresses
//! map to `127.N.x.y`, keeping the low 16 bits: VPC address `10.0.1.23` in slot 5 is `127.5.1.23`.
//! Linux routes all of 127.0.0.0/8 to the loopback interface, so any component can bind and
//! connect there without privileges. Public addresses live in `127.255.0.0/16` (the range the EC2
//! service allocates Elastic IPs from), and `127.0.0.0/16` stays the host's own. Private VPC
//! addresses are never socket addresses: they only travel in API answers and DNS records.

use std::net::Ipv4Addr;

/// Public (internet-facing) addresses.
pub const PUBLIC_SLOT: u8 = 255;

/// The loopback address of VPC address `addr` in fabric slot `slot` (1..=254).
pub fn to_loopback(slot: u8, addr: Ipv4Addr) -> Option<Ipv4Addr> {
    if slot == 0 || slot == PUBLIC_SLOT {
        return None;
    }
    let o = addr.octets();
    Some(Ipv4Addr::new(127, slot, o[2], o[3]))
}

/// The VPC address a loopback address stands for, given the slot's VPC CIDR base (a /16 or
/// smaller block); `None` if the address is not in that slot.
pub fn from_loopback(slot: u8, vpc_base: Ipv4Addr, loopback: Ipv4Addr) -> Option<Ipv4Addr> {
    let o = loopback.octets();
    if o[0] != 127 || o[1] != slot || slot == 0 || slot == PUBLIC_SLOT {
        return None;
    }
    let base = u32::from(vpc_base) & 0xffff_0000;
    Some(Ipv4Addr::from(
        base | (u32::from(o[2]) << 8) | u32::from(o[3]),
    ))
}

/// Which fabric slot a loopback address belongs to: `Some(1..=254)` for VPCs, `Some(255)` for
/// public addresses, `None` for the host's own `127.0.x.x` and anything not on loopback.
pub fn slot_of(addr: Ipv4Addr) -> Option<u8> {
    let o = addr.octets();
    (o[0] == 127 && o[1] != 0).then_some(o[1])
}

pub fn is_public(addr: Ipv4Addr) -> bool {
    slot_of(addr) == Some(PUBLIC_SLOT)
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let vpc = Ipv4Addr::new(10, 192, 0, 0);
        let a = Ipv4Addr::new(10, 192, 20, 17);
        let l = to_loopback(5, a).unwrap();
        assert_eq!(l, Ipv4Addr::new(127, 5, 20, 17));
        assert_eq!(from_loopback(5, vpc, l), Some(a));
        assert_eq!(from_loopback(6, vpc, l), None);
        assert_eq!(slot_of(l), Some(5));
        assert_eq!(slot_of(Ipv4Addr::LOCALHOST), None);
        assert!(is_public(Ipv4Addr::new(127, 255, 3, 4)));
        assert_eq!(to_loopback(0, a), None);
        assert_eq!(to_loopback(255, a), None);
    }
}
