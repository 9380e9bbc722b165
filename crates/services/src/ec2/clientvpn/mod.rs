//! AWS Client VPN's control plane: endpoints (`mod.rs`), their target networks and security
//! groups (`network.rs`), authorization rules and routes (`rules.rs`), the client
//! configuration file (`export.rs`), the endpoint's name in DNS (`dns.rs`), what its VPN
//! serves and lets through (`dataplane.rs`) and its clients' connections (`connections.rs`).
//!
//! An endpoint is one record that holds its associations, rules and routes, so every change to
//! an endpoint is one record written. Time-driven states are derived at read time from the
//! instants stored ([`crate::Clock`]): an association is `associating` for
//! [`network::ASSOCIATE_SECS`], then `associated`; the endpoint is `available` while one of
//! its associations is associated, `pending-associate` otherwise. A disassociated target
//! network is kept, `disassociating`, for [`network::DISASSOCIATE_SECS`] and dropped at the
//! endpoint's next write.

pub mod connections;
pub mod dataplane;
pub mod dns;
pub mod export;
pub mod network;
pub mod rules;

use super::common::{self, one, Field, Filterable, Tag};
use super::{cidr::Cidr, sg, vpc};
use crate::input::{self, typed};
use crate::{acm, ids, Clock, Ctx};
use airlock_dto::ec2 as dto;
use airlock_protocol::{ApiError, ApiResult, Output};
use airlock_store::{Read, Scope, Tx};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;
use time::OffsetDateTime;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClientVpnEndpoint {
    /// `cvpn-endpoint-` and 17 hex digits.
    pub id: String,
    pub owner: String,
    pub region: String,
    pub description: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    pub client_cidr: String,
    pub server_certificate_arn: String,
    pub authentication: Vec<Authentication>,
    pub connection_log: ConnectionLog,
    pub dns_servers: Vec<String>,
    pub split_tunnel: bool,
    /// `udp` or `tcp`.
    pub transport: String,
    /// 443 or 1194.
    pub vpn_port: i64,
    /// Set by the request, or by the first association.
    pub vpc_id: Option<String>,
    pub security_group_ids: Vec<String>,
    pub session_timeout_hours: i64,
    pub disconnect_on_session_timeout: bool,
    pub banner: Option<String>,
    pub banner_enabled: bool,
    pub client_connect_enabled: bool,
    pub client_connect_lambda: Option<String>,
    /// `enabled` or `disabled`.
    pub self_service_portal: String,
    pub route_enforcement: bool,
    pub client_token: Option<String>,
    pub tags: Vec<Tag>,
    pub associations: Vec<network::Association>,
    pub rules: Vec<rules::Rule>,
    pub routes: Vec<rules::Route>,
}

/// One of the endpoint's authentication options, as given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Authentication {
    /// `certificate-authentication`, `directory-service-authentication` or
    /// `federated-authentication`.
    pub kind: String,
    /// The client root certificate chain (certificate authentication).
    pub root_chain_arn: Option<String>,
    pub directory_id: Option<String>,
    pub saml_provider_arn: Option<String>,
    pub self_service_saml_provider_arn: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConnectionLog {
    pub enabled: bool,
    pub log_group: Option<String>,
    pub log_stream: Option<String>,
}

// Found by its id, which its DNS name carries.
airlock_store::record!(ClientVpnEndpoint, "ec2.client_vpn_endpoint", id, name: id);

impl common::Idempotent for ClientVpnEndpoint {
    fn client_token(&self) -> Option<&str> {
        self.client_token.as_deref()
    }
}

/// AWS's endpoint DNS names are under this label, then the region and `amazonaws.com`.
pub const DNS_BASE: &str = "prod.clientvpn";

