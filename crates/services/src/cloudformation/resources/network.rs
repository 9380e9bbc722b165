//! VPCs, subnets, gateways, Elastic IPs, route tables and routes, network ACLs, DHCP options.

use super::*;

pub(super) static TYPES: &[Type] = &[
    Type {
        name: "AWS::EC2::VPC",
        create: |ctx, p| {
            let out = ec2(
                ctx,
                "CreateVpc",
                json!({"CidrBlock": p.req("CidrBlock")?, "InstanceTenancy": p.str("InstanceTenancy"),
                       "TagSpecifications": p.tag_spec("vpc")}),
            )?;
            let id = id_at(&out, "/Vpc/VpcId")?;
            for attr in ["EnableDnsSupport", "EnableDnsHostnames"] {
                if let Some(v) = p.str(attr) {
                    ec2(
                        ctx,
                        "ModifyVpcAttribute",
                        json!({"VpcId": id, attr: {"Value": v == "true"}}),
                    )?;
                }
            }
            Ok(id)
        },
        made: |ctx, id, _| {
            let vpc = ec2(ctx, "DescribeVpcs", json!({"VpcIds": [id]}))?;
            let sg = ec2(
                ctx,
                "DescribeSecurityGroups",
                json!({"Filters": [{"Name": "vpc-id", "Values": [id]}, {"Name": "group-name", "Values": ["default"]}]}),
            )?;
            let acl = ec2(
                ctx,
                "DescribeNetworkAcls",
                json!({"Filters": [{"Name": "vpc-id", "Values": [id]}, {"Name": "default", "Values": ["true"]}]}),
            )?;
            let v = ptr(&vpc, "/Vpcs/0");
            let assoc: Vec<Value> = ptr(v, "/CidrBlockAssociationSet")
                .as_array()
                .map(|a| a.iter().map(|x| ptr(x, "/AssociationId").clone()).collect())
                .unwrap_or_default();
            let v6: Vec<Value> = ptr(v, "/Ipv6CidrBlockAssociationSet")
                .as_array()
                .map(|a| a.iter().map(|x| ptr(x, "/Ipv6CidrBlock").clone()).collect())
                .unwrap_or_default();
            made(
                id,
                vec![
                    ("VpcId", json!(id)),
                    ("CidrBlock", ptr(v, "/CidrBlock").clone()),
                    ("CidrBlockAssociations", json!(assoc)),
                    ("Ipv6CidrBlocks", json!(v6)),
                    (
                        "DefaultSecurityGroup",
                        ptr(&sg, "/SecurityGroups/0/GroupId").clone(),
                    ),
                    (
                        "DefaultNetworkAcl",
                        ptr(&acl, "/NetworkAcls/0/NetworkAclId").clone(),
                    ),
                ],
            )
        },
        delete: |ctx, id, _| delete_by(ctx, "ec2", "DeleteVpc", "VpcId", id),
        mutable: &["Tags", "EnableDnsSupport", "EnableDnsHostnames"],
        update: Some(update_vpc),
        ..FIXED
    },
    Type {
        name: "AWS::EC2::Subnet",
        create: |ctx, p| {
            let out = ec2(
                ctx,
                "CreateSubnet",
                json!({"VpcId": p.req("VpcId")?, "CidrBlock": p.str("CidrBlock"),
                       "AvailabilityZone": p.str("AvailabilityZone"),
                       "AvailabilityZoneId": p.str("AvailabilityZoneId"),
                       "Ipv6CidrBlock": p.str("Ipv6CidrBlock"),
                       "Ipv6Native": p.str("Ipv6Native").map(|v| v == "true"),
                       "TagSpecifications": p.tag_spec("subnet")}),
            )?;
            let id = id_at(&out, "/Subnet/SubnetId")?;
            for attr in SUBNET_ATTRIBUTES {
                if p.get(attr).is_some() {
                    set_subnet_attribute(ctx, &id, attr, p)?;
                }
            }
            Ok(id)
        },
        made: |ctx, id, _| {
            let out = ec2(ctx, "DescribeSubnets", json!({"SubnetIds": [id]}))?;
            let s = ptr(&out, "/Subnets/0");
            let acl = ec2(
                ctx,
                "DescribeNetworkAcls",
                json!({"Filters": [{"Name": "association.subnet-id", "Values": [id]}]}),
            )?;
            let assoc = ptr(&acl, "/NetworkAcls/0/Associations")
                .as_array()
                .and_then(|a| {
                    a.iter()
                        .find(|x| ptr(x, "/SubnetId").as_str() == Some(id))
                        .map(|x| ptr(x, "/NetworkAclAssociationId").clone())
                })
                .unwrap_or(Value::Null);
            let v6: Vec<Value> = ptr(s, "/Ipv6CidrBlockAssociationSet")
                .as_array()
                .map(|a| a.iter().map(|x| ptr(x, "/Ipv6CidrBlock").clone()).collect())
                .unwrap_or_default();
            made(
                id,
                vec![
                    ("SubnetId", json!(id)),
                    ("AvailabilityZone", ptr(s, "/AvailabilityZone").clone()),
                    ("AvailabilityZoneId", ptr(s, "/AvailabilityZoneId").clone()),
                    ("CidrBlock", ptr(s, "/CidrBlock").clone()),
                    ("VpcId", ptr(s, "/VpcId").clone()),
                    ("NetworkAclAssociationId", assoc),
                    ("Ipv6CidrBlocks", json!(v6)),
                ],
            )
        },
        delete: |ctx, id, _| delete_by(ctx, "ec2", "DeleteSubnet", "SubnetId", id),
        mutable: &[
            "Tags",
            SUBNET_ATTRIBUTES[0],
            SUBNET_ATTRIBUTES[1],
            SUBNET_ATTRIBUTES[2],
        ],
        update: Some(update_subnet),
        ..FIXED
    },
    Type {
        name: "AWS::EC2::InternetGateway",
        create: |ctx, p| {
            let out = ec2(
                ctx,
                "CreateInternetGateway",
                json!({"TagSpecifications": p.tag_spec("internet-gateway")}),
            )?;
            id_at(&out, "/InternetGateway/InternetGatewayId")
        },
        made: |_, id, _| made(id, vec![("InternetGatewayId", json!(id))]),
        delete: |ctx, id, _| {
            delete_by(ctx, "ec2", "DeleteInternetGateway", "InternetGatewayId", id)
        },
        ..TAGGED
    },
    Type {
        name: "AWS::EC2::VPCCidrBlock",
        create: |ctx, p| {
            let out = ec2(
                ctx,
                "AssociateVpcCidrBlock",
                json!({"VpcId": p.req("VpcId")?, "CidrBlock": p.str("CidrBlock"),
                       "AmazonProvidedIpv6CidrBlock": p.str("AmazonProvidedIpv6CidrBlock").map(|v| v == "true"),
                       "Ipv4IpamPoolId": p.str("Ipv4IpamPoolId"), "Ipv6Pool": p.str("Ipv6Pool"),
                       "Ipv6CidrBlock": p.str("Ipv6CidrBlock"), "Ipv6IpamPoolId": p.str("Ipv6IpamPoolId")}),
            )?;
            ptr(&out, "/CidrBlockAssociation/AssociationId")
                .as_str()
                .map(str::to_owned)
                .map_or_else(
                    || id_at(&out, "/Ipv6CidrBlockAssociation/AssociationId"),
                    Ok,
                )
        },
        made: |_, id, p| {
            let v6 = p.str("CidrBlock").is_none();
            made(
                id,
                vec![
                    ("Id", json!(id)),
                    ("IpSource", json!(if v6 { "amazon" } else { "none" })),
                    (
                        "Ipv6AddressAttribute",
                        if v6 { json!("public") } else { Value::Null },
                    ),
                ],
            )
        },
        delete: |ctx, id, _| delete_by(ctx, "ec2", "DisassociateVpcCidrBlock", "AssociationId", id),
        ..FIXED
    },
    Type {
        name: "AWS::EC2::VPCGatewayAttachment",
        create: |ctx, p| {
            let vpc = p.req("VpcId")?;
            let igw = p.str("InternetGatewayId").ok_or_else(|| {
                ApiError::new(
                    "ValidationError",
                    "Airlock attaches internet gateways only (VpnGatewayId is not emulated)",
                )
            })?;
            ec2(
                ctx,
                "AttachInternetGateway",
                json!({"InternetGatewayId": igw, "VpcId": vpc}),
            )?;
            Ok(format!("IGW|{vpc}"))
        },
        delete: |ctx, _, p| {
            ok_if_gone(ec2(
                ctx,
                "DetachInternetGateway",
                json!({"InternetGatewayId": p.str("InternetGatewayId"), "VpcId": p.str("VpcId")}),
            ))
        },
        ..FIXED
    },
    Type {
        name: "AWS::EC2::EIP",
        create: |ctx, p| {
            let out = ec2(
                ctx,
                "AllocateAddress",
                json!({"Domain": "vpc", "TagSpecifications": p.tag_spec("elastic-ip")}),
            )?;
            let alloc = id_at(&out, "/AllocationId")?;
            if let Some(i) = p.str("InstanceId") {
                ec2(
                    ctx,
                    "AssociateAddress",
                    json!({"AllocationId": alloc, "InstanceId": i}),
                )?;
            }
            Ok(alloc)
        },
        made: |ctx, alloc, _| {
            let out = ec2(ctx, "DescribeAddresses", json!({"AllocationIds": [alloc]}))?;
            let ip = ptr(&out, "/Addresses/0/PublicIp").clone();
            Ok(Made {
                reference: ip.clone(),
                attrs: attrs(vec![("AllocationId", json!(alloc)), ("PublicIp", ip)]),
            })
        },
        delete: |ctx, alloc, _| {
            let out = ec2(ctx, "DescribeAddresses", json!({"AllocationIds": [alloc]}));
            if let Ok(out) = &out {
                if let Some(a) = ptr(out, "/Addresses/0/AssociationId").as_str() {
                    delete_by(ctx, "ec2", "DisassociateAddress", "AssociationId", a)?;
                }
            }
            delete_by(ctx, "ec2", "ReleaseAddress", "AllocationId", alloc)
        },
        ..TAGGED
    },
    Type {
        name: "AWS::EC2::NatGateway",
        create: |ctx, p| {
            let out = ec2(
                ctx,
                "CreateNatGateway",
                json!({"SubnetId": p.req("SubnetId")?, "AllocationId": p.str("AllocationId"),
                       "ConnectivityType": p.str("ConnectivityType"),
                       "PrivateIpAddress": p.str("PrivateIpAddress"),
                       "TagSpecifications": p.tag_spec("natgateway")}),
            )?;
            id_at(&out, "/NatGateway/NatGatewayId")
        },
        ready: |ctx, id| {
            let out = ec2(ctx, "DescribeNatGateways", json!({"NatGatewayIds": [id]}))?;
            match ptr(&out, "/NatGateways/0/State").as_str() {
                Some("available") => Ok(true),
                Some("failed") => Err(ApiError::new(
                    ptr(&out, "/NatGateways/0/FailureCode")
                        .as_str()
                        .unwrap_or("NatGatewayFailed"),
                    ptr(&out, "/NatGateways/0/FailureMessage")
                        .as_str()
                        .unwrap_or("NAT gateway failed")
                        .to_string(),
                )),
                _ => Ok(false),
            }
        },
        made: |_, id, _| made(id, vec![("NatGatewayId", json!(id))]),
        delete: |ctx, id, _| delete_by(ctx, "ec2", "DeleteNatGateway", "NatGatewayId", id),
        gone: |ctx, id| {
            let out = ec2(ctx, "DescribeNatGateways", json!({"NatGatewayIds": [id]}));
            gone_at(out, "/NatGateways/0/State", "deleted")
        },
        ..TAGGED
    },
    Type {
        name: "AWS::EC2::RouteTable",
        create: |ctx, p| {
            in_vpc(
                ctx,
                p,
                "CreateRouteTable",
                "route-table",
                "/RouteTable/RouteTableId",
            )
        },
        made: |_, id, _| made(id, vec![("RouteTableId", json!(id))]),
        delete: |ctx, id, _| delete_by(ctx, "ec2", "DeleteRouteTable", "RouteTableId", id),
        ..TAGGED
    },
    Type {
        name: "AWS::EC2::Route",
        create: |ctx, p| {
            let table = p.req("RouteTableId")?;
            ec2(ctx, "CreateRoute", route_input(p, ROUTE_MEMBERS))?;
            let dest = p
                .str("DestinationCidrBlock")
                .or_else(|| p.str("DestinationIpv6CidrBlock"))
                .or_else(|| p.str("DestinationPrefixListId"))
                .unwrap_or_default();
            Ok(format!("{table}|{dest}"))
        },
        delete: |ctx, _, p| {
            ok_if_gone(ec2(
                ctx,
                "DeleteRoute",
                route_input(p, ROUTE_MEMBERS.split_at(3).0),
            ))
        },
        // A route's targets change in place (ReplaceRoute); its destination does not.
        mutable: ROUTE_MEMBERS.split_at(3).1,
        update: Some(update_route),
        ..FIXED
    },
    Type {
        name: "AWS::EC2::SubnetRouteTableAssociation",
        create: |ctx, p| associate(ctx, p, "SubnetId"),
        made: |_, id, _| made(id, vec![("Id", json!(id))]),
        delete: disassociate,
        mutable: &["RouteTableId"],
        update: Some(update_association),
        ..FIXED
    },
    Type {
        name: "AWS::EC2::GatewayRouteTableAssociation",
        create: |ctx, p| associate(ctx, p, "GatewayId"),
        made: |_, id, _| made(id, vec![("AssociationId", json!(id))]),
        delete: disassociate,
        mutable: &["RouteTableId"],
        update: Some(update_association),
        ..FIXED
    },
    Type {
        name: "AWS::EC2::NetworkAcl",
        create: |ctx, p| {
            in_vpc(
                ctx,
                p,
                "CreateNetworkAcl",
                "network-acl",
                "/NetworkAcl/NetworkAclId",
            )
        },
        made: |_, id, _| made(id, vec![("Id", json!(id))]),
        delete: |ctx, id, _| delete_by(ctx, "ec2", "DeleteNetworkAcl", "NetworkAclId", id),
        ..TAGGED
    },
    Type {
        name: "AWS::EC2::NetworkAclEntry",
        create: |ctx, p| {
            let acl = p.req("NetworkAclId")?;
            let egress = p.str("Egress").as_deref() == Some("true");
            let rule = p.req("RuleNumber")?;
            ec2(
                ctx,
                "CreateNetworkAclEntry",
                acl_entry(p, &acl, egress, &rule)?,
            )?;
            Ok(format!(
                "{acl}|{}|{rule}",
                if egress { "egress" } else { "ingress" }
            ))
        },
        made: |_, id, _| made(id, vec![("Id", json!(id))]),
        delete: |ctx, _, p| {
            ok_if_gone(ec2(
                ctx,
                "DeleteNetworkAclEntry",
                json!({"NetworkAclId": p.str("NetworkAclId"), "RuleNumber": p.str("RuleNumber"),
                       "Egress": p.str("Egress").as_deref() == Some("true")}),
            ))
        },
        mutable: &[
            "CidrBlock",
            "Ipv6CidrBlock",
            "Protocol",
            "RuleAction",
            "PortRange",
            "Icmp",
        ],
        update: Some(|ctx, _, change| {
            let p = change.new;
            let acl = p.req("NetworkAclId")?;
            let egress = p.str("Egress").as_deref() == Some("true");
            let rule = p.req("RuleNumber")?;
            ec2(
                ctx,
                "ReplaceNetworkAclEntry",
                acl_entry(p, &acl, egress, &rule)?,
            )?;
            Ok(None)
        }),
        ..FIXED
    },
    Type {
        name: "AWS::EC2::SubnetNetworkAclAssociation",
        create: |ctx, p| {
            let subnet = p.req("SubnetId")?;
            let current = subnet_acl_association(ctx, &subnet)?;
            let out = ec2(
                ctx,
                "ReplaceNetworkAclAssociation",
                json!({"AssociationId": current, "NetworkAclId": p.req("NetworkAclId")?}),
            )?;
            id_at(&out, "/NewAssociationId")
        },
        made: |_, id, _| made(id, vec![("AssociationId", json!(id))]),
        // Deleting the association gives the subnet back to its VPC's default ACL.
        delete: |ctx, _, p| {
            let Some(subnet) = p.str("SubnetId") else {
                return Ok(());
            };
            let out = ec2(ctx, "DescribeSubnets", json!({"SubnetIds": [subnet]}));
            let vpc = match out {
                Ok(v) => ptr(&v, "/Subnets/0/VpcId").clone(),
                Err(e) if is_not_found(&e) => return Ok(()),
                Err(e) => return Err(e),
            };
            let default = ec2(
                ctx,
                "DescribeNetworkAcls",
                json!({"Filters": [{"Name": "vpc-id", "Values": [vpc]}, {"Name": "default", "Values": ["true"]}]}),
            )?;
            let current = subnet_acl_association(ctx, &subnet)?;
            ok_if_gone(ec2(
                ctx,
                "ReplaceNetworkAclAssociation",
                json!({"AssociationId": current, "NetworkAclId": ptr(&default, "/NetworkAcls/0/NetworkAclId")}),
            ))
        },
        ..FIXED
    },
    Type {
        name: "AWS::EC2::DHCPOptions",
        create: |ctx, p| {
            let mut configs = Vec::new();
            for (prop, key) in [
                ("DomainName", "domain-name"),
                ("DomainNameServers", "domain-name-servers"),
                ("NtpServers", "ntp-servers"),
                ("NetbiosNameServers", "netbios-name-servers"),
                ("NetbiosNodeType", "netbios-node-type"),
            ] {
                let values = p.strs(prop);
                if !values.is_empty() {
                    configs.push(json!({"Key": key, "Values": values}));
                }
            }
            let out = ec2(
                ctx,
                "CreateDhcpOptions",
                json!({"DhcpConfigurations": configs, "TagSpecifications": p.tag_spec("dhcp-options")}),
            )?;
            id_at(&out, "/DhcpOptions/DhcpOptionsId")
        },
        made: |_, id, _| made(id, vec![("DhcpOptionsId", json!(id))]),
        delete: |ctx, id, _| delete_by(ctx, "ec2", "DeleteDhcpOptions", "DhcpOptionsId", id),
        ..TAGGED
    },
    Type {
        name: "AWS::EC2::VPCDHCPOptionsAssociation",
        create: |ctx, p| {
            let (options, vpc) = (p.req("DhcpOptionsId")?, p.req("VpcId")?);
            ec2(
                ctx,
                "AssociateDhcpOptions",
                json!({"DhcpOptionsId": options, "VpcId": vpc}),
            )?;
            Ok(format!("{options}|{vpc}"))
        },
        delete: |ctx, _, p| {
            ok_if_gone(ec2(
                ctx,
                "AssociateDhcpOptions",
                json!({"DhcpOptionsId": "default", "VpcId": p.str("VpcId")}),
            ))
        },
        mutable: &["DhcpOptionsId"],
        update: Some(|ctx, _, change| {
            let p = change.new;
            let (options, vpc) = (p.req("DhcpOptionsId")?, p.req("VpcId")?);
            ec2(
                ctx,
                "AssociateDhcpOptions",
                json!({"DhcpOptionsId": options, "VpcId": vpc}),
            )?;
            Ok(Some(format!("{options}|{vpc}")))
        }),
        ..FIXED
    },
];

