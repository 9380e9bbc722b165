//! AWS's wire protocols, independent of any service.
//!
//! - [`sigv4`]: Signature Version 4 verification (header and presigned forms).
//! - [`query`]: decoding `Action=...` form bodies (the `ec2` and `query` protocols) into JSON values
//!   shaped by the service model.
//! - [`xml`]: encoding results as the `ec2` and `query` protocols' XML.
//! - [`json`]: validating JSON inputs and encoding JSON outputs (`json` and `rest-json`).
//! - [`envelope`]: error envelopes per protocol.
//!
//! Services exchange `serde_json::Value`s whose keys are the model's member names; this crate
//! turns them into and out of bytes on the wire. It knows no service.

pub mod error;
pub mod sigv4;

pub use error::{ApiError, ApiResult};
pub mod envelope;
pub mod json;
pub mod query;
pub mod validate;
pub mod xml;
