//! `doctor`: every failure the page and MWAA's troubleshooting guide warn about, checked against
//! the live network, each reported `ok` or as a problem with the command that fixes it.

use crate::discover::{self, Endpoints, Lookup};
use crate::rules::{self, Peer};
use crate::sdk::filter;
use crate::sdk::{code, Aws, Clients};
use aws_sdk_ec2::types::SecurityGroup;
use aws_sdk_elasticloadbalancingv2::types::{
    Listener, LoadBalancer, TargetGroup, TargetHealthStateEnum,
};
use std::net::{Ipv4Addr, SocketAddr};

/// One verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    Ok(String),
    /// Worth knowing, not a fault.
    Note(String),
    /// A fault, and the shell command that fixes it (when one command can).
    Problem {
        what: String,
        fix: Option<String>,
    },
}

#[derive(Debug, Default)]
pub struct Report {
    pub findings: Vec<Finding>,
}

impl Report {
    fn ok(&mut self, what: impl Into<String>) {
        self.findings.push(Finding::Ok(what.into()));
    }
    fn note(&mut self, what: impl Into<String>) {
        self.findings.push(Finding::Note(what.into()));
    }
    fn problem(&mut self, what: impl Into<String>, fix: Option<String>) {
        self.findings.push(Finding::Problem {
            what: what.into(),
            fix,
        });
    }
    pub fn problems(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| matches!(f, Finding::Problem { .. }))
            .count()
    }
    pub fn render(&self) -> String {
        let mut out = String::new();
        for f in &self.findings {
            match f {
                Finding::Ok(w) => out.push_str(&format!("ok       {w}\n")),
                Finding::Note(w) => out.push_str(&format!("note     {w}\n")),
                Finding::Problem { what, fix } => {
                    out.push_str(&format!("PROBLEM  {what}\n"));
                    if let Some(f) = fix {
                        out.push_str(&format!("  fix:   {f}\n"));
                    }
                }
            }
        }
        let n = self.problems();
        out.push_str(&match n {
            0 => "no problems found\n".to_owned(),
            1 => "1 problem found\n".to_owned(),
            n => format!("{n} problems found\n"),
        });
        out
    }
}

/// A rule that lets `group` in on tcp/443, as the shell command that adds it.
fn admit_command(env_group: &str, group: &str) -> String {
    format!("aws ec2 authorize-security-group-ingress --group-id {env_group} --ip-permissions 'IpProtocol=tcp,FromPort=443,ToPort=443,UserIdGroupPairs=[{{GroupId={group}}}]'")
}

/// The services MWAA's private routing needs when the subnets have no NAT gateway.
fn private_routing_services(region: &str) -> Vec<String> {
    [
        "s3",
        "monitoring",
        "ecr.dkr",
        "ecr.api",
        "logs",
        "sqs",
        "kms",
        "airflow.api",
        "airflow.env",
        "airflow.ops",
    ]
    .iter()
    .map(|s| format!("com.amazonaws.{region}.{s}"))
    .collect()
}

pub async fn doctor(c: &Clients, name: &str, dns: Option<SocketAddr>) -> anyhow::Result<Report> {
    let mut r = Report::default();
    let facts = discover::endpoints(c, name, Lookup::Dns(dns)).await?;
    let env = &facts.env;
    match env.status.as_str() {
        "AVAILABLE" => r.ok(format!("environment {name} is AVAILABLE")),
        s => r.problem(
            format!(
                "environment {name} is {s}{}",
                env.error
                    .as_deref()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default()
            ),
            None,
        ),
    }
    match env.access_mode.as_str() {
        "PRIVATE_ONLY" => r.ok("webserver access mode PRIVATE_ONLY: reached from inside the VPC (Client VPN, a bastion, a load balancer)"),
        m => r.note(format!("webserver access mode {m}: the webserver is public; the private paths below are optional")),
    }
    endpoint_checks(c, &facts, &mut r);
    let groups = security_groups(c, &env.groups).await?;
    self_reference(&groups, &mut r);
    load_balancers(c, &facts, &groups, &mut r).await?;
    bastions(c, env, &groups, &mut r).await?;
    subnets(c, env, &mut r).await?;
    role(c, env, &mut r).await?;
    Ok(r)
}

