//! EC2 instances for a bastion host: RunInstances, DescribeInstances, Stop/Start/Terminate, and
//! the public DNS names of instances.

use airlock_server::{Running, ServerConfig};
use airlock_tests::{default_config, holds, start_with, wait_until, DEADLINE};
use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_sdk_ec2::types::{
    AttributeBooleanValue, Filter, Instance, InstanceNetworkInterfaceSpecification,
    InstanceStateName, InstanceType, ResourceType, Tag, TagSpecification,
};
use aws_sdk_ec2::Client;
use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinEncodable};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;
use tokio::net::UdpSocket;

const AMI: &str = "ami-0123456789abcdef0";

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

fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

fn in_public_pool(ip: &str) -> bool {
    let ip: Ipv4Addr = ip.parse().unwrap();
    ip.octets()[..2] == [127, 255]
}

async fn resolve(server: &Running, name: &str) -> (ResponseCode, Vec<Ipv4Addr>) {
    let mut m = Message::new(7, MessageType::Query, OpCode::Query);
    m.add_query(Query::query(Name::from_ascii(name).unwrap(), RecordType::A));
    let s = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    s.send_to(&m.to_bytes().unwrap(), server.dns_addr.unwrap())
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(2), s.recv(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let m = Message::from_bytes(&buf[..n]).unwrap();
    let ips = m
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(a.0),
            _ => None,
        })
        .collect();
    (m.metadata.response_code, ips)
}

async fn describe(ec2: &Client, id: &str) -> Instance {
    let out = ec2
        .describe_instances()
        .instance_ids(id)
        .send()
        .await
        .unwrap();
    assert_eq!(out.reservations().len(), 1);
    out.reservations()[0].instances()[0].clone()
}

async fn wait_for(ec2: &Client, id: &str, state: InstanceStateName) -> Instance {
    wait_until(&format!("{id} {state:?}"), DEADLINE, || async {
        let i = describe(ec2, id).await;
        let now = i.state().and_then(|s| s.name()).cloned();
        holds(now.as_ref() == Some(&state), now).map(|()| i)
    })
    .await
}

/// A VPC with DNS hostnames, a public subnet (MapPublicIpOnLaunch) and a security group.
async fn public_network(ec2: &Client) -> (String, String, String) {
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.0.0.0/16")
        .send()
        .await
        .unwrap()
        .vpc()
        .unwrap()
        .vpc_id()
        .unwrap()
        .to_owned();
    ec2.modify_vpc_attribute()
        .vpc_id(&vpc)
        .enable_dns_hostnames(AttributeBooleanValue::builder().value(true).build())
        .send()
        .await
        .unwrap();
    let subnet = ec2
        .create_subnet()
        .vpc_id(&vpc)
        .cidr_block("10.0.1.0/24")
        .availability_zone("us-west-2a")
        .send()
        .await
        .unwrap()
        .subnet()
        .unwrap()
        .subnet_id()
        .unwrap()
        .to_owned();
    ec2.modify_subnet_attribute()
        .subnet_id(&subnet)
        .map_public_ip_on_launch(AttributeBooleanValue::builder().value(true).build())
        .send()
        .await
        .unwrap();
    let sg = ec2
        .create_security_group()
        .group_name("bastion")
        .description("SSH in")
        .vpc_id(&vpc)
        .send()
        .await
        .unwrap()
        .group_id()
        .unwrap()
        .to_owned();
    (vpc, subnet, sg)
}

