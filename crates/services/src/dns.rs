//! The DNS view of the state: which emulated names exist and what they resolve to, as AWS's
//! public DNS and the VPC resolver answer them. The DNS server (airlock-net) asks this for every
//! query; it reads the store directly, so it cannot drift from the API.

use crate::ec2::{eni, instances, vpc, vpce};
use crate::elbv2::loadbalancers::LoadBalancer;
use crate::mwaa::Environment;
use crate::Config;
use airlock_store::{Store, View};
use std::net::Ipv4Addr;
use time::OffsetDateTime;

/// The zones Airlock answers for (authoritatively). Other names are refused.
pub const ZONES: &[&str] = &[
    "airflow.amazonaws.com",
    "vpce.amazonaws.com",
    "compute.internal",
    "ec2.internal",
    "compute.amazonaws.com",
    "compute-1.amazonaws.com",
    // Application Load Balancers: `<name>-<id>.<region>.elb.amazonaws.com`.
    "elb.amazonaws.com",
    // Network Load Balancers: `<name>-<hex>.elb.<region>.amazonaws.com`, one zone per region.
    "elb.us-east-1.amazonaws.com",
    "elb.us-east-2.amazonaws.com",
    "elb.us-west-1.amazonaws.com",
    "elb.us-west-2.amazonaws.com",
    "elb.ca-central-1.amazonaws.com",
    "elb.eu-west-1.amazonaws.com",
    "elb.eu-west-2.amazonaws.com",
    "elb.eu-west-3.amazonaws.com",
    "elb.eu-central-1.amazonaws.com",
    "elb.eu-north-1.amazonaws.com",
    "elb.ap-northeast-1.amazonaws.com",
    "elb.ap-northeast-2.amazonaws.com",
    "elb.ap-northeast-3.amazonaws.com",
    "elb.ap-southeast-1.amazonaws.com",
    "elb.ap-southeast-2.amazonaws.com",
    "elb.ap-south-1.amazonaws.com",
    "elb.sa-east-1.amazonaws.com",
];

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

/// The served zone `name` (lowercase, no trailing dot) falls in.
pub fn zone_of(name: &str) -> Option<&'static str> {
    ZONES
        .iter()
        .copied()
        .find(|z| name == *z || name.ends_with(&format!(".{z}")))
}

/// Looks `name` up (lowercase, no trailing dot) at `now`.
pub fn lookup(store: &Store, config: &Config, now: OffsetDateTime, name: &str) -> Answer {
    store.read(|v| {
        if name.ends_with(".airflow.amazonaws.com") {
            webserver(v, config, now, name)
        } else if name.ends_with(".vpce.amazonaws.com") {
            endpoint(v, now, name)
        } else if name.ends_with(".compute.internal") || name.ends_with(".ec2.internal") {
            private_name(v, name)
        } else if name.ends_with(".compute.amazonaws.com")
            || name.ends_with(".compute-1.amazonaws.com")
        {
            public_name(v, config, now, name)
        } else if parse_elb_name(name).is_some() {
            load_balancer(v, now, name)
        } else {
            Answer::NxDomain
        }
    })
}

/// A load balancer DNS name: `[internal-]<name>-<digits>.<region>.elb.amazonaws.com` (ALB) or
/// `<name>-<16 hex>.elb.<region>.amazonaws.com` (NLB) → `(region, type)`.
pub fn parse_elb_name(name: &str) -> Option<(String, &'static str)> {
    let (label, rest) = name.split_once('.')?;
    let (region, lb_type) = match rest.strip_suffix(".elb.amazonaws.com") {
        Some(region) => (region, "application"),
        None => (
            rest.strip_prefix("elb.")?.strip_suffix(".amazonaws.com")?,
            "network",
        ),
    };
    if region.is_empty() || region.contains('.') {
        return None;
    }
    let (lb_name, id) = label.rsplit_once('-')?;
    let id_ok = if lb_type == "application" {
        (9..=10).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit())
    } else {
        id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit())
    };
    if lb_name.is_empty() || !id_ok {
        return None;
    }
    Some((region.to_owned(), lb_type))
}

/// A load balancer's name → its nodes' addresses (public ones when internet-facing, private
/// ones when internal), once it is active.
fn load_balancer(v: &View<'_>, now: OffsetDateTime, name: &str) -> Answer {
    let Some((region, _)) = parse_elb_name(name) else {
        return Answer::NxDomain;
    };
    let found = v
        .find::<LoadBalancer>(name)
        .into_iter()
        .find(|(scope, _)| scope.region == region);
    let Some((_, lb)) = found else {
        return Answer::NxDomain;
    };
    if !lb.is_active(now) {
        return Answer::NxDomain;
    }
    let ips: Vec<Ipv4Addr> = lb
        .addresses()
        .iter()
        .filter_map(|ip| ip.parse().ok())
        .collect();
    if ips.is_empty() {
        Answer::NxDomain
    } else {
        Answer::A(ips)
    }
}

