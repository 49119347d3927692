//! A bounded window onto one structure's bytes in a mapped segment.
//!
//! Every access is bounds-checked against the window length, which was
//! validated against the mapping when the window was made, so a bug in a
//! structure's offset arithmetic panics instead of touching memory outside
//! the mapping. Shared bytes are only ever reached through atomics: the
//! words with a cross-process protocol through the accessors
//! ([`Region::atomic_u32`] ...), payloads through copies made of relaxed
//! atomic loads and stores ([`Region::read`], [`Region::write_bytes`] ...,
//! see [`copy`]), so a copy that races a peer's write is defined (it may
//! see a mix of old and new bytes, which the structures' protocols detect
//! or exclude) instead of a data race. No `&T`/`&mut T` to shared payload
//! bytes is formed.

use self::atomic::{AtomicI32, AtomicU32, AtomicU64, AtomicU8};
use crate::element::ShmElement;
use crate::segment::Segment;

/// The atomic types [`Region`]'s accessors hand out, and the fence to use
/// with them: `std::sync::atomic`'s in a normal build; under `cfg(loom)`
/// (model checking, `zeroipc/tests/loom.rs`) loom's, so that the
/// structures' real code runs on loom's model of the memory. Structure code
/// names these types through this module. `Ordering` is the same type in
/// both builds.
pub mod atomic {
    #[cfg(loom)]
    pub use super::loom_shadow::{AtomicI32, AtomicU32, AtomicU64, AtomicU8};
    #[cfg(loom)]
    pub use loom::sync::atomic::fence;
    pub use std::sync::atomic::Ordering;
    #[cfg(not(loom))]
    pub use std::sync::atomic::{fence, AtomicI32, AtomicU32, AtomicU64, AtomicU8};
}

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
// which stays alive as long as the Region; all accesses are atomic
// (accessors and atomic copies), so sharing the Region between threads adds
// no data race beyond what the cross-process protocols already handle.
unsafe impl Send for Region {}
// SAFETY: as for `Send`; `&Region` only permits atomic access.
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

