//! Amazon S3: buckets (`mod.rs`: names, location constraints, ownership across accounts, and
//! the bucket sub-resources Airlock stores: versioning status, public access block, tags,
//! policy), objects (`objects.rs`), multipart uploads (`multipart.rs`), listings
//! (`list.rs`) and where contents live (`blob.rs`).
//!
//! Bucket names are global: every bucket is one record in one scope ([`buckets`]), with its
//! owner and region. Objects and uploads are kept per bucket ([`objects_of`], [`uploads_of`]).

pub mod blob;
mod list;
mod multipart;
pub mod objects;
mod settings;
pub mod versions;

use crate::service::{ops, Service};
use crate::Ctx;
use airlock_dto::s3 as dto;
use airlock_protocol::{ApiError, ApiResult, Output};
use airlock_store::{Kind, Read, Scope};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

pub use blob::Blob;

/// The region a bucket is in when CreateBucket names none.
const DEFAULT_REGION: &str = "us-east-1";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Bucket {
    pub name: String,
    /// The owning account.
    pub owner: String,
    pub region: String,
    /// ISO 8601.
    pub created: String,
    /// `Enabled` or `Suspended` once PutBucketVersioning has been called.
    #[serde(default)]
    pub versioning: Option<String>,
    #[serde(default, deserialize_with = "crate::lenient")]
    pub public_access_block: Option<dto::PublicAccessBlockConfiguration>,
    /// The TagSet (stored as the model shapes it: `[{Key, Value}]`).
    #[serde(default)]
    pub tags: Option<Vec<dto::Tag>>,
    #[serde(default)]
    pub policy: Option<String>,
    /// `ObjectOwnership` of the bucket's ownership controls (`BucketOwnerEnforced` for every
    /// new bucket since April 2023: ACLs disabled); `None` once they are deleted.
    #[serde(default = "enforced")]
    pub object_ownership: Option<String>,
}

fn enforced() -> Option<String> {
    Some(settings::ENFORCED.to_owned())
}

airlock_store::record!(Bucket, "s3.bucket", name);

/// The one scope of every bucket (names are global across accounts and regions).
pub fn buckets() -> Scope {
    Scope::new("", "s3")
}

/// The scope of a bucket's objects.
pub fn objects_of(bucket: &str) -> Scope {
    Scope::new(bucket, "s3.objects")
}

/// The scope of a bucket's multipart uploads.
pub fn uploads_of(bucket: &str) -> Scope {
    Scope::new(bucket, "s3.uploads")
}

pub fn record_kinds() -> Vec<Kind> {
    vec![
        Kind::of::<Bucket>(),
        Kind::of::<objects::Object>(),
        versions::kind(),
        Kind::of::<multipart::Upload>(),
    ]
}

