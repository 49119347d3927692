//! Segments: named POSIX shared-memory objects holding a ZeroIPC v2 table.
//!
//! A segment is `/dev/shm/<name>` on Linux. It is created with
//! `O_CREAT | O_EXCL` (an existing segment is never destroyed unless the
//! caller asks with [`SegmentOptions::create_replacing`]), opened with
//! `O_NOFOLLOW` (a symlink is refused), mapped shared read-write with
//! memmap2, and validated on open (docs/FORMAT.md §1.2-§1.3, §2.6; the lock:
//! §2.5). Table mutations by our
//! processes are serialised with an exclusive `flock` on the segment's file
//! plus a process-local mutex (flock is per open file description, so two
//! threads sharing one descriptor would not exclude each other without it).

use crate::describe::{structure_name, Description};
use crate::error::{Error, Result};
use crate::format::align_up;
use crate::format::describe as describe_fmt;
use crate::format::table::{
    entry, entry_offset, header, table_bytes, Entry, RawEntry, TableHeader, DEFAULT_MAX_ENTRIES,
    ENTRY_SIZE, HEADER_SIZE, MAGIC, NAME_FIELD, VERSION,
};
use crate::format::waiters as waiters_fmt;
use crate::region::Region;
use crate::table::{self, Bounds};
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::io::AsRawFd;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Where POSIX shared-memory objects live on Linux.
pub const SHM_DIR: &str = "/dev/shm";

/// Default permission bits of a new segment.
pub const DEFAULT_MODE: u32 = 0o600;

/// Default size of a segment when the caller does not choose (1 MiB).
pub const DEFAULT_SIZE: u64 = 1 << 20;

/// Whether new segments carry the self-description entry unless the caller
/// chooses (see [`SegmentOptions::self_describing`]).
pub const DEFAULT_SELF_DESCRIBING: bool = true;
/// Whether new segments carry the waiter registry unless told otherwise
/// (see [`SegmentOptions::wake_registry`]).
pub const DEFAULT_WAKE_REGISTRY: bool = true;

/// Validates a segment name and returns it without its leading `/`.
///
/// ```
/// use zeroipc::segment::normalize_name;
/// assert_eq!(normalize_name("/sensors").unwrap(), "sensors");
/// assert_eq!(normalize_name("sensors").unwrap(), "sensors");
/// assert!(normalize_name("/a/b").is_err());
/// assert!(normalize_name("/..").is_err());
/// ```
pub fn normalize_name(name: &str) -> Result<&str> {
    let bad = |reason| Error::InvalidSegmentName {
        name: name.to_owned(),
        reason,
    };
    let rest = name.strip_prefix('/').unwrap_or(name);
    if rest.is_empty() {
        return Err(bad("empty after the leading '/'"));
    }
    if rest.len() > 255 {
        return Err(bad("longer than 255 bytes"));
    }
    if rest.contains('/') {
        return Err(bad("contains '/' after the leading one"));
    }
    if rest.contains('\0') {
        return Err(bad("contains a NUL byte"));
    }
    if rest == "." || rest == ".." {
        return Err(bad("'.' and '..' are not object names"));
    }
    Ok(rest)
}

/// Filesystem path of the object for a segment name.
pub fn shm_path(name: &str) -> Result<PathBuf> {
    Ok(PathBuf::from(SHM_DIR).join(normalize_name(name)?))
}

fn ensure_supported() -> Result<()> {
    if cfg!(target_os = "linux") {
        Ok(())
    } else {
        Err(Error::Unsupported(
            "segments are POSIX objects under /dev/shm; only Linux is supported so far",
        ))
    }
}

/// How to create or open a segment.
///
/// ```
/// use zeroipc::SegmentOptions;
/// let name = format!("/zeroipc-doc-options-{}", std::process::id());
/// let seg = SegmentOptions::new().size(64 * 1024).max_entries(16).create(&name).unwrap();
/// assert_eq!(seg.max_entries(), 16);
/// assert!(SegmentOptions::new().create(&name).is_err()); // exists: never destroyed
/// zeroipc::Segment::unlink(&name).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct SegmentOptions {
    size: u64,
    max_entries: u32,
    mode: u32,
    allow_foreign_owner: bool,
    self_describing: bool,
    wake_registry: bool,
}

impl Default for SegmentOptions {
    fn default() -> Self {
        SegmentOptions {
            size: DEFAULT_SIZE,
            max_entries: DEFAULT_MAX_ENTRIES,
            mode: DEFAULT_MODE,
            allow_foreign_owner: false,
            self_describing: DEFAULT_SELF_DESCRIBING,
            wake_registry: DEFAULT_WAKE_REGISTRY,
        }
    }
}

impl SegmentOptions {
    /// Defaults: 1 MiB, 64 entries, mode 0600, own segments only,
    /// self-describing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Segment size in bytes (used when creating).
    pub fn size(mut self, bytes: u64) -> Self {
        self.size = bytes;
        self
    }

    /// Table slots (used when creating).
    pub fn max_entries(mut self, n: u32) -> Self {
        self.max_entries = n;
        self
    }

    /// Permission bits of a new segment (applied exactly, regardless of umask).
    pub fn mode(mut self, mode: u32) -> Self {
        self.mode = mode;
        self
    }

    /// Accept opening a segment owned by another user.
    pub fn allow_foreign_owner(mut self, allow: bool) -> Self {
        self.allow_foreign_owner = allow;
        self
    }

