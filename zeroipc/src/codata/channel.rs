//! `Channel<T>`: message passing between processes, buffered (a bounded
//! MPMC queue) or unbuffered (a rendezvous: `send` returns once a receiver
//! has taken the value). FORMAT.md §4, REFERENCE-NOTES §10 (C++ layout; the
//! Python reference's Channel uses other entries and cannot interoperate).
//!
//! # Layout (entries created together, in this order)
//!
//! `name_header`, 32 bytes:
//!
//! | off | type | field |
//! |---|---|---|
//! | 0 | atomic u32 | capacity: 0 = unbuffered, else a power of two |
//! | 4 | atomic u32 | senders: senders inside a send |
//! | 8 | atomic u32 | receivers: receivers inside a receive |
//! | 12 | atomic u8 | closed (0/1) |
//! | 16 | atomic u64 | send_seq (reference: written 0, never used) |
//! | 24 | atomic u64 | recv_seq (reference: written 0, never used) |
//!
//! Then, buffered: `name_buffer`, a spec-format [`Queue<T>`] of that
//! capacity. Unbuffered: `name_slot`, `{ready atomic u8 @0; consumed atomic
//! u8 @1; T @ align_up(2, a)}` of size `align_up(align_up(2, a) + s, a)`.
//! The three names are checked (≤ 31 bytes, free, space) before anything
//! is created ([`Segment::register_group`]), so base names are limited to
//! 24 bytes and a failure leaves no orphan entry.
//!
//! # Buffered protocol
//!
//! Values go through the queue with the reference's Vyukov protocol, so C++
//! senders and receivers can share the channel. Fixes (REFERENCE-NOTES §14
//! item 28): [`Channel::send`] blocks while the queue is full (backpressure;
//! [`Channel::try_send`] does not; [`Channel::send_timeout`] gives up), and
//! receivers drain what is left after [`Channel::close`] before reporting
//! [`Error::Closed`]. Our senders count themselves in `senders` while inside
//! a send (increment before checking `closed`, decrement after the push;
//! both sequentially consistent), and a receiver that finds the queue empty
//! and the channel closed waits for `senders == 0` (at most
//! [`CLOSE_GRACE`]) and pops once more, so a send that returned `Ok` racing
//! with `close` is not lost. Sleepers sleep on the queue's `tail` word
//! (receivers) or `head` word (blocked senders) and are woken by our peers
//! after each push/pop when the counters say someone is inside; reference
//! peers wake nobody, so each sleep is bounded ([`crate::wait::MAX_SLEEP`])
//! and re-checked.
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
//! first, with an optional timeout.
//!
//! A wake-up lost to a reference peer (which never wakes anyone) or to a
//! race costs at most one bounded sleep ([`crate::wait::MAX_SLEEP`]).
//!
//! # After SIGKILL
//!
//! - Buffered: as [`Queue`]: a sender killed mid-push leaves a slot that
//!   reads as empty/full at that point (timed operations time out); a
//!   killed sender leaves `senders` too high, which only makes receivers of
//!   a closed, drained channel wait [`CLOSE_GRACE`] before reporting
//!   `Closed`, counted from when the handle first saw the closure, across
//!   calls: [`Channel::try_recv`] returns `Ok(None)` until then, then
//!   `Closed`.
//! - Unbuffered: a sender killed holding the lock (odd `send_seq`) blocks
//!   our other senders (timed sends time out); a value it had placed is
//!   still received once. A receiver killed between its claim and `ready =
//!   0` leaves the slot claimed: the sender waits (timed sends time out).
//!   [`Channel::recover_unbuffered`] clears both states when the caller knows
//!   the holder is dead. Counters left too high by killed parties cost
//!   spurious wake-ups, and a receiver killed inside a receive makes the
//!   next [`Channel::try_send`] of each handle offer its value for
//!   [`TRY_SEND_WINDOW`] in vain; the handle then remembers those idle
//!   receivers and its later `try_send`s return `Ok(false)` at once (one
//!   more probe per [`TRY_SEND_REPROBE`] while nothing changes).

use crate::data::queue::Queue;
use crate::element::ShmElement;
use crate::error::{Error, Result};
use crate::region::atomic::{fence, AtomicU32, Ordering};
use crate::region::Region;
use crate::segment::{Part, Segment};
use crate::wait::{millis, poll_until, wait_until, wake_all, Deadline};
use std::sync::atomic::{AtomicU64 as LocalU64, Ordering as LocalOrdering};
use std::sync::{Arc, OnceLock, PoisonError};
use std::time::{Duration, Instant};

const KIND: &str = "channel";

const HEADER_SIZE: u64 = 32;
const OFF_CAPACITY: usize = 0;
const OFF_SENDERS: usize = 4;
const OFF_RECEIVERS: usize = 8;
const OFF_CLOSED: usize = 12;
const OFF_SEND_SEQ: usize = 16;
const OFF_RECV_SEQ: usize = 24;

const SLOT_READY: usize = 0;
const SLOT_CONSUMED: usize = 1;

/// `ready` values: empty, holding a value, claimed by one of our receivers.
const EMPTY: u8 = 0;
const FULL: u8 = 1;
const CLAIMED: u8 = 2;

/// Queue word offsets (FORMAT.md §3): head @0, tail @4.
const Q_HEAD: usize = 0;
const Q_TAIL: usize = 4;

