//! Managed policies: customer managed ones (CreatePolicy) and the built-in AWS managed table.

use super::aws_policies::{self, AwsPolicy};
use super::{
    arn, check_document, document_size, key, paginate, path_input, tags_input, tags_output,
    url_encode, DocumentUse, Group, ManagedPolicy, PolicyVersion, Role, User,
};
use crate::input::typed;
use crate::Ctx;
use airlock_dto::iam as dto;
use airlock_protocol::{ApiError, ApiResult, Output};
use serde_json::Value;
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

    /// The document of its default version.
    pub fn document(&self) -> &str {
        match self {
            PolicyRef::Aws(p) => p.document,
            PolicyRef::Local(p) => p
                .versions
                .iter()
                .find(|v| v.version_id == p.default_version_id)
                .map_or("", |v| v.document.as_str()),
        }
    }

    pub fn attachable(&self) -> bool {
        match self {
            PolicyRef::Aws(p) => p.attachable,
            PolicyRef::Local(_) => true,
        }
    }
}

/// Whether `arn` names a policy of AWS's (`arn:<partition>:iam::aws:…`).
fn is_aws_managed(arn: &str) -> bool {
    crate::partition::strip(arn, "iam").is_some_and(|r| r.starts_with(":aws:"))
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
    if is_aws_managed(arn) {
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
pub fn usage_counts(
    roles: &[Arc<Role>],
    users: &[Arc<User>],
    groups: &[Arc<Group>],
) -> HashMap<String, (i64, i64)> {
    let mut counts: HashMap<String, (i64, i64)> = HashMap::new();
    for r in roles {
        for arn in &r.attached_policies {
            counts.entry(arn.clone()).or_default().0 += 1;
        }
        if let Some(b) = &r.permissions_boundary {
            counts.entry(b.clone()).or_default().1 += 1;
        }
    }
    for g in groups {
        for arn in &g.attached_policies {
            counts.entry(arn.clone()).or_default().0 += 1;
        }
    }
    for u in users {
        for arn in &u.attached_policies {
            counts.entry(arn.clone()).or_default().0 += 1;
        }
        if let Some(b) = &u.permissions_boundary {
            counts.entry(b.clone()).or_default().1 += 1;
        }
    }
    counts
}

fn account_counts(ctx: &Ctx<'_>) -> HashMap<String, (i64, i64)> {
    let scope = ctx.global_scope();
    ctx.store.read(|v| {
        usage_counts(
            &v.list::<Role>(&scope),
            &v.list::<User>(&scope),
            &v.list::<Group>(&scope),
        )
    })
}

/// Which members a `Policy` structure carries: GetPolicy and CreatePolicy return the
/// description and tags, ListPolicies does not.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PolicyView {
    Full,
    List,
}

fn policy_output(p: &PolicyRef, counts: (i64, i64), view: PolicyView) -> dto::Policy {
    let full = view == PolicyView::Full;
    let common = dto::Policy {
        attachment_count: Some(counts.0),
        permissions_boundary_usage_count: Some(counts.1),
        policy_name: Some(p.name().to_owned()),
        ..dto::Policy::default()
    };
    match p {
        PolicyRef::Aws(a) => dto::Policy {
            arn: Some(a.arn()),
            create_date: Some(a.create_date.to_owned()),
            default_version_id: Some(a.version.to_owned()),
            description: full.then(|| a.description.to_owned()),
            is_attachable: Some(a.attachable),
            path: Some(a.path.to_owned()),
            policy_id: Some(a.policy_id()),
            update_date: Some(a.update_date.to_owned()),
            ..common
        },
        PolicyRef::Local(l) => dto::Policy {
            arn: Some(l.arn.clone()),
            create_date: Some(l.create_date.clone()),
            default_version_id: Some(l.default_version_id.clone()),
            description: l.description.clone().filter(|_| full),
            is_attachable: Some(true),
            path: Some(l.path.clone()),
            policy_id: Some(l.policy_id.clone()),
            tags: tags_output(&l.tags).filter(|_| full),
            update_date: Some(l.update_date.clone()),
            ..common
        },
    }
}

fn not_found(arn: &str) -> ApiError {
    super::no_such_entity(format!("Policy {arn} was not found."))
}

/// A managed policy's document: a permissions policy within the size quota.
fn check_managed_document(document: &str) -> ApiResult<()> {
    check_document(document, DocumentUse::Permissions)?;
    if document_size(document) > 6144 {
        return Err(ApiError::new(
            "LimitExceeded",
            "Cannot exceed quota for PolicySize: 6144",
        ));
    }
    Ok(())
}

pub fn create_policy(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::CreatePolicyRequest = typed(input)?;
    let name = input.policy_name.as_str();
    let document = input.policy_document.as_str();
    check_managed_document(document)?;
    let path = path_input(input.path.as_deref())?;
    let tags = tags_input(input.tags.as_deref(), "Policy")?;
    let description = input.description.clone();
    let scope = ctx.global_scope();
    let now = crate::iso(ctx.clock.now());
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
            arn: arn(&ctx.region, ctx.account(), "policy", &path, name),
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
            last_version: 1,
            tags,
        };
        tx.put(&scope, policy.clone())?;
        Ok(policy)
    })?;
    Ok(Output::new(dto::CreatePolicyResponse {
        policy: Some(policy_output(
            &PolicyRef::Local(Arc::new(policy)),
            (0, 0),
            PolicyView::Full,
        )),
    }))
}

