//! Airlock's durable state.
//!
//! Records are typed Rust values (`Record`), keyed by scope (account and region; IAM uses the
//! empty region) and id. All of them live in memory for reads; every write transaction is first
//! committed to SQLite (WAL mode) and only then applied in memory and announced as change events.
//! A request that was answered with success has therefore reached the database, and survives
//! `kill -9` of the server. A transaction that fails leaves nothing behind.

use rusqlite::{params, Connection, OptionalExtension};
use serde::{de::DeserializeOwned, Serialize};
use std::any::Any;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::broadcast;

mod recover;
mod view;
pub mod wal;

use recover::{inspect, lock, set_aside};
pub use recover::{Damage, Recovered};
pub use view::{Read, Tx, View};

/// The schema this build writes. Bump it with a migration in `MIGRATIONS`.
pub const SCHEMA_VERSION: i64 = 1;

const MIGRATIONS: &[&str] = &[
    // 1: one table of typed JSON records.
    "CREATE TABLE records (
        account TEXT NOT NULL,
        region  TEXT NOT NULL,
        kind    TEXT NOT NULL,
        id      TEXT NOT NULL,
        body    TEXT NOT NULL,
        PRIMARY KEY (account, region, kind, id)
    ) WITHOUT ROWID;",
];

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("cannot encode record: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("the data directory holds schema version {found}; this build of Airlock reads up to {SCHEMA_VERSION}")]
    NewerSchema { found: i64 },
    #[error("{0} is in use by another Airlock process (stop it, or choose another --data-dir)")]
    Locked(String),
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot lock {path}: {source}")]
    Lock {
        path: String,
        source: std::io::Error,
    },
    #[error("record {kind}/{id} in the database cannot be read: {reason}")]
    Corrupt {
        kind: String,
        id: String,
        reason: String,
    },
    /// The database on disk would not give back everything that was written to it; starting on
    /// it would silently lose state.
    #[error("{path} is damaged: {what}. Airlock has not changed it; start with --recover to set a copy of the damaged files aside in the data directory and go on with what can be read")]
    Damaged { path: String, what: Damage },
    /// SQLite's own check of the database failed.
    #[error("{path} is damaged: {detail}. Airlock has not changed it; restore it from a copy, or move it away to start with empty state (sqlite3's .recover may salvage part of it)")]
    Malformed { path: String, detail: String },
    /// A write of a record type the store was not opened with: it would be lost on the next
    /// start, since loading skips kinds it does not know. Register the kind with its service.
    #[error("record kind {0} is not registered with the store")]
    Unregistered(&'static str),
}

/// Store failures reach a client as AWS's internal error.
impl From<StoreError> for airlock_protocol::ApiError {
    fn from(e: StoreError) -> Self {
        airlock_protocol::ApiError::internal(format!("An internal error has occurred ({e})"))
    }
}

/// Who owns a record: an account, and a region (empty for global services such as IAM).
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct Scope {
    pub account: String,
    pub region: String,
}

impl Scope {
    pub fn new(account: impl Into<String>, region: impl Into<String>) -> Self {
        Scope {
            account: account.into(),
            region: region.into(),
        }
    }

    /// The scope of a global service (IAM) in `account`.
    pub fn global(account: impl Into<String>) -> Self {
        Scope {
            account: account.into(),
            region: String::new(),
        }
    }
}

/// A value the store can keep.
pub trait Record: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The table-like name of this record type, unique across Airlock (`ec2.vpc`, `iam.role`).
    const KIND: &'static str;
    fn id(&self) -> &str;
    /// A secondary key (the VPC a subnet or an interface is in, say): [`View::list_in`] finds the
    /// records of one group without scanning the whole kind.
    fn group(&self) -> Option<&str> {
        None
    }
    /// Names this record answers to in every scope (a DNS name, an id that is unique across
    /// accounts): [`View::find`] finds it by any of them without knowing its scope.
    fn names(&self) -> Vec<String> {
        Vec::new()
    }
}

