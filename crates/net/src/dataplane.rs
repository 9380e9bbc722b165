//! The data plane: the listeners of emulated resources, kept in step with the state.
//!
//! A reconciler compares, a few times a second, the listeners the state calls for (each
//! available environment's webserver on its webserver endpoint's interfaces, or on its public
//! address; its database endpoint's interfaces) with those running, and starts or stops the
//! difference. Private listeners sit on the fabric's loopback address of their interface and
//! admit a connection only if it comes from an interface of the same VPC that the security groups
//! allow, both ways (ingress of the listener's groups, egress of the peer's), as AWS does.
//! Running instances launched with a key pair are SSH bastions ([`crate::bastion`]) on port 22
//! of their interface and of their public address. Every listener of an active load balancer
//! listens on each zone's interface and, when internet-facing, on the zone's public address
//! ([`crate::lb`]); every target group such a load balancer uses has a health checker
//! ([`crate::health`]).

use crate::ca::Ca;
use crate::webserver::{self, Site};
use crate::{bastion, fabric, health, lb, Source};
use airlock_services::ec2::cidr::{self, Cidr};
use airlock_services::ec2::{eni, fabric as model, igw, instances, routes, sg, vpce};
use airlock_services::elbv2::listeners::Listener;
use airlock_services::elbv2::{routing, targetgroups};
use airlock_services::mwaa::Environment;
use airlock_store::{Scope, View};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use std::collections::{HashMap, HashSet};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The statuses in which an environment's webserver runs.
const SERVING: &[&str] = &[
    "AVAILABLE",
    "UPDATING",
    "CREATING_SNAPSHOT",
    "UPDATE_FAILED",
    "MAINTENANCE",
];

/// One listener the state calls for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Want {
    /// HTTPS for an environment; `eni` is the interface it sits on (none: public address).
    Web {
        scope: Scope,
        environment: String,
        host: String,
        eni: Option<String>,
    },
    /// The metadata database port: accepts (if the groups allow) and closes.
    Database { scope: Scope, eni: String },
    /// SSH on a running instance launched with a key pair (a bastion), on its interface and on
    /// its public address.
    Ssh { scope: Scope, instance: String },
    /// A load balancer listener on the interface `eni` of one of its zones (`public`: on that
    /// zone's public address).
    Lb {
        scope: Scope,
        listener: String,
        eni: String,
        public: bool,
        /// The listener's port (as the VPC sees it).
        port: u16,
    },
}

/// Where a private listener sits: the fabric address of interface `eni` at `port`.
fn fabric_addr(
    source: &Source,
    scope: &Scope,
    eni: &eni::NetworkInterface,
    port: u16,
) -> Option<SocketAddr> {
    let store = (*source.store).as_ref();
    let slot = model::ensure_slot(store, &source.config, scope, &eni.vpc_id).ok()?;
    let ip = fabric::to_loopback(slot, Ipv4Addr::from(eni.private_ip))?;
    Some(SocketAddr::V4(SocketAddrV4::new(ip, fabric::port(port))))
}

/// The loopback address where VPC address `ip` of `vpc_id` is reached (for tests and clients
/// inside the fabric).
pub fn address_of(
    source: &Source,
    scope: &Scope,
    vpc_id: &str,
    ip: Ipv4Addr,
    port: u16,
) -> Option<SocketAddr> {
    let store = (*source.store).as_ref();
    let slot = model::ensure_slot(store, &source.config, scope, vpc_id).ok()?;
    Some(SocketAddr::V4(SocketAddrV4::new(
        fabric::to_loopback(slot, ip)?,
        fabric::port(port),
    )))
}

