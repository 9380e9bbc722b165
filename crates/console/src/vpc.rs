//! The VPC console's pages: endpoints (the page's procedure: which endpoints MWAA made, with
//! their addresses), endpoint services, VPCs, subnets, route tables, security groups, gateways
//! and network interfaces.

use crate::html::{esc, facts, Cell, Table};
use crate::{items, s, tag, Content, Req};
use airlock_protocol::ApiError;
use airlock_services::ec2::eni::NetworkInterface;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::fmt::Write;

fn list(r: &Req<'_>, op: &str, input: Value, key: &str) -> Result<Vec<Value>, ApiError> {
    Ok(
        match r.api.call("ec2", op, input)?.get_mut(key).map(Value::take) {
            Some(Value::Array(a)) => a,
            _ => Vec::new(),
        },
    )
}

fn strings(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The `Name` tag, or a dash.
fn name(v: &Value) -> String {
    tag(v, "Name").unwrap_or("-").to_owned()
}

/// The private addresses of each endpoint's interfaces, read from their records in one
/// snapshot (the Endpoints page shows them for every endpoint of the region).
fn addresses(r: &Req<'_>, endpoints: &[Value]) -> Vec<Vec<String>> {
    let scope = airlock_store::Scope::new(r.account.clone(), r.region.clone());
    r.api.ctx().store.read(|v| {
        endpoints
            .iter()
            .map(|e| {
                strings(e, "NetworkInterfaceIds")
                    .iter()
                    .filter_map(|id| v.get::<NetworkInterface>(&scope, id))
                    .map(|n| std::net::Ipv4Addr::from(n.private_ip).to_string())
                    .collect()
            })
            .collect()
    })
}

/// VPC → Endpoints, and one endpoint's details.
pub fn endpoints(r: &Req<'_>, id: &str) -> Result<Content, ApiError> {
    if !id.is_empty() {
        return endpoint(r, id);
    }
    let eps = list(r, "DescribeVpcEndpoints", json!({}), "VpcEndpoints")?;
    let ips = addresses(r, &eps);
    let mut t = Table::new(vec![
        "Endpoint ID",
        "Name",
        "VPC ID",
        "Service name",
        "Endpoint type",
        "Status",
        "Creation time",
        "Private IPs",
        "MWAA-managed",
    ]);
    for (e, ips) in eps.iter().zip(&ips) {
        let id = s(e, "VpcEndpointId");
        t.push(vec![
            Cell::link(id, &r.href(&format!("vpc/endpoints/{id}"), &[])),
            Cell::text(name(e)),
            Cell::text(s(e, "VpcId")),
            Cell::text(s(e, "ServiceName")),
            Cell::text(s(e, "VpcEndpointType")),
            Cell::status(s(e, "State")),
            Cell::text(s(e, "CreationTimestamp")),
            Cell::lines(ips),
            Cell::text(if tag(e, "AmazonMWAAManaged") == Some("true") {
                "Yes"
            } else {
                "No"
            }),
        ]);
    }
    Ok(r.listing("Endpoints", "vpc/endpoints", t, false))
}

fn endpoint(r: &Req<'_>, id: &str) -> Result<Content, ApiError> {
    let eps = list(
        r,
        "DescribeVpcEndpoints",
        json!({"VpcEndpointIds": [id]}),
        "VpcEndpoints",
    )?;
    let e = eps.first().ok_or_else(|| {
        ApiError::new(
            "InvalidVpcEndpointId.NotFound",
            format!("The Vpc Endpoint Id '{id}' does not exist"),
        )
    })?;
    let eni_ids = strings(e, "NetworkInterfaceIds");
    let enis = if eni_ids.is_empty() {
        HashMap::new()
    } else {
        list(
            r,
            "DescribeNetworkInterfaces",
            json!({"NetworkInterfaceIds": eni_ids}),
            "NetworkInterfaces",
        )?
        .into_iter()
        .map(|n| (s(&n, "NetworkInterfaceId").to_owned(), n))
        .collect()
    };
    let mut main = format!(
        "<p class=\"crumbs\"><a href=\"{}\">Endpoints</a> › {}</p><h1>{}</h1>",
        esc(&r.href("vpc/endpoints", &[])),
        esc(id),
        esc(id)
    );
    facts(
        &[
            ("Status", s(e, "State").to_owned()),
            ("VPC", s(e, "VpcId").to_owned()),
            ("Service name", s(e, "ServiceName").to_owned()),
            ("Endpoint type", s(e, "VpcEndpointType").to_owned()),
            ("Creation time", s(e, "CreationTimestamp").to_owned()),
            (
                "Private DNS names enabled",
                if e.get("PrivateDnsEnabled").and_then(Value::as_bool) == Some(true) {
                    "Yes".into()
                } else {
                    "No".into()
                },
            ),
            (
                "MWAA-managed",
                tag(e, "AmazonMWAAManaged").unwrap_or("false").to_owned(),
            ),
            ("Owner", s(e, "OwnerId").to_owned()),
        ],
        &mut main,
    );
    main.push_str("<h2>DNS names</h2><table><thead><tr><th>DNS name</th><th>Hosted zone</th></tr></thead><tbody>");
    for d in items(e, "DnsEntries") {
        let _ = write!(
            main,
            "<tr><td>{}</td><td>{}</td></tr>",
            esc(s(d, "DnsName")),
            esc(s(d, "HostedZoneId"))
        );
    }
    main.push_str("</tbody></table><h2>Subnets</h2><table><thead><tr><th>Subnet</th><th>Availability Zone</th><th>Network interface</th><th>Private IP</th></tr></thead><tbody>");
    for id in &eni_ids {
        let Some(n) = enis.get(id) else { continue };
        let _ = write!(
            main,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"ip\">{}</td></tr>",
            esc(s(n, "SubnetId")),
            esc(s(n, "AvailabilityZone")),
            esc(id),
            esc(s(n, "PrivateIpAddress"))
        );
    }
    main.push_str("</tbody></table><h2>Security groups</h2><ul>");
    for g in items(e, "Groups") {
        let _ = write!(
            main,
            "<li><a href=\"{}\">{}</a> ({})</li>",
            esc(&r.href("vpc/security-groups", &[("q", s(g, "GroupId"))])),
            esc(s(g, "GroupId")),
            esc(s(g, "GroupName"))
        );
    }
    main.push_str("</ul><h2>Policy</h2>");
    let policy = s(e, "PolicyDocument");
    let pretty = serde_json::from_str::<Value>(policy)
        .ok()
        .and_then(|p| serde_json::to_string_pretty(&p).ok())
        .unwrap_or_else(|| policy.to_owned());
    let _ = write!(main, "<pre>{}</pre>", esc(&pretty));
    Ok(Content {
        title: id.to_owned(),
        main,
    })
}

/// VPC → Endpoint services.
pub fn endpoint_services(r: &Req<'_>, _id: &str) -> Result<Content, ApiError> {
    let out = r
        .api
        .call("ec2", "DescribeVpcEndpointServices", json!({}))?;
    let mut t = Table::new(vec![
        "Service name",
        "Type",
        "Owner",
        "Availability Zones",
        "Private DNS name",
    ]);
    for d in items(&out, "ServiceDetails") {
        let types: Vec<String> = items(d, "ServiceType")
            .map(|t| s(t, "ServiceType").to_owned())
            .collect();
        t.push(vec![
            Cell::text(s(d, "ServiceName")),
            Cell::text(types.join(", ")),
            Cell::text(s(d, "Owner")),
            Cell::text(strings(d, "AvailabilityZones").join(", ")),
            Cell::text(s(d, "PrivateDnsName")),
        ]);
    }
    Ok(r.listing("Endpoint services", "vpc/endpoint-services", t, false))
}

/// VPC → Your VPCs.
pub fn vpcs(r: &Req<'_>, _id: &str) -> Result<Content, ApiError> {
    let mut t = Table::new(vec![
        "VPC ID",
        "Name",
        "State",
        "IPv4 CIDR",
        "Default VPC",
        "DHCP option set",
    ]);
    for v in list(r, "DescribeVpcs", json!({}), "Vpcs")? {
        t.push(vec![
            Cell::text(s(&v, "VpcId")),
            Cell::text(name(&v)),
            Cell::status(s(&v, "State")),
            Cell::text(s(&v, "CidrBlock")),
            Cell::text(
                if v.get("IsDefault").and_then(Value::as_bool) == Some(true) {
                    "Yes"
                } else {
                    "No"
                },
            ),
            Cell::text(s(&v, "DhcpOptionsId")),
        ]);
    }
    Ok(r.listing("Your VPCs", "vpc/vpcs", t, false))
}

/// A route's target, as the console writes it.
fn target(route: &Value) -> String {
    [
        "GatewayId",
        "NatGatewayId",
        "NetworkInterfaceId",
        "VpcPeeringConnectionId",
        "TransitGatewayId",
        "EgressOnlyInternetGatewayId",
        "InstanceId",
    ]
    .iter()
    .map(|k| s(route, k))
    .find(|t| !t.is_empty())
    .unwrap_or("-")
    .to_owned()
}

fn destination(route: &Value) -> &str {
    [
        "DestinationCidrBlock",
        "DestinationIpv6CidrBlock",
        "DestinationPrefixListId",
    ]
    .iter()
    .map(|k| s(route, k))
    .find(|d| !d.is_empty())
    .unwrap_or("-")
}

/// Each subnet's route table: its explicit association, else its VPC's main table.
fn table_of<'t>(tables: &'t [Value], vpc: &str, subnet: &str) -> Option<&'t Value> {
    let assoc = |t: &Value, f: &dyn Fn(&Value) -> bool| {
        t.get("Associations")
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(f))
    };
    tables
        .iter()
        .find(|t| assoc(t, &|a| s(a, "SubnetId") == subnet))
        .or_else(|| {
            tables.iter().find(|t| {
                s(t, "VpcId") == vpc
                    && assoc(t, &|a| a.get("Main").and_then(Value::as_bool) == Some(true))
            })
        })
}

