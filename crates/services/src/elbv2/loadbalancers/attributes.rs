//! A load balancer's attributes: AWS's defaults, DescribeLoadBalancerAttributes and
//! ModifyLoadBalancerAttributes with their per-type checks.

use super::*;
use crate::elbv2::attributes_out;
use crate::elbv2::Attribute;
use crate::{input, Ctx};
use airlock_dto::elbv2 as dto;
use airlock_protocol::{ApiError, ApiResult, Output};
use serde_json::Value;

/// AWS's default attributes of a new load balancer, in the order AWS lists them.
pub(super) fn default_attributes(lb_type: &str, scheme: &str) -> Vec<Attribute> {
    if lb_type == "network" {
        crate::elbv2::attributes(&[
            ("access_logs.s3.enabled", "false"),
            ("access_logs.s3.bucket", ""),
            ("access_logs.s3.prefix", ""),
            ("deletion_protection.enabled", "false"),
            ("load_balancing.cross_zone.enabled", "false"),
            (
                "ipv6.deny_all_igw_traffic",
                if scheme == "internal" {
                    "true"
                } else {
                    "false"
                },
            ),
            ("dns_record.client_routing_policy", "any_availability_zone"),
            ("zonal_shift.config.enabled", "false"),
            ("secondary_ips.auto_assigned.per_subnet", "0"),
        ])
    } else {
        crate::elbv2::attributes(&[
            ("access_logs.s3.enabled", "false"),
            ("access_logs.s3.bucket", ""),
            ("access_logs.s3.prefix", ""),
            ("idle_timeout.timeout_seconds", "60"),
            ("deletion_protection.enabled", "false"),
            ("routing.http2.enabled", "true"),
            ("routing.http.drop_invalid_header_fields.enabled", "false"),
            ("routing.http.xff_client_port.enabled", "false"),
            ("routing.http.preserve_host_header.enabled", "false"),
            ("routing.http.xff_header_processing.mode", "append"),
            ("load_balancing.cross_zone.enabled", "true"),
            ("routing.http.desync_mitigation_mode", "defensive"),
            ("client_keep_alive.seconds", "3600"),
            ("waf.fail_open.enabled", "false"),
            (
                "routing.http.x_amzn_tls_version_and_cipher_suite.enabled",
                "false",
            ),
            ("zonal_shift.config.enabled", "false"),
            ("connection_logs.s3.enabled", "false"),
            ("connection_logs.s3.bucket", ""),
            ("connection_logs.s3.prefix", ""),
        ])
    }
}

pub fn describe_attributes(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let arn = input::req(input, "LoadBalancerArn")?;
    let scope = ctx.scope();
    let lb = ctx.store.read(|v| get(v, &scope, arn))?;
    Ok(Output::new(dto::DescribeLoadBalancerAttributesOutput {
        attributes: Some(attributes_out!(LoadBalancerAttribute, lb.attributes)),
    }))
}

/// Checks one attribute change against what AWS accepts for the load balancer's type.
fn check_attribute(lb: &LoadBalancer, key: &str, value: &str) -> ApiResult<()> {
    let known = lb.attributes.iter().any(|a| a.key == key)
        || (lb.is_application()
            && matches!(
                key,
                "health_check_logs.s3.enabled"
                    | "health_check_logs.s3.bucket"
                    | "health_check_logs.s3.prefix"
                    | "routing.http.x_amzn_tls_kx.enabled"
            ));
    if !known {
        return Err(crate::elbv2::validation(format!(
            "Load balancer attribute key '{key}' is not recognized"
        )));
    }
    match key {
        k if k.ends_with(".enabled") => crate::elbv2::check_bool(key, value),
        "idle_timeout.timeout_seconds" => crate::elbv2::check_range(key, value, 1, 4000),
        "client_keep_alive.seconds" => crate::elbv2::check_range(key, value, 60, 604_800),
        "secondary_ips.auto_assigned.per_subnet" => crate::elbv2::check_range(key, value, 0, 7),
        "routing.http.desync_mitigation_mode" => {
            one_of(key, value, &["monitor", "defensive", "strictest"])
        }
        "routing.http.xff_header_processing.mode" => {
            one_of(key, value, &["append", "preserve", "remove"])
        }
        "dns_record.client_routing_policy" => one_of(
            key,
            value,
            &[
                "availability_zone_affinity",
                "partial_availability_zone_affinity",
                "any_availability_zone",
            ],
        ),
        _ => Ok(()),
    }
}

fn one_of(key: &str, value: &str, allowed: &[&str]) -> ApiResult<()> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(crate::elbv2::validation(format!(
            "'{value}' is not a valid value for attribute '{key}': the value must be one of '{}'",
            allowed.join(", ")
        )))
    }
}

pub fn modify_attributes(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let arn = input::req(input, "LoadBalancerArn")?;
    let changes = crate::elbv2::attributes_input(input);
    let scope = ctx.scope();
    let lb = ctx.store.write(|tx| {
        let mut lb = (*get(tx, &scope, arn)?).clone();
        for (k, v) in &changes {
            check_attribute(&lb, k, v)?;
            if lb.is_application() && k == "load_balancing.cross_zone.enabled" && v != "true" {
                return Err(crate::elbv2::invalid_config(
                    "Cross-zone load balancing cannot be disabled for Application Load Balancers",
                ));
            }
            crate::elbv2::set_attribute(&mut lb.attributes, k, v);
        }
        for prefix in [
            "access_logs.s3",
            "connection_logs.s3",
            "health_check_logs.s3",
        ] {
            let on = lb.attribute(&format!("{prefix}.enabled")) == Some("true");
            let bucket = lb.attribute(&format!("{prefix}.bucket")).unwrap_or("");
            if on && bucket.is_empty() {
                return Err(crate::elbv2::invalid_config(format!(
                    "The value of '{prefix}.bucket' cannot be empty when '{prefix}.enabled' is true"
                )));
            }
        }
        tx.put(&scope, lb.clone())?;
        Ok::<_, ApiError>(lb)
    })?;
    Ok(Output::new(dto::ModifyLoadBalancerAttributesOutput {
        attributes: Some(attributes_out!(LoadBalancerAttribute, lb.attributes)),
    }))
}
