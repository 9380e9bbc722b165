//! Elastic Load Balancing v2 (awsQuery, version 2015-12-01): the control plane.
//!
//! Application and Network Load Balancers with their network interfaces ([`loadbalancers`]),
//! target groups, registrations and target health ([`targetgroups`]), listeners and their
//! certificates ([`listeners`]), listener rules ([`rules`]), the actions both carry
//! ([`actions`]), tags ([`tags`]) and the security policy catalogue ([`ssl`]).
//!
//! Records (all in the request's regional scope, keyed by ARN):
//! - [`loadbalancers::LoadBalancer`] (`elbv2.load_balancer`): one interface per subnet, created
//!   with [`crate::ec2::eni::create_in`]; internet-facing ones hold a public address (an
//!   auto-assigned one from the public pool, or an Elastic IP for NLB subnet mappings).
//! - [`targetgroups::TargetGroup`] (`elbv2.target_group`) and, beside it,
//!   [`targetgroups::Targets`] (`elbv2.targets`, same id): the registrations, whose `health`
//!   the data plane's health checker writes ([`targetgroups::set_health`]).
//! - [`listeners::Listener`] (`elbv2.listener`, which also carries its default rule) and
//!   [`rules::Rule`] (`elbv2.rule`).
//!
//! Time-based state (a load balancer's `provisioning` → `active`, a deregistered target's
//! `draining`) is derived at read time from persisted timestamps on the scaled clock.
//!
//! Known differences from AWS: Gateway Load Balancers, dual-stack addressing, QUIC listeners,
//! trust stores and IPAM pools are not emulated (Airlock's VPCs are IPv4-only); `lambda`
//! target groups can be created but hold no functions.

pub mod actions;
pub mod dataplane;
pub mod dns;
pub mod listener_attributes;
pub mod listeners;
pub mod loadbalancers;
pub mod routing;
pub mod rules;
pub mod ssl;
pub mod tags;
pub mod targetgroups;

use crate::service::{ops, Service};
use crate::tags::Tag;
use crate::{input, Ctx};
use airlock_dto::elbv2 as dto;
use airlock_protocol::{ApiError, ApiResult, Output};
use airlock_store::Kind;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;

pub fn record_kinds() -> Vec<Kind> {
    vec![
        Kind::of::<loadbalancers::LoadBalancer>(),
        Kind::of::<targetgroups::TargetGroup>(),
        Kind::of::<targetgroups::Targets>(),
        Kind::of::<listeners::Listener>(),
        Kind::of::<rules::Rule>(),
    ]
}

