//! `Map<K, V>`: a fixed-capacity open-addressing hash map (FORMAT.md §4,
//! REFERENCE-NOTES §3), byte- and protocol-compatible with the ZeroIPC C++
//! reference `map.h` (not with the Python `Map`, whose layout and hash
//! differ; REFERENCE-NOTES §3.5).
//!
//! # Layout
//!
//! | off | field | notes |
//! |---|---|---|
//! | 0 | size: atomic u32 | OCCUPIED entries (see "Size" below) |
//! | 4 | capacity: u32 | slot count, exactly as created (no rounding), > 0 |
//! | 8 | key_size: u32 | `size_of::<K>()` |
//! | 12 | value_size: u32 | `size_of::<V>()` (at most 8) |
//! | 16 | slots | `capacity` entries `{state: atomic u32; K; V}` in C layout |
//!
//! Slot: `state` at 0, key at `ko = align_up(4, align K)`, value at
//! `vo = align_up(ko + size K, align V)`, stride
//! `E = align_up(vo + size V, max(4, align K, align V))`; entry size
//! `16 + E * capacity`. States: EMPTY 0, OCCUPIED 1, DELETED 2 (tombstone,
//! still holding the old key and value), INSERTING 3 (an exclusive claim on
//! the slot's key and value bytes).
//!
//! Hash: [`crate::hash::key_hash`] (the C++ `trivial_hash` as built with
//! libstdc++), linear probing: probe `i` visits `(h + i) mod 2^64 mod
//! capacity` for `i < capacity`. Key equality as C++ defines it
//! (`==` for floats, bytes otherwise, as C++), so a NaN key is never found
//! and `0.0`/`-0.0` compare equal but hash to different chains (a C++
//! quirk we keep for interoperability).
//!
//! # Protocol (as a C++ peer sees it) and what we fix
//!
//! The state transitions are the reference's: an inserter claims an EMPTY or
//! DELETED slot with a CAS to INSERTING, writes key and value and publishes
//! OCCUPIED with a release store; an update claims an OCCUPIED slot with a
//! CAS to INSERTING, writes the value and stores OCCUPIED back. A C++ peer
//! therefore stays correct beside us. The reference's defects
//! (REFERENCE-NOTES §14 items 11-13) are fixed on our side as follows.
//!
//! **No duplicate keys among our processes (item 11).** An insert of an
//! absent key runs in three phases:
//!
//! 1. *Scan* the probe chain (SeqCst loads of the states) as the reference
//!    does: an OCCUPIED slot with the key means update; remember the first
//!    DELETED slot; stop at the first EMPTY one. The target is the first
//!    DELETED slot, else the EMPTY one; none means full.
//! 2. *Claim* the target: SeqCst CAS from the state seen to INSERTING, then
//!    write key and value.
//! 3. *Re-scan* the chain from its start up to the first EMPTY slot (SeqCst
//!    loads), skipping our own slot. An OCCUPIED slot holding the key means
//!    someone else published it: give our claim back (store DELETED) and
//!    retry, which updates that entry. An INSERTING slot may be another
//!    insert of the same key: if it lies *before* ours in the chain we wait
//!    (up to 1 ms) for it to settle while holding our claim, then
//!    re-examine it; if it lies *after* ours we only spin briefly. If it
//!    does not settle we give our claim back, wait for that slot without
//!    holding anything, and retry. Only a clean re-scan publishes:
//!    `size += 1`, then OCCUPIED with a release store.
//!
//! Why two of our inserts of the same key `k` cannot both publish: they
//! probe the same chain and claim slots `a` and `b` with SeqCst CASes
//! `C_a`, `C_b`. Say `C_b` comes second in the single total order `S` of
//! SeqCst operations. The re-scan that follows `C_b` loads slot `a`'s state
//! (SeqCst, after `C_b` and so after `C_a` in `S`). That load cannot read a
//! value older than `C_a`: it would then be coherence-ordered before `C_a`
//! and would have to precede it in `S` (C++20 [atomics.order]/4). So it
//! sees `a` INSERTING (then `b` waits or gives its claim back), OCCUPIED
//! with `k` (`b` gives back), or in a state where `a` no longer holds a
//! published `k` (given back, or erased after publication); in no case are
//! two `k`s published at once. The re-scan does reach `a` rather than
//! stopping at an EMPTY slot first: every slot before `a` in the chain was
//! seen non-EMPTY by `a`'s SeqCst scan before `C_a`, by the same argument
//! `b`'s re-scan sees it non-EMPTY too, and a slot never returns to EMPTY
//! (we give claims back as DELETED, never EMPTY; only the C++ `clear()`,
//! documented there as not concurrent-safe, stores EMPTY). No two inserts
//! wait for each other with claims held for long: for one key, the owner
//! of the earlier slot only spins briefly on the later one before giving
//! back; for different keys whose chains wrap around each other, both wait
//! at most 1 ms and then give back. Giving a claim back as DELETED instead
//! of EMPTY can leave an extra tombstone after a race; tombstones are
//! reused by later inserts.
//!
//! The one gap left: a slot that stays INSERTING for longer than
//! [`STUCK_SLOT_WAIT`] is presumed to belong to a dead process and skipped,
//! as the reference skips after 10 000 spins; if that process was merely
//! stalled that long mid-insert of the same key, a duplicate can still
//! arise. C++ peers do not re-scan, so they can still create duplicates
//! among themselves or against us; we neither prevent nor repair those
//! (lookups and updates use the first one in the chain).
//!
//! **No torn or wrong-key reads (item 12).** A lookup claims the slot it
//! found (OCCUPIED -> INSERTING, acquire), checks the key, copies the value
//! and hands the slot back (OCCUPIED, release): while claimed nobody else
//! writes it, so the copy is exact. An optimistic copy validated by
//! re-reading the state word (a seqlock) is not enough here: the format has
//! no version counter, so a slot erased and refilled twice between the
//! reader's loads is invisible to it, and a unit test recycling one slot
//! between two keys did see one wrong-key value in about 450,000 lookups that
//! way. The price is that lookups write the state word (readers of one slot
//! serialise for a few nanoseconds); C++ peers already treat INSERTING as a
//! short exclusive hold and wait for it. A lookup killed while holding its
//! claim leaves the slot INSERTING, like a killed writer (see below).
//! Iteration ([`Map::iter`], [`crate::Set::iter`]) reads every slot through
//! the same claimed copy (`HashSlots::claimed_copy`, the one routine that
//! reads a slot's key and value): its earlier optimistic copy, validated by
//! re-reading the state and the key, returned pairs that were never in the
//! map (`(1, B)` after `(1, A)` and `(2, B)` alternated in one slot; 4 to 11
//! in 2.5 s of `tests/regress_codata_map.rs`).
//! A removal claims the slot (OCCUPIED ->
//! INSERTING, which C++ peers already treat as an update in progress),
//! checks the key, copies the value out and stores DELETED, so it returns
//! exactly the value it removed; an update likewise re-checks the key after
//! its claim (the reference updates whatever key the slot holds by then).
//!
//! **Size (item 13).** We add 1 to `size` *before* publishing OCCUPIED and
//! subtract 1 after claiming an OCCUPIED slot for removal. A removal of an
//! entry we published therefore always follows its increment in `size`'s
//! modification order (release publish, acquire claim), so our own
//! operations never wrap `size` below zero; a C++ inserter still increments
//! after publishing, so a racing removal of its fresh entry can wrap `size`
//! for a moment. [`Map::len`] reads `size` as signed and clamps it to
//! `0..=capacity`.
//!
//! **Bounded waits.** Every wait on an INSERTING slot is
//! bounded by [`STUCK_SLOT_WAIT`]; the slot is then skipped for the rest of
//! that call. A peer that died mid-insert thus costs each later operation
//! probing through its slot one bounded wait, never a hang.
//!
//! **Opening the wrong kind.** The format has no kind tag: a `Set<u32>` and
//! a `Stack<u32>` of the same even capacity have the same entry size and
//! the same words at +4 (capacity), +8 (element size) and +12 (0). Open
//! (Map and Set) therefore also checks what the format does promise:
//! `size` within `0..=capacity` (re-read for up to 20 ms, since a C++
//! inserter's count can lag a racing removal; an empty stack's top of -1
//! reads as 4294967295) and every slot state within 0..=3 (one load per
//! slot; a stack's element bytes usually fail it). What cannot be told: a
//! non-empty stack whose element words happen to be 0..=3, or any entry of
//! the right size whose bytes happen to satisfy both checks, opens as a
//! set; a map whose `size` was left below zero for good (a C++ inserter
//! killed between publishing and counting, its entry then removed) is
//! refused although it is a map.
//!
//! There is no `clear()`: emptying the slots is only correct while no other
//! process uses the map, which the format cannot enforce (create a new map
//! instead).

