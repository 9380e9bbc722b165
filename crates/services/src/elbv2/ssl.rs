//! The security policies of HTTPS and TLS listeners (DescribeSSLPolicies).

use crate::{input, Ctx};
use airlock_dto::elbv2 as dto;
use airlock_protocol::{ApiError, ApiResult, Output};
use serde_json::Value;

/// The policy a listener gets when none is given.
pub const DEFAULT_POLICY: &str = "ELBSecurityPolicy-2016-08";

const TLS13: &[&str] = &[
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
];
const ECDHE_GCM: &[&str] = &[
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
];
const ECDHE_CBC_SHA2: &[&str] = &[
    "ECDHE-ECDSA-AES128-SHA256",
    "ECDHE-RSA-AES128-SHA256",
    "ECDHE-ECDSA-AES256-SHA384",
    "ECDHE-RSA-AES256-SHA384",
];
const ECDHE_CBC_SHA1: &[&str] = &[
    "ECDHE-ECDSA-AES128-SHA",
    "ECDHE-RSA-AES128-SHA",
    "ECDHE-ECDSA-AES256-SHA",
    "ECDHE-RSA-AES256-SHA",
];
const RSA_SHA2: &[&str] = &[
    "AES128-GCM-SHA256",
    "AES128-SHA256",
    "AES256-GCM-SHA384",
    "AES256-SHA256",
];
const RSA_SHA1: &[&str] = &["AES128-SHA", "AES256-SHA"];

#[derive(Clone, Copy)]
enum Suites {
    Tls13,
    Gcm,
    CbcSha2,
    CbcSha1,
    Rsa2,
    Rsa1,
}

/// (name, protocols, cipher groups in priority order).
type Policy = (&'static str, &'static [&'static str], &'static [Suites]);

const POLICIES: &[Policy] = {
    use Suites::*;
    &[
        (
            "ELBSecurityPolicy-TLS13-1-3-2021-06",
            &["TLSv1.3"],
            &[Tls13],
        ),
        (
            "ELBSecurityPolicy-TLS13-1-2-2021-06",
            &["TLSv1.3", "TLSv1.2"],
            &[Tls13, Gcm, CbcSha2],
        ),
        (
            "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
            &["TLSv1.3", "TLSv1.2"],
            &[Tls13, Gcm],
        ),
        (
            "ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06",
            &["TLSv1.3", "TLSv1.2"],
            &[Tls13, Gcm, CbcSha2, Rsa2],
        ),
        (
            "ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06",
            &["TLSv1.3", "TLSv1.2"],
            &[Tls13, Gcm, CbcSha2, CbcSha1, Rsa2, Rsa1],
        ),
        (
            "ELBSecurityPolicy-TLS13-1-1-2021-06",
            &["TLSv1.3", "TLSv1.2", "TLSv1.1"],
            &[Tls13, Gcm, CbcSha2, CbcSha1, Rsa2, Rsa1],
        ),
        (
            "ELBSecurityPolicy-TLS13-1-0-2021-06",
            &["TLSv1.3", "TLSv1.2", "TLSv1.1", "TLSv1"],
            &[Tls13, Gcm, CbcSha2, CbcSha1, Rsa2, Rsa1],
        ),
        (
            "ELBSecurityPolicy-TLS13-1-2-PQ-2025-09",
            &["TLSv1.3", "TLSv1.2"],
            &[Tls13, Gcm, CbcSha2],
        ),
        (
            "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09",
            &["TLSv1.3", "TLSv1.2"],
            &[Tls13, Gcm],
        ),
        (
            "ELBSecurityPolicy-TLS13-1-3-PQ-2025-09",
            &["TLSv1.3"],
            &[Tls13],
        ),
        ("ELBSecurityPolicy-FS-1-2-Res-2020-10", &["TLSv1.2"], &[Gcm]),
        (
            "ELBSecurityPolicy-FS-1-2-Res-2019-08",
            &["TLSv1.2"],
            &[Gcm, CbcSha2],
        ),
        (
            "ELBSecurityPolicy-FS-1-2-2019-08",
            &["TLSv1.2"],
            &[Gcm, CbcSha2, CbcSha1],
        ),
        (
            "ELBSecurityPolicy-FS-1-1-2019-08",
            &["TLSv1.2", "TLSv1.1"],
            &[Gcm, CbcSha2, CbcSha1],
        ),
        (
            "ELBSecurityPolicy-FS-2018-06",
            &["TLSv1.2", "TLSv1.1", "TLSv1"],
            &[Gcm, CbcSha2, CbcSha1],
        ),
        (
            "ELBSecurityPolicy-TLS-1-2-Ext-2018-06",
            &["TLSv1.2"],
            &[Gcm, CbcSha2, CbcSha1, Rsa2, Rsa1],
        ),
        (
            "ELBSecurityPolicy-TLS-1-2-2017-01",
            &["TLSv1.2"],
            &[Gcm, CbcSha2, Rsa2],
        ),
        (
            "ELBSecurityPolicy-TLS-1-1-2017-01",
            &["TLSv1.2", "TLSv1.1"],
            &[Gcm, CbcSha2, CbcSha1, Rsa2, Rsa1],
        ),
        (
            "ELBSecurityPolicy-2016-08",
            &["TLSv1.2", "TLSv1.1", "TLSv1"],
            &[Gcm, CbcSha2, CbcSha1, Rsa2, Rsa1],
        ),
        (
            "ELBSecurityPolicy-2015-05",
            &["TLSv1.2", "TLSv1.1", "TLSv1"],
            &[Gcm, CbcSha2, CbcSha1, Rsa2, Rsa1],
        ),
    ]
};

fn ciphers(groups: &[Suites]) -> Vec<&'static str> {
    groups
        .iter()
        .flat_map(|g| match g {
            Suites::Tls13 => TLS13,
            Suites::Gcm => ECDHE_GCM,
            Suites::CbcSha2 => ECDHE_CBC_SHA2,
            Suites::CbcSha1 => ECDHE_CBC_SHA1,
            Suites::Rsa2 => RSA_SHA2,
            Suites::Rsa1 => RSA_SHA1,
        })
        .copied()
        .collect()
}

