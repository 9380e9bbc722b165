//! VPCs, subnets, and the default network every region starts with.

use super::cidr::{self, Cidr};
use super::common::{self, flag, one, Field, Filterable, Tag};
use super::subnet::{Subnet, SubnetLaunch};
use super::{igw, ipv6, regions, routes, sg, vpc_cidr};
use crate::input::typed;
use crate::{ids, input, Ctx};
use airlock_dto::ec2 as dto;
use airlock_protocol::{ApiError, ApiResult, Output};
use airlock_store::{Scope, Tx};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Vpc {
    pub id: String,
    pub cidr: String,
    pub cidr_association_id: String,
    pub owner: String,
    pub is_default: bool,
    pub dhcp_options_id: String,
    pub instance_tenancy: String,
    pub dns_support: bool,
    pub dns_hostnames: bool,
    /// `EnableNetworkAddressUsageMetrics`.
    #[serde(default)]
    pub address_usage_metrics: bool,
    pub tags: Vec<Tag>,
    /// IPv4 blocks associated after creation (AssociateVpcCidrBlock), in association order.
    #[serde(default)]
    pub secondary: Vec<vpc_cidr::Block>,
    /// The Amazon-provided IPv6 /56, when it has one.
    #[serde(default)]
    pub ipv6: Vec<vpc_cidr::Block>,
}

airlock_store::record!(Vpc, "ec2.vpc", id);

impl Vpc {
    /// The primary IPv4 block.
    pub fn cidr(&self) -> Cidr {
        Cidr::parse(&self.cidr).expect("stored CIDRs are valid")
    }

    /// Whether VPC address `ip` lies in one of its IPv4 blocks.
    pub fn holds(&self, ip: u32) -> bool {
        self.ipv4_cidrs().any(|c| c.contains_ip(ip))
    }

    /// Every IPv4 block as an address range, in [`Vpc::ipv4_blocks`]'s order.
    pub fn ipv4_cidrs(&self) -> impl Iterator<Item = Cidr> + '_ {
        self.ipv4_blocks()
            .map(|b| Cidr::parse(&b.cidr).expect("stored CIDRs are valid"))
    }

    /// Every IPv4 block: the primary first, then the secondary ones in association order.
    pub fn ipv4_blocks(&self) -> impl Iterator<Item = vpc_cidr::Block> + '_ {
        let primary = vpc_cidr::Block {
            association_id: self.cidr_association_id.clone(),
            cidr: self.cidr.clone(),
        };
        std::iter::once(primary).chain(self.secondary.iter().cloned())
    }

    fn out(&self, state: &str, region: &str) -> dto::Vpc {
        dto::Vpc {
            vpc_id: Some(self.id.clone()),
            cidr_block: Some(self.cidr.clone()),
            state: Some(state.to_owned()),
            dhcp_options_id: Some(self.dhcp_options_id.clone()),
            instance_tenancy: Some(self.instance_tenancy.clone()),
            is_default: Some(self.is_default),
            owner_id: Some(self.owner.clone()),
            cidr_block_association_set: Some(vpc_cidr::ipv4_set(self)),
            ipv6_cidr_block_association_set: Some(ipv6::vpc_set(self, region)),
            block_public_access_states: Some(common::no_public_access_block()),
            tags: Some(common::tags_dto(&self.tags)),
            ..Default::default()
        }
    }
}

impl Filterable for Vpc {
    fn field(&self, name: &str) -> Field {
        match name {
            "vpc-id" => one(&self.id),
            "cidr" | "cidrBlock" => one(&self.cidr),
            "cidr-block-association.cidr-block" => {
                Some(self.ipv4_blocks().map(|b| b.cidr).collect())
            }
            "cidr-block-association.association-id" => {
                Some(self.ipv4_blocks().map(|b| b.association_id).collect())
            }
            "cidr-block-association.state" => {
                Some(self.ipv4_blocks().map(|_| "associated".into()).collect())
            }
            "state" => one("available"),
            "is-default" | "isDefault" => flag(self.is_default),
            "owner-id" => one(&self.owner),
            "dhcp-options-id" => one(&self.dhcp_options_id),
            other => ipv6::vpc_field(self, other),
        }
    }
    fn tags(&self) -> &[Tag] {
        &self.tags
    }
}