#[tokio::test]
async fn a_bastion_runs_stops_starts_and_terminates() {
    let server = start_with(config()).await;
    let ec2 = Client::new(&default_config(&server).await);
    let (vpc, subnet, sg) = public_network(&ec2).await;
    ec2.create_key_pair()
        .key_name("bastion")
        .send()
        .await
        .unwrap();

    let res = ec2
        .run_instances()
        .image_id(AMI)
        .instance_type(InstanceType::T3Micro)
        .key_name("bastion")
        .subnet_id(&subnet)
        .security_group_ids(&sg)
        .min_count(1)
        .max_count(1)
        .tag_specifications(
            TagSpecification::builder()
                .resource_type(ResourceType::Instance)
                .tags(Tag::builder().key("Name").value("bastion").build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(res.reservation_id().unwrap().starts_with("r-"));
    assert_eq!(res.owner_id(), Some("000000000000"));
    assert_eq!(res.instances().len(), 1);
    let i = &res.instances()[0];
    let id = i.instance_id().unwrap().to_owned();
    assert!(id.starts_with("i-") && id.len() == 19);
    assert_eq!(i.state().unwrap().code(), Some(0));
    assert_eq!(i.state().unwrap().name(), Some(&InstanceStateName::Pending));
    assert_eq!(i.image_id(), Some(AMI));
    assert_eq!(i.instance_type(), Some(&InstanceType::T3Micro));
    assert_eq!(i.key_name(), Some("bastion"));
    assert_eq!(i.subnet_id(), Some(subnet.as_str()));
    assert_eq!(i.vpc_id(), Some(vpc.as_str()));
    assert_eq!(i.ami_launch_index(), Some(0));
    assert!(i.client_token().is_some_and(|t| !t.is_empty()));
    let private_ip = i.private_ip_address().unwrap().to_owned();
    assert!(private_ip.starts_with("10.0.1."));
    assert_eq!(
        i.private_dns_name(),
        Some(
            format!(
                "ip-{}.us-west-2.compute.internal",
                private_ip.replace('.', "-")
            )
            .as_str()
        )
    );
    assert_eq!(i.security_groups()[0].group_id(), Some(sg.as_str()));
    assert_eq!(i.security_groups()[0].group_name(), Some("bastion"));
    assert_eq!(i.tags()[0].value(), Some("bastion"));

    let i = wait_for(&ec2, &id, InstanceStateName::Running).await;
    assert_eq!(i.state().unwrap().code(), Some(16));
    let public_ip = i.public_ip_address().unwrap().to_owned();
    assert!(in_public_pool(&public_ip), "{public_ip}");
    let dns = format!(
        "ec2-{}.us-west-2.compute.amazonaws.com",
        public_ip.replace('.', "-")
    );
    assert_eq!(i.public_dns_name(), Some(dns.as_str()));
    assert_eq!(i.state_transition_reason(), Some(""));
    assert_eq!(
        i.placement().unwrap().availability_zone(),
        Some("us-west-2a")
    );
    assert_eq!(
        i.placement().unwrap().tenancy().map(|t| t.as_str()),
        Some("default")
    );
    assert_eq!(
        i.monitoring().unwrap().state().map(|s| s.as_str()),
        Some("disabled")
    );
    assert_eq!(i.root_device_name(), Some("/dev/xvda"));
    assert_eq!(i.architecture().map(|a| a.as_str()), Some("x86_64"));
    assert_eq!(i.cpu_options().unwrap().core_count(), Some(1));
    assert_eq!(i.cpu_options().unwrap().threads_per_core(), Some(2));
    assert_eq!(i.platform_details(), Some("Linux/UNIX"));
    let md = i.metadata_options().unwrap();
    assert_eq!(md.state().map(|s| s.as_str()), Some("applied"));
    assert_eq!(md.http_tokens().map(|s| s.as_str()), Some("required"));
    assert_eq!(md.http_put_response_hop_limit(), Some(2));
    let bdm = &i.block_device_mappings()[0];
    assert_eq!(bdm.device_name(), Some("/dev/xvda"));
    assert!(bdm.ebs().unwrap().volume_id().unwrap().starts_with("vol-"));
    let ni = &i.network_interfaces()[0];
    let eni = ni.network_interface_id().unwrap().to_owned();
    assert_eq!(ni.private_ip_address(), Some(private_ip.as_str()));
    assert_eq!(
        ni.association().unwrap().public_ip(),
        Some(public_ip.as_str())
    );
    assert_eq!(ni.association().unwrap().ip_owner_id(), Some("amazon"));
    assert_eq!(ni.attachment().unwrap().device_index(), Some(0));
    assert_eq!(ni.attachment().unwrap().delete_on_termination(), Some(true));
    assert_eq!(ni.status().map(|s| s.as_str()), Some("in-use"));
    assert_eq!(ni.groups()[0].group_id(), Some(sg.as_str()));

    // The interface, as DescribeNetworkInterfaces shows it.
    let enis = ec2
        .describe_network_interfaces()
        .filters(filter("attachment.instance-id", &id))
        .send()
        .await
        .unwrap();
    assert_eq!(enis.network_interfaces().len(), 1);
    let n = &enis.network_interfaces()[0];
    assert_eq!(n.network_interface_id(), Some(eni.as_str()));
    assert_eq!(n.attachment().unwrap().instance_id(), Some(id.as_str()));
    assert_eq!(n.status().map(|s| s.as_str()), Some("in-use"));
    assert_eq!(
        n.association().unwrap().public_ip(),
        Some(public_ip.as_str())
    );
    let err = ec2
        .delete_network_interface()
        .network_interface_id(&eni)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidNetworkInterface.InUse"));

    // The public name resolves to the public address.
    let (rcode, ips) = resolve(&server, &dns).await;
    assert_eq!(rcode, ResponseCode::NoError);
    assert_eq!(ips, vec![public_ip.parse::<Ipv4Addr>().unwrap()]);
    let (rcode, _) = resolve(&server, "ec2-127-255-0-0.us-west-2.compute.amazonaws.com").await;
    assert_eq!(rcode, ResponseCode::NXDomain);

    // Filters.
    for (name, value) in [
        ("instance-id", id.as_str()),
        ("instance-state-name", "running"),
        ("instance-state-code", "16"),
        ("instance-type", "t3.micro"),
        ("subnet-id", subnet.as_str()),
        ("vpc-id", vpc.as_str()),
        ("key-name", "bastion"),
        ("private-ip-address", private_ip.as_str()),
        ("ip-address", public_ip.as_str()),
        ("dns-name", dns.as_str()),
        ("network-interface.network-interface-id", eni.as_str()),
        ("instance.group-id", sg.as_str()),
        ("instance.group-name", "bastion"),
        ("tag:Name", "bastion"),
        ("tag-key", "Name"),
        ("reservation-id", res.reservation_id().unwrap()),
        ("availability-zone", "us-west-2a"),
        ("image-id", AMI),
        ("private-dns-name", "ip-10-0-1-*"),
    ] {
        let out = ec2
            .describe_instances()
            .filters(filter(name, value))
            .send()
            .await
            .unwrap();
        let found: Vec<&str> = out
            .reservations()
            .iter()
            .flat_map(|r| r.instances())
            .filter_map(|i| i.instance_id())
            .collect();
        assert_eq!(found, vec![id.as_str()], "{name}={value}");
    }
    let none = ec2
        .describe_instances()
        .filters(filter("instance-state-name", "stopped"))
        .send()
        .await
        .unwrap();
    assert!(none.reservations().is_empty());
    let err = ec2
        .describe_instances()
        .filters(filter("no-such-filter", "x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidParameterValue"));

    // DescribeTags covers instances.
    let tags = ec2
        .describe_tags()
        .filters(filter("resource-id", &id))
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tags().len(), 1);
    assert_eq!(tags.tags()[0].key(), Some("Name"));
    assert_eq!(
        tags.tags()[0].resource_type().map(|r| r.as_str()),
        Some("instance")
    );
    ec2.create_tags()
        .resources(&id)
        .tags(Tag::builder().key("Role").value("bastion").build())
        .send()
        .await
        .unwrap();
    assert_eq!(describe(&ec2, &id).await.tags().len(), 2);

    // The subnet and the group are in use.
    let err = ec2
        .delete_subnet()
        .subnet_id(&subnet)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("DependencyViolation"));
    let err = ec2
        .delete_security_group()
        .group_id(&sg)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("DependencyViolation"));

    // Start on a running instance answers with its state.
    let out = ec2
        .start_instances()
        .instance_ids(&id)
        .send()
        .await
        .unwrap();
    let c = &out.starting_instances()[0];
    assert_eq!(
        c.current_state().unwrap().name(),
        Some(&InstanceStateName::Running)
    );
    assert_eq!(
        c.previous_state().unwrap().name(),
        Some(&InstanceStateName::Running)
    );

    // Stop: the auto-assigned public address goes.
    let out = ec2.stop_instances().instance_ids(&id).send().await.unwrap();
    let c = &out.stopping_instances()[0];
    assert_eq!(c.instance_id(), Some(id.as_str()));
    assert_eq!(c.current_state().unwrap().code(), Some(64));
    assert_eq!(
        c.current_state().unwrap().name(),
        Some(&InstanceStateName::Stopping)
    );
    assert_eq!(c.previous_state().unwrap().code(), Some(16));
    let i = describe(&ec2, &id).await;
    assert_eq!(i.public_ip_address(), None);
    assert_eq!(i.public_dns_name(), Some(""));
    let i = wait_for(&ec2, &id, InstanceStateName::Stopped).await;
    assert_eq!(i.state().unwrap().code(), Some(80));
    assert!(i
        .state_transition_reason()
        .unwrap()
        .starts_with("User initiated ("));
    assert_eq!(
        i.state_reason().unwrap().code(),
        Some("Client.UserInitiatedShutdown")
    );
    assert_eq!(i.private_ip_address(), Some(private_ip.as_str()));
    let (rcode, _) = resolve(&server, &dns).await;
    assert_eq!(rcode, ResponseCode::NXDomain);
    let err = ec2.start_instances().instance_ids(&id).send();
    let out = err.await.unwrap();
    assert_eq!(
        out.starting_instances()[0].previous_state().unwrap().code(),
        Some(80)
    );
    assert_eq!(
        out.starting_instances()[0].current_state().unwrap().code(),
        Some(0)
    );

    // Start: a new public address.
    let i = wait_for(&ec2, &id, InstanceStateName::Running).await;
    let new_ip = i.public_ip_address().unwrap().to_owned();
    assert!(in_public_pool(&new_ip));
    assert_eq!(i.private_ip_address(), Some(private_ip.as_str()));
    let new_dns = format!(
        "ec2-{}.us-west-2.compute.amazonaws.com",
        new_ip.replace('.', "-")
    );
    assert_eq!(i.public_dns_name(), Some(new_dns.as_str()));
    let (_, ips) = resolve(&server, &new_dns).await;
    assert_eq!(ips, vec![new_ip.parse::<Ipv4Addr>().unwrap()]);

    // Terminate: the interface goes with it.
    let out = ec2
        .terminate_instances()
        .instance_ids(&id)
        .send()
        .await
        .unwrap();
    let c = &out.terminating_instances()[0];
    assert_eq!(c.current_state().unwrap().code(), Some(32));
    assert_eq!(
        c.current_state().unwrap().name(),
        Some(&InstanceStateName::ShuttingDown)
    );
    assert_eq!(c.previous_state().unwrap().code(), Some(16));
    let err = ec2
        .describe_network_interfaces()
        .network_interface_ids(&eni)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidNetworkInterfaceID.NotFound"));
    let i = wait_for(&ec2, &id, InstanceStateName::Terminated).await;
    assert_eq!(i.state().unwrap().code(), Some(48));
    assert_eq!(i.public_ip_address(), None);
    assert!(i.network_interfaces().is_empty());
    assert_eq!(i.private_dns_name(), Some(""));
    let (rcode, _) = resolve(&server, &new_dns).await;
    assert_eq!(rcode, ResponseCode::NXDomain);
    let err = ec2
        .stop_instances()
        .instance_ids(&id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("IncorrectInstanceState"));
    assert_eq!(
        err.message(),
        Some(
            format!("The instance '{id}' is not in a state from which it can be stopped.").as_str()
        )
    );
    let out = ec2
        .terminate_instances()
        .instance_ids(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        out.terminating_instances()[0]
            .current_state()
            .unwrap()
            .code(),
        Some(48)
    );
    // Nothing holds the subnet any more.
    ec2.delete_security_group()
        .group_id(&sg)
        .send()
        .await
        .unwrap();
    ec2.delete_subnet().subnet_id(&subnet).send().await.unwrap();
}

