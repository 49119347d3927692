//! Accepted struct shapes; `main` checks the layouts the derive recorded
//! against the compiler.
use core::mem::{align_of, offset_of, size_of};
use zeroipc::layout::Kind;
use zeroipc::{FixedStr, OpenEnum, ShmElement, ShmLayout};

/// A 3-vector.
#[derive(Clone, Copy, ShmLayout)]
#[repr(C)]
struct Vec3 {
    /// x coordinate
    x: f64,
    y: f64,
    z: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, ShmLayout)]
#[repr(u16)]
enum Unit {
    Metre = 1,
    Foot,
}

#[derive(Clone, Copy, ShmLayout)]
#[repr(C)]
struct Body {
    pos: Vec3,
    vel: [Vec3; 2],
    grid: [[u16; 3]; 2],
    unit: OpenEnum<Unit>,
    label: FixedStr<10>,
    mass: core::primitive::f32,
    r#type: u32,
}

#[derive(Clone, Copy, ShmLayout)]
#[repr(C)]
struct WithFiller {
    flag: u8,
    _pad: [u8; 7],
    value: u64,
}

#[derive(Clone, Copy, ShmLayout)]
#[repr(C)]
struct Rgb(u8, u8, u8);

#[derive(Clone, Copy, ShmLayout)]
#[repr(transparent)]
struct Metres(f64);

#[derive(Clone, Copy, ShmLayout)]
#[repr(C, align(8))]
struct Aligned {
    a: u32,
    b: u32,
}

fn main() {
    let b = Body::LAYOUT;
    assert_eq!(b.size, size_of::<Body>());
    assert_eq!(b.align, align_of::<Body>());
    let Kind::Struct { fields } = b.kind else { panic!() };
    let names: Vec<&str> = fields.iter().map(|f| f.name).collect();
    assert_eq!(names, ["pos", "vel", "grid", "unit", "label", "mass", "type"]);
    assert_eq!(fields[5].offset, offset_of!(Body, mass));
    assert_eq!(Vec3::LAYOUT.doc, "A 3-vector.");
    assert_eq!(Rgb::LAYOUT.size, 3);
    assert_eq!(Metres::LAYOUT.size, 8);
    assert_eq!(WithFiller::LAYOUT.size, 16);
    assert_eq!(Aligned::LAYOUT.align, 8);
}