/// VPC → Subnets, each marked public (its route table sends traffic to an internet gateway)
/// or private.
pub fn subnets(r: &Req<'_>, _id: &str) -> Result<Content, ApiError> {
    let tables = list(r, "DescribeRouteTables", json!({}), "RouteTables")?;
    let mut t = Table::new(vec![
        "Subnet ID",
        "Name",
        "VPC",
        "IPv4 CIDR",
        "Availability Zone",
        "Available IPs",
        "Route table",
        "Reach",
    ]);
    for sn in list(r, "DescribeSubnets", json!({}), "Subnets")? {
        let table = table_of(&tables, s(&sn, "VpcId"), s(&sn, "SubnetId"));
        let public = table.is_some_and(|t| {
            t.get("Routes")
                .and_then(Value::as_array)
                .is_some_and(|rs| rs.iter().any(|r| s(r, "GatewayId").starts_with("igw-")))
        });
        t.push(vec![
            Cell::text(s(&sn, "SubnetId")),
            Cell::text(name(&sn)),
            Cell::text(s(&sn, "VpcId")),
            Cell::text(s(&sn, "CidrBlock")),
            Cell::text(s(&sn, "AvailabilityZone")),
            Cell::text(
                sn.get("AvailableIpAddressCount")
                    .map(|c| c.to_string())
                    .unwrap_or_default(),
            ),
            Cell::text(table.map_or("-", |t| s(t, "RouteTableId"))),
            Cell::text(if public { "public" } else { "private" }),
        ]);
    }
    Ok(r.listing("Subnets", "vpc/subnets", t, false))
}

