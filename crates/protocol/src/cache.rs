//! Encoded answers kept outside the records they encode.
//!
//! An entry is the text an encoder wrote for one version of one record ([`Of`]), seen under one
//! view (`K`: whatever else the text depends on, such as the lifecycle state shown), at one
//! place of one model (the output shape, which also fixes the protocol). A record's version is
//! its identity: stored records are never changed in place (a change puts a new record, a new
//! allocation), so while the allocation an entry names is alive, it holds the same value. An
//! entry holds a `Weak` to it, which keeps the address from being reused; once the store drops
//! the record (replaced or deleted) and nobody else holds it, the entry is dead: it can never be
//! asked for again, and it is dropped when its shard fills. Entries are few per record
//! ([`PER_RECORD`]), and the whole cache has a bound ([`Cache::new`]).
//!
//! Services never hold the cache: their outputs say "this is the encoding of record X under
//! view K" ([`crate::Output::cached`], [`crate::encode::Part`]) and the encoders ask
//! [`Cache::global`].

use std::any::Any;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex, Weak};

/// Entries kept per record (views times places); the oldest goes first.
pub const PER_RECORD: usize = 8;
const SHARDS: usize = 16;

/// What an answer is the encoding of: one version of a record (an `Arc` read from the store),
/// or a value that lives as long as the process.
pub trait Of {
    /// The version's identity: its address.
    fn addr(&self) -> usize;
    /// What the cache holds to keep the address from naming anything else.
    fn hold(&self) -> Hold;
}

impl<T: Any + Send + Sync> Of for Arc<T> {
    fn addr(&self) -> usize {
        Arc::as_ptr(self) as *const u8 as usize
    }
    fn hold(&self) -> Hold {
        let weak: Weak<dyn Any + Send + Sync> = Arc::downgrade(self) as _;
        Hold::Record(weak)
    }
}

/// A value that is never freed nor changed (a static table).
pub struct Fixed<T: 'static>(pub &'static T);

impl<T: Sync> Of for Fixed<T> {
    fn addr(&self) -> usize {
        self.0 as *const T as *const u8 as usize
    }
    fn hold(&self) -> Hold {
        Hold::Fixed
    }
}

/// How an entry keeps its record's address.
pub enum Hold {
    Record(Weak<dyn Any + Send + Sync>),
    Fixed,
}

impl Hold {
    fn alive(&self) -> bool {
        match self {
            Hold::Record(w) => w.strong_count() > 0,
            Hold::Fixed => true,
        }
    }
}

/// A view key, compared through `Any`.
trait View: Send {
    fn same(&self, other: &dyn Any) -> bool;
}

impl<K: PartialEq + Send + 'static> View for K {
    fn same(&self, other: &dyn Any) -> bool {
        other.downcast_ref::<K>() == Some(self)
    }
}

struct Entry {
    view: Box<dyn View>,
    place: usize,
    text: Arc<str>,
}

struct Slot {
    hold: Hold,
    entries: Vec<Entry>,
}

/// Addresses are already spread: a multiply is hash enough.
#[derive(Default)]
struct AddrHasher(u64);

impl Hasher for AddrHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn write_usize(&mut self, n: usize) {
        self.0 = (n as u64 >> 4).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

type Shard = HashMap<usize, Slot, BuildHasherDefault<AddrHasher>>;

/// The cache: records' encoded answers, in shards by address.
pub struct Cache {
    shards: Vec<Mutex<Shard>>,
    /// Records per shard.
    per_shard: usize,
}

impl Cache {
    /// A cache of at most `records` records' answers ([`PER_RECORD`] each).
    pub fn new(records: usize) -> Cache {
        Cache {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            per_shard: records.div_ceil(SHARDS).max(1),
        }
    }

    /// The process's cache, which the encoders use: 16,384 records (a few tens of MB at most).
    #[cfg(not(test))]
    pub fn global() -> &'static Cache {
        static GLOBAL: std::sync::OnceLock<Cache> = std::sync::OnceLock::new();
        GLOBAL.get_or_init(|| Cache::new(16_384))
    }

