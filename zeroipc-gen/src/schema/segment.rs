//! Stage "build segments": each `[segments.X]` of a file becomes a
//! [`SegmentDef`]. Per structure: its kind, its keys (types and
//! parameters), the kind's rules on them, its name, and its table entries
//! (laid out by the format catalogue, `kinds::entries`); then the segment's
//! table and size. Every check reports a diagnostic at the span of what is
//! wrong; a structure with an error is left out, and the segment's table
//! and size are still checked against the others (a lower bound), so one run
//! reports as much as it can.

use super::diag::Diagnostic;
use super::kinds::{self, ElementUse, Params, StructureKind};
use super::node::{Node, Sp};
use super::{
    a, align_to, canonical_text, fnv1a64, format_float, is_ident, keyword_in, longest_suffix,
    prim_range, schema_entry_size, type_text, Ctx, RawSegment, RawStructure, Resolver, SegmentDef,
    Structure, RESERVED_STRUCTURE_NAMES,
};
use crate::types::{self, TypeExpr};
use std::collections::HashMap;
use std::ops::Range;
use zeroipc::format::{waiters, ShapeError};
use zeroipc::layout::TypeLayout;

/// Which structure owns each table entry name of a segment so far:
/// entry name -> "kind `name`".
type EntryOwners = HashMap<String, String>;

/// A type given to a structure, with the span of its string.
type GivenType = (&'static TypeLayout, Range<usize>);

/// What a structure's keys gave, before the kind's rules are checked.
struct Given<'r> {
    elem: Option<GivenType>,
    value: Option<GivenType>,
    params: Params,
    /// The keys present (for the required-key check).
    seen: Vec<&'r str>,
    /// Where `capacity` was given (the structure's name when it was not).
    cap_span: Range<usize>,
    /// Where a Lazy's `value` was given.
    lazy_span: Range<usize>,
}

/// Builds segment `s` of file `file`; `None` when it has an error
/// (reported in `res.diags`).
pub(super) fn build_segment(file: usize, s: &RawSegment, res: &mut Resolver) -> Option<SegmentDef> {
    let mut ok = true;
    let mut structures = Vec::new();
    let mut owners = EntryOwners::new();
    for st in &s.structures {
        match build_structure(file, st, res, &mut owners) {
            Some(built) => structures.push(built),
            None => ok = false,
        }
    }
    if s.structures.is_empty() {
        res.diags.push(Diagnostic::warning(
            file,
            s.name.span.clone(),
            format!("segment `{}` has no structures", s.name.v),
        ));
    }
    lay_out_segment(file, s, res, structures, !ok)
}

/// One structure: kind, keys, the kind's rules, name, entries.
fn build_structure(
    file: usize,
    st: &RawStructure,
    res: &mut Resolver,
    owners: &mut EntryOwners,
) -> Option<Structure> {
    let kind = structure_kind(file, st, res)?;
    let mut given = read_keys(file, st, kind, res)?;
    check_capacity(file, st, kind, &mut given, res)?;
    check_element_rules(file, st, kind, &given, res)?;
    check_structure_name(file, st, kind, &given, res)?;
    let entries = structure_entries(file, st, kind, &given, res)?;
    claim_entries(file, st, kind, &entries, owners, res)?;
    Some(Structure {
        name: st.name.v.clone(),
        doc: st.doc.clone(),
        kind,
        elem: given.elem.as_ref().map(|e| e.0),
        value: given.value.as_ref().map(|v| v.0),
        params: given.params,
        entries,
    })
}

/// The catalogue kind named by `kind = "..."`.
fn structure_kind(file: usize, st: &RawStructure, res: &mut Resolver) -> Option<StructureKind> {
    let kind = StructureKind::from_name(&st.kind.v);
    if kind.is_none() {
        let kinds: Vec<&str> = StructureKind::ALL.iter().map(|k| k.name()).collect();
        res.diags.push(
            Diagnostic::error(
                file,
                st.kind.span.clone(),
                format!("unknown structure kind `{}`", st.kind.v),
            )
            .help(format!("kinds: {}", kinds.join(", "))),
        );
    }
    kind
}