    /// Whether a new segment records what each structure is (its kind and
    /// element layouts) in an entry `__zeroipc_kinds` registered first, so
    /// that opens refuse a structure of another kind and tools need not
    /// guess ([`crate::describe`], docs/FORMAT.md §11). Turn it off for a
    /// segment that must equal a reference library's byte for byte.
    ///
    /// The entry takes one table slot and `32 + 96 * (max_entries - 1)`
    /// bytes; it is left out (the segment works, undescribed) when the
    /// table has a single slot or the entry would take more than a quarter
    /// of the data area.
    ///
    /// ```
    /// use zeroipc::SegmentOptions;
    /// let name = format!("/zeroipc-doc-self-describing-{}", std::process::id());
    /// let seg = SegmentOptions::new().size(1 << 16).max_entries(8).self_describing(true).create(&name)?;
    /// let entries = seg.entries()?;
    /// assert_eq!(entries[0].name, "__zeroipc_kinds");
    /// assert_eq!(entries[0].size, 32 + 96 * 7);
    /// zeroipc::Segment::unlink(&name)?;
    /// let plain = SegmentOptions::new().size(1 << 16).self_describing(false).wake_registry(false).create(&name)?;
    /// assert!(plain.entries()?.is_empty());
    /// zeroipc::Segment::unlink(&name)?;
    /// # Ok::<(), zeroipc::Error>(())
    /// ```
    pub fn self_describing(mut self, on: bool) -> Self {
        self.self_describing = on;
        self
    }

    /// Whether a new segment carries the waiter registry `__zeroipc_waiters`
    /// (docs/FORMAT.md §12): two sleeper counts per table slot, with which
    /// our producers wake a consumer blocked on a Queue, Stack, Ring, Pool
    /// or Stream in microseconds, making no system call while nobody
    /// sleeps. Without it, blocked calls poll with sleeps of up to
    /// [`crate::wait::MAX_SLEEP`] (as they do on segments a reference
    /// library made). Turn it off, with
    /// [`SegmentOptions::self_describing`], for a segment that must equal a
    /// reference library's byte for byte.
    ///
    /// The entry takes one table slot and `16 + 8 * max_entries` bytes; it
    /// is left out when the table has fewer than 4 slots or the entry would
    /// take more than an eighth of the data area.
    ///
    /// ```
    /// use zeroipc::SegmentOptions;
    /// let name = format!("/zeroipc-doc-wake-registry-{}", std::process::id());
    /// let seg = SegmentOptions::new().size(1 << 16).max_entries(8).self_describing(false).create(&name)?;
    /// let entries = seg.entries()?;
    /// assert_eq!(entries[0].name, "__zeroipc_waiters");
    /// assert_eq!(entries[0].size, 16 + 8 * 8);
    /// zeroipc::Segment::unlink(&name)?;
    /// let plain = SegmentOptions::new().size(1 << 16).self_describing(false).wake_registry(false).create(&name)?;
    /// assert!(plain.entries()?.is_empty());
    /// zeroipc::Segment::unlink(&name)?;
    /// # Ok::<(), zeroipc::Error>(())
    /// ```
    pub fn wake_registry(mut self, on: bool) -> Self {
        self.wake_registry = on;
        self
    }

    /// The waiter registry's size for these options, if a new segment gets
    /// one.
    fn waiter_registry_size(&self, data_start: u64) -> Option<u64> {
        if !self.wake_registry || self.max_entries < 4 {
            return None;
        }
        let size = waiters_fmt::entry_size(self.max_entries)?;
        let data_area = self.size.saturating_sub(data_start);
        (size <= data_area / 8).then_some(size)
    }

    /// The self-description entry's size for these options, if a new
    /// segment gets one.
    fn description_entry_size(&self, data_start: u64) -> Option<u64> {
        let capacity = describe_fmt::capacity_for(self.max_entries);
        if !self.self_describing || capacity == 0 {
            return None;
        }
        let size = describe_fmt::entry_size(capacity)?;
        let data_area = self.size.saturating_sub(data_start);
        (size <= data_area / 4).then_some(size)
    }

