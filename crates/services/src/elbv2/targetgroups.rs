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
use crate::{input, Ctx};
use airlock_protocol::{ApiError, ApiResult};
use airlock_store::{Record, Scope, Tx};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use time::OffsetDateTime;

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

impl Record for TargetGroup {
    const KIND: &'static str = "elbv2.target_group";
    fn id(&self) -> &str {
        &self.arn
    }
}

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

impl Record for Targets {
    const KIND: &'static str = "elbv2.targets";
    fn id(&self) -> &str {
        &self.target_group_arn
    }
}

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

    /// The port health checks go to for a target on `port`.
    pub fn health_check_port(&self, port: Option<i64>) -> Option<String> {
        match self.health_check.port.as_deref() {
            Some("traffic-port") => port.map(|p| p.to_string()),
            other => other.map(str::to_owned),
        }
    }

    pub fn json(&self, lbs: &[String]) -> Value {
        let hc = &self.health_check;
        let mut v = json!({
            "TargetGroupArn": self.arn, "TargetGroupName": self.name,
            "HealthCheckEnabled": hc.enabled, "HealthCheckIntervalSeconds": hc.interval,
            "HealthCheckTimeoutSeconds": hc.timeout, "HealthyThresholdCount": hc.healthy_threshold,
            "UnhealthyThresholdCount": hc.unhealthy_threshold, "LoadBalancerArns": lbs,
            "TargetType": self.target_type, "IpAddressType": self.ip_address_type,
        });
        let mut put = |k: &str, x: Option<Value>| {
            if let Some(x) = x {
                v[k] = x;
            }
        };
        put("Protocol", self.protocol.as_ref().map(|p| json!(p)));
        put("Port", self.port.map(|p| json!(p)));
        put("VpcId", self.vpc_id.as_ref().map(|p| json!(p)));
        put(
            "HealthCheckProtocol",
            hc.protocol.as_ref().map(|p| json!(p)),
        );
        put("HealthCheckPort", hc.port.as_ref().map(|p| json!(p)));
        put("HealthCheckPath", hc.path.as_ref().map(|p| json!(p)));
        put(
            "Matcher",
            hc.matcher.as_ref().map(|m| {
                let mut o = json!({});
                if let Some(c) = &m.http_code {
                    o["HttpCode"] = json!(c);
                }
                if let Some(c) = &m.grpc_code {
                    o["GrpcCode"] = json!(c);
                }
                o
            }),
        );
        put(
            "ProtocolVersion",
            self.protocol_version.as_ref().map(|p| json!(p)),
        );
        v
    }
}

pub fn not_found() -> ApiError {
    ApiError::new("TargetGroupNotFound", "One or more target groups not found")
}

pub fn check_arn(arn: &str) -> ApiResult<()> {
    match super::resource_of(arn) {
        Some(r) if r.starts_with("targetgroup/") => Ok(()),
        _ => Err(super::validation(format!(
            "'{arn}' is not a valid target group ARN"
        ))),
    }
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

/// An HTTP code matcher: a comma-separated list of codes and `lo-hi` ranges within `min..=max`.
pub fn check_http_codes(codes: &str, min: u16, max: u16) -> ApiResult<()> {
    let bad = || {
        super::validation(format!(
            "Health check matcher HTTP code '{codes}' is not valid: specify a code (200), a list (200,302) or a range (200-299)"
        ))
    };
    if codes.is_empty() {
        return Err(bad());
    }
    for part in codes.split(',') {
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (a, b),
            None => (part, part),
        };
        let parse = |s: &str| -> Option<u16> {
            (!s.is_empty() && s.len() <= 3 && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse().ok())
                .flatten()
        };
        let (Some(lo), Some(hi)) = (parse(lo), parse(hi)) else {
            return Err(bad());
        };
        if lo > hi {
            return Err(bad());
        }
        for c in [lo, hi] {
            if c < min || c > max {
                return Err(super::validation(format!(
                    "Health check matcher HTTP code '{c}' must be within '{min}-{max}' inclusive"
                )));
            }
        }
    }
    Ok(())
}

