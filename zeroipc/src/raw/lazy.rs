//! [`RawLazy`]: the `Lazy` protocol over bytes, the value's primitive type
//! ([`Prim`]) chosen at run time. [`crate::Lazy`] is a typed veneer over it.
//!
//! The normative layout is docs/FORMAT.md §4.6 (the C++ reference's generic
//! `Lazy<T>`); the offsets are [`crate::format::lazy`]. Values are integer
//! or float primitives only (the operations are arithmetic); integer
//! arithmetic wraps (what the C++ reference produces in practice), so every
//! process computes the same bits. The arithmetic is one small dispatch on
//! the [`Prim`] ([`compute`]).
//!
//! # Protocol
//!
//! `force`: a process that sees `NOT_COMPUTED` claims it with
//! `CAS(NOT_COMPUTED -> COMPUTING)`, computes from the operation record,
//! writes `cached_value`, increments `compute_count`, and publishes
//! `COMPUTED` with a release store (then wakes sleepers); on an operation it
//! cannot compute (CHAIN, EXTERNAL, unknown) it writes the message first and
//! then stores `ERROR`. Others that see `COMPUTING` wait (spin, then bounded
//! futex sleeps on the state word) and re-examine. `reset` is
//! `CAS(COMPUTED -> NOT_COMPUTED)`, as in the reference.
//!
//! Difference from the reference, invisible in the final bytes: the
//! reference increments `compute_count` *after* storing `COMPUTED`; we do it
//! just before, so that a reader can detect that `cached_value` was being
//! rewritten (after a `reset`) while it copied it: a read is accepted only
//! if the state is `COMPUTED` and `compute_count` is unchanged around the
//! copy (a seqlock whose version is `(state, compute_count)`). A C++
//! recomputing peer increments after publishing, which leaves a tiny window
//! where such a torn read is not detected (irrelevant for aligned values of
//! at most 8 bytes on x86-64, which are copied in one access).
//!
//! Reference defect fixed (docs/FORMAT.md §8.3 #26): `add`/`multiply`
//! register the entry and only later write the operands, so a peer can force
//! `0 + 0` and cache it. Here the operands are written by the
//! registration's init closure, before the entry is published.
//!
//! # Opening the wrong kind
//!
//! There is no kind tag and no element-size field: open checks the entry
//! size, which a `Lazy<i32>` shares with a C++ `Future<u32>` (280 bytes).
//! Open also refuses a state outside 0..=3, an operation type outside
//! 0..=5, and a COMPUTED `CONSTANT` whose cached bytes differ from its
//! constant (every writer caches the constant itself; a ready Future's
//! completion time and value lie there). What cannot be told: an entry of
//! the right size whose words pass these checks (a pending Future with
//! fewer than 6 waiters reads as a not-yet-computed constant) opens as a
//! lazy value, and forcing it then writes the other kind's bytes. A
//! segment that records its structures' kinds refuses it (docs/FORMAT.md
//! §11).
//!
//! # Forms
//!
//! [`RawLazy::peek`] never computes or waits; [`RawLazy::force_timeout`]
//! computes or waits for another process's computation at most its
//! timeout (`Duration::MAX`: no limit); [`RawLazy::snapshot`] copies the
//! record, the cached value and the message without changing a byte.

use crate::codata::lazy::{Arithmetic, LazyOp};
use crate::codata::{read_msg, write_msg, OPEN_SETTLE_WAIT};
use crate::describe::{check_description, Description};
use crate::element::{bytes_of, from_bytes};
use crate::error::{Error, Result};
use crate::format::lazy::{self as fmt, LazyLayout};
use crate::format::{ElemLayout, StructureKind};
use crate::layout::Prim;
use crate::region::atomic::{fence, AtomicU32, Ordering};
use crate::region::Region;
use crate::segment::{Part, Segment};
use crate::wait::{wait_until, wake_all, Deadline};
use std::time::Duration;

const KIND: &str = "lazy";

/// Largest primitive, in bytes: the size of the stack buffers.
const MAX_PRIM: usize = 8;