impl ClientVpnEndpoint {
    /// `pending-associate` until one of its target networks is associated, then `available`.
    pub fn status(&self, clock: Clock) -> &'static str {
        if self
            .associations
            .iter()
            .any(|a| a.status(clock) == "associated")
        {
            "available"
        } else {
            "pending-associate"
        }
    }

    /// `cvpn-endpoint-….prod.clientvpn.<region>.amazonaws.com`: what a client prefixes with a
    /// random label (the exported configuration's `remote`).
    pub fn host(&self) -> String {
        let suffix = crate::partition::dns_suffix(&self.region);
        format!("{}.{DNS_BASE}.{}.{suffix}", self.id, self.region)
    }

    /// The certificate chain that authenticates clients, if certificate authentication is on.
    pub fn client_root_chain(&self) -> Option<&str> {
        self.authentication
            .iter()
            .find(|a| a.kind == "certificate-authentication")
            .and_then(|a| a.root_chain_arn.as_deref())
    }

    fn out(&self, clock: Clock) -> dto::ClientVpnEndpoint {
        let auth = self
            .authentication
            .iter()
            .map(|a| dto::ClientVpnAuthentication {
                r#type: Some(a.kind.clone()),
                mutual_authentication: a.root_chain_arn.clone().map(|c| {
                    dto::CertificateAuthentication {
                        client_root_certificate_chain: Some(c),
                    }
                }),
                active_directory: a.directory_id.clone().map(|d| {
                    dto::DirectoryServiceAuthentication {
                        directory_id: Some(d),
                    }
                }),
                federated_authentication: a.saml_provider_arn.clone().map(|s| {
                    dto::FederatedAuthentication {
                        saml_provider_arn: Some(s),
                        self_service_saml_provider_arn: a.self_service_saml_provider_arn.clone(),
                    }
                }),
            })
            .collect();
        let portal = self.self_service_portal == "enabled";
        dto::ClientVpnEndpoint {
            client_vpn_endpoint_id: Some(self.id.clone()),
            description: Some(self.description.clone().unwrap_or_default()),
            status: Some(dto::ClientVpnEndpointStatus {
                code: Some(self.status(clock).into()),
                message: None,
            }),
            creation_time: Some(creation_time(self.created)),
            dns_name: Some(format!("*.{}", self.host())),
            client_cidr_block: Some(self.client_cidr.clone()),
            dns_servers: (!self.dns_servers.is_empty()).then(|| self.dns_servers.clone()),
            split_tunnel: Some(self.split_tunnel),
            vpn_protocol: Some("openvpn".into()),
            transport_protocol: Some(self.transport.clone()),
            vpn_port: Some(self.vpn_port),
            server_certificate_arn: Some(self.server_certificate_arn.clone()),
            authentication_options: Some(auth),
            connection_log_options: Some(dto::ConnectionLogResponseOptions {
                enabled: Some(self.connection_log.enabled),
                cloudwatch_log_group: self.connection_log.log_group.clone(),
                cloudwatch_log_stream: self.connection_log.log_stream.clone(),
                include_authorization_policy_context: None,
            }),
            tags: Some(common::tags_dto(&self.tags)),
            security_group_ids: Some(self.security_group_ids.clone()),
            vpc_id: self.vpc_id.clone(),
            self_service_portal_url: portal.then(|| {
                format!(
                    "https://self-service.clientvpn.amazonaws.com/endpoints/{}",
                    self.id
                )
            }),
            client_connect_options: Some(dto::ClientConnectResponseOptions {
                enabled: Some(self.client_connect_enabled),
                lambda_function_arn: self.client_connect_lambda.clone(),
                status: Some(dto::ClientVpnEndpointAttributeStatus {
                    code: Some("applied".into()),
                    message: None,
                }),
            }),
            session_timeout_hours: Some(self.session_timeout_hours),
            client_login_banner_options: Some(dto::ClientLoginBannerResponseOptions {
                enabled: Some(self.banner_enabled),
                banner_text: self.banner.clone(),
            }),
            client_route_enforcement_options: Some(dto::ClientRouteEnforcementResponseOptions {
                enforced: Some(self.route_enforcement),
            }),
            disconnect_on_session_timeout: Some(self.disconnect_on_session_timeout),
            endpoint_ip_address_type: Some("ipv4".into()),
            traffic_ip_address_type: Some("ipv4".into()),
            ..Default::default()
        }
    }
}

/// Client VPN's time format: ISO 8601 without fractions or zone (`2019-07-08T11:37:27`).
fn creation_time(t: OffsetDateTime) -> String {
    crate::iso(t)[..19].to_owned()
}

impl Filterable for ClientVpnEndpoint {
    fn field(&self, name: &str) -> Field {
        match name {
            "endpoint-id" => one(&self.id),
            "transport-protocol" => one(&self.transport),
            _ => None,
        }
    }
    fn tags(&self) -> &[Tag] {
        &self.tags
    }
}

pub fn not_found(id: &str) -> ApiError {
    ApiError::new(
        "InvalidClientVpnEndpointId.NotFound",
        format!("Endpoint {id} does not exist"),
    )
}

pub fn get<R: Read>(r: &R, scope: &Scope, id: &str) -> ApiResult<Arc<ClientVpnEndpoint>> {
    r.get::<ClientVpnEndpoint>(scope, id)
        .ok_or_else(|| not_found(id))
}

