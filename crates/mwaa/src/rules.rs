//! Pure judgements the commands share: does a security group rule admit a peer, does a matcher
//! accept the webserver's answers, does a trust policy let MWAA assume the role, what a resource
//! may be named.

use aws_sdk_ec2::types::IpPermission;
use std::net::Ipv4Addr;

/// The codes a healthy MWAA webserver answers a load balancer's `GET /` and health path with.
pub const WEBSERVER_CODES: [u16; 2] = [200, 302];

/// The matcher `expose` sets and `doctor` asks for.
pub const MATCHER: &str = "200,302";

/// The trust policy MWAA's execution role needs (the MWAA user guide's).
pub const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":["airflow.amazonaws.com","airflow-env.amazonaws.com"]},"Action":"sts:AssumeRole"}]}"#;

/// Who a connection comes from: a security group's members, or an address.
#[derive(Debug, Clone, Copy)]
pub enum Peer<'a> {
    Group(&'a str),
    Address(Ipv4Addr),
}

/// Whether one of `rules` (a group's ingress) admits TCP on `port` from `peer`.
pub fn admits(rules: &[IpPermission], port: i32, peer: Peer<'_>) -> bool {
    rules.iter().any(|r| {
        let proto = r.ip_protocol().unwrap_or_default();
        let port_ok = proto == "-1"
            || ((proto == "tcp" || proto == "6")
                && r.from_port().unwrap_or(0) <= port
                && port <= r.to_port().unwrap_or(65535));
        port_ok
            && match peer {
                Peer::Group(g) => r
                    .user_id_group_pairs()
                    .iter()
                    .any(|p| p.group_id() == Some(g)),
                Peer::Address(ip) => r
                    .ip_ranges()
                    .iter()
                    .filter_map(|c| c.cidr_ip())
                    .any(|c| cidr_contains(c, ip)),
            }
    })
}

/// Whether the IPv4 CIDR `cidr` holds `ip`; a malformed CIDR holds nothing.
pub fn cidr_contains(cidr: &str, ip: Ipv4Addr) -> bool {
    let Some((net, len)) = cidr.split_once('/') else {
        return false;
    };
    let (Ok(net), Ok(len)) = (net.parse::<Ipv4Addr>(), len.parse::<u32>()) else {
        return false;
    };
    if len > 32 {
        return false;
    }
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    u32::from(net) & mask == u32::from(ip) & mask
}

/// Whether an ELBv2 `HttpCode` matcher (`200`, `200,302`, `200-399`) accepts every one of `codes`.
pub fn matcher_accepts(http_code: &str, codes: &[u16]) -> bool {
    let accepts = |code: u16| {
        http_code
            .split(',')
            .map(str::trim)
            .any(|part| match part.split_once('-') {
                Some((lo, hi)) => match (lo.parse::<u16>(), hi.parse::<u16>()) {
                    (Ok(lo), Ok(hi)) => lo <= code && code <= hi,
                    _ => false,
                },
                None => part.parse::<u16>() == Ok(code),
            })
    };
    codes.iter().all(|&c| accepts(c))
}

/// Whether a trust policy (JSON, or URL-encoded JSON as IAM returns it) lets both of MWAA's
/// service principals assume the role; `Err` names what is missing.
pub fn trust_allows_mwaa(document: &str) -> Result<(), String> {
    let decoded = percent_encoding::percent_decode_str(document).decode_utf8_lossy();
    let doc: serde_json::Value = serde_json::from_str(&decoded)
        .or_else(|_| serde_json::from_str(document))
        .map_err(|_| "the trust policy is not JSON".to_owned())?;
    let list = |v: Option<&serde_json::Value>| -> Vec<String> {
        match v {
            Some(serde_json::Value::String(s)) => vec![s.clone()],
            Some(serde_json::Value::Array(a)) => a
                .iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        }
    };
    let statements = match doc.get("Statement") {
        Some(serde_json::Value::Array(a)) => a.clone(),
        Some(s @ serde_json::Value::Object(_)) => vec![s.clone()],
        _ => Vec::new(),
    };
    let mut trusted = Vec::new();
    for s in &statements {
        let allow = s.get("Effect").and_then(|e| e.as_str()) == Some("Allow");
        let assume = list(s.get("Action"))
            .iter()
            .any(|a| a == "sts:AssumeRole" || a == "sts:*" || a == "*");
        if allow && assume {
            trusted.extend(list(s.get("Principal").and_then(|p| p.get("Service"))));
        }
    }
    let missing: Vec<&str> = ["airflow.amazonaws.com", "airflow-env.amazonaws.com"]
        .into_iter()
        .filter(|p| !trusted.iter().any(|t| t == p))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the role's trust policy does not let {} assume it",
            missing.join(" and ")
        ))
    }
}

/// A load balancer, target group or security group name for environment `env`: letters,
/// digits and hyphens, at most 32 characters, no hyphen at either end (ELBv2's rules).
pub fn resource_name(env: &str, suffix: &str) -> String {
    let clean: String = env
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let room = 32 - suffix.len() - 1;
    let base = clean
        .get(..clean.len().min(room))
        .unwrap_or_default()
        .trim_matches('-');
    let base = base.strip_prefix("internal-").unwrap_or(base);
    if base.is_empty() {
        format!("mwaa-{suffix}")
    } else {
        format!("{base}-{suffix}")
    }
}

