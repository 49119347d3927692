//! The zeroipc benchmark harness (issue 7): every figure next to a baseline
//! measured in the same run, as a ratio, medians over several runs, with the
//! machine described. Prints a Markdown report (BENCHMARKS.md holds one).
//!
//! ```text
//! cargo run --release -p zeroipc --example bench_harness            # everything
//! cargo run --release -p zeroipc --example bench_harness -- --tiny  # seconds, for the smoke test
//! options: --runs N  --no-compile  --no-numpy  --only KEY  --regen-dtype
//! ```
//!
//! Cross-process measurements re-execute this program as children (the
//! role travels in `ZEROIPC_BENCH_CHILD`); `tests/bench_smoke.rs` includes
//! this file as a module and re-executes the test binary instead.

pub mod batch;
pub mod compile;
pub mod inproc;
pub mod kernels;
pub mod numpy;
pub mod probe;
pub mod util;
pub mod wakeup;
pub mod xproc;

use std::time::Instant;
use util::*;

fn main() {
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        xproc::child_main(&spec);
        return;
    }
    let mut cfg = Cfg {
        tiny: false,
        runs: 5,
        launcher: Launcher::current(),
        compile: true,
        numpy: true,
        only: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--tiny" => {
                cfg.tiny = true;
                cfg.runs = 2;
                cfg.compile = false;
            }
            "--runs" => {
                cfg.runs = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|&n| n > 0)
                    .expect("--runs N (N >= 1)")
            }
            "--no-compile" => cfg.compile = false,
            "--no-numpy" => cfg.numpy = false,
            "--only" => cfg.only.push(args.next().expect("--only KEY")),
            "--kernel" => {
                let name = args.next().expect("--kernel NAME N");
                let n = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .expect("--kernel NAME N");
                kernels::run(&name, n);
                return;
            }
            "--regen-dtype" => {
                match numpy::regen_dtype() {
                    Ok(p) => println!("wrote {}", p.display()),
                    Err(e) => {
                        eprintln!("regen-dtype failed: {e}");
                        std::process::exit(1);
                    }
                }
                return;
            }
            "-h" | "--help" => {
                println!("usage: bench_harness [--tiny] [--runs N] [--no-compile] [--no-numpy] [--only KEY]... [--regen-dtype]\n\
                 KEY: latency queue stack pool map ring lock array numpy segment compile wakeup batch\n\
                 --kernel NAME N: N ops of queue|arrayqueue|channel|mutex|stdmutex|map90, for callgrind");
                return;
            }
            other => {
                eprintln!("unknown argument {other:?} (try --help)");
                std::process::exit(2);
            }
        }
    }
    print!("{}", run(&cfg));
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn machine(cfg: &Cfg, rep: &mut Report) {
    let cpuinfo = read("/proc/cpuinfo");
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(str::trim)
        .unwrap_or("unknown")
        .to_owned();
    let logical = cpuinfo
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count();
    let cpus = allowed_cpus();
    let (c0, c1) = cpu_pair();
    let can_pin = c0.is_some_and(|c| pinned(Some(c), || pin(c)));
    let load = read("/proc/loadavg");
    let kernel = read("/proc/sys/kernel/osrelease");
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let commit = match (
        git(&["rev-parse", "--short", "HEAD"]),
        git(&["status", "--porcelain", "--untracked-files=no"]),
    ) {
        (Some(c), Some(d)) if d.is_empty() => c,
        (Some(c), Some(d)) => format!("{c} + {} modified tracked files", d.lines().count()),
        _ => "unknown".to_owned(),
    };
    let profile = if cfg!(debug_assertions) {
        "debug assertions on (not a release build: figures are not meaningful)"
    } else {
        "release"
    };
    rep.note(&format!(
        "- CPU model (/proc/cpuinfo): {model}\n\
         - logical CPUs: {logical}; usable by this process: {cpus:?}\n\
         - pinning: {}\n\
         - kernel: {}\n\
         - code: commit {commit}\n\
         - load average at start: {}\n\
         - build: {profile}; mode: {}; runs per figure: {}\n\
         - method: every figure is the median over the runs, and every ratio the median of the \
         per-run ratios (figure and baseline measured back to back in the same run). Within a \
         run, single-party and ping-pong figures take the fastest of up to 100 equal slices (about 1000 steps each) and \
         multi-party throughput the best of {} trials, for the figure and its baseline alike: \
         preemption by other jobs only ever adds time.",
        if can_pin && c0 != c1 {
            format!("the two sides of each two-party measurement run on CPUs {} and {} (sched_setaffinity)", c0.unwrap_or(0), c1.unwrap_or(0))
        } else {
            "not possible (fewer than two usable CPUs or refused); sides share CPUs".to_owned()
        },
        kernel.trim(),
        load.trim(),
        if cfg.tiny { "tiny (smoke test sizes)" } else { "full" },
        cfg.runs,
        cfg.n(3, 1),
    ));
}

