//! The schema compiler on hostile input, property-tested: the committed
//! schemas (`schemas/*.toml`) and the broken ones of `tests/schema_errors/`
//! mutated at the text level (ranges deleted or duplicated, tokens and
//! interesting numbers spliced in, lines swapped), schemas generated from
//! the grammar with random types, sizes, names and parameters, and plain
//! random text. Compiling, rendering the diagnostics and (when there is no
//! error) generating Rust, Python and C++ must return; a panic or a hang
//! (per-case watchdog) fails.
//!
//! Case counts: `PROPTEST_CASES` (per property) overrides the defaults.

use proptest::prelude::*;
use proptest::test_runner::Config;
use std::path::Path;
use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::Duration;
use zeroipc_gen::schema::kinds::{ElementUse, StructureKind};
use zeroipc_gen::schema::output::{generate, Lang};
use zeroipc_gen::schema::{compile, Source};

const WATCHDOG: Duration = Duration::from_secs(20);

fn config(default: u32) -> Config {
    Config {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default),
        failure_persistence: None,
        max_shrink_iters: 2000,
        ..Config::default()
    }
}

/// (name, text) of every committed schema and every broken test schema.
fn corpus() -> &'static [(String, String)] {
    static CORPUS: OnceLock<Vec<(String, String)>> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut out = Vec::new();
        for dir in [
            root.join("../schemas"),
            root.join("tests/schema_errors"),
            root.join("tests/schema_errors/cross_file"),
            root.join("tests/schema_errors/reserved_names"),
        ] {
            let Ok(rd) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in rd {
                let p = e.unwrap().path();
                if p.extension().is_some_and(|x| x == "toml") {
                    let name = p.file_name().unwrap().to_string_lossy().into_owned();
                    out.push((name, std::fs::read_to_string(&p).unwrap()));
                }
            }
        }
        out.sort();
        assert!(
            out.len() >= 20,
            "expected the committed and broken schemas, found {}",
            out.len()
        );
        out
    })
}

/// The four committed schemas, which refer to each other.
fn committed() -> Vec<Source> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas");
    ["common", "market", "robot", "telemetry"]
        .iter()
        .map(|n| {
            let p = root.join(format!("{n}.toml"));
            Source::new(format!("{n}.toml"), std::fs::read_to_string(p).unwrap())
        })
        .collect()
}

/// Compiles, renders and generates on a fresh thread under the watchdog.
/// Returns (had errors, diagnostics count, generated files).
fn run(sources: Vec<Source>) -> (bool, usize, usize) {
    let (tx, rx) = mpsc::channel();
    let h = std::thread::spawn(move || {
        let c = compile(sources);
        let rendered = c.render_diagnostics();
        assert!(
            !c.has_errors() || rendered.contains("error"),
            "errors render as errors"
        );
        let files = if c.has_errors() {
            0
        } else {
            generate(&c, &[Lang::Rust, Lang::Python, Lang::Cpp])
                .map(|f| f.len())
                .unwrap_or(0)
        };
        let _ = tx.send(());
        (c.has_errors(), c.diagnostics.len(), files)
    });
    match rx.recv_timeout(WATCHDOG) {
        Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => match h.join() {
            Ok(r) => r,
            Err(p) => std::panic::resume_unwind(p),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("hang: compile did not finish in {WATCHDOG:?}")
        }
    }
}

// ---------------------------------------------------------------------------
// Text mutations

