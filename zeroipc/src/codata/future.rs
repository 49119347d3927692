//! `Future<T>`: a value that one process will produce and any number of
//! processes can wait for (FORMAT.md §4, REFERENCE-NOTES §7).
//!
//! # Layout (C++ reference `future.h`, one entry `name`)
//!
//! | off | type | field |
//! |---|---|---|
//! | 0 | atomic u32 | state: PENDING 0, COMPUTING 1, READY 2, ERROR 3 |
//! | 4 | atomic u32 | waiters (blocked readers; informational) |
//! | 8 | atomic u64 | completion_time (`CLOCK_MONOTONIC` ns, as C++ `steady_clock`) |
//! | 16 | `T` | value |
//! | 16 + s | `[u8; 256]` | error message, NUL-terminated (≤ 255 bytes) |
//!
//! Entry size `align_up(16 + s + 256, max(8, align_of T))` (C++). The Python
//! reference registers `16 + s + 256` with the same offsets; [`Future::open`]
//! accepts both sizes.
//!
//! # Protocol
//!
//! The state word is a one-shot claim, as in the reference: a setter wins by
//! `CAS(PENDING -> COMPUTING)`, writes the value (or the error message) and
//! the completion time, then publishes `READY` (or `ERROR`) with a release
//! store. Readers load the state with acquire ordering, so a reader that sees
//! `READY`/`ERROR` sees the complete value/message. Waiters spin briefly and
//! then sleep on the state word (shared futex, bounded to
//! [`crate::wait::MAX_SLEEP`] and re-checked, since reference setters never
//! wake anyone); our setters wake every sleeper after publishing.
//!
//! Reference bugs fixed without changing bytes (REFERENCE-NOTES §14):
//! - 22: the C++ `set_error` publishes `ERROR` *before* writing the message.
//!   Here `set_error` claims `PENDING -> COMPUTING`, writes the message and
//!   only then stores `ERROR` (release), so any reader, C++ included, that
//!   sees `ERROR` reads the whole message. A C++ setter racing with us sees
//!   `COMPUTING` and its CAS fails, exactly as against a C++ `set_value`.
//! - 23: setters never proceed from `COMPUTING` (only the CAS winner writes).
//! - 25: every wait has a timed variant ([`Future::get_timeout`]).
//! - `then` in the reference computes only when the source is already ready
//!   (otherwise the new future stays pending forever); [`Future::then`]
//!   returns a [`Then`] continuation that completes the new future whenever
//!   the source completes (see there).
//!
//! # Opening the wrong kind
//!
//! There is no kind tag and no element-size field: open checks only the
//! entry size, which a `Lazy<i32>` (280 bytes) shares with a C++
//! `Future<u32>`, and other kinds can share too. Open also refuses a state
//! outside 0..=3 and a PENDING state with a nonzero `completion_time` (no
//! setter stores the time before leaving PENDING; a not-yet-computed Lazy's
//! operands lie at +8). What cannot be told: an entry of the right size
//! whose state word is 0..=3 and, if 0, whose bytes 8..16 are zero (a fresh
//! `Lazy` of `Constant(0)`, a computed Lazy) opens as a future; using it
//! then writes the other kind's bytes.
//!
//! # After SIGKILL
//!
//! - A setter killed before its CAS leaves the future `PENDING`; one killed
//!   between the CAS and the final store leaves it `COMPUTING` forever (the
//!   value or message may be partly written but is never published). Nobody
//!   can tell a dead producer from a slow one: [`Future::get`] then waits
//!   forever, [`Future::get_timeout`] returns [`Error::Timeout`]. Use timed
//!   waits when the producer may die.
//! - A reader killed while waiting leaves `waiters` one too high; the field
//!   is informational and never used for a decision.
//! - A `READY`/`ERROR` future is immutable and stays readable.

