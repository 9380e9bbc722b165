//! Roles, their trust policies, inline policies and attached managed policies.

use super::holder;
use super::policies::{check_arn, lookup};
use super::{
    arn, boundary_output, check_document, document_size, key, path_input, role_not_found,
    tags_input, tags_output, url_encode, DocumentUse, ManagedPolicy, Role,
};
use crate::input::typed;
use crate::Ctx;
use airlock_dto::iam as dto;
use airlock_protocol::{ApiError, ApiResult, Output};
use airlock_store::Scope;
use serde_json::Value;
use std::collections::BTreeMap;

/// The largest trust policy (non-whitespace characters).
const TRUST_POLICY_QUOTA: usize = 2048;

/// Which members a `Role` structure carries in each operation's output.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum RoleView {
    Create,
    Get,
    /// ListRoles leaves out PermissionsBoundary, Tags and RoleLastUsed.
    List,
    /// Inside an instance profile: only the path, names, ids, date and trust policy.
    Profile,
}

pub(super) fn role_output(r: &Role, view: RoleView) -> dto::Role {
    let full = !matches!(view, RoleView::List | RoleView::Profile);
    if view == RoleView::Profile {
        return dto::Role {
            arn: Some(r.arn.clone()),
            assume_role_policy_document: Some(url_encode(&r.assume_role_policy_document)),
            create_date: Some(r.create_date.clone()),
            path: Some(r.path.clone()),
            role_id: Some(r.role_id.clone()),
            role_name: Some(r.name.clone()),
            ..dto::Role::default()
        };
    }
    dto::Role {
        arn: Some(r.arn.clone()),
        assume_role_policy_document: Some(url_encode(&r.assume_role_policy_document)),
        create_date: Some(r.create_date.clone()),
        description: r.description.clone(),
        max_session_duration: Some(r.max_session_duration),
        path: Some(r.path.clone()),
        permissions_boundary: r
            .permissions_boundary
            .as_deref()
            .filter(|_| full)
            .map(boundary_output),
        role_id: Some(r.role_id.clone()),
        role_last_used: (view == RoleView::Get).then(|| dto::RoleLastUsed {
            last_used_date: r.last_used.as_ref().map(|l| l.date.clone()),
            region: r.last_used.as_ref().map(|l| l.region.clone()),
        }),
        role_name: Some(r.name.clone()),
        tags: tags_output(&r.tags).filter(|_| full),
        ..dto::Role::default()
    }
}