fn find(ctx: &Ctx<'_>, arn: &str) -> ApiResult<PolicyRef> {
    check_arn(arn)?;
    let scope = ctx.global_scope();
    ctx.store
        .read(|v| lookup(ctx.account(), arn, |k| v.get::<ManagedPolicy>(&scope, k)))
        .ok_or_else(|| not_found(arn))
}

pub fn get_policy(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::GetPolicyRequest = typed(input)?;
    let policy = find(ctx, &input.policy_arn)?;
    let counts = account_counts(ctx)
        .get(&policy.arn())
        .copied()
        .unwrap_or_default();
    Ok(Output::new(dto::GetPolicyResponse {
        policy: Some(policy_output(&policy, counts, PolicyView::Full)),
    }))
}

pub fn get_policy_version(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::GetPolicyVersionRequest = typed(input)?;
    let (arn, version) = (input.policy_arn.as_str(), input.version_id.as_str());
    let policy = find(ctx, arn)?;
    let missing = || version_not_found(arn, version);
    let out = match &policy {
        PolicyRef::Aws(a) => {
            if a.version != version {
                return Err(missing());
            }
            dto::PolicyVersion {
                create_date: Some(a.update_date.to_owned()),
                document: Some(url_encode(a.document)),
                is_default_version: Some(true),
                version_id: Some(a.version.to_owned()),
            }
        }
        PolicyRef::Local(l) => {
            let v = l
                .versions
                .iter()
                .find(|v| v.version_id == version)
                .ok_or_else(missing)?;
            dto::PolicyVersion {
                create_date: Some(v.create_date.clone()),
                document: Some(url_encode(&v.document)),
                is_default_version: Some(v.version_id == l.default_version_id),
                version_id: Some(v.version_id.clone()),
            }
        }
    };
    Ok(Output::new(dto::GetPolicyVersionResponse {
        policy_version: Some(out),
    }))
}

pub fn delete_policy(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::DeletePolicyRequest = typed(input)?;
    let arn = input.policy_arn.as_str();
    check_arn(arn)?;
    if is_aws_managed(arn) {
        return Err(aws_managed(ctx, "iam:DeletePolicy", arn));
    }
    let scope = ctx.global_scope();
    ctx.store.write(|tx| {
        let Some(PolicyRef::Local(policy)) =
            lookup(ctx.account(), arn, |k| tx.get::<ManagedPolicy>(&scope, k))
        else {
            return Err(not_found(arn));
        };
        let counts = usage_counts(
            &tx.list::<Role>(&scope),
            &tx.list::<User>(&scope),
            &tx.list::<Group>(&scope),
        );
        if counts.get(arn).is_some_and(|(a, b)| *a > 0 || *b > 0) {
            return Err(ApiError::new(
                "DeleteConflict",
                "Cannot delete a policy attached to entities.",
            ));
        }
        if policy.versions.len() > 1 {
            return Err(ApiError::new(
                "DeleteConflict",
                "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.",
            ));
        }
        tx.delete::<ManagedPolicy>(&scope, &policy.key);
        Ok(())
    })?;
    Ok(Output::new(()))
}