    /// Creates a new segment; fails with [`Error::SegmentExists`] if the name is taken.
    pub fn create(&self, name: &str) -> Result<Segment> {
        ensure_supported()?;
        let name = normalize_name(name)?;
        let display = format!("/{name}");
        let needed = table_bytes(self.max_entries);
        if self.max_entries == 0 {
            return Err(Error::InvalidParameter {
                segment: display,
                what: "max_entries must be at least 1".to_owned(),
            });
        }
        if self.size < needed {
            return Err(Error::SegmentTooSmall {
                segment: display,
                size: self.size,
                max_entries: self.max_entries,
                needed,
            });
        }
        if usize::try_from(self.size).is_err() {
            return Err(Error::InvalidParameter {
                segment: display,
                what: format!("size {} does not fit the address space", self.size),
            });
        }
        let path = PathBuf::from(SHM_DIR).join(name);
        let file = match OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(self.mode)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&path)
        {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(Error::SegmentExists { name: display })
            }
            Err(e) => return Err(Error::io(&display, "create (open O_EXCL)", e)),
        };
        // Hold the table lock until the header is written, so that a
        // concurrent open (open_or_create) waits for a complete table.
        let lock = FileLock::exclusive(&file, &display)?;
        let setup = || -> Result<Segment> {
            file.set_permissions(std::fs::Permissions::from_mode(self.mode))
                .map_err(|e| Error::io(&display, "fchmod", e))?;
            file.set_len(self.size)
                .map_err(|e| Error::io(&display, "ftruncate", e))?;
            let map = memmap2::MmapOptions::new()
                .len(self.size as usize)
                .map_raw(&file)
                .map_err(|e| Error::io(&display, "mmap", e))?;
            let inner = Inner {
                name: display.clone(),
                map,
                bounds: Bounds {
                    max_entries: self.max_entries,
                    memory_size: self.size,
                    data_start: needed,
                },
                local_lock: Mutex::new(()),
                file: file
                    .try_clone()
                    .map_err(|e| Error::io(&display, "dup", e))?,
            };
            let seg = Segment {
                inner: Arc::new(inner),
            };
            // A fresh ftruncated object is zero; write the header last-to-first
            // so the magic (what openers test first) appears after the rest.
            seg.header_u32(header::VERSION)
                .store(VERSION, Ordering::Relaxed);
            seg.header_u32(header::ENTRY_COUNT)
                .store(0, Ordering::Relaxed);
            seg.header_u32(header::MAX_ENTRIES)
                .store(self.max_entries, Ordering::Relaxed);
            seg.header_u64(header::MEMORY_SIZE)
                .store(self.size, Ordering::Relaxed);
            seg.header_u64(header::NEXT_OFFSET)
                .store(needed, Ordering::Relaxed);
            if let Some(size) = self.description_entry_size(needed) {
                // Nobody else can reach the segment yet (no magic, and we
                // hold the flock), so no lock is taken here.
                seg.add_description_entry(size)?;
            }
            if let Some(size) = self.waiter_registry_size(needed) {
                seg.add_waiter_registry(size)?;
            }
            seg.header_u32(header::MAGIC)
                .store(MAGIC, Ordering::Release);
            Ok(seg)
        };
        match setup() {
            Ok(seg) => {
                drop(lock);
                Ok(seg)
            }
            Err(e) => {
                // We created the object and failed before it became valid:
                // removing it destroys nothing anyone else could have used.
                let _ = std::fs::remove_file(&path);
                Err(e)
            }
        }
    }

    /// Opens an existing segment and validates its table.
    pub fn open(&self, name: &str) -> Result<Segment> {
        ensure_supported()?;
        let name = normalize_name(name)?;
        let display = format!("/{name}");
        let path = PathBuf::from(SHM_DIR).join(name);
        let file = match OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&path)
        {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(Error::SegmentNotFound { name: display })
            }
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                return Err(Error::io(
                    &display,
                    "open (refusing to follow a symlink)",
                    e,
                ))
            }
            Err(e) => return Err(Error::io(&display, "open", e)),
        };
        let meta = file
            .metadata()
            .map_err(|e| Error::io(&display, "fstat", e))?;
        if !meta.file_type().is_file() {
            return Err(Error::CorruptTable {
                segment: display,
                check: "regular file",
                detail: format!("{} is not a regular file", path.display()),
            });
        }
        // SAFETY: geteuid has no preconditions and cannot fail.
        let uid = unsafe { libc::geteuid() };
        if meta.uid() != uid && !self.allow_foreign_owner {
            return Err(Error::ForeignOwner {
                segment: display,
                owner: meta.uid(),
                uid,
            });
        }
        let lock = FileLock::shared(&file, &display)?;
        let mut len = meta.len();
        if len == 0 {
            // A creator holds its exclusive lock from O_EXCL to a complete
            // header; if we won the race to the lock, give it a moment.
            drop(lock);
            let deadline = Instant::now() + Duration::from_millis(200);
            while len == 0 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(2));
                let _l = FileLock::shared(&file, &display)?;
                len = file
                    .metadata()
                    .map_err(|e| Error::io(&display, "fstat", e))?
                    .len();
            }
        }
        let _lock = FileLock::shared(&file, &display)?;
        if len < HEADER_SIZE {
            return Err(Error::CorruptTable {
                segment: display,
                check: "header fits",
                detail: format!("segment is {len} bytes, the header needs {HEADER_SIZE}"),
            });
        }
        let map_len = usize::try_from(len).map_err(|_| Error::CorruptTable {
            segment: display.clone(),
            check: "size fits address space",
            detail: format!("{len} bytes"),
        })?;
        let map = memmap2::MmapOptions::new()
            .len(map_len)
            .map_raw(&file)
            .map_err(|e| Error::io(&display, "mmap", e))?;
        let mut inner = Inner {
            name: display.clone(),
            map,
            bounds: Bounds {
                max_entries: 0,
                memory_size: 0,
                data_start: HEADER_SIZE,
            },
            local_lock: Mutex::new(()),
            file,
        };
        let header = read_header(&inner);
        inner.bounds = table::validate_header(&display, &header, len)?;
        let seg = Segment {
            inner: Arc::new(inner),
        };
        // Validate every entry in use now; later lookups re-validate what they touch.
        seg.entries()?;
        Ok(seg)
    }

    /// Opens the segment if it exists, else creates it with these options.
    pub fn open_or_create(&self, name: &str) -> Result<Segment> {
        loop {
            match self.open(name) {
                Err(Error::SegmentNotFound { .. }) => {}
                other => return other,
            }
            match self.create(name) {
                Err(Error::SegmentExists { .. }) => continue, // lost a race: open theirs
                other => return other,
            }
        }
    }

    /// Removes any existing segment of this name, then creates a new one.
    /// Processes that still map the old object keep an orphan copy.
    pub fn create_replacing(&self, name: &str) -> Result<Segment> {
        Segment::unlink(name)?;
        self.create(name)
    }
}

struct Inner {
    name: String,
    map: memmap2::MmapRaw,
    bounds: Bounds,
    local_lock: Mutex<()>,
    file: File,
}

