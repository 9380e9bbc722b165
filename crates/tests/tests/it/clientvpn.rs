//! Client VPN's control plane through the AWS SDK for Rust: the MWAA Client VPN tutorial's steps
//! (a server and a client certificate from one CA imported into ACM, an endpoint with mutual
//! authentication, the two private subnets associated, an authorization rule for the VPC,
//! the exported configuration), the endpoint's name in DNS, and AWS's refusals.

use crate::acm::{blob, params, rsa, self_signed, signed, Party};
use crate::mwaa::{config, world, World};
use airlock_server::Running;
use airlock_services::dns::{lookup, Answer};
use airlock_tests::{holds, start_with, wait_until, DEADLINE};
use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_sdk_ec2::types::{
    CertificateAuthenticationRequest, ClientVpnAuthenticationRequest, ClientVpnAuthenticationType,
    ConnectionLogOptions, Filter, ResourceType, Tag, TagSpecification, TransportProtocol,
};
use aws_sdk_ec2::Client;

/// The tutorial's PKI: a CA, the server's certificate and the client's, both signed by it.
struct Pki {
    ca: Party,
    server: Party,
}

fn pki() -> Pki {
    let ca = self_signed(params("Easy-RSA CA", &[], true), rsa());
    let server = signed(params("server", &["server"], false), rsa(), &ca);
    Pki { ca, server }
}

async fn import(server: &Running, leaf: &Party, chain: Option<&Party>) -> String {
    let acm = aws_sdk_acm::Client::new(&airlock_tests::default_config(server).await);
    acm.import_certificate()
        .certificate(blob(&leaf.pem))
        .private_key(blob(&leaf.key.serialize_pem()))
        .set_certificate_chain(chain.map(|c| blob(&c.pem)))
        .send()
        .await
        .unwrap()
        .certificate_arn()
        .unwrap()
        .to_owned()
}

fn mutual(chain_arn: &str) -> ClientVpnAuthenticationRequest {
    ClientVpnAuthenticationRequest::builder()
        .r#type(ClientVpnAuthenticationType::CertificateAuthentication)
        .mutual_authentication(
            CertificateAuthenticationRequest::builder()
                .client_root_certificate_chain_arn(chain_arn)
                .build(),
        )
        .build()
}

fn no_logs() -> ConnectionLogOptions {
    ConnectionLogOptions::builder().enabled(false).build()
}

fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

/// A server, the user guide's network, and the tutorial's certificates in ACM: (server
/// certificate ARN, client root chain ARN, the CA's PEM).
async fn base() -> (Running, World, String, String, String) {
    let server = start_with(config(None)).await;
    let w = world(&server).await;
    let p = pki();
    let server_arn = import(&server, &p.server, Some(&p.ca)).await;
    let ca_arn = import(&server, &p.ca, None).await;
    (server, w, server_arn, ca_arn, p.ca.pem)
}

async fn create(ec2: &Client, server_arn: &str, ca_arn: &str) -> String {
    ec2.create_client_vpn_endpoint()
        .client_cidr_block("10.100.0.0/22")
        .server_certificate_arn(server_arn)
        .authentication_options(mutual(ca_arn))
        .connection_log_options(no_logs())
        .description("mwaa access")
        .tag_specifications(
            TagSpecification::builder()
                .resource_type(ResourceType::ClientVpnEndpoint)
                .tags(Tag::builder().key("Name").value("airflow").build())
                .build(),
        )
        .send()
        .await
        .unwrap()
        .client_vpn_endpoint_id()
        .unwrap()
        .to_owned()
}

fn resolve(server: &Running, name: &str) -> Answer {
    lookup(&server.state.store, server.state.clock(), name)
}

