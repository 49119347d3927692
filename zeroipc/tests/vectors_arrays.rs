//! Golden vectors: arrays.bin (C++) and the arrays of py_arrays.bin (Python).
//! Read test: open a copy and compare with the manifest. Write test: redo
//! the same operations from empty and compare bytes.

mod common;

use common::*;
use zeroipc::layout::{Field, Kind, TypeLayout};
use zeroipc::{Array, ShmElement};

/// `struct Rec { int32_t id; float x; double y; }` from the manifest.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C)]
struct Rec {
    id: i32,
    x: f32,
    y: f64,
}

// SAFETY: repr(C) with fields at 0, 4, 8 and size 16: no padding, every bit
// pattern valid, no pointers; LAYOUT lists exactly those fields.
unsafe impl ShmElement for Rec {
    const LAYOUT: &'static TypeLayout = &TypeLayout {
        name: "Rec",
        size: 16,
        align: 8,
        kind: Kind::Struct {
            fields: &[
                Field {
                    name: "id",
                    offset: 0,
                    layout: i32::LAYOUT,
                    doc: "",
                },
                Field {
                    name: "x",
                    offset: 4,
                    layout: f32::LAYOUT,
                    doc: "",
                },
                Field {
                    name: "y",
                    offset: 8,
                    layout: f64::LAYOUT,
                    doc: "",
                },
            ],
        },
        doc: "",
    };
}

fn f64s(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

#[test]
fn arrays_bin_reads_as_the_manifest_says() {
    let fm = file_manifest("arrays.bin");
    let t = copy_vector("arrays.bin");
    let seg = t.open();
    assert_table_matches(&seg, &fm);
    let h = seg.header();
    assert_eq!(h.next_offset, fm["header"]["next_offset"].as_u64().unwrap());

    let temps = Array::<f32>::open(&seg, "temperature").unwrap();
    let exp = &structure(&fm, "temperature")["expected"];
    assert_eq!(temps.len() as u64, exp["capacity"].as_u64().unwrap());
    let want = f64s(&exp["values"]);
    assert_eq!(
        temps.to_vec().iter().map(|&x| x as f64).collect::<Vec<_>>(),
        want
    );

    let counts = Array::<i64>::open(&seg, "counts").unwrap();
    let exp = &structure(&fm, "counts")["expected"];
    let want: Vec<i64> = exp["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    assert_eq!(counts.to_vec(), want);

    let bytes = Array::<u8>::open(&seg, "bytes").unwrap();
    let exp = &structure(&fm, "bytes")["expected"];
    let want: Vec<u8> = exp["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as u8)
        .collect();
    assert_eq!(bytes.to_vec(), want);

    let recs = Array::<Rec>::open(&seg, "records").unwrap();
    let exp = &structure(&fm, "records")["expected"];
    for (i, v) in exp["values"].as_array().unwrap().iter().enumerate() {
        let r = recs.get(i).unwrap();
        assert_eq!(r.id as i64, v["id"].as_i64().unwrap());
        assert_eq!(r.x as f64, v["x"].as_f64().unwrap());
        assert_eq!(r.y, v["y"].as_f64().unwrap());
    }
    // Wrong element type is refused with a clear error.
    let err = Array::<f64>::open(&seg, "temperature").unwrap_err();
    assert!(err.to_string().contains("entry size"), "{err}");
}

#[test]
fn arrays_bin_is_reproduced_byte_for_byte() {
    let (t, seg) = fresh_like("arrays.bin");
    let a = Array::<f32>::create(&seg, "temperature", 100).unwrap();
    for i in 0..100 {
        a.set(i, i as f32 * 0.5).unwrap();
    }
    let fm = file_manifest("arrays.bin");
    let counts_desc = structure(&fm, "counts")["expected"]["values"].clone();
    let c = Array::<i64>::create(&seg, "counts", 7).unwrap();
    for (i, v) in counts_desc.as_array().unwrap().iter().enumerate() {
        c.set(i, v.as_i64().unwrap()).unwrap();
    }
    let bytes_desc = structure(&fm, "bytes")["expected"]["values"].clone();
    let b = Array::<u8>::create(&seg, "bytes", 13).unwrap();
    for (i, v) in bytes_desc.as_array().unwrap().iter().enumerate() {
        b.set(i, v.as_u64().unwrap() as u8).unwrap();
    }
    let r = Array::<Rec>::create(&seg, "records", 4).unwrap();
    for i in 0..4 {
        r.set(
            i,
            Rec {
                id: i as i32,
                x: i as f32 + 0.25,
                y: i as f64 * 1e6,
            },
        )
        .unwrap();
    }
    drop((a, c, b, r, seg));
    assert_same_bytes(&t, "arrays.bin");
}

#[test]
fn py_arrays_bin_arrays_read_as_the_manifest_says() {
    let fm = file_manifest("py_arrays.bin");
    let t = copy_vector("py_arrays.bin");
    let seg = t.open();
    let scores = Array::<f64>::open(&seg, "scores").unwrap();
    assert_eq!(
        scores.to_vec(),
        f64s(&structure(&fm, "scores")["expected"]["values"])
    );
    let metrics = Array::<i32>::open(&seg, "metrics").unwrap();
    let want: Vec<i32> = structure(&fm, "metrics")["expected"]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap() as i32)
        .collect();
    assert_eq!(metrics.to_vec(), want);
}
