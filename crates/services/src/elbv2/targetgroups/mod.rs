//! Target groups, target registrations and target health: CreateTargetGroup,
//! DescribeTargetGroups, ModifyTargetGroup, DeleteTargetGroup, the target group attributes,
//! RegisterTargets, DeregisterTargets and DescribeTargetHealth.
//!
//! A target group's registrations live in a record of their own ([`Targets`], keyed by the
//! group's ARN) so the data plane's health checker can write each target's [`Health`] without
//! touching the group's configuration. What DescribeTargetHealth reports is derived at read
//! time ([`health_of`]): a group no listener or rule forwards to has `unused` targets; a
//! deregistered target is `draining` for the group's deregistration delay (scaled) and then
//! gone; otherwise the checker's last verdict, or `initial` until it has one.

use super::loadbalancers::LoadBalancer;
use super::{listeners, rules, Attribute, Read};
use crate::ec2::cidr;
use crate::ec2::{instances, regions, vpc};
use crate::tags::Tag;
use crate::Clock;
use crate::{input, Ctx};
use airlock_dto::elbv2 as dto;
use airlock_protocol::{ApiError, ApiResult, Output};
use airlock_store::{Scope, Tx};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use time::OffsetDateTime;

mod attributes;
mod health;
mod targets;

use attributes::default_attributes;
pub use attributes::{describe_attributes, modify_attributes};
use health::{apply_health_check, default_health_check};
pub use health::{
    check_grpc_codes, check_http_codes, describe_target_health, health_of, http_code_matches,
    set_health, HealthReport,
};
use targets::targets_in;
pub use targets::{deregister_targets, is_private_ip, register_targets};

/// Registrations per target group (AWS's default quota).
const TARGET_QUOTA: usize = 1000;
/// Target groups per region (AWS's default quota).
const GROUP_QUOTA: usize = 3000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Matcher {
    pub http_code: Option<String>,
    pub grpc_code: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthCheck {
    pub enabled: bool,
    /// `HTTP`, `HTTPS` or `TCP` (`None` for Lambda groups).
    pub protocol: Option<String>,
    /// `traffic-port` or a port number.
    pub port: Option<String>,
    /// HTTP(S) checks only.
    pub path: Option<String>,
    pub interval: i64,
    pub timeout: i64,
    pub healthy_threshold: i64,
    pub unhealthy_threshold: i64,
    /// HTTP(S) checks only.
    pub matcher: Option<Matcher>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TargetGroup {
    pub arn: String,
    pub name: String,
    /// `None` for Lambda groups.
    pub protocol: Option<String>,
    pub port: Option<i64>,
    pub vpc_id: Option<String>,
    /// `instance`, `ip`, `lambda` or `alb`.
    pub target_type: String,
    /// `HTTP1`, `HTTP2` or `GRPC` for HTTP/HTTPS groups.
    pub protocol_version: Option<String>,
    pub ip_address_type: String,
    pub health_check: HealthCheck,
    pub attributes: Vec<Attribute>,
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    pub tags: Vec<Tag>,
}

airlock_store::record!(TargetGroup, "elbv2.target_group", arn);

/// The health checker's last verdict on a target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// `healthy`, `unhealthy` (or `initial` while checks are under way).
    pub state: String,
    /// `Target.ResponseCodeMismatch`, `Target.Timeout`, `Target.FailedHealthChecks`,
    /// `Elb.InitialHealthChecking`, ... (`None` when healthy).
    pub reason: Option<String>,
    pub description: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// One registered target (an instance id, an IP address, ...) on one port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registration {
    pub id: String,
    pub port: Option<i64>,
    /// The `AvailabilityZone` given at registration (`all` or a zone), if any.
    pub availability_zone: Option<String>,
    /// The zone the target is in: the subnet's for IP addresses in the VPC, the instance's for
    /// instances; `None` for addresses outside the VPC registered with `all`.
    pub zone: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub registered_at: OffsetDateTime,
    /// Set by DeregisterTargets: the target drains until the deregistration delay has passed.
    #[serde(with = "time::serde::rfc3339::option")]
    pub deregistered_at: Option<OffsetDateTime>,
    /// Written by the data plane's health checker.
    pub health: Option<Health>,
}

/// The registrations of one target group (id: the group's ARN).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Targets {
    pub target_group_arn: String,
    pub targets: Vec<Registration>,
}

