//! VPC endpoints: the record, its lifecycle and the operations on it. The catalogue of endpoint
//! services is in `catalogue`, the answers' shapes in `out`.

mod catalogue;
pub(crate) use catalogue::prefix_list;
mod out;

pub use catalogue::*;
use out::*;

use super::common::{self, Tag};
use super::{eni, routes, sg, vpc};
use crate::ec2::subnet;
use crate::Clock;
use crate::{ids, input, Ctx};
use airlock_protocol::{ApiError, ApiResult, Output};
use airlock_store::{Scope, Tx};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::sync::Arc;
use time::OffsetDateTime;

/// The policy an endpoint gets when none is given.
pub const DEFAULT_POLICY: &str = r#"{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}"#;

/// The AWS-owned account that requests endpoint network interfaces.
pub const ENDPOINT_REQUESTER: &str = "727180483921";

/// About two minutes for an interface endpoint to become available.
const PROVISION_SECS: f64 = 120.0;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VpcEndpoint {
    pub id: String,
    pub endpoint_type: String,
    pub vpc_id: String,
    pub service_name: String,
    pub owner: String,
    pub region: String,
    pub subnet_ids: Vec<String>,
    pub groups: Vec<String>,
    pub route_table_ids: Vec<String>,
    pub eni_ids: Vec<String>,
    pub policy: String,
    pub private_dns_enabled: bool,
    pub private_dns_name: Option<String>,
    pub base_dns: String,
    pub dns_label: String,
    pub ip_address_type: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    /// How long AWS takes to make it available, in seconds of AWS time from `created` (0: at
    /// once, as gateway endpoints are).
    #[serde(default)]
    pub provision_secs: f64,
    pub client_token: Option<String>,
    pub requester_managed: bool,
    pub tags: Vec<Tag>,
}

// Found by its id in any account (DNS).
airlock_store::record!(VpcEndpoint, "ec2.vpc_endpoint", id, group: vpc_id, name: id);

impl common::Idempotent for VpcEndpoint {
    fn client_token(&self) -> Option<&str> {
        self.client_token.as_deref()
    }
}

impl VpcEndpoint {
    /// When it is (or became) available.
    pub fn available_at(&self, clock: Clock) -> OffsetDateTime {
        clock.after(self.created, self.provision_secs)
    }

    pub fn state(&self, clock: Clock) -> &'static str {
        if clock.passed(self.created, self.provision_secs) {
            "available"
        } else {
            "pending"
        }
    }

    /// The AWS service it connects to (`sts`, `airflow.env`), if it is one of AWS's.
    pub fn aws_service(&self) -> Option<&str> {
        self.service_name
            .strip_prefix("com.amazonaws.")?
            .strip_prefix(self.region.as_str())?
            .strip_prefix('.')
    }

    /// The names its interfaces' certificate holds: the service's private DNS name (and, for a
    /// wildcard, the name under it) and the endpoint's own names (`*.<base>`).
    pub fn certificate_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        if let Some(p) = &self.private_dns_name {
            names.push(p.clone());
            if let Some(base) = p.strip_prefix("*.") {
                names.push(base.to_owned());
            }
        }
        names.push(format!("*.{}", self.base_dns));
        names
    }

    /// The regional DNS name (all ENI addresses).
    pub fn regional_dns_name(&self) -> String {
        [&*self.id, "-", &self.dns_label, ".", &self.base_dns].concat()
    }

    /// The zonal DNS name for `az` (that zone's ENI address).
    pub fn zonal_dns_name(&self, az: &str) -> String {
        [
            &*self.id,
            "-",
            &self.dns_label,
            "-",
            az,
            ".",
            &self.base_dns,
        ]
        .concat()
    }
}

/// Everything an endpoint is created from (CreateVpcEndpoint, or MWAA on a customer's behalf).
#[derive(Debug, Clone, Default)]
pub struct EndpointRequest {
    pub vpc_id: String,
    pub service_name: String,
    pub endpoint_type: String,
    pub subnet_ids: Vec<String>,
    /// Requested addresses per subnet (`SubnetConfigurations`).
    pub subnet_ips: Vec<(String, String)>,
    pub security_group_ids: Vec<String>,
    pub route_table_ids: Vec<String>,
    pub policy: Option<String>,
    pub private_dns_enabled: Option<bool>,
    pub ip_address_type: Option<String>,
    pub client_token: Option<String>,
    pub requester_managed: bool,
    pub tags: Vec<Tag>,
}

