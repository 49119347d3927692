//! What the `zeroipc` binary accepts and how it behaves as a Unix tool:
//! hex and decimal `--offset`/`--bytes`, a reader that closes the pipe
//! early (`zeroipc ... | head`), the `zeroipc: error:` prefix on every
//! usage error (clap's included), `--type K,V` on something that is not a
//! map, long FILL text cut in tables (not in JSON), and singular/plural in
//! `check`'s last line.

#[path = "cli_golden/support.rs"]
mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::*;
use zeroipc::{Map, Queue, Segment, SegmentOptions, Semaphore, Signal};

/// A segment without the runtime's self-description entry: these tests are
/// about guessed kinds and structure counts (cli_described covers it).
fn plain_segment(shm: &Shm) -> Segment {
    SegmentOptions::new()
        .size(1 << 16)
        // Only the test's structures: no entry of the runtime's own.
        .self_describing(false)
        .wake_registry(false)
        .create(&shm.name)
        .unwrap()
}

#[test]
fn dump_offset_and_bytes_accept_hex_and_decimal() {
    let seg = Shm::vector("queues.bin");
    let hex = run(&["dump", &seg.name, "--offset", "0x320", "--bytes", "0x20"]);
    assert_eq!(hex.code, 0, "{}", hex.err);
    let dec = run(&["dump", &seg.name, "--offset", "800", "--bytes", "32"]);
    assert_eq!(dec.code, 0, "{}", dec.err);
    assert_eq!(hex.out, dec.out);
    let lines: Vec<&str> = hex.out.lines().collect();
    assert_eq!(
        lines[1],
        "00000320  02 00 00 00 06 00 00 00  08 00 00 00 04 00 00 00  |................|"
    );
    assert_eq!(lines.len(), 4, "{}", hex.out);
    // Relative to an entry, upper-case prefix.
    let q = run(&["dump", &seg.name, "q", "--offset", "0X10", "--bytes", "16"]);
    assert_eq!(q.code, 0, "{}", q.err);
    assert!(
        q.out
            .contains("00000010  01 00 00 00 02 00 00 00  03 00 00 00 04 00 00 00"),
        "{}",
        q.out
    );
    for bad in ["0xzz", "-5", "c20", "0x"] {
        let r = run(&["dump", &seg.name, &format!("--offset={bad}")]);
        assert_eq!(r.code, 2, "{bad}: {}", r.out);
        assert!(r.out.is_empty(), "{bad}: {}", r.out);
        assert!(
            r.err.starts_with("zeroipc: error: ") && r.err.contains("hex like 0xc20"),
            "{bad}: {}",
            r.err
        );
    }
}

/// Runs `zeroipc args`, reads one line of its output, closes the pipe, and
/// returns the exit status and standard error.
fn read_one_line_then_close(args: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new(bin())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    assert!(!first.is_empty(), "{args:?}: no output");
    drop(out);
    // Generous bound: the child only has to notice the closed pipe.
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("{args:?}: still running 20 s after its reader closed the pipe");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    (status.code(), err)
}

#[test]
fn a_closed_pipe_ends_quietly_with_status_0() {
    let shm = Shm::named("pipe");
    let seg = Segment::create(&shm.name, 4 << 20).unwrap();
    let q = Queue::<u32>::create(&seg, "jobs", 8).unwrap();
    q.push(1).unwrap();
    // About 17 MB of hex dump: far more than a pipe buffers, so the
    // writer is blocked in a write when the reader goes away.
    let (code, err) = read_one_line_then_close(&["dump", &shm.name, "--bytes", "0"]);
    assert_eq!((code, err.as_str()), (Some(0), ""));
    // `watch` without --count writes forever: the closed pipe stops it.
    let (code, err) = read_one_line_then_close(&["watch", &shm.name, "jobs", "--interval", "10"]);
    assert_eq!((code, err.as_str()), (Some(0), ""));
    // JSON goes through serde's writer: the same.
    let (code, err) = read_one_line_then_close(&["--json", "dump", &shm.name, "--bytes", "0"]);
    assert_eq!((code, err.as_str()), (Some(0), ""));
    drop(seg);
}

