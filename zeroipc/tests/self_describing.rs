//! Self-describing segments (`__zeroipc_kinds`, docs/FORMAT.md §11): records
//! written by one process are read by another, a damaged or full entry is
//! refused with a clear error and changes nothing, and segments without the
//! entry behave as before.

mod common;

use common::{env_var, is_child, spawn_worker, unique_name, worker_results, TempSeg};
use zeroipc::describe::{check_description, Description};
use zeroipc::format::describe::{self as fmt, header, record};
use zeroipc::format::{ElemLayout, StructureKind};
use zeroipc::segment::Part;
use zeroipc::{Error, Segment, SegmentOptions};

fn described(tag: &str, size: u64, max_entries: u32) -> (TempSeg, Segment) {
    let t = TempSeg {
        name: unique_name(tag),
    };
    let seg = SegmentOptions::new()
        .size(size)
        .max_entries(max_entries)
        .self_describing(true)
        // The waiter registry (tests/wake.rs) would be a second entry.
        .wake_registry(false)
        .create(&t.name)
        .unwrap();
    (t, seg)
}

/// Offset of the self-description entry in the segment file.
fn entry_offset(seg: &Segment) -> usize {
    let e = seg.find(fmt::ENTRY_NAME).unwrap().expect("entry present");
    e.offset as usize
}

fn put_u32(t: &TempSeg, at: usize, v: u32) {
    use std::os::unix::fs::FileExt;
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(t.path())
        .unwrap();
    f.write_all_at(&v.to_le_bytes(), at as u64).unwrap();
}

#[test]
fn entry_is_first_and_sized_for_every_other_slot() {
    let (_t, seg) = described("sd_first", 1 << 16, 16);
    let entries = seg.entries().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].name, fmt::ENTRY_NAME);
    assert_eq!(entries[0].offset, seg.data_start());
    assert_eq!(entries[0].size, fmt::entry_size(15).unwrap());
    assert!(seg.descriptions().unwrap().is_empty());
}

#[test]
fn small_segments_and_single_slot_tables_stay_undescribed() {
    // 64 slots: the entry (6080 bytes) is more than a quarter of 4096 - 3104.
    let (_t, small) = described("sd_small", 4096, 64);
    assert!(small.entries().unwrap().is_empty());
    let (_t1, one) = described("sd_one", 4096, 1);
    assert!(one.entries().unwrap().is_empty());
    let d = Description::of::<u32>(StructureKind::Array, 4);
    one.register_described(&[Part::new("a", 24)], &d, |_| Ok(()))
        .unwrap();
    assert_eq!(one.description("a").unwrap(), None);
    check_description(&one, "a", &Description::new(StructureKind::Mutex)).unwrap();
}

#[test]
fn records_of_every_shape_are_read_back_in_order() {
    let (_t, seg) = described("sd_shapes", 1 << 16, 16);
    let cases = [
        (vec!["q"], Description::of::<u64>(StructureKind::Queue, 8)),
        (vec!["m"], Description::key_value::<u32, [u8; 12]>(16)),
        (vec!["e", "e_sem"], Description::new(StructureKind::Event)),
        (
            vec!["s_header", "s_buffer"],
            Description::of::<u16>(StructureKind::Stream, 4),
        ),
        (
            vec!["r"],
            Description::with_layout(StructureKind::Ring, ElemLayout::new(12, 4).unwrap(), 5),
        ),
    ];
    for (names, d) in &cases {
        let parts: Vec<Part> = names.iter().map(|n| Part::new(*n, 8)).collect();
        seg.register_described(&parts, d, |_| Ok(())).unwrap();
    }
    let got = seg.descriptions().unwrap();
    let want: Vec<(String, Description)> = cases
        .iter()
        .zip(["q", "m", "e", "s", "r"])
        .map(|((_, d), n)| (n.to_owned(), *d))
        .collect();
    assert_eq!(got, want);
    // The stream is found by its user-facing name, not by a part's.
    assert_eq!(seg.description("s").unwrap(), Some(cases[3].1));
    assert_eq!(seg.description("s_header").unwrap(), None);
    // Plain register_group records nothing.
    seg.register_group(&[Part::new("plain", 8)], |_| Ok(()))
        .unwrap();
    assert_eq!(seg.description("plain").unwrap(), None);
    assert_eq!(seg.descriptions().unwrap().len(), 5);
}

#[test]
fn open_checks_kind_and_element_layouts() {
    let (_t, seg) = described("sd_check", 1 << 16, 8);
    let stack = Description::of::<i64>(StructureKind::Stack, 4);
    seg.register_described(&[Part::new("st", 8)], &stack, |_| Ok(()))
        .unwrap();
    check_description(&seg, "st", &stack).unwrap();
    // Another type of the same layout is accepted (fingerprints are not compared).
    check_description(&seg, "st", &Description::of::<u64>(StructureKind::Stack, 4)).unwrap();
    let err =
        check_description(&seg, "st", &Description::of::<i64>(StructureKind::Set, 4)).unwrap_err();
    assert!(matches!(
        err,
        Error::WrongKind {
            recorded: StructureKind::Stack,
            expected: StructureKind::Set,
            ..
        }
    ));
    assert!(err
        .to_string()
        .contains("\"st\" is recorded as a stack, not a set"));
    let err = check_description(
        &seg,
        "st",
        &Description::of::<[i32; 3]>(StructureKind::Stack, 4),
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("size 8 align 8") && text.contains("size 12 align 4"),
        "{text}"
    );

    let void = Description::new(StructureKind::Stream);
    seg.register_described(&[Part::new("v", 16)], &void, |_| Ok(()))
        .unwrap();
    let err =
        check_description(&seg, "v", &Description::of::<u8>(StructureKind::Stream, 4)).unwrap_err();
    assert!(err.to_string().contains("no type"), "{err}");
}

