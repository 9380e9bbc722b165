//! IAM roles, users, access keys, policies and instance profiles.

use super::*;

pub(super) static TYPES: &[Type] = &[
    Type {
        name: "AWS::IAM::Role",
        create: |ctx, p| {
            let name = p.str("RoleName").unwrap_or_else(|| p.generated(64));
            p.need("AssumeRolePolicyDocument")?;
            iam(
                ctx,
                "CreateRole",
                json!({"RoleName": name, "Path": p.str("Path"),
                       "AssumeRolePolicyDocument": document(p.get("AssumeRolePolicyDocument")),
                       "Description": p.str("Description"),
                       "MaxSessionDuration": p.str("MaxSessionDuration"),
                       "PermissionsBoundary": p.str("PermissionsBoundary"),
                       "Tags": nonempty(p.tag_list())}),
            )?;
            attach_managed(ctx, p, "Role", &name)?;
            inline_policies(ctx, p, "Role", &name)?;
            Ok(name)
        },
        ready: at_once,
        made: |ctx, name, _| {
            let out = iam(ctx, "GetRole", json!({"RoleName": name}))?;
            made(
                name,
                vec![
                    ("Arn", ptr(&out, "/Role/Arn").clone()),
                    ("RoleId", ptr(&out, "/Role/RoleId").clone()),
                ],
            )
        },
        delete: |ctx, name, _| {
            empty_holder(ctx, "Role", name)?;
            delete_by(ctx, "iam", "DeleteRole", "RoleName", name)
        },
        gone: at_once,
        mutable: &[
            "Policies",
            "ManagedPolicyArns",
            "AssumeRolePolicyDocument",
            "Description",
            "MaxSessionDuration",
        ],
        update: Some(update_role),
        name_prop: Some("RoleName"),
    },
    Type {
        name: "AWS::IAM::User",
        create: |ctx, p| {
            let name = p.str("UserName").unwrap_or_else(|| p.generated(64));
            iam(
                ctx,
                "CreateUser",
                json!({"UserName": name, "Path": p.str("Path"),
                       "PermissionsBoundary": p.str("PermissionsBoundary"),
                       "Tags": nonempty(p.tag_list())}),
            )?;
            attach_managed(ctx, p, "User", &name)?;
            for g in p.strs("Groups") {
                iam(
                    ctx,
                    "AddUserToGroup",
                    json!({"UserName": name, "GroupName": g}),
                )?;
            }
            inline_policies(ctx, p, "User", &name)?;
            Ok(name)
        },
        made: |ctx, name, _| {
            let out = iam(ctx, "GetUser", json!({"UserName": name}))?;
            made(name, vec![("Arn", ptr(&out, "/User/Arn").clone())])
        },
        delete: |ctx, name, p| {
            for g in p.strs("Groups") {
                ok_if_gone(iam(
                    ctx,
                    "RemoveUserFromGroup",
                    json!({"UserName": name, "GroupName": g}),
                ))?;
            }
            empty_holder(ctx, "User", name)?;
            delete_by(ctx, "iam", "DeleteUser", "UserName", name)
        },
        mutable: &[],
        name_prop: Some("UserName"),
        ..FIXED
    },
    Type {
        name: "AWS::IAM::AccessKey",
        create: |ctx, p| {
            let out = iam(
                ctx,
                "CreateAccessKey",
                json!({"UserName": p.req("UserName")?}),
            )?;
            let id = id_at(&out, "/AccessKey/AccessKeyId")?;
            // The secret is shown once, as AWS shows it: kept for `Fn::GetAtt` only.
            SECRETS
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(id.clone(), ptr(&out, "/AccessKey/SecretAccessKey").clone());
            Ok(id)
        },
        made: |_, id, _| {
            let secret = SECRETS
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(id)
                .unwrap_or(Value::Null);
            made(id, vec![("SecretAccessKey", secret)])
        },
        delete: |ctx, id, p| {
            ok_if_gone(iam(
                ctx,
                "DeleteAccessKey",
                json!({"UserName": p.str("UserName"), "AccessKeyId": id}),
            ))
        },
        ..FIXED
    },
    Type {
        name: "AWS::IAM::Policy",
        create: |ctx, p| {
            let name = p.req("PolicyName")?;
            let doc = document(p.get("PolicyDocument"));
            each_holder(p, |kind, key, holder| {
                put_policy(ctx, (kind, key, &holder), Some(&name), &doc)
            })?;
            Ok(format!(
                "{}-{}",
                p.stack.chars().take(5).collect::<String>(),
                random_suffix()
            ))
        },
        delete: |ctx, _, p| {
            let name = p.str("PolicyName");
            each_holder(p, |kind, key, holder| {
                let op = format!("Delete{kind}Policy");
                ok_if_gone(iam(ctx, &op, json!({key: holder, "PolicyName": name})))
            })
        },
        mutable: &["PolicyDocument", "Roles", "Users", "Groups"],
        update: Some(update_policy),
        ..FIXED
    },
    Type {
        name: "AWS::IAM::ManagedPolicy",
        create: |ctx, p| {
            let name = p
                .str("ManagedPolicyName")
                .unwrap_or_else(|| p.generated(128));
            let out = iam(
                ctx,
                "CreatePolicy",
                json!({"PolicyName": name, "Path": p.str("Path"),
                       "Description": p.str("Description"),
                       "PolicyDocument": document(p.get("PolicyDocument"))}),
            )?;
            let arn = id_at(&out, "/Policy/Arn")?;
            each_holder(p, |kind, key, holder| {
                let op = format!("Attach{kind}Policy");
                iam(ctx, &op, json!({key: holder, "PolicyArn": arn})).map(drop)
            })?;
            Ok(arn)
        },
        ready: at_once,
        made: |ctx, arn, _| {
            let out = iam(ctx, "GetPolicy", json!({"PolicyArn": arn}))?;
            made(
                arn,
                vec![
                    ("PolicyArn", json!(arn)),
                    ("PolicyId", ptr(&out, "/Policy/PolicyId").clone()),
                    (
                        "DefaultVersionId",
                        ptr(&out, "/Policy/DefaultVersionId").clone(),
                    ),
                    (
                        "AttachmentCount",
                        ptr(&out, "/Policy/AttachmentCount").clone(),
                    ),
                    ("IsAttachable", ptr(&out, "/Policy/IsAttachable").clone()),
                ],
            )
        },
        delete: |ctx, arn, p| {
            each_holder(p, |kind, key, holder| {
                let op = format!("Detach{kind}Policy");
                ok_if_gone(iam(ctx, &op, json!({key: holder, "PolicyArn": arn})))
            })?;
            delete_by(ctx, "iam", "DeletePolicy", "PolicyArn", arn)
        },
        gone: at_once,
        mutable: &["PolicyDocument", "Roles", "Users", "Groups"],
        update: Some(update_managed_policy),
        name_prop: Some("ManagedPolicyName"),
    },
    Type {
        name: "AWS::IAM::InstanceProfile",
        create: |ctx, p| {
            let name = p
                .str("InstanceProfileName")
                .unwrap_or_else(|| p.generated(128));
            iam(
                ctx,
                "CreateInstanceProfile",
                json!({"InstanceProfileName": name, "Path": p.str("Path")}),
            )?;
            for role in p.strs("Roles") {
                iam(
                    ctx,
                    "AddRoleToInstanceProfile",
                    json!({"InstanceProfileName": name, "RoleName": role}),
                )?;
            }
            Ok(name)
        },
        ready: at_once,
        made: |ctx, name, _| {
            let out = iam(
                ctx,
                "GetInstanceProfile",
                json!({"InstanceProfileName": name}),
            )?;
            made(
                name,
                vec![("Arn", ptr(&out, "/InstanceProfile/Arn").clone())],
            )
        },
        delete: |ctx, name, p| {
            for role in p.strs("Roles") {
                ok_if_gone(iam(
                    ctx,
                    "RemoveRoleFromInstanceProfile",
                    json!({"InstanceProfileName": name, "RoleName": role}),
                ))?;
            }
            ok_if_gone(iam(
                ctx,
                "DeleteInstanceProfile",
                json!({"InstanceProfileName": name}),
            ))
        },
        gone: at_once,
        mutable: &["Roles"],
        update: Some(update_profile),
        name_prop: Some("InstanceProfileName"),
    },
    Type {
        name: "AWS::IAM::OIDCProvider",
        create: |ctx, p| {
            let out = iam(
                ctx,
                "CreateOpenIDConnectProvider",
                json!({"Url": p.req("Url")?, "ClientIDList": p.strs("ClientIdList"),
                       "ThumbprintList": p.strs("ThumbprintList"), "Tags": nonempty(p.tag_list())}),
            )?;
            id_at(&out, "/OpenIDConnectProviderArn")
        },
        made: |_, arn, _| made(arn, vec![("Arn", json!(arn))]),
        delete: |ctx, arn, _| {
            delete_by(
                ctx,
                "iam",
                "DeleteOpenIDConnectProvider",
                "OpenIDConnectProviderArn",
                arn,
            )
        },
        mutable: &["ClientIdList", "ThumbprintList", "Tags"],
        update: Some(update_oidc_provider),
        ..FIXED
    },
];

