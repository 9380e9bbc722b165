//! Objects: PutObject, GetObject (ranges, conditional requests), HeadObject, DeleteObject(s),
//! CopyObject. An object's record names its content ([`Blob`]); a replaced or deleted
//! object's content is removed once the record no longer names it.

use super::{blob, objects_of, owned_bucket, versions, Blob};
use crate::Ctx;
use airlock_protocol::{ApiError, ApiResult, Output};
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Object {
    pub key: String,
    pub size: u64,
    /// Quoted, as S3 writes it: `"<md5 hex>"`, or `"<md5 of part md5s>-<parts>"`.
    pub etag: String,
    /// ISO 8601.
    pub last_modified: String,
    #[serde(flatten)]
    pub described: Described,
    /// Parts of a multipart upload (none for a single PUT).
    #[serde(default)]
    pub parts: Option<u32>,
    pub blob: Blob,
    /// Its version id; `None` is the `null` version (written while versioning was off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// A delete marker: what a plain delete leaves on top of a versioned key.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub delete_marker: bool,
    /// When it was written, in an order with no ties ([`versions::stamp`]): `LastModified`
    /// has milliseconds, and two writes of one key can share one. 0 for objects stored before
    /// stamps were kept.
    #[serde(default)]
    pub written: u64,
}

airlock_store::record!(Object, "s3.object", key);

/// What the writer of an object said of its content (PutObject, CreateMultipartUpload, a
/// CopyObject that replaces it), given back by GetObject and HeadObject.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Described {
    pub content_type: String,
    /// `x-amz-meta-*` (names lowercased).
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// Content-Encoding, Content-Disposition, Content-Language, Cache-Control, Expires as sent.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

/// The stored representation headers and their output members.
const STORED_HEADERS: &[&str] = &[
    "CacheControl",
    "ContentDisposition",
    "ContentEncoding",
    "ContentLanguage",
    "Expires",
];

fn no_such_key(key: &str) -> ApiError {
    ApiError::new("NoSuchKey", "The specified key does not exist.")
        .with_status(404)
        .with_extra("Key", json!(key))
}

/// Checks `Content-MD5` (base64 of the body's MD5) when sent.
pub(crate) fn check_content_md5(input: &Value, md5: &[u8; 16]) -> ApiResult<()> {
    let Some(sent) = crate::input::str(input, "ContentMD5") else {
        return Ok(());
    };
    let digest = base64::engine::general_purpose::STANDARD
        .decode(sent.trim())
        .ok()
        .filter(|d| d.len() == 16)
        .ok_or_else(|| {
            ApiError::new(
                "InvalidDigest",
                "The Content-MD5 you specified is not valid.",
            )
        })?;
    if digest.as_slice() != md5.as_slice() {
        return Err(ApiError::new(
            "BadDigest",
            "The Content-MD5 you specified did not match what we received.",
        ));
    }
    Ok(())
}

