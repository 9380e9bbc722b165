//! VPC endpoints and the endpoint service catalogue.

use super::common::{self, one, tags_json, Field, Filterable, Tag};
use super::{eni, regions, routes, sg, vpc};
use crate::{ids, input, Ctx};
use airlock_protocol::{encode, ApiError, ApiResult, Output};
use airlock_store::{Record, Scope, Tx, View};
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

/// AWS services offered as endpoint services in every region: (suffix, private DNS name pattern
/// with `{r}` for the region, types).
const AWS_SERVICES: &[(&str, &str, &[&str])] = &[
    (
        "airflow.api",
        "api.airflow.{r}.amazonaws.com",
        &["Interface"],
    ),
    (
        "airflow.env",
        "env.airflow.{r}.amazonaws.com",
        &["Interface"],
    ),
    (
        "airflow.ops",
        "ops.airflow.{r}.amazonaws.com",
        &["Interface"],
    ),
    (
        "dynamodb",
        "dynamodb.{r}.amazonaws.com",
        &["Gateway", "Interface"],
    ),
    ("ec2", "ec2.{r}.amazonaws.com", &["Interface"]),
    ("ecr.api", "api.ecr.{r}.amazonaws.com", &["Interface"]),
    ("ecr.dkr", "*.dkr.ecr.{r}.amazonaws.com", &["Interface"]),
    (
        "elasticloadbalancing",
        "elasticloadbalancing.{r}.amazonaws.com",
        &["Interface"],
    ),
    ("kms", "kms.{r}.amazonaws.com", &["Interface"]),
    ("logs", "logs.{r}.amazonaws.com", &["Interface"]),
    ("monitoring", "monitoring.{r}.amazonaws.com", &["Interface"]),
    ("s3", "*.s3.{r}.amazonaws.com", &["Gateway", "Interface"]),
    (
        "secretsmanager",
        "secretsmanager.{r}.amazonaws.com",
        &["Interface"],
    ),
    ("sqs", "sqs.{r}.amazonaws.com", &["Interface"]),
    ("ssm", "ssm.{r}.amazonaws.com", &["Interface"]),
    ("sts", "sts.{r}.amazonaws.com", &["Interface"]),
];

/// Route 53 zones that hold VPC endpoint names, per region.
fn vpce_hosted_zone(region: &str) -> std::borrow::Cow<'static, str> {
    match region {
        "us-east-1" => "Z7HUB22UULQXV".into(),
        "us-east-2" => "ZC8PG0KIFKBRI".into(),
        "us-west-1" => "Z12I86A8N7VCZO".into(),
        "us-west-2" => "Z1YSA3EXCYUU9Z".into(),
        "eu-west-1" => "Z38GZ743OKFT7T".into(),
        "eu-central-1" => "Z273ZU8SZ5RJPC".into(),
        "ap-northeast-1" => "Z2E726K9Y6RL4W".into(),
        other => format!("Z{}", &crate::ids::hex_of(other, 12).to_uppercase()).into(),
    }
}

/// Prefix lists of gateway endpoint services.
fn prefix_list(service: &str, region: &str) -> String {
    match (service, region) {
        ("s3", "us-west-2") => "pl-68a54001".into(),
        ("s3", "us-east-1") => "pl-63a5400a".into(),
        ("dynamodb", "us-west-2") => "pl-00a54069".into(),
        ("dynamodb", "us-east-1") => "pl-02cd2c6b".into(),
        _ => format!(
            "pl-{}",
            crate::ids::hex_of(&format!("{service}/{region}"), 8)
        ),
    }
}

/// The name of an endpoint service that Airlock created (`com.amazonaws.vpce.<region>.<id>`).
pub fn custom_service_name(region: &str, id: &str) -> String {
    format!("com.amazonaws.vpce.{region}.{id}")
}

/// An endpoint service created by another part of Airlock (an MWAA environment's webserver or
/// database), offered only in its owner's region.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EndpointService {
    /// `vpce-svc-...`
    pub id: String,
    pub owner: String,
    pub tags: Vec<Tag>,
}

impl Record for EndpointService {
    const KIND: &'static str = "ec2.endpoint_service";
    fn id(&self) -> &str {
        &self.id
    }
}

/// One entry of the catalogue.
#[derive(Debug, Clone)]
pub struct Service {
    pub name: String,
    pub id: String,
    pub service_type: String,
    pub owner: String,
    pub private_dns: Option<String>,
    /// The name endpoint DNS names are built on (`airflow.api.us-west-2.vpce.amazonaws.com`).
    pub base_dns: String,
    /// For AWS services: their short name (`s3`, `airflow.api`).
    pub short: Option<String>,
    pub tags: Vec<Tag>,
}