pub static SERVICE: Service = Service {
    name: "s3",
    ops: ops! {
        "CreateBucket" => Output(create_bucket),
        "DeleteBucket" => Output(delete_bucket),
        "HeadBucket" => Output(head_bucket),
        "ListBuckets" => Output(list_buckets),
        "GetBucketLocation" => Output(get_bucket_location),
        "PutBucketVersioning" => Output(put_bucket_versioning),
        "GetBucketVersioning" => Output(get_bucket_versioning),
        "PutPublicAccessBlock" => Output(put_public_access_block),
        "GetPublicAccessBlock" => Output(get_public_access_block),
        "DeletePublicAccessBlock" => Output(delete_public_access_block),
        "PutBucketTagging" => Output(put_bucket_tagging),
        "GetBucketTagging" => Output(get_bucket_tagging),
        "DeleteBucketTagging" => Output(delete_bucket_tagging),
        "PutBucketPolicy" => Output(put_bucket_policy),
        "GetBucketPolicy" => Output(get_bucket_policy),
        "DeleteBucketPolicy" => Output(delete_bucket_policy),
        "GetBucketCors" => Output(settings::get_bucket_cors),
        "GetBucketWebsite" => Output(settings::get_bucket_website),
        "GetBucketLifecycleConfiguration" => Output(settings::get_bucket_lifecycle_configuration),
        "GetBucketReplication" => Output(settings::get_bucket_replication),
        "GetObjectLockConfiguration" => Output(settings::get_object_lock_configuration),
        "GetBucketAccelerateConfiguration" => Output(settings::get_bucket_accelerate_configuration),
        "GetBucketRequestPayment" => Output(settings::get_bucket_request_payment),
        "GetBucketLogging" => Output(settings::get_bucket_logging),
        "GetBucketEncryption" => Output(settings::get_bucket_encryption),
        "GetBucketAcl" => Output(settings::get_bucket_acl),
        "GetBucketOwnershipControls" => Output(settings::get_bucket_ownership_controls),
        "PutBucketOwnershipControls" => Output(settings::put_bucket_ownership_controls),
        "DeleteBucketOwnershipControls" => Output(settings::delete_bucket_ownership_controls),
        "PutObject" => Value(objects::put_object),
        "GetObject" => Output(objects::get_object),
        "HeadObject" => Value(objects::head_object),
        "DeleteObject" => Value(objects::delete_object),
        "DeleteObjects" => Value(objects::delete_objects),
        "CopyObject" => Value(objects::copy_object),
        "ListObjectsV2" => Value(list::list_objects_v2),
        "ListObjects" => Value(list::list_objects),
        "ListObjectVersions" => Value(list::list_object_versions),
        "CreateMultipartUpload" => Value(multipart::create),
        "UploadPart" => Value(multipart::upload_part),
        "CompleteMultipartUpload" => Value(multipart::complete),
        "AbortMultipartUpload" => Value(multipart::abort),
        "ListParts" => Value(multipart::list_parts),
        "ListMultipartUploads" => Value(multipart::list_uploads),
    },
    records: record_kinds,
    iam: crate::authz::Iam {
        access,
        quote_resource: true,
        ..crate::authz::Iam::new("s3", "AccessDenied", 403)
    },
    endpoints: &["s3"],
    ..Service::NOTHING
};

// ---- errors -------------------------------------------------------------------------------

pub(crate) fn no_such_bucket(name: &str) -> ApiError {
    ApiError::new("NoSuchBucket", "The specified bucket does not exist")
        .with_status(404)
        .with_extra("BucketName", json!(name))
}

pub(crate) fn access_denied() -> ApiError {
    ApiError::new("AccessDenied", "Access Denied").with_status(403)
}

fn invalid_bucket_name(name: &str) -> ApiError {
    ApiError::new("InvalidBucketName", "The specified bucket is not valid.")
        .with_status(400)
        .with_extra("BucketName", json!(name))
}

pub(crate) fn invalid_argument(message: impl Into<String>) -> ApiError {
    ApiError::new("InvalidArgument", message).with_status(400)
}

pub(crate) fn malformed_xml() -> ApiError {
    ApiError::new(
        "MalformedXML",
        "The XML you provided was not well-formed or did not validate against our published schema",
    )
    .with_status(400)
}

// ---- buckets ------------------------------------------------------------------------------

/// The input as its generated type. The decoder has checked the body against the model's
/// shapes but not the members a nested structure requires (`Tagging`'s `TagSet`): S3 answers
/// a body without them as XML that does not validate against its schema.
fn request<'a, T: Deserialize<'a>>(input: &'a Value) -> ApiResult<T> {
    T::deserialize(input).map_err(|_| malformed_xml())
}

