//! The `zeroipc` inspector and operator tool, as a library (the binary in
//! `src/main.rs` only parses arguments and calls [`commands`]).
//!
//! - [`commands`]: one module per subcommand (`list`, `show`, `get`,
//!   `dump`, `check`, `watch`, `create`, `rm`);
//! - [`inspect`]: reading a segment without changing it: the table, the
//!   structure kinds, the decoders;
//! - [`output`]: the output formats, human tables and JSON, in one place.
//!
//! Output shapes (human and `--json`) and exit codes are documented in
//! `docs/CLI.md`.
//!
//! ```
//! use zeroipc_cli::{commands, Global};
//! let name = format!("/zeroipc-doc-inspect-{}", std::process::id());
//! let seg = zeroipc::Segment::create(&name, 1 << 16)?;
//! zeroipc::Array::<u32>::create(&seg, "counts", 4)?;
//! let mut out = Vec::new();
//! let code = commands::show(&name, &Global::default(), &mut out)?;
//! assert_eq!(code, 0);
//! assert!(String::from_utf8(out)?.contains("counts"));
//! zeroipc::Segment::unlink(&name)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

pub mod commands;
mod error;
pub mod inspect;
pub mod output;

pub use commands::Global;
pub use error::{CliError, Problem, EXIT_OK, EXIT_PROBLEM, EXIT_USAGE};
