//! What a command returns when it fails, the exit codes, and the problems
//! `check` reports.

use serde::Serialize;

/// Exit code: success (for `check`: the segment is sound).
pub const EXIT_OK: i32 = 0;
/// Exit code: `check` found problems, or the segment or structure is
/// invalid, missing from the table, or cannot be decoded as asked; `rm`
/// refused; `create` found the name taken.
pub const EXIT_PROBLEM: i32 = 1;
/// Exit code: usage error, segment not found, or an OS error.
pub const EXIT_USAGE: i32 = 2;

/// A failed command: message for stderr and the exit code.
#[derive(Debug, Clone)]
pub struct CliError {
    /// Exit code ([`EXIT_PROBLEM`] or [`EXIT_USAGE`]).
    pub code: i32,
    /// What went wrong.
    pub message: String,
}

impl CliError {
    /// Bad arguments.
    pub fn usage(m: impl Into<String>) -> Self {
        CliError {
            code: EXIT_USAGE,
            message: m.into(),
        }
    }
    /// OS error or missing segment.
    pub fn io(m: impl Into<String>) -> Self {
        CliError {
            code: EXIT_USAGE,
            message: m.into(),
        }
    }
    /// Something wrong with the segment's content.
    pub fn problem(m: impl Into<String>) -> Self {
        CliError {
            code: EXIT_PROBLEM,
            message: m.into(),
        }
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

/// One problem found by `check` (and by `list`, the first one).
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    /// Structure name, or `None` for the table.
    pub structure: Option<String>,
    /// Which check failed.
    pub check: &'static str,
    /// Values seen.
    pub detail: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.structure {
            None => write!(f, "table: {}: {}", self.check, self.detail),
            Some(s) => write!(f, "{s}: {}: {}", self.check, self.detail),
        }
    }
}
