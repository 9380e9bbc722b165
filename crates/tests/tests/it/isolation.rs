//! Accounts are walls: another account's key can neither see nor change this account's resources,
//! by id, by name or by filter, in any service; and what it tried leaves them as they were.

use airlock_tests::world::{filter, TRUST};
use airlock_tests::{prefixed_config_as, sdk_config, start_with, World};
use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_sdk_ec2::types::{IpPermission, Tag};

/// The error code of a call that must fail.
fn code<T: std::fmt::Debug, E: ProvideErrorMetadata + std::fmt::Debug>(r: Result<T, E>) -> String {
    r.expect_err("another account's call must be refused")
        .code()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn another_account_can_neither_see_nor_change_this_accounts_resources() {
    let server = start_with(crate::mwaa::config(None)).await;
    // Account 000000000000 (the `test` key): an MWAA environment in its network, a load
    // balancer with a target group, a certificate, a role and a policy.
    let a = World::new(&server).await;
    let net = a.network().await;
    let env = a.environment(&net, "walled").await;
    let lb = a
        .elb
        .create_load_balancer()
        .name("walled-lb")
        .subnets(&net.public)
        .subnets(net.second_public_subnet().await)
        .send()
        .await
        .unwrap()
        .load_balancers()[0]
        .load_balancer_arn()
        .unwrap()
        .to_owned();
    let tg = a
        .elb
        .create_target_group()
        .name("walled-tg")
        .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Https)
        .port(443)
        .vpc_id(&net.vpc)
        .target_type(aws_sdk_elasticloadbalancingv2::types::TargetTypeEnum::Ip)
        .send()
        .await
        .unwrap()
        .target_groups()[0]
        .target_group_arn()
        .unwrap()
        .to_owned();
    let cert = a
        .acm
        .request_certificate()
        .domain_name("walled.example.com")
        .send()
        .await
        .unwrap()
        .certificate_arn()
        .unwrap()
        .to_owned();
    let policy = a
        .iam
        .create_policy()
        .policy_name("walled-policy")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:Describe*","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap()
        .policy()
        .unwrap()
        .arn()
        .unwrap()
        .to_owned();
    let vpce = a
        .ec2
        .describe_vpc_endpoints()
        .filters(filter("vpc-id", &net.vpc))
        .send()
        .await
        .unwrap()
        .vpc_endpoints()[0]
        .vpc_endpoint_id()
        .unwrap()
        .to_owned();
    let eni = a
        .ec2
        .describe_network_interfaces()
        .filters(filter("vpc-id", &net.vpc))
        .send()
        .await
        .unwrap()
        .network_interfaces()[0]
        .network_interface_id()
        .unwrap()
        .to_owned();

    // Account 111111111111 (a 12-digit key), in the same region.
    let cfg = sdk_config(&server, "111111111111", "test", None, "us-west-2").await;
    let ec2 = aws_sdk_ec2::Client::new(&cfg);
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&cfg);
    let acm = aws_sdk_acm::Client::new(&cfg);
    let iam = aws_sdk_iam::Client::new(&cfg);
    let sts = aws_sdk_sts::Client::new(&cfg);
    let mwaa =
        aws_sdk_mwaa::Client::new(&prefixed_config_as(&server, "111111111111", "test").await);

    // EC2, by id.
    let vpc = net.vpc.as_str();
    assert_eq!(
        code(ec2.describe_vpcs().vpc_ids(vpc).send().await),
        "InvalidVpcID.NotFound"
    );
    assert_eq!(
        code(
            ec2.describe_subnets()
                .subnet_ids(&net.private[0])
                .send()
                .await
        ),
        "InvalidSubnetID.NotFound"
    );
    assert_eq!(
        code(
            ec2.describe_security_groups()
                .group_ids(&net.sg)
                .send()
                .await
        ),
        "InvalidGroup.NotFound"
    );
    assert_eq!(
        code(
            ec2.describe_vpc_endpoints()
                .vpc_endpoint_ids(&vpce)
                .send()
                .await
        ),
        "InvalidVpcEndpointId.NotFound"
    );
    assert_eq!(
        code(
            ec2.describe_network_interfaces()
                .network_interface_ids(&eni)
                .send()
                .await
        ),
        "InvalidNetworkInterfaceID.NotFound"
    );
    // EC2, by filter: nothing of the other account's, not even an empty VPC's worth.
    let subnets = ec2
        .describe_subnets()
        .filters(filter("vpc-id", vpc))
        .send()
        .await
        .unwrap();
    assert!(subnets.subnets().is_empty());
    let groups = ec2
        .describe_security_groups()
        .filters(filter("group-id", &net.sg))
        .send()
        .await
        .unwrap();
    assert!(groups.security_groups().is_empty());
    let endpoints = ec2
        .describe_vpc_endpoints()
        .filters(filter("service-name", &env.endpoint_service))
        .send()
        .await
        .unwrap();
    assert!(endpoints.vpc_endpoints().is_empty());
    let enis = ec2
        .describe_network_interfaces()
        .filters(filter("addresses.private-ip-address", &env.ips[0]))
        .send()
        .await
        .unwrap();
    assert!(enis.network_interfaces().is_empty());
    // EC2, changes.
    assert_eq!(
        code(
            ec2.create_subnet()
                .vpc_id(vpc)
                .cidr_block("10.192.99.0/24")
                .send()
                .await
        ),
        "InvalidVpcID.NotFound"
    );
    assert_eq!(
        code(
            ec2.authorize_security_group_ingress()
                .group_id(&net.sg)
                .ip_permissions(
                    IpPermission::builder()
                        .ip_protocol("-1")
                        .ip_ranges(
                            aws_sdk_ec2::types::IpRange::builder()
                                .cidr_ip("0.0.0.0/0")
                                .build()
                        )
                        .build()
                )
                .send()
                .await
        ),
        "InvalidGroup.NotFound"
    );
    assert!(code(
        ec2.create_tags()
            .resources(vpc)
            .tags(Tag::builder().key("owner").value("intruder").build())
            .send()
            .await
    )
    .ends_with(".NotFound"));
    // DeleteVpcEndpoints answers per endpoint.
    let deleted = ec2
        .delete_vpc_endpoints()
        .vpc_endpoint_ids(&vpce)
        .send()
        .await
        .unwrap();
    let refused = &deleted.unsuccessful()[0];
    assert_eq!(refused.resource_id(), Some(&*vpce));
    assert_eq!(
        refused.error().and_then(|e| e.code()),
        Some("InvalidVpcEndpoint.NotFound")
    );
    assert_eq!(
        code(ec2.delete_vpc().vpc_id(vpc).send().await),
        "InvalidVpcID.NotFound"
    );

    // MWAA.
    assert_eq!(
        code(mwaa.get_environment().name("walled").send().await),
        "ResourceNotFoundException"
    );
    let listed = mwaa.list_environments().send().await.unwrap();
    assert!(listed.environments().is_empty());
    assert_eq!(
        code(mwaa.create_web_login_token().name("walled").send().await),
        "ResourceNotFoundException"
    );
    assert_eq!(
        code(mwaa.delete_environment().name("walled").send().await),
        "ResourceNotFoundException"
    );
    assert_eq!(
        code(
            mwaa.list_tags_for_resource()
                .resource_arn(&env.arn)
                .send()
                .await
        ),
        "ResourceNotFoundException"
    );

    // ELBv2.
    assert_eq!(
        code(
            elb.describe_load_balancers()
                .load_balancer_arns(&lb)
                .send()
                .await
        ),
        "LoadBalancerNotFound"
    );
    assert_eq!(
        code(
            elb.describe_load_balancers()
                .names("walled-lb")
                .send()
                .await
        ),
        "LoadBalancerNotFound"
    );
    assert_eq!(
        code(
            elb.describe_target_groups()
                .target_group_arns(&tg)
                .send()
                .await
        ),
        "TargetGroupNotFound"
    );
    assert_eq!(
        code(
            elb.register_targets()
                .target_group_arn(&tg)
                .targets(
                    aws_sdk_elasticloadbalancingv2::types::TargetDescription::builder()
                        .id("10.192.20.99")
                        .build()
                )
                .send()
                .await
        ),
        "TargetGroupNotFound"
    );
    // DeleteLoadBalancer succeeds for a load balancer that does not exist (AWS: idempotent),
    // and another account's is one that does not exist.
    elb.delete_load_balancer()
        .load_balancer_arn(&lb)
        .send()
        .await
        .unwrap();

    // ACM.
    assert_eq!(
        code(
            acm.describe_certificate()
                .certificate_arn(&cert)
                .send()
                .await
        ),
        "ResourceNotFoundException"
    );
    let certs = acm.list_certificates().send().await.unwrap();
    assert!(certs.certificate_summary_list().is_empty());
    assert_eq!(
        code(acm.delete_certificate().certificate_arn(&cert).send().await),
        "ResourceNotFoundException"
    );

    // IAM.
    assert_eq!(
        code(iam.get_role().role_name("mwaa-exec").send().await),
        "NoSuchEntity"
    );
    let roles = iam.list_roles().send().await.unwrap();
    assert!(roles.roles().iter().all(|r| r.role_name() != "mwaa-exec"));
    assert_eq!(
        code(iam.get_policy().policy_arn(&policy).send().await),
        "NoSuchEntity"
    );
    assert_eq!(
        code(
            iam.update_assume_role_policy()
                .role_name("mwaa-exec")
                .policy_document(TRUST)
                .send()
                .await
        ),
        "NoSuchEntity"
    );
    assert_eq!(
        code(iam.delete_role().role_name("mwaa-exec").send().await),
        "NoSuchEntity"
    );

    // STS: the role trusts only MWAA's service principals, not this account.
    assert_eq!(
        code(
            sts.assume_role()
                .role_arn(airlock_tests::world::ROLE)
                .role_session_name("intruder")
                .send()
                .await
        ),
        "AccessDenied"
    );

    // Everything is as the owner left it.
    let mine = a
        .ec2
        .describe_vpcs()
        .vpc_ids(vpc)
        .send()
        .await
        .unwrap()
        .vpcs()[0]
        .clone();
    assert!(mine.tags().is_empty(), "{:?}", mine.tags());
    let group = a
        .ec2
        .describe_security_groups()
        .group_ids(&net.sg)
        .send()
        .await
        .unwrap()
        .security_groups()[0]
        .clone();
    assert!(group
        .ip_permissions()
        .iter()
        .all(|p| p.ip_ranges().is_empty()));
    let still = a
        .elb
        .describe_load_balancers()
        .load_balancer_arns(&lb)
        .send()
        .await
        .unwrap();
    assert_eq!(still.load_balancers().len(), 1);
    let env_now = a
        .mwaa
        .get_environment()
        .name("walled")
        .send()
        .await
        .unwrap();
    assert_eq!(
        env_now.environment().unwrap().status().unwrap().as_str(),
        "AVAILABLE"
    );
    a.acm
        .describe_certificate()
        .certificate_arn(&cert)
        .send()
        .await
        .unwrap();
    a.iam
        .get_role()
        .role_name("mwaa-exec")
        .send()
        .await
        .unwrap();
    a.ec2
        .describe_vpc_endpoints()
        .vpc_endpoint_ids(&vpce)
        .send()
        .await
        .unwrap();
}