/// Every endpoint service visible in the request's region.
pub fn catalogue(tx: &Tx<'_>, scope: &Scope) -> Vec<Service> {
    catalogue_of(
        &tx.list::<EndpointService>(&services_scope(&scope.region)),
        &scope.region,
    )
}

/// Endpoint services are visible to every account of their region.
pub fn services_scope(region: &str) -> Scope {
    Scope::new("", region)
}

fn catalogue_of(custom: &[std::sync::Arc<EndpointService>], r: &str) -> Vec<Service> {
    let mut out = Vec::new();
    for (short, dns, types) in AWS_SERVICES {
        let private = dns.replace("{r}", r);
        let base = private
            .trim_start_matches("*.")
            .replace(".amazonaws.com", ".vpce.amazonaws.com");
        for t in *types {
            let name = format!("com.amazonaws.{r}.{short}");
            out.push(Service {
                id: format!(
                    "vpce-svc-{}",
                    crate::ids::hex_of(&format!("{name}/{t}"), 17)
                ),
                name,
                service_type: (*t).to_owned(),
                owner: "amazon".into(),
                private_dns: (*t == "Interface").then(|| private.clone()),
                base_dns: if *t == "Gateway" {
                    private.trim_start_matches("*.").to_owned()
                } else {
                    base.clone()
                },
                short: Some((*short).to_owned()),
                tags: Vec::new(),
            });
        }
    }
    for s in custom {
        out.push(Service {
            name: custom_service_name(r, &s.id),
            id: s.id.clone(),
            service_type: "Interface".into(),
            owner: s.owner.clone(),
            private_dns: None,
            base_dns: format!("{}.{r}.vpce.amazonaws.com", s.id),
            short: None,
            tags: s.tags.clone(),
        });
    }
    out.sort_by(|a, b| {
        a.name
            .cmp(&b.name)
            .then(a.service_type.cmp(&b.service_type))
    });
    out
}

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
    #[serde(with = "time::serde::rfc3339")]
    pub available_at: OffsetDateTime,
    pub client_token: Option<String>,
    pub requester_managed: bool,
    pub tags: Vec<Tag>,
}

impl Record for VpcEndpoint {
    const KIND: &'static str = "ec2.vpc_endpoint";
    fn id(&self) -> &str {
        &self.id
    }
    fn group(&self) -> Option<&str> {
        Some(&self.vpc_id)
    }
    /// Its id, by which DNS finds it in any account.
    fn names(&self) -> Vec<String> {
        vec![self.id.clone()]
    }
}

impl VpcEndpoint {
    pub fn state(&self, now: OffsetDateTime) -> &'static str {
        if now >= self.available_at {
            "available"
        } else {
            "pending"
        }
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

    fn dns_entries(&self, zones: &[(String, String)]) -> Vec<DnsEntry> {
        if self.endpoint_type != "Interface" {
            return Vec::new();
        }
        let zone = vpce_hosted_zone(&self.region);
        let mut out = Vec::with_capacity(2 + self.subnet_ids.len());
        out.push(DnsEntry {
            dns_name: self.regional_dns_name(),
            hosted_zone_id: zone.clone(),
        });
        for s in &self.subnet_ids {
            if let Some((_, az)) = zones.iter().find(|(id, _)| id == s) {
                out.push(DnsEntry {
                    dns_name: self.zonal_dns_name(az),
                    hosted_zone_id: zone.clone(),
                });
            }
        }
        if let (true, Some(name)) = (self.private_dns_enabled, &self.private_dns_name) {
            let private_zone = format!(
                "Z{}",
                crate::ids::hex_of(&format!("{}/{}", self.vpc_id, name), 20).to_uppercase()
            );
            out.push(DnsEntry {
                dns_name: name.clone(),
                hosted_zone_id: private_zone.into(),
            });
        }
        out
    }