/// How long a receiver of a closed, empty buffered channel waits for senders
/// still inside a send before reporting [`Error::Closed`].
pub const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// How long [`Channel::try_send`] on an unbuffered channel waits for an
/// already-waiting receiver to take the value before withdrawing it.
pub const TRY_SEND_WINDOW: Duration = Duration::from_millis(10);

/// After a [`Channel::try_send`] on an unbuffered channel found receivers
/// counted but none took its value within [`TRY_SEND_WINDOW`] (receivers
/// killed inside a receive stay counted), later `try_send`s through the same
/// handle return `Ok(false)` at once, without placing the value, while the
/// receiver count and the received-values counter stay as they were, for
/// at most this long; then one `try_send` probes again.
pub const TRY_SEND_REPROBE: Duration = Duration::from_millis(100);

/// Largest storable capacity (a power of two that fits the u32 field).
const MAX_CAPACITY: usize = 1 << 31;

enum Mode<T: ShmElement> {
    Buffered(Queue<T>),
    Unbuffered { slot: Region, data_off: usize },
}

/// What one handle (and its clones) has observed: per-process knowledge the
/// shared bytes cannot record.
#[derive(Default)]
struct Local {
    /// When this handle first found the channel closed and empty: the
    /// [`CLOSE_GRACE`] for senders still counted runs from here across
    /// calls, so non-blocking receivers reach it too (issue 12 item 2).
    closed_seen: OnceLock<Instant>,
    /// When this handle last delivered in a [`select`]: a process-wide
    /// sequence number (0 = never), so the next select starts after the
    /// channel that delivered last (issue 12 item 3).
    select_stamp: LocalU64,
    /// Unbuffered: the receivers the last `try_send` found not taking its
    /// value (see [`TRY_SEND_REPROBE`]).
    idle_receivers: std::sync::Mutex<Option<IdleReceivers>>,
}

/// Counted receivers that did not take a `try_send`'s value in time.
#[derive(Clone, Copy)]
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

/// A shared channel of `T`.
///
/// ```
/// use zeroipc::{Channel, Error, Segment};
/// use std::time::Duration;
/// let name = format!("/zeroipc-doc-channel-{}", std::process::id());
/// let seg = Segment::create(&name, 1 << 16)?;
/// let ch = Channel::<u32>::create(&seg, "jobs", 4)?; // buffered, capacity 4
/// ch.send(1)?;
/// ch.send(2)?;
/// let rx = Channel::<u32>::open(&seg, "jobs")?; // another process would do this
/// assert_eq!(rx.recv()?, 1);
/// ch.close();
/// assert_eq!(rx.recv()?, 2); // what was sent before close is still delivered
/// assert!(matches!(rx.recv(), Err(Error::Closed { .. })));
///
/// // Unbuffered: send waits for a receiver.
/// let rv = Channel::<u64>::create(&seg, "rv", 0)?;
/// let rx = rv.clone();
/// let t = std::thread::spawn(move || rx.recv_timeout(Duration::from_secs(10)));
/// rv.send(7)?;
/// assert_eq!(t.join().unwrap()?, 7);
/// Segment::unlink(&name)?;
/// # Ok::<(), zeroipc::Error>(())
/// ```
pub struct Channel<T: ShmElement> {
    header: Region,
    mode: Arc<Mode<T>>,
    /// Cached at open: 0 (unbuffered) or the queue's capacity.
    capacity: u32,
    name: String,
    local: Arc<Local>,
}

impl<T: ShmElement> Clone for Channel<T> {
    fn clone(&self) -> Self {
        Channel {
            header: self.header.clone(),
            mode: Arc::clone(&self.mode),
            capacity: self.capacity,
            name: self.name.clone(),
            local: Arc::clone(&self.local),
        }
    }
}

impl<T: ShmElement> std::fmt::Debug for Channel<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channel")
            .field("name", &self.name)
            .field("capacity", &self.capacity)
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// Decrements a counter word when an operation ends (also on unwind).
struct CountGuard<'a>(&'a AtomicU32);

impl<'a> CountGuard<'a> {
    fn enter(word: &'a AtomicU32) -> Self {
        // SeqCst: pairs with the SeqCst fence/loads on the other side
        // (Dekker pattern: we increment then look at the state; they change
        // the state then look at the count), so either they see us and wake
        // us, or we see their change before sleeping.
        word.fetch_add(1, Ordering::SeqCst);
        CountGuard(word)
    }
}

impl Drop for CountGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Releases the unbuffered sender lock and wakes senders: `send_seq` odd
/// -> the next even value after a turn that handed a value over (so
/// `send_seq / 2` counts those turns), back to the even value it had before
/// after a turn that failed (so a failed send leaves `send_seq` as it was).
struct SendLock<'a> {
    seq: &'a crate::region::atomic::AtomicU64,
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

/// Slot layout for `T`: (data offset, slot size).
const fn slot_layout(s: usize, a: usize) -> (usize, usize) {
    let data = (2 + a - 1) & !(a - 1);
    (data, (data + s + a - 1) & !(a - 1))
}

impl<T: ShmElement> Channel<T> {
    const SLOT: (usize, usize) = slot_layout(size_of::<T>(), align_of::<T>());

