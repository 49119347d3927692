//! Integration tests live in `tests/`; this crate has no library code.

/// README.md's Rust snippets, run as doc tests (this crate has zeroipc and
/// zeroipc-gen as dev-dependencies, which the snippets use).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