/// Tokens that mean something to the schema language or to TOML.
const TOKENS: &[&str] = &[
    "u8",
    "i8",
    "u16",
    "i16",
    "u32",
    "i32",
    "u64",
    "i64",
    "f32",
    "f64",
    "bool",
    "str<0>",
    "str<1>",
    "str<4294967296>",
    "u8[0]",
    "u8[4294967295]",
    "f64[18446744073709551615]",
    "[records.X]",
    "[enums.E]",
    "[segments.S]",
    "[constants]",
    "common.Stamp",
    "common.",
    ".Stamp",
    "Status[MAX_SENSORS]",
    "Reading[0]",
    "\"",
    "'",
    "\"\"\"",
    "{",
    "}",
    "[",
    "]",
    "[[",
    "]]",
    "=",
    ",",
    "\n",
    "#",
    "-1",
    "0",
    "1",
    "-9223372036854775808",
    "9223372036854775807",
    "18446744073709551616",
    "1e308",
    "nan",
    "inf",
    "-0.0",
    "true",
    "capacity = 0",
    "capacity = -1",
    "capacity = 4294967296",
    "capacity = \"MAX\"",
    "kind = \"map\"",
    "kind = \"channel\"",
    "kind = \"stream\"",
    "kind = \"lazy\"",
    "kind = \"nope\"",
    "key = \"f64\"",
    "value = \"u64[2]\"",
    "mode = \"manual\"",
    "{ pad = 0 }",
    "{ pad = 4294967295 }",
    "{ pad = 7 }",
    "repr = \"f32\"",
    "repr = \"u8\"",
    "values = []",
    "fields = []",
    "max_entries = 0",
    "max_entries = 4294967295",
    "namespace = \"\"",
    "namespace = \"common\"",
    "namespace = \"a.b\"",
    "name = \"\"",
    "name = \"x_header\"",
    "name = \"__schema\"",
    "type = \"Self\"",
    "type = \"type\"",
    "é",
    "\u{0}",
    "\u{feff}",
    "\r\n",
    "\t",
    "\\u0000",
    "\\",
    "doc = \"\"",
];

/// Numbers that break arithmetic.
const NUMBERS: &[&str] = &[
    "0",
    "1",
    "2",
    "3",
    "7",
    "255",
    "256",
    "65535",
    "65536",
    "2147483647",
    "2147483648",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "-9223372036854775808",
    "-1",
    "1.5",
    "1e400",
];

#[derive(Debug, Clone)]
enum Edit {
    /// Delete `len` bytes at `at` (positions modulo the text length,
    /// snapped to char boundaries).
    Delete { at: usize, len: usize },
    /// Copy `len` bytes from `from` to `to`.
    Duplicate { from: usize, len: usize, to: usize },
    /// Insert token `tok` at `at`.
    Insert { at: usize, tok: usize },
    /// Replace the `n`th run of digits with number `num`.
    Number { n: usize, num: usize },
    /// Swap lines `a` and `b`.
    SwapLines { a: usize, b: usize },
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        1 => (any::<usize>(), 1usize..40).prop_map(|(at, len)| Edit::Delete { at, len }),
        1 => (any::<usize>(), 1usize..200, any::<usize>())
            .prop_map(|(from, len, to)| Edit::Duplicate { from, len, to }),
        3 => (any::<usize>(), 0..TOKENS.len()).prop_map(|(at, tok)| Edit::Insert { at, tok }),
        3 => (any::<usize>(), 0..NUMBERS.len()).prop_map(|(n, num)| Edit::Number { n, num }),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::SwapLines { a, b }),
    ]
}

fn boundary(s: &str, at: usize) -> usize {
    if s.is_empty() {
        return 0;
    }
    let mut i = at % (s.len() + 1);
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn apply(s: &mut String, e: &Edit) {
    match *e {
        Edit::Delete { at, len } => {
            let a = boundary(s, at);
            let b = boundary(s, a.saturating_add(len).min(s.len()));
            s.replace_range(a..b.max(a), "");
        }
        Edit::Duplicate { from, len, to } => {
            let a = boundary(s, from);
            let b = boundary(s, a.saturating_add(len).min(s.len())).max(a);
            let piece = s[a..b].to_owned();
            let t = boundary(s, to);
            s.insert_str(t, &piece);
        }
        Edit::Insert { at, tok } => {
            let t = boundary(s, at);
            s.insert_str(t, TOKENS[tok]);
        }
        Edit::Number { n, num } => {
            let runs: Vec<(usize, usize)> = {
                let b = s.as_bytes();
                let mut v = Vec::new();
                let mut i = 0;
                while i < b.len() {
                    if b[i].is_ascii_digit() {
                        let st = i;
                        while i < b.len() && b[i].is_ascii_digit() {
                            i += 1;
                        }
                        v.push((st, i));
                    } else {
                        i += 1;
                    }
                }
                v
            };
            if !runs.is_empty() {
                let (a, b) = runs[n % runs.len()];
                s.replace_range(a..b, NUMBERS[num]);
            }
        }
        Edit::SwapLines { a, b } => {
            let mut lines: Vec<&str> = s.split('\n').collect();
            let n = lines.len();
            lines.swap(a % n, b % n);
            *s = lines.join("\n");
        }
    }
}

// ---------------------------------------------------------------------------
// Generated schemas

const PRIMS: &[&str] = &[
    "u8", "i8", "u16", "i16", "u32", "i32", "u64", "i64", "f32", "f64",
];

fn type_name() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        4 => (0..PRIMS.len()).prop_map(|i| PRIMS[i].to_owned()),
        1 => (0u64..70).prop_map(|n| format!("str<{n}>")),
        1 => (0usize..4).prop_map(|i| format!("R{i}")),
        1 => (0usize..2).prop_map(|i| format!("E{i}")),
        1 => Just("common.Stamp".to_owned()),
        1 => Just("common.Vec3".to_owned()),
        1 => Just("Missing".to_owned()),
    ];
    (
        leaf,
        proptest::collection::vec(
            prop_oneof![
                (0u64..6).prop_map(|n| n.to_string()),
                Just("C0".to_owned()),
                Just("4294967296".to_owned()),
            ],
            0..3,
        ),
    )
        .prop_map(|(t, dims)| {
            let mut s = t;
            for d in dims {
                s.push_str(&format!("[{d}]"));
            }
            s
        })
}

fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        (0i64..40).prop_map(|n| n.to_string()),
        (0..NUMBERS.len()).prop_map(|i| NUMBERS[i].to_owned()),
        Just("\"C0\"".to_owned()),
        Just("\"NOPE\"".to_owned()),
    ]
}

fn structure() -> impl Strategy<Value = String> {
    let kinds: Vec<&'static str> = StructureKind::ALL.iter().map(|k| k.name()).collect();
    (
        0..kinds.len() + 1,
        0usize..40,
        proptest::option::of(type_name()),
        proptest::option::of(number()),
        proptest::option::of((type_name(), type_name())),
        proptest::option::of(prop_oneof![
            Just("mode = \"manual\""),
            Just("mode = \"auto\""),
            Just("mode = \"x\""),
            Just("participants = 3"),
            Just("count = 0"),
            Just("initial = 2"),
            Just("max_count = -5"),
            Just("value = 1.5"),
        ]),
    )
        .prop_map(move |(k, n, ty, cap, kv, extra)| {
            let kind = kinds.get(k).copied().unwrap_or("bogus");
            let name = if n == 39 {
                "n".repeat(31)
            } else {
                format!("s{n}")
            };
            let mut parts = vec![format!("name = \"{name}\""), format!("kind = \"{kind}\"")];
            if let Some(t) = ty {
                parts.push(format!("type = \"{t}\""));
            }
            if let Some(c) = cap {
                parts.push(format!("capacity = {c}"));
            }
            if let Some((k, v)) = kv {
                parts.push(format!("key = \"{k}\""));
                parts.push(format!("value = \"{v}\""));
            }
            if let Some(e) = extra {
                parts.push(e.to_owned());
            }
            format!("  {{ {} }},", parts.join(", "))
        })
}

fn generated() -> impl Strategy<Value = String> {
    let field = prop_oneof![
        4 => (0usize..6, type_name()).prop_map(|(i, t)| format!("  {{ name = \"f{i}\", type = \"{t}\" }},")),
        1 => (0u64..9).prop_map(|n| format!("  {{ pad = {n} }},")),
    ];
    let record = proptest::collection::vec(field, 0..6);
    let variant = prop_oneof![
        (0usize..5).prop_map(|i| format!("\"V{i}\"")),
        (0usize..5, number()).prop_map(|(i, v)| format!("{{ name = \"V{i}\", value = {v} }}")),
    ];
    (
        prop_oneof![Just("g"), Just("common"), Just(""), Just("g g")],
        number(),
        (0..PRIMS.len()),
        proptest::collection::vec(record, 0..4),
        proptest::collection::vec(
            ((0..PRIMS.len()), proptest::collection::vec(variant, 0..5)),
            0..2,
        ),
        proptest::option::of((number(), proptest::collection::vec(structure(), 0..8))),
    )
        .prop_map(|(ns, c0, c0t, records, enums, segment)| {
            let mut s = format!(
                "namespace = \"{ns}\"\n\n[constants]\nC0 = {{ value = {c0}, type = \"{}\" }}\n",
                PRIMS[c0t]
            );
            for (i, (repr, vals)) in enums.iter().enumerate() {
                s.push_str(&format!(
                    "\n[enums.E{i}]\nrepr = \"{}\"\nvalues = [{}]\n",
                    PRIMS[*repr],
                    vals.join(", ")
                ));
            }
            for (i, fields) in records.iter().enumerate() {
                s.push_str(&format!(
                    "\n[records.R{i}]\nfields = [\n{}\n]\n",
                    fields.join("\n")
                ));
            }
            if let Some((max, structs)) = segment {
                s.push_str(&format!(
                    "\n[segments.S]\nmax_entries = {max}\nstructures = [\n{}\n]\n",
                    structs.join("\n")
                ));
            }
            s
        })
}

