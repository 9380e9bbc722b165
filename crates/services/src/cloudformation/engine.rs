//! A stack's operations as a state machine over its record: each step starts, checks or
//! deletes one resource and is committed before the next, so a stack moves as far as the
//! resources' own lifecycles allow, within the request that started it (at `--time-scale 0`,
//! to the end) and then on the ticker's clock.
//!
//! Creation starts every resource whose dependencies are complete (independent resources are in
//! progress together) and waits for each as its service reports it ready; a failure cancels the
//! rest and rolls back, deleting what was made in reverse dependency order. Deletion removes a
//! resource only once everything that depends on it is gone.

use super::eval::{Env, Known};
use super::resources::{self, Props};
use super::template;
use super::{ChangeSet, Res, Stack};
use crate::{Clock, Config, Ctx};
use airlock_protocol::ApiResult;
use airlock_store::{Scope, Store};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

/// One engine at a time moves stacks (a request and the ticker never both act on one).
static ENGINE: Mutex<()> = Mutex::new(());

/// The phase a stack status belongs to.
enum Phase {
    Create,
    Delete { rollback: bool },
    Settled,
}

fn phase(status: &str) -> Phase {
    match status {
        "CREATE_IN_PROGRESS" => Phase::Create,
        "ROLLBACK_IN_PROGRESS" => Phase::Delete { rollback: true },
        "DELETE_IN_PROGRESS" => Phase::Delete { rollback: false },
        _ => Phase::Settled,
    }
}

pub fn in_progress(status: &str) -> bool {
    !matches!(phase(status), Phase::Settled)
}

/// Moves one stack as far as it can go now.
pub fn advance(
    store: &Store,
    config: &Config,
    clock: Clock,
    scope: &Scope,
    id: &str,
) -> ApiResult<()> {
    let _one = ENGINE.lock().unwrap_or_else(|e| e.into_inner());
    // Each resource takes a bounded number of steps; the bound only guards against a bug.
    for _ in 0..100_000 {
        let Some(current) = store.read(|v| v.get::<Stack>(scope, id)) else {
            return Ok(());
        };
        let mut stack = (*current).clone();
        let ctx = Ctx {
            store,
            config,
            principal: stack.caller.clone().into(),
            region: scope.region.clone(),
            request_id: uuid::Uuid::new_v4().to_string(),
            clock,
            body: crate::Body::EMPTY,
            origin: crate::authz::Origin {
                secure: true,
                ..Default::default()
            },
        };
        let moved = match phase(&stack.status) {
            Phase::Create => create_step(&ctx, &mut stack),
            Phase::Delete { rollback } => delete_step(&ctx, &mut stack, rollback),
            Phase::Settled => false,
        };
        if !moved {
            return Ok(());
        }
        let finished = !in_progress(&stack.status);
        store.write(|tx| {
            if finished {
                finish_change_set(tx, scope, &stack)?;
            }
            tx.put(scope, stack)?;
            Ok::<_, airlock_protocol::ApiError>(())
        })?;
    }
    Ok(())
}

/// The change set a finished stack operation executed is complete (or failed).
fn finish_change_set(
    tx: &mut airlock_store::Tx<'_>,
    scope: &Scope,
    stack: &Stack,
) -> ApiResult<()> {
    let Some(id) = &stack.change_set_id else {
        return Ok(());
    };
    if let Some(cs) = tx.get::<ChangeSet>(scope, id) {
        if cs.execution_status == "EXECUTE_IN_PROGRESS" {
            let mut cs = (*cs).clone();
            cs.execution_status =
                if stack.status.ends_with("_COMPLETE") && !stack.status.contains("ROLLBACK") {
                    "EXECUTE_COMPLETE".into()
                } else {
                    "EXECUTE_FAILED".into()
                };
            tx.put(scope, cs)?;
        }
    }
    Ok(())
}

/// Moves every stack in progress (the ticker).
pub fn tick(store: &Store, config: &Config, clock: Clock) -> ApiResult<usize> {
    let due: Vec<(Scope, String)> = store.read(|v| {
        v.list_all::<Stack>()
            .into_iter()
            .filter(|(_, s)| in_progress(&s.status))
            .map(|(scope, s)| (scope, s.id.clone()))
            .collect()
    });
    for (scope, id) in &due {
        advance(store, config, clock, scope, id)?;
    }
    Ok(due.len())
}

