//! `#[derive(ShmLayout)]`: the recorded layouts agree with the compiler, the
//! fingerprint reacts to every kind of layout edit and to nothing else, one
//! fingerprint is pinned to a literal computed independently from the
//! documented canonical form, and derived types read the C++ reference's
//! golden images.

mod common;

use core::mem::{align_of, offset_of, size_of};
use zeroipc::layout::{Kind, Prim, TypeLayout};
use zeroipc::open_enum::ShmEnum;
use zeroipc::{Array, FixedStr, Map, OpenEnum, ShmElement, ShmLayout};

// ---------------------------------------------------------------- the types

/// A point in space.
#[derive(Clone, Copy, Debug, PartialEq, ShmLayout)]
#[repr(C)]
struct Vec3 {
    /// East, metres.
    x: f64,
    y: f64,
    z: f64,
}

/// Nested structs.
#[derive(Clone, Copy, Debug, PartialEq, ShmLayout)]
#[repr(C)]
struct Particle {
    pos: Vec3,
    vel: Vec3,
    mass: f32,
    charge: i32,
}

/// A fixed array next to a scalar.
#[derive(Clone, Copy, Debug, PartialEq, ShmLayout)]
#[repr(C)]
struct Histogram {
    bins: [u32; 16],
    total: u64,
}

/// A multi-dimensional array.
#[derive(Clone, Copy, Debug, PartialEq, ShmLayout)]
#[repr(C)]
struct Matrix3 {
    m: [[f32; 3]; 3],
    det: f32,
}

/// Job states.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ShmLayout)]
#[repr(u8)]
enum Status {
    /// Waiting to run.
    Queued = 1,
    Running,
    Done = 10,
    Failed,
}

/// An open enum field, with explicit filler for the bytes after it.
#[derive(Clone, Copy, Debug, PartialEq, ShmLayout)]
#[repr(C)]
struct Job {
    id: u64,
    status: OpenEnum<Status>,
    _pad: [u8; 3],
    priority: i32,
}

/// Fixed-capacity strings.
#[derive(Clone, Copy, Debug, PartialEq, ShmLayout)]
#[repr(C)]
struct Named {
    name: FixedStr<24>,
    id: u64,
}

/// Explicit filler between fields.
#[derive(Clone, Copy, Debug, PartialEq, ShmLayout)]
#[repr(C)]
struct Header {
    version: u16,
    _reserved: [u8; 6],
    length: u64,
}

/// A tuple struct.
#[derive(Clone, Copy, Debug, PartialEq, ShmLayout)]
#[repr(C)]
struct Rgba(u8, u8, u8, u8);

/// A transparent newtype.
#[derive(Clone, Copy, Debug, PartialEq, ShmLayout)]
#[repr(transparent)]
struct Metres(f64);

/// A generic struct accepted for every `T` (fields of one type).
#[derive(Clone, Copy, Debug, PartialEq, ShmLayout)]
#[repr(C)]
struct Pair<T> {
    a: T,
    b: T,
}

/// Every signed/unsigned width, smallest first (no padding arises).
#[derive(Clone, Copy, Debug, PartialEq, ShmLayout)]
#[repr(C)]
struct Widths {
    a: i8,
    b: u8,
    c: i16,
    d: u32,
    e: i64,
    f: f32,
    g: u32,
}

/// An array of derived structs, a raw identifier and an explicit alignment.
#[derive(Clone, Copy, Debug, PartialEq, ShmLayout)]
#[repr(C, align(8))]
struct Cloud {
    points: [Vec3; 4],
    r#type: u32,
    count: u32,
}

/// Signed open enum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ShmLayout)]
#[repr(i16)]
enum Direction {
    Down = -1,
    Still,
    Up,
}

// ------------------------------------------------------------- the helpers

fn fields(l: &TypeLayout) -> &'static [zeroipc::layout::Field] {
    match l.kind {
        Kind::Struct { fields } => fields,
        k => panic!("{} is not a struct: {k:?}", l.name),
    }
}