/// A gRPC code matcher: codes and ranges within 0–99.
pub fn check_grpc_codes(codes: &str) -> ApiResult<()> {
    let ok = !codes.is_empty()
        && codes.split(',').all(|part| {
            let (lo, hi) = part.split_once('-').unwrap_or((part, part));
            match (lo.parse::<u8>(), hi.parse::<u8>()) {
                (Ok(a), Ok(b)) => a <= b && b <= 99,
                _ => false,
            }
        });
    if ok {
        Ok(())
    } else {
        Err(super::validation(format!(
            "Health check matcher gRPC code '{codes}' is not valid: specify codes between 0 and 99"
        )))
    }
}

/// Whether a matcher of `codes` accepts `status` (for the health checker).
pub fn http_code_matches(codes: &str, status: u16) -> bool {
    codes.split(',').any(|part| {
        let (lo, hi) = part.split_once('-').unwrap_or((part, part));
        matches!((lo.trim().parse::<u16>(), hi.trim().parse::<u16>()), (Ok(a), Ok(b)) if a <= status && status <= b)
    })
}

/// AWS's health check defaults for a new group.
fn default_health_check(
    protocol: Option<&str>,
    target_type: &str,
    version: Option<&str>,
) -> HealthCheck {
    if target_type == "lambda" {
        return HealthCheck {
            enabled: false,
            protocol: None,
            port: None,
            path: Some("/".into()),
            interval: 35,
            timeout: 30,
            healthy_threshold: 5,
            unhealthy_threshold: 2,
            matcher: Some(Matcher {
                http_code: Some("200".into()),
                grpc_code: None,
            }),
        };
    }
    let http = matches!(protocol, Some("HTTP" | "HTTPS"));
    // HTTP/HTTPS groups check with their own protocol (the API reference says HTTP for
    // Application Load Balancers; AWS answers HTTPS for an HTTPS group created without one).
    let hc_protocol = if http {
        protocol.unwrap_or("HTTP")
    } else {
        "TCP"
    };
    let grpc = version == Some("GRPC");
    HealthCheck {
        enabled: true,
        protocol: Some(hc_protocol.into()),
        port: Some("traffic-port".into()),
        path: http.then(|| {
            if grpc {
                "/AWS.ALB/healthcheck".into()
            } else {
                "/".into()
            }
        }),
        interval: 30,
        timeout: if protocol == Some("HTTP") { 6 } else { 10 },
        healthy_threshold: 5,
        unhealthy_threshold: 2,
        matcher: http.then(|| Matcher {
            http_code: (!grpc).then(|| "200".into()),
            grpc_code: grpc.then(|| "12".into()),
        }),
    }
}

