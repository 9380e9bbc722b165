//! CreateTags, DeleteTags and DescribeTags over every taggable EC2 resource.

use super::common::{self, one, Field, Filterable, Tag};
use super::{
    clientvpn, dhcp, eni, igw, instances, ipv6, keypair, nacl, nat, prefix_lists, routes, sg,
    subnet, vpc, vpce,
};
use crate::input::{self, typed};
use crate::Ctx;
use airlock_dto::ec2 as dto;
use airlock_protocol::{ApiError, ApiResult, Output};
use airlock_store::{Record, Scope, Tx, View};
use serde_json::Value;

/// Resources whose tags can be edited.
trait Tagged: Record + Clone {
    fn tags(&self) -> &[Tag];
    fn tags_mut(&mut self) -> &mut Vec<Tag>;
    /// The VPC it is in (`ec2:Vpc`), for the kinds that are in one.
    fn vpc_id(&self) -> Option<&str>;
}

/// `tagged!(Kind, ...)`; `tagged!(in_vpc: Kind, ...)` for kinds that are in a VPC.
macro_rules! tagged {
    (@vpc $s:ident []) => { None };
    (@vpc $s:ident [in_vpc]) => { Some(&$s.vpc_id) };
    (@impl $vpc:tt $($t:ty),*) => {$(
        impl Tagged for $t {
            fn tags(&self) -> &[Tag] {
                &self.tags
            }
            fn tags_mut(&mut self) -> &mut Vec<Tag> {
                &mut self.tags
            }
            fn vpc_id(&self) -> Option<&str> {
                tagged!(@vpc self $vpc)
            }
        }
    )*};
    (in_vpc: $($t:ty),*) => { tagged!(@impl [in_vpc] $($t),*); };
    ($($t:ty),*) => { tagged!(@impl [] $($t),*); };
}

tagged!(
    vpc::Vpc,
    igw::InternetGateway,
    nat::Address,
    nat::NatGateway,
    keypair::KeyPair,
    dhcp::DhcpOptions,
    prefix_lists::PrefixList
);
tagged!(in_vpc: ipv6::EgressOnlyGateway);
tagged!(
    in_vpc: subnet::Subnet,
    sg::SecurityGroup,
    routes::RouteTable,
    eni::NetworkInterface,
    vpce::VpcEndpoint,
    instances::Instance,
    nacl::NetworkAcl
);

/// A Client VPN endpoint is in a VPC once it has one.
impl Tagged for clientvpn::ClientVpnEndpoint {
    fn tags(&self) -> &[Tag] {
        &self.tags
    }
    fn tags_mut(&mut self) -> &mut Vec<Tag> {
        &mut self.tags
    }
    fn vpc_id(&self) -> Option<&str> {
        self.vpc_id.as_deref()
    }
}

/// The resource type EC2 reports for an id, and its not-found error.
fn kind_of(id: &str) -> Option<(&'static str, &'static str, &'static str)> {
    let prefix = id.split('-').next().unwrap_or("");
    Some(match prefix {
        "vpc" => ("vpc", "InvalidVpcID.NotFound", "vpc"),
        "subnet" => ("subnet", "InvalidSubnetID.NotFound", "subnet"),
        "sg" => ("security-group", "InvalidGroup.NotFound", "security group"),
        "rtb" => ("route-table", "InvalidRouteTableID.NotFound", "routeTable"),
        "igw" => (
            "internet-gateway",
            "InvalidInternetGatewayID.NotFound",
            "internetGateway",
        ),
        "eipalloc" => ("elastic-ip", "InvalidAllocationID.NotFound", "allocation"),
        "nat" => ("natgateway", "InvalidNatGatewayID.NotFound", "natGateway"),
        "eni" => (
            "network-interface",
            "InvalidNetworkInterfaceID.NotFound",
            "network interface",
        ),
        "vpce" => (
            "vpc-endpoint",
            "InvalidVpcEndpointId.NotFound",
            "Vpc Endpoint",
        ),
        "key" => ("key-pair", "InvalidKeyPair.NotFound", "key pair"),
        "i" => ("instance", "InvalidInstanceID.NotFound", "instance"),
        "acl" => ("network-acl", "InvalidNetworkAclID.NotFound", "networkAcl"),
        "dopt" => ("dhcp-options", "InvalidDhcpOptionID.NotFound", "dhcpOption"),
        "pl" => ("prefix-list", "InvalidPrefixListID.NotFound", "prefix list"),
        "eigw" => (
            "egress-only-internet-gateway",
            "InvalidEgressOnlyInternetGatewayId.NotFound",
            "egressOnlyInternetGateway",
        ),
        "cvpn" if id.starts_with("cvpn-endpoint-") => (
            "client-vpn-endpoint",
            "InvalidClientVpnEndpointId.NotFound",
            "Client VPN endpoint",
        ),
        "sgr" => (
            "security-group-rule",
            "InvalidSecurityGroupRuleId.NotFound",
            "security group rule",
        ),
        _ => return None,
    })
}