use crate::element::{bytes_of, from_bytes, key_eq, ShmElement};
use crate::error::{Error, Result};
use crate::hash::{key_hash, probe_slot};
use crate::region::atomic::{fence, AtomicU32};
use crate::region::Region;
use crate::segment::Segment;
use crate::wait::wait_until;
use std::marker::PhantomData;
// Process-local counters and the u16 value word stay std atomics.
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::time::Duration;

const KIND: &str = "map";

/// Slot state: never used (end of every probe chain through it).
pub(crate) const EMPTY: u32 = 0;
/// Slot state: holds a published key and value.
pub(crate) const OCCUPIED: u32 = 1;
/// Slot state: tombstone (key and value bytes are stale).
pub(crate) const DELETED: u32 = 2;
/// Slot state: claimed by one writer for an insert, update or removal.
pub(crate) const INSERTING: u32 = 3;

/// Header bytes before the first slot.
pub(crate) const HEADER: usize = 16;

/// How long an operation waits for a slot to leave INSERTING before it
/// presumes the claimer dead and skips the slot (the reference gives up after
/// 10 000 `yield`s).
pub const STUCK_SLOT_WAIT: Duration = Duration::from_millis(100);

/// How long a re-scan waits, holding its own claim, for an INSERTING slot
/// earlier in the chain before giving its claim back.
const HOLD_WAIT: Duration = Duration::from_millis(1);

/// Spins a re-scan gives an INSERTING slot later in the chain before giving
/// its claim back.
const FOLLOW_SPINS: u32 = 64;

/// How long an open re-reads a `size` word outside `0..=capacity` (a C++
/// inserter's window between publishing and counting) before refusing.
const SIZE_SETTLE_WAIT: Duration = Duration::from_millis(20);

/// Consecutive failed validations of one slot before a lookup moves on.
const MAX_READ_RETRIES: u32 = 10_000;

const fn align_up(n: usize, a: usize) -> usize {
    (n + a - 1) & !(a - 1)
}

const fn max(a: usize, b: usize) -> usize {
    if a > b {
        a
    } else {
        b
    }
}

static RACES_DUPLICATE: AtomicU64 = AtomicU64::new(0);
static RACES_YIELD: AtomicU64 = AtomicU64::new(0);
static STUCK_SKIPS: AtomicU64 = AtomicU64::new(0);

/// Process-local counters of how often this process's Map/Set inserts had
/// to resolve a race (diagnostics; they count events, they guard nothing).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InsertRaces {
    /// Claims given back because the re-scan found the key published
    /// elsewhere (each one is a duplicate key the reference would have made).
    pub duplicates: u64,
    /// Claims given back because the re-scan met another claim it could not
    /// wait out.
    pub yields: u64,
    /// Slots skipped after staying INSERTING for [`STUCK_SLOT_WAIT`].
    pub stuck_skips: u64,
}

/// The counters of [`InsertRaces`] since this process started.
pub fn insert_races() -> InsertRaces {
    InsertRaces {
        duplicates: RACES_DUPLICATE.load(Ordering::Relaxed),
        yields: RACES_YIELD.load(Ordering::Relaxed),
        stuck_skips: STUCK_SKIPS.load(Ordering::Relaxed),
    }
}

/// Offsets inside one slot (C struct rules, REFERENCE-NOTES §3.1 and §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SlotLayout {
    /// Key offset in the slot.
    pub key_off: usize,
    /// Value offset in the slot.
    pub val_off: usize,
    /// Slot stride.
    pub stride: usize,
    /// Key bytes.
    pub key_size: usize,
    /// Value bytes (0 for a Set).
    pub val_size: usize,
}