/// Implements [`Record`] for a type kept under one of its `String` fields, optionally grouped by
/// another and found everywhere by a third: `airlock_store::record!(Vpc, "ec2.vpc", id);`,
/// `record!(NetworkAcl, "ec2.network_acl", id, group: vpc_id)`,
/// `record!(Environment, "mwaa.environment", name, name: host_id)`. A record whose names are
/// computed implements the trait by hand.
#[macro_export]
macro_rules! record {
    ($type:ty, $kind:literal, $id:ident $(, group: $group:ident)? $(, name: $name:ident)?) => {
        impl $crate::Record for $type {
            const KIND: &'static str = $kind;
            fn id(&self) -> &str {
                &self.$id
            }
            $(
                fn group(&self) -> Option<&str> {
                    Some(&self.$group)
                }
            )?
            $(
                fn names(&self) -> Vec<String> {
                    vec![self.$name.clone()]
                }
            )?
        }
    };
}

type Obj = Arc<dyn Any + Send + Sync>;
/// A record's identity: kind, scope, id (the transaction overlay's key).
type Key = (&'static str, Scope, String);

/// Every record, by kind. Lookups borrow their keys: reading allocates nothing.
#[derive(Default)]
struct Records {
    kinds: HashMap<&'static str, KindRecords>,
    /// How many transactions have changed the state (a reset counts too): two reads that see
    /// the same generation see the same records.
    generation: u64,
}

/// One kind's records and its indexes (which hold the records too, so a group or a name is
/// read with one lookup and an ordered scan).
#[derive(Default)]
struct KindRecords {
    /// Scope, then id.
    table: BTreeMap<Scope, BTreeMap<String, Obj>>,
    /// Scope, group, then id.
    groups: BTreeMap<Scope, BTreeMap<String, BTreeMap<String, Obj>>>,
    group_of: HashMap<(Scope, String), String>,
    /// Name → the records that answer to it, ordered by scope and id (usually one: a small
    /// vector rather than a map per name).
    names: HashMap<String, Vec<(Scope, String, Obj)>>,
    names_of: HashMap<(Scope, String), Vec<String>>,
}

impl Records {
    fn kind(&self, kind: &str) -> Option<&KindRecords> {
        self.kinds.get(kind)
    }

    fn insert(&mut self, (kind, scope, id): Key, w: Indexed) {
        let k = self.kinds.entry(kind).or_default();
        k.unindex(&scope, &id);
        let at = (scope, id);
        if let Some(g) = w.group {
            k.groups
                .entry(at.0.clone())
                .or_default()
                .entry(g.clone())
                .or_default()
                .insert(at.1.clone(), w.obj.clone());
            k.group_of.insert(at.clone(), g);
        }
        if !w.names.is_empty() {
            for n in &w.names {
                let holders = k.names.entry(n.clone()).or_default();
                let holder = (at.0.clone(), at.1.clone(), w.obj.clone());
                // A record that gives the same name twice is held once.
                match holders.binary_search_by(|(s, i, _)| (s, i).cmp(&(&at.0, &at.1))) {
                    Ok(pos) => holders[pos] = holder,
                    Err(pos) => holders.insert(pos, holder),
                }
            }
            k.names_of.insert(at.clone(), w.names);
        }
        k.table.entry(at.0).or_default().insert(at.1, w.obj);
    }

    fn remove(&mut self, (kind, scope, id): &Key) {
        let Some(k) = self.kinds.get_mut(kind) else {
            return;
        };
        k.unindex(scope, id);
        if let Some(t) = k.table.get_mut(scope) {
            t.remove(id);
            if t.is_empty() {
                k.table.remove(scope);
            }
        }
    }
}

impl KindRecords {
    fn unindex(&mut self, scope: &Scope, id: &str) {
        let at = (scope.clone(), id.to_owned());
        if let Some(g) = self.group_of.remove(&at) {
            if let Some(by_group) = self.groups.get_mut(scope) {
                if let Some(members) = by_group.get_mut(&g) {
                    members.remove(id);
                    if members.is_empty() {
                        by_group.remove(&g);
                    }
                }
                if by_group.is_empty() {
                    self.groups.remove(scope);
                }
            }
        }
        for n in self.names_of.remove(&at).unwrap_or_default() {
            if let Some(holders) = self.names.get_mut(&n) {
                holders.retain(|(s, i, _)| !(*s == at.0 && *i == at.1));
                if holders.is_empty() {
                    self.names.remove(&n);
                }
            }
        }
    }
}

/// A record with what the indexes need of it.
#[derive(Clone)]
struct Indexed {
    obj: Obj,
    group: Option<String>,
    names: Vec<String>,
}

impl Indexed {
    fn of<T: Record>(t: T) -> Indexed {
        let group = t.group().map(str::to_owned);
        let names = t.names();
        Indexed {
            obj: Arc::new(t),
            group,
            names,
        }
    }
}

/// How to turn a stored body back into a typed record; one per record type.
#[derive(Clone, Copy)]
pub struct Kind {
    pub name: &'static str,
    decode: fn(&str) -> Result<Indexed, serde_json::Error>,
}

impl Kind {
    pub fn of<T: Record>() -> Kind {
        fn decode<T: Record>(body: &str) -> Result<Indexed, serde_json::Error> {
            Ok(Indexed::of(serde_json::from_str::<T>(body)?))
        }
        Kind {
            name: T::KIND,
            decode: decode::<T>,
        }
    }
}

/// A change that a transaction committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub scope: Scope,
    pub kind: &'static str,
    pub id: String,
    pub deleted: bool,
}

