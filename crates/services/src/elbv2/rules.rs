//! Listener rules: CreateRule, DescribeRules, ModifyRule, DeleteRule.
//!
//! Each listener has a default rule (its default actions, no conditions, priority `default`),
//! kept on the listener record; the others are [`Rule`] records with a priority of 1–50000 that
//! is unique per listener.

use super::actions::{self, Action, Place};
use super::listeners::{self, Listener};
use super::{loadbalancers, Read};
use crate::ec2::cidr;
use crate::tags::Tag;
use crate::{input, Ctx};
use airlock_dto::elbv2 as dto;
use airlock_protocol::{ApiError, ApiResult, Output};
use airlock_store::{Scope, Tx};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;
use time::OffsetDateTime;

/// Rules per listener besides the default one (AWS's default quota).
const QUOTA: usize = 100;
/// Condition values per rule (AWS's quota).
const VALUES_QUOTA: usize = 5;
const FIELDS: &[&str] = &[
    "http-header",
    "http-request-method",
    "host-header",
    "path-pattern",
    "query-string",
    "source-ip",
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryPair {
    pub key: Option<String>,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Condition {
    /// `host-header`, `path-pattern`, `http-header`, `http-request-method`, `query-string`,
    /// `source-ip`.
    pub field: String,
    /// Patterns (`*`, `?` wildcards), methods or CIDRs.
    pub values: Vec<String>,
    pub regex_values: Vec<String>,
    /// `http-header`: the header name.
    pub header_name: Option<String>,
    /// `query-string`: key/value pairs (a missing key matches any key).
    pub query: Vec<QueryPair>,
}

impl Condition {
    /// The condition as AWS describes it.
    pub fn dto(&self) -> dto::RuleCondition {
        let values = (!self.values.is_empty()).then(|| self.values.clone());
        let regex_values = (!self.regex_values.is_empty()).then(|| self.regex_values.clone());
        let mut c = dto::RuleCondition {
            field: Some(self.field.clone()),
            ..Default::default()
        };
        match self.field.as_str() {
            // The legacy top-level `Values` still come back for these two fields.
            "host-header" => {
                c.values.clone_from(&values);
                c.host_header_config = Some(dto::HostHeaderConditionConfig {
                    values,
                    regex_values,
                });
            }
            "path-pattern" => {
                c.values.clone_from(&values);
                c.path_pattern_config = Some(dto::PathPatternConditionConfig {
                    values,
                    regex_values,
                });
            }
            "http-header" => {
                c.http_header_config = Some(dto::HttpHeaderConditionConfig {
                    http_header_name: self.header_name.clone(),
                    values,
                    regex_values,
                });
            }
            "http-request-method" => {
                c.http_request_method_config =
                    Some(dto::HttpRequestMethodConditionConfig { values });
            }
            "source-ip" => {
                c.source_ip_config = Some(dto::SourceIpConditionConfig {
                    values,
                    ip_address_type: None,
                });
            }
            _ => {
                let pairs = self.query.iter().map(|q| dto::QueryStringKeyValuePair {
                    key: q.key.clone(),
                    value: Some(q.value.clone()),
                });
                c.query_string_config = Some(dto::QueryStringConditionConfig {
                    values: Some(pairs.collect()),
                });
            }
        }
        c
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Rule {
    pub arn: String,
    pub listener_arn: String,
    pub priority: i64,
    pub conditions: Vec<Condition>,
    pub actions: Vec<Action>,
    /// Host header and URL rewrites, as given.
    #[serde(default, deserialize_with = "crate::lenient")]
    pub transforms: Vec<dto::RuleTransform>,
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    pub tags: Vec<Tag>,
}

airlock_store::record!(Rule, "elbv2.rule", arn);

impl Rule {
    /// The rule as AWS describes it.
    pub fn dto(&self) -> dto::Rule {
        dto::Rule {
            priority: Some(self.priority.to_string()),
            is_default: Some(false),
            conditions: Some(self.conditions.iter().map(Condition::dto).collect()),
            transforms: (!self.transforms.is_empty()).then(|| self.transforms.clone()),
            ..default_rule(&self.arn, &self.actions)
        }
    }
}

/// A listener's default rule (`arn`, the listener's default actions): priority `default`, no
/// conditions.
fn default_rule(arn: &str, actions: &[Action]) -> dto::Rule {
    dto::Rule {
        rule_arn: Some(arn.to_owned()),
        priority: Some("default".into()),
        conditions: Some(Vec::new()),
        actions: Some(actions::actions_dto(actions)),
        is_default: Some(true),
        transforms: None,
    }
}

pub fn not_found() -> ApiError {
    ApiError::new("RuleNotFound", "One or more rules not found")
}

fn check_arn(arn: &str) -> ApiResult<()> {
    super::check_arn(arn, "listener-rule/", "rule")
}

/// A rule ARN: a rule record, or a listener's default rule.
pub enum Found {
    Rule(Arc<Rule>),
    Default(Arc<Listener>),
}

pub fn find<R: Read>(r: &R, scope: &Scope, arn: &str) -> ApiResult<Found> {
    check_arn(arn)?;
    if let Some(rule) = r.get::<Rule>(scope, arn) {
        return Ok(Found::Rule(rule));
    }
    r.list::<Listener>(scope)
        .into_iter()
        .find(|l| l.default_rule_arn == arn)
        .map(Found::Default)
        .ok_or_else(not_found)
}

/// Parses and checks a `Conditions` list.
pub fn parse_conditions(items: &[Value]) -> ApiResult<Vec<Condition>> {
    if items.is_empty() {
        return Err(super::validation(
            "At least one condition must be specified",
        ));
    }
    let mut out: Vec<Condition> = Vec::new();
    for item in items {
        let field = input::str(item, "Field").unwrap_or("").to_owned();
        if !FIELDS.contains(&field.as_str()) {
            return Err(super::validation(format!(
                "Condition field '{field}' must be one of '[{}]'",
                FIELDS.join(", ")
            )));
        }
        let legacy = input::strs(item, "Values");
        let config_key = match field.as_str() {
            "host-header" => "HostHeaderConfig",
            "path-pattern" => "PathPatternConfig",
            "http-header" => "HttpHeaderConfig",
            "http-request-method" => "HttpRequestMethodConfig",
            "query-string" => "QueryStringConfig",
            _ => "SourceIpConfig",
        };
        let config = item.get(config_key);
        if !legacy.is_empty() && config.is_some() {
            return Err(super::validation(format!(
                "You cannot specify both 'Values' and '{config_key}' for a '{field}' condition"
            )));
        }
        if !legacy.is_empty() && !matches!(field.as_str(), "host-header" | "path-pattern") {
            return Err(super::validation(format!(
                "A '{field}' condition must be specified with '{config_key}'"
            )));
        }
        let mut c = Condition {
            field: field.clone(),
            values: legacy,
            regex_values: Vec::new(),
            header_name: None,
            query: Vec::new(),
        };
        if let Some(cfg) = config {
            if field == "query-string" {
                c.query = input::list(cfg, "Values")
                    .iter()
                    .map(|p| QueryPair {
                        key: input::str(p, "Key").map(str::to_owned),
                        value: input::str(p, "Value").unwrap_or("").to_owned(),
                    })
                    .collect();
            } else {
                c.values = input::strs(cfg, "Values");
                c.regex_values = input::strs(cfg, "RegexValues");
            }
            if field == "http-header" {
                c.header_name = input::str(cfg, "HttpHeaderName").map(str::to_owned);
            }
        }
        check_condition(&c)?;
        let once = matches!(
            field.as_str(),
            "host-header" | "path-pattern" | "http-request-method" | "source-ip"
        );
        if once && out.iter().any(|o| o.field == field) {
            return Err(super::validation(format!(
                "A rule can have only one '{field}' condition"
            )));
        }
        out.push(c);
    }
    let total: usize = out
        .iter()
        .map(|c| c.values.len() + c.regex_values.len() + c.query.len())
        .sum();
    if total > VALUES_QUOTA {
        return Err(super::validation(format!(
            "A rule can only have '{VALUES_QUOTA}' condition values"
        )));
    }
    Ok(out)
}

fn check_condition(c: &Condition) -> ApiResult<()> {
    let n = c.values.len() + c.regex_values.len() + c.query.len();
    if n == 0 {
        return Err(super::validation(format!(
            "A '{}' condition must have at least one value",
            c.field
        )));
    }
    for v in c.values.iter().chain(&c.regex_values) {
        if v.is_empty() || v.chars().count() > 128 {
            return Err(super::validation(format!(
                "Condition value '{v}' must be between 1 and 128 characters long"
            )));
        }
    }
    match c.field.as_str() {
        "http-header" => {
            let Some(name) = &c.header_name else {
                return Err(super::validation(
                    "An 'http-header' condition must have an HttpHeaderName",
                ));
            };
            let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
            if name.is_empty() || name.len() > 40 || !name.bytes().all(token) {
                return Err(super::validation(format!(
                    "HTTP header name '{name}' is not valid"
                )));
            }
            if name.eq_ignore_ascii_case("host") {
                return Err(super::validation(
                    "Use a 'host-header' condition to match the host header",
                ));
            }
        }
        "http-request-method" => {
            for m in &c.values {
                if m.len() > 40
                    || !m
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || b == b'_' || b == b'-')
                {
                    return Err(super::validation(format!(
                        "HTTP request method '{m}' is not valid: use uppercase letters, '-' and '_'"
                    )));
                }
            }
        }
        "source-ip" => {
            for v in &c.values {
                let ok = cidr::Cidr::parse_loose(v).is_some()
                    || v.split_once('/').is_some_and(|(ip, len)| {
                        ip.parse::<std::net::Ipv6Addr>().is_ok()
                            && len.parse::<u8>().is_ok_and(|l| l <= 128)
                    });
                if !ok {
                    return Err(super::validation(format!(
                        "Source IP value '{v}' must be a CIDR block"
                    )));
                }
            }
        }
        "path-pattern" => {
            for v in &c.values {
                if !v.starts_with('/') && !v.starts_with('*') {
                    return Err(super::validation(format!(
                        "Path pattern '{v}' must begin with '/' or '*'"
                    )));
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn transforms_in(input: &Value) -> ApiResult<Vec<dto::RuleTransform>> {
    let Some(t) = input.get("Transforms") else {
        return Ok(Vec::new());
    };
    let t: Vec<dto::RuleTransform> = input::typed(t)?;
    for kind in ["host-header-rewrite", "url-rewrite"] {
        if t.iter()
            .filter(|x| x.r#type.as_deref() == Some(kind))
            .count()
            > 1
        {
            return Err(super::validation(format!(
                "A rule can have only one '{kind}' transform"
            )));
        }
    }
    Ok(t)
}

fn listener_place<'a>(
    tx: &Tx<'_>,
    scope: &Scope,
    l: &'a Listener,
) -> ApiResult<(Arc<loadbalancers::LoadBalancer>, &'a str)> {
    let lb = loadbalancers::get(tx, scope, &l.lb_arn)?;
    if !lb.is_application() {
        return Err(super::invalid_config(
            "Rules are only supported for listeners of Application Load Balancers",
        ));
    }
    Ok((lb, &l.protocol))
}

pub fn create_rule(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let listener_arn = input::req(input, "ListenerArn")?;
    let Some(priority) = input::int(input, "Priority") else {
        return Err(super::validation("A rule priority must be specified"));
    };
    let conditions = parse_conditions(input::list(input, "Conditions"))?;
    let transforms = transforms_in(input)?;
    let tags = super::tags_input(input)?;
    let scope = ctx.scope();
    let rule = ctx.store.write(|tx| {
        let l = listeners::get(tx, &scope, listener_arn)?;
        let (lb, protocol) = listener_place(tx, &scope, &l)?;
        let place = Place { lb: &lb, protocol };
        let actions = actions::parse(tx, &scope, &place, input::list(input, "Actions"))?;
        let siblings: Vec<Arc<Rule>> = tx
            .list::<Rule>(&scope)
            .into_iter()
            .filter(|r| r.listener_arn == l.arn)
            .collect();
        if siblings.iter().any(|r| r.priority == priority) {
            return Err(ApiError::new(
                "PriorityInUse",
                format!("Priority '{priority}' is currently in use"),
            ));
        }
        if siblings.len() >= QUOTA {
            return Err(ApiError::new(
                "TooManyRules",
                format!("You've reached the limit on the number of rules per listener ({QUOTA})"),
            ));
        }
        let rule = Rule {
            arn: listeners::default_rule_arn(&l.arn),
            listener_arn: l.arn.clone(),
            priority,
            conditions,
            actions,
            transforms,
            created: ctx.clock.now(),
            tags,
        };
        tx.put(&scope, rule.clone())?;
        Ok::<_, ApiError>(rule)
    })?;
    Ok(Output::new(dto::CreateRuleOutput {
        rules: Some(vec![rule.dto()]),
    }))
}

pub fn describe_rules(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let listener_arn = input::str(input, "ListenerArn");
    let arns = input::strs(input, "RuleArns");
    super::parent_or_arns(
        listener_arn,
        &arns,
        "You must specify either listener ARN or rule ARNs",
        "Listener ARN and rule ARNs cannot be specified at the same time",
    )?;
    let scope = ctx.scope();
    let rules: Vec<(String, dto::Rule)> = ctx.store.read(|v| {
        let mut out = Vec::new();
        if let Some(la) = listener_arn {
            let l = listeners::get(v, &scope, la)?;
            let mut rs: Vec<Arc<Rule>> = v
                .list::<Rule>(&scope)
                .into_iter()
                .filter(|r| r.listener_arn == l.arn)
                .collect();
            rs.sort_by_key(|r| r.priority);
            out.extend(rs.iter().map(|r| (r.arn.clone(), r.dto())));
            let default = default_rule(&l.default_rule_arn, &l.default_actions);
            out.push((l.default_rule_arn.clone(), default));
        } else {
            for a in &arns {
                if out.iter().any(|(x, _)| x == a) {
                    continue;
                }
                match find(v, &scope, a)? {
                    Found::Rule(r) => out.push((r.arn.clone(), r.dto())),
                    Found::Default(l) => out.push((a.clone(), default_rule(a, &l.default_actions))),
                }
            }
        }
        Ok::<_, ApiError>(out)
    })?;
    let (page, next) = super::paginate(rules, input, |(a, _)| a.clone())?;
    Ok(Output::new(dto::DescribeRulesOutput {
        rules: Some(page.into_iter().map(|(_, r)| r).collect()),
        next_marker: next,
    }))
}

pub fn modify_rule(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let arn = input::req(input, "RuleArn")?;
    let scope = ctx.scope();
    let out = ctx.store.write(|tx| match find(tx, &scope, arn)? {
        Found::Default(l) => {
            if input.get("Conditions").is_some() || input.get("Transforms").is_some() {
                return Err(ApiError::new(
                    "OperationNotPermitted",
                    "The conditions and transforms of a default rule cannot be modified",
                ));
            }
            let mut l = (*l).clone();
            if input.get("Actions").is_some() {
                let lb = loadbalancers::get(tx, &scope, &l.lb_arn)?;
                let place = Place {
                    lb: &lb,
                    protocol: &l.protocol,
                };
                l.default_actions =
                    actions::parse(tx, &scope, &place, input::list(input, "Actions"))?;
                tx.put(&scope, l.clone())?;
            }
            Ok::<_, ApiError>(default_rule(&l.default_rule_arn, &l.default_actions))
        }
        Found::Rule(r) => {
            let mut r = (*r).clone();
            let l = listeners::get(tx, &scope, &r.listener_arn)?;
            if input.get("Actions").is_some() {
                let (lb, protocol) = listener_place(tx, &scope, &l)?;
                let place = Place { lb: &lb, protocol };
                r.actions = actions::parse(tx, &scope, &place, input::list(input, "Actions"))?;
            }
            if input.get("Conditions").is_some() {
                r.conditions = parse_conditions(input::list(input, "Conditions"))?;
            }
            if input.get("Transforms").is_some() {
                r.transforms = transforms_in(input)?;
            } else if input::bool(input, "ResetTransforms") == Some(true) {
                r.transforms.clear();
            }
            tx.put(&scope, r.clone())?;
            Ok(r.dto())
        }
    })?;
    Ok(Output::new(dto::ModifyRuleOutput {
        rules: Some(vec![out]),
    }))
}

pub fn delete_rule(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let arn = input::req(input, "RuleArn")?;
    let scope = ctx.scope();
    ctx.store.write(|tx| match find(tx, &scope, arn)? {
        Found::Default(_) => Err(ApiError::new(
            "OperationNotPermitted",
            format!("Default rule '{arn}' cannot be deleted"),
        )),
        Found::Rule(r) => {
            tx.delete::<Rule>(&scope, &r.arn);
            Ok(())
        }
    })?;
    Ok(Output::new(dto::DeleteRuleOutput {}))
}

/// Gives rules new priorities, all at once: a priority may move between the rules of the
/// request (swaps work), but not onto another rule of the listener; default rules have none.
pub fn set_rule_priorities(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let mut wanted: Vec<(String, i64)> = Vec::new();
    for item in input::list(input, "RulePriorities") {
        let (Some(arn), Some(priority)) =
            (input::str(item, "RuleArn"), input::int(item, "Priority"))
        else {
            return Err(super::validation(
                "A rule ARN and a priority must be specified for each rule",
            ));
        };
        if wanted.iter().any(|(a, _)| a == arn) {
            return Err(super::validation(format!(
                "Rule ARN '{arn}' is specified more than once"
            )));
        }
        wanted.push((arn.to_owned(), priority));
    }
    let scope = ctx.scope();
    let changed = ctx.store.write(|tx| {
        let mut rules = Vec::new();
        for (arn, priority) in &wanted {
            match find(tx, &scope, arn)? {
                Found::Default(_) => {
                    return Err(ApiError::new(
                        "OperationNotPermitted",
                        format!("The priority of default rule '{arn}' cannot be modified"),
                    ))
                }
                Found::Rule(r) => {
                    let mut r = (*r).clone();
                    r.priority = *priority;
                    rules.push(r);
                }
            }
        }
        for r in &rules {
            let clash = tx.list::<Rule>(&scope).into_iter().any(|o| {
                o.listener_arn == r.listener_arn
                    && o.priority == r.priority
                    && !rules.iter().any(|m| m.arn == o.arn)
            }) || rules.iter().any(|m| {
                m.arn != r.arn && m.listener_arn == r.listener_arn && m.priority == r.priority
            });
            if clash {
                return Err(ApiError::new(
                    "PriorityInUse",
                    format!("Priority '{}' is currently in use", r.priority),
                ));
            }
        }
        for r in &rules {
            tx.put(&scope, r.clone())?;
        }
        Ok::<_, ApiError>(rules)
    })?;
    Ok(Output::new(dto::SetRulePrioritiesOutput {
        rules: Some(changed.iter().map(Rule::dto).collect()),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A rule stored while its transforms were kept as the JSON given reads back unchanged.
    #[test]
    fn stored_transforms_read_back() {
        let stored = json!({"arn": "r", "listener_arn": "l", "priority": 1, "conditions": [],
            "actions": [], "transforms": [{"Type": "url-rewrite",
                "UrlRewriteConfig": {"Rewrites": [{"Regex": "^/a$", "Replace": "/b"}]}}],
            "created": "2026-12-05T10:00:00Z", "tags": []});
        let rule: Rule = serde_json::from_value(stored.clone()).unwrap();
        assert_eq!(rule.transforms[0].r#type.as_deref(), Some("url-rewrite"));
        assert_eq!(serde_json::to_value(&rule).unwrap(), stored);
    }

    #[test]
    fn conditions_parse_and_check() {
        let c = parse_conditions(&[
            json!({"Field": "path-pattern", "Values": ["/img/*"]}),
            json!({"Field": "host-header", "HostHeaderConfig": {"Values": ["*.example.com"]}}),
        ])
        .unwrap();
        assert_eq!(c[0].values, ["/img/*"]);
        let v = c[1].dto();
        let host = v.host_header_config.unwrap().values.unwrap();
        assert_eq!(host, ["*.example.com"]);
        assert_eq!(v.values.unwrap(), ["*.example.com"]);
        for bad in [
            json!({"Field": "cookie", "Values": ["x"]}),
            json!({"Field": "path-pattern", "Values": []}),
            json!({"Field": "source-ip", "SourceIpConfig": {"Values": ["not-a-cidr"]}}),
            json!({"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": ["get"]}}),
            json!({"Field": "http-header", "HttpHeaderConfig": {"Values": ["x"]}}),
            json!({"Field": "source-ip", "Values": ["10.0.0.0/8"]}),
        ] {
            assert!(
                parse_conditions(std::slice::from_ref(&bad)).is_err(),
                "{bad}"
            );
        }
        let twice = [
            json!({"Field": "path-pattern", "Values": ["/a"]}),
            json!({"Field": "path-pattern", "Values": ["/b"]}),
        ];
        assert!(parse_conditions(&twice).is_err());
        let many =
            [json!({"Field": "path-pattern", "Values": ["/1", "/2", "/3", "/4", "/5", "/6"]})];
        assert!(parse_conditions(&many).is_err());
        let q = parse_conditions(&[json!({"Field": "query-string", "QueryStringConfig": {"Values": [{"Key": "a", "Value": "b"}, {"Value": "c"}]}})]).unwrap();
        assert_eq!(q[0].query.len(), 2);
        assert!(parse_conditions(&[json!({"Field": "source-ip", "SourceIpConfig": {"Values": ["10.0.0.0/8", "2001:db8::/32"]}})]).is_ok());
    }
}