/// Every listener the state calls for now.
pub fn desired(source: &Source) -> HashMap<SocketAddr, Want> {
    let store = (*source.store).as_ref();
    let now = time::OffsetDateTime::now_utc();
    let scale = |s: f64| source.config.scaled(s);
    let plan: Vec<(Place, Want)> = store.read(|v| {
        let mut plan = Vec::new();
        for (scope, env) in v.list_all::<Environment>() {
            let endpoints = v.list_in::<vpce::VpcEndpoint>(&scope, &env.vpc_id);
            let seen = env.seen(now, &scale, &endpoints);
            if !seen.status.is_some_and(|s| SERVING.contains(&s)) {
                continue;
            }
            let service = |id: &str| vpce::custom_service_name(&env.region, id);
            let web_service = env.webserver_service.as_deref().map(service);
            let db_service = service(&env.database_service);
            let web = |eni: Option<String>| Want::Web {
                scope: scope.clone(),
                environment: env.name.clone(),
                host: env.webserver_host(),
                eni,
            };
            for e in endpoints
                .iter()
                .filter(|e| e.vpc_id == env.vpc_id && e.state(now) == "available")
            {
                for eni_id in &e.eni_ids {
                    let Some(n) = v.get::<eni::NetworkInterface>(&scope, eni_id) else {
                        continue;
                    };
                    if Some(&e.service_name) == web_service.as_ref() {
                        plan.push((
                            Place::Interface(scope.clone(), n.clone(), 443),
                            web(Some(n.id.clone())),
                        ));
                    }
                    if e.service_name == db_service {
                        let want = Want::Database {
                            scope: scope.clone(),
                            eni: n.id.clone(),
                        };
                        plan.push((Place::Interface(scope.clone(), n.clone(), 5432), want));
                    }
                }
            }
            if let Some(ip) = env
                .public_ip
                .as_ref()
                .and_then(|ip| ip.parse::<Ipv4Addr>().ok())
            {
                plan.push((Place::Public(ip, 443), web(None)));
            }
        }
        for (scope, i) in v.list_all::<instances::Instance>() {
            if i.key_name.is_none() || !i.is_running(now, &scale) {
                continue;
            }
            let Some(n) = v
                .get::<eni::NetworkInterface>(&scope, &i.eni_id)
                .filter(|n| n.attachment.as_ref().is_some_and(|a| a.instance_id == i.id))
            else {
                continue;
            };
            let want = Want::Ssh {
                scope: scope.clone(),
                instance: i.id.clone(),
            };
            if let Some(ip) = n
                .public_ip
                .as_ref()
                .and_then(|ip| ip.parse::<Ipv4Addr>().ok())
            {
                plan.push((Place::Public(ip, 22), want.clone()));
            }
            plan.push((Place::Interface(scope.clone(), n, 22), want));
        }
        let scopes: HashSet<Scope> = v
            .list_all::<Listener>()
            .into_iter()
            .map(|(s, _)| s)
            .collect();
        for scope in scopes {
            for (lb, l) in routing::listening(v, &scope, now) {
                let Ok(port) = u16::try_from(l.port) else {
                    continue;
                };
                for z in &lb.zones {
                    let Some(n) = v.get::<eni::NetworkInterface>(&scope, &z.eni_id) else {
                        continue;
                    };
                    let want = |public| Want::Lb {
                        scope: scope.clone(),
                        listener: l.arn.clone(),
                        eni: z.eni_id.clone(),
                        public,
                        port,
                    };
                    if let Some(ip) = z.public_ip.as_ref().and_then(|ip| ip.parse().ok()) {
                        plan.push((Place::Public(ip, port), want(true)));
                    }
                    plan.push((Place::Interface(scope.clone(), n, port), want(false)));
                }
            }
        }
        plan
    });
    let mut out = HashMap::new();
    for (place, want) in plan {
        let addr = match place {
            Place::Public(ip, port) => {
                Some(SocketAddr::V4(SocketAddrV4::new(ip, fabric::port(port))))
            }
            Place::Interface(scope, n, port) => fabric_addr(source, &scope, &n, port),
        };
        if let Some(a) = addr {
            out.insert(a, want);
        }
    }
    out
}

/// The target groups that an active load balancer forwards to (each gets a health checker).
pub fn checked_groups(source: &Source) -> HashSet<(Scope, String)> {
    let now = time::OffsetDateTime::now_utc();
    (*source.store).as_ref().read(|v| {
        let scopes: HashSet<Scope> = v
            .list_all::<Listener>()
            .into_iter()
            .map(|(s, _)| s)
            .collect();
        let mut out = HashSet::new();
        for scope in scopes {
            let active: HashSet<String> = routing::listening(v, &scope, now)
                .into_iter()
                .map(|(lb, _)| lb.arn.clone())
                .collect();
            for (tg, lbs) in targetgroups::usage(v, &scope) {
                if lbs.iter().any(|lb| active.contains(lb)) {
                    out.insert((scope.clone(), tg));
                }
            }
        }
        out
    })
}

/// Where a listener goes: an interface's fabric address, or a public address.
enum Place {
    Interface(Scope, Arc<eni::NetworkInterface>, u16),
    Public(Ipv4Addr, u16),
}

