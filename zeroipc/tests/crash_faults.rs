//! Crash faults (issue 8, item 3): worker processes working on a structure
//! are killed with SIGKILL at random moments; afterwards the survivors must
//! not hang (their timed operations return), the structure must stay usable,
//! and no item whose operation reported success may be lost or duplicated,
//! except the items the killed process had in flight, which are counted.
//!
//! Each round spawns two worker processes (re-executions of this binary
//! running the `#[ignore]`d `crash_worker`) on the same structure, waits
//! until both are working, sleeps a random 0..40 ms, SIGKILLs one of them
//! (one round in five: both), lets the survivor go on for 10..50 ms on what
//! the victim left, tells it to stop and requires it to exit
//! within [`SURVIVOR_EXIT`] having seen no single operation block longer
//! than [`MAX_OP`]. Then the parent checks the structure is usable (drains
//! it as a consumer, probes it with an operation that must succeed) and, at
//! the end, reconciles every item against the workers' journals.
//!
//! Journal: every worker incarnation has a record in a shared `Array<u64>`,
//! written with SeqCst atomics *before* an operation ("about to push item
//! X", "about to pop") and *after* it ("pushed X", "popped X" appended to
//! its log). After a kill the record tells exactly which item (at most one
//! per side) was in flight.
//!
//! Short mode (in `cargo test`): [`SHORT_KILLS`] kills per structure. Long
//! mode: `ZEROIPC_CRASH_KILLS=300` (any count). Per-structure figures are
//! printed as `CRASH <structure>: ...` lines (`--nocapture`) and are
//! recorded in docs/RELIABILITY-CONCURRENCY.md.

mod common;

use common::{env_var, is_child, spawn_worker, unique_name, TempSeg};
use std::collections::HashMap;
use std::sync::atomic::{fence, AtomicU64, Ordering::SeqCst};
use std::time::{Duration, Instant};
use zeroipc::{Array, Channel, Map, Mutex, Pool, PoolHandle, Queue, Segment, Stack};

/// A timed pop's value, `None` on its timeout; any other error is a bug.
fn value_or_timeout(r: zeroipc::Result<u64>) -> Option<u64> {
    match r {
        Ok(v) => Some(v),
        Err(zeroipc::Error::Timeout { .. }) => None,
        Err(e) => panic!("timed pop failed: {e}"),
    }
}

/// Kills per structure in the short mode.
const SHORT_KILLS: usize = 30;
/// Longest a survivor's single operation may take before it counts as a
/// hang: our longest internal bound is the stack's claim bound (nominally
/// 0.5 s, up to 1.7 s measured on a loaded machine) and the map's
/// stuck-slot wait (100 ms per stuck slot on a chain); the workers' own
/// timeouts are 20 ms. Generous, so that a busy CI machine does not trip it;
/// the figures report the real maximum.
const MAX_OP: Duration = Duration::from_secs(10);
/// A told-to-stop survivor must exit within this.
const SURVIVOR_EXIT: Duration = Duration::from_secs(30);

/// Journal record words.
const STARTED: usize = 0;
const PUSH_INTENT: usize = 1; // seq + 1 of the item being pushed, 0 = none
const PUSH_DONE: usize = 2; // items 0..PUSH_DONE were pushed OK
const POP_INTENT: usize = 3; // 1 while a pop is in progress (until logged)
const POP_COUNT: usize = 4; // entries in the pop log
const AUX1: usize = 5;
const AUX2: usize = 6;
const AUX3: usize = 7;
const STOP: usize = 8;
const LOG: usize = 9;
/// Pop-log entries per incarnation.
const LOG_LEN: usize = 8192;
const REC: usize = LOG + LOG_LEN;

