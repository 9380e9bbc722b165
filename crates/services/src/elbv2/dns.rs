//! ELBv2's names in DNS: a load balancer's DNS name resolves to its nodes' addresses.

use super::loadbalancers::LoadBalancer;
use crate::dns::{Answer, Zone};
use crate::Clock;
use airlock_store::View;
use std::net::Ipv4Addr;

/// Application Load Balancers: `<name>-<id>.<region>.elb.amazonaws.com`; Network Load
/// Balancers: `<name>-<hex>.elb.<region>.amazonaws.com`, one zone per region (`amazonaws.com.cn`
/// in China's regions).
pub const ZONES: &[Zone] = &[
    Zone {
        name: "elb.amazonaws.com",
        answer: load_balancer,
    },
    Zone {
        name: "elb.us-east-1.amazonaws.com",
        answer: load_balancer,
    },
    Zone {
        name: "elb.us-east-2.amazonaws.com",
        answer: load_balancer,
    },
    Zone {
        name: "elb.us-west-1.amazonaws.com",
        answer: load_balancer,
    },
    Zone {
        name: "elb.us-west-2.amazonaws.com",
        answer: load_balancer,
    },
    Zone {
        name: "elb.ca-central-1.amazonaws.com",
        answer: load_balancer,
    },
    Zone {
        name: "elb.eu-west-1.amazonaws.com",
        answer: load_balancer,
    },
    Zone {
        name: "elb.eu-west-2.amazonaws.com",
        answer: load_balancer,
    },
    Zone {
        name: "elb.eu-west-3.amazonaws.com",
        answer: load_balancer,
    },
    Zone {
        name: "elb.eu-central-1.amazonaws.com",
        answer: load_balancer,
    },
    Zone {
        name: "elb.eu-north-1.amazonaws.com",
        answer: load_balancer,
    },
    Zone {
        name: "elb.ap-northeast-1.amazonaws.com",
        answer: load_balancer,
    },
    Zone {
        name: "elb.ap-northeast-2.amazonaws.com",
        answer: load_balancer,
    },
    Zone {
        name: "elb.ap-northeast-3.amazonaws.com",
        answer: load_balancer,
    },
    Zone {
        name: "elb.ap-southeast-1.amazonaws.com",
        answer: load_balancer,
    },
    Zone {
        name: "elb.ap-southeast-2.amazonaws.com",
        answer: load_balancer,
    },
    Zone {
        name: "elb.ap-south-1.amazonaws.com",
        answer: load_balancer,
    },
    Zone {
        name: "elb.sa-east-1.amazonaws.com",
        answer: load_balancer,
    },
    Zone {
        name: "elb.amazonaws.com.cn",
        answer: load_balancer,
    },
    Zone {
        name: "elb.cn-north-1.amazonaws.com.cn",
        answer: load_balancer,
    },
    Zone {
        name: "elb.cn-northwest-1.amazonaws.com.cn",
        answer: load_balancer,
    },
];

/// A load balancer DNS name: `[internal-]<name>-<digits>.<region>.elb.amazonaws.com` (ALB) or
/// `<name>-<16 hex>.elb.<region>.amazonaws.com` (NLB) → `(region, type)`.
pub fn parse_elb_name(name: &str) -> Option<(String, &'static str)> {
    let (label, rest) = name.split_once('.')?;
    let (rest, suffix) = crate::partition::split_dns(rest)?;
    let (region, lb_type) = match rest.strip_suffix(".elb") {
        Some(region) => (region, "application"),
        None => (rest.strip_prefix("elb.")?, "network"),
    };
    if region.is_empty() || region.contains('.') || crate::partition::dns_suffix(region) != suffix {
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
fn load_balancer(v: &View<'_>, clock: Clock, name: &str) -> Answer {
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
    if !lb.is_active(clock) {
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

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(
            parse_elb_name("my-lb-424835706.cn-north-1.elb.amazonaws.com.cn"),
            Some(("cn-north-1".into(), "application"))
        );
        assert_eq!(
            parse_elb_name("my-nlb-5d1b75f4f1cee11e.elb.cn-northwest-1.amazonaws.com.cn"),
            Some(("cn-northwest-1".into(), "network"))
        );
        for bad in [
            "my-lb-424835706.cn-north-1.elb.amazonaws.com",
            "my-lb-424835706.us-west-2.elb.amazonaws.com.cn",
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
}
