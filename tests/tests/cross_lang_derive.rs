//! Issue 3 with real `#[derive(ShmLayout)]` types: the emitted C++ compiles
//! with `-std=c++17 -Wall -Wextra -Werror -pedantic` and its sizeof/offsetof
//! equal Rust's `offset_of!`; the emitted numpy dtypes have the itemsize and
//! offsets of the Rust metadata; Python reads a Rust-written `Array` of a
//! derived struct through the emitted dtype (a numpy view over the mapped
//! /dev/shm file at the entry offset + 8) and checks every field; Python
//! and C++ write new values that Rust reads back.

use zeroipc_testsupport::pattern as support;

/// What `emit::rust::source` renders for the types below, committed and
/// compiled here (its const assertions must hold); kept equal to the
/// emitter's output by `emitted_rust_is_up_to_date_and_compiles`.
#[path = "cross_lang_derive/emitted.rs"]
#[allow(dead_code)]
#[rustfmt::skip]
mod emitted;

use serde_json::Value;
use std::mem::offset_of;
use std::process::Command;
use support::*;
use zeroipc::layout::{Kind, TypeLayout};
use zeroipc::{Array, FixedStr, OpenEnum, Segment, ShmElement, ShmLayout};
use zeroipc_gen::emit::{self, cpp, python, rust, Options};

/// A point.
#[derive(Clone, Copy, Debug, PartialEq, ShmLayout)]
#[repr(C)]
struct Vec3 {
    x: f64,
    y: f64,
    z: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ShmLayout)]
#[repr(u8)]
enum Status {
    Ok = 0,
    Degraded = 1,
    /// Needs a reset.
    Failed = 7,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ShmLayout)]
#[repr(i32)]
enum Axis {
    Home = -1,
    X = 0,
    Y,
    Z,
}

/// A tuple struct: fields `0` and `1`.
#[derive(Clone, Copy, Debug, PartialEq, ShmLayout)]
#[repr(C)]
struct Pair(u32, i32);

/// Everything at once.
#[derive(Clone, Copy, ShmLayout)]
#[repr(C)]
struct Reading {
    /// Nanoseconds.
    ts: u64,
    status: OpenEnum<Status>,
    /// A C++ keyword as a field name.
    new: u8,
    small: i16,
    axis: OpenEnum<Axis>,
    pair: Pair,
    _pad: [u8; 8],
    pos: Vec3,
    hist: [[f32; 3]; 2],
    label: FixedStr<12>,
    codes: [OpenEnum<Status>; 4],
    path: [Vec3; 2],
    names: [FixedStr<5>; 2],
    tail: u16,
    more: [u8; 4],
}

fn roots() -> Vec<&'static TypeLayout> {
    vec![Reading::LAYOUT]
}

fn reading_offsets() -> Vec<(&'static str, usize)> {
    vec![
        ("ts", offset_of!(Reading, ts)),
        ("status", offset_of!(Reading, status)),
        ("new", offset_of!(Reading, new)),
        ("small", offset_of!(Reading, small)),
        ("axis", offset_of!(Reading, axis)),
        ("pair", offset_of!(Reading, pair)),
        ("_pad", offset_of!(Reading, _pad)),
        ("pos", offset_of!(Reading, pos)),
        ("hist", offset_of!(Reading, hist)),
        ("label", offset_of!(Reading, label)),
        ("codes", offset_of!(Reading, codes)),
        ("path", offset_of!(Reading, path)),
        ("names", offset_of!(Reading, names)),
        ("tail", offset_of!(Reading, tail)),
        ("more", offset_of!(Reading, more)),
    ]
}

#[test]
fn metadata_equals_the_compiler() {
    let Kind::Struct { fields } = Reading::LAYOUT.kind else {
        panic!()
    };
    let meta: Vec<(&str, usize)> = fields.iter().map(|f| (f.name, f.offset)).collect();
    assert_eq!(meta, reading_offsets());
    assert_eq!(Reading::LAYOUT.size, size_of::<Reading>());
    assert_eq!(Reading::LAYOUT.align, align_of::<Reading>());
    let names: Vec<&str> = emit::collect_types(&roots())
        .unwrap()
        .iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(names, ["Status", "Axis", "Pair", "Vec3", "Reading"]);
}