/// What a tool sees of a lazy value without computing or changing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LazySnapshot {
    /// The raw state word (0 NOT_COMPUTED, 1 COMPUTING, 2 COMPUTED, 3 ERROR).
    pub state: u32,
    /// The operation record, operands as bytes.
    pub op: LazyOp<Vec<u8>>,
    /// `cached_value` when COMPUTED and not being rewritten, else `None`.
    pub cached: Option<Vec<u8>>,
    /// `compute_count`.
    pub compute_count: u32,
    /// The error message when ERROR.
    pub message: Option<String>,
}

/// `op(a, b)` on values of primitive type `prim` (little-endian bytes of
/// `prim.size()`; `b` is ignored by NEGATE and CONSTANT), into `out`. The
/// one run-time dispatch of the arithmetic; `Err` with the reason for an
/// operation that cannot be computed.
///
/// ```
/// use zeroipc::format::lazy::{OP_ADD, OP_CHAIN, OP_NEGATE};
/// use zeroipc::layout::Prim;
/// use zeroipc::raw::lazy::compute;
/// let mut out = [0u8; 4];
/// compute(Prim::I32, OP_ADD, &i32::MAX.to_le_bytes(), &1i32.to_le_bytes(), &mut out).unwrap();
/// assert_eq!(i32::from_le_bytes(out), i32::MIN); // wraps
/// compute(Prim::F32, OP_NEGATE, &1.5f32.to_le_bytes(), &[], &mut out).unwrap();
/// assert_eq!(f32::from_le_bytes(out), -1.5);
/// assert!(compute(Prim::U8, OP_CHAIN, &[1], &[2], &mut [0]).is_err());
/// ```
pub fn compute(
    prim: Prim,
    op_type: u32,
    a: &[u8],
    b: &[u8],
    out: &mut [u8],
) -> std::result::Result<(), String> {
    fn go<T: Arithmetic>(
        op_type: u32,
        a: &[u8],
        b: &[u8],
        out: &mut [u8],
    ) -> std::result::Result<(), String> {
        let size = size_of::<T>();
        let value = |bytes: &[u8], which: &str| {
            from_bytes::<T>(bytes).ok_or_else(|| {
                format!(
                    "operand {which} is {} bytes, a {} is {size}",
                    bytes.len(),
                    T::PRIM.rust_name()
                )
            })
        };
        let r = match op_type {
            fmt::OP_CONSTANT => value(a, "a")?,
            fmt::OP_ADD => value(a, "a")?.lazy_add(value(b, "b")?),
            fmt::OP_MULTIPLY => value(a, "a")?.lazy_mul(value(b, "b")?),
            fmt::OP_NEGATE => value(a, "a")?.lazy_neg(),
            fmt::OP_CHAIN => return Err("CHAIN operations cannot be computed".to_owned()),
            fmt::OP_EXTERNAL => {
                return Err(
                    "EXTERNAL computation: the function lives in another process".to_owned(),
                )
            }
            t => return Err(format!("unknown operation type {t}")),
        };
        if out.len() != size {
            return Err(format!(
                "output is {} bytes, a {} is {size}",
                out.len(),
                T::PRIM.rust_name()
            ));
        }
        out.copy_from_slice(bytes_of(&r));
        Ok(())
    }
    match prim {
        Prim::U8 => go::<u8>(op_type, a, b, out),
        Prim::U16 => go::<u16>(op_type, a, b, out),
        Prim::U32 => go::<u32>(op_type, a, b, out),
        Prim::U64 => go::<u64>(op_type, a, b, out),
        Prim::I8 => go::<i8>(op_type, a, b, out),
        Prim::I16 => go::<i16>(op_type, a, b, out),
        Prim::I32 => go::<i32>(op_type, a, b, out),
        Prim::I64 => go::<i64>(op_type, a, b, out),
        Prim::F32 => go::<f32>(op_type, a, b, out),
        Prim::F64 => go::<f64>(op_type, a, b, out),
    }
}

/// The element layout of a primitive.
fn prim_layout(prim: Prim) -> ElemLayout {
    let s = prim.size() as u64;
    ElemLayout::new(s, s).expect("a primitive's size is its power-of-two alignment")
}

