//! Open enums: fieldless Rust enums stored in shared memory as their integer.
//!
//! A Rust enum with a value outside its variants is undefined behaviour, and
//! another process (a newer build, a C++ or Python peer, a bug) can write any
//! integer into a segment. So an enum is never itself a [`ShmElement`].
//! Instead `#[derive(ShmLayout)]` on a fieldless enum with an explicit integer
//! repr implements [`ShmEnum`] (conversions and variant metadata), and the
//! field that lives in shared memory has type [`OpenEnum<E>`]: a
//! `repr(transparent)` wrapper around the raw integer, which accepts every
//! bit pattern and converts to `E` only when asked, reporting values it does
//! not know as [`UnknownValue`].
//!
//! ```
//! use zeroipc::{OpenEnum, ShmLayout};
//!
//! /// Traffic light state.
//! #[derive(Debug, Clone, Copy, PartialEq, Eq, ShmLayout)]
//! #[repr(u8)]
//! enum Light {
//!     Red = 1,
//!     Amber,
//!     Green = 10,
//! }
//!
//! #[derive(Clone, Copy, ShmLayout)]
//! #[repr(C)]
//! struct Crossing {
//!     id: u32,
//!     light: OpenEnum<Light>,
//!     _pad: [u8; 3],
//! }
//!
//! let c = Crossing { id: 7, light: OpenEnum::new(Light::Amber), _pad: [0; 3] };
//! assert_eq!(c.light.get(), Ok(Light::Amber));
//! assert_eq!(c.light.raw(), 2);
//!
//! // A peer wrote 99: reading reports it instead of inventing a variant.
//! let odd = OpenEnum::<Light>::from_raw(99);
//! assert_eq!(odd.get().unwrap_err().value, 99);
//! assert_eq!(format!("{odd:?}"), "Light(99, unknown)");
//! ```
//!
//! The layout of an open enum is [`Kind::OpenEnum`]: its repr primitive and
//! its named values, which is also what the Python and C++ emitters render
//! (an `IntEnum` / `enum class` whose unknown values stay representable).

use crate::element::ShmElement;
use crate::layout::{Kind, Prim, TypeLayout, Variant};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;

mod sealed {
    pub trait Sealed {}
}

/// The fixed-width integers an open enum may be stored as.
///
/// Sealed: implemented for `u8`, `u16`, `u32`, `u64`, `i8`, `i16`, `i32`,
/// `i64`, the integer primitives of the ZeroIPC format.
pub trait EnumRepr:
    ShmElement + Eq + Hash + Default + fmt::Debug + fmt::Display + sealed::Sealed
{
    /// The primitive this integer is.
    const PRIM: Prim;

    /// The value as an `i64`: sign-extended for signed types, zero-extended
    /// for unsigned ones, and bit-for-bit for `u64` (as in [`Variant::value`]).
    fn to_i64(self) -> i64;
}

macro_rules! enum_repr {
    ($($t:ty => $p:ident),* $(,)?) => {$(
        impl sealed::Sealed for $t {}
        impl EnumRepr for $t {
            const PRIM: Prim = Prim::$p;
            fn to_i64(self) -> i64 {
                self as i64
            }
        }
    )*};
}

enum_repr!(
    u8 => U8, u16 => U16, u32 => U32, u64 => U64,
    i8 => I8, i16 => I16, i32 => I32, i64 => I64,
);

/// A fieldless enum that can be stored in shared memory as [`OpenEnum<Self>`].
///
/// Implemented by `#[derive(ShmLayout)]` for enums with an explicit integer
/// repr (`#[repr(u8)]` .. `#[repr(i64)]`). The trait is safe: nothing about
/// memory safety depends on it. [`OpenEnum`] builds its layout from
/// [`Self::Repr`](ShmEnum::Repr) itself, and a wrong conversion can only give
/// a wrong (but valid) variant.
///
/// ```
/// use zeroipc::{ShmLayout, open_enum::ShmEnum};
/// #[derive(Debug, PartialEq, ShmLayout)]
/// #[repr(i16)]
/// enum Dir { Down = -1, Up = 1 }
///
/// assert_eq!(Dir::Down.to_repr(), -1i16);
/// assert_eq!(Dir::from_repr(1), Some(Dir::Up));
/// assert_eq!(Dir::from_repr(0), None);
/// assert_eq!(Dir::VARIANTS.len(), 2);
/// ```
pub trait ShmEnum: Sized + 'static {
    /// The integer the enum is stored as (its `#[repr]`).
    type Repr: EnumRepr;
    /// The Rust type name, recorded in the layout and its fingerprint.
    const NAME: &'static str;
    /// Named values in declaration order, each with its doc comment.
    const VARIANTS: &'static [Variant];
    /// Doc comment of the enum (may be empty).
    const DOC: &'static str;

    /// The integer value of this variant.
    fn to_repr(self) -> Self::Repr;

    /// The variant with value `r`, if there is one.
    fn from_repr(r: Self::Repr) -> Option<Self>;
}

