//! What is done to an existing network interface besides ModifyNetworkInterfaceAttribute:
//! secondary private addresses (Assign/UnassignPrivateIpAddresses), attaching it to an instance
//! and detaching it (Attach/DetachNetworkInterface), and DescribeNetworkInterfaceAttribute.
//!
//! Secondary addresses are held (no other interface gets them) and shown; the fabric serves an
//! interface at its primary address. An attached interface is in-use and shows in the
//! instance's `NetworkInterfaces`; the instance's primary interface (device index 0) stays.

use super::eni::{self, Attachment, NetworkInterface};
use super::instances::{self, Instance};
use super::{cidr, common, sg, subnet};
use crate::input::{self, typed};
use crate::{ids, Ctx};
use airlock_dto::ec2 as dto;
use airlock_protocol::{ApiError, ApiResult, Output};
use airlock_store::{Scope, Tx};
use serde_json::Value;

/// Secondary addresses one interface may hold (AWS's limit varies by instance type; this is the
/// smallest types' limit).
const SECONDARY_QUOTA: usize = 49;

fn own(tx: &Tx<'_>, scope: &Scope, id: &str) -> ApiResult<NetworkInterface> {
    let e = eni::get(tx, scope, id)?;
    if e.requester_managed {
        return Err(ApiError::new(
            "AuthFailure",
            "You do not have permission to access the specified resource.",
        ));
    }
    Ok((*e).clone())
}

pub fn assign_private_ip_addresses(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::AssignPrivateIpAddressesRequest = typed(input)?;
    let wanted = req.private_ip_addresses.clone().unwrap_or_default();
    let count = req.secondary_private_ip_address_count.unwrap_or(0);
    if req.ipv4_prefixes.is_some() || req.ipv4_prefix_count.is_some() {
        return Err(ApiError::new(
            "Unsupported",
            "Airlock does not emulate IPv4 prefix delegation.",
        ));
    }
    if wanted.is_empty() == (count <= 0) {
        return Err(ApiError::new(
            "InvalidParameterCombination",
            "Specify either private IP addresses or a secondary private IP address count.",
        ));
    }
    let scope = ctx.scope();
    let assigned = ctx.store.write(|tx| {
        let mut e = own(tx, &scope, &req.network_interface_id)?;
        let subnet = subnet::get_subnet(tx, &scope, &e.subnet_id)?;
        let ips = eni::allocate_many(tx, &scope, &subnet, &wanted, count.max(0) as usize)?;
        if e.secondary_ips.len() + ips.len() > SECONDARY_QUOTA {
            return Err(ApiError::new(
                "PrivateIpAddressLimitExceeded",
                format!(
                    "Number of private addresses will exceed limit of {} for interface.",
                    SECONDARY_QUOTA + 1
                ),
            ));
        }
        e.secondary_ips.extend(&ips);
        tx.put(&scope, e)?;
        Ok::<_, ApiError>(ips)
    })?;
    Ok(Output::new(dto::AssignPrivateIpAddressesResult {
        assigned_ipv4_prefixes: Some(Vec::new()),
        assigned_private_ip_addresses: Some(
            assigned
                .into_iter()
                .map(|ip| dto::AssignedPrivateIpAddress {
                    private_ip_address: Some(cidr::ip_str(ip)),
                })
                .collect(),
        ),
        network_interface_id: Some(req.network_interface_id),
    }))
}

pub fn unassign_private_ip_addresses(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::UnassignPrivateIpAddressesRequest = typed(input)?;
    let doomed = req.private_ip_addresses.clone().unwrap_or_default();
    if doomed.is_empty() {
        return Err(ApiError::missing_parameter(
            "The request must contain the parameter privateIpAddress",
        ));
    }
    let scope = ctx.scope();
    ctx.store.write(|tx| {
        let mut e = own(tx, &scope, &req.network_interface_id)?;
        for raw in &doomed {
            let ip = cidr::parse_ip(raw).ok_or_else(|| {
                ApiError::invalid_parameter_value(format!("Invalid IPv4 address: {raw}"))
            })?;
            if ip == e.private_ip {
                return Err(ApiError::invalid_parameter_value(format!(
                    "The primary private IP address {raw} cannot be unassigned."
                )));
            }
            let before = e.secondary_ips.len();
            e.secondary_ips.retain(|s| *s != ip);
            if e.secondary_ips.len() == before {
                return Err(ApiError::new(
                    "InvalidParameterValue",
                    format!(
                        "Some of the specified addresses are not assigned to interface {}",
                        e.id
                    ),
                ));
            }
        }
        tx.put(&scope, e)?;
        Ok::<_, ApiError>(())
    })?;
    Ok(Output::new(serde_json::json!({})))
}

