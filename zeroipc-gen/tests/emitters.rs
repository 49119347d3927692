//! Issue 3 emitters, checked against the real toolchains: the numpy module
//! imported by python3 gives dtypes equal to the Rust metadata, the C++
//! header compiles with the strict flags (its static_asserts are the
//! proof), and Python reads a Rust-written Array of a struct through the
//! emitted dtype over the mapped /dev/shm file, checking every field.
//!
//! The types here implement `ShmElement` by hand (the layouts a derive
//! would produce); `tests/tests/schema_parity.rs` repeats the checks with
//! `#[derive(ShmLayout)]` types.

use zeroipc_testsupport::pattern as support;

use serde_json::Value;
use std::process::Command;
use support::*;
use zeroipc::layout::{Field, Kind, Prim, TypeLayout, Variant};
use zeroipc::{Array, FixedStr, Segment, ShmElement};
use zeroipc_gen::emit::{self, cpp, python, rust, Options};

#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C)]
struct Vec3 {
    x: f64,
    y: f64,
    z: f64,
}

// SAFETY: three f64, no padding, every bit pattern valid; LAYOUT matches.
unsafe impl ShmElement for Vec3 {
    const LAYOUT: &'static TypeLayout = &TypeLayout {
        name: "Vec3",
        size: 24,
        align: 8,
        kind: Kind::Struct {
            fields: &[
                Field {
                    name: "x",
                    offset: 0,
                    layout: f64::LAYOUT,
                    doc: "Metres east.",
                },
                Field {
                    name: "y",
                    offset: 8,
                    layout: f64::LAYOUT,
                    doc: "",
                },
                Field {
                    name: "z",
                    offset: 16,
                    layout: f64::LAYOUT,
                    doc: "",
                },
            ],
        },
        doc: "A point in space.\n\nSecond paragraph.",
    };
}

#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(transparent)]
struct Mode(u8);

// SAFETY: a transparent u8; any value is accepted (open enum).
unsafe impl ShmElement for Mode {
    const LAYOUT: &'static TypeLayout = &TypeLayout {
        name: "Mode",
        size: 1,
        align: 1,
        kind: Kind::OpenEnum {
            repr: Prim::U8,
            variants: &[
                Variant {
                    name: "Idle",
                    value: 0,
                    doc: "Not moving.",
                },
                Variant {
                    name: "Position",
                    value: 1,
                    doc: "",
                },
                Variant {
                    name: "None",
                    value: 7,
                    doc: "A Python keyword.",
                },
                Variant {
                    name: "Fault",
                    value: 255,
                    doc: "",
                },
            ],
        },
        doc: "Control mode.",
    };
}

#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(transparent)]
struct Level(i16);

// SAFETY: a transparent i16 open enum.
unsafe impl ShmElement for Level {
    const LAYOUT: &'static TypeLayout = &TypeLayout {
        name: "Level",
        size: 2,
        align: 2,
        kind: Kind::OpenEnum {
            repr: Prim::I16,
            variants: &[
                Variant {
                    name: "Low",
                    value: -300,
                    doc: "",
                },
                Variant {
                    name: "High",
                    value: 300,
                    doc: "",
                },
            ],
        },
        doc: "",
    };
}

#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C)]
struct Reading {
    ts: u64,
    id: u32,
    mode: Mode,
    flags: [u8; 3],
    pos: Vec3,
    hist: [[f32; 3]; 2],
    label: FixedStr<12>,
    level: Level,
    small: i8,
    default: u8,
    path: [Vec3; 2],
    codes: [Mode; 4],
    names: [FixedStr<5>; 2],
    pad0: [u8; 2],
    delta: i32,
    seq: u32,
    big: i64,
}