/// A provider's client ids added and removed, its thumbprints replaced, its tags brought over.
fn update_oidc_provider(
    ctx: &Ctx<'_>,
    arn: &str,
    change: &Change<'_>,
) -> ApiResult<Option<String>> {
    let Change { old, new } = *change;
    relist(
        ctx,
        (change, "ClientIdList"),
        (
            "RemoveClientIDFromOpenIDConnectProvider",
            "AddClientIDToOpenIDConnectProvider",
        ),
        |id| json!({"OpenIDConnectProviderArn": arn, "ClientID": id}),
    )?;
    if change.changed("ThumbprintList") {
        iam(
            ctx,
            "UpdateOpenIDConnectProviderThumbprint",
            json!({"OpenIDConnectProviderArn": arn, "ThumbprintList": new.strs("ThumbprintList")}),
        )?;
    }
    if change.changed("Tags") {
        let keys: Vec<Value> = old.tag_list().iter().map(|t| t["Key"].clone()).collect();
        if !keys.is_empty() {
            iam(
                ctx,
                "UntagOpenIDConnectProvider",
                json!({"OpenIDConnectProviderArn": arn, "TagKeys": keys}),
            )?;
        }
        let tags = new.tag_list();
        if !tags.is_empty() {
            iam(
                ctx,
                "TagOpenIDConnectProvider",
                json!({"OpenIDConnectProviderArn": arn, "Tags": tags}),
            )?;
        }
    }
    Ok(None)
}

