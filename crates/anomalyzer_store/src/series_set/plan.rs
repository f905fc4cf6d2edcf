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

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use anomalyzer_ts::AnomalyzerConf;

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

#[derive(Debug, Clone, Copy)]
struct Seen {
    target: Target,
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
    seen: HashMap<&'g [u8], Seen>,
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
            seen: HashMap::new(),
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
            let seen = match self.seen.entry(key) {
                Entry::Occupied(o) => o.into_mut(),
                Entry::Vacant(v) => match cx.shards.locate(&p.series) {
                    Some(loc) => {
                        let last_ts = cx.shards.inspect(loc, |e| e.last_ts);
                        v.insert(Seen {
                            target: Target::Existing(loc),
                            last_ts,
                        })
                    }
                    // A series is created by its first admitted point only.
                    None if p.timestamp_ns == i64::MIN => {
                        fates.push(Some(PointFate::OutOfOrder));
                        continue;
                    }
                    None => {
                        let id = self.next_id as u32;
                        self.next_id += 1;
                        // (Fields, not `take_lsn`: `seen` is borrowed.)
                        let lsn = self.next_lsn;
                        self.next_lsn += 1;
                        self.records += 1;
                        let (conf, json) = cx.confs.canonical(&(cx.resolver)(&p.series));
                        encode_create(&mut self.bytes, lsn, id, key, &json);
                        self.creates.push(Create {
                            key: key.into(),
                            conf,
                            id,
                            lsn,
                        });
                        v.insert(Seen {
                            target: Target::New(self.creates.len() - 1),
                            last_ts: i64::MIN,
                        })
                    }
                },
            };
            if p.timestamp_ns <= seen.last_ts {
                fates.push(Some(PointFate::OutOfOrder));
                continue;
            }
            seen.last_ts = p.timestamp_ns;
            let target = seen.target;
            let lsn = self.take_lsn();
            let id = match target {
                Target::Existing(loc) => cx.shards.inspect(loc, |e| e.id),
                Target::New(at) => self.creates[at].id,
            };
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
            if self.seen.contains_key(key) || new.contains(key) {
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