/// A value read from shared memory that names no variant of the enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UnknownValue<R> {
    /// Name of the enum type.
    pub type_name: &'static str,
    /// The raw value found.
    pub value: R,
}

impl<R: fmt::Display> fmt::Display for UnknownValue<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "value {} is not a variant of open enum {}",
            self.value, self.type_name
        )
    }
}

impl<R: fmt::Display + fmt::Debug> std::error::Error for UnknownValue<R> {}

/// An enum as stored in shared memory: its raw integer, which may be any
/// value a peer wrote.
///
/// `repr(transparent)` over `E::Repr`, so it has exactly the integer's size,
/// alignment and bytes; its layout is [`Kind::OpenEnum`]. Equality and
/// hashing compare the raw value.
///
/// ```
/// use zeroipc::{Array, OpenEnum, Segment, ShmLayout};
/// #[derive(Debug, Clone, Copy, PartialEq, ShmLayout)]
/// #[repr(u32)]
/// enum Mode { Idle, Run, Stop }
///
/// let name = format!("/zeroipc-doc-openenum-{}", std::process::id());
/// let seg = Segment::create(&name, 1 << 16)?;
/// let modes = Array::<OpenEnum<Mode>>::create(&seg, "modes", 2)?;
/// modes.set(0, OpenEnum::new(Mode::Run))?;
/// assert_eq!(modes.get(0)?.get(), Ok(Mode::Run));
/// assert_eq!(modes.get(1)?.get(), Ok(Mode::Idle)); // fresh memory is zero
/// Segment::unlink(&name)?;
/// # Ok::<(), zeroipc::Error>(())
/// ```
#[repr(transparent)]
pub struct OpenEnum<E: ShmEnum> {
    raw: E::Repr,
    // `fn() -> E`: carries the type without owning an `E`, so the wrapper is
    // `Copy`, `Send` and `Sync` whatever `E` is (it only ever holds an integer).
    _e: PhantomData<fn() -> E>,
}

impl<E: ShmEnum> OpenEnum<E> {
    /// Stores the value of `e`.
    pub fn new(e: E) -> Self {
        Self::from_raw(e.to_repr())
    }

    /// Wraps a raw value, known or not.
    pub const fn from_raw(raw: E::Repr) -> Self {
        OpenEnum {
            raw,
            _e: PhantomData,
        }
    }

    /// The raw integer.
    pub fn raw(self) -> E::Repr {
        self.raw
    }

    /// The variant, or [`UnknownValue`] if the value names none.
    pub fn get(self) -> Result<E, UnknownValue<E::Repr>> {
        E::from_repr(self.raw).ok_or(UnknownValue {
            type_name: E::NAME,
            value: self.raw,
        })
    }

    /// True if the value names a variant.
    pub fn is_known(self) -> bool {
        E::from_repr(self.raw).is_some()
    }

    /// The name of the variant with this value, from the layout metadata.
    pub fn variant_name(self) -> Option<&'static str> {
        let v = self.raw.to_i64();
        E::VARIANTS.iter().find(|x| x.value == v).map(|x| x.name)
    }
}

impl<E: ShmEnum> Clone for OpenEnum<E> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<E: ShmEnum> Copy for OpenEnum<E> {}

impl<E: ShmEnum> PartialEq for OpenEnum<E> {
    fn eq(&self, other: &Self) -> bool {
        self.raw == other.raw
    }
}

impl<E: ShmEnum> Eq for OpenEnum<E> {}

impl<E: ShmEnum> Hash for OpenEnum<E> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.raw.hash(state)
    }
}

