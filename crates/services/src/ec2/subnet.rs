//! Subnets: a VPC's blocks divided by Availability Zone, the launch settings of what is made in
//! them (ModifySubnetAttribute), and their IPv6 blocks ([`super::ipv6`]); an IPv6-only subnet
//! has no IPv4 block.

use super::cidr::Cidr;
use super::common::{self, flag, one, Field, Filterable, Tag};
use super::vpc::get_vpc;
use super::{eni, ipv6, regions, routes, vpc_cidr};
use crate::input::{self, typed};
use crate::{ids, Ctx};
use airlock_dto::ec2 as dto;
use airlock_protocol::{ApiError, ApiResult, Output};
use airlock_store::{Scope, Tx};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Subnet {
    pub id: String,
    pub vpc_id: String,
    /// Its IPv4 block; empty in an IPv6-only subnet.
    pub cidr: String,
    pub az: String,
    pub az_id: String,
    pub owner: String,
    pub region: String,
    pub default_for_az: bool,
    pub map_public_ip_on_launch: bool,
    pub tags: Vec<Tag>,
    /// The launch settings ModifySubnetAttribute changes (besides `map_public_ip_on_launch`).
    #[serde(default)]
    pub launch: SubnetLaunch,
    /// An explicit network ACL association; `None`: the VPC's default ACL.
    #[serde(default)]
    pub acl_association: Option<super::nacl::AclAssociation>,
    /// Its IPv6 block (of the VPC's /56), when it has one.
    #[serde(default)]
    pub ipv6: Vec<vpc_cidr::Block>,
    /// `AssignIpv6AddressOnCreation`: interfaces made in it get an IPv6 address.
    #[serde(default)]
    pub assign_ipv6: bool,
}

/// A subnet's settings for what is launched in it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubnetLaunch {
    pub dns64: bool,
    pub resource_name_a: bool,
    /// `EnableResourceNameDnsAAAARecordOnLaunch` (kept and shown; Airlock's DNS has no AAAA).
    #[serde(default)]
    pub resource_name_aaaa: bool,
    /// `ip-name` (the default) or `resource-name`.
    pub hostname_type: Option<String>,
}

impl SubnetLaunch {
    fn hostname_type(&self) -> &str {
        self.hostname_type.as_deref().unwrap_or("ip-name")
    }
}

airlock_store::record!(Subnet, "ec2.subnet", id);

impl Subnet {
    pub fn arn(&self) -> String {
        crate::partition::arn(
            &self.region,
            "ec2",
            &self.owner,
            &format!("subnet/{}", self.id),
        )
    }

    /// Its IPv4 block; `None` in an IPv6-only subnet.
    pub fn cidr(&self) -> Option<Cidr> {
        Cidr::parse(&self.cidr)
    }

    /// `Ipv6Native`: an IPv6-only subnet is one without an IPv4 block.
    pub fn ipv6_native(&self) -> bool {
        self.cidr.is_empty()
    }

    /// The subnet as DescribeSubnets shows it, with `used` of its addresses taken.
    fn out(&self, used: u64) -> dto::Subnet {
        let launch = dto::PrivateDnsNameOptionsOnLaunch {
            hostname_type: Some(self.launch.hostname_type().to_owned()),
            enable_resource_name_dns_a_record: Some(self.launch.resource_name_a),
            enable_resource_name_dns_aaaa_record: Some(self.launch.resource_name_aaaa),
        };
        dto::Subnet {
            subnet_id: Some(self.id.clone()),
            vpc_id: Some(self.vpc_id.clone()),
            cidr_block: self.cidr().map(|_| self.cidr.clone()),
            state: Some("available".into()),
            availability_zone: Some(self.az.clone()),
            availability_zone_id: Some(self.az_id.clone()),
            available_ip_address_count: Some(
                self.cidr().map_or(0, |c| c.usable().saturating_sub(used)) as i64,
            ),
            default_for_az: Some(self.default_for_az),
            map_public_ip_on_launch: Some(self.map_public_ip_on_launch),
            map_customer_owned_ip_on_launch: Some(false),
            assign_ipv6_address_on_creation: Some(self.assign_ipv6),
            ipv6_cidr_block_association_set: Some(ipv6::subnet_set(self)),
            enable_dns64: Some(self.launch.dns64),
            ipv6_native: Some(self.ipv6_native()),
            private_dns_name_options_on_launch: Some(launch),
            block_public_access_states: Some(common::no_public_access_block()),
            owner_id: Some(self.owner.clone()),
            subnet_arn: Some(self.arn()),
            tags: Some(common::tags_dto(&self.tags)),
            ..Default::default()
        }
    }
}

