//! Reading the state: a snapshot (`View`), a write transaction (`Tx`) whose reads see its own
//! writes, and the reads both share (`Read`).

use super::*;

pub(crate) fn downcast<T: Record>(obj: &Obj) -> Arc<T> {
    // Keys carry T::KIND, and only values of that type are stored under it.
    Arc::clone(obj)
        .downcast::<T>()
        .expect("record stored under its own kind")
}

/// Read access to the state.
pub struct View<'a> {
    pub(crate) base: &'a Records,
    pub(crate) overlay: Option<&'a BTreeMap<Key, Pending>>,
}

impl View<'_> {
    /// The generation of the state this view reads: it changes with every committed
    /// transaction, so something derived from the records (a caller's parsed policies) can be
    /// kept while the generation stays the same.
    pub fn generation(&self) -> u64 {
        self.base.generation
    }

    pub fn get<T: Record>(&self, scope: &Scope, id: &str) -> Option<Arc<T>> {
        if let Some(overlay) = self.overlay {
            let key = (T::KIND, scope.clone(), id.to_owned());
            if let Some(o) = overlay.get(&key) {
                return o.as_ref().map(|(w, _)| downcast::<T>(&w.obj));
            }
        }
        self.base
            .kind(T::KIND)?
            .table
            .get(scope)?
            .get(id)
            .map(downcast::<T>)
    }

    /// Every record of type `T` in `scope`, ordered by id.
    pub fn list<T: Record>(&self, scope: &Scope) -> Vec<Arc<T>> {
        let base = self
            .base
            .kind(T::KIND)
            .and_then(|k| k.table.get(scope))
            .into_iter()
            .flatten()
            .map(|(id, o)| (id.as_str(), o));
        self.merged(scope, base, |_| true)
    }

    /// The records of type `T` in `scope` whose [`Record::group`] is `group`, ordered by id,
    /// found through the group index (no scan of the kind).
    pub fn list_in<T: Record>(&self, scope: &Scope, group: &str) -> Vec<Arc<T>> {
        let base = self
            .base
            .kind(T::KIND)
            .and_then(|k| k.groups.get(scope))
            .and_then(|g| g.get(group))
            .into_iter()
            .flatten()
            .map(|(id, o)| (id.as_str(), o));
        self.merged(scope, base, |w| w.group.as_deref() == Some(group))
    }

    /// The records of type `T`, in any scope, that answer to `name` ([`Record::names`]),
    /// ordered by scope and id, found through the name index.
    pub fn find<T: Record>(&self, name: &str) -> Vec<(Scope, Arc<T>)> {
        let mut out: Vec<(Scope, String, Arc<T>)> = self
            .base
            .kind(T::KIND)
            .and_then(|k| k.names.get(name))
            .into_iter()
            .flatten()
            .map(|(scope, id, o)| (scope.clone(), id.clone(), downcast::<T>(o)))
            .collect();
        if let Some(overlay) = self.overlay {
            // A transaction's own writes of `T` replace what the index holds for them.
            for ((kind, scope, id), pending) in overlay {
                if *kind != T::KIND {
                    continue;
                }
                out.retain(|(s, i, _)| !(s == scope && i == id));
                if let Some((w, _)) = pending {
                    if w.names.iter().any(|n| n == name) {
                        out.push((scope.clone(), id.clone(), downcast::<T>(&w.obj)));
                    }
                }
            }
            out.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        }
        out.into_iter().map(|(s, _, t)| (s, t)).collect()
    }

    /// `base` (committed records, ordered by id) with a transaction's own writes of `T` in
    /// `scope` applied; `keep` says whether a written record belongs.
    fn merged<'b, T: Record>(
        &self,
        scope: &Scope,
        base: impl Iterator<Item = (&'b str, &'b Obj)>,
        keep: impl Fn(&Indexed) -> bool,
    ) -> Vec<Arc<T>> {
        let start = (T::KIND, scope.clone(), String::new());
        let writes: Vec<_> = self
            .overlay
            .map(|o| {
                o.range(start..)
                    .take_while(|(k, _)| k.0 == T::KIND && &k.1 == scope)
                    .collect()
            })
            .unwrap_or_default();
        if writes.is_empty() {
            return base.map(|(_, o)| downcast::<T>(o)).collect();
        }
        // A transaction writes few records: patch the ordered list in place.
        let mut out: Vec<(&str, Arc<T>)> = base.map(|(id, o)| (id, downcast::<T>(o))).collect();
        for (k, pending) in writes {
            let at = out.binary_search_by(|(id, _)| (*id).cmp(k.2.as_str()));
            match (pending, at) {
                (Some((w, _)), Ok(i)) if keep(w) => out[i].1 = downcast::<T>(&w.obj),
                (Some((w, _)), Err(i)) if keep(w) => {
                    out.insert(i, (k.2.as_str(), downcast::<T>(&w.obj)))
                }
                (_, Ok(i)) => {
                    out.remove(i);
                }
                (_, Err(_)) => {}
            }
        }
        out.into_iter().map(|(_, t)| t).collect()
    }

    /// Every scope that holds a committed record of any kind (the console's account and region
    /// selectors), in order.
    pub fn scopes(&self) -> std::collections::BTreeSet<Scope> {
        self.base
            .kinds
            .values()
            .flat_map(|k| k.table.iter())
            .filter(|(_, t)| !t.is_empty())
            .map(|(scope, _)| scope.clone())
            .collect()
    }

    /// Every record of type `T` in every scope (for rebuilding views after a restart).
    pub fn list_all<T: Record>(&self) -> Vec<(Scope, Arc<T>)> {
        self.base
            .kind(T::KIND)
            .into_iter()
            .flat_map(|k| k.table.iter())
            .flat_map(|(scope, t)| t.values().map(move |o| (scope.clone(), downcast::<T>(o))))
            .collect()
    }
}

