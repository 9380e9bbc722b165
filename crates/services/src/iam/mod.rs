//! AWS Identity and Access Management: roles, their inline and attached policies, customer
//! managed policies, users and their access keys, groups, permissions boundaries, tags and
//! instance profiles.
//!
//! IAM is global: every record lives in the caller's account scope with the empty region
//! ([`Ctx::global_scope`]). Names are case-insensitive in IAM (`MyRole` and `myrole` cannot both
//! exist, and either spelling finds the role), so records are keyed by the lowercased name and keep
//! the spelling they were created with. Access keys are kept in [`crate::auth::credentials_scope`]
//! instead, keyed by access key id, so that signature verification finds them in one lookup
//! whatever the account.

use crate::service::{ops, Service};
use airlock_dto::iam as dto;
use airlock_protocol::{ApiError, ApiResult};
use airlock_store::Kind;
use base64::Engine as _;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

pub mod aws_policies;
pub mod groups;
pub mod holder;
pub mod identity;
pub mod oidc;
pub mod policies;
pub mod profiles;
pub mod roles;
pub mod simulate;
pub mod users;

#[cfg(test)]
mod tests;

pub fn record_kinds() -> Vec<Kind> {
    vec![
        Kind::of::<Role>(),
        Kind::of::<ManagedPolicy>(),
        Kind::of::<User>(),
        Kind::of::<Group>(),
        Kind::of::<AccessKey>(),
        Kind::of::<InstanceProfile>(),
        Kind::of::<oidc::OidcProvider>(),
    ]
}