/// Applies the health check members of a Create/ModifyTargetGroup request to `hc`.
fn apply_health_check(tg: &TargetGroup, hc: &mut HealthCheck, input: &Value) -> ApiResult<()> {
    if let Some(p) = input::str(input, "HealthCheckProtocol") {
        if !matches!(p, "HTTP" | "HTTPS" | "TCP") {
            return Err(super::validation(format!(
                "Health check protocol '{p}' is not supported"
            )));
        }
        if tg.is_http() && p == "TCP" && tg.target_type != "lambda" {
            return Err(super::invalid_config(format!(
                "Health check protocol 'TCP' is not supported for target groups with the protocol '{}'",
                tg.protocol.as_deref().unwrap_or("")
            )));
        }
        let was_http = matches!(hc.protocol.as_deref(), Some("HTTP" | "HTTPS"));
        hc.protocol = Some(p.to_owned());
        if p == "TCP" {
            hc.path = None;
            hc.matcher = None;
        } else if !was_http {
            hc.path = Some("/".into());
            hc.matcher = Some(Matcher {
                http_code: Some(if tg.is_http() { "200" } else { "200-399" }.into()),
                grpc_code: None,
            });
        }
    }
    let http_check =
        matches!(hc.protocol.as_deref(), Some("HTTP" | "HTTPS")) || tg.target_type == "lambda";
    if let Some(p) = input::str(input, "HealthCheckPort") {
        let ok = p == "traffic-port" || p.parse::<u32>().is_ok_and(|n| (1..=65535).contains(&n));
        if !ok {
            return Err(super::validation(format!(
                "Health check port '{p}' must be 'traffic-port' or a port between 1 and 65535"
            )));
        }
        hc.port = Some(p.to_owned());
    }
    if let Some(p) = input::str(input, "HealthCheckPath") {
        if !http_check {
            return Err(super::invalid_config(
                "Custom health check paths are not supported for health checks with the protocol 'TCP'",
            ));
        }
        if !p.starts_with('/') {
            return Err(super::validation(format!(
                "Health check path '{p}' must begin with a '/' character"
            )));
        }
        hc.path = Some(p.to_owned());
    }
    if let Some(n) = input::int(input, "HealthCheckIntervalSeconds") {
        hc.interval = n;
    }
    if let Some(n) = input::int(input, "HealthCheckTimeoutSeconds") {
        hc.timeout = n;
    }
    if let Some(n) = input::int(input, "HealthyThresholdCount") {
        hc.healthy_threshold = n;
    }
    if let Some(n) = input::int(input, "UnhealthyThresholdCount") {
        hc.unhealthy_threshold = n;
    }
    if let Some(e) = input::bool(input, "HealthCheckEnabled") {
        if !e && tg.target_type != "lambda" {
            return Err(super::invalid_config(format!(
                "Health checks cannot be disabled for target groups with target type '{}'",
                tg.target_type
            )));
        }
        hc.enabled = e;
    }
    if let Some(m) = input.get("Matcher") {
        let http = input::str(m, "HttpCode");
        let grpc = input::str(m, "GrpcCode");
        if !http_check {
            return Err(super::invalid_config(
                "Custom health check matchers are not supported for health checks with the protocol 'TCP'",
            ));
        }
        let is_grpc = tg.protocol_version.as_deref() == Some("GRPC");
        match (http, grpc) {
            (Some(_), Some(_)) | (None, None) => {
                return Err(super::validation(
                    "Specify either an HTTP code or a gRPC code for the health check matcher",
                ))
            }
            (Some(codes), None) => {
                if is_grpc {
                    return Err(super::validation(
                        "A gRPC target group needs a gRPC code matcher",
                    ));
                }
                let max = if tg.is_http() { 499 } else { 599 };
                check_http_codes(codes, 200, max)?;
                hc.matcher = Some(Matcher {
                    http_code: Some(codes.to_owned()),
                    grpc_code: None,
                });
            }
            (None, Some(codes)) => {
                if !is_grpc {
                    return Err(super::validation(
                        "gRPC code matchers are only supported for target groups with the protocol version 'GRPC'",
                    ));
                }
                check_grpc_codes(codes)?;
                hc.matcher = Some(Matcher {
                    http_code: None,
                    grpc_code: Some(codes.to_owned()),
                });
            }
        }
    }
    if hc.timeout >= hc.interval {
        return Err(super::invalid_config(format!(
            "Health check interval '{}' must be greater than the timeout '{}'",
            hc.interval, hc.timeout
        )));
    }
    Ok(())
}

/// AWS's default attributes for a new group, in the order AWS lists them.
fn default_attributes(protocol: Option<&str>, target_type: &str) -> Vec<Attribute> {
    let health = [
        (
            "target_group_health.dns_failover.minimum_healthy_targets.count",
            "1",
        ),
        (
            "target_group_health.dns_failover.minimum_healthy_targets.percentage",
            "off",
        ),
        (
            "target_group_health.unhealthy_state_routing.minimum_healthy_targets.count",
            "1",
        ),
        (
            "target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage",
            "off",
        ),
    ];
    match (target_type, protocol) {
        ("lambda", _) => super::attributes(&[("lambda.multi_value_headers.enabled", "false")]),
        (_, Some("HTTP" | "HTTPS")) => {
            let mut a = super::attributes(&[
                ("stickiness.enabled", "false"),
                ("deregistration_delay.timeout_seconds", "300"),
                ("stickiness.type", "lb_cookie"),
                ("stickiness.lb_cookie.duration_seconds", "86400"),
                ("slow_start.duration_seconds", "0"),
                ("stickiness.app_cookie.cookie_name", ""),
                ("stickiness.app_cookie.duration_seconds", "86400"),
                ("load_balancing.algorithm.type", "round_robin"),
                ("load_balancing.algorithm.anomaly_mitigation", "off"),
                (
                    "load_balancing.cross_zone.enabled",
                    "use_load_balancer_configuration",
                ),
            ]);
            a.extend(super::attributes(&health));
            a
        }
        (_, p) => {
            let udp = matches!(p, Some("UDP" | "TCP_UDP"));
            let preserve = !(target_type == "ip" && matches!(p, Some("TCP" | "TLS")));
            let mut a = super::attributes(&[
                ("proxy_protocol_v2.enabled", "false"),
                (
                    "preserve_client_ip.enabled",
                    if preserve { "true" } else { "false" },
                ),
                ("stickiness.enabled", "false"),
                ("deregistration_delay.timeout_seconds", "300"),
                ("stickiness.type", "source_ip"),
                (
                    "deregistration_delay.connection_termination.enabled",
                    if udp { "true" } else { "false" },
                ),
                (
                    "load_balancing.cross_zone.enabled",
                    "use_load_balancer_configuration",
                ),
                (
                    "target_health_state.unhealthy.connection_termination.enabled",
                    if udp { "false" } else { "true" },
                ),
                (
                    "target_health_state.unhealthy.draining_interval_seconds",
                    "0",
                ),
            ]);
            a.extend(super::attributes(&health));
            a
        }
    }
}

