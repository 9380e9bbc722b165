//! Target group attributes: their defaults per protocol and target type, and the checks of
//! ModifyTargetGroupAttributes.

use super::*;
use crate::elbv2::attributes_out;

pub(super) fn default_attributes(protocol: Option<&str>, target_type: &str) -> Vec<Attribute> {
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
        ("lambda", _) => {
            crate::elbv2::attributes(&[("lambda.multi_value_headers.enabled", "false")])
        }
        (_, Some("HTTP" | "HTTPS")) => {
            let mut a = crate::elbv2::attributes(&[
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
            a.extend(crate::elbv2::attributes(&health));
            a
        }
        (_, p) => {
            let udp = matches!(p, Some("UDP" | "TCP_UDP"));
            let preserve = !(target_type == "ip" && matches!(p, Some("TCP" | "TLS")));
            let mut a = crate::elbv2::attributes(&[
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
            a.extend(crate::elbv2::attributes(&health));
            a
        }
    }
}

/// The settings a CreateTargetGroup call compares against an existing group of the same name.
pub fn describe_attributes(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let arn = input::req(input, "TargetGroupArn")?;
    let scope = ctx.scope();
    let tg = ctx.store.read(|v| get(v, &scope, arn))?;
    Ok(Output::new(dto::DescribeTargetGroupAttributesOutput {
        attributes: Some(attributes_out!(TargetGroupAttribute, tg.attributes)),
    }))
}

fn check_attribute(tg: &TargetGroup, key: &str, value: &str) -> ApiResult<()> {
    if tg.attribute(key).is_none() {
        return Err(crate::elbv2::validation(format!(
            "Target group attribute key '{key}' is not recognized"
        )));
    }
    let allowed = |opts: &[&str]| -> ApiResult<()> {
        if opts.contains(&value) {
            Ok(())
        } else {
            Err(crate::elbv2::validation(format!(
                "'{value}' is not a valid value for attribute '{key}': the value must be one of '{}'",
                opts.join(", ")
            )))
        }
    };
    let count_or_off = |hi: i64| -> ApiResult<()> {
        if value == "off" {
            Ok(())
        } else {
            crate::elbv2::check_range(key, value, 1, hi)
        }
    };
    match key {
        "deregistration_delay.timeout_seconds" => crate::elbv2::check_range(key, value, 0, 3600),
        "stickiness.lb_cookie.duration_seconds" | "stickiness.app_cookie.duration_seconds" => {
            crate::elbv2::check_range(key, value, 1, 604_800)
        }
        "slow_start.duration_seconds" => {
            if value == "0" {
                Ok(())
            } else {
                crate::elbv2::check_range(key, value, 30, 900)
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
            crate::elbv2::check_range(key, value, 1, TARGET_QUOTA as i64)
        }
        k if k.ends_with(".percentage") => count_or_off(100),
        "target_health_state.unhealthy.draining_interval_seconds" => {
            crate::elbv2::check_range(key, value, 0, 360_000)
        }
        "stickiness.app_cookie.cookie_name" => {
            let reserved = ["AWSALB", "AWSALBAPP", "AWSALBTG"];
            if reserved.iter().any(|r| value.starts_with(r)) {
                Err(crate::elbv2::validation(format!(
                    "Cookie name '{value}' is not valid: names starting with AWSALB, AWSALBAPP or AWSALBTG are reserved"
                )))
            } else {
                Ok(())
            }
        }
        k if k.ends_with(".enabled") => crate::elbv2::check_bool(key, value),
        _ => Ok(()),
    }
}

pub fn modify_attributes(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let arn = input::req(input, "TargetGroupArn")?;
    let changes = crate::elbv2::attributes_input(input);
    let scope = ctx.scope();
    let tg = ctx.store.write(|tx| {
        let mut tg = (*get(tx, &scope, arn)?).clone();
        for (k, v) in &changes {
            check_attribute(&tg, k, v)?;
            crate::elbv2::set_attribute(&mut tg.attributes, k, v);
        }
        if tg.attribute("stickiness.enabled") == Some("true")
            && tg.attribute("stickiness.type") == Some("app_cookie")
            && tg.attribute("stickiness.app_cookie.cookie_name").unwrap_or("").is_empty()
        {
            return Err(crate::elbv2::invalid_config(
                "The attribute 'stickiness.app_cookie.cookie_name' must be specified for app_cookie stickiness",
            ));
        }
        tx.put(&scope, tg.clone())?;
        Ok::<_, ApiError>(tg)
    })?;
    Ok(Output::new(dto::ModifyTargetGroupAttributesOutput {
        attributes: Some(attributes_out!(TargetGroupAttribute, tg.attributes)),
    }))
}
