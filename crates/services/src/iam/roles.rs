//! Roles, their trust policies, inline policies and attached managed policies.

use super::policies::{check_arn, lookup};
use super::{
    boundary_json, check_document, document_size, key, paginate, path_input, role_arn,
    role_not_found, tags_input, tags_json, url_encode, DocumentUse, ManagedPolicy, Role,
};
use crate::input;
use crate::Ctx;
use airlock_protocol::{ApiError, ApiResult};
use airlock_store::Scope;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// The largest trust policy (non-whitespace characters).
const TRUST_POLICY_QUOTA: usize = 2048;
/// The largest total of a role's inline policies (non-whitespace characters).
const INLINE_POLICY_QUOTA: usize = 10240;
/// Managed policies attached to one role (AWS's default quota).
const ATTACHED_POLICIES_QUOTA: usize = 10;

/// Which members a `Role` structure carries in each operation's output.
#[derive(Clone, Copy, PartialEq, Eq)]
enum RoleView {
    Create,
    Get,
    /// ListRoles leaves out PermissionsBoundary, Tags and RoleLastUsed.
    List,
}

fn role_json(r: &Role, view: RoleView) -> Value {
    let mut o = Map::new();
    o.insert("Path".into(), json!(r.path));
    o.insert("RoleName".into(), json!(r.name));
    o.insert("RoleId".into(), json!(r.role_id));
    o.insert("Arn".into(), json!(r.arn));
    o.insert("CreateDate".into(), json!(r.create_date));
    o.insert(
        "AssumeRolePolicyDocument".into(),
        json!(url_encode(&r.assume_role_policy_document)),
    );
    if let Some(d) = &r.description {
        o.insert("Description".into(), json!(d));
    }
    o.insert("MaxSessionDuration".into(), json!(r.max_session_duration));
    if view != RoleView::List {
        if let Some(b) = &r.permissions_boundary {
            o.insert("PermissionsBoundary".into(), boundary_json(b));
        }
        if !r.tags.is_empty() {
            o.insert("Tags".into(), tags_json(&r.tags));
        }
    }
    if view == RoleView::Get {
        let mut last = Map::new();
        if let Some(l) = &r.last_used {
            last.insert("LastUsedDate".into(), json!(l.date));
            last.insert("Region".into(), json!(l.region));
        }
        o.insert("RoleLastUsed".into(), Value::Object(last));
    }
    Value::Object(o)
}

/// A permissions boundary input must name an existing managed policy.
fn check_boundary(
    account: &str,
    arn: &str,
    get: impl FnOnce(&str) -> Option<std::sync::Arc<ManagedPolicy>>,
) -> ApiResult<()> {
    check_arn(arn)?;
    match lookup(account, arn, get) {
        Some(_) => Ok(()),
        None => Err(super::no_such_entity(format!(
            "Scope ARN: {arn} does not exist or is not attachable."
        ))),
    }
}

fn check_trust_policy(document: &str) -> ApiResult<()> {
    check_document(document, DocumentUse::Trust)?;
    if document_size(document) > TRUST_POLICY_QUOTA {
        return Err(ApiError::new(
            "LimitExceeded",
            format!("Cannot exceed quota for ACLSizePerRole: {TRUST_POLICY_QUOTA}"),
        ));
    }
    Ok(())
}

pub fn create_role(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    let name = input::req(input, "RoleName")?;
    let document = input::req(input, "AssumeRolePolicyDocument")?;
    check_trust_policy(document)?;
    let path = path_input(input, "Path")?;
    let max_session_duration = input::int(input, "MaxSessionDuration").unwrap_or(3600);
    if !(3600..=43200).contains(&max_session_duration) {
        return Err(ApiError::new(
            "ValidationError",
            format!("1 validation error detected: Value '{max_session_duration}' at 'maxSessionDuration' failed to satisfy constraint: Member must have value {}",
                if max_session_duration < 3600 { "greater than or equal to 3600" } else { "less than or equal to 43200" }),
        ));
    }
    let tags = tags_input(input)?;
    let boundary = input::str(input, "PermissionsBoundary").map(str::to_owned);
    let scope = ctx.global_scope();
    let role = ctx.store.write(|tx| {
        if tx.get::<Role>(&scope, &key(name)).is_some() {
            return Err(ApiError::new(
                "EntityAlreadyExists",
                format!("Role with name {name} already exists."),
            ));
        }
        if let Some(b) = &boundary {
            check_boundary(ctx.account(), b, |k| tx.get::<ManagedPolicy>(&scope, k))?;
        }
        let role = Role {
            key: key(name),
            name: name.to_owned(),
            role_id: crate::ids::iam_id("AROA"),
            arn: role_arn(ctx.account(), &path, name),
            path: path.clone(),
            create_date: crate::iso(ctx.now),
            assume_role_policy_document: document.to_owned(),
            description: input::str(input, "Description").map(str::to_owned),
            max_session_duration,
            permissions_boundary: boundary.clone(),
            tags,
            inline_policies: BTreeMap::new(),
            attached_policies: Vec::new(),
            last_used: None,
        };
        tx.put(&scope, role.clone())?;
        Ok(role)
    })?;
    Ok(json!({"Role": role_json(&role, RoleView::Create)}))
}