/// ELBV2's registration.
pub static SERVICE: Service = Service {
    name: "elbv2",
    ops: ops! {
        "CreateLoadBalancer" => Output(loadbalancers::create_load_balancer),
        "DescribeLoadBalancers" => Output(loadbalancers::describe_load_balancers),
        "DeleteLoadBalancer" => Output(loadbalancers::delete_load_balancer),
        "SetSecurityGroups" => Output(loadbalancers::set_security_groups),
        "SetSubnets" => Output(loadbalancers::set_subnets),
        "SetIpAddressType" => Output(loadbalancers::set_ip_address_type),
        "SetRulePriorities" => Output(rules::set_rule_priorities),
        "DescribeAccountLimits" => Output(describe_account_limits),
        "DescribeLoadBalancerAttributes" => Output(loadbalancers::describe_attributes),
        "ModifyLoadBalancerAttributes" => Output(loadbalancers::modify_attributes),
        "CreateTargetGroup" => Output(targetgroups::create_target_group),
        "DescribeTargetGroups" => Output(targetgroups::describe_target_groups),
        "ModifyTargetGroup" => Output(targetgroups::modify_target_group),
        "DeleteTargetGroup" => Output(targetgroups::delete_target_group),
        "DescribeTargetGroupAttributes" => Output(targetgroups::describe_attributes),
        "ModifyTargetGroupAttributes" => Output(targetgroups::modify_attributes),
        "RegisterTargets" => Output(targetgroups::register_targets),
        "DeregisterTargets" => Output(targetgroups::deregister_targets),
        "DescribeTargetHealth" => Output(targetgroups::describe_target_health),
        "CreateListener" => Output(listeners::create_listener),
        "DescribeListeners" => Output(listeners::describe_listeners),
        "ModifyListener" => Output(listeners::modify_listener),
        "DeleteListener" => Output(listeners::delete_listener),
        "DescribeListenerAttributes" => Output(listener_attributes::describe_listener_attributes),
        "ModifyListenerAttributes" => Output(listener_attributes::modify_listener_attributes),
        "DescribeListenerCertificates" => Output(listeners::describe_listener_certificates),
        "AddListenerCertificates" => Output(listeners::add_listener_certificates),
        "RemoveListenerCertificates" => Output(listeners::remove_listener_certificates),
        "CreateRule" => Output(rules::create_rule),
        "DescribeRules" => Output(rules::describe_rules),
        "ModifyRule" => Output(rules::modify_rule),
        "DeleteRule" => Output(rules::delete_rule),
        "AddTags" => Output(tags::add_tags),
        "RemoveTags" => Output(tags::remove_tags),
        "DescribeTags" => Output(tags::describe_tags),
        "DescribeSSLPolicies" => Output(ssl::describe_ssl_policies),
    },
    records: record_kinds,
    dns: dns::ZONES,
    wants: Some(dataplane::wants),
    // Load balancers live in VPCs: a region's default network exists before any of them.
    before: Some(crate::ec2::vpc::ensure_region),
    iam: crate::authz::Iam {
        access,
        ..crate::authz::Iam::new("elasticloadbalancing", "AccessDenied", 403)
    },
    endpoints: &["elasticloadbalancing"],
    ..Service::NOTHING
};

/// Lookups written once for snapshots and transactions.
pub use airlock_store::Read;

/// `arn:<partition>:elasticloadbalancing:<region>:<account>:<resource>`.
pub fn arn(ctx: &Ctx<'_>, resource: &str) -> String {
    crate::partition::arn(&ctx.region, "elasticloadbalancing", ctx.account(), resource)
}

/// The resource part of an ELB ARN (`loadbalancer/app/x/1234…`), if `arn` is one.
/// ELBv2's actions act on the load balancer, target group, listener or rule the request names
/// (with its tags as `aws:ResourceTag/…` when a policy reads them), else on `*`.
fn access(c: &crate::authz::Call<'_>) -> Vec<crate::authz::Access> {
    const MEMBERS: [&str; 4] = [
        "LoadBalancerArn",
        "TargetGroupArn",
        "ListenerArn",
        "RuleArn",
    ];
    let Some(arn) = MEMBERS.iter().find_map(|m| c.str(m)) else {
        return c.default_access();
    };
    let tags = match c.wants_tags() {
        true => c
            .ctx
            .store
            .read(|v| tags::tags_of(v, &c.ctx.scope(), arn))
            .map(|t| t.into_iter().map(|t| (t.key, t.value)).collect())
            .unwrap_or_default(),
        false => Vec::new(),
    };
    vec![crate::authz::Access::new(c.action(), arn).with_tags(None, tags)]
}

pub fn resource_of(arn: &str) -> Option<&str> {
    let mut parts = arn.splitn(6, ':');
    let (arn_, partition, service, region, account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    let ok = arn_ == "arn"
        && partition.starts_with("aws")
        && service == "elasticloadbalancing"
        && !region.is_empty()
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit());
    ok.then_some(resource)
}

/// Checks that `arn` is an ELB ARN whose resource starts with `prefix` (`"listener/"`); `noun`
/// names the kind in the error.
pub fn check_arn(arn: &str, prefix: &str, noun: &str) -> ApiResult<()> {
    match resource_of(arn) {
        Some(r) if r.starts_with(prefix) => Ok(()),
        _ => Err(validation(format!("'{arn}' is not a valid {noun} ARN"))),
    }
}

