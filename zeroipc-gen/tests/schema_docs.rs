//! docs/SCHEMA.md stays true: its complete example compiles without a
//! diagnostic and describes the same segment as `schemas/robot.toml`.

use std::path::Path;
use zeroipc_gen::schema::{compile, compile_path, Source};

fn toml_blocks(md: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur: Option<String> = None;
    for line in md.lines() {
        match (&mut cur, line) {
            (None, "```toml") => cur = Some(String::new()),
            (Some(b), "```") => {
                out.push(std::mem::take(b));
                cur = None;
            }
            (Some(b), l) => {
                b.push_str(l);
                b.push('\n');
            }
            _ => {}
        }
    }
    out
}

#[test]
fn the_complete_example_compiles_and_matches_schemas_robot() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let md = std::fs::read_to_string(root.join("docs/SCHEMA.md")).unwrap();
    let blocks = toml_blocks(&md);
    let find = |ns: &str| {
        blocks
            .iter()
            .find(|b| b.starts_with(&format!("namespace = \"{ns}\"")))
            .unwrap_or_else(|| panic!("no {ns} example"))
            .clone()
    };
    let c = compile(vec![
        Source::new("common.toml", find("common")),
        Source::new("robot.toml", find("robot")),
    ]);
    assert!(c.diagnostics.is_empty(), "{}", c.render_diagnostics());
    let real = compile_path(&root.join("schemas")).unwrap();
    let doc_robot = &c.file_by_namespace("robot").unwrap().segments[0];
    let real_robot = &real.file_by_namespace("robot").unwrap().segments[0];
    assert_eq!(doc_robot.fingerprint, real_robot.fingerprint);
    assert_eq!(doc_robot.canonical, real_robot.canonical);
}

#[test]
fn every_other_toml_snippet_parses() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let md = std::fs::read_to_string(root.join("docs/SCHEMA.md")).unwrap();
    for b in toml_blocks(&md) {
        assert!(toml_edit_parses(&b), "{b}");
    }
}

fn toml_edit_parses(text: &str) -> bool {
    // A snippet may refer to types defined elsewhere; only the syntax and
    // the schema keys must be right, so ignore unknown-type errors.
    let c = compile(vec![Source::new("snippet.toml", text)]);
    c.diagnostics.iter().all(|d| {
        d.message.starts_with("unknown type")
            || d.message.starts_with("unknown namespace")
            || d.message.starts_with("unknown constant")
    })
}
