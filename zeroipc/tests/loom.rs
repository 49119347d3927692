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
use zeroipc::{Channel, Error, Latch, Map, Once, Pool, Queue, Segment, Set, Stack};

static SEQ: AtomicUsize = AtomicUsize::new(0);

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
    if std::env::var_os("LOOM_MAX_PREEMPTIONS").is_none() {
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
        let mut got = [pop_wait(&q), pop_wait(&q)];
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
    model("queue_laps", 2, || {
        let shm = Shm::new();
        let q = Arc::new(Queue::<u32>::create(&shm.seg, "q", 2).unwrap());
        let qp = q.clone();
        let p = thread::spawn(move || {
            for v in 1..=4 {
                push_wait(&qp, v);
            }
        });
        let got = [pop_wait(&q), pop_wait(&q), pop_wait(&q), pop_wait(&q)];
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

/// An erase racing an insert of another key on the same probe chain (the
/// insert may reuse the erased slot's tombstone) and a lookup of the erased
/// key: both writers succeed, the map ends with exactly the inserted key,
/// and the lookup sees the erased key's value or nothing (never the other
/// key's value).
fn map_erase_races_insert(seqcst_fences: bool) {
    let shm = map_setup(seqcst_fences);
    let m = Arc::new(Map::<u32, u64>::create(&shm.seg, "m", 4).unwrap());
    let (a, b) = colliding_keys(4);
    assert_eq!(m.insert(a, 10), MapInsert::Inserted);
    let me = m.clone();
    let eraser = thread::spawn(move || me.remove(&a));
    let mi = m.clone();
    let inserter = thread::spawn(move || mi.insert(b, 20));
    let mg = m.clone();
    let reader = thread::spawn(move || mg.get(&a));
    assert_eq!(eraser.join().unwrap(), Some(10));
    assert_eq!(inserter.join().unwrap(), MapInsert::Inserted);
    let seen = reader.join().unwrap();
    assert!(seen.is_none() || seen == Some(10), "lookup saw {seen:?}");
    assert_eq!(map_entries(&m), [(b, 20)]);
    assert_eq!(m.len(), 1);
}

#[test]
fn map_erase_races_insert_on_one_chain() {
    model("map_erase_races_insert_on_one_chain", 2, || {
        map_erase_races_insert(false)
    });
}

#[test]
fn map_erase_races_insert_on_one_chain_sc() {
    model("map_erase_races_insert_on_one_chain_sc", 2, || {
        map_erase_races_insert(true)
    });
}

/// Two inserts of one key: exactly one adds it, the other updates it, the
/// map holds the key once, with the updater's value.
fn map_same_key(seqcst_fences: bool) {
    let shm = map_setup(seqcst_fences);
    let m = Arc::new(Map::<u32, u64>::create(&shm.seg, "m", 4).unwrap());
    let inserters: Vec<_> = [1u64, 2]
        .into_iter()
        .map(|v| {
            let m = m.clone();
            thread::spawn(move || m.insert(7, v))
        })
        .collect();
    let outcomes: Vec<MapInsert> = inserters.into_iter().map(|t| t.join().unwrap()).collect();
    let entries = map_entries(&m);
    assert_eq!(
        entries.len(),
        1,
        "duplicate key: {entries:?} after {outcomes:?}"
    );
    let updated = match outcomes[..] {
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

/// Set: two inserts of one value racing an erase of another value on the
/// same chain: one insert adds, the other finds it present.
fn set_insert_insert_erase_body(seqcst_fences: bool) {
    let shm = map_setup(seqcst_fences);
    let s = Arc::new(Set::<u32>::create(&shm.seg, "s", 4).unwrap());
    let (a, b) = colliding_keys(4);
    assert_eq!(s.insert(a), SetInsert::Inserted);
    let inserters: Vec<_> = (0..2)
        .map(|_| {
            let s = s.clone();
            thread::spawn(move || s.insert(b))
        })
        .collect();
    let se = s.clone();
    let eraser = thread::spawn(move || se.remove(&a));
    let mut outcomes: Vec<SetInsert> = inserters.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(eraser.join().unwrap());
    outcomes.sort_by_key(|o| *o as u8);
    assert_eq!(outcomes, [SetInsert::Inserted, SetInsert::Present]);
    assert_eq!(s.to_vec(), [b]);
    assert_eq!(s.len(), 1);
}

#[test]
fn set_insert_insert_erase() {
    model("set_insert_insert_erase", 2, || {
        set_insert_insert_erase_body(false)
    });
}

#[test]
fn set_insert_insert_erase_sc() {
    model("set_insert_insert_erase_sc", 2, || {
        set_insert_insert_erase_body(true)
    });
}

// ----- Once / Latch ---------------------------------------------------------

/// Three callers, two blocking (`call_once`) and one not (`try_call_once`;
/// two blocked waiters spinning at once have no bound in loom): the closure
/// runs once, and every caller that returns "done" sees what it wrote
/// (loom checks the DONE-release -> acquire edge with its race detector).
#[test]
fn once_three_callers() {
    model("once_three_callers", 3, || {
        let shm = Shm::new();
        let once = Arc::new(Once::create(&shm.seg, "o").unwrap());
        let data = Arc::new(UnsafeCell::new(0u32));
        let write = |d: &UnsafeCell<u32>| d.with_mut(|p| unsafe { *p = 42 });
        let read = |d: &UnsafeCell<u32>| d.with(|p| unsafe { *p });
        let callers: Vec<_> = (0..2)
            .map(|_| {
                let once = once.clone();
                let data = data.clone();
                thread::spawn(move || {
                    let ran = once.call_once(|| write(&data)).unwrap();
                    assert_eq!(read(&data), 42);
                    ran
                })
            })
            .collect();
        let (o3, d3) = (once.clone(), data.clone());
        let trier = thread::spawn(move || {
            let r = o3.try_call_once(|| write(&d3)).unwrap();
            if r.is_some() {
                assert_eq!(read(&d3), 42);
            }
            r
        });
        let tried = trier.join().unwrap();
        let ran = callers
            .into_iter()
            .map(|c| c.join().unwrap())
            .filter(|&r| r)
            .count()
            + usize::from(tried == Some(true));
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
        let cells = Arc::new([UnsafeCell::new(0u32), UnsafeCell::new(0u32)]);
        let workers: Vec<_> = (0..2)
            .map(|i| {
                let latch = latch.clone();
                let cells = cells.clone();
                thread::spawn(move || {
                    cells[i].with_mut(|p| unsafe { *p = i as u32 + 1 });
                    latch.count_down(1).unwrap();
                })
            })
            .collect();
        let lw = latch.clone();
        let cw = cells.clone();
        let waiter = thread::spawn(move || {
            lw.wait().unwrap();
            [cw[0].with(|p| unsafe { *p }), cw[1].with(|p| unsafe { *p })]
        });
        assert_eq!(waiter.join().unwrap(), [1, 2]);
        for w in workers {
            w.join().unwrap();
        }
        assert_eq!(latch.count(), 0);
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
        let got = [ch.recv().unwrap(), ch.recv().unwrap()];
        sender.join().unwrap();
        assert_eq!(got, [1, 2]);
        assert_eq!(ch.try_recv().unwrap(), None);
    });
}

/// Unbuffered, two senders (serialised by the send_seq lock) and a receiver
/// that gives up: the receiver makes two receives with a short timeout
/// (each modelled as "the sender may or may not arrive in time"); a sender
/// still blocked at the end is released by `close`. Every value received
/// came from a send that returned Ok, and every Ok send was received once.
#[test]
fn channel_rendezvous_two_senders() {
    model("channel_rendezvous_two_senders", 1, || {
        let shm = Shm::new();
        let ch = Channel::<u32>::create(&shm.seg, "c", 0).unwrap();
        let senders: Vec<_> = [1u32, 2]
            .into_iter()
            .map(|v| {
                let ch = ch.clone();
                thread::spawn(move || (v, ch.send(v)))
            })
            .collect();
        let mut got: Vec<u32> = (0..2)
            .filter_map(|_| ch.recv_timeout(std::time::Duration::from_millis(1)).ok())
            .collect();
        ch.close();
        let mut sent = Vec::new();
        for s in senders {
            match s.join().unwrap() {
                (v, Ok(())) => sent.push(v),
                (_, Err(Error::Closed { .. })) => {}
                (v, Err(e)) => panic!("send {v}: {e:?}"),
            }
        }
        got.sort_unstable();
        sent.sort_unstable();
        assert_eq!(got, sent);
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
        ch.close();
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
    let mut got = Vec::new();
    let end = loop {
        match ch.recv() {
            Ok(v) => got.push(v),
            Err(e) => break e,
        }
    };
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
