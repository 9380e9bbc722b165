//! IPv6 as AWS gives it to a VPC: an Amazon-provided /56 per VPC (CreateVpc's
//! `AmazonProvidedIpv6CidrBlock`, AssociateVpcCidrBlock), a block of it per subnet (/44 to /64;
//! CreateSubnet's `Ipv6CidrBlock`, AssociateSubnetCidrBlock; the only block of an IPv6-only
//! subnet, `Ipv6Native`), addresses of the subnet's block on network
//! interfaces (`Ipv6AddressCount`, AssignIpv6Addresses, the subnet's
//! `AssignIpv6AddressOnCreation`), a `local` route for the /56 in every route table, `::/0`
//! egress in new security groups, and egress-only internet gateways.
//!
//! The fabric carries IPv4 only: IPv6 addresses are allocated, shown, filtered and kept
//! consistent, but no connection is made to them.

use super::common::{self, one, Field, Filterable, Tag};
use super::eni::NetworkInterface;
use super::routes;
use super::subnet::{self, Subnet};
use super::vpc::{self, Vpc};
use super::vpc_cidr::{self, Block};
use crate::input::{self, typed};
use crate::{ids, Ctx};
use airlock_dto::ec2 as dto;
use airlock_protocol::{ApiError, ApiResult, Output};
use airlock_store::{Scope, Tx};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::net::Ipv6Addr;

/// A parsed IPv6 CIDR: the network as a number and the prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Net {
    pub base: u128,
    pub prefix: u8,
}

impl Net {
    /// A block given with host bits set is not a block.
    pub fn parse(raw: &str) -> Option<Net> {
        let (ip, len) = raw.split_once('/')?;
        let ip: Ipv6Addr = ip.parse().ok()?;
        let prefix: u8 = len.parse().ok()?;
        if prefix > 128 {
            return None;
        }
        let base = u128::from(ip);
        (base & !Net::mask(prefix) == 0).then_some(Net { base, prefix })
    }

    fn mask(prefix: u8) -> u128 {
        if prefix == 0 {
            0
        } else {
            u128::MAX << (128 - prefix)
        }
    }

    pub fn contains(&self, other: &Net) -> bool {
        other.prefix >= self.prefix && other.base & Net::mask(self.prefix) == self.base
    }

    pub fn overlaps(&self, other: &Net) -> bool {
        self.contains(other) || other.contains(self)
    }

    pub fn contains_ip(&self, ip: u128) -> bool {
        ip & Net::mask(self.prefix) == self.base
    }
}

impl std::fmt::Display for Net {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", Ipv6Addr::from(self.base), self.prefix)
    }
}

fn net_of(b: &Block) -> Net {
    Net::parse(&b.cidr).expect("stored IPv6 blocks are valid")
}

/// A new Amazon-provided /56 for a VPC of `region`, unused in `scope`: AWS's
/// `2600:1f<region>:…:…00::/56` shape.
fn amazon_block(tx: &Tx<'_>, scope: &Scope, region: &str) -> String {
    let region_byte = u16::from_str_radix(&crate::ids::hex_of(region, 2), 16).unwrap_or(0x14);
    let used: Vec<String> = tx
        .list::<Vpc>(scope)
        .iter()
        .flat_map(|v| v.ipv6.iter().map(|b| b.cidr.clone()).collect::<Vec<_>>())
        .collect();
    loop {
        // The fourth group is never 0 (`…:0000::/56` would print as `…::/56`, a block whose
        // subnets cannot be written by appending to its prefix, as templates do).
        let (a, b): (u16, u8) = (rand::random(), rand::random::<u8>().max(1));
        let cidr = format!("2600:1f{region_byte:02x}:{a:x}:{b:x}00::/56");
        let canonical = Net::parse(&cidr).map(|n| n.to_string()).unwrap_or(cidr);
        if !used.contains(&canonical) {
            return canonical;
        }
    }
}

