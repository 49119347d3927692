//! [`RawChannel`]: the `Channel` protocol over bytes, buffered (a bounded
//! MPMC [`RawQueue`]) or unbuffered (a rendezvous slot), with the element
//! layout known at run time. [`crate::Channel`] is a typed veneer over it.
//!
//! The normative layout is docs/FORMAT.md §4.9 (the C++ layout; the Python
//! reference's Channel uses other entries and cannot interoperate, §7); the
//! offsets are [`crate::format::channel`]. Entries, created together in
//! this order: `name_header`, then `name_buffer` (a queue, buffered) or
//! `name_slot` (unbuffered). The names are checked (≤ 31 bytes, free,
//! space) before anything is created ([`Segment::register_group`]), so base
//! names are limited to 24 bytes and a failure leaves no orphan entry.
//!
//! # Buffered protocol
//!
//! Values go through the queue with the reference's Vyukov protocol, so C++
//! senders and receivers can share the channel. Fixes (docs/FORMAT.md §8.3
//! #28): a blocking send waits while the queue is full (backpressure; the
//! `try_` form does not; the timed form gives up), and receivers drain what
//! is left after [`RawChannel::close`] before reporting [`Error::Closed`].
//! Our senders count themselves in `senders` while inside a send (increment
//! before checking `closed`, decrement after the push; both sequentially
//! consistent), and a receiver that finds the queue empty and the channel
//! closed waits for `senders == 0` (at most [`CLOSE_GRACE`]) and pops once
//! more, so a send that returned `Ok` racing with `close` is not lost.
//! Sleepers sleep on the queue's `tail` word (receivers) or `head` word
//! (blocked senders) and are woken by our peers after each push/pop when
//! the counters say someone is inside; reference peers wake nobody, so each
//! sleep is bounded ([`crate::wait::MAX_SLEEP`]) and re-checked.
//!
//! # Unbuffered protocol (rendezvous over the reference's slot bytes)
//!
//! The reference rendezvous is single-sender/single-receiver: two senders
//! can both see the slot free and overwrite each other (a value lost), two
//! receivers can both copy one value (duplicated), and a sender closed
//! mid-send leaves its value behind. Ours is safe with any number of our
//! senders and receivers:
//!
//! - **Senders serialise** on `send_seq`, used as a lock: even = free, odd =
//!   held; a sender takes it with `CAS(even -> odd)` and releases it with
//!   `+1` after a turn that handed a value over, so `send_seq / 2` counts
//!   those turns, or with `-1` after a turn that failed (timeout, close,
//!   a `try_send` nobody took), so a failed send leaves `send_seq` as it
//!   was. The holder waits for `ready == 0`, writes the value, stores
//!   `consumed = 0`, then `ready = 1` (release), and waits for
//!   `consumed == 1`; only then does it release the lock. It never leaves
//!   its value in the slot: on timeout or close it withdraws it with
//!   `CAS(ready 1 -> 0)`; if that CAS fails a receiver has already claimed
//!   the value, and the send completes `Ok`. After a withdrawal it puts the
//!   slot's data bytes and `consumed` back as they were, so a failed send
//!   leaves every byte unchanged, unless a receiver is counted at that
//!   moment: a reference receiver does not claim and may still be copying
//!   the withdrawn value, which a restore would tear, so then the
//!   withdrawn bytes stay (with `ready == 0` no receiver of ours reads
//!   them, and the next sender overwrites them).
//! - **Receivers claim** a value with `CAS(ready 1 -> 2)` (2 = "claimed by a
//!   receiver", a third value the reference never writes; a C++ peer reads
//!   it as `true`, i.e. "slot full" — checked with g++ 12 at -O0 and -O2,
//!   which test the byte against zero), copy it, store
//!   `consumed = 1` and then `ready = 0` (both release), and add 1 to
//!   `recv_seq` (values received by our receivers). Only one receiver can
//!   win the CAS, and a withdrawn value can no longer be claimed, so every
//!   value is received exactly once and every `Ok` send was received.
//! - Sleeping: receivers sleep on the `receivers` word, senders on the
//!   `senders` word; each side wakes the other after its step.
//!
//! With a reference peer: a C++ sender never takes our lock, so at most one
//! C++ sender may be used, and only while none of ours sends; a C++
//! receiver does not claim (it treats `ready != 0` as "full": it would also
//! copy a value one of our receivers has claimed), so at most one C++
//! receiver, and only while none of ours receives. One C++ sender with any
//! number of our receivers, or any number of our senders with one C++
//! receiver, works as the reference's own one-to-one rendezvous; if one of
//! our senders withdraws (timeout/close) while a C++ receiver is copying,
//! that value may be both received and reported as not sent.
//!
//! [`select`] receives from whichever of several channels has a value
//! first, with an optional timeout. It counts itself as a receiver of every
//! channel and sleeps on all their receiver words at once (`tail` of a
//! buffered channel's queue, `receivers` of an unbuffered one: the words
//! our senders wake), so our senders wake it as they wake a receiver. A
//! wake-up lost to a reference peer (which never wakes anyone) or to a race
//! costs at most one bounded sleep ([`crate::wait::MAX_SLEEP`]).
//!
//! # Forms
//!
//! [`RawChannel::try_send`] / [`RawChannel::try_recv`] never wait for
//! room or a value ([`Error::Full`] / `Ok(false)`);
//! [`RawChannel::send_timeout`] / [`RawChannel::recv_timeout`] wait at most
//! their timeout (`Duration::MAX`: no limit); [`RawChannel::items`] copies
//! the waiting values without taking them.

use super::queue::RawQueue;
use crate::codata::CountGuard;
use crate::describe::{check_description, Description};
use crate::error::{Error, Result};
use crate::format::channel as fmt;
use crate::format::{ElemLayout, StructureKind};
use crate::region::atomic::{fence, AtomicU32, AtomicU64, Ordering};
use crate::region::Region;
use crate::segment::{Part, Segment};
use crate::wait::{wait_until, wait_until_any_idle, wake_all, Deadline};
use std::sync::atomic::{AtomicU64 as LocalU64, Ordering as LocalOrdering};
use std::sync::{Arc, OnceLock, PoisonError};
use std::time::{Duration, Instant};

const KIND: &str = "channel";

/// How long a receiver of a closed, empty buffered channel waits for senders
/// still inside a send before reporting [`Error::Closed`].
pub const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// How long a `try_send` on an unbuffered channel waits for an
/// already-waiting receiver to take the value before withdrawing it.
pub const TRY_SEND_WINDOW: Duration = Duration::from_millis(10);

