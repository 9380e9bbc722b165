//! A VPC's CIDR blocks: the primary IPv4 block it is created with, the secondary IPv4 blocks
//! AssociateVpcCidrBlock adds (Terraform's `aws_vpc_ipv4_cidr_block_association`,
//! CloudFormation's `AWS::EC2::VPCCidrBlock`) and the Amazon-provided IPv6 /56 ([`super::ipv6`]).
//!
//! Each block has a `local` route in every route table of the VPC; a subnet lies inside one
//! block; the fabric gives every /16 that a VPC's blocks touch a loopback slot of its own
//! ([`super::fabric`]), so addresses of a secondary block are reached as the primary's are.

use super::cidr::Cidr;
use super::routes::{self, RouteTable};
use super::subnet::Subnet;
use super::vpc::{self, Vpc};
use super::{common, ipv6};
use crate::input::typed;
use crate::{ids, Ctx};
use airlock_dto::ec2 as dto;
use airlock_protocol::{ApiError, ApiResult, Output};
use airlock_store::{Scope, Tx};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A CIDR block associated with a VPC or a subnet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    /// `vpc-cidr-assoc-…` or `subnet-cidr-assoc-…`.
    pub association_id: String,
    /// Canonical text (`10.1.0.0/16`, `2600:1f14:abc:de00::/56`).
    pub cidr: String,
}

/// IPv4 blocks a VPC may have, the primary included (AWS's default quota).
pub const IPV4_BLOCKS: usize = 5;

/// Which address space a block is in, for AWS's association restrictions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Space {
    /// One of the three RFC 1918 ranges (its index).
    Private(u8),
    /// 198.19.0.0/16.
    Benchmark,
    /// Publicly routable space and 100.64.0.0/10.
    Other,
}

fn space(c: &Cidr) -> Space {
    let within = |s: &str| Cidr::parse(s).is_some_and(|r| r.contains(c));
    match ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]
        .iter()
        .position(|r| within(r))
    {
        Some(i) => Space::Private(i as u8),
        None if within("198.19.0.0/16") => Space::Benchmark,
        None => Space::Other,
    }
}

/// AWS's restrictions on a secondary block by the primary's space: a VPC in one RFC 1918 range
/// takes no block of another RFC 1918 range nor of 198.19.0.0/16; a VPC in 198.19.0.0/16 takes
/// no RFC 1918 block; any other VPC takes neither.
fn restricted(primary: &Cidr, new: &Cidr) -> bool {
    match (space(primary), space(new)) {
        (Space::Private(a), Space::Private(b)) => a != b,
        (Space::Private(_), Space::Benchmark) => true,
        (Space::Benchmark | Space::Other, Space::Private(_)) => true,
        (Space::Other, Space::Benchmark) => true,
        _ => false,
    }
}

/// Adds IPv4 block `raw` to `vpc` (and its `local` route to every table), checking AWS's rules.
fn add_ipv4_block(tx: &mut Tx<'_>, scope: &Scope, vpc: &mut Vpc, raw: &str) -> ApiResult<Block> {
    let new = Cidr::parse(raw).ok_or_else(|| {
        ApiError::invalid_parameter_value(format!(
            "Value ({raw}) for parameter cidrBlock is invalid. This is not a valid CIDR block."
        ))
    })?;
    let range = |message: String| ApiError::new("InvalidVpc.Range", message);
    if !(16..=28).contains(&new.prefix) {
        return Err(range(format!("The CIDR '{raw}' is invalid.")));
    }
    if vpc.ipv4_blocks().count() >= IPV4_BLOCKS {
        return Err(ApiError::new(
            "CidrLimitExceeded",
            format!(
                "This network '{}' has met its maximum number of allowed CIDRs: {IPV4_BLOCKS}",
                vpc.id
            ),
        ));
    }
    if restricted(&vpc.cidr(), &new) {
        return Err(range(format!(
            "The CIDR '{raw}' is restricted. Use a CIDR from the same private address range as the current VPC CIDR, or use a publicly-routable CIDR. For additional restrictions, see https://docs.aws.amazon.com/vpc/latest/userguide/vpc-cidr-blocks.html"
        )));
    }
    if let Some(other) = vpc.ipv4_cidrs().find(|b| b.overlaps(&new)) {
        return Err(range(format!(
            "The CIDR '{raw}' conflicts with the VPC's CIDR block '{other}'."
        )));
    }
    // A block may not cover a route's destination (a route to a network outside the VPC).
    for t in tx.list::<RouteTable>(scope) {
        if t.vpc_id != vpc.id {
            continue;
        }
        let covered = t
            .routes
            .iter()
            .filter(|r| r.gateway_id.as_deref() != Some("local"))
            .filter_map(|r| r.destination_cidr.as_deref())
            .find(|d| Cidr::parse(d).is_some_and(|d| new.contains(&d)));
        if let Some(d) = covered {
            return Err(range(format!(
                "The CIDR '{raw}' conflicts with the route to {d} in route table {}.",
                t.id
            )));
        }
    }
    let block = Block {
        association_id: ids::resource_id("vpc-cidr-assoc"),
        cidr: new.to_string(),
    };
    vpc.secondary.push(block.clone());
    retable(tx, scope, &vpc.id, |t| {
        t.routes.push(routes::local_route(&block.cidr))
    })?;
    Ok(block)
}

