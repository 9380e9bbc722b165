//! The network side of Airlock: where emulated addresses meet real sockets.
//!
//! - [`fabric`]: the VPC fabric's address arithmetic (VPC addresses ↔ loopback addresses).
//! - [`dns`]: the authoritative DNS server for the emulated names.
//!
//! Load balancer listeners, webservers and bastion hosts will live beside them and reach each
//! other only through the fabric.

pub mod dns;
pub mod fabric;
