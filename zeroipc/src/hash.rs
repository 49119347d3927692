//! The C++ reference's Map/Set key hash (`detail::trivial_hash`, libstdc++).
//!
//! Integer keys: the value, sign-extended to 64 bits for signed types, times
//! 2654435761, wrapping. Every other key (floats, arrays, structs, enums,
//! strings): libstdc++'s `std::hash<std::string_view>` over the raw bytes,
//! which is MurmurHash64A with seed `0xc70f6907`. See REFERENCE-NOTES §12.

use crate::element::{bytes_of, ShmElement};

const MURMUR_M: u64 = 0xc6a4_a793_5bd1_e995;

fn shift_mix(v: u64) -> u64 {
    v ^ (v >> 47)
}

/// MurmurHash64A as libstdc++'s `_Hash_bytes` computes it.
///
/// ```
/// // 13 bytes "hello world!\0", REFERENCE-NOTES §12
/// assert_eq!(zeroipc::hash::murmur64a(b"hello world!\0", 0xc70f6907), 9431471563293182693);
/// ```
pub fn murmur64a(bytes: &[u8], seed: u64) -> u64 {
    let mut h = seed ^ (bytes.len() as u64).wrapping_mul(MURMUR_M);
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        let w = shift_mix(u64::from_le_bytes(w).wrapping_mul(MURMUR_M)).wrapping_mul(MURMUR_M);
        h = (h ^ w).wrapping_mul(MURMUR_M);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut t = [0u8; 8];
        t[..rest.len()].copy_from_slice(rest);
        h = (h ^ u64::from_le_bytes(t)).wrapping_mul(MURMUR_M);
    }
    h = shift_mix(h).wrapping_mul(MURMUR_M);
    shift_mix(h)
}

/// The 64-bit hash the C++ reference computes for a key of this type.
///
/// ```
/// use zeroipc::hash::key_hash;
/// assert_eq!(key_hash(&1i32), 2654435761);
/// assert_eq!(key_hash(&1.5f64), 4982507072649106663);
/// ```
#[inline]
pub fn key_hash<T: ShmElement>(key: &T) -> u64 {
    // One implementation over bytes: the catalogue's (the raw Map/Set use it too).
    crate::format::map::KeyLayout::of::<T>().hash(bytes_of(key))
}

/// Slot visited by probe `i` for hash `h` in a table of `capacity` slots.
pub(crate) fn probe_slot(h: u64, i: u64, capacity: u64) -> u64 {
    h.wrapping_add(i) % capacity
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::map::{BYTES_HASH_SEED as LIBSTDCXX_SEED, INTEGER_HASH_MULTIPLIER as KNUTH};

    // REFERENCE-NOTES §12, produced by the compiled C++ reference.
    #[test]
    fn reference_vectors() {
        assert_eq!(key_hash(&1i32), 2654435761);
        assert_eq!(key_hash(&-1i32), 18446744071055115855);
        assert_eq!(key_hash(&0xFFFF_FFFFu32), 11400714780173436495);
        assert_eq!(key_hash(&123456789012i64), 14113466438622280660);
        assert_eq!(key_hash(&1.5f64), 4982507072649106663);
        assert_eq!(key_hash(&1.5f32), 6335102473512021944);
        assert_eq!(key_hash(&0.0f64), 17606749225356372073);
        assert_eq!(key_hash(&-0.0f64), 1707563596781915746);
        assert_eq!(key_hash(&[1i32, 2, 3]), 2419198970025857296);
        assert_eq!(
            murmur64a(b"hello world!\0", LIBSTDCXX_SEED),
            9431471563293182693
        );
    }

    #[test]
    fn probing_wraps_in_64_bits() {
        assert_eq!(probe_slot(u64::MAX, 1, 16), 0);
        assert_eq!(probe_slot(2654435761, 0, 16), 1);
    }

    #[test]
    fn small_signed_keys_sign_extend() {
        assert_eq!(key_hash(&-1i8), key_hash(&-1i64));
        assert_eq!(key_hash(&-2i16), key_hash(&-2i64));
        assert_eq!(key_hash(&200u8), 200u64.wrapping_mul(KNUTH));
    }
}
