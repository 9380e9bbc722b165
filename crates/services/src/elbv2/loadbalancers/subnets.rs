//! SetSubnets and SetIpAddressType: the Availability Zones a load balancer serves and its
//! address type after creation.
//!
//! A zone whose subnet stays keeps its node (interface and addresses); a new subnet gets a node
//! made as CreateLoadBalancer makes one; a node whose subnet is left out is removed and its
//! public address given back.

use super::{get, ip_address_type, mappings, open_zone, release_zones, subnets_of, LbZone, ZoneOf};
use crate::{input, Ctx};
use airlock_dto::elbv2 as dto;
use airlock_protocol::{ApiError, ApiResult, Output};
use serde_json::Value;

pub fn set_subnets(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let arn = input::req(input, "LoadBalancerArn")?;
    let maps = mappings(input)?;
    ip_address_type(input)?;
    let scope = ctx.scope();
    let lb = ctx.store.write(|tx| {
        let mut lb = (*get(tx, &scope, arn)?).clone();
        let application = lb.is_application();
        if maps.is_empty() {
            return Err(if application {
                super::super::invalid_config(
                    "At least two subnets in two different Availability Zones must be specified",
                )
            } else {
                super::super::validation("At least one subnet must be specified")
            });
        }
        if application
            && maps
                .iter()
                .any(|m| m.allocation_id.is_some() || m.private_ip.is_some())
        {
            return Err(super::super::invalid_config(
                "Application Load Balancers do not support Elastic IP addresses or private IPv4 addresses in subnet mappings",
            ));
        }
        let subnets = subnets_of(tx, &scope, &maps, application)?;
        if subnets[0].vpc_id != lb.vpc_id {
            return Err(ApiError::new(
                "InvalidSubnet",
                format!(
                    "The specified subnets must belong to the load balancer's VPC '{}'",
                    lb.vpc_id
                ),
            ));
        }
        let path = lb.path().to_owned();
        let of = ZoneOf {
            path: &path,
            application,
            scheme: &lb.scheme,
            groups: &lb.security_groups,
        };
        let mut zones: Vec<LbZone> = Vec::new();
        for (m, subnet) in maps.iter().zip(&subnets) {
            match lb.zones.iter().find(|z| z.subnet_id == subnet.id) {
                Some(kept) => zones.push(kept.clone()),
                None => zones.push(open_zone(ctx, tx, &scope, &of, m, subnet)?),
            }
        }
        let gone: Vec<LbZone> = lb
            .zones
            .iter()
            .filter(|z| !zones.iter().any(|k| k.subnet_id == z.subnet_id))
            .cloned()
            .collect();
        release_zones(tx, &scope, &gone)?;
        lb.zones = zones;
        tx.put(&scope, lb.clone())?;
        Ok::<_, ApiError>(lb)
    })?;
    Ok(Output::new(dto::SetSubnetsOutput {
        availability_zones: Some(lb.zones_out()),
        ip_address_type: Some(lb.ip_address_type.clone()),
        ..Default::default()
    }))
}

pub fn set_ip_address_type(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let arn = input::req(input, "LoadBalancerArn")?;
    let wanted = ip_address_type(input)?;
    let scope = ctx.scope();
    let lb = ctx.store.write(|tx| {
        let mut lb = (*get(tx, &scope, arn)?).clone();
        if let Some(t) = wanted {
            lb.ip_address_type = t;
            tx.put(&scope, lb.clone())?;
        }
        Ok::<_, ApiError>(lb)
    })?;
    Ok(Output::new(dto::SetIpAddressTypeOutput {
        ip_address_type: Some(lb.ip_address_type.clone()),
    }))
}