fn complete(status: Option<&str>) -> bool {
    matches!(status, Some("CREATE_COMPLETE") | Some("UPDATE_COMPLETE"))
}

/// What intrinsics may read of a stack now.
pub struct Known2 {
    pub params: BTreeMap<String, Value>,
    pub resources: BTreeMap<String, Known>,
    pub exports: BTreeMap<String, String>,
}

pub fn known(ctx: &Ctx<'_>, stack: &Stack) -> Known2 {
    let mut params = stack.values.clone();
    for (k, v) in super::pseudo(ctx, &stack.id, &stack.name) {
        params.insert(k, v);
    }
    let resources = stack
        .resources
        .iter()
        .filter(|r| complete(r.status.as_deref()))
        .map(|r| {
            (
                r.logical.clone(),
                Known {
                    reference: r.reference.clone(),
                    attrs: r.attrs.clone(),
                },
            )
        })
        .collect();
    Known2 {
        params,
        resources,
        exports: super::exports(ctx, Some(&stack.id)),
    }
}

fn env<'a>(stack: &'a Stack, k: &'a Known2, region: &'a str) -> Env<'a> {
    Env {
        doc: &stack.doc,
        params: &k.params,
        resources: &k.resources,
        conditions: &stack.conditions,
        azs: &stack.azs,
        region,
        exports: &k.exports,
    }
}

fn props_of<'a>(stack: &'a Stack, r: &'a Res) -> Props<'a> {
    Props {
        v: &r.props,
        stack: &stack.name,
        logical: &r.logical,
        tags: &stack.tags,
    }
}

/// The failure reason CloudFormation shows for a service's error.
fn reason(ctx: &Ctx<'_>, service: &str, e: &airlock_protocol::ApiError) -> String {
    if e.code == "ValidationError" && e.message.starts_with("Properties validation failed") {
        return e.message.clone();
    }
    if e.code == "Template" {
        return e.message.clone();
    }
    let service = match service {
        "ec2" => "Ec2",
        "iam" => "Iam",
        "s3" => "S3",
        "elbv2" => "ElasticLoadBalancingV2",
        "mwaa" => "Mwaa",
        "acm" => "Acm",
        "ssm" => "Ssm",
        other => other,
    };
    format!(
        "Resource handler returned message: \"{} (Service: {service}, Status Code: {}, Request ID: {})\" (HandlerErrorCode: {})",
        e.message,
        e.status.unwrap_or(400),
        ctx.request_id,
        handler_code(&e.code)
    )
}

/// The handler error code CloudFormation's resource providers map a service error to.
fn handler_code(code: &str) -> &'static str {
    if code.contains("NotFound") || code.starts_with("NoSuch") {
        "NotFound"
    } else if code.contains("AlreadyExists")
        || code.contains("Duplicate")
        || code == "BucketAlreadyOwnedByYou"
    {
        "AlreadyExists"
    } else if code.contains("Limit") || code.contains("Quota") || code.starts_with("TooMany") {
        "ServiceLimitExceeded"
    } else if code.contains("AccessDenied") || code == "UnauthorizedOperation" {
        "AccessDenied"
    } else {
        "InvalidRequest"
    }
}

fn service_of(kind: &str) -> &'static str {
    match kind.split("::").nth(1) {
        Some("EC2") => "ec2",
        Some("IAM") => "iam",
        Some("S3") => "s3",
        Some("ElasticLoadBalancingV2") => "elbv2",
        Some("MWAA") => "mwaa",
        Some("CertificateManager") => "acm",
        Some("SSM") => "ssm",
        _ => "cloudformation",
    }
}