pub fn vpc_association(region: &str, b: &Block, state: &str) -> dto::VpcIpv6CidrBlockAssociation {
    dto::VpcIpv6CidrBlockAssociation {
        association_id: Some(b.association_id.clone()),
        ipv6_cidr_block: Some(b.cidr.clone()),
        ipv6_cidr_block_state: Some(dto::VpcCidrBlockState {
            state: Some(state.into()),
            status_message: None,
        }),
        ipv6_pool: Some("Amazon".into()),
        network_border_group: Some(region.to_owned()),
        ip_source: Some("amazon".into()),
        ipv6_address_attribute: Some("public".into()),
    }
}

/// `Ipv6CidrBlockAssociationSet` of a VPC of `region`, as DescribeVpcs shows it.
pub fn vpc_set(vpc: &Vpc, region: &str) -> Vec<dto::VpcIpv6CidrBlockAssociation> {
    vpc.ipv6
        .iter()
        .map(|b| vpc_association(region, b, "associated"))
        .collect()
}

fn subnet_association(b: &Block, state: &str) -> dto::SubnetIpv6CidrBlockAssociation {
    dto::SubnetIpv6CidrBlockAssociation {
        association_id: Some(b.association_id.clone()),
        ipv6_cidr_block: Some(b.cidr.clone()),
        ipv6_cidr_block_state: Some(dto::SubnetCidrBlockState {
            state: Some(state.into()),
            status_message: None,
        }),
        ip_source: Some("amazon".into()),
        ipv6_address_attribute: Some("public".into()),
    }
}

/// `Ipv6CidrBlockAssociationSet` of a subnet.
pub fn subnet_set(s: &Subnet) -> Vec<dto::SubnetIpv6CidrBlockAssociation> {
    s.ipv6
        .iter()
        .map(|b| subnet_association(b, "associated"))
        .collect()
}

/// Gives `vpc` an Amazon-provided /56 and every route table of it a `local` route for it.
pub fn add_amazon_block(ctx: &Ctx<'_>, tx: &mut Tx<'_>, vpc: &mut Vpc) -> ApiResult<Block> {
    let scope = ctx.scope();
    if !vpc.ipv6.is_empty() {
        return Err(ApiError::new(
            "CidrLimitExceeded",
            format!(
                "This network '{}' has met its maximum number of allowed CIDRs: 1",
                vpc.id
            ),
        ));
    }
    let block = Block {
        association_id: ids::resource_id("vpc-cidr-assoc"),
        cidr: amazon_block(tx, &scope, &ctx.region),
    };
    vpc.ipv6.push(block.clone());
    vpc_cidr::retable(tx, &scope, &vpc.id, |t| {
        t.routes.push(routes::local_ipv6_route(&block.cidr))
    })?;
    Ok(block)
}

/// Removes `vpc`'s IPv6 block `association_id` and its `local` routes, unless a subnet still
/// has a block of it.
pub fn remove_amazon_block(
    tx: &mut Tx<'_>,
    scope: &Scope,
    vpc: &mut Vpc,
    association_id: &str,
) -> ApiResult<Block> {
    let pos = vpc
        .ipv6
        .iter()
        .position(|b| b.association_id == association_id)
        .ok_or_else(|| ApiError::internal("the association was found on this VPC"))?;
    let block = vpc.ipv6[pos].clone();
    let net = net_of(&block);
    if tx
        .list::<Subnet>(scope)
        .iter()
        .any(|s| s.vpc_id == vpc.id && s.ipv6.iter().any(|b| net.contains(&net_of(b))))
    {
        return Err(ApiError::new(
            "DependencyViolation",
            format!(
                "The vpc CIDR block {} has dependencies: subnets of it have IPv6 CIDR blocks",
                block.cidr
            ),
        ));
    }
    vpc.ipv6.remove(pos);
    vpc_cidr::retable(tx, scope, &vpc.id, |t| {
        t.routes
            .retain(|r| r.destination_ipv6.as_deref() != Some(block.cidr.as_str()))
    })?;
    Ok(block)
}

