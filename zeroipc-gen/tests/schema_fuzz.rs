//! The compiler never panics: the example schemas with random byte and
//! token mutations (deterministic, seeded), and a list of nasty inputs,
//! all compile to diagnostics or outputs, never to a panic.

use std::path::Path;
use zeroipc_gen::schema::output::{generate, Lang};
use zeroipc_gen::schema::{compile, read_sources, Source};

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const TOKENS: &[&str] = &[
    "0",
    "-1",
    "4294967296",
    "18446744073709551615",
    "\"\"",
    "\"é\"",
    "[",
    "]",
    "{",
    "}",
    "=",
    ",",
    "\"u8[0]\"",
    "\"str<0>\"",
    "\"Reading[99999999999]\"",
    "\"x.y.z\"",
    "type",
    "kind",
    "name",
    "capacity",
    "\"queue\"",
    "\"__schema\"",
    "1e400",
    "nan",
    "true",
    "1979-05-27",
    "\n",
    "#",
    "\"common.Vec3\"",
    "\"f64[4][4][4][4][4][4][4][4]\"",
    "pad = 7",
    "align = 64",
];

fn check(sources: Vec<Source>) {
    let c = compile(sources);
    let _ = c.render_diagnostics();
    if !c.has_errors() {
        let _ = generate(&c, &[Lang::Rust, Lang::Python, Lang::Cpp]);
    }
}

#[test]
fn mutated_schemas_never_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let base = read_sources(&root.join("schemas")).unwrap();
    let mut rng = Lcg(0x5eed);
    for _ in 0..2000 {
        let mut sources = base.clone();
        let k = rng.below(sources.len());
        let mut text = sources[k].text.clone().into_bytes();
        for _ in 0..1 + rng.below(4) {
            let pos = rng.below(text.len() + 1);
            match rng.below(3) {
                0 if !text.is_empty() => {
                    let end = (pos + 1 + rng.below(8)).min(text.len());
                    text.drain(pos.min(end)..end);
                }
                1 => {
                    let t = TOKENS[rng.below(TOKENS.len())].as_bytes();
                    text.splice(pos..pos, t.iter().copied());
                }
                _ => {
                    if pos < text.len() {
                        const ALPHABET: &[u8] = b" \"[]{}=,.<>0123456789azAZ_\n#\\";
                        text[pos] = ALPHABET[rng.below(ALPHABET.len())];
                    }
                }
            }
        }
        sources[k].text = String::from_utf8_lossy(&text).into_owned();
        check(sources);
    }
}

#[test]
fn nasty_inputs_never_panic() {
    let cases = [
        "",
        "=",
        "[records.R]\nfields = [{ name = \"a\", type = \"f32é\" }]",
        "[records.R]\nfields = [{ name = \"a\", type = \"\" }]",
        "[records.R]\nfields = [{ name = \"a\", type = \"u8[\" }]",
        "[records.R]\nfields = [{ name = \"a\", type = \"str<\" }]",
        "[records.R]\nfields = [{ name = \"a\", type = \"u8[18446744073709551615]\" }]",
        "[records.R]\nfields = [{ name = \"a\", type = \"u64[4611686018427387904]\" }]",
        "[records.R]\nfields = \"nope\"",
        "[records.R]\nfields = [1, 2]",
        "records = 3",
        "[segments.S]\nstructures = [{ name = \"a\", kind = \"array\", type = \"u8\", capacity = 9223372036854775807 }]",
        "[segments.S]\nsize = 1\nstructures = []",
        "[segments.S]\nmax_entries = 0\nstructures = []",
        "[segments.S]\nstructures = [{ name = \"q\", kind = \"queue\", type = \"u8\", capacity = 4294967295 }]",
        "[segments.S]\nstructures = [{ name = \"é\", kind = \"once\" }]",
        "[enums.E]\nrepr = \"u64\"\nvalues = [{ name = \"A\", value = -9223372036854775808 }]",
        "[enums.E]\nrepr = \"i64\"\nvalues = [{ name = \"A\", value = 9223372036854775807 }, \"B\"]",
        "[constants]\nX = { value = 1.5, type = \"u8\" }",
        "[constants]\nX = []",
        "namespace = \"\"",
        "[records.A]\nfields = [{ name = \"b\", type = \"B\" }]\n[records.B]\nfields = [{ name = \"c\", type = \"C\" }]\n[records.C]\nfields = [{ name = \"a\", type = \"A[2]\" }]",
    ];
    for (i, c) in cases.iter().enumerate() {
        check(vec![Source::new(format!("case{i}.toml"), *c)]);
    }
}
