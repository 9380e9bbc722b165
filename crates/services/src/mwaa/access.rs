//! The ways into an environment's private webserver, and whether each works now (the console's
//! "access paths"). Every judgement is the data plane's own, read from the same state: a
//! bastion's SSH listener and its forward into the VPC are admitted by `ec2::fabric` (the
//! security groups, the subnet's route to an internet gateway); a load balancer's targets are
//! healthy or not as its health checker recorded (`elbv2::routing::group_now`, what
//! DescribeTargetHealth reports), and its listener serves its ACM certificate. What is wrong is
//! said with the rule or setting that breaks it; a Client VPN endpoint's connections are
//! decided as its VPN decides them (`ec2::clientvpn`: routes, authorization rules, then the
//! security groups between its interfaces and the webserver's).

use super::Environment;
use crate::acm;
use crate::ec2::clientvpn::{self, ClientVpnEndpoint};
use crate::ec2::{eni, fabric, instances, vpce};
use crate::elbv2::listeners::Listener;
use crate::elbv2::loadbalancers::LoadBalancer;
use crate::elbv2::targetgroups::TargetGroup;
use crate::elbv2::{routing, rules};
use crate::Clock;
use airlock_store::{Scope, View};
use std::net::Ipv4Addr;
use std::sync::Arc;

/// Where the webserver listens: its endpoint's interfaces.
#[derive(Debug, Clone)]
pub struct Webserver {
    pub endpoint: Arc<vpce::VpcEndpoint>,
    pub interfaces: Vec<Arc<eni::NetworkInterface>>,
}

/// One way in, with what was checked.
#[derive(Debug, Clone, Default)]
pub struct Path {
    /// `Bastion host` or `Load balancer`.
    pub kind: &'static str,
    /// The instance id, or the load balancer's and target group's names.
    pub name: String,
    /// What it is made of (addresses, listener, certificate), for the reader.
    pub facts: Vec<String>,
    /// Things still on their way (a load balancer provisioning, health checks not yet done).
    pub pending: Vec<String>,
    /// What breaks it, each naming the rule or setting.
    pub problems: Vec<String>,
}

/// A path's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Works,
    Pending,
    Broken,
}

impl Verdict {
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Works => "works",
            Verdict::Pending => "pending",
            Verdict::Broken => "broken",
        }
    }
}

impl Path {
    pub fn verdict(&self) -> Verdict {
        if !self.problems.is_empty() {
            Verdict::Broken
        } else if !self.pending.is_empty() {
            Verdict::Pending
        } else {
            Verdict::Works
        }
    }
}

/// The webserver's endpoint: the one to the environment's webserver service in its VPC (MWAA's
/// own, or the customer's for CUSTOMER endpoint management).
pub fn webserver(v: &View<'_>, scope: &Scope, env: &Environment) -> Option<Webserver> {
    let service = env.service_name(env.webserver_service.as_deref()?);
    let endpoint = v
        .list_in::<vpce::VpcEndpoint>(scope, &env.vpc_id)
        .into_iter()
        .find(|e| e.service_name == service)?;
    let interfaces = endpoint
        .eni_ids
        .iter()
        .filter_map(|id| v.get::<eni::NetworkInterface>(scope, id))
        .collect();
    Some(Webserver {
        endpoint,
        interfaces,
    })
}

/// Every way into the private webserver of `env` that the state holds: bastion hosts in its VPC
/// and load balancers whose target groups hold the webserver's addresses.
pub fn paths(
    v: &View<'_>,
    scope: &Scope,
    env: &Environment,
    web: &Webserver,
    clock: Clock,
) -> Vec<Path> {
    let seen = Seen {
        v,
        scope,
        env,
        web,
        clock,
    };
    let mut out = bastions(&seen);
    out.extend(load_balancers(&seen));
    out.extend(client_vpns(&seen));
    out
}

/// What each path is judged against: the state, the environment and its webserver, the time.
#[derive(Clone, Copy)]
struct Seen<'a, 'v> {
    v: &'a View<'v>,
    scope: &'a Scope,
    env: &'a Environment,
    web: &'a Webserver,
    clock: Clock,
}