/// Metadata and representation headers from a PutObject/CreateMultipartUpload/CopyObject
/// input.
pub(crate) fn described(input: &Value) -> Described {
    let content_type = crate::input::str(input, "ContentType")
        .unwrap_or("binary/octet-stream")
        .to_owned();
    let metadata = input
        .get("Metadata")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.to_ascii_lowercase(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default();
    let headers = STORED_HEADERS
        .iter()
        .filter_map(|h| Some(((*h).to_owned(), crate::input::str(input, h)?.to_owned())))
        .collect();
    Described {
        content_type,
        metadata,
        headers,
    }
}

/// Puts `object` into `bucket` (the bucket checked inside the same transaction) as its key's
/// current version (see [`versions::put_current`]) and removes the content nothing keeps any
/// more. Returns the object as stored (with its version id).
pub(crate) fn store_object(ctx: &Ctx<'_>, bucket: &str, object: Object) -> ApiResult<Object> {
    let fresh = object.blob.clone();
    let stored = ctx.store.write(|tx| {
        let b = owned_bucket(tx, ctx, bucket)?;
        versions::put_current(tx, &b, object)
    });
    match stored {
        Ok((object, orphans)) => {
            for old in orphans.iter().filter(|o| **o != fresh) {
                blob::remove(ctx.store, old);
            }
            Ok(object)
        }
        Err(e) => {
            blob::remove(ctx.store, &fresh);
            Err(e)
        }
    }
}

/// `VersionId` in an output, for a versioned object.
fn with_version(mut out: Value, o: &Object) -> Value {
    if let (Some(v), Some(map)) = (&o.version_id, out.as_object_mut()) {
        map.insert("VersionId".into(), json!(v));
    }
    out
}

pub fn put_object(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    let bucket = crate::input::req(input, "Bucket")?;
    let key = crate::input::req(input, "Key")?;
    check_key(key)?;
    ctx.store.read(|v| owned_bucket(v, ctx, bucket))?;
    let md5 = ctx.body.md5();
    check_content_md5(input, &md5)?;
    let etag = format!("\"{}\"", hex::encode(md5));
    let blob = blob::keep(ctx.store, &ctx.body)?;
    let stored = store_object(
        ctx,
        bucket,
        Object {
            key: key.to_owned(),
            size: ctx.body.len(),
            etag: etag.clone(),
            last_modified: crate::iso(ctx.clock.now()),
            described: described(input),
            parts: None,
            blob,
            version_id: None,
            delete_marker: false,
            written: 0,
        },
    )?;
    Ok(with_version(json!({ "ETag": etag }), &stored))
}

/// Keys are at most 1024 bytes.
pub(crate) fn check_key(key: &str) -> ApiResult<()> {
    if key.len() > 1024 {
        return Err(ApiError::new("KeyTooLongError", "Your key is too long"));
    }
    Ok(())
}

/// The object GetObject, HeadObject and CopyObject read: the current version of `key`, or the
/// version `VersionId` names.
fn find(ctx: &Ctx<'_>, bucket: &str, key: &str, version: Option<&str>) -> ApiResult<Object> {
    if let Some(v) = version {
        versions::check_id(v)?;
    }
    ctx.store.read(|r| {
        owned_bucket(r, ctx, bucket)?;
        match version {
            None => match r.get::<Object>(&objects_of(bucket), key) {
                Some(o) if !o.delete_marker => Ok((*o).clone()),
                _ => Err(no_such_key(key)),
            },
            Some(v) => match versions::get(r, bucket, key, v) {
                Some(o) if o.delete_marker => Err(ApiError::new(
                    "MethodNotAllowed",
                    "The specified method is not allowed against this resource.",
                )
                .with_status(405)),
                Some(o) => Ok(o),
                None => Err(versions::no_such_version(key, v)),
            },
        }
    })
}

/// The output members describing `o` (GetObject and HeadObject).
fn describe(o: &Object) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("AcceptRanges".into(), json!("bytes"));
    out.insert("ETag".into(), json!(o.etag));
    out.insert("LastModified".into(), json!(o.last_modified));
    out.insert("ContentLength".into(), json!(o.size));
    let d = &o.described;
    out.insert("ContentType".into(), json!(d.content_type));
    if !d.metadata.is_empty() {
        out.insert("Metadata".into(), json!(d.metadata));
    }
    for (k, v) in &d.headers {
        out.insert(k.clone(), json!(v));
    }
    if let Some(n) = o.parts {
        out.insert("PartsCount".into(), json!(n));
    }
    if let Some(v) = &o.version_id {
        out.insert("VersionId".into(), json!(v));
    }
    out
}

fn unquote(s: &str) -> &str {
    s.trim().trim_matches('"')
}

fn etag_matches(list: &str, etag: &str) -> bool {
    list.split(',')
        .any(|t| unquote(t) == "*" || unquote(t) == unquote(etag))
}

/// Seconds since the epoch of an ISO 8601 time (HTTP dates have second precision).
fn seconds(iso: &str) -> Option<i64> {
    airlock_protocol::restxml::parse_time(iso).map(|t| t.unix_timestamp())
}

