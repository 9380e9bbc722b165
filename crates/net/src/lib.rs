//! The network side of Airlock: where emulated addresses meet real sockets.
//!
//! Today this is the VPC fabric's address arithmetic ([`fabric`]). The DNS server, load balancer
//! listeners, webservers and bastion hosts will live beside it and reach each other only through
//! it.

pub mod fabric;