fn endpoint_checks(c: &Clients, facts: &Endpoints, r: &mut Report) {
    let env = &facts.env;
    for (what, found, service) in [
        ("webserver", &facts.webserver, &env.webserver_service),
        ("database", &facts.database, &env.database_service),
    ] {
        match (found, service) {
            (Some(e), _) if e.state.eq_ignore_ascii_case("available") => {
                r.ok(format!("{what} endpoint {} ({}) is available", e.id, e.service))
            }
            (Some(e), _) => r.problem(format!("{what} endpoint {} is {}", e.id, e.state), None),
            (None, Some(s)) if env.endpoint_management == "CUSTOMER" => r.problem(
                format!("no {what} VPC endpoint for {s} in {} (endpoint management CUSTOMER: you create them)", env.vpc),
                Some(format!(
                    "aws ec2 create-vpc-endpoint --region {} --vpc-endpoint-type Interface --vpc-id {} --service-name {s} --subnet-ids {} --security-group-ids {}",
                    c.region, env.vpc, env.subnets.join(" "), env.groups.join(" ")
                )),
            ),
            (None, _) => r.problem(format!("no {what} VPC endpoint found in {}", env.vpc), None),
        }
    }
    match &facts.dns {
        Err(e) => r.problem(format!("DNS: {e}"), None),
        Ok(a) => {
            let names = facts
                .webserver
                .as_ref()
                .map(|w| w.dns_names.clone())
                .unwrap_or_default();
            match &a.cname {
                Some(cn) if names.iter().any(|n| n.eq_ignore_ascii_case(cn)) => r.ok(format!(
                    "{} is a CNAME of the webserver endpoint's name {cn}",
                    env.host
                )),
                Some(cn) => r.problem(
                    format!(
                        "{} is a CNAME of {cn}, which is not a name of the webserver endpoint",
                        env.host
                    ),
                    None,
                ),
                None => r.problem(
                    format!("{} has no CNAME to the webserver endpoint", env.host),
                    None,
                ),
            }
            let got: Vec<String> = a.addrs.iter().map(|i| i.to_string()).collect();
            if facts.dns_matches() {
                r.ok(format!(
                    "{} resolves to the endpoint's interfaces: {}",
                    env.host,
                    got.join(" ")
                ))
            } else {
                r.problem(
                    format!(
                        "{} resolves to [{}], the endpoint's interfaces are [{}]",
                        env.host,
                        got.join(" "),
                        facts.ips().join(" ")
                    ),
                    None,
                )
            }
        }
    }
}

async fn security_groups(c: &Clients, ids: &[String]) -> anyhow::Result<Vec<SecurityGroup>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let out = c
        .ec2
        .describe_security_groups()
        .set_group_ids(Some(ids.to_vec()))
        .send()
        .await
        .aws("DescribeSecurityGroups")?;
    Ok(out.security_groups().to_vec())
}

fn admitted(groups: &[SecurityGroup], peer: Peer<'_>) -> bool {
    groups
        .iter()
        .any(|g| rules::admits(g.ip_permissions(), 443, peer))
}

/// MWAA's own rule: the environment's group lets all traffic in from itself.
fn self_reference(groups: &[SecurityGroup], r: &mut Report) {
    for g in groups {
        let id = g.group_id().unwrap_or_default();
        let all_from_self = g.ip_permissions().iter().any(|p| {
            p.ip_protocol() == Some("-1")
                && p.user_id_group_pairs()
                    .iter()
                    .any(|u| u.group_id() == Some(id))
        });
        if all_from_self {
            r.ok(format!(
                "security group {id} admits all traffic from itself"
            ));
        } else {
            r.problem(
                format!("security group {id} does not admit all traffic from itself (MWAA's webserver, scheduler and database talk through it)"),
                Some(format!("aws ec2 authorize-security-group-ingress --group-id {id} --ip-permissions 'IpProtocol=-1,UserIdGroupPairs=[{{GroupId={id}}}]'")),
            );
        }
    }
}

