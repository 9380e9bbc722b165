//! What roles and users share: inline policies and attached managed policies, with one
//! implementation of Put/Get/Delete/List…Policy and Attach/Detach/ListAttached…Policies.

use super::policies::{check_arn, lookup};
use super::{
    check_document, document_size, key, paginate, DocumentUse, Group, ManagedPolicy, Page, Role,
    User,
};
use crate::Ctx;
use airlock_dto::iam as dto;
use airlock_protocol::{ApiError, ApiResult};
use airlock_store::{Record, Scope, Tx};
use std::collections::BTreeMap;
use std::sync::Arc;

/// An IAM identity that holds policies.
pub trait Holder: Record + Clone {
    /// `role`, `user`: as AWS's messages name the kind.
    const NOUN: &'static str;
    /// `Role`, `User`: as quota names spell it (`PoliciesPerRole`).
    const QUOTA_NOUN: &'static str;
    /// The largest total of its inline policies (non-whitespace characters).
    const INLINE_QUOTA: usize;
    fn name(&self) -> &str;
    fn path(&self) -> &str;
    fn inline(&self) -> &BTreeMap<String, String>;
    fn inline_mut(&mut self) -> &mut BTreeMap<String, String>;
    fn attached(&self) -> &[String];
    fn attached_mut(&mut self) -> &mut Vec<String>;
}

/// Roles and users keep their policies in the same fields.
macro_rules! holder {
    ($t:ty, $noun:literal, $quota_noun:literal, $inline_quota:literal) => {
        impl Holder for $t {
            const NOUN: &'static str = $noun;
            const QUOTA_NOUN: &'static str = $quota_noun;
            const INLINE_QUOTA: usize = $inline_quota;
            fn name(&self) -> &str {
                &self.name
            }
            fn path(&self) -> &str {
                &self.path
            }
            fn inline(&self) -> &BTreeMap<String, String> {
                &self.inline_policies
            }
            fn inline_mut(&mut self) -> &mut BTreeMap<String, String> {
                &mut self.inline_policies
            }
            fn attached(&self) -> &[String] {
                &self.attached_policies
            }
            fn attached_mut(&mut self) -> &mut Vec<String> {
                &mut self.attached_policies
            }
        }
    };
}

holder!(Role, "role", "Role", 10240);
holder!(User, "user", "User", 2048);
holder!(Group, "group", "Group", 5120);

/// One page (ListRoles, ListUsers, ListGroups) of the holders of kind `T` whose path starts
/// with `prefix` (`/` when absent), in key order, each as `out` shows it.
pub fn list<T: Holder, O>(
    ctx: &Ctx<'_>,
    prefix: Option<&str>,
    (max_items, marker): (Option<i64>, Option<&str>),
    out: impl Fn(&T) -> O,
) -> Page<O> {
    let prefix = prefix.unwrap_or("/");
    let items = ctx.store.read(|v| {
        v.list::<T>(&ctx.global_scope())
            .iter()
            .filter(|r| r.path().starts_with(prefix))
            .map(|r| (r.id().to_owned(), out(r)))
            .collect()
    });
    paginate(items, max_items, marker)
}

