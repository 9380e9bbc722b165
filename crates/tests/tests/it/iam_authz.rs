//! IAM authorization through the AWS SDK for Rust: an IAM user's policies decide, refusals
//! carry each protocol's AccessDenied code and AWS's text, and the simulator agrees.
use airlock_tests::{default_config, prefixed_config_as, sdk_config, start};
use aws_sdk_ec2::error::ProvideErrorMetadata;

#[tokio::test]
async fn a_users_policies_decide_what_the_sdk_may_do() {
    let server = start().await;
    let root = default_config(&server).await;
    let iam = aws_sdk_iam::Client::new(&root);
    iam.create_user().user_name("ana").send().await.unwrap();
    let key = iam
        .create_access_key()
        .user_name("ana")
        .send()
        .await
        .unwrap();
    let key = key.access_key().unwrap();
    let as_ana = sdk_config(
        &server,
        key.access_key_id(),
        key.secret_access_key(),
        None,
        "us-west-2",
    )
    .await;
    let ec2 = aws_sdk_ec2::Client::new(&as_ana);
    // MWAA's host prefixes resolve to the server through the prefixed configuration.
    let mwaa = aws_sdk_mwaa::Client::new(
        &prefixed_config_as(&server, key.access_key_id(), key.secret_access_key()).await,
    );

    let err = ec2.describe_vpcs().send().await.unwrap_err();
    assert_eq!(err.code(), Some("UnauthorizedOperation"));
    assert_eq!(
        err.message(),
        Some("You are not authorized to perform this operation. User: arn:aws:iam::000000000000:user/ana is not authorized to perform: ec2:DescribeVpcs because no identity-based policy allows the ec2:DescribeVpcs action")
    );
    let err = mwaa.list_environments().send().await.unwrap_err();
    assert_eq!(err.code(), Some("AccessDeniedException"), "{err:?}");

    iam.put_user_policy()
        .user_name("ana")
        .policy_name("read")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ec2:Describe*","airflow:List*"],"Resource":"*"},{"Effect":"Deny","Action":"ec2:DescribeSubnets","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap();
    ec2.describe_vpcs().send().await.unwrap();
    mwaa.list_environments().send().await.unwrap();
    let err = ec2.describe_subnets().send().await.unwrap_err();
    assert!(
        err.message()
            .unwrap_or_default()
            .ends_with("ec2:DescribeSubnets with an explicit deny in an identity-based policy"),
        "{err:?}"
    );
    let err = ec2
        .create_vpc()
        .cidr_block("10.7.0.0/16")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("UnauthorizedOperation"));

    let sim = iam
        .simulate_principal_policy()
        .policy_source_arn("arn:aws:iam::000000000000:user/ana")
        .action_names("ec2:DescribeVpcs")
        .action_names("ec2:DescribeSubnets")
        .action_names("ec2:CreateVpc")
        .send()
        .await
        .unwrap();
    let decisions: Vec<_> = sim
        .evaluation_results()
        .iter()
        .map(|r| r.eval_decision().as_str().to_owned())
        .collect();
    assert_eq!(decisions, ["allowed", "explicitDeny", "implicitDeny"]);
}
