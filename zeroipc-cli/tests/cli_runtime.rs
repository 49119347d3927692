//! The `zeroipc` binary against segments made by this project's runtime:
//! every structure kind is recognised (composites once, with their parts),
//! decoded values equal what the runtime wrote, `check` finds them sound,
//! `watch` follows a live structure, and every `--json` output has the
//! documented keys (docs/CLI.md).

#[path = "cli_golden/support.rs"]
mod support;

use serde_json::Value;
use support::*;
use zeroipc::{
    Array, Barrier, Channel, Event, EventMode, Future, Latch, Lazy, Map, Mutex, Once, Pool, Queue,
    Ring, RwLock, Segment, SegmentOptions, Semaphore, Set, Signal, Stack, Stream, StreamVoid,
};

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

fn sorted(k: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = k.iter().map(|s| (*s).to_owned()).collect();
    v.sort();
    v
}

#[test]
fn every_runtime_structure_is_recognised_and_decoded() {
    let shm = Shm::named("rt");
    // Not self-describing: this test is about recognising structures from
    // their names and headers (cli_described covers recorded kinds).
    let seg = SegmentOptions::new()
        .size(1 << 20)
        .max_entries(64)
        .self_describing(false)
        .create(&shm.name)
        .unwrap();
    let temps = Array::<f64>::create(&seg, "temps", 4).unwrap();
    for i in 0..4 {
        temps.set(i, i as f64 * 0.25 + 20.0).unwrap();
    }
    let jobs = Queue::<u32>::create(&seg, "jobs", 16).unwrap();
    for i in 1..=5 {
        jobs.push(i).unwrap();
    }
    assert_eq!(jobs.pop(), Some(1));
    let undo = Stack::<i64>::create(&seg, "undo", 8).unwrap();
    for v in [-1i64, -2, -3] {
        undo.push(v).unwrap();
    }
    let squares = Map::<i32, i64>::create(&seg, "squares", 32).unwrap();
    for k in [-3i32, 4, 9, 1000] {
        let _ = squares.insert(k, (k as i64) * (k as i64));
    }
    let seen = Set::<u64>::create(&seg, "seen", 16).unwrap();
    for v in [5u64, 1 << 40] {
        let _ = seen.insert(v);
    }
    let nodes = Pool::<[u32; 4]>::create(&seg, "nodes", 6).unwrap();
    let h = nodes.allocate().unwrap().unwrap();
    nodes.set(h, [1, 2, 3, 4]).unwrap();
    let samples = Ring::<i16>::create(&seg, "samples", 8).unwrap();
    for v in [-7i16, 8, 9] {
        samples.write(v).unwrap();
    }
    let _sem = Semaphore::create(&seg, "sem", 3, 10).unwrap();
    let lock = Mutex::create(&seg, "lock").unwrap();
    let _bar = Barrier::create(&seg, "bar", 3).unwrap();
    Latch::create(&seg, "latch", 4)
        .unwrap()
        .count_down(1)
        .unwrap();
    Once::create(&seg, "init")
        .unwrap()
        .call_once(|| {})
        .unwrap();
    Event::create(&seg, "ready", EventMode::ManualReset)
        .unwrap()
        .signal()
        .unwrap();
    let rw = RwLock::create(&seg, "rw").unwrap();
    Signal::create(&seg, "level", 1.0f32)
        .unwrap()
        .set(2.5)
        .unwrap();
    assert!(Future::<i64>::create(&seg, "answer").unwrap().set_value(42));
    let _pi = Lazy::<f64>::constant(&seg, "pi", 3.25).unwrap();
    let ch = Channel::<u32>::create(&seg, "ch", 4).unwrap();
    ch.send(7).unwrap();
    ch.send(8).unwrap();
    let st = Stream::<i32>::create(&seg, "st", 8).unwrap();
    for v in [10, 11, 12] {
        st.emit(v).unwrap();
    }
    let ticks = StreamVoid::create(&seg, "ticks").unwrap();
    ticks.emit();
    ticks.emit();
    let _held = lock.lock().unwrap();
    let _r = rw.read().unwrap();

    let j = run(&["--json", "show", &shm.name]);
    assert_eq!(j.code, 0, "{}", j.err);
    let j = j.json();
    let by: std::collections::HashMap<String, Value> = j["structures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap().to_owned(), s.clone()))
        .collect();
    let expect = [
        ("temps", "array", false),
        ("jobs", "queue", true),
        ("undo", "stack", true),
        ("squares", "map", true),
        ("seen", "set", true),
        ("nodes", "pool", true),
        ("samples", "ring", true),
        ("sem", "semaphore", false),
        ("lock", "mutex", false),
        ("bar", "barrier", false),
        ("latch", "latch", false),
        ("init", "once", false),
        ("ready", "event", true),
        ("rw", "rwlock", true),
        ("level", "signal", true),
        ("answer", "future", false),
        ("pi", "lazy", false),
        ("ch", "channel", true),
        ("st", "stream", true),
        // The runtime's waiter registry (on by default): ours, by its name.
        ("__zeroipc_waiters", "waiter_registry", true),
    ];
    assert_eq!(by.len(), expect.len() + 1, "{:#?}", j["structures"]);
    assert_eq!(by["__zeroipc_waiters"]["basis"], "waiter-registry");
    assert_eq!(
        by["__zeroipc_waiters"]["capacity"], 64,
        "one slot per table slot"
    );
    assert_eq!(j["waiters"]["valid"], true, "{}", j["waiters"]);
    assert_eq!(j["waiters"]["slots"], 64);
    // Nobody sleeps: every structure's counts are zero.
    for (name, s) in &by {
        assert_eq!(
            s["sleepers"],
            serde_json::json!({"items": 0, "room": 0}),
            "{name}"
        );
    }
    // A Stream<void> is 16 bytes a semaphore can also be: it is offered.
    assert_eq!(by["ticks"]["kind"], "semaphore");
    assert!(by["ticks"]["alternatives"]
        .as_array()
        .unwrap()
        .contains(&Value::from("stream_void")));
    for (name, kind, certain) in expect {
        let s = &by[name];
        assert_eq!(s["kind"], kind, "{name}: {s}");
        assert_eq!(s["certain"], certain, "{name}: {s}");
    }
    assert_eq!(by["rw"]["parts"].as_array().unwrap().len(), 4);
    assert_eq!(by["ch"]["parts"][1]["name"], "ch_buffer");
    assert_eq!(by["jobs"]["fill"], 4);
    assert_eq!(by["lock"]["summary"], "locked, 0 waiting");
    assert_eq!(by["rw"]["summary"], "1 readers");

    let c = run(&["check", &shm.name]);
    assert_eq!(c.code, 0, "{}{}", c.out, c.err);

    let get = |name: &str, extra: &[&str]| -> Value {
        let mut a = vec!["--json", "get", shm.name.as_str(), name];
        a.extend_from_slice(extra);
        let r = run(&a);
        assert_eq!(r.code, 0, "get {name}: {}", r.err);
        let j = r.json();
        assert_eq!(j["problems"], Value::Array(vec![]), "{name}: {j}");
        j
    };
    let vals = |j: &Value| -> Value {
        Value::Array(
            j["contents"]["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["value"].clone())
                .collect(),
        )
    };
    use serde_json::json;
    assert_eq!(vals(&get("temps", &[])), json!([20.0, 20.25, 20.5, 20.75]));
    assert_eq!(vals(&get("jobs", &["--type", "u32"])), json!([2, 3, 4, 5]));
    assert_eq!(vals(&get("undo", &[])), json!([-3, -2, -1]));
    let m = get("squares", &["--type", "i32,i64"]);
    let mut pairs: Vec<(i64, i64)> = m["contents"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["key"].as_i64().unwrap(), i["value"].as_i64().unwrap()))
        .collect();
    pairs.sort();
    assert_eq!(pairs, [(-3, 9), (4, 16), (9, 81), (1000, 1_000_000)]);
    let mut s: Vec<u64> = get("seen", &["--type", "u64"])["contents"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["value"].as_u64().unwrap())
        .collect();
    s.sort();
    assert_eq!(s, [5, 1 << 40]);
    let p = get("nodes", &["--type", "[u32; 4]"]);
    assert_eq!(p["fields"]["allocated"], 1);
    assert_eq!(vals(&p), json!([[1, 2, 3, 4]]));
    assert_eq!(vals(&get("samples", &["--type", "i16"])), json!([-7, 8, 9]));
    assert_eq!(get("sem", &[])["fields"]["count"], 3);
    assert_eq!(get("latch", &[])["fields"]["count"], 3);
    assert_eq!(get("init", &[])["fields"]["state"], "DONE");
    assert_eq!(get("ready", &[])["fields"]["signaled"], 1);
    assert_eq!(get("rw", &[])["fields"]["readers"], 1);
    let lv = get("level", &["--type", "f32"]);
    assert_eq!(
        (
            lv["fields"]["version"].clone(),
            lv["fields"]["value"].clone()
        ),
        (json!(1), json!(2.5))
    );
    assert_eq!(get("answer", &["--type", "i64"])["fields"]["value"], 42);
    assert_eq!(
        get("pi", &["--type", "f64"])["fields"]["cached_value"],
        3.25
    );
    assert_eq!(vals(&get("ch", &["--type", "u32"])), json!([7, 8]));
    assert_eq!(vals(&get("st", &["--type", "i32"])), json!([10, 11, 12]));
    assert_eq!(
        get("ticks", &["--kind", "stream_void"])["fields"]["event_count"],
        2
    );
    drop(seg);
}

#[test]
fn json_outputs_have_the_documented_keys() {
    let seg = Shm::vector("queues.bin");
    let j = run(&["--json", "show", &seg.name]).json();
    assert_eq!(
        keys(&j),
        sorted(&[
            "segment",
            "path",
            "file_size",
            "backing",
            "header",
            "data_start",
            "bytes_used",
            "bytes_free",
            "schema",
            "structures"
        ])
    );
    assert_eq!(
        keys(&j["header"]),
        sorted(&[
            "magic",
            "version",
            "entry_count",
            "max_entries",
            "memory_size",
            "next_offset"
        ])
    );
    let structure_keys = [
        "name",
        "kind",
        "certain",
        "alternatives",
        "basis",
        "offset",
        "size",
        "parts",
        "elem_size",
        "capacity",
        "fill",
        "type",
        "type_guessed",
        "summary",
        "error",
    ];
    assert_eq!(keys(&j["structures"][0]), sorted(&structure_keys));
    assert_eq!(
        keys(&j["structures"][0]["parts"][0]),
        sorted(&["role", "name", "offset", "size"])
    );
    let g = run(&["--json", "get", &seg.name, "q"]).json();
    let mut gk = structure_keys.to_vec();
    gk.extend(["segment", "note", "fields", "contents", "problems"]);
    assert_eq!(keys(&g), sorted(&gk));
    assert_eq!(
        keys(&g["contents"]),
        sorted(&["order", "total", "shown", "items"])
    );
    assert_eq!(
        keys(&g["contents"]["items"][0]),
        sorted(&["index", "value"])
    );
    let c = run(&["--json", "check", &seg.name]).json();
    assert_eq!(
        keys(&c),
        sorted(&["segment", "sound", "structures", "problems", "notes"])
    );
    let d = run(&["--json", "dump", &seg.name, "q"]).json();
    assert_eq!(keys(&d), sorted(&["segment", "name", "parts"]));
    assert_eq!(
        keys(&d["parts"][0]),
        sorted(&["name", "offset", "size", "start", "shown", "more", "hex"])
    );
    let l = run(&["--json", "list"]).json();
    assert_eq!(keys(&l), sorted(&["directory", "segments"]));
    let row = l["segments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == seg.name.as_str())
        .unwrap();
    assert_eq!(
        keys(row),
        sorted(&[
            "name",
            "path",
            "size",
            "valid",
            "version",
            "entry_count",
            "max_entries",
            "memory_size",
            "bytes_used",
            "invalid",
            "error"
        ])
    );
    assert_eq!(row["entry_count"], 5);
    assert_eq!(row["bytes_used"], 1164);
    let w = run(&["--json", "watch", &seg.name, "q", "--count", "1"]);
    let w: Value = serde_json::from_str(w.out.trim()).unwrap();
    assert_eq!(
        keys(&w),
        sorted(&["t", "name", "kind", "certain", "fill", "capacity", "summary", "fields"])
    );
}

#[test]
fn watch_follows_a_live_queue() {
    use std::io::{BufRead, BufReader};
    let shm = Shm::named("watch");
    let seg = Segment::create(&shm.name, 1 << 16).unwrap();
    let q = Queue::<u32>::create(&seg, "jobs", 16).unwrap();
    q.push(1).unwrap();
    q.push(2).unwrap();
    let mut child = std::process::Command::new(bin())
        .args([
            "--json",
            "watch",
            &shm.name,
            "jobs",
            "--count",
            "3",
            "--interval",
            "1000",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(first["fill"], 2);
    assert_eq!(first["kind"], "queue");
    for v in 3..=5 {
        q.push(v).unwrap();
    }
    let rest: Vec<Value> = lines
        .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
        .collect();
    assert!(child.wait().unwrap().success());
    assert_eq!(rest.len(), 2);
    // Sampled two intervals after the pushes were made.
    assert_eq!(rest[1]["fill"], 5, "{rest:?}");
    assert!(rest[1]["t"].as_f64().unwrap() >= 1.9);
    let r = run(&[
        "watch",
        &shm.name,
        "jobs",
        "--count",
        "2",
        "--interval",
        "10",
    ]);
    assert_eq!(r.code, 0);
    assert_eq!(r.out.lines().count(), 2);
    assert!(
        r.out
            .lines()
            .all(|l| l.contains("jobs  queue  5 of 16 (31%)")),
        "{}",
        r.out
    );
}

#[test]
fn ranges_and_limits() {
    let shm = Shm::named("big");
    let seg = Segment::create(&shm.name, 1 << 20).unwrap();
    let a = Array::<u32>::create(&seg, "big", 5000).unwrap();
    for i in 0..5000 {
        a.set(i, i as u32 * 3).unwrap();
    }
    let r = run(&["get", &shm.name, "big", "--type", "u32"]);
    assert_eq!(r.code, 0);
    assert!(
        r.out.contains("contents: index order, 1000 of 5000 items"),
        "{}",
        &r.out[..300]
    );
    assert!(r.out.contains("... 4000 more (use --range or --limit 0)"));
    let j = run(&["--json", "get", &shm.name, "big", "--limit", "0"]).json();
    assert_eq!(j["contents"]["shown"], 5000);
    let j = run(&["--json", "get", &shm.name, "big", "--range", "4998.."]).json();
    assert_eq!(
        j["contents"]["items"],
        serde_json::json!([{"index": 4998, "value": 14994}, {"index": 4999, "value": 14997}])
    );
    let j = run(&["--json", "get", &shm.name, "big", "--range", "9000..9010"]).json();
    assert_eq!(j["contents"]["shown"], 0);
}
