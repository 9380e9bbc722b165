//! What the data plane should run, decided from the state: the vocabulary between the services
//! (which decide) and `airlock-net` (which opens the sockets).
//!
//! Each service that has a data plane says what it wants with a function of the [`WantsFn`]
//! signature (`mwaa::dataplane::wants`, `ec2::dataplane::wants`, `elbv2::dataplane::wants`);
//! each registers it as its [`crate::Service::wants`] and [`wants`] collects them. The network side's reconciler diffs the result against the
//! listeners it runs; who may connect to a [`Place`] is decided by
//! [`crate::ec2::fabric::admitted`].

use crate::ec2::eni::NetworkInterface;
use crate::Clock;
use airlock_store::{Scope, View};
use std::net::Ipv4Addr;

/// What one listener serves.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Want {
    /// An MWAA environment's HTTPS webserver (the Airflow UI and API) for `host`.
    Web {
        scope: Scope,
        environment: String,
        host: String,
    },
    /// An MWAA environment's metadata database port: admits (if the groups allow) and closes.
    Database { scope: Scope, environment: String },
    /// SSH on a running instance launched with a key pair (a bastion).
    Ssh { scope: Scope, instance: String },
    /// The API of AWS service `service` (a botocore name) on an interface endpoint's network
    /// interface, over TLS: what an interface endpoint to an AWS service Airlock runs serves.
    Api {
        scope: Scope,
        endpoint: String,
        service: &'static str,
    },
    /// A Client VPN endpoint's OpenVPN server (UDP, or TCP when `udp` is false).
    Vpn {
        scope: Scope,
        endpoint: String,
        udp: bool,
    },
    /// A load balancer listener in the zone of interface `eni` (where its connections to
    /// targets come from).
    Lb {
        scope: Scope,
        listener: String,
        eni: String,
    },
}

/// Where a listener sits, and so who may connect to it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Place {
    /// TCP `port` (as the VPC sees it) of interface `eni`, whose address is `ip` in `vpc_id`:
    /// reached through the fabric by the VPC's interfaces that the security groups let through
    /// both ways.
    Interface {
        scope: Scope,
        eni: String,
        vpc_id: String,
        ip: Ipv4Addr,
        port: u16,
    },
    /// TCP `port` of public address `ip` (`127.255.0.0/16`). `guard`: the interface whose
    /// security groups and subnet decide whether the internet gets in; none: everyone does
    /// (an MWAA environment's public webserver).
    Public {
        scope: Scope,
        ip: Ipv4Addr,
        port: u16,
        guard: Option<String>,
    },
}

impl Place {
    /// Port `port` of interface `n`.
    pub fn on(scope: &Scope, n: &NetworkInterface, port: u16) -> Place {
        Place::Interface {
            scope: scope.clone(),
            eni: n.id.clone(),
            vpc_id: n.vpc_id.clone(),
            ip: Ipv4Addr::from(n.private_ip),
            port,
        }
    }

    /// Port `port` of public address `ip` (as a record keeps it: text), if it has one.
    pub fn public(
        scope: &Scope,
        ip: Option<&String>,
        port: u16,
        guard: Option<String>,
    ) -> Option<Place> {
        let ip = ip?.parse::<Ipv4Addr>().ok()?;
        Some(Place::Public {
            scope: scope.clone(),
            ip,
            port,
            guard,
        })
    }

    /// The port as clients name it (before the fabric's privileged-port offset).
    pub fn port(&self) -> u16 {
        match self {
            Place::Interface { port, .. } | Place::Public { port, .. } => *port,
        }
    }

    pub fn is_public(&self) -> bool {
        matches!(self, Place::Public { .. })
    }
}

/// Work without a socket of its own.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Task {
    /// Probe the targets of target group `arn` (one that an active load balancer forwards to).
    HealthCheck { scope: Scope, arn: String },
}

/// Everything the data plane should run at one moment.
#[derive(Debug, Default)]
pub struct Wants {
    pub listeners: Vec<(Place, Want)>,
    pub tasks: Vec<Task>,
}

/// A service's contribution: what its records call for at the clock's time, added to `out`.
pub type WantsFn = fn(v: &View<'_>, clock: Clock, out: &mut Wants);

/// Everything the state calls for at the clock's time: what every registered service's `wants`
/// adds.
pub fn wants(v: &View<'_>, clock: Clock) -> Wants {
    let mut out = Wants::default();
    for f in crate::SERVICES.iter().filter_map(|s| s.wants) {
        f(v, clock, &mut out);
    }
    out
}