/// Per-region bookkeeping: the default VPC and the DHCP options set every VPC gets.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RegionState {
    pub id: String,
    pub default_vpc_id: Option<String>,
    pub dhcp_options_id: String,
}

airlock_store::record!(RegionState, "ec2.region", id);

pub const REGION_STATE: &str = "state";

/// Every region starts as in a new AWS account: a default VPC 172.31.0.0/16 with a default
/// subnet per Availability Zone, an internet gateway, a main route table to it and a default
/// security group.
pub fn ensure_region(ctx: &Ctx<'_>) -> ApiResult<()> {
    let scope = ctx.scope();
    if ctx
        .store
        .read(|v| v.get::<RegionState>(&scope, REGION_STATE).is_some())
    {
        return Ok(());
    }
    ctx.store.write(|tx| {
        if tx.get::<RegionState>(&scope, REGION_STATE).is_some() {
            return Ok(());
        }
        let dhcp = ids::resource_id("dopt");
        let vpc = new_vpc(ctx, tx, "172.31.0.0/16", true, &dhcp, Vec::new())?;
        let igw = igw::create(ctx, tx, Vec::new())?;
        igw::attach(tx, &scope, &igw, &vpc.id)?;
        routes::add_default_route(tx, &scope, &vpc.id, &igw)?;
        for (i, az) in regions::zones(&ctx.region).into_iter().enumerate() {
            let cidr = Cidr {
                base: Cidr::parse("172.31.0.0/16").expect("valid").base + ((i as u32) << 12),
                prefix: 20,
            };
            let subnet = Subnet {
                id: ids::resource_id("subnet"),
                vpc_id: vpc.id.clone(),
                cidr: cidr.to_string(),
                az: az.name,
                az_id: az.id,
                owner: ctx.account().to_owned(),
                region: ctx.region.clone(),
                default_for_az: true,
                map_public_ip_on_launch: true,
                tags: Vec::new(),
                launch: SubnetLaunch::default(),
                acl_association: None,
                ipv6: Vec::new(),
                assign_ipv6: false,
            };
            tx.put(&scope, subnet)?;
        }
        tx.put(
            &scope,
            RegionState {
                id: REGION_STATE.into(),
                default_vpc_id: Some(vpc.id),
                dhcp_options_id: dhcp,
            },
        )?;
        Ok(())
    })
}

pub fn default_vpc_id(tx: &Tx<'_>, scope: &Scope) -> Option<String> {
    tx.get::<RegionState>(scope, REGION_STATE)
        .and_then(|r| r.default_vpc_id.clone())
}

fn new_vpc(
    ctx: &Ctx<'_>,
    tx: &mut Tx<'_>,
    cidr: &str,
    is_default: bool,
    dhcp: &str,
    tags: Vec<Tag>,
) -> ApiResult<Vpc> {
    let scope = ctx.scope();
    let vpc = Vpc {
        id: ids::resource_id("vpc"),
        cidr: cidr.to_owned(),
        cidr_association_id: ids::resource_id("vpc-cidr-assoc"),
        owner: ctx.account().to_owned(),
        is_default,
        dhcp_options_id: dhcp.to_owned(),
        instance_tenancy: "default".into(),
        dns_support: true,
        dns_hostnames: is_default,
        address_usage_metrics: false,
        tags,
        secondary: Vec::new(),
        ipv6: Vec::new(),
    };
    tx.put(&scope, vpc.clone())?;
    sg::create_default(ctx, tx, &vpc.id)?;
    routes::create_main(ctx, tx, &vpc)?;
    Ok(vpc)
}

