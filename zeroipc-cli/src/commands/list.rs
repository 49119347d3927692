//! `zeroipc list`.

use crate::inspect::source::{invalid_reason, open_readonly, read_raw_table, table_refusal};
use crate::output::{self as render, emit_json, out_err};
use crate::{CliError, Global, EXIT_OK};
use serde::Serialize;
use std::io::Write;

/// One row of `list`.
#[derive(Debug, Clone, Serialize)]
pub struct ListRow {
    /// `/name`.
    pub name: String,
    /// File path.
    pub path: String,
    /// File size in bytes (`null` when it could not be read).
    pub size: Option<u64>,
    /// True when the runtime would open it.
    pub valid: bool,
    /// Format version from the header (`null` without a header).
    pub version: Option<u32>,
    /// Entries in use.
    pub entry_count: Option<u32>,
    /// Entry slots.
    pub max_entries: Option<u32>,
    /// `memory_size` from the header.
    pub memory_size: Option<u64>,
    /// `next_offset` from the header: bytes used, table included.
    pub bytes_used: Option<u64>,
    /// Why it is not a valid segment (the first failed check).
    pub invalid: Option<String>,
    /// The OS error when the file could not be read.
    pub error: Option<String>,
}

/// Inspects one file of the shm directory (never fails: problems go into
/// the row).
pub fn list_one(dir: &std::path::Path, file: &str) -> ListRow {
    let path = dir.join(file);
    let mut row = ListRow {
        name: format!("/{file}"),
        path: path.display().to_string(),
        size: None,
        valid: false,
        version: None,
        entry_count: None,
        max_entries: None,
        memory_size: None,
        bytes_used: None,
        invalid: None,
        error: None,
    };
    match std::fs::symlink_metadata(&path) {
        Ok(m) if m.file_type().is_symlink() => {
            row.invalid = Some("symbolic link (not followed)".to_owned());
            return row;
        }
        Ok(m) if m.is_dir() => {
            row.invalid = Some("a directory, not a segment".to_owned());
            return row;
        }
        Ok(m) if !m.is_file() => {
            row.invalid = Some("not a regular file".to_owned());
            return row;
        }
        Ok(m) => row.size = Some(m.len()),
        Err(e) => {
            row.error = Some(e.to_string());
            return row;
        }
    }
    let (f, m) = match open_readonly(&path) {
        Ok(x) => x,
        Err(e) => {
            row.error = Some(e.to_string());
            return row;
        }
    };
    row.size = Some(m.len());
    let raw = match read_raw_table(&f, m.len()) {
        Ok(r) => r,
        Err(e) => {
            row.error = Some(e.to_string());
            return row;
        }
    };
    if let Some(h) = raw.header {
        if h.magic == zeroipc::table::MAGIC {
            row.version = Some(h.version);
            row.entry_count = Some(h.entry_count);
            row.max_entries = Some(h.max_entries);
            row.memory_size = Some(h.memory_size);
            row.bytes_used = Some(h.next_offset);
        }
    }
    match table_refusal(&raw) {
        Some(p) => row.invalid = Some(invalid_reason(&p)),
        None => row.valid = true,
    }
    row
}

/// `zeroipc list`: every object in `dir` (default `/dev/shm`).
pub fn list(
    dir: Option<&std::path::Path>,
    g: &Global,
    out: &mut dyn Write,
) -> Result<i32, CliError> {
    let dir = dir.unwrap_or(std::path::Path::new(zeroipc::segment::SHM_DIR));
    let rd = std::fs::read_dir(dir).map_err(|e| CliError::io(format!("{}: {e}", dir.display())))?;
    let mut names: Vec<String> = rd
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let rows: Vec<ListRow> = names.iter().map(|n| list_one(dir, n)).collect();
    if g.json {
        #[derive(Serialize)]
        struct L<'a> {
            directory: String,
            segments: &'a [ListRow],
        }
        emit_json(
            out,
            &L {
                directory: dir.display().to_string(),
                segments: &rows,
            },
        )?;
        return Ok(EXIT_OK);
    }
    let mut t = vec![vec![
        "NAME".to_owned(),
        "SIZE".to_owned(),
        "VERSION".to_owned(),
        "ENTRIES".to_owned(),
        "USED".to_owned(),
        "STATUS".to_owned(),
    ]];
    for r in &rows {
        let dash = || "-".to_owned();
        let status = if let Some(e) = &r.error {
            format!("error: {e}")
        } else if let Some(i) = &r.invalid {
            format!("invalid: {i}")
        } else {
            "ok".to_owned()
        };
        t.push(vec![
            r.name.clone(),
            r.size.map_or_else(dash, render::size),
            r.version.map_or_else(dash, |v| v.to_string()),
            match (r.entry_count, r.max_entries) {
                (Some(a), Some(b)) => format!("{a}/{b}"),
                _ => dash(),
            },
            match (r.bytes_used, r.memory_size) {
                (Some(u), Some(m)) if m > 0 => {
                    format!("{} ({}%)", render::size(u), (u as u128 * 100 / m as u128))
                }
                (Some(u), _) => render::size(u),
                _ => dash(),
            },
            status,
        ]);
    }
    if rows.is_empty() {
        writeln!(out, "no shared-memory objects in {}", dir.display()).map_err(out_err)?;
    } else {
        out.write_all(render::table(&t).as_bytes())
            .map_err(out_err)?;
    }
    Ok(EXIT_OK)
}
