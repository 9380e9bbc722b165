//! One integration-test binary (linking the AWS SDK once): the real server on a loopback port,
//! driven by the AWS SDK for Rust and by raw HTTP.

mod acm;
mod auth;
mod bastion;
mod clientvpn;
mod cloudformation;
mod concurrency;
mod dags;
mod dns;
mod durability;
mod ec2;
mod elbv2;
mod endpoints;
mod iam_authz;
mod iam_sts;
mod instances;
mod isolation;
mod lb;
mod mwaa;
mod partitions;
mod profiles;
mod s3;
mod ssm;
mod webserver;
mod wire;
