//! Helpers shared by the `cli_*` tests: run the built `zeroipc` binary,
//! copy golden vector images into /dev/shm, compare golden output files.
#![allow(dead_code)]

use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// The binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_zeroipc")
}

/// The golden images, `tests/vectors/` in this repository; fails loudly when missing.
pub fn vectors_dir() -> PathBuf {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/vectors"));
    assert!(
        dir.join("manifest.json").is_file(),
        "golden vectors not found at {} (expected tests/vectors/ in the repository)",
        dir.display()
    );
    dir
}

/// The manifest.
pub fn manifest() -> Value {
    let t = std::fs::read_to_string(vectors_dir().join("manifest.json")).expect("manifest");
    serde_json::from_str(&t).expect("manifest parses")
}

/// The seven images the golden tests cover.
pub const IMAGES: [&str; 7] = [
    "arrays.bin",
    "queues.bin",
    "maps.bin",
    "pools_rings.bin",
    "sync.bin",
    "codata.bin",
    "py_arrays.bin",
];

static N: AtomicU32 = AtomicU32::new(0);

/// A /dev/shm object removed on drop.
pub struct Shm {
    /// `/name`.
    pub name: String,
}

impl Shm {
    /// A unique name (nothing created).
    pub fn named(tag: &str) -> Shm {
        Shm {
            name: format!(
                "/zcli_{}_{}_{tag}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ),
        }
    }

    /// `/dev/shm/name`.
    pub fn path(&self) -> PathBuf {
        PathBuf::from("/dev/shm").join(&self.name[1..])
    }

    /// An object holding `bytes`, mode 0600.
    pub fn with_bytes(tag: &str, bytes: &[u8]) -> Shm {
        let s = Shm::named(tag);
        std::fs::write(s.path(), bytes).unwrap();
        std::fs::set_permissions(
            s.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )
        .unwrap();
        s
    }

    /// A copy of a golden image.
    pub fn vector(file: &str) -> Shm {
        let b = std::fs::read(vectors_dir().join(file))
            .unwrap_or_else(|e| panic!("read vector {file}: {e}"));
        Shm::with_bytes(file, &b)
    }
}

impl Drop for Shm {
    fn drop(&mut self) {
        let p = self.path();
        if p.is_dir() {
            let _ = std::fs::remove_dir(&p);
        } else {
            let _ = std::fs::remove_file(&p);
        }
    }
}

/// Output of one run.
#[derive(Debug)]
pub struct Run {
    /// Exit code.
    pub code: i32,
    /// Standard output.
    pub out: String,
    /// Standard error.
    pub err: String,
}

impl Run {
    /// Parses stdout as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.out)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}\n{}", self.out, self.err))
    }
}

/// Runs `zeroipc ARGS`.
pub fn run(args: &[&str]) -> Run {
    let o = Command::new(bin())
        .args(args)
        .output()
        .expect("run zeroipc");
    Run {
        code: o.status.code().unwrap_or(-1),
        out: String::from_utf8(o.stdout).expect("utf-8 stdout"),
        err: String::from_utf8(o.stderr).expect("utf-8 stderr"),
    }
}

/// Replaces the unique segment name with `/SEG`.
pub fn normalise(text: &str, seg: &Shm) -> String {
    text.replace(&seg.name, "/SEG")
}

/// Compares `actual` with `tests/cli_golden/<file>`; `UPDATE_GOLDEN=1`
/// rewrites the file instead.
pub fn golden(file: &str, actual: &str) {
    let path = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/cli_golden")).join(file);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "golden file {} missing ({e}); run with UPDATE_GOLDEN=1 and review it",
            path.display()
        )
    });
    if want != actual {
        let (w, a): (Vec<&str>, Vec<&str>) = (want.lines().collect(), actual.lines().collect());
        let first = (0..w.len().max(a.len()))
            .find(|&i| w.get(i) != a.get(i))
            .unwrap_or(0);
        panic!(
            "{} differs at line {}:\n  golden: {:?}\n  actual: {:?}\n--- actual output ---\n{actual}",
            path.display(),
            first + 1,
            w.get(first),
            a.get(first)
        );
    }
}

/// The `--type` argument describing a manifest type record, in the
/// inspector's type syntax.
pub fn type_arg(t: &Value) -> String {
    if let Some(fields) = t["fields"].as_array() {
        if t["class"] == "struct" {
            let np = t["numpy"].as_array().unwrap();
            let parts: Vec<String> = fields
                .iter()
                .zip(np)
                .map(|(f, n)| {
                    format!(
                        "{}: {}",
                        f["name"].as_str().unwrap(),
                        numpy_type(n[1].as_str().unwrap())
                    )
                })
                .collect();
            return format!("{{{}}}", parts.join(", "));
        }
    }
    numpy_type(t["numpy"].as_str().unwrap())
}

fn numpy_type(n: &str) -> String {
    match n.trim_start_matches(['<', '|', '=']) {
        "f4" => "f32".into(),
        "f8" => "f64".into(),
        "i1" => "i8".into(),
        "i2" => "i16".into(),
        "i4" => "i32".into(),
        "i8" => "i64".into(),
        "u1" => "u8".into(),
        "u2" => "u16".into(),
        "u4" => "u32".into(),
        "u8" => "u64".into(),
        s if s.starts_with('S') => format!("str[{}]", &s[1..]),
        other => panic!("numpy type {other} not mapped"),
    }
}

/// `get` arguments for a manifest structure: `--kind` and `--type` from
/// the manifest.
pub fn get_args(s: &Value) -> Vec<String> {
    let mut a = vec!["--kind".to_owned(), s["kind"].as_str().unwrap().to_owned()];
    let types = &s["types"];
    if types.is_object() {
        let t = if s["kind"] == "map" {
            format!("{},{}", type_arg(&types["key"]), type_arg(&types["value"]))
        } else if let Some(e) = types.get("elem") {
            type_arg(e)
        } else {
            type_arg(&types["value"])
        };
        a.push("--type".to_owned());
        a.push(t);
    }
    a
}
