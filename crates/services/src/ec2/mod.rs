//! Amazon EC2: the VPC network model (ec2 query protocol).
//!
//! Each module owns its records and operations: [`vpc`] (VPCs, subnets, the default network),
//! [`sg`] (security groups), [`routes`] (route tables), [`nacl`] (network ACLs), [`dhcp`] (DHCP
//! option sets), [`igw`], [`nat`] (Elastic IPs, NAT gateways), [`eni`] (network interfaces, address allocation), [`vpce`] (VPC endpoints and the
//! endpoint service catalogue), [`keypair`], [`instances`], [`tags`]. [`common`] has what they
//! share.

use crate::service::{Handler, Service};
use crate::Ctx;
use airlock_protocol::ApiResult;
use airlock_store::Kind;
use serde_json::{json, Value};

pub mod access;
pub mod address;
pub mod cidr;
pub mod clientvpn;
pub mod common;
pub mod dataplane;
pub mod dhcp;
pub mod dns;
pub mod eni;
pub mod eni_ops;
pub mod fabric;
pub mod igw;
pub mod images;
pub mod instances;
pub mod ipv6;
pub mod keypair;
pub mod nacl;
pub mod nat;
pub mod prefix_lists;
pub mod regions;
pub mod routes;
pub mod sg;
pub mod subnet;
pub mod tags;
pub mod vpc;
pub mod vpc_cidr;
pub mod vpce;

pub fn record_kinds() -> Vec<Kind> {
    vec![
        Kind::of::<vpc::RegionState>(),
        Kind::of::<vpc::Vpc>(),
        Kind::of::<subnet::Subnet>(),
        Kind::of::<sg::SecurityGroup>(),
        Kind::of::<prefix_lists::PrefixList>(),
        Kind::of::<ipv6::EgressOnlyGateway>(),
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
        Kind::of::<nacl::NetworkAcl>(),
        Kind::of::<dhcp::DhcpOptions>(),
        Kind::of::<clientvpn::ClientVpnEndpoint>(),
        Kind::of::<clientvpn::connections::Connection>(),
    ]
}

