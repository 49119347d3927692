//! Batch push and pop for [`RawQueue`] (issue 15): one `tail` (or `head`)
//! claim for `k` tickets, each slot then handed over by the single-item
//! protocol unchanged.
//!
//! # Algorithm
//!
//! Push of up to `n` elements (pop is symmetric):
//!
//! 1. Read `t = tail` (a guess) and count the free slots ahead of it: for
//!    `i` in `0..min(n, capacity)`, the slot of ticket `t + i` is free for
//!    that ticket when its sequence word is exactly `t + i` (the Vyukov
//!    condition `d == 0` of the single push, docs/FORMAT.md §3.2). Stop at
//!    the first slot that is not; `k` is the number counted.
//! 2. `k == 0`: the single push's analysis of the slot of ticket `t`:
//!    `d < 0` full, `d > 0` `tail` moved on (retry, with the same guard
//!    against a corrupt segment whose counter never moves).
//! 3. One CAS `tail: t -> t + k` claims tickets `t .. t + k` at once.
//! 4. For each claimed slot, in ticket order: write the element, then store
//!    `seq = t + i + 1` (Release). Runs of slots that are contiguous in
//!    memory (no wrap, at most [`CHUNK_BYTES`]) are copied with one
//!    [`Region::write_bytes`](crate::region::Region::write_bytes) and then
//!    published slot by slot, so a consumer (ours or the reference's, which
//!    only knows the single-item protocol) takes a batch's first items
//!    while later chunks are still being written.
//!
//! Pop counts slots whose sequence is `h + i + 1` (published for ticket
//! `h + i`), claims with one CAS `head: h -> h + k`, copies the values out
//! run by run and frees each slot for the next lap with
//! `seq = h + i + capacity` (Release).
//!
//! # Why one CAS is enough
//!
//! A slot whose sequence word reads `t + i` is free for ticket `t + i`, and
//! the next store to that word comes only from the producer holding ticket
//! `t + i` (a consumer writes it only after seeing `t + i + 1`, which that
//! producer stores). Tickets are taken only by moving `tail` past them, and
//! `tail` only grows (modulo 2^32), so a successful CAS from `t` proves that
//! no ticket in `t .. t + k` was claimed by anyone else between our reads
//! and the CAS: every slot we counted is still free, and now ours. (As for
//! the single push, an ABA on `tail` would need 2^32 claims between our
//! read and our CAS.) The counted tickets map to distinct slots because
//! `k <= capacity`. The counters wrap at 2^32 exactly as in
//! [`RawQueue::push_with`]: every comparison is a wrapping one and the
//! capacity, a power of two, divides 2^32.
//!
//! With single-item peers: a batch is a schedule of `k` single pushes whose
//! claims happened back to back and whose publications happen in ticket
//! order, so a single consumer (ours or the reference's) cannot tell it
//! from `k` producers. A producer killed mid-batch leaves its unpublished
//! tickets as a killed single producer leaves its one ticket: `pop`
//! reports the queue empty at the first of them, and pushes report it full
//! when they lap it.
//!
//! # Waking and waiting
//!
//! A batch wakes as a single push or pop does (crate::waiters): after its
//! SeqCst claim it loads whether anyone sleeps on the other side, publishes
//! (or frees) all its slots, then wakes the sleepers once. The timed forms
//! wait through the single operations' path ([`RawQueue::wait_for_room`] /
//! [`RawQueue::wait_for_item`]): spin on the next slot's sequence word,
//! then sleep on `head` / `tail`.
//!
//! # Orderings
//!
//! The sequence loads are Acquire (pairing with the Release store of the
//! party that handed the slot over, as in the single protocol); the claim
//! CAS is `SeqCst` on success so that the wake protocol's sleeper check
//! (`item_sleepers`/`room_sleepers`, loaded after the claim) is ordered
//! after it; failure is Relaxed (a failed claim reads nothing).

use super::{RawQueue, KIND, STALE_LIMIT};
use crate::error::Result;
use crate::region::atomic::Ordering;
use crate::wait::Deadline;
use std::time::Duration;

/// Longest run of slots copied with one region copy before its slots are
/// published: bounds how long the first item of a big batch waits.
pub const CHUNK_BYTES: usize = 8 << 10;

/// Which counter a batch claims: `tail` (producers) or `head` (consumers).
#[derive(Clone, Copy)]
enum Claim {
    Push,
    Pop,
}

