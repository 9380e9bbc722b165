//! The evaluator against AWS's documented evaluation logic and examples (IAM User Guide:
//! "Policy evaluation logic", "Condition operators", "Policy variables", "Permissions
//! boundaries", "Session policies").

use super::*;

fn policy(doc: &str) -> Policy {
    Policy::parse(doc).expect("a valid policy")
}

fn alice() -> Caller {
    Caller {
        arn: "arn:aws:iam::111122223333:user/alice".into(),
        account: "111122223333".into(),
        role_arn: None,
        service: None,
        federated: None,
    }
}

fn context(pairs: &[(&str, &str)]) -> Context {
    let mut c = Context::default();
    for (k, v) in pairs {
        c.set(k, *v);
    }
    c
}

/// The decision for `action` on `resource` under identity policies `docs`.
fn decide(docs: &[&str], action: &str, resource: &str, ctx: &Context) -> Decision {
    let parsed: Vec<Policy> = docs.iter().map(|d| policy(d)).collect();
    let caller = alice();
    let req = Request {
        action,
        resource,
        caller: &caller,
        context: ctx,
    };
    evaluate(
        &req,
        &Policies {
            identity: parsed.iter().collect(),
            ..Policies::default()
        },
    )
}

fn allowed(docs: &[&str], action: &str, resource: &str, ctx: &Context) -> bool {
    decide(docs, action, resource, ctx) == Decision::Allow
}

const IMPLICIT: Decision = Decision::Deny(Denial {
    kind: Kind::Identity,
    explicit: false,
});
const EXPLICIT: Decision = Decision::Deny(Denial {
    kind: Kind::Identity,
    explicit: true,
});

const ADMIN: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

#[test]
fn no_policy_is_an_implicit_deny() {
    assert_eq!(
        decide(&[], "ec2:DescribeVpcs", "*", &Context::default()),
        IMPLICIT
    );
    assert_eq!(
        decide(&[ADMIN], "ec2:DescribeVpcs", "*", &Context::default()),
        Decision::Allow
    );
}

#[test]
fn an_explicit_deny_overrides_any_allow() {
    let deny =
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"ec2:*","Resource":"*"}}"#;
    assert_eq!(
        decide(&[ADMIN, deny], "ec2:DescribeVpcs", "*", &Context::default()),
        EXPLICIT
    );
    assert_eq!(
        decide(&[deny, ADMIN], "ec2:DescribeVpcs", "*", &Context::default()),
        EXPLICIT
    );
    assert!(allowed(
        &[ADMIN, deny],
        "s3:GetObject",
        "*",
        &Context::default()
    ));
}

#[test]
fn actions_match_case_insensitively_with_wildcards() {
    let p = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["EC2:describe*","iam:Get?ser"],"Resource":"*"}]}"#;
    let c = Context::default();
    assert!(allowed(&[p], "ec2:DescribeVpcs", "*", &c));
    assert!(allowed(&[p], "iam:GetUser", "*", &c));
    assert!(!allowed(&[p], "ec2:CreateVpc", "*", &c));
    assert!(!allowed(&[p], "iam:GetUsers", "*", &c));
}

#[test]
fn not_action_allows_everything_else() {
    // The User Guide's NotAction example: everything but IAM.
    let p = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}]}"#;
    let c = Context::default();
    assert!(allowed(&[p], "ec2:RunInstances", "*", &c));
    assert!(!allowed(&[p], "iam:CreateUser", "*", &c));
    // NotAction with Deny: deny everything that is not listed.
    let deny = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","NotAction":["iam:ListUsers"],"Resource":"*"}]}"#;
    assert_eq!(
        decide(&[ADMIN, deny], "ec2:DescribeVpcs", "*", &c),
        EXPLICIT
    );
    assert!(allowed(&[ADMIN, deny], "iam:ListUsers", "*", &c));
}

/// Whether policy `doc` lets the caller of `c` get the S3 object `resource`.
fn gets(doc: &str, resource: &str, c: &Context) -> bool {
    allowed(&[doc], "s3:GetObject", resource, c)
}

