//! Load balancers: CreateLoadBalancer, DescribeLoadBalancers, DeleteLoadBalancer,
//! SetSecurityGroups and the load balancer attributes.
//!
//! A load balancer is a record plus one network interface per subnet (Availability Zone),
//! created with [`eni::create_in`] as AWS's own (`requester_managed`, requester `amazon-elb`,
//! description `ELB app/<name>/<id>`). Internet-facing load balancers hold a public address per
//! interface: an auto-assigned one from the public pool, or for Network Load Balancers the
//! Elastic IP of a subnet mapping. The DNS name resolves to the public addresses (internal: the
//! private ones) once the load balancer is `active`, about two minutes of AWS time after
//! creation.

mod attributes;
mod subnets;

use attributes::default_attributes;
pub use attributes::{describe_attributes, modify_attributes};
pub use subnets::{set_ip_address_type, set_subnets};

use super::{listeners, Attribute, Read};
use crate::ec2::{eni, igw, nat, sg, subnet};
use crate::tags::Tag;
use crate::Clock;
use crate::{input, Ctx};
use airlock_dto::elbv2 as dto;
use airlock_protocol::{ApiError, ApiResult, Output};
use airlock_store::{Record, Scope, Tx};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;
use time::OffsetDateTime;

/// About two minutes of AWS time from `provisioning` to `active`.
pub const PROVISION_SECS: f64 = 120.0;
/// Load balancers per region (AWS's default quota).
const QUOTA: usize = 50;
/// The requester of load balancer interfaces.
pub const REQUESTER: &str = "amazon-elb";

/// A load balancer's presence in one Availability Zone.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LbZone {
    pub subnet_id: String,
    pub az: String,
    /// The load balancer node's network interface.
    pub eni_id: String,
    /// The interface's private address (dotted).
    pub private_ip: String,
    /// The public address of an internet-facing load balancer's node.
    pub public_ip: Option<String>,
    /// The Elastic IP of a subnet mapping (NLB); `None` for an auto-assigned public address.
    pub allocation_id: Option<String>,
    /// Whether the subnet mapping named the private address (NLB, internal).
    #[serde(default)]
    pub private_ip_requested: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadBalancer {
    pub arn: String,
    pub name: String,
    /// `application` or `network`.
    pub lb_type: String,
    /// `internet-facing` or `internal`.
    pub scheme: String,
    pub ip_address_type: String,
    pub vpc_id: String,
    pub dns_name: String,
    pub hosted_zone_id: String,
    pub security_groups: Vec<String>,
    pub zones: Vec<LbZone>,
    pub attributes: Vec<Attribute>,
    /// NLBs with security groups: `on`/`off`.
    pub enforce_private_link_sg: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    pub tags: Vec<Tag>,
}

impl Record for LoadBalancer {
    const KIND: &'static str = "elbv2.load_balancer";
    fn id(&self) -> &str {
        &self.arn
    }
    /// Its DNS name, in lowercase (what DNS looks up).
    fn names(&self) -> Vec<String> {
        vec![self.dns_name.to_ascii_lowercase()]
    }
}

