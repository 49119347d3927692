//! The `zeroipc` binary on self-describing segments (the `__zeroipc_kinds`
//! entry our runtime writes): recorded kinds are taken, not guessed, even
//! where the bytes fit several kinds (a Stack and a Set of the same
//! capacity, a Future and a Lazy); the entry is listed and decoded; `check`
//! finds the segment sound and reports a record whose structure is missing.
//! And `get` shows a queue's contents as the runtime's raw core reports
//! them (`RawQueue::items`, `RawChannel::items`, ...) when the runtime maps
//! the segment.

#[path = "cli_golden/support.rs"]
mod support;

use serde_json::Value;
use support::*;
use zeroipc::data::set::SetInsert;
use zeroipc::{Future, Lazy, Queue, SegmentOptions, Set, Stack};

/// `show --json`'s structures by name.
fn structures(shm: &Shm) -> Vec<Value> {
    let r = run(&["--json", "show", &shm.name]);
    assert_eq!(r.code, 0, "{}", r.err);
    r.json()["structures"].as_array().unwrap().clone()
}

fn find<'a>(list: &'a [Value], name: &str) -> &'a Value {
    list.iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no structure {name} in {list:#?}"))
}

#[test]
fn recorded_kinds_are_certain_and_not_guessed() {
    let shm = Shm::named("described");
    let seg = SegmentOptions::new()
        .size(1 << 18)
        .self_describing(true)
        .create(&shm.name)
        .unwrap();
    let undo = Stack::<u32>::create(&seg, "undo", 8).unwrap();
    undo.push(7).unwrap();
    let seen = Set::<u32>::create(&seg, "seen", 8).unwrap();
    assert_eq!(seen.insert(9), SetInsert::Inserted);
    let jobs = Queue::<u16>::create(&seg, "jobs", 4).unwrap();
    jobs.push(3).unwrap();
    Future::<i64>::create(&seg, "answer").unwrap();
    Lazy::<i32>::constant(&seg, "lz", 5).unwrap();

    let list = structures(&shm);
    for (name, kind) in [
        ("undo", "stack"),
        ("seen", "set"),
        ("jobs", "queue"),
        ("answer", "future"),
        ("lz", "lazy"),
    ] {
        let s = find(&list, name);
        assert_eq!(s["kind"], kind, "{s:#}");
        assert_eq!(s["certain"], true, "{s:#}");
        assert_eq!(s["basis"], "self-description", "{s:#}");
        assert!(s["error"].is_null(), "{s:#}");
    }
    // The recorded fingerprint of a primitive gives the element type.
    assert_eq!(find(&list, "jobs")["type"], "u16");
    assert_eq!(find(&list, "answer")["type"], "i64");
    let entry = find(&list, "__zeroipc_kinds");
    assert_eq!(entry["kind"], "self_description");
    assert!(entry["summary"].as_str().unwrap().contains("5 structures"));

    let text = run(&["show", &shm.name]);
    assert!(
        text.out
            .contains("5 structures recorded in __zeroipc_kinds"),
        "{}",
        text.out
    );
    let got = run(&["get", &shm.name, "undo"]);
    assert_eq!(got.code, 0, "{}", got.err);
    assert!(got.out.contains("undo: stack\n"), "{}", got.out);
    let check = run(&["check", &shm.name]);
    assert_eq!(check.code, 0, "{}{}", check.out, check.err);
    assert!(!check.out.contains("guessed"), "{}", check.out);
}

#[test]
fn a_record_without_its_structure_is_a_problem() {
    let shm = Shm::named("described-missing");
    let seg = SegmentOptions::new()
        .size(1 << 16)
        .self_describing(true)
        .create(&shm.name)
        .unwrap();
    Stack::<u32>::create(&seg, "undo", 4).unwrap();
    drop(seg);
    // Rename the stack's table entry: the record now names nothing.
    let mut bytes = std::fs::read(shm.path()).unwrap();
    let name_at = bytes
        .windows(5)
        .position(|w| w == b"undo\0")
        .expect("the table entry's name");
    bytes[name_at..name_at + 4].copy_from_slice(b"odnu");
    std::fs::write(shm.path(), &bytes).unwrap();
    let check = run(&["check", &shm.name]);
    assert_eq!(check.code, 1, "{}{}", check.out, check.err);
    assert!(
        check.out.contains("records a stack \"undo\""),
        "{}",
        check.out
    );
}

/// `get`'s values of `--json` output.
fn values(r: &Run) -> Vec<u64> {
    assert_eq!(r.code, 0, "{}", r.err);
    r.json()["contents"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["value"].as_u64().unwrap())
        .collect()
}