impl Filterable for Subnet {
    fn field(&self, name: &str) -> Field {
        match name {
            "subnet-id" => one(&self.id),
            "vpc-id" => one(&self.vpc_id),
            "cidr-block" | "cidr" | "cidrBlock" => {
                Some(self.cidr().map(|_| self.cidr.clone()).into_iter().collect())
            }
            "availability-zone" | "availabilityZone" => one(&self.az),
            "availability-zone-id" | "availabilityZoneId" => one(&self.az_id),
            "default-for-az" | "defaultForAz" => flag(self.default_for_az),
            "map-public-ip-on-launch" => flag(self.map_public_ip_on_launch),
            "state" => one("available"),
            "owner-id" => one(&self.owner),
            "subnet-arn" => one(self.arn()),
            other => ipv6::subnet_field(self, other),
        }
    }
    fn tags(&self) -> &[Tag] {
        &self.tags
    }
}

pub fn get_subnet(tx: &Tx<'_>, scope: &Scope, id: &str) -> ApiResult<std::sync::Arc<Subnet>> {
    tx.get::<Subnet>(scope, id)
        .ok_or_else(|| common::not_found("InvalidSubnetID.NotFound", "subnet", id))
}

/// Addresses in use per subnet (for `AvailableIpAddressCount`).
fn used_by_subnet(ctx: &Ctx<'_>) -> HashMap<String, u64> {
    let scope = ctx.scope();
    let mut used = HashMap::new();
    for e in ctx.store.read(|v| v.list::<eni::NetworkInterface>(&scope)) {
        *used.entry(e.subnet_id.clone()).or_insert(0) += e.all_ips().count() as u64;
    }
    used
}