fn update_role(ctx: &Ctx<'_>, name: &str, change: &Change<'_>) -> ApiResult<Option<String>> {
    let Change { old, new } = *change;
    if change.changed("AssumeRolePolicyDocument") {
        iam(
            ctx,
            "UpdateAssumeRolePolicy",
            json!({"RoleName": name, "PolicyDocument": document(new.get("AssumeRolePolicyDocument"))}),
        )?;
    }
    if change.changed("Description") || change.changed("MaxSessionDuration") {
        iam(
            ctx,
            "UpdateRole",
            json!({"RoleName": name, "Description": new.str("Description").unwrap_or_default(),
                   "MaxSessionDuration": new.str("MaxSessionDuration").unwrap_or_else(|| "3600".into())}),
        )?;
    }
    relist(
        ctx,
        (change, "ManagedPolicyArns"),
        ("DetachRolePolicy", "AttachRolePolicy"),
        |arn| json!({"RoleName": name, "PolicyArn": arn}),
    )?;
    if change.changed("Policies") {
        let names = |p: &Props<'_>| -> Vec<String> {
            match p.get("Policies") {
                Some(Value::Array(a)) => a
                    .iter()
                    .filter_map(|x| x.get("PolicyName").and_then(scalar))
                    .collect(),
                _ => Vec::new(),
            }
        };
        let keep = names(new);
        for n in names(old).into_iter().filter(|n| !keep.contains(n)) {
            ok_if_gone(iam(
                ctx,
                "DeleteRolePolicy",
                json!({"RoleName": name, "PolicyName": n}),
            ))?;
        }
        inline_policies(ctx, new, "Role", name)?;
    }
    Ok(None)
}

