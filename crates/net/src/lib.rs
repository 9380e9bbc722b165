//! The network side of Airlock: where emulated addresses meet real sockets.
//!
//! - [`fabric`]: the VPC fabric's address arithmetic (VPC addresses ↔ loopback addresses).
//! - [`dns`]: the authoritative DNS server for the emulated names.
//! - [`dataplane`]: the listeners of emulated resources (environment webservers and databases),
//!   reconciled with the state, and the fabric's security-group checks.
//! - [`webserver`]: what an environment's webserver answers; [`ca`]: the local CA behind its
//!   certificates.
//! - [`bastion`]: EC2 instances as SSH bastions (port forwarding with `ssh -D`/`ssh -L`).
//! - [`lb`]: load balancer listeners (ALB HTTP/HTTPS routing and forwarding, NLB TCP/TLS), with
//!   [`tls`] for their ACM certificates; [`health`]: the target health checker.

pub mod bastion;
pub mod ca;
pub mod dataplane;
pub mod dns;
pub mod fabric;
pub mod health;
pub mod lb;
pub mod tls;
pub mod webserver;

use airlock_services::Config;
use airlock_store::{Kind, Store};
use std::sync::Arc;

/// The record types the network side keeps in the store (the bastions' host key; the local CA is
/// among `airlock_services::record_kinds()`). A store must be opened with both lists, or these
/// records are not loaded back after a restart (and a new host key is made).
pub fn record_kinds() -> Vec<Kind> {
    vec![Kind::of::<bastion::HostKeyRecord>()]
}

/// What the network side needs from the rest of Airlock: the state and the service settings.
pub struct Source {
    pub store: Arc<dyn AsRef<Store> + Send + Sync>,
    pub config: Config,
}
