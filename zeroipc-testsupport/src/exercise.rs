//! Runs every structure kind's `open` and a bounded set of operations
//! against whatever a segment holds, for the hostile-input tests.
//!
//! Shared by the libFuzzer targets (`fuzz/fuzz_targets/*.rs`, through the
//! `zeroipc_fuzz` library, which re-exports this module) and by the `cargo
//! test` suites `zeroipc/tests/proptest_hostile.rs` and
//! `zeroipc/tests/security.rs`, so all three exercise the same calls.
//!
//! Contract under test: whatever bytes the segment holds (and whatever a
//! peer writes while we run), every call returns `Ok`/`Err`/`None`/a value;
//! none panics, none blocks past its timeout, none touches memory outside
//! the mapping. Only non-blocking (`try_*`) or timed (`*_timeout`) forms
//! of waiting operations are called, so a hang is a bug, not a wait.
#![allow(dead_code)]

use std::fmt::Debug;
use std::sync::atomic::Ordering;
use std::time::Duration;
use zeroipc::codata::lazy::Arithmetic;
use zeroipc::format::{self as fmt, ElemLayout};
use zeroipc::{
    Array, Barrier, Channel, Event, Future, Latch, Lazy, Map, Monitor, Mutex, Once, Pool,
    PoolHandle, Queue, Ring, RwLock, Segment, Semaphore, Set, ShmElement, Signal, Stack, Stream,
    StreamVoid,
};

/// Knobs and counters of one exercise run.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// Timeout given to every `*_timeout` call.
    pub wait: Duration,
    /// How many times repeated operations (pop, allocate, try_next...) run.
    pub reps: usize,
    /// Also call mutating operations (push, insert, allocate, set...).
    pub write: bool,
    /// Structures that opened.
    pub opened: u64,
    /// Open attempts refused with an error.
    pub refused: u64,
    /// Operations called.
    pub ops: u64,
    /// A value mixed into keys and indices (varies the probes per run).
    pub salt: u64,
    /// Skip the calls that would spend a documented bounded wait on a slot
    /// that only a live peer could release (a Stack slot not in the state
    /// the operation needs: about 0.5 s; a Map/Set slot left INSERTING:
    /// 100 ms per such slot and call). Single-threaded fuzzing sees the
    /// same bytes the call will see, so the check is exact there; the
    /// waits themselves are covered by the deterministic tests.
    pub fast: bool,
    /// Calls skipped by `fast`.
    pub skipped: u64,
}

impl Ctx {
    /// A context with `reps` repetitions and timeout `wait`.
    pub fn new(wait: Duration, reps: usize, write: bool) -> Ctx {
        Ctx {
            wait,
            reps,
            write,
            opened: 0,
            refused: 0,
            ops: 0,
            salt: 0,
            fast: false,
            skipped: 0,
        }
    }

    fn op<R>(&mut self, r: R) -> R {
        self.ops += 1;
        r
    }

    fn opened<T, E>(&mut self, r: Result<T, E>) -> Option<T> {
        match r {
            Ok(v) => {
                self.opened += 1;
                Some(v)
            }
            Err(_) => {
                self.refused += 1;
                None
            }
        }
    }

    /// Indices worth probing in a structure of `len` elements.
    fn indices(&self, len: usize) -> [usize; 6] {
        [
            0,
            len / 2,
            len.wrapping_sub(1),
            len,
            len.wrapping_add(1),
            (self.salt as usize) ^ usize::MAX,
        ]
    }
}

/// A value of `T` whose bytes are all `b` (every bit pattern is a valid
/// `ShmElement`).
fn value<T: ShmElement>(b: u8) -> T {
    let bytes = vec![b; size_of::<T>()];
    zeroipc::element::from_bytes::<T>(&bytes).expect("size_of::<T>() bytes")
}

