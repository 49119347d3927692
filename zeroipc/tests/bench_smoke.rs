//! Smoke test of the benchmark harness (`examples/bench_harness`), so it
//! cannot rot: runs it in `--tiny` mode, cross-process children included
//! (this test binary re-executes itself running the ignored `bench_child`
//! test), and checks that the report has every section, that every table
//! row carries a baseline and a ratio, and that the targets summary is
//! there. It asserts nothing about speed: the numbers of a tiny run at the
//! test profile's opt-level mean nothing.

#[path = "../examples/bench_harness/main.rs"]
#[allow(dead_code)]
mod harness;

use harness::util::{Cfg, Launcher, CHILD_ENV, SECTIONS};

#[test]
fn tiny_harness_run_reports_every_section() {
    let cfg = Cfg {
        tiny: true,
        runs: 2,
        launcher: Launcher {
            exe: std::env::current_exe().expect("test binary"),
            args: [
                "bench_child",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ]
            .map(String::from)
            .to_vec(),
        },
        compile: false,
        numpy: true,
        only: Vec::new(),
    };
    let report = harness::run(&cfg);

    let mut last = 0;
    for s in SECTIONS {
        let at = report
            .find(&format!("\n{s}\n"))
            .unwrap_or_else(|| panic!("section {s:?} missing from the report:\n{report}"));
        assert!(at >= last, "section {s:?} out of order:\n{report}");
        last = at;
    }
    // Every measured row: | what | value | baseline | baseline value | ratio | target |
    let rows: Vec<&str> = report
        .lines()
        .filter(|l| {
            l.starts_with("| ") && !l.starts_with("| measurement") && !l.starts_with("| section")
        })
        .collect();
    let measured: Vec<&&str> = rows.iter().filter(|l| l.split('|').count() == 8).collect();
    assert!(
        measured.len() >= 25,
        "expected at least 25 measured rows, got {}:\n{report}",
        measured.len()
    );
    for r in &measured {
        let cells: Vec<&str> = r.split('|').map(str::trim).collect();
        assert!(!cells[3].is_empty(), "row without a baseline: {r}");
        let ratio = cells[5].trim_end_matches('x');
        let ratio: f64 = ratio
            .parse()
            .unwrap_or_else(|_| panic!("row without a numeric ratio: {r}"));
        assert!(ratio.is_finite() && ratio > 0.0, "bad ratio in {r}");
    }
    for needle in [
        "floor: one-way hand-off",
        "Queue<u64> one-way latency",
        "Queue 1P/1C, threads",
        "Queue 2P/2C, processes",
        "Stack push+pop",
        "Pool<[u64; 8]> allocate+deallocate",
        "Map<u64,u64> erase, load 0.9",
        "Ring<u64> stream, 2 processes",
        "Channel<u64> unbuffered round trip",
        "Semaphore, contended by 2 processes",
        "Array<u64>::read_into",
        "Segment::open, 1024 entries",
        "| pipe, blocking read |",
        "| Queue pop_timeout (woken by push) |",
        "| Signal wait_for_change_timeout (woken by set) |",
        "Queue<u64> batches of 64, 1P/1C processes",
        "Queue<u64> batches of 64, 1P/1C threads",
        "derive compile time: not measured (skipped in --tiny)",
        "targets met in this run",
    ] {
        assert!(report.contains(needle), "{needle:?} missing:\n{report}");
    }
    assert!(report.contains("CPU model (/proc/cpuinfo):"), "{report}");
    // The numpy scan ran when python3 + numpy are here (CI installs numpy);
    // otherwise the report must say why it did not.
    assert!(
        report.contains("numpy scan of a Rust-written Array<Reading>")
            || report.contains("- numpy scan: not measured ("),
        "{report}"
    );
}

/// The body of every child process the harness starts during the test
/// above; does nothing when run on its own.
#[test]
#[ignore = "child process of tiny_harness_run_reports_every_section"]
fn bench_child() {
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        harness::xproc::child_main(&spec);
    }
}
