//! The `__schema` entry of segments created from a zeroipc-gen schema
//! ([`zeroipc_gen::schema_entry`]: magic `ZIPCSCHM`, u64 fingerprint, u64 text
//! length, the canonical schema text). The inspector reads the structures'
//! kinds and element types from the canonical text, so such segments need
//! no guessing. Record and enum types appear in that text by name, size,
//! alignment and fingerprint only: they are shown as opaque bytes unless
//! the schema files are given (`--schema PATH`), whose compiled layouts are
//! used when their fingerprints match.

use super::decode::{Kind, Types};
use super::source::View;
use std::collections::HashMap;
use zeroipc::format::StructureKind as SK;
use zeroipc::layout::{Kind as LKind, Prim, TypeLayout};
use zeroipc_gen::types::leak;

/// Name of the schema entry.
pub const ENTRY: &str = zeroipc_gen::schema_entry::ENTRY_NAME;

/// The entry's header and text.
#[derive(Debug, Clone)]
pub struct SchemaHeader {
    /// Schema fingerprint as stored.
    pub fingerprint: u64,
    /// Text length in bytes.
    pub text_len: u64,
    /// The canonical schema text.
    pub text: String,
    /// Whether the fingerprint is FNV-1a 64 of the text.
    pub consistent: bool,
}

/// Reads and checks the entry (magic, length within the entry, UTF-8).
pub fn read_header(v: &View) -> Result<SchemaHeader, String> {
    let bytes = v.bytes(0, v.size)?;
    let e = zeroipc_gen::schema_entry::decode(&bytes).map_err(|e| e.to_string())?;
    Ok(SchemaHeader {
        fingerprint: e.fingerprint,
        text_len: e.text.len() as u64,
        text: e.text,
        consistent: e.consistent,
    })
}

/// One structure the schema declares.
#[derive(Debug, Clone)]
pub struct SchemaStructure {
    /// Structure (base) name.
    pub name: String,
    /// Its kind.
    pub kind: Kind,
    /// Its element/key/value types.
    pub types: Types,
}

/// Compiled record and enum layouts by name (from `--schema PATH`).
pub type Named = HashMap<String, &'static TypeLayout>;

/// Compiles the schema file or folder at `path` and returns its named
/// types, or the rendered diagnostics.
pub fn compile_named(path: &std::path::Path) -> Result<Named, String> {
    let c =
        zeroipc_gen::schema::compile_path(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if c.has_errors() {
        return Err(format!(
            "schema {} has errors:\n{}",
            path.display(),
            c.render_diagnostics()
        ));
    }
    let mut m = Named::new();
    for f in &c.files {
        for t in &f.types {
            m.insert(t.name.to_owned(), *t);
        }
    }
    Ok(m)
}

/// Parses one type spelling of the canonical text (`u32`, `FixedStr<N>`,
/// `[T; N]`, a type name).
fn parse_type(
    s: &str,
    types: &HashMap<String, &'static TypeLayout>,
) -> Result<&'static TypeLayout, String> {
    let s = s.trim();
    if let Some(p) = Prim::from_rust_name(s) {
        return Ok(p.layout());
    }
    if let Some(n) = s
        .strip_prefix("FixedStr<")
        .and_then(|r| r.strip_suffix('>'))
    {
        let len: usize = n.parse().map_err(|_| format!("bad type {s:?}"))?;
        return Ok(leak(TypeLayout {
            name: "",
            size: len,
            align: 1,
            kind: LKind::FixedStr { len },
            doc: "",
        }));
    }
    if let Some(inner) = s.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        let (t, n) = inner
            .rsplit_once(';')
            .ok_or_else(|| format!("bad type {s:?}"))?;
        let elem = parse_type(t, types)?;
        let len: usize = n.trim().parse().map_err(|_| format!("bad type {s:?}"))?;
        let size = elem
            .size
            .checked_mul(len)
            .filter(|&x| x <= 1 << 30)
            .ok_or_else(|| format!("type {s:?} too large"))?;
        return Ok(leak(TypeLayout {
            name: "",
            size,
            align: elem.align,
            kind: LKind::Array { elem, len },
            doc: "",
        }));
    }
    types
        .get(s)
        .copied()
        .ok_or_else(|| format!("type {s:?} is not described in the schema text"))
}