fn invalid(msg: impl Into<String>) -> ApiError {
    ApiError::new("InvalidParameter", msg)
}

/// Creates a VPC endpoint (and its network interfaces) inside `tx`.
pub fn create_in(ctx: &Ctx<'_>, tx: &mut Tx<'_>, req: EndpointRequest) -> ApiResult<VpcEndpoint> {
    let scope = ctx.scope();
    if let Some(e) = common::made_with_token::<VpcEndpoint>(tx, &scope, req.client_token.as_deref())
    {
        if e.service_name != req.service_name || e.vpc_id != req.vpc_id {
            return Err(ApiError::new(
                "IdempotentParameterMismatch",
                "The client token you have provided is associated with a resource that has different parameters.",
            ));
        }
        return Ok((*e).clone());
    }
    let vpc = vpc::get_vpc(tx, &scope, &req.vpc_id)?;
    let services = catalogue(tx, &scope);
    let service = services
        .iter()
        .filter(|s| s.name == req.service_name)
        .find(|s| s.service_type == req.endpoint_type)
        .cloned()
        .ok_or_else(|| {
            if services.iter().any(|s| s.name == req.service_name) {
                invalid(format!(
                    "The Vpc Endpoint Service '{}' does not support endpoint type '{}'",
                    req.service_name, req.endpoint_type
                ))
            } else {
                ApiError::new(
                    "InvalidServiceName",
                    format!(
                        "The Vpc Endpoint Service '{}' does not exist",
                        req.service_name
                    ),
                )
            }
        })?;
    let policy = match &req.policy {
        Some(p) => {
            serde_json::from_str::<Value>(p).map_err(|_| {
                ApiError::new(
                    "InvalidPolicyDocument",
                    "The policy document is not valid JSON",
                )
            })?;
            p.clone()
        }
        None => DEFAULT_POLICY.to_owned(),
    };
    let id = ids::resource_id("vpce");
    let mut e = VpcEndpoint {
        id: id.clone(),
        endpoint_type: req.endpoint_type.clone(),
        vpc_id: vpc.id.clone(),
        service_name: service.name.clone(),
        owner: ctx.account().to_owned(),
        region: ctx.region.clone(),
        subnet_ids: Vec::new(),
        groups: Vec::new(),
        route_table_ids: Vec::new(),
        eni_ids: Vec::new(),
        policy,
        private_dns_enabled: false,
        private_dns_name: service.private_dns.clone(),
        base_dns: service.base_dns.clone(),
        dns_label: ids::lower_alnum(8),
        ip_address_type: req.ip_address_type.clone().unwrap_or_else(|| "ipv4".into()),
        created: ctx.clock.now(),
        provision_secs: 0.0,
        client_token: req.client_token.clone(),
        requester_managed: req.requester_managed,
        tags: req.tags.clone(),
    };
    match req.endpoint_type.as_str() {
        "Interface" => {
            if req.subnet_ids.is_empty() && !req.route_table_ids.is_empty() {
                return Err(invalid(
                    "Route table IDs are not supported for Interface endpoints",
                ));
            }
            e.groups = sg::resolve_groups(tx, &scope, &vpc.id, &req.security_group_ids)?;
            let dns = req
                .private_dns_enabled
                .unwrap_or(service.private_dns.is_some());
            if dns {
                let Some(name) = &service.private_dns else {
                    return Err(invalid(format!(
                        "Private DNS can't be enabled because the service {} does not provide a private DNS name.",
                        service.name
                    )));
                };
                if !(vpc.dns_support && vpc.dns_hostnames) {
                    return Err(invalid(format!(
                        "Enabling private DNS requires both enableDnsSupport and enableDnsHostnames VPC attributes set to true for {}",
                        vpc.id
                    )));
                }
                let conflict = tx
                    .list_in::<VpcEndpoint>(&scope, &vpc.id)
                    .iter()
                    .any(|o| o.private_dns_enabled && o.private_dns_name.as_ref() == Some(name));
                if conflict {
                    return Err(invalid(format!(
                        "private-dns-enabled cannot be set because there is already a conflicting DNS domain for {name} in the VPC {}",
                        vpc.id
                    )));
                }
            }
            e.private_dns_enabled = dns;
            add_subnets(ctx, tx, &mut e, &req.subnet_ids, &req.subnet_ips)?;
            e.provision_secs = PROVISION_SECS;
        }
        "Gateway" => {
            if !req.subnet_ids.is_empty() || !req.security_group_ids.is_empty() {
                return Err(invalid(
                    "Subnets and security groups are not supported for Gateway endpoints",
                ));
            }
            for rt in &req.route_table_ids {
                let t = routes::get(tx, &scope, rt)?;
                if t.vpc_id != vpc.id {
                    return Err(invalid(format!(
                        "The route table {rt} does not belong to {}",
                        vpc.id
                    )));
                }
            }
            e.route_table_ids = req.route_table_ids.clone();
            let short = service.short.clone().unwrap_or_default();
            routes::set_endpoint_routes(
                tx,
                &scope,
                &e.id,
                &prefix_list(&short, &ctx.region),
                &e.route_table_ids,
            )?;
        }
        other => {
            return Err(invalid(format!(
                "Airlock does not emulate VPC endpoints of type {other}"
            )));
        }
    }
    tx.put(&scope, e.clone())?;
    Ok(e)
}

