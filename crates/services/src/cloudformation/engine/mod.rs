//! A stack's operations as a state machine over its record: each step starts, checks or
//! deletes one resource and is committed before the next, so a stack moves as far as the
//! resources' own lifecycles allow, within the request that started it (at `--time-scale 0`,
//! to the end) and then on the ticker's clock.
//!
//! Creation starts every resource whose dependencies are complete (independent resources are in
//! progress together) and waits for each as its service reports it ready; a failure cancels the
//! rest and rolls back, deleting what was made in reverse dependency order. Deletion removes a
//! resource only once everything that depends on it is gone.

mod teardown;

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
use teardown::{cleanup_step, delete_step, update_rollback_step};

/// One engine at a time moves stacks (a request and the ticker never both act on one).
static ENGINE: Mutex<()> = Mutex::new(());

/// The phase a stack status belongs to.
enum Phase {
    /// Creating (a new stack) or creating and changing (an update) resources.
    Apply {
        update: bool,
    },
    /// Deleting every resource (rollback of a creation, or deletion).
    Delete {
        rollback: bool,
    },
    /// An update failed: putting the resources back as they were.
    UpdateRollback,
    /// After an update (or its rollback): deleting what it left behind.
    Cleanup {
        rollback: bool,
    },
    Settled,
}