/// IAM's registration.
pub static SERVICE: Service = Service {
    name: "iam",
    ops: ops! {
        "CreateRole" => Output(roles::create_role),
        "GetRole" => Output(roles::get_role),
        "ListRoles" => Output(roles::list_roles),
        "DeleteRole" => Output(roles::delete_role),
        "UpdateAssumeRolePolicy" => Output(roles::update_assume_role_policy),
        "PutRolePolicy" => Output(roles::put_role_policy),
        "GetRolePolicy" => Output(roles::get_role_policy),
        "DeleteRolePolicy" => Output(roles::delete_role_policy),
        "ListRolePolicies" => Output(roles::list_role_policies),
        "AttachRolePolicy" => Output(roles::attach_role_policy),
        "DetachRolePolicy" => Output(roles::detach_role_policy),
        "ListAttachedRolePolicies" => Output(roles::list_attached_role_policies),
        "CreatePolicy" => Output(policies::create_policy),
        "GetPolicy" => Output(policies::get_policy),
        "GetPolicyVersion" => Output(policies::get_policy_version),
        "DeletePolicy" => Output(policies::delete_policy),
        "CreatePolicyVersion" => Output(policies::create_policy_version),
        "ListPolicyVersions" => Output(policies::list_policy_versions),
        "DeletePolicyVersion" => Output(policies::delete_policy_version),
        "SetDefaultPolicyVersion" => Output(policies::set_default_policy_version),
        "ListPolicies" => Output(policies::list_policies),
        "CreateUser" => Output(users::create_user),
        "GetUser" => Output(users::get_user),
        "DeleteUser" => Output(users::delete_user),
        "ListUsers" => Output(users::list_users),
        "PutUserPolicy" => Output(users::put_user_policy),
        "GetUserPolicy" => Output(users::get_user_policy),
        "DeleteUserPolicy" => Output(users::delete_user_policy),
        "ListUserPolicies" => Output(users::list_user_policies),
        "AttachUserPolicy" => Output(users::attach_user_policy),
        "DetachUserPolicy" => Output(users::detach_user_policy),
        "ListAttachedUserPolicies" => Output(users::list_attached_user_policies),
        "CreateGroup" => Output(groups::create_group),
        "GetGroup" => Output(groups::get_group),
        "ListGroups" => Output(groups::list_groups),
        "DeleteGroup" => Output(groups::delete_group),
        "AddUserToGroup" => Output(groups::add_user_to_group),
        "RemoveUserFromGroup" => Output(groups::remove_user_from_group),
        "ListGroupsForUser" => Output(groups::list_groups_for_user),
        "PutGroupPolicy" => Output(groups::put_group_policy),
        "GetGroupPolicy" => Output(groups::get_group_policy),
        "DeleteGroupPolicy" => Output(groups::delete_group_policy),
        "ListGroupPolicies" => Output(groups::list_group_policies),
        "AttachGroupPolicy" => Output(groups::attach_group_policy),
        "DetachGroupPolicy" => Output(groups::detach_group_policy),
        "ListAttachedGroupPolicies" => Output(groups::list_attached_group_policies),
        "SimulatePrincipalPolicy" => Output(simulate::simulate_principal_policy),
        "SimulateCustomPolicy" => Output(simulate::simulate_custom_policy),
        "CreateAccessKey" => Output(users::create_access_key),
        "DeleteAccessKey" => Output(users::delete_access_key),
        "ListAccessKeys" => Output(users::list_access_keys),
        "PutRolePermissionsBoundary" => Output(identity::put_role_permissions_boundary),
        "DeleteRolePermissionsBoundary" => Output(identity::delete_role_permissions_boundary),
        "PutUserPermissionsBoundary" => Output(identity::put_user_permissions_boundary),
        "DeleteUserPermissionsBoundary" => Output(identity::delete_user_permissions_boundary),
        "TagRole" => Output(identity::tag_role),
        "UntagRole" => Output(identity::untag_role),
        "ListRoleTags" => Output(identity::list_role_tags),
        "TagUser" => Output(identity::tag_user),
        "UntagUser" => Output(identity::untag_user),
        "ListUserTags" => Output(identity::list_user_tags),
        "ListEntitiesForPolicy" => Output(identity::list_entities_for_policy),
        "UpdateRole" => Output(roles::update_role),
        "UpdateRoleDescription" => Output(roles::update_role_description),
        "TagPolicy" => Output(policies::tag_policy),
        "UntagPolicy" => Output(policies::untag_policy),
        "ListPolicyTags" => Output(policies::list_policy_tags),
        "CreateInstanceProfile" => Output(profiles::create_instance_profile),
        "GetInstanceProfile" => Output(profiles::get_instance_profile),
        "DeleteInstanceProfile" => Output(profiles::delete_instance_profile),
        "ListInstanceProfiles" => Output(profiles::list_instance_profiles),
        "ListInstanceProfilesForRole" => Output(profiles::list_instance_profiles_for_role),
        "AddRoleToInstanceProfile" => Output(profiles::add_role_to_instance_profile),
        "RemoveRoleFromInstanceProfile" => Output(profiles::remove_role_from_instance_profile),
        "TagInstanceProfile" => Output(profiles::tag_instance_profile),
        "UntagInstanceProfile" => Output(profiles::untag_instance_profile),
        "ListInstanceProfileTags" => Output(profiles::list_instance_profile_tags),
        "CreateOpenIDConnectProvider" => Output(oidc::create_open_id_connect_provider),
        "GetOpenIDConnectProvider" => Output(oidc::get_open_id_connect_provider),
        "ListOpenIDConnectProviders" => Output(oidc::list_open_id_connect_providers),
        "DeleteOpenIDConnectProvider" => Output(oidc::delete_open_id_connect_provider),
        "AddClientIDToOpenIDConnectProvider" => Output(oidc::add_client_id),
        "RemoveClientIDFromOpenIDConnectProvider" => Output(oidc::remove_client_id),
        "UpdateOpenIDConnectProviderThumbprint" => Output(oidc::update_thumbprint),
        "TagOpenIDConnectProvider" => Output(oidc::tag_provider),
        "UntagOpenIDConnectProvider" => Output(oidc::untag_provider),
        "ListOpenIDConnectProviderTags" => Output(oidc::list_provider_tags),
    },
    records: record_kinds,
    iam: crate::authz::Iam {
        access,
        ..crate::authz::Iam::new("iam", "AccessDenied", 403)
    },
    ..Service::NOTHING
};

