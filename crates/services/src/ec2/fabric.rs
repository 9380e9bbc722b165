//! The loopback VPC fabric as the EC2 model sees it: which loopback slot a VPC has, how its
//! addresses map to loopback addresses, which interface holds an address, and who may connect
//! to what (the data plane's admission policy; `airlock-net` asks, and only opens sockets).
//!
//! Each /16 that a VPC's IPv4 blocks lie in (a block is at most a /16 on AWS) is given a slot `N`
//! in `1..=254`, and its addresses map to `127.N.x.y`, keeping the low 16 bits: VPC address
//! `10.0.1.23` in slot 5 is `127.5.1.23`. A VPC with a secondary block in another /16
//! (10.1.0.0/16 beside 10.0.0.0/16) has a second slot; blocks of one /16 share theirs.
//! Linux routes all of 127.0.0.0/8 to the loopback interface, so any component can bind and
//! connect there without privileges. Public addresses live in `127.255.0.0/16` (the range the EC2
//! service allocates Elastic IPs from), and `127.0.0.0/16` stays the host's own. Private VPC
//! addresses are never socket addresses: they only travel in API answers and DNS records.
//!
//! Slots are handed out on first use (a VPC that never hosts a listener never takes one) and
//! kept in a global record, so every VPC of every account and region has its own loopback /16.

use super::cidr::{self, Cidr};
use super::{eni, igw, routes, sg, vpc, vpce};
use crate::authz::{Arrival, Through};
use crate::dataplane::Place;
use airlock_protocol::{ApiError, ApiResult};
use airlock_store::{Read, Scope, Store, View};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

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

/// The VPC address a loopback address stands for, given the /16 its slot stands for (any
/// address of it); `None` if the address is not in that slot.
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

/// AWS's public service endpoints (`sts.us-west-2.amazonaws.com`, `s3.us-west-2.amazonaws.com`,
/// ...) as a VPC reaches them: one public address, never handed to an instance or NAT gateway.
pub const AWS_PUBLIC: Ipv4Addr = Ipv4Addr::new(127, 255, 255, 254);

/// What AWS's public endpoints know of a connection from interface `n` (TCP to [`AWS_PUBLIC`]
/// on 443): `None` if its subnet reaches neither the internet nor a gateway endpoint; otherwise
/// the gateway endpoints on its route table (each for its service's requests, which then carry
/// it as `aws:SourceVpce`) and the address the internet sees (`aws:SourceIp`).
pub fn to_aws(v: &View<'_>, scope: &Scope, n: &eni::NetworkInterface) -> Option<Arrival> {
    let table = routes::table_of(v, scope, &n.vpc_id, &n.subnet_id).map(|t| t.id.clone());
    let gateways: Vec<Through> = v
        .list_in::<vpce::VpcEndpoint>(scope, &n.vpc_id)
        .into_iter()
        .filter(|e| {
            e.endpoint_type == "Gateway"
                && table
                    .as_ref()
                    .is_some_and(|t| e.route_table_ids.contains(t))
        })
        .filter_map(|e| {
            Some(Through {
                scope: scope.clone(),
                endpoint: e.id.clone(),
                vpc: n.vpc_id.clone(),
                vpc_source_ip: Some(Ipv4Addr::from(n.private_ip)),
                service: crate::service::serving(e.aws_service()?)?.name,
            })
        })
        .collect();
    if gateways.is_empty() && !reaches_internet(v, scope, &n.vpc_id, &n.subnet_id) {
        return None;
    }
    Some(Arrival {
        endpoint: None,
        gateways,
        source_ip: n
            .public_ip
            .as_deref()
            .and_then(|ip| ip.parse::<Ipv4Addr>().ok())
            .map(IpAddr::V4),
    })
}

pub fn is_public(addr: Ipv4Addr) -> bool {
    slot_of(addr) == Some(PUBLIC_SLOT)
}

/// Slots are 1..=254 at most; 0 is the host's own 127.0.x.x, 255 the public range.
const SLOTS: std::ops::RangeInclusive<u8> = 1..=254;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FabricSlot {
    /// The slot number, zero-padded (`007`).
    pub id: String,
    pub scope: Scope,
    pub vpc_id: String,
    /// The /16 of the VPC's addresses the slot carries (its first address); `None` in records
    /// written before VPCs had secondary blocks: the primary block's.
    #[serde(default)]
    pub base: Option<u32>,
}

