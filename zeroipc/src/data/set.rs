//! `Set<T>`: a fixed-capacity open-addressing hash set, byte- and
//! protocol-compatible with the ZeroIPC C++ reference `set.h` (not with the
//! Python `Set`, which is a Python `Map` with a dummy value and a different
//! hash; docs/FORMAT.md §7). The normative layout is docs/FORMAT.md §4.2;
//! the offsets are [`crate::format::set`].
//!
//! [`Set`] is a typed veneer over [`RawSet`], which is the Map table with a
//! zero-sized value: the protocol, its fixes of the reference's defects and
//! the open checks (including what cannot tell a set from a stack) are
//! documented in [`crate::raw::map`] and [`crate::raw::set`]. The veneer
//! only converts values; its compare and copy are `T`'s own.
//!
//! Forms (docs/ARCHITECTURE.md §Conventions): Set is queue-like, and none of
//! its operations blocks: [`Set::insert`] returns [`SetInsert::Full`] at once
//! when the value's chain has no free slot. The only wait is the bounded one
//! on a slot another process left mid-write
//! ([`crate::data::map::STUCK_SLOT_WAIT`]), so there are no `try_` or
//! `_timeout` forms.

use crate::element::ShmElement;
use crate::error::Result;
use crate::format::map::KeyLayout;
use crate::raw::map::TypedKey;
use crate::raw::set::RawSet;
use crate::region::Region;
use crate::segment::Segment;
use std::marker::PhantomData;

pub use crate::raw::set::SetInsert;

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
    raw: RawSet,
    _t: PhantomData<T>,
}

impl<T: ShmElement> std::fmt::Debug for Set<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Set").field("raw", &self.raw).finish()
    }
}

impl<T: ShmElement> Set<T> {
    /// Creates a set with exactly `capacity` slots (0 and values above
    /// `u32::MAX` are refused). A self-describing segment records it as a
    /// Set of `T`.
    pub fn create(seg: &Segment, name: &str, capacity: usize) -> Result<Self> {
        let fingerprint = Some(T::LAYOUT.fingerprint());
        let raw = RawSet::create_with(seg, name, KeyLayout::of::<T>(), fingerprint, capacity)?;
        Ok(Self::wrap(raw))
    }

    /// Opens the set named `name`, checking element size, the reserved word,
    /// capacity and entry size; a structure a self-describing segment
    /// records as another kind (a Stack of the same size) is refused
    /// ([`crate::Error::WrongKind`]).
    pub fn open(seg: &Segment, name: &str) -> Result<Self> {
        let raw = RawSet::open(seg, name, Some(KeyLayout::of::<T>()))?;
        Ok(Self::wrap(raw))
    }

    fn wrap(raw: RawSet) -> Self {
        Set {
            raw,
            _t: PhantomData,
        }
    }

    /// Adds `value` unless it is already a member. See [`SetInsert`].
    #[inline]
    pub fn insert(&self, value: T) -> SetInsert {
        SetInsert::from_slot(self.raw.table().insert_with(&TypedKey(&value), &[], false))
    }

    /// True if `value` is a member.
    #[inline]
    pub fn contains(&self, value: &T) -> bool {
        self.raw.table().find_with(&TypedKey(value)).is_some()
    }

    /// Removes `value`; true if it was a member.
    #[inline]
    pub fn remove(&self, value: &T) -> bool {
        self.raw.table().remove_with(&TypedKey(value)).is_some()
    }

    /// Number of members (a snapshot, clamped to `0..=capacity`).
    #[inline]
    pub fn len(&self) -> usize {
        self.raw.len()
    }

    /// True when [`Set::len`] is 0.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Slot count (cached at open).
    #[inline]
    pub fn capacity(&self) -> usize {
        self.raw.capacity()
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
        let table = self.raw.table();
        let region = table.region();
        (0..table.capacity() as u64).filter_map(move |s| {
            table
                .read_slot(s, &mut gave_up, |off| region.read::<T>(off))
                .map(|(k, _)| k)
        })
    }

    /// All members, copied.
    pub fn to_vec(&self) -> Vec<T> {
        self.iter().collect()
    }

    /// The underlying region.
    pub fn region(&self) -> &Region {
        self.raw.region()
    }

    /// The byte-level set this veneer wraps (for tools).
    ///
    /// ```
    /// use zeroipc::{Segment, Set};
    /// let name = format!("/zeroipc-doc-set-raw-{}", std::process::id());
    /// let seg = Segment::create(&name, 1 << 16)?;
    /// let s = Set::<u8>::create(&seg, "s", 4)?;
    /// assert!(s.insert(3).is_inserted());
    /// assert!(s.raw().contains(&[3])?);
    /// Segment::unlink(&name)?;
    /// # Ok::<(), zeroipc::Error>(())
    /// ```
    pub fn raw(&self) -> &RawSet {
        &self.raw
    }
}