/// `f()` once per run, or nothing when `--only` leaves `key` out.
fn per_run<R>(cfg: &Cfg, key: &str, mut f: impl FnMut() -> R) -> Vec<R> {
    if cfg.wants(key) {
        (0..cfg.runs).map(|_| f()).collect()
    } else {
        Vec::new()
    }
}

/// Runs every measurement and returns the report.
pub fn run(cfg: &Cfg) -> String {
    let started = Instant::now();
    let mut rep = Report::default();
    rep.out.push_str("# zeroipc-rs benchmark report\n");
    rep.section(0);
    machine(cfg, &mut rep);

    // Latency (sections 1, 2 and the channel rows of 4): one run = every
    // figure back to back, so each ratio compares figures of the same run.
    let lat: Vec<xproc::Lat> = per_run(cfg, "latency", || xproc::latency_run(cfg));
    let pairs = |f: &dyn Fn(&xproc::Lat) -> (f64, f64)| lat.iter().map(f).collect::<Vec<_>>();

    rep.section(1);
    rep.note(
        "One 8-byte word in a segment, written alternately by two processes pinned to \
         different CPUs (each waits for the other's value, then answers): half the round \
         trip is the one-way cost of moving one cache line between the cores. The \
         baseline is the same ping-pong between two threads of one process.",
    );
    rep.row(Row::from_runs(
        "floor: one-way hand-off, 2 processes",
        Unit::Ns,
        "same, 2 threads",
        &pairs(&|l| (l.floor, l.floor_threads)),
        None,
    ));

    rep.section(2);
    rep.note(
        "Ping-pong through two queues (A pushes to q_ab and pops q_ba; B echoes), half the \
         round trip; baseline: the floor of the same run.",
    );
    rep.row(Row::from_runs(
        "Queue<u64> one-way latency",
        Unit::Ns,
        "floor",
        &pairs(&|l| (l.q8, l.floor)),
        Some(Target::AtMost(2.5)),
    ));
    rep.row(Row::from_runs(
        "Queue<[u64; 8]> (64 B) one-way latency",
        Unit::Ns,
        "floor",
        &pairs(&|l| (l.q64, l.floor)),
        Some(Target::AtMost(2.0)),
    ));
    rep.row(Row::from_runs(
        "Queue<u64> one-way latency, 2 threads",
        Unit::Ns,
        "floor, 2 threads",
        &pairs(&|l| (l.q8_threads, l.floor_threads)),
        None,
    ));
    rep.row(Row::from_runs(
        "crossbeam ArrayQueue<u64> one-way latency, 2 threads (same algorithm family)",
        Unit::Ns,
        "floor, 2 threads",
        &pairs(&|l| (l.aq_threads, l.floor_threads)),
        None,
    ));
    rep.row(Row::from_runs(
        "probe: Queue's protocol, format layout, private memory, 2 threads",
        Unit::Ns,
        "floor, 2 threads",
        &pairs(&|l| (l.probe_fmt, l.floor_threads)),
        None,
    ));
    rep.row(Row::from_runs(
        "probe: Queue's protocol, crossbeam's layout, private memory, 2 threads",
        Unit::Ns,
        "floor, 2 threads",
        &pairs(&|l| (l.probe_pad, l.floor_threads)),
        None,
    ));

    // Multi-party throughput cannot be sliced: each run keeps the best of
    // k trials instead (preemption only ever lowers a rate).
    let k = cfg.n(3, 1);
    rep.section(3);
    let q11 = per_run(cfg, "queue", || {
        let mut best = [0.0f64; 4];
        for _ in 0..k {
            let r = inproc::queue_threads(cfg);
            for i in 0..4 {
                best[i] = best[i].max(r[i]);
            }
        }
        best
    });
    let vs_aq = |i: usize| q11.iter().map(|r| (r[i], r[1])).collect::<Vec<_>>();
    let x11 = per_run(cfg, "queue", || {
        best_of(k, true, || xproc::queue_throughput(cfg, 1, 1))
    });
    let x22 = per_run(cfg, "queue", || {
        best_of(k, true, || xproc::queue_throughput(cfg, 2, 2))
    });
    rep.note(
        "Items (u64) per second, capacity 1024, producers and consumers spinning. \
         In-process: two threads on two CPUs; cross-process: separate processes, \
         baseline crossbeam's ArrayQueue with the same number of threads on the same CPUs.",
    );
    rep.row(Row::from_runs(
        "Queue 1P/1C, threads",
        Unit::PerSec,
        "crossbeam ArrayQueue 1P/1C",
        &vs_aq(0),
        Some(Target::AtLeast(0.8)),
    ));
    rep.row(Row::from_runs(
        "probe: same protocol, format layout, private memory, threads",
        Unit::PerSec,
        "crossbeam ArrayQueue 1P/1C",
        &vs_aq(2),
        None,
    ));
    rep.row(Row::from_runs(
        "probe: same protocol, crossbeam's layout, private memory, threads",
        Unit::PerSec,
        "crossbeam ArrayQueue 1P/1C",
        &vs_aq(3),
        None,
    ));
    rep.row(Row::from_runs(
        "Queue 1P/1C, processes",
        Unit::PerSec,
        "ArrayQueue 1P/1C, threads",
        &x11,
        None,
    ));
    rep.row(Row::from_runs(
        "Queue 2P/2C, processes",
        Unit::PerSec,
        "ArrayQueue 2P/2C, threads",
        &x22,
        None,
    ));

    rep.section(4);
    rep.note("Single-threaded unless said otherwise; baseline: the usual private alternative.");
    let rows = per_run(cfg, "stack", || inproc::stack_pair(cfg));
    rep.row(Row::from_runs(
        "Stack push+pop",
        Unit::Ns,
        "std Mutex<Vec> push+pop",
        &rows,
        None,
    ));
    let rows = per_run(cfg, "pool", || inproc::pool_pair(cfg));
    rep.row(Row::from_runs(
        "Pool<[u64; 8]> allocate+deallocate",
        Unit::Ns,
        "Box<[u64; 8]> new+drop",
        &rows,
        None,
    ));
    for load in [0.5, 0.9] {
        let runs = per_run(cfg, "map", || inproc::map_ops(cfg, load));
        for (k, op) in ["insert", "find", "erase"].iter().enumerate() {
            let rows: Vec<_> = runs.iter().map(|r| r[k]).collect();
            rep.row(Row::from_runs(
                format!("Map<u64,u64> {op}, load {load}"),
                Unit::Ns,
                format!("std HashMap {op}"),
                &rows,
                None,
            ));
        }
    }
    let rows = per_run(cfg, "ring", || inproc::ring_pair(cfg));
    rep.row(Row::from_runs(
        "Ring<u64> write_bulk+read_bulk, 4 KiB chunks",
        Unit::BytesPerSec,
        "memcpy in + memcpy out, 4 KiB",
        &rows,
        Some(Target::AtLeast(0.8)),
    ));
    let rows = per_run(cfg, "ring", || best_of(k, true, || xproc::ring_stream(cfg)));
    rep.row(Row::from_runs(
        "Ring<u64> stream, 2 processes, 4 KiB chunks",
        Unit::BytesPerSec,
        "pipe between 2 processes, 4 KiB writes",
        &rows,
        None,
    ));
    rep.row(Row::from_runs(
        "Channel<u64> buffered round trip, 2 processes",
        Unit::Ns,
        "floor round trip",
        &pairs(&|l| (l.ch_buf, 2.0 * l.floor)),
        None,
    ));
    rep.row(Row::from_runs(
        "Channel<u64> unbuffered round trip, 2 processes",
        Unit::Ns,
        "floor round trip",
        &pairs(&|l| (l.ch_unbuf, 2.0 * l.floor)),
        None,
    ));
    let locks = per_run(cfg, "lock", || inproc::locks_uncontended(cfg));
    rep.row(Row::from_runs(
        "Mutex lock+unlock, uncontended",
        Unit::Ns,
        "std Mutex lock+unlock",
        &locks.iter().map(|l| (l.0, l.2)).collect::<Vec<_>>(),
        None,
    ));
    rep.row(Row::from_runs(
        "Semaphore acquire+release, uncontended",
        Unit::Ns,
        "std Mutex lock+unlock",
        &locks.iter().map(|l| (l.1, l.2)).collect::<Vec<_>>(),
        None,
    ));
    for (kind, what) in [("mutex", "Mutex"), ("sem", "Semaphore")] {
        let rows = per_run(cfg, "lock", || {
            best_of(k, false, || xproc::lock_contended(cfg, kind))
        });
        rep.row(Row::from_runs(
            format!("{what}, contended by 2 processes, per critical section"),
            Unit::Ns,
            "std Mutex, 2 threads",
            &rows,
            None,
        ));
    }

    rep.section(5);
    for (elems, label) in [(8 << 10, "64 KiB"), (1 << 20, "8 MiB")] {
        let rows = per_run(cfg, "array", || {
            inproc::array_read(cfg, cfg.n(elems, elems.min(8 << 10)))
        });
        rep.row(Row::from_runs(
            format!("Array<u64>::read_into, {label}"),
            Unit::BytesPerSec,
            "memcpy from a private buffer",
            &rows,
            Some(Target::AtLeast(0.9)),
        ));
    }
    if cfg.numpy && cfg.wants("numpy") {
        match numpy::numpy_scan(cfg) {
            Ok(rows) => {
                rep.row(Row::from_runs(
                    "numpy scan of a Rust-written Array<Reading> (generated dtype), records/s",
                    Unit::PerSec,
                    "same scan of a private numpy copy",
                    &rows,
                    Some(Target::AtLeast(0.9)),
                ));
                rep.note(
                    "Scan: `value.sum()` and `count_nonzero(status == 2)` over the records, by \
                     `benches/numpy_scan.py` with the dtype of `benches/bench_types.py` (generated \
                     by zeroipc-gen's Python emitter; its fingerprint is checked against the Rust \
                     layout on every run).",
                );
            }
            Err(why) => rep.missing("numpy scan", &why),
        }
    } else {
        rep.missing("numpy scan", "--no-numpy");
    }

    rep.section(6);
    let rows = per_run(cfg, "segment", || inproc::segment_64(cfg));
    rep.row(Row::from_runs(
        "Segment create + 64 Array creates + open + 64 lookups + unlink",
        Unit::Us,
        "raw /dev/shm create+ftruncate+mmap, reopen+mmap, unlink",
        &rows,
        None,
    ));
    let rows = per_run(cfg, "segment", || inproc::segment_open_1024(cfg));
    rep.row(Row::from_runs(
        "Segment::open, 1024 entries",
        Unit::Us,
        "raw open+fstat+mmap+munmap",
        &rows,
        None,
    ));

    rep.section(7);
    if cfg.compile && cfg.wants("compile") {
        match compile::derive_compile(cfg) {
            Ok(runs) => {
                rep.row(Row::from_runs(
                    "cargo build of 100 structs with #[derive(ShmLayout)]",
                    Unit::Secs,
                    "same structs with bytemuck #[derive(Pod, Zeroable)]",
                    &runs.iter().map(|t| (t[0], t[1])).collect::<Vec<_>>(),
                    None,
                ));
                rep.row(Row::from_runs(
                    "derive's own share: ShmLayout crate minus plain crate",
                    Unit::Secs,
                    "Pod crate minus plain crate",
                    &runs
                        .iter()
                        .map(|t| (t[0] - t[2], t[1] - t[2]))
                        .collect::<Vec<_>>(),
                    None,
                ));
                rep.note(&format!(
                    "Plain crate (same structs, `#[derive(Clone, Copy)]` only): median {}. \
                     Debug profile, CARGO_INCREMENTAL=0, dependencies built beforehand; each \
                     figure is one `cargo build` of the crate after its source changed.",
                    fmt_value(
                        median(&runs.iter().map(|t| t[2]).collect::<Vec<_>>()),
                        Unit::Secs
                    )
                ));
            }
            Err(why) => rep.missing("derive compile time", &why),
        }
    } else {
        rep.missing(
            "derive compile time",
            if cfg.tiny {
                "skipped in --tiny"
            } else {
                "--no-compile"
            },
        );
    }

    rep.section(8);
    if cfg.wants("wakeup") {
        wakeup::report(cfg, &mut rep);
    } else {
        rep.missing("wake-up latency", "--only leaves it out");
    }

    rep.section(9);
    batch::report(cfg, &mut rep);

    rep.summary();
    rep.note(&format!(
        "Load average at end: {}. Total harness time: {:.1} s.",
        read("/proc/loadavg").trim(),
        started.elapsed().as_secs_f64()
    ));
    rep.out
}
