//! An endpoint's authorization rules (AuthorizeClientVpnIngress, RevokeClientVpnIngress,
//! DescribeClientVpnAuthorizationRules) and routes (CreateClientVpnRoute, DeleteClientVpnRoute,
//! DescribeClientVpnRoutes).
//!
//! Which client may reach which address follows AWS's rule: the rule with the longest
//! destination prefix that contains the address decides ([`authorized`]).

use super::{edit, get, invalid};
use crate::ec2::cidr::Cidr;
use crate::ec2::common::{self, one, Field, Filterable};
use crate::input::{self, typed};
use crate::{Clock, Ctx};
use airlock_dto::ec2 as dto;
use airlock_protocol::{ApiError, ApiResult, Output};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

/// How long AWS takes to apply a rule or a route.
pub const APPLY_SECS: f64 = 30.0;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Rule {
    pub destination: String,
    /// The directory or SAML group; `None`: every client (`AccessAll`).
    pub group_id: Option<String>,
    pub description: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
}

impl Rule {
    fn status(&self, clock: Clock) -> &'static str {
        if clock.passed(self.created, APPLY_SECS) {
            "active"
        } else {
            "authorizing"
        }
    }

    fn same(&self, destination: &str, group_id: Option<&str>) -> bool {
        self.destination == destination && self.group_id.as_deref() == group_id
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Route {
    pub destination: String,
    pub target_subnet: String,
    /// `associate` (added with a target network) or `add-route`.
    pub origin: String,
    pub description: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
}

impl Route {
    /// The route to VPC CIDR `destination` that associating `subnet` adds.
    pub fn through_association(destination: &str, subnet: &str, now: OffsetDateTime) -> Route {
        Route {
            destination: destination.to_owned(),
            target_subnet: subnet.to_owned(),
            origin: "associate".into(),
            description: Some("Default Route".into()),
            created: now,
        }
    }

    fn status(&self, clock: Clock) -> &'static str {
        if self.is_active(clock) {
            "active"
        } else {
            "creating"
        }
    }

    pub fn is_active(&self, clock: Clock) -> bool {
        clock.passed(self.created, APPLY_SECS)
    }
}

/// Whether a client in `groups` (empty for certificate authentication, which has none) may
/// reach `ip`: the active rules whose destination holds `ip` with the longest prefix decide,
/// and one of them must be for every client or for one of its groups.
pub fn authorized(rules: &[Rule], clock: Clock, groups: &[String], ip: u32) -> bool {
    let holding: Vec<(&Rule, u8)> = rules
        .iter()
        .filter(|r| r.status(clock) == "active")
        .filter_map(|r| {
            let c = Cidr::parse(&r.destination)?;
            c.contains_ip(ip).then_some((r, c.prefix))
        })
        .collect();
    let Some(longest) = holding.iter().map(|(_, p)| *p).max() else {
        return false;
    };
    holding.iter().filter(|(_, p)| *p == longest).any(|(r, _)| {
        r.group_id
            .as_ref()
            .is_none_or(|g| groups.iter().any(|have| have == g))
    })
}

fn parse_cidr(cidr: &str, member: &str) -> ApiResult<()> {
    Cidr::parse(cidr).map(|_| ()).ok_or_else(|| {
        invalid(format!(
            "Value ({cidr}) for parameter {member} is invalid. This is not a valid CIDR block."
        ))
    })
}

/// `AccessGroupId` or `AuthorizeAllGroups`/`RevokeAllGroups` (exactly one) → the rule's group.
fn group_of(
    group: Option<&String>,
    all: Option<bool>,
    all_member: &str,
) -> ApiResult<Option<String>> {
    match (group.filter(|g| !g.is_empty()), all.unwrap_or(false)) {
        (Some(_), true) => Err(ApiError::new(
            "InvalidParameterCombination",
            format!("You cannot specify both AccessGroupId and {all_member}"),
        )),
        (None, false) => Err(ApiError::missing_parameter(format!(
            "Either AccessGroupId or {all_member}=true must be specified"
        ))),
        (g, _) => Ok(g.cloned()),
    }
}

pub fn authorize_client_vpn_ingress(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::AuthorizeClientVpnIngressRequest = typed(input)?;
    parse_cidr(&req.target_network_cidr, "targetNetworkCidr")?;
    let group = group_of(
        req.access_group_id.as_ref(),
        req.authorize_all_groups,
        "AuthorizeAllGroups",
    )?;
    let rule = edit(ctx, &req.client_vpn_endpoint_id, |_, e| {
        if e.rules
            .iter()
            .any(|r| r.same(&req.target_network_cidr, group.as_deref()))
        {
            return Err(ApiError::new(
                "InvalidClientVpnDuplicateAuthorizationRule",
                "The specified authorization has already been added to the Client VPN endpoint.",
            ));
        }
        if e.rules.len() >= 50 {
            return Err(ApiError::new(
                "ClientVpnAuthorizationRuleLimitExceeded",
                "You have reached the maximum number of authorization rules for the Client VPN endpoint (50).",
            ));
        }
        let rule = Rule {
            destination: req.target_network_cidr.clone(),
            group_id: group.clone(),
            description: req.description.clone(),
            created: ctx.clock.now(),
        };
        e.rules.push(rule.clone());
        Ok(rule)
    })?;
    Ok(Output::new(dto::AuthorizeClientVpnIngressResult {
        status: Some(dto::ClientVpnAuthorizationRuleStatus {
            code: Some(rule.status(ctx.clock).into()),
            message: None,
        }),
    }))
}

