//! The OpenVPN protocol as AWS Client VPN speaks it to the stock OpenVPN 2.6 client, without
//! I/O: [`packet`] (the wire format), [`reliable`] (the control channel's reliability layer),
//! [`keys`] (key method 2, TLS-EKM and OpenVPN's PRF), [`data`] (the AES-256-GCM data channel
//! and its replay window) and [`session`] (one client's state machine). `airlock-net` owns the
//! sockets and the tunnel's other end.

pub mod data;
pub mod keys;
pub mod packet;
mod reader;
pub mod reliable;
pub mod session;

pub use session::{Event, Session};
