//! The golden images in `tests/vectors/` and their `manifest.json` agree:
//! every image the manifest names is there with the stated size and
//! SHA-256, its table (read through `Segment::open` and
//! `Segment::entries`) has the stated header and entries, every structure
//! the manifest describes sits in the table at the stated offset and size,
//! every table entry belongs to exactly one structure, the bytes outside
//! the table and the entries are zero, and each nondeterministic range is a
//! Future's `completion_time` word.

mod common;

use common::*;
use serde_json::Value;
use std::collections::BTreeSet;
use zeroipc::table::Entry;

/// A manifest number that must be an unsigned integer.
fn num(v: &Value, what: &str) -> u64 {
    v.as_u64()
        .unwrap_or_else(|| panic!("manifest: {what} is not an unsigned integer: {v}"))
}

/// A manifest string.
fn text<'a>(v: &'a Value, what: &str) -> &'a str {
    v.as_str()
        .unwrap_or_else(|| panic!("manifest: {what} is not a string: {v}"))
}

/// The manifest's image files, by name, in manifest order.
fn manifest_files(all: &Value) -> Vec<(String, Value)> {
    all["files"]
        .as_object()
        .expect("manifest: files is an object")
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

#[test]
fn every_image_on_disk_is_in_the_manifest_and_back() {
    let all = manifest();
    let listed: BTreeSet<String> = manifest_files(&all).into_iter().map(|(f, _)| f).collect();
    let on_disk: BTreeSet<String> = std::fs::read_dir(vectors_dir())
        .expect("read tests/vectors")
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| n.ends_with(".bin"))
        .collect();
    assert_eq!(
        listed, on_disk,
        "manifest files vs .bin files in tests/vectors"
    );
    assert_eq!(listed.len(), 7, "seven golden images");
}

#[test]
fn sizes_and_hashes_match() {
    for (file, fm) in manifest_files(&manifest()) {
        let bytes = std::fs::read(vectors_dir().join(&file)).expect("read image");
        assert_eq!(
            bytes.len() as u64,
            num(&fm["segment_size"], "segment_size"),
            "{file}: length"
        );
        assert_eq!(
            sha256_hex(&bytes),
            text(&fm["sha256"], "sha256"),
            "{file}: SHA-256 (the image changed or the manifest is stale)"
        );
    }
}

#[test]
fn table_headers_and_entries_match() {
    for (file, fm) in manifest_files(&manifest()) {
        let t = copy_vector(&file);
        let seg = t.open();
        let h = seg.header();
        let want = &fm["header"];
        let got = [
            ("magic", u64::from(h.magic)),
            ("version", u64::from(h.version)),
            ("entry_count", u64::from(h.entry_count)),
            ("max_entries", u64::from(h.max_entries)),
            ("memory_size", h.memory_size),
            ("next_offset", h.next_offset),
            ("data_start", seg.data_start()),
        ];
        for (field, value) in got {
            assert_eq!(value, num(&want[field], field), "{file}: header {field}");
        }
        assert_eq!(
            u64::from(seg.max_entries()),
            num(&fm["max_entries"], "max_entries"),
            "{file}: max_entries"
        );
        assert_table_matches(&seg, &fm);
    }
}

/// The table-entry sizes a structure's layout states, by entry name: one
/// `total_size` for a single-entry structure, or one per part under
/// `by_entry`.
fn layout_sizes(s: &Value, name: &str) -> Vec<(String, u64)> {
    let layout = &s["layout"];
    match layout["by_entry"].as_object() {
        Some(parts) => parts
            .iter()
            .map(|(part, l)| (part.clone(), num(&l["total_size"], "by_entry total_size")))
            .collect(),
        None => vec![(
            name.to_owned(),
            num(&layout["total_size"], "layout total_size"),
        )],
    }
}

/// The manifest's table entry named `name` as (offset, size).
fn manifest_entry(fm: &Value, file: &str, name: &str) -> (u64, u64) {
    let e = fm["entries"]
        .as_array()
        .expect("manifest entries")
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("{file}: manifest names entry {name} but lists no such entry"));
    (
        num(&e["offset"], "entry offset"),
        num(&e["size"], "entry size"),
    )
}