/// The tutorial, step by step: the endpoint waits for a target network, the two private
/// subnets make it available (with the VPC's default group, a route to the VPC through each,
/// an interface in each subnet), an authorization rule for the VPC becomes active, DNS answers
/// the endpoint's public addresses under any label, and the exported file names the endpoint
/// and carries the CA.
#[tokio::test]
async fn the_tutorial_builds_an_available_endpoint() {
    let (server, w, server_arn, ca_arn, ca_pem) = base().await;
    let ec2 = &w.ec2;
    let id = create(ec2, &server_arn, &ca_arn).await;
    assert!(id.starts_with("cvpn-endpoint-") && id.len() == "cvpn-endpoint-".len() + 17);

    let d = ec2
        .describe_client_vpn_endpoints()
        .client_vpn_endpoint_ids(&id)
        .send()
        .await
        .unwrap();
    let e = &d.client_vpn_endpoints()[0];
    assert_eq!(
        e.status().unwrap().code().unwrap().as_str(),
        "pending-associate"
    );
    assert_eq!(
        e.dns_name(),
        Some(format!("*.{id}.prod.clientvpn.us-west-2.amazonaws.com").as_str())
    );
    assert_eq!(e.transport_protocol(), Some(&TransportProtocol::Udp));
    assert_eq!(e.vpn_port(), Some(443));
    assert_eq!(e.session_timeout_hours(), Some(24));
    assert_eq!(e.vpn_protocol().unwrap().as_str(), "openvpn");
    assert_eq!(e.vpc_id(), None);
    assert_eq!(e.tags()[0].value(), Some("airflow"));
    assert_eq!(
        e.authentication_options()[0]
            .mutual_authentication()
            .unwrap()
            .client_root_certificate_chain(),
        Some(ca_arn.as_str())
    );
    // CreationTime is Client VPN's own format: no zone, no fraction.
    let created = e.creation_time().unwrap();
    assert_eq!(created.len(), 19, "{created}");
    assert_eq!(&created[10..11], "T");

    let wildcard = format!("x1y2.{id}.prod.clientvpn.us-west-2.amazonaws.com");
    assert_eq!(resolve(&server, &wildcard), Answer::NxDomain);

    let mut associations = Vec::new();
    for subnet in &w.private {
        let a = ec2
            .associate_client_vpn_target_network()
            .client_vpn_endpoint_id(&id)
            .subnet_id(subnet)
            .send()
            .await
            .unwrap();
        assert_eq!(a.status().unwrap().code().unwrap().as_str(), "associating");
        associations.push(a.association_id().unwrap().to_owned());
    }
    let networks = wait_until("both target networks associated", DEADLINE, || async {
        let t = ec2
            .describe_client_vpn_target_networks()
            .client_vpn_endpoint_id(&id)
            .send()
            .await
            .unwrap();
        let codes: Vec<String> = t
            .client_vpn_target_networks()
            .iter()
            .map(|n| n.status().unwrap().code().unwrap().as_str().to_owned())
            .collect();
        holds(codes == ["associated", "associated"], codes).map(|_| t)
    })
    .await;
    let default_sg = ec2
        .describe_security_groups()
        .filters(filter("vpc-id", &w.vpc))
        .filters(filter("group-name", "default"))
        .send()
        .await
        .unwrap()
        .security_groups()[0]
        .group_id()
        .unwrap()
        .to_owned();
    for n in networks.client_vpn_target_networks() {
        assert_eq!(n.vpc_id(), Some(w.vpc.as_str()));
        assert_eq!(n.security_groups(), std::slice::from_ref(&default_sg));
    }
    let e = ec2
        .describe_client_vpn_endpoints()
        .client_vpn_endpoint_ids(&id)
        .send()
        .await
        .unwrap();
    let e = &e.client_vpn_endpoints()[0];
    assert_eq!(e.status().unwrap().code().unwrap().as_str(), "available");
    assert_eq!(e.vpc_id(), Some(w.vpc.as_str()));
    assert_eq!(e.security_group_ids(), std::slice::from_ref(&default_sg));

    // One requester-managed interface per subnet, with the endpoint's groups.
    let enis = ec2
        .describe_network_interfaces()
        .filters(filter("description", "ClientVPN Endpoint resource"))
        .send()
        .await
        .unwrap();
    let mut subnets: Vec<&str> = enis
        .network_interfaces()
        .iter()
        .map(|n| n.subnet_id().unwrap())
        .collect();
    subnets.sort();
    let mut private: Vec<&str> = w.private.iter().map(String::as_str).collect();
    private.sort();
    assert_eq!(subnets, private);
    assert!(enis
        .network_interfaces()
        .iter()
        .all(|n| n.requester_managed() == Some(true)));

    // The route to the VPC through each target network.
    let routes = ec2
        .describe_client_vpn_routes()
        .client_vpn_endpoint_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(routes.routes().len(), 2);
    for r in routes.routes() {
        assert_eq!(r.destination_cidr(), Some("10.192.0.0/16"));
        assert_eq!(r.origin(), Some("associate"));
        assert_eq!(r.r#type(), Some("Nat"));
    }

    ec2.authorize_client_vpn_ingress()
        .client_vpn_endpoint_id(&id)
        .target_network_cidr("10.192.0.0/16")
        .authorize_all_groups(true)
        .send()
        .await
        .unwrap();
    wait_until("the rule active", DEADLINE, || async {
        let r = ec2
            .describe_client_vpn_authorization_rules()
            .client_vpn_endpoint_id(&id)
            .filters(filter("destination-cidr", "10.192.0.0/16"))
            .send()
            .await
            .unwrap();
        let rule = r.authorization_rules()[0].clone();
        holds(
            rule.status().unwrap().code().unwrap().as_str() == "active",
            rule,
        )
        .map(|_| ())
    })
    .await;

    // Any label under the endpoint's name: the public addresses of its target networks.
    let Answer::A(ips) = resolve(&server, &wildcard) else {
        panic!("the endpoint's name does not resolve");
    };
    assert_eq!(ips.len(), 2);
    assert!(ips.iter().all(|ip| ip.octets()[..2] == [127, 255]));
    let bare = format!("{id}.prod.clientvpn.us-west-2.amazonaws.com");
    assert_eq!(resolve(&server, &bare), Answer::NxDomain);

    let file = ec2
        .export_client_vpn_client_configuration()
        .client_vpn_endpoint_id(&id)
        .send()
        .await
        .unwrap()
        .client_configuration()
        .unwrap()
        .to_owned();
    let lines: Vec<&str> = file.lines().collect();
    assert_eq!(
        &lines[..10],
        [
            "client",
            "dev tun",
            "proto udp",
            &format!("remote {bare} 443"),
            "remote-random-hostname",
            "resolv-retry infinite",
            "nobind",
            "remote-cert-tls server",
            "cipher AES-256-GCM",
            "verb 3",
        ]
    );
    assert!(file.contains(&format!("<ca>\n{ca_pem}")), "{file}");
    assert!(file.contains("\nreneg-sec 0\n"));
    assert!(file.contains("\nverify-x509-name server name\n"));
}

/// What AWS refuses: a client CIDR outside /12–/22, a port other than 443 and 1194, groups
/// without a VPC, an unknown certificate; two subnets of one zone, a client CIDR overlapping
/// the VPC, a duplicate rule, a route through a subnet that is not associated, an `associate`
/// route, deleting an endpoint that has target networks; unknown ids.
#[tokio::test]
async fn invalid_requests_get_aws_errors() {
    let (_server, w, server_arn, ca_arn, _) = base().await;
    let ec2 = &w.ec2;
    let attempt = |cidr: &str, port: i32| {
        ec2.create_client_vpn_endpoint()
            .client_cidr_block(cidr)
            .vpn_port(port)
            .server_certificate_arn(&server_arn)
            .authentication_options(mutual(&ca_arn))
            .connection_log_options(no_logs())
            .send()
    };
    for (cidr, port) in [
        ("10.100.0.0/24", 443),
        ("10.0.0.0/8", 443),
        ("10.100.0.0/22", 80),
    ] {
        let e = attempt(cidr, port).await.unwrap_err();
        assert_eq!(e.code(), Some("InvalidParameterValue"), "{cidr} {port}");
    }
    let e = ec2
        .create_client_vpn_endpoint()
        .client_cidr_block("10.100.0.0/22")
        .server_certificate_arn(&server_arn)
        .authentication_options(mutual(&ca_arn))
        .connection_log_options(no_logs())
        .security_group_ids(&w.sg)
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("InvalidParameterValue"));
    assert!(e.message().unwrap().contains("without specifying Vpc Id"));
    let unknown = server_arn.replace(|c: char| c.is_ascii_hexdigit() && c != '-', "0");
    let e = ec2
        .create_client_vpn_endpoint()
        .client_cidr_block("10.100.0.0/22")
        .server_certificate_arn(&unknown)
        .authentication_options(mutual(&ca_arn))
        .connection_log_options(no_logs())
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("InvalidParameterValue"));

    let id = create(ec2, &server_arn, &ca_arn).await;
    let public_a = &w.public; // us-west-2a, like private[0]
    ec2.associate_client_vpn_target_network()
        .client_vpn_endpoint_id(&id)
        .subnet_id(&w.private[0])
        .send()
        .await
        .unwrap();
    let e = ec2
        .associate_client_vpn_target_network()
        .client_vpn_endpoint_id(&id)
        .subnet_id(public_a)
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("InvalidClientVpnSubnetId.DuplicateAz"));
    let e = ec2
        .create_client_vpn_route()
        .client_vpn_endpoint_id(&id)
        .destination_cidr_block("0.0.0.0/0")
        .target_vpc_subnet_id(&w.private[1])
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("InvalidClientVpnSubnetId.NotFound"));
    let e = ec2
        .create_client_vpn_route()
        .client_vpn_endpoint_id(&id)
        .destination_cidr_block("10.192.0.0/16")
        .target_vpc_subnet_id(&w.private[0])
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("InvalidClientVpnDuplicateRoute"));
    assert_eq!(e.message(), Some("Route already exists"));
    let e = ec2
        .delete_client_vpn_route()
        .client_vpn_endpoint_id(&id)
        .destination_cidr_block("10.192.0.0/16")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("InvalidParameterValue"));
    let admins = || {
        ec2.authorize_client_vpn_ingress()
            .client_vpn_endpoint_id(&id)
            .target_network_cidr("10.192.0.0/16")
            .access_group_id("S-1-5-21-admins")
            .send()
    };
    admins().await.unwrap();
    let e = admins().await.unwrap_err();
    assert_eq!(e.code(), Some("InvalidClientVpnDuplicateAuthorizationRule"));
    let e = ec2
        .authorize_client_vpn_ingress()
        .client_vpn_endpoint_id(&id)
        .target_network_cidr("10.192.0.0/16")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("MissingParameter"));
    let e = ec2
        .revoke_client_vpn_ingress()
        .client_vpn_endpoint_id(&id)
        .target_network_cidr("10.192.0.0/16")
        .revoke_all_groups(true)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        e.code(),
        Some("InvalidClientVpnEndpointAuthorizationRuleNotFound")
    );
    let e = ec2
        .delete_client_vpn_endpoint()
        .client_vpn_endpoint_id(&id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("ClientVpnEndpointAssociationExists"));

    // A client CIDR inside the VPC's.
    let overlapping = ec2
        .create_client_vpn_endpoint()
        .client_cidr_block("10.192.0.0/22")
        .server_certificate_arn(&server_arn)
        .authentication_options(mutual(&ca_arn))
        .connection_log_options(no_logs())
        .send()
        .await
        .unwrap()
        .client_vpn_endpoint_id()
        .unwrap()
        .to_owned();
    let e = ec2
        .associate_client_vpn_target_network()
        .client_vpn_endpoint_id(&overlapping)
        .subnet_id(&w.private[0])
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("InvalidClientVpnSubnetId.OverlappingCidr"));

    let e = ec2
        .describe_client_vpn_endpoints()
        .client_vpn_endpoint_ids("cvpn-endpoint-0123456789abcdef0")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("InvalidClientVpnEndpointId.NotFound"));
    assert_eq!(
        e.message(),
        Some("Endpoint cvpn-endpoint-0123456789abcdef0 does not exist")
    );
    // No client has connected: no connections, and none to terminate.
    let c = ec2
        .describe_client_vpn_connections()
        .client_vpn_endpoint_id(&id)
        .send()
        .await
        .unwrap();
    assert!(c.connections().is_empty());
    let e = ec2
        .terminate_client_vpn_connections()
        .client_vpn_endpoint_id(&id)
        .connection_id("cvpn-connection-0123456789abcdef0")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("InvalidClientVpnConnection.IdNotFound"));
    let e = ec2
        .terminate_client_vpn_connections()
        .client_vpn_endpoint_id(&id)
        .username("alice")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("InvalidClientVpnConnection.UserNotFound"));
    let e = ec2
        .disassociate_client_vpn_target_network()
        .client_vpn_endpoint_id(&id)
        .association_id("cvpn-assoc-0123456789abcdef0")
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("InvalidClientVpnAssociationIdNotFound"));
}

