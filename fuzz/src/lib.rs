//! Support code of the zeroipc libFuzzer targets (see `fuzz/README.md`).

// The exerciser is shared with the cargo-test suites (zeroipc/tests/
// proptest_hostile.rs, security.rs): it lives in the test-support crate.
pub use zeroipc_testsupport::exercise;
