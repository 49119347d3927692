//! `Lazy<T>`: a value described by a small computation record, computed
//! once on first demand by whichever process asks first, then cached for
//! all.
//!
//! The normative layout is docs/FORMAT.md §4.6 (the C++ reference's generic
//! `Lazy<T>`; the Python reference's Lazy is a different, incompatible
//! layout, docs/FORMAT.md §7); the offsets are
//! [`zeroipc::format::lazy`](crate::format::lazy). The protocol (claim,
//! compute, publish; the `(state, compute_count)` seqlock for reads; the
//! open checks) is written once, over bytes, in [`RawLazy`], whose docs
//! describe it; [`Lazy<T>`] is its typed veneer.
//!
//! `T` is restricted to the integer and float primitives ([`Arithmetic`], a
//! sealed trait): the operations are arithmetic, and integer arithmetic
//! wraps (what the C++ reference produces in practice), so every process
//! computes the same bits. The C++ `Lazy<bool>` specialisation (another
//! layout) is not supported.
//!
//! Reference defect fixed (docs/FORMAT.md §8.3 #26): `add`/`multiply`
//! register the entry and only later write the operands, so a peer can force
//! `0 + 0` and cache it. Here the operands are forced first and written by
//! the registration's init closure, before the entry is published. Losers
//! of the race wait with bounded sleeps, and [`Lazy::force_timeout`] exists.
//!
//! # Creating, blocking, non-blocking and timed forms
//!
//! [`Lazy::create`] is the one entry point: a [`LazyOp::Constant`] is stored
//! already computed, an operation on values not yet computed.
//! [`Lazy::add`], [`Lazy::multiply`] and [`Lazy::negate`] build an operation
//! from other lazy values (forcing them now, as the reference does).
//!
//! | wait | blocking | non-blocking | timed |
//! |---|---|---|---|
//! | the value | [`Lazy::force`] | [`Lazy::peek`] (never computes) | [`Lazy::force_timeout`] |
//! | operands of a new value | [`Lazy::add`], [`Lazy::multiply`], [`Lazy::negate`] (bounded by [`OPERAND_WAIT`]) | — | [`Lazy::add_timeout`], [`Lazy::multiply_timeout`], [`Lazy::negate_timeout`] |
//!
//! # After SIGKILL
//!
//! A process killed while forcing leaves the state `COMPUTING`: every later
//! [`Lazy::force`] waits forever, [`Lazy::force_timeout`] returns
//! [`Error::Timeout`](crate::Error::Timeout), and [`Lazy::add`], [`Lazy::multiply`] and
//! [`Lazy::negate`] with it as an operand return [`Error::Timeout`](crate::Error::Timeout) after
//! [`OPERAND_WAIT`] (their `_timeout` forms after the caller's bound),
//! creating nothing. Since the computation is a pure function of the
//! stored record, [`Lazy::reset_abandoned`] may be used to put the state back
//! to `NOT_COMPUTED` once the forcing process is known to be dead (if it was
//! only slow, the value is computed twice, identically). A `COMPUTED` value,
//! once published, stays readable.

use super::zeroed;
use crate::element::{bytes_of, bytes_of_mut, ShmElement};
use crate::error::Result;
use crate::format::lazy as fmt;
use crate::layout::Prim;
use crate::raw::lazy::RawLazy;
use crate::region::Region;
use crate::segment::Segment;
use crate::wait::Deadline;
use std::marker::PhantomData;
use std::time::Duration;

/// How long [`Lazy::add`], [`Lazy::multiply`] and [`Lazy::negate`] wait for
/// an operand that another process is computing before presuming that
/// process dead: the peer-presumed-dead time of the crate, the same as
/// [`crate::codata::channel::CLOSE_GRACE`]. Computing an operand takes a
/// few instructions; a live peer is never that slow.
pub const OPERAND_WAIT: Duration = super::channel::CLOSE_GRACE;

mod sealed {
    pub trait Sealed {}
}

/// The element types a [`Lazy`] can hold: the integer and float primitives.
/// Sealed; integer operations wrap.
pub trait Arithmetic: ShmElement + PartialEq + std::fmt::Debug + sealed::Sealed {
    /// The primitive this type is (what [`RawLazy`] dispatches on).
    const PRIM: Prim;
    /// `a + b` (wrapping for integers).
    fn lazy_add(self, other: Self) -> Self;
    /// `a * b` (wrapping for integers).
    fn lazy_mul(self, other: Self) -> Self;
    /// `-a` (wrapping for integers, two's complement for unsigned).
    fn lazy_neg(self) -> Self;
}

