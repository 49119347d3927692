//! Model checking of the real structure code with loom (issue 8, item 2).
//!
//! Built only with `--cfg loom`:
//!
//! ```text
//! RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom \
//!     cargo test -p zeroipc --test loom --release -- --test-threads=1 --nocapture
//! ```
//!
//! In that build every atomic a `Region` hands out is a loom atomic shadowing
//! the shared word (see `zeroipc::region::loom_shadow`), sleeps and spins in
//! `zeroipc::wait` are yields to loom's scheduler, and volatile payload copies
//! are reported to loom's race detector. So each test below runs the
//! structures' own code (not a re-implementation) under every interleaving
//! loom explores within the preemption bound (`LOOM_MAX_PREEMPTIONS`,
//! default per test below), including the weak-memory outcomes loom models
//! for Relaxed/Acquire/Release. Each test prints how many executions loom
//! explored (`LOOM <test>: N executions ...`); the figures are recorded in
//! `docs/RELIABILITY-CONCURRENCY.md`.
//!
//! Each execution creates its own segment (loom objects live for one
//! execution), named `/zeroipc-loom-<pid>-<n>`, and unlinks it at the end.
//!
//! In every model the main thread only sets up, spawns and joins: loom 0.7
//! explores far fewer interleavings when the main thread races a thread it
//! has just spawned (a map erase/insert race: 4 executions that way, 1709
//! with both sides spawned, unbounded preemptions).
#![cfg(loom)]

use loom::cell::UnsafeCell;
use loom::thread;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Instant;
use zeroipc::data::map::MapInsert;
use zeroipc::data::set::SetInsert;
use zeroipc::hash::key_hash;
use zeroipc::{
    Barrier, Channel, Error, Event, EventMode, Latch, Map, Once, Pool, Queue, Segment, Set, Stack,
};

static SEQ: AtomicUsize = AtomicUsize::new(0);

/// Plain (non-atomic) memory shared by model threads, with every access
/// checked by loom's race detector: an access not ordered by happens-before
/// with the previous write panics, which is what the Once and Latch models
/// assert about the structures' Release/Acquire edges.
struct Data(UnsafeCell<u32>);

// SAFETY: all access goes through loom's UnsafeCell, which checks that
// conflicting accesses are ordered (and panics otherwise).
unsafe impl Sync for Data {}
// SAFETY: as for Sync; a u32 may move between threads.
unsafe impl Send for Data {}

impl Data {
    fn new() -> Data {
        Data(UnsafeCell::new(0))
    }
    fn write(&self, v: u32) {
        // SAFETY: loom panics if this write races another access.
        self.0.with_mut(|p| unsafe { *p = v })
    }
    fn read(&self) -> u32 {
        // SAFETY: loom panics if this read races a write.
        self.0.with(|p| unsafe { *p })
    }
}

/// A segment for one model execution, unlinked when dropped.
struct Shm {
    seg: Segment,
    name: String,
}

impl Shm {
    fn new() -> Shm {
        let name = format!(
            "/zeroipc-loom-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Relaxed)
        );
        let seg = Segment::options()
            .size(64 << 10)
            .max_entries(8)
            .create(&name)
            .expect("create loom segment");
        Shm { seg, name }
    }
}

impl Drop for Shm {
    fn drop(&mut self) {
        let _ = Segment::unlink(&self.name);
    }
}

/// Runs `f` under loom with `preemptions` as the default bound and reports
/// the number of executions explored.
fn model(test: &str, preemptions: usize, f: impl Fn() + Sync + Send + 'static) {
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = runs.clone();
    let mut b = loom::model::Builder::new();
    if std::env::var_os("ZEROIPC_LOOM_UNBOUNDED").is_some() {
        b.preemption_bound = None;
    } else if std::env::var_os("LOOM_MAX_PREEMPTIONS").is_none() {
        b.preemption_bound = Some(preemptions);
    }
    if std::env::var_os("LOOM_MAX_BRANCHES").is_none() {
        b.max_branches = 20_000;
    }
    let bound = b.preemption_bound;
    let start = Instant::now();
    b.check(move || {
        counter.fetch_add(1, Relaxed);
        f();
    });
    let line = format!(
        "LOOM {test}: {} executions, preemption bound {}, {:.1} s",
        runs.load(Relaxed),
        bound.map_or("none".to_owned(), |b| b.to_string()),
        start.elapsed().as_secs_f64()
    );
    eprintln!("{line}");
    if let Some(path) = std::env::var_os("ZEROIPC_LOOM_REPORT") {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .expect("report file");
        writeln!(f, "{line}").expect("write report");
    }
}

/// Pops until a value comes (a consumer spinning on an empty queue).
fn pop_wait(q: &Queue<u32>) -> u32 {
    loop {
        if let Some(v) = q.pop() {
            return v;
        }
        thread::yield_now();
    }
}

/// Pushes until there is room.
fn push_wait(q: &Queue<u32>, v: u32) {
    while q.push(v).is_err() {
        thread::yield_now();
    }
}