/// VPC → Route tables.
pub fn route_tables(r: &Req<'_>, _id: &str) -> Result<Content, ApiError> {
    let mut t = Table::new(vec![
        "Route table ID",
        "Name",
        "VPC",
        "Main",
        "Subnets",
        "Routes",
    ]);
    for rt in list(r, "DescribeRouteTables", json!({}), "RouteTables")? {
        let assocs: Vec<&Value> = items(&rt, "Associations").collect();
        let main = assocs
            .iter()
            .any(|a| a.get("Main").and_then(Value::as_bool) == Some(true));
        let subnets: Vec<String> = assocs
            .iter()
            .map(|a| s(a, "SubnetId").to_owned())
            .filter(|x| !x.is_empty())
            .collect();
        let routes: Vec<String> = items(&rt, "Routes")
            .map(|x| format!("{} → {} ({})", destination(x), target(x), s(x, "State")))
            .collect();
        t.push(vec![
            Cell::text(s(&rt, "RouteTableId")),
            Cell::text(name(&rt)),
            Cell::text(s(&rt, "VpcId")),
            Cell::text(if main { "Yes" } else { "No" }),
            Cell::lines(&subnets),
            Cell::lines(&routes),
        ]);
    }
    Ok(r.listing("Route tables", "vpc/route-tables", t, false))
}

