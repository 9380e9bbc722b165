//! Security groups and their rules.

mod rules;

pub use rules::{
    authorize_egress, authorize_ingress, describe_security_group_rules, edit_rule_tags,
    modify_security_group_rules, revoke_egress, revoke_ingress, update_descriptions_egress,
    update_descriptions_ingress,
};

use super::common::{self, one, tags_json, Field, Filterable, Tag};
use super::{eni, vpc};
use crate::{ids, input, Ctx};
use airlock_protocol::{ApiError, ApiResult};
use airlock_store::{Scope, Tx};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub id: String,
    pub egress: bool,
    /// `-1` (all), `tcp`, `udp`, `icmp`, or another protocol number.
    pub protocol: String,
    pub from_port: Option<i64>,
    pub to_port: Option<i64>,
    pub cidr_ipv4: Option<String>,
    pub cidr_ipv6: Option<String>,
    pub group_id: Option<String>,
    pub group_owner: Option<String>,
    pub prefix_list_id: Option<String>,
    pub description: Option<String>,
    /// A rule is a resource of its own (`sgr-…`) with its own tags.
    #[serde(default)]
    pub tags: Vec<Tag>,
}

impl Rule {
    /// Two rules are the same permission when their direction, traffic and peer match (the id,
    /// the peer group's owner, the description and the tags do not count).
    fn same(&self, o: &Rule) -> bool {
        self.permission() == o.permission()
    }

    fn permission(&self) -> (bool, &str, Option<i64>, Option<i64>, [&Option<String>; 4]) {
        let peer = [
            &self.cidr_ipv4,
            &self.cidr_ipv6,
            &self.group_id,
            &self.prefix_list_id,
        ];
        (
            self.egress,
            &self.protocol,
            self.from_port,
            self.to_port,
            peer,
        )
    }

    fn json(&self, group: &SecurityGroup, region: &str) -> Value {
        let mut r = json!({
            "SecurityGroupRuleId": self.id, "GroupId": group.id, "GroupOwnerId": group.owner,
            "IsEgress": self.egress, "IpProtocol": self.protocol,
            "FromPort": self.from_port.unwrap_or(-1), "ToPort": self.to_port.unwrap_or(-1),
            "SecurityGroupRuleArn": crate::partition::arn(region, "ec2", &group.owner, &format!("security-group-rule/{}", self.id)),
            "Tags": tags_json(&self.tags),
        });
        if let Some(c) = &self.cidr_ipv4 {
            r["CidrIpv4"] = json!(c);
        }
        if let Some(c) = &self.cidr_ipv6 {
            r["CidrIpv6"] = json!(c);
        }
        if let Some(g) = &self.group_id {
            r["ReferencedGroupInfo"] = json!({"GroupId": g, "UserId": self.group_owner.clone().unwrap_or_else(|| group.owner.clone())});
        }
        if let Some(p) = &self.prefix_list_id {
            r["PrefixListId"] = json!(p);
        }
        if let Some(d) = &self.description {
            r["Description"] = json!(d);
        }
        r
    }

