//! S3 buckets and bucket policies, SSM parameters.

use super::*;

pub(super) static TYPES: &[Type] = &[
    Type {
        name: "AWS::S3::Bucket",
        create: |ctx, p| {
            let name = p
                .str("BucketName")
                .unwrap_or_else(|| p.generated(63).to_ascii_lowercase());
            let location = if ctx.region == "us-east-1" {
                Value::Null
            } else {
                json!({"LocationConstraint": ctx.region})
            };
            s3(
                ctx,
                "CreateBucket",
                json!({"Bucket": name, "CreateBucketConfiguration": location}),
            )?;
            for (property, put, _) in BUCKET_SETTINGS {
                if let Some(v) = p.get(property) {
                    s3(ctx, put, json!({"Bucket": name, property: v}))?;
                }
            }
            let tags = p.tag_list();
            if !tags.is_empty() {
                s3(
                    ctx,
                    "PutBucketTagging",
                    json!({"Bucket": name, "Tagging": {"TagSet": tags}}),
                )?;
            }
            Ok(name)
        },
        ready: at_once,
        made: |ctx, name, _| {
            let suffix = crate::partition::dns_suffix(&ctx.region);
            made(
                name,
                vec![
                    (
                        "Arn",
                        json!(format!(
                            "arn:{}:s3:::{name}",
                            crate::partition::of(&ctx.region)
                        )),
                    ),
                    ("DomainName", json!(format!("{name}.s3.{suffix}"))),
                    (
                        "RegionalDomainName",
                        json!(format!("{name}.s3.{}.{suffix}", ctx.region)),
                    ),
                    (
                        "DualStackDomainName",
                        json!(format!("{name}.s3.dualstack.{}.{suffix}", ctx.region)),
                    ),
                    (
                        "WebsiteURL",
                        json!(format!("http://{name}.s3-website.{}.{suffix}", ctx.region)),
                    ),
                ],
            )
        },
        delete: |ctx, name, _| delete_by(ctx, "s3", "DeleteBucket", "Bucket", name),
        gone: at_once,
        mutable: &[
            "VersioningConfiguration",
            "PublicAccessBlockConfiguration",
            "OwnershipControls",
            "Tags",
        ],
        update: Some(update_bucket),
        name_prop: Some("BucketName"),
    },
    Type {
        name: "AWS::S3::BucketPolicy",
        create: |ctx, p| {
            let bucket = p.req("Bucket")?;
            s3(
                ctx,
                "PutBucketPolicy",
                json!({"Bucket": bucket, "Policy": document(p.get("PolicyDocument"))}),
            )?;
            Ok(bucket)
        },
        delete: |ctx, bucket, _| delete_by(ctx, "s3", "DeleteBucketPolicy", "Bucket", bucket),
        mutable: &["PolicyDocument"],
        update: Some(update_bucket_policy),
        ..FIXED
    },
    Type {
        name: "AWS::SSM::Parameter",
        create: |ctx, p| {
            let name = p
                .str("Name")
                .unwrap_or_else(|| format!("CFN-{}-{}", p.logical, random_suffix()));
            put_parameter(ctx, &name, p, false)?;
            Ok(name)
        },
        ready: at_once,
        made: |ctx, name, _| {
            let out = one(ctx, "ssm", "GetParameter", json!({"Name": name}))?;
            made(
                name,
                vec![
                    ("Type", ptr(&out, "/Parameter/Type").clone()),
                    ("Value", ptr(&out, "/Parameter/Value").clone()),
                ],
            )
        },
        delete: |ctx, name, _| delete_by(ctx, "ssm", "DeleteParameter", "Name", name),
        gone: at_once,
        mutable: &[
            "Value",
            "Description",
            "AllowedPattern",
            "Tier",
            "DataType",
            "Type",
        ],
        update: Some(update_parameter),
        name_prop: Some("Name"),
    },
];

/// What a property left out of an update does to the bucket.
enum Removed {
    /// This operation removes the setting.
    By(&'static str),
    /// The put operation with this value (versioning cannot be removed, only suspended).
    Put(fn() -> Value),
}

/// The bucket settings a template sets with one put each: property (also the put's member),
/// put operation, what its removal does.
const BUCKET_SETTINGS: [(&str, &str, Removed); 3] = [
    (
        "VersioningConfiguration",
        "PutBucketVersioning",
        Removed::Put(|| json!({"Status": "Suspended"})),
    ),
    (
        "PublicAccessBlockConfiguration",
        "PutPublicAccessBlock",
        Removed::By("DeletePublicAccessBlock"),
    ),
    (
        "OwnershipControls",
        "PutBucketOwnershipControls",
        Removed::By("DeleteBucketOwnershipControls"),
    ),
];

fn update_bucket(ctx: &Ctx<'_>, name: &str, change: &Change<'_>) -> ApiResult<Option<String>> {
    let new = change.new;
    for (property, put, removed) in BUCKET_SETTINGS {
        if !change.changed(property) {
            continue;
        }
        match (new.get(property), removed) {
            (Some(v), _) => s3(ctx, put, json!({"Bucket": name, property: v}))?,
            (None, Removed::By(delete)) => s3(ctx, delete, json!({"Bucket": name}))?,
            (None, Removed::Put(value)) => {
                s3(ctx, put, json!({"Bucket": name, property: value()}))?
            }
        };
    }
    if change.changed("Tags") {
        let tags = new.tag_list();
        if tags.is_empty() {
            s3(ctx, "DeleteBucketTagging", json!({"Bucket": name}))?;
        } else {
            s3(
                ctx,
                "PutBucketTagging",
                json!({"Bucket": name, "Tagging": {"TagSet": tags}}),
            )?;
        }
    }
    Ok(None)
}

fn update_bucket_policy(
    ctx: &Ctx<'_>,
    bucket: &str,
    change: &Change<'_>,
) -> ApiResult<Option<String>> {
    let new = change.new;
    s3(
        ctx,
        "PutBucketPolicy",
        json!({"Bucket": bucket, "Policy": document(new.get("PolicyDocument"))}),
    )?;
    Ok(None)
}

fn update_parameter(ctx: &Ctx<'_>, name: &str, change: &Change<'_>) -> ApiResult<Option<String>> {
    put_parameter(ctx, name, change.new, true)?;
    Ok(None)
}

/// PutParameter with the properties: a new parameter with its tags, or (`overwrite`) a new value
/// and settings for one (SSM takes no tags with `Overwrite`).
fn put_parameter(ctx: &Ctx<'_>, name: &str, p: &Props<'_>, overwrite: bool) -> ApiResult<()> {
    let tags = p
        .get("Tags")
        .and_then(Value::as_object)
        .filter(|_| !overwrite)
        .map(|m| {
            m.iter()
                .map(|(k, v)| json!({"Key": k, "Value": scalar(v)}))
                .collect::<Vec<_>>()
        })
        .filter(|t| !t.is_empty());
    one(
        ctx,
        "ssm",
        "PutParameter",
        json!({"Name": name, "Type": p.req("Type")?, "Value": p.req("Value")?,
               "Description": p.str("Description"), "AllowedPattern": p.str("AllowedPattern"),
               "Tier": p.str("Tier"), "DataType": p.str("DataType"), "Tags": tags,
               "Overwrite": overwrite.then_some(true)}),
    )?;
    Ok(())
}
