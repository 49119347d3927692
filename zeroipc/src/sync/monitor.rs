//! `Monitor`: a mutex with a condition, across processes.
//!
//! The normative layout is docs/FORMAT.md §3.11; the offsets and part
//! suffixes are [`zeroipc::format::monitor`](crate::format::monitor).
//! Entries, in creation order: `name_mtx` (a [`Mutex`]), `name_cond` (a
//! [`Semaphore`] with count 0 and max_count 0), `name_count` (4 bytes: the
//! number of waiters, atomic u32), and `name`, a 1-byte marker never read or
//! written.
//!
//! Forms (docs/ARCHITECTURE.md §Conventions):
//!
//! | plain | `try_` (never waits) | `_timeout` |
//! |---|---|---|
//! | [`Monitor::lock`] | [`Monitor::try_lock`]: `Ok(None)` held, nothing changed | [`Monitor::lock_timeout`] |
//! | [`MonitorGuard::wait`] | [`MonitorGuard::try_wait`]: takes a notification only if one is pending, keeps the lock | [`MonitorGuard::wait_timeout`] |
//!
//! [`Monitor::notify_one`] and [`Monitor::notify_all`] do not wait for a
//! condition (their hand-over wait is bounded by [`NOTIFY_HANDSHAKE`]) and
//! return a `Result` like every call of the kind.
//!
//! Protocol seen by a reference peer (C++ `monitor.h`): wait = `count +=
//! 1`; unlock the mutex; take a `cond` permit; lock the mutex; `count -= 1`.
//! notify_one gives a permit when someone waits; notify_all gives one per
//! counted waiter. A waiter registers in `count` before it lets go of the
//! mutex, so a notifier that changed the predicate under the mutex and then
//! reads `count` sees it.
//!
//! That protocol loses wake-ups: permits are anonymous, so a waiter that
//! registers after a notify can take the permit meant for an earlier waiter,
//! which then sleeps on (the classic flaw of semaphore-built condition
//! variables, A. Birrell, "Implementing Condition Variables with
//! Semaphores", 2003). The reference hides it behind piling-up stale permits
//! (docs/FORMAT.md §8.3 #35), which cause spurious wake-ups instead. The format has
//! no ticket field, so ours fixes it with Birrell's handshake plus bounds,
//! all on the same bytes:
//!
//! - Our waiter decrements `count` as soon as it has its permit (or gives
//!   up), before re-locking; so `count` is the number of waiters still owed
//!   a permit. (The reference decrements after re-locking; the value a
//!   reference notifier reads is only smaller, never wrong.)
//! - notify_one adds a permit only while `cond.count < count`; notify_all
//!   raises `cond.count` to `count`: pending permits never exceed the
//!   waiters owed one, so stale permits cannot pile up.
//! - Handshake: after giving permits, the notifier waits until they have
//!   been taken (`cond.count` back to what was left over, or no counted
//!   waiter left), for at most [`NOTIFY_HANDSHAKE`]. When the notifier holds
//!   the monitor, as it should, no new waiter can register meanwhile, so the
//!   permits go to the waiters they were meant for.
//! - Backstop: a waiter that got no permit within [`WAIT_SLICE`] returns
//!   anyway (a spurious wake-up, allowed for any condition variable). This
//!   bounds the harm of the cases the handshake cannot cover: a reference
//!   notifier (no handshake), a notify made without holding the monitor, a
//!   handshake that ran out of time.
//!
//! So waits may wake spuriously: always wait in a loop that re-checks the
//! predicate under the monitor. With a reference waiter in the monitor, a
//! notify may give it a permit it no longer needs (it stays counted until
//! it re-locks) and then spend the whole handshake bound: correct, slower.
//!
//! After a crash: a process dead while holding the monitor leaves its mutex
//! locked (as [`Mutex`]): `lock` blocks, `lock_timeout` and `wait_timeout`
//! time out. A waiter dead inside `wait` stays counted in `count`: each
//! later notify that gives permits then spends its full
//! [`NOTIFY_HANDSHAKE`] (10 ms) waiting for it, and leaves one spare
//! permit, which causes one spurious wake-up.

