//! The DNS server, queried over real UDP and TCP sockets with hickory's message types.

use crate::mwaa::{create, environment, status, wait_for, world};
use airlock_server::{Running, ServerConfig};
use airlock_tests::{holds, start_with, wait_until, DEADLINE};
use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinEncodable};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

fn query(name: &str, rtype: RecordType) -> Vec<u8> {
    let mut m = Message::new(rand_id(), MessageType::Query, OpCode::Query);
    m.metadata.recursion_desired = true;
    m.add_query(Query::query(Name::from_ascii(name).unwrap(), rtype));
    m.to_bytes().unwrap()
}

fn rand_id() -> u16 {
    (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos()
        & 0xffff) as u16
}

async fn udp(server: SocketAddr, packet: &[u8]) -> Option<Message> {
    let s = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    s.send_to(packet, server).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(2), s.recv(&mut buf))
        .await
        .ok()?
        .ok()?;
    Message::from_bytes(&buf[..n]).ok()
}

async fn tcp(server: SocketAddr, packet: &[u8]) -> Message {
    let mut s = TcpStream::connect(server).await.unwrap();
    s.write_all(&(packet.len() as u16).to_be_bytes())
        .await
        .unwrap();
    s.write_all(packet).await.unwrap();
    let len = s.read_u16().await.unwrap() as usize;
    let mut buf = vec![0u8; len];
    s.read_exact(&mut buf).await.unwrap();
    Message::from_bytes(&buf).unwrap()
}

async fn ask(server: &Running, name: &str, rtype: RecordType) -> Message {
    udp(server.dns_addr.unwrap(), &query(name, rtype))
        .await
        .expect("an answer")
}

fn cnames(m: &Message) -> Vec<String> {
    m.answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::CNAME(c) => Some(c.0.to_ascii()),
            _ => None,
        })
        .collect()
}

fn ips(m: &Message) -> Vec<Ipv4Addr> {
    let mut v: Vec<Ipv4Addr> = m
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(a.0),
            _ => None,
        })
        .collect();
    v.sort();
    v
}

fn config() -> ServerConfig {
    ServerConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        dns_listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        services: airlock_services::Config {
            time_scale: 0.001,
            ..Default::default()
        },
        ..ServerConfig::default()
    }
}

