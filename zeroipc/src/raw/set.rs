//! [`RawSet`]: the Set protocol over bytes, with the element layout known
//! at run time; byte- and protocol-compatible with the ZeroIPC C++
//! reference `set.h` (not with the Python `Set`, a Python `Map` with a dummy
//! value and a different hash; docs/FORMAT.md §7). The normative layout is
//! docs/FORMAT.md §4.2; the offsets are [`crate::format::set`].
//!
//! A set slot is a Map slot with a zero-sized value
//! ([`crate::format::set::NO_VALUE`]) and the header is a Map header whose
//! word at +12 is 0, so a `RawSet` is a [`RawMap`] table: the same hash,
//! probing, state machine, claim routine and fixes of the reference's
//! defects (the argument and the remaining limits are in
//! [`crate::raw::map`]). In particular two of our processes inserting the
//! same absent element concurrently never both add it (claim, then re-scan
//! the chain before publishing), lookups wait (bounded) on INSERTING slots
//! instead of skipping them as the C++ `contains` does, removal claims the
//! slot before tombstoning it, and `size` is incremented before publishing.
//! Iteration copies each slot under a read claim, as lookups do. No
//! operation blocks beyond the bounded wait on a stuck slot (an insert into
//! a full chain returns [`SetInsert::Full`] at once).
//!
//! # Opening the wrong kind
//!
//! The header has no kind tag: a `Stack<u32>` of an even capacity has this
//! set's entry size and the same words at +4, +8 and +12. Open also checks
//! `size <= capacity` (an empty stack's top of -1 reads as 4294967295) and
//! that every slot state is 0..=3; a non-empty stack whose element words
//! happen to be 0..=3 still opens as a set (see [`crate::raw::map`]).
//!
//! ```
//! use zeroipc::format::{map::KeyLayout, ElemLayout};
//! use zeroipc::raw::set::{RawSet, SetInsert};
//! use zeroipc::{Segment, Set};
//! let name = format!("/zeroipc-doc-rawset-{}", std::process::id());
//! let seg = Segment::create(&name, 1 << 16)?;
//! let raw = RawSet::create(&seg, "s", KeyLayout::bytes(ElemLayout::new(3, 1).unwrap()), 8)?;
//! assert_eq!(raw.insert(b"abc")?, SetInsert::Inserted);
//! let typed = Set::<[u8; 3]>::open(&seg, "s")?;
//! assert_eq!(typed.insert(*b"abc"), SetInsert::Present);
//! assert!(raw.insert(b"abcd").is_err()); // wrong length: refused, nothing written
//! assert_eq!(raw.members(), [b"abc".to_vec()]);
//! assert!(raw.remove(b"abc")? && typed.is_empty());
//! Segment::unlink(&name)?;
//! # Ok::<(), zeroipc::Error>(())
//! ```

use crate::error::Result;
use crate::format::map::KeyLayout;
use crate::format::set as fmt;
use crate::format::StructureKind;
use crate::raw::map::{Header, RawMap, SlotInsert};
use crate::region::Region;
use crate::segment::Segment;

const HEADER: Header = Header {
    kind: StructureKind::Set,
    word8: "elem_size",
    word12: (
        "reserved word (a Python-created Set stores 1 and is not C++-compatible)",
        0,
    ),
};

/// Outcome of a set insert ([`RawSet::insert`], [`crate::Set::insert`]).
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetInsert {
    /// The value was absent and has been added.
    Inserted,
    /// The value was already a member (the C++ `insert`'s `false`).
    Present,
    /// The value was absent and its probe chain has no free slot.
    Full,
}

impl SetInsert {
    /// True only for `Inserted` (the C++ `insert`'s `true`).
    ///
    /// ```
    /// use zeroipc::raw::set::SetInsert;
    /// assert!(SetInsert::Inserted.is_inserted() && !SetInsert::Present.is_inserted());
    /// ```
    pub fn is_inserted(self) -> bool {
        matches!(self, SetInsert::Inserted)
    }

    #[inline]
    pub(crate) fn from_slot(r: SlotInsert) -> SetInsert {
        match r {
            SlotInsert::New => SetInsert::Inserted,
            SlotInsert::Existing => SetInsert::Present,
            SlotInsert::Full => SetInsert::Full,
        }
    }
}