// ---------------------------------------------------------------------------------------------
// Records

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// An IAM role. Its inline policies and the ARNs of its attached managed policies live inside it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Role {
    /// The lowercased name: the record id.
    pub key: String,
    pub name: String,
    /// `AROA...`
    pub role_id: String,
    pub path: String,
    pub arn: String,
    pub create_date: String,
    /// As the client sent it (IAM returns documents verbatim, URL-encoded).
    pub assume_role_policy_document: String,
    #[serde(default)]
    pub description: Option<String>,
    pub max_session_duration: i64,
    #[serde(default)]
    pub permissions_boundary: Option<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// Inline policies: name → document.
    #[serde(default)]
    pub inline_policies: BTreeMap<String, String>,
    /// ARNs of attached managed policies, in attachment order.
    #[serde(default)]
    pub attached_policies: Vec<String>,
    /// When and in which region the role was last assumed.
    #[serde(default)]
    pub last_used: Option<RoleLastUsed>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RoleLastUsed {
    pub date: String,
    pub region: String,
}

airlock_store::record!(Role, "iam.role", key);

/// A customer managed policy.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ManagedPolicy {
    /// The lowercased name: the record id (names are unique per account, whatever the path).
    pub key: String,
    pub name: String,
    /// `ANPA...`
    pub policy_id: String,
    pub path: String,
    pub arn: String,
    #[serde(default)]
    pub description: Option<String>,
    pub create_date: String,
    pub update_date: String,
    pub default_version_id: String,
    pub versions: Vec<PolicyVersion>,
    /// The highest version number ever made (deleted version ids are not reused).
    #[serde(default)]
    pub last_version: u32,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PolicyVersion {
    pub version_id: String,
    pub document: String,
    pub create_date: String,
}

airlock_store::record!(ManagedPolicy, "iam.policy", key);

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    /// The lowercased name: the record id.
    pub key: String,
    pub name: String,
    /// `AIDA...`
    pub user_id: String,
    pub path: String,
    pub arn: String,
    pub create_date: String,
    #[serde(default)]
    pub permissions_boundary: Option<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// Inline policies: name → document.
    #[serde(default)]
    pub inline_policies: BTreeMap<String, String>,
    /// ARNs of attached managed policies, in attachment order.
    #[serde(default)]
    pub attached_policies: Vec<String>,
    /// The record ids of the groups it belongs to, in the order it joined them.
    #[serde(default)]
    pub groups: Vec<String>,
}

airlock_store::record!(User, "iam.user", key);

/// A group of users; its policies apply to every member.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Group {
    /// The lowercased name: the record id.
    pub key: String,
    pub name: String,
    /// `AGPA...`
    pub group_id: String,
    pub path: String,
    pub arn: String,
    pub create_date: String,
    /// Inline policies: name → document.
    #[serde(default)]
    pub inline_policies: BTreeMap<String, String>,
    /// ARNs of attached managed policies, in attachment order.
    #[serde(default)]
    pub attached_policies: Vec<String>,
}

airlock_store::record!(Group, "iam.group", key);

/// An instance profile: the role (at most one, by record id) an EC2 instance runs as.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InstanceProfile {
    /// The lowercased name: the record id.
    pub key: String,
    pub name: String,
    /// `AIPA...`
    pub profile_id: String,
    pub path: String,
    pub arn: String,
    pub create_date: String,
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

airlock_store::record!(InstanceProfile, "iam.instance_profile", key);

/// An access key of an IAM user (or of an account's root), kept in
/// [`crate::auth::credentials_scope`] under its id so that any request's key resolves in one lookup.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessKey {
    /// `AKIA...`
    pub access_key_id: String,
    pub secret_access_key: String,
    pub account: String,
    /// The user's name as created; `None` for a key of the account's root.
    pub user_name: Option<String>,
    pub status: String,
    pub create_date: String,
}

airlock_store::record!(AccessKey, "iam.access_key", access_key_id);

// ---------------------------------------------------------------------------------------------
// Helpers shared by the IAM operations (and STS)