    /// The endpoint as the API shows it (`VpcEndpoint`), in `state`.
    fn out<'a>(&'a self, state: &'static str, view: &'a JsonView) -> EndpointOut<'a> {
        let interface = self.endpoint_type == "Interface";
        EndpointOut {
            vpc_endpoint_id: &self.id,
            vpc_endpoint_type: &self.endpoint_type,
            vpc_id: &self.vpc_id,
            service_name: &self.service_name,
            state,
            policy_document: &self.policy,
            route_table_ids: &self.route_table_ids,
            subnet_ids: &self.subnet_ids,
            groups: sg::identifiers_of(&view.groups, &self.groups),
            private_dns_enabled: self.private_dns_enabled,
            requester_managed: self.requester_managed,
            network_interface_ids: &self.eni_ids,
            dns_entries: self.dns_entries(&view.subnet_zones),
            creation_timestamp: crate::iso(self.created),
            tags: common::tags_out(&self.tags),
            owner_id: &self.owner,
            service_region: &self.region,
            ip_address_type: interface.then_some(self.ip_address_type.as_str()),
            dns_options: interface.then_some(DnsOptions {
                dns_record_ip_type: &self.ip_address_type,
            }),
        }
    }

    fn json(&self, state: &'static str, view: &JsonView) -> Value {
        serde_json::to_value(self.out(state, view)).unwrap_or(Value::Null)
    }
}

/// `VpcEndpoint` as DescribeVpcEndpoints and CreateVpcEndpoint answer it (fields in the model's
/// order, which the encoders walk fastest).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct EndpointOut<'a> {
    creation_timestamp: String,
    dns_entries: Vec<DnsEntry>,
    dns_options: Option<DnsOptions<'a>>,
    groups: Vec<sg::GroupIdentifier<'a>>,
    ip_address_type: Option<&'a str>,
    network_interface_ids: &'a [String],
    owner_id: &'a str,
    policy_document: &'a str,
    private_dns_enabled: bool,
    requester_managed: bool,
    route_table_ids: &'a [String],
    service_name: &'a str,
    service_region: &'a str,
    state: &'static str,
    subnet_ids: &'a [String],
    tags: Vec<common::TagOut<'a>>,
    vpc_endpoint_id: &'a str,
    vpc_endpoint_type: &'a str,
    vpc_id: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct DnsEntry {
    dns_name: String,
    hosted_zone_id: std::borrow::Cow<'static, str>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct DnsOptions<'a> {
    dns_record_ip_type: &'a str,
}

/// DescribeVpcEndpoints' answer: the page's endpoints (with their states) and what rendering
/// them needs, encoded straight from the records.
struct DescribeOut {
    page: Vec<(Arc<VpcEndpoint>, &'static str)>,
    view: JsonView,
    next: Option<String>,
}

impl Serialize for DescribeOut {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        struct Page<'a>(&'a DescribeOut);
        impl Serialize for Page<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                // Each item is the encoding of the endpoint's record under the state it shows,
                // which the cache keeps: the item depends on nothing else that can change (the
                // names of its groups and the zones of its subnets are fixed, and neither can
                // be deleted while the endpoint uses it).
                s.collect_seq(
                    self.0
                        .page
                        .iter()
                        .map(|(e, state)| encode::part(e, *state, || e.out(state, &self.0.view))),
                )
            }
        }
        let mut out = s.serialize_struct("DescribeVpcEndpointsResult", 2)?;
        out.serialize_field("NextToken", &self.next)?;
        out.serialize_field("VpcEndpoints", &Page(self))?;
        out.end()
    }
}

/// What rendering endpoints needs from the rest of the region.
struct JsonView {
    groups: Vec<std::sync::Arc<sg::SecurityGroup>>,
    subnet_zones: Vec<(String, String)>,
}

fn json_view(tx: &Tx<'_>, scope: &Scope) -> JsonView {
    JsonView {
        groups: tx.list::<sg::SecurityGroup>(scope),
        subnet_zones: tx
            .list::<vpc::Subnet>(scope)
            .iter()
            .map(|s| (s.id.clone(), s.az.clone()))
            .collect(),
    }
}

/// What the JSON of `endpoints` needs, looked up by id (not by listing every group and subnet).
fn json_view_of(v: &View<'_>, scope: &Scope, endpoints: &[&VpcEndpoint]) -> JsonView {
    // Each id once. Endpoints listed together mostly share their groups and subnets, so runs of
    // one id go first and little is left to sort.
    let distinct = |ids: &mut Vec<&str>| {
        ids.dedup();
        ids.sort_unstable();
        ids.dedup();
    };
    let mut group_ids: Vec<&str> = endpoints
        .iter()
        .flat_map(|e| e.groups.iter().map(String::as_str))
        .collect();
    distinct(&mut group_ids);
    let mut subnet_ids: Vec<&str> = endpoints
        .iter()
        .flat_map(|e| e.subnet_ids.iter().map(String::as_str))
        .collect();
    distinct(&mut subnet_ids);
    JsonView {
        groups: group_ids
            .into_iter()
            .filter_map(|g| v.get::<sg::SecurityGroup>(scope, g))
            .collect(),
        subnet_zones: subnet_ids
            .into_iter()
            .filter_map(|s| v.get::<vpc::Subnet>(scope, s))
            .map(|s| (s.id.clone(), s.az.clone()))
            .collect(),
    }
}

