//! Real multi-process tests for Pool and Map: four worker processes (this
//! test binary re-executed, see `common::spawn_worker`) hammer one
//! structure at once.
//!
//! - Pool: each worker allocates, tags the node with its id and a serial,
//!   holds 1-5 nodes at a time (the 8-node pool runs dry regularly), checks
//!   the tag and frees, tens of thousands of times. A node handed to two
//!   holders at once is detected with certainty by a shared ownership table
//!   updated with atomic swaps (take: `swap(me)` must return 0; give back:
//!   `swap(0)` must return me): of two overlapping holds, the later swap
//!   sees the earlier holder. The tags catch it a second way.
//! - Map inserts: 3000 rounds on fresh maps pre-filled with junk entries
//!   and tombstones, every key of a round on one probe chain; every key is
//!   offered by three of the four workers (start barrier per round; key
//!   order or random order), each insert preceded by an erase of junk, which is the reference's duplicate-key trigger (REFERENCE-
//!   NOTES §14 item 11). Exactly one insert per key may report `Inserted`,
//!   and the raw slots must hold each key exactly once.
//! - Map churn: random insert/remove/get of 40 keys in a 64-slot map (all
//!   keys on one probe chain, as in the insert test); every
//!   value read must carry its own key (no torn or wrong-key reads), the
//!   shared size word must never go negative, and at the end the raw slots
//!   hold no duplicate, `size` equals the OCCUPIED count, and that count
//!   equals inserts minus removals reported by the workers.

mod common;

use common::*;
use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};
use zeroipc::data::map::{insert_races, MapInsert};
use zeroipc::{Map, Pool, PoolHandle, Segment, SegmentOptions};

const WORKERS: u32 = 4;
/// A barrier or worker that takes longer fails instead of hanging.
const DEADLINE: Duration = Duration::from_secs(120);

const POOL_CAP: usize = 8;
const POOL_ITERS: u64 = 200_000;

const ROUNDS: u32 = 3000;
const ROUND_CAP: usize = 128;
const KEYS: u32 = 16;
const JUNK: u32 = 60;
const TOMBSTONES: u32 = 8;

const CHURN_CAP: usize = 64;
const CHURN_KEYS: u64 = 40;
const CHURN_ITERS: u64 = 250_000;

// The raw slot layout of Map<u32, u64>: key @4, value @8, stride 16.
const SLOT_STRIDE: usize = 16;

const OCCUPIED: u32 = 1;

/// Key `i` of a round map. Every such key hashes to home slot 0
/// (`i * 1024 * 2654435761` is a multiple of the capacity 1024), so all the
/// keys, the junk and the tombstones share one long probe chain: the
/// hardest case for duplicate-free insertion.
fn round_key(i: u32) -> u32 {
    i * ROUND_CAP as u32
}

fn junk_key(j: u32) -> u32 {
    round_key(KEYS + j)
}

/// Churn key `i`: again all on the chain of slot 0.
fn churn_key(i: u64) -> u32 {
    (i * CHURN_CAP as u64) as u32
}

/// One test at a time: each runs four busy processes on few cores.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Cumulative barrier: every worker adds 1, then waits for `target`.
fn barrier(word: &AtomicU32, target: u32) {
    word.fetch_add(1, Ordering::AcqRel);
    let start = Instant::now();
    let mut spins = 0u32;
    while word.load(Ordering::Acquire) < target {
        // Spin (so that waiters are on a CPU when the last one arrives and
        // the round starts in step), yielding now and then.
        spins += 1;
        if spins % 4096 == 0 {
            assert!(start.elapsed() < DEADLINE, "barrier {target} timed out");
            std::thread::yield_now();
        } else {
            std::hint::spin_loop();
        }
    }
}

/// xorshift64*: deterministic per-worker randomness.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

