//! [`RawMap`]: the Map and Set protocol over bytes, with the key and value
//! layouts known at run time. A fixed-capacity open-addressing hash table,
//! byte- and protocol-compatible with the ZeroIPC C++ reference `map.h` and
//! `set.h` (not with the Python `Map`/`Set`, whose layout and hash differ;
//! docs/FORMAT.md §7). The normative layout is docs/FORMAT.md §4.1 (Set:
//! §4.2), the key hash §5; the offsets are [`crate::format::map`] and
//! [`crate::format::set`]. [`crate::Map`] and [`crate::Set`] are typed
//! veneers over this module, and [`crate::raw::set::RawSet`] is the same
//! table with a zero-sized value.
//!
//! Hash: [`KeyLayout::hash`] (the C++ `trivial_hash` as built with
//! libstdc++), linear probing: probe `i` visits `(h + i) mod 2^64 mod
//! capacity` for `i < capacity`. Key equality as C++ defines it
//! ([`KeyLayout::keys_equal`]: `==` for floats, bytes otherwise), so a NaN key is
//! never found and `0.0`/`-0.0` compare equal but hash to different chains
//! (a C++ quirk we keep for interoperability).
//!
//! # Protocol (as a C++ peer sees it) and what we fix
//!
//! The state transitions are the reference's: an inserter claims an EMPTY or
//! DELETED slot with a CAS to INSERTING, writes key and value and publishes
//! OCCUPIED with a release store; an update claims an OCCUPIED slot with a
//! CAS to INSERTING, writes the value and stores OCCUPIED back. A C++ peer
//! therefore stays correct beside us. The reference's defects
//! (docs/FORMAT.md §8.3 #11-#13) are fixed on our side as follows.
//!
//! **No duplicate keys among our processes (#11).** An insert of an
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
//! **No torn or wrong-key reads (#12).** A lookup claims the slot it
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
//! Iteration ([`RawMap::entries`], [`crate::Map::iter`], [`crate::Set::iter`])
//! reads every slot through the same claim (`RawMap::with_claim`, the one
//! routine that reads a slot's key and value): an earlier optimistic copy,
//! validated by re-reading the state and the key, returned pairs that were
//! never in the map (`(1, B)` after `(1, A)` and `(2, B)` alternated in one
//! slot; 4 to 11 in 2.5 s of `tests/regress_codata_map.rs`).
//! A removal claims the slot (OCCUPIED ->
//! INSERTING, which C++ peers already treat as an update in progress),
//! checks the key, copies the value out and stores DELETED, so it returns
//! exactly the value it removed; an update likewise re-checks the key after
//! its claim (the reference updates whatever key the slot holds by then).
//!
//! **Size (#13).** We add 1 to `size` *before* publishing OCCUPIED and
//! subtract 1 after claiming an OCCUPIED slot for removal. A removal of an
//! entry we published therefore always follows its increment in `size`'s
//! modification order (release publish, acquire claim), so our own
//! operations never wrap `size` below zero; a C++ inserter still increments
//! after publishing, so a racing removal of its fresh entry can wrap `size`
//! for a moment. [`RawMap::len`] reads `size` as signed and clamps it to
//! `0..=capacity`.
//!
//! **Bounded waits.** Every wait on an INSERTING slot is
//! bounded by [`STUCK_SLOT_WAIT`]; the slot is then skipped for the rest of
//! that call. A peer that died mid-insert thus costs each later operation
//! probing through its slot one bounded wait, never a hang. None of the
//! operations blocks otherwise: an insert into a full chain returns
//! [`MapInsert::Full`] at once (the queue-like convention: there is no
//! timed form to wait for room).
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
//!
//! ```
//! use zeroipc::format::{map::KeyLayout, ElemLayout};
//! use zeroipc::raw::map::{MapInsert, RawMap};
//! use zeroipc::{Map, Segment};
//! let name = format!("/zeroipc-doc-rawmap-{}", std::process::id());
//! let seg = Segment::create(&name, 1 << 16)?;
//! // A tool that knows only "3-byte keys, 4-byte values" and a typed user share one map.
//! let key = KeyLayout::bytes(ElemLayout::new(3, 1).unwrap());
//! let raw = RawMap::create(&seg, "m", key, ElemLayout::new(4, 4).unwrap(), 8)?;
//! assert_eq!(raw.insert(b"abc", &7u32.to_le_bytes())?, MapInsert::Inserted);
//! let typed = Map::<[u8; 3], u32>::open(&seg, "m")?;
//! assert_eq!(typed.get(b"abc"), Some(7));
//! let mut out = [0u8; 4];
//! assert!(raw.insert(b"ab", &[0; 4]).is_err()); // wrong key length: refused, nothing written
//! assert!(raw.remove(b"abc", &mut out)?);
//! assert_eq!((u32::from_le_bytes(out), typed.len()), (7, 0));
//! Segment::unlink(&name)?;
//! # Ok::<(), zeroipc::Error>(())
//! ```

use crate::describe::{check_description, Description};
use crate::element::{key_eq, ShmElement};
use crate::error::{Error, Result};
use crate::format::key_hash;
use crate::format::map::{self as fmt, KeyLayout};
use crate::format::{ElemLayout, StructureKind};
use crate::raw::{check_len, elem_from_size};
use crate::region::atomic::{fence, AtomicU32};
use crate::region::Region;
use crate::segment::{Part, Segment};
use crate::wait::{wait_until, Backoff};
// Process-local counters and the u16 value word stay std atomics.
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::time::Duration;

/// How long an operation waits for a slot to leave INSERTING before it
/// presumes the claimer dead and skips the slot (the reference gives up after
/// 10 000 `yield`s).
pub const STUCK_SLOT_WAIT: Duration = Duration::from_millis(100);

/// How long a re-scan waits, holding its own claim, for an INSERTING slot
/// earlier in the chain before giving its claim back.
const HOLD_WAIT: Duration = Duration::from_millis(1);

