//! Change sets: what an update would do, resource by resource, made, shown, executed and deleted.

use super::*;

/// What an update from `stack` to `p` would do, resource by resource, as a change set shows it.
pub(super) fn plan(stack: &Stack, p: &Template) -> Vec<ChangeRow> {
    let mut rows = Vec::new();
    let changed_params: Vec<&String> = p
        .values
        .iter()
        .filter(|(k, v)| stack.template.values.get(*k) != Some(v))
        .map(|(k, _)| k)
        .collect();
    let mut replaced: Vec<String> = Vec::new();
    for logical in template::order(&p.doc).unwrap_or_default() {
        let def = &p.doc["Resources"][&logical];
        let kind = def["Type"].as_str().unwrap_or_default().to_string();
        let skipped = def
            .get("Condition")
            .and_then(Value::as_str)
            .is_some_and(|c| !p.conditions.get(c).copied().unwrap_or(true));
        if skipped {
            continue;
        }
        let old = stack
            .resources
            .iter()
            .find(|o| o.logical == logical && !o.skipped && o.physical.is_some());
        let Some(old) = old.filter(|o| o.kind == kind) else {
            if let Some(o) = old {
                replaced.push(logical.clone());
                rows.push(ChangeRow {
                    action: "Modify".into(),
                    logical,
                    kind,
                    physical: o.physical.clone(),
                    replacement: Some("True".into()),
                    changed: Vec::new(),
                });
            } else {
                rows.push(ChangeRow {
                    action: "Add".into(),
                    logical,
                    kind,
                    physical: None,
                    replacement: None,
                    changed: Vec::new(),
                });
            }
            continue;
        };
        let empty = Value::Object(Default::default());
        let new_props = def.get("Properties").unwrap_or(&empty);
        let old_props = stack.template.doc["Resources"][&logical]
            .get("Properties")
            .unwrap_or(&empty);
        let mut changed: Vec<String> = Vec::new();
        let keys: std::collections::BTreeSet<&String> = new_props
            .as_object()
            .into_iter()
            .flatten()
            .chain(old_props.as_object().into_iter().flatten())
            .map(|(k, _)| k)
            .collect();
        for k in keys {
            let (n, o) = (new_props.get(k), old_props.get(k));
            let mut refs = template::Refs::default();
            if let Some(n) = n {
                refs.walk(n);
            }
            let via = refs
                .refs
                .iter()
                .chain(refs.atts.iter())
                .any(|r| changed_params.contains(&r) || replaced.contains(r));
            if n != o || via {
                changed.push(k.clone());
            }
        }
        if changed.is_empty() {
            continue;
        }
        let t = resources::find(&kind);
        let in_place = t.is_some_and(|t| {
            t.update.is_some() && changed.iter().all(|c| t.mutable.contains(&c.as_str()))
        });
        if !in_place {
            replaced.push(logical.clone());
        }
        rows.push(ChangeRow {
            action: "Modify".into(),
            logical,
            kind,
            physical: old.physical.clone(),
            replacement: Some(if in_place { "False" } else { "True" }.into()),
            changed,
        });
    }
    for o in &stack.resources {
        let still = p.doc["Resources"].get(&o.logical).is_some_and(|d| {
            d.get("Condition")
                .and_then(Value::as_str)
                .is_none_or(|c| p.conditions.get(c).copied().unwrap_or(true))
        });
        if !still && o.physical.is_some() && !o.skipped {
            rows.push(ChangeRow {
                action: "Remove".into(),
                logical: o.logical.clone(),
                kind: o.kind.clone(),
                physical: o.physical.clone(),
                replacement: None,
                changed: Vec::new(),
            });
        }
    }
    rows
}

pub(super) fn find_change_set(
    ctx: &Ctx<'_>,
    name_or_id: &str,
    stack: Option<&str>,
) -> ApiResult<std::sync::Arc<ChangeSet>> {
    let not_found = || {
        ApiError::new(
            "ChangeSetNotFound",
            format!("ChangeSet [{name_or_id}] does not exist"),
        )
    };
    if name_or_id.starts_with("arn:") {
        return ctx
            .store
            .read(|v| v.get::<ChangeSet>(&ctx.scope(), name_or_id))
            .ok_or_else(not_found);
    }
    let stack = stack.ok_or_else(|| {
        validation("StackName must be specified if ChangeSetName is not specified as an ARN.")
    })?;
    let s = live_stack(ctx, stack)?;
    ctx.store
        .read(|v| {
            v.list::<ChangeSet>(&ctx.scope())
                .into_iter()
                .find(|c| c.stack_id == s.id && c.name == name_or_id)
        })
        .ok_or_else(not_found)
}

