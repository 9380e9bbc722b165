//! The DNS view of the state: which emulated names exist and what they resolve to, as AWS's
//! public DNS and the VPC resolver answer them. The DNS server (airlock-net) asks this for every
//! query; it reads the store directly, so it cannot drift from the API.
//!
//! Each service registers the zones it answers for ([`crate::Service::dns`]) with a function that
//! computes a name's answer from the state; this module finds the zone of a name.

use crate::{Clock, SERVICES};
use airlock_store::{Scope, Store, View};
use std::net::Ipv4Addr;

/// TTL of every record Airlock serves (AWS's alias and endpoint records use 60 s).
pub const TTL: u32 = 60;

/// What a name is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The name does not exist.
    NxDomain,
    /// An alias (target without the trailing dot).
    Cname(String),
    /// IPv4 addresses (the name exists; it has no AAAA records).
    A(Vec<Ipv4Addr>),
}

/// A zone Airlock answers for (authoritatively), and how its names are answered.
pub struct Zone {
    /// Lowercase, no trailing dot.
    pub name: &'static str,
    /// The answer for a name in the zone (lowercase, no trailing dot) at the clock's time.
    pub answer: fn(&View<'_>, Clock, &str) -> Answer,
}

/// What a VPC's resolver answers before public DNS: `Some` answer for a name the VPC holds
/// privately (`scope` and `vpc`: the VPC the query comes from; `name` lowercase, no trailing
/// dot).
pub type VpcDnsFn =
    fn(v: &View<'_>, clock: Clock, scope: &Scope, vpc: &str, name: &str) -> Option<Answer>;

/// Every zone the services registered.
pub fn zones() -> impl Iterator<Item = &'static Zone> {
    SERVICES.iter().flat_map(|s| s.dns.iter())
}

/// The served zone that holds `name` (lowercase, no trailing dot): the longest one it falls in.
/// Names in no zone are refused.
pub fn zone_of(name: &str) -> Option<&'static Zone> {
    zones()
        .filter(|z| {
            name.strip_suffix(z.name)
                .is_some_and(|rest| rest.is_empty() || rest.ends_with('.'))
        })
        .max_by_key(|z| z.name.len())
}

/// Looks `name` up (lowercase, no trailing dot) at the clock's time.
pub fn lookup(store: &Store, clock: Clock, name: &str) -> Answer {
    match zone_of(name) {
        Some(zone) => store.read(|v| (zone.answer)(v, clock, name)),
        None => Answer::NxDomain,
    }
}

/// Looks `name` up as a resolver inside VPC `inside` (its scope and id) answers it: the VPC's
/// private names first (an interface endpoint's private DNS), then public DNS as [`lookup`].
pub fn lookup_in(
    store: &Store,
    clock: Clock,
    name: &str,
    inside: Option<(&Scope, &str)>,
) -> Answer {
    if let Some((scope, vpc)) = inside {
        let private = store.read(|v| {
            SERVICES
                .iter()
                .filter_map(|s| s.vpc_dns)
                .find_map(|f| f(v, clock, scope, vpc, name))
        });
        if let Some(answer) = private {
            return answer;
        }
    }
    lookup(store, clock, name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fall_in_their_zones() {
        assert_eq!(
            zone_name("x.c1.us-west-2.airflow.amazonaws.com"),
            Some("airflow.amazonaws.com")
        );
        assert_eq!(
            zone_name("vpce-1-a.vpce-svc-1.us-west-2.vpce.amazonaws.com"),
            Some("vpce.amazonaws.com")
        );
        assert_eq!(
            zone_name("ip-10-0-0-4.us-west-2.compute.internal"),
            Some("compute.internal")
        );
        assert_eq!(
            zone_name("ec2-127-255-0-9.us-west-2.compute.amazonaws.com"),
            Some("compute.amazonaws.com")
        );
        assert_eq!(
            zone_name("ec2-127-255-0-9.compute-1.amazonaws.com"),
            Some("compute-1.amazonaws.com")
        );
        assert_eq!(
            zone_name("my-lb-123456789.us-west-2.elb.amazonaws.com"),
            Some("elb.amazonaws.com")
        );
        assert_eq!(
            zone_name("my-nlb-0123456789abcdef.elb.eu-west-1.amazonaws.com"),
            Some("elb.eu-west-1.amazonaws.com")
        );
        assert_eq!(zone_name("example.com"), None);
        assert_eq!(zone_name("notairflow.amazonaws.com"), Some("amazonaws.com"));
        assert_eq!(
            zone_name("sts.us-west-2.amazonaws.com"),
            Some("amazonaws.com")
        );
        assert_eq!(zone_name("amazonaws.com.example"), None);
    }

    fn zone_name(name: &str) -> Option<&'static str> {
        zone_of(name).map(|z| z.name)
    }

    #[test]
    fn zone_names_are_unique() {
        let mut names: Vec<&str> = zones().map(|z| z.name).collect();
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), n);
    }
}