impl RawQueue {
    /// The number of whole elements in a byte slice of `len` bytes given to
    /// `op`, or a clear error naming both sizes.
    fn whole_elems(&self, op: &str, len: usize) -> Result<usize> {
        let size = self.elem_size;
        if size == 0 {
            return Err(self.region.invalid_argument(
                KIND,
                format!(
                    "{op}: the element size is 0 bytes, so a byte slice cannot say how many \
                     elements it holds (use the typed Queue's push_slice/pop_slice)"
                ),
            ));
        }
        if len % size != 0 {
            return Err(self.region.invalid_argument(
                KIND,
                format!(
                    "{op}: a slice of {len} bytes given, which is not a whole number of \
                     {size}-byte elements"
                ),
            ));
        }
        Ok(len / size)
    }

    /// Claims up to `want` (1..=capacity) tickets on `side`'s counter:
    /// `Some((first ticket, count))` with count >= 1, or `None` when the
    /// queue is full (push) / empty (pop), or the segment is corrupt.
    fn claim_batch(&self, side: Claim, want: u32) -> Option<(u32, u32)> {
        debug_assert!(want >= 1 && want <= self.capacity);
        let (counter, ready) = match side {
            // A slot is free for ticket x when seq == x.
            Claim::Push => (self.tail(), 0u32),
            // A slot holds ticket x's value when seq == x + 1.
            Claim::Pop => (self.head(), 1u32),
        };
        let mut last_stale: Option<u32> = None;
        let mut stale = 0u32;
        loop {
            // Relaxed: a guess at our first ticket; the sequence words say
            // whether the slots are ready and the CAS confirms the guess.
            let x = counter.load(Ordering::Relaxed);
            let mut k = 0u32;
            // The sequence seen at ticket x's slot when it was not ready.
            let mut first_seen = x.wrapping_add(ready);
            while k < want {
                let ticket = x.wrapping_add(k);
                // Acquire: pairs with the Release store of the party that
                // handed this slot over (push: the consumer of the previous
                // lap, whose read must happen-before our overwrite; pop: the
                // producer, whose write must happen-before our read).
                let q = self
                    .seq((ticket & self.mask) as usize)
                    .load(Ordering::Acquire);
                if q != ticket.wrapping_add(ready) {
                    if k == 0 {
                        first_seen = q;
                    }
                    break;
                }
                k += 1;
            }
            if k > 0 {
                // Claim x .. x + k in one step (module doc: a success proves
                // none of them was claimed since we counted them free/ready,
                // and only their claimer writes their sequence next). SeqCst
                // success: the wake protocol's sleeper check is ordered after
                // the claim. Relaxed failure: nothing is read from a failed
                // claim. Weak: a spurious failure goes round again.
                if counter
                    .compare_exchange_weak(
                        x,
                        x.wrapping_add(k),
                        Ordering::SeqCst,
                        Ordering::Relaxed,
                    )
                    .is_ok()
                {
                    return Some((x, k));
                }
                continue;
            }
            // Nothing ready at ticket x: the single-item analysis.
            let d = first_seen.wrapping_sub(x.wrapping_add(ready)) as i32;
            if d < 0 {
                // Push: the slot still holds (or is being filled with) the
                // value of ticket x - capacity, or its consumer is still
                // reading: full. Pop: ticket x is not published: empty (or
                // its producer is still writing, or died doing so).
                return None;
            }
            // d > 0: the slot was already claimed for ticket x or later,
            // which happens only after the counter moved past x (as in
            // `push_with`); re-reading it gives a newer value. An unmoved
            // counter means a corrupt segment: give up after a bound.
            if last_stale == Some(x) {
                stale += 1;
                if stale >= STALE_LIMIT {
                    return None;
                }
            } else {
                last_stale = Some(x);
                stale = 0;
            }
            crate::wait::spin_hint();
        }
    }

    /// Calls `run(first slot, first index, count)` for the runs of the `k`
    /// slots from ticket `first`: contiguous in memory (split at the wrap
    /// of the slot array) and at most [`CHUNK_BYTES`] (at least one slot).
    fn for_runs(&self, first: u32, k: u32, mut run: impl FnMut(usize, usize, usize)) {
        let per_chunk = (CHUNK_BYTES / self.elem_size.max(1)).max(1);
        let k = k as usize;
        let mut done = 0usize;
        while done < k {
            let slot = (first.wrapping_add(done as u32) & self.mask) as usize;
            let n = (k - done).min(self.capacity as usize - slot).min(per_chunk);
            run(slot, done, n);
            done += n;
        }
    }