/// The seven policy operations of one holder kind (`Put/Get/Delete/List<Kind>Policy`,
/// `Attach/Detach/ListAttached<Kind>Policies`), each reading its own generated request and
/// answering its own generated response; `$name` is the member that names the identity
/// (`role_name`).
macro_rules! policy_operations {
    (
        $holder:ty, $name:ident,
        $put:ident($put_req:ident),
        $get:ident($get_req:ident) -> $get_res:ident,
        $delete:ident($delete_req:ident),
        $list:ident($list_req:ident) -> $list_res:ident,
        $attach:ident($attach_req:ident),
        $detach:ident($detach_req:ident),
        $attached:ident($attached_req:ident) -> $attached_res:ident $(,)?
    ) => {
        pub fn $put(
            ctx: &$crate::Ctx<'_>,
            input: &serde_json::Value,
        ) -> $crate::iam::holder::Answer {
            let i: airlock_dto::iam::$put_req = $crate::input::typed(input)?;
            let (name, doc) = (&i.$name, &i.policy_document);
            $crate::iam::holder::put_inline::<$holder>(ctx, name, &i.policy_name, doc)?;
            Ok(airlock_protocol::Output::new(()))
        }

        pub fn $get(
            ctx: &$crate::Ctx<'_>,
            input: &serde_json::Value,
        ) -> $crate::iam::holder::Answer {
            let i: airlock_dto::iam::$get_req = $crate::input::typed(input)?;
            let (name, document) =
                $crate::iam::holder::get_inline::<$holder>(ctx, &i.$name, &i.policy_name)?;
            Ok(airlock_protocol::Output::new(airlock_dto::iam::$get_res {
                policy_document: Some($crate::iam::url_encode(&document)),
                policy_name: Some(i.policy_name),
                $name: Some(name),
            }))
        }

        pub fn $delete(
            ctx: &$crate::Ctx<'_>,
            input: &serde_json::Value,
        ) -> $crate::iam::holder::Answer {
            let i: airlock_dto::iam::$delete_req = $crate::input::typed(input)?;
            $crate::iam::holder::delete_inline::<$holder>(ctx, &i.$name, &i.policy_name)?;
            Ok(airlock_protocol::Output::new(()))
        }

        pub fn $list(
            ctx: &$crate::Ctx<'_>,
            input: &serde_json::Value,
        ) -> $crate::iam::holder::Answer {
            let i: airlock_dto::iam::$list_req = $crate::input::typed(input)?;
            let marker = i.marker.as_deref();
            let page =
                $crate::iam::holder::list_inline::<$holder>(ctx, &i.$name, i.max_items, marker)?;
            Ok(airlock_protocol::Output::new(airlock_dto::iam::$list_res {
                is_truncated: Some(page.is_truncated),
                marker: page.marker,
                policy_names: Some(page.items),
            }))
        }

        pub fn $attach(
            ctx: &$crate::Ctx<'_>,
            input: &serde_json::Value,
        ) -> $crate::iam::holder::Answer {
            let i: airlock_dto::iam::$attach_req = $crate::input::typed(input)?;
            $crate::iam::holder::attach::<$holder>(ctx, &i.$name, &i.policy_arn)?;
            Ok(airlock_protocol::Output::new(()))
        }

        pub fn $detach(
            ctx: &$crate::Ctx<'_>,
            input: &serde_json::Value,
        ) -> $crate::iam::holder::Answer {
            let i: airlock_dto::iam::$detach_req = $crate::input::typed(input)?;
            $crate::iam::holder::detach::<$holder>(ctx, &i.$name, &i.policy_arn)?;
            Ok(airlock_protocol::Output::new(()))
        }

        pub fn $attached(
            ctx: &$crate::Ctx<'_>,
            input: &serde_json::Value,
        ) -> $crate::iam::holder::Answer {
            let i: airlock_dto::iam::$attached_req = $crate::input::typed(input)?;
            let (prefix, marker) = (i.path_prefix.as_deref(), i.marker.as_deref());
            let page = $crate::iam::holder::list_attached::<$holder>(
                ctx,
                &i.$name,
                prefix,
                i.max_items,
                marker,
            )?;
            Ok(airlock_protocol::Output::new(
                airlock_dto::iam::$attached_res {
                    attached_policies: Some(page.items),
                    is_truncated: Some(page.is_truncated),
                    marker: page.marker,
                },
            ))
        }
    };
}
pub(crate) use policy_operations;

/// What an IAM operation answers.
pub type Answer = ApiResult<airlock_protocol::Output>;

/// Managed policies attached to one identity (AWS's default quota).
const ATTACHED_POLICIES_QUOTA: usize = 10;

pub fn not_found<H: Holder>(name: &str) -> ApiError {
    super::no_such_entity(format!("The {} with name {name} cannot be found.", H::NOUN))
}

fn policy_not_found<H: Holder>(policy_name: &str) -> ApiError {
    super::no_such_entity(format!(
        "The {} policy with name {policy_name} cannot be found.",
        H::NOUN
    ))
}

pub fn find<H: Holder>(ctx: &Ctx<'_>, name: &str) -> ApiResult<Arc<H>> {
    let scope = ctx.global_scope();
    ctx.store
        .read(|v| v.get::<H>(&scope, &key(name)))
        .ok_or_else(|| not_found::<H>(name))
}