airlock_store::record!(FabricSlot, "ec2.fabric_slot", id);

fn global() -> Scope {
    Scope::new("", "")
}

/// The /16 that VPC address `ip` lies in (its first address).
fn sixteen(ip: u32) -> u32 {
    ip & 0xffff_0000
}

/// The /16 slot `s` carries.
fn base_of(v: &impl Read, s: &FabricSlot) -> Option<u32> {
    s.base.or_else(|| {
        v.get::<vpc::Vpc>(&s.scope, &s.vpc_id)
            .map(|vpc| sixteen(vpc.cidr().base))
    })
}

/// The slot that carries VPC address `ip` of `vpc_id`, taking a free one if there is none.
pub fn ensure_slot(
    store: &Store,
    config: &crate::Config,
    scope: &Scope,
    vpc_id: &str,
    ip: Ipv4Addr,
) -> ApiResult<u8> {
    let want = sixteen(u32::from(ip));
    fn find(v: &impl Read, scope: &Scope, vpc_id: &str, want: u32) -> Option<u8> {
        v.list::<FabricSlot>(&global())
            .into_iter()
            .find(|s| &s.scope == scope && s.vpc_id == vpc_id && base_of(v, s) == Some(want))
            .and_then(|s| s.id.parse().ok())
    }
    if let Some(slot) = store.read(|v| find(v, scope, vpc_id, want)) {
        return Ok(slot);
    }
    store.write(|tx| {
        if let Some(slot) = find(&*tx, scope, vpc_id, want) {
            return Ok(slot);
        }
        let taken = tx.list::<FabricSlot>(&global());
        let range = (*config.fabric_slots.start()).max(*SLOTS.start())
            ..=(*config.fabric_slots.end()).min(*SLOTS.end());
        let slot = range
            .into_iter()
            .find(|n| !taken.iter().any(|s| s.id == format!("{n:03}")))
            .ok_or_else(|| {
                ApiError::new(
                    "VpcLimitExceeded",
                    "Airlock's loopback fabric has room for 254 VPC /16s with listeners.",
                )
            })?;
        tx.put(
            &global(),
            FabricSlot {
                id: format!("{slot:03}"),
                scope: scope.clone(),
                vpc_id: vpc_id.to_owned(),
                base: Some(want),
            },
        )?;
        Ok(slot)
    })
}

/// The VPC that owns `slot`, and the /16 of its addresses the slot carries.
pub fn vpc_of_slot(v: &View<'_>, slot: u8) -> Option<(Scope, Arc<vpc::Vpc>, u32)> {
    let s = v.get::<FabricSlot>(&global(), &format!("{slot:03}"))?;
    let base = base_of(v, &s)?;
    v.get::<vpc::Vpc>(&s.scope, &s.vpc_id)
        .map(|vpc| (s.scope.clone(), vpc, base))
}

/// Frees the slots of VPCs that no longer exist and of /16s no block of their VPC lies in.
pub fn release_stale(store: &Store) -> ApiResult<()> {
    let stale: Vec<String> = store.read(|v| {
        v.list::<FabricSlot>(&global())
            .iter()
            .filter(|s| {
                let vpc = v.get::<vpc::Vpc>(&s.scope, &s.vpc_id);
                let base = base_of(v, s);
                !vpc.is_some_and(|vpc| vpc.ipv4_cidrs().any(|c| Some(sixteen(c.base)) == base))
            })
            .map(|s| s.id.clone())
            .collect()
    });
    if stale.is_empty() {
        return Ok(());
    }
    store.write(|tx| {
        for id in &stale {
            tx.delete::<FabricSlot>(&global(), id);
        }
        Ok::<_, ApiError>(())
    })
}

/// The interface holding private address `ip` in `vpc_id`.
pub fn interface_at(
    v: &View<'_>,
    scope: &Scope,
    vpc_id: &str,
    ip: u32,
) -> Option<Arc<eni::NetworkInterface>> {
    v.list_in::<eni::NetworkInterface>(scope, vpc_id)
        .into_iter()
        .find(|e| e.private_ip == ip)
}