#[tokio::test]
async fn launch_errors() {
    let server = start_with(config()).await;
    let ec2 = Client::new(&default_config(&server).await);
    let run = || ec2.run_instances().image_id(AMI).min_count(1).max_count(1);

    let err = run().key_name("nope").send().await.unwrap_err();
    assert_eq!(err.code(), Some("InvalidKeyPair.NotFound"));
    assert_eq!(err.message(), Some("The key pair 'nope' does not exist"));
    let err = ec2
        .run_instances()
        .image_id("ami-xyz")
        .min_count(1)
        .max_count(1)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidAMIID.Malformed"));
    let err = run()
        .subnet_id("subnet-0123456789abcdef0")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidSubnetID.NotFound"));
    let err = run()
        .security_group_ids("sg-0123456789abcdef0")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidGroup.NotFound"));
    let err = run()
        .instance_type(InstanceType::P548xlarge)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidParameterValue"));
    let err = ec2
        .run_instances()
        .image_id(AMI)
        .min_count(21)
        .max_count(21)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InstanceLimitExceeded"));
    let err = ec2
        .run_instances()
        .image_id(AMI)
        .min_count(3)
        .max_count(2)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidParameterValue"));
    let err = run().dry_run(true).send().await.unwrap_err();
    assert_eq!(err.code(), Some("DryRunOperation"));

    let err = ec2
        .describe_instances()
        .instance_ids("i-0123456789abcdef0")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidInstanceID.NotFound"));
    assert_eq!(
        err.message(),
        Some("The instance ID 'i-0123456789abcdef0' does not exist")
    );
    let err = ec2
        .describe_instances()
        .instance_ids("i-123")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidInstanceID.Malformed"));
    let err = ec2
        .stop_instances()
        .instance_ids("i-0123456789abcdef0")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidInstanceID.NotFound"));
    // Nothing was launched by the failed calls.
    let out = ec2.describe_instances().send().await.unwrap();
    assert!(out.reservations().is_empty());
}