    /// Writes the `k` elements of `src` into the claimed tickets `t ..
    /// t + k` and publishes each (`seq = ticket + 1`, Release), run by run.
    fn publish(&self, t: u32, k: u32, src: &[u8]) {
        let es = self.elem_size;
        self.for_runs(t, k, |slot, i, n| {
            self.region
                .write_bytes(self.data_off(slot), &src[i * es..(i + n) * es]);
            for j in 0..n {
                let ticket = t.wrapping_add((i + j) as u32);
                // Release: the element's bytes, written above, happen-before
                // the read of the consumer whose Acquire load sees this value
                // (the single push's publication, per slot).
                self.seq(slot + j)
                    .store(ticket.wrapping_add(1), Ordering::Release);
            }
        });
    }

    /// Copies the values of the claimed tickets `h .. h + k` into `out` and
    /// frees each slot for the next lap (`seq = ticket + capacity`,
    /// Release), run by run.
    fn release(&self, h: u32, k: u32, out: &mut [u8]) {
        let es = self.elem_size;
        self.for_runs(h, k, |slot, i, n| {
            self.region
                .read_bytes(self.data_off(slot), &mut out[i * es..(i + n) * es]);
            for j in 0..n {
                let ticket = h.wrapping_add((i + j) as u32);
                // Release: our read above happens-before the write of the
                // producer of the next lap, which Acquire-loads this value.
                self.seq(slot + j)
                    .store(ticket.wrapping_add(self.capacity), Ordering::Release);
            }
        });
    }

    /// Pushes a prefix of the `n` elements in `src` (`n * elem_size` bytes,
    /// checked by the caller): as many as fit; returns how many (0 when
    /// full). Never blocks; lock-free.
    pub(crate) fn push_n(&self, src: &[u8], n: usize) -> usize {
        debug_assert_eq!(src.len(), n * self.elem_size);
        if n == 0 {
            return 0;
        }
        let want = n.min(self.capacity as usize) as u32;
        let Some((t, k)) = self.claim_batch(Claim::Push, want) else {
            return 0;
        };
        // After the claim (SeqCst): whether a consumer may be asleep.
        let sleepers = self.item_sleepers();
        self.publish(t, k, &src[..k as usize * self.elem_size]);
        if sleepers {
            self.wake_item_sleepers();
        }
        k as usize
    }

    /// Pops up to `n` elements into the prefix of `out` (`n * elem_size`
    /// bytes, checked by the caller); returns how many (0 when empty).
    /// Never blocks; lock-free.
    pub(crate) fn pop_n(&self, out: &mut [u8], n: usize) -> usize {
        debug_assert_eq!(out.len(), n * self.elem_size);
        if n == 0 {
            return 0;
        }
        let want = n.min(self.capacity as usize) as u32;
        let Some((h, k)) = self.claim_batch(Claim::Pop, want) else {
            return 0;
        };
        // After the claim (SeqCst): whether a producer may be asleep.
        let sleepers = self.room_sleepers();
        self.release(h, k, &mut out[..k as usize * self.elem_size]);
        if sleepers {
            self.wake_room_sleepers();
        }
        k as usize
    }

    /// [`RawQueue::push_n`], retried until at least one element went in or
    /// `timeout` passed ([`Error::Timeout`](crate::Error::Timeout), nothing
    /// written). `n == 0` returns `Ok(0)` at once.
    pub(crate) fn push_n_timeout(&self, src: &[u8], n: usize, timeout: Duration) -> Result<usize> {
        if n == 0 {
            return Ok(0);
        }
        let deadline = Deadline::after(timeout);
        // The single push's wait path: spin on the next slot's sequence,
        // then sleep on `head` until a pop wakes us (bounded sleeps with a
        // reference peer, which wakes nobody).
        self.wait_for_room(&deadline, || match self.push_n(src, n) {
            0 => None,
            k => Some(k),
        })
        .ok_or_else(|| deadline.timeout(&self.region, KIND))
    }

    /// [`RawQueue::pop_n`], retried until at least one element came out or
    /// `timeout` passed ([`Error::Timeout`](crate::Error::Timeout), `out`
    /// unchanged). `n == 0` returns `Ok(0)` at once.
    pub(crate) fn pop_n_timeout(
        &self,
        out: &mut [u8],
        n: usize,
        timeout: Duration,
    ) -> Result<usize> {
        if n == 0 {
            return Ok(0);
        }
        let deadline = Deadline::after(timeout);
        // The single pop's wait path (spin on the next slot's sequence,
        // then sleep on `tail` until a push wakes us).
        self.wait_for_item(&deadline, || match self.pop_n(out, n) {
            0 => None,
            k => Some(k),
        })
        .ok_or_else(|| deadline.timeout(&self.region, KIND))
    }

