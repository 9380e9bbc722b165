//! SimulatePrincipalPolicy and SimulateCustomPolicy, answered by the evaluator that authorizes
//! every request ([`crate::policy`]).

use super::{paginate, parse_arn};
use crate::authz::{parse_cached, principal_policies};
use crate::input::typed;
use crate::policy::{evaluate, Caller, Context, Decision, Kind, Policies, Policy, Request};
use crate::Ctx;
use airlock_dto::iam as dto;
use airlock_protocol::{ApiError, ApiResult, Output};
use serde_json::Value;
use std::sync::Arc;

/// A policy of the input list: IAM refuses one that is not a valid document.
fn input_policy(document: &str) -> ApiResult<Arc<Policy>> {
    Policy::parse(document).map_err(|m| ApiError::new("MalformedPolicyDocument", m.0))?;
    Ok(parse_cached(document))
}

fn input_policies(list: Option<&[String]>) -> ApiResult<Vec<Arc<Policy>>> {
    list.unwrap_or_default()
        .iter()
        .map(|d| input_policy(d))
        .collect()
}

fn context_of(entries: Option<&[dto::ContextEntry]>) -> Context {
    let mut c = Context::default();
    for e in entries.unwrap_or_default() {
        if let Some(name) = &e.context_key_name {
            c.set_all(name, e.context_key_values.clone().unwrap_or_default());
        }
    }
    c
}

/// `ResourceArns`, `*` when none are given.
fn resources_of(arns: Option<&[String]>) -> Vec<String> {
    match arns {
        Some(a) if !a.is_empty() => a.to_vec(),
        _ => vec!["*".into()],
    }
}

fn caller_of(arn: Option<&str>) -> Caller {
    let arn = arn.unwrap_or_default();
    let account = arn.split(':').nth(4).unwrap_or_default().to_owned();
    Caller {
        arn: arn.to_owned(),
        account,
        role_arn: None,
        service: None,
        federated: None,
    }
}

struct Simulation<'a> {
    identity: Vec<Arc<Policy>>,
    boundary: Option<Arc<Policy>>,
    resource_policy: Option<Arc<Policy>>,
    caller: Caller,
    context: Context,
    actions: &'a [String],
    resources: Vec<String>,
}

impl Simulation<'_> {
    fn run(&self, max_items: Option<i64>, marker: Option<&str>) -> Output {
        let policies = Policies {
            identity: self.identity.iter().map(|p| &**p).collect(),
            resource: self.resource_policy.as_deref().into_iter().collect(),
            boundary: self.boundary.as_deref(),
            session: None,
            endpoint: None,
        };
        let mut items = Vec::new();
        for (i, action) in self.actions.iter().enumerate() {
            for (j, resource) in self.resources.iter().enumerate() {
                let req = Request {
                    action,
                    resource,
                    caller: &self.caller,
                    context: &self.context,
                };
                let decision = evaluate(&req, &policies);
                let (word, by_boundary) = match decision {
                    Decision::Allow => ("allowed", None),
                    Decision::Deny(d) if d.explicit => ("explicitDeny", None),
                    Decision::Deny(d) => ("implicitDeny", Some(d.kind != Kind::Boundary)),
                };
                let result = dto::EvaluationResult {
                    eval_action_name: Some(action.clone()),
                    eval_resource_name: Some(resource.clone()),
                    eval_decision: Some(word.into()),
                    matched_statements: Some(Vec::new()),
                    missing_context_values: Some(Vec::new()),
                    permissions_boundary_decision_detail: self.boundary.as_ref().map(|_| {
                        dto::PermissionsBoundaryDecisionDetail {
                            allowed_by_permissions_boundary: Some(by_boundary.unwrap_or(true)),
                        }
                    }),
                    ..dto::EvaluationResult::default()
                };
                // Keys sort in (action, resource) input order.
                items.push((format!("{i:08}{j:08}"), result));
            }
        }
        let page = paginate(items, max_items, marker);
        Output::new(dto::SimulatePolicyResponse {
            evaluation_results: Some(page.items),
            is_truncated: Some(page.is_truncated),
            marker: page.marker,
        })
    }
}

pub fn simulate_principal_policy(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::SimulatePrincipalPolicyRequest = typed(input)?;
    let source = input.policy_source_arn.as_str();
    let held = principal_policies(ctx, source).ok_or_else(|| {
        let (kind, name) = ["user", "role"]
            .iter()
            .find_map(|k| parse_arn(source, k).map(|(_, _, n)| (*k, n)))
            .unwrap_or(("entity", source));
        super::no_such_entity(format!("The {kind} with name {name} cannot be found."))
    })?;
    let mut identity = held.identity;
    identity.extend(input_policies(input.policy_input_list.as_deref())?);
    let boundary = match input.permissions_boundary_policy_input_list.as_deref() {
        Some([doc, ..]) => Some(input_policy(doc)?),
        _ => held.boundary,
    };
    let sim = Simulation {
        identity,
        boundary,
        resource_policy: input
            .resource_policy
            .as_deref()
            .map(input_policy)
            .transpose()?,
        caller: caller_of(input.caller_arn.as_deref().or(Some(source))),
        context: context_of(input.context_entries.as_deref()),
        actions: &input.action_names,
        resources: resources_of(input.resource_arns.as_deref()),
    };
    Ok(sim.run(input.max_items, input.marker.as_deref()))
}

pub fn simulate_custom_policy(_ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::SimulateCustomPolicyRequest = typed(input)?;
    let sim = Simulation {
        identity: input_policies(Some(&input.policy_input_list))?,
        boundary: match input.permissions_boundary_policy_input_list.as_deref() {
            Some([doc, ..]) => Some(input_policy(doc)?),
            _ => None,
        },
        resource_policy: input
            .resource_policy
            .as_deref()
            .map(input_policy)
            .transpose()?,
        caller: caller_of(input.caller_arn.as_deref()),
        context: context_of(input.context_entries.as_deref()),
        actions: &input.action_names,
        resources: resources_of(input.resource_arns.as_deref()),
    };
    Ok(sim.run(input.max_items, input.marker.as_deref()))
}
