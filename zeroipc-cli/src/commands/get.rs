//! `zeroipc get`.

use super::{find_structure, Fields};
use crate::inspect::classify::{self, classify, force_kind, Structure};
use crate::inspect::decode::{Contents, Decoded, Kind, Types, Want};
use crate::inspect::source::Image;
use crate::inspect::waiters;
use crate::inspect::{schema, types, value::Value};
use crate::output::{
    self as render, emit_json, hex_off, out_err, structure_report, StructureReport,
};
use crate::{CliError, Global, EXIT_OK};
use serde::Serialize;
use std::io::Write;
use zeroipc::format::StructureKind as SK;

/// Options of `get`.
#[derive(Debug, Clone, Default)]
pub struct GetOptions {
    /// Structure (or entry) name.
    pub name: String,
    /// Items `[a, b)`.
    pub range: Option<(u64, u64)>,
    /// At most this many items (0 = all).
    pub limit: u64,
    /// `--type` (for maps `K,V`).
    pub type_: Option<String>,
    /// `--key`.
    pub key: Option<String>,
    /// `--value`.
    pub value: Option<String>,
    /// `--kind`.
    pub kind: Option<String>,
    /// `--record NAME`.
    pub record: Option<String>,
}

fn user_types(
    o: &GetOptions,
    st: &Structure,
    named: Option<&schema::Named>,
) -> Result<Option<Types>, CliError> {
    let kind = st.kind;
    let mut t = Types {
        source: "option",
        ..Default::default()
    };
    let record = match &o.record {
        None => None,
        Some(r) => {
            let named = named.ok_or_else(|| {
                CliError::usage("--record needs --schema PATH (the schema file or folder)")
            })?;
            Some(*named.get(r).ok_or_else(|| {
                let mut known: Vec<&String> = named.keys().collect();
                known.sort();
                CliError::usage(format!(
                    "no record or enum {r:?} in the schema (it has: {known:?})"
                ))
            })?)
        }
    };
    let parse = |s: &str| types::parse_type(s).map_err(CliError::usage);
    if kind == Kind::Structure(SK::Map) {
        if let Some(s) = &o.type_ {
            let (k, v) = types::parse_key_value(s).map_err(CliError::usage)?;
            t.key = Some(k);
            t.value = Some(v);
        }
        if let Some(k) = &o.key {
            t.key = Some(parse(k)?);
        }
        if let Some(v) = &o.value {
            t.value = Some(parse(v)?);
        }
        if record.is_some() {
            t.value = record;
        }
        return Ok((t.key.is_some() || t.value.is_some()).then_some(t));
    }
    if o.key.is_some() || o.value.is_some() {
        return Err(CliError::usage(format!(
            "--key/--value apply to maps; {} is a {}: use --type",
            o.name,
            kind.name()
        )));
    }
    if let Some(s) = o
        .type_
        .as_deref()
        .filter(|s| types::top_level_comma(s).is_some())
    {
        return Err(CliError::usage(format!(
            "--type {s:?} is a key and a value type, which only a map has, but {} is {} {}; \
             if it is a map, add --kind map",
            o.name,
            if st.certain { "a" } else { "guessed to be a" },
            st.kind.name()
        )));
    }
    match (&o.type_, record) {
        (Some(_), Some(_)) => Err(CliError::usage("give --type or --record, not both")),
        (Some(s), None) => {
            t.elem = Some(parse(s)?);
            Ok(Some(t))
        }
        (None, Some(r)) => {
            t.elem = Some(r);
            Ok(Some(t))
        }
        (None, None) => Ok(None),
    }
}

#[derive(Serialize)]
struct ItemReport<'a> {
    index: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<&'a Value>,
    value: &'a Value,
}

#[derive(Serialize)]
struct ContentsReport<'a> {
    order: &'static str,
    total: u64,
    shown: usize,
    items: Vec<ItemReport<'a>>,
}

#[derive(Serialize)]
struct GetReport<'a> {
    segment: String,
    #[serde(flatten)]
    structure: StructureReport,
    note: Option<String>,
    fields: Fields<'a>,
    contents: Option<ContentsReport<'a>>,
    problems: &'a [String],
}

/// `zeroipc get SEG NAME`: decoded header, state and contents.
pub fn get(seg: &str, o: &GetOptions, g: &Global, out: &mut dyn Write) -> Result<i32, CliError> {
    let img = Image::open(seg, g.no_map)?;
    let named = g.named()?;
    let (st, note) = select(&img, o, named.as_ref())?;
    let want = Want {
        range: o.range,
        limit: o.limit,
    };
    let d = st.decode(Some(want), true).map_err(|e| {
        CliError::problem(format!(
            "{}: cannot decode as {}: {e}",
            o.name,
            st.kind.name()
        ))
    })?;
    let mut rep = structure_report(&st, Ok(&d));
    rep.sleepers = waiters::find(&img.entries, &img)
        .and_then(|(_, r)| waiters::sleepers_of(Some(&r), &st.entries));
    if g.json {
        write_json(&img.name, rep, note, &d, out)?;
    } else {
        let text = render_text(&img.name, &st, &rep, note.as_deref(), &d, o);
        out.write_all(text.as_bytes()).map_err(out_err)?;
    }
    Ok(EXIT_OK)
}