/// A Describe call names its resources by their parent's ARN or by their own ARNs, one or the
/// other: `neither` and `both` are the errors for the two other cases.
pub fn parent_or_arns(
    parent: Option<&str>,
    arns: &[String],
    neither: &str,
    both: &str,
) -> ApiResult<()> {
    match (parent, arns.is_empty()) {
        (None, true) => Err(validation(neither)),
        (Some(_), false) => Err(validation(both)),
        _ => Ok(()),
    }
}

/// The records `wanted` names, each once, in the order named: `is(record, name)` says which
/// record a name is; a name no record is fails with `missing(name)`.
pub fn pick<T>(
    all: &[Arc<T>],
    wanted: &[String],
    is: impl Fn(&T, &str) -> bool,
    missing: impl Fn(&str) -> ApiError,
) -> ApiResult<Vec<Arc<T>>> {
    let mut out: Vec<Arc<T>> = Vec::new();
    for w in wanted {
        let found = all.iter().find(|r| is(r, w)).ok_or_else(|| missing(w))?;
        if !out.iter().any(|r| Arc::ptr_eq(r, found)) {
            out.push(found.clone());
        }
    }
    Ok(out)
}

/// 16 random lowercase hex digits (the last part of every ELB ARN).
pub fn hex16() -> String {
    format!("{:016x}", rand::random::<u64>())
}

pub fn validation(msg: impl Into<String>) -> ApiError {
    ApiError::new("ValidationError", msg)
}

pub fn invalid_config(msg: impl Into<String>) -> ApiError {
    ApiError::new("InvalidConfigurationRequest", msg)
}

/// Load balancer and target group names: 1–32 characters of `[A-Za-z0-9-]`, no hyphen at either
/// end. `what` is `Load balancer` or `Target group`.
pub fn check_name(what: &str, name: &str) -> ApiResult<()> {
    if name.is_empty() {
        return Err(validation(format!("{what} name cannot be empty")));
    }
    if name.chars().count() > 32 {
        return Err(validation(format!(
            "{what} name '{name}' cannot be longer than '32' characters"
        )));
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(validation(format!(
            "{what} name '{name}' can only contain characters that are alphanumeric characters or hyphens(-)"
        )));
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Err(validation(format!(
            "{what} name '{name}' cannot begin or end with '-'"
        )));
    }
    Ok(())
}

/// A key/value attribute (load balancers, target groups), in AWS's listing order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attribute {
    pub key: String,
    pub value: String,
}

pub fn attributes(defaults: &[(&str, &str)]) -> Vec<Attribute> {
    defaults
        .iter()
        .map(|(k, v)| Attribute {
            key: (*k).to_owned(),
            value: (*v).to_owned(),
        })
        .collect()
}

/// Attributes as outputs show them, as `dto::$shape` (`LoadBalancerAttribute`,
/// `TargetGroupAttribute`: one shape under two names).
macro_rules! attributes_out {
    ($shape:ident, $attrs:expr) => {
        $attrs
            .iter()
            .map(|a| airlock_dto::elbv2::$shape {
                key: Some(a.key.clone()),
                value: Some(a.value.clone()),
            })
            .collect()
    };
}
pub(crate) use attributes_out;

pub fn attribute<'a>(attrs: &'a [Attribute], key: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|a| a.key == key)
        .map(|a| a.value.as_str())
}

pub fn set_attribute(attrs: &mut Vec<Attribute>, key: &str, value: &str) {
    match attrs.iter_mut().find(|a| a.key == key) {
        Some(a) => a.value = value.to_owned(),
        None => attrs.push(Attribute {
            key: key.to_owned(),
            value: value.to_owned(),
        }),
    }
}