/// Array reads (and writes with `cx.write`).
pub fn ops_array<T: ShmElement + Debug>(a: &Array<T>, cx: &mut Ctx) {
    let len = cx.op(a.len());
    cx.op(a.is_empty());
    for i in cx.indices(len) {
        let _ = cx.op(a.get(i));
        if cx.write {
            let _ = cx.op(a.set(i, value(0x5a)));
        }
    }
    let mut buf = vec![value::<T>(0); 4.min(len + 1)];
    let _ = cx.op(a.read_into(len.saturating_sub(2), &mut buf));
    if len <= 4096 {
        cx.op(a.to_vec());
        // The tools' view: the raw core's snapshot.
        cx.op(a.raw().items());
    }
    if cx.write {
        let _ = cx.op(a.write_from(len.saturating_sub(1), &buf));
    }
}

/// Queue: len/is_empty/is_full, pops, pushes.
pub fn ops_queue<T: ShmElement + Debug>(q: &Queue<T>, cx: &mut Ctx) {
    // The tools' view (the inspector's `get`): the raw core's snapshot,
    // bounded like the other whole-structure copies.
    if cx.op(q.capacity()) <= 4096 {
        cx.op(q.raw().items());
    }
    cx.op(q.len());
    cx.op(q.is_empty());
    cx.op(q.is_full());
    for _ in 0..cx.reps {
        cx.op(q.pop());
    }
    let _ = cx.op(q.pop_timeout(cx.wait));
    if cx.write {
        for i in 0..cx.reps {
            let _ = cx.op(q.push(value(i as u8)));
        }
        let _ = cx.op(q.push_timeout(value(1), cx.wait));
        cx.op(q.pop());
    }
}

/// State word of stack slot `i`, if `i` is a slot (offsets from the
/// format catalogue).
fn stack_state<T: ShmElement>(s: &Stack<T>, i: i64) -> Option<u32> {
    let cap = s.capacity();
    if i < 0 || i >= cap as i64 {
        return None;
    }
    let state_off = fmt::stack::state_offset(cap as u64, ElemLayout::of::<T>())?;
    let off = usize::try_from(state_off + 4 * i as u64).ok()?;
    Some(s.region().atomic_u32(off).load(Ordering::Relaxed))
}

fn stack_top<T: ShmElement>(s: &Stack<T>) -> i64 {
    s.region()
        .atomic_i32(fmt::stack::TOP as usize)
        .load(Ordering::Relaxed) as i64
}

/// With `cx.fast`: pop/peek would claim slot `top`, which must be READY.
fn stack_pop_quick<T: ShmElement>(s: &Stack<T>, cx: &mut Ctx) -> bool {
    let ok = !cx.fast || stack_state(s, stack_top(s)).is_none_or(|st| st == fmt::stack::READY);
    cx.skipped += u64::from(!ok);
    ok
}

/// With `cx.fast`: push would claim slot `top + 1`, which must be EMPTY.
fn stack_push_quick<T: ShmElement>(s: &Stack<T>, cx: &mut Ctx) -> bool {
    let ok = !cx.fast || stack_state(s, stack_top(s) + 1).is_none_or(|st| st == fmt::stack::EMPTY);
    cx.skipped += u64::from(!ok);
    ok
}

/// Stack: len, peek, pops, pushes.
pub fn ops_stack<T: ShmElement + Debug>(s: &Stack<T>, cx: &mut Ctx) {
    if cx.op(s.capacity()) <= 4096 && stack_pop_quick(s, cx) {
        cx.op(s.raw().items());
    }
    cx.op(s.len());
    cx.op(s.is_empty());
    if stack_pop_quick(s, cx) {
        cx.op(s.peek());
    }
    for _ in 0..cx.reps {
        if stack_pop_quick(s, cx) {
            cx.op(s.pop());
        }
    }
    if stack_pop_quick(s, cx) {
        let _ = cx.op(s.pop_timeout(cx.wait));
    }
    if cx.write {
        for i in 0..cx.reps {
            if stack_push_quick(s, cx) {
                let _ = cx.op(s.push(value(i as u8)));
            }
        }
        if stack_push_quick(s, cx) {
            let _ = cx.op(s.push_timeout(value(2), cx.wait));
        }
        if stack_pop_quick(s, cx) {
            cx.op(s.peek());
        }
    }
}