/// A subnet's IPv6 block: a /44 to /64 (in steps of four bits) inside its VPC's /56,
/// overlapping no other subnet's.
pub fn subnet_block(tx: &Tx<'_>, scope: &Scope, vpc: &Vpc, raw: &str) -> ApiResult<Block> {
    let net = Net::parse(raw).ok_or_else(|| {
        ApiError::invalid_parameter_value(format!(
            "invalid value for parameter ipv6CidrBlock: {raw}"
        ))
    })?;
    let size_ok = (44..=64).contains(&net.prefix) && net.prefix % 4 == 0;
    if !size_ok || !vpc.ipv6.iter().any(|b| net_of(b).contains(&net)) {
        return Err(ApiError::new(
            "InvalidSubnet.Range",
            format!("The IPv6 CIDR '{raw}' is invalid."),
        ));
    }
    if tx
        .list::<Subnet>(scope)
        .iter()
        .any(|s| s.vpc_id == vpc.id && s.ipv6.iter().any(|b| net_of(b).overlaps(&net)))
    {
        return Err(ApiError::new(
            "InvalidSubnet.Conflict",
            format!("The IPv6 CIDR '{raw}' conflicts with another subnet"),
        ));
    }
    Ok(Block {
        association_id: ids::resource_id("subnet-cidr-assoc"),
        cidr: net.to_string(),
    })
}

pub fn associate_subnet_cidr_block(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::AssociateSubnetCidrBlockRequest = typed(input)?;
    let raw = input::given(&req.ipv6_cidr_block, "ipv6CidrBlock")?;
    let scope = ctx.scope();
    let (subnet, block) = ctx.store.write(|tx| {
        let mut subnet = (*subnet::get_subnet(tx, &scope, &req.subnet_id)?).clone();
        if !subnet.ipv6.is_empty() {
            return Err(ApiError::new(
                "CidrLimitExceeded",
                format!(
                    "This subnet '{}' has met its maximum number of allowed IPv6 CIDRs: 1",
                    subnet.id
                ),
            ));
        }
        let vpc = vpc::get_vpc(tx, &scope, &subnet.vpc_id)?;
        let block = subnet_block(tx, &scope, &vpc, raw)?;
        subnet.ipv6.push(block.clone());
        tx.put(&scope, subnet.clone())?;
        Ok::<_, ApiError>((subnet, block))
    })?;
    Ok(Output::new(dto::AssociateSubnetCidrBlockResult {
        ipv6_cidr_block_association: Some(subnet_association(&block, "associating")),
        subnet_id: Some(subnet.id),
    }))
}

pub fn disassociate_subnet_cidr_block(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let id = input::req(input, "AssociationId")?.to_owned();
    let scope = ctx.scope();
    let (subnet, block) = ctx.store.write(|tx| {
        let subnet = tx
            .list::<Subnet>(&scope)
            .into_iter()
            .find(|s| s.ipv6.iter().any(|b| b.association_id == id))
            .ok_or_else(|| {
                ApiError::new(
                    "InvalidSubnetCidrBlockAssociationID.NotFound",
                    format!("The subnet CIDR block with association ID '{id}' does not exist"),
                )
            })?;
        let addressed = tx
            .list_in::<NetworkInterface>(&scope, &subnet.vpc_id)
            .iter()
            .any(|e| e.subnet_id == subnet.id && !e.ipv6.is_empty());
        let in_use = |why: &str| {
            ApiError::new(
                "InvalidCidrBlock.InUse",
                format!(
                    "The subnet IPv6 CIDR block with association ID {id} may not be disassociated, because {why}."
                ),
            )
        };
        if addressed {
            return Err(in_use("network interfaces in its subnet have IPv6 addresses"));
        }
        if subnet.assign_ipv6 {
            return Err(in_use("its subnet has assign-ipv6-address-on-creation set to true"));
        }
        if subnet.ipv6_native() {
            return Err(in_use("its subnet is IPv6-only"));
        }
        let mut subnet = (*subnet).clone();
        let pos = subnet.ipv6.iter().position(|b| b.association_id == id).unwrap_or_default();
        let block = subnet.ipv6.remove(pos);
        tx.put(&scope, subnet.clone())?;
        Ok::<_, ApiError>((subnet, block))
    })?;
    Ok(Output::new(dto::DisassociateSubnetCidrBlockResult {
        ipv6_cidr_block_association: Some(subnet_association(&block, "disassociating")),
        subnet_id: Some(subnet.id),
    }))
}