/// The settings a CreateTargetGroup call compares against an existing group of the same name.
fn same_settings(a: &TargetGroup, b: &TargetGroup) -> bool {
    a.protocol == b.protocol
        && a.port == b.port
        && a.vpc_id == b.vpc_id
        && a.target_type == b.target_type
        && a.protocol_version == b.protocol_version
        && a.health_check == b.health_check
}

pub fn create_target_group(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
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
        created: ctx.now,
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
    Ok(json!({"TargetGroups": [tg.json(&[])]}))
}

pub fn describe_target_groups(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
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
    let mut out: Vec<Arc<TargetGroup>> = Vec::new();
    if !arns.is_empty() {
        for a in &arns {
            let g = all.iter().find(|g| &g.arn == a).ok_or_else(not_found)?;
            if !out.iter().any(|x| x.arn == g.arn) {
                out.push(g.clone());
            }
        }
    } else if !names.is_empty() {
        for n in &names {
            let g = all
                .iter()
                .find(|g| g.name.eq_ignore_ascii_case(n))
                .ok_or_else(not_found)?;
            if !out.iter().any(|x| x.arn == g.arn) {
                out.push(g.clone());
            }
        }
    } else if let Some(lb) = lb_arn {
        out = all
            .into_iter()
            .filter(|g| used.get(&g.arn).is_some_and(|l| l.iter().any(|x| x == lb)))
            .collect();
    } else {
        out = all;
    }
    let (page, next) = super::paginate(out, input, |g| g.arn.clone())?;
    let groups: Vec<Value> = page
        .iter()
        .map(|g| g.json(used.get(&g.arn).map(Vec::as_slice).unwrap_or(&[])))
        .collect();
    Ok(super::with_marker(json!({"TargetGroups": groups}), next))
}

pub fn modify_target_group(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
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
    Ok(json!({"TargetGroups": [tg.json(&lbs)]}))
}

pub fn delete_target_group(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
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
    Ok(json!({}))
}

pub fn describe_attributes(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    let arn = input::req(input, "TargetGroupArn")?;
    let scope = ctx.scope();
    let tg = ctx.store.read(|v| get(v, &scope, arn))?;
    Ok(json!({"Attributes": super::attributes_json(&tg.attributes)}))
}

