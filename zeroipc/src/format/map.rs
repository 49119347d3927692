//! `Map<K, V>`, open addressing with linear probing: one entry `name`.
//! The normative layout is docs/FORMAT.md §4.1, the key hash §5.
//!
//! | off | field |
//! |---|---|
//! | [`SIZE`] 0 | size: atomic u32, occupied slots |
//! | [`CAPACITY`] 4 | capacity: u32, slots, exactly as requested ([`MIN_CAPACITY`]`..=`[`MAX_CAPACITY`]) |
//! | [`KEY_SIZE`] 8 | key_size: u32 |
//! | [`VALUE_SIZE`] 12 | value_size: u32, at most [`MAX_VALUE_SIZE`] |
//! | [`SLOTS`] 16 | `capacity` slots `{state: atomic u32; K; V}` in C layout ([`slot_layout`]) |
//!
//! Slot states (the word at [`SLOT_STATE`]): [`EMPTY`] 0, [`OCCUPIED`] 1,
//! [`DELETED`] 2 (a tombstone), [`INSERTING`] 3 (an exclusive claim). Key
//! at `ko = align_up(4, align K)`, value at `vo = align_up(ko + size K,
//! align V)`, stride `align_up(vo + size V, max(4, align K, align V))`;
//! entry size `16 + stride * capacity` ([`entry_size`]). The key hash and
//! key equality over bytes are [`KeyLayout::hash`] and [`KeyLayout::keys_equal`]
//! ([`crate::format::key_hash`] is the typed form).
//!
//! ```
//! use zeroipc::format::{map, ElemLayout};
//! assert_eq!((map::SIZE, map::CAPACITY, map::KEY_SIZE, map::VALUE_SIZE, map::SLOTS), (0, 4, 8, 12, 16));
//! assert_eq!((map::EMPTY, map::OCCUPIED, map::DELETED, map::INSERTING), (0, 1, 2, 3));
//! let slot = map::slot_layout(ElemLayout::of::<i64>(), ElemLayout::of::<i32>()).unwrap();
//! assert_eq!((slot.key, slot.value, slot.stride), (8, 16, 24));
//! ```

use super::elem::{align_up, max_u64, ElemLayout};
use crate::element::ShmElement;
use crate::layout::{Prim, TypeLayout};

/// Offset of `size` (atomic u32).
pub const SIZE: u64 = 0;
/// Offset of `capacity` (u32).
pub const CAPACITY: u64 = 4;
/// Offset of `key_size` (u32).
pub const KEY_SIZE: u64 = 8;
/// Offset of `value_size` (u32).
pub const VALUE_SIZE: u64 = 12;
/// Offset of slot 0.
pub const SLOTS: u64 = 16;
/// Bytes of the header.
pub const HEADER_SIZE: u64 = 16;
/// Offset of the state word within a slot (atomic u32).
pub const SLOT_STATE: u64 = 0;
/// Slot state: never used; ends a probe chain.
pub const EMPTY: u32 = 0;
/// Slot state: holds a key and value.
pub const OCCUPIED: u32 = 1;
/// Slot state: a tombstone (still holding the old key and value).
pub const DELETED: u32 = 2;
/// Slot state: claimed by one process, which alone may touch key and value.
pub const INSERTING: u32 = 3;
/// Largest value size (a C++ reference constraint).
pub const MAX_VALUE_SIZE: u64 = 8;
/// Smallest capacity.
pub const MIN_CAPACITY: u64 = 1;
/// Largest capacity (the u32 field).
pub const MAX_CAPACITY: u64 = u32::MAX as u64;

/// Offsets inside one hash slot (Map and Set).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SlotLayout {
    /// Offset of the key (Set: the element) within the slot.
    pub key: u64,
    /// Offset of the value within the slot (Set: just past the element).
    pub value: u64,
    /// Bytes from one slot to the next.
    pub stride: u64,
}

/// The C layout of `struct { atomic<u32> state; K key; V value; }`; `None`
/// on overflow.
///
/// ```
/// use zeroipc::format::{map, ElemLayout};
/// let s = map::slot_layout(ElemLayout::of::<[u8; 3]>(), ElemLayout::of::<i16>()).unwrap();
/// assert_eq!((s.key, s.value, s.stride), (4, 8, 12));
/// ```
pub const fn slot_layout(key: ElemLayout, value: ElemLayout) -> Option<SlotLayout> {
    let Some(key_off) = align_up(4, key.align()) else {
        return None;
    };
    let Some(key_end) = key_off.checked_add(key.size()) else {
        return None;
    };
    let Some(value_off) = align_up(key_end, value.align()) else {
        return None;
    };
    let Some(value_end) = value_off.checked_add(value.size()) else {
        return None;
    };
    let slot_align = max_u64(4, max_u64(key.align(), value.align()));
    match align_up(value_end, slot_align) {
        Some(stride) => Some(SlotLayout {
            key: key_off,
            value: value_off,
            stride,
        }),
        None => None,
    }
}

