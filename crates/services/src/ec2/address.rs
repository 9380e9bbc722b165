//! AssociateAddress and DisassociateAddress: an Elastic IP on an instance's primary interface or
//! on a network interface. The interface then answers at the address through the fabric (a
//! bastion's SSH, a load balancer's listeners) and DNS gives its public name. And the address's
//! one attribute, its reverse DNS name (Describe/Modify/ResetAddressAttribute): AWS checks it
//! against a forward record in Route 53, which Airlock does not have, so any name is taken.

use super::instances::Instance;
use super::nat::{self, Address};
use super::{common, eni, igw};
use crate::input::{self, typed};
use crate::Ctx;
use airlock_dto::ec2 as dto;
use airlock_protocol::{ApiError, ApiResult, Output};
use airlock_store::{Scope, Tx};
use serde_json::Value;
use std::sync::Arc;

fn address_by_ip(tx: &Tx<'_>, scope: &Scope, ip: &str) -> ApiResult<Arc<Address>> {
    tx.list::<Address>(scope)
        .into_iter()
        .find(|a| a.public_ip == ip)
        .ok_or_else(|| {
            ApiError::new(
                "InvalidAddress.NotFound",
                format!("Address '{ip}' not found."),
            )
        })
}

fn address_by_id(tx: &Tx<'_>, scope: &Scope, id: &str) -> ApiResult<Arc<Address>> {
    tx.get::<Address>(scope, id)
        .ok_or_else(|| common::not_found("InvalidAllocationID.NotFound", "allocation", id))
}

/// Takes address `a` off the interface it is on (if any). A running instance that launched with
/// an automatic public address gets a new one, as on AWS.
fn detach(ctx: &Ctx<'_>, tx: &mut Tx<'_>, scope: &Scope, a: &Address) -> ApiResult<()> {
    let Some((_, eni_id, _)) = &a.association else {
        return Ok(());
    };
    if let Some(e) = tx.get::<eni::NetworkInterface>(scope, eni_id) {
        let mut e = (*e).clone();
        e.public_ip = None;
        e.allocation_id = None;
        e.association_id = None;
        let instance = e
            .attachment
            .as_ref()
            .and_then(|att| tx.get::<Instance>(scope, &att.instance_id));
        if let Some(i) = instance.filter(|i| i.assign_public_ip && i.is_running(ctx.clock)) {
            let ip = nat::take_public_ip(tx, ctx.account())?;
            e.public_ip = Some(ip.clone());
            let mut i = (*i).clone();
            i.public_ip = Some(ip);
            tx.put(scope, i)?;
        }
        tx.put(scope, e)?;
    }
    let mut a = a.clone();
    a.association = None;
    a.vpc_id = None;
    tx.put(scope, a)?;
    Ok(())
}

