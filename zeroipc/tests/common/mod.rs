//! Shared helpers for the integration tests: golden vectors, temporary
//! segments, and spawning real child processes.
#![allow(dead_code)]

use serde_json::Value;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use zeroipc::{Segment, SegmentOptions};

/// The golden images, `tests/vectors/` in this repository (found from this
/// crate's directory, so any clone works). Fails loudly when missing: the
/// golden tests must never be skipped silently.
pub fn vectors_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors");
    assert!(
        dir.join("manifest.json").is_file(),
        "golden vectors not found at {} (expected tests/vectors/ in the repository)",
        dir.display()
    );
    dir
}

/// The parsed manifest.
pub fn manifest() -> Value {
    let text = std::fs::read_to_string(vectors_dir().join("manifest.json")).expect("manifest");
    serde_json::from_str(&text).expect("manifest.json parses")
}

/// The manifest record of one image file.
pub fn file_manifest(file: &str) -> Value {
    manifest()["files"][file].clone()
}

/// The structure record named `name` within an image's manifest.
pub fn structure<'a>(fm: &'a Value, name: &str) -> &'a Value {
    fm["structures"]
        .as_array()
        .expect("structures")
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("structure {name} not in manifest"))
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A unique segment name for this process and test.
pub fn unique_name(tag: &str) -> String {
    format!(
        "/zt_{tag}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A segment object that is unlinked when dropped.
pub struct TempSeg {
    pub name: String,
}

impl TempSeg {
    pub fn path(&self) -> PathBuf {
        zeroipc::segment::shm_path(&self.name).unwrap()
    }

    pub fn open(&self) -> Segment {
        Segment::open(&self.name).unwrap_or_else(|e| panic!("open {}: {e}", self.name))
    }

    pub fn bytes(&self) -> Vec<u8> {
        std::fs::read(self.path()).unwrap()
    }
}

impl Drop for TempSeg {
    fn drop(&mut self) {
        let _ = Segment::unlink(&self.name);
    }
}

/// Copies a golden image into /dev/shm under a unique name.
pub fn copy_vector(file: &str) -> TempSeg {
    let src = vectors_dir().join(file);
    let t = TempSeg {
        name: unique_name("vec"),
    };
    std::fs::copy(&src, t.path()).unwrap_or_else(|e| panic!("copy {}: {e}", src.display()));
    std::fs::set_permissions(
        t.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    t
}

/// Creates an empty segment with the image's size and table slots.
pub fn fresh_like(file: &str) -> (TempSeg, Segment) {
    let fm = file_manifest(file);
    let t = TempSeg {
        name: unique_name("fresh"),
    };
    let seg = SegmentOptions::new()
        .size(fm["segment_size"].as_u64().unwrap())
        .max_entries(fm["max_entries"].as_u64().unwrap() as u32)
        // Reproduces a reference image byte for byte: no extension entries.
        .self_describing(false)
        .wake_registry(false)
        .create(&t.name)
        .unwrap();
    (t, seg)
}

/// A fresh temporary segment of `size` bytes.
pub fn temp_segment(tag: &str, size: u64) -> (TempSeg, Segment) {
    let t = TempSeg {
        name: unique_name(tag),
    };
    let seg = Segment::create(&t.name, size).unwrap();
    (t, seg)
}

/// Compares a segment's bytes with the golden image, zeroing the manifest's
/// nondeterministic ranges in both; on mismatch reports the first differing
/// offsets and which table entry they fall in.
pub fn assert_same_bytes(t: &TempSeg, file: &str) {
    let fm = file_manifest(file);
    let mut ours = t.bytes();
    let mut theirs = std::fs::read(vectors_dir().join(file)).unwrap();
    assert_eq!(ours.len(), theirs.len(), "segment sizes differ");
    let all = manifest();
    for r in all["nondeterministic"]
        .as_array()
        .expect("nondeterministic list")
    {
        if r["file"] != file {
            continue;
        }
        let off = r["offset"].as_u64().unwrap() as usize;
        let len = r["length"].as_u64().unwrap() as usize;
        ours[off..off + len].fill(0);
        theirs[off..off + len].fill(0);
    }
    let diffs: Vec<usize> = (0..ours.len()).filter(|&i| ours[i] != theirs[i]).collect();
    if !diffs.is_empty() {
        let entries = fm["entries"].as_array().unwrap();
        let describe = |off: usize| {
            entries
                .iter()
                .find(|e| {
                    let o = e["offset"].as_u64().unwrap() as usize;
                    off >= o && off < o + e["size"].as_u64().unwrap() as usize
                })
                .map(|e| {
                    format!(
                        "{} +{}",
                        e["name"].as_str().unwrap(),
                        off - e["offset"].as_u64().unwrap() as usize
                    )
                })
                .unwrap_or_else(|| "table/gap".to_owned())
        };
        let shown: Vec<String> = diffs
            .iter()
            .take(16)
            .map(|&i| {
                format!(
                    "{i} ({}): ours {:#04x} ref {:#04x}",
                    describe(i),
                    ours[i],
                    theirs[i]
                )
            })
            .collect();
        panic!(
            "{file}: {} bytes differ from the reference image:\n{}",
            diffs.len(),
            shown.join("\n")
        );
    }
}

/// Runs this test binary again as a child process executing only the test
/// `test_name` (an `#[ignore]`d worker), with extra environment variables.
/// Returns the child's handle; the child sees `ZEROIPC_CHILD=1`.
pub fn spawn_worker(test_name: &str, env: &[(&str, String)]) -> std::process::Child {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = std::process::Command::new(exe);
    cmd.args([
        test_name,
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env("ZEROIPC_CHILD", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.stdout(std::process::Stdio::piped());
    cmd.spawn().expect("spawn worker")
}

/// Waits for a worker and returns what it printed after `RESULT ` on each line, asserting it exited successfully.
pub fn worker_results(child: std::process::Child) -> Vec<String> {
    let out = child.wait_with_output().expect("wait worker");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "worker failed: {:?}\n{text}",
        out.status
    );
    // The harness may print `test worker ... ` on the same line first.
    text.lines()
        .filter_map(|l| l.find("RESULT ").map(|i| l[i + 7..].to_owned()))
        .collect()
}

/// True inside a worker spawned by [`spawn_worker`].
pub fn is_child() -> bool {
    std::env::var_os("ZEROIPC_CHILD").is_some()
}

/// Reads an environment variable set by the parent.
pub fn env_var(key: &str) -> String {
    std::env::var(key).unwrap_or_else(|_| panic!("worker needs {key}"))
}

/// Asserts that the segment's table lists exactly the manifest's entries
/// (name, offset, size), in order.
pub fn assert_table_matches(seg: &Segment, fm: &Value) {
    let want: Vec<(String, u64, u64)> = fm["entries"]
        .as_array()
        .expect("manifest entries")
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_owned(),
                e["offset"].as_u64().unwrap(),
                e["size"].as_u64().unwrap(),
            )
        })
        .collect();
    let got: Vec<(String, u64, u64)> = seg
        .entries()
        .expect("entries")
        .into_iter()
        .map(|e| (e.name, e.offset, e.size))
        .collect();
    assert_eq!(got, want, "table entries differ from the manifest");
}
