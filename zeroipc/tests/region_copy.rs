//! The payload copies of `zeroipc::region::copy` (relaxed atomic word
//! copies, `rep movsb` for mid sizes on x86-64) move exactly the bytes asked
//! for, at every alignment and length, in both directions, and touch nothing
//! around them; `Region`'s copies go through them.

mod common;

use common::temp_segment;
use zeroipc::region::copy;

/// Deterministic, position-dependent bytes (no two neighbours equal).
fn pattern(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 8) as u8)
        .collect()
}

// Around the word loop's 128-byte rounds (127..=129, 200, 1023) and the
// `rep movsb` threshold (1024) as well as the small sizes.
const LENGTHS: [usize; 21] = [
    0,
    1,
    2,
    3,
    7,
    8,
    9,
    15,
    63,
    64,
    65,
    127,
    128,
    129,
    200,
    1000,
    1023,
    1024,
    4099,
    1 << 20,
    (1 << 20) + 13,
];

#[test]
fn load_and_store_copy_exactly_the_range_at_every_alignment() {
    let max = LENGTHS[LENGTHS.len() - 1] + 32;
    // u64-backed, so offset 0 is 8-aligned and offsets 0..16 cover every
    // alignment class of the shared side.
    let mut shared = vec![0u64; max / 8 + 4];
    for len in LENGTHS {
        for off in 0..16 {
            let src = pattern(max, 7);
            let base = shared.as_mut_ptr().cast::<u8>();
            // Fill the "shared" buffer through a private slice first.
            // SAFETY: the Vec holds max + 32 bytes; nothing else uses it.
            let view = unsafe { std::slice::from_raw_parts_mut(base, max) };
            view.copy_from_slice(&src);
            let mut out = pattern(len + 2, 99);
            let guard = (out[0], out[len + 1]);
            // SAFETY: [base + off, base + off + len) is inside the Vec and
            // only this thread uses it.
            unsafe { copy::load(base.add(off), &mut out[1..=len]) };
            assert_eq!(
                &out[1..=len],
                &src[off..off + len],
                "load len {len} off {off}"
            );
            assert_eq!((out[0], out[len + 1]), guard, "load stayed in range");

            let new = pattern(len, 200);
            // SAFETY: as above.
            unsafe { copy::store(base.add(off), &new) };
            // SAFETY: as above.
            let view = unsafe { std::slice::from_raw_parts(base, max) };
            assert_eq!(&view[off..off + len], &new[..], "store len {len} off {off}");
            assert_eq!(&view[..off], &src[..off], "store did not write before");
            assert_eq!(&view[off + len..], &src[off + len..], "nor after");

            // SAFETY: as above.
            unsafe { copy::fill_zero(base.add(off), len) };
            // SAFETY: as above.
            let view = unsafe { std::slice::from_raw_parts(base, max) };
            assert!(view[off..off + len].iter().all(|&b| b == 0));
            assert_eq!(&view[off + len..], &src[off + len..]);
        }
    }
}

#[test]
fn region_copies_round_trip_through_a_segment() {
    let (_t, seg) = temp_segment("region_copy", 4 << 20);
    let r = seg.register("bytes", (2 << 20) + 64, |_| Ok(())).unwrap();
    for len in LENGTHS {
        for off in [0usize, 1, 3, 8, 13] {
            let data = pattern(len, off as u8);
            r.write_bytes(off, &data);
            let mut back = vec![0u8; len];
            r.read_bytes(off, &mut back);
            assert_eq!(back, data, "len {len} off {off}");
        }
    }
    r.write::<u64>(16, 0x0102_0304_0506_0708);
    assert_eq!(r.read::<u64>(16), 0x0102_0304_0506_0708);
    r.write::<[u16; 3]>(2, [1, 2, 3]);
    assert_eq!(r.read::<[u16; 3]>(2), [1, 2, 3]);
    r.zero(0, 64);
    assert_eq!(r.read::<[u64; 8]>(0), [0; 8]);
}