/// Size/alignment against the compiler, every field's offset against
/// `offset_of!`, names in declaration order, and no byte unaccounted for.
macro_rules! check_layout {
    ($t:ty, $name:literal, [$($f:tt),* $(,)?]) => {{
        let l = <$t as ShmElement>::LAYOUT;
        assert_eq!(l.name, $name);
        assert_eq!(l.size, size_of::<$t>(), "size of {}", stringify!($t));
        assert_eq!(l.align, align_of::<$t>(), "align of {}", stringify!($t));
        let fs = fields(l);
        let want: &[(&str, usize)] = &[$((stringify!($f), offset_of!($t, $f))),*];
        assert_eq!(fs.len(), want.len(), "field count of {}", stringify!($t));
        let mut end = 0;
        for (f, (name, off)) in fs.iter().zip(want) {
            assert_eq!(f.name, name.trim_start_matches("r#"), "{}", stringify!($t));
            assert_eq!(f.offset, *off, "offset of {}.{}", stringify!($t), name);
            assert_eq!(f.offset, end, "gap before {}.{}", stringify!($t), name);
            end = f.offset + f.layout.size;
        }
        assert_eq!(end, l.size, "bytes after the last field of {}", stringify!($t));
        l
    }};
}

// ------------------------------------------------------------------- tests

