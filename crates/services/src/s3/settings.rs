//! The bucket settings Airlock does not keep, answered as AWS answers a bucket that has none of
//! them (what Terraform's `aws_s3_bucket` read asks on every refresh): no CORS, website,
//! lifecycle, replication or Object Lock configuration (each its own "not found" error), no
//! transfer acceleration or access logging, the bucket owner pays, and the default encryption
//! every bucket has had since January 2023 (SSE-S3, AES256).

use super::owned_bucket;
use crate::Ctx;
use airlock_protocol::{ApiError, ApiResult};
use serde_json::{json, Value};

/// The bucket the request names, which must exist and be the caller's.
fn check(ctx: &Ctx<'_>, input: &Value) -> ApiResult<()> {
    let name = crate::input::req(input, "Bucket")?;
    ctx.store.read(|v| owned_bucket(v, ctx, name))?;
    Ok(())
}

fn none(code: &str, message: &str) -> ApiError {
    ApiError::new(code, message).with_status(404)
}

pub fn get_bucket_cors(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    check(ctx, input)?;
    Err(none(
        "NoSuchCORSConfiguration",
        "The CORS configuration does not exist",
    ))
}

pub fn get_bucket_website(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    check(ctx, input)?;
    Err(none(
        "NoSuchWebsiteConfiguration",
        "The specified bucket does not have a website configuration",
    ))
}

pub fn get_bucket_lifecycle_configuration(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    check(ctx, input)?;
    Err(none(
        "NoSuchLifecycleConfiguration",
        "The lifecycle configuration does not exist",
    ))
}

pub fn get_bucket_replication(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    check(ctx, input)?;
    Err(none(
        "ReplicationConfigurationNotFoundError",
        "The replication configuration was not found",
    ))
}

pub fn get_object_lock_configuration(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    check(ctx, input)?;
    Err(none(
        "ObjectLockConfigurationNotFoundError",
        "Object Lock configuration does not exist for this bucket",
    ))
}

pub fn get_bucket_accelerate_configuration(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    check(ctx, input)?;
    Ok(json!({}))
}

pub fn get_bucket_request_payment(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    check(ctx, input)?;
    Ok(json!({"Payer": "BucketOwner"}))
}

pub fn get_bucket_logging(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    check(ctx, input)?;
    Ok(json!({}))
}

pub fn get_bucket_encryption(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    check(ctx, input)?;
    Ok(json!({"ServerSideEncryptionConfiguration": {"Rules": [{
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
        "BucketKeyEnabled": false,
    }]}}))
}
