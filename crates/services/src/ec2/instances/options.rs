//! An instance's options that have operations of their own: CPU credits of burstable types
//! (Describe/ModifyInstanceCreditSpecification; Terraform's `aws_instance` read asks for them
//! for every t2/t3/t3a instance), detailed monitoring (Monitor/UnmonitorInstances) and the
//! metadata service options (ModifyInstanceMetadataOptions).

use super::run::{check_instance_id, not_found};
use super::{Instance, State};
use crate::ec2::common::{self, one, Field, Filterable};
use crate::input::{self, typed};
use crate::Ctx;
use airlock_dto::ec2 as dto;
use airlock_protocol::{ApiError, ApiResult, Output};
use airlock_store::{Scope, Tx};
use serde_json::Value;
use std::sync::Arc;

/// Whether instances of `instance_type` earn CPU credits (burstable performance).
pub fn burstable(instance_type: &str) -> bool {
    instance_type.starts_with('t')
}

/// `standard` or `unlimited`: a launch's `CreditSpecification`, or the type's default (t2
/// standard, later generations unlimited).
pub fn cpu_credits(i: &Instance) -> String {
    i.cpu_credits.clone().unwrap_or_else(|| {
        if i.instance_type.starts_with("t2.") {
            "standard".into()
        } else {
            "unlimited".into()
        }
    })
}

/// RunInstances' `CreditSpecification`: only burstable types take one.
pub fn credits_at_launch(input: &Value, instance_type: &str) -> ApiResult<Option<String>> {
    let Some(credits) = input
        .get("CreditSpecification")
        .and_then(|c| input::str(c, "CpuCredits"))
    else {
        return Ok(None);
    };
    check_credits(credits)?;
    if !burstable(instance_type) {
        return Err(ApiError::new(
            "InvalidParameterCombination",
            format!("The instance type {instance_type} does not support CPU credits: only burstable performance instances (T family) do."),
        ));
    }
    Ok(Some(credits.to_owned()))
}

fn check_credits(credits: &str) -> ApiResult<()> {
    if credits != "standard" && credits != "unlimited" {
        return Err(ApiError::invalid_parameter_value(format!(
            "Value ({credits}) for parameter cpuCredits is invalid. Valid values are standard and unlimited."
        )));
    }
    Ok(())
}

/// The instances a request names (found by `get`), none terminated.
fn named(
    ctx: &Ctx<'_>,
    ids: &[String],
    get: impl Fn(&str) -> Option<Arc<Instance>>,
) -> ApiResult<Vec<Arc<Instance>>> {
    let mut out = Vec::new();
    for id in ids {
        check_instance_id(id)?;
        let i = get(id)
            .filter(|i| i.state(ctx.clock) != State::Terminated)
            .ok_or_else(|| not_found(std::slice::from_ref(id)))?;
        out.push(i);
    }
    Ok(out)
}

/// [`named`] inside a transaction.
fn named_in(
    ctx: &Ctx<'_>,
    tx: &Tx<'_>,
    scope: &Scope,
    ids: &[String],
) -> ApiResult<Vec<Arc<Instance>>> {
    named(ctx, ids, |id| tx.get::<Instance>(scope, id))
}

struct CreditRow(Arc<Instance>);

impl Filterable for CreditRow {
    fn field(&self, name: &str) -> Field {
        match name {
            "instance-id" => one(&self.0.id),
            _ => None,
        }
    }
}

pub fn describe_instance_credit_specifications(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::DescribeInstanceCreditSpecificationsRequest = typed(input)?;
    let ids = req.instance_ids.unwrap_or_default();
    let filters = common::filters(input);
    let scope = ctx.scope();
    let mut rows: Vec<Arc<Instance>> = if ids.is_empty() {
        ctx.store
            .read(|v| v.list::<Instance>(&scope))
            .into_iter()
            .filter(|i| i.state(ctx.clock) != State::Terminated && burstable(&i.instance_type))
            .collect()
    } else {
        let named = ctx
            .store
            .read(|v| named(ctx, &ids, |id| v.get::<Instance>(&scope, id)))?;
        if let Some(i) = named.iter().find(|i| !burstable(&i.instance_type)) {
            return Err(ApiError::new(
                "UnsupportedOperation",
                format!(
                    "The instance ID '{}' is not a burstable performance instance (instance type {}).",
                    i.id, i.instance_type
                ),
            ));
        }
        named
    };
    rows.sort_by(|a, b| a.id.cmp(&b.id));
    let mut kept = Vec::new();
    for i in rows {
        let row = CreditRow(i);
        if common::matches(&row, &filters)? {
            kept.push(row.0);
        }
    }
    let (page, next) = common::paginate(kept, input, (5, 1000), !ids.is_empty(), |i| i.id.clone())?;
    Ok(Output::new(
        dto::DescribeInstanceCreditSpecificationsResult {
            instance_credit_specifications: Some(
                page.iter()
                    .map(|i| dto::InstanceCreditSpecification {
                        cpu_credits: Some(cpu_credits(i)),
                        instance_id: Some(i.id.clone()),
                    })
                    .collect(),
            ),
            next_token: next,
        },
    ))
}

