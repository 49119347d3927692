//! The `__schema` table entry that a segment created by generated code
//! carries: which schema it was built from.
//!
//! Layout (little-endian), entry size `24 + text length`:
//!
//! | off | size | field |
//! |---|---|---|
//! | 0 | 8 | magic `ZIPCSCHM` (ASCII) |
//! | 8 | 8 | schema fingerprint: FNV-1a 64 of the text |
//! | 16 | 8 | text length in bytes |
//! | 24 | len | canonical schema text, UTF-8 |
//!
//! The generated Rust registers it after every structure of the segment,
//! so its presence also says that creation finished. Generated code opens
//! a segment only if the stored fingerprint equals its own.
//!
//! ```
//! use zeroipc_gen::schema_entry::{decode, encode};
//! let bytes = encode("zeroipc-schema 1\nsegment S\n");
//! let e = decode(&bytes).unwrap();
//! assert_eq!(e.text, "zeroipc-schema 1\nsegment S\n");
//! assert_eq!(e.fingerprint, zeroipc_gen::schema::fnv1a64(e.text.as_bytes()));
//! ```

/// The table entry name.
pub const ENTRY_NAME: &str = "__schema";
/// The 8 magic bytes.
pub const MAGIC: [u8; 8] = *b"ZIPCSCHM";
/// Bytes before the text.
pub const HEADER_LEN: usize = 24;

/// A decoded `__schema` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaEntry {
    /// The stored fingerprint.
    pub fingerprint: u64,
    /// The stored canonical text.
    pub text: String,
    /// Whether the fingerprint equals FNV-1a 64 of the text.
    pub consistent: bool,
}

/// Why an entry could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Fewer than 24 bytes.
    #[error("__schema entry is {0} bytes, shorter than its 24-byte header")]
    TooShort(usize),
    /// Wrong magic.
    #[error("__schema entry has magic {0:02x?}, expected \"ZIPCSCHM\"")]
    BadMagic([u8; 8]),
    /// The length field points past the entry.
    #[error("__schema text length {len} does not fit in the {available} bytes after the header")]
    BadLength {
        /// Stored length.
        len: u64,
        /// Bytes available.
        available: usize,
    },
    /// The text is not UTF-8.
    #[error("__schema text is not valid UTF-8")]
    NotUtf8,
}

/// The entry bytes for `text`.
pub fn encode(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + text.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&crate::schema::fnv1a64(text.as_bytes()).to_le_bytes());
    out.extend_from_slice(&(text.len() as u64).to_le_bytes());
    out.extend_from_slice(text.as_bytes());
    out
}

/// Decodes entry bytes (the whole entry as registered).
pub fn decode(bytes: &[u8]) -> Result<SchemaEntry, DecodeError> {
    if bytes.len() < HEADER_LEN {
        return Err(DecodeError::TooShort(bytes.len()));
    }
    let magic: [u8; 8] = bytes[0..8].try_into().expect("8 bytes");
    if magic != MAGIC {
        return Err(DecodeError::BadMagic(magic));
    }
    let fingerprint = u64::from_le_bytes(bytes[8..16].try_into().expect("8 bytes"));
    let len = u64::from_le_bytes(bytes[16..24].try_into().expect("8 bytes"));
    let available = bytes.len() - HEADER_LEN;
    if len > available as u64 {
        return Err(DecodeError::BadLength { len, available });
    }
    let text = std::str::from_utf8(&bytes[HEADER_LEN..HEADER_LEN + len as usize])
        .map_err(|_| DecodeError::NotUtf8)?
        .to_owned();
    let consistent = crate::schema::fnv1a64(text.as_bytes()) == fingerprint;
    Ok(SchemaEntry {
        fingerprint,
        text,
        consistent,
    })
}

/// Reads and decodes the `__schema` entry of an open segment; `Ok(None)`
/// when the segment has none (not created by generated code).
pub fn read(seg: &zeroipc::Segment) -> zeroipc::Result<Option<Result<SchemaEntry, DecodeError>>> {
    let Some(e) = seg.find(ENTRY_NAME)? else {
        return Ok(None);
    };
    let region = seg.region(&e.name)?;
    let mut buf = vec![0u8; region.len()];
    region.read_bytes(0, &mut buf);
    Ok(Some(decode(&buf)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_errors() {
        let b = encode("abc");
        assert_eq!(b.len(), 27);
        assert_eq!(&b[..8], b"ZIPCSCHM");
        let e = decode(&b).unwrap();
        assert!(e.consistent);
        assert_eq!(decode(&b[..10]), Err(DecodeError::TooShort(10)));
        let mut bad = b.clone();
        bad[0] = b'X';
        assert!(matches!(decode(&bad), Err(DecodeError::BadMagic(_))));
        let mut long = b.clone();
        long[16] = 200;
        assert!(matches!(
            decode(&long),
            Err(DecodeError::BadLength { len: 200, .. })
        ));
        let mut fp = b;
        fp[8] ^= 1;
        assert!(!decode(&fp).unwrap().consistent);
    }
}