#[test]
fn a_recorded_name_cannot_be_described_twice() {
    let (t, seg) = described("sd_dup", 1 << 16, 8);
    let array = Description::of::<u8>(StructureKind::Array, 8);
    seg.register_described(&[Part::new("s", 16)], &array, |_| Ok(()))
        .unwrap();
    let before = t.bytes();
    // A Stream "s" has parts s_header and s_buffer: no table clash, but the
    // record name "s" is taken.
    let stream = Description::of::<u8>(StructureKind::Stream, 8);
    let parts = [Part::new("s_header", 56), Part::new("s_buffer", 32)];
    let err = seg
        .register_described(&parts, &stream, |_| panic!("init must not run"))
        .unwrap_err();
    assert!(
        matches!(err, Error::DuplicateName { ref name, .. } if name == "s"),
        "{err}"
    );
    assert_eq!(t.bytes(), before, "a refused create changes nothing");
}

#[test]
fn a_full_or_damaged_entry_refuses_before_allocating() {
    let (t, seg) = described("sd_full", 1 << 16, 8);
    let base = entry_offset(&seg);
    // A peer shrank the capacity to 0 records: full.
    put_u32(&t, base + header::CAPACITY as usize, 0);
    let before = t.bytes();
    let d = Description::of::<u32>(StructureKind::Array, 2);
    let err = seg
        .register_described(&[Part::new("a", 16)], &d, |_| panic!("init must not run"))
        .unwrap_err();
    assert!(err.to_string().contains("full: 0 of 0 records"), "{err}");
    assert_eq!(t.bytes(), before);

    // Damaged headers: each refused with the value seen, nothing written.
    let cases: [(u64, u32, &str); 4] = [
        (header::MAGIC, 7, "magic 0x00000007"),
        (header::VERSION, 9, "version 9"),
        (header::RECORD_SIZE, 95, "record size 95"),
        (
            header::CAPACITY,
            1_000_000,
            "capacity 1000000 records do not fit",
        ),
    ];
    for (off, v, want) in cases {
        let (t, seg) = described("sd_bad", 1 << 16, 8);
        put_u32(&t, entry_offset(&seg) + off as usize, v);
        let before = t.bytes();
        let err = seg
            .register_described(&[Part::new("a", 16)], &d, |_| panic!("init must not run"))
            .unwrap_err();
        assert!(err.to_string().contains(want), "{want}: {err}");
        assert!(seg.description("a").unwrap_err().to_string().contains(want));
        assert_eq!(t.bytes(), before, "{want}");
        // Undescribed registration still works on a damaged entry.
        seg.register_group(&[Part::new("b", 16)], |_| Ok(()))
            .unwrap();
    }
}

#[test]
fn a_damaged_record_is_an_error_naming_it() {
    let (t, seg) = described("sd_rec", 1 << 16, 8);
    let d = Description::of::<u32>(StructureKind::Queue, 8);
    seg.register_described(&[Part::new("q", 80)], &d, |_| Ok(()))
        .unwrap();
    let at = entry_offset(&seg) + fmt::record_offset(0) as usize;
    put_u32(&t, at + record::KIND as usize, 77);
    let err = seg.description("q").unwrap_err();
    assert!(err.to_string().contains("unknown kind code 77"), "{err}");
    assert!(check_description(&seg, "q", &d).is_err());
    // A count above the capacity.
    put_u32(&t, entry_offset(&seg) + header::COUNT as usize, 8);
    let err = seg.descriptions().unwrap_err();
    assert!(
        err.to_string().contains("count 8 exceeds capacity 7"),
        "{err}"
    );
}

/// Child: opens the segment and prints what it finds recorded.
#[test]
#[ignore = "run by describe_across_processes as a child process"]
fn describe_worker() {
    if !is_child() {
        return;
    }
    let seg = Segment::open(&env_var("SEG")).unwrap();
    match env_var("ROLE").as_str() {
        "create" => {
            let d = Description::key_value::<u64, f32>(32);
            seg.register_described(&[Part::new("idx", 64)], &d, |_| Ok(()))
                .unwrap();
            println!("\nRESULT created");
        }
        "read" => {
            let d = seg.description("idx").unwrap().expect("recorded");
            println!("\nRESULT kind={} cap={}", d.kind, d.capacity);
            let wrong =
                check_description(&seg, "idx", &Description::of::<u64>(StructureKind::Set, 32));
            println!(
                "\nRESULT wrong_kind={}",
                matches!(wrong, Err(Error::WrongKind { .. }))
            );
        }
        other => panic!("unknown role {other}"),
    }
}

#[test]
fn describe_across_processes() {
    let (t, seg) = described("sd_mp", 1 << 16, 8);
    let run = |role: &str| {
        worker_results(spawn_worker(
            "describe_worker",
            &[("SEG", t.name.clone()), ("ROLE", role.to_owned())],
        ))
    };
    assert_eq!(run("create"), ["created"]);
    // The parent sees the child's record through its own mapping.
    assert_eq!(
        seg.description("idx").unwrap(),
        Some(Description::key_value::<u64, f32>(32))
    );
    let lines = run("read");
    assert_eq!(lines, ["kind=map cap=32", "wrong_kind=true"]);
}
