//! One schema, three languages: `schemas/telemetry.toml` -> generated Rust,
//! Python and C++ -> a Rust process writes, a Python process and (when g++
//! is installed) a C++ process read and write the same segment.
//!
//! The generated code is committed in `schemas/generated/` and kept equal
//! to the compiler's output by the tests; regenerate it with
//!
//! ```sh
//! cargo run -p zeroipc-gen --bin zeroipc-gen -- schemas/ --py --cpp --rust --out schemas/generated
//! ```
//!
//! Steps:
//! 1. Rust creates `/zeroipc-example-schema-<pid>` through the generated
//!    `telemetry::Telemetry::create` (every structure and the `__schema`
//!    entry holding the schema fingerprint), fills four readings, a
//!    counter and the latest summary, and sets the `ready` event.
//! 2. `python3` imports the generated `telemetry` module (numpy dtypes
//!    checked at import), opens the segment (fingerprint checked), checks
//!    every value Rust wrote through zero-copy numpy views, and sets bit 0
//!    of each reading's `flags`.
//! 3. If `g++` is on PATH: a C++17 program including the generated
//!    `telemetry.hpp` (static_asserts on every offset) does the same and
//!    sets bit 1.
//! 4. Rust checks both writes and removes the segment.
//!
//! Needs `python3` with numpy on PATH: `scripts/test.sh` creates `.venv/`
//! with numpy (`source .venv/bin/activate`). Run with
//! `cargo run -p zeroipc --example schema_workflow`.

#[path = "../../schemas/generated/common.rs"]
#[allow(dead_code)]
#[rustfmt::skip]
mod common;
#[path = "../../schemas/generated/telemetry.rs"]
#[allow(dead_code)]
#[rustfmt::skip]
mod telemetry;

use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Output};
use zeroipc::{FixedStr, OpenEnum, Segment};

type Res<T = ()> = Result<T, Box<dyn Error>>;

/// The generated Python modules and C++ headers.
const GENERATED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../schemas/generated");

/// Sensor labels the readings carry.
const LABELS: [&str; 4] = ["boiler", "pump", "valve", "stack"];

/// Removes the segment name and the scratch folder when dropped.
struct Cleanup {
    segment: String,
    scratch: PathBuf,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        // Cleanup only: the success path has already unlinked and checked.
        let _ = Segment::unlink(&self.segment);
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}

/// Reading `i` as Rust writes it.
fn reading(i: usize) -> Res<telemetry::Reading> {
    let id = i as u32 + 1;
    Ok(telemetry::Reading {
        stamp: common::Stamp {
            ns: 1_000 * u64::from(id),
            seq: id,
            source: 7,
            _pad0: [0; 2],
        },
        sensor_id: id,
        status: OpenEnum::new(if i == 2 {
            telemetry::Status::Degraded
        } else {
            telemetry::Status::Ok
        }),
        channels: 2,
        flags: 0,
        values: [20.0 + i as f32, 0.5 * i as f32, 0.0, 0.0],
        history: [0.0; 8],
        label: FixedStr::new(LABELS[i])?,
        position: common::Vec3 {
            x: i as f64,
            y: 0.0,
            z: 1.0,
        },
    })
}

/// Runs a command and returns its output, failing with its stderr.
fn run(cmd: &mut Command, what: &str) -> Res<Output> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {what}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{what} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(out)
}

fn python_reader(name: &str) -> String {
    format!(
        r#"
import numpy as np
import telemetry

seg = telemetry.Telemetry.open({name:?})   # checks magic, version and the schema fingerprint
r = seg.readings                             # zero-copy numpy view, dtype telemetry.Reading
assert list(r["sensor_id"][:4]) == [1, 2, 3, 4], r["sensor_id"][:4]
assert [bytes(l).rstrip(b"\0").decode() for l in r["label"][:4]] == {labels:?}
assert telemetry.Status(r["status"][2]) == telemetry.Status.Degraded
assert np.allclose(r["values"][:4, 0], [20.0, 21.0, 22.0, 23.0])
assert r["stamp"]["source"][0] == 7 and r["position"]["z"][3] == 1.0
assert seg.counters[0] == 4
assert seg.latest.version >= 2 and seg.latest.value["active"] == 4
assert seg.ready.signaled == 1
r["flags"][:4] |= 1                          # writes go to shared memory
print("python: 4 readings checked, flags bit 0 set")
"#,
        labels = LABELS
    )
}

