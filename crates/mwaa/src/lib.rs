//! `airlock mwaa`: the AWS page's procedure for reaching a private MWAA webserver, as commands.
//!
//! Every command talks to AWS through the AWS SDK for Rust with the standard credential and region
//! chain, so the same binary works against real AWS and against Airlock (`AWS_ENDPOINT_URL`). The
//! commands read an environment's network into plain facts ([`discover`]), then either change it
//! ([`expose`]: target group, load balancer, listener, security group rules) or judge it
//! ([`doctor`]: every mistake the page and MWAA's troubleshooting guide warn about, each with the
//! command that fixes it).

pub mod discover;
pub mod dns;
pub mod doctor;
pub mod expose;
pub mod rules;
pub mod sdk;

pub use sdk::Clients;

/// The items written one after another with a space between: addresses in a log line or a
/// command's `--targets` list.
pub(crate) fn spaced<T: std::fmt::Display>(items: impl IntoIterator<Item = T>) -> String {
    let mut out = String::new();
    for (i, x) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&x.to_string());
    }
    out
}