pub fn associate_address(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::AssociateAddressRequest = typed(input)?;
    let scope = ctx.scope();
    let association = ctx.store.write(|tx| {
        let a = match (&req.allocation_id, &req.public_ip) {
            (Some(id), _) => address_by_id(tx, &scope, id)?,
            (None, Some(ip)) => address_by_ip(tx, &scope, ip)?,
            (None, None) => {
                return Err(ApiError::missing_parameter(
                    "Either public IP or allocation id must be specified",
                ))
            }
        };
        let eni_id = match (&req.instance_id, &req.network_interface_id) {
            (Some(_), Some(_)) => {
                return Err(ApiError::new(
                    "InvalidParameterCombination",
                    "You may specify either an instance ID or a network interface ID, not both.",
                ))
            }
            (Some(id), None) => {
                let i = tx
                    .get::<Instance>(&scope, id)
                    .filter(|i| !i.is_expired(ctx.clock))
                    .ok_or_else(|| {
                        common::not_found("InvalidInstanceID.NotFound", "instance", id)
                    })?;
                if !matches!(
                    i.state(ctx.clock),
                    super::instances::State::Running
                        | super::instances::State::Pending
                        | super::instances::State::Stopped
                ) {
                    return Err(ApiError::new(
                        "IncorrectInstanceState",
                        format!("The instance '{id}' is not in a valid state for this operation."),
                    ));
                }
                i.eni_id.clone()
            }
            (None, Some(id)) => id.clone(),
            (None, None) => {
                return Err(ApiError::missing_parameter(
                    "Either an instance ID or a network interface ID must be specified",
                ))
            }
        };
        let e = tx
            .get::<eni::NetworkInterface>(&scope, &eni_id)
            .ok_or_else(|| {
                common::not_found(
                    "InvalidNetworkInterfaceID.NotFound",
                    "networkInterface",
                    &eni_id,
                )
            })?;
        if let Some(ip) = &req.private_ip_address {
            if *ip != e.ip() {
                return Err(ApiError::invalid_parameter_value(format!(
                    "The private IP address {ip} is not assigned to the network interface {eni_id}."
                )));
            }
        }
        let has_gateway = tx
            .list::<igw::InternetGateway>(&scope)
            .iter()
            .any(|g| g.attached_to(&e.vpc_id));
        if !has_gateway {
            return Err(ApiError::new(
                "Gateway.NotAttached",
                format!(
                    "Network {} is not attached to any internet gateway",
                    e.vpc_id
                ),
            ));
        }
        if let Some((assoc, current, _)) = &a.association {
            if *current == e.id {
                return Ok(assoc.clone());
            }
            let held_by_service = tx
                .get::<eni::NetworkInterface>(&scope, current)
                .is_some_and(|c| c.requester_managed);
            if held_by_service || req.allow_reassociation == Some(false) {
                return Err(ApiError::new(
                    "Resource.AlreadyAssociated",
                    format!(
                        "resource {} is already associated with associate-id {assoc}",
                        a.allocation_id
                    ),
                ));
            }
            detach(ctx, tx, &scope, &a)?;
        }
        // The interface's current public address (an automatic one, or another Elastic IP) goes.
        let mut e = (*tx
            .get::<eni::NetworkInterface>(&scope, &eni_id)
            .expect("read above"))
        .clone();
        if let Some(other) = e.allocation_id.clone() {
            let other = address_by_id(tx, &scope, &other)?;
            detach(ctx, tx, &scope, &other)?;
            e = (*tx
                .get::<eni::NetworkInterface>(&scope, &eni_id)
                .expect("read above"))
            .clone();
        }
        if let Some(att) = &e.attachment {
            if let Some(i) = tx.get::<Instance>(&scope, &att.instance_id) {
                if let Some(ip) = &i.public_ip {
                    nat::release_public_ip(tx, ip);
                    let mut i = (*i).clone();
                    i.public_ip = None;
                    tx.put(&scope, i)?;
                }
            }
        }
        let mut a = (*address_by_id(tx, &scope, &a.allocation_id)?).clone();
        let assoc = nat::bind(&mut a, &mut e);
        tx.put(&scope, e)?;
        tx.put(&scope, a)?;
        Ok(assoc)
    })?;
    Ok(Output::new(dto::AssociateAddressResult {
        association_id: Some(association),
    }))
}

pub fn disassociate_address(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::DisassociateAddressRequest = typed(input)?;
    let scope = ctx.scope();
    ctx.store.write(|tx| {
        let a = match (&req.association_id, &req.public_ip) {
            (Some(id), _) => tx
                .list::<Address>(&scope)
                .into_iter()
                .find(|a| a.association.as_ref().is_some_and(|(x, _, _)| x == id))
                .ok_or_else(|| {
                    common::not_found("InvalidAssociationID.NotFound", "association", id)
                })?,
            (None, Some(ip)) => address_by_ip(tx, &scope, ip)?,
            (None, None) => {
                return Err(ApiError::missing_parameter(
                    "Either public IP or association id must be specified",
                ))
            }
        };
        let held_by_service = a.association.as_ref().is_some_and(|(_, eni_id, _)| {
            tx.get::<eni::NetworkInterface>(&scope, eni_id)
                .is_some_and(|e| e.requester_managed)
        });
        if held_by_service {
            return Err(ApiError::new(
                "AuthFailure",
                "You do not have permission to access the specified resource.",
            ));
        }
        detach(ctx, tx, &scope, &a)
    })?;
    Ok(Output::new(serde_json::json!({})))
}

