//! The facts of one environment's network, read from the APIs and DNS: steps 1–4 of the page.

use crate::dns;
use crate::sdk::filter;
use crate::sdk::{Aws, Clients};
use serde_json::{json, Value};
use std::net::SocketAddr;

/// What GetEnvironment says, plus the VPC its subnets are in.
#[derive(Debug, Clone)]
pub struct Environment {
    pub name: String,
    pub status: String,
    pub access_mode: String,
    pub endpoint_management: String,
    /// The webserver host (`WebserverUrl`, which MWAA gives without a scheme).
    pub host: String,
    pub webserver_service: Option<String>,
    pub database_service: Option<String>,
    pub subnets: Vec<String>,
    pub groups: Vec<String>,
    pub role_arn: String,
    pub vpc: String,
    pub vpc_cidr: String,
    /// `LastUpdate.Error`, when the last change failed.
    pub error: Option<String>,
}

/// A VPC endpoint as DescribeVpcEndpoints shows it.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub id: String,
    pub service: String,
    pub state: String,
    pub dns_names: Vec<String>,
    pub interfaces: Vec<String>,
}

/// One interface of the webserver endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub zone: String,
    pub ip: String,
    pub interface: String,
    pub subnet: String,
}

/// Steps 1–4: the host, its CNAME, the endpoint that name belongs to, and its addresses, from
/// DNS and cross-checked with the endpoint's interfaces.
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub env: Environment,
    pub dns: Result<dns::Answer, String>,
    pub webserver: Option<Endpoint>,
    pub database: Option<Endpoint>,
    /// The webserver endpoint's interfaces, by zone.
    pub addresses: Vec<Address>,
}

impl Endpoints {
    /// The webserver endpoint's private addresses (from its interfaces).
    pub fn ips(&self) -> Vec<String> {
        self.addresses.iter().map(|a| a.ip.clone()).collect()
    }

    /// Whether DNS answers exactly the interfaces' addresses.
    pub fn dns_matches(&self) -> bool {
        let Ok(a) = &self.dns else { return false };
        let mut from_dns: Vec<String> = a.addrs.iter().map(|i| i.to_string()).collect();
        let mut ips = self.ips();
        from_dns.sort();
        ips.sort();
        !ips.is_empty() && from_dns == ips
    }

    pub fn to_json(&self) -> Value {
        let e = &self.webserver;
        json!({
            "Environment": self.env.name,
            "Status": self.env.status,
            "WebserverAccessMode": self.env.access_mode,
            "WebserverHost": self.env.host,
            "Cname": self.dns.as_ref().ok().and_then(|a| a.cname.clone()),
            "VpcEndpointId": e.as_ref().map(|e| e.id.clone()),
            "ServiceName": e.as_ref().map(|e| e.service.clone()),
            "VpcEndpointState": e.as_ref().map(|e| e.state.clone()),
            "Addresses": self.addresses.iter().map(|a| json!({
                "AvailabilityZone": a.zone,
                "PrivateIpAddress": a.ip,
                "NetworkInterfaceId": a.interface,
                "SubnetId": a.subnet,
            })).collect::<Vec<_>>(),
            "DnsAddresses": self.dns.as_ref().map(|a| a.addrs.iter().map(|i| i.to_string()).collect::<Vec<_>>()).unwrap_or_default(),
            "DnsError": self.dns.as_ref().err(),
            "DnsMatchesInterfaces": self.dns_matches(),
        })
    }

    pub fn to_table(&self) -> String {
        let mut out = String::new();
        let mut row = |k: &str, v: &str| out.push_str(&format!("{k:<18}{v}\n"));
        row(
            "environment",
            &format!(
                "{} ({}, {})",
                self.env.name, self.env.status, self.env.access_mode
            ),
        );
        row("webserver host", &self.env.host);
        match &self.dns {
            Ok(a) => row("CNAME", a.cname.as_deref().unwrap_or("(none)")),
            Err(e) => row("CNAME", &format!("(DNS failed: {e})")),
        }
        match &self.webserver {
            Some(e) => row(
                "endpoint",
                &format!("{} ({}, {})", e.id, e.service, e.state),
            ),
            None => row("endpoint", "(not found)"),
        }
        for a in &self.addresses {
            row(
                &a.zone,
                &format!("{:<16}{}  {}", a.ip, a.interface, a.subnet),
            );
        }
        if let Ok(a) = &self.dns {
            let ips: Vec<String> = a.addrs.iter().map(|i| i.to_string()).collect();
            let verdict = if self.dns_matches() {
                "match the endpoint's interfaces"
            } else {
                "DO NOT match the endpoint's interfaces"
            };
            row("DNS answers", &format!("{} ({verdict})", ips.join(" ")));
        }
        out
    }
}

