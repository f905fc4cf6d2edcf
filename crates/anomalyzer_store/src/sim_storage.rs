//! An in-memory [`Storage`] that behaves like a pessimistic disk, for
//! fault-injection tests (ours and yours).
//!
//! - Every file remembers what was last made durable (`sync_data`); every
//!   directory entry (create, rename, remove) is only durable after
//!   `sync_dir` of its parent. [`SimStorage::power_loss`] throws away
//!   everything that was not, optionally keeping a random prefix of each
//!   file's un-synced appended bytes (a torn write).
//! - [`SimStorage::crash_after_ops`] lets the next N operations succeed and
//!   fails every later one, like a process killed at that point;
//!   [`SimStorage::fail_nth_op`] fails one operation with a chosen error.
//! - A byte budget simulates a full disk (`ENOSPC`, with partial writes) and
//!   a switch a read-only file system (`EROFS`).
//!
//! - [`SimStorage::make_special`] puts a symbolic link, a FIFO or a
//!   directory where the store expects a regular file: like the real file
//!   system under `O_NOFOLLOW`, every open of it is refused.
//!
//! Operations counted are the mutating ones: directory creation and
//! removal, lock, open for append, create, append, sync, set_len, rename,
//! remove, directory sync.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{self, Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::storage::{AcquiredLock, DirLock, LockFailure, NotRegularFile, Storage, StorageFile};

/// A directory entry that is not a regular file, for
/// [`SimStorage::make_special`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SimSpecial {
    /// A symbolic link to the given path.
    Symlink(PathBuf),
    /// A named pipe.
    Fifo,
    /// A directory.
    Directory,
}

impl SimSpecial {
    fn refusal(&self) -> io::Error {
        let what = match self {
            SimSpecial::Symlink(_) => "a symbolic link",
            SimSpecial::Fifo => "a FIFO",
            SimSpecial::Directory => "a directory",
        };
        NotRegularFile { what }.into_io()
    }
}

/// The error an injected fault returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FaultKind {
    /// `EIO`: the device failed.
    Io,
    /// `ENOSPC`: the disk is full.
    NoSpace,
    /// `EROFS`: the file system is read-only.
    ReadOnly,
    /// `EACCES`: permission denied.
    PermissionDenied,
}

impl FaultKind {
    fn error(self) -> io::Error {
        match self {
            FaultKind::Io => io::Error::from_raw_os_error(5),
            FaultKind::NoSpace => io::Error::from_raw_os_error(28),
            FaultKind::ReadOnly => io::Error::from_raw_os_error(30),
            FaultKind::PermissionDenied => io::Error::from_raw_os_error(13),
        }
    }
}

/// What survives a simulated power cut besides the synced state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerLoss {
    /// Nothing that was not synced.
    DropUnsynced,
    /// For each file, a prefix (length drawn from `seed`) of the bytes
    /// appended since its last sync: a torn write.
    TornUnsynced {
        /// Seeds the prefix lengths.
        seed: u64,
    },
}

/// The in-memory file system; clones share it (hand one clone to the store,
/// keep one to inject faults and inspect the bytes).
#[derive(Debug, Clone, Default)]
pub struct SimStorage {
    inner: Arc<Mutex<Sim>>,
}

#[derive(Debug, Default)]
struct Inode {
    data: Vec<u8>,
    durable: Vec<u8>,
}

#[derive(Debug, Default)]
struct Sim {
    next_inode: u64,
    inodes: HashMap<u64, Inode>,
    names: BTreeMap<PathBuf, u64>,
    durable_names: BTreeMap<PathBuf, u64>,
    dirs: BTreeSet<PathBuf>,
    specials: BTreeMap<PathBuf, SimSpecial>,
    locks: BTreeMap<PathBuf, u64>,
    ids_made: u64,
    next_token: u64,
    ops: u64,
    crash_limit: Option<u64>,
    crashed: bool,
    fail_once: Option<(u64, FaultKind)>,
    read_only: bool,
    capacity: Option<u64>,
}

fn crashed_error() -> io::Error {
    io::Error::other("simulated crash: the process is dead")
}

impl Sim {
    fn op(&mut self) -> io::Result<()> {
        if self.crashed {
            return Err(crashed_error());
        }
        self.ops += 1;
        if self.crash_limit.is_some_and(|limit| self.ops > limit) {
            self.crashed = true;
            return Err(crashed_error());
        }
        if let Some((n, kind)) = self.fail_once {
            if self.ops == n {
                self.fail_once = None;
                return Err(kind.error());
            }
        }
        if self.read_only {
            return Err(FaultKind::ReadOnly.error());
        }
        Ok(())
    }