/// Reads endpoint `id`, lets `f` change it, drops target networks whose disassociation is
/// over, and writes it back: every change to an endpoint is one record written.
pub fn edit<T>(
    ctx: &Ctx<'_>,
    id: &str,
    f: impl FnOnce(&mut Tx<'_>, &mut ClientVpnEndpoint) -> ApiResult<T>,
) -> ApiResult<T> {
    let scope = ctx.scope();
    ctx.store.write(|tx| {
        let mut e = (*get(tx, &scope, id)?).clone();
        let out = f(tx, &mut e)?;
        e.associations.retain(|a| !a.gone(ctx.clock));
        tx.put(&scope, e)?;
        Ok(out)
    })
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::invalid_parameter_value(message)
}

/// A certificate an endpoint may name: an issued (or imported) certificate of ACM in the
/// endpoint's account and region, with a domain name (AWS's check) and an RSA key of 1,024 or
/// 2,048 bits (the only keys Client VPN takes).
pub fn check_certificate(tx: &Tx<'_>, scope: &Scope, arn: &str, clock: Clock) -> ApiResult<()> {
    let cert = acm::find_in(tx, scope, arn).ok_or_else(|| {
        invalid(format!(
            "Certificate {arn} does not exist in ACM in {}",
            scope.region
        ))
    })?;
    let info = match (cert.status(clock), &cert.material) {
        ("ISSUED", Some(m)) => &m.info,
        (status, _) => {
            return Err(invalid(format!(
                "Certificate {arn} is not issued (its status is {status})"
            )))
        }
    };
    if info.domain_name.is_empty() {
        return Err(invalid(format!("Certificate {arn} does not have a domain")));
    }
    if !matches!(info.key_algorithm.as_str(), "RSA_1024" | "RSA_2048") {
        return Err(invalid(format!(
            "Certificate {arn} has a {} key; Client VPN supports only RSA keys of 1024 and 2048 bits",
            info.key_algorithm
        )));
    }
    Ok(())
}

fn authentication(
    tx: &Tx<'_>,
    scope: &Scope,
    clock: Clock,
    req: &[dto::ClientVpnAuthenticationRequest],
) -> ApiResult<Vec<Authentication>> {
    if req.is_empty() || req.len() > 2 {
        return Err(invalid(
            "You must specify one or two authentication options (at most one user-based option and one certificate option)",
        ));
    }
    let mut out: Vec<Authentication> = Vec::new();
    for a in req {
        let kind = a.r#type.clone().unwrap_or_default();
        let mut auth = Authentication {
            kind: kind.clone(),
            root_chain_arn: None,
            directory_id: None,
            saml_provider_arn: None,
            self_service_saml_provider_arn: None,
        };
        match kind.as_str() {
            "certificate-authentication" => {
                let arn = a
                    .mutual_authentication
                    .as_ref()
                    .and_then(|m| m.client_root_certificate_chain_arn.clone())
                    .ok_or_else(|| {
                        invalid("Certificate authentication requires the ClientRootCertificateChainArn")
                    })?;
                check_certificate(tx, scope, &arn, clock)?;
                auth.root_chain_arn = Some(arn);
            }
            "directory-service-authentication" => {
                auth.directory_id = Some(
                    a.active_directory
                        .as_ref()
                        .and_then(|d| d.directory_id.clone())
                        .ok_or_else(|| {
                            invalid("Directory service authentication requires the DirectoryId")
                        })?,
                );
            }
            "federated-authentication" => {
                let f = a.federated_authentication.as_ref();
                auth.saml_provider_arn = Some(
                    f.and_then(|f| f.saml_provider_arn.clone())
                        .ok_or_else(|| {
                            invalid("Federated authentication requires the SAMLProviderArn")
                        })?,
                );
                auth.self_service_saml_provider_arn =
                    f.and_then(|f| f.self_service_saml_provider_arn.clone());
            }
            other => {
                return Err(invalid(format!(
                    "Value ({other}) for parameter authenticationOptions.type is invalid. Valid values are certificate-authentication, directory-service-authentication and federated-authentication"
                )))
            }
        }
        out.push(auth);
    }
    if let [a, b] = out.as_slice() {
        if a.kind == b.kind || !out.iter().any(|x| x.kind == "certificate-authentication") {
            return Err(invalid(
                "Two authentication options must be one user-based option (directory service or federated) and certificate authentication",
            ));
        }
    }
    Ok(out)
}

fn check_port(port: i64) -> ApiResult<()> {
    if port == 443 || port == 1194 {
        Ok(())
    } else {
        Err(invalid(format!(
            "Value ({port}) for parameter vpnPort is invalid. Valid values are 443 and 1194"
        )))
    }
}

fn check_session_timeout(hours: i64) -> ApiResult<()> {
    if [8, 10, 12, 24].contains(&hours) {
        Ok(())
    } else {
        Err(invalid(format!(
            "Value ({hours}) for parameter sessionTimeoutHours is invalid. Valid values are 8, 10, 12 and 24"
        )))
    }
}

fn check_dns_servers(servers: &[String]) -> ApiResult<()> {
    if servers.len() > 2 {
        return Err(invalid("You can specify at most 2 DNS servers"));
    }
    for s in servers {
        if s.parse::<std::net::Ipv4Addr>().is_err() {
            return Err(invalid(format!(
                "Value ({s}) for parameter dnsServers is invalid. The value must be an IPv4 address"
            )));
        }
    }
    Ok(())
}

fn connection_log(o: &dto::ConnectionLogOptions) -> ApiResult<ConnectionLog> {
    let enabled = o.enabled.unwrap_or(false);
    if enabled && o.cloudwatch_log_group.is_none() {
        return Err(invalid(
            "A CloudWatch Logs log group is required when connection logging is enabled",
        ));
    }
    Ok(ConnectionLog {
        enabled,
        log_group: o.cloudwatch_log_group.clone().filter(|_| enabled),
        log_stream: o.cloudwatch_log_stream.clone().filter(|_| enabled),
    })
}

fn check_banner(o: &dto::ClientLoginBannerOptions) -> ApiResult<()> {
    if o.banner_text
        .as_deref()
        .is_some_and(|t| t.chars().count() > 1400)
    {
        return Err(invalid(
            "The login banner text can be at most 1400 characters",
        ));
    }
    if o.enabled == Some(true) && o.banner_text.as_deref().unwrap_or("").is_empty() {
        return Err(invalid(
            "The login banner text is required when the banner is enabled",
        ));
    }
    Ok(())
}

/// The groups an endpoint in `vpc_id` uses: those given (each in that VPC), or the VPC's
/// default group.
fn groups_in(tx: &Tx<'_>, scope: &Scope, vpc_id: &str, ids: &[String]) -> ApiResult<Vec<String>> {
    if ids.len() > 5 {
        return Err(invalid("You can specify at most 5 security groups"));
    }
    for id in ids {
        let g = sg::get(tx, scope, id)?;
        if g.vpc_id != vpc_id {
            return Err(invalid(format!(
                "Security group {id} does not belong to VPC {vpc_id}"
            )));
        }
    }
    if ids.is_empty() {
        return Ok(sg::default_of(tx, scope, vpc_id)
            .map(|g| vec![g.id.clone()])
            .unwrap_or_default());
    }
    Ok(ids.to_vec())
}

pub fn create_client_vpn_endpoint(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::CreateClientVpnEndpointRequest = typed(input)?;
    let cidr_text = input::given(&req.client_cidr_block, "ClientCidrBlock")?;
    let client_cidr = Cidr::parse(cidr_text).ok_or_else(|| {
        invalid(format!(
            "Value ({cidr_text}) for parameter clientCidrBlock is invalid. This is not a valid CIDR block."
        ))
    })?;
    if !(12..=22).contains(&client_cidr.prefix) {
        return Err(invalid(format!(
            "Value ({cidr_text}) for parameter clientCidrBlock is invalid. The CIDR block must be between /12 and /22."
        )));
    }
    let transport = req
        .transport_protocol
        .clone()
        .unwrap_or_else(|| "udp".into());
    if transport != "udp" && transport != "tcp" {
        return Err(invalid(format!(
            "Value ({transport}) for parameter transportProtocol is invalid. Valid values are udp and tcp"
        )));
    }
    let vpn_port = req.vpn_port.unwrap_or(443);
    check_port(vpn_port)?;
    let session_timeout_hours = req.session_timeout_hours.unwrap_or(24);
    check_session_timeout(session_timeout_hours)?;
    let dns_servers = req.dns_servers.clone().unwrap_or_default();
    check_dns_servers(&dns_servers)?;
    let connection_log = connection_log(&req.connection_log_options)?;
    let banner = req.client_login_banner_options.clone().unwrap_or_default();
    check_banner(&banner)?;
    let portal = req
        .self_service_portal
        .clone()
        .unwrap_or_else(|| "disabled".into());
    if portal != "enabled" && portal != "disabled" {
        return Err(invalid(format!(
            "Value ({portal}) for parameter selfServicePortal is invalid. Valid values are enabled and disabled"
        )));
    }
    let groups_given = req.security_group_ids.clone().unwrap_or_default();
    if !groups_given.is_empty() && req.vpc_id.is_none() {
        return Err(invalid(
            "Security Groups cannot be specified without specifying Vpc Id",
        ));
    }
    if let Some(d) = &req.description {
        if d.chars().count() > 255 {
            return Err(invalid("The description can be at most 255 characters"));
        }
    }
    let tags = common::tags_from_specs(input, "client-vpn-endpoint")?;
    let connect = req.client_connect_options.clone().unwrap_or_default();
    let scope = ctx.scope();
    let e = ctx.store.write(|tx| {
        if let Some(same) =
            common::made_with_token::<ClientVpnEndpoint>(tx, &scope, req.client_token.as_deref())
        {
            return Ok((*same).clone());
        }
        check_certificate(tx, &scope, &req.server_certificate_arn, ctx.clock)?;
        let authentication = authentication(tx, &scope, ctx.clock, &req.authentication_options)?;
        if portal == "enabled"
            && !authentication
                .iter()
                .any(|a| a.kind == "federated-authentication")
        {
            return Err(invalid(
                "The self-service portal can only be enabled with federated authentication",
            ));
        }
        let security_group_ids = match &req.vpc_id {
            Some(v) => {
                vpc::get_vpc(tx, &scope, v)?;
                groups_in(tx, &scope, v, &groups_given)?
            }
            None => Vec::new(),
        };
        let e = ClientVpnEndpoint {
            id: ids::resource_id("cvpn-endpoint"),
            owner: ctx.account().to_owned(),
            region: ctx.region.clone(),
            description: req.description.clone(),
            created: ctx.clock.now(),
            client_cidr: cidr_text.to_owned(),
            server_certificate_arn: req.server_certificate_arn.clone(),
            authentication,
            connection_log,
            dns_servers,
            split_tunnel: req.split_tunnel.unwrap_or(false),
            transport,
            vpn_port,
            vpc_id: req.vpc_id.clone(),
            security_group_ids,
            session_timeout_hours,
            disconnect_on_session_timeout: req.disconnect_on_session_timeout.unwrap_or(true),
            banner: banner.banner_text.clone(),
            banner_enabled: banner.enabled.unwrap_or(false),
            client_connect_enabled: connect.enabled.unwrap_or(false),
            client_connect_lambda: connect.lambda_function_arn.clone(),
            self_service_portal: portal,
            route_enforcement: req
                .client_route_enforcement_options
                .as_ref()
                .and_then(|o| o.enforced)
                .unwrap_or(false),
            client_token: req.client_token.clone(),
            tags,
            associations: Vec::new(),
            rules: Vec::new(),
            routes: Vec::new(),
        };
        tx.put(&scope, e.clone())?;
        Ok::<_, ApiError>(e)
    })?;
    Ok(Output::new(dto::CreateClientVpnEndpointResult {
        client_vpn_endpoint_id: Some(e.id.clone()),
        status: Some(dto::ClientVpnEndpointStatus {
            code: Some(e.status(ctx.clock).into()),
            message: None,
        }),
        dns_name: Some(e.host()),
    }))
}

pub fn describe_client_vpn_endpoints(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::DescribeClientVpnEndpointsRequest = typed(input)?;
    let ids = req.client_vpn_endpoint_ids.unwrap_or_default();
    let scope = ctx.scope();
    let mut all = ctx.store.read(|v| v.list::<ClientVpnEndpoint>(&scope));
    all.sort_by(|a, b| a.id.cmp(&b.id));
    common::require_all(&all, &ids, |e| &e.id, not_found)?;
    let kept = common::kept(all, input, &ids, |e| &e.id)?;
    // Naming endpoints does not rule MaxResults out here.
    let (page, next) = common::paginate(kept, input, (5, 1000), false, |e| e.id.clone())?;
    Ok(Output::new(dto::DescribeClientVpnEndpointsResult {
        client_vpn_endpoints: Some(page.iter().map(|e| e.out(ctx.clock)).collect()),
        next_token: next,
    }))
}

pub fn modify_client_vpn_endpoint(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::ModifyClientVpnEndpointRequest = typed(input)?;
    if let Some(p) = req.vpn_port {
        check_port(p)?;
    }
    if let Some(h) = req.session_timeout_hours {
        check_session_timeout(h)?;
    }
    let dns = match &req.dns_servers {
        Some(d) if d.enabled == Some(true) => {
            let servers = d.custom_dns_servers.clone().unwrap_or_default();
            check_dns_servers(&servers)?;
            Some(servers)
        }
        Some(_) => Some(Vec::new()),
        None => None,
    };
    let log = req
        .connection_log_options
        .as_ref()
        .map(connection_log)
        .transpose()?;
    if let Some(b) = &req.client_login_banner_options {
        check_banner(b)?;
    }
    if let Some(p) = &req.self_service_portal {
        if p != "enabled" && p != "disabled" {
            return Err(invalid(format!(
                "Value ({p}) for parameter selfServicePortal is invalid. Valid values are enabled and disabled"
            )));
        }
    }
    if req.security_group_ids.is_some() && req.vpc_id.is_none() {
        return Err(invalid(
            "Security Groups cannot be modified without specifying Vpc Id",
        ));
    }
    let scope = ctx.scope();
    edit(ctx, &req.client_vpn_endpoint_id, |tx, e| {
        if let Some(arn) = &req.server_certificate_arn {
            check_certificate(tx, &scope, arn, ctx.clock)?;
            e.server_certificate_arn = arn.clone();
        }
        if let Some(vpc_id) = &req.vpc_id {
            vpc::get_vpc(tx, &scope, vpc_id)?;
            if e.vpc_id.as_deref() != Some(vpc_id) && e.associations.iter().any(|a| !a.removing()) {
                return Err(invalid(format!(
                    "The VPC of endpoint {} cannot be changed while it has target networks in VPC {}",
                    e.id,
                    e.vpc_id.as_deref().unwrap_or("")
                )));
            }
            let groups = groups_in(
                tx,
                &scope,
                vpc_id,
                req.security_group_ids.as_deref().unwrap_or_default(),
            )?;
            network::set_groups(tx, &scope, e, vpc_id, groups)?;
        }
        if let Some(s) = dns {
            e.dns_servers = s;
        }
        if let Some(l) = log {
            e.connection_log = l;
        }
        if let Some(d) = &req.description {
            e.description = Some(d.clone());
        }
        if let Some(s) = req.split_tunnel {
            e.split_tunnel = s;
        }
        if let Some(p) = req.vpn_port {
            e.vpn_port = p;
        }
        if let Some(h) = req.session_timeout_hours {
            e.session_timeout_hours = h;
        }
        if let Some(d) = req.disconnect_on_session_timeout {
            e.disconnect_on_session_timeout = d;
        }
        if let Some(p) = &req.self_service_portal {
            e.self_service_portal = p.clone();
        }
        if let Some(b) = &req.client_login_banner_options {
            e.banner_enabled = b.enabled.unwrap_or(false);
            e.banner = b.banner_text.clone();
        }
        if let Some(c) = &req.client_connect_options {
            e.client_connect_enabled = c.enabled.unwrap_or(false);
            e.client_connect_lambda = c.lambda_function_arn.clone();
        }
        if let Some(r) = &req.client_route_enforcement_options {
            e.route_enforcement = r.enforced.unwrap_or(false);
        }
        Ok(())
    })?;
    Ok(Output::new(dto::ModifyClientVpnEndpointResult {
        r#return: Some(true),
    }))
}

pub fn delete_client_vpn_endpoint(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::DeleteClientVpnEndpointRequest = typed(input)?;
    let scope = ctx.scope();
    ctx.store.write(|tx| {
        let e = get(tx, &scope, &req.client_vpn_endpoint_id)?;
        let live: Vec<&str> = e
            .associations
            .iter()
            .filter(|a| !a.removing())
            .map(|a| a.id.as_str())
            .collect();
        if !live.is_empty() {
            return Err(ApiError::new(
                "ClientVpnEndpointAssociationExists",
                format!(
                    "The endpoint that you're trying to delete has associations {}",
                    live.join(", ")
                ),
            ));
        }
        connections::delete_of(tx, &scope, &e.id);
        tx.delete::<ClientVpnEndpoint>(&scope, &e.id);
        Ok(())
    })?;
    Ok(Output::new(dto::DeleteClientVpnEndpointResult {
        status: Some(dto::ClientVpnEndpointStatus {
            code: Some("deleting".into()),
            message: None,
        }),
    }))
}
