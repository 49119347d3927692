//! Generic structs the derive can prove sound for every instantiation.
use core::mem::size_of;
use zeroipc::{ShmElement, ShmLayout};

/// One field: any `T`.
#[derive(Clone, Copy, ShmLayout)]
#[repr(transparent)]
struct Wrapper<T>(T);

/// Fields of one element type.
#[derive(Clone, Copy, ShmLayout)]
#[repr(C)]
struct Pair<T> {
    a: T,
    b: T,
}

/// Arrays of the same element type, with a const generic length.
#[derive(Clone, Copy, ShmLayout)]
#[repr(C)]
struct Grid<T: Copy, const N: usize> {
    rows: [[T; N]; 2],
    extra: T,
}

/// A const generic over a concrete element type.
#[derive(Clone, Copy, ShmLayout)]
#[repr(C)]
struct Buf<const N: usize> {
    len: u64,
    data: [u64; N],
}

#[derive(Clone, Copy, ShmLayout)]
#[repr(C)]
struct Odd {
    a: u8,
    b: u8,
    c: u8,
}

fn check<T: ShmElement>() {
    assert_eq!(T::LAYOUT.size, size_of::<T>());
    assert_eq!(T::LAYOUT.align, core::mem::align_of::<T>());
}

fn main() {
    over_enums::check();
    check::<Wrapper<u8>>();
    check::<Wrapper<[f64; 3]>>();
    check::<Pair<u8>>();
    check::<Pair<Odd>>();
    check::<Pair<Pair<u64>>>();
    check::<Grid<u16, 3>>();
    check::<Grid<Odd, 0>>();
    check::<Buf<0>>();
    check::<Buf<5>>();
    assert_ne!(
        Pair::<u32>::LAYOUT.fingerprint(),
        Pair::<i32>::LAYOUT.fingerprint()
    );
}

mod over_enums {
    use zeroipc::open_enum::ShmEnum;
    use zeroipc::{OpenEnum, ShmElement, ShmLayout};

    /// Generic over an open enum: bounds are on the field types.
    #[derive(Clone, Copy, ShmLayout)]
    #[repr(transparent)]
    pub struct Tag<E: ShmEnum>(pub OpenEnum<E>);

    #[derive(Clone, Copy, ShmLayout)]
    #[repr(u32)]
    pub enum Kind {
        A,
        B,
    }

    pub fn check() {
        assert_eq!(<Tag<Kind> as ShmElement>::LAYOUT.size, 4);
        let _ = Tag(OpenEnum::new(Kind::B));
    }
}
