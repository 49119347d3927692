//! Issue 11 §1: every operation that fails without blocking or times out
//! leaves every byte of the segment unchanged and the other party's state
//! intact. The other party here is a second handle in this process, on its
//! own mapping of the segment; `failed_ops_mp.rs` runs the same table with
//! a child process as the other party. The table is in
//! `common/failed_ops_cases.rs`.

mod common;
#[path = "common/failed_ops_cases.rs"]
mod failed_ops_cases;

use common::{unique_name, TempSeg};
use failed_ops_cases::{cases, judge, summary, Case, Snapshots, Verdict, SEGMENT_SIZE};
use std::time::Instant;
use zeroipc::Segment;

/// Runs one case on a fresh segment; `Err` describes what went wrong.
fn run_case(case: &Case) -> Result<Verdict, String> {
    let t = TempSeg {
        name: unique_name("failed_ops"),
    };
    let theirs = Segment::create(&t.name, SEGMENT_SIZE).map_err(|e| format!("create: {e}"))?;
    let held = (case.setup)(&theirs).map_err(|e| format!("setup: {e}"))?;
    // Our side: a second mapping of the same segment, as another process has.
    let ours = Segment::open(&t.name).map_err(|e| format!("open: {e}"))?;
    let before_prepare = t.bytes();
    let op = (case.prepare)(&ours).map_err(|e| format!("prepare: {e}"))?;
    let before_op = t.bytes();
    let start = Instant::now();
    let outcome = op(); // consumes the closure: our handles are dropped
    let took = start.elapsed();
    let after_op = t.bytes();
    let snaps = Snapshots {
        before_prepare,
        before_op,
        after_op,
    };
    let verdict = judge(case, &theirs, &snaps, &outcome, took);
    // The other party checks and releases even if the bytes were wrong, so
    // that both problems are reported and no thread is left waiting.
    let checked = (case.check)(&theirs, held);
    match (verdict, checked) {
        (Ok(v), Ok(())) => {
            println!(
                "ok   {:<70} {} in {took:?}",
                case.label(),
                outcome.unwrap_or_default()
            );
            Ok(v)
        }
        (Ok(_), Err(e)) => Err(format!("other party's state: {e}")),
        (Err(e), Ok(())) => Err(e),
        (Err(e), Err(c)) => Err(format!("{e}; other party's state: {c}")),
    }
}

#[test]
fn failed_operations_change_no_byte_and_leave_the_holder_intact() {
    let table = cases();
    let mut verdicts = Vec::new();
    let mut failures = Vec::new();
    for (i, case) in table.iter().enumerate() {
        match run_case(case) {
            Ok(v) => verdicts.push((i, v)),
            Err(e) => failures.push(format!("{}: {e}", case.label())),
        }
    }
    println!("failed_ops (in-process): {}", summary(&table, &verdicts));
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        table.len(),
        failures.join("\n")
    );
    assert_eq!(verdicts.len(), table.len());
}