/// How long an open re-reads a `size` word outside `0..=capacity` (a C++
/// inserter's window between publishing and counting) before refusing.
const SIZE_SETTLE_WAIT: Duration = Duration::from_millis(20);

/// Consecutive failed claims of one slot before a lookup moves on.
const MAX_READ_RETRIES: u32 = 10_000;

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
///
/// ```
/// let r = zeroipc::raw::map::insert_races();
/// assert!(r.duplicates <= zeroipc::raw::map::insert_races().duplicates);
/// ```
pub fn insert_races() -> InsertRaces {
    InsertRaces {
        duplicates: RACES_DUPLICATE.load(Ordering::Relaxed),
        yields: RACES_YIELD.load(Ordering::Relaxed),
        stuck_skips: STUCK_SKIPS.load(Ordering::Relaxed),
    }
}

/// Outcome of a map insert ([`RawMap::insert`], [`crate::Map::insert`]).
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
    ///
    /// ```
    /// use zeroipc::raw::map::MapInsert;
    /// assert!(MapInsert::Updated.is_stored() && !MapInsert::Full.is_stored());
    /// ```
    pub fn is_stored(self) -> bool {
        !matches!(self, MapInsert::Full)
    }

    #[inline]
    pub(crate) fn from_slot(r: SlotInsert) -> MapInsert {
        match r {
            SlotInsert::New => MapInsert::Inserted,
            SlotInsert::Existing => MapInsert::Updated,
            SlotInsert::Full => MapInsert::Full,
        }
    }
}

/// A value copied out of a slot (at most [`fmt::MAX_VALUE_SIZE`] bytes;
/// the first `value.size()` count).
pub(crate) type ValBuf = [u8; fmt::MAX_VALUE_SIZE as usize];

/// Result of the shared insert routine.
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

/// What a probe callback decided about a matching slot.
enum Step<R> {
    Done(R),
    Next,
    Retry,
}

/// The key a probe looks for: its hash, and how it compares with (and is
/// written to) the key bytes of a slot. The protocol below is written once
/// over this trait; [`RawMap`]'s byte API passes a run-time [`KeyLayout`]
/// with the caller's bytes, and the typed veneers pass a [`TypedKey`], so
/// that their hot paths keep the typed compare and copy (no run-time
/// dispatch on the key's layout).
pub(crate) trait ProbeKey {
    /// The format's hash of the key (docs/FORMAT.md §5).
    fn hash(&self) -> u64;
    /// Whether the key stored at `off` equals this one (C++ equality). The
    /// caller holds a claim or validates the copy afterwards.
    fn is_at(&self, region: &Region, off: usize) -> bool;
    /// Copies the key to `off` (only under the slot's INSERTING claim).
    fn write_to(&self, region: &Region, off: usize);
}

/// A typed key (the veneers' path: `K`'s own compare and copy).
pub(crate) struct TypedKey<'a, K>(pub &'a K);

impl<K: ShmElement> ProbeKey for TypedKey<'_, K> {
    #[inline]
    fn hash(&self) -> u64 {
        key_hash(self.0)
    }
    #[inline]
    fn is_at(&self, region: &Region, off: usize) -> bool {
        key_eq(&region.read::<K>(off), self.0)
    }
    #[inline]
    fn write_to(&self, region: &Region, off: usize) {
        region.write::<K>(off, *self.0);
    }
}

/// A key given as bytes (length already checked against the key size).
pub(crate) struct ByteKey<'a> {
    layout: KeyLayout,
    bytes: &'a [u8],
}

impl ProbeKey for ByteKey<'_> {
    #[inline]
    fn hash(&self) -> u64 {
        self.layout.hash(self.bytes)
    }
    fn is_at(&self, region: &Region, off: usize) -> bool {
        const CHUNK: usize = 64;
        let mut buf = [0u8; CHUNK];
        if self.bytes.len() <= 8 {
            // Floats are at most 8 bytes: compare them with the key's own rule.
            let got = &mut buf[..self.bytes.len()];
            region.read_bytes(off, got);
            return self.layout.keys_equal(got, self.bytes);
        }
        // Longer keys compare as bytes: chunk by chunk, without allocating.
        self.bytes.chunks(CHUNK).enumerate().all(|(i, want)| {
            let got = &mut buf[..want.len()];
            region.read_bytes(off + i * CHUNK, got);
            got == want
        })
    }
    fn write_to(&self, region: &Region, off: usize) {
        region.write_bytes(off, self.bytes);
    }
}

/// What distinguishes a Map table from a Set table: the kind, the header
/// words at +8 and +12 (for creation and the open checks' messages), and
/// whether the self-description records a value layout.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Header {
    /// The kind (its name appears in errors).
    pub kind: StructureKind,
    /// Name of the word at +8 (the key or element size).
    pub word8: &'static str,
    /// Name of the word at +12 and the value it must hold.
    pub word12: (&'static str, u32),
}

impl Header {
    /// What a self-description records for a table of these layouts
    /// (fingerprints: the key's and the value's types, when known).
    fn description(
        &self,
        key: KeyLayout,
        value: ElemLayout,
        fingerprints: [Option<u64>; 2],
        capacity: u64,
    ) -> Description {
        let is_map = self.kind == StructureKind::Map;
        Description {
            elem: Some(key.elem()),
            elem_fingerprint: fingerprints[0],
            value: is_map.then_some(value),
            value_fingerprint: fingerprints[1].filter(|_| is_map),
            capacity,
            ..Description::new(self.kind)
        }
    }
}