/// Splits the type spellings at the start of `rest` (before `key=value`
/// parameters); a `[T; N]` spelling contains a space.
fn split_types(rest: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0i32;
    for c in rest.chars() {
        match c {
            '[' | '<' => depth += 1,
            ']' | '>' => depth -= 1,
            _ => {}
        }
        if c.is_whitespace() && depth == 0 {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
        } else {
            cur.push(c);
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out.into_iter().take_while(|t| !t.contains('=')).collect()
}

/// The structures a canonical schema text declares. Named types resolve to
/// `named` layouts whose fingerprint matches the text, else to opaque
/// bytes of the stated size and alignment (enums: their integer).
pub fn structures(text: &str, named: Option<&Named>) -> Result<Vec<SchemaStructure>, String> {
    let mut lines = text.lines();
    if lines.next() != Some("zeroipc-schema 1") {
        return Err("schema text does not start with \"zeroipc-schema 1\"".to_owned());
    }
    let mut types: HashMap<String, &'static TypeLayout> = HashMap::new();
    for l in text.lines().filter(|l| l.starts_with("type ")) {
        let w: Vec<&str> = l.split_whitespace().collect();
        let name = *w.get(1).ok_or("bad type line")?;
        let kv = |k: &str| {
            w.iter()
                .find_map(|x| x.strip_prefix(&format!("{k}=")))
                .map(str::to_owned)
        };
        let fp = kv("fingerprint")
            .and_then(|f| u64::from_str_radix(f.trim_start_matches("0x"), 16).ok());
        if let Some(t) = named.and_then(|n| n.get(name)) {
            if Some(t.fingerprint()) == fp {
                types.insert(name.to_owned(), t);
                continue;
            }
        }
        let t = match w.get(2) {
            Some(&"enum") => {
                let repr = w
                    .get(3)
                    .and_then(|r| Prim::from_rust_name(r))
                    .ok_or_else(|| format!("bad enum line {l:?}"))?;
                TypeLayout {
                    name: Box::leak(name.to_owned().into_boxed_str()),
                    size: repr.size(),
                    align: repr.size(),
                    kind: LKind::OpenEnum {
                        repr,
                        variants: &[],
                    },
                    doc: "",
                }
            }
            Some(&"struct") => {
                let size: usize = kv("size")
                    .and_then(|s| s.parse().ok())
                    .filter(|&s: &usize| s <= 1 << 30)
                    .ok_or_else(|| format!("bad struct line {l:?}"))?;
                let align: usize = kv("align")
                    .and_then(|s| s.parse().ok())
                    .filter(|a: &usize| a.is_power_of_two() && *a <= 8)
                    .ok_or_else(|| format!("bad struct line {l:?}"))?;
                *super::types::opaque(name, size, align)
            }
            _ => return Err(format!("bad type line {l:?}")),
        };
        types.insert(name.to_owned(), leak(t));
    }
    let mut out = Vec::new();
    for l in text.lines().filter(|l| l.starts_with("structure ")) {
        let mut it = l.splitn(4, ' ');
        let (_, name, kind) = (it.next(), it.next(), it.next());
        let (Some(name), Some(kind)) = (name, kind) else {
            return Err(format!("bad structure line {l:?}"));
        };
        let rest = it.next().unwrap_or("");
        let tys: Vec<&'static TypeLayout> = split_types(rest)
            .iter()
            .map(|t| parse_type(t, &types))
            .collect::<Result<_, _>>()?;
        let mut k = Kind::parse(kind).ok_or_else(|| format!("unknown kind {kind:?}"))?;
        if k == Kind::Structure(SK::Stream) && tys.is_empty() {
            k = Kind::StreamVoid;
        }
        let mut t = Types {
            source: "schema",
            ..Default::default()
        };
        if k == Kind::Structure(SK::Map) {
            t.key = tys.first().copied();
            t.value = tys.get(1).copied();
        } else {
            t.elem = tys.first().copied();
        }
        out.push(SchemaStructure {
            name: name.to_owned(),
            kind: k,
            types: t,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_canonical_text() {
        let text = "zeroipc-schema 1\nsegment T\nstructure a array Reading capacity=16\nstructure m map u64 [f32; 2] capacity=8\nstructure s stream\nstructure l lazy f64 value=1.5\nstructure n queue FixedStr<8> capacity=4\ntype Reading struct size=120 align=8 fingerprint=0x2e22244845e31fc3\n";
        let s = structures(text, None).unwrap();
        assert_eq!(s.len(), 5);
        assert_eq!(s[0].kind, Kind::Structure(SK::Array));
        assert_eq!(s[0].types.elem.unwrap().size, 120);
        assert_eq!(s[1].types.key.unwrap().size, 8);
        assert_eq!(s[1].types.value.unwrap().size, 8);
        assert_eq!(s[2].kind, Kind::StreamVoid);
        assert_eq!(s[4].types.elem.unwrap().size, 8);
        assert!(structures("nope", None).is_err());
        assert!(structures("zeroipc-schema 1\nstructure a array Nope\n", None).is_err());
    }
}