#[tokio::test]
async fn the_seed_procedure_resolves_as_on_aws() {
    let server = start_with(config()).await;
    let w = world(&server).await;
    create(&w, "MyAirflowEnvironment").send().await.unwrap();
    wait_for(&w.mwaa, "MyAirflowEnvironment", "AVAILABLE").await;
    let env = environment(&w.mwaa, "MyAirflowEnvironment").await;
    let host = env.webserver_url().unwrap().to_owned();

    // Step 2: CNAME only.
    let m = ask(&server, &host, RecordType::CNAME).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert!(m.metadata.authoritative);
    let target = cnames(&m);
    assert_eq!(target.len(), 1);
    assert_eq!(m.answers.len(), 1);
    assert_eq!(m.answers[0].ttl, 60);

    // Step 3: the CNAME target is the endpoint's first DNS entry, with a trailing dot.
    let eps = w
        .ec2
        .describe_vpc_endpoints()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("service-name")
                .values(env.webserver_vpc_endpoint_service().unwrap())
                .build(),
        )
        .send()
        .await
        .unwrap();
    let ep = &eps.vpc_endpoints()[0];
    assert_eq!(
        target[0],
        format!("{}.", ep.dns_entries()[0].dns_name().unwrap())
    );

    // Step 4: an A query gets the chain; the addresses are the ENIs' and lie in the subnets.
    let m = ask(&server, &host, RecordType::A).await;
    assert_eq!(cnames(&m), target);
    let enis = w
        .ec2
        .describe_network_interfaces()
        .set_network_interface_ids(Some(ep.network_interface_ids().to_vec()))
        .send()
        .await
        .unwrap();
    let mut want: Vec<Ipv4Addr> = enis
        .network_interfaces()
        .iter()
        .map(|n| n.private_ip_address().unwrap().parse().unwrap())
        .collect();
    want.sort();
    assert_eq!(ips(&m), want);
    assert!(
        want[0].octets()[..3] == [10, 192, 20] && want[1].octets()[..3] == [10, 192, 21],
        "{want:?}"
    );
    let regional = ask(&server, &target[0], RecordType::A).await;
    assert_eq!(ips(&regional), want);
    // Zonal names: only the address in that zone.
    let zonal = ep.dns_entries()[1].dns_name().unwrap();
    let z = ask(&server, zonal, RecordType::A).await;
    assert_eq!(ips(&z).len(), 1);
    assert!(ips(&z)[0].octets()[..3] == [10, 192, 20]);

    // Same over TCP.
    let t = tcp(server.dns_addr.unwrap(), &query(&host, RecordType::A)).await;
    assert_eq!(ips(&t), want);

    // AAAA: the name exists without IPv6 → NOERROR, no address, SOA in authority.
    let m = ask(&server, &target[0], RecordType::AAAA).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NoError);
    assert!(m.answers.is_empty());
    assert_eq!(m.authorities.len(), 1);
    // Unknown names in a served zone: NXDOMAIN with the SOA; other zones: REFUSED.
    let m = ask(
        &server,
        "vpce-0123456789abcdef0-abcdefgh.vpce-svc-0123456789abcdef0.us-west-2.vpce.amazonaws.com",
        RecordType::A,
    )
    .await;
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    assert!(matches!(m.authorities[0].data, RData::SOA(_)));
    let m = ask(&server, "example.com", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::Refused);
    // Private DNS names of the interfaces.
    let pdns = enis.network_interfaces()[0].private_dns_name().unwrap();
    let m = ask(&server, pdns, RecordType::A).await;
    assert_eq!(ips(&m).len(), 1);

    // Deleting the environment removes its names.
    w.mwaa
        .delete_environment()
        .name("MyAirflowEnvironment")
        .send()
        .await
        .unwrap();
    assert_eq!(status(&w.mwaa, "MyAirflowEnvironment").await, "DELETING");
    // The environment's names go once it is deleted, then (the ticker) its endpoint's.
    for name in [&host, &target[0]] {
        wait_until(&format!("{name} NXDOMAIN"), DEADLINE, || async {
            let code = ask(&server, name, RecordType::A)
                .await
                .metadata
                .response_code;
            holds(code == ResponseCode::NXDomain, code)
        })
        .await;
    }
}

#[tokio::test]
async fn bad_packets_do_not_stop_the_server() {
    let server = start_with(config()).await;
    let dns = server.dns_addr.unwrap();
    let s = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    for junk in [
        &b""[..],
        &b"\x00"[..],
        &[0xffu8; 12][..],
        &[0u8; 600][..],
        &b"hello, world, this is not DNS"[..],
    ] {
        s.send_to(junk, dns).await.unwrap();
    }
    // A query with a name too long to be a name.
    let mut m = Message::new(7, MessageType::Query, OpCode::Query);
    m.add_query(Query::query(
        Name::from_ascii("a.vpce.amazonaws.com").unwrap(),
        RecordType::A,
    ));
    let mut bytes = m.to_bytes().unwrap();
    bytes.extend(std::iter::repeat_n(0x3f, 3000));
    s.send_to(&bytes, dns).await.unwrap();
    // A flood from one client, bounded: every answer that comes back is well-formed.
    for _ in 0..300 {
        s.send_to(&query("x.vpce.amazonaws.com", RecordType::A), dns)
            .await
            .unwrap();
    }
    let mut buf = vec![0u8; 4096];
    let mut answered = 0;
    while let Ok(Ok(n)) = tokio::time::timeout(Duration::from_millis(300), s.recv(&mut buf)).await {
        if Message::from_bytes(&buf[..n]).is_ok() {
            answered += 1;
        }
    }
    assert!(answered > 0);
    // And it still answers normally.
    let m = ask(&server, "nothing.vpce.amazonaws.com", RecordType::A).await;
    assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
    let t = tcp(dns, &query("nothing.vpce.amazonaws.com", RecordType::A)).await;
    assert_eq!(t.metadata.response_code, ResponseCode::NXDomain);
}