/// A Map (or, with a zero-sized value, a Set) in a segment, with its key
/// and value layouts known at run time: the whole protocol of the module
/// doc over byte slices. Cheap to share between threads (`&self`
/// everywhere); each process opens its own.
pub struct RawMap {
    region: Region,
    kind: &'static str,
    capacity: u64,
    key: KeyLayout,
    value: ElemLayout,
    // The slot layout of `format::map::slot_layout`, validated and cached.
    key_off: usize,
    val_off: usize,
    stride: usize,
}

impl std::fmt::Debug for RawMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawMap")
            .field("region", &self.region)
            .field("kind", &self.kind)
            .field("capacity", &self.capacity)
            .field("key", &self.key)
            .field("value", &self.value)
            .field("stride", &self.stride)
            .finish()
    }
}

/// Creation checks of a layout pair and a capacity; the entry size, or an
/// [`Error::InvalidParameter`] naming what was wrong.
fn creation_size(
    seg: &Segment,
    kind: &str,
    name: &str,
    key: KeyLayout,
    value: ElemLayout,
    capacity: usize,
) -> Result<u64> {
    let bad = |why: String| Error::InvalidParameter {
        segment: seg.name().to_owned(),
        what: format!("{kind} {name:?}: {why}"),
    };
    if let Some(why) = layout_problem(key, value) {
        return Err(bad(why));
    }
    let cap = capacity as u64;
    if !(fmt::MIN_CAPACITY..=fmt::MAX_CAPACITY).contains(&cap) {
        return Err(bad(format!(
            "capacity {capacity} is outside {}..={} (the u32 capacity field)",
            fmt::MIN_CAPACITY,
            fmt::MAX_CAPACITY
        )));
    }
    fmt::entry_size(cap, key.elem(), value).ok_or_else(|| {
        bad(format!(
            "capacity {capacity} x the slot of a {}-byte key and {}-byte value overflows",
            key.elem().size(),
            value.size()
        ))
    })
}

/// What the format cannot hold about a key and value layout (C++ reference
/// constraints: alignments at most 8, values at most 8 bytes; sizes fit the
/// u32 header words), or `None`.
fn layout_problem(key: KeyLayout, value: ElemLayout) -> Option<String> {
    let k = key.elem();
    if value.size() > fmt::MAX_VALUE_SIZE {
        return Some(format!(
            "value size {} exceeds the format's {} bytes",
            value.size(),
            fmt::MAX_VALUE_SIZE
        ));
    }
    if k.align() > 8 || value.align() > 8 {
        return Some(format!(
            "key alignment {} / value alignment {}: at most 8",
            k.align(),
            value.align()
        ));
    }
    if k.size() > u64::from(u32::MAX) {
        return Some(format!(
            "key size {} does not fit the u32 key_size word",
            k.size()
        ));
    }
    fmt::slot_layout(k, value)
        .is_none()
        .then(|| format!("the slot of a {}-byte key overflows", k.size()))
}

impl RawMap {
    /// Creates a map of exactly `capacity` slots (no rounding; 0 and values
    /// above `u32::MAX` are refused, as are a value above 8 bytes and
    /// alignments above 8, which the format cannot hold). A self-describing
    /// segment records the kind, both layouts and, for a primitive key, its
    /// type.
    pub fn create(
        seg: &Segment,
        name: &str,
        key: KeyLayout,
        value: ElemLayout,
        capacity: usize,
    ) -> Result<RawMap> {
        Self::create_with(seg, name, key, value, [key.fingerprint(), None], capacity)
    }

    /// [`RawMap::create`] recording the key and value types' fingerprints
    /// (the typed veneer knows them).
    #[inline]
    pub(crate) fn create_with(
        seg: &Segment,
        name: &str,
        key: KeyLayout,
        value: ElemLayout,
        fingerprints: [Option<u64>; 2],
        capacity: usize,
    ) -> Result<RawMap> {
        let header = Self::map_header(value);
        Self::create_table(seg, name, header, key, value, fingerprints, capacity)
    }

    /// Opens the map `name`. With `key`/`value` given, the stored sizes must
    /// match them (and a self-describing segment's record too); with
    /// `None`, the layouts the segment's self-description records are used.
    /// A key's layout cannot be told from the header (its hash depends on
    /// whether it is an integer, a float or bytes), so a key of a segment
    /// that records none must be given; a value's is then taken as its
    /// stored size with the largest alignment that divides it (at most 8),
    /// checked against the entry size.
    ///
    /// ```
    /// use zeroipc::format::{map::KeyLayout, ElemLayout};
    /// use zeroipc::raw::RawMap;
    /// use zeroipc::{Map, SegmentOptions, Segment};
    /// let name = format!("/zeroipc-doc-rawmap-open-{}", std::process::id());
    /// let seg = SegmentOptions::new().size(1 << 16).self_describing(true).create(&name)?;
    /// let typed = Map::<i64, u8>::create(&seg, "m", 4)?;
    /// assert!(typed.insert(-5, 9).is_stored());
    /// // The segment records the layouts: nothing to give.
    /// let raw = RawMap::open(&seg, "m", None, None)?;
    /// assert_eq!((raw.key(), raw.value()), (KeyLayout::of::<i64>(), ElemLayout::of::<u8>()));
    /// let mut out = [0u8; 1];
    /// assert!(raw.get(&(-5i64).to_le_bytes(), &mut out)? && out == [9]);
    /// assert!(!raw.contains(&5i64.to_le_bytes())?);
    /// Segment::unlink(&name)?;
    /// # Ok::<(), zeroipc::Error>(())
    /// ```
    pub fn open(
        seg: &Segment,
        name: &str,
        key: Option<KeyLayout>,
        value: Option<ElemLayout>,
    ) -> Result<RawMap> {
        // `open_table` sets the expected word at +12 once the value layout
        // is known (given, recorded or inferred).
        let header = Self::map_header(value.unwrap_or(ElemLayout::of::<u8>()));
        Self::open_table(seg, name, header, key, value)
    }

    fn map_header(value: ElemLayout) -> Header {
        Header {
            kind: StructureKind::Map,
            word8: "key_size",
            word12: ("value_size", value.size() as u32),
        }
    }