/// The bucket `input` names, which must exist and be the caller's.
pub(super) fn requested(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Bucket> {
    let name = crate::input::req(input, "Bucket")?;
    ctx.store.read(|v| owned_bucket(v, ctx, name))
}

/// The bucket `name` as the caller may use it: `NoSuchBucket` if there is none, `AccessDenied`
/// if another account owns it.
pub(crate) fn owned_bucket(r: &impl Read, ctx: &Ctx<'_>, name: &str) -> ApiResult<Bucket> {
    let b = r
        .get::<Bucket>(&buckets(), name)
        .ok_or_else(|| no_such_bucket(name))?;
    if b.owner != ctx.account() {
        return Err(access_denied());
    }
    Ok((*b).clone())
}

/// S3's naming rules for general purpose buckets.
pub fn valid_bucket_name(name: &str) -> bool {
    let b = name.as_bytes();
    let edge = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    (3..=63).contains(&b.len())
        && b.iter().all(|&c| edge(c) || c == b'.' || c == b'-')
        && edge(b[0])
        && edge(b[b.len() - 1])
        && !name.contains("..")
        && name.parse::<std::net::Ipv4Addr>().is_err()
        && !["xn--", "sthree-", "amzn-s3-demo-"]
            .iter()
            .any(|p| name.starts_with(p))
        && !["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"]
            .iter()
            .any(|s| name.ends_with(s))
}

/// A region name as AWS forms them (`us-east-1`, `eu-central-2`, `us-gov-west-1`).
fn known_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    let word = |p: &str| !p.is_empty() && p.bytes().all(|c| c.is_ascii_lowercase());
    match parts.as_slice() {
        [area, dir, n] | [area, "gov", dir, n] => {
            area.len() == 2
                && word(area)
                && word(dir)
                && !n.is_empty()
                && n.bytes().all(|c| c.is_ascii_digit())
        }
        _ => false,
    }
}

fn create_bucket(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::CreateBucketRequest = request(input)?;
    let name = crate::input::given(&req.bucket, "Bucket")?;
    if !valid_bucket_name(name) {
        return Err(invalid_bucket_name(name));
    }
    let constraint = req
        .create_bucket_configuration
        .as_ref()
        .and_then(|c| c.location_constraint.as_deref())
        .filter(|c| !c.is_empty());
    let invalid_constraint = || {
        let mut e = ApiError::new(
            "InvalidLocationConstraint",
            "The specified location-constraint is not valid",
        )
        .with_status(400);
        if let Some(c) = constraint {
            e.extra.push(("LocationConstraint".into(), json!(c)));
        }
        e
    };
    let region = match constraint {
        // us-east-1 is the region without a constraint; naming it is refused.
        Some(DEFAULT_REGION) => return Err(invalid_constraint()),
        Some("EU") => "eu-west-1".to_owned(),
        Some(c) if !known_region(c) => return Err(invalid_constraint()),
        Some(c) if ctx.region != DEFAULT_REGION && c != ctx.region => {
            return Err(ApiError::new(
                "IllegalLocationConstraintException",
                format!(
                    "The {c} location constraint is incompatible for the region specific endpoint this request was sent to."
                ),
            )
            .with_status(400))
        }
        Some(c) => c.to_owned(),
        None if ctx.region != DEFAULT_REGION => {
            return Err(ApiError::new(
                "IllegalLocationConstraintException",
                "The unspecified location constraint is incompatible for the region specific endpoint this request was sent to.",
            )
            .with_status(400))
        }
        None => DEFAULT_REGION.to_owned(),
    };
    let ownership = req
        .object_ownership
        .unwrap_or_else(|| settings::ENFORCED.to_owned());
    settings::check_ownership(&ownership)?;
    let location = if region == DEFAULT_REGION {
        format!("/{name}")
    } else {
        format!("http://{name}.s3.amazonaws.com/")
    };
    ctx.store.write(|tx| {
        if let Some(b) = tx.get::<Bucket>(&buckets(), name) {
            if b.owner != ctx.account() {
                return Err(ApiError::new(
                    "BucketAlreadyExists",
                    "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.",
                ));
            }
            // us-east-1 answers a repeated create by the owner with success (legacy).
            if b.region == DEFAULT_REGION && region == DEFAULT_REGION {
                return Ok(());
            }
            return Err(ApiError::new(
                "BucketAlreadyOwnedByYou",
                "Your previous request to create the named bucket succeeded and you already own it.",
            ).with_extra("BucketName", json!(name)));
        }
        tx.put(
            &buckets(),
            Bucket {
                name: name.to_owned(),
                owner: ctx.account().to_owned(),
                region: region.clone(),
                created: crate::iso(ctx.clock.now()),
                versioning: None,
                public_access_block: None,
                tags: None,
                policy: None,
                object_ownership: Some(ownership.clone()),
            },
        )?;
        Ok(())
    })?;
    Ok(Output::new(dto::CreateBucketOutput {
        location: Some(location),
        bucket_arn: None,
    }))
}