#[test]
fn queue_contents_are_what_the_runtime_queue_says() {
    use std::sync::atomic::Ordering;
    use zeroipc::format::{queue, ElemLayout};
    let shm = Shm::named("rawq");
    let seg = SegmentOptions::new()
        .size(1 << 16)
        .create(&shm.name)
        .unwrap();
    let q = Queue::<u32>::create(&seg, "q", 4).unwrap();
    for v in [10, 20, 30] {
        q.push(v).unwrap();
    }
    // Ticket 1's producer is still writing: its slot's sequence word says
    // "free" (1), not "published" (2). A pop would stop there.
    let seq = queue::seq_offset(4, ElemLayout::of::<u32>()).unwrap();
    q.region()
        .atomic_u32(seq as usize + queue::SEQ_SIZE as usize)
        .store(1, Ordering::SeqCst);
    assert_eq!(q.raw().items(), vec![10u32.to_le_bytes().to_vec()]);
    let args = |extra: &[&str]| {
        let mut a = vec!["--json"];
        a.extend_from_slice(extra);
        a.extend(["get", shm.name.as_str(), "q", "--type", "u32"]);
        a.iter().map(|s| (*s).to_owned()).collect::<Vec<String>>()
    };
    let run_with = |extra: &[&str]| {
        let a = args(extra);
        run(&a.iter().map(String::as_str).collect::<Vec<&str>>())
    };
    // Mapped by the runtime: the runtime's queue gives the contents.
    let mapped = run_with(&[]);
    assert_eq!(values(&mapped), [10]);
    // Read from the file (no runtime): the slots are read directly, and
    // the check names the slot in flight.
    let file = run_with(&["--no-map"]);
    assert_eq!(values(&file), [10, 20, 30]);
    let problems = file.json()["problems"].to_string();
    assert!(
        problems.contains("slot 1: sequence 1, expected 2"),
        "{problems}"
    );
}

/// `get --json NAME --type T` on the segment mapped by the runtime, or read
/// from its file (`--no-map`).
fn get_json(shm: &Shm, name: &str, ty: &str, file: bool) -> Run {
    let mut a = vec!["--json"];
    if file {
        a.push("--no-map");
    }
    a.extend(["get", shm.name.as_str(), name, "--type", ty]);
    run(&a)
}

#[test]
fn channel_contents_are_what_the_runtime_channel_says() {
    use std::sync::atomic::Ordering;
    use zeroipc::format::{queue, ElemLayout};
    use zeroipc::Channel;
    let shm = Shm::named("rawch");
    let seg = SegmentOptions::new()
        .size(1 << 16)
        .create(&shm.name)
        .unwrap();
    let c = Channel::<u32>::create(&seg, "c", 4).unwrap();
    for v in [10, 20, 30] {
        c.send(v).unwrap();
    }
    // Ticket 1 of the channel's queue still being written (see
    // queue_contents_are_what_the_runtime_queue_says).
    let seq = queue::seq_offset(4, ElemLayout::of::<u32>()).unwrap();
    seg.region("c_buffer")
        .unwrap()
        .atomic_u32(seq as usize + queue::SEQ_SIZE as usize)
        .store(1, Ordering::SeqCst);
    assert_eq!(c.raw().items(), vec![10u32.to_le_bytes().to_vec()]);
    assert_eq!(values(&get_json(&shm, "c", "u32", false)), [10]);
    assert_eq!(values(&get_json(&shm, "c", "u32", true)), [10, 20, 30]);
}

/// `(index, key, value)` of `get --json`'s items, as text.
fn items(r: &Run) -> Vec<(u64, String, String)> {
    assert_eq!(r.code, 0, "{}", r.err);
    r.json()["contents"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["index"].as_u64().unwrap(),
                i["key"].to_string(),
                i["value"].to_string(),
            )
        })
        .collect()
}