/// The `Attributes` of a Modify*Attributes request as (key, value) pairs.
pub fn attributes_input(input: &Value) -> Vec<(String, String)> {
    input::list(input, "Attributes")
        .iter()
        .map(|a| {
            (
                input::str(a, "Key").unwrap_or("").to_owned(),
                input::str(a, "Value").unwrap_or("").to_owned(),
            )
        })
        .collect()
}

/// Checks a boolean attribute value.
pub fn check_bool(key: &str, value: &str) -> ApiResult<()> {
    if value == "true" || value == "false" {
        Ok(())
    } else {
        Err(validation(format!(
            "'{value}' is not a valid value for attribute '{key}': the value must be 'true' or 'false'"
        )))
    }
}

/// Checks an integer attribute value against an inclusive range.
pub fn check_range(key: &str, value: &str, lo: i64, hi: i64) -> ApiResult<()> {
    match value.parse::<i64>() {
        Ok(n) if (lo..=hi).contains(&n) => Ok(()),
        _ => Err(validation(format!(
            "'{value}' is not a valid value for attribute '{key}': the value must be an integer between {lo} and {hi}"
        ))),
    }
}

/// The maximum number of tags per resource.
pub const TAG_LIMIT: usize = 50;

/// The `Tags` of a request: keys 1–128 characters not starting with `aws:`, values up to 256,
/// no key twice, at most [`TAG_LIMIT`].
pub fn tags_input(input: &Value) -> ApiResult<Vec<Tag>> {
    let mut tags: Vec<Tag> = Vec::new();
    for t in input::list(input, "Tags") {
        let key = input::str(t, "Key").unwrap_or("").to_owned();
        if tags.iter().any(|x| x.key == key) {
            return Err(ApiError::new(
                "DuplicateTagKeys",
                format!("Tag key '{key}' was specified more than once"),
            ));
        }
        if key.to_ascii_lowercase().starts_with("aws:") {
            return Err(validation(format!(
                "Tag key '{key}' is not valid: keys starting with 'aws:' are reserved for internal use"
            )));
        }
        tags.push(Tag {
            key,
            value: input::str(t, "Value").unwrap_or("").to_owned(),
        });
    }
    if tags.len() > TAG_LIMIT {
        return Err(too_many_tags());
    }
    Ok(tags)
}

pub fn too_many_tags() -> ApiError {
    ApiError::new(
        "TooManyTags",
        "The quota for the number of tags that can be assigned to a resource has been reached",
    )
}

/// Tags as the typed outputs carry them.
pub fn tags_dto(tags: &[Tag]) -> Vec<dto::Tag> {
    tags.iter()
        .map(|t| dto::Tag {
            key: Some(t.key.clone()),
            value: Some(t.value.clone()),
        })
        .collect()
}

/// The account's ELB quotas, by AWS's names, with AWS's default values (those Airlock enforces
/// are the same numbers: load balancers, listeners, rules, certificates, target groups, targets).
const LIMITS: &[(&str, &str)] = &[
    ("application-load-balancers", "50"),
    ("listeners-per-application-load-balancer", "50"),
    ("listeners-per-network-load-balancer", "50"),
    ("network-load-balancers", "50"),
    ("target-groups", "3000"),
    ("target-groups-per-action-on-application-load-balancer", "5"),
    ("target-groups-per-action-on-network-load-balancer", "1"),
    ("target-groups-per-application-load-balancer", "100"),
    ("targets-per-application-load-balancer", "1000"),
    (
        "targets-per-availability-zone-per-network-load-balancer",
        "500",
    ),
    ("targets-per-network-load-balancer", "3000"),
    ("targets-per-target-group", "1000"),
    ("rules-per-application-load-balancer", "100"),
    ("certificates-per-application-load-balancer", "25"),
    ("certificates-per-network-load-balancer", "25"),
    ("condition-values-per-alb-rule", "5"),
    ("condition-wildcards-per-alb-rule", "5"),
    ("gateway-load-balancers", "100"),
    ("gateway-load-balancers-per-vpc", "100"),
    ("geneve-target-groups", "100"),
    (
        "targets-per-availability-zone-per-gateway-load-balancer",
        "300",
    ),
];

