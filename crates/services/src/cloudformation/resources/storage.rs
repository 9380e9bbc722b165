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
            one(
                ctx,
                "s3",
                "CreateBucket",
                json!({"Bucket": name, "CreateBucketConfiguration": location}),
            )?;
            if let Some(v) = p.get("VersioningConfiguration") {
                one(
                    ctx,
                    "s3",
                    "PutBucketVersioning",
                    json!({"Bucket": name, "VersioningConfiguration": v}),
                )?;
            }
            if let Some(v) = p.get("PublicAccessBlockConfiguration") {
                one(
                    ctx,
                    "s3",
                    "PutPublicAccessBlock",
                    json!({"Bucket": name, "PublicAccessBlockConfiguration": v}),
                )?;
            }
            if let Some(v) = p.get("OwnershipControls") {
                one(
                    ctx,
                    "s3",
                    "PutBucketOwnershipControls",
                    json!({"Bucket": name, "OwnershipControls": v}),
                )?;
            }
            let tags = p.tag_list();
            if !tags.is_empty() {
                one(
                    ctx,
                    "s3",
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
        delete: |ctx, name, _| ok_if_gone(one(ctx, "s3", "DeleteBucket", json!({"Bucket": name}))),
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
            one(
                ctx,
                "s3",
                "PutBucketPolicy",
                json!({"Bucket": bucket, "Policy": document(p.get("PolicyDocument"))}),
            )?;
            Ok(bucket)
        },
        delete: |ctx, bucket, _| {
            ok_if_gone(one(
                ctx,
                "s3",
                "DeleteBucketPolicy",
                json!({"Bucket": bucket}),
            ))
        },
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
            let tags = p
                .get("Tags")
                .and_then(Value::as_object)
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
                       "Tier": p.str("Tier"), "DataType": p.str("DataType"), "Tags": tags}),
            )?;
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
        delete: |ctx, name, _| {
            ok_if_gone(one(ctx, "ssm", "DeleteParameter", json!({"Name": name})))
        },
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

fn update_bucket(
    ctx: &Ctx<'_>,
    name: &str,
    old: &Props<'_>,
    new: &Props<'_>,
) -> ApiResult<Option<String>> {
    if changed(old, new, "VersioningConfiguration") {
        let v = new
            .get("VersioningConfiguration")
            .cloned()
            .unwrap_or_else(|| json!({"Status": "Suspended"}));
        one(
            ctx,
            "s3",
            "PutBucketVersioning",
            json!({"Bucket": name, "VersioningConfiguration": v}),
        )?;
    }
    if changed(old, new, "PublicAccessBlockConfiguration") {
        match new.get("PublicAccessBlockConfiguration") {
            Some(v) => one(
                ctx,
                "s3",
                "PutPublicAccessBlock",
                json!({"Bucket": name, "PublicAccessBlockConfiguration": v}),
            )?,
            None => one(
                ctx,
                "s3",
                "DeletePublicAccessBlock",
                json!({"Bucket": name}),
            )?,
        };
    }
    if changed(old, new, "OwnershipControls") {
        match new.get("OwnershipControls") {
            Some(v) => one(
                ctx,
                "s3",
                "PutBucketOwnershipControls",
                json!({"Bucket": name, "OwnershipControls": v}),
            )?,
            None => one(
                ctx,
                "s3",
                "DeleteBucketOwnershipControls",
                json!({"Bucket": name}),
            )?,
        };
    }
    if changed(old, new, "Tags") {
        let tags = new.tag_list();
        if tags.is_empty() {
            one(ctx, "s3", "DeleteBucketTagging", json!({"Bucket": name}))?;
        } else {
            one(
                ctx,
                "s3",
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
    _: &Props<'_>,
    new: &Props<'_>,
) -> ApiResult<Option<String>> {
    one(
        ctx,
        "s3",
        "PutBucketPolicy",
        json!({"Bucket": bucket, "Policy": document(new.get("PolicyDocument"))}),
    )?;
    Ok(None)
}

fn update_parameter(
    ctx: &Ctx<'_>,
    name: &str,
    _: &Props<'_>,
    new: &Props<'_>,
) -> ApiResult<Option<String>> {
    one(
        ctx,
        "ssm",
        "PutParameter",
        json!({"Name": name, "Type": new.req("Type")?, "Value": new.req("Value")?,
               "Description": new.str("Description"), "AllowedPattern": new.str("AllowedPattern"),
               "Tier": new.str("Tier"), "DataType": new.str("DataType"), "Overwrite": true}),
    )?;
    Ok(None)
}
