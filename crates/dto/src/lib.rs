//! Typed inputs and outputs of every emulated service, generated from the committed
//! models by tools/gen-dto.py (`--check` in the test command keeps them in step).
//!
//! A struct's serde names are the model's member names and its fields follow the model's
//! order, so `airlock_protocol`'s encoders write it exactly as the `serde_json::Value` of it.

#[rustfmt::skip]
#[path = "../generated/acm.rs"]
pub mod acm;
#[rustfmt::skip]
#[path = "../generated/cloudformation.rs"]
pub mod cloudformation;
#[rustfmt::skip]
#[path = "../generated/ec2.rs"]
pub mod ec2;
#[rustfmt::skip]
#[path = "../generated/elbv2.rs"]
pub mod elbv2;
#[rustfmt::skip]
#[path = "../generated/iam.rs"]
pub mod iam;
#[rustfmt::skip]
#[path = "../generated/mwaa.rs"]
pub mod mwaa;
#[rustfmt::skip]
#[path = "../generated/s3.rs"]
pub mod s3;
#[rustfmt::skip]
#[path = "../generated/ssm.rs"]
pub mod ssm;
#[rustfmt::skip]
#[path = "../generated/sts.rs"]
pub mod sts;
