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

/// A client of an endpoint, as its decisions see it: the endpoint's account and region, the
/// endpoint, and the groups its authorization rules match (a directory's or an identity
/// provider's; none for certificate authentication).
#[derive(Debug, Clone, Copy)]
pub struct Client<'a> {
    pub scope: &'a Scope,
    pub endpoint: &'a str,
    pub groups: &'a [String],
}

impl Client<'_> {
    /// The interface a client's TCP connection to `dst`:`port` leaves from, or why it is
    /// dropped.
    pub fn egress(
        &self,
        v: &View<'_>,
        clock: Clock,
        dst: Ipv4Addr,
        port: u16,
    ) -> Result<Arc<eni::NetworkInterface>, Dropped> {
        let from = self.source(v, clock, dst)?;
        if !fabric::reachable(v, self.scope, &from, dst, port) {
            return Err(Dropped::Blocked);
        }
        Ok(from)
    }

    /// Whether a client's ping (ICMP echo) to `dst` is answered: the same route and rule, and
    /// security groups that let ICMP echo from the endpoint's interface in.
    pub fn ping(&self, v: &View<'_>, clock: Clock, dst: Ipv4Addr) -> Result<(), Dropped> {
        let from = self.source(v, clock, dst)?;
        if !fabric::pingable(v, self.scope, &from, dst) {
            return Err(Dropped::Blocked);
        }
        Ok(())
    }

    /// Whether a client's DNS query to `dst` goes to the VPC's resolver (its base address + 2,
    /// as AWS places it): the VPC it resolves in, if a route covers the address and a rule
    /// authorizes it (AWS asks for both); anything else is dropped.
    pub fn resolver(&self, v: &View<'_>, clock: Clock, dst: Ipv4Addr) -> Result<String, Dropped> {
        let e = self.endpoint(v, clock)?;
        let vpc = e
            .vpc_id
            .as_deref()
            .and_then(|id| v.get::<crate::ec2::vpc::Vpc>(self.scope, id))
            .ok_or(Dropped::NoEndpoint)?;
        if u32::from(dst) != vpc.cidr().base + 2 {
            return Err(Dropped::NoRoute);
        }
        self.permitted(&e, clock, dst)?;
        Ok(vpc.id.clone())
    }

    /// The endpoint's interface a client's traffic to `dst` leaves from (the one in the zone
    /// of the interface holding `dst`, else the first), if a route and an authorization rule
    /// let it go.
    fn source(
        &self,
        v: &View<'_>,
        clock: Clock,
        dst: Ipv4Addr,
    ) -> Result<Arc<eni::NetworkInterface>, Dropped> {
        let e = self.endpoint(v, clock)?;
        self.permitted(&e, clock, dst)?;
        let interfaces: Vec<Arc<eni::NetworkInterface>> = e
            .associations
            .iter()
            .filter(|a| a.status(clock) == "associated")
            .filter_map(|a| v.get::<eni::NetworkInterface>(self.scope, &a.eni_id))
            .collect();
        let zone = e
            .vpc_id
            .as_deref()
            .and_then(|vpc| fabric::interface_at(v, self.scope, vpc, u32::from(dst)))
            .map(|n| n.az.clone());
        let from = interfaces
            .iter()
            .find(|n| Some(&n.az) == zone.as_ref())
            .or(interfaces.first())
            .ok_or(Dropped::NoEndpoint)?;
        Ok(from.clone())
    }

    /// Whether a route of `e` covers `dst` and an authorization rule lets this client reach it.
    fn permitted(&self, e: &ClientVpnEndpoint, clock: Clock, dst: Ipv4Addr) -> Result<(), Dropped> {
        let ip = u32::from(dst);
        if !e.active_routes(clock).any(|c| c.contains_ip(ip)) {
            return Err(Dropped::NoRoute);
        }
        if !rules::authorized(&e.rules, clock, self.groups, ip) {
            return Err(Dropped::NotAuthorized);
        }
        Ok(())
    }

    /// The endpoint while it is available (its VPN runs).
    fn endpoint(&self, v: &View<'_>, clock: Clock) -> Result<Arc<ClientVpnEndpoint>, Dropped> {
        v.get::<ClientVpnEndpoint>(self.scope, self.endpoint)
            .filter(|e| e.status(clock) == "available")
            .ok_or(Dropped::NoEndpoint)
    }
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