/// The type an EC2 id names in ARNs (`vpc-…` → `vpc`, `sg-…` → `security-group`), if it has
/// the form of one (`<prefix>-<hex>`).
pub fn resource_type(id: &str) -> Option<&'static str> {
    let hex = match id.strip_prefix("cvpn-endpoint-") {
        Some(hex) => hex,
        None => id.split_once('-')?.1,
    };
    if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    kind_of(id).map(|(t, _, _)| t)
}

/// What IAM conditions may read of a resource: its tags (as (key, value) pairs) and the VPC it
/// is in.
#[derive(Debug, Default)]
pub struct Facts {
    pub tags: Vec<(String, String)>,
    pub vpc_id: Option<String>,
}

/// The [`Facts`] of resource `id` (any taggable kind that is stored; none otherwise).
pub fn facts(v: &View<'_>, scope: &Scope, id: &str) -> Facts {
    fn of<T: Tagged>(v: &View<'_>, scope: &Scope, id: &str) -> Facts {
        v.get::<T>(scope, id)
            .map(|r| Facts {
                tags: r
                    .tags()
                    .iter()
                    .map(|t| (t.key.clone(), t.value.clone()))
                    .collect(),
                vpc_id: r.vpc_id().map(str::to_owned),
            })
            .unwrap_or_default()
    }
    match resource_type(id) {
        Some("vpc") => of::<vpc::Vpc>(v, scope, id),
        Some("subnet") => of::<subnet::Subnet>(v, scope, id),
        Some("security-group") => of::<sg::SecurityGroup>(v, scope, id),
        Some("route-table") => of::<routes::RouteTable>(v, scope, id),
        Some("internet-gateway") => of::<igw::InternetGateway>(v, scope, id),
        Some("elastic-ip") => of::<nat::Address>(v, scope, id),
        Some("natgateway") => of::<nat::NatGateway>(v, scope, id),
        Some("network-interface") => of::<eni::NetworkInterface>(v, scope, id),
        Some("vpc-endpoint") => of::<vpce::VpcEndpoint>(v, scope, id),
        Some("instance") => of::<instances::Instance>(v, scope, id),
        Some("network-acl") => of::<nacl::NetworkAcl>(v, scope, id),
        Some("dhcp-options") => of::<dhcp::DhcpOptions>(v, scope, id),
        Some("prefix-list") => of::<prefix_lists::PrefixList>(v, scope, id),
        Some("egress-only-internet-gateway") => of::<ipv6::EgressOnlyGateway>(v, scope, id),
        Some("client-vpn-endpoint") => of::<clientvpn::ClientVpnEndpoint>(v, scope, id),
        Some("security-group-rule") => v
            .list::<sg::SecurityGroup>(scope)
            .iter()
            .find_map(|g| {
                let r = g.rules.iter().find(|r| r.id == id)?;
                Some(Facts {
                    tags: r
                        .tags
                        .iter()
                        .map(|t| (t.key.clone(), t.value.clone()))
                        .collect(),
                    vpc_id: Some(g.vpc_id.clone()),
                })
            })
            .unwrap_or_default(),
        _ => Facts::default(),
    }
}

fn edit<T: Tagged>(
    tx: &mut Tx<'_>,
    scope: &Scope,
    id: &str,
    f: &dyn Fn(&mut Vec<Tag>) -> ApiResult<()>,
) -> ApiResult<bool> {
    let Some(r) = tx.get::<T>(scope, id) else {
        return Ok(false);
    };
    let mut r = (*r).clone();
    f(r.tags_mut())?;
    tx.put(scope, r)?;
    Ok(true)
}

