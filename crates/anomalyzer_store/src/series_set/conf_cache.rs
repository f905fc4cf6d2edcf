//! The configurations of a series set, each held once: series share one
//! `Arc` per distinct configuration, and its JSON (written in every
//! create-series record and snapshot section) is encoded once.

use std::collections::HashMap;
use std::sync::Arc;

use anomalyzer_ts::AnomalyzerConf;

use crate::{codec, detector_state};

/// Distinct configurations with their JSON.
#[derive(Debug, Default)]
pub(crate) struct ConfCache {
    entries: Vec<(Arc<AnomalyzerConf>, Arc<[u8]>)>,
    by_json: HashMap<Arc<[u8]>, usize>,
}

impl ConfCache {
    /// The shared configuration stored as `json` (parsed and checked the
    /// first time these bytes are seen).
    pub(crate) fn intern_json(&mut self, json: &[u8]) -> Result<Arc<AnomalyzerConf>, String> {
        if let Some(&at) = self.by_json.get(json) {
            return Ok(Arc::clone(&self.entries[at].0));
        }
        let conf: AnomalyzerConf = serde_json::from_slice(json)
            .map_err(|e| format!("stored configuration is invalid: {e}"))?;
        detector_state::check_fits(&conf)?;
        Ok(self.insert(Arc::new(conf), json.into()).0)
    }

    /// The cached equal of `conf` (by pointer, then by value) and its JSON.
    pub(crate) fn canonical(
        &mut self,
        conf: &Arc<AnomalyzerConf>,
    ) -> (Arc<AnomalyzerConf>, Arc<[u8]>) {
        if let Some((c, j)) = self
            .entries
            .iter()
            .find(|(c, _)| Arc::ptr_eq(c, conf))
            .or_else(|| self.entries.iter().find(|(c, _)| **c == **conf))
        {
            return (Arc::clone(c), Arc::clone(j));
        }
        let json: Arc<[u8]> = codec::encode_conf(conf).into();
        self.insert(Arc::clone(conf), json)
    }

    fn insert(
        &mut self,
        conf: Arc<AnomalyzerConf>,
        json: Arc<[u8]>,
    ) -> (Arc<AnomalyzerConf>, Arc<[u8]>) {
        self.by_json.insert(Arc::clone(&json), self.entries.len());
        self.entries.push((Arc::clone(&conf), Arc::clone(&json)));
        (conf, json)
    }

    /// Number of distinct configurations.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_configurations_share_one_arc_and_one_encoding() {
        let mut cache = ConfCache::default();
        let a = Arc::new(AnomalyzerConf::builder().active_size(2).build().unwrap());
        let b = Arc::new((*a).clone());
        let (ca, ja) = cache.canonical(&a);
        let (cb, jb) = cache.canonical(&b);
        assert!(Arc::ptr_eq(&ca, &cb) && Arc::ptr_eq(&ja, &jb));
        let parsed = cache.intern_json(&ja).unwrap();
        assert!(Arc::ptr_eq(&parsed, &ca));
        assert_eq!(cache.len(), 1);
        let other = AnomalyzerConf::builder().active_size(3).build().unwrap();
        let json = codec::encode_conf(&other);
        assert_eq!(*cache.intern_json(&json).unwrap(), other);
        assert_eq!(cache.len(), 2);
        assert!(cache.intern_json(b"{").is_err());
    }
}