struct EndpointRow<'a>(&'a VpcEndpoint, &'static str);

impl Filterable for EndpointRow<'_> {
    fn field(&self, name: &str) -> Field {
        let e = self.0;
        match name {
            "vpc-endpoint-id" => one(&e.id),
            "vpc-id" => one(&e.vpc_id),
            "service-name" => one(&e.service_name),
            "service-region" => one(&e.region),
            "vpc-endpoint-state" => one(self.1),
            "vpc-endpoint-type" => one(&e.endpoint_type),
            "ip-address-type" => one(&e.ip_address_type),
            _ => None,
        }
    }
    fn tags(&self) -> &[Tag] {
        &self.0.tags
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
    if let Some(token) = &req.client_token {
        if let Some(e) = tx
            .list::<VpcEndpoint>(&scope)
            .into_iter()
            .find(|e| e.client_token.as_ref() == Some(token))
        {
            if e.service_name != req.service_name || e.vpc_id != req.vpc_id {
                return Err(ApiError::new(
                    "IdempotentParameterMismatch",
                    "The client token you have provided is associated with a resource that has different parameters.",
                ));
            }
            return Ok((*e).clone());
        }
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
        created: ctx.now,
        available_at: ctx.now,
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
            e.available_at = ctx.now + ctx.scaled(PROVISION_SECS);
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
        .filter_map(|s| tx.get::<vpc::Subnet>(&scope, s).map(|s| s.az.clone()))
        .collect();
    for sid in subnet_ids {
        let subnet = vpc::get_subnet(tx, &scope, sid)?;
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
    let state = e.state(ctx.now);
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
        let state = e.state(ctx.now);
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

impl Filterable for Service {
    fn field(&self, name: &str) -> Field {
        match name {
            "service-name" => one(&self.name),
            "service-type" => one(&self.service_type),
            "owner" => one(&self.owner),
            "service-region" => Some(vec![]),
            "supported-ip-address-types" => one("ipv4"),
            _ => None,
        }
    }
    fn tags(&self) -> &[Tag] {
        &self.tags
    }
}

pub fn describe_vpc_endpoint_services(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    input::dry_run(input)?;
    let names = input::strs(input, "ServiceNames");
    let filters = common::filters(input);
    let scope = ctx.scope();
    let all = catalogue_of(
        &ctx.store
            .read(|v| v.list::<EndpointService>(&services_scope(&scope.region))),
        &scope.region,
    );
    for n in &names {
        if !all.iter().any(|s| &s.name == n) {
            return Err(ApiError::new(
                "InvalidServiceName",
                format!("The Vpc Endpoint Service '{n}' does not exist"),
            ));
        }
    }
    let zones: Vec<_> = regions::zones(&ctx.region);
    let mut details = Vec::new();
    for s in all {
        if (names.is_empty() || names.contains(&s.name)) && common::matches(&s, &filters)? {
            details.push(s);
        }
    }
    let (page, next) = common::paginate(details, input, (5, 1000), false, |s| {
        format!("{}/{}", s.name, s.service_type)
    })?;
    let mut service_names: Vec<String> = page.iter().map(|s| s.name.clone()).collect();
    service_names.dedup();
    let details: Vec<Value> = page
        .iter()
        .map(|s| {
            let mut d = json!({
                "ServiceName": s.name, "ServiceId": s.id, "ServiceType": [{"ServiceType": s.service_type}],
                "AvailabilityZones": zones.iter().map(|z| z.name.clone()).collect::<Vec<_>>(),
                "AvailabilityZoneIds": zones.iter().map(|z| z.id.clone()).collect::<Vec<_>>(),
                "Owner": s.owner, "BaseEndpointDnsNames": [s.base_dns], "VpcEndpointPolicySupported": true,
                "AcceptanceRequired": false, "ManagesVpcEndpoints": false, "SupportedIpAddressTypes": ["ipv4"],
                "Tags": tags_json(&s.tags),
            });
            if let Some(p) = &s.private_dns {
                d["PrivateDnsName"] = json!(p);
                d["PrivateDnsNames"] = json!([{"PrivateDnsName": p}]);
                d["PrivateDnsNameVerificationState"] = json!("verified");
            }
            d
        })
        .collect();
    let mut res = json!({"ServiceNames": service_names, "ServiceDetails": details});
    if let Some(n) = next {
        res["NextToken"] = json!(n);
    }
    Ok(res)
}
