//! Races: many clients creating one name, or retrying one idempotency token, at the same moment
//! make exactly one resource; the losers get AWS's duplicate error, or (with a token) the same
//! resource back.

use airlock_tests::world::{filter, TRUST};
use airlock_tests::{start, World};
use aws_sdk_ec2::error::ProvideErrorMetadata;
use std::collections::BTreeSet;
use std::future::Future;
use tokio::task::JoinSet;

const N: usize = 32;

/// Runs `N` copies of `call` at once (on a multi-threaded runtime) and collects their results:
/// the successes' values, and the failures' error codes.
async fn race<F, Fut, T, E>(call: F) -> (Vec<T>, Vec<String>)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, E>> + Send + 'static,
    T: Send + 'static,
    E: ProvideErrorMetadata + Send + 'static,
{
    let mut set = JoinSet::new();
    for _ in 0..N {
        set.spawn(call());
    }
    let (mut ok, mut failed) = (Vec::new(), Vec::new());
    while let Some(r) = set.join_next().await {
        match r.unwrap() {
            Ok(v) => ok.push(v),
            Err(e) => failed.push(e.code().unwrap_or("(no code)").to_owned()),
        }
    }
    (ok, failed)
}

fn one<T: Ord + std::fmt::Debug>(values: impl IntoIterator<Item = T>) -> T {
    let set: BTreeSet<T> = values.into_iter().collect();
    assert_eq!(set.len(), 1, "{set:?}");
    set.into_iter().next().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_of_one_name_or_token_make_exactly_one_resource() {
    let server = start().await;
    let w = World::new(&server).await;
    let net = w.network().await;

    // One group name in one VPC.
    let (ok, failed) = race(|| {
        let ec2 = w.ec2.clone();
        let vpc = net.vpc.clone();
        async move {
            ec2.create_security_group()
                .group_name("contested")
                .description("raced")
                .vpc_id(vpc)
                .send()
                .await
        }
    })
    .await;
    assert_eq!(ok.len(), 1, "{failed:?}");
    assert_eq!(one(failed), "InvalidGroup.Duplicate");
    let groups = w
        .ec2
        .describe_security_groups()
        .filters(filter("group-name", "contested"))
        .send()
        .await
        .unwrap();
    assert_eq!(groups.security_groups().len(), 1);

    // One VPC endpoint client token: every retry gets the one endpoint.
    let service = "com.amazonaws.us-west-2.sts";
    let (ok, failed) = race(|| {
        let ec2 = w.ec2.clone();
        let (vpc, subnet) = (net.vpc.clone(), net.private[0].clone());
        async move {
            ec2.create_vpc_endpoint()
                .vpc_endpoint_type(aws_sdk_ec2::types::VpcEndpointType::Interface)
                .vpc_id(vpc)
                .service_name(service)
                .subnet_ids(subnet)
                .private_dns_enabled(false)
                .client_token("one-endpoint")
                .send()
                .await
        }
    })
    .await;
    assert!(failed.is_empty(), "{failed:?}");
    let id = one(ok.iter().map(|o| {
        o.vpc_endpoint()
            .unwrap()
            .vpc_endpoint_id()
            .unwrap()
            .to_owned()
    }));
    let endpoints = w
        .ec2
        .describe_vpc_endpoints()
        .filters(filter("service-name", service))
        .send()
        .await
        .unwrap();
    assert_eq!(endpoints.vpc_endpoints().len(), 1);
    assert_eq!(endpoints.vpc_endpoints()[0].vpc_endpoint_id(), Some(&*id));

    // One RunInstances client token: one instance.
    let (ok, failed) = race(|| {
        let ec2 = w.ec2.clone();
        let subnet = net.public.clone();
        async move {
            ec2.run_instances()
                .image_id("ami-0123456789abcdef0")
                .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro)
                .min_count(1)
                .max_count(1)
                .subnet_id(subnet)
                .client_token("one-instance")
                .send()
                .await
        }
    })
    .await;
    assert!(failed.is_empty(), "{failed:?}");
    let instance = one(ok
        .iter()
        .map(|o| o.instances()[0].instance_id().unwrap().to_owned()));
    let reservations = w
        .ec2
        .describe_instances()
        .filters(filter("client-token", "one-instance"))
        .send()
        .await
        .unwrap();
    let ids: Vec<_> = reservations
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .filter_map(|i| i.instance_id())
        .collect();
    assert_eq!(ids, [instance.as_str()]);

    // One IAM role name.
    let (ok, failed) = race(|| {
        let iam = w.iam.clone();
        async move {
            iam.create_role()
                .role_name("contested-role")
                .assume_role_policy_document(TRUST)
                .send()
                .await
        }
    })
    .await;
    assert_eq!(ok.len(), 1, "{failed:?}");
    assert_eq!(one(failed), "EntityAlreadyExists");

    // One ACM idempotency token: one certificate.
    let (ok, failed) = race(|| {
        let acm = w.acm.clone();
        async move {
            acm.request_certificate()
                .domain_name("contested.example.com")
                .idempotency_token("onecert")
                .send()
                .await
        }
    })
    .await;
    assert!(failed.is_empty(), "{failed:?}");
    let arn = one(ok.iter().map(|o| o.certificate_arn().unwrap().to_owned()));
    let listed = w.acm.list_certificates().send().await.unwrap();
    assert_eq!(listed.certificate_summary_list().len(), 1);
    assert_eq!(
        listed.certificate_summary_list()[0].certificate_arn(),
        Some(&*arn)
    );

    // One target group name with the same settings: ELBv2 answers the existing group.
    let (ok, failed) = race(|| {
        let elb = w.elb.clone();
        let vpc = net.vpc.clone();
        async move {
            elb.create_target_group()
                .name("contested-tg")
                .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Https)
                .port(443)
                .vpc_id(vpc)
                .target_type(aws_sdk_elasticloadbalancingv2::types::TargetTypeEnum::Ip)
                .send()
                .await
        }
    })
    .await;
    assert!(failed.is_empty(), "{failed:?}");
    one(ok
        .iter()
        .map(|o| o.target_groups()[0].target_group_arn().unwrap().to_owned()));
    let tgs = w
        .elb
        .describe_target_groups()
        .names("contested-tg")
        .send()
        .await
        .unwrap();
    assert_eq!(tgs.target_groups().len(), 1);

    // One MWAA environment name.
    w.role().await;
    w.bucket().await;
    let (ok, failed) = race(|| {
        let mwaa = w.mwaa.clone();
        let n = net.clone();
        async move {
            mwaa.create_environment()
                .name("contested-env")
                .execution_role_arn(airlock_tests::world::ROLE)
                .source_bucket_arn(airlock_tests::world::BUCKET_ARN)
                .dag_s3_path("dags")
                .network_configuration(
                    aws_sdk_mwaa::types::NetworkConfiguration::builder()
                        .subnet_ids(&n.private[0])
                        .subnet_ids(&n.private[1])
                        .security_group_ids(&n.sg)
                        .build(),
                )
                .send()
                .await
        }
    })
    .await;
    assert_eq!(ok.len(), 1, "{failed:?}");
    assert_eq!(one(failed), "ValidationException");
    let listed = w.mwaa.list_environments().send().await.unwrap();
    assert_eq!(listed.environments(), ["contested-env"]);
}
