//! Typed inputs and outputs of every emulated service, generated from the committed
//! models by tools/gen-dto.py (`--check` in the test command keeps them in step).
//!
//! A struct's serde names are the model's member names and its fields follow the model's
//! order, so `airlock_protocol`'s encoders write it exactly as the `serde_json::Value` of it.

#[rustfmt::skip]
pub mod acm;
#[rustfmt::skip]
pub mod ec2;
#[rustfmt::skip]
pub mod elbv2;
#[rustfmt::skip]
pub mod iam;
#[rustfmt::skip]
pub mod mwaa;
#[rustfmt::skip]
pub mod sts;