/// A permissions boundary input must name an existing managed policy.
pub(super) fn check_boundary(
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

pub fn create_role(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::CreateRoleRequest = typed(input)?;
    let name = input.role_name.as_str();
    let document = input.assume_role_policy_document.as_str();
    check_trust_policy(document)?;
    let path = path_input(input.path.as_deref())?;
    let max_session_duration = input.max_session_duration.unwrap_or(3600);
    if !(3600..=43200).contains(&max_session_duration) {
        return Err(ApiError::new(
            "ValidationError",
            format!("1 validation error detected: Value '{max_session_duration}' at 'maxSessionDuration' failed to satisfy constraint: Member must have value {}",
                if max_session_duration < 3600 { "greater than or equal to 3600" } else { "less than or equal to 43200" }),
        ));
    }
    let tags = tags_input(input.tags.as_deref(), "Role")?;
    let boundary = input.permissions_boundary.clone();
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
            arn: arn(&ctx.region, ctx.account(), "role", &path, name),
            path: path.clone(),
            create_date: crate::iso(ctx.clock.now()),
            assume_role_policy_document: document.to_owned(),
            description: input.description.clone(),
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
    Ok(Output::new(dto::CreateRoleResponse {
        role: Some(role_output(&role, RoleView::Create)),
    }))
}

/// The role `name` of the caller's account.
pub fn get_role(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::GetRoleRequest = typed(input)?;
    let role = holder::find::<Role>(ctx, &input.role_name)?;
    Ok(Output::new(dto::GetRoleResponse {
        role: Some(role_output(&role, RoleView::Get)),
    }))
}

pub fn list_roles(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::ListRolesRequest = typed(input)?;
    let asked = (input.max_items, input.marker.as_deref());
    let page = holder::list(ctx, input.path_prefix.as_deref(), asked, |r: &Role| {
        role_output(r, RoleView::List)
    });
    Ok(Output::new(dto::ListRolesResponse {
        is_truncated: Some(page.is_truncated),
        marker: page.marker,
        roles: Some(page.items),
    }))
}

pub fn delete_role(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::DeleteRoleRequest = typed(input)?;
    let name = input.role_name.as_str();
    let scope = ctx.global_scope();
    ctx.store.write(|tx| {
        let role = tx
            .get::<Role>(&scope, &key(name))
            .ok_or_else(|| role_not_found(name))?;
        if tx
            .list::<super::InstanceProfile>(&scope)
            .iter()
            .any(|p| p.roles.contains(&role.key))
        {
            return Err(ApiError::new(
                "DeleteConflict",
                "Cannot delete entity, must remove roles from instance profile first.",
            ));
        }
        holder::check_no_policies(&*role)?;
        tx.delete::<Role>(&scope, &role.key);
        Ok::<_, ApiError>(())
    })?;
    Ok(Output::new(()))
}

pub fn update_assume_role_policy(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::UpdateAssumeRolePolicyRequest = typed(input)?;
    check_trust_policy(&input.policy_document)?;
    holder::update::<Role, _>(ctx, &input.role_name, |role, _, _| {
        role.assume_role_policy_document = input.policy_document.clone();
        Ok(())
    })?;
    Ok(Output::new(()))
}

/// The largest role description (characters).
const DESCRIPTION_QUOTA: usize = 1000;

fn check_description(d: &str) -> ApiResult<()> {
    if d.chars().count() > DESCRIPTION_QUOTA {
        return Err(ApiError::new(
            "ValidationError",
            format!("1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to {DESCRIPTION_QUOTA}"),
        ));
    }
    Ok(())
}

/// UpdateRole: the description and the maximum session duration.
pub fn update_role(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::UpdateRoleRequest = typed(input)?;
    if let Some(d) = &input.description {
        check_description(d)?;
    }
    if let Some(m) = input.max_session_duration {
        if !(3600..=43200).contains(&m) {
            return Err(ApiError::new(
                "ValidationError",
                format!("1 validation error detected: Value '{m}' at 'maxSessionDuration' failed to satisfy constraint: Member must have value {}",
                    if m < 3600 { "greater than or equal to 3600" } else { "less than or equal to 43200" }),
            ));
        }
    }
    holder::update::<Role, _>(ctx, &input.role_name, |role, _, _| {
        if role.path.starts_with("/aws-service-role/") {
            return Err(ApiError::new(
                "UnmodifiableEntity",
                format!("Cannot perform the operation on the protected role '{}' - this role is only modifiable by AWS", role.name),
            ));
        }
        if let Some(d) = &input.description {
            role.description = Some(d.clone());
        }
        if let Some(m) = input.max_session_duration {
            role.max_session_duration = m;
        }
        Ok(())
    })?;
    Ok(Output::new(()))
}

pub fn update_role_description(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::UpdateRoleDescriptionRequest = typed(input)?;
    check_description(&input.description)?;
    let role = holder::update::<Role, _>(ctx, &input.role_name, |role, _, _| {
        role.description = Some(input.description.clone());
        Ok(role.clone())
    })?;
    Ok(Output::new(dto::UpdateRoleDescriptionResponse {
        role: Some(role_output(&role, RoleView::Get)),
    }))
}

holder::policy_operations!(
    Role,
    role_name,
    put_role_policy(PutRolePolicyRequest),
    get_role_policy(GetRolePolicyRequest) -> GetRolePolicyResponse,
    delete_role_policy(DeleteRolePolicyRequest),
    list_role_policies(ListRolePoliciesRequest) -> ListRolePoliciesResponse,
    attach_role_policy(AttachRolePolicyRequest),
    detach_role_policy(DetachRolePolicyRequest),
    list_attached_role_policies(ListAttachedRolePoliciesRequest) -> ListAttachedRolePoliciesResponse,
);

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
