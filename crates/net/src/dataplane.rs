//! The data plane's reconciler: keeps the listeners and health checkers running that the state
//! calls for.
//!
//! A few times a second it asks the services what they want ([`airlock_services::dataplane::wants`]:
//! each [`Place`] with the [`Want`] served there, and [`Task`]s such as health checks), compares
//! that with what runs, and starts or stops the difference. It decides nothing itself: which
//! listeners exist is the services' decision, who may connect to one is
//! [`airlock_services::ec2::fabric::admitted`] (passed to the listener's accept loop as its
//! admission hook), and what a connection gets is the listener kind's module ([`webserver`],
//! [`bastion`], [`lb`], [`api`] with the server's handler; [`health`] for the checkers).

use crate::accept;
use crate::api;
use crate::bastion;
use crate::ca::Ca;
use crate::fabric;
use crate::health;
use crate::lb;
use crate::source::Source;
use crate::vpn;
use crate::webserver;
use airlock_services::dataplane::{self as services, Place, Task, Want};
use airlock_services::ec2::fabric as model;
use russh::keys::PrivateKey;
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The fabric's sockets, under the names the integration tests use.
pub use crate::fabric::{address_of, connect_from};

/// How often the reconciler compares the state with what runs.
const EVERY: Duration = Duration::from_millis(200);

/// What the state calls for now: each listener by the socket address it binds, and the tasks.
pub fn desired(source: &Source) -> (HashMap<SocketAddr, (Place, Want)>, HashSet<Task>) {
    let clock = source.clock();
    let wants = source.store().read(|v| services::wants(v, clock));
    let listeners = wants
        .listeners
        .into_iter()
        .filter_map(|(place, want)| Some((fabric::socket_of(source, &place)?, (place, want))))
        .collect();
    (listeners, wants.tasks.into_iter().collect())
}

/// A listener's or checker's task, stopped when dropped (so stopping the reconciler stops every
/// listener, and with them their connections).
struct Running(JoinHandle<()>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Running {
    fn is_finished(&self) -> bool {
        self.0.is_finished()
    }
}

/// Runs the reconciler until the task is aborted. `api`: what serves the AWS APIs on interface
/// endpoints (without it, they listen and close their connections). `budget`: listening
/// sockets at most (what the open-file limit leaves beside the API's connections); wants
/// beyond it are not started, and said so once (a warning) until the count changes.
pub async fn run(source: Arc<Source>, ca: Arc<Ca>, api: Option<api::Handler>, budget: usize) {
    let mut listeners: HashMap<SocketAddr, (Place, Want, Running)> = HashMap::new();
    let mut over_budget = 0;
    let mut tasks: HashMap<Task, Running> = HashMap::new();
    // The bastions' host key, loaded (or created) when the first bastion starts.
    let mut host_key = None;
    let mut every = tokio::time::interval(EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        every.tick().await;
        // Deleted VPCs give their loopback /16 back.
        if let Err(e) = model::release_stale(source.store()) {
            tracing::warn!(target: "airlock::dataplane", error = %e, "cannot free fabric slots");
        }
        let (wanted, wanted_tasks) = desired(&source);
        tasks.retain(|t, running| wanted_tasks.contains(t) && !running.is_finished());
        for t in wanted_tasks {
            if let std::collections::hash_map::Entry::Vacant(e) = tasks.entry(t) {
                let running = start_task(&source, e.key());
                e.insert(running);
            }
        }
        listeners.retain(|addr, (place, want, running)| {
            let keep = wanted
                .get(addr)
                .is_some_and(|(p, w)| p == place && w == want)
                && !running.is_finished();
            if !keep {
                tracing::info!(target: "airlock::dataplane", %addr, "listener stopped");
            }
            keep
        });
        let mut skipped = 0;
        for (addr, (place, want)) in wanted {
            if listeners.contains_key(&addr) {
                continue;
            }
            if listeners.len() >= budget {
                skipped += 1;
                continue;
            }
            let key = match &want {
                Want::Ssh { .. } => match bastion::host_key(source.store(), &mut host_key) {
                    Ok(k) => Some(k),
                    Err(e) => {
                        tracing::warn!(target: "airlock::dataplane", %addr, error = %e, "no SSH host key");
                        continue;
                    }
                },
                _ => None,
            };
            // A UDP VPN binds a datagram socket; every other listener is TCP.
            if let Want::Vpn {
                scope,
                endpoint,
                udp: true,
            } = &want
            {
                match std::net::UdpSocket::bind(addr)
                    .and_then(|s| s.set_nonblocking(true).map(|_| s))
                    .and_then(tokio::net::UdpSocket::from_std)
                {
                    Ok(socket) => {
                        tracing::info!(target: "airlock::dataplane", %addr, listener = ?want, "listener started");
                        let front = vpn::Front {
                            source: source.clone(),
                            scope: scope.clone(),
                            endpoint: endpoint.clone(),
                            udp: true,
                        };
                        let running = Running(tokio::spawn(vpn::serve_udp(socket, front)));
                        listeners.insert(addr, (place, want, running));
                    }
                    Err(e) => {
                        tracing::warn!(target: "airlock::dataplane", %addr, error = %e, "cannot listen")
                    }
                }
                continue;
            }
            match crate::accept::bind(addr) {
                Ok(listener) => {
                    tracing::info!(target: "airlock::dataplane", %addr, listener = ?want, "listener started");
                    let running = start(&source, &ca, api.as_ref(), listener, &place, &want, key);
                    listeners.insert(addr, (place, want, running));
                }
                Err(e) => {
                    tracing::warn!(target: "airlock::dataplane", %addr, error = %e, "cannot listen")
                }
            }
        }
        if skipped != over_budget {
            over_budget = skipped;
            if skipped > 0 {
                tracing::warn!(target: "airlock::dataplane", skipped, budget, "listeners not started: the open-file limit (ulimit -n) leaves room for no more beside the API's connections");
            }
        }
    }
}

/// The admission hook of a listener at `place`: the fabric's decision, read from the state at
/// every accept.
fn admission(source: Arc<Source>, place: Place) -> impl Fn(SocketAddr) -> bool + Send + 'static {
    move |peer| {
        source
            .store()
            .read(|v| model::admitted(v, &place, peer.ip()))
    }
}

