//! Where the series live in memory: shards chosen by the hash of the
//! identity, each a `Vec` of compact entries and a `HashTable<u32>` of
//! positions in it.
//!
//! **Lock scheme.** Each shard has its own `RwLock`. The committer is the
//! only writer: it takes one shard's write lock per point it applies (a
//! few hundred nanoseconds), never two at once. Readers (`find`,
//! `for_each`, `explain`) take one shard's read lock at a time, so a scan
//! of a million series never holds more than 1/64 of them, and ingest
//! waits at most for one shard's scan (about 16 000 series) instead of
//! the whole store. No lock is held across I/O: the log is written before
//! any shard is touched.
//!
//! **Memory per series** (default detector, window 5): the entry (112
//! bytes: the detector's 64, the identity's box, the last timestamp,
//! probability and LSN, the id), the window's heap block (40 + allocator
//! overhead), the identity's heap block (a few dozen bytes) and ~6 bytes of
//! index. Configurations are shared (`Arc`), never copied per series.

use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use anomalyzer_ts::{Anomalyzer, AnomalyzerConf, Explanation};
use hashbrown::HashTable;

use super::identity::{hash_bytes, labels_of, name_of, SeriesIdentity};

/// Number of shards (a power of two).
pub(crate) const SHARDS: usize = 64;

/// One series in memory.
#[derive(Debug)]
pub(crate) struct SeriesEntry {
    pub key: Box<[u8]>,
    pub detector: Anomalyzer,
    /// Last accepted timestamp, `i64::MIN` for none.
    pub last_ts: i64,
    /// Probability of the last point (meaningless without one).
    pub last_probability: f64,
    /// LSN of the series' last record (creation or push).
    pub last_lsn: u64,
    pub id: u32,
}

/// What a reader sees of one series.
#[derive(Debug)]
pub struct SeriesView<'a> {
    entry: &'a SeriesEntry,
}

impl<'a> SeriesView<'a> {
    /// The series id in the log.
    #[must_use]
    pub fn id(&self) -> u32 {
        self.entry.id
    }

    /// The metric name.
    #[must_use]
    pub fn name(&self) -> &'a str {
        name_of(&self.entry.key)
    }

    /// The labels, sorted by name.
    pub fn labels(&self) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        labels_of(&self.entry.key)
    }

    /// The identity's encoded bytes.
    #[must_use]
    pub fn identity_bytes(&self) -> &'a [u8] {
        &self.entry.key
    }

    /// Points accepted so far.
    #[must_use]
    pub fn points(&self) -> u64 {
        self.entry.detector.push_count()
    }

    /// Timestamp (ns) and probability of the last point, if any.
    #[must_use]
    pub fn last(&self) -> Option<(i64, f64)> {
        (self.points() > 0).then_some((self.entry.last_ts, self.entry.last_probability))
    }

    /// The last point's value, if any.
    #[must_use]
    pub fn last_value(&self) -> Option<f64> {
        self.entry.detector.window().last()
    }

    /// The explanation of the last point: the detector evaluates its
    /// current state again, which draws exactly what the push drew (the
    /// permutations are seeded by the configuration's seed and the push
    /// count), so nothing but the probability is kept per series.
    #[must_use]
    pub fn explain(&self) -> Option<Explanation> {
        (self.points() > 0).then(|| self.entry.detector.explain())
    }

    /// The configuration the series was created with.
    #[must_use]
    pub fn conf(&self) -> &'a AnomalyzerConf {
        self.entry.detector.conf()
    }

    /// The shared configuration.
    #[must_use]
    pub fn shared_conf(&self) -> &'a std::sync::Arc<AnomalyzerConf> {
        self.entry.detector.shared_conf()
    }
}

/// One shard: entries and their index.
#[derive(Debug, Default)]
pub(crate) struct Shard {
    pub entries: Vec<SeriesEntry>,
    index: HashTable<u32>,
}

impl Shard {
    pub(crate) fn find(&self, hash: u64, key: &[u8]) -> Option<usize> {
        self.index
            .find(hash, |&at| *self.entries[at as usize].key == *key)
            .map(|&at| at as usize)
    }

    /// Adds an entry (its key must not be present); returns its position.
    pub(crate) fn insert(&mut self, hash: u64, entry: SeriesEntry) -> usize {
        let at = self.entries.len();
        let entries = &self.entries;
        self.index
            .insert_unique(hash, at as u32, |&i| hash_bytes(&entries[i as usize].key));
        self.entries.push(entry);
        at
    }
}

/// The shards, plus where each id lives.
#[derive(Debug)]
pub(crate) struct Shards {
    shards: Box<[RwLock<Shard>]>,
}

/// Where a series lives: shard and position, packed (6 + 26 bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Location(u32);

impl Location {
    fn new(shard: usize, at: usize) -> Self {
        Location(((at as u32) << 6) | shard as u32)
    }
    pub(crate) fn shard(self) -> usize {
        (self.0 & 63) as usize
    }
    pub(crate) fn at(self) -> usize {
        (self.0 >> 6) as usize
    }
}

