//! The `__schema` entry of segments created from a zeroipc-gen schema:
//! 8-byte magic `ZIPCSCHM`, u64 fingerprint, u64 text length, UTF-8 text
//! (the canonical schema). The inspector takes structure kinds and element
//! types from it, so such segments need no guessing and no `--type`.

use super::decode::{Kind, Types};
use super::source::View;

/// Name of the schema entry.
pub const ENTRY: &str = "__schema";
/// Magic at the start of the entry.
pub const MAGIC: &[u8; 8] = b"ZIPCSCHM";

/// The entry's header and text.
#[derive(Debug, Clone)]
pub struct SchemaHeader {
    /// Schema fingerprint.
    pub fingerprint: u64,
    /// Text length in bytes.
    pub text_len: u64,
    /// The canonical schema text.
    pub text: String,
}

/// Reads and checks the entry (magic, length within the entry, UTF-8).
pub fn read_header(v: &View) -> Result<SchemaHeader, String> {
    if v.bytes(0, 8)? != MAGIC {
        return Err("schema entry does not start with ZIPCSCHM".to_owned());
    }
    let fingerprint = v.u64(8)?;
    let text_len = v.u64(16)?;
    if text_len > v.size - 24 {
        return Err(format!(
            "schema text length {text_len} exceeds the entry's {} bytes",
            v.size - 24
        ));
    }
    let text = String::from_utf8(v.bytes(24, text_len)?)
        .map_err(|e| format!("schema text is not UTF-8: {e}"))?;
    Ok(SchemaHeader {
        fingerprint,
        text_len,
        text,
    })
}

/// One structure the schema declares.
#[derive(Debug, Clone)]
pub struct SchemaStructure {
    /// Structure (base) name.
    pub name: String,
    /// Its kind.
    pub kind: Kind,
    /// Its element/key/value types.
    pub types: Types,
}

/// The structures a schema text declares, or why they cannot be read.
pub fn structures(text: &str) -> Result<Vec<SchemaStructure>, String> {
    let _ = text;
    Err("this build cannot decode schema texts yet (zeroipc-gen schema_entry missing); kinds are guessed".to_owned())
}
