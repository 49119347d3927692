//! Human output helpers: sizes, aligned tables, hex dumps. Plain text only:
//! no colour and no terminal state, so nothing leaks from one command's
//! formatting into the next (the reference CLI's iostream bug).

use crate::error::CliError;
use crate::inspect::classify::Structure;
use crate::inspect::decode;
use crate::inspect::waiters::Sleepers;
use serde::Serialize;
use std::io::Write;

/// The error for a failed write to the output.
pub fn out_err(e: std::io::Error) -> CliError {
    CliError::io(format!("writing output: {e}"))
}

/// Writes `v` as pretty JSON and a newline (every `--json` output).
pub fn emit_json<T: Serialize>(out: &mut dyn Write, v: &T) -> Result<(), CliError> {
    serde_json::to_writer_pretty(&mut *out, v).map_err(|e| CliError::io(e.to_string()))?;
    writeln!(out).map_err(out_err)
}

/// A structure as `show` and `get` report it.
#[derive(Debug, Clone, Serialize)]
pub struct StructureReport {
    /// Base name.
    pub name: String,
    /// Kind (without `?`).
    pub kind: &'static str,
    /// False when the kind is a guess.
    pub certain: bool,
    /// Other kinds the bytes fit, when guessed.
    pub alternatives: Vec<&'static str>,
    /// Where the kind comes from: `schema`, `names`, `self-description`,
    /// `waiter-registry`, `header`, `option`.
    pub basis: &'static str,
    /// Offset of its first entry.
    pub offset: u64,
    /// Total bytes of its entries.
    pub size: u64,
    /// Its entries.
    pub parts: Vec<PartReport>,
    /// Element size in bytes (map: slot stride).
    pub elem_size: Option<u64>,
    /// Element capacity.
    pub capacity: Option<u64>,
    /// Items in use.
    pub fill: Option<u64>,
    /// Value type used (`i32`, `i32 -> f64` for maps).
    #[serde(rename = "type")]
    pub type_: Option<String>,
    /// True when the value type was guessed from a size.
    pub type_guessed: bool,
    /// One-line state.
    pub summary: String,
    /// Decoding error (the structure does not fit its kind).
    pub error: Option<String>,
    /// Its sleeper counts in the segment's waiter registry (absent when the
    /// segment has no valid registry, or no slot for it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sleepers: Option<Sleepers>,
}

/// One table entry of a structure.
#[derive(Debug, Clone, Serialize)]
pub struct PartReport {
    /// Role in the structure (`main`, `header`, `buffer`, `sem`, ...).
    pub role: &'static str,
    /// Entry name.
    pub name: String,
    /// Offset in the segment.
    pub offset: u64,
    /// Entry size.
    pub size: u64,
}

/// The report of structure `s`, decoded as `d` (or the decoding error).
pub fn structure_report(s: &Structure, d: Result<&decode::Decoded, &String>) -> StructureReport {
    let (elem_size, capacity, fill, type_, type_guessed, summary, error) = match d {
        Ok(d) => (
            d.elem_size,
            d.capacity,
            d.fill,
            d.type_desc.clone(),
            d.type_guessed,
            d.summary.clone(),
            None,
        ),
        Err(e) => (
            None,
            None,
            None,
            None,
            false,
            String::new(),
            Some(e.clone()),
        ),
    };
    StructureReport {
        name: s.name.clone(),
        kind: s.kind.name(),
        certain: s.certain,
        alternatives: if s.certain {
            Vec::new()
        } else {
            s.alternatives.iter().map(|k| k.name()).collect()
        },
        basis: s.basis,
        offset: s.offset(),
        size: s.size(),
        parts: s
            .parts
            .iter()
            .zip(&s.entries)
            .map(|((role, _), e)| PartReport {
                role,
                name: e.name.clone(),
                offset: e.offset,
                size: e.size,
            })
            .collect(),
        elem_size,
        capacity,
        fill,
        type_,
        type_guessed,
        summary,
        error,
        sleepers: None,
    }
}

