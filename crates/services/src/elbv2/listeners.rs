//! Listeners and their certificates: CreateListener, DescribeListeners, ModifyListener,
//! DeleteListener, DescribeListenerCertificates, AddListenerCertificates,
//! RemoveListenerCertificates.
//!
//! HTTPS and TLS listeners take exactly one default certificate, which must be an issued ACM
//! certificate of the account and region ([`crate::acm::certificate_usable`]); the load
//! balancer's ARN is listed in the certificate's `InUseBy` while any of its listeners uses it.

use super::actions::{self, Action, Place};
use super::loadbalancers::{self, LoadBalancer};
use super::{rules, ssl, Read};
use crate::tags::Tag;
use crate::Clock;
use crate::{input, Ctx};
use airlock_dto::elbv2 as dto;
use airlock_protocol::{ApiError, ApiResult, Output};
use airlock_store::{Scope, Tx};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Arc;
use time::OffsetDateTime;

/// Listeners per load balancer (AWS's default quota).
const QUOTA: usize = 50;
/// Certificates per listener, the default one included.
const CERT_QUOTA: usize = 25;
const ALPN: &[&str] = &[
    "HTTP1Only",
    "HTTP2Only",
    "HTTP2Optional",
    "HTTP2Preferred",
    "None",
];

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Listener {
    pub arn: String,
    pub lb_arn: String,
    pub protocol: String,
    pub port: i64,
    pub ssl_policy: Option<String>,
    /// The default certificate (HTTPS and TLS).
    pub certificate: Option<String>,
    /// Certificates added with AddListenerCertificates (served by SNI).
    pub extra_certificates: Vec<String>,
    pub default_actions: Vec<Action>,
    pub alpn_policy: Vec<String>,
    #[serde(default, deserialize_with = "crate::lenient")]
    pub mutual_authentication: Option<dto::MutualAuthenticationAttributes>,
    /// The listener's default rule (DescribeRules shows it with `IsDefault`).
    pub default_rule_arn: String,
    pub default_rule_tags: Vec<Tag>,
    /// Attributes changed from AWS's defaults (ModifyListenerAttributes).
    #[serde(default)]
    pub attributes: Vec<super::Attribute>,
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    pub tags: Vec<Tag>,
}

airlock_store::record!(Listener, "elbv2.listener", arn);

impl Listener {
    pub fn is_secure(&self) -> bool {
        matches!(self.protocol.as_str(), "HTTPS" | "TLS")
    }

    /// Every certificate the listener serves (default first).
    pub fn certificates(&self) -> Vec<String> {
        self.certificate
            .iter()
            .chain(&self.extra_certificates)
            .cloned()
            .collect()
    }

    /// The listener as AWS describes it.
    pub fn dto(&self) -> dto::Listener {
        dto::Listener {
            listener_arn: Some(self.arn.clone()),
            load_balancer_arn: Some(self.lb_arn.clone()),
            port: Some(self.port),
            protocol: Some(self.protocol.clone()),
            default_actions: Some(actions::actions_dto(&self.default_actions)),
            certificates: self.certificate.as_ref().map(|c| {
                vec![dto::Certificate {
                    certificate_arn: Some(c.clone()),
                    is_default: None,
                }]
            }),
            ssl_policy: self.ssl_policy.clone(),
            alpn_policy: (!self.alpn_policy.is_empty()).then(|| self.alpn_policy.clone()),
            mutual_authentication: self.mutual_authentication.clone(),
        }
    }
}

pub fn not_found() -> ApiError {
    ApiError::new("ListenerNotFound", "One or more listeners not found")
}

fn check_arn(arn: &str) -> ApiResult<()> {
    super::check_arn(arn, "listener/", "listener")
}

pub fn get<R: Read>(r: &R, scope: &Scope, arn: &str) -> ApiResult<Arc<Listener>> {
    check_arn(arn)?;
    r.get::<Listener>(scope, arn).ok_or_else(not_found)
}