/// Every target group in the VPC that holds a webserver address (or that `expose` tagged), and
/// the listeners and load balancers in front of it.
async fn load_balancers(
    c: &Clients,
    facts: &Endpoints,
    env_groups: &[SecurityGroup],
    r: &mut Report,
) -> anyhow::Result<()> {
    let env = &facts.env;
    let ips = facts.ips();
    let mut tgs: Vec<TargetGroup> = Vec::new();
    let mut pages = c.elb.describe_target_groups().into_paginator().send();
    while let Some(p) = pages.next().await {
        tgs.extend(
            p.aws("DescribeTargetGroups")?
                .target_groups()
                .iter()
                .filter(|t| t.vpc_id() == Some(env.vpc.as_str()))
                .cloned(),
        );
    }
    let tagged = crate::expose::tagged_target_groups(c, &env.name).await?;
    let mut lbs: Vec<LoadBalancer> = Vec::new();
    let mut pages = c.elb.describe_load_balancers().into_paginator().send();
    while let Some(p) = pages.next().await {
        lbs.extend(
            p.aws("DescribeLoadBalancers")?
                .load_balancers()
                .iter()
                .filter(|l| l.vpc_id() == Some(env.vpc.as_str()))
                .cloned(),
        );
    }
    let mut listeners: Vec<(LoadBalancer, Listener)> = Vec::new();
    for lb in &lbs {
        let out = c
            .elb
            .describe_listeners()
            .load_balancer_arn(lb.load_balancer_arn().unwrap_or_default())
            .send()
            .await
            .aws("DescribeListeners")?;
        listeners.extend(out.listeners().iter().map(|l| (lb.clone(), l.clone())));
    }
    let mut seen = 0;
    for tg in &tgs {
        let arn = tg.target_group_arn().unwrap_or_default();
        let tg_name = tg.target_group_name().unwrap_or_default();
        let health = c
            .elb
            .describe_target_health()
            .target_group_arn(arn)
            .send()
            .await
            .aws("DescribeTargetHealth")?;
        // A draining target is on its way out: it is not held, whatever DescribeTargetHealth lists.
        let held: Vec<String> = health
            .target_health_descriptions()
            .iter()
            .filter(|d| !draining(d))
            .filter_map(|d| d.target()?.id().map(str::to_owned))
            .collect();
        let ours = tagged.iter().any(|t| t == arn);
        if !ours && !held.iter().any(|h| ips.contains(h)) {
            continue;
        }
        seen += 1;
        let protocol = tg.protocol().map(|p| p.as_str()).unwrap_or_default();
        if matches!(protocol, "HTTPS" | "TLS" | "TCP") && tg.port() == Some(443) {
            r.ok(format!("target group {tg_name}: {protocol}:443"));
        } else {
            r.problem(
                format!("target group {tg_name} sends {protocol}:{} but the webserver answers HTTPS on 443 (protocol and port cannot be changed)", tg.port().unwrap_or(0)),
                Some(format!("aws elbv2 delete-target-group --target-group-arn {arn}  # then: airlock mwaa expose {}", env.name)),
            );
        }
        let hc = tg
            .health_check_protocol()
            .map(|p| p.as_str())
            .unwrap_or_default();
        let matcher = tg.matcher().and_then(|m| m.http_code()).unwrap_or_default();
        match hc {
            "HTTPS" if rules::matcher_accepts(matcher, &rules::WEBSERVER_CODES) => {
                r.ok(format!("target group {tg_name}: HTTPS health checks, matcher {matcher}"))
            }
            "HTTPS" => r.problem(
                format!("target group {tg_name}'s matcher {matcher} does not accept the webserver's 302 and 200"),
                Some(format!("aws elbv2 modify-target-group --target-group-arn {arn} --matcher 'HttpCode=\"{}\"'", rules::MATCHER)),
            ),
            "TCP" => r.ok(format!("target group {tg_name}: TCP health checks")),
            other => r.problem(
                format!("target group {tg_name} health-checks with {other}; the webserver speaks HTTPS only"),
                Some(format!("aws elbv2 modify-target-group --target-group-arn {arn} --health-check-protocol HTTPS --matcher 'HttpCode=\"{}\"'", rules::MATCHER)),
            ),
        }
        let missing: Vec<&String> = ips.iter().filter(|ip| !held.contains(ip)).collect();
        let stale: Vec<&String> = held.iter().filter(|h| !ips.contains(h)).collect();
        if missing.is_empty() && stale.is_empty() {
            r.ok(format!(
                "target group {tg_name} holds both webserver addresses: {}",
                ips.join(" ")
            ));
        } else {
            let fix = if ours {
                format!("airlock mwaa sync-targets {}", env.name)
            } else if !missing.is_empty() {
                format!(
                    "aws elbv2 register-targets --target-group-arn {arn} --targets {}",
                    crate::spaced(missing.iter().map(|ip| format!("Id={ip},Port=443")))
                )
            } else {
                format!(
                    "aws elbv2 deregister-targets --target-group-arn {arn} --targets {}",
                    crate::spaced(stale.iter().map(|ip| format!("Id={ip}")))
                )
            };
            let mut what = format!("target group {tg_name}");
            if !missing.is_empty() {
                what.push_str(&format!(" lacks {}", crate::spaced(&missing)));
            }
            if !stale.is_empty() {
                what.push_str(&format!(
                    " holds {} which are not the webserver's",
                    crate::spaced(&stale)
                ));
            }
            r.problem(what, Some(fix));
        }
        for d in health.target_health_descriptions() {
            let ip = d.target().and_then(|t| t.id()).unwrap_or_default();
            let th = d.target_health();
            let state = th
                .and_then(|t| t.state())
                .map(|s| s.as_str())
                .unwrap_or_default();
            if state == "healthy" {
                r.ok(format!("target {ip} in {tg_name} is healthy"));
            } else if draining(d) {
                r.note(format!(
                    "target {ip} in {tg_name} is draining (being deregistered)"
                ));
            } else if ips.iter().any(|i| i == ip) {
                let reason = th
                    .and_then(|t| t.reason())
                    .map(|s| s.as_str())
                    .unwrap_or_default();
                let desc = th.and_then(|t| t.description()).unwrap_or_default();
                r.problem(format!("target {ip} in {tg_name} is {state} ({reason}: {desc}); see the other findings for the cause"), None);
            }
        }
        let fronts: Vec<&(LoadBalancer, Listener)> = listeners
            .iter()
            .filter(|(_, l)| {
                l.default_actions().iter().any(|a| {
                    a.target_group_arn() == Some(arn)
                        || a.forward_config()
                            .map(|f| {
                                f.target_groups()
                                    .iter()
                                    .any(|t| t.target_group_arn() == Some(arn))
                            })
                            .unwrap_or(false)
                })
            })
            .collect();
        if fronts.is_empty() {
            r.problem(format!("no listener forwards to target group {tg_name}"), Some(format!("airlock mwaa expose {} --via alb --certificate-arn <an ISSUED certificate in {}> --subnets <two subnets>", env.name, c.region)));
        }
        for (lb, l) in fronts {
            listener(c, env, env_groups, lb, l, r).await?;
        }
    }
    if seen == 0 {
        r.note(format!("no target group holds the webserver's addresses (no load balancer path); `airlock mwaa expose {}` builds one", env.name));
    }
    Ok(())
}