fn update_vpc(ctx: &Ctx<'_>, id: &str, change: &Change<'_>) -> ApiResult<Option<String>> {
    let new = change.new;
    retag(ctx, id, change)?;
    for (attr, default) in [("EnableDnsSupport", true), ("EnableDnsHostnames", false)] {
        if change.changed(attr) {
            let v = new.str(attr).map_or(default, |v| v == "true");
            ec2(
                ctx,
                "ModifyVpcAttribute",
                json!({"VpcId": id, attr: {"Value": v}}),
            )?;
        }
    }
    Ok(None)
}

/// The subnet's properties that are ModifySubnetAttribute's (set after creation, changed in
/// place).
const SUBNET_ATTRIBUTES: [&str; 3] = [
    "MapPublicIpOnLaunch",
    "AssignIpv6AddressOnCreation",
    "EnableDns64",
];

fn set_subnet_attribute(ctx: &Ctx<'_>, id: &str, attr: &str, p: &Props<'_>) -> ApiResult<()> {
    let mut input = json!({ "SubnetId": id });
    input[attr] = json!({"Value": p.str(attr).is_some_and(|v| v == "true")});
    ec2(ctx, "ModifySubnetAttribute", input).map(drop)
}

fn update_subnet(ctx: &Ctx<'_>, id: &str, change: &Change<'_>) -> ApiResult<Option<String>> {
    let new = change.new;
    retag(ctx, id, change)?;
    for attr in SUBNET_ATTRIBUTES {
        if change.changed(attr) {
            set_subnet_attribute(ctx, id, attr, new)?;
        }
    }
    Ok(None)
}

