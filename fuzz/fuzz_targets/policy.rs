//! Fuzzes IAM policy documents as PutUserPolicy and the simulators take them: parsing
//! (`Policy::parse`: statements, elements, condition operators) and, for every document that
//! parses, evaluation against a request with single- and multi-valued context keys (wildcards,
//! policy variables, every operator's comparison). Neither may panic or take more than linear
//! time in the pattern sizes.
#![no_main]

use airlock_services::policy::{evaluate, Caller, Context, Policies, Policy, Request};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let document = String::from_utf8_lossy(data);
    let Ok(policy) = Policy::parse(&document) else {
        return;
    };
    let caller = Caller {
        arn: "arn:aws:iam::111122223333:user/alice".into(),
        account: "111122223333".into(),
        role_arn: Some("arn:aws:iam::111122223333:role/r".into()),
        service: None,
        federated: Some("arn:aws:iam::111122223333:oidc-provider/token.example.com".into()),
    };
    let mut context = Context::default();
    context.set("aws:username", "alice");
    context.set("aws:SourceIp", "127.0.0.1");
    context.set("aws:CurrentTime", "2026-12-04T10:00:00Z");
    context.set("aws:SecureTransport", "false");
    context.set("aws:MultiFactorAuthAge", "300");
    context.set("aws:PrincipalArn", "arn:aws:iam::111122223333:user/alice");
    context.set_all("aws:TagKeys", vec!["env".into(), "team*?".into()]);
    for (action, resource) in [
        ("ec2:DescribeVpcs", "*"),
        ("s3:GetObject", "arn:aws:s3:::bucket/home/alice/a*b?c"),
        ("airflow:CreateWebLoginToken", "arn:aws:airflow:us-west-2:111122223333:role/env/Viewer"),
    ] {
        let req = Request {
            action,
            resource,
            caller: &caller,
            context: &context,
        };
        for policies in [
            Policies {
                identity: vec![&policy],
                ..Policies::default()
            },
            Policies {
                resource: vec![&policy],
                boundary: Some(&policy),
                endpoint: Some(&policy),
                ..Policies::default()
            },
        ] {
            let _ = evaluate(&req, &policies);
        }
    }
});
