//! `mypy --strict` on the Python modules zeroipc-gen emits (the example
//! schemas of `schemas/` and the all-kinds fixture of `tests/schemas/`),
//! in both layouts users put them in: a flat folder on `sys.path`
//! (`import market`) and a package (`from gen import market`). Each layout
//! is also imported for real, so the import fallbacks are exercised.
//!
//! Skipped (with a message) only when `python3` has no mypy; the
//! repository's test command (`scripts/test.sh`) installs it into its venv.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_zeroipc-gen"))
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn tempdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("zeroipc-gen-pytyping-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn has_mypy() -> bool {
    Command::new("python3")
        .args(["-c", "import mypy, numpy"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Generates the Python modules of `schemas` (a folder of the repository)
/// into `out`; returns their file names.
fn generate(schemas: &str, out: &Path) -> Vec<String> {
    let o = bin()
        .arg(repo().join(schemas))
        .args(["--py", "--out"])
        .arg(out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let mut names: Vec<String> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".py"))
        .collect();
    names.sort();
    names
}

fn mypy(dir: &Path, targets: &[String]) -> Output {
    Command::new("python3")
        .args(["-m", "mypy", "--strict", "--no-color-output", "--cache-dir"])
        .arg(dir.join(".mypy_cache"))
        .args(targets)
        .current_dir(dir)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("MYPYPATH")
        .output()
        .unwrap()
}

fn python(dir: &Path, code: &str) -> Output {
    Command::new("python3")
        .args(["-c", code])
        .current_dir(dir)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap()
}

/// Flat folder: `mypy --strict *.py` there, and every module imports.
fn check_flat(schemas: &str, tag: &str) {
    let dir = tempdir(tag);
    let files = generate(schemas, &dir);
    assert!(files.len() >= 2, "{files:?}");
    let o = mypy(&dir, &files);
    assert!(
        o.status.success(),
        "mypy --strict, flat {schemas}:\n{}",
        text(&o)
    );
    assert!(
        text(&o).contains("Success: no issues found"),
        "{}",
        text(&o)
    );
    let mods: Vec<&str> = files.iter().map(|f| f.trim_end_matches(".py")).collect();
    let o = python(&dir, &format!("import {}", mods.join(", ")));
    assert!(o.status.success(), "import, flat {schemas}: {}", text(&o));
    std::fs::remove_dir_all(&dir).ok();
}

/// Package `gen/` (with `__init__.py`): `mypy --strict gen`, and every
/// module imports as `gen.<module>`.
fn check_package(schemas: &str, tag: &str) {
    let root = tempdir(tag);
    let pkg = root.join("gen");
    std::fs::create_dir_all(&pkg).unwrap();
    let files = generate(schemas, &pkg);
    std::fs::write(pkg.join("__init__.py"), "").unwrap();
    let o = mypy(&root, &["gen".to_owned()]);
    assert!(
        o.status.success(),
        "mypy --strict, package {schemas}:\n{}",
        text(&o)
    );
    assert!(
        text(&o).contains("Success: no issues found"),
        "{}",
        text(&o)
    );
    let mods: Vec<String> = files
        .iter()
        .map(|f| format!("gen.{}", f.trim_end_matches(".py")))
        .collect();
    let o = python(&root, &format!("import {}", mods.join(", ")));
    assert!(
        o.status.success(),
        "import, package {schemas}: {}",
        text(&o)
    );
    std::fs::remove_dir_all(&root).ok();
}

#[test]
fn generated_modules_pass_mypy_strict_in_a_flat_folder_and_in_a_package() {
    if !has_mypy() {
        eprintln!("SKIPPED: python3 has no mypy (scripts/test.sh installs it into its venv)");
        return;
    }
    check_flat("schemas", "flat-examples");
    check_package("schemas", "pkg-examples");
    check_flat("tests/schemas", "flat-kinds");
    check_package("tests/schemas", "pkg-kinds");
}
