//! Rust runtime for ZeroIPC v2: shared memory as a computational substrate.
//!
//! Processes on one machine share named segments (`/dev/shm/<name>`) that
//! hold a table of named structures followed by their bytes, in the format
//! of `FORMAT.md`. The same bytes are read and written by the ZeroIPC C++,
//! Python, C and Go libraries.
//!
//! ```
//! use zeroipc::{Array, Segment};
//! let name = format!("/zeroipc-doc-lib-{}", std::process::id());
//! let seg = Segment::create(&name, 1 << 16)?;
//! let temps = Array::<f32>::create(&seg, "temps", 4)?;
//! temps.set(2, 21.5)?;
//!
//! let other = Segment::open(&name)?; // another process would do this
//! let view = Array::<f32>::open(&other, "temps")?;
//! assert_eq!(view.get(2)?, 21.5);
//! Segment::unlink(&name)?;
//! # Ok::<(), zeroipc::Error>(())
//! ```
//!
//! Soundness rules the crate keeps: another process may write any byte of
//! a segment at any moment, so shared bytes are reached only through atomics
//! or volatile copies; bounds read from a segment are validated once on open
//! and cached; any zero-copy view is an `unsafe fn` with its contract spelt out.

#![warn(missing_docs)]

pub mod data;
pub mod element;
pub mod error;
pub mod hash;
pub mod layout;
pub mod region;
pub mod segment;
pub mod table;
pub mod wait;

pub use data::array::Array;
pub use element::{FixedStr, ShmElement};
pub use error::{Error, Result};
pub use segment::{Segment, SegmentOptions};
