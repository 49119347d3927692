//! Golden vectors: queues.bin (C++ Queue/Stack) and the queue/stack of
//! py_arrays.bin (Python). Read test: open a copy and check every header
//! field, the raw data/sequence/state arrays and the pop order against the
//! manifest. Write test: replay the manifest's operations from an empty
//! segment and compare bytes. Hostile test: corrupted headers are refused
//! with their specific errors.

mod common;

use common::*;
use serde_json::Value;
use std::fmt::Debug;
use std::sync::atomic::Ordering;
use zeroipc::{Array, Error, Queue, Segment, ShmElement, Stack};

/// Element types the images use, built from manifest JSON numbers.
trait Elem: ShmElement + PartialEq + Debug {
    fn from_json(v: &Value) -> Self;
}

impl Elem for i32 {
    fn from_json(v: &Value) -> Self {
        i32::try_from(v.as_i64().expect("integer")).expect("fits i32")
    }
}
impl Elem for u8 {
    fn from_json(v: &Value) -> Self {
        u8::try_from(v.as_u64().expect("integer")).expect("fits u8")
    }
}
impl Elem for i64 {
    fn from_json(v: &Value) -> Self {
        v.as_i64().expect("integer")
    }
}

fn num(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a u64: {v}"))
}

fn elems<T: Elem>(v: &Value) -> Vec<T> {
    v.as_array()
        .expect("array")
        .iter()
        .map(T::from_json)
        .collect()
}

fn u32s(v: &Value) -> Vec<u32> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| u32::try_from(num(x)).unwrap())
        .collect()
}

fn off(s: &Value, field: &str) -> usize {
    num(&s["layout"]["offsets"][field]) as usize
}

/// The table lists exactly the manifest's entries, in order.
fn check_table(seg: &Segment, fm: &Value) {
    assert_table_matches(seg, fm);
}

fn check_queue<T: Elem>(seg: &Segment, s: &Value) {
    let name = s["name"].as_str().unwrap();
    let exp = &s["expected"];
    let q = Queue::<T>::open(seg, name).unwrap();
    let r = seg.region(name).unwrap();
    assert_eq!(
        r.len() as u64,
        num(&s["layout"]["total_size"]),
        "{name} size"
    );

    // Header fields, raw.
    assert_eq!(
        r.read_u32(off(s, "head")) as u64,
        num(&exp["head"]),
        "{name} head"
    );
    assert_eq!(
        r.read_u32(off(s, "tail")) as u64,
        num(&exp["tail"]),
        "{name} tail"
    );
    assert_eq!(
        r.read_u32(off(s, "capacity")) as u64,
        num(&exp["capacity"]),
        "{name} capacity"
    );
    assert_eq!(
        r.read_u32(off(s, "elem_size")) as u64,
        num(&exp["elem_size"]),
        "{name} elem_size"
    );
    assert_eq!(num(&exp["elem_size"]) as usize, size_of::<T>());

    // Through the API.
    let cap = num(&exp["capacity"]) as usize;
    assert_eq!(q.capacity(), cap, "{name}");
    assert_eq!(q.len() as u64, num(&exp["size"]), "{name} len");
    assert_eq!(q.is_empty(), num(&exp["size"]) == 0);
    assert_eq!(q.is_full(), num(&exp["size"]) as usize == cap);

    // Raw side arrays: every slot, including stale popped values.
    let seq: Vec<u32> = (0..cap)
        .map(|i| r.read_u32(off(s, "seq") + 4 * i))
        .collect();
    assert_eq!(seq, u32s(&exp["seq"]), "{name} seq");
    let data: Vec<T> = (0..cap)
        .map(|i| r.read::<T>(off(s, "data") + i * size_of::<T>()))
        .collect();
    assert_eq!(data, elems::<T>(&exp["slot_data"]), "{name} slot data");

    // Pop order, then empty.
    let popped: Vec<T> = std::iter::from_fn(|| q.pop()).collect();
    assert_eq!(
        popped,
        elems::<T>(&exp["contents_pop_order"]),
        "{name} pop order"
    );
    assert!(q.is_empty());
    assert_eq!(q.len(), 0);
    let head = r.read_u32(off(s, "head")) as u64;
    assert_eq!(head, num(&exp["tail"]), "{name} head after draining");
}

