//! Hostile segment images, property-tested: golden vector images with
//! mutations (byte flips, header and table fields and structure header
//! words overwritten with interesting values, entries aliased, files
//! truncated), synthetic tables over random bytes, and plain random bytes
//! are written to /dev/shm, opened, and every entry is opened as every
//! structure kind with plausible element types; what opens runs its read
//! and write operations (`fuzz/src/exercise.rs`, shared with the libFuzzer
//! target). Nothing may panic or hang: each case runs on its own thread
//! under a watchdog.
//!
//! Case counts: `PROPTEST_CASES` (per property) overrides the defaults,
//! e.g. `PROPTEST_CASES=20000 cargo test -p zeroipc --test proptest_hostile`.
//! The deterministic header-word sweep tries one of its interesting values
//! per word by default (rotating through the list: 1,176 images, about 45 s
//! on the loaded 2-core test machine, about half of it asleep in the
//! bounded backoff waits of about 10 ms that some corrupted words lead to);
//! `ZEROIPC_HOSTILE_FULL=1` tries every value at every word (10,584 images,
//! about 6 minutes there).

mod common;
use zeroipc_testsupport::exercise;

use common::*;
use exercise::{exercise_bytes, Ctx};
use proptest::prelude::*;
use proptest::test_runner::Config;
use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::Duration;
use zeroipc::table::{table_bytes, MAGIC};

/// A case that takes longer than this is a hang.
const WATCHDOG: Duration = Duration::from_secs(20);

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn config(default: u32) -> Config {
    Config {
        cases: cases(default),
        failure_persistence: None,
        // Shrinking replays cases; keep it bounded.
        max_shrink_iters: 2000,
        ..Config::default()
    }
}

/// The golden images, sorted by file name.
fn images() -> &'static [(String, Vec<u8>)] {
    static IMAGES: OnceLock<Vec<(String, Vec<u8>)>> = OnceLock::new();
    IMAGES.get_or_init(|| {
        let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(vectors_dir())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "bin"))
            .map(|p| {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                (name, std::fs::read(&p).unwrap())
            })
            .collect();
        v.sort();
        assert!(
            v.len() >= 7,
            "expected the 7 golden images, found {}",
            v.len()
        );
        v
    })
}

/// Runs the exerciser on `bytes` on a fresh thread; panics (failing the
/// case) if it panicked or did not finish within [`WATCHDOG`]. Returns the
/// context (counters) and whether the segment opened.
fn run_case(bytes: Vec<u8>, write: bool, salt: u64) -> (Ctx, bool) {
    let name = unique_name("ph");
    let (tx, rx) = mpsc::channel();
    let worker_name = name.clone();
    let h = std::thread::spawn(move || {
        let mut cx = Ctx::new(Duration::ZERO, 3, write);
        cx.salt = salt;
        cx.fast = true;
        let opened = exercise_bytes(&worker_name, &bytes, &mut cx).is_ok();
        let _ = zeroipc::Segment::unlink(&worker_name);
        let _ = tx.send(());
        (cx, opened)
    });
    match rx.recv_timeout(WATCHDOG) {
        Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => match h.join() {
            Ok(r) => r,
            Err(p) => {
                let _ = zeroipc::Segment::unlink(&name);
                std::panic::resume_unwind(p)
            }
        },
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("hang: the exercise of {name} did not finish in {WATCHDOG:?}")
        }
    }
}

// ---------------------------------------------------------------------------
// Mutations

/// Values that break arithmetic: zero, one, all-ones, sign bits, odd and
/// non-power-of-two sizes, powers of two, anything.
fn interesting() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        Just(1),
        Just(2),
        Just(3),
        Just(7),
        Just(0x7fff_ffff),
        Just(0x8000_0000),
        Just(0xffff_fffe),
        Just(0xffff_ffff),
        Just(1 << 32),
        Just(i64::MAX as u64),
        Just(i64::MIN as u64),
        Just(u64::MAX),
        (0u64..64).prop_map(|x| 2 * x + 1),
        (3u64..9000),
        (0u32..40).prop_map(|s| 1u64 << s),
        any::<u64>(),
    ]
}

