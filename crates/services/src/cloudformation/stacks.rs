//! Creating, updating and deleting stacks.

use super::*;

/// A new stack record (not yet started) from a prepared template.
#[allow(clippy::too_many_arguments)]
pub(super) fn new_stack(
    ctx: &Ctx<'_>,
    id: String,
    name: &str,
    p: Template,
    tags: Vec<(String, String)>,
    capabilities: Vec<String>,
    notification_arns: Vec<String>,
    role_arn: Option<String>,
) -> Stack {
    let now = crate::iso(ctx.clock.now());
    let resources = template::order(&p.doc)
        .unwrap_or_default()
        .into_iter()
        .map(|logical| {
            let r = &p.doc["Resources"][&logical];
            let skipped = r
                .get("Condition")
                .and_then(Value::as_str)
                .is_some_and(|c| !p.conditions.get(c).copied().unwrap_or(true));
            Res {
                kind: r["Type"].as_str().unwrap_or_default().to_string(),
                physical: None,
                status: None,
                reason: None,
                updated: now.clone(),
                reference: Value::Null,
                attrs: Map::new(),
                props: Value::Null,
                retain: r.get("DeletionPolicy").and_then(Value::as_str) == Some("Retain"),
                skipped,
                touched: false,
                waiting: false,
                logical,
            }
        })
        .collect();
    Stack {
        id,
        name: name.to_string(),
        description: p
            .doc
            .get("Description")
            .and_then(Value::as_str)
            .map(str::to_string),
        status: "REVIEW_IN_PROGRESS".into(),
        reason: None,
        created: now,
        updated: None,
        deleted: None,
        template: p,
        azs: azs(ctx),
        tags,
        capabilities,
        notification_arns,
        disable_rollback: false,
        protection: false,
        role_arn,
        timeout: None,
        caller: caller(ctx),
        resources,
        events: Vec::new(),
        outputs: Vec::new(),
        change_set_id: None,
        previous: None,
        doomed: Vec::new(),
        cleanup_doc: None,
    }
}

pub(super) fn create_stack(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::CreateStackInput = typed(input)?;
    check_stack_name(&req.stack_name)?;
    if find_stack(ctx, &req.stack_name).is_some() {
        return Err(ApiError::new(
            "AlreadyExistsException",
            format!("Stack [{}] already exists", req.stack_name),
        ));
    }
    let body = template_text(
        ctx,
        req.template_body.as_deref(),
        req.template_url.as_deref(),
    )?;
    let id = stack_arn(ctx, &req.stack_name);
    let prepared = prepare(
        ctx,
        body,
        req.parameters.as_deref().unwrap_or_default(),
        req.capabilities.as_deref().unwrap_or_default(),
        &id,
        &req.stack_name,
        None,
    )?;
    let mut stack = new_stack(
        ctx,
        id.clone(),
        &req.stack_name,
        prepared,
        tags_of(req.tags.as_ref())?,
        req.capabilities.clone().unwrap_or_default(),
        req.notification_ar_ns.clone().unwrap_or_default(),
        req.role_arn.clone(),
    );
    stack.disable_rollback =
        req.disable_rollback == Some(true) || req.on_failure.as_deref() == Some("DO_NOTHING");
    stack.protection = req.enable_termination_protection == Some(true);
    stack.timeout = req.timeout_in_minutes;
    let now = stack.created.clone();
    stack.set_status("CREATE_IN_PROGRESS", Some("User Initiated".into()), &now);
    ctx.store.write(|tx| tx.put(&ctx.scope(), stack))?;
    engine::advance(ctx.store, ctx.config, ctx.clock, &ctx.scope(), &id)?;
    Ok(Output::new(dto::CreateStackOutput {
        stack_id: Some(id),
        ..Default::default()
    }))
}

/// Whether a new template and parameters change anything of a stack.
pub(super) fn unchanged(stack: &Stack, p: &Template, tags: &[(String, String)]) -> bool {
    stack.template.doc == p.doc && stack.template.values == p.values && stack.tags == tags
}

pub(super) fn update_stack(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::UpdateStackInput = typed(input)?;
    let stack = live_stack(ctx, &req.stack_name)?;
    updatable(&stack)?;
    let body = if req.use_previous_template == Some(true) {
        stack.template.body.clone()
    } else {
        template_text(
            ctx,
            req.template_body.as_deref(),
            req.template_url.as_deref(),
        )?
    };
    let p = prepare(
        ctx,
        body,
        req.parameters.as_deref().unwrap_or_default(),
        req.capabilities.as_deref().unwrap_or_default(),
        &stack.id,
        &stack.name,
        Some(&stack),
    )?;
    let tags = match &req.tags {
        Some(_) => tags_of(req.tags.as_ref())?,
        None => stack.tags.clone(),
    };
    if unchanged(&stack, &p, &tags) {
        return Err(validation("No updates are to be performed."));
    }
    let id = stack.id.clone();
    begin_update(
        ctx,
        &stack,
        p,
        tags,
        req.capabilities.unwrap_or_default(),
        None,
        req.disable_rollback == Some(true),
    )?;
    Ok(Output::new(dto::UpdateStackOutput {
        stack_id: Some(id),
        ..Default::default()
    }))
}

/// The statuses a stack can be updated from.
pub(super) fn updatable(stack: &Stack) -> ApiResult<()> {
    match stack.status.as_str() {
        "CREATE_COMPLETE" | "UPDATE_COMPLETE" | "UPDATE_ROLLBACK_COMPLETE" => Ok(()),
        other => Err(validation(format!(
            "Stack:{} is in {other} state and can not be updated.",
            stack.id
        ))),
    }
}

