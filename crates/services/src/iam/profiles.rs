//! Instance profiles: the container that passes one role to an EC2 instance (RunInstances'
//! `IamInstanceProfile`, AssociateIamInstanceProfile).
//!
//! A profile holds at most one role (AWS's quota, which cannot be raised); a role in a profile
//! cannot be deleted, nor a profile that still holds a role.

use super::identity::{add_tags, remove_tags, tags_page};
use super::roles::{role_output, RoleView};
use super::{key, paginate, path_input, role_not_found, tags_input, tags_output, InstanceProfile};
use crate::input::typed;
use crate::Ctx;
use airlock_dto::iam as dto;
use airlock_protocol::{ApiError, ApiResult, Output};
use airlock_store::{Scope, Tx, View};
use serde_json::Value;
use std::sync::Arc;

fn not_found(name: &str) -> ApiError {
    super::no_such_entity(format!("Instance Profile {name} cannot be found."))
}

/// The profile as outputs show it, with its role (a role in a profile cannot be deleted, so
/// it is always found).
fn profile_output(
    v: &View<'_>,
    scope: &Scope,
    p: &InstanceProfile,
    tags: bool,
) -> dto::InstanceProfile {
    dto::InstanceProfile {
        arn: Some(p.arn.clone()),
        create_date: Some(p.create_date.clone()),
        instance_profile_id: Some(p.profile_id.clone()),
        instance_profile_name: Some(p.name.clone()),
        path: Some(p.path.clone()),
        roles: Some(
            p.roles
                .iter()
                .filter_map(|r| v.get::<super::Role>(scope, r))
                .map(|r| role_output(&r, RoleView::Profile))
                .collect(),
        ),
        tags: tags_output(&p.tags).filter(|_| tags),
    }
}

