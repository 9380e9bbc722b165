//! Object versions. A bucket's current objects stay where every unversioned operation finds
//! them (`objects_of`, keyed by key); the versions they replaced live beside them
//! (`versions_of`, keyed by key and version id), with their content files kept. With versioning
//! `Enabled` each write gets a new version id and a plain delete puts a delete marker on top;
//! `Suspended` writes and deletes the `null` version; a bucket whose versioning was never set
//! keeps one object per key, as before.

use super::objects::Object;
use super::{blob, objects_of, Bucket};
use airlock_protocol::{ApiError, ApiResult};
use airlock_store::{Kind, Scope, Tx};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// A version that is no longer current.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Version {
    /// `<key>` NUL `<version id>`: keys never contain NUL in what clients send through XML, and
    /// the version id has a fixed alphabet.
    pub id: String,
    pub object: Object,
}

airlock_store::record!(Version, "s3.version", id);

pub fn kind() -> Kind {
    Kind::of::<Version>()
}

/// The scope of a bucket's noncurrent versions.
pub fn versions_of(bucket: &str) -> Scope {
    Scope::new(bucket, "s3.versions")
}

/// The version id S3 prints for an object written while versioning was off.
pub const NULL: &str = "null";

fn version_key(key: &str, version: &str) -> String {
    format!("{key}\0{version}")
}

/// A new version id: 32 characters of S3's alphabet.
pub fn new_id() -> String {
    crate::ids::random_string(
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._",
        32,
    )
}

/// A write's place in time: nanoseconds since the epoch, moved on by one when two writes
/// would share a value, so versions of a key order without ties (and across restarts, as long
/// as the clock does not go back).
pub fn stamp() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    let prev = LAST
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |last| {
            Some(now.max(last + 1))
        })
        .unwrap_or(0);
    now.max(prev + 1)
}

/// The id an object's version is known by.
pub fn id_of(o: &Object) -> &str {
    o.version_id.as_deref().unwrap_or(NULL)
}

/// What writing `object` over the current version of its key does under the bucket's
/// versioning: gives it its version id, keeps what it replaces as a noncurrent version, and
/// returns the content that is no longer anyone's (to remove after the commit).
pub fn put_current(
    tx: &mut Tx<'_>,
    bucket: &Bucket,
    mut object: Object,
) -> ApiResult<(Object, Vec<blob::Blob>)> {
    let name = &bucket.name;
    object.written = stamp();
    let old = tx.get::<Object>(&objects_of(name), &object.key);
    let mut orphans = Vec::new();
    match bucket.versioning.as_deref() {
        None => {
            object.version_id = None;
            if let Some(old) = old {
                orphans.push(old.blob.clone());
            }
        }
        Some(status) => {
            object.version_id = (status == "Enabled").then(new_id);
            // The null version is replaced, wherever it is; any other is kept.
            if object.version_id.is_none() {
                let null = version_key(&object.key, NULL);
                if let Some(v) = tx.get::<Version>(&versions_of(name), &null) {
                    orphans.push(v.object.blob.clone());
                    tx.delete::<Version>(&versions_of(name), &null);
                }
            }
            if let Some(old) = old {
                if old.version_id.is_none() && object.version_id.is_none() {
                    orphans.push(old.blob.clone());
                } else {
                    tx.put(
                        &versions_of(name),
                        Version {
                            id: version_key(&old.key, id_of(&old)),
                            object: (*old).clone(),
                        },
                    )?;
                }
            }
        }
    }
    tx.put(&objects_of(name), object.clone())?;
    Ok((object, orphans))
}

/// Every version under `prefix`, current and noncurrent: keys in order, each key's newest
/// first (the current one, then the others by when they were written).
pub fn every(r: &impl airlock_store::Read, bucket: &str, prefix: &str) -> Vec<Arc<Object>> {
    let current = r
        .list::<Object>(&objects_of(bucket))
        .into_iter()
        .filter(|o| o.key.starts_with(prefix))
        .map(|o| (false, o));
    let older = r
        .list::<Version>(&versions_of(bucket))
        .into_iter()
        .filter(|v| v.object.key.starts_with(prefix))
        .map(|v| (true, Arc::new(v.object.clone())));
    let mut all: Vec<(bool, Arc<Object>)> = current.chain(older).collect();
    all.sort_by(|(old_a, a), (old_b, b)| {
        a.key
            .cmp(&b.key)
            .then(old_a.cmp(old_b))
            .then((b.written, &b.last_modified).cmp(&(a.written, &a.last_modified)))
    });
    all.into_iter().map(|(_, o)| o).collect()
}

/// Every version of `key`, newest first.
pub fn all_of(r: &impl airlock_store::Read, bucket: &str, key: &str) -> Vec<Arc<Object>> {
    let mut all = every(r, bucket, key);
    all.retain(|o| o.key == key);
    all
}

/// The version `version` of `key` (current or not).
pub fn get(r: &impl airlock_store::Read, bucket: &str, key: &str, version: &str) -> Option<Object> {
    if let Some(o) = r.get::<Object>(&objects_of(bucket), key) {
        if id_of(&o) == version {
            return Some((*o).clone());
        }
    }
    r.get::<Version>(&versions_of(bucket), &version_key(key, version))
        .map(|v| v.object.clone())
}

/// Deletes version `version` of `key` for good; when it was the current one, the newest
/// noncurrent version becomes current. Returns the deleted version.
pub fn delete(
    tx: &mut Tx<'_>,
    bucket: &str,
    key: &str,
    version: &str,
) -> ApiResult<Option<Object>> {
    let current = tx.get::<Object>(&objects_of(bucket), key);
    if let Some(c) = current.filter(|c| id_of(c) == version) {
        tx.delete::<Object>(&objects_of(bucket), key);
        if let Some(next) = all_of(tx, bucket, key).first().cloned() {
            tx.delete::<Version>(&versions_of(bucket), &version_key(key, id_of(&next)));
            tx.put(&objects_of(bucket), (*next).clone())?;
        }
        return Ok(Some((*c).clone()));
    }
    let id = version_key(key, version);
    let found = tx.get::<Version>(&versions_of(bucket), &id);
    if found.is_some() {
        tx.delete::<Version>(&versions_of(bucket), &id);
    }
    Ok(found.map(|v| v.object.clone()))
}

/// A version id a client sent: S3's alphabet, or `null`.
pub fn check_id(version: &str) -> ApiResult<()> {
    let valid = version == NULL
        || (!version.is_empty()
            && version.len() <= 1024
            && version
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_'));
    if valid {
        Ok(())
    } else {
        Err(super::invalid_argument("Invalid version id specified"))
    }
}

pub fn no_such_version(key: &str, version: &str) -> ApiError {
    ApiError::new("NoSuchVersion", "The specified version does not exist.")
        .with_status(404)
        .with_extra("Key", serde_json::json!(key))
        .with_extra("VersionId", serde_json::json!(version))
}

#[cfg(test)]
mod tests {
    use super::stamp;

    #[test]
    fn stamps_never_repeat_even_within_one_nanosecond_tick() {
        let stamps: Vec<u64> = (0..10_000).map(|_| stamp()).collect();
        assert!(stamps.windows(2).all(|w| w[0] < w[1]));
    }
}
