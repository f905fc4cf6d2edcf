//! `--output PATH`, opened the way a careful shell redirect would be, but
//! atomic where it can be.
//!
//! - A regular file (or a path that does not exist yet) is replaced
//!   atomically, if it could be opened for writing (a read-only file is
//!   refused, as a redirect would refuse it): the data goes to a temporary file in the same directory,
//!   is fsynced, renamed over the target, and the directory is fsynced, so
//!   the target holds either the old content or the complete new one. The
//!   new file gets the replaced file's mode (and, where allowed, owner), or
//!   for a new file 0666 minus the umask, as a shell redirect would.
//! - A symlink is written through: its final target is what is replaced
//!   (or created), and the link stays a link.
//! - Anything else (a FIFO, a character device such as `/dev/null`, a
//!   socket) cannot be replaced without destroying it, so it is opened and
//!   written in place, like `> PATH` would.
//! - On SIGINT or SIGTERM while a temporary file exists, it is removed and
//!   the process exits with 130 or 143 (128 + the signal).

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, Once};

use anyhow::{bail, Context, Result};

/// Symlinks followed before giving up (as the kernel's ELOOP limit).
const MAX_LINKS: usize = 40;

/// The temporary file to remove if a signal ends the process.
static PENDING: Mutex<Option<PathBuf>> = Mutex::new(None);

fn pending() -> MutexGuard<'static, Option<PathBuf>> {
    PENDING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// An open `--output` destination.
pub struct OutputFile {
    file: File,
    /// The path as the user gave it, for messages.
    name: String,
    replace: Option<Replace>,
}

/// What is needed to move the finished temporary file into place.
struct Replace {
    tmp: tempfile::TempPath,
    target: PathBuf,
    dir: PathBuf,
}

impl OutputFile {
    /// Opens `path` for writing: a temporary file beside a regular (or not
    /// yet existing) target, or the target itself when it is a FIFO,
    /// device or socket.
    pub fn open(path: &Path) -> Result<Self> {
        let name = path.display().to_string();
        let target = resolve_links(path).with_context(|| format!("cannot write {name}"))?;
        let existing = match fs::metadata(&target) {
            Ok(m) => Some(m),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(e).with_context(|| format!("cannot write {name}")),
        };
        if let Some(meta) = &existing {
            if meta.is_dir() {
                bail!("cannot write {name}: it is a directory");
            }
            if !meta.is_file() {
                // Like a shell redirect: never replace a device or FIFO.
                let file = OpenOptions::new()
                    .write(true)
                    .truncate(true)
                    .open(&target)
                    .with_context(|| format!("cannot open {name} for writing"))?;
                return Ok(OutputFile {
                    file,
                    name,
                    replace: None,
                });
            }
        }
        if existing.is_some() {
            // Replacing needs only the directory's permission; a redirect
            // needs the file's. Ask for the file's too, so a read-only
            // file is refused as `> FILE` would refuse it (the probe opens
            // without truncating and writes nothing).
            OpenOptions::new()
                .write(true)
                .open(&target)
                .with_context(|| format!("cannot open {name} for writing"))?;
        }
        let dir = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        // A new file: 0666, which the kernel narrows by the umask. A
        // replacement: private until it has the old file's mode and owner.
        let create_mode = if existing.is_some() { 0o600 } else { 0o666 };
        install_signal_cleanup();
        let mut slot = pending();
        let tmp = tempfile::Builder::new()
            .prefix(".anomalyzer-")
            .suffix(".csv.tmp")
            .permissions(Permissions::from_mode(create_mode))
            .tempfile_in(&dir)
            .with_context(|| format!("cannot create a temporary file beside {name}"))?;
        let (file, tmp) = tmp.into_parts();
        *slot = Some(tmp.to_path_buf());
        drop(slot);
        if let Some(meta) = &existing {
            // Ownership only where allowed (root, or our own file); the
            // mode after it, since chown may clear set-id bits.
            let _ = std::os::unix::fs::fchown(&file, Some(meta.uid()), Some(meta.gid()));
            file.set_permissions(Permissions::from_mode(meta.mode() & 0o7777))
                .with_context(|| format!("cannot set the mode of the new {name}"))?;
        }
        Ok(OutputFile {
            file,
            name,
            replace: Some(Replace { tmp, target, dir }),
        })
    }

    /// The path as given, for messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Makes the data durable and, for a replacement, moves it into place.
    pub fn finish(mut self) -> Result<()> {
        let name = self.name.clone();
        self.file
            .flush()
            .with_context(|| format!("cannot write {name}"))?;
        let Some(replace) = self.replace.take() else {
            return Ok(());
        };
        self.file
            .sync_all()
            .with_context(|| format!("cannot write {name}: fsync failed"))?;
        // Hold the signal slot across the rename, so a signal either finds
        // the temporary file still there (and removes it) or finds nothing.
        let mut slot = pending();
        let renamed = replace.tmp.persist(&replace.target);
        *slot = None;
        drop(slot);
        renamed.map_err(|e| {
            anyhow::Error::new(e.error).context(format!("cannot write {name}: rename failed"))
        })?;
        File::open(&replace.dir)
            .and_then(|d| d.sync_all())
            .with_context(|| {
                format!(
                    "wrote {name}, but cannot fsync its directory {}",
                    replace.dir.display()
                )
            })?;
        Ok(())
    }
}

impl Write for OutputFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Drop for OutputFile {
    fn drop(&mut self) {
        // Unfinished: the TempPath removes the file; forget it here too.
        if self.replace.is_some() {
            *pending() = None;
        }
    }
}

/// The path a write to `path` lands on: symlinks followed, even dangling
/// ones (a redirect through a dangling link creates its target).
fn resolve_links(path: &Path) -> io::Result<PathBuf> {
    let mut current = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match fs::symlink_metadata(&current) {
            Ok(m) if m.file_type().is_symlink() => {
                let link = fs::read_link(&current)?;
                current = match current.parent() {
                    Some(parent) if link.is_relative() => parent.join(link),
                    _ => link,
                };
            }
            Ok(_) => return Ok(current),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(current),
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other(format!(
        "more than {MAX_LINKS} levels of symbolic links"
    )))
}

/// Once per process: on SIGINT or SIGTERM, remove the pending temporary
/// file and exit with 128 + the signal.
fn install_signal_cleanup() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
            // Without handlers a signal still ends the process; only the
            // cleanup is lost, and the temporary file's name says what it is.
            return;
        };
        std::thread::spawn(move || {
            if let Some(sig) = signals.forever().next() {
                if let Some(path) = pending().take() {
                    let _ = fs::remove_file(path);
                }
                std::process::exit(128 + sig);
            }
        });
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_followed_to_their_final_target_even_when_dangling() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::os::unix::fs::symlink("b", d.join("a")).unwrap();
        std::os::unix::fs::symlink("sub/c", d.join("b")).unwrap();
        assert_eq!(resolve_links(&d.join("a")).unwrap(), d.join("sub/c"));
        assert_eq!(resolve_links(&d.join("plain")).unwrap(), d.join("plain"));
        std::os::unix::fs::symlink("loop", d.join("loop")).unwrap();
        assert!(resolve_links(&d.join("loop")).is_err());
    }
}