/// The record id of an IAM name.
pub fn key(name: &str) -> String {
    name.to_lowercase()
}

/// `arn:<partition>:iam::<account>:<kind><path><name>`, in the partition of `region` (the
/// region the request is signed for).
pub fn arn(region: &str, account: &str, kind: &str, path: &str, name: &str) -> String {
    crate::partition::global_arn(region, "iam", account, &format!("{kind}{path}{name}"))
}

/// Python's `urllib.parse.quote(s, safe='')`: everything but `A-Za-z0-9_.-~` is percent-encoded.
const QUOTE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// IAM returns policy documents URL-encoded; botocore un-quotes them.
pub fn url_encode(document: &str) -> String {
    utf8_percent_encode(document, QUOTE).to_string()
}

pub fn no_such_entity(message: impl Into<String>) -> ApiError {
    ApiError::new("NoSuchEntity", message)
}

pub fn role_not_found(name: &str) -> ApiError {
    no_such_entity(format!("The role with name {name} cannot be found."))
}

pub fn user_not_found(name: &str) -> ApiError {
    no_such_entity(format!("The user with name {name} cannot be found."))
}

fn malformed(message: &str) -> ApiError {
    ApiError::new("MalformedPolicyDocument", message)
}

/// What a document is used for; IAM checks different things for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentUse {
    /// A role's trust policy (AssumeRolePolicyDocument).
    Trust,
    /// An identity policy (inline or managed).
    Permissions,
}

/// The checks IAM makes on a policy document that the model cannot express: it must be JSON
/// of a known version that the evaluator reads ([`crate::policy::Policy`]: statements with an
/// effect, actions, known condition operators), with no resource in a trust policy and no
/// principal in a permissions policy.
///
/// Only the checks whose messages are known are made (AWS's full grammar checks are not
/// emulated, so some documents AWS rejects are accepted here).
pub fn check_document(document: &str, usage: DocumentUse) -> ApiResult<()> {
    let Ok(doc) = serde_json::from_str::<Value>(document) else {
        return Err(malformed("This policy contains invalid Json"));
    };
    if let Some(version) = doc.get("Version") {
        if !matches!(version.as_str(), Some("2012-10-17" | "2008-10-17")) {
            return Err(malformed("The policy failed legacy parsing"));
        }
    }
    let policy = crate::policy::Policy::from_value(&doc).map_err(|m| malformed(&m.0))?;
    for statement in &policy.statements {
        match usage {
            DocumentUse::Trust => {
                if let Some(r) = &statement.resource {
                    let field = if r.negated { "NotResource" } else { "Resource" };
                    return Err(malformed(&format!("Has prohibited field {field}")));
                }
            }
            DocumentUse::Permissions => {
                if statement.principal.is_some() {
                    return Err(malformed("Policy document should not specify a principal."));
                }
            }
        }
    }
    Ok(())
}

/// The size IAM counts against its quotas: characters other than whitespace.
pub fn document_size(document: &str) -> usize {
    document.chars().filter(|c| !c.is_whitespace()).count()
}

/// A `Path` input (default `/`): it must begin and end with `/`.
pub fn path_input(path: Option<&str>) -> ApiResult<String> {
    let path = path.unwrap_or("/");
    if !path.starts_with('/') || !path.ends_with('/') || path.contains("//") {
        return Err(ApiError::new(
            "ValidationError",
            "The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters.",
        ));
    }
    Ok(path.to_owned())
}

/// The `Tags` input; IAM refuses the same key twice (keys are case-insensitive), and more than
/// 50 (`quota`: `Role`, `User`, `Policy`, as the quota `TagsPerRole` names the kind).
pub fn tags_input(input: Option<&[dto::Tag]>, quota: &str) -> ApiResult<Vec<Tag>> {
    let mut tags = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for t in input.unwrap_or_default() {
        let key = t.key.clone().unwrap_or_default();
        let value = t.value.clone().unwrap_or_default();
        if !seen.insert(key.to_lowercase()) {
            return Err(ApiError::new(
                "InvalidInput",
                "Duplicate tag keys found. Please note that Tag keys are case insensitive.",
            ));
        }
        tags.push(Tag { key, value });
    }
    if tags.len() > 50 {
        return Err(ApiError::new(
            "LimitExceeded",
            format!("Cannot exceed quota for TagsPer{quota}: 50"),
        ));
    }
    Ok(tags)
}