/// After a `try_send` on an unbuffered channel found receivers counted but
/// none took its value within [`TRY_SEND_WINDOW`] (receivers killed inside a
/// receive stay counted), later `try_send`s through the same handle fail
/// with [`Error::Full`] at once, without placing the value, while the
/// receiver count and the received-values counter stay as they were, for at
/// most this long; then one `try_send` probes again.
pub const TRY_SEND_REPROBE: Duration = Duration::from_millis(100);

/// Values up to this size are kept on the stack while a rendezvous sender
/// remembers the slot's old bytes.
const INLINE_VALUE: usize = 64;

#[derive(Debug)]
pub(crate) enum Mode {
    Buffered(RawQueue),
    Unbuffered { slot: Region, data_off: usize },
}

/// What one handle (and its clones) has observed: per-process knowledge the
/// shared bytes cannot record.
#[derive(Default, Debug)]
struct Local {
    /// When this handle first found the channel closed and empty: the
    /// [`CLOSE_GRACE`] for senders still counted runs from here across
    /// calls, so non-blocking receivers reach it too.
    closed_seen: OnceLock<Instant>,
    /// When this handle last delivered in a [`select`]: a process-wide
    /// sequence number (0 = never), so the next select starts after the
    /// channel that delivered last.
    select_stamp: LocalU64,
    /// Unbuffered: the receivers the last `try_send` found not taking its
    /// value (see [`TRY_SEND_REPROBE`]).
    idle_receivers: std::sync::Mutex<Option<IdleReceivers>>,
}

/// Counted receivers that did not take a `try_send`'s value in time.
#[derive(Clone, Copy, Debug)]
struct IdleReceivers {
    /// The `receivers` word then.
    receivers: u32,
    /// The `recv_seq` word then (it moves when one of ours receives).
    recv_seq: u64,
    /// When the window ran out.
    since: Instant,
}

/// Source of [`Local::select_stamp`] values.
static SELECT_SEQ: LocalU64 = LocalU64::new(0);

/// Releases the unbuffered sender lock and wakes senders: `send_seq` odd
/// -> the next even value after a turn that handed a value over (so
/// `send_seq / 2` counts those turns), back to the even value it had before
/// after a turn that failed (so a failed send leaves `send_seq` as it was).
struct SendLock<'a> {
    seq: &'a AtomicU64,
    senders: &'a AtomicU32,
    /// Set once a receiver took (or claimed) our value.
    handed_over: bool,
}

impl Drop for SendLock<'_> {
    fn drop(&mut self) {
        // Release: our slot accesses (including a restore of the old bytes)
        // happen-before the next holder's CAS (Acquire) that sees the even
        // value. Going back to the previous even value is safe: holders and
        // waiters only test the parity, never compare with an old value.
        if self.handed_over {
            self.seq.fetch_add(1, Ordering::Release);
        } else {
            self.seq.fetch_sub(1, Ordering::Release);
        }
        wake_all(self.senders);
    }
}

/// The slot's old data bytes, kept while a rendezvous sender's value is in
/// the slot (on the stack for small values).
enum OldBytes {
    Inline([u8; INLINE_VALUE]),
    Heap(Vec<u8>),
}

impl OldBytes {
    fn read(slot: &Region, off: usize, size: usize) -> OldBytes {
        let mut old = if size <= INLINE_VALUE {
            OldBytes::Inline([0; INLINE_VALUE])
        } else {
            OldBytes::Heap(vec![0; size])
        };
        slot.read_bytes(off, old.bytes_mut(size));
        old
    }

    fn bytes_mut(&mut self, size: usize) -> &mut [u8] {
        match self {
            OldBytes::Inline(b) => &mut b[..size],
            OldBytes::Heap(v) => v,
        }
    }
}

/// A shared channel whose element layout is known at run time.
///
/// ```
/// use zeroipc::format::ElemLayout;
/// use zeroipc::raw::channel::RawChannel;
/// use zeroipc::{Channel, Error, Segment};
/// let name = format!("/zeroipc-doc-rawchannel-{}", std::process::id());
/// let seg = Segment::create(&name, 1 << 16)?;
/// let ch = RawChannel::create(&seg, "c", ElemLayout::new(3, 1).unwrap(), 2)?;
/// ch.try_send(&[1, 2, 3])?;
/// ch.try_send(&[4, 5, 6])?;
/// assert!(matches!(ch.try_send(&[7, 8, 9]), Err(Error::Full { .. })));
/// assert_eq!(ch.items(), vec![vec![1, 2, 3], vec![4, 5, 6]]); // nothing taken
/// // The typed veneer shares the entries.
/// assert_eq!(Channel::<[u8; 3]>::open(&seg, "c")?.recv()?, [1, 2, 3]);
/// let mut out = [0u8; 3];
/// assert!(ch.try_recv(&mut out)?);
/// assert_eq!(out, [4, 5, 6]);
/// assert!(ch.try_send(&[1, 2]).is_err()); // wrong length: refused
/// Segment::unlink(&name)?;
/// # Ok::<(), zeroipc::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct RawChannel {
    pub(crate) header: Region,
    pub(crate) mode: Arc<Mode>,
    /// Cached at open: 0 (unbuffered) or the queue's capacity.
    capacity: u32,
    name: String,
    elem: ElemLayout,
    size: usize,
    local: Arc<Local>,
}

impl RawChannel {
    /// Creates a channel named `name` for elements of layout `elem`:
    /// unbuffered for `capacity == 0`, otherwise buffered with `capacity`
    /// rounded up as [`fmt::stored_capacity`] does (a power of two of at
    /// least 2: a one-slot buffer queue would lose values). Recorded in
    /// the segment's self-description.
    pub fn create(
        seg: &Segment,
        name: &str,
        elem: ElemLayout,
        capacity: usize,
    ) -> Result<RawChannel> {
        RawChannel::create_with(seg, name, elem, capacity, None)
    }