/// Reads, changes and writes one identity in one transaction.
pub fn update<H: Holder, R>(
    ctx: &Ctx<'_>,
    name: &str,
    f: impl FnOnce(&mut H, &mut Tx<'_>, &Scope) -> ApiResult<R>,
) -> ApiResult<R> {
    let scope = ctx.global_scope();
    ctx.store.write(|tx| {
        let mut held = tx
            .get::<H>(&scope, &key(name))
            .ok_or_else(|| not_found::<H>(name))?;
        let held = Arc::make_mut(&mut held);
        let out = f(held, tx, &scope)?;
        tx.put(&scope, held.clone())?;
        Ok(out)
    })
}

/// DeleteRole/DeleteUser refuse while policies remain.
pub fn check_no_policies<H: Holder>(held: &H) -> ApiResult<()> {
    if !held.attached().is_empty() {
        return Err(ApiError::new(
            "DeleteConflict",
            "Cannot delete entity, must detach all policies first.",
        ));
    }
    if !held.inline().is_empty() {
        return Err(ApiError::new(
            "DeleteConflict",
            "Cannot delete entity, must delete policies first.",
        ));
    }
    Ok(())
}

pub fn put_inline<H: Holder>(
    ctx: &Ctx<'_>,
    name: &str,
    policy_name: &str,
    document: &str,
) -> ApiResult<()> {
    check_document(document, DocumentUse::Permissions)?;
    update::<H, _>(ctx, name, |held, _, _| {
        held.inline_mut()
            .insert(policy_name.to_owned(), document.to_owned());
        let total: usize = held.inline().values().map(|d| document_size(d)).sum();
        if total > H::INLINE_QUOTA {
            return Err(ApiError::new(
                "LimitExceeded",
                format!(
                    "Maximum policy size of {} bytes exceeded for {} {}",
                    H::INLINE_QUOTA,
                    H::NOUN,
                    held.name()
                ),
            ));
        }
        Ok(())
    })
}

/// The identity's name as created and the inline policy's document.
pub fn get_inline<H: Holder>(
    ctx: &Ctx<'_>,
    name: &str,
    policy_name: &str,
) -> ApiResult<(String, String)> {
    let held = find::<H>(ctx, name)?;
    let document = held
        .inline()
        .get(policy_name)
        .ok_or_else(|| policy_not_found::<H>(policy_name))?;
    Ok((held.name().to_owned(), document.clone()))
}

pub fn delete_inline<H: Holder>(ctx: &Ctx<'_>, name: &str, policy_name: &str) -> ApiResult<()> {
    update::<H, _>(ctx, name, |held, _, _| {
        held.inline_mut()
            .remove(policy_name)
            .map(drop)
            .ok_or_else(|| policy_not_found::<H>(policy_name))
    })
}

pub fn list_inline<H: Holder>(
    ctx: &Ctx<'_>,
    name: &str,
    max_items: Option<i64>,
    marker: Option<&str>,
) -> ApiResult<Page<String>> {
    let held = find::<H>(ctx, name)?;
    let items = held
        .inline()
        .keys()
        .map(|n| (n.clone(), n.clone()))
        .collect();
    Ok(paginate(items, max_items, marker))
}

pub fn attach<H: Holder>(ctx: &Ctx<'_>, name: &str, arn: &str) -> ApiResult<()> {
    check_arn(arn)?;
    update::<H, _>(ctx, name, |held, tx, scope| {
        let policy =
            lookup(ctx.account(), arn, |k| tx.get::<ManagedPolicy>(scope, k)).ok_or_else(|| {
                super::no_such_entity(format!("Policy {arn} does not exist or is not attachable."))
            })?;
        if !policy.attachable() {
            return Err(ApiError::new(
                "PolicyNotAttachable",
                "Cannot attach a Service Role Policy to a Customer Role.",
            ));
        }
        if held.attached().iter().any(|a| a == arn) {
            return Ok(());
        }
        if held.attached().len() >= ATTACHED_POLICIES_QUOTA {
            return Err(ApiError::new(
                "LimitExceeded",
                format!(
                    "Cannot exceed quota for PoliciesPer{}: {ATTACHED_POLICIES_QUOTA}",
                    H::QUOTA_NOUN
                ),
            ));
        }
        held.attached_mut().push(arn.to_owned());
        Ok(())
    })
}

pub fn detach<H: Holder>(ctx: &Ctx<'_>, name: &str, arn: &str) -> ApiResult<()> {
    check_arn(arn)?;
    update::<H, _>(ctx, name, |held, _, _| {
        let before = held.attached().len();
        held.attached_mut().retain(|a| a != arn);
        if held.attached().len() == before {
            return Err(super::no_such_entity(format!(
                "Policy {arn} was not found."
            )));
        }
        Ok(())
    })
}

pub fn list_attached<H: Holder>(
    ctx: &Ctx<'_>,
    name: &str,
    path_prefix: Option<&str>,
    max_items: Option<i64>,
    marker: Option<&str>,
) -> ApiResult<Page<dto::AttachedPolicy>> {
    let prefix = path_prefix.unwrap_or("/");
    let scope = ctx.global_scope();
    let held = find::<H>(ctx, name)?;
    let mut items: Vec<(String, dto::AttachedPolicy)> = ctx.store.read(|v| {
        held.attached()
            .iter()
            .filter_map(|arn| {
                let policy = lookup(ctx.account(), arn, |k| v.get::<ManagedPolicy>(&scope, k));
                // A policy cannot be deleted while attached, so it is always found; fall back to
                // the ARN's own path and name all the same.
                let (path, pname) = match &policy {
                    Some(p) => (p.path().to_owned(), p.name().to_owned()),
                    None => {
                        let (_, path, n) = super::parse_arn(arn, "policy")?;
                        (path.to_owned(), n.to_owned())
                    }
                };
                path.starts_with(prefix).then(|| {
                    (
                        format!("{}\u{1}{arn}", key(&pname)),
                        dto::AttachedPolicy {
                            policy_arn: Some(arn.clone()),
                            policy_name: Some(pname),
                        },
                    )
                })
            })
            .collect()
    });
    items.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(paginate(items, max_items, marker))
}