fn draining(d: &aws_sdk_elasticloadbalancingv2::types::TargetHealthDescription) -> bool {
    d.target_health().and_then(|t| t.state()) == Some(&TargetHealthStateEnum::Draining)
}

async fn listener(
    c: &Clients,
    env: &discover::Environment,
    env_groups: &[SecurityGroup],
    lb: &LoadBalancer,
    l: &Listener,
    r: &mut Report,
) -> anyhow::Result<()> {
    let lb_name = lb.load_balancer_name().unwrap_or_default();
    let arn = l.listener_arn().unwrap_or_default();
    let protocol = l.protocol().map(|p| p.as_str()).unwrap_or_default();
    let port = l.port().unwrap_or(0);
    if matches!(protocol, "HTTPS" | "TLS" | "TCP") && port == 443 {
        r.ok(format!(
            "load balancer {lb_name}: {protocol} listener on 443"
        ));
    } else {
        r.problem(
            format!("load balancer {lb_name}'s listener is {protocol}:{port}; the page's is HTTPS on 443"),
            Some(format!("aws elbv2 modify-listener --listener-arn {arn} --protocol HTTPS --port 443 --certificates CertificateArn=<an ISSUED certificate in {}>", c.region)),
        );
    }
    for cert in l.certificates().iter().filter_map(|x| x.certificate_arn()) {
        let fix = Some(format!("aws elbv2 modify-listener --listener-arn {arn} --certificates CertificateArn=<an ISSUED certificate in {}>", c.region));
        let region = rules::arn_region(cert);
        if region != c.region {
            r.problem(
                format!(
                    "listener certificate {cert} is in {region}, the load balancer in {}",
                    c.region
                ),
                fix,
            );
            continue;
        }
        let d = c
            .acm
            .describe_certificate()
            .certificate_arn(cert)
            .send()
            .await;
        if code(&d).is_some() {
            r.problem(
                format!("listener certificate {cert} does not exist in ACM"),
                fix,
            );
            continue;
        }
        let d = d.aws("DescribeCertificate")?;
        let Some(d) = d.certificate() else { continue };
        let status = d.status().map(|s| s.as_str()).unwrap_or_default();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs() as i64;
        let days_left = d.not_after().map(|t| (t.secs() - now) / 86_400);
        match days_left {
            _ if status != "ISSUED" => {
                r.problem(format!("listener certificate {cert} is {status}"), fix)
            }
            Some(d) if d < 0 => r.problem(
                format!("listener certificate {cert} expired {} days ago", -d),
                fix,
            ),
            Some(d) if d < 30 => {
                r.ok(format!("listener certificate {cert} is ISSUED in {region}"));
                r.note(format!("listener certificate {cert} expires in {d} days"));
            }
            _ => r.ok(format!(
                "listener certificate {cert} is ISSUED in {region}{}",
                days_left
                    .map(|d| format!(", {d} days left"))
                    .unwrap_or_default()
            )),
        }
    }
    let env_group = env
        .groups
        .first()
        .map(String::as_str)
        .unwrap_or("<the environment's group>");
    if lb.security_groups().is_empty() {
        // An NLB without groups: the webserver sees the load balancer's private addresses.
        let subnets: Vec<String> = lb
            .availability_zones()
            .iter()
            .filter_map(|z| z.subnet_id())
            .map(str::to_owned)
            .collect();
        let out = c
            .ec2
            .describe_subnets()
            .set_subnet_ids(Some(subnets))
            .send()
            .await
            .aws("DescribeSubnets")?;
        for s in out.subnets() {
            let cidr = s.cidr_block().unwrap_or_default();
            let base: Ipv4Addr = cidr
                .split('/')
                .next()
                .unwrap_or_default()
                .parse()
                .unwrap_or(Ipv4Addr::UNSPECIFIED);
            if admitted(env_groups, Peer::Address(base)) {
                r.ok(format!(
                    "the environment's groups admit {lb_name}'s subnet {cidr} on 443"
                ));
            } else {
                r.problem(
                    format!("the environment's groups do not admit {lb_name}'s subnet {cidr} on 443 (the targets time out)"),
                    Some(format!("aws ec2 authorize-security-group-ingress --group-id {env_group} --protocol tcp --port 443 --cidr {cidr}")),
                );
            }
        }
    } else if lb
        .security_groups()
        .iter()
        .any(|g| admitted(env_groups, Peer::Group(g)))
    {
        r.ok(format!(
            "the environment's groups admit load balancer {lb_name}'s group on 443"
        ));
    } else {
        let g = &lb.security_groups()[0];
        r.problem(
            format!("the environment's groups do not admit load balancer {lb_name}'s group {g} on 443 (its health checks time out)"),
            Some(admit_command(env_group, g)),
        );
    }
    Ok(())
}