/// Taking the tutorial down in Terraform's order: revoke, disassociate (the routes go with the
/// target networks, the interfaces are deleted, the endpoint is pending-associate again, its
/// name no longer resolves), then the endpoint is deleted. Security groups applied on the way
/// reach the interfaces.
#[tokio::test]
async fn groups_apply_and_the_endpoint_comes_down() {
    let (server, w, server_arn, ca_arn, _) = base().await;
    let ec2 = &w.ec2;
    let id = create(ec2, &server_arn, &ca_arn).await;
    let a = ec2
        .associate_client_vpn_target_network()
        .client_vpn_endpoint_id(&id)
        .subnet_id(&w.private[0])
        .send()
        .await
        .unwrap()
        .association_id()
        .unwrap()
        .to_owned();
    let applied = ec2
        .apply_security_groups_to_client_vpn_target_network()
        .client_vpn_endpoint_id(&id)
        .vpc_id(&w.vpc)
        .security_group_ids(&w.sg)
        .send()
        .await
        .unwrap();
    assert_eq!(applied.security_group_ids(), std::slice::from_ref(&w.sg));
    let eni = ec2
        .describe_network_interfaces()
        .filters(filter("description", "ClientVPN Endpoint resource"))
        .send()
        .await
        .unwrap();
    let groups: Vec<&str> = eni.network_interfaces()[0]
        .groups()
        .iter()
        .map(|g| g.group_id().unwrap())
        .collect();
    assert_eq!(groups, [w.sg.as_str()]);
    ec2.authorize_client_vpn_ingress()
        .client_vpn_endpoint_id(&id)
        .target_network_cidr("0.0.0.0/0")
        .authorize_all_groups(true)
        .send()
        .await
        .unwrap();
    let name = format!("abc.{id}.prod.clientvpn.us-west-2.amazonaws.com");
    wait_until("the endpoint's name resolves", DEADLINE, || async {
        let a = resolve(&server, &name);
        holds(matches!(a, Answer::A(_)), a)
    })
    .await;

    let r = ec2
        .revoke_client_vpn_ingress()
        .client_vpn_endpoint_id(&id)
        .target_network_cidr("0.0.0.0/0")
        .revoke_all_groups(true)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().unwrap().code().unwrap().as_str(), "revoking");
    let d = ec2
        .disassociate_client_vpn_target_network()
        .client_vpn_endpoint_id(&id)
        .association_id(&a)
        .send()
        .await
        .unwrap();
    assert_eq!(
        d.status().unwrap().code().unwrap().as_str(),
        "disassociating"
    );
    assert_eq!(resolve(&server, &name), Answer::NxDomain);
    let e = ec2
        .describe_client_vpn_endpoints()
        .client_vpn_endpoint_ids(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        e.client_vpn_endpoints()[0]
            .status()
            .unwrap()
            .code()
            .unwrap()
            .as_str(),
        "pending-associate"
    );
    let routes = ec2
        .describe_client_vpn_routes()
        .client_vpn_endpoint_id(&id)
        .send()
        .await
        .unwrap();
    assert!(routes.routes().is_empty());
    let left = ec2
        .describe_network_interfaces()
        .filters(filter("description", "ClientVPN Endpoint resource"))
        .send()
        .await
        .unwrap();
    assert!(left.network_interfaces().is_empty());
    wait_until("the target network gone", DEADLINE, || async {
        let t = ec2
            .describe_client_vpn_target_networks()
            .client_vpn_endpoint_id(&id)
            .send()
            .await
            .unwrap();
        let n = t.client_vpn_target_networks().len();
        holds(n == 0, n)
    })
    .await;
    let deleted = ec2
        .delete_client_vpn_endpoint()
        .client_vpn_endpoint_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        deleted.status().unwrap().code().unwrap().as_str(),
        "deleting"
    );
    let e = ec2
        .describe_client_vpn_endpoints()
        .client_vpn_endpoint_ids(&id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("InvalidClientVpnEndpointId.NotFound"));
}