airlock_store::record!(Targets, "elbv2.targets", target_group_arn);

impl TargetGroup {
    pub fn attribute(&self, key: &str) -> Option<&str> {
        super::attribute(&self.attributes, key)
    }

    /// Whether the group is of the Application Load Balancer kind (HTTP/HTTPS or Lambda).
    pub fn is_http(&self) -> bool {
        matches!(self.protocol.as_deref(), Some("HTTP" | "HTTPS") | None)
    }

    /// The deregistration delay in AWS seconds.
    pub fn deregistration_delay(&self) -> f64 {
        self.attribute("deregistration_delay.timeout_seconds")
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(300.0)
    }

    /// Whether `reg` was deregistered and its draining (the deregistration delay) is over.
    pub fn drained(&self, reg: &Registration, clock: Clock) -> bool {
        reg.deregistered_at
            .is_some_and(|d| clock.passed(d, self.deregistration_delay()))
    }

    /// The port health checks go to for a target on `port`.
    pub fn health_check_port(&self, port: Option<i64>) -> Option<String> {
        match self.health_check.port.as_deref() {
            Some("traffic-port") => port.map(|p| p.to_string()),
            other => other.map(str::to_owned),
        }
    }

    /// The group as outputs show it (`lbs`: the load balancers that forward to it).
    pub fn out(&self, lbs: &[String]) -> dto::TargetGroup {
        let hc = &self.health_check;
        dto::TargetGroup {
            health_check_enabled: Some(hc.enabled),
            health_check_interval_seconds: Some(hc.interval),
            health_check_path: hc.path.clone(),
            health_check_port: hc.port.clone(),
            health_check_protocol: hc.protocol.clone(),
            health_check_timeout_seconds: Some(hc.timeout),
            healthy_threshold_count: Some(hc.healthy_threshold),
            ip_address_type: Some(self.ip_address_type.clone()),
            load_balancer_arns: Some(lbs.to_vec()),
            matcher: hc.matcher.as_ref().map(|m| dto::Matcher {
                grpc_code: m.grpc_code.clone(),
                http_code: m.http_code.clone(),
            }),
            port: self.port,
            protocol: self.protocol.clone(),
            protocol_version: self.protocol_version.clone(),
            target_group_arn: Some(self.arn.clone()),
            target_group_name: Some(self.name.clone()),
            target_type: Some(self.target_type.clone()),
            unhealthy_threshold_count: Some(hc.unhealthy_threshold),
            vpc_id: self.vpc_id.clone(),
            ..Default::default()
        }
    }
}

pub fn not_found() -> ApiError {
    ApiError::new("TargetGroupNotFound", "One or more target groups not found")
}

pub fn check_arn(arn: &str) -> ApiResult<()> {
    super::check_arn(arn, "targetgroup/", "target group")
}

pub fn get<R: Read>(r: &R, scope: &Scope, arn: &str) -> ApiResult<Arc<TargetGroup>> {
    check_arn(arn)?;
    r.get::<TargetGroup>(scope, arn).ok_or_else(not_found)
}

