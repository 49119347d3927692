//! `zeroipc show`.

use crate::inspect::classify::{classify, Classified};
use crate::inspect::decode::{self, Want};
use crate::inspect::source::{self, Image};
use crate::inspect::waiters;
use crate::output::{
    self as render, emit_json, hex_off, out_err, structure_report, StructureReport,
};
use crate::{CliError, Global, EXIT_OK};
use serde::Serialize;
use std::io::Write;

#[derive(Serialize)]
struct SchemaReport {
    fingerprint: String,
    text_length: u64,
    used: bool,
    note: Option<String>,
}

#[derive(Serialize)]
struct ShowReport {
    segment: String,
    path: String,
    file_size: u64,
    backing: &'static str,
    header: source::Header,
    data_start: u64,
    bytes_used: u64,
    bytes_free: u64,
    schema: Option<SchemaReport>,
    /// Structures the `__zeroipc_kinds` entry records (absent without one).
    #[serde(skip_serializing_if = "Option::is_none")]
    self_described: Option<usize>,
    /// The `__zeroipc_waiters` registry (absent without one).
    #[serde(skip_serializing_if = "Option::is_none")]
    waiters: Option<WaitersReport>,
    structures: Vec<StructureReport>,
}

/// `show --json`'s `waiters` object.
#[derive(Serialize)]
struct WaitersReport {
    /// True when the header is one the runtime uses (our blocked calls
    /// then sleep on futexes; otherwise they poll).
    valid: bool,
    slots: Option<u32>,
    nonzero_slots: Option<usize>,
    asleep_for_items: Option<u64>,
    asleep_for_room: Option<u64>,
    /// Why the header is not used.
    error: Option<String>,
}

fn waiters_report(c: &Classified) -> Option<WaitersReport> {
    Some(match c.waiters.as_ref()? {
        Ok(r) => WaitersReport {
            valid: true,
            slots: Some(r.slots),
            nonzero_slots: Some(r.nonzero()),
            asleep_for_items: Some(r.totals().0),
            asleep_for_room: Some(r.totals().1),
            error: None,
        },
        Err(e) => WaitersReport {
            valid: false,
            slots: None,
            nonzero_slots: None,
            asleep_for_items: None,
            asleep_for_room: None,
            error: Some(e.clone()),
        },
    })
}

fn schema_report(c: &Classified) -> Option<SchemaReport> {
    c.schema.as_ref().map(|h| SchemaReport {
        fingerprint: format!("{:#018x}", h.fingerprint),
        text_length: h.text_len,
        used: c.schema_note.is_none(),
        note: c.schema_note.clone(),
    })
}

