//! The storage seam: every file operation the store performs goes through
//! [`Storage`], so tests can replace the real file system with
//! [`SimStorage`](crate::SimStorage), which loses un-synced writes on a
//! simulated power cut and fails the N-th operation on demand.
//!
//! The operations are the few a write-ahead log needs: append, fdatasync,
//! truncate, exclusive creation of a staging file, rename, directory fsync,
//! streaming reads, and an exclusive lock.
//!
//! **No file of a state directory is reached through a symbolic link.**
//! Every open uses `O_NOFOLLOW` (and `O_NONBLOCK`, so a FIFO in the way
//! cannot hang the open), new files are created with `O_CREAT|O_EXCL`, and
//! what was opened is checked to be a regular file. Anything else fails
//! with an [`io::Error`] carrying a [`NotRegularFile`], which the store
//! reports as [`Error::NotRegularFile`](crate::Error::NotRegularFile)
//! naming the file; so does a file opened for writing that has another
//! name (a hard link), whose other name would see the writes. The
//! directory's own path may be a symbolic link.

use std::fmt;
use std::fs::{self, File, FileType, OpenOptions, TryLockError};
use std::io::{self, Read, Write};
use std::os::unix::fs::{FileExt, FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

/// An open file the store appends to.
pub trait StorageFile: Send + fmt::Debug {
    /// Appends all of `buf` at the end of the file. On error a prefix of
    /// `buf` may have been written.
    fn append(&mut self, buf: &[u8]) -> io::Result<()>;
    /// Makes the file's data durable (`fdatasync`).
    fn sync_data(&mut self) -> io::Result<()>;
    /// Cuts (or extends with zeros) the file to `len` bytes.
    fn set_len(&mut self, len: u64) -> io::Result<()>;
    /// The file's current length.
    fn size(&mut self) -> io::Result<u64>;
}

/// Held while a writer owns a directory; dropping it releases the lock.
pub trait DirLock: Send + fmt::Debug {
    /// Replaces the informative text of the lock file (the holder's pid,
    /// then e.g. the last failed snapshot) that readers like `inspect`
    /// show. Best effort: the lock itself is what excludes.
    fn write_note(&mut self, note: &str) -> io::Result<()>;
}

/// A lock taken by [`Storage::try_lock`].
#[derive(Debug)]
pub struct AcquiredLock {
    /// Held until dropped.
    pub lock: Box<dyn DirLock>,
    /// True if the lock file did not exist and this call created it (so a
    /// refused open can remove it again).
    pub created: bool,
}

/// Why [`Storage::try_lock`] did not give the lock.
#[derive(Debug)]
pub enum LockFailure {
    /// Another holder has it; carries what the holder wrote in the lock file.
    Held(Option<String>),
    /// The lock file could not be created or locked.
    Io(io::Error),
}

/// The payload of the [`io::Error`] a [`Storage`] returns for a path that
/// is not a regular file (a symbolic link, a directory, a FIFO, ...): the
/// store never follows or opens such a thing in its directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotRegularFile {
    /// What is there instead: `"a symbolic link"`, `"a directory"`, ...
    pub what: &'static str,
}

impl fmt::Display for NotRegularFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}, not a regular file", self.what)
    }
}

impl std::error::Error for NotRegularFile {}

impl NotRegularFile {
    /// The [`io::Error`] that carries it.
    #[must_use]
    pub fn into_io(self) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidInput, self)
    }

    /// The payload of `e`, if `e` is such an error.
    #[must_use]
    pub fn of(e: &io::Error) -> Option<NotRegularFile> {
        e.get_ref()
            .and_then(|inner| inner.downcast_ref::<NotRegularFile>())
            .copied()
    }
}

/// The file operations of the store. Paths are full paths.
pub trait Storage: Send + Sync + fmt::Debug {
    /// Creates `dir` and its parents if missing.
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;
    /// True if `path` is a directory (following a symbolic link: the state
    /// directory itself may be one); false if nothing is there.
    fn is_dir(&self, path: &Path) -> io::Result<bool>;
    /// Removes the empty directory `dir`.
    fn remove_dir(&self, dir: &Path) -> io::Result<()>;
    /// Takes the exclusive writer lock held in the file `path` (created if
    /// missing), without waiting.
    fn try_lock(&self, path: &Path) -> Result<AcquiredLock, LockFailure>;
    /// Whether some process holds the lock of the file `path` right now,
    /// found without taking it; `None` if this storage cannot tell.
    fn lock_held(&self, path: &Path) -> io::Result<Option<bool>>;
    /// The regular file's length, `None` if nothing is there.
    fn len(&self, path: &Path) -> io::Result<Option<u64>>;
    /// Opens the regular file `path` for streaming reads, `None` if it
    /// does not exist.
    fn open_read(&self, path: &Path) -> io::Result<Option<Box<dyn Read + Send>>>;
    /// Opens the existing regular file `path` for appending.
    fn open_append(&self, path: &Path) -> io::Result<Box<dyn StorageFile>>;
    /// Creates `path`, which must not exist (`O_CREAT|O_EXCL`), for
    /// appending: every write goes to the end, also after `set_len`.
    fn create_new(&self, path: &Path) -> io::Result<Box<dyn StorageFile>>;
    /// Atomically replaces `to` with `from` (a link at `to` is replaced,
    /// never followed).
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Removes the directory entry `path` (no error if it does not exist;
    /// a link is removed, not its target).
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    /// Makes the directory's entries durable (fsync of the directory).
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
    /// A new random 128-bit directory id.
    fn new_directory_id(&self) -> io::Result<[u8; 16]>;
}

/// The real file system (`std::fs`).
#[derive(Debug, Clone, Copy, Default)]
pub struct FsStorage;

#[derive(Debug)]
struct FsFile(File);

impl StorageFile for FsFile {
    fn append(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.write_all(buf)
    }
    fn sync_data(&mut self) -> io::Result<()> {
        self.0.sync_data()
    }
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        self.0.set_len(len)
    }
    fn size(&mut self) -> io::Result<u64> {
        Ok(self.0.metadata()?.len())
    }
}

