//! An endpoint's target networks: AssociateClientVpnTargetNetwork (a subnet per Availability
//! Zone, an interface in it with the endpoint's security groups and a public address, the
//! route to the VPC), DisassociateClientVpnTargetNetwork, DescribeClientVpnTargetNetworks and
//! ApplySecurityGroupsToClientVpnTargetNetwork.

use super::rules::Route;
use super::{edit, get, groups_in, invalid, ClientVpnEndpoint};
use crate::ec2::cidr::Cidr;
use crate::ec2::common::{self, one, Field, Filterable};
use crate::ec2::{eni, nat, subnet, vpc};
use crate::input::{self, typed};
use crate::{ids, Clock, Ctx};
use airlock_dto::ec2 as dto;
use airlock_protocol::{ApiError, ApiResult, Output};
use airlock_store::{Scope, Tx};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

/// How long AWS takes to associate a target network (it is minutes; Terraform first looks
/// after four).
pub const ASSOCIATE_SECS: f64 = 300.0;
/// How long a disassociated target network is shown `disassociating`.
pub const DISASSOCIATE_SECS: f64 = 60.0;
/// The description AWS gives the interfaces of a target network.
pub const INTERFACE_DESCRIPTION: &str = "ClientVPN Endpoint resource";

/// A subnet associated with an endpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Association {
    /// `cvpn-assoc-` and 17 hex digits.
    pub id: String,
    pub subnet_id: String,
    pub vpc_id: String,
    pub az: String,
    /// The interface in the subnet that client traffic leaves from (source NAT).
    pub eni_id: String,
    /// The public address clients connect to (what the endpoint's DNS name answers).
    pub public_ip: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    /// When it was disassociated.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub removed: Option<OffsetDateTime>,
    pub client_token: Option<String>,
}

impl Association {
    /// `associating`, `associated`, or `disassociating`.
    pub fn status(&self, clock: Clock) -> &'static str {
        if self.removed.is_some() {
            "disassociating"
        } else if clock.passed(self.created, ASSOCIATE_SECS) {
            "associated"
        } else {
            "associating"
        }
    }

    pub fn removing(&self) -> bool {
        self.removed.is_some()
    }

    /// Whether its disassociation is over (it is no longer shown).
    pub fn gone(&self, clock: Clock) -> bool {
        self.removed
            .is_some_and(|r| clock.passed(r, DISASSOCIATE_SECS))
    }
}

/// A target network as DescribeClientVpnTargetNetworks shows it.
struct Shown<'a> {
    e: &'a ClientVpnEndpoint,
    a: &'a Association,
    clock: Clock,
}

impl Filterable for Shown<'_> {
    fn field(&self, name: &str) -> Field {
        match name {
            "association-id" => one(&self.a.id),
            "target-network-id" => one(&self.a.subnet_id),
            "vpc-id" => one(&self.a.vpc_id),
            _ => None,
        }
    }
}

impl Shown<'_> {
    fn out(&self) -> dto::TargetNetwork {
        dto::TargetNetwork {
            association_id: Some(self.a.id.clone()),
            vpc_id: Some(self.a.vpc_id.clone()),
            target_network_id: Some(self.a.subnet_id.clone()),
            client_vpn_endpoint_id: Some(self.e.id.clone()),
            status: Some(dto::AssociationStatus {
                code: Some(self.a.status(self.clock).into()),
                message: None,
            }),
            security_groups: Some(self.e.security_group_ids.clone()),
            ..Default::default()
        }
    }
}

/// Sets the endpoint's VPC and security groups, and the groups of its interfaces.
pub fn set_groups(
    tx: &mut Tx<'_>,
    scope: &Scope,
    e: &mut ClientVpnEndpoint,
    vpc_id: &str,
    groups: Vec<String>,
) -> ApiResult<()> {
    e.vpc_id = Some(vpc_id.to_owned());
    for a in e.associations.iter().filter(|a| !a.removing()) {
        if let Some(n) = tx.get::<eni::NetworkInterface>(scope, &a.eni_id) {
            let mut n = (*n).clone();
            n.groups = groups.clone();
            tx.put(scope, n)?;
        }
    }
    e.security_group_ids = groups;
    Ok(())
}

