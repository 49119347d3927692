//! Parity: a record written in a schema and the same record written as a
//! Rust `#[derive(ShmLayout)]` type have the same layout, the same
//! fingerprint, and render to byte-identical Python, C++ and Rust.
//! The derive types below copy `schemas/common.toml` and
//! `schemas/telemetry.toml` (names, fields, docs).

use zeroipc::layout::TypeLayout;
use zeroipc::{FixedStr, OpenEnum, ShmElement, ShmLayout};
use zeroipc_gen::emit::{cpp, python, rust, Options};
use zeroipc_gen::schema::{compile_path, Compiled};

/// A 3-D vector, in metres.
#[derive(Clone, Copy, ShmLayout)]
#[repr(C)]
struct Vec3 {
    x: f64,
    y: f64,
    z: f64,
}

/// When and by whom a value was produced.
#[derive(Clone, Copy, ShmLayout)]
#[repr(C)]
struct Stamp {
    /// CLOCK_MONOTONIC time in nanoseconds.
    ns: u64,
    /// Producer sequence number.
    seq: u32,
    /// Producer id.
    source: u16,
    /// Explicit padding.
    _pad0: [u8; 2],
}

/// Health of a sensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ShmLayout)]
#[repr(u8)]
enum Status {
    /// Nominal.
    Ok = 0,
    /// Values usable, accuracy reduced.
    Degraded = 1,
    Failed = 2,
    /// Not sampled.
    Offline = 255,
}

/// The latest sample of one sensor.
#[derive(Clone, Copy, ShmLayout)]
#[repr(C)]
struct Reading {
    stamp: Stamp,
    sensor_id: u32,
    status: OpenEnum<Status>,
    /// Valid entries of `values`.
    channels: u8,
    flags: u16,
    /// Calibrated channel values.
    values: [f32; 4],
    /// Recent raw samples, oldest first.
    history: [f32; 8],
    /// Human-readable sensor name.
    label: FixedStr<24>,
    /// Where the sensor is mounted.
    position: Vec3,
}

/// Per-node summary, republished after every sweep.
#[derive(Clone, Copy, ShmLayout)]
#[repr(C)]
struct Summary {
    stamp: Stamp,
    /// Mean of channel 0 per sensor over the last second.
    mean: [f64; 16],
    status: [OpenEnum<Status>; 16],
    /// Sensors currently sampled.
    active: u32,
    /// Explicit padding.
    _pad0: [u8; 4],
}

fn compiled() -> Compiled {
    let c =
        compile_path(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas")).unwrap();
    assert!(!c.has_errors(), "{}", c.render_diagnostics());
    c
}

fn schema_type(c: &Compiled, name: &str) -> &'static TypeLayout {
    c.files
        .iter()
        .flat_map(|f| f.types.iter().copied())
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("no schema type {name}"))
}

fn pairs(c: &Compiled) -> Vec<(&'static TypeLayout, &'static TypeLayout)> {
    vec![
        (Vec3::LAYOUT, schema_type(c, "Vec3")),
        (Stamp::LAYOUT, schema_type(c, "Stamp")),
        (<OpenEnum<Status>>::LAYOUT, schema_type(c, "Status")),
        (Reading::LAYOUT, schema_type(c, "Reading")),
        (Summary::LAYOUT, schema_type(c, "Summary")),
    ]
}

#[test]
fn schema_and_derive_give_the_same_layout_and_fingerprint() {
    let c = compiled();
    for (derived, schema) in pairs(&c) {
        assert_eq!(
            derived.fingerprint(),
            schema.fingerprint(),
            "{}",
            schema.name
        );
        assert_eq!(
            derived, schema,
            "{}: layouts (with docs) differ",
            schema.name
        );
    }
}

#[test]
fn schema_and_derive_render_byte_identical_python_cpp_and_rust() {
    let c = compiled();
    let opts = Options::new("parity");
    for (derived, schema) in pairs(&c) {
        let n = schema.name;
        assert_eq!(
            python::module(&[derived], &opts).unwrap(),
            python::module(&[schema], &opts).unwrap(),
            "{n}: Python"
        );
        assert_eq!(
            cpp::header(&[derived], &opts).unwrap(),
            cpp::header(&[schema], &opts).unwrap(),
            "{n}: C++"
        );
        assert_eq!(
            rust::source(&[derived], &opts).unwrap(),
            rust::source(&[schema], &opts).unwrap(),
            "{n}: Rust"
        );
    }
}

#[test]
fn the_schema_module_contains_the_derive_rendering_of_each_record() {
    // In the generated telemetry.py the type block of a record whose
    // fields are all local is exactly what the derive renders.
    let c = compiled();
    let f = c.file_by_namespace("telemetry").unwrap();
    let generated = zeroipc_gen::schema::output::python_file(&c, f).unwrap();
    let block =
        python::render_types(&[<OpenEnum<Status>>::LAYOUT], &zeroipc_gen::emit::Local).unwrap();
    assert!(generated.contains(&block), "{block}");
    let hpp = zeroipc_gen::schema::output::cpp_file(&c, f).unwrap();
    let block =
        cpp::render_types(&[<OpenEnum<Status>>::LAYOUT], &zeroipc_gen::emit::Local).unwrap();
    assert!(hpp.contains(&block), "{block}");
}
