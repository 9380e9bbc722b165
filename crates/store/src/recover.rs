//! Opening a store that may be damaged: the lock that keeps a second server out, and the
//! check that sets a damaged database aside so the server starts on a fresh one.

use super::*;

/// How a database on disk is damaged, found before SQLite opens it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Damage {
    /// The database file is empty and no log holds its content.
    Empty,
    /// SQLite would not replay all of the write-ahead log.
    Log(wal::Damage),
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Damage::Empty => f.write_str(
                "the file is empty (0 bytes), and no database Airlock has written ever is",
            ),
            Damage::Log(d) => d.fmt(f),
        }
    }
}

/// Damage that `--recover` went past: what it was and where the damaged files were copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovered {
    pub damage: Damage,
    pub copy: std::path::PathBuf,
}

/// One process per database: an advisory lock on `<db>.lock`, held while the store is open.
pub(crate) fn lock(path: &Path) -> Result<std::fs::File, StoreError> {
    let lock_path = path.with_extension("lock");
    let failed = |source| StoreError::Lock {
        path: lock_path.display().to_string(),
        source,
    };
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(failed)?;
    match lock.try_lock() {
        Ok(()) => Ok(lock),
        Err(std::fs::TryLockError::WouldBlock) => {
            Err(StoreError::Locked(path.display().to_string()))
        }
        Err(std::fs::TryLockError::Error(source)) => Err(failed(source)),
    }
}

/// SQLite's write-ahead log of the database at `path`.
pub(crate) fn wal_path(path: &Path) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push("-wal");
    name.into()
}

/// Damage SQLite would not report, found by reading the files before SQLite does.
pub(crate) fn inspect(path: &Path) -> Result<Option<Damage>, StoreError> {
    let read = |p: &Path, r: std::io::Result<()>| {
        r.map_err(|source| StoreError::Read {
            path: p.display().to_string(),
            source,
        })
    };
    let wal_path = wal_path(path);
    let wal = match std::fs::read(&wal_path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return read(&wal_path, Err(e)).map(|()| None),
    };
    let empty = match std::fs::metadata(path) {
        Ok(m) => m.len() == 0,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => return read(path, Err(e)).map(|()| None),
    };
    if empty && wal::check(&wal) == Ok(wal::Log { committed: 0 }) {
        return Ok(Some(Damage::Empty));
    }
    Ok(wal::check(&wal).err().map(Damage::Log))
}

/// Copies the damaged database files to `damaged-<unix time>/` beside them; an empty database
/// file is then removed so that SQLite starts a new one.
pub(crate) fn set_aside(path: &Path, damage: Damage) -> Result<Recovered, StoreError> {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let dir = path.parent().unwrap_or(Path::new("."));
    let copy = dir.join(format!("damaged-{secs}"));
    let failed = |p: &Path| {
        let p = p.display().to_string();
        move |source| StoreError::Read { path: p, source }
    };
    std::fs::create_dir_all(&copy).map_err(failed(&copy))?;
    for file in [path.to_path_buf(), wal_path(path)] {
        if let Some(name) = file.file_name().filter(|_| file.exists()) {
            std::fs::copy(&file, copy.join(name)).map_err(failed(&file))?;
        }
    }
    if damage == Damage::Empty {
        std::fs::remove_file(path).map_err(failed(path))?;
    }
    Ok(Recovered { damage, copy })
}