pub fn list_policies(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::ListPoliciesRequest = typed(input)?;
    let scope_filter = input.scope.as_deref().unwrap_or("All");
    let only_attached = input.only_attached.unwrap_or(false);
    let prefix = input.path_prefix.as_deref().unwrap_or("/");
    let usage = input.policy_usage_filter.as_deref();
    let scope = ctx.global_scope();
    let (local, counts) = ctx.store.read(|v| {
        let counts = usage_counts(
            &v.list::<Role>(&scope),
            &v.list::<User>(&scope),
            &v.list::<Group>(&scope),
        );
        (v.list::<ManagedPolicy>(&scope), counts)
    });
    let mut candidates: Vec<PolicyRef> = Vec::new();
    if matches!(scope_filter, "All" | "AWS") {
        candidates.extend(aws_policies::POLICIES.iter().map(PolicyRef::Aws));
    }
    if matches!(scope_filter, "All" | "Local") {
        candidates.extend(local.into_iter().map(PolicyRef::Local));
    }
    let mut items: Vec<(String, dto::Policy)> = candidates
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
                policy_output(&p, c, PolicyView::List),
            ))
        })
        .collect();
    items.sort_by(|a, b| a.0.cmp(&b.0));
    let page = paginate(items, input.max_items, input.marker.as_deref());
    Ok(Output::new(dto::ListPoliciesResponse {
        is_truncated: Some(page.is_truncated),
        marker: page.marker,
        policies: Some(page.items),
    }))
}

// ---- versions ---------------------------------------------------------------------------------

/// Versions one managed policy may keep.
const VERSIONS_QUOTA: usize = 5;

fn version_not_found(arn: &str, version: &str) -> ApiError {
    super::no_such_entity(format!("Policy {arn} version {version} does not exist."))
}

/// The refusal to change an AWS managed policy.
fn aws_managed(ctx: &Ctx<'_>, action: &str, arn: &str) -> ApiError {
    ApiError::new(
        "AccessDenied",
        format!(
            "User: {} is not authorized to perform: {action} on resource: policy {arn}",
            ctx.principal.arn
        ),
    )
    .with_status(403)
}

/// Reads, changes and writes a customer managed policy of the caller's account; AWS managed
/// policies cannot be changed (`action` names the refused action).
fn update_policy<R>(
    ctx: &Ctx<'_>,
    action: &str,
    arn: &str,
    f: impl FnOnce(&mut ManagedPolicy) -> ApiResult<R>,
) -> ApiResult<R> {
    let scope = ctx.global_scope();
    ctx.store.write(|tx| {
        let policy = lookup(ctx.account(), arn, |k| tx.get::<ManagedPolicy>(&scope, k))
            .ok_or_else(|| not_found(arn))?;
        let PolicyRef::Local(mut policy) = policy else {
            return Err(aws_managed(ctx, action, arn));
        };
        let policy = Arc::make_mut(&mut policy);
        let out = f(policy)?;
        tx.put(&scope, policy.clone())?;
        Ok(out)
    })
}

fn version_output(p: &ManagedPolicy, v: &PolicyVersion) -> dto::PolicyVersion {
    dto::PolicyVersion {
        create_date: Some(v.create_date.clone()),
        document: None,
        is_default_version: Some(v.version_id == p.default_version_id),
        version_id: Some(v.version_id.clone()),
    }
}

pub fn create_policy_version(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::CreatePolicyVersionRequest = typed(input)?;
    check_arn(&input.policy_arn)?;
    check_managed_document(&input.policy_document)?;
    let now = crate::iso(ctx.clock.now());
    let out = update_policy(ctx, "iam:CreatePolicyVersion", &input.policy_arn, |p| {
        if p.versions.len() >= VERSIONS_QUOTA {
            return Err(ApiError::new(
                "LimitExceeded",
                format!("A managed policy can have up to {VERSIONS_QUOTA} versions. Before you create a new version, you must delete an existing version."),
            ));
        }
        // Version ids count up and are never reused.
        let next = p
            .versions
            .iter()
            .filter_map(|v| v.version_id.strip_prefix('v')?.parse::<u32>().ok())
            .max()
            .unwrap_or(0)
            .max(p.last_version)
            + 1;
        p.last_version = next;
        let version = PolicyVersion {
            version_id: format!("v{next}"),
            document: input.policy_document.clone(),
            create_date: now.clone(),
        };
        if input.set_as_default.unwrap_or(false) {
            p.default_version_id = version.version_id.clone();
            p.update_date = now.clone();
        }
        p.versions.push(version.clone());
        Ok(version_output(p, &version))
    })?;
    Ok(Output::new(dto::CreatePolicyVersionResponse {
        policy_version: Some(out),
    }))
}

