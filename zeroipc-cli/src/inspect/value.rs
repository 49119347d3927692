//! Decoding element bytes by a [`TypeLayout`] into a value that prints the
//! same way to people and to JSON (field order kept).

use super::types::is_raw;
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use std::fmt;
use zeroipc::layout::{Kind, Prim, TypeLayout};

/// A decoded element.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A signed integer.
    Int(i64),
    /// An unsigned integer.
    UInt(u64),
    /// A 32-bit float (printed with its own shortest form).
    F32(f32),
    /// A 64-bit float.
    F64(f64),
    /// A fixed string (bytes up to the first NUL, lossy UTF-8).
    Str(String),
    /// Raw bytes, shown as hex.
    Bytes(Vec<u8>),
    /// A fixed array.
    List(Vec<Value>),
    /// A record, fields in declaration order.
    Record(Vec<(String, Value)>),
    /// An open-enum value and its variant name when it has one.
    Enum(i64, Option<String>),
    /// A flag.
    Bool(bool),
}

fn le_u64(b: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w[..b.len()].copy_from_slice(b);
    u64::from_le_bytes(w)
}

fn prim_value(p: Prim, b: &[u8]) -> Value {
    let u = le_u64(&b[..p.size()]);
    match p {
        Prim::U8 | Prim::U16 | Prim::U32 | Prim::U64 => Value::UInt(u),
        Prim::I8 => Value::Int(u as u8 as i8 as i64),
        Prim::I16 => Value::Int(u as u16 as i16 as i64),
        Prim::I32 => Value::Int(u as u32 as i32 as i64),
        Prim::I64 => Value::Int(u as i64),
        Prim::F32 => Value::F32(f32::from_bits(u as u32)),
        Prim::F64 => Value::F64(f64::from_bits(u)),
    }
}

/// Decodes `bytes` (at least `t.size` long) as a `t`.
pub fn decode(t: &TypeLayout, bytes: &[u8]) -> Value {
    let b = &bytes[..t.size.min(bytes.len())];
    if b.len() < t.size {
        return Value::Bytes(b.to_vec());
    }
    match t.kind {
        Kind::Prim(p) => prim_value(p, b),
        Kind::Array { .. } if is_raw(t) => Value::Bytes(b.to_vec()),
        Kind::Array { elem, len } => Value::List(
            (0..len)
                .map(|i| decode(elem, &b[i * elem.size..(i + 1) * elem.size]))
                .collect(),
        ),
        Kind::FixedStr { len } => {
            let end = b[..len].iter().position(|&c| c == 0).unwrap_or(len);
            Value::Str(String::from_utf8_lossy(&b[..end]).into_owned())
        }
        Kind::Struct { fields } => Value::Record(
            fields
                .iter()
                .map(|f| {
                    let v = match b.get(f.offset..f.offset + f.layout.size) {
                        Some(fb) => decode(f.layout, fb),
                        None => Value::Bytes(Vec::new()),
                    };
                    (f.name.to_owned(), v)
                })
                .collect(),
        ),
        Kind::OpenEnum { repr, variants } => {
            let v = match prim_value(repr, b) {
                Value::Int(i) => i,
                Value::UInt(u) => u as i64,
                _ => 0,
            };
            let name = variants
                .iter()
                .find(|x| x.value == v)
                .map(|x| x.name.to_owned());
            Value::Enum(v, name)
        }
    }
}

/// Lower-case hex of `b`, no separators.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn float_str<F: fmt::Debug>(v: F) -> String {
    format!("{v:?}")
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Int(i) => write!(f, "{i}"),
            Value::UInt(u) => write!(f, "{u}"),
            Value::F32(x) => f.write_str(&float_str(x)),
            Value::F64(x) => f.write_str(&float_str(x)),
            Value::Str(s) => write!(f, "{s:?}"),
            Value::Bytes(b) => write!(f, "0x{}", hex(b)),
            Value::List(v) => {
                f.write_str("[")?;
                for (i, x) in v.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{x}")?;
                }
                f.write_str("]")
            }
            Value::Record(fields) => {
                f.write_str("{")?;
                for (i, (n, x)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{n}: {x}")?;
                }
                f.write_str("}")
            }
            Value::Enum(v, Some(n)) => write!(f, "{n}({v})"),
            Value::Enum(v, None) => write!(f, "{v}"),
            Value::Bool(b) => write!(f, "{b}"),
        }
    }
}

fn ser_float<S: Serializer>(s: S, x: f64, shortest: &str) -> Result<S::Ok, S::Error> {
    if x.is_finite() {
        // The shortest decimal of the stored value (an f32 keeps its own
        // shortest form: 0.1f32 is written 0.1, not 0.10000000149011612).
        s.serialize_f64(shortest.parse::<f64>().unwrap_or(x))
    } else if x.is_nan() {
        s.serialize_str("NaN")
    } else if x > 0.0 {
        s.serialize_str("inf")
    } else {
        s.serialize_str("-inf")
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Int(i) => s.serialize_i64(*i),
            Value::UInt(u) => s.serialize_u64(*u),
            Value::F32(x) => ser_float(s, *x as f64, &x.to_string()),
            Value::F64(x) => ser_float(s, *x, &x.to_string()),
            Value::Str(t) => s.serialize_str(t),
            Value::Bytes(b) => s.serialize_str(&hex(b)),
            Value::List(v) => {
                let mut seq = s.serialize_seq(Some(v.len()))?;
                for x in v {
                    seq.serialize_element(x)?;
                }
                seq.end()
            }
            Value::Record(fields) => {
                let mut m = s.serialize_map(Some(fields.len()))?;
                for (n, x) in fields {
                    m.serialize_entry(n, x)?;
                }
                m.end()
            }
            Value::Enum(_, Some(n)) => s.serialize_str(n),
            Value::Enum(v, None) => s.serialize_i64(*v),
            Value::Bool(b) => s.serialize_bool(*b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::types::parse_type;
    use super::*;

    #[test]
    fn decodes_and_prints() {
        let t = parse_type("{id: i32, x: f32, y: f64}").unwrap();
        let mut b = Vec::new();
        b.extend_from_slice(&(-3i32).to_le_bytes());
        b.extend_from_slice(&0.1f32.to_le_bytes());
        b.extend_from_slice(&1e6f64.to_le_bytes());
        let v = decode(t, &b);
        assert_eq!(v.to_string(), "{id: -3, x: 0.1, y: 1000000.0}");
        assert_eq!(
            serde_json::to_string(&v).unwrap(),
            r#"{"id":-3,"x":0.1,"y":1000000.0}"#
        );
        let s = parse_type("str[5]").unwrap();
        assert_eq!(decode(s, b"ab\0cd").to_string(), "\"ab\"");
        let v = decode(parse_type("f64").unwrap(), &f64::NAN.to_le_bytes());
        assert_eq!(serde_json::to_string(&v).unwrap(), "\"NaN\"");
        let raw = super::super::types::raw_bytes(3);
        assert_eq!(decode(raw, &[1, 2, 255]).to_string(), "0x0102ff");
    }
}