const HOLDERS: [(&str, &str, &str); 3] = [
    ("Role", "RoleName", "Roles"),
    ("User", "UserName", "Users"),
    ("Group", "GroupName", "Groups"),
];

fn update_policy(ctx: &Ctx<'_>, _: &str, change: &Change<'_>) -> ApiResult<Option<String>> {
    let new = change.new;
    let name = new.str("PolicyName");
    let doc = document(new.get("PolicyDocument"));
    for (kind, key, list) in HOLDERS {
        let (_, removed) = change.diff(list);
        for holder in removed {
            ok_if_gone(iam(
                ctx,
                &format!("Delete{kind}Policy"),
                json!({key: holder, "PolicyName": name}),
            ))?;
        }
        for holder in new.strs(list) {
            put_policy(ctx, (kind, key, &holder), name.as_deref(), &doc)?;
        }
    }
    Ok(None)
}

fn update_managed_policy(
    ctx: &Ctx<'_>,
    arn: &str,
    change: &Change<'_>,
) -> ApiResult<Option<String>> {
    let new = change.new;
    if change.changed("PolicyDocument") {
        let versions = iam(ctx, "ListPolicyVersions", json!({"PolicyArn": arn}))?;
        let list = ptr(&versions, "/Versions")
            .as_array()
            .cloned()
            .unwrap_or_default();
        if list.len() >= 5 {
            if let Some(oldest) = list
                .iter()
                .filter(|v| ptr(v, "/IsDefaultVersion").as_bool() != Some(true))
                .min_by_key(|v| {
                    ptr(v, "/CreateDate")
                        .as_str()
                        .unwrap_or_default()
                        .to_string()
                })
            {
                iam(
                    ctx,
                    "DeletePolicyVersion",
                    json!({"PolicyArn": arn, "VersionId": ptr(oldest, "/VersionId")}),
                )?;
            }
        }
        iam(
            ctx,
            "CreatePolicyVersion",
            json!({"PolicyArn": arn, "PolicyDocument": document(new.get("PolicyDocument")), "SetAsDefault": true}),
        )?;
    }
    for (kind, key, list) in HOLDERS {
        relist(
            ctx,
            (change, list),
            (
                &format!("Detach{kind}Policy"),
                &format!("Attach{kind}Policy"),
            ),
            |holder| json!({key: holder, "PolicyArn": arn}),
        )?;
    }
    Ok(None)
}

fn update_profile(ctx: &Ctx<'_>, name: &str, change: &Change<'_>) -> ApiResult<Option<String>> {
    relist(
        ctx,
        (change, "Roles"),
        ("RemoveRoleFromInstanceProfile", "AddRoleToInstanceProfile"),
        |role| json!({"InstanceProfileName": name, "RoleName": role}),
    )?;
    Ok(None)
}

/// Keeps the secret of a new access key between its creation and the read of its attributes
/// (both in the same engine step), never in the store.
static SECRETS: std::sync::Mutex<std::collections::BTreeMap<String, Value>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

/// Calls `f(kind, key, holder)` for each role, user and group a policy's `Roles`, `Users` and
/// `Groups` name (`("Role", "RoleName", "my-role")`).
fn each_holder(
    p: &Props<'_>,
    mut f: impl FnMut(&str, &str, String) -> ApiResult<()>,
) -> ApiResult<()> {
    for (kind, key, list) in HOLDERS {
        for holder in p.strs(list) {
            f(kind, key, holder)?;
        }
    }
    Ok(())
}