impl SlotLayout {
    /// The C layout of `struct { atomic<u32> state; K key; V value; }`.
    pub(crate) const fn new(
        key_size: usize,
        key_align: usize,
        val_size: usize,
        val_align: usize,
    ) -> SlotLayout {
        let key_off = align_up(4, key_align);
        let val_off = align_up(key_off + key_size, val_align);
        let stride = align_up(val_off + val_size, max(4, max(key_align, val_align)));
        SlotLayout {
            key_off,
            val_off,
            stride,
            key_size,
            val_size,
        }
    }

    /// Map slot `{state; K; V}`.
    pub(crate) const fn map<K: ShmElement, V: ShmElement>() -> SlotLayout {
        Self::new(
            size_of::<K>(),
            align_of::<K>(),
            size_of::<V>(),
            align_of::<V>(),
        )
    }

    /// Set slot `{state; T}`: a map slot with a zero-sized value.
    pub(crate) const fn set<T: ShmElement>() -> SlotLayout {
        Self::new(size_of::<T>(), align_of::<T>(), 0, 1)
    }

    /// Entry size for `capacity` slots.
    pub(crate) fn total(&self, capacity: u64) -> Option<u64> {
        capacity
            .checked_mul(self.stride as u64)?
            .checked_add(HEADER as u64)
    }
}

/// A value copied out of a slot (at most 8 bytes; the first `val_size` count).
pub(crate) type ValBuf = [u8; 8];

/// Result of [`HashSlots::insert`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SlotInsert {
    /// A new entry was published.
    New,
    /// The key was already there (updated if asked to).
    Existing,
    /// No EMPTY or DELETED slot on the chain.
    Full,
}

/// What a re-scan found.
enum Rescan {
    /// No other entry or claim for the key: publish.
    Clear,
    /// The key is OCCUPIED elsewhere.
    Duplicate,
    /// Another claim is in the way: back off, wait for that slot, retry.
    Yield(u64),
}

/// The open-addressing slot machinery shared by [`Map`] and
/// [`crate::data::set::Set`]: one validated region, its cached capacity and
/// slot layout. Values are handled as raw bytes (`val_size <= 8`).
pub(crate) struct HashSlots {
    region: Region,
    capacity: u64,
    layout: SlotLayout,
}

impl std::fmt::Debug for HashSlots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashSlots")
            .field("region", &self.region)
            .field("capacity", &self.capacity)
            .field("layout", &self.layout)
            .finish()
    }
}

impl HashSlots {
    /// Checks a creation capacity and returns the entry size.
    pub(crate) fn size_for(
        seg: &Segment,
        kind: &str,
        name: &str,
        layout: SlotLayout,
        capacity: usize,
    ) -> Result<u64> {
        let bad = |why: String| Error::InvalidParameter {
            segment: seg.name().to_owned(),
            what: format!("{kind} {name:?}: {why}"),
        };
        if capacity == 0 {
            return Err(bad("capacity must be at least 1".into()));
        }
        if capacity > u32::MAX as usize {
            return Err(bad(format!(
                "capacity {capacity} does not fit the u32 capacity field"
            )));
        }
        layout.total(capacity as u64).ok_or_else(|| {
            bad(format!(
                "capacity {capacity} x slot size {} overflows",
                layout.stride
            ))
        })
    }

    /// Writes a fresh header into zeroed bytes (every state is already EMPTY).
    pub(crate) fn init_region(region: &Region, capacity: u32, word8: u32, word12: u32) {
        region.atomic_u32(0).store(0, Ordering::Relaxed);
        region.write::<u32>(4, capacity);
        region.write::<u32>(8, word8);
        region.write::<u32>(12, word12);
    }

    /// Validates a header against the entry size and the expected words at
    /// +8 and +12, and caches the capacity.
    pub(crate) fn from_region(
        region: Region,
        kind: &'static str,
        layout: SlotLayout,
        word8: (&str, u32),
        word12: (&str, u32),
    ) -> Result<HashSlots> {
        if region.len() < HEADER {
            return Err(region.mismatch(
                kind,
                format!(
                    "entry size {} is smaller than the 16-byte header",
                    region.len()
                ),
            ));
        }
        let capacity = region.read_u32(4) as u64;
        if capacity == 0 {
            return Err(region.mismatch(kind, "stored capacity is 0"));
        }
        for (off, (what, want)) in [(8, word8), (12, word12)] {
            let got = region.read_u32(off);
            if got != want {
                return Err(region.mismatch(
                    kind,
                    format!("{what} is {got}, expected {want} (wrong type parameters?)"),
                ));
            }
        }
        match layout.total(capacity) {
            Some(t) if t == region.len() as u64 => {}
            _ => {
                return Err(region.mismatch(
                    kind,
                    format!(
                        "16 + capacity {capacity} x slot size {} does not equal the entry size {}",
                        layout.stride,
                        region.len()
                    ),
                ))
            }
        }
        let slots = HashSlots {
            region,
            capacity,
            layout,
        };
        slots.check_size_word(kind)?;
        slots.check_slot_states(kind)?;
        Ok(slots)
    }

    /// Open check: `size` within `0..=capacity` (module doc, "Opening the
    /// wrong kind"). A C++ inserter counts after publishing, so a racing
    /// removal can wrap `size` below zero for a moment: an out-of-range
    /// value is re-read for up to [`SIZE_SETTLE_WAIT`] before refusing.
    fn check_size_word(&self, kind: &'static str) -> Result<()> {
        let in_range = || {
            // Relaxed: a plain snapshot of a counter; nothing is read
            // through it.
            let raw = self.size().load(Ordering::Relaxed);
            (u64::from(raw) <= self.capacity).then_some(()).ok_or(raw)
        };
        if in_range().is_ok() {
            return Ok(());
        }
        let settled = crate::wait::poll_until(Some(SIZE_SETTLE_WAIT), || in_range().ok());
        match (settled, in_range()) {
            (Some(()), _) | (None, Ok(())) => Ok(()),
            (None, Err(raw)) => Err(self.region.mismatch(
                kind,
                format!(
                    "size {raw} ({} as a signed word) is outside 0..=capacity {}: not a hash \
                     table (an empty Stack's top of -1 reads as 4294967295), or a corrupted one",
                    raw as i32, self.capacity
                ),
            )),
        }
    }