/// Adds one network interface per subnet, at most one subnet per Availability Zone.
fn add_subnets(
    ctx: &Ctx<'_>,
    tx: &mut Tx<'_>,
    e: &mut VpcEndpoint,
    subnet_ids: &[String],
    ips: &[(String, String)],
) -> ApiResult<()> {
    let scope = ctx.scope();
    let mut zones: Vec<String> = e
        .subnet_ids
        .iter()
        .filter_map(|s| tx.get::<subnet::Subnet>(&scope, s).map(|s| s.az.clone()))
        .collect();
    for sid in subnet_ids {
        let subnet = subnet::get_subnet(tx, &scope, sid)?;
        if subnet.vpc_id != e.vpc_id {
            return Err(invalid(format!(
                "The subnet ID '{sid}' does not belong to the VPC '{}'",
                e.vpc_id
            )));
        }
        if e.subnet_ids.contains(sid) {
            continue;
        }
        if zones.contains(&subnet.az) {
            return Err(ApiError::new(
                "DuplicateSubnetsInSameZone",
                format!(
                    "Found another VPC endpoint subnet in the availability zone of {sid}. VPC endpoint subnets should be in different availability zones supported by the VPC endpoint service."
                ),
            ));
        }
        zones.push(subnet.az.clone());
        let ip = ips
            .iter()
            .find(|(s, _)| s == sid)
            .map(|(_, ip)| ip.as_str());
        let nic = eni::create_in(
            ctx,
            tx,
            eni::Spec {
                subnet: &subnet,
                requested_ip: ip,
                description: format!("VPC Endpoint Interface {}", e.id),
                groups: e.groups.clone(),
                interface_type: "vpc_endpoint",
                requester_managed: true,
                requester_id: Some(ENDPOINT_REQUESTER.into()),
                status: "in-use",
                tags: Vec::new(),
            },
        )?;
        e.subnet_ids.push(sid.clone());
        e.eni_ids.push(nic.id);
    }
    Ok(())
}

fn remove_subnets(
    tx: &mut Tx<'_>,
    scope: &Scope,
    e: &mut VpcEndpoint,
    subnet_ids: &[String],
) -> ApiResult<()> {
    for sid in subnet_ids {
        let Some(pos) = e.subnet_ids.iter().position(|s| s == sid) else {
            return Err(invalid(format!(
                "The subnet ID '{sid}' is not associated with the endpoint {}",
                e.id
            )));
        };
        e.subnet_ids.remove(pos);
        let eni_id = e.eni_ids.remove(pos);
        tx.delete::<eni::NetworkInterface>(scope, &eni_id);
    }
    Ok(())
}

/// Removes an endpoint with its interfaces and routes.
pub fn delete_in(tx: &mut Tx<'_>, scope: &Scope, id: &str) -> ApiResult<()> {
    let Some(e) = tx.get::<VpcEndpoint>(scope, id) else {
        return Ok(());
    };
    for eni_id in &e.eni_ids {
        tx.delete::<eni::NetworkInterface>(scope, eni_id);
    }
    if !e.route_table_ids.is_empty() {
        routes::set_endpoint_routes(tx, scope, id, "", &[])?;
    }
    tx.delete::<VpcEndpoint>(scope, id);
    Ok(())
}

