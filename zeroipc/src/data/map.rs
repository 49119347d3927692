//! `Map<K, V>`: a fixed-capacity open-addressing hash map, byte- and
//! protocol-compatible with the ZeroIPC C++ reference `map.h` (not with the
//! Python `Map`, whose layout and hash differ; docs/FORMAT.md §7). The
//! normative layout is docs/FORMAT.md §4.1; the offsets are
//! [`crate::format::map`].
//!
//! [`Map`] is a typed veneer over [`RawMap`], which holds the whole
//! protocol (the insert with its claim and re-scan, lookups and removals
//! under a claim, the bounded waits on stuck slots, the open checks) and
//! documents it, with how it fixes the reference's defects. The veneer
//! only converts keys and values: its key compare and copy are `K`'s own
//! (no run-time dispatch on the key's layout), and every method inlines.
//!
//! Forms (docs/ARCHITECTURE.md §Conventions): Map is queue-like, and none of
//! its operations blocks: [`Map::insert`] returns [`MapInsert::Full`] at once
//! when the key's chain has no free slot, lookups and removals return
//! `None` when the key is absent. The only wait is the bounded one on a
//! slot another process left mid-write ([`STUCK_SLOT_WAIT`]), so there are
//! no `try_` or `_timeout` forms.

use crate::element::{bytes_of, from_bytes, ShmElement};
use crate::error::Result;
use crate::format::map::KeyLayout;
use crate::format::ElemLayout;
use crate::raw::map::{RawMap, TypedKey, ValBuf};
use crate::region::Region;
use crate::segment::Segment;
use std::marker::PhantomData;

pub use crate::raw::map::{insert_races, InsertRaces, MapInsert, STUCK_SLOT_WAIT};

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
    raw: RawMap,
    _t: PhantomData<(K, V)>,
}

impl<K: ShmElement, V: ShmElement> std::fmt::Debug for Map<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Map").field("raw", &self.raw).finish()
    }
}

impl<K: ShmElement, V: ShmElement> Map<K, V> {
    /// The value layout, refusing at compile time what the format cannot
    /// hold.
    const VALUE: ElemLayout = {
        assert!(
            size_of::<V>() as u64 <= crate::format::map::MAX_VALUE_SIZE,
            "Map values are at most 8 bytes (C++ reference constraint)"
        );
        ElemLayout::of::<V>()
    };

    /// Creates a map with exactly `capacity` slots (no rounding; 0 and
    /// values above `u32::MAX` are refused). A self-describing segment
    /// records it as a Map of `K` and `V`.
    pub fn create(seg: &Segment, name: &str, capacity: usize) -> Result<Self> {
        let fingerprints = [Some(K::LAYOUT.fingerprint()), Some(V::LAYOUT.fingerprint())];
        let raw = RawMap::create_with(
            seg,
            name,
            KeyLayout::of::<K>(),
            Self::VALUE,
            fingerprints,
            capacity,
        )?;
        Ok(Self::wrap(raw))
    }

    /// Opens the map named `name`, checking key and value sizes, capacity and
    /// entry size; a structure a self-describing segment records as another
    /// kind is refused ([`crate::Error::WrongKind`]).
    pub fn open(seg: &Segment, name: &str) -> Result<Self> {
        let raw = RawMap::open(seg, name, Some(KeyLayout::of::<K>()), Some(Self::VALUE))?;
        Ok(Self::wrap(raw))
    }

    fn wrap(raw: RawMap) -> Self {
        Map {
            raw,
            _t: PhantomData,
        }
    }

    /// Inserts `key` or replaces its value. See [`MapInsert`].
    #[inline]
    pub fn insert(&self, key: K, value: V) -> MapInsert {
        MapInsert::from_slot(
            self.raw
                .insert_with(&TypedKey(&key), bytes_of(&value), true),
        )
    }

    /// A copy of the value stored for `key`.
    #[inline]
    pub fn get(&self, key: &K) -> Option<V> {
        self.raw.find_with(&TypedKey(key)).map(|v| Self::value(&v))
    }

    /// True if `key` is present.
    #[inline]
    pub fn contains(&self, key: &K) -> bool {
        self.raw.find_with(&TypedKey(key)).is_some()
    }