/// Applies `change` to every route table of `vpc_id`.
pub fn retable(
    tx: &mut Tx<'_>,
    scope: &Scope,
    vpc_id: &str,
    change: impl Fn(&mut RouteTable),
) -> ApiResult<()> {
    for t in tx.list::<RouteTable>(scope) {
        if t.vpc_id == vpc_id {
            let mut t = (*t).clone();
            change(&mut t);
            tx.put(scope, t)?;
        }
    }
    Ok(())
}

fn ipv4_association(b: &Block, state: &str) -> dto::VpcCidrBlockAssociation {
    dto::VpcCidrBlockAssociation {
        association_id: Some(b.association_id.clone()),
        cidr_block: Some(b.cidr.clone()),
        cidr_block_state: Some(dto::VpcCidrBlockState {
            state: Some(state.into()),
            status_message: None,
        }),
    }
}

/// `CidrBlockAssociationSet` of a VPC, as DescribeVpcs shows it: the primary block first.
pub fn ipv4_set(vpc: &Vpc) -> Vec<dto::VpcCidrBlockAssociation> {
    vpc.ipv4_blocks()
        .map(|b| ipv4_association(&b, "associated"))
        .collect()
}

pub fn associate_vpc_cidr_block(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::AssociateVpcCidrBlockRequest = typed(input)?;
    let ipv6_asked = req.amazon_provided_ipv6_cidr_block == Some(true)
        || req.ipv6_pool.is_some()
        || req.ipv6_cidr_block.is_some()
        || req.ipv6_ipam_pool_id.is_some();
    if (req.cidr_block.is_some() || req.ipv4_ipam_pool_id.is_some()) && ipv6_asked {
        return Err(ApiError::new(
            "InvalidParameterCombination",
            "An IPv4 CIDR block and an IPv6 CIDR block cannot be associated in one request.",
        ));
    }
    if let Some(pool) = &req.ipv4_ipam_pool_id {
        return Err(common::not_found(
            "InvalidIpamPoolId.NotFound",
            "pool",
            pool,
        ));
    }
    if req.ipv6_pool.is_some() || req.ipv6_cidr_block.is_some() || req.ipv6_ipam_pool_id.is_some() {
        return Err(ApiError::new(
            "InvalidIpv6Pool.ID.NotFound",
            "The account has no IPv6 address pools of its own (BYOIP); use AmazonProvidedIpv6CidrBlock.",
        ));
    }
    if req.cidr_block.is_none() && !ipv6_asked {
        return Err(ApiError::missing_parameter(
            "Either 'cidrBlock' or 'amazonProvidedIpv6CidrBlock' must be specified.",
        ));
    }
    let scope = ctx.scope();
    ctx.store.write(|tx| {
        let mut vpc = (*vpc::get_vpc(tx, &scope, &req.vpc_id)?).clone();
        let out = match req.cidr_block.as_deref() {
            Some(raw) => dto::AssociateVpcCidrBlockResult {
                cidr_block_association: Some(ipv4_association(
                    &add_ipv4_block(tx, &scope, &mut vpc, raw)?,
                    "associating",
                )),
                vpc_id: Some(vpc.id.clone()),
                ..Default::default()
            },
            None => dto::AssociateVpcCidrBlockResult {
                ipv6_cidr_block_association: Some(ipv6::vpc_association(
                    &ctx.region,
                    &ipv6::add_amazon_block(ctx, tx, &mut vpc)?,
                    "associating",
                )),
                vpc_id: Some(vpc.id.clone()),
                ..Default::default()
            },
        };
        tx.put(&scope, vpc)?;
        Ok(Output::new(out))
    })
}