/// Client VPN endpoints in the environment's VPC: one works when it is available, only
/// certificate authentication is asked for, an active route and an active authorization rule
/// cover each webserver address, and the security groups let the endpoint's interface in the
/// address's zone reach it on 443 (what its VPN checks for each connection).
fn client_vpns(seen: &Seen<'_, '_>) -> Vec<Path> {
    let (v, scope, env, web, clock) = (seen.v, seen.scope, seen.env, seen.web, seen.clock);
    let mut out = Vec::new();
    for e in v.list::<ClientVpnEndpoint>(scope) {
        if e.vpc_id.as_deref() != Some(env.vpc_id.as_str()) {
            continue;
        }
        let mut p = Path {
            kind: "Client VPN",
            name: e.id.clone(),
            facts: vec![
                format!("*.{} ({} {})", e.host(), e.transport, e.vpn_port),
                format!("client CIDR {}", e.client_cidr),
            ],
            ..Path::default()
        };
        let live: Vec<&clientvpn::network::Association> =
            e.associations.iter().filter(|a| !a.removing()).collect();
        if live.is_empty() {
            p.problems.push(
                "no target network is associated (AssociateClientVpnTargetNetwork)".to_owned(),
            );
        } else if e.status(clock) != "available" {
            p.pending
                .push("its target networks are being associated".to_owned());
        }
        if e.client_root_chain().is_none() {
            p.problems.push(
                "it has no certificate authentication (directory and federated authentication are not emulated)"
                    .to_owned(),
            );
        }
        let interfaces: Vec<Arc<eni::NetworkInterface>> = live
            .iter()
            .filter_map(|a| v.get::<eni::NetworkInterface>(scope, &a.eni_id))
            .collect();
        for n in &web.interfaces {
            let to = ip(n);
            // What is merely not applied yet is pending, not broken.
            let later = clock.ahead(clientvpn::rules::APPLY_SECS);
            if !e.active_routes(clock).any(|c| c.contains_ip(n.private_ip)) {
                if e.active_routes(later).any(|c| c.contains_ip(n.private_ip)) {
                    p.pending
                        .push(format!("the route to {to} is being created"));
                } else {
                    p.problems
                        .push(format!("no route of the endpoint covers {to}"));
                }
                continue;
            }
            if !clientvpn::rules::authorized(&e.rules, clock, &[], n.private_ip) {
                if clientvpn::rules::authorized(&e.rules, later, &[], n.private_ip) {
                    p.pending
                        .push(format!("the authorization rule for {to} is being applied"));
                } else {
                    p.problems.push(format!(
                        "no authorization rule for all clients covers {to} (AuthorizeClientVpnIngress)"
                    ));
                }
                continue;
            }
            let from = interfaces
                .iter()
                .find(|i| i.az == n.az)
                .or(interfaces.first());
            if let Some(from) = from {
                if let Some(why) = fabric::refusal(v, scope, from, n, 443) {
                    p.problems.push(format!(
                        "{to}:443 from the endpoint's interface {} ({}): {why}",
                        from.id,
                        ip(from)
                    ));
                }
            }
        }
        out.push(p);
    }
    out
}

fn ip(n: &eni::NetworkInterface) -> Ipv4Addr {
    Ipv4Addr::from(n.private_ip)
}

