//! Multipart uploads: CreateMultipartUpload, UploadPart, CompleteMultipartUpload (ETag
//! `"<md5 of the parts' md5s>-<count>"`), AbortMultipartUpload, ListParts,
//! ListMultipartUploads. An upload is one record holding its parts; each part's content is
//! a blob of its own until the upload completes or is aborted.

use super::objects::{check_content_md5, check_key, described, store_object, Described, Object};
use super::{blob, owned_bucket, uploads_of, Blob};
use crate::Ctx;
use airlock_protocol::{ApiError, ApiResult};
use airlock_store::Read;
use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The smallest part but the last (5 MiB).
const MIN_PART: u64 = 5 * 1024 * 1024;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Upload {
    pub id: String,
    pub key: String,
    /// ISO 8601.
    pub initiated: String,
    /// What the completed object will say of its content.
    #[serde(flatten)]
    pub described: Described,
    #[serde(default)]
    pub parts: BTreeMap<u32, Part>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Part {
    pub etag: String,
    pub size: u64,
    pub last_modified: String,
    pub blob: Blob,
}

airlock_store::record!(Upload, "s3.upload", id);

fn no_such_upload(id: &str) -> ApiError {
    ApiError::new(
        "NoSuchUpload",
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
    )
    .with_status(404).with_extra("UploadId", json!(id))
}

/// The upload `id` for `key` in a bucket the caller owns.
fn upload(r: &impl Read, ctx: &Ctx<'_>, bucket: &str, key: &str, id: &str) -> ApiResult<Upload> {
    owned_bucket(r, ctx, bucket)?;
    match r.get::<Upload>(&uploads_of(bucket), id) {
        Some(u) if u.key == key => Ok((*u).clone()),
        _ => Err(no_such_upload(id)),
    }
}

pub fn create(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    let bucket = crate::input::req(input, "Bucket")?;
    let key = crate::input::req(input, "Key")?;
    check_key(key)?;
    let described = described(input);
    let id = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    ctx.store.write(|tx| {
        owned_bucket(tx, ctx, bucket)?;
        tx.put(
            &uploads_of(bucket),
            Upload {
                id: id.clone(),
                key: key.to_owned(),
                initiated: crate::iso(ctx.clock.now()),
                described,
                parts: BTreeMap::new(),
            },
        )?;
        Ok::<_, ApiError>(())
    })?;
    Ok(json!({ "Bucket": bucket, "Key": key, "UploadId": id }))
}

fn part_number(input: &Value) -> ApiResult<u32> {
    match crate::input::int(input, "PartNumber") {
        Some(n @ 1..=10000) => Ok(n as u32),
        _ => Err(super::invalid_argument(
            "Part number must be an integer between 1 and 10000, inclusive",
        )),
    }
}

pub fn upload_part(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    let bucket = crate::input::req(input, "Bucket")?;
    let key = crate::input::req(input, "Key")?;
    let id = crate::input::req(input, "UploadId")?;
    let n = part_number(input)?;
    ctx.store.read(|v| upload(v, ctx, bucket, key, id))?;
    let md5 = ctx.body.md5();
    check_content_md5(input, &md5)?;
    let etag = format!("\"{}\"", hex::encode(md5));
    let fresh = blob::keep(ctx.store, &ctx.body)?;
    let part = Part {
        etag: etag.clone(),
        size: ctx.body.len(),
        last_modified: crate::iso(ctx.clock.now()),
        blob: fresh.clone(),
    };
    let replaced = ctx.store.write(|tx| {
        let mut u = upload(tx, ctx, bucket, key, id)?;
        let old = u.parts.insert(n, part);
        tx.put(&uploads_of(bucket), u)?;
        Ok::<_, ApiError>(old)
    });
    match replaced {
        Ok(Some(old)) => blob::remove(ctx.store, &old.blob),
        Ok(None) => {}
        Err(e) => {
            blob::remove(ctx.store, &fresh);
            return Err(e);
        }
    }
    Ok(json!({ "ETag": etag }))
}

fn invalid_part() -> ApiError {
    ApiError::new(
        "InvalidPart",
        "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
    )
}

pub fn complete(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    let bucket = crate::input::req(input, "Bucket")?;
    let key = crate::input::req(input, "Key")?;
    let id = crate::input::req(input, "UploadId")?;
    let u = ctx.store.read(|v| upload(v, ctx, bucket, key, id))?;
    let listed = input
        .pointer("/MultipartUpload/Parts")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if listed.is_empty() {
        return Err(super::malformed_xml());
    }
    let mut chosen: Vec<&Part> = Vec::with_capacity(listed.len());
    let mut previous = 0;
    for p in &listed {
        let n = p.get("PartNumber").and_then(Value::as_i64).unwrap_or(0);
        if n <= previous {
            return Err(ApiError::new(
                "InvalidPartOrder",
                "The list of parts was not in ascending order. Parts must be ordered by part number.",
            ));
        }
        previous = n;
        let etag = p.get("ETag").and_then(Value::as_str).unwrap_or("");
        let part = u32::try_from(n)
            .ok()
            .and_then(|n| u.parts.get(&n))
            .filter(|part| part.etag.trim_matches('"') == etag.trim().trim_matches('"'))
            .ok_or_else(invalid_part)?;
        chosen.push(part);
    }
    if let Some(small) = chosen[..chosen.len() - 1]
        .iter()
        .find(|p| p.size < MIN_PART)
    {
        return Err(ApiError::new(
            "EntityTooSmall",
            "Your proposed upload is smaller than the minimum allowed object size.",
        )
        .with_extra("ProposedSize", json!(small.size))
        .with_extra("MinSizeAllowed", json!(MIN_PART)));
    }
    let mut md5s = Md5::new();
    for p in &chosen {
        md5s.update(hex::decode(p.etag.trim_matches('"')).unwrap_or_default());
    }
    let etag = format!("\"{}-{}\"", hex::encode(md5s.finalize()), chosen.len());
    let blobs: Vec<&Blob> = chosen.iter().map(|p| &p.blob).collect();
    let content = blob::concat(ctx.store, &blobs)?;
    let object = Object {
        key: key.to_owned(),
        size: chosen.iter().map(|p| p.size).sum(),
        etag: etag.clone(),
        last_modified: crate::iso(ctx.clock.now()),
        described: u.described.clone(),
        parts: Some(chosen.len() as u32),
        blob: content.clone(),
        version_id: None,
        delete_marker: false,
        written: 0,
    };
    // The object appears and the upload goes in one transaction.
    let done = ctx.store.write(|tx| {
        upload(tx, ctx, bucket, key, id)?;
        tx.delete::<Upload>(&uploads_of(bucket), id);
        Ok::<_, ApiError>(())
    });
    if let Err(e) = done {
        blob::remove(ctx.store, &content);
        return Err(e);
    }
    let stored = store_object(ctx, bucket, object)?;
    for p in u.parts.values() {
        blob::remove(ctx.store, &p.blob);
    }
    let location = format!("/{bucket}/{key}");
    let mut out = json!({ "Location": location, "Bucket": bucket, "Key": key, "ETag": etag });
    if let Some(v) = stored.version_id {
        out["VersionId"] = json!(v);
    }
    Ok(out)
}

pub fn abort(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    let bucket = crate::input::req(input, "Bucket")?;
    let key = crate::input::req(input, "Key")?;
    let id = crate::input::req(input, "UploadId")?;
    let u = ctx.store.write(|tx| {
        let u = upload(tx, ctx, bucket, key, id)?;
        tx.delete::<Upload>(&uploads_of(bucket), id);
        Ok::<_, ApiError>(u)
    })?;
    for p in u.parts.values() {
        blob::remove(ctx.store, &p.blob);
    }
    Ok(json!({}))
}

pub fn list_parts(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    let bucket = crate::input::req(input, "Bucket")?;
    let key = crate::input::req(input, "Key")?;
    let id = crate::input::req(input, "UploadId")?;
    let u = ctx.store.read(|v| upload(v, ctx, bucket, key, id))?;
    let max = crate::input::int(input, "MaxParts")
        .unwrap_or(1000)
        .clamp(0, 1000) as usize;
    let marker = crate::input::int(input, "PartNumberMarker").unwrap_or(0);
    let after: Vec<(&u32, &Part)> = u
        .parts
        .iter()
        .filter(|(n, _)| i64::from(**n) > marker)
        .collect();
    let shown = &after[..after.len().min(max)];
    let truncated = after.len() > shown.len();
    let parts: Vec<Value> = shown
        .iter()
        .map(|(n, p)| {
            json!({"PartNumber": n, "ETag": p.etag, "Size": p.size, "LastModified": p.last_modified})
        })
        .collect();
    let owner = json!({ "ID": super::owner_id(ctx.account()), "DisplayName": "airlock" });
    let mut out = json!({
        "Bucket": bucket, "Key": key, "UploadId": id, "MaxParts": max,
        "PartNumberMarker": marker, "IsTruncated": truncated, "StorageClass": "STANDARD",
        "Owner": owner.clone(), "Initiator": owner,
    });
    if let Some(m) = out.as_object_mut() {
        if !parts.is_empty() {
            m.insert("Parts".into(), Value::Array(parts));
        }
        if let (true, Some((n, _))) = (truncated, shown.last()) {
            m.insert("NextPartNumberMarker".into(), json!(n));
        }
    }
    Ok(out)
}

pub fn list_uploads(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    let bucket = crate::input::req(input, "Bucket")?;
    let prefix = crate::input::str(input, "Prefix").unwrap_or("");
    let mut uploads = ctx.store.read(|v| {
        owned_bucket(v, ctx, bucket)?;
        Ok::<_, ApiError>(v.list::<Upload>(&uploads_of(bucket)))
    })?;
    uploads.retain(|u| u.key.starts_with(prefix));
    uploads.sort_by(|a, b| (&a.key, &a.initiated).cmp(&(&b.key, &b.initiated)));
    let max = crate::input::int(input, "MaxUploads")
        .unwrap_or(1000)
        .clamp(0, 1000) as usize;
    let truncated = uploads.len() > max;
    let owner = json!({ "ID": super::owner_id(ctx.account()), "DisplayName": "airlock" });
    let list: Vec<Value> = uploads
        .iter()
        .take(max)
        .map(|u| {
            json!({"Key": u.key, "UploadId": u.id, "Initiated": u.initiated,
                   "StorageClass": "STANDARD", "Owner": owner, "Initiator": owner})
        })
        .collect();
    let mut out = json!({
        "Bucket": bucket, "Prefix": prefix, "MaxUploads": max, "IsTruncated": truncated,
        "KeyMarker": "", "UploadIdMarker": "",
    });
    if let Some(m) = out.as_object_mut() {
        if !list.is_empty() {
            m.insert("Uploads".into(), Value::Array(list));
        }
    }
    Ok(out)
}
