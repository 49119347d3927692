//! Every error path of segment create/open and structure registration, and
//! the refusal of hostile segments: each case gets its specific error, none
//! panics.

mod common;

use common::*;
use std::os::unix::fs::PermissionsExt;
use zeroipc::table::{table_bytes, MAGIC};
use zeroipc::{Array, Error, Segment, SegmentOptions};

#[test]
fn create_refuses_an_existing_segment_and_keeps_its_data() {
    let (t, seg) = temp_segment("exists", 1 << 16);
    let a = Array::<u32>::create(&seg, "keep", 4).unwrap();
    a.set(0, 77).unwrap();
    let err = Segment::create(&t.name, 1 << 16).unwrap_err();
    assert!(matches!(err, Error::SegmentExists { .. }), "{err}");
    // The existing data is untouched.
    let again = t.open();
    assert_eq!(
        Array::<u32>::open(&again, "keep").unwrap().get(0).unwrap(),
        77
    );
}

#[test]
fn open_missing_segment() {
    let err = Segment::open(&unique_name("missing")).unwrap_err();
    assert!(matches!(err, Error::SegmentNotFound { .. }), "{err}");
}

#[test]
fn bad_segment_names() {
    for bad in ["", "/", "/a/b", "a/b", "/..", "..", "/.", "a\0b"] {
        let err = Segment::create(bad, 1 << 16).unwrap_err();
        assert!(
            matches!(err, Error::InvalidSegmentName { .. }),
            "{bad:?}: {err}"
        );
        let err = Segment::open(bad).unwrap_err();
        assert!(matches!(err, Error::InvalidSegmentName { .. }), "{bad:?}");
    }
    let long = format!("/{}", "x".repeat(256));
    assert!(matches!(
        Segment::create(&long, 1 << 16).unwrap_err(),
        Error::InvalidSegmentName { .. }
    ));
}

#[test]
fn name_with_and_without_slash_is_the_same_object() {
    let (t, _seg) = temp_segment("slash", 1 << 16);
    let bare = t.name.trim_start_matches('/');
    assert_eq!(Segment::open(bare).unwrap().name(), t.name);
}

#[test]
fn too_small_for_the_table() {
    let name = unique_name("small");
    let err = SegmentOptions::new()
        .size(100)
        .max_entries(4)
        .create(&name)
        .unwrap_err();
    match err {
        Error::SegmentTooSmall { needed, size, .. } => {
            assert_eq!(needed, table_bytes(4));
            assert_eq!(size, 100);
        }
        other => panic!("{other}"),
    }
    // Nothing was left behind.
    assert!(matches!(
        Segment::open(&name).unwrap_err(),
        Error::SegmentNotFound { .. }
    ));
    let err = SegmentOptions::new()
        .max_entries(0)
        .create(&name)
        .unwrap_err();
    assert!(matches!(err, Error::InvalidParameter { .. }), "{err}");
}

#[test]
fn table_full_segment_full_duplicate_and_long_names_leak_nothing() {
    let t = TempSeg {
        name: unique_name("full"),
    };
    let seg = SegmentOptions::new()
        .size(table_bytes(2) + 64)
        .max_entries(2)
        .create(&t.name)
        .unwrap();
    Array::<u8>::create(&seg, "a", 8).unwrap();
    let before = seg.header().next_offset;

    let err = Array::<u8>::create(&seg, "a", 8).unwrap_err();
    assert!(matches!(err, Error::DuplicateName { .. }), "{err}");
    let err = Array::<u8>::create(&seg, &"n".repeat(32), 8).unwrap_err();
    assert!(matches!(err, Error::InvalidStructureName { .. }), "{err}");
    let err = Array::<u8>::create(&seg, "", 8).unwrap_err();
    assert!(matches!(err, Error::InvalidStructureName { .. }), "{err}");
    let err = Array::<u8>::create(&seg, "big", 1000).unwrap_err();
    match &err {
        Error::SegmentFull {
            requested,
            available,
            ..
        } => {
            assert_eq!(*requested, 1008);
            assert_eq!(*available, 64 - 16);
        }
        other => panic!("{other}"),
    }
    // None of the failures above moved next_offset (the reference leaks here).
    assert_eq!(seg.header().next_offset, before);

    Array::<u8>::create(&seg, "b", 8).unwrap();
    let err = Array::<u8>::create(&seg, "c", 1).unwrap_err();
    assert!(
        matches!(err, Error::TableFull { max_entries: 2, .. }),
        "{err}"
    );
    // 31 bytes is the longest name that fits.
    let (_t2, seg2) = temp_segment("long", 1 << 16);
    Array::<u8>::create(&seg2, &"x".repeat(31), 1).unwrap();
    assert!(Array::<u8>::open(&seg2, &"x".repeat(31)).is_ok());
}