    /// Checks a creation request, registers the entry (recording it in a
    /// self-describing segment), writes its header and validates it (Map
    /// and Set).
    pub(crate) fn create_table(
        seg: &Segment,
        name: &str,
        header: Header,
        key: KeyLayout,
        value: ElemLayout,
        fingerprints: [Option<u64>; 2],
        capacity: usize,
    ) -> Result<RawMap> {
        let size = creation_size(seg, header.kind.name(), name, key, value, capacity)?;
        let desc = header.description(key, value, fingerprints, capacity as u64);
        let mut regions = seg.register_described(&[Part::new(name, size)], &desc, |r| {
            let r = &r[0];
            // Zeroed bytes: every slot state is already EMPTY, `size` 0.
            r.atomic_u32(fmt::SIZE as usize).store(0, Ordering::Relaxed);
            r.write::<u32>(fmt::CAPACITY as usize, capacity as u32);
            r.write::<u32>(fmt::KEY_SIZE as usize, key.elem().size() as u32);
            r.write::<u32>(fmt::VALUE_SIZE as usize, header.word12.1);
            Ok(())
        })?;
        let region = regions.pop().expect("one part registered, one region");
        Self::from_region(region, header, key, value)
    }

    /// Opens a Map or Set table: the layouts given or recorded, the
    /// self-description's kind and layouts checked, then the header.
    pub(crate) fn open_table(
        seg: &Segment,
        name: &str,
        mut header: Header,
        key: Option<KeyLayout>,
        value: Option<ElemLayout>,
    ) -> Result<RawMap> {
        let is_map = header.kind == StructureKind::Map;
        let recorded = seg.description(name)?.filter(|d| d.kind == header.kind);
        let key = key.or_else(|| {
            let d = recorded?;
            Some(KeyLayout::recorded(d.elem?, d.elem_fingerprint))
        });
        let Some(key) = key else {
            // A record of another kind is the better error.
            check_description(seg, name, &Description::new(header.kind))?;
            return Err(seg.region(name)?.invalid_argument(
                header.kind.name(),
                "the key layout is not recorded in the segment: give it (integer, float and \
                 byte keys hash differently, which the header cannot tell)",
            ));
        };
        let region = seg.region(name)?;
        let value = match (is_map, value.or(recorded.and_then(|d| d.value))) {
            (false, _) => crate::format::set::NO_VALUE,
            (true, Some(v)) => v,
            (true, None) => elem_from_size(u64::from(region.read_u32(fmt::VALUE_SIZE as usize))),
        };
        if is_map {
            header.word12.1 = value.size() as u32;
        }
        let expected = header.description(key, value, [None, None], 0);
        check_description(seg, name, &expected)?;
        Self::from_region(region, header, key, value)
    }

    /// Validates `region` as a table of `key`/`value` slots whose words at
    /// +8 and +12 are as `header` says, and caches its bounds.
    pub(crate) fn from_region(
        region: Region,
        header: Header,
        key: KeyLayout,
        value: ElemLayout,
    ) -> Result<RawMap> {
        let kind = header.kind.name();
        if let Some(why) = layout_problem(key, value) {
            return Err(region.invalid_argument(kind, why));
        }
        let slot = fmt::slot_layout(key.elem(), value).expect("checked by layout_problem");
        if (region.len() as u64) < fmt::HEADER_SIZE {
            return Err(region.mismatch(
                kind,
                format!(
                    "entry size {} is smaller than the {}-byte header",
                    region.len(),
                    fmt::HEADER_SIZE
                ),
            ));
        }
        let capacity = u64::from(region.read_u32(fmt::CAPACITY as usize));
        if capacity == 0 {
            return Err(region.mismatch(kind, "stored capacity is 0"));
        }
        let word8 = (header.word8, key.elem().size() as u32);
        for (off, (what, want)) in [(fmt::KEY_SIZE, word8), (fmt::VALUE_SIZE, header.word12)] {
            let got = region.read_u32(off as usize);
            if got != want {
                return Err(region.mismatch(
                    kind,
                    format!("{what} is {got}, expected {want} (wrong type parameters?)"),
                ));
            }
        }
        match fmt::entry_size(capacity, key.elem(), value) {
            Some(t) if t == region.len() as u64 => {}
            _ => {
                return Err(region.mismatch(
                    kind,
                    format!(
                        "{} + capacity {capacity} x slot size {} does not equal the entry size {}",
                        fmt::HEADER_SIZE,
                        slot.stride,
                        region.len()
                    ),
                ))
            }
        }
        let map = RawMap {
            region,
            kind,
            capacity,
            key,
            value,
            key_off: slot.key as usize,
            val_off: slot.value as usize,
            stride: slot.stride as usize,
        };
        map.check_size_word()?;
        map.check_slot_states()?;
        Ok(map)
    }

