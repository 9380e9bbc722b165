//! Taking resources down: the rollback of a failed update, the cleanup after an update (what it
//! replaced or removed) and after its rollback (what it made), and deletion in reverse dependency
//! order.

use super::*;
use crate::cloudformation::Doomed;

/// Puts a failed update's resources back: what it changed in place is changed back, what it
/// created (new resources, replacements) goes to the cleanup, what it replaced or removed is
/// kept. One step: each revert is an operation of the resource's service.
pub(super) fn update_rollback_step(ctx: &Ctx<'_>, stack: &mut Stack) -> bool {
    let now = crate::iso(ctx.clock.now());
    let Some(previous) = stack.previous.take() else {
        stack.set_status(
            "UPDATE_ROLLBACK_FAILED",
            Some("Nothing to roll back to".into()),
            &now,
        );
        return true;
    };
    let mut restored = previous.resources.clone();
    let current = std::mem::take(&mut stack.resources);
    let (name, tags) = (stack.name.clone(), stack.tags.clone());
    stack.cleanup_doc = Some(stack.template.doc.clone());
    // What the update had set aside for deletion stays (it is the old state again).
    stack.doomed.retain(|d| d.rollback);
    for r in current.iter().rev() {
        let before = restored.iter_mut().find(|p| p.logical == r.logical);
        match (before, &r.physical) {
            (Some(b), Some(now_physical)) if b.physical.as_ref() == Some(now_physical) => {
                if b.props == r.props || b.kind != r.kind {
                    continue;
                }
                let Some(kind) = resources::find(&r.kind) else {
                    continue;
                };
                let Some(update) = kind.update else {
                    continue;
                };
                let back = Props {
                    v: &b.props,
                    stack: &name,
                    logical: &b.logical,
                    tags: &previous.tags,
                };
                let from = Props {
                    v: &r.props,
                    stack: &name,
                    logical: &r.logical,
                    tags: &tags,
                };
                stack.event(
                    &r.logical,
                    Some(now_physical),
                    &r.kind,
                    "UPDATE_IN_PROGRESS",
                    None,
                    None,
                    &now,
                );
                let change = resources::Change {
                    old: &from,
                    new: &back,
                };
                match update(ctx, now_physical, &change) {
                    Ok(moved) => {
                        if let Some(p) = moved {
                            b.physical = Some(p);
                        }
                        updated(stack, b, &now);
                    }
                    Err(e) => {
                        let why = reason(ctx, service_of(&r.kind), &r.logical, &e);
                        b.status = Some("UPDATE_FAILED".into());
                        b.reason = Some(why.clone());
                        stack.event(
                            &b.logical,
                            Some(now_physical),
                            &b.kind,
                            "UPDATE_FAILED",
                            Some(&why),
                            None,
                            &now,
                        );
                    }
                }
            }
            (before, Some(_)) => {
                // Created by the update (a new resource, or a replacement): deleted in cleanup.
                let mut made = r.clone();
                made.touched = false;
                made.waiting = false;
                stack.doomed.push(Doomed {
                    res: made,
                    rollback: true,
                });
                if let Some(b) = before {
                    updated(stack, b, &now);
                }
            }
            _ => {}
        }
    }
    for r in &mut restored {
        r.touched = false;
        r.waiting = false;
    }
    stack.resources = restored;
    stack.template = previous.template;
    stack.tags = previous.tags;
    stack.outputs = previous.outputs;
    stack.set_status("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS", None, &now);
    true
}

