//! Reading segments without changing them: the table and its checks
//! ([`source`]), which structure each entry belongs to ([`classify`]), the
//! per-kind decoders ([`decode`]), element types ([`types`], [`value`]) and
//! the `__schema` entry ([`schema`]) and our waiter registry entry
//! ([`waiters`]).
//!
//! Every read command decodes the segment byte by byte, keyed by the sizes
//! its headers state (docs/FORMAT.md), without knowing the Rust element
//! types and without changing a byte: no pop, no consume, no lock that a
//! peer could wait on for long. Every value read from a segment is
//! validated before it is used to compute an offset, so a hostile segment
//! gives an error line, never a panic.

pub mod classify;
pub mod decode;
pub mod described;
pub mod schema;
pub mod source;
pub mod types;
pub mod value;
pub mod waiters;
