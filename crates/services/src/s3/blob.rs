//! Object contents: files under `<data dir>/s3/objects/` for a persistent store (written to
//! `<data dir>/s3/tmp/` and renamed into place, so a crash never leaves half a file where a
//! record points), bytes in memory for an ephemeral one. Records name their content; a file is
//! removed only after the record that named it is gone.

use airlock_protocol::{ApiError, ApiResult};
use airlock_store::Store;
use serde::{Deserialize, Serialize};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::Arc;

/// Where an object's (or a part's) bytes are.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Blob {
    /// The content file's name under `s3/objects/` (persistent stores).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The bytes (ephemeral stores; never serialized).
    #[serde(skip)]
    pub bytes: Option<Arc<Vec<u8>>>,
}

fn io_error(e: std::io::Error) -> ApiError {
    ApiError::internal(format!(
        "We encountered an internal error. Please try again. ({e})"
    ))
}

fn dirs(store: &Store) -> Option<(PathBuf, PathBuf)> {
    let root = store.dir()?.join("s3");
    Some((root.join("objects"), root.join("tmp")))
}

/// A new content file written by `fill`, renamed into place once complete and synced.
fn new_file(
    objects: PathBuf,
    tmp: PathBuf,
    fill: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> ApiResult<Blob> {
    std::fs::create_dir_all(&objects).map_err(io_error)?;
    std::fs::create_dir_all(&tmp).map_err(io_error)?;
    let name = uuid::Uuid::new_v4().simple().to_string();
    let temp = tmp.join(&name);
    let mut f = std::fs::File::create(&temp).map_err(io_error)?;
    let written = fill(&mut f).and_then(|()| f.sync_all());
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(io_error(e));
    }
    std::fs::rename(&temp, objects.join(&name)).map_err(io_error)?;
    Ok(Blob {
        file: Some(name),
        bytes: None,
    })
}

/// Keeps `data` as a new blob.
pub fn write(store: &Store, data: &[u8]) -> ApiResult<Blob> {
    match dirs(store) {
        Some((objects, tmp)) => new_file(objects, tmp, |f| f.write_all(data)),
        None => Ok(Blob {
            file: None,
            bytes: Some(Arc::new(data.to_vec())),
        }),
    }
}

/// Keeps a request's payload as a new blob: a spooled file is renamed into place (it is on the
/// same file system, under the data directory), bytes are written.
pub fn keep(store: &Store, body: &crate::Body<'_>) -> ApiResult<Blob> {
    match (body, dirs(store)) {
        (crate::Body::File { path, .. }, Some((objects, _))) => {
            std::fs::create_dir_all(&objects).map_err(io_error)?;
            let name = uuid::Uuid::new_v4().simple().to_string();
            std::fs::rename(path, objects.join(&name)).map_err(io_error)?;
            Ok(Blob {
                file: Some(name),
                bytes: None,
            })
        }
        (crate::Body::File { path, .. }, None) => {
            write(store, &std::fs::read(path).map_err(io_error)?)
        }
        (crate::Body::Bytes(b), _) => write(store, b),
    }
}

/// A new blob holding `parts` one after the other (a completed multipart upload).
pub fn concat(store: &Store, parts: &[&Blob]) -> ApiResult<Blob> {
    match dirs(store) {
        Some((objects, tmp)) => {
            let sources: Vec<PathBuf> = parts
                .iter()
                .map(|b| objects.join(b.file.as_deref().unwrap_or_default()))
                .collect();
            new_file(objects, tmp, |f| {
                for s in &sources {
                    std::io::copy(&mut std::fs::File::open(s)?, f)?;
                }
                Ok(())
            })
        }
        None => {
            let mut all = Vec::with_capacity(parts.iter().map(|p| len_in_memory(p)).sum());
            for p in parts {
                all.extend_from_slice(p.bytes.as_deref().map(Vec::as_slice).unwrap_or_default());
            }
            Ok(Blob {
                file: None,
                bytes: Some(Arc::new(all)),
            })
        }
    }
}

fn len_in_memory(b: &Blob) -> usize {
    b.bytes.as_ref().map_or(0, |b| b.len())
}

/// A copy of `blob` (CopyObject).
pub fn copy(store: &Store, blob: &Blob) -> ApiResult<Blob> {
    concat(store, &[blob])
}

/// `len` bytes of `blob` from `start`.
pub fn read(store: &Store, blob: &Blob, start: u64, len: u64) -> ApiResult<Vec<u8>> {
    if let Some(bytes) = &blob.bytes {
        let s = usize::try_from(start)
            .unwrap_or(usize::MAX)
            .min(bytes.len());
        let e = s
            .saturating_add(usize::try_from(len).unwrap_or(usize::MAX))
            .min(bytes.len());
        return Ok(bytes[s..e].to_vec());
    }
    let (Some((objects, _)), Some(name)) = (dirs(store), blob.file.as_deref()) else {
        return Ok(Vec::new());
    };
    let mut f = std::fs::File::open(objects.join(name)).map_err(io_error)?;
    f.seek(SeekFrom::Start(start)).map_err(io_error)?;
    let mut out = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    f.take(len).read_to_end(&mut out).map_err(io_error)?;
    Ok(out)
}

/// The content file of a blob, open (persistent stores); `None` for bytes in memory.
pub fn open(store: &Store, blob: &Blob) -> ApiResult<Option<std::fs::File>> {
    match (dirs(store), blob.file.as_deref()) {
        (Some((objects, _)), Some(name)) if blob.bytes.is_none() => {
            std::fs::File::open(objects.join(name))
                .map(Some)
                .map_err(io_error)
        }
        _ => Ok(None),
    }
}

/// Removes a blob no record names any more (its file, if it has one).
pub fn remove(store: &Store, blob: &Blob) {
    if let (Some((objects, _)), Some(name)) = (dirs(store), blob.file.as_deref()) {
        let _ = std::fs::remove_file(objects.join(name));
    }
}
