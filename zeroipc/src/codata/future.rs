//! `Future<T>`: a value that one process will produce and any number of
//! processes can wait for.
//!
//! The normative layout is docs/FORMAT.md §4.5; the offsets are
//! [`zeroipc::format::future`](crate::format::future). The protocol (a
//! one-shot claim of the state word, publication with a release store) is
//! written once, over bytes, in [`RawFuture`]; [`Future<T>`] is its typed
//! veneer, and [`RawFuture`]'s docs describe the protocol, the reference
//! defects it fixes (docs/FORMAT.md §8.3 #22, #23, #25) and what open can
//! and cannot tell about the wrong kind.
//!
//! `then` in the reference computes only when the source is already ready
//! (otherwise the new future stays pending forever); [`Future::then`]
//! returns a [`Then`] continuation that completes the new future whenever
//! the source completes (see there).
//!
//! # Blocking, non-blocking and timed forms
//!
//! | wait | blocking | non-blocking | timed |
//! |---|---|---|---|
//! | the value | [`Future::get`] | [`Future::try_get`] (`Ok(None)` while pending) | [`Future::get_timeout`] |
//!
//! Setting never waits: [`Future::set_value`] and [`Future::set_error`]
//! return false when another setter got there first.
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

use super::zeroed;
use crate::describe::Description;
use crate::element::{bytes_of, bytes_of_mut, ShmElement};
use crate::error::{Error, Result};
use crate::format::future as fmt;
use crate::format::{ElemLayout, StructureKind};
use crate::raw::future::RawFuture;
use crate::region::Region;
use crate::segment::Segment;
use crate::wait::Deadline;
use std::marker::PhantomData;
use std::time::Duration;

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
    /// The state a stored number means.
    pub fn from_raw(v: u32) -> FutureState {
        match v {
            fmt::PENDING => FutureState::Pending,
            fmt::COMPUTING => FutureState::Computing,
            fmt::READY => FutureState::Ready,
            fmt::ERROR => FutureState::Error,
            other => FutureState::Unknown(other),
        }
    }

    /// The number stored in the segment.
    pub fn raw(self) -> u32 {
        match self {
            FutureState::Pending => fmt::PENDING,
            FutureState::Computing => fmt::COMPUTING,
            FutureState::Ready => fmt::READY,
            FutureState::Error => fmt::ERROR,
            FutureState::Unknown(v) => v,
        }
    }
}

/// A shared one-shot value of type `T`: a typed veneer over [`RawFuture`].
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
/// assert!(e.set_error("boom"));
/// assert!(matches!(e.get(), Err(zeroipc::Error::Failed { message, .. }) if message == "boom"));
/// Segment::unlink(&name)?;
/// # Ok::<(), zeroipc::Error>(())
/// ```
// Clone: `T: Copy` (ShmElement), so the derive adds no real bound.
#[derive(Clone)]
pub struct Future<T: ShmElement> {
    raw: RawFuture,
    _t: PhantomData<T>,
}

impl<T: ShmElement> std::fmt::Debug for Future<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Future")
            .field("region", self.raw.region())
            .field("state", &self.state())
            .finish()
    }
}

impl<T: ShmElement> Future<T> {
    const ELEM: ElemLayout = ElemLayout::of::<T>();

    /// Entry size the C++ reference registers for `Future<T>`.
    #[cfg(test)]
    pub(crate) fn size_for() -> Option<u64> {
        fmt::entry_size(Self::ELEM)
    }

    /// Creates a pending future named `name`.
    pub fn create(seg: &Segment, name: &str) -> Result<Self> {
        let desc = Description::of::<T>(StructureKind::Future, 0);
        Ok(Future {
            raw: RawFuture::create_described(seg, name, Self::ELEM, &desc)?,
            _t: PhantomData,
        })
    }

    /// Opens the future named `name`, checking its entry size against `T`
    /// (and, on a self-describing segment, that it was created as a future
    /// of this layout).
    pub fn open(seg: &Segment, name: &str) -> Result<Self> {
        Ok(Future {
            raw: RawFuture::open(seg, name, Some(Self::ELEM))?,
            _t: PhantomData,
        })
    }

    /// The underlying region.
    pub fn region(&self) -> &Region {
        self.raw.region()
    }

    /// The protocol core this veneer calls (for tools).
    pub fn raw(&self) -> &RawFuture {
        &self.raw
    }

    /// The current state (acquire load).
    #[inline]
    pub fn state(&self) -> FutureState {
        FutureState::from_raw(self.raw.state())
    }

    /// True once a value or an error is available.
    pub fn is_ready(&self) -> bool {
        matches!(self.state(), FutureState::Ready | FutureState::Error)
    }

    /// Readers currently blocked in a get (as counted by every
    /// implementation; informational, may be stale after a crash).
    pub fn waiters(&self) -> u32 {
        self.raw.waiters()
    }

    /// `CLOCK_MONOTONIC` nanoseconds at completion (0 while pending). Python
    /// setters store wall-clock microseconds instead.
    pub fn completion_time(&self) -> u64 {
        self.raw.completion_time()
    }

    /// Completes the future with `v`. Returns false (and writes nothing) if
    /// it was already completed or is being completed by another setter.
    #[inline]
    pub fn set_value(&self, v: T) -> bool {
        // The length is `size_of::<T>()`, which open checked: never Err.
        self.raw.set_value(bytes_of(&v)).unwrap_or(false)
    }

    /// Completes the future with an error message (UTF-8, cut to 255 bytes
    /// at a character boundary). The message is written before `ERROR` is
    /// visible. Returns false if the future was already claimed.
    pub fn set_error(&self, msg: &str) -> bool {
        self.raw.set_error(msg)
    }

    /// The outcome if the future is complete (see [`RawFuture`]).
    #[inline]
    fn outcome(&self) -> Option<Result<T>> {
        let mut v = zeroed::<T>();
        let r = self.raw.outcome(bytes_of_mut(&mut v))?;
        Some(r.map(|()| v))
    }

    /// The value if it is ready, `Ok(None)` if not yet, [`Error::Failed`] if
    /// the producer stored an error.
    pub fn try_get(&self) -> Result<Option<T>> {
        self.outcome().transpose()
    }

    fn wait(&self, timeout: Option<Duration>) -> Result<T> {
        let mut v = zeroed::<T>();
        self.raw
            .get_until(bytes_of_mut(&mut v), &Deadline::from_timeout(timeout))?;
        Ok(v)
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
        self.raw.error_message()
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
    /// assert!(src.set_value(21));
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

    use crate::region::atomic::Ordering;

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
        f.region()
            .atomic_u32(fmt::STATE as usize)
            .store(fmt::COMPUTING, Ordering::Release);
        let e = f.get_timeout(Duration::from_millis(20)).unwrap_err();
        assert!(matches!(e, Error::Timeout { .. }), "{e}");
        assert_eq!(f.state(), FutureState::Computing);
        f.region()
            .atomic_u32(fmt::STATE as usize)
            .store(7, Ordering::Release);
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