/// `<uuid>-vpce.c<N>.<region>.airflow.amazonaws.com` → CNAME to the webserver endpoint;
/// `<uuid>.c<N>.<region>.airflow.amazonaws.com` → the public webserver address.
fn webserver(v: &View<'_>, config: &Config, now: OffsetDateTime, name: &str) -> Answer {
    let Some(first) = name.split('.').next() else {
        return Answer::NxDomain;
    };
    let (host_id, private) = match first.strip_suffix("-vpce") {
        Some(id) => (id, true),
        None => (first, false),
    };
    let scale = |s: f64| config.scaled(s);
    for (scope, env) in v.find::<Environment>(host_id) {
        if env.webserver_host() != name {
            continue;
        }
        let endpoints = v.list_in::<vpce::VpcEndpoint>(&scope, &env.vpc_id);
        if env.seen(now, &scale, &endpoints).status.is_none() {
            return Answer::NxDomain;
        }
        if !private {
            return match &env.public_ip {
                Some(ip) => ip
                    .parse()
                    .map(|ip| Answer::A(vec![ip]))
                    .unwrap_or(Answer::NxDomain),
                None => Answer::NxDomain,
            };
        }
        let service = env
            .webserver_service
            .as_ref()
            .map(|s| crate::ec2::vpce::custom_service_name(&env.region, s));
        let target = endpoints
            .iter()
            .filter(|e| {
                Some(&e.id) == env.webserver_endpoint.as_ref()
                    || (e.vpc_id == env.vpc_id && Some(&e.service_name) == service.as_ref())
            })
            .min_by_key(|e| (Some(&e.id) != env.webserver_endpoint.as_ref(), e.created));
        return match target {
            Some(e) => Answer::Cname(e.regional_dns_name()),
            None => Answer::NxDomain,
        };
    }
    Answer::NxDomain
}

/// `vpce-<id>-<label>[-<az>].<service base>` → the endpoint's interface addresses (all of them,
/// or the one in that zone), once the endpoint is available.
fn endpoint(v: &View<'_>, now: OffsetDateTime, name: &str) -> Answer {
    let Some((first, base)) = name.split_once('.') else {
        return Answer::NxDomain;
    };
    let Some(rest) = first.strip_prefix("vpce-") else {
        return Answer::NxDomain;
    };
    let Some((hex, label_zone)) = rest.split_once('-') else {
        return Answer::NxDomain;
    };
    let id = format!("vpce-{hex}");
    for (scope, e) in v.find::<vpce::VpcEndpoint>(&id) {
        if e.endpoint_type != "Interface" || e.base_dns != base || e.state(now) != "available" {
            continue;
        }
        let zone = match label_zone.strip_prefix(e.dns_label.as_str()) {
            Some("") => None,
            Some(z) => match z.strip_prefix('-') {
                Some(az) => Some(az),
                None => return Answer::NxDomain,
            },
            None => return Answer::NxDomain,
        };
        let mut ips = Vec::new();
        for eni_id in &e.eni_ids {
            if let Some(n) = v.get::<eni::NetworkInterface>(&scope, eni_id) {
                if zone.is_none_or(|z| z == n.az) {
                    ips.push(Ipv4Addr::from(n.private_ip));
                }
            }
        }
        return if ips.is_empty() {
            Answer::NxDomain
        } else {
            Answer::A(ips)
        };
    }
    Answer::NxDomain
}

/// `ip-10-0-1-23.<region>.compute.internal` (`ip-...ec2.internal` in us-east-1) → the address,
/// while an interface holds it.
fn private_name(v: &View<'_>, name: &str) -> Answer {
    let Some((first, rest)) = name.split_once('.') else {
        return Answer::NxDomain;
    };
    let region = match rest {
        "ec2.internal" => "us-east-1",
        r => match r.strip_suffix(".compute.internal") {
            Some(region) => region,
            None => return Answer::NxDomain,
        },
    };
    let Some(ip) = first
        .strip_prefix("ip-")
        .and_then(|d| d.replace('-', ".").parse::<Ipv4Addr>().ok())
    else {
        return Answer::NxDomain;
    };
    // The VPC resolver answers private names only in VPCs with DNS support.
    let held = v
        .find::<eni::NetworkInterface>(name)
        .iter()
        .any(|(scope, n)| {
            scope.region == region
                && n.private_ip == u32::from(ip)
                && v.get::<vpc::Vpc>(scope, &n.vpc_id)
                    .is_some_and(|vpc| vpc.dns_support)
        });
    if held {
        Answer::A(vec![ip])
    } else {
        Answer::NxDomain
    }
}