fn check_stack<T: Elem>(seg: &Segment, s: &Value) {
    let name = s["name"].as_str().unwrap();
    let exp = &s["expected"];
    let st = Stack::<T>::open(seg, name).unwrap();
    let r = seg.region(name).unwrap();
    assert_eq!(
        r.len() as u64,
        num(&s["layout"]["total_size"]),
        "{name} size"
    );

    let top = r.read::<i32>(off(s, "top"));
    assert_eq!(top as i64, exp["top"].as_i64().unwrap(), "{name} top");
    assert_eq!(
        r.read_u32(off(s, "capacity")) as u64,
        num(&exp["capacity"]),
        "{name} capacity"
    );
    assert_eq!(
        r.read_u32(off(s, "elem_size")) as u64,
        num(&exp["elem_size"]),
        "{name} elem_size"
    );
    assert_eq!(r.read_u32(off(s, "reserved")), 0, "{name} reserved");
    assert_eq!(num(&exp["elem_size"]) as usize, size_of::<T>());

    let cap = num(&exp["capacity"]) as usize;
    assert_eq!(st.capacity(), cap);
    assert_eq!(st.len() as u64, num(&exp["size"]), "{name} len");
    assert_eq!(st.is_empty(), num(&exp["size"]) == 0);

    let states: Vec<u32> = (0..cap)
        .map(|i| r.read_u32(off(s, "state") + 4 * i))
        .collect();
    assert_eq!(states, u32s(&exp["states"]), "{name} states");
    let data: Vec<T> = (0..cap)
        .map(|i| r.read::<T>(off(s, "data") + i * size_of::<T>()))
        .collect();
    assert_eq!(data, elems::<T>(&exp["slot_data"]), "{name} slot data");

    let want = elems::<T>(&exp["contents_top_first"]);
    assert_eq!(st.peek(), want.first().copied(), "{name} peek");
    // peek hands the slot back READY: nothing changed.
    let states2: Vec<u32> = (0..cap)
        .map(|i| r.read_u32(off(s, "state") + 4 * i))
        .collect();
    assert_eq!(states2, states);
    let popped: Vec<T> = std::iter::from_fn(|| st.pop()).collect();
    assert_eq!(popped, want, "{name} pop order");
    assert!(st.is_empty());
    assert_eq!(r.read::<i32>(off(s, "top")), -1);
    assert!((0..cap).all(|i| r.read_u32(off(s, "state") + 4 * i) == 0));
}

fn elem_c(s: &Value) -> &str {
    s["types"]["elem"]["c"].as_str().unwrap()
}

/// Checks every queue and stack of an image copy against the manifest.
fn check_image(file: &str) {
    let fm = file_manifest(file);
    let t = copy_vector(file);
    let seg = t.open();
    check_table(&seg, &fm);
    assert_eq!(seg.header().next_offset, num(&fm["header"]["next_offset"]));
    let mut seen = 0;
    for s in fm["structures"].as_array().unwrap() {
        match (s["kind"].as_str().unwrap(), elem_c(s)) {
            ("queue", "int32_t") => check_queue::<i32>(&seg, s),
            ("queue", "uint8_t") => check_queue::<u8>(&seg, s),
            ("queue", "int64_t") => check_queue::<i64>(&seg, s),
            ("stack", "int32_t") => check_stack::<i32>(&seg, s),
            ("stack", "uint8_t") => check_stack::<u8>(&seg, s),
            ("stack", "int64_t") => check_stack::<i64>(&seg, s),
            ("array", _) => continue, // vectors_arrays.rs reads these
            (k, c) => panic!("{file}: no check for {k} of {c}"),
        }
        seen += 1;
    }
    assert!(seen >= 2, "{file}: no queue or stack checked");
}

#[test]
fn queues_bin_reads_as_the_manifest_says() {
    check_image("queues.bin");
    // The names the brief lists are all there.
    let fm = file_manifest("queues.bin");
    for n in ["q", "qb", "qwrap", "s", "sb"] {
        structure(&fm, n);
    }
}

#[test]
fn py_arrays_bin_queue_and_stack_read_as_the_manifest_says() {
    check_image("py_arrays.bin");
    let fm = file_manifest("py_arrays.bin");
    assert_eq!(structure(&fm, "pq")["kind"], "queue");
    assert_eq!(structure(&fm, "ps")["kind"], "stack");
}

