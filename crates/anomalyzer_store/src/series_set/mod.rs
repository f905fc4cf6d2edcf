//! Many series in one state directory, sharing one log: the store behind
//! `anomalyzer serve`.
//!
//! - One log for all series (format version 2: create-series and
//!   push-with-timestamp records). A request is applied as one unit: its
//!   records are appended together.
//! - **Group commit**: callers queue requests; one committer thread drains
//!   the queue, decides every request in order (out of order, series
//!   limit), writes the group with one write and one fsync, applies it and
//!   only then completes each request.
//! - Each series' detector is `Anomalyzer` with the configuration it was
//!   created with (its own seed), fed its accepted values in order: its
//!   probabilities are those of `anomalyzer score` on those values.
//! - **Incremental snapshots** between groups bound the log replayed at
//!   restart; recovery loads the sections and replays what is above each.
//! - Reads go through sharded locks (see [`shards`]).

mod committer;
mod conf_cache;
mod identity;
mod log;
mod plan;
mod recovery;
mod request;
mod sections;
mod set;
pub(crate) mod shards;
mod snapshot_job;

pub use identity::SeriesIdentity;
pub use recovery::SetRecovery;
pub use request::{
    Completion, ConfResolver, FsyncObserver, IncomingPoint, PointFate, SeriesSetOptions,
    DEFAULT_MAX_SERIES,
};
pub use set::{SeriesSet, SetStats};
pub use shards::SeriesView;