/// A shared, computed-once primitive value whose type is known at run time.
///
/// ```
/// use std::time::Duration;
/// use zeroipc::layout::Prim;
/// use zeroipc::raw::lazy::RawLazy;
/// use zeroipc::{Lazy, LazyOp, Segment};
/// let name = format!("/zeroipc-doc-rawlazy-{}", std::process::id());
/// let seg = Segment::create(&name, 1 << 16)?;
/// let (a, b) = (40i16.to_le_bytes(), 2i16.to_le_bytes());
/// let sum = RawLazy::create(&seg, "sum", Prim::I16, LazyOp::Add(&a[..], &b[..]))?;
/// let mut out = [0u8; 2];
/// assert!(!sum.peek(&mut out)?); // not computed yet
/// sum.force_timeout(&mut out, Duration::MAX)?;
/// assert_eq!(i16::from_le_bytes(out), 42);
/// // The typed veneer reads the same entry.
/// assert_eq!(Lazy::<i16>::open(&seg, "sum")?.peek(), Some(42));
/// assert!(sum.force_timeout(&mut [0u8; 4], Duration::MAX).is_err()); // wrong length
/// Segment::unlink(&name)?;
/// # Ok::<(), zeroipc::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct RawLazy {
    region: Region,
    prim: Prim,
    l: LazyLayout,
    size: usize,
}

impl RawLazy {
    /// Creates a lazy value named `name` of type `prim` for `op` (operands
    /// as little-endian bytes of `prim.size()`): a `Constant` is stored
    /// already COMPUTED (the reference's constant constructor), Add,
    /// Multiply and Negate NOT_COMPUTED with their operands, written before
    /// the entry becomes visible. Chain/External/Unknown are refused.
    pub fn create(seg: &Segment, name: &str, prim: Prim, op: LazyOp<&[u8]>) -> Result<RawLazy> {
        RawLazy::register(seg, name, prim, op, true)
    }

    /// Like [`RawLazy::create`], but a `Constant` too is stored
    /// NOT_COMPUTED (it is copied to the cache on the first force).
    pub fn create_deferred(
        seg: &Segment,
        name: &str,
        prim: Prim,
        op: LazyOp<&[u8]>,
    ) -> Result<RawLazy> {
        RawLazy::register(seg, name, prim, op, false)
    }

    pub(crate) fn register(
        seg: &Segment,
        name: &str,
        prim: Prim,
        op: LazyOp<&[u8]>,
        computed_constant: bool,
    ) -> Result<RawLazy> {
        let bad = |what: String| Error::InvalidArgument {
            segment: seg.name().to_owned(),
            name: name.to_owned(),
            kind: KIND,
            detail: what,
        };
        let (ty, a, b) = match op {
            LazyOp::Constant(v) => (fmt::OP_CONSTANT, Some(v), None),
            LazyOp::Add(x, y) => (fmt::OP_ADD, Some(x), Some(y)),
            LazyOp::Multiply(x, y) => (fmt::OP_MULTIPLY, Some(x), Some(y)),
            LazyOp::Negate(x) => (fmt::OP_NEGATE, Some(x), None),
            LazyOp::Chain(..) | LazyOp::External(_) | LazyOp::Unknown(_) => {
                return Err(Error::InvalidParameter {
                    segment: seg.name().to_owned(),
                    what: format!(
                        "lazy {name:?}: {op:?} cannot be computed, refusing to create it"
                    ),
                })
            }
        };
        for (which, v) in [("a", a), ("b", b)] {
            if let Some(v) = v.filter(|v| v.len() != prim.size()) {
                return Err(bad(format!(
                    "operand {which} is {} bytes, a {} is {}",
                    v.len(),
                    prim.rust_name(),
                    prim.size()
                )));
            }
        }
        let l = fmt::layout(prim_layout(prim)).expect("a primitive's layout fits");
        let parts = [Part::new(name, l.total)];
        let desc = RawLazy::description(prim);
        let mut regions = seg.register_described(&parts, &desc, |r| {
            let r = &r[0];
            r.write::<u32>(l.op_type as usize, ty);
            if let Some(a) = a {
                r.write_bytes(l.data as usize, a);
            }
            if let Some(b) = b {
                r.write_bytes(l.data_b as usize, b);
            }
            if let (true, Some(a), fmt::OP_CONSTANT) = (computed_constant, a, ty) {
                r.write_bytes(l.cached as usize, a);
                // Not yet visible to anyone: the entry is published after init.
                r.atomic_u32(fmt::STATE as usize)
                    .store(fmt::COMPUTED, Ordering::Relaxed);
            }
            Ok(())
        })?;
        RawLazy::from_region(regions.remove(0), prim)
    }