pub(super) fn create_change_set(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::CreateChangeSetInput = typed(input)?;
    let kind = req
        .change_set_type
        .clone()
        .unwrap_or_else(|| "UPDATE".into());
    if kind == "IMPORT" {
        return Err(validation(
            "Airlock does not import existing resources into stacks (ChangeSetType IMPORT).",
        ));
    }
    let name_ok = req.change_set_name.len() <= 128
        && req
            .change_set_name
            .starts_with(|c: char| c.is_ascii_alphabetic())
        && req
            .change_set_name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !name_ok {
        return Err(validation(format!(
            "1 validation error detected: Value '{}' at 'changeSetName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]*",
            req.change_set_name
        )));
    }
    let existing = find_stack(ctx, &req.stack_name).filter(|s| s.live());
    let (stack_id, previous) = match (kind.as_str(), &existing) {
        ("CREATE", Some(s)) if s.status != "REVIEW_IN_PROGRESS" => {
            return Err(validation(format!(
                "Stack [{}] already exists and cannot be created again with the changeSet [{}].",
                s.name, req.change_set_name
            )))
        }
        ("CREATE", Some(s)) => (s.id.clone(), None),
        ("CREATE", None) => {
            check_stack_name(&req.stack_name)?;
            (stack_arn(ctx, &req.stack_name), None)
        }
        (_, Some(s)) if s.status == "REVIEW_IN_PROGRESS" => {
            return Err(validation(format!(
                "Stack:{} is in REVIEW_IN_PROGRESS state and can not be updated.",
                s.id
            )))
        }
        (_, Some(s)) => (s.id.clone(), Some(s.clone())),
        (_, None) => return Err(not_exist(&req.stack_name)),
    };
    if let Some(s) = &previous {
        updatable(s)?;
    }
    let body = if req.use_previous_template == Some(true) {
        previous
            .as_ref()
            .map(|s| s.template.body.clone())
            .ok_or_else(|| {
                validation("UsePreviousTemplate can only be used with an existing stack")
            })?
    } else {
        template_text(
            ctx,
            req.template_body.as_deref(),
            req.template_url.as_deref(),
        )?
    };
    let stack_name = existing
        .as_ref()
        .map(|s| s.name.clone())
        .unwrap_or_else(|| req.stack_name.clone());
    let p = prepare(
        ctx,
        body,
        req.parameters.as_deref().unwrap_or_default(),
        req.capabilities.as_deref().unwrap_or_default(),
        &stack_id,
        &stack_name,
        previous.as_deref(),
    )?;
    let tags = match (&req.tags, &previous) {
        (None, Some(s)) => s.tags.clone(),
        _ => tags_of(req.tags.as_ref())?,
    };
    let duplicate = ctx.store.read(|v| {
        v.list::<ChangeSet>(&ctx.scope())
            .iter()
            .any(|c| c.stack_id == stack_id && c.name == req.change_set_name)
    });
    if duplicate {
        return Err(ApiError::new(
            "AlreadyExistsException",
            format!("ChangeSet {} already exists", req.change_set_name),
        ));
    }
    let (status, reason, execution, changes) = match &previous {
        Some(s) if unchanged(s, &p, &tags) => (
            "FAILED",
            Some("The submitted information didn't contain changes. Submit different information to create a change set.".to_string()),
            "UNAVAILABLE",
            Vec::new(),
        ),
        Some(s) => ("CREATE_COMPLETE", None, "AVAILABLE", plan(s, &p)),
        None => (
            "CREATE_COMPLETE",
            None,
            "AVAILABLE",
            template::order(&p.doc)?
                .into_iter()
                .filter(|l| {
                    p.doc["Resources"][l]
                        .get("Condition")
                        .and_then(Value::as_str)
                        .is_none_or(|c| p.conditions.get(c).copied().unwrap_or(true))
                })
                .map(|l| {
                    let kind = p.doc["Resources"][&l]["Type"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string();
                    ChangeRow {
                        action: "Add".into(),
                        logical: l,
                        kind,
                        physical: None,
                        replacement: None,
                        changed: Vec::new(),
                    }
                })
                .collect(),
        ),
    };
    let id = format!(
        "arn:{}:cloudformation:{}:{}:changeSet/{}/{}",
        crate::partition::of(&ctx.region),
        ctx.region,
        ctx.account(),
        req.change_set_name,
        uuid::Uuid::new_v4()
    );
    let now = crate::iso(ctx.clock.now());
    let cs = ChangeSet {
        id: id.clone(),
        name: req.change_set_name.clone(),
        stack_id: stack_id.clone(),
        stack_name: stack_name.clone(),
        kind: kind.clone(),
        status: status.into(),
        reason,
        execution_status: execution.into(),
        created: now.clone(),
        description: req.description.clone(),
        template: p.clone(),
        tags: tags.clone(),
        capabilities: req.capabilities.clone().unwrap_or_default(),
        notification_arns: req.notification_ar_ns.clone().unwrap_or_default(),
        role_arn: req.role_arn.clone(),
        changes,
    };
    let new_stack = match (&existing, kind.as_str()) {
        (None, "CREATE") => {
            let mut s = new_stack(
                ctx,
                stack_id.clone(),
                &stack_name,
                p,
                tags,
                cs.capabilities.clone(),
                cs.notification_arns.clone(),
                cs.role_arn.clone(),
            );
            s.set_status("REVIEW_IN_PROGRESS", Some("User Initiated".into()), &now);
            Some(s)
        }
        _ => None,
    };
    ctx.store.write(|tx| {
        if let Some(s) = new_stack {
            tx.put(&ctx.scope(), s)?;
        }
        tx.put(&ctx.scope(), cs)
    })?;
    Ok(Output::new(dto::CreateChangeSetOutput {
        id: Some(id),
        stack_id: Some(stack_id),
    }))
}

pub(super) fn changes_out(cs: &ChangeSet) -> Vec<dto::Change> {
    cs.changes
        .iter()
        .map(|c| dto::Change {
            r#type: Some("Resource".into()),
            hook_invocation_count: None,
            resource_change: Some(dto::ResourceChange {
                action: Some(c.action.clone()),
                logical_resource_id: Some(c.logical.clone()),
                physical_resource_id: c.physical.clone(),
                resource_type: Some(c.kind.clone()),
                replacement: c.replacement.clone(),
                scope: Some(if c.changed.is_empty() {
                    Vec::new()
                } else {
                    vec!["Properties".into()]
                }),
                details: Some(
                    c.changed
                        .iter()
                        .map(|k| dto::ResourceChangeDetail {
                            target: Some(dto::ResourceTargetDefinition {
                                attribute: Some("Properties".into()),
                                name: Some(k.clone()),
                                requires_recreation: Some(
                                    if c.replacement.as_deref() == Some("True") {
                                        "Always"
                                    } else {
                                        "Never"
                                    }
                                    .into(),
                                ),
                                ..Default::default()
                            }),
                            evaluation: Some("Static".into()),
                            change_source: Some("DirectModification".into()),
                            ..Default::default()
                        })
                        .collect(),
                ),
                ..Default::default()
            }),
        })
        .collect()
}

pub(super) fn describe_change_set(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::DescribeChangeSetInput = typed(input)?;
    let cs = find_change_set(ctx, &req.change_set_name, req.stack_name.as_deref())?;
    Ok(Output::new(dto::DescribeChangeSetOutput {
        change_set_id: Some(cs.id.clone()),
        change_set_name: Some(cs.name.clone()),
        stack_id: Some(cs.stack_id.clone()),
        stack_name: Some(cs.stack_name.clone()),
        description: cs.description.clone(),
        parameters: shown_params(&cs.template.params),
        creation_time: Some(cs.created.clone()),
        execution_status: Some(cs.execution_status.clone()),
        status: Some(cs.status.clone()),
        status_reason: cs.reason.clone(),
        notification_ar_ns: Some(cs.notification_arns.clone()),
        rollback_configuration: Some(dto::RollbackConfiguration::default()),
        capabilities: (!cs.capabilities.is_empty()).then(|| cs.capabilities.clone()),
        tags: output_tags(&cs.tags),
        changes: Some(changes_out(&cs)),
        include_nested_stacks: Some(false),
        ..Default::default()
    }))
}

pub(super) fn execute_change_set(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::ExecuteChangeSetInput = typed(input)?;
    let cs = find_change_set(ctx, &req.change_set_name, req.stack_name.as_deref())?;
    if cs.execution_status != "AVAILABLE" {
        return Err(ApiError::new(
            "InvalidChangeSetStatus",
            format!(
                "ChangeSet [{}] cannot be executed in its current execution status of [{}]",
                cs.id, cs.execution_status
            ),
        ));
    }
    let stack = ctx
        .store
        .read(|v| v.get::<Stack>(&ctx.scope(), &cs.stack_id))
        .ok_or_else(|| not_exist(&cs.stack_name))?;
    let mut executed = (*cs).clone();
    executed.execution_status = "EXECUTE_IN_PROGRESS".into();
    if cs.kind == "UPDATE" {
        updatable(&stack)?;
        ctx.store.write(|tx| {
            for other in tx.list::<ChangeSet>(&ctx.scope()) {
                if other.stack_id == cs.stack_id && other.id != cs.id {
                    tx.delete::<ChangeSet>(&ctx.scope(), &other.id);
                }
            }
            tx.put(&ctx.scope(), executed)
        })?;
        begin_update(
            ctx,
            &stack,
            cs.template.clone(),
            cs.tags.clone(),
            cs.capabilities.clone(),
            Some(cs.id.clone()),
            req.disable_rollback == Some(true),
        )?;
        return Ok(Output::new(dto::ExecuteChangeSetOutput::default()));
    }
    let mut s = (*stack).clone();
    let now = crate::iso(ctx.clock.now());
    s.change_set_id = Some(cs.id.clone());
    s.disable_rollback = req.disable_rollback == Some(true);
    s.set_status("CREATE_IN_PROGRESS", Some("User Initiated".into()), &now);
    ctx.store.write(|tx| {
        for other in tx.list::<ChangeSet>(&ctx.scope()) {
            if other.stack_id == cs.stack_id && other.id != cs.id {
                tx.delete::<ChangeSet>(&ctx.scope(), &other.id);
            }
        }
        tx.put(&ctx.scope(), executed)?;
        tx.put(&ctx.scope(), s)
    })?;
    engine::advance(ctx.store, ctx.config, ctx.clock, &ctx.scope(), &cs.stack_id)?;
    Ok(Output::new(dto::ExecuteChangeSetOutput::default()))
}

pub(super) fn delete_change_set(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::DeleteChangeSetInput = typed(input)?;
    let cs = find_change_set(ctx, &req.change_set_name, req.stack_name.as_deref())?;
    if cs.execution_status == "EXECUTE_IN_PROGRESS" {
        return Err(ApiError::new(
            "InvalidChangeSetStatus",
            format!(
                "ChangeSet [{}] cannot be deleted in its current status of [EXECUTE_IN_PROGRESS]",
                cs.id
            ),
        ));
    }
    ctx.store.write(|tx| {
        tx.delete::<ChangeSet>(&ctx.scope(), &cs.id);
        Ok::<_, ApiError>(())
    })?;
    Ok(Output::new(dto::DeleteChangeSetOutput::default()))
}

pub(super) fn list_change_sets(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::ListChangeSetsInput = typed(input)?;
    let s = live_stack(ctx, &req.stack_name)?;
    let mut sets = ctx.store.read(|v| v.list::<ChangeSet>(&ctx.scope()));
    sets.retain(|c| c.stack_id == s.id);
    sets.sort_by(|a, b| a.created.cmp(&b.created));
    Ok(Output::new(dto::ListChangeSetsOutput {
        summaries: Some(
            sets.iter()
                .map(|c| dto::ChangeSetSummary {
                    change_set_id: Some(c.id.clone()),
                    change_set_name: Some(c.name.clone()),
                    stack_id: Some(c.stack_id.clone()),
                    stack_name: Some(c.stack_name.clone()),
                    execution_status: Some(c.execution_status.clone()),
                    status: Some(c.status.clone()),
                    status_reason: c.reason.clone(),
                    creation_time: Some(c.created.clone()),
                    description: c.description.clone(),
                    include_nested_stacks: Some(false),
                    ..Default::default()
                })
                .collect(),
        ),
        next_token: None,
    }))
}