macro_rules! arith_int {
    ($($t:ty => $p:ident),*) => {$(
        impl sealed::Sealed for $t {}
        impl Arithmetic for $t {
            const PRIM: Prim = Prim::$p;
            fn lazy_add(self, o: Self) -> Self { self.wrapping_add(o) }
            fn lazy_mul(self, o: Self) -> Self { self.wrapping_mul(o) }
            fn lazy_neg(self) -> Self { self.wrapping_neg() }
        }
    )*};
}
arith_int!(u8 => U8, u16 => U16, u32 => U32, u64 => U64, i8 => I8, i16 => I16, i32 => I32, i64 => I64);

macro_rules! arith_float {
    ($($t:ty => $p:ident),*) => {$(
        impl sealed::Sealed for $t {}
        impl Arithmetic for $t {
            const PRIM: Prim = Prim::$p;
            fn lazy_add(self, o: Self) -> Self { self + o }
            fn lazy_mul(self, o: Self) -> Self { self * o }
            fn lazy_neg(self) -> Self { -self }
        }
    )*};
}
arith_float!(f32 => F32, f64 => F64);

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

impl<T: Eq> Eq for LazyOp<T> {}

impl<T> LazyOp<T> {
    /// The same operation with every operand mapped through `f`.
    ///
    /// ```
    /// use zeroipc::LazyOp;
    /// assert_eq!(LazyOp::Add(1, 2).map(|x| x * 10), LazyOp::Add(10, 20));
    /// ```
    pub fn map<U>(self, mut f: impl FnMut(T) -> U) -> LazyOp<U> {
        match self {
            LazyOp::Constant(a) => LazyOp::Constant(f(a)),
            LazyOp::Add(a, b) => LazyOp::Add(f(a), f(b)),
            LazyOp::Multiply(a, b) => LazyOp::Multiply(f(a), f(b)),
            LazyOp::Negate(a) => LazyOp::Negate(f(a)),
            LazyOp::Chain(a, b) => LazyOp::Chain(a, b),
            LazyOp::External(a) => LazyOp::External(a),
            LazyOp::Unknown(t) => LazyOp::Unknown(t),
        }
    }

    /// The same operation borrowing its operands.
    pub fn as_ref(&self) -> LazyOp<&T> {
        match self {
            LazyOp::Constant(a) => LazyOp::Constant(a),
            LazyOp::Add(a, b) => LazyOp::Add(a, b),
            LazyOp::Multiply(a, b) => LazyOp::Multiply(a, b),
            LazyOp::Negate(a) => LazyOp::Negate(a),
            LazyOp::Chain(a, b) => LazyOp::Chain(*a, *b),
            LazyOp::External(a) => LazyOp::External(*a),
            LazyOp::Unknown(t) => LazyOp::Unknown(*t),
        }
    }
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

impl LazyState {
    /// The state a stored number means.
    pub fn from_raw(v: u32) -> LazyState {
        match v {
            fmt::NOT_COMPUTED => LazyState::NotComputed,
            fmt::COMPUTING => LazyState::Computing,
            fmt::COMPUTED => LazyState::Computed,
            fmt::ERROR => LazyState::Error,
            v => LazyState::Unknown(v),
        }
    }
}

/// A shared, computed-once value: a typed veneer over [`RawLazy`].
///
/// ```
/// use zeroipc::{Lazy, LazyOp, Segment};
/// let name = format!("/zeroipc-doc-lazy-{}", std::process::id());
/// let seg = Segment::create(&name, 1 << 16)?;
/// let a = Lazy::<f64>::create(&seg, "a", LazyOp::Constant(1.5))?;
/// let b = Lazy::<f64>::create(&seg, "b", LazyOp::Constant(2.0))?;
/// let sum = Lazy::add(&seg, "sum", &a, &b)?;
/// assert_eq!(sum.peek(), None);          // not computed yet
/// assert_eq!(sum.force()?, 3.5);         // computed once...
/// let again = Lazy::<f64>::open(&seg, "sum")?; // ...e.g. by another process
/// assert_eq!(again.force()?, 3.5);       // ...and cached
/// assert_eq!(again.compute_count(), 1);
/// let p = Lazy::<f64>::create(&seg, "p", LazyOp::Multiply(3.0, 0.5))?;
/// assert_eq!(p.force()?, 1.5);
/// Segment::unlink(&name)?;
/// # Ok::<(), zeroipc::Error>(())
/// ```
// Clone: `T: Copy` (ShmElement), so the derive adds no real bound.
#[derive(Clone)]
pub struct Lazy<T: Arithmetic> {
    raw: RawLazy,
    _t: PhantomData<T>,
}

impl<T: Arithmetic> std::fmt::Debug for Lazy<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lazy")
            .field("region", self.raw.region())
            .field("state", &self.state())
            .finish()
    }
}