/// Tags as outputs show them: left out when there are none.
pub fn tags_output(tags: &[Tag]) -> Option<Vec<dto::Tag>> {
    (!tags.is_empty()).then(|| {
        tags.iter()
            .map(|t| dto::Tag {
                key: Some(t.key.clone()),
                value: Some(t.value.clone()),
            })
            .collect()
    })
}

pub fn boundary_output(arn: &str) -> dto::AttachedPermissionsBoundary {
    dto::AttachedPermissionsBoundary {
        permissions_boundary_arn: Some(arn.to_owned()),
        permissions_boundary_type: Some("PermissionsBoundaryPolicy".into()),
    }
}

/// One page of a list operation's output.
pub struct Page<T> {
    pub items: Vec<T>,
    pub is_truncated: bool,
    /// Where the next page starts (when truncated).
    pub marker: Option<String>,
}

/// One page of `items` (sorted by their key) after `marker`, at most `max_items` (default 100)
/// long.
///
/// Markers are opaque to clients: here the base64 of the first key of the next page.
pub fn paginate<T>(
    items: Vec<(String, T)>,
    max_items: Option<i64>,
    marker: Option<&str>,
) -> Page<T> {
    let max = max_items.unwrap_or(100).clamp(1, 1000) as usize;
    let start = marker
        .and_then(|m| base64::engine::general_purpose::STANDARD.decode(m).ok())
        .and_then(|b| String::from_utf8(b).ok());
    let mut rest = items
        .into_iter()
        .filter(|(k, _)| start.as_deref().is_none_or(|s| k.as_str() >= s))
        .peekable();
    let page: Vec<T> = rest.by_ref().take(max).map(|(_, v)| v).collect();
    let marker = rest
        .peek()
        .map(|(next, _)| base64::engine::general_purpose::STANDARD.encode(next));
    Page {
        items: page,
        is_truncated: marker.is_some(),
        marker,
    }
}

/// Parses an IAM ARN `arn:<partition>:iam::<account>:<kind><path><name>` into (account, path,
/// name) when `<kind>` is `kind` (`role`, `policy`, `user`).
pub fn parse_arn<'a>(arn: &'a str, kind: &str) -> Option<(&'a str, &'a str, &'a str)> {
    let rest = crate::partition::strip(arn, "iam")?.strip_prefix(':')?;
    let (account, resource) = rest.split_once(':')?;
    let path_and_name = resource.strip_prefix(kind)?;
    if !path_and_name.starts_with('/') {
        return None;
    }
    let cut = path_and_name.rfind('/')?;
    let (path, name) = path_and_name.split_at(cut + 1);
    if name.is_empty() {
        return None;
    }
    Some((account, path, name))
}

/// MWAA's service-linked role, created the first time an account makes an environment.
pub fn ensure_mwaa_service_linked_role(
    tx: &mut airlock_store::Tx<'_>,
    region: &str,
    account: &str,
) -> ApiResult<()> {
    const NAME: &str = "AWSServiceRoleForAmazonMWAA";
    const PATH: &str = "/aws-service-role/airflow.amazonaws.com/";
    let scope = airlock_store::Scope::global(account);
    if tx.get::<Role>(&scope, &key(NAME)).is_some() {
        return Ok(());
    }
    tx.put(
        &scope,
        Role {
            key: key(NAME),
            name: NAME.into(),
            role_id: crate::ids::iam_id("AROA"),
            path: PATH.into(),
            arn: arn(region, account, "role", PATH, NAME),
            create_date: crate::iso(time::OffsetDateTime::now_utc()),
            assume_role_policy_document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"airflow.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#.into(),
            description: Some("Allows Amazon MWAA to manage the resources of your environments.".into()),
            max_session_duration: 3600,
            permissions_boundary: None,
            tags: Vec::new(),
            inline_policies: Default::default(),
            attached_policies: vec![crate::partition::global_arn(region, "iam", "aws", "policy/aws-service-role/AmazonMWAAServiceRolePolicy")],
            last_used: None,
        },
    )?;
    Ok(())
}