/// The structure `get` shows: found by name (or forced with `--kind`),
/// with the user's types applied; and a note for the output.
fn select(
    img: &Image,
    o: &GetOptions,
    named: Option<&schema::Named>,
) -> Result<(Structure, Option<String>), CliError> {
    let forced = match &o.kind {
        Some(k) => Some(Kind::parse(k).ok_or_else(|| {
            CliError::usage(format!(
                "unknown kind {k:?} (one of: {})",
                Kind::ALL.map(Kind::name).join(", ")
            ))
        })?),
        None => None,
    };
    let (mut st, mut note) = match forced {
        Some(k) => (
            force_kind(k, &o.name, &img.entries, img, Types::default())
                .map_err(CliError::problem)?,
            None,
        ),
        None => {
            let mut c = classify(&img.entries, img, named);
            find_structure(&mut c, &o.name).ok_or_else(|| {
                CliError::problem(format!(
                    "segment {}: no structure named {:?} (see `zeroipc show {}`)",
                    img.name, o.name, img.name
                ))
            })?
        }
    };
    if let Some(t) = user_types(o, &st, named)? {
        if st.basis == "schema" {
            let n = "--type overrides the type the schema gives".to_owned();
            note = Some(match note {
                Some(x) => format!("{x}; {n}"),
                None => n,
            });
        }
        st = with_types(st, t, o)?;
    }
    Ok((st, note))
}

/// `st` with the user's types; a kind guessed from the header is decided
/// again with them (only kinds that fit both the bytes and the type stay).
fn with_types(mut st: Structure, t: Types, o: &GetOptions) -> Result<Structure, CliError> {
    st.types = t;
    if st.certain || st.basis != "header" {
        return Ok(st);
    }
    let v = st.parts.remove(0).1;
    let entry = st.entries[0].clone();
    let mut again = classify::guess_single(v, t);
    again.entries[0] = entry;
    if again.kind == Kind::Unknown {
        return Err(CliError::problem(format!(
            "{}: no structure kind fits these bytes with type {}",
            o.name,
            o.type_.as_deref().or(o.record.as_deref()).unwrap_or("?")
        )));
    }
    Ok(again)
}

/// `get --json`.
fn write_json(
    segment: &str,
    rep: StructureReport,
    note: Option<String>,
    d: &Decoded,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let contents = d.contents.as_ref().map(|c| ContentsReport {
        order: c.order,
        total: c.total,
        shown: c.items.len(),
        items: c
            .items
            .iter()
            .map(|i| ItemReport {
                index: i.index,
                key: i.key.as_ref(),
                value: &i.value,
            })
            .collect(),
    });
    emit_json(
        out,
        &GetReport {
            segment: segment.to_owned(),
            structure: rep,
            note,
            fields: Fields(&d.fields),
            contents,
            problems: &d.problems,
        },
    )
}

/// `get` as text: the structure line, its entries and fields, the contents
/// and the problems.
fn render_text(
    segment: &str,
    st: &Structure,
    rep: &StructureReport,
    note: Option<&str>,
    d: &Decoded,
    o: &GetOptions,
) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "{} {}: {}{}\n",
        segment,
        st.name,
        st.kind_label(),
        if st.certain {
            String::new()
        } else if rep.alternatives.is_empty() {
            " (guessed from the header)".to_owned()
        } else {
            format!(
                " (guessed from the header; also fits {}; use --kind)",
                rep.alternatives.join(", ")
            )
        }
    ));
    if let Some(n) = note {
        s.push_str(&format!("note: {n}\n"));
    }
    let mut rows: Vec<Vec<String>> = Vec::new();
    for p in &rep.parts {
        rows.push(vec![
            format!("entry {}", p.name),
            format!(
                "{}offset {}, {}",
                if rep.parts.len() > 1 {
                    format!(".{} ", p.role)
                } else {
                    String::new()
                },
                hex_off(p.offset),
                render::size(p.size)
            ),
        ]);
    }
    if let Some(t) = &rep.type_ {
        rows.push(vec![
            "type".to_owned(),
            if rep.type_guessed {
                format!("{t}? (guessed from the element size; pass --type)")
            } else {
                t.clone()
            },
        ]);
    }
    for (k, v) in &d.fields {
        rows.push(vec![k.clone(), v.to_string()]);
    }
    rows.push(vec!["summary".to_owned(), d.summary.clone()]);
    if let Some(x) = &rep.sleepers {
        rows.push(vec![
            "sleepers".to_owned(),
            format!("{} (waiter registry)", render::sleepers_text(x)),
        ]);
    }
    s.push_str(&render::table(&rows));
    if let Some(cn) = &d.contents {
        s.push_str(&render_contents(st, cn, o));
    }
    for p in &d.problems {
        s.push_str(&format!("problem: {p}\n"));
    }
    s
}

/// The contents table of `get`'s text output.
fn render_contents(st: &Structure, cn: &Contents, o: &GetOptions) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "contents: {}, {} of {} item{}\n",
        cn.order,
        cn.items.len(),
        cn.total,
        if cn.total == 1 { "" } else { "s" }
    ));
    let label = match st.kind {
        Kind::Structure(SK::Array) => "",
        Kind::Structure(SK::Pool) => "node ",
        Kind::Schema => "",
        _ => "slot ",
    };
    let mut t = Vec::new();
    for i in &cn.items {
        let idx = if st.kind == Kind::Schema {
            String::new()
        } else if label.is_empty() {
            format!("[{}]", i.index)
        } else {
            format!("{label}{}", i.index)
        };
        let val = match (&i.key, st.kind) {
            (Some(k), _) => format!("{k} => {}", i.value),
            (None, Kind::Schema) => match &i.value {
                Value::Str(t) => t.clone(),
                v => v.to_string(),
            },
            (None, _) => i.value.to_string(),
        };
        t.push(vec![format!("  {idx}"), val]);
    }
    s.push_str(&render::table(&t));
    let shown_end = cn.items.len() as u64;
    if shown_end < cn.total && o.range.is_none() {
        s.push_str(&format!(
            "  ... {} more (use --range or --limit 0)\n",
            cn.total - shown_end
        ));
    }
    s
}
