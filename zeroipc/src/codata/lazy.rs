//! `Lazy<T>`: a value described by a small computation record, computed
//! once on first demand by whichever process asks first, then cached for
//! all (FORMAT.md §4, REFERENCE-NOTES §8.1–8.2).
//!
//! # Layout (C++ reference `lazy.h`, generic `Lazy<T>`, one entry `name`)
//!
//! With `s = size_of T`, `a = align_of T`, `A = max(4, a)`:
//!
//! ```text
//! struct ComputationOp {            // alignment A
//!     u32 type;                     // @0: CONSTANT 0, ADD 1, MULTIPLY 2, NEGATE 3, CHAIN 4, EXTERNAL 5
//!     union {                       // @align_up(4, A)
//!         T constant_value;         //   also unary_arg (NEGATE) and binary_op.a
//!         struct { T a, b; } binary_op;  // b @ +s
//!         ...                       //   CHAIN/EXTERNAL indices (never computed)
//!     } data;                       // size align_up(max(2s, 8), A)
//! };
//! struct Header {
//!     atomic u32 state;             // @0: NOT_COMPUTED 0, COMPUTING 1, COMPUTED 2, ERROR 3
//!     ComputationOp computation;    // @align_up(4, A)
//!     T cached_value;               // @align_up(op_end, a)
//!     char error_msg[256];          // @cached + s, NUL-terminated
//!     atomic u32 compute_count;     // @align_up(error_end, 4)
//! };                                // size align_up(count + 4, A)
//! ```
//!
//! `T = i32`: op @4 (data @8, b @12), cached @16, error @20, count @276,
//! size 280. `T = f64`: op @8 (data @16, b @24), cached @32, error @40,
//! count @296, size 304. The Python reference's Lazy is a different,
//! incompatible layout (REFERENCE-NOTES §8.4); this follows C++.
//!
//! `T` is restricted to the integer and float primitives ([`Arithmetic`], a
//! sealed trait): the operations are arithmetic, and integer arithmetic
//! wraps (what the C++ reference produces in practice), so every process
//! computes the same bits. The C++ `Lazy<bool>` specialisation (another
//! layout) is not supported.
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
//! Reference bugs fixed (REFERENCE-NOTES §14 item 26): `add`/`multiply`
//! register the entry and only later write the operands, so a peer can force
//! `0 + 0` and cache it. Here the operands are forced first and written by
//! the registration's init closure, before the entry is published. Losers
//! of the race wait with bounded sleeps, and [`Lazy::force_timeout`] exists.
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
//! fewer than 6 waiters reads as a not-yet-computed constant; a Future
//! whose `waiters` word reads as ADD, MULTIPLY or NEGATE) opens as a lazy
//! value, and forcing it then writes the other kind's bytes.
//!
//! # After SIGKILL
//!
//! A process killed while forcing leaves the state `COMPUTING`: every later
//! [`Lazy::force`] waits forever, [`Lazy::force_timeout`] returns
//! [`Error::Timeout`], and [`Lazy::add`], [`Lazy::multiply`] and
//! [`Lazy::negate`] with it as an operand return [`Error::Timeout`] after
//! [`OPERAND_WAIT`] (their `_timeout` forms after the caller's bound),
//! creating nothing. Since the computation is a pure function of the
//! stored record, [`Lazy::reset_abandoned`] may be used to put the state back
//! to `NOT_COMPUTED` once the forcing process is known to be dead (if it was
//! only slow, the value is computed twice, identically). A `COMPUTED` value,
//! once published, stays readable.

use super::{read_msg, write_msg, ERROR_MSG_LEN, OPEN_SETTLE_WAIT};
use crate::element::ShmElement;
use crate::error::{Error, Result};
use crate::region::atomic::{fence, AtomicU32, Ordering};
use crate::region::Region;
use crate::segment::Segment;
use crate::sync::Deadline;
use crate::wait::{wait_until, wake_all};
use std::marker::PhantomData;
use std::time::Duration;

const KIND: &str = "lazy";

/// How long [`Lazy::add`], [`Lazy::multiply`] and [`Lazy::negate`] wait for
/// an operand that another process is computing before presuming that
/// process dead: the peer-presumed-dead time of the crate, the same as
/// [`crate::codata::channel::CLOSE_GRACE`]. Computing an operand takes a
/// few instructions; a live peer is never that slow.
pub const OPERAND_WAIT: Duration = super::channel::CLOSE_GRACE;

