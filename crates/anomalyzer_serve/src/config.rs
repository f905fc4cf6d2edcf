//! The service's configuration file (`--config FILE`, TOML): a `[default]`
//! detector configuration and `[[series]]` blocks that override it for the
//! series they match.
//!
//! ```toml
//! [default]              # any field of the detector configuration
//! n_seasons = 30
//!
//! [[series]]
//! match = "http_*"       # glob over the metric name
//! labels = { env = "prod*" }   # optional: globs that labels must match
//! methods = ["magnitude", "ks", "fence"]
//! upper_bound = 100.0
//! ```
//!
//! A series takes the first block (in file order) whose `match` glob
//! matches its metric name and whose `labels` globs all match its labels
//! (a label the series lacks does not match); fields that block sets
//! replace those of `[default]` one by one. A series matching no block
//! takes `[default]`. `active_size` defaults to 1, as on the command line.
//! Every block is checked when the file is read: a block whose resolved
//! configuration is invalid is an error naming the block.

use std::path::Path;
use std::sync::Arc;

use anomalyzer_ts::{AnomalyzerConf, AnomalyzerConfBuilder, ConfPatch};
use globset::{Glob, GlobMatcher, GlobSet, GlobSetBuilder};
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::series_key::SeriesKey;

/// Largest configuration file read, so that a wrong path (a device, a huge
/// file) cannot exhaust memory.
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    default: ConfPatch,
    #[serde(default)]
    series: Vec<toml::Table>,
}

/// One `[[series]]` block, compiled.
#[derive(Debug, Clone)]
struct SeriesBlock {
    pattern: String,
    labels: Vec<(String, GlobMatcher)>,
    conf: Arc<AnomalyzerConf>,
}

/// The configuration a series gets, and where it came from.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The 0-based index of the `[[series]]` block that matched, or `None`
    /// for `[default]`.
    pub block: Option<usize>,
    /// The detector configuration (shared by every series of that block).
    pub conf: Arc<AnomalyzerConf>,
}

/// A parsed and checked configuration file; [`ServeConfig::default`] is the
/// configuration without a file (the detector's defaults, `active_size` 1).
#[derive(Debug, Clone)]
pub struct ServeConfig {
    default: Arc<AnomalyzerConf>,
    blocks: Vec<SeriesBlock>,
    names: GlobSet,
}

impl Default for ServeConfig {
    fn default() -> Self {
        // The detector's defaults with active_size 1 always build.
        let conf = cli_defaults()
            .build()
            .unwrap_or_else(|e| unreachable!("default detector configuration is invalid: {e}"));
        ServeConfig {
            default: Arc::new(conf),
            blocks: Vec::new(),
            names: GlobSet::empty(),
        }
    }
}

fn cli_defaults() -> AnomalyzerConfBuilder {
    AnomalyzerConfBuilder {
        active_size: Some(1),
        ..AnomalyzerConfBuilder::default()
    }
}

impl ServeConfig {
    /// Reads and checks a configuration file: it must be a regular file of
    /// at most [`MAX_CONFIG_BYTES`].
    pub fn load(path: &Path) -> Result<Self> {
        let origin = path.display().to_string();
        let fail = |reason: String| Error::InvalidConfig {
            origin: origin.clone(),
            reason,
        };
        let meta = std::fs::metadata(path).map_err(|e| fail(format!("cannot read: {e}")))?;
        if !meta.is_file() {
            return Err(fail("is not a regular file".into()));
        }
        if meta.len() > MAX_CONFIG_BYTES {
            return Err(fail(format!(
                "is {} bytes; a configuration file may have at most {MAX_CONFIG_BYTES}",
                meta.len()
            )));
        }
        let text = std::fs::read_to_string(path).map_err(|e| fail(format!("cannot read: {e}")))?;
        Self::parse(&text, &origin)
    }