#[test]
fn emitted_python_dtypes_have_the_rust_offsets() {
    let dir = tempdir("derive-py");
    std::fs::write(
        dir.join("derived.py"),
        python::module(&roots(), &Options::new("derived")).unwrap(),
    )
    .unwrap();
    run(Command::new("python3")
        .arg("-m")
        .arg("py_compile")
        .arg(dir.join("derived.py")));
    let script = r#"
import json, derived as m
out = {}
for name, (dt, fp) in m.TYPES.items():
    e = {"itemsize": dt.itemsize, "fp": fp, "computed": m.fingerprint(getattr(m, name + "_LAYOUT"))}
    if dt.names:
        e["offsets"] = [[f, dt.fields[f][1]] for f in dt.names]
    out[name] = e
out["axis_home"] = int(m.Axis.Home)
out["status_failed"] = int(m.Status.Failed)
print(json.dumps(out))
"#;
    let py: Value = serde_json::from_str(python(&dir, script, &[]).trim()).unwrap();
    for t in emit::collect_types(&roots()).unwrap() {
        assert_eq!(py[t.name]["itemsize"], t.size, "{}", t.name);
        assert_eq!(py[t.name]["fp"], t.fingerprint(), "{}", t.name);
        assert_eq!(
            py[t.name]["computed"],
            t.fingerprint(),
            "{}: Python's FNV-1a",
            t.name
        );
    }
    let offs: Vec<(String, usize)> = py["Reading"]["offsets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p[0].as_str().unwrap().to_owned(),
                p[1].as_u64().unwrap() as usize,
            )
        })
        .collect();
    let want: Vec<(String, usize)> = reading_offsets()
        .into_iter()
        .map(|(n, o)| (n.to_owned(), o))
        .collect();
    assert_eq!(offs, want);
    assert_eq!(
        py["Pair"]["offsets"],
        serde_json::json!([["0", 0], ["1", 4]])
    );
    assert_eq!(py["axis_home"], -1);
    assert_eq!(py["status_failed"], 7);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn emitted_cpp_compiles_strictly_and_has_the_rust_offsets() {
    let dir = tempdir("derive-cpp");
    std::fs::write(
        dir.join("derived.hpp"),
        cpp::header(&roots(), &Options::new("derived")).unwrap(),
    )
    .unwrap();
    let mut prints = String::new();
    for (n, _) in reading_offsets() {
        let id = cpp::cpp_ident(n);
        prints.push_str(&format!(
            "    std::printf(\"{n} %zu\\n\", offsetof(derived::Reading, {id}));\n"
        ));
    }
    let src = format!(
        "#include \"derived.hpp\"\n#include <cstdio>\nint main() {{\n{prints}    std::printf(\"size %zu align %zu pair1 %zu\\n\", sizeof(derived::Reading), alignof(derived::Reading), offsetof(derived::Pair, _1));\n    return 0;\n}}\n"
    );
    let out = run(&mut Command::new(gxx(&dir, "offsets", &src)));
    let mut want = String::new();
    for (n, o) in reading_offsets() {
        want.push_str(&format!("{n} {o}\n"));
    }
    want.push_str(&format!(
        "size {} align {} pair1 4\n",
        size_of::<Reading>(),
        align_of::<Reading>()
    ));
    assert_eq!(out, want);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn emitted_rust_for_derived_types_is_derive_source() {
    let src = rust::source(&roots(), &Options::new("derived")).unwrap();
    assert!(
        src.contains("pub struct Pair(\n    pub u32,\n    pub i32,\n);"),
        "{src}"
    );
    assert!(src.contains("#[repr(i32)]"));
    assert!(src.contains("    Home = -1,"));
    assert!(src.contains("    pub axis: ::zeroipc::OpenEnum<Axis>,"));
    assert!(src.contains(&format!(
        "assert!(<Reading as ::zeroipc::ShmElement>::LAYOUT.fingerprint() == {:#018x});",
        Reading::LAYOUT.fingerprint()
    )));
}

const READ_PY: &str = r#"
import mmap, os, struct, sys
import numpy as np
import derived as m, pattern
seg, entry = sys.argv[1], sys.argv[2]
fd = os.open("/dev/shm/" + seg.lstrip("/"), os.O_RDWR)
mm = mmap.mmap(fd, os.fstat(fd).st_size)
count = struct.unpack_from("<I", mm, 8)[0]
for i in range(count):
    raw, off, size = struct.unpack_from("<32sQQ", mm, 32 + 48 * i)
    if raw.split(b"\0")[0].decode() == entry:
        break
else:
    raise SystemExit("no entry")
cap = struct.unpack_from("<Q", mm, off)[0]
assert 8 + cap * m.Reading.itemsize == size
a = np.ndarray(shape=(cap,), dtype=m.Reading, buffer=mm, offset=off + 8)
pattern.check(a, m.Reading_LAYOUT, 1, entry)
r = a[4]
print("label", bytes(r["label"]).decode())
print("status", int(r["status"]), "axis", int(r["axis"]), "pair1", int(r["pair"]["1"]))
print("pos_y", repr(float(r["pos"]["y"])), "hist12", repr(float(r["hist"][1][2])))
print("names1", bytes(r["names"][1]).decode(), "path1z", repr(float(r["path"][1]["z"])))
pattern.write(a, m.Reading_LAYOUT, 2)
del a, r
mm.close()
os.close(fd)
"#;

#[test]
fn python_and_cpp_read_and_write_a_rust_array_of_a_derived_struct() {
    let dir = tempdir("derive-array");
    std::fs::write(
        dir.join("derived.py"),
        python::module(&roots(), &Options::new("derived")).unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.join("derived.hpp"),
        cpp::header(&roots(), &Options::new("derived")).unwrap(),
    )
    .unwrap();
    let name = unique_name("derive-array");
    let _g = Unlink(name.clone());
    let seg = Segment::create(&name, 1 << 20).unwrap();
    Array::<u32>::create(&seg, "first", 5).unwrap();
    let a = Array::<Reading>::create(&seg, "readings", 23).unwrap();
    fill_array(&a, 1);
    let r = a.get(4).unwrap();

    let out = python(&dir, READ_PY, &[&name, "readings"]);
    // Field-by-name expectations computed from the Rust value.
    assert!(
        out.contains(&format!("label {}\n", r.label.as_str().unwrap())),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "status {} axis {} pair1 {}\n",
            r.status.raw(),
            r.axis.raw(),
            r.pair.1
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "pos_y {:?} hist12 {:?}\n",
            r.pos.y, r.hist[1][2] as f64
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "names1 {} path1z {:?}\n",
            r.names[1].as_str().unwrap(),
            r.path[1].z
        )),
        "{out}"
    );
    verify_array(&a, 2).unwrap();

    let funcs = cpp_pattern_functions("readings", "derived::Reading", Reading::LAYOUT);
    let src = format!(
        r#"#include "derived.hpp"
#include <cstdio>
#include <cstring>
#include <string>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
{funcs}
int main(int, char** argv) {{
    int fd = shm_open(argv[1], O_RDWR, 0);
    struct stat st;
    fstat(fd, &st);
    auto* base = static_cast<unsigned char*>(mmap(nullptr, static_cast<std::size_t>(st.st_size), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
    std::uint32_t count;
    std::memcpy(&count, base + 8, 4);
    for (std::uint32_t i = 0; i < count; ++i) {{
        unsigned char* e = base + 32 + 48 * i;
        if (std::strcmp(reinterpret_cast<char*>(e), "readings") != 0) continue;
        std::uint64_t off, cap;
        std::memcpy(&off, e + 32, 8);
        std::memcpy(&cap, base + off, 8);
        auto* a = reinterpret_cast<derived::Reading*>(base + off + 8);
        if (!check_readings(a, cap, 2)) return 5;
        if (a[4].status != static_cast<derived::Status>({status})) return 6;
        write_readings(a, cap, 3);
        std::printf("ok %llu\n", static_cast<unsigned long long>(cap));
        return 0;
    }}
    return 7;
}}
"#,
        status = a.get(4).unwrap().status.raw()
    );
    let out = run(Command::new(gxx(&dir, "rw", &src)).arg(&name));
    assert_eq!(out.trim(), "ok 23");
    verify_array(&a, 3).unwrap();
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn emitted_rust_is_up_to_date_and_compiles() {
    let src = rust::source(&roots(), &Options::new("derived")).unwrap();
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cross_lang_derive/emitted.rs");
    if std::env::var_os("ZEROIPC_BLESS").is_some() {
        std::fs::write(&path, &src).unwrap();
    }
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        src,
        "rerun with ZEROIPC_BLESS=1"
    );
    // The re-emitted types are the same types: same layout, docs included.
    assert_eq!(<emitted::Reading as ShmElement>::LAYOUT, Reading::LAYOUT);
    assert_eq!(<emitted::Pair as ShmElement>::LAYOUT, Pair::LAYOUT);
    let p = emitted::Pair(7, -7);
    assert_eq!((p.0, p.1), (7, -7));
}

// The README example ("Sharing Rust types with Python and C++"), verbatim
// apart from the segment name and the output folder.

#[derive(Clone, Copy, Debug, PartialEq, Eq, ShmLayout)]
#[repr(u8)]
enum Health {
    Ok = 0,
    Degraded = 1,
    Failed = 2,
}

/// One sample of one sensor.
#[derive(Clone, Copy, ShmLayout)]
#[repr(C)]
struct Sample {
    ts_ns: u64,
    value: f64,
    sensor: u16,
    health: OpenEnum<Health>,
    _pad: [u8; 5],
    label: FixedStr<16>,
}

#[test]
fn readme_example_sharing_rust_types_works() {
    use zeroipc_gen::schema::output::{cpp_reader, python_reader};
    let gen = tempdir("readme");
    let name = unique_name("sensors");
    let _g = Unlink(name.clone());
    // Emit the Python and C++ views of the type.
    let opts = Options::new("sensors");
    std::fs::write(
        gen.join("sensors.py"),
        python::module(&[Sample::LAYOUT], &opts).unwrap(),
    )
    .unwrap();
    std::fs::write(
        gen.join("sensors.hpp"),
        cpp::header(&[Sample::LAYOUT], &opts).unwrap(),
    )
    .unwrap();
    std::fs::write(gen.join("zeroipc_schema.py"), python_reader()).unwrap();
    std::fs::write(gen.join("zeroipc_schema.hpp"), cpp_reader()).unwrap();
    // Publish samples.
    let seg = Segment::create(&name, 1 << 20).unwrap();
    let samples = Array::<Sample>::create(&seg, "samples", 64).unwrap();
    samples
        .set(
            0,
            Sample {
                ts_ns: 1,
                value: 21.5,
                sensor: 3,
                health: OpenEnum::new(Health::Ok),
                _pad: [0; 5],
                label: FixedStr::new("boiler").unwrap(),
            },
        )
        .unwrap();
    let _ = Health::Degraded;
    let _ = Health::Failed;

    let py = format!(
        r#"
import sensors, zeroipc_schema
m = zeroipc_schema.Mapping({name:?})
samples = m.array("samples", sensors.Sample)   # zero-copy numpy view
print(samples["value"][0], samples[0]["label"], sensors.Health(samples[0]["health"]).name)
samples["value"][1] = 22.0                      # writes go to shared memory
"#
    );
    let out = python(&gen, &py, &[]);
    assert_eq!(out.trim(), "21.5 b'boiler' Ok");
    assert_eq!(samples.get(1).unwrap().value, 22.0);

    let cpp = format!(
        r#"#include "sensors.hpp"
#include "zeroipc_schema.hpp"
#include <cstdio>
int main() {{
    auto m = zeroipc_schema::Mapping::open({name:?});
    auto samples = m.array<sensors::Sample>("samples");
    std::printf("%.1f %.6s %zu\n", samples[0].value, samples[0].label, samples.size());
    samples[2].health = sensors::Health::Failed;
    return 0;
}}
"#
    );
    let out = run(&mut Command::new(gxx(&gen, "readme", &cpp)));
    assert_eq!(out.trim(), "21.5 boiler 64");
    assert_eq!(samples.get(2).unwrap().health.get(), Ok(Health::Failed));
    std::fs::remove_dir_all(&gen).ok();
}