pub fn get_vpc(tx: &Tx<'_>, scope: &Scope, id: &str) -> ApiResult<std::sync::Arc<Vpc>> {
    tx.get::<Vpc>(scope, id)
        .ok_or_else(|| common::not_found("InvalidVpcID.NotFound", "vpc", id))
}

pub fn create_vpc(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::CreateVpcRequest = typed(input)?;
    let raw = input::given(&req.cidr_block, "CidrBlock")?;
    let cidr = Cidr::parse(raw).ok_or_else(|| {
        ApiError::invalid_parameter_value(format!(
            "Value ({raw}) for parameter cidrBlock is invalid. This is not a valid CIDR block."
        ))
    })?;
    if !(16..=28).contains(&cidr.prefix) {
        return Err(ApiError::new(
            "InvalidVpc.Range",
            format!("The CIDR '{raw}' is invalid."),
        ));
    }
    let tenancy = req.instance_tenancy.unwrap_or_else(|| "default".to_owned());
    let tags = common::tags_from_specs(input, "vpc")?;
    let amazon_ipv6 = req.amazon_provided_ipv6_cidr_block == Some(true);
    if req.ipv6_pool.is_some() || req.ipv6_cidr_block.is_some() {
        return Err(ApiError::new(
            "InvalidIpv6Pool.ID.NotFound",
            "The account has no IPv6 address pools of its own (BYOIP); use AmazonProvidedIpv6CidrBlock.",
        ));
    }
    let vpc = ctx.store.write(|tx| {
        // The region's default option set; `default` (none) once it was deleted.
        let dhcp = tx
            .get::<RegionState>(&ctx.scope(), REGION_STATE)
            .map(|r| r.dhcp_options_id.clone())
            .filter(|id| !id.is_empty())
            .unwrap_or_else(|| "default".into());
        let mut vpc = new_vpc(ctx, tx, &cidr.to_string(), false, &dhcp, tags)?;
        vpc.instance_tenancy = tenancy;
        if amazon_ipv6 {
            ipv6::add_amazon_block(ctx, tx, &mut vpc)?;
            // The default group also lets IPv6 out.
            sg::allow_ipv6_egress_of_default(tx, &ctx.scope(), &vpc.id)?;
        }
        tx.put(&ctx.scope(), vpc.clone())?;
        Ok::<_, ApiError>(vpc)
    })?;
    Ok(Output::new(dto::CreateVpcResult {
        vpc: Some(vpc.out("pending", &ctx.region)),
    }))
}

pub fn describe_vpcs(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::DescribeVpcsRequest = typed(input)?;
    let ids = req.vpc_ids.unwrap_or_default();
    let scope = ctx.scope();
    let all = ctx.store.read(|v| v.list::<Vpc>(&scope));
    let missing = ("InvalidVpcID.NotFound", "vpc");
    let (page, next) = common::select(all, input, &ids, missing, (5, 1000))?;
    Ok(Output::new(dto::DescribeVpcsResult {
        vpcs: Some(
            page.iter()
                .map(|v| v.out("available", &ctx.region))
                .collect(),
        ),
        next_token: next,
    }))
}