/// The zero value, which is what freshly created shared memory holds (it may
/// or may not name a variant).
impl<E: ShmEnum> Default for OpenEnum<E> {
    fn default() -> Self {
        Self::from_raw(E::Repr::default())
    }
}

impl<E: ShmEnum> From<E> for OpenEnum<E> {
    fn from(e: E) -> Self {
        Self::new(e)
    }
}

/// `Light::Red` for a known value, `Light(99, unknown)` otherwise.
impl<E: ShmEnum> fmt::Debug for OpenEnum<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.variant_name() {
            Some(v) => write!(f, "{}::{}", E::NAME, v),
            None => write!(f, "{}({}, unknown)", E::NAME, self.raw),
        }
    }
}

// SAFETY: `repr(transparent)` over `E::Repr`, one of the fixed-width integer
// primitives (`EnumRepr` is sealed), plus a zero-sized `PhantomData`: the same
// size, alignment (<= 8) and bytes as that integer, no padding, every bit
// pattern valid (unknown values are kept as integers, never turned into an
// `E`), no pointers, and `Send + Sync + Copy + 'static` by construction. The
// layout is built here from `E::Repr`, not taken from the implementer of
// `ShmEnum`, so its size, alignment and repr are right by construction.
unsafe impl<E: ShmEnum> ShmElement for OpenEnum<E> {
    const LAYOUT: &'static TypeLayout = &TypeLayout {
        name: E::NAME,
        size: size_of::<E::Repr>(),
        align: align_of::<E::Repr>(),
        kind: Kind::OpenEnum {
            repr: <E::Repr as EnumRepr>::PRIM,
            variants: E::VARIANTS,
        },
        doc: E::DOC,
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ShmLayout;

    /// An enum for the tests.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, ShmLayout)]
    #[repr(u64)]
    enum Big {
        /// Small one.
        Small = 1,
        Huge = u64::MAX,
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq, ShmLayout)]
    #[repr(i8)]
    enum Signed {
        Neg = -3,
        Zero,
        Pos,
    }

    #[test]
    fn layout_is_the_integer() {
        let l = OpenEnum::<Big>::LAYOUT;
        assert_eq!(l.size, 8);
        assert_eq!(l.align, 8);
        assert_eq!(l.name, "Big");
        assert_eq!(l.doc, "An enum for the tests.");
        match l.kind {
            Kind::OpenEnum { repr, variants } => {
                assert_eq!(repr, Prim::U64);
                assert_eq!(variants.len(), 2);
                assert_eq!(variants[0].doc, "Small one.");
                // u64 values are recorded bit-for-bit in the i64.
                assert_eq!(variants[1].value, -1);
            }
            k => panic!("{k:?}"),
        }
        assert_eq!(size_of::<OpenEnum<Signed>>(), 1);
    }

    #[test]
    fn implicit_discriminants_follow_explicit_ones() {
        assert_eq!(Signed::Zero.to_repr(), -2);
        assert_eq!(Signed::Pos.to_repr(), -1);
        let vals: Vec<i64> = Signed::VARIANTS.iter().map(|v| v.value).collect();
        assert_eq!(vals, [-3, -2, -1]);
    }

    #[test]
    fn every_raw_value_round_trips() {
        for raw in i8::MIN..=i8::MAX {
            let e = OpenEnum::<Signed>::from_raw(raw);
            assert_eq!(e.raw(), raw);
            match e.get() {
                Ok(v) => assert_eq!(v.to_repr(), raw),
                Err(u) => {
                    assert_eq!(u.value, raw);
                    assert!(!(-3..=-1).contains(&raw));
                }
            }
        }
    }

    #[test]
    fn debug_and_errors_name_the_type() {
        assert_eq!(format!("{:?}", OpenEnum::new(Big::Huge)), "Big::Huge");
        assert_eq!(
            format!("{:?}", OpenEnum::<Signed>::from_raw(5)),
            "Signed(5, unknown)"
        );
        let err = OpenEnum::<Signed>::from_raw(5).get().unwrap_err();
        assert_eq!(
            err.to_string(),
            "value 5 is not a variant of open enum Signed"
        );
        assert_eq!(OpenEnum::<Big>::default().raw(), 0);
        assert!(!OpenEnum::<Big>::default().is_known());
    }
}