use super::mutex::Mutex;
use super::semaphore::Semaphore;
use super::{create_parts, expect_size, open_parts, timeout_as, Deadline};
use crate::error::Result;
use crate::format::monitor::{COUNT_SIZE, WAITERS};
use crate::format::semaphore::UNBOUNDED;
use crate::format::StructureKind;
use crate::region::atomic::{AtomicU32, Ordering};
use crate::region::Region;
use crate::segment::Segment;
use std::time::Duration;

const KIND: &str = StructureKind::Monitor.name();

/// Longest a notify waits for the waiters it woke to take their permits.
pub const NOTIFY_HANDSHAKE: Duration = Duration::from_millis(10);

/// Longest a waiter sleeps before returning spuriously (see module docs).
pub const WAIT_SLICE: Duration = Duration::from_millis(50);

/// A process-shared monitor (mutex + condition).
///
/// ```
/// use std::time::Duration;
/// use zeroipc::{Array, Monitor, Segment};
/// let name = format!("/zeroipc-doc-monitor-{}", std::process::id());
/// let seg = Segment::create(&name, 1 << 16)?;
/// let mon = Monitor::create(&seg, "mon")?;
/// let flag = Array::<u32>::create(&seg, "flag", 1)?;
/// let setter = {
///     let seg = seg.clone();
///     std::thread::spawn(move || -> zeroipc::Result<()> {
///         let mon = Monitor::open(&seg, "mon")?;
///         let flag = Array::<u32>::open(&seg, "flag")?;
///         let _g = mon.lock()?;
///         flag.set(0, 1)?;
///         mon.notify_all()?;
///         Ok(())
///     })
/// };
/// let mut g = mon.lock()?;
/// while flag.get(0)? == 0 {
///     g = g.wait_timeout(Duration::from_secs(10))?;
/// }
/// drop(g);
/// setter.join().unwrap()?;
/// Segment::unlink(&name)?;
/// # Ok::<(), zeroipc::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Monitor {
    /// The name the caller created/opened (the marker entry), for errors.
    name: String,
    mtx: Mutex,
    cond: Semaphore,
    count: Region,
}

/// Holds a [`Monitor`]'s lock; unlocks on drop. Lives in the process that
/// took it.
#[must_use = "the monitor unlocks as soon as the guard is dropped"]
#[derive(Debug)]
pub struct MonitorGuard<'a> {
    monitor: &'a Monitor,
}

impl Monitor {
    /// Creates `name_mtx`, `name_cond`, `name_count` and the marker `name`
    /// (all names checked before anything is allocated).
    pub fn create(seg: &Segment, name: &str) -> Result<Monitor> {
        let [mtx, cond, count, _marker] = create_parts(seg, name, StructureKind::Monitor, |r| {
            Mutex::init_region(&r[0]);
            Semaphore::init_region(&r[1], 0, UNBOUNDED);
            Ok(())
        })?;
        Self::from_regions(name, mtx, cond, count)
    }

    /// Opens the monitor `name`: finds the marker and the three parts and
    /// validates each.
    pub fn open(seg: &Segment, name: &str) -> Result<Monitor> {
        let [mtx, cond, count, _marker] = open_parts(seg, name, StructureKind::Monitor)?;
        Self::from_regions(name, mtx, cond, count)
    }

    fn from_regions(name: &str, mtx: Region, cond: Region, count: Region) -> Result<Monitor> {
        let mtx = Mutex::from_region(mtx)?;
        let cond = Semaphore::from_region(cond)?;
        if cond.max_count() != UNBOUNDED {
            return Err(cond.region().mismatch(
                KIND,
                format!(
                    "the condition semaphore has max_count {}, expected {UNBOUNDED}",
                    cond.max_count()
                ),
            ));
        }
        expect_size(&count, KIND, COUNT_SIZE as usize)?;
        Ok(Monitor {
            name: name.to_owned(),
            mtx,
            cond,
            count,
        })
    }