/// Checks a listener protocol against the load balancer's type.
fn check_protocol(lb: &LoadBalancer, protocol: &str) -> ApiResult<()> {
    if matches!(protocol, "GENEVE" | "QUIC" | "TCP_QUIC") {
        return Err(ApiError::new(
            "UnsupportedProtocol",
            format!("Protocol '{protocol}' is not supported"),
        ));
    }
    let allowed: &[&str] = if lb.is_application() {
        &["HTTPS", "HTTP"]
    } else {
        &["TCP_UDP", "UDP", "TLS", "TCP"]
    };
    if allowed.contains(&protocol) {
        Ok(())
    } else {
        Err(super::validation(format!(
            "Listener protocol '{protocol}' must be one of '{}'",
            allowed.join(", ")
        )))
    }
}

/// The certificate ARNs of a `Certificates` list.
fn certificates_in(input: &Value) -> Vec<String> {
    input::list(input, "Certificates")
        .iter()
        .filter_map(|c| input::str(c, "CertificateArn").map(str::to_owned))
        .collect()
}

fn check_certificate(tx: &Tx<'_>, scope: &Scope, clock: Clock, arn: &str) -> ApiResult<()> {
    if crate::acm::certificate_usable(tx, scope, arn, clock) {
        Ok(())
    } else {
        Err(ApiError::new(
            "CertificateNotFound",
            format!("Certificate '{arn}' not found"),
        ))
    }
}

/// Keeps the `InUseBy` of certificates in step with the listeners of `lb_arn`: `before` is what
/// its listeners used before the transaction's changes.
pub fn sync_certificates(
    tx: &mut Tx<'_>,
    scope: &Scope,
    lb_arn: &str,
    before: &BTreeSet<String>,
) -> ApiResult<()> {
    let after = lb_certificates(tx, scope, lb_arn);
    for c in before.difference(&after) {
        crate::acm::set_in_use(tx, scope, c, lb_arn, false)?;
    }
    for c in after.difference(before) {
        crate::acm::set_in_use(tx, scope, c, lb_arn, true)?;
    }
    Ok(())
}

/// Every certificate the listeners of `lb_arn` use.
pub fn lb_certificates(tx: &Tx<'_>, scope: &Scope, lb_arn: &str) -> BTreeSet<String> {
    tx.list::<Listener>(scope)
        .iter()
        .filter(|l| l.lb_arn == lb_arn)
        .flat_map(|l| l.certificates())
        .collect()
}

/// The TLS settings of a request for a listener of `protocol`: (policy, default certificate).
fn tls_settings(
    tx: &Tx<'_>,
    scope: &Scope,
    clock: Clock,
    protocol: &str,
    certs: &[String],
    policy: Option<&str>,
    current: Option<(&Option<String>, &Option<String>)>,
) -> ApiResult<(Option<String>, Option<String>)> {
    let secure = matches!(protocol, "HTTPS" | "TLS");
    if !secure {
        if !certs.is_empty() {
            return Err(super::validation(format!(
                "Certificates cannot be specified for {protocol} listeners"
            )));
        }
        if policy.is_some() {
            return Err(super::validation(format!(
                "An SSL policy cannot be specified for {protocol} listeners"
            )));
        }
        return Ok((None, None));
    }
    if certs.len() > 1 {
        return Err(ApiError::new(
            "TooManyCertificates",
            "A listener can have only one default certificate",
        ));
    }
    let cert = match (certs.first(), current) {
        (Some(c), _) => Some(c.clone()),
        (None, Some((c, _))) => c.clone(),
        (None, None) => None,
    };
    let Some(cert) = cert else {
        return Err(super::validation(format!(
            "A certificate must be specified for {protocol} listeners"
        )));
    };
    if !certs.is_empty() {
        check_certificate(tx, scope, clock, &cert)?;
    }
    let policy = match (policy, current) {
        (Some(p), _) => p.to_owned(),
        (None, Some((_, Some(p)))) => p.clone(),
        _ => ssl::DEFAULT_POLICY.to_owned(),
    };
    if !ssl::exists(&policy) {
        return Err(ssl::not_found(&policy));
    }
    Ok((Some(policy), Some(cert)))
}

fn alpn_in(input: &Value, protocol: &str) -> ApiResult<Option<Vec<String>>> {
    let alpn = input::strs(input, "AlpnPolicy");
    if input.get("AlpnPolicy").is_none() {
        return Ok(None);
    }
    if protocol != "TLS" {
        return Err(super::validation(
            "An ALPN policy can only be specified for TLS listeners",
        ));
    }
    if alpn.len() > 1 {
        return Err(super::validation("You can specify one ALPN policy"));
    }
    for a in &alpn {
        if !ALPN.contains(&a.as_str()) {
            return Err(ApiError::new(
                "ALPNPolicyNotFound",
                format!("ALPN policy '{a}' not found"),
            ));
        }
    }
    Ok(Some(alpn))
}