use super::{monotonic_ns, read_msg, write_msg, ERROR_MSG_LEN, OPEN_SETTLE_WAIT};
use crate::element::ShmElement;
use crate::error::{Error, Result};
use crate::region::atomic::{AtomicU32, Ordering};
use crate::region::Region;
use crate::segment::Segment;
use crate::wait::{millis, wait_until, wake_all};
use std::marker::PhantomData;
use std::time::{Duration, Instant};

const KIND: &str = "future";

const OFF_STATE: usize = 0;
const OFF_WAITERS: usize = 4;
const OFF_TIME: usize = 8;
const OFF_VALUE: usize = 16;

const PENDING: u32 = 0;
const COMPUTING: u32 = 1;
const READY: u32 = 2;
const ERROR: u32 = 3;

/// The raw state of a future.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FutureState {
    /// Nobody has started to set it (0).
    Pending,
    /// A setter claimed it and is writing (1).
    Computing,
    /// The value is available (2).
    Ready,
    /// An error message is available (3).
    Error,
    /// A value no implementation writes (a corrupted segment).
    Unknown(u32),
}

impl FutureState {
    fn from_raw(v: u32) -> FutureState {
        match v {
            PENDING => FutureState::Pending,
            COMPUTING => FutureState::Computing,
            READY => FutureState::Ready,
            ERROR => FutureState::Error,
            other => FutureState::Unknown(other),
        }
    }

    /// The number stored in the segment.
    pub fn raw(self) -> u32 {
        match self {
            FutureState::Pending => PENDING,
            FutureState::Computing => COMPUTING,
            FutureState::Ready => READY,
            FutureState::Error => ERROR,
            FutureState::Unknown(v) => v,
        }
    }
}

/// A shared one-shot value of type `T`.
///
/// ```
/// use zeroipc::{Future, Segment};
/// use std::time::Duration;
/// let name = format!("/zeroipc-doc-future-{}", std::process::id());
/// let seg = Segment::create(&name, 1 << 16)?;
/// let f = Future::<i32>::create(&seg, "answer")?;
/// assert_eq!(f.try_get()?, None);
/// assert!(f.get_timeout(Duration::from_millis(1)).is_err()); // still pending
///
/// let other = Future::<i32>::open(&seg, "answer")?; // another process would do this
/// assert!(other.set_value(42));
/// assert!(!f.set_value(7)); // one-shot: the first setter wins
/// assert_eq!(f.get()?, 42);
///
/// let e = Future::<f64>::create(&seg, "failed")?;
/// e.set_error("boom");
/// assert!(matches!(e.get(), Err(zeroipc::Error::Failed { message, .. }) if message == "boom"));
/// Segment::unlink(&name)?;
/// # Ok::<(), zeroipc::Error>(())
/// ```
pub struct Future<T: ShmElement> {
    region: Region,
    _t: PhantomData<T>,
}

impl<T: ShmElement> Clone for Future<T> {
    fn clone(&self) -> Self {
        Future {
            region: self.region.clone(),
            _t: PhantomData,
        }
    }
}

impl<T: ShmElement> std::fmt::Debug for Future<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Future")
            .field("region", &self.region)
            .field("state", &self.state())
            .finish()
    }
}

/// Decrements `waiters` when a blocking read ends (also on unwind).
struct WaiterGuard<'a>(&'a AtomicU32);