fn create_step(ctx: &Ctx<'_>, stack: &mut Stack) -> bool {
    let now = crate::iso(ctx.clock.now());
    let failed: Vec<String> = stack
        .resources
        .iter()
        .filter(|r| r.status.as_deref() == Some("CREATE_FAILED"))
        .map(|r| r.logical.clone())
        .collect();
    if !failed.is_empty() {
        for i in 0..stack.resources.len() {
            if stack.resources[i].status.as_deref() == Some("CREATE_IN_PROGRESS") {
                set(
                    stack,
                    i,
                    "CREATE_FAILED",
                    Some("Resource creation cancelled"),
                    &now,
                );
            }
        }
        let why = format!(
            "The following resource(s) failed to create: [{}]. ",
            failed.join(", ")
        );
        if stack.disable_rollback {
            stack.set_status("CREATE_FAILED", Some(why), &now);
        } else {
            stack.set_status(
                "ROLLBACK_IN_PROGRESS",
                Some(format!("{why}Rollback requested by user.")),
                &now,
            );
        }
        return true;
    }
    // Resources being created: one that is ready completes.
    for i in 0..stack.resources.len() {
        let r = &stack.resources[i];
        if r.status.as_deref() != Some("CREATE_IN_PROGRESS") {
            continue;
        }
        let Some(physical) = r.physical.clone() else {
            continue;
        };
        let Some(kind) = resources::find(&r.kind) else {
            continue;
        };
        let service = service_of(&r.kind);
        match (kind.ready)(ctx, &physical) {
            Ok(false) => continue,
            Ok(true) => {
                let made = (kind.made)(ctx, &physical, &props_of(stack, r));
                match made {
                    Ok(m) => {
                        let r = &mut stack.resources[i];
                        r.reference = m.reference;
                        r.attrs = m.attrs;
                        set(stack, i, "CREATE_COMPLETE", None, &now);
                    }
                    Err(e) => {
                        let why = reason(ctx, service, &e);
                        set(stack, i, "CREATE_FAILED", Some(&why), &now);
                    }
                }
                return true;
            }
            Err(e) => {
                let why = reason(ctx, service, &e);
                set(stack, i, "CREATE_FAILED", Some(&why), &now);
                return true;
            }
        }
    }
    // A resource whose dependencies are all complete starts.
    let deps = template::dependencies(&stack.doc);
    let state: BTreeMap<String, (Option<String>, bool)> = stack
        .resources
        .iter()
        .map(|r| (r.logical.clone(), (r.status.clone(), r.skipped)))
        .collect();
    for i in 0..stack.resources.len() {
        let r = &stack.resources[i];
        if r.skipped || r.status.is_some() {
            continue;
        }
        let ready = deps.get(&r.logical).is_none_or(|ds| {
            ds.iter().all(|d| {
                state
                    .get(d)
                    .is_none_or(|(s, skipped)| *skipped || complete(s.as_deref()))
            })
        });
        if !ready {
            continue;
        }
        start(ctx, stack, i, &now);
        return true;
    }
    if stack
        .resources
        .iter()
        .all(|r| r.skipped || complete(r.status.as_deref()))
    {
        let k = known(ctx, stack);
        match super::outputs(&env(stack, &k, &ctx.region), &stack.doc) {
            Ok(outputs) => {
                stack.outputs = outputs;
                stack.set_status("CREATE_COMPLETE", None, &now);
            }
            Err(why) => {
                stack.set_status(
                    "ROLLBACK_IN_PROGRESS",
                    Some(format!("{why} Rollback requested by user.")),
                    &now,
                );
            }
        }
        return true;
    }
    false
}

/// Resolves a resource's properties and calls its create.
fn start(ctx: &Ctx<'_>, stack: &mut Stack, i: usize, now: &str) {
    let k = known(ctx, stack);
    let definition = stack
        .doc
        .pointer(&format!(
            "/Resources/{}/Properties",
            stack.resources[i].logical
        ))
        .cloned()
        .unwrap_or(Value::Object(Default::default()));
    let resolved = env(stack, &k, &ctx.region).resolve(&definition);
    let props = match resolved {
        Ok(p) => p.unwrap_or(Value::Object(Default::default())),
        Err(why) => {
            set(stack, i, "CREATE_FAILED", Some(&why), now);
            return;
        }
    };
    stack.resources[i].props = props;
    set(stack, i, "CREATE_IN_PROGRESS", None, now);
    let r = &stack.resources[i];
    let kind = resources::find(&r.kind).expect("checked at validation");
    match (kind.create)(ctx, &props_of(stack, r)) {
        Ok(physical) => {
            stack.resources[i].physical = Some(physical);
            set(
                stack,
                i,
                "CREATE_IN_PROGRESS",
                Some("Resource creation Initiated"),
                now,
            );
        }
        Err(e) => {
            let why = reason(ctx, service_of(&stack.resources[i].kind), &e);
            set(stack, i, "CREATE_FAILED", Some(&why), now);
        }
    }
}