/// A security group's rules (`IpPermissions` or `IpPermissionsEgress`), one line per source.
fn rules(g: &Value, key: &str) -> Vec<String> {
    let mut out = Vec::new();
    for p in g.get(key).and_then(Value::as_array).into_iter().flatten() {
        let proto = match s(p, "IpProtocol") {
            "-1" => "all".to_owned(),
            x => x.to_owned(),
        };
        let ports = match (
            p.get("FromPort").and_then(Value::as_i64),
            p.get("ToPort").and_then(Value::as_i64),
        ) {
            _ if proto == "all" => String::new(),
            (Some(a), Some(b)) if a == b => format!(" {a}"),
            (Some(a), Some(b)) => format!(" {a}-{b}"),
            _ => String::new(),
        };
        let mut peers: Vec<String> = Vec::new();
        for (list, k) in [
            ("IpRanges", "CidrIp"),
            ("Ipv6Ranges", "CidrIpv6"),
            ("UserIdGroupPairs", "GroupId"),
            ("PrefixListIds", "PrefixListId"),
        ] {
            for x in p.get(list).and_then(Value::as_array).into_iter().flatten() {
                peers.push(s(x, k).to_owned());
            }
        }
        for peer in peers {
            out.push(format!("{proto}{ports} {peer}"));
        }
    }
    out
}

/// VPC → Security groups, with their rules.
pub fn security_groups(r: &Req<'_>, _id: &str) -> Result<Content, ApiError> {
    let mut t = Table::new(vec![
        "Group ID",
        "Group name",
        "VPC",
        "Description",
        "Inbound rules",
        "Outbound rules",
    ]);
    for g in list(r, "DescribeSecurityGroups", json!({}), "SecurityGroups")? {
        t.push(vec![
            Cell::text(s(&g, "GroupId")),
            Cell::text(s(&g, "GroupName")),
            Cell::text(s(&g, "VpcId")),
            Cell::text(s(&g, "Description")),
            Cell::lines(&rules(&g, "IpPermissions")),
            Cell::lines(&rules(&g, "IpPermissionsEgress")),
        ]);
    }
    Ok(r.listing("Security groups", "vpc/security-groups", t, false))
}

/// VPC → Internet gateways and NAT gateways, in one table.
pub fn gateways(r: &Req<'_>, _id: &str) -> Result<Content, ApiError> {
    let mut t = Table::new(vec![
        "Gateway ID",
        "Kind",
        "Name",
        "State",
        "VPC",
        "Subnet",
        "Addresses",
    ]);
    for g in list(r, "DescribeInternetGateways", json!({}), "InternetGateways")? {
        let att: Vec<&Value> = items(&g, "Attachments").collect();
        t.push(vec![
            Cell::text(s(&g, "InternetGatewayId")),
            Cell::text("internet gateway"),
            Cell::text(name(&g)),
            Cell::status(att.first().map_or("detached", |a| s(a, "State"))),
            Cell::text(att.first().map_or("-", |a| s(a, "VpcId"))),
            Cell::text("-"),
            Cell::text("-"),
        ]);
    }
    for g in list(r, "DescribeNatGateways", json!({}), "NatGateways")? {
        let addrs: Vec<String> = items(&g, "NatGatewayAddresses")
            .map(|a| format!("{} / {}", s(a, "PublicIp"), s(a, "PrivateIp")))
            .collect();
        t.push(vec![
            Cell::text(s(&g, "NatGatewayId")),
            Cell::text(format!("NAT gateway ({})", s(&g, "ConnectivityType"))),
            Cell::text(name(&g)),
            Cell::status(s(&g, "State")),
            Cell::text(s(&g, "VpcId")),
            Cell::text(s(&g, "SubnetId")),
            Cell::lines(&addrs),
        ]);
    }
    Ok(r.listing("Internet and NAT gateways", "vpc/gateways", t, false))
}

/// VPC → Network interfaces.
pub fn network_interfaces(r: &Req<'_>, _id: &str) -> Result<Content, ApiError> {
    let mut t = Table::new(vec![
        "Interface ID",
        "Type",
        "VPC",
        "Subnet",
        "Availability Zone",
        "Private IP",
        "Public IP",
        "Security groups",
        "Status",
        "Description",
    ]);
    for n in list(
        r,
        "DescribeNetworkInterfaces",
        json!({}),
        "NetworkInterfaces",
    )? {
        let groups: Vec<String> = items(&n, "Groups")
            .map(|g| s(g, "GroupId").to_owned())
            .collect();
        t.push(vec![
            Cell::text(s(&n, "NetworkInterfaceId")),
            Cell::text(s(&n, "InterfaceType")),
            Cell::text(s(&n, "VpcId")),
            Cell::text(s(&n, "SubnetId")),
            Cell::text(s(&n, "AvailabilityZone")),
            Cell::text(s(&n, "PrivateIpAddress")),
            Cell::text(n.get("Association").map_or("-", |a| s(a, "PublicIp"))),
            Cell::lines(&groups),
            Cell::status(s(&n, "Status")),
            Cell::text(s(&n, "Description")),
        ]);
    }
    Ok(r.listing("Network interfaces", "vpc/network-interfaces", t, false))
}