const NOT_COMPUTED: u32 = 0;
const COMPUTING: u32 = 1;
const COMPUTED: u32 = 2;
const ERROR: u32 = 3;

const OP_CONSTANT: u32 = 0;
const OP_ADD: u32 = 1;
const OP_MULTIPLY: u32 = 2;
const OP_NEGATE: u32 = 3;
const OP_CHAIN: u32 = 4;
const OP_EXTERNAL: u32 = 5;

mod sealed {
    pub trait Sealed {}
}

/// The element types a [`Lazy`] can hold: the integer and float primitives.
/// Sealed; integer operations wrap.
pub trait Arithmetic: ShmElement + PartialEq + std::fmt::Debug + sealed::Sealed {
    /// `a + b` (wrapping for integers).
    fn lazy_add(self, other: Self) -> Self;
    /// `a * b` (wrapping for integers).
    fn lazy_mul(self, other: Self) -> Self;
    /// `-a` (wrapping for integers, two's complement for unsigned).
    fn lazy_neg(self) -> Self;
}

macro_rules! arith_int {
    ($($t:ty),*) => {$(
        impl sealed::Sealed for $t {}
        impl Arithmetic for $t {
            fn lazy_add(self, o: Self) -> Self { self.wrapping_add(o) }
            fn lazy_mul(self, o: Self) -> Self { self.wrapping_mul(o) }
            fn lazy_neg(self) -> Self { self.wrapping_neg() }
        }
    )*};
}
arith_int!(u8, u16, u32, u64, i8, i16, i32, i64);

macro_rules! arith_float {
    ($($t:ty),*) => {$(
        impl sealed::Sealed for $t {}
        impl Arithmetic for $t {
            fn lazy_add(self, o: Self) -> Self { self + o }
            fn lazy_mul(self, o: Self) -> Self { self * o }
            fn lazy_neg(self) -> Self { -self }
        }
    )*};
}
arith_float!(f32, f64);

/// The computation record of a lazy value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LazyOp<T> {
    /// A stored constant (type 0).
    Constant(T),
    /// `a + b` (type 1).
    Add(T, T),
    /// `a * b` (type 2).
    Multiply(T, T),
    /// `-a` (type 3).
    Negate(T),
    /// C++ CHAIN (type 4): two indices; never computable (the reference
    /// throws too). Read-only.
    Chain(u32, u32),
    /// C++ EXTERNAL (type 5, what the reference's `map` creates): never
    /// computable. Read-only.
    External(u32),
    /// A type number no implementation writes.
    Unknown(u32),
}

/// The raw state of a lazy value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LazyState {
    /// Not computed yet (0).
    NotComputed,
    /// Someone is computing it (1).
    Computing,
    /// `cached_value` is valid (2).
    Computed,
    /// Computing failed; the message is stored (3).
    Error,
    /// A value no implementation writes.
    Unknown(u32),
}

/// Field offsets of the C++ `Lazy<T>::Header` for a given `T`.
struct Layout {
    op_type: usize,
    data: usize,
    data_b: usize,
    cached: usize,
    error: usize,
    count: usize,
    total: usize,
}

const fn up(n: usize, a: usize) -> usize {
    (n + a - 1) & !(a - 1)
}

const fn layout_for(s: usize, a: usize) -> Layout {
    let big_a = if a > 4 { a } else { 4 };
    let op_off = up(4, big_a);
    let data_rel = up(4, big_a);
    let union_size = up(if 2 * s > 8 { 2 * s } else { 8 }, big_a);
    let op_size = up(data_rel + union_size, big_a);
    let cached = up(op_off + op_size, a);
    let error = cached + s;
    let count = up(error + ERROR_MSG_LEN, 4);
    Layout {
        op_type: op_off,
        data: op_off + data_rel,
        data_b: op_off + data_rel + s,
        cached,
        error,
        count,
        total: up(count + 4, big_a),
    }
}

