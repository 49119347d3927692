//! Reading segments for inspection, without changing anything.
//!
//! Two backings give the same [`View`] of a table entry's bytes:
//!
//! * **mapped**: [`zeroipc::Segment::open`] (with `allow_foreign_owner`), so
//!   the runtime validates the table exactly as a program would, and entry
//!   bytes are copied out through [`zeroipc::region::Region`];
//! * **file**: the object opened read-only (`O_RDONLY | O_NOFOLLOW |
//!   O_NONBLOCK`) and read with `pread`; used by `list` and `check` (which
//!   must look at tables the runtime refuses), when the segment cannot be
//!   opened for writing (another user's `0644` object), and with `--no-map`.
//!
//! Nothing here writes to a segment, takes a lock another process could
//! wait on for long, or trusts a value read from it: every read is bounds
//! checked against the entry (or the file) and fails with a message.

use crate::{CliError, Problem};
use std::fs::{File, Metadata, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::PathBuf;
use std::sync::Arc;
use zeroipc::format::table::{self, table_bytes, ENTRY_SIZE, HEADER_SIZE, MAGIC, NAME_FIELD};
use zeroipc::region::Region;
use zeroipc::segment::{normalize_name, SHM_DIR};
use zeroipc::{Segment, SegmentOptions};

/// The 32-byte table header as read (not validated): the catalogue's
/// [`table::TableHeader`] in the shape `show --json` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Header {
    /// `0x5A49504D` when valid.
    pub magic: u32,
    /// `2` when valid.
    pub version: u32,
    /// Entries in use.
    pub entry_count: u32,
    /// Entry slots.
    pub max_entries: u32,
    /// Segment size recorded by the creator.
    pub memory_size: u64,
    /// End of the last allocation (unaligned).
    pub next_offset: u64,
}

impl From<table::TableHeader> for Header {
    fn from(h: table::TableHeader) -> Header {
        Header {
            magic: h.magic,
            version: h.version,
            entry_count: h.entry_count,
            max_entries: h.max_entries,
            memory_size: h.memory_size,
            next_offset: h.next_offset,
        }
    }
}

impl From<Header> for table::TableHeader {
    fn from(h: Header) -> table::TableHeader {
        table::TableHeader {
            magic: h.magic,
            version: h.version,
            entry_count: h.entry_count,
            max_entries: h.max_entries,
            memory_size: h.memory_size,
            next_offset: h.next_offset,
        }
    }
}

/// One table entry in use (validated when it comes from an [`Image`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryInfo {
    /// Slot index in the table.
    pub index: u32,
    /// Name.
    pub name: String,
    /// Offset from the segment start.
    pub offset: u64,
    /// Registered size.
    pub size: u64,
}

/// `/name` for a user-given segment name (leading slash optional).
pub fn display_name(name: &str) -> Result<String, CliError> {
    normalize_name(name)
        .map(|n| format!("/{n}"))
        .map_err(|e| CliError::usage(e.to_string()))
}

/// `/dev/shm/<name>`.
pub fn path_of(name: &str) -> Result<PathBuf, CliError> {
    let n = normalize_name(name).map_err(|e| CliError::usage(e.to_string()))?;
    Ok(PathBuf::from(SHM_DIR).join(n))
}

/// Opens the object read-only without following a symlink or blocking on a
/// FIFO, and checks it is a regular file.
pub fn open_readonly(path: &std::path::Path) -> io::Result<(File, Metadata)> {
    let f = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)?;
    let m = f.metadata()?;
    if !m.file_type().is_file() {
        return Err(io::Error::other("not a regular file"));
    }
    Ok((f, m))
}

/// What `list` and `check` see of a file: the header and the raw entries in
/// use (as many of them as lie inside the file), not validated.
#[derive(Debug, Clone)]
pub struct RawTable {
    /// File size in bytes.
    pub file_size: u64,
    /// The header, when the file has 32 bytes.
    pub header: Option<Header>,
    /// Raw entries `0 .. min(entry_count, max_entries)` that fit in the file.
    pub entries: Vec<([u8; NAME_FIELD], u64, u64)>,
}

