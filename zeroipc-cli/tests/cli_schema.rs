//! The `zeroipc` binary against segments created by the code zeroipc-gen
//! generated for the example schemas (`schemas/generated/*.rs`): kinds and
//! element types come from the `__schema` entry (certain, no guessing),
//! named record types decode field by field with `--schema schemas/`, and
//! the segments check sound (and `check` reports the runtime's refusal of a
//! schema-typed structure whose header no longer fits its type).

#[path = "cli_golden/support.rs"]
mod support;

#[allow(dead_code, clippy::all)]
mod common {
    include!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../schemas/generated/common.rs"
    ));
}
#[allow(dead_code, clippy::all)]
mod telemetry {
    include!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../schemas/generated/telemetry.rs"
    ));
}
#[allow(dead_code, clippy::all)]
mod market {
    include!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../schemas/generated/market.rs"
    ));
}
#[allow(dead_code, clippy::all)]
mod robot {
    include!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../schemas/generated/robot.rs"
    ));
}

use serde_json::{json, Value};
use support::*;

const SCHEMAS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../schemas");

fn structures(seg: &Shm, extra: &[&str]) -> Vec<Value> {
    let mut a = vec!["--json"];
    a.extend_from_slice(extra);
    a.extend(["show", seg.name.as_str()]);
    let r = run(&a);
    assert_eq!(r.code, 0, "{}", r.err);
    r.json()["structures"].as_array().unwrap().clone()
}

