//! ListObjectsV2 and ListObjects: keys in UTF-8 byte order, a prefix, a delimiter rolling keys
//! up into common prefixes, pages of `max-keys` with a continuation token (V2) or a marker (V1).

use super::objects::Object;
use super::{objects_of, owned_bucket};
use crate::Ctx;
use airlock_protocol::ApiResult;
use base64::Engine;
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// One page of a listing.
struct Page {
    contents: Vec<Arc<Object>>,
    prefixes: Vec<String>,
    /// The last key or common prefix on the page, when more follow.
    next: Option<String>,
}

/// Lists `objects` (sorted by key) after `after`, under `prefix`, rolled up at `delimiter`.
fn page(
    objects: &[Arc<Object>],
    prefix: &str,
    delimiter: Option<&str>,
    after: Option<&str>,
    max: usize,
) -> Page {
    let mut out = Page {
        contents: Vec::new(),
        prefixes: Vec::new(),
        next: None,
    };
    let mut last: Option<String> = None;
    for o in objects {
        if !o.key.starts_with(prefix) {
            continue;
        }
        // What the key shows as: itself, or the common prefix it rolls up into.
        let rolled = delimiter.filter(|d| !d.is_empty()).and_then(|d| {
            o.key[prefix.len()..]
                .find(d)
                .map(|i| o.key[..prefix.len() + i + d.len()].to_owned())
        });
        let shown = rolled.as_deref().unwrap_or(&o.key);
        if after.is_some_and(|a| shown <= a) {
            continue;
        }
        if rolled.is_some() && out.prefixes.last().map(String::as_str) == Some(shown) {
            continue;
        }
        if out.contents.len() + out.prefixes.len() >= max {
            out.next = last;
            return out;
        }
        last = Some(shown.to_owned());
        match rolled {
            Some(p) => out.prefixes.push(p),
            None => out.contents.push(o.clone()),
        }
    }
    out
}

fn max_keys(input: &Value) -> ApiResult<usize> {
    match crate::input::int(input, "MaxKeys") {
        None => Ok(1000),
        Some(n) if n < 0 => Err(super::invalid_argument(
            "Argument maxKeys must be an integer between 0 and 2147483647",
        )),
        Some(n) => Ok(usize::try_from(n.min(1000)).unwrap_or(1000)),
    }
}

/// The current objects of `bucket` that are not delete markers, by key.
fn listed(ctx: &Ctx<'_>, bucket: &str) -> ApiResult<Vec<Arc<Object>>> {
    ctx.store.read(|v| {
        owned_bucket(v, ctx, bucket)?;
        let mut all = v.list::<Object>(&objects_of(bucket));
        all.retain(|o| !o.delete_marker);
        Ok(all)
    })
}