fn mutual_in(
    input: &Value,
    protocol: &str,
) -> ApiResult<Option<dto::MutualAuthenticationAttributes>> {
    let Some(m) = input.get("MutualAuthentication") else {
        return Ok(None);
    };
    let m: dto::MutualAuthenticationAttributes = input::typed(m)?;
    if protocol != "HTTPS" {
        return Err(super::validation(
            "Mutual authentication can only be configured for HTTPS listeners",
        ));
    }
    match m.mode.as_deref().unwrap_or("off") {
        "off" | "passthrough" => Ok(Some(m)),
        "verify" => Err(ApiError::new(
            "TrustStoreNotFound",
            "Airlock does not emulate trust stores",
        )),
        other => Err(super::validation(format!(
            "Mutual authentication mode '{other}' must be one of 'off, passthrough, verify'"
        ))),
    }
}

pub fn create_listener(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let lb_arn = input::req(input, "LoadBalancerArn")?;
    let tags = super::tags_input(input)?;
    let certs = certificates_in(input);
    let scope = ctx.scope();
    let l = ctx.store.write(|tx| {
        let lb = loadbalancers::get(tx, &scope, lb_arn)?;
        let Some(protocol) = input::str(input, "Protocol") else {
            return Err(super::validation("A listener protocol must be specified"));
        };
        let Some(port) = input::int(input, "Port") else {
            return Err(super::validation("A listener port must be specified"));
        };
        check_protocol(&lb, protocol)?;
        let (ssl_policy, certificate) = tls_settings(
            tx,
            &scope,
            ctx.clock,
            protocol,
            &certs,
            input::str(input, "SslPolicy"),
            None,
        )?;
        let alpn = alpn_in(input, protocol)?.unwrap_or_default();
        let mutual = mutual_in(input, protocol)?;
        let place = Place { lb: &lb, protocol };
        let default_actions = actions::parse(tx, &scope, &place, input::list(input, "DefaultActions"))?;
        let existing: Vec<Arc<Listener>> = tx
            .list::<Listener>(&scope)
            .into_iter()
            .filter(|l| l.lb_arn == lb.arn)
            .collect();
        if let Some(same_port) = existing.iter().find(|l| l.port == port) {
            let same = same_port.protocol == protocol
                && same_port.default_actions == default_actions
                && same_port.certificate == certificate
                && same_port.ssl_policy == ssl_policy;
            if same {
                return Ok((**same_port).clone());
            }
            return Err(ApiError::new(
                "DuplicateListener",
                format!("A listener already exists on this port for this load balancer '{}'", lb.arn),
            ));
        }
        if existing.len() >= QUOTA {
            return Err(ApiError::new(
                "TooManyListeners",
                format!("You've reached the limit on the number of listeners per load balancer ({QUOTA})"),
            ));
        }
        let before = lb_certificates(tx, &scope, &lb.arn);
        let hex = super::hex16();
        let arn = super::arn(ctx, &format!("listener/{}/{hex}", lb.path()));
        let l = Listener {
            default_rule_arn: default_rule_arn(&arn),
            arn,
            lb_arn: lb.arn.clone(),
            protocol: protocol.to_owned(),
            port,
            ssl_policy,
            certificate,
            extra_certificates: Vec::new(),
            default_actions,
            alpn_policy: alpn,
            mutual_authentication: mutual,
            default_rule_tags: Vec::new(),
            attributes: Vec::new(),
            created: ctx.clock.now(),
            tags: tags.clone(),
        };
        tx.put(&scope, l.clone())?;
        sync_certificates(tx, &scope, &lb.arn, &before)?;
        Ok::<_, ApiError>(l)
    })?;
    Ok(Output::new(dto::CreateListenerOutput {
        listeners: Some(vec![l.dto()]),
    }))
}

/// `…:listener-rule/app/<lb>/<lb id>/<listener id>/<16 hex>` for listener `arn`.
pub fn default_rule_arn(listener_arn: &str) -> String {
    format!(
        "{}/{}",
        listener_arn.replacen(":listener/", ":listener-rule/", 1),
        super::hex16()
    )
}