pub fn delete_vpc(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let id = typed::<dto::DeleteVpcRequest>(input)?.vpc_id;
    let scope = ctx.scope();
    ctx.store.write(|tx| {
        get_vpc(tx, &scope, &id)?;
        let busy = tx.list::<Subnet>(&scope).iter().any(|s| s.vpc_id == id)
            || tx
                .list::<igw::InternetGateway>(&scope)
                .iter()
                .any(|g| g.attached_to(&id))
            || tx
                .list::<sg::SecurityGroup>(&scope)
                .iter()
                .any(|g| g.vpc_id == id && g.name != "default")
            || tx
                .list::<routes::RouteTable>(&scope)
                .iter()
                .any(|r| r.vpc_id == id && !r.is_main())
            || tx
                .list::<ipv6::EgressOnlyGateway>(&scope)
                .iter()
                .any(|g| g.vpc_id == id)
            || tx
                .list::<super::vpce::VpcEndpoint>(&scope)
                .iter()
                .any(|e| e.vpc_id == id)
            || tx
                .list::<super::nat::NatGateway>(&scope)
                .iter()
                .any(|n| n.vpc_id == id && n.is_live(ctx.clock.now()))
            || super::nacl::has_custom(tx, &scope, &id);
        if busy {
            return Err(common::dependency("vpc", &id));
        }
        for g in tx
            .list::<sg::SecurityGroup>(&scope)
            .into_iter()
            .filter(|g| g.vpc_id == id)
        {
            tx.delete::<sg::SecurityGroup>(&scope, &g.id);
        }
        for r in tx
            .list::<routes::RouteTable>(&scope)
            .into_iter()
            .filter(|r| r.vpc_id == id)
        {
            tx.delete::<routes::RouteTable>(&scope, &r.id);
        }
        super::nacl::forget_vpc(tx, &scope, &id);
        tx.delete::<Vpc>(&scope, &id);
        if default_vpc_id(tx, &scope).as_deref() == Some(id.as_str()) {
            if let Some(rs) = tx.get::<RegionState>(&scope, REGION_STATE) {
                let mut rs = (*rs).clone();
                rs.default_vpc_id = None;
                tx.put(&scope, rs)?;
            }
        }
        Ok::<_, ApiError>(())
    })?;
    Ok(Output::new(()))
}

pub fn modify_vpc_attribute(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::ModifyVpcAttributeRequest = typed(input)?;
    let id = req.vpc_id;
    let support = req.enable_dns_support.and_then(|v| v.value);
    let hostnames = req.enable_dns_hostnames.and_then(|v| v.value);
    let metrics = req
        .enable_network_address_usage_metrics
        .and_then(|v| v.value);
    let given = [support.is_some(), hostnames.is_some(), metrics.is_some()]
        .iter()
        .filter(|b| **b)
        .count();
    if given != 1 {
        return Err(ApiError::new(
            "InvalidParameterCombination",
            "Fields for multiple attribute types specified: enableDnsSupport, enableDnsHostnames",
        ));
    }
    let scope = ctx.scope();
    ctx.store.write(|tx| {
        let mut vpc = (*get_vpc(tx, &scope, &id)?).clone();
        if let Some(s) = support {
            if !s && vpc.dns_hostnames {
                vpc.dns_hostnames = false;
            }
            vpc.dns_support = s;
        }
        if let Some(h) = hostnames {
            if h && !vpc.dns_support {
                return Err(ApiError::new(
                    "InvalidParameterValue",
                    "Cannot enable DNS hostnames when DNS support is disabled",
                ));
            }
            vpc.dns_hostnames = h;
        }
        if let Some(m) = metrics {
            vpc.address_usage_metrics = m;
        }
        tx.put(&scope, vpc)?;
        Ok::<_, ApiError>(())
    })?;
    Ok(Output::new(()))
}

pub fn describe_vpc_attribute(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::DescribeVpcAttributeRequest = typed(input)?;
    let id = req.vpc_id.as_str();
    let scope = ctx.scope();
    let vpc = ctx
        .store
        .read(|v| v.get::<Vpc>(&scope, id))
        .ok_or_else(|| common::not_found("InvalidVpcID.NotFound", "vpc", id))?;
    let value = |b: bool| Some(dto::AttributeBooleanValue { value: Some(b) });
    let mut out = dto::DescribeVpcAttributeResult {
        vpc_id: Some(vpc.id.clone()),
        ..Default::default()
    };
    match req.attribute.as_str() {
        "enableDnsSupport" => out.enable_dns_support = value(vpc.dns_support),
        "enableDnsHostnames" => out.enable_dns_hostnames = value(vpc.dns_hostnames),
        "enableNetworkAddressUsageMetrics" => {
            out.enable_network_address_usage_metrics = value(vpc.address_usage_metrics)
        }
        other => {
            return Err(ApiError::invalid_parameter_value(format!(
                "Value ({other}) for parameter attribute is invalid. Unknown attribute."
            )))
        }
    }
    Ok(Output::new(out))
}