    /// Open check: every slot state is EMPTY, OCCUPIED, DELETED or
    /// INSERTING, the only values any writer of the format stores. One
    /// relaxed load per slot.
    fn check_slot_states(&self, kind: &'static str) -> Result<()> {
        for s in 0..self.capacity {
            // Relaxed: only the value's range matters, not what it publishes.
            let st = self.state(s).load(Ordering::Relaxed);
            if st > INSERTING {
                return Err(self.region.mismatch(
                    kind,
                    format!(
                        "slot {s} has state {st}, not EMPTY/OCCUPIED/DELETED/INSERTING (0..=3): \
                         not a hash table (another kind's bytes?), or a corrupted one"
                    ),
                ));
            }
        }
        Ok(())
    }

    pub(crate) fn region(&self) -> &Region {
        &self.region
    }

    pub(crate) fn capacity(&self) -> u64 {
        self.capacity
    }

    /// `size`, read as signed and clamped to `0..=capacity` (see module doc).
    pub(crate) fn len(&self) -> usize {
        let raw = self.region.atomic_u32(0).load(Ordering::Relaxed) as i32;
        (raw.max(0) as u64).min(self.capacity) as usize
    }

    fn size(&self) -> &AtomicU32 {
        self.region.atomic_u32(0)
    }

    fn slot_off(&self, s: u64) -> usize {
        debug_assert!(s < self.capacity);
        HEADER + s as usize * self.layout.stride
    }

    fn state(&self, s: u64) -> &AtomicU32 {
        self.region.atomic_u32(self.slot_off(s))
    }

    fn key<K: ShmElement>(&self, s: u64) -> K {
        self.region
            .read::<K>(self.slot_off(s) + self.layout.key_off)
    }

    fn write_key<K: ShmElement>(&self, s: u64, key: &K) {
        self.region
            .write::<K>(self.slot_off(s) + self.layout.key_off, *key);
    }

    fn atomic_u16(&self, off: usize) -> &AtomicU16 {
        let p = self.region.ptr(off, 2);
        assert!(p as usize % 2 == 0, "misaligned atomic u16");
        // SAFETY: `ptr` checked the two bytes lie in the region, which lies in
        // the mapping that outlives `&self`; the address is 2-aligned
        // (asserted); shared words are accessed through atomics only.
        unsafe { &*p.cast::<AtomicU16>() }
    }

    /// Copies the value out; a single atomic load when its width allows, so
    /// a value we (or an x86 C++ peer) wrote is never seen half-written.
    fn read_val(&self, s: u64) -> ValBuf {
        let mut buf = [0u8; 8];
        let n = self.layout.val_size;
        let off = self.slot_off(s) + self.layout.val_off;
        let r = &self.region;
        match n {
            0 => {}
            1 => buf[0] = r.atomic_u8(off).load(Ordering::Relaxed),
            2 if off % 2 == 0 => buf[..2]
                .copy_from_slice(&self.atomic_u16(off).load(Ordering::Relaxed).to_ne_bytes()),
            4 if off % 4 == 0 => {
                buf[..4].copy_from_slice(&r.atomic_u32(off).load(Ordering::Relaxed).to_ne_bytes())
            }
            8 if off % 8 == 0 => {
                buf.copy_from_slice(&r.atomic_u64(off).load(Ordering::Relaxed).to_ne_bytes())
            }
            _ => r.read_bytes(off, &mut buf[..n]),
        }
        buf
    }

    /// Stores a value (only while holding the slot's INSERTING claim).
    fn write_val(&self, s: u64, v: &[u8]) {
        debug_assert_eq!(v.len(), self.layout.val_size);
        let off = self.slot_off(s) + self.layout.val_off;
        let r = &self.region;
        let mut w = [0u8; 8];
        w[..v.len()].copy_from_slice(v);
        match v.len() {
            0 => {}
            1 => r.atomic_u8(off).store(v[0], Ordering::Relaxed),
            2 if off % 2 == 0 => self
                .atomic_u16(off)
                .store(u16::from_ne_bytes([w[0], w[1]]), Ordering::Relaxed),
            4 if off % 4 == 0 => r.atomic_u32(off).store(
                u32::from_ne_bytes([w[0], w[1], w[2], w[3]]),
                Ordering::Relaxed,
            ),
            8 if off % 8 == 0 => r
                .atomic_u64(off)
                .store(u64::from_ne_bytes(w), Ordering::Relaxed),
            _ => r.write_bytes(off, v),
        }
    }

    /// Waits up to `timeout` for slot `s` to leave INSERTING; false on timeout.
    fn wait_settled(&self, s: u64, timeout: Duration) -> bool {
        let w = self.state(s);
        wait_until(w, Some(timeout), || {
            (w.load(Ordering::Acquire) != INSERTING).then_some(())
        })
        .is_some()
    }

    /// Spins briefly for slot `s` to leave INSERTING; false if it did not.
    fn spin_settled(&self, s: u64) -> bool {
        for _ in 0..FOLLOW_SPINS {
            if self.state(s).load(Ordering::Acquire) != INSERTING {
                return true;
            }
            crate::wait::spin_hint();
        }
        false
    }

    /// The key of a slot just seen OCCUPIED (acquire), if it was still
    /// OCCUPIED after the copy; `None` means "re-examine the slot".
    fn stable_key<K: ShmElement>(&self, s: u64) -> Option<K> {
        let k = self.key::<K>(s);
        // Orders the key copy before the state re-load (seqlock reader side).
        fence(Ordering::Acquire);
        (self.state(s).load(Ordering::Relaxed) == OCCUPIED).then_some(k)
    }