/// `zeroipc show SEG`: summary and the structure table.
pub fn show(seg: &str, g: &Global, out: &mut dyn Write) -> Result<i32, CliError> {
    let img = Image::open(seg, g.no_map)?;
    let c = classify(&img.entries, &img, g.named()?.as_ref());
    let reports: Vec<StructureReport> = c
        .structures
        .iter()
        .map(|s| {
            // A few items are decoded so that a guessed element type can be
            // refined from the values (f32/f64 bit patterns).
            let d = s.decode(
                Some(Want {
                    range: None,
                    limit: 64,
                }),
                false,
            );
            let mut r = structure_report(s, d.as_ref());
            r.sleepers = waiters::sleepers_of(c.waiters.as_ref(), &s.entries);
            r
        })
        .collect();
    let h = img.header;
    let used = h.next_offset;
    let free = h
        .memory_size
        .saturating_sub(decode::align_up(used, 8).unwrap_or(used));
    if g.json {
        emit_json(
            out,
            &ShowReport {
                segment: img.name.clone(),
                path: img.path.display().to_string(),
                file_size: img.file_size,
                backing: img.backing,
                header: h,
                data_start: img.data_start,
                bytes_used: used,
                bytes_free: free,
                schema: schema_report(&c),
                self_described: c.described,
                waiters: waiters_report(&c),
                structures: reports,
            },
        )?;
        return Ok(EXIT_OK);
    }
    let mut s = String::new();
    let kv = summary_rows(&img, &c, used, free);
    s.push_str(&render::table(&kv));
    s.push('\n');
    if c.structures.is_empty() {
        s.push_str("no structures\n");
    } else {
        let mut t = vec![[
            "NAME", "KIND", "OFFSET", "SIZE", "ELEM", "CAPACITY", "TYPE", "FILL",
        ]
        .iter()
        .map(|x| (*x).to_owned())
        .collect::<Vec<_>>()];
        let dash = || "-".to_owned();
        for (st, r) in c.structures.iter().zip(&reports) {
            t.push(vec![
                r.name.clone(),
                st.kind_label(),
                hex_off(r.offset),
                render::size(r.size),
                r.elem_size.map_or_else(dash, |x| x.to_string()),
                r.capacity.map_or_else(dash, |x| x.to_string()),
                r.type_.as_ref().map_or_else(dash, |t| {
                    format!("{t}{}", if r.type_guessed { "?" } else { "" })
                }),
                render::ellipsis(
                    &match &r.error {
                        Some(e) => format!("error: {e}"),
                        None => r.summary.clone(),
                    },
                    render::CELL_MAX,
                ),
            ]);
            if r.parts.len() > 1 {
                for p in &r.parts {
                    t.push(vec![
                        format!("  {}", p.name),
                        format!(".{}", p.role),
                        hex_off(p.offset),
                        render::size(p.size),
                    ]);
                }
            }
        }
        s.push_str(&render::table(&t));
    }
    for r in reports
        .iter()
        .filter(|r| r.sleepers.is_some_and(|x| !x.is_zero()))
    {
        if let Some(x) = &r.sleepers {
            s.push_str(&format!(
                "sleepers: {}: {}\n",
                r.name,
                render::sleepers_text(x)
            ));
        }
    }
    for (name, p) in &c.problems {
        s.push_str(&format!("problem: {name}: {p}\n"));
    }
    out.write_all(s.as_bytes()).map_err(out_err)?;
    Ok(EXIT_OK)
}

/// The key/value rows above `show`'s structure table.
fn summary_rows(img: &Image, c: &Classified, used: u64, free: u64) -> Vec<Vec<String>> {
    let h = img.header;
    let pct = if h.memory_size > 0 {
        (used as u128 * 100 / h.memory_size as u128) as u64
    } else {
        0
    };
    let mut kv = vec![
        vec!["segment".to_owned(), img.name.clone()],
        vec![
            "file".to_owned(),
            format!(
                "{} ({}, {} bytes)",
                img.path.display(),
                render::size(img.file_size),
                img.file_size
            ),
        ],
        vec!["format".to_owned(), format!("ZeroIPC v{}", h.version)],
        vec![
            "table".to_owned(),
            format!(
                "{} of {} entries in use, {} (data starts at {})",
                h.entry_count,
                h.max_entries,
                render::size(img.data_start),
                hex_off(img.data_start)
            ),
        ],
        vec![
            "used".to_owned(),
            format!(
                "{} of {} ({} bytes, {pct}%)",
                render::size(used),
                render::size(h.memory_size),
                used
            ),
        ],
        vec![
            "free".to_owned(),
            format!("{} ({free} bytes)", render::size(free)),
        ],
        vec![
            "schema".to_owned(),
            match (&c.schema, &c.schema_note) {
                (None, _) => {
                    "none: kinds guessed from entry names and header shapes (? = guess)".to_owned()
                }
                (Some(h), None) => format!(
                    "fingerprint {:#018x}: kinds and types from the schema",
                    h.fingerprint
                ),
                (Some(h), Some(n)) => format!("fingerprint {:#018x}, not used: {n}", h.fingerprint),
            },
        ],
    ];
    if let Some(n) = c.described {
        kv.push(vec![
            "described".to_owned(),
            format!(
                "{n} structure{} recorded in __zeroipc_kinds: their kinds are not guessed",
                if n == 1 { "" } else { "s" }
            ),
        ]);
    }
    if let Some(w) = &c.waiters {
        kv.push(vec![
            "waiters".to_owned(),
            match w {
                Ok(r) => format!(
                    "{}: {}; our blocked calls sleep on futexes",
                    waiters::ENTRY,
                    r.describe()
                ),
                Err(e) => format!(
                    "{} damaged ({e}): the runtime ignores it, our blocked calls poll",
                    waiters::ENTRY
                ),
            },
        ]);
    }
    kv
}