/// If-Match / If-Unmodified-Since (412) and If-None-Match / If-Modified-Since (304), in the
/// order RFC 7232 gives them precedence.
fn check_conditions(input: &Value, o: &Object) -> ApiResult<()> {
    let modified = seconds(&o.last_modified).unwrap_or(0);
    let failed = |condition: &str| {
        ApiError::new(
            "PreconditionFailed",
            "At least one of the pre-conditions you specified did not hold",
        )
        .with_status(412)
        .with_extra("Condition", json!(condition))
    };
    let not_modified = || ApiError::new("NotModified", "Not Modified").with_status(304);
    let if_match = crate::input::str(input, "IfMatch");
    if let Some(m) = if_match {
        if !etag_matches(m, &o.etag) {
            return Err(failed("If-Match"));
        }
    } else if let Some(t) = crate::input::str(input, "IfUnmodifiedSince").and_then(seconds) {
        if modified > t {
            return Err(failed("If-Unmodified-Since"));
        }
    }
    if let Some(m) = crate::input::str(input, "IfNoneMatch") {
        if etag_matches(m, &o.etag) {
            return Err(not_modified());
        }
    } else if let Some(t) = crate::input::str(input, "IfModifiedSince").and_then(seconds) {
        if modified <= t {
            return Err(not_modified());
        }
    }
    Ok(())
}

/// A `Range: bytes=...` header against an object of `size` bytes: `Ok(None)` for the whole
/// object (no range, or one S3 ignores), the inclusive range otherwise, `InvalidRange` when
/// it cannot be satisfied.
pub(crate) fn range(header: Option<&str>, size: u64) -> ApiResult<Option<(u64, u64)>> {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((a, b)) = spec.split_once('-') else {
        return Ok(None);
    };
    let (a, b) = (a.trim(), b.trim());
    let unsatisfiable = || {
        ApiError::new("InvalidRange", "The requested range is not satisfiable")
            .with_status(416)
            .with_extra("RangeRequested", json!(format!("bytes={spec}")))
            .with_extra("ActualObjectSize", json!(size))
    };
    let parsed = match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ok(None),
        // The last b bytes.
        (true, false) => match b.parse::<u64>() {
            Ok(0) => return Err(unsatisfiable()),
            Ok(n) if size == 0 => {
                let _ = n;
                return Ok(None);
            }
            Ok(n) => (size.saturating_sub(n), size - 1),
            Err(_) => return Ok(None),
        },
        (false, _) => {
            let Ok(start) = a.parse::<u64>() else {
                return Ok(None);
            };
            let end = if b.is_empty() {
                u64::MAX
            } else {
                match b.parse::<u64>() {
                    Ok(e) if e >= start => e,
                    _ => return Ok(None),
                }
            };
            if start >= size {
                return Err(unsatisfiable());
            }
            (start, end.min(size - 1))
        }
    };
    Ok(Some(parsed))
}

pub fn get_object(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let bucket = crate::input::req(input, "Bucket")?;
    let key = crate::input::req(input, "Key")?;
    let o = find(ctx, bucket, key, crate::input::str(input, "VersionId"))?;
    check_conditions(input, &o)?;
    let mut out = describe(&o);
    for (member, header) in [
        ("ResponseContentType", "ContentType"),
        ("ResponseContentDisposition", "ContentDisposition"),
        ("ResponseContentEncoding", "ContentEncoding"),
        ("ResponseContentLanguage", "ContentLanguage"),
        ("ResponseCacheControl", "CacheControl"),
        ("ResponseExpires", "Expires"),
    ] {
        if let Some(v) = crate::input::str(input, member) {
            out.insert(header.into(), json!(v));
        }
    }
    let range = range(crate::input::str(input, "Range"), o.size)?;
    let (start, len) = match range {
        Some((start, end)) => {
            out.insert("ContentLength".into(), json!(end - start + 1));
            out.insert(
                "ContentRange".into(),
                json!(format!("bytes {start}-{end}/{}", o.size)),
            );
            (start, end - start + 1)
        }
        None => (0, o.size),
    };
    // A content file is streamed from the server; bytes in memory are copied.
    let output = match blob::open(ctx.store, &o.blob)? {
        Some(file) => Output::new(Value::Object(out)).with_payload_file(file, start, len),
        None => super::with_payload(
            Value::Object(out),
            blob::read(ctx.store, &o.blob, start, len)?,
        ),
    };
    Ok(if range.is_some() {
        output.with_status(206)
    } else {
        output
    })
}