    /// Insert (`update`: overwrite an existing key's value) following the
    /// three-phase protocol of the module doc.
    pub(crate) fn insert<K: ShmElement>(&self, key: &K, value: &[u8], update: bool) -> SlotInsert {
        let cap = self.capacity;
        let h = key_hash(key);
        // Slots presumed dead (INSERTING for longer than STUCK_SLOT_WAIT) for
        // the rest of this call.
        let mut dead: Vec<u64> = Vec::new();
        'retry: loop {
            // Phase 1: scan. SeqCst loads: the re-scan argument needs every
            // non-EMPTY state this scan saw to be seen by a later re-scanner.
            let mut first_deleted: Option<(u64, u64)> = None;
            let mut first_empty: Option<(u64, u64)> = None;
            'scan: for i in 0..cap {
                let s = probe_slot(h, i, cap);
                loop {
                    match self.state(s).load(Ordering::SeqCst) {
                        EMPTY => {
                            first_empty = Some((i, s));
                            break 'scan;
                        }
                        DELETED => {
                            first_deleted.get_or_insert((i, s));
                            continue 'scan;
                        }
                        OCCUPIED => {
                            let Some(k) = self.stable_key::<K>(s) else {
                                continue; // changed under us: re-examine
                            };
                            if !key_eq(&k, key) {
                                continue 'scan;
                            }
                            if !update {
                                return SlotInsert::Existing;
                            }
                            // Update: exclusive claim OCCUPIED -> INSERTING
                            // (acquire: we then own the key/value bytes).
                            if self
                                .state(s)
                                .compare_exchange(
                                    OCCUPIED,
                                    INSERTING,
                                    Ordering::Acquire,
                                    Ordering::Relaxed,
                                )
                                .is_err()
                            {
                                continue; // re-examine the slot
                            }
                            // Seqlock writer side: the claim is ordered
                            // before our value store for any reader.
                            fence(Ordering::Release);
                            let still_ours = key_eq(&self.key::<K>(s), key);
                            if still_ours {
                                self.write_val(s, value);
                            }
                            // Publish (release) the value, or hand the slot
                            // back untouched if it was erased and refilled
                            // with another key since we compared.
                            self.state(s).store(OCCUPIED, Ordering::Release);
                            if still_ours {
                                return SlotInsert::Existing;
                            }
                            continue 'scan;
                        }
                        INSERTING => {
                            if dead.contains(&s) {
                                continue 'scan;
                            }
                            if !self.wait_settled(s, STUCK_SLOT_WAIT) {
                                dead.push(s);
                                STUCK_SKIPS.fetch_add(1, Ordering::Relaxed);
                                continue 'scan;
                            }
                            // settled: re-examine
                        }
                        // A state no writer of the format produces: neither
                        // a key nor the end of the chain.
                        _ => continue 'scan,
                    }
                }
            }
            let Some((pos, slot, prior)) = first_deleted
                .map(|(i, s)| (i, s, DELETED))
                .or(first_empty.map(|(i, s)| (i, s, EMPTY)))
            else {
                return SlotInsert::Full;
            };

            // Phase 2: claim (SeqCst RMW, one side of the Dekker pair).
            if self
                .state(slot)
                .compare_exchange(prior, INSERTING, Ordering::SeqCst, Ordering::Relaxed)
                .is_err()
            {
                continue 'retry;
            }
            // Seqlock writer side: claim before the key/value stores.
            fence(Ordering::Release);
            self.write_key(slot, key);
            self.write_val(slot, value);