/// Bytes of `capacity` slots plus the 16-byte header, for a slot stride.
pub(crate) const fn hash_entry_size(capacity: u64, stride: u64) -> Option<u64> {
    match capacity.checked_mul(stride) {
        Some(slots) => slots.checked_add(HEADER_SIZE),
        None => None,
    }
}

/// Entry size of a map of `capacity` slots: `16 + stride * capacity`;
/// `None` on overflow.
///
/// ```
/// use zeroipc::format::{map, ElemLayout};
/// let (k, v) = (ElemLayout::of::<i32>(), ElemLayout::of::<i64>());
/// assert_eq!(map::entry_size(10, k, v), Some(16 + 16 * 10));
/// ```
pub const fn entry_size(capacity: u64, key: ElemLayout, value: ElemLayout) -> Option<u64> {
    match slot_layout(key, value) {
        Some(slot) => hash_entry_size(capacity, slot.stride),
        None => None,
    }
}

/// The slot probe `i` visits in a table of `capacity` slots for a key of
/// hash `h`: `(h + i) mod 2^64 mod capacity` (linear probing, the sum
/// wrapping in 64 bits as the C++ reference's does). `None` for a capacity
/// of 0 (no table has one).
///
/// ```
/// use zeroipc::format::map::probe_slot;
/// assert_eq!(probe_slot(2654435761, 0, 16), Some(1));
/// assert_eq!(probe_slot(u64::MAX, 1, 16), Some(0)); // wraps before the modulo
/// assert_eq!(probe_slot(5, 0, 0), None);
/// ```
#[inline]
pub const fn probe_slot(h: u64, i: u64, capacity: u64) -> Option<u64> {
    h.wrapping_add(i).checked_rem(capacity)
}

/// Multiplier of the integer key hash (docs/FORMAT.md §5).
pub const INTEGER_HASH_MULTIPLIER: u64 = 2_654_435_761;

/// MurmurHash64A seed of every other key's hash (libstdc++'s, docs/FORMAT.md §5).
pub const BYTES_HASH_SEED: u64 = 0xc70f_6907;

/// A key's layout plus what the format's hash and equality need to know
/// about its type (docs/FORMAT.md §5): an integer key hashes its value
/// (sign-extended for signed types), a float key hashes its bytes but
/// compares with `==`, every other key hashes and compares its bytes.
///
/// The Map and Set protocol over bytes ([`crate::raw::map::RawMap`],
/// [`crate::raw::set::RawSet`]) takes one; [`crate::format::key_hash`]
/// and the typed `Map<K, V>`/`Set<T>` use [`KeyLayout::of`], so both paths
/// hash and compare alike.
///
/// ```
/// use zeroipc::format::map::KeyLayout;
/// use zeroipc::format::ElemLayout;
/// use zeroipc::layout::Prim;
/// let k = KeyLayout::of::<i16>();
/// assert_eq!((k.prim(), k.elem()), (Some(Prim::I16), ElemLayout::of::<i16>()));
/// assert_eq!(k.hash(&(-2i16).to_le_bytes()), zeroipc::format::key_hash(&-2i64));
/// assert_eq!(KeyLayout::of::<[u8; 3]>(), KeyLayout::bytes(ElemLayout::new(3, 1).unwrap()));
/// assert!(KeyLayout::of::<f64>().keys_equal(&0.0f64.to_le_bytes(), &(-0.0f64).to_le_bytes()));
/// assert_eq!(KeyLayout::new(ElemLayout::new(4, 4).unwrap(), Some(Prim::U64)), None); // sizes differ
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyLayout {
    elem: ElemLayout,
    prim: Option<Prim>,
}

impl KeyLayout {
    /// The key layout of `K`.
    #[inline]
    pub const fn of<K: ShmElement>() -> KeyLayout {
        KeyLayout {
            elem: ElemLayout::of::<K>(),
            prim: K::LAYOUT.prim(),
        }
    }

    /// A key of layout `elem` that is the primitive `prim` (hashed and
    /// compared as that primitive), or that is not a primitive (`None`:
    /// hashed and compared as bytes). `None` when `prim`'s size and
    /// alignment are not `elem`'s.
    pub const fn new(elem: ElemLayout, prim: Option<Prim>) -> Option<KeyLayout> {
        if let Some(p) = prim {
            let size = p.size() as u64;
            if elem.size() != size || elem.align() != size {
                return None;
            }
        }
        Some(KeyLayout { elem, prim })
    }