/// Instances in the environment's VPC: a bastion is one the data plane serves SSH on (running,
/// launched with a key pair), reachable from the internet on 22 and able to reach both webserver
/// addresses on 443.
fn bastions(seen: &Seen<'_, '_>) -> Vec<Path> {
    let (v, scope, env, web, clock) = (seen.v, seen.scope, seen.env, seen.web, seen.clock);
    let mut out = Vec::new();
    for i in v.list::<instances::Instance>(scope) {
        let state = i.state(clock);
        if i.vpc_id != env.vpc_id || state == instances::State::Terminated {
            continue;
        }
        let mut p = Path {
            kind: "Bastion host",
            name: i.id.clone(),
            ..Path::default()
        };
        let n = v.get::<eni::NetworkInterface>(scope, &i.eni_id);
        p.facts.push(format!(
            "{} in {}, private {}, public {}",
            state.name(),
            i.subnet_id,
            Ipv4Addr::from(i.private_ip),
            n.as_ref()
                .and_then(|n| n.public_ip.clone())
                .unwrap_or_else(|| "none".into())
        ));
        match (&i.key_name, i.is_running(clock)) {
            (None, _) => p
                .problems
                .push("launched without a key pair: it accepts no SSH".into()),
            (Some(_), false) if state == instances::State::Pending => {
                p.pending.push("the instance is starting".into())
            }
            (Some(_), false) => p
                .problems
                .push(format!("the instance is {}: start it", state.name())),
            (Some(k), true) => p.facts.push(format!("SSH with key pair {k}")),
        }
        let Some(n) = n else {
            p.problems.push("its network interface is gone".into());
            out.push(p);
            continue;
        };
        if n.public_ip.is_none() {
            p.problems.push(
                "no public IPv4 address: not reachable from outside the VPC (launch it with one, or associate an Elastic IP)"
                    .into(),
            );
        } else if let Some(why) =
            fabric::internet_refusal(v, scope, &n.groups, &n.vpc_id, &n.subnet_id, 22)
        {
            p.problems.push(format!("SSH from the internet: {why}"));
        }
        for dest in &web.interfaces {
            if let Some(why) = fabric::refusal(v, scope, &n, dest, 443) {
                p.problems
                    .push(format!("to the webserver at {}:443: {why}", ip(dest)));
            }
        }
        out.push(p);
    }
    out
}

/// Target groups holding a webserver address, one path per load balancer forwarding to each.
fn load_balancers(seen: &Seen<'_, '_>) -> Vec<Path> {
    let (v, scope, web, clock) = (seen.v, seen.scope, seen.web, seen.clock);
    let addresses: Vec<String> = web.interfaces.iter().map(|n| ip(n).to_string()).collect();
    let mut out = Vec::new();
    for tg in v.list::<TargetGroup>(scope) {
        let Some(now) = routing::group_now(v, scope, &tg.arn, clock) else {
            continue;
        };
        let holds = |a: &str| now.targets.iter().any(|(r, _, _)| r.id == a);
        if !addresses.iter().any(|a| holds(a)) {
            continue;
        }
        if now.lbs.is_empty() {
            out.push(Path {
                kind: "Load balancer",
                name: format!("(none) → {}", tg.name),
                problems: vec![format!(
                    "target group {} is not used by any load balancer's listener",
                    tg.name
                )],
                ..Path::default()
            });
            continue;
        }
        for lb in &now.lbs {
            out.push(load_balancer(seen, &tg, lb, &now));
        }
    }
    out
}