impl LoadBalancer {
    pub fn state(&self, clock: Clock) -> &'static str {
        if self.is_active(clock) {
            "active"
        } else {
            "provisioning"
        }
    }

    /// Provisioned (AWS takes a few minutes from creation).
    pub fn is_active(&self, clock: Clock) -> bool {
        clock.passed(self.created, PROVISION_SECS)
    }

    pub fn is_application(&self) -> bool {
        self.lb_type == "application"
    }

    /// `app/<name>/<id>` (`net/...`): what listener and rule ARNs and interface descriptions
    /// are built on.
    pub fn path(&self) -> &str {
        self.arn
            .split_once(":loadbalancer/")
            .map(|(_, p)| p)
            .unwrap_or("")
    }

    pub fn attribute(&self, key: &str) -> Option<&str> {
        super::attribute(&self.attributes, key)
    }

    /// The addresses the DNS name resolves to: the public ones of an internet-facing load
    /// balancer, the private ones of an internal one.
    pub fn addresses(&self) -> Vec<String> {
        self.zones
            .iter()
            .filter_map(|z| {
                if self.scheme == "internet-facing" {
                    z.public_ip.clone()
                } else {
                    Some(z.private_ip.clone())
                }
            })
            .collect()
    }

    /// `AvailabilityZones` as outputs show them.
    pub fn zones_out(&self) -> Vec<dto::AvailabilityZone> {
        self.zones
            .iter()
            .map(|z| {
                let mut addrs = Vec::new();
                if !self.is_application() {
                    let a = dto::LoadBalancerAddress {
                        ip_address: z.public_ip.clone(),
                        allocation_id: z.allocation_id.clone(),
                        private_ipv4_address: z.private_ip_requested.then(|| z.private_ip.clone()),
                        ..Default::default()
                    };
                    if a != dto::LoadBalancerAddress::default() {
                        addrs.push(a);
                    }
                }
                dto::AvailabilityZone {
                    zone_name: Some(z.az.clone()),
                    subnet_id: Some(z.subnet_id.clone()),
                    load_balancer_addresses: Some(addrs),
                    ..Default::default()
                }
            })
            .collect()
    }

    /// The load balancer as outputs show it.
    pub fn out(&self, clock: Clock) -> dto::LoadBalancer {
        let groups = self.is_application() || !self.security_groups.is_empty();
        dto::LoadBalancer {
            availability_zones: Some(self.zones_out()),
            canonical_hosted_zone_id: Some(self.hosted_zone_id.clone()),
            created_time: Some(crate::iso(self.created)),
            dns_name: Some(self.dns_name.clone()),
            enforce_security_group_inbound_rules_on_private_link_traffic: self
                .enforce_private_link_sg
                .clone(),
            ip_address_type: Some(self.ip_address_type.clone()),
            load_balancer_arn: Some(self.arn.clone()),
            load_balancer_name: Some(self.name.clone()),
            scheme: Some(self.scheme.clone()),
            security_groups: groups.then(|| self.security_groups.clone()),
            state: Some(dto::LoadBalancerState {
                code: Some(self.state(clock).to_owned()),
                reason: None,
            }),
            r#type: Some(self.lb_type.clone()),
            vpc_id: Some(self.vpc_id.clone()),
            ..Default::default()
        }
    }
}

/// Route 53 zones of load balancer DNS names, per region and type.
pub fn hosted_zone(region: &str, lb_type: &str) -> String {
    let known = match (lb_type, region) {
        ("application", "us-east-1") => Some("Z35SXDOTRQ7X7K"),
        ("application", "us-east-2") => Some("Z3AADJGX6KTTL2"),
        ("application", "us-west-2") => Some("Z1H1FL5HABSF5"),
        ("application", "eu-west-1") => Some("Z32O12XQLNTSW2"),
        ("application", "eu-central-1") => Some("Z215JYRZR1TBD5"),
        ("network", "us-east-1") => Some("Z26RNL4JYFTOTI"),
        ("network", "us-east-2") => Some("ZLMOA37VPKANP"),
        ("network", "us-west-2") => Some("Z18D5FSROUN65G"),
        ("network", "eu-west-1") => Some("Z2IFOLAFXWLO4F"),
        ("network", "eu-central-1") => Some("Z3F0SRJ5LGBH90"),
        _ => None,
    };
    match known {
        Some(z) => z.to_owned(),
        // Stable invented ids for the other regions.
        None => format!(
            "Z{}",
            crate::ids::hex_of(&format!("elb/{lb_type}/{region}"), 13).to_uppercase()
        ),
    }
}

/// `<name>-<digits>.<region>.elb.amazonaws.com` (ALB; `internal-` in front for internal ones),
/// `<name>-<16 hex>.elb.<region>.amazonaws.com` (NLB).
pub fn dns_name(name: &str, lb_type: &str, scheme: &str, region: &str) -> String {
    let suffix = crate::partition::dns_suffix(region);
    if lb_type == "network" {
        format!("{name}-{}.elb.{region}.{suffix}", super::hex16())
    } else {
        let n: u64 = 100_000_000 + rand::random::<u64>() % 1_900_000_000;
        let prefix = if scheme == "internal" {
            "internal-"
        } else {
            ""
        };
        format!("{prefix}{name}-{n}.{region}.elb.{suffix}")
    }
}