/// Whether the fabric lets `peer` reach `port` of interface `eni_id` (security groups both ways).
pub fn admitted(source: &Source, scope: &Scope, eni_id: &str, peer: SocketAddr, port: u16) -> bool {
    let SocketAddr::V4(peer) = peer else {
        return false;
    };
    let Some(slot) = fabric::slot_of(*peer.ip()) else {
        return false;
    };
    let store = (*source.store).as_ref();
    store.read(|v| {
        let Some(dest) = v.get::<eni::NetworkInterface>(scope, eni_id) else {
            return false;
        };
        let Some((peer_scope, vpc)) = model::vpc_of_slot(v, slot) else {
            return false;
        };
        if &peer_scope != scope || vpc.id != dest.vpc_id {
            return false;
        }
        let Some(peer_ip) =
            fabric::from_loopback(slot, Ipv4Addr::from(vpc.cidr().base), *peer.ip())
        else {
            return false;
        };
        let Some(src) = model::interface_at(v, scope, &vpc.id, u32::from(peer_ip)) else {
            return false;
        };
        allows(v, scope, &src, &dest, port)
    })
}

/// Whether the security groups let interface `src` open TCP to `port` of interface `dest`
/// (ingress of `dest`'s groups, egress of `src`'s). An interface without groups (a Network Load
/// Balancer's, created without them) filters nothing.
pub fn allows(
    v: &View<'_>,
    scope: &Scope,
    src: &eni::NetworkInterface,
    dest: &eni::NetworkInterface,
    port: u16,
) -> bool {
    (dest.groups.is_empty()
        || model::admits(v, scope, &dest.groups, src.private_ip, &src.groups, port))
        && (src.groups.is_empty()
            || model::lets_out(v, scope, &src.groups, dest.private_ip, &dest.groups, port))
}

/// Whether subnet `subnet_id` of `vpc_id` routes to an internet gateway attached to the VPC
/// (without one, a public address there is unreachable, as on AWS).
fn reaches_internet(v: &View<'_>, scope: &Scope, vpc_id: &str, subnet_id: &str) -> bool {
    let tables: Vec<_> = v
        .list::<routes::RouteTable>(scope)
        .into_iter()
        .filter(|t| t.vpc_id == vpc_id)
        .collect();
    let table = tables
        .iter()
        .find(|t| {
            t.associations
                .iter()
                .any(|a| a.subnet_id.as_deref() == Some(subnet_id))
        })
        .or_else(|| tables.iter().find(|t| t.is_main()));
    table.is_some_and(|t| {
        t.routes.iter().any(|r| {
            r.gateway_id
                .as_deref()
                .filter(|g| g.starts_with("igw-"))
                .and_then(|g| v.get::<igw::InternetGateway>(scope, g))
                .is_some_and(|g| g.attached_to(vpc_id))
        })
    })
}

/// Whether a peer from the internet may reach TCP `port` of a public address in subnet
/// `subnet_id` guarded by security groups `groups` (none: no filtering, an NLB's case).
///
/// The peer is a host program on the loopback interface; on AWS it would be some public address
/// Airlock cannot know. So an ingress rule for the port admits it if its IPv4 CIDR contains the
/// peer's real address (`127.0.0.1/32`) or any public address (not RFC 1918/6598, loopback or
/// link-local): `0.0.0.0/0` and the tutorials' `<your IP>/32` admit, `10.0.0.0/8` or a group
/// reference do not. The subnet must also route to an attached internet gateway.
pub fn internet_admits(
    v: &View<'_>,
    scope: &Scope,
    groups: &[String],
    vpc_id: &str,
    subnet_id: &str,
    peer: SocketAddr,
    port: u16,
) -> bool {
    let peer_ip = match peer {
        SocketAddr::V4(a) => Some(u32::from(*a.ip())),
        SocketAddr::V6(_) => None,
    };
    reaches_internet(v, scope, vpc_id, subnet_id)
        && (groups.is_empty()
            || groups
                .iter()
                .filter_map(|g| v.get::<sg::SecurityGroup>(scope, g))
                .any(|g| g.rules.iter().any(|r| admits_internet(r, peer_ip, port))))
}

/// Whether ingress rule `r` lets an internet peer (at loopback address `peer_ip`) reach TCP
/// `port`.
fn admits_internet(r: &sg::Rule, peer_ip: Option<u32>, port: u16) -> bool {
    let ports = r.protocol == "-1"
        || (r.protocol == "tcp"
            && (r.from_port.unwrap_or(0)..=r.to_port.unwrap_or(65535)).contains(&i64::from(port)));
    let cidr = r.cidr_ipv4.as_deref().and_then(Cidr::parse_loose);
    !r.egress
        && ports
        && cidr.is_some_and(|c| has_public(&c) || peer_ip.is_some_and(|ip| c.contains_ip(ip)))
}

