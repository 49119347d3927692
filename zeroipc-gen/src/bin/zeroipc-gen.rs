//! `zeroipc-gen`: compile TOML schemas (docs/SCHEMA.md) to Rust, Python
//! (numpy) and C++ code. Exit codes: 0 ok, 1 schema errors (or `--check`
//! found differences), 2 usage or I/O errors.

use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;
use zeroipc_gen::schema::output::{generate, Lang};
use zeroipc_gen::schema::{compile, read_sources};

/// Compile ZeroIPC schema files to Rust, Python (numpy) and C++.
///
/// Reads every `*.toml` file of SCHEMAS (a folder, or one file): records,
/// open enums, constants and segments, as documented in docs/SCHEMA.md.
/// Every error is reported (file:line:col, the line, a caret). With no
/// language flag the schemas are only checked.
///
/// For each schema file NAMESPACE.toml it writes NAMESPACE.rs,
/// NAMESPACE.py and/or NAMESPACE.hpp into the output folder, plus
/// zeroipc_schema.py / zeroipc_schema.hpp (the segment reader) when a
/// schema declares a segment.
///
/// Exit status: 0 success (warnings allowed), 1 schema errors or
/// differences found by --check, 2 usage or I/O errors.
#[derive(Parser, Debug)]
#[command(
    name = "zeroipc-gen",
    version,
    about,
    long_about,
    after_help = "Example:\n  zeroipc-gen schemas/ --py --cpp --out gen/\n  zeroipc-gen schemas/ --rust --py --cpp --out gen/ --check"
)]
struct Cli {
    /// A folder of *.toml schema files, or a single schema file.
    schemas: PathBuf,
    /// Generate Rust modules (types with #[derive(ShmLayout)], constants,
    /// typed segment structs with create/open).
    #[arg(long)]
    rust: bool,
    /// Generate Python modules (numpy dtypes, IntEnums, constants, segment
    /// descriptions, open_segment).
    #[arg(long)]
    py: bool,
    /// Generate C++17 headers (structs with static_asserts, enum classes,
    /// constants, segment descriptions and reader).
    #[arg(long)]
    cpp: bool,
    /// Output folder (created if missing).
    #[arg(long, short, value_name = "DIR", default_value = ".")]
    out: PathBuf,
    /// Write nothing; exit 1 and name every file whose content on disk
    /// differs from what would be generated (for CI).
    #[arg(long)]
    check: bool,
    /// Do not print warnings.
    #[arg(long, short)]
    quiet: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let sources = match read_sources(&cli.schemas) {
        Ok(s) if s.is_empty() => {
            eprintln!("error: no *.toml schema files in {}", cli.schemas.display());
            return ExitCode::from(2);
        }
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", cli.schemas.display());
            return ExitCode::from(2);
        }
    };
    let compiled = compile(sources);
    if compiled.has_errors() || (!cli.quiet && !compiled.diagnostics.is_empty()) {
        eprint!("{}", compiled.render_diagnostics());
    }
    if compiled.has_errors() {
        return ExitCode::from(1);
    }
    let mut langs = Vec::new();
    if cli.rust {
        langs.push(Lang::Rust);
    }
    if cli.py {
        langs.push(Lang::Python);
    }
    if cli.cpp {
        langs.push(Lang::Cpp);
    }
    if langs.is_empty() {
        if cli.check {
            eprintln!("error: --check needs at least one of --rust, --py, --cpp");
            return ExitCode::from(2);
        }
        return ExitCode::SUCCESS;
    }
    let files = match generate(&compiled, &langs) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    if cli.check {
        let mut stale = Vec::new();
        for f in &files {
            let path = cli.out.join(&f.path);
            match std::fs::read_to_string(&path) {
                Ok(text) if text == f.contents => {}
                Ok(_) => stale.push(format!(
                    "{} differs from what the schemas generate",
                    path.display()
                )),
                Err(_) => stale.push(format!("{} is missing", path.display())),
            }
        }
        if stale.is_empty() {
            return ExitCode::SUCCESS;
        }
        for s in &stale {
            eprintln!("error: {s}");
        }
        eprintln!(
            "error: {} generated file{} out of date; regenerate with the same command without --check",
            stale.len(),
            if stale.len() == 1 { " is" } else { "s are" }
        );
        return ExitCode::from(1);
    }
    if let Err(e) = std::fs::create_dir_all(&cli.out) {
        eprintln!("error: cannot create {}: {e}", cli.out.display());
        return ExitCode::from(2);
    }
    for f in &files {
        let path = cli.out.join(&f.path);
        let same = std::fs::read_to_string(&path).is_ok_and(|t| t == f.contents);
        if !same {
            if let Err(e) = std::fs::write(&path, &f.contents) {
                eprintln!("error: cannot write {}: {e}", path.display());
                return ExitCode::from(2);
            }
        }
    }
    ExitCode::SUCCESS
}