    /// In this crate's unit tests, each test thread's own cache: the cache never waits for a
    /// shard another thread holds (it answers nothing, or keeps nothing), so tests that run at
    /// the same time and assert what is kept must not share one.
    #[cfg(test)]
    pub fn global() -> &'static Cache {
        thread_local! {
            static OWN: &'static Cache = Box::leak(Box::new(Cache::new(16_384)));
        }
        OWN.with(|c| *c)
    }

    fn shard(&self, addr: usize) -> &Mutex<Shard> {
        &self.shards[((addr >> 4).wrapping_mul(0x9e37_79b9) >> 7) & (SHARDS - 1)]
    }

    /// The text kept for `of` under `view` at `place`, if any. Never waits: a shard in use
    /// answers nothing.
    pub fn get<K: PartialEq + Send + 'static>(
        &self,
        of: &dyn Of,
        view: &K,
        place: usize,
    ) -> Option<Arc<str>> {
        self.find(of, view, |p| p == place).map(|(_, t)| t)
    }

    /// The text kept for `of` under `view` at any place, with its place.
    pub(crate) fn find<K: PartialEq + Send + 'static>(
        &self,
        of: &dyn Of,
        view: &K,
        place: impl Fn(usize) -> bool,
    ) -> Option<(usize, Arc<str>)> {
        let addr = of.addr();
        let shard = self.shard(addr).try_lock().ok()?;
        let slot = shard.get(&addr)?;
        slot.entries
            .iter()
            .find(|e| place(e.place) && e.view.same(view))
            .map(|e| (e.place, e.text.clone()))
    }

    /// Keeps `text` as the encoding of `of` under `view` at `place` (unless the shard is in use).
    pub fn put<K: PartialEq + Send + 'static>(
        &self,
        of: &dyn Of,
        view: K,
        place: usize,
        text: Arc<str>,
    ) {
        let addr = of.addr();
        let Ok(mut shard) = self.shard(addr).try_lock() else {
            return;
        };
        if !shard.contains_key(&addr) && shard.len() >= self.per_shard {
            // Full: drop the dead records' entries; if all are alive, start over.
            shard.retain(|_, s| s.hold.alive());
            if shard.len() >= self.per_shard {
                shard.clear();
            }
        }
        let slot = shard.entry(addr).or_insert_with(|| Slot {
            hold: of.hold(),
            entries: Vec::new(),
        });
        slot.entries
            .retain(|e| !(e.place == place && e.view.same(&view)));
        if slot.entries.len() >= PER_RECORD {
            slot.entries.remove(0);
        }
        slot.entries.push(Entry {
            view: Box::new(view),
            place,
            text,
        });
    }

    /// Records with entries (dead ones included until their shard fills).
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|e| e.into_inner()).len())
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, PartialEq)]
    struct Rec(u32);

    #[test]
    fn an_entry_answers_for_its_record_version_view_and_place_only() {
        let c = Cache::new(64);
        let a = Arc::new(Rec(1));
        c.put(&a, "available", 1, "A".into());
        assert_eq!(c.get(&a, &"available", 1).as_deref(), Some("A"));
        // Another view, another place: nothing.
        assert_eq!(c.get(&a, &"pending", 1), None);
        assert_eq!(c.get(&a, &"available", 2), None);
        // A view of another type with the same bits: nothing.
        assert_eq!(c.get(&a, &1u8, 1), None);
        // A clone of the Arc is the same version.
        assert_eq!(c.get(&a.clone(), &"available", 1).as_deref(), Some("A"));
        // A changed copy (as `Arc::make_mut` makes of a stored record) is another version.
        let mut b = a.clone();
        Arc::make_mut(&mut b).0 = 2;
        assert_eq!(c.get(&b, &"available", 1), None);
        // An equal value in another allocation is another version too.
        assert_eq!(c.get(&Arc::new(Rec(1)), &"available", 1), None);
        // Kept again for the same key: replaced, not added.
        c.put(&a, "available", 1, "A2".into());
        assert_eq!(c.get(&a, &"available", 1).as_deref(), Some("A2"));
    }

    #[test]
    fn a_dropped_record_cannot_be_named_again() {
        let c = Cache::new(64);
        let a = Arc::new(Rec(1));
        let addr = a.addr();
        c.put(&a, (), 1, "A".into());
        drop(a);
        // The entry's weak keeps the allocation: a new record cannot take its address while
        // the entry exists.
        let others: Vec<Arc<Rec>> = (0..1000).map(|i| Arc::new(Rec(i))).collect();
        assert!(others.iter().all(|o| o.addr() != addr));
        assert!(others.iter().all(|o| c.get(o, &(), 1).is_none()));
    }

    #[test]
    fn the_cache_keeps_to_its_bound() {
        let c = Cache::new(SHARDS * 4);
        let live: Vec<Arc<Rec>> = (0..1000).map(|i| Arc::new(Rec(i))).collect();
        for r in &live {
            c.put(r, (), 1, "x".into());
        }
        assert!(c.len() <= SHARDS * 4, "{}", c.len());
        // Per record: at most PER_RECORD views, the newest kept.
        let r = &live[0];
        for v in 0..20u32 {
            c.put(r, v, 1, v.to_string().into());
        }
        assert_eq!(c.get(r, &19u32, 1).as_deref(), Some("19"));
        assert_eq!(c.get(r, &0u32, 1), None);
        let shard = c.shard(r.addr()).lock().unwrap();
        assert_eq!(shard[&r.addr()].entries.len(), PER_RECORD);
    }

    #[test]
    fn dead_records_go_first_when_a_shard_fills() {
        let c = Cache::new(SHARDS * 2);
        let keep = Arc::new(Rec(0));
        c.put(&keep, (), 1, "keep".into());
        for i in 1..200 {
            // Each dies at once: the shard drops it rather than the live one.
            let r = Arc::new(Rec(i));
            c.put(&r, (), 1, "gone".into());
        }
        assert_eq!(c.get(&keep, &(), 1).as_deref(), Some("keep"));
    }
}
