//! Batch push and pop for [`RawStack`] (issue 15): one `top` reservation
//! for `k` indices, each slot then handed over by the reference's per-slot
//! protocol unchanged (docs/FORMAT.md §3.3).
//!
//! # Algorithm
//!
//! - push of up to `n`: CAS `top` from `t` to `t + k`, where `k = min(n,
//!   capacity - 1 - t)` (full when 0), reserving indices `t + 1 ..= t + k`;
//!   then for each index in ascending order: claim its slot EMPTY→WRITING
//!   (within the single push's bound), write the element, store READY.
//! - pop of up to `n`: CAS `top` from `t` to `t - k`, `k = min(n, t + 1)`
//!   (empty when 0), reserving indices `t, t - 1, ..., t - k + 1`; then for
//!   each in that (LIFO) order: claim READY→READING, copy the value out,
//!   store EMPTY.
//!
//! # Why this fits the format
//!
//! A batch push behaves as `k` single pushers whose reservations happened
//! back to back (an interleaving the single protocol allows: nobody moved
//! `top` between them) and whose slot claims then run one after the other.
//! Every step another party can observe (the `top` value, each slot's state
//! word) is a step of those single pushers, so single peers, ours or the
//! C++ reference's, cannot tell the difference; a single popper that
//! reserved one of our indices waits on its state word exactly as it waits
//! for a slow single pusher. The same holds for a batch pop as `k` single
//! poppers. No party holds a slot while waiting for another one (a slot is
//! WRITING or READING only during its own copy), so batches cannot
//! deadlock with each other or with single calls.
//!
//! # Give-up
//!
//! If a slot cannot be claimed within the bound (its holder stalled or
//! died), the batch stops there: the values already handed over stay
//! handed over (the count returned says how many), and the indices not
//! used yet are given back with one best-effort CAS of `top` (push: `t + k`
//! back to the last index published; pop: `t - k` back to the index that
//! could not be claimed), which is what the single operations' own
//! rollbacks would do one by one. As for them, if `top` moved meanwhile the
//! CAS fails and values may be stranded above `top` (see the parent module
//! doc); a peer that only got preempted is waited for about half a second
//! first, so that only happens around a dead peer.

use super::{claim, fmt, RawStack, KIND};
use crate::error::Result;
use crate::format::waiters::Side;
use crate::region::atomic::Ordering;
use crate::wait::Deadline;
use std::time::Duration;