pub fn describe_listeners(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let lb_arn = input::str(input, "LoadBalancerArn");
    let arns = input::strs(input, "ListenerArns");
    super::parent_or_arns(
        lb_arn,
        &arns,
        "You must specify either listener ARNs or a load balancer ARN",
        "Listener ARNs and a load balancer ARN cannot be specified at the same time",
    )?;
    for a in &arns {
        check_arn(a)?;
    }
    let scope = ctx.scope();
    let all = ctx.store.read(|v| {
        if let Some(lb) = lb_arn {
            loadbalancers::get(v, &scope, lb)?;
        }
        Ok::<_, ApiError>(v.list::<Listener>(&scope))
    })?;
    let mut out: Vec<Arc<Listener>> = Vec::new();
    if let Some(lb) = lb_arn {
        out = all.into_iter().filter(|l| l.lb_arn == lb).collect();
        out.sort_by_key(|l| l.port);
    } else {
        for a in &arns {
            let l = all.iter().find(|l| &l.arn == a).ok_or_else(not_found)?;
            if !out.iter().any(|x| x.arn == l.arn) {
                out.push(l.clone());
            }
        }
    }
    let (page, next) = super::paginate(out, input, |l| l.arn.clone())?;
    Ok(Output::new(dto::DescribeListenersOutput {
        listeners: Some(page.iter().map(|l| l.dto()).collect()),
        next_marker: next,
    }))
}

pub fn modify_listener(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let arn = input::req(input, "ListenerArn")?;
    let certs = certificates_in(input);
    let scope = ctx.scope();
    let l = ctx.store.write(|tx| {
        let mut l = (*get(tx, &scope, arn)?).clone();
        let lb = loadbalancers::get(tx, &scope, &l.lb_arn)?;
        let protocol = input::str(input, "Protocol")
            .unwrap_or(&l.protocol)
            .to_owned();
        check_protocol(&lb, &protocol)?;
        if let Some(port) = input::int(input, "Port") {
            if port != l.port
                && tx
                    .list::<Listener>(&scope)
                    .iter()
                    .any(|o| o.lb_arn == l.lb_arn && o.port == port && o.arn != l.arn)
            {
                return Err(ApiError::new(
                    "DuplicateListener",
                    format!(
                        "A listener already exists on this port for this load balancer '{}'",
                        l.lb_arn
                    ),
                ));
            }
            l.port = port;
        }
        let was_secure = l.is_secure();
        let current = was_secure.then_some((&l.certificate, &l.ssl_policy));
        let (policy, cert) = tls_settings(
            tx,
            &scope,
            ctx.clock,
            &protocol,
            &certs,
            input::str(input, "SslPolicy"),
            current,
        )?;
        l.ssl_policy = policy;
        l.certificate = cert;
        if !matches!(protocol.as_str(), "HTTPS" | "TLS") {
            l.extra_certificates.clear();
        }
        match alpn_in(input, &protocol)? {
            Some(a) => l.alpn_policy = a,
            None if protocol != "TLS" => l.alpn_policy.clear(),
            None => {}
        }
        match mutual_in(input, &protocol)? {
            Some(m) => l.mutual_authentication = Some(m),
            None if protocol != "HTTPS" => l.mutual_authentication = None,
            None => {}
        }
        let place = Place {
            lb: &lb,
            protocol: &protocol,
        };
        if input.get("DefaultActions").is_some() {
            l.default_actions =
                actions::parse(tx, &scope, &place, input::list(input, "DefaultActions"))?;
        } else if protocol != l.protocol {
            // The same actions (an OIDC client secret kept), checked again against the new
            // protocol.
            let again: Vec<Value> = l
                .default_actions
                .iter()
                .map(|a| serde_json::to_value(a.given()))
                .collect::<Result<_, _>>()
                .map_err(|e| ApiError::internal(e.to_string()))?;
            l.default_actions = actions::parse(tx, &scope, &place, &again)?;
        }
        l.protocol = protocol;
        let before = lb_certificates(tx, &scope, &l.lb_arn);
        tx.put(&scope, l.clone())?;
        sync_certificates(tx, &scope, &l.lb_arn, &before)?;
        Ok::<_, ApiError>(l)
    })?;
    Ok(Output::new(dto::ModifyListenerOutput {
        listeners: Some(vec![l.dto()]),
    }))
}

