//! Users and access keys.

use super::holder;
use super::policies::{check_arn, lookup};
use super::{
    arn, boundary_output, key, paginate, path_input, tags_input, tags_output, user_not_found,
    AccessKey, ManagedPolicy, User,
};
use crate::auth::credentials_scope;
use crate::input::typed;
use crate::Ctx;
use airlock_dto::iam as dto;
use airlock_protocol::{ApiError, ApiResult, Output};
use airlock_store::Tx;
use serde_json::Value;
use std::sync::Arc;

/// Access keys one user (or the root) may have.
const ACCESS_KEYS_QUOTA: usize = 2;

/// When the emulated accounts' root identities were created (GetUser of the root reports it).
const ROOT_CREATE_DATE: &str = "2024-01-01T00:00:00.000Z";

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum UserView {
    Full,
    /// ListUsers leaves out PermissionsBoundary and Tags.
    List,
}

pub(super) fn user_output(u: &User, view: UserView) -> dto::User {
    let full = view == UserView::Full;
    dto::User {
        arn: Some(u.arn.clone()),
        create_date: Some(u.create_date.clone()),
        path: Some(u.path.clone()),
        permissions_boundary: u
            .permissions_boundary
            .as_deref()
            .filter(|_| full)
            .map(boundary_output),
        tags: tags_output(&u.tags).filter(|_| full),
        user_id: Some(u.user_id.clone()),
        user_name: Some(u.name.clone()),
        ..dto::User::default()
    }
}

/// Who a request acts as, for IAM operations whose `UserName` defaults to the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    Root,
    /// An IAM user, by name.
    User(String),
    /// Assumed-role (or other non-user) credentials.
    Other,
}

pub fn caller(ctx: &Ctx<'_>) -> Caller {
    let arn = &ctx.principal.arn;
    if arn.ends_with(":root") {
        Caller::Root
    } else if let Some((_, _, name)) = super::parse_arn(arn, "user") {
        Caller::User(name.to_owned())
    } else {
        Caller::Other
    }
}

/// The user an operation acts on: `user_name` if given (it must exist), else the caller
/// (`None`: the account's root).
fn target_user(ctx: &Ctx<'_>, user_name: Option<&str>) -> ApiResult<Option<Arc<User>>> {
    let scope = ctx.global_scope();
    let name = match (user_name, caller(ctx)) {
        (Some(n), _) => n.to_owned(),
        (None, Caller::User(n)) => n,
        (None, Caller::Root) => return Ok(None),
        (None, Caller::Other) => {
            return Err(ApiError::new(
                "ValidationError",
                "Must specify userName when calling with non-User credentials",
            ))
        }
    };
    ctx.store
        .read(|v| v.get::<User>(&scope, &key(&name)))
        .map(Some)
        .ok_or_else(|| user_not_found(&name))
}

/// The access keys of `user` (`None`: the root) in `account`, ordered by id.
fn keys_of(tx_keys: Vec<Arc<AccessKey>>, account: &str, user: Option<&str>) -> Vec<Arc<AccessKey>> {
    tx_keys
        .into_iter()
        .filter(|k| {
            k.account == account
                && match (user, &k.user_name) {
                    (None, None) => true,
                    (Some(u), Some(n)) => key(u) == key(n),
                    _ => false,
                }
        })
        .collect()
}

pub fn create_user(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::CreateUserRequest = typed(input)?;
    let name = input.user_name.as_str();
    let path = path_input(input.path.as_deref())?;
    let tags = tags_input(input.tags.as_deref(), "User")?;
    let boundary = input.permissions_boundary.clone();
    let scope = ctx.global_scope();
    let user = ctx.store.write(|tx| {
        if tx.get::<User>(&scope, &key(name)).is_some() {
            return Err(ApiError::new(
                "EntityAlreadyExists",
                format!("User with name {name} already exists."),
            ));
        }
        if let Some(b) = &boundary {
            check_arn(b)?;
            if lookup(ctx.account(), b, |k| tx.get::<ManagedPolicy>(&scope, k)).is_none() {
                return Err(super::no_such_entity(format!(
                    "Scope ARN: {b} does not exist or is not attachable."
                )));
            }
        }
        let user = User {
            key: key(name),
            name: name.to_owned(),
            user_id: crate::ids::iam_id("AIDA"),
            arn: arn(&ctx.region, ctx.account(), "user", &path, name),
            path: path.clone(),
            create_date: crate::iso(ctx.clock.now()),
            permissions_boundary: boundary.clone(),
            tags,
            inline_policies: Default::default(),
            attached_policies: Vec::new(),
            groups: Vec::new(),
        };
        tx.put(&scope, user.clone())?;
        Ok(user)
    })?;
    Ok(Output::new(dto::CreateUserResponse {
        user: Some(user_output(&user, UserView::Full)),
    }))
}

pub fn get_user(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::GetUserRequest = typed(input)?;
    let user = match target_user(ctx, input.user_name.as_deref())? {
        Some(user) => user_output(&user, UserView::Full),
        // AWS answers the root identity without a UserName or Path.
        None => dto::User {
            arn: Some(crate::partition::global_arn(
                &ctx.region,
                "iam",
                ctx.account(),
                "root",
            )),
            create_date: Some(ROOT_CREATE_DATE.into()),
            user_id: Some(ctx.account().to_owned()),
            ..dto::User::default()
        },
    };
    Ok(Output::new(dto::GetUserResponse { user: Some(user) }))
}