/// True unless `cx.fast` and some slot of a hash table (region `r`,
/// `capacity` slots of `stride` bytes; the Map/Set layout of the format
/// catalogue) is INSERTING.
fn slots_quick(r: &zeroipc::region::Region, capacity: usize, stride: u64, cx: &mut Ctx) -> bool {
    if !cx.fast {
        return true;
    }
    let state_at = |i: usize| fmt::map::SLOTS + stride * i as u64 + fmt::map::SLOT_STATE;
    let stuck = (0..capacity)
        .any(|i| r.atomic_u32(state_at(i) as usize).load(Ordering::Relaxed) == fmt::map::INSERTING);
    cx.skipped += u64::from(stuck);
    !stuck
}

/// Map: get/contains/len/iter, insert/remove.
pub fn ops_map<K: ShmElement + Debug, V: ShmElement + Debug>(m: &Map<K, V>, cx: &mut Ctx) {
    cx.op(m.len());
    cx.op(m.is_empty());
    let cap = cx.op(m.capacity());
    let Some(slot) = fmt::map::slot_layout(ElemLayout::of::<K>(), ElemLayout::of::<V>()) else {
        return; // Map::open refuses such a layout
    };
    let probe = slots_quick(m.region(), cap, slot.stride, cx);
    let keys: Vec<K> = (0..cx.reps as u8)
        .map(|i| value(i ^ cx.salt as u8))
        .collect();
    for k in keys.iter().filter(|_| probe) {
        cx.op(m.get(k));
        cx.op(m.contains(k));
    }
    let n = cx.op(m.iter().take(cap.saturating_add(8).min(4096)).count());
    let _ = n;
    if cap <= 4096 {
        cx.op(m.entries());
        if probe {
            // The tools' view: the raw core's snapshot.
            cx.op(m.raw().entries());
        }
    }
    if cx.write && probe {
        for k in &keys {
            let _ = cx.op(m.insert(*k, value(7)));
        }
        for k in &keys {
            cx.op(m.remove(k));
        }
    }
}

/// Set: contains/len/iter, insert/remove.
pub fn ops_set<T: ShmElement + Debug>(s: &Set<T>, cx: &mut Ctx) {
    cx.op(s.len());
    cx.op(s.is_empty());
    let cap = cx.op(s.capacity());
    let Some(slot) = fmt::set::slot_layout(ElemLayout::of::<T>()) else {
        return; // Set::open refuses such a layout
    };
    let probe = slots_quick(s.region(), cap, slot.stride, cx);
    let keys: Vec<T> = (0..cx.reps as u8)
        .map(|i| value(i ^ cx.salt as u8))
        .collect();
    for k in keys.iter().filter(|_| probe) {
        cx.op(s.contains(k));
    }
    cx.op(s.iter().take(cap.saturating_add(8).min(4096)).count());
    if cap <= 4096 {
        cx.op(s.to_vec());
        if probe {
            cx.op(s.raw().members());
        }
    }
    if cx.write && probe {
        for k in &keys {
            let _ = cx.op(s.insert(*k));
        }
        for k in &keys {
            cx.op(s.remove(k));
        }
    }
}

/// Pool: counters, allocate/get/set/deallocate, hostile handles.
pub fn ops_pool<T: ShmElement + Debug>(p: &Pool<T>, cx: &mut Ctx) {
    let cap = cx.op(p.capacity());
    cx.op(p.allocated());
    cx.op(p.available());
    cx.op(p.is_full());
    if cap <= 4096 {
        let _ = cx.op(p.raw().items());
    }
    for i in cx.indices(cap) {
        let h = PoolHandle::from_index(i as u32);
        let _ = cx.op(p.get(h));
    }
    if cx.write {
        let mut got = Vec::new();
        for _ in 0..cx.reps {
            if let Ok(Some(h)) = cx.op(p.allocate()) {
                let _ = cx.op(p.set(h, value(3)));
                let _ = cx.op(p.get(h));
                got.push(h);
            }
        }
        for h in got {
            let _ = cx.op(p.deallocate(h));
        }
        // Handles a peer might send us: out of range, or never allocated.
        for i in [cap as u32, u32::MAX, (cx.salt as u32) % (cap as u32 + 1)] {
            let _ = cx.op(p.deallocate(PoolHandle::from_index(i)));
        }
    }
}