pub fn disassociate_vpc_cidr_block(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::DisassociateVpcCidrBlockRequest = typed(input)?;
    let id = req.association_id.as_str();
    let scope = ctx.scope();
    ctx.store.write(|tx| {
        let vpc = tx
            .list::<Vpc>(&scope)
            .into_iter()
            .find(|v| {
                v.ipv4_blocks()
                    .chain(v.ipv6.iter().cloned())
                    .any(|b| b.association_id == id)
            })
            .ok_or_else(|| {
                ApiError::new(
                    "InvalidVpcCidrBlockAssociationID.NotFound",
                    format!("The vpc CIDR block association ID '{id}' does not exist"),
                )
            })?;
        if vpc.cidr_association_id == id {
            return Err(ApiError::new(
                "OperationNotPermitted",
                format!(
                    "The vpc CIDR block with association ID {id} may not be disassociated. It is the primary IPv4 CIDR block of the VPC"
                ),
            ));
        }
        let mut vpc = (*vpc).clone();
        let out = match vpc.secondary.iter().position(|b| b.association_id == id) {
            Some(pos) => {
                let block = vpc.secondary.remove(pos);
                let range = Cidr::parse(&block.cidr).expect("stored CIDRs are valid");
                if let Some(s) = tx
                    .list::<Subnet>(&scope)
                    .iter()
                    .find(|s| s.vpc_id == vpc.id && s.cidr().is_some_and(|c| range.contains(&c)))
                {
                    return Err(ApiError::new(
                        "DependencyViolation",
                        format!(
                            "The vpc CIDR block {} has dependencies: subnet {} is in it",
                            block.cidr, s.id
                        ),
                    ));
                }
                retable(tx, &scope, &vpc.id, |t| {
                    t.routes.retain(|r| {
                        r.gateway_id.as_deref() != Some("local")
                            || r.destination_cidr.as_deref() != Some(block.cidr.as_str())
                    })
                })?;
                dto::DisassociateVpcCidrBlockResult {
                    cidr_block_association: Some(ipv4_association(&block, "disassociating")),
                    vpc_id: Some(vpc.id.clone()),
                    ..Default::default()
                }
            }
            None => dto::DisassociateVpcCidrBlockResult {
                ipv6_cidr_block_association: Some(ipv6::vpc_association(
                    &ctx.region,
                    &ipv6::remove_amazon_block(tx, &scope, &mut vpc, id)?,
                    "disassociating",
                )),
                vpc_id: Some(vpc.id.clone()),
                ..Default::default()
            },
        };
        tx.put(&scope, vpc)?;
        Ok(Output::new(out))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Cidr {
        Cidr::parse(s).unwrap()
    }

    #[test]
    fn association_restrictions_follow_the_primary_blocks_space() {
        let ten = c("10.0.0.0/16");
        assert!(!restricted(&ten, &c("10.1.0.0/16")));
        assert!(restricted(&ten, &c("192.168.0.0/16")));
        assert!(restricted(&ten, &c("172.20.0.0/16")));
        assert!(restricted(&ten, &c("198.19.0.0/16")));
        assert!(!restricted(&ten, &c("100.64.0.0/16")));
        assert!(!restricted(&ten, &c("52.95.0.0/16")));
        let bench = c("198.19.0.0/20");
        assert!(restricted(&bench, &c("10.0.0.0/16")));
        assert!(!restricted(&bench, &c("100.64.0.0/16")));
        let shared = c("100.64.0.0/16");
        assert!(restricted(&shared, &c("172.31.0.0/16")));
        assert!(restricted(&shared, &c("198.19.0.0/24")));
        assert!(!restricted(&shared, &c("100.65.0.0/16")));
    }
}
