//! The `zeroipc` binary against the golden vector images written by the
//! ZeroIPC reference (C++ and Python): golden human output for show / get /
//! check, decoded values compared with manifest.json, kind guesses, dump,
//! the read-only backing, and a check that reading changes no byte.

#[path = "cli_golden/support.rs"]
mod support;

use serde_json::Value;
use support::*;

fn stem(f: &str) -> &str {
    f.trim_end_matches(".bin")
}

fn structures(file: &str) -> Vec<Value> {
    manifest()["files"][file]["structures"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn golden_show_get_check_on_every_vector_image() {
    for file in IMAGES {
        let seg = Shm::vector(file);
        let r = run(&["show", &seg.name]);
        assert_eq!(r.code, 0, "show {file}: {}", r.err);
        golden(
            &format!("show_{}.txt", stem(file)),
            &normalise(&r.out, &seg),
        );

        let r = run(&["check", &seg.name]);
        assert_eq!(r.code, 0, "check {file} must be sound:\n{}{}", r.out, r.err);
        golden(
            &format!("check_{}.txt", stem(file)),
            &normalise(&r.out, &seg),
        );

        let mut all = String::new();
        for s in structures(file) {
            let name = s["name"].as_str().unwrap();
            let mut args = vec!["get".to_owned(), seg.name.clone(), name.to_owned()];
            args.extend(get_args(&s));
            args.extend(["--limit".to_owned(), "0".to_owned()]);
            let a: Vec<&str> = args.iter().map(String::as_str).collect();
            let r = run(&a);
            assert_eq!(r.code, 0, "get {file} {name}: {}", r.err);
            let shown: Vec<String> = a
                .iter()
                .map(|x| {
                    if x.contains([' ', '{', ',']) {
                        format!("'{x}'")
                    } else {
                        (*x).to_owned()
                    }
                })
                .collect();
            all.push_str(&format!("$ zeroipc {}\n", shown.join(" ")));
            all.push_str(&r.out);
            all.push('\n');
        }
        golden(&format!("get_{}.txt", stem(file)), &normalise(&all, &seg));
    }
}

/// Numbers equal within float precision, everything else exactly.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            if let (Some(x), Some(y)) = (x.as_i64(), y.as_i64()) {
                return x == y;
            }
            if let (Some(x), Some(y)) = (x.as_u64(), y.as_u64()) {
                return x == y;
            }
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            (x - y).abs() <= 1e-6 * y.abs().max(1.0)
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            y.iter().all(|(k, v)| x.get(k).is_some_and(|a| same(a, v)))
        }
        _ => a == b,
    }
}

fn values(items: &Value) -> Value {
    Value::Array(
        items
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["value"].clone())
            .collect(),
    )
}

fn expect_eq(what: &str, got: &Value, want: &Value) {
    assert!(same(got, want), "{what}: got {got}, manifest says {want}");
}

/// Compares `fields.<mine>` with `expected.<theirs>` for each pair.
fn fields(what: &str, f: &Value, e: &Value, pairs: &[(&str, &str)]) {
    for (mine, theirs) in pairs {
        expect_eq(&format!("{what}.{mine}"), &f[*mine], &e[*theirs]);
    }
}