/// `ip-10-0-1-23.<region>.compute.internal` (`ec2.internal` in us-east-1).
pub fn private_dns_name(region: &str, ip: u32) -> String {
    let dashed = cidr::ip_str(ip).replace('.', "-");
    if region == "us-east-1" {
        format!("ip-{dashed}.ec2.internal")
    } else {
        format!("ip-{dashed}.{region}.compute.internal")
    }
}

/// A VPC's tenancy can only go from `dedicated` back to `default`.
pub fn modify_vpc_tenancy(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::ModifyVpcTenancyRequest = typed(input)?;
    if req.instance_tenancy != "default" {
        return Err(ApiError::invalid_parameter_value(format!(
            "Value ({}) for parameter instanceTenancy is invalid. The only supported value is default.",
            req.instance_tenancy
        )));
    }
    let scope = ctx.scope();
    ctx.store.write(|tx| {
        let mut vpc = (*get_vpc(tx, &scope, &req.vpc_id)?).clone();
        vpc.instance_tenancy = "default".into();
        tx.put(&scope, vpc)?;
        Ok::<_, ApiError>(())
    })?;
    Ok(Output::new(dto::ModifyVpcTenancyResult {
        return_value: Some(true),
    }))
}

/// A VPC as the ClassicLink calls see it: EC2-Classic is retired, so ClassicLink and its DNS
/// support are off for every VPC (what AWS answers; Terraform's older providers still read it).
struct ClassicLinkRow(Arc<Vpc>);

impl Filterable for ClassicLinkRow {
    fn field(&self, name: &str) -> Field {
        match name {
            "is-classic-link-enabled" => flag(false),
            _ => None,
        }
    }
    fn tags(&self) -> &[Tag] {
        &self.0.tags
    }
}

/// The region's VPCs that `ids` names (all when empty); an unknown id is AWS's error.
fn vpcs_named(ctx: &Ctx<'_>, ids: &[String]) -> ApiResult<Vec<Arc<Vpc>>> {
    let scope = ctx.scope();
    let all = ctx.store.read(|v| v.list::<Vpc>(&scope));
    if let Some(id) = ids.iter().find(|id| !all.iter().any(|v| &&v.id == id)) {
        return Err(common::not_found("InvalidVpcID.NotFound", "vpc", id));
    }
    Ok(all
        .into_iter()
        .filter(|v| ids.is_empty() || ids.contains(&v.id))
        .collect())
}

pub fn describe_vpc_classic_link(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::DescribeVpcClassicLinkRequest = typed(input)?;
    let filters = common::filters(input);
    let mut vpcs = Vec::new();
    for v in vpcs_named(ctx, &req.vpc_ids.unwrap_or_default())? {
        let row = ClassicLinkRow(v);
        if common::matches(&row, &filters)? {
            vpcs.push(dto::VpcClassicLink {
                classic_link_enabled: Some(false),
                tags: Some(common::tags_dto(&row.0.tags)),
                vpc_id: Some(row.0.id.clone()),
            });
        }
    }
    Ok(Output::new(dto::DescribeVpcClassicLinkResult {
        vpcs: Some(vpcs),
    }))
}

pub fn describe_vpc_classic_link_dns_support(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::DescribeVpcClassicLinkDnsSupportRequest = typed(input)?;
    let ids = req.vpc_ids.unwrap_or_default();
    let vpcs = vpcs_named(ctx, &ids)?;
    let (page, next) = common::paginate(vpcs, input, (5, 255), !ids.is_empty(), |v| v.id.clone())?;
    Ok(Output::new(dto::DescribeVpcClassicLinkDnsSupportResult {
        next_token: next,
        vpcs: Some(
            page.iter()
                .map(|v| dto::ClassicLinkDnsSupport {
                    classic_link_dns_supported: Some(false),
                    vpc_id: Some(v.id.clone()),
                })
                .collect(),
        ),
    }))
}