/// The keys a structure of `kind` takes: its element types (from the
/// catalogue's element use) and parameters (the catalogue's params).
fn allowed_keys(kind: StructureKind) -> Vec<&'static str> {
    let mut allowed: Vec<&str> = vec!["name", "kind", "doc"];
    match kind.element_use() {
        ElementUse::Required | ElementUse::Optional => allowed.push("type"),
        ElementUse::KeyValue => allowed.extend(["key", "value"]),
        ElementUse::None => {}
    }
    allowed.extend(kind.params().iter().map(|p| p.name));
    allowed
}

/// Reads every key of a structure; `None` when one is unknown or wrong, or
/// a required one is missing (every problem is reported).
fn read_keys<'r>(
    file: usize,
    st: &'r RawStructure,
    kind: StructureKind,
    res: &mut Resolver,
) -> Option<Given<'r>> {
    let allowed = allowed_keys(kind);
    let mut given = Given {
        elem: None,
        value: None,
        params: Params::default(),
        seen: Vec::new(),
        cap_span: st.name.span.clone(),
        lazy_span: st.name.span.clone(),
    };
    let mut ok = true;
    for (k, v) in &st.keys {
        let key = k.v.as_str();
        if !allowed.contains(&key) {
            let list: Vec<String> = allowed.iter().map(|a| format!("`{a}`")).collect();
            res.diags.push(
                Diagnostic::error(
                    file,
                    k.span.clone(),
                    format!("{} has no parameter `{key}`", a(kind)),
                )
                .help(format!("the keys of {} are {}", a(kind), list.join(", "))),
            );
            ok = false;
            continue;
        }
        given.seen.push(key);
        ok &= read_key(file, key, kind, v, &mut given, res);
    }
    let missing = report_missing_keys(file, st, kind, &given.seen, res);
    (ok && !missing).then_some(given)
}

/// Reads one allowed key into `given`; false when its value is wrong.
fn read_key(
    file: usize,
    key: &str,
    kind: StructureKind,
    v: &Sp<Node>,
    given: &mut Given,
    res: &mut Resolver,
) -> bool {
    match (key, kind) {
        ("type", _) | ("key", _) => match read_type(file, key, v, res) {
            Some(t) => {
                given.elem = Some(t);
                true
            }
            None => false,
        },
        ("value", StructureKind::Map) => match read_type(file, key, v, res) {
            Some(t) => {
                given.value = Some(t);
                true
            }
            None => false,
        },
        ("value", StructureKind::Lazy) => read_lazy_value(file, v, given, res),
        ("mode", _) => read_event_mode(file, v, &mut given.params, res),
        (key, _) => match read_int_param(file, key, v, res) {
            Some(n) => store_int_param(file, key, n, v.span.clone(), given, res),
            None => false,
        },
    }
}

/// A type string (`type`, `key`, a map's `value`), resolved.
fn read_type(file: usize, key: &str, v: &Sp<Node>, res: &mut Resolver) -> Option<GivenType> {
    let mut ctx = Ctx {
        file,
        diags: &mut res.diags,
    };
    let ts = ctx.string(v, &format!("`{key}`"))?;
    let t = res.resolve(file, &ts)?;
    Some((t, ts.span.clone()))
}

/// A Lazy's constant `value`: an integer or float literal.
fn read_lazy_value(file: usize, v: &Sp<Node>, given: &mut Given, res: &mut Resolver) -> bool {
    match &v.v {
        Node::Int(i) => given.params.value = i.to_string(),
        Node::Float(f) => given.params.value = format_float(*f),
        other => {
            let k = other.kind();
            res.diags.push(Diagnostic::error(
                file,
                v.span.clone(),
                format!("a lazy `value` must be a number, found {k}"),
            ));
            return false;
        }
    }
    given.lazy_span = v.span.clone();
    true
}