fn replay_queue<T: Elem>(seg: &Segment, s: &Value) {
    let name = s["name"].as_str().unwrap();
    let ops = s["operations"].as_array().unwrap();
    assert_eq!(ops[0]["op"], "create");
    let q = Queue::<T>::create(seg, name, num(&ops[0]["params"]["capacity"]) as usize).unwrap();
    for op in &ops[1..] {
        match op["op"].as_str().unwrap() {
            "push" => {
                let v = T::from_json(&op["args"][0]);
                assert_eq!(
                    q.push(v).is_ok(),
                    op["returns"].as_bool().unwrap(),
                    "{name} {op}"
                );
            }
            "pop" => assert_eq!(q.pop(), Some(T::from_json(&op["returns"])), "{name} {op}"),
            other => panic!("{name}: unknown queue op {other}"),
        }
    }
}

fn replay_stack<T: Elem>(seg: &Segment, s: &Value) {
    let name = s["name"].as_str().unwrap();
    let ops = s["operations"].as_array().unwrap();
    assert_eq!(ops[0]["op"], "create");
    let st = Stack::<T>::create(seg, name, num(&ops[0]["params"]["capacity"]) as usize).unwrap();
    for op in &ops[1..] {
        match op["op"].as_str().unwrap() {
            "push" => {
                let v = T::from_json(&op["args"][0]);
                assert_eq!(
                    st.push(v).is_ok(),
                    op["returns"].as_bool().unwrap(),
                    "{name} {op}"
                );
            }
            "pop" => assert_eq!(st.pop(), Some(T::from_json(&op["returns"])), "{name} {op}"),
            other => panic!("{name}: unknown stack op {other}"),
        }
    }
}

/// The two Python arrays: `create` then a `fill` described in words.
fn replay_array(seg: &Segment, s: &Value) {
    let name = s["name"].as_str().unwrap();
    let ops = s["operations"].as_array().unwrap();
    assert_eq!(ops[0]["op"], "create");
    let cap = num(&ops[0]["params"]["capacity"]) as usize;
    assert_eq!(ops.len(), 2);
    match (elem_c(s), ops[1]["desc"].as_str().unwrap()) {
        ("double", "a[i] = i / 10 (Python true division)") => {
            let a = Array::<f64>::create(seg, name, cap).unwrap();
            for i in 0..cap {
                a.set(i, i as f64 / 10.0).unwrap();
            }
        }
        ("int32_t", "a[i] = 42 + i") => {
            let a = Array::<i32>::create(seg, name, cap).unwrap();
            for i in 0..cap {
                a.set(i, 42 + i as i32).unwrap();
            }
        }
        (c, d) => panic!("{name}: unknown array fill {c} {d}"),
    }
}

/// Replays every structure of `file` in manifest order from an empty
/// segment and compares the bytes with the image.
fn reproduce(file: &str) {
    let fm = file_manifest(file);
    let (t, seg) = fresh_like(file);
    for s in fm["structures"].as_array().unwrap() {
        match (s["kind"].as_str().unwrap(), elem_c(s)) {
            ("queue", "int32_t") => replay_queue::<i32>(&seg, s),
            ("queue", "uint8_t") => replay_queue::<u8>(&seg, s),
            ("queue", "int64_t") => replay_queue::<i64>(&seg, s),
            ("stack", "int32_t") => replay_stack::<i32>(&seg, s),
            ("stack", "uint8_t") => replay_stack::<u8>(&seg, s),
            ("stack", "int64_t") => replay_stack::<i64>(&seg, s),
            ("array", _) => replay_array(&seg, s),
            (k, c) => panic!("{file}: cannot replay {k} of {c}"),
        }
    }
    check_table(&seg, &fm);
    drop(seg);
    assert_same_bytes(&t, file);
}

#[test]
fn queues_bin_is_reproduced_byte_for_byte() {
    reproduce("queues.bin");
}

#[test]
fn py_arrays_bin_is_reproduced_byte_for_byte() {
    reproduce("py_arrays.bin");
}

fn mismatch_detail(e: Error) -> String {
    match e {
        Error::StructureMismatch { ref detail, .. } => detail.clone(),
        other => panic!("expected StructureMismatch, got {other:?}"),
    }
}

