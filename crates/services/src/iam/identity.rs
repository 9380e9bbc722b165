//! What roles and users have beyond their policies: a permissions boundary and tags (the
//! `aws:PrincipalTag/…` of their requests), with one implementation of
//! Put/Delete…PermissionsBoundary and Tag/Untag/List…Tags for both; and ListEntitiesForPolicy.

use super::holder::{self, Holder};
use super::policies::lookup;
use super::roles::check_boundary;
use super::{paginate, tags_input, tags_output, Group, ManagedPolicy, Role, Tag, User};
use crate::input::typed;
use crate::Ctx;
use airlock_dto::iam as dto;
use airlock_protocol::{ApiError, ApiResult, Output};
use serde_json::Value;

/// An identity with a permissions boundary and tags.
pub trait Identity: Holder {
    /// `Role`, `User`: as quota names spell it (`TagsPerRole`).
    const QUOTA: &'static str;
    fn boundary_mut(&mut self) -> &mut Option<String>;
    fn tags(&self) -> &[Tag];
    fn tags_mut(&mut self) -> &mut Vec<Tag>;
    /// A service-linked role, which only its service may change.
    fn protected(&self) -> bool {
        false
    }
}

impl Identity for Role {
    const QUOTA: &'static str = "Role";
    fn boundary_mut(&mut self) -> &mut Option<String> {
        &mut self.permissions_boundary
    }
    fn tags(&self) -> &[Tag] {
        &self.tags
    }
    fn tags_mut(&mut self) -> &mut Vec<Tag> {
        &mut self.tags
    }
    fn protected(&self) -> bool {
        self.path.starts_with("/aws-service-role/")
    }
}

impl Identity for User {
    const QUOTA: &'static str = "User";
    fn boundary_mut(&mut self) -> &mut Option<String> {
        &mut self.permissions_boundary
    }
    fn tags(&self) -> &[Tag] {
        &self.tags
    }
    fn tags_mut(&mut self) -> &mut Vec<Tag> {
        &mut self.tags
    }
}

/// AWS's refusal to change a service-linked role.
fn unmodifiable(name: &str) -> ApiError {
    ApiError::new(
        "UnmodifiableEntity",
        format!("Cannot perform the operation on the protected role '{name}' - this role is only modifiable by AWS"),
    )
}

/// Sets (`Some`) or removes the identity's permissions boundary.
fn set_boundary<I: Identity>(ctx: &Ctx<'_>, name: &str, arn: Option<&str>) -> ApiResult<Output> {
    holder::update::<I, _>(ctx, name, |held, tx, scope| {
        if held.protected() {
            return Err(unmodifiable(held.name()));
        }
        if let Some(arn) = arn {
            check_boundary(ctx.account(), arn, |k| tx.get::<ManagedPolicy>(scope, k))?;
        }
        *held.boundary_mut() = arn.map(str::to_owned);
        Ok(())
    })?;
    Ok(Output::new(()))
}

/// Adds `new` to `all`, replacing the values of keys it has (keys are case-insensitive); at
/// most 50 (`quota` names the kind as the quota `TagsPer…` does).
pub(super) fn add_tags(all: &mut Vec<Tag>, new: Vec<Tag>, quota: &str) -> ApiResult<()> {
    for t in new {
        match all.iter_mut().find(|o| o.key.eq_ignore_ascii_case(&t.key)) {
            Some(o) => *o = t,
            None => all.push(t),
        }
    }
    if all.len() > 50 {
        return Err(ApiError::new(
            "LimitExceeded",
            format!("Cannot exceed quota for TagsPer{quota}: 50"),
        ));
    }
    Ok(())
}

/// Removes the tags with these keys (case-insensitive); keys it does not have are ignored.
pub(super) fn remove_tags(all: &mut Vec<Tag>, keys: &[String]) {
    all.retain(|t| !keys.iter().any(|k| k.eq_ignore_ascii_case(&t.key)));
}