pub fn head_object(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    let bucket = crate::input::req(input, "Bucket")?;
    let key = crate::input::req(input, "Key")?;
    let o = find(ctx, bucket, key, crate::input::str(input, "VersionId"))?;
    check_conditions(input, &o)?;
    let mut out = describe(&o);
    if let Some((start, end)) = range(crate::input::str(input, "Range"), o.size)? {
        out.insert("ContentLength".into(), json!(end - start + 1));
        out.insert(
            "ContentRange".into(),
            json!(format!("bytes {start}-{end}/{}", o.size)),
        );
    }
    Ok(Value::Object(out))
}

/// What a delete did: the version it removed or the delete marker it made.
struct Deleted {
    version_id: Option<String>,
    delete_marker: bool,
}

/// Deletes `key` as the bucket's versioning says (see [`versions`]): without a version id,
/// removes the object (versioning never set) or puts a delete marker on top; with one, removes
/// that version for good. Deleting what is not there succeeds, as on S3.
fn remove_object(
    ctx: &Ctx<'_>,
    bucket: &str,
    key: &str,
    version: Option<&str>,
) -> ApiResult<Deleted> {
    if let Some(v) = version {
        versions::check_id(v)?;
    }
    let now = crate::iso(ctx.clock.now());
    let (deleted, orphans) = ctx.store.write(|tx| {
        let b = owned_bucket(tx, ctx, bucket)?;
        if let Some(v) = version {
            let gone = versions::delete(tx, bucket, key, v)?;
            let marker = gone.as_ref().is_some_and(|o| o.delete_marker);
            let orphans = gone.map(|o| o.blob).into_iter().collect::<Vec<_>>();
            return Ok::<_, ApiError>((
                Deleted {
                    version_id: Some(v.to_owned()),
                    delete_marker: marker,
                },
                orphans,
            ));
        }
        if b.versioning.is_none() {
            let old = tx.get::<Object>(&objects_of(bucket), key);
            if old.is_some() {
                tx.delete::<Object>(&objects_of(bucket), key);
            }
            let deleted = Deleted {
                version_id: None,
                delete_marker: false,
            };
            return Ok((deleted, old.map(|o| o.blob.clone()).into_iter().collect()));
        }
        let marker = Object {
            key: key.to_owned(),
            size: 0,
            etag: String::new(),
            last_modified: now.clone(),
            described: Described::default(),
            parts: None,
            blob: Blob::default(),
            version_id: None,
            delete_marker: true,
            written: 0,
        };
        let (marker, orphans) = versions::put_current(tx, &b, marker)?;
        Ok((
            Deleted {
                version_id: Some(versions::id_of(&marker).to_owned()),
                delete_marker: true,
            },
            orphans,
        ))
    })?;
    // A delete marker's blob names no file; removing it does nothing.
    for blob in &orphans {
        blob::remove(ctx.store, blob);
    }
    Ok(deleted)
}

fn deleted_json(d: &Deleted) -> Map<String, Value> {
    let mut out = Map::new();
    if d.delete_marker {
        out.insert("DeleteMarker".into(), json!(true));
    }
    if let Some(v) = &d.version_id {
        out.insert("VersionId".into(), json!(v));
    }
    out
}

pub fn delete_object(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    let bucket = crate::input::req(input, "Bucket")?;
    let key = crate::input::req(input, "Key")?;
    let d = remove_object(ctx, bucket, key, crate::input::str(input, "VersionId"))?;
    Ok(Value::Object(deleted_json(&d)))
}