pub fn describe_account_limits(_ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let (page, next) = paginate(LIMITS.to_vec(), input, |(name, _)| (*name).to_owned())?;
    let limit = |(name, max): &(&str, &str)| dto::Limit {
        max: Some((*max).to_owned()),
        name: Some((*name).to_owned()),
    };
    Ok(Output::new(dto::DescribeAccountLimitsOutput {
        limits: Some(page.iter().map(limit).collect()),
        next_marker: next,
    }))
}

/// A page of `items` per `Marker`/`PageSize` (1–400): the marker names the last item returned.
pub fn paginate<T>(
    items: Vec<T>,
    input: &Value,
    id: impl Fn(&T) -> String,
) -> ApiResult<(Vec<T>, Option<String>)> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let start = match input::str(input, "Marker") {
        Some(m) => {
            let after = b64
                .decode(m)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| validation(format!("Invalid Marker '{m}'")))?;
            items
                .iter()
                .position(|i| id(i) == after)
                .map(|p| p + 1)
                .ok_or_else(|| validation(format!("Invalid Marker '{m}'")))?
        }
        None => 0,
    };
    let size = input::int(input, "PageSize").unwrap_or(400).clamp(1, 400) as usize;
    let mut page: Vec<T> = items.into_iter().skip(start).collect();
    let mut next = None;
    if page.len() > size {
        page.truncate(size);
        next = page.last().map(|last| b64.encode(id(last)));
    }
    Ok((page, next))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::test_support::{ctx_as, ec2, root_principal, store};
    use serde_json::json;

    /// Describe calls name their resources by the parent's ARN or by their own ARNs (never both,
    /// never neither); a malformed ARN is refused naming its kind; ARNs and names given twice
    /// list their resource once.
    #[test]
    fn describe_calls_check_how_resources_are_named() {
        let store = store();
        let config = crate::Config::default();
        let ctx = ctx_as(&store, &config, root_principal("123456789012"));
        let call = |op: &str, input: Value| SERVICE.call_value(&ctx, op, &input).unwrap();
        let refused = |op: &str, input: Value| call(op, input).unwrap_err().message;
        let lb = "arn:aws:elasticloadbalancing:us-west-2:123456789012:loadbalancer/app/a/0123456789abcdef";
        assert_eq!(
            refused("DescribeListeners", json!({})),
            "You must specify either listener ARNs or a load balancer ARN"
        );
        assert_eq!(
            refused(
                "DescribeListeners",
                json!({"LoadBalancerArn": lb, "ListenerArns": [lb]})
            ),
            "Listener ARNs and a load balancer ARN cannot be specified at the same time"
        );
        assert_eq!(
            refused("DescribeRules", json!({})),
            "You must specify either listener ARN or rule ARNs"
        );
        assert_eq!(
            refused("DescribeListeners", json!({"ListenerArns": [lb]})),
            format!("'{lb}' is not a valid listener ARN")
        );
        assert_eq!(
            refused(
                "DescribeTargetGroups",
                json!({"TargetGroupArns": ["nonsense"]})
            ),
            "'nonsense' is not a valid target group ARN"
        );
        let missing = call("DescribeLoadBalancers", json!({"Names": ["nope"]})).unwrap_err();
        assert_eq!(
            (missing.code.as_str(), missing.message.as_str()),
            ("LoadBalancerNotFound", "Load balancers '[nope]' not found")
        );

        let vpc = ec2(&ctx, "CreateVpc", json!({"CidrBlock": "10.0.0.0/16"})).unwrap();
        let tg = call(
            "CreateTargetGroup",
            json!({"Name": "web", "Protocol": "HTTP", "Port": 80, "VpcId": vpc["Vpc"]["VpcId"]}),
        )
        .unwrap();
        let arn = &tg["TargetGroups"][0]["TargetGroupArn"];
        for input in [
            json!({"Names": ["web", "WEB"]}),
            json!({"TargetGroupArns": [arn, arn]}),
        ] {
            let out = call("DescribeTargetGroups", input.clone()).unwrap();
            assert_eq!(out["TargetGroups"].as_array().unwrap().len(), 1, "{input}");
        }
    }

    /// What the listener and rule operations describe: every action type, every condition
    /// field, transforms and mutual authentication, as given (an OIDC client secret never comes
    /// back), and the listener's default rule last.
    #[test]
    fn listeners_and_rules_describe_what_was_given() {
        use base64::Engine;
        let store = store();
        let config = crate::Config::default();
        let ctx = ctx_as(&store, &config, root_principal("123456789012"));
        let call = |op: &str, input: Value| SERVICE.call_value(&ctx, op, &input).unwrap().unwrap();
        let vpc = ec2(&ctx, "CreateVpc", json!({"CidrBlock": "10.0.0.0/16"})).unwrap();
        let vpc = &vpc["Vpc"]["VpcId"];
        let subnets: Vec<Value> = ["a", "b"]
            .iter()
            .enumerate()
            .map(|(i, z)| {
                let input = json!({"VpcId": vpc, "CidrBlock": format!("10.0.{i}.0/24"),
                    "AvailabilityZone": format!("us-west-2{z}")});
                ec2(&ctx, "CreateSubnet", input).unwrap()["Subnet"]["SubnetId"].clone()
            })
            .collect();
        let lb = call(
            "CreateLoadBalancer",
            json!({"Name": "web", "Scheme": "internal", "Subnets": subnets}),
        );
        let lb = &lb["LoadBalancers"][0]["LoadBalancerArn"];
        let group = |name: &str| {
            let input = json!({"Name": name, "Protocol": "HTTP", "Port": 80, "VpcId": vpc});
            call("CreateTargetGroup", input)["TargetGroups"][0]["TargetGroupArn"].clone()
        };
        let (blue, green) = (group("blue"), group("green"));
        let key = rcgen::KeyPair::generate().unwrap();
        let pem = rcgen::CertificateParams::new(vec!["www.example.com".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap()
            .pem();
        let b64 = |s: String| base64::engine::general_purpose::STANDARD.encode(s);
        let import = json!({"Certificate": b64(pem), "PrivateKey": b64(key.serialize_pem())});
        let cert = crate::acm::SERVICE
            .call_value(&ctx, "ImportCertificate", &import)
            .unwrap()
            .unwrap()["CertificateArn"]
            .clone();

        let oidc = json!({"Issuer": "https://idp.example.com",
            "AuthorizationEndpoint": "https://idp.example.com/auth",
            "TokenEndpoint": "https://idp.example.com/token",
            "UserInfoEndpoint": "https://idp.example.com/userinfo", "ClientId": "airlock",
            "ClientSecret": "s3cret", "SessionTimeout": 3600,
            "AuthenticationRequestExtraParams": {"prompt": "login"}});
        let created = call(
            "CreateListener",
            json!({"LoadBalancerArn": lb, "Protocol": "HTTPS", "Port": 443,
            "Certificates": [{"CertificateArn": cert}],
            "MutualAuthentication": {"Mode": "passthrough"},
            "DefaultActions": [
                {"Type": "authenticate-oidc", "Order": 1, "AuthenticateOidcConfig": oidc},
                {"Type": "forward", "Order": 2, "TargetGroupArn": blue},
            ]}),
        );
        let listener = &created["Listeners"][0]["ListenerArn"];
        let mut shown_oidc = oidc.clone();
        shown_oidc.as_object_mut().unwrap().remove("ClientSecret");
        let forward_blue = json!({"Type": "forward", "Order": 2, "TargetGroupArn": blue,
            "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": blue, "Weight": 1}],
                "TargetGroupStickinessConfig": {"Enabled": false}}});
        let default_actions = json!([
            {"Type": "authenticate-oidc", "Order": 1, "AuthenticateOidcConfig": shown_oidc},
            forward_blue,
        ]);
        let described = json!({"ListenerArn": listener, "LoadBalancerArn": lb, "Port": 443,
            "Protocol": "HTTPS", "Certificates": [{"CertificateArn": cert}],
            "SslPolicy": ssl::DEFAULT_POLICY, "DefaultActions": default_actions,
            "MutualAuthentication": {"Mode": "passthrough"}});
        assert_eq!(created, json!({"Listeners": [described]}));
        assert_eq!(
            call("DescribeListeners", json!({"LoadBalancerArn": lb})),
            json!({"Listeners": [described]})
        );

        let redirect = json!({"Protocol": "HTTPS", "Port": "8443", "Host": "#{host}",
            "Path": "/#{path}", "Query": "#{query}", "StatusCode": "HTTP_302"});
        let rewrite = json!([{"Type": "host-header-rewrite",
            "HostHeaderRewriteConfig": {"Rewrites": [{"Regex": "^(.*)$", "Replace": "app"}]}}]);
        let weighted = json!({"TargetGroups": [{"TargetGroupArn": blue, "Weight": 80},
                {"TargetGroupArn": green, "Weight": 20}],
            "TargetGroupStickinessConfig": {"Enabled": true, "DurationSeconds": 60}});
        let rules = [
            json!({"Priority": 10, "Conditions": [
                    {"Field": "host-header", "HostHeaderConfig": {"Values": ["*.example.com"]}},
                    {"Field": "path-pattern", "Values": ["/old/*"]},
                    {"Field": "http-header",
                        "HttpHeaderConfig": {"HttpHeaderName": "X-Env", "Values": ["dev"]}},
                    {"Field": "http-request-method",
                        "HttpRequestMethodConfig": {"Values": ["GET"]}},
                    {"Field": "source-ip", "SourceIpConfig": {"Values": ["10.0.0.0/8"]}}],
                "Actions": [{"Type": "redirect", "RedirectConfig": redirect}]}),
            json!({"Priority": 20, "Transforms": rewrite, "Conditions": [
                    {"Field": "query-string", "QueryStringConfig": {"Values": [
                        {"Key": "v", "Value": "2"}, {"Value": "beta"}]}}],
                "Actions": [{"Type": "fixed-response", "FixedResponseConfig":
                    {"StatusCode": "503", "ContentType": "text/plain", "MessageBody": "later"}}]}),
            json!({"Priority": 30,
                "Conditions": [{"Field": "path-pattern",
                    "PathPatternConfig": {"Values": ["/w/*"]}}],
                "Actions": [{"Type": "forward", "ForwardConfig": weighted}]}),
        ];
        let arns: Vec<Value> = rules
            .iter()
            .map(|r| {
                let mut input = r.clone();
                input["ListenerArn"] = listener.clone();
                call("CreateRule", input)["Rules"][0]["RuleArn"].clone()
            })
            .collect();
        let expected = json!({"Rules": [
            {"RuleArn": arns[0], "Priority": "10", "IsDefault": false, "Conditions": [
                {"Field": "host-header", "Values": ["*.example.com"],
                    "HostHeaderConfig": {"Values": ["*.example.com"]}},
                {"Field": "path-pattern", "Values": ["/old/*"],
                    "PathPatternConfig": {"Values": ["/old/*"]}},
                {"Field": "http-header",
                    "HttpHeaderConfig": {"HttpHeaderName": "X-Env", "Values": ["dev"]}},
                {"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": ["GET"]}},
                {"Field": "source-ip", "SourceIpConfig": {"Values": ["10.0.0.0/8"]}}],
             "Actions": [{"Type": "redirect", "RedirectConfig": redirect}]},
            {"RuleArn": arns[1], "Priority": "20", "IsDefault": false, "Transforms": rewrite,
             "Conditions": [{"Field": "query-string", "QueryStringConfig": {"Values": [
                    {"Key": "v", "Value": "2"}, {"Value": "beta"}]}}],
             "Actions": [{"Type": "fixed-response", "FixedResponseConfig":
                    {"StatusCode": "503", "ContentType": "text/plain", "MessageBody": "later"}}]},
            {"RuleArn": arns[2], "Priority": "30", "IsDefault": false, "Conditions": [
                {"Field": "path-pattern", "Values": ["/w/*"],
                    "PathPatternConfig": {"Values": ["/w/*"]}}],
             "Actions": [{"Type": "forward", "ForwardConfig": weighted}]},
            // The default rule's ARN is taken out below: it is made with the listener.
            {"RuleArn": null,
             "Priority": "default", "IsDefault": true, "Conditions": [],
             "Actions": default_actions},
        ]});
        let mut described = call("DescribeRules", json!({"ListenerArn": listener}));
        let default_arn = described["Rules"][3]["RuleArn"].take();
        assert!(default_arn
            .as_str()
            .unwrap()
            .contains(":listener-rule/app/web/"));
        assert_eq!(described, expected);

        let swapped = call(
            "SetRulePriorities",
            json!({"RulePriorities": [{"RuleArn": arns[0], "Priority": 30},
                {"RuleArn": arns[2], "Priority": 10}]}),
        );
        let priorities: Vec<&Value> = swapped["Rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| &r["Priority"])
            .collect();
        assert_eq!(priorities, ["30", "10"]);
        let reset = call(
            "ModifyRule",
            json!({"RuleArn": arns[1], "ResetTransforms": true}),
        );
        assert_eq!(reset["Rules"][0].get("Transforms"), None);
        assert_eq!(reset["Rules"][0]["Priority"], "20");
        let default = call(
            "ModifyRule",
            json!({"RuleArn": default_arn, "Actions": [{"Type": "forward", "TargetGroupArn": green}]}),
        );
        assert_eq!(default["Rules"][0]["IsDefault"], true);
        assert_eq!(default["Rules"][0]["Actions"][0]["TargetGroupArn"], green);
    }

    #[test]
    fn names() {
        assert!(check_name("Load balancer", "my-lb-1").is_ok());
        assert!(check_name("Load balancer", &"a".repeat(32)).is_ok());
        for bad in ["", "-a", "a-", "a_b", "a.b", &"a".repeat(33)] {
            let e = check_name("Load balancer", bad).unwrap_err();
            assert_eq!(e.code, "ValidationError", "{bad}");
        }
    }

    #[test]
    fn arns() {
        assert_eq!(
            resource_of("arn:aws:elasticloadbalancing:us-west-2:123456789012:loadbalancer/app/a/0123456789abcdef"),
            Some("loadbalancer/app/a/0123456789abcdef")
        );
        assert_eq!(resource_of("arn:aws:iam::123456789012:role/x"), None);
        assert_eq!(resource_of("nonsense"), None);
    }

    #[test]
    fn markers_page_through() {
        let items: Vec<String> = (0..5).map(|i| format!("i{i}")).collect();
        let (page, next) = paginate(items.clone(), &json!({"PageSize": 2}), |s| s.clone()).unwrap();
        assert_eq!(page, ["i0", "i1"]);
        let (page, next) = paginate(
            items.clone(),
            &json!({"PageSize": 2, "Marker": next.unwrap()}),
            |s| s.clone(),
        )
        .unwrap();
        assert_eq!(page, ["i2", "i3"]);
        let (page, next) = paginate(
            items,
            &json!({"PageSize": 2, "Marker": next.unwrap()}),
            |s| s.clone(),
        )
        .unwrap();
        assert_eq!(page, ["i4"]);
        assert!(next.is_none());
    }
}