impl RawStack {
    /// The number of whole elements in a byte slice of `len` bytes given to
    /// `op`, or a clear error naming both sizes.
    fn whole_elems(&self, op: &str, len: usize) -> Result<usize> {
        let size = self.elem_size;
        if size == 0 {
            return Err(self.region.invalid_argument(
                KIND,
                format!(
                    "{op}: the element size is 0 bytes, so a byte slice cannot say how many \
                     elements it holds (use the typed Stack's push_slice/pop_slice)"
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

    /// Pushes a prefix of the `n` elements in `src` (`n * elem_size` bytes,
    /// checked by the caller): the count pushed, 0 when full (or when the
    /// first slot could not be claimed within the bound).
    pub(crate) fn push_n(&self, src: &[u8], n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        let top = self.top();
        let cap = self.capacity as i32;
        let (t, k) = loop {
            // Relaxed: a guess, confirmed by the CAS.
            let t = top.load(Ordering::Relaxed);
            if t < fmt::TOP_EMPTY || t >= cap {
                return 0; // corrupt top: never index outside the slots
            }
            let k = (n as i64).min((cap - 1 - t) as i64) as i32;
            if k == 0 {
                return 0; // full
            }
            // Reserve t + 1 ..= t + k. SeqCst on success as the single push
            // (the slot handovers are ordered by the state words; SeqCst
            // orders the claim before the sleeper-count load below, the
            // wake protocol of crate::waiters). Weak: a failure re-reads top.
            if top
                .compare_exchange_weak(t, t + k, Ordering::SeqCst, Ordering::Relaxed)
                .is_ok()
            {
                break (t, k);
            }
        };
        // Is a popper asleep on `top`? Woken once, after the publications.
        let _wake = WakeOnDrop(self, self.waiters.items_sleeping());
        let es = self.elem_size;
        for j in 0..k {
            let i = (t + 1 + j) as usize; // 0 <= i < capacity
            let state = self.state(i);
            // EMPTY -> WRITING (Acquire: the previous popper's read of this
            // slot happens-before our write), as the single push.
            if !claim(state, fmt::EMPTY, fmt::WRITING) {
                // Give up: hand back the indices not used (module doc).
                let _ = top.compare_exchange(t + k, t + j, Ordering::AcqRel, Ordering::Relaxed);
                return j as usize;
            }
            let at = j as usize * es;
            self.region.write_bytes(self.data_off(i), &src[at..at + es]);
            // Release: publishes the data to the popper whose READY->READING
            // claim (Acquire) sees this store.
            state.store(fmt::READY, Ordering::Release);
        }
        k as usize
    }

    /// Pops up to `n` elements, top first, into the prefix of `out` (`n *
    /// elem_size` bytes, checked by the caller): the count, 0 when empty
    /// (or when the top slot's value was not published within the bound).
    pub(crate) fn pop_n(&self, out: &mut [u8], n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        let top = self.top();
        let cap = self.capacity as i32;
        let (t, k) = loop {
            // Relaxed: a guess, confirmed by the CAS.
            let t = top.load(Ordering::Relaxed);
            if t < 0 || t >= cap {
                return 0; // empty, or a corrupt top
            }
            let k = (n as i64).min(t as i64 + 1) as i32;
            // Reserve t, t - 1, ..., t - k + 1 (SeqCst on success, as the
            // single pop, for the wake protocol).
            if top
                .compare_exchange_weak(t, t - k, Ordering::SeqCst, Ordering::Relaxed)
                .is_ok()
            {
                break (t, k);
            }
        };
        // Is a pusher asleep on `top`? Woken once, after the slots are freed.
        let _wake = WakeOnDrop(self, self.waiters.room_sleeping());
        let es = self.elem_size;
        for j in 0..k {
            let i = (t - j) as usize; // 0 <= i < capacity
            let state = self.state(i);
            // READY -> READING (Acquire: the pusher's data write
            // happens-before our read), as the single pop.
            if !claim(state, fmt::READY, fmt::READING) {
                // Give up: hand back the indices t - j down to t - k + 1
                // (module doc).
                let _ = top.compare_exchange(t - k, t - j, Ordering::AcqRel, Ordering::Relaxed);
                return j as usize;
            }
            let at = j as usize * es;
            self.region
                .read_bytes(self.data_off(i), &mut out[at..at + es]);
            // Release: our read happens-before the next pusher's write,
            // whose EMPTY->WRITING claim Acquires this store.
            state.store(fmt::EMPTY, Ordering::Release);
        }
        k as usize
    }

    /// [`RawStack::push_n`], retried until at least one element went in or
    /// `timeout` passed ([`Error::Timeout`](crate::Error::Timeout)).
    pub(crate) fn push_n_timeout(&self, src: &[u8], n: usize, timeout: Duration) -> Result<usize> {
        if n == 0 {
            return Ok(0);
        }
        let deadline = Deadline::after(timeout);
        // As the single push: asleep on `top` while full with no pop in
        // flight.
        let full = self.capacity as i32 - 1;
        self.block_on_top(Side::Room, &deadline, full, || match self.push_n(src, n) {
            0 => None,
            k => Some(k),
        })
        .ok_or_else(|| deadline.timeout(&self.region, KIND))
    }

    /// [`RawStack::pop_n`], retried until at least one element came out or
    /// `timeout` passed ([`Error::Timeout`](crate::Error::Timeout)).
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
        // As the single pop: asleep on `top` while empty with no push in
        // flight.
        self.block_on_top(Side::Items, &deadline, fmt::TOP_EMPTY, || {
            match self.pop_n(out, n) {
                0 => None,
                k => Some(k),
            }
        })
        .ok_or_else(|| deadline.timeout(&self.region, KIND))
    }

    /// Pushes as many leading elements of `src` (whole elements) as fit,
    /// reserving their indices with one CAS of `top`; returns how many
    /// (`Ok(0)` when full). The last element of the prefix ends on top.
    /// Fewer than fit only if a slot could not be claimed within the bound
    /// (a peer stalled or died on it; see the module doc).
    ///
    /// ```
    /// use zeroipc::format::ElemLayout;
    /// use zeroipc::raw::RawStack;
    /// use zeroipc::Segment;
    /// let name = format!("/zeroipc-doc-rawstack-many-{}", std::process::id());
    /// let seg = Segment::create(&name, 1 << 16)?;
    /// let s = RawStack::create(&seg, "s", ElemLayout::new(1, 1).unwrap(), 4)?;
    /// assert_eq!(s.push_many(b"abc")?, 3);
    /// assert_eq!(s.push_many(b"de")?, 1); // one slot was left
    /// assert_eq!(s.push_many(b"f")?, 0); // full
    /// let mut out = [0u8; 3];
    /// assert_eq!(s.pop_many(&mut out)?, 3);
    /// assert_eq!(&out, b"dcb"); // top first
    /// assert!(s.pop_many(&mut [0u8; 0]).is_ok());
    /// Segment::unlink(&name)?;
    /// # Ok::<(), zeroipc::Error>(())
    /// ```
    pub fn push_many(&self, src: &[u8]) -> Result<usize> {
        let n = self.whole_elems("push_many", src.len())?;
        Ok(self.push_n(src, n))
    }

    /// Pops up to `out.len() / elem_size` elements (a whole number), top
    /// first, into the front of `out`, reserving their indices with one CAS
    /// of `top`; returns how many (`Ok(0)` when empty). `out` past the
    /// count is left as it was.
    pub fn pop_many(&self, out: &mut [u8]) -> Result<usize> {
        let n = self.whole_elems("pop_many", out.len())?;
        Ok(self.pop_n(out, n))
    }

    /// Like [`RawStack::push_many`], but waits up to `timeout` until at
    /// least one element went in; [`Error::Timeout`](crate::Error::Timeout)
    /// otherwise.
    pub fn push_many_timeout(&self, src: &[u8], timeout: Duration) -> Result<usize> {
        let n = self.whole_elems("push_many_timeout", src.len())?;
        self.push_n_timeout(src, n, timeout)
    }

    /// Like [`RawStack::pop_many`], but waits up to `timeout` until at
    /// least one element came out; [`Error::Timeout`](crate::Error::Timeout)
    /// otherwise (`out` unchanged).
    pub fn pop_many_timeout(&self, out: &mut [u8], timeout: Duration) -> Result<usize> {
        let n = self.whole_elems("pop_many_timeout", out.len())?;
        self.pop_n_timeout(out, n, timeout)
    }
}

/// Wakes the sleepers on `top` when dropped, if the flag says some were
/// counted after the claim (step 4 of the wake protocol, on every return
/// path of a batch, the give-up ones included).
struct WakeOnDrop<'a>(&'a RawStack, bool);

impl Drop for WakeOnDrop<'_> {
    fn drop(&mut self) {
        if self.1 {
            crate::waiters::Word::U32(self.0.top_word()).wake_all();
        }
    }
}