pub fn attach_network_interface(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::AttachNetworkInterfaceRequest = typed(input)?;
    if req.device_index < 1 {
        return Err(ApiError::invalid_parameter_value(format!(
            "Instance '{}' already has an interface attached at device index '{}'.",
            req.instance_id, req.device_index
        )));
    }
    let scope = ctx.scope();
    let attachment = ctx.store.write(|tx| {
        let mut e = own(tx, &scope, &req.network_interface_id)?;
        let i = instance(ctx, tx, &scope, &req.instance_id)?;
        if e.attachment.is_some() || e.status == "in-use" {
            return Err(ApiError::new(
                "InvalidNetworkInterface.InUse",
                format!("Interface: [{}] in use.", e.id),
            ));
        }
        if e.az != i.az {
            return Err(ApiError::invalid_parameter_value(format!(
                "The network interface '{}' and the instance '{}' are not in the same availability zone.",
                e.id, i.id
            )));
        }
        if e.vpc_id != i.vpc_id {
            return Err(ApiError::invalid_parameter_value(format!(
                "The network interface '{}' and the instance '{}' belong to different networks.",
                e.id, i.id
            )));
        }
        let taken = tx
            .list_in::<NetworkInterface>(&scope, &i.vpc_id)
            .iter()
            .any(|o| {
                o.attachment.as_ref().is_some_and(|a| {
                    a.instance_id == i.id && a.device_index == req.device_index
                })
            });
        if taken {
            return Err(ApiError::invalid_parameter_value(format!(
                "Instance '{}' already has an interface attached at device index '{}'.",
                i.id, req.device_index
            )));
        }
        let a = Attachment {
            id: ids::resource_id("eni-attach"),
            instance_id: i.id.clone(),
            instance_owner: i.owner.clone(),
            device_index: req.device_index,
            attach_time: crate::iso(ctx.clock.now()),
            delete_on_termination: false,
            status: "attached".into(),
        };
        e.attachment = Some(a.clone());
        e.status = "in-use".into();
        tx.put(&scope, e)?;
        Ok::<_, ApiError>(a)
    })?;
    Ok(Output::new(dto::AttachNetworkInterfaceResult {
        attachment_id: Some(attachment.id),
        network_card_index: Some(0),
    }))
}

/// The instance an attachment request names, not terminated.
fn instance(ctx: &Ctx<'_>, tx: &Tx<'_>, scope: &Scope, id: &str) -> ApiResult<Instance> {
    common::check_id(id, "i", "InvalidInstanceID.Malformed")?;
    tx.get::<Instance>(scope, id)
        .filter(|i| i.state(ctx.clock) != instances::State::Terminated)
        .map(|i| (*i).clone())
        .ok_or_else(|| common::not_found("InvalidInstanceID.NotFound", "instance", id))
}

pub fn detach_network_interface(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::DetachNetworkInterfaceRequest = typed(input)?;
    let id = req.attachment_id.as_str();
    let scope = ctx.scope();
    ctx.store.write(|tx| {
        let e = tx
            .list::<NetworkInterface>(&scope)
            .into_iter()
            .find(|e| e.attachment.as_ref().is_some_and(|a| a.id == id))
            .ok_or_else(|| common::not_found("InvalidAttachmentID.NotFound", "attachment", id))?;
        if e.attachment.as_ref().is_some_and(|a| a.device_index == 0) {
            return Err(ApiError::new(
                "OperationNotPermitted",
                "The network interface at device index 0 cannot be detached.",
            ));
        }
        let mut e = (*e).clone();
        e.attachment = None;
        e.status = "available".into();
        tx.put(&scope, e)?;
        Ok::<_, ApiError>(())
    })?;
    Ok(Output::new(serde_json::json!({})))
}

pub fn describe_network_interface_attribute(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::DescribeNetworkInterfaceAttributeRequest = typed(input)?;
    let scope = ctx.scope();
    let (e, groups) = ctx.store.read(|v| {
        (
            v.get::<NetworkInterface>(&scope, &req.network_interface_id),
            v.list::<sg::SecurityGroup>(&scope),
        )
    });
    let e = e.ok_or_else(|| {
        common::not_found(
            "InvalidNetworkInterfaceID.NotFound",
            "network interface",
            &req.network_interface_id,
        )
    })?;
    let mut out = dto::DescribeNetworkInterfaceAttributeResult {
        network_interface_id: Some(e.id.clone()),
        ..Default::default()
    };
    match req.attribute.as_deref() {
        Some("description") => {
            out.description = Some(dto::AttributeValue {
                value: Some(e.description.clone()),
            })
        }
        Some("groupSet") => {
            out.groups = Some(
                e.groups
                    .iter()
                    .map(|g| dto::GroupIdentifier {
                        group_id: Some(g.clone()),
                        group_name: groups.iter().find(|x| &x.id == g).map(|x| x.name.clone()),
                    })
                    .collect(),
            )
        }
        Some("sourceDestCheck") => {
            out.source_dest_check = Some(dto::AttributeBooleanValue {
                value: Some(e.source_dest_check()),
            })
        }
        Some("attachment") => {
            out.attachment = e
                .attachment
                .as_ref()
                .map(|a| dto::NetworkInterfaceAttachment {
                    attach_time: Some(a.attach_time.clone()),
                    attachment_id: Some(a.id.clone()),
                    delete_on_termination: Some(a.delete_on_termination),
                    device_index: Some(a.device_index),
                    instance_id: Some(a.instance_id.clone()),
                    instance_owner_id: Some(a.instance_owner.clone()),
                    network_card_index: Some(0),
                    status: Some(a.status.clone()),
                    ..Default::default()
                })
        }
        Some("associatePublicIpAddress") => {
            out.associate_public_ip_address = Some(e.public_ip.is_some())
        }
        Some(other) => {
            return Err(ApiError::invalid_parameter_value(format!(
                "Value ({other}) for parameter attribute is invalid. Unknown attribute."
            )))
        }
        None => {
            return Err(ApiError::missing_parameter(
                "The request must contain the parameter attribute",
            ))
        }
    }
    Ok(Output::new(out))
}