/// Reads the header and the entries in use with `pread`.
pub fn read_raw_table(f: &File, file_size: u64) -> io::Result<RawTable> {
    let mut raw = RawTable {
        file_size,
        header: None,
        entries: Vec::new(),
    };
    if file_size < HEADER_SIZE {
        return Ok(raw);
    }
    let mut hb = [0u8; 32];
    f.read_exact_at(&mut hb, 0)?;
    let h = Header::from(table::TableHeader::from_bytes(&hb));
    raw.header = Some(h);
    if h.magic != MAGIC {
        return Ok(raw);
    }
    let fit = (file_size - HEADER_SIZE) / ENTRY_SIZE;
    let n = u64::from(h.entry_count.min(h.max_entries)).min(fit);
    let mut buf = vec![0u8; (n * ENTRY_SIZE) as usize];
    f.read_exact_at(&mut buf, HEADER_SIZE)?;
    for e in buf.chunks_exact(ENTRY_SIZE as usize) {
        let e: &[u8; ENTRY_SIZE as usize] = e.try_into().expect("chunks of ENTRY_SIZE");
        let e = table::RawEntry::from_bytes(e);
        raw.entries.push((e.name, e.offset, e.size));
    }
    Ok(raw)
}

fn problem(check: &'static str, detail: String) -> Problem {
    Problem {
        structure: None,
        check,
        detail,
    }
}

/// Every table problem of a segment (the runtime's one collecting
/// validator, `zeroipc::format::table::validate`: the §2.6 checks the
/// runtime refuses a segment for, then the consistency checks it does not
/// make), and the entries that passed their own checks.
pub fn table_problems(raw: &RawTable) -> (Vec<Problem>, Vec<EntryInfo>) {
    let report = match validate_raw(raw) {
        Ok(report) => report,
        Err(p) => return (vec![p], Vec::new()),
    };
    let problems = report
        .problems
        .into_iter()
        .map(|p| problem(p.check, p.detail))
        .collect();
    let good = report
        .entries
        .into_iter()
        .map(|(index, e)| EntryInfo {
            index,
            name: e.name,
            offset: e.offset,
            size: e.size,
        })
        .collect();
    (problems, good)
}

/// The first problem for which the runtime refuses the segment
/// ([`table::Level::Invalid`]); the consistency problems `check` also
/// reports do not count.
pub fn table_refusal(raw: &RawTable) -> Option<Problem> {
    match validate_raw(raw) {
        Err(p) => Some(p),
        Ok(report) => report
            .problems
            .into_iter()
            .find(|p| p.level == table::Level::Invalid)
            .map(|p| problem(p.check, p.detail)),
    }
}

/// The collecting validator over a raw table; a file too short for the
/// header is the one problem then.
fn validate_raw(raw: &RawTable) -> Result<table::TableReport, Problem> {
    let Some(h) = raw.header else {
        let len = raw.file_size;
        let detail = if len == 0 {
            "empty file (0 bytes)".to_owned()
        } else {
            format!("segment is {len} bytes, the header needs {HEADER_SIZE}")
        };
        return Err(problem("header fits", detail));
    };
    let entries: Vec<table::RawEntry> = raw
        .entries
        .iter()
        .map(|&(name, offset, size)| table::RawEntry { name, offset, size })
        .collect();
    Ok(table::validate(
        &table::TableHeader::from(h),
        &entries,
        raw.file_size,
    ))
}

enum Src {
    /// An entry of a segment the runtime mapped, with that segment (the
    /// raw core opens structures through it).
    Region(Region, Segment),
    File(Arc<File>, u64),
    Mem(Arc<Vec<u8>>, u64),
}

/// A bounds-checked read-only window on one entry's bytes.
pub struct View {
    /// Entry name.
    pub name: String,
    /// Offset of the entry in the segment.
    pub offset: u64,
    /// Entry size.
    pub size: u64,
    src: Src,
}

impl std::fmt::Debug for View {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "View({:?} @{} +{})", self.name, self.offset, self.size)
    }
}

impl View {
    /// A view over private bytes (tests, snapshots).
    pub fn from_bytes(name: &str, bytes: Vec<u8>) -> View {
        View {
            name: name.to_owned(),
            offset: 0,
            size: bytes.len() as u64,
            src: Src::Mem(Arc::new(bytes), 0),
        }
    }

    /// A view of `[offset, offset + size)` of a read-only file.
    pub fn from_file(name: &str, file: Arc<File>, offset: u64, size: u64) -> View {
        View {
            name: name.to_owned(),
            offset,
            size,
            src: Src::File(file, offset),
        }
    }