    /// [`RawChannel::create`] recording the element type's fingerprint
    /// when the caller knows it (the typed veneer).
    pub(crate) fn create_with(
        seg: &Segment,
        name: &str,
        elem: ElemLayout,
        capacity: usize,
        fingerprint: Option<u64>,
    ) -> Result<RawChannel> {
        let bad = |what: String| Error::InvalidParameter {
            segment: seg.name().to_owned(),
            what: format!("channel {name:?}: {what}"),
        };
        let rounded = fmt::stored_capacity(capacity as u64).ok_or_else(|| {
            bad(format!(
                "capacity {capacity} rounds up past 2^31, the largest power of two a u32 holds"
            ))
        })?;
        let header = format!("{name}{}", fmt::HEADER_SUFFIX);
        let (second, size) = if rounded == 0 {
            let slot = fmt::slot_layout(elem)
                .ok_or_else(|| bad(format!("a {}-byte element overflows", elem.size())))?;
            (format!("{name}{}", fmt::SLOT_SUFFIX), slot.size)
        } else {
            let size = fmt::buffer_size(rounded, elem).ok_or_else(|| {
                bad(format!(
                    "capacity {capacity} x {} bytes overflows",
                    elem.size()
                ))
            })?;
            (format!("{name}{}", fmt::BUFFER_SUFFIX), size)
        };
        let desc = Description {
            elem_fingerprint: fingerprint,
            ..Description::with_layout(StructureKind::Channel, elem, rounded)
        };
        let mut regions = seg.register_described(
            &[Part::new(header, fmt::HEADER_SIZE), Part::new(second, size)],
            &desc,
            |r| {
                // Relaxed: published by the table's release of entry_count.
                r[0].atomic_u32(fmt::CAPACITY as usize)
                    .store(rounded as u32, Ordering::Relaxed);
                if rounded > 0 {
                    RawQueue::init_region(&r[1], elem, capacity);
                }
                // Unbuffered slot: ready = consumed = 0, already zero.
                Ok(())
            },
        )?;
        let second = regions.pop().expect("two regions");
        let header = regions.pop().expect("two regions");
        RawChannel::from_regions(name, header, second, rounded as u32, Some(elem))
    }

    /// Opens the channel named `name` (its `name_header` and `name_buffer`
    /// or `name_slot`), validating both against each other and `elem`.
    /// `None`: a buffered channel's element size comes from its queue
    /// header; an unbuffered one's slot is taken as a 2-byte flag word and
    /// the rest as the value (byte alignment); on a self-describing
    /// segment the recorded layout is taken first. A structure recorded as
    /// another kind is refused ([`Error::WrongKind`]).
    pub fn open(seg: &Segment, name: &str, elem: Option<ElemLayout>) -> Result<RawChannel> {
        let recorded = seg
            .description(name)?
            .filter(|d| d.kind == StructureKind::Channel)
            .and_then(|d| d.elem);
        let elem = elem.or(recorded);
        let expected = Description {
            elem,
            ..Description::new(StructureKind::Channel)
        };
        check_description(seg, name, &expected)?;
        let header = seg.region(&format!("{name}{}", fmt::HEADER_SUFFIX))?;
        if header.len() as u64 != fmt::HEADER_SIZE {
            return Err(header.mismatch(
                KIND,
                format!(
                    "header entry is {} bytes, expected {}",
                    header.len(),
                    fmt::HEADER_SIZE
                ),
            ));
        }
        // Read once: the value that chose the entry also validates it.
        let cap = header
            .atomic_u32(fmt::CAPACITY as usize)
            .load(Ordering::Acquire);
        let suffix = if cap == 0 {
            fmt::SLOT_SUFFIX
        } else {
            fmt::BUFFER_SUFFIX
        };
        let second = seg.region(&format!("{name}{suffix}"))?;
        RawChannel::from_regions(name, header, second, cap, elem)
    }

    fn from_regions(
        name: &str,
        header: Region,
        second: Region,
        cap: u32,
        elem: Option<ElemLayout>,
    ) -> Result<RawChannel> {
        let (mode, elem) = if cap == 0 {
            let elem = match elem {
                Some(e) => e,
                None => ElemLayout::new((second.len() as u64).saturating_sub(2), 1)
                    .expect("alignment 1 accepts every size"),
            };
            let slot = fmt::slot_layout(elem).unwrap_or(fmt::SlotLayout {
                data: u64::MAX,
                size: u64::MAX,
            });
            if second.len() as u64 != slot.size {
                return Err(second.mismatch(
                    KIND,
                    format!(
                        "rendezvous slot is {} bytes, expected {} for a {}-byte, {}-aligned \
                         element (wrong element type?)",
                        second.len(),
                        slot.size,
                        elem.size(),
                        elem.align()
                    ),
                ));
            }
            let data_off = slot.data as usize;
            (
                Mode::Unbuffered {
                    slot: second,
                    data_off,
                },
                elem,
            )
        } else {
            if !cap.is_power_of_two() {
                return Err(
                    header.mismatch(KIND, format!("header capacity {cap} is not a power of two"))
                );
            }
            let q = RawQueue::from_region(second, elem)?;
            if q.capacity() != cap as usize {
                return Err(header.mismatch(
                    KIND,
                    format!(
                        "header capacity {cap} differs from the buffer queue's capacity {}",
                        q.capacity()
                    ),
                ));
            }
            let elem = q.elem();
            (Mode::Buffered(q), elem)
        };
        Ok(RawChannel {
            header,
            mode: Arc::new(mode),
            capacity: cap,
            name: name.to_owned(),
            elem,
            size: elem.size() as usize,
            local: Arc::default(),
        })
    }

    /// The base name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The element layout.
    pub fn elem(&self) -> ElemLayout {
        self.elem
    }

    /// 0 for an unbuffered channel, else the queue capacity.
    pub fn capacity(&self) -> usize {
        self.capacity as usize
    }

    /// The `name_header` entry.
    pub fn header(&self) -> &Region {
        &self.header
    }

    /// The buffer queue of a buffered channel.
    pub fn buffer(&self) -> Option<&RawQueue> {
        match &*self.mode {
            Mode::Buffered(q) => Some(q),
            Mode::Unbuffered { .. } => None,
        }
    }

    /// Values waiting in a buffered channel (a snapshot); for an unbuffered
    /// one, 1 while a value sits in the slot.
    pub fn len(&self) -> usize {
        match &*self.mode {
            Mode::Buffered(q) => q.len(),
            Mode::Unbuffered { slot, .. } => usize::from(
                slot.atomic_u8(fmt::SLOT_READY as usize)
                    .load(Ordering::Acquire)
                    == fmt::SLOT_FULL,
            ),
        }
    }

