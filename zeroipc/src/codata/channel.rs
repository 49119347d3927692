//! `Channel<T>`: message passing between processes, buffered (a bounded
//! MPMC queue) or unbuffered (a rendezvous: `send` returns once a receiver
//! has taken the value).
//!
//! The normative layout is docs/FORMAT.md §4.9 (the C++ layout; the Python
//! reference's Channel uses other entries and cannot interoperate); the
//! offsets are [`zeroipc::format::channel`](crate::format::channel). The
//! protocol (the buffered queue with backpressure and a drain after close,
//! the rendezvous slot with its sender lock and receiver claim, `select`)
//! is written once, over bytes, in [`RawChannel`], whose docs describe it
//! and how it works with reference peers; [`Channel<T>`] is its typed
//! veneer.
//!
//! # Blocking, non-blocking and timed forms
//!
//! Channel-like, as crossbeam-channel: the plain forms block.
//!
//! | operation | blocking | non-blocking | timed |
//! |---|---|---|---|
//! | send | [`Channel::send`] (`Err(Closed)`) | [`Channel::try_send`]: `Err(SendError)` with the value back, [`Error::Full`](crate::Error::Full) or [`Error::Closed`](crate::Error::Closed) | [`Channel::send_timeout`]: `Err(SendError)` with the value back, [`Error::Timeout`](crate::Error::Timeout) or [`Error::Closed`](crate::Error::Closed) |
//! | receive | [`Channel::recv`] | [`Channel::try_recv`]: `Ok(None)` empty now, `Err(Closed)` closed and drained | [`Channel::recv_timeout`] ([`Error::Timeout`](crate::Error::Timeout) or [`Error::Closed`](crate::Error::Closed)) |
//! | receive from several | [`select`] with `None` | — | [`select`] with a timeout |
//! | send a slice (a prefix, one claim) | [`Channel::send_slice`] | [`Channel::try_send_slice`] | [`Channel::send_slice_timeout`] |
//! | receive into a slice | [`Channel::recv_slice`] | [`Channel::try_recv_slice`]: `Ok(0)` empty now | [`Channel::recv_slice_timeout`] |
//!
//! # After SIGKILL
//!
//! - Buffered: as [`crate::Queue`]: a sender killed mid-push leaves a slot
//!   that reads as empty/full at that point (timed operations time out); a
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
//!   receivers and its later `try_send`s fail with [`Error::Full`](crate::Error::Full) at once
//!   (one more probe per [`TRY_SEND_REPROBE`] while nothing changes).

use super::zeroed;
use crate::element::{bytes_of_mut, ShmElement};
use crate::error::{Result, SendError};
use crate::format::ElemLayout;
use crate::raw::channel::{self as raw, RawChannel};
use crate::raw::{slice_bytes, slice_bytes_mut};
use crate::segment::Segment;
use crate::wait::Deadline;
use std::marker::PhantomData;
use std::time::Duration;

pub use crate::raw::channel::{CLOSE_GRACE, TRY_SEND_REPROBE, TRY_SEND_WINDOW};

/// A shared channel of `T`: a typed veneer over [`RawChannel`].
///
/// ```
/// use zeroipc::{Channel, Error, Segment};
/// use std::time::Duration;
/// let name = format!("/zeroipc-doc-channel-{}", std::process::id());
/// let seg = Segment::create(&name, 1 << 16)?;
/// let ch = Channel::<u32>::create(&seg, "jobs", 2)?; // buffered, capacity 2
/// ch.send(1)?;
/// ch.try_send(2)?;
/// let full = ch.try_send(3).unwrap_err(); // no room: the value comes back
/// assert!(full.is_full());
/// assert_eq!(full.into_inner(), 3);
/// let rx = Channel::<u32>::open(&seg, "jobs")?; // another process would do this
/// assert_eq!(rx.recv()?, 1);
/// ch.close();
/// assert_eq!(rx.recv()?, 2); // what was sent before close is still delivered
/// assert!(matches!(rx.recv(), Err(Error::Closed { .. })));
/// assert!(ch.send_timeout(4, Duration::from_secs(1)).unwrap_err().is_closed());
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
// Clone: `T: Copy` (ShmElement), so the derive adds no real bound.
#[derive(Clone)]
pub struct Channel<T: ShmElement> {
    raw: RawChannel,
    _t: PhantomData<T>,
}