/// Sleeper counts as `show` and `get` print them.
///
/// ```
/// use zeroipc_cli::inspect::waiters::Sleepers;
/// let s = Sleepers { items: 1, room: 0 };
/// assert_eq!(zeroipc_cli::output::sleepers_text(&s), "1 asleep waiting for an item, 0 waiting for room");
/// ```
pub fn sleepers_text(s: &Sleepers) -> String {
    format!(
        "{} asleep waiting for an item, {} waiting for room",
        s.items, s.room
    )
}

/// An offset as `show` and `dump` print it: `0xc20`.
pub fn hex_off(o: u64) -> String {
    format!("{o:#x}")
}

/// `512 B`, `8.0 KiB`, `1.5 MiB`, `2.0 GiB`.
pub fn size(n: u64) -> String {
    const K: f64 = 1024.0;
    let x = n as f64;
    if n < 1024 {
        format!("{n} B")
    } else if x < K * K {
        format!("{:.1} KiB", x / K)
    } else if x < K * K * K {
        format!("{:.1} MiB", x / (K * K))
    } else {
        format!("{:.1} GiB", x / (K * K * K))
    }
}

/// Parses `4096`, `64K`, `64KiB`, `1M`, `1MiB`, `1.5MiB`, `2G`, `2GiB`, `512B`
/// (binary units; `KB`/`MB`/`GB` also mean 1024-based).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        u => {
            return Err(format!(
                "unknown size unit {u:?} in {s:?} (use B, KiB, MiB or GiB)"
            ))
        }
    };
    let bad = || format!("bad size {s:?} (examples: 4096, 64KiB, 1MiB, 1.5GiB)");
    if num.contains('.') {
        let v: f64 = num.parse().map_err(|_| bad())?;
        let bytes = v * mult as f64;
        if !(bytes.is_finite() && bytes >= 0.0 && bytes < u64::MAX as f64) || bytes.fract() != 0.0 {
            return Err(bad());
        }
        Ok(bytes as u64)
    } else {
        num.parse::<u64>()
            .ok()
            .and_then(|v| v.checked_mul(mult))
            .ok_or_else(bad)
    }
}

/// Parses a byte count or offset: decimal (`3104`) or hex (`0xc20`, as
/// `show` and `dump` print offsets); `_` may separate digits.
///
/// ```
/// use zeroipc_cli::output::parse_number;
/// assert_eq!(parse_number("0xc20"), Ok(3104));
/// assert_eq!(parse_number("3104"), Ok(3104));
/// assert!(parse_number("-1").unwrap_err().contains("hex like 0xc20"));
/// ```
pub fn parse_number(s: &str) -> Result<u64, String> {
    let t = s.trim().replace('_', "");
    let bad = || format!("bad number {s:?} (decimal like 3104, or hex like 0xc20)");
    if t.contains(['+', '-']) {
        return Err(bad());
    }
    let parsed = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => t.parse::<u64>(),
    };
    parsed.map_err(|_| bad())
}

/// Parses an item range: `A..B`, `A..=B`, `A..`, `..B`, or a single `A`.
pub fn parse_range(s: &str) -> Result<(u64, u64), String> {
    let bad = || format!("bad range {s:?} (examples: 5, 0..10, 10.., ..4, 2..=3)");
    let num = |x: &str| -> Result<u64, String> { x.trim().parse::<u64>().map_err(|_| bad()) };
    if let Some((a, b)) = s.split_once("..") {
        let a = if a.trim().is_empty() { 0 } else { num(a)? };
        let b = if let Some(b) = b.strip_prefix('=') {
            num(b)?.checked_add(1).ok_or_else(bad)?
        } else if b.trim().is_empty() {
            u64::MAX
        } else {
            num(b)?
        };
        if b < a {
            return Err(bad());
        }
        Ok((a, b))
    } else {
        let a = num(s)?;
        Ok((a, a.saturating_add(1)))
    }
}

/// Widest a table cell of free text (a FILL summary) is shown; longer text
/// is cut with `...` (a signal holding a record would otherwise print
/// hundreds of characters). JSON output keeps the full text.
pub(crate) const CELL_MAX: usize = 40;