/// Starts serving `want` on `listener` (at `place`); `key`: the SSH host key for a bastion.
fn start(
    source: &Arc<Source>,
    ca: &Arc<Ca>,
    handler: Option<&api::Handler>,
    listener: TcpListener,
    place: &Place,
    want: &Want,
    key: Option<PrivateKey>,
) -> Running {
    let admit = admission(source.clone(), place.clone());
    let source = source.clone();
    Running(match want.clone() {
        Want::Web {
            scope, environment, ..
        } => tokio::spawn(webserver::serve(
            listener,
            admit,
            source,
            ca.clone(),
            scope,
            environment,
        )),
        Want::Api {
            scope,
            endpoint,
            service,
        } => match handler {
            Some(handler) => {
                let front = api::Front {
                    scope,
                    endpoint,
                    service,
                    handler: handler.clone(),
                };
                tokio::spawn(api::serve(listener, admit, source, ca.clone(), front))
            }
            None => tokio::spawn(accept::serve(
                listener,
                accept::UNLIMITED,
                admit,
                |stream, _| async move { drop(stream) },
            )),
        },
        Want::Database { .. } => tokio::spawn(accept::serve(
            listener,
            accept::UNLIMITED,
            admit,
            // The database port only answers that it is there.
            |stream, _| async move { drop(stream) },
        )),
        Want::Ssh { scope, instance } => match key {
            Some(key) => {
                let aws = handler.map(|h| api::Aws {
                    ca: ca.clone(),
                    handler: h.clone(),
                });
                tokio::spawn(bastion::serve(
                    listener, admit, source, scope, instance, key, aws,
                ))
            }
            None => tokio::spawn(async {}),
        },
        Want::Vpn {
            scope, endpoint, ..
        } => {
            let front = vpn::Front {
                source,
                scope,
                endpoint,
                udp: false,
            };
            tokio::spawn(vpn::serve_tcp(listener, front))
        }
        Want::Lb {
            scope,
            listener: arn,
            eni,
        } => {
            let front = lb::Front::new(source, scope, arn, eni, place.is_public(), place.port());
            tokio::spawn(lb::serve(listener, admit, front))
        }
    })
}

/// Starts `task`.
fn start_task(source: &Arc<Source>, task: &Task) -> Running {
    match task.clone() {
        Task::HealthCheck { scope, arn } => {
            Running(tokio::spawn(health::run(source.clone(), scope, arn)))
        }
    }
}