#[test]
fn telemetry_segment_kinds_and_types_come_from_the_schema() {
    let seg = Shm::named("telemetry");
    let t = telemetry::Telemetry::create(&seg.name).unwrap();
    t.counters.set(3, 77).unwrap();
    t.ready.signal().unwrap();

    let s = structures(&seg, &[]);
    let kinds: Vec<(String, String, bool, String)> = s
        .iter()
        .map(|x| {
            (
                x["name"].as_str().unwrap().to_owned(),
                x["kind"].as_str().unwrap().to_owned(),
                x["certain"].as_bool().unwrap(),
                x["basis"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let want = [
        ("readings", "array"),
        ("counters", "array"),
        ("events", "queue"),
        ("latest", "signal"),
        ("ready", "event"),
        ("__schema", "schema"),
        // Generated segments add the waiter registry last.
        ("__zeroipc_waiters", "waiter_registry"),
    ];
    assert_eq!(kinds.len(), want.len(), "{kinds:?}");
    for ((n, k, c, b), (wn, wk)) in kinds.iter().zip(want) {
        assert_eq!((n.as_str(), k.as_str(), *c), (wn, wk, true));
        if !wn.starts_with("__") {
            assert_eq!(b, "schema", "{n}");
        }
    }
    assert_eq!(s[0]["type"], "Reading");
    assert_eq!(s[0]["type_guessed"], false);
    assert_eq!(s[1]["type"], "u64");

    let r = run(&["check", &seg.name]);
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);

    let j = run(&["--json", "get", &seg.name, "counters", "--range", "2..5"]).json();
    assert_eq!(
        j["contents"]["items"],
        json!([{"index": 2, "value": 0}, {"index": 3, "value": 77}, {"index": 4, "value": 0}])
    );
    // Records: opaque bytes from the schema text alone, fields with --schema.
    let j = run(&["--json", "get", &seg.name, "readings", "--range", "0"]).json();
    assert_eq!(j["type"], "Reading");
    assert!(j["contents"]["items"][0]["value"].is_string());
    let j = run(&[
        "--json", "--schema", SCHEMAS, "get", &seg.name, "readings", "--range", "0",
    ])
    .json();
    let rec = &j["contents"]["items"][0]["value"];
    assert!(rec.is_object(), "{rec}");
    assert_eq!(rec["sensor_id"], 0);
    assert_eq!(rec["label"], "");
    let sig = run(&["--json", "--schema", SCHEMAS, "get", &seg.name, "latest"]).json();
    assert_eq!(sig["fields"]["version"], 0);
    assert!(sig["fields"]["value"]["mean"].is_array());
    let ev = run(&["--json", "get", &seg.name, "ready"]).json();
    assert_eq!(ev["fields"]["signaled"], 1);
    assert_eq!(ev["fields"]["mode"], "ManualReset");
    // The schema text itself.
    let r = run(&["get", &seg.name, "__schema"]);
    assert_eq!(r.code, 0);
    assert!(
        r.out.contains("structure events queue Event capacity=256"),
        "{}",
        r.out
    );
    // --record picks a schema record as the element type of a guessed entry.
    let r = run(&[
        "--json", "--schema", SCHEMAS, "get", &seg.name, "counters", "--record", "Reading",
    ]);
    assert_eq!(r.code, 1, "a 120-byte record does not fit 8-byte elements");
    drop(t);
}

#[test]
fn market_and_robot_segments_check_sound() {
    let seg = Shm::named("market");
    let m = market::MarketData::create(&seg.name).unwrap();
    for (i, sym) in ["AAPL", "MSFT", "GOOG"].iter().enumerate() {
        let _ = m
            .symbols
            .insert(zeroipc::FixedStr::new(sym).unwrap(), i as u32 + 1);
    }
    let s = structures(&seg, &[]);
    assert!(s.iter().all(|x| x["certain"] == true), "{s:#?}");
    let names: Vec<&str> = s.iter().map(|x| x["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "books",
            "trades",
            "symbols",
            "last_trade",
            "books_lock",
            "__schema",
            "__zeroipc_waiters"
        ]
    );
    let r = run(&["check", &seg.name]);
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    let j = run(&["--json", "get", &seg.name, "symbols"]).json();
    assert_eq!(j["type"], "str[12] -> u32");
    let mut got: Vec<(String, u64)> = j["contents"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["key"].as_str().unwrap().to_owned(),
                i["value"].as_u64().unwrap(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("AAPL".to_owned(), 1),
            ("GOOG".to_owned(), 3),
            ("MSFT".to_owned(), 2)
        ]
    );
    drop(m);

    let seg = Shm::named("robot");
    let r = robot::Robot::create(&seg.name).unwrap();
    let s = structures(&seg, &["--schema", SCHEMAS]);
    assert!(s.iter().all(|x| x["certain"] == true), "{s:#?}");
    let kinds: Vec<&str> = s.iter().map(|x| x["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "array",
            "array",
            "signal",
            "channel",
            "mutex",
            "barrier",
            "schema",
            "waiter_registry"
        ]
    );
    let c = run(&["--schema", SCHEMAS, "check", &seg.name]);
    assert_eq!(c.code, 0, "{}{}", c.out, c.err);
    drop(r);
}

#[test]
fn check_reports_the_runtime_refusal_of_a_schema_typed_structure() {
    use zeroipc::format::{queue, ElemLayout};
    use zeroipc::raw::RawQueue;
    let seg = Shm::named("market_bad");
    let m = market::MarketData::create(&seg.name).unwrap();
    let sound = run(&["check", &seg.name]);
    assert_eq!(sound.code, 0, "{}{}", sound.out, sound.err);
    // `trades` holds 40-byte Trade records (the schema says so); its header
    // now claims 8-byte elements.
    m.trades
        .region()
        .atomic_u32(queue::ELEM_SIZE as usize)
        .store(8, std::sync::atomic::Ordering::SeqCst);
    let opened = zeroipc::Segment::open(&seg.name).unwrap();
    let trade = ElemLayout::new(40, 8).unwrap();
    let refusal = RawQueue::open(&opened, "trades", Some(trade))
        .unwrap_err()
        .to_string();
    let r = run(&["check", &seg.name]);
    assert_eq!(r.code, 1, "{}{}", r.out, r.err);
    assert!(
        r.out.contains(&format!(
            "trades: queue: the runtime refuses to open it: {refusal}"
        )),
        "{}",
        r.out
    );
    drop(m);
}
