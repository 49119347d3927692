//! The table of operations that fail without blocking or time out, shared
//! by `failed_ops.rs` (the other party is a second handle in this process)
//! and `failed_ops_mp.rs` (the other party is a child process). Issue 11 §1:
//! a failed or timed-out operation must leave every byte of the segment as
//! it was, and must not disturb what another party holds.
//!
//! One row per (structure, operation):
//! - `setup`: the other party, on its own mapping of the segment, creates
//!   the structure and holds or fills it so that the operation must fail;
//!   it returns what it holds (guards, handles, threads).
//! - `prepare`: our side opens its own handles on a second mapping and
//!   returns the failing operation as a closure, which reports how it
//!   failed (`Ok`) or that it did not fail as expected (`Err`).
//! - `check`: the other party verifies that its state is intact (the
//!   holder still holds and can release exactly once, the queue still pops
//!   the same items, ...) and releases it.
//!
//! The driver ([`judge`]) compares whole-file snapshots of `/dev/shm/<name>`
//! taken before `prepare`, after `prepare` and after the operation (our
//! handles dropped). Adding a case is adding one row to [`cases`].
#![allow(dead_code)]

use std::any::Any;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};
use zeroipc::codata::channel::select;
use zeroipc::codata::stream::StreamVoid;
use zeroipc::data::map::MapInsert;
use zeroipc::data::set::SetInsert;
use zeroipc::format;
use zeroipc::sync::{MonitorGuard, MutexGuard, OnceState, RwLockReadGuard, RwLockWriteGuard};
use zeroipc::{
    Array, Barrier, Channel, Error, Event, EventMode, Future, FutureState, Latch, Lazy, LazyOp,
    LazyState, Map, Monitor, Mutex, Once, Pool, PoolHandle, Queue, Ring, RwLock, Segment,
    Semaphore, Set, Signal, Stack, Stream,
};

/// Errors of setups, operations and checks.
pub type R<T> = Result<T, Box<dyn std::error::Error>>;
/// What the other party holds between `setup` and `check`.
pub type Held = Box<dyn Any>;
/// A failing operation, ready to run: `Ok(how it failed)`, `Err(what went wrong)`.
pub type Op = Box<dyn FnOnce() -> R<String>>;

/// Size of each case's segment.
pub const SEGMENT_SIZE: u64 = 1 << 16;
/// The timeout given to every timed operation (it is expected to expire).
pub const SHORT: Duration = Duration::from_millis(20);
/// A bound on waits that are expected to succeed (generous: loaded machine).
pub const LONG: Duration = Duration::from_secs(10);
/// A failing operation must return within this (it is a bound, not a measurement).
pub const OP_BOUND: Duration = Duration::from_secs(10);

/// Which bytes a failed operation may change.
#[derive(Clone, Debug)]
pub enum Bytes {
    /// None (the rule).
    Unchanged,
    /// A documented exception of the structure's protocol: only these
    /// ranges (entry name, byte range within the entry) may change.
    Documented {
        why: &'static str,
        allowed: &'static [(&'static str, Range<usize>)],
    },
}

/// One row of the table.
pub struct Case {
    pub kind: &'static str,
    pub op: &'static str,
    pub setup: fn(&Segment) -> R<Held>,
    pub prepare: fn(&Segment) -> R<Op>,
    pub check: fn(&Segment, Held) -> R<()>,
    pub bytes: Bytes,
    /// `prepare` itself writes (it creates an entry or arrives at a
    /// barrier); only then may the snapshots before and after it differ.
    pub prepare_writes: bool,
}

impl Case {
    fn documented(
        mut self,
        why: &'static str,
        allowed: &'static [(&'static str, Range<usize>)],
    ) -> Case {
        self.bytes = Bytes::Documented { why, allowed };
        self
    }

    fn prepare_writes(mut self) -> Case {
        self.prepare_writes = true;
        self
    }

    /// "Kind: op", for messages.
    pub fn label(&self) -> String {
        format!("{}: {}", self.kind, self.op)
    }
}

fn row(
    kind: &'static str,
    op: &'static str,
    setup: fn(&Segment) -> R<Held>,
    prepare: fn(&Segment) -> R<Op>,
    check: fn(&Segment, Held) -> R<()>,
) -> Case {
    Case {
        kind,
        op,
        setup,
        prepare,
        check,
        bytes: Bytes::Unchanged,
        prepare_writes: false,
    }
}

/// The usual row: our side opens a `$ty` named "x" as `$h` and runs `$body`.
macro_rules! case {
    ($kind:expr, $op:expr, $setup:expr, $check:expr; $h:ident: $ty:ty => $body:expr) => {
        row(
            $kind,
            $op,
            $setup,
            |s| {
                let $h = <$ty>::open(s, "x")?;
                op(move || $body)
            },
            $check,
        )
    };
}

// ----------------------------------------------------------------- helpers

fn op(f: impl FnOnce() -> R<String> + 'static) -> R<Op> {
    Ok(Box::new(f))
}

fn held<T: 'static>(t: T) -> R<Held> {
    Ok(Box::new(t))
}

fn take<T: 'static>(h: Held) -> R<T> {
    h.downcast::<T>()
        .map(|b| *b)
        .map_err(|_| format!("held state is not a {}", std::any::type_name::<T>()).into())
}

/// A handle that lives for the rest of the process, so that a guard
/// borrowing it can be held between `setup` and `check`.
fn leak<T>(t: T) -> &'static T {
    Box::leak(Box::new(t))
}

fn ensure(cond: bool, what: impl FnOnce() -> String) -> R<()> {
    if cond {
        Ok(())
    } else {
        Err(what().into())
    }
}

fn ensure_eq<T: PartialEq + std::fmt::Debug>(got: T, want: T, what: &str) -> R<()> {
    ensure(got == want, || {
        format!("{what}: got {got:?}, expected {want:?}")
    })
}

fn timed_out<T: std::fmt::Debug>(r: zeroipc::Result<T>) -> R<String> {
    match r {
        Err(e @ Error::Timeout { .. }) => Ok(format!("Err({e})")),
        other => Err(format!("expected Err(Timeout), got {other:?}").into()),
    }
}

fn closed<T: std::fmt::Debug>(r: zeroipc::Result<T>) -> R<String> {
    match r {
        Err(e @ Error::Closed { .. }) => Ok(format!("Err({e})")),
        other => Err(format!("expected Err(Closed), got {other:?}").into()),
    }
}

fn failed<T: std::fmt::Debug>(r: zeroipc::Result<T>) -> R<String> {
    match r {
        Err(e @ Error::Failed { .. }) => Ok(format!("Err({e})")),
        other => Err(format!("expected Err(Failed), got {other:?}").into()),
    }
}

fn any_err<T: std::fmt::Debug>(r: zeroipc::Result<T>) -> R<String> {
    match r {
        Err(e) => Ok(format!("Err({e})")),
        Ok(v) => Err(format!("expected an error, got Ok({v:?})").into()),
    }
}

fn none<T: std::fmt::Debug>(o: Option<T>) -> R<String> {
    match o {
        None => Ok("None".into()),
        Some(v) => Err(format!("expected None, got Some({v:?})").into()),
    }
}

fn ok_none<T: std::fmt::Debug>(r: zeroipc::Result<Option<T>>) -> R<String> {
    match r {
        Ok(None) => Ok("Ok(None)".into()),
        other => Err(format!("expected Ok(None), got {other:?}").into()),
    }
}

fn ok_false(r: zeroipc::Result<bool>) -> R<String> {
    match r {
        Ok(false) => Ok("Ok(false)".into()),
        other => Err(format!("expected Ok(false), got {other:?}").into()),
    }
}

fn is_false(b: bool) -> R<String> {
    ensure(!b, || "expected false, got true".into())?;
    Ok("false".into())
}

fn zero(n: usize) -> R<String> {
    ensure(n == 0, || format!("expected 0, got {n}"))?;
    Ok("0".into())
}

fn given_back<T: std::fmt::Debug + PartialEq>(r: Result<(), T>, v: T) -> R<String> {
    match r {
        Err(back) if back == v => Ok(format!("Err({back:?}) (value given back)")),
        other => Err(format!("expected Err({v:?}), got {other:?}").into()),
    }
}

/// A timed-out send that handed its value back (`SendError` with `Error::Timeout`).
fn timed_out_given_back<T: std::fmt::Debug + PartialEq>(
    r: Result<(), zeroipc::SendError<T>>,
    v: T,
) -> R<String> {
    match r {
        Err(e) if e.is_timeout() && e.value == v => {
            Ok(format!("Err({}) ({:?} given back)", e.error, e.value))
        }
        other => Err(format!("expected Err(Timeout) giving back {v:?}, got {other:?}").into()),
    }
}

/// Polls `cond` for up to [`LONG`].
/// A try-send that found no room and handed its value back
/// (`SendError` with `Error::Full`).
fn full_given_back<T: std::fmt::Debug + PartialEq>(
    r: Result<(), zeroipc::SendError<T>>,
    v: T,
) -> R<String> {
    match r {
        Err(e) if e.is_full() && e.value == v => {
            Ok(format!("Err({}) ({:?} given back)", e.error, e.value))
        }
        other => Err(format!("expected Err(Full) giving back {v:?}, got {other:?}").into()),
    }
}

/// A send on a closed structure that handed its value back (`SendError`
/// with `Error::Closed`).
fn closed_given_back<T: std::fmt::Debug + PartialEq>(
    r: Result<(), zeroipc::SendError<T>>,
    v: T,
) -> R<String> {
    match r {
        Err(e) if e.is_closed() && e.value == v => {
            Ok(format!("Err({}) ({:?} given back)", e.error, e.value))
        }
        other => Err(format!("expected Err(Closed) giving back {v:?}, got {other:?}").into()),
    }
}

