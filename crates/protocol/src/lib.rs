//! AWS's wire protocols, independent of any service.
//!
//! - [`sigv4`]: Signature Version 4 verification (header and presigned forms).
//! - [`query`]: decoding `Action=...` form bodies (the `ec2` and `query` protocols) into JSON values
//!   shaped by the service model.
//! - [`xml`]: encoding results as the `ec2` and `query` protocols' XML.
//! - [`json`]: validating JSON inputs and encoding JSON outputs (`json` and `rest-json`).
//! - [`envelope`]: error envelopes per protocol.
//!
//! Inputs reach services as `serde_json::Value`s whose keys are the model's member names; outputs
//! are anything serde serializes with those names ([`Output`]: a `Value` or a typed struct), which
//! the encoders write while walking the model's shapes. This crate knows no service.

pub mod cache;
pub mod encode;
pub mod error;
pub mod sigv4;

pub use encode::Output;
pub use error::{ApiError, ApiResult};
pub mod envelope;
pub mod json;
pub mod query;
pub mod validate;
pub mod xml;