/// The reads that a snapshot ([`View`]) and a transaction ([`Tx`]) share, so that a lookup
/// written once serves both.
pub trait Read {
    fn get<T: Record>(&self, scope: &Scope, id: &str) -> Option<Arc<T>>;
    fn list<T: Record>(&self, scope: &Scope) -> Vec<Arc<T>>;
    /// See [`View::list_in`].
    fn list_in<T: Record>(&self, scope: &Scope, group: &str) -> Vec<Arc<T>>;
}

/// Both types have the reads as inherent methods; the trait forwards to them.
macro_rules! forward_reads {
    ($t:ident) => {
        impl Read for $t<'_> {
            fn get<T: Record>(&self, scope: &Scope, id: &str) -> Option<Arc<T>> {
                $t::get(self, scope, id)
            }
            fn list<T: Record>(&self, scope: &Scope) -> Vec<Arc<T>> {
                $t::list(self, scope)
            }
            fn list_in<T: Record>(&self, scope: &Scope, group: &str) -> Vec<Arc<T>> {
                $t::list_in(self, scope, group)
            }
        }
    };
}

forward_reads!(View);
forward_reads!(Tx);

/// A write transaction: reads see its own writes.
pub struct Tx<'a> {
    pub(crate) base: &'a Records,
    pub(crate) overlay: BTreeMap<Key, Pending>,
}

impl Tx<'_> {
    fn view(&self) -> View<'_> {
        View {
            base: self.base,
            overlay: Some(&self.overlay),
        }
    }

    pub fn get<T: Record>(&self, scope: &Scope, id: &str) -> Option<Arc<T>> {
        self.view().get(scope, id)
    }

    pub fn list<T: Record>(&self, scope: &Scope) -> Vec<Arc<T>> {
        self.view().list(scope)
    }

    /// See [`View::list_in`].
    pub fn list_in<T: Record>(&self, scope: &Scope, group: &str) -> Vec<Arc<T>> {
        self.view().list_in(scope, group)
    }

    /// See [`View::find`].
    pub fn find<T: Record>(&self, name: &str) -> Vec<(Scope, Arc<T>)> {
        self.view().find(name)
    }

    /// Inserts or replaces a record.
    pub fn put<T: Record>(&mut self, scope: &Scope, record: T) -> Result<(), StoreError> {
        let body = serde_json::to_string(&record)?;
        let key = (T::KIND, scope.clone(), record.id().to_owned());
        self.overlay.insert(key, Some((Indexed::of(record), body)));
        Ok(())
    }

    pub fn delete<T: Record>(&mut self, scope: &Scope, id: &str) {
        self.overlay
            .insert((T::KIND, scope.clone(), id.to_owned()), None);
    }
}