            // Phase 3: re-scan.
            match self.rescan(key, h, pos, slot, &dead) {
                Rescan::Clear => {
                    // Count before publishing, so a removal of this entry
                    // (which must acquire our OCCUPIED) decrements after.
                    self.size().fetch_add(1, Ordering::Relaxed);
                    // Publish key and value.
                    self.state(slot).store(OCCUPIED, Ordering::Release);
                    return SlotInsert::New;
                }
                Rescan::Duplicate => {
                    RACES_DUPLICATE.fetch_add(1, Ordering::Relaxed);
                    // Give the claim back as a tombstone (never EMPTY: a
                    // chain must not shrink under a concurrent scanner).
                    self.state(slot).store(DELETED, Ordering::Release);
                    if !update {
                        return SlotInsert::Existing;
                    }
                    continue 'retry; // finds the entry and updates it
                }
                Rescan::Yield(other) => {
                    RACES_YIELD.fetch_add(1, Ordering::Relaxed);
                    self.state(slot).store(DELETED, Ordering::Release);
                    if !self.wait_settled(other, STUCK_SLOT_WAIT) {
                        dead.push(other);
                        STUCK_SKIPS.fetch_add(1, Ordering::Relaxed);
                    }
                    continue 'retry;
                }
            }
        }
    }

    /// Phase 3 of insert: look for the key or a competing claim on the
    /// chain, skipping our own slot `mine` at chain position `my_pos`.
    fn rescan<K: ShmElement>(
        &self,
        key: &K,
        h: u64,
        my_pos: u64,
        mine: u64,
        dead: &[u64],
    ) -> Rescan {
        let cap = self.capacity;
        'scan: for i in 0..cap {
            let s = probe_slot(h, i, cap);
            if s == mine {
                continue;
            }
            loop {
                // SeqCst: the other side of the Dekker pair with a competing
                // claim (module doc); also acquires a publisher's key bytes.
                match self.state(s).load(Ordering::SeqCst) {
                    EMPTY => return Rescan::Clear,
                    OCCUPIED => match self.stable_key::<K>(s) {
                        Some(k) if key_eq(&k, key) => return Rescan::Duplicate,
                        Some(_) => continue 'scan,
                        None => {} // re-examine
                    },
                    INSERTING => {
                        if dead.contains(&s) {
                            continue 'scan;
                        }
                        // Earlier in the chain: its owner never waits for us
                        // (we are later in its chain if it has our key), so
                        // we may wait holding our claim. Later: its owner may
                        // be waiting for us, so only spin briefly.
                        let settled = if i < my_pos {
                            self.wait_settled(s, HOLD_WAIT)
                        } else {
                            self.spin_settled(s)
                        };
                        if !settled {
                            return Rescan::Yield(s);
                        }
                        // settled: re-examine
                    }
                    _ => continue 'scan,
                }
            }
        }
        Rescan::Clear
    }

    /// Walks the chain of `key`, waiting (bounded) on INSERTING slots, and
    /// calls `hit` on each slot seen OCCUPIED whose key copy equals `key`.
    /// `hit` finishes (`Step::Done`), moves on (`Step::Next`) or asks to
    /// re-examine the slot because it changed under us (`Step::Retry`);
    /// after [`MAX_READ_RETRIES`] re-examinations the slot is skipped.
    fn probe<K: ShmElement, R>(&self, key: &K, mut hit: impl FnMut(u64) -> Step<R>) -> Option<R> {
        let cap = self.capacity;
        let h = key_hash(key);
        let mut dead: Vec<u64> = Vec::new();
        'scan: for i in 0..cap {
            let s = probe_slot(h, i, cap);
            let mut retries = 0u32;
            loop {
                match self.state(s).load(Ordering::Acquire) {
                    EMPTY => return None,
                    INSERTING => {
                        if dead.contains(&s) {
                            continue 'scan;
                        }
                        // One bounded wait per call: once a slot has been
                        // given up on, further claims met by this lookup
                        // only get a short spin, so a segment full of stuck
                        // slots costs one STUCK_SLOT_WAIT, not one per slot.
                        // Skipping a live claim here is the linearisation in
                        // which this lookup ran before that writer finished.
                        let settled = if dead.is_empty() {
                            self.wait_settled(s, STUCK_SLOT_WAIT)
                        } else {
                            self.spin_settled(s)
                        };
                        if !settled {
                            dead.push(s);
                            STUCK_SKIPS.fetch_add(1, Ordering::Relaxed);
                            continue 'scan;
                        }
                        // settled: re-examine
                    }
                    OCCUPIED => {
                        if !key_eq(&self.key::<K>(s), key) {
                            continue 'scan;
                        }
                        match hit(s) {
                            Step::Done(r) => return Some(r),
                            Step::Next => continue 'scan,
                            Step::Retry => {
                                retries += 1;
                                if retries >= MAX_READ_RETRIES {
                                    continue 'scan;
                                }
                                crate::wait::spin_hint();
                            }
                        }
                    }
                    _ => continue 'scan,
                }
            }
        }
        None
    }

    /// The slot and value of `key`, copied under a read claim (module doc).
    pub(crate) fn find<K: ShmElement>(&self, key: &K) -> Option<(u64, ValBuf)> {
        self.probe(key, |s| match self.claimed_copy::<K>(s, |_| OCCUPIED) {
            None => Step::Retry,
            Some((k, v)) if key_eq(&k, key) => Step::Done((s, v)),
            // Erased and refilled with another key since `probe` compared.
            Some(_) => Step::Next,
        })
    }

    /// Removes `key`: claim, check the key, copy the value, `size -= 1`,
    /// store DELETED. Returns the removed value.
    pub(crate) fn remove<K: ShmElement>(&self, key: &K) -> Option<ValBuf> {
        self.probe(key, |s| {
            let mut removed = false;
            let copy = self.claimed_copy::<K>(s, |k| {
                if !key_eq(k, key) {
                    return OCCUPIED; // refilled with another key: hand back
                }
                removed = true;
                // Under our claim, after the inserter's increment (we
                // acquired its OCCUPIED), so `size` never wraps for us.
                self.size().fetch_sub(1, Ordering::Relaxed);
                // The tombstone keeps the bytes, as the reference's does.
                DELETED
            });
            match copy {
                None => Step::Retry,
                Some((_, v)) if removed => Step::Done(v),
                Some(_) => Step::Next,
            }
        })
    }

    /// The one routine that reads a slot's contents (lookups, removals and
    /// iteration; module doc, item 12): claims slot `s` (OCCUPIED ->
    /// INSERTING), copies its key and value while nobody else may write
    /// them, and hands the slot back in the state `release_as` picks from
    /// the key copy (OCCUPIED: unchanged; DELETED: removed). `None` if the
    /// slot was not OCCUPIED at the claim.
    fn claimed_copy<K: ShmElement>(
        &self,
        s: u64,
        release_as: impl FnOnce(&K) -> u32,
    ) -> Option<(K, ValBuf)> {
        // Exclusive claim. Acquire: pairs with the release store that
        // published (or last handed back) the slot, so its key and value
        // bytes are visible; no writer touches them until we store below.
        self.state(s)
            .compare_exchange(OCCUPIED, INSERTING, Ordering::Acquire, Ordering::Relaxed)
            .ok()?;
        let k = self.key::<K>(s);
        let v = self.read_val(s);
        let next = release_as(&k);
        debug_assert!(next == OCCUPIED || next == DELETED);
        // Release: our copies (and a removal's size decrement) happen before
        // the next claimer's writes to the slot.
        self.state(s).store(next, Ordering::Release);
        Some((k, v))
    }

    /// The key and value of slot `s` for an iteration, copied under a read
    /// claim ([`HashSlots::claimed_copy`]) if the slot holds an entry. An
    /// INSERTING slot (a writer or another reader at work) is waited for:
    /// up to [`STUCK_SLOT_WAIT`] while `*gave_up` is false, after which the
    /// slot is skipped and `*gave_up` set, then only a short spin, so one
    /// iteration over many stuck slots costs one bounded wait.
    pub(crate) fn read_slot<K: ShmElement>(
        &self,
        s: u64,
        gave_up: &mut bool,
    ) -> Option<(K, ValBuf)> {
        for _ in 0..MAX_READ_RETRIES {
            match self.state(s).load(Ordering::Acquire) {
                OCCUPIED => {
                    if let Some(kv) = self.claimed_copy::<K>(s, |_| OCCUPIED) {
                        return Some(kv);
                    }
                    // Claimed or changed between the load and the CAS.
                    crate::wait::spin_hint();
                }
                INSERTING => {
                    let settled = if *gave_up {
                        self.spin_settled(s)
                    } else {
                        self.wait_settled(s, STUCK_SLOT_WAIT)
                    };
                    if !settled {
                        *gave_up = true;
                        STUCK_SKIPS.fetch_add(1, Ordering::Relaxed);
                        return None;
                    }
                }
                // EMPTY, DELETED or a state no writer produces: no entry.
                _ => return None,
            }
        }
        None
    }
}

/// What a probe callback decided about a matching slot.
enum Step<R> {
    Done(R),
    Next,
    Retry,
}

/// Outcome of [`Map::insert`].
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapInsert {
    /// The key was absent; a new entry was added (`len` grew by one).
    Inserted,
    /// The key was present; its value was replaced.
    Updated,
    /// The key was absent and its probe chain has no free slot (the map is
    /// full, or every free slot is held by a stuck claim).
    Full,
}

impl MapInsert {
    /// True for `Inserted` and `Updated` (the C++ `insert`'s `true`).
    pub fn is_stored(self) -> bool {
        !matches!(self, MapInsert::Full)
    }
}