/// Running instances with a key pair and a public address in the VPC: bastions, by the page's
/// recipe; each must be admitted on 443.
async fn bastions(
    c: &Clients,
    env: &discover::Environment,
    env_groups: &[SecurityGroup],
    r: &mut Report,
) -> anyhow::Result<()> {
    let out = c
        .ec2
        .describe_instances()
        .filters(filter("vpc-id", &env.vpc))
        .filters(filter("instance-state-name", "running"))
        .send()
        .await
        .aws("DescribeInstances")?;
    let env_group = env
        .groups
        .first()
        .map(String::as_str)
        .unwrap_or("<the environment's group>");
    for i in out.reservations().iter().flat_map(|r| r.instances()) {
        if i.key_name().is_none() || i.public_ip_address().is_none() {
            continue;
        }
        let id = i.instance_id().unwrap_or_default();
        let groups: Vec<&str> = i
            .security_groups()
            .iter()
            .filter_map(|g| g.group_id())
            .collect();
        if groups.iter().any(|g| admitted(env_groups, Peer::Group(g))) {
            r.ok(format!(
                "bastion {id}: the environment's groups admit it on 443"
            ));
        } else if let Some(g) = groups.first() {
            r.problem(
                format!(
                    "bastion {id}'s group {g} is not admitted on 443 by the environment's groups"
                ),
                Some(admit_command(env_group, g)),
            );
        }
    }
    Ok(())
}