pub fn not_found() -> ApiError {
    ApiError::new(
        "LoadBalancerNotFound",
        "One or more load balancers not found",
    )
}

/// The load balancer `arn` of this account and region.
pub fn get<R: Read>(r: &R, scope: &Scope, arn: &str) -> ApiResult<Arc<LoadBalancer>> {
    check_arn(arn)?;
    r.get::<LoadBalancer>(scope, arn).ok_or_else(not_found)
}

fn check_arn(arn: &str) -> ApiResult<()> {
    super::check_arn(arn, "loadbalancer/", "load balancer")
}

/// The `IpAddressType` asked for: only `ipv4` can be served, as Airlock's VPCs have no IPv6.
fn ip_address_type(input: &Value) -> ApiResult<Option<String>> {
    match input::str(input, "IpAddressType") {
        Some(t) if t != "ipv4" => Err(super::invalid_config(format!(
            "IP address type '{t}' needs subnets with IPv6 CIDR blocks; Airlock's VPCs are IPv4-only"
        ))),
        t => Ok(t.map(str::to_owned)),
    }
}

/// One entry of `Subnets` or `SubnetMappings`.
struct Mapping {
    subnet_id: String,
    allocation_id: Option<String>,
    private_ip: Option<String>,
}

fn mappings(input: &Value) -> ApiResult<Vec<Mapping>> {
    let subnets = input::strs(input, "Subnets");
    let maps = input::list(input, "SubnetMappings");
    if !subnets.is_empty() && !maps.is_empty() {
        return Err(super::validation(
            "You can specify subnets or subnet mappings, but not both",
        ));
    }
    if !subnets.is_empty() {
        return Ok(subnets
            .into_iter()
            .map(|s| Mapping {
                subnet_id: s,
                allocation_id: None,
                private_ip: None,
            })
            .collect());
    }
    let mut out = Vec::new();
    for m in maps {
        let Some(s) = input::str(m, "SubnetId") else {
            return Err(super::validation(
                "A subnet ID must be specified in each subnet mapping",
            ));
        };
        if input::str(m, "IPv6Address").is_some() || input::str(m, "SourceNatIpv6Prefix").is_some()
        {
            return Err(super::invalid_config(
                "IPv6 addresses cannot be specified: Airlock's VPCs are IPv4-only",
            ));
        }
        out.push(Mapping {
            subnet_id: s.to_owned(),
            allocation_id: input::str(m, "AllocationId").map(str::to_owned),
            private_ip: input::str(m, "PrivateIPv4Address").map(str::to_owned),
        });
    }
    Ok(out)
}

/// The settings a CreateLoadBalancer call compares against an existing load balancer of the
/// same name (the call is idempotent when they match).
fn same_settings(lb: &LoadBalancer, lb_type: &str, scheme: &str, subnets: &[String]) -> bool {
    let mut have: Vec<&String> = lb.zones.iter().map(|z| &z.subnet_id).collect();
    let mut want: Vec<&String> = subnets.iter().collect();
    have.sort();
    want.sort();
    lb.lb_type == lb_type && lb.scheme == scheme && have == want
}

