//! One module per subcommand; each takes the parsed arguments, writes its
//! human or `--json` output (shaped by [`crate::output`]) and returns the
//! exit code.

pub mod check;
pub mod create;
pub mod dump;
pub mod get;
pub mod list;
pub mod rm;
pub mod show;
pub mod watch;

pub use check::{check, check_problems};
pub use create::create;
pub use dump::{dump, DumpPart};
pub use get::{get, GetOptions};
pub use list::{list, list_one, ListRow};
pub use rm::rm;
pub use show::show;
pub use watch::watch;

use crate::inspect::classify::{Classified, Structure};
use crate::inspect::schema;
use crate::inspect::value::Value;
use crate::CliError;
use serde::Serialize;

/// Options every command shares.
#[derive(Debug, Clone, Default)]
pub struct Global {
    /// Machine-readable output.
    pub json: bool,
    /// Read with `pread` on a read-only descriptor instead of mapping.
    pub no_map: bool,
    /// Schema file or folder whose compiled records and enums decode the
    /// named types of a segment's `__schema` entry (and `--record`).
    pub schema: Option<std::path::PathBuf>,
}

impl Global {
    pub(crate) fn named(&self) -> Result<Option<schema::Named>, CliError> {
        match &self.schema {
            None => Ok(None),
            Some(p) => schema::compile_named(p).map(Some).map_err(CliError::usage),
        }
    }
}

/// Takes structure `name` out of `c`, or the structure one of whose
/// entries is `name` (with a note saying so).
pub(crate) fn find_structure(
    c: &mut Classified,
    name: &str,
) -> Option<(Structure, Option<String>)> {
    if let Some(i) = c.structures.iter().position(|s| s.name == name) {
        return Some((c.structures.remove(i), None));
    }
    let i = c
        .structures
        .iter()
        .position(|s| s.entries.iter().any(|e| e.name == name))?;
    let s = c.structures.remove(i);
    let note = format!("{name} is part of {} {}", s.kind.name(), s.name);
    Some((s, Some(note)))
}

/// A record's fields, serialized as a JSON object.
pub(crate) struct Fields<'a>(&'a [(String, Value)]);

impl Serialize for Fields<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Value::Record(self.0.to_vec()).serialize(s)
    }
}