/// The environment's subnets are private and reach out through a NAT gateway or the VPC
/// endpoints of private routing.
async fn subnets(c: &Clients, env: &discover::Environment, r: &mut Report) -> anyhow::Result<()> {
    let tables = c
        .ec2
        .describe_route_tables()
        .filters(filter("vpc-id", &env.vpc))
        .send()
        .await
        .aws("DescribeRouteTables")?;
    let tables = tables.route_tables();
    let endpoints = c
        .ec2
        .describe_vpc_endpoints()
        .filters(filter("vpc-id", &env.vpc))
        .send()
        .await
        .aws("DescribeVpcEndpoints")?;
    let services: Vec<&str> = endpoints
        .vpc_endpoints()
        .iter()
        .filter_map(|e| e.service_name())
        .collect();
    let missing: Vec<String> = private_routing_services(&c.region)
        .into_iter()
        .filter(|s| !services.contains(&s.as_str()))
        .collect();
    let nats = c
        .ec2
        .describe_nat_gateways()
        .filter(filter("vpc-id", &env.vpc))
        .filter(filter("state", "available"))
        .send()
        .await
        .aws("DescribeNatGateways")?;
    let nat = nats.nat_gateways().first().and_then(|n| n.nat_gateway_id());
    for s in &env.subnets {
        let explicit = tables.iter().find(|t| {
            t.associations()
                .iter()
                .any(|a| a.subnet_id() == Some(s.as_str()))
        });
        let main = tables
            .iter()
            .find(|t| t.associations().iter().any(|a| a.main() == Some(true)));
        let Some(t) = explicit.or(main) else {
            r.problem(format!("subnet {s} has no route table"), None);
            continue;
        };
        let rt = t.route_table_id().unwrap_or_default();
        let default = t
            .routes()
            .iter()
            .find(|x| x.destination_cidr_block() == Some("0.0.0.0/0"));
        match default {
            Some(x) if x.gateway_id().is_some_and(|g| g.starts_with("igw-")) => r.problem(
                format!("subnet {s} is public (its route table {rt} sends 0.0.0.0/0 to {}); MWAA needs private subnets", x.gateway_id().unwrap_or_default()),
                nat.map(|n| format!("aws ec2 replace-route --route-table-id {rt} --destination-cidr-block 0.0.0.0/0 --nat-gateway-id {n}")),
            ),
            Some(x) if x.nat_gateway_id().is_some() => {
                r.ok(format!("subnet {s} is private and reaches out through {}", x.nat_gateway_id().unwrap_or_default()))
            }
            _ if missing.is_empty() => r.ok(format!("subnet {s} is private; the VPC has the endpoints of private routing")),
            _ => r.problem(
                format!("subnet {s} has no outbound access: no NAT gateway route and no VPC endpoints for {}", missing.join(" ")),
                nat.map(|n| format!("aws ec2 create-route --route-table-id {rt} --destination-cidr-block 0.0.0.0/0 --nat-gateway-id {n}")),
            ),
        }
    }
    Ok(())
}

/// The execution role exists and MWAA may assume it.
async fn role(c: &Clients, env: &discover::Environment, r: &mut Report) -> anyhow::Result<()> {
    let name = env.role_arn.rsplit('/').next().unwrap_or_default();
    let got = c.iam.get_role().role_name(name).send().await;
    if code(&got) == Some("NoSuchEntity") {
        r.problem(
            format!("the execution role {} does not exist", env.role_arn),
            Some(format!(
                "aws iam create-role --role-name {name} --assume-role-policy-document '{}'",
                rules::TRUST
            )),
        );
        return Ok(());
    }
    let got = got.aws("GetRole")?;
    let doc = got
        .role()
        .and_then(|x| x.assume_role_policy_document())
        .unwrap_or_default();
    match rules::trust_allows_mwaa(doc) {
        Ok(()) => r.ok(format!(
            "execution role {name} trusts airflow.amazonaws.com and airflow-env.amazonaws.com"
        )),
        Err(e) => r.problem(
            format!("execution role {name}: {e}"),
            Some(format!(
                "aws iam update-assume-role-policy --role-name {name} --policy-document '{}'",
                rules::TRUST
            )),
        ),
    }
    Ok(())
}