/// EC2's registration: operations, records; every operation first makes sure the region's
/// default network exists.
pub static SERVICE: Service = Service {
    name: "ec2",
    ops: &[
        (
            "DescribeAvailabilityZones",
            Handler::Output(regions::describe_availability_zones),
        ),
        (
            "DescribeVpcEndpoints",
            Handler::Output(vpce::describe_vpc_endpoints),
        ),
        ("DescribeRegions", Handler::Value(regions::describe_regions)),
        (
            "DescribeAccountAttributes",
            Handler::Value(describe_account_attributes),
        ),
        ("CreateVpc", Handler::Value(vpc::create_vpc)),
        ("DescribeVpcs", Handler::Value(vpc::describe_vpcs)),
        ("DeleteVpc", Handler::Value(vpc::delete_vpc)),
        (
            "ModifyVpcAttribute",
            Handler::Value(vpc::modify_vpc_attribute),
        ),
        (
            "DescribeVpcAttribute",
            Handler::Value(vpc::describe_vpc_attribute),
        ),
        (
            "DescribeVpcClassicLink",
            Handler::Output(vpc::describe_vpc_classic_link),
        ),
        (
            "DescribeVpcClassicLinkDnsSupport",
            Handler::Output(vpc::describe_vpc_classic_link_dns_support),
        ),
        ("CreateSubnet", Handler::Value(subnet::create_subnet)),
        ("DescribeSubnets", Handler::Value(subnet::describe_subnets)),
        ("DeleteSubnet", Handler::Value(subnet::delete_subnet)),
        (
            "ModifySubnetAttribute",
            Handler::Value(subnet::modify_subnet_attribute),
        ),
        (
            "CreateSecurityGroup",
            Handler::Value(sg::create_security_group),
        ),
        (
            "DescribeSecurityGroups",
            Handler::Value(sg::describe_security_groups),
        ),
        (
            "DeleteSecurityGroup",
            Handler::Value(sg::delete_security_group),
        ),
        (
            "AuthorizeSecurityGroupIngress",
            Handler::Value(sg::authorize_ingress),
        ),
        (
            "AuthorizeSecurityGroupEgress",
            Handler::Value(sg::authorize_egress),
        ),
        (
            "RevokeSecurityGroupIngress",
            Handler::Value(sg::revoke_ingress),
        ),
        (
            "RevokeSecurityGroupEgress",
            Handler::Value(sg::revoke_egress),
        ),
        (
            "DescribeSecurityGroupRules",
            Handler::Value(sg::describe_security_group_rules),
        ),
        (
            "ModifySecurityGroupRules",
            Handler::Output(sg::modify_security_group_rules),
        ),
        (
            "UpdateSecurityGroupRuleDescriptionsIngress",
            Handler::Value(sg::update_descriptions_ingress),
        ),
        (
            "UpdateSecurityGroupRuleDescriptionsEgress",
            Handler::Value(sg::update_descriptions_egress),
        ),
        (
            "CreateRouteTable",
            Handler::Value(routes::create_route_table),
        ),
        (
            "DescribeRouteTables",
            Handler::Value(routes::describe_route_tables),
        ),
        (
            "DeleteRouteTable",
            Handler::Value(routes::delete_route_table),
        ),
        (
            "CreateNetworkAcl",
            Handler::Output(nacl::create_network_acl),
        ),
        (
            "DescribeNetworkAcls",
            Handler::Output(nacl::describe_network_acls),
        ),
        (
            "DeleteNetworkAcl",
            Handler::Output(nacl::delete_network_acl),
        ),
        (
            "CreateNetworkAclEntry",
            Handler::Output(nacl::create_network_acl_entry),
        ),
        (
            "ReplaceNetworkAclEntry",
            Handler::Output(nacl::replace_network_acl_entry),
        ),
        (
            "DeleteNetworkAclEntry",
            Handler::Output(nacl::delete_network_acl_entry),
        ),
        (
            "ReplaceNetworkAclAssociation",
            Handler::Output(nacl::replace_network_acl_association),
        ),
        (
            "CreateDhcpOptions",
            Handler::Output(dhcp::create_dhcp_options),
        ),
        (
            "DescribeDhcpOptions",
            Handler::Output(dhcp::describe_dhcp_options),
        ),
        (
            "AssociateDhcpOptions",
            Handler::Output(dhcp::associate_dhcp_options),
        ),
        (
            "DeleteDhcpOptions",
            Handler::Output(dhcp::delete_dhcp_options),
        ),
        (
            "DescribeInstanceAttribute",
            Handler::Output(instances::describe_instance_attribute),
        ),
        (
            "ModifyInstanceAttribute",
            Handler::Output(instances::modify_instance_attribute),
        ),
        (
            "DescribeVolumes",
            Handler::Output(instances::describe_volumes),
        ),
        (
            "ModifyNetworkInterfaceAttribute",
            Handler::Output(eni::modify_network_interface_attribute),
        ),
        (
            "AssociateAddress",
            Handler::Output(address::associate_address),
        ),
        (
            "DisassociateAddress",
            Handler::Output(address::disassociate_address),
        ),
        ("CreateRoute", Handler::Value(routes::create_route)),
        ("DeleteRoute", Handler::Value(routes::delete_route)),
        ("ReplaceRoute", Handler::Value(routes::replace_route)),
        (
            "AssociateRouteTable",
            Handler::Value(routes::associate_route_table),
        ),
        (
            "DisassociateRouteTable",
            Handler::Value(routes::disassociate_route_table),
        ),
        (
            "CreateInternetGateway",
            Handler::Value(igw::create_internet_gateway),
        ),
        (
            "DescribeInternetGateways",
            Handler::Value(igw::describe_internet_gateways),
        ),
        (
            "DeleteInternetGateway",
            Handler::Value(igw::delete_internet_gateway),
        ),
        (
            "AttachInternetGateway",
            Handler::Value(igw::attach_internet_gateway),
        ),
        (
            "DetachInternetGateway",
            Handler::Value(igw::detach_internet_gateway),
        ),
        ("AllocateAddress", Handler::Value(nat::allocate_address)),
        ("ReleaseAddress", Handler::Value(nat::release_address)),
        ("DescribeAddresses", Handler::Value(nat::describe_addresses)),
        ("CreateNatGateway", Handler::Value(nat::create_nat_gateway)),
        (
            "DescribeNatGateways",
            Handler::Value(nat::describe_nat_gateways),
        ),
        ("DeleteNatGateway", Handler::Value(nat::delete_nat_gateway)),
        (
            "CreateNetworkInterface",
            Handler::Value(eni::create_network_interface),
        ),
        (
            "DescribeNetworkInterfaces",
            Handler::Value(eni::describe_network_interfaces),
        ),
        (
            "DeleteNetworkInterface",
            Handler::Value(eni::delete_network_interface),
        ),
        ("CreateKeyPair", Handler::Value(keypair::create_key_pair)),
        ("ImportKeyPair", Handler::Value(keypair::import_key_pair)),
        (
            "DescribeKeyPairs",
            Handler::Value(keypair::describe_key_pairs),
        ),
        ("DeleteKeyPair", Handler::Value(keypair::delete_key_pair)),
        ("RunInstances", Handler::Value(instances::run_instances)),
        (
            "DescribeInstances",
            Handler::Value(instances::describe_instances),
        ),
        ("StopInstances", Handler::Value(instances::stop_instances)),
        ("StartInstances", Handler::Value(instances::start_instances)),
        (
            "TerminateInstances",
            Handler::Value(instances::terminate_instances),
        ),
        (
            "CreateVpcEndpoint",
            Handler::Value(vpce::create_vpc_endpoint),
        ),
        (
            "ModifyVpcEndpoint",
            Handler::Value(vpce::modify_vpc_endpoint),
        ),
        (
            "DeleteVpcEndpoints",
            Handler::Value(vpce::delete_vpc_endpoints),
        ),
        (
            "DescribeVpcEndpointServices",
            Handler::Value(vpce::describe_vpc_endpoint_services),
        ),
        (
            "AssociateIamInstanceProfile",
            Handler::Output(instances::associate_iam_instance_profile),
        ),
        (
            "ReplaceIamInstanceProfileAssociation",
            Handler::Output(instances::replace_iam_instance_profile_association),
        ),
        (
            "DisassociateIamInstanceProfile",
            Handler::Output(instances::disassociate_iam_instance_profile),
        ),
        (
            "DescribeIamInstanceProfileAssociations",
            Handler::Output(instances::describe_iam_instance_profile_associations),
        ),
        ("DescribeImages", Handler::Output(images::describe_images)),
        (
            "DescribeInstanceTypes",
            Handler::Output(instances::describe_instance_types),
        ),
        (
            "DescribeInstanceCreditSpecifications",
            Handler::Output(instances::describe_instance_credit_specifications),
        ),
        (
            "ModifyInstanceCreditSpecification",
            Handler::Output(instances::modify_instance_credit_specification),
        ),
        (
            "MonitorInstances",
            Handler::Output(instances::monitor_instances),
        ),
        (
            "UnmonitorInstances",
            Handler::Output(instances::unmonitor_instances),
        ),
        (
            "ModifyInstanceMetadataOptions",
            Handler::Output(instances::modify_instance_metadata_options),
        ),
        ("ModifyVpcTenancy", Handler::Output(vpc::modify_vpc_tenancy)),
        (
            "AssociateVpcCidrBlock",
            Handler::Output(vpc_cidr::associate_vpc_cidr_block),
        ),
        (
            "DisassociateVpcCidrBlock",
            Handler::Output(vpc_cidr::disassociate_vpc_cidr_block),
        ),
        (
            "AssociateSubnetCidrBlock",
            Handler::Output(ipv6::associate_subnet_cidr_block),
        ),
        (
            "DisassociateSubnetCidrBlock",
            Handler::Output(ipv6::disassociate_subnet_cidr_block),
        ),
        (
            "AssignIpv6Addresses",
            Handler::Output(ipv6::assign_ipv6_addresses),
        ),
        (
            "UnassignIpv6Addresses",
            Handler::Output(ipv6::unassign_ipv6_addresses),
        ),
        (
            "CreateEgressOnlyInternetGateway",
            Handler::Output(ipv6::create_egress_only_internet_gateway),
        ),
        (
            "DescribeEgressOnlyInternetGateways",
            Handler::Output(ipv6::describe_egress_only_internet_gateways),
        ),
        (
            "DeleteEgressOnlyInternetGateway",
            Handler::Output(ipv6::delete_egress_only_internet_gateway),
        ),
        (
            "AssignPrivateIpAddresses",
            Handler::Output(eni_ops::assign_private_ip_addresses),
        ),
        (
            "UnassignPrivateIpAddresses",
            Handler::Output(eni_ops::unassign_private_ip_addresses),
        ),
        (
            "AttachNetworkInterface",
            Handler::Output(eni_ops::attach_network_interface),
        ),
        (
            "DetachNetworkInterface",
            Handler::Output(eni_ops::detach_network_interface),
        ),
        (
            "DescribeNetworkInterfaceAttribute",
            Handler::Output(eni_ops::describe_network_interface_attribute),
        ),
        (
            "ReplaceRouteTableAssociation",
            Handler::Value(routes::replace_route_table_association),
        ),
        (
            "DescribePrefixLists",
            Handler::Output(prefix_lists::describe_prefix_lists),
        ),
        (
            "DescribeManagedPrefixLists",
            Handler::Output(prefix_lists::describe_managed_prefix_lists),
        ),
        (
            "GetManagedPrefixListEntries",
            Handler::Output(prefix_lists::get_managed_prefix_list_entries),
        ),
        (
            "CreateManagedPrefixList",
            Handler::Output(prefix_lists::create_managed_prefix_list),
        ),
        (
            "ModifyManagedPrefixList",
            Handler::Output(prefix_lists::modify_managed_prefix_list),
        ),
        (
            "DeleteManagedPrefixList",
            Handler::Output(prefix_lists::delete_managed_prefix_list),
        ),
        (
            "DescribeAddressesAttribute",
            Handler::Output(address::describe_addresses_attribute),
        ),
        (
            "ModifyAddressAttribute",
            Handler::Output(address::modify_address_attribute),
        ),
        (
            "ResetAddressAttribute",
            Handler::Output(address::reset_address_attribute),
        ),
        (
            "CreateClientVpnEndpoint",
            Handler::Output(clientvpn::create_client_vpn_endpoint),
        ),
        (
            "DescribeClientVpnEndpoints",
            Handler::Output(clientvpn::describe_client_vpn_endpoints),
        ),
        (
            "ModifyClientVpnEndpoint",
            Handler::Output(clientvpn::modify_client_vpn_endpoint),
        ),
        (
            "DeleteClientVpnEndpoint",
            Handler::Output(clientvpn::delete_client_vpn_endpoint),
        ),
        (
            "AssociateClientVpnTargetNetwork",
            Handler::Output(clientvpn::network::associate_client_vpn_target_network),
        ),
        (
            "DisassociateClientVpnTargetNetwork",
            Handler::Output(clientvpn::network::disassociate_client_vpn_target_network),
        ),
        (
            "DescribeClientVpnTargetNetworks",
            Handler::Output(clientvpn::network::describe_client_vpn_target_networks),
        ),
        (
            "ApplySecurityGroupsToClientVpnTargetNetwork",
            Handler::Output(clientvpn::network::apply_security_groups),
        ),
        (
            "AuthorizeClientVpnIngress",
            Handler::Output(clientvpn::rules::authorize_client_vpn_ingress),
        ),
        (
            "RevokeClientVpnIngress",
            Handler::Output(clientvpn::rules::revoke_client_vpn_ingress),
        ),
        (
            "DescribeClientVpnAuthorizationRules",
            Handler::Output(clientvpn::rules::describe_client_vpn_authorization_rules),
        ),
        (
            "CreateClientVpnRoute",
            Handler::Output(clientvpn::rules::create_client_vpn_route),
        ),
        (
            "DeleteClientVpnRoute",
            Handler::Output(clientvpn::rules::delete_client_vpn_route),
        ),
        (
            "DescribeClientVpnRoutes",
            Handler::Output(clientvpn::rules::describe_client_vpn_routes),
        ),
        (
            "ExportClientVpnClientConfiguration",
            Handler::Output(clientvpn::export::export_client_vpn_client_configuration),
        ),
        (
            "DescribeClientVpnConnections",
            Handler::Output(clientvpn::connections::describe_client_vpn_connections),
        ),
        (
            "TerminateClientVpnConnections",
            Handler::Output(clientvpn::connections::terminate_client_vpn_connections),
        ),
        ("CreateTags", Handler::Value(tags::create_tags)),
        ("DeleteTags", Handler::Value(tags::delete_tags)),
        ("DescribeTags", Handler::Value(tags::describe_tags)),
    ],
    before: Some(vpc::ensure_region),
    records: record_kinds,
    dns: dns::ZONES,
    wants: Some(dataplane::wants),
    // Every EC2 action is authorized on `*` (resource-level ARNs are not modelled yet).
    iam: crate::authz::Iam {
        preamble: "You are not authorized to perform this operation. ",
        access: access::access,
        ..crate::authz::Iam::new("ec2", "UnauthorizedOperation", 403)
    },
    endpoints: &["ec2"],
    vpc_dns: Some(dns::private_dns),
    ..Service::NOTHING
};

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
