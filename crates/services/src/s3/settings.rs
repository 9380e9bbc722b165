//! The bucket settings Airlock does not keep, answered as AWS answers a bucket that has none of
//! them (what Terraform's `aws_s3_bucket` read asks on every refresh): no CORS, website,
//! lifecycle, replication or Object Lock configuration (each its own "not found" error), no
//! transfer acceleration or access logging, the bucket owner pays, and the default encryption
//! every bucket has had since January 2023 (SSE-S3, AES256). Also the settings it does keep
//! that ACLs hang on: the bucket's ownership controls, and its ACL (the owner's full control:
//! Airlock keeps no grants).

use super::{malformed_xml, request, requested, update_bucket};
use crate::Ctx;
use airlock_dto::s3 as dto;
use airlock_protocol::{ApiError, ApiResult, Output};
use serde_json::Value;

/// The bucket the request names, which must exist and be the caller's.
fn check(ctx: &Ctx<'_>, input: &Value) -> ApiResult<()> {
    requested(ctx, input).map(drop)
}

fn none(code: &str, message: &str) -> ApiError {
    ApiError::new(code, message).with_status(404)
}

pub fn get_bucket_cors(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    check(ctx, input)?;
    Err(none(
        "NoSuchCORSConfiguration",
        "The CORS configuration does not exist",
    ))
}

pub fn get_bucket_website(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    check(ctx, input)?;
    Err(none(
        "NoSuchWebsiteConfiguration",
        "The specified bucket does not have a website configuration",
    ))
}

pub fn get_bucket_lifecycle_configuration(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    check(ctx, input)?;
    Err(none(
        "NoSuchLifecycleConfiguration",
        "The lifecycle configuration does not exist",
    ))
}

pub fn get_bucket_replication(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    check(ctx, input)?;
    Err(none(
        "ReplicationConfigurationNotFoundError",
        "The replication configuration was not found",
    ))
}

pub fn get_object_lock_configuration(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    check(ctx, input)?;
    Err(none(
        "ObjectLockConfigurationNotFoundError",
        "Object Lock configuration does not exist for this bucket",
    ))
}

pub fn get_bucket_accelerate_configuration(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    check(ctx, input)?;
    Ok(Output::new(
        dto::GetBucketAccelerateConfigurationOutput::default(),
    ))
}

pub fn get_bucket_request_payment(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    check(ctx, input)?;
    Ok(Output::new(dto::GetBucketRequestPaymentOutput {
        payer: Some("BucketOwner".into()),
    }))
}

pub fn get_bucket_logging(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    check(ctx, input)?;
    Ok(Output::new(dto::GetBucketLoggingOutput::default()))
}

pub fn get_bucket_encryption(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    check(ctx, input)?;
    let rule = dto::ServerSideEncryptionRule {
        apply_server_side_encryption_by_default: Some(dto::ServerSideEncryptionByDefault {
            sse_algorithm: Some("AES256".into()),
            kms_master_key_id: None,
        }),
        bucket_key_enabled: Some(false),
        blocked_encryption_types: None,
    };
    Ok(Output::new(dto::GetBucketEncryptionOutput {
        server_side_encryption_configuration: Some(dto::ServerSideEncryptionConfiguration {
            rules: Some(vec![rule]),
        }),
    }))
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
pub fn get_bucket_acl(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let owner = super::owner(&requested(ctx, input)?.owner);
    let grantee = dto::Grantee {
        id: owner.id.clone(),
        display_name: owner.display_name.clone(),
        r#type: Some("CanonicalUser".into()),
        ..Default::default()
    };
    Ok(Output::new(dto::GetBucketAclOutput {
        owner: Some(owner),
        grants: Some(vec![dto::Grant {
            grantee: Some(grantee),
            permission: Some("FULL_CONTROL".into()),
        }]),
    }))
}

pub fn get_bucket_ownership_controls(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    match requested(ctx, input)?.object_ownership {
        Some(o) => Ok(Output::new(dto::GetBucketOwnershipControlsOutput {
            ownership_controls: Some(dto::OwnershipControls {
                rules: Some(vec![dto::OwnershipControlsRule {
                    object_ownership: Some(o),
                }]),
            }),
        })),
        None => Err(none(
            "OwnershipControlsNotFoundError",
            "The bucket ownership controls were not found",
        )),
    }
}

pub fn put_bucket_ownership_controls(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::PutBucketOwnershipControlsRequest = request(input)?;
    let rules = req.ownership_controls.rules.unwrap_or_default();
    let [dto::OwnershipControlsRule {
        object_ownership: Some(ownership),
    }] = rules.as_slice()
    else {
        return Err(malformed_xml());
    };
    if !OWNERSHIPS.contains(&ownership.as_str()) {
        return Err(malformed_xml());
    }
    let ownership = ownership.clone();
    update_bucket(ctx, input, |b| {
        b.object_ownership = Some(ownership);
        Ok(())
    })
}

pub fn delete_bucket_ownership_controls(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    update_bucket(ctx, input, |b| {
        b.object_ownership = None;
        Ok(())
    })
}
