//! AWS's APIs inside a VPC: interface endpoints to STS and EC2 with private DNS serve the API on
//! their interfaces, reached through the fabric from another interface of the VPC (as a bastion's
//! forward reaches them: the service's name resolved by the VPC's resolver), by the AWS SDK for
//! Rust over TLS that trusts only Airlock's CA.

use crate::mwaa::{world, World};
use crate::webserver::{client_interface, eni, scope, source};
use airlock_server::Running;
use airlock_tests::{wait_until, ToAirlock, DEADLINE};
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_sdk_ec2::types::{IpPermission, UserIdGroupPair, VpcEndpointType};
use std::sync::Arc;
use tokio::net::TcpListener;

/// A local port whose connections go, through the fabric from interface `from`, to port 443 of
/// what `host` resolves to inside the interface's VPC (what `ssh -L <port>:<host>:443` through a
/// bastion with that interface does).
async fn forward(server: &Running, from: &str, host: &'static str) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let source = Arc::new(source(server));
    let from = eni(server, from).await;
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let source = source.clone();
            let from = from.clone();
            tokio::spawn(async move {
                let inside = Some((&scope(), from.vpc_id.as_str()));
                let Some(ips) = airlock_net::bastion::resolve(&source, host, inside) else {
                    return;
                };
                let Ok(mut tcp) =
                    airlock_net::fabric::connect_from(&source, &scope(), &from, ips[0], 443).await
                else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut client, &mut tcp).await;
            });
        }
    });
    port
}

/// SDK configuration for `https://<host>:<port>`, resolved to loopback, trusting only Airlock's
/// CA.
async fn through(server: &Running, host: &str, port: u16) -> SdkConfig {
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
    let ca = server.state.ca.cert_pem(&server.state.store).unwrap();
    let tls = TlsContext::builder()
        .with_trust_store(TrustStore::empty().with_pem_certificate(ca.into_bytes()))
        .build()
        .unwrap();
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(tls)
        .build_with_resolver(ToAirlock(std::net::Ipv4Addr::LOCALHOST.into()));
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(format!("https://{host}:{port}"))
        .region(Region::new("us-west-2"))
        .credentials_provider(Credentials::new(
            "test",
            "test",
            None,
            None,
            "airlock-tests",
        ))
        .http_client(http)
        .load()
        .await
}

async fn endpoint(w: &World, service: &str, group: &str) -> String {
    w.ec2
        .create_vpc_endpoint()
        .vpc_id(&w.vpc)
        .vpc_endpoint_type(VpcEndpointType::Interface)
        .service_name(format!("com.amazonaws.us-west-2.{service}"))
        .subnet_ids(&w.private[0])
        .subnet_ids(&w.private[1])
        .security_group_ids(group)
        .private_dns_enabled(true)
        .send()
        .await
        .unwrap()
        .vpc_endpoint()
        .unwrap()
        .vpc_endpoint_id()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn sts_and_ec2_answer_through_their_interface_endpoints() {
    let server = airlock_tests::start_with(crate::mwaa::config(None)).await;
    let w = world(&server).await;
    airlock_tests::world::enable_dns_hostnames(&w.ec2, &w.vpc).await;
    // The endpoints' group admits the environment's group (the client's) on 443.
    let group = w
        .ec2
        .create_security_group()
        .group_name("endpoints")
        .description("Interface endpoints")
        .vpc_id(&w.vpc)
        .send()
        .await
        .unwrap()
        .group_id()
        .unwrap()
        .to_owned();
    w.ec2
        .authorize_security_group_ingress()
        .group_id(&group)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(443)
                .to_port(443)
                .user_id_group_pairs(UserIdGroupPair::builder().group_id(&w.sg).build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    endpoint(&w, "sts", &group).await;
    let ec2_endpoint = endpoint(&w, "ec2", &group).await;
    let client = client_interface(&w, &w.private[1], &w.sg).await;

    let sts_port = forward(&server, &client, "sts.us-west-2.amazonaws.com").await;
    let sts =
        aws_sdk_sts::Client::new(&through(&server, "sts.us-west-2.amazonaws.com", sts_port).await);
    let arn = wait_until(
        "GetCallerIdentity through the endpoint",
        DEADLINE,
        || async {
            sts.get_caller_identity()
                .send()
                .await
                .map(|r| r.arn().unwrap_or_default().to_owned())
                .map_err(|e| format!("{e:?}"))
        },
    )
    .await;
    assert_eq!(arn, "arn:aws:iam::000000000000:root");

    let ec2_port = forward(&server, &client, "ec2.us-west-2.amazonaws.com").await;
    let ec2 =
        aws_sdk_ec2::Client::new(&through(&server, "ec2.us-west-2.amazonaws.com", ec2_port).await);
    let vpcs = ec2.describe_vpcs().send().await.unwrap();
    assert!(vpcs
        .vpcs()
        .iter()
        .any(|v| v.vpc_id() == Some(w.vpc.as_str())));

    // The endpoint's policy limits even the root, only through the endpoint.
    w.ec2
        .modify_vpc_endpoint()
        .vpc_endpoint_id(&ec2_endpoint)
        .policy_document(
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"},
                {"Effect":"Deny","Principal":"*","Action":"ec2:DescribeVpcs","Resource":"*"}]}"#,
        )
        .send()
        .await
        .unwrap();
    let err = ec2.describe_vpcs().send().await.unwrap_err();
    let err = err.into_service_error();
    assert_eq!(err.meta().code(), Some("UnauthorizedOperation"));
    assert_eq!(
        err.meta().message(),
        Some(
            "You are not authorized to perform this operation. User: arn:aws:iam::000000000000:root \
             is not authorized to perform: ec2:DescribeVpcs with an explicit deny in a VPC endpoint policy"
        )
    );
    ec2.describe_subnets().send().await.unwrap();
    w.ec2.describe_vpcs().send().await.unwrap();

    // The EC2 endpoint serves EC2 only: STS's request there meets EC2's front end.
    let wrong =
        aws_sdk_sts::Client::new(&through(&server, "ec2.us-west-2.amazonaws.com", ec2_port).await);
    let err = wrong.get_caller_identity().send().await.unwrap_err();
    let body = err
        .raw_response()
        .and_then(|r| r.body().bytes())
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default();
    assert!(
        body.contains("<Code>AuthFailure</Code><Message>Credential should be scoped to correct service: &apos;ec2&apos;. </Message>"),
        "{body}"
    );
}