/// Whether the security groups `dest_groups` admit TCP to `port` from a peer at VPC address
/// `peer_ip` that carries `peer_groups`.
pub fn admits(
    v: &View<'_>,
    scope: &Scope,
    dest_groups: &[String],
    peer_ip: u32,
    peer_groups: &[String],
    port: u16,
) -> bool {
    rules_match(
        v,
        scope,
        dest_groups,
        false,
        peer_ip,
        peer_groups,
        Traffic::Tcp(port),
    )
}

/// Whether the security groups `src_groups` let TCP out to `dest_ip`:`port` (carrying `dest_groups`).
pub fn lets_out(
    v: &View<'_>,
    scope: &Scope,
    src_groups: &[String],
    dest_ip: u32,
    dest_groups: &[String],
    port: u16,
) -> bool {
    rules_match(
        v,
        scope,
        src_groups,
        true,
        dest_ip,
        dest_groups,
        Traffic::Tcp(port),
    )
}

/// What a security group rule is asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Traffic {
    /// A TCP connection to a port.
    Tcp(u16),
    /// An ICMP echo request (type 8, code 0); its reply is let back as the groups are stateful.
    Ping,
}

/// Whether interface `from` may ping VPC address `to` of its VPC: an interface holds the
/// address, its groups admit ICMP echo from `from` and `from`'s groups let it out.
pub fn pingable(v: &View<'_>, scope: &Scope, from: &eni::NetworkInterface, to: Ipv4Addr) -> bool {
    interface_at(v, scope, &from.vpc_id, u32::from(to)).is_some_and(|dest| {
        let inbound = dest.groups.is_empty()
            || rules_match(
                v,
                scope,
                &dest.groups,
                false,
                from.private_ip,
                &from.groups,
                Traffic::Ping,
            );
        let outbound = from.groups.is_empty()
            || rules_match(
                v,
                scope,
                &from.groups,
                true,
                dest.private_ip,
                &dest.groups,
                Traffic::Ping,
            );
        inbound && outbound
    })
}

fn rules_match(
    v: &View<'_>,
    scope: &Scope,
    groups: &[String],
    egress: bool,
    other_ip: u32,
    other_groups: &[String],
    traffic: Traffic,
) -> bool {
    groups
        .iter()
        .filter_map(|g| v.get::<sg::SecurityGroup>(scope, g))
        .any(|g| {
            g.rules.iter().filter(|r| r.egress == egress).any(|r| {
                let (proto, ports) = match traffic {
                    _ if r.protocol == "-1" => (true, true),
                    Traffic::Tcp(port) => (
                        r.protocol == "tcp" || r.protocol == "6",
                        (r.from_port.unwrap_or(0)..=r.to_port.unwrap_or(65535))
                            .contains(&i64::from(port)),
                    ),
                    // An ICMP rule's ports are the type and the code; -1 is any.
                    Traffic::Ping => (
                        r.protocol == "icmp" || r.protocol == "1",
                        matches!(r.from_port.unwrap_or(-1), -1 | 8)
                            && matches!(r.to_port.unwrap_or(-1), -1 | 0),
                    ),
                };
                let peer = r
                    .cidr_ipv4
                    .as_deref()
                    .and_then(Cidr::parse_loose)
                    .is_some_and(|c| c.contains_ip(other_ip))
                    || r.group_id
                        .as_ref()
                        .is_some_and(|gid| other_groups.contains(gid));
                proto && ports && peer
            })
        })
}

/// The VPC (with its scope) and VPC address that loopback address `loopback` stands for.
pub fn vpc_address(v: &View<'_>, loopback: Ipv4Addr) -> Option<(Scope, Arc<vpc::Vpc>, Ipv4Addr)> {
    let slot = slot_of(loopback)?;
    let (scope, vpc, base) = vpc_of_slot(v, slot)?;
    let ip = from_loopback(slot, Ipv4Addr::from(base), loopback)?;
    Some((scope, vpc, ip))
}