pub struct Store {
    records: RwLock<Records>,
    /// Held for the whole of a write transaction: writers are serialised, readers are not.
    db: Mutex<Option<Connection>>,
    kinds: HashMap<&'static str, Kind>,
    events: broadcast::Sender<Change>,
    /// Held while the store is open: one process per database.
    _lock: Option<std::fs::File>,
    /// The directory holding the database (none for an ephemeral store): where services keep
    /// what does not belong in records (S3's object contents).
    dir: Option<std::path::PathBuf>,
}

impl Store {
    /// A store that lives in memory only (`--ephemeral`).
    pub fn ephemeral(kinds: &[Kind]) -> Store {
        Store::build(None, kinds)
    }

    /// Opens (or creates) the SQLite database at `path` and loads every record. A database
    /// that would not give back everything written to it is refused (see [`Store::open_with`]).
    pub fn open(path: &Path, kinds: &[Kind]) -> Result<Store, StoreError> {
        Ok(Store::open_with(path, kinds, false)?.0)
    }

    /// Opens (or creates) the SQLite database at `path` and loads every record, after checking
    /// what SQLite cannot: an empty database file (never one Airlock wrote: its first start
    /// writes a header) and a write-ahead log whose later transactions SQLite would silently
    /// skip ([`wal::check`]). Such damage is refused ([`StoreError::Damaged`]) unless `recover`
    /// is set: then the damaged files are copied to `damaged-<unix time>/` beside the database
    /// and the store opens with what can be read. SQLite's own `quick_check` must pass either
    /// way.
    pub fn open_with(
        path: &Path,
        kinds: &[Kind],
        recover: bool,
    ) -> Result<(Store, Option<Recovered>), StoreError> {
        let lock = lock(path)?;
        let recovered = match inspect(path)? {
            None => None,
            Some(what) if !recover => {
                return Err(StoreError::Damaged {
                    path: path.display().to_string(),
                    what,
                })
            }
            Some(damage) => Some(set_aside(path, damage)?),
        };
        let malformed = |e: rusqlite::Error| StoreError::Malformed {
            path: path.display().to_string(),
            detail: e.to_string(),
        };
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(malformed)?;
        // NORMAL in WAL mode: a commit survives the death of the process (kill -9); only an
        // operating-system crash can lose the last transactions.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let verdict: String = conn
            .query_row("PRAGMA quick_check(1)", [], |row| row.get(0))
            .map_err(malformed)?;
        if verdict != "ok" {
            return Err(StoreError::Malformed {
                path: path.display().to_string(),
                detail: verdict,
            });
        }
        migrate(&mut conn)?;
        let mut store = Store::build(Some(conn), kinds);
        store._lock = Some(lock);
        store.dir = path.parent().map(Path::to_path_buf);
        store.load()?;
        Ok((store, recovered))
    }

    fn build(conn: Option<Connection>, kinds: &[Kind]) -> Store {
        Store {
            records: RwLock::new(Records::default()),
            db: Mutex::new(conn),
            kinds: kinds.iter().map(|k| (k.name, *k)).collect(),
            events: broadcast::channel(4096).0,
            _lock: None,
            dir: None,
        }
    }