    /// Parses and checks configuration text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self> {
        let fail = |place: String, reason: String| Error::InvalidConfig {
            origin: format!("{origin}{place}"),
            reason,
        };
        let raw: RawConfig =
            toml::from_str(text).map_err(|e| fail(String::new(), e.to_string()))?;
        let default_builder = raw.default.apply(cli_defaults());
        let default = default_builder
            .clone()
            .build()
            .map_err(|e| fail(", [default]".into(), e.to_string()))?;
        let mut blocks = Vec::with_capacity(raw.series.len());
        let mut names = GlobSetBuilder::new();
        for (index, mut table) in raw.series.into_iter().enumerate() {
            let place =
                |pattern: &str| format!(", [[series]] block {} (match = {pattern:?})", index + 1);
            let pattern = match table.remove("match") {
                Some(toml::Value::String(p)) => p,
                Some(other) => {
                    return Err(fail(
                        format!(", [[series]] block {}", index + 1),
                        format!("`match` must be a glob string, not {}", other.type_str()),
                    ))
                }
                None => {
                    return Err(fail(
                        format!(", [[series]] block {}", index + 1),
                        "has no `match` glob".into(),
                    ))
                }
            };
            let glob = Glob::new(&pattern).map_err(|e| fail(place(&pattern), e.to_string()))?;
            let labels = match table.remove("labels") {
                None => Vec::new(),
                Some(toml::Value::Table(t)) => t
                    .into_iter()
                    .map(|(name, value)| match value {
                        toml::Value::String(g) => Glob::new(&g)
                            .map(|g| (name.clone(), g.compile_matcher()))
                            .map_err(|e| fail(place(&pattern), format!("label {name:?}: {e}"))),
                        other => Err(fail(
                            place(&pattern),
                            format!(
                                "label {name:?} must be a glob string, not {}",
                                other.type_str()
                            ),
                        )),
                    })
                    .collect::<Result<_>>()?,
                Some(other) => {
                    return Err(fail(
                        place(&pattern),
                        format!(
                            "`labels` must be a table of globs, not {}",
                            other.type_str()
                        ),
                    ))
                }
            };
            let patch: ConfPatch = toml::Value::Table(table)
                .try_into()
                .map_err(|e: toml::de::Error| fail(place(&pattern), e.to_string()))?;
            let conf = patch
                .apply(default_builder.clone())
                .build()
                .map_err(|e| fail(place(&pattern), e.to_string()))?;
            names.add(glob);
            blocks.push(SeriesBlock {
                pattern,
                labels,
                conf: Arc::new(conf),
            });
        }
        let names = names
            .build()
            .map_err(|e| fail(String::new(), e.to_string()))?;
        Ok(ServeConfig {
            default: Arc::new(default),
            blocks,
            names,
        })
    }

    /// The configuration of `key`: the first matching block's, else
    /// `[default]`'s.
    #[must_use]
    pub fn resolve(&self, key: &SeriesKey) -> Resolved {
        // GlobSet gives every block whose name glob matches; the first of
        // those whose label globs match too wins.
        let mut candidates = self.names.matches(key.name());
        candidates.sort_unstable();
        for index in candidates {
            let block = &self.blocks[index];
            let labels_match = block.labels.iter().all(|(name, glob)| {
                key.labels()
                    .iter()
                    .any(|(k, v)| k == name && glob.is_match(v))
            });
            if labels_match {
                return Resolved {
                    block: Some(index),
                    conf: Arc::clone(&block.conf),
                };
            }
        }
        Resolved {
            block: None,
            conf: Arc::clone(&self.default),
        }
    }

    /// The `[default]` configuration.
    #[must_use]
    pub fn default_conf(&self) -> &Arc<AnomalyzerConf> {
        &self.default
    }

    /// The `match` glob of each block, in file order.
    pub fn patterns(&self) -> impl Iterator<Item = &str> {
        self.blocks.iter().map(|b| b.pattern.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::IdentityLimits;
    use anomalyzer_ts::Method;

    fn key(name: &str, labels: &[(&str, &str)]) -> SeriesKey {
        SeriesKey::new(
            name,
            labels.iter().map(|(k, v)| (k.to_string(), v.to_string())),
            &IdentityLimits::default(),
        )
        .unwrap()
    }

    const FILE: &str = r#"
[default]
n_seasons = 30
seed = 7

[[series]]
match = "http_*"
labels = { env = "prod*" }
methods = ["magnitude", "ks", "fence"]
upper_bound = 100.0

[[series]]
match = "http_*"
n_seasons = 10

[[series]]
match = "*_bytes"
perm_count = 50
"#;

    #[test]
    fn first_matching_block_overrides_default_field_by_field() {
        let c = ServeConfig::parse(FILE, "serve.toml").unwrap();
        let prod = c.resolve(&key("http_requests", &[("env", "production")]));
        assert_eq!(prod.block, Some(0));
        assert!(prod.conf.has(Method::Fence));
        assert_eq!(prod.conf.upper_bound(), Some(100.0));
        assert_eq!(
            prod.conf.n_seasons(),
            30,
            "unset fields come from [default]"
        );
        assert_eq!(prod.conf.seed(), 7);

        let dev = c.resolve(&key("http_requests", &[("env", "dev")]));
        assert_eq!(dev.block, Some(1));
        assert_eq!(dev.conf.n_seasons(), 10);
        assert!(!dev.conf.has(Method::Fence));

        let unlabelled = c.resolve(&key("http_requests", &[]));
        assert_eq!(unlabelled.block, Some(1), "a missing label does not match");

        let bytes = c.resolve(&key("http_bytes", &[]));
        assert_eq!(bytes.block, Some(1), "first block wins over a later match");

        let other = c.resolve(&key("disk_bytes", &[]));
        assert_eq!(other.block, Some(2));
        assert_eq!(other.conf.perm_count(), 50);

        let none = c.resolve(&key("cpu", &[]));
        assert_eq!(none.block, None);
        assert_eq!(none.conf.n_seasons(), 30);
        assert_eq!(none.conf.active_size(), 1);
        assert!(Arc::ptr_eq(&none.conf, c.default_conf()));
        assert_eq!(
            c.patterns().collect::<Vec<_>>(),
            ["http_*", "http_*", "*_bytes"]
        );
    }

    #[test]
    fn a_block_takes_the_robust_preset_and_its_table() {
        let text = "[default]\nseed = 3\n\n[[series]]\nmatch = \"latency_*\"\npreset = \"robust\"\n\n[series.robust]\nalert_hold = 20\n";
        let c = ServeConfig::parse(text, "serve.toml").unwrap();
        let r = c.resolve(&key("latency_p99", &[]));
        assert_eq!(r.block, Some(0));
        assert!(r.conf.has(Method::RobustZ));
        assert_eq!(r.conf.robust().alert_hold, 20);
        assert_eq!(r.conf.seed(), 3, "unset fields come from [default]");
        assert!(!c.resolve(&key("cpu", &[])).conf.has(Method::RobustZ));
    }

    #[test]
    fn no_file_means_the_command_line_defaults() {
        let c = ServeConfig::default();
        let r = c.resolve(&key("cpu", &[]));
        assert_eq!(r.block, None);
        assert_eq!(
            *r.conf,
            AnomalyzerConf::builder().active_size(1).build().unwrap()
        );
        let empty = ServeConfig::parse("", "x").unwrap();
        assert_eq!(empty.default_conf(), c.default_conf());
    }

    #[test]
    fn bad_files_name_the_block_and_the_reason() {
        let cases = [
            ("[default]\nn_seasons = 0\n", "x, [default]", "n_seasons"),
            ("[default]\nseasons = 3\n", "x", "unknown field `seasons`"),
            ("[defaults]\n", "x", "unknown field `defaults`"),
            (
                "[[series]]\nn_seasons = 3\n",
                "x, [[series]] block 1",
                "no `match`",
            ),
            (
                "[[series]]\nmatch = 3\n",
                "x, [[series]] block 1",
                "must be a glob string, not integer",
            ),
            (
                "[[series]]\nmatch = \"a[\"\n",
                "block 1 (match = \"a[\")",
                "unclosed",
            ),
            (
                "[[series]]\nmatch = \"a\"\n[[series]]\nmatch = \"b\"\nmethods = [\"fence\"]\n",
                "block 2 (match = \"b\")",
                "fence",
            ),
            (
                "[[series]]\nmatch = \"a\"\nlabels = { env = 1 }\n",
                "block 1",
                "must be a glob string",
            ),
            (
                "[[series]]\nmatch = \"a\"\nlabels = \"x\"\n",
                "block 1",
                "table of globs",
            ),
            (
                "[[series]]\nmatch = \"a\"\nsensitivty = 0.2\n",
                "block 1",
                "unknown field `sensitivty`",
            ),
            ("[default\n", "x", "TOML parse error"),
        ];
        for (text, origin, reason) in cases {
            match ServeConfig::parse(text, "x").unwrap_err() {
                Error::InvalidConfig {
                    origin: o,
                    reason: r,
                } => {
                    assert!(o.contains(origin), "{text}: origin {o}");
                    assert!(
                        r.to_lowercase().contains(&reason.to_lowercase()),
                        "{text}: {r}"
                    );
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn load_refuses_what_is_not_a_small_regular_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("serve.toml");
        std::fs::write(&path, FILE).unwrap();
        assert!(ServeConfig::load(&path).is_ok());
        let err = ServeConfig::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("not a regular file"), "{err}");
        let err = ServeConfig::load(&dir.path().join("missing.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("cannot read"), "{err}");
        let big = dir.path().join("big.toml");
        std::fs::write(&big, vec![b'#'; MAX_CONFIG_BYTES as usize + 1]).unwrap();
        let err = ServeConfig::load(&big).unwrap_err().to_string();
        assert!(err.contains("at most 1048576"), "{err}");
    }
}
