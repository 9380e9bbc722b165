//! Amazon EC2: the VPC network model (ec2 query protocol).
//!
//! Each module owns its records and operations: [`vpc`] (VPCs, subnets, the default network),
//! [`sg`] (security groups), [`routes`] (route tables), [`nacl`] (network ACLs), [`dhcp`] (DHCP
//! option sets), [`igw`], [`nat`] (Elastic IPs, NAT gateways), [`eni`] (network interfaces, address allocation), [`vpce`] (VPC endpoints and the
//! endpoint service catalogue), [`keypair`], [`instances`], [`tags`]. [`common`] has what they
//! share.

use crate::service::{ops, Service};
use crate::Ctx;
use airlock_dto::ec2 as dto;
use airlock_protocol::{ApiResult, Output};
use airlock_store::Kind;
use serde_json::Value;

pub mod access;
pub mod address;
pub mod associations;
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
    ops: ops! {
        "DescribeAvailabilityZones" => Output(regions::describe_availability_zones),
        "DescribeVpcEndpoints" => Output(vpce::describe_vpc_endpoints),
        "DescribeRegions" => Output(regions::describe_regions),
        "DescribeAccountAttributes" => Output(describe_account_attributes),
        "CreateVpc" => Output(vpc::create_vpc),
        "DescribeVpcs" => Output(vpc::describe_vpcs),
        "DeleteVpc" => Output(vpc::delete_vpc),
        "ModifyVpcAttribute" => Output(vpc::modify_vpc_attribute),
        "DescribeVpcAttribute" => Output(vpc::describe_vpc_attribute),
        "DescribeVpcClassicLink" => Output(vpc::describe_vpc_classic_link),
        "DescribeVpcClassicLinkDnsSupport" => Output(vpc::describe_vpc_classic_link_dns_support),
        "CreateSubnet" => Output(subnet::create_subnet),
        "DescribeSubnets" => Output(subnet::describe_subnets),
        "DeleteSubnet" => Output(subnet::delete_subnet),
        "ModifySubnetAttribute" => Output(subnet::modify_subnet_attribute),
        "CreateSecurityGroup" => Value(sg::create_security_group),
        "DescribeSecurityGroups" => Value(sg::describe_security_groups),
        "DeleteSecurityGroup" => Value(sg::delete_security_group),
        "AuthorizeSecurityGroupIngress" => Value(sg::authorize_ingress),
        "AuthorizeSecurityGroupEgress" => Value(sg::authorize_egress),
        "RevokeSecurityGroupIngress" => Value(sg::revoke_ingress),
        "RevokeSecurityGroupEgress" => Value(sg::revoke_egress),
        "DescribeSecurityGroupRules" => Value(sg::describe_security_group_rules),
        "ModifySecurityGroupRules" => Output(sg::modify_security_group_rules),
        "UpdateSecurityGroupRuleDescriptionsIngress" => Value(sg::update_descriptions_ingress),
        "UpdateSecurityGroupRuleDescriptionsEgress" => Value(sg::update_descriptions_egress),
        "CreateRouteTable" => Value(routes::create_route_table),
        "DescribeRouteTables" => Value(routes::describe_route_tables),
        "DeleteRouteTable" => Value(routes::delete_route_table),
        "CreateNetworkAcl" => Output(nacl::create_network_acl),
        "DescribeNetworkAcls" => Output(nacl::describe_network_acls),
        "DeleteNetworkAcl" => Output(nacl::delete_network_acl),
        "CreateNetworkAclEntry" => Output(nacl::create_network_acl_entry),
        "ReplaceNetworkAclEntry" => Output(nacl::replace_network_acl_entry),
        "DeleteNetworkAclEntry" => Output(nacl::delete_network_acl_entry),
        "ReplaceNetworkAclAssociation" => Output(nacl::replace_network_acl_association),
        "CreateDhcpOptions" => Output(dhcp::create_dhcp_options),
        "DescribeDhcpOptions" => Output(dhcp::describe_dhcp_options),
        "AssociateDhcpOptions" => Output(dhcp::associate_dhcp_options),
        "DeleteDhcpOptions" => Output(dhcp::delete_dhcp_options),
        "DescribeInstanceAttribute" => Output(instances::describe_instance_attribute),
        "ModifyInstanceAttribute" => Output(instances::modify_instance_attribute),
        "DescribeVolumes" => Output(instances::describe_volumes),
        "ModifyNetworkInterfaceAttribute" => Output(eni::modify_network_interface_attribute),
        "AssociateAddress" => Output(address::associate_address),
        "DisassociateAddress" => Output(address::disassociate_address),
        "CreateRoute" => Value(routes::create_route),
        "DeleteRoute" => Value(routes::delete_route),
        "ReplaceRoute" => Value(routes::replace_route),
        "AssociateRouteTable" => Value(associations::associate_route_table),
        "DisassociateRouteTable" => Value(associations::disassociate_route_table),
        "CreateInternetGateway" => Output(igw::create_internet_gateway),
        "DescribeInternetGateways" => Output(igw::describe_internet_gateways),
        "DeleteInternetGateway" => Output(igw::delete_internet_gateway),
        "AttachInternetGateway" => Output(igw::attach_internet_gateway),
        "DetachInternetGateway" => Output(igw::detach_internet_gateway),
        "AllocateAddress" => Output(nat::allocate_address),
        "ReleaseAddress" => Output(nat::release_address),
        "DescribeAddresses" => Output(nat::describe_addresses),
        "CreateNatGateway" => Output(nat::create_nat_gateway),
        "DescribeNatGateways" => Output(nat::describe_nat_gateways),
        "DeleteNatGateway" => Output(nat::delete_nat_gateway),
        "CreateNetworkInterface" => Value(eni::create_network_interface),
        "DescribeNetworkInterfaces" => Value(eni::describe_network_interfaces),
        "DeleteNetworkInterface" => Value(eni::delete_network_interface),
        "CreateKeyPair" => Output(keypair::create_key_pair),
        "ImportKeyPair" => Output(keypair::import_key_pair),
        "DescribeKeyPairs" => Output(keypair::describe_key_pairs),
        "DeleteKeyPair" => Output(keypair::delete_key_pair),
        "RunInstances" => Value(instances::run_instances),
        "DescribeInstances" => Value(instances::describe_instances),
        "StopInstances" => Value(instances::stop_instances),
        "StartInstances" => Value(instances::start_instances),
        "TerminateInstances" => Value(instances::terminate_instances),
        "CreateVpcEndpoint" => Value(vpce::create_vpc_endpoint),
        "ModifyVpcEndpoint" => Value(vpce::modify_vpc_endpoint),
        "DeleteVpcEndpoints" => Value(vpce::delete_vpc_endpoints),
        "DescribeVpcEndpointServices" => Value(vpce::describe_vpc_endpoint_services),
        "AssociateIamInstanceProfile" => Output(instances::associate_iam_instance_profile),
        "ReplaceIamInstanceProfileAssociation" => Output(instances::replace_iam_instance_profile_association),
        "DisassociateIamInstanceProfile" => Output(instances::disassociate_iam_instance_profile),
        "DescribeIamInstanceProfileAssociations" => Output(instances::describe_iam_instance_profile_associations),
        "DescribeImages" => Output(images::describe_images),
        "DescribeInstanceTypes" => Output(instances::describe_instance_types),
        "DescribeInstanceCreditSpecifications" => Output(instances::describe_instance_credit_specifications),
        "ModifyInstanceCreditSpecification" => Output(instances::modify_instance_credit_specification),
        "MonitorInstances" => Output(instances::monitor_instances),
        "UnmonitorInstances" => Output(instances::unmonitor_instances),
        "ModifyInstanceMetadataOptions" => Output(instances::modify_instance_metadata_options),
        "ModifyVpcTenancy" => Output(vpc::modify_vpc_tenancy),
        "AssociateVpcCidrBlock" => Output(vpc_cidr::associate_vpc_cidr_block),
        "DisassociateVpcCidrBlock" => Output(vpc_cidr::disassociate_vpc_cidr_block),
        "AssociateSubnetCidrBlock" => Output(ipv6::associate_subnet_cidr_block),
        "DisassociateSubnetCidrBlock" => Output(ipv6::disassociate_subnet_cidr_block),
        "AssignIpv6Addresses" => Output(ipv6::assign_ipv6_addresses),
        "UnassignIpv6Addresses" => Output(ipv6::unassign_ipv6_addresses),
        "CreateEgressOnlyInternetGateway" => Output(ipv6::create_egress_only_internet_gateway),
        "DescribeEgressOnlyInternetGateways" => Output(ipv6::describe_egress_only_internet_gateways),
        "DeleteEgressOnlyInternetGateway" => Output(ipv6::delete_egress_only_internet_gateway),
        "AssignPrivateIpAddresses" => Output(eni_ops::assign_private_ip_addresses),
        "UnassignPrivateIpAddresses" => Output(eni_ops::unassign_private_ip_addresses),
        "AttachNetworkInterface" => Output(eni_ops::attach_network_interface),
        "DetachNetworkInterface" => Output(eni_ops::detach_network_interface),
        "DescribeNetworkInterfaceAttribute" => Output(eni_ops::describe_network_interface_attribute),
        "ReplaceRouteTableAssociation" => Value(associations::replace_route_table_association),
        "DescribePrefixLists" => Output(prefix_lists::describe_prefix_lists),
        "DescribeManagedPrefixLists" => Output(prefix_lists::describe_managed_prefix_lists),
        "GetManagedPrefixListEntries" => Output(prefix_lists::get_managed_prefix_list_entries),
        "CreateManagedPrefixList" => Output(prefix_lists::create_managed_prefix_list),
        "ModifyManagedPrefixList" => Output(prefix_lists::modify_managed_prefix_list),
        "DeleteManagedPrefixList" => Output(prefix_lists::delete_managed_prefix_list),
        "DescribeAddressesAttribute" => Output(address::describe_addresses_attribute),
        "ModifyAddressAttribute" => Output(address::modify_address_attribute),
        "ResetAddressAttribute" => Output(address::reset_address_attribute),
        "CreateClientVpnEndpoint" => Output(clientvpn::create_client_vpn_endpoint),
        "DescribeClientVpnEndpoints" => Output(clientvpn::describe_client_vpn_endpoints),
        "ModifyClientVpnEndpoint" => Output(clientvpn::modify_client_vpn_endpoint),
        "DeleteClientVpnEndpoint" => Output(clientvpn::delete_client_vpn_endpoint),
        "AssociateClientVpnTargetNetwork" => Output(clientvpn::network::associate_client_vpn_target_network),
        "DisassociateClientVpnTargetNetwork" => Output(clientvpn::network::disassociate_client_vpn_target_network),
        "DescribeClientVpnTargetNetworks" => Output(clientvpn::network::describe_client_vpn_target_networks),
        "ApplySecurityGroupsToClientVpnTargetNetwork" => Output(clientvpn::network::apply_security_groups),
        "AuthorizeClientVpnIngress" => Output(clientvpn::rules::authorize_client_vpn_ingress),
        "RevokeClientVpnIngress" => Output(clientvpn::rules::revoke_client_vpn_ingress),
        "DescribeClientVpnAuthorizationRules" => Output(clientvpn::rules::describe_client_vpn_authorization_rules),
        "CreateClientVpnRoute" => Output(clientvpn::rules::create_client_vpn_route),
        "DeleteClientVpnRoute" => Output(clientvpn::rules::delete_client_vpn_route),
        "DescribeClientVpnRoutes" => Output(clientvpn::rules::describe_client_vpn_routes),
        "ExportClientVpnClientConfiguration" => Output(clientvpn::export::export_client_vpn_client_configuration),
        "DescribeClientVpnConnections" => Output(clientvpn::connections::describe_client_vpn_connections),
        "TerminateClientVpnConnections" => Output(clientvpn::connections::terminate_client_vpn_connections),
        "CreateTags" => Output(tags::create_tags),
        "DeleteTags" => Output(tags::delete_tags),
        "DescribeTags" => Output(tags::describe_tags),
    },
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

fn describe_account_attributes(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    crate::input::dry_run(input)?;
    let req: dto::DescribeAccountAttributesRequest = crate::input::typed(input)?;
    let names = req.attribute_names.unwrap_or_default();
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
    let out = attrs
        .into_iter()
        .filter(|(n, _)| names.is_empty() || names.iter().any(|x| x == n))
        .map(|(n, vals)| dto::AccountAttribute {
            attribute_name: Some(n.to_owned()),
            attribute_values: Some(
                vals.into_iter()
                    .map(|v| dto::AccountAttributeValue {
                        attribute_value: Some(v),
                    })
                    .collect(),
            ),
        });
    Ok(Output::new(dto::DescribeAccountAttributesResult {
        account_attributes: Some(out.collect()),
    }))
}
