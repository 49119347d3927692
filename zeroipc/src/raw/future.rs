//! [`RawFuture`]: the `Future` protocol over bytes, with the value's size
//! and alignment known at run time. [`crate::Future`] is a typed veneer over
//! it; tools (the inspector, the fuzz exerciser) use it directly.
//!
//! The normative layout is docs/FORMAT.md §4.5; the offsets are
//! [`crate::format::future`].
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
//! Reference defects fixed without changing bytes (docs/FORMAT.md §8.3):
//! - #22: the C++ `set_error` publishes `ERROR` *before* writing the
//!   message. Here `set_error` claims `PENDING -> COMPUTING`, writes the
//!   message and only then stores `ERROR` (release), so any reader, C++
//!   included, that sees `ERROR` reads the whole message. A C++ setter
//!   racing with us sees `COMPUTING` and its CAS fails, exactly as against
//!   a C++ `set_value`.
//! - #23: setters never proceed from `COMPUTING` (only the CAS winner writes).
//! - #25: every wait has a timed variant.
//!
//! # Opening the wrong kind
//!
//! There is no kind tag and no element-size field: open checks the entry
//! size (C++ `align_up(16 + s + 256, max(8, a))` or Python `16 + s + 256`),
//! a state in 0..=3, and that a PENDING future has no completion time (no
//! setter stores the time before leaving PENDING; a not-yet-computed Lazy's
//! operands lie at +8). What cannot be told: an entry of the right size
//! whose state word is 0..=3 and, if 0, whose bytes 8..16 are zero (a fresh
//! `Lazy` of `Constant(0)`, a computed Lazy) opens as a future; using it
//! then writes the other kind's bytes. A segment that records its
//! structures' kinds refuses it (docs/FORMAT.md §11).
//!
//! # Forms
//!
//! [`RawFuture::try_get`] never waits (`Ok(false)` while pending);
//! [`RawFuture::get_timeout`] waits at most its timeout
//! (`Duration::MAX`: no limit) and then returns [`Error::Timeout`];
//! [`RawFuture::snapshot`] copies state, value and message without
//! changing a byte. Setting never waits.

use crate::codata::{monotonic_ns, read_msg, write_msg, OPEN_SETTLE_WAIT};
use crate::describe::{check_description, Description};
use crate::error::{Error, Result};
use crate::format::future as fmt;
use crate::format::{ElemLayout, StructureKind};
use crate::region::atomic::{AtomicU32, Ordering};
use crate::region::Region;
use crate::segment::{Part, Segment};
use crate::wait::{wait_until, wake_all, Deadline};
use std::time::Duration;

const KIND: &str = "future";

/// What a tool sees of a future without waiting or changing anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FutureSnapshot {
    /// The raw state word (0 PENDING, 1 COMPUTING, 2 READY, 3 ERROR).
    pub state: u32,
    /// Readers counted as blocked (informational).
    pub waiters: u32,
    /// `completion_time` (0 while pending).
    pub completion_time: u64,
    /// The value bytes when READY, else `None`.
    pub value: Option<Vec<u8>>,
    /// The error message when ERROR, else `None`.
    pub message: Option<String>,
}

/// Decrements `waiters` when a blocking read ends (also on unwind).
struct WaiterGuard<'a>(&'a AtomicU32);

