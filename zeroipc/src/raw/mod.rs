//! The protocol core: every structure's protocol written once over bytes,
//! with the element layout known at run time.
//!
//! Each `RawX` holds the structure's [`Region`](crate::region::Region), the
//! bounds validated when it was created or opened (capacity, mask, offsets,
//! element size), and the [`ElemLayout`](crate::format::ElemLayout) of each
//! element role. It implements the whole protocol: the typed structures
//! (`Queue<T>`, `Stack<T>`, ...) are thin `#[inline]` veneers over it that
//! only convert values to and from bytes, and tools that know the element
//! type only at run time (the inspector, the fuzz exerciser, language
//! bindings) call it directly. Offsets and formulas come from
//! [`crate::format`]; the normative layout is docs/FORMAT.md.
//!
//! A byte slice of the wrong length is refused with
//! [`Error::InvalidArgument`](crate::Error::InvalidArgument) naming the
//! expected and the given sizes, never a panic.
