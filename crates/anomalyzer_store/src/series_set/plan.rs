//! Deciding one group of requests before anything is written: each
//! request in arrival order, against the store and the requests before it.
//!
//! - Out of order (as `anomalyzer_serve::plan_order` documents): a point
//!   whose timestamp is not after its series' last accepted one is rejected
//!   alone; points earlier in the same group count.
//! - Series limit: a request that would bring the series count past the
//!   limit is refused whole, and nothing of it is planned.
//! - A series' first admitted point creates it, with the configuration the
//!   resolver gives.
//!
//! The plan holds the records' bytes (LSNs consecutive from the log's
//! next) and what to apply once they are durable.

use std::collections::HashSet;
use std::sync::Arc;

use anomalyzer_ts::AnomalyzerConf;
use hashbrown::HashTable;

use super::conf_cache::ConfCache;
use super::log::{encode_create, encode_push_at};
use super::request::{ConfResolver, IncomingPoint, PointFate};
use super::shards::{Location, Shards};
use crate::Error;

/// Which series a planned push goes to.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Target {
    Existing(Location),
    /// Index into [`GroupPlan::creates`].
    New(usize),
}

/// A series this group creates.
#[derive(Debug)]
pub(crate) struct Create {
    pub key: Box<[u8]>,
    pub conf: Arc<AnomalyzerConf>,
    pub id: u32,
    pub lsn: u64,
}

/// A push this group applies.
#[derive(Debug)]
pub(crate) struct Push {
    pub target: Target,
    pub ts: i64,
    pub value: f64,
    pub lsn: u64,
    pub request: usize,
    pub point: usize,
}

/// A series this group touched: where it is and its latest timestamp.
#[derive(Debug, Clone, Copy)]
struct Seen<'g> {
    key: &'g [u8],
    hash: u64,
    target: Target,
    id: u32,
    last_ts: i64,
}

/// What the limits and the resolver are.
pub(crate) struct Context<'a> {
    pub shards: &'a Shards,
    pub max_series: u64,
    pub resolver: &'a ConfResolver,
    pub confs: &'a mut ConfCache,
}

/// A whole group, decided.
pub(crate) struct GroupPlan<'g> {
    /// The series touched, indexed by their identity's hash.
    seen: Vec<Seen<'g>>,
    index: HashTable<usize>,
    pub creates: Vec<Create>,
    pub pushes: Vec<Push>,
    pub bytes: Vec<u8>,
    pub records: u64,
    next_id: u64,
    next_lsn: u64,
    /// Per request: its fates (`None`: scored once applied) or its refusal.
    pub fates: Vec<Result<Vec<Option<PointFate>>, Error>>,
}

impl<'g> GroupPlan<'g> {
    pub(crate) fn new(next_id: u64, next_lsn: u64) -> Self {
        GroupPlan {
            seen: Vec::new(),
            index: HashTable::new(),
            creates: Vec::new(),
            pushes: Vec::new(),
            bytes: Vec::new(),
            records: 0,
            next_id,
            next_lsn,
            fates: Vec::new(),
        }
    }

    /// LSN of the last planned record.
    pub(crate) fn last_lsn(&self) -> u64 {
        self.next_lsn - 1
    }

    /// Plans one request (or records its refusal).
    pub(crate) fn add(&mut self, points: &'g [IncomingPoint], cx: &mut Context<'_>) {
        let request = self.fates.len();
        if let Err(e) = self.check_limit(points, cx) {
            self.fates.push(Err(e));
            return;
        }
        let mut fates = Vec::with_capacity(points.len());
        for (point, p) in points.iter().enumerate() {
            let key = p.series.as_bytes();
            let hash = p.series.hash();
            let known = self
                .index
                .find(hash, |&at| self.seen[at].key == key)
                .copied();
            let at = match known {
                Some(at) => at,
                None => {
                    let seen = match cx.shards.locate_with_last(&p.series) {
                        Some((loc, id, last_ts)) => Seen {
                            key,
                            hash,
                            target: Target::Existing(loc),
                            id,
                            last_ts,
                        },
                        // A series is created by its first admitted point only.
                        None if p.timestamp_ns == i64::MIN => {
                            fates.push(Some(PointFate::OutOfOrder));
                            continue;
                        }
                        None => {
                            let id = self.next_id as u32;
                            self.next_id += 1;
                            let lsn = self.take_lsn();
                            let (conf, json) = cx.confs.canonical(&(cx.resolver)(&p.series));
                            encode_create(&mut self.bytes, lsn, id, key, &json);
                            self.creates.push(Create {
                                key: key.into(),
                                conf,
                                id,
                                lsn,
                            });
                            Seen {
                                key,
                                hash,
                                target: Target::New(self.creates.len() - 1),
                                id,
                                last_ts: i64::MIN,
                            }
                        }
                    };
                    let at = self.seen.len();
                    self.seen.push(seen);
                    let seen = &self.seen;
                    self.index.insert_unique(hash, at, |&i| seen[i].hash);
                    at
                }
            };
            let seen = &mut self.seen[at];
            if p.timestamp_ns <= seen.last_ts {
                fates.push(Some(PointFate::OutOfOrder));
                continue;
            }
            seen.last_ts = p.timestamp_ns;
            let (target, id) = (seen.target, seen.id);
            let lsn = self.take_lsn();
            encode_push_at(&mut self.bytes, lsn, id, p.timestamp_ns, p.value);
            self.pushes.push(Push {
                target,
                ts: p.timestamp_ns,
                value: p.value,
                lsn,
                request,
                point,
            });
            fates.push(None);
        }
        self.fates.push(Ok(fates));
    }

    fn take_lsn(&mut self) -> u64 {
        let lsn = self.next_lsn;
        self.next_lsn += 1;
        self.records += 1;
        lsn
    }

    /// Refuses a request that would create series past the limit, naming
    /// the first one that does not fit.
    fn check_limit(&self, points: &[IncomingPoint], cx: &Context<'_>) -> Result<(), Error> {
        let planned = self.next_id;
        let room = cx.max_series.saturating_sub(planned);
        if points.len() as u64 <= room {
            return Ok(());
        }
        let mut new: HashSet<&[u8]> = HashSet::new();
        for p in points {
            let key = p.series.as_bytes();
            let planned = self
                .index
                .find(p.series.hash(), |&at| self.seen[at].key == key)
                .is_some();
            if planned || new.contains(key) {
                continue;
            }
            if cx.shards.locate(&p.series).is_some() {
                continue;
            }
            if new.len() as u64 >= room {
                return Err(Error::TooManySeries {
                    limit: cx.max_series,
                    series: p.series.to_string(),
                });
            }
            new.insert(key);
        }
        Ok(())
    }
}
