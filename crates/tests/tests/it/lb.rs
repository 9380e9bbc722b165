//! The load balancers' data plane: listeners that really listen, TLS with the imported ACM
//! certificate, health checks that probe through the fabric, rules, forwarding with ALB's
//! headers, security groups on both sides, and NLB byte streams.

use crate::acm::{blob, params, rsa, self_signed, signed, Party};
use crate::elbv2::{forward, ip, wait_active};
use crate::mwaa::{config, world, World};
use crate::webserver::{client_interface, eni, scope, source};
use airlock_net::{dataplane, fabric};
use airlock_server::Running;
use airlock_services::elbv2::loadbalancers::LoadBalancer;
use airlock_tests::{holds, wait_until, DEADLINE};
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, Certificate, FixedResponseActionConfig, HostHeaderConditionConfig,
    Matcher, PathPatternConditionConfig, ProtocolEnum, RedirectActionConfig,
    RedirectActionStatusCodeEnum, RuleCondition, TargetTypeEnum,
};
use aws_sdk_elasticloadbalancingv2::Client;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// `(id, state, reason, description)` of every target (empty strings when absent), by id.
pub async fn target_health(elb: &Client, tg: &str) -> Vec<(String, String, String, String)> {
    let h = elb
        .describe_target_health()
        .target_group_arn(tg)
        .send()
        .await
        .unwrap();
    let mut out: Vec<_> = h
        .target_health_descriptions()
        .iter()
        .map(|d| {
            let th = d.target_health().unwrap();
            (
                d.target().unwrap().id().unwrap().to_owned(),
                th.state().unwrap().as_str().to_owned(),
                th.reason()
                    .map(|r| r.as_str().to_owned())
                    .unwrap_or_default(),
                th.description().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    out.sort();
    out
}

/// Polls until every target is in `state` (with `reason`, if given); bounded: 20 s.
async fn wait_health(
    elb: &Client,
    tg: &str,
    state: &str,
    reason: Option<&str>,
) -> Vec<(String, String, String, String)> {
    let what = format!("every target {state} {reason:?}");
    wait_until(&what, DEADLINE, || async {
        let last = target_health(elb, tg).await;
        let ok = !last.is_empty()
            && last
                .iter()
                .all(|t| t.1 == state && reason.is_none_or(|r| t.2 == r));
        holds(ok, last.clone()).map(|()| last)
    })
    .await
}

fn load_balancer(server: &Running, arn: &str) -> Arc<LoadBalancer> {
    server
        .state
        .store
        .read(|v| v.get::<LoadBalancer>(&scope(), arn))
        .expect("the load balancer exists")
}

fn lb_arn(
    out: &aws_sdk_elasticloadbalancingv2::operation::create_load_balancer::CreateLoadBalancerOutput,
) -> String {
    out.load_balancers()[0]
        .load_balancer_arn()
        .unwrap()
        .to_owned()
}

/// A TLS client trusting `root`.
fn trusting(root: &Party) -> tokio_rustls::TlsConnector {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let mut roots = rustls::RootCertStore::empty();
    let der = rustls_pki_types::pem::PemObject::from_pem_slice(root.pem.as_bytes()).unwrap();
    roots.add(der).unwrap();
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

fn der(pem: &str) -> Vec<u8> {
    let d: rustls_pki_types::CertificateDer =
        rustls_pki_types::pem::PemObject::from_pem_slice(pem.as_bytes()).unwrap();
    d.to_vec()
}

/// Connects to `addr`, retrying while the data plane starts the listener (bounded: 10 s).
async fn reach(addr: SocketAddr) -> TcpStream {
    wait_until(&format!("a listener on {addr}"), DEADLINE, || async {
        TcpStream::connect(addr).await
    })
    .await
}

/// Sends one HTTP/1.1 request and reads the whole answer: (status, head, body).
async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut S,
    request: &str,
) -> (u16, String, String) {
    let _ = s.write_all(request.as_bytes()).await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut out)).await;
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .map(|(h, b)| (h.to_owned(), b.to_owned()))
        .unwrap_or_default();
    (status, head, body)
}

fn get(host: &str, path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")
}

/// An HTTPS request to the load balancer's public address for `sni`: the certificate the
/// server presented (DER) and the answer.
async fn https(
    addr: SocketAddr,
    root: &Party,
    sni: &str,
    path: &str,
) -> (Vec<u8>, (u16, String, String)) {
    let tcp = reach(addr).await;
    let name = rustls_pki_types::ServerName::try_from(sni.to_owned()).unwrap();
    let mut tls = trusting(root).connect(name, tcp).await.unwrap();
    let cert = tls.get_ref().1.peer_certificates().unwrap()[0].to_vec();
    let answer = exchange(&mut tls, &get(sni, path)).await;
    (cert, answer)
}

async fn group(w: &World, name: &str) -> String {
    w.ec2
        .create_security_group()
        .group_name(name)
        .description(name)
        .vpc_id(&w.vpc)
        .send()
        .await
        .unwrap()
        .group_id()
        .unwrap()
        .to_owned()
}

/// Lets `from_group` (or a CIDR) reach TCP `port` of `group_id`.
async fn allow(w: &World, group_id: &str, port: i32, from_group: Option<&str>, cidr: Option<&str>) {
    let mut p = aws_sdk_ec2::types::IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(port)
        .to_port(port);
    if let Some(g) = from_group {
        p = p.user_id_group_pairs(
            aws_sdk_ec2::types::UserIdGroupPair::builder()
                .group_id(g)
                .build(),
        );
    }
    if let Some(c) = cidr {
        p = p.ip_ranges(aws_sdk_ec2::types::IpRange::builder().cidr_ip(c).build());
    }
    w.ec2
        .authorize_security_group_ingress()
        .group_id(group_id)
        .ip_permissions(p.build())
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn an_alb_with_the_imported_certificate_in_front_of_the_private_webserver() {
    let server = airlock_tests::start_with(config(None)).await;
    let world = airlock_tests::World::new(&server).await;
    let w = world.network().await;
    let env = world.environment(&w, "web").await;
    assert_eq!(env.ips.len(), 2);

    // The certificate: a leaf for airflow.example.com from our own root.
    let root = self_signed(params("Example Root", &[], true), rsa());
    let leaf = signed(
        params("airflow.example.com", &["airflow.example.com"], false),
        rsa(),
        &root,
    );
    let cert = world
        .certificate(&leaf.pem, Some(&root.pem), &leaf.key.serialize_pem())
        .await;

    // The load balancer's group admits HTTPS from anywhere; the environment's group does not
    // admit the load balancer yet (the page's trap). Matcher 200 to start with.
    let alb_sg = group(&w, "alb").await;
    allow(&w, &alb_sg, 443, None, Some("0.0.0.0/0")).await;
    let elb = world.elb.clone();
    let alb = world
        .load_balancer(&w, "mwaa-alb", &alb_sg, &env.ips, &cert, "200")
        .await;
    let (lb_arn, tg_arn, listener_arn) = (alb.arn, alb.target_group, alb.listener);
    let acm = &world.acm;

    // Probes are dropped by the environment's group: the checks time out.
    let h = wait_health(&elb, &tg_arn, "unhealthy", Some("Target.Timeout")).await;
    assert_eq!(h[0].3, "Request timed out");
    allow(&w, &w.sg, 443, Some(&alb_sg), None).await;
    // Now the webserver answers `/` with 302, which matcher 200 does not accept.
    let h = wait_health(
        &elb,
        &tg_arn,
        "unhealthy",
        Some("Target.ResponseCodeMismatch"),
    )
    .await;
    assert_eq!(h[0].3, "Health checks failed with these codes: [302]");
    assert_eq!(h.len(), 2);

    // The listener on the public address presents exactly the imported certificate, and with
    // every target unhealthy the load balancer fails open: requests still reach the webserver.
    let lb_rec = load_balancer(&server, &lb_arn);
    let public: Ipv4Addr = lb_rec.zones[0].public_ip.as_ref().unwrap().parse().unwrap();
    assert!(fabric::is_public(public));
    let addr = SocketAddr::from((public, fabric::port(443)));
    let (presented, (status, head, _)) = https(addr, &root, "airflow.example.com", "/").await;
    assert_eq!(presented, der(&leaf.pem));
    assert_eq!(status, 302, "{head}");
    assert!(head.to_ascii_lowercase().contains("location:"), "{head}");

    // Matcher 200,302: the targets become healthy; /health answers 200 through the ALB.
    elb.modify_target_group()
        .target_group_arn(&tg_arn)
        .matcher(Matcher::builder().http_code("200,302").build())
        .send()
        .await
        .unwrap();
    let h = wait_health(&elb, &tg_arn, "healthy", None).await;
    assert_eq!(h[0].2, "");
    let (_, (status, _, body)) = https(addr, &root, "airflow.example.com", "/health").await;
    assert_eq!(status, 200);
    assert!(body.contains("healthy"), "{body}");

    // SNI across the listener's certificates, and a re-import applies without a restart.
    let other = signed(
        params("other.example.com", &["other.example.com"], false),
        rsa(),
        &root,
    );
    let other_arn = acm
        .import_certificate()
        .certificate(blob(&other.pem))
        .certificate_chain(blob(&root.pem))
        .private_key(blob(&other.key.serialize_pem()))
        .send()
        .await
        .unwrap()
        .certificate_arn()
        .unwrap()
        .to_owned();
    elb.add_listener_certificates()
        .listener_arn(&listener_arn)
        .certificates(Certificate::builder().certificate_arn(&other_arn).build())
        .send()
        .await
        .unwrap();
    let (presented, _) = https(addr, &root, "other.example.com", "/health").await;
    assert_eq!(presented, der(&other.pem));
    let (presented, _) = https(addr, &root, "airflow.example.com", "/health").await;
    assert_eq!(presented, der(&leaf.pem));
    let renewed = signed(
        params("airflow.example.com", &["airflow.example.com"], false),
        rsa(),
        &root,
    );
    acm.import_certificate()
        .certificate_arn(&cert)
        .certificate(blob(&renewed.pem))
        .certificate_chain(blob(&root.pem))
        .private_key(blob(&renewed.key.serialize_pem()))
        .send()
        .await
        .unwrap();
    let (presented, (status, _, _)) = https(addr, &root, "airflow.example.com", "/health").await;
    assert_eq!(presented, der(&renewed.pem));
    assert_eq!(status, 200);

    // A host program is not inside the VPC: the listener's interface address refuses it.
    let inside = dataplane::address_of(
        &source(&server),
        &scope(),
        &w.vpc,
        Ipv4Addr::from(eni(&server, &lb_rec.zones[0].eni_id).await.private_ip),
        443,
    )
    .unwrap();
    let mut s = reach(inside).await;
    let mut buf = [0u8; 1];
    assert_eq!(s.read(&mut buf).await.unwrap_or(0), 0);

    // The certificate stays in use while the listener holds it.
    let err = acm
        .delete_certificate()
        .certificate_arn(&cert)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_sdk_acm::error::ProvideErrorMetadata::code(&err),
        Some("ResourceInUseException")
    );
    server.stop().await.unwrap();
}

/// A plain HTTP (and TCP) target inside the VPC, bound by the test at an interface's fabric
/// address: it answers every request with the request's head.
async fn echo_target(server: &Running, w: &World, eni_id: &str, port: u16) -> Ipv4Addr {
    let ip = Ipv4Addr::from(eni(server, eni_id).await.private_ip);
    let addr = dataplane::address_of(&source(server), &scope(), &w.vpc, ip, port).unwrap();
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let reply = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    head.len()
                );
                let _ = s.write_all(reply.as_bytes()).await;
                let _ = s.write_all(&head).await;
            });
        }
    });
    ip
}

