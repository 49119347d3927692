//! Test support shared by the tests of more than one zeroipc crate
//! (`publish = false`).
//!
//! Code that two crates' tests need lives here as a library, instead of a
//! `#[path = "../../other-crate/..."]` include that compiles one file into
//! several crates (issue 14). Helpers used by the tests of one crate only
//! stay in that crate's test folder (`zeroipc/tests/common/`,
//! `zeroipc-cli/tests/cli_golden/support.rs`), included with `mod`.
//!
//! - [`exercise`]: runs every structure kind's `open` and a bounded set of
//!   operations against whatever a segment holds (hostile-input tests).
//!   Used by `zeroipc/tests/{proptest_hostile,security}.rs` and by the
//!   libFuzzer targets (`fuzz/`, which re-exports it as
//!   `zeroipc_fuzz::exercise`).
//! - `pattern` (feature `pattern`): the deterministic value pattern that
//!   Rust, Python (`pattern.py`) and generated C++ check programs compute identically,
//!   plus the temp-dir, python3 and g++ runners of the cross-language
//!   tests. Used by `zeroipc-gen/tests/emitters.rs` and
//!   `tests/tests/{cross_lang_schemas,cross_lang_derive,schema_all_kinds}.rs`.
//!
//! Which tests cover which structure kind: docs/ARCHITECTURE.md, "Tests,
//! by structure kind".
//!
//! ```
//! use std::time::Duration;
//! use zeroipc::{Queue, Segment};
//! use zeroipc_testsupport::exercise::{exercise_segment, Ctx};
//! let name = format!("/zeroipc-doc-testsupport-{}", std::process::id());
//! let seg = Segment::create(&name, 1 << 16)?;
//! let q = Queue::<u64>::create(&seg, "jobs", 8)?;
//! assert_eq!(q.push(7), Ok(()));
//! // Every entry opened as every kind it might be; read-only operations.
//! let mut cx = Ctx::new(Duration::from_millis(1), 2, false);
//! exercise_segment(&seg, &mut cx);
//! assert!(cx.opened >= 1, "the queue opens as a Queue<u64> at least");
//! assert!(cx.ops > 0);
//! Segment::unlink(&name)?;
//! # Ok::<(), zeroipc::Error>(())
//! ```

pub mod exercise;
#[cfg(feature = "pattern")]
pub mod pattern;