/// The statements of a policy document (one statement object counts as a list of one; a
/// document that is not JSON has none).
pub fn statements(document: &str) -> Vec<Value> {
    match serde_json::from_str::<Value>(document)
        .ok()
        .and_then(|d| d.get("Statement").cloned())
    {
        Some(Value::Array(a)) => a,
        Some(s @ Value::Object(_)) => vec![s],
        _ => Vec::new(),
    }
}

/// A policy element that is a string or a list of strings.
pub fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// Whether a trust-policy statement is about `sts:AssumeRole` with effect `effect`.
pub fn about_assume_role(statement: &Value, effect: &str) -> bool {
    statement.get("Effect").and_then(Value::as_str) == Some(effect)
        && strings(statement.get("Action"))
            .iter()
            .any(|a| a == "sts:AssumeRole" || a == "sts:*" || a == "*")
}

/// What an IAM operation needs: its action on the role, user or policy it names (the caller's
/// own user when a user operation names none), else on `*`.
fn access(c: &crate::authz::Call<'_>) -> Vec<crate::authz::Access> {
    let (region, account) = (c.ctx.region.as_str(), c.ctx.account());
    let scope = airlock_store::Scope::global(account);
    let path = c.str("Path").unwrap_or("/");
    // A role's or user's tags are its `aws:ResourceTag/…` and `iam:ResourceTag/…`.
    let mut tags = Vec::new();
    let mut tagged = |t: &[Tag]| {
        if c.wants_tags() {
            tags = t.iter().map(|t| (t.key.clone(), t.value.clone())).collect();
        }
    };
    let resource = if let Some(name) = c.str("InstanceProfileName") {
        c.ctx
            .store
            .read(|v| {
                v.get::<InstanceProfile>(&scope, &key(name))
                    .map(|p| p.arn.clone())
            })
            .unwrap_or_else(|| arn(region, account, "instance-profile", path, name))
    } else if let Some(name) = c.str("RoleName") {
        let role = c.ctx.store.read(|v| v.get::<Role>(&scope, &key(name)));
        match role {
            Some(r) => {
                tagged(&r.tags);
                r.arn.clone()
            }
            None => arn(region, account, "role", path, name),
        }
    } else if let Some(name) = c.str("GroupName") {
        c.ctx
            .store
            .read(|v| v.get::<Group>(&scope, &key(name)).map(|g| g.arn.clone()))
            .unwrap_or_else(|| arn(region, account, "group", path, name))
    } else if let Some(name) = c.str("UserName") {
        let user = c.ctx.store.read(|v| v.get::<User>(&scope, &key(name)));
        match user {
            Some(u) => {
                tagged(&u.tags);
                u.arn.clone()
            }
            None => arn(region, account, "user", path, name),
        }
    } else if let Some(arn) = c.str("OpenIDConnectProviderArn") {
        arn.to_owned()
    } else if let Some(url) = c.str("Url").and_then(oidc::provider_url) {
        oidc::arn(region, account, &url)
    } else if let Some(arn) = c.str("PolicyArn").or(c.str("PolicySourceArn")) {
        arn.to_owned()
    } else if let Some(name) = c.str("PolicyName").filter(|_| c.op == "CreatePolicy") {
        arn(region, account, "policy", path, name)
    } else if matches!(
        c.op,
        "GetUser" | "CreateAccessKey" | "DeleteAccessKey" | "ListAccessKeys"
    ) && c.ctx.principal.arn.contains(":user/")
    {
        c.ctx.principal.arn.clone()
    } else {
        "*".to_owned()
    };
    vec![crate::authz::Access::new(c.action(), resource).with_tags(Some("iam"), tags)]
}