fn association_not_found(id: &str) -> ApiError {
    ApiError::new(
        "InvalidClientVpnAssociationIdNotFound",
        format!("Association {id} does not exist"),
    )
}

pub fn associate_client_vpn_target_network(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::AssociateClientVpnTargetNetworkRequest = typed(input)?;
    let subnet_id = input::given(&req.subnet_id, "SubnetId")?;
    let scope = ctx.scope();
    let a = edit(ctx, &req.client_vpn_endpoint_id, |tx, e| {
        if let Some(token) = &req.client_token {
            if let Some(a) = e
                .associations
                .iter()
                .find(|a| a.client_token.as_ref() == Some(token))
            {
                return Ok(a.clone());
            }
        }
        let subnet = subnet::get_subnet(tx, &scope, subnet_id)?;
        if let Some(v) = e.vpc_id.as_deref().filter(|v| *v != subnet.vpc_id) {
            return Err(invalid(format!(
                "Subnet {subnet_id} is not in VPC {v}, the VPC of the Client VPN endpoint. To associate a subnet in another VPC, modify the endpoint's VPC first."
            )));
        }
        let live = || e.associations.iter().filter(|a| !a.removing());
        if live().any(|a| a.subnet_id == subnet_id) {
            return Err(ApiError::new(
                "InvalidClientVpnDuplicateAssociationException",
                format!("Subnet {subnet_id} is already associated with the Client VPN endpoint"),
            ));
        }
        if live().any(|a| a.az == subnet.az) {
            return Err(ApiError::new(
                "InvalidClientVpnSubnetId.DuplicateAz",
                format!(
                    "You have already associated a subnet from Availability Zone {} with the Client VPN endpoint",
                    subnet.az
                ),
            ));
        }
        if subnet.cidr().is_none_or(|c| c.prefix > 27) {
            return Err(invalid(format!(
                "Subnet {subnet_id} is too small: a target network's CIDR block must be at least /27"
            )));
        }
        let network = vpc::get_vpc(tx, &scope, &subnet.vpc_id)?;
        let client = Cidr::parse(&e.client_cidr).expect("stored CIDRs are valid");
        if let Some(block) = network.ipv4_cidrs().find(|b| client.overlaps(b)) {
            return Err(ApiError::new(
                "InvalidClientVpnSubnetId.OverlappingCidr",
                format!(
                    "The client CIDR range {} overlaps with the CIDR range {block} of VPC {}",
                    e.client_cidr, network.id
                ),
            ));
        }
        // The first target network sets the endpoint's VPC (and, if it has none, the VPC's
        // default security group).
        if e.vpc_id.is_none() {
            let groups = groups_in(tx, &scope, &subnet.vpc_id, &e.security_group_ids)?;
            set_groups(tx, &scope, e, &subnet.vpc_id, groups)?;
        }
        let nic = eni::create_in(
            ctx,
            tx,
            eni::Spec {
                subnet: &subnet,
                requested_ip: None,
                description: INTERFACE_DESCRIPTION.into(),
                groups: e.security_group_ids.clone(),
                interface_type: "interface",
                requester_managed: true,
                requester_id: None,
                status: "in-use",
                tags: Vec::new(),
            },
        )?;
        let a = Association {
            id: ids::resource_id("cvpn-assoc"),
            subnet_id: subnet.id.clone(),
            vpc_id: subnet.vpc_id.clone(),
            az: subnet.az.clone(),
            public_ip: nat::take_public_ip(tx, &e.id)?,
            eni_id: nic.id,
            created: ctx.clock.now(),
            removed: None,
            client_token: req.client_token.clone(),
        };
        // AWS adds the route to the VPC through each target network.
        e.routes.push(Route::through_association(
            &network.cidr,
            &subnet.id,
            ctx.clock.now(),
        ));
        e.associations.push(a.clone());
        Ok(a)
    })?;
    Ok(Output::new(dto::AssociateClientVpnTargetNetworkResult {
        association_id: Some(a.id.clone()),
        status: Some(dto::AssociationStatus {
            code: Some(a.status(ctx.clock).into()),
            message: None,
        }),
    }))
}