    /// Open check: `size` within `0..=capacity` (module doc, "Opening the
    /// wrong kind"). A C++ inserter counts after publishing, so a racing
    /// removal can wrap `size` below zero for a moment: an out-of-range
    /// value is re-read for up to [`SIZE_SETTLE_WAIT`] before refusing.
    fn check_size_word(&self) -> Result<()> {
        let in_range = || {
            // Relaxed: a plain snapshot of a counter; nothing is read
            // through it.
            let raw = self.size().load(Ordering::Relaxed);
            if u64::from(raw) <= self.capacity {
                Ok(())
            } else {
                Err(raw)
            }
        };
        if in_range().is_ok() {
            return Ok(());
        }
        let settled = crate::wait::poll_until(Some(SIZE_SETTLE_WAIT), || in_range().ok());
        match (settled, in_range()) {
            (Some(()), _) | (None, Ok(())) => Ok(()),
            (None, Err(raw)) => Err(self.region.mismatch(
                self.kind,
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
    fn check_slot_states(&self) -> Result<()> {
        for s in 0..self.capacity {
            // Relaxed: only the value's range matters, not what it publishes.
            let st = self.state(s).load(Ordering::Relaxed);
            if st > fmt::INSERTING {
                return Err(self.region.mismatch(
                    self.kind,
                    format!(
                        "slot {s} has state {st}, not EMPTY/OCCUPIED/DELETED/INSERTING (0..=3): \
                         not a hash table (another kind's bytes?), or a corrupted one"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The structure's bytes.
    pub fn region(&self) -> &Region {
        &self.region
    }

    /// The key layout (size, alignment, how it hashes and compares).
    pub fn key(&self) -> KeyLayout {
        self.key
    }

    /// The value layout (zero-sized for a Set).
    pub fn value(&self) -> ElemLayout {
        self.value
    }

    /// Slot count (cached at open).
    #[inline]
    pub fn capacity(&self) -> usize {
        self.capacity as usize
    }

    /// Number of entries: `size` read as signed and clamped to
    /// `0..=capacity` (module doc, "Size").
    #[inline]
    pub fn len(&self) -> usize {
        // Relaxed: a snapshot of a counter; nothing is read through it.
        let raw = self.size().load(Ordering::Relaxed) as i32;
        (raw.max(0) as u64).min(self.capacity) as usize
    }

    /// True when [`RawMap::len`] is 0.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Inserts `key` or replaces its value (each slice exactly the key or
    /// value size, else [`Error::InvalidArgument`] and nothing changes).
    pub fn insert(&self, key: &[u8], value: &[u8]) -> Result<MapInsert> {
        let q = self.byte_key("insert", key)?;
        check_len(
            &self.region,
            self.kind,
            "insert: value",
            self.val_size(),
            value.len(),
        )?;
        Ok(MapInsert::from_slot(self.insert_with(&q, value, true)))
    }

    /// Copies the value stored for `key` into `out` (the value size);
    /// `Ok(false)` when the key is absent (`out` untouched).
    pub fn get(&self, key: &[u8], out: &mut [u8]) -> Result<bool> {
        let q = self.byte_key("get", key)?;
        check_len(
            &self.region,
            self.kind,
            "get: value out",
            self.val_size(),
            out.len(),
        )?;
        Ok(self
            .find_with(&q)
            .map(|v| self.copy_value(&v, out))
            .is_some())
    }

    /// True if `key` is present.
    pub fn contains(&self, key: &[u8]) -> Result<bool> {
        let q = self.byte_key("contains", key)?;
        Ok(self.find_with(&q).is_some())
    }

    /// Removes `key`, copying the value it had into `out` (the value size);
    /// `Ok(false)` when it was absent (`out` untouched).
    pub fn remove(&self, key: &[u8], out: &mut [u8]) -> Result<bool> {
        let q = self.byte_key("remove", key)?;
        check_len(
            &self.region,
            self.kind,
            "remove: value out",
            self.val_size(),
            out.len(),
        )?;
        Ok(self
            .remove_with(&q)
            .map(|v| self.copy_value(&v, out))
            .is_some())
    }

    /// Every entry's key and value bytes, slot by slot, without changing
    /// the map (each slot is copied under a momentary read claim, as
    /// [`RawMap::get`] does, and handed back OCCUPIED). Weakly consistent:
    /// each entry returned was present when read; entries added or removed
    /// meanwhile may or may not appear. Slots held by a writer are waited
    /// for, at most [`STUCK_SLOT_WAIT`] once per call (then skipped).
    ///
    /// ```
    /// use zeroipc::format::{map::KeyLayout, ElemLayout};
    /// use zeroipc::raw::RawMap;
    /// use zeroipc::Segment;
    /// let name = format!("/zeroipc-doc-rawmap-entries-{}", std::process::id());
    /// let seg = Segment::create(&name, 1 << 16)?;
    /// let m = RawMap::create(&seg, "m", KeyLayout::of::<u16>(), ElemLayout::of::<u16>(), 4)?;
    /// assert!(m.insert(&7u16.to_le_bytes(), &70u16.to_le_bytes())?.is_stored());
    /// assert_eq!(m.entries(), [(vec![7, 0], vec![70, 0])]);
    /// assert_eq!(m.len(), 1); // still there: entries() takes nothing out
    /// Segment::unlink(&name)?;
    /// # Ok::<(), zeroipc::Error>(())
    /// ```
    pub fn entries(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut gave_up = false;
        let key_size = self.key.elem().size() as usize;
        (0..self.capacity)
            .filter_map(|s| {
                self.read_slot(s, &mut gave_up, |off| {
                    let mut k = vec![0u8; key_size];
                    self.region.read_bytes(off, &mut k);
                    k
                })
            })
            .map(|(k, v)| (k, v[..self.val_size()].to_vec()))
            .collect()
    }

    /// `key` as a probe key, or the error naming both lengths.
    pub(crate) fn byte_key<'a>(&self, op: &str, key: &'a [u8]) -> Result<ByteKey<'a>> {
        let want = self.key.elem().size() as usize;
        if key.len() != want {
            return Err(self.region.invalid_argument(
                self.kind,
                format!(
                    "{op}: a key of {} bytes given, the key size is {want} bytes",
                    key.len()
                ),
            ));
        }
        Ok(ByteKey {
            layout: self.key,
            bytes: key,
        })
    }

    fn copy_value(&self, v: &ValBuf, out: &mut [u8]) {
        out.copy_from_slice(&v[..self.val_size()]);
    }

    #[inline]
    pub(crate) fn val_size(&self) -> usize {
        self.value.size() as usize
    }

    #[inline]
    fn size(&self) -> &AtomicU32 {
        self.region.atomic_u32(fmt::SIZE as usize)
    }

    #[inline]
    fn slot_off(&self, s: u64) -> usize {
        debug_assert!(s < self.capacity);
        fmt::SLOTS as usize + s as usize * self.stride
    }

    #[inline]
    fn state(&self, s: u64) -> &AtomicU32 {
        self.region
            .atomic_u32(self.slot_off(s) + fmt::SLOT_STATE as usize)
    }

    /// The slot probe `i` of hash `h` visits ([`fmt::probe_slot`]).
    #[inline]
    fn probe_slot(&self, h: u64, i: u64) -> u64 {
        // The capacity is at least 1 (checked at open), so this is `Some`.
        fmt::probe_slot(h, i, self.capacity).unwrap_or(0)
    }

    #[inline]
    fn key_at(&self, s: u64) -> usize {
        self.slot_off(s) + self.key_off
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
    #[inline]
    fn read_val(&self, s: u64) -> ValBuf {
        let mut buf = ValBuf::default();
        let n = self.val_size();
        let off = self.slot_off(s) + self.val_off;
        let r = &self.region;
        // Relaxed loads: the caller holds the slot's claim, acquired from
        // the release store that published these bytes.
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
    #[inline]
    fn write_val(&self, s: u64, v: &[u8]) {
        debug_assert_eq!(v.len(), self.val_size());
        let off = self.slot_off(s) + self.val_off;
        let r = &self.region;
        let mut w = ValBuf::default();
        w[..v.len()].copy_from_slice(v);
        // Relaxed stores: the release store that hands the slot back
        // publishes them.
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
        // Acquire: a settled slot's new key/value bytes are then visible.
        wait_until(w, Some(timeout), || {
            (w.load(Ordering::Acquire) != fmt::INSERTING).then_some(())
        })
        .is_some()
    }

    /// Spins briefly (the [`Backoff`]'s spin phase) for slot `s` to leave
    /// INSERTING; false if it did not.
    fn spin_settled(&self, s: u64) -> bool {
        let backoff = Backoff::new();
        for _ in 0..=Backoff::SPIN_LIMIT {
            // Acquire: as in `wait_settled`.
            if self.state(s).load(Ordering::Acquire) != fmt::INSERTING {
                return true;
            }
            backoff.spin();
        }
        self.state(s).load(Ordering::Acquire) != fmt::INSERTING
    }

    /// Whether slot `s` (just seen OCCUPIED, acquire) holds `q`, if it was
    /// still OCCUPIED after the key copy; `None` means "re-examine the slot".
    #[inline]
    fn stable_match<Q: ProbeKey>(&self, s: u64, q: &Q) -> Option<bool> {
        let matched = q.is_at(&self.region, self.key_at(s));
        // Orders the key copy before the state re-load (seqlock reader side).
        fence(Ordering::Acquire);
        (self.state(s).load(Ordering::Relaxed) == fmt::OCCUPIED).then_some(matched)
    }

    /// Insert (`update`: overwrite an existing key's value) following the
    /// three-phase protocol of the module doc. `value` has the value size.
    #[inline]
    pub(crate) fn insert_with<Q: ProbeKey>(&self, q: &Q, value: &[u8], update: bool) -> SlotInsert {
        let h = q.hash();
        // Slots presumed dead (INSERTING for longer than STUCK_SLOT_WAIT) for
        // the rest of this call; no allocation unless one is met.
        let mut dead: Vec<u64> = Vec::new();
        loop {
            // Phase 1: scan.
            let (pos, slot, prior) = match self.scan(q, h, value, update, &mut dead) {
                Ok(target) => target,
                Err(done) => return done,
            };
            // Phase 2: claim (SeqCst RMW, one side of the Dekker pair).
            if self
                .state(slot)
                .compare_exchange(prior, fmt::INSERTING, Ordering::SeqCst, Ordering::Relaxed)
                .is_err()
            {
                continue;
            }
            // Seqlock writer side: claim before the key/value stores.
            fence(Ordering::Release);
            q.write_to(&self.region, self.key_at(slot));
            self.write_val(slot, value);

            // Phase 3: re-scan.
            match self.rescan(q, h, pos, slot, &dead) {
                Rescan::Clear => {
                    // Count before publishing, so a removal of this entry
                    // (which must acquire our OCCUPIED) decrements after.
                    self.size().fetch_add(1, Ordering::Relaxed);
                    // Publish key and value.
                    self.state(slot).store(fmt::OCCUPIED, Ordering::Release);
                    return SlotInsert::New;
                }
                Rescan::Duplicate => {
                    RACES_DUPLICATE.fetch_add(1, Ordering::Relaxed);
                    // Give the claim back as a tombstone (never EMPTY: a
                    // chain must not shrink under a concurrent scanner).
                    self.state(slot).store(fmt::DELETED, Ordering::Release);
                    if !update {
                        return SlotInsert::Existing;
                    }
                    // Retry: finds the entry and updates it.
                }
                Rescan::Yield(other) => {
                    RACES_YIELD.fetch_add(1, Ordering::Relaxed);
                    self.state(slot).store(fmt::DELETED, Ordering::Release);
                    if !self.wait_settled(other, STUCK_SLOT_WAIT) {
                        dead.push(other);
                        STUCK_SKIPS.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
    }

    /// Phase 1 of insert: walks the chain of `q`. Returns the target to
    /// claim `(chain position, slot, state seen)`, or the insert's result
    /// when it ends here (the key found, and updated if `update`; or full).
    #[inline]
    fn scan<Q: ProbeKey>(
        &self,
        q: &Q,
        h: u64,
        value: &[u8],
        update: bool,
        dead: &mut Vec<u64>,
    ) -> std::result::Result<(u64, u64, u32), SlotInsert> {
        let cap = self.capacity;
        let mut first_deleted: Option<(u64, u64)> = None;
        let mut first_empty: Option<(u64, u64)> = None;
        'scan: for i in 0..cap {
            let s = self.probe_slot(h, i);
            loop {
                // SeqCst loads: the re-scan argument needs every non-EMPTY
                // state this scan saw to be seen by a later re-scanner.
                match self.state(s).load(Ordering::SeqCst) {
                    fmt::EMPTY => {
                        first_empty = Some((i, s));
                        break 'scan;
                    }
                    fmt::DELETED => {
                        first_deleted.get_or_insert((i, s));
                        continue 'scan;
                    }
                    fmt::OCCUPIED => match self.stable_match(s, q) {
                        None => continue, // changed under us: re-examine
                        Some(false) => continue 'scan,
                        Some(true) if !update => return Err(SlotInsert::Existing),
                        Some(true) => match self.update_value(s, q, value) {
                            Some(true) => return Err(SlotInsert::Existing),
                            Some(false) => continue 'scan,
                            None => continue, // lost the claim: re-examine
                        },
                    },
                    fmt::INSERTING => {
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
        first_deleted
            .map(|(i, s)| (i, s, fmt::DELETED))
            .or(first_empty.map(|(i, s)| (i, s, fmt::EMPTY)))
            .ok_or(SlotInsert::Full)
    }

    /// Update of slot `s`, seen OCCUPIED with `q`: claims it, re-checks the
    /// key, writes `value` if it still matches, hands the slot back.
    /// `Some(true)` updated, `Some(false)` the slot holds another key by
    /// now, `None` the claim was lost.
    #[inline]
    fn update_value<Q: ProbeKey>(&self, s: u64, q: &Q, value: &[u8]) -> Option<bool> {
        // The one claim routine: OCCUPIED -> INSERTING (acquire: we then own
        // the key/value bytes, and see the last writer's), handed back
        // OCCUPIED with a release store that publishes the new value (or
        // hands the slot back untouched if it was erased and refilled with
        // another key since we compared).
        self.with_claim(s, |off| {
            // Seqlock writer side: the claim is ordered before our value
            // store for any optimistic reader (`stable_match`).
            fence(Ordering::Release);
            let still_ours = q.is_at(&self.region, off + self.key_off);
            if still_ours {
                self.write_val(s, value);
            }
            (still_ours, fmt::OCCUPIED)
        })
    }

    /// Phase 3 of insert: look for the key or a competing claim on the
    /// chain, skipping our own slot `mine` at chain position `my_pos`.
    #[inline]
    fn rescan<Q: ProbeKey>(&self, q: &Q, h: u64, my_pos: u64, mine: u64, dead: &[u64]) -> Rescan {
        let cap = self.capacity;
        'scan: for i in 0..cap {
            let s = self.probe_slot(h, i);
            if s == mine {
                continue;
            }
            loop {
                // SeqCst: the other side of the Dekker pair with a competing
                // claim (module doc); also acquires a publisher's key bytes.
                match self.state(s).load(Ordering::SeqCst) {
                    fmt::EMPTY => return Rescan::Clear,
                    fmt::OCCUPIED => match self.stable_match(s, q) {
                        Some(true) => return Rescan::Duplicate,
                        Some(false) => continue 'scan,
                        None => {} // re-examine
                    },
                    fmt::INSERTING => {
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

    /// Walks the chain of `q`, waiting (bounded) on INSERTING slots, and
    /// calls `hit` on each slot seen OCCUPIED whose key equals `q`. `hit`
    /// finishes (`Step::Done`), moves on (`Step::Next`) or asks to
    /// re-examine the slot because it changed under us (`Step::Retry`);
    /// after [`MAX_READ_RETRIES`] re-examinations the slot is skipped.
    #[inline]
    fn probe<Q: ProbeKey, R>(&self, q: &Q, mut hit: impl FnMut(u64) -> Step<R>) -> Option<R> {
        let cap = self.capacity;
        let h = q.hash();
        let mut dead: Vec<u64> = Vec::new();
        'scan: for i in 0..cap {
            let s = self.probe_slot(h, i);
            let mut retries = 0u32;
            let backoff = Backoff::new();
            loop {
                // Acquire: an OCCUPIED slot's key bytes are then visible.
                match self.state(s).load(Ordering::Acquire) {
                    fmt::EMPTY => return None,
                    fmt::INSERTING => {
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
                    fmt::OCCUPIED => {
                        // An unclaimed compare: `hit` re-checks under a claim.
                        if !q.is_at(&self.region, self.key_at(s)) {
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
                                backoff.spin();
                            }
                        }
                    }
                    _ => continue 'scan,
                }
            }
        }
        None
    }

    /// The value of `q`, copied under a read claim (module doc, #12).
    #[inline]
    pub(crate) fn find_with<Q: ProbeKey>(&self, q: &Q) -> Option<ValBuf> {
        self.probe(q, |s| {
            let copy = self.with_claim(s, |_| {
                let v = q
                    .is_at(&self.region, self.key_at(s))
                    .then(|| self.read_val(s));
                (v, fmt::OCCUPIED)
            });
            match copy {
                None => Step::Retry,
                Some(Some(v)) => Step::Done(v),
                // Erased and refilled with another key since `probe` compared.
                Some(None) => Step::Next,
            }
        })
    }

    /// Removes `q`: claim, check the key, copy the value, `size -= 1`,
    /// store DELETED. Returns the removed value.
    #[inline]
    pub(crate) fn remove_with<Q: ProbeKey>(&self, q: &Q) -> Option<ValBuf> {
        self.probe(q, |s| {
            let copy = self.with_claim(s, |_| {
                if !q.is_at(&self.region, self.key_at(s)) {
                    return (None, fmt::OCCUPIED); // refilled with another key: hand back
                }
                let v = self.read_val(s);
                // Under our claim, after the inserter's increment (we
                // acquired its OCCUPIED), so `size` never wraps for us.
                self.size().fetch_sub(1, Ordering::Relaxed);
                // The tombstone keeps the bytes, as the reference's does.
                (Some(v), fmt::DELETED)
            });
            match copy {
                None => Step::Retry,
                Some(Some(v)) => Step::Done(v),
                Some(None) => Step::Next,
            }
        })
    }

    /// The one routine that claims a published slot, and so the one that
    /// reads a slot's contents (lookups, removals, updates and iteration;
    /// module doc, #12): claims slot `s` (OCCUPIED -> INSERTING), runs
    /// `body` on the slot's offset while nobody else may write its key and
    /// value, and hands the slot back in the state `body` returns
    /// (OCCUPIED: unchanged or updated; DELETED: removed). `None` if the
    /// slot was not OCCUPIED at the claim.
    #[inline]
    fn with_claim<R>(&self, s: u64, body: impl FnOnce(usize) -> (R, u32)) -> Option<R> {
        // Exclusive claim. Acquire: pairs with the release store that
        // published (or last handed back) the slot, so its key and value
        // bytes are visible; no writer touches them until we store below.
        self.state(s)
            .compare_exchange(
                fmt::OCCUPIED,
                fmt::INSERTING,
                Ordering::Acquire,
                Ordering::Relaxed,
            )
            .ok()?;
        let (r, next) = body(self.slot_off(s));
        debug_assert!(next == fmt::OCCUPIED || next == fmt::DELETED);
        // Release: our copies or value store (and a removal's size
        // decrement) happen before the next claimer's accesses to the slot.
        self.state(s).store(next, Ordering::Release);
        Some(r)
    }

    /// The key (as `copy_key` copies it from the key's offset) and value of
    /// slot `s` for an iteration, copied under a read claim
    /// ([`RawMap::with_claim`]) if the slot holds an entry. An INSERTING
    /// slot (a writer or another reader at work) is waited for: up to
    /// [`STUCK_SLOT_WAIT`] while `*gave_up` is false, after which the slot
    /// is skipped and `*gave_up` set, then only a short spin, so one
    /// iteration over many stuck slots costs one bounded wait.
    pub(crate) fn read_slot<R>(
        &self,
        s: u64,
        gave_up: &mut bool,
        mut copy_key: impl FnMut(usize) -> R,
    ) -> Option<(R, ValBuf)> {
        let backoff = Backoff::new();
        for _ in 0..MAX_READ_RETRIES {
            // Acquire: as in `probe`.
            match self.state(s).load(Ordering::Acquire) {
                fmt::OCCUPIED => {
                    let copy = self.with_claim(s, |_| {
                        ((copy_key(self.key_at(s)), self.read_val(s)), fmt::OCCUPIED)
                    });
                    if copy.is_some() {
                        return copy;
                    }
                    // Claimed or changed between the load and the CAS.
                    backoff.spin();
                }
                fmt::INSERTING => {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::ElemLayout;

    fn seg(tag: &str) -> (String, Segment) {
        let name = format!("/zeroipc-unit-rawmap-{tag}-{}", std::process::id());
        let _ = Segment::unlink(&name);
        let seg = Segment::create(&name, 1 << 16).unwrap();
        (name, seg)
    }

    /// A peer that died holding a claim (slot left INSERTING) on the chain
    /// costs one bounded wait per operation, not a hang.
    #[test]
    fn a_slot_left_inserting_is_skipped_after_a_bounded_wait() {
        let (name, seg) = seg("stuck");
        let m = RawMap::create(
            &seg,
            "m",
            KeyLayout::of::<u32>(),
            ElemLayout::of::<u32>(),
            8,
        )
        .unwrap();
        let home = (key_hash(&5u32) % 8) as usize;
        let state = fmt::SLOTS as usize + home * m.stride;
        m.region()
            .atomic_u32(state)
            .store(fmt::INSERTING, Ordering::SeqCst);
        let before = insert_races().stuck_skips;
        let t = std::time::Instant::now();
        let key = 5u32.to_le_bytes();
        assert_eq!(
            m.insert(&key, &50u32.to_le_bytes()).unwrap(),
            MapInsert::Inserted
        );
        assert!(t.elapsed() >= STUCK_SLOT_WAIT);
        assert!(insert_races().stuck_skips > before);
        let mut out = [0u8; 4];
        assert!(m.get(&key, &mut out).unwrap());
        assert_eq!(u32::from_le_bytes(out), 50);
        assert!(m.remove(&key, &mut out).unwrap());
        assert!(t.elapsed() < Duration::from_secs(30), "hung");
        // The stuck slot itself was never touched.
        assert_eq!(
            m.region().atomic_u32(state).load(Ordering::SeqCst),
            fmt::INSERTING
        );
        drop(m);
        Segment::unlink(&name).unwrap();
    }

    /// Layouts the format cannot hold are refused at creation, naming the
    /// values, before anything is allocated.
    #[test]
    fn unsupported_layouts_are_refused_clearly() {
        let (name, seg) = seg("layouts");
        let k = KeyLayout::of::<u32>();
        let big = ElemLayout::new(12, 4).unwrap();
        let e = RawMap::create(&seg, "m", k, big, 4)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("value size 12 exceeds the format's 8 bytes"),
            "{e}"
        );
        let wide = KeyLayout::bytes(ElemLayout::new(16, 16).unwrap());
        let e = RawMap::create(&seg, "m", wide, ElemLayout::of::<u8>(), 4)
            .unwrap_err()
            .to_string();
        assert!(e.contains("key alignment 16"), "{e}");
        let e = RawMap::create(&seg, "m", k, ElemLayout::of::<u8>(), 0)
            .unwrap_err()
            .to_string();
        assert!(e.contains("capacity 0 is outside 1..=4294967295"), "{e}");
        assert!(matches!(
            seg.region("m"),
            Err(Error::StructureNotFound { .. })
        ));
        drop(seg);
        Segment::unlink(&name).unwrap();
    }
}
