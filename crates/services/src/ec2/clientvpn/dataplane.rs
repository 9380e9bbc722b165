//! What Client VPN runs, and what it lets through, decided from the state: an available
//! endpoint's VPN listens on the public address of each associated target network, on its port
//! and transport; a client's connection to an address in the VPC leaves from the interface of
//! the target network in the destination's zone (source NAT, as AWS does) if a route covers
//! the destination, an authorization rule lets the client reach it and the security groups let
//! that interface in; a ping likewise, with the groups' ICMP rules.

use super::{rules, ClientVpnEndpoint};
use crate::dataplane::{Place, Want, Wants};
use crate::ec2::cidr::Cidr;
use crate::ec2::{eni, fabric};
use crate::Clock;
use airlock_store::{Scope, View};
use std::net::Ipv4Addr;
use std::sync::Arc;

/// The VPN of every available endpoint, on each associated target network's public address.
pub fn wants(v: &View<'_>, clock: Clock, out: &mut Wants) {
    for (scope, e) in v.list_all::<ClientVpnEndpoint>() {
        if e.status(clock) != "available" {
            continue;
        }
        for a in e
            .associations
            .iter()
            .filter(|a| a.status(clock) == "associated")
        {
            let want = Want::Vpn {
                scope: scope.clone(),
                endpoint: e.id.clone(),
                udp: e.transport == "udp",
            };
            if let Some(place) = Place::public(&scope, Some(&a.public_ip), e.vpn_port as u16, None)
            {
                out.listeners.push((place, want));
            }
        }
    }
}

/// Why a client's connection goes nowhere (AWS drops the packets; the log says why).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dropped {
    /// The endpoint is gone or no longer available.
    NoEndpoint,
    /// No route of the endpoint covers the destination.
    NoRoute,
    /// No authorization rule lets the client reach the destination.
    NotAuthorized,
    /// The security groups do not let the target network's interface in (or out).
    Blocked,
}

/// The interface a client's TCP connection to `dst`:`port` leaves from, or why it is dropped.
pub fn egress(
    v: &View<'_>,
    clock: Clock,
    scope: &Scope,
    endpoint: &str,
    groups: &[String],
    dst: Ipv4Addr,
    port: u16,
) -> Result<Arc<eni::NetworkInterface>, Dropped> {
    let from = source(v, clock, scope, endpoint, groups, dst)?;
    if !fabric::reachable(v, scope, &from, dst, port) {
        return Err(Dropped::Blocked);
    }
    Ok(from)
}

/// Whether a client's ping (ICMP echo) to `dst` is answered: the same route and rule, and
/// security groups that let ICMP echo from the endpoint's interface in.
pub fn ping(
    v: &View<'_>,
    clock: Clock,
    scope: &Scope,
    endpoint: &str,
    groups: &[String],
    dst: Ipv4Addr,
) -> Result<(), Dropped> {
    let from = source(v, clock, scope, endpoint, groups, dst)?;
    if !fabric::pingable(v, scope, &from, dst) {
        return Err(Dropped::Blocked);
    }
    Ok(())
}

/// The endpoint's interface a client's traffic to `dst` leaves from (the one in the zone of the
/// interface holding `dst`, else the first), if a route and an authorization rule let it go.
fn source(
    v: &View<'_>,
    clock: Clock,
    scope: &Scope,
    endpoint: &str,
    groups: &[String],
    dst: Ipv4Addr,
) -> Result<Arc<eni::NetworkInterface>, Dropped> {
    let e = available(v, clock, scope, endpoint)?;
    let ip = u32::from(dst);
    if !e.active_routes(clock).any(|c| c.contains_ip(ip)) {
        return Err(Dropped::NoRoute);
    }
    if !rules::authorized(&e.rules, clock, groups, ip) {
        return Err(Dropped::NotAuthorized);
    }
    let interfaces: Vec<Arc<eni::NetworkInterface>> = e
        .associations
        .iter()
        .filter(|a| a.status(clock) == "associated")
        .filter_map(|a| v.get::<eni::NetworkInterface>(scope, &a.eni_id))
        .collect();
    let zone = e
        .vpc_id
        .as_deref()
        .and_then(|vpc| fabric::interface_at(v, scope, vpc, ip))
        .map(|n| n.az.clone());
    let from = interfaces
        .iter()
        .find(|n| Some(&n.az) == zone.as_ref())
        .or(interfaces.first())
        .ok_or(Dropped::NoEndpoint)?;
    Ok(from.clone())
}

/// Whether a client's DNS query to `dst` goes to the VPC's resolver (its base address + 2, as
/// AWS places it): the VPC it resolves in, if a route covers the address and a rule authorizes
/// it (AWS asks for both); anything else is dropped.
pub fn resolver(
    v: &View<'_>,
    clock: Clock,
    scope: &Scope,
    endpoint: &str,
    groups: &[String],
    dst: Ipv4Addr,
) -> Result<String, Dropped> {
    let e = available(v, clock, scope, endpoint)?;
    let vpc = e
        .vpc_id
        .as_deref()
        .and_then(|id| v.get::<crate::ec2::vpc::Vpc>(scope, id))
        .ok_or(Dropped::NoEndpoint)?;
    let ip = u32::from(dst);
    if ip != vpc.cidr().base + 2 {
        return Err(Dropped::NoRoute);
    }
    if !e.active_routes(clock).any(|c| c.contains_ip(ip)) {
        return Err(Dropped::NoRoute);
    }
    if !rules::authorized(&e.rules, clock, groups, ip) {
        return Err(Dropped::NotAuthorized);
    }
    Ok(vpc.id.clone())
}

/// Endpoint `endpoint` while it is available (its VPN runs).
fn available(
    v: &View<'_>,
    clock: Clock,
    scope: &Scope,
    endpoint: &str,
) -> Result<Arc<ClientVpnEndpoint>, Dropped> {
    v.get::<ClientVpnEndpoint>(scope, endpoint)
        .filter(|e| e.status(clock) == "available")
        .ok_or(Dropped::NoEndpoint)
}

impl ClientVpnEndpoint {
    /// The destinations of its routes that are active.
    pub fn active_routes(&self, clock: Clock) -> impl Iterator<Item = Cidr> + '_ {
        self.routes
            .iter()
            .filter(move |r| r.is_active(clock))
            .filter_map(|r| Cidr::parse(&r.destination))
    }
}