    fn peer(&self) -> String {
        self.cidr_ipv4
            .clone()
            .or_else(|| self.cidr_ipv6.clone())
            .or_else(|| self.group_id.clone())
            .or_else(|| self.prefix_list_id.clone())
            .unwrap_or_default()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SecurityGroup {
    pub id: String,
    pub name: String,
    pub description: String,
    pub vpc_id: String,
    pub owner: String,
    pub region: String,
    pub rules: Vec<Rule>,
    pub tags: Vec<Tag>,
}

airlock_store::record!(SecurityGroup, "ec2.security_group", id);

impl SecurityGroup {
    pub fn arn(&self) -> String {
        crate::partition::arn(
            &self.region,
            "ec2",
            &self.owner,
            &format!("security-group/{}", self.id),
        )
    }

    /// Rules grouped into `IpPermission`s as DescribeSecurityGroups shows them.
    fn permissions(&self, egress: bool) -> Vec<Value> {
        type Perm = (String, Option<i64>, Option<i64>, Map<String, Value>);
        let mut perms: Vec<Perm> = Vec::new();
        for r in self.rules.iter().filter(|r| r.egress == egress) {
            let idx = match perms
                .iter()
                .position(|(p, f, t, _)| *p == r.protocol && *f == r.from_port && *t == r.to_port)
            {
                Some(i) => i,
                None => {
                    let mut m = Map::new();
                    for k in [
                        "IpRanges",
                        "Ipv6Ranges",
                        "PrefixListIds",
                        "UserIdGroupPairs",
                    ] {
                        m.insert(k.into(), json!([]));
                    }
                    perms.push((r.protocol.clone(), r.from_port, r.to_port, m));
                    perms.len() - 1
                }
            };
            let m = &mut perms[idx].3;
            let mut entry = Map::new();
            if let Some(d) = &r.description {
                entry.insert("Description".into(), json!(d));
            }
            let list = if let Some(c) = &r.cidr_ipv4 {
                entry.insert("CidrIp".into(), json!(c));
                "IpRanges"
            } else if let Some(c) = &r.cidr_ipv6 {
                entry.insert("CidrIpv6".into(), json!(c));
                "Ipv6Ranges"
            } else if let Some(g) = &r.group_id {
                entry.insert("GroupId".into(), json!(g));
                entry.insert(
                    "UserId".into(),
                    json!(r.group_owner.clone().unwrap_or_else(|| self.owner.clone())),
                );
                "UserIdGroupPairs"
            } else {
                entry.insert("PrefixListId".into(), json!(r.prefix_list_id));
                "PrefixListIds"
            };
            if let Some(Value::Array(a)) = m.get_mut(list) {
                a.push(Value::Object(entry));
            }
        }
        perms
            .into_iter()
            .map(|(p, f, t, mut m)| {
                m.insert("IpProtocol".into(), json!(p));
                if let Some(f) = f {
                    m.insert("FromPort".into(), json!(f));
                }
                if let Some(t) = t {
                    m.insert("ToPort".into(), json!(t));
                }
                Value::Object(m)
            })
            .collect()
    }

    fn json(&self) -> Value {
        json!({
            "GroupId": self.id, "GroupName": self.name, "Description": self.description,
            "VpcId": self.vpc_id, "OwnerId": self.owner, "SecurityGroupArn": self.arn(),
            "IpPermissions": self.permissions(false), "IpPermissionsEgress": self.permissions(true),
            "Tags": tags_json(&self.tags),
        })
    }
}

impl Filterable for SecurityGroup {
    fn field(&self, name: &str) -> Field {
        let rules = |egress: bool, f: &dyn Fn(&Rule) -> Option<String>| -> Field {
            Some(
                self.rules
                    .iter()
                    .filter(|r| r.egress == egress)
                    .filter_map(f)
                    .collect(),
            )
        };
        let (egress, rest) = match name.strip_prefix("egress.") {
            Some(rest) => (true, rest),
            None => (false, name),
        };
        match rest {
            "ip-permission.protocol" => rules(egress, &|r| Some(r.protocol.clone())),
            "ip-permission.from-port" => {
                rules(egress, &|r| Some(r.from_port.unwrap_or(-1).to_string()))
            }
            "ip-permission.to-port" => {
                rules(egress, &|r| Some(r.to_port.unwrap_or(-1).to_string()))
            }
            "ip-permission.cidr" => rules(egress, &|r| r.cidr_ipv4.clone()),
            "ip-permission.ipv6-cidr" => rules(egress, &|r| r.cidr_ipv6.clone()),
            "ip-permission.group-id" => rules(egress, &|r| r.group_id.clone()),
            "ip-permission.prefix-list-id" => rules(egress, &|r| r.prefix_list_id.clone()),
            "ip-permission.user-id" => rules(egress, &|r| {
                r.group_id
                    .as_ref()
                    .map(|_| r.group_owner.clone().unwrap_or_else(|| self.owner.clone()))
            }),
            _ if egress => None,
            "group-id" => one(&self.id),
            "group-name" => one(&self.name),
            "description" => one(&self.description),
            "vpc-id" => one(&self.vpc_id),
            "owner-id" => one(&self.owner),
            _ => None,
        }
    }
    fn tags(&self) -> &[Tag] {
        &self.tags
    }
}

fn rule_id() -> String {
    ids::resource_id("sgr")
}

fn all_traffic(egress: bool) -> Rule {
    Rule {
        id: rule_id(),
        egress,
        protocol: "-1".into(),
        ..Rule::default()
    }
}

/// The VPC's default group lets IPv6 out too, once the VPC has IPv6 (as AWS's default group of
/// a VPC created with an IPv6 block does).
pub fn allow_ipv6_egress_of_default(tx: &mut Tx<'_>, scope: &Scope, vpc_id: &str) -> ApiResult<()> {
    let Some(g) = default_of(tx, scope, vpc_id) else {
        return Ok(());
    };
    let mut g = (*g).clone();
    if !g
        .rules
        .iter()
        .any(|r| r.egress && r.cidr_ipv6.as_deref() == Some("::/0"))
    {
        let mut out6 = all_traffic(true);
        out6.cidr_ipv6 = Some("::/0".into());
        g.rules.push(out6);
        tx.put(scope, g)?;
    }
    Ok(())
}

/// The `default` group of a new VPC: all traffic in from itself, all traffic out.
pub fn create_default(ctx: &Ctx<'_>, tx: &mut Tx<'_>, vpc_id: &str) -> ApiResult<SecurityGroup> {
    let id = ids::resource_id("sg");
    let mut inbound = all_traffic(false);
    inbound.group_id = Some(id.clone());
    inbound.group_owner = Some(ctx.account().to_owned());
    let mut outbound = all_traffic(true);
    outbound.cidr_ipv4 = Some("0.0.0.0/0".into());
    let g = SecurityGroup {
        id,
        name: "default".into(),
        description: "default VPC security group".into(),
        vpc_id: vpc_id.to_owned(),
        owner: ctx.account().to_owned(),
        region: ctx.region.clone(),
        rules: vec![inbound, outbound],
        tags: Vec::new(),
    };
    tx.put(&ctx.scope(), g.clone())?;
    Ok(g)
}

pub fn get(tx: &Tx<'_>, scope: &Scope, id: &str) -> ApiResult<std::sync::Arc<SecurityGroup>> {
    tx.get::<SecurityGroup>(scope, id).ok_or_else(|| {
        ApiError::new(
            "InvalidGroup.NotFound",
            format!("The security group '{id}' does not exist"),
        )
    })
}

/// The default group of `vpc_id`.
pub fn default_of(
    tx: &Tx<'_>,
    scope: &Scope,
    vpc_id: &str,
) -> Option<std::sync::Arc<SecurityGroup>> {
    tx.list::<SecurityGroup>(scope)
        .into_iter()
        .find(|g| g.vpc_id == vpc_id && g.name == "default")
}

/// Resolves security group ids for a resource in `vpc_id` (defaulting to the VPC's default group).
pub fn resolve_groups(
    tx: &Tx<'_>,
    scope: &Scope,
    vpc_id: &str,
    ids: &[String],
) -> ApiResult<Vec<String>> {
    if ids.is_empty() {
        return Ok(default_of(tx, scope, vpc_id)
            .map(|g| vec![g.id.clone()])
            .unwrap_or_default());
    }
    for id in ids {
        let g = get(tx, scope, id)?;
        if g.vpc_id != vpc_id {
            return Err(ApiError::new(
                "InvalidParameter",
                format!("Security group {id} and subnet belong to different networks."),
            ));
        }
    }
    Ok(ids.to_vec())
}

/// `{GroupId, GroupName}` pairs for output.
pub fn identifiers(tx_groups: &[std::sync::Arc<SecurityGroup>], ids: &[String]) -> Value {
    serde_json::to_value(identifiers_of(tx_groups, ids)).unwrap_or(Value::Null)
}

/// `GroupIdentifier`: a group's id and name.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GroupIdentifier<'a> {
    pub group_id: &'a str,
    pub group_name: &'a str,
}

/// The identifiers of groups `ids`, named from `groups`.
pub fn identifiers_of<'a>(
    groups: &'a [std::sync::Arc<SecurityGroup>],
    ids: &'a [String],
) -> Vec<GroupIdentifier<'a>> {
    ids.iter()
        .map(|id| GroupIdentifier {
            group_id: id,
            group_name: groups
                .iter()
                .find(|g| &g.id == id)
                .map(|g| g.name.as_str())
                .unwrap_or_default(),
        })
        .collect()
}