fn edit_any(
    tx: &mut Tx<'_>,
    scope: &Scope,
    id: &str,
    f: &dyn Fn(&mut Vec<Tag>) -> ApiResult<()>,
) -> ApiResult<()> {
    let Some((_, code, what)) = kind_of(id) else {
        return Err(ApiError::new(
            "InvalidID",
            format!("The ID '{id}' is not valid"),
        ));
    };
    let found = match code {
        "InvalidVpcID.NotFound" => edit::<vpc::Vpc>(tx, scope, id, f)?,
        "InvalidSubnetID.NotFound" => edit::<subnet::Subnet>(tx, scope, id, f)?,
        "InvalidGroup.NotFound" => edit::<sg::SecurityGroup>(tx, scope, id, f)?,
        "InvalidRouteTableID.NotFound" => edit::<routes::RouteTable>(tx, scope, id, f)?,
        "InvalidInternetGatewayID.NotFound" => edit::<igw::InternetGateway>(tx, scope, id, f)?,
        "InvalidAllocationID.NotFound" => edit::<nat::Address>(tx, scope, id, f)?,
        "InvalidNatGatewayID.NotFound" => edit::<nat::NatGateway>(tx, scope, id, f)?,
        "InvalidNetworkInterfaceID.NotFound" => edit::<eni::NetworkInterface>(tx, scope, id, f)?,
        "InvalidVpcEndpointId.NotFound" => edit::<vpce::VpcEndpoint>(tx, scope, id, f)?,
        "InvalidInstanceID.NotFound" => edit::<instances::Instance>(tx, scope, id, f)?,
        "InvalidSecurityGroupRuleId.NotFound" => sg::edit_rule_tags(tx, scope, id, f)?,
        "InvalidClientVpnEndpointId.NotFound" => {
            edit::<clientvpn::ClientVpnEndpoint>(tx, scope, id, f)?
        }
        "InvalidPrefixListID.NotFound" => edit::<prefix_lists::PrefixList>(tx, scope, id, f)?,
        "InvalidEgressOnlyInternetGatewayId.NotFound" => {
            edit::<ipv6::EgressOnlyGateway>(tx, scope, id, f)?
        }
        // Default ACLs and option sets are stored once they are changed.
        "InvalidNetworkAclID.NotFound" => {
            nacl::materialize(tx, scope, id)?;
            edit::<nacl::NetworkAcl>(tx, scope, id, f)?
        }
        "InvalidDhcpOptionID.NotFound" => {
            dhcp::materialize(tx, scope, id)?;
            edit::<dhcp::DhcpOptions>(tx, scope, id, f)?
        }
        _ => edit::<keypair::KeyPair>(tx, scope, id, f)?,
    };
    if !found {
        return Err(common::not_found(code, what, id));
    }
    Ok(())
}

/// The request's tags as `(key, value if given)`.
fn tags_of(tags: Vec<dto::Tag>) -> Vec<(String, Option<String>)> {
    tags.into_iter()
        .map(|t| (t.key.unwrap_or_default(), t.value))
        .collect()
}

pub fn create_tags(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::CreateTagsRequest = typed(input)?;
    let resources = req.resources;
    if resources.is_empty() {
        return Err(ApiError::missing_parameter(
            "The request must contain the parameter resourceIdSet",
        ));
    }
    let new: Vec<Tag> = tags_of(req.tags)
        .into_iter()
        .map(|(key, value)| Tag {
            key,
            value: value.unwrap_or_default(),
        })
        .collect();
    if new.is_empty() {
        return Err(ApiError::missing_parameter(
            "The request must contain the parameter tagSet",
        ));
    }
    common::check_tags(&new)?;
    let scope = ctx.scope();
    ctx.store.write(|tx| {
        for id in &resources {
            edit_any(tx, &scope, id, &|tags| common::merge_tags(tags, &new))?;
        }
        Ok::<_, ApiError>(())
    })?;
    Ok(Output::new(()))
}