pub fn delete_user(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::DeleteUserRequest = typed(input)?;
    let name = input.user_name.as_str();
    let scope = ctx.global_scope();
    ctx.store.write(|tx| {
        let user = tx
            .get::<User>(&scope, &key(name))
            .ok_or_else(|| user_not_found(name))?;
        let keys = keys_of(
            tx.list::<AccessKey>(&credentials_scope()),
            ctx.account(),
            Some(name),
        );
        if !keys.is_empty() {
            return Err(ApiError::new(
                "DeleteConflict",
                "Cannot delete entity, must delete access keys first.",
            ));
        }
        if !user.groups.is_empty() {
            return Err(ApiError::new(
                "DeleteConflict",
                "Cannot delete entity, must remove users from group first.",
            ));
        }
        holder::check_no_policies(&*user)?;
        tx.delete::<User>(&scope, &user.key);
        Ok(())
    })?;
    Ok(Output::new(()))
}

pub fn list_users(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::ListUsersRequest = typed(input)?;
    let asked = (input.max_items, input.marker.as_deref());
    let page = holder::list(ctx, input.path_prefix.as_deref(), asked, |u: &User| {
        user_output(u, UserView::List)
    });
    Ok(Output::new(dto::ListUsersResponse {
        is_truncated: Some(page.is_truncated),
        marker: page.marker,
        users: Some(page.items),
    }))
}

/// A new access key id of `account`, unused so far.
fn new_key_id(tx: &Tx<'_>, account: &str) -> String {
    loop {
        let id = crate::ids::access_key_id("AKIA", account);
        if tx.get::<AccessKey>(&credentials_scope(), &id).is_none() {
            return id;
        }
    }
}

pub fn create_access_key(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::CreateAccessKeyRequest = typed(input)?;
    let user = target_user(ctx, input.user_name.as_deref())?;
    let user_name = user.as_ref().map(|u| u.name.clone());
    let key_scope = credentials_scope();
    let created = ctx.store.write(|tx| {
        // Re-read inside the transaction: the user may have gone meanwhile.
        if let Some(u) = &user {
            if tx.get::<User>(&ctx.global_scope(), &u.key).is_none() {
                return Err(user_not_found(&u.name));
            }
        }
        let existing = keys_of(
            tx.list::<AccessKey>(&key_scope),
            ctx.account(),
            user_name.as_deref(),
        );
        if existing.len() >= ACCESS_KEYS_QUOTA {
            return Err(ApiError::new(
                "LimitExceeded",
                format!("Cannot exceed quota for AccessKeysPerUser: {ACCESS_KEYS_QUOTA}"),
            ));
        }
        let key = AccessKey {
            access_key_id: new_key_id(tx, ctx.account()),
            secret_access_key: crate::ids::secret_key(),
            account: ctx.account().to_owned(),
            user_name: user_name.clone(),
            status: "Active".into(),
            create_date: crate::iso(ctx.clock.now()),
        };
        tx.put(&key_scope, key.clone())?;
        Ok(key)
    })?;
    Ok(Output::new(dto::CreateAccessKeyResponse {
        access_key: Some(dto::AccessKey {
            access_key_id: Some(created.access_key_id),
            create_date: Some(created.create_date),
            secret_access_key: Some(created.secret_access_key),
            status: Some(created.status),
            // A key of the root has no user.
            user_name: created.user_name,
        }),
    }))
}

pub fn delete_access_key(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::DeleteAccessKeyRequest = typed(input)?;
    let id = input.access_key_id.as_str();
    let user = target_user(ctx, input.user_name.as_deref())?;
    let user_name = user.as_ref().map(|u| u.name.as_str());
    let key_scope = credentials_scope();
    ctx.store.write(|tx| {
        let found = tx
            .get::<AccessKey>(&key_scope, id)
            .filter(|k| !keys_of(vec![Arc::clone(k)], ctx.account(), user_name).is_empty());
        if found.is_none() {
            return Err(super::no_such_entity(format!(
                "The Access Key with id {id} cannot be found."
            )));
        }
        tx.delete::<AccessKey>(&key_scope, id);
        Ok(())
    })?;
    Ok(Output::new(()))
}

pub fn list_access_keys(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::ListAccessKeysRequest = typed(input)?;
    let user = target_user(ctx, input.user_name.as_deref())?;
    let user_name = user.as_ref().map(|u| u.name.as_str());
    let keys = ctx
        .store
        .read(|v| v.list::<AccessKey>(&credentials_scope()));
    let items = keys_of(keys, ctx.account(), user_name)
        .iter()
        .map(|k| {
            let metadata = dto::AccessKeyMetadata {
                access_key_id: Some(k.access_key_id.clone()),
                create_date: Some(k.create_date.clone()),
                status: Some(k.status.clone()),
                user_name: user.as_ref().map(|u| u.name.clone()),
            };
            (k.access_key_id.clone(), metadata)
        })
        .collect();
    let page = paginate(items, input.max_items, input.marker.as_deref());
    Ok(Output::new(dto::ListAccessKeysResponse {
        access_key_metadata: Some(page.items),
        is_truncated: Some(page.is_truncated),
        marker: page.marker,
    }))
}

holder::policy_operations!(
    User,
    user_name,
    put_user_policy(PutUserPolicyRequest),
    get_user_policy(GetUserPolicyRequest) -> GetUserPolicyResponse,
    delete_user_policy(DeleteUserPolicyRequest),
    list_user_policies(ListUserPoliciesRequest) -> ListUserPoliciesResponse,
    attach_user_policy(AttachUserPolicyRequest),
    detach_user_policy(DetachUserPolicyRequest),
    list_attached_user_policies(ListAttachedUserPoliciesRequest) -> ListAttachedUserPoliciesResponse,
);