/// The `domain-name` attribute of an address as the Describe/Modify/Reset answers show it.
fn attribute(a: &Address, update: Option<dto::PtrUpdateStatus>) -> dto::AddressAttribute {
    dto::AddressAttribute {
        allocation_id: Some(a.allocation_id.clone()),
        ptr_record: a.ptr_record.clone(),
        ptr_record_update: update,
        public_ip: Some(a.public_ip.clone()),
    }
}

pub fn describe_addresses_attribute(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::DescribeAddressesAttributeRequest = typed(input)?;
    if let Some(a) = req.attribute.as_deref().filter(|a| *a != "domain-name") {
        return Err(ApiError::invalid_parameter_value(format!(
            "Value ({a}) for parameter attribute is invalid."
        )));
    }
    let ids = req.allocation_ids.unwrap_or_default();
    let scope = ctx.scope();
    let mut all = ctx.store.read(|v| v.list::<Address>(&scope));
    all.sort_by(|a, b| a.allocation_id.cmp(&b.allocation_id));
    if let Some(id) = ids
        .iter()
        .find(|id| !all.iter().any(|a| &&a.allocation_id == id))
    {
        return Err(common::not_found(
            "InvalidAllocationID.NotFound",
            "allocation",
            id,
        ));
    }
    let kept: Vec<Arc<Address>> = all
        .into_iter()
        .filter(|a| ids.is_empty() || ids.contains(&a.allocation_id))
        .collect();
    let (page, next) =
        common::paginate(kept, input, (1, 1000), false, |a| a.allocation_id.clone())?;
    Ok(Output::new(dto::DescribeAddressesAttributeResult {
        addresses: Some(page.iter().map(|a| attribute(a, None)).collect()),
        next_token: next,
    }))
}

/// Sets (`Some`) or removes the address's reverse DNS name; the answer shows the update as
/// AWS does, pending.
fn set_ptr(ctx: &Ctx<'_>, id: &str, name: Option<String>) -> ApiResult<dto::AddressAttribute> {
    let scope = ctx.scope();
    ctx.store.write(|tx| {
        let mut a = (*address_by_id(tx, &scope, id)?).clone();
        let before = a.clone();
        a.ptr_record = name.clone();
        tx.put(&scope, a)?;
        Ok(attribute(
            &before,
            Some(dto::PtrUpdateStatus {
                reason: None,
                status: Some("PENDING".into()),
                value: name,
            }),
        ))
    })
}

pub fn modify_address_attribute(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::ModifyAddressAttributeRequest = typed(input)?;
    let Some(name) = req.domain_name.filter(|n| !n.is_empty()) else {
        return Err(ApiError::missing_parameter(
            "The request must contain the parameter domainName",
        ));
    };
    // AWS keeps the name fully qualified.
    let name = if name.ends_with('.') {
        name
    } else {
        format!("{name}.")
    };
    let address = set_ptr(ctx, &req.allocation_id, Some(name))?;
    Ok(Output::new(dto::ModifyAddressAttributeResult {
        address: Some(address),
    }))
}

pub fn reset_address_attribute(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::ResetAddressAttributeRequest = typed(input)?;
    if req.attribute != "domain-name" {
        return Err(ApiError::invalid_parameter_value(format!(
            "Value ({}) for parameter attribute is invalid.",
            req.attribute
        )));
    }
    let address = set_ptr(ctx, &req.allocation_id, None)?;
    Ok(Output::new(dto::ResetAddressAttributeResult {
        address: Some(address),
    }))
}

#[cfg(test)]
mod tests {
    use crate::auth::test_support::{ctx_as, ec2 as call, root_principal, store, vpc_with_subnet};
    use crate::{Config, Ctx};
    use serde_json::{json, Value};