    /// True when [`RawChannel::len`] is 0.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values waiting, in order, copied without taking them: a
    /// buffered channel's queue items; an unbuffered channel's offered
    /// value (0 or 1 of them).
    pub fn items(&self) -> Vec<Vec<u8>> {
        match &*self.mode {
            Mode::Buffered(q) => q.items(),
            Mode::Unbuffered { slot, data_off } => {
                let ready = slot.atomic_u8(fmt::SLOT_READY as usize);
                if ready.load(Ordering::Acquire) != fmt::SLOT_FULL {
                    return Vec::new();
                }
                let mut v = vec![0u8; self.size];
                slot.read_bytes(*data_off, &mut v);
                // Keep the copy before the re-check: a value withdrawn or
                // taken during the copy is not reported.
                fence(Ordering::Acquire);
                if ready.load(Ordering::Relaxed) == fmt::SLOT_FULL {
                    vec![v]
                } else {
                    Vec::new()
                }
            }
        }
    }

    fn senders(&self) -> &AtomicU32 {
        self.header.atomic_u32(fmt::SENDERS as usize)
    }

    fn receivers(&self) -> &AtomicU32 {
        self.header.atomic_u32(fmt::RECEIVERS as usize)
    }

    /// Senders currently inside a send (ours and the reference's rendezvous).
    pub fn sender_count(&self) -> u32 {
        self.senders().load(Ordering::Relaxed)
    }

    /// Receivers currently inside a receive.
    pub fn receiver_count(&self) -> u32 {
        self.receivers().load(Ordering::Relaxed)
    }

    /// True once any party closed the channel.
    #[inline]
    pub fn is_closed(&self) -> bool {
        // SeqCst: part of the Dekker pairs described in the module docs.
        self.header
            .atomic_u8(fmt::CLOSED as usize)
            .load(Ordering::SeqCst)
            != 0
    }

    /// Closes the channel: sends fail with [`Error::Closed`] from now on;
    /// receivers still get the values already sent, then `Closed`. Wakes
    /// every sleeper.
    pub fn close(&self) {
        // SeqCst: a sender that increments `senders` and then sees closed ==
        // 0 is visible to receivers that see closed == 1 (module docs).
        self.header
            .atomic_u8(fmt::CLOSED as usize)
            .store(1, Ordering::SeqCst);
        wake_all(self.senders());
        wake_all(self.receivers());
        if let Mode::Buffered(q) = &*self.mode {
            wake_all(q.region().atomic_u32(crate::format::queue::HEAD as usize));
            wake_all(q.region().atomic_u32(crate::format::queue::TAIL as usize));
        }
    }

    pub(crate) fn closed_err(&self) -> Error {
        Error::Closed {
            name: self.name.clone(),
            kind: KIND,
        }
    }

    fn full_err(&self) -> Error {
        Error::Full {
            name: self.name.clone(),
            kind: KIND,
        }
    }

    fn timeout_err(&self, deadline: &Deadline) -> Error {
        deadline.timeout_named(&self.name, KIND)
    }

    /// The word a receiver sleeps on and our senders (after a push or
    /// placing a value, when receivers are counted) and `close` wake: the
    /// queue's `tail` (buffered) or the `receivers` count (unbuffered).
    fn recv_word(&self) -> &AtomicU32 {
        match &*self.mode {
            Mode::Buffered(q) => q.region().atomic_u32(crate::format::queue::TAIL as usize),
            Mode::Unbuffered { .. } => self.receivers(),
        }
    }

    /// Wakes the sleepers of `word` if `count` says someone is inside.
    #[inline]
    fn wake_if(count: &AtomicU32, word: &AtomicU32) {
        // SeqCst fence: orders our state change (push/pop/slot store) before
        // the count load (Dekker pair with CountGuard::enter).
        fence(Ordering::SeqCst);
        if count.load(Ordering::Relaxed) > 0 {
            wake_all(word);
        }
    }

    #[inline]
    fn check_len(&self, op: &str, given: usize) -> Result<()> {
        super::check_len(&self.header, KIND, op, self.size, given)
    }

    // ----- buffered ---------------------------------------------------------

    #[inline]
    fn buffered_send<W: Fn(&Region, usize)>(
        &self,
        q: &RawQueue,
        write: W,
        deadline: &Deadline,
        block: bool,
    ) -> Result<()> {
        let _inside = CountGuard::enter(self.senders());
        let tail = q.region().atomic_u32(crate::format::queue::TAIL as usize);
        // One attempt: Some(outcome) when done, None to keep waiting. A
        // failed push has no side effect, so it may be retried at will.
        let attempt = || {
            if self.is_closed() {
                return Some(Err(self.closed_err()));
            }
            q.push_with(&write).then(|| {
                Self::wake_if(self.receivers(), tail);
                Ok(())
            })
        };
        if let Some(r) = attempt() {
            return r;
        }
        if !block {
            return Err(self.full_err());
        }
        // Full (or the next slot is still being emptied by a consumer, maybe
        // a dead one): sleep on `head`, which a pop moves and our receivers
        // wake; every sleep is bounded and followed by another attempt.
        let head = q.region().atomic_u32(crate::format::queue::HEAD as usize);
        wait_until(head, deadline.remaining(), attempt)
            .unwrap_or_else(|| Err(self.timeout_err(deadline)))
    }

    #[inline]
    fn buffered_recv<R: FnMut(&Region, usize)>(
        &self,
        q: &RawQueue,
        mut read: R,
        deadline: &Deadline,
        block: bool,
    ) -> Result<bool> {
        let _inside = CountGuard::enter(self.receivers());
        let head = q.region().atomic_u32(crate::format::queue::HEAD as usize);
        let mut attempt = || {
            if q.pop_with(&mut read).is_some() {
                Self::wake_if(self.senders(), head);
                return Some(Ok(true));
            }
            if self.is_closed() {
                // Empty and closed. A sender that saw the channel open is
                // counted in `senders` (SeqCst increment before its closed
                // check, Dekker pair with `close`), so once the count is 0
                // (or the grace is over: a sender killed inside a send) one
                // more pop settles it. The grace runs from when this handle
                // first saw the closure, not per call.
                let since = *self.local.closed_seen.get_or_init(Instant::now);
                if self.senders().load(Ordering::SeqCst) == 0 || since.elapsed() >= CLOSE_GRACE {
                    return Some(match q.pop_with(&mut read) {
                        Some(()) => Ok(true),
                        None => Err(self.closed_err()),
                    });
                }
            }
            None
        };
        if let Some(r) = attempt() {
            return r;
        }
        if !block {
            return Ok(false);
        }
        // Empty (or the next value is still being written, maybe by a dead
        // producer): sleep on `tail`, which a push moves and our senders wake.
        let tail = q.region().atomic_u32(crate::format::queue::TAIL as usize);
        wait_until(tail, deadline.remaining(), attempt)
            .unwrap_or_else(|| Err(self.timeout_err(deadline)))
    }