pub fn create_security_group(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    input::dry_run(input)?;
    let name = input::req(input, "GroupName")?.to_owned();
    let description = input::req(input, "Description")?.to_owned();
    if description.is_empty() {
        return Err(ApiError::missing_parameter(
            "The request must contain the parameter groupDescription",
        ));
    }
    if name.starts_with("sg-") {
        return Err(ApiError::invalid_parameter_value(
            "Group names may not be in the format sg-*",
        ));
    }
    if name.is_empty() || name.len() > 255 || description.len() > 255 {
        return Err(ApiError::invalid_parameter_value(
            "Group name and description must be 1-255 characters",
        ));
    }
    let tags = common::tags_from_specs(input, "security-group")?;
    let scope = ctx.scope();
    let g = ctx.store.write(|tx| {
        let vpc_id = match input::str(input, "VpcId") {
            Some(v) => v.to_owned(),
            None => vpc::default_vpc_id(tx, &scope).ok_or_else(|| {
                ApiError::new("VPCIdNotSpecified", "No default VPC for this user. GroupName is only supported for EC2-Classic and default VPC.")
            })?,
        };
        let has_ipv6 = !vpc::get_vpc(tx, &scope, &vpc_id)?.ipv6.is_empty();
        if tx.list::<SecurityGroup>(&scope).iter().any(|g| g.vpc_id == vpc_id && g.name == name) {
            return Err(ApiError::new(
                "InvalidGroup.Duplicate",
                format!("The security group '{name}' already exists for VPC '{vpc_id}'"),
            ));
        }
        let mut out = all_traffic(true);
        out.cidr_ipv4 = Some("0.0.0.0/0".into());
        let mut rules = vec![out];
        // In a VPC with IPv6, a new group also lets IPv6 out.
        if has_ipv6 {
            let mut out6 = all_traffic(true);
            out6.cidr_ipv6 = Some("::/0".into());
            rules.push(out6);
        }
        let g = SecurityGroup {
            id: ids::resource_id("sg"),
            name: name.clone(),
            description: description.clone(),
            vpc_id,
            owner: ctx.account().to_owned(),
            region: ctx.region.clone(),
            rules,
            tags,
        };
        tx.put(&scope, g.clone())?;
        Ok::<_, ApiError>(g)
    })?;
    Ok(json!({"GroupId": g.id, "SecurityGroupArn": g.arn(), "Tags": tags_json(&g.tags)}))
}

