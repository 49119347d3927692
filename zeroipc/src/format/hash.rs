//! The two hashes of the format, once: FNV-1a 64 (layout fingerprints, the
//! schema entry's text) and MurmurHash64A (libstdc++'s `std::hash` over
//! bytes: the Map/Set key hash of non-integer keys, see [`super::map`]).

/// FNV-1a 64 offset basis.
pub const FNV1A_OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
/// FNV-1a 64 prime.
pub const FNV1A_PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a 64 of `bytes` (offset basis [`FNV1A_OFFSET_BASIS`], prime
/// [`FNV1A_PRIME`]): the hash of layout fingerprints and of the schema
/// entry's text.
///
/// ```
/// use zeroipc::format::{fnv1a64, FNV1A_OFFSET_BASIS};
/// assert_eq!(fnv1a64(b""), FNV1A_OFFSET_BASIS);
/// assert_eq!(fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
/// assert_eq!(fnv1a64(b"foobar"), 0x85944171f73967e8);
/// ```
pub const fn fnv1a64(bytes: &[u8]) -> u64 {
    fnv1a64_update(FNV1A_OFFSET_BASIS, bytes)
}

/// FNV-1a 64 state `h` extended by `bytes` (for hashing in pieces).
///
/// ```
/// use zeroipc::format::{fnv1a64, fnv1a64_update};
/// assert_eq!(fnv1a64_update(fnv1a64(b"foo"), b"bar"), fnv1a64(b"foobar"));
/// ```
pub const fn fnv1a64_update(mut h: u64, bytes: &[u8]) -> u64 {
    let mut i = 0;
    while i < bytes.len() {
        h ^= bytes[i] as u64;
        h = h.wrapping_mul(FNV1A_PRIME);
        i += 1;
    }
    h
}

const MURMUR_M: u64 = 0xc6a4_a793_5bd1_e995;

fn shift_mix(v: u64) -> u64 {
    v ^ (v >> 47)
}

/// MurmurHash64A as libstdc++'s `_Hash_bytes` computes it.
///
/// ```
/// // 13 bytes "hello world!\0", hashed by the compiled C++ reference
/// assert_eq!(zeroipc::format::murmur64a(b"hello world!\0", 0xc70f6907), 9431471563293182693);
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
