//! trybuild suite: every rejection has a `tests/ui/*.rs` case whose
//! `.stderr` pins the message and its span; `tests/ui/pass/*.rs` must
//! compile (and run).
//!
//! Regenerate the expected output with `TRYBUILD=overwrite cargo test -p
//! zeroipc-derive --test ui`, then read every changed `.stderr`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