    fn count_word(&self) -> &AtomicU32 {
        self.count.atomic_u32(WAITERS as usize)
    }

    /// Locks the monitor, waiting as long as it takes.
    pub fn lock(&self) -> Result<MonitorGuard<'_>> {
        self.lock_until(&Deadline::forever())?;
        Ok(MonitorGuard { monitor: self })
    }

    /// Locks the monitor, or [`crate::Error::Timeout`] after `timeout`.
    pub fn lock_timeout(&self, timeout: Duration) -> Result<MonitorGuard<'_>> {
        self.lock_until(&Deadline::after(timeout))?;
        Ok(MonitorGuard { monitor: self })
    }

    /// Takes the monitor's mutex within `deadline`; a timeout names the
    /// monitor, not its `name_mtx` part.
    fn lock_until(&self, deadline: &Deadline) -> Result<()> {
        self.mtx
            .lock_until(deadline)
            .map_err(|e| timeout_as(e, &self.name, KIND))
    }

    /// Locks the monitor if it is free now, never waiting:
    /// `Ok(Some(guard))` took it, `Ok(None)` someone holds it (nothing
    /// changed).
    pub fn try_lock(&self) -> Result<Option<MonitorGuard<'_>>> {
        // `then`, not `then_some`: the guard's Drop unlocks, so it must be
        // built only when the lock was taken.
        Ok(self
            .mtx
            .try_lock_raw()
            .then(|| MonitorGuard { monitor: self }))
    }

    /// Wakes one waiter, if any is owed a wake-up. Call it while holding
    /// the monitor, after changing the predicate; it may wait up to
    /// [`NOTIFY_HANDSHAKE`] for the woken waiter to take its permit (a
    /// hand-over that runs out of time is not an error: see the module
    /// docs). No error is possible today (the `Result` is the kind's
    /// convention).
    pub fn notify_one(&self) -> Result<()> {
        let owed = self.waiters_i32();
        if owed == 0 {
            return Ok(());
        }
        let before = self.cond.count();
        if self.cond.release_below(owed) {
            self.handshake(before.max(0));
        }
        Ok(())
    }

    /// Wakes every waiter owed a wake-up (same conditions as
    /// [`Monitor::notify_one`]).
    pub fn notify_all(&self) -> Result<()> {
        let owed = self.waiters_i32();
        if owed == 0 {
            return Ok(());
        }
        // Raised to exactly `owed`: the `owed` waiters each take one. (If
        // enough permits were pending already, nothing new was given and
        // there is nothing to hand over.)
        if self.cond.raise_to(owed) {
            self.handshake(0);
        }
        Ok(())
    }

    /// Waits (bounded) until the condition permits are down to `left` or
    /// no waiter is owed one any more. Waiters wake us from `leave`.
    fn handshake(&self, left: i32) {
        let _ = crate::wait::wait_until(self.count_word(), Some(NOTIFY_HANDSHAKE), || {
            (self.cond.count() <= left || self.waiters() == 0).then_some(())
        });
    }

    fn waiters_i32(&self) -> i32 {
        i32::try_from(self.waiters()).unwrap_or(i32::MAX)
    }

    /// Waiters counted now (a snapshot; includes reference peers).
    pub fn waiters(&self) -> u32 {
        self.count_word().load(Ordering::SeqCst)
    }

    /// True while someone holds the monitor's lock (a snapshot).
    pub fn is_locked(&self) -> bool {
        self.mtx.is_locked()
    }

    /// The monitor's mutex (`name_mtx`).
    pub fn mutex(&self) -> &Mutex {
        &self.mtx
    }

    /// The condition semaphore (`name_cond`).
    pub fn condition(&self) -> &Semaphore {
        &self.cond
    }

    /// `count -= 1` (saturating: a hostile 0 must not wrap), then wake a
    /// notifier waiting in `handshake`.
    fn leave(&self) {
        let _ = self
            .count_word()
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |c| c.checked_sub(1));
        crate::wait::wake_all(self.count_word());
    }

    /// Takes one condition permit that no counted waiter is owed; true if
    /// one was taken. Called with the monitor held, so no waiter can
    /// register meanwhile (registration happens under the lock).
    fn take_pending_notification(&self) -> bool {
        // The owed count first: while we hold the monitor it can only fall
        // (waiters leaving), and a waiter takes its permit before it leaves,
        // so reading it before the permits can only under-count the spare
        // ones (we never take a permit a waiter is owed). SeqCst, as every
        // access to these words.
        let owed = self.waiters_i32();
        self.cond.take_permit_above(owed)
    }

    fn wait_until(&self, deadline: &Deadline) -> Result<()> {
        // Register before letting go of the mutex (SeqCst: a notifier that
        // takes the mutex after us reads the raised count).
        self.count_word().fetch_add(1, Ordering::SeqCst);
        self.mtx.unlock_raw();
        // A permit, or a spurious return after WAIT_SLICE (backstop).
        let got = self.cond.acquire_until(&deadline.capped(WAIT_SLICE));
        // Owed nothing any more, whether we got a permit or gave up.
        self.leave();
        if got.is_err() && deadline.expired() {
            return Err(deadline.timeout_named(&self.name, KIND));
        }
        self.lock_until(deadline)
    }
}

