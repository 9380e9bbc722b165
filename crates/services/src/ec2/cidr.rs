//! IPv4 CIDR arithmetic.

use std::fmt;
use std::net::Ipv4Addr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr {
    pub base: u32,
    pub prefix: u8,
}

impl Cidr {
    /// Parses `a.b.c.d/n`. The base must be the network address, as EC2 requires.
    pub fn parse(s: &str) -> Option<Cidr> {
        let (ip, len) = s.split_once('/')?;
        let ip: Ipv4Addr = ip.parse().ok()?;
        let prefix: u8 = len.parse().ok()?;
        if prefix > 32 || len.starts_with('+') {
            return None;
        }
        let c = Cidr {
            base: u32::from(ip),
            prefix,
        };
        (c.base & c.mask() == c.base).then_some(c)
    }

    /// Like `parse`, but tolerates host bits (security-group rules take `10.0.0.5/16`).
    pub fn parse_loose(s: &str) -> Option<Cidr> {
        let (ip, len) = s.split_once('/')?;
        let ip: Ipv4Addr = ip.parse().ok()?;
        let prefix: u8 = len.parse().ok().filter(|p| *p <= 32)?;
        let mut c = Cidr {
            base: u32::from(ip),
            prefix,
        };
        c.base &= c.mask();
        Some(c)
    }

    pub fn mask(&self) -> u32 {
        if self.prefix == 0 {
            0
        } else {
            u32::MAX << (32 - self.prefix)
        }
    }

    pub fn size(&self) -> u64 {
        1u64 << (32 - self.prefix)
    }

    pub fn last(&self) -> u32 {
        self.base | !self.mask()
    }

    pub fn contains_ip(&self, ip: u32) -> bool {
        ip & self.mask() == self.base
    }

    pub fn contains(&self, other: &Cidr) -> bool {
        other.prefix >= self.prefix && self.contains_ip(other.base)
    }

    pub fn overlaps(&self, other: &Cidr) -> bool {
        self.contains_ip(other.base) || other.contains_ip(self.base)
    }

    /// Addresses EC2 can hand out: all but the first four and the last.
    pub fn usable(&self) -> u64 {
        self.size().saturating_sub(5)
    }

    pub fn first_usable(&self) -> u32 {
        self.base + 4
    }

    pub fn last_usable(&self) -> u32 {
        self.last() - 1
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", Ipv4Addr::from(self.base), self.prefix)
    }
}

pub fn ip_str(ip: u32) -> String {
    Ipv4Addr::from(ip).to_string()
}

pub fn parse_ip(s: &str) -> Option<u32> {
    s.parse::<Ipv4Addr>().ok().map(u32::from)
}

/// RFC 1918 private space (and RFC 6598 shared space), where VPCs may live... and 172.31/16 for
/// default VPCs. AWS also allows publicly routable VPC CIDRs; Airlock does too.
pub fn is_private(c: &Cidr) -> bool {
    [
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
    ]
    .iter()
    .filter_map(|s| Cidr::parse(s))
    .any(|p| p.contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic() {
        let c = Cidr::parse("10.192.20.0/24").unwrap();
        assert_eq!(c.usable(), 251);
        assert_eq!(ip_str(c.first_usable()), "10.192.20.4");
        assert_eq!(ip_str(c.last_usable()), "10.192.20.254");
        assert!(Cidr::parse("10.192.20.1/24").is_none());
        assert!(Cidr::parse("10.192.0.0/16").unwrap().contains(&c));
        assert!(c.overlaps(&Cidr::parse("10.192.0.0/16").unwrap()));
        assert!(!c.overlaps(&Cidr::parse("10.192.21.0/24").unwrap()));
        assert_eq!(
            Cidr::parse_loose("10.0.0.5/16").unwrap().to_string(),
            "10.0.0.0/16"
        );
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains(&c));
    }
}