fn spawn_all(role: &str, seg: &str) -> Vec<Vec<String>> {
    let children: Vec<_> = (0..WORKERS)
        .map(|id| {
            spawn_worker(
                "worker",
                &[
                    ("ZM_SEG", seg.to_owned()),
                    ("ZM_ROLE", role.to_owned()),
                    ("ZM_ID", id.to_string()),
                ],
            )
        })
        .collect();
    children.into_iter().map(worker_results).collect()
}

/// Fields of a worker's single `RESULT` line, as numbers after the role.
fn fields(res: &[String], role: &str) -> Vec<u64> {
    assert_eq!(res.len(), 1, "{res:?}");
    let mut f = res[0].split_whitespace();
    assert_eq!(f.next(), Some(role), "{res:?}");
    f.map(|x| x.parse().unwrap()).collect()
}

/// Raw OCCUPIED (key, value) pairs of a Map<u32, u64>.
fn raw_occupied(seg: &Segment, name: &str) -> Vec<(u32, u64)> {
    let r = seg.region(name).unwrap();
    let cap = r.read_u32(4) as usize;
    (0..cap)
        .map(|i| 16 + i * SLOT_STRIDE)
        .filter(|&off| r.read_u32(off) == OCCUPIED)
        .map(|off| (r.read::<u32>(off + 4), r.read::<u64>(off + 8)))
        .collect()
}

fn assert_no_duplicates(name: &str, occ: &[(u32, u64)]) {
    let mut seen = HashSet::new();
    let dups: Vec<u32> = occ
        .iter()
        .filter(|(k, _)| !seen.insert(*k))
        .map(|(k, _)| *k)
        .collect();
    assert!(
        dups.is_empty(),
        "{name}: duplicate keys in the raw slots: {dups:?}"
    );
}