/// Ring: len/free_space, reads, bulk reads, writes.
pub fn ops_ring<T: ShmElement + Debug>(r: &Ring<T>, cx: &mut Ctx) {
    if cx.op(r.capacity()) <= 4096 {
        cx.op(r.raw().items());
    }
    cx.op(r.capacity_bytes());
    cx.op(r.len());
    cx.op(r.is_empty());
    cx.op(r.is_full());
    cx.op(r.free_space());
    for _ in 0..cx.reps {
        cx.op(r.read());
    }
    let mut buf = vec![value::<T>(0); cx.reps.max(1)];
    cx.op(r.read_bulk(&mut buf));
    if cx.write {
        for i in 0..cx.reps {
            let _ = cx.op(r.write(value(i as u8)));
        }
        cx.op(r.write_bulk(&buf));
        cx.op(r.read_bulk(&mut buf));
    }
}

/// Semaphore: counters, try/timed acquire, release.
pub fn ops_semaphore(s: &Semaphore, cx: &mut Ctx) {
    cx.op(s.count());
    cx.op(s.waiting());
    cx.op(s.max_count());
    if cx.write {
        if matches!(cx.op(s.try_acquire()), Ok(true)) {
            let _ = cx.op(s.release());
        }
        if cx.op(s.acquire_timeout(cx.wait)).is_ok() {
            let _ = cx.op(s.release());
        }
    }
}

/// Mutex: try/timed lock and unlock.
pub fn ops_mutex(m: &Mutex, cx: &mut Ctx) {
    cx.op(m.is_locked());
    if cx.write {
        drop(cx.op(m.try_lock()));
        drop(cx.op(m.lock_timeout(cx.wait)));
    }
}

/// Barrier: counters, timed wait.
pub fn ops_barrier(b: &Barrier, cx: &mut Ctx) {
    cx.op(b.participants());
    cx.op(b.generation());
    cx.op(b.arrived());
    cx.op(b.pending_generation());
    if cx.write {
        let _ = cx.op(b.wait_timeout(cx.wait));
    }
}

/// Latch: count, try/timed wait, count_down.
pub fn ops_latch(l: &Latch, cx: &mut Ctx) {
    cx.op(l.count());
    cx.op(l.initial());
    let _ = cx.op(l.try_wait());
    let _ = cx.op(l.wait_timeout(cx.wait));
    if cx.write {
        let _ = cx.op(l.count_down(1));
        let _ = cx.op(l.count_down(i32::MAX));
    }
}

/// Once: state, try_call_once.
pub fn ops_once(o: &Once, cx: &mut Ctx) {
    let _ = cx.op(o.state());
    cx.op(o.is_done());
    if cx.write {
        let _ = cx.op(o.try_call_once(|| {}));
        let _ = cx.op(o.call_once_timeout(cx.wait, || {}));
    }
}

/// Event: mode, flags, try/timed wait, signal/reset.
pub fn ops_event(e: &Event, cx: &mut Ctx) {
    cx.op(e.mode());
    cx.op(e.is_signaled());
    cx.op(e.signaled_raw());
    cx.op(e.waiting());
    ops_semaphore(e.semaphore(), cx);
    if cx.write {
        let _ = cx.op(e.try_wait());
        let _ = cx.op(e.wait_timeout(cx.wait));
        let _ = cx.op(e.signal());
        let _ = cx.op(e.try_wait());
        let _ = cx.op(e.reset());
        let _ = cx.op(e.pulse_timeout(cx.wait));
    }
}

/// RwLock: readers, try/timed read and write.
pub fn ops_rwlock(l: &RwLock, cx: &mut Ctx) {
    cx.op(l.readers());
    cx.op(l.is_write_locked());
    if cx.write {
        drop(cx.op(l.try_read()));
        drop(cx.op(l.read_timeout(cx.wait)));
        drop(cx.op(l.try_write()));
        drop(cx.op(l.write_timeout(cx.wait)));
    }
}

