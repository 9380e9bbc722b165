//! AWS's wire protocols, independent of any service.
//!
//! - [`sigv4`]: Signature Version 4 verification (header and presigned forms).
//! - [`query`]: decoding `Action=...` form bodies (the `ec2` and `query` protocols) into JSON values
//!   shaped by the service model.
//! - [`xml`]: encoding results as the `ec2` and `query` protocols' XML.
//! - [`json`]: validating JSON inputs and encoding JSON outputs (`json` and `rest-json`).
//! - [`envelope`]: error envelopes per protocol.
//! - [`classify`]: which service and operation a request is for; [`rest`]: REST routes (URI
//!   templates) and URI/query member binding.
//! - [`decode`]: one entry point from a request as plain data ([`HttpRequest`]) to the
//!   operation's input, whatever the protocol.
//!
//! Inputs reach services as `serde_json::Value`s whose keys are the model's member names; outputs
//! are anything serde serializes with those names ([`Output`]: a `Value` or a typed struct), which
//! the encoders write while walking the model's shapes. This crate knows no service.

pub mod cache;
pub mod classify;
pub mod encode;
pub mod error;
pub mod sigv2;
pub mod sigv4;

pub use encode::Output;
pub use error::{ApiError, ApiResult};
pub mod envelope;
pub mod json;
pub mod query;
pub mod rest;
pub mod restxml;
pub mod validate;
pub mod xml;

use airlock_model::Protocol;
pub use classify::{classify, unknown_operation, Target};

/// An HTTP request as plain data: what the protocol layer reads (no HTTP library's types, so
/// decoders can be driven from tests and fuzzers).
#[derive(Debug, Clone, Copy)]
pub struct HttpRequest<'a> {
    pub method: &'a str,
    /// The raw (still percent-encoded) path.
    pub path: &'a str,
    /// The raw query string, without `?`.
    pub query: &'a str,
    /// Header names and values, as received.
    pub headers: &'a [(&'a str, &'a str)],
    pub body: &'a [u8],
}

impl<'a> HttpRequest<'a> {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }

    /// All values of header `name` (case-insensitive), in the order received.
    pub fn header_values<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'a str> + 's {
        self.headers
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }
}

/// Form parameters: the body of a form POST, else the query string.
pub fn form(req: &HttpRequest<'_>) -> Result<Vec<(String, String)>, ApiError> {
    let is_form = req
        .header("content-type")
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if is_form && req.method == "POST" {
        query::parse_form(req.body)
    } else {
        query::parse_form(req.query.as_bytes())
    }
}

/// The input of the operation `target` names, decoded from `req` (`form`: its [`form`]
/// parameters) and checked against the model; an unknown operation is the protocol's
/// "unknown operation" error.
pub fn decode(
    target: &Target,
    req: &HttpRequest<'_>,
    form: &[(String, String)],
) -> Result<serde_json::Value, ApiError> {
    let model = target.model;
    let Some(op) = target.op else {
        return Err(unknown_operation(model.protocol, &target.requested));
    };
    match model.protocol {
        Protocol::Ec2 => query::decode(model, query::Dialect::Ec2, op, form),
        Protocol::Query => query::decode(model, query::Dialect::Query, op, form),
        Protocol::Json => json::decode(model, op.input.as_deref(), req.body),
        Protocol::RestJson => {
            rest::decode_json(model, op, &target.path_params, req.body, req.query)
        }
        Protocol::RestXml => restxml::decode(model, op, &target.path_params, req),
    }
}