    /// Opens the lazy value named `name` holding a `prim`, checking its
    /// entry size and words, and (on a self-describing segment) that it was
    /// created as a lazy value of this type. `None` takes the type the
    /// segment records ([`Error::InvalidArgument`] if it records none).
    pub fn open(seg: &Segment, name: &str, prim: Option<Prim>) -> Result<RawLazy> {
        let recorded = seg.description(name)?;
        let prim = match prim {
            Some(p) => p,
            None => {
                // A record of another kind is the better error.
                check_description(seg, name, &Description::new(StructureKind::Lazy))?;
                let fingerprint = recorded.and_then(|d| d.elem_fingerprint);
                let found = Prim::ALL
                    .into_iter()
                    .find(|p| Some(p.layout().fingerprint()) == fingerprint);
                found.ok_or_else(|| {
                    seg.region(name).map_or_else(
                        |e| e,
                        |r| {
                            r.invalid_argument(
                                KIND,
                                "the value type is not recorded in the segment: give it \
                                 (its arithmetic depends on it)",
                            )
                        },
                    )
                })?
            }
        };
        check_description(seg, name, &RawLazy::description(prim))?;
        RawLazy::from_region(seg.region(name)?, prim)
    }

    /// What a lazy value of `prim` records in a self-describing segment.
    fn description(prim: Prim) -> Description {
        Description {
            elem_fingerprint: Some(prim.layout().fingerprint()),
            ..Description::with_layout(StructureKind::Lazy, prim_layout(prim), 0)
        }
    }

    /// Validates the entry size against `prim`, then the words.
    pub(crate) fn from_region(region: Region, prim: Prim) -> Result<RawLazy> {
        let l = fmt::layout(prim_layout(prim)).expect("a primitive's layout fits");
        if region.len() as u64 != l.total {
            return Err(region.mismatch(
                KIND,
                format!(
                    "entry size {} is not the {} bytes of a C++ Lazy of a {}-byte, {}-aligned \
                     value (wrong value type, or a Python Lazy?)",
                    region.len(),
                    l.total,
                    prim.size(),
                    prim.size()
                ),
            ));
        }
        let lazy = RawLazy {
            region,
            prim,
            l,
            size: prim.size(),
        };
        lazy.check_words()?;
        Ok(lazy)
    }

    /// Open checks (module doc, "Opening the wrong kind"): the state is
    /// 0..=3, the operation type 0..=5, and a COMPUTED constant caches its
    /// own bytes. A C++ constant constructor writes those fields after the
    /// entry is visible, in an order we do not know, so a disagreement is
    /// re-read for up to [`OPEN_SETTLE_WAIT`] before refusing.
    fn check_words(&self) -> Result<()> {
        let state = self.state();
        if state > fmt::ERROR {
            return Err(self.region.mismatch(
                KIND,
                format!(
                    "state word holds {state}, not NOT_COMPUTED/COMPUTING/COMPUTED/ERROR \
                     (0..=3): not a lazy value, or a corrupted one"
                ),
            ));
        }
        let op_type = self.op_type();
        if op_type > fmt::OP_EXTERNAL {
            return Err(self.region.mismatch(
                KIND,
                format!(
                    "operation type {op_type} at +{} is not CONSTANT..=EXTERNAL (0..=5): not \
                     a lazy value, or a corrupted one",
                    self.l.op_type
                ),
            ));
        }
        let s = self.size;
        let constant_disagrees = || {
            let (mut constant, mut cached) = ([0u8; MAX_PRIM], [0u8; MAX_PRIM]);
            self.region
                .read_bytes(self.l.data as usize, &mut constant[..s]);
            self.region
                .read_bytes(self.l.cached as usize, &mut cached[..s]);
            let computed_constant =
                self.state() == fmt::COMPUTED && self.op_type() == fmt::OP_CONSTANT;
            (computed_constant && constant != cached).then_some((constant, cached))
        };
        let Some((constant, cached)) = constant_disagrees() else {
            return Ok(());
        };
        let settled =
            crate::wait::poll_until(Some(OPEN_SETTLE_WAIT), || match constant_disagrees() {
                None => Some(()),
                Some(_) => None,
            });
        match settled {
            Some(()) => Ok(()),
            None => Err(self.region.mismatch(
                KIND,
                format!(
                    "a computed CONSTANT whose cached bytes {:02x?} differ from its constant \
                     {:02x?}: not a lazy value (a ready Future's value at +16?), or a corrupted \
                     one",
                    &cached[..s],
                    &constant[..s]
                ),
            )),
        }
    }