#[derive(Debug, Clone)]
enum Mutation {
    /// XOR one byte (index taken modulo the length).
    Flip { at: usize, xor: u8 },
    /// Overwrite header field `field` (magic, version, entry_count,
    /// max_entries: u32; memory_size, next_offset: u64).
    Header { field: usize, value: u64 },
    /// Overwrite the offset of table entry `entry` (modulo entry_count).
    EntryOffset { entry: usize, value: u64 },
    /// Overwrite the size of table entry `entry`.
    EntrySize { entry: usize, value: u64 },
    /// Point entry `to` at the bytes of entry `from` (aliasing).
    Alias { from: usize, to: usize },
    /// Overwrite the u32 word `word` (< 24) of the structure of `entry`.
    StructU32 {
        entry: usize,
        word: usize,
        value: u64,
    },
    /// Overwrite the u64 word `word` (< 12) of the structure of `entry`.
    StructU64 {
        entry: usize,
        word: usize,
        value: u64,
    },
    /// Cut the file to `per_mille`/1000 of its length.
    Truncate { per_mille: u32 },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        1 => (any::<usize>(), 1u8..=255).prop_map(|(at, xor)| Mutation::Flip { at, xor }),
        1 => (0usize..6, interesting()).prop_map(|(field, value)| Mutation::Header { field, value }),
        1 => (any::<usize>(), interesting())
            .prop_map(|(entry, value)| Mutation::EntryOffset { entry, value }),
        1 => (any::<usize>(), interesting())
            .prop_map(|(entry, value)| Mutation::EntrySize { entry, value }),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(from, to)| Mutation::Alias { from, to }),
        4 => (any::<usize>(), 0usize..24, interesting())
            .prop_map(|(entry, word, value)| Mutation::StructU32 { entry, word, value }),
        3 => (any::<usize>(), 0usize..12, interesting())
            .prop_map(|(entry, word, value)| Mutation::StructU64 { entry, word, value }),
        1 => (0u32..1000).prop_map(|per_mille| Mutation::Truncate { per_mille }),
    ]
}

fn put_u32(b: &mut [u8], at: usize, v: u32) {
    if let Some(dst) = at.checked_add(4).and_then(|end| b.get_mut(at..end)) {
        dst.copy_from_slice(&v.to_le_bytes());
    }
}

fn put_u64(b: &mut [u8], at: usize, v: u64) {
    if let Some(dst) = at.checked_add(8).and_then(|end| b.get_mut(at..end)) {
        dst.copy_from_slice(&v.to_le_bytes());
    }
}

fn get_u32(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .map(|s| u32::from_le_bytes(s.try_into().unwrap()))
        .unwrap_or(0)
}

fn get_u64(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 8)
        .map(|s| u64::from_le_bytes(s.try_into().unwrap()))
        .unwrap_or(0)
}

/// The table entries `(offset, size)` as the bytes say now (bounded by
/// what the file holds; garbage is fine, it is only used to aim mutations).
fn raw_entries(b: &[u8]) -> Vec<(u64, u64)> {
    let n = get_u32(b, 8).min(256) as usize;
    (0..n)
        .map(|i| 32 + 48 * i)
        .take_while(|&e| e + 48 <= b.len())
        .map(|e| (get_u64(b, e + 32), get_u64(b, e + 40)))
        .collect()
}

