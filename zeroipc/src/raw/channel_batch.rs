//! Batch send and receive for [`RawChannel`] (issue 15).
//!
//! # Buffered channels
//!
//! A batch send is one [`RawQueue`] batch push (one claim of `tail` for up
//! to `n` tickets, each slot then published by the single-item protocol;
//! see the queue's batch module) wrapped in the channel's own protocol
//! exactly as a single send is: the sender counts itself in `senders`
//! (SeqCst) before checking `closed`, and wakes counted receivers after
//! the push. A batch receive is one batch pop wrapped as a single receive:
//! counted in `receivers`, draining what is left after close, and
//! reporting [`Error::Closed`](crate::Error::Closed) only once the queue is empty and no sender
//! is still counted (or [`CLOSE_GRACE`](super::CLOSE_GRACE) has passed).
//! So single and batch calls, ours or a C++ peer's single-item ones, mix
//! freely on one channel.
//!
//! Each call moves a prefix: as many values as fit (send) or as are
//! published (receive) at the moment of its one claim, at least one unless
//! it fails, and returns the count, like [`std::io::Write::write`]; call
//! again with the rest. The waiting forms wait until at least one value
//! can move.
//!
//! # Unbuffered channels
//!
//! A rendezvous hands over one value per receiver turn, so a batch call on
//! an unbuffered channel moves exactly one value (a single send or receive
//! with the same waiting rules) and returns 1: a loop of such calls is the
//! batch. The rest of the slice is left untouched.

use super::{Mode, RawChannel, KIND};
use crate::codata::CountGuard;
use crate::error::Result;
use crate::format::queue as qfmt;
use crate::raw::RawQueue;
use crate::region::atomic::Ordering;
use crate::wait::{wait_until, Deadline};
use std::time::{Duration, Instant};

impl RawChannel {
    /// The number of whole elements in `len` bytes given to `op`, or a
    /// clear error naming both sizes (nothing is sent or received).
    fn whole_elems(&self, op: &str, len: usize) -> Result<usize> {
        let size = self.size;
        if size == 0 {
            return Err(self.header.invalid_argument(
                KIND,
                format!(
                    "{op}: the element size is 0 bytes, so a byte slice cannot say how many \
                     elements it holds (use the typed Channel's slice calls)"
                ),
            ));
        }
        if len % size != 0 {
            return Err(self.header.invalid_argument(
                KIND,
                format!(
                    "{op}: a slice of {len} bytes given, which is not a whole number of \
                     {size}-byte elements"
                ),
            ));
        }
        Ok(len / size)
    }

    /// A batch push inside the buffered send protocol (see `buffered_send`
    /// in the parent, which this mirrors value for value).
    fn buffered_send_n(
        &self,
        q: &RawQueue,
        src: &[u8],
        n: usize,
        deadline: &Deadline,
        block: bool,
    ) -> Result<usize> {
        // Counted before the closed check (SeqCst, Dekker pair with
        // `close` and with receivers that wait for `senders == 0`).
        let _inside = CountGuard::enter(self.senders());
        let tail = q.region().atomic_u32(qfmt::TAIL as usize);
        // One attempt: Some(outcome) when done, None to keep waiting. A
        // batch push that moved nothing changed nothing, so it may be
        // retried at will.
        let attempt = || {
            if self.is_closed() {
                return Some(Err(self.closed_err()));
            }
            match q.push_n(src, n) {
                0 => None,
                k => {
                    Self::wake_if(self.receivers(), tail);
                    Some(Ok(k))
                }
            }
        };
        if let Some(r) = attempt() {
            return r;
        }
        if !block {
            return Err(self.full_err());
        }
        // Full: sleep on `head`, which a pop moves and our receivers wake;
        // every sleep is bounded and followed by another attempt.
        let head = q.region().atomic_u32(qfmt::HEAD as usize);
        wait_until(head, deadline.remaining(), attempt)
            .unwrap_or_else(|| Err(self.timeout_err(deadline)))
    }

    /// A batch pop inside the buffered receive protocol (see
    /// `buffered_recv` in the parent): `Ok(0)` only when not blocking and
    /// nothing is there now.
    fn buffered_recv_n(
        &self,
        q: &RawQueue,
        out: &mut [u8],
        n: usize,
        deadline: &Deadline,
        block: bool,
    ) -> Result<usize> {
        let _inside = CountGuard::enter(self.receivers());
        let head = q.region().atomic_u32(qfmt::HEAD as usize);
        let mut attempt = || {
            let k = q.pop_n(out, n);
            if k > 0 {
                Self::wake_if(self.senders(), head);
                return Some(Ok(k));
            }
            if self.is_closed() {
                // Empty and closed: as `buffered_recv`, once no sender is
                // counted (SeqCst load, the other half of the senders'
                // increment) or the grace since this handle first saw the
                // closure is over, one more pop settles it.
                let since = *self.local.closed_seen.get_or_init(Instant::now);
                if self.senders().load(Ordering::SeqCst) == 0
                    || since.elapsed() >= super::CLOSE_GRACE
                {
                    return Some(match q.pop_n(out, n) {
                        0 => Err(self.closed_err()),
                        k => Ok(k),
                    });
                }
            }
            None
        };
        if let Some(r) = attempt() {
            return r;
        }
        if !block {
            return Ok(0);
        }
        // Empty: sleep on `tail`, which a push moves and our senders wake.
        let tail = q.region().atomic_u32(qfmt::TAIL as usize);
        wait_until(tail, deadline.remaining(), attempt)
            .unwrap_or_else(|| Err(self.timeout_err(deadline)))
    }

