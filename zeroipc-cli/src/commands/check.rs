//! `zeroipc check`.

use crate::inspect::classify::{self, classify};
use crate::inspect::decode::Kind;
use crate::inspect::schema;
use crate::inspect::source::{
    self, display_name, open_readonly, path_of, read_raw_table, table_problems,
};
use crate::inspect::waiters;
use crate::output::{self as render, emit_json, out_err};
use crate::{CliError, Global, Problem, EXIT_OK, EXIT_PROBLEM};
use serde::Serialize;
use std::io::Write;
use zeroipc::format::map::KeyLayout;
use zeroipc::format::{ElemLayout, StructureKind as SK};
use zeroipc::layout::{Kind as LayoutKind, TypeLayout};
use zeroipc::raw::{
    RawArray, RawChannel, RawFuture, RawLazy, RawMap, RawPool, RawQueue, RawRing, RawSet,
    RawSignal, RawStack, RawStream,
};
use zeroipc::{Segment, SegmentOptions};

/// Every problem of a segment: table checks (docs/FORMAT.md §2 and
/// consistency) and per-structure header and state checks, plus notes
/// (not problems) about what could not be checked. Unless `no_map`, the
/// runtime maps the segment to open the structures whose layout is known.
pub fn check_problems(
    seg: &str,
    named: Option<schema::Named>,
    no_map: bool,
) -> Result<(String, usize, Vec<Problem>, Vec<String>), CliError> {
    let name = display_name(seg)?;
    let path = path_of(seg)?;
    let (f, m) = open_readonly(&path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            CliError::io(format!("segment {name} does not exist"))
        } else {
            CliError::io(format!("{}: {e}", path.display()))
        }
    })?;
    let raw = read_raw_table(&f, m.len())
        .map_err(|e| CliError::io(format!("{}: {e}", path.display())))?;
    let (mut problems, good) = table_problems(&raw);
    // The runtime's view of the segment, when it maps it (a table it
    // refuses, or an object we cannot open for writing, gives none).
    let runtime = (problems.is_empty() && !no_map)
        .then(|| {
            SegmentOptions::new()
                .allow_foreign_owner(true)
                .open(&name)
                .ok()
        })
        .flatten();
    let mut notes = Vec::new();
    let img = FileViews(std::sync::Arc::new(f));
    let c = classify(&good, &img, named.as_ref());
    for (s, p) in &c.problems {
        problems.push(Problem {
            structure: Some(s.clone()),
            check: "schema",
            detail: p.clone(),
        });
    }
    if let Some(n) = &c.schema_note {
        notes.push(format!("schema present but not used: {n}"));
    }
    if let Some(Ok(r)) = &c.waiters {
        sleeper_notes(r, &c.structures, &mut notes);
        let max = raw.header.map(|h| h.max_entries);
        if let Some(max) = max.filter(|&m| m != r.slots) {
            problems.push(Problem {
                structure: Some(waiters::ENTRY.to_owned()),
                check: "waiter_registry",
                detail: format!(
                    "{} slots, but the table has max_entries {max} (one slot per table slot; \
                     structures in slots {} and up have no counts and poll)",
                    r.slots,
                    r.slots.min(max)
                ),
            });
        }
    }
    for s in &c.structures {
        let kind = s.kind.name();
        match s.kind {
            Kind::Unknown => {
                notes.push(format!(
                    "{}: {} bytes match no structure kind; not checked",
                    s.name,
                    s.size()
                ));
                continue;
            }
            Kind::Marker => {
                notes.push(format!("{}: a 1-byte marker outside any composite", s.name));
                continue;
            }
            _ => {}
        }
        if !s.certain {
            notes.push(format!(
                "{}: kind guessed as {kind}; checked as one",
                s.name
            ));
        }
        if let Some(refusal) = runtime.as_ref().and_then(|seg| runtime_refusal(seg, s)) {
            problems.push(Problem {
                structure: Some(s.name.clone()),
                check: kind,
                detail: format!("the runtime refuses to open it: {refusal}"),
            });
        }
        match s.decode(None, true) {
            Ok(d) => {
                for p in d.problems {
                    problems.push(Problem {
                        structure: Some(s.name.clone()),
                        check: kind,
                        detail: p,
                    });
                }
            }
            Err(e) => problems.push(Problem {
                structure: Some(s.name.clone()),
                check: kind,
                detail: format!("header does not fit: {e}"),
            }),
        }
    }
    Ok((name, c.structures.len(), problems, notes))
}

