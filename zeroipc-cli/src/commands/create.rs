//! `zeroipc create`.

use crate::inspect::source::display_name;
use crate::output::{self as render, emit_json, out_err};
use crate::{CliError, Global, EXIT_OK};
use serde::Serialize;
use std::io::Write;

/// `zeroipc create SEG --size S [--entries N] [--mode M]`.
pub fn create(
    seg: &str,
    size: u64,
    entries: u32,
    mode: u32,
    g: &Global,
    out: &mut dyn Write,
) -> Result<i32, CliError> {
    let name = display_name(seg)?;
    let r = zeroipc::SegmentOptions::new()
        .size(size)
        .max_entries(entries)
        .mode(mode)
        .create(&name);
    match r {
        Ok(s) => {
            if g.json {
                #[derive(Serialize)]
                struct Cr {
                    created: String,
                    size: u64,
                    max_entries: u32,
                    mode: String,
                }
                emit_json(
                    out,
                    &Cr {
                        created: name,
                        size: s.size(),
                        max_entries: s.max_entries(),
                        mode: format!("{mode:04o}"),
                    },
                )?;
            } else {
                writeln!(
                    out,
                    "created {name}: {}, {} entries, mode {mode:04o}",
                    render::size(s.size()),
                    s.max_entries()
                )
                .map_err(out_err)?;
            }
            Ok(EXIT_OK)
        }
        Err(e @ zeroipc::Error::SegmentExists { .. }) => Err(CliError::problem(e.to_string())),
        Err(
            e @ (zeroipc::Error::SegmentTooSmall { .. } | zeroipc::Error::InvalidParameter { .. }),
        ) => Err(CliError::usage(e.to_string())),
        Err(e) => Err(CliError::io(e.to_string())),
    }
}