impl<T: Arithmetic> Lazy<T> {
    /// Entry size of the C++ header for `T`.
    #[cfg(test)]
    pub(crate) fn size_for() -> u64 {
        fmt::entry_size(crate::format::ElemLayout::of::<T>()).expect("a primitive's layout fits")
    }

    fn register(seg: &Segment, name: &str, op: LazyOp<T>, computed: bool) -> Result<Self> {
        let raw = RawLazy::register(seg, name, T::PRIM, op.as_ref().map(bytes_of), computed)?;
        Ok(Lazy {
            raw,
            _t: PhantomData,
        })
    }

    /// Creates the lazy value `name` for `op`: a [`LazyOp::Constant`] is
    /// stored already computed (the reference's constant constructor;
    /// `compute_count` stays 0), [`LazyOp::Add`], [`LazyOp::Multiply`] and
    /// [`LazyOp::Negate`] not yet computed, their operands written before
    /// the entry becomes visible. Chain/External/Unknown are refused
    /// ([`Error::InvalidParameter`](crate::Error::InvalidParameter), nothing created).
    pub fn create(seg: &Segment, name: &str, op: LazyOp<T>) -> Result<Self> {
        Self::register(seg, name, op, true)
    }

    /// A computed constant: `create(seg, name, LazyOp::Constant(v))`.
    pub fn constant(seg: &Segment, name: &str, v: T) -> Result<Self> {
        Self::create(seg, name, LazyOp::Constant(v))
    }

    /// Like [`Lazy::create`], but a constant too is stored not yet computed
    /// (copied to the cache by the first force).
    pub fn deferred(seg: &Segment, name: &str, op: LazyOp<T>) -> Result<Self> {
        Self::register(seg, name, op, false)
    }