fn check_attribute(tg: &TargetGroup, key: &str, value: &str) -> ApiResult<()> {
    if tg.attribute(key).is_none() {
        return Err(super::validation(format!(
            "Target group attribute key '{key}' is not recognized"
        )));
    }
    let allowed = |opts: &[&str]| -> ApiResult<()> {
        if opts.contains(&value) {
            Ok(())
        } else {
            Err(super::validation(format!(
                "'{value}' is not a valid value for attribute '{key}': the value must be one of '{}'",
                opts.join(", ")
            )))
        }
    };
    let count_or_off = |hi: i64| -> ApiResult<()> {
        if value == "off" {
            Ok(())
        } else {
            super::check_range(key, value, 1, hi)
        }
    };
    match key {
        "deregistration_delay.timeout_seconds" => super::check_range(key, value, 0, 3600),
        "stickiness.lb_cookie.duration_seconds" | "stickiness.app_cookie.duration_seconds" => {
            super::check_range(key, value, 1, 604_800)
        }
        "slow_start.duration_seconds" => {
            if value == "0" {
                Ok(())
            } else {
                super::check_range(key, value, 30, 900)
            }
        }
        "stickiness.type" => {
            if tg.is_http() {
                allowed(&["lb_cookie", "app_cookie"])
            } else {
                allowed(&["source_ip"])
            }
        }
        "load_balancing.algorithm.type" => allowed(&[
            "round_robin",
            "least_outstanding_requests",
            "weighted_random",
        ]),
        "load_balancing.algorithm.anomaly_mitigation" => allowed(&["on", "off"]),
        "load_balancing.cross_zone.enabled" => {
            allowed(&["true", "false", "use_load_balancer_configuration"])
        }
        "target_group_health.dns_failover.minimum_healthy_targets.count" => {
            count_or_off(TARGET_QUOTA as i64)
        }
        "target_group_health.unhealthy_state_routing.minimum_healthy_targets.count" => {
            super::check_range(key, value, 1, TARGET_QUOTA as i64)
        }
        k if k.ends_with(".percentage") => count_or_off(100),
        "target_health_state.unhealthy.draining_interval_seconds" => {
            super::check_range(key, value, 0, 360_000)
        }
        "stickiness.app_cookie.cookie_name" => {
            let reserved = ["AWSALB", "AWSALBAPP", "AWSALBTG"];
            if reserved.iter().any(|r| value.starts_with(r)) {
                Err(super::validation(format!(
                    "Cookie name '{value}' is not valid: names starting with AWSALB, AWSALBAPP or AWSALBTG are reserved"
                )))
            } else {
                Ok(())
            }
        }
        k if k.ends_with(".enabled") => super::check_bool(key, value),
        _ => Ok(()),
    }
}

pub fn modify_attributes(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    let arn = input::req(input, "TargetGroupArn")?;
    let changes = super::attributes_input(input);
    let scope = ctx.scope();
    let tg = ctx.store.write(|tx| {
        let mut tg = (*get(tx, &scope, arn)?).clone();
        for (k, v) in &changes {
            check_attribute(&tg, k, v)?;
            super::set_attribute(&mut tg.attributes, k, v);
        }
        if tg.attribute("stickiness.enabled") == Some("true")
            && tg.attribute("stickiness.type") == Some("app_cookie")
            && tg.attribute("stickiness.app_cookie.cookie_name").unwrap_or("").is_empty()
        {
            return Err(super::invalid_config(
                "The attribute 'stickiness.app_cookie.cookie_name' must be specified for app_cookie stickiness",
            ));
        }
        tx.put(&scope, tg.clone())?;
        Ok::<_, ApiError>(tg)
    })?;
    Ok(json!({"Attributes": super::attributes_json(&tg.attributes)}))
}

/// One `Targets` entry of a request.
struct TargetIn {
    id: String,
    port: Option<i64>,
    az: Option<String>,
}

fn targets_in(input: &Value) -> Vec<TargetIn> {
    input::list(input, "Targets")
        .iter()
        .map(|t| TargetIn {
            id: input::str(t, "Id").unwrap_or("").to_owned(),
            port: input::int(t, "Port"),
            az: input::str(t, "AvailabilityZone").map(str::to_owned),
        })
        .collect()
}

/// Whether an address is in RFC 1918 or RFC 6598 space.
pub fn is_private_ip(ip: u32) -> bool {
    [
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
    ]
    .iter()
    .filter_map(|c| cidr::Cidr::parse(c))
    .any(|c| c.contains_ip(ip))
}