pub fn list_policy_versions(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::ListPolicyVersionsRequest = typed(input)?;
    let policy = find(ctx, &input.policy_arn)?;
    let mut items: Vec<(String, dto::PolicyVersion)> = match &policy {
        PolicyRef::Aws(a) => vec![(
            String::new(),
            dto::PolicyVersion {
                create_date: Some(a.update_date.to_owned()),
                document: None,
                is_default_version: Some(true),
                version_id: Some(a.version.to_owned()),
            },
        )],
        // Newest first; the page key keeps that order.
        PolicyRef::Local(l) => l
            .versions
            .iter()
            .rev()
            .enumerate()
            .map(|(i, v)| (format!("{i:04}"), version_output(l, v)))
            .collect(),
    };
    items.sort_by(|a, b| a.0.cmp(&b.0));
    let page = paginate(items, input.max_items, input.marker.as_deref());
    Ok(Output::new(dto::ListPolicyVersionsResponse {
        is_truncated: Some(page.is_truncated),
        marker: page.marker,
        versions: Some(page.items),
    }))
}

pub fn delete_policy_version(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::DeletePolicyVersionRequest = typed(input)?;
    let (arn, version) = (input.policy_arn.as_str(), input.version_id.as_str());
    check_arn(arn)?;
    update_policy(ctx, "iam:DeletePolicyVersion", arn, |p| {
        if !p.versions.iter().any(|v| v.version_id == version) {
            return Err(version_not_found(arn, version));
        }
        if p.default_version_id == version {
            return Err(ApiError::new(
                "DeleteConflict",
                "Cannot delete the default version of a policy.",
            ));
        }
        p.versions.retain(|v| v.version_id != version);
        Ok(())
    })?;
    Ok(Output::new(()))
}

pub fn set_default_policy_version(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::SetDefaultPolicyVersionRequest = typed(input)?;
    let (arn, version) = (input.policy_arn.as_str(), input.version_id.as_str());
    check_arn(arn)?;
    let now = crate::iso(ctx.clock.now());
    update_policy(ctx, "iam:SetDefaultPolicyVersion", arn, |p| {
        if !p.versions.iter().any(|v| v.version_id == version) {
            return Err(version_not_found(arn, version));
        }
        p.default_version_id = version.to_owned();
        p.update_date = now;
        Ok(())
    })?;
    Ok(Output::new(()))
}

pub fn tag_policy(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::TagPolicyRequest = typed(input)?;
    check_arn(&input.policy_arn)?;
    let new = super::tags_input(Some(&input.tags), "Policy")?;
    update_policy(ctx, "iam:TagPolicy", &input.policy_arn, |p| {
        super::identity::add_tags(&mut p.tags, new, "Policy")
    })?;
    Ok(Output::new(()))
}

pub fn untag_policy(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::UntagPolicyRequest = typed(input)?;
    check_arn(&input.policy_arn)?;
    update_policy(ctx, "iam:UntagPolicy", &input.policy_arn, |p| {
        super::identity::remove_tags(&mut p.tags, &input.tag_keys);
        Ok(())
    })?;
    Ok(Output::new(()))
}

pub fn list_policy_tags(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::ListPolicyTagsRequest = typed(input)?;
    let tags = match find(ctx, &input.policy_arn)? {
        PolicyRef::Aws(_) => Vec::new(),
        PolicyRef::Local(p) => p.tags.clone(),
    };
    let (tags, is_truncated, marker) =
        super::identity::tags_page(&tags, input.max_items, input.marker.as_deref());
    Ok(Output::new(dto::ListPolicyTagsResponse {
        is_truncated: Some(is_truncated),
        marker,
        tags,
    }))
}
