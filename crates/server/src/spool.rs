//! Blob payloads (S3's PutObject and UploadPart bodies) spooled to a file under the data
//! directory as they arrive, hashed (MD5, and SHA-256 where the signature needs it) on the way,
//! so that a large upload is never held in memory. `aws-chunked` bodies are decoded from the
//! spooled file into another once the request is authenticated (each chunk's signature checked).
//! Spooled files live in `<data dir>/tmp/`; a file not adopted by a service (renamed into its
//! own place) is removed when its [`Spooled`] is dropped, and whatever a crash left there is
//! removed at start ([`clear`]).

use airlock_protocol::sigv4::chunked::ChunkDecoder;
use airlock_protocol::ApiError;
use axum::body::Body;
use http_body_util::BodyExt;
use md5::{Digest, Md5};
use sha2::Sha256;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;

/// A body on disk.
#[derive(Debug)]
pub struct Spooled {
    pub path: PathBuf,
    pub len: u64,
    pub md5: [u8; 16],
    /// Hex SHA-256 of the bytes, when asked for.
    pub sha256: Option<String>,
}

impl Drop for Spooled {
    fn drop(&mut self) {
        // Gone already if a service adopted it.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Why a body could not be spooled.
#[derive(Debug)]
pub enum SpoolError {
    /// Longer than the limit.
    TooLarge,
    /// The client's stream broke off.
    Incomplete,
    /// No data for longer than the read timeout.
    TimedOut,
    /// The file could not be written.
    Io(std::io::Error),
}

impl From<std::io::Error> for SpoolError {
    fn from(e: std::io::Error) -> Self {
        SpoolError::Io(e)
    }
}

/// The directory spooled bodies are written to.
pub fn dir_of(data_dir: &Path) -> PathBuf {
    data_dir.join("tmp")
}

/// Removes what an earlier process left in the spool directory.
pub fn clear(data_dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir_of(data_dir)) {
        for e in entries.flatten() {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

fn new_path(dir: &Path) -> PathBuf {
    dir.join(uuid::Uuid::new_v4().simple().to_string())
}

/// Writes `body` to a new file in `dir`, at most `limit` bytes, hashing it on the way (SHA-256
/// too if `sha256`).
pub async fn spool(
    body: Body,
    dir: &Path,
    limit: u64,
    sha256: bool,
    idle: std::time::Duration,
) -> Result<Spooled, SpoolError> {
    tokio::fs::create_dir_all(dir).await?;
    let mut spooled = Spooled {
        path: new_path(dir),
        len: 0,
        md5: [0; 16],
        sha256: None,
    };
    let mut file = tokio::fs::File::create(&spooled.path).await?;
    let mut md5 = Md5::new();
    let mut sha = sha256.then(Sha256::new);
    let mut body = body;
    // At most `idle` between two reads, as for every other body.
    while let Some(frame) = tokio::time::timeout(idle, body.frame())
        .await
        .map_err(|_| SpoolError::TimedOut)?
    {
        let frame = frame.map_err(|_| SpoolError::Incomplete)?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        spooled.len += data.len() as u64;
        if spooled.len > limit {
            return Err(SpoolError::TooLarge);
        }
        md5.update(&data);
        if let Some(s) = &mut sha {
            s.update(&data);
        }
        file.write_all(&data).await?;
    }
    file.sync_all().await?;
    spooled.md5 = md5.finalize().into();
    spooled.sha256 = sha.map(|s| hex::encode(s.finalize()));
    Ok(spooled)
}

/// A response body streamed from part of an open file (GetObject on a persistent store).
pub struct FileStream {
    file: tokio::fs::File,
    remaining: u64,
    buf: Vec<u8>,
}

impl FileStream {
    pub fn open(body: airlock_protocol::encode::FileBody) -> std::io::Result<FileStream> {
        use std::io::{Seek, SeekFrom};
        let mut file = body.file.try_clone()?;
        file.seek(SeekFrom::Start(body.offset))?;
        Ok(FileStream {
            file: tokio::fs::File::from_std(file),
            remaining: body.len,
            buf: vec![0; 256 * 1024],
        })
    }
}

impl hyper::body::Body for FileStream {
    type Data = bytes::Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<bytes::Bytes>, std::io::Error>>> {
        use std::task::Poll;
        use tokio::io::AsyncRead;
        let this = &mut *self;
        if this.remaining == 0 {
            return Poll::Ready(None);
        }
        let want = usize::try_from(this.remaining)
            .unwrap_or(usize::MAX)
            .min(this.buf.len());
        let mut rb = tokio::io::ReadBuf::new(&mut this.buf[..want]);
        match std::pin::Pin::new(&mut this.file).poll_read(cx, &mut rb) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => Poll::Ready(Some(Err(e))),
            Poll::Ready(Ok(())) if rb.filled().is_empty() => Poll::Ready(Some(Err(
                std::io::Error::from(std::io::ErrorKind::UnexpectedEof),
            ))),
            Poll::Ready(Ok(())) => {
                let data = bytes::Bytes::copy_from_slice(rb.filled());
                this.remaining -= data.len() as u64;
                Poll::Ready(Some(Ok(hyper::body::Frame::data(data))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        hyper::body::SizeHint::with_exact(self.remaining)
    }
}

/// The data of a spooled `aws-chunked` body, decoded (every chunk verified by `decoder`) into a
/// new spooled file beside it.
pub fn decode_chunks(raw: &Spooled, decoder: &mut ChunkDecoder) -> Result<Spooled, ApiError> {
    let io = |e: std::io::Error| {
        ApiError::internal(format!(
            "We encountered an internal error. Please try again. ({e})"
        ))
    };
    let dir = raw.path.parent().unwrap_or(Path::new("."));
    let mut out = Spooled {
        path: new_path(dir),
        len: 0,
        md5: [0; 16],
        sha256: None,
    };
    let mut file = std::fs::File::create(&out.path).map_err(io)?;
    let mut input = std::fs::File::open(&raw.path).map_err(io)?;
    let mut md5 = Md5::new();
    let mut piece = vec![0u8; 256 * 1024];
    let mut data = Vec::with_capacity(piece.len());
    loop {
        let n = input.read(&mut piece).map_err(io)?;
        if n == 0 {
            break;
        }
        data.clear();
        decoder
            .push(&piece[..n], &mut data)
            .map_err(|e| e.to_api_error())?;
        md5.update(&data);
        out.len += data.len() as u64;
        file.write_all(&data).map_err(io)?;
    }
    decoder.finish().map_err(|e| e.to_api_error())?;
    file.sync_all().map_err(io)?;
    out.md5 = md5.finalize().into();
    Ok(out)
}