/// Checks a target for registration and finds its zone.
fn check_target(
    ctx: &Ctx<'_>,
    tx: &Tx<'_>,
    scope: &Scope,
    tg: &TargetGroup,
    t: &TargetIn,
) -> ApiResult<Option<String>> {
    let vpc_id = tg.vpc_id.as_deref().unwrap_or("");
    match tg.target_type.as_str() {
        "instance" => {
            if t.az.is_some() {
                return Err(super::validation(
                    "An Availability Zone cannot be specified for targets of type 'instance'",
                ));
            }
            if crate::ec2::common::check_id(&t.id, "i", "x").is_err() {
                return Err(super::validation(format!(
                    "Instance ID '{}' is not valid",
                    t.id
                )));
            }
            let Some(i) = tx.get::<instances::Instance>(scope, &t.id) else {
                return Err(ApiError::new(
                    "InvalidTarget",
                    format!("The following targets are not valid instances: '{}'", t.id),
                ));
            };
            if i.vpc_id != vpc_id {
                return Err(ApiError::new(
                    "InvalidTarget",
                    format!(
                        "The following targets are not in the target group VPC '{vpc_id}': '{}'",
                        t.id
                    ),
                ));
            }
            if !i.is_running(ctx.now, &|s| ctx.scaled(s)) {
                return Err(ApiError::new(
                    "InvalidTarget",
                    format!(
                        "The following targets are not in a running state and cannot be registered: '{}'",
                        t.id
                    ),
                ));
            }
            Ok(Some(i.az.clone()))
        }
        "ip" => {
            let Some(ip) = cidr::parse_ip(&t.id) else {
                return Err(super::validation(format!(
                    "The IP address '{}' is not a valid IPv4 address",
                    t.id
                )));
            };
            let subnet = tx
                .list::<vpc::Subnet>(scope)
                .into_iter()
                .find(|s| s.vpc_id == vpc_id && s.cidr().contains_ip(ip));
            match subnet {
                Some(s) => match t.az.as_deref() {
                    Some(az) if az != s.az => Err(super::validation(format!(
                        "The IP address '{}' is within the VPC, and cannot have its Availability Zone overridden to '{az}' from '{}'",
                        t.id, s.az
                    ))),
                    _ => Ok(Some(s.az.clone())),
                },
                None => {
                    if !is_private_ip(ip) {
                        return Err(ApiError::new(
                            "InvalidTarget",
                            format!(
                                "The IP address '{}' is not a valid target: it must be in a subnet of the VPC '{vpc_id}' or in a private range (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10)",
                                t.id
                            ),
                        ));
                    }
                    match t.az.as_deref() {
                        None => Err(super::validation(format!(
                            "The Availability Zone is required for IP address '{}' because it is not in the VPC",
                            t.id
                        ))),
                        Some("all") => Ok(None),
                        Some(az) if regions::zone_by_name(&ctx.region, az).is_some() => {
                            Ok(Some(az.to_owned()))
                        }
                        Some(az) => Err(super::validation(format!(
                            "The Availability Zone '{az}' is not valid"
                        ))),
                    }
                }
            }
        }
        "alb" => {
            let lb = tx
                .get::<LoadBalancer>(scope, &t.id)
                .filter(|l| l.is_application() && l.vpc_id == vpc_id);
            if lb.is_none() {
                return Err(ApiError::new(
                    "InvalidTarget",
                    format!(
                        "The target '{}' is not an Application Load Balancer in the VPC '{vpc_id}'",
                        t.id
                    ),
                ));
            }
            Ok(None)
        }
        _ => Err(ApiError::new(
            "InvalidTarget",
            format!(
                "Targets {{{}}} are not supported: Airlock does not emulate Lambda functions",
                t.id
            ),
        )),
    }
}

/// Drops registrations whose draining has finished.
fn prune(
    targets: &mut Targets,
    tg: &TargetGroup,
    now: OffsetDateTime,
    scale: &dyn Fn(f64) -> time::Duration,
) {
    let delay = scale(tg.deregistration_delay());
    targets
        .targets
        .retain(|r| r.deregistered_at.is_none_or(|d| now < d + delay));
}

fn load_targets(tx: &Tx<'_>, scope: &Scope, tg: &TargetGroup) -> Targets {
    tx.get::<Targets>(scope, &tg.arn)
        .map(|t| (*t).clone())
        .unwrap_or_else(|| Targets {
            target_group_arn: tg.arn.clone(),
            targets: Vec::new(),
        })
}

