//! Elastic IP addresses and NAT gateways.
//!
//! Public addresses come from Airlock's public loopback range (see the design's VPC fabric):
//! what AWS would hand out as an internet address is an address host programs can reach.

use super::cidr::{self, Cidr};
use super::common::{self, one, Field, Filterable, Tag};
use super::eni;
use super::subnet;
use crate::input::{self, typed};
use crate::Clock;
use crate::{ids, Ctx};
use airlock_dto::ec2 as dto;
use airlock_protocol::{ApiError, ApiResult, Output};
use airlock_store::{Scope, Tx};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

/// Where public addresses are allocated from.
pub const PUBLIC_POOL: &str = "127.255.0.0/16";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Address {
    pub allocation_id: String,
    pub public_ip: String,
    pub owner: String,
    pub region: String,
    /// `(association id, network interface id, private ip)` while associated.
    pub association: Option<(String, String, String)>,
    pub vpc_id: Option<String>,
    pub tags: Vec<Tag>,
    /// The reverse DNS name ModifyAddressAttribute set (`example.com.`).
    #[serde(default)]
    pub ptr_record: Option<String>,
}

airlock_store::record!(Address, "ec2.address", allocation_id);

/// Public addresses in use, across every account and region (kept in the global scope).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PublicIp {
    pub ip: String,
    pub owner: String,
}

airlock_store::record!(PublicIp, "ec2.public_ip", ip);

fn pool_scope() -> Scope {
    Scope::new("", "")
}

/// Takes a free public address from the pool.
pub fn take_public_ip(tx: &mut Tx<'_>, owner: &str) -> ApiResult<String> {
    let pool = Cidr::parse(PUBLIC_POOL).expect("valid pool");
    for _ in 0..64 {
        // Neither the network's nor the broadcast address, nor AWS's public endpoints' (the
        // pool's last usable address).
        let ip = pool.base + 1 + rand::random::<u32>() % (pool.size() as u32 - 3);
        let s = cidr::ip_str(ip);
        if tx.get::<PublicIp>(&pool_scope(), &s).is_none() {
            tx.put(
                &pool_scope(),
                PublicIp {
                    ip: s.clone(),
                    owner: owner.to_owned(),
                },
            )?;
            return Ok(s);
        }
    }
    Err(ApiError::new(
        "AddressLimitExceeded",
        "The maximum number of addresses has been reached.",
    ))
}

pub fn release_public_ip(tx: &mut Tx<'_>, ip: &str) {
    tx.delete::<PublicIp>(&pool_scope(), ip);
}

impl Address {
    /// The address as DescribeAddresses shows it; `instance`: the instance whose interface holds
    /// it, if any.
    fn out(&self, instance: Option<String>) -> dto::Address {
        let association = self.association.as_ref();
        dto::Address {
            allocation_id: Some(self.allocation_id.clone()),
            public_ip: Some(self.public_ip.clone()),
            domain: Some("vpc".into()),
            public_ipv4_pool: Some("amazon".into()),
            network_border_group: Some(self.region.clone()),
            tags: Some(common::tags_dto(&self.tags)),
            association_id: association.map(|(a, _, _)| a.clone()),
            network_interface_id: association.map(|(_, e, _)| e.clone()),
            network_interface_owner_id: association.map(|_| self.owner.clone()),
            private_ip_address: association.map(|(_, _, ip)| ip.clone()),
            instance_id: instance,
            ..Default::default()
        }
    }
}

impl Filterable for Address {
    fn field(&self, name: &str) -> Field {
        let assoc = |i: usize| -> Field {
            Some(
                self.association
                    .iter()
                    .map(|a| [&a.0, &a.1, &a.2][i].clone())
                    .collect(),
            )
        };
        match name {
            "allocation-id" => one(&self.allocation_id),
            "public-ip" => one(&self.public_ip),
            "domain" => one("vpc"),
            "network-border-group" => one(&self.region),
            "association-id" => assoc(0),
            "network-interface-id" => assoc(1),
            "private-ip-address" => assoc(2),
            "network-interface-owner-id" => Some(
                self.association
                    .iter()
                    .map(|_| self.owner.clone())
                    .collect(),
            ),
            _ => None,
        }
    }
    fn tags(&self) -> &[Tag] {
        &self.tags
    }
}

fn get_address(tx: &Tx<'_>, scope: &Scope, id: &str) -> ApiResult<std::sync::Arc<Address>> {
    tx.get::<Address>(scope, id)
        .ok_or_else(|| common::not_found("InvalidAllocationID.NotFound", "allocation", id))
}