fn delete_bucket(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let name = crate::input::req(input, "Bucket")?;
    let uploads = ctx.store.write(|tx| {
        owned_bucket(tx, ctx, name)?;
        if !tx.list::<objects::Object>(&objects_of(name)).is_empty()
            || !tx
                .list::<versions::Version>(&versions::versions_of(name))
                .is_empty()
        {
            return Err(ApiError::new(
                "BucketNotEmpty",
                "The bucket you tried to delete is not empty",
            )
            .with_status(409)
            .with_extra("BucketName", json!(name)));
        }
        // Uploads in progress go with the bucket (their parts' contents after the commit).
        let uploads = tx.list::<multipart::Upload>(&uploads_of(name));
        for u in &uploads {
            tx.delete::<multipart::Upload>(&uploads_of(name), &u.id);
        }
        tx.delete::<Bucket>(&buckets(), name);
        Ok(uploads)
    })?;
    for u in uploads {
        for p in u.parts.values() {
            blob::remove(ctx.store, &p.blob);
        }
    }
    Ok(Output::new(()))
}

fn head_bucket(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let b = requested(ctx, input)?;
    Ok(Output::new(dto::HeadBucketOutput {
        bucket_region: Some(b.region),
        access_point_alias: Some(false),
        ..Default::default()
    }))
}

fn list_buckets(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::ListBucketsRequest = request(input)?;
    let prefix = req.prefix.as_deref().unwrap_or("");
    let list = ctx.store.read(|v| {
        v.list::<Bucket>(&buckets())
            .into_iter()
            .filter(|b| b.owner == ctx.account() && b.name.starts_with(prefix))
            .filter(|b| req.bucket_region.as_ref().is_none_or(|r| *r == b.region))
            .map(|b| dto::Bucket {
                name: Some(b.name.clone()),
                creation_date: Some(b.created.clone()),
                bucket_region: Some(b.region.clone()),
                bucket_arn: None,
            })
            .collect()
    });
    Ok(Output::new(dto::ListBucketsOutput {
        buckets: Some(list),
        owner: Some(owner(ctx.account())),
        ..Default::default()
    }))
}

/// The canonical user id of an account (64 hex digits, stable).
pub(crate) fn owner_id(account: &str) -> String {
    crate::ids::hex_of(&format!("s3-owner-{account}"), 64)
}

/// An account as S3 names an owner.
fn owner(account: &str) -> dto::Owner {
    dto::Owner {
        id: Some(owner_id(account)),
        display_name: Some("airlock".into()),
    }
}

fn get_bucket_location(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let b = requested(ctx, input)?;
    // us-east-1 buckets answer an empty constraint.
    Ok(Output::new(dto::GetBucketLocationOutput {
        location_constraint: (b.region != DEFAULT_REGION).then_some(b.region),
    }))
}

/// Changes a bucket the caller owns.
pub(super) fn update_bucket(
    ctx: &Ctx<'_>,
    input: &Value,
    f: impl FnOnce(&mut Bucket) -> ApiResult<()>,
) -> ApiResult<Output> {
    let name = crate::input::req(input, "Bucket")?;
    ctx.store.write(|tx| {
        let mut b = owned_bucket(tx, ctx, name)?;
        f(&mut b)?;
        tx.put(&buckets(), b)?;
        Ok::<_, ApiError>(())
    })?;
    Ok(Output::new(()))
}