fn load_balancer(
    seen: &Seen<'_, '_>,
    tg: &TargetGroup,
    lb: &LoadBalancer,
    now: &routing::GroupNow,
) -> Path {
    let (v, scope, web, clock) = (seen.v, seen.scope, seen.web, seen.clock);
    let mut p = Path {
        kind: "Load balancer",
        name: format!("{} → {}", lb.name, tg.name),
        ..Path::default()
    };
    p.facts
        .push(format!("{} {} {}", lb.scheme, lb.lb_type, lb.dns_name));
    if !lb.is_active(clock) {
        p.pending.push("the load balancer is provisioning".into());
    }
    if lb.scheme != "internet-facing" {
        p.problems
            .push("scheme internal: not reachable from outside the VPC".into());
    }
    // The listeners that forward to the group (default actions or rules).
    let rules = v.list::<rules::Rule>(scope);
    let listeners: Vec<Arc<Listener>> = v
        .list::<Listener>(scope)
        .into_iter()
        .filter(|l| l.lb_arn == lb.arn)
        .filter(|l| {
            l.default_actions
                .iter()
                .chain(
                    rules
                        .iter()
                        .filter(|r| r.listener_arn == l.arn)
                        .flat_map(|r| r.actions.iter()),
                )
                .any(|a| a.target_group_arns().any(|g| g == tg.arn))
        })
        .collect();
    let https: Vec<&Arc<Listener>> = listeners
        .iter()
        .filter(|l| l.protocol == "HTTPS" || l.protocol == "TLS")
        .collect();
    for l in &listeners {
        let cert = l
            .certificate
            .as_deref()
            .map(|arn| match acm::find_in(v, scope, arn) {
                Some(c) => format!(
                    ", certificate {arn} ({}, {})",
                    c.status(clock),
                    scope.region
                ),
                None => format!(", certificate {arn} (not found in {})", scope.region),
            });
        p.facts.push(format!(
            "listener {}:{}{}",
            l.protocol,
            l.port,
            cert.unwrap_or_default()
        ));
        if let Some(arn) = l.certificate.as_deref() {
            if acm::find_in(v, scope, arn).is_none_or(|c| c.status(clock) != "ISSUED") {
                p.problems.push(format!(
                    "listener {}:{}: certificate {arn} is not an ISSUED certificate of {}",
                    l.protocol, l.port, scope.region
                ));
            }
        }
    }
    if https.is_empty() {
        p.problems.push(format!(
            "no HTTPS listener forwards to {}: the webserver needs HTTPS (443 with an ACM certificate)",
            tg.name
        ));
    }
    // Reachable from the internet on a forwarding listener's port, in some zone.
    for l in &listeners {
        let Ok(port) = u16::try_from(l.port) else {
            continue;
        };
        let refusals: Vec<String> = lb
            .zones
            .iter()
            .filter_map(|z| {
                fabric::internet_refusal(
                    v,
                    scope,
                    &lb.security_groups,
                    &lb.vpc_id,
                    &z.subnet_id,
                    port,
                )
            })
            .collect();
        if lb.scheme == "internet-facing" && refusals.len() == lb.zones.len() {
            if let Some(why) = refusals.first() {
                p.problems.push(format!(
                    "listener {}:{} from the internet: {why}",
                    l.protocol, port
                ));
            }
        }
    }
    // Every webserver address registered and healthy; the load balancer's interfaces reach it.
    let port = tg.port.and_then(|p| u16::try_from(p).ok()).unwrap_or(443);
    for dest in &web.interfaces {
        let addr = ip(dest).to_string();
        let Some((reg, _, (state, reason, description))) =
            now.targets.iter().find(|(r, _, _)| r.id == addr)
        else {
            p.problems.push(format!(
                "webserver address {addr} is not registered in {}",
                tg.name
            ));
            continue;
        };
        let target_port = reg.port.and_then(|p| u16::try_from(p).ok()).unwrap_or(port);
        let said = match (reason, description) {
            (Some(r), Some(d)) => format!("{state} ({r}: {d})"),
            (Some(r), None) => format!("{state} ({r})"),
            _ => state.clone(),
        };
        match state.as_str() {
            "healthy" => p.facts.push(format!("target {addr}:{target_port} {said}")),
            "initial" => p.pending.push(format!(
                "target {addr}:{target_port}: health checks in progress"
            )),
            _ => {
                let matcher = tg
                    .health_check
                    .matcher
                    .as_ref()
                    .and_then(|m| m.http_code.as_deref())
                    .filter(|_| reason.as_deref() == Some("Target.ResponseCodeMismatch"))
                    .map(|m| format!("; the matcher {m} does not accept them"))
                    .unwrap_or_default();
                p.problems
                    .push(format!("target {addr}:{target_port} is {said}{matcher}"))
            }
        }
        for z in &lb.zones {
            let Some(src) = v.get::<eni::NetworkInterface>(scope, &z.eni_id) else {
                continue;
            };
            if let Some(why) = fabric::refusal(v, scope, &src, dest, target_port) {
                p.problems.push(format!(
                    "from the load balancer's node in {} to {addr}:{target_port}: {why}",
                    z.az
                ));
            }
        }
    }
    if let Some(m) = tg
        .health_check
        .matcher
        .as_ref()
        .and_then(|m| m.http_code.as_deref())
    {
        p.facts.push(format!(
            "health check {} {} expects {m}",
            tg.health_check.protocol.as_deref().unwrap_or("-"),
            tg.health_check.path.as_deref().unwrap_or("/")
        ));
    }
    p
}