#[tokio::test]
async fn default_network_pagination_idempotency_and_expiry() {
    let server = start_with(config()).await;
    let ec2 = Client::new(&default_config(&server).await);
    let res = ec2
        .run_instances()
        .image_id(AMI)
        .min_count(1)
        .max_count(7)
        .client_token("seven")
        .send()
        .await
        .unwrap();
    assert_eq!(res.instances().len(), 7);
    let indexes: Vec<i32> = res
        .instances()
        .iter()
        .filter_map(|i| i.ami_launch_index())
        .collect();
    assert_eq!(indexes, (0..7).collect::<Vec<_>>());
    let first = &res.instances()[0];
    // The default subnet of the first zone, which maps public addresses; the default VPC has DNS
    // hostnames.
    assert_eq!(
        first.placement().unwrap().availability_zone(),
        Some("us-west-2a")
    );
    assert_eq!(first.instance_type(), Some(&InstanceType::M1Small));
    assert!(first.private_ip_address().unwrap().starts_with("172.31."));
    assert_eq!(first.security_groups()[0].group_name(), Some("default"));
    let i = describe(&ec2, first.instance_id().unwrap()).await;
    assert!(in_public_pool(i.public_ip_address().unwrap()));
    assert!(i
        .public_dns_name()
        .unwrap()
        .ends_with(".us-west-2.compute.amazonaws.com"));

    // The same client token gives back the same reservation.
    let again = ec2
        .run_instances()
        .image_id(AMI)
        .min_count(1)
        .max_count(7)
        .client_token("seven")
        .send()
        .await
        .unwrap();
    assert_eq!(again.reservation_id(), res.reservation_id());
    assert_eq!(again.instances().len(), 7);

    // A second reservation, without a public address.
    let other = ec2
        .run_instances()
        .image_id(AMI)
        .instance_type(InstanceType::T2Micro)
        .min_count(1)
        .max_count(1)
        .network_interfaces(
            InstanceNetworkInterfaceSpecification::builder()
                .device_index(0)
                .associate_public_ip_address(false)
                .delete_on_termination(false)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let other_id = other.instances()[0].instance_id().unwrap().to_owned();
    let o = describe(&ec2, &other_id).await;
    assert_eq!(o.public_ip_address(), None);
    assert_eq!(o.public_dns_name(), Some(""));

    // Pages of 5 over 8 instances.
    let page1 = ec2
        .describe_instances()
        .max_results(5)
        .send()
        .await
        .unwrap();
    let n1: usize = page1
        .reservations()
        .iter()
        .map(|r| r.instances().len())
        .sum();
    assert_eq!(n1, 5);
    let token = page1.next_token().unwrap().to_owned();
    let page2 = ec2
        .describe_instances()
        .max_results(5)
        .next_token(token)
        .send()
        .await
        .unwrap();
    let n2: usize = page2
        .reservations()
        .iter()
        .map(|r| r.instances().len())
        .sum();
    assert_eq!(n2, 3);
    assert!(page2.next_token().is_none());
    let err = ec2
        .describe_instances()
        .max_results(4)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidParameterValue"));
    let all: Vec<Instance> = ec2
        .describe_instances()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap()
        .into_iter()
        .flat_map(|r| r.instances().to_vec())
        .collect();
    assert_eq!(all.len(), 8);

    // Terminated instances: an interface without DeleteOnTermination stays, detached; the
    // instance disappears an hour (3.6 s here) after it terminated.
    let eni = o.network_interfaces()[0]
        .network_interface_id()
        .unwrap()
        .to_owned();
    ec2.terminate_instances()
        .instance_ids(&other_id)
        .send()
        .await
        .unwrap();
    let n = ec2
        .describe_network_interfaces()
        .network_interface_ids(&eni)
        .send()
        .await
        .unwrap();
    let n = &n.network_interfaces()[0];
    assert_eq!(n.status().map(|s| s.as_str()), Some("available"));
    assert!(n.attachment().is_none());
    wait_for(&ec2, &other_id, InstanceStateName::Terminated).await;
    let err = wait_until(&format!("{other_id} gone"), DEADLINE, || async {
        match ec2
            .describe_instances()
            .instance_ids(&other_id)
            .send()
            .await
        {
            Ok(o) => Err(o.reservations().len()),
            Err(e) => Ok(e),
        }
    })
    .await;
    assert_eq!(err.code(), Some("InvalidInstanceID.NotFound"));
    ec2.delete_network_interface()
        .network_interface_id(&eni)
        .send()
        .await
        .unwrap();
}

/// What Terraform's `aws_network_interface` (+ `_attachment`) does: an interface with secondary
/// addresses (given and counted), more assigned and one unassigned, attached to an instance as
/// its second interface (shown in DescribeInstances), its attributes read one at a time, and
/// detached again; the primary interface cannot be detached.
#[tokio::test]
async fn interfaces_hold_secondary_addresses_and_attach_to_instances() {
    let server = start_with(config()).await;
    let ec2 = Client::new(&default_config(&server).await);
    let (_vpc, subnet, sg) = public_network(&ec2).await;
    let created = ec2
        .create_network_interface()
        .subnet_id(&subnet)
        .groups(&sg)
        .private_ip_addresses(
            aws_sdk_ec2::types::PrivateIpAddressSpecification::builder()
                .private_ip_address("10.0.1.50")
                .primary(true)
                .build(),
        )
        .private_ip_addresses(
            aws_sdk_ec2::types::PrivateIpAddressSpecification::builder()
                .private_ip_address("10.0.1.51")
                .primary(false)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let eni = created.network_interface().unwrap();
    let eni_id = eni.network_interface_id().unwrap().to_owned();
    let addrs: Vec<(&str, bool)> = eni
        .private_ip_addresses()
        .iter()
        .map(|a| (a.private_ip_address().unwrap(), a.primary().unwrap()))
        .collect();
    assert_eq!(addrs, [("10.0.1.50", true), ("10.0.1.51", false)]);
    let assigned = ec2
        .assign_private_ip_addresses()
        .network_interface_id(&eni_id)
        .secondary_private_ip_address_count(2)
        .send()
        .await
        .unwrap();
    assert_eq!(assigned.assigned_private_ip_addresses().len(), 2);
    let taken = ec2
        .create_network_interface()
        .subnet_id(&subnet)
        .private_ip_address("10.0.1.51")
        .send()
        .await
        .unwrap_err();
    assert_eq!(taken.code(), Some("InvalidIPAddress.InUse"));
    ec2.unassign_private_ip_addresses()
        .network_interface_id(&eni_id)
        .private_ip_addresses("10.0.1.51")
        .send()
        .await
        .unwrap();
    let err = ec2
        .unassign_private_ip_addresses()
        .network_interface_id(&eni_id)
        .private_ip_addresses("10.0.1.50")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidParameterValue"));
    let by_secondary = ec2
        .describe_network_interfaces()
        .filters(filter(
            "addresses.private-ip-address",
            assigned.assigned_private_ip_addresses()[0]
                .private_ip_address()
                .unwrap(),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(by_secondary.network_interfaces().len(), 1);

    let run = ec2
        .run_instances()
        .image_id(AMI)
        .min_count(1)
        .max_count(1)
        .subnet_id(&subnet)
        .send()
        .await
        .unwrap();
    let instance = run.instances()[0].instance_id().unwrap().to_owned();
    let attached = ec2
        .attach_network_interface()
        .network_interface_id(&eni_id)
        .instance_id(&instance)
        .device_index(1)
        .send()
        .await
        .unwrap();
    let attachment = attached.attachment_id().unwrap().to_owned();
    assert!(attachment.starts_with("eni-attach-"));
    let err = ec2
        .attach_network_interface()
        .network_interface_id(&eni_id)
        .instance_id(&instance)
        .device_index(2)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidNetworkInterface.InUse"));
    let seen = describe(&ec2, &instance).await;
    let ids: Vec<&str> = seen
        .network_interfaces()
        .iter()
        .map(|n| n.network_interface_id().unwrap())
        .collect();
    assert_eq!(ids.len(), 2);
    assert_eq!(ids[1], eni_id);
    let attr = ec2
        .describe_network_interface_attribute()
        .network_interface_id(&eni_id)
        .attribute(aws_sdk_ec2::types::NetworkInterfaceAttribute::Attachment)
        .send()
        .await
        .unwrap();
    assert_eq!(
        attr.attachment().unwrap().instance_id(),
        Some(instance.as_str())
    );
    let groups = ec2
        .describe_network_interface_attribute()
        .network_interface_id(&eni_id)
        .attribute(aws_sdk_ec2::types::NetworkInterfaceAttribute::GroupSet)
        .send()
        .await
        .unwrap();
    assert_eq!(groups.groups()[0].group_id(), Some(sg.as_str()));
    let primary = seen.network_interfaces()[0]
        .attachment()
        .unwrap()
        .attachment_id()
        .unwrap()
        .to_owned();
    let err = ec2
        .detach_network_interface()
        .attachment_id(&primary)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("OperationNotPermitted"));
    ec2.detach_network_interface()
        .attachment_id(&attachment)
        .send()
        .await
        .unwrap();
    let after = ec2
        .describe_network_interfaces()
        .network_interface_ids(&eni_id)
        .send()
        .await
        .unwrap();
    let after = &after.network_interfaces()[0];
    assert_eq!(after.status().map(|s| s.as_str()), Some("available"));
    assert!(after.attachment().is_none());
    assert_eq!(
        describe(&ec2, &instance).await.network_interfaces().len(),
        1
    );
}

/// DescribeInstanceTypes answers for the types RunInstances takes, filtered as Terraform's
/// `data "aws_ec2_instance_type"` and launch wizards ask.
#[tokio::test]
async fn instance_types_are_described() {
    let server = start_with(config()).await;
    let ec2 = Client::new(&default_config(&server).await);
    let out = ec2
        .describe_instance_types()
        .instance_types(InstanceType::T3Micro)
        .send()
        .await
        .unwrap();
    let t = &out.instance_types()[0];
    assert_eq!(t.instance_type().map(|t| t.as_str()), Some("t3.micro"));
    assert_eq!(t.v_cpu_info().unwrap().default_v_cpus(), Some(2));
    assert_eq!(t.memory_info().unwrap().size_in_mib(), Some(1024));
    assert_eq!(t.free_tier_eligible(), Some(true));
    let free = ec2
        .describe_instance_types()
        .filters(filter("free-tier-eligible", "true"))
        .send()
        .await
        .unwrap();
    let names: Vec<&str> = free
        .instance_types()
        .iter()
        .map(|t| t.instance_type().unwrap().as_str())
        .collect();
    assert_eq!(names, ["t2.micro", "t3.micro"]);
    let err = ec2
        .describe_instance_types()
        .instance_types(InstanceType::from("x9.huge"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidParameterValue"));
}

/// A burstable instance's CPU credits (set at launch, read and changed), refused for other
/// types; detailed monitoring on and off; metadata options changed after launch.
#[tokio::test]
async fn credits_monitoring_and_metadata_options() {
    let server = start_with(config()).await;
    let ec2 = Client::new(&default_config(&server).await);
    let (_vpc, subnet, _sg) = public_network(&ec2).await;
    let launch = |t: InstanceType| {
        let (ec2, subnet) = (ec2.clone(), subnet.clone());
        async move {
            ec2.run_instances()
                .image_id(AMI)
                .instance_type(t)
                .min_count(1)
                .max_count(1)
                .subnet_id(subnet)
        }
    };
    let t3 = launch(InstanceType::T3Small)
        .await
        .credit_specification(
            aws_sdk_ec2::types::CreditSpecificationRequest::builder()
                .cpu_credits("standard")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let t3 = t3.instances()[0].instance_id().unwrap().to_owned();
    let err = launch(InstanceType::M5Large)
        .await
        .credit_specification(
            aws_sdk_ec2::types::CreditSpecificationRequest::builder()
                .cpu_credits("unlimited")
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidParameterCombination"));
    let m5 = launch(InstanceType::M5Large).await.send().await.unwrap();
    let m5 = m5.instances()[0].instance_id().unwrap().to_owned();
    let credits = ec2
        .describe_instance_credit_specifications()
        .instance_ids(&t3)
        .send()
        .await
        .unwrap();
    assert_eq!(
        credits.instance_credit_specifications()[0].cpu_credits(),
        Some("standard")
    );
    let err = ec2
        .describe_instance_credit_specifications()
        .instance_ids(&m5)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("UnsupportedOperation"));
    let changed = ec2
        .modify_instance_credit_specification()
        .instance_credit_specifications(
            aws_sdk_ec2::types::InstanceCreditSpecificationRequest::builder()
                .instance_id(&t3)
                .cpu_credits("unlimited")
                .build(),
        )
        .instance_credit_specifications(
            aws_sdk_ec2::types::InstanceCreditSpecificationRequest::builder()
                .instance_id(&m5)
                .cpu_credits("unlimited")
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(changed.successful_instance_credit_specifications().len(), 1);
    assert_eq!(
        changed.unsuccessful_instance_credit_specifications()[0].instance_id(),
        Some(m5.as_str())
    );
    let all = ec2
        .describe_instance_credit_specifications()
        .send()
        .await
        .unwrap();
    let listed: Vec<(&str, &str)> = all
        .instance_credit_specifications()
        .iter()
        .map(|c| (c.instance_id().unwrap(), c.cpu_credits().unwrap()))
        .collect();
    assert_eq!(listed, [(t3.as_str(), "unlimited")]);

    let on = ec2
        .monitor_instances()
        .instance_ids(&m5)
        .send()
        .await
        .unwrap();
    assert_eq!(
        on.instance_monitorings()[0]
            .monitoring()
            .unwrap()
            .state()
            .map(|s| s.as_str()),
        Some("pending")
    );
    ec2.modify_instance_metadata_options()
        .instance_id(&m5)
        .http_tokens(aws_sdk_ec2::types::HttpTokensState::Optional)
        .send()
        .await
        .unwrap();
    let seen = describe(&ec2, &m5).await;
    assert_eq!(
        seen.monitoring().unwrap().state().map(|s| s.as_str()),
        Some("enabled")
    );
    assert_eq!(
        seen.metadata_options()
            .unwrap()
            .http_tokens()
            .map(|t| t.as_str()),
        Some("optional")
    );
    ec2.unmonitor_instances()
        .instance_ids(&m5)
        .send()
        .await
        .unwrap();
    let seen = describe(&ec2, &m5).await;
    assert_eq!(
        seen.monitoring().unwrap().state().map(|s| s.as_str()),
        Some("disabled")
    );
}