/// `requested` addresses and `count` more from `subnet`'s block, all free: what an interface
/// takes.
pub fn allocate(
    tx: &Tx<'_>,
    scope: &Scope,
    subnet: &Subnet,
    requested: &[String],
    count: usize,
) -> ApiResult<Vec<String>> {
    if requested.is_empty() && count == 0 {
        return Ok(Vec::new());
    }
    let Some(block) = subnet.ipv6.first() else {
        return Err(ApiError::invalid_parameter_value(format!(
            "You must specify an IPv6 CIDR block for subnet {} to assign IPv6 addresses",
            subnet.id
        )));
    };
    let net = net_of(block);
    let mut used: std::collections::HashSet<u128> = tx
        .list_in::<NetworkInterface>(scope, &subnet.vpc_id)
        .iter()
        .filter(|e| e.subnet_id == subnet.id)
        .flat_map(|e| {
            e.ipv6
                .iter()
                .filter_map(|a| a.parse::<Ipv6Addr>().ok())
                .map(u128::from)
                .collect::<Vec<_>>()
        })
        .collect();
    let mut out = Vec::new();
    for raw in requested {
        let ip: Ipv6Addr = raw.parse().map_err(|_| {
            ApiError::invalid_parameter_value(format!("Invalid IPv6 address: {raw}"))
        })?;
        let n = u128::from(ip);
        if !net.contains_ip(n) {
            return Err(ApiError::invalid_parameter_value(format!(
                "Address {raw} does not fall within the subnet's address range"
            )));
        }
        if !used.insert(n) {
            return Err(ApiError::new(
                "InvalidIPAddress.InUse",
                "The specified address is already in use.",
            ));
        }
        out.push(ip.to_string());
    }
    // AWS's first four addresses and the last of the block are reserved, as in IPv4.
    let mut next = net.base + 4;
    while out.len() < requested.len() + count {
        if !used.contains(&next) {
            used.insert(next);
            out.push(Ipv6Addr::from(next).to_string());
        }
        next += 1;
    }
    Ok(out)
}

pub fn assign_ipv6_addresses(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::AssignIpv6AddressesRequest = typed(input)?;
    if req.ipv6_prefixes.is_some() || req.ipv6_prefix_count.is_some() {
        return Err(ApiError::new(
            "Unsupported",
            "Airlock does not emulate IPv6 prefix delegation.",
        ));
    }
    let wanted = req.ipv6_addresses.clone().unwrap_or_default();
    let count = req.ipv6_address_count.unwrap_or(0).max(0) as usize;
    if wanted.is_empty() == (count == 0) {
        return Err(ApiError::new(
            "InvalidParameterCombination",
            "Specify either IPv6 addresses or an IPv6 address count.",
        ));
    }
    let scope = ctx.scope();
    let assigned = ctx.store.write(|tx| {
        let mut e = (*super::eni::get(tx, &scope, &req.network_interface_id)?).clone();
        let subnet = subnet::get_subnet(tx, &scope, &e.subnet_id)?;
        let ips = allocate(tx, &scope, &subnet, &wanted, count)?;
        e.ipv6.extend(ips.iter().cloned());
        tx.put(&scope, e)?;
        Ok::<_, ApiError>(ips)
    })?;
    Ok(Output::new(dto::AssignIpv6AddressesResult {
        assigned_ipv6_addresses: Some(assigned),
        assigned_ipv6_prefixes: Some(Vec::new()),
        network_interface_id: Some(req.network_interface_id),
    }))
}

pub fn unassign_ipv6_addresses(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::UnassignIpv6AddressesRequest = typed(input)?;
    let doomed: Vec<String> = req
        .ipv6_addresses
        .clone()
        .unwrap_or_default()
        .iter()
        .map(|a| {
            a.parse::<Ipv6Addr>()
                .map(|ip| ip.to_string())
                .unwrap_or_else(|_| a.clone())
        })
        .collect();
    let scope = ctx.scope();
    ctx.store.write(|tx| {
        let mut e = (*super::eni::get(tx, &scope, &req.network_interface_id)?).clone();
        for a in &doomed {
            if !e.ipv6.contains(a) {
                return Err(ApiError::invalid_parameter_value(format!(
                    "Some of the specified addresses are not assigned to interface {}",
                    e.id
                )));
            }
        }
        e.ipv6.retain(|a| !doomed.contains(a));
        tx.put(&scope, e)?;
        Ok::<_, ApiError>(())
    })?;
    Ok(Output::new(dto::UnassignIpv6AddressesResult {
        network_interface_id: Some(req.network_interface_id),
        unassigned_ipv6_addresses: Some(doomed),
        unassigned_ipv6_prefixes: Some(Vec::new()),
    }))
}