#[cfg(not(loom))]
macro_rules! atomic_accessor {
    ($fn:ident, $t:ty, $prim:ty) => {
        /// The atomic word at `off`; panics if it is out of bounds or misaligned
        /// (an internal bug: offsets come from validated, cached values).
        #[inline]
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

#[cfg(loom)]
macro_rules! atomic_accessor {
    ($fn:ident, $t:ty, $prim:ty) => {
        /// The atomic word at `off`; panics if it is out of bounds or misaligned
        /// (an internal bug: offsets come from validated, cached values).
        ///
        /// Loom build: the loom atomic that shadows this word for the current
        /// model execution (see [`loom_shadow`]), primed from the word's
        /// bytes when the Region was made.
        pub fn $fn(&self, off: usize) -> &$t {
            let p = self.ptr(off, size_of::<$prim>());
            assert!(
                p as usize % align_of::<$prim>() == 0,
                "misaligned atomic at {off} in {}",
                self.name
            );
            let shadow = loom_shadow::atomic::<$t>(p as usize, size_of::<$prim>(), || {
                // SAFETY: in bounds and aligned (checked above); only read
                // once, to seed the shadow, while no shadow of it exists.
                <$t>::new(unsafe { p.cast::<$prim>().read_volatile() })
            });
            // SAFETY: the shadow is boxed in the execution's table and never
            // removed or moved until the model execution ends, and a Region
            // used under loom lives inside one execution (loom_shadow doc).
            unsafe { &*shadow }
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
        #[cfg(loom)]
        loom_shadow::prime(base as usize, len as usize);
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
    #[inline]
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
    #[inline]
    pub fn ptr(&self, off: usize, n: usize) -> *mut u8 {
        match off.checked_add(n) {
            Some(end) if end <= self.len => {}
            _ => self.out_of_bounds(off, n),
        }
        // SAFETY: `off + n <= len` and the region lies inside the mapping.
        unsafe { self.base.add(off) }
    }

    atomic_accessor!(atomic_u8, AtomicU8, u8);
    atomic_accessor!(atomic_u32, AtomicU32, u32);

    /// [`Region::atomic_u32`] without the bounds and alignment checks, for
    /// hot paths whose offsets come from values validated when the
    /// structure was opened (a queue's `seq[t & mask]`).
    ///
    /// # Safety
    ///
    /// `off + 4 <= self.len()` and `off` is a multiple of 4 (the region
    /// starts 8-aligned). Debug builds check both.
    #[inline]
    pub unsafe fn atomic_u32_unchecked(&self, off: usize) -> &AtomicU32 {
        #[cfg(loom)]
        return self.atomic_u32(off);
        // SAFETY: the caller's contract is `word_unchecked`'s.
        #[cfg(not(loom))]
        unsafe {
            self.word_unchecked::<AtomicU32>(off)
        }
    }

    /// [`Region::atomic_i32`] without the checks (see
    /// [`Region::atomic_u32_unchecked`]).
    ///
    /// # Safety
    ///
    /// As [`Region::atomic_u32_unchecked`].
    #[inline]
    pub unsafe fn atomic_i32_unchecked(&self, off: usize) -> &AtomicI32 {
        #[cfg(loom)]
        return self.atomic_i32(off);
        // SAFETY: the caller's contract is `word_unchecked`'s.
        #[cfg(not(loom))]
        unsafe {
            self.word_unchecked::<AtomicI32>(off)
        }
    }

    /// The atomic `A` at `off`, unchecked (debug builds check).
    ///
    /// # Safety
    ///
    /// `off + size_of::<A>() <= self.len()` and `base + off` is aligned for `A`.
    #[cfg(not(loom))]
    #[inline]
    unsafe fn word_unchecked<A>(&self, off: usize) -> &A {
        debug_assert!(off
            .checked_add(size_of::<A>())
            .is_some_and(|end| end <= self.len));
        debug_assert!((self.base as usize + off) % align_of::<A>() == 0);
        // SAFETY: in bounds and aligned (the caller's contract); the mapping
        // outlives `&self`; the word is shared, hence accessed atomically.
        unsafe { &*self.base.add(off).cast::<A>() }
    }
    atomic_accessor!(atomic_i32, AtomicI32, i32);
    atomic_accessor!(atomic_u64, AtomicU64, u64);

    /// Copy of a `T` out of `off` (must be aligned for `T`), by relaxed
    /// atomic loads ([`copy::load`]; one load for an aligned 1-, 2-, 4- or
    /// 8-byte `T`).
    #[inline]
    pub fn read<T: ShmElement>(&self, off: usize) -> T {
        let p = self.ptr(off, size_of::<T>());
        assert!(p as usize % align_of::<T>() == 0, "misaligned read");
        #[cfg(loom)]
        loom_shadow::payload(p as usize, size_of::<T>(), false);
        // SAFETY: `[p, p + size_of::<T>())` is inside the mapping (`ptr`)
        // and aligned for `T` (asserted); every bit pattern is a valid `T`
        // (`ShmElement`), so a value torn by a concurrent writer is still a
        // valid `T`.
        unsafe { copy::load_value::<T>(p) }
    }

    /// Copy of `v` into `off` (must be aligned for `T`), by relaxed atomic
    /// stores ([`copy::store`]).
    #[inline]
    pub fn write<T: ShmElement>(&self, off: usize, v: T) {
        let p = self.ptr(off, size_of::<T>());
        assert!(p as usize % align_of::<T>() == 0, "misaligned write");
        #[cfg(loom)]
        loom_shadow::payload(p as usize, size_of::<T>(), true);
        // SAFETY: in bounds (`ptr`) and aligned for `T` (asserted); the bytes
        // are shared memory we may write (the structure's protocol decides
        // when), only ever accessed atomically.
        unsafe { copy::store_value(p, &v) };
        #[cfg(loom)]
        loom_shadow::written(p as usize, size_of::<T>());
    }

    /// Copies `out.len()` bytes from `off` into `out` ([`copy::load`]).
    #[inline]
    pub fn read_bytes(&self, off: usize, out: &mut [u8]) {
        let p = self.ptr(off, out.len());
        #[cfg(loom)]
        loom_shadow::payload(p as usize, out.len(), false);
        // SAFETY: source range checked by `ptr`; `out` is private memory
        // (this crate never forms a `&mut` to mapping bytes), so it cannot
        // overlap the shared bytes read.
        unsafe { copy::load(p, out) }
    }

    /// Copies `src` into the region at `off` ([`copy::store`]).
    #[inline]
    pub fn write_bytes(&self, off: usize, src: &[u8]) {
        let p = self.ptr(off, src.len());
        #[cfg(loom)]
        loom_shadow::payload(p as usize, src.len(), true);
        // SAFETY: destination range checked by `ptr`; `src` is caller memory
        // (a shared borrow: never mapping bytes, see `read_bytes`).
        unsafe { copy::store(p, src) };
        #[cfg(loom)]
        loom_shadow::written(p as usize, src.len());
    }

    /// Sets `[off, off + n)` to zero ([`copy::fill_zero`]).
    pub fn zero(&self, off: usize, n: usize) {
        let p = self.ptr(off, n);
        #[cfg(loom)]
        loom_shadow::payload(p as usize, n, true);
        // SAFETY: range checked by `ptr`.
        unsafe { copy::fill_zero(p, n) };
        #[cfg(loom)]
        loom_shadow::written(p as usize, n);
    }

    /// Plain (non-atomic) little-endian u32 read of a field that is written
    /// once at creation, via a volatile load.
    #[inline]
    pub fn read_u32(&self, off: usize) -> u32 {
        self.read::<u32>(off)
    }

    /// Plain u64 read (see [`Region::read_u32`]).
    #[inline]
    pub fn read_u64(&self, off: usize) -> u64 {
        self.read::<u64>(off)
    }
}

impl Region {
    /// Kept out of line so the bounds check on every access stays small.
    #[cold]
    #[inline(never)]
    fn out_of_bounds(&self, off: usize, n: usize) -> ! {
        panic!(
            "access [{off}, +{n}) outside structure {:?} of {} bytes",
            self.name, self.len
        )
    }

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

/// Payload copies between shared memory and private memory that may race a
/// peer's writes without undefined behaviour.
///
/// Every shared byte is read or written by a relaxed atomic load or store:
/// `AtomicU64` for the 8-aligned middle of a range and the widest aligned
/// `AtomicU32`/`AtomicU16`/`AtomicU8` at its edges, so an aligned 2-, 4- or
/// 8-byte field is copied by one access (never torn), and a racing copy sees
/// each word either before or after a peer's store. Relaxed suffices: the
/// structures order a payload copy against their protocol words with their
/// own acquire/release operations and fences (each structure documents
/// which). A volatile copy would not do: the standard library documents a
/// volatile access that races another access as undefined behaviour.
///
/// Copies of 1 KiB and more on x86-64 use `rep movsb` instead, which is
/// byte-wise atomic in the same sense and as fast as `memcpy` (see the
/// private `bulk` module for why both hold).
///
/// The `atomic-memcpy` crate does the same for a `T` known at compile time
/// only; the structures copy runtime-sized byte ranges (the protocol core,
/// bulk copies), hence this one routine. The other side of each copy is
/// private memory, accessed normally (unaligned where it must be).
pub mod copy {
    use std::sync::atomic::{AtomicU16, AtomicU32, AtomicU64, AtomicU8, Ordering::Relaxed};

    /// Loads one aligned unit of shared memory at `$src` into private `$dst`.
    macro_rules! unit_load {
        ($atomic:ty, $src:expr, $dst:expr) => {{
            let (src, dst) = ($src, $dst);
            // SAFETY: the callers pass a `src` aligned for `$atomic` whose
            // bytes lie in the range the caller of `load` vouched for (shared
            // bytes only ever accessed atomically), and a `dst` with room for
            // the unit in the private buffer (written unaligned).
            unsafe {
                let v = <$atomic>::from_ptr(src as *mut _).load(Relaxed);
                dst.cast::<[u8; size_of::<$atomic>()]>()
                    .write_unaligned(v.to_ne_bytes());
            }
        }};
    }

    /// Stores one aligned unit of private `$src` bytes into shared `$dst`.
    macro_rules! unit_store {
        ($atomic:ty, $int:ty, $dst:expr, $src:expr) => {{
            let (dst, src) = ($dst, $src);
            // SAFETY: as `unit_load`, with `dst` the shared side (aligned for
            // `$atomic`, inside the range vouched for by `store`'s caller).
            unsafe {
                let v =
                    <$int>::from_ne_bytes(src.cast::<[u8; size_of::<$int>()]>().read_unaligned());
                <$atomic>::from_ptr(dst.cast::<$int>()).store(v, Relaxed);
            }
        }};
    }

    /// Copies of 1 KiB and more on x86-64: `rep movsb`.
    ///
    /// Why it is a defined method: an `asm!` block behaves as some Rust code
    /// could; this one reads each source byte once and writes each
    /// destination byte once, and x86 accesses bytes single-copy atomically,
    /// so it behaves as a loop of relaxed `AtomicU8` loads and stores (the
    /// byte-wise atomic memcpy of C++ P1478), with no assumption the
    /// compiler can exploit. Why it is used: relaxed atomic loads are
    /// never merged into vector loads, so the word loop moves 8 bytes per
    /// access and reaches only about 60% of `memcpy` on cache-resident
    /// data (64 KiB), while `rep movsb` (ERMS/FSRM) runs at `memcpy`'s
    /// speed there (bench harness, section 5: `Array::read_into` of 64 KiB
    /// 0.63x `memcpy` with the word loop, 0.92-0.93x with `rep movsb`; of
    /// 8 MiB 0.72x and 0.91-0.95x). Below 1 KiB its start-up cost loses to
    /// the word loop.
    mod bulk {
        /// Smallest copy done with `rep movsb`.
        const MIN: usize = 1 << 10;

        /// Whether `n` bytes go through [`copy`].
        #[inline(always)]
        pub(super) fn fits(n: usize) -> bool {
            cfg!(all(target_arch = "x86_64", not(loom), not(miri))) && n >= MIN
        }

        /// Copies `n` bytes from `src` to `dst` (one side shared memory,
        /// the other private; the ranges do not overlap).
        ///
        /// # Safety
        /// Both ranges valid for `n` bytes (read at `src`, write at `dst`).
        #[cfg(all(target_arch = "x86_64", not(loom), not(miri)))]
        #[inline(always)]
        pub(super) unsafe fn copy(src: *const u8, dst: *mut u8, n: usize) {
            // SAFETY: the caller's ranges; `rep movsb` moves `rcx` bytes
            // from `[rsi]` to `[rdi]` forwards (Rust guarantees the
            // direction flag is clear on entry to an asm block), touching
            // nothing else, and leaves the flags as they were.
            unsafe {
                std::arch::asm!(
                    "rep movsb",
                    inout("rcx") n => _,
                    inout("rsi") src => _,
                    inout("rdi") dst => _,
                    options(nostack, preserves_flags)
                );
            }
        }

        /// Not reached (`fits` is false off x86-64): a byte loop.
        #[cfg(not(all(target_arch = "x86_64", not(loom), not(miri))))]
        pub(super) unsafe fn copy(src: *const u8, dst: *mut u8, n: usize) {
            let _ = (src, dst, n);
            unreachable!("bulk::fits is false on this target");
        }
    }

    /// Width of the next unit at address `addr` with `left` (>= 1) bytes to
    /// go: the widest of 8/4/2/1 that `addr` is aligned to and that fits.
    #[inline(always)]
    fn unit(addr: usize, left: usize) -> usize {
        let mut w = 1 << addr.trailing_zeros().min(3);
        while w > left {
            w /= 2;
        }
        w
    }

    /// Copies `dst.len()` bytes from shared memory at `src` into `dst`.
    ///
    /// # Safety
    /// `[src, src + dst.len())` is valid for reads (mapped), and is only
    /// ever accessed atomically by this process (the crate's rule for
    /// shared bytes).
    #[inline(always)]
    pub unsafe fn load(src: *const u8, dst: &mut [u8]) {
        // The common element sizes, aligned: one or two word loads inline
        // (the protocol cores copy elements of a run-time size through
        // here on every operation).
        let (n, d) = (dst.len(), dst.as_mut_ptr());
        if n == 8 && src as usize % 8 == 0 {
            unit_load!(AtomicU64, src, d);
        } else if n == 4 && src as usize % 4 == 0 {
            unit_load!(AtomicU32, src, d);
        } else if n == 16 && src as usize % 8 == 0 {
            unit_load!(AtomicU64, src, d);
            unit_load!(AtomicU64, src.wrapping_add(8), d.wrapping_add(8));
        } else {
            // SAFETY: the caller's contract, passed on.
            unsafe { load_any(src, dst) }
        }
    }

    /// [`load`] for any length and alignment.
    ///
    /// # Safety
    /// As [`load`].
    #[inline(never)]
    unsafe fn load_any(src: *const u8, dst: &mut [u8]) {
        let n = dst.len();
        let d = dst.as_mut_ptr();
        // Offsets below stay `< n`, so `src + i` and `d + i` stay inside the
        // two ranges (wrapping_add: no pointer arithmetic preconditions).
        let at = |i: usize| (src.wrapping_add(i), d.wrapping_add(i));
        let mut i = 0;
        // Head: narrower units up to the first 8-aligned address.
        while i < n && (src as usize + i) % 8 != 0 {
            let (s, t) = at(i);
            // SAFETY: `unit` picks a width `s` is aligned to and that fits
            // the `n - i` bytes left of both ranges.
            i += unsafe { load_unit(s, t, unit(s as usize, n - i)) };
        }
        if bulk::fits(n - i) {
            // SAFETY: `[src + i, src + n)` is the caller's range (8-aligned
            // start), `[d + i, d + n)` the rest of the private buffer.
            unsafe { bulk::copy(src.wrapping_add(i), d.wrapping_add(i), n - i) };
            return;
        }
        // Middle: 8-byte words, sixteen per round, each loaded and stored
        // at once (one scratch register, no spills); one bound check per
        // 128 bytes keeps the loop at ~2.2 instructions per word (the
        // atomic loads are never merged into vector loads, so a load and a
        // store per word is the floor).
        let rounds_end = i + (n - i) / 128 * 128;
        while i < rounds_end {
            for k in 0..16 {
                let (s, t) = at(i + 8 * k);
                unit_load!(AtomicU64, s, t);
            }
            i += 128;
        }
        while n - i >= 8 {
            let (s, t) = at(i);
            unit_load!(AtomicU64, s, t);
            i += 8;
        }
        // Tail: 4, 2, 1 from an 8-aligned address.
        while i < n {
            let (s, t) = at(i);
            // SAFETY: `unit` picks a width `s` is aligned to and that fits
            // the `n - i` bytes left of both ranges.
            i += unsafe { load_unit(s, t, unit(s as usize, n - i)) };
        }
    }

    /// Loads one unit of `w` bytes (1, 2, 4 or 8). Returns `w`.
    ///
    /// # Safety
    /// `src` aligned to `w` and its `w` bytes inside [`load`]'s range;
    /// `dst` with room for them.
    #[inline(always)]
    unsafe fn load_unit(src: *const u8, dst: *mut u8, w: usize) -> usize {
        match w {
            8 => unit_load!(AtomicU64, src, dst),
            4 => unit_load!(AtomicU32, src, dst),
            2 => unit_load!(AtomicU16, src, dst),
            _ => unit_load!(AtomicU8, src, dst),
        }
        w
    }

    /// Stores one unit of `w` bytes. Returns `w`.
    ///
    /// # Safety
    /// As [`load_unit`], with `dst` the shared side (inside [`store`]'s range).
    #[inline(always)]
    unsafe fn store_unit(dst: *mut u8, src: *const u8, w: usize) -> usize {
        match w {
            8 => unit_store!(AtomicU64, u64, dst, src),
            4 => unit_store!(AtomicU32, u32, dst, src),
            2 => unit_store!(AtomicU16, u16, dst, src),
            _ => unit_store!(AtomicU8, u8, dst, src),
        }
        w
    }

    /// Copies `src` into shared memory at `dst`.
    ///
    /// # Safety
    /// `[dst, dst + src.len())` is valid for writes (mapped read-write) and
    /// only ever accessed atomically by this process.
    #[inline(always)]
    pub unsafe fn store(dst: *mut u8, src: &[u8]) {
        // As in `load`: the common aligned element sizes inline.
        let (n, s) = (src.len(), src.as_ptr());
        if n == 8 && dst as usize % 8 == 0 {
            unit_store!(AtomicU64, u64, dst, s);
        } else if n == 4 && dst as usize % 4 == 0 {
            unit_store!(AtomicU32, u32, dst, s);
        } else if n == 16 && dst as usize % 8 == 0 {
            unit_store!(AtomicU64, u64, dst, s);
            unit_store!(AtomicU64, u64, dst.wrapping_add(8), s.wrapping_add(8));
        } else {
            // SAFETY: the caller's contract, passed on.
            unsafe { store_any(dst, src) }
        }
    }

    /// [`store`] for any length and alignment.
    ///
    /// # Safety
    /// As [`store`].
    #[inline(never)]
    unsafe fn store_any(dst: *mut u8, src: &[u8]) {
        let n = src.len();
        let s = src.as_ptr();
        let at = |i: usize| (dst.wrapping_add(i), s.wrapping_add(i));
        let mut i = 0;
        while i < n && (dst as usize + i) % 8 != 0 {
            let (t, f) = at(i);
            // SAFETY: as in `load`, for the shared side `t`.
            i += unsafe { store_unit(t, f, unit(t as usize, n - i)) };
        }
        if bulk::fits(n - i) {
            // SAFETY: as in `load`, with the shared side `dst + i`.
            unsafe { bulk::copy(s.wrapping_add(i), dst.wrapping_add(i), n - i) };
            return;
        }
        // As in `load_any`: sixteen words per round, one bound check.
        let rounds_end = i + (n - i) / 128 * 128;
        while i < rounds_end {
            for k in 0..16 {
                let (t, f) = at(i + 8 * k);
                unit_store!(AtomicU64, u64, t, f);
            }
            i += 128;
        }
        while n - i >= 8 {
            let (t, f) = at(i);
            unit_store!(AtomicU64, u64, t, f);
            i += 8;
        }
        while i < n {
            let (t, f) = at(i);
            // SAFETY: as in `load`, for the shared side `t`.
            i += unsafe { store_unit(t, f, unit(t as usize, n - i)) };
        }
    }

    /// Sets `n` shared bytes at `dst` to zero.
    ///
    /// # Safety
    /// As [`store`], for `[dst, dst + n)`.
    pub unsafe fn fill_zero(dst: *mut u8, n: usize) {
        const ZEROS: [u8; 256] = [0; 256];
        let mut i = 0;
        while i < n {
            let k = (n - i).min(ZEROS.len());
            // SAFETY: `[dst + i, dst + i + k)` is inside the caller's range.
            unsafe { store(dst.add(i), &ZEROS[..k]) };
            i += k;
        }
    }

    /// A `T` copied out of `src`.
    ///
    /// # Safety
    /// As [`load`] for `size_of::<T>()` bytes, and `src` aligned for `T`.
    #[inline(always)]
    pub(crate) unsafe fn load_value<T: crate::ShmElement>(src: *const u8) -> T {
        // Sizes and alignments are constants, so one arm survives: an
        // aligned primitive is a single load, as a volatile read was.
        // SAFETY: `src` is aligned for `T`, hence for the unit of the arm
        // taken, and `transmute_copy` reads `size_of::<T>()` bytes of an
        // integer of that size; every bit pattern is a valid `T`
        // (`ShmElement`), so any value read is a `T`.
        unsafe {
            match (size_of::<T>(), align_of::<T>()) {
                (8, 8) => {
                    std::mem::transmute_copy(&AtomicU64::from_ptr(src as *mut u64).load(Relaxed))
                }
                (4, 4) => {
                    std::mem::transmute_copy(&AtomicU32::from_ptr(src as *mut u32).load(Relaxed))
                }
                (2, 2) => {
                    std::mem::transmute_copy(&AtomicU16::from_ptr(src as *mut u16).load(Relaxed))
                }
                (1, 1) => {
                    std::mem::transmute_copy(&AtomicU8::from_ptr(src as *mut u8).load(Relaxed))
                }
                _ => {
                    let mut v = std::mem::MaybeUninit::<T>::zeroed();
                    // A zeroed `T` is a valid `T`, so its bytes may be
                    // viewed and overwritten as a private slice.
                    let bytes =
                        std::slice::from_raw_parts_mut(v.as_mut_ptr().cast::<u8>(), size_of::<T>());
                    load(src, bytes);
                    v.assume_init()
                }
            }
        }
    }

    /// Copies `v` into shared memory at `dst`.
    ///
    /// # Safety
    /// As [`store`] for `size_of::<T>()` bytes, and `dst` aligned for `T`.
    #[inline(always)]
    pub(crate) unsafe fn store_value<T: crate::ShmElement>(dst: *mut u8, v: &T) {
        // SAFETY: as `load_value`; `transmute_copy` reads the
        // `size_of::<T>()` initialised bytes of `v` (no padding in a
        // `ShmElement`) as an integer of the same size.
        unsafe {
            match (size_of::<T>(), align_of::<T>()) {
                (8, 8) => {
                    AtomicU64::from_ptr(dst.cast()).store(std::mem::transmute_copy(v), Relaxed)
                }
                (4, 4) => {
                    AtomicU32::from_ptr(dst.cast()).store(std::mem::transmute_copy(v), Relaxed)
                }
                (2, 2) => {
                    AtomicU16::from_ptr(dst.cast()).store(std::mem::transmute_copy(v), Relaxed)
                }
                (1, 1) => AtomicU8::from_ptr(dst).store(std::mem::transmute_copy(v), Relaxed),
                _ => store(dst, crate::element::bytes_of(v)),
            }
        }
    }
}

/// Model-checking support (`cfg(loom)` builds only).
///
/// Loom can only explore interleavings of operations on its own atomics, so
/// in a loom build every shared word a [`Region`] hands out is *shadowed* by a
/// loom atomic, kept in a per-execution table (a `loom::lazy_static`, dropped
/// when the model execution ends) and returned by `atomic_u8/u32/i32/u64`
/// instead of a reference into the mapping. The structures' real code thus
/// runs unchanged on loom's memory model.
///
/// - **Priming.** Making a Region shadows every naturally aligned word of it
///   in every width the accessors offer (u8, u32, i32, u64), seeded from the
///   mapping's bytes. Regions are made where structures are created or
///   opened (the model's main thread, before it spawns), so each shadow's
///   creation happens-before every model thread (loom treats an atomic's
///   creation as a non-atomic write that every access must follow).
/// - **Use.** A shadow becomes *used* when an accessor hands it out. Two used
///   shadows that overlap must be the same word and width (a `u32` futex key
///   over an `i32` counter is tolerated: in this build the key only names
///   a sleep, which is a `loom::thread::yield_now`); anything else panics
///   (mixed-width atomic access would not be modelled).
/// - **Volatile copies.** A `read`/`write`/`read_bytes`/`write_bytes`/`zero`
///   overlapping a used shadow panics (it would see or change stale bytes). A
///   volatile write over unused shadows re-seeds them (so header fields
///   written at creation start out right).
/// - **Payload races.** Each volatile copy is reported to a
///   `loom::cell::UnsafeCell<()>` keyed by its start address, so loom flags a
///   payload read and write (or two writes) that no happens-before edge
///   orders: the missing Release/Acquire bug class. Copies with different
///   start addresses are not compared. [`set_payload_tracking`] turns this
///   off for a structure whose readers race with writers by design.
///
/// A Region used under loom must be made and dropped inside one execution
/// (create the segment and structures inside the model closure).
#[cfg(loom)]
pub mod loom_shadow {
    use std::any::{Any, TypeId};
    use std::collections::BTreeMap;
    use std::sync::atomic::Ordering;
    use std::sync::Mutex;

    struct Shadow {
        ty: TypeId,
        width: usize,
        used: bool,
        obj: Box<dyn Any + Send + Sync>,
    }

    struct Table {
        /// address -> the shadows starting there (one per type).
        shadows: BTreeMap<usize, Vec<Shadow>>,
        /// start address -> race tracker of the volatile copies there.
        cells: BTreeMap<usize, Box<loom::cell::UnsafeCell<()>>>,
        track_payload: bool,
        seqcst_fences: bool,
    }

    loom::lazy_static! {
        static ref TABLE: Mutex<Table> = Mutex::new(Table {
            shadows: BTreeMap::new(),
            cells: BTreeMap::new(),
            track_payload: true,
            seqcst_fences: false,
        });
    }

    fn table() -> std::sync::MutexGuard<'static, Table> {
        TABLE.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reads `N` bytes at `addr` (inside a live Region's mapping).
    fn bytes<const N: usize>(addr: usize) -> [u8; N] {
        // SAFETY: callers pass addresses inside a Region, checked by
        // `Region::ptr`; the bytes are only copied.
        unsafe { (addr as *const [u8; N]).read_volatile() }
    }

    fn new_shadow(ty: TypeId, addr: usize) -> Shadow {
        let (width, obj): (usize, Box<dyn Any + Send + Sync>) = if ty == TypeId::of::<AtomicU8>() {
            (1, Box::new(AtomicU8::new(bytes::<1>(addr)[0])))
        } else if ty == TypeId::of::<AtomicU32>() {
            (4, Box::new(AtomicU32::new(u32::from_ne_bytes(bytes(addr)))))
        } else if ty == TypeId::of::<AtomicI32>() {
            (4, Box::new(AtomicI32::new(i32::from_ne_bytes(bytes(addr)))))
        } else if ty == TypeId::of::<AtomicU64>() {
            (8, Box::new(AtomicU64::new(u64::from_ne_bytes(bytes(addr)))))
        } else {
            unreachable!("no shadow type")
        };
        Shadow {
            ty,
            width,
            used: false,
            obj,
        }
    }

    fn types_for(addr: usize, room: usize) -> impl Iterator<Item = TypeId> {
        let mut v = vec![TypeId::of::<AtomicU8>()];
        if addr % 4 == 0 && room >= 4 {
            v.push(TypeId::of::<AtomicU32>());
            v.push(TypeId::of::<AtomicI32>());
        }
        if addr % 8 == 0 && room >= 8 {
            v.push(TypeId::of::<AtomicU64>());
        }
        v.into_iter()
    }

    /// Shadows every aligned word of `[base, base + len)` not shadowed yet.
    pub(crate) fn prime(base: usize, len: usize) {
        let mut t = table();
        for addr in base..base + len {
            for ty in types_for(addr, base + len - addr) {
                let list = t.shadows.entry(addr).or_default();
                if !list.iter().any(|s| s.ty == ty) {
                    list.push(new_shadow(ty, addr));
                }
            }
        }
    }

    /// Turns the payload race tracking on (the default at the start of each
    /// execution) or off, for the rest of the current execution.
    pub fn set_payload_tracking(on: bool) {
        table().track_payload = on;
    }

    /// Chooses how `SeqCst` accesses of the shadows are modelled for the rest
    /// of the current execution. Off (the default): as loom models them,
    /// like `AcqRel` (loom README, "Unsupported features"), which is weaker
    /// than C++: a Dekker-style argument resting on the single total order
    /// of `SeqCst` operations then shows false counterexamples. On: each
    /// `SeqCst` access becomes `fence(SeqCst)`, the access with
    /// Acquire/Release/AcqRel, `fence(SeqCst)`. Loom models `SeqCst`
    /// fences (as a total order that also carries happens-before), so this
    /// is at least as strong as C++ `SeqCst` accesses: it can hide a bug that
    /// needs a reordering C++ allows around a `SeqCst` access, but it finds
    /// no false one of that kind.
    pub fn set_seqcst_as_fences(on: bool) {
        table().seqcst_fences = on;
    }

    fn seqcst_fences() -> bool {
        table().seqcst_fences
    }

    /// Runs `op` with `order`, or with `weak` between two `SeqCst` fences
    /// when `order` is `SeqCst` and [`set_seqcst_as_fences`] is on.
    fn sc<R>(order: Ordering, weak: Ordering, op: impl FnOnce(Ordering) -> R) -> R {
        if order == Ordering::SeqCst && seqcst_fences() {
            loom::sync::atomic::fence(Ordering::SeqCst);
            let r = op(weak);
            loom::sync::atomic::fence(Ordering::SeqCst);
            r
        } else {
            op(order)
        }
    }

    /// The failure ordering of a CAS run as `weak` (its load part).
    fn fail_order(order: Ordering, failure: Ordering) -> Ordering {
        if order == Ordering::SeqCst && failure == Ordering::SeqCst {
            Ordering::Acquire
        } else {
            failure
        }
    }

    macro_rules! shadow_atomic {
        ($name:ident, $prim:ty) => {
            /// Loom build: the shadow of one shared word (a loom atomic; see
            /// the module doc), with the `std` atomic methods the crate uses.
            #[derive(Debug)]
            pub struct $name(loom::sync::atomic::$name);

            impl $name {
                /// A shadow holding `v`.
                pub fn new(v: $prim) -> Self {
                    Self(loom::sync::atomic::$name::new(v))
                }
                /// As `std`'s `load`.
                pub fn load(&self, order: Ordering) -> $prim {
                    sc(order, Ordering::Acquire, |o| self.0.load(o))
                }
                /// As `std`'s `store`.
                pub fn store(&self, v: $prim, order: Ordering) {
                    sc(order, Ordering::Release, |o| self.0.store(v, o))
                }
                /// As `std`'s `swap`.
                pub fn swap(&self, v: $prim, order: Ordering) -> $prim {
                    sc(order, Ordering::AcqRel, |o| self.0.swap(v, o))
                }
                /// As `std`'s `fetch_add`.
                pub fn fetch_add(&self, v: $prim, order: Ordering) -> $prim {
                    sc(order, Ordering::AcqRel, |o| self.0.fetch_add(v, o))
                }
                /// As `std`'s `fetch_sub`.
                pub fn fetch_sub(&self, v: $prim, order: Ordering) -> $prim {
                    sc(order, Ordering::AcqRel, |o| self.0.fetch_sub(v, o))
                }
                /// As `std`'s `compare_exchange`.
                pub fn compare_exchange(
                    &self,
                    current: $prim,
                    new: $prim,
                    success: Ordering,
                    failure: Ordering,
                ) -> Result<$prim, $prim> {
                    let f = fail_order(success, failure);
                    sc(success, Ordering::AcqRel, |o| {
                        self.0.compare_exchange(
                            current,
                            new,
                            o,
                            if o == success { failure } else { f },
                        )
                    })
                }
                /// As `std`'s `compare_exchange_weak` (loom never fails it
                /// spuriously).
                pub fn compare_exchange_weak(
                    &self,
                    current: $prim,
                    new: $prim,
                    success: Ordering,
                    failure: Ordering,
                ) -> Result<$prim, $prim> {
                    self.compare_exchange(current, new, success, failure)
                }
                /// As `std`'s `fetch_update`.
                pub fn fetch_update<F>(
                    &self,
                    set_order: Ordering,
                    fetch_order: Ordering,
                    mut f: F,
                ) -> Result<$prim, $prim>
                where
                    F: FnMut($prim) -> Option<$prim>,
                {
                    let mut prev = self.load(fetch_order);
                    while let Some(next) = f(prev) {
                        match self.compare_exchange_weak(prev, next, set_order, fetch_order) {
                            Ok(x) => return Ok(x),
                            Err(next_prev) => prev = next_prev,
                        }
                    }
                    Err(prev)
                }
            }
        };
    }

    shadow_atomic!(AtomicU8, u8);
    shadow_atomic!(AtomicU32, u32);
    shadow_atomic!(AtomicI32, i32);
    shadow_atomic!(AtomicU64, u64);

    /// Used shadows overlapping `[addr, addr + n)`: (address, width, type).
    fn used_overlaps(t: &Table, addr: usize, n: usize) -> Vec<(usize, usize, TypeId)> {
        t.shadows
            .range(addr.saturating_sub(7)..addr + n)
            .flat_map(|(&a, list)| {
                list.iter()
                    .filter(move |s| s.used && a + s.width > addr)
                    .map(move |s| (a, s.width, s.ty))
            })
            .collect()
    }

    /// The shadow of the `width`-byte word at `addr` as `A` (made by `make`
    /// if the word was never primed). Valid until the execution ends.
    pub(crate) fn atomic<A: Any + Send + Sync>(
        addr: usize,
        width: usize,
        make: impl FnOnce() -> A,
    ) -> *const A {
        let mut t = table();
        let ty = TypeId::of::<A>();
        for (a, w, other) in used_overlaps(&t, addr, width) {
            if (a, other) != (addr, ty) && (a, w) != (addr, width) {
                panic!(
                    "loom model: atomic access of [{addr:#x}, +{width}) overlaps the \
                     {w}-byte atomic word at {a:#x} (mixed-width access is not modelled)"
                );
            }
        }
        let list = t.shadows.entry(addr).or_default();
        let i = match list.iter().position(|s| s.ty == ty) {
            Some(i) => i,
            None => {
                list.push(Shadow {
                    ty,
                    width,
                    used: false,
                    obj: Box::new(make()),
                });
                list.len() - 1
            }
        };
        let s = &mut list[i];
        s.used = true;
        s.obj.downcast_ref::<A>().expect("shadow of its own type") as *const A
    }

    /// Before a volatile copy of `[addr, addr + n)`: checks it touches no
    /// used shadow and reports it to the race tracker.
    pub(crate) fn payload(addr: usize, n: usize, write: bool) {
        if n == 0 {
            return;
        }
        let cell: *const loom::cell::UnsafeCell<()> = {
            let mut t = table();
            if let Some(&(a, w, _)) = used_overlaps(&t, addr, n).first() {
                panic!(
                    "loom model: non-atomic {} of [{addr:#x}, +{n}) overlaps the atomic word \
                     [{a:#x}, +{w}), whose bytes in the mapping are stale in this build",
                    if write { "write" } else { "read" }
                );
            }
            if !t.track_payload {
                return;
            }
            let c = t
                .cells
                .entry(addr)
                .or_insert_with(|| Box::new(loom::cell::UnsafeCell::new(())));
            &**c as *const _
        };
        // SAFETY: boxed in the execution's table, never removed before it
        // ends; the lock is released first because a race report panics.
        let cell = unsafe { &*cell };
        if write {
            cell.with_mut(|_| ());
        } else {
            cell.with(|_| ());
        }
    }

    /// After a volatile write of `[addr, addr + n)`: re-seeds the (unused)
    /// shadows it overlaps from the new bytes.
    pub(crate) fn written(addr: usize, n: usize) {
        let mut t = table();
        let starts: Vec<usize> = t
            .shadows
            .range(addr.saturating_sub(7)..addr + n)
            .map(|(&a, _)| a)
            .collect();
        for a in starts {
            let list = t.shadows.get_mut(&a).expect("listed");
            for s in list.iter_mut() {
                if a + s.width > addr {
                    debug_assert!(!s.used, "checked before the write");
                    *s = new_shadow(s.ty, a);
                }
            }
        }
    }
}
