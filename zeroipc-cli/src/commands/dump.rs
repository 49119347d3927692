//! `zeroipc dump`.

use super::find_structure;
use crate::inspect::classify::classify;
use crate::inspect::source::{self, Image};
use crate::inspect::value;
use crate::output::{self as render, emit_json, hex_off, out_err};
use crate::{CliError, Global, EXIT_OK};
use serde::Serialize;
use std::io::Write;

/// One dumped range.
#[derive(Debug, Clone, Serialize)]
pub struct DumpPart {
    /// Entry name, `null` for a whole-segment dump.
    pub name: Option<String>,
    /// Absolute offset of the entry (0 for the segment).
    pub offset: u64,
    /// Entry (or segment) size.
    pub size: u64,
    /// First byte shown, relative to `offset`.
    pub start: u64,
    /// Bytes shown.
    pub shown: usize,
    /// Bytes after the shown ones.
    pub more: u64,
    /// The shown bytes, lower-case hex.
    pub hex: String,
}

/// `zeroipc dump SEG [NAME]`: hex dump of an entry, of every entry of a
/// composite structure, or of the segment (offsets relative to the entry,
/// or to the segment start); `bytes` bytes from `offset` (0 = all).
pub fn dump(
    seg: &str,
    name: Option<&str>,
    bytes: u64,
    offset: u64,
    g: &Global,
    out: &mut dyn Write,
) -> Result<i32, CliError> {
    let img = Image::open(seg, g.no_map)?;
    let mut parts: Vec<(DumpPart, Vec<u8>)> = Vec::new();
    let take = |size: u64| {
        let start = offset.min(size);
        let n = if bytes == 0 {
            size - start
        } else {
            bytes.min(size - start)
        };
        (start, n)
    };
    match name {
        Some(n) => {
            let mut list: Vec<source::EntryInfo> = img
                .entries
                .iter()
                .filter(|e| e.name == n)
                .cloned()
                .collect();
            if list.is_empty() {
                let mut c = classify(&img.entries, &img, g.named()?.as_ref());
                match find_structure(&mut c, n) {
                    Some((st, None)) => list = st.entries.clone(),
                    _ => {
                        return Err(CliError::problem(format!(
                            "segment {}: no entry or structure named {n:?}",
                            img.name
                        )))
                    }
                }
            }
            for e in list {
                let v = img.view(&e)?;
                let (start, k) = take(e.size);
                let data = v.bytes(start, k).map_err(CliError::problem)?;
                parts.push((
                    DumpPart {
                        name: Some(e.name.clone()),
                        offset: e.offset,
                        size: e.size,
                        start,
                        shown: data.len(),
                        more: e.size - start - k,
                        hex: value::hex(&data),
                    },
                    data,
                ));
            }
        }
        None => {
            let (start, k) = take(img.file_size);
            let data = img.read_abs(start, k)?;
            parts.push((
                DumpPart {
                    name: None,
                    offset: 0,
                    size: img.file_size,
                    start,
                    shown: data.len(),
                    more: img.file_size - start - k,
                    hex: value::hex(&data),
                },
                data,
            ));
        }
    }
    if g.json {
        #[derive(Serialize)]
        struct D<'a> {
            segment: String,
            name: Option<&'a str>,
            parts: Vec<&'a DumpPart>,
        }
        emit_json(
            out,
            &D {
                segment: img.name.clone(),
                name,
                parts: parts.iter().map(|(p, _)| p).collect(),
            },
        )?;
        return Ok(EXIT_OK);
    }
    let mut s = String::new();
    for (p, data) in &parts {
        match &p.name {
            Some(n) => s.push_str(&format!(
                "{} {n}: offset {}, {} bytes; offsets below are relative to the entry\n",
                img.name,
                hex_off(p.offset),
                p.size
            )),
            None => s.push_str(&format!("{}: {} bytes\n", img.name, p.size)),
        }
        s.push_str(&render::hexdump(data, p.start));
        if p.more > 0 {
            s.push_str(&format!(
                "... ({} more bytes; use --bytes N, 0 for all)\n",
                p.more
            ));
        }
    }
    out.write_all(s.as_bytes()).map_err(out_err)?;
    Ok(EXIT_OK)
}
