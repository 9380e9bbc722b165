//! Groups: their members, inline policies and attached managed policies (which their members
//! are granted).
//!
//! Membership is kept on the user (`User::groups`, group record ids), so that authorizing a
//! user's request reads the user and then exactly its groups.

use super::holder;
use super::users::{user_output, UserView};
use super::{key, paginate, path_input, Group, User};
use crate::input::typed;
use crate::Ctx;
use airlock_dto::iam as dto;
use airlock_protocol::{ApiError, ApiResult, Output};
use serde_json::Value;
use std::sync::Arc;

fn group_output(g: &Group) -> dto::Group {
    dto::Group {
        arn: Some(g.arn.clone()),
        create_date: Some(g.create_date.clone()),
        group_id: Some(g.group_id.clone()),
        group_name: Some(g.name.clone()),
        path: Some(g.path.clone()),
    }
}

pub fn create_group(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::CreateGroupRequest = typed(input)?;
    let name = input.group_name.as_str();
    let path = path_input(input.path.as_deref())?;
    let scope = ctx.global_scope();
    let group = ctx.store.write(|tx| {
        if tx.get::<Group>(&scope, &key(name)).is_some() {
            return Err(ApiError::new(
                "EntityAlreadyExists",
                format!("Group with name {name} already exists."),
            ));
        }
        let group = Group {
            key: key(name),
            name: name.to_owned(),
            group_id: crate::ids::iam_id("AGPA"),
            arn: super::arn(&ctx.region, ctx.account(), "group", &path, name),
            path: path.clone(),
            create_date: crate::iso(ctx.clock.now()),
            inline_policies: Default::default(),
            attached_policies: Vec::new(),
        };
        tx.put(&scope, group.clone())?;
        Ok(group)
    })?;
    Ok(Output::new(dto::CreateGroupResponse {
        group: Some(group_output(&group)),
    }))
}

/// The users of the caller's account that are members of `group` (a record id).
fn members(ctx: &Ctx<'_>, group: &str) -> Vec<Arc<User>> {
    let scope = ctx.global_scope();
    ctx.store.read(|v| {
        v.list::<User>(&scope)
            .into_iter()
            .filter(|u| u.groups.iter().any(|g| g == group))
            .collect()
    })
}

pub fn get_group(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::GetGroupRequest = typed(input)?;
    let group = holder::find::<Group>(ctx, &input.group_name)?;
    let users = members(ctx, &group.key)
        .iter()
        .map(|u| (u.key.clone(), user_output(u, UserView::List)))
        .collect();
    let page = paginate(users, input.max_items, input.marker.as_deref());
    Ok(Output::new(dto::GetGroupResponse {
        group: Some(group_output(&group)),
        is_truncated: Some(page.is_truncated),
        marker: page.marker,
        users: Some(page.items),
    }))
}

pub fn list_groups(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::ListGroupsRequest = typed(input)?;
    let asked = (input.max_items, input.marker.as_deref());
    let page = holder::list(ctx, input.path_prefix.as_deref(), asked, group_output);
    Ok(Output::new(dto::ListGroupsResponse {
        groups: Some(page.items),
        is_truncated: Some(page.is_truncated),
        marker: page.marker,
    }))
}

pub fn delete_group(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::DeleteGroupRequest = typed(input)?;
    let name = input.group_name.as_str();
    let scope = ctx.global_scope();
    ctx.store.write(|tx| {
        let group = tx
            .get::<Group>(&scope, &key(name))
            .ok_or_else(|| holder::not_found::<Group>(name))?;
        if tx
            .list::<User>(&scope)
            .iter()
            .any(|u| u.groups.contains(&group.key))
        {
            return Err(ApiError::new(
                "DeleteConflict",
                "Cannot delete entity, must remove users from group first.",
            ));
        }
        holder::check_no_policies(&*group)?;
        tx.delete::<Group>(&scope, &group.key);
        Ok(())
    })?;
    Ok(Output::new(()))
}

/// Adds (`true`) or removes the user from the group; both must exist.
fn membership(ctx: &Ctx<'_>, group_name: &str, user_name: &str, member: bool) -> ApiResult<()> {
    let scope = ctx.global_scope();
    let group = key(group_name);
    ctx.store.write(|tx| {
        if tx.get::<Group>(&scope, &group).is_none() {
            return Err(holder::not_found::<Group>(group_name));
        }
        let mut user = tx
            .get::<User>(&scope, &key(user_name))
            .ok_or_else(|| holder::not_found::<User>(user_name))?;
        let is_member = user.groups.contains(&group);
        if is_member == member {
            return Ok(());
        }
        let user = Arc::make_mut(&mut user);
        if member {
            user.groups.push(group.clone());
        } else {
            user.groups.retain(|g| *g != group);
        }
        tx.put(&scope, user.clone())?;
        Ok(())
    })
}

pub fn add_user_to_group(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::AddUserToGroupRequest = typed(input)?;
    membership(ctx, &input.group_name, &input.user_name, true)?;
    Ok(Output::new(()))
}

pub fn remove_user_from_group(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::RemoveUserFromGroupRequest = typed(input)?;
    membership(ctx, &input.group_name, &input.user_name, false)?;
    Ok(Output::new(()))
}

pub fn list_groups_for_user(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::ListGroupsForUserRequest = typed(input)?;
    let user = holder::find::<User>(ctx, &input.user_name)?;
    let scope = ctx.global_scope();
    let items = ctx.store.read(|v| {
        user.groups
            .iter()
            .filter_map(|g| v.get::<Group>(&scope, g))
            .map(|g| (g.key.clone(), group_output(&g)))
            .collect::<Vec<_>>()
    });
    let mut items = items;
    items.sort_by(|a, b| a.0.cmp(&b.0));
    let page = paginate(items, input.max_items, input.marker.as_deref());
    Ok(Output::new(dto::ListGroupsForUserResponse {
        groups: Some(page.items),
        is_truncated: Some(page.is_truncated),
        marker: page.marker,
    }))
}

holder::policy_operations!(
    Group,
    group_name,
    put_group_policy(PutGroupPolicyRequest),
    get_group_policy(GetGroupPolicyRequest) -> GetGroupPolicyResponse,
    delete_group_policy(DeleteGroupPolicyRequest),
    list_group_policies(ListGroupPoliciesRequest) -> ListGroupPoliciesResponse,
    attach_group_policy(AttachGroupPolicyRequest),
    detach_group_policy(DetachGroupPolicyRequest),
    list_attached_group_policies(ListAttachedGroupPoliciesRequest) -> ListAttachedGroupPoliciesResponse,
);