    // ----- unbuffered -------------------------------------------------------

    pub(crate) fn send_seq(&self) -> &AtomicU64 {
        self.header.atomic_u64(fmt::SEND_SEQ as usize)
    }

    /// Takes the sender lock (`send_seq` even -> odd); `None` if it is held
    /// and `block` is false.
    fn lock_sender(&self, deadline: &Deadline, block: bool) -> Result<Option<SendLock<'_>>> {
        let seq = self.send_seq();
        loop {
            if self.is_closed() {
                return Err(self.closed_err());
            }
            let s = seq.load(Ordering::Relaxed);
            // Acquire on success: the previous holder's slot accesses
            // (released by its `+1`) happen-before ours.
            if s % 2 == 0
                && seq
                    .compare_exchange(s, s.wrapping_add(1), Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
            {
                return Ok(Some(SendLock {
                    seq,
                    senders: self.senders(),
                    handed_over: false,
                }));
            }
            if !block {
                return Ok(None);
            }
            let woke = wait_until(self.senders(), deadline.remaining(), || {
                (self.is_closed() || seq.load(Ordering::Relaxed) % 2 == 0).then_some(())
            });
            if woke.is_none() {
                return Err(self.timeout_err(deadline));
            }
        }
    }

    fn recv_seq(&self) -> &AtomicU64 {
        self.header.atomic_u64(fmt::RECV_SEQ as usize)
    }

    /// `try_send`: whether the `receivers` counted now are the ones that
    /// recently let a value go untaken (nothing received since, count
    /// unchanged, within [`TRY_SEND_REPROBE`]): presumably killed inside a
    /// receive, so waiting for them would only cost [`TRY_SEND_WINDOW`].
    fn receivers_presumed_idle(&self, receivers: u32) -> bool {
        let idle = self
            .local
            .idle_receivers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        idle.is_some_and(|i| {
            i.receivers == receivers
                && i.recv_seq == self.recv_seq().load(Ordering::Acquire)
                && i.since.elapsed() < TRY_SEND_REPROBE
        })
    }

    /// Records (or, with `None`, forgets) receivers that did not take a
    /// `try_send`'s value.
    fn note_idle_receivers(&self, idle: Option<IdleReceivers>) {
        *self
            .local
            .idle_receivers
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = idle;
    }

    /// The error of a send that failed without handing its value over:
    /// closed, else timed out (blocking) or full (non-blocking).
    fn failed_send(&self, deadline: &Deadline, block: bool) -> Error {
        if self.is_closed() {
            self.closed_err()
        } else if block {
            self.timeout_err(deadline)
        } else {
            self.full_err()
        }
    }

    fn unbuffered_send(
        &self,
        slot: &Region,
        data_off: usize,
        write: &dyn Fn(&Region, usize),
        deadline: &Deadline,
        block: bool,
    ) -> Result<()> {
        let _inside = CountGuard::enter(self.senders());
        // Relaxed: only compared with a later load of the same word (did one
        // of our receivers take a value meanwhile?); orders nothing.
        let recv_seq_before = self.recv_seq().load(Ordering::Relaxed);
        let receivers = self.receivers().load(Ordering::SeqCst);
        // try_send: nobody is waiting to take it (the reference's rule), or
        // the receivers counted did not take the last value offered.
        if !block && (receivers == 0 || self.receivers_presumed_idle(receivers)) {
            return Err(self.failed_send(deadline, false));
        }
        let Some(mut lock) = self.lock_sender(deadline, block)? else {
            return Err(self.full_err());
        };
        // A try_send waits only briefly for the receiver it saw.
        let deadline = if block {
            *deadline
        } else {
            Deadline::after(TRY_SEND_WINDOW)
        };
        let ready = slot.atomic_u8(fmt::SLOT_READY as usize);
        let consumed = slot.atomic_u8(fmt::SLOT_CONSUMED as usize);
        // 1. The slot must be empty: the previous value's receiver may still
        //    be between `consumed = 1` and `ready = 0`, or a reference sender
        //    may be using it.
        loop {
            if self.is_closed() {
                return Err(self.closed_err());
            }
            // Acquire: pairs with the receiver's Release `ready = 0`, so its
            // copy of the old value happens-before our overwrite.
            if ready.load(Ordering::Acquire) == fmt::SLOT_EMPTY {
                break;
            }
            let woke = wait_until(self.senders(), deadline.remaining(), || {
                (self.is_closed() || ready.load(Ordering::Acquire) == fmt::SLOT_EMPTY).then_some(())
            });
            if woke.is_none() {
                return Err(self.failed_send(&deadline, block));
            }
        }
        // 2. Place the value. We hold the sender lock and ready == 0, so no
        //    one of ours reads or writes the data bytes now. Keep the old
        //    bytes to put back if the value is withdrawn.
        let mut old = OldBytes::read(slot, data_off, self.size);
        let old_consumed = consumed.load(Ordering::Relaxed);
        write(slot, data_off);
        // Relaxed: ordered before the Release store of `ready` below, which
        // is what receivers acquire.
        consumed.store(0, Ordering::Relaxed);
        // Release: the value and consumed = 0 before ready = 1.
        ready.store(fmt::SLOT_FULL, Ordering::Release);
        Self::wake_if(self.receivers(), self.receivers());
        // 3. Wait until a receiver took it, or withdraw it.
        let taken = || consumed.load(Ordering::Acquire) == 1;
        loop {
            if taken() {
                lock.handed_over = true;
                if !block {
                    self.note_idle_receivers(None);
                }
                return Ok(());
            }
            if self.is_closed() || deadline.expired() {
                // Withdraw: only possible while nobody has claimed it. AcqRel
                // on success: nobody will ever read this value.
                if ready
                    .compare_exchange(
                        fmt::SLOT_FULL,
                        fmt::SLOT_EMPTY,
                        Ordering::AcqRel,
                        Ordering::Acquire,
                    )
                    .is_ok()
                {
                    self.restore_withdrawn(slot, data_off, old.bytes_mut(self.size), old_consumed);
                    if !block {
                        let nothing_received =
                            self.recv_seq().load(Ordering::Acquire) == recv_seq_before;
                        self.note_idle_receivers(nothing_received.then(|| IdleReceivers {
                            receivers,
                            recv_seq: recv_seq_before,
                            since: Instant::now(),
                        }));
                    }
                    return Err(self.failed_send(&deadline, block));
                }
                // Claimed (2) or already taken by a reference receiver (0,
                // consumed then 1): the transfer completes in a few steps of
                // the receiver; wait for it without a deadline unless the
                // receiver died holding its claim (recover_unbuffered).
                lock.handed_over = true;
                let done = wait_until(self.senders(), Some(CLOSE_GRACE), || taken().then_some(()));
                if done.is_some() {
                    return Ok(());
                }
                return Err(self.timeout_err(&deadline));
            }
            wait_until(self.senders(), deadline.remaining(), || {
                (taken() || self.is_closed()).then_some(())
            });
        }
    }