/// A fixed-capacity hash map from `K` to `V` in shared memory, usable by
/// many processes at once (lock-free; C++ reference layout and protocol).
///
/// `V` is at most 8 bytes (a C++ reference constraint, checked at compile
/// time). Keys and values are copied in and out; nothing borrows shared
/// memory.
///
/// ```
/// use zeroipc::{Map, Segment};
/// use zeroipc::data::map::MapInsert;
/// let name = format!("/zeroipc-doc-map-{}", std::process::id());
/// let seg = Segment::create(&name, 1 << 16)?;
/// let squares = Map::<i32, i64>::create(&seg, "squares", 64)?;
/// assert_eq!(squares.insert(3, 9), MapInsert::Inserted);
/// assert_eq!(squares.insert(3, 9), MapInsert::Updated);
/// assert_eq!(squares.get(&3), Some(9));
///
/// let other = Map::<i32, i64>::open(&Segment::open(&name)?, "squares")?;
/// assert_eq!(other.remove(&3), Some(9));
/// assert!(squares.is_empty());
/// assert!(Map::<i64, i64>::open(&seg, "squares").is_err()); // wrong key type
/// Segment::unlink(&name)?;
/// # Ok::<(), zeroipc::Error>(())
/// ```
///
/// A value type larger than 8 bytes does not compile:
///
/// ```compile_fail
/// # let seg = zeroipc::Segment::open("/unused").unwrap();
/// let _ = zeroipc::Map::<u32, [u64; 2]>::open(&seg, "m");
/// ```
pub struct Map<K: ShmElement, V: ShmElement> {
    slots: HashSlots,
    _t: PhantomData<(K, V)>,
}

impl<K: ShmElement, V: ShmElement> std::fmt::Debug for Map<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Map").field("slots", &self.slots).finish()
    }
}

impl<K: ShmElement, V: ShmElement> Map<K, V> {
    const LAYOUT: SlotLayout = {
        assert!(
            size_of::<V>() <= 8,
            "Map values are at most 8 bytes (C++ reference constraint)"
        );
        SlotLayout::map::<K, V>()
    };

    /// Entry size of a map of `capacity` slots (`None` on overflow).
    pub(crate) fn size_for(capacity: usize) -> Option<u64> {
        Self::LAYOUT.total(capacity as u64)
    }

    /// Writes a fresh header into the zeroed `region`.
    pub(crate) fn init_region(region: &Region, capacity: u32) {
        HashSlots::init_region(
            region,
            capacity,
            size_of::<K>() as u32,
            size_of::<V>() as u32,
        );
    }

    /// Validates `region` as a `Map<K, V>` and caches its capacity.
    pub(crate) fn from_region(region: Region) -> Result<Self> {
        let slots = HashSlots::from_region(
            region,
            KIND,
            Self::LAYOUT,
            ("key_size", size_of::<K>() as u32),
            ("value_size", size_of::<V>() as u32),
        )?;
        Ok(Map {
            slots,
            _t: PhantomData,
        })
    }

    /// Creates a map with exactly `capacity` slots (no rounding; 0 and
    /// values above `u32::MAX` are refused).
    pub fn create(seg: &Segment, name: &str, capacity: usize) -> Result<Self> {
        let size = HashSlots::size_for(seg, KIND, name, Self::LAYOUT, capacity)?;
        debug_assert_eq!(Some(size), Self::size_for(capacity));
        let region = seg.register(name, size, |r| {
            Self::init_region(r, capacity as u32);
            Ok(())
        })?;
        Self::from_region(region)
    }

    /// Opens the map named `name`, checking key and value sizes, capacity and
    /// entry size.
    pub fn open(seg: &Segment, name: &str) -> Result<Self> {
        Self::from_region(seg.region(name)?)
    }

    /// Inserts `key` or replaces its value. See [`MapInsert`].
    pub fn insert(&self, key: K, value: V) -> MapInsert {
        match self.slots.insert(&key, bytes_of(&value), true) {
            SlotInsert::New => MapInsert::Inserted,
            SlotInsert::Existing => MapInsert::Updated,
            SlotInsert::Full => MapInsert::Full,
        }
    }

    /// A copy of the value stored for `key`.
    pub fn get(&self, key: &K) -> Option<V> {
        self.slots.find(key).map(|(_, v)| self.value(&v))
    }

    /// True if `key` is present.
    pub fn contains(&self, key: &K) -> bool {
        self.slots.find(key).is_some()
    }

    /// Removes `key`, returning the value it had.
    pub fn remove(&self, key: &K) -> Option<V> {
        self.slots.remove(key).map(|v| self.value(&v))
    }

    fn value(&self, v: &ValBuf) -> V {
        from_bytes::<V>(&v[..size_of::<V>()]).expect("value buffer holds size_of::<V>() bytes")
    }

    /// Number of entries (a snapshot of the shared counter, clamped to
    /// `0..=capacity`; see the module doc on ordering).
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// True when [`Map::len`] is 0.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Slot count (cached at open).
    pub fn capacity(&self) -> usize {
        self.slots.capacity() as usize
    }