fn phase(status: &str) -> Phase {
    match status {
        "CREATE_IN_PROGRESS" => Phase::Apply { update: false },
        "UPDATE_IN_PROGRESS" => Phase::Apply { update: true },
        "ROLLBACK_IN_PROGRESS" => Phase::Delete { rollback: true },
        "DELETE_IN_PROGRESS" => Phase::Delete { rollback: false },
        "UPDATE_ROLLBACK_IN_PROGRESS" => Phase::UpdateRollback,
        "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS" => Phase::Cleanup { rollback: false },
        "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS" => Phase::Cleanup { rollback: true },
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
        // CloudFormation calls the services over TLS (`aws:SecureTransport`).
        let ctx = Ctx {
            origin: crate::authz::Origin {
                secure: true,
                ..Default::default()
            },
            ..Ctx::internal(
                store,
                config,
                stack.caller.clone().into(),
                &scope.region,
                clock,
            )
        };
        let moved = match phase(&stack.status) {
            Phase::Apply { update } => apply_step(&ctx, &mut stack, update),
            Phase::Delete { rollback } => delete_step(&ctx, &mut stack, rollback),
            Phase::UpdateRollback => update_rollback_step(&ctx, &mut stack),
            Phase::Cleanup { rollback } => cleanup_step(&ctx, &mut stack, rollback),
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
    let mut params = stack.template.values.clone();
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
        doc: &stack.template.doc,
        params: &k.params,
        resources: &k.resources,
        conditions: &stack.template.conditions,
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

/// The failure reason CloudFormation shows for an error of resource `logical` (of `service`): a
/// property that fails the schema (a message that names it by JSON pointer, `#/…`), or the
/// service's own error.
fn reason(ctx: &Ctx<'_>, service: &str, logical: &str, e: &airlock_protocol::ApiError) -> String {
    if e.code == "ValidationError" && e.message.starts_with('#') {
        return format!(
            "Properties validation failed for resource {logical} with message: {}",
            e.message
        );
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

/// Whether a resource is done for the operation in progress.
fn done(r: &Res) -> bool {
    r.skipped || (r.touched && !r.waiting && complete(r.status.as_deref()))
}

fn apply_step(ctx: &Ctx<'_>, stack: &mut Stack, update: bool) -> bool {
    let now = crate::iso(ctx.clock.now());
    let failed: Vec<String> = stack
        .resources
        .iter()
        .filter(|r| {
            r.touched
                && matches!(
                    r.status.as_deref(),
                    Some("CREATE_FAILED") | Some("UPDATE_FAILED")
                )
        })
        .map(|r| r.logical.clone())
        .collect();
    if !failed.is_empty() {
        for i in 0..stack.resources.len() {
            let r = &stack.resources[i];
            if r.waiting {
                let cancelled = if r.status.as_deref() == Some("CREATE_IN_PROGRESS") {
                    ("CREATE_FAILED", "Resource creation cancelled")
                } else {
                    ("UPDATE_FAILED", "Resource update cancelled")
                };
                stack.resources[i].waiting = false;
                set(stack, i, cancelled.0, Some(cancelled.1), &now);
            }
        }
        let verb = if update { "update" } else { "create" };
        let why = format!(
            "The following resource(s) failed to {verb}: [{}]. ",
            failed.join(", ")
        );
        if update {
            stack.set_status("UPDATE_ROLLBACK_IN_PROGRESS", Some(why), &now);
        } else if stack.disable_rollback {
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
    // Resources being created or changed: one that is ready completes.
    for i in 0..stack.resources.len() {
        let r = &stack.resources[i];
        if !r.waiting {
            continue;
        }
        let Some(physical) = r.physical.clone() else {
            continue;
        };
        let Some(kind) = resources::find(&r.kind) else {
            continue;
        };
        let service = service_of(&r.kind);
        let creating = r.status.as_deref() == Some("CREATE_IN_PROGRESS");
        let (ok, bad) = if creating {
            ("CREATE_COMPLETE", "CREATE_FAILED")
        } else {
            ("UPDATE_COMPLETE", "UPDATE_FAILED")
        };
        match (kind.ready)(ctx, &physical) {
            Ok(false) => continue,
            Ok(true) => {
                let made = (kind.made)(ctx, &physical, &props_of(stack, r));
                stack.resources[i].waiting = false;
                match made {
                    Ok(m) => {
                        let r = &mut stack.resources[i];
                        r.reference = m.reference;
                        r.attrs = m.attrs;
                        set(stack, i, ok, None, &now);
                    }
                    Err(e) => {
                        let why = reason(ctx, service, &stack.resources[i].logical, &e);
                        set(stack, i, bad, Some(&why), &now);
                    }
                }
                return true;
            }
            Err(e) => {
                stack.resources[i].waiting = false;
                let why = reason(ctx, service, &stack.resources[i].logical, &e);
                set(stack, i, bad, Some(&why), &now);
                return true;
            }
        }
    }
    // A resource whose dependencies are all done starts.
    let deps = template::dependencies(&stack.template.doc);
    let state: BTreeMap<String, bool> = stack
        .resources
        .iter()
        .map(|r| (r.logical.clone(), done(r)))
        .collect();
    for i in 0..stack.resources.len() {
        let r = &stack.resources[i];
        if r.skipped || r.touched {
            continue;
        }
        let ready = deps
            .get(&r.logical)
            .is_none_or(|ds| ds.iter().all(|d| state.get(d).copied().unwrap_or(true)));
        if !ready {
            continue;
        }
        start(ctx, stack, i, &now);
        return true;
    }
    if stack.resources.iter().all(done) {
        let k = known(ctx, stack);
        let finished = if update {
            "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"
        } else {
            "CREATE_COMPLETE"
        };
        match super::outputs(&env(stack, &k, &ctx.region), &stack.template.doc) {
            Ok(outputs) => {
                stack.outputs = outputs;
                stack.set_status(finished, None, &now);
            }
            Err(why) if update => {
                stack.set_status("UPDATE_ROLLBACK_IN_PROGRESS", Some(why), &now);
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

/// Resolves a resource's properties and creates it, changes it in place, or replaces it, as
/// its type allows the change.
fn start(ctx: &Ctx<'_>, stack: &mut Stack, i: usize, now: &str) {
    stack.resources[i].touched = true;
    let k = known(ctx, stack);
    let definition = stack
        .template
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
            let failed = if stack.resources[i].physical.is_some() {
                "UPDATE_FAILED"
            } else {
                "CREATE_FAILED"
            };
            set(stack, i, failed, Some(&why), now);
            return;
        }
    };
    let kind = resources::find(&stack.resources[i].kind).expect("checked at validation");
    let service = service_of(kind.name);
    let Some(physical) = stack.resources[i].physical.clone() else {
        stack.resources[i].props = props;
        set(stack, i, "CREATE_IN_PROGRESS", None, now);
        let r = &stack.resources[i];
        match (kind.create)(ctx, &props_of(stack, r)) {
            Ok(physical) => initiated(stack, i, physical, "CREATE_IN_PROGRESS", now),
            Err(e) => {
                let why = reason(ctx, service, &stack.resources[i].logical, &e);
                set(stack, i, "CREATE_FAILED", Some(&why), now);
            }
        }
        return;
    };
    let old = stack.resources[i].props.clone();
    if old == props {
        return;
    }
    let changed = keys(&old, &props);
    let in_place =
        kind.update.is_some() && changed.iter().all(|c| kind.mutable.contains(&c.as_str()));
    let old_props = Props {
        v: &old,
        stack: &stack.name,
        logical: &stack.resources[i].logical,
        tags: &stack.tags,
    };
    let new_props = Props {
        v: &props,
        stack: &stack.name,
        logical: &stack.resources[i].logical,
        tags: &stack.tags,
    };
    if in_place {
        let update = kind.update.expect("checked");
        let change = resources::Change {
            old: &old_props,
            new: &new_props,
        };
        let result = update(ctx, &physical, &change);
        stack.resources[i].props = props.clone();
        set(stack, i, "UPDATE_IN_PROGRESS", None, now);
        match result {
            Ok(moved) => {
                if let Some(p) = moved {
                    stack.resources[i].physical = Some(p);
                }
                stack.resources[i].waiting = true;
            }
            Err(e) => {
                let why = reason(ctx, service, &stack.resources[i].logical, &e);
                set(stack, i, "UPDATE_FAILED", Some(&why), now);
            }
        }
        return;
    }
    if let Some(name) = kind.name_prop {
        if let Some(n) = new_props
            .str(name)
            .filter(|_| old_props.get(name) == new_props.get(name))
        {
            set(
                stack,
                i,
                "UPDATE_FAILED",
                Some(&format!(
                    "CloudFormation cannot update a stack when a custom-named resource requires replacing. Rename {n} and update the stack again."
                )),
                now,
            );
            return;
        }
    }
    let mut doomed = stack.resources[i].clone();
    doomed.touched = false;
    // The old resource of a replacement is kept if the template's UpdateReplacePolicy says so.
    doomed.retain = stack
        .template
        .doc
        .pointer(&format!(
            "/Resources/{}/UpdateReplacePolicy",
            doomed.logical
        ))
        .and_then(Value::as_str)
        == Some("Retain");
    stack.resources[i].props = props;
    set(
        stack,
        i,
        "UPDATE_IN_PROGRESS",
        Some("Requested update requires the creation of a new physical resource; hence creating one."),
        now,
    );
    let r = &stack.resources[i];
    match (kind.create)(ctx, &props_of(stack, r)) {
        Ok(new_physical) => {
            stack.doomed.push(super::Doomed {
                res: doomed,
                rollback: false,
            });
            initiated(stack, i, new_physical, "UPDATE_IN_PROGRESS", now);
        }
        Err(e) => {
            let why = reason(ctx, service, &stack.resources[i].logical, &e);
            stack.resources[i].props = doomed.props;
            set(stack, i, "UPDATE_FAILED", Some(&why), now);
        }
    }
}

/// A resource's service has taken its creation (as `physical`); the engine now waits for it.
fn initiated(stack: &mut Stack, i: usize, physical: String, status: &str, now: &str) {
    stack.resources[i].physical = Some(physical);
    stack.resources[i].waiting = true;
    set(stack, i, status, Some("Resource creation Initiated"), now);
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

/// The top-level properties whose values differ.
fn keys(old: &Value, new: &Value) -> Vec<String> {
    let empty = serde_json::Map::new();
    let o = old.as_object().unwrap_or(&empty);
    let n = new.as_object().unwrap_or(&empty);
    let mut out: Vec<String> = o
        .keys()
        .chain(n.keys())
        .filter(|k| o.get(*k) != n.get(*k))
        .cloned()
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn changed_keys_are_the_top_level_properties_that_differ() {
        let old = json!({"CidrBlock": "10.0.0.0/24", "Tags": [{"Key": "a", "Value": "1"}], "VpcId": "vpc-1"});
        let new = json!({"CidrBlock": "10.0.1.0/24", "Tags": [{"Key": "a", "Value": "1"}], "MapPublicIpOnLaunch": true, "VpcId": "vpc-1"});
        assert_eq!(keys(&old, &new), vec!["CidrBlock", "MapPublicIpOnLaunch"]);
        assert!(keys(&old, &old).is_empty());
    }

    #[test]
    fn phases_follow_the_stack_status() {
        assert!(in_progress("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"));
        assert!(in_progress("UPDATE_ROLLBACK_IN_PROGRESS"));
        assert!(!in_progress("UPDATE_ROLLBACK_COMPLETE"));
        assert!(!in_progress("REVIEW_IN_PROGRESS"));
        assert_eq!(handler_code("InvalidSubnetID.NotFound"), "NotFound");
        assert_eq!(handler_code("InvalidParameterValue"), "InvalidRequest");
    }
}