pub fn create_load_balancer(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let name = input::req(input, "Name")?.to_owned();
    super::check_name("Load balancer", &name)?;
    if name.to_ascii_lowercase().starts_with("internal-") {
        return Err(super::validation(format!(
            "Load balancer name '{name}' cannot begin with 'internal-'"
        )));
    }
    let lb_type = input::str(input, "Type")
        .unwrap_or("application")
        .to_owned();
    if lb_type == "gateway" {
        return Err(super::invalid_config(
            "Airlock does not emulate Gateway Load Balancers",
        ));
    }
    let scheme = input::str(input, "Scheme")
        .unwrap_or("internet-facing")
        .to_owned();
    let ip_type = ip_address_type(input)?.unwrap_or_else(|| "ipv4".into());
    if input::str(input, "CustomerOwnedIpv4Pool").is_some() {
        return Err(super::invalid_config(
            "Customer-owned address pools are only supported on Outposts",
        ));
    }
    let maps = mappings(input)?;
    let application = lb_type == "application";
    if maps.is_empty() {
        return Err(if application {
            super::invalid_config(
                "At least two subnets in two different Availability Zones must be specified",
            )
        } else {
            super::validation("At least one subnet must be specified")
        });
    }
    for m in &maps {
        if application && (m.allocation_id.is_some() || m.private_ip.is_some()) {
            return Err(super::invalid_config(
                "Application Load Balancers do not support Elastic IP addresses or private IPv4 addresses in subnet mappings",
            ));
        }
        if m.allocation_id.is_some() && scheme == "internal" {
            return Err(super::invalid_config(
                "Elastic IP addresses can only be specified for internet-facing load balancers",
            ));
        }
        if m.private_ip.is_some() && scheme != "internal" {
            return Err(super::invalid_config(
                "Private IPv4 addresses can only be specified for internal load balancers",
            ));
        }
    }
    let subnet_ids: Vec<String> = maps.iter().map(|m| m.subnet_id.clone()).collect();
    let groups_in = input::strs(input, "SecurityGroups");
    let tags = super::tags_input(input)?;
    let scope = ctx.scope();
    let lb = ctx.store.write(|tx| {
        if let Some(existing) = tx
            .list::<LoadBalancer>(&scope)
            .into_iter()
            .find(|l| l.name.eq_ignore_ascii_case(&name))
        {
            if same_settings(&existing, &lb_type, &scheme, &subnet_ids) {
                return Ok((*existing).clone());
            }
            return Err(ApiError::new(
                "DuplicateLoadBalancerName",
                format!("A load balancer with the same name '{name}' exists, but with different settings"),
            ));
        }
        if tx.list::<LoadBalancer>(&scope).len() >= QUOTA {
            return Err(ApiError::new(
                "TooManyLoadBalancers",
                format!("The maximum number of load balancers ({QUOTA}) has been reached"),
            ));
        }
        let subnets = subnets_of(tx, &scope, &maps, application)?;
        let vpc_id = subnets[0].vpc_id.clone();
        if scheme == "internet-facing"
            && !tx
                .list::<igw::InternetGateway>(&scope)
                .iter()
                .any(|g| g.attached_to(&vpc_id))
        {
            return Err(ApiError::new(
                "InvalidSubnet",
                format!("VPC {vpc_id} has no internet gateway"),
            ));
        }
        let groups = if application {
            resolve_groups(tx, &scope, &vpc_id, &groups_in)?
        } else {
            if !groups_in.is_empty() {
                resolve_groups(tx, &scope, &vpc_id, &groups_in)?;
            }
            groups_in.clone()
        };
        let short = if application { "app" } else { "net" };
        let arn = super::arn(ctx, &format!("loadbalancer/{short}/{name}/{}", super::hex16()));
        let path = format!("{short}/{name}/{}", arn.rsplit('/').next().unwrap_or(""));
        let of = ZoneOf {
            path: &path,
            application,
            scheme: &scheme,
            groups: &groups,
        };
        let mut zones = Vec::new();
        for (m, subnet) in maps.iter().zip(&subnets) {
            zones.push(open_zone(ctx, tx, &scope, &of, m, subnet)?);
        }
        let lb = LoadBalancer {
            arn,
            name: name.clone(),
            lb_type: lb_type.clone(),
            scheme: scheme.clone(),
            ip_address_type: ip_type.clone(),
            vpc_id,
            dns_name: dns_name(&name, &lb_type, &scheme, &ctx.region),
            hosted_zone_id: hosted_zone(&ctx.region, &lb_type),
            security_groups: groups.clone(),
            zones,
            attributes: default_attributes(&lb_type, &scheme),
            enforce_private_link_sg: (!application && !groups.is_empty()).then(|| "on".into()),
            created: ctx.clock.now(),
            tags: tags.clone(),
        };
        tx.put(&scope, lb.clone())?;
        Ok::<_, ApiError>(lb)
    })?;
    Ok(Output::new(dto::CreateLoadBalancerOutput {
        load_balancers: Some(vec![lb.out(ctx.clock)]),
    }))
}