/// GetEnvironment, and the VPC of its subnets.
pub async fn environment(c: &Clients, name: &str) -> anyhow::Result<Environment> {
    let out = c
        .mwaa
        .get_environment()
        .name(name)
        .send()
        .await
        .aws("GetEnvironment")?;
    let e = out
        .environment()
        .ok_or_else(|| anyhow::anyhow!("GetEnvironment answered no environment"))?;
    let net = e.network_configuration();
    let subnets = net.map(|n| n.subnet_ids().to_vec()).unwrap_or_default();
    let groups = net
        .map(|n| n.security_group_ids().to_vec())
        .unwrap_or_default();
    let (mut vpc, mut vpc_cidr) = (String::new(), String::new());
    if let Some(first) = subnets.first() {
        let s = c
            .ec2
            .describe_subnets()
            .subnet_ids(first)
            .send()
            .await
            .aws("DescribeSubnets")?;
        vpc = s
            .subnets()
            .first()
            .and_then(|s| s.vpc_id())
            .unwrap_or_default()
            .to_owned();
        let v = c
            .ec2
            .describe_vpcs()
            .vpc_ids(&vpc)
            .send()
            .await
            .aws("DescribeVpcs")?;
        vpc_cidr = v
            .vpcs()
            .first()
            .and_then(|v| v.cidr_block())
            .unwrap_or_default()
            .to_owned();
    }
    let url = e.webserver_url().unwrap_or_default();
    let host = url
        .trim_start_matches("https://")
        .split('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    Ok(Environment {
        name: name.to_owned(),
        status: e
            .status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        access_mode: e
            .webserver_access_mode()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        endpoint_management: e
            .endpoint_management()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        host,
        webserver_service: e.webserver_vpc_endpoint_service().map(str::to_owned),
        database_service: e.database_vpc_endpoint_service().map(str::to_owned),
        subnets,
        groups,
        role_arn: e.execution_role_arn().unwrap_or_default().to_owned(),
        vpc,
        vpc_cidr,
        error: e.last_update().and_then(|u| u.error()).map(|x| {
            format!(
                "{}: {}",
                x.error_code().unwrap_or(""),
                x.error_message().unwrap_or("")
            )
        }),
    })
}

/// Whether to ask DNS, as the page does, and which server.
#[derive(Debug, Clone, Copy)]
pub enum Lookup {
    /// Ask this server, or the system's when `None`.
    Dns(Option<SocketAddr>),
    /// Only the APIs (the endpoint is then found by its service name).
    Skip,
}

/// The page's steps 1–4 for environment `name`, asking DNS as `dig` would.
pub async fn endpoints(c: &Clients, name: &str, lookup: Lookup) -> anyhow::Result<Endpoints> {
    let env = environment(c, name).await?;
    let answer = match lookup {
        _ if env.host.is_empty() => Err("the environment has no webserver URL yet".to_owned()),
        Lookup::Skip => Err("not asked".to_owned()),
        Lookup::Dns(server) => match dns::server(server) {
            Ok(s) => dns::lookup(s, &env.host).await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        },
    };
    let mut all = Vec::new();
    if !env.vpc.is_empty() {
        let mut pages = c
            .ec2
            .describe_vpc_endpoints()
            .filters(filter("vpc-id", &env.vpc))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            all.extend(
                page.aws("DescribeVpcEndpoints")?
                    .vpc_endpoints()
                    .iter()
                    .cloned(),
            );
        }
    }
    let as_endpoint = |e: &aws_sdk_ec2::types::VpcEndpoint| Endpoint {
        id: e.vpc_endpoint_id().unwrap_or_default().to_owned(),
        service: e.service_name().unwrap_or_default().to_owned(),
        state: e.state().map(|s| s.as_str().to_owned()).unwrap_or_default(),
        dns_names: e
            .dns_entries()
            .iter()
            .filter_map(|d| d.dns_name())
            .map(str::to_owned)
            .collect(),
        interfaces: e.network_interface_ids().to_vec(),
    };
    let endpoints: Vec<Endpoint> = all.iter().map(as_endpoint).collect();
    // The page's way: the endpoint whose DNS names hold the host's CNAME target; failing that,
    // the one for the environment's webserver service.
    let cname = answer.as_ref().ok().and_then(|a| a.cname.clone());
    let by_service = |s: &Option<String>| {
        endpoints
            .iter()
            .find(|e| s.as_deref() == Some(e.service.as_str()))
            .cloned()
    };
    let webserver = cname
        .as_deref()
        .and_then(|c| {
            endpoints
                .iter()
                .find(|e| e.dns_names.iter().any(|n| n.eq_ignore_ascii_case(c)))
                .cloned()
        })
        .or_else(|| by_service(&env.webserver_service));
    let database = by_service(&env.database_service);
    let mut addresses = Vec::new();
    if let Some(w) = webserver.as_ref().filter(|w| !w.interfaces.is_empty()) {
        let out = c
            .ec2
            .describe_network_interfaces()
            .set_network_interface_ids(Some(w.interfaces.clone()))
            .send()
            .await
            .aws("DescribeNetworkInterfaces")?;
        for n in out.network_interfaces() {
            addresses.push(Address {
                zone: n.availability_zone().unwrap_or_default().to_owned(),
                ip: n.private_ip_address().unwrap_or_default().to_owned(),
                interface: n.network_interface_id().unwrap_or_default().to_owned(),
                subnet: n.subnet_id().unwrap_or_default().to_owned(),
            });
        }
        addresses.sort_by(|a, b| (&a.zone, &a.ip).cmp(&(&b.zone, &b.ip)));
    }
    Ok(Endpoints {
        env,
        dns: answer,
        webserver,
        database,
        addresses,
    })
}
