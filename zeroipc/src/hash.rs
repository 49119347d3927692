//! The C++ reference's Map/Set key hash (`detail::trivial_hash`, libstdc++).
//!
//! Integer keys: the value, sign-extended to 64 bits for signed types, times
//! 2654435761, wrapping. Every other key (floats, arrays, structs, enums,
//! strings): libstdc++'s `std::hash<std::string_view>` over the raw bytes,
//! which is MurmurHash64A with seed `0xc70f6907`. The normative description is
//! docs/FORMAT.md §5; both are implemented once in [`crate::format`].

use crate::element::{bytes_of, ShmElement};

pub use crate::format::murmur64a;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::map::{BYTES_HASH_SEED as LIBSTDCXX_SEED, INTEGER_HASH_MULTIPLIER as KNUTH};

    // docs/FORMAT.md §5, produced by the compiled C++ reference.
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
    fn small_signed_keys_sign_extend() {
        assert_eq!(key_hash(&-1i8), key_hash(&-1i64));
        assert_eq!(key_hash(&-2i16), key_hash(&-2i64));
        assert_eq!(key_hash(&200u8), 200u64.wrapping_mul(KNUTH));
    }
}