pub fn create_subnet(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::CreateSubnetRequest = typed(input)?;
    let vpc_id = req.vpc_id.clone();
    let native = req.ipv6_native == Some(true);
    let cidr = match (native, req.cidr_block.as_deref()) {
        (true, Some(_)) => {
            return Err(ApiError::new(
                "InvalidParameterCombination",
                "An IPv6-only subnet (ipv6Native) cannot have an IPv4 CIDR block.",
            ))
        }
        (true, None) if req.ipv6_cidr_block.is_none() => {
            return Err(ApiError::missing_parameter(
                "The request must contain the parameter ipv6CidrBlock",
            ))
        }
        (true, None) => None,
        (false, _) => {
            let raw = input::given(&req.cidr_block, "CidrBlock")?;
            Some(Cidr::parse(raw).ok_or_else(|| {
                ApiError::invalid_parameter_value(format!(
                    "Value ({raw}) for parameter cidrBlock is invalid. This is not a valid CIDR block."
                ))
            })?)
        }
    };
    let zones = regions::zones(&ctx.region);
    let az = match (req.availability_zone.as_deref(), req.availability_zone_id.as_deref()) {
        (Some(_), Some(_)) => {
            return Err(ApiError::new(
                "InvalidParameterCombination",
                "Only one of availabilityZone or availabilityZoneId may be specified",
            ))
        }
        (Some(name), None) => regions::zone_by_name(&ctx.region, name).ok_or_else(|| {
            ApiError::invalid_parameter_value(format!(
                "Value ({name}) for parameter availabilityZone is invalid. Subnets can currently only be created in the following availability zones: {}.",
                zones.iter().map(|z| z.name.as_str()).collect::<Vec<_>>().join(", ")
            ))
        })?,
        (None, Some(id)) => regions::zone_by_id(&ctx.region, id).ok_or_else(|| {
            ApiError::invalid_parameter_value(format!(
                "Value ({id}) for parameter availabilityZoneId is invalid. Subnets can currently only be created in the following availability zones: {}.",
                zones.iter().map(|z| z.id.as_str()).collect::<Vec<_>>().join(", ")
            ))
        })?,
        (None, None) => {
            let i = rand::random::<usize>() % zones.len().max(1);
            regions::zones(&ctx.region).into_iter().nth(i).ok_or_else(|| ApiError::internal("region has no zones"))?
        }
    };
    let tags = common::tags_from_specs(input, "subnet")?;
    let scope = ctx.scope();
    let subnet = ctx.store.write(|tx| {
        let vpc = get_vpc(tx, &scope, &vpc_id)?;
        if let Some(cidr) = cidr {
            let inside = vpc.ipv4_cidrs().any(|b| b.contains(&cidr));
            if !(16..=28).contains(&cidr.prefix) || !inside {
                return Err(ApiError::new(
                    "InvalidSubnet.Range",
                    format!("The CIDR '{cidr}' is invalid."),
                ));
            }
            if tx
                .list::<Subnet>(&scope)
                .iter()
                .any(|s| s.vpc_id == vpc_id && s.cidr().is_some_and(|c| c.overlaps(&cidr)))
            {
                return Err(ApiError::new(
                    "InvalidSubnet.Conflict",
                    format!("The CIDR '{cidr}' conflicts with another subnet"),
                ));
            }
        }
        let ipv6 = match req.ipv6_cidr_block.as_deref() {
            Some(raw) => vec![ipv6::subnet_block(tx, &scope, &vpc, raw)?],
            None => Vec::new(),
        };
        let subnet = Subnet {
            id: ids::resource_id("subnet"),
            vpc_id: vpc_id.clone(),
            cidr: cidr.map(|c| c.to_string()).unwrap_or_default(),
            az: az.name.clone(),
            az_id: az.id.clone(),
            owner: ctx.account().to_owned(),
            region: ctx.region.clone(),
            default_for_az: false,
            map_public_ip_on_launch: false,
            tags,
            // An IPv6-only subnet's instances are named by their ids.
            launch: SubnetLaunch {
                hostname_type: native.then(|| "resource-name".to_owned()),
                ..SubnetLaunch::default()
            },
            acl_association: None,
            ipv6,
            assign_ipv6: false,
        };
        tx.put(&scope, subnet.clone())?;
        Ok::<_, ApiError>(subnet)
    })?;
    Ok(Output::new(dto::CreateSubnetResult {
        subnet: Some(subnet.out(0)),
    }))
}

pub fn describe_subnets(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::DescribeSubnetsRequest = typed(input)?;
    let ids = req.subnet_ids.unwrap_or_default();
    let scope = ctx.scope();
    let all = ctx.store.read(|v| v.list::<Subnet>(&scope));
    let missing = ("InvalidSubnetID.NotFound", "subnet");
    let (page, next) = common::select(all, input, &ids, missing, (5, 1000))?;
    let used = used_by_subnet(ctx);
    let subnets = page
        .iter()
        .map(|s| s.out(used.get(&s.id).copied().unwrap_or(0)));
    Ok(Output::new(dto::DescribeSubnetsResult {
        subnets: Some(subnets.collect()),
        next_token: next,
    }))
}