pub fn disassociate_client_vpn_target_network(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::DisassociateClientVpnTargetNetworkRequest = typed(input)?;
    let scope = ctx.scope();
    edit(ctx, &req.client_vpn_endpoint_id, |tx, e| {
        let Some(a) = e
            .associations
            .iter_mut()
            .find(|a| a.id == req.association_id && !a.removing())
        else {
            return Err(association_not_found(&req.association_id));
        };
        a.removed = Some(ctx.clock.now());
        tx.delete::<eni::NetworkInterface>(&scope, &a.eni_id);
        nat::release_public_ip(tx, &a.public_ip);
        let subnet = a.subnet_id.clone();
        // Its routes go with it (the route to the VPC, and those added through it).
        e.routes.retain(|r| r.target_subnet != subnet);
        Ok(())
    })?;
    Ok(Output::new(dto::DisassociateClientVpnTargetNetworkResult {
        association_id: Some(req.association_id.clone()),
        status: Some(dto::AssociationStatus {
            code: Some("disassociating".into()),
            message: None,
        }),
    }))
}

pub fn describe_client_vpn_target_networks(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::DescribeClientVpnTargetNetworksRequest = typed(input)?;
    let ids = req.association_ids.unwrap_or_default();
    let filters = common::filters(input);
    let scope = ctx.scope();
    let e = ctx
        .store
        .read(|v| get(v, &scope, &req.client_vpn_endpoint_id))?;
    let mut kept = Vec::new();
    for a in e.associations.iter().filter(|a| !a.gone(ctx.clock)) {
        let shown = Shown {
            e: &e,
            a,
            clock: ctx.clock,
        };
        if (ids.is_empty() || ids.contains(&a.id)) && common::matches(&shown, &filters)? {
            kept.push(shown.out());
        }
    }
    let (page, next) = common::paginate(kept, input, (5, 1000), false, |t| {
        t.association_id.clone().unwrap_or_default()
    })?;
    Ok(Output::new(dto::DescribeClientVpnTargetNetworksResult {
        client_vpn_target_networks: Some(page),
        next_token: next,
    }))
}

pub fn apply_security_groups(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::ApplySecurityGroupsToClientVpnTargetNetworkRequest = typed(input)?;
    let scope = ctx.scope();
    let groups = edit(ctx, &req.client_vpn_endpoint_id, |tx, e| {
        if !e.associations.iter().any(|a| !a.removing()) {
            return Err(ApiError::new(
                "InvalidClientVpnActiveAssociationNotFound",
                "You cannot perform this action on the Client VPN endpoint while it is in the pending-association state.",
            ));
        }
        if e.vpc_id.as_deref() != Some(req.vpc_id.as_str()) {
            vpc::get_vpc(tx, &scope, &req.vpc_id)?;
            return Err(invalid(format!(
                "VPC {} is not the VPC of the Client VPN endpoint's target networks",
                req.vpc_id
            )));
        }
        if req.security_group_ids.is_empty() {
            return Err(ApiError::missing_parameter(
                "The request must contain the parameter SecurityGroupId",
            ));
        }
        let groups = groups_in(tx, &scope, &req.vpc_id, &req.security_group_ids)?;
        set_groups(tx, &scope, e, &req.vpc_id, groups.clone())?;
        Ok(groups)
    })?;
    Ok(Output::new(
        dto::ApplySecurityGroupsToClientVpnTargetNetworkResult {
            security_group_ids: Some(groups),
        },
    ))
}