fn eventually(what: &str, mut cond: impl FnMut() -> bool) -> R<()> {
    let start = Instant::now();
    while !cond() {
        if start.elapsed() > LONG {
            return Err(format!("timed out waiting for {what}").into());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(())
}

// ------------------------------------------------------------------ Array

fn array_filled(seg: &Segment) -> R<Held> {
    let a = Array::<u64>::create(seg, "x", 4)?;
    a.write_from(0, &[1, 2, 3, 4])?;
    held(a)
}

fn array_intact(_: &Segment, h: Held) -> R<()> {
    let a = take::<Array<u64>>(h)?;
    ensure_eq(a.to_vec(), vec![1, 2, 3, 4], "array contents")
}

fn array_rows() -> Vec<Case> {
    vec![
        case!("Array", "get(len) out of range", array_filled, array_intact;
            a: Array::<u64> => any_err(a.get(4))),
        case!("Array", "get(usize::MAX) out of range", array_filled, array_intact;
            a: Array::<u64> => any_err(a.get(usize::MAX))),
        case!("Array", "set(len) out of range", array_filled, array_intact;
            a: Array::<u64> => any_err(a.set(4, 99))),
        case!("Array", "read_into past the end", array_filled, array_intact;
        a: Array::<u64> => {
            let mut out = [7u64; 2];
            let r = any_err(a.read_into(3, &mut out))?;
            ensure_eq(out, [7, 7], "caller's buffer after a refused read")?;
            Ok(r)
        }),
        case!("Array", "write_from straddling the end", array_filled, array_intact;
            a: Array::<u64> => any_err(a.write_from(3, &[99, 99]))),
        case!("Array", "write_from(usize::MAX) overflowing", array_filled, array_intact;
            a: Array::<u64> => any_err(a.write_from(usize::MAX, &[99]))),
    ]
}

// ------------------------------------------------------------ Queue, Stack

const FILL: [u64; 4] = [10, 11, 12, 13];

fn queue_full(seg: &Segment) -> R<Held> {
    let q = Queue::<u64>::create(seg, "x", 4)?;
    ensure_eq(q.capacity(), 4, "queue capacity")?;
    for v in FILL {
        q.push(v).map_err(|v| format!("setup push {v} refused"))?;
    }
    held(q)
}

fn queue_full_intact(_: &Segment, h: Held) -> R<()> {
    let q = take::<Queue<u64>>(h)?;
    ensure_eq(q.len(), 4, "queue length")?;
    let got: Vec<Option<u64>> = (0..5).map(|_| q.pop()).collect();
    ensure_eq(
        got,
        vec![Some(10), Some(11), Some(12), Some(13), None],
        "pops",
    )
}

fn queue_empty(seg: &Segment) -> R<Held> {
    let q = Queue::<u64>::create(seg, "x", 4)?;
    // Move the counters off zero, so an undone claim would show.
    q.push(1).map_err(|_| "setup push refused")?;
    ensure_eq(q.pop(), Some(1), "setup pop")?;
    held(q)
}

fn queue_empty_intact(_: &Segment, h: Held) -> R<()> {
    let q = take::<Queue<u64>>(h)?;
    ensure(q.is_empty(), || "queue not empty".into())?;
    q.push(5).map_err(|_| "push after the failed op refused")?;
    ensure_eq((q.pop(), q.pop()), (Some(5), None), "pops")
}

fn stack_full(seg: &Segment) -> R<Held> {
    let st = Stack::<u64>::create(seg, "x", 4)?;
    for v in FILL {
        st.push(v).map_err(|v| format!("setup push {v} refused"))?;
    }
    held(st)
}

fn stack_full_intact(_: &Segment, h: Held) -> R<()> {
    let st = take::<Stack<u64>>(h)?;
    ensure_eq(st.len(), 4, "stack length")?;
    let got: Vec<Option<u64>> = (0..5).map(|_| st.pop()).collect();
    ensure_eq(
        got,
        vec![Some(13), Some(12), Some(11), Some(10), None],
        "pops",
    )
}

fn stack_empty(seg: &Segment) -> R<Held> {
    let st = Stack::<u64>::create(seg, "x", 4)?;
    st.push(1).map_err(|_| "setup push refused")?;
    ensure_eq(st.pop(), Some(1), "setup pop")?;
    held(st)
}

fn stack_empty_intact(_: &Segment, h: Held) -> R<()> {
    let st = take::<Stack<u64>>(h)?;
    ensure(st.is_empty(), || "stack not empty".into())?;
    st.push(5).map_err(|_| "push after the failed op refused")?;
    ensure_eq(
        (st.peek(), st.pop(), st.pop()),
        (Some(5), Some(5), None),
        "peek, pops",
    )
}

/// Offset of slot `i`'s sequence word in a `Queue<u64>` of capacity 4.
fn queue_seq(i: u64) -> R<usize> {
    let seq =
        format::queue::seq_offset(4, format::ElemLayout::of::<u64>()).ok_or("queue layout")?;
    Ok((seq + format::queue::SEQ_SIZE * i) as usize)
}

/// Head = tail = 1, then the other party claims ticket 1 (tail 1 -> 2) and
/// has not written its value yet: a producer inside `push`.
fn queue_mid_push(seg: &Segment) -> R<Held> {
    let q = Queue::<u64>::create(seg, "x", 4)?;
    q.push(1).map_err(|_| "setup push refused")?;
    ensure_eq(q.pop(), Some(1), "setup pop")?;
    let tail = q.region().atomic_u32(format::queue::TAIL as usize);
    let claimed = tail.compare_exchange(1, 2, Ordering::Relaxed, Ordering::Relaxed);
    ensure_eq(claimed, Ok(1), "setup claim of ticket 1")?;
    held(q)
}

/// The producer is still inside; it then publishes ticket 1 and the value
/// comes out exactly once.
fn queue_mid_push_intact(_: &Segment, h: Held) -> R<()> {
    let q = take::<Queue<u64>>(h)?;
    let seq = q.region().atomic_u32(queue_seq(1)?);
    ensure_eq(
        seq.load(Ordering::Acquire),
        1,
        "slot 1 sequence (unpublished)",
    )?;
    q.region()
        .write::<u64>(format::queue::DATA as usize + 8, 77);
    seq.store(2, Ordering::Release); // publish ticket 1
    ensure_eq(
        (q.pop(), q.pop()),
        (Some(77), None),
        "pops after publishing",
    )
}

/// Offset of slot `i`'s state word in a `Stack<u64>` of capacity 4.
fn stack_state(i: u64) -> R<usize> {
    let st =
        format::stack::state_offset(4, format::ElemLayout::of::<u64>()).ok_or("stack layout")?;
    Ok((st + 4 * i) as usize)
}

/// Value 1 in slot 0, then the other party reserves index 1 (top 0 -> 1)
/// and claims slot 1 (EMPTY -> WRITING): a pusher inside `push`.
fn stack_mid_push(seg: &Segment) -> R<Held> {
    let st = Stack::<u64>::create(seg, "x", 4)?;
    st.push(1).map_err(|_| "setup push refused")?;
    let top = st.region().atomic_i32(format::stack::TOP as usize);
    ensure_eq(
        top.compare_exchange(0, 1, Ordering::AcqRel, Ordering::Relaxed),
        Ok(0),
        "setup reservation of index 1",
    )?;
    let state = st.region().atomic_u32(stack_state(1)?);
    ensure_eq(
        state.compare_exchange(
            format::stack::EMPTY,
            format::stack::WRITING,
            Ordering::AcqRel,
            Ordering::Relaxed,
        ),
        Ok(format::stack::EMPTY),
        "setup claim of slot 1",
    )?;
    held(st)
}

fn stack_mid_push_intact(_: &Segment, h: Held) -> R<()> {
    let st = take::<Stack<u64>>(h)?;
    let state = st.region().atomic_u32(stack_state(1)?);
    ensure_eq(
        state.load(Ordering::Acquire),
        format::stack::WRITING,
        "slot 1 state",
    )?;
    ensure_eq(st.len(), 2, "len (top 1)")?;
    st.region()
        .write::<u64>(format::stack::DATA as usize + 8, 77);
    state.store(format::stack::READY, Ordering::Release); // publish
    let got: Vec<Option<u64>> = (0..3).map(|_| st.pop()).collect();
    ensure_eq(got, vec![Some(77), Some(1), None], "pops after publishing")
}

/// Values 1 and 2, then the other party reserves index 1 for a pop (top
/// 1 -> 0) and claims slot 1 (READY -> READING): a popper inside `pop`.
fn stack_mid_pop(seg: &Segment) -> R<Held> {
    let st = Stack::<u64>::create(seg, "x", 4)?;
    for v in [1, 2] {
        st.push(v).map_err(|_| "setup push refused")?;
    }
    let top = st.region().atomic_i32(format::stack::TOP as usize);
    ensure_eq(
        top.compare_exchange(1, 0, Ordering::AcqRel, Ordering::Relaxed),
        Ok(1),
        "setup reservation of index 1",
    )?;
    let state = st.region().atomic_u32(stack_state(1)?);
    ensure_eq(
        state.compare_exchange(
            format::stack::READY,
            format::stack::READING,
            Ordering::AcqRel,
            Ordering::Relaxed,
        ),
        Ok(format::stack::READY),
        "setup claim of slot 1",
    )?;
    held(st)
}

/// The popper is still inside; it finishes (takes 2, frees the slot), and
/// the stack then holds exactly 1.
fn stack_mid_pop_intact(_: &Segment, h: Held) -> R<()> {
    let st = take::<Stack<u64>>(h)?;
    let state = st.region().atomic_u32(stack_state(1)?);
    ensure_eq(
        state.load(Ordering::Acquire),
        format::stack::READING,
        "slot 1 state",
    )?;
    ensure_eq(st.len(), 1, "len (top 0)")?;
    let v = st.region().read::<u64>(format::stack::DATA as usize + 8);
    state.store(format::stack::EMPTY, Ordering::Release); // the pop completes
    ensure_eq(v, 2, "the popper's value")?;
    let got: Vec<Option<u64>> = (0..2).map(|_| st.pop()).collect();
    ensure_eq(got, vec![Some(1), None], "pops after the popper left")
}

fn queue_stack_rows() -> Vec<Case> {
    vec![
        case!("Queue", "push on full", queue_full, queue_full_intact;
            q: Queue::<u64> => given_back(q.push(99), 99)),
        case!("Queue", "push_timeout on full", queue_full, queue_full_intact;
            q: Queue::<u64> => timed_out_given_back(q.push_timeout(99, SHORT), 99)),
        case!("Queue", "pop on empty", queue_empty, queue_empty_intact;
            q: Queue::<u64> => none(q.pop())),
        case!("Queue", "pop_timeout on empty", queue_empty, queue_empty_intact;
            q: Queue::<u64> => timed_out(q.pop_timeout(SHORT))),
        case!("Stack", "push on full", stack_full, stack_full_intact;
            st: Stack::<u64> => given_back(st.push(99), 99)),
        case!("Stack", "push_timeout on full", stack_full, stack_full_intact;
            st: Stack::<u64> => timed_out_given_back(st.push_timeout(99, SHORT), 99)),
        case!("Stack", "pop on empty", stack_empty, stack_empty_intact;
            st: Stack::<u64> => none(st.pop())),
        case!("Stack", "pop_timeout on empty", stack_empty, stack_empty_intact;
            st: Stack::<u64> => timed_out(st.pop_timeout(SHORT))),
        case!("Queue", "pop while a producer is inside push", queue_mid_push, queue_mid_push_intact;
            q: Queue::<u64> => none(q.pop())),
        case!("Queue", "pop_timeout while a producer is inside push", queue_mid_push, queue_mid_push_intact;
            q: Queue::<u64> => timed_out(q.pop_timeout(SHORT))),
        case!("Stack", "pop while a pusher is inside push (claim gives up, rolls back)", stack_mid_push, stack_mid_push_intact;
            st: Stack::<u64> => none(st.pop())),
        case!("Stack", "peek while a pusher is inside push", stack_mid_push, stack_mid_push_intact;
            st: Stack::<u64> => none(st.peek())),
        case!("Stack", "push while a popper is inside pop (claim gives up, rolls back)", stack_mid_pop, stack_mid_pop_intact;
            st: Stack::<u64> => given_back(st.push(99), 99)),
        case!("Stack", "peek on empty", stack_empty, stack_empty_intact;
            st: Stack::<u64> => none(st.peek())),
        // Batches (issue 15): nothing moves, every byte stays.
        case!("Queue", "push_slice on full", queue_full, queue_full_intact;
            q: Queue::<u64> => zero(q.push_slice(&[99, 98]))),
        case!("Queue", "push_slice_timeout on full", queue_full, queue_full_intact;
            q: Queue::<u64> => timed_out(q.push_slice_timeout(&[99, 98], SHORT))),
        case!("Queue", "pop_slice on empty", queue_empty, queue_empty_intact;
            q: Queue::<u64> => zero(q.pop_slice(&mut [0; 2]))),
        case!("Queue", "pop_slice_timeout on empty", queue_empty, queue_empty_intact;
            q: Queue::<u64> => timed_out(q.pop_slice_timeout(&mut [0; 2], SHORT))),
        case!("Queue", "pop_slice while a producer is inside push", queue_mid_push, queue_mid_push_intact;
            q: Queue::<u64> => zero(q.pop_slice(&mut [0; 2]))),
        case!("Stack", "push_slice on full", stack_full, stack_full_intact;
            st: Stack::<u64> => zero(st.push_slice(&[99, 98]))),
        case!("Stack", "push_slice_timeout on full", stack_full, stack_full_intact;
            st: Stack::<u64> => timed_out(st.push_slice_timeout(&[99, 98], SHORT))),
        case!("Stack", "pop_slice on empty", stack_empty, stack_empty_intact;
            st: Stack::<u64> => zero(st.pop_slice(&mut [0; 2]))),
        case!("Stack", "pop_slice_timeout on empty", stack_empty, stack_empty_intact;
            st: Stack::<u64> => timed_out(st.pop_slice_timeout(&mut [0; 2], SHORT))),
    ]
}

// ------------------------------------------------------------------- Ring

fn ring_full(seg: &Segment) -> R<Held> {
    let r = Ring::<u64>::create(seg, "x", 4)?;
    ensure_eq(r.write_bulk(&FILL), 4, "setup write_bulk")?;
    held(r)
}

fn ring_full_intact(_: &Segment, h: Held) -> R<()> {
    let r = take::<Ring<u64>>(h)?;
    ensure(r.is_full(), || "ring not full".into())?;
    let got: Vec<Option<u64>> = (0..5).map(|_| r.read()).collect();
    ensure_eq(
        got,
        vec![Some(10), Some(11), Some(12), Some(13), None],
        "reads",
    )
}

fn ring_empty(seg: &Segment) -> R<Held> {
    let r = Ring::<u64>::create(seg, "x", 4)?;
    r.write(1).map_err(|_| "setup write refused")?;
    ensure_eq(r.read(), Some(1), "setup read")?;
    held(r)
}

fn ring_empty_intact(_: &Segment, h: Held) -> R<()> {
    let r = take::<Ring<u64>>(h)?;
    ensure(r.is_empty(), || "ring not empty".into())?;
    r.write(5)
        .map_err(|_| "write after the failed op refused")?;
    ensure_eq((r.read(), r.read()), (Some(5), None), "reads")
}

fn ring_rows() -> Vec<Case> {
    vec![
        case!("Ring", "write on full", ring_full, ring_full_intact;
            r: Ring::<u64> => given_back(r.write(99), 99)),
        case!("Ring", "write_bulk on full", ring_full, ring_full_intact;
            r: Ring::<u64> => zero(r.write_bulk(&[99, 98]))),
        case!("Ring", "write_timeout on full", ring_full, ring_full_intact;
            r: Ring::<u64> => timed_out_given_back(r.write_timeout(99, SHORT), 99)),
        case!("Ring", "read on empty", ring_empty, ring_empty_intact;
            r: Ring::<u64> => none(r.read())),
        case!("Ring", "read_timeout on empty", ring_empty, ring_empty_intact;
            r: Ring::<u64> => timed_out(r.read_timeout(SHORT))),
        case!("Ring", "read_bulk on empty", ring_empty, ring_empty_intact;
        r: Ring::<u64> => {
            let mut out = [7u64; 3];
            let r = zero(r.read_bulk(&mut out))?;
            ensure_eq(out, [7, 7, 7], "caller's buffer")?;
            Ok(r)
        }),
    ]
}

// --------------------------------------------------------------- Map, Set

/// Byte offset of slot 0's state word in a Map/Set entry.
const SLOT0_STATE: usize = (format::map::SLOTS + format::map::SLOT_STATE) as usize;
use format::map::{INSERTING, OCCUPIED};

fn map_full(seg: &Segment) -> R<Held> {
    let m = Map::<u32, u64>::create(seg, "x", 4)?;
    for k in 1..=4u32 {
        ensure_eq(
            m.insert(k, k as u64 * 10),
            MapInsert::Inserted,
            "setup insert",
        )?;
    }
    held(m)
}

fn map_full_intact(_: &Segment, h: Held) -> R<()> {
    let m = take::<Map<u32, u64>>(h)?;
    let mut e = m.entries();
    e.sort();
    ensure_eq(e, vec![(1, 10), (2, 20), (3, 30), (4, 40)], "entries")?;
    ensure_eq(m.len(), 4, "len")?;
    ensure_eq(m.remove(&2), Some(20), "remove(2)")?;
    ensure_eq(
        m.insert(9, 90),
        MapInsert::Inserted,
        "insert into the freed slot",
    )
}

/// Capacity 1, key 7 inserted, then its slot claimed (OCCUPIED ->
/// INSERTING) by the other party, as an updater mid-write holds it.
fn map_claimed(seg: &Segment) -> R<Held> {
    let m = Map::<u32, u64>::create(seg, "x", 1)?;
    ensure_eq(m.insert(7, 70), MapInsert::Inserted, "setup insert")?;
    let claimed = m.region().atomic_u32(SLOT0_STATE).compare_exchange(
        OCCUPIED,
        INSERTING,
        Ordering::Acquire,
        Ordering::Relaxed,
    );
    ensure_eq(claimed, Ok(OCCUPIED), "setup claim of slot 0")?;
    held(m)
}

fn map_claimed_intact(_: &Segment, h: Held) -> R<()> {
    let m = take::<Map<u32, u64>>(h)?;
    let state = m.region().atomic_u32(SLOT0_STATE);
    ensure_eq(
        state.load(Ordering::Acquire),
        INSERTING,
        "the other party's claim",
    )?;
    state.store(OCCUPIED, Ordering::Release); // hand the slot back
    ensure_eq(m.get(&7), Some(70), "get(7) after the claim ends")?;
    ensure_eq(m.len(), 1, "len")
}

fn set_full(seg: &Segment) -> R<Held> {
    let st = Set::<u32>::create(seg, "x", 4)?;
    for k in 1..=4u32 {
        ensure_eq(st.insert(k), SetInsert::Inserted, "setup insert")?;
    }
    held(st)
}

fn set_full_intact(_: &Segment, h: Held) -> R<()> {
    let st = take::<Set<u32>>(h)?;
    let mut v = st.to_vec();
    v.sort();
    ensure_eq(v, vec![1, 2, 3, 4], "members")?;
    ensure_eq(st.len(), 4, "len")
}

fn set_claimed(seg: &Segment) -> R<Held> {
    let st = Set::<u32>::create(seg, "x", 1)?;
    ensure_eq(st.insert(7), SetInsert::Inserted, "setup insert")?;
    let claimed = st.region().atomic_u32(SLOT0_STATE).compare_exchange(
        OCCUPIED,
        INSERTING,
        Ordering::Acquire,
        Ordering::Relaxed,
    );
    ensure_eq(claimed, Ok(OCCUPIED), "setup claim of slot 0")?;
    held(st)
}

fn set_claimed_intact(_: &Segment, h: Held) -> R<()> {
    let st = take::<Set<u32>>(h)?;
    let state = st.region().atomic_u32(SLOT0_STATE);
    ensure_eq(
        state.load(Ordering::Acquire),
        INSERTING,
        "the other party's claim",
    )?;
    state.store(OCCUPIED, Ordering::Release);
    ensure(st.contains(&7), || "7 missing after the claim ends".into())?;
    ensure_eq(st.len(), 1, "len")
}

fn map_full_insert(m: &Map<u32, u64>, k: u32) -> R<String> {
    match m.insert(k, 1) {
        MapInsert::Full => Ok("Full".into()),
        other => Err(format!("expected Full, got {other:?}").into()),
    }
}

fn set_full_insert(st: &Set<u32>, k: u32) -> R<String> {
    match st.insert(k) {
        SetInsert::Full => Ok("Full".into()),
        other => Err(format!("expected Full, got {other:?}").into()),
    }
}

fn map_set_rows() -> Vec<Case> {
    vec![
        case!("Map", "insert new key into full", map_full, map_full_intact;
            m: Map::<u32, u64> => map_full_insert(&m, 99)),
        case!("Map", "get absent key (full map)", map_full, map_full_intact;
            m: Map::<u32, u64> => none(m.get(&99))),
        case!("Map", "contains absent key (full map)", map_full, map_full_intact;
            m: Map::<u32, u64> => is_false(m.contains(&99))),
        case!("Map", "remove absent key (full map)", map_full, map_full_intact;
            m: Map::<u32, u64> => none(m.remove(&99))),
        case!("Map", "get while the slot is claimed (stuck-slot wait)", map_claimed, map_claimed_intact;
            m: Map::<u32, u64> => none(m.get(&7))),
        case!("Map", "insert (update) while the slot is claimed", map_claimed, map_claimed_intact;
            m: Map::<u32, u64> => map_full_insert(&m, 7)),
        case!("Map", "insert new key while the only slot is claimed", map_claimed, map_claimed_intact;
            m: Map::<u32, u64> => map_full_insert(&m, 8)),
        case!("Map", "remove while the slot is claimed", map_claimed, map_claimed_intact;
            m: Map::<u32, u64> => none(m.remove(&7))),
        case!("Set", "insert new value into full", set_full, set_full_intact;
            st: Set::<u32> => set_full_insert(&st, 99)),
        case!("Set", "contains absent value (full set)", set_full, set_full_intact;
            st: Set::<u32> => is_false(st.contains(&99))),
        case!("Set", "remove absent value (full set)", set_full, set_full_intact;
            st: Set::<u32> => is_false(st.remove(&99))),
        case!("Set", "contains while the slot is claimed", set_claimed, set_claimed_intact;
            st: Set::<u32> => is_false(st.contains(&7))),
        case!("Set", "remove while the slot is claimed", set_claimed, set_claimed_intact;
            st: Set::<u32> => is_false(st.remove(&7))),
        case!("Set", "insert new value while the only slot is claimed", set_claimed, set_claimed_intact;
            st: Set::<u32> => set_full_insert(&st, 8)),
    ]
}

// ------------------------------------------------------------------- Pool

struct PoolHeld {
    pool: Pool<u64>,
    handles: Vec<PoolHandle>,
}

fn pool_exhausted(seg: &Segment) -> R<Held> {
    let pool = Pool::<u64>::create(seg, "x", 4)?;
    let mut handles = Vec::new();
    for v in FILL {
        let h = pool.allocate()?.ok_or("setup allocate found no node")?;
        pool.set(h, v)?;
        handles.push(h);
    }
    held(PoolHeld { pool, handles })
}

fn pool_exhausted_intact(_: &Segment, h: Held) -> R<()> {
    let p = take::<PoolHeld>(h)?;
    ensure_eq(p.pool.allocated(), 4, "allocated")?;
    let vals: Vec<u64> = p
        .handles
        .iter()
        .map(|&h| p.pool.get(h))
        .collect::<Result<_, _>>()?;
    ensure_eq(vals, FILL.to_vec(), "values of the held nodes")?;
    for &h in &p.handles {
        p.pool.deallocate(h)?;
    }
    ensure_eq(p.pool.allocated(), 0, "allocated after freeing all")
}

/// Nodes 0 and 1 allocated, then 1 freed: node 1 is the free-list head.
fn pool_head_freed(seg: &Segment) -> R<Held> {
    let pool = Pool::<u64>::create(seg, "x", 4)?;
    let a = pool.allocate()?.ok_or("setup allocate a")?;
    let b = pool.allocate()?.ok_or("setup allocate b")?;
    pool.set(a, 5)?;
    pool.deallocate(b)?;
    held(PoolHeld {
        pool,
        handles: vec![a, b],
    })
}

fn pool_head_freed_intact(_: &Segment, h: Held) -> R<()> {
    let p = take::<PoolHeld>(h)?;
    let (a, b) = (p.handles[0], p.handles[1]);
    ensure_eq(p.pool.allocated(), 1, "allocated")?;
    ensure_eq(p.pool.get(a)?, 5, "value of the held node")?;
    // The freed node is still the head, handed out once.
    ensure_eq(p.pool.allocate()?, Some(b), "next allocation")?;
    p.pool.deallocate(b)?;
    p.pool.deallocate(a)?;
    ensure_eq(p.pool.allocated(), 0, "allocated after freeing")
}

fn pool_unused(seg: &Segment) -> R<Held> {
    held(Pool::<u64>::create(seg, "x", 4)?)
}

fn pool_unused_intact(_: &Segment, h: Held) -> R<()> {
    let pool = take::<Pool<u64>>(h)?;
    ensure_eq(
        (pool.allocated(), pool.available()),
        (0, 4),
        "allocated, available",
    )?;
    let got: Vec<Option<u32>> = (0..5)
        .map(|_| pool.allocate().map(|h| h.map(PoolHandle::index)))
        .collect::<Result<_, _>>()?;
    ensure_eq(
        got,
        vec![Some(0), Some(1), Some(2), Some(3), None],
        "allocation order",
    )
}

fn pool_rows() -> Vec<Case> {
    vec![
        row(
            "Pool",
            "allocate from an exhausted pool",
            pool_exhausted,
            |s| {
                let p = Pool::<u64>::open(s, "x")?;
                op(move || match p.allocate() {
                    Ok(None) => Ok("Ok(None)".into()),
                    other => Err(format!("expected Ok(None), got {other:?}").into()),
                })
            },
            pool_exhausted_intact,
        ),
        case!("Pool", "allocate_timeout from an exhausted pool", pool_exhausted, pool_exhausted_intact;
            p: Pool::<u64> => timed_out(p.allocate_timeout(SHORT))),
        case!("Pool", "deallocate an index out of range", pool_exhausted, pool_exhausted_intact;
            p: Pool::<u64> => any_err(p.deallocate(PoolHandle::from_index(4)))),
        case!("Pool", "get an index out of range", pool_exhausted, pool_exhausted_intact;
            p: Pool::<u64> => any_err(p.get(PoolHandle::from_index(u32::MAX)))),
        case!("Pool", "set an index out of range", pool_exhausted, pool_exhausted_intact;
            p: Pool::<u64> => any_err(p.set(PoolHandle::from_index(9), 1))),
        case!("Pool", "deallocate the free-list head (double free)", pool_head_freed, pool_head_freed_intact;
            p: Pool::<u64> => any_err(p.deallocate(PoolHandle::from_index(1)))),
        case!("Pool", "deallocate while nothing is allocated", pool_unused, pool_unused_intact;
            p: Pool::<u64> => any_err(p.deallocate(PoolHandle::from_index(0)))),
    ]
}

// ------------------------------------------------------ Semaphore, Mutex

struct SemHeld {
    sem: Semaphore,
    permits: i32,
}

/// Capacity 2, both permits taken by the other party.
fn sem_drained(seg: &Segment) -> R<Held> {
    let sem = Semaphore::create(seg, "x", 2, 2)?;
    ensure(sem.try_acquire()? && sem.try_acquire()?, || {
        "setup acquire".into()
    })?;
    held(SemHeld { sem, permits: 2 })
}

/// Capacity 2, count at the maximum.
fn sem_at_max(seg: &Segment) -> R<Held> {
    let sem = Semaphore::create(seg, "x", 2, 2)?;
    held(SemHeld { sem, permits: 0 })
}

fn sem_intact(_: &Segment, h: Held) -> R<()> {
    let s = take::<SemHeld>(h)?;
    ensure_eq(s.sem.count(), 2 - s.permits, "count")?;
    ensure_eq(s.sem.waiting(), 0, "waiting")?;
    for _ in 0..s.permits {
        s.sem.release()?; // each permit held is released exactly once
    }
    ensure(s.sem.release().is_err(), || {
        "a release above max_count succeeded".into()
    })?;
    ensure_eq(s.sem.count(), 2, "count after releasing")
}

struct MutexHeld {
    m: &'static Mutex,
    guard: MutexGuard<'static>,
}

fn mutex_locked(seg: &Segment) -> R<Held> {
    let m = leak(Mutex::create(seg, "x")?);
    let guard = m.lock()?;
    held(MutexHeld { m, guard })
}

/// The holder still holds, unlocks exactly once, and a second unlock is refused.
fn mutex_locked_intact(_: &Segment, h: Held) -> R<()> {
    let MutexHeld { m, guard } = take::<MutexHeld>(h)?;
    ensure(m.is_locked(), || {
        "the holder's mutex was released by the failed op".into()
    })?;
    guard.unlock()?;
    ensure(!m.is_locked(), || {
        "still locked after the holder's unlock".into()
    })?;
    ensure(m.force_unlock().is_err(), || {
        "a second unlock succeeded".into()
    })
}

fn mutex_unlocked(seg: &Segment) -> R<Held> {
    held(Mutex::create(seg, "x")?)
}

fn mutex_unlocked_intact(_: &Segment, h: Held) -> R<()> {
    let m = take::<Mutex>(h)?;
    ensure(!m.is_locked(), || "locked".into())?;
    let g = m.try_lock()?.ok_or("try_lock on a free mutex failed")?;
    ensure(m.is_locked(), || "not locked while held".into())?;
    g.unlock()?;
    ensure(m.force_unlock().is_err(), || {
        "a second unlock succeeded".into()
    })
}

fn sem_mutex_rows() -> Vec<Case> {
    vec![
        case!("Semaphore", "try_acquire with no permit", sem_drained, sem_intact;
            sem: Semaphore => ok_false(sem.try_acquire())),
        case!("Semaphore", "acquire_timeout with no permit", sem_drained, sem_intact;
            sem: Semaphore => timed_out(sem.acquire_timeout(SHORT))),
        case!("Semaphore", "release above max_count", sem_at_max, sem_intact;
            sem: Semaphore => any_err(sem.release())),
        case!("Mutex", "try_lock while held", mutex_locked, mutex_locked_intact;
            m: Mutex => ok_none(m.try_lock())),
        case!("Mutex", "lock_timeout while held", mutex_locked, mutex_locked_intact;
            m: Mutex => timed_out(m.lock_timeout(SHORT))),
        case!("Mutex", "force_unlock while unlocked", mutex_unlocked, mutex_unlocked_intact;
            m: Mutex => any_err(m.force_unlock())),
    ]
}

// ------------------------------------------------------- Barrier, Latch

/// Two participants; the other one (held) has not arrived.
fn barrier_other_absent(seg: &Segment) -> R<Held> {
    held(Barrier::create(seg, "x", 2)?)
}

/// The other participant arrives: our timed-out arrival still counts
/// (documented), so it completes generation 0 as the leader.
fn barrier_intact(_: &Segment, h: Held) -> R<()> {
    let b = take::<Barrier>(h)?;
    ensure_eq((b.generation(), b.arrived()), (0, 1), "generation, arrived")?;
    let r = b.wait_timeout(LONG)?;
    ensure_eq(
        (r.generation(), r.is_leader()),
        (0, true),
        "generation, leader",
    )?;
    ensure_eq(
        (b.generation(), b.arrived()),
        (1, 0),
        "generation, arrived after",
    )
}

const BARRIER_ARRIVAL: &[(&str, Range<usize>)] = &[("x", 0..4)];
const BARRIER_WHY: &str =
    "a timed-out barrier arrival is not withdrawn (sync/barrier.rs module doc, \
     the fix of reference bug 35): `arrived` +1, the handle resumes that generation";

fn barrier_latch_rows() -> Vec<Case> {
    vec![
        case!("Barrier", "wait_timeout, first arrival, times out", barrier_other_absent, barrier_intact;
            b: Barrier => timed_out(b.wait_timeout(SHORT)))
        .documented(BARRIER_WHY, BARRIER_ARRIVAL),
        case!("Barrier", "wait_timeout(0), first arrival", barrier_other_absent, barrier_intact;
            b: Barrier => timed_out(b.wait_timeout(Duration::ZERO)))
        .documented(BARRIER_WHY, BARRIER_ARRIVAL),
        case!("Barrier", "try_wait, first arrival (non-blocking form)", barrier_other_absent, barrier_intact;
            b: Barrier => ok_none(b.try_wait()))
        .documented(BARRIER_WHY, BARRIER_ARRIVAL),
        row(
            "Barrier",
            "wait_timeout resuming a pending generation",
            barrier_other_absent,
            |s| {
                let b = Barrier::open(s, "x")?;
                // Arrive (documented write, before the snapshot the op is judged by).
                timed_out(b.wait_timeout(Duration::ZERO))?;
                ensure_eq(b.pending_generation(), Some(0), "pending generation")?;
                op(move || timed_out(b.wait_timeout(SHORT)))
            },
            barrier_intact,
        )
        .prepare_writes(),
        case!("Latch", "try_wait while closed", latch_closed, latch_intact;
            l: Latch => ok_false(l.try_wait())),
        case!("Latch", "wait_timeout while closed", latch_closed, latch_intact;
            l: Latch => timed_out(l.wait_timeout(SHORT))),
        case!("Latch", "try_arrive_and_wait when the arrival would not open it", latch_closed, latch_intact;
            l: Latch => ok_false(l.try_arrive_and_wait())),
        case!("Latch", "arrive_and_wait_timeout, arrival withdrawn on timeout", latch_closed, latch_intact;
            l: Latch => timed_out(l.arrive_and_wait_timeout(SHORT))),
        case!("Latch", "count_down(0) refused", latch_closed, latch_intact;
            l: Latch => any_err(l.count_down(0))),
        case!("Latch", "count_down(-1) refused", latch_closed, latch_intact;
            l: Latch => any_err(l.count_down(-1))),
    ]
}

fn latch_closed(seg: &Segment) -> R<Held> {
    held(Latch::create(seg, "x", 2)?)
}

fn latch_intact(_: &Segment, h: Held) -> R<()> {
    let l = take::<Latch>(h)?;
    ensure_eq(l.count(), 2, "count")?;
    l.count_down(1)?;
    ensure(!l.try_wait()?, || {
        "open after one of two count-downs".into()
    })?;
    l.count_down(1)?;
    ensure(l.try_wait()?, || "closed after both count-downs".into())
}

// ------------------------------------------------------------------- Once

struct OnceHeld {
    once: Once,
    release: mpsc::Sender<()>,
    runner: std::thread::JoinHandle<zeroipc::Result<bool>>,
    runs: Arc<AtomicU32>,
    /// Set by the runner when the check released it (not a timeout or an
    /// abandoned case).
    released: Arc<AtomicBool>,
}

/// The other party is inside `call_once` (state RUNNING) until released.
fn once_running(seg: &Segment) -> R<Held> {
    let once = Once::create(seg, "x")?;
    let (inside_tx, inside_rx) = mpsc::channel();
    let (release, release_rx) = mpsc::channel::<()>();
    let runs = Arc::new(AtomicU32::new(0));
    let released = Arc::new(AtomicBool::new(false));
    let runner = {
        let once = once.clone();
        let (runs, released) = (runs.clone(), released.clone());
        std::thread::spawn(move || {
            once.call_once(|| {
                runs.fetch_add(1, Ordering::SeqCst);
                // Inside until the check releases us; a failed send or a
                // timeout / dropped sender (an abandoned case) ends the run
                // too, and the check then sees `released` false.
                let ok = inside_tx.send(()).is_ok() && release_rx.recv_timeout(LONG * 3).is_ok();
                released.store(ok, Ordering::SeqCst);
            })
        })
    };
    inside_rx
        .recv_timeout(LONG)
        .map_err(|e| format!("runner did not start: {e}"))?;
    held(OnceHeld {
        once,
        release,
        runner,
        runs,
        released,
    })
}

fn once_running_intact(_: &Segment, h: Held) -> R<()> {
    let o = take::<OnceHeld>(h)?;
    ensure_eq(
        o.once.state()?,
        OnceState::Running,
        "state while the runner is inside",
    )?;
    o.release.send(())?;
    let ran_here = o.runner.join().map_err(|_| "runner panicked")??;
    ensure(ran_here, || {
        "the runner's call_once did not run its closure".into()
    })?;
    ensure_eq(o.runs.load(Ordering::SeqCst), 1, "runs")?;
    ensure(o.released.load(Ordering::SeqCst), || {
        "the runner was not released by the check".into()
    })?;
    ensure_eq(o.once.state()?, OnceState::Done, "state after the runner")
}

fn once_done(seg: &Segment) -> R<Held> {
    let once = Once::create(seg, "x")?;
    ensure(once.call_once(|| {})?, || {
        "setup call_once did not run".into()
    })?;
    held(once)
}

fn once_done_intact(_: &Segment, h: Held) -> R<()> {
    let once = take::<Once>(h)?;
    ensure_eq(once.state()?, OnceState::Done, "state")?;
    ensure(!once.call_once(|| {})?, || "ran again".into())
}

/// A closure that must not run, and the counter that tells.
fn must_not_run() -> (Arc<AtomicU32>, impl FnOnce()) {
    let ran = Arc::new(AtomicU32::new(0));
    let r = ran.clone();
    (ran, move || {
        r.fetch_add(1, Ordering::SeqCst);
    })
}

fn once_rows() -> Vec<Case> {
    vec![
        case!("Once", "try_call_once while another party runs it", once_running, once_running_intact;
        once: Once => {
            let (ran, f) = must_not_run();
            let r = once.try_call_once(f);
            ensure_eq(ran.load(Ordering::SeqCst), 0, "our closure's runs")?;
            match r {
                Ok(None) => Ok("Ok(None)".into()),
                other => Err(format!("expected Ok(None), got {other:?}").into()),
            }
        }),
        case!("Once", "call_once_timeout while another party runs it", once_running, once_running_intact;
        once: Once => {
            let (ran, f) = must_not_run();
            let r = timed_out(once.call_once_timeout(SHORT, f));
            ensure_eq(ran.load(Ordering::SeqCst), 0, "our closure's runs")?;
            r
        }),
        case!("Once", "try_call_once when already done", once_done, once_done_intact;
        once: Once => {
            let (ran, f) = must_not_run();
            let r = once.try_call_once(f);
            ensure_eq(ran.load(Ordering::SeqCst), 0, "our closure's runs")?;
            match r {
                Ok(Some(false)) => Ok("Ok(Some(false))".into()),
                other => Err(format!("expected Ok(Some(false)), got {other:?}").into()),
            }
        }),
        case!("Once", "call_once_timeout when already done", once_done, once_done_intact;
        once: Once => {
            let (ran, f) = must_not_run();
            let r = ok_false(once.call_once_timeout(SHORT, f));
            ensure_eq(ran.load(Ordering::SeqCst), 0, "our closure's runs")?;
            r
        }),
    ]
}

// ------------------------------------------------------------------ Event

/// Offset of the manual-reset `waiting` word in the event entry.
const EVENT_WAITING: usize = format::event::WAITING as usize;

fn event_auto(seg: &Segment) -> R<Held> {
    held(Event::create(seg, "x", EventMode::AutoReset)?)
}

fn event_manual(seg: &Segment) -> R<Held> {
    held(Event::create(seg, "x", EventMode::ManualReset)?)
}

/// A manual-reset event with one counted waiter that never leaves (a
/// waiter killed inside `wait`, as the other party leaves it).
fn event_manual_stuck_waiter(seg: &Segment) -> R<Held> {
    let ev = Event::create(seg, "x", EventMode::ManualReset)?;
    ev.region()
        .atomic_u32(EVENT_WAITING)
        .fetch_add(1, Ordering::SeqCst);
    held(ev)
}

fn event_intact(_: &Segment, h: Held) -> R<()> {
    let ev = take::<Event>(h)?;
    ensure(!ev.is_signaled(), || "signaled without a signal".into())?;
    ensure_eq(ev.semaphore().count(), 0, "permits")?;
    ev.signal()?;
    match ev.mode() {
        EventMode::AutoReset => {
            ensure(ev.try_wait()?, || "first wait after a signal failed".into())?;
            ensure(!ev.try_wait()?, || {
                "a second wait consumed the same signal".into()
            })
        }
        EventMode::ManualReset => {
            ensure(ev.try_wait()? && ev.try_wait()?, || {
                "manual event not signaled".into()
            })?;
            ev.reset()?;
            ensure(!ev.try_wait()?, || "still signaled after reset".into())
        }
    }
}

fn event_stuck_waiter_intact(seg: &Segment, h: Held) -> R<()> {
    let ev = take::<Event>(h)?;
    ensure_eq(ev.waiting(), 1, "counted waiters")?;
    ev.region()
        .atomic_u32(EVENT_WAITING)
        .fetch_sub(1, Ordering::SeqCst);
    event_intact(seg, Box::new(ev))
}

fn event_rows() -> Vec<Case> {
    vec![
        case!("Event (auto-reset)", "try_wait unsignaled", event_auto, event_intact;
            ev: Event => ok_false(ev.try_wait())),
        case!("Event (auto-reset)", "wait_timeout unsignaled", event_auto, event_intact;
            ev: Event => timed_out(ev.wait_timeout(SHORT))),
        case!("Event (manual-reset)", "try_wait unsignaled", event_manual, event_intact;
            ev: Event => ok_false(ev.try_wait())),
        case!("Event (manual-reset)", "wait_timeout unsignaled", event_manual, event_intact;
            ev: Event => timed_out(ev.wait_timeout(SHORT))),
        case!("Event (manual-reset)", "pulse_timeout with a waiter that never leaves", event_manual_stuck_waiter, event_stuck_waiter_intact;
            ev: Event => timed_out(ev.pulse_timeout(SHORT))),
        case!("Event (manual-reset)", "try_pulse with a waiter that never leaves", event_manual_stuck_waiter, event_stuck_waiter_intact;
            ev: Event => ok_false(ev.try_pulse())),
    ]
}

// ----------------------------------------------------------------- RwLock

struct WriteHeld {
    lock: &'static RwLock,
    guard: RwLockWriteGuard<'static>,
}

struct ReadHeld {
    lock: &'static RwLock,
    guard: RwLockReadGuard<'static>,
}

fn rwlock_write_held(seg: &Segment) -> R<Held> {
    let lock = leak(RwLock::create(seg, "x")?);
    let guard = lock.write()?;
    held(WriteHeld { lock, guard })
}

fn rwlock_read_held(seg: &Segment) -> R<Held> {
    let lock = leak(RwLock::create(seg, "x")?);
    let guard = lock.read()?;
    held(ReadHeld { lock, guard })
}

fn rwlock_write_intact(_: &Segment, h: Held) -> R<()> {
    let WriteHeld { lock, guard } = take::<WriteHeld>(h)?;
    ensure_eq(
        (lock.is_write_locked(), lock.readers()),
        (true, 0),
        "writer, readers",
    )?;
    drop(guard);
    ensure_eq(
        (lock.is_write_locked(), lock.readers()),
        (false, 0),
        "after the writer left",
    )?;
    let r = lock.try_read()?.ok_or("try_read on a free lock failed")?;
    ensure_eq(lock.readers(), 1, "readers while reading")?;
    drop(r);
    ensure_eq(lock.readers(), 0, "readers after")
}

fn rwlock_read_intact(_: &Segment, h: Held) -> R<()> {
    let ReadHeld { lock, guard } = take::<ReadHeld>(h)?;
    ensure_eq(
        (lock.is_write_locked(), lock.readers()),
        (false, 1),
        "writer, readers",
    )?;
    drop(guard);
    ensure_eq(lock.readers(), 0, "readers after the reader left")?;
    let w = lock.try_write()?.ok_or("try_write on a free lock failed")?;
    drop(w);
    ensure_eq(
        (lock.is_write_locked(), lock.readers()),
        (false, 0),
        "after a write",
    )
}

fn rwlock_rows() -> Vec<Case> {
    vec![
        case!("RwLock", "try_read while write-locked", rwlock_write_held, rwlock_write_intact;
            l: RwLock => ok_none(l.try_read())),
        case!("RwLock", "read_timeout while write-locked", rwlock_write_held, rwlock_write_intact;
            l: RwLock => timed_out(l.read_timeout(SHORT))),
        case!("RwLock", "try_write while write-locked", rwlock_write_held, rwlock_write_intact;
            l: RwLock => ok_none(l.try_write())),
        case!("RwLock", "write_timeout while write-locked", rwlock_write_held, rwlock_write_intact;
            l: RwLock => timed_out(l.write_timeout(SHORT))),
        case!("RwLock", "try_write while read-locked", rwlock_read_held, rwlock_read_intact;
            l: RwLock => ok_none(l.try_write())),
        case!("RwLock", "write_timeout while read-locked", rwlock_read_held, rwlock_read_intact;
            l: RwLock => timed_out(l.write_timeout(SHORT))),
    ]
}

// ---------------------------------------------------------------- Monitor

struct MonitorHeld {
    mon: &'static Monitor,
    guard: MonitorGuard<'static>,
}

fn monitor_locked(seg: &Segment) -> R<Held> {
    let mon = leak(Monitor::create(seg, "x")?);
    let guard = mon.lock()?;
    held(MonitorHeld { mon, guard })
}

fn monitor_locked_intact(_: &Segment, h: Held) -> R<()> {
    let MonitorHeld { mon, guard } = take::<MonitorHeld>(h)?;
    ensure(mon.is_locked(), || {
        "the holder's monitor was released by the failed op".into()
    })?;
    ensure_eq(mon.waiters(), 0, "waiters")?;
    drop(guard);
    ensure(!mon.is_locked(), || {
        "still locked after the holder left".into()
    })?;
    ensure(mon.mutex().force_unlock().is_err(), || {
        "a second unlock succeeded".into()
    })
}

fn monitor_free(seg: &Segment) -> R<Held> {
    held(Monitor::create(seg, "x")?)
}

fn monitor_free_intact(_: &Segment, h: Held) -> R<()> {
    let mon = take::<Monitor>(h)?;
    ensure_eq(
        (mon.is_locked(), mon.waiters(), mon.condition().count()),
        (false, 0, 0),
        "locked, waiters, permits",
    )?;
    let g = mon.try_lock()?.ok_or("try_lock on a free monitor failed")?;
    drop(g);
    ensure(!mon.is_locked(), || "locked after a lock/unlock".into())
}

fn monitor_rows() -> Vec<Case> {
    vec![
        case!("Monitor", "try_lock while held", monitor_locked, monitor_locked_intact;
            m: Monitor => ok_none(m.try_lock())),
        case!("Monitor", "lock_timeout while held", monitor_locked, monitor_locked_intact;
            m: Monitor => timed_out(m.lock_timeout(SHORT))),
        case!("Monitor", "lock, then wait_timeout with no notifier", monitor_free, monitor_free_intact;
        m: Monitor => {
            let g = m.lock()?;
            let r = timed_out(g.wait_timeout(SHORT));
            // On Timeout the guard is gone and the monitor unlocked.
            ensure(!m.is_locked(), || {
                "still locked after a timed-out wait".into()
            })?;
            r
        }),
        case!("Monitor", "lock, then try_wait with no notification pending", monitor_free, monitor_free_intact;
        m: Monitor => {
            let g = m.lock()?;
            let r = ok_false(g.try_wait());
            // try_wait never lets go of the monitor.
            ensure(m.is_locked(), || "unlocked by try_wait".into())?;
            drop(g);
            r
        }),
    ]
}

// ----------------------------------------------------------------- Signal

struct SignalHeld {
    sig: &'static Signal<u64>,
    guard: Option<MutexGuard<'static>>,
}

/// Value 42 at version 1; the other party holds the signal's mutex (a
/// writer inside `set`).
fn signal_locked(seg: &Segment) -> R<Held> {
    let sig = leak(Signal::<u64>::create(seg, "x", 41)?);
    sig.set(42)?;
    let guard = Some(sig.mutex().lock()?);
    held(SignalHeld { sig, guard })
}

fn signal_free(seg: &Segment) -> R<Held> {
    let sig = leak(Signal::<u64>::create(seg, "x", 41)?);
    sig.set(42)?;
    held(SignalHeld { sig, guard: None })
}

fn signal_intact(_: &Segment, h: Held) -> R<()> {
    let SignalHeld { sig, guard } = take::<SignalHeld>(h)?;
    ensure_eq(
        sig.mutex().is_locked(),
        guard.is_some(),
        "signal mutex locked",
    )?;
    ensure_eq(sig.version(), 1, "version")?;
    if let Some(g) = guard {
        g.unlock()?; // the holder releases exactly once
    }
    ensure_eq(sig.get_versioned()?, (1, 42), "version, value")?;
    ensure(sig.mutex().force_unlock().is_err(), || {
        "a second unlock succeeded".into()
    })
}

fn signal_rows() -> Vec<Case> {
    vec![
        case!("Signal", "try_set while the mutex is held", signal_locked, signal_intact;
            sig: Signal::<u64> => ok_false(sig.try_set(7))),
        case!("Signal", "try_get while the mutex is held", signal_locked, signal_intact;
            sig: Signal::<u64> => ok_none(sig.try_get())),
        case!("Signal", "try_update while the mutex is held", signal_locked, signal_intact;
            sig: Signal::<u64> => ok_none(sig.try_update(|x| x + 1))),
        case!("Signal", "try_wait_for_change with no writer", signal_free, signal_intact;
            sig: Signal::<u64> => ok_none(sig.try_wait_for_change(sig.version()))),
        case!("Signal", "set_timeout while the mutex is held", signal_locked, signal_intact;
            sig: Signal::<u64> => timed_out(sig.set_timeout(7, SHORT))),
        case!("Signal", "get_timeout while the mutex is held", signal_locked, signal_intact;
            sig: Signal::<u64> => timed_out(sig.get_timeout(SHORT))),
        case!("Signal", "update_timeout while the mutex is held", signal_locked, signal_intact;
        sig: Signal::<u64> => {
            let ran = Arc::new(AtomicU32::new(0));
            let r = ran.clone();
            let out = timed_out(sig.update_timeout(SHORT, move |x| {
                r.fetch_add(1, Ordering::SeqCst);
                x + 1
            }));
            ensure_eq(ran.load(Ordering::SeqCst), 0, "update closure runs")?;
            out
        }),
        case!("Signal", "wait_for_change_timeout with no writer", signal_free, signal_intact;
            sig: Signal::<u64> => timed_out(sig.wait_for_change_timeout(sig.version(), SHORT))),
    ]
}

// ----------------------------------------------------------------- Future

/// Offset of the future's state word.
const FUTURE_STATE: usize = format::future::STATE as usize;

fn future_pending(seg: &Segment) -> R<Held> {
    held(Future::<u64>::create(seg, "x")?)
}

fn future_pending_intact(_: &Segment, h: Held) -> R<()> {
    let f = take::<Future<u64>>(h)?;
    ensure_eq(
        (f.state(), f.waiters()),
        (FutureState::Pending, 0),
        "state, waiters",
    )?;
    ensure(f.set_value(5), || {
        "set_value on a pending future failed".into()
    })?;
    ensure_eq(f.try_get()?, Some(5), "value")
}

fn future_ready(seg: &Segment) -> R<Held> {
    let f = Future::<u64>::create(seg, "x")?;
    ensure(f.set_value(5), || "setup set_value".into())?;
    held(f)
}

fn future_ready_intact(_: &Segment, h: Held) -> R<()> {
    let f = take::<Future<u64>>(h)?;
    ensure_eq(f.state(), FutureState::Ready, "state")?;
    ensure_eq(f.get_timeout(LONG)?, 5, "value")
}

fn future_error(seg: &Segment) -> R<Held> {
    let f = Future::<u64>::create(seg, "x")?;
    ensure(f.set_error("boom"), || "setup set_error".into())?;
    held(f)
}

fn future_error_intact(_: &Segment, h: Held) -> R<()> {
    let f = take::<Future<u64>>(h)?;
    ensure_eq(f.state(), FutureState::Error, "state")?;
    ensure_eq(f.error_message().as_deref(), Some("boom"), "message")
}

/// The other party won the claim (PENDING -> COMPUTING) and is writing.
fn future_computing(seg: &Segment) -> R<Held> {
    let f = Future::<u64>::create(seg, "x")?;
    f.region()
        .atomic_u32(FUTURE_STATE)
        .store(format::future::COMPUTING, Ordering::Release);
    held(f)
}

fn future_computing_intact(seg: &Segment, h: Held) -> R<()> {
    let f = take::<Future<u64>>(h)?;
    ensure_eq(
        (f.state(), f.waiters()),
        (FutureState::Computing, 0),
        "state, waiters",
    )?;
    // The other party withdraws its claim; the future is then settable once.
    f.region()
        .atomic_u32(FUTURE_STATE)
        .store(0, Ordering::Release);
    future_pending_intact(seg, Box::new(f))
}

fn set_value_refused(f: &Future<u64>) -> R<String> {
    ensure(!f.set_value(6), || "set_value succeeded".into())?;
    Ok("false".into())
}

fn set_error_refused(f: &Future<u64>) -> R<String> {
    ensure(!f.set_error("late"), || "set_error succeeded".into())?;
    Ok("false".into())
}

fn future_rows() -> Vec<Case> {
    vec![
        case!("Future", "try_get while pending", future_pending, future_pending_intact;
            f: Future::<u64> => ok_none(f.try_get())),
        case!("Future", "get_timeout while pending", future_pending, future_pending_intact;
            f: Future::<u64> => timed_out(f.get_timeout(SHORT))),
        row(
            "Future",
            "Then::poll while the source is pending",
            future_pending,
            |s| {
                let f = Future::<u64>::open(s, "x")?;
                let (_target, mut cont) = f.then(s, "y", |v| v + 1)?; // creates "y"
                op(move || ok_false(cont.poll()))
            },
            future_pending_intact,
        )
        .prepare_writes(),
        row(
            "Future",
            "Then::run(timeout) while the source is pending",
            future_pending,
            |s| {
                let f = Future::<u64>::open(s, "x")?;
                let (_target, mut cont) = f.then(s, "y", |v| v + 1)?;
                op(move || timed_out(cont.run(Some(SHORT))))
            },
            future_pending_intact,
        )
        .prepare_writes(),
        case!("Future", "set_value when ready", future_ready, future_ready_intact;
            f: Future::<u64> => set_value_refused(&f)),
        case!("Future", "set_error when ready", future_ready, future_ready_intact;
            f: Future::<u64> => set_error_refused(&f)),
        case!("Future", "set_value after an error", future_error, future_error_intact;
            f: Future::<u64> => set_value_refused(&f)),
        case!("Future", "get_timeout on an error future", future_error, future_error_intact;
            f: Future::<u64> => failed(f.get_timeout(SHORT))),
        case!("Future", "set_value while another setter is computing", future_computing, future_computing_intact;
            f: Future::<u64> => set_value_refused(&f)),
        case!("Future", "set_error while another setter is computing", future_computing, future_computing_intact;
            f: Future::<u64> => set_error_refused(&f)),
        case!("Future", "try_get while another setter is computing", future_computing, future_computing_intact;
            f: Future::<u64> => ok_none(f.try_get())),
        case!("Future", "get_timeout while another setter is computing", future_computing, future_computing_intact;
            f: Future::<u64> => timed_out(f.get_timeout(SHORT))),
    ]
}

// ------------------------------------------------------------------- Lazy

/// Offset of a lazy value's state word.
const LAZY_STATE: usize = format::lazy::STATE as usize;

/// Offset of the operation type in a `Lazy<i64>` entry.
fn lazy_op_type_i64() -> R<usize> {
    let l = format::lazy::layout(format::ElemLayout::of::<i64>()).ok_or("lazy layout of i64")?;
    Ok(l.op_type as usize)
}

fn lazy_deferred(seg: &Segment) -> R<Held> {
    held(Lazy::<i64>::deferred(seg, "x", LazyOp::Add(20, 22))?)
}

fn lazy_deferred_intact(_: &Segment, h: Held) -> R<()> {
    let l = take::<Lazy<i64>>(h)?;
    ensure_eq(
        (l.state(), l.compute_count()),
        (LazyState::NotComputed, 0),
        "state, count",
    )?;
    ensure_eq(l.force_timeout(LONG)?, 42, "forced value")?;
    ensure_eq(l.compute_count(), 1, "computations")
}

/// The other party is forcing it (claimed NOT_COMPUTED -> COMPUTING).
fn lazy_computing(seg: &Segment) -> R<Held> {
    let l = Lazy::<i64>::deferred(seg, "x", LazyOp::Add(20, 22))?;
    l.region()
        .atomic_u32(LAZY_STATE)
        .store(format::lazy::COMPUTING, Ordering::Release);
    held(l)
}

fn lazy_computing_intact(seg: &Segment, h: Held) -> R<()> {
    let l = take::<Lazy<i64>>(h)?;
    ensure_eq(l.state(), LazyState::Computing, "state")?;
    ensure(l.reset_abandoned(), || {
        "the computing claim was gone".into()
    })?;
    lazy_deferred_intact(seg, Box::new(l))
}

/// A record we cannot compute (EXTERNAL, as a C++ peer may store), forced
/// once by the other party: state ERROR with its message.
fn lazy_error(seg: &Segment) -> R<Held> {
    let l = Lazy::<i64>::deferred(seg, "x", LazyOp::Constant(1))?;
    l.region()
        .write::<u32>(lazy_op_type_i64()?, format::lazy::OP_EXTERNAL);
    failed(l.force())?;
    held(l)
}

fn lazy_error_intact(_: &Segment, h: Held) -> R<()> {
    let l = take::<Lazy<i64>>(h)?;
    ensure_eq(l.state(), LazyState::Error, "state")?;
    let msg = l.error_message().unwrap_or_default();
    ensure(msg.contains("EXTERNAL"), || format!("message {msg:?}"))
}

/// "x" being computed by the other party, "y" deferred and not computed.
fn lazy_operands(seg: &Segment) -> R<Held> {
    let x = Lazy::<i64>::deferred(seg, "x", LazyOp::Add(20, 22))?;
    x.region()
        .atomic_u32(LAZY_STATE)
        .store(format::lazy::COMPUTING, Ordering::Release);
    let y = Lazy::<i64>::deferred(seg, "y", LazyOp::Negate(5))?;
    held((x, y))
}

/// "sum" was not created; "x" is still the other party's; "y" forces to -5.
fn lazy_operands_intact(seg: &Segment, h: Held) -> R<()> {
    let (x, y) = take::<(Lazy<i64>, Lazy<i64>)>(h)?;
    ensure(seg.find("sum")?.is_none(), || {
        "a failed creation left an entry".into()
    })?;
    ensure_eq(x.state(), LazyState::Computing, "x state")?;
    ensure(x.reset_abandoned(), || {
        "the computing claim on x was gone".into()
    })?;
    ensure_eq(x.force_timeout(LONG)?, 42, "x")?;
    ensure_eq(y.force_timeout(LONG)?, -5, "y")?;
    ensure_eq(
        (x.compute_count(), y.compute_count()),
        (1, 1),
        "computations",
    )
}

fn lazy_rows() -> Vec<Case> {
    vec![
        case!("Lazy", "force_timeout while another party computes", lazy_computing, lazy_computing_intact;
            l: Lazy::<i64> => timed_out(l.force_timeout(SHORT))),
        case!("Lazy", "reset while another party computes", lazy_computing, lazy_computing_intact;
            l: Lazy::<i64> => is_false(l.reset())),
        case!("Lazy", "peek while another party computes", lazy_computing, lazy_computing_intact;
            l: Lazy::<i64> => none(l.peek())),
        row(
            "Lazy",
            "add_timeout while operand x is being computed",
            lazy_operands,
            |s| {
                let (x, y) = (Lazy::<i64>::open(s, "x")?, Lazy::<i64>::open(s, "y")?);
                let s = s.clone();
                op(move || timed_out(Lazy::add_timeout(&s, "sum", &x, &y, SHORT)))
            },
            lazy_operands_intact,
        ),
        row(
            "Lazy",
            "multiply_timeout while operand x is being computed",
            lazy_operands,
            |s| {
                let (x, y) = (Lazy::<i64>::open(s, "x")?, Lazy::<i64>::open(s, "y")?);
                let s = s.clone();
                op(move || timed_out(Lazy::multiply_timeout(&s, "sum", &x, &y, SHORT)))
            },
            lazy_operands_intact,
        ),
        row(
            "Lazy",
            "negate_timeout while the operand is being computed",
            lazy_operands,
            |s| {
                let x = Lazy::<i64>::open(s, "x")?;
                let s = s.clone();
                op(move || timed_out(Lazy::negate_timeout(&s, "sum", &x, SHORT)))
            },
            lazy_operands_intact,
        ),
        row(
            "Lazy",
            "add_timeout(y, x): y computable, x being computed",
            lazy_operands,
            |s| {
                let (x, y) = (Lazy::<i64>::open(s, "x")?, Lazy::<i64>::open(s, "y")?);
                let s = s.clone();
                op(move || timed_out(Lazy::add_timeout(&s, "sum", &y, &x, SHORT)))
            },
            lazy_operands_intact,
        ),
        case!("Lazy", "reset when not computed", lazy_deferred, lazy_deferred_intact;
            l: Lazy::<i64> => is_false(l.reset())),
        case!("Lazy", "reset_abandoned when nobody computes", lazy_deferred, lazy_deferred_intact;
            l: Lazy::<i64> => is_false(l.reset_abandoned())),
        case!("Lazy", "force on an ERROR value", lazy_error, lazy_error_intact;
            l: Lazy::<i64> => failed(l.force())),
        case!("Lazy", "force_timeout on an ERROR value", lazy_error, lazy_error_intact;
            l: Lazy::<i64> => failed(l.force_timeout(SHORT))),
        case!("Lazy", "reset on an ERROR value", lazy_error, lazy_error_intact;
            l: Lazy::<i64> => is_false(l.reset())),
    ]
}

// ----------------------------------------------------------------- Stream

fn stream_full(seg: &Segment) -> R<Held> {
    let st = Stream::<u64>::create(seg, "x", 4)?;
    for v in FILL {
        st.emit_timeout(v, LONG)?;
    }
    held(st)
}

fn stream_full_intact(_: &Segment, h: Held) -> R<()> {
    let st = take::<Stream<u64>>(h)?;
    ensure_eq(
        (st.sequence(), st.subscriber_count()),
        (4, 0),
        "sequence, subscribers",
    )?;
    let got: Vec<Option<u64>> = (0..5).map(|_| st.try_recv()).collect::<Result<_, _>>()?;
    ensure_eq(
        got,
        vec![Some(10), Some(11), Some(12), Some(13), None],
        "received",
    )
}

fn stream_empty(seg: &Segment) -> R<Held> {
    let st = Stream::<u64>::create(seg, "x", 4)?;
    st.emit_timeout(1, LONG)?;
    ensure_eq(st.try_recv()?, Some(1), "setup recv")?;
    held(st)
}

fn stream_empty_intact(_: &Segment, h: Held) -> R<()> {
    let st = take::<Stream<u64>>(h)?;
    ensure_eq(
        (st.sequence(), st.subscriber_count(), st.len()),
        (1, 0, 0),
        "sequence, subscribers, len",
    )?;
    st.emit_timeout(5, LONG)?;
    ensure_eq(st.try_recv()?, Some(5), "received")
}

fn stream_closed(seg: &Segment) -> R<Held> {
    let st = Stream::<u64>::create(seg, "x", 4)?;
    st.emit_timeout(1, LONG)?;
    ensure_eq(st.try_recv()?, Some(1), "setup recv")?;
    st.close();
    held(st)
}

fn stream_closed_intact(_: &Segment, h: Held) -> R<()> {
    let st = take::<Stream<u64>>(h)?;
    ensure(st.is_closed(), || "not closed".into())?;
    ensure_eq(
        (st.sequence(), st.subscriber_count(), st.len()),
        (1, 0, 0),
        "sequence, subscribers, len",
    )?;
    closed(st.try_recv()).map(|_| ())
}

fn stream_void_closed(seg: &Segment) -> R<Held> {
    let sv = StreamVoid::create(seg, "x")?;
    ensure(sv.emit(), || "setup emit".into())?;
    sv.close();
    held(sv)
}

fn stream_void_intact(_: &Segment, h: Held) -> R<()> {
    let sv = take::<StreamVoid>(h)?;
    ensure_eq((sv.count(), sv.is_closed()), (1, true), "count, closed")
}

fn stream_rows() -> Vec<Case> {
    vec![
        case!("Stream", "try_emit on full", stream_full, stream_full_intact;
            st: Stream::<u64> => full_given_back(st.try_emit(99), 99)),
        case!("Stream", "emit_timeout on full", stream_full, stream_full_intact;
            st: Stream::<u64> => timed_out_given_back(st.emit_timeout(99, SHORT), 99)),
        case!("Stream", "try_recv on empty", stream_empty, stream_empty_intact;
            st: Stream::<u64> => ok_none(st.try_recv())),
        case!("Stream", "recv_timeout on empty", stream_empty, stream_empty_intact;
            st: Stream::<u64> => timed_out(st.recv_timeout(SHORT))),
        case!("Stream", "subscribe, try_next with nothing new, drop", stream_empty, stream_empty_intact;
            st: Stream::<u64> => ok_none(st.subscribe().try_next())),
        case!("Stream", "subscribe, next_timeout with nothing new, drop", stream_empty, stream_empty_intact;
            st: Stream::<u64> => timed_out(st.subscribe().next_timeout(SHORT))),
        case!("Stream", "fold pump on empty", stream_empty, stream_empty_intact;
        st: Stream::<u64> => {
            let mut f = st.fold(0u64, |a, x| a + x);
            let n = f.pump()?;
            ensure_eq((n, *f.value()), (0, 0), "consumed, accumulator")?;
            Ok("Ok(0)".into())
        }),
        case!("Stream", "fold run_timeout on empty", stream_empty, stream_empty_intact;
            st: Stream::<u64> => timed_out(st.fold(0u64, |a, x| a + x).run_timeout(SHORT))),
        row(
            "Stream",
            "map stage: pump on an empty source",
            stream_empty,
            |s| {
                let st = Stream::<u64>::open(s, "x")?;
                let mut stage = st.map(s, "y", |v| v + 1)?; // creates "y"
                op(move || match stage.pump() {
                    Ok(0) => Ok("Ok(0)".into()),
                    other => Err(format!("expected Ok(0), got {other:?}").into()),
                })
            },
            stream_empty_intact,
        )
        .prepare_writes(),
        row(
            "Stream",
            "map stage: run_timeout on an empty source",
            stream_empty,
            |s| {
                let st = Stream::<u64>::open(s, "x")?;
                let mut stage = st.map(s, "y", |v| v + 1)?;
                op(move || timed_out(stage.run_timeout(SHORT)))
            },
            stream_empty_intact,
        )
        .prepare_writes(),
        case!("Stream", "subscribe, try_next on closed, drop", stream_closed, stream_closed_intact;
            st: Stream::<u64> => closed(st.subscribe().try_next())),
        case!("Stream", "try_emit on closed", stream_closed, stream_closed_intact;
            st: Stream::<u64> => closed_given_back(st.try_emit(99), 99)),
        case!("Stream", "emit_timeout on closed", stream_closed, stream_closed_intact;
            st: Stream::<u64> => closed_given_back(st.emit_timeout(99, SHORT), 99)),
        case!("Stream", "emit_overwrite on closed", stream_closed, stream_closed_intact;
            st: Stream::<u64> => closed(st.emit_overwrite(99))),
        case!("Stream", "try_recv on closed and drained", stream_closed, stream_closed_intact;
            st: Stream::<u64> => closed(st.try_recv())),
        case!("Stream", "recv_timeout on closed and drained", stream_closed, stream_closed_intact;
            st: Stream::<u64> => closed(st.recv_timeout(SHORT))),
        case!("StreamVoid", "emit on closed", stream_void_closed, stream_void_intact;
            sv: StreamVoid => is_false(sv.emit())),
    ]
}

// ---------------------------------------------------------------- Channel

/// Offset of `receivers` in a channel's header entry.
const CH_RECEIVERS: usize = format::channel::RECEIVERS as usize;

/// The header entry of channel "x".
fn chan_header(seg: &Segment) -> R<zeroipc::region::Region> {
    Ok(seg.region(&format!("x{}", format::channel::HEADER_SUFFIX))?)
}

fn chan_full(seg: &Segment) -> R<Held> {
    let ch = Channel::<u64>::create(seg, "x", 2)?;
    ch.send_timeout(10, LONG)?;
    ch.send_timeout(11, LONG)?;
    held(ch)
}

fn chan_full_intact(_: &Segment, h: Held) -> R<()> {
    let ch = take::<Channel<u64>>(h)?;
    ensure_eq(
        (ch.sender_count(), ch.receiver_count(), ch.len()),
        (0, 0, 2),
        "senders, receivers, len",
    )?;
    let got: Vec<Option<u64>> = (0..3).map(|_| ch.try_recv()).collect::<Result<_, _>>()?;
    ensure_eq(got, vec![Some(10), Some(11), None], "received")
}

fn chan_empty(seg: &Segment) -> R<Held> {
    let ch = Channel::<u64>::create(seg, "x", 2)?;
    ch.send_timeout(1, LONG)?;
    ensure_eq(ch.recv_timeout(LONG)?, 1, "setup recv")?;
    held(ch)
}

fn chan_idle_intact(_: &Segment, h: Held) -> R<()> {
    let ch = take::<Channel<u64>>(h)?;
    ensure_eq(
        (ch.sender_count(), ch.receiver_count(), ch.len()),
        (0, 0, 0),
        "senders, receivers, len",
    )?;
    // One real transfer still works (a thread receives, we send).
    let rx = ch.clone();
    let t = std::thread::spawn(move || rx.recv_timeout(LONG));
    ch.send_timeout(5, LONG)?;
    ensure_eq(t.join().map_err(|_| "receiver panicked")??, 5, "received")?;
    ensure_eq(ch.len(), 0, "len after")
}

fn chan_closed(seg: &Segment) -> R<Held> {
    let ch = Channel::<u64>::create(seg, "x", 2)?;
    ch.send_timeout(1, LONG)?;
    ensure_eq(ch.recv_timeout(LONG)?, 1, "setup recv")?;
    ch.close();
    held(ch)
}

fn unbuf_closed(seg: &Segment) -> R<Held> {
    let ch = Channel::<u64>::create(seg, "x", 0)?;
    ch.close();
    held(ch)
}

fn chan_closed_intact(_: &Segment, h: Held) -> R<()> {
    let ch = take::<Channel<u64>>(h)?;
    ensure(ch.is_closed(), || "not closed".into())?;
    ensure_eq(
        (ch.sender_count(), ch.receiver_count(), ch.len()),
        (0, 0, 0),
        "senders, receivers, len",
    )?;
    closed(ch.try_recv()).map(|_| ())
}

fn unbuf_idle(seg: &Segment) -> R<Held> {
    held(Channel::<u64>::create(seg, "x", 0)?)
}

struct UnbufSending {
    ch: Channel<u64>,
    sender: std::thread::JoinHandle<Result<(), zeroipc::SendError<u64>>>,
}

/// Another sender holds the sender turn: its value sits in the slot and it
/// waits for a receiver.
fn unbuf_sender_inside(seg: &Segment) -> R<Held> {
    let ch = Channel::<u64>::create(seg, "x", 0)?;
    let tx = ch.clone();
    let sender = std::thread::spawn(move || tx.send_timeout(77, LONG * 3));
    eventually("the other sender's value in the slot", || ch.len() == 1)?;
    held(UnbufSending { ch, sender })
}

fn unbuf_sender_inside_intact(_: &Segment, h: Held) -> R<()> {
    let u = take::<UnbufSending>(h)?;
    ensure_eq((u.ch.len(), u.ch.sender_count()), (1, 1), "len, senders")?;
    ensure_eq(u.ch.recv_timeout(LONG)?, 77, "the other sender's value")?;
    u.sender.join().map_err(|_| "sender panicked")??;
    ensure_eq(
        (u.ch.len(), u.ch.sender_count()),
        (0, 0),
        "len, senders after",
    )?;
    ok_none(u.ch.try_recv()).map(|_| ())
}

/// A receiver counted in `receivers` that never takes anything (killed
/// inside a receive, as the other party leaves it).
fn unbuf_stuck_receiver(seg: &Segment) -> R<Held> {
    let ch = Channel::<u64>::create(seg, "x", 0)?;
    chan_header(seg)?
        .atomic_u32(CH_RECEIVERS)
        .fetch_add(1, Ordering::SeqCst);
    held(ch)
}

fn unbuf_stuck_receiver_intact(seg: &Segment, h: Held) -> R<()> {
    let ch = take::<Channel<u64>>(h)?;
    ensure_eq(ch.receiver_count(), 1, "counted receivers")?;
    chan_header(seg)?
        .atomic_u32(CH_RECEIVERS)
        .fetch_sub(1, Ordering::SeqCst);
    chan_idle_intact(seg, Box::new(ch))
}

/// The one byte range an unbuffered send may leave changed when it withdraws
/// its value while a receiver is counted: the withdrawn value's bytes
/// (`send_seq` and `consumed` are put back; codata/channel.rs
/// `restore_withdrawn`).
const UNBUF_WITHDRAWN_VALUE: &str =
    "an unbuffered send that withdraws its value while a receiver is \
     counted leaves the value bytes in the slot (a reference receiver may still be copying them; \
     `ready` is 0, so ours never read them): codata/channel.rs restore_withdrawn";
const UNBUF_SLOT_VALUE: &[(&str, Range<usize>)] = &[("x_slot", 8..16)];

fn channel_rows() -> Vec<Case> {
    vec![
        case!("Channel (buffered)", "try_send on full", chan_full, chan_full_intact;
            ch: Channel::<u64> => full_given_back(ch.try_send(99), 99)),
        case!("Channel (buffered)", "send_timeout on full", chan_full, chan_full_intact;
            ch: Channel::<u64> => timed_out_given_back(ch.send_timeout(99, SHORT), 99)),
        case!("Channel (buffered)", "try_recv on empty", chan_empty, chan_idle_intact;
            ch: Channel::<u64> => ok_none(ch.try_recv())),
        case!("Channel (buffered)", "recv_timeout on empty", chan_empty, chan_idle_intact;
            ch: Channel::<u64> => timed_out(ch.recv_timeout(SHORT))),
        case!("Channel (buffered)", "try_send_slice on full", chan_full, chan_full_intact;
            ch: Channel::<u64> => any_err(ch.try_send_slice(&[99, 98]))),
        case!("Channel (buffered)", "send_slice_timeout on full", chan_full, chan_full_intact;
            ch: Channel::<u64> => timed_out(ch.send_slice_timeout(&[99, 98], SHORT))),
        case!("Channel (buffered)", "try_recv_slice on empty", chan_empty, chan_idle_intact;
            ch: Channel::<u64> => zero(ch.try_recv_slice(&mut [0; 2])?)),
        case!("Channel (buffered)", "recv_slice_timeout on empty", chan_empty, chan_idle_intact;
            ch: Channel::<u64> => timed_out(ch.recv_slice_timeout(&mut [0; 2], SHORT))),
        case!("Channel (buffered)", "select with timeout on empty", chan_empty, chan_idle_intact;
            ch: Channel::<u64> => timed_out(select(&[&ch], Some(SHORT)))),
        case!("Channel (buffered)", "send on closed", chan_closed, chan_closed_intact;
            ch: Channel::<u64> => closed(ch.send(99))),
        case!("Channel (buffered)", "try_send on closed", chan_closed, chan_closed_intact;
            ch: Channel::<u64> => closed_given_back(ch.try_send(99), 99)),
        case!("Channel (buffered)", "send_timeout on closed", chan_closed, chan_closed_intact;
            ch: Channel::<u64> => closed_given_back(ch.send_timeout(99, SHORT), 99)),
        case!("Channel (buffered)", "try_recv on closed and drained", chan_closed, chan_closed_intact;
            ch: Channel::<u64> => closed(ch.try_recv())),
        case!("Channel (buffered)", "recv_timeout on closed and drained", chan_closed, chan_closed_intact;
            ch: Channel::<u64> => closed(ch.recv_timeout(SHORT))),
        case!("Channel (unbuffered)", "try_send with no receiver", unbuf_idle, chan_idle_intact;
            ch: Channel::<u64> => full_given_back(ch.try_send(99), 99)),
        case!("Channel (unbuffered)", "send_timeout with no receiver", unbuf_idle, chan_idle_intact;
            ch: Channel::<u64> => timed_out_given_back(ch.send_timeout(99, SHORT), 99)),
        case!("Channel (unbuffered)", "try_send to a counted receiver that never takes", unbuf_stuck_receiver, unbuf_stuck_receiver_intact;
            ch: Channel::<u64> => full_given_back(ch.try_send(99), 99))
        .documented(UNBUF_WITHDRAWN_VALUE, UNBUF_SLOT_VALUE),
        case!("Channel (unbuffered)", "try_recv with no sender", unbuf_idle, chan_idle_intact;
            ch: Channel::<u64> => ok_none(ch.try_recv())),
        case!("Channel (unbuffered)", "recv_timeout with no sender", unbuf_idle, chan_idle_intact;
            ch: Channel::<u64> => timed_out(ch.recv_timeout(SHORT))),
        case!("Channel (unbuffered)", "try_send while another sender holds the turn", unbuf_sender_inside, unbuf_sender_inside_intact;
            ch: Channel::<u64> => full_given_back(ch.try_send(99), 99)),
        case!("Channel (unbuffered)", "send_timeout while another sender holds the turn", unbuf_sender_inside, unbuf_sender_inside_intact;
            ch: Channel::<u64> => timed_out_given_back(ch.send_timeout(99, SHORT), 99)),
        case!("Channel (unbuffered)", "recover_unbuffered with nothing to recover", unbuf_idle, chan_idle_intact;
            ch: Channel::<u64> => is_false(ch.recover_unbuffered())),
        case!("Channel (buffered)", "recover_unbuffered on a buffered channel", chan_empty, chan_idle_intact;
            ch: Channel::<u64> => is_false(ch.recover_unbuffered())),
        case!("Channel (unbuffered)", "send on closed", unbuf_closed, chan_closed_intact;
            ch: Channel::<u64> => closed(ch.send(99))),
        case!("Channel (unbuffered)", "try_send on closed", unbuf_closed, chan_closed_intact;
            ch: Channel::<u64> => closed_given_back(ch.try_send(99), 99)),
        case!("Channel (unbuffered)", "try_recv on closed", unbuf_closed, chan_closed_intact;
            ch: Channel::<u64> => closed(ch.try_recv())),
        case!("Channel (unbuffered)", "recv_timeout on closed", unbuf_closed, chan_closed_intact;
            ch: Channel::<u64> => closed(ch.recv_timeout(SHORT))),
    ]
}

// -------------------------------------------- Segment (failed creations)

fn segment_one_mutex(seg: &Segment) -> R<Held> {
    held(Mutex::create(seg, "x")?)
}

fn segment_intact(seg: &Segment, h: Held) -> R<()> {
    let m = take::<Mutex>(h)?;
    let names: Vec<String> = seg.entries()?.into_iter().map(|e| e.name).collect();
    let described = zeroipc::format::describe::ENTRY_NAME.to_owned();
    let waiters = zeroipc::format::waiters::ENTRY_NAME.to_owned();
    ensure_eq(
        names,
        vec![described, waiters, "x".to_owned()],
        "table entries",
    )?;
    ensure(!m.is_locked(), || "locked".into())?;
    Mutex::open(seg, "x")?.lock_timeout(LONG)?.unlock()?;
    Ok(())
}

fn segment_rows() -> Vec<Case> {
    vec![
        row(
            "Segment",
            "create with a duplicate name",
            segment_one_mutex,
            |s| {
                let s = s.clone();
                op(move || any_err(Mutex::create(&s, "x")))
            },
            segment_intact,
        ),
        row(
            "Segment",
            "create a composite whose part name is too long",
            segment_one_mutex,
            |s| {
                let s = s.clone();
                op(move || any_err(RwLock::create(&s, "a_name_of_twenty_six_bytes")))
            },
            segment_intact,
        ),
        row(
            "Segment",
            "create larger than the free space",
            segment_one_mutex,
            |s| {
                let s = s.clone();
                op(move || any_err(Queue::<u64>::create(&s, "big", 1 << 20)))
            },
            segment_intact,
        ),
    ]
}

/// Every case, in table order.
pub fn cases() -> Vec<Case> {
    let mut all = Vec::new();
    all.extend(array_rows());
    all.extend(queue_stack_rows());
    all.extend(ring_rows());
    all.extend(map_set_rows());
    all.extend(pool_rows());
    all.extend(sem_mutex_rows());
    all.extend(barrier_latch_rows());
    all.extend(once_rows());
    all.extend(event_rows());
    all.extend(rwlock_rows());
    all.extend(monitor_rows());
    all.extend(signal_rows());
    all.extend(future_rows());
    all.extend(lazy_rows());
    all.extend(stream_rows());
    all.extend(channel_rows());
    all.extend(segment_rows());
    all
}

// ----------------------------------------------------------------- driver

/// Snapshots around one failing operation.
pub struct Snapshots {
    /// Before our handles were opened.
    pub before_prepare: Vec<u8>,
    /// After `prepare`, just before the operation.
    pub before_op: Vec<u8>,
    /// After the operation, our handles dropped.
    pub after_op: Vec<u8>,
}

/// What [`judge`] concluded about a case that passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every byte unchanged.
    Unchanged,
    /// Only the documented bytes changed.
    Documented(usize),
}

/// Offsets that differ between two snapshots.
fn diff(a: &[u8], b: &[u8]) -> Vec<usize> {
    assert_eq!(a.len(), b.len(), "segment size changed");
    (0..a.len()).filter(|&i| a[i] != b[i]).collect()
}

/// "entry +offset" for a segment offset, from the segment's table.
fn locate(seg: &Segment, off: usize) -> String {
    let entries = seg.entries().unwrap_or_default();
    entries
        .iter()
        .find(|e| off as u64 >= e.offset && (off as u64) < e.offset + e.size)
        .map(|e| format!("{} +{}", e.name, off as u64 - e.offset))
        .unwrap_or_else(|| "table/header".to_owned())
}

fn describe(seg: &Segment, offs: &[usize], a: &[u8], b: &[u8]) -> String {
    offs.iter()
        .take(12)
        .map(|&i| format!("{i} ({}): {:#04x} -> {:#04x}", locate(seg, i), a[i], b[i]))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Absolute offsets covered by `allowed`.
fn allowed_offsets(seg: &Segment, allowed: &[(&str, Range<usize>)]) -> R<Vec<Range<usize>>> {
    allowed
        .iter()
        .map(|(name, r)| {
            let e = seg
                .find(name)?
                .ok_or_else(|| format!("no entry {name:?} for an allowed range"))?;
            let base = e.offset as usize;
            Ok(base + r.start..base + r.end)
        })
        .collect()
}

/// Judges one case: the operation's outcome and time, and the snapshots.
pub fn judge(
    case: &Case,
    seg: &Segment,
    snaps: &Snapshots,
    outcome: &R<String>,
    took: Duration,
) -> Result<Verdict, String> {
    if let Err(e) = outcome {
        return Err(format!("the operation did not fail as expected: {e}"));
    }
    if took > OP_BOUND {
        return Err(format!("the operation took {took:?} (bound {OP_BOUND:?})"));
    }
    if !case.prepare_writes {
        let d = diff(&snaps.before_prepare, &snaps.before_op);
        if !d.is_empty() {
            return Err(format!(
                "opening our handles changed {} bytes: {}",
                d.len(),
                describe(seg, &d, &snaps.before_prepare, &snaps.before_op)
            ));
        }
    }
    let d = diff(&snaps.before_op, &snaps.after_op);
    let shown = || describe(seg, &d, &snaps.before_op, &snaps.after_op);
    let allowed = match &case.bytes {
        Bytes::Unchanged => {
            if d.is_empty() {
                return Ok(Verdict::Unchanged);
            }
            return Err(format!("{} bytes changed: {}", d.len(), shown()));
        }
        Bytes::Documented { allowed, .. } => {
            allowed_offsets(seg, allowed).map_err(|e| e.to_string())?
        }
    };
    let outside: Vec<usize> = d
        .iter()
        .copied()
        .filter(|i| !allowed.iter().any(|r| r.contains(i)))
        .collect();
    if !outside.is_empty() {
        return Err(format!(
            "{} bytes changed outside the allowed ranges: {}",
            outside.len(),
            describe(seg, &outside, &snaps.before_op, &snaps.after_op)
        ));
    }
    Ok(Verdict::Documented(d.len()))
}

/// The summary line and the per-kind operation list printed by both tests.
pub fn summary(cases: &[Case], verdicts: &[(usize, Verdict)]) -> String {
    let mut kinds: Vec<&str> = Vec::new();
    for c in cases {
        if !kinds.contains(&c.kind) {
            kinds.push(c.kind);
        }
    }
    let count = |f: fn(&Verdict) -> bool| verdicts.iter().filter(|(_, v)| f(v)).count();
    let mut out = format!(
        "{} cases over {} kinds: {} unchanged, {} documented exceptions\n",
        cases.len(),
        kinds.len(),
        count(|v| *v == Verdict::Unchanged),
        count(|v| matches!(v, Verdict::Documented(_))),
    );
    for kind in kinds {
        let ops: Vec<&str> = cases
            .iter()
            .filter(|c| c.kind == kind)
            .map(|c| c.op)
            .collect();
        out.push_str(&format!("  {kind}: {}\n", ops.join("; ")));
    }
    for (i, v) in verdicts {
        let c = &cases[*i];
        if let (Bytes::Documented { why, .. }, Verdict::Documented(n)) = (&c.bytes, v) {
            out.push_str(&format!("  documented: {} ({n} bytes): {why}\n", c.label()))
        }
    }
    out
}