/// Connects from interface `from` to `ip:port` inside the VPC, retrying while the data plane
/// starts the listener (bounded: 5 s).
async fn connect_inside(
    server: &Running,
    from: &airlock_services::ec2::eni::NetworkInterface,
    ip: Ipv4Addr,
    port: u16,
) -> TcpStream {
    wait_until(
        &format!("a listener on {ip}:{port} inside the VPC"),
        DEADLINE,
        || async { dataplane::connect_from(&source(server), &scope(), from, ip, port).await },
    )
    .await
}

/// An `ip` target group named `name` holding `target` (healthy after two checks).
async fn ip_group(
    elb: &Client,
    w: &World,
    name: &str,
    protocol: ProtocolEnum,
    port: i32,
    target: Ipv4Addr,
) -> String {
    let tg = elb
        .create_target_group()
        .name(name)
        .protocol(protocol)
        .port(port)
        .vpc_id(&w.vpc)
        .target_type(TargetTypeEnum::Ip)
        .healthy_threshold_count(2)
        .send()
        .await
        .unwrap();
    let arn = tg.target_groups()[0].target_group_arn().unwrap().to_owned();
    elb.register_targets()
        .target_group_arn(&arn)
        .targets(ip(&target.to_string()))
        .send()
        .await
        .unwrap();
    arn
}