#[test]
fn map_set_array_stream_contents_match_the_runtime_and_the_bytes() {
    use zeroipc::{Array, Map, Stream};
    let shm = Shm::named("rawmsas");
    let seg = SegmentOptions::new()
        .size(1 << 16)
        .create(&shm.name)
        .unwrap();
    let m = Map::<u32, u64>::create(&seg, "m", 8).unwrap();
    let s = Set::<u32>::create(&seg, "s", 8).unwrap();
    let a = Array::<u32>::create(&seg, "a", 3).unwrap();
    let st = Stream::<u32>::create(&seg, "st", 4).unwrap();
    for k in [3u32, 1, 7] {
        assert!(m.insert(k, u64::from(k) * 100).is_stored());
        assert!(matches!(s.insert(k + 1), SetInsert::Inserted));
    }
    for (i, v) in [5u32, 6, 7].into_iter().enumerate() {
        a.set(i, v).unwrap();
    }
    for v in [40u32, 41] {
        st.try_emit(v).unwrap();
    }
    // Map: the runtime's entries, at the slots that hold them.
    let mapped = items(&get_json(&shm, "m", "u32,u64", false));
    let mut want: Vec<(String, String)> = m
        .entries()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut got: Vec<(String, String)> = mapped
        .iter()
        .map(|(_, k, v)| (k.clone(), v.clone()))
        .collect();
    want.sort();
    got.sort();
    assert_eq!(got, want);
    assert_eq!(mapped, items(&get_json(&shm, "m", "u32,u64", true)));
    // Set, array and stream: the same through the runtime and the bytes.
    for (name, ty, expect) in [
        ("s", "u32", vec![2u64, 4, 8]),
        ("a", "u32", vec![5, 6, 7]),
        ("st", "u32", vec![40, 41]),
    ] {
        let mut vals = values(&get_json(&shm, name, ty, false));
        if name == "s" {
            vals.sort();
        }
        assert_eq!(vals, expect, "{name}");
        assert_eq!(
            items(&get_json(&shm, name, ty, false)),
            items(&get_json(&shm, name, ty, true)),
            "{name}"
        );
    }
}

#[test]
fn future_lazy_signal_values_match_the_runtime_and_the_bytes() {
    use zeroipc::Signal;
    let shm = Shm::named("rawfls");
    let seg = SegmentOptions::new()
        .size(1 << 16)
        .self_describing(true)
        .create(&shm.name)
        .unwrap();
    let fut = Future::<i64>::create(&seg, "fut").unwrap();
    assert!(fut.set_value(-42));
    let lz = Lazy::<i32>::constant(&seg, "lz", 5).unwrap();
    assert_eq!(lz.force().unwrap(), 5);
    let sig = Signal::<u32>::create(&seg, "sig", 1).unwrap();
    sig.set(77).unwrap();
    assert_eq!(
        fut.raw().snapshot().value,
        Some((-42i64).to_le_bytes().to_vec())
    );
    for (name, ty, field, want) in [
        ("fut", "i64", "value", "-42"),
        ("lz", "i32", "cached_value", "5"),
        ("sig", "u32", "value", "77"),
    ] {
        let mapped = get_json(&shm, name, ty, false);
        assert_eq!(mapped.code, 0, "{}", mapped.err);
        let fields = mapped.json()["fields"].clone();
        assert_eq!(fields[field].to_string(), want, "{name}: {fields:#}");
        let file = get_json(&shm, name, ty, true);
        assert_eq!(file.json()["fields"], fields, "{name}");
    }
}

#[test]
fn check_reports_the_runtime_refusal_of_a_recorded_structure() {
    use zeroipc::format::queue;
    use zeroipc::raw::RawQueue;
    let shm = Shm::named("rawchk");
    let seg = SegmentOptions::new()
        .size(1 << 16)
        .self_describing(true)
        .create(&shm.name)
        .unwrap();
    let q = Queue::<u32>::create(&seg, "q", 4).unwrap();
    q.push(1).unwrap();
    let sound = run(&["check", &shm.name]);
    assert_eq!(sound.code, 0, "{}{}", sound.out, sound.err);
    // A header whose elem_size no longer matches the recorded layout.
    q.region()
        .atomic_u32(queue::ELEM_SIZE as usize)
        .store(8, std::sync::atomic::Ordering::SeqCst);
    let refusal = RawQueue::open(&seg, "q", None).unwrap_err().to_string();
    let r = run(&["check", &shm.name]);
    assert_eq!(r.code, 1, "{}{}", r.out, r.err);
    assert!(
        r.out
            .contains(&format!("the runtime refuses to open it: {refusal}")),
        "{}",
        r.out
    );
    // The inspector's own diagnostic of the refused header stays.
    assert!(r.out.contains("header does not fit"), "{}", r.out);
    // With --no-map the runtime is not asked: the inspector's checks alone.
    let file = run(&["--no-map", "check", &shm.name]);
    assert_eq!(file.code, 1, "{}{}", file.out, file.err);
    assert!(file.out.contains("header does not fit"), "{}", file.out);
    assert!(!file.out.contains("the runtime refuses"), "{}", file.out);
}
