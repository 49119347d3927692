//! libFuzzer target: the input bytes are a segment image. They are written
//! to `/dev/shm/zeroipc-fuzz-<pid>` (removed after each run), opened with `Segment::open`, and every
//! table entry is opened as every structure kind with plausible element
//! types; each structure that opens runs its read and write operations
//! (non-blocking or zero-timeout forms only). Any panic, hang (libFuzzer
//! `-timeout`) or memory fault is a finding.
//!
//! Seed corpus: the golden images in `tests/vectors/*.bin` (repository root);
//! see fuzz/README.md.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use std::time::Duration;
use zeroipc_fuzz::exercise::{exercise_bytes, Ctx};

fn seg_name() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| format!("/zeroipc-fuzz-{}", std::process::id()))
}

fuzz_target!(|data: &[u8]| {
    let mut cx = Ctx::new(Duration::ZERO, 3, true);
    cx.salt = data.len() as u64;
    // Skip calls that would sit out a documented bounded wait on a slot
    // only a live peer could release (see Ctx::fast).
    cx.fast = true;
    let _ = exercise_bytes(seg_name(), data, &mut cx);
    // Leave nothing behind in /dev/shm when the process ends.
    let _ = zeroipc::Segment::unlink(seg_name());
});
