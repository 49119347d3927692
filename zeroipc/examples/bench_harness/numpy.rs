//! The numpy scan: Rust writes an `Array<Reading>`; `benches/numpy_scan.py`
//! maps the segment, views the array through the dtype that zeroipc-gen's
//! Python emitter generated (`benches/bench_types.py`, fingerprint-checked
//! against the Rust layout), and times a scan of it against the same scan
//! of a private numpy copy.

use super::util::*;
use std::path::PathBuf;
use std::process::Command;
use zeroipc::{Array, ShmElement};

include!("reading.rs");

/// `benches/` of the zeroipc crate.
pub fn benches_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches")
}

/// Per run: (records/s through the shared mapping, records/s of the
/// private copy). `Err` says why the scan could not run.
pub fn numpy_scan(cfg: &Cfg) -> Result<Vec<(f64, f64)>, String> {
    let n = cfg.n(2_000_000, 10_000);
    let ts = TempSeg::new("numpy", (n * size_of::<Reading>()) as u64 + (1 << 16), 8);
    let a = Array::<Reading>::create(&ts.seg, "readings", n).map_err(|e| e.to_string())?;
    let chunk: Vec<Reading> = (0..n)
        .map(|i| Reading {
            timestamp: 1_700_000_000_000_000_000 + i as u64,
            sensor: (i % 64) as u32,
            status: (i % 3) as u32,
            value: i as f64 * 0.5,
            bounds: [-1.0, i as f32],
        })
        .collect();
    a.write_from(0, &chunk).map_err(|e| e.to_string())?;
    let offset = a.region().offset() + 8;
    let script = benches_dir().join("numpy_scan.py");
    let out = Command::new("python3")
        .arg(&script)
        .args(["--seg", &ts.name])
        .args(["--offset", &offset.to_string()])
        .args(["--count", &n.to_string()])
        .args(["--fingerprint", &Reading::LAYOUT.fingerprint().to_string()])
        .args(["--runs", &cfg.runs.to_string()])
        .args(["--reps", &cfg.n(5, 1).to_string()])
        .output()
        .map_err(|e| format!("cannot run python3: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "{} failed: {}{}",
            script.display(),
            stdout.trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    if let Some(l) = stdout.lines().find(|l| l.starts_with("SKIP")) {
        return Err(l.trim_start_matches("SKIP").trim().to_owned());
    }
    let runs: Vec<(f64, f64)> = stdout
        .lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            match w.as_slice() {
                ["RUN", s, p] => Some((
                    n as f64 / s.parse::<f64>().ok()?,
                    n as f64 / p.parse::<f64>().ok()?,
                )),
                _ => None,
            }
        })
        .collect();
    if runs.is_empty() {
        return Err(format!("no RUN lines from the script: {stdout}"));
    }
    Ok(runs)
}

/// Regenerates `benches/bench_types.py` with zeroipc-gen's Python emitter
/// (builds a small program in the target dir that depends on zeroipc-gen).
pub fn regen_dtype() -> Result<PathBuf, String> {
    let dir = super::compile::work_dir().join("regen-dtype");
    let main = format!(
        r#"include!({reading:?});
fn main() {{
    let opts = zeroipc_gen::emit::Options {{
        namespace: "bench_types".into(),
        header_lines: vec![
            "Regenerate: cargo run --release -p zeroipc --example bench_harness -- --regen-dtype".into(),
        ],
        doc: "The numpy scan's record (zeroipc/examples/bench_harness/reading.rs).".into(),
    }};
    let src = zeroipc_gen::emit::python::module(
        &[<Reading as zeroipc::ShmElement>::LAYOUT],
        &opts,
    )
    .expect("emit");
    print!("{{src}}");
}}
"#,
        reading = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("examples/bench_harness/reading.rs")
            .display()
            .to_string()
    );
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let deps = format!(
        "zeroipc = {{ path = {:?} }}\nzeroipc-gen = {{ path = {:?} }}\n",
        root.display().to_string(),
        root.join("../zeroipc-gen").display().to_string()
    );
    super::compile::write_crate(&dir, "regen_dtype", &deps, "main.rs", &main)?;
    let out = Command::new(super::compile::cargo())
        .args(["run", "--quiet", "--release"])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", dir.join("target"))
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let path = benches_dir().join("bench_types.py");
    std::fs::write(&path, &out.stdout).map_err(|e| e.to_string())?;
    Ok(path)
}