/// Most series the packed locations can address.
pub(crate) const MAX_SERIES: u64 = (1 << 26) * SHARDS as u64;

pub(crate) fn shard_of(hash: u64) -> usize {
    // The low bits pick the slot in hashbrown's table; use high ones here.
    (hash >> 58) as usize & (SHARDS - 1)
}

impl Shards {
    pub(crate) fn new() -> Self {
        Shards {
            shards: (0..SHARDS).map(|_| RwLock::new(Shard::default())).collect(),
        }
    }

    pub(crate) fn read(&self, shard: usize) -> RwLockReadGuard<'_, Shard> {
        // A panic while holding a shard lock leaves plain data; carry on.
        self.shards[shard]
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn write(&self, shard: usize) -> RwLockWriteGuard<'_, Shard> {
        self.shards[shard]
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The location of `identity`, if it exists.
    pub(crate) fn locate(&self, identity: &SeriesIdentity) -> Option<Location> {
        let hash = identity.hash();
        let shard = shard_of(hash);
        self.read(shard)
            .find(hash, identity.as_bytes())
            .map(|at| Location::new(shard, at))
    }

    /// The location, id and last timestamp of `identity`, if it exists
    /// (one lookup under one read lock: the committer's hot path).
    pub(crate) fn locate_with_last(
        &self,
        identity: &SeriesIdentity,
    ) -> Option<(Location, u32, i64)> {
        let hash = identity.hash();
        let shard = shard_of(hash);
        let guard = self.read(shard);
        let at = guard.find(hash, identity.as_bytes())?;
        let e = &guard.entries[at];
        Some((Location::new(shard, at), e.id, e.last_ts))
    }

    /// Adds a new series; the caller knows it is not present.
    pub(crate) fn insert(&self, entry: SeriesEntry) -> Location {
        let hash = hash_bytes(&entry.key);
        let shard = shard_of(hash);
        let at = self.write(shard).insert(hash, entry);
        Location::new(shard, at)
    }

    /// Calls `f` with the series `identity` under its shard's read lock.
    pub(crate) fn with<R>(
        &self,
        identity: &SeriesIdentity,
        f: impl FnOnce(SeriesView<'_>) -> R,
    ) -> Option<R> {
        let hash = identity.hash();
        let shard = self.read(shard_of(hash));
        let at = shard.find(hash, identity.as_bytes())?;
        Some(f(SeriesView {
            entry: &shard.entries[at],
        }))
    }

    /// Visits every series, one shard (read-locked) at a time.
    pub(crate) fn for_each(&self, visit: &mut dyn FnMut(SeriesView<'_>)) {
        for shard in 0..SHARDS {
            let guard = self.read(shard);
            for entry in &guard.entries {
                visit(SeriesView { entry });
            }
        }
    }

    /// Visits the series at `loc` mutably.
    pub(crate) fn update<R>(&self, loc: Location, f: impl FnOnce(&mut SeriesEntry) -> R) -> R {
        let mut guard = self.write(loc.shard());
        f(&mut guard.entries[loc.at()])
    }

    /// Reads the series at `loc`.
    pub(crate) fn inspect<R>(&self, loc: Location, f: impl FnOnce(&SeriesEntry) -> R) -> R {
        let guard = self.read(loc.shard());
        f(&guard.entries[loc.at()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn entry(name: &str, id: u32) -> SeriesEntry {
        let conf = Arc::new(AnomalyzerConf::builder().active_size(1).build().unwrap());
        SeriesEntry {
            key: SeriesIdentity::new(name, &[]).unwrap().into_bytes(),
            detector: Anomalyzer::with_shared_conf(conf, &[]).unwrap(),
            last_ts: i64::MIN,
            last_probability: 0.0,
            last_lsn: 1,
            id,
        }
    }

    #[test]
    fn series_are_found_where_they_were_put() {
        let shards = Shards::new();
        let mut locs = Vec::new();
        for i in 0..2000u32 {
            locs.push(shards.insert(entry(&format!("s{i}"), i)));
        }
        for (i, loc) in locs.iter().enumerate() {
            let id = SeriesIdentity::new(&format!("s{i}"), &[]).unwrap();
            assert_eq!(shards.locate(&id), Some(*loc));
            assert_eq!(shards.inspect(*loc, |e| e.id), i as u32);
            assert_eq!(
                shards.with(&id, |v| v.name().to_owned()).unwrap(),
                id.name()
            );
        }
        assert!(shards
            .locate(&SeriesIdentity::new("nope", &[]).unwrap())
            .is_none());
        let mut n = 0;
        shards.for_each(&mut |_| n += 1);
        assert_eq!(n, 2000);
        // The entry stays compact (the memory budget depends on it).
        assert!(std::mem::size_of::<SeriesEntry>() <= 112);
    }
}