#[test]
fn resources_match_arn_part_by_part() {
    let p = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/*"},{"Effect":"Allow","Action":"ec2:*","Resource":"arn:aws:ec2:*:111122223333:vpc/*"}]}"#;
    let c = Context::default();
    assert!(gets(p, "arn:aws:s3:::bucket/a/b.txt", &c));
    assert!(!gets(p, "arn:aws:s3:::bucket2/a", &c));
    assert!(!gets(p, "arn:aws:s3:::bucket", &c));
    assert!(allowed(
        &[p],
        "ec2:DeleteVpc",
        "arn:aws:ec2:us-west-2:111122223333:vpc/vpc-1",
        &c
    ));
    // A wildcard does not cross into the account part.
    assert!(!allowed(
        &[p],
        "ec2:DeleteVpc",
        "arn:aws:ec2:us-west-2:444455556666:vpc/vpc-1",
        &c
    ));
    // Resources are case-sensitive.
    assert!(!gets(p, "arn:aws:s3:::BUCKET/a", &c));
}

#[test]
fn not_resource() {
    let p = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","NotResource":["arn:aws:s3:::private","arn:aws:s3:::private/*"]}]}"#;
    let c = Context::default();
    assert!(gets(p, "arn:aws:s3:::public/x", &c));
    assert!(!gets(p, "arn:aws:s3:::private/x", &c));
}

#[test]
fn policy_variables() {
    // The User Guide's home-folder example.
    let p = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::home/${aws:username}/*"}]}"#;
    let c = context(&[("aws:username", "alice")]);
    assert!(gets(p, "arn:aws:s3:::home/alice/a", &c));
    assert!(!gets(p, "arn:aws:s3:::home/bob/a", &c));
    // An absent key makes the element match nothing ...
    assert!(!gets(p, "arn:aws:s3:::home//a", &Context::default()));
    // ... unless it has a default.
    let d = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::home/${aws:username, 'shared'}/*"}]}"#;
    assert!(gets(d, "arn:aws:s3:::home/shared/a", &Context::default()));
    // The escapes ${*} ${?} ${$} stand for the characters themselves.
    let e = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${*}${$}"}]}"#;
    assert!(gets(e, "arn:aws:s3:::b/*$", &c));
    assert!(!gets(e, "arn:aws:s3:::b/x$", &c));
    // Version 2008-10-17 treats ${...} as text.
    let old = r#"{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::home/${aws:username}/*"}]}"#;
    assert!(!gets(old, "arn:aws:s3:::home/alice/a", &c));
    assert!(gets(old, "arn:aws:s3:::home/${aws:username}/a", &c));
}

fn with_condition(condition: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"*","Resource":"*","Condition":{condition}}}]}}"#
    )
}

fn holds(condition: &str, ctx: &Context) -> bool {
    allowed(&[&with_condition(condition)], "ec2:DescribeVpcs", "*", ctx)
}

#[test]
fn string_operators() {
    let c = context(&[
        ("aws:RequestedRegion", "eu-west-1"),
        ("aws:username", "Alice"),
    ]);
    assert!(holds(
        r#"{"StringEquals":{"aws:RequestedRegion":["us-east-1","eu-west-1"]}}"#,
        &c
    ));
    assert!(!holds(
        r#"{"StringEquals":{"aws:RequestedRegion":"us-east-1"}}"#,
        &c
    ));
    assert!(holds(
        r#"{"StringNotEquals":{"aws:RequestedRegion":"us-east-1"}}"#,
        &c
    ));
    assert!(!holds(
        r#"{"StringNotEquals":{"aws:RequestedRegion":["us-east-1","eu-west-1"]}}"#,
        &c
    ));
    assert!(!holds(r#"{"StringEquals":{"aws:username":"alice"}}"#, &c));
    assert!(holds(
        r#"{"StringEqualsIgnoreCase":{"aws:username":"alice"}}"#,
        &c
    ));
    assert!(holds(
        r#"{"StringLike":{"aws:RequestedRegion":"eu-*"}}"#,
        &c
    ));
    assert!(holds(
        r#"{"StringNotLike":{"aws:RequestedRegion":"us-*"}}"#,
        &c
    ));
    // Condition keys are case-insensitive.
    assert!(holds(
        r#"{"StringEquals":{"AWS:REQUESTEDREGION":"eu-west-1"}}"#,
        &c
    ));
}

#[test]
fn several_operators_and_keys_must_all_hold() {
    let c = context(&[
        ("aws:RequestedRegion", "eu-west-1"),
        ("aws:username", "alice"),
    ]);
    assert!(holds(
        r#"{"StringEquals":{"aws:RequestedRegion":"eu-west-1","aws:username":"alice"},"Bool":{"aws:SecureTransport":"false"}}"#,
        &context(&[
            ("aws:RequestedRegion", "eu-west-1"),
            ("aws:username", "alice"),
            ("aws:SecureTransport", "false")
        ])
    ));
    assert!(!holds(
        r#"{"StringEquals":{"aws:RequestedRegion":"eu-west-1","aws:username":"bob"}}"#,
        &c
    ));
}

#[test]
fn absent_keys() {
    let c = Context::default();
    // A positive operator fails, a negated one holds (the User Guide's rule).
    assert!(!holds(
        r#"{"StringEquals":{"aws:PrincipalTag/team":"a"}}"#,
        &c
    ));
    assert!(holds(
        r#"{"StringNotEquals":{"aws:PrincipalTag/team":"a"}}"#,
        &c
    ));
    assert!(holds(
        r#"{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/x"}}"#,
        &c
    ));
    // ...IfExists: an absent key holds; a present one is tested.
    assert!(holds(
        r#"{"StringEqualsIfExists":{"aws:PrincipalTag/team":"a"}}"#,
        &c
    ));
    let team_b = context(&[("aws:PrincipalTag/team", "b")]);
    assert!(!holds(
        r#"{"StringEqualsIfExists":{"aws:PrincipalTag/team":"a"}}"#,
        &team_b
    ));
    // Null tests presence.
    assert!(holds(r#"{"Null":{"aws:PrincipalTag/team":"true"}}"#, &c));
    assert!(!holds(r#"{"Null":{"aws:PrincipalTag/team":"false"}}"#, &c));
    assert!(holds(
        r#"{"Null":{"aws:PrincipalTag/team":"false"}}"#,
        &team_b
    ));
}

#[test]
fn numeric_date_bool_ip_arn_operators() {
    let c = context(&[
        ("aws:MultiFactorAuthAge", "300"),
        ("aws:CurrentTime", "2026-12-04T10:00:00Z"),
        ("aws:EpochTime", "1796378400"),
        ("aws:SecureTransport", "true"),
        ("aws:SourceIp", "203.0.113.7"),
        (
            "aws:PrincipalArn",
            "arn:aws:iam::111122223333:role/admin-team",
        ),
    ]);
    assert!(holds(
        r#"{"NumericLessThan":{"aws:MultiFactorAuthAge":"3600"}}"#,
        &c
    ));
    assert!(!holds(
        r#"{"NumericGreaterThan":{"aws:MultiFactorAuthAge":3600}}"#,
        &c
    ));
    assert!(holds(
        r#"{"NumericLessThanEquals":{"aws:MultiFactorAuthAge":"300"}}"#,
        &c
    ));
    assert!(holds(
        r#"{"NumericNotEquals":{"aws:MultiFactorAuthAge":"301"}}"#,
        &c
    ));
    assert!(!holds(
        r#"{"NumericEquals":{"aws:MultiFactorAuthAge":"not a number"}}"#,
        &c
    ));
    assert!(holds(
        r#"{"DateLessThan":{"aws:CurrentTime":"2027-01-01T00:00:00Z"}}"#,
        &c
    ));
    assert!(holds(
        r#"{"DateGreaterThan":{"aws:CurrentTime":"2026-12-04"}}"#,
        &c
    ));
    assert!(!holds(
        r#"{"DateGreaterThan":{"aws:CurrentTime":"2026-12-05"}}"#,
        &c
    ));
    // Epoch seconds compare with ISO dates.
    assert!(holds(
        r#"{"DateLessThan":{"aws:EpochTime":"2027-01-01T00:00:00Z"}}"#,
        &c
    ));
    assert!(holds(r#"{"Bool":{"aws:SecureTransport":true}}"#, &c));
    assert!(!holds(r#"{"Bool":{"aws:SecureTransport":"false"}}"#, &c));
    assert!(holds(
        r#"{"IpAddress":{"aws:SourceIp":["198.51.100.0/24","203.0.113.0/24"]}}"#,
        &c
    ));
    assert!(!holds(
        r#"{"IpAddress":{"aws:SourceIp":"203.0.114.0/24"}}"#,
        &c
    ));
    assert!(holds(
        r#"{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}"#,
        &c
    ));
    assert!(holds(r#"{"IpAddress":{"aws:SourceIp":"203.0.113.7"}}"#, &c));
    assert!(holds(r#"{"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}}"#, &c));
    let v6 = context(&[("aws:SourceIp", "2001:db8::1")]);
    assert!(holds(
        r#"{"IpAddress":{"aws:SourceIp":"2001:db8::/32"}}"#,
        &v6
    ));
    assert!(!holds(
        r#"{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}"#,
        &v6
    ));
    assert!(holds(
        r#"{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/admin-*"}}"#,
        &c
    ));
    assert!(holds(
        r#"{"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/admin-team"}}"#,
        &c
    ));
    assert!(!holds(
        r#"{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:user/*"}}"#,
        &c
    ));
}

#[test]
fn set_operators() {
    let mut c = Context::default();
    c.set_all("aws:TagKeys", vec!["env".into(), "team".into()]);
    // ForAllValues: every request value is among the policy's (the User Guide's tag example).
    assert!(holds(
        r#"{"ForAllValues:StringEquals":{"aws:TagKeys":["env","team","cost"]}}"#,
        &c
    ));
    assert!(!holds(
        r#"{"ForAllValues:StringEquals":{"aws:TagKeys":["env"]}}"#,
        &c
    ));
    // ... and holds for an absent key (vacuously); ForAnyValue fails for one.
    assert!(holds(
        r#"{"ForAllValues:StringEquals":{"aws:TagKeys":["env"]}}"#,
        &Context::default()
    ));
    assert!(!holds(
        r#"{"ForAnyValue:StringEquals":{"aws:TagKeys":["env"]}}"#,
        &Context::default()
    ));
    // ForAnyValue: at least one request value matches.
    assert!(holds(
        r#"{"ForAnyValue:StringEquals":{"aws:TagKeys":["team"]}}"#,
        &c
    ));
    assert!(!holds(
        r#"{"ForAnyValue:StringEquals":{"aws:TagKeys":["cost"]}}"#,
        &c
    ));
    // ForAnyValue:StringNotEquals: some value outside the list.
    assert!(holds(
        r#"{"ForAnyValue:StringNotEquals":{"aws:TagKeys":["env"]}}"#,
        &c
    ));
    assert!(!holds(
        r#"{"ForAnyValue:StringNotEquals":{"aws:TagKeys":["env","team"]}}"#,
        &c
    ));
    // ForAllValues:StringNotEquals: none of the values is listed.
    assert!(holds(
        r#"{"ForAllValues:StringNotEquals":{"aws:TagKeys":["cost"]}}"#,
        &c
    ));
    assert!(!holds(
        r#"{"ForAllValues:StringNotEquals":{"aws:TagKeys":["env"]}}"#,
        &c
    ));
}

#[test]
fn a_condition_in_a_deny_statement() {
    // The User Guide's "deny access based on the requested region" example.
    let deny = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringNotEquals":{"aws:RequestedRegion":["eu-central-1","eu-west-1"]}}}]}"#;
    assert_eq!(
        decide(
            &[ADMIN, deny],
            "ec2:RunInstances",
            "*",
            &context(&[("aws:RequestedRegion", "us-east-1")])
        ),
        EXPLICIT
    );
    assert!(allowed(
        &[ADMIN, deny],
        "ec2:RunInstances",
        "*",
        &context(&[("aws:RequestedRegion", "eu-west-1")])
    ));
}

fn decide_with(p: &Policies<'_>, action: &str, resource: &str, caller: &Caller) -> Decision {
    let ctx = Context::default();
    evaluate(
        &Request {
            action,
            resource,
            caller,
            context: &ctx,
        },
        p,
    )
}

#[test]
fn a_permissions_boundary_limits_identity_policies() {
    // The User Guide's example: the effective permissions are the intersection.
    let identity = policy(ADMIN);
    let boundary = policy(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*","cloudwatch:*","ec2:*"],"Resource":"*"}]}"#,
    );
    let p = Policies {
        identity: vec![&identity],
        boundary: Some(&boundary),
        ..Policies::default()
    };
    let a = alice();
    assert_eq!(decide_with(&p, "s3:GetObject", "*", &a), Decision::Allow);
    assert_eq!(
        decide_with(&p, "iam:CreateUser", "*", &a),
        Decision::Deny(Denial {
            kind: Kind::Boundary,
            explicit: false
        })
    );
    // The boundary grants nothing on its own.
    let nothing = Policies {
        boundary: Some(&boundary),
        ..Policies::default()
    };
    assert_eq!(decide_with(&nothing, "s3:GetObject", "*", &a), IMPLICIT);
    // A deny in the boundary is explicit.
    let deny = policy(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"s3:DeleteBucket","Resource":"*"}]}"#,
    );
    let p = Policies {
        identity: vec![&identity],
        boundary: Some(&deny),
        ..Policies::default()
    };
    assert_eq!(
        decide_with(&p, "s3:DeleteBucket", "*", &a),
        Decision::Deny(Denial {
            kind: Kind::Boundary,
            explicit: true
        })
    );
}

#[test]
fn session_and_endpoint_policies_limit_too() {
    let identity = policy(ADMIN);
    let session = policy(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:Describe*","Resource":"*"}]}"#,
    );
    let endpoint = policy(
        r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"ec2:DescribeVpcs","Resource":"*"}]}"#,
    );
    let a = alice();
    let p = Policies {
        identity: vec![&identity],
        session: Some(vec![&session]),
        endpoint: Some(&endpoint),
        ..Policies::default()
    };
    assert_eq!(
        decide_with(&p, "ec2:DescribeVpcs", "*", &a),
        Decision::Allow
    );
    assert_eq!(
        decide_with(&p, "ec2:RunInstances", "*", &a),
        Decision::Deny(Denial {
            kind: Kind::Session,
            explicit: false
        })
    );
    assert_eq!(
        decide_with(&p, "ec2:DescribeSubnets", "*", &a),
        Decision::Deny(Denial {
            kind: Kind::Endpoint,
            explicit: false
        })
    );
}

#[test]
fn resource_policies_grant_to_principals_they_name() {
    let caller = alice();
    let other = Caller {
        arn: "arn:aws:iam::111122223333:user/bob".into(),
        ..alice()
    };
    let bucket = policy(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#,
    );
    let p = Policies {
        resource: vec![&bucket],
        ..Policies::default()
    };
    assert_eq!(
        decide_with(&p, "s3:GetObject", "arn:aws:s3:::b/k", &caller),
        Decision::Allow
    );
    assert_eq!(
        decide_with(&p, "s3:GetObject", "arn:aws:s3:::b/k", &other),
        IMPLICIT
    );
    // Naming the account delegates to the account's identity policies.
    let account = policy(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole"}]}"#,
    );
    let p = Policies {
        resource: vec![&account],
        ..Policies::default()
    };
    let assume = |p: &Policies| {
        decide_with(
            p,
            "sts:AssumeRole",
            "arn:aws:iam::111122223333:role/r",
            &caller,
        )
    };
    assert_eq!(assume(&p), IMPLICIT);
    let identity = policy(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}"#,
    );
    let p = Policies {
        identity: vec![&identity],
        resource: vec![&account],
        ..Policies::default()
    };
    assert_eq!(assume(&p), Decision::Allow);
    // A Deny naming the account applies to its users.
    let deny = policy(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":{"AWS":"111122223333"},"Action":"s3:*","Resource":"*"}]}"#,
    );
    let p = Policies {
        identity: vec![&identity],
        resource: vec![&deny],
        ..Policies::default()
    };
    assert_eq!(
        decide_with(&p, "s3:GetObject", "*", &caller),
        Decision::Deny(Denial {
            kind: Kind::Resource,
            explicit: true
        })
    );
    // NotPrincipal: everyone but the named.
    let not = policy(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"s3:*","Resource":"*"}]}"#,
    );
    let admin = policy(ADMIN);
    let p = Policies {
        identity: vec![&admin],
        resource: vec![&not],
        ..Policies::default()
    };
    assert_eq!(
        decide_with(&p, "s3:GetObject", "*", &caller),
        Decision::Allow
    );
    assert!(
        matches!(decide_with(&p, "s3:GetObject", "*", &other), Decision::Deny(d) if d.explicit)
    );
    // A role ARN names every session of the role.
    let session = Caller {
        arn: "arn:aws:sts::111122223333:assumed-role/r/s".into(),
        role_arn: Some("arn:aws:iam::111122223333:role/r".into()),
        ..alice()
    };
    let by_role = policy(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/r"},"Action":"s3:GetObject","Resource":"*"}]}"#,
    );
    let p = Policies {
        resource: vec![&by_role],
        ..Policies::default()
    };
    assert_eq!(
        decide_with(&p, "s3:GetObject", "*", &session),
        Decision::Allow
    );
}

#[test]
fn malformed_documents_are_refused() {
    for (doc, message) in [
        ("{", "This policy contains invalid Json"),
        (
            r#"{"Version":"2012-10-17"}"#,
            "Missing required field Statement",
        ),
        (
            r#"{"Statement":[{"Action":"*","Resource":"*"}]}"#,
            "Missing required field Effect",
        ),
        (
            r#"{"Statement":[{"Effect":"Maybe","Action":"*"}]}"#,
            "Syntax errors in policy.",
        ),
        (
            r#"{"Statement":[{"Effect":"Allow","Action":"*","NotAction":"*"}]}"#,
            "Syntax errors in policy.",
        ),
        (
            r#"{"Statement":[{"Effect":"Allow","Action":"*","Condition":{"StringSortOf":{"k":"v"}}}]}"#,
            "Syntax errors in policy.",
        ),
        (
            r#"{"Statement":[{"Effect":"Allow","Action":"*","Condition":{"StringEquals":{"k":{"x":1}}}}]}"#,
            "Syntax errors in policy.",
        ),
    ] {
        assert_eq!(Policy::parse(doc).unwrap_err().0, message, "{doc}");
    }
}

#[test]
fn wildcards() {
    assert!(like("*", ""));
    assert!(like("a*c", "abbbc"));
    assert!(like("a?c", "abc"));
    assert!(!like("a?c", "ac"));
    assert!(like("a?c", "aéc"));
    assert!(like("*a*b*", "xxaxxbxx"));
    assert!(!like("*a*b", "xxaxxbxx"));
    // No exponential backtracking on a hostile pattern.
    let text = "a".repeat(10_000);
    assert!(!like("*a*a*a*a*a*a*a*a*b", &text));
    assert!(arn_like("*", "anything"));
    assert!(!arn_like("arn:aws:s3:::b", "arn:aws:s3"));
}

#[test]
fn a_policy_knows_the_keys_it_reads() {
    let p = policy(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::home/${aws:username}/${*}","Condition":{"StringEquals":{"AWS:RequestedRegion":"eu-west-1","aws:PrincipalTag/team":"${aws:PrincipalTag/Team, 'x'}"},"Null":{"aws:TokenIssueTime":"true"}}}]}"#,
    );
    assert_eq!(
        p.keys(),
        [
            "aws:principaltag/team",
            "aws:requestedregion",
            "aws:tokenissuetime",
            "aws:username"
        ]
    );
    // Version 2008-10-17 has no variables.
    let old = policy(
        r#"{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::home/${aws:username}"}]}"#,
    );
    assert!(old.keys().is_empty());
}

#[test]
fn trust_policies_name_identity_providers() {
    let provider = "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com";
    let web = Caller {
        arn: String::new(),
        account: "111122223333".into(),
        federated: Some(provider.into()),
        ..alice()
    };
    let trust = policy(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"},"StringLike":{"token.actions.githubusercontent.com:sub":"repo:acme/*"}}}]}"#,
    );
    let p = Policies {
        resource: vec![&trust],
        ..Policies::default()
    };
    let ask = |caller: &Caller, sub: &str| {
        let ctx = context(&[
            (
                "token.actions.githubusercontent.com:aud",
                "sts.amazonaws.com",
            ),
            ("token.actions.githubusercontent.com:sub", sub),
        ]);
        evaluate(
            &Request {
                action: "sts:AssumeRoleWithWebIdentity",
                resource: "arn:aws:iam::111122223333:role/deploy",
                caller,
                context: &ctx,
            },
            &p,
        )
    };
    assert_eq!(
        ask(&web, "repo:acme/site:ref:refs/heads/main"),
        Decision::Allow
    );
    assert!(matches!(ask(&web, "repo:other/site"), Decision::Deny(_)));
    // The provider is the principal: an IAM user of the account is not.
    assert!(matches!(
        ask(&alice(), "repo:acme/site:ref:refs/heads/main"),
        Decision::Deny(_)
    ));
}