fn put_bucket_versioning(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::PutBucketVersioningRequest = request(input)?;
    let status = req.versioning_configuration.status;
    match status.as_deref() {
        Some("Enabled" | "Suspended") => {}
        _ => return Err(malformed_xml()),
    }
    update_bucket(ctx, input, |b| {
        b.versioning = status;
        Ok(())
    })
}

fn get_bucket_versioning(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let b = requested(ctx, input)?;
    Ok(Output::new(dto::GetBucketVersioningOutput {
        status: b.versioning,
        mfa_delete: None,
    }))
}

fn put_public_access_block(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::PutPublicAccessBlockRequest = request(input)?;
    update_bucket(ctx, input, |b| {
        b.public_access_block = Some(req.public_access_block_configuration);
        Ok(())
    })
}

fn get_public_access_block(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let b = requested(ctx, input)?;
    match b.public_access_block {
        Some(c) => Ok(Output::new(dto::GetPublicAccessBlockOutput {
            public_access_block_configuration: Some(c),
        })),
        None => Err(ApiError::new(
            "NoSuchPublicAccessBlockConfiguration",
            "The public access block configuration was not found",
        )
        .with_status(404)
        .with_extra("BucketName", json!(b.name))),
    }
}

fn delete_public_access_block(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    update_bucket(ctx, input, |b| {
        b.public_access_block = None;
        Ok(())
    })
}