const READING_FIELDS: &[Field] = &[
    Field {
        name: "ts",
        offset: 0,
        layout: u64::LAYOUT,
        doc: "Nanoseconds since boot.",
    },
    Field {
        name: "id",
        offset: 8,
        layout: u32::LAYOUT,
        doc: "",
    },
    Field {
        name: "mode",
        offset: 12,
        layout: Mode::LAYOUT,
        doc: "",
    },
    Field {
        name: "flags",
        offset: 13,
        layout: <[u8; 3]>::LAYOUT,
        doc: "",
    },
    Field {
        name: "pos",
        offset: 16,
        layout: Vec3::LAYOUT,
        doc: "Where.\nTwo lines.",
    },
    Field {
        name: "hist",
        offset: 40,
        layout: <[[f32; 3]; 2]>::LAYOUT,
        doc: "",
    },
    Field {
        name: "label",
        offset: 64,
        layout: FixedStr::<12>::LAYOUT,
        doc: "",
    },
    Field {
        name: "level",
        offset: 76,
        layout: Level::LAYOUT,
        doc: "",
    },
    Field {
        name: "small",
        offset: 78,
        layout: i8::LAYOUT,
        doc: "",
    },
    Field {
        name: "default",
        offset: 79,
        layout: u8::LAYOUT,
        doc: "A C++ keyword.",
    },
    Field {
        name: "path",
        offset: 80,
        layout: <[Vec3; 2]>::LAYOUT,
        doc: "",
    },
    Field {
        name: "codes",
        offset: 128,
        layout: <[Mode; 4]>::LAYOUT,
        doc: "",
    },
    Field {
        name: "names",
        offset: 132,
        layout: <[FixedStr<5>; 2]>::LAYOUT,
        doc: "",
    },
    Field {
        name: "pad0",
        offset: 142,
        layout: <[u8; 2]>::LAYOUT,
        doc: "Explicit filler.",
    },
    Field {
        name: "delta",
        offset: 144,
        layout: i32::LAYOUT,
        doc: "",
    },
    Field {
        name: "seq",
        offset: 148,
        layout: u32::LAYOUT,
        doc: "",
    },
    Field {
        name: "big",
        offset: 152,
        layout: i64::LAYOUT,
        doc: "",
    },
];

// SAFETY: repr(C) with the offsets listed (checked against offset_of! in
// `hand_written_layouts_are_right`), no padding, all fields plain data.
unsafe impl ShmElement for Reading {
    const LAYOUT: &'static TypeLayout = &TypeLayout {
        name: "Reading",
        size: 160,
        align: 8,
        kind: Kind::Struct {
            fields: READING_FIELDS,
        },
        doc: "One sample of a sensor.",
    };
}

fn roots() -> Vec<&'static TypeLayout> {
    vec![Reading::LAYOUT, <[u32; 4]>::LAYOUT]
}

#[test]
fn hand_written_layouts_are_right() {
    assert_eq!(size_of::<Reading>(), Reading::LAYOUT.size);
    assert_eq!(align_of::<Reading>(), Reading::LAYOUT.align);
    let offs = [
        std::mem::offset_of!(Reading, ts),
        std::mem::offset_of!(Reading, id),
        std::mem::offset_of!(Reading, mode),
        std::mem::offset_of!(Reading, flags),
        std::mem::offset_of!(Reading, pos),
        std::mem::offset_of!(Reading, hist),
        std::mem::offset_of!(Reading, label),
        std::mem::offset_of!(Reading, level),
        std::mem::offset_of!(Reading, small),
        std::mem::offset_of!(Reading, default),
        std::mem::offset_of!(Reading, path),
        std::mem::offset_of!(Reading, codes),
        std::mem::offset_of!(Reading, names),
        std::mem::offset_of!(Reading, pad0),
        std::mem::offset_of!(Reading, delta),
        std::mem::offset_of!(Reading, seq),
        std::mem::offset_of!(Reading, big),
    ];
    let meta: Vec<usize> = READING_FIELDS.iter().map(|f| f.offset).collect();
    assert_eq!(offs.to_vec(), meta);
    // Every byte is covered by exactly one field (no padding).
    let mut covered = vec![0u8; Reading::LAYOUT.size];
    for f in READING_FIELDS {
        for c in &mut covered[f.offset..f.offset + f.layout.size] {
            *c += 1;
        }
    }
    assert!(covered.iter().all(|&c| c == 1), "{covered:?}");
}

#[test]
fn types_come_in_dependency_order_once() {
    let types = emit::collect_types(&roots()).unwrap();
    let names: Vec<&str> = types.iter().map(|t| t.name).collect();
    assert_eq!(names, ["Mode", "Vec3", "Level", "Reading"]);
}