pub fn delete_tags(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::DeleteTagsRequest = typed(input)?;
    let resources = req.resources;
    if resources.is_empty() {
        return Err(ApiError::missing_parameter(
            "The request must contain the parameter resourceIdSet",
        ));
    }
    let doomed = tags_of(req.tags.unwrap_or_default());
    let scope = ctx.scope();
    ctx.store.write(|tx| {
        for id in &resources {
            edit_any(tx, &scope, id, &|tags| {
                if doomed.is_empty() {
                    tags.clear();
                }
                // A key alone deletes the tag; a key with a value only if the value matches.
                tags.retain(|t| {
                    !doomed
                        .iter()
                        .any(|(k, v)| *k == t.key && v.as_ref().is_none_or(|v| *v == t.value))
                });
                Ok(())
            })?;
        }
        Ok::<_, ApiError>(())
    })?;
    Ok(Output::new(()))
}

struct Row {
    id: String,
    resource_type: &'static str,
    tag: Tag,
}

impl Filterable for Row {
    fn field(&self, name: &str) -> Field {
        match name {
            "key" => one(&self.tag.key),
            "value" => one(&self.tag.value),
            "resource-id" => one(&self.id),
            "resource-type" => one(self.resource_type),
            _ => None,
        }
    }
    fn tags(&self) -> &[Tag] {
        std::slice::from_ref(&self.tag)
    }
}

fn rows<T: Tagged>(v: &airlock_store::View<'_>, scope: &Scope, out: &mut Vec<Row>) {
    for r in v.list::<T>(scope) {
        let id = r.id().to_owned();
        let Some((rt, _, _)) = kind_of(&id) else {
            continue;
        };
        let mut r = (*r).clone();
        for t in r.tags_mut().iter() {
            out.push(Row {
                id: id.clone(),
                resource_type: rt,
                tag: t.clone(),
            });
        }
    }
}

pub fn describe_tags(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let filters = common::filters(input);
    let scope = ctx.scope();
    let all = ctx.store.read(|v| {
        let mut out = Vec::new();
        rows::<vpc::Vpc>(v, &scope, &mut out);
        rows::<subnet::Subnet>(v, &scope, &mut out);
        rows::<sg::SecurityGroup>(v, &scope, &mut out);
        rows::<routes::RouteTable>(v, &scope, &mut out);
        rows::<igw::InternetGateway>(v, &scope, &mut out);
        rows::<nat::Address>(v, &scope, &mut out);
        rows::<nat::NatGateway>(v, &scope, &mut out);
        rows::<eni::NetworkInterface>(v, &scope, &mut out);
        rows::<vpce::VpcEndpoint>(v, &scope, &mut out);
        rows::<keypair::KeyPair>(v, &scope, &mut out);
        rows::<instances::Instance>(v, &scope, &mut out);
        rows::<nacl::NetworkAcl>(v, &scope, &mut out);
        rows::<dhcp::DhcpOptions>(v, &scope, &mut out);
        rows::<prefix_lists::PrefixList>(v, &scope, &mut out);
        rows::<ipv6::EgressOnlyGateway>(v, &scope, &mut out);
        rows::<clientvpn::ClientVpnEndpoint>(v, &scope, &mut out);
        for g in v.list::<sg::SecurityGroup>(&scope) {
            for r in &g.rules {
                out.extend(r.tags.iter().map(|t| Row {
                    id: r.id.clone(),
                    resource_type: "security-group-rule",
                    tag: t.clone(),
                }));
            }
        }
        out
    });
    let mut kept = Vec::new();
    for r in all {
        if common::matches(&r, &filters)? {
            kept.push(r);
        }
    }
    kept.sort_by(|a, b| (&a.id, &a.tag.key).cmp(&(&b.id, &b.tag.key)));
    let (page, next) = common::paginate(kept, input, (5, 1000), false, |r| {
        format!("{}\u{1}{}", r.id, r.tag.key)
    })?;
    let tags = page.into_iter().map(|r| dto::TagDescription {
        resource_id: Some(r.id),
        resource_type: Some(r.resource_type.to_owned()),
        key: Some(r.tag.key),
        value: Some(r.tag.value),
    });
    Ok(Output::new(dto::DescribeTagsResult {
        tags: Some(tags.collect()),
        next_token: next,
    }))
}