    /// The entry.
    pub fn region(&self) -> &Region {
        &self.region
    }

    /// The value's primitive type.
    pub fn prim(&self) -> Prim {
        self.prim
    }

    /// The entry's field offsets.
    pub fn layout(&self) -> LazyLayout {
        self.l
    }

    pub(crate) fn state_word(&self) -> &AtomicU32 {
        self.region.atomic_u32(fmt::STATE as usize)
    }

    fn count_word(&self) -> &AtomicU32 {
        self.region.atomic_u32(self.l.compute_count as usize)
    }

    /// The raw state word (acquire load).
    #[inline]
    pub fn state(&self) -> u32 {
        self.state_word().load(Ordering::Acquire)
    }

    /// How many times the value was computed (constants: 0).
    pub fn compute_count(&self) -> u32 {
        self.count_word().load(Ordering::Acquire)
    }

    /// The stored operation type (written once at creation).
    pub fn op_type(&self) -> u32 {
        self.region.read::<u32>(self.l.op_type as usize)
    }

    /// Copies operand a and b (each `prim.size()` bytes; the caller
    /// checked the lengths) and returns the operation type.
    #[inline]
    pub(crate) fn operands(&self, a: &mut [u8], b: &mut [u8]) -> u32 {
        self.region.read_bytes(self.l.data as usize, a);
        self.region.read_bytes(self.l.data_b as usize, b);
        self.op_type()
    }

    /// The stored operation record, operands as bytes.
    pub fn op(&self) -> LazyOp<Vec<u8>> {
        let (mut a, mut b) = (vec![0u8; self.size], vec![0u8; self.size]);
        let ty = self.operands(&mut a, &mut b);
        let word = |off: u64| self.region.read::<u32>(off as usize);
        match ty {
            fmt::OP_CONSTANT => LazyOp::Constant(a),
            fmt::OP_ADD => LazyOp::Add(a, b),
            fmt::OP_MULTIPLY => LazyOp::Multiply(a, b),
            fmt::OP_NEGATE => LazyOp::Negate(a),
            fmt::OP_CHAIN => LazyOp::Chain(word(self.l.data), word(self.l.data + 4)),
            fmt::OP_EXTERNAL => LazyOp::External(word(self.l.data)),
            t => LazyOp::Unknown(t),
        }
    }

    /// The error message if forcing failed.
    pub fn error_message(&self) -> Option<String> {
        (self.state() == fmt::ERROR).then(|| read_msg(&self.region, self.l.error as usize))
    }

    fn check_len(&self, len: usize) -> Result<()> {
        if len == self.size {
            return Ok(());
        }
        Err(self.region.invalid_argument(
            KIND,
            format!(
                "the output buffer is {len} bytes, a {} is {}",
                self.prim.rust_name(),
                self.size
            ),
        ))
    }

    /// Copies `cached_value` into `out` if it is published and was not
    /// being rewritten during the copy (see the module docs): true if so.
    #[inline]
    pub(crate) fn read_cached(&self, out: &mut [u8]) -> bool {
        if self.state() != fmt::COMPUTED {
            return false;
        }
        // Acquire: pairs with the computer's AcqRel increment, which follows
        // its write of cached_value.
        let c1 = self.count_word().load(Ordering::Acquire);
        self.region.read_bytes(self.l.cached as usize, out);
        // Keep the copy above before the re-checks below.
        fence(Ordering::Acquire);
        let s2 = self.state();
        let c2 = self.count_word().load(Ordering::Relaxed);
        s2 == fmt::COMPUTED && c1 == c2
    }

