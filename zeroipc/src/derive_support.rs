//! Items used by the code `#[derive(ShmLayout)]` generates. Not a public API:
//! names and signatures may change in any release.
//!
//! The compile-time checks the derive emits for layouts it cannot compute
//! itself (fields whose types are only known after type checking) run in
//! `const` items and report violations by panicking; [`Msg`] builds those
//! panic messages, numbers included, in a `const` context.

use crate::element::ShmElement;
use crate::layout::TypeLayout;

/// A field type that can be stored in a segment. Blanket-implemented for
/// every [`ShmElement`]; exists so that a field of another type gets an error
/// message that says what to do.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be stored in shared memory: it does not implement `zeroipc::ShmElement`",
    label = "not a shared-memory type",
    note = "fields of a #[derive(ShmLayout)] type must be fixed-width integers, f32/f64, fixed arrays, `FixedStr<N>`, `OpenEnum<E>` or other #[derive(ShmLayout)] structs",
    note = "a #[derive(ShmLayout)] enum is stored as `OpenEnum<E>`, because a peer may write a value that names no variant"
)]
pub trait AssertShmElement: ShmElement {}

impl<T: ShmElement> AssertShmElement for T {}

/// The layout of a field type, with the bound spelled as [`AssertShmElement`]
/// so that errors carry its message.
pub const fn layout_of<T: AssertShmElement>() -> &'static TypeLayout {
    T::LAYOUT
}

const CAP: usize = 512;

/// A panic message built at compile time.
pub struct Msg {
    buf: [u8; CAP],
    len: usize,
}

impl Msg {
    /// The empty message.
    pub const fn new() -> Msg {
        Msg {
            buf: [0; CAP],
            len: 0,
        }
    }

    /// Appends `s`, cut at a character boundary if the buffer is full.
    pub const fn s(mut self, s: &str) -> Msg {
        let b = s.as_bytes();
        let mut n = b.len();
        if n > CAP - self.len {
            n = CAP - self.len;
            // Back off to the start of a UTF-8 sequence so the buffer stays
            // valid UTF-8 (continuation bytes are 0b10xx_xxxx).
            while n > 0 && n < b.len() && b[n] & 0xC0 == 0x80 {
                n -= 1;
            }
        }
        let mut i = 0;
        while i < n {
            self.buf[self.len + i] = b[i];
            i += 1;
        }
        self.len += n;
        self
    }

    /// Appends `v` in decimal.
    pub const fn n(self, mut v: usize) -> Msg {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        let (_, used) = digits.split_at(i);
        // SAFETY: `used` holds only ASCII digits.
        self.s(unsafe { core::str::from_utf8_unchecked(used) })
    }

    /// The text.
    pub const fn as_str(&self) -> &str {
        let (used, _) = self.buf.split_at(self.len);
        // SAFETY: only `&str`s, cut at character boundaries by `s`, and
        // ASCII digits are ever appended, so the used bytes are UTF-8.
        // (`str::from_utf8` is not a `const fn` before Rust 1.87.)
        unsafe { core::str::from_utf8_unchecked(used) }
    }
}

impl Default for Msg {
    fn default() -> Self {
        Msg::new()
    }
}

/// Message for padding between two fields.
pub const fn padding_between(ty: &str, after: &str, next: &str, start: usize, bytes: usize) -> Msg {
    Msg::new()
        .s("#[derive(ShmLayout)]: `")
        .s(ty)
        .s("` has ")
        .n(bytes)
        .s(" byte(s) of padding after field `")
        .s(after)
        .s("` (offsets ")
        .n(start)
        .s("..")
        .n(start + bytes)
        .s(", before field `")
        .s(next)
        .s("`): padding bytes are never initialised, so peers would read garbage there. Add an explicit filler field `[u8; ")
        .n(bytes)
        .s("]` after `")
        .s(after)
        .s("`")
}

/// Message for padding at the end of a struct.
pub const fn trailing_padding(
    ty: &str,
    last: &str,
    start: usize,
    bytes: usize,
    align: usize,
) -> Msg {
    Msg::new()
        .s("#[derive(ShmLayout)]: `")
        .s(ty)
        .s("` has ")
        .n(bytes)
        .s(" byte(s) of trailing padding after its last field `")
        .s(last)
        .s("` (offsets ")
        .n(start)
        .s("..")
        .n(start + bytes)
        .s(", to round the size up to the alignment ")
        .n(align)
        .s("): padding bytes are never initialised, so peers would read garbage there. Add an explicit filler field `[u8; ")
        .n(bytes)
        .s("]` after `")
        .s(last)
        .s("`")
}

/// Message for an alignment above the format's maximum.
pub const fn align_too_large(ty: &str, align: usize) -> Msg {
    Msg::new()
        .s("#[derive(ShmLayout)]: `")
        .s(ty)
        .s("` has alignment ")
        .n(align)
        .s("; the ZeroIPC format places structures at 8-byte boundaries and supports alignment up to 8")
}

/// Message for a zero-sized struct.
pub const fn zero_sized(ty: &str) -> Msg {
    Msg::new()
        .s("#[derive(ShmLayout)]: `")
        .s(ty)
        .s("` is zero-sized; a shared-memory type must hold at least one byte")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_format_numbers() {
        const M: Msg = padding_between("Foo", "a", "b", 1, 3);
        assert_eq!(
            M.as_str(),
            "#[derive(ShmLayout)]: `Foo` has 3 byte(s) of padding after field `a` (offsets 1..4, \
             before field `b`): padding bytes are never initialised, so peers would read garbage \
             there. Add an explicit filler field `[u8; 3]` after `a`"
        );
        assert_eq!(
            Msg::new().n(0).n(18446744073709551615).as_str(),
            "018446744073709551615"
        );
    }

    #[test]
    fn long_messages_are_cut_at_char_boundaries() {
        let long = "é".repeat(400);
        let m = Msg::new().s("x").s(&long);
        assert!(m.as_str().len() <= CAP);
        assert!(m.as_str().starts_with("xé"));
    }
}