/// The console's access paths for a private environment (`mwaa::access::paths`) judge a Client
/// VPN endpoint in its VPC as the VPN does: broken while no rule authorizes the webserver's
/// addresses and while the environment's group does not admit the endpoint's group on 443
/// (naming the missing rule), working once both are there.
#[tokio::test]
async fn the_console_judges_the_client_vpn_path() {
    use airlock_services::mwaa::{access, Environment};
    let (server, w, server_arn, ca_arn, _) = base().await;
    let world = airlock_tests::World::new(&server).await;
    world.environment(&w, "MyAirflowEnvironment").await;
    let ec2 = &w.ec2;
    let vpn_sg = ec2
        .create_security_group()
        .group_name("client-vpn")
        .description("Client VPN")
        .vpc_id(&w.vpc)
        .send()
        .await
        .unwrap()
        .group_id()
        .unwrap()
        .to_owned();
    let id = ec2
        .create_client_vpn_endpoint()
        .client_cidr_block("10.100.0.0/22")
        .server_certificate_arn(&server_arn)
        .authentication_options(mutual(&ca_arn))
        .connection_log_options(no_logs())
        .vpc_id(&w.vpc)
        .security_group_ids(&vpn_sg)
        .send()
        .await
        .unwrap()
        .client_vpn_endpoint_id()
        .unwrap()
        .to_owned();
    for subnet in &w.private {
        ec2.associate_client_vpn_target_network()
            .client_vpn_endpoint_id(&id)
            .subnet_id(subnet)
            .send()
            .await
            .unwrap();
    }
    let path = || {
        let scope = crate::webserver::scope();
        let clock = server.state.clock();
        server.state.store.read(|v| {
            let env = v
                .get::<Environment>(&scope, "MyAirflowEnvironment")
                .unwrap();
            let web = access::webserver(v, &scope, &env).unwrap();
            access::paths(v, &scope, &env, &web, clock)
                .into_iter()
                .find(|p| p.kind == "Client VPN")
                .unwrap()
        })
    };
    let p = wait_until("the endpoint available", DEADLINE, || async {
        let p = path();
        holds(p.pending.is_empty(), p.clone()).map(|_| p)
    })
    .await;
    assert_eq!(p.name, id);
    assert_eq!(p.verdict(), access::Verdict::Broken);
    assert!(
        p.problems
            .iter()
            .all(|m| m.starts_with("no authorization rule")),
        "{:?}",
        p.problems
    );
    ec2.authorize_client_vpn_ingress()
        .client_vpn_endpoint_id(&id)
        .target_network_cidr("10.192.0.0/16")
        .authorize_all_groups(true)
        .send()
        .await
        .unwrap();
    let p = wait_until("the rule applied", DEADLINE, || async {
        let p = path();
        holds(p.pending.is_empty(), p.clone()).map(|_| p)
    })
    .await;
    assert_eq!(p.problems.len(), 2, "{:?}", p.problems);
    assert!(
        p.problems
            .iter()
            .all(|m| m.contains(&format!("admits TCP 443 from {vpn_sg}"))),
        "{:?}",
        p.problems
    );
    ec2.authorize_security_group_ingress()
        .group_id(&w.sg)
        .ip_permissions(
            aws_sdk_ec2::types::IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(443)
                .to_port(443)
                .user_id_group_pairs(
                    aws_sdk_ec2::types::UserIdGroupPair::builder()
                        .group_id(&vpn_sg)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let p = path();
    assert_eq!(p.verdict(), access::Verdict::Works, "{:?}", p.problems);
}