#[test]
fn hostile_queue_headers_are_refused() {
    let fm = file_manifest("queues.bin");
    let q = structure(&fm, "q");
    let q_off = num(&fm["entries"][0]["offset"]);
    assert_eq!(fm["entries"][0]["name"], "q");

    // Stored capacity 6 (not a power of two), written into the file.
    let t = copy_vector("queues.bin");
    {
        use std::io::{Seek, SeekFrom, Write};
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(t.path())
            .unwrap();
        f.seek(SeekFrom::Start(q_off + off(q, "capacity") as u64))
            .unwrap();
        f.write_all(&6u32.to_le_bytes()).unwrap();
    }
    let seg = t.open();
    let e = Queue::<i32>::open(&seg, "q").unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("\"q\""), "{msg}");
    let d = mismatch_detail(e);
    assert!(
        d.contains("capacity 6 is not a nonzero power of two"),
        "{d}"
    );

    // Capacity 0 through a Region.
    let r = seg.region("q").unwrap();
    r.write::<u32>(off(q, "capacity"), 0);
    let d = mismatch_detail(Queue::<i32>::open(&seg, "q").unwrap_err());
    assert!(
        d.contains("capacity 0 is not a nonzero power of two"),
        "{d}"
    );

    // A power of two that does not fit the entry.
    r.write::<u32>(off(q, "capacity"), 1 << 20);
    let d = mismatch_detail(Queue::<i32>::open(&seg, "q").unwrap_err());
    assert!(d.contains("entry has 80"), "{d}");

    // elem_size 2 with T = i32: the error names both sizes.
    r.write::<u32>(off(q, "capacity"), 8);
    r.write::<u32>(off(q, "elem_size"), 2);
    let d = mismatch_detail(Queue::<i32>::open(&seg, "q").unwrap_err());
    assert!(
        d.contains("elem_size is 2") && d.contains("size_of::<i32>() is 4"),
        "{d}"
    );

    // Restored, it opens again and still holds its values.
    r.write::<u32>(off(q, "elem_size"), 4);
    let queue = Queue::<i32>::open(&seg, "q").unwrap();
    assert_eq!(queue.pop(), Some(3));

    // Untouched entries opened with the wrong T, or as the wrong kind.
    let d = mismatch_detail(Queue::<i64>::open(&seg, "qb").unwrap_err());
    assert!(d.contains("elem_size is 1") && d.contains("is 8"), "{d}");
    assert!(Queue::<i64>::open(&seg, "s").is_err());
    assert!(matches!(
        Queue::<i32>::open(&seg, "nope"),
        Err(Error::StructureNotFound { .. })
    ));
}

#[test]
fn hostile_stack_headers_are_refused() {
    let fm = file_manifest("queues.bin");
    let sb = structure(&fm, "sb");
    let t = copy_vector("queues.bin");
    let seg = t.open();
    let r = seg.region("sb").unwrap();

    let d = mismatch_detail(Stack::<u16>::open(&seg, "sb").unwrap_err());
    assert!(
        d.contains("elem_size is 1") && d.contains("size_of::<u16>() is 2"),
        "{d}"
    );

    r.write::<u32>(off(sb, "capacity"), 0x8000_0000);
    let d = mismatch_detail(Stack::<u8>::open(&seg, "sb").unwrap_err());
    assert!(d.contains("capacity 2147483648 is outside"), "{d}");
    r.write::<u32>(off(sb, "capacity"), 6);
    let d = mismatch_detail(Stack::<u8>::open(&seg, "sb").unwrap_err());
    assert!(d.contains("entry has 44"), "{d}");
    r.write::<u32>(off(sb, "capacity"), 5);

    // A top outside the slots (written while open) is refused per operation.
    let st = Stack::<u8>::open(&seg, "sb").unwrap();
    r.atomic_i32(off(sb, "top")).store(77, Ordering::SeqCst);
    assert_eq!(st.pop(), None);
    assert_eq!(st.peek(), None);
    assert_eq!(st.push(1), Err(1));
    r.atomic_i32(off(sb, "top")).store(2, Ordering::SeqCst);
    assert_eq!(st.pop(), Some(3));
}
