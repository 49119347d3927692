//! Golden tests of the schema compiler's diagnostics: every `*.toml` (and
//! every folder) in `tests/schema_errors/` is compiled by the real
//! `zeroipc-gen` binary; its exit status and stderr must equal the
//! `.stderr` file beside it (first line `exit: N`). Run with
//! `ZEROIPC_BLESS=1` to rewrite the expected files after a deliberate
//! change, then review the diff.

use std::path::{Path, PathBuf};
use std::process::Command;

fn cases() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schema_errors");
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() || p.extension().is_some_and(|x| x == "toml"))
        .collect();
    out.sort();
    out
}

fn run_case(path: &Path) -> String {
    let dir = path.parent().unwrap();
    let rel = path.file_name().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_zeroipc-gen"))
        .arg(rel)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.stdout.is_empty(), "diagnostics go to stderr");
    format!(
        "exit: {}\n{}",
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn diagnostics_match_the_golden_files() {
    let bless = std::env::var_os("ZEROIPC_BLESS").is_some();
    let cases = cases();
    assert!(
        cases.len() >= 15,
        "at least 15 broken schemas, found {}",
        cases.len()
    );
    let mut failures = Vec::new();
    for case in &cases {
        let got = run_case(case);
        let expected_path = case.with_extension("stderr");
        if bless {
            std::fs::write(&expected_path, &got).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&expected_path)
            .unwrap_or_else(|_| panic!("missing {}", expected_path.display()));
        if got != want {
            failures.push(format!(
                "--- {}\n--- expected:\n{want}\n--- got:\n{got}",
                case.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_error_case_fails_and_the_warning_case_passes() {
    for case in cases() {
        let got = run_case(&case);
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        if name.contains("warning") {
            assert!(got.starts_with("exit: 0\n"), "{name}: {got}");
            assert!(
                got.contains("warning: ") && !got.contains("error: "),
                "{name}: {got}"
            );
        } else {
            assert!(got.starts_with("exit: 1\n"), "{name}: {got}");
            assert!(got.contains("error: aborting due to"), "{name}: {got}");
            // rustc style: a location line, the source line and a caret.
            assert!(
                got.contains("--> ") && got.contains(" | ") && got.contains('^'),
                "{name}: {got}"
            );
        }
    }
}

#[test]
fn all_errors_of_a_run_are_reported() {
    let case = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schema_errors/many_errors.toml");
    let got = run_case(&case);
    assert!(got.matches("\nerror: ").count() >= 5, "{got}");
    assert!(got.contains("aborting due to 6 errors"), "{got}");
    assert!(got.contains("needs at least 3155 bytes"), "{got}");
}
