//! An endpoint's name in public DNS: `<any label>.cvpn-endpoint-<id>.prod.clientvpn.<region>.amazonaws.com`
//! (the DNS name is a wildcard; the client's `remote-random-hostname` prepends the label) →
//! the public addresses of its associated target networks, once the endpoint is available.
//! The name without a label does not exist, as at AWS.

use super::{ClientVpnEndpoint, DNS_BASE};
use crate::dns::Answer;
use crate::Clock;
use airlock_store::View;
use std::net::Ipv4Addr;

/// The answer for `name` if it is under an endpoint's name (`None`: not a Client VPN name).
pub fn answer(v: &View<'_>, clock: Clock, name: &str) -> Option<Answer> {
    let (rest, suffix) = crate::partition::split_dns(name)?;
    let (head, region) = rest.rsplit_once('.')?;
    if crate::partition::dns_suffix(region) != suffix {
        return None;
    }
    let head = head.strip_suffix(DNS_BASE)?.strip_suffix('.')?;
    let (label, id) = match head.rsplit_once('.') {
        Some((label, id)) => (label, id),
        None => ("", head),
    };
    if !id.starts_with("cvpn-endpoint-") {
        return None;
    }
    if label.is_empty() {
        return Some(Answer::NxDomain);
    }
    let ips: Vec<Ipv4Addr> = v
        .find::<ClientVpnEndpoint>(id)
        .into_iter()
        .filter(|(scope, e)| scope.region == region && e.status(clock) == "available")
        .flat_map(|(_, e)| {
            e.associations
                .iter()
                .filter(|a| a.status(clock) == "associated")
                .filter_map(|a| a.public_ip.parse().ok())
                .collect::<Vec<_>>()
        })
        .collect();
    Some(if ips.is_empty() {
        Answer::NxDomain
    } else {
        Answer::A(ips)
    })
}