// ----- Queue ----------------------------------------------------------------

/// Two producers and one consumer: each value is received exactly once, and
/// the consumer's read of a slot never races the producer's write.
#[test]
fn queue_two_producers_one_consumer() {
    model("queue_two_producers_one_consumer", 3, || {
        let shm = Shm::new();
        let q = Arc::new(Queue::<u32>::create(&shm.seg, "q", 2).unwrap());
        let producers: Vec<_> = [1u32, 2]
            .into_iter()
            .map(|v| {
                let q = q.clone();
                thread::spawn(move || q.push(v).expect("capacity 2 holds both"))
            })
            .collect();
        let qc = q.clone();
        let consumer = thread::spawn(move || [pop_wait(&qc), pop_wait(&qc)]);
        let mut got = consumer.join().unwrap();
        for p in producers {
            p.join().unwrap();
        }
        got.sort_unstable();
        assert_eq!(got, [1, 2]);
        assert_eq!(q.pop(), None);
        assert_eq!(q.len(), 0);
    });
}

/// Capacity 2, four values: the producer waits for room, so each slot goes
/// round a second lap (`seq = t + capacity`); order is kept. (Capacity 1 is
/// broken outright, see docs/RELIABILITY-CONCURRENCY.md.)
#[test]
fn queue_laps() {
    model("queue_laps", 3, || {
        let shm = Shm::new();
        let q = Arc::new(Queue::<u32>::create(&shm.seg, "q", 2).unwrap());
        let qp = q.clone();
        let p = thread::spawn(move || {
            for v in 1..=4 {
                push_wait(&qp, v);
            }
        });
        let qc = q.clone();
        let c = thread::spawn(move || [1, 2, 3, 4].map(|_| pop_wait(&qc)));
        let got = c.join().unwrap();
        p.join().unwrap();
        assert_eq!(got, [1, 2, 3, 4]);
        assert_eq!(q.pop(), None);
    });
}

/// One producer and two consumers, each making one attempt (a model with
/// two threads spinning at once has no bound in loom): no value is lost or
/// duplicated, and the value already there is always taken by someone.
#[test]
fn queue_one_producer_two_consumers() {
    model("queue_one_producer_two_consumers", 3, || {
        let shm = Shm::new();
        let q = Arc::new(Queue::<u32>::create(&shm.seg, "q", 2).unwrap());
        q.push(1).unwrap();
        let qp = q.clone();
        let producer = thread::spawn(move || qp.push(2));
        let consumers: Vec<_> = (0..2)
            .map(|_| {
                let q = q.clone();
                thread::spawn(move || q.pop())
            })
            .collect();
        assert_eq!(producer.join().unwrap(), Ok(()));
        let popped: Vec<u32> = consumers
            .into_iter()
            .filter_map(|c| c.join().unwrap())
            .collect();
        assert!(!popped.is_empty(), "value 1 was there all along");
        let mut all: Vec<u32> = popped
            .into_iter()
            .chain(std::iter::from_fn(|| q.pop()))
            .collect();
        all.sort_unstable();
        assert_eq!(all, [1, 2]);
    });
}

// ----- Stack ----------------------------------------------------------------

/// Outcome counters of the stack models (printed at the end of each test).
static STACK_GIVE_UPS: AtomicUsize = AtomicUsize::new(0);
static STACK_STRANDED: AtomicUsize = AtomicUsize::new(0);

/// After the model threads joined: the values `pop` still reaches, plus the
/// values left READY in a slot above `top` ("stranded" by a rolled-back
/// reservation, see the Stack module doc). Reads the slot states and data
/// through the public Region (layout FORMAT.md section 3).
fn stack_contents(s: &Stack<u32>) -> (Vec<u32>, Vec<u32>) {
    let cap = s.capacity();
    let state_off = (16 + 4 * cap + 7) & !7;
    let top = s.region().atomic_i32(0).load(Relaxed);
    let stranded: Vec<u32> = ((top + 1) as usize..cap)
        .filter(|&i| s.region().atomic_u32(state_off + 4 * i).load(Relaxed) == 2)
        .map(|i| s.region().read::<u32>(16 + 4 * i))
        .collect();
    let reachable = std::iter::from_fn(|| s.pop()).collect();
    (reachable, stranded)
}

/// Checks a stack model's outcome: pushes that returned Ok (`pushed`) are
/// each found exactly once among the values popped during the model, still
/// reachable, or stranded; a push that failed put nothing in.
fn check_stack(s: &Stack<u32>, pushed: &[u32], popped: &[u32], gave_up: bool) {
    let (reachable, stranded) = stack_contents(s);
    let mut all: Vec<u32> = popped
        .iter()
        .chain(&reachable)
        .chain(&stranded)
        .copied()
        .collect();
    all.sort_unstable();
    let mut want = pushed.to_vec();
    want.sort_unstable();
    assert_eq!(
        all, want,
        "popped {popped:?} reachable {reachable:?} stranded {stranded:?}"
    );
    if gave_up {
        STACK_GIVE_UPS.fetch_add(1, Relaxed);
    }
    if !stranded.is_empty() {
        STACK_STRANDED.fetch_add(1, Relaxed);
    }
}

