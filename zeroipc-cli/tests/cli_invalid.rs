//! Invalid and hostile files: `list` names the reason (`invalid: ...`),
//! `check` prints one line per problem and exits 1, the other commands
//! refuse with exit 1, missing segments and bad arguments exit 2, `rm`
//! refuses what does not look like a segment, and randomly damaged golden
//! images never make the inspector panic.

#[path = "cli_golden/support.rs"]
mod support;

use support::*;

fn arrays() -> Vec<u8> {
    std::fs::read(vectors_dir().join("arrays.bin")).unwrap()
}

fn put_u32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

fn put_u64(b: &mut [u8], off: usize, v: u64) {
    b[off..off + 8].copy_from_slice(&v.to_le_bytes());
}

/// (tag, bytes, `invalid:` text for list or None when the runtime accepts
/// it, the check name `check` must report).
fn cases() -> Vec<(&'static str, Vec<u8>, Option<&'static str>, &'static str)> {
    let good = arrays();
    let mut v = Vec::new();
    v.push(("empty", Vec::new(), Some("empty file"), "header fits"));
    v.push((
        "short",
        good[..20].to_vec(),
        Some("too small for a header"),
        "header fits",
    ));
    v.push((
        "truncated",
        good[..500].to_vec(),
        Some("table fits in segment failed"),
        "table fits in segment",
    ));
    let mut b = good.clone();
    b[0..4].copy_from_slice(b"XXXX");
    v.push(("magic", b, Some("bad magic (found 0x58585858"), "magic"));
    let mut b = good.clone();
    put_u32(&mut b, 4, 3);
    v.push((
        "version",
        b,
        Some("unsupported version (found 3, expected 2)"),
        "version",
    ));
    let mut b = good.clone();
    put_u32(&mut b, 12, 0);
    v.push(("max0", b, Some("max_entries failed"), "max_entries"));
    let mut b = good.clone();
    put_u32(&mut b, 8, 17);
    v.push((
        "count",
        b,
        Some("entry_count <= max_entries failed"),
        "entry_count <= max_entries",
    ));
    let mut b = good.clone();
    put_u64(&mut b, 16, 9000);
    v.push((
        "memsize",
        b,
        Some("memory_size within mapping failed"),
        "memory_size within mapping",
    ));
    let mut b = good.clone();
    put_u64(&mut b, 24, 8000 + 500);
    v.push((
        "next",
        b,
        Some("next_offset within data area failed"),
        "next_offset within data area",
    ));
    let mut b = good.clone();
    put_u64(&mut b, 32 + 40, 100_000); // entry 0 size
    v.push((
        "oob",
        b,
        Some("entry within segment failed (entry 0 \"temperature\""),
        "entry within segment",
    ));
    let mut b = good.clone();
    put_u64(&mut b, 32 + 48 + 32, 1212); // entry 1 offset, not 8-aligned
    v.push((
        "misaligned",
        b,
        Some("entry offset aligned failed"),
        "entry offset aligned",
    ));
    let mut b = good.clone();
    put_u64(&mut b, 32 + 48 + 32, 16); // entry 1 offset inside the table
    v.push((
        "intable",
        b,
        Some("entry offset in data area failed"),
        "entry offset in data area",
    ));
    let mut b = good.clone();
    b[32..64].fill(b'a'); // entry 0 name without NUL
    v.push((
        "nonul",
        b,
        Some("entry name terminated failed"),
        "entry name terminated",
    ));
    let mut b = good.clone();
    b[32..36].copy_from_slice(&[0xff, 0xfe, 0, 0]);
    v.push((
        "utf8",
        b,
        Some("entry name UTF-8 failed"),
        "entry name UTF-8",
    ));
    // Accepted by the runtime, but not sound.
    let mut b = good.clone();
    put_u64(&mut b, 32 + 48 + 32, 800); // entry 1 on top of entry 0
    v.push(("overlap", b, None, "entries disjoint"));
    let mut b = good.clone();
    b[32 + 48..32 + 48 + 32].copy_from_slice(&good[32..64]); // entry 1 named like entry 0
    v.push(("dup", b, None, "entry names unique"));
    let mut b = good;
    put_u64(&mut b, 24, 1000); // next_offset before the last entry's end
    v.push(("behind", b, None, "entry below next_offset"));
    v
}