/// An Event's `mode`: `"auto"` or `"manual"`.
fn read_event_mode(file: usize, v: &Sp<Node>, p: &mut Params, res: &mut Resolver) -> bool {
    let mut ctx = Ctx {
        file,
        diags: &mut res.diags,
    };
    match ctx.string(v, "`mode`") {
        Some(m) if m.v == "auto" => p.manual = false,
        Some(m) if m.v == "manual" => p.manual = true,
        Some(m) => {
            let d = Diagnostic::error(
                file,
                m.span.clone(),
                format!("unknown event mode `{}`", m.v),
            )
            .label("expected \"auto\" or \"manual\"");
            ctx.push(d);
            return false;
        }
        None => return false,
    }
    true
}

/// An integer parameter: a literal, or the name of an integer constant.
fn read_int_param(file: usize, key: &str, v: &Sp<Node>, res: &mut Resolver) -> Option<i64> {
    match &v.v {
        Node::Int(i) => Some(*i),
        Node::Str(name) => {
            // A constant reference has the grammar of an array length.
            let dim = match types::parse(&format!("x[{name}]")) {
                Ok(TypeExpr { dims, .. }) if dims.len() == 1 => Some(dims[0].0.clone()),
                _ => None,
            };
            match dim {
                Some(d) => res
                    .dim(file, &d, v.span.clone(), &format!("`{key}`"))
                    .map(|x| x as i64),
                None => {
                    res.diags.push(Diagnostic::error(
                        file,
                        v.span.clone(),
                        format!("`{key}` must be an integer or the name of an integer constant"),
                    ));
                    None
                }
            }
        }
        other => {
            let k = other.kind();
            res.diags.push(Diagnostic::error(
                file,
                v.span.clone(),
                format!("`{key}` must be an integer, found {k}"),
            ));
            None
        }
    }
}

/// Stores integer parameter `key` = `n` and checks its range (every
/// failed check is reported); false when one fails.
fn store_int_param(
    file: usize,
    key: &str,
    n: i64,
    span: Range<usize>,
    given: &mut Given,
    res: &mut Resolver,
) -> bool {
    let p = &mut given.params;
    match key {
        "capacity" => {
            given.cap_span = span.clone();
            if n >= 0 {
                p.capacity = n as u64;
            }
        }
        "initial" => p.initial = n,
        "max" => p.max = n,
        "participants" => p.participants = n,
        "count" => p.count = n,
        _ => {}
    }
    let fits_i32 = (i32::MIN as i64..=i32::MAX as i64).contains(&n);
    let problems = [
        (key == "capacity" && n < 0).then(|| format!("capacity {n} is negative")),
        (matches!(key, "initial" | "max" | "participants" | "count") && !fits_i32)
            .then(|| format!("`{key}` = {n} does not fit the 32-bit header field")),
        (key == "participants" && n <= 0)
            .then(|| format!("a barrier needs at least one participant, got {n}")),
        (key == "count" && n < 0).then(|| format!("a latch count cannot be negative, got {n}")),
    ];
    let mut ok = true;
    for msg in problems.into_iter().flatten() {
        res.diags.push(Diagnostic::error(file, span.clone(), msg));
        ok = false;
    }
    ok
}