/// Reads, changes and writes one profile in one transaction.
fn update<R>(
    ctx: &Ctx<'_>,
    name: &str,
    f: impl FnOnce(&mut InstanceProfile, &mut Tx<'_>, &Scope) -> ApiResult<R>,
) -> ApiResult<R> {
    let scope = ctx.global_scope();
    ctx.store.write(|tx| {
        let mut profile = tx
            .get::<InstanceProfile>(&scope, &key(name))
            .ok_or_else(|| not_found(name))?;
        let profile = Arc::make_mut(&mut profile);
        let out = f(profile, tx, &scope)?;
        tx.put(&scope, profile.clone())?;
        Ok(out)
    })
}

pub fn create_instance_profile(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::CreateInstanceProfileRequest = typed(input)?;
    let name = input.instance_profile_name.as_str();
    let path = path_input(input.path.as_deref())?;
    let tags = tags_input(input.tags.as_deref(), "InstanceProfile")?;
    let scope = ctx.global_scope();
    let profile = ctx.store.write(|tx| {
        if tx.get::<InstanceProfile>(&scope, &key(name)).is_some() {
            return Err(ApiError::new(
                "EntityAlreadyExists",
                format!("Instance Profile {name} already exists."),
            ));
        }
        let profile = InstanceProfile {
            key: key(name),
            name: name.to_owned(),
            profile_id: crate::ids::iam_id("AIPA"),
            arn: super::arn(&ctx.region, ctx.account(), "instance-profile", &path, name),
            path,
            create_date: crate::iso(ctx.clock.now()),
            roles: Vec::new(),
            tags,
        };
        tx.put(&scope, profile.clone())?;
        Ok(profile)
    })?;
    let output = ctx
        .store
        .read(|v| profile_output(v, &scope, &profile, true));
    Ok(Output::new(dto::CreateInstanceProfileResponse {
        instance_profile: Some(output),
    }))
}

pub fn get_instance_profile(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::GetInstanceProfileRequest = typed(input)?;
    let name = input.instance_profile_name.as_str();
    let scope = ctx.global_scope();
    let output = ctx.store.read(|v| {
        v.get::<InstanceProfile>(&scope, &key(name))
            .map(|p| profile_output(v, &scope, &p, true))
    });
    Ok(Output::new(dto::GetInstanceProfileResponse {
        instance_profile: Some(output.ok_or_else(|| not_found(name))?),
    }))
}

pub fn delete_instance_profile(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::DeleteInstanceProfileRequest = typed(input)?;
    let name = input.instance_profile_name.as_str();
    let scope = ctx.global_scope();
    ctx.store.write(|tx| {
        let profile = tx
            .get::<InstanceProfile>(&scope, &key(name))
            .ok_or_else(|| not_found(name))?;
        if !profile.roles.is_empty() {
            return Err(ApiError::new(
                "DeleteConflict",
                "Cannot delete entity, must remove roles from instance profile first.",
            ));
        }
        tx.delete::<InstanceProfile>(&scope, &profile.key);
        Ok::<_, ApiError>(())
    })?;
    Ok(Output::new(()))
}

/// One page of profiles (sorted by name) that pass `keep`, as list operations show them (no
/// tags).
fn list(
    ctx: &Ctx<'_>,
    max_items: Option<i64>,
    marker: Option<&str>,
    keep: impl Fn(&InstanceProfile) -> bool,
) -> super::Page<dto::InstanceProfile> {
    let scope = ctx.global_scope();
    let items = ctx.store.read(|v| {
        v.list::<InstanceProfile>(&scope)
            .iter()
            .filter(|p| keep(p))
            .map(|p| (p.key.clone(), profile_output(v, &scope, p, false)))
            .collect()
    });
    paginate(items, max_items, marker)
}

pub fn list_instance_profiles(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::ListInstanceProfilesRequest = typed(input)?;
    let prefix = input.path_prefix.as_deref().unwrap_or("/");
    let page = list(ctx, input.max_items, input.marker.as_deref(), |p| {
        p.path.starts_with(prefix)
    });
    Ok(Output::new(dto::ListInstanceProfilesResponse {
        instance_profiles: Some(page.items),
        is_truncated: Some(page.is_truncated),
        marker: page.marker,
    }))
}

pub fn list_instance_profiles_for_role(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::ListInstanceProfilesForRoleRequest = typed(input)?;
    let role = super::holder::find::<super::Role>(ctx, &input.role_name)?;
    let page = list(ctx, input.max_items, input.marker.as_deref(), |p| {
        p.roles.contains(&role.key)
    });
    Ok(Output::new(dto::ListInstanceProfilesForRoleResponse {
        instance_profiles: Some(page.items),
        is_truncated: Some(page.is_truncated),
        marker: page.marker,
    }))
}

pub fn add_role_to_instance_profile(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::AddRoleToInstanceProfileRequest = typed(input)?;
    let role_name = input.role_name.as_str();
    update(ctx, &input.instance_profile_name, |profile, tx, scope| {
        let role = tx
            .get::<super::Role>(scope, &key(role_name))
            .ok_or_else(|| role_not_found(role_name))?;
        if !profile.roles.is_empty() {
            return Err(ApiError::new(
                "LimitExceeded",
                "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1",
            ));
        }
        profile.roles.push(role.key.clone());
        Ok(())
    })?;
    Ok(Output::new(()))
}

pub fn remove_role_from_instance_profile(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::RemoveRoleFromInstanceProfileRequest = typed(input)?;
    let role_name = input.role_name.as_str();
    update(ctx, &input.instance_profile_name, |profile, _, _| {
        let before = profile.roles.len();
        profile.roles.retain(|r| *r != key(role_name));
        if profile.roles.len() == before {
            return Err(role_not_found(role_name));
        }
        Ok(())
    })?;
    Ok(Output::new(()))
}

pub fn tag_instance_profile(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::TagInstanceProfileRequest = typed(input)?;
    let new = tags_input(Some(&input.tags), "InstanceProfile")?;
    update(ctx, &input.instance_profile_name, |profile, _, _| {
        add_tags(&mut profile.tags, new, "InstanceProfile")
    })?;
    Ok(Output::new(()))
}

pub fn untag_instance_profile(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::UntagInstanceProfileRequest = typed(input)?;
    update(ctx, &input.instance_profile_name, |profile, _, _| {
        remove_tags(&mut profile.tags, &input.tag_keys);
        Ok(())
    })?;
    Ok(Output::new(()))
}

pub fn list_instance_profile_tags(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::ListInstanceProfileTagsRequest = typed(input)?;
    let name = input.instance_profile_name.as_str();
    let scope = ctx.global_scope();
    let profile = ctx
        .store
        .read(|v| v.get::<InstanceProfile>(&scope, &key(name)))
        .ok_or_else(|| not_found(name))?;
    let (tags, is_truncated, marker) =
        tags_page(&profile.tags, input.max_items, input.marker.as_deref());
    Ok(Output::new(dto::ListInstanceProfileTagsResponse {
        is_truncated: Some(is_truncated),
        marker,
        tags,
    }))
}

/// The profile an EC2 request names (`Name` or `Arn`, as RunInstances' and
/// AssociateIamInstanceProfile's `IamInstanceProfile` does) in `account`: its ARN and id, or
/// EC2's refusal.
pub fn for_instance(
    tx: &Tx<'_>,
    account: &str,
    name: Option<&str>,
    arn: Option<&str>,
) -> ApiResult<(String, String)> {
    let scope = Scope::global(account);
    let (found, member, value, what) = match (name, arn) {
        (_, Some(arn)) => {
            let found = super::parse_arn(arn, "instance-profile")
                .filter(|(a, _, _)| *a == account)
                .and_then(|(_, _, n)| tx.get::<InstanceProfile>(&scope, &key(n)))
                .filter(|p| p.arn == arn);
            (found, "arn", arn, "ARN")
        }
        (Some(name), None) => {
            let found = tx.get::<InstanceProfile>(&scope, &key(name));
            (found, "name", name, "name")
        }
        (None, None) => {
            return Err(ApiError::new(
                "MissingParameter",
                "The request must contain the parameter iamInstanceProfile.name or iamInstanceProfile.arn",
            ))
        }
    };
    let p = found.ok_or_else(|| {
        ApiError::invalid_parameter_value(format!(
            "Value ({value}) for parameter iamInstanceProfile.{member} is invalid. Invalid IAM Instance Profile {what}"
        ))
    })?;
    Ok((p.arn.clone(), p.profile_id.clone()))
}