    fn used(&self) -> u64 {
        self.inodes.values().map(|i| i.data.len() as u64).sum()
    }

    fn new_inode(&mut self) -> u64 {
        self.next_inode += 1;
        self.inodes.insert(self.next_inode, Inode::default());
        self.next_inode
    }

    /// Refuses a path where a special entry is.
    fn regular(&self, path: &Path) -> io::Result<()> {
        match self.specials.get(path) {
            Some(special) => Err(special.refusal()),
            None => Ok(()),
        }
    }

    fn parent_exists(&self, path: &Path) -> io::Result<()> {
        match path.parent() {
            Some(p) if p.as_os_str().is_empty() || self.dirs.contains(p) => Ok(()),
            _ => Err(io::Error::from(io::ErrorKind::NotFound)),
        }
    }
}

impl SimStorage {
    /// Opens the existing `path` (`create`: creates it, failing if it exists).
    fn open_file(&self, path: &Path, create: bool) -> io::Result<Box<dyn StorageFile>> {
        let mut s = self.lock();
        s.op()?;
        s.parent_exists(path)?;
        if create && (s.names.contains_key(path) || s.specials.contains_key(path)) {
            return Err(io::Error::from(io::ErrorKind::AlreadyExists));
        }
        s.regular(path)?;
        let inode = match s.names.get(path) {
            Some(&id) => id,
            None if create => {
                let id = s.new_inode();
                s.names.insert(path.to_owned(), id);
                id
            }
            None => return Err(io::Error::from(io::ErrorKind::NotFound)),
        };
        Ok(Box::new(SimFile {
            sim: self.clone(),
            inode,
        }))
    }

    /// Puts `special` at `path` (durably, bypassing faults), replacing any
    /// file there. The store must refuse it and never touch a link's target.
    pub fn make_special(&self, path: &Path, special: SimSpecial) {
        let mut s = self.lock();
        if let Some(parent) = path.parent() {
            s.dirs.insert(parent.to_owned());
        }
        s.names.remove(path);
        s.durable_names.remove(path);
        s.specials.insert(path.to_owned(), special);
    }

    /// True if a directory exists at `path` (made by `create_dir_all`).
    #[must_use]
    pub fn dir_exists(&self, path: &Path) -> bool {
        self.lock().dirs.contains(path)
    }

    /// An empty file system.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Sim> {
        // A test that panicked while holding the lock has already failed;
        // the state is still usable for its report.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Number of operations performed so far.
    #[must_use]
    pub fn op_count(&self) -> u64 {
        self.lock().ops
    }

    /// The next `n` operations succeed; every later one fails, as if the
    /// process had been killed right after the `n`-th.
    pub fn crash_after_ops(&self, n: u64) {
        let mut s = self.lock();
        s.crash_limit = Some(s.ops + n);
    }

    /// True once a crash set by [`crash_after_ops`](Self::crash_after_ops) happened.
    #[must_use]
    pub fn has_crashed(&self) -> bool {
        self.lock().crashed
    }

    /// The `n`-th operation from now (1 = the next one) fails with `kind`.
    pub fn fail_nth_op(&self, n: u64, kind: FaultKind) {
        let mut s = self.lock();
        s.fail_once = Some((s.ops + n, kind));
    }

    /// Every mutating operation fails with `EROFS` while set.
    pub fn set_read_only(&self, read_only: bool) {
        self.lock().read_only = read_only;
    }

    /// Limits the total bytes of all files; appends past it write what fits
    /// and fail with `ENOSPC`. `None` removes the limit.
    pub fn set_capacity(&self, bytes: Option<u64>) {
        self.lock().capacity = bytes;
    }

    /// Bytes currently held by all files.
    #[must_use]
    pub fn used_bytes(&self) -> u64 {
        self.lock().used()
    }

    /// The process died but the machine did not: every write the OS
    /// accepted survives; locks are released and faults cleared.
    pub fn process_crash(&self) {
        let mut s = self.lock();
        s.locks.clear();
        s.crashed = false;
        s.crash_limit = None;
        s.fail_once = None;
    }

