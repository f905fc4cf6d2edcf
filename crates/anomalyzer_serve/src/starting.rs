//! A store that is not there yet: the listener is bound and answering
//! before recovery has finished, so `/healthz` is 200 at once, `/readyz`
//! is 503 until the recovered store is installed, and writes are refused
//! with 503 meanwhile (nothing is accepted that could not be made durable).

use std::future::Future;
use std::sync::{Arc, OnceLock};

use globset::GlobMatcher;

use crate::batch::{Batch, PointOutcome};
use crate::error::{Error, Result};
use crate::series_key::SeriesKey;
use crate::store::{LastPoint, SeriesStatus, SeriesStore, StoreStats};

/// A [`SeriesStore`] slot filled once, when recovery has finished.
///
/// Until [`install`](Self::install) it is not ready: `apply` answers
/// [`Error::Unavailable`], reads find nothing. Afterwards every call goes
/// to the installed store (whose own `is_ready` still counts).
///
/// ```
/// use anomalyzer_serve::{SeriesStore, Starting};
/// # use anomalyzer_serve::*;
/// # struct Never;
/// # impl SeriesStore for Never {
/// #     async fn apply(&self, _: &Batch) -> Result<Vec<PointOutcome>> { Ok(vec![]) }
/// #     fn is_ready(&self) -> bool { true }
/// #     fn find(&self, _: &globset::GlobMatcher) -> Vec<SeriesStatus> { vec![] }
/// #     fn explain(&self, _: &SeriesKey) -> Option<LastPoint> { None }
/// #     fn for_each_score(&self, _: f64, _: &mut dyn FnMut(&SeriesKey, f64)) {}
/// #     fn stats(&self) -> StoreStats { StoreStats { series: 7, wal_bytes: 0 } }
/// # }
/// let slot = Starting::new();
/// assert!(!slot.is_ready());
/// assert!(slot.install(Never).is_ok());
/// assert!(slot.is_ready());
/// assert_eq!(slot.stats().series, 7);
/// ```
pub struct Starting<S> {
    store: OnceLock<Arc<S>>,
}

impl<S> Default for Starting<S> {
    fn default() -> Self {
        Starting {
            store: OnceLock::new(),
        }
    }
}

impl<S> Starting<S> {
    /// An empty slot: not ready.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Installs the recovered store. A second install is refused and gives
    /// the store back (there is one recovery per process).
    pub fn install(&self, store: S) -> std::result::Result<(), S> {
        self.store
            .set(Arc::new(store))
            .map_err(|arc| Arc::into_inner(arc).unwrap_or_else(|| unreachable!("never shared")))
    }

    /// The installed store, if recovery has finished.
    #[must_use]
    pub fn get(&self) -> Option<&Arc<S>> {
        self.store.get()
    }
}

fn recovering() -> Error {
    Error::Unavailable("recovering: not ready for writes yet".into())
}

impl<S: SeriesStore> SeriesStore for Starting<S> {
    fn apply(&self, batch: &Batch) -> impl Future<Output = Result<Vec<PointOutcome>>> + Send {
        let store = self.store.get().cloned();
        async move {
            match store {
                Some(store) => store.apply(batch).await,
                None => Err(recovering()),
            }
        }
    }

    fn is_ready(&self) -> bool {
        self.store.get().is_some_and(|s| s.is_ready())
    }

    fn find(&self, pattern: &GlobMatcher) -> Vec<SeriesStatus> {
        self.store
            .get()
            .map(|s| s.find(pattern))
            .unwrap_or_default()
    }

    fn explain(&self, key: &SeriesKey) -> Option<LastPoint> {
        self.store.get().and_then(|s| s.explain(key))
    }

    fn for_each_score(&self, min_score: f64, visit: &mut dyn FnMut(&SeriesKey, f64)) {
        if let Some(store) = self.store.get() {
            store.for_each_score(min_score, visit);
        }
    }

    fn stats(&self) -> StoreStats {
        self.store.get().map(|s| s.stats()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::series_key::IdentityLimits;
    use crate::timestamp::Timestamp;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// Scores every point 0.5 and remembers one series.
    struct Fixed {
        ready: AtomicBool,
        key: SeriesKey,
    }

    impl SeriesStore for Fixed {
        async fn apply(&self, batch: &Batch) -> Result<Vec<PointOutcome>> {
            Ok(vec![PointOutcome::Scored(0.5); batch.len()])
        }
        fn is_ready(&self) -> bool {
            self.ready.load(Ordering::SeqCst)
        }
        fn find(&self, _: &GlobMatcher) -> Vec<SeriesStatus> {
            vec![SeriesStatus {
                key: self.key.clone(),
                points: 1,
                last: None,
            }]
        }
        fn explain(&self, _: &SeriesKey) -> Option<LastPoint> {
            None
        }
        fn for_each_score(&self, _: f64, visit: &mut dyn FnMut(&SeriesKey, f64)) {
            visit(&self.key, 0.5);
        }
        fn stats(&self) -> StoreStats {
            StoreStats {
                series: 1,
                wal_bytes: 10,
            }
        }
    }

    fn batch(key: &SeriesKey) -> Batch {
        let t = Timestamp::from_nanos(1_000_000_000);
        Batch::new(vec![crate::batch::Point {
            key: key.clone(),
            timestamp: t,
            value: 1.0,
        }])
        .unwrap()
    }

    #[test]
    fn refuses_writes_until_installed_then_forwards_everything() {
        let key = SeriesKey::new("cpu", [], &IdentityLimits::default()).unwrap();
        let slot = Starting::new();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        assert!(!slot.is_ready());
        let refused = rt.block_on(slot.apply(&batch(&key))).unwrap_err();
        assert_eq!(refused.status(), 503);
        assert!(refused.to_string().contains("recovering"), "{refused}");
        assert!(slot
            .find(&globset::Glob::new("*").unwrap().compile_matcher())
            .is_empty());
        assert_eq!(slot.stats(), StoreStats::default());
        let mut seen = 0;
        slot.for_each_score(0.0, &mut |_, _| seen += 1);
        assert_eq!(seen, 0);

        let fixed = Fixed {
            ready: AtomicBool::new(false),
            key: key.clone(),
        };
        assert!(slot.install(fixed).is_ok());
        // The installed store's own readiness still counts.
        assert!(!slot.is_ready());
        slot.get().unwrap().ready.store(true, Ordering::SeqCst);
        assert!(slot.is_ready());
        let outcomes = rt.block_on(slot.apply(&batch(&key))).unwrap();
        assert_eq!(outcomes, vec![PointOutcome::Scored(0.5)]);
        assert_eq!(slot.stats().wal_bytes, 10);
        slot.for_each_score(0.0, &mut |_, _| seen += 1);
        assert_eq!(seen, 1);

        let again = Fixed {
            ready: AtomicBool::new(true),
            key,
        };
        assert!(slot.install(again).is_err(), "a second install is refused");
    }
}