fn update_route(ctx: &Ctx<'_>, _: &str, change: &Change<'_>) -> ApiResult<Option<String>> {
    ec2(ctx, "ReplaceRoute", route_input(change.new, ROUTE_MEMBERS))?;
    Ok(None)
}

/// A route's properties: its destination (the first three, which name it), then its targets.
const ROUTE_MEMBERS: &[&str] = &[
    "DestinationCidrBlock",
    "DestinationIpv6CidrBlock",
    "DestinationPrefixListId",
    "GatewayId",
    "NatGatewayId",
    "InstanceId",
    "NetworkInterfaceId",
    "VpcEndpointId",
    "EgressOnlyInternetGatewayId",
    "VpcPeeringConnectionId",
    "TransitGatewayId",
    "CarrierGatewayId",
    "LocalGatewayId",
    "CoreNetworkArn",
];

/// A route operation's input: its table and the given `members` of the properties.
fn route_input(p: &Props<'_>, members: &[&str]) -> Value {
    let mut input = json!({"RouteTableId": p.str("RouteTableId")});
    for k in members {
        if let Some(v) = p.str(k) {
            input[*k] = json!(v);
        }
    }
    input
}

/// A route table association of a subnet or (`GatewayId`) a gateway; its id is the physical id.
fn associate(ctx: &Ctx<'_>, p: &Props<'_>, target: &str) -> ApiResult<String> {
    let out = ec2(
        ctx,
        "AssociateRouteTable",
        json!({"RouteTableId": p.req("RouteTableId")?, target: p.req(target)?}),
    )?;
    id_at(&out, "/AssociationId")
}

