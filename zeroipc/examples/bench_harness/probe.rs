//! Layout probe: the Vyukov bounded MPMC queue protocol of `Queue<T>`
//! (same tickets, same sequence-word rules, same orderings), written
//! minimally on private memory in two layouts, to separate what the
//! format's byte layout costs from what the implementation costs:
//!
//! - `Format`: the zeroipc/ZeroIPC layout (FORMAT.md §3): `head` and `tail`
//!   side by side in one cache line, the data array, then the sequence
//!   words in a separate array (a slot's value and its sequence word live
//!   in different cache lines).
//! - `Padded`: crossbeam's layout: `head` and `tail` on cache lines of
//!   their own, each slot's sequence word next to its value.
//!
//! Not a structure anyone should use: a measuring instrument.

use super::xproc::BenchQ;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// Where the fields live.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Layout {
    /// The format's layout.
    Format,
    /// crossbeam's layout.
    Padded,
}

/// The probe queue of u64.
pub struct RawVyukov {
    mem: Box<[AtomicU64]>,
    cap: u32,
    layout: Layout,
}

impl RawVyukov {
    /// A queue of `cap` (a power of two) slots.
    pub fn new(cap: u32, layout: Layout) -> RawVyukov {
        assert!(cap.is_power_of_two());
        // 64 u64 words (512 bytes) of headroom, plus 16 bytes per slot.
        let words = 64 + 2 * cap as usize;
        let mem: Box<[AtomicU64]> = (0..words).map(|_| AtomicU64::new(0)).collect();
        let q = RawVyukov { mem, cap, layout };
        for i in 0..cap {
            q.seq(i).store(i, Ordering::Relaxed);
        }
        q
    }

    /// Byte offsets: (head, tail, data of slot i, seq of slot i).
    #[inline]
    fn offsets(&self, slot: u32) -> (usize, usize, usize, usize) {
        let i = slot as usize;
        match self.layout {
            Layout::Format => (0, 4, 16 + 8 * i, 16 + 8 * self.cap as usize + 4 * i),
            Layout::Padded => (0, 128, 256 + 16 * i + 8, 256 + 16 * i),
        }
    }

    #[inline]
    fn u32_at(&self, off: usize) -> &AtomicU32 {
        assert!(off % 4 == 0 && off + 4 <= self.mem.len() * 8);
        // SAFETY: in bounds of `mem` (checked) and 4-aligned (an AtomicU64
        // array is 8-aligned); the probe only ever accesses these bytes
        // through 4-byte atomics of the same offsets, never mixed sizes on
        // overlapping bytes (the offsets of the u64 and u32 fields are
        // disjoint by construction).
        unsafe { &*self.mem.as_ptr().cast::<u8>().add(off).cast::<AtomicU32>() }
    }

    #[inline]
    fn u64_at(&self, off: usize) -> &AtomicU64 {
        assert!(off % 8 == 0);
        &self.mem[off / 8]
    }

    #[inline]
    fn seq(&self, slot: u32) -> &AtomicU32 {
        self.u32_at(self.offsets(slot).3)
    }
}

impl BenchQ for RawVyukov {
    #[inline]
    fn push_u64(&self, v: u64) -> bool {
        let tail = self.u32_at(self.offsets(0).1);
        loop {
            let t = tail.load(Ordering::Relaxed);
            let slot = t & (self.cap - 1);
            let (_, _, data, seq) = self.offsets(slot);
            let seq = self.u32_at(seq);
            let d = seq.load(Ordering::Acquire).wrapping_sub(t) as i32;
            if d == 0 {
                if tail
                    .compare_exchange_weak(
                        t,
                        t.wrapping_add(1),
                        Ordering::Relaxed,
                        Ordering::Relaxed,
                    )
                    .is_ok()
                {
                    self.u64_at(data).store(v, Ordering::Relaxed);
                    seq.store(t.wrapping_add(1), Ordering::Release);
                    return true;
                }
            } else if d < 0 {
                return false;
            }
        }
    }

    #[inline]
    fn pop_u64(&self) -> Option<u64> {
        let head = self.u32_at(self.offsets(0).0);
        loop {
            let h = head.load(Ordering::Relaxed);
            let slot = h & (self.cap - 1);
            let (_, _, data, seq) = self.offsets(slot);
            let seq = self.u32_at(seq);
            let d = seq.load(Ordering::Acquire).wrapping_sub(h.wrapping_add(1)) as i32;
            if d == 0 {
                if head
                    .compare_exchange_weak(
                        h,
                        h.wrapping_add(1),
                        Ordering::Relaxed,
                        Ordering::Relaxed,
                    )
                    .is_ok()
                {
                    let v = self.u64_at(data).load(Ordering::Relaxed);
                    seq.store(h.wrapping_add(self.cap), Ordering::Release);
                    return Some(v);
                }
            } else if d < 0 {
                return None;
            }
        }
    }
}