fn read_header(inner: &Inner) -> TableHeader {
    let mut bytes = [0u8; HEADER_SIZE as usize];
    // SAFETY: the mapping is at least HEADER_SIZE bytes (checked by the
    // caller); the header is copied by atomic loads (`copy::load`), as every
    // party accesses its words atomically, so a concurrent registration's
    // stores of `entry_count`/`next_offset` race nothing.
    unsafe { crate::region::copy::load(inner.map.as_mut_ptr(), &mut bytes) };
    TableHeader::from_bytes(&bytes)
}

/// An open, validated segment. Cheap to clone (shares one mapping); the
/// mapping is unmapped when the last clone and every structure opened from
/// it are dropped. Dropping never unlinks.
///
/// ```
/// use zeroipc::Segment;
/// let name = format!("/zeroipc-doc-segment-{}", std::process::id());
/// let seg = Segment::create(&name, 1 << 16).unwrap();
/// let again = Segment::open(&name).unwrap();
/// assert_eq!(again.size(), 1 << 16);
/// // Only the runtime's own entries so far (see SegmentOptions::self_describing
/// // and SegmentOptions::wake_registry).
/// let names: Vec<String> = again.entries().unwrap().into_iter().map(|e| e.name).collect();
/// assert_eq!(names, ["__zeroipc_kinds", "__zeroipc_waiters"]);
/// Segment::unlink(&name).unwrap();
/// ```
#[derive(Clone)]
pub struct Segment {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Segment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Segment")
            .field("name", &self.inner.name)
            .field("size", &self.inner.bounds.memory_size)
            .field("max_entries", &self.inner.bounds.max_entries)
            .finish()
    }
}

/// A part of a composite registration: a table entry to add.
#[derive(Debug, Clone)]
pub struct Part {
    /// Entry name.
    pub name: String,
    /// Bytes to allocate.
    pub size: u64,
}

impl Part {
    /// A part named `name` of `size` bytes.
    pub fn new(name: impl Into<String>, size: u64) -> Part {
        Part {
            name: name.into(),
            size,
        }
    }
}

impl Segment {
    /// Creates a segment of `size` bytes with 64 table entries and mode
    /// 0600, self-describing ([`SegmentOptions::self_describing`]).
    pub fn create(name: &str, size: u64) -> Result<Segment> {
        SegmentOptions::new().size(size).create(name)
    }

    /// Opens an existing segment (own segments only; see [`SegmentOptions`]).
    pub fn open(name: &str) -> Result<Segment> {
        SegmentOptions::new().open(name)
    }

    /// Options builder.
    pub fn options() -> SegmentOptions {
        SegmentOptions::new()
    }