fn request_of(input: &Value) -> ApiResult<EndpointRequest> {
    let endpoint_type = input::str(input, "VpcEndpointType")
        .unwrap_or("Gateway")
        .to_owned();
    let service_name = input::str(input, "ServiceName")
        .ok_or_else(|| {
            ApiError::missing_parameter("The request must contain the parameter ServiceName")
        })?
        .to_owned();
    let mut subnet_ids = input::strs(input, "SubnetIds");
    let mut subnet_ips = Vec::new();
    for c in input::list(input, "SubnetConfigurations") {
        if let Some(s) = input::str(c, "SubnetId") {
            if !subnet_ids.iter().any(|x| x == s) {
                subnet_ids.push(s.to_owned());
            }
            if let Some(ip) = input::str(c, "Ipv4") {
                subnet_ips.push((s.to_owned(), ip.to_owned()));
            }
        }
    }
    Ok(EndpointRequest {
        vpc_id: input::req(input, "VpcId")?.to_owned(),
        service_name,
        endpoint_type,
        subnet_ids,
        subnet_ips,
        security_group_ids: input::strs(input, "SecurityGroupIds"),
        route_table_ids: input::strs(input, "RouteTableIds"),
        policy: input::str(input, "PolicyDocument").map(str::to_owned),
        private_dns_enabled: input::bool(input, "PrivateDnsEnabled"),
        ip_address_type: input::str(input, "IpAddressType").map(str::to_owned),
        client_token: input::str(input, "ClientToken").map(str::to_owned),
        requester_managed: false,
        tags: common::tags_from_specs(input, "vpc-endpoint")?,
    })
}

pub fn create_vpc_endpoint(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    input::dry_run(input)?;
    let req = request_of(input)?;
    if let Some(t) = &req.ip_address_type {
        if t != "ipv4" {
            return Err(invalid(format!(
                "Airlock's VPCs are IPv4-only; IpAddressType {t} is not supported"
            )));
        }
    }
    let scope = ctx.scope();
    let (e, view) = ctx.store.write(|tx| {
        let e = create_in(ctx, tx, req.clone())?;
        Ok::<_, ApiError>((e, json_view(tx, &scope)))
    })?;
    let state = e.state(ctx.clock);
    Ok(json!({"VpcEndpoint": e.json(state, &view), "ClientToken": e.client_token}))
}

pub fn describe_vpc_endpoints(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let ids = input::strs(input, "VpcEndpointIds");
    for id in &ids {
        common::check_id(id, "vpce", "InvalidVpcEndpointId.Malformed")?;
    }
    let filters = common::filters(input);
    let scope = ctx.scope();
    // Endpoint ids, or a filter on one VPC, narrow the search through the store's indexes.
    let one_vpc = filters
        .iter()
        .find(|f| f.name == "vpc-id" && f.values.len() == 1 && !f.values[0].contains(['*', '?']))
        .map(|f| f.values[0].as_str());
    let all: Vec<Arc<VpcEndpoint>> = ctx.store.read(|v| {
        if !ids.is_empty() {
            let mut wanted: Vec<&String> = ids.iter().collect();
            wanted.sort();
            wanted.dedup();
            wanted
                .into_iter()
                .filter_map(|id| v.get::<VpcEndpoint>(&scope, id))
                .collect()
        } else if let Some(vpc) = one_vpc {
            v.list_in::<VpcEndpoint>(&scope, vpc)
        } else {
            v.list::<VpcEndpoint>(&scope)
        }
    });
    for id in &ids {
        if !all.iter().any(|e| &e.id == id) {
            return Err(ApiError::new(
                "InvalidVpcEndpointId.NotFound",
                format!("The Vpc Endpoint Id '{id}' does not exist"),
            ));
        }
    }
    let mut out = Vec::new();
    for e in all {
        let state = e.state(ctx.clock);
        if (ids.is_empty() || ids.contains(&e.id))
            && common::matches(&EndpointRow(&e, state), &filters)?
        {
            out.push((e, state));
        }
    }
    let (page, next) = common::paginate(out, input, (1, 1000), false, |(e, _)| e.id.clone())?;
    let endpoints: Vec<&VpcEndpoint> = page.iter().map(|(e, _)| &**e).collect();
    let view = ctx.store.read(|v| json_view_of(v, &scope, &endpoints));
    // About 1.4 kB of XML per endpoint.
    let size = page.len() * 1500;
    Ok(Output::new(DescribeOut { page, view, next }).with_size(size))
}