    /// After a withdrawal (`ready` 1 -> 0 by us, the sender lock still
    /// held): puts back the data bytes and `consumed` as they were before
    /// we placed our value, so a failed send leaves the slot's bytes
    /// unchanged; `send_seq` is restored by the lock (see [`SendLock`]).
    ///
    /// Only when no receiver is inside a receive: a reference receiver does
    /// not claim, so one that saw `ready == 1` just before the withdrawal
    /// may still be copying the data, and restoring under it would tear
    /// its copy. Ours cannot be reading (they read only after winning the
    /// claim, which the withdrawal made impossible); when a receiver is
    /// counted the withdrawn value's bytes stay (invisible to our
    /// receivers: `ready` is 0 and the next sender overwrites them).
    fn restore_withdrawn(&self, slot: &Region, data_off: usize, old: &[u8], old_consumed: u8) {
        // SeqCst fence: orders the withdrawal before the `receivers` load
        // (Dekker pair with a receiver's SeqCst `receivers += 1` before it
        // looks at `ready`): a receiver we do not count sees `ready == 0`
        // and does not copy.
        fence(Ordering::SeqCst);
        if self.receivers().load(Ordering::SeqCst) == 0 {
            // We hold the sender lock and `ready` is 0: no sender of ours
            // writes and no receiver reads these bytes now.
            slot.write_bytes(data_off, old);
            // Relaxed: published by the lock release (Release) and by the
            // next `ready = 1` of whoever writes next.
            slot.atomic_u8(fmt::SLOT_CONSUMED as usize)
                .store(old_consumed, Ordering::Relaxed);
        }
        wake_all(self.senders());
    }

    /// One attempt to claim and take the value in the slot into `out`.
    fn take_slot(
        &self,
        slot: &Region,
        data_off: usize,
        read: &mut dyn FnMut(&Region, usize),
    ) -> bool {
        let ready = slot.atomic_u8(fmt::SLOT_READY as usize);
        // Acquire on success: pairs with the sender's Release `ready = 1`,
        // so the value is fully written; the claim makes it ours alone (no
        // other receiver can claim, and the sender can no longer withdraw).
        if ready
            .compare_exchange(
                fmt::SLOT_FULL,
                fmt::SLOT_CLAIMED,
                Ordering::Acquire,
                Ordering::Relaxed,
            )
            .is_err()
        {
            return false;
        }
        read(slot, data_off);
        // Release: our copy happens-before the sender's return (it acquires
        // consumed) and before the next value is written (the next sender
        // acquires ready == 0).
        slot.atomic_u8(fmt::SLOT_CONSUMED as usize)
            .store(1, Ordering::Release);
        ready.store(fmt::SLOT_EMPTY, Ordering::Release);
        self.recv_seq().fetch_add(1, Ordering::Relaxed);
        Self::wake_if(self.senders(), self.senders());
        true
    }

    fn unbuffered_recv(
        &self,
        slot: &Region,
        data_off: usize,
        read: &mut dyn FnMut(&Region, usize),
        deadline: &Deadline,
        block: bool,
    ) -> Result<bool> {
        let _inside = CountGuard::enter(self.receivers());
        let ready = slot.atomic_u8(fmt::SLOT_READY as usize);
        loop {
            if self.take_slot(slot, data_off, read) {
                return Ok(true);
            }
            if self.is_closed() && ready.load(Ordering::Acquire) != fmt::SLOT_FULL {
                // A value placed before the close is still taken above; our
                // senders withdraw theirs once they see the close.
                return Err(self.closed_err());
            }
            if !block {
                return Ok(false);
            }
            let woke = wait_until(self.receivers(), deadline.remaining(), || {
                (self.is_closed() || ready.load(Ordering::Acquire) == fmt::SLOT_FULL).then_some(())
            });
            if woke.is_none() {
                return Err(self.timeout_err(deadline));
            }
        }
    }

    // ----- the operations, once ---------------------------------------------

    /// Sends the value that `write(region, offset)` copies into an
    /// element's place (the byte API copies a slice, the typed veneer its
    /// `T`, so the copy has the element's size at compile time): blocking
    /// until `deadline` when `block`, else without waiting for room or a
    /// receiver to arrive ([`Error::Full`]). `write` runs at most once, when
    /// the place is ours.
    #[inline]
    pub(crate) fn send_with<W: Fn(&Region, usize)>(
        &self,
        write: W,
        deadline: &Deadline,
        block: bool,
    ) -> Result<()> {
        match &*self.mode {
            Mode::Buffered(q) => self.buffered_send(q, write, deadline, block),
            Mode::Unbuffered { slot, data_off } => {
                self.unbuffered_send(slot, *data_off, &write, deadline, block)
            }
        }
    }

    /// Sends `src` (length checked by the caller): see `send_with`.
    #[inline]
    pub(crate) fn send_until(&self, src: &[u8], deadline: &Deadline, block: bool) -> Result<()> {
        self.send_with(|r, off| r.write_bytes(off, src), deadline, block)
    }