/// ListObjectVersions: every version and delete marker, keys in order and each key's versions
/// newest first, under a prefix, rolled up at a delimiter, in pages after a key (and version)
/// marker.
pub fn list_object_versions(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    let bucket = crate::input::req(input, "Bucket")?;
    let prefix = crate::input::str(input, "Prefix").unwrap_or("");
    let delimiter = crate::input::str(input, "Delimiter").filter(|d| !d.is_empty());
    let key_marker = crate::input::str(input, "KeyMarker").filter(|m| !m.is_empty());
    let version_marker = crate::input::str(input, "VersionIdMarker").filter(|m| !m.is_empty());
    if version_marker.is_some() && key_marker.is_none() {
        return Err(super::invalid_argument(
            "A version-id marker cannot be specified without a key marker.",
        ));
    }
    let max = max_keys(input)?;
    let owner = super::owner_id(ctx.account());
    let all: Vec<Arc<Object>> = ctx.store.read(|v| {
        owned_bucket(v, ctx, bucket)?;
        Ok::<_, airlock_protocol::ApiError>(super::versions::every(v, bucket, prefix))
    })?;
    let mut versions = Vec::new();
    let mut markers = Vec::new();
    let mut prefixes: Vec<String> = Vec::new();
    let mut next: Option<(String, String)> = None;
    let mut count = 0;
    let mut truncated = false;
    // Past the marker: keys after it, or the versions of its key after the version marker.
    let mut skipping = version_marker.is_some();
    for (i, o) in all.iter().enumerate() {
        let id = super::versions::id_of(o);
        if let Some(km) = key_marker {
            if o.key.as_str() < km || (o.key == km && version_marker.is_none()) {
                continue;
            }
            if o.key == km && skipping {
                if Some(id) == version_marker {
                    skipping = false;
                }
                continue;
            }
        }
        let rolled = delimiter.and_then(|d| {
            o.key[prefix.len()..]
                .find(d)
                .map(|at| o.key[..prefix.len() + at + d.len()].to_owned())
        });
        if let Some(p) = &rolled {
            if prefixes.last() == Some(p) {
                continue;
            }
            if key_marker.is_some_and(|km| p.as_str() <= km) {
                continue;
            }
        }
        if count >= max {
            truncated = true;
            break;
        }
        count += 1;
        let latest = i == 0 || all[i - 1].key != o.key;
        match rolled {
            Some(p) => {
                next = Some((p.clone(), String::new()));
                prefixes.push(p);
            }
            None => {
                next = Some((o.key.clone(), id.to_owned()));
                let item = if o.delete_marker {
                    json!({"Key": o.key, "VersionId": id, "IsLatest": latest,
                           "LastModified": o.last_modified,
                           "Owner": {"ID": owner, "DisplayName": "airlock"}})
                } else {
                    json!({"Key": o.key, "VersionId": id, "IsLatest": latest,
                           "LastModified": o.last_modified, "ETag": o.etag, "Size": o.size,
                           "StorageClass": "STANDARD",
                           "Owner": {"ID": owner, "DisplayName": "airlock"}})
                };
                if o.delete_marker {
                    markers.push(item);
                } else {
                    versions.push(item);
                }
            }
        }
    }
    let mut out = Map::new();
    out.insert("Name".into(), json!(bucket));
    out.insert("Prefix".into(), json!(prefix));
    out.insert("KeyMarker".into(), json!(key_marker.unwrap_or("")));
    out.insert(
        "VersionIdMarker".into(),
        json!(version_marker.unwrap_or("")),
    );
    out.insert("MaxKeys".into(), json!(max));
    if let Some(d) = delimiter {
        out.insert("Delimiter".into(), json!(d));
    }
    out.insert("IsTruncated".into(), json!(truncated));
    if truncated {
        if let Some((k, v)) = next {
            out.insert("NextKeyMarker".into(), json!(k));
            if !v.is_empty() {
                out.insert("NextVersionIdMarker".into(), json!(v));
            }
        }
    }
    if !versions.is_empty() {
        out.insert("Versions".into(), Value::Array(versions));
    }
    if !markers.is_empty() {
        out.insert("DeleteMarkers".into(), Value::Array(markers));
    }
    if !prefixes.is_empty() {
        let common: Vec<Value> = prefixes.iter().map(|p| json!({ "Prefix": p })).collect();
        out.insert("CommonPrefixes".into(), Value::Array(common));
    }
    Ok(Value::Object(out))
}

fn contents(page: &Page, owner: Option<&str>) -> Value {
    Value::Array(
        page.contents
            .iter()
            .map(|o| {
                let mut c = json!({
                    "Key": o.key, "LastModified": o.last_modified, "ETag": o.etag,
                    "Size": o.size, "StorageClass": "STANDARD",
                });
                if let (Some(id), Some(m)) = (owner, c.as_object_mut()) {
                    m.insert(
                        "Owner".into(),
                        json!({ "ID": id, "DisplayName": "airlock" }),
                    );
                }
                c
            })
            .collect(),
    )
}

fn common(page: &Page) -> Value {
    Value::Array(
        page.prefixes
            .iter()
            .map(|p| json!({ "Prefix": p }))
            .collect(),
    )
}

fn token_of(key: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(key)
}

fn key_of(token: &str) -> ApiResult<String> {
    base64::engine::general_purpose::STANDARD
        .decode(token)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| super::invalid_argument("The continuation token provided is incorrect"))
}