/// The lock file, kept open: the OS lock lives as long as the handle.
#[derive(Debug)]
struct FsLock(File);

impl DirLock for FsLock {
    fn write_note(&mut self, note: &str) -> io::Result<()> {
        self.0.set_len(0)?;
        self.0.write_all_at(note.as_bytes(), 0)
    }
}

/// What a file type is, for messages.
fn describe(ft: FileType) -> &'static str {
    if ft.is_symlink() {
        "a symbolic link"
    } else if ft.is_dir() {
        "a directory"
    } else if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_socket() {
        "a socket"
    } else if ft.is_char_device() {
        "a character device"
    } else if ft.is_block_device() {
        "a block device"
    } else {
        "not a regular file"
    }
}

/// `lstat`: `None` if nothing is there, an error if it is not a regular file.
fn regular_len(path: &Path) -> io::Result<Option<u64>> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_file() => Ok(Some(m.len())),
        Ok(m) => Err(NotRegularFile {
            what: describe(m.file_type()),
        }
        .into_io()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Opens for writing like [`open_regular`], and also refuses a file with
/// more than one name: writing through a hard link would change the file
/// it shares its contents with.
fn open_regular_for_writing(path: &Path, options: &mut OpenOptions) -> io::Result<File> {
    let file = open_regular(path, options)?;
    if file.metadata()?.nlink() > 1 {
        return Err(NotRegularFile {
            what: "a hard link (the file has another name, which would see every write)",
        }
        .into_io());
    }
    Ok(file)
}

/// Opens without following a final symbolic link or blocking on a FIFO,
/// then checks that what was opened is a regular file.
fn open_regular(path: &Path, options: &mut OpenOptions) -> io::Result<File> {
    let file = options
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) {
                NotRegularFile {
                    what: "a symbolic link",
                }
                .into_io()
            } else {
                e
            }
        })?;
    let ft = file.metadata()?.file_type();
    if !ft.is_file() {
        return Err(NotRegularFile { what: describe(ft) }.into_io());
    }
    Ok(file)
}

/// Opens the lock file, creating it exclusively if missing; true if created.
fn open_lock_file(path: &Path) -> io::Result<(File, bool)> {
    for _ in 0..3 {
        match open_regular_for_writing(path, OpenOptions::new().read(true).write(true)) {
            Ok(f) => return Ok((f, false)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        match open_regular(
            path,
            OpenOptions::new().read(true).write(true).create_new(true),
        ) {
            Ok(f) => return Ok((f, true)),
            // Created by someone else in between (or a dangling link, which
            // the next open refuses): look again.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other(
        "the lock file keeps appearing and disappearing",
    ))
}

/// Linux's `/proc/locks` names each lock's file as `MAJOR:MINOR:INODE`
/// (hex, hex, decimal). Whether a line names `(dev, ino)`.
fn proc_locks_line_matches(line: &str, dev: u64, ino: u64) -> bool {
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    line.split_whitespace().any(|field| {
        let mut parts = field.split(':');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(ma), Some(mi), Some(i), None) => {
                u64::from_str_radix(ma, 16).ok() == Some(major)
                    && u64::from_str_radix(mi, 16).ok() == Some(minor)
                    && i.parse::<u64>().ok() == Some(ino)
            }
            _ => false,
        }
    })
}