pub fn register_targets(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    let arn = input::req(input, "TargetGroupArn")?;
    let wanted = targets_in(input);
    let scope = ctx.scope();
    ctx.store.write(|tx| {
        let tg = get(tx, &scope, arn)?;
        let mut targets = load_targets(tx, &scope, &tg);
        prune(&mut targets, &tg, ctx.now, &|s| ctx.scaled(s));
        // A target group of type `alb` holds one load balancer.
        let others = targets
            .targets
            .iter()
            .any(|r| r.deregistered_at.is_none() && wanted.iter().all(|w| w.id != r.id));
        if tg.target_type == "alb" && (wanted.len() > 1 || others) {
            return Err(ApiError::new(
                "TooManyTargets",
                "A target group of type 'alb' can have only one target",
            ));
        }
        for t in &wanted {
            let zone = check_target(ctx, tx, &scope, &tg, t)?;
            let port = t.port.or(tg.port);
            match targets
                .targets
                .iter_mut()
                .find(|r| r.id == t.id && r.port == port)
            {
                // Registering again is a no-op, or takes a draining target back.
                Some(r) => {
                    if r.deregistered_at.is_some() {
                        r.deregistered_at = None;
                        r.registered_at = ctx.now;
                        r.health = None;
                    }
                }
                None => targets.targets.push(Registration {
                    id: t.id.clone(),
                    port,
                    availability_zone: t.az.clone(),
                    zone,
                    registered_at: ctx.now,
                    deregistered_at: None,
                    health: None,
                }),
            }
        }
        if targets.targets.len() > TARGET_QUOTA {
            return Err(ApiError::new(
                "TooManyTargets",
                format!("You have reached the maximum number of targets per target group ({TARGET_QUOTA})"),
            ));
        }
        tx.put(&scope, targets)?;
        Ok::<_, ApiError>(())
    })?;
    Ok(json!({}))
}

pub fn deregister_targets(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    let arn = input::req(input, "TargetGroupArn")?;
    let wanted = targets_in(input);
    let scope = ctx.scope();
    ctx.store.write(|tx| {
        let tg = get(tx, &scope, arn)?;
        let in_use = usage(tx, &scope).contains_key(&tg.arn);
        let mut targets = load_targets(tx, &scope, &tg);
        prune(&mut targets, &tg, ctx.now, &|s| ctx.scaled(s));
        for t in &wanted {
            let port = t.port.or(tg.port);
            let Some(pos) = targets
                .targets
                .iter()
                .position(|r| r.id == t.id && r.port == port && r.deregistered_at.is_none())
            else {
                return Err(ApiError::new(
                    "InvalidTarget",
                    format!(
                        "The following targets are not registered in target group '{arn}': '{}'",
                        t.id
                    ),
                ));
            };
            // Targets of a group that receives traffic drain first; others leave at once.
            if in_use && tg.deregistration_delay() > 0.0 {
                targets.targets[pos].deregistered_at = Some(ctx.now);
            } else {
                targets.targets.remove(pos);
            }
        }
        tx.put(&scope, targets)?;
        Ok::<_, ApiError>(())
    })?;
    Ok(json!({}))
}

/// `(state, reason, description)` as DescribeTargetHealth reports them.
pub type HealthReport = (String, Option<String>, Option<String>);

fn report(state: &str, reason: &str, description: &str) -> HealthReport {
    (
        state.to_owned(),
        Some(reason.to_owned()),
        Some(description.to_owned()),
    )
}

/// What AWS reports for `reg` of `tg` at `now`: `lbs` are the load balancers that forward to the
/// group, `instance` the target's instance (instance targets).
pub fn health_of(
    tg: &TargetGroup,
    reg: &Registration,
    lbs: &[Arc<LoadBalancer>],
    instance: Option<&instances::Instance>,
    now: OffsetDateTime,
    scale: &dyn Fn(f64) -> time::Duration,
) -> HealthReport {
    if reg.deregistered_at.is_some() {
        return report(
            "draining",
            "Target.DeregistrationInProgress",
            "Target deregistration is in progress",
        );
    }
    if lbs.is_empty() {
        return report(
            "unused",
            "Target.NotInUse",
            "Target group is not configured to receive traffic from the load balancer",
        );
    }
    if tg.target_type == "instance" {
        match instance {
            Some(i) if i.is_running(now, scale) => {}
            Some(i) => {
                return report(
                    "unused",
                    "Target.InvalidState",
                    &format!("Target is in the {} state", i.state(now, scale).name()),
                )
            }
            None => {
                return report(
                    "unused",
                    "Target.InvalidState",
                    "Target is in the terminated state",
                )
            }
        }
    }
    if let Some(z) = &reg.zone {
        if !lbs.iter().any(|l| l.zones.iter().any(|lz| &lz.az == z)) {
            return report(
                "unused",
                "Target.NotInUse",
                "Target is in an Availability Zone that is not enabled for the load balancer",
            );
        }
    }
    if !tg.health_check.enabled {
        return report(
            "unavailable",
            "Target.HealthCheckDisabled",
            "Health checks are not enabled for this target",
        );
    }
    match &reg.health {
        Some(h) if h.at >= reg.registered_at => {
            (h.state.clone(), h.reason.clone(), h.description.clone())
        }
        _ => report(
            "initial",
            "Elb.RegistrationInProgress",
            "Target registration is in progress",
        ),
    }
}