pub fn delete_subnet(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let id = typed::<dto::DeleteSubnetRequest>(input)?.subnet_id;
    let scope = ctx.scope();
    ctx.store.write(|tx| {
        get_subnet(tx, &scope, &id)?;
        if tx
            .list::<eni::NetworkInterface>(&scope)
            .iter()
            .any(|e| e.subnet_id == id)
        {
            return Err(common::dependency("subnet", &id));
        }
        routes::forget_subnet(tx, &scope, &id)?;
        tx.delete::<Subnet>(&scope, &id);
        Ok::<_, ApiError>(())
    })?;
    Ok(Output::new(()))
}

pub fn modify_subnet_attribute(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::ModifySubnetAttributeRequest = typed(input)?;
    let id = req.subnet_id;
    let flag = |v: Option<dto::AttributeBooleanValue>| v.and_then(|v| v.value);
    let map_public = flag(req.map_public_ip_on_launch);
    let dns64 = flag(req.enable_dns64);
    let name_a = flag(req.enable_resource_name_dns_a_record_on_launch);
    let name_aaaa = flag(req.enable_resource_name_dns_aaaa_record_on_launch);
    let hostname_type = req.private_dns_hostname_type_on_launch.as_deref();
    if let Some(t) = hostname_type {
        if t != "ip-name" && t != "resource-name" {
            return Err(ApiError::invalid_parameter_value(format!(
                "Value ({t}) for parameter privateDnsHostnameTypeOnLaunch is invalid. Valid values are ip-name, resource-name."
            )));
        }
    }
    let assign_ipv6 = flag(req.assign_ipv6_address_on_creation);
    // Airlock has no customer-owned pools (no Outposts).
    if flag(req.map_customer_owned_ip_on_launch) == Some(true) {
        return Err(ApiError::invalid_parameter_value(format!(
            "Invalid value 'true' for MapCustomerOwnedIpOnLaunch. The subnet {id} has no customer-owned IP pool."
        )));
    }
    let scope = ctx.scope();
    ctx.store.write(|tx| {
        let mut s = (*get_subnet(tx, &scope, &id)?).clone();
        // What needs an IPv4 block, or an IPv6 one, that the subnet lacks.
        let refused = |name: &str, lacking: &str| {
            ApiError::invalid_parameter_value(format!(
                "Invalid value for {name}: the subnet {id} has no {lacking}."
            ))
        };
        if s.ipv6_native() {
            if map_public == Some(true) {
                return Err(refused("mapPublicIpOnLaunch", "IPv4 CIDR block"));
            }
            if name_a == Some(true) {
                return Err(refused("enableResourceNameDnsARecordOnLaunch", "IPv4 CIDR block"));
            }
            if hostname_type == Some("ip-name") {
                return Err(refused("privateDnsHostnameTypeOnLaunch", "IPv4 CIDR block (ip-name)"));
            }
        }
        if s.ipv6.is_empty() && name_aaaa == Some(true) {
            return Err(refused("enableResourceNameDnsAAAARecordOnLaunch", "IPv6 CIDR block"));
        }
        if let Some(a) = name_aaaa {
            s.launch.resource_name_aaaa = a;
        }
        if let Some(m) = map_public {
            s.map_public_ip_on_launch = m;
        }
        if let Some(a) = name_a {
            s.launch.resource_name_a = a;
        }
        if let Some(d) = dns64 {
            s.launch.dns64 = d;
        }
        if let Some(t) = hostname_type {
            s.launch.hostname_type = Some(t.to_owned());
        }
        if let Some(a) = assign_ipv6 {
            if a && s.ipv6.is_empty() {
                return Err(ApiError::invalid_parameter_value(format!(
                    "Invalid value 'true' for assignIpv6AddressOnCreation. Cannot set assignIpv6AddressOnCreation to true unless the subnet ({id}) has an IPv6 CIDR block associated with it."
                )));
            }
            s.assign_ipv6 = a;
        }
        tx.put(&scope, s)?;
        Ok::<_, ApiError>(())
    })?;
    Ok(Output::new(()))
}
