//! Security groups and their rules.

use super::cidr::Cidr;
use super::common::{self, one, tags_json, Field, Filterable, Tag};
use super::{eni, vpc};
use crate::{ids, input, Ctx};
use airlock_protocol::{ApiError, ApiResult};
use airlock_store::{Record, Scope, Tx};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
}

impl Rule {
    /// Two rules are the same permission when everything but id and description matches.
    fn same(&self, o: &Rule) -> bool {
        self.egress == o.egress
            && self.protocol == o.protocol
            && self.from_port == o.from_port
            && self.to_port == o.to_port
            && self.cidr_ipv4 == o.cidr_ipv4
            && self.cidr_ipv6 == o.cidr_ipv6
            && self.group_id == o.group_id
            && self.prefix_list_id == o.prefix_list_id
    }

    fn json(&self, group: &SecurityGroup, region: &str) -> Value {
        let mut r = json!({
            "SecurityGroupRuleId": self.id, "GroupId": group.id, "GroupOwnerId": group.owner,
            "IsEgress": self.egress, "IpProtocol": self.protocol,
            "FromPort": self.from_port.unwrap_or(-1), "ToPort": self.to_port.unwrap_or(-1),
            "SecurityGroupRuleArn": format!("arn:aws:ec2:{region}:{}:security-group-rule/{}", group.owner, self.id),
            "Tags": [],
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

impl Record for SecurityGroup {
    const KIND: &'static str = "ec2.security_group";
    fn id(&self) -> &str {
        &self.id
    }
}

impl SecurityGroup {
    pub fn arn(&self) -> String {
        format!(
            "arn:aws:ec2:{}:{}:security-group/{}",
            self.region, self.owner, self.id
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
        from_port: None,
        to_port: None,
        cidr_ipv4: None,
        cidr_ipv6: None,
        group_id: None,
        group_owner: None,
        prefix_list_id: None,
        description: None,
    }
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
        vpc::get_vpc(tx, &scope, &vpc_id)?;
        if tx.list::<SecurityGroup>(&scope).iter().any(|g| g.vpc_id == vpc_id && g.name == name) {
            return Err(ApiError::new(
                "InvalidGroup.Duplicate",
                format!("The security group '{name}' already exists for VPC '{vpc_id}'"),
            ));
        }
        let mut out = all_traffic(true);
        out.cidr_ipv4 = Some("0.0.0.0/0".into());
        let g = SecurityGroup {
            id: ids::resource_id("sg"),
            name: name.clone(),
            description: description.clone(),
            vpc_id,
            owner: ctx.account().to_owned(),
            region: ctx.region.clone(),
            rules: vec![out],
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
    let filters = common::filters(input);
    let scope = ctx.scope();
    let (all, default_vpc) = ctx.store.read(|v| {
        let rs = v
            .get::<vpc::RegionState>(&scope, "state")
            .and_then(|r| r.default_vpc_id.clone());
        (v.list::<SecurityGroup>(&scope), rs)
    });
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
    let mut res = json!({"SecurityGroups": page.iter().map(|g| g.json()).collect::<Vec<_>>()});
    if let Some(n) = next {
        res["NextToken"] = json!(n);
    }
    Ok(res)
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

fn protocol(raw: &str) -> ApiResult<String> {
    Ok(match raw.to_ascii_lowercase().as_str() {
        "-1" | "all" => "-1".into(),
        "tcp" | "6" => "tcp".into(),
        "udp" | "17" => "udp".into(),
        "icmp" | "1" => "icmp".into(),
        "icmpv6" | "58" => "icmpv6".into(),
        n => match n.parse::<u8>() {
            Ok(_) => n.to_owned(),
            Err(_) => {
                return Err(ApiError::invalid_parameter_value(format!(
                    "Invalid value '{raw}' for IP protocol. Unknown protocol."
                )))
            }
        },
    })
}

/// Expands the `IpPermissions` of an Authorize/Revoke request into single rules.
fn rules_of(
    tx: &Tx<'_>,
    scope: &Scope,
    group: &SecurityGroup,
    input: &Value,
    egress: bool,
) -> ApiResult<Vec<Rule>> {
    let mut perms: Vec<Value> = input::list(input, "IpPermissions").to_vec();
    // The older flat form: IpProtocol/FromPort/ToPort/CidrIp (ingress only).
    if perms.is_empty()
        && (input.get("IpProtocol").is_some()
            || input.get("CidrIp").is_some()
            || input.get("SourceSecurityGroupName").is_some())
    {
        let mut p = json!({"IpProtocol": input::str(input, "IpProtocol").unwrap_or("-1")});
        if let Some(f) = input::int(input, "FromPort") {
            p["FromPort"] = json!(f);
        }
        if let Some(t) = input::int(input, "ToPort") {
            p["ToPort"] = json!(t);
        }
        if let Some(c) = input::str(input, "CidrIp") {
            p["IpRanges"] = json!([{"CidrIp": c}]);
        }
        if let Some(n) = input::str(input, "SourceSecurityGroupName") {
            p["UserIdGroupPairs"] = json!([{"GroupName": n}]);
        }
        perms.push(p);
    }
    if perms.is_empty() {
        return Err(ApiError::missing_parameter(
            "No permissions are specified (IpPermissions).",
        ));
    }
    let mut out = Vec::new();
    for p in &perms {
        let proto = protocol(input::str(p, "IpProtocol").unwrap_or("-1"))?;
        let (from, to) = match proto.as_str() {
            "-1" => (None, None),
            "tcp" | "udp" => {
                let (f, t) = (input::int(p, "FromPort"), input::int(p, "ToPort"));
                let (f, t) = match (f, t) {
                    (Some(f), Some(t)) => (f, t),
                    _ => return Err(ApiError::new("InvalidParameterValue", "Invalid value 'Must specify both from and to ports with TCP/UDP.' for portRange.")),
                };
                if !(0..=65535).contains(&f) || !(0..=65535).contains(&t) || f > t {
                    return Err(ApiError::invalid_parameter_value(format!(
                        "Invalid value '{f}-{t}' for portRange. Must be between 0 and 65535 and fromPort must not exceed toPort."
                    )));
                }
                (Some(f), Some(t))
            }
            _ => (
                Some(input::int(p, "FromPort").unwrap_or(-1)),
                Some(input::int(p, "ToPort").unwrap_or(-1)),
            ),
        };
        let base = Rule {
            id: String::new(),
            egress,
            protocol: proto,
            from_port: from,
            to_port: to,
            cidr_ipv4: None,
            cidr_ipv6: None,
            group_id: None,
            group_owner: None,
            prefix_list_id: None,
            description: None,
        };
        let mut push = |mut r: Rule, d: Option<&str>| {
            r.id = rule_id();
            r.description = d.map(str::to_owned);
            out.push(r);
        };
        for r in input::list(p, "IpRanges") {
            let raw = input::str(r, "CidrIp").unwrap_or("");
            let c = Cidr::parse_loose(raw).ok_or_else(|| {
                ApiError::invalid_parameter_value(format!("CIDR block {raw} is malformed"))
            })?;
            push(
                Rule {
                    cidr_ipv4: Some(c.to_string()),
                    ..base.clone()
                },
                input::str(r, "Description"),
            );
        }
        for r in input::list(p, "Ipv6Ranges") {
            let raw = input::str(r, "CidrIpv6").unwrap_or("");
            push(
                Rule {
                    cidr_ipv6: Some(raw.to_owned()),
                    ..base.clone()
                },
                input::str(r, "Description"),
            );
        }
        for r in input::list(p, "PrefixListIds") {
            let raw = input::str(r, "PrefixListId").unwrap_or("");
            push(
                Rule {
                    prefix_list_id: Some(raw.to_owned()),
                    ..base.clone()
                },
                input::str(r, "Description"),
            );
        }
        for r in input::list(p, "UserIdGroupPairs") {
            let target = match (input::str(r, "GroupId"), input::str(r, "GroupName")) {
                (Some(id), _) => get(tx, scope, id)?,
                (None, Some(name)) => tx
                    .list::<SecurityGroup>(scope)
                    .into_iter()
                    .find(|g| g.name == name && g.vpc_id == group.vpc_id)
                    .ok_or_else(|| {
                        ApiError::new(
                            "InvalidGroup.NotFound",
                            format!("The security group '{name}' does not exist"),
                        )
                    })?,
                (None, None) => {
                    return Err(ApiError::missing_parameter(
                        "A group pair needs GroupId or GroupName",
                    ))
                }
            };
            if target.vpc_id != group.vpc_id {
                return Err(ApiError::new(
                    "InvalidGroup.NotFound",
                    "You have specified two resources that belong to different networks.",
                ));
            }
            push(
                Rule {
                    group_id: Some(target.id.clone()),
                    group_owner: Some(target.owner.clone()),
                    ..base.clone()
                },
                input::str(r, "Description"),
            );
        }
    }
    Ok(out)
}

fn target_group(
    tx: &Tx<'_>,
    scope: &Scope,
    input: &Value,
) -> ApiResult<std::sync::Arc<SecurityGroup>> {
    match (input::str(input, "GroupId"), input::str(input, "GroupName")) {
        (Some(id), _) => get(tx, scope, id),
        (None, Some(name)) => {
            let dv = vpc::default_vpc_id(tx, scope).unwrap_or_default();
            tx.list::<SecurityGroup>(scope)
                .into_iter()
                .find(|g| g.name == name && g.vpc_id == dv)
                .ok_or_else(|| {
                    ApiError::new(
                        "InvalidGroup.NotFound",
                        format!("The security group '{name}' does not exist in default VPC '{dv}'"),
                    )
                })
        }
        (None, None) => Err(ApiError::missing_parameter(
            "The request must contain the parameter groupId",
        )),
    }
}

fn authorize(ctx: &Ctx<'_>, input: &Value, egress: bool) -> ApiResult<Value> {
    input::dry_run(input)?;
    let scope = ctx.scope();
    let (g, added) = ctx.store.write(|tx| {
        let mut g = (*target_group(tx, &scope, input)?).clone();
        let new = rules_of(tx, &scope, &g, input, egress)?;
        for (i, r) in new.iter().enumerate() {
            if g.rules.iter().chain(new[..i].iter()).any(|e| e.same(r)) {
                let proto = if r.protocol == "-1" { "ALL".to_owned() } else { r.protocol.to_uppercase() };
                return Err(ApiError::new(
                    "InvalidPermission.Duplicate",
                    format!(
                        "the specified rule \"peer: {}, {proto}, from port: {}, to port: {}, ALLOW\" already exists",
                        r.peer(),
                        r.from_port.unwrap_or(-1),
                        r.to_port.unwrap_or(-1)
                    ),
                ));
            }
        }
        g.rules.extend(new.iter().cloned());
        if g.rules.iter().filter(|r| r.egress == egress).count() > 60 {
            return Err(ApiError::new("RulesPerSecurityGroupLimitExceeded", "The maximum number of rules per security group has been reached."));
        }
        tx.put(&scope, g.clone())?;
        Ok::<_, ApiError>((g, new))
    })?;
    Ok(
        json!({"Return": true, "SecurityGroupRules": added.iter().map(|r| r.json(&g, &ctx.region)).collect::<Vec<_>>()}),
    )
}

fn revoke(ctx: &Ctx<'_>, input: &Value, egress: bool) -> ApiResult<Value> {
    input::dry_run(input)?;
    let scope = ctx.scope();
    let rule_ids = input::strs(input, "SecurityGroupRuleIds");
    ctx.store.write(|tx| {
        let mut g = (*target_group(tx, &scope, input)?).clone();
        let doomed: Vec<String> = if !rule_ids.is_empty() {
            for id in &rule_ids {
                if !g.rules.iter().any(|r| &r.id == id && r.egress == egress) {
                    return Err(ApiError::new(
                        "InvalidSecurityGroupRuleId.NotFound",
                        format!("The security group rule ID '{id}' does not exist"),
                    ));
                }
            }
            rule_ids.clone()
        } else {
            let wanted = rules_of(tx, &scope, &g, input, egress)?;
            let mut ids = Vec::new();
            for w in &wanted {
                match g.rules.iter().find(|r| r.same(w)) {
                    Some(r) => ids.push(r.id.clone()),
                    None => {
                        return Err(ApiError::new(
                            "InvalidPermission.NotFound",
                            "The specified rule does not exist in this security group.",
                        ))
                    }
                }
            }
            ids
        };
        g.rules.retain(|r| !doomed.contains(&r.id));
        tx.put(&scope, g)?;
        Ok::<_, ApiError>(())
    })?;
    Ok(json!({"Return": true}))
}

pub fn authorize_ingress(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    authorize(ctx, input, false)
}
pub fn authorize_egress(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    authorize(ctx, input, true)
}
pub fn revoke_ingress(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    revoke(ctx, input, false)
}
pub fn revoke_egress(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    revoke(ctx, input, true)
}

struct RuleRow<'a>(&'a SecurityGroup, &'a Rule);

impl Filterable for RuleRow<'_> {
    fn field(&self, name: &str) -> Field {
        match name {
            "group-id" => one(&self.0.id),
            "security-group-rule-id" => one(&self.1.id),
            _ => None,
        }
    }
    fn tags(&self) -> &[Tag] {
        &[]
    }
}

pub fn describe_security_group_rules(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    input::dry_run(input)?;
    let ids = input::strs(input, "SecurityGroupRuleIds");
    let filters = common::filters(input);
    let scope = ctx.scope();
    let groups = ctx.store.read(|v| v.list::<SecurityGroup>(&scope));
    let mut rows = Vec::new();
    for g in &groups {
        for r in &g.rules {
            if (ids.is_empty() || ids.contains(&r.id)) && common::matches(&RuleRow(g, r), &filters)?
            {
                rows.push(r.json(g, &ctx.region));
            }
        }
    }
    rows.sort_by(|a, b| {
        a["SecurityGroupRuleId"]
            .as_str()
            .cmp(&b["SecurityGroupRuleId"].as_str())
    });
    let (page, next) = common::paginate(rows, input, (5, 1000), !ids.is_empty(), |r| {
        r["SecurityGroupRuleId"].as_str().unwrap_or("").to_owned()
    })?;
    let mut res = json!({"SecurityGroupRules": page});
    if let Some(n) = next {
        res["NextToken"] = json!(n);
    }
    Ok(res)
}
