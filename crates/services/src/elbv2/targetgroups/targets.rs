//! Target registrations: RegisterTargets and DeregisterTargets, and the checks a target must
//! pass.

use super::*;
use crate::ec2::subnet;
use crate::Clock;

/// One `Targets` entry of a request.
pub(super) struct TargetIn {
    pub(super) id: String,
    pub(super) port: Option<i64>,
    pub(super) az: Option<String>,
}

pub(super) fn targets_in(input: &Value) -> Vec<TargetIn> {
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
    tg: &TargetGroup,
    t: &TargetIn,
) -> ApiResult<Option<String>> {
    let scope = &ctx.scope();
    let vpc_id = tg.vpc_id.as_deref().unwrap_or("");
    match tg.target_type.as_str() {
        "instance" => {
            if t.az.is_some() {
                return Err(crate::elbv2::validation(
                    "An Availability Zone cannot be specified for targets of type 'instance'",
                ));
            }
            if crate::ec2::common::check_id(&t.id, "i", "x").is_err() {
                return Err(crate::elbv2::validation(format!(
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
            if !i.is_running(ctx.clock) {
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
                return Err(crate::elbv2::validation(format!(
                    "The IP address '{}' is not a valid IPv4 address",
                    t.id
                )));
            };
            let subnet = tx
                .list::<subnet::Subnet>(scope)
                .into_iter()
                .find(|s| s.vpc_id == vpc_id && s.cidr().is_some_and(|c| c.contains_ip(ip)));
            match subnet {
                Some(s) => match t.az.as_deref() {
                    Some(az) if az != s.az => Err(crate::elbv2::validation(format!(
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
                        None => Err(crate::elbv2::validation(format!(
                            "The Availability Zone is required for IP address '{}' because it is not in the VPC",
                            t.id
                        ))),
                        Some("all") => Ok(None),
                        Some(az) if regions::zone_by_name(&ctx.region, az).is_some() => {
                            Ok(Some(az.to_owned()))
                        }
                        Some(az) => Err(crate::elbv2::validation(format!(
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
fn prune(targets: &mut Targets, tg: &TargetGroup, clock: Clock) {
    targets.targets.retain(|r| !tg.drained(r, clock));
}

fn load_targets(tx: &Tx<'_>, scope: &Scope, tg: &TargetGroup) -> Targets {
    tx.get::<Targets>(scope, &tg.arn)
        .map(|t| (*t).clone())
        .unwrap_or_else(|| Targets {
            target_group_arn: tg.arn.clone(),
            targets: Vec::new(),
        })
}

pub fn register_targets(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let arn = input::req(input, "TargetGroupArn")?;
    let wanted = targets_in(input);
    let scope = ctx.scope();
    ctx.store.write(|tx| {
        let tg = get(tx, &scope, arn)?;
        let mut targets = load_targets(tx, &scope, &tg);
        prune(&mut targets, &tg, ctx.clock);
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
            let zone = check_target(ctx, tx, &tg, t)?;
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
                        r.registered_at = ctx.clock.now();
                        r.health = None;
                    }
                }
                None => targets.targets.push(Registration {
                    id: t.id.clone(),
                    port,
                    availability_zone: t.az.clone(),
                    zone,
                    registered_at: ctx.clock.now(),
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
    Ok(Output::new(dto::RegisterTargetsOutput {}))
}

pub fn deregister_targets(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let arn = input::req(input, "TargetGroupArn")?;
    let wanted = targets_in(input);
    let scope = ctx.scope();
    ctx.store.write(|tx| {
        let tg = get(tx, &scope, arn)?;
        let in_use = usage(tx, &scope).contains_key(&tg.arn);
        let mut targets = load_targets(tx, &scope, &tg);
        prune(&mut targets, &tg, ctx.clock);
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
                targets.targets[pos].deregistered_at = Some(ctx.clock.now());
            } else {
                targets.targets.remove(pos);
            }
        }
        tx.put(&scope, targets)?;
        Ok::<_, ApiError>(())
    })?;
    Ok(Output::new(dto::DeregisterTargetsOutput {}))
}