/// `text`, or its first characters and `...` when longer than `max`
/// characters.
pub(crate) fn ellipsis(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let keep: String = text.chars().take(max.saturating_sub(3)).collect();
    format!("{}...", keep.trim_end())
}

/// Left-aligned columns separated by two spaces; trailing spaces trimmed.
pub fn table(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut w = vec![0usize; cols];
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.chars().count());
        }
    }
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (i, c) in r.iter().enumerate() {
            line.push_str(c);
            if i + 1 < r.len() {
                let pad = w[i] - c.chars().count() + 2;
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// 16 bytes a line: offset (8 hex digits, from `base`), the bytes in two
/// groups of 8, then the printable ASCII between bars (`.` for the rest).
pub fn hexdump(bytes: &[u8], base: u64) -> String {
    let mut out = String::new();
    for (n, chunk) in bytes.chunks(16).enumerate() {
        let mut line = format!("{:08x} ", base + 16 * n as u64);
        for i in 0..16 {
            if i == 8 {
                line.push(' ');
            }
            match chunk.get(i) {
                Some(b) => line.push_str(&format!(" {b:02x}")),
                None => line.push_str("   "),
            }
        }
        line.push_str("  |");
        for &b in chunk {
            line.push(if (0x20..0x7f).contains(&b) {
                b as char
            } else {
                '.'
            });
        }
        line.push('|');
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(size(0), "0 B");
        assert_eq!(size(1023), "1023 B");
        assert_eq!(size(8192), "8.0 KiB");
        assert_eq!(size(1 << 20), "1.0 MiB");
        assert_eq!(size(3 << 29), "1.5 GiB");
        assert_eq!(parse_size("1MiB").unwrap(), 1 << 20);
        assert_eq!(parse_size("64K").unwrap(), 65536);
        assert_eq!(parse_size("1.5 MiB").unwrap(), 1572864);
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert!(parse_size("1 parsec").is_err());
        assert!(parse_size("99999999999999999999G").is_err());
        assert_eq!(parse_range("2..5").unwrap(), (2, 5));
        assert_eq!(parse_range("2..=5").unwrap(), (2, 6));
        assert_eq!(parse_range("7").unwrap(), (7, 8));
        assert_eq!(parse_range("..3").unwrap(), (0, 3));
        assert!(parse_range("5..2").is_err());
        assert_eq!(parse_number("0xc20").unwrap(), 0xc20);
        assert_eq!(parse_number("0XFF").unwrap(), 255);
        assert_eq!(parse_number("3104").unwrap(), 3104);
        assert_eq!(parse_number("1_000").unwrap(), 1000);
        assert!(parse_number("0x").is_err());
        assert!(parse_number("-1").is_err());
        assert!(parse_number("c20").is_err());
        assert!(parse_number("0x+5").is_err());
        assert_eq!(ellipsis("short", 40), "short");
        let long = "version 2, value {id: 1, name: \"abcdefghijklmnopqrstuvwxyz\"}";
        let cut = ellipsis(long, 40);
        assert_eq!(cut.chars().count(), 40);
        assert!(
            cut.ends_with("...") && long.starts_with(&cut[..37]),
            "{cut}"
        );
        assert_eq!(
            ellipsis(&"é".repeat(50), 10),
            format!("{}...", "é".repeat(7))
        );
    }

    #[test]
    fn dump_layout() {
        let d = hexdump(b"ABCDEFGHIJKLMNOPQ\x00", 0x10);
        assert_eq!(
            d,
            "00000010  41 42 43 44 45 46 47 48  49 4a 4b 4c 4d 4e 4f 50  |ABCDEFGHIJKLMNOP|\n\
             00000020  51 00                                             |Q.|\n"
        );
        assert_eq!(
            table(&[
                vec!["a".into(), "bb".into()],
                vec!["ccc".into(), "d".into()]
            ]),
            "a    bb\nccc  d\n"
        );
    }
}