    /// Creates a channel named `name`: unbuffered for `capacity == 0`,
    /// otherwise buffered with `capacity` rounded up to a power of two of at
    /// least 2 (a one-slot buffer queue would lose values).
    pub fn create(seg: &Segment, name: &str, capacity: usize) -> Result<Self> {
        let bad = |what: String| Error::InvalidParameter {
            segment: seg.name().to_owned(),
            what: format!("channel {name:?}: {what}"),
        };
        let header = format!("{name}_header");
        let (second, size) = if capacity == 0 {
            (format!("{name}_slot"), Self::SLOT.1 as u64)
        } else {
            if capacity > MAX_CAPACITY {
                return Err(bad(format!(
                    "capacity {capacity} rounds up past 2^31, the largest power of two a u32 holds"
                )));
            }
            let size = Queue::<T>::size_for(capacity).ok_or_else(|| {
                bad(format!(
                    "capacity {capacity} x {} bytes overflows",
                    size_of::<T>()
                ))
            })?;
            (format!("{name}_buffer"), size)
        };
        let rounded = if capacity == 0 {
            0
        } else {
            // At least 2, as the buffer Queue stores (see Queue's rounding).
            capacity.max(2).next_power_of_two() as u32
        };
        let mut regions = seg.register_group(
            &[Part::new(header, HEADER_SIZE), Part::new(second, size)],
            |r| {
                // Relaxed: published by the table's release of entry_count.
                r[0].atomic_u32(OFF_CAPACITY)
                    .store(rounded, Ordering::Relaxed);
                if capacity > 0 {
                    Queue::<T>::init_region(&r[1], capacity);
                }
                // Unbuffered slot: ready = consumed = 0, already zero.
                Ok(())
            },
        )?;
        let second = regions.pop().expect("two regions");
        let header = regions.pop().expect("two regions");
        Self::from_regions(name, header, second, rounded)
    }

    /// Opens the channel named `name` (its `name_header` and `name_buffer`
    /// or `name_slot`), validating both against each other and `T`.
    pub fn open(seg: &Segment, name: &str) -> Result<Self> {
        let header = seg.region(&format!("{name}_header"))?;
        if header.len() as u64 != HEADER_SIZE {
            return Err(header.mismatch(
                KIND,
                format!(
                    "header entry is {} bytes, expected {HEADER_SIZE}",
                    header.len()
                ),
            ));
        }
        // Read once: the value that chose the entry also validates it.
        let cap = header.atomic_u32(OFF_CAPACITY).load(Ordering::Acquire);
        let second = if cap == 0 {
            seg.region(&format!("{name}_slot"))?
        } else {
            seg.region(&format!("{name}_buffer"))?
        };
        Self::from_regions(name, header, second, cap)
    }

    fn from_regions(name: &str, header: Region, second: Region, cap: u32) -> Result<Self> {
        let mode = if cap == 0 {
            let (data_off, size) = Self::SLOT;
            if second.len() != size {
                return Err(second.mismatch(
                    KIND,
                    format!(
                        "rendezvous slot is {} bytes, expected {size} for a {}-byte, {}-aligned \
                         element (wrong element type?)",
                        second.len(),
                        size_of::<T>(),
                        align_of::<T>()
                    ),
                ));
            }
            Mode::Unbuffered {
                slot: second,
                data_off,
            }
        } else {
            if !cap.is_power_of_two() {
                return Err(
                    header.mismatch(KIND, format!("header capacity {cap} is not a power of two"))
                );
            }
            let q = Queue::<T>::from_region(second)?;
            if q.capacity() != cap as usize {
                return Err(header.mismatch(
                    KIND,
                    format!(
                        "header capacity {cap} differs from the buffer queue's capacity {}",
                        q.capacity()
                    ),
                ));
            }
            Mode::Buffered(q)
        };
        Ok(Channel {
            header,
            mode: Arc::new(mode),
            capacity: cap,
            name: name.to_owned(),
            local: Arc::default(),
        })
    }

    /// The base name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// 0 for an unbuffered channel, else the queue capacity.
    pub fn capacity(&self) -> usize {
        self.capacity as usize
    }

    /// True for a buffered channel.
    pub fn is_buffered(&self) -> bool {
        self.capacity > 0
    }

    /// Values waiting in a buffered channel (a snapshot); for an unbuffered
    /// one, 1 while a value sits in the slot.
    pub fn len(&self) -> usize {
        match &*self.mode {
            Mode::Buffered(q) => q.len(),
            Mode::Unbuffered { slot, .. } => {
                usize::from(slot.atomic_u8(SLOT_READY).load(Ordering::Acquire) == FULL)
            }
        }
    }