/// Whether `c` holds an address of the internet: not only private (RFC 1918, RFC 6598),
/// loopback or link-local space.
fn has_public(c: &Cidr) -> bool {
    let local = ["127.0.0.0/8", "169.254.0.0/16"]
        .iter()
        .filter_map(|s| Cidr::parse(s))
        .any(|l| l.contains(c));
    !cidr::is_private(c) && !local
}

/// A listener's task, stopped when dropped (so stopping the reconciler stops every listener, and
/// with them their connections).
struct Task(JoinHandle<()>);

impl Drop for Task {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs the reconciler until the task is aborted.
pub async fn run(source: Arc<Source>, ca: Arc<Ca>) {
    let mut running: HashMap<SocketAddr, (Want, Task)> = HashMap::new();
    // The bastions' host key, loaded (or created) when the first bastion starts.
    let mut host_key = None;
    let mut checkers: HashMap<(Scope, String), Task> = HashMap::new();
    let mut every = tokio::time::interval(Duration::from_millis(200));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        every.tick().await;
        // Deleted VPCs give their loopback /16 back.
        if let Err(e) = model::release_stale((*source.store).as_ref()) {
            tracing::warn!(target: "airlock::dataplane", error = %e, "cannot free fabric slots");
        }
        let groups = checked_groups(&source);
        checkers.retain(|g, task| groups.contains(g) && !task.0.is_finished());
        for g in groups {
            if let std::collections::hash_map::Entry::Vacant(e) = checkers.entry(g) {
                let (scope, arn) = e.key().clone();
                e.insert(Task(tokio::spawn(health::run(source.clone(), scope, arn))));
            }
        }
        let want = desired(&source);
        running.retain(|addr, (w, task)| {
            let keep = want.get(addr) == Some(w) && !task.0.is_finished();
            if !keep {
                tracing::info!(target: "airlock::dataplane", %addr, "listener stopped");
            }
            keep
        });
        for (addr, w) in want {
            if running.contains_key(&addr) {
                continue;
            }
            let key = match &w {
                Want::Ssh { .. } => {
                    match bastion::host_key((*source.store).as_ref(), &mut host_key) {
                        Ok(k) => Some(k),
                        Err(e) => {
                            tracing::warn!(target: "airlock::dataplane", %addr, error = %e, "no SSH host key");
                            continue;
                        }
                    }
                }
                _ => None,
            };
            match TcpListener::bind(addr).await {
                Ok(listener) => {
                    tracing::info!(target: "airlock::dataplane", %addr, listener = ?w, "listener started");
                    let task = match (&w, key) {
                        (Want::Ssh { scope, instance }, Some(key)) => tokio::spawn(bastion::serve(
                            listener,
                            source.clone(),
                            scope.clone(),
                            instance.clone(),
                            key,
                        )),
                        (
                            Want::Lb {
                                scope,
                                listener: arn,
                                eni,
                                public,
                                port,
                            },
                            _,
                        ) => {
                            let front = lb::Front::new(
                                source.clone(),
                                scope.clone(),
                                arn.clone(),
                                eni.clone(),
                                *public,
                                *port,
                            );
                            tokio::spawn(lb::serve(listener, front))
                        }
                        _ => tokio::spawn(serve(listener, w.clone(), source.clone(), ca.clone())),
                    };
                    running.insert(addr, (w, Task(task)));
                }
                Err(e) => {
                    tracing::warn!(target: "airlock::dataplane", %addr, error = %e, "cannot listen")
                }
            }
        }
    }
}

