//! `Set<T>`: a fixed-capacity open-addressing hash set (FORMAT.md §4,
//! REFERENCE-NOTES §4), byte- and protocol-compatible with the ZeroIPC C++
//! reference `set.h` (not with the Python `Set`, which is a Python `Map`
//! with a dummy value and a different hash; REFERENCE-NOTES §4.3).
//!
//! # Layout
//!
//! | off | field | notes |
//! |---|---|---|
//! | 0 | size: atomic u32 | members |
//! | 4 | capacity: u32 | slot count, exactly as created, > 0 |
//! | 8 | elem_size: u32 | `size_of::<T>()` |
//! | 12 | reserved: u32 | 0 (a Python-created set has 1 here and is refused) |
//! | 16 | slots | `capacity` entries `{state: atomic u32; T}` in C layout |
//!
//! Slot: state at 0, value at `vo = align_up(4, align T)`, stride
//! `align_up(vo + size T, max(4, align T))`; entry size `16 + E * capacity`.
//! This is exactly a [`crate::Map`] slot with a zero-sized value, and the
//! header is a Map header whose `value_size` is 0, so the set shares the
//! map's slot machinery (`HashSlots` in `map.rs`): same hash, probing, state
//! machine and fixes. In particular two of our processes inserting the same
//! absent element concurrently never both add it (claim, then re-scan the
//! chain before publishing), lookups wait (bounded) on INSERTING slots
//! instead of skipping them as the C++ `contains` does, removal claims the
//! slot before tombstoning it, and `size` is incremented before publishing.
//! The argument and the remaining limits are in the `map` module doc.
//! Iteration copies each slot under a read claim, as lookups do.
//!
//! # Opening the wrong kind
//!
//! The header has no kind tag: a `Stack<u32>` of an even capacity has this
//! set's entry size and the same words at +4, +8 and +12. Open also checks
//! `size <= capacity` (an empty stack's top of -1 reads as 4294967295) and
//! that every slot state is 0..=3; a non-empty stack whose element words
//! happen to be 0..=3 still opens as a set (see the `map` module doc).

use crate::data::map::{HashSlots, SlotInsert, SlotLayout};
use crate::element::ShmElement;
use crate::error::Result;
use crate::region::Region;
use crate::segment::Segment;
use std::marker::PhantomData;

const KIND: &str = "set";

/// Outcome of [`Set::insert`].
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
    pub fn is_inserted(self) -> bool {
        matches!(self, SetInsert::Inserted)
    }
}

/// A fixed-capacity hash set of `T` in shared memory, usable by many
/// processes at once (lock-free; C++ reference layout and protocol).
///
/// ```
/// use zeroipc::{Segment, Set};
/// use zeroipc::data::set::SetInsert;
/// let name = format!("/zeroipc-doc-set-{}", std::process::id());
/// let seg = Segment::create(&name, 1 << 16)?;
/// let ids = Set::<u32>::create(&seg, "ids", 32)?;
/// assert_eq!(ids.insert(7), SetInsert::Inserted);
/// assert_eq!(ids.insert(7), SetInsert::Present);
/// assert!(Set::<u32>::open(&seg, "ids")?.contains(&7));
/// assert!(ids.remove(&7));
/// assert!(!ids.contains(&7));
/// Segment::unlink(&name)?;
/// # Ok::<(), zeroipc::Error>(())
/// ```
pub struct Set<T: ShmElement> {
    slots: HashSlots,
    _t: PhantomData<T>,
}

impl<T: ShmElement> std::fmt::Debug for Set<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Set").field("slots", &self.slots).finish()
    }
}

impl<T: ShmElement> Set<T> {
    const LAYOUT: SlotLayout = SlotLayout::set::<T>();

    /// Entry size of a set of `capacity` slots (`None` on overflow).
    pub(crate) fn size_for(capacity: usize) -> Option<u64> {
        Self::LAYOUT.total(capacity as u64)
    }

    /// Writes a fresh header into the zeroed `region`.
    pub(crate) fn init_region(region: &Region, capacity: u32) {
        HashSlots::init_region(region, capacity, size_of::<T>() as u32, 0);
    }

    /// Validates `region` as a `Set<T>` and caches its capacity.
    pub(crate) fn from_region(region: Region) -> Result<Self> {
        let slots = HashSlots::from_region(
            region,
            KIND,
            Self::LAYOUT,
            ("elem_size", size_of::<T>() as u32),
            (
                "reserved word (a Python-created Set stores 1 and is not C++-compatible)",
                0,
            ),
        )?;
        Ok(Set {
            slots,
            _t: PhantomData,
        })
    }

    /// Creates a set with exactly `capacity` slots (0 and values above
    /// `u32::MAX` are refused).
    pub fn create(seg: &Segment, name: &str, capacity: usize) -> Result<Self> {
        let size = HashSlots::size_for(seg, KIND, name, Self::LAYOUT, capacity)?;
        debug_assert_eq!(Some(size), Self::size_for(capacity));
        let region = seg.register(name, size, |r| {
            Self::init_region(r, capacity as u32);
            Ok(())
        })?;
        Self::from_region(region)
    }

    /// Opens the set named `name`, checking element size, the reserved word,
    /// capacity and entry size.
    pub fn open(seg: &Segment, name: &str) -> Result<Self> {
        Self::from_region(seg.region(name)?)
    }

    /// Adds `value` unless it is already a member. See [`SetInsert`].
    pub fn insert(&self, value: T) -> SetInsert {
        match self.slots.insert(&value, &[], false) {
            SlotInsert::New => SetInsert::Inserted,
            SlotInsert::Existing => SetInsert::Present,
            SlotInsert::Full => SetInsert::Full,
        }
    }

    /// True if `value` is a member.
    pub fn contains(&self, value: &T) -> bool {
        self.slots.find(value).is_some()
    }

    /// Removes `value`; true if it was a member.
    pub fn remove(&self, value: &T) -> bool {
        self.slots.remove(value).is_some()
    }

    /// Number of members (a snapshot, clamped to `0..=capacity`).
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// True when [`Set::len`] is 0.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Slot count (cached at open).
    pub fn capacity(&self) -> usize {
        self.slots.capacity() as usize
    }

    /// Iterates over the members slot by slot (weakly consistent, each slot
    /// copied under a read claim, as [`crate::Map::iter`]).
    ///
    /// ```
    /// use zeroipc::{Segment, Set};
    /// let name = format!("/zeroipc-doc-set-iter-{}", std::process::id());
    /// let seg = Segment::create(&name, 1 << 16)?;
    /// let s = Set::<u16>::create(&seg, "s", 8)?;
    /// assert!(s.insert(3).is_inserted() && s.insert(5).is_inserted());
    /// let mut all: Vec<u16> = s.iter().collect();
    /// all.sort_unstable();
    /// assert_eq!(all, [3, 5]);
    /// Segment::unlink(&name)?;
    /// # Ok::<(), zeroipc::Error>(())
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = T> + '_ {
        let mut gave_up = false;
        (0..self.slots.capacity())
            .filter_map(move |s| self.slots.read_slot::<T>(s, &mut gave_up).map(|(k, _)| k))
    }

    /// All members, copied.
    pub fn to_vec(&self) -> Vec<T> {
        self.iter().collect()
    }

    /// The underlying region.
    pub fn region(&self) -> &Region {
        self.slots.region()
    }
}