/// An echo target on 8080 in the first private subnet, in a group that admits `lb_sg`: that
/// group and the target's address.
async fn echo_behind(server: &Running, w: &World, lb_sg: &str) -> (String, Ipv4Addr) {
    let target_sg = group(w, "echo").await;
    allow(w, &target_sg, 8080, Some(lb_sg), None).await;
    let target_eni = client_interface(w, &w.private[0], &target_sg).await;
    let ip = echo_target(server, w, &target_eni, 8080).await;
    (target_sg, ip)
}

/// An internal Application Load Balancer in `subnets` with group `sg`, once active: its ARN.
async fn internal_alb(elb: &Client, name: &str, subnets: [&String; 2], sg: &str) -> String {
    let lb = elb
        .create_load_balancer()
        .name(name)
        .scheme(aws_sdk_elasticloadbalancingv2::types::LoadBalancerSchemeEnum::Internal)
        .set_subnets(Some(subnets.map(String::clone).to_vec()))
        .security_groups(sg)
        .send()
        .await
        .unwrap();
    let arn = lb_arn(&lb);
    wait_active(elb, &arn).await;
    arn
}

/// A listener of `lb` on `protocol`/`port` that forwards to target group `tg`.
async fn listen(elb: &Client, lb: &str, protocol: ProtocolEnum, port: i32, tg: &str) {
    elb.create_listener()
        .load_balancer_arn(lb)
        .protocol(protocol)
        .port(port)
        .default_actions(forward(tg))
        .send()
        .await
        .unwrap();
}