    fn public_ip(ctx: &Ctx<'_>, id: &str) -> Value {
        call(ctx, "DescribeInstances", json!({"InstanceIds": [id]})).unwrap()["Reservations"][0]
            ["Instances"][0]["PublicIpAddress"]
            .clone()
    }

    /// An Elastic IP replaces a running instance's automatic address, moves to another
    /// instance on re-association (unless refused), and gives way to a new automatic address
    /// when it is taken off.
    #[test]
    fn elastic_ips_move_between_instances() {
        let store = store();
        let config = Config {
            time_scale: 0.0,
            ..Config::default()
        };
        let ctx = ctx_as(&store, &config, root_principal("123456789012"));
        let launch = || {
            call(
                &ctx,
                "RunInstances",
                json!({"ImageId": "ami-0123456789abcdef0"}),
            )
            .unwrap()["Instances"][0]["InstanceId"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        let (a, b) = (launch(), launch());
        let automatic = public_ip(&ctx, &a);
        assert!(
            automatic.is_string(),
            "default subnets assign public addresses"
        );
        let eip = call(&ctx, "AllocateAddress", json!({"Domain": "vpc"})).unwrap();
        let (alloc, ip) = (eip["AllocationId"].clone(), eip["PublicIp"].clone());
        let assoc = call(
            &ctx,
            "AssociateAddress",
            json!({"AllocationId": alloc, "InstanceId": a}),
        )
        .unwrap()["AssociationId"]
            .clone();
        assert!(assoc.as_str().unwrap().starts_with("eipassoc-"));
        assert_eq!(public_ip(&ctx, &a), ip);
        let described = call(&ctx, "DescribeAddresses", json!({"AllocationIds": [alloc]})).unwrap();
        assert_eq!(described["Addresses"][0]["InstanceId"], a.as_str());
        assert_eq!(described["Addresses"][0]["AssociationId"], assoc);

        let refused = call(
            &ctx,
            "AssociateAddress",
            json!({"AllocationId": alloc, "InstanceId": b, "AllowReassociation": false}),
        )
        .unwrap_err();
        assert_eq!(refused.code, "Resource.AlreadyAssociated");
        call(
            &ctx,
            "AssociateAddress",
            json!({"AllocationId": alloc, "InstanceId": b}),
        )
        .unwrap();
        assert_eq!(public_ip(&ctx, &b), ip);
        assert!(
            public_ip(&ctx, &a).is_string(),
            "a got an automatic address back"
        );
        assert_ne!(public_ip(&ctx, &a), ip);

        let assoc = call(&ctx, "DescribeAddresses", json!({"AllocationIds": [alloc]})).unwrap()
            ["Addresses"][0]["AssociationId"]
            .clone();
        call(&ctx, "DisassociateAddress", json!({"AssociationId": assoc})).unwrap();
        assert_ne!(public_ip(&ctx, &b), ip);
        let gone = call(&ctx, "DisassociateAddress", json!({"AssociationId": assoc})).unwrap_err();
        assert_eq!(gone.code, "InvalidAssociationID.NotFound");
        call(&ctx, "ReleaseAddress", json!({"AllocationId": alloc})).unwrap();
    }

    /// A VPC without an internet gateway cannot take an Elastic IP.
    #[test]
    fn a_private_vpc_has_no_elastic_ips() {
        let store = store();
        let config = Config::default();
        let ctx = ctx_as(&store, &config, root_principal("123456789012"));
        let (_, subnet_id) = vpc_with_subnet(&ctx, "10.0.0.0/16", "10.0.1.0/24");
        let eni = call(
            &ctx,
            "CreateNetworkInterface",
            json!({"SubnetId": subnet_id}),
        )
        .unwrap();
        let alloc = call(&ctx, "AllocateAddress", json!({})).unwrap()["AllocationId"].clone();
        let e = call(
            &ctx,
            "AssociateAddress",
            json!({"AllocationId": alloc,
                   "NetworkInterfaceId": eni["NetworkInterface"]["NetworkInterfaceId"]}),
        )
        .unwrap_err();
        assert_eq!(e.code, "Gateway.NotAttached");
    }
}
