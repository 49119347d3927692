//! `zeroipc watch`.

use super::{find_structure, Fields};
use crate::inspect::classify::classify;
use crate::inspect::decode::Kind;
use crate::inspect::source::Image;
use crate::inspect::value::Value;
use crate::inspect::waiters::{self, Sleepers};
use crate::output::out_err;
use crate::{CliError, Global, EXIT_OK};
use serde::Serialize;
use std::io::Write;
use std::time::{Duration, Instant};

/// `zeroipc watch SEG NAME`: one line per sample (`count` samples, or until
/// interrupted), `interval` apart; with the structure's sleeper counts when
/// the segment has a valid waiter registry.
pub fn watch(
    seg: &str,
    name: &str,
    count: Option<u64>,
    interval: Duration,
    g: &Global,
    out: &mut dyn Write,
) -> Result<i32, CliError> {
    let img = Image::open(seg, g.no_map)?;
    let mut c = classify(&img.entries, &img, g.named()?.as_ref());
    let (st, _) = find_structure(&mut c, name).ok_or_else(|| {
        CliError::problem(format!("segment {}: no structure named {name:?}", img.name))
    })?;
    // The registry's view, read again at every sample.
    let registry = c
        .structures
        .iter()
        .find(|s| s.kind == Kind::WaiterRegistry)
        .map(|s| &s.parts[0].1);
    let sleepers = || -> Option<Sleepers> {
        let r = waiters::read(registry?).ok()?;
        r.sleepers(&st.entries)
    };
    let start = Instant::now();
    let mut n = 0u64;
    loop {
        let t = start.elapsed().as_secs_f64();
        let asleep = sleepers();
        let line = match st.decode(None, false) {
            Ok(d) => {
                if g.json {
                    #[derive(Serialize)]
                    struct W<'a> {
                        t: f64,
                        name: &'a str,
                        kind: &'static str,
                        certain: bool,
                        fill: Option<u64>,
                        capacity: Option<u64>,
                        summary: &'a str,
                        fields: Fields<'a>,
                        #[serde(skip_serializing_if = "Option::is_none")]
                        sleepers: Option<Sleepers>,
                    }
                    serde_json::to_string(&W {
                        t: (t * 1000.0).round() / 1000.0,
                        name: &st.name,
                        kind: st.kind.name(),
                        certain: st.certain,
                        fill: d.fill,
                        capacity: d.capacity,
                        summary: &d.summary,
                        fields: Fields(&d.fields),
                        sleepers: asleep,
                    })
                    .map_err(|e| CliError::io(e.to_string()))?
                } else {
                    let fields: Vec<String> = d
                        .fields
                        .iter()
                        .filter(|(_, v)| !matches!(v, Value::Record(_) | Value::List(_)))
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect();
                    let asleep = asleep
                        .map(|x| format!("  asleep: {} for an item, {} for room", x.items, x.room))
                        .unwrap_or_default();
                    format!(
                        "{t:8.2}s  {}  {}  {}  [{}]{asleep}",
                        st.name,
                        st.kind_label(),
                        d.summary,
                        fields.join(" ")
                    )
                }
            }
            Err(e) => format!("{t:8.2}s  {}  error: {e}", st.name),
        };
        writeln!(out, "{line}").map_err(out_err)?;
        out.flush().map_err(out_err)?;
        n += 1;
        if count.is_some_and(|c| n >= c) {
            return Ok(EXIT_OK);
        }
        std::thread::sleep(interval);
    }
}
