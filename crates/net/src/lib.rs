//! The network side of Airlock: where emulated addresses meet real sockets. What to run and who
//! may connect are decided in `airlock-services` ([`airlock_services::dataplane`],
//! [`airlock_services::ec2::fabric`]); this crate opens the sockets.
//!
//! Modules, in dependency order (each uses only those before it; `tests::no_import_loops`
//! checks it):
//!
//! - [`source`]: the state and settings every part reads.
//! - [`accept`]: the one accept loop (back-off, admission hook, connection tasks).
//! - [`fabric`]: the fabric's sockets: the privileged-port fallback, where a place listens,
//!   `connect_from` an interface.
//! - [`ca`]: the local CA behind the webservers' certificates; [`tls`]: the load balancers'
//!   certificate resolver and the client for HTTPS targets.
//! - [`webserver`]: what an environment's webserver answers.
//! - [`api`]: AWS's APIs on interface endpoints' addresses (TLS, then the server's handler).
//! - [`lb`]: load balancer listeners (ALB HTTP/HTTPS routing and forwarding, NLB TCP/TLS) and
//!   the connections to targets; [`health`]: the target health checker.
//! - [`bastion`]: EC2 instances as SSH bastions (port forwarding with `ssh -D`/`ssh -L`).
//! - [`dns`]: the authoritative DNS server for the emulated names.
//! - [`tunnel`]: the VPC end of a Client VPN tunnel (a userspace TCP/IP stack whose connections
//!   go out through the fabric); [`vpn`]: Client VPN's OpenVPN server (UDP and TCP listeners,
//!   a task per client running its `airlock_vpn::Session` and tunnel).
//! - [`dataplane`]: the reconciler that starts and stops listeners and health checkers as the
//!   services' wants change.

pub mod source;

pub mod accept;

pub mod fabric;

pub mod ca;
pub mod tls;

pub mod webserver;

pub mod api;

pub mod lb;

pub mod health;

pub mod bastion;

pub mod dns;

pub mod tunnel;
pub mod vpn;

pub mod dataplane;

pub use source::Source;

use airlock_store::Kind;

/// The record types the network side keeps in the store (the bastions' host key; the local CA is
/// among `airlock_services::record_kinds()`). A store must be opened with both lists, or these
/// records are not loaded back after a restart (and a new host key is made).
pub fn record_kinds() -> Vec<Kind> {
    vec![Kind::of::<bastion::HostKeyRecord>()]
}

#[cfg(test)]
mod tests {
    /// The modules in dependency order: a file may use only modules listed before it.
    const ORDER: &[&str] = &[
        "source",
        "accept",
        "fabric",
        "ca",
        "tls",
        "webserver",
        "api",
        "lb",
        "health",
        "bastion",
        "dns",
        "tunnel",
        "vpn",
        "dataplane",
    ];

    /// The modules of this crate that `text` (a file without its tests) names as `crate::…`,
    /// and whether it names the crate root itself (`crate::Source`, `crate::record_kinds`).
    fn uses(text: &str) -> Vec<String> {
        let code: String = text
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let mut out = Vec::new();
        let mut rest = code.as_str();
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + "crate::".len()..];
            let items = if let Some(group) = rest.strip_prefix('{') {
                let mut depth = 1;
                let end = group
                    .char_indices()
                    .find(|(_, c)| {
                        match c {
                            '{' => depth += 1,
                            '}' => depth -= 1,
                            _ => {}
                        }
                        depth == 0
                    })
                    .map_or(group.len(), |(j, _)| j);
                let mut depth = 0;
                let mut firsts = vec![String::new()];
                let mut fresh = true;
                for c in group[..end].chars() {
                    match c {
                        '{' => depth += 1,
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            firsts.push(String::new());
                            fresh = true;
                        }
                        c if fresh && (c.is_alphanumeric() || c == '_') => {
                            firsts.last_mut().unwrap().push(c)
                        }
                        c if !c.is_whitespace() => fresh = false,
                        _ => {}
                    }
                }
                firsts
            } else {
                vec![rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect()]
            };
            out.extend(items.into_iter().filter(|s| !s.is_empty() && s != "self"));
        }
        out
    }

    #[test]
    fn no_import_loops() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| {
                let name = e.ok()?.file_name().into_string().ok()?;
                name.strip_suffix(".rs").map(str::to_owned)
            })
            .filter(|m| m != "lib")
            .collect();
        files.sort();
        let mut listed: Vec<String> = ORDER.iter().map(|s| s.to_string()).collect();
        listed.sort();
        assert_eq!(files, listed, "every module of src/ has its place in ORDER");
        for (i, module) in ORDER.iter().enumerate() {
            let text = std::fs::read_to_string(dir.join(format!("{module}.rs"))).unwrap();
            let text = text.split("#[cfg(test)]").next().unwrap_or("");
            for used in uses(text) {
                let at = ORDER.iter().position(|m| *m == used);
                assert!(
                    at.is_some_and(|j| j < i),
                    "{module}.rs uses crate::{used}, which is not a module before it \
                     (the order: {ORDER:?})"
                );
            }
        }
    }

    #[test]
    fn uses_reads_paths_and_groups() {
        let text = "use crate::a::B;\nuse crate::{b, c::{D, E}, self};\n// crate::z\nlet x = crate::d::f();";
        assert_eq!(uses(text), ["a", "b", "c", "d"]);
    }
}
