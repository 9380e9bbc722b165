//! Managed policies: customer managed ones (CreatePolicy) and the built-in AWS managed table.

use super::aws_policies::{self, AwsPolicy};
use super::{
    check_document, document_size, key, paginate, path_input, policy_arn, tags_input, tags_json,
    url_encode, DocumentUse, ManagedPolicy, PolicyVersion, Role, User,
};
use crate::input;
use crate::Ctx;
use airlock_protocol::{ApiError, ApiResult};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// A managed policy, whoever manages it.
#[derive(Clone)]
pub enum PolicyRef {
    Aws(&'static AwsPolicy),
    Local(Arc<ManagedPolicy>),
}

impl PolicyRef {
    pub fn name(&self) -> &str {
        match self {
            PolicyRef::Aws(p) => p.name,
            PolicyRef::Local(p) => &p.name,
        }
    }

    pub fn arn(&self) -> String {
        match self {
            PolicyRef::Aws(p) => p.arn(),
            PolicyRef::Local(p) => p.arn.clone(),
        }
    }

    pub fn path(&self) -> &str {
        match self {
            PolicyRef::Aws(p) => p.path,
            PolicyRef::Local(p) => &p.path,
        }
    }

    pub fn attachable(&self) -> bool {
        match self {
            PolicyRef::Aws(p) => p.attachable,
            PolicyRef::Local(_) => true,
        }
    }
}

/// `InvalidInput` for strings that are not ARNs at all.
pub fn check_arn(arn: &str) -> ApiResult<()> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if parts.len() < 6 || parts[0] != "arn" || parts[2].is_empty() || parts[5].is_empty() {
        return Err(ApiError::new(
            "InvalidInput",
            format!("ARN {arn} is not valid."),
        ));
    }
    Ok(())
}

/// The managed policy `arn` as seen from `account`: a built-in AWS managed policy, or a
/// customer managed policy of `account` (`get` reads one by record id).
pub fn lookup(
    account: &str,
    arn: &str,
    get: impl FnOnce(&str) -> Option<Arc<ManagedPolicy>>,
) -> Option<PolicyRef> {
    if arn.starts_with("arn:aws:iam::aws:") {
        return aws_policies::find(arn).map(PolicyRef::Aws);
    }
    let (acct, _, name) = super::parse_arn(arn, "policy")?;
    if acct != account {
        return None;
    }
    get(&key(name))
        .filter(|p| p.arn == arn)
        .map(PolicyRef::Local)
}

/// How many roles and users of an account use each policy ARN: (attachments, as permissions
/// boundary).
pub fn usage_counts(roles: &[Arc<Role>], users: &[Arc<User>]) -> HashMap<String, (i64, i64)> {
    let mut counts: HashMap<String, (i64, i64)> = HashMap::new();
    for r in roles {
        for arn in &r.attached_policies {
            counts.entry(arn.clone()).or_default().0 += 1;
        }
        if let Some(b) = &r.permissions_boundary {
            counts.entry(b.clone()).or_default().1 += 1;
        }
    }
    for u in users {
        if let Some(b) = &u.permissions_boundary {
            counts.entry(b.clone()).or_default().1 += 1;
        }
    }
    counts
}

fn account_counts(ctx: &Ctx<'_>) -> HashMap<String, (i64, i64)> {
    let scope = ctx.global_scope();
    ctx.store
        .read(|v| usage_counts(&v.list::<Role>(&scope), &v.list::<User>(&scope)))
}

/// Which members a `Policy` structure carries: GetPolicy and CreatePolicy return the
/// description and tags, ListPolicies does not.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PolicyView {
    Full,
    List,
}