#[test]
fn decoded_values_match_the_manifest() {
    let mut checked = 0;
    for file in IMAGES {
        let seg = Shm::vector(file);
        for s in structures(file) {
            let name = s["name"].as_str().unwrap();
            let kind = s["kind"].as_str().unwrap();
            let mut args = vec![
                "--json".to_owned(),
                "get".to_owned(),
                seg.name.clone(),
                name.to_owned(),
            ];
            args.extend(get_args(&s));
            let a: Vec<&str> = args.iter().map(String::as_str).collect();
            let r = run(&a);
            assert_eq!(r.code, 0, "get {file} {name}: {}", r.err);
            let j = r.json();
            let what = format!("{file} {name}");
            assert_eq!(j["kind"], kind, "{what}");
            assert_eq!(j["problems"], Value::Array(vec![]), "{what}");
            let e = &s["expected"];
            let f = &j["fields"];
            let items = &j["contents"]["items"];
            match kind {
                "array" => {
                    expect_eq(&what, &f["capacity"], &e["capacity"]);
                    expect_eq(&what, &values(items), &e["values"]);
                }
                "queue" => {
                    fields(
                        &what,
                        f,
                        e,
                        &[
                            ("head", "head"),
                            ("tail", "tail"),
                            ("capacity", "capacity"),
                            ("elem_size", "elem_size"),
                            ("size", "size"),
                        ],
                    );
                    expect_eq(&what, &values(items), &e["contents_pop_order"]);
                }
                "stack" => {
                    fields(
                        &what,
                        f,
                        e,
                        &[
                            ("top", "top"),
                            ("capacity", "capacity"),
                            ("elem_size", "elem_size"),
                            ("size", "size"),
                        ],
                    );
                    expect_eq(&what, &values(items), &e["contents_top_first"]);
                }
                "map" => {
                    fields(
                        &what,
                        f,
                        e,
                        &[
                            ("size", "size"),
                            ("capacity", "capacity"),
                            ("key_size", "key_size"),
                            ("value_size", "value_size"),
                        ],
                    );
                    let mut want: Vec<Value> = e["present"].as_array().unwrap().clone();
                    want.sort_by_key(|p| p["slot"].as_u64());
                    let got = items.as_array().unwrap();
                    assert_eq!(got.len(), want.len(), "{what}");
                    for (g, w) in got.iter().zip(&want) {
                        expect_eq(&what, &g["index"], &w["slot"]);
                        expect_eq(&what, &g["key"], &w["key"]);
                        expect_eq(&what, &g["value"], &w["value"]);
                    }
                }
                "set" => {
                    fields(
                        &what,
                        f,
                        e,
                        &[
                            ("size", "size"),
                            ("capacity", "capacity"),
                            ("elem_size", "elem_size"),
                        ],
                    );
                    let mut want: Vec<Value> = e["members"].as_array().unwrap().clone();
                    want.sort_by_key(|p| p["slot"].as_u64());
                    let got = items.as_array().unwrap();
                    assert_eq!(got.len(), want.len(), "{what}");
                    for (g, w) in got.iter().zip(&want) {
                        expect_eq(&what, &g["index"], &w["slot"]);
                        expect_eq(&what, &g["value"], &w["value"]);
                    }
                }
                "pool" => {
                    fields(
                        &what,
                        f,
                        e,
                        &[
                            ("capacity", "capacity"),
                            ("elem_size", "elem_size"),
                            ("allocated", "allocated"),
                            ("available", "available"),
                            ("free_head_index", "free_head_index"),
                            ("free_head_generation", "free_head_generation"),
                            ("free_list", "free_list_order"),
                        ],
                    );
                    let got = items.as_array().unwrap();
                    let want = e["allocated_nodes"].as_array().unwrap();
                    assert_eq!(got.len(), want.len(), "{what}");
                    for (g, w) in got.iter().zip(want) {
                        expect_eq(&what, &g["index"], &w["index"]);
                        expect_eq(&what, &g["value"], &w["value"]);
                    }
                }
                "ring" => {
                    fields(
                        &what,
                        f,
                        e,
                        &[
                            ("write_pos", "write_pos"),
                            ("read_pos", "read_pos"),
                            ("capacity_bytes", "capacity_bytes"),
                            ("elem_size", "elem_size"),
                            ("available", "available"),
                        ],
                    );
                    expect_eq(&what, &values(items), &e["contents_read_order"]);
                }
                "semaphore" => fields(
                    &what,
                    f,
                    e,
                    &[
                        ("count", "count"),
                        ("waiting", "waiting"),
                        ("max_count", "max_count"),
                    ],
                ),
                "mutex" => fields(
                    &what,
                    f,
                    e,
                    &[
                        ("count", "count"),
                        ("waiting", "waiting"),
                        ("max_count", "max_count"),
                        ("locked", "locked"),
                    ],
                ),
                "barrier" => fields(
                    &what,
                    f,
                    e,
                    &[
                        ("arrived", "arrived"),
                        ("generation", "generation"),
                        ("participants", "num_participants"),
                    ],
                ),
                "latch" => fields(
                    &what,
                    f,
                    e,
                    &[("count", "count"), ("initial_count", "initial_count")],
                ),
                "once" => fields(&what, f, e, &[("state", "state_name")]),
                "event" => fields(
                    &what,
                    f,
                    e,
                    &[
                        ("signaled", "signaled"),
                        ("mode", "mode_name"),
                        ("waiting", "waiting"),
                        ("sem", "sem"),
                    ],
                ),
                "rwlock" => fields(
                    &what,
                    f,
                    e,
                    &[
                        ("readers", "readers"),
                        ("writer_active", "writer_active"),
                        ("rmtx", "rmtx"),
                        ("wmtx", "wmtx"),
                    ],
                ),
                "monitor" => fields(
                    &what,
                    f,
                    e,
                    &[
                        ("mtx", "mtx"),
                        ("cond", "cond"),
                        ("waiting_count", "waiting_count"),
                    ],
                ),
                "signal" => fields(
                    &what,
                    f,
                    e,
                    &[("version", "version"), ("value", "value"), ("mtx", "mtx")],
                ),
                "future" => fields(
                    &what,
                    f,
                    e,
                    &[
                        ("state", "state_name"),
                        ("waiters", "waiters"),
                        ("value", "value"),
                        ("error", "error"),
                    ],
                ),
                "lazy" => {
                    fields(
                        &what,
                        f,
                        e,
                        &[
                            ("state", "state_name"),
                            ("op", "op_type_name"),
                            ("op_a", "op_data"),
                            ("cached_value", "cached_value"),
                            ("error", "error"),
                            ("compute_count", "compute_count"),
                        ],
                    );
                    if e.get("op_b").is_some() {
                        fields(&what, f, e, &[("op_b", "op_b")]);
                    }
                }
                "stream" => {
                    fields(
                        &what,
                        f,
                        e,
                        &[
                            ("sequence", "sequence"),
                            ("subscribers", "subscribers"),
                            ("closed", "closed"),
                            ("buffer_capacity", "buffer_capacity"),
                            ("transform", "transform_name"),
                        ],
                    );
                    expect_eq(&what, &f["ring"]["write_pos"], &e["ring"]["write_pos"]);
                    expect_eq(&what, &f["ring"]["read_pos"], &e["ring"]["read_pos"]);
                    expect_eq(&what, &values(items), &e["pending_read_order"]);
                }
                "channel" => {
                    fields(
                        &what,
                        f,
                        e,
                        &[
                            ("capacity", "capacity"),
                            ("senders", "senders"),
                            ("receivers", "receivers"),
                            ("closed", "closed"),
                            ("send_seq", "send_seq"),
                            ("recv_seq", "recv_seq"),
                        ],
                    );
                    expect_eq(&what, &values(items), &e["contents_recv_order"]);
                    if let Some(q) = e.get("queue") {
                        fields(
                            &what,
                            &f["queue"],
                            q,
                            &[("head", "head"), ("tail", "tail"), ("capacity", "capacity")],
                        );
                    }
                }
                "stream_void" => fields(
                    &what,
                    f,
                    e,
                    &[("event_count", "event_count"), ("closed", "closed")],
                ),
                other => panic!("{what}: kind {other} not covered"),
            }
            checked += 1;
        }
    }
    assert_eq!(
        checked, 43,
        "every structure of the seven images was compared"
    );
}