fn report_stack(test: &str) {
    eprintln!(
        "LOOM {test}: executions with a claim give-up {}, with a stranded value {}",
        STACK_GIVE_UPS.swap(0, Relaxed),
        STACK_STRANDED.swap(0, Relaxed)
    );
}

/// A push racing a pop on a stack holding one value. Loom's scheduler is not
/// fair, so a claim can exhaust its bounded tries even between live threads
/// (the model's stand-in for a peer stalled past the real bound); then the
/// push fails or the pop finds nothing. In every execution: no value is
/// duplicated or lost (it was popped, is reachable, or is stranded above
/// `top`), no data race on a slot.
#[test]
fn stack_push_races_pop() {
    model("stack_push_races_pop", 3, || {
        let shm = Shm::new();
        let s = Arc::new(Stack::<u32>::create(&shm.seg, "s", 2).unwrap());
        s.push(1).unwrap();
        let sp = s.clone();
        let pusher = thread::spawn(move || sp.push(2));
        let so = s.clone();
        let popper = thread::spawn(move || so.pop());
        let pushed_ok = pusher.join().unwrap().is_ok();
        let popped: Vec<u32> = popper.join().unwrap().into_iter().collect();
        let pushed: Vec<u32> = if pushed_ok { vec![1, 2] } else { vec![1] };
        check_stack(&s, &pushed, &popped, !pushed_ok || popped.is_empty());
    });
    report_stack("stack_push_races_pop");
}

/// Two pushers and one popper on an empty stack (same checks).
#[test]
fn stack_two_pushers_one_popper() {
    model("stack_two_pushers_one_popper", 2, || {
        let shm = Shm::new();
        let s = Arc::new(Stack::<u32>::create(&shm.seg, "s", 2).unwrap());
        let pushers: Vec<_> = [1u32, 2]
            .into_iter()
            .map(|v| {
                let s = s.clone();
                thread::spawn(move || (v, s.push(v).is_ok()))
            })
            .collect();
        let so = s.clone();
        let popper = thread::spawn(move || so.pop());
        let results: Vec<(u32, bool)> = pushers.into_iter().map(|p| p.join().unwrap()).collect();
        let pushed: Vec<u32> = results.iter().filter(|r| r.1).map(|r| r.0).collect();
        let popped: Vec<u32> = popper.join().unwrap().into_iter().collect();
        check_stack(&s, &pushed, &popped, pushed.len() < 2);
    });
    report_stack("stack_two_pushers_one_popper");
}

// ----- Pool -----------------------------------------------------------------

/// Allocates (retrying while the pool is exhausted), owns the node for a
/// write and a read-back, frees it; `rounds` times.
fn pool_worker(p: &Pool<u32>, tag: u32, rounds: u32) {
    for r in 0..rounds {
        let h = loop {
            match p.allocate().expect("free list intact") {
                Some(h) => break h,
                None => thread::yield_now(),
            }
        };
        // Exclusive ownership: a node handed to two threads at once makes
        // loom report the racing payload accesses, or the read-back differ.
        let v = tag * 100 + r;
        p.set(h, v).unwrap();
        assert_eq!(p.get(h).unwrap(), v, "node {} shared", h.index());
        p.deallocate(h).unwrap();
    }
}