pub fn allocate_address(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::AllocateAddressRequest = typed(input)?;
    if let Some(d) = &req.domain {
        // Some SDK-based tools send an empty domain; AWS takes it as `vpc`.
        if !d.is_empty() && d != "vpc" && d != "standard" {
            return Err(ApiError::invalid_parameter_value(format!(
                "Invalid value '{d}' for domain."
            )));
        }
    }
    let tags = common::tags_from_specs(input, "elastic-ip")?;
    let scope = ctx.scope();
    let a = ctx.store.write(|tx| {
        if tx.list::<Address>(&scope).len() >= 5 {
            return Err(ApiError::new(
                "AddressLimitExceeded",
                "The maximum number of addresses has been reached.",
            ));
        }
        let ip = take_public_ip(tx, ctx.account())?;
        let a = Address {
            allocation_id: ids::resource_id("eipalloc"),
            public_ip: ip,
            owner: ctx.account().to_owned(),
            region: ctx.region.clone(),
            association: None,
            vpc_id: None,
            tags,
            ptr_record: None,
        };
        tx.put(&scope, a.clone())?;
        Ok::<_, ApiError>(a)
    })?;
    // The output has no tags (the model declares none; a tagged address shows them when
    // described).
    Ok(Output::new(dto::AllocateAddressResult {
        allocation_id: Some(a.allocation_id),
        public_ip: Some(a.public_ip),
        domain: Some("vpc".into()),
        public_ipv4_pool: Some("amazon".into()),
        network_border_group: Some(a.region),
        ..Default::default()
    }))
}

pub fn release_address(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::ReleaseAddressRequest = typed(input)?;
    let id = input::given(&req.allocation_id, "AllocationId")?;
    let scope = ctx.scope();
    ctx.store.write(|tx| {
        let a = get_address(tx, &scope, id)?;
        if a.association.is_some() {
            return Err(ApiError::new(
                "InvalidIPAddress.InUse",
                format!("Address {} is in use.", a.public_ip),
            ));
        }
        release_public_ip(tx, &a.public_ip);
        tx.delete::<Address>(&scope, id);
        Ok::<_, ApiError>(())
    })?;
    Ok(Output::new(()))
}

pub fn describe_addresses(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::DescribeAddressesRequest = typed(input)?;
    let ids = req.allocation_ids.unwrap_or_default();
    let ips = req.public_ips.unwrap_or_default();
    let filters = common::filters(input);
    let scope = ctx.scope();
    let (all, enis) = ctx.store.read(|v| {
        (
            v.list::<Address>(&scope),
            v.list::<eni::NetworkInterface>(&scope),
        )
    });
    let instance_of = |a: &Address| {
        let (_, eni_id, _) = a.association.as_ref()?;
        let e = enis.iter().find(|e| &e.id == eni_id)?;
        e.attachment.as_ref().map(|att| att.instance_id.clone())
    };
    for id in &ids {
        if !all.iter().any(|a| &a.allocation_id == id) {
            return Err(common::not_found(
                "InvalidAllocationID.NotFound",
                "allocation",
                id,
            ));
        }
    }
    for ip in &ips {
        if !all.iter().any(|a| &a.public_ip == ip) {
            return Err(ApiError::new(
                "InvalidAddress.NotFound",
                format!("Address '{ip}' not found."),
            ));
        }
    }
    let mut out = Vec::new();
    for a in all {
        let named = (ids.is_empty() && ips.is_empty())
            || ids.contains(&a.allocation_id)
            || ips.contains(&a.public_ip);
        if named && common::matches(a.as_ref(), &filters)? {
            out.push(a.out(instance_of(&a)));
        }
    }
    Ok(Output::new(dto::DescribeAddressesResult {
        addresses: Some(out),
    }))
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NatGateway {
    pub id: String,
    pub subnet_id: String,
    pub vpc_id: String,
    pub connectivity: String,
    pub allocation_id: Option<String>,
    pub association_id: Option<String>,
    pub public_ip: Option<String>,
    pub eni_id: String,
    pub private_ip: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub deleted_at: Option<OffsetDateTime>,
    pub client_token: Option<String>,
    pub tags: Vec<Tag>,
}

airlock_store::record!(NatGateway, "ec2.nat_gateway", id);

impl common::Idempotent for NatGateway {
    fn client_token(&self) -> Option<&str> {
        self.client_token.as_deref()
    }
}

/// AWS takes a few minutes to provision and about one to delete a NAT gateway.
const PROVISION_SECS: f64 = 120.0;
const DELETE_SECS: f64 = 60.0;

impl NatGateway {
    pub fn state(&self, clock: Clock) -> &'static str {
        match self.deleted_at {
            Some(d) if clock.passed(d, DELETE_SECS) => "deleted",
            Some(_) => "deleting",
            None if clock.passed(self.created, PROVISION_SECS) => "available",
            None => "pending",
        }
    }

    /// Not deleted (routes to it are active, the VPC cannot be deleted).
    pub fn is_live(&self, _now: OffsetDateTime) -> bool {
        self.deleted_at.is_none()
    }

    fn out(&self, state: &str) -> dto::NatGateway {
        let going = state == "deleted" || state == "deleting";
        let address = dto::NatGatewayAddress {
            network_interface_id: Some(self.eni_id.clone()),
            private_ip: Some(self.private_ip.clone()),
            is_primary: Some(true),
            status: Some(if going { "disassociating" } else { "succeeded" }.into()),
            allocation_id: self.allocation_id.clone(),
            public_ip: self.public_ip.clone(),
            association_id: self.association_id.clone(),
            ..Default::default()
        };
        dto::NatGateway {
            nat_gateway_id: Some(self.id.clone()),
            subnet_id: Some(self.subnet_id.clone()),
            vpc_id: Some(self.vpc_id.clone()),
            state: Some(state.to_owned()),
            connectivity_type: Some(self.connectivity.clone()),
            create_time: Some(crate::iso(self.created)),
            delete_time: self.deleted_at.map(crate::iso),
            nat_gateway_addresses: Some(vec![address]),
            tags: Some(common::tags_dto(&self.tags)),
            availability_mode: Some("zonal".into()),
            ..Default::default()
        }
    }
}