/// Deletes what an update (or its rollback) left behind, dependents first; a resource that
/// cannot be deleted is reported and left, as CloudFormation does.
pub(super) fn cleanup_step(ctx: &Ctx<'_>, stack: &mut Stack, rollback: bool) -> bool {
    let now = crate::iso(ctx.clock.now());
    // Dependents first: a doomed resource waits while another doomed resource depended on it
    // in the template it was made from (the old one, or the new one for a rollback's).
    let deps = template::dependencies(stack.cleanup_doc.as_ref().unwrap_or(&stack.template.doc));
    let pending: Vec<String> = stack
        .doomed
        .iter()
        .filter(|d| d.rollback == rollback)
        .map(|d| d.res.logical.clone())
        .collect();
    let mut waiting = false;
    for i in (0..stack.doomed.len()).rev() {
        let d = &stack.doomed[i];
        if d.rollback != rollback {
            continue;
        }
        let blocked = pending.iter().any(|other| {
            other != &d.res.logical
                && deps
                    .get(other)
                    .is_some_and(|ds| ds.contains(&d.res.logical))
        });
        if blocked {
            continue;
        }
        let r = d.res.clone();
        let Some(kind) = resources::find(&r.kind) else {
            stack.doomed.remove(i);
            return true;
        };
        let physical = r.physical.clone().unwrap_or_default();
        let (name, tags) = (stack.name.clone(), stack.tags.clone());
        let props = Props {
            v: &r.props,
            stack: &name,
            logical: &r.logical,
            tags: &tags,
        };
        // The resource's deletion event with `status` (and why it failed).
        let said = |stack: &mut Stack, status: &str, why: Option<&str>| {
            stack.event(
                &r.logical,
                Some(&physical),
                &r.kind,
                status,
                why,
                None,
                &now,
            )
        };
        let outcome = if r.touched {
            // Deletion started: wait for it.
            (kind.gone)(ctx, &physical)
        } else if r.retain {
            stack.doomed.remove(i);
            said(stack, "DELETE_SKIPPED", None);
            return true;
        } else {
            said(stack, "DELETE_IN_PROGRESS", None);
            (kind.delete)(ctx, &physical, &props).and_then(|()| (kind.gone)(ctx, &physical))
        };
        match outcome {
            Ok(false) if r.touched => {
                waiting = true;
                continue;
            }
            Ok(false) => stack.doomed[i].res.touched = true,
            Ok(true) => {
                stack.doomed.remove(i);
                said(stack, "DELETE_COMPLETE", None);
            }
            Err(e) => {
                stack.doomed.remove(i);
                let why = reason(ctx, service_of(&r.kind), &r.logical, &e);
                said(stack, "DELETE_FAILED", Some(&why));
            }
        }
        return true;
    }
    if waiting || stack.doomed.iter().any(|d| d.rollback == rollback) {
        return false;
    }
    stack.previous = None;
    stack.cleanup_doc = None;
    for r in &mut stack.resources {
        r.touched = false;
    }
    let status = if rollback {
        "UPDATE_ROLLBACK_COMPLETE"
    } else {
        "UPDATE_COMPLETE"
    };
    stack.set_status(status, None, &now);
    true
}

pub(super) fn gone_status(r: &Res) -> bool {
    r.skipped
        || r.status.is_none()
        || matches!(
            r.status.as_deref(),
            Some("DELETE_COMPLETE") | Some("DELETE_SKIPPED")
        )
}

pub(super) fn delete_step(ctx: &Ctx<'_>, stack: &mut Stack, rollback: bool) -> bool {
    let now = crate::iso(ctx.clock.now());
    let deps = template::dependencies(&stack.template.doc);
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
                    let why = reason(ctx, service_of(&r.kind), &r.logical, &e);
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
                let why = reason(
                    ctx,
                    service_of(&stack.resources[i].kind),
                    &stack.resources[i].logical,
                    &e,
                );
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

/// A resource put back as it was before the update: `UPDATE_COMPLETE`, with its event.
fn updated(stack: &mut Stack, b: &mut Res, now: &str) {
    b.status = Some("UPDATE_COMPLETE".into());
    stack.event(
        &b.logical,
        b.physical.as_deref(),
        &b.kind,
        "UPDATE_COMPLETE",
        None,
        None,
        now,
    );
}
