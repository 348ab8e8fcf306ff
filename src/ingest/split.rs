//! Splitting an input stream into events, in bounded memory: one JSON object, a JSON
//! array of objects, JSON lines, or concatenated objects, read a chunk at a time with a
//! small JSON syntax scanner, so a bad event costs only itself where the format allows.
//!
//! The rules for faults (what `cplogs ingest` promises):
//! - JSON lines (the first value ends on the line it starts on): a line that is not
//!   complete JSON is rejected alone, wherever it is, and reading goes on at the next.
//! - At the start of an input, before any value has ended, a value that does not end
//!   on its first line may be a truncated JSON line or a pretty-printed document. If
//!   its first line holds only `{` or `[`, it is a document; otherwise, when it turns
//!   out broken, only its first line is rejected and reading resumes on the next line,
//!   so a bad first line of JSON lines costs that line only.
//! - A document (a pretty-printed object, an array, concatenated multi-line objects)
//!   with a syntax error is rejected at the error's line and column and the rest of
//!   that input is unread: no later value can be told apart reliably.
//! - An event larger than [`MAX_EVENT_BYTES`] is rejected without being held whole.
//!
//! One cohesive thing (over 400 lines, most of it tests): one scanner and its fault rules.

use std::io::{self, Read};

/// The largest event accepted, in bytes. EventBridge events are at most 256 KB; the
/// limit keeps the memory of one event bounded whatever the input.
pub const MAX_EVENT_BYTES: usize = 1 << 20;

/// Containers nested deeper than this are a syntax error (it bounds the scanner's
/// stack; serde_json rejects events nested deeper than 128 anyway).
const MAX_DEPTH: usize = 1024;

/// An event of the input, or why a part of the input gave none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    /// 1-based line where the event (or the rejected part) starts.
    pub line: usize,
    /// The event's JSON text, or why it was rejected.
    pub event: Result<Vec<u8>, String>,
}

/// Why splitting stopped early: the input could not be read, or the consumer failed.
#[derive(Debug)]
pub enum SplitError<E> {
    /// Reading the input failed.
    Read(io::Error),
    /// The consumer of the events returned an error.
    Consumer(E),
}

/// Splits everything of `input` (for tests and small inputs) into owned pieces.
pub fn split_all(input: &[u8]) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let result = split_events(input, |line, event| {
        pieces.push(Piece {
            line,
            event: event.map(<[u8]>::to_vec),
        });
        Ok::<(), std::convert::Infallible>(())
    });
    // Reading a slice cannot fail, and the consumer never does.
    debug_assert!(result.is_ok());
    pieces
}