#[test]
fn output_is_deterministic() {
    let o = Options::new("demo");
    assert_eq!(
        python::module(&roots(), &o).unwrap(),
        python::module(&roots(), &o).unwrap()
    );
    assert_eq!(
        cpp::header(&roots(), &o).unwrap(),
        cpp::header(&roots(), &o).unwrap()
    );
    assert_eq!(
        rust::source(&roots(), &o).unwrap(),
        rust::source(&roots(), &o).unwrap()
    );
}

#[test]
fn different_types_with_one_name_are_refused() {
    static OTHER: TypeLayout = TypeLayout {
        name: "Vec3",
        size: 4,
        align: 4,
        kind: Kind::Struct {
            fields: &[Field {
                name: "x",
                offset: 0,
                layout: f32::LAYOUT,
                doc: "",
            }],
        },
        doc: "",
    };
    let err = emit::collect_types(&[Reading::LAYOUT, &OTHER]).unwrap_err();
    assert!(err.to_string().contains("\"Vec3\""), "{err}");
    assert!(python::module(&[Reading::LAYOUT, &OTHER], &Options::new("x")).is_err());
}

#[test]
fn doc_lines_normalise() {
    assert_eq!(emit::doc_lines(" a\n  b\n\n c \n"), ["a", " b", "", "c"]);
    assert_eq!(emit::doc_lines("\n\nx\n\n"), ["x"]);
    assert!(emit::doc_lines("").is_empty());
}

#[test]
fn renderings_contain_what_the_spec_asks() {
    let o = Options::new("demo");
    let py = python::module(&roots(), &o).unwrap();
    assert!(py.contains("\"offsets\": [0, 8, 12, 13, 16, 40, 64, 76, 78, 79, 80, 128, 132, 142, 144, 148, 152],"), "{py}");
    assert!(py.contains("\"itemsize\": 160,"));
    assert!(py.contains("class Mode(enum.IntEnum):"));
    assert!(
        py.contains("    None_ = 7\n"),
        "Python keywords get a trailing underscore"
    );
    assert!(
        py.contains("(\"<f4\", (2, 3)),"),
        "multi-dimensional arrays keep their shape"
    );
    assert!(py.contains("\"ts\",  # Nanoseconds since boot."));
    let h = cpp::header(&roots(), &o).unwrap();
    assert!(h.contains("enum class Mode : std::uint8_t {"));
    assert!(h.contains("    Fault = 255,"));
    assert!(h.contains("enum class Level : std::int16_t {\n    Low = -300,"));
    assert!(h.contains("    float hist[2][3];"));
    assert!(h.contains("    char label[12];"));
    assert!(h.contains("    char names[2][5];"));
    assert!(h.contains("    Mode codes[4];"));
    assert!(h.contains("    std::uint8_t default_;"));
    assert!(h.contains(
        "static_assert(offsetof(Reading, default_) == 79, \"Reading::default_: offset\");"
    ));
    assert!(h.contains(&format!(
        "inline constexpr std::uint64_t Reading_fingerprint = {:#018x}ULL;",
        Reading::LAYOUT.fingerprint()
    )));
    let r = rust::source(&roots(), &o).unwrap();
    assert!(r.contains("    pub label: ::zeroipc::FixedStr<12>,"));
    assert!(r.contains("    pub codes: [::zeroipc::OpenEnum<Mode>; 4],"));
    assert!(r.contains("    pub hist: [[f32; 3]; 2],"));
    assert!(r.contains("#[repr(i16)]"));
}

const DTYPES_PY: &str = r#"
import importlib, json, sys
m = importlib.import_module(sys.argv[1])
out = {}
for name, (dt, fp) in m.TYPES.items():
    layout = getattr(m, name + "_LAYOUT")
    entry = {"itemsize": dt.itemsize, "fingerprint": fp, "computed": m.fingerprint(layout)}
    if dt.names:
        entry["offsets"] = {f: dt.fields[f][1] for f in dt.names}
        entry["field_sizes"] = {f: dt.fields[f][0].itemsize for f in dt.names}
    out[name] = entry
print(json.dumps(out))
"#;