pub fn describe_security_groups(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    input::dry_run(input)?;
    let ids = input::strs(input, "GroupIds");
    let names = input::strs(input, "GroupNames");
    let mut filters = common::filters(input);
    let scope = ctx.scope();
    let (all, default_vpc) = ctx.store.read(|v| {
        let rs = v
            .get::<vpc::RegionState>(&scope, "state")
            .and_then(|r| r.default_vpc_id.clone());
        (v.list::<SecurityGroup>(&scope), rs)
    });
    // Rules name the groups they reference by id: a group-name filter asks for the ids of the
    // groups of those names.
    for f in filters.iter_mut() {
        if let Some(dir) = f.name.strip_suffix("ip-permission.group-name") {
            f.name = format!("{dir}ip-permission.group-id");
            f.values = all
                .iter()
                .filter(|g| f.values.iter().any(|n| common::wildcard(n, &g.name)))
                .map(|g| g.id.clone())
                .collect();
        }
    }
    for id in &ids {
        if !all.iter().any(|g| &g.id == id) {
            return Err(ApiError::new(
                "InvalidGroup.NotFound",
                format!("The security group '{id}' does not exist"),
            ));
        }
    }
    for n in &names {
        if !all
            .iter()
            .any(|g| &g.name == n && Some(&g.vpc_id) == default_vpc.as_ref())
        {
            return Err(ApiError::new(
                "InvalidGroup.NotFound",
                format!(
                    "The security group '{n}' does not exist in default VPC '{}'",
                    default_vpc.clone().unwrap_or_default()
                ),
            ));
        }
    }
    let mut out = Vec::new();
    for g in all {
        let named = (ids.is_empty() && names.is_empty())
            || ids.contains(&g.id)
            || (names.contains(&g.name) && Some(&g.vpc_id) == default_vpc.as_ref());
        if named && common::matches(g.as_ref(), &filters)? {
            out.push(g);
        }
    }
    let (page, next) = common::paginate(
        out,
        input,
        (5, 1000),
        !ids.is_empty() || !names.is_empty(),
        |g| g.id.clone(),
    )?;
    Ok(common::listed(
        "SecurityGroups",
        page.iter().map(|g| g.json()).collect::<Vec<_>>(),
        next,
    ))
}