pub fn modify_vpc_endpoint(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    input::dry_run(input)?;
    let id = input::req(input, "VpcEndpointId")?;
    common::check_id(id, "vpce", "InvalidVpcEndpointId.Malformed")?;
    let scope = ctx.scope();
    ctx.store.write(|tx| {
        let mut e = (*tx.get::<VpcEndpoint>(&scope, id).ok_or_else(|| {
            ApiError::new("InvalidVpcEndpointId.NotFound", format!("The Vpc Endpoint Id '{id}' does not exist"))
        })?)
        .clone();
        if let Some(p) = input::str(input, "PolicyDocument") {
            serde_json::from_str::<Value>(p)
                .map_err(|_| ApiError::new("InvalidPolicyDocument", "The policy document is not valid JSON"))?;
            e.policy = p.to_owned();
        }
        if input::bool(input, "ResetPolicy") == Some(true) {
            e.policy = DEFAULT_POLICY.to_owned();
        }
        let add_groups = input::strs(input, "AddSecurityGroupIds");
        let remove_groups = input::strs(input, "RemoveSecurityGroupIds");
        if !add_groups.is_empty() || !remove_groups.is_empty() {
            if e.endpoint_type != "Interface" {
                return Err(invalid("Security groups are only supported for Interface endpoints"));
            }
            sg::resolve_groups(tx, &scope, &e.vpc_id, &add_groups)?;
            for g in add_groups {
                if !e.groups.contains(&g) {
                    e.groups.push(g);
                }
            }
            e.groups.retain(|g| !remove_groups.contains(g));
            if e.groups.is_empty() {
                return Err(invalid("An Interface endpoint must have at least one security group"));
            }
            for eni_id in &e.eni_ids {
                if let Some(n) = tx.get::<eni::NetworkInterface>(&scope, eni_id) {
                    let mut n = (*n).clone();
                    n.groups = e.groups.clone();
                    tx.put(&scope, n)?;
                }
            }
        }
        let add_subnets_in = input::strs(input, "AddSubnetIds");
        let remove = input::strs(input, "RemoveSubnetIds");
        if !add_subnets_in.is_empty() || !remove.is_empty() {
            if e.endpoint_type != "Interface" {
                return Err(invalid("Subnets are only supported for Interface endpoints"));
            }
            remove_subnets(tx, &scope, &mut e, &remove)?;
            add_subnets(ctx, tx, &mut e, &add_subnets_in, &[])?;
        }
        let add_rt = input::strs(input, "AddRouteTableIds");
        let remove_rt = input::strs(input, "RemoveRouteTableIds");
        if !add_rt.is_empty() || !remove_rt.is_empty() {
            if e.endpoint_type != "Gateway" {
                return Err(invalid("Route tables are only supported for Gateway endpoints"));
            }
            for rt in &add_rt {
                routes::get(tx, &scope, rt)?;
                if !e.route_table_ids.contains(rt) {
                    e.route_table_ids.push(rt.clone());
                }
            }
            e.route_table_ids.retain(|r| !remove_rt.contains(r));
            let short = e.service_name.rsplit('.').next().unwrap_or("").to_owned();
            routes::set_endpoint_routes(tx, &scope, &e.id, &prefix_list(&short, &ctx.region), &e.route_table_ids)?;
        }
        if let Some(dns) = input::bool(input, "PrivateDnsEnabled") {
            if dns && e.private_dns_name.is_none() {
                return Err(invalid("Private DNS can't be enabled because the service does not provide a private DNS name."));
            }
            e.private_dns_enabled = dns;
        }
        tx.put(&scope, e)?;
        Ok::<_, ApiError>(())
    })?;
    Ok(json!({"Return": true}))
}

pub fn delete_vpc_endpoints(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    input::dry_run(input)?;
    let ids = input::strs(input, "VpcEndpointIds");
    if ids.is_empty() {
        return Err(ApiError::missing_parameter(
            "The request must contain the parameter VpcEndpointId",
        ));
    }
    let scope = ctx.scope();
    let unsuccessful = ctx.store.write(|tx| {
        let mut failed = Vec::new();
        for id in &ids {
            if tx.get::<VpcEndpoint>(&scope, id).is_none() {
                failed.push(json!({"ResourceId": id, "Error": {
                    "Code": "InvalidVpcEndpoint.NotFound",
                    "Message": format!("The VPC Endpoint Id '{id}' does not exist"),
                }}));
                continue;
            }
            delete_in(tx, &scope, id)?;
        }
        Ok::<_, ApiError>(failed)
    })?;
    Ok(json!({"Unsuccessful": unsuccessful}))
}
