//! Network ACLs: every VPC's default ACL, custom ACLs, their numbered entries and the subnets'
//! associations (CreateNetworkAcl, DescribeNetworkAcls, Create/Replace/DeleteNetworkAclEntry,
//! ReplaceNetworkAclAssociation, DeleteNetworkAcl).
//!
//! A VPC's default ACL exists from the VPC's creation, as on AWS, but is stored only once it
//! differs from AWS's defaults (an entry changed, tags): until then it is derived from the VPC
//! (its id is a function of the VPC's id), so VPCs made before ACLs existed have one too. A
//! subnet's association lives on the subnet (`Subnet::acl_association`); `None` is the
//! association with its VPC's default ACL, whose id is likewise derived.
//!
//! ACLs are control-plane state: the data plane does not filter traffic by them.

use super::common::{self, flag, one, Field, Filterable, Tag};
use super::subnet::Subnet;
use super::vpc::{self, Vpc};
use crate::input::{self, typed};
use crate::{ids, Ctx};
use airlock_dto::ec2 as dto;
use airlock_protocol::{ApiError, ApiResult, Output};
use airlock_store::{Read, Scope, Tx};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;

/// The catch-all rule every ACL ends with; it cannot be changed.
const LAST_RULE: i64 = 32767;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NetworkAcl {
    pub id: String,
    pub vpc_id: String,
    pub owner: String,
    pub is_default: bool,
    pub entries: Vec<Entry>,
    pub tags: Vec<Tag>,
}

airlock_store::record!(NetworkAcl, "ec2.network_acl", id, group: vpc_id);

/// One numbered rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub rule_number: i64,
    pub egress: bool,
    /// The protocol number as AWS shows it (`-1`: all).
    pub protocol: String,
    /// `allow` or `deny`.
    pub rule_action: String,
    pub cidr_block: Option<String>,
    pub ipv6_cidr_block: Option<String>,
    /// ICMP `(type, code)`.
    pub icmp: Option<(i64, i64)>,
    pub port_range: Option<(i64, i64)>,
}

/// A subnet's explicit association with an ACL (after ReplaceNetworkAclAssociation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AclAssociation {
    pub id: String,
    pub acl_id: String,
}

/// The id of `vpc_id`'s default ACL.
pub fn default_acl_id(vpc_id: &str) -> String {
    format!("acl-{}", ids::hex_of(&format!("default-acl/{vpc_id}"), 17))
}

/// The id of the association a subnet has with its VPC's default ACL until it is replaced.
fn default_association_id(subnet_id: &str) -> String {
    format!(
        "aclassoc-{}",
        ids::hex_of(&format!("acl-assoc/{subnet_id}"), 17)
    )
}

/// AWS's default ACL of a new VPC: everything allowed in and out (rule 100), then the deny-all
/// catch-all.
fn default_acl(vpc: &Vpc) -> NetworkAcl {
    let rule = |rule_number, egress, rule_action: &str| Entry {
        rule_number,
        egress,
        protocol: "-1".into(),
        rule_action: rule_action.into(),
        cidr_block: Some("0.0.0.0/0".into()),
        ipv6_cidr_block: None,
        icmp: None,
        port_range: None,
    };
    NetworkAcl {
        id: default_acl_id(&vpc.id),
        vpc_id: vpc.id.clone(),
        owner: vpc.owner.clone(),
        is_default: true,
        entries: vec![
            rule(100, true, "allow"),
            rule(LAST_RULE, true, "deny"),
            rule(100, false, "allow"),
            rule(LAST_RULE, false, "deny"),
        ],
        tags: Vec::new(),
    }
}