    /// Iterates over the entries slot by slot. Weakly consistent: each entry
    /// returned was present at the moment it was read (each slot is copied
    /// under a read claim, as [`Map::get`] does, so a key is never paired
    /// with another key's value); entries added or removed meanwhile may or
    /// may not appear. A slot held by a writer is waited for, at most
    /// [`STUCK_SLOT_WAIT`] once per iteration (then such slots are skipped).
    ///
    /// ```
    /// use zeroipc::{Map, Segment};
    /// let name = format!("/zeroipc-doc-map-iter-{}", std::process::id());
    /// let seg = Segment::create(&name, 1 << 16)?;
    /// let m = Map::<u32, u64>::create(&seg, "m", 8)?;
    /// assert!(m.insert(1, 10).is_stored() && m.insert(2, 20).is_stored());
    /// let mut all: Vec<(u32, u64)> = m.iter().collect();
    /// all.sort_unstable();
    /// assert_eq!(all, [(1, 10), (2, 20)]);
    /// Segment::unlink(&name)?;
    /// # Ok::<(), zeroipc::Error>(())
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (K, V)> + '_ {
        let mut gave_up = false;
        (0..self.slots.capacity()).filter_map(move |s| {
            self.slots
                .read_slot::<K>(s, &mut gave_up)
                .map(|(k, v)| (k, self.value(&v)))
        })
    }

    /// All entries, copied (see [`Map::iter`]).
    pub fn entries(&self) -> Vec<(K, V)> {
        self.iter().collect()
    }

    /// The underlying region.
    pub fn region(&self) -> &Region {
        self.slots.region()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::element::ShmElement;
    use crate::layout::{Field, Kind, TypeLayout};

    #[derive(Clone, Copy)]
    #[repr(C)]
    struct Three {
        a: i32,
        b: i32,
        c: i32,
    }
    // SAFETY: repr(C), three i32 at 0, 4, 8, size 12, align 4: no padding,
    // every bit pattern valid, no pointers; LAYOUT lists exactly that.
    unsafe impl ShmElement for Three {
        const LAYOUT: &'static TypeLayout = &TypeLayout {
            name: "Three",
            size: 12,
            align: 4,
            kind: Kind::Struct {
                fields: &[
                    Field {
                        name: "a",
                        offset: 0,
                        layout: i32::LAYOUT,
                        doc: "",
                    },
                    Field {
                        name: "b",
                        offset: 4,
                        layout: i32::LAYOUT,
                        doc: "",
                    },
                    Field {
                        name: "c",
                        offset: 8,
                        layout: i32::LAYOUT,
                        doc: "",
                    },
                ],
            },
            doc: "",
        };
    }

    fn lay(l: SlotLayout) -> (usize, usize, usize) {
        (l.stride, l.key_off, l.val_off)
    }

    /// One slot, recycled between two keys as fast as possible by one
    /// thread while another looks one key up: a lookup must never return
    /// the other key's value (the reference's unvalidated read can).
    #[test]
    fn lookups_never_return_another_keys_value() {
        use std::sync::atomic::AtomicBool;
        let name = format!("/zeroipc-unit-map-torn-{}", std::process::id());
        let _ = Segment::unlink(&name);
        let seg = Segment::create(&name, 1 << 14).unwrap();
        let m = Map::<u32, u64>::create(&seg, "m", 1).unwrap();
        const A: u64 = 0xAAAA_AAAA_AAAA_AAAA;
        const B: u64 = 0xBBBB_BBBB_BBBB_BBBB;
        let stop = AtomicBool::new(false);
        let (mut hits, mut bad) = (0u64, 0u64);
        std::thread::scope(|sc| {
            sc.spawn(|| {
                let m = Map::<u32, u64>::open(&seg, "m").unwrap();
                while !stop.load(Ordering::Relaxed) {
                    assert_eq!(m.insert(1, A), MapInsert::Inserted);
                    assert_eq!(m.remove(&1), Some(A));
                    assert_eq!(m.insert(2, B), MapInsert::Inserted);
                    assert_eq!(m.remove(&2), Some(B));
                }
            });
            let start = std::time::Instant::now();
            while start.elapsed() < Duration::from_millis(300) {
                for _ in 0..1000 {
                    match m.get(&1) {
                        Some(A) => hits += 1,
                        Some(_) => bad += 1,
                        None => {}
                    }
                }
            }
            stop.store(true, Ordering::Relaxed);
        });
        drop(m);
        Segment::unlink(&name).unwrap();
        assert_eq!(bad, 0, "wrong-key values returned ({hits} good hits)");
        assert!(hits > 0);
    }

    /// A peer that died holding a claim (slot left INSERTING) on the chain
    /// costs one bounded wait per operation, not a hang.
    #[test]
    fn a_slot_left_inserting_is_skipped_after_a_bounded_wait() {
        let name = format!("/zeroipc-unit-map-stuck-{}", std::process::id());
        let _ = Segment::unlink(&name);
        let seg = Segment::create(&name, 1 << 14).unwrap();
        let m = Map::<u32, u32>::create(&seg, "m", 8).unwrap();
        let home = (key_hash(&5u32) % 8) as usize;
        m.region()
            .atomic_u32(HEADER + home * 12)
            .store(INSERTING, Ordering::SeqCst);
        let before = insert_races().stuck_skips;
        let t = std::time::Instant::now();
        assert_eq!(m.insert(5, 50), MapInsert::Inserted);
        assert!(t.elapsed() >= STUCK_SLOT_WAIT);
        assert!(insert_races().stuck_skips > before);
        assert_eq!(m.get(&5), Some(50));
        assert_eq!(m.remove(&5), Some(50));
        assert!(t.elapsed() < Duration::from_secs(30), "hung");
        // The stuck slot itself was never touched.
        assert_eq!(
            m.region()
                .atomic_u32(HEADER + home * 12)
                .load(Ordering::SeqCst),
            INSERTING
        );
        drop(m);
        Segment::unlink(&name).unwrap();
    }

    /// REFERENCE-NOTES §3.1 "Verified examples" (E, key @, value @).
    #[test]
    fn map_slot_layouts_match_the_reference() {
        assert_eq!(lay(SlotLayout::map::<i32, i32>()), (12, 4, 8));
        assert_eq!(lay(SlotLayout::map::<i32, i64>()), (16, 4, 8));
        assert_eq!(lay(SlotLayout::map::<i32, f64>()), (16, 4, 8));
        assert_eq!(lay(SlotLayout::map::<i64, i32>()), (24, 8, 16));
        assert_eq!(lay(SlotLayout::map::<i64, i64>()), (24, 8, 16));
        assert_eq!(lay(SlotLayout::map::<u8, u8>()), (8, 4, 5));
        assert_eq!(lay(SlotLayout::map::<[u8; 3], i16>()), (12, 4, 8));
        assert_eq!(lay(SlotLayout::map::<Three, i32>()), (20, 4, 16));
        // maps.bin's byfloat: Map<double, int32_t>
        assert_eq!(lay(SlotLayout::map::<f64, i32>()), (24, 8, 16));
    }

    /// REFERENCE-NOTES §4.1: i32 -> 8 (@4), i64/f64 -> 16 (@8), u8 -> 8
    /// (@4), struct{i32 x3} -> 16 (@4).
    #[test]
    fn set_slot_layouts_match_the_reference() {
        let set = |l: SlotLayout| (l.stride, l.key_off);
        assert_eq!(set(SlotLayout::set::<i32>()), (8, 4));
        assert_eq!(set(SlotLayout::set::<i64>()), (16, 8));
        assert_eq!(set(SlotLayout::set::<f64>()), (16, 8));
        assert_eq!(set(SlotLayout::set::<u8>()), (8, 4));
        assert_eq!(set(SlotLayout::set::<Three>()), (16, 4));
    }
}
