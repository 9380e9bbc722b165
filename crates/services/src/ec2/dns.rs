//! EC2's names in DNS: interface endpoints' names, instances' private and public names.

use super::{eni, fabric, instances, vpc, vpce};
use crate::dns::{Answer, Zone};
use crate::Clock;
use airlock_store::{Scope, View};
use std::net::Ipv4Addr;

pub const ZONES: &[Zone] = &[
    Zone {
        name: "amazonaws.com",
        answer: public_service,
    },
    Zone {
        name: "amazonaws.com.cn",
        answer: public_service,
    },
    Zone {
        name: "vpce.amazonaws.com",
        answer: endpoint,
    },
    Zone {
        name: "vpce.amazonaws.com.cn",
        answer: endpoint,
    },
    Zone {
        name: "compute.internal",
        answer: private_name,
    },
    Zone {
        name: "ec2.internal",
        answer: private_name,
    },
    Zone {
        name: "compute.amazonaws.com",
        answer: public_name,
    },
    Zone {
        name: "compute.amazonaws.com.cn",
        answer: public_name,
    },
    Zone {
        name: "compute-1.amazonaws.com",
        answer: public_name,
    },
];

/// `vpce-<id>-<label>[-<az>].<service base>` → the endpoint's interface addresses (all of them,
/// or the one in that zone), once the endpoint is available.
fn endpoint(v: &View<'_>, clock: Clock, name: &str) -> Answer {
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
        if e.endpoint_type != "Interface" || e.base_dns != base || e.state(clock) != "available" {
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
        return addresses(v, &scope, &e, zone);
    }
    Answer::NxDomain
}

/// The addresses of endpoint `e`'s interfaces (those in zone `zone`, if given); none: the name
/// does not exist.
fn addresses(v: &View<'_>, scope: &Scope, e: &vpce::VpcEndpoint, zone: Option<&str>) -> Answer {
    let ips: Vec<Ipv4Addr> = e
        .eni_ids
        .iter()
        .filter_map(|id| v.get::<eni::NetworkInterface>(scope, id))
        .filter(|n| zone.is_none_or(|z| z == n.az))
        .map(|n| Ipv4Addr::from(n.private_ip))
        .collect();
    if ips.is_empty() {
        Answer::NxDomain
    } else {
        Answer::A(ips)
    }
}

/// The private DNS of VPC `vpc`'s interface endpoints ([`crate::dns::VpcDnsFn`]): the name of
/// an AWS service (`sts.us-west-2.amazonaws.com`; for a wildcard name such as
/// `*.s3.us-west-2.amazonaws.com`, the names under it and the name itself) → the addresses of
/// the available endpoint that has private DNS enabled for it. Any other name: public DNS.
pub fn private_dns(
    v: &View<'_>,
    clock: Clock,
    scope: &Scope,
    vpc: &str,
    name: &str,
) -> Option<Answer> {
    v.list_in::<vpce::VpcEndpoint>(scope, vpc)
        .into_iter()
        .filter(|e| e.private_dns_enabled && e.state(clock) == "available")
        .find(|e| {
            e.private_dns_name
                .as_deref()
                .is_some_and(|p| private_name_matches(p, name))
        })
        .map(|e| addresses(v, scope, &e, None))
}

/// Whether `name` is private DNS name `pattern` (`*.` standing for one or more labels, or none).
fn private_name_matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_prefix("*.") {
        Some(base) => {
            name == base
                || name
                    .strip_suffix(base)
                    .is_some_and(|head| head.len() > 1 && head.ends_with('.'))
        }
        None => name == pattern,
    }
}

/// AWS's public endpoints (`sts.us-west-2.amazonaws.com`, `<bucket>.s3.us-west-2.amazonaws.com`,
/// `iam.amazonaws.com`) of the services Airlock runs → [`fabric::AWS_PUBLIC`], where a VPC
/// reaches them; other names under `amazonaws.com` that no other zone holds do not exist.
fn public_service(v: &View<'_>, clock: Clock, name: &str) -> Answer {
    if let Some(answer) = super::clientvpn::dns::answer(v, clock, name) {
        return answer;
    }
    if is_public_service_name(name) {
        Answer::A(vec![fabric::AWS_PUBLIC])
    } else {
        Answer::NxDomain
    }
}