    /// The segment this entry was mapped from, when the runtime mapped it
    /// and the entry is the one a lookup of its name finds: the runtime's
    /// raw core (`zeroipc::raw`) can then open the structure by name.
    pub fn segment(&self) -> Option<&Segment> {
        match &self.src {
            Src::Region(_, seg) => Some(seg),
            _ => None,
        }
    }

    /// Copies `n` bytes at `off` (relative to the entry); an error when the
    /// range leaves the entry.
    pub fn bytes(&self, off: u64, n: u64) -> Result<Vec<u8>, String> {
        let end = off.checked_add(n).filter(|&e| e <= self.size);
        if end.is_none() {
            return Err(format!(
                "read of {n} bytes at +{off} is outside entry {:?} ({} bytes)",
                self.name, self.size
            ));
        }
        let mut buf = vec![0u8; n as usize];
        match &self.src {
            Src::Region(r, _) => r.read_bytes(off as usize, &mut buf),
            Src::File(f, base) => f.read_exact_at(&mut buf, base + off).map_err(|e| {
                format!(
                    "reading {n} bytes of {:?} at +{off}: {e} (did the segment shrink?)",
                    self.name
                )
            })?,
            Src::Mem(v, base) => {
                let s = (base + off) as usize;
                buf.copy_from_slice(
                    v.get(s..s + n as usize)
                        .ok_or_else(|| "snapshot too short".to_owned())?,
                );
            }
        }
        Ok(buf)
    }

    /// Little-endian u8 at `off`.
    pub fn u8(&self, off: u64) -> Result<u8, String> {
        Ok(self.bytes(off, 1)?[0])
    }

    /// Little-endian u32 at `off`.
    pub fn u32(&self, off: u64) -> Result<u32, String> {
        Ok(u32::from_le_bytes(
            self.bytes(off, 4)?.try_into().expect("4 bytes"),
        ))
    }

    /// Little-endian i32 at `off`.
    pub fn i32(&self, off: u64) -> Result<i32, String> {
        Ok(self.u32(off)? as i32)
    }

    /// Little-endian u64 at `off`.
    pub fn u64(&self, off: u64) -> Result<u64, String> {
        Ok(u64::from_le_bytes(
            self.bytes(off, 8)?.try_into().expect("8 bytes"),
        ))
    }
}

enum Backing {
    Mapped(Segment),
    File(Arc<File>),
}

/// An open segment with a valid table, ready to be decoded.
pub struct Image {
    /// `/name`.
    pub name: String,
    /// `/dev/shm/name`.
    pub path: PathBuf,
    /// File size.
    pub file_size: u64,
    /// Header as read at open.
    pub header: Header,
    /// Where the data area starts.
    pub data_start: u64,
    /// Entries in use, validated.
    pub entries: Vec<EntryInfo>,
    /// `"mapped"` or `"file"`.
    pub backing: &'static str,
    inner: Backing,
}

fn not_found(name: &str) -> CliError {
    CliError::io(format!("segment {name} does not exist"))
}

impl Image {
    /// Opens `name`: mapped through the runtime unless `no_map`, falling back
    /// to read-only file access when the object cannot be opened for writing.
    pub fn open(name: &str, no_map: bool) -> Result<Image, CliError> {
        let display = display_name(name)?;
        let path = path_of(name)?;
        if !no_map {
            match SegmentOptions::new()
                .allow_foreign_owner(true)
                .open(&display)
            {
                Ok(seg) => return Image::from_segment(display, path, seg),
                Err(zeroipc::Error::SegmentNotFound { .. }) => return Err(not_found(&display)),
                Err(zeroipc::Error::Io { source, .. })
                    if matches!(
                        source.kind(),
                        io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem
                    ) => {}
                Err(e @ zeroipc::Error::CorruptTable { .. }) => {
                    return Err(CliError::problem(format!(
                        "{e}\n(run `zeroipc check {display}` to list every problem)"
                    )))
                }
                Err(e) => return Err(CliError::io(e.to_string())),
            }
        }
        Image::open_file(display, path)
    }