fn apply(b: &mut Vec<u8>, m: &Mutation) {
    let entries = raw_entries(b);
    let entry_slot = |i: usize| 32 + 48 * (i % entries.len().max(1));
    match *m {
        Mutation::Flip { at, xor } => {
            if !b.is_empty() {
                let i = at % b.len();
                b[i] ^= xor;
            }
        }
        Mutation::Header { field, value } => match field {
            0..=3 => put_u32(b, 4 * field, value as u32),
            4 => put_u64(b, 16, value),
            _ => put_u64(b, 24, value),
        },
        Mutation::EntryOffset { entry, value } => put_u64(b, entry_slot(entry) + 32, value),
        Mutation::EntrySize { entry, value } => put_u64(b, entry_slot(entry) + 40, value),
        Mutation::Alias { from, to } => {
            let (off, size) = entries
                .get(from % entries.len().max(1))
                .copied()
                .unwrap_or((0, 0));
            put_u64(b, entry_slot(to) + 32, off);
            put_u64(b, entry_slot(to) + 40, size);
        }
        Mutation::StructU32 { entry, word, value } => {
            if let Some(&(off, _)) = entries.get(entry % entries.len().max(1)) {
                if let Ok(off) = usize::try_from(off) {
                    put_u32(b, off.saturating_add(4 * word), value as u32);
                }
            }
        }
        Mutation::StructU64 { entry, word, value } => {
            if let Some(&(off, _)) = entries.get(entry % entries.len().max(1)) {
                if let Ok(off) = usize::try_from(off) {
                    put_u64(b, off.saturating_add(8 * word), value);
                }
            }
        }
        Mutation::Truncate { per_mille } => {
            let len = b.len() * per_mille as usize / 1000;
            b.truncate(len);
        }
    }
}

/// Names the runtime's structures use, including composite parts, so that
/// synthetic tables reach every kind's open.
const NAMES: &[&str] = &[
    "a",
    "q",
    "s",
    "m",
    "p",
    "r",
    "f",
    "l",
    "o",
    "b",
    "x",
    "ch_header",
    "ch_slot",
    "ch_buffer",
    "st_header",
    "st_buffer",
    "ev",
    "ev_sem",
    "rw_state",
    "rw_rmtx",
    "rw_wmtx",
    "mon_mtx",
    "mon_cond",
    "mon_count",
    "sig_state",
    "sig_mtx",
];

/// A valid header and table whose entries (known names, 8-aligned offsets
/// in the data area, arbitrary sizes) cover random bytes.
fn synthetic() -> impl Strategy<Value = Vec<u8>> {
    (1u32..=12, 256usize..4096, any::<u64>()).prop_flat_map(|(max, data_len, seed)| {
        let start = table_bytes(max) as usize;
        let total = start + data_len;
        let entry = (0..NAMES.len(), 0..data_len / 8, 0u64..600);
        (
            proptest::collection::vec(entry, 0..=max as usize),
            proptest::collection::vec(any::<u8>(), data_len),
        )
            .prop_map(move |(entries, data)| {
                let mut b = vec![0u8; total];
                put_u32(&mut b, 0, MAGIC);
                put_u32(&mut b, 4, 2);
                put_u32(&mut b, 8, entries.len() as u32);
                put_u32(&mut b, 12, max);
                put_u64(&mut b, 16, total as u64);
                put_u64(&mut b, 24, total as u64);
                for (i, &(n, off8, size)) in entries.iter().enumerate() {
                    let e = 32 + 48 * i;
                    let name = NAMES[n].as_bytes();
                    b[e..e + name.len()].copy_from_slice(name);
                    let off = start + 8 * off8;
                    let size = size.min((total - off) as u64);
                    put_u64(&mut b, e + 32, off as u64);
                    put_u64(&mut b, e + 40, size);
                }
                b[start..].copy_from_slice(&data);
                // Sprinkle small numbers over the data so that some
                // headers (capacity, elem_size) are plausible.
                let mut x = seed | 1;
                for w in (start..total - 4).step_by(4) {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    if x % 3 == 0 {
                        let v = [0u32, 1, 2, 4, 8, 16, 3, 5][(x >> 8) as usize % 8];
                        put_u32(&mut b, w, v);
                    }
                }
                b
            })
    })
}

// ---------------------------------------------------------------------------
// Properties

proptest! {
    #![proptest_config(config(1000))]

    /// Golden images with 1..8 mutations: refused or survived, never a
    /// panic or a hang.
    #[test]
    fn mutated_vector_images_never_panic_or_hang(
        image in any::<prop::sample::Index>(),
        muts in proptest::collection::vec(mutation(), 1..8),
        write in any::<bool>(),
        salt in any::<u64>(),
    ) {
        let imgs = images();
        let (_, base) = &imgs[image.index(imgs.len())];
        let mut b = base.clone();
        for m in &muts {
            apply(&mut b, m);
        }
        run_case(b, write, salt);
    }
}