#[test]
fn layouts_match_the_compiler() {
    check_layout!(Vec3, "Vec3", [x, y, z]);
    check_layout!(Particle, "Particle", [pos, vel, mass, charge]);
    check_layout!(Histogram, "Histogram", [bins, total]);
    check_layout!(Matrix3, "Matrix3", [m, det]);
    check_layout!(Job, "Job", [id, status, _pad, priority]);
    check_layout!(Named, "Named", [name, id]);
    check_layout!(Header, "Header", [version, _reserved, length]);
    check_layout!(Rgba, "Rgba", [0, 1, 2, 3]);
    check_layout!(Metres, "Metres", [0]);
    check_layout!(Pair<u16>, "Pair", [a, b]);
    check_layout!(Pair<Vec3>, "Pair", [a, b]);
    check_layout!(Pair<[Rgba; 3]>, "Pair", [a, b]);
    check_layout!(Widths, "Widths", [a, b, c, d, e, f, g]);
    check_layout!(Cloud, "Cloud", [points, r#type, count]);
}

#[test]
fn field_kinds_are_recorded() {
    let p = fields(Particle::LAYOUT);
    assert_eq!(p[0].layout, Vec3::LAYOUT, "nested struct layout");
    assert_eq!(p[2].layout.kind, Kind::Prim(Prim::F32));

    let h = fields(Histogram::LAYOUT);
    match h[0].layout.kind {
        Kind::Array { elem, len } => {
            assert_eq!(len, 16);
            assert_eq!(elem.kind, Kind::Prim(Prim::U32));
        }
        k => panic!("{k:?}"),
    }

    let m = fields(Matrix3::LAYOUT);
    match m[0].layout.kind {
        Kind::Array { elem, len: 3 } => match elem.kind {
            Kind::Array { elem, len: 3 } => assert_eq!(elem.kind, Kind::Prim(Prim::F32)),
            k => panic!("{k:?}"),
        },
        k => panic!("{k:?}"),
    }

    assert_eq!(
        fields(Named::LAYOUT)[0].layout.kind,
        Kind::FixedStr { len: 24 }
    );

    let c = fields(Cloud::LAYOUT);
    match c[0].layout.kind {
        Kind::Array { elem, len: 4 } => assert_eq!(elem, Vec3::LAYOUT),
        k => panic!("{k:?}"),
    }

    let status = fields(Job::LAYOUT)[1].layout;
    assert_eq!(status.name, "Status");
    assert_eq!((status.size, status.align), (1, 1));
    match status.kind {
        Kind::OpenEnum { repr, variants } => {
            assert_eq!(repr, Prim::U8);
            let v: Vec<(&str, i64)> = variants.iter().map(|v| (v.name, v.value)).collect();
            assert_eq!(
                v,
                [("Queued", 1), ("Running", 2), ("Done", 10), ("Failed", 11)]
            );
        }
        k => panic!("{k:?}"),
    }
    let dir = OpenEnum::<Direction>::LAYOUT;
    assert_eq!(dir.size, 2);
    assert_eq!(
        Direction::VARIANTS
            .iter()
            .map(|v| v.value)
            .collect::<Vec<_>>(),
        [-1, 0, 1]
    );
}

#[test]
fn doc_comments_are_recorded() {
    assert_eq!(Vec3::LAYOUT.doc, "A point in space.");
    assert_eq!(fields(Vec3::LAYOUT)[0].doc, "East, metres.");
    assert_eq!(fields(Vec3::LAYOUT)[1].doc, "");
    assert_eq!(Status::DOC, "Job states.");
    assert_eq!(Status::VARIANTS[0].doc, "Waiting to run.");
    assert_eq!(OpenEnum::<Status>::LAYOUT.doc, "Job states.");
}

#[test]
fn open_enum_fields_keep_unknown_values() {
    let mut j = Job {
        id: 1,
        status: OpenEnum::new(Status::Done),
        _pad: [0; 3],
        priority: -4,
    };
    assert_eq!(j.status.get(), Ok(Status::Done));
    let mut bytes = zeroipc::element::bytes_of(&j).to_vec();
    bytes[offset_of!(Job, status)] = 200; // what a newer peer might write
    j = zeroipc::element::from_bytes(&bytes).unwrap();
    assert_eq!(j.status.raw(), 200);
    let err = j.status.get().unwrap_err();
    assert_eq!((err.type_name, err.value), ("Status", 200));
    assert_eq!(j.priority, -4);
}

// ------------------------------------------------------------- fingerprints

/// The same record, edited in one way per module.
mod fp {
    macro_rules! variant {
        ($m:ident, $ty:ident { $($body:tt)* }, $e:ident { $($ev:tt)* }) => {
            pub mod $m {
                use zeroipc::{FixedStr, OpenEnum, ShmLayout};
                #[derive(Clone, Copy, ShmLayout)]
                #[repr(u16)]
                pub enum $e { $($ev)* }
                #[derive(Clone, Copy, ShmLayout)]
                #[repr(C)]
                pub struct $ty { $($body)* }
                /// Contains the record, to see edits propagate.
                #[derive(Clone, Copy, ShmLayout)]
                #[repr(C)]
                pub struct Outer { pub inner: $ty, pub n: u64 }
                #[allow(dead_code)]
                fn _uses(_: FixedStr<1>, _: OpenEnum<$e>) {}
            }
        };
    }

    variant!(base, Rec { a: u32, b: u32, tag: FixedStr<8>, st: OpenEnum<St>, _p: [u8; 6] },
        St { Idle = 0, Busy = 1 });
    // Identical definition elsewhere, with doc comments (not in the canonical form).
    pub mod same {
        use zeroipc::{FixedStr, OpenEnum, ShmLayout};
        /// Docs do not count.
        #[derive(Clone, Copy, ShmLayout)]
        #[repr(u16)]
        pub enum St {
            /// Not even on variants.
            Idle = 0,
            Busy = 1,
        }
        #[derive(Clone, Copy, ShmLayout)]
        #[repr(C)]
        pub struct Rec {
            /// Nor on fields.
            a: u32,
            b: u32,
            tag: FixedStr<8>,
            st: OpenEnum<St>,
            _p: [u8; 6],
        }
        #[derive(Clone, Copy, ShmLayout)]
        #[repr(C)]
        pub struct Outer {
            pub inner: Rec,
            pub n: u64,
        }
    }
    variant!(renamed_field, Rec { a: u32, c: u32, tag: FixedStr<8>, st: OpenEnum<St>, _p: [u8; 6] },
        St { Idle = 0, Busy = 1 });
    variant!(reordered, Rec { b: u32, a: u32, tag: FixedStr<8>, st: OpenEnum<St>, _p: [u8; 6] },
        St { Idle = 0, Busy = 1 });
    variant!(resized_str, Rec { a: u32, b: u32, tag: FixedStr<16>, st: OpenEnum<St>, _p: [u8; 6] },
        St { Idle = 0, Busy = 1 });
    variant!(resized_array, Rec { a: u32, b: u32, tag: FixedStr<8>, st: OpenEnum<St>, _p: [u8; 14] },
        St { Idle = 0, Busy = 1 });
    variant!(retyped, Rec { a: u32, b: i32, tag: FixedStr<8>, st: OpenEnum<St>, _p: [u8; 6] },
        St { Idle = 0, Busy = 1 });
    variant!(retyped_float, Rec { a: u32, b: f32, tag: FixedStr<8>, st: OpenEnum<St>, _p: [u8; 6] },
        St { Idle = 0, Busy = 1 });
    variant!(str_to_bytes, Rec { a: u32, b: u32, tag: [u8; 8], st: OpenEnum<St>, _p: [u8; 6] },
        St { Idle = 0, Busy = 1 });
    variant!(renamed_type, Record { a: u32, b: u32, tag: FixedStr<8>, st: OpenEnum<St>, _p: [u8; 6] },
        St { Idle = 0, Busy = 1 });
    variant!(enum_value, Rec { a: u32, b: u32, tag: FixedStr<8>, st: OpenEnum<St>, _p: [u8; 6] },
        St { Idle = 0, Busy = 2 });
    variant!(enum_variant_renamed, Rec { a: u32, b: u32, tag: FixedStr<8>, st: OpenEnum<St>, _p: [u8; 6] },
        St { Idle = 0, Working = 1 });
    variant!(enum_variant_added, Rec { a: u32, b: u32, tag: FixedStr<8>, st: OpenEnum<St>, _p: [u8; 6] },
        St { Idle = 0, Busy = 1, Gone = 2 });
    variant!(enum_renamed, Rec { a: u32, b: u32, tag: FixedStr<8>, st: OpenEnum<State>, _p: [u8; 6] },
        State { Idle = 0, Busy = 1 });
}

#[test]
fn identical_definitions_have_identical_fingerprints() {
    use fp::*;
    assert_eq!(
        base::Rec::LAYOUT.fingerprint(),
        same::Rec::LAYOUT.fingerprint()
    );
    assert_eq!(
        base::Outer::LAYOUT.fingerprint(),
        same::Outer::LAYOUT.fingerprint()
    );
    // The docs differ, the layouts otherwise do not.
    assert_ne!(base::Rec::LAYOUT, same::Rec::LAYOUT);
    // Stable across evaluations.
    assert_eq!(
        base::Rec::LAYOUT.fingerprint(),
        base::Rec::LAYOUT.fingerprint()
    );
}

#[test]
fn every_kind_of_edit_changes_the_fingerprint() {
    use fp::*;
    let base = base::Rec::LAYOUT.fingerprint();
    let base_outer = base::Outer::LAYOUT.fingerprint();
    let edits: &[(&str, u64, u64)] = &[
        (
            "rename field",
            renamed_field::Rec::LAYOUT.fingerprint(),
            renamed_field::Outer::LAYOUT.fingerprint(),
        ),
        (
            "reorder fields",
            reordered::Rec::LAYOUT.fingerprint(),
            reordered::Outer::LAYOUT.fingerprint(),
        ),
        (
            "resize FixedStr",
            resized_str::Rec::LAYOUT.fingerprint(),
            resized_str::Outer::LAYOUT.fingerprint(),
        ),
        (
            "resize array",
            resized_array::Rec::LAYOUT.fingerprint(),
            resized_array::Outer::LAYOUT.fingerprint(),
        ),
        (
            "retype u32 -> i32",
            retyped::Rec::LAYOUT.fingerprint(),
            retyped::Outer::LAYOUT.fingerprint(),
        ),
        (
            "retype u32 -> f32",
            retyped_float::Rec::LAYOUT.fingerprint(),
            retyped_float::Outer::LAYOUT.fingerprint(),
        ),
        (
            "FixedStr<8> -> [u8; 8]",
            str_to_bytes::Rec::LAYOUT.fingerprint(),
            str_to_bytes::Outer::LAYOUT.fingerprint(),
        ),
        (
            "rename type",
            renamed_type::Record::LAYOUT.fingerprint(),
            renamed_type::Outer::LAYOUT.fingerprint(),
        ),
        (
            "change enum value",
            enum_value::Rec::LAYOUT.fingerprint(),
            enum_value::Outer::LAYOUT.fingerprint(),
        ),
        (
            "rename enum variant",
            enum_variant_renamed::Rec::LAYOUT.fingerprint(),
            enum_variant_renamed::Outer::LAYOUT.fingerprint(),
        ),
        (
            "add enum variant",
            enum_variant_added::Rec::LAYOUT.fingerprint(),
            enum_variant_added::Outer::LAYOUT.fingerprint(),
        ),
        (
            "rename enum type",
            enum_renamed::Rec::LAYOUT.fingerprint(),
            enum_renamed::Outer::LAYOUT.fingerprint(),
        ),
    ];
    let mut seen = std::collections::HashSet::from([base]);
    for (what, inner, outer) in edits {
        assert_ne!(*inner, base, "{what}: fingerprint unchanged");
        assert_ne!(
            *outer, base_outer,
            "{what}: not propagated to the outer struct"
        );
        assert!(seen.insert(*inner), "{what}: collides with another edit");
    }
    // Same size and alignment all along, so only the canonical form tells.
    assert_eq!(
        retyped::Rec::LAYOUT.size,
        base::Rec::LAYOUT.size,
        "retype kept the size"
    );
    // Generic instantiations differ by their field types.
    assert_ne!(
        Pair::<u32>::LAYOUT.fingerprint(),
        Pair::<i32>::LAYOUT.fingerprint()
    );
}

#[derive(Clone, Copy, ShmLayout)]
#[repr(u8)]
enum PinLevel {
    Low = 1,
    High = 2,
}

/// The fingerprint of this definition is pinned below: it must be the same
/// on every platform, compiler and build, and in every other implementation.
#[derive(Clone, Copy, ShmLayout)]
#[repr(C)]
struct Pinned {
    id: u32,
    level: OpenEnum<PinLevel>,
    _pad: [u8; 3],
    pos: [f64; 2],
    name: FixedStr<8>,
}

/// The canonical form written out by hand from the table in `layout.rs`.
fn canonical_pinned_by_hand() -> Vec<u8> {
    fn u(out: &mut Vec<u8>, v: u64) {
        out.extend_from_slice(&v.to_le_bytes());
    }
    fn s(out: &mut Vec<u8>, t: &str) {
        u(out, t.len() as u64);
        out.extend_from_slice(t.as_bytes());
    }
    fn prim(out: &mut Vec<u8>, p: &str) {
        out.push(b'P');
        s(out, p);
    }
    let mut b = Vec::new();
    b.push(b'S');
    s(&mut b, "Pinned");
    u(&mut b, 32);
    u(&mut b, 8);
    u(&mut b, 5);
    s(&mut b, "id");
    u(&mut b, 0);
    prim(&mut b, "u32");
    s(&mut b, "level");
    u(&mut b, 4);
    b.push(b'E');
    s(&mut b, "PinLevel");
    prim(&mut b, "u8");
    u(&mut b, 2);
    s(&mut b, "Low");
    u(&mut b, 1);
    s(&mut b, "High");
    u(&mut b, 2);
    s(&mut b, "_pad");
    u(&mut b, 5);
    b.push(b'A');
    u(&mut b, 3);
    prim(&mut b, "u8");
    s(&mut b, "pos");
    u(&mut b, 8);
    b.push(b'A');
    u(&mut b, 2);
    prim(&mut b, "f64");
    s(&mut b, "name");
    u(&mut b, 24);
    b.push(b'T');
    u(&mut b, 8);
    b
}

fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h = zeroipc::layout::FNV1A_OFFSET_BASIS;
    for &x in bytes {
        h ^= x as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

#[test]
fn pinned_fingerprint_is_stable() {
    // Computed independently (a few lines of Python over the documented
    // canonical form) when this test was written. If this fails, the
    // canonical form or the derive changed: every stored fingerprint and
    // every other implementation would disagree with this build.
    const PINNED: u64 = 0x2f32_0a9e_2c30_e0a3;
    let l = Pinned::LAYOUT;
    assert_eq!((l.size, l.align), (32, 8));
    assert_eq!(fnv1a64(&canonical_pinned_by_hand()), PINNED);
    assert_eq!(l.fingerprint(), PINNED);
    // Usable in const context, e.g. to embed in a header at compile time.
    const AT_COMPILE_TIME: u64 = Pinned::LAYOUT.fingerprint();
    assert_eq!(AT_COMPILE_TIME, PINNED);
    assert_eq!(u32::LAYOUT.fingerprint(), 0xc2ec_8c0d_bcf0_a9fe);
}

// ------------------------------------------- golden images of the reference

/// `struct Rec { int32_t id; float x; double y; }` of arrays.bin, derived.
#[derive(Clone, Copy, Debug, PartialEq, ShmLayout)]
#[repr(C)]
struct Rec {
    id: i32,
    x: f32,
    y: f64,
}

/// `struct Key3 { char c[3]; }` of maps.bin, derived.
#[derive(Clone, Copy, Debug, PartialEq, ShmLayout)]
#[repr(C)]
struct Key3 {
    c: [u8; 3],
}

#[test]
fn derived_layout_matches_the_reference_manifest() {
    let fm = common::file_manifest("arrays.bin");
    let elem = &common::structure(&fm, "records")["types"]["elem"];
    assert_eq!(elem["size"].as_u64().unwrap() as usize, Rec::LAYOUT.size);
    assert_eq!(elem["align"].as_u64().unwrap() as usize, Rec::LAYOUT.align);
    let want: Vec<(String, usize)> = elem["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap().to_owned(),
                f["offset"].as_u64().unwrap() as usize,
            )
        })
        .collect();
    let got: Vec<(String, usize)> = fields(Rec::LAYOUT)
        .iter()
        .map(|f| (f.name.to_owned(), f.offset))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn derived_struct_reads_the_cpp_array_of_rec() {
    let t = common::copy_vector("arrays.bin");
    let seg = t.open();
    let a = Array::<Rec>::open(&seg, "records").unwrap();
    let got = a.to_vec();
    let want: Vec<Rec> = (0..4)
        .map(|i| Rec {
            id: i,
            x: i as f32 + 0.25,
            y: i as f64 * 1e6,
        })
        .collect();
    assert_eq!(got, want);
}

#[test]
fn derived_key_finds_entries_of_the_cpp_map() {
    let t = common::copy_vector("maps.bin");
    let seg = t.open();
    let m = Map::<Key3, i16>::open(&seg, "bykey").unwrap();
    let key = |s: &str| Key3 {
        c: s.as_bytes().try_into().unwrap(),
    };
    assert_eq!(m.get(&key("abc")), Some(1));
    assert_eq!(m.get(&key("xyz")), Some(2));
    assert_eq!(m.get(&key("foo")), Some(3));
    assert_eq!(m.get(&key("bar")), None);
}