/// Reads `input` to its end, calling `on_piece(line, event)` for each event (its JSON
/// text) or rejected part (the reason), in input order. Memory stays bounded by
/// [`MAX_EVENT_BYTES`] plus one read buffer, whatever the input's size.
pub fn split_events<R: Read, E>(
    mut input: R,
    mut on_piece: impl FnMut(usize, Result<&[u8], String>) -> Result<(), E>,
) -> Result<(), SplitError<E>> {
    let mut splitter = Splitter::new();
    let mut chunk = vec![0u8; 256 * 1024];
    loop {
        let n = match input.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(SplitError::Read(e)),
        };
        splitter
            .feed(&chunk[..n], &mut on_piece)
            .map_err(SplitError::Consumer)?;
        if splitter.done {
            break;
        }
    }
    splitter.finish(&mut on_piece).map_err(SplitError::Consumer)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Container {
    Object,
    Array,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// A value: at the top level, after `:`, or after `,` in an array.
    Value,
    /// After `[`: a value or `]`.
    ValueOrClose,
    /// After `{`: a key or `}`.
    KeyOrClose,
    /// After `,` in an object.
    Key,
    /// After a key.
    Colon,
    /// After a value in a container.
    CommaOrClose,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Num {
    Minus,
    Zero,
    Int,
    Dot,
    Frac,
    Exp,
    ExpSign,
    ExpDigits,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lexeme {
    None,
    /// In a string; `escape` is 0 (none), 1 (after `\`) or 2..=5 (hex digits of `\u`
    /// still expected, plus one).
    Str {
        key: bool,
        escape: u8,
    },
    Num(Num),
    Lit {
        word: &'static [u8],
        at: u8,
    },
}

/// What one byte did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Nothing a splitter cares about (whitespace, inside a value, keys, punctuation).
    Inside,
    /// A value begins at this byte, at this depth (0 = top level).
    Begin(usize),
    /// A value ends with this byte, at this depth.
    End(usize),
    /// A number ended just before this byte, at this depth; push the byte again.
    EndBefore(usize),
    /// A syntax error at this byte.
    Error(&'static str),
}

/// A push JSON syntax checker: one byte at a time, constant memory per nesting level.
#[derive(Debug, Clone)]
struct Scanner {
    stack: Vec<Container>,
    expect: Expect,
    lexeme: Lexeme,
}

impl Scanner {
    fn new() -> Self {
        Scanner {
            stack: Vec::new(),
            expect: Expect::Value,
            lexeme: Lexeme::None,
        }
    }

    /// Whether a value has begun and not ended.
    fn in_value(&self) -> bool {
        !self.stack.is_empty() || self.lexeme != Lexeme::None
    }

    fn after_value(&mut self) {
        self.expect = if self.stack.is_empty() {
            Expect::Value
        } else {
            Expect::CommaOrClose
        };
    }

    /// The end of the input: a pending number ends; anything else open is an error.
    fn end_of_input(&mut self) -> Step {
        match self.lexeme {
            Lexeme::Num(Num::Zero | Num::Int | Num::Frac | Num::ExpDigits) => {
                self.lexeme = Lexeme::None;
                self.after_value();
                Step::End(self.stack.len())
            }
            _ if self.in_value() => Step::Error("the input ends inside a value"),
            _ => Step::Inside,
        }
    }

    fn push(&mut self, b: u8) -> Step {
        match self.lexeme {
            Lexeme::Str { key, escape } => return self.string_byte(key, escape, b),
            Lexeme::Num(state) => return self.number_byte(state, b),
            Lexeme::Lit { word, at } => {
                if word.get(usize::from(at)) != Some(&b) {
                    return Step::Error("invalid literal (true, false or null expected)");
                }
                if usize::from(at) + 1 == word.len() {
                    self.lexeme = Lexeme::None;
                    self.after_value();
                    return Step::End(self.stack.len());
                }
                self.lexeme = Lexeme::Lit { word, at: at + 1 };
                return Step::Inside;
            }
            Lexeme::None => {}
        }
        if matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
            return Step::Inside;
        }
        match self.expect {
            Expect::Value | Expect::ValueOrClose => {
                if b == b']' && self.expect == Expect::ValueOrClose {
                    return self.close(Container::Array);
                }
                self.begin_value(b)
            }
            Expect::KeyOrClose | Expect::Key => match b {
                b'"' => {
                    self.lexeme = Lexeme::Str {
                        key: true,
                        escape: 0,
                    };
                    Step::Inside
                }
                b'}' if self.expect == Expect::KeyOrClose => self.close(Container::Object),
                _ => Step::Error("expected a string key"),
            },
            Expect::Colon => {
                if b == b':' {
                    self.expect = Expect::Value;
                    Step::Inside
                } else {
                    Step::Error("expected ':'")
                }
            }
            Expect::CommaOrClose => match (b, self.stack.last()) {
                (b',', Some(Container::Object)) => {
                    self.expect = Expect::Key;
                    Step::Inside
                }
                (b',', Some(Container::Array)) => {
                    self.expect = Expect::Value;
                    Step::Inside
                }
                (b'}', Some(Container::Object)) => self.close(Container::Object),
                (b']', Some(Container::Array)) => self.close(Container::Array),
                (_, Some(Container::Object)) => Step::Error("expected ',' or '}'"),
                _ => Step::Error("expected ',' or ']'"),
            },
        }
    }

    fn begin_value(&mut self, b: u8) -> Step {
        let depth = self.stack.len();
        match b {
            b'{' | b'[' => {
                if depth >= MAX_DEPTH {
                    return Step::Error("nesting deeper than 1024");
                }
                if b == b'{' {
                    self.stack.push(Container::Object);
                    self.expect = Expect::KeyOrClose;
                } else {
                    self.stack.push(Container::Array);
                    self.expect = Expect::ValueOrClose;
                }
            }
            b'"' => {
                self.lexeme = Lexeme::Str {
                    key: false,
                    escape: 0,
                }
            }
            b'-' => self.lexeme = Lexeme::Num(Num::Minus),
            b'0' => self.lexeme = Lexeme::Num(Num::Zero),
            b'1'..=b'9' => self.lexeme = Lexeme::Num(Num::Int),
            b't' => self.lexeme = literal(b"true"),
            b'f' => self.lexeme = literal(b"false"),
            b'n' => self.lexeme = literal(b"null"),
            _ => return Step::Error("expected a JSON value"),
        }
        Step::Begin(depth)
    }

    fn close(&mut self, c: Container) -> Step {
        self.stack.pop();
        debug_assert!(c == Container::Object || c == Container::Array);
        self.after_value();
        Step::End(self.stack.len())
    }

    fn string_byte(&mut self, key: bool, escape: u8, b: u8) -> Step {
        let next = match (escape, b) {
            (0, b'"') => {
                self.lexeme = Lexeme::None;
                if key {
                    self.expect = Expect::Colon;
                    return Step::Inside;
                }
                self.after_value();
                return Step::End(self.stack.len());
            }
            (_, 0..=0x1f) => {
                return Step::Error("control character (e.g. a line break) in a string");
            }
            (0, b'\\') => 1,
            (0, _) => 0,
            (1, b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => 0,
            (1, b'u') => 5,
            (1, _) => return Step::Error("invalid escape in a string"),
            (2..=5, _) if b.is_ascii_hexdigit() => {
                if escape == 2 {
                    0
                } else {
                    escape - 1
                }
            }
            _ => return Step::Error("invalid \\u escape in a string"),
        };
        self.lexeme = Lexeme::Str { key, escape: next };
        Step::Inside
    }

    fn number_byte(&mut self, state: Num, b: u8) -> Step {
        let next = match (state, b) {
            (Num::Minus, b'0') => Num::Zero,
            (Num::Minus, b'1'..=b'9') => Num::Int,
            (Num::Minus, _) => return Step::Error("invalid number"),
            (Num::Zero, b'0'..=b'9') => return Step::Error("invalid number (leading zero)"),
            (Num::Int, b'0'..=b'9') => Num::Int,
            (Num::Zero | Num::Int, b'.') => Num::Dot,
            (Num::Dot | Num::Frac, b'0'..=b'9') => Num::Frac,
            (Num::Dot, _) => return Step::Error("invalid number (digit expected after '.')"),
            (Num::Zero | Num::Int | Num::Frac, b'e' | b'E') => Num::Exp,
            (Num::Exp, b'+' | b'-') => Num::ExpSign,
            (Num::Exp | Num::ExpSign | Num::ExpDigits, b'0'..=b'9') => Num::ExpDigits,
            (Num::Exp | Num::ExpSign, _) => {
                return Step::Error("invalid number (digit expected in the exponent)");
            }
            (Num::Zero | Num::Int | Num::Frac | Num::ExpDigits, _) => {
                self.lexeme = Lexeme::None;
                self.after_value();
                return Step::EndBefore(self.stack.len());
            }
        };
        self.lexeme = Lexeme::Num(next);
        Step::Inside
    }
}

fn literal(word: &'static [u8]) -> Lexeme {
    Lexeme::Lit { word, at: 1 }
}

/// What an input has shown itself to be so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// No value has ended yet.
    Start,
    /// Values end on the line they start on: JSON lines.
    Lines,
    /// A value spanned lines, or the input is an array: a document.
    Document,
}

/// The event being captured.
#[derive(Debug, Default)]
struct Capture {
    /// Whether an event is being captured.
    active: bool,
    /// Its text so far (empty once it is known to be too large).
    text: Vec<u8>,
    too_large: bool,
    line: usize,
    /// Absolute offset of its first byte.
    offset: u64,
    /// Whether its first line holds nothing but `{` or `[` (a pretty-printed document).
    opener_alone: Option<bool>,
}

struct Splitter {
    scanner: Scanner,
    mode: Mode,
    /// The input's first value was an array: top-level arrays are unpacked.
    unpack_arrays: bool,
    /// The top-level value being read is an array being unpacked.
    in_array: bool,
    /// Line, and absolute offsets of the next byte and of the current line's start.
    line: usize,
    offset: u64,
    line_start: u64,
    /// Discard bytes up to the end of the current line (after a rejected line).
    skip_line: bool,
    /// Nothing more is read (a broken document).
    done: bool,
    capture: Capture,
    /// Start line of the top-level value being read.
    value_line: usize,
    /// Line where the last top-level value (or array element) ended.
    last_end_line: usize,
}

/// What processing a chunk asks for next.
enum Next {
    /// Go on with the next chunk.
    More,
    /// Process these bytes instead of the rest of the chunk (they start a new line).
    Replay(Vec<u8>),
    /// Go on with the rest of the chunk from the faulty byte (its line is skipped).
    Continue,
}

impl Splitter {
    fn new() -> Self {
        Splitter {
            scanner: Scanner::new(),
            mode: Mode::Start,
            unpack_arrays: false,
            in_array: false,
            line: 1,
            offset: 0,
            line_start: 0,
            skip_line: false,
            done: false,
            capture: Capture::default(),
            value_line: 1,
            last_end_line: 0,
        }
    }

    fn column(&self) -> u64 {
        self.offset - self.line_start + 1
    }

    fn feed<E>(
        &mut self,
        chunk: &[u8],
        on_piece: &mut impl FnMut(usize, Result<&[u8], String>) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut next = self.process(chunk, on_piece)?;
        while let Next::Replay(bytes) = next {
            next = self.process(&bytes, on_piece)?;
        }
        Ok(())
    }

    fn finish<E>(
        &mut self,
        on_piece: &mut impl FnMut(usize, Result<&[u8], String>) -> Result<(), E>,
    ) -> Result<(), E> {
        loop {
            if self.done {
                return Ok(());
            }
            match self.scanner.end_of_input() {
                // A number ended by the end of the input; what contains it may not.
                Step::End(depth) => self.end_value(depth, on_piece)?,
                Step::Error(what) => match self.fail(what, &[], 0, on_piece)? {
                    Next::Replay(bytes) => self.feed(&bytes, on_piece)?,
                    Next::More | Next::Continue => return Ok(()),
                },
                _ => return Ok(()),
            }
        }
    }

    fn process<E>(
        &mut self,
        chunk: &[u8],
        on_piece: &mut impl FnMut(usize, Result<&[u8], String>) -> Result<(), E>,
    ) -> Result<Next, E> {
        // Where the capture of the current event starts in this chunk.
        let mut from = if self.capture.active { Some(0) } else { None };
        let mut i = 0;
        while i < chunk.len() {
            if self.done {
                return Ok(Next::More);
            }
            let b = chunk[i];
            if self.skip_line {
                if let Some(n) = chunk[i..].iter().position(|c| *c == b'\n') {
                    self.skip_line = false;
                    self.offset += n as u64;
                    i += n;
                    // The newline itself goes through the normal path below.
                } else {
                    self.offset += (chunk.len() - i) as u64;
                    return Ok(Next::More);
                }
                continue;
            }
            if self.offset == 0 && chunk[i..].starts_with(b"\xEF\xBB\xBF") {
                // A UTF-8 byte order mark, as some editors write.
                self.offset += 3;
                self.line_start = 3;
                i += 3;
                continue;
            }
            let step = self.scanner.push(b);
            match step {
                Step::Inside => {}
                Step::Begin(depth) => {
                    if depth == 0 {
                        self.value_line = self.line;
                    }
                    if depth == 0 && b == b'[' && (self.unpack_arrays || self.mode == Mode::Start) {
                        self.unpack_arrays = true;
                        self.in_array = true;
                        self.mode = Mode::Document;
                    } else if depth == usize::from(self.in_array) {
                        self.capture = Capture {
                            active: true,
                            text: Vec::new(),
                            too_large: false,
                            line: self.line,
                            offset: self.offset,
                            opener_alone: None,
                        };
                        from = Some(i);
                    }
                    // A one-byte value (a digit) ends at its next byte; a one-byte
                    // container cannot end here.
                }
                Step::End(depth) | Step::EndBefore(depth) => {
                    let end = if matches!(step, Step::End(_)) {
                        i + 1
                    } else {
                        i
                    };
                    // Only the end of the captured event itself closes the capture.
                    if depth == usize::from(self.in_array)
                        && self.capture.active
                        && let Some(f) = from.take()
                    {
                        self.append(&chunk[f..end]);
                    }
                    self.end_value(depth, on_piece)?;
                    if matches!(step, Step::EndBefore(_)) {
                        // The byte after the number is processed afresh.
                        continue;
                    }
                }
                Step::Error(what) => {
                    if let Some(f) = from.take() {
                        self.append(&chunk[f..i]);
                    }
                    match self.fail(what, chunk, i, on_piece)? {
                        // The faulty byte is skipped with the rest of its line.
                        Next::Continue => continue,
                        next => return Ok(next),
                    }
                }
            }
            self.offset += 1;
            i += 1;
            if b == b'\n' {
                self.line += 1;
                self.line_start = self.offset;
                if let Some(next) = self.at_line_end(chunk, i, &mut from, on_piece)? {
                    return Ok(next);
                }
            }
        }
        if let Some(f) = from {
            self.append(&chunk[f..]);
        }
        Ok(Next::More)
    }

    /// Adds bytes to the event being captured, dropping it once too large.
    fn append(&mut self, bytes: &[u8]) {
        let c = &mut self.capture;
        if !c.active || c.too_large {
            return;
        }
        if c.text.len() + bytes.len() > MAX_EVENT_BYTES {
            c.too_large = true;
            c.text = Vec::new();
        } else {
            c.text.extend_from_slice(bytes);
        }
    }

    /// After a line break (already counted): JSON lines reject a value left open.
    fn at_line_end<E>(
        &mut self,
        chunk: &[u8],
        i: usize,
        from: &mut Option<usize>,
        on_piece: &mut impl FnMut(usize, Result<&[u8], String>) -> Result<(), E>,
    ) -> Result<Option<Next>, E> {
        if !self.scanner.in_value() || self.in_array {
            return Ok(None);
        }
        if self.capture.active && self.capture.opener_alone.is_none() {
            if let Some(f) = *from {
                self.append(&chunk[f..i]);
                *from = Some(i);
            }
            let first = self.capture.text.trim_ascii();
            self.capture.opener_alone = Some(first == b"{" || first == b"[");
        }
        if self.mode == Mode::Lines {
            *from = None;
            self.capture.active = false;
            self.scanner = Scanner::new();
            on_piece(
                self.value_line,
                Err("invalid JSON: the line ends inside a value".to_owned()),
            )?;
        }
        Ok(None)
    }

    fn end_value<E>(
        &mut self,
        depth: usize,
        on_piece: &mut impl FnMut(usize, Result<&[u8], String>) -> Result<(), E>,
    ) -> Result<(), E> {
        if depth == 0 {
            if self.in_array {
                self.in_array = false;
                return Ok(());
            }
            if self.mode == Mode::Start {
                self.mode = if self.value_line == self.line {
                    Mode::Lines
                } else {
                    Mode::Document
                };
            }
        }
        if depth != usize::from(self.in_array) || !self.capture.active {
            return Ok(());
        }
        self.last_end_line = self.line;
        let capture = std::mem::take(&mut self.capture);
        if capture.too_large {
            on_piece(
                capture.line,
                Err(format!(
                    "event larger than {} MiB, not read",
                    MAX_EVENT_BYTES >> 20
                )),
            )
        } else {
            on_piece(capture.line, Ok(&capture.text))
        }
    }

    /// A syntax error at `chunk[i]` (or at the end of the input when `chunk` is empty).
    fn fail<E>(
        &mut self,
        what: &str,
        chunk: &[u8],
        i: usize,
        on_piece: &mut impl FnMut(usize, Result<&[u8], String>) -> Result<(), E>,
    ) -> Result<Next, E> {
        let (line, column) = (self.line, self.column());
        let value_line = self.value_line;
        let pending = self.scanner.in_value();
        let capture = std::mem::take(&mut self.capture);
        self.scanner = Scanner::new();
        let document = self.mode == Mode::Document
            || self.in_array
            || (self.mode == Mode::Start
                && pending
                && value_line < line
                && (capture.opener_alone == Some(true) || capture.too_large || !capture.active));
        if document {
            self.done = true;
            on_piece(
                line,
                Err(format!(
                    "invalid JSON at line {line} column {column}: {what}; \
                     the rest of this input is unread"
                )),
            )?;
            return Ok(Next::More);
        }
        if self.mode == Mode::Start && pending && value_line < line {
            // A broken JSON line at the start of the input: reject it alone and read
            // again from the next line what was taken as its continuation.
            on_piece(
                value_line,
                Err(format!(
                    "invalid JSON: this line does not hold a complete value \
                     (at line {line} column {column}: {what})"
                )),
            )?;
            let text = &capture.text;
            let nl = text.iter().position(|c| *c == b'\n').unwrap_or(text.len());
            let mut replay = text.get(nl + 1..).unwrap_or_default().to_vec();
            replay.extend_from_slice(chunk.get(i..).unwrap_or_default());
            self.line = value_line + 1;
            self.offset = capture.offset + nl as u64 + 1;
            self.line_start = self.offset;
            return Ok(Next::Replay(replay));
        }
        // A fault on the line being read: that line alone is rejected, and reading
        // goes on after its end (a faulty line break ends the skip at once).
        self.skip_line = true;
        let kept = if !pending && self.last_end_line == line {
            " (after a value earlier on this line, which is kept)"
        } else {
            ""
        };
        on_piece(
            if pending { value_line } else { line },
            Err(format!("invalid JSON at column {column}: {what}{kept}")),
        )?;
        Ok(Next::Continue)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_and_oks(input: &str) -> Vec<(usize, bool)> {
        split_all(input.as_bytes())
            .into_iter()
            .map(|p| (p.line, p.event.is_ok()))
            .collect()
    }

    fn texts(input: &str) -> Vec<String> {
        split_all(input.as_bytes())
            .into_iter()
            .map(|p| match p.event {
                Ok(t) => String::from_utf8(t).unwrap(),
                Err(e) => format!("{}: {e}", p.line),
            })
            .collect()
    }

    #[test]
    fn one_object_array_lines_and_concatenation() {
        assert_eq!(lines_and_oks("{\n \"a\": 1\n}\n"), [(1, true)]);
        assert_eq!(
            texts("[\n {\"a\": 1},\n {\"a\": [2, -3.5e+2, true, null, \"x\\\"]\"]}\n]"),
            [
                "{\"a\": 1}",
                "{\"a\": [2, -3.5e+2, true, null, \"x\\\"]\"]}"
            ]
        );
        assert_eq!(
            lines_and_oks("[\n {\"a\": 1},\n {\"a\": 2}\n]"),
            [(2, true), (3, true)]
        );
        assert_eq!(
            lines_and_oks("{\"a\":1}\n\n{\"a\":2}\n"),
            [(1, true), (3, true)]
        );
        assert_eq!(
            lines_and_oks("{\n\"a\":1}{\n\"a\":2}"),
            [(1, true), (2, true)]
        );
        assert_eq!(
            texts("{\"a\":1}{\"b\":2} {\"c\":3}"),
            ["{\"a\":1}", "{\"b\":2}", "{\"c\":3}"]
        );
        assert_eq!(texts("\u{feff}{\"a\":1}\r\n"), ["{\"a\":1}"]);
        assert_eq!(texts("[]"), Vec::<String>::new());
        assert_eq!(texts("12\n\"x\"\n"), ["12", "\"x\""]);
        assert_eq!(texts("7"), ["7"], "a number ended by the end of the input");
        assert!(lines_and_oks("  \n").is_empty());
        assert!(lines_and_oks("").is_empty());
    }

    #[test]
    fn a_bad_json_line_rejects_only_itself() {
        assert_eq!(
            lines_and_oks("{\"a\":1}\n{\"a\":\n{\"a\":3}\n"),
            [(1, true), (2, false), (3, true)]
        );
        assert_eq!(
            texts("{\"a\":1}}\n")[1],
            "1: invalid JSON at column 8: expected a JSON value \
             (after a value earlier on this line, which is kept)"
        );
        assert_eq!(
            lines_and_oks("{\"a\":1}\noops\n{\"a\":1}}\n{\"a\":3}\n{\"a\":\"x\n"),
            [
                (1, true),
                (2, false),
                (3, true),
                (3, false),
                (4, true),
                (5, false)
            ]
        );
        // First lines included, whatever follows them.
        for input in [
            "{\"a\":\n{\"a\":2}\n{\"a\":3}\n",
            "{\"a\":\ngarbage\n{\"a\":3}\n",
            "oops\n{\"a\":2}\n{\"a\":3}\n",
            "{\"a\":[1,\n{\"a\":2}\n{\"a\":3}\n",
        ] {
            let got = lines_and_oks(input);
            assert_eq!(got.first(), Some(&(1, false)), "{input:?}: {got:?}");
            assert!(got.contains(&(3, true)), "{input:?}: {got:?}");
            assert!(!got.contains(&(1, true)), "{input:?}: {got:?}");
        }
        assert_eq!(
            lines_and_oks("{\"a\":\n{\"a\":2}\n{\"a\":3}\n"),
            [(1, false), (2, true), (3, true)]
        );
        assert_eq!(
            lines_and_oks("{\"a\":\n{\"b\":\n{\"a\":3}\n"),
            [(1, false), (2, false), (3, true)]
        );
        // Truncated at the end, without a final line break.
        assert_eq!(lines_and_oks("{\"a\":1}\n{\"a\""), [(1, true), (2, false)]);
        assert_eq!(lines_and_oks("{\"a\":\n{\"a\":2}"), [(1, false), (2, true)]);
    }

    #[test]
    fn a_broken_document_says_where_and_keeps_what_came_before() {
        let pieces = split_all(b"{\n \"a\": 1\n}\n{\n \"a\": 2,\n oops\n}\n{\"a\":3}\n");
        assert_eq!(pieces.len(), 2, "{pieces:?}");
        assert!(pieces[0].event.is_ok());
        assert_eq!(pieces[1].line, 6);
        let err = pieces[1].event.as_ref().unwrap_err();
        assert!(err.contains("line 6 column 2"), "{err}");
        assert!(err.contains("rest of this input is unread"), "{err}");

        let broken_array = split_all(b"[\n{\"a\":1},\n{\"a\":2\n,{\"a\":3}]");
        assert_eq!(broken_array.len(), 2, "{broken_array:?}");
        assert!(broken_array[0].event.is_ok());
        let err = broken_array[1].event.as_ref().unwrap_err();
        assert!(
            err.contains("line 4 column 2: expected a string key"),
            "{err}"
        );

        let truncated = split_all(b"[\n{\"a\":1},\n{\"a\":2");
        assert_eq!(truncated.len(), 2);
        let err = truncated[1].event.as_ref().unwrap_err();
        assert!(err.contains("the input ends inside a value"), "{err}");

        let pretty = split_all(b"{\n  \"a\": 1,\n  \"b\": \n");
        assert_eq!(pretty.len(), 1);
        assert!(pretty[0].event.as_ref().unwrap_err().contains("line 4"));
    }

    #[test]
    fn huge_events_are_rejected_without_being_held() {
        let big = format!("{{\"a\":\"{}\"}}", "x".repeat(MAX_EVENT_BYTES));
        let input = format!("{{\"a\":1}}\n{big}\n{{\"a\":2}}\n[{{\"a\":3}}]");
        let got = texts(&input);
        assert_eq!(got.len(), 4, "{got:?}");
        assert!(
            got[1].starts_with("2: event larger than 1 MiB"),
            "{}",
            got[1]
        );
        assert_eq!(got[2], "{\"a\":2}");
        assert_eq!(
            got[3], "[{\"a\":3}]",
            "an array among JSON lines is one value"
        );
        let got = texts(&format!("[{big},\n{{\"a\":3}}]"));
        assert!(got[0].starts_with("1: event larger"), "{got:?}");
        assert_eq!(got[1], "{\"a\":3}");
    }

    #[test]
    fn chunk_boundaries_do_not_matter() {
        let input =
            "[\n{\"a\": 12.5e3, \"b\": \"\\u00e9\\n\"},\n  {\"c\": [true, false, null]}\n]\n";
        let whole = split_all(input.as_bytes());
        // One byte per read: every boundary falls somewhere.
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0.is_empty() || buf.is_empty() {
                    return Ok(0);
                }
                buf[0] = self.0[0];
                self.0 = &self.0[1..];
                Ok(1)
            }
        }
        let mut trickled = Vec::new();
        split_events(Trickle(input.as_bytes()), |line, e| {
            trickled.push(Piece {
                line,
                event: e.map(<[u8]>::to_vec),
            });
            Ok::<(), ()>(())
        })
        .unwrap();
        assert_eq!(trickled, whole);
        assert_eq!(whole.len(), 2);
    }
}
