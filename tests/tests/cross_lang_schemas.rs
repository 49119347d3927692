//! Issue 4, end to end for every schema in `schemas/`: the committed
//! generated Rust (`schemas/generated/*.rs`, kept equal to the generator's
//! output by `schema_generated.rs`) creates each segment and fills every
//! array; a Python program opens it through the generated module (freshly
//! generated into a temp dir), checks every value and writes new ones; a
//! C++ program compiled with g++ against the generated header checks and
//! writes too; Rust verifies both writes and the table entries the schema
//! compiler predicted.

use zeroipc_testsupport::pattern as support;

#[path = "../../schemas/generated/common.rs"]
#[allow(dead_code)]
#[rustfmt::skip]
mod common;
#[path = "../../schemas/generated/market.rs"]
#[allow(dead_code)]
#[rustfmt::skip]
mod market;
#[path = "../../schemas/generated/robot.rs"]
#[allow(dead_code)]
#[rustfmt::skip]
mod robot;
#[path = "../../schemas/generated/telemetry.rs"]
#[allow(dead_code)]
#[rustfmt::skip]
mod telemetry;

use serde_json::Value;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::*;
use zeroipc::{FixedStr, OpenEnum, Segment, ShmElement};
use zeroipc_gen::schema::kinds::StructureKind as StructKind;
use zeroipc_gen::schema::output::{generate, Lang};
use zeroipc_gen::schema::{compile_path, Compiled, SegmentDef};

fn schemas_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas")
}

fn compiled() -> Compiled {
    let c = compile_path(&schemas_dir()).unwrap();
    assert!(!c.has_errors(), "{}", c.render_diagnostics());
    c
}

fn segment_def<'a>(c: &'a Compiled, name: &str) -> (&'a str, &'a SegmentDef) {
    for f in &c.files {
        for s in &f.segments {
            if s.name == name {
                return (&f.namespace, s);
            }
        }
    }
    panic!("no segment {name}");
}

/// Generates every output into a fresh temp dir.
fn generated(tag: &str, c: &Compiled) -> PathBuf {
    let dir = tempdir(tag);
    for f in generate(c, &[Lang::Rust, Lang::Python, Lang::Cpp]).unwrap() {
        std::fs::write(dir.join(&f.path), f.contents).unwrap();
    }
    dir
}

/// The table holds exactly the entries the compiler predicted, in order,
/// then `__schema`, and fits the computed size.
fn check_entries(seg: &Segment, def: &SegmentDef) {
    let got: Vec<(String, u64)> = seg
        .entries()
        .unwrap()
        .into_iter()
        .map(|e| (e.name, e.size))
        .collect();
    let mut want: Vec<(String, u64)> = def
        .structures
        .iter()
        .flat_map(|s| s.entries.clone())
        .collect();
    want.push(("__schema".to_owned(), 24 + def.canonical.len() as u64));
    // Then our waiter registry (docs/FORMAT.md §12), counted by the
    // compiler when the table has a slot for it.
    let mut used = def.needed;
    let registry = zeroipc::format::waiters::entry_size(def.max_entries).unwrap();
    if want.len() < def.max_entries as usize && used.next_multiple_of(8) + registry <= def.size {
        want.push((zeroipc::format::waiters::ENTRY_NAME.to_owned(), registry));
        used = used.next_multiple_of(8) + registry;
    }
    assert_eq!(got, want, "segment {}", def.name);
    assert_eq!(
        seg.header().next_offset,
        used,
        "bytes used vs the compiler's computation"
    );
    assert_eq!(seg.size(), def.size);
    assert_eq!(seg.max_entries(), def.max_entries);
    let e = zeroipc_gen::schema_entry::read(seg)
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(e.fingerprint, def.fingerprint);
    assert_eq!(e.text, def.canonical);
    assert!(e.consistent);
}

const PY_CHECK: &str = r#"
import importlib, json, sys
import numpy as np
import pattern