#[tokio::test]
async fn names_come_back_after_a_restart() {
    let dir = std::env::temp_dir().join(format!("airlock-dns-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut cfg = config();
    cfg.data_dir = Some(dir.clone());
    let server = start_with(cfg.clone()).await;
    let w = world(&server).await;
    create(&w, "persisted").send().await.unwrap();
    wait_for(&w.mwaa, "persisted", "AVAILABLE").await;
    let env = environment(&w.mwaa, "persisted").await;
    let host = env.webserver_url().unwrap().to_owned();
    let before = ips(&ask(&server, &host, RecordType::A).await);
    assert_eq!(before.len(), 2);
    server.stop().await.unwrap();
    let server = start_with(cfg).await;
    assert_eq!(ips(&ask(&server, &host, RecordType::A).await), before);
    server.stop().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// China's regions name their endpoints under `amazonaws.com.cn`, as AWS does: a load
/// balancer's DNS name, an interface endpoint's DNS entries and the service's private DNS
/// name, and the public endpoint; each resolves in Airlock's DNS, and the same name under
/// `amazonaws.com` does not exist.
#[tokio::test]
async fn names_in_china_are_under_amazonaws_com_cn() {
    let server = start_with(config()).await;
    let conf = airlock_tests::sdk_config(&server, "test", "test", None, "cn-north-1").await;
    let ec2 = aws_sdk_ec2::Client::new(&conf);
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&conf);
    let (vpc, subnets) = airlock_tests::world::vpc_with_subnets(
        &ec2,
        "10.9.0.0/16",
        &[
            ("10.9.0.0/24", "cn-north-1a"),
            ("10.9.1.0/24", "cn-north-1b"),
        ],
    )
    .await;

    let lb = elb
        .create_load_balancer()
        .name("china")
        .scheme(aws_sdk_elasticloadbalancingv2::types::LoadBalancerSchemeEnum::Internal)
        .set_subnets(Some(subnets.clone()))
        .send()
        .await
        .unwrap();
    let lb = &lb.load_balancers()[0];
    let lb_name = lb.dns_name().unwrap().to_owned();
    assert!(
        lb_name.starts_with("internal-china-")
            && lb_name.ends_with(".cn-north-1.elb.amazonaws.com.cn"),
        "{lb_name}"
    );
    crate::elbv2::wait_active(&elb, lb.load_balancer_arn().unwrap()).await;
    let lb_ips = ips(&ask(&server, &lb_name, RecordType::A).await);
    assert_eq!(lb_ips.len(), 2, "{lb_name}");
    assert!(
        lb_ips.iter().all(|ip| ip.octets()[..2] == [10, 9]),
        "{lb_ips:?}"
    );
    let in_com = lb_name.trim_end_matches(".cn");
    let m = ask(&server, in_com, RecordType::A).await;
    assert_eq!(m.response_code, ResponseCode::NXDomain, "{in_com}");

    let e = ec2
        .create_vpc_endpoint()
        .vpc_id(&vpc)
        .service_name("com.amazonaws.cn-north-1.sts")
        .vpc_endpoint_type(aws_sdk_ec2::types::VpcEndpointType::Interface)
        .set_subnet_ids(Some(subnets.clone()))
        .private_dns_enabled(true)
        .send()
        .await
        .unwrap();
    let e = e.vpc_endpoint().unwrap();
    let entry = e.dns_entries()[0].dns_name().unwrap().to_owned();
    assert!(
        entry.ends_with(".sts.cn-north-1.vpce.amazonaws.com.cn"),
        "{entry}"
    );
    let services = ec2
        .describe_vpc_endpoint_services()
        .service_names("com.amazonaws.cn-north-1.sts")
        .send()
        .await
        .unwrap();
    assert_eq!(
        services.service_details()[0].private_dns_name(),
        Some("sts.cn-north-1.amazonaws.com.cn")
    );
    let endpoint_ips = wait_until("the endpoint's name resolves", DEADLINE, || async {
        let found = ips(&ask(&server, &entry, RecordType::A).await);
        holds(found.len() == 2, found.clone()).map(|()| found)
    })
    .await;
    assert!(endpoint_ips.iter().all(|ip| ip.octets()[..2] == [10, 9]));

    // Public DNS: the regional endpoint exists in its partition's suffix only.
    let public = ips(&ask(&server, "sts.cn-north-1.amazonaws.com.cn", RecordType::A).await);
    assert_eq!(public.len(), 1);
    let m = ask(&server, "sts.cn-north-1.amazonaws.com", RecordType::A).await;
    assert_eq!(m.response_code, ResponseCode::NXDomain);
    let m = ask(&server, "sts.us-west-2.amazonaws.com.cn", RecordType::A).await;
    assert_eq!(m.response_code, ResponseCode::NXDomain);
    server.stop().await.unwrap();
}