    /// True when [`Channel::len`] is 0.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn senders(&self) -> &AtomicU32 {
        self.header.atomic_u32(OFF_SENDERS)
    }

    fn receivers(&self) -> &AtomicU32 {
        self.header.atomic_u32(OFF_RECEIVERS)
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
    pub fn is_closed(&self) -> bool {
        // SeqCst: part of the Dekker pairs described in the module docs.
        self.header.atomic_u8(OFF_CLOSED).load(Ordering::SeqCst) != 0
    }

    /// Closes the channel: sends fail with [`Error::Closed`] from now on;
    /// receivers still get the values already sent, then `Closed`. Wakes
    /// every sleeper.
    pub fn close(&self) {
        // SeqCst: a sender that increments `senders` and then sees closed ==
        // 0 is visible to receivers that see closed == 1 (module docs).
        self.header.atomic_u8(OFF_CLOSED).store(1, Ordering::SeqCst);
        wake_all(self.senders());
        wake_all(self.receivers());
        if let Mode::Buffered(q) = &*self.mode {
            wake_all(q.region().atomic_u32(Q_HEAD));
            wake_all(q.region().atomic_u32(Q_TAIL));
        }
    }

    fn closed_err(&self) -> Error {
        Error::Closed {
            name: self.name.clone(),
            kind: KIND,
        }
    }

    fn timeout_err(&self, start: Instant) -> Error {
        Error::Timeout {
            name: self.name.clone(),
            kind: KIND,
            waited_ms: millis(start.elapsed()),
        }
    }

    /// Wakes the sleepers of `word` if `count` says someone is inside.
    fn wake_if(count: &AtomicU32, word: &AtomicU32) {
        // SeqCst fence: orders our state change (push/pop/slot store) before
        // the count load (Dekker pair with CountGuard::enter).
        fence(Ordering::SeqCst);
        if count.load(Ordering::Relaxed) > 0 {
            wake_all(word);
        }
    }

    // ----- buffered ---------------------------------------------------------

    fn buffered_send(&self, q: &Queue<T>, v: T, deadline: &Deadline, block: bool) -> Result<bool> {
        let start = Instant::now();
        let _inside = CountGuard::enter(self.senders());
        // One attempt: Some(outcome) when done, None to keep waiting. A
        // failed push has no side effect, so it may be retried at will.
        let attempt = || {
            if self.is_closed() {
                return Some(Err(self.closed_err()));
            }
            q.push(v).ok().map(|()| {
                Self::wake_if(self.receivers(), q.region().atomic_u32(Q_TAIL));
                Ok(true)
            })
        };
        if let Some(r) = attempt() {
            return r;
        }
        if !block {
            return Ok(false);
        }
        // Full (or the next slot is still being emptied by a consumer, maybe
        // a dead one): sleep on `head`, which a pop moves and our receivers
        // wake; every sleep is bounded and followed by another attempt.
        let head = q.region().atomic_u32(Q_HEAD);
        wait_until(head, deadline.remaining(), attempt)
            .unwrap_or_else(|| Err(self.timeout_err(start)))
    }

    fn buffered_recv(&self, q: &Queue<T>, deadline: &Deadline, block: bool) -> Result<Option<T>> {
        let start = Instant::now();
        let _inside = CountGuard::enter(self.receivers());
        let attempt = || {
            if let Some(v) = q.pop() {
                Self::wake_if(self.senders(), q.region().atomic_u32(Q_HEAD));
                return Some(Ok(Some(v)));
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
                    return Some(match q.pop() {
                        Some(v) => Ok(Some(v)),
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
            return Ok(None);
        }
        // Empty (or the next value is still being written, maybe by a dead
        // producer): sleep on `tail`, which a push moves and our senders wake.
        let tail = q.region().atomic_u32(Q_TAIL);
        wait_until(tail, deadline.remaining(), attempt)
            .unwrap_or_else(|| Err(self.timeout_err(start)))
    }

    // ----- unbuffered -------------------------------------------------------

    fn send_seq(&self) -> &crate::region::atomic::AtomicU64 {
        self.header.atomic_u64(OFF_SEND_SEQ)
    }

    /// Takes the sender lock (`send_seq` even -> odd).
    fn lock_sender(
        &self,
        deadline: &Deadline,
        block: bool,
        start: Instant,
    ) -> Result<Option<SendLock<'_>>> {
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
                return Err(self.timeout_err(start));
            }
        }
    }

    fn recv_seq(&self) -> &crate::region::atomic::AtomicU64 {
        self.header.atomic_u64(OFF_RECV_SEQ)
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

    fn unbuffered_send(
        &self,
        slot: &Region,
        data_off: usize,
        v: T,
        deadline: &Deadline,
        block: bool,
    ) -> Result<bool> {
        let start = Instant::now();
        let _inside = CountGuard::enter(self.senders());
        // Relaxed: only compared with a later load of the same word (did one
        // of our receivers take a value meanwhile?); orders nothing.
        let recv_seq_before = self.recv_seq().load(Ordering::Relaxed);
        let receivers = self.receivers().load(Ordering::SeqCst);
        // try_send: nobody is waiting to take it (the reference's rule), or
        // the receivers counted did not take the last value offered.
        if !block && (receivers == 0 || self.receivers_presumed_idle(receivers)) {
            return if self.is_closed() {
                Err(self.closed_err())
            } else {
                Ok(false)
            };
        }
        let Some(mut lock) = self.lock_sender(deadline, block, start)? else {
            return Ok(false);
        };
        // A try_send waits only briefly for the receiver it saw.
        let deadline = if block {
            *deadline
        } else {
            Deadline::after(TRY_SEND_WINDOW)
        };
        let ready = slot.atomic_u8(SLOT_READY);
        let consumed = slot.atomic_u8(SLOT_CONSUMED);
        // 1. The slot must be empty: the previous value's receiver may still
        //    be between `consumed = 1` and `ready = 0`, or a reference sender
        //    may be using it.
        loop {
            if self.is_closed() {
                return Err(self.closed_err());
            }
            // Acquire: pairs with the receiver's Release `ready = 0`, so its
            // copy of the old value happens-before our overwrite.
            if ready.load(Ordering::Acquire) == EMPTY {
                break;
            }
            let woke = wait_until(self.senders(), deadline.remaining(), || {
                (self.is_closed() || ready.load(Ordering::Acquire) == EMPTY).then_some(())
            });
            if woke.is_none() {
                return if block {
                    Err(self.timeout_err(start))
                } else {
                    Ok(false)
                };
            }
        }
        // 2. Place the value. We hold the sender lock and ready == 0, so no
        //    one of ours reads or writes the data bytes now. Keep the old
        //    bytes to put back if the value is withdrawn.
        let old = (slot.read::<T>(data_off), consumed.load(Ordering::Relaxed));
        slot.write::<T>(data_off, v);
        // Relaxed: ordered before the Release store of `ready` below, which
        // is what receivers acquire.
        consumed.store(0, Ordering::Relaxed);
        // Release: the value and consumed = 0 before ready = 1.
        ready.store(FULL, Ordering::Release);
        Self::wake_if(self.receivers(), self.receivers());
        // 3. Wait until a receiver took it, or withdraw it.
        let taken = || consumed.load(Ordering::Acquire) == 1;
        loop {
            if taken() {
                lock.handed_over = true;
                if !block {
                    self.note_idle_receivers(None);
                }
                return Ok(true);
            }
            let give_up = self.is_closed() || deadline.expired();
            if give_up {
                // Withdraw: only possible while nobody has claimed it. AcqRel
                // on success: nobody will ever read this value.
                if ready
                    .compare_exchange(FULL, EMPTY, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
                {
                    self.restore_withdrawn(slot, data_off, old);
                    if !block {
                        self.note_idle_receivers(
                            (self.recv_seq().load(Ordering::Acquire) == recv_seq_before).then(
                                || IdleReceivers {
                                    receivers,
                                    recv_seq: recv_seq_before,
                                    since: Instant::now(),
                                },
                            ),
                        );
                    }
                    return if self.is_closed() {
                        Err(self.closed_err())
                    } else if block {
                        Err(self.timeout_err(start))
                    } else {
                        Ok(false)
                    };
                }
                // Claimed (2) or already taken by a reference receiver (0,
                // consumed then 1): the transfer completes in a few steps of
                // the receiver; wait for it without a deadline unless the
                // receiver died holding its claim (recover_unbuffered).
                lock.handed_over = true;
                let done = wait_until(self.senders(), Some(CLOSE_GRACE), || taken().then_some(()));
                if done.is_some() {
                    return Ok(true);
                }
                return Err(self.timeout_err(start));
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
    fn restore_withdrawn(&self, slot: &Region, data_off: usize, old: (T, u8)) {
        // SeqCst fence: orders the withdrawal before the `receivers` load
        // (Dekker pair with a receiver's SeqCst `receivers += 1` before it
        // looks at `ready`): a receiver we do not count sees `ready == 0`
        // and does not copy.
        fence(Ordering::SeqCst);
        if self.receivers().load(Ordering::SeqCst) == 0 {
            // We hold the sender lock and `ready` is 0: no sender of ours
            // writes and no receiver reads these bytes now.
            slot.write::<T>(data_off, old.0);
            // Relaxed: published by the lock release (Release) and by the
            // next `ready = 1` of whoever writes next.
            slot.atomic_u8(SLOT_CONSUMED)
                .store(old.1, Ordering::Relaxed);
        }
        wake_all(self.senders());
    }

    /// One attempt to claim and take the value in the slot.
    fn take_slot(&self, slot: &Region, data_off: usize) -> Option<T> {
        let ready = slot.atomic_u8(SLOT_READY);
        // Acquire on success: pairs with the sender's Release `ready = 1`,
        // so the value is fully written; the claim makes it ours alone (no
        // other receiver can claim, and the sender can no longer withdraw).
        if ready
            .compare_exchange(FULL, CLAIMED, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            return None;
        }
        let v = slot.read::<T>(data_off);
        // Release: our copy happens-before the sender's return (it acquires
        // consumed) and before the next value is written (the next sender
        // acquires ready == 0).
        slot.atomic_u8(SLOT_CONSUMED).store(1, Ordering::Release);
        ready.store(EMPTY, Ordering::Release);
        self.recv_seq().fetch_add(1, Ordering::Relaxed);
        Self::wake_if(self.senders(), self.senders());
        Some(v)
    }

    fn unbuffered_recv(
        &self,
        slot: &Region,
        data_off: usize,
        deadline: &Deadline,
        block: bool,
    ) -> Result<Option<T>> {
        let start = Instant::now();
        let _inside = CountGuard::enter(self.receivers());
        let ready = slot.atomic_u8(SLOT_READY);
        loop {
            if let Some(v) = self.take_slot(slot, data_off) {
                return Ok(Some(v));
            }
            if self.is_closed() && ready.load(Ordering::Acquire) != FULL {
                // A value placed before the close is still taken above; our
                // senders withdraw theirs once they see the close.
                return Err(self.closed_err());
            }
            if !block {
                return Ok(None);
            }
            let woke = wait_until(self.receivers(), deadline.remaining(), || {
                (self.is_closed() || ready.load(Ordering::Acquire) == FULL).then_some(())
            });
            if woke.is_none() {
                return Err(self.timeout_err(start));
            }
        }
    }

    // ----- public API -------------------------------------------------------

    fn send_inner(&self, v: T, deadline: &Deadline, block: bool) -> Result<bool> {
        match &*self.mode {
            Mode::Buffered(q) => self.buffered_send(q, v, deadline, block),
            Mode::Unbuffered { slot, data_off } => {
                self.unbuffered_send(slot, *data_off, v, deadline, block)
            }
        }
    }

    fn recv_inner(&self, deadline: &Deadline, block: bool) -> Result<Option<T>> {
        match &*self.mode {
            Mode::Buffered(q) => self.buffered_recv(q, deadline, block),
            Mode::Unbuffered { slot, data_off } => {
                self.unbuffered_recv(slot, *data_off, deadline, block)
            }
        }
    }

    /// Sends `v`: buffered, waits while the queue is full; unbuffered, waits
    /// until a receiver has taken it. [`Error::Closed`] if the channel is
    /// (or becomes, before the value was taken) closed.
    pub fn send(&self, v: T) -> Result<()> {
        self.send_inner(v, &Deadline::forever(), true).map(|_| ())
    }

    /// Like [`Channel::send`], giving up with [`Error::Timeout`] after
    /// `timeout` (an unbuffered value not taken by then is withdrawn, and
    /// the slot's bytes restored as the module docs say). A timeout too
    /// large to add to the clock (`Duration::MAX`) means no limit.
    pub fn send_timeout(&self, v: T, timeout: Duration) -> Result<()> {
        self.send_inner(v, &Deadline::after(timeout), true)
            .map(|_| ())
    }

    /// Sends without waiting for room or for a receiver to arrive: `Ok(true)`
    /// if sent, `Ok(false)` if the queue is full (buffered) or no receiver
    /// is waiting (unbuffered; a waiting receiver gets up to
    /// [`TRY_SEND_WINDOW`] to take the value, else it is withdrawn; counted
    /// receivers that let this handle's last offer go untaken, e.g. killed
    /// ones, get no new offer for up to [`TRY_SEND_REPROBE`], so the call
    /// returns at once).
    pub fn try_send(&self, v: T) -> Result<bool> {
        self.send_inner(v, &Deadline::forever(), false)
    }

    /// Receives the next value, waiting for one. After the channel is
    /// closed, returns what is left, then [`Error::Closed`].
    pub fn recv(&self) -> Result<T> {
        self.recv_inner(&Deadline::forever(), true)
            .map(|v| v.expect("blocking receive yields a value"))
    }

    /// Like [`Channel::recv`], giving up with [`Error::Timeout`] (a timeout
    /// too large to add to the clock means no limit).
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T> {
        self.recv_inner(&Deadline::after(timeout), true)
            .map(|v| v.expect("blocking receive yields a value"))
    }

    /// Receives a value if one is available now; `Ok(None)` if not;
    /// [`Error::Closed`] once closed and drained (buffered, with a sender
    /// still counted: once [`CLOSE_GRACE`] has passed since this handle
    /// first saw the channel closed and empty, as for [`Channel::recv`]).
    pub fn try_recv(&self) -> Result<Option<T>> {
        self.recv_inner(&Deadline::forever(), false)
    }

    /// Unbuffered recovery after a participant was killed mid-transfer:
    /// releases a sender lock left held (odd `send_seq`) and clears a slot
    /// left claimed (`ready == 2`). Call it only when no transfer is in
    /// progress (for example after every other party stopped); a live
    /// holder would otherwise be broken. Returns true if anything was reset.
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
        let ready = slot.atomic_u8(SLOT_READY);
        if ready
            .compare_exchange(CLAIMED, EMPTY, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
        {
            slot.atomic_u8(SLOT_CONSUMED).store(1, Ordering::Release);
            changed = true;
        }
        wake_all(self.senders());
        wake_all(self.receivers());
        changed
    }

    /// Joins the receivers while a [`select`] polls this channel.
    fn select_guard(&self) -> CountGuard<'_> {
        CountGuard::enter(self.receivers())
    }
}

/// Receives from whichever of `channels` has a value first, waiting up to
/// `timeout` (`None`: forever). Returns the index of the channel and the
/// value; [`Error::Closed`] (naming the last channel) once every channel is
/// closed and drained; [`Error::Timeout`] on timeout. Channels are polled
/// round-robin starting after the one whose handle delivered last in a
/// `select` (remembered in the handles, across calls), so a busy channel
/// does not starve the others: with every channel non-empty, consecutive
/// selects take from each in turn. While waiting it counts as a receiver on
/// every channel (so unbuffered senders see it) and sleeps in bounded steps.
///
/// ```
/// use zeroipc::{Channel, Segment};
/// use zeroipc::codata::channel::select;
/// use std::time::Duration;
/// let name = format!("/zeroipc-doc-select-{}", std::process::id());
/// let seg = Segment::create(&name, 1 << 16)?;
/// let a = Channel::<u32>::create(&seg, "a", 2)?;
/// let b = Channel::<u32>::create(&seg, "b", 2)?;
/// b.send(5)?;
/// assert_eq!(select(&[&a, &b], Some(Duration::from_secs(1)))?, (1, 5));
/// assert!(select(&[&a, &b], Some(Duration::from_millis(5))).is_err());
/// // Both non-empty: the selects alternate, starting after `b`.
/// a.send(1)?;
/// a.send(2)?;
/// b.send(6)?;
/// b.send(7)?;
/// let t = Some(Duration::from_secs(1));
/// let got: Vec<(usize, u32)> = (0..4).map(|_| select(&[&a, &b], t)).collect::<Result<_, _>>()?;
/// assert_eq!(got, [(0, 1), (1, 6), (0, 2), (1, 7)]);
/// Segment::unlink(&name)?;
/// # Ok::<(), zeroipc::Error>(())
/// ```
pub fn select<T: ShmElement>(
    channels: &[&Channel<T>],
    timeout: Option<Duration>,
) -> Result<(usize, T)> {
    if channels.is_empty() {
        return Err(Error::InvalidParameter {
            segment: String::new(),
            what: "select over an empty list of channels".to_owned(),
        });
    }
    let start = Instant::now();
    let _guards: Vec<CountGuard<'_>> = channels.iter().map(|c| c.select_guard()).collect();
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
    let mut outcome: Option<Result<(usize, T)>> = None;
    let got = poll_until(timeout, || {
        let mut closed = 0;
        for k in 0..n {
            let i = (first + k) % n;
            // try_recv reports Closed once the channel is closed and
            // drained, a buffered one after the close grace for senders
            // still counted (remembered in the handle across calls).
            match channels[i].try_recv() {
                Ok(Some(v)) => {
                    // Relaxed: a per-process ordering hint, no data depends on it.
                    let stamp = SELECT_SEQ.fetch_add(1, LocalOrdering::Relaxed) + 1;
                    channels[i]
                        .local
                        .select_stamp
                        .store(stamp, LocalOrdering::Relaxed);
                    outcome = Some(Ok((i, v)));
                    return Some(());
                }
                Ok(None) => {}
                Err(Error::Closed { .. }) => closed += 1,
                Err(e) => {
                    outcome = Some(Err(e));
                    return Some(());
                }
            }
        }
        if closed == n {
            outcome = Some(Err(channels[n - 1].closed_err()));
            return Some(());
        }
        None
    });
    match (got, outcome) {
        (Some(()), Some(r)) => r,
        _ => Err(Error::Timeout {
            name: channels
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(","),
            kind: KIND,
            waited_ms: millis(start.elapsed()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codata::testutil::seg;

    /// `senders` threads send `per` tagged values each, `receivers` threads
    /// receive until closed; every value must arrive exactly once, and in
    /// order per sender.
    fn mpmc(capacity: usize, senders: u64, receivers: usize, per: u64) {
        let t = seg("chmpmc");
        let ch = Channel::<u64>::create(&t.1, "c", capacity).unwrap();
        let rx: Vec<_> = (0..receivers)
            .map(|_| {
                let c = Channel::<u64>::open(&t.1, "c").unwrap();
                std::thread::spawn(move || {
                    let mut got = Vec::new();
                    loop {
                        match c.recv_timeout(Duration::from_secs(30)) {
                            Ok(v) => got.push(v),
                            Err(Error::Closed { .. }) => return got,
                            Err(e) => panic!("{e}"),
                        }
                    }
                })
            })
            .collect();
        let tx: Vec<_> = (0..senders)
            .map(|id| {
                let c = ch.clone();
                std::thread::spawn(move || {
                    for i in 0..per {
                        c.send_timeout((id << 32) | i, Duration::from_secs(30))
                            .unwrap();
                    }
                })
            })
            .collect();
        for h in tx {
            h.join().unwrap();
        }
        ch.close();
        let mut all = Vec::new();
        for h in rx {
            let got = h.join().unwrap();
            let mut last = vec![None::<u64>; senders as usize];
            for &v in &got {
                let (id, i) = ((v >> 32) as usize, v & 0xFFFF_FFFF);
                assert!(last[id].is_none_or(|l| l < i), "sender {id} out of order");
                last[id] = Some(i);
            }
            all.extend(got);
        }
        all.sort_unstable();
        let want: Vec<u64> = (0..senders)
            .flat_map(|id| (0..per).map(move |i| (id << 32) | i))
            .collect();
        assert_eq!(all, want);
        assert_eq!(ch.sender_count(), 0);
        assert_eq!(ch.receiver_count(), 0);
    }

    #[test]
    fn buffered_threads_exactly_once() {
        mpmc(8, 3, 2, 5000);
    }

    #[test]
    fn unbuffered_threads_exactly_once() {
        mpmc(0, 3, 2, 2000);
    }

    #[test]
    fn buffered_backpressure_and_close() {
        let t = seg("chbuf");
        let ch = Channel::<i32>::create(&t.1, "c", 2).unwrap();
        assert!(ch.try_send(1).unwrap());
        assert!(ch.try_send(2).unwrap());
        assert!(!ch.try_send(3).unwrap());
        let e = ch.send_timeout(3, Duration::from_millis(10)).unwrap_err();
        assert!(matches!(e, Error::Timeout { .. }), "{e}");
        let rx = ch.clone();
        let h = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            rx.recv().unwrap()
        });
        ch.send(3).unwrap(); // blocks until the receiver makes room
        assert_eq!(h.join().unwrap(), 1);
        ch.close();
        assert!(matches!(ch.send(4), Err(Error::Closed { .. })));
        assert!(matches!(ch.try_send(4), Err(Error::Closed { .. })));
        assert_eq!(ch.recv().unwrap(), 2);
        assert_eq!(ch.try_recv().unwrap(), Some(3));
        assert!(matches!(ch.recv(), Err(Error::Closed { .. })));
        assert!(matches!(ch.try_recv(), Err(Error::Closed { .. })));
    }

    #[test]
    fn unbuffered_try_timeout_and_close() {
        let t = seg("chunbuf");
        let ch = Channel::<u16>::create(&t.1, "c", 0).unwrap();
        assert!(!ch.is_buffered());
        assert!(!ch.try_send(1).unwrap()); // nobody waiting
        assert_eq!(ch.try_recv().unwrap(), None);
        let e = ch.send_timeout(1, Duration::from_millis(10)).unwrap_err();
        assert!(matches!(e, Error::Timeout { .. }), "{e}");
        assert!(ch.is_empty()); // withdrawn, not left behind
        assert_eq!(ch.try_recv().unwrap(), None);
        let e = ch.recv_timeout(Duration::from_millis(10)).unwrap_err();
        assert!(matches!(e, Error::Timeout { .. }), "{e}");
        // A sender blocked when the channel closes withdraws its value.
        let tx = ch.clone();
        let h = std::thread::spawn(move || tx.send(9));
        std::thread::sleep(Duration::from_millis(20));
        ch.close();
        assert!(matches!(h.join().unwrap(), Err(Error::Closed { .. })));
        assert!(matches!(ch.recv(), Err(Error::Closed { .. })));
        assert_eq!(
            ch.header.atomic_u64(OFF_SEND_SEQ).load(Ordering::Relaxed) % 2,
            0
        );
    }

    #[test]
    fn dead_queue_peers_give_timeouts() {
        let t = seg("chdeadq");
        let ch = Channel::<u32>::create(&t.1, "c", 2).unwrap();
        let Mode::Buffered(q) = &*ch.mode else {
            unreachable!()
        };
        // A consumer that died after claiming ticket 0 but before freeing
        // its slot; a producer that died after claiming ticket 2.
        ch.send(1).unwrap();
        ch.send(2).unwrap();
        q.region().atomic_u32(Q_HEAD).store(1, Ordering::Relaxed);
        let e = ch.send_timeout(3, Duration::from_millis(20)).unwrap_err();
        assert!(matches!(e, Error::Timeout { .. }), "{e}");
        assert_eq!(ch.recv().unwrap(), 2);
        q.region().atomic_u32(Q_TAIL).store(3, Ordering::Relaxed);
        let e = ch.recv_timeout(Duration::from_millis(20)).unwrap_err();
        assert!(matches!(e, Error::Timeout { .. }), "{e}");
        assert_eq!(ch.sender_count(), 0);
        assert_eq!(ch.receiver_count(), 0);
    }

    #[test]
    fn recovery_after_a_dead_holder() {
        let t = seg("chrecover");
        let ch = Channel::<u32>::create(&t.1, "c", 0).unwrap();
        // A sender died holding the lock, a receiver died holding a claim.
        ch.header
            .atomic_u64(OFF_SEND_SEQ)
            .store(5, Ordering::Relaxed);
        let Mode::Unbuffered { slot, .. } = &*ch.mode else {
            unreachable!()
        };
        slot.atomic_u8(SLOT_READY).store(CLAIMED, Ordering::Relaxed);
        let e = ch.send_timeout(1, Duration::from_millis(10)).unwrap_err();
        assert!(matches!(e, Error::Timeout { .. }), "{e}");
        assert!(ch.recover_unbuffered());
        let rx = ch.clone();
        let h = std::thread::spawn(move || rx.recv_timeout(Duration::from_secs(10)));
        ch.send_timeout(1, Duration::from_secs(10)).unwrap();
        assert_eq!(h.join().unwrap().unwrap(), 1);
    }

    #[test]
    fn select_takes_from_any_and_reports_closed() {
        let t = seg("chselect");
        let a = Channel::<u8>::create(&t.1, "a", 0).unwrap();
        let b = Channel::<u8>::create(&t.1, "b", 4).unwrap();
        let tx = a.clone();
        let h = std::thread::spawn(move || tx.send_timeout(7, Duration::from_secs(10)));
        assert_eq!(
            select(&[&a, &b], Some(Duration::from_secs(10))).unwrap(),
            (0, 7)
        );
        h.join().unwrap().unwrap();
        b.send(1).unwrap();
        a.close();
        b.close();
        assert_eq!(select(&[&a, &b], None).unwrap(), (1, 1));
        assert!(matches!(select(&[&a, &b], None), Err(Error::Closed { .. })));
    }

    #[test]
    fn names_and_open_checks() {
        let t = seg("chnames");
        let long = "x".repeat(25); // 25 + "_header" = 32 bytes: too long
        assert!(Channel::<u8>::create(&t.1, &long, 4).is_err());
        assert!(t.1.entries().unwrap().is_empty()); // nothing half-created
        Channel::<i32>::create(&t.1, "c", 3).unwrap();
        let c = Channel::<i32>::open(&t.1, "c").unwrap();
        assert_eq!(c.capacity(), 4);
        assert!(Channel::<i64>::open(&t.1, "c").is_err());
        Channel::<i32>::create(&t.1, "u", 0).unwrap();
        assert!(Channel::<i64>::open(&t.1, "u").is_err());
        assert!(Channel::<i32>::open(&t.1, "missing").is_err());
    }

    #[test]
    fn slot_layout_matches_the_reference() {
        assert_eq!(slot_layout(1, 1), (2, 3)); // u8
        assert_eq!(slot_layout(4, 4), (4, 8)); // i32
        assert_eq!(slot_layout(8, 8), (8, 16)); // i64
        assert_eq!(slot_layout(12, 4), (4, 16)); // struct {i32 x3}
    }
}