impl Storage for FsStorage {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        fs::create_dir_all(dir)
    }

    fn is_dir(&self, path: &Path) -> io::Result<bool> {
        match fs::metadata(path) {
            Ok(m) => Ok(m.is_dir()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn remove_dir(&self, dir: &Path) -> io::Result<()> {
        fs::remove_dir(dir)
    }

    fn try_lock(&self, path: &Path) -> Result<AcquiredLock, LockFailure> {
        let (file, created) = open_lock_file(path).map_err(LockFailure::Io)?;
        match file.try_lock() {
            Ok(()) => {
                // A refused open removes the lock file it created (while
                // holding it); a lock taken on such an unlinked file
                // excludes nobody, so it must still be the file at `path`.
                let ours = file.metadata().map_err(LockFailure::Io)?;
                let there = fs::symlink_metadata(path).map_err(LockFailure::Io)?;
                if (ours.dev(), ours.ino()) != (there.dev(), there.ino()) {
                    return Err(LockFailure::Held(Some(
                        "another writer that was just giving up the directory".into(),
                    )));
                }
                let mut lock = FsLock(file);
                // Who holds it, for the next one's error message.
                let _ = lock.write_note(&format!("pid {}", std::process::id()));
                Ok(AcquiredLock {
                    lock: Box::new(lock),
                    created,
                })
            }
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                let holder = (&file)
                    .take(4096)
                    .read_to_string(&mut text)
                    .ok()
                    .and_then(|_| text.lines().next().map(|s| s.trim().to_owned()))
                    .filter(|s| !s.is_empty());
                Err(LockFailure::Held(holder))
            }
            Err(TryLockError::Error(e)) => Err(LockFailure::Io(e)),
        }
    }

    fn lock_held(&self, path: &Path) -> io::Result<Option<bool>> {
        let meta = match fs::symlink_metadata(path) {
            Ok(m) if m.file_type().is_file() => m,
            Ok(_) => return Ok(Some(false)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Some(false)),
            Err(e) => return Err(e),
        };
        // Querying the kernel's lock table takes no lock, so a writer
        // starting at the same moment is never turned away.
        match fs::read_to_string("/proc/locks") {
            Ok(table) => {
                Ok(Some(table.lines().any(|l| {
                    proc_locks_line_matches(l, meta.dev(), meta.ino())
                })))
            }
            Err(_) => Ok(None),
        }
    }

    fn len(&self, path: &Path) -> io::Result<Option<u64>> {
        regular_len(path)
    }

    fn open_read(&self, path: &Path) -> io::Result<Option<Box<dyn Read + Send>>> {
        match open_regular(path, OpenOptions::new().read(true)) {
            Ok(f) => Ok(Some(Box::new(f))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn open_append(&self, path: &Path) -> io::Result<Box<dyn StorageFile>> {
        let f = open_regular_for_writing(path, OpenOptions::new().append(true))?;
        Ok(Box::new(FsFile(f)))
    }

    fn create_new(&self, path: &Path) -> io::Result<Box<dyn StorageFile>> {
        // Append mode (O_APPEND): after a `set_len` the next write must
        // land at the new end, not at the old offset (which would leave a
        // hole of zeros in the log).
        let f = open_regular(path, OpenOptions::new().append(true).create_new(true))?;
        Ok(Box::new(FsFile(f)))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        match fs::remove_file(path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            r => r,
        }
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        // On Unix a directory opened read-only can be fsynced; that is what
        // makes a rename or a newly created file survive a power cut.
        File::open(dir)?.sync_all()
    }

    fn new_directory_id(&self) -> io::Result<[u8; 16]> {
        let mut id = [0u8; 16];
        getrandom::fill(&mut id).map_err(io::Error::other)?;
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlinks_and_fifos_are_refused_and_their_targets_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        fs::write(&target, b"precious").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let what = |e: io::Error| NotRegularFile::of(&e).map(|n| n.what);
        assert_eq!(
            what(FsStorage.len(&link).unwrap_err()),
            Some("a symbolic link")
        );
        assert_eq!(
            what(FsStorage.open_read(&link).err().unwrap()),
            Some("a symbolic link")
        );
        assert_eq!(
            what(FsStorage.open_append(&link).unwrap_err()),
            Some("a symbolic link")
        );
        assert_eq!(
            FsStorage.create_new(&link).unwrap_err().kind(),
            io::ErrorKind::AlreadyExists
        );
        match FsStorage.try_lock(&link) {
            Err(LockFailure::Io(e)) => assert_eq!(what(e), Some("a symbolic link")),
            other => panic!("lock through a link: {other:?}"),
        }
        assert_eq!(fs::read(&target).unwrap(), b"precious");
        assert_eq!(
            what(FsStorage.open_read(dir.path()).err().unwrap()),
            Some("a directory")
        );
    }

    #[test]
    fn lock_is_seen_held_without_taking_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("LOCK");
        assert_eq!(FsStorage.lock_held(&path).unwrap(), Some(false));
        let taken = FsStorage.try_lock(&path).unwrap();
        assert!(taken.created);
        assert_eq!(FsStorage.lock_held(&path).unwrap(), Some(true));
        drop(taken);
        assert_eq!(FsStorage.lock_held(&path).unwrap(), Some(false));
        assert!(!FsStorage.try_lock(&path).unwrap().created);
    }

    #[test]
    fn directory_ids_are_random() {
        let a = FsStorage.new_directory_id().unwrap();
        let b = FsStorage.new_directory_id().unwrap();
        assert_ne!(a, b);
    }
}
