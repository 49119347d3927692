//! `zeroipc rm`.

use crate::inspect::source::{
    display_name, invalid_reason, open_readonly, path_of, read_raw_table, table_refusal,
};
use crate::output::{emit_json, out_err};
use crate::{CliError, Global, EXIT_OK};
use serde::Serialize;
use std::io::Write;

/// unless `force`.
pub fn rm(seg: &str, force: bool, g: &Global, out: &mut dyn Write) -> Result<i32, CliError> {
    let name = display_name(seg)?;
    let path = path_of(seg)?;
    let meta = std::fs::symlink_metadata(&path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            CliError::io(format!("segment {name} does not exist"))
        } else {
            CliError::io(format!("{}: {e}", path.display()))
        }
    })?;
    let verdict = if meta.file_type().is_symlink() {
        Some("it is a symbolic link".to_owned())
    } else if !meta.is_file() {
        Some("it is not a regular file".to_owned())
    } else {
        match open_readonly(&path) {
            Err(e) => Some(format!("it cannot be read ({e})")),
            Ok((f, m)) => match read_raw_table(&f, m.len()) {
                Err(e) => Some(format!("it cannot be read ({e})")),
                Ok(raw) => table_refusal(&raw)
                    .map(|p| format!("it is not a valid ZeroIPC segment: {}", invalid_reason(&p))),
            },
        }
    };
    if let (Some(why), false) = (&verdict, force) {
        return Err(CliError::problem(format!(
            "refusing to remove {name}: {why}; pass --force to remove it anyway"
        )));
    }
    if meta.is_dir() {
        return Err(CliError::problem(format!(
            "refusing to remove {name}: it is a directory"
        )));
    }
    std::fs::remove_file(&path).map_err(|e| CliError::io(format!("{}: {e}", path.display())))?;
    if g.json {
        #[derive(Serialize)]
        struct Rm {
            removed: String,
            forced: bool,
        }
        emit_json(
            out,
            &Rm {
                removed: name,
                forced: verdict.is_some(),
            },
        )?;
    } else {
        writeln!(out, "removed {name}").map_err(out_err)?;
    }
    Ok(EXIT_OK)
}
