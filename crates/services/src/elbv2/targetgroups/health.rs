//! Health checks: matcher syntax, a group's health-check settings, and the health
//! DescribeTargetHealth reports (derived at read time from the checker's verdicts).

use super::*;
use crate::Clock;

/// Checks an HTTP code matcher: a comma-separated list of codes and `lo-hi` ranges within
/// `min..=max`.
pub fn check_http_codes(codes: &str, min: u16, max: u16) -> ApiResult<()> {
    let bad = || {
        crate::elbv2::validation(format!(
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
                return Err(crate::elbv2::validation(format!(
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
        Err(crate::elbv2::validation(format!(
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
pub(super) fn default_health_check(
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
pub(super) fn apply_health_check(
    tg: &TargetGroup,
    hc: &mut HealthCheck,
    input: &Value,
) -> ApiResult<()> {
    if let Some(p) = input::str(input, "HealthCheckProtocol") {
        if !matches!(p, "HTTP" | "HTTPS" | "TCP") {
            return Err(crate::elbv2::validation(format!(
                "Health check protocol '{p}' is not supported"
            )));
        }
        if tg.is_http() && p == "TCP" && tg.target_type != "lambda" {
            return Err(crate::elbv2::invalid_config(format!(
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
            return Err(crate::elbv2::validation(format!(
                "Health check port '{p}' must be 'traffic-port' or a port between 1 and 65535"
            )));
        }
        hc.port = Some(p.to_owned());
    }
    if let Some(p) = input::str(input, "HealthCheckPath") {
        if !http_check {
            return Err(crate::elbv2::invalid_config(
                "Custom health check paths are not supported for health checks with the protocol 'TCP'",
            ));
        }
        if !p.starts_with('/') {
            return Err(crate::elbv2::validation(format!(
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
            return Err(crate::elbv2::invalid_config(format!(
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
            return Err(crate::elbv2::invalid_config(
                "Custom health check matchers are not supported for health checks with the protocol 'TCP'",
            ));
        }
        let is_grpc = tg.protocol_version.as_deref() == Some("GRPC");
        match (http, grpc) {
            (Some(_), Some(_)) | (None, None) => {
                return Err(crate::elbv2::validation(
                    "Specify either an HTTP code or a gRPC code for the health check matcher",
                ))
            }
            (Some(codes), None) => {
                if is_grpc {
                    return Err(crate::elbv2::validation(
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
                    return Err(crate::elbv2::validation(
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
        return Err(crate::elbv2::invalid_config(format!(
            "Health check interval '{}' must be greater than the timeout '{}'",
            hc.interval, hc.timeout
        )));
    }
    Ok(())
}

/// AWS's default attributes for a new group, in the order AWS lists them.
/// `(state, reason, description)` as DescribeTargetHealth reports them.
pub type HealthReport = (String, Option<String>, Option<String>);

fn report(state: &str, reason: &str, description: &str) -> HealthReport {
    (
        state.to_owned(),
        Some(reason.to_owned()),
        Some(description.to_owned()),
    )
}

/// What AWS reports for `reg` of `tg` at the clock's time: `lbs` are the load balancers that forward to the
/// group, `instance` the target's instance (instance targets).
pub fn health_of(
    tg: &TargetGroup,
    reg: &Registration,
    lbs: &[Arc<LoadBalancer>],
    instance: Option<&instances::Instance>,
    clock: Clock,
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
            Some(i) if i.is_running(clock) => {}
            Some(i) => {
                return report(
                    "unused",
                    "Target.InvalidState",
                    &format!("Target is in the {} state", i.state(clock).name()),
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

pub fn describe_target_health(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let arn = input::req(input, "TargetGroupArn")?;
    let wanted = targets_in(input);
    let scope = ctx.scope();
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
        regs.retain(|r| !tg.drained(r, ctx.clock));
        // AWS names the port it would check, registered or not.
        let described = |id: &str, port, zone, (state, reason, description): HealthReport| {
            dto::TargetHealthDescription {
                health_check_port: tg.health_check_port(port),
                target: Some(dto::TargetDescription {
                    availability_zone: zone,
                    id: Some(id.to_owned()),
                    port,
                    ..Default::default()
                }),
                target_health: Some(dto::TargetHealth {
                    description,
                    reason,
                    state: Some(state),
                }),
                ..Default::default()
            }
        };
        let describe = |r: &Registration| {
            let inst = (tg.target_type == "instance")
                .then(|| v.get::<instances::Instance>(&scope, &r.id))
                .flatten();
            let report = health_of(&tg, r, &lbs, inst.as_deref(), ctx.clock);
            let zone = (tg.target_type == "ip")
                .then(|| r.availability_zone.clone().or(r.zone.clone()))
                .flatten();
            described(&r.id, r.port, zone, report)
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
                    let unused = report(
                        "unused",
                        "Target.NotRegistered",
                        "Target is not registered to the target group",
                    );
                    out.push(described(&w.id, w.port.or(tg.port), None, unused));
                } else {
                    out.extend(found.into_iter().map(describe));
                }
            }
        }
        Ok(Output::new(dto::DescribeTargetHealthOutput {
            target_health_descriptions: Some(out),
        }))
    })
}
