//! Diagnostics in the style of rustc: `error: message`, then
//! `--> file:line:col`, the offending line and carets under the span.

use std::fmt::Write as _;
use std::ops::Range;

/// Error or warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Stops code generation (exit code 1).
    Error,
    /// Reported; generation goes on.
    Warning,
}

/// One message about a place in a schema file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The headline.
    pub message: String,
    /// Index of the file in the schema set.
    pub file: usize,
    /// Byte range in that file.
    pub span: Range<usize>,
    /// Text after the carets.
    pub label: String,
    /// `= note:` / `= help:` lines.
    pub notes: Vec<String>,
}

impl Diagnostic {
    /// An error at `span` of `file`.
    pub fn error(file: usize, span: Range<usize>, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            message: message.into(),
            file,
            span,
            label: String::new(),
            notes: Vec::new(),
        }
    }

    /// A warning at `span` of `file`.
    pub fn warning(file: usize, span: Range<usize>, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(file, span, message)
        }
    }

    /// Sets the label shown after the carets.
    pub fn label(mut self, label: impl Into<String>) -> Diagnostic {
        self.label = label.into();
        self
    }

    /// Adds a `= note: ...` line.
    pub fn note(mut self, note: impl Into<String>) -> Diagnostic {
        self.notes.push(format!("note: {}", note.into()));
        self
    }

    /// Adds a `= help: ...` line.
    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.notes.push(format!("help: {}", help.into()));
        self
    }
}

/// 1-based line and column (in characters) of byte `pos` of `text`.
pub fn line_col(text: &str, pos: usize) -> (usize, usize) {
    let pos = pos.min(text.len());
    let before = &text[..floor_char(text, pos)];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

fn floor_char(text: &str, mut pos: usize) -> usize {
    while pos > 0 && !text.is_char_boundary(pos) {
        pos -= 1;
    }
    pos
}

/// Renders one diagnostic against its file's name and text.
pub fn render(d: &Diagnostic, file_name: &str, text: &str) -> String {
    let mut out = String::new();
    let sev = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let _ = writeln!(out, "{sev}: {}", d.message);
    let (line, col) = line_col(text, d.span.start);
    let line_text = text.lines().nth(line - 1).unwrap_or("");
    let num = line.to_string();
    let pad = " ".repeat(num.len());
    let _ = writeln!(out, "{pad}--> {file_name}:{line}:{col}");
    let _ = writeln!(out, "{pad} |");
    let _ = writeln!(out, "{num} | {line_text}");
    // Carets: from the start column to the end of the span or of the line.
    let line_chars = line_text.chars().count();
    let (end_line, end_col) = line_col(text, d.span.end);
    let end_col = if end_line == line {
        end_col
    } else {
        line_chars + 1
    };
    let width = end_col.saturating_sub(col).max(1);
    let lead: String = line_text
        .chars()
        .take(col - 1)
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    let carets = "^".repeat(width);
    if d.label.is_empty() {
        let _ = writeln!(out, "{pad} | {lead}{carets}");
    } else {
        let _ = writeln!(out, "{pad} | {lead}{carets} {}", d.label);
    }
    if !d.notes.is_empty() {
        let _ = writeln!(out, "{pad} |");
    }
    for n in &d.notes {
        let _ = writeln!(out, "{pad} = {n}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_characters() {
        let t = "ab\nc\u{e9}d\n";
        assert_eq!(line_col(t, 0), (1, 1));
        assert_eq!(line_col(t, 3), (2, 1));
        assert_eq!(line_col(t, 6), (2, 3), "the e-acute is one column");
        assert_eq!(line_col(t, 100), (3, 1));
    }

    #[test]
    fn renders_like_rustc() {
        let text = "a = 1\nname = \"Vec4\"\n";
        let d = Diagnostic::error(0, 14..18, "unknown type `Vec4`")
            .label("here")
            .help("try `Vec3`");
        assert_eq!(
            render(&d, "f.toml", text),
            "error: unknown type `Vec4`\n --> f.toml:2:9\n  |\n2 | name = \"Vec4\"\n  |         ^^^^ here\n  |\n  = help: try `Vec3`\n"
        );
    }
}