fn path_is(p: &str) -> RuleCondition {
    RuleCondition::builder()
        .field("path-pattern")
        .path_pattern_config(PathPatternConditionConfig::builder().values(p).build())
        .build()
}

#[tokio::test]
async fn an_internal_alb_routes_by_rules_and_forwards_with_albs_headers() {
    let server = airlock_tests::start_with(config(None)).await;
    let w = world(&server).await;
    let elb = Client::new(&airlock_tests::default_config(&server).await);
    let lb_sg = group(&w, "internal-alb").await;
    allow(&w, &lb_sg, 80, Some(&w.sg), None).await;
    let (target_sg, target_ip) = echo_behind(&server, &w, &lb_sg).await;

    let lb_arn = internal_alb(&elb, "private-app", [&w.private[0], &w.private[1]], &lb_sg).await;
    let tg_arn = ip_group(&elb, &w, "echo", ProtocolEnum::Http, 8080, target_ip).await;
    let listener = elb
        .create_listener()
        .load_balancer_arn(&lb_arn)
        .protocol(ProtocolEnum::Http)
        .port(80)
        .default_actions(
            Action::builder()
                .r#type(ActionTypeEnum::FixedResponse)
                .fixed_response_config(
                    FixedResponseActionConfig::builder()
                        .status_code("404")
                        .content_type("text/plain")
                        .message_body("nothing here")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let l_arn = listener.listeners()[0].listener_arn().unwrap().to_owned();
    elb.create_rule()
        .listener_arn(&l_arn)
        .priority(10)
        .conditions(path_is("/echo*"))
        .actions(forward(&tg_arn))
        .send()
        .await
        .unwrap();
    elb.create_rule()
        .listener_arn(&l_arn)
        .priority(20)
        .conditions(
            RuleCondition::builder()
                .field("host-header")
                .host_header_config(
                    HostHeaderConditionConfig::builder()
                        .values("old.example.com")
                        .build(),
                )
                .build(),
        )
        .actions(
            Action::builder()
                .r#type(ActionTypeEnum::Redirect)
                .redirect_config(
                    RedirectActionConfig::builder()
                        .protocol("HTTPS")
                        .port("443")
                        .host("new.example.com")
                        .status_code(RedirectActionStatusCodeEnum::Http301)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    wait_health(&elb, &tg_arn, "healthy", None).await;

    // A client inside the VPC, in the group the load balancer admits.
    let client = eni(&server, &client_interface(&w, &w.private[1], &w.sg).await).await;
    let client_ip = Ipv4Addr::from(client.private_ip);
    let lb_rec = load_balancer(&server, &lb_arn);
    assert!(lb_rec.zones.iter().all(|z| z.public_ip.is_none()));
    let lb_ip: Ipv4Addr = lb_rec.zones[1].private_ip.parse().unwrap();
    let call = |host: &'static str, path: &'static str| {
        let (server, client) = (&server, &client);
        async move {
            let mut s = connect_inside(server, client, lb_ip, 80).await;
            exchange(&mut s, &get(host, path)).await
        }
    };
    let (status, head, body) = call("app.internal", "/nowhere").await;
    assert_eq!((status, body.as_str()), (404, "nothing here"));
    assert!(head.contains("Server: awselb/2.0") || head.contains("server: awselb/2.0"));
    let (status, head, _) = call("old.example.com", "/a/b?x=1").await;
    assert_eq!(status, 301);
    assert!(
        head.to_ascii_lowercase()
            .contains("location: https://new.example.com/a/b?x=1"),
        "{head}"
    );
    let (status, _, body) = call("app.internal", "/echo/1?q=2").await;
    assert_eq!(status, 200);
    let seen = body.to_ascii_lowercase();
    assert!(seen.starts_with("get /echo/1?q=2 http/1.1\r\n"), "{body}");
    assert!(seen.contains("host: app.internal\r\n"), "{body}");
    assert!(
        seen.contains(&format!("x-forwarded-for: {client_ip}\r\n")),
        "{body}"
    );
    assert!(seen.contains("x-forwarded-proto: http\r\n"), "{body}");
    assert!(seen.contains("x-forwarded-port: 80\r\n"), "{body}");
    assert!(seen.contains("x-amzn-trace-id: root=1-"), "{body}");

    // A client in a group the load balancer's group does not admit is refused.
    let stranger = eni(
        &server,
        &client_interface(&w, &w.private[1], &target_sg).await,
    )
    .await;
    let mut s = dataplane::connect_from(&source(&server), &scope(), &stranger, lb_ip, 80)
        .await
        .unwrap();
    let (status, _, _) = exchange(&mut s, &get("app.internal", "/echo")).await;
    assert_eq!(status, 0);

    // Without the target's rule for the load balancer, probes and requests are dropped:
    // the target goes unhealthy (timeout), the load balancer fails open and answers 504.
    w.ec2
        .revoke_security_group_ingress()
        .group_id(&target_sg)
        .ip_permissions(
            aws_sdk_ec2::types::IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(8080)
                .to_port(8080)
                .user_id_group_pairs(
                    aws_sdk_ec2::types::UserIdGroupPair::builder()
                        .group_id(&lb_sg)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    wait_health(&elb, &tg_arn, "unhealthy", Some("Target.Timeout")).await;
    let (status, head, _) = call("app.internal", "/echo").await;
    assert_eq!(status, 504, "{head}");

    // No registered target: 503.
    elb.deregister_targets()
        .target_group_arn(&tg_arn)
        .targets(ip(&target_ip.to_string()))
        .send()
        .await
        .unwrap();
    let (status, _, body) = call("app.internal", "/echo").await;
    assert_eq!(status, 503);
    assert!(body.contains("503 Service Temporarily Unavailable"));
    server.stop().await.unwrap();
}

/// A secondary IPv4 block is on the fabric as the primary is (a loopback slot of its own): an
/// internal ALB in two subnets of 10.193.0.0/16, beside the VPC's primary 10.192.0.0/16,
/// forwards a client of the secondary block to a target of the primary one, and health-checks
/// it across the blocks.
#[tokio::test]
async fn an_alb_in_a_secondary_cidr_block_forwards_to_the_primary_block() {
    let server = airlock_tests::start_with(config(None)).await;
    let w = world(&server).await;
    let elb = Client::new(&airlock_tests::default_config(&server).await);
    w.grow("10.193.0.0/16").await;
    let a = w.subnet("10.193.1.0/24", "us-west-2a").await;
    let b = w.subnet("10.193.2.0/24", "us-west-2b").await;
    let lb_sg = group(&w, "secondary-alb").await;
    allow(&w, &lb_sg, 80, Some(&w.sg), None).await;
    let (_, target_ip) = echo_behind(&server, &w, &lb_sg).await;
    assert_eq!(target_ip.octets()[1], 192);

    let lb_arn = internal_alb(&elb, "secondary-block", [&a, &b], &lb_sg).await;
    let tg_arn = ip_group(&elb, &w, "echo", ProtocolEnum::Http, 8080, target_ip).await;
    listen(&elb, &lb_arn, ProtocolEnum::Http, 80, &tg_arn).await;
    wait_health(&elb, &tg_arn, "healthy", None).await;

    let client = eni(&server, &client_interface(&w, &a, &w.sg).await).await;
    let lb_ip: Ipv4Addr = load_balancer(&server, &lb_arn).zones[0]
        .private_ip
        .parse()
        .unwrap();
    assert_eq!(lb_ip.octets()[1], 193, "{lb_ip}");
    let slot = |ip: Ipv4Addr| {
        let addr = dataplane::address_of(&source(&server), &scope(), &w.vpc, ip, 80).unwrap();
        let SocketAddr::V4(addr) = addr else {
            panic!("{addr}")
        };
        fabric::slot_of(*addr.ip())
    };
    assert_ne!(slot(lb_ip), slot(target_ip));
    let mut s = connect_inside(&server, &client, lb_ip, 80).await;
    let (status, _, body) = exchange(&mut s, &get("app.internal", "/across")).await;
    assert_eq!(status, 200, "{body}");
    let client_ip = Ipv4Addr::from(client.private_ip);
    assert!(
        body.to_ascii_lowercase()
            .contains(&format!("x-forwarded-for: {client_ip}\r\n")),
        "{body}"
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_network_load_balancer_forwards_tcp_and_terminates_tls() {
    let server = airlock_tests::start_with(config(None)).await;
    let w = world(&server).await;
    let elb = Client::new(&airlock_tests::default_config(&server).await);
    let target_sg = group(&w, "tcp-target").await;
    allow(&w, &target_sg, 7000, None, Some("10.192.0.0/16")).await;
    let target_eni = client_interface(&w, &w.private[0], &target_sg).await;
    let target_ip = echo_target(&server, &w, &target_eni, 7000).await;

    let lb = elb
        .create_load_balancer()
        .name("tcp-nlb")
        .r#type(aws_sdk_elasticloadbalancingv2::types::LoadBalancerTypeEnum::Network)
        .scheme(aws_sdk_elasticloadbalancingv2::types::LoadBalancerSchemeEnum::Internal)
        .subnets(&w.private[0])
        .send()
        .await
        .unwrap();
    let lb_arn = lb_arn(&lb);
    wait_active(&elb, &lb_arn).await;
    let tg_arn = ip_group(&elb, &w, "tcp-echo", ProtocolEnum::Tcp, 7000, target_ip).await;
    listen(&elb, &lb_arn, ProtocolEnum::Tcp, 7000, &tg_arn).await;

    // A TLS listener with an imported certificate in front of the same plain target.
    let root = self_signed(params("Example Root", &[], true), rsa());
    let leaf = signed(
        params("db.example.com", &["db.example.com"], false),
        rsa(),
        &root,
    );
    let acm = aws_sdk_acm::Client::new(&airlock_tests::default_config(&server).await);
    let cert = acm
        .import_certificate()
        .certificate(blob(&leaf.pem))
        .certificate_chain(blob(&root.pem))
        .private_key(blob(&leaf.key.serialize_pem()))
        .send()
        .await
        .unwrap()
        .certificate_arn()
        .unwrap()
        .to_owned();
    elb.create_listener()
        .load_balancer_arn(&lb_arn)
        .protocol(ProtocolEnum::Tls)
        .port(7443)
        .certificates(Certificate::builder().certificate_arn(&cert).build())
        .default_actions(forward(&tg_arn))
        .send()
        .await
        .unwrap();
    wait_health(&elb, &tg_arn, "healthy", None).await;

    // An NLB without security groups admits any client of the VPC.
    let client = eni(
        &server,
        &client_interface(&w, &w.private[1], &target_sg).await,
    )
    .await;
    let lb_ip: Ipv4Addr = load_balancer(&server, &lb_arn).zones[0]
        .private_ip
        .parse()
        .unwrap();
    let mut tcp = connect_inside(&server, &client, lb_ip, 7000).await;
    let (status, _, body) = exchange(&mut tcp, "PING /raw HTTP/1.1\r\nX: y\r\n\r\n").await;
    assert_eq!(status, 200);
    assert!(
        body.starts_with("PING /raw HTTP/1.1\r\nX: y\r\n\r\n"),
        "{body}"
    );

    let tcp = connect_inside(&server, &client, lb_ip, 7443).await;
    let name = rustls_pki_types::ServerName::try_from("db.example.com").unwrap();
    let mut tls = trusting(&root).connect(name, tcp).await.unwrap();
    assert_eq!(
        tls.get_ref().1.peer_certificates().unwrap()[0].to_vec(),
        der(&leaf.pem)
    );
    let (status, _, body) = exchange(&mut tls, "HELLO / HTTP/1.1\r\n\r\n").await;
    assert_eq!(status, 200);
    assert!(body.starts_with("HELLO / HTTP/1.1"), "{body}");

    // A second target where nothing listens: its checks are refused (FailedHealthChecks), and
    // the load balancer keeps sending every connection to the healthy one.
    let dead_eni = client_interface(&w, &w.private[0], &target_sg).await;
    let dead_ip = Ipv4Addr::from(eni(&server, &dead_eni).await.private_ip).to_string();
    elb.register_targets()
        .target_group_arn(&tg_arn)
        .targets(ip(&dead_ip))
        .send()
        .await
        .unwrap();
    let seen = wait_until(&format!("{dead_ip} unhealthy"), DEADLINE, || async {
        let seen = target_health(&elb, &tg_arn).await;
        let ok = seen.iter().any(|t| t.0 == dead_ip && t.1 == "unhealthy");
        holds(ok, seen.clone()).map(|()| seen)
    })
    .await;
    let dead = seen.iter().find(|t| t.0 == dead_ip).unwrap();
    assert_eq!(
        (dead.1.as_str(), dead.2.as_str(), dead.3.as_str()),
        (
            "unhealthy",
            "Target.FailedHealthChecks",
            "Health checks failed"
        )
    );
    assert!(seen
        .iter()
        .any(|t| t.0 == target_ip.to_string() && t.1 == "healthy"));
    for i in 0..6 {
        let mut tcp = connect_inside(&server, &client, lb_ip, 7000).await;
        let (status, _, _) = exchange(&mut tcp, &format!("PING /{i} HTTP/1.1\r\n\r\n")).await;
        assert_eq!(status, 200, "connection {i} went to the unhealthy target");
    }
    server.stop().await.unwrap();
}