impl Drop for WaiterGuard<'_> {
    fn drop(&mut self) {
        // Informational counter only: relaxed, like the reference.
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A shared one-shot value of run-time size.
///
/// ```
/// use zeroipc::format::ElemLayout;
/// use zeroipc::raw::future::RawFuture;
/// use zeroipc::{Future, Segment};
/// let name = format!("/zeroipc-doc-rawfuture-{}", std::process::id());
/// let seg = Segment::create(&name, 1 << 16)?;
/// let f = RawFuture::create(&seg, "f", ElemLayout::new(12, 4).unwrap())?;
/// let mut out = [0u8; 12];
/// assert!(!f.try_get(&mut out)?); // pending
/// assert!(f.set_value(&[7; 12])?);
/// assert!(f.try_get(&mut out)?);
/// assert_eq!(out, [7; 12]);
/// // The typed veneer reads the same entry.
/// assert_eq!(Future::<[u32; 3]>::open(&seg, "f")?.get()?, [0x0707_0707; 3]);
/// assert!(f.set_value(&[1; 3]).is_err()); // wrong length: refused
/// Segment::unlink(&name)?;
/// # Ok::<(), zeroipc::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct RawFuture {
    region: Region,
    elem: ElemLayout,
    /// Offset of the value (cached `fmt::VALUE`).
    value_off: usize,
    /// Value size in bytes.
    size: usize,
    /// Offset of the error message.
    err_off: usize,
}

impl RawFuture {
    /// Creates a pending future named `name` for values of layout `elem`
    /// (entry size [`fmt::entry_size`], the C++ size), recorded in the
    /// segment's self-description.
    pub fn create(seg: &Segment, name: &str, elem: ElemLayout) -> Result<RawFuture> {
        let desc = Description::with_layout(StructureKind::Future, elem, 0);
        RawFuture::create_described(seg, name, elem, &desc)
    }

    /// [`RawFuture::create`] recording `desc` (the typed veneer's, with the
    /// type's fingerprint).
    pub(crate) fn create_described(
        seg: &Segment,
        name: &str,
        elem: ElemLayout,
        desc: &Description,
    ) -> Result<RawFuture> {
        let size = fmt::entry_size(elem).ok_or_else(|| Error::InvalidParameter {
            segment: seg.name().to_owned(),
            what: format!(
                "future {name:?}: a {}-byte value makes the entry size overflow",
                elem.size()
            ),
        })?;
        // A zeroed entry is PENDING with no waiters, time 0 and an empty
        // message, which is what the reference constructor stores.
        let mut regions = seg.register_described(&[Part::new(name, size)], desc, |_| Ok(()))?;
        RawFuture::from_region(regions.remove(0), elem)
    }

    /// Opens the future named `name`. `elem` is the value layout to check
    /// the entry against; `None` takes the layout the segment's
    /// self-description records, else derives it from the entry size
    /// assuming the Python form `16 + s + 256` with byte alignment (the
    /// value bytes then include the C++ form's trailing padding, at most 7
    /// bytes). A structure recorded as another kind is refused
    /// ([`Error::WrongKind`]).
    pub fn open(seg: &Segment, name: &str, elem: Option<ElemLayout>) -> Result<RawFuture> {
        let recorded = seg
            .description(name)?
            .filter(|d| d.kind == StructureKind::Future)
            .and_then(|d| d.elem);
        let expected = Description {
            elem: elem.or(recorded),
            ..Description::new(StructureKind::Future)
        };
        check_description(seg, name, &expected)?;
        let region = seg.region(name)?;
        let elem = match expected.elem {
            Some(e) => e,
            None => {
                let fixed = fmt::VALUE + fmt::ERROR_MSG_LEN;
                let len = region.len() as u64;
                let s = len.checked_sub(fixed).ok_or_else(|| {
                    region.mismatch(
                        KIND,
                        format!("entry size {len} is smaller than the {fixed} fixed bytes"),
                    )
                })?;
                ElemLayout::new(s, 1).expect("alignment 1 accepts every size")
            }
        };
        RawFuture::from_region(region, elem)
    }