    /// Sends a prefix of the `n` elements in `src` (`n * size` bytes,
    /// checked by the caller): see the module doc. `n == 0`: `Ok(0)`.
    pub(crate) fn send_n(
        &self,
        src: &[u8],
        n: usize,
        deadline: &Deadline,
        block: bool,
    ) -> Result<usize> {
        if n == 0 {
            return Ok(0);
        }
        match &*self.mode {
            Mode::Buffered(q) => self.buffered_send_n(q, src, n, deadline, block),
            Mode::Unbuffered { .. } => self
                .send_until(&src[..self.size], deadline, block)
                .map(|()| 1),
        }
    }

    /// Receives up to `n` elements into the prefix of `out` (`n * size`
    /// bytes, checked by the caller): see the module doc. `Ok(0)` when not
    /// blocking and nothing is there now, or `n == 0`.
    pub(crate) fn recv_n(
        &self,
        out: &mut [u8],
        n: usize,
        deadline: &Deadline,
        block: bool,
    ) -> Result<usize> {
        if n == 0 {
            return Ok(0);
        }
        match &*self.mode {
            Mode::Buffered(q) => self.buffered_recv_n(q, out, n, deadline, block),
            Mode::Unbuffered { .. } => {
                let size = self.size;
                self.recv_until(&mut out[..size], deadline, block)
                    .map(usize::from)
            }
        }
    }

    /// Sends as many leading elements of `src` (whole elements) as fit now,
    /// with one claim of the buffer queue, without waiting: the count
    /// (at least 1), [`Error::Full`](crate::Error::Full) if none fits (or, unbuffered, no
    /// receiver took the first value, as [`RawChannel::try_send`]),
    /// [`Error::Closed`](crate::Error::Closed) if closed. Unbuffered channels move one value per
    /// call (module doc). An empty `src` returns `Ok(0)`.
    ///
    /// ```
    /// use zeroipc::format::ElemLayout;
    /// use zeroipc::raw::channel::RawChannel;
    /// use zeroipc::{Error, Segment};
    /// use std::time::Duration;
    /// let name = format!("/zeroipc-doc-rawchannel-many-{}", std::process::id());
    /// let seg = Segment::create(&name, 1 << 16)?;
    /// let ch = RawChannel::create(&seg, "c", ElemLayout::new(2, 1).unwrap(), 4)?;
    /// assert_eq!(ch.try_send_many(&[1, 1, 2, 2, 3, 3])?, 3);
    /// assert_eq!(ch.try_send_many(&[4, 4, 5, 5])?, 1); // one slot was left
    /// assert!(matches!(ch.try_send_many(&[6, 6]), Err(Error::Full { .. })));
    /// assert!(ch.try_send_many(&[7, 7, 7]).is_err()); // not whole elements
    /// let mut out = [0u8; 6];
    /// assert_eq!(ch.recv_many_timeout(&mut out, Duration::from_secs(1))?, 3);
    /// assert_eq!(out, [1, 1, 2, 2, 3, 3]);
    /// ch.close();
    /// assert_eq!(ch.try_recv_many(&mut out)?, 1); // what is left, then Closed
    /// assert_eq!(out[..2], [4, 4]);
    /// assert!(matches!(ch.try_recv_many(&mut out), Err(Error::Closed { .. })));
    /// Segment::unlink(&name)?;
    /// # Ok::<(), zeroipc::Error>(())
    /// ```
    pub fn try_send_many(&self, src: &[u8]) -> Result<usize> {
        let n = self.whole_elems("try_send_many", src.len())?;
        self.send_n(src, n, &Deadline::forever(), false)
    }

    /// Like [`RawChannel::try_send_many`], but waits up to `timeout`
    /// (`Duration::MAX`: no limit) until at least one value fits (or,
    /// unbuffered, a receiver took the first value): [`Error::Timeout`](crate::Error::Timeout),
    /// [`Error::Closed`](crate::Error::Closed).
    pub fn send_many_timeout(&self, src: &[u8], timeout: Duration) -> Result<usize> {
        let n = self.whole_elems("send_many_timeout", src.len())?;
        self.send_n(src, n, &Deadline::after(timeout), true)
    }

    /// Receives as many of the next values as are there now (at most what
    /// `out`, a whole number of elements, holds) into the front of `out`,
    /// with one claim of the buffer queue, without waiting: the count;
    /// `Ok(0)` if none is there now; [`Error::Closed`](crate::Error::Closed) once closed and
    /// drained. Unbuffered channels move one value per call.
    pub fn try_recv_many(&self, out: &mut [u8]) -> Result<usize> {
        let n = self.whole_elems("try_recv_many", out.len())?;
        self.recv_n(out, n, &Deadline::forever(), false)
    }

    /// Like [`RawChannel::try_recv_many`], but waits up to `timeout`
    /// (`Duration::MAX`: no limit) until at least one value is there:
    /// [`Error::Timeout`](crate::Error::Timeout) (`out` unchanged), [`Error::Closed`](crate::Error::Closed) once closed
    /// and drained. An empty `out` returns `Ok(0)` at once.
    pub fn recv_many_timeout(&self, out: &mut [u8], timeout: Duration) -> Result<usize> {
        let n = self.whole_elems("recv_many_timeout", out.len())?;
        self.recv_n(out, n, &Deadline::after(timeout), true)
    }
}
