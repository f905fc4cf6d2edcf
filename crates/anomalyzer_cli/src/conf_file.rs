//! `--config FILE`: a TOML file with some of the detector's fields, read as
//! a patch: the fields it sets, and only those, replace the ones beneath it
//! (the defaults for a new detector, the stored configuration for an
//! existing state directory); flags in turn replace the file's fields.
//!
//! Bounded: only a regular file (after following symlinks) of at most
//! [`MAX_CONFIG_BYTES`] is read, and never more than that limit plus one
//! byte, so `--config /dev/zero` or a huge file fails fast. Errors name the
//! file, line and column without quoting the file's text.

use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use anomalyzer_ts::ConfPatch;
use anyhow::Result;

use crate::exit::BadInput;

/// The largest configuration file read: 1 MiB.
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// Reads `--config FILE` (exit code 2 for anything wrong with it).
pub fn read(path: &Path) -> Result<ConfPatch> {
    let name = path.display();
    let fail =
        |why: String| -> anyhow::Error { BadInput(format!("config file {name}: {why}")).into() };
    let meta = std::fs::metadata(path).map_err(|e| fail(format!("cannot read it: {e}")))?;
    if !meta.is_file() {
        return Err(fail(format!("{}, not a regular file", file_kind(&meta))));
    }
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(fail(format!(
            "{} bytes, more than the limit of {MAX_CONFIG_BYTES}",
            meta.len()
        )));
    }
    let file = std::fs::File::open(path).map_err(|e| fail(format!("cannot open it: {e}")))?;
    // What was opened must be what was checked (not swapped since).
    let opened = file
        .metadata()
        .map_err(|e| fail(format!("cannot read it: {e}")))?;
    if !opened.is_file() || (opened.dev(), opened.ino()) != (meta.dev(), meta.ino()) {
        return Err(fail("changed while being opened".to_owned()));
    }
    let mut bytes = Vec::new();
    // It may have grown since the check: read one byte past the limit
    // to notice, never more.
    file.take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| fail(format!("cannot read it: {e}")))?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(fail(format!(
            "more than the limit of {MAX_CONFIG_BYTES} bytes"
        )));
    }
    let bytes = bytes.strip_prefix(crate::input::BOM).unwrap_or(&bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| {
        fail(format!(
            "not UTF-8 text (invalid byte at offset {})",
            e.valid_up_to()
        ))
    })?;
    toml::from_str(text).map_err(|e| fail(toml_error(text, &e)))
}

/// What a non-regular file is, in words.
fn file_kind(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

/// A TOML error as `line L, column C: message`, without the quoted source
/// line the toml crate would add (it may be a megabyte long).
fn toml_error(text: &str, e: &toml::de::Error) -> String {
    let message = crate::echo::echo_str(e.message().trim());
    match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            format!("line {line}, column {column}: {message}")
        }
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anomalyzer_ts::{AnomalyzerConfBuilder, Preset, RobustParams};

    #[test]
    fn a_patch_knows_every_field_of_the_library_form() {
        // Every field the library serialises must be settable from a file.
        let full = AnomalyzerConfBuilder {
            methods: Some(vec!["ks".to_owned()]),
            active_size: Some(3),
            n_seasons: 5,
            perm_count: 9,
            sensitivity: 0.25,
            upper_bound: Some(2.0),
            lower_bound: Some(-1.0),
            delay: true,
            seed: 11,
            exact_ranks: true,
            preset: Some(Preset::Robust),
            robust: RobustParams {
                alert_hold: 20,
                ..RobustParams::default()
            },
        };
        let text = toml::to_string(&full).unwrap();
        let patch: ConfPatch = toml::from_str(&text).unwrap();
        assert_eq!(patch.apply(AnomalyzerConfBuilder::default()), full);
    }

    #[test]
    fn only_the_fields_set_replace_those_beneath() {
        let file: ConfPatch = toml::from_str("seed = 5\nn_seasons = 6").unwrap();
        let flags = ConfPatch {
            n_seasons: Some(7),
            ..ConfPatch::default()
        };
        let merged = file.under(flags);
        let base = AnomalyzerConfBuilder {
            perm_count: 33,
            ..AnomalyzerConfBuilder::default()
        };
        let b = merged.apply(base);
        assert_eq!((b.seed, b.n_seasons, b.perm_count), (5, 7, 33));
    }

    #[test]
    fn toml_errors_name_line_and_column_without_the_text() {
        let long = "x".repeat(10_000);
        let text = format!("seed = 5\nbogus = \"{long}\"\n");
        let e = toml::from_str::<ConfPatch>(&text).unwrap_err();
        let msg = toml_error(&text, &e);
        assert!(msg.starts_with("line 2, column 1: "), "{msg}");
        assert!(msg.contains("bogus"), "{msg}");
        assert!(msg.len() < 400, "{msg}");
    }
}
