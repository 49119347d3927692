//! Waiting without burning a core: spin briefly, then sleep in the kernel.
//!
//! On Linux the sleep is a shared (not private) futex wait on the 32-bit
//! word being watched, so our own wakers ([`wake_all`], [`wake_one`]) end the
//! sleep at once, across processes. Reference peers never issue wake-ups,
//! so every sleep is bounded by [`MAX_SLEEP`] and the condition is re-checked
//! after it: a state change made by a reference peer is seen within that
//! bound. Waiting on a 64-bit word, or on a platform without futexes, falls
//! back to a short `nanosleep` with the same bound.

use crate::error::Error;
use crate::region::atomic::AtomicU32;
use crate::region::Region;
#[cfg(not(loom))]
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// When a blocking operation must give up: the one deadline helper of the
/// crate (every `*_timeout` goes through it, directly or via [`wait_until`]
/// / [`poll_until`]), so that one limit covers every step of a composite
/// operation and every timeout is handled alike.
///
/// A timeout so large that `now + timeout` is not a representable
/// [`Instant`] (`Duration::MAX`, `u64::MAX / 2` seconds, ...) means "no
/// deadline": `Instant::checked_add` decides, so nothing can overflow.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Deadline {
    /// When the wait started (for the waited time in errors); `None` for an
    /// unbounded wait, which never reads the clock: that keeps the clock off
    /// the uncontended fast paths (`Mutex::lock`, `Semaphore::acquire`).
    start: Option<Instant>,
    /// When to give up; `None` = never.
    end: Option<Instant>,
}

impl Deadline {
    /// No limit.
    pub(crate) fn forever() -> Deadline {
        Deadline {
            start: None,
            end: None,
        }
    }

    /// Gives up `limit` from now (never, if that instant is not
    /// representable).
    pub(crate) fn after(limit: Duration) -> Deadline {
        let start = Instant::now();
        Deadline {
            start: Some(start),
            end: start.checked_add(limit),
        }
    }

    /// [`Deadline::after`] for `Some(limit)`, [`Deadline::forever`] for `None`.
    #[cfg_attr(loom, allow(dead_code))] // the loom waits take the timeout as is
    pub(crate) fn from_timeout(timeout: Option<Duration>) -> Deadline {
        timeout.map_or_else(Deadline::forever, Deadline::after)
    }

    /// Time left (`None` = unbounded, `Some(ZERO)` = expired), in the form
    /// [`wait_until`] takes.
    pub(crate) fn remaining(&self) -> Option<Duration> {
        self.end
            .map(|end| end.saturating_duration_since(Instant::now()))
    }

    /// True once the limit has passed.
    pub(crate) fn expired(&self) -> bool {
        self.end.is_some_and(|end| Instant::now() >= end)
    }

    /// A deadline that ends at `cap` from now or at `self`, whichever is first.
    pub(crate) fn capped(&self, cap: Duration) -> Deadline {
        Deadline::after(self.remaining().map_or(cap, |left| left.min(cap)))
    }

    /// Time since the wait started (zero for an unbounded wait).
    pub(crate) fn elapsed(&self) -> Duration {
        self.start.map_or(Duration::ZERO, |s| s.elapsed())
    }

    /// The timeout error for `region` of `kind`.
    pub(crate) fn timeout(&self, region: &Region, kind: &'static str) -> Error {
        self.timeout_named(region.name(), kind)
    }

    /// The timeout error for the structure `name` of `kind` (a composite's
    /// user-facing name rather than one of its parts).
    pub(crate) fn timeout_named(&self, name: &str, kind: &'static str) -> Error {
        Error::Timeout {
            name: name.to_owned(),
            kind,
            waited_ms: millis(self.elapsed()),
        }
    }
}

/// Longest single kernel sleep before the condition is re-checked.
pub const MAX_SLEEP: Duration = Duration::from_millis(2);