fn kills() -> usize {
    std::env::var("ZEROIPC_CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(SHORT_KILLS)
}

/// The journal: one record per worker incarnation, atomically accessed.
struct Journal(Array<u64>);

impl Journal {
    fn create(seg: &Segment, incarnations: usize) -> Journal {
        Journal(Array::create(seg, "journal", incarnations * REC).unwrap())
    }
    fn open(seg: &Segment) -> Journal {
        Journal(Array::open(seg, "journal").unwrap())
    }
    fn word(&self, id: usize, w: usize) -> &AtomicU64 {
        // Array layout: capacity u64 at 0, data from 8.
        self.0.region().atomic_u64(8 + 8 * (id * REC + w))
    }
    fn get(&self, id: usize, w: usize) -> u64 {
        self.word(id, w).load(SeqCst)
    }
    fn set(&self, id: usize, w: usize, v: u64) {
        // The fences keep the journal write and the structure operation in
        // program order (the parent reads only after the writer died).
        fence(SeqCst);
        self.word(id, w).store(v, SeqCst);
        fence(SeqCst);
    }
    fn log(&self, id: usize) -> Vec<u64> {
        let n = (self.get(id, POP_COUNT) as usize).min(LOG_LEN);
        (0..n).map(|i| self.get(id, LOG + i)).collect()
    }
}

fn item(id: usize, seq: u64) -> u64 {
    ((id as u64 + 1) << 32) | seq
}

fn item_owner(v: u64) -> Option<(usize, u64)> {
    let hi = v >> 32;
    (hi > 0).then(|| ((hi - 1) as usize, v & 0xffff_ffff))
}

/// xorshift64*.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn seed() -> u64 {
    std::env::var("ZEROIPC_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        })
}

// ----- the structures under test ------------------------------------------

/// Kinds: "queue", "stack", "channel" (buffered), "rendezvous"
/// (unbuffered channel), "pool", "map", "mutex".
const CAP: usize = 16;
const POOL_CAP: usize = 48;
const MAP_CAP: usize = 256;

/// A push/pop structure as the workers and the parent see it.
enum Fifo {
    Queue(Queue<u64>),
    Stack(Stack<u64>),
    Channel(Channel<u64>),
}

impl Fifo {
    fn create(seg: &Segment, kind: &str, name: &str) -> Fifo {
        match kind {
            "queue" => Fifo::Queue(Queue::create(seg, name, CAP).unwrap()),
            "stack" => Fifo::Stack(Stack::create(seg, name, CAP).unwrap()),
            "channel" => Fifo::Channel(Channel::create(seg, name, CAP).unwrap()),
            "rendezvous" => Fifo::Channel(Channel::create(seg, name, 0).unwrap()),
            _ => unreachable!(),
        }
    }
    fn open(seg: &Segment, kind: &str, name: &str) -> Fifo {
        match kind {
            "queue" => Fifo::Queue(Queue::open(seg, name).unwrap()),
            "stack" => Fifo::Stack(Stack::open(seg, name).unwrap()),
            "channel" | "rendezvous" => Fifo::Channel(Channel::open(seg, name).unwrap()),
            _ => unreachable!(),
        }
    }
    fn push(&self, v: u64, t: Duration) -> bool {
        match self {
            Fifo::Queue(q) => q.push_timeout(v, t).is_ok(),
            Fifo::Stack(s) => s.push_timeout(v, t).is_ok(),
            Fifo::Channel(c) => c.send_timeout(v, t).is_ok(),
        }
    }
    fn len(&self) -> usize {
        match self {
            Fifo::Queue(q) => q.len(),
            Fifo::Stack(s) => s.len(),
            Fifo::Channel(c) => c.len(),
        }
    }
    fn pop(&self, t: Duration) -> Option<u64> {
        match self {
            Fifo::Queue(q) => value_or_timeout(q.pop_timeout(t)),
            Fifo::Stack(s) => value_or_timeout(s.pop_timeout(t)),
            Fifo::Channel(c) => c.recv_timeout(t).ok(),
        }
    }
}

// ----- worker ---------------------------------------------------------------

/// One worker incarnation: random operations until told to stop (or
/// killed). Prints `RESULT ops <n> max_op_ms <m>`.
#[test]
#[ignore = "worker process for the crash-fault tests"]
fn crash_worker() {
    if !is_child() {
        return;
    }
    let seg = Segment::open(&env_var("ZEROIPC_SEG")).unwrap();
    let kind = env_var("ZEROIPC_KIND");
    let id: usize = env_var("ZEROIPC_ID").parse().unwrap();
    let name = env_var("ZEROIPC_NAME");
    let j = Journal::open(&seg);
    let mut rng = Rng(env_var("ZEROIPC_SEED").parse::<u64>().unwrap() | 1);
    let t = Duration::from_millis(20);
    let mut ops = 0u64;
    let mut max_op = Duration::ZERO;
    let mut timed = |f: &mut dyn FnMut()| {
        let start = Instant::now();
        f();
        max_op = max_op.max(start.elapsed());
    };
    j.set(id, STARTED, 1);
    match kind.as_str() {
        "queue" | "stack" | "channel" | "rendezvous" => {
            let s = Fifo::open(&seg, &kind, &name);
            let mut seq = 0u64;
            while j.get(id, STOP) == 0 {
                ops += 1;
                // Keep the structure about half full, so that most
                // operations run (and get killed) rather than wait.
                let len = s.len();
                let push_pct = if kind == "rendezvous" {
                    60
                } else if len == 0 {
                    100
                } else if len < CAP / 2 {
                    70
                } else {
                    30
                };
                if rng.below(100) < push_pct {
                    let v = item(id, seq);
                    j.set(id, PUSH_INTENT, seq + 1);
                    let mut ok = false;
                    timed(&mut || ok = s.push(v, t));
                    if ok {
                        seq += 1;
                        j.set(id, PUSH_DONE, seq);
                    }
                    j.set(id, PUSH_INTENT, 0);
                } else if (j.get(id, POP_COUNT) as usize) >= LOG_LEN {
                    // Log full: idle until stopped (pushing on alone would
                    // only fill the structure and skew where kills land).
                    std::thread::sleep(Duration::from_millis(1));
                } else {
                    j.set(id, POP_INTENT, 1);
                    let mut got = None;
                    timed(&mut || got = s.pop(t));
                    if let Some(v) = got {
                        let n = j.get(id, POP_COUNT) as usize;
                        j.set(id, LOG + n, v);
                        j.set(id, POP_COUNT, n as u64 + 1);
                    }
                    j.set(id, POP_INTENT, 0);
                }
            }
        }
        "pool" => {
            // AUX1: bitmask of the nodes this incarnation owns (POOL_CAP <=
            // 64); AUX2: 1 while allocating (until the bit is set); AUX3:
            // node + 1 while freeing (from clearing the bit to the return).
            let p = Pool::<u64>::open(&seg, &name).unwrap();
            let mut held: Vec<PoolHandle> = Vec::new();
            let mut shared = 0u64;
            while j.get(id, STOP) == 0 {
                ops += 1;
                if held.len() < 4 && rng.below(2) == 0 {
                    j.set(id, AUX2, 1);
                    let mut got = None;
                    timed(&mut || got = p.allocate().unwrap());
                    if let Some(h) = got {
                        j.set(id, AUX1, j.get(id, AUX1) | 1 << h.index());
                        p.set(h, id as u64 + 1).unwrap();
                        held.push(h);
                    }
                    j.set(id, AUX2, 0);
                } else if let Some(h) = held.pop() {
                    // Exclusive ownership: nobody else wrote our node.
                    if p.get(h).unwrap() != id as u64 + 1 {
                        shared += 1;
                    }
                    j.set(id, AUX3, h.index() as u64 + 1);
                    j.set(id, AUX1, j.get(id, AUX1) & !(1 << h.index()));
                    timed(&mut || p.deallocate(h).unwrap());
                    j.set(id, AUX3, 0);
                }
            }
            // A stopped survivor gives its nodes back.
            while let Some(h) = held.pop() {
                j.set(id, AUX3, h.index() as u64 + 1);
                j.set(id, AUX1, j.get(id, AUX1) & !(1 << h.index()));
                p.deallocate(h).unwrap();
                j.set(id, AUX3, 0);
            }
            println!("RESULT shared {shared}");
        }
        "map" => {
            // Keys item(id, seq): inserted in order (PUSH_INTENT/PUSH_DONE),
            // removed in the same order (AUX1 = seq + 1 being removed, AUX2 =
            // keys 0..AUX2 removed). Values = key ^ VALUE_MASK.
            let m = Map::<u64, u64>::open(&seg, &name).unwrap();
            let (mut ins, mut rem) = (0u64, 0u64);
            while j.get(id, STOP) == 0 {
                ops += 1;
                if ins - rem < 24 && rng.below(100) < 55 {
                    let k = item(id, ins);
                    j.set(id, PUSH_INTENT, ins + 1);
                    let mut r = None;
                    timed(&mut || r = Some(m.insert(k, k ^ VALUE_MASK)));
                    if r.unwrap().is_stored() {
                        ins += 1;
                        j.set(id, PUSH_DONE, ins);
                    }
                    j.set(id, PUSH_INTENT, 0);
                } else if rem < ins {
                    let k = item(id, rem);
                    j.set(id, AUX1, rem + 1);
                    let mut r = None;
                    timed(&mut || r = m.remove(&k));
                    assert_eq!(r, Some(k ^ VALUE_MASK), "own key {k:#x} not removable");
                    rem += 1;
                    j.set(id, AUX2, rem);
                    j.set(id, AUX1, 0);
                } else {
                    // A lookup of a key of another incarnation.
                    let other = rng.below(id as u64 + 1) as usize;
                    let k = item(other, rng.below(8));
                    timed(&mut || {
                        if let Some(v) = m.get(&k) {
                            assert_eq!(v, k ^ VALUE_MASK, "torn or wrong value");
                        }
                    });
                }
            }
        }
        "mutex" => {
            // AUX3: 1 from before lock to after unlock; AUX1: 1 while held;
            // AUX2: increments done. Shared cells: counter, owner.
            let mx = Mutex::open(&seg, &name).unwrap();
            let cells = Array::<u64>::open(&seg, "cells").unwrap();
            let mut done = 0u64;
            let mut violations = 0u64;
            while j.get(id, STOP) == 0 {
                ops += 1;
                j.set(id, AUX3, 1);
                let start = Instant::now();
                let g = mx.lock_timeout(Duration::from_millis(20));
                max_op = max_op.max(start.elapsed());
                if let Ok(g) = g {
                    j.set(id, AUX1, 1);
                    cells.set(1, id as u64 + 1).unwrap();
                    let c = cells.get(0).unwrap();
                    std::hint::spin_loop();
                    cells.set(0, c + 1).unwrap();
                    done += 1;
                    j.set(id, AUX2, done);
                    if cells.get(1).unwrap() != id as u64 + 1 {
                        violations += 1;
                    }
                    j.set(id, AUX1, 0);
                    drop(g);
                }
                j.set(id, AUX3, 0);
            }
            println!("RESULT violations {violations}");
        }
        other => panic!("kind {other}"),
    }
    println!("RESULT ops {ops} max_op_ms {}", max_op.as_millis());
}

const VALUE_MASK: u64 = 0x5a5a_5a5a_5a5a_5a5a;

// ----- parent -----------------------------------------------------------------

/// Figures of one structure's run.
#[derive(Default, Debug)]
struct Figures {
    kills: usize,
    rounds: usize,
    survivor_ops: u64,
    survivor_max_op_ms: u64,
    /// Items whose push (send, insert) returned OK.
    done: u64,
    /// Killed while an item was being pushed: found afterwards / not found.
    inflight_push_found: u64,
    inflight_push_absent: u64,
    /// Killed while popping (the popped item may have died with it).
    inflight_pops: u64,
    /// OK items missing at the end, explained by in-flight pops.
    lost_with_killed_popper: u64,
    /// Of those, found in the killed popper's uncommitted log entry.
    lost_identified: u64,
    /// OK items missing and not explained (must be 0).
    lost_unexplained: u64,
    /// Items seen twice (must be 0).
    duplicated: u64,
    /// Items that no push reported and that were not in flight (must be 0).
    phantom: u64,
    /// Structure instances replaced because a killed process left a slot
    /// claimed for good or values stranded.
    wedged: u64,
    /// Items whose push reported OK, still in the segment but no longer
    /// reachable by a pop (behind or above a slot a killed process left).
    stranded: u64,
    /// Recoveries run by the parent (force_unlock, recover_unbuffered).
    recoveries: u64,
    /// Pool: nodes leaked by killed owners; map, queue, stack: slots left
    /// claimed (INSERTING, WRITING, READING, ticket taken) by a killed one.
    leaked: u64,
    /// Pool: counter drift of `allocated`; mutex: lost increments.
    drift: i64,
    /// Worker-observed exclusivity violations (must be 0).
    violations: u64,
}

struct Round {
    victims: Vec<usize>,
    survivors: Vec<usize>,
}

/// Spawns two workers (incarnations `2r`, `2r+1`), kills one (or both) at a
/// random moment, stops the survivor and checks it exits in time.
fn run_round(
    seg_name: &str,
    j: &Journal,
    kind: &str,
    name: &str,
    round: usize,
    rng: &mut Rng,
    fig: &mut Figures,
) -> Round {
    let ids = [2 * round, 2 * round + 1];
    let mut children: Vec<_> = ids
        .iter()
        .map(|&id| {
            spawn_worker(
                "crash_worker",
                &[
                    ("ZEROIPC_SEG", seg_name.to_owned()),
                    ("ZEROIPC_KIND", kind.to_owned()),
                    ("ZEROIPC_NAME", name.to_owned()),
                    ("ZEROIPC_ID", id.to_string()),
                    ("ZEROIPC_SEED", rng.next().to_string()),
                ],
            )
        })
        .map(Some)
        .collect();
    let start = Instant::now();
    while ids.iter().any(|&id| j.get(id, STARTED) == 0) {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "workers did not start"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    std::thread::sleep(Duration::from_micros(rng.below(40_000)));
    let both = rng.below(5) == 0;
    let first = rng.below(2) as usize;
    let victims: Vec<usize> = if both { vec![0, 1] } else { vec![first] };
    for &v in &victims {
        let c = children[v].as_mut().unwrap();
        // SAFETY: plain kill(2) on our own child's pid.
        unsafe { libc::kill(c.id() as i32, libc::SIGKILL) };
        c.wait().unwrap();
        children[v] = None;
        fig.kills += 1;
    }
    // The survivor keeps working on what the victim left.
    std::thread::sleep(Duration::from_micros(10_000 + rng.below(40_000)));
    let mut survivors = Vec::new();
    for (k, c) in children.into_iter().enumerate() {
        let Some(c) = c else { continue };
        j.set(ids[k], STOP, 1);
        let deadline = Instant::now() + SURVIVOR_EXIT;
        let mut c = c;
        loop {
            if c.try_wait().unwrap().is_some() {
                break;
            }
            if Instant::now() > deadline {
                let _ = c.kill();
                panic!(
                    "{kind}: survivor {} did not stop within {SURVIVOR_EXIT:?} (hang)",
                    ids[k]
                );
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let out = common::worker_results(c);
        for line in out {
            let w: Vec<&str> = line.split_whitespace().collect();
            match w[..] {
                ["ops", n, "max_op_ms", m] => {
                    fig.survivor_ops += n.parse::<u64>().unwrap();
                    let m: u64 = m.parse().unwrap();
                    fig.survivor_max_op_ms = fig.survivor_max_op_ms.max(m);
                    assert!(
                        m <= MAX_OP.as_millis() as u64,
                        "{kind}: a survivor's operation blocked {m} ms"
                    );
                }
                ["shared", n] | ["violations", n] => fig.violations += n.parse::<u64>().unwrap(),
                _ => panic!("unexpected worker output {line:?}"),
            }
        }
        survivors.push(ids[k]);
    }
    fig.rounds += 1;
    Round {
        victims: victims.iter().map(|&v| ids[v]).collect(),
        survivors,
    }
}

fn segment(tag: &str, kills: usize) -> (TempSeg, Segment, Journal, usize) {
    // A round kills one or two workers: at most `kills` rounds.
    let rounds = kills.max(1);
    let incarnations = 2 * rounds + 2;
    let size = (incarnations * REC * 8 + (4 << 20)) as u64;
    let name = unique_name(tag);
    let seg = Segment::options()
        .size(size)
        .max_entries(64)
        .create(&name)
        .unwrap();
    let j = Journal::create(&seg, incarnations);
    (TempSeg { name }, seg, j, rounds)
}

fn print(kind: &str, f: &Figures) {
    println!("CRASH {kind}: {f:?}");
}

// ----- push/pop structures ----------------------------------------------------

/// Drains `s` as the parent consumer; returns the items, and whether the
/// structure still holds values it cannot give out (a wedge).
fn drain(s: &Fifo) -> Vec<u64> {
    std::iter::from_fn(|| s.pop(Duration::from_millis(5))).collect()
}

/// After a drain: (slots a killed process left claimed for good, items
/// published but no longer reachable by a pop: "stranded"). Reads the slot
/// words through the public Region (layouts of FORMAT.md section 3).
fn leftovers(seg: &Segment, s: &Fifo, name: &str) -> (u64, Vec<u64>) {
    let queue_leftovers = |q: &Queue<u64>| {
        let r = q.region();
        let cap = q.capacity();
        let seq_off = (16 + 8 * cap + 7) & !7;
        let head = r.atomic_u32(0).load(SeqCst);
        let tail = r.atomic_u32(4).load(SeqCst);
        let mut stranded = Vec::new();
        let mut t = head;
        while t != tail {
            let slot = (t as usize) & (cap - 1);
            if r.atomic_u32(seq_off + 4 * slot).load(SeqCst) == t.wrapping_add(1) {
                stranded.push(r.read::<u64>(16 + 8 * slot));
            }
            t = t.wrapping_add(1);
        }
        let mut stuck = tail.wrapping_sub(head) as u64 - stranded.len() as u64;
        // Free slots ahead of `tail` must read `seq == t` for their ticket;
        // one a consumer was killed emptying still reads `t - cap + 1` and
        // makes pushes report "full" when they come round to it.
        let mut t = tail;
        while t != head.wrapping_add(cap as u32) {
            let slot = (t as usize) & (cap - 1);
            if r.atomic_u32(seq_off + 4 * slot).load(SeqCst) != t {
                stuck += 1;
            }
            t = t.wrapping_add(1);
        }
        (stuck, stranded)
    };
    match s {
        Fifo::Queue(q) => queue_leftovers(q),
        Fifo::Channel(c) if c.is_buffered() => {
            queue_leftovers(&Queue::<u64>::open(seg, &format!("{name}_buffer")).unwrap())
        }
        Fifo::Channel(c) => (c.len() as u64, Vec::new()),
        Fifo::Stack(st) => {
            // READY slots after a drain hold values stranded above `top` (a
            // rolled-back reservation); WRITING/READING ones are claimed for
            // good by a killed process.
            let cap = st.capacity();
            let state_off = (16 + 8 * cap + 7) & !7;
            let mut stuck = 0;
            let mut stranded = Vec::new();
            for i in 0..cap {
                match st.region().atomic_u32(state_off + 4 * i).load(SeqCst) {
                    0 => {}
                    2 => stranded.push(st.region().read::<u64>(16 + 8 * i)),
                    _ => stuck += 1,
                }
            }
            (stuck, stranded)
        }
    }
}

fn fifo_probe(s: &Fifo) -> bool {
    match s {
        Fifo::Channel(c) if !c.is_buffered() => {
            let tx = c.clone();
            let t = std::thread::spawn(move || tx.send_timeout(u64::MAX, Duration::from_secs(5)));
            let got = c.recv_timeout(Duration::from_secs(5));
            t.join().unwrap().is_ok() && got.ok() == Some(u64::MAX)
        }
        _ => {
            s.push(u64::MAX, Duration::from_millis(500))
                && s.pop(Duration::from_millis(500)) == Some(u64::MAX)
        }
    }
}

fn fifo_test(kind: &str) {
    if is_child() {
        return;
    }
    let kills = kills();
    let (tmp, seg, j, _) = segment(&format!("crash-{kind}"), kills);
    let mut rng = Rng(seed());
    let mut fig = Figures::default();
    let mut epoch = 0;
    let mut name = format!("s{epoch}");
    let mut s = Fifo::create(&seg, kind, &name);
    let mut seen: Vec<u64> = Vec::new();
    let mut stranded: Vec<u64> = Vec::new();
    let mut victims: Vec<usize> = Vec::new();
    let mut round = 0;
    while fig.kills < kills {
        let r = run_round(&tmp.name, &j, kind, &name, round, &mut rng, &mut fig);
        round += 1;
        victims.extend(r.victims);
        if let Fifo::Channel(c) = &s {
            if !c.is_buffered() && c.recover_unbuffered() {
                fig.recoveries += 1;
            }
        }
        seen.extend(drain(&s));
        let (stuck, strand) = leftovers(&seg, &s, &name);
        if stuck > 0 || !strand.is_empty() {
            // A killed process left a slot claimed: replace the structure.
            fig.wedged += 1;
            fig.leaked += stuck;
            fig.stranded += strand.len() as u64;
            stranded.extend(strand);
            epoch += 1;
            name = format!("s{epoch}");
            s = Fifo::create(&seg, kind, &name);
        } else {
            assert!(fifo_probe(&s), "{kind}: not usable after round {round}");
        }
    }
    // Reconcile.
    for id in 0..2 * round {
        seen.extend(j.log(id));
    }
    let mut count: HashMap<u64, u64> = HashMap::new();
    for v in &seen {
        *count.entry(*v).or_default() += 1;
    }
    fig.duplicated = count.values().filter(|&&c| c > 1).map(|c| c - 1).sum();
    let mut missing = 0u64;
    let mut uncommitted: Vec<u64> = Vec::new();
    for id in 0..2 * round {
        let done = j.get(id, PUSH_DONE);
        fig.done += done;
        for seq in 0..done {
            if !count.contains_key(&item(id, seq)) {
                missing += 1;
            }
        }
        let intent = j.get(id, PUSH_INTENT);
        if intent != 0 && victims.contains(&id) {
            if count.contains_key(&item(id, intent - 1)) {
                fig.inflight_push_found += 1;
            } else {
                fig.inflight_push_absent += 1;
            }
        }
        if j.get(id, POP_INTENT) != 0 && victims.contains(&id) {
            fig.inflight_pops += 1;
            // Died between its pop and committing the log entry: the item
            // may already sit in the uncommitted entry.
            let n = j.get(id, POP_COUNT) as usize;
            if n < LOG_LEN {
                let v = j.get(id, LOG + n);
                if v != 0 {
                    uncommitted.push(v);
                }
            }
        }
    }
    for v in count.keys() {
        let Some((id, seq)) = item_owner(*v) else {
            continue;
        };
        let done = j.get(id, PUSH_DONE);
        let inflight = j.get(id, PUSH_INTENT) == seq + 1;
        if seq >= done && !inflight {
            fig.phantom += 1;
        }
    }
    // Stranded items are still in the segment (not lost, not duplicated:
    // counted once with the rest); what is missing must be explained by
    // pops that died with their popper.
    for v in &stranded {
        if count.contains_key(v) {
            fig.duplicated += 1;
        }
    }
    for id in 0..2 * round {
        for seq in 0..j.get(id, PUSH_DONE) {
            if stranded.contains(&item(id, seq)) {
                missing -= 1;
            }
        }
    }
    // An item in an uncommitted log entry of a killed popper was popped by
    // it: identified. The other missing items need a killed popper whose
    // entry was not written yet, one item each.
    let identified = uncommitted
        .iter()
        .filter(|v| !count.contains_key(v) && !stranded.contains(v))
        .count() as u64;
    let unwritten = fig.inflight_pops - uncommitted.len() as u64;
    fig.lost_identified = identified;
    fig.lost_with_killed_popper = missing.min(identified + unwritten);
    fig.lost_unexplained = missing.saturating_sub(identified + unwritten);
    print(kind, &fig);
    assert_eq!(fig.duplicated, 0, "{kind}: duplicated items: {fig:?}");
    assert_eq!(fig.phantom, 0, "{kind}: phantom items: {fig:?}");
    assert_eq!(fig.lost_unexplained, 0, "{kind}: lost items: {fig:?}");
}

#[test]
fn crash_queue() {
    fifo_test("queue");
}

#[test]
fn crash_stack() {
    fifo_test("stack");
}

#[test]
fn crash_channel_buffered() {
    fifo_test("channel");
}

#[test]
fn crash_channel_rendezvous() {
    fifo_test("rendezvous");
}

// ----- pool ----------------------------------------------------------------------

#[test]
fn crash_pool() {
    if is_child() {
        return;
    }
    let kills = kills();
    let (tmp, seg, j, _) = segment("crash-pool", kills);
    let mut rng = Rng(seed());
    let mut fig = Figures::default();
    let mut epoch = 0;
    let mut name = format!("p{epoch}");
    let mut p = Pool::<u64>::create(&seg, &name, POOL_CAP).unwrap();
    let mut round = 0;
    let mut round_ids: Vec<usize> = Vec::new();
    let mut last_leaked = 0;
    while fig.kills < kills {
        let r = run_round(&tmp.name, &j, "pool", &name, round, &mut rng, &mut fig);
        round += 1;
        round_ids.extend(r.victims.iter().chain(&r.survivors));
        // Every node is free, owned by a dead incarnation, or in flight.
        let mut owned = 0u64;
        let mut maybe = 0u64; // in-flight allocate/free of a dead one
        for &id in &round_ids {
            owned |= j.get(id, AUX1);
            if j.get(id, AUX2) != 0 {
                maybe += 1;
            }
            if j.get(id, AUX3) != 0 {
                maybe += 1;
            }
        }
        let mut free = Vec::new();
        while let Some(h) = p.allocate().expect("free list intact") {
            free.push(h);
        }
        let mut mask = 0u64;
        for h in &free {
            assert_eq!(mask & 1 << h.index(), 0, "node {} free twice", h.index());
            mask |= 1 << h.index();
        }
        assert_eq!(
            mask & owned & !in_flight_free(&j, &round_ids),
            0,
            "a node both owned and free"
        );
        let accounted = free.len() as u64 + owned.count_ones() as u64 + maybe;
        assert!(
            accounted >= POOL_CAP as u64,
            "nodes unaccounted: {accounted}"
        );
        let leaked = POOL_CAP as u64 - free.len() as u64;
        // `allocated` counts our hand-outs: cap - free, off by a kill
        // between the head CAS and the counter update.
        let drift = p.allocated() as i64 - POOL_CAP as i64;
        if drift.abs() > fig.drift.abs() {
            fig.drift = drift;
        }
        for h in free {
            p.deallocate(h).unwrap();
        }
        last_leaked = leaked;
        if leaked > (POOL_CAP / 2) as u64 {
            fig.leaked += leaked;
            last_leaked = 0;
            epoch += 1;
            name = format!("p{epoch}");
            p = Pool::<u64>::create(&seg, &name, POOL_CAP).unwrap();
            round_ids.clear();
        }
    }
    fig.leaked += last_leaked;
    print("pool", &fig);
    assert_eq!(fig.violations, 0, "a node was handed to two owners at once");
}

fn in_flight_free(j: &Journal, ids: &[usize]) -> u64 {
    ids.iter()
        .map(|&id| j.get(id, AUX3))
        .filter(|&n| n != 0)
        .fold(0, |m, n| m | 1 << (n - 1))
}

// ----- map ------------------------------------------------------------------------

#[test]
fn crash_map() {
    if is_child() {
        return;
    }
    let kills = kills();
    let (tmp, seg, j, _) = segment("crash-map", kills);
    let mut rng = Rng(seed());
    let mut fig = Figures::default();
    let mut epoch = 0;
    let mut name = format!("m{epoch}");
    let mut m = Map::<u64, u64>::create(&seg, &name, MAP_CAP).unwrap();
    let mut round = 0;
    let mut ids_in_epoch: Vec<usize> = Vec::new();
    let mut victims: Vec<usize> = Vec::new();
    let mut done_before = 0u64;
    let check = |m: &Map<u64, u64>, ids: &[usize], victims: &[usize], fig: &mut Figures| {
        let entries = m.entries();
        let mut count: HashMap<u64, u64> = HashMap::new();
        for (k, v) in &entries {
            assert_eq!(*v, k ^ VALUE_MASK, "key {k:#x} holds a wrong value");
            *count.entry(*k).or_default() += 1;
        }
        let dup: u64 = count.values().filter(|&&c| c > 1).map(|c| c - 1).sum();
        fig.duplicated += dup;
        for &id in ids {
            let (ins, rem) = (j.get(id, PUSH_DONE), j.get(id, AUX2));
            let ins_intent = j.get(id, PUSH_INTENT);
            let rem_intent = j.get(id, AUX1);
            let dead = victims.contains(&id);
            for seq in 0..ins + 1 {
                let k = item(id, seq);
                let present = count.contains_key(&k);
                let want = seq >= rem && seq < ins;
                let ambiguous = dead && (ins_intent == seq + 1 || rem_intent == seq + 1);
                if present != want && !ambiguous {
                    if want {
                        fig.lost_unexplained += 1;
                    } else {
                        fig.phantom += 1;
                    }
                }
                if ambiguous && ins_intent == seq + 1 {
                    if present {
                        fig.inflight_push_found += 1;
                    } else {
                        fig.inflight_push_absent += 1;
                    }
                }
                if ambiguous && rem_intent == seq + 1 {
                    fig.inflight_pops += 1;
                }
            }
        }
        // Slots left INSERTING by killed processes: <u64, u64> slots are
        // {state u32, pad, key u64, value u64}: stride 24.
        (0..MAP_CAP)
            .filter(|s| m.region().atomic_u32(16 + 24 * s).load(SeqCst) == 3)
            .count() as u64
    };
    while fig.kills < kills {
        let r = run_round(&tmp.name, &j, "map", &name, round, &mut rng, &mut fig);
        round += 1;
        victims.extend(&r.victims);
        ids_in_epoch.extend(r.victims.iter().chain(&r.survivors));
        fig.done = done_before
            + ids_in_epoch
                .iter()
                .map(|&id| j.get(id, PUSH_DONE))
                .sum::<u64>();
        // Usable: a fresh key goes in and comes out.
        let probe = u64::MAX - round as u64;
        assert!(
            m.insert(probe, probe ^ VALUE_MASK).is_stored(),
            "map: insert failed"
        );
        assert_eq!(m.remove(&probe), Some(probe ^ VALUE_MASK));
        let mut f = Figures::default();
        let stuck = check(&m, &ids_in_epoch, &victims, &mut f);
        if std::env::var_os("ZEROIPC_CRASH_VERBOSE").is_some() {
            println!(
                "map round {round}: stuck slots {stuck}, len {}, survivor ops so far {}",
                m.len(),
                fig.survivor_ops
            );
        }
        assert_eq!(
            f.duplicated + f.phantom + f.lost_unexplained,
            0,
            "map round {round}: {f:?}"
        );
        // Each stuck slot costs every probe through it a 100 ms wait; keys
        // of killed incarnations are never removed: start a new map when
        // either piles up.
        if stuck >= 2 || m.len() > MAP_CAP / 2 {
            if stuck >= 2 {
                fig.wedged += 1;
            }
            fig.leaked += stuck;
            let mut f = Figures::default();
            check(&m, &ids_in_epoch, &victims, &mut f);
            fig.inflight_push_found += f.inflight_push_found;
            fig.inflight_push_absent += f.inflight_push_absent;
            fig.inflight_pops += f.inflight_pops;
            epoch += 1;
            name = format!("m{epoch}");
            m = Map::<u64, u64>::create(&seg, &name, MAP_CAP).unwrap();
            done_before = fig.done;
            ids_in_epoch.clear();
        }
    }
    let mut f = Figures::default();
    fig.leaked += check(&m, &ids_in_epoch, &victims, &mut f);
    fig.inflight_push_found += f.inflight_push_found;
    fig.inflight_push_absent += f.inflight_push_absent;
    fig.inflight_pops += f.inflight_pops;
    print("map", &fig);
}

// ----- mutex ------------------------------------------------------------------------

#[test]
fn crash_mutex() {
    if is_child() {
        return;
    }
    let kills = kills();
    let (tmp, seg, j, _) = segment("crash-mutex", kills);
    let mx = Mutex::create(&seg, "mx").unwrap();
    let cells = Array::<u64>::create(&seg, "cells", 2).unwrap();
    let mut rng = Rng(seed());
    let mut fig = Figures::default();
    let mut round = 0;
    let mut held_by_dead = 0u64;
    while fig.kills < kills {
        let r = run_round(&tmp.name, &j, "mutex", "mx", round, &mut rng, &mut fig);
        round += 1;
        // A victim killed while holding (or acquiring) leaves it locked.
        let holder_died = r
            .victims
            .iter()
            .any(|&id| j.get(id, AUX1) != 0 || j.get(id, AUX3) != 0);
        if mx.is_locked() {
            assert!(holder_died, "mutex locked with no dead holder");
            // Survivors timed out on it (their ops are bounded); recover.
            mx.force_unlock().unwrap();
            fig.recoveries += 1;
            held_by_dead += 1;
        }
        let g = mx
            .lock_timeout(Duration::from_secs(1))
            .expect("usable after recovery");
        g.unlock().expect("held until our own unlock");
    }
    let done: u64 = (0..2 * round).map(|id| j.get(id, AUX2)).sum();
    fig.done = done;
    let counter = cells.get(0).unwrap();
    // A holder killed between its increment and the journal update adds
    // one uncounted increment.
    fig.drift = counter as i64 - done as i64;
    fig.inflight_pops = held_by_dead;
    print("mutex", &fig);
    assert!(
        fig.drift >= 0 && fig.drift as u64 <= held_by_dead,
        "counter {counter} vs {done} increments: lost or duplicated critical sections"
    );
    assert_eq!(fig.violations, 0, "two holders inside the critical section");
}