#[test]
fn structure_not_found() {
    let (_t, seg) = temp_segment("nf", 1 << 16);
    let err = Array::<u8>::open(&seg, "nope").unwrap_err();
    assert!(matches!(err, Error::StructureNotFound { .. }), "{err}");
    assert!(err.to_string().contains("nope"));
}

#[test]
fn permissions_default_to_0600_and_can_be_chosen() {
    let (t, _seg) = temp_segment("perm", 1 << 16);
    let mode = std::fs::metadata(t.path()).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let t2 = TempSeg {
        name: unique_name("perm2"),
    };
    SegmentOptions::new().mode(0o640).create(&t2.name).unwrap();
    let mode = std::fs::metadata(t2.path()).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
}

#[test]
fn open_or_create_and_replace() {
    let t = TempSeg {
        name: unique_name("ooc"),
    };
    let seg = SegmentOptions::new().open_or_create(&t.name).unwrap();
    Array::<u8>::create(&seg, "x", 1).unwrap();
    let again = SegmentOptions::new().open_or_create(&t.name).unwrap();
    let names =
        |s: &Segment| -> Vec<String> { s.entries().unwrap().into_iter().map(|e| e.name).collect() };
    // The self-description entry comes first in every new segment, then
    // the waiter registry.
    assert_eq!(names(&again), ["__zeroipc_kinds", "__zeroipc_waiters", "x"]);
    let fresh = SegmentOptions::new().create_replacing(&t.name).unwrap();
    assert_eq!(names(&fresh), ["__zeroipc_kinds", "__zeroipc_waiters"]);
}

#[test]
fn symlinks_are_not_followed() {
    let (target, _seg) = temp_segment("symtarget", 1 << 16);
    let link = TempSeg {
        name: unique_name("symlink"),
    };
    std::os::unix::fs::symlink(target.path(), link.path()).unwrap();
    let err = Segment::open(&link.name).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
    assert!(err.to_string().contains("symlink"), "{err}");
    let err = Segment::create(&link.name, 1 << 16).unwrap_err();
    assert!(matches!(err, Error::SegmentExists { .. }), "{err}");
}

// ---- hostile segments ----------------------------------------------------

/// Writes a valid empty table (`max_entries` slots, `size` bytes) then lets
/// `mutate` corrupt it, and returns the open error.
fn open_mutated(size: usize, max_entries: u32, mutate: impl FnOnce(&mut Vec<u8>)) -> Error {
    let t = TempSeg {
        name: unique_name("hostile"),
    };
    let mut b = vec![0u8; size];
    b[0..4].copy_from_slice(&MAGIC.to_le_bytes());
    b[4..8].copy_from_slice(&2u32.to_le_bytes());
    b[12..16].copy_from_slice(&max_entries.to_le_bytes());
    b[16..24].copy_from_slice(&(size as u64).to_le_bytes());
    b[24..32].copy_from_slice(&table_bytes(max_entries).to_le_bytes());
    mutate(&mut b);
    std::fs::write(t.path(), &b).unwrap();
    std::fs::set_permissions(t.path(), std::fs::Permissions::from_mode(0o600)).unwrap();
    Segment::open(&t.name).expect_err("hostile segment must be refused")
}

fn check_of(e: &Error) -> &'static str {
    match e {
        Error::CorruptTable { check, .. } => check,
        other => panic!("expected CorruptTable, got {other}"),
    }
}