/// Exponential backoff for retry loops: spin, then yield, then sleep in
/// bounded steps. The one owner of the crate's spin/yield/sleep constants
/// (modelled on `crossbeam_utils::Backoff`, with a sleep phase added because
/// our peers may be other processes that a yield does not let run).
///
/// Step `i` of [`Backoff::snooze`]: while `i <= SPIN_LIMIT` it spins
/// `2^i` times ([`std::hint::spin_loop`]), while `i <= YIELD_LIMIT` it
/// yields the thread, and after that it sleeps, starting at
/// [`Backoff::MIN_NAP`] and doubling up to [`MAX_SLEEP`].
/// [`Backoff::is_completed`] turns true when the spin and yield phases are
/// used up: a caller that has a futex word to sleep on (see [`wait_until`])
/// should sleep there instead of snoozing further.
///
/// Loom build: every spin, yield and sleep is one yield to the model's
/// scheduler (how loom bounds a spin; the model has no clock).
///
/// ```
/// use zeroipc::wait::Backoff;
/// let backoff = Backoff::new();
/// let mut tries = 0;
/// while !backoff.is_completed() {
///     backoff.snooze();
///     tries += 1;
/// }
/// assert_eq!(tries, Backoff::YIELD_LIMIT + 1);
/// backoff.reset();
/// assert!(!backoff.is_completed());
/// ```
#[derive(Debug, Default)]
pub struct Backoff {
    step: std::cell::Cell<u32>,
    nap: std::cell::Cell<Duration>,
}

impl Backoff {
    /// Steps that spin (step `i` spins `2^i` times: 127 spins in all).
    pub const SPIN_LIMIT: u32 = 6;
    /// Steps after which snoozing stops yielding and starts sleeping.
    pub const YIELD_LIMIT: u32 = 10;
    /// The first sleep of the sleep phase (later ones double, up to
    /// [`MAX_SLEEP`]).
    pub const MIN_NAP: Duration = Duration::from_micros(20);

    /// A fresh backoff, at step 0.
    ///
    /// ```
    /// assert!(!zeroipc::wait::Backoff::new().is_completed());
    /// ```
    #[inline]
    pub fn new() -> Backoff {
        Backoff {
            step: std::cell::Cell::new(0),
            nap: std::cell::Cell::new(Backoff::MIN_NAP),
        }
    }

    /// Back to step 0 (after progress was made).
    ///
    /// ```
    /// let b = zeroipc::wait::Backoff::new();
    /// for _ in 0..20 { b.snooze(); }
    /// b.reset();
    /// assert!(!b.is_completed());
    /// ```
    #[inline]
    pub fn reset(&self) {
        self.step.set(0);
        self.nap.set(Backoff::MIN_NAP);
    }

    /// Backs off in a lock-free loop whose retry follows another party's
    /// progress (a failed CAS): spins only, never yields or sleeps.
    ///
    /// ```
    /// let b = zeroipc::wait::Backoff::new();
    /// b.spin();
    /// assert!(!b.is_completed()); // spinning alone never completes
    /// ```
    #[inline]
    pub fn spin(&self) {
        let step = self.step.get();
        for _ in 0..1u32 << step.min(Backoff::SPIN_LIMIT) {
            spin_hint();
        }
        if step <= Backoff::SPIN_LIMIT {
            self.step.set(step + 1);
        }
    }

    /// Backs off in a loop that waits for another party to act: spins,
    /// then yields, then sleeps (each sleep at most [`MAX_SLEEP`]).
    ///
    /// ```
    /// let b = zeroipc::wait::Backoff::new();
    /// for _ in 0..=zeroipc::wait::Backoff::YIELD_LIMIT { b.snooze(); }
    /// assert!(b.is_completed());
    /// b.snooze(); // now a short sleep
    /// ```
    #[inline]
    pub fn snooze(&self) {
        self.snooze_at_most(MAX_SLEEP);
    }

    /// [`Backoff::snooze`] whose sleep (if this step sleeps) lasts at most
    /// `limit`: for a caller with a deadline.
    ///
    /// ```
    /// use std::time::Duration;
    /// let b = zeroipc::wait::Backoff::new();
    /// for _ in 0..20 { b.snooze_at_most(Duration::ZERO); }
    /// assert!(b.is_completed());
    /// ```
    pub fn snooze_at_most(&self, limit: Duration) {
        let step = self.step.get();
        if step <= Backoff::SPIN_LIMIT {
            for _ in 0..1u32 << step {
                spin_hint();
            }
        } else if step <= Backoff::YIELD_LIMIT {
            yield_now();
        } else {
            let nap = self.nap.get();
            sleep(nap.min(limit));
            self.nap.set((nap * 2).min(MAX_SLEEP));
        }
        if step <= Backoff::YIELD_LIMIT {
            self.step.set(step + 1);
        }
    }

