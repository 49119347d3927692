//! `zeroipc`: inspect and operate ZeroIPC shared-memory segments.
//!
//! Argument parsing and dispatch only; the work is in
//! `zeroipc_cli::commands`. See `docs/CLI.md` for every command, the JSON
//! shapes and the exit codes.

use clap::{Parser, Subcommand};
use std::io::Write;
use std::time::Duration;
use zeroipc_cli::commands::{self, GetOptions};
use zeroipc_cli::output as render;
use zeroipc_cli::{CliError, Global, EXIT_OK, EXIT_USAGE};

/// Inspect and operate ZeroIPC shared-memory segments (/dev/shm).
///
/// Read commands never change a segment: contents are decoded from the
/// bytes (no pop, no consume). Exit codes: 0 ok (check: sound), 1 problems
/// found / invalid segment / no such structure / refused, 2 usage error,
/// missing segment or OS error.
#[derive(Parser, Debug)]
#[command(name = "zeroipc", version, about, long_about)]
struct Cli {
    /// Machine-readable JSON output (shapes in docs/CLI.md).
    #[arg(long, global = true)]
    json: bool,
    /// Read segments with pread on a read-only descriptor instead of
    /// mapping them through the runtime.
    #[arg(long, global = true)]
    no_map: bool,
    /// Schema file or folder (zeroipc-gen TOML): its records and enums
    /// decode the named types of a segment's `__schema` entry, and
    /// `get --record NAME` picks one of them as the element type.
    #[arg(long, global = true, value_name = "PATH")]
    schema: Option<std::path::PathBuf>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Every object in /dev/shm: size, version, entries, bytes used, or
    /// `invalid: <reason>`.
    List {
        /// Directory to list instead of /dev/shm.
        #[arg(long, hide = true)]
        dir: Option<std::path::PathBuf>,
    },
    /// Summary and the structure table (name, kind, offset, size, element
    /// size, capacity, type, fill). Guessed kinds end in `?`.
    Show {
        /// Segment name (`/name` or `name`).
        seg: String,
    },
    /// Decoded header, state and contents of one structure, read without
    /// changing anything.
    Get {
        /// Segment name.
        seg: String,
        /// Structure name (or one of its entries, e.g. `ch_buffer`).
        name: String,
        /// Items to show: `A..B`, `A..=B`, `A..`, `..B` or `A` (array:
        /// indices; others: positions in the contents order).
        #[arg(long)]
        range: Option<String>,
        /// Show at most N items (0: all).
        #[arg(long, default_value_t = 1000)]
        limit: u64,
        /// Element type: i32, u64, f64, ..., `[T; N]`, `T[N]`, `str<N>`, `str[N]`,
        /// `bytes[N]`, `{field: T, ...}`; for maps `K,V`.
        #[arg(long = "type", value_name = "TYPE")]
        type_: Option<String>,
        /// Map key type.
        #[arg(long)]
        key: Option<String>,
        /// Map value type.
        #[arg(long)]
        value: Option<String>,
        /// Decode as this kind (array, queue, stack, map, set, pool, ring,
        /// semaphore, mutex, barrier, latch, once, event, rwlock, monitor,
        /// signal, future, lazy, stream, channel, stream_void).
        #[arg(long)]
        kind: Option<String>,
        /// Element type: a record or enum of the --schema files.
        #[arg(long)]
        record: Option<String>,
    },
    /// Hex dump, 16 bytes a line with ASCII: an entry, or the segment.
    Dump {
        /// Segment name.
        seg: String,
        /// Entry to dump (default: the whole segment from --offset).
        name: Option<String>,
        /// Bytes to show (0: all); decimal or hex (`0x100`).
        #[arg(long, default_value = "256", value_parser = parse_number)]
        bytes: u64,
        /// Start offset (relative to the entry when NAME is given); decimal
        /// or hex (`0xc20`, as `show` prints offsets).
        #[arg(long, default_value = "0", value_parser = parse_number)]
        offset: u64,
    },
    /// Every docs/FORMAT.md §2 table check and per-structure header/state
    /// checks: exit 0 when sound, 1 with one line per problem.
    Check {
        /// Segment name.
        seg: String,
    },
    /// Print a structure's counts/fill/version every interval until
    /// interrupted (or --count samples).
    Watch {
        /// Segment name.
        seg: String,
        /// Structure name.
        name: String,
        /// Stop after N samples.
        #[arg(long)]
        count: Option<u64>,
        /// Milliseconds between samples.
        #[arg(long, default_value_t = 1000)]
        interval: u64,
    },
    /// Create an empty segment (never replaces an existing one).
    Create {
        /// Segment name.
        seg: String,
        /// Size: 4096, 64KiB, 1MiB, 1.5GiB, ...
        #[arg(long)]
        size: String,
        /// Table slots.
        #[arg(long, default_value_t = 64)]
        entries: u32,
        /// Permission bits, octal.
        #[arg(long, default_value = "600")]
        mode: String,
    },
    /// Remove a segment; refuses a file that is not a valid segment
    /// unless --force.
    Rm {
        /// Segment name.
        seg: String,
        /// Remove even when it does not look like a ZeroIPC segment.
        #[arg(long)]
        force: bool,
    },
}