/// One page of tags, in the order they were added: (tags, is truncated, marker).
pub(super) fn tags_page(
    tags: &[Tag],
    max_items: Option<i64>,
    marker: Option<&str>,
) -> (Option<Vec<dto::Tag>>, bool, Option<String>) {
    let keyed = tags
        .iter()
        .enumerate()
        .map(|(i, t)| (format!("{i:03}"), t.clone()))
        .collect();
    let page = paginate(keyed, max_items, marker);
    (
        Some(tags_output(&page.items).unwrap_or_default()),
        page.is_truncated,
        page.marker,
    )
}

fn tag<I: Identity>(ctx: &Ctx<'_>, name: &str, tags: &[dto::Tag]) -> ApiResult<Output> {
    let new = tags_input(Some(tags), I::QUOTA)?;
    holder::update::<I, _>(ctx, name, |held, _, _| {
        if held.protected() {
            return Err(unmodifiable(held.name()));
        }
        add_tags(held.tags_mut(), new, I::QUOTA)
    })?;
    Ok(Output::new(()))
}

fn untag<I: Identity>(ctx: &Ctx<'_>, name: &str, keys: &[String]) -> ApiResult<Output> {
    holder::update::<I, _>(ctx, name, |held, _, _| {
        if held.protected() {
            return Err(unmodifiable(held.name()));
        }
        remove_tags(held.tags_mut(), keys);
        Ok(())
    })?;
    Ok(Output::new(()))
}

fn list_tags<I: Identity>(
    ctx: &Ctx<'_>,
    name: &str,
    max_items: Option<i64>,
    marker: Option<&str>,
) -> ApiResult<(Option<Vec<dto::Tag>>, bool, Option<String>)> {
    let held = holder::find::<I>(ctx, name)?;
    Ok(tags_page(held.tags(), max_items, marker))
}

/// The boundary and tag operations of one identity kind, each reading its own generated
/// request; `$name` is the member that names the identity (`role_name`).
macro_rules! identity_operations {
    (
        $identity:ty, $name:ident,
        $put_boundary:ident($put_boundary_req:ident),
        $delete_boundary:ident($delete_boundary_req:ident),
        $tag:ident($tag_req:ident),
        $untag:ident($untag_req:ident),
        $list_tags:ident($list_tags_req:ident) -> $list_tags_res:ident $(,)?
    ) => {
        pub fn $put_boundary(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
            let i: dto::$put_boundary_req = typed(input)?;
            set_boundary::<$identity>(ctx, &i.$name, Some(&i.permissions_boundary))
        }

        pub fn $delete_boundary(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
            let i: dto::$delete_boundary_req = typed(input)?;
            set_boundary::<$identity>(ctx, &i.$name, None)
        }

        pub fn $tag(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
            let i: dto::$tag_req = typed(input)?;
            tag::<$identity>(ctx, &i.$name, &i.tags)
        }

        pub fn $untag(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
            let i: dto::$untag_req = typed(input)?;
            untag::<$identity>(ctx, &i.$name, &i.tag_keys)
        }

        pub fn $list_tags(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
            let i: dto::$list_tags_req = typed(input)?;
            let marker = i.marker.as_deref();
            let (tags, is_truncated, marker) =
                list_tags::<$identity>(ctx, &i.$name, i.max_items, marker)?;
            Ok(Output::new(dto::$list_tags_res {
                is_truncated: Some(is_truncated),
                marker,
                tags,
            }))
        }
    };
}

identity_operations!(
    Role,
    role_name,
    put_role_permissions_boundary(PutRolePermissionsBoundaryRequest),
    delete_role_permissions_boundary(DeleteRolePermissionsBoundaryRequest),
    tag_role(TagRoleRequest),
    untag_role(UntagRoleRequest),
    list_role_tags(ListRoleTagsRequest) -> ListRoleTagsResponse,
);