/// Which load balancers forward to each target group (through a listener's default actions or
/// a rule), by target group ARN.
pub fn usage<R: Read>(r: &R, scope: &Scope) -> HashMap<String, Vec<String>> {
    let ls = r.list::<listeners::Listener>(scope);
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    let mut add = |tg: &str, lb: &str| {
        let e = out.entry(tg.to_owned()).or_default();
        if !e.iter().any(|x| x == lb) {
            e.push(lb.to_owned());
        }
    };
    for l in &ls {
        for a in &l.default_actions {
            for tg in a.target_group_arns() {
                add(tg, &l.lb_arn);
            }
        }
    }
    for rule in r.list::<rules::Rule>(scope) {
        let Some(l) = ls.iter().find(|l| l.arn == rule.listener_arn) else {
            continue;
        };
        for a in &rule.actions {
            for tg in a.target_group_arns() {
                add(tg, &l.lb_arn);
            }
        }
    }
    for v in out.values_mut() {
        v.sort();
    }
    out
}

/// Whether a CreateTargetGroup repeating an existing group's name asks for the same group (AWS
/// then answers with it; other settings are a DuplicateTargetGroupName).
fn same_settings(a: &TargetGroup, b: &TargetGroup) -> bool {
    a.protocol == b.protocol
        && a.port == b.port
        && a.vpc_id == b.vpc_id
        && a.target_type == b.target_type
        && a.protocol_version == b.protocol_version
        && a.health_check == b.health_check
}

pub fn create_target_group(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let name = input::req(input, "Name")?.to_owned();
    super::check_name("Target group", &name)?;
    let target_type = input::str(input, "TargetType")
        .unwrap_or("instance")
        .to_owned();
    let protocol = input::str(input, "Protocol").map(str::to_owned);
    let port = input::int(input, "Port");
    let vpc_id = input::str(input, "VpcId").map(str::to_owned);
    if target_type == "lambda" {
        for (given, what) in [
            (protocol.is_some(), "protocol"),
            (port.is_some(), "port"),
            (vpc_id.is_some(), "VPC ID"),
        ] {
            if given {
                return Err(super::validation(format!(
                    "A {what} cannot be specified for target groups with target type 'lambda'"
                )));
            }
        }
    } else {
        if protocol.is_none() {
            return Err(super::validation(
                "A protocol must be specified for target groups with target type other than 'lambda'",
            ));
        }
        if port.is_none() {
            return Err(super::validation(
                "A port must be specified for target groups with target type other than 'lambda'",
            ));
        }
        if vpc_id.is_none() {
            return Err(super::validation(
                "A VPC ID must be specified for target groups with target type other than 'lambda'",
            ));
        }
    }
    if let Some(p) = protocol.as_deref() {
        if matches!(p, "GENEVE" | "QUIC" | "TCP_QUIC") {
            return Err(super::invalid_config(format!(
                "Airlock does not emulate target groups with the protocol '{p}'"
            )));
        }
        if target_type == "alb" && p != "TCP" {
            return Err(super::validation(
                "Target groups with target type 'alb' must use the protocol 'TCP'",
            ));
        }
    }
    let http = matches!(protocol.as_deref(), Some("HTTP" | "HTTPS"));
    let version = match input::str(input, "ProtocolVersion") {
        Some(v) => {
            if !http {
                return Err(super::validation(
                    "A protocol version can only be specified for target groups with the protocol 'HTTP' or 'HTTPS'",
                ));
            }
            let v = v.to_ascii_uppercase();
            if !matches!(v.as_str(), "HTTP1" | "HTTP2" | "GRPC") {
                return Err(super::validation(format!(
                    "Protocol version '{v}' must be one of 'HTTP1, HTTP2, GRPC'"
                )));
            }
            Some(v)
        }
        None => http.then(|| "HTTP1".to_owned()),
    };
    let ip_type = input::str(input, "IpAddressType")
        .unwrap_or("ipv4")
        .to_owned();
    if ip_type != "ipv4" {
        return Err(super::invalid_config(
            "IPv6 target groups are not supported: Airlock's VPCs are IPv4-only",
        ));
    }
    let tags = super::tags_input(input)?;
    let scope = ctx.scope();
    let mut tg = TargetGroup {
        arn: super::arn(ctx, &format!("targetgroup/{name}/{}", super::hex16())),
        name: name.clone(),
        protocol: protocol.clone(),
        port,
        vpc_id: vpc_id.clone(),
        target_type: target_type.clone(),
        protocol_version: version.clone(),
        ip_address_type: ip_type,
        health_check: default_health_check(protocol.as_deref(), &target_type, version.as_deref()),
        attributes: default_attributes(protocol.as_deref(), &target_type),
        created: ctx.clock.now(),
        tags,
    };
    let mut hc = tg.health_check.clone();
    apply_health_check(&tg, &mut hc, input)?;
    tg.health_check = hc;
    let tg = ctx.store.write(|tx| {
        if let Some(v) = &vpc_id {
            if tx.get::<vpc::Vpc>(&scope, v).is_none() {
                return Err(super::validation(format!("The VPC ID '{v}' is not found")));
            }
        }
        let all = tx.list::<TargetGroup>(&scope);
        if let Some(existing) = all.iter().find(|g| g.name.eq_ignore_ascii_case(&name)) {
            if same_settings(existing, &tg) {
                return Ok((**existing).clone());
            }
            return Err(ApiError::new(
                "DuplicateTargetGroupName",
                format!("A target group with the same name '{name}' exists, but with different settings"),
            ));
        }
        if all.len() >= GROUP_QUOTA {
            return Err(ApiError::new(
                "TooManyTargetGroups",
                "You have reached the maximum number of target groups",
            ));
        }
        tx.put(&scope, tg.clone())?;
        tx.put(
            &scope,
            Targets {
                target_group_arn: tg.arn.clone(),
                targets: Vec::new(),
            },
        )?;
        Ok::<_, ApiError>(tg)
    })?;
    Ok(Output::new(dto::CreateTargetGroupOutput {
        target_groups: Some(vec![tg.out(&[])]),
    }))
}