/// Whether the fabric lets a peer at loopback address `peer` connect to `place`: for an
/// interface, the peer must be an interface of the same VPC and the security groups must let it
/// through both ways ([`allows`]); for a public address, the guarding interface's groups and
/// subnet must admit the internet ([`internet_admits`]). Checked at every accept.
pub fn admitted(v: &View<'_>, place: &Place, peer: IpAddr) -> bool {
    match place {
        Place::Interface {
            scope, eni, port, ..
        } => {
            let IpAddr::V4(peer) = peer else {
                return false;
            };
            let Some(dest) = v.get::<eni::NetworkInterface>(scope, eni) else {
                return false;
            };
            let Some((peer_scope, vpc, peer_ip)) = vpc_address(v, peer) else {
                return false;
            };
            if &peer_scope != scope || vpc.id != dest.vpc_id {
                return false;
            }
            interface_at(v, scope, &vpc.id, u32::from(peer_ip))
                .is_some_and(|src| allows(v, scope, &src, &dest, *port))
        }
        Place::Public {
            scope, port, guard, ..
        } => match guard {
            None => true,
            Some(eni) => v.get::<eni::NetworkInterface>(scope, eni).is_some_and(|n| {
                internet_admits(v, scope, &n.groups, &n.vpc_id, &n.subnet_id, peer, *port)
            }),
        },
    }
}

/// Whether interface `from` may open TCP to VPC address `to`:`port` of its VPC: an interface
/// holds the address and the security groups let the connection through ([`allows`]).
pub fn reachable(
    v: &View<'_>,
    scope: &Scope,
    from: &eni::NetworkInterface,
    to: Ipv4Addr,
    port: u16,
) -> bool {
    interface_at(v, scope, &from.vpc_id, u32::from(to))
        .is_some_and(|dest| allows(v, scope, from, &dest, port))
}

/// Whether the security groups let interface `src` open TCP to `port` of interface `dest`
/// (ingress of `dest`'s groups, egress of `src`'s). An interface without groups (a Network Load
/// Balancer's, created without them) filters nothing.
pub fn allows(
    v: &View<'_>,
    scope: &Scope,
    src: &eni::NetworkInterface,
    dest: &eni::NetworkInterface,
    port: u16,
) -> bool {
    blocked(v, scope, src, dest, port).is_none()
}

/// Which side's groups stop `src` → `dest`:`port`, if any: the one decision behind [`allows`]
/// and [`refusal`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Blocked {
    /// No ingress rule of `dest`'s groups admits it.
    Inbound,
    /// No egress rule of `src`'s groups lets it out.
    Outbound,
}

fn blocked(
    v: &View<'_>,
    scope: &Scope,
    src: &eni::NetworkInterface,
    dest: &eni::NetworkInterface,
    port: u16,
) -> Option<Blocked> {
    if !(dest.groups.is_empty()
        || admits(v, scope, &dest.groups, src.private_ip, &src.groups, port))
    {
        Some(Blocked::Inbound)
    } else if !(src.groups.is_empty()
        || lets_out(v, scope, &src.groups, dest.private_ip, &dest.groups, port))
    {
        Some(Blocked::Outbound)
    } else {
        None
    }
}

/// Why [`allows`] refuses interface `src` TCP to `port` of interface `dest`, naming the rule
/// that is missing (`None`: it allows). The console's access paths say this.
pub fn refusal(
    v: &View<'_>,
    scope: &Scope,
    src: &eni::NetworkInterface,
    dest: &eni::NetworkInterface,
    port: u16,
) -> Option<String> {
    let named = |groups: &[String]| match groups {
        [] => "no security group".to_owned(),
        gs => gs.join(", "),
    };
    Some(match blocked(v, scope, src, dest, port)? {
        Blocked::Inbound => format!(
            "no inbound rule of {} admits TCP {port} from {} or {}/32",
            named(&dest.groups),
            named(&src.groups),
            Ipv4Addr::from(src.private_ip)
        ),
        Blocked::Outbound => format!(
            "no outbound rule of {} lets TCP {port} out to {} or {}/32",
            named(&src.groups),
            named(&dest.groups),
            Ipv4Addr::from(dest.private_ip)
        ),
    })
}

/// Why [`internet_admits`] refuses a peer on the internet (here: the host, `127.0.0.1`) TCP to
/// `port` of a public address in `subnet_id` guarded by `groups` (`None`: it admits).
pub fn internet_refusal(
    v: &View<'_>,
    scope: &Scope,
    groups: &[String],
    vpc_id: &str,
    subnet_id: &str,
    port: u16,
) -> Option<String> {
    let host = IpAddr::V4(Ipv4Addr::LOCALHOST);
    if internet_admits(v, scope, groups, vpc_id, subnet_id, host, port) {
        return None;
    }
    if !reaches_internet(v, scope, vpc_id, subnet_id) {
        let table = routes::table_of(v, scope, vpc_id, subnet_id).map_or_else(
            || "no route table".to_owned(),
            |t| format!("route table {}", t.id),
        );
        return Some(format!(
            "subnet {subnet_id} ({table}) has no route to an internet gateway attached to {vpc_id}"
        ));
    }
    Some(format!(
        "no inbound rule of {} admits TCP {port} from the internet (0.0.0.0/0 or your address/32)",
        groups.join(", ")
    ))
}