/// Well-formed schemas: 8-aligned records (no implicit padding), enums,
/// a constant, and a segment with structures of every kind with the
/// element types and parameters the kind takes. Most compile cleanly, so
/// the back ends are reached; edits on top make them hostile again.
fn clean() -> impl Strategy<Value = String> {
    const FIELD: &[&str] = &[
        "u64",
        "i64",
        "f64",
        "f64[2]",
        "u64[C0]",
        "common.Stamp",
        "common.Vec3",
    ];
    const ELEM: &[&str] = &[
        "u8",
        "i16",
        "u32",
        "i64",
        "f32",
        "f64",
        "u8[3]",
        "str<12>",
        "common.Stamp",
    ];
    let record = proptest::collection::vec(0..FIELD.len() + 2, 1..5);
    let kinds: Vec<StructureKind> = StructureKind::ALL.to_vec();
    let structure = (
        0..kinds.len(),
        0..ELEM.len() + 2,
        0usize..8,
        1u64..64,
        1u64..6,
        any::<bool>(),
    );
    (
        1u64..8,
        proptest::collection::vec(record, 0..4),
        proptest::collection::vec((0usize..3, 1usize..6), 0..3),
        proptest::collection::vec(structure, 1..12),
    )
        .prop_map(move |(c0, records, enums, structs)| {
            let mut s = format!(
                "namespace = \"g\"\n\n[constants]\nC0 = {{ value = {c0}, type = \"u32\" }}\n"
            );
            for (i, (repr, n)) in enums.iter().enumerate() {
                let vals: Vec<String> = (0..*n).map(|v| format!("\"V{v}\"")).collect();
                s.push_str(&format!(
                    "\n[enums.E{i}]\nrepr = \"{}\"\nvalues = [{}]\n",
                    ["u8", "u16", "u32"][*repr],
                    vals.join(", ")
                ));
            }
            for (i, fields) in records.iter().enumerate() {
                let lines: Vec<String> = fields
                    .iter()
                    .enumerate()
                    .map(|(j, &f)| {
                        // Past FIELD: an earlier record (all are 8-aligned).
                        let t = match FIELD.get(f) {
                            Some(t) => (*t).to_owned(),
                            None if i > 0 => format!("R{}", f % i),
                            None => "u64".to_owned(),
                        };
                        format!("  {{ name = \"f{j}\", type = \"{t}\" }},")
                    })
                    .collect();
                s.push_str(&format!(
                    "\n[records.R{i}]\nfields = [\n{}\n]\n",
                    lines.join("\n")
                ));
            }
            let elem = |e: usize| -> String {
                match ELEM.get(e) {
                    Some(t) => (*t).to_owned(),
                    None if !records.is_empty() => format!("R{}", e % records.len()),
                    None if !enums.is_empty() => "E0".to_owned(),
                    None => "u32".to_owned(),
                }
            };
            let mut lines = Vec::new();
            for (i, &(k, e, v, cap, small, opt)) in structs.iter().enumerate() {
                let kind = kinds[k];
                let mut parts = vec![
                    format!("name = \"s{i}\""),
                    format!("kind = \"{}\"", kind.name()),
                ];
                match kind.element_use() {
                    ElementUse::Required => {
                        let t = if kind == StructureKind::Lazy {
                            "i32".to_owned()
                        } else {
                            elem(e)
                        };
                        parts.push(format!("type = \"{t}\""));
                    }
                    ElementUse::Optional if opt => parts.push(format!("type = \"{}\"", elem(e))),
                    ElementUse::KeyValue => {
                        parts.push(format!("key = \"{}\"", elem(e)));
                        parts.push(format!(
                            "value = \"{}\"",
                            ["u8", "i16", "u32", "i64", "f64", "f32", "u16", "u64"][v]
                        ));
                    }
                    _ => {}
                }
                for &zeroipc::format::Param {
                    name: param,
                    required,
                    ..
                } in kind.params()
                {
                    if !required && !opt {
                        continue;
                    }
                    let value = match param {
                        "capacity" => cap.to_string(),
                        "mode" => "\"manual\"".to_owned(),
                        "initial" => "1".to_owned(),
                        "max" => (small + 1).to_string(),
                        _ => small.to_string(),
                    };
                    parts.push(format!("{param} = {value}"));
                }
                lines.push(format!("  {{ {} }},", parts.join(", ")));
            }
            s.push_str(&format!(
                "\n[segments.S]\nmax_entries = 64\nstructures = [\n{}\n]\n",
                lines.join("\n")
            ));
            s
        })
}