    /// Appends as many leading elements of `src` as fit (`src` holds whole
    /// elements, `n x` [`RawQueue::elem`]`.size()` bytes) with one claim of
    /// the `tail` counter; returns how many went in (`Ok(0)` when full).
    /// Each slot is then published as a single push publishes it, in FIFO
    /// order, so single-item consumers (ours or the C++ reference's) take
    /// the items as they appear. Never blocks.
    ///
    /// ```
    /// use zeroipc::format::ElemLayout;
    /// use zeroipc::raw::RawQueue;
    /// use zeroipc::Segment;
    /// let name = format!("/zeroipc-doc-rawqueue-many-{}", std::process::id());
    /// let seg = Segment::create(&name, 1 << 16)?;
    /// let q = RawQueue::create(&seg, "q", ElemLayout::new(2, 1).unwrap(), 4)?;
    /// assert_eq!(q.push_many(&[1, 1, 2, 2, 3, 3])?, 3);
    /// assert_eq!(q.push_many(&[4, 4, 5, 5])?, 1); // one slot was left
    /// assert_eq!(q.push_many(&[6, 6])?, 0); // full
    /// assert!(q.push_many(&[7, 7, 7]).is_err()); // not whole elements
    /// let mut one = [0u8; 2];
    /// assert!(q.pop(&mut one)?); // single ops interleave with batches
    /// assert_eq!(one, [1, 1]);
    /// let mut out = [0u8; 10];
    /// assert_eq!(q.pop_many(&mut out)?, 3);
    /// assert_eq!(out[..6], [2, 2, 3, 3, 4, 4]);
    /// assert_eq!(q.pop_many(&mut out)?, 0); // empty
    /// Segment::unlink(&name)?;
    /// # Ok::<(), zeroipc::Error>(())
    /// ```
    pub fn push_many(&self, src: &[u8]) -> Result<usize> {
        let n = self.whole_elems("push_many", src.len())?;
        Ok(self.push_n(src, n))
    }

    /// Removes up to `out.len() / elem_size` of the oldest elements into
    /// the prefix of `out` (whose length must be a whole number of
    /// elements) with one claim of the `head` counter; returns how many
    /// (`Ok(0)` when empty, or when the next value's producer has claimed
    /// its slot but not published it). The bytes of `out` past the count
    /// are left as they were. Never blocks. See [`RawQueue::push_many`].
    pub fn pop_many(&self, out: &mut [u8]) -> Result<usize> {
        let n = self.whole_elems("pop_many", out.len())?;
        Ok(self.pop_n(out, n))
    }

    /// Like [`RawQueue::push_many`], but waits up to `timeout` until at
    /// least one element fits, then pushes as many as fit at once;
    /// [`Error::Timeout`](crate::Error::Timeout) when none did (nothing was
    /// written). An empty `src` returns `Ok(0)` at once.
    ///
    /// ```
    /// use zeroipc::format::ElemLayout;
    /// use zeroipc::raw::RawQueue;
    /// use zeroipc::Segment;
    /// use std::time::Duration;
    /// let name = format!("/zeroipc-doc-rawqueue-many-t-{}", std::process::id());
    /// let seg = Segment::create(&name, 1 << 16)?;
    /// let q = RawQueue::create(&seg, "q", ElemLayout::new(1, 1).unwrap(), 2)?;
    /// let ms = Duration::from_millis(1);
    /// assert_eq!(q.push_many_timeout(&[1, 2, 3], ms)?, 2);
    /// assert!(q.push_many_timeout(&[3], ms).unwrap_err().to_string().contains("timed out"));
    /// let mut out = [0u8; 3];
    /// assert_eq!(q.pop_many_timeout(&mut out, ms)?, 2);
    /// assert_eq!(out, [1, 2, 0]);
    /// assert!(q.pop_many_timeout(&mut out, ms).unwrap_err().to_string().contains("timed out"));
    /// Segment::unlink(&name)?;
    /// # Ok::<(), zeroipc::Error>(())
    /// ```
    pub fn push_many_timeout(&self, src: &[u8], timeout: Duration) -> Result<usize> {
        let n = self.whole_elems("push_many_timeout", src.len())?;
        self.push_n_timeout(src, n, timeout)
    }

    /// Like [`RawQueue::pop_many`], but waits up to `timeout` until at
    /// least one element is there, then takes as many as are published (up
    /// to what `out` holds); [`Error::Timeout`](crate::Error::Timeout) when
    /// none came (`out` unchanged). An empty `out` returns `Ok(0)` at once.
    pub fn pop_many_timeout(&self, out: &mut [u8], timeout: Duration) -> Result<usize> {
        let n = self.whole_elems("pop_many_timeout", out.len())?;
        self.pop_n_timeout(out, n, timeout)
    }
}