// ------------------------------------------------------------------------------------------------
// Egress-only internet gateways

/// An egress-only internet gateway: outbound IPv6 from its VPC (`::/0` routes to it).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EgressOnlyGateway {
    /// `eigw-` and 17 hex digits.
    pub id: String,
    pub vpc_id: String,
    pub tags: Vec<Tag>,
    pub client_token: Option<String>,
}

airlock_store::record!(EgressOnlyGateway, "ec2.egress_only_gateway", id);

impl common::Idempotent for EgressOnlyGateway {
    fn client_token(&self) -> Option<&str> {
        self.client_token.as_deref()
    }
}

impl EgressOnlyGateway {
    fn out(&self) -> dto::EgressOnlyInternetGateway {
        dto::EgressOnlyInternetGateway {
            attachments: Some(vec![dto::InternetGatewayAttachment {
                state: Some("attached".into()),
                vpc_id: Some(self.vpc_id.clone()),
            }]),
            egress_only_internet_gateway_id: Some(self.id.clone()),
            tags: Some(common::tags_dto(&self.tags)),
        }
    }
}

impl Filterable for EgressOnlyGateway {
    fn field(&self, name: &str) -> Field {
        match name {
            "egress-only-internet-gateway-id" => one(&self.id),
            "attachment.vpc-id" => one(&self.vpc_id),
            "attachment.state" => one("attached"),
            _ => None,
        }
    }
    fn tags(&self) -> &[Tag] {
        &self.tags
    }
}

pub fn get_gateway(
    tx: &Tx<'_>,
    scope: &Scope,
    id: &str,
) -> ApiResult<std::sync::Arc<EgressOnlyGateway>> {
    tx.get::<EgressOnlyGateway>(scope, id)
        .ok_or_else(|| common::not_found("InvalidGatewayID.NotFound", "eigw", id))
}

pub fn create_egress_only_internet_gateway(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::CreateEgressOnlyInternetGatewayRequest = typed(input)?;
    let tags = common::tags_from_specs(input, "egress-only-internet-gateway")?;
    let scope = ctx.scope();
    let g = ctx.store.write(|tx| {
        vpc::get_vpc(tx, &scope, &req.vpc_id)?;
        if let Some(same) =
            common::made_with_token::<EgressOnlyGateway>(tx, &scope, req.client_token.as_deref())
        {
            return Ok((*same).clone());
        }
        let g = EgressOnlyGateway {
            id: ids::resource_id("eigw"),
            vpc_id: req.vpc_id.clone(),
            tags,
            client_token: req.client_token.clone(),
        };
        tx.put(&scope, g.clone())?;
        Ok::<_, ApiError>(g)
    })?;
    Ok(Output::new(dto::CreateEgressOnlyInternetGatewayResult {
        client_token: req.client_token,
        egress_only_internet_gateway: Some(g.out()),
    }))
}

pub fn describe_egress_only_internet_gateways(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::DescribeEgressOnlyInternetGatewaysRequest = typed(input)?;
    let ids = req.egress_only_internet_gateway_ids.unwrap_or_default();
    let scope = ctx.scope();
    let mut all = ctx.store.read(|v| v.list::<EgressOnlyGateway>(&scope));
    all.sort_by(|a, b| a.id.cmp(&b.id));
    let missing = (
        "InvalidEgressOnlyInternetGatewayId.NotFound",
        "egressOnlyInternetGateway",
    );
    let (page, next) = common::select(all, input, &ids, missing, (5, 255))?;
    Ok(Output::new(dto::DescribeEgressOnlyInternetGatewaysResult {
        egress_only_internet_gateways: Some(page.iter().map(|g| g.out()).collect()),
        next_token: next,
    }))
}