pub fn describe_target_groups(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let lb_arn = input::str(input, "LoadBalancerArn");
    let arns = input::strs(input, "TargetGroupArns");
    let names = input::strs(input, "Names");
    let given = [lb_arn.is_some(), !arns.is_empty(), !names.is_empty()];
    if given.iter().filter(|g| **g).count() > 1 {
        return Err(super::validation(
            "Only one of 'LoadBalancerArn', 'TargetGroupArns' or 'Names' can be specified",
        ));
    }
    for a in &arns {
        check_arn(a)?;
    }
    let scope = ctx.scope();
    let (mut all, used) = ctx.store.read(|v| {
        if let Some(lb) = lb_arn {
            super::loadbalancers::get(v, &scope, lb)?;
        }
        Ok::<_, ApiError>((v.list::<TargetGroup>(&scope), usage(v, &scope)))
    })?;
    all.sort_by(|a, b| a.name.cmp(&b.name).then(a.arn.cmp(&b.arn)));
    let out = if !arns.is_empty() {
        super::pick(&all, &arns, |g, a| g.arn == a, |_| not_found())?
    } else if !names.is_empty() {
        let named = |g: &TargetGroup, n: &str| g.name.eq_ignore_ascii_case(n);
        super::pick(&all, &names, named, |_| not_found())?
    } else if let Some(lb) = lb_arn {
        all.into_iter()
            .filter(|g| used.get(&g.arn).is_some_and(|l| l.iter().any(|x| x == lb)))
            .collect()
    } else {
        all
    };
    let (page, next) = super::paginate(out, input, |g| g.arn.clone())?;
    let groups = page
        .iter()
        .map(|g| g.out(used.get(&g.arn).map(Vec::as_slice).unwrap_or(&[])))
        .collect();
    Ok(Output::new(dto::DescribeTargetGroupsOutput {
        next_marker: next,
        target_groups: Some(groups),
    }))
}