/// Sets a resource's status and records the event.
fn set(stack: &mut Stack, i: usize, status: &str, why: Option<&str>, now: &str) {
    let r = &mut stack.resources[i];
    r.status = Some(status.to_string());
    r.reason = why.map(str::to_string);
    r.updated = now.to_string();
    let props = if status.ends_with("IN_PROGRESS") && why.is_none() && r.props.is_object() {
        Some(r.props.to_string())
    } else {
        None
    };
    let (logical, physical, kind) = (r.logical.clone(), r.physical.clone(), r.kind.clone());
    stack.event(
        &logical,
        physical.as_deref(),
        &kind,
        status,
        why,
        props,
        now,
    );
}

fn gone_status(r: &Res) -> bool {
    r.skipped
        || r.status.is_none()
        || matches!(
            r.status.as_deref(),
            Some("DELETE_COMPLETE") | Some("DELETE_SKIPPED")
        )
}

fn delete_step(ctx: &Ctx<'_>, stack: &mut Stack, rollback: bool) -> bool {
    let now = crate::iso(ctx.clock.now());
    let deps = template::dependencies(&stack.doc);
    let mut dependents: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (name, ds) in &deps {
        for d in ds {
            dependents
                .entry(d.as_str())
                .or_default()
                .insert(name.as_str());
        }
    }
    let by_name: BTreeMap<String, usize> = stack
        .resources
        .iter()
        .enumerate()
        .map(|(i, r)| (r.logical.clone(), i))
        .collect();
    let mut waiting = false;
    let mut action: Option<usize> = None;
    for i in (0..stack.resources.len()).rev() {
        let r = &stack.resources[i];
        if gone_status(r) || r.status.as_deref() == Some("DELETE_FAILED") {
            continue;
        }
        if r.status.as_deref() == Some("DELETE_IN_PROGRESS") {
            let Some(kind) = resources::find(&r.kind) else {
                continue;
            };
            match (kind.gone)(ctx, r.physical.as_deref().unwrap_or_default()) {
                Ok(true) => {
                    set(stack, i, "DELETE_COMPLETE", None, &now);
                    return true;
                }
                Ok(false) => {
                    waiting = true;
                    continue;
                }
                Err(e) => {
                    let why = reason(ctx, service_of(&r.kind), &e);
                    set(stack, i, "DELETE_FAILED", Some(&why), &now);
                    return true;
                }
            }
        }
        let blocked = dependents.get(r.logical.as_str()).is_some_and(|ds| {
            ds.iter().any(|d| {
                by_name
                    .get(*d)
                    .is_some_and(|&j| !gone_status(&stack.resources[j]))
            })
        });
        if !blocked && action.is_none() {
            action = Some(i);
        }
    }
    if let Some(i) = action {
        let r = &stack.resources[i];
        let Some(physical) = r.physical.clone() else {
            set(stack, i, "DELETE_COMPLETE", None, &now);
            return true;
        };
        if r.retain {
            set(stack, i, "DELETE_SKIPPED", None, &now);
            return true;
        }
        set(stack, i, "DELETE_IN_PROGRESS", None, &now);
        let r = &stack.resources[i];
        let kind = resources::find(&r.kind).expect("checked at validation");
        let result = (kind.delete)(ctx, &physical, &props_of(stack, r))
            .and_then(|()| (kind.gone)(ctx, &physical));
        match result {
            Ok(true) => set(stack, i, "DELETE_COMPLETE", None, &now),
            Ok(false) => {}
            Err(e) => {
                let why = reason(ctx, service_of(&stack.resources[i].kind), &e);
                set(stack, i, "DELETE_FAILED", Some(&why), &now);
            }
        }
        return true;
    }
    if waiting {
        return false;
    }
    let failed: Vec<String> = stack
        .resources
        .iter()
        .filter(|r| r.status.as_deref() == Some("DELETE_FAILED"))
        .map(|r| r.logical.clone())
        .collect();
    let all_gone = stack.resources.iter().all(gone_status);
    match (rollback, all_gone) {
        (true, true) => stack.set_status("ROLLBACK_COMPLETE", None, &now),
        (false, true) => {
            stack.deleted = Some(now.clone());
            stack.set_status("DELETE_COMPLETE", None, &now);
        }
        (true, false) => stack.set_status(
            "ROLLBACK_FAILED",
            Some(format!(
                "The following resource(s) failed to delete: [{}]. ",
                failed.join(", ")
            )),
            &now,
        ),
        (false, false) => stack.set_status(
            "DELETE_FAILED",
            Some(format!(
                "The following resource(s) failed to delete: [{}]. ",
                failed.join(", ")
            )),
            &now,
        ),
    }
    true
}