/// Notes (not problems) about nonzero counts in the waiter registry: a
/// process counted asleep on a structure, or a count in a slot no
/// structure uses. The inspector cannot tell a live sleeper from one that
/// died while counted (its producers then make one needless `FUTEX_WAKE`
/// per operation; nothing else goes wrong).
fn sleeper_notes(
    r: &waiters::Registry,
    structures: &[classify::Structure],
    notes: &mut Vec<String>,
) {
    let mut used = vec![false; r.counts.len()];
    for s in structures {
        for e in &s.entries {
            if let Some(u) = used.get_mut(e.index as usize) {
                *u = true;
            }
        }
        match r.sleepers(&s.entries) {
            Some(x) if !x.is_zero() => notes.push(format!(
                "{}: {} (a count with nobody asleep is left by a sleeper that died: \
                 harmless, one needless wake-up call per operation)",
                s.name,
                render::sleepers_text(&x)
            )),
            _ => {}
        }
    }
    for (i, c) in r.counts.iter().enumerate() {
        if !used[i] && (c[0] != 0 || c[1] != 0) {
            notes.push(format!(
                "{}: slot {i} counts {} asleep for an item and {} for room, but no entry in use has that slot",
                waiters::ENTRY,
                c[0],
                c[1]
            ));
        }
    }
}

/// The runtime's reason for refusing to open `s` through its raw core, for
/// a structure whose kind and layout are known: recorded by the segment's
/// self-description (the runtime takes the layout from it), or typed by
/// the segment's schema (the schema's types are given). A refusal is then
/// a validation failure, the same error a program opening it would get.
/// `None` when the runtime opens it, the kind has no raw core, or neither
/// is known (a reference library's structure: the runtime may need a type
/// the segment does not state, and the inspector's own checks stand alone).
fn runtime_refusal(seg: &Segment, s: &classify::Structure) -> Option<String> {
    let recorded = s.basis == "self-description";
    if !recorded && s.types.source != "schema" {
        return None;
    }
    // Given types only where the segment does not record them.
    let t = |x: Option<&'static TypeLayout>| x.filter(|_| !recorded);
    let elem = t(s.types.elem).and_then(ElemLayout::from_type_layout);
    let key = t(s.types.key).and_then(KeyLayout::from_type_layout);
    let value = t(s.types.value).and_then(ElemLayout::from_type_layout);
    let prim = match t(s.types.elem).map(|x| x.kind) {
        Some(LayoutKind::Prim(p)) => Some(p),
        _ => None,
    };
    let name = s.name.as_str();
    let opened: zeroipc::Result<()> = match s.kind {
        Kind::Structure(k) => match k {
            SK::Queue => RawQueue::open(seg, name, elem).map(drop),
            SK::Stack => RawStack::open(seg, name, elem).map(drop),
            SK::Ring => RawRing::open(seg, name, elem).map(drop),
            SK::Pool => RawPool::open(seg, name, elem).map(drop),
            SK::Map => RawMap::open(seg, name, key, value).map(drop),
            SK::Set => RawSet::open(
                seg,
                name,
                t(s.types.elem).and_then(KeyLayout::from_type_layout),
            )
            .map(drop),
            SK::Array => RawArray::open(seg, name, elem).map(drop),
            SK::Future => RawFuture::open(seg, name, elem).map(drop),
            SK::Lazy => RawLazy::open(seg, name, prim).map(drop),
            SK::Signal => RawSignal::open(seg, name, elem).map(drop),
            SK::Channel => RawChannel::open(seg, name, elem).map(drop),
            SK::Stream => RawStream::open(seg, name, elem).map(drop),
            _ => return None,
        },
        _ => return None,
    };
    opened.err().map(|e| e.to_string())
}

struct FileViews(std::sync::Arc<std::fs::File>);

impl classify::Views for FileViews {
    fn view(&self, e: &source::EntryInfo) -> Result<source::View, String> {
        Ok(source::View::from_file(
            &e.name,
            self.0.clone(),
            e.offset,
            e.size,
        ))
    }
}

/// `zeroipc check SEG`: exit 0 when sound, 1 with one line per problem.
pub fn check(seg: &str, g: &Global, out: &mut dyn Write) -> Result<i32, CliError> {
    let (name, n, problems, notes) = check_problems(seg, g.named()?, g.no_map)?;
    let code = if problems.is_empty() {
        EXIT_OK
    } else {
        EXIT_PROBLEM
    };
    if g.json {
        #[derive(Serialize)]
        struct C<'a> {
            segment: String,
            sound: bool,
            structures: usize,
            problems: &'a [Problem],
            notes: &'a [String],
        }
        emit_json(
            out,
            &C {
                segment: name,
                sound: problems.is_empty(),
                structures: n,
                problems: &problems,
                notes: &notes,
            },
        )?;
        return Ok(code);
    }
    let mut s = String::new();
    for p in &problems {
        s.push_str(&format!("{p}\n"));
    }
    for n in &notes {
        s.push_str(&format!("note: {n}\n"));
    }
    if problems.is_empty() {
        s.push_str(&format!(
            "{name}: sound ({n} structure{} checked)\n",
            if n == 1 { "" } else { "s" }
        ));
    } else {
        s.push_str(&format!(
            "{name}: {} problem{}\n",
            problems.len(),
            if problems.len() == 1 { "" } else { "s" }
        ));
    }
    out.write_all(s.as_bytes()).map_err(out_err)?;
    Ok(code)
}