    /// True once the spin phase is used up (the yield phase may remain): a
    /// caller with a futex word to sleep on, which a waker will wake,
    /// should sleep now rather than yield, since a yield on a busy machine
    /// can hand the CPU away for a whole time slice.
    ///
    /// ```
    /// let b = zeroipc::wait::Backoff::new();
    /// for _ in 0..=zeroipc::wait::Backoff::SPIN_LIMIT { b.snooze(); }
    /// assert!(b.is_spun() && !b.is_completed());
    /// ```
    #[inline]
    pub fn is_spun(&self) -> bool {
        self.step.get() > Backoff::SPIN_LIMIT
    }

    /// True once the spin and yield phases are used up: the caller should
    /// now block (on a futex word) or accept that [`Backoff::snooze`] sleeps.
    ///
    /// ```
    /// let b = zeroipc::wait::Backoff::new();
    /// assert!(!b.is_completed());
    /// ```
    #[inline]
    pub fn is_completed(&self) -> bool {
        self.step.get() > Backoff::YIELD_LIMIT
    }
}

/// Sleeps until `word` may no longer hold `expected`, a wake-up arrives, or
/// `timeout` passes (spurious returns are allowed; callers re-check).
#[cfg(not(loom))]
pub fn futex_wait(word: &AtomicU32, expected: u32, timeout: Duration) {
    #[cfg(target_os = "linux")]
    // SAFETY: `word` is a live, aligned atomic u32 for the whole call.
    unsafe {
        futex_wait_at(word.as_ptr(), expected, timeout);
    }
    #[cfg(not(target_os = "linux"))]
    {
        if word.load(Ordering::Acquire) == expected {
            std::thread::sleep(timeout.min(MAX_SLEEP));
        }
    }
}

/// Loom build: a sleep is a yield to the model's scheduler.
#[cfg(loom)]
pub fn futex_wait(word: &AtomicU32, expected: u32, timeout: Duration) {
    let _ = (word, expected, timeout);
    loom::thread::yield_now();
}

/// The shared (cross-process) futex wait on the u32 at `addr`, the one
/// place of the crate that issues it: sleeps while the word holds
/// `expected`, at most `timeout`, or until woken. A 64-bit word is waited
/// on through the address of its low half (`crate::waiters::Word`).
/// Without futexes (other platforms): a sleep of at most [`MAX_SLEEP`].
///
/// # Safety
///
/// `addr` points to a 4-aligned u32 of a mapping that stays mapped for
/// the whole call.
#[cfg(not(loom))]
pub(crate) unsafe fn futex_wait_at(addr: *const u32, expected: u32, timeout: Duration) {
    #[cfg(target_os = "linux")]
    {
        let ts = libc::timespec {
            tv_sec: timeout.as_secs() as libc::time_t,
            tv_nsec: timeout.subsec_nanos() as libc::c_long,
        };
        // SAFETY: FUTEX_WAIT reads the aligned u32 at `addr` (live for the
        // call: the caller's contract) and the timespec on our stack; the
        // shared (non-PRIVATE) op keys on the physical page, so it works
        // across processes mapping the same object. Errors (EAGAIN when the
        // value already changed, EINTR, ETIMEDOUT) all mean "re-check".
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                addr,
                libc::FUTEX_WAIT,
                expected,
                &ts as *const libc::timespec,
            );
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (addr, expected);
        std::thread::sleep(timeout.min(MAX_SLEEP));
    }
}

/// Loom build of [`futex_wait_at`]: a yield to the model's scheduler.
///
/// # Safety
///
/// None needed (nothing is read); `unsafe` to match the real build.
#[cfg(loom)]
pub(crate) unsafe fn futex_wait_at(addr: *const u32, expected: u32, timeout: Duration) {
    let _ = (addr, expected, timeout);
    loom::thread::yield_now();
}

