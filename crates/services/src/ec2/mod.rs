//! Amazon EC2: the VPC network model (ec2 query protocol).
//!
//! Each module owns its records and operations: [`vpc`] (VPCs, subnets, the default network),
//! [`sg`] (security groups), [`routes`] (route tables), [`igw`], [`nat`] (Elastic IPs, NAT
//! gateways), [`eni`] (network interfaces, address allocation), [`vpce`] (VPC endpoints and the
//! endpoint service catalogue), [`keypair`], [`instances`], [`tags`]. [`common`] has what they
//! share.

use crate::Ctx;
use airlock_protocol::{ApiResult, Output};
use airlock_store::Kind;
use serde_json::{json, Value};

pub mod cidr;
pub mod common;
pub mod dataplane;
pub mod eni;
pub mod fabric;
pub mod igw;
pub mod instances;
pub mod keypair;
pub mod nat;
pub mod regions;
pub mod routes;
pub mod sg;
pub mod tags;
pub mod vpc;
pub mod vpce;

pub fn record_kinds() -> Vec<Kind> {
    vec![
        Kind::of::<vpc::RegionState>(),
        Kind::of::<vpc::Vpc>(),
        Kind::of::<vpc::Subnet>(),
        Kind::of::<sg::SecurityGroup>(),
        Kind::of::<routes::RouteTable>(),
        Kind::of::<igw::InternetGateway>(),
        Kind::of::<nat::Address>(),
        Kind::of::<nat::PublicIp>(),
        Kind::of::<nat::NatGateway>(),
        Kind::of::<eni::NetworkInterface>(),
        Kind::of::<vpce::VpcEndpoint>(),
        Kind::of::<fabric::FabricSlot>(),
        Kind::of::<vpce::EndpointService>(),
        Kind::of::<keypair::KeyPair>(),
        Kind::of::<instances::Instance>(),
    ]
}

pub fn call(ctx: &Ctx<'_>, op: &str, input: &Value) -> Option<ApiResult<Output>> {
    // The busiest reads encode typed outputs straight from the records.
    type Typed = fn(&Ctx<'_>, &Value) -> ApiResult<Output>;
    let typed: Option<Typed> = match op {
        "DescribeAvailabilityZones" => Some(regions::describe_availability_zones),
        "DescribeVpcEndpoints" => Some(vpce::describe_vpc_endpoints),
        _ => None,
    };
    if let Some(f) = typed {
        return Some(vpc::ensure_region(ctx).and_then(|()| f(ctx, input)));
    }
    type Op = fn(&Ctx<'_>, &Value) -> ApiResult<Value>;
    let f: Op = match op {
        "DescribeRegions" => regions::describe_regions,
        "DescribeAccountAttributes" => describe_account_attributes,
        "CreateVpc" => vpc::create_vpc,
        "DescribeVpcs" => vpc::describe_vpcs,
        "DeleteVpc" => vpc::delete_vpc,
        "ModifyVpcAttribute" => vpc::modify_vpc_attribute,
        "DescribeVpcAttribute" => vpc::describe_vpc_attribute,
        "CreateSubnet" => vpc::create_subnet,
        "DescribeSubnets" => vpc::describe_subnets,
        "DeleteSubnet" => vpc::delete_subnet,
        "ModifySubnetAttribute" => vpc::modify_subnet_attribute,
        "CreateSecurityGroup" => sg::create_security_group,
        "DescribeSecurityGroups" => sg::describe_security_groups,
        "DeleteSecurityGroup" => sg::delete_security_group,
        "AuthorizeSecurityGroupIngress" => sg::authorize_ingress,
        "AuthorizeSecurityGroupEgress" => sg::authorize_egress,
        "RevokeSecurityGroupIngress" => sg::revoke_ingress,
        "RevokeSecurityGroupEgress" => sg::revoke_egress,
        "DescribeSecurityGroupRules" => sg::describe_security_group_rules,
        "CreateRouteTable" => routes::create_route_table,
        "DescribeRouteTables" => routes::describe_route_tables,
        "DeleteRouteTable" => routes::delete_route_table,
        "CreateRoute" => routes::create_route,
        "DeleteRoute" => routes::delete_route,
        "ReplaceRoute" => routes::replace_route,
        "AssociateRouteTable" => routes::associate_route_table,
        "DisassociateRouteTable" => routes::disassociate_route_table,
        "CreateInternetGateway" => igw::create_internet_gateway,
        "DescribeInternetGateways" => igw::describe_internet_gateways,
        "DeleteInternetGateway" => igw::delete_internet_gateway,
        "AttachInternetGateway" => igw::attach_internet_gateway,
        "DetachInternetGateway" => igw::detach_internet_gateway,
        "AllocateAddress" => nat::allocate_address,
        "ReleaseAddress" => nat::release_address,
        "DescribeAddresses" => nat::describe_addresses,
        "CreateNatGateway" => nat::create_nat_gateway,
        "DescribeNatGateways" => nat::describe_nat_gateways,
        "DeleteNatGateway" => nat::delete_nat_gateway,
        "CreateNetworkInterface" => eni::create_network_interface,
        "DescribeNetworkInterfaces" => eni::describe_network_interfaces,
        "DeleteNetworkInterface" => eni::delete_network_interface,
        "CreateKeyPair" => keypair::create_key_pair,
        "ImportKeyPair" => keypair::import_key_pair,
        "DescribeKeyPairs" => keypair::describe_key_pairs,
        "DeleteKeyPair" => keypair::delete_key_pair,
        "RunInstances" => instances::run_instances,
        "DescribeInstances" => instances::describe_instances,
        "StopInstances" => instances::stop_instances,
        "StartInstances" => instances::start_instances,
        "TerminateInstances" => instances::terminate_instances,
        "CreateVpcEndpoint" => vpce::create_vpc_endpoint,
        "ModifyVpcEndpoint" => vpce::modify_vpc_endpoint,
        "DeleteVpcEndpoints" => vpce::delete_vpc_endpoints,
        "DescribeVpcEndpointServices" => vpce::describe_vpc_endpoint_services,
        "CreateTags" => tags::create_tags,
        "DeleteTags" => tags::delete_tags,
        "DescribeTags" => tags::describe_tags,
        _ => return None,
    };
    Some(vpc::ensure_region(ctx).and_then(|()| f(ctx, input).map(Output::from)))
}

fn describe_account_attributes(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    crate::input::dry_run(input)?;
    let names = crate::input::strs(input, "AttributeNames");
    let scope = ctx.scope();
    let default_vpc = ctx
        .store
        .read(|v| {
            v.get::<vpc::RegionState>(&scope, "state")
                .and_then(|r| r.default_vpc_id.clone())
        })
        .unwrap_or_else(|| "none".into());
    let attrs = [
        ("supported-platforms", vec!["VPC".to_owned()]),
        ("default-vpc", vec![default_vpc]),
        ("max-instances", vec!["20".into()]),
        ("vpc-max-security-groups-per-interface", vec!["5".into()]),
        ("max-elastic-ips", vec!["5".into()]),
        ("vpc-max-elastic-ips", vec!["5".into()]),
    ];
    let out: Vec<Value> = attrs
        .iter()
        .filter(|(n, _)| names.is_empty() || names.iter().any(|x| x == n))
        .map(|(n, vals)| {
            json!({"AttributeName": n, "AttributeValues": vals.iter().map(|v| json!({"AttributeValue": v})).collect::<Vec<_>>()})
        })
        .collect();
    Ok(json!({"AccountAttributes": out}))
}