pub fn modify_instance_credit_specification(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::ModifyInstanceCreditSpecificationRequest = typed(input)?;
    let scope = ctx.scope();
    let (ok, failed) = ctx.store.write(|tx| {
        let mut ok = Vec::new();
        let mut failed = Vec::new();
        for spec in &req.instance_credit_specifications {
            let id = &spec.instance_id;
            let credits = spec.cpu_credits.clone().unwrap_or_default();
            let refuse =
                |code: &str, message: String| dto::UnsuccessfulInstanceCreditSpecificationItem {
                    error: Some(dto::UnsuccessfulInstanceCreditSpecificationItemError {
                        code: Some(code.into()),
                        message: Some(message),
                    }),
                    instance_id: Some(id.clone()),
                };
            if let Err(e) = check_credits(&credits) {
                failed.push(refuse(&e.code, e.message));
                continue;
            }
            match named_in(ctx, tx, &scope, std::slice::from_ref(id)) {
                Err(e) => failed.push(refuse(&e.code, e.message)),
                Ok(mut found) => {
                    let i = found.remove(0);
                    if !burstable(&i.instance_type) {
                        failed.push(refuse(
                            "UnsupportedOperation",
                            format!(
                                "The instance ID '{id}' is not a burstable performance instance."
                            ),
                        ));
                        continue;
                    }
                    let mut i = (*i).clone();
                    i.cpu_credits = Some(credits);
                    tx.put(&scope, i)?;
                    ok.push(dto::SuccessfulInstanceCreditSpecificationItem {
                        instance_id: Some(id.clone()),
                    });
                }
            }
        }
        Ok::<_, ApiError>((ok, failed))
    })?;
    Ok(Output::new(dto::ModifyInstanceCreditSpecificationResult {
        successful_instance_credit_specifications: Some(ok),
        unsuccessful_instance_credit_specifications: Some(failed),
    }))
}

/// Turns detailed monitoring on or off; the answer shows the transition (`pending`,
/// `disabling`), DescribeInstances the result.
fn monitoring(ctx: &Ctx<'_>, input: &Value, on: bool) -> ApiResult<Vec<dto::InstanceMonitoring>> {
    input::dry_run(input)?;
    let ids = input::strs(input, "InstanceIds");
    let scope = ctx.scope();
    ctx.store.write(|tx| {
        let mut out = Vec::new();
        for i in named_in(ctx, tx, &scope, &ids)? {
            let mut i = (*i).clone();
            i.monitoring = on;
            out.push(dto::InstanceMonitoring {
                instance_id: Some(i.id.clone()),
                monitoring: Some(dto::Monitoring {
                    state: Some(if on { "pending" } else { "disabling" }.into()),
                    metric_category_ids: None,
                }),
            });
            tx.put(&scope, i)?;
        }
        Ok(out)
    })
}

pub fn monitor_instances(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    Ok(Output::new(dto::MonitorInstancesResult {
        instance_monitorings: Some(monitoring(ctx, input, true)?),
    }))
}

pub fn unmonitor_instances(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    Ok(Output::new(dto::UnmonitorInstancesResult {
        instance_monitorings: Some(monitoring(ctx, input, false)?),
    }))
}

fn one_of(value: &str, member: &str, allowed: &[&str]) -> ApiResult<()> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(ApiError::invalid_parameter_value(format!(
            "Value ({value}) for parameter {member} is invalid. Valid values are {}.",
            allowed.join(", ")
        )))
    }
}

pub fn modify_instance_metadata_options(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::ModifyInstanceMetadataOptionsRequest = typed(input)?;
    if let Some(t) = &req.http_tokens {
        one_of(t, "httpTokens", &["optional", "required"])?;
    }
    if let Some(e) = &req.http_endpoint {
        one_of(e, "httpEndpoint", &["enabled", "disabled"])?;
    }
    if let Some(t) = &req.instance_metadata_tags {
        one_of(t, "instanceMetadataTags", &["enabled", "disabled"])?;
    }
    if let Some(h) = req.http_put_response_hop_limit {
        if !(1..=64).contains(&h) {
            return Err(ApiError::invalid_parameter_value(format!(
                "The HttpPutResponseHopLimit value '{h}' is invalid. Specify a value between 1 and 64."
            )));
        }
    }
    let scope = ctx.scope();
    let i = ctx.store.write(|tx| {
        let mut i =
            (*named_in(ctx, tx, &scope, std::slice::from_ref(&req.instance_id))?.remove(0)).clone();
        if let Some(t) = &req.http_tokens {
            i.http_tokens = t.clone();
        }
        if let Some(e) = &req.http_endpoint {
            i.http_endpoint = e.clone();
        }
        if let Some(t) = &req.instance_metadata_tags {
            i.instance_metadata_tags = t.clone();
        }
        if let Some(h) = req.http_put_response_hop_limit {
            i.http_put_response_hop_limit = h;
        }
        tx.put(&scope, i.clone())?;
        Ok::<_, ApiError>(i)
    })?;
    Ok(Output::new(dto::ModifyInstanceMetadataOptionsResult {
        instance_id: Some(i.id.clone()),
        instance_metadata_options: Some(dto::InstanceMetadataOptionsResponse {
            http_endpoint: Some(i.http_endpoint.clone()),
            http_protocol_ipv6: Some("disabled".into()),
            http_put_response_hop_limit: Some(i.http_put_response_hop_limit),
            http_tokens: Some(i.http_tokens.clone()),
            instance_metadata_tags: Some(i.instance_metadata_tags.clone()),
            state: Some("pending".into()),
        }),
    }))
}