    /// `x + y`: forces both operands now (as the reference does), then
    /// creates the not-yet-computed sum with the operands already in place.
    ///
    /// Waiting for an operand that another process is computing is bounded
    /// by [`OPERAND_WAIT`]: an operand still COMPUTING after that (its
    /// computing process presumably died; see [`Lazy::reset_abandoned`])
    /// gives [`Error::Timeout`](crate::Error::Timeout) naming the operand, and nothing is created.
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
    /// that another process is computing ([`Error::Timeout`](crate::Error::Timeout) naming the
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
        let (a, b) = force_pair(x, y, &Deadline::after(timeout))?;
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
        let (a, b) = force_pair(x, y, &Deadline::after(timeout))?;
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
        let a = x.force_until(&Deadline::after(timeout))?;
        Self::deferred(seg, name, LazyOp::Negate(a))
    }

    /// Opens the lazy value named `name`, checking its size against `T`
    /// (and, on a self-describing segment, that it was created as a lazy
    /// value of this layout).
    pub fn open(seg: &Segment, name: &str) -> Result<Self> {
        Ok(Lazy {
            raw: RawLazy::open(seg, name, Some(T::PRIM))?,
            _t: PhantomData,
        })
    }

    /// The underlying region.
    pub fn region(&self) -> &Region {
        self.raw.region()
    }

    /// The protocol core this veneer calls (for tools).
    pub fn raw(&self) -> &RawLazy {
        &self.raw
    }

    /// The current state (acquire load).
    pub fn state(&self) -> LazyState {
        LazyState::from_raw(self.raw.state())
    }

    /// How many times the value was computed (constants: 0).
    pub fn compute_count(&self) -> u32 {
        self.raw.compute_count()
    }

    /// The stored operation record. Written once at creation (by us before
    /// publication; by a C++ `add`/`multiply` possibly just after).
    pub fn op(&self) -> LazyOp<T> {
        let (mut a, mut b) = (zeroed::<T>(), zeroed::<T>());
        match self
            .raw
            .operands(bytes_of_mut(&mut a), bytes_of_mut(&mut b))
        {
            fmt::OP_CONSTANT => LazyOp::Constant(a),
            fmt::OP_ADD => LazyOp::Add(a, b),
            fmt::OP_MULTIPLY => LazyOp::Multiply(a, b),
            fmt::OP_NEGATE => LazyOp::Negate(a),
            _ => self.raw.op().map(|_| a),
        }
    }

    /// The error message if forcing failed.
    pub fn error_message(&self) -> Option<String> {
        self.raw.error_message()
    }

    /// The value if it is computed, without computing it.
    #[inline]
    pub fn peek(&self) -> Option<T> {
        // A `None` from a concurrent reset/recompute is an honest answer.
        let mut v = zeroed::<T>();
        self.raw.read_cached(bytes_of_mut(&mut v)).then_some(v)
    }

    /// True when the value is computed.
    pub fn is_computed(&self) -> bool {
        self.raw.state() == fmt::COMPUTED
    }

    fn settle_until(&self, deadline: &Deadline) -> Result<()> {
        self.raw.settle_until(deadline)
    }

    /// Forces the value, waiting for another process's computation until
    /// `deadline` (one deadline may cover several operands).
    #[inline]
    fn force_until(&self, deadline: &Deadline) -> Result<T> {
        let mut v = zeroed::<T>();
        self.raw.force_until(bytes_of_mut(&mut v), deadline)?;
        Ok(v)
    }

    /// The value, computing it if nobody has (exactly one process computes;
    /// the others wait for it). [`Error::Failed`](crate::Error::Failed) if the computation failed.
    /// Waits forever if the computing process died (see the module docs).
    pub fn force(&self) -> Result<T> {
        self.force_until(&Deadline::forever())
    }

    /// Like [`Lazy::force`], but waits for another process's computation at
    /// most `timeout` ([`Error::Timeout`](crate::Error::Timeout)).
    pub fn force_timeout(&self, timeout: Duration) -> Result<T> {
        self.force_until(&Deadline::after(timeout))
    }

    /// Forgets the computed value so the next force computes it again:
    /// `CAS(COMPUTED -> NOT_COMPUTED)`. Returns false if it was not computed
    /// (an ERROR stays, as in the reference).
    pub fn reset(&self) -> bool {
        self.raw.reset()
    }

    /// Recovery after a forcing process died: `CAS(COMPUTING ->
    /// NOT_COMPUTED)`. Call it only when the process that claimed the
    /// computation is known to be gone; if it is merely slow, the value is
    /// computed twice (identically, since the record is immutable) and
    /// `compute_count` counts both.
    pub fn reset_abandoned(&self) -> bool {
        self.raw.reset_abandoned()
    }
}

/// Forces two operands for a binary operation. Both are first waited for
/// until neither is being computed by someone else, so that a timeout on
/// one leaves the other exactly as it was (a failed creation changes no
/// byte); only then are they forced (which may compute and cache them).
/// A party that starts computing `y` between the two steps can still make
/// `y` time out after `x` was computed: forcing is idempotent caching, and
/// that window is the length of one force of `x`.
fn force_pair<T: Arithmetic>(x: &Lazy<T>, y: &Lazy<T>, deadline: &Deadline) -> Result<(T, T)> {
    x.settle_until(deadline)?;
    y.settle_until(deadline)?;
    Ok((x.force_until(deadline)?, y.force_until(deadline)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codata::testutil::seg;
    use crate::region::atomic::Ordering;
    use crate::Error;

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
        e.region()
            .write::<u32>(e.raw.layout().op_type as usize, fmt::OP_EXTERNAL);
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
        l.raw.state_word().store(fmt::COMPUTING, Ordering::Release);
        let e = l.force_timeout(Duration::from_millis(20)).unwrap_err();
        assert!(matches!(e, Error::Timeout { .. }), "{e}");
        assert!(l.reset_abandoned());
        assert_eq!(l.force_timeout(Duration::from_millis(20)).unwrap(), 3.0);
    }
}