/// Wakes up to `n` sleepers on the u32 at `addr` (in any process): the
/// one place of the crate that issues `FUTEX_WAKE`. The address is only a
/// key: nothing is read or written, so any address is sound.
#[cfg(not(loom))]
pub(crate) fn futex_wake_at(addr: *const u32, n: i32) {
    #[cfg(target_os = "linux")]
    // SAFETY: FUTEX_WAKE only uses the address as a key; no memory is
    // read or written.
    unsafe {
        libc::syscall(libc::SYS_futex, addr, libc::FUTEX_WAKE, n);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (addr, n);
}

/// Loom build: sleepers only yield, so there is nobody to wake.
#[cfg(loom)]
pub(crate) fn futex_wake_at(addr: *const u32, n: i32) {
    let _ = (addr, n);
}

#[cfg(not(loom))]
fn futex_wake(word: &AtomicU32, n: i32) {
    futex_wake_at(word.as_ptr(), n);
}

/// Loom build: sleepers only yield, so there is nobody to wake.
#[cfg(loom)]
fn futex_wake(word: &AtomicU32, n: i32) {
    let _ = (word, n);
}

/// Wakes every sleeper on `word` (in any process).
pub fn wake_all(word: &AtomicU32) {
    futex_wake(word, i32::MAX);
}

/// Wakes one sleeper on `word`.
pub fn wake_one(word: &AtomicU32) {
    futex_wake(word, 1);
}

/// Polls `ready` until it returns `Some`, sleeping on `word` between polls
/// while `word` is unchanged. Returns `None` if `timeout` (when given)
/// passes first (a timeout too large to add to the clock means no limit). `ready` must be cheap and side-effect free when it fails.
///
/// ```
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use std::time::Duration;
/// let w = AtomicU32::new(0);
/// let got = zeroipc::wait::wait_until(&w, Some(Duration::from_millis(5)), || {
///     (w.load(Ordering::Acquire) == 1).then_some(())
/// });
/// assert!(got.is_none()); // nobody set it: timed out
/// ```
#[cfg(not(loom))]
pub fn wait_until<R>(
    word: &AtomicU32,
    timeout: Option<Duration>,
    mut ready: impl FnMut() -> Option<R>,
) -> Option<R> {
    let deadline = Deadline::from_timeout(timeout);
    let backoff = Backoff::new();
    loop {
        let seen = word.load(Ordering::Acquire);
        if let Some(r) = ready() {
            return Some(r);
        }
        let mut slice = MAX_SLEEP;
        if let Some(left) = deadline.remaining() {
            if left.is_zero() {
                return None;
            }
            slice = slice.min(left);
        }
        // Spin, then sleep on the word: our wakers wake it, and a yield on
        // a busy machine can give the CPU away for a whole time slice.
        if !backoff.is_spun() {
            backoff.snooze();
            continue;
        }
        futex_wait(word, seen, slice);
    }
}

/// Like [`wait_until`] for a condition that has no 32-bit word to sleep on:
/// spins, then sleeps in short bounded steps.
#[cfg(not(loom))]
pub fn poll_until<R>(timeout: Option<Duration>, mut ready: impl FnMut() -> Option<R>) -> Option<R> {
    let deadline = Deadline::from_timeout(timeout);
    let backoff = Backoff::new();
    loop {
        if let Some(r) = ready() {
            return Some(r);
        }
        let mut slice = MAX_SLEEP;
        if let Some(left) = deadline.remaining() {
            if left.is_zero() {
                return None;
            }
            slice = slice.min(left);
        }
        backoff.snooze_at_most(slice);
    }
}

/// A busy-wait hint inside a retry loop (`std::hint::spin_loop`; loom
/// build: a yield to the model's scheduler, which is how loom bounds a spin).
#[inline]
pub(crate) fn spin_hint() {
    #[cfg(not(loom))]
    std::hint::spin_loop();
    #[cfg(loom)]
    loom::hint::spin_loop();
}

/// `std::thread::yield_now` (loom build: loom's).
#[inline]
pub(crate) fn yield_now() {
    #[cfg(not(loom))]
    std::thread::yield_now();
    #[cfg(loom)]
    loom::thread::yield_now();
}

/// `std::thread::sleep` (loom build: a yield; the model has no clock).
#[inline]
pub(crate) fn sleep(d: Duration) {
    #[cfg(not(loom))]
    std::thread::sleep(d);
    #[cfg(loom)]
    {
        let _ = d;
        loom::thread::yield_now();
    }
}

/// Loom build: waits with a timeout of at least this are modelled as
/// unbounded (only the condition ends them): they are the "peer presumed
/// dead" bounds (100 ms and more), and the model checks the protocols
/// between live parties, whose steps are never that slow. Crashed peers are
/// covered by `tests/crash_faults.rs` instead.
#[cfg(loom)]
pub const LOOM_LONG_WAIT: Duration = Duration::from_millis(50);

/// Loom build: a shorter timed wait (also one whose time is already up)
/// gives up after this many checks, with a yield between them, so the model
/// explores both its outcomes whatever the real clock says.
#[cfg(loom)]
pub const LOOM_SHORT_WAIT_CHECKS: u32 = 2;

/// Loom build of [`wait_until`]: re-checks after each yield; no clock (a
/// model execution must be deterministic), see [`LOOM_LONG_WAIT`].
#[cfg(loom)]
pub fn wait_until<R>(
    word: &AtomicU32,
    timeout: Option<Duration>,
    ready: impl FnMut() -> Option<R>,
) -> Option<R> {
    let _ = word;
    poll_until(timeout, ready)
}

/// Loom build of [`poll_until`] (see [`wait_until`]).
#[cfg(loom)]
pub fn poll_until<R>(timeout: Option<Duration>, mut ready: impl FnMut() -> Option<R>) -> Option<R> {
    let mut checks = 0u32;
    loop {
        if let Some(r) = ready() {
            return Some(r);
        }
        match timeout {
            // Zero included: whether a short deadline has passed depends on
            // the real clock, which must not steer a model execution.
            Some(t) if t < LOOM_LONG_WAIT => {
                checks += 1;
                if checks >= LOOM_SHORT_WAIT_CHECKS {
                    return None;
                }
            }
            _ => {}
        }
        loom::thread::yield_now();
    }
}

/// The elapsed milliseconds to report in a timeout error.
pub(crate) fn millis(d: Duration) -> u64 {
    d.as_millis().min(u64::MAX as u128) as u64
}

// ----- Multi-word and raw-pointer waits (issue 15, "selectstream") --------
//
// One contiguous block: [`futex_waitv`] (sleep on several words at once),
// [`wait_until_any`] (the [`wait_until`] loop over several words) and the
// pointer forms [`futex_wait_ptr`] / [`wake_all_ptr`] for the low half of a
// 64-bit position word.

/// Most words one [`futex_waitv`] sleeps on (the kernel's
/// `FUTEX_WAITV_MAX`); longer lists fall back to a bounded sleep.
pub const WAITV_MAX: usize = 128;

/// Set once the kernel answered `ENOSYS` to `futex_waitv` (Linux < 5.16):
/// later calls go straight to the bounded sleep.
#[cfg(all(target_os = "linux", not(loom)))]
static WAITV_MISSING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The kernel's `struct futex_waitv` (linux/futex.h).
#[cfg(all(target_os = "linux", not(loom)))]
#[repr(C)]
struct FutexWaitv {
    val: u64,
    uaddr: u64,
    flags: u32,
    reserved: u32,
}

/// `FUTEX2_SIZE_U32`: the words are 32 bits (shared: no `FUTEX2_PRIVATE`,
/// so the wait keys on the physical page and works across processes).
#[cfg(all(target_os = "linux", not(loom)))]
const FUTEX2_SIZE_U32: u32 = 2;

/// `SYS_futex_waitv`: 449 in the unified syscall table of every Linux
/// architecture.
#[cfg(all(target_os = "linux", not(loom)))]
const SYS_FUTEX_WAITV: libc::c_long = 449;

/// Sleeps until one of `words` may no longer hold its expected value, a
/// wake-up ([`wake_all`] / [`wake_one`]) arrives on any of them, or
/// `timeout` passes; spurious returns are allowed (callers re-check).
///
/// On Linux >= 5.16 this is one `futex_waitv` call over shared futexes, so
/// a waker in any process ends it at once. With one word it is
/// [`futex_wait`]. Without the syscall (older kernel, another platform) or
/// with more than [`WAITV_MAX`] words it sleeps at most
/// `timeout.min(MAX_SLEEP)` when every word still holds its value.
///
/// ```
/// use std::sync::atomic::AtomicU32;
/// use std::time::{Duration, Instant};
/// let (a, b) = (AtomicU32::new(1), AtomicU32::new(2));
/// let t = Instant::now();
/// // b does not hold 3: returns at once instead of sleeping for a minute.
/// zeroipc::wait::futex_waitv(&[(&a, 1), (&b, 3)], Duration::from_secs(60));
/// assert!(t.elapsed() < Duration::from_secs(30));
/// ```
#[cfg(not(loom))]
pub fn futex_waitv(words: &[(&AtomicU32, u32)], timeout: Duration) {
    match words {
        [] => sleep(timeout.min(MAX_SLEEP)),
        [(word, expected)] => futex_wait(word, *expected, timeout),
        _ => {
            #[cfg(target_os = "linux")]
            if words.len() <= WAITV_MAX
                && !WAITV_MISSING.load(std::sync::atomic::Ordering::Relaxed)
                && waitv_syscall(words, timeout)
            {
                return;
            }
            // Bounded sleep, skipped when a word already changed.
            if words
                .iter()
                .all(|(w, expected)| w.load(Ordering::Acquire) == *expected)
            {
                sleep(timeout.min(MAX_SLEEP));
            }
        }
    }
}

/// One `futex_waitv` call; false when the kernel lacks it (then remembered
/// in [`WAITV_MISSING`]) or refused the arguments, so the caller falls back.
#[cfg(all(target_os = "linux", not(loom)))]
fn waitv_syscall(words: &[(&AtomicU32, u32)], timeout: Duration) -> bool {
    let mut list = [const {
        FutexWaitv {
            val: 0,
            uaddr: 0,
            flags: 0,
            reserved: 0,
        }
    }; WAITV_MAX];
    for (slot, (word, expected)) in list.iter_mut().zip(words) {
        *slot = FutexWaitv {
            val: u64::from(*expected),
            uaddr: word.as_ptr() as usize as u64,
            flags: FUTEX2_SIZE_U32,
            reserved: 0,
        };
    }
    // futex_waitv takes an absolute CLOCK_MONOTONIC deadline.
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec on our stack.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    let nanos = now.tv_nsec as u64 + u64::from(timeout.subsec_nanos());
    let secs = (now.tv_sec as u64)
        .saturating_add(timeout.as_secs())
        .saturating_add(nanos / 1_000_000_000)
        .min(i64::MAX as u64);
    let end = libc::timespec {
        tv_sec: secs as libc::time_t,
        tv_nsec: (nanos % 1_000_000_000) as libc::c_long,
    };
    // SAFETY: the kernel reads `words.len()` (<= WAITV_MAX) entries of the
    // list on our stack and the timespec; each `uaddr` is an aligned u32
    // atomic borrowed for the duration of the call. Shared futexes key on
    // the physical page, so wakers in other processes reach us. Results:
    // >= 0 (woken), EAGAIN (a value already changed), ETIMEDOUT, EINTR all
    // mean "re-check".
    let r = unsafe {
        libc::syscall(
            SYS_FUTEX_WAITV,
            list.as_ptr(),
            words.len() as libc::c_uint,
            0 as libc::c_uint,
            &end as *const libc::timespec,
            libc::CLOCK_MONOTONIC,
        )
    };
    if r >= 0 {
        return true;
    }
    match std::io::Error::last_os_error().raw_os_error() {
        Some(libc::ENOSYS) => {
            WAITV_MISSING.store(true, std::sync::atomic::Ordering::Relaxed);
            false
        }
        Some(libc::EINVAL) | Some(libc::EFAULT) => false,
        _ => true,
    }
}

/// Loom build: a sleep is a yield to the model's scheduler.
#[cfg(loom)]
pub fn futex_waitv(words: &[(&AtomicU32, u32)], timeout: Duration) {
    let _ = (words, timeout);
    loom::thread::yield_now();
}

/// [`wait_until`] over several words: polls `ready` until it returns
/// `Some`, sleeping (one [`futex_waitv`]) on all of `words` between polls
/// while none of them changed, each sleep at most [`MAX_SLEEP`] (reference
/// peers wake nobody). Returns `None` if `timeout` (when given) passes
/// first. Each word's value is read before `ready` runs, so a change made
/// after the check ends the sleep.
///
/// ```
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use std::time::Duration;
/// let (a, b) = (AtomicU32::new(0), AtomicU32::new(0));
/// std::thread::scope(|s| {
///     s.spawn(|| {
///         b.store(7, Ordering::Release);
///         zeroipc::wait::wake_all(&b);
///     });
///     let got = zeroipc::wait::wait_until_any(&[&a, &b], Some(Duration::from_secs(20)), || {
///         let v = b.load(Ordering::Acquire);
///         (v != 0).then_some(v)
///     });
///     assert_eq!(got, Some(7));
/// });
/// assert!(zeroipc::wait::wait_until_any(&[&a], Some(Duration::from_millis(5)), || None::<()>).is_none());
/// ```
#[cfg(not(loom))]
pub fn wait_until_any<R>(
    words: &[&AtomicU32],
    timeout: Option<Duration>,
    ready: impl FnMut() -> Option<R>,
) -> Option<R> {
    wait_until_any_idle(words, timeout, ready, |_| true)
}

/// [`wait_until_any`] that sleeps on the words only when `idle(seen)` says
/// that the values `seen` (read before the failed `ready`, one per word, in
/// order) leave no change in flight that a waker may already have
/// signalled (e.g. a queue slot claimed by moving `tail` but not yet
/// published: its wake-up may come before this sleep starts and would be
/// lost, the word being already changed). Otherwise it backs off in bounded
/// steps and re-checks.
///
/// ```
/// use std::sync::atomic::AtomicU32;
/// use std::time::Duration;
/// let w = AtomicU32::new(3);
/// let mut idle_calls = 0;
/// let got = zeroipc::wait::wait_until_any_idle(
///     &[&w],
///     Some(Duration::from_millis(20)),
///     || None::<()>,
///     |seen| {
///         assert_eq!(seen, &[3]);
///         idle_calls += 1;
///         false // never sleep on the word: bounded backoff instead
///     },
/// );
/// assert!(got.is_none() && idle_calls > 0);
/// ```
#[cfg(not(loom))]
pub fn wait_until_any_idle<R>(
    words: &[&AtomicU32],
    timeout: Option<Duration>,
    mut ready: impl FnMut() -> Option<R>,
    mut idle: impl FnMut(&[u32]) -> bool,
) -> Option<R> {
    let deadline = Deadline::from_timeout(timeout);
    let backoff = Backoff::new();
    let mut seen = vec![0u32; words.len()];
    let mut pairs: Vec<(&AtomicU32, u32)> = Vec::with_capacity(words.len());
    loop {
        for (v, w) in seen.iter_mut().zip(words) {
            // SeqCst: the sleeper's load of the Dekker pairs (module docs of
            // the callers): after the caller's SeqCst count increment, so a
            // waker that missed the count changed the word before this.
            *v = w.load(Ordering::SeqCst);
        }
        if let Some(r) = ready() {
            return Some(r);
        }
        let mut slice = MAX_SLEEP;
        if let Some(left) = deadline.remaining() {
            if left.is_zero() {
                return None;
            }
            slice = slice.min(left);
        }
        // Spin, then sleep (no yield phase: see `wait_until`).
        if !backoff.is_spun() || !idle(&seen) {
            backoff.snooze_at_most(slice);
            continue;
        }
        pairs.clear();
        pairs.extend(words.iter().copied().zip(seen.iter().copied()));
        futex_waitv(&pairs, slice);
    }
}

/// Loom build of [`wait_until_any`]: [`poll_until`].
#[cfg(loom)]
pub fn wait_until_any<R>(
    words: &[&AtomicU32],
    timeout: Option<Duration>,
    ready: impl FnMut() -> Option<R>,
) -> Option<R> {
    let _ = words;
    poll_until(timeout, ready)
}

/// Loom build of [`wait_until_any_idle`]: [`poll_until`].
#[cfg(loom)]
pub fn wait_until_any_idle<R>(
    words: &[&AtomicU32],
    timeout: Option<Duration>,
    ready: impl FnMut() -> Option<R>,
    idle: impl FnMut(&[u32]) -> bool,
) -> Option<R> {
    let _ = (words, idle);
    poll_until(timeout, ready)
}