/// The subnets of `maps`: they must exist, lie in one VPC and in distinct Availability Zones
/// (two at least for an Application Load Balancer).
fn subnets_of(
    tx: &Tx<'_>,
    scope: &Scope,
    maps: &[Mapping],
    application: bool,
) -> ApiResult<Vec<Arc<subnet::Subnet>>> {
    let mut subnets = Vec::new();
    for m in maps {
        let s = tx
            .get::<subnet::Subnet>(scope, &m.subnet_id)
            .ok_or_else(|| {
                ApiError::new(
                    "SubnetNotFound",
                    format!("The subnet ID '{}' is not valid", m.subnet_id),
                )
            })?;
        subnets.push(s);
    }
    let vpc_id = &subnets[0].vpc_id;
    if subnets.iter().any(|s| &s.vpc_id != vpc_id) {
        return Err(ApiError::new(
            "InvalidSubnet",
            "The specified subnets must all belong to the same VPC",
        ));
    }
    let mut zones_seen: Vec<&str> = Vec::new();
    for s in &subnets {
        if zones_seen.contains(&s.az.as_str()) {
            return Err(super::invalid_config(
                "A load balancer cannot be attached to multiple subnets in the same Availability Zone",
            ));
        }
        zones_seen.push(&s.az);
    }
    if application && zones_seen.len() < 2 {
        return Err(super::invalid_config(
            "At least two subnets in two different Availability Zones must be specified",
        ));
    }
    Ok(subnets)
}

/// What a load balancer's new zone is made for.
struct ZoneOf<'a> {
    /// `app/<name>/<id>`: the interface's description.
    path: &'a str,
    application: bool,
    scheme: &'a str,
    groups: &'a [String],
}

/// A load balancer node in `subnet`: its interface (AWS's own, requester `amazon-elb`) and,
/// when internet-facing, its public address (the mapping's Elastic IP, or one from the pool).
fn open_zone(
    ctx: &Ctx<'_>,
    tx: &mut Tx<'_>,
    scope: &Scope,
    of: &ZoneOf<'_>,
    m: &Mapping,
    subnet: &subnet::Subnet,
) -> ApiResult<LbZone> {
    let mut nic = eni::create_in(
        ctx,
        tx,
        eni::Spec {
            subnet,
            requested_ip: m.private_ip.as_deref(),
            description: format!("ELB {}", of.path),
            groups: of.groups.to_vec(),
            interface_type: if of.application {
                "interface"
            } else {
                "network_load_balancer"
            },
            requester_managed: true,
            requester_id: Some(REQUESTER.into()),
            status: "in-use",
            tags: Vec::new(),
        },
    )
    .map_err(|e| {
        if e.code.starts_with("InvalidParameterValue") || e.code == "InvalidIPAddress.InUse" {
            super::invalid_config(e.message)
        } else {
            e
        }
    })?;
    let mut zone = LbZone {
        subnet_id: subnet.id.clone(),
        az: subnet.az.clone(),
        eni_id: nic.id.clone(),
        private_ip: nic.ip(),
        public_ip: None,
        allocation_id: None,
        private_ip_requested: m.private_ip.is_some(),
    };
    if let Some(alloc) = &m.allocation_id {
        let mut a = (*tx.get::<nat::Address>(scope, alloc).ok_or_else(|| {
            ApiError::new(
                "AllocationIdNotFound",
                format!("Elastic IP address '{alloc}' does not exist"),
            )
        })?)
        .clone();
        if a.association.is_some() {
            return Err(ApiError::new(
                "InvalidConfigurationRequest",
                format!("Elastic IP address '{alloc}' is already associated"),
            ));
        }
        nat::bind(&mut a, &mut nic);
        zone.public_ip = Some(a.public_ip.clone());
        zone.allocation_id = Some(alloc.clone());
        tx.put(scope, a)?;
        tx.put(scope, nic)?;
    } else if of.scheme == "internet-facing" {
        let ip = nat::take_public_ip(tx, ctx.account())?;
        nic.public_ip = Some(ip.clone());
        zone.public_ip = Some(ip);
        tx.put(scope, nic)?;
    }
    Ok(zone)
}