/// Monitor: waiters, try/timed lock, timed condition wait, notify.
pub fn ops_monitor(m: &Monitor, cx: &mut Ctx) {
    cx.op(m.waiters());
    cx.op(m.is_locked());
    ops_semaphore(m.condition(), cx);
    if cx.write {
        if let Ok(Some(g)) = cx.op(m.try_lock()) {
            drop(cx.op(g.wait_timeout(cx.wait)));
        }
        drop(cx.op(m.lock_timeout(cx.wait)));
        let _ = cx.op(m.notify_one());
        let _ = cx.op(m.notify_all());
    }
}

/// Signal: version, try/timed get, timed wait for change, set.
pub fn ops_signal<T: ShmElement + Debug>(s: &Signal<T>, cx: &mut Ctx) {
    let v = cx.op(s.version());
    let _ = cx.op(s.try_get());
    let _ = cx.op(s.get_timeout(cx.wait));
    let _ = cx.op(s.wait_for_change_timeout(v, cx.wait));
    if cx.write {
        let _ = cx.op(s.try_set(value(9)));
        let _ = cx.op(s.set_timeout(value(8), cx.wait));
        let _ = cx.op(s.update_timeout(cx.wait, |x| x));
    }
}

/// Future: state, try/timed get, error message, set.
pub fn ops_future<T: ShmElement + Debug>(f: &Future<T>, cx: &mut Ctx) {
    cx.op(f.state());
    cx.op(f.is_ready());
    cx.op(f.waiters());
    cx.op(f.completion_time());
    let _ = cx.op(f.try_get());
    let _ = cx.op(f.get_timeout(cx.wait));
    cx.op(f.error_message());
    if cx.write {
        cx.op(f.set_value(value(4)));
        cx.op(f.set_error("fuzz"));
    }
}

/// Lazy: state, op, peek, timed force, reset.
pub fn ops_lazy<T: Arithmetic>(l: &Lazy<T>, cx: &mut Ctx) {
    cx.op(l.state());
    cx.op(l.op());
    cx.op(l.peek());
    cx.op(l.is_computed());
    cx.op(l.compute_count());
    cx.op(l.error_message());
    if cx.write {
        let _ = cx.op(l.force_timeout(cx.wait));
        cx.op(l.reset());
        cx.op(l.reset_abandoned());
    }
}

/// Stream: counters, try_recv, a subscriber's reads, emits.
pub fn ops_stream<T: ShmElement + Debug>(s: &Stream<T>, cx: &mut Ctx) {
    cx.op(s.capacity());
    cx.op(s.len());
    cx.op(s.is_empty());
    cx.op(s.sequence());
    cx.op(s.subscriber_count());
    cx.op(s.transform_name());
    cx.op(s.is_closed());
    {
        let mut sub = cx.op(s.subscribe());
        cx.op(sub.lag());
        for _ in 0..cx.reps {
            let _ = cx.op(sub.try_next());
        }
        let _ = cx.op(sub.next_timeout(cx.wait));
    }
    if cx.write {
        for _ in 0..cx.reps {
            let _ = cx.op(s.try_recv());
        }
        let _ = cx.op(s.recv_timeout(cx.wait));
        let _ = cx.op(s.try_emit(value(5)));
        let _ = cx.op(s.emit_timeout(value(5), cx.wait));
        let _ = cx.op(s.emit_overwrite(value(6)));
    }
}

/// StreamVoid: count, closed, emit.
pub fn ops_stream_void(s: &StreamVoid, cx: &mut Ctx) {
    cx.op(s.count());
    cx.op(s.is_closed());
    if cx.write {
        cx.op(s.emit());
    }
}

/// Channel: counters, try/timed recv and send.
pub fn ops_channel<T: ShmElement + Debug>(c: &Channel<T>, cx: &mut Ctx) {
    cx.op(c.capacity());
    cx.op(c.is_buffered());
    cx.op(c.len());
    cx.op(c.is_empty());
    cx.op(c.sender_count());
    cx.op(c.receiver_count());
    cx.op(c.is_closed());
    if cx.write {
        for _ in 0..cx.reps {
            let _ = cx.op(c.try_recv());
        }
        let _ = cx.op(c.recv_timeout(cx.wait));
        let _ = cx.op(c.try_send(value(1)));
        let _ = cx.op(c.send_timeout(value(2), cx.wait));
        cx.op(c.recover_unbuffered());
    }
}