/// Records the health checker's verdict on target `id:port` of group `arn` (the data plane's
/// entry point). Returns whether the target is registered.
pub fn set_health(
    tx: &mut Tx<'_>,
    scope: &Scope,
    arn: &str,
    id: &str,
    port: Option<i64>,
    health: Health,
) -> ApiResult<bool> {
    let Some(t) = tx.get::<Targets>(scope, arn) else {
        return Ok(false);
    };
    let mut t = (*t).clone();
    let Some(r) = t
        .targets
        .iter_mut()
        .find(|r| r.id == id && r.port == port && r.deregistered_at.is_none())
    else {
        return Ok(false);
    };
    if r.health.as_ref() == Some(&health) {
        return Ok(true);
    }
    r.health = Some(health);
    tx.put(scope, t)?;
    Ok(true)
}

pub fn describe_target_health(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    let arn = input::req(input, "TargetGroupArn")?;
    let wanted = targets_in(input);
    let scope = ctx.scope();
    let scale = |s: f64| ctx.scaled(s);
    ctx.store.read(|v| {
        let tg = get(v, &scope, arn)?;
        let lb_arns = usage(v, &scope).remove(&tg.arn).unwrap_or_default();
        let lbs: Vec<Arc<LoadBalancer>> = lb_arns
            .iter()
            .filter_map(|a| v.get::<LoadBalancer>(&scope, a))
            .collect();
        let mut regs: Vec<Registration> = v
            .get::<Targets>(&scope, &tg.arn)
            .map(|t| t.targets.clone())
            .unwrap_or_default();
        let delay = ctx.scaled(tg.deregistration_delay());
        regs.retain(|r| r.deregistered_at.is_none_or(|d| ctx.now < d + delay));
        let describe = |r: &Registration| -> Value {
            let inst = (tg.target_type == "instance")
                .then(|| v.get::<instances::Instance>(&scope, &r.id))
                .flatten();
            let (state, reason, description) =
                health_of(&tg, r, &lbs, inst.as_deref(), ctx.now, &scale);
            let mut target = json!({"Id": r.id});
            if let Some(p) = r.port {
                target["Port"] = json!(p);
            }
            if tg.target_type == "ip" {
                if let Some(az) = r.availability_zone.as_ref().or(r.zone.as_ref()) {
                    target["AvailabilityZone"] = json!(az);
                }
            }
            let mut health = json!({"State": state});
            if let Some(x) = reason {
                health["Reason"] = json!(x);
            }
            if let Some(x) = description {
                health["Description"] = json!(x);
            }
            let mut d = json!({"Target": target, "TargetHealth": health});
            if let Some(p) = tg.health_check_port(r.port) {
                d["HealthCheckPort"] = json!(p);
            }
            d
        };
        let mut out = Vec::new();
        if wanted.is_empty() {
            out = regs.iter().map(describe).collect();
        } else {
            for w in &wanted {
                let found: Vec<&Registration> = regs
                    .iter()
                    .filter(|r| r.id == w.id && (w.port.is_none() || r.port == w.port))
                    .collect();
                if found.is_empty() {
                    let mut target = json!({"Id": w.id});
                    if let Some(p) = w.port.or(tg.port) {
                        target["Port"] = json!(p);
                    }
                    out.push(json!({
                        "Target": target,
                        "TargetHealth": {"State": "unused", "Reason": "Target.NotRegistered",
                                         "Description": "Target is not registered to the target group"},
                    }));
                } else {
                    out.extend(found.into_iter().map(describe));
                }
            }
        }
        Ok(json!({"TargetHealthDescriptions": out}))
    })
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
