//! Accepted enums: every integer repr, explicit and implicit discriminants.
use zeroipc::open_enum::ShmEnum;
use zeroipc::{OpenEnum, ShmElement, ShmLayout};

macro_rules! reprs {
    ($($name:ident: $t:ident),*) => {$(
        #[derive(Clone, Copy, Debug, PartialEq, ShmLayout)]
        #[repr($t)]
        enum $name {
            A,
            B = 5,
            C,
        }
        assert_eq!(OpenEnum::<$name>::LAYOUT.size, core::mem::size_of::<$t>());
        assert_eq!($name::C.to_repr(), 6);
        assert_eq!($name::from_repr(5), Some($name::B));
        assert_eq!($name::from_repr(1), None);
    )*};
}

/// Signed values.
#[derive(Clone, Copy, Debug, PartialEq, ShmLayout)]
#[repr(i32)]
enum Level {
    /// Below.
    Low = -100,
    Mid = 0,
    High = 100,
}

#[derive(Clone, Copy, Debug, PartialEq, ShmLayout)]
#[repr(u8)]
#[allow(non_camel_case_types)]
enum Keyword {
    r#type,
    r#match,
}

fn main() {
    reprs!(EU8: u8, EU16: u16, EU32: u32, EU64: u64, EI8: i8, EI16: i16, EI32: i32, EI64: i64);
    assert_eq!(Level::VARIANTS[0].value, -100);
    assert_eq!(Level::VARIANTS[0].doc, "Below.");
    assert_eq!(Level::DOC, "Signed values.");
    assert_eq!(Keyword::VARIANTS[0].name, "type");
    assert_eq!(OpenEnum::<Level>::from_raw(7).get().unwrap_err().value, 7);
}
