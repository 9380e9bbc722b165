use airlock_server::ServerConfig;
use airlock_tests::{default_config, holds, start, start_with, wait_until, DEADLINE};
use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_sdk_ec2::types::{
    Filter, IpPermission, ResourceType, Tag, TagSpecification, UserIdGroupPair, VpcEndpointType,
};
use aws_sdk_ec2::Client;
use std::net::{Ipv4Addr, SocketAddr};

fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

fn in_cidr(ip: &str, cidr: &str) -> bool {
    let (base, len) = cidr.split_once('/').unwrap();
    let base = u32::from(base.parse::<Ipv4Addr>().unwrap());
    let len: u32 = len.parse().unwrap();
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    let ip = u32::from(ip.parse::<Ipv4Addr>().unwrap());
    ip & mask == base && ip & !mask >= 4 && ip & !mask != !mask
}

async fn client() -> (airlock_server::Running, Client) {
    let server = start_with(ServerConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        dns_listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        services: airlock_services::Config {
            time_scale: 0.001,
            ..Default::default()
        },
        ..ServerConfig::default()
    })
    .await;
    let ec2 = Client::new(&default_config(&server).await);
    (server, ec2)
}

#[tokio::test]
async fn every_region_starts_with_a_default_network() {
    let server = start().await;
    let ec2 = Client::new(&default_config(&server).await);
    let vpcs = ec2.describe_vpcs().send().await.unwrap();
    let vpc = &vpcs.vpcs()[0];
    assert_eq!(vpcs.vpcs().len(), 1);
    assert_eq!(vpc.cidr_block(), Some("172.31.0.0/16"));
    assert_eq!(vpc.is_default(), Some(true));
    let azs = ec2.describe_availability_zones().send().await.unwrap();
    let names: Vec<&str> = azs
        .availability_zones()
        .iter()
        .filter_map(|z| z.zone_name())
        .collect();
    assert_eq!(
        names,
        ["us-west-2a", "us-west-2b", "us-west-2c", "us-west-2d"]
    );
    assert_eq!(azs.availability_zones()[0].zone_id(), Some("usw2-az1"));
    // A filtered answer, then the whole list again (the region's answer is kept while the zones
    // it shows are the same).
    for (zone, want) in [(Some("us-west-2b"), 1), (None, 4), (Some("us-west-2b"), 1)] {
        let req = ec2
            .describe_availability_zones()
            .set_filters(zone.map(|z| vec![filter("zone-name", z)]));
        let azs = req.send().await.unwrap();
        assert_eq!(azs.availability_zones().len(), want);
        // Filtered: only the zone asked for.
        assert!(
            azs.availability_zones()
                .iter()
                .all(|z| zone.is_none_or(|want| z.zone_name() == Some(want))),
            "{zone:?}: {azs:?}"
        );
    }
    let subnets = ec2
        .describe_subnets()
        .filters(filter("default-for-az", "true"))
        .send()
        .await
        .unwrap();
    assert_eq!(subnets.subnets().len(), 4);
    assert!(subnets
        .subnets()
        .iter()
        .all(|s| s.vpc_id() == vpc.vpc_id() && s.map_public_ip_on_launch() == Some(true)));
    assert_eq!(
        subnets.subnets()[0].available_ip_address_count(),
        Some(4091)
    );
    let attrs = ec2
        .describe_account_attributes()
        .attribute_names("default-vpc".into())
        .send()
        .await
        .unwrap();
    let value = attrs.account_attributes()[0].attribute_values()[0].attribute_value();
    assert_eq!(value, vpc.vpc_id());
    let igws = ec2
        .describe_internet_gateways()
        .filters(filter("attachment.vpc-id", vpc.vpc_id().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(igws.internet_gateways().len(), 1);
    // Another region is another network.
    let east = aws_sdk_ec2::Client::new(
        &airlock_tests::sdk_config(&server, "test", "test", None, "eu-central-1").await,
    );
    let east_vpc = east.describe_vpcs().send().await.unwrap();
    assert_ne!(east_vpc.vpcs()[0].vpc_id(), vpc.vpc_id());
    let az = east.describe_availability_zones().send().await.unwrap();
    assert_eq!(az.availability_zones()[0].zone_id(), Some("euc1-az2"));
}

#[tokio::test]
async fn the_mwaa_network_and_an_interface_endpoint() {
    let (_server, ec2) = client().await;
    let (vpc_id, subnets) = airlock_tests::world::vpc_with_subnets(
        &ec2,
        "10.192.0.0/16",
        &[
            ("10.192.10.0/24", "us-west-2a"),
            ("10.192.11.0/24", "us-west-2b"),
            ("10.192.20.0/24", "us-west-2a"),
            ("10.192.21.0/24", "us-west-2b"),
        ],
    )
    .await;
    let igw = ec2.create_internet_gateway().send().await.unwrap();
    let igw_id = igw
        .internet_gateway()
        .unwrap()
        .internet_gateway_id()
        .unwrap()
        .to_owned();
    ec2.attach_internet_gateway()
        .internet_gateway_id(&igw_id)
        .vpc_id(&vpc_id)
        .send()
        .await
        .unwrap();
    let public_rt = ec2
        .create_route_table()
        .vpc_id(&vpc_id)
        .send()
        .await
        .unwrap();
    let public_rt = public_rt
        .route_table()
        .unwrap()
        .route_table_id()
        .unwrap()
        .to_owned();
    ec2.create_route()
        .route_table_id(&public_rt)
        .destination_cidr_block("0.0.0.0/0")
        .gateway_id(&igw_id)
        .send()
        .await
        .unwrap();
    for s in &subnets[..2] {
        ec2.associate_route_table()
            .route_table_id(&public_rt)
            .subnet_id(s)
            .send()
            .await
            .unwrap();
    }
    // Tagged when allocated: the answer has no tags (the model's has none), describing does.
    let eip = ec2
        .allocate_address()
        .domain(aws_sdk_ec2::types::DomainType::Vpc)
        .tag_specifications(
            TagSpecification::builder()
                .resource_type(ResourceType::ElasticIp)
                .tags(Tag::builder().key("Name").value("nat").build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(
        eip.public_ip().unwrap().starts_with("127.255."),
        "public addresses are loopback: {:?}",
        eip.public_ip()
    );
    let described = ec2
        .describe_addresses()
        .allocation_ids(eip.allocation_id().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(described.addresses()[0].tags()[0].value(), Some("nat"));
    let nat = ec2
        .create_nat_gateway()
        .subnet_id(&subnets[0])
        .allocation_id(eip.allocation_id().unwrap())
        .send()
        .await
        .unwrap();
    let nat_id = nat
        .nat_gateway()
        .unwrap()
        .nat_gateway_id()
        .unwrap()
        .to_owned();
    let private_rt = ec2
        .create_route_table()
        .vpc_id(&vpc_id)
        .send()
        .await
        .unwrap();
    let private_rt = private_rt
        .route_table()
        .unwrap()
        .route_table_id()
        .unwrap()
        .to_owned();
    ec2.create_route()
        .route_table_id(&private_rt)
        .destination_cidr_block("0.0.0.0/0")
        .nat_gateway_id(&nat_id)
        .send()
        .await
        .unwrap();
    for s in &subnets[2..] {
        ec2.associate_route_table()
            .route_table_id(&private_rt)
            .subnet_id(s)
            .send()
            .await
            .unwrap();
    }
    let sg = ec2
        .create_security_group()
        .group_name("mwaa")
        .description("MWAA")
        .vpc_id(&vpc_id)
        .send()
        .await
        .unwrap();
    let sg_id = sg.group_id().unwrap().to_owned();
    let rule = ec2
        .authorize_security_group_ingress()
        .group_id(&sg_id)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("-1")
                .user_id_group_pairs(UserIdGroupPair::builder().group_id(&sg_id).build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(rule.security_group_rules()[0]
        .security_group_rule_id()
        .unwrap()
        .starts_with("sgr-"));

    let before = ec2
        .describe_subnets()
        .subnet_ids(&subnets[2])
        .send()
        .await
        .unwrap();
    assert_eq!(before.subnets()[0].available_ip_address_count(), Some(251));
    let ep = ec2
        .create_vpc_endpoint()
        .vpc_endpoint_type(VpcEndpointType::Interface)
        .vpc_id(&vpc_id)
        .service_name("com.amazonaws.us-west-2.airflow.api")
        .subnet_ids(&subnets[2])
        .subnet_ids(&subnets[3])
        .security_group_ids(&sg_id)
        .tag_specifications(
            TagSpecification::builder()
                .resource_type(ResourceType::VpcEndpoint)
                .tags(Tag::builder().key("Name").value("airflow-api").build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    let ep = ep.vpc_endpoint().unwrap().clone();
    let ep_id = ep.vpc_endpoint_id().unwrap().to_owned();
    assert_eq!(ep.state().map(|s| s.as_str()), Some("pending"));
    let dns: Vec<&str> = ep
        .dns_entries()
        .iter()
        .filter_map(|d| d.dns_name())
        .collect();
    assert_eq!(dns.len(), 4, "regional, two zonal, private: {dns:?}");
    assert!(
        dns[0].starts_with(&format!("{ep_id}-"))
            && dns[0].ends_with(".api.airflow.us-west-2.vpce.amazonaws.com"),
        "{}",
        dns[0]
    );
    assert!(
        dns[1].contains("-us-west-2a.") && dns[2].contains("-us-west-2b."),
        "{dns:?}"
    );
    assert_eq!(dns[3], "api.airflow.us-west-2.amazonaws.com");
    assert_eq!(ep.dns_entries()[0].hosted_zone_id(), Some("Z1YSA3EXCYUU9Z"));
    assert_eq!(ep.network_interface_ids().len(), 2);

    let enis = ec2
        .describe_network_interfaces()
        .network_interface_ids(ep.network_interface_ids()[0].clone())
        .network_interface_ids(ep.network_interface_ids()[1].clone())
        .send()
        .await
        .unwrap();
    assert_eq!(enis.network_interfaces().len(), 2);
    for eni in enis.network_interfaces() {
        let ip = eni.private_ip_address().unwrap();
        let expected = if eni.subnet_id() == Some(subnets[2].as_str()) {
            "10.192.20.0/24"
        } else {
            "10.192.21.0/24"
        };
        assert!(in_cidr(ip, expected), "{ip} in {expected}");
        assert_eq!(
            eni.interface_type().map(|t| t.as_str()),
            Some("vpc_endpoint")
        );
        assert_eq!(eni.requester_managed(), Some(true));
        assert_eq!(
            eni.description(),
            Some(format!("VPC Endpoint Interface {ep_id}").as_str())
        );
    }
    let by_description = ec2
        .describe_network_interfaces()
        .filters(filter("description", &format!("*{ep_id}*")))
        .send()
        .await
        .unwrap();
    assert_eq!(by_description.network_interfaces().len(), 2);
    let after = ec2
        .describe_subnets()
        .subnet_ids(&subnets[2])
        .send()
        .await
        .unwrap();
    assert_eq!(after.subnets()[0].available_ip_address_count(), Some(250));

    for f in [
        filter("vpc-endpoint-id", &ep_id),
        filter("vpc-id", &vpc_id),
        filter("service-name", "com.amazonaws.us-west-2.airflow.api"),
        filter("tag:Name", "airflow-api"),
    ] {
        let found = ec2
            .describe_vpc_endpoints()
            .filters(f)
            .send()
            .await
            .unwrap();
        assert_eq!(found.vpc_endpoints().len(), 1);
    }
    let none = ec2
        .describe_vpc_endpoints()
        .filters(filter("tag:Name", "other"))
        .send()
        .await
        .unwrap();
    assert!(none.vpc_endpoints().is_empty());

    // pending → available on the scaled clock (120 s × 0.001).
    let state = wait_until(&format!("{ep_id} available"), DEADLINE, || async {
        let d = ec2
            .describe_vpc_endpoints()
            .vpc_endpoint_ids(&ep_id)
            .send()
            .await
            .unwrap();
        let state = d.vpc_endpoints()[0].state().unwrap().as_str().to_owned();
        holds(state == "available", state.clone()).map(|()| state)
    })
    .await;
    assert_eq!(state, "available");
    // Each answer shows the endpoint as it is now: a change after an answer (which keeps its
    // encoded item) shows in the next one.
    let shown = |d: aws_sdk_ec2::operation::describe_vpc_endpoints::DescribeVpcEndpointsOutput| {
        d.vpc_endpoints()[0].clone()
    };
    let first = shown(
        ec2.describe_vpc_endpoints()
            .vpc_endpoint_ids(&ep_id)
            .send()
            .await
            .unwrap(),
    );
    assert_eq!(first.dns_entries(), ep.dns_entries());
    assert_eq!(first.groups()[0].group_name(), Some("mwaa"));
    let policy =
        r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"airflow:*","Resource":"*"}]}"#;
    ec2.modify_vpc_endpoint()
        .vpc_endpoint_id(&ep_id)
        .policy_document(policy)
        .send()
        .await
        .unwrap();
    ec2.create_tags()
        .resources(&ep_id)
        .tags(Tag::builder().key("Stage").value("test").build())
        .send()
        .await
        .unwrap();
    let changed = shown(
        ec2.describe_vpc_endpoints()
            .filters(filter("vpc-id", &vpc_id))
            .send()
            .await
            .unwrap(),
    );
    assert_eq!(changed.policy_document(), Some(policy));
    assert_eq!(changed.tags().len(), 2, "{:?}", changed.tags());
    assert_eq!(changed.dns_entries(), first.dns_entries());
    assert_eq!(changed.state(), first.state());
    let rt = ec2
        .describe_route_tables()
        .route_table_ids(&private_rt)
        .send()
        .await
        .unwrap();
    let routes = rt.route_tables()[0].routes();
    assert!(routes
        .iter()
        .any(|r| r.nat_gateway_id() == Some(nat_id.as_str())
            && r.state().map(|s| s.as_str()) == Some("active")));

    // One subnet per zone, and an address must be free.
    let err = ec2
        .create_vpc_endpoint()
        .vpc_endpoint_type(VpcEndpointType::Interface)
        .vpc_id(&vpc_id)
        .service_name("com.amazonaws.us-west-2.logs")
        .subnet_ids(&subnets[0])
        .subnet_ids(&subnets[2])
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("DuplicateSubnetsInSameZone"));
    let err = ec2
        .create_vpc_endpoint()
        .vpc_id(&vpc_id)
        .vpc_endpoint_type(VpcEndpointType::Interface)
        .service_name("com.amazonaws.us-west-2.nothing")
        .subnet_ids(&subnets[2])
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidServiceName"));

    // The VPC cannot go while things are in it.
    let err = ec2.delete_vpc().vpc_id(&vpc_id).send().await.unwrap_err();
    assert_eq!(err.code(), Some("DependencyViolation"));
    let deleted = ec2
        .delete_vpc_endpoints()
        .vpc_endpoint_ids(&ep_id)
        .vpc_endpoint_ids("vpce-0123456789abcdef0")
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.unsuccessful().len(), 1);
    assert_eq!(
        deleted.unsuccessful()[0].error().unwrap().code(),
        Some("InvalidVpcEndpoint.NotFound")
    );
    let gone = ec2
        .describe_network_interfaces()
        .filters(filter("description", &format!("*{ep_id}*")))
        .send()
        .await
        .unwrap();
    assert!(gone.network_interfaces().is_empty());
}

#[tokio::test]
async fn subnet_and_address_errors() {
    let (_server, ec2) = client().await;
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.0.0.0/16")
        .send()
        .await
        .unwrap();
    let vpc_id = vpc.vpc().unwrap().vpc_id().unwrap().to_owned();
    let small = ec2
        .create_subnet()
        .vpc_id(&vpc_id)
        .cidr_block("10.0.1.0/28")
        .availability_zone("us-west-2a")
        .send()
        .await
        .unwrap();
    let small_id = small.subnet().unwrap().subnet_id().unwrap().to_owned();
    assert_eq!(
        small.subnet().unwrap().available_ip_address_count(),
        Some(11)
    );
    let cases = [
        ("10.0.1.0/24", Some("us-west-2a"), "InvalidSubnet.Conflict"),
        ("10.1.0.0/24", Some("us-west-2a"), "InvalidSubnet.Range"),
        ("10.0.2.0/29", Some("us-west-2a"), "InvalidSubnet.Range"),
        ("10.0.3.0/24", Some("us-west-2z"), "InvalidParameterValue"),
        ("10.0.3.7/24", Some("us-west-2a"), "InvalidParameterValue"),
    ];
    for (cidr, az, code) in cases {
        let mut req = ec2.create_subnet().vpc_id(&vpc_id).cidr_block(cidr);
        if let Some(az) = az {
            req = req.availability_zone(az);
        }
        let err = req.send().await.unwrap_err();
        assert_eq!(err.code(), Some(code), "{cidr}: {:?}", err.message());
    }
    let err = ec2
        .describe_vpcs()
        .vpc_ids("vpc-12345678")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidVpcID.NotFound"));
    assert_eq!(
        err.message(),
        Some("The vpc ID 'vpc-12345678' does not exist")
    );
    let err = ec2
        .create_vpc()
        .cidr_block("10.0.0.0/8")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidVpc.Range"));
    let err = ec2
        .create_vpc()
        .cidr_block("10.9.0.0/16")
        .dry_run(true)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("DryRunOperation"));

    // A /28 has 11 usable addresses; the twelfth interface does not fit.
    let mut ips = Vec::new();
    for _ in 0..11 {
        let e = ec2
            .create_network_interface()
            .subnet_id(&small_id)
            .send()
            .await
            .unwrap();
        ips.push(
            e.network_interface()
                .unwrap()
                .private_ip_address()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(ips.first().map(String::as_str), Some("10.0.1.4"));
    assert_eq!(ips.last().map(String::as_str), Some("10.0.1.14"));
    let err = ec2
        .create_network_interface()
        .subnet_id(&small_id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InsufficientFreeAddressesInSubnet"));
    let s = ec2
        .describe_subnets()
        .subnet_ids(&small_id)
        .send()
        .await
        .unwrap();
    assert_eq!(s.subnets()[0].available_ip_address_count(), Some(0));
    let err = ec2
        .delete_subnet()
        .subnet_id(&small_id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("DependencyViolation"));

    let sg = ec2
        .create_security_group()
        .group_name("web")
        .description("web")
        .vpc_id(&vpc_id)
        .send()
        .await
        .unwrap();
    let err = ec2
        .create_security_group()
        .group_name("web")
        .description("again")
        .vpc_id(&vpc_id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidGroup.Duplicate"));
    let perm = || {
        IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(443)
            .to_port(443)
            .ip_ranges(
                aws_sdk_ec2::types::IpRange::builder()
                    .cidr_ip("10.0.0.0/16")
                    .build(),
            )
            .build()
    };
    ec2.authorize_security_group_ingress()
        .group_id(sg.group_id().unwrap())
        .ip_permissions(perm())
        .send()
        .await
        .unwrap();
    let err = ec2
        .authorize_security_group_ingress()
        .group_id(sg.group_id().unwrap())
        .ip_permissions(perm())
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidPermission.Duplicate"));
    let g = ec2
        .describe_security_groups()
        .group_ids(sg.group_id().unwrap())
        .send()
        .await
        .unwrap();
    let p = &g.security_groups()[0].ip_permissions()[0];
    assert_eq!(
        (p.ip_protocol(), p.from_port(), p.to_port()),
        (Some("tcp"), Some(443), Some(443))
    );
    assert_eq!(
        g.security_groups()[0].ip_permissions_egress()[0].ip_ranges()[0].cidr_ip(),
        Some("0.0.0.0/0")
    );
    ec2.revoke_security_group_ingress()
        .group_id(sg.group_id().unwrap())
        .ip_permissions(perm())
        .send()
        .await
        .unwrap();
    let err = ec2
        .revoke_security_group_ingress()
        .group_id(sg.group_id().unwrap())
        .ip_permissions(perm())
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidPermission.NotFound"));
}

#[tokio::test]
async fn tags_filters_and_pages() {
    let (_server, ec2) = client().await;
    let mut ids = Vec::new();
    for i in 0..7 {
        let v = ec2
            .create_vpc()
            .cidr_block(format!("10.{i}.0.0/16"))
            .send()
            .await
            .unwrap();
        ids.push(v.vpc().unwrap().vpc_id().unwrap().to_owned());
    }
    ec2.create_tags()
        .resources(&ids[0])
        .resources(&ids[1])
        .tags(Tag::builder().key("team").value("data").build())
        .send()
        .await
        .unwrap();
    let tagged = ec2
        .describe_vpcs()
        .filters(filter("tag:team", "data"))
        .send()
        .await
        .unwrap();
    assert_eq!(tagged.vpcs().len(), 2);
    let keyed = ec2
        .describe_vpcs()
        .filters(filter("tag-key", "te*"))
        .send()
        .await
        .unwrap();
    assert_eq!(keyed.vpcs().len(), 2);
    let wild = ec2
        .describe_vpcs()
        .filters(filter("cidr", "10.?.0.0/16"))
        .send()
        .await
        .unwrap();
    assert_eq!(wild.vpcs().len(), 7);
    let err = ec2
        .describe_vpcs()
        .filters(filter("no-such-filter", "x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidParameterValue"));
    let described = ec2
        .describe_tags()
        .filters(filter("resource-id", &ids[0]))
        .send()
        .await
        .unwrap();
    assert_eq!(
        described.tags()[0].resource_type().map(|t| t.as_str()),
        Some("vpc")
    );
    ec2.delete_tags()
        .resources(&ids[0])
        .tags(Tag::builder().key("team").build())
        .send()
        .await
        .unwrap();
    let tagged = ec2
        .describe_vpcs()
        .filters(filter("tag:team", "data"))
        .send()
        .await
        .unwrap();
    assert_eq!(tagged.vpcs().len(), 1);
    let err = ec2
        .create_tags()
        .resources("vpc-0000000000000000a")
        .tags(Tag::builder().key("a").value("b").build())
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidVpcID.NotFound"));

    // 8 VPCs with the default one: pages of 5.
    let first = ec2.describe_vpcs().max_results(5).send().await.unwrap();
    assert_eq!(first.vpcs().len(), 5);
    let token = first.next_token().unwrap().to_owned();
    let second = ec2
        .describe_vpcs()
        .max_results(5)
        .next_token(token)
        .send()
        .await
        .unwrap();
    assert_eq!(second.vpcs().len(), 3);
    assert!(second.next_token().is_none());
    let mut paginated = 0;
    let mut pages = ec2.describe_vpcs().max_results(5).into_paginator().send();
    while let Some(page) = pages.next().await {
        paginated += page.unwrap().vpcs().len();
    }
    assert_eq!(paginated, 8);
    let err = ec2.describe_vpcs().max_results(2).send().await.unwrap_err();
    assert_eq!(err.code(), Some("InvalidParameterValue"));
}

#[tokio::test]
async fn key_pairs() {
    let (_server, ec2) = client().await;
    let rsa = ec2
        .create_key_pair()
        .key_name("bastion")
        .send()
        .await
        .unwrap();
    assert!(rsa
        .key_material()
        .unwrap()
        .starts_with("-----BEGIN RSA PRIVATE KEY-----"));
    assert_eq!(rsa.key_fingerprint().unwrap().split(':').count(), 20);
    let ed = ec2
        .create_key_pair()
        .key_name("ed")
        .key_type(aws_sdk_ec2::types::KeyType::Ed25519)
        .send()
        .await
        .unwrap();
    assert!(ed
        .key_material()
        .unwrap()
        .starts_with("-----BEGIN OPENSSH PRIVATE KEY-----"));
    let err = ec2
        .create_key_pair()
        .key_name("bastion")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidKeyPair.Duplicate"));
    let d = ec2
        .describe_key_pairs()
        .key_names("bastion")
        .include_public_key(true)
        .send()
        .await
        .unwrap();
    assert!(d.key_pairs()[0]
        .public_key()
        .unwrap()
        .starts_with("ssh-rsa "));
    let err = ec2
        .describe_key_pairs()
        .key_names("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidKeyPair.NotFound"));
    ec2.delete_key_pair()
        .key_name("bastion")
        .send()
        .await
        .unwrap();
    let left = ec2.describe_key_pairs().send().await.unwrap();
    assert_eq!(left.key_pairs().len(), 1);
}

/// Every region of the caller's partition, the opt-in ones opted in (Airlock serves them all),
/// each with AWS's zone-ID prefix; China's partition lists its own two.
#[tokio::test]
async fn regions_of_every_partition_with_aws_zone_ids() {
    let server = start().await;
    let ec2 = Client::new(&default_config(&server).await);
    let all = ec2
        .describe_regions()
        .all_regions(true)
        .send()
        .await
        .unwrap();
    let regions: Vec<(&str, &str)> = all
        .regions()
        .iter()
        .map(|r| (r.region_name().unwrap(), r.opt_in_status().unwrap()))
        .collect();
    assert!(regions.len() >= 30, "{regions:?}");
    assert!(regions.contains(&("us-east-1", "opt-in-not-required")));
    assert!(regions.contains(&("ap-southeast-5", "opted-in")));
    assert!(!regions
        .iter()
        .any(|(r, _)| r.starts_with("cn-") || r.starts_with("us-gov-")));
    let opted = ec2
        .describe_regions()
        .filters(filter("opt-in-status", "opted-in"))
        .send()
        .await
        .unwrap();
    assert!(opted
        .regions()
        .iter()
        .all(|r| r.opt_in_status() == Some("opted-in")));
    assert!(!opted.regions().is_empty());
    let err = ec2
        .describe_regions()
        .region_names("cn-north-1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidParameterValue"));

    for (region, first_zone) in [
        ("ap-southeast-5", "apse5-az1"),
        ("me-central-1", "mec1-az1"),
        ("cn-northwest-1", "cnnw1-az1"),
    ] {
        let there =
            Client::new(&airlock_tests::sdk_config(&server, "test", "test", None, region).await);
        let zones = there.describe_availability_zones().send().await.unwrap();
        let first = &zones.availability_zones()[0];
        assert_eq!(first.zone_id(), Some(first_zone));
        assert_eq!(first.zone_name(), Some(format!("{region}a").as_str()));
    }
    let china =
        Client::new(&airlock_tests::sdk_config(&server, "test", "test", None, "cn-north-1").await);
    let listed = china.describe_regions().send().await.unwrap();
    let names: Vec<(&str, &str)> = listed
        .regions()
        .iter()
        .map(|r| (r.region_name().unwrap(), r.endpoint().unwrap()))
        .collect();
    assert_eq!(
        names,
        [
            ("cn-north-1", "ec2.cn-north-1.amazonaws.com.cn"),
            ("cn-northwest-1", "ec2.cn-northwest-1.amazonaws.com.cn")
        ]
    );
}

/// Security group rules as resources of their own, as Terraform's
/// `aws_vpc_security_group_ingress_rule` manages them: tagged at creation and with CreateTags,
/// read by id (AWS's errors for malformed and unknown ids), changed in place with
/// ModifySecurityGroupRules, described anew; and groups found by the names their rules name.
#[tokio::test]
async fn security_group_rules_are_tagged_modified_and_described_by_id() {
    let (_server, ec2) = client().await;
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.9.0.0/16")
        .send()
        .await
        .unwrap()
        .vpc()
        .unwrap()
        .vpc_id()
        .unwrap()
        .to_owned();
    let group = |name: &'static str| {
        let (ec2, vpc) = (ec2.clone(), vpc.clone());
        async move {
            ec2.create_security_group()
                .group_name(name)
                .description(name)
                .vpc_id(vpc)
                .send()
                .await
                .unwrap()
                .group_id()
                .unwrap()
                .to_owned()
        }
    };
    let web = group("web").await;
    let lb = group("lb").await;
    let err = ec2
        .create_security_group()
        .group_name("nodesc")
        .description("")
        .vpc_id(&vpc)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("MissingParameter"));

    let added = ec2
        .authorize_security_group_ingress()
        .group_id(&web)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(443)
                .to_port(443)
                .user_id_group_pairs(UserIdGroupPair::builder().group_id(&lb).build())
                .build(),
        )
        .tag_specifications(
            TagSpecification::builder()
                .resource_type(ResourceType::SecurityGroupRule)
                .tags(Tag::builder().key("Name").value("from-lb").build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    let rule = added.security_group_rules()[0].clone();
    let rule_id = rule.security_group_rule_id().unwrap().to_owned();
    assert_eq!(rule.tags()[0].value(), Some("from-lb"));
    ec2.create_tags()
        .resources(&rule_id)
        .tags(Tag::builder().key("team").value("data").build())
        .send()
        .await
        .unwrap();
    let read = ec2
        .describe_security_group_rules()
        .security_group_rule_ids(&rule_id)
        .send()
        .await
        .unwrap();
    let read = &read.security_group_rules()[0];
    assert_eq!(read.tags().len(), 2);
    assert_eq!(
        read.referenced_group_info().unwrap().group_id(),
        Some(lb.as_str())
    );
    let tagged = ec2
        .describe_security_group_rules()
        .filters(filter("tag:team", "data"))
        .send()
        .await
        .unwrap();
    assert_eq!(tagged.security_group_rules().len(), 1);
    let tags = ec2
        .describe_tags()
        .filters(filter("resource-id", &rule_id))
        .send()
        .await
        .unwrap();
    assert!(tags
        .tags()
        .iter()
        .all(|t| t.resource_type().map(|r| r.as_str()) == Some("security-group-rule")));
    assert_eq!(tags.tags().len(), 2);
    let err = ec2
        .describe_security_group_rules()
        .security_group_rule_ids("sgr-0123456789abcdef0")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidSecurityGroupRuleId.NotFound"));
    let err = ec2
        .describe_security_group_rules()
        .security_group_rule_ids("rule-1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidSecurityGroupRuleId.Malformed"));

    // Groups whose rules name the lb group, by name.
    let named = ec2
        .describe_security_groups()
        .filters(filter("ip-permission.group-name", "lb"))
        .send()
        .await
        .unwrap();
    let ids: Vec<&str> = named
        .security_groups()
        .iter()
        .map(|g| g.group_id().unwrap())
        .collect();
    assert_eq!(ids, [web.as_str()]);

    // Changed in place: same id, new port and CIDR, tags kept.
    ec2.modify_security_group_rules()
        .group_id(&web)
        .security_group_rules(
            aws_sdk_ec2::types::SecurityGroupRuleUpdate::builder()
                .security_group_rule_id(&rule_id)
                .security_group_rule(
                    aws_sdk_ec2::types::SecurityGroupRuleRequest::builder()
                        .ip_protocol("tcp")
                        .from_port(8443)
                        .to_port(8443)
                        .cidr_ipv4("10.9.0.0/16")
                        .description("internal")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let read = ec2
        .describe_security_group_rules()
        .security_group_rule_ids(&rule_id)
        .send()
        .await
        .unwrap();
    let read = &read.security_group_rules()[0];
    assert_eq!(
        (read.from_port(), read.cidr_ipv4(), read.description()),
        (Some(8443), Some("10.9.0.0/16"), Some("internal"))
    );
    assert!(read.referenced_group_info().is_none());
    assert_eq!(read.tags().len(), 2);
    // A description alone, by rule id.
    ec2.update_security_group_rule_descriptions_ingress()
        .group_id(&web)
        .security_group_rule_descriptions(
            aws_sdk_ec2::types::SecurityGroupRuleDescription::builder()
                .security_group_rule_id(&rule_id)
                .description("vpc only")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let read = ec2
        .describe_security_group_rules()
        .security_group_rule_ids(&rule_id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        read.security_group_rules()[0].description(),
        Some("vpc only")
    );
    let err = ec2
        .modify_security_group_rules()
        .group_id(&web)
        .security_group_rules(
            aws_sdk_ec2::types::SecurityGroupRuleUpdate::builder()
                .security_group_rule_id("sgr-0123456789abcdef0")
                .security_group_rule(
                    aws_sdk_ec2::types::SecurityGroupRuleRequest::builder()
                        .ip_protocol("-1")
                        .cidr_ipv4("0.0.0.0/0")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidSecurityGroupRuleId.NotFound"));
}

/// IPv6 as Terraform's `assign_generated_ipv6_cidr_block`, `ipv6_cidr_block` and
/// `aws_egress_only_internet_gateway` use it: an Amazon-provided /56, a /64 per subnet (inside
/// it, no overlap), addresses on interfaces, `local` and `::/0` routes, `::/0` egress in new
/// groups, and the blocks given back in order.
#[tokio::test]
async fn ipv6_blocks_addresses_routes_and_egress_only_gateways() {
    let (_server, ec2) = client().await;
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.60.0.0/16")
        .amazon_provided_ipv6_cidr_block(true)
        .send()
        .await
        .unwrap()
        .vpc()
        .unwrap()
        .clone();
    let vpc_id = vpc.vpc_id().unwrap().to_owned();
    let assoc = &vpc.ipv6_cidr_block_association_set()[0];
    let block = assoc.ipv6_cidr_block().unwrap().to_owned();
    assert!(
        block.ends_with("00::/56") && block.starts_with("2600:1f"),
        "{block}"
    );
    assert_eq!(assoc.network_border_group(), Some("us-west-2"));
    let v6_net = block.trim_end_matches("00::/56").to_owned();
    let subnet_block = format!("{v6_net}01::/64");
    let subnet = ec2
        .create_subnet()
        .vpc_id(&vpc_id)
        .cidr_block("10.60.1.0/24")
        .ipv6_cidr_block(&subnet_block)
        .send()
        .await
        .unwrap()
        .subnet()
        .unwrap()
        .clone();
    let subnet_id = subnet.subnet_id().unwrap().to_owned();
    assert_eq!(
        subnet.ipv6_cidr_block_association_set()[0].ipv6_cidr_block(),
        Some(subnet_block.as_str())
    );
    let err = ec2
        .create_subnet()
        .vpc_id(&vpc_id)
        .cidr_block("10.60.2.0/24")
        .ipv6_cidr_block(&subnet_block)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidSubnet.Conflict"));
    let err = ec2
        .create_subnet()
        .vpc_id(&vpc_id)
        .cidr_block("10.60.2.0/24")
        .ipv6_cidr_block("2001:db8::/64")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidSubnet.Range"));
    ec2.modify_subnet_attribute()
        .subnet_id(&subnet_id)
        .assign_ipv6_address_on_creation(airlock_tests::world::yes())
        .send()
        .await
        .unwrap();
    let eni = ec2
        .create_network_interface()
        .subnet_id(&subnet_id)
        .send()
        .await
        .unwrap();
    let eni = eni.network_interface().unwrap();
    let eni_id = eni.network_interface_id().unwrap().to_owned();
    let v6 = eni.ipv6_addresses()[0].ipv6_address().unwrap().to_owned();
    assert!(v6.starts_with(&v6_net), "{v6} in {subnet_block}");
    let more = ec2
        .assign_ipv6_addresses()
        .network_interface_id(&eni_id)
        .ipv6_address_count(1)
        .send()
        .await
        .unwrap();
    assert_eq!(more.assigned_ipv6_addresses().len(), 1);
    assert_ne!(more.assigned_ipv6_addresses()[0], v6);
    let found = ec2
        .describe_network_interfaces()
        .filters(filter("ipv6-addresses.ipv6-address", &v6))
        .send()
        .await
        .unwrap();
    assert_eq!(found.network_interfaces().len(), 1);

    // Routes: the /56 is local everywhere; ::/0 goes to an egress-only gateway.
    let eigw = ec2
        .create_egress_only_internet_gateway()
        .vpc_id(&vpc_id)
        .send()
        .await
        .unwrap()
        .egress_only_internet_gateway()
        .unwrap()
        .egress_only_internet_gateway_id()
        .unwrap()
        .to_owned();
    let rtb = ec2
        .create_route_table()
        .vpc_id(&vpc_id)
        .send()
        .await
        .unwrap()
        .route_table()
        .unwrap()
        .clone();
    let rtb_id = rtb.route_table_id().unwrap().to_owned();
    assert!(rtb
        .routes()
        .iter()
        .any(|r| r.destination_ipv6_cidr_block() == Some(block.as_str())
            && r.gateway_id() == Some("local")));
    ec2.create_route()
        .route_table_id(&rtb_id)
        .destination_ipv6_cidr_block("::/0")
        .egress_only_internet_gateway_id(&eigw)
        .send()
        .await
        .unwrap();
    let routed = ec2
        .describe_route_tables()
        .filters(filter("route.egress-only-internet-gateway-id", &eigw))
        .send()
        .await
        .unwrap();
    assert_eq!(routed.route_tables().len(), 1);
    let err = ec2
        .create_route()
        .route_table_id(&rtb_id)
        .destination_cidr_block("0.0.0.0/0")
        .egress_only_internet_gateway_id(&eigw)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidParameterValue"));
    let sg = ec2
        .create_security_group()
        .group_name("v6")
        .description("v6")
        .vpc_id(&vpc_id)
        .send()
        .await
        .unwrap()
        .group_id()
        .unwrap()
        .to_owned();
    let rules = ec2
        .describe_security_group_rules()
        .filters(filter("group-id", &sg))
        .send()
        .await
        .unwrap();
    assert!(rules
        .security_group_rules()
        .iter()
        .any(|r| r.is_egress() == Some(true) && r.cidr_ipv6() == Some("::/0")));

    // The blocks go back in order: the VPC's only once no subnet holds a /64 of it.
    let subnet_assoc = subnet.ipv6_cidr_block_association_set()[0]
        .association_id()
        .unwrap()
        .to_owned();
    let err = ec2
        .disassociate_vpc_cidr_block()
        .association_id(assoc.association_id().unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("DependencyViolation"));
    let give_back = || {
        ec2.disassociate_subnet_cidr_block()
            .association_id(&subnet_assoc)
            .send()
    };
    let err = give_back().await.unwrap_err();
    assert_eq!(err.code(), Some("InvalidCidrBlock.InUse"));
    ec2.delete_network_interface()
        .network_interface_id(&eni_id)
        .send()
        .await
        .unwrap();
    // Still refused while the subnet gives new interfaces IPv6 addresses.
    let err = give_back().await.unwrap_err();
    assert_eq!(err.code(), Some("InvalidCidrBlock.InUse"));
    let no = aws_sdk_ec2::types::AttributeBooleanValue::builder()
        .value(false)
        .build();
    ec2.modify_subnet_attribute()
        .subnet_id(&subnet_id)
        .assign_ipv6_address_on_creation(no)
        .send()
        .await
        .unwrap();
    give_back().await.unwrap();
    ec2.delete_route_table()
        .route_table_id(&rtb_id)
        .send()
        .await
        .unwrap();
    let gone = ec2
        .disassociate_vpc_cidr_block()
        .association_id(assoc.association_id().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        gone.ipv6_cidr_block_association()
            .unwrap()
            .ipv6_cidr_block_state()
            .unwrap()
            .state()
            .map(|s| s.as_str()),
        Some("disassociating")
    );
    let again = ec2
        .associate_vpc_cidr_block()
        .vpc_id(&vpc_id)
        .amazon_provided_ipv6_cidr_block(true)
        .send()
        .await
        .unwrap();
    assert!(again.ipv6_cidr_block_association().is_some());

    // A VPC with an egress-only gateway is not deleted until the gateway is.
    let lone = ec2
        .create_vpc()
        .cidr_block("10.61.0.0/16")
        .send()
        .await
        .unwrap()
        .vpc()
        .unwrap()
        .vpc_id()
        .unwrap()
        .to_owned();
    let lone_gw = ec2
        .create_egress_only_internet_gateway()
        .vpc_id(&lone)
        .send()
        .await
        .unwrap()
        .egress_only_internet_gateway()
        .unwrap()
        .egress_only_internet_gateway_id()
        .unwrap()
        .to_owned();
    let err = ec2.delete_vpc().vpc_id(&lone).send().await.unwrap_err();
    assert_eq!(err.code(), Some("DependencyViolation"));
    ec2.delete_egress_only_internet_gateway()
        .egress_only_internet_gateway_id(&lone_gw)
        .send()
        .await
        .unwrap();
    ec2.delete_vpc().vpc_id(&lone).send().await.unwrap();
}

/// Secondary IPv4 blocks as Terraform's `aws_vpc_ipv4_cidr_block_association` makes and reads
/// them: associated with AWS's restrictions (the primary's RFC 1918 range, no overlap, no
/// block covering a route, five at most), listed and filtered in `CidrBlockAssociationSet`, a
/// `local` route in every table, subnets inside them, and given back unless a subnet is in one.
#[tokio::test]
async fn secondary_ipv4_blocks_take_subnets_and_routes() {
    let (_server, ec2) = client().await;
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.70.0.0/16")
        .send()
        .await
        .unwrap();
    let vpc = vpc.vpc().unwrap();
    let vpc_id = vpc.vpc_id().unwrap().to_owned();
    let primary = vpc.cidr_block_association_set()[0]
        .association_id()
        .unwrap()
        .to_owned();
    let associate = |cidr: &'static str| {
        ec2.associate_vpc_cidr_block()
            .vpc_id(&vpc_id)
            .cidr_block(cidr)
            .send()
    };
    let made = associate("10.71.0.0/16").await.unwrap();
    let assoc = made.cidr_block_association().unwrap();
    assert_eq!(assoc.cidr_block(), Some("10.71.0.0/16"));
    assert_eq!(
        assoc.cidr_block_state().unwrap().state().unwrap().as_str(),
        "associating"
    );
    assert!(made.ipv6_cidr_block_association().is_none());
    let secondary = assoc.association_id().unwrap().to_owned();

    for (cidr, code) in [
        ("192.168.0.0/16", "InvalidVpc.Range"),
        ("198.19.0.0/16", "InvalidVpc.Range"),
        ("10.71.128.0/17", "InvalidVpc.Range"),
        ("10.64.0.0/12", "InvalidVpc.Range"),
        ("10.72.0.1/24", "InvalidParameterValue"),
    ] {
        let err = associate(cidr).await.unwrap_err();
        assert_eq!(err.code(), Some(code), "{cidr}: {err:?}");
    }
    let err = associate("192.168.0.0/16").await.unwrap_err();
    assert!(err.message().unwrap().contains("is restricted"), "{err:?}");

    let d = ec2.describe_vpcs().vpc_ids(&vpc_id).send().await.unwrap();
    let set: Vec<_> = d.vpcs()[0]
        .cidr_block_association_set()
        .iter()
        .map(|a| {
            (
                a.cidr_block().unwrap().to_owned(),
                a.cidr_block_state()
                    .unwrap()
                    .state()
                    .unwrap()
                    .as_str()
                    .to_owned(),
            )
        })
        .collect();
    assert_eq!(
        set,
        [
            ("10.70.0.0/16".to_owned(), "associated".to_owned()),
            ("10.71.0.0/16".to_owned(), "associated".to_owned())
        ]
    );
    assert_eq!(d.vpcs()[0].cidr_block(), Some("10.70.0.0/16"));
    let found = ec2
        .describe_vpcs()
        .filters(filter("cidr-block-association.cidr-block", "10.71.0.0/16"))
        .send()
        .await
        .unwrap();
    assert_eq!(found.vpcs().len(), 1);
    assert_eq!(found.vpcs()[0].vpc_id(), Some(vpc_id.as_str()));

    // Every route table, old and new, has a local route per block.
    let new_table = ec2
        .create_route_table()
        .vpc_id(&vpc_id)
        .send()
        .await
        .unwrap();
    let new_table = new_table
        .route_table()
        .unwrap()
        .route_table_id()
        .unwrap()
        .to_owned();
    let tables = ec2
        .describe_route_tables()
        .filters(filter("vpc-id", &vpc_id))
        .send()
        .await
        .unwrap();
    assert_eq!(tables.route_tables().len(), 2);
    for t in tables.route_tables() {
        let local: Vec<_> = t
            .routes()
            .iter()
            .filter(|r| r.gateway_id() == Some("local"))
            .filter_map(|r| r.destination_cidr_block())
            .collect();
        assert_eq!(local, ["10.70.0.0/16", "10.71.0.0/16"]);
    }

    let subnet = ec2
        .create_subnet()
        .vpc_id(&vpc_id)
        .cidr_block("10.71.4.0/24")
        .send()
        .await
        .unwrap();
    let subnet = subnet.subnet().unwrap().subnet_id().unwrap().to_owned();
    let err = ec2
        .create_subnet()
        .vpc_id(&vpc_id)
        .cidr_block("10.72.4.0/24")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidSubnet.Range"));

    // A block may not cover a route's destination.
    let eni = ec2
        .create_network_interface()
        .subnet_id(&subnet)
        .send()
        .await
        .unwrap();
    let eni = eni
        .network_interface()
        .unwrap()
        .network_interface_id()
        .unwrap()
        .to_owned();
    ec2.create_route()
        .route_table_id(&new_table)
        .destination_cidr_block("10.80.1.0/24")
        .network_interface_id(&eni)
        .send()
        .await
        .unwrap();
    let err = associate("10.80.0.0/16").await.unwrap_err();
    assert_eq!(err.code(), Some("InvalidVpc.Range"), "{err:?}");
    ec2.associate_vpc_cidr_block()
        .vpc_id(&vpc_id)
        .cidr_block("10.80.2.0/24")
        .send()
        .await
        .unwrap();
    associate("100.64.0.0/16").await.unwrap();
    associate("10.90.0.0/20").await.unwrap();
    let err = associate("10.91.0.0/16").await.unwrap_err();
    assert_eq!(err.code(), Some("CidrLimitExceeded"), "{err:?}");

    let disassociate = |id: String| ec2.disassociate_vpc_cidr_block().association_id(id).send();
    let err = disassociate(primary).await.unwrap_err();
    assert_eq!(err.code(), Some("OperationNotPermitted"));
    let err = disassociate(secondary.clone()).await.unwrap_err();
    assert_eq!(err.code(), Some("DependencyViolation"), "{err:?}");
    ec2.delete_route()
        .route_table_id(&new_table)
        .destination_cidr_block("10.80.1.0/24")
        .send()
        .await
        .unwrap();
    ec2.delete_network_interface()
        .network_interface_id(&eni)
        .send()
        .await
        .unwrap();
    ec2.delete_subnet().subnet_id(&subnet).send().await.unwrap();
    let out = disassociate(secondary.clone()).await.unwrap();
    let assoc = out.cidr_block_association().unwrap();
    assert_eq!(
        assoc.cidr_block_state().unwrap().state().unwrap().as_str(),
        "disassociating"
    );
    assert_eq!(assoc.cidr_block(), Some("10.71.0.0/16"));
    let err = disassociate(secondary).await.unwrap_err();
    assert_eq!(
        err.code(),
        Some("InvalidVpcCidrBlockAssociationID.NotFound")
    );
    let t = ec2
        .describe_route_tables()
        .route_table_ids(&new_table)
        .send()
        .await
        .unwrap();
    assert!(t.route_tables()[0]
        .routes()
        .iter()
        .all(|r| r.destination_cidr_block() != Some("10.71.0.0/16")));
    associate("10.91.0.0/16").await.unwrap();
}

/// IPv6-only subnets as Terraform's `aws_subnet` with `ipv6_native = true` makes and reads
/// them: no IPv4 block, instances named by resource, the launch settings kept; subnet IPv6
/// blocks from /44 to /64 in steps of four bits; AWS's refusals. Airlock's interfaces need an
/// IPv4 address, so none is made in such a subnet (`Unsupported`, said plainly).
#[tokio::test]
async fn ipv6_only_subnets_as_terraform_makes_them() {
    let (_server, ec2) = client().await;
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.61.0.0/16")
        .amazon_provided_ipv6_cidr_block(true)
        .send()
        .await
        .unwrap();
    let vpc = vpc.vpc().unwrap();
    let vpc_id = vpc.vpc_id().unwrap().to_owned();
    let block = vpc.ipv6_cidr_block_association_set()[0]
        .ipv6_cidr_block()
        .unwrap()
        .to_owned();
    let net = block.trim_end_matches("00::/56").to_owned();
    let native = |v6: String| {
        ec2.create_subnet()
            .vpc_id(&vpc_id)
            .ipv6_native(true)
            .ipv6_cidr_block(v6)
            .availability_zone("us-west-2a")
            .send()
    };
    let err = ec2
        .create_subnet()
        .vpc_id(&vpc_id)
        .ipv6_native(true)
        .cidr_block("10.61.1.0/24")
        .ipv6_cidr_block(format!("{net}01::/64"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidParameterCombination"));
    let err = ec2
        .create_subnet()
        .vpc_id(&vpc_id)
        .ipv6_native(true)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("MissingParameter"));
    let err = native(format!("{net}00::/62")).await.unwrap_err();
    assert_eq!(err.code(), Some("InvalidSubnet.Range"));

    let made = native(format!("{net}00::/64")).await.unwrap();
    let s = made.subnet().unwrap();
    let id = s.subnet_id().unwrap().to_owned();
    assert_eq!(s.ipv6_native(), Some(true));
    assert_eq!(s.cidr_block(), None);
    assert_eq!(s.available_ip_address_count(), Some(0));
    assert_eq!(
        s.private_dns_name_options_on_launch()
            .unwrap()
            .hostname_type()
            .unwrap()
            .as_str(),
        "resource-name"
    );
    // A /60 for a dual-stack subnet beside it.
    let wide = ec2
        .create_subnet()
        .vpc_id(&vpc_id)
        .cidr_block("10.61.2.0/24")
        .ipv6_cidr_block(format!("{net}10::/60"))
        .send()
        .await
        .unwrap();
    assert_eq!(wide.subnet().unwrap().ipv6_native(), Some(false));

    // Terraform's create sets these after CreateSubnet, then reads them back.
    let yes = airlock_tests::world::yes;
    ec2.modify_subnet_attribute()
        .subnet_id(&id)
        .assign_ipv6_address_on_creation(yes())
        .send()
        .await
        .unwrap();
    ec2.modify_subnet_attribute()
        .subnet_id(&id)
        .enable_resource_name_dns_aaaa_record_on_launch(yes())
        .send()
        .await
        .unwrap();
    for refused in [
        ec2.modify_subnet_attribute()
            .subnet_id(&id)
            .map_public_ip_on_launch(yes()),
        ec2.modify_subnet_attribute()
            .subnet_id(&id)
            .private_dns_hostname_type_on_launch(aws_sdk_ec2::types::HostnameType::IpName),
    ] {
        let err = refused.send().await.unwrap_err();
        assert_eq!(err.code(), Some("InvalidParameterValue"), "{err:?}");
    }
    let d = ec2
        .describe_subnets()
        .filters(filter("ipv6-native", "true"))
        .filters(filter("vpc-id", &vpc_id))
        .send()
        .await
        .unwrap();
    assert_eq!(d.subnets().len(), 1);
    let s = &d.subnets()[0];
    assert_eq!(s.subnet_id(), Some(id.as_str()));
    assert_eq!(s.assign_ipv6_address_on_creation(), Some(true));
    assert_eq!(
        s.private_dns_name_options_on_launch()
            .unwrap()
            .enable_resource_name_dns_aaaa_record(),
        Some(true)
    );

    let err = ec2
        .create_network_interface()
        .subnet_id(&id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("Unsupported"), "{err:?}");
    let assoc = s.ipv6_cidr_block_association_set()[0]
        .association_id()
        .unwrap()
        .to_owned();
    let err = ec2
        .disassociate_subnet_cidr_block()
        .association_id(&assoc)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidCidrBlock.InUse"));
    assert!(
        err.message()
            .unwrap()
            .contains("assign-ipv6-address-on-creation set to true"),
        "{err:?}"
    );
    ec2.delete_subnet().subnet_id(&id).send().await.unwrap();
}