impl<T: ShmElement> std::fmt::Debug for Channel<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channel")
            .field("name", &self.name())
            .field("capacity", &self.capacity())
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl<T: ShmElement> Channel<T> {
    const ELEM: ElemLayout = ElemLayout::of::<T>();

    /// Creates a channel named `name`: unbuffered for `capacity == 0`,
    /// otherwise buffered with `capacity` rounded up to a power of two of at
    /// least 2 (a one-slot buffer queue would lose values).
    pub fn create(seg: &Segment, name: &str, capacity: usize) -> Result<Self> {
        Ok(Channel {
            raw: RawChannel::create_with(
                seg,
                name,
                Self::ELEM,
                capacity,
                Some(T::LAYOUT.fingerprint()),
            )?,
            _t: PhantomData,
        })
    }

    /// Opens the channel named `name` (its `name_header` and `name_buffer`
    /// or `name_slot`), validating both against each other and `T` (and,
    /// on a self-describing segment, that it was created as a channel of
    /// this layout).
    pub fn open(seg: &Segment, name: &str) -> Result<Self> {
        Ok(Channel {
            raw: RawChannel::open(seg, name, Some(Self::ELEM))?,
            _t: PhantomData,
        })
    }

    /// The protocol core this veneer calls (for tools).
    pub fn raw(&self) -> &RawChannel {
        &self.raw
    }

    /// The base name.
    pub fn name(&self) -> &str {
        self.raw.name()
    }

    /// 0 for an unbuffered channel, else the queue capacity.
    pub fn capacity(&self) -> usize {
        self.raw.capacity()
    }

    /// True for a buffered channel.
    pub fn is_buffered(&self) -> bool {
        self.raw.capacity() > 0
    }

    /// Values waiting in a buffered channel (a snapshot); for an unbuffered
    /// one, 1 while a value sits in the slot.
    pub fn len(&self) -> usize {
        self.raw.len()
    }

    /// True when [`Channel::len`] is 0.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// Senders currently inside a send (ours and the reference's rendezvous).
    pub fn sender_count(&self) -> u32 {
        self.raw.sender_count()
    }

    /// Receivers currently inside a receive.
    pub fn receiver_count(&self) -> u32 {
        self.raw.receiver_count()
    }

    /// True once any party closed the channel.
    pub fn is_closed(&self) -> bool {
        self.raw.is_closed()
    }

    /// Closes the channel: sends fail with [`Error::Closed`](crate::Error::Closed) from now on;
    /// receivers still get the values already sent, then `Closed`. Wakes
    /// every sleeper.
    pub fn close(&self) {
        self.raw.close();
    }

    /// Sends `v`: buffered, waits while the queue is full; unbuffered, waits
    /// until a receiver has taken it. [`Error::Closed`](crate::Error::Closed) if the channel is
    /// (or becomes, before the value was taken) closed.
    #[inline]
    pub fn send(&self, v: T) -> Result<()> {
        self.raw
            .send_with(|r, off| r.write::<T>(off, v), &Deadline::forever(), true)
    }

    /// Like [`Channel::send`], giving up after `timeout`: the value comes
    /// back in a [`SendError`] with [`Error::Timeout`](crate::Error::Timeout) (an unbuffered value
    /// not taken by then is withdrawn, and the slot's bytes restored as
    /// [`RawChannel`] says) or [`Error::Closed`](crate::Error::Closed). A timeout too large to add
    /// to the clock (`Duration::MAX`) means no limit.
    #[inline]
    pub fn send_timeout(&self, v: T, timeout: Duration) -> Result<(), SendError<T>> {
        self.raw
            .send_with(
                |r, off| r.write::<T>(off, v),
                &Deadline::after(timeout),
                true,
            )
            .map_err(|error| SendError { value: v, error })
    }

    /// Sends without waiting for room or for a receiver to arrive. On
    /// failure the value comes back in a [`SendError`]: [`Error::Full`](crate::Error::Full) if
    /// the queue is full (buffered) or no receiver took it (unbuffered; a
    /// waiting receiver gets up to [`TRY_SEND_WINDOW`] to take the value,
    /// else it is withdrawn; counted receivers that let this handle's last
    /// offer go untaken, e.g. killed ones, get no new offer for up to
    /// [`TRY_SEND_REPROBE`], so the call returns at once), [`Error::Closed`](crate::Error::Closed)
    /// if closed.
    #[inline]
    pub fn try_send(&self, v: T) -> Result<(), SendError<T>> {
        self.raw
            .send_with(|r, off| r.write::<T>(off, v), &Deadline::forever(), false)
            .map_err(|error| SendError { value: v, error })
    }

    #[inline]
    fn recv_until(&self, deadline: &Deadline, block: bool) -> Result<Option<T>> {
        let mut v = zeroed::<T>();
        let got = self
            .raw
            .recv_with(|r, off| v = r.read::<T>(off), deadline, block)?;
        Ok(got.then_some(v))
    }

    /// Receives the next value, waiting for one. After the channel is
    /// closed, returns what is left, then [`Error::Closed`](crate::Error::Closed).
    #[inline]
    pub fn recv(&self) -> Result<T> {
        self.recv_until(&Deadline::forever(), true)
            .map(|v| v.expect("blocking receive yields a value"))
    }

    /// Like [`Channel::recv`], giving up with [`Error::Timeout`](crate::Error::Timeout) (a timeout
    /// too large to add to the clock means no limit).
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T> {
        self.recv_until(&Deadline::after(timeout), true)
            .map(|v| v.expect("blocking receive yields a value"))
    }

    /// Receives a value if one is available now; `Ok(None)` if not;
    /// [`Error::Closed`](crate::Error::Closed) once closed and drained (buffered, with a sender
    /// still counted: once [`CLOSE_GRACE`] has passed since this handle
    /// first saw the channel closed and empty, as for [`Channel::recv`]).
    #[inline]
    pub fn try_recv(&self) -> Result<Option<T>> {
        self.recv_until(&Deadline::forever(), false)
    }

    /// Sends a prefix of `items`, waiting until at least one value can go:
    /// buffered, as many as fit at that moment with one claim of the queue
    /// (each then published as [`Channel::send`] publishes it, so single
    /// receivers, ours or the C++ reference's, take them as they appear);
    /// unbuffered, exactly one value, once a receiver took it (a rendezvous
    /// hands over one value per turn). Returns how many were sent, like
    /// [`std::io::Write::write`]: call again with the rest. The values stay
    /// in the caller's slice, so failures are a plain error:
    /// [`Error::Closed`](crate::Error::Closed). An empty `items` returns
    /// `Ok(0)`.
    ///
    /// ```
    /// use zeroipc::{Channel, Error, Segment};
    /// use std::time::Duration;
    /// let name = format!("/zeroipc-doc-channel-slice-{}", std::process::id());
    /// let seg = Segment::create(&name, 1 << 16)?;
    /// let ch = Channel::<u64>::create(&seg, "c", 4)?;
    /// let values = [1, 2, 3, 4, 5, 6];
    /// assert_eq!(ch.send_slice(&values)?, 4); // the buffer holds 4
    /// assert!(matches!(ch.try_send_slice(&values[4..]), Err(Error::Full { .. })));
    /// let mut out = [0u64; 3];
    /// assert_eq!(ch.recv_slice(&mut out)?, 3);
    /// assert_eq!(out, [1, 2, 3]);
    /// assert_eq!(ch.send_slice_timeout(&values[4..], Duration::from_secs(1))?, 2);
    /// assert_eq!(ch.recv()?, 4); // single and batch calls mix
    /// ch.close();
    /// assert_eq!(ch.try_recv_slice(&mut out)?, 2);
    /// assert_eq!(out[..2], [5, 6]);
    /// assert!(matches!(ch.recv_slice(&mut out), Err(Error::Closed { .. })));
    /// Segment::unlink(&name)?;
    /// # Ok::<(), zeroipc::Error>(())
    /// ```
    pub fn send_slice(&self, items: &[T]) -> Result<usize> {
        self.raw
            .send_n(slice_bytes(items), items.len(), &Deadline::forever(), true)
    }

    /// Like [`Channel::send_slice`], giving up after `timeout`
    /// ([`Error::Timeout`](crate::Error::Timeout): nothing was sent) or with
    /// [`Error::Closed`](crate::Error::Closed).
    pub fn send_slice_timeout(&self, items: &[T], timeout: Duration) -> Result<usize> {
        self.raw.send_n(
            slice_bytes(items),
            items.len(),
            &Deadline::after(timeout),
            true,
        )
    }

    /// Like [`Channel::send_slice`], without waiting for room or for a
    /// receiver to arrive: [`Error::Full`](crate::Error::Full) when no value
    /// could go (as [`Channel::try_send`]), [`Error::Closed`](crate::Error::Closed).
    pub fn try_send_slice(&self, items: &[T]) -> Result<usize> {
        self.raw
            .send_n(slice_bytes(items), items.len(), &Deadline::forever(), false)
    }

    /// Receives into the front of `out`, waiting until at least one value
    /// is there: buffered, as many as are published at that moment (up to
    /// `out.len()`) with one claim of the queue; unbuffered, exactly one.
    /// Returns how many; `out[count..]` is left as it was. After the
    /// channel is closed, what is left, then [`Error::Closed`](crate::Error::Closed).
    /// An empty `out` returns `Ok(0)`.
    pub fn recv_slice(&self, out: &mut [T]) -> Result<usize> {
        let n = out.len();
        self.raw
            .recv_n(slice_bytes_mut(out), n, &Deadline::forever(), true)
    }

    /// Like [`Channel::recv_slice`], giving up after `timeout`
    /// ([`Error::Timeout`](crate::Error::Timeout), `out` unchanged).
    pub fn recv_slice_timeout(&self, out: &mut [T], timeout: Duration) -> Result<usize> {
        let n = out.len();
        self.raw
            .recv_n(slice_bytes_mut(out), n, &Deadline::after(timeout), true)
    }

    /// Like [`Channel::recv_slice`], without waiting: `Ok(0)` when no value
    /// is there now; [`Error::Closed`](crate::Error::Closed) once closed and
    /// drained (as [`Channel::try_recv`]).
    pub fn try_recv_slice(&self, out: &mut [T]) -> Result<usize> {
        let n = out.len();
        self.raw
            .recv_n(slice_bytes_mut(out), n, &Deadline::forever(), false)
    }

    /// Unbuffered recovery after a participant was killed mid-transfer:
    /// releases a sender lock left held (odd `send_seq`) and clears a slot
    /// left claimed (`ready == 2`). Call it only when no transfer is in
    /// progress (for example after every other party stopped); a live
    /// holder would otherwise be broken. Returns true if anything was reset.
    pub fn recover_unbuffered(&self) -> bool {
        self.raw.recover_unbuffered()
    }
}