/// The role `name` of the caller's account.
pub fn find_role(ctx: &Ctx<'_>, scope: &Scope, name: &str) -> ApiResult<std::sync::Arc<Role>> {
    ctx.store
        .read(|v| v.get::<Role>(scope, &key(name)))
        .ok_or_else(|| role_not_found(name))
}

pub fn get_role(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    let name = input::req(input, "RoleName")?;
    let role = find_role(ctx, &ctx.global_scope(), name)?;
    Ok(json!({"Role": role_json(&role, RoleView::Get)}))
}

pub fn list_roles(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    let prefix = input::str(input, "PathPrefix").unwrap_or("/");
    let scope = ctx.global_scope();
    let items: Vec<(String, Value)> = ctx.store.read(|v| {
        v.list::<Role>(&scope)
            .iter()
            .filter(|r| r.path.starts_with(prefix))
            .map(|r| (r.key.clone(), role_json(r, RoleView::List)))
            .collect()
    });
    let (page, mut out) = paginate(items, input);
    out.insert("Roles".into(), Value::Array(page));
    Ok(Value::Object(out))
}

/// Runs `f` on the role `name` and stores the result, in one transaction.
fn update_role<R>(
    ctx: &Ctx<'_>,
    name: &str,
    f: impl FnOnce(&mut Role, &mut airlock_store::Tx<'_>, &Scope) -> ApiResult<R>,
) -> ApiResult<R> {
    let scope = ctx.global_scope();
    ctx.store.write(|tx| {
        let mut role = tx
            .get::<Role>(&scope, &key(name))
            .ok_or_else(|| role_not_found(name))?;
        let role = std::sync::Arc::make_mut(&mut role);
        let out = f(role, tx, &scope)?;
        tx.put(&scope, role.clone())?;
        Ok(out)
    })
}

pub fn delete_role(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    let name = input::req(input, "RoleName")?;
    let scope = ctx.global_scope();
    ctx.store.write(|tx| {
        let role = tx
            .get::<Role>(&scope, &key(name))
            .ok_or_else(|| role_not_found(name))?;
        if !role.attached_policies.is_empty() {
            return Err(ApiError::new(
                "DeleteConflict",
                "Cannot delete entity, must detach all policies first.",
            ));
        }
        if !role.inline_policies.is_empty() {
            return Err(ApiError::new(
                "DeleteConflict",
                "Cannot delete entity, must delete policies first.",
            ));
        }
        tx.delete::<Role>(&scope, &role.key);
        Ok(())
    })?;
    Ok(json!({}))
}

pub fn update_assume_role_policy(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    let name = input::req(input, "RoleName")?;
    let document = input::req(input, "PolicyDocument")?;
    check_trust_policy(document)?;
    update_role(ctx, name, |role, _, _| {
        role.assume_role_policy_document = document.to_owned();
        Ok(())
    })?;
    Ok(json!({}))
}

pub fn put_role_policy(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    let name = input::req(input, "RoleName")?;
    let policy_name = input::req(input, "PolicyName")?;
    let document = input::req(input, "PolicyDocument")?;
    check_document(document, DocumentUse::Permissions)?;
    update_role(ctx, name, |role, _, _| {
        role.inline_policies
            .insert(policy_name.to_owned(), document.to_owned());
        let total: usize = role
            .inline_policies
            .values()
            .map(|d| document_size(d))
            .sum();
        if total > INLINE_POLICY_QUOTA {
            return Err(ApiError::new(
                "LimitExceeded",
                format!(
                    "Maximum policy size of {INLINE_POLICY_QUOTA} bytes exceeded for role {}",
                    role.name
                ),
            ));
        }
        Ok(())
    })?;
    Ok(json!({}))
}

fn role_policy_not_found(policy_name: &str) -> ApiError {
    super::no_such_entity(format!(
        "The role policy with name {policy_name} cannot be found."
    ))
}

pub fn get_role_policy(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    let name = input::req(input, "RoleName")?;
    let policy_name = input::req(input, "PolicyName")?;
    let role = find_role(ctx, &ctx.global_scope(), name)?;
    let document = role
        .inline_policies
        .get(policy_name)
        .ok_or_else(|| role_policy_not_found(policy_name))?;
    Ok(json!({
        "RoleName": role.name,
        "PolicyName": policy_name,
        "PolicyDocument": url_encode(document),
    }))
}

pub fn delete_role_policy(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    let name = input::req(input, "RoleName")?;
    let policy_name = input::req(input, "PolicyName")?;
    update_role(ctx, name, |role, _, _| {
        role.inline_policies
            .remove(policy_name)
            .ok_or_else(|| role_policy_not_found(policy_name))
    })?;
    Ok(json!({}))
}

pub fn list_role_policies(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    let name = input::req(input, "RoleName")?;
    let role = find_role(ctx, &ctx.global_scope(), name)?;
    let items = role
        .inline_policies
        .keys()
        .map(|n| (n.clone(), json!(n)))
        .collect();
    let (page, mut out) = paginate(items, input);
    out.insert("PolicyNames".into(), Value::Array(page));
    Ok(Value::Object(out))
}

pub fn attach_role_policy(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    let name = input::req(input, "RoleName")?;
    let arn = input::req(input, "PolicyArn")?;
    check_arn(arn)?;
    update_role(ctx, name, |role, tx, scope| {
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
        if role.attached_policies.iter().any(|a| a == arn) {
            return Ok(());
        }
        if role.attached_policies.len() >= ATTACHED_POLICIES_QUOTA {
            return Err(ApiError::new(
                "LimitExceeded",
                format!("Cannot exceed quota for PoliciesPerRole: {ATTACHED_POLICIES_QUOTA}"),
            ));
        }
        role.attached_policies.push(arn.to_owned());
        Ok(())
    })?;
    Ok(json!({}))
}

pub fn detach_role_policy(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    let name = input::req(input, "RoleName")?;
    let arn = input::req(input, "PolicyArn")?;
    check_arn(arn)?;
    update_role(ctx, name, |role, _, _| {
        let before = role.attached_policies.len();
        role.attached_policies.retain(|a| a != arn);
        if role.attached_policies.len() == before {
            return Err(super::no_such_entity(format!(
                "Policy {arn} was not found."
            )));
        }
        Ok(())
    })?;
    Ok(json!({}))
}

pub fn list_attached_role_policies(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    let name = input::req(input, "RoleName")?;
    let prefix = input::str(input, "PathPrefix").unwrap_or("/");
    let scope = ctx.global_scope();
    let role = find_role(ctx, &scope, name)?;
    let mut items: Vec<(String, Value)> = ctx.store.read(|v| {
        role.attached_policies
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
                        json!({"PolicyName": pname, "PolicyArn": arn}),
                    )
                })
            })
            .collect()
    });
    items.sort_by(|a, b| a.0.cmp(&b.0));
    let (page, mut out) = paginate(items, input);
    out.insert("AttachedPolicies".into(), Value::Array(page));
    Ok(Value::Object(out))
}

/// Sets the role's `RoleLastUsed` (AssumeRole does this).
pub fn record_use(
    tx: &mut airlock_store::Tx<'_>,
    scope: &Scope,
    role: &Role,
    date: String,
    region: &str,
) -> Result<(), airlock_store::StoreError> {
    let mut role = role.clone();
    role.last_used = Some(super::RoleLastUsed {
        date,
        region: region.to_owned(),
    });
    tx.put(scope, role)
}

/// The role of an ARN (any account), as STS AssumeRole needs it.
pub fn find_by_arn(
    view_get: impl FnOnce(&Scope, &str) -> Option<std::sync::Arc<Role>>,
    arn: &str,
) -> Option<(Scope, std::sync::Arc<Role>)> {
    let (account, _, name) = super::parse_arn(arn, "role")?;
    let scope = Scope::global(account);
    let role = view_get(&scope, &key(name))?;
    (role.arn == arn).then_some((scope, role))
}