/// A shared, computed-once value.
///
/// ```
/// use zeroipc::{Lazy, Segment};
/// let name = format!("/zeroipc-doc-lazy-{}", std::process::id());
/// let seg = Segment::create(&name, 1 << 16)?;
/// let a = Lazy::<f64>::constant(&seg, "a", 1.5)?;
/// let b = Lazy::<f64>::constant(&seg, "b", 2.0)?;
/// let sum = Lazy::add(&seg, "sum", &a, &b)?;
/// assert_eq!(sum.peek(), None);          // not computed yet
/// assert_eq!(sum.force()?, 3.5);         // computed once...
/// let again = Lazy::<f64>::open(&seg, "sum")?; // ...e.g. by another process
/// assert_eq!(again.force()?, 3.5);       // ...and cached
/// assert_eq!(again.compute_count(), 1);
/// Segment::unlink(&name)?;
/// # Ok::<(), zeroipc::Error>(())
/// ```
pub struct Lazy<T: Arithmetic> {
    region: Region,
    _t: PhantomData<T>,
}

impl<T: Arithmetic> Clone for Lazy<T> {
    fn clone(&self) -> Self {
        Lazy {
            region: self.region.clone(),
            _t: PhantomData,
        }
    }
}

impl<T: Arithmetic> std::fmt::Debug for Lazy<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lazy")
            .field("region", &self.region)
            .field("state", &self.state())
            .finish()
    }
}

impl<T: Arithmetic> Lazy<T> {
    const L: Layout = layout_for(size_of::<T>(), align_of::<T>());

    /// Entry size of the C++ header for `T`.
    pub(crate) fn size_for() -> u64 {
        Self::L.total as u64
    }

    /// Writes a fresh header for `op` into a zeroed entry. A constant is
    /// stored already COMPUTED (the reference's constant constructor); any
    /// other operation, with its operands, NOT_COMPUTED.
    pub(crate) fn init_region(region: &Region, op: LazyOp<T>, computed_constant: bool) {
        let l = &Self::L;
        let (ty, a, b) = match op {
            LazyOp::Constant(v) => (OP_CONSTANT, Some(v), None),
            LazyOp::Add(x, y) => (OP_ADD, Some(x), Some(y)),
            LazyOp::Multiply(x, y) => (OP_MULTIPLY, Some(x), Some(y)),
            LazyOp::Negate(x) => (OP_NEGATE, Some(x), None),
            LazyOp::Chain(..) | LazyOp::External(_) | LazyOp::Unknown(_) => {
                unreachable!("rejected before registration")
            }
        };
        region.write::<u32>(l.op_type, ty);
        if let Some(a) = a {
            region.write::<T>(l.data, a);
        }
        if let Some(b) = b {
            region.write::<T>(l.data_b, b);
        }
        if let (true, LazyOp::Constant(v)) = (computed_constant, op) {
            region.write::<T>(l.cached, v);
            // Not yet visible to anyone: the entry is published after init.
            region.atomic_u32(0).store(COMPUTED, Ordering::Relaxed);
        }
    }