// ---------------------------------------------------------------------------
// Properties

proptest! {
    #![proptest_config(config(300))]

    /// A committed or broken schema with 1..6 text edits, compiled alone.
    #[test]
    fn mutated_schemas_only_produce_diagnostics(
        pick in any::<prop::sample::Index>(),
        edits in proptest::collection::vec(edit(), 1..6),
    ) {
        let c = corpus();
        let (name, text) = &c[pick.index(c.len())];
        let mut t = text.clone();
        for e in &edits {
            apply(&mut t, e);
        }
        run(vec![Source::new(name.clone(), t)]);
    }

    /// One committed schema mutated, compiled with the other three (the
    /// cross-file references stay reachable).
    #[test]
    fn mutated_schema_among_the_committed_ones(
        which in 0usize..4,
        edits in proptest::collection::vec(edit(), 1..4),
    ) {
        let mut sources = committed();
        for e in &edits {
            apply(&mut sources[which].text, e);
        }
        run(sources);
    }

    /// Schemas generated from the grammar, alone and next to common.toml.
    #[test]
    fn generated_schemas_only_produce_diagnostics(text in generated(), with_common in any::<bool>()) {
        let mut sources = vec![Source::new("g.toml", text)];
        if with_common {
            sources.push(committed().swap_remove(0));
        }
        run(sources);
    }

    /// Well-formed schemas (next to common.toml) with 0..3 text edits.
    #[test]
    fn clean_schemas_with_edits_only_produce_diagnostics(
        text in clean(),
        edits in proptest::collection::vec(edit(), 0..3),
    ) {
        let mut t = text;
        for e in &edits {
            apply(&mut t, e);
        }
        run(vec![Source::new("g.toml", t), committed().swap_remove(0)]);
    }

    /// Arbitrary text.
    #[test]
    fn random_text_only_produces_diagnostics(text in "\\PC{0,300}") {
        run(vec![Source::new("r.toml", text)]);
    }
}

/// The generators reach the back end: a good share of generated schemas
/// compile without errors and produce files (else the properties above
/// would only ever test the diagnostics).
#[test]
fn generated_schemas_sometimes_compile_cleanly() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = clean();
    let mut clean = 0;
    for _ in 0..200 {
        let text = strategy.new_tree(&mut runner).unwrap().current();
        let (errors, _, files) = run(vec![
            Source::new("g.toml", text),
            committed().swap_remove(0),
        ]);
        if !errors && files > 0 {
            clean += 1;
        }
    }
    assert!(
        clean >= 100,
        "only {clean} of 200 generated schemas compiled"
    );
    eprintln!("{clean} of 200 generated schemas compiled and generated code");
}

/// The committed schemas compile cleanly (the baseline the mutations
/// start from).
#[test]
fn committed_schemas_compile() {
    let (errors, _, files) = run(committed());
    assert!(!errors);
    assert!(files >= 12, "{files} files");
}