/// The region of an ARN (`arn:aws:acm:us-east-1:...` → `us-east-1`).
pub fn arn_region(arn: &str) -> &str {
    arn.split(':').nth(3).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ec2::types::{IpRange, UserIdGroupPair};

    fn rule(proto: &str, from: i32, to: i32) -> aws_sdk_ec2::types::builders::IpPermissionBuilder {
        IpPermission::builder()
            .ip_protocol(proto)
            .from_port(from)
            .to_port(to)
    }

    #[test]
    fn rules_admit_by_protocol_port_and_source() {
        let from_alb = rule("tcp", 443, 443)
            .user_id_group_pairs(UserIdGroupPair::builder().group_id("sg-alb").build())
            .build();
        let all_self = IpPermission::builder()
            .ip_protocol("-1")
            .user_id_group_pairs(UserIdGroupPair::builder().group_id("sg-env").build())
            .build();
        let vpc = rule("tcp", 0, 65535)
            .ip_ranges(IpRange::builder().cidr_ip("10.192.0.0/16").build())
            .build();
        let rules = [from_alb, all_self, vpc];
        assert!(admits(&rules, 443, Peer::Group("sg-alb")));
        assert!(!admits(&rules[..1], 80, Peer::Group("sg-alb")));
        assert!(
            admits(&rules, 5432, Peer::Group("sg-env")),
            "all traffic from itself"
        );
        assert!(!admits(&rules[..2], 443, Peer::Group("sg-bastion")));
        assert!(admits(
            &rules,
            443,
            Peer::Address("10.192.10.7".parse().unwrap())
        ));
        assert!(!admits(
            &rules,
            443,
            Peer::Address("10.193.0.1".parse().unwrap())
        ));
        let udp = [rule("udp", 443, 443)
            .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
            .build()];
        assert!(!admits(
            &udp,
            443,
            Peer::Address("1.2.3.4".parse().unwrap())
        ));
    }

    #[test]
    fn cidrs() {
        assert!(cidr_contains("0.0.0.0/0", "203.0.113.9".parse().unwrap()));
        assert!(cidr_contains(
            "10.192.20.0/24",
            "10.192.20.255".parse().unwrap()
        ));
        assert!(!cidr_contains(
            "10.192.20.0/24",
            "10.192.21.0".parse().unwrap()
        ));
        assert!(cidr_contains(
            "10.192.20.5/32",
            "10.192.20.5".parse().unwrap()
        ));
        assert!(!cidr_contains("10.0.0.0/33", "10.0.0.1".parse().unwrap()));
        assert!(!cidr_contains("nonsense", "10.0.0.1".parse().unwrap()));
    }

    #[test]
    fn matchers_must_accept_200_and_302() {
        assert!(matcher_accepts("200,302", &WEBSERVER_CODES));
        assert!(matcher_accepts("200-399", &WEBSERVER_CODES));
        assert!(matcher_accepts("302, 200", &WEBSERVER_CODES));
        assert!(!matcher_accepts("200", &WEBSERVER_CODES), "the page's trap");
        assert!(!matcher_accepts("200-299", &WEBSERVER_CODES));
        assert!(!matcher_accepts("", &WEBSERVER_CODES));
        assert!(!matcher_accepts("x-y", &WEBSERVER_CODES));
    }

    #[test]
    fn trust_policies() {
        assert_eq!(trust_allows_mwaa(TRUST), Ok(()));
        let encoded: String =
            percent_encoding::utf8_percent_encode(TRUST, percent_encoding::NON_ALPHANUMERIC)
                .to_string();
        assert_eq!(trust_allows_mwaa(&encoded), Ok(()), "as GetRole returns it");
        let ec2_only = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Service":"airflow.amazonaws.com"},"Action":"sts:AssumeRole"}}"#;
        assert_eq!(
            trust_allows_mwaa(ec2_only),
            Err("the role's trust policy does not let airflow-env.amazonaws.com assume it".into())
        );
        let denied = TRUST.replace("Allow", "Deny");
        assert!(trust_allows_mwaa(&denied).is_err());
        assert!(trust_allows_mwaa("{").is_err());
    }

    #[test]
    fn names_follow_elbv2_rules() {
        assert_eq!(
            resource_name("MyAirflowEnvironment", "alb"),
            "MyAirflowEnvironment-alb"
        );
        assert_eq!(resource_name("my_env", "web"), "my-env-web");
        let long = resource_name("a-very-long-environment-name-beyond-limits", "web");
        assert!(long.len() <= 32 && long.ends_with("-web"), "{long}");
        assert_eq!(
            resource_name("x-------------------------------y", "nlb"),
            "x-nlb"
        );
        assert_eq!(resource_name("internal-env", "alb"), "env-alb");
        assert_eq!(resource_name("___", "alb"), "mwaa-alb");
    }

    #[test]
    fn regions_of_arns() {
        assert_eq!(
            arn_region("arn:aws:acm:us-east-1:000000000000:certificate/x"),
            "us-east-1"
        );
        assert_eq!(arn_region("nonsense"), "");
    }
}