proptest! {
    #![proptest_config(config(500))]

    /// Synthetic valid tables naming every kind over random bytes.
    #[test]
    fn synthetic_tables_over_random_bytes_never_panic_or_hang(
        b in synthetic(),
        muts in proptest::collection::vec(mutation(), 0..3),
        salt in any::<u64>(),
    ) {
        let mut b = b;
        for m in &muts {
            apply(&mut b, m);
        }
        run_case(b, true, salt);
    }

    /// Plain random bytes (mostly refused by the header checks).
    #[test]
    fn random_bytes_never_panic_or_hang(
        b in proptest::collection::vec(any::<u8>(), 0..1024),
        magic in any::<bool>(),
    ) {
        let mut b = b;
        if magic && b.len() >= 8 {
            put_u32(&mut b, 0, MAGIC);
            put_u32(&mut b, 4, 2);
        }
        run_case(b, true, 0);
    }
}

// ---------------------------------------------------------------------------
// Deterministic sweeps

/// The exerciser is not vacuous: on every unmodified golden image it opens
/// at least one structure per manifest structure and runs operations.
#[test]
fn exerciser_opens_every_golden_structure() {
    for (file, bytes) in images() {
        let want = file_manifest(file)["structures"]
            .as_array()
            .map(|a| a.len())
            .unwrap_or(0) as u64;
        let (cx, opened) = run_case(bytes.clone(), true, 1);
        assert!(opened, "{file}: the golden image must open");
        assert!(
            cx.opened >= want,
            "{file}: opened {} structures, manifest has {want}",
            cx.opened
        );
        assert!(cx.ops > 10 * want, "{file}: only {} operations", cx.ops);
    }
}

/// The long mode of the deterministic sweeps (`ZEROIPC_HOSTILE_FULL=1`).
fn full_sweep() -> bool {
    std::env::var("ZEROIPC_HOSTILE_FULL").is_ok_and(|v| v == "1")
}

/// Every u32 word of the first 64 bytes of every structure, and every
/// header and entry field, set to interesting values, on every golden
/// image: each value at every word in the long mode; by default one value
/// per word, the value rotating with the word's position (and starting
/// elsewhere in each image), so every value still meets every kind of
/// field across the images.
#[test]
fn every_header_word_with_interesting_values() {
    const VALUES: [u32; 9] = [
        0,
        1,
        3,
        0x7fff_ffff,
        0x8000_0000,
        0xffff_ffff,
        0xffff_fffe,
        1000,
        4097,
    ];
    let mut total = 0u64;
    for (image_index, (file, base)) in images().iter().enumerate() {
        let entries = raw_entries(base);
        let mut targets: Vec<usize> = (0..32).step_by(4).collect();
        for i in 0..entries.len() {
            targets.push(32 + 48 * i + 32); // offset (low word)
            targets.push(32 + 48 * i + 36); // offset (high word)
            targets.push(32 + 48 * i + 40); // size (low)
            targets.push(32 + 48 * i + 44); // size (high)
        }
        for &(off, _) in &entries {
            targets.extend((0..16).map(|w| off as usize + 4 * w));
        }
        for (i, &at) in targets.iter().enumerate() {
            let values: Vec<u32> = if full_sweep() {
                VALUES.to_vec()
            } else {
                vec![VALUES[(i + image_index) % VALUES.len()]]
            };
            for v in values {
                let mut b = base.clone();
                put_u32(&mut b, at, v);
                run_case(b, v % 2 == 1, at as u64);
                total += 1;
            }
        }
        let _ = file;
    }
    eprintln!("every_header_word_with_interesting_values: {total} images exercised");
}