// ---------------------------------------------------------------------------
// Opening by name with every kind and plausible types

macro_rules! each_type {
    ($f:ident, $seg:expr, $name:expr, $cx:expr; $($t:ty),*) => {$(
        $f::<$t>($seg, $name, $cx);
    )*};
}

fn try_array<T: ShmElement + Debug>(seg: &Segment, name: &str, cx: &mut Ctx) {
    if let Some(a) = cx.opened(Array::<T>::open(seg, name)) {
        ops_array(&a, cx);
    }
}
fn try_queue<T: ShmElement + Debug>(seg: &Segment, name: &str, cx: &mut Ctx) {
    if let Some(q) = cx.opened(Queue::<T>::open(seg, name)) {
        ops_queue(&q, cx);
    }
}
fn try_stack<T: ShmElement + Debug>(seg: &Segment, name: &str, cx: &mut Ctx) {
    if let Some(s) = cx.opened(Stack::<T>::open(seg, name)) {
        ops_stack(&s, cx);
    }
}
fn try_set<T: ShmElement + Debug>(seg: &Segment, name: &str, cx: &mut Ctx) {
    if let Some(s) = cx.opened(Set::<T>::open(seg, name)) {
        ops_set(&s, cx);
    }
}
fn try_pool<T: ShmElement + Debug>(seg: &Segment, name: &str, cx: &mut Ctx) {
    if let Some(p) = cx.opened(Pool::<T>::open(seg, name)) {
        ops_pool(&p, cx);
    }
}
fn try_ring<T: ShmElement + Debug>(seg: &Segment, name: &str, cx: &mut Ctx) {
    if let Some(r) = cx.opened(Ring::<T>::open(seg, name)) {
        ops_ring(&r, cx);
    }
}
fn try_signal<T: ShmElement + Debug>(seg: &Segment, name: &str, cx: &mut Ctx) {
    if let Some(s) = cx.opened(Signal::<T>::open(seg, name)) {
        ops_signal(&s, cx);
    }
}
fn try_future<T: ShmElement + Debug>(seg: &Segment, name: &str, cx: &mut Ctx) {
    if let Some(f) = cx.opened(Future::<T>::open(seg, name)) {
        ops_future(&f, cx);
    }
}
fn try_lazy<T: Arithmetic>(seg: &Segment, name: &str, cx: &mut Ctx) {
    if let Some(l) = cx.opened(Lazy::<T>::open(seg, name)) {
        ops_lazy(&l, cx);
    }
}
fn try_stream<T: ShmElement + Debug>(seg: &Segment, name: &str, cx: &mut Ctx) {
    if let Some(s) = cx.opened(Stream::<T>::open(seg, name)) {
        ops_stream(&s, cx);
    }
}
fn try_channel<T: ShmElement + Debug>(seg: &Segment, name: &str, cx: &mut Ctx) {
    if let Some(c) = cx.opened(Channel::<T>::open(seg, name)) {
        ops_channel(&c, cx);
    }
}
fn try_map<K: ShmElement + Debug, V: ShmElement + Debug>(seg: &Segment, name: &str, cx: &mut Ctx) {
    if let Some(m) = cx.opened(Map::<K, V>::open(seg, name)) {
        ops_map(&m, cx);
    }
}

/// Element types of every size class the vectors use (1, 2, 3, 4, 8, 16
/// bytes; alignments 1, 2, 4, 8). The structures treat elements as bytes,
/// so one type per size and alignment is enough; floats matter where keys
/// are compared or values computed (Set, Map keys, Lazy) and are added
/// there.
macro_rules! elem_types {
    ($f:ident, $seg:expr, $name:expr, $cx:expr) => {
        each_type!($f, $seg, $name, $cx; u8, i16, [u8; 3], i32, i64, [u64; 2])
    };
}