/// Security groups of a load balancer: given ones must exist in its VPC; none means the VPC's
/// default group.
fn resolve_groups(
    tx: &Tx<'_>,
    scope: &Scope,
    vpc_id: &str,
    ids: &[String],
) -> ApiResult<Vec<String>> {
    if ids.is_empty() {
        return Ok(sg::default_of(tx, scope, vpc_id)
            .map(|g| vec![g.id.clone()])
            .unwrap_or_default());
    }
    for id in ids {
        match tx.get::<sg::SecurityGroup>(scope, id) {
            Some(g) if g.vpc_id == vpc_id => {}
            Some(_) => {
                return Err(ApiError::new(
                    "InvalidSecurityGroup",
                    format!("Security group '{id}' does not belong to VPC '{vpc_id}'"),
                ))
            }
            None => {
                return Err(ApiError::new(
                    "InvalidSecurityGroup",
                    format!("Security group '{id}' does not exist"),
                ))
            }
        }
    }
    let mut out: Vec<String> = Vec::new();
    for id in ids {
        if !out.contains(id) {
            out.push(id.clone());
        }
    }
    Ok(out)
}

/// Load balancers in listing order (creation, then ARN).
pub fn ordered(mut all: Vec<Arc<LoadBalancer>>) -> Vec<Arc<LoadBalancer>> {
    all.sort_by(|a, b| a.created.cmp(&b.created).then(a.arn.cmp(&b.arn)));
    all
}

pub fn describe_load_balancers(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let arns = input::strs(input, "LoadBalancerArns");
    let names = input::strs(input, "Names");
    if !arns.is_empty() && !names.is_empty() {
        return Err(super::validation(
            "Load balancer names and load balancer ARNs cannot be specified at the same time",
        ));
    }
    for a in &arns {
        check_arn(a)?;
    }
    let scope = ctx.scope();
    let all = ordered(ctx.store.read(|v| v.list::<LoadBalancer>(&scope)));
    let out = if !arns.is_empty() {
        super::pick(&all, &arns, |l, a| l.arn == a, |_| not_found())?
    } else if !names.is_empty() {
        let named = |l: &LoadBalancer, n: &str| l.name.eq_ignore_ascii_case(n);
        super::pick(&all, &names, named, |n| {
            ApiError::new(
                "LoadBalancerNotFound",
                format!("Load balancers '[{n}]' not found"),
            )
        })?
    } else {
        all
    };
    let (page, next) = super::paginate(out, input, |l| l.arn.clone())?;
    Ok(Output::new(dto::DescribeLoadBalancersOutput {
        load_balancers: Some(page.iter().map(|l| l.out(ctx.clock)).collect()),
        next_marker: next,
    }))
}

/// Removes a load balancer's interfaces, giving back their public addresses.
fn release_zones(tx: &mut Tx<'_>, scope: &Scope, zones: &[LbZone]) -> ApiResult<()> {
    for z in zones {
        match (&z.allocation_id, &z.public_ip) {
            (Some(alloc), _) => {
                if let Some(a) = tx.get::<nat::Address>(scope, alloc) {
                    let mut a = (*a).clone();
                    a.association = None;
                    a.vpc_id = None;
                    tx.put(scope, a)?;
                }
            }
            (None, Some(ip)) => nat::release_public_ip(tx, ip),
            (None, None) => {}
        }
        tx.delete::<eni::NetworkInterface>(scope, &z.eni_id);
    }
    Ok(())
}