    /// The data directory of a persistent store; `None` when the store lives in memory.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    fn load(&self) -> Result<(), StoreError> {
        let db = self.db.lock().unwrap_or_else(|e| e.into_inner());
        let Some(conn) = db.as_ref() else {
            return Ok(());
        };
        let mut stmt = conn.prepare("SELECT account, region, kind, id, body FROM records")?;
        let mut rows = stmt.query([])?;
        let mut records = self.records.write().unwrap_or_else(|e| e.into_inner());
        while let Some(row) = rows.next()? {
            let (account, region, kind, id, body): (String, String, String, String, String) = (
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
            );
            // Records of kinds this build does not know are kept in the database untouched.
            let Some(k) = self.kinds.get(kind.as_str()) else {
                continue;
            };
            let w = (k.decode)(&body).map_err(|e| StoreError::Corrupt {
                kind: kind.clone(),
                id: id.clone(),
                reason: e.to_string(),
            })?;
            records.insert((k.name, Scope { account, region }, id), w);
        }
        Ok(())
    }

    /// Subscribes to committed changes.
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.events.subscribe()
    }

    /// Runs `f` against a consistent snapshot of the state.
    pub fn read<R>(&self, f: impl FnOnce(&View<'_>) -> R) -> R {
        let records = self.records.read().unwrap_or_else(|e| e.into_inner());
        f(&View {
            base: &records,
            overlay: None,
        })
    }

    /// Runs `f` as one transaction: either all its writes are committed (to disk first, then in
    /// memory) or, if it returns an error, none of them.
    pub fn write<R, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&mut Tx<'_>) -> Result<R, E>,
    ) -> Result<R, E> {
        let mut db = self.db.lock().unwrap_or_else(|e| e.into_inner());
        let (result, overlay) = {
            let records = self.records.read().unwrap_or_else(|e| e.into_inner());
            let mut tx = Tx {
                base: &records,
                overlay: BTreeMap::new(),
            };
            let result = f(&mut tx)?;
            (result, tx.overlay)
        };
        if overlay.is_empty() {
            return Ok(result);
        }
        if let Some(((kind, _, _), _)) = overlay
            .iter()
            .find(|((k, _, _), _)| !self.kinds.contains_key(k))
        {
            return Err(E::from(StoreError::Unregistered(kind)));
        }
        if let Some(conn) = db.as_mut() {
            persist(conn, &overlay).map_err(E::from)?;
        }
        let mut records = self.records.write().unwrap_or_else(|e| e.into_inner());
        records.generation += 1;
        let mut changes = Vec::with_capacity(overlay.len());
        for (key, pending) in overlay {
            let deleted = pending.is_none();
            changes.push(Change {
                scope: key.1.clone(),
                kind: key.0,
                id: key.2.clone(),
                deleted,
            });
            match pending {
                Some((w, _)) => records.insert(key, w),
                None => records.remove(&key),
            }
        }
        drop(records);
        drop(db);
        for c in changes {
            // Nobody listening is fine.
            let _ = self.events.send(c);
        }
        Ok(result)
    }

    /// Empties the state (`POST /_airlock/reset`).
    pub fn reset(&self) -> Result<(), StoreError> {
        let mut db = self.db.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(conn) = db.as_mut() {
            conn.execute("DELETE FROM records", [])?;
        }
        let mut records = self.records.write().unwrap_or_else(|e| e.into_inner());
        let generation = records.generation + 1;
        *records = Records {
            generation,
            ..Records::default()
        };
        Ok(())
    }
}

/// A transaction's write: the record (with its index keys) and its JSON body; `None` deletes.
type Pending = Option<(Indexed, String)>;