/// Reports every required key that is missing; true when one is.
fn report_missing_keys(
    file: usize,
    st: &RawStructure,
    kind: StructureKind,
    seen: &[&str],
    res: &mut Resolver,
) -> bool {
    let mut required: Vec<&str> = Vec::new();
    match kind.element_use() {
        ElementUse::Required => required.push("type"),
        ElementUse::KeyValue => required.extend(["key", "value"]),
        _ => {}
    }
    required.extend(kind.params().iter().filter(|p| p.required).map(|p| p.name));
    // A typed stream needs a capacity; Stream<void> has none.
    if kind == StructureKind::Stream && seen.contains(&"type") && !seen.contains(&"capacity") {
        required.push("capacity");
    }
    let mut missing = false;
    for r in required {
        if !seen.contains(&r) {
            res.diags.push(
                Diagnostic::error(
                    file,
                    st.name.span.clone(),
                    format!("{} `{}` needs `{r}`", kind.name(), st.name.v),
                )
                .label(format!("no `{r}` given")),
            );
            missing = true;
        }
    }
    missing
}

/// The capacity rules: at least one element where the kind holds elements,
/// 32 bits where the header field is, and a queue's or channel's rounded up
/// to what the runtime stores (with a warning).
fn check_capacity(
    file: usize,
    st: &RawStructure,
    kind: StructureKind,
    given: &mut Given,
    res: &mut Resolver,
) -> Option<()> {
    let cap = given.params.capacity;
    let span = given.cap_span.clone();
    // Every kind with a capacity holds at least one element, but a
    // channel: capacity 0 is its unbuffered form.
    let holds_elements =
        kinds::has_capacity(kind, given.elem.is_some()) && kind != StructureKind::Channel;
    if holds_elements && cap == 0 {
        res.diags.push(
            Diagnostic::error(
                file,
                span,
                format!("capacity 0 for {} `{}`", kind.name(), st.name.v),
            )
            .label("a structure must hold at least one element"),
        );
        return None;
    }
    if cap > u32::MAX as u64 && kind != StructureKind::Array {
        res.diags.push(Diagnostic::error(
            file,
            span,
            format!(
                "capacity {cap} does not fit the 32-bit header field of a {}",
                kind.name()
            ),
        ));
        return None;
    }
    let rounds = matches!(kind, StructureKind::Queue | StructureKind::Channel);
    if rounds && cap > 0 && (!cap.is_power_of_two() || cap == 1) {
        given.params.capacity = round_queue_capacity(file, kind, cap, span, res)?;
    }
    Some(())
}

/// The capacity the runtime stores for a queue or buffered channel asked
/// for `cap` slots (a power of two, at least 2: a one-slot Vyukov queue
/// loses values), with a warning saying so.
fn round_queue_capacity(
    file: usize,
    kind: StructureKind,
    cap: u64,
    span: Range<usize>,
    res: &mut Resolver,
) -> Option<u64> {
    let Some(r) = kind.stored_capacity(cap) else {
        res.diags.push(Diagnostic::error(
            file,
            span,
            format!("capacity {cap} cannot be rounded to a 32-bit power of two"),
        ));
        return None;
    };
    let message = if cap == 1 {
        format!(
            "{} capacity 1 holds no value safely (a one-slot queue cannot tell \
             full from free); rounded up to {r}",
            kind.name()
        )
    } else {
        format!(
            "{} capacity {cap} is not a power of two; rounded up to {r}",
            kind.name()
        )
    };
    res.diags.push(
        Diagnostic::warning(file, span, message)
            .label(format!("the runtime stores {r} slots"))
            .help(format!("write `capacity = {r}` to silence this warning")),
    );
    Some(r)
}

/// A map's value fits the format; a lazy value is a primitive number and
/// its constant fits it.
fn check_element_rules(
    file: usize,
    st: &RawStructure,
    kind: StructureKind,
    given: &Given,
    res: &mut Resolver,
) -> Option<()> {
    match (kind, &given.value, &given.elem) {
        (StructureKind::Map, Some((v, span)), _) if v.size > 8 => {
            res.diags.push(
                Diagnostic::error(
                    file,
                    span.clone(),
                    format!(
                        "map value type `{}` is {} bytes; the format allows at most 8",
                        type_text(v),
                        v.size
                    ),
                )
                .help("store a larger value in an array or pool and keep its index in the map"),
            );
            None
        }
        (StructureKind::Lazy, _, Some((t, span))) => {
            check_lazy_value(file, st, t, span, given, res)
        }
        _ => Some(()),
    }
}