fn policy_json(p: &PolicyRef, counts: (i64, i64), view: PolicyView) -> Value {
    let mut o = Map::new();
    o.insert("PolicyName".into(), json!(p.name()));
    match p {
        PolicyRef::Aws(a) => {
            o.insert("PolicyId".into(), json!(a.policy_id()));
            o.insert("Arn".into(), json!(a.arn()));
            o.insert("Path".into(), json!(a.path));
            o.insert("DefaultVersionId".into(), json!(a.version));
            o.insert("AttachmentCount".into(), json!(counts.0));
            o.insert("PermissionsBoundaryUsageCount".into(), json!(counts.1));
            o.insert("IsAttachable".into(), json!(a.attachable));
            if view == PolicyView::Full {
                o.insert("Description".into(), json!(a.description));
            }
            o.insert("CreateDate".into(), json!(a.create_date));
            o.insert("UpdateDate".into(), json!(a.update_date));
        }
        PolicyRef::Local(l) => {
            o.insert("PolicyId".into(), json!(l.policy_id));
            o.insert("Arn".into(), json!(l.arn));
            o.insert("Path".into(), json!(l.path));
            o.insert("DefaultVersionId".into(), json!(l.default_version_id));
            o.insert("AttachmentCount".into(), json!(counts.0));
            o.insert("PermissionsBoundaryUsageCount".into(), json!(counts.1));
            o.insert("IsAttachable".into(), json!(true));
            if view == PolicyView::Full {
                if let Some(d) = &l.description {
                    o.insert("Description".into(), json!(d));
                }
            }
            o.insert("CreateDate".into(), json!(l.create_date));
            o.insert("UpdateDate".into(), json!(l.update_date));
            if view == PolicyView::Full && !l.tags.is_empty() {
                o.insert("Tags".into(), tags_json(&l.tags));
            }
        }
    }
    Value::Object(o)
}

fn not_found(arn: &str) -> ApiError {
    super::no_such_entity(format!("Policy {arn} was not found."))
}

pub fn create_policy(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    let name = input::req(input, "PolicyName")?;
    let document = input::req(input, "PolicyDocument")?;
    check_document(document, DocumentUse::Permissions)?;
    if document_size(document) > 6144 {
        return Err(ApiError::new(
            "LimitExceeded",
            "Cannot exceed quota for PolicySize: 6144",
        ));
    }
    let path = path_input(input, "Path")?;
    let tags = tags_input(input)?;
    let description = input::str(input, "Description").map(str::to_owned);
    let scope = ctx.global_scope();
    let now = crate::iso(ctx.now);
    let policy = ctx.store.write(|tx| {
        if tx.get::<ManagedPolicy>(&scope, &key(name)).is_some() {
            return Err(ApiError::new(
                "EntityAlreadyExists",
                format!("A policy called {name} already exists. Duplicate names are not allowed."),
            ));
        }
        let policy = ManagedPolicy {
            key: key(name),
            name: name.to_owned(),
            policy_id: crate::ids::iam_id("ANPA"),
            arn: policy_arn(ctx.account(), &path, name),
            path: path.clone(),
            description,
            create_date: now.clone(),
            update_date: now.clone(),
            default_version_id: "v1".into(),
            versions: vec![PolicyVersion {
                version_id: "v1".into(),
                document: document.to_owned(),
                create_date: now.clone(),
            }],
            tags,
        };
        tx.put(&scope, policy.clone())?;
        Ok(policy)
    })?;
    Ok(
        json!({"Policy": policy_json(&PolicyRef::Local(Arc::new(policy)), (0, 0), PolicyView::Full)}),
    )
}

fn find(ctx: &Ctx<'_>, arn: &str) -> ApiResult<PolicyRef> {
    check_arn(arn)?;
    let scope = ctx.global_scope();
    ctx.store
        .read(|v| lookup(ctx.account(), arn, |k| v.get::<ManagedPolicy>(&scope, k)))
        .ok_or_else(|| not_found(arn))
}

pub fn get_policy(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    let arn = input::req(input, "PolicyArn")?;
    let policy = find(ctx, arn)?;
    let counts = account_counts(ctx)
        .get(&policy.arn())
        .copied()
        .unwrap_or_default();
    Ok(json!({"Policy": policy_json(&policy, counts, PolicyView::Full)}))
}