    /// The machine lost power: un-synced data and directory entries are
    /// lost (see [`PowerLoss`]); locks are released and faults cleared.
    pub fn power_loss(&self, loss: PowerLoss) {
        let mut s = self.lock();
        let mut rng = match loss {
            PowerLoss::DropUnsynced => None,
            PowerLoss::TornUnsynced { seed } => Some(seed ^ 0x9e37_79b9_7f4a_7c15),
        };
        s.names = s.durable_names.clone();
        let live: BTreeSet<u64> = s.names.values().copied().collect();
        s.inodes.retain(|id, _| live.contains(id));
        for inode in s.inodes.values_mut() {
            let extra = inode.data.len().saturating_sub(inode.durable.len());
            let keep = match rng.as_mut() {
                Some(state) if extra > 0 && inode.data.starts_with(&inode.durable) => {
                    // xorshift64*: enough to pick prefix lengths reproducibly.
                    *state ^= *state >> 12;
                    *state ^= *state << 25;
                    *state ^= *state >> 27;
                    let r = state.wrapping_mul(0x2545_f491_4f6c_dd1d);
                    (r % (extra as u64 + 1)) as usize
                }
                _ => 0,
            };
            let mut data = std::mem::take(&mut inode.durable);
            if keep > 0 {
                let from = data.len();
                data.extend_from_slice(&inode.data[from..from + keep]);
            }
            inode.durable = data.clone();
            inode.data = data;
        }
        s.locks.clear();
        s.crashed = false;
        s.crash_limit = None;
        s.fail_once = None;
    }

    /// The current contents of `path` (what a reader would see).
    #[must_use]
    pub fn read(&self, path: &Path) -> Option<Vec<u8>> {
        let s = self.lock();
        s.names.get(path).map(|id| s.inodes[id].data.clone())
    }

    /// Replaces the contents of `path` durably, bypassing faults (to plant
    /// corruption). Creates the file and its directory entry if needed.
    pub fn write_durable(&self, path: &Path, bytes: &[u8]) {
        let mut s = self.lock();
        if let Some(parent) = path.parent() {
            s.dirs.insert(parent.to_owned());
        }
        let id = match s.names.get(path) {
            Some(&id) => id,
            None => s.new_inode(),
        };
        s.names.insert(path.to_owned(), id);
        s.durable_names.insert(path.to_owned(), id);
        let inode = s
            .inodes
            .get_mut(&id)
            .expect("inode just looked up or created");
        inode.data = bytes.to_vec();
        inode.durable = bytes.to_vec();
    }

    /// Removes `path` durably, bypassing faults.
    pub fn remove_durable(&self, path: &Path) {
        let mut s = self.lock();
        s.names.remove(path);
        s.durable_names.remove(path);
        s.specials.remove(path);
    }

    /// Paths of the files that currently exist.
    #[must_use]
    pub fn files(&self) -> Vec<PathBuf> {
        self.lock().names.keys().cloned().collect()
    }
}

#[derive(Debug)]
struct SimFile {
    sim: SimStorage,
    inode: u64,
}

impl StorageFile for SimFile {
    fn append(&mut self, buf: &[u8]) -> io::Result<()> {
        let mut s = self.sim.lock();
        s.op()?;
        let room = match s.capacity {
            Some(cap) => cap.saturating_sub(s.used()),
            None => u64::MAX,
        };
        let n = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        let inode = s.inodes.get_mut(&self.inode).ok_or_else(stale_handle)?;
        inode.data.extend_from_slice(&buf[..n]);
        if n < buf.len() {
            return Err(FaultKind::NoSpace.error());
        }
        Ok(())
    }

    fn sync_data(&mut self) -> io::Result<()> {
        let mut s = self.sim.lock();
        s.op()?;
        let inode = s.inodes.get_mut(&self.inode).ok_or_else(stale_handle)?;
        inode.durable = inode.data.clone();
        Ok(())
    }

    fn set_len(&mut self, len: u64) -> io::Result<()> {
        let mut s = self.sim.lock();
        s.op()?;
        let inode = s.inodes.get_mut(&self.inode).ok_or_else(stale_handle)?;
        inode
            .data
            .resize(usize::try_from(len).unwrap_or(usize::MAX), 0);
        Ok(())
    }

    fn size(&mut self) -> io::Result<u64> {
        let s = self.sim.lock();
        let inode = s.inodes.get(&self.inode).ok_or_else(stale_handle)?;
        Ok(inode.data.len() as u64)
    }
}

fn stale_handle() -> io::Error {
    io::Error::other("simulated file handle outlived a power loss")
}

#[derive(Debug)]
struct SimLock {
    sim: SimStorage,
    path: PathBuf,
    token: u64,
}