/// Capacity 1, two threads, two rounds each: the single node is passed back
/// and forth through the free list (generation-tagged head, ABA).
#[test]
fn pool_one_node_two_threads() {
    model("pool_one_node_two_threads", 3, || {
        let shm = Shm::new();
        let p = Arc::new(Pool::<u32>::create(&shm.seg, "p", 1).unwrap());
        let workers: Vec<_> = (1..=2)
            .map(|tag| {
                let p = p.clone();
                thread::spawn(move || pool_worker(&p, tag, 2))
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
        assert_eq!(p.allocated(), 0);
        let h = p.allocate().unwrap().expect("the node is free again");
        assert_eq!(p.allocate().unwrap(), None);
        p.deallocate(h).unwrap();
    });
}

/// Capacity 2, three threads, one round each: the free list ends up holding
/// both nodes exactly once.
#[test]
fn pool_two_nodes_three_threads() {
    model("pool_two_nodes_three_threads", 2, || {
        let shm = Shm::new();
        let p = Arc::new(Pool::<u32>::create(&shm.seg, "p", 2).unwrap());
        let workers: Vec<_> = (1..=3)
            .map(|tag| {
                let p = p.clone();
                thread::spawn(move || pool_worker(&p, tag, 1))
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
        assert_eq!(p.allocated(), 0);
        let a = p.allocate().unwrap().expect("node");
        let b = p.allocate().unwrap().expect("node");
        assert_ne!(a, b);
        assert_eq!(p.allocate().unwrap(), None);
    });
}

// ----- Map / Set ------------------------------------------------------------

/// Two distinct keys whose probe chains start at the same slot of a map of
/// `cap` slots.
fn colliding_keys(cap: u64) -> (u32, u32) {
    let a = 1u32;
    let home = key_hash(&a) % cap;
    let b = (2u32..)
        .find(|k| key_hash(k) % cap == home)
        .expect("a colliding key");
    (a, b)
}

/// Keys present in the map, with their values (every slot, so a duplicate
/// key shows up twice).
fn map_entries(m: &Map<u32, u64>) -> Vec<(u32, u64)> {
    let mut e = m.entries();
    e.sort_unstable();
    e
}

/// Map/Set models: the key bytes are read optimistically and validated
/// afterwards (seqlock style, module doc of map.rs), a race by design, so
/// the payload race tracker is off; values are atomics and stay modelled.
fn map_setup(seqcst_fences: bool) -> Shm {
    let shm = Shm::new();
    zeroipc::region::loom_shadow::set_payload_tracking(false);
    zeroipc::region::loom_shadow::set_seqcst_as_fences(seqcst_fences);
    shm
}

// Map models keep to two threads: a third thread that can wait on the
// same INSERTING claim as the second makes two threads spin at once, which
// loom's unfair scheduler never bounds.

/// An erase racing an insert of another key on the same probe chain (the
/// insert may reuse the erased slot's tombstone): both succeed, and the map
/// ends with exactly the inserted key.
fn map_erase_races_insert(seqcst_fences: bool) {
    let shm = map_setup(seqcst_fences);
    let m = Arc::new(Map::<u32, u64>::create(&shm.seg, "m", 4).unwrap());
    let (a, b) = colliding_keys(4);
    assert_eq!(m.insert(a, 10), MapInsert::Inserted);
    let me = m.clone();
    let eraser = thread::spawn(move || me.remove(&a));
    let mi = m.clone();
    let inserter = thread::spawn(move || mi.insert(b, 20));
    assert_eq!(inserter.join().unwrap(), MapInsert::Inserted);
    assert_eq!(eraser.join().unwrap(), Some(10));
    assert_eq!(map_entries(&m), [(b, 20)]);
    assert_eq!(m.len(), 1);
    // Where b went: the erased slot's tombstone or the next free slot.
    let home = (key_hash(&b) % 4) as usize;
    let state = m.region().atomic_u32(16 + 16 * home).load(Relaxed);
    MAP_OUTCOMES[usize::from(state == 1)].fetch_add(1, Relaxed);
}

/// Executions of `map_erase_races_insert` in which the inserted key went to
/// the next free slot / reused the erased key's slot.
static MAP_OUTCOMES: [AtomicUsize; 2] = [AtomicUsize::new(0), AtomicUsize::new(0)];

fn report_map(test: &str) {
    eprintln!(
        "LOOM {test}: inserted key placed after the erased slot in {} executions, \
         in the erased slot in {}",
        MAP_OUTCOMES[0].swap(0, Relaxed),
        MAP_OUTCOMES[1].swap(0, Relaxed)
    );
}

#[test]
fn map_erase_races_insert_on_one_chain() {
    model("map_erase_races_insert_on_one_chain", 3, || {
        map_erase_races_insert(false)
    });
    report_map("map_erase_races_insert_on_one_chain");
}

#[test]
fn map_erase_races_insert_on_one_chain_sc() {
    model("map_erase_races_insert_on_one_chain_sc", 3, || {
        map_erase_races_insert(true)
    });
    report_map("map_erase_races_insert_on_one_chain_sc");
}

/// A lookup racing an erase and a re-insert of the same slot with another
/// key on the same chain: the lookup sees the old key's value or nothing,
/// never the new key's value (the validated read of map.rs).
fn get_races_erase_reinsert(seqcst_fences: bool) {
    let shm = map_setup(seqcst_fences);
    let m = Arc::new(Map::<u32, u64>::create(&shm.seg, "m", 4).unwrap());
    let (a, b) = colliding_keys(4);
    assert_eq!(m.insert(a, 10), MapInsert::Inserted);
    let mg = m.clone();
    let reader = thread::spawn(move || mg.get(&a));
    let mw = m.clone();
    let writer = thread::spawn(move || (mw.remove(&a), mw.insert(b, 20)));
    assert_eq!(writer.join().unwrap(), (Some(10), MapInsert::Inserted));
    let seen = reader.join().unwrap();
    assert!(
        seen.is_none() || seen == Some(10),
        "lookup of {a} saw {seen:?}"
    );
    assert_eq!(map_entries(&m), [(b, 20)]);
}

#[test]
fn map_get_races_erase_reinsert() {
    model("map_get_races_erase_reinsert", 3, || {
        get_races_erase_reinsert(false)
    });
}

/// Two inserts of one key: exactly one adds it, the other updates it, the
/// map holds the key once, with the updater's value.
fn map_same_key(seqcst_fences: bool) {
    let shm = map_setup(seqcst_fences);
    let m = Arc::new(Map::<u32, u64>::create(&shm.seg, "m", 4).unwrap());
    let mo = m.clone();
    let other = thread::spawn(move || mo.insert(7, 1));
    let mm = m.clone();
    let mine = thread::spawn(move || mm.insert(7, 2));
    let outcomes = [other.join().unwrap(), mine.join().unwrap()];
    let entries = map_entries(&m);
    assert_eq!(
        entries.len(),
        1,
        "duplicate key: {entries:?} after {outcomes:?}"
    );
    let updated = match outcomes {
        [MapInsert::Inserted, MapInsert::Updated] => 2,
        [MapInsert::Updated, MapInsert::Inserted] => 1,
        _ => panic!("outcomes {outcomes:?}"),
    };
    assert_eq!(entries, [(7, updated)]);
    assert_eq!(m.len(), 1);
}

#[test]
fn map_same_key_inserts() {
    model("map_same_key_inserts", 3, || map_same_key(false));
}

#[test]
fn map_same_key_inserts_sc() {
    model("map_same_key_inserts_sc", 3, || map_same_key(true));
}

/// Set: two inserts of one value behind a present value of the same chain:
/// one adds it, the other finds it present; then an erase racing a
/// re-insert of the erased value.
fn set_same_value(seqcst_fences: bool) {
    let shm = map_setup(seqcst_fences);
    let s = Arc::new(Set::<u32>::create(&shm.seg, "s", 4).unwrap());
    let (a, b) = colliding_keys(4);
    assert_eq!(s.insert(a), SetInsert::Inserted);
    let so = s.clone();
    let other = thread::spawn(move || so.insert(b));
    let sm = s.clone();
    let mine = thread::spawn(move || sm.insert(b));
    let mut outcomes = [other.join().unwrap(), mine.join().unwrap()];
    outcomes.sort_by_key(|o| *o as u8);
    assert_eq!(outcomes, [SetInsert::Inserted, SetInsert::Present]);
    let mut v = s.to_vec();
    v.sort_unstable();
    let mut want = vec![a, b];
    want.sort_unstable();
    assert_eq!(v, want);
    assert_eq!(s.len(), 2);
}

#[test]
fn set_same_value_inserts() {
    model("set_same_value_inserts", 3, || set_same_value(false));
}

#[test]
fn set_same_value_inserts_sc() {
    model("set_same_value_inserts_sc", 3, || set_same_value(true));
}

// ----- Once / Latch ---------------------------------------------------------

/// Three callers, one blocking (`call_once`) and two not (`try_call_once`;
/// two blocked waiters spinning at once have no bound in loom): the closure
/// runs once, a non-blocking caller gets "done", "running" or runs it, and
/// every caller that returns "done" (or ran it) sees what it wrote: loom
/// checks the DONE-release -> acquire edge with its race detector.
#[test]
fn once_three_callers() {
    model("once_three_callers", 3, || {
        let shm = Shm::new();
        let once = Arc::new(Once::create(&shm.seg, "o").unwrap());
        let data = Arc::new(Data::new());
        let write = |d: &Data| d.write(42);
        let read = |d: &Data| d.read();
        let (o1, d1) = (once.clone(), data.clone());
        let caller = thread::spawn(move || {
            let ran = o1.call_once(|| write(&d1)).unwrap();
            assert_eq!(read(&d1), 42);
            ran
        });
        let triers: Vec<_> = (0..2)
            .map(|_| {
                let (o, d) = (once.clone(), data.clone());
                thread::spawn(move || {
                    let r = o.try_call_once(|| write(&d)).unwrap();
                    if r.is_some() {
                        assert_eq!(read(&d), 42);
                    }
                    r
                })
            })
            .collect();
        let mut ran = usize::from(caller.join().unwrap());
        for t in triers {
            ran += usize::from(t.join().unwrap() == Some(true));
        }
        assert_eq!(ran, 1);
        assert!(once.is_done());
        assert_eq!(read(&data), 42);
    });
}

/// A latch of 2: two workers write their cell and count down; a waiter
/// released by the latch reads both cells (each write must happen-before
/// the read: count_down's AcqRel CAS, the waiter's Acquire load).
#[test]
fn latch_publishes_count_down_writes() {
    model("latch_publishes_count_down_writes", 3, || {
        let shm = Shm::new();
        let latch = Arc::new(Latch::create(&shm.seg, "l", 2).unwrap());
        let cells = Arc::new([Data::new(), Data::new()]);
        let workers: Vec<_> = (0..2)
            .map(|i| {
                let latch = latch.clone();
                let cells = cells.clone();
                thread::spawn(move || {
                    cells[i].write(i as u32 + 1);
                    latch.count_down(1).unwrap();
                })
            })
            .collect();
        let lw = latch.clone();
        let cw = cells.clone();
        let waiter = thread::spawn(move || {
            lw.wait().unwrap();
            [cw[0].read(), cw[1].read()]
        });
        assert_eq!(waiter.join().unwrap(), [1, 2]);
        for w in workers {
            w.join().unwrap();
        }
        assert_eq!(latch.count(), 0);
    });
}

/// A participant polling with `Barrier::try_wait` meets one blocked in
/// `wait`: the poller arrives once however often it polls, exactly one of
/// the two leads generation 0, and each sees the other's write made before
/// arriving (the leader's release increment / the arrivals' AcqRel
/// fetch_add, checked by the race detector).
#[test]
fn barrier_try_wait_meets_a_blocking_wait() {
    model("barrier_try_wait_meets_a_blocking_wait", 3, || {
        let shm = Shm::new();
        let cells = Arc::new([Data::new(), Data::new()]);
        Barrier::create(&shm.seg, "b", 2).unwrap();
        let seg = shm.seg.clone();
        let c = cells.clone();
        let poller = thread::spawn(move || {
            let b = Barrier::open(&seg, "b").unwrap();
            c[0].write(1);
            let done = loop {
                if let Some(r) = b.try_wait().unwrap() {
                    break r;
                }
                // Not done: the arrival stays pending on the handle, and the
                // next poll resumes it instead of arriving again.
                assert_eq!(b.pending_generation(), Some(0));
                thread::yield_now();
            };
            (done, c[1].read())
        });
        let seg = shm.seg.clone();
        let c = cells.clone();
        let blocker = thread::spawn(move || {
            let b = Barrier::open(&seg, "b").unwrap();
            c[1].write(2);
            let done = b.wait().unwrap();
            (done, c[0].read())
        });
        let (p, seen_by_poller) = poller.join().unwrap();
        let (w, seen_by_blocker) = blocker.join().unwrap();
        assert_eq!((seen_by_poller, seen_by_blocker), (2, 1));
        assert_eq!((p.generation(), w.generation()), (0, 0));
        assert!(p.is_leader() != w.is_leader(), "exactly one leader");
        let b = Barrier::open(&shm.seg, "b").unwrap();
        assert_eq!((b.generation(), b.arrived()), (1, 0));
    });
}

/// `arrive_and_wait_timeout` racing another arrival and an observer: the
/// timed arrival either counted (the latch opened, the call succeeded) or
/// was withdrawn (the call timed out, the count is back to the other
/// arrival's 1); never a withdrawal after anyone could have seen the latch
/// open.
#[test]
fn latch_timed_arrival_is_withdrawn_or_counted() {
    model("latch_timed_arrival_is_withdrawn_or_counted", 3, || {
        let shm = Shm::new();
        let latch = Arc::new(Latch::create(&shm.seg, "l", 2).unwrap());
        let la = latch.clone();
        // Short: the loom build gives it up after a couple of checks.
        let arriver =
            thread::spawn(move || la.arrive_and_wait_timeout(std::time::Duration::from_millis(1)));
        let lb = latch.clone();
        let other = thread::spawn(move || lb.count_down(1).unwrap());
        let lo = latch.clone();
        let observer = thread::spawn(move || lo.try_wait().unwrap());
        let got = arriver.join().unwrap();
        other.join().unwrap();
        let saw_open = observer.join().unwrap();
        match got {
            Ok(()) => assert_eq!(latch.count(), 0),
            Err(Error::Timeout { .. }) => {
                assert_eq!(
                    latch.count(),
                    1,
                    "timed out, but the arrival stayed counted"
                );
                assert!(
                    !saw_open,
                    "the latch was seen open, then the arrival withdrawn"
                );
            }
            Err(e) => panic!("unexpected error: {e}"),
        }
    });
}

// ----- Channel ----------------------------------------------------------------

/// Unbuffered, one sender of two values and one receiver: each `send`
/// returns only once its value was taken, values arrive once and in order,
/// and the receiver's copy never races the sender's write of the slot.
#[test]
fn channel_rendezvous_one_to_one() {
    model("channel_rendezvous_one_to_one", 3, || {
        let shm = Shm::new();
        let ch = Channel::<u32>::create(&shm.seg, "c", 0).unwrap();
        let cs = ch.clone();
        let sender = thread::spawn(move || {
            cs.send(1).unwrap();
            cs.send(2).unwrap();
        });
        let cr = ch.clone();
        let receiver = thread::spawn(move || [cr.recv().unwrap(), cr.recv().unwrap()]);
        let got = receiver.join().unwrap();
        sender.join().unwrap();
        assert_eq!(got, [1, 2]);
        assert_eq!(ch.try_recv().unwrap(), None);
    });
}

/// Unbuffered: a send racing a close, with a receiver: if the send returned
/// Ok the receiver got the value; if it failed with Closed nobody got it.
#[test]
fn channel_rendezvous_send_races_close() {
    model("channel_rendezvous_send_races_close", 3, || {
        let shm = Shm::new();
        let ch = Channel::<u32>::create(&shm.seg, "c", 0).unwrap();
        let cs = ch.clone();
        let sender = thread::spawn(move || cs.send(9));
        let cr = ch.clone();
        let receiver = thread::spawn(move || cr.recv());
        let cc = ch.clone();
        let closer = thread::spawn(move || cc.close());
        closer.join().unwrap();
        let sent = sender.join().unwrap();
        let got = receiver.join().unwrap();
        match (&sent, &got) {
            (Ok(()), Ok(9)) => {}
            (Err(Error::Closed { .. }), Err(Error::Closed { .. })) => {}
            _ => panic!("send {sent:?}, recv {got:?}"),
        }
    });
}

/// Buffered: a send racing a close, then a receiver drains: a value whose
/// send returned Ok is received, then Closed. The receiver relies on a
/// Dekker pair of SeqCst operations (sender: `senders += 1`, load `closed`;
/// close: store `closed`, receiver: load `senders`).
fn buffered_close(seqcst_fences: bool) {
    let shm = Shm::new();
    zeroipc::region::loom_shadow::set_seqcst_as_fences(seqcst_fences);
    let ch = Channel::<u32>::create(&shm.seg, "c", 2).unwrap();
    let cs = ch.clone();
    let sender = thread::spawn(move || cs.send(5));
    let cc = ch.clone();
    let closer = thread::spawn(move || cc.close());
    closer.join().unwrap();
    let cr = ch.clone();
    let receiver = thread::spawn(move || {
        let mut got = Vec::new();
        let end = loop {
            match cr.recv() {
                Ok(v) => got.push(v),
                Err(e) => break e,
            }
        };
        (got, end)
    });
    let (got, end) = receiver.join().unwrap();
    assert!(matches!(end, Error::Closed { .. }), "{end:?}");
    match sender.join().unwrap() {
        Ok(()) => assert_eq!(got, [5], "a send that returned Ok was not received"),
        Err(Error::Closed { .. }) => assert!(got.is_empty(), "{got:?}"),
        Err(e) => panic!("{e:?}"),
    }
}

/// With SeqCst modelled by fences (see `set_seqcst_as_fences`): passes.
#[test]
fn channel_buffered_send_races_close_sc() {
    model("channel_buffered_send_races_close_sc", 3, || {
        buffered_close(true)
    });
}

/// With loom's own SeqCst model (as AcqRel), loom finds the execution in
/// which both sides of the Dekker pair read the old value, which the C++
/// total order of SeqCst operations forbids: a false loss. Kept to show
/// why the `_sc` variant exists.
#[test]
#[should_panic(expected = "a send that returned Ok was not received")]
fn channel_buffered_send_races_close_loom_acqrel_false_alarm() {
    model("channel_buffered_send_races_close_acqrel", 3, || {
        buffered_close(false)
    });
}

// ----- Event ------------------------------------------------------------------

/// Auto-reset (issue 12 item 1): a signal given while a waiter is blocked
/// (announced in the semaphore's `waiting`) is that waiter's: a `reset` and
/// a `try_wait` right after it cannot take it back, and the waiter is
/// released (a stolen permit would leave it spinning into loom's branch
/// limit). Two blocked waiters at once are not modelled (see
/// docs/RELIABILITY-CONCURRENCY.md); `tests/regress_sync_channel*.rs`
/// cover them with threads and processes.
#[test]
fn event_auto_reset_cannot_steal_a_blocked_waiters_signal() {
    model(
        "event_auto_reset_cannot_steal_a_blocked_waiters_signal",
        3,
        || {
            let shm = Shm::new();
            let ev = Event::create(&shm.seg, "e", EventMode::AutoReset).unwrap();
            let ew = ev.clone();
            let waiter = thread::spawn(move || ew.wait().unwrap());
            let es = ev.clone();
            let signaller = thread::spawn(move || {
                while es.semaphore().waiting() < 1 {
                    thread::yield_now();
                }
                es.signal().unwrap();
                es.reset().unwrap();
                es.try_wait().unwrap()
            });
            assert!(
                !signaller.join().unwrap(),
                "try_wait took the waiter's signal"
            );
            waiter.join().unwrap();
            assert!(!ev.is_signaled());
            assert_eq!(ev.semaphore().count(), 0);
        },
    );
}

// ----- Queue batches (issue 15) ---------------------------------------------

/// A batch push of two values races a single push, a single pop and a batch
/// pop of two (capacity 4, value 0 queued first): every value is received
/// exactly once, 0 first and 1 before 2 (FIFO across batch and single
/// calls), and nothing is left behind. The batch calls claim their tickets
/// with one CAS after checking the slots; loom explores every interleaving
/// of those checks and claims with the single calls' claims and
/// publications.
///
/// Loom's payload race tracker keys a copy by its first byte, so a batch's
/// run copy of slots 1..3 is checked against copies that start at slot 1;
/// the slot handovers themselves (the sequence words) are fully modelled.
#[test]
fn queue_batch_claim_races_single_push_and_pop() {
    model("queue_batch_claim_races_single_push_and_pop", 2, || {
        let shm = Shm::new();
        let q = Arc::new(Queue::<u32>::create(&shm.seg, "q", 4).unwrap());
        q.push(0).unwrap();
        let qa = q.clone();
        let batch_pusher = thread::spawn(move || qa.push_slice(&[1, 2]));
        let qb = q.clone();
        let single = thread::spawn(move || {
            qb.push(3).expect("capacity 4 holds all four values");
            qb.pop()
        });
        let qc = q.clone();
        let batch_popper = thread::spawn(move || {
            let mut out = [u32::MAX; 2];
            let k = qc.pop_slice(&mut out);
            assert!(out[k..].iter().all(|&v| v == u32::MAX), "untouched past k");
            out[..k].to_vec()
        });
        assert_eq!(batch_pusher.join().unwrap(), 2, "both fit");
        let single_got = single.join().unwrap();
        let batch_got = batch_popper.join().unwrap();
        let rest: Vec<u32> = std::iter::from_fn(|| q.pop()).collect();
        // FIFO within each consumer's view and across the drain: 1 before 2
        // wherever both appear in one sequence, and 0 is the oldest.
        for seq in [&batch_got, &rest] {
            let pos = |v| seq.iter().position(|&x| x == v);
            if let (Some(a), Some(b)) = (pos(1), pos(2)) {
                assert!(a < b, "1 before 2 in {seq:?}");
            }
        }
        if let Some(&first) = batch_got.first() {
            if single_got != Some(0) {
                assert_eq!(first, 0, "the oldest value comes first: {batch_got:?}");
            }
        }
        let mut all: Vec<u32> = batch_got
            .iter()
            .copied()
            .chain(single_got)
            .chain(rest)
            .collect();
        all.sort_unstable();
        assert_eq!(all, [0, 1, 2, 3], "each value exactly once");
        assert!(q.is_empty());
    });
}

/// Stack batches: a batch push of two races a single pop and a batch pop of
/// two on a stack holding one value (capacity 4). Checked as the stack
/// models above: every value a push reported is popped, reachable or
/// stranded above `top` exactly once (a batch that gives up on a claim
/// hands back its unused indices best-effort, as the single rollback
/// does), and no slot copy races.
#[test]
fn stack_batch_push_races_single_and_batch_pop() {
    model("stack_batch_push_races_single_and_batch_pop", 2, || {
        let shm = Shm::new();
        let s = Arc::new(Stack::<u32>::create(&shm.seg, "s", 4).unwrap());
        s.push(1).unwrap();
        let sa = s.clone();
        let batch_pusher = thread::spawn(move || sa.push_slice(&[2, 3]));
        let sb = s.clone();
        let single = thread::spawn(move || sb.pop());
        let sc = s.clone();
        let batch_popper = thread::spawn(move || {
            let mut out = [u32::MAX; 2];
            let k = sc.pop_slice(&mut out);
            assert!(out[k..].iter().all(|&v| v == u32::MAX), "untouched past k");
            out[..k].to_vec()
        });
        let k = batch_pusher.join().unwrap();
        let mut pushed = vec![1];
        pushed.extend(&[2, 3][..k]);
        let mut popped: Vec<u32> = single.join().unwrap().into_iter().collect();
        let batch_got = batch_popper.join().unwrap();
        popped.extend(&batch_got);
        check_stack(&s, &pushed, &popped, k < 2);
    });
    report_stack("stack_batch_push_races_single_and_batch_pop");
}

/// Capacity 2 holding value 0: a batch push of two needs the slot that a
/// concurrent single pop is freeing (the second slot of the batch wraps to
/// slot 0), so the batch's check of every slot, not only the first, races
/// the pop's release. The batch pushes one or both values; every value is
/// received exactly once and in order; the batch's write of slot 0 never
/// races the pop's read of it (payload race tracking: both copies start at
/// slot 0).
#[test]
fn queue_batch_push_laps_a_slot_being_freed() {
    model("queue_batch_push_laps_a_slot_being_freed", 3, || {
        let shm = Shm::new();
        let q = Arc::new(Queue::<u32>::create(&shm.seg, "q", 2).unwrap());
        q.push(0).unwrap();
        let qa = q.clone();
        let batch_pusher = thread::spawn(move || qa.push_slice(&[1, 2]));
        let qb = q.clone();
        let popper = thread::spawn(move || [qb.pop(), qb.pop()]);
        let k = batch_pusher.join().unwrap();
        assert!(k >= 1, "slot 1 was free all along");
        let popped: Vec<u32> = popper.join().unwrap().into_iter().flatten().collect();
        let rest: Vec<u32> = std::iter::from_fn(|| q.pop()).collect();
        let all: Vec<u32> = popped.iter().chain(&rest).copied().collect();
        let want: Vec<u32> = (0..=k as u32).collect();
        assert_eq!(all, want, "popped {popped:?} then {rest:?}");
    });
}