mod = importlib.import_module(sys.argv[1])
cls = getattr(mod, sys.argv[2])
name, check_seed, write_seed = sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
v = cls.open(name)
assert isinstance(v, cls)
# open_segment gives the same view class
assert type(mod.open_segment(name, sys.argv[2])) is cls
report = {}
for s in v.spec.structures:
    obj = getattr(v, s.name)
    if s.kind == "array":
        assert obj.shape[0] == s.capacity and obj.dtype == s.dtype
        pattern.check(obj, s.layout, check_seed, s.name)
        pattern.write(obj, s.layout, write_seed)
        report[s.name] = {"len": int(obj.shape[0])}
    elif s.kind == "signal":
        # Signals hold the pattern of seed 1, element 0 (set by Rust).
        one = obj.value.reshape((1,) + obj.value.shape)
        pattern.check(one, s.layout, 1, s.name)
        report[s.name] = {"version": obj.version}
    else:
        report[s.name] = obj.fields()
v.close()
print(json.dumps(report))
"#;

fn python_check(dir: &Path, ns: &str, seg: &str, name: &str, check: u64, write: u64) -> Value {
    let out = python(
        dir,
        PY_CHECK,
        &[ns, seg, name, &check.to_string(), &write.to_string()],
    );
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// C++ element type spelling for the check program.
fn cpp_elem(ns: &str, c: &Compiled, t: &'static zeroipc::layout::TypeLayout) -> String {
    match t.kind {
        zeroipc::layout::Kind::Prim(p) => zeroipc_gen::emit::cpp::prim_type(p),
        _ => format!(
            "::{}::{}",
            c.type_namespace
                .get(t.name)
                .map(String::as_str)
                .unwrap_or(ns),
            t.name
        ),
    }
}

/// A C++ program that opens the segment through the generated header,
/// checks every array (and the signal value) with `check` and rewrites the
/// arrays with `write`.
fn cpp_program(ns: &str, c: &Compiled, def: &SegmentDef) -> String {
    let mut funcs = String::new();
    let mut body = String::new();
    for st in &def.structures {
        let Some(elem) = st.elem else { continue };
        let ty = cpp_elem(ns, c, elem);
        match st.kind {
            StructKind::Array => {
                funcs.push_str(&cpp_pattern_functions(&st.name, &ty, elem));
                let _ = writeln!(
                    body,
                    "    if (!check_{0}(v.{0}.data(), v.{0}.size(), check)) return 5;\n    write_{0}(v.{0}.data(), v.{0}.size(), write);\n    std::printf(\"{0} %zu\\n\", v.{0}.size());",
                    st.name
                );
            }
            StructKind::Signal => {
                funcs.push_str(&cpp_pattern_functions(&st.name, &ty, elem));
                let _ = writeln!(
                    body,
                    "    if (!check_{0}(v.{0}.value, 1, 1)) return 6;\n    std::printf(\"{0} version %llu\\n\", static_cast<unsigned long long>(v.{0}.version()));",
                    st.name
                );
            }
            _ => {}
        }
    }
    format!(
        r#"#include "{ns}.hpp"
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

{funcs}
int main(int argc, char** argv) {{
    if (argc != 4) return 2;
    std::uint64_t check = std::strtoull(argv[2], nullptr, 10);
    std::uint64_t write = std::strtoull(argv[3], nullptr, 10);
    try {{
    auto m = zeroipc_schema::Mapping::open(argv[1]);
    auto v = {ns}::{seg}::open(m);
{body}
    }} catch (const zeroipc_schema::Error& e) {{
        std::fprintf(stderr, "error: %s\n", e.what());
        return 7;
    }}
    return 0;
}}
"#,
        seg = def.name
    )
}

fn cpp_check(
    dir: &Path,
    ns: &str,
    c: &Compiled,
    def: &SegmentDef,
    name: &str,
    check: u64,
    write: u64,
) -> String {
    let bin = gxx(dir, &format!("check_{ns}"), &cpp_program(ns, c, def));
    run(Command::new(bin)
        .arg(name)
        .arg(check.to_string())
        .arg(write.to_string()))
}

fn pattern_value<T: ShmElement>(seed: u64, i: u64) -> T {
    zeroipc::element::from_bytes::<T>(&element_bytes(T::LAYOUT, seed, i)).unwrap()
}

#[test]
fn telemetry_round_trips_rust_python_cpp() {
    let c = compiled();
    let (ns, def) = segment_def(&c, "Telemetry");
    let dir = generated("xl-telemetry", &c);
    let name = unique_name("telemetry");
    let _g = Unlink(name.clone());
    let t = telemetry::Telemetry::create(&name).unwrap();
    check_entries(&t.segment, def);
    fill_array(&t.readings, 1);
    fill_array(&t.counters, 1);
    for i in 0..5 {
        t.events
            .push(pattern_value::<telemetry::Event>(9, i))
            .unwrap();
    }
    t.latest
        .set(pattern_value::<telemetry::Summary>(1, 0))
        .unwrap();
    t.ready.signal().unwrap();
    let r0 = t.readings.get(0).unwrap();
    assert!(r0.label.as_str().unwrap().starts_with('v'));

    let py = python_check(&dir, ns, "Telemetry", &name, 1, 2);
    assert_eq!(py["readings"]["len"], 16);
    assert_eq!(py["counters"]["len"], 32);
    assert_eq!(py["events"]["tail"], 5, "{py}");
    assert_eq!(py["events"]["head"], 0);
    assert_eq!(py["events"]["capacity"], 256);
    assert_eq!(py["events"]["elem_size"], size_of::<telemetry::Event>());
    assert_eq!(py["latest"]["version"], t.latest.version());
    assert_eq!(py["ready"]["signaled"], 1);
    assert_eq!(py["ready"]["mode"], 1);
    verify_array(&t.readings, 2).unwrap();
    verify_array(&t.counters, 2).unwrap();

    let out = cpp_check(&dir, ns, &c, def, &name, 2, 3);
    assert!(out.contains("readings 16"), "{out}");
    verify_array(&t.readings, 3).unwrap();
    verify_array(&t.counters, 3).unwrap();

    // The typed open finds everything and the events are intact.
    let again = telemetry::Telemetry::open(&name).unwrap();
    verify_array(&again.readings, 3).unwrap();
    for i in 0..5 {
        let e = again.events.pop().unwrap();
        assert_eq!(
            zeroipc::element::bytes_of(&e),
            &element_bytes(telemetry::Event::LAYOUT, 9, i)[..]
        );
    }
    let r = again.readings.get(3).unwrap();
    assert!(r.status.raw() == r.status.raw()); // OpenEnum<Status> field
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn market_round_trips_rust_python_cpp() {
    let c = compiled();
    let (ns, def) = segment_def(&c, "MarketData");
    let dir = generated("xl-market", &c);
    let name = unique_name("market");
    let _g = Unlink(name.clone());
    let m = market::MarketData::create(&name).unwrap();
    check_entries(&m.segment, def);
    fill_array(&m.books, 1);
    for i in 0..7 {
        m.trades.push(pattern_value::<market::Trade>(4, i)).unwrap();
    }
    for (i, sym) in ["AAPL", "MSFT", "NVDA"].iter().enumerate() {
        assert!(m
            .symbols
            .insert(FixedStr::new(sym).unwrap(), i as u32)
            .is_stored());
    }
    m.last_trade
        .set(pattern_value::<market::Trade>(1, 0))
        .unwrap();

    let py = python_check(&dir, ns, "MarketData", &name, 1, 2);
    assert_eq!(py["books"]["len"], 64);
    assert_eq!(py["trades"]["tail"], 7);
    assert_eq!(py["trades"]["capacity"], 4096);
    assert_eq!(py["symbols"]["size"], 3);
    assert_eq!(py["symbols"]["key_size"], 12);
    assert_eq!(py["symbols"]["value_size"], 4);
    assert_eq!(py["books_lock"]["readers"], 0);
    verify_array(&m.books, 2).unwrap();

    let out = cpp_check(&dir, ns, &c, def, &name, 2, 3);
    assert!(out.contains("books 64"), "{out}");
    verify_array(&m.books, 3).unwrap();

    let again = market::MarketData::open(&name).unwrap();
    assert_eq!(again.symbols.get(&FixedStr::new("NVDA").unwrap()), Some(2));
    let b = again.books.get(5).unwrap();
    let _venue: OpenEnum<market::Venue> = b.venue;
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn robot_round_trips_rust_python_cpp() {
    let c = compiled();
    let (ns, def) = segment_def(&c, "Robot");
    let dir = generated("xl-robot", &c);
    let name = unique_name("robot");
    let _g = Unlink(name.clone());
    let r = robot::Robot::create(&name).unwrap();
    check_entries(&r.segment, def);
    fill_array(&r.joints, 1);
    fill_array(&r.poses, 1);
    r.state
        .set(pattern_value::<robot::RobotState>(1, 0))
        .unwrap();
    for i in 0..3 {
        r.commands
            .try_send(pattern_value::<robot::Command>(6, i))
            .unwrap();
    }

    let py = python_check(&dir, ns, "Robot", &name, 1, 2);
    assert_eq!(py["joints"]["len"], 6);
    assert_eq!(py["poses"]["len"], 4);
    assert_eq!(py["commands"]["capacity"], 64);
    assert_eq!(py["commands"]["closed"], 0);
    assert_eq!(py["startup"]["participants"], 3);
    assert_eq!(py["state_lock"]["count"], 1);
    verify_array(&r.joints, 2).unwrap();
    verify_array(&r.poses, 2).unwrap();

    let out = cpp_check(&dir, ns, &c, def, &name, 2, 3);
    assert!(out.contains("joints 6") && out.contains("poses 4"), "{out}");
    verify_array(&r.joints, 3).unwrap();
    verify_array(&r.poses, 3).unwrap();

    let again = robot::Robot::open(&name).unwrap();
    for i in 0..3 {
        let cmd = again.commands.try_recv().unwrap().unwrap();
        assert_eq!(
            zeroipc::element::bytes_of(&cmd),
            &element_bytes(robot::Command::LAYOUT, 6, i)[..]
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn every_schema_segment_is_covered_here() {
    let c = compiled();
    let mut names: Vec<&str> = c
        .files
        .iter()
        .flat_map(|f| f.segments.iter().map(|s| s.name.as_str()))
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["MarketData", "Robot", "Telemetry"],
        "add a round-trip test for each new schema segment"
    );
}

#[test]
fn opening_a_segment_of_another_schema_is_refused_in_every_language() {
    let c = compiled();
    let dir = generated("xl-mismatch", &c);
    let name = unique_name("mismatch");
    let _g = Unlink(name.clone());
    let _t = telemetry::Telemetry::create(&name).unwrap();
    let err = robot::Robot::open(&name).unwrap_err().to_string();
    assert!(
        err.contains("schema fingerprint") && err.contains("Robot"),
        "{err}"
    );
    assert!(err.contains("first difference at line 2"), "{err}");
    let py = Command::new("python3")
        .arg("-c")
        .arg(format!("import robot; robot.Robot.open({name:?})"))
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(!py.status.success());
    let stderr = String::from_utf8_lossy(&py.stderr);
    assert!(
        stderr.contains("SchemaError") && stderr.contains("does not match Robot"),
        "{stderr}"
    );
    let src = "#include \"robot.hpp\"\n#include <cstdio>\nint main(int, char** argv) {\n    try { auto m = zeroipc_schema::Mapping::open(argv[1]); robot::Robot::open(m); }\n    catch (const zeroipc_schema::Error& e) { std::puts(e.what()); return 0; }\n    return 1;\n}\n";

    let bin = gxx(&dir, "mismatch", src);
    let out = run(Command::new(bin).arg(&name));
    assert!(out.contains("does not match Robot"), "{out}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_plain_segment_without_schema_entry_is_refused() {
    let name = unique_name("noschema");
    let _g = Unlink(name.clone());
    let seg = Segment::create(&name, 1 << 16).unwrap();
    zeroipc::Array::<u64>::create(&seg, "readings", 16).unwrap();
    let err = telemetry::Telemetry::open(&name).unwrap_err().to_string();
    assert!(err.contains("no __schema entry"), "{err}");
    // Creating over an existing name fails and leaves the old one alone.
    assert!(telemetry::Telemetry::create(&name).is_err());
    assert!(Segment::open(&name)
        .unwrap()
        .find("readings")
        .unwrap()
        .is_some());
}