#[test]
fn guessed_kinds_agree_with_the_manifest() {
    let mut exact = 0;
    let mut total = 0;
    for file in IMAGES {
        let seg = Shm::vector(file);
        let j = run(&["--json", "show", &seg.name]).json();
        let got = j["structures"].as_array().unwrap();
        let want = structures(file);
        // Composites are shown once: one structure per manifest structure.
        assert_eq!(got.len(), want.len(), "{file}: {got:#?}");
        for s in &want {
            let name = &s["name"];
            let g = got.iter().find(|g| &g["name"] == name).unwrap();
            let kind = s["kind"].as_str().unwrap();
            total += 1;
            if g["certain"] == true {
                assert_eq!(g["kind"], kind, "{file} {name}: certain but wrong");
            } else if g["kind"] != kind {
                // A guess may be wrong only if the right kind is offered.
                assert!(
                    g["alternatives"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|a| a == kind),
                    "{file} {name}: guessed {} without offering {kind}",
                    g["kind"]
                );
            }
            if g["kind"] == kind {
                exact += 1;
            }
            let parts: Vec<&str> = g["parts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["name"].as_str().unwrap())
                .collect();
            let entries: Vec<&str> = s["entries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e.as_str().unwrap())
                .collect();
            let mut a = parts.clone();
            let mut b = entries.clone();
            a.sort();
            b.sort();
            assert_eq!(a, b, "{file} {name}: parts");
        }
    }
    // Only Stream<void> `sv` is indistinguishable from a semaphore.
    assert_eq!((exact, total), (42, 43));
}

#[test]
fn dump_is_sixteen_bytes_a_line_with_ascii() {
    let seg = Shm::vector("queues.bin");
    let img = std::fs::read(vectors_dir().join("queues.bin")).unwrap();
    let r = run(&["dump", &seg.name, "q"]);
    assert_eq!(r.code, 0);
    let lines: Vec<&str> = r.out.lines().collect();
    assert!(lines[0].contains("offset 0x320, 80 bytes"), "{}", lines[0]);
    assert_eq!(
        lines[1],
        "00000000  02 00 00 00 06 00 00 00  08 00 00 00 04 00 00 00  |................|"
    );
    assert_eq!(lines.len(), 1 + 5, "80 bytes = 5 lines:\n{}", r.out);
    // --bytes cuts and says how much is left.
    let r = run(&["dump", &seg.name, "q", "--bytes", "20"]);
    assert!(r.out.contains("... (60 more bytes"), "{}", r.out);
    assert!(r
        .out
        .lines()
        .nth(2)
        .unwrap()
        .starts_with("00000010  01 00 00 00"));
    // JSON: the bytes of the file.
    let j = run(&["--json", "dump", &seg.name, "--bytes", "0"]).json();
    let hex: String = img.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(j["parts"][0]["hex"], hex);
    assert_eq!(j["parts"][0]["more"], 0);
    // A composite dumps each of its entries.
    let seg2 = Shm::vector("codata.bin");
    let r = run(&["dump", &seg2.name, "st"]);
    assert_eq!(
        r.out.matches("offsets below are relative").count(),
        2,
        "{}",
        r.out
    );
    // The segment dump starts with the magic "MPIZ".
    let r = run(&["dump", &seg.name, "--bytes", "16"]);
    assert!(
        r.out
            .lines()
            .nth(1)
            .unwrap()
            .ends_with("|MPIZ............|"),
        "{}",
        r.out
    );
}

#[test]
fn read_only_backing_gives_the_same_answers() {
    for file in IMAGES {
        let seg = Shm::vector(file);
        let a = run(&["show", &seg.name]);
        let b = run(&["--no-map", "show", &seg.name]);
        assert_eq!(a.out, b.out, "{file}");
        let j = run(&["--no-map", "--json", "show", &seg.name]).json();
        assert_eq!(j["backing"], "file");
        for s in structures(file) {
            let n = s["name"].as_str().unwrap();
            let a = run(&["get", &seg.name, n]);
            let b = run(&["--no-map", "get", &seg.name, n]);
            assert_eq!((a.code, &a.out), (b.code, &b.out), "{file} {n}");
        }
    }
}

#[test]
fn reading_changes_no_byte() {
    for file in IMAGES {
        let seg = Shm::vector(file);
        let before = std::fs::read(seg.path()).unwrap();
        for s in structures(file) {
            let n = s["name"].as_str().unwrap();
            for args in [
                vec!["get", &seg.name, n],
                vec!["--json", "get", &seg.name, n],
                vec!["dump", &seg.name, n],
                vec!["watch", &seg.name, n, "--count", "1"],
            ] {
                assert_eq!(run(&args).code, 0, "{args:?}");
            }
        }
        assert_eq!(run(&["show", &seg.name]).code, 0);
        assert_eq!(run(&["check", &seg.name]).code, 0);
        assert!(
            std::fs::read(seg.path()).unwrap() == before,
            "{file} changed"
        );
    }
}

#[test]
fn get_on_a_part_decodes_its_structure() {
    let seg = Shm::vector("codata.bin");
    let j = run(&["--json", "get", &seg.name, "ch_buffer"]).json();
    assert_eq!(j["name"], "ch");
    assert_eq!(j["kind"], "channel");
    assert!(j["note"].as_str().unwrap().contains("part of channel ch"));
    // --range picks items in contents order; arrays by index.
    let seg = Shm::vector("arrays.bin");
    let j = run(&["--json", "get", &seg.name, "counts", "--range", "2..4"]).json();
    assert_eq!(
        j["contents"]["items"],
        serde_json::json!([{"index": 2, "value": -1}, {"index": 3, "value": 0}])
    );
    assert_eq!(j["contents"]["total"], 7);
    // A wrong --type is an error naming the sizes.
    let r = run(&["get", &seg.name, "counts", "--type", "i32"]);
    assert_eq!(r.code, 1);
    assert!(
        r.err.contains("4 bytes") || r.err.contains("i32"),
        "{}",
        r.err
    );
    let r = run(&["get", &seg.name, "nope"]);
    assert_eq!(r.code, 1);
    assert!(r.err.contains("no structure named \"nope\""), "{}", r.err);
}