/// Starts an update: the stack takes the new template and parameters, keeping each resource
/// that is still in it (the engine decides, as each one's dependencies are done, whether it
/// stays, changes in place or is replaced); resources no longer in it go to the cleanup.
pub(super) fn begin_update(
    ctx: &Ctx<'_>,
    stack: &Stack,
    p: Template,
    tags: Vec<(String, String)>,
    capabilities: Vec<String>,
    change_set: Option<String>,
    disable_rollback: bool,
) -> ApiResult<()> {
    let now = crate::iso(ctx.clock.now());
    let mut s = stack.clone();
    s.previous = Some(Box::new(Previous {
        template: stack.template.clone(),
        tags: stack.tags.clone(),
        outputs: stack.outputs.clone(),
        resources: stack.resources.clone(),
    }));
    let fresh = new_stack(
        ctx,
        s.id.clone(),
        &s.name,
        p,
        tags,
        capabilities,
        s.notification_arns.clone(),
        s.role_arn.clone(),
    );
    let mut resources = Vec::with_capacity(fresh.resources.len());
    for mut r in fresh.resources {
        let old = stack
            .resources
            .iter()
            .find(|o| o.logical == r.logical && !o.skipped && o.physical.is_some());
        if let Some(o) = old.filter(|_| !r.skipped) {
            if o.kind == r.kind {
                let retain = r.retain;
                r = o.clone();
                r.retain = retain;
            }
        }
        r.touched = false;
        r.waiting = false;
        resources.push(r);
    }
    for o in stack.resources.iter().rev() {
        let kept = resources
            .iter()
            .any(|r| r.logical == o.logical && r.physical.is_some() && r.physical == o.physical);
        if !kept && o.physical.is_some() && !o.skipped {
            let mut d = o.clone();
            d.touched = false;
            s.doomed.push(Doomed {
                res: d,
                rollback: false,
            });
        }
    }
    s.resources = resources;
    s.template = fresh.template;
    s.tags = fresh.tags;
    s.capabilities = fresh.capabilities;
    s.description = fresh.description;
    s.cleanup_doc = Some(stack.template.doc.clone());
    s.change_set_id = change_set;
    s.disable_rollback = disable_rollback;
    s.updated = Some(now.clone());
    s.set_status("UPDATE_IN_PROGRESS", Some("User Initiated".into()), &now);
    let id = s.id.clone();
    ctx.store.write(|tx| tx.put(&ctx.scope(), s))?;
    engine::advance(ctx.store, ctx.config, ctx.clock, &ctx.scope(), &id)
}

pub(super) fn delete_stack(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::DeleteStackInput = typed(input)?;
    let Some(stack) = find_stack(ctx, &req.stack_name) else {
        return Ok(Output::new(()));
    };
    if !stack.live() || stack.status == "DELETE_IN_PROGRESS" {
        return Ok(Output::new(()));
    }
    if stack.protection {
        return Err(validation(format!(
            "Stack [{}] cannot be deleted while TerminationProtection is enabled",
            stack.name
        )));
    }
    if engine::in_progress(&stack.status) {
        return Err(validation(format!(
            "Stack [{}] cannot be deleted while in status {}",
            stack.name, stack.status
        )));
    }
    let stacks = ctx.store.read(|v| v.list::<Stack>(&ctx.scope()));
    for o in stack.outputs.iter().filter_map(|o| o.export.as_ref()) {
        if let Some(user) = stacks
            .iter()
            .filter(|x| x.live() && x.id != stack.id)
            .find(|x| imports_of(ctx, x).contains(o))
        {
            return Err(validation(format!(
                "Export {o} cannot be deleted as it is in use by {}",
                user.name
            )));
        }
    }
    let retain = req.retain_resources.unwrap_or_default();
    if !retain.is_empty() && stack.status != "DELETE_FAILED" {
        return Err(validation(format!(
            "Invalid operation on stack [{}]. RetainResources can only be specified when stack is in DELETE_FAILED state",
            stack.id
        )));
    }
    let mut s = (*stack).clone();
    for r in &mut s.resources {
        if r.status.as_deref() == Some("DELETE_FAILED") {
            r.status = Some("CREATE_COMPLETE".into());
        }
        if retain.contains(&r.logical) {
            r.retain = true;
        }
    }
    let now = crate::iso(ctx.clock.now());
    if s.status == "REVIEW_IN_PROGRESS" {
        s.deleted = Some(now.clone());
        s.set_status("DELETE_COMPLETE", None, &now);
    } else {
        s.set_status("DELETE_IN_PROGRESS", Some("User Initiated".into()), &now);
    }
    let id = s.id.clone();
    ctx.store.write(|tx| {
        for cs in tx.list::<ChangeSet>(&ctx.scope()) {
            if cs.stack_id == id {
                tx.delete::<ChangeSet>(&ctx.scope(), &cs.id);
            }
        }
        tx.put(&ctx.scope(), s)
    })?;
    engine::advance(ctx.store, ctx.config, ctx.clock, &ctx.scope(), &id)?;
    Ok(Output::new(()))
}

pub(super) fn update_termination_protection(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::UpdateTerminationProtectionInput = typed(input)?;
    let s = live_stack(ctx, &req.stack_name)?;
    let mut s = (*s).clone();
    s.protection = req.enable_termination_protection;
    let id = s.id.clone();
    ctx.store.write(|tx| tx.put(&ctx.scope(), s))?;
    Ok(Output::new(dto::UpdateTerminationProtectionOutput {
        stack_id: Some(id),
    }))
}
