//! Security group rules: AuthorizeSecurityGroupIngress/Egress, RevokeSecurityGroupIngress/Egress,
//! DescribeSecurityGroupRules, ModifySecurityGroupRules and
//! UpdateSecurityGroupRuleDescriptionsIngress/Egress; and the tags of a rule (`sgr-…`), which
//! CreateTags and DeleteTags edit through [`edit_rule_tags`].

use super::*;
use crate::ec2::cidr::Cidr;
use crate::ec2::common::{self, one, Field, Filterable, Tag};
use crate::ec2::vpc;
use crate::input::typed;
use crate::{input, Ctx};
use airlock_dto::ec2 as dto;
use airlock_protocol::{ApiError, ApiResult, Output};
use airlock_store::{Scope, Tx};
use serde_json::{json, Value};

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
            egress,
            protocol: proto,
            from_port: from,
            to_port: to,
            ..Rule::default()
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
    let tags = common::tags_from_specs(input, "security-group-rule")?;
    let scope = ctx.scope();
    let (g, added) = ctx.store.write(|tx| {
        let mut g = (*target_group(tx, &scope, input)?).clone();
        let mut new = rules_of(tx, &scope, &g, input, egress)?;
        for r in &mut new {
            r.tags = tags.clone();
        }
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
        &self.1.tags
    }
}

fn rule_not_found(id: &str) -> ApiError {
    ApiError::new(
        "InvalidSecurityGroupRuleId.NotFound",
        format!("The security group rule ID '{id}' does not exist"),
    )
}

pub fn describe_security_group_rules(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    input::dry_run(input)?;
    let ids = input::strs(input, "SecurityGroupRuleIds");
    for id in &ids {
        common::check_id(id, "sgr", "InvalidSecurityGroupRuleId.Malformed")?;
    }
    let filters = common::filters(input);
    let scope = ctx.scope();
    let groups = ctx.store.read(|v| v.list::<SecurityGroup>(&scope));
    if let Some(id) = ids
        .iter()
        .find(|id| !groups.iter().any(|g| g.rules.iter().any(|r| &&r.id == id)))
    {
        return Err(rule_not_found(id));
    }
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
    Ok(common::listed("SecurityGroupRules", page, next))
}

/// Replaces rules of a group in place, keeping their ids (what Terraform's
/// `aws_vpc_security_group_ingress_rule` updates with): each named rule becomes the permission
/// given, which must not duplicate another rule of the group.
pub fn modify_security_group_rules(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::ModifySecurityGroupRulesRequest = typed(input)?;
    let scope = ctx.scope();
    ctx.store.write(|tx| {
        let mut g = (*get(tx, &scope, &req.group_id)?).clone();
        for update in &req.security_group_rules {
            let id = &update.security_group_rule_id;
            let Some(pos) = g.rules.iter().position(|r| &r.id == id) else {
                return Err(rule_not_found(id));
            };
            let Some(want) = &update.security_group_rule else {
                return Err(ApiError::missing_parameter(
                    "The request must contain the parameter SecurityGroupRule",
                ));
            };
            let old = &g.rules[pos];
            let egress = old.egress;
            let mut perm = json!({"IpProtocol": want.ip_protocol.clone().unwrap_or_else(|| "-1".into())});
            if let Some(f) = want.from_port {
                perm["FromPort"] = json!(f);
            }
            if let Some(t) = want.to_port {
                perm["ToPort"] = json!(t);
            }
            let d = &want.description;
            let peers = [
                want.cidr_ipv4.as_ref().map(|c| ("IpRanges", json!({"CidrIp": c, "Description": d}))),
                want.cidr_ipv6.as_ref().map(|c| ("Ipv6Ranges", json!({"CidrIpv6": c, "Description": d}))),
                want.prefix_list_id.as_ref().map(|p| ("PrefixListIds", json!({"PrefixListId": p, "Description": d}))),
                want.referenced_group_id.as_ref().map(|r| ("UserIdGroupPairs", json!({"GroupId": r, "Description": d}))),
            ];
            let given: Vec<(&str, Value)> = peers.into_iter().flatten().collect();
            if given.len() != 1 {
                return Err(ApiError::invalid_parameter_value(
                    "Exactly one of CidrIpv4, CidrIpv6, PrefixListId or ReferencedGroupId must be specified.",
                ));
            }
            let (list, peer) = &given[0];
            perm[*list] = json!([peer]);
            let one = json!({"IpPermissions": [perm]});
            let mut rule = rules_of(tx, &scope, &g, &one, egress)?.remove(0);
            rule.id = id.clone();
            rule.tags = g.rules[pos].tags.clone();
            if g.rules.iter().enumerate().any(|(i, r)| i != pos && r.same(&rule)) {
                return Err(ApiError::new(
                    "InvalidPermission.Duplicate",
                    format!("the specified rule \"peer: {}\" already exists", rule.peer()),
                ));
            }
            g.rules[pos] = rule;
        }
        tx.put(&scope, g)?;
        Ok::<_, ApiError>(())
    })?;
    Ok(Output::new(dto::ModifySecurityGroupRulesResult {
        r#return: Some(true),
    }))
}

/// Sets the descriptions of existing rules, named by id (`SecurityGroupRuleDescriptions`) or by
/// permission (`IpPermissions`, whose descriptions are the new ones).
fn update_descriptions(ctx: &Ctx<'_>, input: &Value, egress: bool) -> ApiResult<Value> {
    input::dry_run(input)?;
    let by_id: Vec<(String, Option<String>)> = input::list(input, "SecurityGroupRuleDescriptions")
        .iter()
        .map(|d| {
            (
                input::str(d, "SecurityGroupRuleId")
                    .unwrap_or("")
                    .to_owned(),
                input::str(d, "Description").map(str::to_owned),
            )
        })
        .collect();
    let scope = ctx.scope();
    ctx.store.write(|tx| {
        let mut g = (*target_group(tx, &scope, input)?).clone();
        if by_id.is_empty() {
            for wanted in rules_of(tx, &scope, &g, input, egress)? {
                let Some(r) = g.rules.iter_mut().find(|r| r.same(&wanted)) else {
                    return Err(ApiError::new(
                        "InvalidPermission.NotFound",
                        "The specified rule does not exist in this security group.",
                    ));
                };
                r.description = wanted.description;
            }
        } else {
            for (id, description) in &by_id {
                let Some(r) = g
                    .rules
                    .iter_mut()
                    .find(|r| &r.id == id && r.egress == egress)
                else {
                    return Err(rule_not_found(id));
                };
                r.description = description.clone();
            }
        }
        tx.put(&scope, g)?;
        Ok::<_, ApiError>(())
    })?;
    Ok(json!({"Return": true}))
}

pub fn update_descriptions_ingress(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    update_descriptions(ctx, input, false)
}

pub fn update_descriptions_egress(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    update_descriptions(ctx, input, true)
}

/// Applies `f` to the tags of rule `id` (in whichever group holds it); `false` if there is no
/// such rule.
pub fn edit_rule_tags(
    tx: &mut Tx<'_>,
    scope: &Scope,
    id: &str,
    f: &dyn Fn(&mut Vec<Tag>) -> ApiResult<()>,
) -> ApiResult<bool> {
    let Some(g) = tx
        .list::<SecurityGroup>(scope)
        .into_iter()
        .find(|g| g.rules.iter().any(|r| r.id == id))
    else {
        return Ok(false);
    };
    let mut g = (*g).clone();
    if let Some(r) = g.rules.iter_mut().find(|r| r.id == id) {
        f(&mut r.tags)?;
    }
    tx.put(scope, g)?;
    Ok(true)
}