/// Puts inline policy `name` on a `(kind, key, holder)` of [`each_holder`].
fn put_policy(
    ctx: &Ctx<'_>,
    (kind, key, holder): (&str, &str, &str),
    name: Option<&str>,
    doc: &Value,
) -> ApiResult<()> {
    let op = format!("Put{kind}Policy");
    iam(
        ctx,
        &op,
        json!({key: holder, "PolicyName": name, "PolicyDocument": doc}),
    )
    .map(drop)
}

/// A new role's or user's (`kind`) `ManagedPolicyArns` attached.
fn attach_managed(ctx: &Ctx<'_>, p: &Props<'_>, kind: &str, name: &str) -> ApiResult<()> {
    let (op, key) = (format!("Attach{kind}Policy"), format!("{kind}Name"));
    for arn in p.strs("ManagedPolicyArns") {
        iam(ctx, &op, json!({&key: name, "PolicyArn": arn}))?;
    }
    Ok(())
}

/// `Policies: [{PolicyName, PolicyDocument}]` of a role or user (`kind`).
fn inline_policies(ctx: &Ctx<'_>, p: &Props<'_>, kind: &str, name: &str) -> ApiResult<()> {
    if let Some(Value::Array(policies)) = p.get("Policies") {
        for pol in policies {
            let policy = pol.get("PolicyName").and_then(scalar);
            let doc = document(pol.get("PolicyDocument"));
            let holder = (kind, &*format!("{kind}Name"), name);
            put_policy(ctx, holder, policy.as_deref(), &doc)?;
        }
    }
    Ok(())
}

/// Detaches and deletes a role's or user's policies, as CloudFormation does before deleting it.
fn empty_holder(ctx: &Ctx<'_>, kind: &str, name: &str) -> ApiResult<()> {
    let key = format!("{kind}Name");
    let attached = match iam(
        ctx,
        &format!("ListAttached{kind}Policies"),
        json!({&key: name}),
    ) {
        Ok(v) => v,
        Err(e) if is_not_found(&e) => return Ok(()),
        Err(e) => return Err(e),
    };
    for p in ptr(&attached, "/AttachedPolicies")
        .as_array()
        .into_iter()
        .flatten()
    {
        iam(
            ctx,
            &format!("Detach{kind}Policy"),
            json!({&key: name, "PolicyArn": p.get("PolicyArn")}),
        )?;
    }
    let inline = iam(ctx, &format!("List{kind}Policies"), json!({&key: name}))?;
    for p in ptr(&inline, "/PolicyNames")
        .as_array()
        .into_iter()
        .flatten()
    {
        iam(
            ctx,
            &format!("Delete{kind}Policy"),
            json!({&key: name, "PolicyName": p}),
        )?;
    }
    if kind == "Role" {
        let profiles = iam(
            ctx,
            "ListInstanceProfilesForRole",
            json!({"RoleName": name}),
        )?;
        for p in ptr(&profiles, "/InstanceProfiles")
            .as_array()
            .into_iter()
            .flatten()
        {
            iam(
                ctx,
                "RemoveRoleFromInstanceProfile",
                json!({"RoleName": name, "InstanceProfileName": p.get("InstanceProfileName")}),
            )?;
        }
    }
    Ok(())
}

/// Brings list property `prop` from the old value to the new: `remove` for each value that
/// went (one already gone is fine), then `add` for each that came; `input` is either call's
/// input for a value.
fn relist(
    ctx: &Ctx<'_>,
    (change, prop): (&Change<'_>, &str),
    (remove, add): (&str, &str),
    input: impl Fn(&str) -> Value,
) -> ApiResult<()> {
    let (added, removed) = change.diff(prop);
    for v in removed {
        ok_if_gone(iam(ctx, remove, input(&v)))?;
    }
    for v in added {
        iam(ctx, add, input(&v))?;
    }
    Ok(())
}