pub fn revoke_client_vpn_ingress(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::RevokeClientVpnIngressRequest = typed(input)?;
    parse_cidr(&req.target_network_cidr, "targetNetworkCidr")?;
    let group = group_of(
        req.access_group_id.as_ref(),
        req.revoke_all_groups,
        "RevokeAllGroups",
    )?;
    edit(ctx, &req.client_vpn_endpoint_id, |_, e| {
        let before = e.rules.len();
        e.rules
            .retain(|r| !r.same(&req.target_network_cidr, group.as_deref()));
        if e.rules.len() == before {
            return Err(ApiError::new(
                "InvalidClientVpnEndpointAuthorizationRuleNotFound",
                "The specified authorization rule cannot be found.",
            ));
        }
        Ok(())
    })?;
    Ok(Output::new(dto::RevokeClientVpnIngressResult {
        status: Some(dto::ClientVpnAuthorizationRuleStatus {
            code: Some("revoking".into()),
            message: None,
        }),
    }))
}

/// The page of `items` (an endpoint's rules or routes, in the order added) that the request's
/// filters keep and its `MaxResults`/`NextToken` ask for, each shown as `shown` for filtering.
fn page_of<'a, T, S: Filterable>(
    items: &'a [T],
    shown: impl Fn(&'a T) -> S,
    input: &Value,
) -> ApiResult<(Vec<&'a T>, Option<String>)> {
    let filters = common::filters(input);
    let mut kept = Vec::new();
    for (i, item) in items.iter().enumerate() {
        if common::matches(&shown(item), &filters)? {
            kept.push((i, item));
        }
    }
    let (page, next) = common::paginate(kept, input, (5, 1000), false, |(i, _)| format!("{i:06}"))?;
    Ok((page.into_iter().map(|(_, item)| item).collect(), next))
}

struct ShownRule<'a>(&'a Rule);

impl Filterable for ShownRule<'_> {
    fn field(&self, name: &str) -> Field {
        match name {
            "description" => one(self.0.description.clone().unwrap_or_default()),
            "destination-cidr" => one(&self.0.destination),
            "group-id" => one(self.0.group_id.clone().unwrap_or_default()),
            _ => None,
        }
    }
}

pub fn describe_client_vpn_authorization_rules(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::DescribeClientVpnAuthorizationRulesRequest = typed(input)?;
    let scope = ctx.scope();
    let e = ctx
        .store
        .read(|v| get(v, &scope, &req.client_vpn_endpoint_id))?;
    let (page, next) = page_of(&e.rules, ShownRule, input)?;
    Ok(Output::new(
        dto::DescribeClientVpnAuthorizationRulesResult {
            authorization_rules: Some(
                page.into_iter()
                    .map(|r| dto::AuthorizationRule {
                        client_vpn_endpoint_id: Some(e.id.clone()),
                        description: r.description.clone(),
                        group_id: Some(r.group_id.clone().unwrap_or_default()),
                        access_all: Some(r.group_id.is_none()),
                        destination_cidr: Some(r.destination.clone()),
                        status: Some(dto::ClientVpnAuthorizationRuleStatus {
                            code: Some(r.status(ctx.clock).into()),
                            message: None,
                        }),
                    })
                    .collect(),
            ),
            next_token: next,
        },
    ))
}

pub fn create_client_vpn_route(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::CreateClientVpnRouteRequest = typed(input)?;
    parse_cidr(&req.destination_cidr_block, "destinationCidrBlock")?;
    let subnet = req.target_vpc_subnet_id.clone().ok_or_else(|| {
        ApiError::missing_parameter("The request must contain the parameter TargetVpcSubnetId")
    })?;
    let route = edit(ctx, &req.client_vpn_endpoint_id, |_, e| {
        if !e.associations.iter().any(|a| !a.removing()) {
            return Err(ApiError::new(
                "InvalidClientVpnActiveAssociationNotFound",
                "You cannot perform this action on the Client VPN endpoint while it is in the pending-association state.",
            ));
        }
        if !e
            .associations
            .iter()
            .any(|a| !a.removing() && a.subnet_id == subnet)
        {
            return Err(ApiError::new(
                "InvalidClientVpnSubnetId.NotFound",
                format!("Subnet {subnet} is not a target network of the Client VPN endpoint"),
            ));
        }
        if e.routes
            .iter()
            .any(|r| r.destination == req.destination_cidr_block && r.target_subnet == subnet)
        {
            return Err(ApiError::new(
                "InvalidClientVpnDuplicateRoute",
                "Route already exists",
            ));
        }
        if e.routes.iter().filter(|r| r.origin == "add-route").count() >= 10 {
            return Err(ApiError::new(
                "ClientVpnRouteLimitExceeded",
                "You have reached the maximum number of routes for the Client VPN endpoint (10).",
            ));
        }
        let route = Route {
            destination: req.destination_cidr_block.clone(),
            target_subnet: subnet.clone(),
            origin: "add-route".into(),
            description: req.description.clone(),
            created: ctx.clock.now(),
        };
        e.routes.push(route.clone());
        Ok(route)
    })?;
    Ok(Output::new(dto::CreateClientVpnRouteResult {
        status: Some(dto::ClientVpnRouteStatus {
            code: Some(route.status(ctx.clock).into()),
            message: None,
        }),
    }))
}