struct NatRow<'a>(&'a NatGateway, &'static str);

impl Filterable for NatRow<'_> {
    fn field(&self, name: &str) -> Field {
        match name {
            "nat-gateway-id" => one(&self.0.id),
            "subnet-id" => one(&self.0.subnet_id),
            "vpc-id" => one(&self.0.vpc_id),
            "state" => one(self.1),
            _ => None,
        }
    }
    fn tags(&self) -> &[Tag] {
        &self.0.tags
    }
}

/// Associates Elastic IP `a` with interface `nic`, writing both sides of the link (the address
/// joins the interface's VPC); gives the new association's id. The caller stores both.
pub fn bind(a: &mut Address, nic: &mut eni::NetworkInterface) -> String {
    let assoc = ids::resource_id("eipassoc");
    a.association = Some((assoc.clone(), nic.id.clone(), nic.ip()));
    a.vpc_id = Some(nic.vpc_id.clone());
    nic.public_ip = Some(a.public_ip.clone());
    nic.allocation_id = Some(a.allocation_id.clone());
    nic.association_id = Some(assoc.clone());
    assoc
}

pub fn create_nat_gateway(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::CreateNatGatewayRequest = typed(input)?;
    let subnet_id = input::given(&req.subnet_id, "SubnetId")?;
    let connectivity = req
        .connectivity_type
        .clone()
        .unwrap_or_else(|| "public".into());
    let allocation = req.allocation_id.clone();
    if connectivity == "public" && allocation.is_none() {
        return Err(ApiError::missing_parameter(
            "The request must contain the parameter AllocationId for a public NAT gateway",
        ));
    }
    if connectivity == "private" && allocation.is_some() {
        return Err(ApiError::new(
            "InvalidParameterCombination",
            "A private NAT gateway cannot have an Elastic IP address",
        ));
    }
    let token = req.client_token.clone();
    let tags = common::tags_from_specs(input, "natgateway")?;
    let scope = ctx.scope();
    let n = ctx.store.write(|tx| {
        if let Some(same) = common::made_with_token::<NatGateway>(tx, &scope, token.as_deref()) {
            return Ok((*same).clone());
        }
        let subnet = subnet::get_subnet(tx, &scope, subnet_id)?;
        let id = ids::resource_id("nat");
        let mut e = eni::create_in(
            ctx,
            tx,
            eni::Spec {
                subnet: &subnet,
                requested_ip: req.private_ip_address.as_deref(),
                description: format!("Interface for NAT Gateway {id}"),
                groups: Vec::new(),
                interface_type: "nat_gateway",
                requester_managed: true,
                requester_id: Some("amazon-vpc".into()),
                status: "in-use",
                tags: Vec::new(),
            },
        )?;
        let (mut public_ip, mut association_id) = (None, None);
        if let Some(alloc) = &allocation {
            let mut a = (*get_address(tx, &scope, alloc)?).clone();
            if a.association.is_some() {
                return Err(ApiError::new(
                    "Resource.AlreadyAssociated",
                    format!("Elastic IP address [{alloc}] is already associated"),
                ));
            }
            association_id = Some(bind(&mut a, &mut e));
            public_ip = Some(a.public_ip.clone());
            tx.put(&scope, a)?;
            tx.put(&scope, e.clone())?;
        }
        let n = NatGateway {
            id,
            subnet_id: subnet.id.clone(),
            vpc_id: subnet.vpc_id.clone(),
            connectivity: connectivity.clone(),
            allocation_id: allocation.clone(),
            association_id,
            public_ip,
            eni_id: e.id.clone(),
            private_ip: e.ip(),
            created: ctx.clock.now(),
            deleted_at: None,
            client_token: token.clone(),
            tags,
        };
        tx.put(&scope, n.clone())?;
        Ok::<_, ApiError>(n)
    })?;
    let state = n.state(ctx.clock);
    Ok(Output::new(dto::CreateNatGatewayResult {
        nat_gateway: Some(n.out(state)),
        client_token: token,
    }))
}