/// Every ACL of the scope: the stored ones and the default ACL of each VPC that has none stored.
fn all<R: Read>(r: &R, scope: &Scope) -> Vec<Arc<NetworkAcl>> {
    let mut out = r.list::<NetworkAcl>(scope);
    for vpc in r.list::<Vpc>(scope) {
        let id = default_acl_id(&vpc.id);
        if !out.iter().any(|a| a.id == id) {
            out.push(Arc::new(default_acl(&vpc)));
        }
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

/// ACL `id` of the scope, stored or derived.
fn find<R: Read>(r: &R, scope: &Scope, id: &str) -> Option<Arc<NetworkAcl>> {
    if let Some(a) = r.get::<NetworkAcl>(scope, id) {
        return Some(a);
    }
    r.list::<Vpc>(scope)
        .into_iter()
        .find(|v| default_acl_id(&v.id) == id)
        .map(|v| Arc::new(default_acl(&v)))
}

fn get<R: Read>(r: &R, scope: &Scope, id: &str) -> ApiResult<Arc<NetworkAcl>> {
    find(r, scope, id)
        .ok_or_else(|| common::not_found("InvalidNetworkAclID.NotFound", "networkAcl", id))
}

/// Stores a derived default ACL so that it can be changed (CreateTags names it).
pub fn materialize(tx: &mut Tx<'_>, scope: &Scope, id: &str) -> ApiResult<()> {
    if tx.get::<NetworkAcl>(scope, id).is_none() {
        if let Some(a) = find(tx, scope, id) {
            tx.put(scope, (*a).clone())?;
        }
    }
    Ok(())
}

/// The ACL a subnet is associated with, and the association's id.
fn association_of(subnet: &Subnet) -> (String, String) {
    match &subnet.acl_association {
        Some(a) => (a.id.clone(), a.acl_id.clone()),
        None => (
            default_association_id(&subnet.id),
            default_acl_id(&subnet.vpc_id),
        ),
    }
}

/// Whether VPC `vpc_id` has ACLs of its own (custom ones) that keep it from being deleted.
pub fn has_custom<R: Read>(r: &R, scope: &Scope, vpc_id: &str) -> bool {
    r.list::<NetworkAcl>(scope)
        .iter()
        .any(|a| a.vpc_id == vpc_id && !a.is_default)
}

/// Forgets a deleted VPC's default ACL.
pub fn forget_vpc(tx: &mut Tx<'_>, scope: &Scope, vpc_id: &str) {
    tx.delete::<NetworkAcl>(scope, &default_acl_id(vpc_id));
}

/// One ACL with its associations, as DescribeNetworkAcls shows and filters it.
struct Row {
    acl: Arc<NetworkAcl>,
    /// `(association id, subnet id)`.
    associations: Vec<(String, String)>,
}

impl Row {
    fn out(&self) -> dto::NetworkAcl {
        let a = &self.acl;
        let mut entries = a.entries.clone();
        // AWS lists the egress rules first, each direction by rule number.
        entries.sort_by_key(|e| (!e.egress, e.rule_number));
        dto::NetworkAcl {
            associations: Some(
                self.associations
                    .iter()
                    .map(|(assoc, subnet)| dto::NetworkAclAssociation {
                        network_acl_association_id: Some(assoc.clone()),
                        network_acl_id: Some(a.id.clone()),
                        subnet_id: Some(subnet.clone()),
                    })
                    .collect(),
            ),
            entries: Some(entries.iter().map(entry_out).collect()),
            is_default: Some(a.is_default),
            network_acl_id: Some(a.id.clone()),
            owner_id: Some(a.owner.clone()),
            tags: Some(common::tags_dto(&a.tags)),
            vpc_id: Some(a.vpc_id.clone()),
        }
    }
}

fn entry_out(e: &Entry) -> dto::NetworkAclEntry {
    dto::NetworkAclEntry {
        cidr_block: e.cidr_block.clone(),
        egress: Some(e.egress),
        icmp_type_code: e.icmp.map(|(t, c)| dto::IcmpTypeCode {
            code: Some(c),
            r#type: Some(t),
        }),
        ipv6_cidr_block: e.ipv6_cidr_block.clone(),
        port_range: e.port_range.map(|(from, to)| dto::PortRange {
            from: Some(from),
            to: Some(to),
        }),
        protocol: Some(e.protocol.clone()),
        rule_action: Some(e.rule_action.clone()),
        rule_number: Some(e.rule_number),
    }
}

impl Filterable for Row {
    fn field(&self, name: &str) -> Field {
        let a = &self.acl;
        let each = |f: &dyn Fn(&Entry) -> Option<String>| -> Field {
            Some(a.entries.iter().filter_map(f).collect())
        };
        match name {
            "network-acl-id" => one(&a.id),
            "vpc-id" => one(&a.vpc_id),
            "owner-id" => one(&a.owner),
            "default" => flag(a.is_default),
            "association.association-id" => {
                Some(self.associations.iter().map(|(x, _)| x.clone()).collect())
            }
            "association.network-acl-id" => {
                Some(self.associations.iter().map(|_| a.id.clone()).collect())
            }
            "association.subnet-id" => {
                Some(self.associations.iter().map(|(_, s)| s.clone()).collect())
            }
            "entry.cidr" => each(&|e| e.cidr_block.clone()),
            "entry.ipv6-cidr" => each(&|e| e.ipv6_cidr_block.clone()),
            "entry.egress" => each(&|e| Some(e.egress.to_string())),
            "entry.protocol" => each(&|e| Some(e.protocol.clone())),
            "entry.rule-action" => each(&|e| Some(e.rule_action.clone())),
            "entry.rule-number" => each(&|e| Some(e.rule_number.to_string())),
            "entry.icmp.type" => each(&|e| e.icmp.map(|(t, _)| t.to_string())),
            "entry.icmp.code" => each(&|e| e.icmp.map(|(_, c)| c.to_string())),
            "entry.port-range.from" => each(&|e| e.port_range.map(|(f, _)| f.to_string())),
            "entry.port-range.to" => each(&|e| e.port_range.map(|(_, t)| t.to_string())),
            _ => None,
        }
    }
    fn tags(&self) -> &[Tag] {
        &self.acl.tags
    }
}

fn rows<R: Read>(r: &R, scope: &Scope) -> Vec<Row> {
    let subnets = r.list::<Subnet>(scope);
    all(r, scope)
        .into_iter()
        .map(|acl| {
            let mut associations: Vec<(String, String)> = subnets
                .iter()
                .filter(|s| s.vpc_id == acl.vpc_id)
                .map(|s| (association_of(s), s.id.clone()))
                .filter(|((_, acl_id), _)| *acl_id == acl.id)
                .map(|((assoc, _), subnet)| (assoc, subnet))
                .collect();
            associations.sort_by(|x, y| x.1.cmp(&y.1));
            Row { acl, associations }
        })
        .collect()
}

pub fn create_network_acl(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::CreateNetworkAclRequest = typed(input)?;
    let tags = common::tags_from_specs(input, "network-acl")?;
    let scope = ctx.scope();
    let acl = ctx.store.write(|tx| {
        let vpc = vpc::get_vpc(tx, &scope, &req.vpc_id)?;
        let rule = |egress| Entry {
            rule_number: LAST_RULE,
            egress,
            protocol: "-1".into(),
            rule_action: "deny".into(),
            cidr_block: Some("0.0.0.0/0".into()),
            ipv6_cidr_block: None,
            icmp: None,
            port_range: None,
        };
        let acl = NetworkAcl {
            id: ids::resource_id("acl"),
            vpc_id: vpc.id.clone(),
            owner: ctx.account().to_owned(),
            is_default: false,
            entries: vec![rule(true), rule(false)],
            tags,
        };
        tx.put(&scope, acl.clone())?;
        Ok::<_, ApiError>(acl)
    })?;
    let row = Row {
        acl: Arc::new(acl),
        associations: Vec::new(),
    };
    Ok(Output::new(dto::CreateNetworkAclResult {
        client_token: req.client_token,
        network_acl: Some(row.out()),
    }))
}

pub fn describe_network_acls(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::DescribeNetworkAclsRequest = typed(input)?;
    let ids = req.network_acl_ids.unwrap_or_default();
    let scope = ctx.scope();
    let all = ctx.store.read(|v| rows(v, &scope));
    fn id(r: &Row) -> &str {
        &r.acl.id
    }
    common::require_all(&all, &ids, id, |absent| {
        common::not_found("InvalidNetworkAclID.NotFound", "networkAcl", absent)
    })?;
    let kept = common::kept(all, input, &ids, id)?;
    let (page, next) = common::paginate(kept, input, (5, 1000), !ids.is_empty(), |r| id(r).into())?;
    Ok(Output::new(dto::DescribeNetworkAclsResult {
        network_acls: Some(page.iter().map(Row::out).collect()),
        next_token: next,
    }))
}

pub fn delete_network_acl(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::DeleteNetworkAclRequest = typed(input)?;
    let scope = ctx.scope();
    ctx.store.write(|tx| {
        let acl = get(tx, &scope, &req.network_acl_id)?;
        if acl.is_default {
            return Err(ApiError::new(
                "InvalidParameterValue",
                format!("cannot delete default network ACL {}", acl.id),
            ));
        }
        let in_use = tx
            .list::<Subnet>(&scope)
            .iter()
            .any(|s| association_of(s).1 == acl.id);
        if in_use {
            return Err(common::dependency("networkAcl", &acl.id));
        }
        tx.delete::<NetworkAcl>(&scope, &acl.id);
        Ok(())
    })?;
    Ok(Output::new(serde_json::json!({})))
}

/// A rule as CreateNetworkAclEntry and ReplaceNetworkAclEntry give it, checked as AWS checks it.
struct EntryRequest<'a> {
    rule_number: i64,
    egress: bool,
    protocol: &'a str,
    rule_action: &'a str,
    cidr_block: Option<&'a str>,
    ipv6_cidr_block: Option<&'a str>,
    icmp: Option<&'a dto::IcmpTypeCode>,
    port_range: Option<&'a dto::PortRange>,
}

/// The protocol number AWS stores for `raw` (`tcp` → `6`; `all` → `-1`).
fn protocol_number(raw: &str) -> ApiResult<String> {
    let n = match raw.to_ascii_lowercase().as_str() {
        "-1" | "all" => return Ok("-1".into()),
        "tcp" => 6,
        "udp" => 17,
        "icmp" => 1,
        "icmpv6" => 58,
        other => match other.parse::<u8>() {
            Ok(n) => n,
            Err(_) => {
                return Err(ApiError::invalid_parameter_value(format!(
                    "Invalid value '{raw}' for IP protocol. Unknown protocol."
                )))
            }
        },
    };
    Ok(n.to_string())
}

impl EntryRequest<'_> {
    fn check(&self) -> ApiResult<Entry> {
        if !(1..LAST_RULE).contains(&self.rule_number) {
            return Err(ApiError::invalid_parameter_value(format!(
                "Value ({}) for parameter ruleNumber is invalid. Rule number must be between 1 and 32766.",
                self.rule_number
            )));
        }
        let action = self.rule_action.to_ascii_lowercase();
        if action != "allow" && action != "deny" {
            return Err(ApiError::invalid_parameter_value(format!(
                "Value ({}) for parameter ruleAction is invalid. Valid values are allow, deny.",
                self.rule_action
            )));
        }
        let protocol = protocol_number(self.protocol)?;
        let (cidr_block, ipv6_cidr_block) = match (self.cidr_block, self.ipv6_cidr_block) {
            (Some(c), None) => {
                let parsed = super::cidr::Cidr::parse(c).ok_or_else(|| {
                    ApiError::invalid_parameter_value(format!(
                        "Value ({c}) for parameter cidrBlock is invalid. This is not a valid CIDR block."
                    ))
                })?;
                (Some(parsed.to_string()), None)
            }
            (None, Some(c)) => {
                let ok = c.split_once('/').is_some_and(|(ip, p)| {
                    ip.parse::<std::net::Ipv6Addr>().is_ok()
                        && p.parse::<u8>().is_ok_and(|p| p <= 128)
                });
                if !ok {
                    return Err(ApiError::invalid_parameter_value(format!(
                        "Value ({c}) for parameter ipv6CidrBlock is invalid. This is not a valid IPv6 CIDR block."
                    )));
                }
                (None, Some(c.to_ascii_lowercase()))
            }
            (Some(_), Some(_)) => {
                return Err(ApiError::new(
                    "InvalidParameterCombination",
                    "Only one of cidrBlock or ipv6CidrBlock may be specified.",
                ))
            }
            (None, None) => {
                return Err(ApiError::missing_parameter(
                    "Either 'cidrBlock' or 'ipv6CidrBlock' should be provided.",
                ))
            }
        };
        let port_range = match protocol.as_str() {
            "6" | "17" => {
                let Some(p) = self.port_range else {
                    return Err(ApiError::missing_parameter(
                        "The request must contain the parameter portRange",
                    ));
                };
                let (from, to) = (p.from.unwrap_or(-1), p.to.unwrap_or(-1));
                if !(0..=65535).contains(&from) || !(0..=65535).contains(&to) || from > to {
                    return Err(ApiError::invalid_parameter_value(format!(
                        "Invalid value for portRange. Must specify both from and to ports with TCP/UDP (from {from}, to {to})."
                    )));
                }
                Some((from, to))
            }
            _ => None,
        };
        let icmp = match protocol.as_str() {
            "1" | "58" => {
                let Some(i) = self.icmp else {
                    return Err(ApiError::missing_parameter(
                        "The request must contain the parameter icmpTypeCode",
                    ));
                };
                Some((i.r#type.unwrap_or(-1), i.code.unwrap_or(-1)))
            }
            _ => None,
        };
        Ok(Entry {
            rule_number: self.rule_number,
            egress: self.egress,
            protocol,
            rule_action: action,
            cidr_block,
            ipv6_cidr_block,
            icmp,
            port_range,
        })
    }
}

/// Applies `f` to the entries of ACL `id` (stored or derived) and stores the result.
fn edit_entries(
    ctx: &Ctx<'_>,
    id: &str,
    f: impl FnOnce(&mut Vec<Entry>) -> ApiResult<()>,
) -> ApiResult<()> {
    let scope = ctx.scope();
    ctx.store.write(|tx| {
        let mut acl = (*get(tx, &scope, id)?).clone();
        f(&mut acl.entries)?;
        tx.put(&scope, acl)?;
        Ok(())
    })
}

fn entry_missing(rule_number: i64, egress: bool) -> ApiError {
    ApiError::new(
        "InvalidNetworkAclEntry.NotFound",
        format!(
            "The network acl entry identified by {rule_number} ({}) does not exist.",
            if egress { "egress" } else { "ingress" }
        ),
    )
}

/// The rule a Create/ReplaceNetworkAclEntry request gives (both have the same members), checked.
fn requested_entry(input: &Value) -> ApiResult<(String, Entry)> {
    input::dry_run(input)?;
    let req: dto::CreateNetworkAclEntryRequest = typed(input)?;
    let entry = EntryRequest {
        rule_number: req.rule_number,
        egress: req.egress,
        protocol: &req.protocol,
        rule_action: &req.rule_action,
        cidr_block: req.cidr_block.as_deref(),
        ipv6_cidr_block: req.ipv6_cidr_block.as_deref(),
        icmp: req.icmp_type_code.as_ref(),
        port_range: req.port_range.as_ref(),
    }
    .check()?;
    Ok((req.network_acl_id, entry))
}

pub fn create_network_acl_entry(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let (acl_id, new) = requested_entry(input)?;
    edit_entries(ctx, &acl_id, |entries| {
        if entries
            .iter()
            .any(|e| e.rule_number == new.rule_number && e.egress == new.egress)
        {
            return Err(ApiError::new(
                "NetworkAclEntryAlreadyExists",
                format!(
                    "The network acl entry identified by {} already exists.",
                    new.rule_number
                ),
            ));
        }
        entries.push(new);
        Ok(())
    })?;
    Ok(Output::new(serde_json::json!({})))
}

pub fn replace_network_acl_entry(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let (acl_id, new) = requested_entry(input)?;
    edit_entries(ctx, &acl_id, |entries| {
        let Some(e) = entries
            .iter_mut()
            .find(|e| e.rule_number == new.rule_number && e.egress == new.egress)
        else {
            return Err(entry_missing(new.rule_number, new.egress));
        };
        *e = new;
        Ok(())
    })?;
    Ok(Output::new(serde_json::json!({})))
}

pub fn delete_network_acl_entry(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::DeleteNetworkAclEntryRequest = typed(input)?;
    if req.rule_number == LAST_RULE {
        return Err(ApiError::invalid_parameter_value(
            "Value (32767) for parameter ruleNumber is invalid. The default rule cannot be deleted.",
        ));
    }
    edit_entries(ctx, &req.network_acl_id, |entries| {
        let before = entries.len();
        entries.retain(|e| !(e.rule_number == req.rule_number && e.egress == req.egress));
        if entries.len() == before {
            return Err(entry_missing(req.rule_number, req.egress));
        }
        Ok(())
    })?;
    Ok(Output::new(serde_json::json!({})))
}

pub fn replace_network_acl_association(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::ReplaceNetworkAclAssociationRequest = typed(input)?;
    let scope = ctx.scope();
    let new_id = ctx.store.write(|tx| {
        let acl = get(tx, &scope, &req.network_acl_id)?;
        let subnet = tx
            .list::<Subnet>(&scope)
            .into_iter()
            .find(|s| association_of(s).0 == req.association_id)
            .ok_or_else(|| {
                ApiError::new(
                    "InvalidAssociationID.NotFound",
                    format!("The association ID '{}' does not exist", req.association_id),
                )
            })?;
        if subnet.vpc_id != acl.vpc_id {
            return Err(ApiError::invalid_parameter_value(format!(
                "Network ACL {} and subnet {} belong to different networks",
                acl.id, subnet.id
            )));
        }
        let id = ids::resource_id("aclassoc");
        let mut s = (*subnet).clone();
        s.acl_association = Some(AclAssociation {
            id: id.clone(),
            acl_id: acl.id.clone(),
        });
        tx.put(&scope, s)?;
        Ok::<_, ApiError>(id)
    })?;
    Ok(Output::new(dto::ReplaceNetworkAclAssociationResult {
        new_association_id: Some(new_id),
    }))
}

#[cfg(test)]
mod tests {
    use crate::auth::test_support::{ctx_as, ec2 as call, root_principal, store, vpc_with_subnet};
    use crate::{Config, Ctx};
    use serde_json::{json, Value};

    fn acls(ctx: &Ctx<'_>, input: Value) -> Vec<Value> {
        call(ctx, "DescribeNetworkAcls", input).unwrap()["NetworkAcls"]
            .as_array()
            .unwrap()
            .clone()
    }

    /// A new VPC has a default ACL (allow all, then the catch-all deny, egress listed first) that
    /// every subnet is associated with; changing it keeps its id and its associations.
    #[test]
    fn every_vpc_has_a_default_acl_that_its_subnets_use() {
        let store = store();
        let config = Config::default();
        let ctx = ctx_as(&store, &config, root_principal("123456789012"));
        let (vpc_id, subnet_id) = vpc_with_subnet(&ctx, "10.0.0.0/16", "10.0.1.0/24");
        let found = acls(
            &ctx,
            json!({"Filters": [{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "default", "Values": ["true"]}]}),
        );
        assert_eq!(found.len(), 1);
        let acl = &found[0];
        let acl_id = acl["NetworkAclId"].as_str().unwrap().to_owned();
        assert!(acl_id.starts_with("acl-"));
        let rules: Vec<(bool, i64, &str)> = acl["Entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["Egress"].as_bool().unwrap(),
                    e["RuleNumber"].as_i64().unwrap(),
                    e["RuleAction"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            rules,
            [
                (true, 100, "allow"),
                (true, 32767, "deny"),
                (false, 100, "allow"),
                (false, 32767, "deny")
            ]
        );
        assert_eq!(acl["Associations"][0]["SubnetId"], subnet_id.as_str());

        // Terraform's aws_default_network_acl: drop rule 100 both ways, add one.
        for egress in [true, false] {
            call(
                &ctx,
                "DeleteNetworkAclEntry",
                json!({"NetworkAclId": acl_id, "RuleNumber": 100, "Egress": egress}),
            )
            .unwrap();
        }
        call(
            &ctx,
            "CreateNetworkAclEntry",
            json!({"NetworkAclId": acl_id, "RuleNumber": 110, "Egress": false, "Protocol": "6",
                   "RuleAction": "allow", "CidrBlock": "10.0.0.0/16", "PortRange": {"From": 443, "To": 443}}),
        )
        .unwrap();
        let again = acls(&ctx, json!({"NetworkAclIds": [acl_id]}));
        assert_eq!(again[0]["Entries"].as_array().unwrap().len(), 3);
        assert_eq!(again[0]["Associations"][0]["SubnetId"], subnet_id.as_str());
        // Egress 32767, then ingress 110 and 32767.
        assert_eq!(again[0]["Entries"][1]["PortRange"]["From"], 443);

        // A duplicate rule, a missing one and the catch-all are refused.
        let dup = call(
            &ctx,
            "CreateNetworkAclEntry",
            json!({"NetworkAclId": acl_id, "RuleNumber": 110, "Egress": false, "Protocol": "-1",
                   "RuleAction": "deny", "CidrBlock": "0.0.0.0/0"}),
        )
        .unwrap_err();
        assert_eq!(dup.code, "NetworkAclEntryAlreadyExists");
        let missing = call(
            &ctx,
            "DeleteNetworkAclEntry",
            json!({"NetworkAclId": acl_id, "RuleNumber": 100, "Egress": true}),
        )
        .unwrap_err();
        assert_eq!(missing.code, "InvalidNetworkAclEntry.NotFound");
        let tcp_without_ports = call(
            &ctx,
            "CreateNetworkAclEntry",
            json!({"NetworkAclId": acl_id, "RuleNumber": 120, "Egress": false, "Protocol": "6",
                   "RuleAction": "allow", "CidrBlock": "10.0.0.0/16"}),
        )
        .unwrap_err();
        assert_eq!(tcp_without_ports.code, "MissingParameter");
        let default = call(&ctx, "DeleteNetworkAcl", json!({"NetworkAclId": acl_id})).unwrap_err();
        assert_eq!(default.code, "InvalidParameterValue");
    }

    /// A custom ACL takes a subnet through ReplaceNetworkAclAssociation, cannot be deleted while
    /// in use, and keeps its VPC from being deleted.
    #[test]
    fn custom_acls_take_subnets_and_hold_their_vpc() {
        let store = store();
        let config = Config::default();
        let ctx = ctx_as(&store, &config, root_principal("123456789012"));
        let (vpc_id, subnet_id) = vpc_with_subnet(&ctx, "10.1.0.0/16", "10.1.1.0/24");
        let created = call(
            &ctx,
            "CreateNetworkAcl",
            json!({"VpcId": vpc_id, "TagSpecifications": [{"ResourceType": "network-acl", "Tags": [{"Key": "Name", "Value": "private"}]}]}),
        )
        .unwrap();
        let custom = created["NetworkAcl"]["NetworkAclId"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(created["NetworkAcl"]["IsDefault"], false);
        assert_eq!(created["NetworkAcl"]["Tags"][0]["Value"], "private");
        let assoc = acls(
            &ctx,
            json!({"Filters": [{"Name": "association.subnet-id", "Values": [subnet_id]}]}),
        )[0]["Associations"][0]["NetworkAclAssociationId"]
            .as_str()
            .unwrap()
            .to_owned();
        let replaced = call(
            &ctx,
            "ReplaceNetworkAclAssociation",
            json!({"AssociationId": assoc, "NetworkAclId": custom}),
        )
        .unwrap();
        let new_assoc = replaced["NewAssociationId"].as_str().unwrap().to_owned();
        assert_ne!(new_assoc, assoc);
        let now = acls(&ctx, json!({"NetworkAclIds": [custom]}));
        assert_eq!(now[0]["Associations"][0]["SubnetId"], subnet_id.as_str());
        assert_eq!(
            now[0]["Associations"][0]["NetworkAclAssociationId"],
            new_assoc.as_str()
        );
        let busy = call(&ctx, "DeleteNetworkAcl", json!({"NetworkAclId": custom})).unwrap_err();
        assert_eq!(busy.code, "DependencyViolation");
        let old = call(
            &ctx,
            "ReplaceNetworkAclAssociation",
            json!({"AssociationId": assoc, "NetworkAclId": custom}),
        )
        .unwrap_err();
        assert_eq!(old.code, "InvalidAssociationID.NotFound");

        // Back to the default ACL, then the custom one can go, and with it the VPC.
        call(&ctx, "DeleteSubnet", json!({"SubnetId": subnet_id})).unwrap();
        let held = call(&ctx, "DeleteVpc", json!({"VpcId": vpc_id})).unwrap_err();
        assert_eq!(held.code, "DependencyViolation");
        call(&ctx, "DeleteNetworkAcl", json!({"NetworkAclId": custom})).unwrap();
        call(&ctx, "DeleteVpc", json!({"VpcId": vpc_id})).unwrap();
        let gone = call(
            &ctx,
            "DescribeNetworkAcls",
            json!({"NetworkAclIds": [custom]}),
        )
        .unwrap_err();
        assert_eq!(gone.code, "InvalidNetworkAclID.NotFound");
        assert!(acls(
            &ctx,
            json!({"Filters": [{"Name": "vpc-id", "Values": [vpc_id]}]})
        )
        .is_empty());
    }
}