#[test]
fn pool_four_processes_never_hand_out_a_node_twice() {
    if is_child() {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let (t, seg) = temp_segment("mppool", 1 << 16);
    let pool = Pool::<u64>::create(&seg, "pool", POOL_CAP).unwrap();
    seg.register("owners", 4 * POOL_CAP as u64, |_| Ok(()))
        .unwrap();
    seg.register("sync", 8, |_| Ok(())).unwrap();

    let start = Instant::now();
    let results = spawn_all("pool", &t.name);
    let elapsed = start.elapsed();
    let (mut allocs, mut empties) = (0, 0);
    for (id, res) in results.iter().enumerate() {
        let f = fields(res, "pool");
        assert_eq!(f[3], 0, "worker {id} saw {} violations: {res:?}", f[3]);
        eprintln!(
            "pool worker {}: {} allocations, {} times empty",
            f[0], f[1], f[2]
        );
        allocs += f[1];
        empties += f[2];
    }
    // Every node is back, each exactly once on the free list.
    assert_eq!(pool.allocated(), 0);
    let r = pool.region();
    let mut free = HashSet::new();
    let mut i = r.read_u64(0) as u32;
    while i != u32::MAX {
        assert!((i as usize) < POOL_CAP, "free list index {i}");
        assert!(free.insert(i), "node {i} twice on the free list");
        i = r.read_u32(24 + 16 * i as usize + 8);
    }
    assert_eq!(free.len(), POOL_CAP);
    let owners = seg.region("owners").unwrap();
    for n in 0..POOL_CAP {
        assert_eq!(owners.atomic_u32(4 * n).load(Ordering::SeqCst), 0);
    }
    let mut all = Vec::new();
    while let Some(h) = pool.allocate().unwrap() {
        all.push(h.index());
    }
    assert_eq!(all.len(), POOL_CAP);
    assert!(allocs >= WORKERS as u64 * POOL_ITERS / 2, "{allocs}");
    eprintln!(
        "pool: {allocs} allocate/free pairs by {WORKERS} processes on {POOL_CAP} nodes \
         ({empties} empty), generation now {}, {:.2} s",
        r.read_u64(0) >> 32,
        elapsed.as_secs_f64()
    );
}

#[test]
fn map_concurrent_inserts_of_the_same_keys_leave_no_duplicates() {
    if is_child() {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    // One small map per round: more table slots than the default 64.
    let t = TempSeg {
        name: unique_name("mpmap"),
    };
    let seg = SegmentOptions::new()
        .size(1 << 23)
        .max_entries(ROUNDS + 8)
        .create(&t.name)
        .unwrap();
    for round in 0..ROUNDS {
        let m = Map::<u32, u64>::create(&seg, &format!("m{round}"), ROUND_CAP).unwrap();
        // Junk the workers erase during the round, and tombstones.
        for j in 0..JUNK {
            assert_eq!(m.insert(junk_key(j), j as u64), MapInsert::Inserted);
        }
        for j in 0..TOMBSTONES {
            let k = round_key(KEYS + JUNK + j);
            assert_eq!(m.insert(k, 0), MapInsert::Inserted);
            assert_eq!(m.remove(&k), Some(0));
        }
    }
    seg.register("sync", 8, |_| Ok(())).unwrap();

    let start = Instant::now();
    let results = spawn_all("insert", &t.name);
    let elapsed = start.elapsed();
    let (mut inserted, mut updated, mut races) = (0, 0, [0u64; 3]);
    for res in &results {
        let f = fields(res, "insert");
        assert_eq!(f[3], 0, "Full reported: {res:?}");
        assert_eq!(f[4], 0, "violations: {res:?}");
        inserted += f[1];
        updated += f[2];
        for (r, x) in races.iter_mut().zip(&f[5..8]) {
            *r += x;
        }
    }
    // Each key was offered by three workers: exactly one insert per key.
    assert_eq!(inserted, (ROUNDS * KEYS) as u64, "Inserted outcomes");
    assert_eq!(updated, (2 * ROUNDS * KEYS) as u64, "Updated outcomes");

    for round in 0..ROUNDS {
        let name = format!("m{round}");
        let m = Map::<u32, u64>::open(&seg, &name).unwrap();
        let occ = raw_occupied(&seg, &name);
        assert_no_duplicates(&name, &occ);
        let keys: HashSet<u32> = occ.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            keys,
            (0..KEYS).map(round_key).collect::<HashSet<_>>(),
            "{name}: keys present"
        );
        for &(k, v) in &occ {
            let i = k / ROUND_CAP as u32;
            assert_eq!(v >> 8, i as u64, "{name}: value of {k}");
            assert_ne!(v & 0xff, (i % WORKERS) as u64, "{name}: writer of {k}");
            assert_eq!(m.get(&k), Some(v));
        }
        assert_eq!(m.len(), KEYS as usize, "{name}: size word");
    }
    eprintln!(
        "map inserts: {ROUNDS} rounds x {KEYS} keys x 3 processes each, {:.2} s; \
         claims given back: {} on a published duplicate, {} on a competing claim; \
         {} stuck-slot skips",
        elapsed.as_secs_f64(),
        races[0],
        races[1],
        races[2]
    );
}

#[test]
fn map_insert_remove_churn_keeps_the_map_consistent() {
    if is_child() {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let (t, seg) = temp_segment("mpchurn", 1 << 16);
    let m = Map::<u32, u64>::create(&seg, "churn", CHURN_CAP).unwrap();
    seg.register("sync", 8, |_| Ok(())).unwrap();

    let start = Instant::now();
    let results = spawn_all("churn", &t.name);
    let elapsed = start.elapsed();
    let (mut ins, mut rem, mut hits, mut min_size) = (0i64, 0i64, 0, i64::MAX);
    let mut races = [0u64; 3];
    for res in &results {
        let f = fields(res, "churn");
        assert_eq!(f[5], 0, "violations (wrong-key value or Full): {res:?}");
        ins += f[1] as i64;
        rem += f[2] as i64;
        hits += f[3];
        min_size = min_size.min(f[4] as i64 - (1 << 32));
        for (r, x) in races.iter_mut().zip(&f[6..9]) {
            *r += x;
        }
    }
    assert!(min_size >= 0, "size word went negative: {min_size}");
    let occ = raw_occupied(&seg, "churn");
    assert_no_duplicates("churn", &occ);
    for &(k, v) in &occ {
        assert_eq!(v >> 32, (k / CHURN_CAP as u32) as u64, "value of {k}");
        assert_eq!(m.get(&k), Some(v));
    }
    assert_eq!(occ.len() as i64, ins - rem, "OCCUPIED = inserts - removals");
    assert_eq!(m.region().read_u32(0) as usize, occ.len(), "size word");
    eprintln!(
        "map churn: {} ops by {WORKERS} processes, {ins} inserts, {rem} removals, {hits} hits, \
         {} keys left, min size seen {min_size}, {:.2} s; claims given back: {} duplicate, \
         {} competing claim; {} stuck-slot skips",
        WORKERS as u64 * CHURN_ITERS,
        occ.len(),
        elapsed.as_secs_f64(),
        races[0],
        races[1],
        races[2]
    );
}

/// Child side. `RESULT` lines start with a newline because the harness has
/// already printed `test worker ... ` on the current line.
#[test]
#[ignore = "worker process for the multi-process tests"]
fn worker() {
    let seg = Segment::open(&env_var("ZM_SEG")).unwrap();
    let id: u32 = env_var("ZM_ID").parse().unwrap();
    let sync = seg.region("sync").unwrap();
    let go = sync.atomic_u32(0);
    match env_var("ZM_ROLE").as_str() {
        "pool" => pool_worker(&seg, id, go),
        "insert" => insert_worker(&seg, id, go),
        "churn" => churn_worker(&seg, id, go),
        other => panic!("unknown role {other}"),
    }
}

fn pool_worker(seg: &Segment, id: u32, go: &AtomicU32) {
    let pool = Pool::<u64>::open(seg, "pool").unwrap();
    let owners = seg.region("owners").unwrap();
    let me = id + 1;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (id as u64 + 1));
    let mut held: VecDeque<(PoolHandle, u64)> = VecDeque::new();
    let (mut allocs, mut empties, mut violations) = (0u64, 0u64, 0u64);
    let release = |h: PoolHandle, tag: u64, violations: &mut u64| {
        let got = pool.get(h).unwrap();
        if got != tag {
            eprintln!(
                "worker {id}: node {} holds {got:#x}, expected {tag:#x}",
                h.index()
            );
            *violations += 1;
        }
        let prev = owners
            .atomic_u32(4 * h.index() as usize)
            .swap(0, Ordering::AcqRel);
        if prev != me {
            eprintln!("worker {id}: node {} owned by {prev} at release", h.index());
            *violations += 1;
        }
        if let Err(e) = pool.deallocate(h) {
            eprintln!("worker {id}: deallocate: {e}");
            *violations += 1;
        }
    };
    barrier(go, WORKERS);
    let start = Instant::now();
    for i in 0..POOL_ITERS {
        assert!(start.elapsed() < DEADLINE, "pool worker {id} too slow");
        let hold = 1 + (rng.next() % 5) as usize;
        while held.len() >= hold {
            let (h, tag) = held.pop_front().unwrap();
            release(h, tag, &mut violations);
        }
        match pool.allocate().unwrap() {
            Some(h) => {
                allocs += 1;
                let prev = owners
                    .atomic_u32(4 * h.index() as usize)
                    .swap(me, Ordering::AcqRel);
                if prev != 0 {
                    eprintln!(
                        "worker {id}: node {} handed out while {prev} holds it",
                        h.index()
                    );
                    violations += 1;
                }
                let tag = ((id as u64) << 40) | i;
                pool.set(h, tag).unwrap();
                if pool.get(h).unwrap() != tag {
                    violations += 1;
                }
                held.push_back((h, tag));
            }
            None => {
                empties += 1;
                match held.pop_front() {
                    Some((h, tag)) => release(h, tag, &mut violations),
                    None => std::thread::yield_now(),
                }
            }
        }
    }
    while let Some((h, tag)) = held.pop_front() {
        release(h, tag, &mut violations);
    }
    println!("\nRESULT pool {id} {allocs} {empties} {violations}");
}

fn insert_worker(seg: &Segment, id: u32, go: &AtomicU32) {
    let (mut inserted, mut updated, mut full, mut violations) = (0u64, 0u64, 0u64, 0u64);
    let mut rng = Rng(0xA076_1D64_78BD_642F ^ ((id as u64 + 1) << 29));
    for round in 0..ROUNDS {
        let m = Map::<u32, u64>::open(seg, &format!("m{round}")).unwrap();
        let mut junk = (0..JUNK).filter(|j| j % WORKERS == id);
        // Half the rounds in key order (workers tend to run in step and meet
        // on the same key), half in a random order of each worker's own.
        let mut keys: Vec<u32> = (0..KEYS).filter(|i| i % WORKERS != id).collect();
        if round % 2 == 1 {
            for n in (1..keys.len()).rev() {
                keys.swap(n, (rng.next() % (n as u64 + 1)) as usize);
            }
        }
        barrier(go, WORKERS * (round + 1));
        for &i in &keys {
            // Erasing an unrelated key just before the insert opens a
            // tombstone early in the chain another worker may be scanning
            // past (the reference's duplicate trigger).
            if let Some(j) = junk.next() {
                if m.remove(&junk_key(j)) != Some(j as u64) {
                    violations += 1;
                }
            }
            match m.insert(round_key(i), ((i as u64) << 8) | id as u64) {
                MapInsert::Inserted => inserted += 1,
                MapInsert::Updated => updated += 1,
                MapInsert::Full => full += 1,
            }
        }
        for j in junk {
            if m.remove(&junk_key(j)) != Some(j as u64) {
                violations += 1;
            }
        }
    }
    let r = insert_races();
    println!(
        "\nRESULT insert {id} {inserted} {updated} {full} {violations} {} {} {}",
        r.duplicates, r.yields, r.stuck_skips
    );
}

fn churn_worker(seg: &Segment, id: u32, go: &AtomicU32) {
    let m = Map::<u32, u64>::open(seg, "churn").unwrap();
    let size_word = m.region().atomic_u32(0);
    let mut rng = Rng(0xD1B5_4A32_D192_ED03 ^ ((id as u64 + 1) << 17));
    let (mut ins, mut rem, mut hits, mut violations) = (0u64, 0u64, 0u64, 0u64);
    let mut min_size = i64::MAX;
    barrier(go, WORKERS);
    for i in 0..CHURN_ITERS {
        let r = rng.next();
        let ki = r % CHURN_KEYS;
        let k = churn_key(ki);
        let check = |v: u64, violations: &mut u64| {
            if v >> 32 != ki {
                eprintln!("worker {id}: key {k} returned value {v:#x}");
                *violations += 1;
            }
        };
        match (r >> 32) % 20 {
            0..=8 => {
                let v = (ki << 32) | ((id as u64) << 24) | (i & 0xFF_FFFF);
                match m.insert(k, v) {
                    MapInsert::Inserted => ins += 1,
                    MapInsert::Updated => {}
                    MapInsert::Full => violations += 1,
                }
            }
            9..=15 => {
                if let Some(v) = m.remove(&k) {
                    check(v, &mut violations);
                    rem += 1;
                }
            }
            _ => {
                if let Some(v) = m.get(&k) {
                    check(v, &mut violations);
                    hits += 1;
                }
            }
        }
        if i % 16 == 0 {
            min_size = min_size.min(size_word.load(Ordering::Relaxed) as i32 as i64);
        }
    }
    // Offset by 2^32 so the field stays an unsigned number.
    let min_field = (min_size + (1 << 32)) as u64;
    let r = insert_races();
    println!(
        "\nRESULT churn {id} {ins} {rem} {hits} {min_field} {violations} {} {} {}",
        r.duplicates, r.yields, r.stuck_skips
    );
}