/// Whether `name` is a known security policy.
pub fn exists(name: &str) -> bool {
    POLICIES.iter().any(|(n, ..)| *n == name)
}

/// The protocols and ciphers (OpenSSL names, in priority order) of policy `name`, for the data
/// plane's TLS configuration.
pub fn policy(name: &str) -> Option<(Vec<&'static str>, Vec<&'static str>)> {
    POLICIES
        .iter()
        .find(|(n, ..)| *n == name)
        .map(|(_, protocols, groups)| (protocols.to_vec(), ciphers(groups)))
}

pub fn not_found(name: &str) -> ApiError {
    ApiError::new(
        "SSLPolicyNotFound",
        format!("SSL policy '{name}' not found"),
    )
}

pub fn describe_ssl_policies(_ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let names = input::strs(input, "Names");
    for n in &names {
        if !exists(n) {
            return Err(not_found(n));
        }
    }
    // Every listed policy applies to Application and Network Load Balancers alike.
    if input::str(input, "LoadBalancerType") == Some("gateway") {
        return Ok(Output::new(dto::DescribeSSLPoliciesOutput {
            ssl_policies: Some(Vec::new()),
            next_marker: None,
        }));
    }
    let picked: Vec<&Policy> = POLICIES
        .iter()
        .filter(|(n, ..)| names.is_empty() || names.iter().any(|x| x == n))
        .collect();
    let (page, next) = super::paginate(picked, input, |p| p.0.to_owned())?;
    let out = page
        .iter()
        .map(|(name, protocols, groups)| dto::SslPolicy {
            ciphers: Some(
                ciphers(groups)
                    .iter()
                    .zip(1..)
                    .map(|(c, priority)| dto::Cipher {
                        name: Some(c.to_string()),
                        priority: Some(priority),
                    })
                    .collect(),
            ),
            name: Some(name.to_string()),
            ssl_protocols: Some(protocols.iter().map(|p| p.to_string()).collect()),
            supported_load_balancer_types: Some(vec!["application".into(), "network".into()]),
        })
        .collect();
    Ok(Output::new(dto::DescribeSSLPoliciesOutput {
        ssl_policies: Some(out),
        next_marker: next,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_policy_exists() {
        assert!(exists(DEFAULT_POLICY));
        let (protocols, ciphers) = policy("ELBSecurityPolicy-TLS13-1-2-2021-06").unwrap();
        assert_eq!(protocols, ["TLSv1.3", "TLSv1.2"]);
        assert_eq!(ciphers[0], "TLS_AES_128_GCM_SHA256");
        assert!(!exists("ELBSecurityPolicy-Nope"));
    }
}