/// Whether `name` is a public endpoint name of a service Airlock runs: the name of an endpoint
/// service of AWS's (its private DNS name) in one of AWS's regions, or a global endpoint.
pub fn is_public_service_name(name: &str) -> bool {
    const GLOBAL: &[&str] = &[
        "iam.amazonaws.com",
        "sts.amazonaws.com",
        "*.s3.amazonaws.com",
    ];
    if GLOBAL.iter().any(|p| private_name_matches(p, name)) {
        return true;
    }
    let Some((rest, suffix)) = crate::partition::split_dns(name) else {
        return false;
    };
    let Some(region) = rest
        .rsplit('.')
        .next()
        .filter(|r| crate::auth::REGIONS.contains(r))
        .filter(|r| crate::partition::dns_suffix(r) == suffix)
    else {
        return false;
    };
    // Each pattern is `<head>{r}.amazonaws.com` (the partition's suffix in its regions): what
    // precedes the region must match `<head>`.
    let head = &rest[..rest.len() - region.len()];
    vpce::AWS_SERVICES.iter().any(|(short, pattern, _)| {
        pattern
            .strip_suffix("{r}.amazonaws.com")
            .is_some_and(|p| private_name_matches(p, head))
            && crate::service::serving(short).is_some()
    })
}

/// `ip-10-0-1-23.<region>.compute.internal` (`ip-...ec2.internal` in us-east-1) → the address,
/// while an interface holds it.
fn private_name(v: &View<'_>, _: Clock, name: &str) -> Answer {
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
    let region = match crate::partition::split_dns(rest)?.0 {
        "compute-1" => "us-east-1",
        r => {
            let region = r.strip_suffix(".compute")?;
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
fn public_name(v: &View<'_>, clock: Clock, name: &str) -> Answer {
    let Some((region, ip)) = parse_public_name(name) else {
        return Answer::NxDomain;
    };
    let ip_text = ip.to_string();
    // Only the canonical spelling exists (no leading zeros; us-east-1 only under compute-1).
    if instances::public_dns_name(&region, &ip_text) != name {
        return Answer::NxDomain;
    }
    if instances::public_ip_in_use(v, clock, &region, &ip_text) {
        Answer::A(vec![ip])
    } else {
        Answer::NxDomain
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_names_match_their_pattern() {
        let s3 = "*.s3.us-west-2.amazonaws.com";
        assert!(private_name_matches(s3, "s3.us-west-2.amazonaws.com"));
        assert!(private_name_matches(
            s3,
            "bucket.s3.us-west-2.amazonaws.com"
        ));
        assert!(private_name_matches(s3, "a.b.s3.us-west-2.amazonaws.com"));
        assert!(!private_name_matches(s3, "xs3.us-west-2.amazonaws.com"));
        assert!(!private_name_matches(s3, ".s3.us-west-2.amazonaws.com"));
        let sts = "sts.us-west-2.amazonaws.com";
        assert!(private_name_matches(sts, sts));
        assert!(!private_name_matches(sts, "x.sts.us-west-2.amazonaws.com"));
        assert!(!private_name_matches(sts, "sts.us-east-1.amazonaws.com"));
    }

    #[test]
    fn aws_public_endpoint_names() {
        for name in [
            "sts.us-west-2.amazonaws.com",
            "env.airflow.eu-west-1.amazonaws.com",
            "s3.us-east-1.amazonaws.com",
            "my-bucket.s3.us-west-2.amazonaws.com",
            "elasticloadbalancing.us-west-2.amazonaws.com",
            "iam.amazonaws.com",
            "sts.amazonaws.com",
            "s3.amazonaws.com",
            "b.s3.amazonaws.com",
        ] {
            assert!(is_public_service_name(name), "{name}");
        }
        for name in [
            "kms.us-west-2.amazonaws.com",
            "sts.xx-fake-1.amazonaws.com",
            "x.sts.us-west-2.amazonaws.com",
            "amazonaws.com",
            "us-west-2.amazonaws.com",
        ] {
            assert!(!is_public_service_name(name), "{name}");
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
        assert_eq!(
            parse_public_name("ec2-127-255-1-2.cn-north-1.compute.amazonaws.com.cn"),
            Some(("cn-north-1".into(), ip("127.255.1.2")))
        );
        assert_eq!(
            instances::public_dns_name("cn-north-1", "127.255.1.2"),
            "ec2-127-255-1-2.cn-north-1.compute.amazonaws.com.cn"
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