    /// A key hashed and compared as its bytes (arrays, structs, fixed
    /// strings, enums: every key that is not a primitive).
    pub const fn bytes(elem: ElemLayout) -> KeyLayout {
        KeyLayout { elem, prim: None }
    }

    /// The key layout a [`TypeLayout`] describes; `None` if its size and
    /// alignment break [`ElemLayout::new`]'s invariant.
    pub const fn from_type_layout(t: &TypeLayout) -> Option<KeyLayout> {
        match ElemLayout::from_type_layout(t) {
            Some(elem) => KeyLayout::new(elem, t.prim()),
            None => None,
        }
    }

    /// The key layout a segment's self-description records: `elem` with
    /// the `TypeLayout` fingerprint of the key type when its creator knew
    /// one. A primitive's fingerprint (of the right size) means that
    /// primitive; any other fingerprint, or none, means a byte key (a
    /// run-time creator records the fingerprint of a primitive key, see
    /// [`KeyLayout::fingerprint`]).
    ///
    /// ```
    /// use zeroipc::format::map::KeyLayout;
    /// use zeroipc::format::ElemLayout;
    /// use zeroipc::ShmElement;
    /// let k = KeyLayout::recorded(ElemLayout::of::<i32>(), Some(i32::LAYOUT.fingerprint()));
    /// assert_eq!(k, KeyLayout::of::<i32>());
    /// assert_eq!(KeyLayout::recorded(ElemLayout::of::<i32>(), None), KeyLayout::bytes(ElemLayout::of::<i32>()));
    /// ```
    pub fn recorded(elem: ElemLayout, fingerprint: Option<u64>) -> KeyLayout {
        let prim = Prim::ALL
            .into_iter()
            .find(|p| Some(p.layout().fingerprint()) == fingerprint);
        KeyLayout::new(elem, prim).unwrap_or(KeyLayout::bytes(elem))
    }

    /// The fingerprint a primitive key records in a self-description (a
    /// byte key's type is not known from its layout: `None`).
    ///
    /// ```
    /// use zeroipc::format::map::KeyLayout;
    /// use zeroipc::ShmElement;
    /// assert_eq!(KeyLayout::of::<u16>().fingerprint(), Some(u16::LAYOUT.fingerprint()));
    /// assert_eq!(KeyLayout::of::<[u8; 2]>().fingerprint(), None);
    /// ```
    pub const fn fingerprint(self) -> Option<u64> {
        match self.prim {
            Some(p) => Some(p.layout().fingerprint()),
            None => None,
        }
    }

    /// Size and alignment.
    #[inline]
    pub const fn elem(self) -> ElemLayout {
        self.elem
    }

    /// The primitive the key is, if it is one.
    #[inline]
    pub const fn prim(self) -> Option<Prim> {
        self.prim
    }

    /// The format's 64-bit hash of the key whose bytes are `key`
    /// (little-endian values; docs/FORMAT.md §5). For an integer key only
    /// its first 8 bytes count (a slice of the key's size is what callers
    /// pass; none panics).
    #[inline]
    pub fn hash(self, key: &[u8]) -> u64 {
        match self.prim {
            Some(p) if p.is_integer() => {
                let n = key.len().min(8);
                let mut word = [0u8; 8];
                word[..n].copy_from_slice(&key[..n]);
                let mut v = u64::from_le_bytes(word);
                // Sign-extend a negative signed value: ones above its bytes.
                if p.is_signed_integer() && n > 0 && n < 8 && key[n - 1] & 0x80 != 0 {
                    v |= u64::MAX << (8 * n as u32);
                }
                v.wrapping_mul(INTEGER_HASH_MULTIPLIER)
            }
            _ => super::murmur64a(key, BYTES_HASH_SEED),
        }
    }

    /// Key equality as the C++ reference defines it: `==` for `f32`/`f64`
    /// keys (so `0.0 == -0.0` and a NaN key equals nothing), the bytes for
    /// every other key.
    #[inline]
    pub fn keys_equal(self, a: &[u8], b: &[u8]) -> bool {
        match self.prim {
            Some(Prim::F32) => match (<[u8; 4]>::try_from(a), <[u8; 4]>::try_from(b)) {
                (Ok(a), Ok(b)) => f32::from_le_bytes(a) == f32::from_le_bytes(b),
                _ => a == b,
            },
            Some(Prim::F64) => match (<[u8; 8]>::try_from(a), <[u8; 8]>::try_from(b)) {
                (Ok(a), Ok(b)) => f64::from_le_bytes(a) == f64::from_le_bytes(b),
                _ => a == b,
            },
            _ => a == b,
        }
    }
}