    /// Validates the entry size (C++ or Python form) against `elem`, then
    /// the words (module doc, "Opening the wrong kind").
    pub(crate) fn from_region(region: Region, elem: ElemLayout) -> Result<RawFuture> {
        let cpp = fmt::entry_size(elem).unwrap_or(u64::MAX);
        let py = fmt::python_entry_size(elem).unwrap_or(u64::MAX);
        let len = region.len() as u64;
        if len != cpp && len != py {
            return Err(region.mismatch(
                KIND,
                format!(
                    "entry size {len} is neither {cpp} (C++) nor {py} (Python) for a {}-byte, \
                     {}-aligned value (wrong value type?)",
                    elem.size(),
                    elem.align()
                ),
            ));
        }
        // Both fit: they are at most `len`, which is a usize.
        let f = RawFuture {
            region,
            elem,
            value_off: fmt::VALUE as usize,
            size: elem.size() as usize,
            err_off: fmt::error_offset(elem).expect("checked by the size") as usize,
        };
        f.check_words()?;
        Ok(f)
    }

    /// Open checks: the state is 0..=3, and a PENDING future has no
    /// completion time (every setter claims the state before it stores the
    /// time). The time store of a live setter may become visible before its
    /// claim, so that one combination is re-read for up to
    /// [`OPEN_SETTLE_WAIT`].
    fn check_words(&self) -> Result<()> {
        let state = self.state_word().load(Ordering::Acquire);
        if state > fmt::ERROR {
            return Err(self.region.mismatch(
                KIND,
                format!(
                    "state word holds {state}, not PENDING/COMPUTING/READY/ERROR (0..=3): \
                     not a future, or a corrupted one"
                ),
            ));
        }
        let time = self.completion_time();
        if state != fmt::PENDING || time == 0 {
            return Ok(());
        }
        let state_word = self.state_word();
        let claimed = crate::wait::poll_until(Some(OPEN_SETTLE_WAIT), || {
            (state_word.load(Ordering::Acquire) != fmt::PENDING).then_some(())
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

    /// The entry.
    pub fn region(&self) -> &Region {
        &self.region
    }

    /// The value layout this handle was opened with.
    pub fn elem(&self) -> ElemLayout {
        self.elem
    }

    fn state_word(&self) -> &AtomicU32 {
        self.region.atomic_u32(fmt::STATE as usize)
    }

    /// The raw state word (acquire load).
    #[inline]
    pub fn state(&self) -> u32 {
        self.state_word().load(Ordering::Acquire)
    }

    /// Readers currently blocked in a get (informational).
    pub fn waiters(&self) -> u32 {
        self.region
            .atomic_u32(fmt::WAITERS as usize)
            .load(Ordering::Relaxed)
    }

    /// `completion_time` (0 while pending).
    pub fn completion_time(&self) -> u64 {
        self.region
            .atomic_u64(fmt::COMPLETION_TIME as usize)
            .load(Ordering::Relaxed)
    }

    fn check_len(&self, what: &str, len: usize) -> Result<()> {
        if len == self.size {
            return Ok(());
        }
        Err(self.region.invalid_argument(
            KIND,
            format!(
                "{what} is {len} bytes, the future's value is {} bytes",
                self.size
            ),
        ))
    }

    /// Claims the future for setting: PENDING -> COMPUTING.
    #[inline]
    fn claim(&self) -> bool {
        // Acquire on success: the value/message writes that follow cannot be
        // hoisted above the claim, so no reader-visible state (READY/ERROR)
        // is published before we own the slot. Strong CAS: a spurious
        // failure would wrongly report "already set".
        self.state_word()
            .compare_exchange(
                fmt::PENDING,
                fmt::COMPUTING,
                Ordering::Acquire,
                Ordering::Relaxed,
            )
            .is_ok()
    }

    /// Stores the completion time and publishes `state`, then wakes waiters.
    #[inline]
    fn publish(&self, state: u32) {
        self.region
            .atomic_u64(fmt::COMPLETION_TIME as usize)
            .store(monotonic_ns(), Ordering::Relaxed);
        // Release: orders the value/message and time writes above before the
        // terminal state; readers acquire-load the state before reading them.
        self.state_word().store(state, Ordering::Release);
        wake_all(self.state_word());
    }

    /// Completes the future with the value `src` (exactly the value's
    /// size, else [`Error::InvalidArgument`] and nothing written). `Ok(false)`
    /// (and nothing written) if it was already completed or is being
    /// completed by another setter.
    #[inline]
    pub fn set_value(&self, src: &[u8]) -> Result<bool> {
        self.check_len("the value given", src.len())?;
        if !self.claim() {
            return Ok(false);
        }
        self.region.write_bytes(self.value_off, src);
        self.publish(fmt::READY);
        Ok(true)
    }

    /// Completes the future with an error message (UTF-8, cut to 255 bytes
    /// at a character boundary), written before `ERROR` is visible. False
    /// if the future was already claimed.
    pub fn set_error(&self, msg: &str) -> bool {
        if !self.claim() {
            return false;
        }
        write_msg(&self.region, self.err_off, msg);
        self.publish(fmt::ERROR);
        true
    }

    fn failed(&self) -> Error {
        Error::Failed {
            name: self.region.name().to_owned(),
            kind: KIND,
            message: read_msg(&self.region, self.err_off),
        }
    }

    /// The outcome if the future is complete: `Some(Ok(()))` with the value
    /// copied into `out` (whose length the caller checked),
    /// `Some(Err(Failed))`, `None` while pending/computing,
    /// `Some(Err(mismatch))` for a state no implementation writes.
    #[inline]
    pub(crate) fn outcome(&self, out: &mut [u8]) -> Option<Result<()>> {
        match self.state() {
            // Acquire above pairs with the setter's release store of READY:
            // the value is complete, and READY is terminal, so it is stable.
            fmt::READY => {
                self.region.read_bytes(self.value_off, out);
                Some(Ok(()))
            }
            fmt::ERROR => Some(Err(self.failed())),
            fmt::PENDING | fmt::COMPUTING => None,
            other => Some(Err(self
                .region
                .mismatch(KIND, format!("state word holds {other}, not 0..=3")))),
        }
    }

    /// Copies the value into `out` if it is ready: `Ok(true)`; `Ok(false)`
    /// while pending; [`Error::Failed`] if the producer stored an error.
    pub fn try_get(&self, out: &mut [u8]) -> Result<bool> {
        self.check_len("the output buffer", out.len())?;
        self.outcome(out).transpose().map(|r| r.is_some())
    }

    /// Waits until the future completes (forever, or until `deadline`:
    /// [`Error::Timeout`]) and copies the value into `out` (length checked
    /// by the caller).
    pub(crate) fn get_until(&self, out: &mut [u8], deadline: &Deadline) -> Result<()> {
        if let Some(r) = self.outcome(out) {
            return r;
        }
        let waiters = self.region.atomic_u32(fmt::WAITERS as usize);
        waiters.fetch_add(1, Ordering::Relaxed);
        let _guard = WaiterGuard(waiters);
        let state = self.state_word();
        // Wait for a terminal state, then copy once (the copy is not a
        // cheap side-effect-free check, so it stays out of the predicate).
        let done = wait_until(state, deadline.remaining(), || {
            (!matches!(state.load(Ordering::Acquire), fmt::PENDING | fmt::COMPUTING)).then_some(())
        });
        match done {
            Some(()) => self.outcome(out).expect("terminal states stay terminal"),
            None => Err(deadline.timeout(&self.region, KIND)),
        }
    }

    /// Waits for the value (at most `timeout`; `Duration::MAX`: no limit) and copies it into
    /// `out`; [`Error::Failed`] or [`Error::Timeout`].
    pub fn get_timeout(&self, out: &mut [u8], timeout: Duration) -> Result<()> {
        self.check_len("the output buffer", out.len())?;
        self.get_until(out, &Deadline::after(timeout))
    }

    /// The error message if the future completed with an error.
    pub fn error_message(&self) -> Option<String> {
        (self.state() == fmt::ERROR).then(|| read_msg(&self.region, self.err_off))
    }

    /// State, counters, and the value or message: what a tool shows.
    pub fn snapshot(&self) -> FutureSnapshot {
        let state = self.state();
        let value = (state == fmt::READY).then(|| {
            let mut v = vec![0u8; self.size];
            self.region.read_bytes(self.value_off, &mut v);
            v
        });
        FutureSnapshot {
            state,
            waiters: self.waiters(),
            completion_time: self.completion_time(),
            value,
            message: self.error_message(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codata::testutil::seg;
    use crate::Future;

    #[test]
    fn runtime_sizes_interoperate_with_the_typed_veneer() {
        let t = seg("rawfut");
        for (size, align) in [(3u64, 1u64), (12, 4), (40, 8)] {
            let name = format!("f{size}");
            let elem = ElemLayout::new(size, align).unwrap();
            let f = RawFuture::create(&t.1, &name, elem).unwrap();
            assert_eq!(f.region().len() as u64, fmt::entry_size(elem).unwrap());
            let bytes: Vec<u8> = (0..size as u8).collect();
            assert!(f.set_value(&bytes).unwrap());
            let snap = f.snapshot();
            assert_eq!(snap.state, fmt::READY);
            assert_eq!(snap.value.as_deref(), Some(&bytes[..]));
            assert_ne!(snap.completion_time, 0);
            // Opened without a layout: at least the value's bytes come first.
            let g = RawFuture::open(&t.1, &name, None).unwrap();
            assert_eq!(&g.snapshot().value.unwrap()[..size as usize], &bytes[..]);
        }
        let typed = Future::<[u8; 3]>::open(&t.1, "f3").unwrap();
        assert_eq!(typed.get().unwrap(), [0, 1, 2]);
        let typed = Future::<[u32; 3]>::create(&t.1, "typed").unwrap();
        assert!(typed.set_error("no"));
        let raw = RawFuture::open(&t.1, "typed", Some(ElemLayout::of::<[u32; 3]>())).unwrap();
        let mut out = [0u8; 12];
        assert!(
            matches!(raw.try_get(&mut out), Err(Error::Failed { message, .. }) if message == "no")
        );
        assert_eq!(raw.snapshot().message.as_deref(), Some("no"));
    }

    #[test]
    fn wrong_lengths_are_refused_and_change_nothing() {
        let t = seg("rawfutlen");
        let f = RawFuture::create(&t.1, "f", ElemLayout::new(12, 4).unwrap()).unwrap();
        let e = f.set_value(&[0; 11]).unwrap_err();
        assert!(matches!(e, Error::InvalidArgument { .. }), "{e}");
        assert!(
            e.to_string().contains("11 bytes") && e.to_string().contains("12 bytes"),
            "{e}"
        );
        assert_eq!(f.state(), fmt::PENDING);
        let mut out = [0u8; 13];
        assert!(f.try_get(&mut out).is_err());
        assert!(f.get_timeout(&mut out, Duration::ZERO).is_err());
        assert!(RawFuture::open(&t.1, "f", Some(ElemLayout::new(64, 8).unwrap())).is_err());
    }

    #[test]
    fn timed_get_times_out_then_reads() {
        let t = seg("rawfutwait");
        let f = RawFuture::create(&t.1, "f", ElemLayout::of::<u64>()).unwrap();
        let mut out = [0u8; 8];
        let e = f
            .get_timeout(&mut out, Duration::from_millis(5))
            .unwrap_err();
        assert!(matches!(e, Error::Timeout { .. }), "{e}");
        assert_eq!(f.waiters(), 0);
        let g = f.clone();
        let h = std::thread::spawn(move || {
            let mut out = [0u8; 8];
            g.get_timeout(&mut out, Duration::from_secs(20))
                .map(|()| out)
        });
        assert!(f.set_value(&9u64.to_le_bytes()).unwrap());
        assert_eq!(h.join().unwrap().unwrap(), 9u64.to_le_bytes());
    }
}
