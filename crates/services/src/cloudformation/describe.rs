//! What a stack shows: DescribeStacks, events, resources, templates and their summaries,
//! exports and imports.

use super::*;

pub(super) fn output_tags(tags: &[(String, String)]) -> Option<Vec<dto::Tag>> {
    Some(
        tags.iter()
            .map(|(k, v)| dto::Tag {
                key: Some(k.clone()),
                value: Some(v.clone()),
            })
            .collect(),
    )
}

pub(super) fn shown_params(params: &[Shown]) -> Option<Vec<dto::Parameter>> {
    if params.is_empty() {
        return None;
    }
    Some(
        params
            .iter()
            .map(|p| dto::Parameter {
                parameter_key: Some(p.key.clone()),
                parameter_value: Some(if p.no_echo {
                    "****".into()
                } else {
                    p.value.clone()
                }),
                resolved_value: p.resolved.clone(),
                ..Default::default()
            })
            .collect(),
    )
}

pub(super) fn stack_out(s: &Stack) -> dto::Stack {
    dto::Stack {
        stack_id: Some(s.id.clone()),
        stack_name: Some(s.name.clone()),
        change_set_id: s.change_set_id.clone(),
        description: s.description.clone(),
        parameters: shown_params(&s.template.params),
        creation_time: Some(s.created.clone()),
        deletion_time: s.deleted.clone(),
        last_updated_time: s.updated.clone(),
        rollback_configuration: Some(dto::RollbackConfiguration::default()),
        stack_status: Some(s.status.clone()),
        stack_status_reason: s.reason.clone(),
        disable_rollback: Some(s.disable_rollback),
        notification_ar_ns: Some(s.notification_arns.clone()),
        timeout_in_minutes: s.timeout,
        capabilities: (!s.capabilities.is_empty()).then(|| s.capabilities.clone()),
        outputs: (!s.outputs.is_empty()).then(|| {
            s.outputs
                .iter()
                .map(|o| dto::Output {
                    output_key: Some(o.key.clone()),
                    output_value: Some(o.value.clone()),
                    description: o.description.clone(),
                    export_name: o.export.clone(),
                })
                .collect()
        }),
        role_arn: s.role_arn.clone(),
        tags: output_tags(&s.tags),
        enable_termination_protection: Some(s.protection),
        drift_information: Some(dto::StackDriftInformation {
            stack_drift_status: Some("NOT_CHECKED".into()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub(super) fn describe_stacks(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::DescribeStacksInput = typed(input)?;
    let stacks: Vec<dto::Stack> = match req.stack_name.as_deref() {
        Some(n) => vec![stack_out(&*live_stack(ctx, n)?)],
        None => {
            let mut all = ctx.store.read(|v| v.list::<Stack>(&ctx.scope()));
            all.retain(|s| s.live());
            all.sort_by(|a, b| b.created.cmp(&a.created));
            all.iter().map(|s| stack_out(s)).collect()
        }
    };
    Ok(Output::new(dto::DescribeStacksOutput {
        stacks: Some(stacks),
        next_token: None,
    }))
}

pub(super) fn describe_stack_events(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::DescribeStackEventsInput = typed(input)?;
    let s = live_stack(ctx, &req.stack_name)?;
    let events = s
        .events
        .iter()
        .rev()
        .map(|e| dto::StackEvent {
            stack_id: Some(s.id.clone()),
            stack_name: Some(s.name.clone()),
            event_id: Some(e.id.clone()),
            logical_resource_id: Some(e.logical.clone()),
            physical_resource_id: Some(e.physical.clone().unwrap_or_default()),
            resource_type: Some(e.kind.clone()),
            timestamp: Some(e.at.clone()),
            resource_status: Some(e.status.clone()),
            resource_status_reason: e.reason.clone(),
            resource_properties: e.props.clone(),
            ..Default::default()
        })
        .collect();
    Ok(Output::new(dto::DescribeStackEventsOutput {
        stack_events: Some(events),
        next_token: None,
    }))
}

pub(super) fn shown_resources(s: &Stack) -> impl Iterator<Item = &Res> {
    s.resources.iter().filter(|r| r.status.is_some())
}

pub(super) fn describe_stack_resource(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::DescribeStackResourceInput = typed(input)?;
    let s = live_stack(ctx, &req.stack_name)?;
    let r = shown_resources(&s)
        .find(|r| r.logical == req.logical_resource_id)
        .ok_or_else(|| {
            validation(format!(
                "Resource {} does not exist for stack {}",
                req.logical_resource_id, s.name
            ))
        })?;
    Ok(Output::new(dto::DescribeStackResourceOutput {
        stack_resource_detail: Some(dto::StackResourceDetail {
            stack_name: Some(s.name.clone()),
            stack_id: Some(s.id.clone()),
            logical_resource_id: Some(r.logical.clone()),
            physical_resource_id: r.physical.clone(),
            resource_type: Some(r.kind.clone()),
            last_updated_timestamp: Some(r.updated.clone()),
            resource_status: r.status.clone(),
            resource_status_reason: r.reason.clone(),
            metadata: Some(
                s.template
                    .doc
                    .pointer(&format!("/Resources/{}/Metadata", r.logical))
                    .map(|m| m.to_string())
                    .unwrap_or_else(|| "{}".into()),
            ),
            drift_information: Some(dto::StackResourceDriftInformation {
                stack_resource_drift_status: Some("NOT_CHECKED".into()),
                ..Default::default()
            }),
            ..Default::default()
        }),
    }))
}

pub(super) fn describe_stack_resources(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::DescribeStackResourcesInput = typed(input)?;
    let s = match (&req.stack_name, &req.physical_resource_id) {
        (Some(n), _) => live_stack(ctx, n)?,
        (None, Some(p)) => ctx
            .store
            .read(|v| {
                v.list::<Stack>(&ctx.scope()).into_iter().find(|s| {
                    s.live() && s.resources.iter().any(|r| r.physical.as_deref() == Some(p))
                })
            })
            .ok_or_else(|| validation(format!("Stack for {p} does not exist")))?,
        (None, None) => {
            return Err(validation(
                "Either StackName or PhysicalResourceId must be specified.",
            ))
        }
    };
    let resources = shown_resources(&s)
        .filter(|r| {
            req.logical_resource_id
                .as_deref()
                .is_none_or(|l| l == r.logical)
        })
        .map(|r| dto::StackResource {
            stack_name: Some(s.name.clone()),
            stack_id: Some(s.id.clone()),
            logical_resource_id: Some(r.logical.clone()),
            physical_resource_id: r.physical.clone(),
            resource_type: Some(r.kind.clone()),
            timestamp: Some(r.updated.clone()),
            resource_status: r.status.clone(),
            resource_status_reason: r.reason.clone(),
            drift_information: Some(dto::StackResourceDriftInformation {
                stack_resource_drift_status: Some("NOT_CHECKED".into()),
                ..Default::default()
            }),
            ..Default::default()
        })
        .collect();
    Ok(Output::new(dto::DescribeStackResourcesOutput {
        stack_resources: Some(resources),
    }))
}

pub(super) fn list_stack_resources(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::ListStackResourcesInput = typed(input)?;
    let s = live_stack(ctx, &req.stack_name)?;
    let summaries = shown_resources(&s)
        .map(|r| dto::StackResourceSummary {
            logical_resource_id: Some(r.logical.clone()),
            physical_resource_id: r.physical.clone(),
            resource_type: Some(r.kind.clone()),
            last_updated_timestamp: Some(r.updated.clone()),
            resource_status: r.status.clone(),
            resource_status_reason: r.reason.clone(),
            drift_information: Some(dto::StackResourceDriftInformationSummary {
                stack_resource_drift_status: Some("NOT_CHECKED".into()),
                ..Default::default()
            }),
            ..Default::default()
        })
        .collect();
    Ok(Output::new(dto::ListStackResourcesOutput {
        stack_resource_summaries: Some(summaries),
        next_token: None,
    }))
}

pub(super) fn list_stacks(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::ListStacksInput = typed(input)?;
    let filter = req.stack_status_filter.unwrap_or_default();
    let mut all = ctx.store.read(|v| v.list::<Stack>(&ctx.scope()));
    all.sort_by(|a, b| b.created.cmp(&a.created));
    let summaries = all
        .iter()
        .filter(|s| filter.is_empty() || filter.contains(&s.status))
        .map(|s| dto::StackSummary {
            stack_id: Some(s.id.clone()),
            stack_name: Some(s.name.clone()),
            template_description: s.description.clone(),
            creation_time: Some(s.created.clone()),
            last_updated_time: s.updated.clone(),
            deletion_time: s.deleted.clone(),
            stack_status: Some(s.status.clone()),
            stack_status_reason: s.reason.clone(),
            drift_information: Some(dto::StackDriftInformationSummary {
                stack_drift_status: Some("NOT_CHECKED".into()),
                ..Default::default()
            }),
            ..Default::default()
        })
        .collect();
    Ok(Output::new(dto::ListStacksOutput {
        stack_summaries: Some(summaries),
        next_token: None,
    }))
}

pub(super) fn get_template(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::GetTemplateInput = typed(input)?;
    let body = match (&req.change_set_name, &req.stack_name) {
        (Some(cs), _) => find_change_set(ctx, cs, req.stack_name.as_deref())?
            .template
            .body
            .clone(),
        (None, Some(n)) => live_stack(ctx, n)?.template.body.clone(),
        (None, None) => return Err(validation("StackName or ChangeSetName must be specified.")),
    };
    Ok(Output::new(dto::GetTemplateOutput {
        template_body: Some(body),
        stages_available: Some(vec!["Original".into(), "Processed".into()]),
    }))
}

pub(super) fn declarations(doc: &Value) -> Vec<dto::ParameterDeclaration> {
    template::section(doc, "Parameters")
        .unwrap_or_default()
        .into_iter()
        .map(|(k, d)| dto::ParameterDeclaration {
            parameter_key: Some(k.to_string()),
            default_value: d.get("Default").and_then(eval::scalar),
            parameter_type: d.get("Type").and_then(eval::scalar),
            no_echo: Some(
                d.get("NoEcho")
                    .and_then(eval::scalar)
                    .is_some_and(|v| v == "true"),
            ),
            description: d.get("Description").and_then(eval::scalar),
            parameter_constraints: Some(dto::ParameterConstraints {
                allowed_values: d
                    .get("AllowedValues")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(eval::scalar).collect()),
            }),
        })
        .collect()
}

pub(super) fn capability_fields(doc: &Value) -> (Option<Vec<String>>, Option<String>) {
    match needed_capability(doc) {
        Some((c, _)) => {
            let types: std::collections::BTreeSet<&str> = template::resources(doc)
                .into_iter()
                .filter_map(|(_, r)| r.get("Type").and_then(Value::as_str))
                .filter(|t| t.starts_with("AWS::IAM::"))
                .collect();
            (
                Some(vec![c.to_string()]),
                Some(format!(
                    "The following resource(s) require capabilities: [{}]",
                    types.into_iter().collect::<Vec<_>>().join(", ")
                )),
            )
        }
        None => (None, None),
    }
}

pub(super) fn get_template_summary(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::GetTemplateSummaryInput = typed(input)?;
    let body = match (&req.stack_name, &req.template_body, &req.template_url) {
        (Some(n), None, None) => live_stack(ctx, n)?.template.body.clone(),
        (None, b, u) => template_text(ctx, b.as_deref(), u.as_deref())?,
        _ => {
            return Err(validation(
                "Specify exactly one of StackName, TemplateBody or TemplateURL.",
            ))
        }
    };
    let doc = template::parse(&body)?;
    template::check(&doc)?;
    let (capabilities, reason) = capability_fields(&doc);
    let mut types: Vec<String> = template::resources(&doc)
        .into_iter()
        .filter_map(|(_, r)| r.get("Type").and_then(Value::as_str).map(str::to_string))
        .collect();
    types.sort();
    types.dedup();
    Ok(Output::new(dto::GetTemplateSummaryOutput {
        parameters: Some(declarations(&doc)),
        description: doc.get("Description").and_then(eval::scalar),
        capabilities,
        capabilities_reason: reason,
        resource_types: Some(types),
        version: doc.get("AWSTemplateFormatVersion").and_then(eval::scalar),
        metadata: doc.get("Metadata").map(|m| m.to_string()),
        declared_transforms: Some(Vec::new()),
        ..Default::default()
    }))
}

pub(super) fn validate_template(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::ValidateTemplateInput = typed(input)?;
    let body = template_text(
        ctx,
        req.template_body.as_deref(),
        req.template_url.as_deref(),
    )?;
    let doc = template::parse(&body)?;
    template::check(&doc)?;
    let (capabilities, reason) = capability_fields(&doc);
    let parameters = template::section(&doc, "Parameters")?
        .into_iter()
        .map(|(k, d)| dto::TemplateParameter {
            parameter_key: Some(k.to_string()),
            default_value: d.get("Default").and_then(eval::scalar),
            no_echo: Some(
                d.get("NoEcho")
                    .and_then(eval::scalar)
                    .is_some_and(|v| v == "true"),
            ),
            description: d.get("Description").and_then(eval::scalar),
        })
        .collect();
    Ok(Output::new(dto::ValidateTemplateOutput {
        parameters: Some(parameters),
        description: doc.get("Description").and_then(eval::scalar),
        capabilities,
        capabilities_reason: reason,
        declared_transforms: Some(Vec::new()),
    }))
}

pub(super) fn list_exports(ctx: &Ctx<'_>, _input: &Value) -> ApiResult<Output> {
    let exports = exports_with_owner(ctx)
        .into_iter()
        .map(|(name, (owner, value))| dto::Export {
            exporting_stack_id: Some(owner),
            name: Some(name),
            value: Some(value),
        })
        .collect();
    Ok(Output::new(dto::ListExportsOutput {
        exports: Some(exports),
        next_token: None,
    }))
}

/// The export names a stack's template imports (with its parameters and pseudo parameters).
pub(super) fn imports_of(ctx: &Ctx<'_>, s: &Stack) -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<Value>) {
        match v {
            Value::Object(m) => {
                if let Some(arg) = m.get("Fn::ImportValue").filter(|_| m.len() == 1) {
                    out.push(arg.clone());
                } else {
                    m.values().for_each(|x| walk(x, out));
                }
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut args = Vec::new();
    walk(&s.template.doc, &mut args);
    let k = engine::known(ctx, s);
    let env = eval::Env {
        doc: &s.template.doc,
        params: &k.params,
        resources: &k.resources,
        conditions: &s.template.conditions,
        azs: &s.azs,
        region: &ctx.region,
        exports: &k.exports,
    };
    args.iter()
        .filter_map(|a| env.resolve(a).ok().flatten())
        .filter_map(|v| eval::scalar(&v))
        .collect()
}

pub(super) fn list_imports(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::ListImportsInput = typed(input)?;
    if !exports_with_owner(ctx).contains_key(&req.export_name) {
        return Err(validation(format!(
            "Export '{}' is not imported by any stack.",
            req.export_name
        )));
    }
    let stacks = ctx.store.read(|v| v.list::<Stack>(&ctx.scope()));
    let importing: Vec<String> = stacks
        .iter()
        .filter(|s| s.live())
        .filter(|s| imports_of(ctx, s).contains(&req.export_name))
        .map(|s| s.name.clone())
        .collect();
    if importing.is_empty() {
        return Err(validation(format!(
            "Export '{}' is not imported by any stack.",
            req.export_name
        )));
    }
    Ok(Output::new(dto::ListImportsOutput {
        imports: Some(importing),
        next_token: None,
    }))
}