/// Receives from whichever of `channels` has a value first, waiting up to
/// `timeout` (`None`: forever). Returns the index of the channel and the
/// value; [`Error::Closed`](crate::Error::Closed) (naming the last channel) once every channel is
/// closed and drained; [`Error::Timeout`](crate::Error::Timeout) on timeout. Channels are polled
/// round-robin starting after the one whose handle delivered last in a
/// `select` (remembered in the handles, across calls), so a busy channel
/// does not starve the others: with every channel non-empty, consecutive
/// selects take from each in turn. While waiting it counts as a receiver on
/// every channel (so senders wake it) and sleeps on every channel's receive
/// word at once (`FUTEX_WAITV`), at most 2 ms per sleep (reference senders
/// wake nobody). The protocol is [`raw::select`]'s.
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
    let raws: Vec<&RawChannel> = channels.iter().map(|c| &c.raw).collect();
    let mut v = zeroed::<T>();
    let i = raw::select(&raws, bytes_of_mut(&mut v), timeout)?;
    Ok((i, v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codata::testutil::seg;
    use crate::format::{channel as fmt, queue};
    use crate::raw::channel::Mode;
    use crate::region::atomic::Ordering;
    use crate::Error;

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
        ch.try_send(1).unwrap();
        ch.try_send(2).unwrap();
        let full = ch.try_send(3).unwrap_err();
        assert!(full.is_full() && full.value == 3, "{full}");
        let e = ch.send_timeout(3, Duration::from_millis(10)).unwrap_err();
        assert!(e.is_timeout() && e.into_inner() == 3);
        let rx = ch.clone();
        let h = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            rx.recv().unwrap()
        });
        ch.send(3).unwrap(); // blocks until the receiver makes room
        assert_eq!(h.join().unwrap(), 1);
        ch.close();
        assert!(matches!(ch.send(4), Err(Error::Closed { .. })));
        assert!(ch.try_send(4).unwrap_err().is_closed());
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
        assert!(ch.try_send(1).unwrap_err().is_full()); // nobody waiting
        assert_eq!(ch.try_recv().unwrap(), None);
        let e = ch.send_timeout(1, Duration::from_millis(10)).unwrap_err();
        assert!(e.is_timeout(), "{e}");
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
        assert_eq!(ch.raw.send_seq().load(Ordering::Relaxed) % 2, 0);
    }

    #[test]
    fn dead_queue_peers_give_timeouts() {
        let t = seg("chdeadq");
        let ch = Channel::<u32>::create(&t.1, "c", 2).unwrap();
        let q = ch.raw.buffer().unwrap();
        // A consumer that died after claiming ticket 0 but before freeing
        // its slot; a producer that died after claiming ticket 2.
        ch.send(1).unwrap();
        ch.send(2).unwrap();
        q.region()
            .atomic_u32(queue::HEAD as usize)
            .store(1, Ordering::Relaxed);
        let e = ch.send_timeout(3, Duration::from_millis(20)).unwrap_err();
        assert!(e.is_timeout(), "{e}");
        assert_eq!(ch.recv().unwrap(), 2);
        q.region()
            .atomic_u32(queue::TAIL as usize)
            .store(3, Ordering::Relaxed);
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
        ch.raw.send_seq().store(5, Ordering::Relaxed);
        let Mode::Unbuffered { slot, .. } = &*ch.raw.mode else {
            unreachable!()
        };
        slot.atomic_u8(fmt::SLOT_READY as usize)
            .store(fmt::SLOT_CLAIMED, Ordering::Relaxed);
        let e = ch.send_timeout(1, Duration::from_millis(10)).unwrap_err();
        assert!(e.is_timeout(), "{e}");
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
        let before = t.1.entries().unwrap(); // the self-description, if any
        assert!(Channel::<u8>::create(&t.1, &long, 4).is_err());
        assert_eq!(t.1.entries().unwrap().len(), before.len()); // nothing half-created
        Channel::<i32>::create(&t.1, "c", 3).unwrap();
        let c = Channel::<i32>::open(&t.1, "c").unwrap();
        assert_eq!(c.capacity(), 4);
        assert!(Channel::<i64>::open(&t.1, "c").is_err());
        Channel::<i32>::create(&t.1, "u", 0).unwrap();
        assert!(Channel::<i64>::open(&t.1, "u").is_err());
        assert!(Channel::<i32>::open(&t.1, "missing").is_err());
    }
}