/// Removes a listener with its rules (inside `tx`), releasing its certificates.
pub fn delete_in(tx: &mut Tx<'_>, scope: &Scope, l: &Listener) -> ApiResult<()> {
    let before = lb_certificates(tx, scope, &l.lb_arn);
    for r in tx.list::<rules::Rule>(scope) {
        if r.listener_arn == l.arn {
            tx.delete::<rules::Rule>(scope, &r.arn);
        }
    }
    tx.delete::<Listener>(scope, &l.arn);
    sync_certificates(tx, scope, &l.lb_arn, &before)
}

pub fn delete_listener(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let arn = input::req(input, "ListenerArn")?;
    let scope = ctx.scope();
    ctx.store.write(|tx| {
        let l = get(tx, &scope, arn)?;
        delete_in(tx, &scope, &l)
    })?;
    Ok(Output::new(dto::DeleteListenerOutput {}))
}

pub fn describe_listener_certificates(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let arn = input::req(input, "ListenerArn")?;
    let scope = ctx.scope();
    let l = ctx.store.read(|v| get(v, &scope, arn))?;
    let mut certs: Vec<(String, bool)> = Vec::new();
    if let Some(c) = &l.certificate {
        certs.push((c.clone(), true));
    }
    certs.extend(l.extra_certificates.iter().map(|c| (c.clone(), false)));
    let (page, next) = super::paginate(certs, input, |(c, _)| c.clone())?;
    Ok(Output::new(dto::DescribeListenerCertificatesOutput {
        certificates: Some(page.into_iter().map(|(c, d)| certificate(c, d)).collect()),
        next_marker: next,
    }))
}

pub fn add_listener_certificates(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let arn = input::req(input, "ListenerArn")?;
    let certs = certificates_in(input);
    let scope = ctx.scope();
    let added = ctx.store.write(|tx| {
        let mut l = (*get(tx, &scope, arn)?).clone();
        if !l.is_secure() {
            return Err(super::validation(format!(
                "Certificates cannot be added to {} listeners",
                l.protocol
            )));
        }
        for c in &certs {
            check_certificate(tx, &scope, ctx.clock, c)?;
        }
        for c in &certs {
            if l.certificate.as_ref() != Some(c) && !l.extra_certificates.contains(c) {
                l.extra_certificates.push(c.clone());
            }
        }
        if l.certificates().len() > CERT_QUOTA {
            return Err(ApiError::new(
                "TooManyCertificates",
                format!("A listener can have at most {CERT_QUOTA} certificates"),
            ));
        }
        let before = lb_certificates(tx, &scope, &l.lb_arn);
        tx.put(&scope, l.clone())?;
        sync_certificates(tx, &scope, &l.lb_arn, &before)?;
        Ok::<_, ApiError>(certs.clone())
    })?;
    Ok(Output::new(dto::AddListenerCertificatesOutput {
        certificates: Some(added.into_iter().map(|c| certificate(c, false)).collect()),
    }))
}

/// A listener's certificate as outputs show it (`default`: the listener's own).
fn certificate(arn: String, default: bool) -> dto::Certificate {
    dto::Certificate {
        certificate_arn: Some(arn),
        is_default: Some(default),
    }
}

pub fn remove_listener_certificates(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let arn = input::req(input, "ListenerArn")?;
    let certs = certificates_in(input);
    let scope = ctx.scope();
    ctx.store.write(|tx| {
        let mut l = (*get(tx, &scope, arn)?).clone();
        for c in &certs {
            if l.certificate.as_ref() == Some(c) {
                return Err(ApiError::new(
                    "OperationNotPermitted",
                    "The default certificate of a listener cannot be removed",
                ));
            }
        }
        l.extra_certificates.retain(|c| !certs.contains(c));
        let before = lb_certificates(tx, &scope, &l.lb_arn);
        tx.put(&scope, l.clone())?;
        sync_certificates(tx, &scope, &l.lb_arn, &before)?;
        Ok::<_, ApiError>(())
    })?;
    Ok(Output::new(dto::RemoveListenerCertificatesOutput {}))
}