pub fn modify_target_group(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let arn = input::req(input, "TargetGroupArn")?;
    let scope = ctx.scope();
    let (tg, used) = ctx.store.write(|tx| {
        let mut tg = (*get(tx, &scope, arn)?).clone();
        let mut hc = tg.health_check.clone();
        apply_health_check(&tg, &mut hc, input)?;
        tg.health_check = hc;
        tx.put(&scope, tg.clone())?;
        Ok::<_, ApiError>((tg, usage(tx, &scope)))
    })?;
    let lbs = used.get(&tg.arn).cloned().unwrap_or_default();
    Ok(Output::new(dto::ModifyTargetGroupOutput {
        target_groups: Some(vec![tg.out(&lbs)]),
    }))
}

pub fn delete_target_group(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let arn = input::req(input, "TargetGroupArn")?;
    check_arn(arn)?;
    let scope = ctx.scope();
    ctx.store.write(|tx| {
        if tx.get::<TargetGroup>(&scope, arn).is_none() {
            return Ok(());
        }
        if usage(tx, &scope).contains_key(arn) {
            return Err(ApiError::new(
                "ResourceInUse",
                format!("Target group '{arn}' is currently in use by a listener or a rule"),
            ));
        }
        tx.delete::<TargetGroup>(&scope, arn);
        tx.delete::<Targets>(&scope, arn);
        Ok::<_, ApiError>(())
    })?;
    Ok(Output::new(dto::DeleteTargetGroupOutput {}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matcher_syntax() {
        for ok in ["200", "200,302", "200-399", "200-299,302,404-410", "499"] {
            assert!(check_http_codes(ok, 200, 499).is_ok(), "{ok}");
        }
        for bad in [
            "", "2OO", "200,", ",200", "300-200", "200-", "1000", "200 ,302", "200-3-4",
        ] {
            assert!(check_http_codes(bad, 200, 499).is_err(), "{bad}");
        }
        let e = check_http_codes("500", 200, 499).unwrap_err();
        assert_eq!(e.code, "ValidationError");
        assert!(e.message.contains("200-499"), "{}", e.message);
        assert!(check_http_codes("500-599", 200, 599).is_ok());
        assert!(check_http_codes("199", 200, 599).is_err());
        assert!(check_grpc_codes("0-5,12").is_ok());
        assert!(check_grpc_codes("100").is_err());
    }

    #[test]
    fn matching_codes() {
        assert!(http_code_matches("200,302", 302));
        assert!(!http_code_matches("200,302", 301));
        assert!(http_code_matches("200-399", 399));
        assert!(!http_code_matches("200", 404));
    }

    #[test]
    fn defaults_follow_the_api_reference() {
        let hc = default_health_check(Some("HTTPS"), "ip", Some("HTTP1"));
        assert_eq!(hc.protocol.as_deref(), Some("HTTPS"));
        assert_eq!((hc.interval, hc.timeout), (30, 10));
        assert_eq!((hc.healthy_threshold, hc.unhealthy_threshold), (5, 2));
        assert_eq!(hc.matcher.unwrap().http_code.as_deref(), Some("200"));
        assert_eq!(default_health_check(Some("HTTP"), "ip", None).timeout, 6);
        let tcp = default_health_check(Some("TCP"), "ip", None);
        assert_eq!(tcp.protocol.as_deref(), Some("TCP"));
        assert!(tcp.matcher.is_none() && tcp.path.is_none());
        assert!(!default_health_check(None, "lambda", None).enabled);
    }

    #[test]
    fn private_ranges() {
        let ip = |s: &str| cidr::parse_ip(s).unwrap();
        assert!(is_private_ip(ip("10.1.2.3")));
        assert!(is_private_ip(ip("172.31.0.1")));
        assert!(is_private_ip(ip("100.64.0.1")));
        assert!(!is_private_ip(ip("8.8.8.8")));
        assert!(!is_private_ip(ip("172.32.0.1")));
    }
}