/// Opens `name` as every structure kind with every plausible element type
/// and runs the operations of each that opens.
pub fn exercise_name(seg: &Segment, name: &str, cx: &mut Ctx) {
    elem_types!(try_array, seg, name, cx);
    elem_types!(try_queue, seg, name, cx);
    elem_types!(try_stack, seg, name, cx);
    elem_types!(try_set, seg, name, cx);
    each_type!(try_set, seg, name, cx; f32, f64);
    elem_types!(try_pool, seg, name, cx);
    elem_types!(try_ring, seg, name, cx);
    elem_types!(try_future, seg, name, cx);
    elem_types!(try_signal, seg, name, cx);
    elem_types!(try_stream, seg, name, cx);
    elem_types!(try_channel, seg, name, cx);
    each_type!(try_lazy, seg, name, cx; u8, i16, i32, f32, i64, f64);
    try_map::<i32, i32>(seg, name, cx);
    try_map::<i64, f64>(seg, name, cx);
    try_map::<[u8; 3], i16>(seg, name, cx);
    try_map::<f64, i32>(seg, name, cx);
    try_map::<u8, u8>(seg, name, cx);
    try_map::<[u64; 2], u64>(seg, name, cx);
    if let Some(s) = cx.opened(Semaphore::open(seg, name)) {
        ops_semaphore(&s, cx);
    }
    if let Some(m) = cx.opened(Mutex::open(seg, name)) {
        ops_mutex(&m, cx);
    }
    if let Some(b) = cx.opened(Barrier::open(seg, name)) {
        ops_barrier(&b, cx);
    }
    if let Some(l) = cx.opened(Latch::open(seg, name)) {
        ops_latch(&l, cx);
    }
    if let Some(o) = cx.opened(Once::open(seg, name)) {
        ops_once(&o, cx);
    }
    if let Some(e) = cx.opened(Event::open(seg, name)) {
        ops_event(&e, cx);
    }
    if let Some(l) = cx.opened(RwLock::open(seg, name)) {
        ops_rwlock(&l, cx);
    }
    if let Some(m) = cx.opened(Monitor::open(seg, name)) {
        ops_monitor(&m, cx);
    }
    if let Some(s) = cx.opened(StreamVoid::open(seg, name)) {
        ops_stream_void(&s, cx);
    }
}

/// The names to try for a segment: every entry name, and for composite
/// parts (`x_header`, `x_sem`, ...) the base name `x` the composite opens by.
pub fn candidate_names(seg: &Segment) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let entries = match seg.entries() {
        Ok(e) => e,
        Err(_) => return names,
    };
    for e in entries {
        if let Some((base, _)) = e.name.rsplit_once('_') {
            if !base.is_empty() && !names.iter().any(|n| n == base) {
                names.push(base.to_owned());
            }
        }
        if !names.contains(&e.name) {
            names.push(e.name);
        }
    }
    names
}

/// At most this many names are exercised per segment: the cost of a
/// run grows as names x kinds x types x table entries (every open looks
/// its name up in the table), and a fuzzed table can hold hundreds.
pub const MAX_NAMES: usize = 16;

/// The first [`MAX_NAMES`] candidate names through [`exercise_name`].
pub fn exercise_segment(seg: &Segment, cx: &mut Ctx) {
    for name in candidate_names(seg).into_iter().take(MAX_NAMES) {
        exercise_name(seg, &name, cx);
    }
}

/// Writes `bytes` as the segment object `name` (mode 0600; an existing
/// object of that name, ours, is truncated and rewritten), opens it and exercises it. Returns the open error if
/// the segment was refused.
pub fn exercise_bytes(name: &str, bytes: &[u8], cx: &mut Ctx) -> Result<(), zeroipc::Error> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let path = zeroipc::segment::shm_path(name).expect("valid name");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)
        .expect("create segment file");
    f.write_all(bytes).expect("write segment file");
    drop(f);
    let seg = Segment::open(name)?;
    exercise_segment(&seg, cx);
    Ok(())
}