/// Every golden image truncated at every 8-byte boundary of its table and
/// at every entry boundary.
#[test]
fn truncated_images_are_refused() {
    let mut total = 0u64;
    for (file, base) in images() {
        let entries = raw_entries(base);
        let mut cuts: Vec<usize> = (0..=table_bytes(64) as usize).step_by(8).collect();
        for &(off, size) in &entries {
            cuts.push(off as usize);
            cuts.push((off + size) as usize);
            cuts.push((off + size) as usize - 1);
        }
        for cut in cuts {
            if cut < base.len() {
                let (_, opened) = run_case(base[..cut].to_vec(), true, 0);
                // memory_size says 8192: a shorter file must be refused.
                assert!(!opened, "{file} cut at {cut} opened");
                total += 1;
            }
        }
    }
    eprintln!("truncated_images_are_refused: {total} truncated images refused");
}

// ---------------------------------------------------------------------------
// The bounded waits that `Ctx::fast` skips, checked here directly

/// A stack slot or map slot left mid-operation (by a dead or hostile peer)
/// costs a bounded wait, then the call returns: stack pop/peek/push give
/// up (about 0.5 s each), map and set probes skip the slot after
/// `STUCK_SLOT_WAIT` (100 ms) per stuck slot and call.
#[test]
fn stuck_slots_cost_a_bounded_wait_then_the_call_returns() {
    use std::sync::atomic::Ordering::SeqCst;
    use std::time::Instant;
    let (_t, seg) = temp_segment("stuck", 1 << 16);
    let s = zeroipc::Stack::<u32>::create(&seg, "s", 4).unwrap();
    s.push(1).unwrap();
    s.push(2).unwrap();
    // Slot 1 (the top) WRITING, as if its pusher died before publishing.
    let state_off = 16 + 16;
    s.region().atomic_u32(state_off + 4).store(1, SeqCst);
    let t = Instant::now();
    assert_eq!(s.pop(), None);
    assert_eq!(s.peek(), None);
    let stack_wait = t.elapsed();
    // Slot 2 (top + 1) READING: push gives the value back.
    s.region().atomic_u32(state_off + 4).store(2, SeqCst);
    s.region().atomic_u32(state_off + 8).store(3, SeqCst);
    assert_eq!(s.push(9), Err(9));
    assert_eq!(s.pop(), Some(2));

    let m = zeroipc::Map::<i32, i32>::create(&seg, "m", 4).unwrap();
    assert!(m.insert(1, 10).is_stored());
    for i in 0..m.capacity() {
        m.region().atomic_u32(16 + 12 * i).store(3, SeqCst); // INSERTING
    }
    let t = Instant::now();
    assert_eq!(m.get(&1), None);
    assert!(!m.contains(&2));
    assert!(!m.insert(3, 30).is_stored());
    assert_eq!(m.remove(&1), None);
    let map_wait = t.elapsed();
    assert_eq!(m.iter().count(), 0);
    eprintln!(
        "stuck slots: stack pop+peek gave up after {stack_wait:?}; \
         4 map calls over 4 stuck slots took {map_wait:?}"
    );
}

// ---------------------------------------------------------------------------
// Regressions found by fuzzing (minimised); see docs/RELIABILITY.md,
// "Findings".

/// B1: `Barrier::wait_timeout` computed `arrived.fetch_add(1) + 1` with a
/// checked add: an `arrived` word of i32::MAX (a corrupt or hostile
/// segment) panicked with "attempt to add with overflow" in builds with
/// overflow checks (the test profile, cargo-fuzz builds). Fixed with a
/// wrapping add in zeroipc/src/sync/barrier.rs (commit bf34840).
#[test]
fn regression_b1_barrier_arrived_at_i32_max() {
    let (_t, seg) = temp_segment("b1", 1 << 16);
    let b = zeroipc::Barrier::create(&seg, "bar", 3).unwrap();
    b.region()
        .atomic_i32(0)
        .store(i32::MAX, std::sync::atomic::Ordering::SeqCst);
    // The wrapped count (i32::MIN) is not the leader's: the zero wait times out.
    let r = b.wait_timeout(Duration::ZERO);
    assert!(matches!(r, Err(zeroipc::Error::Timeout { .. })), "{r:?}");
}