    /// Removes the named object; Ok if it did not exist. Mapped users keep
    /// their mapping.
    pub fn unlink(name: &str) -> Result<()> {
        let path = shm_path(name)?;
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(name, "unlink", e)),
        }
    }

    /// The name, with its leading `/`.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// `memory_size` as validated on open (the allocation bound).
    pub fn size(&self) -> u64 {
        self.inner.bounds.memory_size
    }

    /// Table slots, as read from the header on open.
    pub fn max_entries(&self) -> u32 {
        self.inner.bounds.max_entries
    }

    /// Offset where the data area starts.
    pub fn data_start(&self) -> u64 {
        self.inner.bounds.data_start
    }

    pub(crate) fn mapped_len(&self) -> usize {
        self.inner.map.len()
    }

    pub(crate) fn base_ptr(&self) -> *mut u8 {
        self.inner.map.as_mut_ptr()
    }

    fn header_u32(&self, off: u64) -> &AtomicU32 {
        debug_assert!(off + 4 <= HEADER_SIZE && off % 4 == 0);
        // SAFETY: header offsets are < 32 and 4-aligned, the mapping is
        // page-aligned and at least 32 bytes (checked on open/create), and
        // header words are shared with other processes, hence atomics.
        unsafe { &*self.base_ptr().add(off as usize).cast::<AtomicU32>() }
    }

    fn header_u64(&self, off: u64) -> &AtomicU64 {
        debug_assert!(off + 8 <= HEADER_SIZE && off % 8 == 0);
        // SAFETY: as `header_u32`, for the two 8-aligned u64 header words.
        unsafe { &*self.base_ptr().add(off as usize).cast::<AtomicU64>() }
    }

    /// A fresh snapshot of the header (values may change under us).
    pub fn header(&self) -> TableHeader {
        read_header(&self.inner)
    }

    /// Current entry count (acquire), checked against the cached max.
    fn entry_count(&self) -> Result<u32> {
        let n = self.header_u32(header::ENTRY_COUNT).load(Ordering::Acquire);
        if n > self.inner.bounds.max_entries {
            return Err(Error::CorruptTable {
                segment: self.inner.name.clone(),
                check: "entry_count <= max_entries",
                detail: format!(
                    "entry_count {n} exceeds max_entries {}",
                    self.inner.bounds.max_entries
                ),
            });
        }
        Ok(n)
    }

    fn entry_base(&self, i: u32) -> *mut u8 {
        debug_assert!(i < self.inner.bounds.max_entries);
        // SAFETY: i < max_entries and the table (32 + 48*max_entries bytes)
        // was checked to fit in the mapping on open/create.
        unsafe { self.base_ptr().add(entry_offset(i) as usize) }
    }

    fn raw_entry(&self, i: u32) -> RawEntry {
        const WORDS: usize = ENTRY_SIZE as usize / 8;
        let base = self.entry_base(i);
        let mut bytes = [0u8; ENTRY_SIZE as usize];
        // Six aligned relaxed word loads (what `copy::load` does, without
        // its general head/tail handling: lookups scan the whole table).
        for (k, chunk) in bytes.chunks_exact_mut(8).enumerate().take(WORDS) {
            // SAFETY: the 48-byte entry lies inside the table (see
            // entry_base) and starts 8-aligned (32 + 48 i from a
            // page-aligned base); table words are only accessed atomically.
            let word = unsafe { AtomicU64::from_ptr(base.add(8 * k).cast::<u64>()) };
            chunk.copy_from_slice(&word.load(Ordering::Relaxed).to_ne_bytes());
        }
        RawEntry::from_bytes(&bytes)
    }

    /// Every entry in use, validated.
    pub fn entries(&self) -> Result<Vec<Entry>> {
        let n = self.entry_count()?;
        (0..n)
            .map(|i| {
                let raw = self.raw_entry(i);
                table::validate_entry(&self.inner.name, &self.inner.bounds, i, &raw)
            })
            .collect()
    }

    /// The entry named `name`, validated, if present.
    pub fn find(&self, name: &str) -> Result<Option<Entry>> {
        let n = self.entry_count()?;
        for i in 0..n {
            let raw = self.raw_entry(i);
            let len = raw.name.iter().position(|&b| b == 0).unwrap_or(NAME_FIELD);
            if &raw.name[..len] == name.as_bytes() {
                return table::validate_entry(&self.inner.name, &self.inner.bounds, i, &raw)
                    .map(Some);
            }
        }
        Ok(None)
    }

    /// The region of the entry named `name`, or [`Error::StructureNotFound`].
    pub fn region(&self, name: &str) -> Result<Region> {
        match self.find(name)? {
            Some(e) => Ok(Region::new(self.clone(), e.offset, e.size, &e.name)),
            None => Err(Error::StructureNotFound {
                segment: self.inner.name.clone(),
                name: name.to_owned(),
            }),
        }
    }

    /// Bytes still free for allocation (ignoring alignment of the next one).
    pub fn free_bytes(&self) -> u64 {
        let next = self.header_u64(header::NEXT_OFFSET).load(Ordering::Acquire);
        // Saturates to 0 when `next` is beyond any aligned offset.
        let start = align_up(next, 8).unwrap_or(u64::MAX);
        self.size().saturating_sub(start)
    }

    /// Registers one structure: see [`Segment::register_group`].
    pub fn register(
        &self,
        name: &str,
        size: u64,
        init: impl FnOnce(&Region) -> Result<()>,
    ) -> Result<Region> {
        let mut regions = self.register_group(&[Part::new(name, size)], |r| init(&r[0]))?;
        Ok(regions.remove(0))
    }

    /// Registers several entries at once (a composite structure), in order.
    ///
    /// Every name, the free slots and the space are checked before anything
    /// is allocated, so a failure changes nothing. Then space is allocated,
    /// zeroed, `init` writes the structure headers, the entries are written,
    /// `next_offset` is stored, and finally `entry_count` is published with
    /// release ordering, so a reader that finds an entry (acquire) sees an
    /// initialised structure. The whole sequence holds the table lock.
    pub fn register_group(
        &self,
        parts: &[Part],
        init: impl FnOnce(&[Region]) -> Result<()>,
    ) -> Result<Vec<Region>> {
        self.register_locking(parts, None, init)
    }

    /// [`Segment::register_group`] that also records `desc` for the
    /// structure in the segment's self-description (when it has one; see
    /// [`crate::describe`]). The record is written under the same table
    /// lock and published before the structure's entries. When the
    /// self-description is present but full, or already records a structure
    /// of this name, or is damaged, nothing is allocated and the error says
    /// so. The structure's name is the first part's name without the suffix
    /// the format catalogue gives that part (a Stream `s`: parts
    /// `s_header`, `s_buffer`).
    ///
    /// ```
    /// use zeroipc::describe::Description;
    /// use zeroipc::format::StructureKind;
    /// use zeroipc::segment::Part;
    /// use zeroipc::{Segment, SegmentOptions};
    /// let name = format!("/zeroipc-doc-register-described-{}", std::process::id());
    /// let seg = SegmentOptions::new().size(1 << 16).self_describing(true).create(&name)?;
    /// let d = Description::new(StructureKind::Event);
    /// let regions = seg.register_described(&[Part::new("go", 12), Part::new("go_sem", 16)], &d, |r| {
    ///     r[0].write::<u32>(0, 0); // the structure's header
    ///     Ok(())
    /// })?;
    /// assert_eq!(regions.len(), 2);
    /// assert_eq!(seg.description("go")?, Some(d));
    /// Segment::unlink(&name)?;
    /// # Ok::<(), zeroipc::Error>(())
    /// ```
    pub fn register_described(
        &self,
        parts: &[Part],
        desc: &Description,
        init: impl FnOnce(&[Region]) -> Result<()>,
    ) -> Result<Vec<Region>> {
        self.register_locking(parts, Some(desc), init)
    }

    /// What the segment's self-description records about the structure
    /// `name` (its user-facing name, as given to the structure's `create`);
    /// `Ok(None)` when the segment has no self-description (a reference
    /// library made it, or it was created with the option off) or no record
    /// of that name. A damaged self-description is an error naming what is
    /// wrong.
    ///
    /// ```
    /// use zeroipc::{Segment, SegmentOptions};
    /// let name = format!("/zeroipc-doc-description-{}", std::process::id());
    /// let seg = SegmentOptions::new().size(1 << 16).self_describing(false).create(&name)?;
    /// assert_eq!(seg.description("anything")?, None);
    /// Segment::unlink(&name)?;
    /// # Ok::<(), zeroipc::Error>(())
    /// ```
    pub fn description(&self, name: &str) -> Result<Option<Description>> {
        let Some(entries) = self.description_region()? else {
            return Ok(None);
        };
        let (region, count, _) = entries;
        for i in 0..count {
            let bytes = read_record(&region, i);
            if describe_fmt::record_name(&bytes) != Some(name) {
                continue;
            }
            return describe_fmt::decode_record(&bytes)
                .map(|(_, d)| Some(d))
                .map_err(|detail| self.description_damaged(detail));
        }
        Ok(None)
    }

    /// Every record of the self-description, in creation order (empty when
    /// the segment has none): for tools listing a segment.
    ///
    /// ```
    /// use zeroipc::{Array, Segment, SegmentOptions};
    /// let name = format!("/zeroipc-doc-descriptions-{}", std::process::id());
    /// let seg = SegmentOptions::new().size(1 << 16).self_describing(false).create(&name)?;
    /// assert!(seg.descriptions()?.is_empty());
    /// Segment::unlink(&name)?;
    /// # Ok::<(), zeroipc::Error>(())
    /// ```
    pub fn descriptions(&self) -> Result<Vec<(String, Description)>> {
        let Some((region, count, _)) = self.description_region()? else {
            return Ok(Vec::new());
        };
        (0..count)
            .map(|i| {
                describe_fmt::decode_record(&read_record(&region, i))
                    .map_err(|detail| self.description_damaged(detail))
            })
            .collect()
    }

    /// The self-description entry, its record count (acquire) and capacity,
    /// validated; `None` when the segment has none.
    fn description_region(&self) -> Result<Option<(Region, u32, u32)>> {
        let Some(e) = self.find(describe_fmt::ENTRY_NAME)? else {
            return Ok(None);
        };
        let region = Region::new(self.clone(), e.offset, e.size, &e.name);
        if (region.len() as u64) < describe_fmt::HEADER_SIZE || e.offset % 8 != 0 {
            return Err(self.description_damaged(format!(
                "entry of {} bytes is smaller than its {}-byte header",
                region.len(),
                describe_fmt::HEADER_SIZE
            )));
        }
        let mut header = [0u8; describe_fmt::HEADER_SIZE as usize];
        for off in [
            describe_fmt::header::MAGIC,
            describe_fmt::header::VERSION,
            describe_fmt::header::CAPACITY,
            describe_fmt::header::RECORD_SIZE,
        ] {
            // Written once, before the entry was published.
            let word = region.read_u32(off as usize);
            header[off as usize..off as usize + 4].copy_from_slice(&word.to_le_bytes());
        }
        // Acquire pairs with the release store of the count in
        // `record_description`: the records below it are complete.
        let count = region
            .atomic_u32(describe_fmt::header::COUNT as usize)
            .load(Ordering::Acquire);
        let at = describe_fmt::header::COUNT as usize;
        header[at..at + 4].copy_from_slice(&count.to_le_bytes());
        let (count, capacity) = describe_fmt::check_header(&header, region.len() as u64)
            .map_err(|detail| self.description_damaged(detail))?;
        Ok(Some((region, count, capacity)))
    }

    fn description_damaged(&self, detail: String) -> Error {
        Error::StructureMismatch {
            segment: self.inner.name.clone(),
            name: describe_fmt::ENTRY_NAME.to_owned(),
            kind: "self-description",
            detail,
        }
    }

    /// Registers the empty self-description entry of `size` bytes (called
    /// by `create` before the segment is visible).
    fn add_description_entry(&self, size: u64) -> Result<()> {
        let capacity = describe_fmt::capacity_for(self.inner.bounds.max_entries);
        let part = Part::new(describe_fmt::ENTRY_NAME, size);
        self.register_locked(&[part], None, |r| {
            let h = &r[0];
            h.write::<u32>(describe_fmt::header::MAGIC as usize, describe_fmt::MAGIC);
            h.write::<u32>(
                describe_fmt::header::VERSION as usize,
                describe_fmt::VERSION,
            );
            h.write::<u32>(describe_fmt::header::CAPACITY as usize, capacity);
            let record_size = describe_fmt::RECORD_SIZE as u32;
            h.write::<u32>(describe_fmt::header::RECORD_SIZE as usize, record_size);
            Ok(())
        })?;
        Ok(())
    }

    /// Registers the zeroed waiter registry of `size` bytes (called by
    /// `create` before the segment is visible).
    fn add_waiter_registry(&self, size: u64) -> Result<()> {
        let part = Part::new(waiters_fmt::ENTRY_NAME, size);
        let slots = self.inner.bounds.max_entries;
        self.register_locked(&[part], None, |r| init_waiter_registry(&r[0], slots))?;
        Ok(())
    }

    /// Adds the waiter registry (docs/FORMAT.md §12) to a segment that has
    /// none, as its next table entry, if a table slot and the space are
    /// free: `Ok(true)` when the segment has one afterwards, `Ok(false)`
    /// when there was no room (nothing changed). Handles opened before it
    /// existed keep polling; open them again to be woken.
    ///
    /// Our generated segment types call this after their `__schema` entry,
    /// so that their structures sit where every language's generated code
    /// puts them. Do not add it to a segment that reference peers may be
    /// registering structures in at the same moment: they do not take the
    /// table lock this runtime takes.
    ///
    /// ```
    /// use zeroipc::{Queue, SegmentOptions};
    /// let name = format!("/zeroipc-doc-add-wake-registry-{}", std::process::id());
    /// let seg = SegmentOptions::new().size(1 << 16).wake_registry(false).create(&name)?;
    /// Queue::<u64>::create(&seg, "jobs", 8)?;
    /// assert!(seg.add_wake_registry()?);
    /// assert!(seg.add_wake_registry()?); // already there
    /// let names: Vec<String> = seg.entries()?.into_iter().map(|e| e.name).collect();
    /// assert_eq!(names, ["__zeroipc_kinds", "jobs", "__zeroipc_waiters"]);
    /// zeroipc::Segment::unlink(&name)?;
    /// # Ok::<(), zeroipc::Error>(())
    /// ```
    pub fn add_wake_registry(&self) -> Result<bool> {
        if self.find(waiters_fmt::ENTRY_NAME)?.is_some() {
            return Ok(true);
        }
        let max_entries = self.inner.bounds.max_entries;
        let Some(size) = waiters_fmt::entry_size(max_entries) else {
            return Ok(false);
        };
        let slots = max_entries;
        let part = Part::new(waiters_fmt::ENTRY_NAME, size);
        let added = self.register_locking(&[part], None, |r| init_waiter_registry(&r[0], slots));
        match added {
            Ok(_) => Ok(true),
            // Another process added it first.
            Err(Error::DuplicateName { .. }) => Ok(true),
            Err(Error::TableFull { .. } | Error::SegmentFull { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The waiter registry and the table slot of the entry starting at
    /// `offset`, when the segment has a registry whose header is valid
    /// (magic, version, and a slot for every table slot within the entry);
    /// `None` otherwise: the structure's waiters then poll. Called when a
    /// structure is opened, not on its fast paths.
    pub(crate) fn waiter_slot(&self, offset: u64) -> Option<(Region, u32)> {
        let n = self.entry_count().ok()?;
        let mut registry = None;
        let mut index = None;
        for i in 0..n {
            let raw = self.raw_entry(i);
            let Ok(e) = table::validate_entry(&self.inner.name, &self.inner.bounds, i, &raw) else {
                continue;
            };
            if e.name == waiters_fmt::ENTRY_NAME {
                registry = Some(e);
            } else if e.offset == offset && index.is_none() {
                index = Some(i);
            }
        }
        let (e, index) = (registry?, index?);
        let region = Region::new(self.clone(), e.offset, e.size, &e.name);
        // Written once before the entry was published (release of
        // entry_count, which `entry_count` acquired).
        let mut header = [0u8; waiters_fmt::HEADER_SIZE as usize];
        if region.len() < header.len() {
            return None;
        }
        region.read_bytes(0, &mut header);
        let slots = waiters_fmt::check_header(&header, e.size, e.offset).ok()?;
        (index < slots).then_some((region, index))
    }

    /// Takes the table lock, then [`Segment::register_locked`].
    fn register_locking(
        &self,
        parts: &[Part],
        desc: Option<&Description>,
        init: impl FnOnce(&[Region]) -> Result<()>,
    ) -> Result<Vec<Region>> {
        let seg_name = &self.inner.name;
        for p in parts {
            table::validate_structure_name(seg_name, &p.name)?;
        }
        let _local = self
            .inner
            .local_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let _flock = FileLock::exclusive(&self.inner.file, seg_name)?;
        self.register_locked(parts, desc, init)
    }

    /// The body of [`Segment::register_described`]; the caller holds the
    /// table lock (or the segment is not visible yet).
    fn register_locked(
        &self,
        parts: &[Part],
        desc: Option<&Description>,
        init: impl FnOnce(&[Region]) -> Result<()>,
    ) -> Result<Vec<Region>> {
        let count = self.entry_count()?;
        self.check_new_entries(count, parts)?;
        let record = match desc {
            Some(d) => self.plan_record(parts, d)?,
            None => None,
        };
        let (starts, cursor) = self.plan_allocation(parts)?;
        let regions: Vec<Region> = parts
            .iter()
            .zip(&starts)
            .map(|(p, &start)| {
                let r = Region::new(self.clone(), start, p.size, &p.name);
                r.zero(0, p.size as usize);
                r
            })
            .collect();
        init(&regions)?;
        for (k, (p, &start)) in parts.iter().zip(&starts).enumerate() {
            self.write_entry(count + k as u32, &p.name, start, p.size);
        }
        if let Some((region, slot, bytes)) = record {
            region.write_bytes(describe_fmt::record_offset(slot) as usize, &bytes);
            // Release: the record's bytes (just written, under the table
            // lock) happen before any reader's acquire load of the count.
            // Published before entry_count, so a reader that finds the
            // structure finds its record.
            region
                .atomic_u32(describe_fmt::header::COUNT as usize)
                .store(slot + 1, Ordering::Release);
        }
        self.header_u64(header::NEXT_OFFSET)
            .store(cursor, Ordering::Release);
        // Publish: the release store orders the entries and the structures'
        // initialised headers before the new count (readers load with acquire).
        self.header_u32(header::ENTRY_COUNT)
            .store(count + parts.len() as u32, Ordering::Release);
        Ok(regions)
    }

    /// Duplicate names and free table slots, before anything is allocated.
    fn check_new_entries(&self, count: u32, parts: &[Part]) -> Result<()> {
        let seg_name = &self.inner.name;
        let existing = self.entries()?;
        for (i, p) in parts.iter().enumerate() {
            if existing.iter().any(|e| e.name == p.name)
                || parts[..i].iter().any(|q| q.name == p.name)
            {
                return Err(Error::DuplicateName {
                    segment: seg_name.clone(),
                    name: p.name.clone(),
                });
            }
        }
        let max = self.inner.bounds.max_entries;
        if count as usize + parts.len() > max as usize {
            return Err(Error::TableFull {
                segment: seg_name.clone(),
                name: parts.first().map(|p| p.name.clone()).unwrap_or_default(),
                max_entries: max,
            });
        }
        Ok(())
    }

    /// Where the record of a described structure goes: `None` when the
    /// segment has no self-description; an error (before anything is
    /// allocated) when it is full, damaged, or already records the name.
    fn plan_record(
        &self,
        parts: &[Part],
        desc: &Description,
    ) -> Result<Option<(Region, u32, [u8; describe_fmt::RECORD_SIZE as usize])>> {
        let Some((region, count, capacity)) = self.description_region()? else {
            return Ok(None);
        };
        let name = structure_name(parts, desc);
        let bytes = describe_fmt::encode_record(name, desc).map_err(|reason| {
            Error::InvalidStructureName {
                segment: self.inner.name.clone(),
                name: name.to_owned(),
                reason,
            }
        })?;
        if count >= capacity {
            return Err(self.description_damaged(format!(
                "full: {count} of {capacity} records in use, cannot record {name:?}"
            )));
        }
        if (0..count).any(|i| describe_fmt::record_name(&read_record(&region, i)) == Some(name)) {
            return Err(Error::DuplicateName {
                segment: self.inner.name.clone(),
                name: name.to_owned(),
            });
        }
        Ok(Some((region, count, bytes)))
    }

    /// The 8-aligned start of each part and the new `next_offset`, or
    /// [`Error::SegmentFull`].
    fn plan_allocation(&self, parts: &[Part]) -> Result<(Vec<u64>, u64)> {
        let seg_name = &self.inner.name;
        let memory_size = self.inner.bounds.memory_size;
        let next = self.header_u64(header::NEXT_OFFSET).load(Ordering::Acquire);
        if next > memory_size || next < self.inner.bounds.data_start {
            return Err(Error::CorruptTable {
                segment: seg_name.clone(),
                check: "next_offset within data area",
                detail: format!(
                    "next_offset {next} outside [{}, {memory_size}]",
                    self.inner.bounds.data_start
                ),
            });
        }
        let mut cursor = next;
        let mut starts = Vec::with_capacity(parts.len());
        for p in parts {
            let start = align_up(cursor, 8);
            match start.and_then(|start| Some((start, start.checked_add(p.size)?))) {
                Some((start, end)) if end <= memory_size => {
                    starts.push(start);
                    cursor = end;
                }
                _ => {
                    let requested: u64 = parts.iter().map(|p| p.size).sum();
                    return Err(Error::SegmentFull {
                        segment: seg_name.clone(),
                        name: parts[0].name.clone(),
                        requested,
                        available: memory_size
                            .saturating_sub(align_up(next, 8).unwrap_or(u64::MAX)),
                    });
                }
            }
        }
        Ok((starts, cursor))
    }

    /// Writes table slot `slot` (not yet published: `slot >= entry_count`).
    fn write_entry(&self, slot: u32, name: &str, start: u64, size: u64) {
        let mut bytes = [0u8; ENTRY_SIZE as usize];
        bytes[..name.len()].copy_from_slice(name.as_bytes());
        let at = |off: u64| off as usize..off as usize + 8;
        bytes[at(entry::OFFSET)].copy_from_slice(&start.to_le_bytes());
        bytes[at(entry::SIZE)].copy_from_slice(&size.to_le_bytes());
        // SAFETY: slot < max_entries (checked by check_new_entries) lies
        // inside the validated table; we hold the table lock, and readers do
        // not look at this slot until entry_count is published. Atomic
        // stores (`copy::store`), as every access to shared bytes.
        unsafe { crate::region::copy::store(self.entry_base(slot), &bytes) };
    }
}

/// Record `i` of a self-description entry (validated to hold it).
fn read_record(region: &Region, i: u32) -> [u8; describe_fmt::RECORD_SIZE as usize] {
    let mut bytes = [0u8; describe_fmt::RECORD_SIZE as usize];
    region.read_bytes(describe_fmt::record_offset(i) as usize, &mut bytes);
    bytes
}

/// An advisory `flock` held for a scope. Holds the raw descriptor so the
/// `File` can move while locked; the owner keeps the descriptor open for
/// longer than the lock.
struct FileLock {
    fd: std::os::unix::io::RawFd,
}

impl FileLock {
    fn take(file: &File, op: libc::c_int, segment: &str) -> Result<FileLock> {
        let fd = file.as_raw_fd();
        loop {
            // SAFETY: flock on a descriptor we own; no memory is passed.
            let rc = unsafe { libc::flock(fd, op) };
            if rc == 0 {
                return Ok(FileLock { fd });
            }
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(Error::io(segment, "flock", err));
            }
        }
    }

    fn exclusive(file: &File, segment: &str) -> Result<FileLock> {
        Self::take(file, libc::LOCK_EX, segment)
    }

    fn shared(file: &File, segment: &str) -> Result<FileLock> {
        Self::take(file, libc::LOCK_SH, segment)
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        // SAFETY: unlocking a descriptor its owner keeps open past this
        // guard; failure only means it was not locked.
        unsafe {
            libc::flock(self.fd, libc::LOCK_UN);
        }
    }
}

/// Writes the header of a fresh (zeroed) waiter registry of `slots` slots;
/// its counts start at 0.
fn init_waiter_registry(h: &Region, slots: u32) -> Result<()> {
    h.write::<u32>(waiters_fmt::header::MAGIC as usize, waiters_fmt::MAGIC);
    h.write::<u32>(waiters_fmt::header::VERSION as usize, waiters_fmt::VERSION);
    h.write::<u32>(waiters_fmt::header::SLOTS as usize, slots);
    Ok(())
}
