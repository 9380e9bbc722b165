//! Route tables, routes and their associations.

use super::cidr::Cidr;
use super::common::{self, flag, one, tags_json, Field, Filterable, Tag};
use super::vpc::{self, Vpc};
use super::{igw, nat, subnet};
use crate::{ids, input, Ctx};
use airlock_protocol::{ApiError, ApiResult};
use airlock_store::{Read, Scope, Tx};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::OffsetDateTime;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    pub destination_cidr: Option<String>,
    pub destination_prefix_list: Option<String>,
    /// `local`, `igw-...` or `vpce-...` (gateway endpoints).
    pub gateway_id: Option<String>,
    pub nat_gateway_id: Option<String>,
    pub network_interface_id: Option<String>,
    pub origin: String,
    /// An IPv6 destination (`::/0`, the VPC's /56 for its `local` route).
    #[serde(default)]
    pub destination_ipv6: Option<String>,
    /// `eigw-…`: an egress-only internet gateway (IPv6 destinations only).
    #[serde(default)]
    pub egress_only_gateway_id: Option<String>,
}

impl Route {
    fn destination(&self) -> &str {
        self.destination_cidr
            .as_deref()
            .or(self.destination_prefix_list.as_deref())
            .or(self.destination_ipv6.as_deref())
            .unwrap_or("")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Association {
    pub id: String,
    pub subnet_id: Option<String>,
    /// An edge association: the internet gateway whose inbound traffic the table routes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_id: Option<String>,
    pub main: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RouteTable {
    pub id: String,
    pub vpc_id: String,
    pub owner: String,
    pub routes: Vec<Route>,
    pub associations: Vec<Association>,
    pub tags: Vec<Tag>,
}

airlock_store::record!(RouteTable, "ec2.route_table", id);

impl RouteTable {
    pub fn is_main(&self) -> bool {
        self.associations.iter().any(|a| a.main)
    }

    /// Whether traffic to 0.0.0.0/0 (or any route) goes to an internet gateway.
    pub fn routes_to_internet_gateway(&self) -> bool {
        self.routes.iter().any(|r| {
            r.gateway_id
                .as_deref()
                .is_some_and(|g| g.starts_with("igw-"))
        })
    }

    fn json(&self, tx_state: &RouteState) -> Value {
        let routes: Vec<Value> = self
            .routes
            .iter()
            .map(|r| {
                let mut v =
                    json!({"Origin": r.origin, "State": tx_state.state_of(r, &self.vpc_id)});
                let members = [
                    ("DestinationCidrBlock", &r.destination_cidr),
                    ("DestinationPrefixListId", &r.destination_prefix_list),
                    ("DestinationIpv6CidrBlock", &r.destination_ipv6),
                    ("EgressOnlyInternetGatewayId", &r.egress_only_gateway_id),
                    ("GatewayId", &r.gateway_id),
                    ("NatGatewayId", &r.nat_gateway_id),
                    ("NetworkInterfaceId", &r.network_interface_id),
                ];
                for (member, value) in members {
                    if let Some(x) = value {
                        v[member] = json!(x);
                    }
                }
                v
            })
            .collect();
        let assocs: Vec<Value> = self
            .associations
            .iter()
            .map(|a| {
                let mut v = json!({
                    "Main": a.main, "RouteTableAssociationId": a.id, "RouteTableId": self.id,
                    "AssociationState": {"State": "associated"}
                });
                if let Some(s) = &a.subnet_id {
                    v["SubnetId"] = json!(s);
                }
                if let Some(g) = &a.gateway_id {
                    v["GatewayId"] = json!(g);
                }
                v
            })
            .collect();
        json!({
            "RouteTableId": self.id, "VpcId": self.vpc_id, "OwnerId": self.owner, "Routes": routes,
            "Associations": assocs, "PropagatingVgws": [], "Tags": tags_json(&self.tags),
        })
    }
}

/// What route states depend on: which gateways exist and are usable now.
pub struct RouteState {
    igws: Vec<std::sync::Arc<igw::InternetGateway>>,
    nats: Vec<std::sync::Arc<nat::NatGateway>>,
    now: OffsetDateTime,
}

impl RouteState {
    fn state_of(&self, r: &Route, vpc_id: &str) -> &'static str {
        if let Some(g) = r.gateway_id.as_deref().filter(|g| g.starts_with("igw-")) {
            if !self.igws.iter().any(|i| i.id == g && i.attached_to(vpc_id)) {
                return "blackhole";
            }
        }
        if let Some(n) = &r.nat_gateway_id {
            if !self.nats.iter().any(|g| &g.id == n && g.is_live(self.now)) {
                return "blackhole";
            }
        }
        "active"
    }
}

impl Filterable for RouteTable {
    fn field(&self, name: &str) -> Field {
        let routes = |f: &dyn Fn(&Route) -> Option<String>| -> Field {
            Some(self.routes.iter().filter_map(f).collect())
        };
        let assocs = |f: &dyn Fn(&Association) -> Option<String>| -> Field {
            Some(self.associations.iter().filter_map(f).collect())
        };
        match name {
            "route-table-id" => one(&self.id),
            "vpc-id" => one(&self.vpc_id),
            "owner-id" => one(&self.owner),
            "association.main" => flag(self.is_main()),
            "association.route-table-association-id" => assocs(&|a| Some(a.id.clone())),
            "association.route-table-id" => assocs(&|_| Some(self.id.clone())),
            "association.subnet-id" => assocs(&|a| a.subnet_id.clone()),
            "association.gateway-id" => assocs(&|a| a.gateway_id.clone()),
            "route.destination-cidr-block" => routes(&|r| r.destination_cidr.clone()),
            "route.destination-prefix-list-id" => routes(&|r| r.destination_prefix_list.clone()),
            "route.destination-ipv6-cidr-block" => routes(&|r| r.destination_ipv6.clone()),
            "route.egress-only-internet-gateway-id" => {
                routes(&|r| r.egress_only_gateway_id.clone())
            }
            "route.gateway-id" => routes(&|r| r.gateway_id.clone()),
            "route.nat-gateway-id" => routes(&|r| r.nat_gateway_id.clone()),
            "route.origin" => routes(&|r| Some(r.origin.clone())),
            "route.state" => routes(&|_| Some("active".into())),
            _ => None,
        }
    }
    fn tags(&self) -> &[Tag] {
        &self.tags
    }
}

/// The `local` route of a VPC's IPv4 block.
pub fn local_route(cidr: &str) -> Route {
    Route {
        destination_cidr: Some(cidr.to_owned()),
        destination_prefix_list: None,
        gateway_id: Some("local".into()),
        nat_gateway_id: None,
        network_interface_id: None,
        origin: "CreateRouteTable".into(),
        destination_ipv6: None,
        egress_only_gateway_id: None,
    }
}

/// The `local` route of a VPC's IPv6 block.
pub fn local_ipv6_route(cidr: &str) -> Route {
    Route {
        destination_cidr: None,
        destination_prefix_list: None,
        gateway_id: Some("local".into()),
        nat_gateway_id: None,
        network_interface_id: None,
        origin: "CreateRouteTable".into(),
        destination_ipv6: Some(cidr.to_owned()),
        egress_only_gateway_id: None,
    }
}

fn new_table(ctx: &Ctx<'_>, vpc: &Vpc, main: bool, tags: Vec<Tag>) -> RouteTable {
    RouteTable {
        id: ids::resource_id("rtb"),
        vpc_id: vpc.id.clone(),
        owner: ctx.account().to_owned(),
        routes: vpc
            .ipv4_blocks()
            .map(|b| local_route(&b.cidr))
            .chain(vpc.ipv6.iter().map(|b| local_ipv6_route(&b.cidr)))
            .collect(),
        associations: if main {
            vec![Association {
                id: ids::resource_id("rtbassoc"),
                subnet_id: None,
                gateway_id: None,
                main: true,
            }]
        } else {
            vec![]
        },
        tags,
    }
}

pub fn create_main(ctx: &Ctx<'_>, tx: &mut Tx<'_>, vpc: &Vpc) -> ApiResult<()> {
    tx.put(&ctx.scope(), new_table(ctx, vpc, true, Vec::new()))?;
    Ok(())
}

/// 0.0.0.0/0 → the internet gateway, in the VPC's main table (default VPCs).
pub fn add_default_route(
    tx: &mut Tx<'_>,
    scope: &Scope,
    vpc_id: &str,
    igw_id: &str,
) -> ApiResult<()> {
    let Some(main) = tx
        .list::<RouteTable>(scope)
        .into_iter()
        .find(|t| t.vpc_id == vpc_id && t.is_main())
    else {
        return Ok(());
    };
    let mut t = (*main).clone();
    t.routes.push(Route {
        destination_cidr: Some("0.0.0.0/0".into()),
        destination_prefix_list: None,
        gateway_id: Some(igw_id.to_owned()),
        nat_gateway_id: None,
        network_interface_id: None,
        origin: "CreateRoute".into(),
        destination_ipv6: None,
        egress_only_gateway_id: None,
    });
    tx.put(scope, t)?;
    Ok(())
}

/// The table that routes `subnet`: its explicit association, else its VPC's main table.
pub fn table_of_subnet(
    v: &impl Read,
    scope: &Scope,
    subnet: &subnet::Subnet,
) -> Option<std::sync::Arc<RouteTable>> {
    table_of(v, scope, &subnet.vpc_id, &subnet.id)
}

/// The table that routes subnet `subnet_id` of `vpc_id`: its explicit association, else the
/// VPC's main table.
pub fn table_of(
    v: &impl Read,
    scope: &Scope,
    vpc_id: &str,
    subnet_id: &str,
) -> Option<std::sync::Arc<RouteTable>> {
    let tables: Vec<_> = v
        .list::<RouteTable>(scope)
        .into_iter()
        .filter(|t| t.vpc_id == vpc_id)
        .collect();
    tables
        .iter()
        .find(|t| {
            t.associations
                .iter()
                .any(|a| a.subnet_id.as_deref() == Some(subnet_id))
        })
        .or_else(|| tables.iter().find(|t| t.is_main()))
        .cloned()
}

/// A subnet is public when its route table sends traffic to an internet gateway.
pub fn subnet_is_public(tx: &Tx<'_>, scope: &Scope, subnet: &subnet::Subnet) -> bool {
    table_of_subnet(tx, scope, subnet).is_some_and(|t| t.routes_to_internet_gateway())
}

/// Drops the associations of a deleted subnet.
pub fn forget_subnet(tx: &mut Tx<'_>, scope: &Scope, subnet_id: &str) -> ApiResult<()> {
    for t in tx.list::<RouteTable>(scope) {
        if t.associations
            .iter()
            .any(|a| a.subnet_id.as_deref() == Some(subnet_id))
        {
            let mut t = (*t).clone();
            t.associations
                .retain(|a| a.subnet_id.as_deref() != Some(subnet_id));
            tx.put(scope, t)?;
        }
    }
    Ok(())
}

pub fn get(tx: &Tx<'_>, scope: &Scope, id: &str) -> ApiResult<std::sync::Arc<RouteTable>> {
    tx.get::<RouteTable>(scope, id)
        .ok_or_else(|| common::not_found("InvalidRouteTableID.NotFound", "routeTable", id))
}

pub fn create_route_table(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    input::dry_run(input)?;
    let vpc_id = input::req(input, "VpcId")?;
    let tags = common::tags_from_specs(input, "route-table")?;
    let scope = ctx.scope();
    let t = ctx.store.write(|tx| {
        let vpc = vpc::get_vpc(tx, &scope, vpc_id)?;
        let t = new_table(ctx, &vpc, false, tags);
        tx.put(&scope, t.clone())?;
        Ok::<_, ApiError>(t)
    })?;
    let state = route_state(ctx);
    Ok(json!({"RouteTable": t.json(&state), "ClientToken": input::str(input, "ClientToken")}))
}

fn route_state(ctx: &Ctx<'_>) -> RouteState {
    let scope = ctx.scope();
    ctx.store.read(|v| RouteState {
        igws: v.list::<igw::InternetGateway>(&scope),
        nats: v.list::<nat::NatGateway>(&scope),
        now: ctx.clock.now(),
    })
}

pub fn describe_route_tables(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    input::dry_run(input)?;
    let ids = input::strs(input, "RouteTableIds");
    let scope = ctx.scope();
    let all = ctx.store.read(|v| v.list::<RouteTable>(&scope));
    let missing = ("InvalidRouteTableID.NotFound", "routeTable");
    let (page, next) = common::select(all, input, &ids, missing, (5, 100))?;
    let state = route_state(ctx);
    Ok(common::listed(
        "RouteTables",
        page.iter().map(|t| t.json(&state)).collect::<Vec<_>>(),
        next,
    ))
}

pub fn delete_route_table(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    input::dry_run(input)?;
    let id = input::req(input, "RouteTableId")?;
    let scope = ctx.scope();
    ctx.store.write(|tx| {
        let t = get(tx, &scope, id)?;
        if !t.associations.is_empty() {
            return Err(common::dependency("routeTable", id));
        }
        tx.delete::<RouteTable>(&scope, id);
        Ok::<_, ApiError>(())
    })?;
    Ok(json!({}))
}

/// The route a Create/ReplaceRoute request describes.
fn route_of(
    tx: &Tx<'_>,
    scope: &Scope,
    table: &RouteTable,
    input: &Value,
    now: OffsetDateTime,
) -> ApiResult<Route> {
    let cidr = input::str(input, "DestinationCidrBlock");
    let pl = input::str(input, "DestinationPrefixListId");
    let v6 = input::str(input, "DestinationIpv6CidrBlock");
    if [cidr, pl, v6].iter().filter(|d| d.is_some()).count() != 1 {
        return Err(ApiError::missing_parameter(
            "The request must contain exactly one of DestinationCidrBlock, DestinationIpv6CidrBlock or DestinationPrefixListId",
        ));
    }
    let destination_ipv6 = match v6 {
        Some(raw) => Some(
            super::ipv6::Net::parse(raw)
                .ok_or_else(|| {
                    ApiError::invalid_parameter_value(format!(
                        "Value ({raw}) for parameter destinationIpv6CidrBlock is invalid. This is not a valid IPv6 CIDR block."
                    ))
                })?
                .to_string(),
        ),
        None => None,
    };
    let destination_cidr = match cidr {
        Some(raw) => Some(
            Cidr::parse(raw)
                .ok_or_else(|| {
                    ApiError::invalid_parameter_value(format!(
                        "Value ({raw}) for parameter destinationCidrBlock is invalid. This is not a valid CIDR block."
                    ))
                })?
                .to_string(),
        ),
        None => None,
    };
    let mut r = Route {
        destination_cidr,
        destination_prefix_list: pl.map(str::to_owned),
        gateway_id: None,
        nat_gateway_id: None,
        network_interface_id: None,
        origin: "CreateRoute".into(),
        destination_ipv6,
        egress_only_gateway_id: None,
    };
    let targets = [
        "GatewayId",
        "NatGatewayId",
        "NetworkInterfaceId",
        "VpcEndpointId",
        "InstanceId",
        "TransitGatewayId",
        "VpcPeeringConnectionId",
        "EgressOnlyInternetGatewayId",
        "LocalGatewayId",
        "CarrierGatewayId",
    ];
    let given: Vec<&str> = targets
        .iter()
        .copied()
        .filter(|t| input.get(*t).is_some())
        .collect();
    if given.len() != 1 {
        return Err(ApiError::new(
            "InvalidParameterCombination",
            "The request must contain exactly one of gatewayId, natGatewayId, networkInterfaceId, vpcEndpointId, instanceId, transitGatewayId, vpcPeeringConnectionId, egressOnlyInternetGatewayId, localGatewayId or carrierGatewayId",
        ));
    }
    let target = input::str(input, given[0]).unwrap_or("");
    match given[0] {
        "GatewayId" => {
            if target.starts_with("igw-") {
                let g = igw::get(tx, scope, target)?;
                if !g.attached_to(&table.vpc_id) {
                    return Err(ApiError::invalid_parameter_value(format!(
                        "route table {} and network gateway {target} belong to different networks",
                        table.id
                    )));
                }
            } else {
                return Err(common::not_found(
                    "InvalidGatewayID.NotFound",
                    "gateway",
                    target,
                ));
            }
            r.gateway_id = Some(target.to_owned());
        }
        "NatGatewayId" => {
            let n = tx
                .get::<nat::NatGateway>(scope, target)
                .filter(|n| n.is_live(now))
                .ok_or_else(|| {
                    common::not_found("InvalidNatGatewayID.NotFound", "natGateway", target)
                })?;
            if n.vpc_id != table.vpc_id {
                return Err(ApiError::invalid_parameter_value(format!(
                    "route table {} and network gateway {target} belong to different networks",
                    table.id
                )));
            }
            r.nat_gateway_id = Some(target.to_owned());
        }
        "NetworkInterfaceId" => {
            super::eni::get(tx, scope, target)?;
            r.network_interface_id = Some(target.to_owned());
        }
        "EgressOnlyInternetGatewayId" => {
            let g = super::ipv6::get_gateway(tx, scope, target)?;
            if g.vpc_id != table.vpc_id {
                return Err(ApiError::invalid_parameter_value(format!(
                    "route table {} and network gateway {target} belong to different networks",
                    table.id
                )));
            }
            if r.destination_ipv6.is_none() {
                return Err(ApiError::invalid_parameter_value(
                    "Egress-only internet gateways route IPv6 destinations only",
                ));
            }
            r.egress_only_gateway_id = Some(target.to_owned());
        }
        other => {
            return Err(ApiError::new(
                "InvalidParameterValue",
                format!("Airlock does not emulate route targets of type {other} yet"),
            ))
        }
    }
    Ok(r)
}

/// Changes the route table the request names (`RouteTableId`), in one transaction.
fn change_table(
    ctx: &Ctx<'_>,
    input: &Value,
    change: impl FnOnce(&Tx<'_>, &Scope, &mut RouteTable) -> ApiResult<()>,
) -> ApiResult<()> {
    let id = input::req(input, "RouteTableId")?;
    let scope = ctx.scope();
    ctx.store.write(|tx| {
        let mut t = (*get(tx, &scope, id)?).clone();
        change(tx, &scope, &mut t)?;
        tx.put(&scope, t)?;
        Ok(())
    })
}

pub fn create_route(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    input::dry_run(input)?;
    change_table(ctx, input, |tx, scope, t| {
        let r = route_of(tx, scope, t, input, ctx.clock.now())?;
        if t.routes.iter().any(|e| e.destination() == r.destination()) {
            return Err(ApiError::new(
                "RouteAlreadyExists",
                format!(
                    "The route identified by {} already exists.",
                    r.destination()
                ),
            ));
        }
        t.routes.push(r);
        Ok(())
    })?;
    Ok(json!({"Return": true}))
}

/// The position of the route to `dest` in `t`, for a change that `verb`s it (`replace`,
/// `remove`): AWS's errors for a missing route and for the local route.
fn changeable_route(t: &RouteTable, dest: &str, verb: &str) -> ApiResult<usize> {
    let id = &t.id;
    let Some(pos) = t.routes.iter().position(|r| r.destination() == dest) else {
        return Err(ApiError::new(
            "InvalidRoute.NotFound",
            format!("no route with destination-cidr-block {dest} in route table {id}"),
        ));
    };
    if t.routes[pos].gateway_id.as_deref() == Some("local") {
        return Err(ApiError::invalid_parameter_value(format!(
            "cannot {verb} local route {dest} in route table {id}"
        )));
    }
    Ok(pos)
}

pub fn replace_route(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    input::dry_run(input)?;
    change_table(ctx, input, |tx, scope, t| {
        let r = route_of(tx, scope, t, input, ctx.clock.now())?;
        let pos = changeable_route(t, r.destination(), "replace")?;
        t.routes[pos] = r;
        Ok(())
    })?;
    Ok(json!({}))
}

pub fn delete_route(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    input::dry_run(input)?;
    let dest = input::str(input, "DestinationCidrBlock")
        .or_else(|| input::str(input, "DestinationPrefixListId"))
        .or_else(|| input::str(input, "DestinationIpv6CidrBlock"))
        .ok_or_else(|| {
            ApiError::missing_parameter(
                "The request must contain the parameter destinationCidrBlock",
            )
        })?
        .to_owned();
    change_table(ctx, input, |_, _, t| {
        let pos = changeable_route(t, &dest, "remove")?;
        t.routes.remove(pos);
        Ok(())
    })?;
    Ok(json!({}))
}

/// Gateway endpoints add (and remove) a prefix-list route in each of their tables.
pub fn set_endpoint_routes(
    tx: &mut Tx<'_>,
    scope: &Scope,
    endpoint_id: &str,
    prefix_list: &str,
    tables: &[String],
) -> ApiResult<()> {
    for t in tx.list::<RouteTable>(scope) {
        let want = tables.contains(&t.id);
        let has = t
            .routes
            .iter()
            .any(|r| r.gateway_id.as_deref() == Some(endpoint_id));
        if want == has {
            continue;
        }
        let mut t = (*t).clone();
        if want {
            if t.routes
                .iter()
                .any(|r| r.destination_prefix_list.as_deref() == Some(prefix_list))
            {
                return Err(ApiError::new(
                    "RouteAlreadyExists",
                    format!(
                        "route table {} already has a route with destination-prefix-list-id {prefix_list}",
                        t.id
                    ),
                ));
            }
            t.routes.push(Route {
                destination_cidr: None,
                destination_prefix_list: Some(prefix_list.to_owned()),
                gateway_id: Some(endpoint_id.to_owned()),
                nat_gateway_id: None,
                network_interface_id: None,
                origin: "CreateRoute".into(),
                destination_ipv6: None,
                egress_only_gateway_id: None,
            });
        } else {
            t.routes
                .retain(|r| r.gateway_id.as_deref() != Some(endpoint_id));
        }
        tx.put(scope, t)?;
    }
    Ok(())
}