/// `--offset` / `--bytes`: decimal, or hex with `0x`.
fn parse_number(s: &str) -> Result<u64, String> {
    render::parse_number(s)
}

fn run(cli: Cli, out: &mut dyn Write) -> Result<i32, CliError> {
    let g = Global {
        json: cli.json,
        no_map: cli.no_map,
        schema: cli.schema,
    };
    match cli.cmd {
        Cmd::List { dir } => commands::list(dir.as_deref(), &g, out),
        Cmd::Show { seg } => commands::show(&seg, &g, out),
        Cmd::Get {
            seg,
            name,
            range,
            limit,
            type_,
            key,
            value,
            kind,
            record,
        } => {
            let range = range
                .map(|r| render::parse_range(&r))
                .transpose()
                .map_err(CliError::usage)?;
            let o = GetOptions {
                name,
                range,
                limit,
                type_,
                key,
                value,
                kind,
                record,
            };
            commands::get(&seg, &o, &g, out)
        }
        Cmd::Dump {
            seg,
            name,
            bytes,
            offset,
        } => commands::dump(&seg, name.as_deref(), bytes, offset, &g, out),
        Cmd::Check { seg } => commands::check(&seg, &g, out),
        Cmd::Watch {
            seg,
            name,
            count,
            interval,
        } => commands::watch(&seg, &name, count, Duration::from_millis(interval), &g, out),
        Cmd::Create {
            seg,
            size,
            entries,
            mode,
        } => {
            let size = render::parse_size(&size).map_err(CliError::usage)?;
            let mode = u32::from_str_radix(mode.trim_start_matches("0o"), 8)
                .ok()
                .filter(|m| *m <= 0o7777)
                .ok_or_else(|| CliError::usage(format!("bad mode {mode:?} (octal, e.g. 600)")))?;
            commands::create(&seg, size, entries, mode, &g, out)
        }
        Cmd::Rm { seg, force } => commands::rm(&seg, force, &g, out),
    }
}

/// Standard output that remembers a closed pipe (`zeroipc show | head`):
/// the command then stops at its next write, and the process exits 0
/// without a message, as Unix tools do. (Rust ignores SIGPIPE, so the
/// write returns `EPIPE` instead of killing the process.)
struct Stdout {
    inner: std::io::StdoutLock<'static>,
    closed: bool,
}

impl Stdout {
    fn new() -> Self {
        Stdout {
            inner: std::io::stdout().lock(),
            closed: false,
        }
    }

    /// Passes `r` on, remembering a closed pipe.
    fn note<T>(&mut self, r: std::io::Result<T>) -> std::io::Result<T> {
        if r.as_ref()
            .is_err_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
        {
            self.closed = true;
        }
        r
    }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let r = self.inner.write(buf);
        self.note(r)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let r = self.inner.flush();
        self.note(r)
    }
}

/// Parses the arguments; a usage error is printed in the documented form
/// `zeroipc: error: <message>` (clap's usage lines follow) and exits 2;
/// `--help` and `--version` print and exit 0.
fn parse_args() -> Cli {
    match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                let mut out = Stdout::new();
                // A closed pipe (`zeroipc --help | head -1`) is not an error.
                let _ = write!(out, "{}", e.render()).and_then(|()| out.flush());
                std::process::exit(0);
            }
            let text = e.render().to_string();
            if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                // `zeroipc` alone: clap's text is the help, not a message.
                eprint!("zeroipc: error: no command given\n\n{text}");
                std::process::exit(EXIT_USAGE);
            }
            let text = text.strip_prefix("error: ").unwrap_or(&text);
            eprint!("zeroipc: error: {text}");
            if !text.ends_with('\n') {
                eprintln!();
            }
            std::process::exit(EXIT_USAGE);
        }
    }
}

fn main() {
    let cli = parse_args();
    let mut out = Stdout::new();
    let result = run(cli, &mut out);
    // Whatever was written goes out before an error message. A failed
    // flush other than a closed pipe has no better place to be reported.
    let _ = out.flush();
    if out.closed {
        // The reader went away (`| head`): stop quietly, as Unix tools do.
        std::process::exit(EXIT_OK);
    }
    let code = match result {
        Ok(c) => c,
        Err(e) => {
            eprintln!("zeroipc: error: {}", e.message);
            e.code
        }
    };
    std::process::exit(if code == 0 || code == 1 {
        code
    } else {
        EXIT_USAGE.max(code)
    });
}
