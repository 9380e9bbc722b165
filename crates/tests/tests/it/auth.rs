use airlock_tests::{sdk_config, start};
use aws_sdk_ec2::error::ProvideErrorMetadata;

#[tokio::test]
async fn wrong_secrets_and_unknown_keys_get_each_protocols_error() {
    let server = start().await;
    let ec2 =
        aws_sdk_ec2::Client::new(&sdk_config(&server, "test", "wrong", None, "us-west-2").await);
    let err = ec2.describe_vpcs().send().await.unwrap_err();
    assert_eq!(err.code(), Some("AuthFailure"));
    let sts =
        aws_sdk_sts::Client::new(&sdk_config(&server, "test", "wrong", None, "us-west-2").await);
    let err = sts.get_caller_identity().send().await.unwrap_err();
    assert_eq!(err.code(), Some("SignatureDoesNotMatch"));
    assert!(err
        .message()
        .unwrap()
        .starts_with("The request signature we calculated does not match"));
    let sts = aws_sdk_sts::Client::new(
        &sdk_config(&server, "AKIAIOSFODNN7EXAMPLE", "x", None, "us-west-2").await,
    );
    let err = sts.get_caller_identity().send().await.unwrap_err();
    assert_eq!(err.code(), Some("InvalidClientTokenId"));
    let iam = aws_sdk_iam::Client::new(
        &sdk_config(&server, "AKIAIOSFODNN7EXAMPLE", "x", None, "us-west-2").await,
    );
    let err = iam.list_roles().send().await.unwrap_err();
    assert_eq!(err.code(), Some("InvalidClientTokenId"));
    // Nothing was created by the refused calls.
    let ok =
        aws_sdk_ec2::Client::new(&sdk_config(&server, "test", "test", None, "us-west-2").await);
    assert_eq!(ok.describe_vpcs().send().await.unwrap().vpcs().len(), 1);
}

#[tokio::test]
async fn twelve_digit_keys_act_in_their_own_account() {
    let server = start().await;
    let a = aws_sdk_sts::Client::new(
        &sdk_config(&server, "111111111111", "test", None, "us-west-2").await,
    );
    let who = a.get_caller_identity().send().await.unwrap();
    assert_eq!(who.account(), Some("111111111111"));
    assert_eq!(who.arn(), Some("arn:aws:iam::111111111111:root"));
    let ec2_a = aws_sdk_ec2::Client::new(
        &sdk_config(&server, "111111111111", "test", None, "us-west-2").await,
    );
    let ec2_default =
        aws_sdk_ec2::Client::new(&sdk_config(&server, "test", "test", None, "us-west-2").await);
    let va = ec2_a
        .create_vpc()
        .cidr_block("10.1.0.0/16")
        .send()
        .await
        .unwrap();
    let id = va.vpc().unwrap().vpc_id().unwrap().to_owned();
    assert_eq!(va.vpc().unwrap().owner_id(), Some("111111111111"));
    let err = ec2_default
        .describe_vpcs()
        .vpc_ids(&id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidVpcID.NotFound"));
}