pub fn delete_security_group(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    input::dry_run(input)?;
    let scope = ctx.scope();
    let id_in = input::str(input, "GroupId").map(str::to_owned);
    let name_in = input::str(input, "GroupName").map(str::to_owned);
    let g = ctx.store.write(|tx| {
        let g = match (&id_in, &name_in) {
            (Some(id), _) => get(tx, &scope, id)?,
            (None, Some(name)) => {
                let dv = vpc::default_vpc_id(tx, &scope).unwrap_or_default();
                tx.list::<SecurityGroup>(&scope)
                    .into_iter()
                    .find(|g| &g.name == name && g.vpc_id == dv)
                    .ok_or_else(|| {
                        ApiError::new(
                            "InvalidGroup.NotFound",
                            format!(
                                "The security group '{name}' does not exist in default VPC '{dv}'"
                            ),
                        )
                    })?
            }
            (None, None) => {
                return Err(ApiError::missing_parameter(
                    "The request must contain the parameter groupName or groupId",
                ))
            }
        };
        if g.name == "default" {
            return Err(ApiError::new(
                "CannotDelete",
                format!(
                    "the specified group: \"{}\" name: \"default\" cannot be deleted by a user",
                    g.id
                ),
            ));
        }
        let in_use = tx
            .list::<eni::NetworkInterface>(&scope)
            .iter()
            .any(|e| e.groups.contains(&g.id))
            || tx
                .list::<super::vpce::VpcEndpoint>(&scope)
                .iter()
                .any(|e| e.groups.contains(&g.id))
            || tx.list::<SecurityGroup>(&scope).iter().any(|o| {
                o.id != g.id
                    && o.rules
                        .iter()
                        .any(|r| r.group_id.as_deref() == Some(g.id.as_str()))
            });
        if in_use {
            return Err(ApiError::new(
                "DependencyViolation",
                format!("resource {} has a dependent object", g.id),
            ));
        }
        tx.delete::<SecurityGroup>(&scope, &g.id);
        Ok::<_, ApiError>(g)
    })?;
    Ok(json!({"Return": true, "GroupId": g.id}))
}
