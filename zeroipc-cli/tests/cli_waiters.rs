//! The `zeroipc` binary on the waiter registry `__zeroipc_waiters` our
//! runtime adds to new segments (docs/FORMAT.md §12): the entry is listed
//! as our extension (never guessed), its header decoded; a thread blocked
//! in `Queue::pop_timeout` (or `push_timeout` on a full queue) shows as one
//! sleeper of that queue, in `show`, `get` and `check`; a damaged header is
//! reported with the values seen, never a crash; a segment without the
//! entry shows exactly what it did before; a sleeper process killed while
//! counted leaves its count raised, which `show` and `check` report.

#[path = "../../zeroipc/tests/common/mod.rs"]
mod common;
#[path = "cli_golden/support.rs"]
mod support;

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use support::*;
use zeroipc::{Queue, Segment, SegmentOptions, Stack};
use zeroipc_cli::inspect::source::View;
use zeroipc_cli::inspect::waiters;

fn find<'a>(list: &'a [Value], name: &str) -> &'a Value {
    list.iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no structure {name} in {list:#?}"))
}

/// `show --json` (with extra global options first).
fn show_json(shm: &Shm, extra: &[&str]) -> Value {
    let mut a: Vec<&str> = vec!["--json"];
    a.extend_from_slice(extra);
    a.extend_from_slice(&["show", &shm.name]);
    let r = run(&a);
    assert_eq!(r.code, 0, "{}", r.err);
    r.json()
}