pub fn delete_egress_only_internet_gateway(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let id = input::req(input, "EgressOnlyInternetGatewayId")?.to_owned();
    let scope = ctx.scope();
    ctx.store.write(|tx| {
        let g = tx.get::<EgressOnlyGateway>(&scope, &id).ok_or_else(|| {
            common::not_found(
                "InvalidEgressOnlyInternetGatewayId.NotFound",
                "egressOnlyInternetGateway",
                &id,
            )
        })?;
        tx.delete::<EgressOnlyGateway>(&scope, &g.id);
        Ok::<_, ApiError>(())
    })?;
    Ok(Output::new(dto::DeleteEgressOnlyInternetGatewayResult {
        return_code: Some(true),
    }))
}

/// The IPv6 block of a VPC in a filter's terms.
pub fn vpc_field(vpc: &Vpc, name: &str) -> Field {
    match name {
        "ipv6-cidr-block-association.ipv6-pool" => {
            Some(vpc.ipv6.iter().map(|_| "Amazon".to_owned()).collect())
        }
        _ => blocks_field(&vpc.ipv6, name),
    }
}

/// The IPv6 block of a subnet in a filter's terms.
pub fn subnet_field(s: &Subnet, name: &str) -> Field {
    match name {
        "assign-ipv6-address-on-creation" => common::flag(s.assign_ipv6),
        "ipv6-native" => common::flag(s.ipv6_native()),
        _ => blocks_field(&s.ipv6, name),
    }
}

/// The `ipv6-cidr-block-association.*` filters a VPC's and a subnet's IPv6 blocks share.
fn blocks_field(blocks: &[vpc_cidr::Block], name: &str) -> Field {
    match name {
        "ipv6-cidr-block-association.ipv6-cidr-block" => {
            Some(blocks.iter().map(|b| b.cidr.clone()).collect())
        }
        "ipv6-cidr-block-association.association-id" => {
            Some(blocks.iter().map(|b| b.association_id.clone()).collect())
        }
        "ipv6-cidr-block-association.state" => {
            Some(blocks.iter().map(|_| "associated".to_owned()).collect())
        }
        _ => None,
    }
}

/// `Ipv6Addresses` of an interface as outputs show them.
pub fn addresses_json(e: &NetworkInterface) -> Value {
    Value::Array(
        e.ipv6
            .iter()
            .map(|a| json!({"Ipv6Address": a, "IsPrimaryIpv6": false}))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every Amazon-provided /56 prints with its fourth group whole (`…:xx00::/56`), so a
    /// subnet's /64 is its prefix and two more hex digits, as templates write it.
    #[test]
    fn amazon_blocks_keep_their_fourth_group() {
        let store = crate::auth::test_support::store();
        let scope = Scope::new("123456789012", "us-west-2");
        let blocks: Vec<String> = store
            .write(|tx| {
                Ok::<_, ApiError>(
                    (0..2000)
                        .map(|_| amazon_block(tx, &scope, "us-west-2"))
                        .collect(),
                )
            })
            .unwrap();
        for b in blocks {
            let net = Net::parse(&b).unwrap();
            assert_eq!(net.prefix, 56, "{b}");
            assert!(b.ends_with("00::/56") && b.matches(':').count() == 5, "{b}");
        }
    }

    #[test]
    fn blocks_parse_contain_and_print_canonically() {
        let vpc = Net::parse("2600:1f14:abc:de00::/56").unwrap();
        let sub = Net::parse("2600:1f14:0abc:de01::/64").unwrap();
        assert!(vpc.contains(&sub));
        assert!(!sub.contains(&vpc));
        assert_eq!(sub.to_string(), "2600:1f14:abc:de01::/64");
        assert!(
            Net::parse("2600:1f14:abc:de01::1/64").is_none(),
            "host bits"
        );
        assert!(Net::parse("2600:1f14::/129").is_none());
        let other = Net::parse("2600:1f14:abc:df00::/64").unwrap();
        assert!(!vpc.contains(&other));
        assert!(vpc.contains_ip(u128::from(
            "2600:1f14:abc:deff::9".parse::<Ipv6Addr>().unwrap()
        )));
    }
}