    /// Removes `key`, returning the value it had.
    #[inline]
    pub fn remove(&self, key: &K) -> Option<V> {
        self.raw
            .remove_with(&TypedKey(key))
            .map(|v| Self::value(&v))
    }

    /// The `V` in the first `size_of::<V>()` bytes of a copied value.
    #[inline]
    fn value(v: &ValBuf) -> V {
        // `VALUE` checked at compile time that `V` fits the buffer, so the
        // slice has exactly `size_of::<V>()` bytes and this never fails.
        from_bytes::<V>(&v[..size_of::<V>()]).expect("V fits the 8-byte value buffer")
    }

    /// Number of entries (a snapshot of the shared counter, clamped to
    /// `0..=capacity`; see [`RawMap::len`]).
    #[inline]
    pub fn len(&self) -> usize {
        self.raw.len()
    }

    /// True when [`Map::len`] is 0.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Slot count (cached at open).
    #[inline]
    pub fn capacity(&self) -> usize {
        self.raw.capacity()
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
        let region = self.raw.region();
        (0..self.raw.capacity() as u64).filter_map(move |s| {
            self.raw
                .read_slot(s, &mut gave_up, |off| region.read::<K>(off))
                .map(|(k, v)| (k, Self::value(&v)))
        })
    }

    /// All entries, copied (see [`Map::iter`]).
    pub fn entries(&self) -> Vec<(K, V)> {
        self.iter().collect()
    }

    /// The underlying region.
    pub fn region(&self) -> &Region {
        self.raw.region()
    }

    /// The byte-level map this veneer wraps (for tools).
    ///
    /// ```
    /// use zeroipc::{Map, Segment};
    /// let name = format!("/zeroipc-doc-map-raw-{}", std::process::id());
    /// let seg = Segment::create(&name, 1 << 16)?;
    /// let m = Map::<u32, u32>::create(&seg, "m", 4)?;
    /// assert!(m.insert(1, 2).is_stored());
    /// assert_eq!(m.raw().entries(), [(1u32.to_le_bytes().to_vec(), 2u32.to_le_bytes().to_vec())]);
    /// Segment::unlink(&name)?;
    /// # Ok::<(), zeroipc::Error>(())
    /// ```
    pub fn raw(&self) -> &RawMap {
        &self.raw
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::element::ShmElement;
    use crate::layout::{Field, Kind, TypeLayout};
    use std::sync::atomic::Ordering;
    use std::time::Duration;

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

    fn lay<K: ShmElement, V: ShmElement>() -> (u64, u64, u64) {
        let l =
            crate::format::map::slot_layout(ElemLayout::of::<K>(), ElemLayout::of::<V>()).unwrap();
        (l.stride, l.key, l.value)
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

    /// docs/FORMAT.md §4.1 examples (E, key @, value @).
    #[test]
    fn map_slot_layouts_match_the_reference() {
        assert_eq!(lay::<i32, i32>(), (12, 4, 8));
        assert_eq!(lay::<i32, i64>(), (16, 4, 8));
        assert_eq!(lay::<i32, f64>(), (16, 4, 8));
        assert_eq!(lay::<i64, i32>(), (24, 8, 16));
        assert_eq!(lay::<i64, i64>(), (24, 8, 16));
        assert_eq!(lay::<u8, u8>(), (8, 4, 5));
        assert_eq!(lay::<[u8; 3], i16>(), (12, 4, 8));
        assert_eq!(lay::<Three, i32>(), (20, 4, 16));
        // maps.bin's byfloat: Map<double, int32_t>
        assert_eq!(lay::<f64, i32>(), (24, 8, 16));
    }

    /// docs/FORMAT.md §4.2: i32 -> 8 (@4), i64/f64 -> 16 (@8), u8 -> 8
    /// (@4), struct{i32 x3} -> 16 (@4).
    #[test]
    fn set_slot_layouts_match_the_reference() {
        fn set<T: ShmElement>() -> (u64, u64) {
            let l = crate::format::set::slot_layout(ElemLayout::of::<T>()).unwrap();
            (l.stride, l.key)
        }
        assert_eq!(set::<i32>(), (8, 4));
        assert_eq!(set::<i64>(), (16, 8));
        assert_eq!(set::<f64>(), (16, 8));
        assert_eq!(set::<u8>(), (8, 4));
        assert_eq!(set::<Three>(), (16, 4));
    }
}