    fn from_segment(name: String, path: PathBuf, seg: Segment) -> Result<Image, CliError> {
        let h = seg.header();
        let entries = seg
            .entries()
            .map_err(|e| CliError::problem(e.to_string()))?
            .into_iter()
            .enumerate()
            .map(|(i, e)| EntryInfo {
                index: i as u32,
                name: e.name,
                offset: e.offset,
                size: e.size,
            })
            .collect();
        let file_size = std::fs::symlink_metadata(&path)
            .map(|m| m.len())
            .unwrap_or(seg.size());
        Ok(Image {
            name,
            path,
            file_size,
            header: Header {
                magic: h.magic,
                version: h.version,
                entry_count: h.entry_count,
                max_entries: seg.max_entries(),
                memory_size: seg.size(),
                next_offset: h.next_offset,
            },
            data_start: seg.data_start(),
            entries,
            backing: "mapped",
            inner: Backing::Mapped(seg),
        })
    }

    fn open_file(name: String, path: PathBuf) -> Result<Image, CliError> {
        let (f, m) = match open_readonly(&path) {
            Ok(x) => x,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(not_found(&name)),
            Err(e) => return Err(CliError::io(format!("{}: {e}", path.display()))),
        };
        let raw = read_raw_table(&f, m.len())
            .map_err(|e| CliError::io(format!("{}: {e}", path.display())))?;
        // Only the checks the runtime makes on open refuse the segment.
        if let Some(p) = table_refusal(&raw) {
            return Err(CliError::problem(format!(
                "segment {name} is not a valid ZeroIPC v2 segment: {} failed ({})\n(run `zeroipc check {name}` to list every problem)",
                p.check, p.detail
            )));
        }
        let (_, entries) = table_problems(&raw);
        let header = raw.header.expect("validated");
        Ok(Image {
            name,
            path,
            file_size: m.len(),
            header,
            data_start: table_bytes(header.max_entries),
            entries,
            backing: "file",
            inner: Backing::File(Arc::new(f)),
        })
    }

    /// A view of one entry of this image.
    pub fn view(&self, e: &EntryInfo) -> Result<View, CliError> {
        let src = match &self.inner {
            Backing::Mapped(seg) => {
                let r = seg
                    .region(&e.name)
                    .map_err(|err| CliError::problem(err.to_string()))?;
                if r.offset() == e.offset && r.len() as u64 == e.size {
                    Src::Region(r, seg.clone())
                } else {
                    // A second entry with the same name: lookups by name find
                    // the first, so read this one from the file.
                    let f = open_readonly(&self.path)
                        .map_err(|err| CliError::io(format!("{}: {err}", self.path.display())))?
                        .0;
                    Src::File(Arc::new(f), e.offset)
                }
            }
            Backing::File(f) => Src::File(f.clone(), e.offset),
        };
        Ok(View {
            name: e.name.clone(),
            offset: e.offset,
            size: e.size,
            src,
        })
    }

    /// Reads `n` bytes at absolute offset `off` (bounded by the file).
    pub fn read_abs(&self, off: u64, n: u64) -> Result<Vec<u8>, CliError> {
        let end = off.checked_add(n).filter(|&e| e <= self.file_size);
        if end.is_none() {
            return Err(CliError::usage(format!(
                "range [{off}, +{n}) is outside the segment ({} bytes)",
                self.file_size
            )));
        }
        let mut buf = vec![0u8; n as usize];
        let f = match &self.inner {
            Backing::File(f) => f.clone(),
            Backing::Mapped(_) => Arc::new(
                open_readonly(&self.path)
                    .map_err(|e| CliError::io(format!("{}: {e}", self.path.display())))?
                    .0,
            ),
        };
        f.read_exact_at(&mut buf, off)
            .map_err(|e| CliError::io(format!("{}: {e}", self.path.display())))?;
        Ok(buf)
    }
}

/// Re-exported for the entry name length rule.
pub const MAX_NAME: usize = NAME_FIELD - 1;

/// The short `invalid:` text for a failed table check.
pub fn invalid_reason(p: &Problem) -> String {
    match p.check {
        "header fits" if p.detail.starts_with("empty") => "empty file".to_owned(),
        "header fits" => format!("too small for a header ({})", p.detail),
        "magic" => format!("bad magic ({})", p.detail),
        "version" => format!("unsupported version ({})", p.detail),
        c => format!("{c} failed ({})", p.detail),
    }
}