/// Runs `show --json` until `want` holds for it, at most 30 s (a sleeper
/// is counted within milliseconds; the bound only stops a broken build
/// from hanging the suite).
fn show_until(shm: &Shm, what: &str, want: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        let j = show_json(shm, &[]);
        if want(&j) {
            return j;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "never saw {what}: {j:#}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn sleepers_of(j: &Value, name: &str) -> Value {
    find(j["structures"].as_array().unwrap(), name)["sleepers"].clone()
}

#[test]
fn the_registry_is_listed_as_ours_and_decoded() {
    let shm = Shm::named("wreg");
    let seg = SegmentOptions::new()
        .size(1 << 18)
        .max_entries(16)
        .create(&shm.name)
        .unwrap();
    let jobs = Queue::<u32>::create(&seg, "jobs", 8).unwrap();
    jobs.push(5).unwrap();
    let undo = Stack::<u64>::create(&seg, "undo", 4).unwrap();
    undo.push(9).unwrap();

    for backing in [&[][..], &["--no-map"][..]] {
        let j = show_json(&shm, backing);
        let list = j["structures"].as_array().unwrap();
        let names: Vec<&str> = list.iter().map(|s| s["name"].as_str().unwrap()).collect();
        assert_eq!(
            names,
            ["__zeroipc_kinds", "__zeroipc_waiters", "jobs", "undo"],
            "{backing:?}"
        );
        let w = find(list, waiters::ENTRY);
        assert_eq!(w["kind"], "waiter_registry", "{w:#}");
        assert_eq!(w["certain"], true, "{w:#}");
        assert_eq!(w["basis"], "waiter-registry", "{w:#}");
        assert_eq!(w["alternatives"], json!([]), "{w:#}");
        assert!(w["error"].is_null(), "{w:#}");
        assert_eq!(w["size"], 16 + 8 * 16, "{w:#}");
        assert_eq!(w["capacity"], 16, "one slot per table slot: {w:#}");
        assert_eq!(w["summary"], "sleeper counts: 16 slots, 0 nonzero");
        assert_eq!(
            j["waiters"],
            json!({"valid": true, "slots": 16, "nonzero_slots": 0,
                   "asleep_for_items": 0, "asleep_for_room": 0, "error": null})
        );
        for s in list {
            assert_eq!(s["sleepers"], json!({"items": 0, "room": 0}), "{s:#}");
        }
        assert_eq!(find(list, "jobs")["fill"], 1);
    }

    let t = run(&["show", &shm.name]);
    assert_eq!(t.code, 0, "{}", t.err);
    assert!(
        t.out.lines().any(|l| l.starts_with("waiters ")
            && l.ends_with(
                "__zeroipc_waiters: 16 slots, 0 nonzero (0 asleep for an item, 0 for room); \
                 our blocked calls sleep on futexes"
            )),
        "{}",
        t.out
    );
    let row = t
        .out
        .lines()
        .find(|l| l.starts_with("__zeroipc_waiters "))
        .unwrap_or_else(|| panic!("{}", t.out));
    assert!(row.contains(" waiter_registry "), "{row}");
    assert!(!row.contains('?'), "not a guess: {row}");
    assert!(!t.out.contains("sleepers:"), "nobody asleep: {}", t.out);

    let g = run(&["--json", "get", &shm.name, waiters::ENTRY]);
    assert_eq!(g.code, 0, "{}", g.err);
    let g = g.json();
    assert_eq!(g["fields"]["version"], 1);
    assert_eq!(g["fields"]["slots"], 16);
    assert_eq!(g["fields"]["reserved"], 0);
    assert_eq!(g["problems"], json!([]));
    assert_eq!(g["contents"]["total"], 16);
    let items = g["contents"]["items"].as_array().unwrap();
    assert_eq!(items.len(), 16);
    for (i, it) in items.iter().enumerate() {
        assert_eq!(it["index"], i as u64);
        assert_eq!(it["value"], json!({"items": 0, "room": 0}));
    }

    let c = run(&["check", &shm.name]);
    assert_eq!(c.code, 0, "{}{}", c.out, c.err);
    assert!(
        c.out.ends_with("sound (4 structures checked)\n"),
        "{}",
        c.out
    );
    assert!(!c.out.contains("asleep"), "{}", c.out);
    drop(seg);
}

#[test]
fn a_blocked_pop_and_a_blocked_push_show_as_sleepers() {
    let shm = Shm::named("wlive");
    let seg = SegmentOptions::new()
        .size(1 << 18)
        .max_entries(16)
        .create(&shm.name)
        .unwrap();
    let jobs = Queue::<u32>::create(&seg, "jobs", 2).unwrap();
    let full = Queue::<u32>::create(&seg, "full", 1).unwrap();
    // Filled to its real capacity (the runtime may round it up).
    let mut stored = 0u32;
    while full.push(stored + 1).is_ok() {
        stored += 1;
    }
    assert!(stored >= 1);

    // A consumer blocked on the empty queue.
    let consumer = {
        let q = Queue::<u32>::open(&seg, "jobs").unwrap();
        std::thread::spawn(move || q.pop_timeout(Duration::from_secs(60)))
    };
    let j = show_until(&shm, "jobs counted asleep for an item", |j| {
        sleepers_of(j, "jobs")["items"] == 1
    });
    assert_eq!(sleepers_of(&j, "jobs"), json!({"items": 1, "room": 0}));
    assert_eq!(sleepers_of(&j, "full"), json!({"items": 0, "room": 0}));
    assert_eq!(j["waiters"]["nonzero_slots"], 1, "{:#}", j["waiters"]);
    assert_eq!(j["waiters"]["asleep_for_items"], 1, "{:#}", j["waiters"]);

    // The registry's slot of `jobs` (table slot 2, after the runtime's
    // two entries) is the one with the count.
    let names: Vec<&str> = j["structures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["__zeroipc_kinds", "__zeroipc_waiters", "jobs", "full"]
    );
    let start = Instant::now();
    let counts = loop {
        let g = run(&["--json", "get", &shm.name, waiters::ENTRY]).json();
        let counts: Vec<Value> = g["contents"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["value"].clone())
            .collect();
        if counts[2] == json!({"items": 1, "room": 0}) {
            break counts;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "{g:#}");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(counts.len(), 16);
    for (i, c) in counts.iter().enumerate() {
        if i != 2 {
            assert_eq!(*c, json!({"items": 0, "room": 0}), "slot {i}");
        }
    }

    // Human forms: a line under show's table, a row in get, a note in check.
    let t = show_until_text(
        &shm,
        "sleepers: jobs: 1 asleep waiting for an item, 0 waiting for room",
    );
    assert!(!t.contains("sleepers: full"), "{t}");
    let r = run_until(
        &["get", &shm.name, "jobs"],
        "1 asleep waiting for an item, 0 waiting for room (waiter registry)",
    );
    assert!(r.lines().any(|l| l.starts_with("sleepers ")), "{r}");
    let r = run_until(
        &["check", &shm.name],
        "note: jobs: 1 asleep waiting for an item, 0 waiting for room (a count with nobody asleep",
    );
    assert!(r.ends_with("sound (4 structures checked)\n"), "{r}");
    let w = run_until(
        &["watch", &shm.name, "jobs", "--count", "1"],
        "  asleep: 1 for an item, 0 for room",
    );
    assert!(w.contains("  jobs  queue  0 of "), "{w}");
    let w = run_until(
        &["--json", "watch", &shm.name, "jobs", "--count", "1"],
        r#""sleepers":{"items":1,"room":0}"#,
    );
    assert!(w.contains(r#""kind":"queue""#), "{w}");

    // The item wakes it; the count goes back to zero.
    jobs.push(42).unwrap();
    assert_eq!(consumer.join().unwrap().unwrap(), 42);
    let j = show_json(&shm, &[]);
    assert_eq!(sleepers_of(&j, "jobs"), json!({"items": 0, "room": 0}));
    assert_eq!(j["waiters"]["nonzero_slots"], 0);

    // A producer blocked on the full queue counts for room.
    let producer = {
        let q = Queue::<u32>::open(&seg, "full").unwrap();
        std::thread::spawn(move || q.push_timeout(0, Duration::from_secs(60)).is_ok())
    };
    let j = show_until(&shm, "full counted asleep for room", |j| {
        sleepers_of(j, "full")["room"] == 1
    });
    assert_eq!(sleepers_of(&j, "full"), json!({"items": 0, "room": 1}));
    assert_eq!(sleepers_of(&j, "jobs"), json!({"items": 0, "room": 0}));
    assert_eq!(full.pop(), Some(1));
    assert!(producer.join().unwrap());
    let rest: Vec<u32> = std::iter::from_fn(|| full.pop()).collect();
    let want: Vec<u32> = (2..=stored).chain([0]).collect();
    assert_eq!(rest, want, "the blocked push's value last");
    let j = show_json(&shm, &[]);
    assert_eq!(j["waiters"]["nonzero_slots"], 0, "{:#}", j["waiters"]);
    drop(seg);
}

/// Runs `show` until its output has the line `line`, at most 30 s.
fn show_until_text(shm: &Shm, line: &str) -> String {
    run_until(&["show", &shm.name], line)
}

/// Runs `zeroipc args` until stdout contains `text`, at most 30 s (the
/// count a sleeper raises drops for an instant between its sleeps).
fn run_until(args: &[&str], text: &str) -> String {
    let start = Instant::now();
    loop {
        let r = run(args);
        if r.out.contains(text) {
            return r.out;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "never saw {text:?} in {args:?}:\n{}{}",
            r.out,
            r.err
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Overwrites 4 bytes of the segment file at `offset`.
fn poke_u32(shm: &Shm, offset: u64, v: u32) {
    use std::os::unix::fs::FileExt;
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(shm.path())
        .unwrap();
    f.write_all_at(&v.to_le_bytes(), offset).unwrap();
}

#[test]
fn a_damaged_registry_header_is_reported_not_a_crash() {
    let cases: [(u64, u32, &str); 4] = [
        (
            0,
            0x5750_4958,
            "magic 0x57504958, expected 0x5750495a (\"ZIPW\")",
        ),
        (4, 7, "version 7, expected 1"),
        (8, 9, "9 slots need 88 bytes, but the entry has 80"),
        (8, u32::MAX, "4294967295 slots need"),
    ];
    for (field, value, want) in cases {
        let shm = Shm::named("wbad");
        let seg = SegmentOptions::new()
            .size(1 << 16)
            .max_entries(8)
            .create(&shm.name)
            .unwrap();
        Queue::<u32>::create(&seg, "jobs", 4).unwrap();
        let off = find(
            show_json(&shm, &[])["structures"].as_array().unwrap(),
            waiters::ENTRY,
        )["offset"]
            .as_u64()
            .unwrap();
        poke_u32(&shm, off + field, value);

        for backing in [&[][..], &["--no-map"][..]] {
            let j = show_json(&shm, backing);
            assert_eq!(j["waiters"]["valid"], false, "{want}: {:#}", j["waiters"]);
            let err = j["waiters"]["error"].as_str().unwrap();
            assert!(err.contains(want), "{err} / {want}");
            let list = j["structures"].as_array().unwrap();
            let w = find(list, waiters::ENTRY);
            assert_eq!(w["kind"], "waiter_registry", "never guessed: {w:#}");
            assert!(w["error"].as_str().unwrap().contains(want), "{w:#}");
            // Without a registry the runtime uses, no counts are shown.
            assert!(
                list.iter().all(|s| s.get("sleepers").is_none()),
                "{list:#?}"
            );
            assert_eq!(find(list, "jobs")["kind"], "queue");
        }
        let t = run(&["show", &shm.name]);
        assert_eq!(t.code, 0, "{}", t.err);
        assert!(
            t.out
                .contains(&format!("__zeroipc_waiters damaged ({want}"))
                && t.out
                    .contains("the runtime ignores it, our blocked calls poll"),
            "{}",
            t.out
        );
        let c = run(&["check", &shm.name]);
        assert_eq!(c.code, 1, "{}{}", c.out, c.err);
        assert!(
            c.out.lines().any(|l| l.contains(waiters::ENTRY)
                && l.contains("header does not fit")
                && l.contains(want)),
            "{}",
            c.out
        );
        let g = run(&["get", &shm.name, waiters::ENTRY]);
        assert_eq!(g.code, 1, "{}{}", g.out, g.err);
        assert!(g.err.contains(want), "{}", g.err);
        drop(seg);
    }
}

#[test]
fn a_nonzero_reserved_word_is_a_problem_and_counts_still_show() {
    let shm = Shm::named("wres");
    let seg = SegmentOptions::new()
        .size(1 << 16)
        .max_entries(8)
        .create(&shm.name)
        .unwrap();
    Queue::<u32>::create(&seg, "jobs", 4).unwrap();
    let j = show_json(&shm, &[]);
    let off = find(j["structures"].as_array().unwrap(), waiters::ENTRY)["offset"]
        .as_u64()
        .unwrap();
    poke_u32(&shm, off + 12, 0xABCD);
    // A count left in a slot no entry uses (slot 7 of 8; 3 entries in use).
    poke_u32(&shm, off + 16 + 8 * 7 + 4, 2);
    let j = show_json(&shm, &[]);
    assert_eq!(j["waiters"]["valid"], true);
    assert_eq!(j["waiters"]["nonzero_slots"], 1);
    assert_eq!(j["waiters"]["asleep_for_room"], 2);
    assert_eq!(sleepers_of(&j, "jobs"), json!({"items": 0, "room": 0}));
    let c = run(&["check", &shm.name]);
    assert_eq!(c.code, 1, "{}", c.out);
    assert!(
        c.out.contains("reserved header word is 0xabcd, expected 0"),
        "{}",
        c.out
    );
    assert!(
        c.out.contains(
            "note: __zeroipc_waiters: slot 7 counts 0 asleep for an item and 2 for room, \
             but no entry in use has that slot"
        ),
        "{}",
        c.out
    );
    drop(seg);
}

#[test]
fn fewer_slots_than_table_slots_is_a_problem() {
    let shm = Shm::named("wslots");
    let seg = SegmentOptions::new()
        .size(1 << 16)
        .max_entries(8)
        .create(&shm.name)
        .unwrap();
    Queue::<u32>::create(&seg, "jobs", 4).unwrap();
    let j = show_json(&shm, &[]);
    let off = find(j["structures"].as_array().unwrap(), waiters::ENTRY)["offset"]
        .as_u64()
        .unwrap();
    // `jobs` is table slot 2: with 2 slots it has none.
    poke_u32(&shm, off + 8, 2);
    let j = show_json(&shm, &[]);
    assert_eq!(j["waiters"]["slots"], 2);
    let list = j["structures"].as_array().unwrap();
    assert!(find(list, "jobs").get("sleepers").is_none(), "{list:#?}");
    assert_eq!(
        find(list, "__zeroipc_kinds")["sleepers"],
        json!({"items": 0, "room": 0})
    );
    let c = run(&["check", &shm.name]);
    assert_eq!(c.code, 1, "{}", c.out);
    assert!(
        c.out.contains(
            "__zeroipc_waiters: waiter_registry: 2 slots, but the table has max_entries 8 \
             (one slot per table slot; structures in slots 2 and up have no counts and poll)"
        ),
        "{}",
        c.out
    );
    drop(seg);
}

#[test]
fn segments_without_the_registry_are_shown_as_before() {
    let shm = Shm::named("wnone");
    let seg = SegmentOptions::new()
        .size(1 << 16)
        .wake_registry(false)
        .create(&shm.name)
        .unwrap();
    Queue::<u32>::create(&seg, "jobs", 4).unwrap();
    let j = show_json(&shm, &[]);
    assert!(j.get("waiters").is_none(), "{j:#}");
    let list = j["structures"].as_array().unwrap();
    let names: Vec<&str> = list.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["__zeroipc_kinds", "jobs"]);
    assert!(
        list.iter().all(|s| s.get("sleepers").is_none()),
        "{list:#?}"
    );
    let t = run(&["show", &shm.name]);
    assert!(!t.out.contains("waiters"), "{}", t.out);
    assert!(!t.out.contains("sleepers"), "{}", t.out);
    let g = run(&["get", &shm.name, "jobs"]);
    assert_eq!(g.code, 0, "{}", g.err);
    assert!(!g.out.contains("sleepers"), "{}", g.out);
    for json in [&[][..], &["--json"][..]] {
        let mut a = json.to_vec();
        a.extend_from_slice(&["watch", &shm.name, "jobs", "--count", "1"]);
        let w = run(&a);
        assert_eq!(w.code, 0, "{}", w.err);
        assert!(w.out.contains("jobs"), "{}", w.out);
        assert!(
            !w.out.contains("asleep") && !w.out.contains("sleepers"),
            "{}",
            w.out
        );
    }
    // A reference library's image has none either (golden vectors).
    let v = Shm::vector("queues.bin");
    let j = show_json(&v, &[]);
    assert!(j.get("waiters").is_none(), "{j:#}");
    drop(seg);
}

#[test]
fn read_names_the_values_of_a_short_entry() {
    let e = waiters::read(&View::from_bytes(waiters::ENTRY, vec![0; 8])).unwrap_err();
    assert_eq!(e, "entry of 8 bytes, smaller than the 16-byte header");
    let mut b = Vec::new();
    for w in [0x5750_495Au32, 1, 0, 0] {
        b.extend_from_slice(&w.to_le_bytes());
    }
    let r = waiters::read(&View::from_bytes(waiters::ENTRY, b)).unwrap();
    assert_eq!((r.slots, r.nonzero(), r.totals()), (0, 0, (0, 0)));
}

/// Worker of [`a_sleeper_killed_while_counted_leaves_its_count`]: blocks
/// in `pop_timeout` on the queue `jobs` of segment `$SEG` until killed.
#[test]
#[ignore = "worker process of a_sleeper_killed_while_counted_leaves_its_count"]
fn worker_blocked_pop() {
    if !common::is_child() {
        return;
    }
    let seg = Segment::open(&common::env_var("SEG")).unwrap();
    let q = Queue::<u32>::open(&seg, "jobs").unwrap();
    let got = q.pop_timeout(Duration::from_secs(120));
    println!("RESULT {got:?}");
}

#[test]
fn a_sleeper_killed_while_counted_leaves_its_count() {
    let shm = Shm::named("wdead");
    let seg = SegmentOptions::new()
        .size(1 << 16)
        .max_entries(8)
        .create(&shm.name)
        .unwrap();
    let jobs = Queue::<u32>::create(&seg, "jobs", 4).unwrap();
    // The count is lowered for an instant between two bounded sleeps: a
    // kill landing there leaves 0, so retry (bounded) until one lands
    // while counted.
    let mut left = Value::Null;
    for _ in 0..20 {
        let mut child = common::spawn_worker("worker_blocked_pop", &[("SEG", shm.name.clone())]);
        show_until(&shm, "the child counted asleep", |j| {
            sleepers_of(j, "jobs")["items"] == 1
        });
        child.kill().unwrap();
        let status = child.wait().unwrap();
        assert!(!status.success(), "killed: {status:?}");
        left = sleepers_of(&show_json(&shm, &[]), "jobs");
        if left["items"] == 1 {
            break;
        }
    }
    assert_eq!(
        left,
        json!({"items": 1, "room": 0}),
        "never killed while counted"
    );
    // Nobody sleeps, yet the count stays (the kill was the last change):
    // every tool still reports it, and the queue still works (each push
    // now makes one needless wake-up call).
    let t = run(&["show", &shm.name]);
    assert!(
        t.out
            .contains("sleepers: jobs: 1 asleep waiting for an item, 0 waiting for room"),
        "{}",
        t.out
    );
    let c = run(&["check", &shm.name]);
    assert_eq!(c.code, 0, "a stale count is not a problem: {}", c.out);
    assert!(
        c.out.contains("note: jobs: 1 asleep waiting for an item")
            && c.out.contains("left by a sleeper that died"),
        "{}",
        c.out
    );
    jobs.push(7).unwrap();
    assert_eq!(jobs.pop(), Some(7));
    assert_eq!(
        sleepers_of(&show_json(&shm, &[]), "jobs"),
        json!({"items": 1, "room": 0})
    );
    drop(seg);
}