impl<'a> MonitorGuard<'a> {
    /// Unlocks, waits for a notification, and locks again. May wake
    /// spuriously: re-check the predicate in a loop.
    pub fn wait(self) -> Result<MonitorGuard<'a>> {
        self.wait_deadline(&Deadline::forever())
    }

    /// As [`MonitorGuard::wait`], bounded by `timeout` (for the notification
    /// and the re-lock together). On [`crate::Error::Timeout`] the monitor is
    /// NOT held any more (the guard is gone).
    pub fn wait_timeout(self, timeout: Duration) -> Result<MonitorGuard<'a>> {
        self.wait_deadline(&Deadline::after(timeout))
    }

    /// The wait that never waits: takes a notification only if one is
    /// pending now, and never lets go of the monitor. `Ok(true)`: a pending
    /// notification was consumed (as a wait that returned at once would
    /// have), `Ok(false)`: none is pending, nothing changed. A notification
    /// is pending when the condition semaphore holds more permits than
    /// there are counted waiters owed one; our notifiers give permits only
    /// to counted waiters, so one is pending only when nobody took it (a
    /// waiter that gave up or died, or a reference notifier's spare permit).
    ///
    /// ```
    /// use zeroipc::{Monitor, Segment};
    /// let name = format!("/zeroipc-doc-monitor-try-wait-{}", std::process::id());
    /// let seg = Segment::create(&name, 1 << 16)?;
    /// let mon = Monitor::create(&seg, "mon")?;
    /// let g = mon.lock()?;
    /// assert!(!g.try_wait()?); // nothing pending: nothing changed, still held
    /// assert!(mon.is_locked());
    /// mon.condition().release()?; // a spare permit, as a reference notifier leaves one
    /// assert!(g.try_wait()?); // consumed without letting go of the lock
    /// assert_eq!(mon.condition().count(), 0);
    /// drop(g);
    /// Segment::unlink(&name)?;
    /// # Ok::<(), zeroipc::Error>(())
    /// ```
    pub fn try_wait(&self) -> Result<bool> {
        Ok(self.monitor.take_pending_notification())
    }

    fn wait_deadline(self, deadline: &Deadline) -> Result<MonitorGuard<'a>> {
        let monitor = self.monitor;
        // The wait unlocks (and on success re-locks) itself: the guard must
        // not unlock again on drop.
        std::mem::forget(self);
        monitor.wait_until(deadline)?;
        Ok(MonitorGuard { monitor })
    }

    /// The monitor this guard holds.
    pub fn monitor(&self) -> &Monitor {
        self.monitor
    }
}

impl Drop for MonitorGuard<'_> {
    fn drop(&mut self) {
        self.monitor.mtx.unlock_raw();
    }
}