    /// Receives a value through `read(region, offset)`, which copies the
    /// element at that place out (see `send_with`): `Ok(true)` when a value
    /// was taken, `Ok(false)` when none is there now (`block` false),
    /// [`Error::Closed`] once closed and drained, [`Error::Timeout`].
    #[inline]
    pub(crate) fn recv_with<R: FnMut(&Region, usize)>(
        &self,
        mut read: R,
        deadline: &Deadline,
        block: bool,
    ) -> Result<bool> {
        match &*self.mode {
            Mode::Buffered(q) => self.buffered_recv(q, read, deadline, block),
            Mode::Unbuffered { slot, data_off } => {
                self.unbuffered_recv(slot, *data_off, &mut read, deadline, block)
            }
        }
    }

    /// Receives into `out` (length checked by the caller): `Ok(true)` when
    /// a value was taken, `Ok(false)` when none is there now (`block`
    /// false), [`Error::Closed`] once closed and drained, [`Error::Timeout`].
    #[inline]
    pub(crate) fn recv_until(
        &self,
        out: &mut [u8],
        deadline: &Deadline,
        block: bool,
    ) -> Result<bool> {
        self.recv_with(|r, off| r.read_bytes(off, out), deadline, block)
    }

    /// Sends `src`, waiting for room (buffered) or a receiver (unbuffered)
    /// at most `timeout` (`Duration::MAX`: no limit) ([`Error::Timeout`];
    /// an unbuffered value not taken by then is withdrawn). [`Error::Closed`]
    /// if the channel is (or becomes, before the value was taken) closed.
    pub fn send_timeout(&self, src: &[u8], timeout: Duration) -> Result<()> {
        self.check_len("send", src.len())?;
        self.send_until(src, &Deadline::after(timeout), true)
    }

    /// Sends `src` without waiting for room or for a receiver to arrive:
    /// [`Error::Full`] if the queue is full (buffered) or no receiver took
    /// it (unbuffered; a waiting receiver gets up to [`TRY_SEND_WINDOW`]),
    /// [`Error::Closed`] if closed.
    pub fn try_send(&self, src: &[u8]) -> Result<()> {
        self.check_len("try_send", src.len())?;
        self.send_until(src, &Deadline::forever(), false)
    }

    /// Receives the next value into `out`, waiting at most `timeout`
    /// (`Duration::MAX`: no limit); after close, what is left, then
    /// [`Error::Closed`].
    pub fn recv_timeout(&self, out: &mut [u8], timeout: Duration) -> Result<()> {
        self.check_len("recv", out.len())?;
        self.recv_until(out, &Deadline::after(timeout), true)
            .map(|_| ())
    }

    /// Receives a value into `out` if one is available now: `Ok(true)`;
    /// `Ok(false)` if not; [`Error::Closed`] once closed and drained.
    pub fn try_recv(&self, out: &mut [u8]) -> Result<bool> {
        self.check_len("try_recv", out.len())?;
        self.recv_until(out, &Deadline::forever(), false)
    }

    /// Unbuffered recovery after a participant was killed mid-transfer:
    /// releases a sender lock left held (odd `send_seq`) and clears a slot
    /// left claimed (`ready == 2`). Call it only when no transfer is in
    /// progress; a live holder would otherwise be broken. Returns true if
    /// anything was reset.
    pub fn recover_unbuffered(&self) -> bool {
        let Mode::Unbuffered { slot, .. } = &*self.mode else {
            return false;
        };
        let mut changed = false;
        let seq = self.send_seq();
        let s = seq.load(Ordering::Acquire);
        if s % 2 == 1
            && seq
                .compare_exchange(s, s.wrapping_add(1), Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        {
            changed = true;
        }
        let ready = slot.atomic_u8(fmt::SLOT_READY as usize);
        if ready
            .compare_exchange(
                fmt::SLOT_CLAIMED,
                fmt::SLOT_EMPTY,
                Ordering::AcqRel,
                Ordering::Relaxed,
            )
            .is_ok()
        {
            slot.atomic_u8(fmt::SLOT_CONSUMED as usize)
                .store(1, Ordering::Release);
            changed = true;
        }
        wake_all(self.senders());
        wake_all(self.receivers());
        changed
    }
}

/// Receives into `out` from whichever of `channels` has a value first,
/// waiting up to `timeout` (`None`: forever); returns the channel's index.
/// [`Error::Closed`] (naming the last channel) once every channel is closed
/// and drained; [`Error::Timeout`] on timeout; [`Error::InvalidArgument`]
/// for an empty list or an `out` of another size than a channel's element.
/// Channels are polled round-robin starting after the one whose handle
/// delivered last in a `select` (remembered in the handles, across calls),
/// so a busy channel does not starve the others. While waiting it counts as
/// a receiver on every channel (so senders wake it) and sleeps on all the
/// channels' receiver words at once ([`crate::wait::futex_waitv`]), each
/// sleep bounded by [`crate::wait::MAX_SLEEP`] (reference senders wake
/// nobody).
///
/// ```
/// use zeroipc::format::ElemLayout;
/// use zeroipc::raw::channel::{select, RawChannel};
/// use zeroipc::Segment;
/// use std::time::Duration;
/// let name = format!("/zeroipc-doc-rawselect-{}", std::process::id());
/// let seg = Segment::create(&name, 1 << 16)?;
/// let e = ElemLayout::new(5, 1).unwrap();
/// let (a, b) = (RawChannel::create(&seg, "a", e, 2)?, RawChannel::create(&seg, "b", e, 2)?);
/// b.try_send(b"hello")?;
/// let mut out = [0u8; 5];
/// assert_eq!(select(&[&a, &b], &mut out, Some(Duration::from_secs(1)))?, 1);
/// assert_eq!(&out, b"hello");
/// assert!(select(&[&a, &b], &mut out, Some(Duration::from_millis(5))).is_err());
/// Segment::unlink(&name)?;
/// # Ok::<(), zeroipc::Error>(())
/// ```
pub fn select(
    channels: &[&RawChannel],
    out: &mut [u8],
    timeout: Option<Duration>,
) -> Result<usize> {
    let Some(last) = channels.last() else {
        return Err(Error::InvalidParameter {
            segment: String::new(),
            what: "select over an empty list of channels".to_owned(),
        });
    };
    for c in channels {
        c.check_len("select", out.len())?;
    }
    let deadline = Deadline::from_timeout(timeout);
    let _guards: Vec<CountGuard<'_>> = channels
        .iter()
        .map(|c| CountGuard::enter(c.receivers()))
        .collect();
    let n = channels.len();
    // Fair across calls: start after the channel whose handle delivered
    // last (highest stamp); never-used handles have stamp 0.
    let first = channels
        .iter()
        .enumerate()
        .map(|(i, c)| (c.local.select_stamp.load(LocalOrdering::Relaxed), i))
        .max()
        .filter(|&(stamp, _)| stamp > 0)
        .map_or(0, |(_, i)| (i + 1) % n);
    // Sleep on every channel's receiver word at once (the buffered queue's
    // `tail`, the unbuffered `receivers` word): our senders wake it after a
    // push / placing a value because `_guards` counts us as a receiver, and
    // `close` wakes it. `wait_until_any` reads the words after the guards'
    // SeqCst increments and before each poll (the Dekker pairs of the
    // module docs), so a value sent after a poll ends the sleep; a wake-up
    // lost to a reference sender costs at most one MAX_SLEEP.
    let words: Vec<&AtomicU32> = channels.iter().map(|c| c.recv_word()).collect();
    let ready = || {
        let mut closed = 0;
        for k in 0..n {
            let i = (first + k) % n;
            // recv_until reports Closed once the channel is closed and
            // drained, a buffered one after the close grace for senders
            // still counted (remembered in the handle across calls).
            match channels[i].recv_until(out, &Deadline::forever(), false) {
                Ok(true) => {
                    // Relaxed: a per-process ordering hint, no data depends on it.
                    let stamp = SELECT_SEQ.fetch_add(1, LocalOrdering::Relaxed) + 1;
                    channels[i]
                        .local
                        .select_stamp
                        .store(stamp, LocalOrdering::Relaxed);
                    return Some(Ok(i));
                }
                Ok(false) => {}
                Err(Error::Closed { .. }) => closed += 1,
                Err(e) => return Some(Err(e)),
            }
        }
        (closed == n).then(|| Err(last.closed_err()))
    };
    // A buffered channel whose `tail` seen is not its `head` has a push in
    // flight (claimed, not yet published) or a value another receiver is
    // taking: its wake-up may come before we sleep, so back off instead.
    let idle = |seen: &[u32]| {
        channels.iter().zip(seen).all(|(c, &tail)| match &*c.mode {
            // SeqCst: read after the SeqCst load of `tail` (step b).
            Mode::Buffered(q) => {
                q.region()
                    .atomic_u32(crate::format::queue::HEAD as usize)
                    .load(Ordering::SeqCst)
                    == tail
            }
            Mode::Unbuffered { .. } => true,
        })
    };
    let got = wait_until_any_idle(&words, timeout, ready, idle);
    got.unwrap_or_else(|| {
        let names: Vec<&str> = channels.iter().map(|c| c.name.as_str()).collect();
        Err(deadline.timeout_named(&names.join(","), KIND))
    })
}

// Batch send/receive: a child module so that it shares this file's
// private helpers.
#[path = "channel_batch.rs"]
mod batch;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codata::testutil::seg;
    use crate::wait::poll_until;
    use crate::Channel;