pub fn list_objects_v2(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    let bucket = crate::input::req(input, "Bucket")?;
    let prefix = crate::input::str(input, "Prefix").unwrap_or("");
    let delimiter = crate::input::str(input, "Delimiter");
    let max = max_keys(input)?;
    let token = crate::input::str(input, "ContinuationToken");
    let start_after = crate::input::str(input, "StartAfter");
    let after = match token {
        Some(t) => Some(key_of(t)?),
        None => start_after.map(str::to_owned),
    };
    let objects = listed(ctx, bucket)?;
    let p = page(&objects, prefix, delimiter, after.as_deref(), max);
    let owner = (crate::input::bool(input, "FetchOwner") == Some(true))
        .then(|| super::owner_id(ctx.account()));
    let mut out = Map::new();
    out.insert("Name".into(), json!(bucket));
    out.insert("Prefix".into(), json!(prefix));
    if let Some(d) = delimiter {
        out.insert("Delimiter".into(), json!(d));
    }
    out.insert("MaxKeys".into(), json!(max));
    out.insert(
        "KeyCount".into(),
        json!(p.contents.len() + p.prefixes.len()),
    );
    out.insert("IsTruncated".into(), json!(p.next.is_some()));
    if let Some(t) = token {
        out.insert("ContinuationToken".into(), json!(t));
    }
    if let Some(s) = start_after {
        out.insert("StartAfter".into(), json!(s));
    }
    if let Some(n) = &p.next {
        out.insert("NextContinuationToken".into(), json!(token_of(n)));
    }
    if !p.contents.is_empty() {
        out.insert("Contents".into(), contents(&p, owner.as_deref()));
    }
    if !p.prefixes.is_empty() {
        out.insert("CommonPrefixes".into(), common(&p));
    }
    Ok(Value::Object(out))
}

pub fn list_objects(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    let bucket = crate::input::req(input, "Bucket")?;
    let prefix = crate::input::str(input, "Prefix").unwrap_or("");
    let delimiter = crate::input::str(input, "Delimiter");
    let max = max_keys(input)?;
    let marker = crate::input::str(input, "Marker");
    let objects = listed(ctx, bucket)?;
    let p = page(&objects, prefix, delimiter, marker, max);
    let mut out = Map::new();
    out.insert("Name".into(), json!(bucket));
    out.insert("Prefix".into(), json!(prefix));
    out.insert("Marker".into(), json!(marker.unwrap_or("")));
    if let Some(d) = delimiter {
        out.insert("Delimiter".into(), json!(d));
    }
    out.insert("MaxKeys".into(), json!(max));
    out.insert("IsTruncated".into(), json!(p.next.is_some()));
    // NextMarker is given only with a delimiter (without one, clients use the last key).
    if let (Some(n), Some(_)) = (&p.next, delimiter) {
        out.insert("NextMarker".into(), json!(n));
    }
    if !p.contents.is_empty() {
        let owner = super::owner_id(ctx.account());
        out.insert("Contents".into(), contents(&p, Some(&owner)));
    }
    if !p.prefixes.is_empty() {
        out.insert("CommonPrefixes".into(), common(&p));
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::s3::Blob;

    fn objects(keys: &[&str]) -> Vec<Arc<Object>> {
        keys.iter()
            .map(|k| {
                Arc::new(Object {
                    key: (*k).to_owned(),
                    size: 0,
                    etag: String::new(),
                    last_modified: String::new(),
                    described: Default::default(),
                    parts: None,
                    version_id: None,
                    delete_marker: false,
                    written: 0,
                    blob: Blob::default(),
                })
            })
            .collect()
    }

    fn shown(p: &Page) -> (Vec<&str>, Vec<&str>, Option<&str>) {
        (
            p.contents.iter().map(|o| o.key.as_str()).collect(),
            p.prefixes.iter().map(String::as_str).collect(),
            p.next.as_deref(),
        )
    }

    #[test]
    fn delimiter_rolls_keys_up_and_pages_resume_after_a_prefix() {
        let all = objects(&["a", "d/1", "d/2", "d/x/3", "e/1", "f"]);
        let p = page(&all, "", Some("/"), None, 1000);
        assert_eq!(shown(&p), (vec!["a", "f"], vec!["d/", "e/"], None));
        let p = page(&all, "", Some("/"), None, 2);
        assert_eq!(shown(&p), (vec!["a"], vec!["d/"], Some("d/")));
        let p = page(&all, "", Some("/"), Some("d/"), 2);
        assert_eq!(shown(&p), (vec!["f"], vec!["e/"], None));
        let p = page(&all, "d/", Some("/"), None, 1000);
        assert_eq!(shown(&p), (vec!["d/1", "d/2"], vec!["d/x/"], None));
        let p = page(&all, "d", None, Some("d/1"), 1000);
        assert_eq!(shown(&p), (vec!["d/2", "d/x/3"], vec![], None));
        let p = page(&all, "", None, None, 0);
        assert_eq!(shown(&p), (vec![], vec![], None));
    }
}