/// A Lazy's element is a primitive number and its constant fits it.
fn check_lazy_value(
    file: usize,
    st: &RawStructure,
    t: &TypeLayout,
    span: &Range<usize>,
    given: &Given,
    res: &mut Resolver,
) -> Option<()> {
    let Some(prim) = t.prim() else {
        res.diags.push(
            Diagnostic::error(
                file,
                span.clone(),
                format!(
                    "a lazy value must be a primitive number, not `{}`",
                    type_text(t)
                ),
            )
            .label("Lazy<T> computes with + * -"),
        );
        return None;
    };
    let value = &given.params.value;
    let lazy_span = given.lazy_span.clone();
    if prim.is_integer() && value.parse::<i128>().is_err() {
        res.diags.push(Diagnostic::error(
            file,
            lazy_span,
            format!("lazy `{}`: value {value} is not an integer", st.name.v),
        ));
        return None;
    }
    if let Ok(v) = value.parse::<i128>() {
        let (lo, hi) = prim_range(prim);
        if v < lo || v > hi {
            res.diags.push(Diagnostic::error(
                file,
                lazy_span,
                format!(
                    "lazy `{}`: value {v} does not fit in {}",
                    st.name.v,
                    prim.rust_name()
                ),
            ));
            return None;
        }
    }
    Some(())
}

/// The structure's name: not empty, not reserved, an identifier that is
/// no keyword of an output language, and short enough for its entries.
fn check_structure_name(
    file: usize,
    st: &RawStructure,
    kind: StructureKind,
    given: &Given,
    res: &mut Resolver,
) -> Option<()> {
    let n = &st.name.v;
    let span = st.name.span.clone();
    let problem = if n.is_empty() {
        Some(Diagnostic::error(file, span, "empty structure name"))
    } else if n.starts_with("__") {
        Some(
            Diagnostic::error(file, span, format!("structure name `{n}` starts with `__`"))
                .label("names starting with `__` are reserved (the segment stores its schema as `__schema`)"),
        )
    } else if !is_ident(n) {
        Some(
            Diagnostic::error(
                file,
                span,
                format!("structure name `{n}` is not an identifier"),
            )
            .label("it becomes a field name in every output: use letters, digits and `_`"),
        )
    } else if let Some(lang) = keyword_in(n) {
        Some(
            Diagnostic::error(
                file,
                span,
                format!("structure name `{n}` is a keyword in {lang}"),
            )
            .label("it becomes a field name in every output"),
        )
    } else if RESERVED_STRUCTURE_NAMES.contains(&n.as_str()) {
        Some(
            Diagnostic::error(file, span, format!("structure name `{n}` is reserved"))
                .label("the generated segment types use this name for themselves"),
        )
    } else {
        name_too_long(file, st, kind, given)
    };
    match problem {
        Some(d) => {
            res.diags.push(d);
            None
        }
        None => Some(()),
    }
}

/// The diagnostic for a name that, with the longest suffix the kind adds,
/// does not fit a 31-byte table entry name.
fn name_too_long(
    file: usize,
    st: &RawStructure,
    kind: StructureKind,
    given: &Given,
) -> Option<Diagnostic> {
    let n = &st.name.v;
    let suffix = longest_suffix(
        kind,
        given.elem.as_ref().map(|e| e.0),
        given.params.capacity,
    );
    let full = n.len() + suffix.len();
    if full <= 31 {
        return None;
    }
    let with_suffix = if suffix.is_empty() {
        String::new()
    } else {
        format!(" with the suffix `{suffix}` {} adds", a(kind))
    };
    let mut d = Diagnostic::error(
        file,
        st.name.span.clone(),
        format!("structure name `{n}` is too long: {full} bytes{with_suffix}"),
    )
    .label(format!(
        "table entry names hold at most 31 bytes; this name has {}",
        n.len()
    ));
    if !suffix.is_empty() {
        d = d.note(format!(
            "{} named `{n}` creates the entry `{n}{suffix}`",
            a(kind)
        ));
    }
    Some(d.help(format!("use at most {} bytes", 31 - suffix.len())))
}

