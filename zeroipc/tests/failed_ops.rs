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

/// Eager combinators: their argument is evaluated even when it is not used.
const EAGER: &[&str] = &[
    ".then_some(",
    ".unwrap_or(",
    ".ok_or(",
    ".map_or(",
    ".or(",
    ".and(",
    ".xor(",
    ".get_or_insert(",
];

/// Calls that take a lock or register a party (their values release on drop).
const GUARD_CALLS: &[&str] = &[
    "lock(",
    "lock_timeout(",
    "read_timeout(",
    "write_timeout(",
    "try_read(",
    "try_write(",
    "subscribe(",
];

/// The names of the types with a `Drop` impl in `src`.
fn drop_types(sources: &[(String, String)]) -> Vec<String> {
    let mut names: Vec<String> = sources
        .iter()
        .flat_map(|(_, text)| text.lines())
        .filter_map(|l| {
            let rest = l.split("Drop for ").nth(1)?;
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            (!name.is_empty()).then_some(name)
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The text of the call's argument list starting just after `(` at `open`,
/// up to the matching `)`.
fn argument(text: &str, open: usize) -> &str {
    let mut depth = 1usize;
    for (i, c) in text[open..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return &text[open..open + i];
                }
            }
            _ => {}
        }
    }
    &text[open..]
}

/// Every `file:line: combinator(argument)` where the argument builds a value
/// of a Drop type or takes a guard.
fn eager_guard_sites(sources: &[(String, String)], drop_types: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    for (file, text) in sources {
        for comb in EAGER {
            for (at, _) in text.match_indices(comb) {
                let arg = argument(text, at + comb.len());
                let builds_drop_value = drop_types.iter().any(|t| {
                    arg.match_indices(t.as_str()).any(|(i, _)| {
                        let before = arg[..i].chars().last();
                        let after = arg[i + t.len()..].trim_start();
                        !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
                            && (after.starts_with('{')
                                || after.starts_with("::")
                                || after.starts_with('('))
                    })
                });
                let takes_guard = GUARD_CALLS.iter().any(|g| arg.contains(g));
                if builds_drop_value || takes_guard {
                    let line = text[..at].matches('\n').count() + 1;
                    found.push(format!("{file}:{line}: {comb}{})", arg.trim()));
                }
            }
        }
    }
    found
}

/// Issue 11 §1, the audit as a test: no value with a `Drop` impl (a guard
/// whose drop unlocks, a counter that decrements, ...) and no guard-taking
/// call is written inside an eagerly evaluated combinator argument in
/// `zeroipc/src` (`cond.then_some(Guard { .. })` builds and drops the guard
/// even when `cond` is false). Comments are scanned too; none match today.
#[test]
fn no_drop_value_is_built_inside_an_eager_combinator() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut sources = Vec::new();
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                let shown = path.strip_prefix(&root).unwrap().display().to_string();
                sources.push((shown, text));
            }
        }
    }
    let types = drop_types(&sources);
    for must in ["MutexGuard", "RwLockReadGuard", "MonitorGuard"] {
        assert!(
            types.iter().any(|t| t == must),
            "{must} not found among {types:?}"
        );
    }
    // The scanner finds the bug it is for: the three sites before commit 232dece.
    let before_fix: Vec<(String, String)> = [
        "self.try_lock_raw().then_some(MutexGuard { mutex: self })",
        "self.mtx\n    .try_lock_raw()\n    .then_some(MonitorGuard { monitor: self })",
        "ok.then_some(RwLockReadGuard { lock: self })",
    ]
    .iter()
    .map(|code| ("before 232dece".to_owned(), code.to_string()))
    .collect();
    assert_eq!(eager_guard_sites(&before_fix, &types).len(), 3);
    let sites = eager_guard_sites(&sources, &types);
    println!(
        "scanned {} files of zeroipc/src for {} Drop types and {} guard calls inside {} eager combinators: {} sites",
        sources.len(),
        types.len(),
        GUARD_CALLS.len(),
        EAGER.len(),
        sites.len()
    );
    assert!(
        sites.is_empty(),
        "eagerly built Drop values:\n{}",
        sites.join("\n")
    );
}
