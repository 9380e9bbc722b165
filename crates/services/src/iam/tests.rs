use super::*;
use crate::auth::test_support::*;
use crate::{Config, Ctx};
use serde_json::json;

fn ok(ctx: &Ctx<'_>, op: &str, input: Value) -> Value {
    match SERVICE.call_value(ctx, op, &input) {
        Some(Ok(v)) => v,
        Some(Err(e)) => panic!("{op} failed: {e}"),
        None => panic!("{op} is not implemented"),
    }
}

fn err(ctx: &Ctx<'_>, op: &str, input: Value) -> ApiError {
    match SERVICE.call_value(ctx, op, &input) {
        Some(Err(e)) => e,
        other => panic!("{op} should have failed: {other:?}"),
    }
}

fn create_role(ctx: &Ctx<'_>, name: &str) -> Value {
    ok(
        ctx,
        "CreateRole",
        json!({"RoleName": name, "AssumeRolePolicyDocument": TRUST}),
    )
}

const POLICY: &str = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]}"#;

#[test]
fn url_encoding_matches_python_quote() {
    assert_eq!(
        url_encode(r#"{"a": "b/c~d_e.f-g"}"#),
        "%7B%22a%22%3A%20%22b%2Fc~d_e.f-g%22%7D"
    );
    assert_eq!(url_encode("é"), "%C3%A9");
}

#[test]
fn role_round_trip() {
    let store = store();
    let config = Config::default();
    let ctx = ctx_as(&store, &config, root_principal("123456789012"));
    let out = ok(
        &ctx,
        "CreateRole",
        json!({
            "RoleName": "MwaaExec",
            "Path": "/service-role/",
            "AssumeRolePolicyDocument": TRUST,
            "Description": "exec role",
            "Tags": [{"Key": "team", "Value": "data"}],
        }),
    );
    let role = &out["Role"];
    assert_eq!(role["Path"], json!("/service-role/"));
    assert_eq!(role["RoleName"], json!("MwaaExec"));
    assert_eq!(
        role["Arn"],
        json!("arn:aws:iam::123456789012:role/service-role/MwaaExec")
    );
    let id = role["RoleId"].as_str().unwrap();
    assert!(id.starts_with("AROA") && id.len() == 20);
    assert_eq!(role["CreateDate"], json!("2024-05-01T10:00:00.123Z"));
    assert_eq!(role["AssumeRolePolicyDocument"], json!(url_encode(TRUST)));
    assert!(role["AssumeRolePolicyDocument"]
        .as_str()
        .unwrap()
        .starts_with("%7B%22Version%22%3A%222012-10-17%22"));
    assert_eq!(role["Description"], json!("exec role"));
    assert_eq!(role["MaxSessionDuration"], json!(3600));
    assert_eq!(role["Tags"], json!([{"Key": "team", "Value": "data"}]));
    assert!(role.get("RoleLastUsed").is_none());

    // Names are case-insensitive.
    let got = ok(&ctx, "GetRole", json!({"RoleName": "mwaaexec"}));
    assert_eq!(got["Role"]["RoleName"], json!("MwaaExec"));
    assert_eq!(got["Role"]["RoleId"], json!(id));
    assert_eq!(got["Role"]["RoleLastUsed"], json!({}));
    let e = err(
        &ctx,
        "CreateRole",
        json!({"RoleName": "MWAAEXEC", "AssumeRolePolicyDocument": TRUST}),
    );
    assert_eq!(e.code, "EntityAlreadyExists");
    assert_eq!(e.message, "Role with name MWAAEXEC already exists.");

    // Another account does not see it.
    let other = ctx_as(&store, &config, root_principal("000000000000"));
    let e = err(&other, "GetRole", json!({"RoleName": "MwaaExec"}));
    assert_eq!(e.code, "NoSuchEntity");
    assert_eq!(e.message, "The role with name MwaaExec cannot be found.");

    let listed = ok(&ctx, "ListRoles", json!({}));
    assert_eq!(listed["IsTruncated"], json!(false));
    assert!(listed.get("Marker").is_none());
    let roles = listed["Roles"].as_array().unwrap();
    assert_eq!(roles.len(), 1);
    assert!(roles[0].get("Tags").is_none());
    assert_eq!(roles[0]["Description"], json!("exec role"));
    assert_eq!(
        ok(&ctx, "ListRoles", json!({"PathPrefix": "/service-role/"}))["Roles"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        ok(&ctx, "ListRoles", json!({"PathPrefix": "/other/"}))["Roles"],
        json!([])
    );

    let new_trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    ok(
        &ctx,
        "UpdateAssumeRolePolicy",
        json!({"RoleName": "MwaaExec", "PolicyDocument": new_trust}),
    );
    let got = ok(&ctx, "GetRole", json!({"RoleName": "MwaaExec"}));
    assert_eq!(
        got["Role"]["AssumeRolePolicyDocument"],
        json!(url_encode(new_trust))
    );

    ok(&ctx, "DeleteRole", json!({"RoleName": "MwaaExec"}));
    assert_eq!(
        err(&ctx, "GetRole", json!({"RoleName": "MwaaExec"})).code,
        "NoSuchEntity"
    );
    assert_eq!(
        err(&ctx, "DeleteRole", json!({"RoleName": "MwaaExec"})).code,
        "NoSuchEntity"
    );
}

#[test]
fn documents_are_checked() {
    let store = store();
    let config = Config::default();
    let ctx = ctx_as(&store, &config, root_principal("123456789012"));
    let e = err(
        &ctx,
        "CreateRole",
        json!({"RoleName": "r", "AssumeRolePolicyDocument": "{not json"}),
    );
    assert_eq!(e.code, "MalformedPolicyDocument");
    assert_eq!(e.message, "This policy contains invalid Json");
    let e = err(
        &ctx,
        "CreateRole",
        json!({"RoleName": "r", "AssumeRolePolicyDocument": "{\"Version\":\"2012-10-17\"}"}),
    );
    assert_eq!(e.code, "MalformedPolicyDocument");
    let e = err(
        &ctx,
        "CreateRole",
        json!({"RoleName": "r", "AssumeRolePolicyDocument": TRUST, "Path": "nope"}),
    );
    assert_eq!(e.code, "ValidationError");
    create_role(&ctx, "r");
    let e = err(
        &ctx,
        "PutRolePolicy",
        json!({"RoleName": "r", "PolicyName": "p", "PolicyDocument": "[]"}),
    );
    assert_eq!(e.code, "MalformedPolicyDocument");
    let e = err(
        &ctx,
        "PutRolePolicy",
        json!({"RoleName": "r", "PolicyName": "p", "PolicyDocument": TRUST}),
    );
    assert_eq!(e.message, "Policy document should not specify a principal.");
    let e = err(
        &ctx,
        "CreatePolicy",
        json!({"PolicyName": "p", "PolicyDocument": "x"}),
    );
    assert_eq!(e.code, "MalformedPolicyDocument");
}

#[test]
fn inline_policies() {
    let store = store();
    let config = Config::default();
    let ctx = ctx_as(&store, &config, root_principal("123456789012"));
    create_role(&ctx, "r");
    ok(
        &ctx,
        "PutRolePolicy",
        json!({"RoleName": "r", "PolicyName": "b", "PolicyDocument": POLICY}),
    );
    ok(
        &ctx,
        "PutRolePolicy",
        json!({"RoleName": "r", "PolicyName": "a", "PolicyDocument": POLICY}),
    );
    let got = ok(
        &ctx,
        "GetRolePolicy",
        json!({"RoleName": "R", "PolicyName": "b"}),
    );
    assert_eq!(
        got,
        json!({"RoleName": "r", "PolicyName": "b", "PolicyDocument": url_encode(POLICY)})
    );
    let listed = ok(&ctx, "ListRolePolicies", json!({"RoleName": "r"}));
    assert_eq!(
        listed,
        json!({"IsTruncated": false, "PolicyNames": ["a", "b"]})
    );

    let e = err(&ctx, "DeleteRole", json!({"RoleName": "r"}));
    assert_eq!(e.code, "DeleteConflict");
    assert_eq!(
        e.message,
        "Cannot delete entity, must delete policies first."
    );

    ok(
        &ctx,
        "DeleteRolePolicy",
        json!({"RoleName": "r", "PolicyName": "a"}),
    );
    let e = err(
        &ctx,
        "DeleteRolePolicy",
        json!({"RoleName": "r", "PolicyName": "a"}),
    );
    assert_eq!(e.code, "NoSuchEntity");
    assert_eq!(e.message, "The role policy with name a cannot be found.");
    assert_eq!(
        err(
            &ctx,
            "GetRolePolicy",
            json!({"RoleName": "r", "PolicyName": "a"})
        )
        .code,
        "NoSuchEntity"
    );
    assert_eq!(
        err(
            &ctx,
            "PutRolePolicy",
            json!({"RoleName": "x", "PolicyName": "a", "PolicyDocument": POLICY})
        )
        .code,
        "NoSuchEntity"
    );
    ok(
        &ctx,
        "DeleteRolePolicy",
        json!({"RoleName": "r", "PolicyName": "b"}),
    );
    ok(&ctx, "DeleteRole", json!({"RoleName": "r"}));
}

#[test]
fn managed_policies_and_attachments() {
    let store = store();
    let config = Config::default();
    let ctx = ctx_as(&store, &config, root_principal("123456789012"));
    create_role(&ctx, "r");
    let out = ok(
        &ctx,
        "CreatePolicy",
        json!({"PolicyName": "Read", "Path": "/mwaa/", "PolicyDocument": POLICY, "Description": "d"}),
    );
    let p = &out["Policy"];
    let arn = "arn:aws:iam::123456789012:policy/mwaa/Read";
    assert_eq!(p["Arn"], json!(arn));
    assert!(p["PolicyId"].as_str().unwrap().starts_with("ANPA"));
    assert_eq!(p["DefaultVersionId"], json!("v1"));
    assert_eq!(p["AttachmentCount"], json!(0));
    assert_eq!(p["IsAttachable"], json!(true));
    assert_eq!(p["Path"], json!("/mwaa/"));

    let e = err(
        &ctx,
        "CreatePolicy",
        json!({"PolicyName": "read", "PolicyDocument": POLICY}),
    );
    assert_eq!(e.code, "EntityAlreadyExists");
    assert_eq!(
        e.message,
        "A policy called read already exists. Duplicate names are not allowed."
    );

    let v = ok(
        &ctx,
        "GetPolicyVersion",
        json!({"PolicyArn": arn, "VersionId": "v1"}),
    );
    assert_eq!(v["PolicyVersion"]["Document"], json!(url_encode(POLICY)));
    assert_eq!(v["PolicyVersion"]["IsDefaultVersion"], json!(true));
    assert_eq!(
        err(
            &ctx,
            "GetPolicyVersion",
            json!({"PolicyArn": arn, "VersionId": "v2"})
        )
        .code,
        "NoSuchEntity"
    );

    // Unknown and malformed ARNs.
    let missing = "arn:aws:iam::123456789012:policy/Nope";
    let e = err(
        &ctx,
        "AttachRolePolicy",
        json!({"RoleName": "r", "PolicyArn": missing}),
    );
    assert_eq!(e.code, "NoSuchEntity");
    assert_eq!(
        e.message,
        format!("Policy {missing} does not exist or is not attachable.")
    );
    let e = err(
        &ctx,
        "AttachRolePolicy",
        json!({"RoleName": "r", "PolicyArn": "arn:aws:iam::123456789012:policy/Read"}),
    );
    assert_eq!(e.code, "NoSuchEntity", "the path is part of the ARN");
    assert_eq!(
        err(
            &ctx,
            "GetPolicy",
            json!({"PolicyArn": "not-an-arn-at-all-really"})
        )
        .code,
        "InvalidInput"
    );
    let e = err(&ctx, "GetPolicy", json!({"PolicyArn": missing}));
    assert_eq!(e.message, format!("Policy {missing} was not found."));

    // Attach a customer policy and an AWS managed one.
    let aws = "arn:aws:iam::aws:policy/AmazonMWAAWebServerAccess";
    ok(
        &ctx,
        "AttachRolePolicy",
        json!({"RoleName": "r", "PolicyArn": arn}),
    );
    ok(
        &ctx,
        "AttachRolePolicy",
        json!({"RoleName": "r", "PolicyArn": arn}),
    );
    ok(
        &ctx,
        "AttachRolePolicy",
        json!({"RoleName": "r", "PolicyArn": aws}),
    );
    let e = err(
        &ctx,
        "AttachRolePolicy",
        json!({"RoleName": "r", "PolicyArn": "arn:aws:iam::aws:policy/aws-service-role/AmazonMWAAServiceRolePolicy"}),
    );
    assert_eq!(e.code, "PolicyNotAttachable");
    let listed = ok(&ctx, "ListAttachedRolePolicies", json!({"RoleName": "r"}));
    assert_eq!(
        listed,
        json!({"IsTruncated": false, "AttachedPolicies": [
            {"PolicyName": "AmazonMWAAWebServerAccess", "PolicyArn": aws},
            {"PolicyName": "Read", "PolicyArn": arn},
        ]})
    );
    let listed = ok(
        &ctx,
        "ListAttachedRolePolicies",
        json!({"RoleName": "r", "PathPrefix": "/mwaa/"}),
    );
    assert_eq!(listed["AttachedPolicies"].as_array().unwrap().len(), 1);
    assert_eq!(
        ok(&ctx, "GetPolicy", json!({"PolicyArn": arn}))["Policy"]["AttachmentCount"],
        json!(1)
    );
    let aws_policy = ok(&ctx, "GetPolicy", json!({"PolicyArn": aws}));
    assert_eq!(aws_policy["Policy"]["AttachmentCount"], json!(1));
    assert_eq!(
        aws_policy["Policy"]["PolicyName"],
        json!("AmazonMWAAWebServerAccess")
    );
    assert!(ok(
        &ctx,
        "GetPolicyVersion",
        json!({"PolicyArn": aws, "VersionId": "v1"})
    )["PolicyVersion"]["Document"]
        .as_str()
        .unwrap()
        .contains("CreateWebLoginToken"));
    for name in [
        "AmazonMWAAFullApiAccess",
        "AmazonMWAAFullConsoleAccess",
        "AmazonMWAAReadOnlyAccess",
        "AmazonMWAAAirflowCliAccess",
    ] {
        ok(
            &ctx,
            "AttachRolePolicy",
            json!({"RoleName": "r", "PolicyArn": format!("arn:aws:iam::aws:policy/{name}")}),
        );
    }

    // ListPolicies scopes.
    let local = ok(&ctx, "ListPolicies", json!({"Scope": "Local"}));
    assert_eq!(local["Policies"].as_array().unwrap().len(), 1);
    assert!(local["Policies"][0].get("Description").is_none());
    let attached = ok(&ctx, "ListPolicies", json!({"OnlyAttached": true}));
    assert_eq!(attached["Policies"].as_array().unwrap().len(), 6);
    let aws_only = ok(
        &ctx,
        "ListPolicies",
        json!({"Scope": "AWS", "MaxItems": 1000}),
    );
    assert_eq!(
        aws_only["Policies"].as_array().unwrap().len(),
        aws_policies::POLICIES.len()
    );

    // Deleting while attached conflicts.
    let e = err(&ctx, "DeletePolicy", json!({"PolicyArn": arn}));
    assert_eq!(e.code, "DeleteConflict");
    let e = err(&ctx, "DeleteRole", json!({"RoleName": "r"}));
    assert_eq!(e.code, "DeleteConflict");
    assert_eq!(
        e.message,
        "Cannot delete entity, must detach all policies first."
    );

    let attached = ok(&ctx, "ListAttachedRolePolicies", json!({"RoleName": "r"}));
    for p in attached["AttachedPolicies"].as_array().unwrap() {
        ok(
            &ctx,
            "DetachRolePolicy",
            json!({"RoleName": "r", "PolicyArn": p["PolicyArn"]}),
        );
    }
    let e = err(
        &ctx,
        "DetachRolePolicy",
        json!({"RoleName": "r", "PolicyArn": arn}),
    );
    assert_eq!(e.code, "NoSuchEntity");
    ok(&ctx, "DeletePolicy", json!({"PolicyArn": arn}));
    assert_eq!(
        err(&ctx, "GetPolicy", json!({"PolicyArn": arn})).code,
        "NoSuchEntity"
    );
    ok(&ctx, "DeleteRole", json!({"RoleName": "r"}));
}

#[test]
fn pagination() {
    let store = store();
    let config = Config::default();
    let ctx = ctx_as(&store, &config, root_principal("123456789012"));
    for i in 0..7 {
        create_role(&ctx, &format!("role-{i}"));
    }
    let mut seen = Vec::new();
    let mut marker: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut input = json!({"MaxItems": 3});
        if let Some(m) = &marker {
            input["Marker"] = json!(m);
        }
        let out = ok(&ctx, "ListRoles", input);
        pages += 1;
        for r in out["Roles"].as_array().unwrap() {
            seen.push(r["RoleName"].as_str().unwrap().to_owned());
        }
        if out["IsTruncated"] == json!(true) {
            marker = Some(out["Marker"].as_str().unwrap().to_owned());
        } else {
            assert!(out.get("Marker").is_none());
            break;
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(
        seen,
        (0..7).map(|i| format!("role-{i}")).collect::<Vec<_>>()
    );
}

#[test]
fn users_and_access_keys() {
    let store = store();
    let config = Config::default();
    let ctx = ctx_as(&store, &config, root_principal("123456789012"));
    let out = ok(&ctx, "CreateUser", json!({"UserName": "bob"}));
    let user = &out["User"];
    assert_eq!(user["Arn"], json!("arn:aws:iam::123456789012:user/bob"));
    assert_eq!(user["Path"], json!("/"));
    assert!(user["UserId"].as_str().unwrap().starts_with("AIDA"));
    assert_eq!(
        err(&ctx, "CreateUser", json!({"UserName": "Bob"})).code,
        "EntityAlreadyExists"
    );
    assert_eq!(
        ok(&ctx, "GetUser", json!({"UserName": "bob"}))["User"]["UserId"],
        user["UserId"]
    );
    let e = err(&ctx, "GetUser", json!({"UserName": "carol"}));
    assert_eq!(e.message, "The user with name carol cannot be found.");

    // GetUser without a name: the caller; for root keys AWS answers the root identity.
    let me = ok(&ctx, "GetUser", json!({}));
    assert_eq!(me["User"]["Arn"], json!("arn:aws:iam::123456789012:root"));
    assert_eq!(me["User"]["UserId"], json!("123456789012"));
    assert!(me["User"].get("UserName").is_none());

    let k1 = ok(&ctx, "CreateAccessKey", json!({"UserName": "bob"}));
    let id1 = k1["AccessKey"]["AccessKeyId"].as_str().unwrap().to_owned();
    assert!(id1.starts_with("AKIA") && id1.len() == 20);
    assert_eq!(
        k1["AccessKey"]["SecretAccessKey"].as_str().unwrap().len(),
        40
    );
    assert_eq!(k1["AccessKey"]["Status"], json!("Active"));
    assert_eq!(k1["AccessKey"]["UserName"], json!("bob"));
    ok(&ctx, "CreateAccessKey", json!({"UserName": "bob"}));
    let e = err(&ctx, "CreateAccessKey", json!({"UserName": "bob"}));
    assert_eq!(e.code, "LimitExceeded");
    assert_eq!(e.message, "Cannot exceed quota for AccessKeysPerUser: 2");
    assert_eq!(
        err(&ctx, "CreateAccessKey", json!({"UserName": "nobody"})).code,
        "NoSuchEntity"
    );

    let keys = ok(&ctx, "ListAccessKeys", json!({"UserName": "bob"}));
    assert_eq!(keys["AccessKeyMetadata"].as_array().unwrap().len(), 2);
    assert!(keys["AccessKeyMetadata"][0]
        .get("SecretAccessKey")
        .is_none());
    assert_eq!(keys["AccessKeyMetadata"][0]["UserName"], json!("bob"));

    let e = err(&ctx, "DeleteUser", json!({"UserName": "bob"}));
    assert_eq!(e.code, "DeleteConflict");

    // Another account cannot delete bob's key.
    let other = ctx_as(&store, &config, root_principal("000000000000"));
    assert_eq!(
        err(&other, "DeleteAccessKey", json!({"AccessKeyId": id1})).code,
        "NoSuchEntity"
    );

    for k in keys["AccessKeyMetadata"].as_array().unwrap() {
        ok(
            &ctx,
            "DeleteAccessKey",
            json!({"UserName": "bob", "AccessKeyId": k["AccessKeyId"]}),
        );
    }
    let e = err(
        &ctx,
        "DeleteAccessKey",
        json!({"UserName": "bob", "AccessKeyId": id1}),
    );
    assert_eq!(
        e.message,
        format!("The Access Key with id {id1} cannot be found.")
    );
    assert_eq!(
        ok(&ctx, "ListUsers", json!({}))["Users"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    ok(&ctx, "DeleteUser", json!({"UserName": "bob"}));
    assert_eq!(
        ok(&ctx, "ListUsers", json!({})),
        json!({"IsTruncated": false, "Users": []})
    );
}

#[test]
fn get_user_with_assumed_role_credentials_needs_a_name() {
    let store = store();
    let config = Config::default();
    let ctx = ctx_as(&store, &config, root_principal("123456789012"));
    create_role(&ctx, "r");
    let out = crate::sts::SERVICE
        .call_value(
            &ctx,
            "AssumeRole",
            &json!({"RoleArn": "arn:aws:iam::123456789012:role/r", "RoleSessionName": "s"}),
        )
        .unwrap()
        .unwrap();
    let key = out["Credentials"]["AccessKeyId"].as_str().unwrap();
    let session = crate::auth::resolve(&store, &config, key, ctx.clock.now()).unwrap();
    let as_role = ctx_as(&store, &config, session.principal);
    let e = err(&as_role, "GetUser", json!({}));
    assert_eq!(e.code, "ValidationError");
    // The session acts in the role's account.
    assert_eq!(
        ok(&as_role, "GetRole", json!({"RoleName": "r"}))["Role"]["RoleName"],
        json!("r")
    );
}

/// ListEntitiesForPolicy: attachments and boundaries, filtered by usage and kind, one page
/// across the three lists; boundaries and tags set after creation.
#[test]
fn entities_for_policy_boundaries_and_tags() {
    let store = store();
    let config = Config::default();
    let ctx = ctx_as(&store, &config, root_principal("123456789012"));
    let ro = "arn:aws:iam::aws:policy/ReadOnlyAccess";
    create_role(&ctx, "r");
    ok(&ctx, "CreateUser", json!({"UserName": "u"}));
    ok(&ctx, "CreateGroup", json!({"GroupName": "g"}));
    ok(
        &ctx,
        "AttachRolePolicy",
        json!({"RoleName": "r", "PolicyArn": ro}),
    );
    ok(
        &ctx,
        "AttachGroupPolicy",
        json!({"GroupName": "g", "PolicyArn": ro}),
    );
    ok(
        &ctx,
        "PutUserPermissionsBoundary",
        json!({"UserName": "u", "PermissionsBoundary": ro}),
    );
    let list = |extra: Value| {
        let mut input = json!({"PolicyArn": ro});
        input
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let out = ok(&ctx, "ListEntitiesForPolicy", input);
        let names = |list: &str, member: &str| -> Vec<String> {
            out[list]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e[member].as_str().unwrap().to_owned())
                .collect()
        };
        (
            names("PolicyGroups", "GroupName"),
            names("PolicyUsers", "UserName"),
            names("PolicyRoles", "RoleName"),
            out["IsTruncated"].as_bool().unwrap(),
        )
    };
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert_eq!(list(json!({})), (s(&["g"]), s(&["u"]), s(&["r"]), false));
    assert_eq!(
        list(json!({"PolicyUsageFilter": "PermissionsPolicy"})),
        (s(&["g"]), s(&[]), s(&["r"]), false)
    );
    assert_eq!(
        list(json!({"PolicyUsageFilter": "PermissionsBoundary"})),
        (s(&[]), s(&["u"]), s(&[]), false)
    );
    assert_eq!(
        list(json!({"EntityFilter": "Role"})),
        (s(&[]), s(&[]), s(&["r"]), false)
    );
    assert_eq!(
        list(json!({"MaxItems": 2})),
        (s(&["g"]), s(&["u"]), s(&[]), true)
    );
    let e = err(
        &ctx,
        "ListEntitiesForPolicy",
        json!({"PolicyArn": "arn:aws:iam::123456789012:policy/nope"}),
    );
    assert_eq!(e.code, "NoSuchEntity");

    ok(
        &ctx,
        "DeleteUserPermissionsBoundary",
        json!({"UserName": "u"}),
    );
    let user = ok(&ctx, "GetUser", json!({"UserName": "u"}));
    assert!(user["User"].get("PermissionsBoundary").is_none());
    let e = err(
        &ctx,
        "PutRolePermissionsBoundary",
        json!({"RoleName": "r", "PermissionsBoundary": "arn:aws:iam::123456789012:policy/nope"}),
    );
    assert_eq!(e.code, "NoSuchEntity");

    ok(
        &ctx,
        "TagRole",
        json!({"RoleName": "r", "Tags": [{"Key": "Team", "Value": "a"}, {"Key": "env", "Value": "x"}]}),
    );
    ok(
        &ctx,
        "TagRole",
        json!({"RoleName": "r", "Tags": [{"Key": "team", "Value": "b"}]}),
    );
    let tags = ok(&ctx, "ListRoleTags", json!({"RoleName": "r"}));
    assert_eq!(
        tags["Tags"],
        json!([{"Key": "team", "Value": "b"}, {"Key": "env", "Value": "x"}])
    );
    ok(
        &ctx,
        "UntagRole",
        json!({"RoleName": "r", "TagKeys": ["ENV", "none"]}),
    );
    let tags = ok(&ctx, "ListRoleTags", json!({"RoleName": "r"}));
    assert_eq!(tags["Tags"], json!([{"Key": "team", "Value": "b"}]));
    ok(
        &ctx,
        "TagUser",
        json!({"UserName": "u", "Tags": [{"Key": "first", "Value": "v"}]}),
    );
    let many: Vec<Value> = (0..50)
        .map(|i| json!({"Key": format!("k{i}"), "Value": "v"}))
        .collect();
    let e = err(&ctx, "TagUser", json!({"UserName": "u", "Tags": many}));
    assert_eq!(e.code, "LimitExceeded");
    assert_eq!(
        err(&ctx, "ListUserTags", json!({"UserName": "nobody"})).code,
        "NoSuchEntity"
    );
}