async fn serve(listener: TcpListener, want: Want, source: Arc<Source>, ca: Arc<Ca>) {
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
    let site = match &want {
        Want::Web {
            scope, environment, ..
        } => {
            let env = (*source.store)
                .as_ref()
                .read(|v| v.get::<Environment>(scope, environment));
            env.map(|e| Site::new(source.clone(), scope.clone(), &e))
        }
        Want::Database { .. } | Want::Ssh { .. } | Want::Lb { .. } => None,
    };
    if site.is_some() {
        if let Err(e) = ca.prepare((*source.store).as_ref()).await {
            tracing::warn!(target: "airlock::dataplane", error = %e, "cannot set up the local CA");
        }
    }
    let vpc_port = vpc_port(port);
    // Connections belong to the listener: dropping it (aborting this task) ends them.
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        while connections.try_join_next().is_some() {}
        let (scope, eni) = match &want {
            Want::Web { scope, eni, .. } => (scope, eni.clone()),
            Want::Database { scope, eni } => (scope, Some(eni.clone())),
            // Served by `bastion::serve` and `lb::serve`.
            Want::Ssh { .. } | Want::Lb { .. } => return,
        };
        if let Some(eni) = &eni {
            if !admitted(&source, scope, eni, peer, vpc_port) {
                tracing::debug!(target: "airlock::dataplane", %peer, eni, "refused by the fabric");
                drop(stream);
                continue;
            }
        }
        match (&want, &site) {
            (Want::Web { host, .. }, Some(site)) => {
                let Ok(config) = ca.server_config((*source.store).as_ref(), host) else {
                    continue;
                };
                let router = webserver::router(site.clone());
                connections.spawn(async move {
                    let acceptor = tokio_rustls::TlsAcceptor::from(config);
                    let Ok(Ok(tls)) =
                        tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream))
                            .await
                    else {
                        return;
                    };
                    let service = hyper_util::service::TowerToHyperService::new(router);
                    let _ = auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                });
            }
            _ => drop(stream),
        }
    }
}

/// The port a VPC sees for a fabric listener on `port` ([`fabric::port`] undone).
fn vpc_port(port: u16) -> u16 {
    let offset = fabric::port(0);
    if offset > 0 && port >= offset && port - offset < 1024 {
        port - offset
    } else {
        port
    }
}

/// Connects from interface `from` (its fabric address is the source) to VPC address `to`:`port`,
/// as a component inside the VPC does.
pub async fn connect_from(
    source: &Source,
    scope: &Scope,
    from: &eni::NetworkInterface,
    to: Ipv4Addr,
    port: u16,
) -> std::io::Result<TcpStream> {
    let local = address_of(
        source,
        scope,
        &from.vpc_id,
        Ipv4Addr::from(from.private_ip),
        0,
    )
    .ok_or_else(|| std::io::Error::other("the interface has no fabric address"))?;
    let remote = address_of(source, scope, &from.vpc_id, to, port)
        .ok_or_else(|| std::io::Error::other("no fabric address"))?;
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(local.ip(), 0))?;
    socket.connect(remote).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(
        egress: bool,
        protocol: &str,
        ports: Option<(i64, i64)>,
        cidr: Option<&str>,
    ) -> sg::Rule {
        sg::Rule {
            id: "sgr-1".into(),
            egress,
            protocol: protocol.into(),
            from_port: ports.map(|p| p.0),
            to_port: ports.map(|p| p.1),
            cidr_ipv4: cidr.map(str::to_owned),
            cidr_ipv6: None,
            group_id: None,
            group_owner: None,
            prefix_list_id: None,
            description: None,
        }
    }

    #[test]
    fn the_internet_is_any_public_address() {
        let peer = Some(u32::from(Ipv4Addr::LOCALHOST));
        let ssh = Some((22, 22));
        assert!(admits_internet(
            &rule(false, "tcp", ssh, Some("0.0.0.0/0")),
            peer,
            22
        ));
        assert!(admits_internet(
            &rule(false, "tcp", ssh, Some("203.0.113.7/32")),
            peer,
            22
        ));
        assert!(admits_internet(
            &rule(false, "-1", None, Some("0.0.0.0/0")),
            peer,
            22
        ));
        assert!(admits_internet(
            &rule(false, "tcp", Some((0, 65535)), Some("0.0.0.0/0")),
            peer,
            22
        ));
        assert!(admits_internet(
            &rule(false, "tcp", ssh, Some("127.0.0.1/32")),
            peer,
            22
        ));
        // Private ranges, other ports, other protocols, egress and group references do not.
        assert!(!admits_internet(
            &rule(false, "tcp", ssh, Some("10.0.0.0/8")),
            peer,
            22
        ));
        assert!(!admits_internet(
            &rule(false, "tcp", ssh, Some("192.168.1.0/24")),
            peer,
            22
        ));
        assert!(!admits_internet(
            &rule(false, "tcp", Some((443, 443)), Some("0.0.0.0/0")),
            peer,
            22
        ));
        assert!(!admits_internet(
            &rule(false, "udp", ssh, Some("0.0.0.0/0")),
            peer,
            22
        ));
        assert!(!admits_internet(
            &rule(true, "tcp", ssh, Some("0.0.0.0/0")),
            peer,
            22
        ));
        assert!(!admits_internet(&rule(false, "tcp", ssh, None), peer, 22));
        assert!(!admits_internet(
            &rule(false, "tcp", ssh, Some("127.0.0.2/32")),
            peer,
            22
        ));
    }
}