/// `ec2-a-b-c-d.<region>.compute.amazonaws.com` (`ec2-a-b-c-d.compute-1.amazonaws.com` for
/// us-east-1) → `(region, a.b.c.d)`, if the name is in that form.
pub fn parse_public_name(name: &str) -> Option<(String, Ipv4Addr)> {
    let (first, rest) = name.split_once('.')?;
    let region = match rest {
        "compute-1.amazonaws.com" => "us-east-1",
        r => {
            let region = r.strip_suffix(".compute.amazonaws.com")?;
            if region.is_empty() || region.contains('.') {
                return None;
            }
            region
        }
    };
    let dashed = first.strip_prefix("ec2-")?;
    let parts: Vec<&str> = dashed.split('-').collect();
    if parts.len() != 4
        || parts
            .iter()
            .any(|p| p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let ip: Ipv4Addr = parts.join(".").parse().ok()?;
    Some((region.to_owned(), ip))
}

/// An instance's public DNS name → its public address, while a pending or running instance in a
/// VPC with DNS hostnames holds it.
fn public_name(v: &View<'_>, config: &Config, now: OffsetDateTime, name: &str) -> Answer {
    let Some((region, ip)) = parse_public_name(name) else {
        return Answer::NxDomain;
    };
    let ip_text = ip.to_string();
    // Only the canonical spelling exists (no leading zeros; us-east-1 only under compute-1).
    if instances::public_dns_name(&region, &ip_text) != name {
        return Answer::NxDomain;
    }
    let scale = |s: f64| config.scaled(s);
    if instances::public_ip_in_use(v, &scale, now, &region, &ip_text) {
        Answer::A(vec![ip])
    } else {
        Answer::NxDomain
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones() {
        assert_eq!(
            zone_of("x.c1.us-west-2.airflow.amazonaws.com"),
            Some("airflow.amazonaws.com")
        );
        assert_eq!(
            zone_of("vpce-1-a.vpce-svc-1.us-west-2.vpce.amazonaws.com"),
            Some("vpce.amazonaws.com")
        );
        assert_eq!(
            zone_of("ip-10-0-0-4.us-west-2.compute.internal"),
            Some("compute.internal")
        );
        assert_eq!(
            zone_of("ec2-127-255-0-9.us-west-2.compute.amazonaws.com"),
            Some("compute.amazonaws.com")
        );
        assert_eq!(
            zone_of("ec2-127-255-0-9.compute-1.amazonaws.com"),
            Some("compute-1.amazonaws.com")
        );
        assert_eq!(
            zone_of("my-lb-123456789.us-west-2.elb.amazonaws.com"),
            Some("elb.amazonaws.com")
        );
        assert_eq!(
            zone_of("my-nlb-0123456789abcdef.elb.eu-west-1.amazonaws.com"),
            Some("elb.eu-west-1.amazonaws.com")
        );
        assert_eq!(zone_of("example.com"), None);
        assert_eq!(zone_of("notairflow.amazonaws.com"), None);
    }

    #[test]
    fn load_balancer_names() {
        assert_eq!(
            parse_elb_name("my-lb-424835706.us-west-2.elb.amazonaws.com"),
            Some(("us-west-2".into(), "application"))
        );
        assert_eq!(
            parse_elb_name("internal-my-lb-1529930873.us-east-1.elb.amazonaws.com"),
            Some(("us-east-1".into(), "application"))
        );
        assert_eq!(
            parse_elb_name("my-nlb-5d1b75f4f1cee11e.elb.us-west-2.amazonaws.com"),
            Some(("us-west-2".into(), "network"))
        );
        for bad in [
            "my-lb.us-west-2.elb.amazonaws.com",
            "my-lb-12345.us-west-2.elb.amazonaws.com",
            "my-lb-42483570x.us-west-2.elb.amazonaws.com",
            "-424835706.us-west-2.elb.amazonaws.com",
            "my-lb-424835706.elb.amazonaws.com",
            "my-lb-424835706.a.b.elb.amazonaws.com",
            "my-nlb-5d1b75f4f1cee11.elb.us-west-2.amazonaws.com",
            "my-nlb-5d1b75f4f1cee11g.elb.us-west-2.amazonaws.com",
            "my-nlb-5d1b75f4f1cee11e.elb.amazonaws.com",
            "elb.us-west-2.amazonaws.com",
            "elb.amazonaws.com",
        ] {
            assert_eq!(parse_elb_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn public_names() {
        let ip = |s: &str| s.parse::<Ipv4Addr>().unwrap();
        assert_eq!(
            parse_public_name("ec2-127-255-1-2.us-west-2.compute.amazonaws.com"),
            Some(("us-west-2".into(), ip("127.255.1.2")))
        );
        assert_eq!(
            parse_public_name("ec2-127-255-1-2.compute-1.amazonaws.com"),
            Some(("us-east-1".into(), ip("127.255.1.2")))
        );
        for bad in [
            "ec2-127-255-1.us-west-2.compute.amazonaws.com",
            "ec2-127-255-1-2-3.us-west-2.compute.amazonaws.com",
            "ec2-127-255-1-256.us-west-2.compute.amazonaws.com",
            "ec2-127-255-1-x.us-west-2.compute.amazonaws.com",
            "ec2-127-255--2.us-west-2.compute.amazonaws.com",
            "ip-127-255-1-2.us-west-2.compute.amazonaws.com",
            "ec2-127-255-1-2.compute.amazonaws.com",
            "ec2-127-255-1-2.a.b.compute.amazonaws.com",
            "compute.amazonaws.com",
            "ec2-127-255-1-2.compute-2.amazonaws.com",
        ] {
            assert_eq!(parse_public_name(bad), None, "{bad}");
        }
    }
}