impl DirLock for SimLock {
    fn write_note(&mut self, note: &str) -> io::Result<()> {
        let mut s = self.sim.lock();
        let Some(&id) = s.names.get(&self.path) else {
            return Ok(());
        };
        if let Some(inode) = s.inodes.get_mut(&id) {
            inode.data = note.as_bytes().to_vec();
        }
        Ok(())
    }
}

impl Drop for SimLock {
    fn drop(&mut self) {
        let mut s = self.sim.lock();
        if s.locks.get(&self.path) == Some(&self.token) {
            s.locks.remove(&self.path);
        }
    }
}

impl Storage for SimStorage {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        let mut s = self.lock();
        s.op()?;
        for a in dir.ancestors() {
            if !a.as_os_str().is_empty() {
                s.dirs.insert(a.to_owned());
            }
        }
        Ok(())
    }

    fn is_dir(&self, path: &Path) -> io::Result<bool> {
        Ok(self.dir_exists(path))
    }

    fn remove_dir(&self, dir: &Path) -> io::Result<()> {
        let mut s = self.lock();
        s.op()?;
        let occupied = s
            .names
            .keys()
            .chain(s.specials.keys())
            .any(|p| p.starts_with(dir))
            || s.dirs.iter().any(|d| d != dir && d.starts_with(dir));
        if occupied {
            return Err(io::Error::from_raw_os_error(39)); // ENOTEMPTY
        }
        s.dirs.remove(dir);
        Ok(())
    }

    fn try_lock(&self, path: &Path) -> Result<AcquiredLock, LockFailure> {
        let mut s = self.lock();
        s.op().map_err(LockFailure::Io)?;
        s.parent_exists(path).map_err(LockFailure::Io)?;
        s.regular(path).map_err(LockFailure::Io)?;
        if s.locks.contains_key(path) {
            return Err(LockFailure::Held(Some("another SimStorage handle".into())));
        }
        let created = !s.names.contains_key(path);
        if created {
            let id = s.new_inode();
            s.names.insert(path.to_owned(), id);
        }
        s.next_token += 1;
        let token = s.next_token;
        s.locks.insert(path.to_owned(), token);
        drop(s);
        let mut lock = SimLock {
            sim: self.clone(),
            path: path.to_owned(),
            token,
        };
        lock.write_note("pid sim").map_err(LockFailure::Io)?;
        Ok(AcquiredLock {
            lock: Box::new(lock),
            created,
        })
    }

    fn lock_held(&self, path: &Path) -> io::Result<Option<bool>> {
        Ok(Some(self.lock().locks.contains_key(path)))
    }

    fn len(&self, path: &Path) -> io::Result<Option<u64>> {
        let s = self.lock();
        s.regular(path)?;
        Ok(s.names.get(path).map(|id| s.inodes[id].data.len() as u64))
    }

    fn open_read(&self, path: &Path) -> io::Result<Option<Box<dyn Read + Send>>> {
        self.lock().regular(path)?;
        Ok(self
            .read(path)
            .map(|data| Box::new(Cursor::new(data)) as Box<dyn Read + Send>))
    }

    fn open_append(&self, path: &Path) -> io::Result<Box<dyn StorageFile>> {
        self.open_file(path, false)
    }

    fn create_new(&self, path: &Path) -> io::Result<Box<dyn StorageFile>> {
        self.open_file(path, true)
    }

    fn new_directory_id(&self) -> io::Result<[u8; 16]> {
        // Reproducible (fixtures are byte-compared), distinct per call.
        let mut s = self.lock();
        s.ids_made += 1;
        let n = s.ids_made;
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&0x5349_4d5f_4449_5231u64.to_le_bytes());
        id[8..].copy_from_slice(&n.to_le_bytes());
        Ok(id)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut s = self.lock();
        s.op()?;
        let id = s
            .names
            .remove(from)
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
        // A link at `to` is replaced, never followed.
        s.specials.remove(to);
        s.names.insert(to.to_owned(), id);
        Ok(())
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        let mut s = self.lock();
        s.op()?;
        s.names.remove(path);
        s.specials.remove(path);
        Ok(())
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let mut s = self.lock();
        s.op()?;
        let in_dir = |p: &Path| p.parent() == Some(dir);
        let current: Vec<(PathBuf, u64)> = s
            .names
            .iter()
            .filter(|(p, _)| in_dir(p))
            .map(|(p, &id)| (p.clone(), id))
            .collect();
        s.durable_names.retain(|p, _| !in_dir(p));
        s.durable_names.extend(current);
        Ok(())
    }
}