/// The structure's table entries, laid out by the format catalogue.
fn structure_entries(
    file: usize,
    st: &RawStructure,
    kind: StructureKind,
    given: &Given,
    res: &mut Resolver,
) -> Option<Vec<(String, u64)>> {
    let elem = given.elem.as_ref().map(|e| e.0);
    let value = given.value.as_ref().map(|v| v.0);
    match kinds::entries(kind, &st.name.v, elem, value, &given.params) {
        Ok(entries) => Some(entries),
        Err(e) => {
            let msg = match e {
                ShapeError::Overflow { .. } => format!(
                    "{} `{}` is too large: its size overflows 64 bits",
                    kind.name(),
                    st.name.v
                ),
                e => format!("{} `{}`: {e}", kind.name(), st.name.v),
            };
            res.diags
                .push(Diagnostic::error(file, given.cap_span.clone(), msg));
            None
        }
    }
}

/// Records the structure as the owner of its entry names; `None` (and a
/// diagnostic) when one is taken already.
fn claim_entries(
    file: usize,
    st: &RawStructure,
    kind: StructureKind,
    entries: &[(String, u64)],
    owners: &mut EntryOwners,
    res: &mut Resolver,
) -> Option<()> {
    for (en, _) in entries {
        if let Some(owner) = owners.get(en) {
            let what = if *en == st.name.v {
                String::new()
            } else {
                format!(" (its entry `{en}`)")
            };
            res.diags.push(
                Diagnostic::error(
                    file,
                    st.name.span.clone(),
                    format!(
                        "duplicate name: {} `{}`{what} clashes with {owner}",
                        kind.name(),
                        st.name.v
                    ),
                )
                .label("table entry names must be unique in a segment"),
            );
            return None;
        }
    }
    for (en, _) in entries {
        owners.insert(en.clone(), format!("{} `{}`", kind.name(), st.name.v));
    }
    Some(())
}

/// The segment's canonical text, table and size for `structures`;
/// `partial` when some structures had errors (the table and size are then
/// checked as a lower bound, and no segment is returned).
fn lay_out_segment(
    file: usize,
    s: &RawSegment,
    res: &mut Resolver,
    structures: Vec<Structure>,
    partial: bool,
) -> Option<SegmentDef> {
    let canonical = canonical_text(&s.name.v, &structures);
    let fingerprint = fnv1a64(canonical.as_bytes());
    let n_entries: usize = structures.iter().map(|s| s.entries.len()).sum::<usize>() + 1;
    let max_entries = segment_max_entries(file, s, n_entries, partial, res)?;
    let (needed, breakdown) = bytes_needed(max_entries, &structures, &canonical);
    // Room for our waiter registry (docs/FORMAT.md §12) after `__schema`
    // in a computed size, when the table has a slot for it; a given size
    // need not have it (the registry is then left out, and blocked calls
    // poll).
    let with_registry = (n_entries < max_entries as usize)
        .then(|| waiters::entry_size(max_entries))
        .flatten()
        .map_or(needed, |r| align_to(needed, 8).saturating_add(r));
    let size = segment_size(file, s, needed, with_registry, &breakdown, partial, res)?;
    if partial {
        return None;
    }
    Some(SegmentDef {
        name: s.name.v.clone(),
        doc: s.doc.clone(),
        size,
        max_entries,
        structures,
        needed,
        canonical,
        fingerprint,
    })
}