fn put_bucket_tagging(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::PutBucketTaggingRequest = request(input)?;
    let tags = req.tagging.tag_set;
    if tags.len() > 50 {
        return Err(ApiError::new(
            "BadRequest",
            "Object tags cannot be greater than 50",
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    for t in &tags {
        let key = t.key.as_deref().unwrap_or("");
        if key.is_empty() || key.len() > 128 {
            return Err(ApiError::new(
                "InvalidTag",
                "The TagKey you have provided is invalid",
            ));
        }
        if t.value.as_ref().is_some_and(|v| v.len() > 256) {
            return Err(ApiError::new(
                "InvalidTag",
                "The TagValue you have provided is invalid",
            ));
        }
        if !seen.insert(key.to_owned()) {
            return Err(ApiError::new(
                "InvalidTag",
                "Cannot provide multiple Tags with the same key",
            ));
        }
    }
    update_bucket(ctx, input, |b| {
        b.tags = Some(tags);
        Ok(())
    })
}

fn get_bucket_tagging(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let b = requested(ctx, input)?;
    match b.tags {
        Some(t) => Ok(Output::new(dto::GetBucketTaggingOutput {
            tag_set: Some(t),
        })),
        None => Err(ApiError::new("NoSuchTagSet", "The TagSet does not exist")
            .with_status(404)
            .with_extra("BucketName", json!(b.name))),
    }
}

fn delete_bucket_tagging(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    update_bucket(ctx, input, |b| {
        b.tags = None;
        Ok(())
    })
}

fn put_bucket_policy(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let policy = request::<dto::PutBucketPolicyRequest>(input)?.policy;
    let parsed: Option<Value> = serde_json::from_str(&policy).ok();
    if !policy.trim_start().starts_with('{') || !parsed.as_ref().is_some_and(Value::is_object) {
        return Err(ApiError::new(
            "MalformedPolicy",
            "Policies must be valid JSON and the first byte must be '{'",
        ));
    }
    update_bucket(ctx, input, |b| {
        b.policy = Some(policy);
        Ok(())
    })
}

fn get_bucket_policy(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let b = requested(ctx, input)?;
    match b.policy {
        Some(p) => Ok(Output::new(dto::GetBucketPolicyOutput { policy: Some(p) })),
        None => Err(
            ApiError::new("NoSuchBucketPolicy", "The bucket policy does not exist")
                .with_status(404)
                .with_extra("BucketName", json!(b.name)),
        ),
    }
}

fn delete_bucket_policy(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    update_bucket(ctx, input, |b| {
        b.policy = None;
        Ok(())
    })
}

/// An output with its raw payload (GetObject).
pub(crate) fn with_payload(value: Value, bytes: Vec<u8>) -> Output {
    Output::new(value).with_payload(bytes)
}

#[cfg(test)]
mod tests;

// ---- authorization ------------------------------------------------------------------------

/// The IAM action of an S3 operation (the Service Authorization Reference names several
/// operations by one action).
fn action_of(op: &str) -> &str {
    match op {
        "ListObjectsV2" | "ListObjects" | "HeadBucket" => "ListBucket",
        "ListObjectVersions" => "ListBucketVersions",
        "HeadObject" => "GetObject",
        "ListBuckets" => "ListAllMyBuckets",
        "DeleteObjects" => "DeleteObject",
        "CopyObject" | "CreateMultipartUpload" | "UploadPart" | "CompleteMultipartUpload" => {
            "PutObject"
        }
        "ListMultipartUploads" => "ListBucketMultipartUploads",
        "ListParts" => "ListMultipartUploadParts",
        "PutPublicAccessBlock" | "DeletePublicAccessBlock" => "PutBucketPublicAccessBlock",
        "GetPublicAccessBlock" => "GetBucketPublicAccessBlock",
        "DeleteBucketTagging" => "PutBucketTagging",
        "GetBucketCors" => "GetBucketCORS",
        "GetBucketLifecycleConfiguration" => "GetLifecycleConfiguration",
        "GetBucketReplication" => "GetReplicationConfiguration",
        "GetObjectLockConfiguration" => "GetBucketObjectLockConfiguration",
        "GetBucketAccelerateConfiguration" => "GetAccelerateConfiguration",
        "GetBucketEncryption" => "GetEncryptionConfiguration",
        "PutBucketOwnershipControls" | "DeleteBucketOwnershipControls" => {
            "PutBucketOwnershipControls"
        }
        other => other,
    }
}

/// What an S3 request needs: its action on the object (`arn:<partition>:s3:::bucket/key`) or bucket,
/// with the bucket's policy as the resource-based policy; CopyObject also needs `s3:GetObject`
/// on its source, DeleteObjects `s3:DeleteObject` on each key.
fn access(c: &crate::authz::Call<'_>) -> Vec<crate::authz::Access> {
    use crate::authz::Access;
    let action = format!("s3:{}", action_of(c.op));
    let Some(bucket) = c.str("Bucket") else {
        return vec![Access::new(action, "*")];
    };
    let policy_of = |b: &str| {
        c.ctx
            .store
            .read(|v| v.get::<Bucket>(&buckets(), b))
            .and_then(|b| b.policy.clone())
    };
    let on = |action: &str, bucket: &str, key: Option<&str>| Access {
        action: action.to_owned(),
        resources: vec![match key {
            Some(k) => {
                crate::partition::global_arn(&c.ctx.region, "s3", "", &format!("{bucket}/{k}"))
            }
            None => crate::partition::global_arn(&c.ctx.region, "s3", "", bucket),
        }],
        resource_policy: policy_of(bucket),
        keys: Vec::new(),
    };
    let mut needs = Vec::new();
    if c.op == "DeleteObjects" {
        let keys = c
            .input
            .pointer("/Delete/Objects")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|o| o.get("Key").and_then(Value::as_str));
        needs.extend(keys.map(|k| on(&action, bucket, Some(k))));
    } else {
        needs.push(on(&action, bucket, c.str("Key")));
    }
    if c.op == "CopyObject" {
        if let Some((b, k, _)) = c
            .str("CopySource")
            .and_then(|s| objects::copy_source(s).ok())
        {
            needs.push(on("s3:GetObject", &b, Some(&k)));
        }
    }
    needs
}