pub fn delete_load_balancer(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let arn = input::req(input, "LoadBalancerArn")?;
    check_arn(arn)?;
    let scope = ctx.scope();
    ctx.store.write(|tx| {
        // Deleting a load balancer that does not exist succeeds, as on AWS.
        let Some(lb) = tx.get::<LoadBalancer>(&scope, arn) else {
            return Ok(());
        };
        if lb.attribute("deletion_protection.enabled") == Some("true") {
            return Err(ApiError::new(
                "OperationNotPermitted",
                format!("Load balancer '{arn}' cannot be deleted because deletion protection is enabled"),
            ));
        }
        for l in tx.list::<listeners::Listener>(&scope) {
            if l.lb_arn == lb.arn {
                listeners::delete_in(tx, &scope, &l)?;
            }
        }
        release_zones(tx, &scope, &lb.zones)?;
        tx.delete::<LoadBalancer>(&scope, arn);
        Ok::<_, ApiError>(())
    })?;
    Ok(Output::new(dto::DeleteLoadBalancerOutput {}))
}

pub fn set_security_groups(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let arn = input::req(input, "LoadBalancerArn")?;
    let groups_in = input::strs(input, "SecurityGroups");
    let enforce = input::str(
        input,
        "EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic",
    );
    let scope = ctx.scope();
    let lb = ctx.store.write(|tx| {
        let mut lb = (*get(tx, &scope, arn)?).clone();
        if lb.is_application() {
            if enforce.is_some() {
                return Err(super::invalid_config(
                    "EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic is only supported for Network Load Balancers",
                ));
            }
            if groups_in.is_empty() {
                return Err(super::invalid_config(
                    "An Application Load Balancer must have at least one security group",
                ));
            }
        } else if lb.security_groups.is_empty() {
            return Err(super::invalid_config(
                "You cannot set security groups on a Network Load Balancer which was created without any security groups",
            ));
        } else if groups_in.is_empty() {
            return Err(super::invalid_config(
                "You cannot remove all security groups from a Network Load Balancer which was created with security groups",
            ));
        }
        lb.security_groups = resolve_groups(tx, &scope, &lb.vpc_id, &groups_in)?;
        if let Some(e) = enforce {
            lb.enforce_private_link_sg = Some(e.to_owned());
        }
        for z in &lb.zones {
            if let Some(n) = tx.get::<eni::NetworkInterface>(&scope, &z.eni_id) {
                let mut n = (*n).clone();
                n.groups = lb.security_groups.clone();
                tx.put(&scope, n)?;
            }
        }
        tx.put(&scope, lb.clone())?;
        Ok::<_, ApiError>(lb)
    })?;
    Ok(Output::new(dto::SetSecurityGroupsOutput {
        enforce_security_group_inbound_rules_on_private_link_traffic: lb
            .enforce_private_link_sg
            .clone(),
        security_group_ids: Some(lb.security_groups.clone()),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_names_follow_aws_forms() {
        let alb = dns_name("my-lb", "application", "internet-facing", "us-west-2");
        let (label, rest) = alb.split_once('.').unwrap();
        assert_eq!(rest, "us-west-2.elb.amazonaws.com");
        let digits = label.strip_prefix("my-lb-").unwrap();
        assert!(digits.len() >= 9 && digits.len() <= 10, "{digits}");
        assert!(digits.bytes().all(|b| b.is_ascii_digit()));
        assert!(dns_name("x", "application", "internal", "us-west-2").starts_with("internal-x-"));
        let nlb = dns_name("n", "network", "internet-facing", "eu-west-1");
        let (label, rest) = nlb.split_once('.').unwrap();
        assert_eq!(rest, "elb.eu-west-1.amazonaws.com");
        assert_eq!(label.len(), "n-".len() + 16);
    }

    #[test]
    fn hosted_zones() {
        assert_eq!(hosted_zone("us-west-2", "application"), "Z1H1FL5HABSF5");
        assert_eq!(hosted_zone("us-east-1", "network"), "Z26RNL4JYFTOTI");
        let z = hosted_zone("ap-south-2", "application");
        assert_eq!(z, hosted_zone("ap-south-2", "application"));
        assert_ne!(z, hosted_zone("ap-south-2", "network"));
    }
}
