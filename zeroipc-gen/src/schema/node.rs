//! A spanned view of a parsed TOML document: every key and value keeps its
//! byte range, so every later error can point at the token.

use std::ops::Range;
use toml_edit::{ImDocument, Item, TableLike, Value};

/// A value with the byte range it came from.
#[derive(Debug, Clone)]
pub struct Sp<T> {
    /// The value.
    pub v: T,
    /// Byte range in the file.
    pub span: Range<usize>,
}

/// A TOML value.
#[derive(Debug, Clone)]
pub enum Node {
    /// A string.
    Str(String),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// A date or time (never valid in a schema).
    Datetime,
    /// An array (also an array of tables).
    Array(Vec<Sp<Node>>),
    /// A table or inline table, keys in document order.
    Table(Vec<(Sp<String>, Sp<Node>)>),
}

impl Node {
    /// What the value is, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Node::Str(_) => "a string",
            Node::Int(_) => "an integer",
            Node::Float(_) => "a float",
            Node::Bool(_) => "a boolean",
            Node::Datetime => "a date-time",
            Node::Array(_) => "an array",
            Node::Table(_) => "a table",
        }
    }
}

/// Parses `text`; a syntax error comes back as (message, byte range).
pub fn parse(text: &str) -> Result<Sp<Node>, (String, Range<usize>)> {
    let doc = ImDocument::parse(text.to_owned()).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        let msg = e.message().trim().to_owned();
        (msg, span)
    })?;
    let root = doc.as_table();
    Ok(Sp {
        v: table(root, 0..0),
        span: 0..0,
    })
}

fn table(t: &dyn TableLike, fallback: Range<usize>) -> Node {
    let mut out = Vec::new();
    for (k, item) in t.iter() {
        let key_span = t
            .get_key_value(k)
            .and_then(|(key, _)| key.span())
            .unwrap_or_else(|| fallback.clone());
        let value = item_node(item, key_span.clone());
        out.push((
            Sp {
                v: k.to_owned(),
                span: key_span,
            },
            value,
        ));
    }
    Node::Table(out)
}

fn item_node(item: &Item, fallback: Range<usize>) -> Sp<Node> {
    let span = item.span().unwrap_or_else(|| fallback.clone());
    let v = match item {
        Item::None => Node::Table(Vec::new()),
        Item::Value(v) => return value_node(v, fallback),
        Item::Table(t) => table(t, span.clone()),
        Item::ArrayOfTables(a) => Node::Array(
            a.iter()
                .map(|t| {
                    let s = t.span().unwrap_or_else(|| span.clone());
                    Sp {
                        v: table(t, s.clone()),
                        span: s,
                    }
                })
                .collect(),
        ),
    };
    Sp { v, span }
}

fn value_node(v: &Value, fallback: Range<usize>) -> Sp<Node> {
    let span = v.span().unwrap_or(fallback);
    let node = match v {
        Value::String(s) => Node::Str(s.value().clone()),
        Value::Integer(i) => Node::Int(*i.value()),
        Value::Float(f) => Node::Float(*f.value()),
        Value::Boolean(b) => Node::Bool(*b.value()),
        Value::Datetime(_) => Node::Datetime,
        Value::Array(a) => Node::Array(a.iter().map(|x| value_node(x, span.clone())).collect()),
        Value::InlineTable(t) => table(t, span.clone()),
    };
    Sp { v: node, span }
}