pub fn delete_objects(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    let bucket = crate::input::req(input, "Bucket")?;
    ctx.store.read(|v| owned_bucket(v, ctx, bucket))?;
    let objects = input
        .pointer("/Delete/Objects")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if objects.is_empty() || objects.len() > 1000 {
        return Err(super::malformed_xml());
    }
    let quiet = input
        .pointer("/Delete/Quiet")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let mut deleted = Vec::new();
    let mut errors = Vec::new();
    for o in &objects {
        let Some(key) = o.get("Key").and_then(Value::as_str) else {
            return Err(super::malformed_xml());
        };
        let version = o.get("VersionId").and_then(Value::as_str);
        match remove_object(ctx, bucket, key, version) {
            Ok(_) if quiet => {}
            Ok(d) => {
                let mut item = deleted_json(&d);
                item.insert("Key".into(), json!(key));
                if d.delete_marker {
                    // DeleteMarkerVersionId names the marker made or removed.
                    let marker = item.get("VersionId").cloned().unwrap_or(Value::Null);
                    item.insert("DeleteMarkerVersionId".into(), marker);
                    if version.is_none() {
                        item.remove("VersionId");
                    }
                }
                deleted.push(Value::Object(item));
            }
            Err(e) => errors.push(json!({ "Key": key, "Code": e.code, "Message": e.message })),
        }
    }
    let mut out = Map::new();
    if !deleted.is_empty() {
        out.insert("Deleted".into(), Value::Array(deleted));
    }
    if !errors.is_empty() {
        out.insert("Errors".into(), Value::Array(errors));
    }
    Ok(Value::Object(out))
}

/// `x-amz-copy-source`: `bucket/key` or `/bucket/key`, URL-encoded, maybe `?versionId=`.
pub(crate) fn copy_source(raw: &str) -> ApiResult<(String, String, Option<String>)> {
    let (raw, version) = match raw.split_once("?versionId=") {
        Some((s, v)) => (s, Some(v.to_owned())),
        None => (raw, None),
    };
    let decoded = percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| invalid_copy_source())?;
    let trimmed = decoded.trim_start_matches('/');
    match trimmed.split_once('/') {
        Some((b, k)) if !b.is_empty() && !k.is_empty() => Ok((b.to_owned(), k.to_owned(), version)),
        _ => Err(invalid_copy_source()),
    }
}

fn invalid_copy_source() -> ApiError {
    super::invalid_argument("Invalid copy source object key")
}

pub fn copy_object(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    let bucket = crate::input::req(input, "Bucket")?;
    let key = crate::input::req(input, "Key")?;
    check_key(key)?;
    let (src_bucket, src_key, src_version) = copy_source(crate::input::req(input, "CopySource")?)?;
    let src = find(ctx, &src_bucket, &src_key, src_version.as_deref())?;
    // Copy-source conditions answer 412 (S3 does not answer 304 to a copy).
    let cond = |m: &str| crate::input::str(input, m);
    if let Some(m) = cond("CopySourceIfMatch") {
        if !etag_matches(m, &src.etag) {
            return Err(ApiError::new(
                "PreconditionFailed",
                "At least one of the pre-conditions you specified did not hold",
            )
            .with_status(412));
        }
    }
    if let Some(m) = cond("CopySourceIfNoneMatch") {
        if etag_matches(m, &src.etag) {
            return Err(ApiError::new(
                "PreconditionFailed",
                "At least one of the pre-conditions you specified did not hold",
            )
            .with_status(412));
        }
    }
    let replace = crate::input::str(input, "MetadataDirective") == Some("REPLACE");
    if src_bucket == bucket && src_key == key && !replace && src_version.is_none() {
        return Err(ApiError::new(
            "InvalidRequest",
            "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
        ));
    }
    ctx.store.read(|v| owned_bucket(v, ctx, bucket))?;
    let described = if replace {
        described(input)
    } else {
        src.described.clone()
    };
    let blob = blob::copy(ctx.store, &src.blob)?;
    let now = crate::iso(ctx.clock.now());
    let stored = store_object(
        ctx,
        bucket,
        Object {
            key: key.to_owned(),
            size: src.size,
            etag: src.etag.clone(),
            last_modified: now.clone(),
            described,
            parts: src.parts,
            blob,
            version_id: None,
            delete_marker: false,
            written: 0,
        },
    )?;
    let mut out = json!({ "CopyObjectResult": { "ETag": src.etag, "LastModified": now } });
    if let Some(v) = &src.version_id {
        out["CopySourceVersionId"] = json!(v);
    }
    Ok(with_version(out, &stored))
}