fn persist(conn: &mut Connection, overlay: &BTreeMap<Key, Pending>) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    {
        let mut put = tx.prepare_cached(
            "INSERT OR REPLACE INTO records (account, region, kind, id, body) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        let mut del = tx.prepare_cached(
            "DELETE FROM records WHERE account = ?1 AND region = ?2 AND kind = ?3 AND id = ?4",
        )?;
        for ((kind, scope, id), pending) in overlay {
            match pending {
                Some((_, body)) => {
                    put.execute(params![scope.account, scope.region, kind, id, body])?
                }
                None => del.execute(params![scope.account, scope.region, kind, id])?,
            };
        }
    }
    tx.commit()?;
    Ok(())
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    conn.execute(
        "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        [],
    )?;
    let version: i64 = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'schema_version'",
            [],
            |r| r.get::<_, String>(0),
        )
        .optional()?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if version > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema { found: version });
    }
    let tx = conn.transaction()?;
    for sql in &MIGRATIONS[version as usize..] {
        tx.execute_batch(sql)?;
    }
    tx.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?1)",
        [SCHEMA_VERSION.to_string()],
    )?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use recover::wal_path;
    use serde::Deserialize;

    /// An empty directory of this test process under the system's temporary directory, removed
    /// when dropped (declared first in a test, it outlives the stores opened in it).
    struct Scratch(std::path::PathBuf);

    impl Scratch {
        fn new(tag: &str) -> Scratch {
            let dir =
                std::env::temp_dir().join(format!("airlock-store-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            Scratch(dir)
        }
    }

    impl std::ops::Deref for Scratch {
        type Target = Path;
        fn deref(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
    struct Thing {
        id: String,
        n: u32,
    }
    record!(Thing, "test.thing", id);

    fn thing(id: &str, n: u32) -> Thing {
        Thing { id: id.into(), n }
    }

    #[derive(Debug)]
    struct Fail;
    impl From<StoreError> for Fail {
        fn from(_: StoreError) -> Self {
            Fail
        }
    }

    #[test]
    fn writes_are_visible_inside_and_after_the_transaction() {
        let store = Store::ephemeral(&[Kind::of::<Thing>()]);
        let s = Scope::new("000000000000", "us-west-2");
        store
            .write::<_, StoreError>(|tx| {
                tx.put(&s, thing("b", 2))?;
                tx.put(&s, thing("a", 1))?;
                assert_eq!(tx.get::<Thing>(&s, "a").unwrap().n, 1);
                assert_eq!(tx.list::<Thing>(&s).len(), 2);
                tx.delete::<Thing>(&s, "b");
                assert_eq!(tx.list::<Thing>(&s).len(), 1);
                Ok(())
            })
            .unwrap();
        let ids: Vec<String> =
            store.read(|v| v.list::<Thing>(&s).iter().map(|t| t.id.clone()).collect());
        assert_eq!(ids, ["a"]);
    }

    /// The scopes holding records, each once, in order; a scope emptied by deletes is gone.
    #[test]
    fn scopes_are_those_holding_records() {
        let store = Store::ephemeral(&[Kind::of::<Thing>()]);
        let (a, b) = (
            Scope::new("111111111111", "us-west-2"),
            Scope::new("000000000000", "eu-west-1"),
        );
        store
            .write::<_, StoreError>(|tx| {
                tx.put(&a, thing("x", 1))?;
                tx.put(&a, thing("y", 2))?;
                tx.put(&b, thing("x", 3))
            })
            .unwrap();
        let scopes = || store.read(|v| v.scopes().into_iter().collect::<Vec<_>>());
        assert_eq!(scopes(), vec![b.clone(), a.clone()]);
        store
            .write::<_, StoreError>(|tx| {
                tx.delete::<Thing>(&b, "x");
                Ok(())
            })
            .unwrap();
        assert_eq!(scopes(), vec![a]);
    }

    #[test]
    fn the_generation_moves_with_every_committed_change() {
        let store = Store::ephemeral(&[Kind::of::<Thing>()]);
        let s = Scope::new("000000000000", "us-west-2");
        let generation = || store.read(|v| v.generation());
        let g0 = generation();
        store
            .write::<_, StoreError>(|tx| tx.put(&s, thing("a", 1)))
            .unwrap();
        let g1 = generation();
        assert!(g1 > g0);
        // A transaction that writes nothing, or fails, changes nothing.
        store.write::<_, StoreError>(|_| Ok(())).unwrap();
        let _ = store.write::<(), StoreError>(|tx| {
            tx.put(&s, thing("b", 2))?;
            Err(StoreError::Unregistered("failed on purpose"))
        });
        assert_eq!(generation(), g1);
        store.reset().unwrap();
        assert!(generation() > g1, "a reset is a change too");
    }

    #[test]
    fn a_record_of_an_unregistered_kind_is_refused_and_nothing_is_written() {
        let store = Store::ephemeral(&[]);
        let s = Scope::new("000000000000", "us-west-2");
        let err = store
            .write::<_, StoreError>(|tx| tx.put(&s, thing("a", 1)))
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Unregistered("test.thing")),
            "{err}"
        );
        assert!(store.read(|v| v.get::<Thing>(&s, "a")).is_none());
    }

    /// A record with a group (its team).
    #[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
    struct Member {
        id: String,
        team: String,
    }
    record!(Member, "test.member", id, group: team);

    fn member(id: &str, team: &str) -> Member {
        Member {
            id: id.into(),
            team: team.into(),
        }
    }

    fn ids(v: &[Arc<Member>]) -> Vec<&str> {
        v.iter().map(|m| m.id.as_str()).collect()
    }

    #[test]
    fn groups_follow_puts_moves_deletes_restarts_and_resets() {
        let dir = Scratch::new("groups");
        let path = dir.join("state.db");
        let s = Scope::new("000000000000", "us-west-2");
        let other = Scope::new("000000000000", "eu-west-1");
        {
            let store = Store::open(&path, &[Kind::of::<Member>()]).unwrap();
            store
                .write::<_, StoreError>(|tx| {
                    tx.put(&s, member("c", "red"))?;
                    tx.put(&s, member("a", "red"))?;
                    tx.put(&s, member("b", "blue"))?;
                    tx.put(&other, member("z", "red"))?;
                    // Inside the transaction the index sees its own writes.
                    assert_eq!(ids(&tx.list_in::<Member>(&s, "red")), ["a", "c"]);
                    Ok(())
                })
                .unwrap();
            store
                .write::<_, StoreError>(|tx| {
                    tx.put(&s, member("a", "blue"))?;
                    tx.delete::<Member>(&s, "c");
                    assert!(tx.list_in::<Member>(&s, "red").is_empty());
                    assert_eq!(ids(&tx.list_in::<Member>(&s, "blue")), ["a", "b"]);
                    Ok(())
                })
                .unwrap();
            store.read(|v| {
                assert!(v.list_in::<Member>(&s, "red").is_empty());
                assert_eq!(ids(&v.list_in::<Member>(&s, "blue")), ["a", "b"]);
                assert_eq!(ids(&v.list_in::<Member>(&other, "red")), ["z"]);
            });
        }
        let store = Store::open(&path, &[Kind::of::<Member>()]).unwrap();
        store.read(|v| {
            assert_eq!(ids(&v.list_in::<Member>(&s, "blue")), ["a", "b"]);
            assert_eq!(ids(&v.list_in::<Member>(&other, "red")), ["z"]);
        });
        store.reset().unwrap();
        assert!(store.read(|v| v.list_in::<Member>(&s, "blue").is_empty()));
    }

    /// A record known by names (its DNS names, say).
    #[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
    struct Host {
        id: String,
        names: Vec<String>,
    }
    impl Record for Host {
        const KIND: &'static str = "test.host";
        fn id(&self) -> &str {
            &self.id
        }
        fn names(&self) -> Vec<String> {
            self.names.clone()
        }
    }

    fn host(id: &str, names: &[&str]) -> Host {
        Host {
            id: id.into(),
            names: names.iter().map(|n| n.to_string()).collect(),
        }
    }

    fn found(v: Vec<(Scope, Arc<Host>)>) -> Vec<(String, String)> {
        v.into_iter()
            .map(|(s, h)| (s.account, h.id.clone()))
            .collect()
    }

    #[test]
    fn names_find_records_in_any_scope_and_follow_every_change() {
        let dir = Scratch::new("names");
        let path = dir.join("state.db");
        let a = Scope::new("111111111111", "us-west-2");
        let b = Scope::new("222222222222", "us-west-2");
        let pair = |acct: &str, id: &str| (acct.to_owned(), id.to_owned());
        {
            let store = Store::open(&path, &[Kind::of::<Host>()]).unwrap();
            store
                .write::<_, StoreError>(|tx| {
                    tx.put(&a, host("h1", &["web.example", "h1.example"]))?;
                    tx.put(&b, host("h2", &["web.example"]))?;
                    // The transaction sees its own writes.
                    assert_eq!(
                        found(tx.find::<Host>("web.example")),
                        [pair("111111111111", "h1"), pair("222222222222", "h2")]
                    );
                    Ok(())
                })
                .unwrap();
            store
                .write::<_, StoreError>(|tx| {
                    tx.put(&a, host("h1", &["h1.example"]))?;
                    tx.delete::<Host>(&b, "h2");
                    tx.put(&b, host("h3", &["h3.example"]))?;
                    assert!(tx.find::<Host>("web.example").is_empty());
                    assert_eq!(
                        found(tx.find::<Host>("h3.example")),
                        [pair("222222222222", "h3")]
                    );
                    Ok(())
                })
                .unwrap();
            store.read(|v| {
                assert!(v.find::<Host>("web.example").is_empty());
                assert_eq!(
                    found(v.find::<Host>("h1.example")),
                    [pair("111111111111", "h1")]
                );
                assert!(v.find::<Host>("h1").is_empty());
            });
            // A failed transaction changes no index.
            let r = store.write(|tx| {
                tx.put(&a, host("h1", &["other.example"]))?;
                Err::<(), _>(Fail)
            });
            assert!(r.is_err());
            assert_eq!(store.read(|v| v.find::<Host>("h1.example").len()), 1);
            // A record that gives a name twice is found once, and is gone with its last put.
            store
                .write::<_, StoreError>(|tx| tx.put(&b, host("h4", &["twice", "twice"])))
                .unwrap();
            assert_eq!(
                found(store.read(|v| v.find::<Host>("twice"))),
                [pair("222222222222", "h4")]
            );
            store
                .write::<_, StoreError>(|tx| tx.put(&b, host("h4", &[])))
                .unwrap();
            assert!(store.read(|v| v.find::<Host>("twice")).is_empty());
        }
        let store = Store::open(&path, &[Kind::of::<Host>()]).unwrap();
        store.read(|v| {
            assert_eq!(
                found(v.find::<Host>("h1.example")),
                [pair("111111111111", "h1")]
            );
            assert_eq!(
                found(v.find::<Host>("h3.example")),
                [pair("222222222222", "h3")]
            );
        });
        store.reset().unwrap();
        assert!(store.read(|v| v.find::<Host>("h1.example").is_empty()));
    }

    #[test]
    fn a_failed_transaction_leaves_nothing() {
        let store = Store::ephemeral(&[Kind::of::<Thing>()]);
        let s = Scope::new("000000000000", "us-west-2");
        let r = store.write(|tx| {
            tx.put(&s, thing("a", 1))?;
            Err::<(), _>(Fail)
        });
        assert!(r.is_err());
        assert!(store.read(|v| v.get::<Thing>(&s, "a")).is_none());
    }

    #[test]
    fn scopes_and_kinds_do_not_mix() {
        let store = Store::ephemeral(&[Kind::of::<Thing>()]);
        let a = Scope::new("000000000000", "us-west-2");
        let b = Scope::new("000000000000", "us-east-1");
        store
            .write::<_, StoreError>(|tx| {
                tx.put(&a, thing("x", 1))?;
                tx.put(&b, thing("y", 2))
            })
            .unwrap();
        assert_eq!(store.read(|v| v.list::<Thing>(&a).len()), 1);
        assert_eq!(store.read(|v| v.list::<Thing>(&b)[0].id.clone()), "y");
        assert!(store.read(|v| v.get::<Thing>(&a, "y")).is_none());
    }

    #[test]
    fn committed_records_survive_reopening() {
        let dir = Scratch::new("reopen");
        let path = dir.join("state.db");
        let s = Scope::global("123456789012");
        {
            let store = Store::open(&path, &[Kind::of::<Thing>()]).unwrap();
            let mut rx = store.subscribe();
            store
                .write::<_, StoreError>(|tx| tx.put(&s, thing("r", 7)))
                .unwrap();
            let change = rx.try_recv().unwrap();
            assert_eq!(
                (change.kind, change.id.as_str(), change.deleted),
                ("test.thing", "r", false)
            );
        }
        let store = Store::open(&path, &[Kind::of::<Thing>()]).unwrap();
        assert_eq!(store.read(|v| v.get::<Thing>(&s, "r")).unwrap().n, 7);
        // One process (one store) per database.
        assert!(matches!(
            Store::open(&path, &[Kind::of::<Thing>()]),
            Err(StoreError::Locked(_))
        ));
        store.reset().unwrap();
        drop(store);
        let store = Store::open(&path, &[Kind::of::<Thing>()]).unwrap();
        assert!(store.read(|v| v.get::<Thing>(&s, "r")).is_none());
    }

    /// A database with `n` one-record transactions, all still in its log: a copy of its files
    /// taken while the store is open (closing it would checkpoint the log away), as `kill -9`
    /// leaves them.
    fn killed_with(dir: &Path, n: u32) -> std::path::PathBuf {
        let live = dir.join("live");
        let dead = dir.join("dead");
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(&live).unwrap();
        std::fs::create_dir_all(&dead).unwrap();
        let store = Store::open(&live.join("state.db"), &[Kind::of::<Thing>()]).unwrap();
        let s = Scope::global("123456789012");
        for i in 0..n {
            store
                .write::<_, StoreError>(|tx| tx.put(&s, thing(&format!("t{i:03}"), i)))
                .unwrap();
        }
        for f in ["state.db", "state.db-wal"] {
            std::fs::copy(live.join(f), dead.join(f)).unwrap();
        }
        dead.join("state.db")
    }

    fn count(store: &Store) -> usize {
        store.read(|v| v.list::<Thing>(&Scope::global("123456789012")).len())
    }

    #[test]
    fn a_log_damaged_in_the_middle_is_refused_untouched_or_set_aside_with_recover() {
        let dir = Scratch::new("wal");
        let path = killed_with(&dir, 200);
        let wal = wal_path(&path);
        let intact = Store::open(
            &killed_with(&dir.join("intact"), 200),
            &[Kind::of::<Thing>()],
        );
        assert_eq!(count(&intact.unwrap()), 200, "kill -9 loses nothing");
        let mut bytes = std::fs::read(&wal).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid..mid + 8192].fill(0xde);
        std::fs::write(&wal, &bytes).unwrap();

        let err = Store::open(&path, &[Kind::of::<Thing>()]).err().unwrap();
        assert!(
            matches!(
                err,
                StoreError::Damaged {
                    what: Damage::Log(_),
                    ..
                }
            ),
            "{err}"
        );
        let message = err.to_string();
        assert!(
            message.contains("write-ahead log is damaged at byte"),
            "{message}"
        );
        assert!(message.contains("--recover"), "{message}");
        assert_eq!(
            std::fs::read(&wal).unwrap(),
            bytes,
            "the refused log is untouched"
        );

        let (store, recovered) = Store::open_with(&path, &[Kind::of::<Thing>()], true).unwrap();
        let recovered = recovered.unwrap();
        assert!(matches!(
            recovered.damage,
            Damage::Log(wal::Damage::Frames { .. })
        ));
        assert_eq!(
            std::fs::read(recovered.copy.join("state.db-wal")).unwrap(),
            bytes,
            "the damaged log is kept"
        );
        let kept = count(&store);
        assert!(kept > 0 && kept < 200, "{kept}");
        drop(store);
        // Once recovered, the database is whole again.
        assert_eq!(
            count(&Store::open(&path, &[Kind::of::<Thing>()]).unwrap()),
            kept
        );
    }

    #[test]
    fn an_empty_database_file_is_refused_or_started_over_with_recover() {
        let dir = Scratch::new("empty");
        let path = dir.join("state.db");
        std::fs::write(&path, b"").unwrap();
        let err = Store::open(&path, &[Kind::of::<Thing>()]).err().unwrap();
        assert!(
            matches!(
                err,
                StoreError::Damaged {
                    what: Damage::Empty,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("is empty (0 bytes)"), "{err}");
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
        let (store, recovered) = Store::open_with(&path, &[Kind::of::<Thing>()], true).unwrap();
        let recovered = recovered.unwrap();
        assert_eq!(recovered.damage, Damage::Empty);
        assert!(recovered.copy.join("state.db").exists());
        assert_eq!(count(&store), 0);
    }

    #[test]
    fn files_sqlite_cannot_read_whole_are_malformed_even_with_recover() {
        let dir = Scratch::new("bad");
        // Not a database at all.
        let path = dir.join("junk.db");
        std::fs::write(&path, vec![0x5a; 8192]).unwrap();
        for recover in [false, true] {
            let err = Store::open_with(&path, &[Kind::of::<Thing>()], recover)
                .err()
                .unwrap();
            assert!(matches!(err, StoreError::Malformed { .. }), "{err}");
        }
        // A database cut to half its length.
        let path = dir.join("state.db");
        {
            let store = Store::open(&path, &[Kind::of::<Thing>()]).unwrap();
            let s = Scope::global("123456789012");
            for i in 0..300 {
                store
                    .write::<_, StoreError>(|tx| tx.put(&s, thing(&format!("{i:0>200}"), i)))
                    .unwrap();
            }
        }
        let len = std::fs::metadata(&path).unwrap().len();
        assert!(len > 16 * 4096, "{len}");
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(len / 2)
            .unwrap();
        let err = Store::open(&path, &[Kind::of::<Thing>()]).err().unwrap();
        assert!(matches!(err, StoreError::Malformed { .. }), "{err}");
    }
}