/// A Set in a segment with its element layout known at run time (the
/// element is the table's key; the value is zero-sized). A self-describing
/// segment records the kind, the element layout and, for a primitive
/// element, its type.
#[derive(Debug)]
pub struct RawSet {
    table: RawMap,
}

impl RawSet {
    /// Creates a set of exactly `capacity` slots (0 and values above
    /// `u32::MAX` are refused, as are alignments above 8).
    pub fn create(seg: &Segment, name: &str, elem: KeyLayout, capacity: usize) -> Result<RawSet> {
        Self::create_with(seg, name, elem, elem.fingerprint(), capacity)
    }

    /// [`RawSet::create`] recording the element type's fingerprint (the
    /// typed veneer knows it).
    #[inline]
    pub(crate) fn create_with(
        seg: &Segment,
        name: &str,
        elem: KeyLayout,
        fingerprint: Option<u64>,
        capacity: usize,
    ) -> Result<RawSet> {
        let fingerprints = [fingerprint, None];
        let table = RawMap::create_table(
            seg,
            name,
            HEADER,
            elem,
            fmt::NO_VALUE,
            fingerprints,
            capacity,
        )?;
        Ok(RawSet { table })
    }

    /// Opens the set `name`, checking the element size, the reserved word,
    /// capacity and entry size (and a self-describing segment's record).
    /// With `elem` `None`, the layout recorded in the segment's
    /// self-description is used; an element of a segment that records none
    /// must be given (integers, floats and bytes hash differently, which
    /// the header cannot tell).
    ///
    /// ```
    /// use zeroipc::format::map::KeyLayout;
    /// use zeroipc::raw::RawSet;
    /// use zeroipc::{Segment, SegmentOptions, Set};
    /// let name = format!("/zeroipc-doc-rawset-open-{}", std::process::id());
    /// let seg = SegmentOptions::new().size(1 << 16).self_describing(true).create(&name)?;
    /// assert!(Set::<f32>::create(&seg, "s", 4)?.insert(0.0).is_inserted());
    /// let raw = RawSet::open(&seg, "s", None)?; // layout and float equality from the record
    /// assert_eq!(raw.elem(), KeyLayout::of::<f32>());
    /// assert_eq!(raw.members(), [0.0f32.to_le_bytes().to_vec()]);
    /// Segment::unlink(&name)?;
    /// # Ok::<(), zeroipc::Error>(())
    /// ```
    pub fn open(seg: &Segment, name: &str, elem: Option<KeyLayout>) -> Result<RawSet> {
        let table = RawMap::open_table(seg, name, HEADER, elem, None)?;
        Ok(RawSet { table })
    }

    /// The element layout.
    pub fn elem(&self) -> KeyLayout {
        self.table.key()
    }

    /// Adds `value` (exactly the element size, else
    /// [`crate::Error::InvalidArgument`] and nothing changes) unless it is
    /// already a member.
    pub fn insert(&self, value: &[u8]) -> Result<SetInsert> {
        let q = self.table.byte_key("insert", value)?;
        Ok(SetInsert::from_slot(self.table.insert_with(&q, &[], false)))
    }

    /// True if `value` is a member.
    pub fn contains(&self, value: &[u8]) -> Result<bool> {
        let q = self.table.byte_key("contains", value)?;
        Ok(self.table.find_with(&q).is_some())
    }

    /// Removes `value`; `Ok(true)` if it was a member.
    pub fn remove(&self, value: &[u8]) -> Result<bool> {
        let q = self.table.byte_key("remove", value)?;
        Ok(self.table.remove_with(&q).is_some())
    }

    /// Every member's bytes, slot by slot, without changing the set (see
    /// [`RawMap::entries`]: weakly consistent, one bounded wait per call).
    pub fn members(&self) -> Vec<Vec<u8>> {
        self.table.entries().into_iter().map(|(k, _)| k).collect()
    }

    /// Number of members (a snapshot, clamped to `0..=capacity`).
    #[inline]
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// True when [`RawSet::len`] is 0.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Slot count (cached at open).
    #[inline]
    pub fn capacity(&self) -> usize {
        self.table.capacity()
    }

    /// The structure's bytes.
    pub fn region(&self) -> &Region {
        self.table.region()
    }

    /// The table the set is (for the typed veneer).
    #[inline]
    pub(crate) fn table(&self) -> &RawMap {
        &self.table
    }
}