impl Drop for WaiterGuard<'_> {
    fn drop(&mut self) {
        // Informational counter only: relaxed, like the reference.
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl<T: ShmElement> Future<T> {
    const ERR_OFF: usize = OFF_VALUE + size_of::<T>();

    /// Entry size the C++ reference registers for `Future<T>`.
    pub(crate) fn size_for() -> Option<u64> {
        let raw = (OFF_VALUE + size_of::<T>() + ERROR_MSG_LEN) as u64;
        super::align_up(raw, align_of::<T>().max(8) as u64)
    }

    /// Nothing to write: a zeroed entry is PENDING with no waiters, time 0
    /// and an empty message, which is what the reference constructor stores.
    pub(crate) fn init_region(_region: &Region) {}

    /// Validates the entry size (C++ or Python form) against `T`.
    pub(crate) fn from_region(region: Region) -> Result<Self> {
        let cpp = Self::size_for().unwrap_or(u64::MAX);
        let py = (OFF_VALUE + size_of::<T>() + ERROR_MSG_LEN) as u64;
        let len = region.len() as u64;
        if len != cpp && len != py {
            return Err(region.mismatch(
                KIND,
                format!(
                    "entry size {len} is neither {cpp} (C++) nor {py} (Python) for a {}-byte, \
                     {}-aligned value (wrong value type?)",
                    size_of::<T>(),
                    align_of::<T>()
                ),
            ));
        }
        let f = Future {
            region,
            _t: PhantomData,
        };
        f.check_words()?;
        Ok(f)
    }

    /// Open checks (module doc, "Opening the wrong kind"): the state is
    /// 0..=3, and a PENDING future has no completion time (every setter
    /// claims the state before it stores the time). The time store of a
    /// live setter may become visible before its claim, so that one
    /// combination is re-read for up to [`OPEN_SETTLE_WAIT`].
    fn check_words(&self) -> Result<()> {
        let state = self.state_word().load(Ordering::Acquire);
        if state > ERROR {
            return Err(self.region.mismatch(
                KIND,
                format!(
                    "state word holds {state}, not PENDING/COMPUTING/READY/ERROR (0..=3): \
                     not a future, or a corrupted one"
                ),
            ));
        }
        let time = self.completion_time();
        if state != PENDING || time == 0 {
            return Ok(());
        }
        let state_word = self.state_word();
        let claimed = crate::wait::poll_until(Some(OPEN_SETTLE_WAIT), || {
            (state_word.load(Ordering::Acquire) != PENDING).then_some(())
        });
        match claimed {
            Some(()) => Ok(()),
            None => Err(self.region.mismatch(
                KIND,
                format!(
                    "state is PENDING but completion_time is {time:#x} (a future's time is \
                     stored only after it leaves PENDING): not a future (a Lazy's operands \
                     at +8?), or a corrupted one"
                ),
            )),
        }
    }

    /// Creates a pending future named `name`.
    pub fn create(seg: &Segment, name: &str) -> Result<Self> {
        let size = Self::size_for().ok_or_else(|| Error::InvalidParameter {
            segment: seg.name().to_owned(),
            what: format!("future {name:?}: size overflows"),
        })?;
        let region = seg.register(name, size, |r| {
            Self::init_region(r);
            Ok(())
        })?;
        Self::from_region(region)
    }

    /// Opens the future named `name`, checking its entry size against `T`.
    pub fn open(seg: &Segment, name: &str) -> Result<Self> {
        Self::from_region(seg.region(name)?)
    }

    /// The underlying region.
    pub fn region(&self) -> &Region {
        &self.region
    }

    fn state_word(&self) -> &AtomicU32 {
        self.region.atomic_u32(OFF_STATE)
    }

    /// The current state (acquire load).
    pub fn state(&self) -> FutureState {
        FutureState::from_raw(self.state_word().load(Ordering::Acquire))
    }

    /// True once a value or an error is available.
    pub fn is_ready(&self) -> bool {
        matches!(self.state(), FutureState::Ready | FutureState::Error)
    }

    /// Readers currently blocked in a get (as counted by every
    /// implementation; informational, may be stale after a crash).
    pub fn waiters(&self) -> u32 {
        self.region.atomic_u32(OFF_WAITERS).load(Ordering::Relaxed)
    }

    /// `CLOCK_MONOTONIC` nanoseconds at completion (0 while pending). Python
    /// setters store wall-clock microseconds instead.
    pub fn completion_time(&self) -> u64 {
        self.region.atomic_u64(OFF_TIME).load(Ordering::Relaxed)
    }

    /// Claims the future for setting: PENDING -> COMPUTING.
    fn claim(&self) -> bool {
        // Acquire on success: the value/message writes that follow cannot be
        // hoisted above the claim, so no reader-visible state (READY/ERROR)
        // is published before we own the slot. Strong CAS: a spurious
        // failure would wrongly report "already set".
        self.state_word()
            .compare_exchange(PENDING, COMPUTING, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    /// Stores the completion time and publishes `state`, then wakes waiters.
    fn publish(&self, state: u32) {
        self.region
            .atomic_u64(OFF_TIME)
            .store(monotonic_ns(), Ordering::Relaxed);
        // Release: orders the value/message and time writes above before the
        // terminal state; readers acquire-load the state before reading them.
        self.state_word().store(state, Ordering::Release);
        wake_all(self.state_word());
    }

    /// Completes the future with `v`. Returns false (and writes nothing) if
    /// it was already completed or is being completed by another setter.
    pub fn set_value(&self, v: T) -> bool {
        if !self.claim() {
            return false;
        }
        self.region.write::<T>(OFF_VALUE, v);
        self.publish(READY);
        true
    }

    /// Completes the future with an error message (UTF-8, cut to 255 bytes
    /// at a character boundary). The message is written before `ERROR` is
    /// visible. Returns false if the future was already claimed.
    pub fn set_error(&self, msg: &str) -> bool {
        if !self.claim() {
            return false;
        }
        write_msg(&self.region, Self::ERR_OFF, msg);
        self.publish(ERROR);
        true
    }

    /// The outcome if the future is complete: `Some(Ok(v))`, `Some(Err(Failed))`,
    /// `None` while pending/computing, `Some(Err(mismatch))` for a state no
    /// implementation writes.
    fn outcome(&self) -> Option<Result<T>> {
        match self.state_word().load(Ordering::Acquire) {
            // Acquire above pairs with the setter's release store of READY:
            // the value is complete, and READY is terminal, so it is stable.
            READY => Some(Ok(self.region.read::<T>(OFF_VALUE))),
            ERROR => Some(Err(Error::Failed {
                name: self.region.name().to_owned(),
                kind: KIND,
                message: read_msg(&self.region, Self::ERR_OFF),
            })),
            PENDING | COMPUTING => None,
            other => Some(Err(self
                .region
                .mismatch(KIND, format!("state word holds {other}, not 0..=3")))),
        }
    }

    /// The value if it is ready, `Ok(None)` if not yet, [`Error::Failed`] if
    /// the producer stored an error.
    pub fn try_get(&self) -> Result<Option<T>> {
        self.outcome().transpose()
    }

    fn wait(&self, timeout: Option<Duration>) -> Result<T> {
        if let Some(r) = self.outcome() {
            return r;
        }
        let start = Instant::now();
        let waiters = self.region.atomic_u32(OFF_WAITERS);
        waiters.fetch_add(1, Ordering::Relaxed);
        let _guard = WaiterGuard(waiters);
        match wait_until(self.state_word(), timeout, || self.outcome()) {
            Some(r) => r,
            None => Err(Error::Timeout {
                name: self.region.name().to_owned(),
                kind: KIND,
                waited_ms: millis(start.elapsed()),
            }),
        }
    }

    /// Blocks until the future completes; returns the value or
    /// [`Error::Failed`]. Waits forever if the producer died (see the module
    /// docs); prefer [`Future::get_timeout`] when that can happen.
    pub fn get(&self) -> Result<T> {
        self.wait(None)
    }

    /// Like [`Future::get`], giving up with [`Error::Timeout`] after `timeout`.
    pub fn get_timeout(&self, timeout: Duration) -> Result<T> {
        self.wait(Some(timeout))
    }

    /// The error message if the future completed with an error.
    pub fn error_message(&self) -> Option<String> {
        (self.state_word().load(Ordering::Acquire) == ERROR)
            .then(|| read_msg(&self.region, Self::ERR_OFF))
    }

    /// Chains a computation: creates a pending `Future<U>` named `next_name`
    /// and returns it with a [`Then`] continuation that completes it with
    /// `f(value)` once this future is ready (or with this future's error
    /// message if it fails). The source does not need to be ready: drive the
    /// continuation with [`Then::poll`] (non-blocking), [`Then::run`]
    /// (blocking, optional timeout) or [`Then::spawn`] (a thread of this
    /// process). If the source is already complete, `then` completes the new
    /// future immediately (as the reference does).
    ///
    /// ```
    /// use zeroipc::{Future, Segment};
    /// let name = format!("/zeroipc-doc-then-{}", std::process::id());
    /// let seg = Segment::create(&name, 1 << 16)?;
    /// let src = Future::<i32>::create(&seg, "src")?;
    /// let (doubled, cont) = src.then(&seg, "doubled", |v| v as i64 * 2)?;
    /// let worker = cont.spawn(); // completes `doubled` when `src` is set
    /// src.set_value(21);
    /// assert_eq!(doubled.get()?, 42);
    /// worker.join().unwrap()?;
    /// Segment::unlink(&name)?;
    /// # Ok::<(), zeroipc::Error>(())
    /// ```
    pub fn then<U: ShmElement, F: FnOnce(T) -> U>(
        &self,
        seg: &Segment,
        next_name: &str,
        f: F,
    ) -> Result<(Future<U>, Then<T, U, F>)> {
        let target = Future::<U>::create(seg, next_name)?;
        let mut cont = Then {
            source: self.clone(),
            target: target.clone(),
            f: Some(f),
        };
        cont.poll()?;
        Ok((target, cont))
    }
}

/// The continuation returned by [`Future::then`]: completes `target` with
/// `f(source value)` (or the source's error) once the source completes.
///
/// If `f` panics, the target is completed with the error message
/// `"continuation panicked"` (so its waiters do not hang) and the panic is
/// resumed. If the process driving the continuation dies, the target stays
/// pending (waiters with timeouts time out).
pub struct Then<T: ShmElement, U: ShmElement, F: FnOnce(T) -> U> {
    source: Future<T>,
    target: Future<U>,
    f: Option<F>,
}

impl<T: ShmElement, U: ShmElement, F: FnOnce(T) -> U> std::fmt::Debug for Then<T, U, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Then")
            .field("source", &self.source)
            .field("target", &self.target)
            .field("done", &self.f.is_none())
            .finish()
    }
}

impl<T: ShmElement, U: ShmElement, F: FnOnce(T) -> U> Then<T, U, F> {
    /// The future this continuation completes.
    pub fn target(&self) -> &Future<U> {
        &self.target
    }

    /// True once the target has been completed by this continuation.
    pub fn is_done(&self) -> bool {
        self.f.is_none()
    }

    fn complete(&mut self, outcome: Result<T>) -> Result<()> {
        let Some(f) = self.f.take() else {
            return Ok(());
        };
        match outcome {
            Ok(v) => {
                match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(v))) {
                    Ok(u) => {
                        // false: someone else completed the target; nothing to do.
                        self.target.set_value(u);
                    }
                    Err(panic) => {
                        self.target.set_error("continuation panicked");
                        std::panic::resume_unwind(panic);
                    }
                }
                Ok(())
            }
            Err(Error::Failed { message, .. }) => {
                self.target.set_error(&message);
                Ok(())
            }
            Err(e) => {
                // A corrupted source: report it to the target's waiters too.
                self.target.set_error(&e.to_string());
                Err(e)
            }
        }
    }

    /// Completes the target if the source is complete; never blocks.
    /// Returns true once the target is completed (now or earlier).
    pub fn poll(&mut self) -> Result<bool> {
        if self.f.is_none() {
            return Ok(true);
        }
        match self.source.outcome() {
            Some(outcome) => self.complete(outcome).map(|()| true),
            None => Ok(false),
        }
    }

    /// Waits for the source (forever, or up to `timeout`) and completes the
    /// target. On [`Error::Timeout`] the continuation stays armed: call
    /// `run` or `poll` again to keep waiting.
    pub fn run(&mut self, timeout: Option<Duration>) -> Result<()> {
        if self.f.is_none() {
            return Ok(());
        }
        match self.source.wait(timeout) {
            Err(e @ Error::Timeout { .. }) => Err(e),
            outcome => self.complete(outcome),
        }
    }

    /// Runs the continuation on a new thread of this process, which waits
    /// for the source without a timeout.
    pub fn spawn(mut self) -> std::thread::JoinHandle<Result<()>>
    where
        F: Send + 'static,
    {
        std::thread::spawn(move || self.run(None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codata::testutil::seg;

    #[test]
    fn sizes_match_the_reference() {
        assert_eq!(Future::<i32>::size_for(), Some(280));
        assert_eq!(Future::<f64>::size_for(), Some(280));
        assert_eq!(Future::<u8>::size_for(), Some(280));
        assert_eq!(Future::<[i32; 3]>::size_for(), Some(288));
    }

    #[test]
    fn waiters_across_threads_and_one_shot() {
        let t = seg("fut");
        let f = Future::<u64>::create(&t.1, "f").unwrap();
        let handles: Vec<_> = (0..3)
            .map(|_| {
                let g = Future::<u64>::open(&t.1, "f").unwrap();
                std::thread::spawn(move || g.get_timeout(Duration::from_secs(20)))
            })
            .collect();
        std::thread::sleep(Duration::from_millis(20));
        assert!(f.set_value(99));
        assert!(!f.set_error("late"));
        for h in handles {
            assert_eq!(h.join().unwrap().unwrap(), 99);
        }
        assert_eq!(f.waiters(), 0);
        assert_ne!(f.completion_time(), 0);
    }

    #[test]
    fn error_message_is_complete_and_truncated() {
        let t = seg("futerr");
        let f = Future::<i32>::create(&t.1, "f").unwrap();
        let long = "é".repeat(200); // 400 bytes: cut at 254 (a char boundary)
        assert!(f.set_error(&long));
        let msg = f.error_message().unwrap();
        assert_eq!(msg.len(), 254);
        assert!(matches!(f.try_get(), Err(Error::Failed { .. })));
        assert!(!f.set_value(1));
    }

    #[test]
    fn stuck_computing_times_out() {
        let t = seg("futstuck");
        let f = Future::<i32>::create(&t.1, "f").unwrap();
        // A setter that died after its claim.
        f.region
            .atomic_u32(OFF_STATE)
            .store(COMPUTING, Ordering::Release);
        let e = f.get_timeout(Duration::from_millis(20)).unwrap_err();
        assert!(matches!(e, Error::Timeout { .. }), "{e}");
        assert_eq!(f.state(), FutureState::Computing);
        f.region.atomic_u32(OFF_STATE).store(7, Ordering::Release);
        assert!(matches!(f.try_get(), Err(Error::StructureMismatch { .. })));
    }

    #[test]
    fn then_before_and_after_ready() {
        let t = seg("futthen");
        let a = Future::<i32>::create(&t.1, "a").unwrap();
        let (b, mut cont) = a.then(&t.1, "b", |v| f64::from(v) / 2.0).unwrap();
        assert!(!cont.poll().unwrap());
        assert_eq!(b.state(), FutureState::Pending);
        a.set_value(5);
        assert!(cont.poll().unwrap());
        assert_eq!(b.get().unwrap(), 2.5);
        // Source already ready: completed at once.
        let (c, cont) = a.then(&t.1, "c", |v| v + 1).unwrap();
        assert!(cont.is_done());
        assert_eq!(c.try_get().unwrap(), Some(6));
        // Errors propagate.
        let e = Future::<i32>::create(&t.1, "e").unwrap();
        let (d, cont) = e.then(&t.1, "d", |v| v).unwrap();
        let h = cont.spawn();
        e.set_error("bad input");
        h.join().unwrap().unwrap();
        assert!(matches!(d.get(), Err(Error::Failed { message, .. }) if message == "bad input"));
    }

    #[test]
    fn open_checks_size() {
        let t = seg("futopen");
        Future::<i32>::create(&t.1, "f").unwrap();
        assert!(Future::<[u64; 4]>::open(&t.1, "f").is_err());
        assert!(Future::<u32>::open(&t.1, "f").is_ok()); // same size: cannot tell
    }
}
