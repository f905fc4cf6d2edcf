//! The storage seam: every file operation the store performs goes through
//! [`Storage`], so tests can replace the real file system with
//! [`SimStorage`](crate::SimStorage), which loses un-synced writes on a
//! simulated power cut and fails the N-th operation on demand.
//!
//! The operations are the few a write-ahead log needs: append, fdatasync,
//! truncate, whole-file create for the snapshot's temporary file, rename,
//! directory fsync, streaming reads, and an exclusive lock.

use std::fmt;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Read, Write};
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
pub trait DirLock: Send + fmt::Debug {}

/// Why [`Storage::try_lock`] did not give the lock.
#[derive(Debug)]
pub enum LockFailure {
    /// Another holder has it; carries what the holder wrote in the lock file.
    Held(Option<String>),
    /// The lock file could not be created or locked.
    Io(io::Error),
}

/// The file operations of the store. Paths are full paths.
pub trait Storage: Send + Sync + fmt::Debug {
    /// Creates `dir` and its parents if missing.
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;
    /// Takes the exclusive writer lock held in the file `path` (created if
    /// missing), without waiting.
    fn try_lock(&self, path: &Path) -> Result<Box<dyn DirLock>, LockFailure>;
    /// The file's length, `None` if it does not exist.
    fn len(&self, path: &Path) -> io::Result<Option<u64>>;
    /// Opens `path` for streaming reads, `None` if it does not exist.
    fn open_read(&self, path: &Path) -> io::Result<Option<Box<dyn Read + Send>>>;
    /// Opens `path` for appending, creating it empty if missing.
    fn open_append(&self, path: &Path) -> io::Result<Box<dyn StorageFile>>;
    /// Creates `path` empty (truncating any existing file) for appending:
    /// every write goes to the end, also after `set_len`.
    fn create(&self, path: &Path) -> io::Result<Box<dyn StorageFile>>;
    /// Atomically replaces `to` with `from`.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Removes the file `path` (no error if it does not exist).
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    /// Makes the directory's entries durable (fsync of the directory).
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
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
struct FsLock(#[allow(dead_code)] File);

impl DirLock for FsLock {}

impl Storage for FsStorage {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        fs::create_dir_all(dir)
    }

    fn try_lock(&self, path: &Path) -> Result<Box<dyn DirLock>, LockFailure> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(LockFailure::Io)?;
        match file.try_lock() {
            Ok(()) => {
                // Who holds it, for the next one's error message. Best
                // effort: the lock itself is what excludes.
                let _ = file.set_len(0);
                let _ = write!(file, "pid {}", std::process::id());
                Ok(Box::new(FsLock(file)))
            }
            Err(TryLockError::WouldBlock) => {
                let holder = fs::read_to_string(path)
                    .ok()
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty());
                Err(LockFailure::Held(holder))
            }
            Err(TryLockError::Error(e)) => Err(LockFailure::Io(e)),
        }
    }

    fn len(&self, path: &Path) -> io::Result<Option<u64>> {
        match fs::metadata(path) {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn open_read(&self, path: &Path) -> io::Result<Option<Box<dyn Read + Send>>> {
        match File::open(path) {
            Ok(f) => Ok(Some(Box::new(f))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn open_append(&self, path: &Path) -> io::Result<Box<dyn StorageFile>> {
        let f = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Box::new(FsFile(f)))
    }

    fn create(&self, path: &Path) -> io::Result<Box<dyn StorageFile>> {
        // Append mode (O_APPEND), like `open_append`: after a `set_len`
        // the next write must land at the new end, not at the old offset
        // (which would leave a hole of zeros in the log).
        let f = OpenOptions::new().create(true).append(true).open(path)?;
        f.set_len(0)?;
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
}