/// `at least ` when the numbers are a lower bound.
fn at_least(partial: bool) -> &'static str {
    if partial {
        "at least "
    } else {
        ""
    }
}

/// The table slots: `max_entries` as given (checked against the entries
/// needed), or 64 or more.
fn segment_max_entries(
    file: usize,
    s: &RawSegment,
    n_entries: usize,
    partial: bool,
    res: &mut Resolver,
) -> Option<u32> {
    let max_entries = match &s.max_entries {
        // One slot more for the waiter registry.
        None => 64u32.max(n_entries as u32 + 1),
        Some(v) => match &v.v {
            Node::Int(n) if *n > 0 && *n <= u32::MAX as i64 => *n as u32,
            _ => {
                res.diags.push(Diagnostic::error(
                    file,
                    v.span.clone(),
                    "`max_entries` must be a positive 32-bit integer",
                ));
                return None;
            }
        },
    };
    if n_entries > max_entries as usize {
        let span = s
            .max_entries
            .as_ref()
            .map_or(s.name.span.clone(), |m| m.span.clone());
        res.diags.push(
            Diagnostic::error(
                file,
                span,
                format!(
                    "segment `{}` needs {}{n_entries} table entries but `max_entries` is {max_entries}",
                    s.name.v,
                    at_least(partial)
                ),
            )
            .note("composite structures add entries (event 2, signal 3, rwlock 4, monitor 4, stream 2, channel 2), plus 1 for `__schema`"),
        );
        return None;
    }
    Some(max_entries)
}

/// Bytes the table and every entry (the `__schema` entry last) take, each
/// entry 8-aligned, and the breakdown for a diagnostic.
fn bytes_needed(max_entries: u32, structures: &[Structure], canonical: &str) -> (u64, Vec<String>) {
    let mut cursor = zeroipc::format::table::table_bytes(max_entries);
    let mut breakdown = vec![format!("table 32 + 48 x {max_entries} = {cursor}")];
    let all_entries = structures
        .iter()
        .flat_map(|s| s.entries.iter().cloned())
        .chain(std::iter::once((
            "__schema".to_owned(),
            schema_entry_size(canonical),
        )));
    for (name, size) in all_entries {
        cursor = align_to(cursor, 8).saturating_add(size);
        breakdown.push(format!("{name} {size}"));
    }
    (cursor, breakdown)
}

/// The segment size: `size` as given (at least what is needed), or
/// `wanted` (what is needed plus the waiter registry) rounded up to a page.
#[allow(clippy::too_many_arguments)]
fn segment_size(
    file: usize,
    s: &RawSegment,
    needed: u64,
    wanted: u64,
    breakdown: &[String],
    partial: bool,
    res: &mut Resolver,
) -> Option<u64> {
    let Some(v) = &s.size else {
        return Some(align_to(wanted, 4096));
    };
    let n = match &v.v {
        Node::Int(n) if *n > 0 => *n as u64,
        _ => {
            res.diags.push(
                Diagnostic::error(
                    file,
                    v.span.clone(),
                    "`size` must be a positive integer (bytes)",
                )
                .help("leave `size` out to have it computed"),
            );
            return None;
        }
    };
    if n >= needed {
        return Some(n);
    }
    let at_least = at_least(partial);
    let help = if partial {
        "fix the other errors of this segment first (its structures with errors are not counted)"
            .to_owned()
    } else {
        format!(
            "use `size = {}` (or leave `size` out to have it computed)",
            align_to(needed, 4096)
        )
    };
    res.diags.push(
        Diagnostic::error(
            file,
            v.span.clone(),
            format!(
                "segment `{}` is too small: it needs {at_least}{needed} bytes, size is {n}",
                s.name.v
            ),
        )
        .label(format!("{at_least}{} bytes short", needed - n))
        .note(format!(
            "{} (each entry starts 8-aligned)",
            breakdown.join(", ")
        ))
        .help(help),
    );
    None
}
