//! libFuzzer target: the schema compiler on arbitrary text. The input is
//! split on NUL bytes into up to 4 schema files (so cross-file references
//! are reachable), compiled, its diagnostics rendered, and when it compiles
//! without errors every output language is generated. Errors are expected;
//! a panic is a finding.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zeroipc_gen::schema::output::{generate, Lang};
use zeroipc_gen::schema::{compile, Source};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let sources: Vec<Source> = text
        .split('\0')
        .take(4)
        .enumerate()
        .map(|(i, t)| Source::new(format!("f{i}.toml"), t))
        .collect();
    let compiled = compile(sources);
    let _ = compiled.render_diagnostics();
    if !compiled.has_errors() {
        let _ = generate(&compiled, &[Lang::Rust, Lang::Python, Lang::Cpp]);
    }
});