#[test]
fn invalid_files_give_reasons_and_exit_codes() {
    let made: Vec<_> = cases()
        .into_iter()
        .map(|(tag, bytes, reason, check)| (Shm::with_bytes(tag, &bytes), reason, check))
        .collect();
    let list = run(&["--json", "list"]);
    assert_eq!(list.code, 0, "{}", list.err);
    let rows = list.json()["segments"].as_array().unwrap().clone();
    let human = run(&["list"]);
    for (seg, reason, check) in &made {
        let row = rows
            .iter()
            .find(|r| r["name"] == seg.name.as_str())
            .unwrap_or_else(|| panic!("{} not listed", seg.name));
        let line = human
            .out
            .lines()
            .find(|l| l.starts_with(&format!("{} ", seg.name)))
            .unwrap();
        match reason {
            Some(r) => {
                assert_eq!(row["valid"], false, "{}", seg.name);
                let got = row["invalid"].as_str().unwrap();
                assert!(got.contains(r), "{}: invalid {got:?}, want {r:?}", seg.name);
                assert!(line.contains(&format!("invalid: {got}")), "{line}");
                let show = run(&["show", &seg.name]);
                assert_eq!(show.code, 1, "{}: {}", seg.name, show.err);
                assert!(show.err.contains(check), "{}: {}", seg.name, show.err);
                let get = run(&["get", &seg.name, "counts"]);
                assert_eq!(get.code, 1, "{}", seg.name);
            }
            None => {
                assert_eq!(row["valid"], true, "{}: {row}", seg.name);
                assert!(line.trim_end().ends_with("ok"), "{line}");
            }
        }
        let c = run(&["check", &seg.name]);
        assert_eq!(c.code, 1, "{}: check must fail:\n{}", seg.name, c.out);
        let prob = c.out.lines().find(|l| l.starts_with("table: ")).unwrap();
        assert!(
            prob.starts_with(&format!("table: {check}: ")),
            "{}: {prob}",
            seg.name
        );
        assert!(c.out.trim_end().ends_with("problem") || c.out.trim_end().ends_with("problems"));
        let j = run(&["--json", "check", &seg.name]);
        assert_eq!(j.code, 1);
        let j = j.json();
        assert_eq!(j["sound"], false);
        assert!(j["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["check"] == *check && p["structure"].is_null()));
    }
}

#[test]
fn damaged_structure_headers_are_problems() {
    // queues.bin with q's tail far beyond its head: still a queue shape, but
    // check names the bad counters and exits 1.
    let mut b = std::fs::read(vectors_dir().join("queues.bin")).unwrap();
    put_u32(&mut b, 800 + 4, 100);
    let seg = Shm::with_bytes("badq", &b);
    let c = run(&["check", &seg.name]);
    assert_eq!(c.code, 1);
    assert!(
        c.out
            .contains("q: queue: tail 100 - head 2 = 98 exceeds capacity 8"),
        "{}",
        c.out
    );
    // A map whose size field disagrees with its slots, and a pool whose free
    // list loops.
    let mut b = std::fs::read(vectors_dir().join("maps.bin")).unwrap();
    put_u32(&mut b, 800, 9);
    let mut p = std::fs::read(vectors_dir().join("pools_rings.bin")).unwrap();
    // node 3's next (at 800 + 24 + 3*16 + 8) points back to node 1
    put_u32(&mut p, 800 + 24 + 3 * 16 + 8, 1);
    let m = Shm::with_bytes("badmap", &b);
    let pl = Shm::with_bytes("badpool", &p);
    let c = run(&["check", &m.name]);
    assert_eq!(c.code, 1);
    assert!(
        c.out
            .contains("squares: map: size field 9 but 10 slots are OCCUPIED"),
        "{}",
        c.out
    );
    let c = run(&["check", &pl.name]);
    assert_eq!(c.code, 1);
    assert!(
        c.out.contains("p: pool: free list: cycle at node 1"),
        "{}",
        c.out
    );
    // get still decodes, and lists the problem.
    let g = run(&["get", &pl.name, "p"]);
    assert_eq!(g.code, 0);
    assert!(
        g.out.contains("problem: free list: cycle at node 1"),
        "{}",
        g.out
    );
}

/// A one-slot queue as the reference creates it for a requested capacity of
/// 1 (`head = tail = 0`, capacity 1, one `u64` slot, `seq[0] = 0`).
fn one_slot_queue(r: &zeroipc::region::Region) {
    r.write_bytes(8, &1u32.to_le_bytes());
    r.write_bytes(12, &8u32.to_le_bytes());
}

#[test]
fn check_reports_a_stored_queue_capacity_of_1() {
    use zeroipc::{region::Region, segment::Part, Channel, Queue, Segment};
    let shm = Shm::named("cap1");
    let seg = Segment::create(&shm.name, 1 << 16).unwrap();
    // Entry size 16 + align8(1 x 8) + 4 x 1 = 28 (FORMAT.md queue layout).
    seg.register("q1", 28, |r| {
        one_slot_queue(r);
        Ok(())
    })
    .unwrap();
    // A buffered channel whose header and queue both say capacity 1.
    seg.register_group(
        &[Part::new("ch_header", 32), Part::new("ch_buffer", 28)],
        |r: &[Region]| {
            r[0].write_bytes(0, &1u32.to_le_bytes());
            one_slot_queue(&r[1]);
            Ok(())
        },
    )
    .unwrap();
    // The runtime's own rule, which check must agree with.
    let e = Queue::<u64>::open(&seg, "q1").unwrap_err().to_string();
    assert!(e.contains("capacity 1"), "{e}");
    let e = Channel::<u64>::open(&seg, "ch").unwrap_err().to_string();
    assert!(e.contains("capacity 1"), "{e}");
    let c = run(&["check", &shm.name]);
    assert_eq!(c.code, 1, "{}", c.out);
    for name in ["q1: queue", "ch: channel"] {
        assert!(
            c.out.contains(&format!(
                "{name}: stored capacity 1: Queue::open refuses it"
            )),
            "{name}: {}",
            c.out
        );
    }
    assert!(c.out.ends_with(": 2 problems\n"), "{}", c.out);
    let j = run(&["--json", "check", &shm.name]).json();
    assert_eq!(j["sound"], false);
    // A runtime-made queue asked for capacity 1 stores 2 and is sound.
    let shm2 = Shm::named("cap2");
    let seg2 = Segment::create(&shm2.name, 1 << 16).unwrap();
    assert_eq!(Queue::<u64>::create(&seg2, "q", 1).unwrap().capacity(), 2);
    assert_eq!(
        Channel::<u64>::create(&seg2, "ch", 1).unwrap().capacity(),
        2
    );
    let c = run(&["check", &shm2.name]);
    assert_eq!(c.code, 0, "{}", c.out);
    drop((seg, seg2));
}

#[test]
fn missing_segments_and_bad_arguments_exit_2() {
    let name = format!("/zcli_{}_missing", std::process::id());
    for args in [
        vec!["show", name.as_str()],
        vec!["get", name.as_str(), "x"],
        vec!["check", name.as_str()],
        vec!["dump", name.as_str()],
        vec!["rm", name.as_str()],
        vec!["watch", name.as_str(), "x", "--count", "1"],
    ] {
        let r = run(&args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.err);
        assert!(r.err.contains("does not exist"), "{args:?}: {}", r.err);
    }
    for args in [
        vec!["show", "/a/b"],
        vec!["frobnicate"],
        vec!["get", "x"],
        vec!["create", "/zcli_x", "--size", "1 parsec"],
    ] {
        assert_eq!(run(&args).code, 2, "{args:?}");
    }
    let seg = Shm::vector("arrays.bin");
    for args in [
        vec!["get", seg.name.as_str(), "counts", "--range", "5..2"],
        vec!["get", seg.name.as_str(), "counts", "--kind", "teapot"],
        vec!["get", seg.name.as_str(), "counts", "--type", "i33"],
    ] {
        let r = run(&args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.err);
    }
}

#[test]
fn list_survives_odd_objects() {
    let dir = Shm::named("dir");
    std::fs::create_dir(dir.path()).unwrap();
    let fifo = Shm::named("fifo");
    let ok = std::process::Command::new("mkfifo")
        .arg(fifo.path())
        .status()
        .unwrap()
        .success();
    assert!(ok, "mkfifo");
    let link = Shm::named("link");
    std::os::unix::fs::symlink("/etc/passwd", link.path()).unwrap();
    let j = run(&["--json", "list"]);
    assert_eq!(j.code, 0);
    let rows = j.json()["segments"].as_array().unwrap().clone();
    let reason = |s: &Shm| -> String {
        let r = rows.iter().find(|r| r["name"] == s.name.as_str()).unwrap();
        assert_eq!(r["valid"], false);
        r["invalid"].as_str().unwrap().to_owned()
    };
    assert!(reason(&dir).contains("directory"));
    assert!(reason(&fifo).contains("not a regular file"));
    assert!(reason(&link).contains("symbolic link"));
    // show refuses the symlink without following it.
    let r = run(&["show", &link.name]);
    assert_ne!(r.code, 0);
    let r = run(&["rm", &link.name]);
    assert_eq!(r.code, 1, "{}", r.err);
}

#[test]
fn create_and_rm() {
    let seg = Shm::named("made");
    let r = run(&["create", &seg.name, "--size", "64KiB", "--entries", "8"]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(
        r.out.contains("64.0 KiB, 8 entries, mode 0600"),
        "{}",
        r.out
    );
    let j = run(&["--json", "show", &seg.name]).json();
    assert_eq!(j["header"]["max_entries"], 8);
    assert_eq!(j["header"]["memory_size"], 65536);
    // No structure, only the runtime's own entries (both on by default):
    // the self-description entry with no record, and the waiter registry
    // with one slot per table slot, nobody asleep.
    let list = j["structures"].as_array().unwrap();
    let kinds: Vec<&str> = list.iter().map(|s| s["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["self_description", "waiter_registry"], "{list:#?}");
    assert!(
        list[0]["summary"].as_str().unwrap().contains(" 0 "),
        "{list:#?}"
    );
    assert_eq!(list[1]["summary"], "sleeper counts: 8 slots, 0 nonzero");
    assert_eq!(list[1]["size"], 16 + 8 * 8);
    // Never replaces.
    let r = run(&["create", &seg.name, "--size", "1MiB"]);
    assert_eq!(r.code, 1);
    assert!(r.err.contains("already exists"), "{}", r.err);
    // Too small for its table.
    let small = Shm::named("small");
    let r = run(&["create", &small.name, "--size", "100"]);
    assert_eq!(r.code, 2, "{}", r.err);
    assert!(!small.path().exists());
    // rm a valid segment.
    let r = run(&["rm", &seg.name]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(!seg.path().exists());
    // rm refuses a file that is not a segment, unless --force.
    let junk = Shm::with_bytes("junk", b"hello, this is not a segment at all......");
    let r = run(&["rm", &junk.name]);
    assert_eq!(r.code, 1);
    assert!(
        r.err.contains("refusing") && r.err.contains("bad magic"),
        "{}",
        r.err
    );
    assert!(junk.path().exists());
    let r = run(&["rm", &junk.name, "--force"]);
    assert_eq!(r.code, 0);
    assert!(!junk.path().exists());
}

/// xorshift64*, deterministic.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

#[test]
fn damaged_images_never_panic() {
    use zeroipc_cli::commands::{self as inspect, GetOptions};
    use zeroipc_cli::Global;
    let m = manifest();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let seg = Shm::named("fuzz");
    let mut runs = 0;
    for file in IMAGES {
        let good = std::fs::read(vectors_dir().join(file)).unwrap();
        let entries = m["files"][file]["entries"].as_array().unwrap();
        let names: Vec<&str> = entries
            .iter()
            .map(|e| e["name"].as_str().unwrap())
            .collect();
        for round in 0..100 {
            let mut b = good.clone();
            // Damage a few header words of one structure, sometimes the table.
            let e = &entries[rng.next() as usize % entries.len()];
            let off = e["offset"].as_u64().unwrap() as usize;
            let size = e["size"].as_u64().unwrap();
            // Mostly the header words, sometimes anywhere in the entry.
            let span = if round % 2 == 0 { size.min(32) } else { size };
            for _ in 0..1 + rng.next() % 4 {
                let at = off + (rng.next() % span) as usize;
                let val = match rng.next() % 4 {
                    0 => 0,
                    1 => 0xff,
                    2 => rng.next() as u8,
                    _ => b[at] ^ 0x80,
                };
                b[at] = val;
            }
            if round % 5 == 0 {
                let at = (rng.next() % 32 + 32 + (rng.next() % 8) * 48) as usize;
                b[at] = rng.next() as u8;
            }
            std::fs::write(seg.path(), &b).unwrap();
            let g = Global {
                json: round % 2 == 0,
                no_map: round % 3 == 0,
                ..Default::default()
            };
            let mut out = Vec::new();
            let _ = inspect::show(&seg.name, &g, &mut out);
            let _ = inspect::check(&seg.name, &g, &mut out);
            let _ = inspect::dump(&seg.name, None, 0, 0, &g, &mut out);
            for n in &names {
                let o = GetOptions {
                    name: (*n).to_owned(),
                    limit: 0,
                    ..Default::default()
                };
                let _ = inspect::get(&seg.name, &o, &g, &mut out);
            }
            let mut out = Vec::new();
            assert!(
                inspect::list_one(std::path::Path::new("/dev/shm"), &seg.name[1..]).name
                    == seg.name
            );
            let _ = inspect::show(&seg.name, &g, &mut out);
            runs += 1;
        }
    }
    assert_eq!(runs, 7 * 100);
}