pub fn delete_nat_gateway(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::DeleteNatGatewayRequest = typed(input)?;
    let id = req.nat_gateway_id;
    let scope = ctx.scope();
    ctx.store.write(|tx| {
        let n = tx
            .get::<NatGateway>(&scope, &id)
            .filter(|n| n.deleted_at.is_none())
            .ok_or_else(|| {
                ApiError::new(
                    "NatGatewayNotFound",
                    format!("The Nat Gateway {id} was not found"),
                )
            })?;
        let mut n = (*n).clone();
        n.deleted_at = Some(ctx.clock.now());
        if let Some(alloc) = &n.allocation_id {
            if let Some(a) = tx.get::<Address>(&scope, alloc) {
                let mut a = (*a).clone();
                a.association = None;
                a.vpc_id = None;
                tx.put(&scope, a)?;
            }
        }
        tx.delete::<eni::NetworkInterface>(&scope, &n.eni_id);
        tx.put(&scope, n)?;
        Ok::<_, ApiError>(())
    })?;
    Ok(Output::new(dto::DeleteNatGatewayResult {
        nat_gateway_id: Some(id),
    }))
}

pub fn describe_nat_gateways(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::DescribeNatGatewaysRequest = typed(input)?;
    let ids = req.nat_gateway_ids.unwrap_or_default();
    let filters = common::filters(input);
    let scope = ctx.scope();
    let all = ctx.store.read(|v| v.list::<NatGateway>(&scope));
    let mut out = Vec::new();
    for n in all {
        let state = n.state(ctx.clock);
        // Deleted gateways stay visible for about an hour, as on AWS.
        if state == "deleted" && n.deleted_at.is_some_and(|d| ctx.clock.passed(d, 3600.0)) {
            continue;
        }
        if (ids.is_empty() || ids.contains(&n.id)) && common::matches(&NatRow(&n, state), &filters)?
        {
            out.push((n, state));
        }
    }
    for id in &ids {
        if !out.iter().any(|(n, _)| &n.id == id) && filters.is_empty() {
            return Err(ApiError::new(
                "NatGatewayNotFound",
                format!("The Nat Gateway {id} was not found"),
            ));
        }
    }
    let (page, next) = common::paginate(out, input, (5, 1000), false, |(n, _)| n.id.clone())?;
    Ok(Output::new(dto::DescribeNatGatewaysResult {
        nat_gateways: Some(page.iter().map(|(n, s)| n.out(s)).collect()),
        next_token: next,
    }))
}

#[cfg(test)]
mod tests {
    use crate::auth::test_support::{ctx_as, root_principal, store};
    use crate::{Clock, Config, Ctx};
    use serde_json::{json, Value};
    use time::Duration;

    fn call(ctx: &Ctx<'_>, op: &str, input: Value) -> Value {
        crate::ec2::SERVICE
            .call_value(ctx, op, &input)
            .expect("implemented")
            .expect("succeeds")
    }

    fn state_of(ctx: &Ctx<'_>) -> Value {
        call(ctx, "DescribeNatGateways", json!({}))["NatGateways"][0]["State"].clone()
    }

    /// The record keeps when the gateway was created; its state is derived from the clock it is
    /// read with: pending until 120 s of AWS time have passed at that clock's scale.
    #[test]
    fn provisioning_is_derived_from_the_clock_it_is_read_with() {
        let store = store();
        let config = Config::default();
        let mut ctx = ctx_as(&store, &config, root_principal("123456789012"));
        let subnets = call(&ctx, "DescribeSubnets", json!({}));
        let subnet = subnets["Subnets"][0]["SubnetId"]
            .as_str()
            .unwrap()
            .to_owned();
        call(
            &ctx,
            "CreateNatGateway",
            json!({"SubnetId": subnet, "ConnectivityType": "private"}),
        );
        let t0 = ctx.clock.now();
        assert_eq!(state_of(&ctx), "pending");
        // Time scale 0.01: 120 s of AWS time are 1.2 s.
        ctx.clock = Clock::new(t0 + Duration::milliseconds(1190), 0.01);
        assert_eq!(state_of(&ctx), "pending");
        ctx.clock = Clock::new(t0 + Duration::milliseconds(1200), 0.01);
        assert_eq!(state_of(&ctx), "available");
        // The same record read at scale 0: nothing takes time, so it is available at once.
        ctx.clock = Clock::new(t0, 0.0);
        assert_eq!(state_of(&ctx), "available");
    }
}