#[test]
fn usage_errors_have_the_documented_prefix() {
    let seg = Shm::vector("arrays.bin");
    let r = run(&[]);
    assert_eq!(r.code, 2, "{}", r.out);
    assert!(
        r.err.starts_with("zeroipc: error: no command given\n") && r.err.contains("Usage:"),
        "{}",
        r.err
    );
    for args in [
        vec!["frobnicate"],
        vec!["get", seg.name.as_str()],
        vec!["show"],
        vec!["dump", seg.name.as_str(), "--bytes", "lots"],
        vec!["show", seg.name.as_str(), "--colour"],
        vec!["watch", seg.name.as_str(), "x", "--count", "-1"],
        vec!["get", seg.name.as_str(), "counts", "--range", "5..2"],
        vec!["get", seg.name.as_str(), "counts", "--type", "i33"],
        vec!["create", "/zcli_never", "--size", "1 parsec"],
    ] {
        let r = run(&args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.err);
        assert!(r.out.is_empty(), "{args:?}: {}", r.out);
        assert!(
            r.err.starts_with("zeroipc: error: "),
            "{args:?}: {:?}",
            r.err
        );
        assert!(!r.err.contains("error: error:"), "{args:?}: {}", r.err);
    }
    for args in [vec!["--help"], vec!["--version"], vec!["dump", "--help"]] {
        let r = run(&args);
        assert_eq!(r.code, 0, "{args:?}: {}", r.err);
        assert!(r.err.is_empty() && !r.out.is_empty(), "{args:?}");
    }
}

#[test]
fn a_key_value_type_on_a_non_map_suggests_kind_map() {
    let shm = Shm::named("kv");
    let seg = plain_segment(&shm);
    let q = Queue::<u64>::create(&seg, "jobs", 32).unwrap();
    q.push(5).unwrap();
    Semaphore::create(&seg, "s16", 2, 0).unwrap();
    let m = Map::<u32, f64>::create(&seg, "m", 16).unwrap();
    assert!(m.insert(7, 2.5).is_stored());

    let r = run(&["get", &shm.name, "jobs", "--type", "u32,f64"]);
    assert_eq!(r.code, 2, "{}", r.out);
    assert!(
        r.err.starts_with("zeroipc: error: ")
            && r.err.contains("jobs is a queue")
            && r.err.contains("add --kind map"),
        "{}",
        r.err
    );
    let r = run(&["get", &shm.name, "s16", "--type", "u32,f64"]);
    assert_eq!(r.code, 2, "{}", r.out);
    assert!(
        r.err.contains("s16 is guessed to be a semaphore") && r.err.contains("add --kind map"),
        "{}",
        r.err
    );
    // A record's commas are inside braces: an ordinary element type.
    let r = run(&["get", &shm.name, "jobs", "--type", "{a: u32, b: u32}"]);
    assert_eq!(r.code, 0, "{}", r.err);
    // On the map itself the pair is what it needs.
    let r = run(&["--json", "get", &shm.name, "m", "--type", "u32,f64"]);
    assert_eq!(r.code, 0, "{}", r.err);
    let j = r.json();
    assert_eq!(j["kind"], "map");
    assert_eq!(j["contents"]["items"][0]["key"], 7);
    assert_eq!(j["contents"]["items"][0]["value"], 2.5);
    drop(seg);
}

#[test]
fn long_fill_text_is_cut_in_tables_but_not_in_json() {
    let shm = Shm::named("longfill");
    let seg = plain_segment(&shm);
    let sig = Signal::<[u32; 32]>::create(&seg, "wide", [0; 32]).unwrap();
    let mut v = [0u32; 32];
    for (i, x) in v.iter_mut().enumerate() {
        *x = 0x0101_0101 * (i as u32 + 1);
    }
    sig.set(v).unwrap();
    let j = run(&["--json", "show", &shm.name]).json();
    let full = j["structures"][0]["summary"].as_str().unwrap().to_owned();
    assert!(full.len() > 200, "{full}");
    let t = run(&["show", &shm.name]);
    assert_eq!(t.code, 0, "{}", t.err);
    let row = t
        .out
        .lines()
        .find(|l| l.starts_with("wide "))
        .unwrap_or_else(|| panic!("{}", t.out));
    let fill = &row[row.find("version").unwrap()..];
    assert!(fill.ends_with("..."), "{row}");
    assert!(fill.chars().count() <= 40, "{} chars: {fill}", fill.len());
    assert!(
        full.starts_with(fill.trim_end_matches("...")),
        "{fill} / {full}"
    );
    assert!(t.out.lines().all(|l| l.len() < 120), "{}", t.out);
    drop(seg);
}

#[test]
fn check_counts_structures_in_the_singular_and_plural() {
    let shm = Shm::named("plural");
    let seg = plain_segment(&shm);
    Queue::<u32>::create(&seg, "one", 4).unwrap();
    let r = run(&["check", &shm.name]);
    assert_eq!(r.code, 0, "{}", r.out);
    assert!(
        r.out
            .ends_with(&format!("{}: sound (1 structure checked)\n", shm.name)),
        "{}",
        r.out
    );
    Queue::<u32>::create(&seg, "two", 4).unwrap();
    let r = run(&["check", &shm.name]);
    assert!(
        r.out
            .ends_with(&format!("{}: sound (2 structures checked)\n", shm.name)),
        "{}",
        r.out
    );
    drop(seg);
}