    /// Copies the value into `out` if it is computed, without computing
    /// it: `Ok(true)`; `Ok(false)` if not (or a reset raced the copy).
    pub fn peek(&self, out: &mut [u8]) -> Result<bool> {
        self.check_len(out.len())?;
        Ok(self.read_cached(out))
    }

    fn failed(&self, message: String) -> Error {
        Error::Failed {
            name: self.region.name().to_owned(),
            kind: KIND,
            message,
        }
    }

    /// We own the COMPUTING state: compute, store, publish.
    fn compute_and_publish(&self, out: &mut [u8]) -> Result<()> {
        let s = self.size;
        let (mut a, mut b) = ([0u8; MAX_PRIM], [0u8; MAX_PRIM]);
        let ty = self.operands(&mut a[..s], &mut b[..s]);
        let state = self.state_word();
        match compute(self.prim, ty, &a[..s], &b[..s], out) {
            Ok(()) => {
                self.region.write_bytes(self.l.cached as usize, out);
                // AcqRel: the cached write above is ordered before the new
                // count (readers compare counts around their copy).
                self.count_word().fetch_add(1, Ordering::AcqRel);
                // Release: cached value and count before COMPUTED.
                state.store(fmt::COMPUTED, Ordering::Release);
                wake_all(state);
                Ok(())
            }
            Err(msg) => {
                write_msg(&self.region, self.l.error as usize, &msg);
                // Release: the message before ERROR (unlike the reference's
                // Future::set_error, Lazy already did it in this order).
                state.store(fmt::ERROR, Ordering::Release);
                wake_all(state);
                Err(self.failed(msg))
            }
        }
    }

    /// Waits until nobody is computing the value (state not COMPUTING), or
    /// [`Error::Timeout`] at `deadline`. Writes nothing.
    pub(crate) fn settle_until(&self, deadline: &Deadline) -> Result<()> {
        let state = self.state_word();
        let settled = wait_until(state, deadline.remaining(), || {
            (state.load(Ordering::Acquire) != fmt::COMPUTING).then_some(())
        });
        settled.ok_or_else(|| deadline.timeout(&self.region, KIND))
    }

    /// Forces the value into `out` (length checked by the caller), waiting
    /// for another process's computation until `deadline`.
    pub(crate) fn force_until(&self, out: &mut [u8], deadline: &Deadline) -> Result<()> {
        let state = self.state_word();
        loop {
            match state.load(Ordering::Acquire) {
                fmt::COMPUTED => {
                    if self.read_cached(out) {
                        return Ok(());
                    }
                    // Reset or recomputed under us: look again.
                }
                fmt::NOT_COMPUTED => {
                    // AcqRel on success: we own the computation; our writes
                    // cannot move before the claim. Strong CAS, retry on loss.
                    if state
                        .compare_exchange(
                            fmt::NOT_COMPUTED,
                            fmt::COMPUTING,
                            Ordering::AcqRel,
                            Ordering::Relaxed,
                        )
                        .is_ok()
                    {
                        // Orders the claim before the cached/count writes for
                        // readers running the (state, count) check.
                        fence(Ordering::Release);
                        return self.compute_and_publish(out);
                    }
                }
                fmt::COMPUTING => self.settle_until(deadline)?,
                fmt::ERROR => {
                    return Err(self.failed(read_msg(&self.region, self.l.error as usize)))
                }
                other => {
                    return Err(self
                        .region
                        .mismatch(KIND, format!("state word holds {other}, not 0..=3")))
                }
            }
        }
    }

    /// The value into `out`, computing it if nobody has (exactly one
    /// process computes; the others wait, at most `timeout`, `Duration::MAX`
    /// meaning no limit: [`Error::Timeout`]). [`Error::Failed`] if the
    /// computation failed.
    pub fn force_timeout(&self, out: &mut [u8], timeout: Duration) -> Result<()> {
        self.check_len(out.len())?;
        self.force_until(out, &Deadline::after(timeout))
    }