/// Whether subnet `subnet_id` of `vpc_id` routes to an internet gateway attached to the VPC
/// (without one, a public address there is unreachable, as on AWS).
fn reaches_internet(v: &View<'_>, scope: &Scope, vpc_id: &str, subnet_id: &str) -> bool {
    routes::table_of(v, scope, vpc_id, subnet_id).is_some_and(|t| {
        t.routes.iter().any(|r| {
            r.gateway_id
                .as_deref()
                .filter(|g| g.starts_with("igw-"))
                .and_then(|g| v.get::<igw::InternetGateway>(scope, g))
                .is_some_and(|g| g.attached_to(vpc_id))
        })
    })
}

/// Whether a peer from the internet may reach TCP `port` of a public address in subnet
/// `subnet_id` guarded by security groups `groups` (none: no filtering, an NLB's case).
///
/// The peer is a host program on the loopback interface; on AWS it would be some public address
/// Airlock cannot know. So an ingress rule for the port admits it if its IPv4 CIDR contains the
/// peer's real address (`127.0.0.1/32`) or any public address (not RFC 1918/6598, loopback or
/// link-local): `0.0.0.0/0` and the tutorials' `<your IP>/32` admit, `10.0.0.0/8` or a group
/// reference do not. The subnet must also route to an attached internet gateway.
pub fn internet_admits(
    v: &View<'_>,
    scope: &Scope,
    groups: &[String],
    vpc_id: &str,
    subnet_id: &str,
    peer: IpAddr,
    port: u16,
) -> bool {
    let peer_ip = match peer {
        IpAddr::V4(a) => Some(u32::from(a)),
        IpAddr::V6(_) => None,
    };
    reaches_internet(v, scope, vpc_id, subnet_id)
        && (groups.is_empty()
            || groups
                .iter()
                .filter_map(|g| v.get::<sg::SecurityGroup>(scope, g))
                .any(|g| g.rules.iter().any(|r| admits_internet(r, peer_ip, port))))
}

/// Whether ingress rule `r` lets an internet peer (at loopback address `peer_ip`) reach TCP
/// `port`.
fn admits_internet(r: &sg::Rule, peer_ip: Option<u32>, port: u16) -> bool {
    let ports = r.protocol == "-1"
        || (r.protocol == "tcp"
            && (r.from_port.unwrap_or(0)..=r.to_port.unwrap_or(65535)).contains(&i64::from(port)));
    let cidr = r.cidr_ipv4.as_deref().and_then(Cidr::parse_loose);
    !r.egress
        && ports
        && cidr.is_some_and(|c| has_public(&c) || peer_ip.is_some_and(|ip| c.contains_ip(ip)))
}