fn disassociate(ctx: &Ctx<'_>, id: &str, _: &Props<'_>) -> ApiResult<()> {
    delete_by(ctx, "ec2", "DisassociateRouteTable", "AssociationId", id)
}

fn update_association(ctx: &Ctx<'_>, id: &str, change: &Change<'_>) -> ApiResult<Option<String>> {
    let new = change.new;
    let out = ec2(
        ctx,
        "ReplaceRouteTableAssociation",
        json!({"AssociationId": id, "RouteTableId": new.str("RouteTableId")}),
    )?;
    id_at(&out, "/NewAssociationId").map(Some)
}

/// A network ACL entry's input from `AWS::EC2::NetworkAclEntry` properties.
fn acl_entry(p: &Props<'_>, acl: &str, egress: bool, rule: &str) -> ApiResult<Value> {
    let icmp = p
        .get("Icmp")
        .map(|i| json!({"Code": i.get("Code"), "Type": i.get("Type")}));
    Ok(
        json!({"NetworkAclId": acl, "RuleNumber": rule, "Egress": egress,
              "Protocol": p.req("Protocol")?, "RuleAction": p.req("RuleAction")?,
              "CidrBlock": p.str("CidrBlock"), "Ipv6CidrBlock": p.str("Ipv6CidrBlock"),
              "PortRange": p.get("PortRange"), "IcmpTypeCode": icmp}),
    )
}

/// The id of a subnet's current network ACL association.
fn subnet_acl_association(ctx: &Ctx<'_>, subnet: &str) -> ApiResult<String> {
    let out = ec2(
        ctx,
        "DescribeNetworkAcls",
        json!({"Filters": [{"Name": "association.subnet-id", "Values": [subnet]}]}),
    )?;
    ptr(&out, "/NetworkAcls/0/Associations")
        .as_array()
        .and_then(|a| {
            a.iter()
                .find(|x| ptr(x, "/SubnetId").as_str() == Some(subnet))
                .and_then(|x| ptr(x, "/NetworkAclAssociationId").as_str())
        })
        .map(str::to_string)
        .ok_or_else(|| {
            ApiError::new(
                "InvalidSubnetID.NotFound",
                format!("The subnet ID '{subnet}' does not exist"),
            )
        })
}