    /// Validates the entry size against `T`.
    pub(crate) fn from_region(region: Region) -> Result<Self> {
        if region.len() != Self::L.total {
            return Err(region.mismatch(
                KIND,
                format!(
                    "entry size {} is not the {} bytes of a C++ Lazy of a {}-byte, {}-aligned \
                     value (wrong value type, or a Python Lazy?)",
                    region.len(),
                    Self::L.total,
                    size_of::<T>(),
                    align_of::<T>()
                ),
            ));
        }
        let lazy = Lazy {
            region,
            _t: PhantomData,
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
        let l = &Self::L;
        let state = self.state_word().load(Ordering::Acquire);
        if state > ERROR {
            return Err(self.region.mismatch(
                KIND,
                format!(
                    "state word holds {state}, not NOT_COMPUTED/COMPUTING/COMPUTED/ERROR \
                     (0..=3): not a lazy value, or a corrupted one"
                ),
            ));
        }
        let op_type = self.region.read::<u32>(l.op_type);
        if op_type > OP_EXTERNAL {
            return Err(self.region.mismatch(
                KIND,
                format!(
                    "operation type {op_type} at +{} is not CONSTANT..=EXTERNAL (0..=5): not \
                     a lazy value, or a corrupted one",
                    l.op_type
                ),
            ));
        }
        let s = size_of::<T>();
        let constant_disagrees = || {
            let (mut constant, mut cached) = ([0u8; 8], [0u8; 8]);
            self.region.read_bytes(l.data, &mut constant[..s]);
            self.region.read_bytes(l.cached, &mut cached[..s]);
            let computed_constant = self.state_word().load(Ordering::Acquire) == COMPUTED
                && self.region.read::<u32>(l.op_type) == OP_CONSTANT;
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

    fn register(seg: &Segment, name: &str, op: LazyOp<T>, computed: bool) -> Result<Self> {
        if matches!(
            op,
            LazyOp::Chain(..) | LazyOp::External(_) | LazyOp::Unknown(_)
        ) {
            return Err(Error::InvalidParameter {
                segment: seg.name().to_owned(),
                what: format!("lazy {name:?}: {op:?} cannot be computed, refusing to create it"),
            });
        }
        let region = seg.register(name, Self::size_for(), |r| {
            Self::init_region(r, op, computed);
            Ok(())
        })?;
        Self::from_region(region)
    }

    /// Creates a lazy value that is already computed: `v` (the reference's
    /// constant constructor; `compute_count` stays 0).
    pub fn constant(seg: &Segment, name: &str, v: T) -> Result<Self> {
        Self::register(seg, name, LazyOp::Constant(v), true)
    }

    /// Creates a not-yet-computed lazy value for `op` (Constant, Add,
    /// Multiply or Negate with its operands). The operands are written
    /// before the entry becomes visible.
    pub fn deferred(seg: &Segment, name: &str, op: LazyOp<T>) -> Result<Self> {
        Self::register(seg, name, op, false)
    }

    /// `x + y`: forces both operands now (as the reference does), then
    /// creates the not-yet-computed sum with the operands already in place.
    ///
    /// Waiting for an operand that another process is computing is bounded
    /// by [`OPERAND_WAIT`]: an operand still COMPUTING after that (its
    /// computing process presumably died; see [`Lazy::reset_abandoned`])
    /// gives [`Error::Timeout`] naming the operand, and nothing is created.
    /// [`Lazy::add_timeout`] takes the bound from the caller.
    ///
    /// ```
    /// use zeroipc::{Error, Lazy, LazyOp, Segment};
    /// let name = format!("/zeroipc-doc-lazy-add-{}", std::process::id());
    /// let seg = Segment::create(&name, 1 << 16)?;
    /// let a = Lazy::<i32>::constant(&seg, "a", 40)?;
    /// let b = Lazy::<i32>::deferred(&seg, "b", LazyOp::Add(1, 1))?;
    /// let sum = Lazy::add(&seg, "sum", &a, &b)?; // forces b now
    /// assert_eq!(sum.op(), LazyOp::Add(40, 2));
    /// assert_eq!(sum.force()?, 42);
    /// Segment::unlink(&name)?;
    /// # Ok::<(), zeroipc::Error>(())
    /// ```
    pub fn add(seg: &Segment, name: &str, x: &Lazy<T>, y: &Lazy<T>) -> Result<Self> {
        Self::add_timeout(seg, name, x, y, OPERAND_WAIT)
    }

    /// Like [`Lazy::add`], waiting at most `timeout` in all for operands
    /// that another process is computing ([`Error::Timeout`] naming the
    /// operand; nothing is created). A huge timeout means no limit.
    ///
    /// ```
    /// use std::time::Duration;
    /// use zeroipc::{Error, Lazy, LazyOp, Segment};
    /// let name = format!("/zeroipc-doc-lazy-addt-{}", std::process::id());
    /// let seg = Segment::create(&name, 1 << 16)?;
    /// let a = Lazy::<f64>::constant(&seg, "a", 0.5)?;
    /// let sum = Lazy::add_timeout(&seg, "sum", &a, &a, Duration::from_millis(10))?;
    /// assert_eq!(sum.force()?, 1.0);
    /// Segment::unlink(&name)?;
    /// # Ok::<(), zeroipc::Error>(())
    /// ```
    pub fn add_timeout(
        seg: &Segment,
        name: &str,
        x: &Lazy<T>,
        y: &Lazy<T>,
        timeout: Duration,
    ) -> Result<Self> {
        let (a, b) = force_pair(x, y, Deadline::after(timeout))?;
        Self::deferred(seg, name, LazyOp::Add(a, b))
    }

    /// `x * y`, like [`Lazy::add`] (operand waits bounded by
    /// [`OPERAND_WAIT`]).
    ///
    /// ```
    /// use zeroipc::{Lazy, Segment};
    /// let name = format!("/zeroipc-doc-lazy-mul-{}", std::process::id());
    /// let seg = Segment::create(&name, 1 << 16)?;
    /// let a = Lazy::<u8>::constant(&seg, "a", 16)?;
    /// let p = Lazy::multiply(&seg, "p", &a, &a)?;
    /// assert_eq!(p.force()?, 0); // 256 wraps
    /// Segment::unlink(&name)?;
    /// # Ok::<(), zeroipc::Error>(())
    /// ```
    pub fn multiply(seg: &Segment, name: &str, x: &Lazy<T>, y: &Lazy<T>) -> Result<Self> {
        Self::multiply_timeout(seg, name, x, y, OPERAND_WAIT)
    }

    /// `x * y`, like [`Lazy::add_timeout`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use zeroipc::{Lazy, Segment};
    /// let name = format!("/zeroipc-doc-lazy-mult-{}", std::process::id());
    /// let seg = Segment::create(&name, 1 << 16)?;
    /// let a = Lazy::<i64>::constant(&seg, "a", -3)?;
    /// let p = Lazy::multiply_timeout(&seg, "p", &a, &a, Duration::from_secs(1))?;
    /// assert_eq!(p.force()?, 9);
    /// Segment::unlink(&name)?;
    /// # Ok::<(), zeroipc::Error>(())
    /// ```
    pub fn multiply_timeout(
        seg: &Segment,
        name: &str,
        x: &Lazy<T>,
        y: &Lazy<T>,
        timeout: Duration,
    ) -> Result<Self> {
        let (a, b) = force_pair(x, y, Deadline::after(timeout))?;
        Self::deferred(seg, name, LazyOp::Multiply(a, b))
    }

    /// `-x`, like [`Lazy::add`] (stored as NEGATE with `unary_arg`; the
    /// operand wait is bounded by [`OPERAND_WAIT`]).
    ///
    /// ```
    /// use zeroipc::{Lazy, Segment};
    /// let name = format!("/zeroipc-doc-lazy-neg-{}", std::process::id());
    /// let seg = Segment::create(&name, 1 << 16)?;
    /// let a = Lazy::<i16>::constant(&seg, "a", 5)?;
    /// assert_eq!(Lazy::negate(&seg, "n", &a)?.force()?, -5);
    /// Segment::unlink(&name)?;
    /// # Ok::<(), zeroipc::Error>(())
    /// ```
    pub fn negate(seg: &Segment, name: &str, x: &Lazy<T>) -> Result<Self> {
        Self::negate_timeout(seg, name, x, OPERAND_WAIT)
    }

    /// `-x`, like [`Lazy::add_timeout`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use zeroipc::{Lazy, Segment};
    /// let name = format!("/zeroipc-doc-lazy-negt-{}", std::process::id());
    /// let seg = Segment::create(&name, 1 << 16)?;
    /// let a = Lazy::<f32>::constant(&seg, "a", 1.5)?;
    /// assert_eq!(Lazy::negate_timeout(&seg, "n", &a, Duration::MAX)?.force()?, -1.5);
    /// Segment::unlink(&name)?;
    /// # Ok::<(), zeroipc::Error>(())
    /// ```
    pub fn negate_timeout(
        seg: &Segment,
        name: &str,
        x: &Lazy<T>,
        timeout: Duration,
    ) -> Result<Self> {
        let a = x.force_until(Deadline::after(timeout))?;
        Self::deferred(seg, name, LazyOp::Negate(a))
    }

    /// Opens the lazy value named `name`, checking its size against `T`.
    pub fn open(seg: &Segment, name: &str) -> Result<Self> {
        Self::from_region(seg.region(name)?)
    }

    /// The underlying region.
    pub fn region(&self) -> &Region {
        &self.region
    }

    fn state_word(&self) -> &AtomicU32 {
        self.region.atomic_u32(0)
    }

    fn count_word(&self) -> &AtomicU32 {
        self.region.atomic_u32(Self::L.count)
    }

    /// The current state (acquire load).
    pub fn state(&self) -> LazyState {
        match self.state_word().load(Ordering::Acquire) {
            NOT_COMPUTED => LazyState::NotComputed,
            COMPUTING => LazyState::Computing,
            COMPUTED => LazyState::Computed,
            ERROR => LazyState::Error,
            v => LazyState::Unknown(v),
        }
    }

    /// How many times the value was computed (constants: 0).
    pub fn compute_count(&self) -> u32 {
        self.count_word().load(Ordering::Acquire)
    }

    /// The stored operation record. Written once at creation (by us before
    /// publication; by a C++ `add`/`multiply` possibly just after).
    pub fn op(&self) -> LazyOp<T> {
        let l = &Self::L;
        let a = || self.region.read::<T>(l.data);
        let b = || self.region.read::<T>(l.data_b);
        match self.region.read::<u32>(l.op_type) {
            OP_CONSTANT => LazyOp::Constant(a()),
            OP_ADD => LazyOp::Add(a(), b()),
            OP_MULTIPLY => LazyOp::Multiply(a(), b()),
            OP_NEGATE => LazyOp::Negate(a()),
            OP_CHAIN => LazyOp::Chain(
                self.region.read::<u32>(l.data),
                self.region.read::<u32>(l.data + 4),
            ),
            OP_EXTERNAL => LazyOp::External(self.region.read::<u32>(l.data)),
            t => LazyOp::Unknown(t),
        }
    }

    /// The error message if forcing failed.
    pub fn error_message(&self) -> Option<String> {
        (self.state_word().load(Ordering::Acquire) == ERROR)
            .then(|| read_msg(&self.region, Self::L.error))
    }

    /// Copies `cached_value` if it is published and was not being rewritten
    /// during the copy (see the module docs), else `None`.
    fn read_cached(&self) -> Option<T> {
        if self.state_word().load(Ordering::Acquire) != COMPUTED {
            return None;
        }
        // Acquire: pairs with the computer's AcqRel increment, which follows
        // its write of cached_value.
        let c1 = self.count_word().load(Ordering::Acquire);
        let v = self.region.read::<T>(Self::L.cached);
        // Keep the copy above before the re-checks below.
        fence(Ordering::Acquire);
        let s2 = self.state_word().load(Ordering::Acquire);
        let c2 = self.count_word().load(Ordering::Relaxed);
        (s2 == COMPUTED && c1 == c2).then_some(v)
    }

    /// The value if it is computed, without computing it.
    pub fn peek(&self) -> Option<T> {
        // A `None` from a concurrent reset/recompute is an honest answer.
        self.read_cached()
    }

    /// True when the value is computed.
    pub fn is_computed(&self) -> bool {
        self.state_word().load(Ordering::Acquire) == COMPUTED
    }

    fn failed(&self, message: String) -> Error {
        Error::Failed {
            name: self.region.name().to_owned(),
            kind: KIND,
            message,
        }
    }

    /// We own the COMPUTING state: compute, store, publish.
    fn compute_and_publish(&self) -> Result<T> {
        let l = &Self::L;
        let result = match self.op() {
            LazyOp::Constant(v) => Ok(v),
            LazyOp::Add(a, b) => Ok(a.lazy_add(b)),
            LazyOp::Multiply(a, b) => Ok(a.lazy_mul(b)),
            LazyOp::Negate(a) => Ok(a.lazy_neg()),
            LazyOp::Chain(..) => Err("CHAIN operations cannot be computed".to_owned()),
            LazyOp::External(_) => {
                Err("EXTERNAL computation: the function lives in another process".to_owned())
            }
            LazyOp::Unknown(t) => Err(format!("unknown operation type {t}")),
        };
        let state = self.state_word();
        match result {
            Ok(v) => {
                self.region.write::<T>(l.cached, v);
                // AcqRel: the cached write above is ordered before the new
                // count (readers compare counts around their copy).
                self.count_word().fetch_add(1, Ordering::AcqRel);
                // Release: cached value and count before COMPUTED.
                state.store(COMPUTED, Ordering::Release);
                wake_all(state);
                Ok(v)
            }
            Err(msg) => {
                write_msg(&self.region, l.error, &msg);
                // Release: the message before ERROR (unlike the reference's
                // Future::set_error, Lazy already did it in this order).
                state.store(ERROR, Ordering::Release);
                wake_all(state);
                Err(self.failed(msg))
            }
        }
    }

    /// Waits until nobody is computing the value (state not COMPUTING), or
    /// [`Error::Timeout`] at `deadline`. Writes nothing.
    fn settle_until(&self, deadline: Deadline) -> Result<()> {
        let state = self.state_word();
        let settled = wait_until(state, deadline.remaining(), || {
            (state.load(Ordering::Acquire) != COMPUTING).then_some(())
        });
        settled.ok_or_else(|| deadline.timeout(&self.region, KIND))
    }

    /// Forces the value, waiting for another process's computation until
    /// `deadline` (one deadline may cover several operands).
    fn force_until(&self, deadline: Deadline) -> Result<T> {
        let state = self.state_word();
        loop {
            match state.load(Ordering::Acquire) {
                COMPUTED => {
                    if let Some(v) = self.read_cached() {
                        return Ok(v);
                    }
                    // Reset or recomputed under us: look again.
                }
                NOT_COMPUTED => {
                    // AcqRel on success: we own the computation; our writes
                    // cannot move before the claim. Strong CAS, retry on loss.
                    if state
                        .compare_exchange(
                            NOT_COMPUTED,
                            COMPUTING,
                            Ordering::AcqRel,
                            Ordering::Relaxed,
                        )
                        .is_ok()
                    {
                        // Orders the claim before the cached/count writes for
                        // readers running the (state, count) check.
                        fence(Ordering::Release);
                        return self.compute_and_publish();
                    }
                }
                COMPUTING => {
                    let changed = wait_until(state, deadline.remaining(), || {
                        (state.load(Ordering::Acquire) != COMPUTING).then_some(())
                    });
                    if changed.is_none() {
                        return Err(deadline.timeout(&self.region, KIND));
                    }
                }
                ERROR => return Err(self.failed(read_msg(&self.region, Self::L.error))),
                other => {
                    return Err(self
                        .region
                        .mismatch(KIND, format!("state word holds {other}, not 0..=3")))
                }
            }
        }
    }

    /// The value, computing it if nobody has (exactly one process computes;
    /// the others wait for it). [`Error::Failed`] if the computation failed.
    /// Waits forever if the computing process died (see the module docs).
    pub fn force(&self) -> Result<T> {
        self.force_until(Deadline::forever())
    }

    /// Like [`Lazy::force`], but waits for another process's computation at
    /// most `timeout` ([`Error::Timeout`]).
    pub fn force_timeout(&self, timeout: Duration) -> Result<T> {
        self.force_until(Deadline::after(timeout))
    }

    /// Forgets the computed value so the next force computes it again:
    /// `CAS(COMPUTED -> NOT_COMPUTED)`. Returns false if it was not computed
    /// (an ERROR stays, as in the reference).
    pub fn reset(&self) -> bool {
        self.state_word()
            .compare_exchange(COMPUTED, NOT_COMPUTED, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
    }

    /// Recovery after a forcing process died: `CAS(COMPUTING ->
    /// NOT_COMPUTED)`. Call it only when the process that claimed the
    /// computation is known to be gone; if it is merely slow, the value is
    /// computed twice (identically, since the record is immutable) and
    /// `compute_count` counts both.
    pub fn reset_abandoned(&self) -> bool {
        let ok = self
            .state_word()
            .compare_exchange(COMPUTING, NOT_COMPUTED, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok();
        if ok {
            wake_all(self.state_word());
        }
        ok
    }
}

/// Forces two operands for a binary operation. Both are first waited for
/// until neither is being computed by someone else, so that a timeout on
/// one leaves the other exactly as it was (a failed creation changes no
/// byte); only then are they forced (which may compute and cache them).
/// A party that starts computing `y` between the two steps can still make
/// `y` time out after `x` was computed: forcing is idempotent caching, and
/// that window is the length of one force of `x`.
fn force_pair<T: Arithmetic>(x: &Lazy<T>, y: &Lazy<T>, deadline: Deadline) -> Result<(T, T)> {
    x.settle_until(deadline)?;
    y.settle_until(deadline)?;
    Ok((x.force_until(deadline)?, y.force_until(deadline)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codata::testutil::seg;

    #[test]
    fn computed_once_across_threads() {
        let t = seg("lazyrace");
        for round in 0..20 {
            let name = format!("p{round}");
            let l = Lazy::<i64>::deferred(&t.1, &name, LazyOp::Multiply(6, 7)).unwrap();
            let hs: Vec<_> = (0..4)
                .map(|_| {
                    let m = Lazy::<i64>::open(&t.1, &name).unwrap();
                    std::thread::spawn(move || m.force().unwrap())
                })
                .collect();
            for h in hs {
                assert_eq!(h.join().unwrap(), 42);
            }
            assert_eq!(l.compute_count(), 1);
            assert_eq!(l.peek(), Some(42));
        }
    }

    #[test]
    fn ops_reset_and_errors() {
        let t = seg("lazyops");
        let x = Lazy::<i32>::constant(&t.1, "x", i32::MAX).unwrap();
        let one = Lazy::<i32>::constant(&t.1, "one", 1).unwrap();
        let s = Lazy::add(&t.1, "s", &x, &one).unwrap();
        assert_eq!(s.op(), LazyOp::Add(i32::MAX, 1));
        assert_eq!(s.state(), LazyState::NotComputed);
        assert_eq!(s.force().unwrap(), i32::MIN); // wraps, like C++ in practice
        let n = Lazy::negate(&t.1, "n", &one).unwrap();
        assert_eq!(n.force().unwrap(), -1);
        assert!(n.reset());
        assert!(!n.reset());
        assert_eq!(n.peek(), None);
        assert_eq!(n.force().unwrap(), -1);
        assert_eq!(n.compute_count(), 2);
        let u = Lazy::<u8>::deferred(&t.1, "u", LazyOp::Negate(1)).unwrap();
        assert_eq!(u.force().unwrap(), 255);
        assert!(Lazy::<f32>::deferred(&t.1, "c", LazyOp::Chain(0, 1)).is_err());
        assert!(t.1.find("c").unwrap().is_none());

        // A C++ peer may store an op we cannot compute: ERROR with the
        // message written first.
        let e = Lazy::<f32>::deferred(&t.1, "e", LazyOp::Constant(0.0)).unwrap();
        e.region.write::<u32>(Lazy::<f32>::L.op_type, OP_EXTERNAL);
        assert!(matches!(e.force(), Err(Error::Failed { .. })));
        assert_eq!(e.state(), LazyState::Error);
        assert!(e.error_message().unwrap().contains("EXTERNAL"));
        assert!(!e.reset());
        assert!(Lazy::<f64>::open(&t.1, "e").is_err()); // size 280 vs 304
    }

    #[test]
    fn abandoned_computation_times_out_and_recovers() {
        let t = seg("lazystuck");
        let l = Lazy::<f64>::deferred(&t.1, "l", LazyOp::Add(1.0, 2.0)).unwrap();
        l.state_word().store(COMPUTING, Ordering::Release);
        let e = l.force_timeout(Duration::from_millis(20)).unwrap_err();
        assert!(matches!(e, Error::Timeout { .. }), "{e}");
        assert!(l.reset_abandoned());
        assert_eq!(l.force_timeout(Duration::from_millis(20)).unwrap(), 3.0);
    }

    #[test]
    fn layout_matches_the_reference_numbers() {
        let l = layout_for(4, 4); // i32 / f32
        assert_eq!(
            (l.op_type, l.data, l.data_b, l.cached, l.error, l.count, l.total),
            (4, 8, 12, 16, 20, 276, 280)
        );
        let l = layout_for(8, 8); // i64 / f64
        assert_eq!(
            (l.op_type, l.data, l.data_b, l.cached, l.error, l.count, l.total),
            (8, 16, 24, 32, 40, 296, 304)
        );
        let l = layout_for(2, 2); // i16
        assert_eq!(
            (l.op_type, l.data, l.cached, l.error, l.count, l.total),
            (4, 8, 16, 18, 276, 280)
        );
        let l = layout_for(1, 1); // u8
        assert_eq!(
            (l.data, l.data_b, l.cached, l.error, l.count, l.total),
            (8, 9, 16, 17, 276, 280)
        );
    }
}