/// Whether `c` holds an address of the internet: not only private (RFC 1918, RFC 6598),
/// loopback or link-local space.
fn has_public(c: &Cidr) -> bool {
    let local = ["127.0.0.0/8", "169.254.0.0/16"]
        .iter()
        .filter_map(|s| Cidr::parse(s))
        .any(|l| l.contains(c));
    !cidr::is_private(c) && !local
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A peer inside the VPC gets in only when the listener's groups admit it (here: by group
    /// reference); one from another VPC, the host's own address, or a v6 peer never does.
    #[test]
    fn admission_follows_the_security_groups() {
        use crate::auth::test_support::{ctx_as, root_principal, store};
        use crate::ec2::{eni, sg, subnet, vpc};
        use serde_json::json;
        let store = store();
        let config = crate::Config::default();
        let ctx = ctx_as(&store, &config, root_principal("123456789012"));
        vpc::ensure_region(&ctx).unwrap();
        let new_vpc = |cidr: &str| {
            let v = vpc::create_vpc(&ctx, &json!({"CidrBlock": cidr}))
                .unwrap()
                .to_value();
            let vpc_id = v["Vpc"]["VpcId"].as_str().unwrap().to_owned();
            let s = subnet::create_subnet(&ctx, &json!({"VpcId": vpc_id, "CidrBlock": cidr}))
                .unwrap()
                .to_value();
            (vpc_id, s["Subnet"]["SubnetId"].as_str().unwrap().to_owned())
        };
        let group = |vpc_id: &str, name: &str| {
            let g = sg::create_security_group(
                &ctx,
                &json!({"GroupName": name, "Description": name, "VpcId": vpc_id}),
            )
            .unwrap();
            g["GroupId"].as_str().unwrap().to_owned()
        };
        let interface = |subnet: &str, group: &str| {
            let n = eni::create_network_interface(
                &ctx,
                &json!({"SubnetId": subnet, "Groups": [group]}),
            )
            .unwrap();
            let id = n["NetworkInterface"]["NetworkInterfaceId"]
                .as_str()
                .unwrap();
            store
                .read(|v| v.get::<eni::NetworkInterface>(&ctx.scope(), id))
                .unwrap()
        };
        let (vpc_a, subnet_a) = new_vpc("10.1.0.0/24");
        let (vpc_b, subnet_b) = new_vpc("10.2.0.0/24");
        let (server_group, client_group) = (group(&vpc_a, "server"), group(&vpc_a, "client"));
        let server = interface(&subnet_a, &server_group);
        let client = interface(&subnet_a, &client_group);
        let outsider = interface(&subnet_b, &group(&vpc_b, "outsider"));
        let scope = ctx.scope();
        let place = crate::dataplane::Place::on(&scope, &server, 443);
        let loopback = |n: &eni::NetworkInterface| {
            let ip = Ipv4Addr::from(n.private_ip);
            let slot = ensure_slot(&store, &config, &scope, &n.vpc_id, ip).unwrap();
            IpAddr::V4(to_loopback(slot, Ipv4Addr::from(n.private_ip)).unwrap())
        };
        let admitted_now = |peer| store.read(|v| admitted(v, &place, peer));
        assert!(!admitted_now(loopback(&client)), "no ingress rule yet");
        let why = store.read(|v| refusal(v, &scope, &client, &server, 443));
        assert_eq!(
            why.as_deref(),
            Some(
                format!(
                    "no inbound rule of {server_group} admits TCP 443 from {client_group} or {}/32",
                    Ipv4Addr::from(client.private_ip)
                )
                .as_str()
            ),
            "the refusal names the rule that is missing"
        );
        sg::authorize_ingress(
            &ctx,
            &json!({"GroupId": server_group, "IpPermissions": [{
                "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
                "UserIdGroupPairs": [{"GroupId": client_group}]}]}),
        )
        .unwrap();
        assert!(admitted_now(loopback(&client)));
        assert_eq!(
            store.read(|v| refusal(v, &scope, &client, &server, 443)),
            None
        );
        assert!(!admitted_now(loopback(&outsider)), "another VPC");
        assert!(!admitted_now(IpAddr::V4(Ipv4Addr::LOCALHOST)), "the host");
        assert!(!admitted_now(IpAddr::V6(std::net::Ipv6Addr::LOCALHOST)));
        let other_port = crate::dataplane::Place::on(&scope, &server, 80);
        assert!(!store.read(|v| admitted(v, &other_port, loopback(&client))));
    }

    /// An interface reaches AWS's public endpoints through its subnet's internet gateway or a
    /// gateway endpoint on its route table (which then applies to its service's requests).
    #[test]
    fn aws_is_reached_through_the_internet_or_a_gateway_endpoint() {
        use crate::auth::test_support::{ctx_as, ec2, root_principal, store, vpc_with_subnet};
        use serde_json::json;
        let store = store();
        let config = crate::Config::default();
        let ctx = ctx_as(&store, &config, root_principal("123456789012"));
        let call = |op: &str, input: serde_json::Value| ec2(&ctx, op, input).unwrap();
        let id = |v: &serde_json::Value, path: &[&str]| {
            path.iter()
                .fold(v, |v, k| &v[k])
                .as_str()
                .unwrap()
                .to_owned()
        };
        let (vpc, subnet) = vpc_with_subnet(&ctx, "10.1.0.0/16", "10.1.1.0/24");
        let n = id(
            &call("CreateNetworkInterface", json!({"SubnetId": subnet})),
            &["NetworkInterface", "NetworkInterfaceId"],
        );
        let scope = ctx.scope();
        let n = store
            .read(|v| v.get::<eni::NetworkInterface>(&scope, &n))
            .unwrap();
        let arrival = || store.read(|v| to_aws(v, &scope, &n));
        assert_eq!(arrival(), None, "a private subnet without a way out");
        let why = store.read(|v| internet_refusal(v, &scope, &n.groups, &vpc, &subnet, 22));
        assert!(
            why.as_deref().is_some_and(|w| w
                .starts_with(&format!("subnet {subnet} (route table rtb-"))
                && w.ends_with(&format!(
                    "has no route to an internet gateway attached to {vpc}"
                ))),
            "{why:?}"
        );
        let table = id(
            &call("CreateRouteTable", json!({"VpcId": vpc})),
            &["RouteTable", "RouteTableId"],
        );
        call(
            "AssociateRouteTable",
            json!({"RouteTableId": table, "SubnetId": subnet}),
        );
        let gateway = id(
            &call(
                "CreateVpcEndpoint",
                json!({"VpcId": vpc, "VpcEndpointType": "Gateway", "RouteTableIds": [table],
                       "ServiceName": "com.amazonaws.us-west-2.s3"}),
            ),
            &["VpcEndpoint", "VpcEndpointId"],
        );
        let a = arrival().expect("S3 through the gateway endpoint");
        assert_eq!(a.gateways.len(), 1);
        assert_eq!(
            (a.gateways[0].endpoint.as_str(), a.gateways[0].service),
            (gateway.as_str(), "s3")
        );
        assert_eq!(
            a.gateways[0].vpc_source_ip,
            Some(Ipv4Addr::from(n.private_ip))
        );
        let origin = a.origin("s3");
        assert_eq!(
            origin.endpoint.as_ref().map(|t| t.endpoint.as_str()),
            Some(gateway.as_str())
        );
        assert_eq!(origin.source_ip, None);
        assert_eq!(a.origin("sts").endpoint, None, "another service's requests");
        call(
            "ModifyVpcEndpoint",
            json!({"VpcEndpointId": gateway, "RemoveRouteTableIds": [table]}),
        );
        assert_eq!(arrival(), None);
        let igw = id(
            &call("CreateInternetGateway", json!({})),
            &["InternetGateway", "InternetGatewayId"],
        );
        call(
            "AttachInternetGateway",
            json!({"InternetGatewayId": igw, "VpcId": vpc}),
        );
        call(
            "CreateRoute",
            json!({"RouteTableId": table, "DestinationCidrBlock": "0.0.0.0/0", "GatewayId": igw}),
        );
        let a = arrival().expect("through the internet gateway");
        assert!(a.gateways.is_empty() && a.endpoint.is_none());
    }

    #[test]
    fn addresses_round_trip_through_the_loopback() {
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

    fn rule(
        egress: bool,
        protocol: &str,
        ports: Option<(i64, i64)>,
        cidr: Option<&str>,
    ) -> sg::Rule {
        sg::Rule {
            id: "sgr-1".into(),
            egress,
            protocol: protocol.into(),
            from_port: ports.map(|p| p.0),
            to_port: ports.map(|p| p.1),
            cidr_ipv4: cidr.map(str::to_owned),
            ..sg::Rule::default()
        }
    }

    #[test]
    fn the_internet_is_any_public_address() {
        let peer = Some(u32::from(Ipv4Addr::LOCALHOST));
        let ssh = Some((22, 22));
        assert!(admits_internet(
            &rule(false, "tcp", ssh, Some("0.0.0.0/0")),
            peer,
            22
        ));
        assert!(admits_internet(
            &rule(false, "tcp", ssh, Some("203.0.113.7/32")),
            peer,
            22
        ));
        assert!(admits_internet(
            &rule(false, "-1", None, Some("0.0.0.0/0")),
            peer,
            22
        ));
        assert!(admits_internet(
            &rule(false, "tcp", Some((0, 65535)), Some("0.0.0.0/0")),
            peer,
            22
        ));
        assert!(admits_internet(
            &rule(false, "tcp", ssh, Some("127.0.0.1/32")),
            peer,
            22
        ));
        // Private ranges, other ports, other protocols, egress and group references do not.
        assert!(!admits_internet(
            &rule(false, "tcp", ssh, Some("10.0.0.0/8")),
            peer,
            22
        ));
        assert!(!admits_internet(
            &rule(false, "tcp", ssh, Some("192.168.1.0/24")),
            peer,
            22
        ));
        assert!(!admits_internet(
            &rule(false, "tcp", Some((443, 443)), Some("0.0.0.0/0")),
            peer,
            22
        ));
        assert!(!admits_internet(
            &rule(false, "udp", ssh, Some("0.0.0.0/0")),
            peer,
            22
        ));
        assert!(!admits_internet(
            &rule(true, "tcp", ssh, Some("0.0.0.0/0")),
            peer,
            22
        ));
        assert!(!admits_internet(&rule(false, "tcp", ssh, None), peer, 22));
        assert!(!admits_internet(
            &rule(false, "tcp", ssh, Some("127.0.0.2/32")),
            peer,
            22
        ));
    }

    /// A slot per /16 of a VPC's blocks: a secondary block in another /16 has its own, its
    /// loopback addresses stand for its own addresses, a slot record from before secondary
    /// blocks (no base) stands for the primary's /16, and a slot is freed once no block lies in
    /// its /16.
    #[test]
    fn each_sixteen_of_a_vpc_has_its_slot() {
        use crate::auth::test_support::{ctx_as, ec2 as call, root_principal, store};
        use crate::ec2::vpc;
        use serde_json::json;
        let store = store();
        let config = crate::Config::default();
        let ctx = ctx_as(&store, &config, root_principal("123456789012"));
        vpc::ensure_region(&ctx).unwrap();
        let v = vpc::create_vpc(&ctx, &json!({"CidrBlock": "10.40.0.0/16"}))
            .unwrap()
            .to_value();
        let vpc_id = v["Vpc"]["VpcId"].as_str().unwrap().to_owned();
        let assoc = call(
            &ctx,
            "AssociateVpcCidrBlock",
            json!({"VpcId": vpc_id, "CidrBlock": "10.41.0.0/24"}),
        )
        .unwrap()["CidrBlockAssociation"]["AssociationId"]
            .as_str()
            .unwrap()
            .to_owned();
        let scope = ctx.scope();
        let ip = |s: &str| s.parse::<Ipv4Addr>().unwrap();
        let primary = ensure_slot(&store, &config, &scope, &vpc_id, ip("10.40.3.4")).unwrap();
        let secondary = ensure_slot(&store, &config, &scope, &vpc_id, ip("10.41.0.9")).unwrap();
        assert_ne!(primary, secondary);
        assert_eq!(
            ensure_slot(&store, &config, &scope, &vpc_id, ip("10.41.0.200")),
            Ok(secondary)
        );
        let seen = |slot: u8, a: &str| {
            let lo = to_loopback(slot, ip(a)).unwrap();
            store.read(|v| vpc_address(v, lo).map(|(_, vpc, at)| (vpc.id.clone(), at)))
        };
        assert_eq!(
            seen(secondary, "10.41.0.9"),
            Some((vpc_id.clone(), ip("10.41.0.9")))
        );
        assert_eq!(
            seen(primary, "10.40.3.4"),
            Some((vpc_id.clone(), ip("10.40.3.4")))
        );

        // A record written before secondary blocks carries the primary's /16.
        store
            .write(|tx| {
                let mut old = (*tx
                    .get::<FabricSlot>(&global(), &format!("{primary:03}"))
                    .unwrap())
                .clone();
                old.base = None;
                tx.put(&global(), old)
            })
            .unwrap();
        assert_eq!(
            seen(primary, "10.40.3.4"),
            Some((vpc_id.clone(), ip("10.40.3.4")))
        );
        assert_eq!(
            ensure_slot(&store, &config, &scope, &vpc_id, ip("10.40.0.1")),
            Ok(primary)
        );

        call(
            &ctx,
            "DisassociateVpcCidrBlock",
            json!({"AssociationId": assoc}),
        )
        .unwrap();
        release_stale(&store).unwrap();
        assert_eq!(seen(secondary, "10.41.0.9"), None);
        assert_eq!(seen(primary, "10.40.3.4"), Some((vpc_id, ip("10.40.3.4"))));
    }
}