identity_operations!(
    User,
    user_name,
    put_user_permissions_boundary(PutUserPermissionsBoundaryRequest),
    delete_user_permissions_boundary(DeleteUserPermissionsBoundaryRequest),
    tag_user(TagUserRequest),
    untag_user(UntagUserRequest),
    list_user_tags(ListUserTagsRequest) -> ListUserTagsResponse,
);

/// An identity that uses a managed policy.
enum Entity {
    Group(dto::PolicyGroup),
    User(dto::PolicyUser),
    Role(dto::PolicyRole),
}

/// The groups, users and roles that use managed policy `PolicyArn`: as a permissions policy
/// (attached), a permissions boundary, or either (`PolicyUsageFilter`), of the kind
/// `EntityFilter` names, under `PathPrefix`; one page across the three lists.
pub fn list_entities_for_policy(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::ListEntitiesForPolicyRequest = typed(input)?;
    let arn = input.policy_arn.as_str();
    super::policies::check_arn(arn)?;
    let scope = ctx.global_scope();
    let (groups, users, roles) = ctx.store.read(|v| {
        lookup(ctx.account(), arn, |k| v.get::<ManagedPolicy>(&scope, k))
            .map(|_| {
                (
                    v.list::<Group>(&scope),
                    v.list::<User>(&scope),
                    v.list::<Role>(&scope),
                )
            })
            .ok_or_else(|| super::no_such_entity(format!("Policy {arn} was not found.")))
    })?;
    let usage = input.policy_usage_filter.as_deref();
    let attached = usage != Some("PermissionsBoundary");
    let bounded = usage != Some("PermissionsPolicy");
    let kind = input.entity_filter.as_deref();
    let wanted = |k: &str, path: &str| {
        kind.is_none_or(|f| f == k)
            && input
                .path_prefix
                .as_deref()
                .is_none_or(|p| path.starts_with(p))
    };
    let uses = |held: &[String], boundary: Option<&String>| {
        (attached && held.iter().any(|a| a == arn))
            || (bounded && boundary.is_some_and(|b| b == arn))
    };
    let mut all: Vec<(String, Entity)> = Vec::new();
    for g in groups
        .iter()
        .filter(|g| wanted("Group", &g.path) && uses(&g.attached_policies, None))
    {
        all.push((
            format!("1/{}", g.key),
            Entity::Group(dto::PolicyGroup {
                group_id: Some(g.group_id.clone()),
                group_name: Some(g.name.clone()),
            }),
        ));
    }
    for u in users.iter().filter(|u| {
        wanted("User", &u.path) && uses(&u.attached_policies, u.permissions_boundary.as_ref())
    }) {
        all.push((
            format!("2/{}", u.key),
            Entity::User(dto::PolicyUser {
                user_id: Some(u.user_id.clone()),
                user_name: Some(u.name.clone()),
            }),
        ));
    }
    for r in roles.iter().filter(|r| {
        wanted("Role", &r.path) && uses(&r.attached_policies, r.permissions_boundary.as_ref())
    }) {
        all.push((
            format!("3/{}", r.key),
            Entity::Role(dto::PolicyRole {
                role_id: Some(r.role_id.clone()),
                role_name: Some(r.name.clone()),
            }),
        ));
    }
    let page = paginate(all, input.max_items, input.marker.as_deref());
    let (mut policy_groups, mut policy_users, mut policy_roles) = (vec![], vec![], vec![]);
    for e in page.items {
        match e {
            Entity::Group(g) => policy_groups.push(g),
            Entity::User(u) => policy_users.push(u),
            Entity::Role(r) => policy_roles.push(r),
        }
    }
    Ok(Output::new(dto::ListEntitiesForPolicyResponse {
        is_truncated: Some(page.is_truncated),
        marker: page.marker,
        policy_groups: Some(policy_groups),
        policy_roles: Some(policy_roles),
        policy_users: Some(policy_users),
    }))
}
