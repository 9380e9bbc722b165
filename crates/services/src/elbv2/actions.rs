//! Listener and rule actions: `forward` (one target group or a weighted `ForwardConfig`),
//! `redirect`, `fixed-response`, and the authentication actions (kept as given).

use super::loadbalancers::LoadBalancer;
use super::targetgroups::{self, TargetGroup};
use crate::input;
use airlock_dto::elbv2 as dto;
use airlock_protocol::{ApiError, ApiResult};
use airlock_store::{Scope, Tx};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeightedGroup {
    pub arn: String,
    pub weight: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redirect {
    /// `HTTP`, `HTTPS` or `#{protocol}`.
    pub protocol: String,
    pub port: String,
    pub host: String,
    pub path: String,
    pub query: String,
    /// `HTTP_301` or `HTTP_302`.
    pub status_code: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixedResponse {
    pub status_code: String,
    pub content_type: Option<String>,
    pub message_body: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Action {
    /// `forward`, `redirect`, `fixed-response`, `authenticate-oidc`, `authenticate-cognito`,
    /// `jwt-validation`.
    pub action_type: String,
    pub order: Option<i64>,
    /// `forward`: the target groups and their weights.
    pub target_groups: Vec<WeightedGroup>,
    /// `forward` given with `TargetGroupArn` (AWS echoes it back).
    pub single_target_group: bool,
    /// `forward`: target group stickiness (enabled, duration in seconds).
    pub stickiness: Option<(bool, Option<i64>)>,
    pub redirect: Option<Redirect>,
    pub fixed_response: Option<FixedResponse>,
    /// The configuration of an authentication action, as given.
    pub config: Option<Value>,
}

impl Action {
    pub fn target_group_arns(&self) -> impl Iterator<Item = &str> {
        self.target_groups.iter().map(|g| g.arn.as_str())
    }

    pub fn is_terminal(&self) -> bool {
        matches!(
            self.action_type.as_str(),
            "forward" | "redirect" | "fixed-response"
        )
    }

    /// The action as AWS describes it (never with an OIDC client secret).
    pub fn dto(&self) -> dto::Action {
        self.described(false)
    }

    /// The action as its input gave it (the OIDC client secret kept), to check it again.
    pub fn given(&self) -> dto::Action {
        self.described(true)
    }

    fn described(&self, secret: bool) -> dto::Action {
        let mut a = dto::Action {
            r#type: Some(self.action_type.clone()),
            order: self.order,
            ..Default::default()
        };
        match self.action_type.as_str() {
            "forward" => {
                if self.single_target_group {
                    a.target_group_arn = self.target_groups.first().map(|g| g.arn.clone());
                }
                let (enabled, duration) = self.stickiness.unwrap_or((false, None));
                a.forward_config = Some(dto::ForwardActionConfig {
                    target_groups: Some(
                        self.target_groups
                            .iter()
                            .map(|g| dto::TargetGroupTuple {
                                target_group_arn: Some(g.arn.clone()),
                                weight: Some(g.weight),
                            })
                            .collect(),
                    ),
                    target_group_stickiness_config: Some(dto::TargetGroupStickinessConfig {
                        enabled: Some(enabled),
                        duration_seconds: duration,
                    }),
                });
            }
            "redirect" => {
                a.redirect_config = self.redirect.as_ref().map(|r| dto::RedirectActionConfig {
                    protocol: Some(r.protocol.clone()),
                    port: Some(r.port.clone()),
                    host: Some(r.host.clone()),
                    path: Some(r.path.clone()),
                    query: Some(r.query.clone()),
                    status_code: Some(r.status_code.clone()),
                });
            }
            "fixed-response" => {
                a.fixed_response_config =
                    self.fixed_response
                        .as_ref()
                        .map(|f| dto::FixedResponseActionConfig {
                            status_code: Some(f.status_code.clone()),
                            content_type: f.content_type.clone(),
                            message_body: f.message_body.clone(),
                        });
            }
            "authenticate-oidc" => {
                a.authenticate_oidc_config =
                    self.config()
                        .map(|c: dto::AuthenticateOidcActionConfig| match secret {
                            true => c,
                            // AWS never returns the client secret.
                            false => dto::AuthenticateOidcActionConfig {
                                client_secret: None,
                                ..c
                            },
                        });
            }
            "authenticate-cognito" => a.authenticate_cognito_config = self.config(),
            _ => a.jwt_validation_config = self.config(),
        }
        a
    }

    /// The authentication configuration as its generated type. The query decoder, or
    /// CloudFormation's coercion, checks it against the model before it is stored; one an
    /// older Airlock stored from a template that does not read back is left out.
    fn config<T: serde::de::DeserializeOwned>(&self) -> Option<T> {
        T::deserialize(self.config.as_ref()?).ok()
    }
}

pub fn actions_dto(actions: &[Action]) -> Vec<dto::Action> {
    actions.iter().map(Action::dto).collect()
}

/// Where actions are attached: the load balancer and the listener's protocol.
pub struct Place<'a> {
    pub lb: &'a LoadBalancer,
    pub protocol: &'a str,
}

fn invalid_action(msg: impl Into<String>) -> ApiError {
    ApiError::new("InvalidLoadBalancerAction", msg)
}

/// Which target group protocols a listener protocol can forward to.
fn compatible(listener: &str, tg: &TargetGroup) -> bool {
    match (listener, tg.protocol.as_deref()) {
        ("HTTP" | "HTTPS", None) => tg.target_type == "lambda",
        ("HTTP" | "HTTPS", Some(p)) => matches!(p, "HTTP" | "HTTPS"),
        ("TCP", Some(p)) => matches!(p, "TCP" | "TCP_UDP"),
        ("TLS", Some(p)) => matches!(p, "TCP" | "TLS"),
        ("UDP", Some(p)) => matches!(p, "UDP" | "TCP_UDP"),
        ("TCP_UDP", Some(p)) => p == "TCP_UDP",
        _ => false,
    }
}

/// Parses and checks the `Actions`/`DefaultActions` list `items` for `place`.
pub fn parse(
    tx: &Tx<'_>,
    scope: &Scope,
    place: &Place<'_>,
    items: &[Value],
) -> ApiResult<Vec<Action>> {
    if items.is_empty() {
        return Err(super::validation("At least one action must be specified"));
    }
    if items.len() > 5 {
        return Err(ApiError::new(
            "TooManyActions",
            "A rule or listener can have at most 5 actions",
        ));
    }
    let mut out = Vec::new();
    for item in items {
        out.push(parse_one(tx, scope, place, item)?);
    }
    if out.len() > 1 {
        if out.iter().any(|a| a.order.is_none()) {
            return Err(super::validation(
                "An action order must be specified for each action when there is more than one action",
            ));
        }
        out.sort_by_key(|a| a.order);
        if out.windows(2).any(|w| w[0].order == w[1].order) {
            return Err(super::validation("Action orders must be unique"));
        }
    }
    let terminal = out.iter().filter(|a| a.is_terminal()).count();
    if terminal != 1 || !out.last().is_some_and(Action::is_terminal) {
        return Err(invalid_action(
            "There must be exactly one 'forward', 'redirect' or 'fixed-response' action, and it must be the last action",
        ));
    }
    let auth = out.iter().filter(|a| !a.is_terminal()).count();
    if auth > 1 {
        return Err(invalid_action(
            "A rule or listener can have at most one authentication action",
        ));
    }
    check_associations(tx, scope, place.lb, &out)?;
    Ok(out)
}

/// A target group may belong to one load balancer only.
fn check_associations(
    tx: &Tx<'_>,
    scope: &Scope,
    lb: &LoadBalancer,
    actions: &[Action],
) -> ApiResult<()> {
    let used = targetgroups::usage(tx, scope);
    let mut taken = Vec::new();
    for a in actions {
        for tg in a.target_group_arns() {
            if used
                .get(tg)
                .is_some_and(|lbs| lbs.iter().any(|l| l != &lb.arn))
                && !taken.contains(&tg)
            {
                taken.push(tg);
            }
        }
    }
    if taken.is_empty() {
        Ok(())
    } else {
        Err(ApiError::new(
            "TargetGroupAssociationLimit",
            format!(
                "The following target groups cannot be associated with more than one load balancer: {}",
                taken.join(", ")
            ),
        ))
    }
}

fn parse_one(tx: &Tx<'_>, scope: &Scope, place: &Place<'_>, item: &Value) -> ApiResult<Action> {
    let action_type = input::str(item, "Type").unwrap_or("").to_owned();
    let mut a = Action {
        action_type: action_type.clone(),
        order: input::int(item, "Order"),
        target_groups: Vec::new(),
        single_target_group: false,
        stickiness: None,
        redirect: None,
        fixed_response: None,
        config: None,
    };
    let application = place.lb.is_application();
    if action_type != "forward" && !application {
        return Err(invalid_action(format!(
            "The action type '{action_type}' is not supported for '{}' listeners",
            place.protocol
        )));
    }
    match action_type.as_str() {
        "forward" => parse_forward(tx, scope, place, item, &mut a)?,
        "redirect" => a.redirect = Some(parse_redirect(place, item)?),
        "fixed-response" => {
            let c = item.get("FixedResponseConfig").ok_or_else(|| {
                super::validation("A fixed-response action must have a FixedResponseConfig")
            })?;
            let content_type = input::str(c, "ContentType").map(str::to_owned);
            if let Some(t) = &content_type {
                const TYPES: &[&str] = &[
                    "text/plain",
                    "text/css",
                    "text/html",
                    "application/javascript",
                    "application/json",
                ];
                if !TYPES.contains(&t.as_str()) {
                    return Err(super::validation(format!(
                        "Content type '{t}' must be one of '{}'",
                        TYPES.join(", ")
                    )));
                }
            }
            a.fixed_response = Some(FixedResponse {
                status_code: input::str(c, "StatusCode").unwrap_or("200").to_owned(),
                content_type,
                message_body: input::str(c, "MessageBody").map(str::to_owned),
            });
        }
        "authenticate-oidc" | "authenticate-cognito" | "jwt-validation" => {
            if place.protocol != "HTTPS" {
                return Err(invalid_action(format!(
                    "The action type '{action_type}' is only supported for HTTPS listeners"
                )));
            }
            let key = match action_type.as_str() {
                "authenticate-oidc" => "AuthenticateOidcConfig",
                "authenticate-cognito" => "AuthenticateCognitoConfig",
                _ => "JwtValidationConfig",
            };
            let c = item.get(key).ok_or_else(|| {
                super::validation(format!(
                    "An action of type '{action_type}' must have a {key}"
                ))
            })?;
            a.config = Some(c.clone());
        }
        other => {
            return Err(super::validation(format!(
                "Action type '{other}' must be one of 'forward, redirect, fixed-response, authenticate-oidc, authenticate-cognito, jwt-validation'"
            )))
        }
    }
    Ok(a)
}

fn parse_forward(
    tx: &Tx<'_>,
    scope: &Scope,
    place: &Place<'_>,
    item: &Value,
    a: &mut Action,
) -> ApiResult<()> {
    let single = input::str(item, "TargetGroupArn");
    let config = item.get("ForwardConfig");
    let mut groups = Vec::new();
    if let Some(c) = config {
        for g in input::list(c, "TargetGroups") {
            let Some(arn) = input::str(g, "TargetGroupArn") else {
                return Err(super::validation(
                    "A target group ARN must be specified for each target group of a forward action",
                ));
            };
            let weight = input::int(g, "Weight").unwrap_or(1);
            if !(0..=999).contains(&weight) {
                return Err(super::validation(format!(
                    "Target group weight '{weight}' must be between 0 and 999"
                )));
            }
            if groups.iter().any(|w: &WeightedGroup| w.arn == arn) {
                return Err(super::validation(format!(
                    "Target group '{arn}' is specified more than once in the forward action"
                )));
            }
            groups.push(WeightedGroup {
                arn: arn.to_owned(),
                weight,
            });
        }
        if let Some(s) = c.get("TargetGroupStickinessConfig") {
            let enabled = input::bool(s, "Enabled").unwrap_or(false);
            let duration = input::int(s, "DurationSeconds");
            if let Some(d) = duration {
                if !(1..=604_800).contains(&d) {
                    return Err(super::validation(format!(
                        "Target group stickiness duration '{d}' must be between 1 and 604800 seconds"
                    )));
                }
            }
            if enabled && duration.is_none() {
                return Err(super::validation(
                    "A stickiness duration must be specified when target group stickiness is enabled",
                ));
            }
            a.stickiness = Some((enabled, duration));
        }
    }
    match (single, groups.is_empty()) {
        (None, true) => {
            return Err(super::validation(
                "A target group ARN must be specified for a forward action",
            ))
        }
        (Some(arn), true) => {
            groups.push(WeightedGroup {
                arn: arn.to_owned(),
                weight: 1,
            });
            a.single_target_group = true;
        }
        (Some(arn), false) => {
            if groups.len() != 1 || groups[0].arn != arn {
                return Err(invalid_action(
                    "If you specify both a target group ARN and a ForwardConfig, the ForwardConfig must contain only that target group",
                ));
            }
            a.single_target_group = true;
        }
        (None, false) => a.single_target_group = false,
    }
    if groups.len() > 5 {
        return Err(invalid_action(
            "A forward action can have at most 5 target groups",
        ));
    }
    for g in &groups {
        targetgroups::check_arn(&g.arn)?;
        let tg = tx.get::<TargetGroup>(scope, &g.arn).ok_or_else(|| {
            ApiError::new(
                "TargetGroupNotFound",
                format!("Target groups '{}' not found", g.arn),
            )
        })?;
        if !compatible(place.protocol, &tg) {
            return Err(ApiError::new(
                "IncompatibleProtocols",
                format!(
                    "The listener and its associated target group '{}' have incompatible protocols",
                    g.arn
                ),
            ));
        }
        if tg.target_type != "lambda" && tg.vpc_id.as_deref() != Some(place.lb.vpc_id.as_str()) {
            return Err(super::validation(format!(
                "The target group '{}' is not in the same VPC as the load balancer '{}'",
                g.arn, place.lb.arn
            )));
        }
    }
    if groups.len() > 1 && !place.lb.is_application() {
        return Err(invalid_action(
            "Network Load Balancer listeners can forward to one target group only",
        ));
    }
    a.target_groups = groups;
    Ok(())
}

fn parse_redirect(place: &Place<'_>, item: &Value) -> ApiResult<Redirect> {
    let c = item
        .get("RedirectConfig")
        .ok_or_else(|| super::validation("A redirect action must have a RedirectConfig"))?;
    let r = Redirect {
        protocol: input::str(c, "Protocol")
            .unwrap_or("#{protocol}")
            .to_owned(),
        port: input::str(c, "Port").unwrap_or("#{port}").to_owned(),
        host: input::str(c, "Host").unwrap_or("#{host}").to_owned(),
        path: input::str(c, "Path").unwrap_or("/#{path}").to_owned(),
        query: input::str(c, "Query").unwrap_or("#{query}").to_owned(),
        status_code: input::str(c, "StatusCode").unwrap_or("HTTP_301").to_owned(),
    };
    if place.protocol == "HTTPS" && r.protocol == "HTTP" {
        return Err(invalid_action(
            "Redirects from HTTPS to HTTP are not supported",
        ));
    }
    if r.port != "#{port}"
        && !r
            .port
            .parse::<u32>()
            .is_ok_and(|p| (1..=65535).contains(&p))
    {
        return Err(super::validation(format!(
            "Redirect port '{}' must be '#{{port}}' or a port between 1 and 65535",
            r.port
        )));
    }
    if !r.path.starts_with('/') {
        return Err(super::validation(format!(
            "Redirect path '{}' must begin with a '/' character",
            r.path
        )));
    }
    let unchanged = (r.protocol == "#{protocol}" || r.protocol == place.protocol)
        && r.port == "#{port}"
        && r.host == "#{host}"
        && r.path == "/#{path}";
    if unchanged {
        return Err(invalid_action(
            "The redirect configuration is not valid because it creates a loop.",
        ));
    }
    Ok(r)
}