    /// Forgets the computed value so the next force computes it again:
    /// `CAS(COMPUTED -> NOT_COMPUTED)`. False if it was not computed.
    pub fn reset(&self) -> bool {
        self.state_word()
            .compare_exchange(
                fmt::COMPUTED,
                fmt::NOT_COMPUTED,
                Ordering::AcqRel,
                Ordering::Relaxed,
            )
            .is_ok()
    }

    /// Recovery after a forcing process died: `CAS(COMPUTING ->
    /// NOT_COMPUTED)` (see [`crate::Lazy::reset_abandoned`]).
    pub fn reset_abandoned(&self) -> bool {
        let ok = self
            .state_word()
            .compare_exchange(
                fmt::COMPUTING,
                fmt::NOT_COMPUTED,
                Ordering::AcqRel,
                Ordering::Relaxed,
            )
            .is_ok();
        if ok {
            wake_all(self.state_word());
        }
        ok
    }

    /// State, operation, cached value and message: what a tool shows.
    pub fn snapshot(&self) -> LazySnapshot {
        let mut cached = vec![0u8; self.size];
        let cached = self.read_cached(&mut cached).then_some(cached);
        LazySnapshot {
            state: self.state(),
            op: self.op(),
            cached,
            compute_count: self.compute_count(),
            message: self.error_message(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codata::testutil::seg;
    use crate::Lazy;

    #[test]
    fn every_prim_interoperates_with_the_typed_veneer() {
        let t = seg("rawlazy");
        for prim in Prim::ALL {
            let s = prim.size();
            let name = format!("l{}", prim.rust_name());
            let (a, b) = (vec![3u8; s], vec![1u8; s]);
            let raw = RawLazy::create(&t.1, &name, prim, LazyOp::Multiply(&a, &b)).unwrap();
            let snap = raw.snapshot();
            assert_eq!((snap.state, snap.cached), (fmt::NOT_COMPUTED, None));
            assert_eq!(snap.op, LazyOp::Multiply(a.clone(), b.clone()));
            let mut out = vec![0u8; s];
            raw.force_timeout(&mut out, Duration::MAX).unwrap();
            let mut want = vec![0u8; s];
            compute(prim, fmt::OP_MULTIPLY, &a, &b, &mut want).unwrap();
            assert_eq!(out, want);
            assert_eq!(raw.snapshot().cached, Some(want));
            assert_eq!(raw.compute_count(), 1);
        }
        // The same bytes through the typed veneer.
        assert_eq!(
            Lazy::<u16>::open(&t.1, "lu16").unwrap().peek(),
            Some(0x0303u16.wrapping_mul(0x0101))
        );
        let typed = Lazy::<f64>::constant(&t.1, "typed", 2.5).unwrap();
        let raw = RawLazy::open(&t.1, "typed", Some(Prim::F64)).unwrap();
        let mut out = [0u8; 8];
        assert!(raw.peek(&mut out).unwrap());
        assert_eq!(f64::from_le_bytes(out), 2.5);
        assert!(raw.reset());
        assert_eq!(typed.peek(), None);
        assert!(RawLazy::open(&t.1, "typed", Some(Prim::I32)).is_err()); // 304 vs 280
    }

    #[test]
    fn wrong_lengths_are_refused_clearly() {
        let t = seg("rawlazylen");
        let e = RawLazy::create(&t.1, "x", Prim::I32, LazyOp::Add(&[0; 4], &[0; 3])).unwrap_err();
        assert!(matches!(e, Error::InvalidArgument { .. }), "{e}");
        assert!(e.to_string().contains("operand b is 3 bytes"), "{e}");
        assert!(t.1.find("x").unwrap().is_none()); // nothing created
        let l = RawLazy::create(&t.1, "y", Prim::U8, LazyOp::Negate(&[1])).unwrap();
        let e = l.force_timeout(&mut [0u8; 2], Duration::MAX).unwrap_err();
        assert!(
            e.to_string().contains("2 bytes") && e.to_string().contains("u8"),
            "{e}"
        );
        assert_eq!(l.state(), fmt::NOT_COMPUTED); // nothing forced
        let mut out = [0u8; 1];
        l.force_timeout(&mut out, Duration::MAX).unwrap();
        assert_eq!(out, [255]);
    }
}