pub fn delete_client_vpn_route(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::DeleteClientVpnRouteRequest = typed(input)?;
    parse_cidr(&req.destination_cidr_block, "destinationCidrBlock")?;
    edit(ctx, &req.client_vpn_endpoint_id, |_, e| {
        let matching = |r: &Route| {
            r.destination == req.destination_cidr_block
                && req
                    .target_vpc_subnet_id
                    .as_ref()
                    .is_none_or(|s| *s == r.target_subnet)
        };
        if !e.routes.iter().any(&matching) {
            return Err(ApiError::new(
                "InvalidClientVpnRouteNotFound",
                "The specified route cannot be found.",
            ));
        }
        if e.routes
            .iter()
            .any(|r| matching(r) && r.origin == "associate")
        {
            return Err(invalid(format!(
                "Route {} was added by a target network association; it is removed when the target network is disassociated",
                req.destination_cidr_block
            )));
        }
        e.routes.retain(|r| !matching(r));
        Ok(())
    })?;
    Ok(Output::new(dto::DeleteClientVpnRouteResult {
        status: Some(dto::ClientVpnRouteStatus {
            code: Some("deleting".into()),
            message: None,
        }),
    }))
}

struct ShownRoute<'a>(&'a Route);

impl Filterable for ShownRoute<'_> {
    fn field(&self, name: &str) -> Field {
        match name {
            "destination-cidr" => one(&self.0.destination),
            "origin" => one(&self.0.origin),
            "target-subnet" => one(&self.0.target_subnet),
            _ => None,
        }
    }
}

pub fn describe_client_vpn_routes(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::DescribeClientVpnRoutesRequest = typed(input)?;
    let scope = ctx.scope();
    let e = ctx
        .store
        .read(|v| get(v, &scope, &req.client_vpn_endpoint_id))?;
    let (page, next) = page_of(&e.routes, ShownRoute, input)?;
    Ok(Output::new(dto::DescribeClientVpnRoutesResult {
        routes: Some(
            page.into_iter()
                .map(|r| dto::ClientVpnRoute {
                    client_vpn_endpoint_id: Some(e.id.clone()),
                    destination_cidr: Some(r.destination.clone()),
                    target_subnet: Some(r.target_subnet.clone()),
                    r#type: Some("Nat".into()),
                    origin: Some(r.origin.clone()),
                    status: Some(dto::ClientVpnRouteStatus {
                        code: Some(r.status(ctx.clock).into()),
                        message: None,
                    }),
                    description: r.description.clone(),
                    transit_gateway_attachment_id: None,
                })
                .collect(),
        ),
        next_token: next,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(dest: &str, group: Option<&str>) -> Rule {
        Rule {
            destination: dest.into(),
            group_id: group.map(str::to_owned),
            description: None,
            created: OffsetDateTime::UNIX_EPOCH,
        }
    }

    fn ip(s: &str) -> u32 {
        u32::from(s.parse::<std::net::Ipv4Addr>().unwrap())
    }

    /// The longest matching prefix decides, as AWS documents: a group rule on a /24 shadows an
    /// every-client rule on the VPC's /16 for the addresses it holds.
    #[test]
    fn longest_prefix_rule_decides() {
        let clock = Clock::new(OffsetDateTime::now_utc(), 0.0);
        let rules = vec![
            rule("10.0.0.0/16", None),
            rule("10.0.5.0/24", Some("admins")),
        ];
        assert!(authorized(&rules, clock, &[], ip("10.0.1.9")));
        assert!(!authorized(&rules, clock, &[], ip("10.0.5.9")));
        assert!(authorized(
            &rules,
            clock,
            &["admins".into()],
            ip("10.0.5.9")
        ));
        assert!(!authorized(&rules, clock, &[], ip("10.1.0.1")));
        assert!(!authorized(&[], clock, &[], ip("10.0.1.9")));
    }

    /// A rule authorizes nothing while it is still being applied.
    #[test]
    fn rules_apply_after_their_delay() {
        let now = OffsetDateTime::now_utc();
        let mut r = rule("0.0.0.0/0", None);
        r.created = now;
        let clock = Clock::new(now, 1.0);
        assert_eq!(r.status(clock), "authorizing");
        assert!(!authorized(
            std::slice::from_ref(&r),
            clock,
            &[],
            ip("10.0.0.1")
        ));
        let later = Clock::new(now + time::Duration::seconds(31), 1.0);
        assert_eq!(r.status(later), "active");
        assert!(authorized(&[r], later, &[], ip("10.0.0.1")));
    }
}
