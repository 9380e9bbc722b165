//! AddTags, RemoveTags and DescribeTags over load balancers, target groups, listeners and rules
//! (a listener's default rule keeps its tags on the listener record).

use super::listeners::Listener;
use super::loadbalancers::LoadBalancer;
use super::rules::{self, Rule};
use super::targetgroups::TargetGroup;
use super::Read;
use crate::tags::Tag;
use crate::{input, Ctx};
use airlock_dto::elbv2 as dto;
use airlock_protocol::{ApiError, ApiResult, Output};
use airlock_store::{Scope, Tx};
use serde_json::Value;

/// At most 20 resources per call.
const RESOURCES_QUOTA: usize = 20;

fn resources(input: &Value) -> ApiResult<Vec<String>> {
    let arns = input::strs(input, "ResourceArns");
    if arns.len() > RESOURCES_QUOTA {
        return Err(super::validation(format!(
            "You can specify at most {RESOURCES_QUOTA} resources"
        )));
    }
    Ok(arns)
}

/// The tags of resource `arn`, or its kind's not-found error.
pub(super) fn tags_of<R: Read>(r: &R, scope: &Scope, arn: &str) -> ApiResult<Vec<Tag>> {
    let resource = super::resource_of(arn)
        .ok_or_else(|| super::validation(format!("'{arn}' is not a valid resource ARN")))?;
    let not_found =
        |code: &str, what: &str| ApiError::new(code, format!("{what} '{arn}' not found"));
    if resource.starts_with("loadbalancer/") {
        r.get::<LoadBalancer>(scope, arn)
            .map(|x| x.tags.clone())
            .ok_or_else(|| not_found("LoadBalancerNotFound", "Load balancer"))
    } else if resource.starts_with("targetgroup/") {
        r.get::<TargetGroup>(scope, arn)
            .map(|x| x.tags.clone())
            .ok_or_else(|| not_found("TargetGroupNotFound", "Target group"))
    } else if resource.starts_with("listener/") {
        r.get::<Listener>(scope, arn)
            .map(|x| x.tags.clone())
            .ok_or_else(|| not_found("ListenerNotFound", "Listener"))
    } else if resource.starts_with("listener-rule/") {
        match rules::find(r, scope, arn) {
            Ok(rules::Found::Rule(x)) => Ok(x.tags.clone()),
            Ok(rules::Found::Default(l)) => Ok(l.default_rule_tags.clone()),
            Err(_) => Err(not_found("RuleNotFound", "Rule")),
        }
    } else {
        Err(super::validation(format!(
            "'{arn}' is not a valid resource ARN"
        )))
    }
}

/// Replaces the tags of resource `arn` (which [`tags_of`] found).
fn set_tags(tx: &mut Tx<'_>, scope: &Scope, arn: &str, tags: Vec<Tag>) -> ApiResult<()> {
    let resource = super::resource_of(arn).unwrap_or("");
    if resource.starts_with("loadbalancer/") {
        if let Some(x) = tx.get::<LoadBalancer>(scope, arn) {
            let mut x = (*x).clone();
            x.tags = tags;
            tx.put(scope, x)?;
        }
    } else if resource.starts_with("targetgroup/") {
        if let Some(x) = tx.get::<TargetGroup>(scope, arn) {
            let mut x = (*x).clone();
            x.tags = tags;
            tx.put(scope, x)?;
        }
    } else if resource.starts_with("listener/") {
        if let Some(x) = tx.get::<Listener>(scope, arn) {
            let mut x = (*x).clone();
            x.tags = tags;
            tx.put(scope, x)?;
        }
    } else {
        match rules::find(tx, scope, arn)? {
            rules::Found::Rule(x) => {
                let mut x: Rule = (*x).clone();
                x.tags = tags;
                tx.put(scope, x)?;
            }
            rules::Found::Default(l) => {
                let mut l = (*l).clone();
                l.default_rule_tags = tags;
                tx.put(scope, l)?;
            }
        }
    }
    Ok(())
}

pub fn add_tags(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let arns = resources(input)?;
    let new = super::tags_input(input)?;
    let scope = ctx.scope();
    ctx.store.write(|tx| {
        for arn in &arns {
            let mut tags = tags_of(tx, &scope, arn)?;
            for t in &new {
                match tags.iter_mut().find(|e| e.key == t.key) {
                    Some(e) => e.value = t.value.clone(),
                    None => tags.push(t.clone()),
                }
            }
            if tags.len() > super::TAG_LIMIT {
                return Err(super::too_many_tags());
            }
            set_tags(tx, &scope, arn, tags)?;
        }
        Ok::<_, ApiError>(())
    })?;
    Ok(Output::new(dto::AddTagsOutput {}))
}

pub fn remove_tags(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let arns = resources(input)?;
    let keys = input::strs(input, "TagKeys");
    let scope = ctx.scope();
    ctx.store.write(|tx| {
        for arn in &arns {
            let mut tags = tags_of(tx, &scope, arn)?;
            tags.retain(|t| !keys.contains(&t.key));
            set_tags(tx, &scope, arn, tags)?;
        }
        Ok::<_, ApiError>(())
    })?;
    Ok(Output::new(dto::RemoveTagsOutput {}))
}

pub fn describe_tags(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let arns = resources(input)?;
    let scope = ctx.scope();
    let out = ctx.store.read(|v| {
        arns.iter()
            .map(|arn| {
                Ok(dto::TagDescription {
                    resource_arn: Some(arn.clone()),
                    tags: Some(super::tags_dto(&tags_of(v, &scope, arn)?)),
                })
            })
            .collect::<ApiResult<Vec<_>>>()
    })?;
    Ok(Output::new(dto::DescribeTagsOutput {
        tag_descriptions: Some(out),
    }))
}