#[test]
fn every_structure_is_in_the_table_at_its_offset_and_size() {
    for (file, fm) in manifest_files(&manifest()) {
        let t = copy_vector(&file);
        let seg = t.open();
        let mut claimed: Vec<String> = Vec::new();
        for s in fm["structures"].as_array().expect("structures") {
            let name = text(&s["name"], "structure name");
            let parts: Vec<&str> = s["entries"]
                .as_array()
                .expect("structure entries")
                .iter()
                .map(|p| text(p, "entry name"))
                .collect();
            assert!(!parts.is_empty(), "{file}: {name} names no table entry");
            let sizes = layout_sizes(s, name);
            let size_names: BTreeSet<&str> = sizes.iter().map(|(n, _)| n.as_str()).collect();
            assert_eq!(
                size_names,
                parts.iter().copied().collect::<BTreeSet<&str>>(),
                "{file}: {name}: layout parts vs entries"
            );
            for (part, layout_size) in &sizes {
                let (offset, size) = manifest_entry(&fm, &file, part);
                let found: Entry = seg
                    .find(part)
                    .unwrap_or_else(|e| panic!("{file}: find {part}: {e}"))
                    .unwrap_or_else(|| panic!("{file}: {name}: entry {part} not in the table"));
                assert_eq!(
                    (found.offset, found.size),
                    (offset, size),
                    "{file}: {name}: entry {part} (offset, size) in the image vs the manifest"
                );
                assert_eq!(
                    found.size, *layout_size,
                    "{file}: {name}: entry {part} size vs the layout's total_size"
                );
                claimed.push(part.clone());
            }
        }
        let mut in_table: Vec<String> = seg
            .entries()
            .expect("entries")
            .into_iter()
            .map(|e| e.name)
            .collect();
        in_table.sort();
        claimed.sort();
        assert_eq!(
            claimed, in_table,
            "{file}: every table entry belongs to exactly one structure"
        );
    }
}

#[test]
fn bytes_outside_table_and_entries_are_zero() {
    for (file, fm) in manifest_files(&manifest()) {
        let bytes = std::fs::read(vectors_dir().join(&file)).expect("read image");
        let mut used = vec![false; bytes.len()];
        let table_end = 32 + 48 * num(&fm["max_entries"], "max_entries") as usize;
        used[..table_end].fill(true);
        for e in fm["entries"].as_array().expect("entries") {
            let off = num(&e["offset"], "offset") as usize;
            let size = num(&e["size"], "size") as usize;
            used[off..off + size].fill(true);
        }
        let stray: Vec<usize> = (0..bytes.len())
            .filter(|&i| !used[i] && bytes[i] != 0)
            .collect();
        assert!(
            stray.is_empty(),
            "{file}: {} nonzero bytes outside the table and entries, first at {:?}",
            stray.len(),
            stray.iter().take(8).collect::<Vec<_>>()
        );
    }
}

#[test]
fn nondeterministic_ranges_are_future_completion_times() {
    let all = manifest();
    let ranges = all["nondeterministic"]
        .as_array()
        .expect("nondeterministic list");
    assert_eq!(ranges.len(), 2, "two masked ranges (f_ready, f_err)");
    for r in ranges {
        let file = text(&r["file"], "file");
        let offset = num(&r["offset"], "offset");
        let length = num(&r["length"], "length");
        let fm = &all["files"][file];
        let owner = fm["structures"]
            .as_array()
            .expect("structures")
            .iter()
            .find(|s| {
                let (eo, es) = manifest_entry(fm, file, text(&s["name"], "name"));
                s["kind"] == "future" && offset >= eo && offset + length <= eo + es
            })
            .unwrap_or_else(|| panic!("{file}: range at {offset} is not inside a Future"));
        let name = text(&owner["name"], "name");
        let (entry_offset, _) = manifest_entry(fm, file, name);
        let field = num(
            &owner["layout"]["offsets"]["completion_time"],
            "completion_time offset",
        );
        assert_eq!(
            (offset, length),
            (entry_offset + field, 8),
            "{file}: range vs {name}'s completion_time word"
        );
    }
}

/// SHA-256 (FIPS 180-4) of `data`, lowercase hex: enough to tie the
/// manifest's hashes to the bytes without a dependency.
fn sha256_hex(data: &[u8]) -> String {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&((data.len() as u64) * 8).to_be_bytes());
    for block in msg.chunks_exact(64) {
        let mut w = [0u32; 64];
        for (i, word) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes(word.try_into().expect("4 bytes"));
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
        for i in 0..64 {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            hh = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (slot, v) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *slot = slot.wrapping_add(v);
        }
    }
    h.iter().map(|v| format!("{v:08x}")).collect()
}

#[test]
fn sha256_matches_the_standard_test_vectors() {
    assert_eq!(
        sha256_hex(b""),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(
        sha256_hex(b"abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(
        sha256_hex(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
    );
}