const CPP_READER: &str = r#"
#include "telemetry.hpp"
#include <cstdio>
#include <cstring>

int main(int argc, char** argv) {
    auto m = zeroipc_schema::Mapping::open(argv[1]);
    auto v = telemetry::Telemetry::open(m);   // checks __schema and every entry size
    const char* labels[] = {"boiler", "pump", "valve", "stack"};
    for (std::size_t i = 0; i < 4; ++i) {
        telemetry::Reading& r = v.readings[i];
        if (r.sensor_id != i + 1 || std::strncmp(r.label, labels[i], sizeof r.label) != 0 ||
            r.values[0] != 20.0f + i || (r.flags & 1) == 0) {
            std::fprintf(stderr, "reading %zu: id %u label %.24s flags %u\n", i,
                         r.sensor_id, r.label, r.flags);
            return 1;
        }
        r.flags |= 2;
    }
    if (v.counters[0] != 4 || v.latest.version() < 2 || v.latest.value->active != 4) return 1;
    std::printf("c++: 4 readings checked, flags bit 1 set\n");
    return argc == 2 ? 0 : 1;
}
"#;

/// Compiles and runs the C++ reader; false if g++ is not installed.
fn cpp_step(name: &str, scratch: &Path) -> Res<bool> {
    if Command::new("g++").arg("--version").output().is_err() {
        return Ok(false);
    }
    let src = scratch.join("reader.cpp");
    let exe = scratch.join("reader");
    std::fs::write(&src, CPP_READER)?;
    run(
        Command::new("g++")
            .args([
                "-std=c++17",
                "-O1",
                "-Wall",
                "-Wextra",
                "-Werror",
                "-I",
                GENERATED,
            ])
            .arg(&src)
            .arg("-o")
            .arg(&exe),
        "g++",
    )?;
    let out = run(Command::new(&exe).arg(name), "the C++ reader")?;
    print!("{}", String::from_utf8_lossy(&out.stdout));
    Ok(true)
}

fn workflow() -> Res {
    let pid = std::process::id();
    let name = format!("/zeroipc-example-schema-{pid}");
    let scratch = std::env::temp_dir().join(format!("zeroipc-example-schema-{pid}"));
    let _cleanup = Cleanup {
        segment: name.clone(),
        scratch: scratch.clone(),
    };
    std::fs::create_dir_all(&scratch)?;

    // 1. Rust writes through the generated typed handle.
    let t = telemetry::Telemetry::create(&name)?;
    for i in 0..4 {
        t.readings.set(i, reading(i)?)?;
    }
    t.counters.set(0, 4)?;
    t.latest.update(|mut s| {
        s.active = 4;
        s
    })?;
    t.latest.update(|mut s| {
        s.mean[0] = 20.0;
        s
    })?;
    t.ready.signal()?;
    println!(
        "rust: created {name} (schema fingerprint {:#x})",
        telemetry::Telemetry::FINGERPRINT
    );

    // 2. Python reads and writes through the generated module.
    let out = run(
        Command::new("python3")
            .arg("-c")
            .arg(python_reader(&name))
            .env("PYTHONPATH", GENERATED)
            .env("PYTHONDONTWRITEBYTECODE", "1"),
        "python3 (needs numpy: see scripts/test.sh)",
    )?;
    print!("{}", String::from_utf8_lossy(&out.stdout));

    // 3. C++, when there is a compiler.
    let cpp_ran = cpp_step(&name, &scratch)?;
    if !cpp_ran {
        println!("c++: skipped (no g++ on PATH)");
    }

    // 4. Rust sees both writes.
    let want_flags = if cpp_ran { 0b11 } else { 0b01 };
    for (i, label) in LABELS.iter().enumerate() {
        let r = t.readings.get(i)?;
        assert_eq!(r.flags, want_flags, "reading {i} flags");
        assert_eq!(r.label.as_str()?, *label, "reading {i} label");
    }
    println!("rust: flags {want_flags:#04b} on all 4 readings");

    // Removing the name is enough: mappings stay valid until dropped.
    Segment::unlink(&name)?;
    std::fs::remove_dir_all(&scratch)?;
    println!("rust: removed {name}");
    Ok(())
}

fn main() -> ExitCode {
    match workflow() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