#[test]
fn python_dtypes_equal_the_rust_metadata() {
    let dir = tempdir("py-dtypes");
    let src = python::module(&roots(), &Options::new("demo_types")).unwrap();
    std::fs::write(dir.join("demo_types.py"), &src).unwrap();
    run(Command::new("python3")
        .arg("-m")
        .arg("py_compile")
        .arg(dir.join("demo_types.py")));
    let out: Value = serde_json::from_str(&python(&dir, DTYPES_PY, &["demo_types"])).unwrap();
    let types = emit::collect_types(&roots()).unwrap();
    assert_eq!(out.as_object().unwrap().len(), types.len());
    for t in types {
        let e = &out[t.name];
        assert_eq!(e["itemsize"], t.size as u64, "{}", t.name);
        assert_eq!(e["fingerprint"], t.fingerprint(), "{}", t.name);
        assert_eq!(
            e["computed"],
            t.fingerprint(),
            "Python's FNV-1a of {} differs",
            t.name
        );
        if let Kind::Struct { fields } = t.kind {
            for f in fields {
                assert_eq!(
                    e["offsets"][f.name], f.offset as u64,
                    "{}.{}",
                    t.name, f.name
                );
                assert_eq!(
                    e["field_sizes"][f.name], f.layout.size as u64,
                    "{}.{}",
                    t.name, f.name
                );
            }
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn python_import_fails_on_a_wrong_fingerprint() {
    let dir = tempdir("py-badfp");
    let src = python::module(&roots(), &Options::new("bad")).unwrap();
    let fp = format!(
        "Vec3_FINGERPRINT: int = {:#018x}",
        Vec3::LAYOUT.fingerprint()
    );
    assert!(src.contains(&fp));
    let src = src.replace(&fp, "Vec3_FINGERPRINT: int = 0x0000000000000001");
    std::fs::write(dir.join("bad.py"), src).unwrap();
    let out = Command::new("python3")
        .arg("-c")
        .arg("import bad")
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Vec3: fingerprint"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn cpp_header_compiles_with_strict_flags_and_agrees() {
    let dir = tempdir("cpp-strict");
    let h = cpp::header(&roots(), &Options::new("demo")).unwrap();
    std::fs::write(dir.join("demo.hpp"), &h).unwrap();
    let src = r#"
#include "demo.hpp"
#include <cstdio>
int main() {
    demo::Reading r{};
    r.mode = static_cast<demo::Mode>(200);  // open: any value is fine
    std::printf("%zu %zu %llu %llu %llu\n", sizeof(demo::Reading), offsetof(demo::Reading, big),
        static_cast<unsigned long long>(demo::Reading_fingerprint),
        static_cast<unsigned long long>(demo::Mode_fingerprint),
        static_cast<unsigned long long>(static_cast<unsigned>(r.mode)));
    return 0;
}
"#;
    let bin = gxx(&dir, "strict", src);
    let out = run(&mut Command::new(bin));
    assert_eq!(
        out.trim(),
        format!(
            "160 152 {} {} 200",
            Reading::LAYOUT.fingerprint(),
            Mode::LAYOUT.fingerprint()
        )
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn cpp_static_asserts_catch_a_wrong_offset() {
    let dir = tempdir("cpp-wrong");
    let h = cpp::header(&roots(), &Options::new("demo")).unwrap();
    let h = h.replace(
        "offsetof(Reading, big) == 152",
        "offsetof(Reading, big) == 150",
    );
    std::fs::write(dir.join("demo.hpp"), &h).unwrap();
    std::fs::write(
        dir.join("w.cpp"),
        "#include \"demo.hpp\"\nint main() { return 0; }\n",
    )
    .unwrap();
    let out = Command::new("g++")
        .args(CXX_FLAGS)
        .arg("-c")
        .arg("w.cpp")
        .arg("-o")
        .arg("w.o")
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Reading::big: offset"));
    std::fs::remove_dir_all(&dir).ok();
}

const READ_ARRAY_PY: &str = r#"
import mmap, os, struct, sys
import numpy as np
import demo_types as m
import pattern

seg, entry_name, seed, new_seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
fd = os.open("/dev/shm/" + seg.lstrip("/"), os.O_RDWR)
mm = mmap.mmap(fd, os.fstat(fd).st_size)
magic, version, count, max_entries = struct.unpack_from("<IIII", mm, 0)
assert (magic, version) == (0x5A49504D, 2), (magic, version)
for i in range(count):
    raw, off, size = struct.unpack_from("<32sQQ", mm, 32 + 48 * i)
    if raw.split(b"\0")[0].decode() == entry_name:
        break
else:
    raise SystemExit("entry not found")
(capacity,) = struct.unpack_from("<Q", mm, off)
assert 8 + capacity * m.Reading.itemsize == size, (capacity, size)
arr = np.ndarray(shape=(capacity,), dtype=m.Reading, buffer=mm, offset=off + 8)
pattern.check(arr, m.Reading_LAYOUT, seed, entry_name)
# Spot checks by field name, so a pattern bug cannot hide a layout bug.
r0 = arr[0]
print("label0", bytes(r0["label"]).decode(), "ts0", int(r0["ts"]), "mode1", int(arr[1]["mode"]))
pattern.write(arr, m.Reading_LAYOUT, new_seed)
mm.flush()
del arr, r0
mm.close()
os.close(fd)
print("ok", capacity)
"#;

#[test]
fn python_reads_a_rust_written_array_through_the_emitted_dtype() {
    let dir = tempdir("py-array");
    std::fs::write(
        dir.join("demo_types.py"),
        python::module(&roots(), &Options::new("demo_types")).unwrap(),
    )
    .unwrap();
    let name = unique_name("emit-array");
    let _guard = Unlink(name.clone());
    let seg = Segment::create(&name, 1 << 20).unwrap();
    Array::<u64>::create(&seg, "before", 3).unwrap(); // the array is not the first entry
    let a = Array::<Reading>::create(&seg, "readings", 37).unwrap();
    fill_array(&a, 1);
    // Field-by-field expectations, independent of the pattern code.
    let r0 = a.get(0).unwrap();
    assert_eq!(r0.ts, 7919u64.wrapping_mul(2654435761));
    assert_eq!(r0.label.as_str().unwrap(), format!("v{}", 15 * 17 + 7919));
    let mode1 = a.get(1).unwrap().mode.0;
    let out = python(&dir, READ_ARRAY_PY, &[&name, "readings", "1", "2"]);
    assert!(out.contains("ok 37"), "{out}");
    assert!(
        out.contains(&format!("label0 {}", r0.label.as_str().unwrap())),
        "{out}"
    );
    assert!(out.contains(&format!("ts0 {}", r0.ts)), "{out}");
    assert!(out.contains(&format!("mode1 {mode1}")), "{out}");
    verify_array(&a, 2).unwrap();
    assert!(verify_array(&a, 1).is_err());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn cpp_reads_and_writes_a_rust_written_array() {
    let dir = tempdir("cpp-array");
    std::fs::write(
        dir.join("demo.hpp"),
        cpp::header(&roots(), &Options::new("demo")).unwrap(),
    )
    .unwrap();
    let funcs = cpp_pattern_functions("readings", "demo::Reading", Reading::LAYOUT);
    let src = format!(
        r#"#include "demo.hpp"
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
{funcs}
int main(int argc, char** argv) {{
    if (argc != 3) return 2;
    int fd = shm_open(argv[1], O_RDWR, 0);
    if (fd < 0) return 3;
    struct stat st;
    fstat(fd, &st);
    void* p = mmap(nullptr, static_cast<std::size_t>(st.st_size), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) return 4;
    unsigned char* base = static_cast<unsigned char*>(p);
    std::uint32_t count;
    std::memcpy(&count, base + 8, 4);
    for (std::uint32_t i = 0; i < count; ++i) {{
        unsigned char* e = base + 32 + 48 * i;
        if (std::strcmp(reinterpret_cast<char*>(e), argv[2]) == 0) {{
            std::uint64_t off;
            std::memcpy(&off, e + 32, 8);
            std::uint64_t cap;
            std::memcpy(&cap, base + off, 8);
            auto* a = reinterpret_cast<demo::Reading*>(base + off + 8);
            if (!check_readings(a, cap, 1)) return 5;
            write_readings(a, cap, 3);
            std::printf("ok %llu\n", static_cast<unsigned long long>(cap));
            return 0;
        }}
    }}
    return 6;
}}
"#
    );
    let bin = gxx(&dir, "rw", &src);
    let name = unique_name("emit-cpp");
    let _guard = Unlink(name.clone());
    let seg = Segment::create(&name, 1 << 20).unwrap();
    let a = Array::<Reading>::create(&seg, "readings", 19).unwrap();
    fill_array(&a, 1);
    let out = run(Command::new(bin).arg(&name).arg("readings"));
    assert_eq!(out.trim(), "ok 19");
    verify_array(&a, 3).unwrap();
    std::fs::remove_dir_all(&dir).ok();
}
