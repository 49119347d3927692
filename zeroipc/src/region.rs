//! A bounded window onto one structure's bytes in a mapped segment.
//!
//! Every access is bounds-checked against the window length, which was
//! validated against the mapping when the window was made, so a bug in a
//! structure's offset arithmetic panics instead of touching memory outside
//! the mapping. Shared bytes are only ever reached through atomics (for
//! words with a cross-process protocol) or volatile copies (for payloads);
//! no `&T`/`&mut T` to shared payload bytes is formed.

use crate::element::ShmElement;
use crate::segment::Segment;
use std::sync::atomic::{AtomicI32, AtomicU32, AtomicU64, AtomicU8};

/// One structure's bytes: `[offset, offset + len)` of a segment.
#[derive(Clone)]
pub struct Region {
    seg: Segment,
    base: *mut u8,
    len: usize,
    offset: u64,
    name: String,
}

// SAFETY: `base` points into the mapping owned (through an `Arc`) by `seg`,
// which stays alive as long as the Region; all accesses are atomic or
// volatile copies, so sharing the Region between threads adds no data race
// beyond what the cross-process protocols already handle.
unsafe impl Send for Region {}
// SAFETY: as for `Send`; `&Region` only permits atomic and volatile access.
unsafe impl Sync for Region {}

impl std::fmt::Debug for Region {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Region")
            .field("segment", &self.seg.name())
            .field("name", &self.name)
            .field("offset", &self.offset)
            .field("len", &self.len)
            .finish()
    }
}

macro_rules! atomic_accessor {
    ($fn:ident, $t:ty) => {
        /// The atomic word at `off`; panics if it is out of bounds or misaligned
        /// (an internal bug: offsets come from validated, cached values).
        pub fn $fn(&self, off: usize) -> &$t {
            let p = self.ptr(off, size_of::<$t>());
            assert!(
                p as usize % align_of::<$t>() == 0,
                "misaligned atomic at {off} in {}",
                self.name
            );
            // SAFETY: in bounds and aligned (checked above); the mapping
            // outlives `&self`; every party accesses this word atomically, so
            // an atomic reference is the sound way to share it.
            unsafe { &*p.cast::<$t>() }
        }
    };
}

impl Region {
    /// Makes a window; `offset + len` must already be validated against the
    /// segment's cached bounds (the caller is the segment's table code).
    pub(crate) fn new(seg: Segment, offset: u64, len: u64, name: &str) -> Region {
        let end = offset.checked_add(len).expect("validated entry");
        assert!(end <= seg.mapped_len() as u64, "validated entry");
        // SAFETY: `offset <= end <= mapped length`, so the pointer stays in
        // (or one past) the mapping.
        let base = unsafe { seg.base_ptr().add(offset as usize) };
        Region {
            seg,
            base,
            len: len as usize,
            offset,
            name: name.to_owned(),
        }
    }

    /// The segment this region belongs to.
    pub fn segment(&self) -> &Segment {
        &self.seg
    }

    /// Table-entry name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Byte length (the entry's registered size).
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the region has no bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Offset from the segment start.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Raw pointer to `[off, off + n)`; panics if that leaves the region.
    pub fn ptr(&self, off: usize, n: usize) -> *mut u8 {
        match off.checked_add(n) {
            Some(end) if end <= self.len => {}
            _ => panic!(
                "access [{off}, +{n}) outside structure {:?} of {} bytes",
                self.name, self.len
            ),
        }
        // SAFETY: `off + n <= len` and the region lies inside the mapping.
        unsafe { self.base.add(off) }
    }

    atomic_accessor!(atomic_u8, AtomicU8);
    atomic_accessor!(atomic_u32, AtomicU32);
    atomic_accessor!(atomic_i32, AtomicI32);
    atomic_accessor!(atomic_u64, AtomicU64);

    /// Volatile copy of a `T` out of `off` (must be aligned for `T`).
    pub fn read<T: ShmElement>(&self, off: usize) -> T {
        let p = self.ptr(off, size_of::<T>()).cast::<T>();
        assert!(p as usize % align_of::<T>() == 0, "misaligned read");
        // SAFETY: in bounds and aligned; every bit pattern is a valid `T`
        // (`ShmElement`), so a value torn by a concurrent writer is still a
        // valid `T`; volatile keeps the compiler from assuming the bytes are
        // stable between reads.
        unsafe { p.read_volatile() }
    }

    /// Volatile copy of `v` into `off` (must be aligned for `T`).
    pub fn write<T: ShmElement>(&self, off: usize, v: T) {
        let p = self.ptr(off, size_of::<T>()).cast::<T>();
        assert!(p as usize % align_of::<T>() == 0, "misaligned write");
        // SAFETY: in bounds and aligned; the bytes are shared memory we may
        // write (the structure's protocol decides when), no reference to them
        // exists.
        unsafe { p.write_volatile(v) }
    }

    /// Copies `out.len()` bytes from `off` into `out`.
    pub fn read_bytes(&self, off: usize, out: &mut [u8]) {
        let p = self.ptr(off, out.len());
        // SAFETY: source range checked by `ptr`; `out` is private memory that
        // cannot overlap the mapping's shared bytes we are reading (a `&mut`
        // to mapping bytes is never created by this crate).
        unsafe { std::ptr::copy_nonoverlapping(p, out.as_mut_ptr(), out.len()) }
    }

    /// Copies `src` into the region at `off`.
    pub fn write_bytes(&self, off: usize, src: &[u8]) {
        let p = self.ptr(off, src.len());
        // SAFETY: destination range checked by `ptr`; `src` is caller memory
        // and cannot alias the destination mutably.
        unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), p, src.len()) }
    }

    /// Sets `[off, off + n)` to zero.
    pub fn zero(&self, off: usize, n: usize) {
        let p = self.ptr(off, n);
        // SAFETY: range checked by `ptr`.
        unsafe { std::ptr::write_bytes(p, 0, n) }
    }

    /// Plain (non-atomic) little-endian u32 read of a field that is written
    /// once at creation, via a volatile load.
    pub fn read_u32(&self, off: usize) -> u32 {
        self.read::<u32>(off)
    }

    /// Plain u64 read (see [`Region::read_u32`]).
    pub fn read_u64(&self, off: usize) -> u64 {
        self.read::<u64>(off)
    }
}

impl Region {
    /// A [`crate::Error::StructureMismatch`] about this structure.
    pub fn mismatch(&self, kind: &'static str, detail: impl Into<String>) -> crate::Error {
        crate::Error::StructureMismatch {
            segment: self.seg.name().to_owned(),
            name: self.name.clone(),
            kind,
            detail: detail.into(),
        }
    }

    /// A [`crate::Error::InvalidArgument`] about an operation on this structure.
    pub fn invalid_argument(&self, kind: &'static str, detail: impl Into<String>) -> crate::Error {
        crate::Error::InvalidArgument {
            segment: self.seg.name().to_owned(),
            name: self.name.clone(),
            kind,
            detail: detail.into(),
        }
    }
}
