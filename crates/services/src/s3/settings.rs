//! The bucket settings Airlock does not keep, answered as AWS answers a bucket that has none of
//! them (what Terraform's `aws_s3_bucket` read asks on every refresh): no CORS, website,
//! lifecycle, replication or Object Lock configuration (each its own "not found" error), no
//! transfer acceleration or access logging, the bucket owner pays, and the default encryption
//! every bucket has had since January 2023 (SSE-S3, AES256). Also the settings it does keep
//! that ACLs hang on: the bucket's ownership controls, and its ACL (the owner's full control:
//! Airlock keeps no grants).

use super::{malformed_xml, owned_bucket, update_bucket};
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

/// Object ownership with ACLs disabled: the default of every new bucket.
pub const ENFORCED: &str = "BucketOwnerEnforced";
const OWNERSHIPS: [&str; 3] = [ENFORCED, "BucketOwnerPreferred", "ObjectWriter"];

pub fn check_ownership(value: &str) -> ApiResult<()> {
    if OWNERSHIPS.contains(&value) {
        Ok(())
    } else {
        Err(ApiError::new(
            "InvalidArgument",
            format!("Invalid x-amz-object-ownership header: {value}"),
        )
        .with_status(400))
    }
}

/// The owner's full control, the one grant of a bucket whose ACL was never changed.
pub fn get_bucket_acl(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    let name = crate::input::req(input, "Bucket")?;
    let b = ctx.store.read(|v| owned_bucket(v, ctx, name))?;
    let id = super::owner_id(&b.owner);
    Ok(json!({
        "Owner": {"ID": id, "DisplayName": "airlock"},
        "Grants": [{
            "Grantee": {"ID": id, "DisplayName": "airlock", "Type": "CanonicalUser"},
            "Permission": "FULL_CONTROL",
        }],
    }))
}

pub fn get_bucket_ownership_controls(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    let name = crate::input::req(input, "Bucket")?;
    let b = ctx.store.read(|v| owned_bucket(v, ctx, name))?;
    match b.object_ownership {
        Some(o) => Ok(json!({"OwnershipControls": {"Rules": [{"ObjectOwnership": o}]}})),
        None => Err(none(
            "OwnershipControlsNotFoundError",
            "The bucket ownership controls were not found",
        )),
    }
}

pub fn put_bucket_ownership_controls(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    let rules = input
        .pointer("/OwnershipControls/Rules")
        .and_then(Value::as_array)
        .ok_or_else(malformed_xml)?;
    let [rule] = rules.as_slice() else {
        return Err(malformed_xml());
    };
    let ownership = rule
        .get("ObjectOwnership")
        .and_then(Value::as_str)
        .ok_or_else(malformed_xml)?
        .to_owned();
    if !OWNERSHIPS.contains(&ownership.as_str()) {
        return Err(malformed_xml());
    }
    update_bucket(ctx, input, |b| {
        b.object_ownership = Some(ownership);
        Ok(())
    })
}

pub fn delete_bucket_ownership_controls(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    update_bucket(ctx, input, |b| {
        b.object_ownership = None;
        Ok(())
    })
}