fn put_entry(b: &mut [u8], i: usize, name: &[u8], offset: u64, size: u64) {
    let e = 32 + 48 * i;
    b[e..e + name.len()].copy_from_slice(name);
    b[e + 32..e + 40].copy_from_slice(&offset.to_le_bytes());
    b[e + 40..e + 48].copy_from_slice(&size.to_le_bytes());
}

#[test]
fn hostile_truncated_file() {
    let e = open_mutated(4096, 4, |b| b.truncate(20));
    assert_eq!(check_of(&e), "header fits");
    let e = open_mutated(4096, 4, |b| b.truncate(100)); // table needs 224
    assert_eq!(check_of(&e), "table fits in segment");
    // memory_size claims more than the file holds.
    let e = open_mutated(4096, 4, |b| b.truncate(1000));
    assert_eq!(check_of(&e), "memory_size within mapping");
}

#[test]
fn hostile_header_fields() {
    assert_eq!(check_of(&open_mutated(4096, 4, |b| b[0] ^= 1)), "magic");
    assert_eq!(
        check_of(&open_mutated(4096, 4, |b| b[4..8].copy_from_slice(&3u32.to_le_bytes()))),
        "version"
    );
    assert_eq!(
        check_of(&open_mutated(4096, 4, |b| b[12..16].fill(0))),
        "max_entries"
    );
    assert_eq!(
        check_of(&open_mutated(4096, 4, |b| b[12..16].fill(0xff))),
        "table fits in segment"
    );
    assert_eq!(
        check_of(&open_mutated(4096, 4, |b| b[8..12].copy_from_slice(&5u32.to_le_bytes()))),
        "entry_count <= max_entries"
    );
    assert_eq!(
        check_of(&open_mutated(4096, 4, |b| b[24..32]
            .copy_from_slice(&5000u64.to_le_bytes()))),
        "next_offset within data area"
    );
}

#[test]
fn hostile_entries() {
    let set_count = |b: &mut Vec<u8>| b[8..12].copy_from_slice(&1u32.to_le_bytes());
    let e = open_mutated(4096, 4, |b| {
        set_count(b);
        put_entry(b, 0, b"x", 224, 4000);
    });
    assert_eq!(check_of(&e), "entry within segment");
    let e = open_mutated(4096, 4, |b| {
        set_count(b);
        put_entry(b, 0, b"x", 224, u64::MAX);
    });
    assert_eq!(check_of(&e), "entry within segment");
    let e = open_mutated(4096, 4, |b| {
        set_count(b);
        put_entry(b, 0, &[b'n'; 32], 224, 8);
    });
    assert_eq!(check_of(&e), "entry name terminated");
    let e = open_mutated(4096, 4, |b| {
        set_count(b);
        put_entry(b, 0, &[0xff, 0xfe], 224, 8);
    });
    assert_eq!(check_of(&e), "entry name UTF-8");
    let e = open_mutated(4096, 4, |b| {
        set_count(b);
        put_entry(b, 0, b"x", 228, 8);
    });
    assert_eq!(check_of(&e), "entry offset aligned");
    let e = open_mutated(4096, 4, |b| {
        set_count(b);
        put_entry(b, 0, b"x", 32, 8);
    });
    assert_eq!(check_of(&e), "entry offset in data area");
    // The message names the values seen.
    assert!(e.to_string().contains("offset 32"), "{e}");
}

#[test]
fn hostile_array_header_is_refused_on_open() {
    let (t, seg) = temp_segment("harr", 1 << 16);
    let a = Array::<u32>::create(&seg, "a", 4).unwrap();
    // A peer rewrites the capacity to something huge.
    a.region().write::<u64>(0, u64::MAX / 2);
    let err = Array::<u32>::open(&t.open(), "a").unwrap_err();
    assert!(matches!(err, Error::StructureMismatch { .. }), "{err}");
    // Our already-open handle keeps its cached bound: access stays in range.
    assert!(a.get(3).is_ok());
    assert!(a.get(4).is_err());
}