pub fn get_policy_version(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    let arn = input::req(input, "PolicyArn")?;
    let version = input::req(input, "VersionId")?;
    let policy = find(ctx, arn)?;
    let missing =
        || super::no_such_entity(format!("Policy {arn} version {version} does not exist."));
    let out = match &policy {
        PolicyRef::Aws(a) => {
            if a.version != version {
                return Err(missing());
            }
            json!({
                "Document": url_encode(a.document),
                "VersionId": a.version,
                "IsDefaultVersion": true,
                "CreateDate": a.update_date,
            })
        }
        PolicyRef::Local(l) => {
            let v = l
                .versions
                .iter()
                .find(|v| v.version_id == version)
                .ok_or_else(missing)?;
            json!({
                "Document": url_encode(&v.document),
                "VersionId": v.version_id,
                "IsDefaultVersion": v.version_id == l.default_version_id,
                "CreateDate": v.create_date,
            })
        }
    };
    Ok(json!({"PolicyVersion": out}))
}

pub fn delete_policy(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    let arn = input::req(input, "PolicyArn")?;
    check_arn(arn)?;
    if arn.starts_with("arn:aws:iam::aws:") {
        return Err(ApiError::new(
            "AccessDenied",
            format!(
                "User: {} is not authorized to perform: iam:DeletePolicy on resource: policy {arn}",
                ctx.principal.arn
            ),
        )
        .with_status(403));
    }
    let scope = ctx.global_scope();
    ctx.store.write(|tx| {
        let Some(PolicyRef::Local(policy)) =
            lookup(ctx.account(), arn, |k| tx.get::<ManagedPolicy>(&scope, k))
        else {
            return Err(not_found(arn));
        };
        let counts = usage_counts(&tx.list::<Role>(&scope), &tx.list::<User>(&scope));
        if counts.get(arn).is_some_and(|(a, b)| *a > 0 || *b > 0) {
            return Err(ApiError::new(
                "DeleteConflict",
                "Cannot delete a policy attached to entities.",
            ));
        }
        tx.delete::<ManagedPolicy>(&scope, &policy.key);
        Ok(())
    })?;
    Ok(json!({}))
}

pub fn list_policies(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    let scope_filter = input::str(input, "Scope").unwrap_or("All");
    let only_attached = input::bool(input, "OnlyAttached").unwrap_or(false);
    let prefix = input::str(input, "PathPrefix").unwrap_or("/");
    let usage = input::str(input, "PolicyUsageFilter");
    let scope = ctx.global_scope();
    let (local, counts) = ctx.store.read(|v| {
        let counts = usage_counts(&v.list::<Role>(&scope), &v.list::<User>(&scope));
        (v.list::<ManagedPolicy>(&scope), counts)
    });
    let mut candidates: Vec<PolicyRef> = Vec::new();
    if matches!(scope_filter, "All" | "AWS") {
        candidates.extend(aws_policies::POLICIES.iter().map(PolicyRef::Aws));
    }
    if matches!(scope_filter, "All" | "Local") {
        candidates.extend(local.into_iter().map(PolicyRef::Local));
    }
    let mut items: Vec<(String, Value)> = candidates
        .into_iter()
        .filter(|p| p.path().starts_with(prefix))
        .filter_map(|p| {
            let c = counts.get(&p.arn()).copied().unwrap_or_default();
            // OnlyAttached: attached to an entity (as a permissions boundary too when that is
            // the usage asked for). PolicyUsageFilter alone does not filter: any managed policy
            // can serve as either.
            let attached = match usage {
                Some("PermissionsBoundary") => c.1 > 0,
                _ => c.0 > 0,
            };
            if only_attached && !attached {
                return None;
            }
            Some((
                format!("{}\u{1}{}", key(p.name()), p.arn()),
                policy_json(&p, c, PolicyView::List),
            ))
        })
        .collect();
    items.sort_by(|a, b| a.0.cmp(&b.0));
    let (page, mut out) = paginate(items, input);
    out.insert("Policies".into(), Value::Array(page));
    Ok(Value::Object(out))
}