    #[test]
    fn runtime_sizes_interoperate_with_the_typed_veneer() {
        let t = seg("rawch");
        for cap in [0usize, 4] {
            for (size, align) in [(3u64, 1u64), (12, 4), (40, 8)] {
                let name = format!("c{cap}_{size}");
                let elem = ElemLayout::new(size, align).unwrap();
                let ch = RawChannel::create(&t.1, &name, elem, cap).unwrap();
                let opened = RawChannel::open(&t.1, &name, Some(elem)).unwrap();
                let v: Vec<u8> = (0..size as u8).collect();
                let rx = opened.clone();
                let h = std::thread::spawn(move || {
                    let mut out = vec![0u8; size as usize];
                    rx.recv_timeout(&mut out, Duration::from_secs(20))
                        .map(|()| out)
                });
                ch.send_timeout(&v, Duration::from_secs(20)).unwrap();
                assert_eq!(h.join().unwrap().unwrap(), v);
                assert!(ch.items().is_empty());
            }
        }
        // Typed sender, raw receiver that knows only the header's size.
        let typed = Channel::<[u32; 3]>::open(&t.1, "c4_12").unwrap();
        typed.send([1, 2, 3]).unwrap();
        let raw = RawChannel::open(&t.1, "c4_12", None).unwrap();
        assert_eq!(raw.elem().size(), 12);
        assert_eq!(raw.items().len(), 1);
        let mut out = [0u8; 12];
        assert!(raw.try_recv(&mut out).unwrap());
        assert_eq!(out[8..], 3u32.to_le_bytes());
    }

    #[test]
    fn wrong_lengths_are_refused_and_change_nothing() {
        let t = seg("rawchlen");
        let elem = ElemLayout::new(12, 4).unwrap();
        for cap in [0usize, 2] {
            let name = format!("c{cap}");
            let ch = RawChannel::create(&t.1, &name, elem, cap).unwrap();
            let e = ch.try_send(&[0; 11]).unwrap_err();
            assert!(matches!(e, Error::InvalidArgument { .. }), "{e}");
            assert!(
                e.to_string().contains("11 bytes") && e.to_string().contains("12 bytes"),
                "{e}"
            );
            assert!(ch.send_timeout(&[0; 13], Duration::MAX).is_err());
            assert!(ch.try_recv(&mut [0u8; 4]).is_err());
            assert!(select(&[&ch], &mut [0u8; 4], None).is_err());
            assert!(ch.is_empty());
            assert_eq!(ch.sender_count() + ch.receiver_count(), 0);
        }
        assert!(RawChannel::open(&t.1, "c2", Some(ElemLayout::new(8, 8).unwrap())).is_err());
        assert!(RawChannel::open(&t.1, "c0", Some(ElemLayout::new(16, 8).unwrap())).is_err());
    }

    #[test]
    fn unbuffered_items_show_an_offered_value() {
        let t = seg("rawchslot");
        let ch = RawChannel::create(&t.1, "u", ElemLayout::new(4, 4).unwrap(), 0).unwrap();
        assert!(ch.items().is_empty());
        let tx = ch.clone();
        let h = std::thread::spawn(move || tx.send_timeout(&[9; 4], Duration::from_secs(20)));
        let offered = poll_until(Some(Duration::from_secs(20)), || {
            let items = ch.items();
            (!items.is_empty()).then_some(items)
        });
        assert_eq!(offered, Some(vec![vec![9; 4]]));
        let mut out = [0u8; 4];
        ch.recv_timeout(&mut out, Duration::from_secs(20)).unwrap();
        h.join().unwrap().unwrap();
        assert_eq!(out, [9; 4]);
    }
}
