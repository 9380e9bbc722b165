//! The data plane: the listeners of emulated resources, kept in step with the state.
//!
//! A reconciler compares, a few times a second, the listeners the state calls for (each
//! available environment's webserver on its webserver endpoint's interfaces, or on its public
//! address; its database endpoint's interfaces) with those running, and starts or stops the
//! difference. Private listeners sit on the fabric's loopback address of their interface and
//! admit a connection only if it comes from an interface of the same VPC that the security groups
//! allow, both ways (ingress of the listener's groups, egress of the peer's), as AWS does.
//! Running instances launched with a key pair are SSH bastions ([`crate::bastion`]) on port 22
//! of their interface and of their public address.

use crate::ca::Ca;
use crate::webserver::{self, Site};
use crate::{bastion, fabric, Source};
use airlock_services::ec2::{eni, fabric as model, instances, vpce};
use airlock_services::mwaa::Environment;
use airlock_store::Scope;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use std::collections::HashMap;
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
    let scale = |s: f64| time::Duration::seconds_f64((s * source.config.time_scale).max(0.0));
    let plan: Vec<(Place, Want)> = store.read(|v| {
        let mut plan = Vec::new();
        for (scope, env) in v.list_all::<Environment>() {
            let endpoints = v.list::<vpce::VpcEndpoint>(&scope);
            let seen = env.seen(now, &scale, &endpoints);
            if !seen.status.is_some_and(|s| SERVING.contains(&s)) {
                continue;
            }
            let service = |id: &str| format!("com.amazonaws.vpce.{}.{id}", env.region);
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
        model::admits(
            v,
            scope,
            &dest.groups,
            u32::from(peer_ip),
            &src.groups,
            port,
        ) && model::lets_out(v, scope, &src.groups, dest.private_ip, &dest.groups, port)
    })
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
    let mut every = tokio::time::interval(Duration::from_millis(200));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        every.tick().await;
        // Deleted VPCs give their loopback /16 back.
        if let Err(e) = model::release_stale((*source.store).as_ref()) {
            tracing::warn!(target: "airlock::dataplane", error = %e, "cannot free fabric slots");
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
        Want::Database { .. } | Want::Ssh { .. } => None,
    };
    let vpc_port = if port >= 10000 && fabric::port(443) != 443 {
        port - 10000
    } else {
        port
    };
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
            // Served by `bastion::serve`.
            Want::Ssh { .. } => return,
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
                let Ok(config) = ca.server_config(host) else {
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
