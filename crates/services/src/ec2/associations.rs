//! Route table associations: subnets and (edge associations) internet gateways with a table of
//! their VPC, moved between tables and ended.

use super::routes::{get, Association, RouteTable};
use super::{common, subnet};
use crate::{ids, input, Ctx};
use airlock_protocol::{ApiError, ApiResult};
use airlock_store::{Scope, Tx};
use serde_json::{json, Value};

/// Associates a subnet, or (an edge association) an internet gateway attached to the table's
/// VPC, with a route table. A subnet or gateway has at most one table.
pub fn associate_route_table(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    input::dry_run(input)?;
    let id = input::req(input, "RouteTableId")?;
    let subnet_id = input::str(input, "SubnetId");
    let gateway_id = input::str(input, "GatewayId");
    let scope = ctx.scope();
    let assoc = ctx.store.write(|tx| {
        let mut t = (*get(tx, &scope, id)?).clone();
        let (subnet_id, gateway_id) = match (subnet_id, gateway_id) {
            (Some(s), None) => {
                let subnet = subnet::get_subnet(tx, &scope, s)?;
                if subnet.vpc_id != t.vpc_id {
                    return Err(ApiError::invalid_parameter_value(format!(
                        "Route table {id} and subnet {s} belong to different networks"
                    )));
                }
                (Some(s), None)
            }
            (None, Some(g)) => {
                gateway_of(tx, &scope, g, &t.vpc_id)?;
                (None, Some(g))
            }
            (None, None) => {
                return Err(ApiError::new(
                    "MissingParameter",
                    "The request must contain the parameter subnetId or gatewayId",
                ))
            }
            (Some(_), Some(_)) => {
                return Err(ApiError::new(
                    "InvalidParameterCombination",
                    "Only one of subnetId and gatewayId may be specified",
                ))
            }
        };
        let taken = tx.list::<RouteTable>(&scope).into_iter().find(|o| {
            o.associations.iter().any(|a| {
                (subnet_id.is_some() && a.subnet_id.as_deref() == subnet_id)
                    || (gateway_id.is_some() && a.gateway_id.as_deref() == gateway_id)
            })
        });
        if let Some(o) = taken {
            return Err(ApiError::new(
                "Resource.AlreadyAssociated",
                format!(
                    "the specified association for route table {} conflicts with an existing association",
                    o.id
                ),
            ));
        }
        let a = Association {
            id: ids::resource_id("rtbassoc"),
            subnet_id: subnet_id.map(str::to_owned),
            gateway_id: gateway_id.map(str::to_owned),
            main: false,
        };
        t.associations.push(a.clone());
        tx.put(&scope, t)?;
        Ok::<_, ApiError>(a)
    })?;
    Ok(json!({"AssociationId": assoc.id, "AssociationState": {"State": "associated"}}))
}

/// The gateway of an edge association: an internet gateway attached to `vpc_id` (virtual
/// private gateways are not emulated, so none exists).
fn gateway_of(tx: &Tx<'_>, scope: &Scope, id: &str, vpc_id: &str) -> ApiResult<()> {
    if id.starts_with("vgw-") {
        return Err(common::not_found(
            "InvalidVpnGatewayID.NotFound",
            "vpnGateway",
            id,
        ));
    }
    if !id.starts_with("igw-") {
        return Err(ApiError::invalid_parameter_value(format!(
            "Invalid value '{id}' for gatewayId: an internet gateway or virtual private gateway"
        )));
    }
    let g = super::igw::get(tx, scope, id)?;
    if !g.attached_to(vpc_id) {
        return Err(ApiError::new(
            "Gateway.NotAttached",
            format!("resource {id} is not attached to network {vpc_id}"),
        ));
    }
    Ok(())
}

/// The table that holds association `assoc`.
fn table_of_association(
    tx: &Tx<'_>,
    scope: &Scope,
    assoc: &str,
) -> ApiResult<std::sync::Arc<RouteTable>> {
    tx.list::<RouteTable>(scope)
        .into_iter()
        .find(|t| t.associations.iter().any(|a| a.id == assoc))
        .ok_or_else(|| common::not_found("InvalidAssociationID.NotFound", "association", assoc))
}

/// Moves a subnet's association (or the VPC's main one) to another table of the VPC: a new
/// association id, as AWS gives.
pub fn replace_route_table_association(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    input::dry_run(input)?;
    let assoc = input::req(input, "AssociationId")?;
    let target = input::req(input, "RouteTableId")?;
    let scope = ctx.scope();
    let new = ctx.store.write(|tx| {
        let mut to = (*get(tx, &scope, target)?).clone();
        let from = table_of_association(tx, &scope, assoc)?;
        if from.vpc_id != to.vpc_id {
            return Err(ApiError::invalid_parameter_value(format!(
                "Route table {target} and association {assoc} belong to different networks"
            )));
        }
        let old = from
            .associations
            .iter()
            .find(|a| a.id == assoc)
            .cloned()
            .unwrap_or_else(|| unreachable!("found by this association"));
        let a = Association {
            id: ids::resource_id("rtbassoc"),
            subnet_id: old.subnet_id.clone(),
            gateway_id: old.gateway_id.clone(),
            main: old.main,
        };
        if from.id == to.id {
            to.associations.retain(|x| x.id != assoc);
        } else {
            let mut from = (*from).clone();
            from.associations.retain(|x| x.id != assoc);
            tx.put(&scope, from)?;
        }
        to.associations.push(a.clone());
        tx.put(&scope, to)?;
        Ok::<_, ApiError>(a)
    })?;
    Ok(json!({"NewAssociationId": new.id, "AssociationState": {"State": "associated"}}))
}

pub fn disassociate_route_table(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    input::dry_run(input)?;
    let assoc = input::req(input, "AssociationId")?;
    let scope = ctx.scope();
    ctx.store.write(|tx| {
        let t = table_of_association(tx, &scope, assoc)?;
        let mut t = (*t).clone();
        if t.associations.iter().any(|a| a.id == assoc && a.main) {
            return Err(ApiError::invalid_parameter_value(format!(
                "cannot disassociate the main route table association {assoc}"
            )));
        }
        t.associations.retain(|a| a.id != assoc);
        tx.put(&scope, t)?;
        Ok::<_, ApiError>(())
    })?;
    Ok(json!({}))
}
