//! The fast path of the local engine's reader: JSON lines of strict JSON objects (what
//! the transform writes) decoded in one pass straight into Arrow arrays of the columns
//! a query reads. It declines anything it would not decode exactly as the general
//! reader ([`super::jsonl`]: arrow-json with the SerDe's rules) does, and that reader
//! then reads the file from its start.
//!
//! Why a second decoder: arrow-json writes every value of every line to a tape first,
//! then copies the wanted ones out of it, matching each key against the schema; on a
//! cold report that was half of the CPU time. Here each value is read once: a wanted
//! string is copied once into its column, anything else is checked and stepped over.
//!
//! Values read as the general reader reads them: a string column takes a string, a
//! number's text as written, `true`/`false` as text, and NULL for `null`, an object
//! or a list; an int column takes an integer literal, NULL for `null`, a boolean, an
//! object or a list; a struct column takes an object (its fields by the same rules),
//! NULL for anything else; keys not in the schema are skipped, missing ones are NULL.
//!
//! Declined (and so read by the general reader, which knows the answer):
//! - text that is not UTF-8, or a top-level value that is not an object;
//! - an object cut by the end of the text given to [`LineDecoder::decode`] (the
//!   reader gives it whole lines, so only an object spread over lines can be);
//! - JSON that is not strict (arrow-json also takes missing or extra commas and
//!   loose numbers such as `1-2`);
//! - a key written with an escape, or a key twice in one object (last one wins
//!   there);
//! - a `\u` escape of a surrogate, or nesting deeper than [`MAX_DEPTH`];
//! - an int column holding a string, a fraction, or an integer outside `i32`.

use std::sync::Arc;

use datafusion::arrow::array::builder::NullBufferBuilder;
use datafusion::arrow::array::{
    ArrayRef, Int32Array, RecordBatch, RecordBatchOptions, StringArray, StructArray,
};
use datafusion::arrow::buffer::{Buffer, OffsetBuffer, ScalarBuffer};
use datafusion::arrow::datatypes::{DataType, Fields, SchemaRef};

/// The text is not one this decoder reads exactly as the general reader does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Declined;

type Step<T = ()> = Result<T, Declined>;

/// Nesting deeper than this (in values no column reads) is declined: the general
/// reader has no limit, and recursion here should not have one set by the data.
pub const MAX_DEPTH: usize = 64;

/// Decodes JSON lines into batches of a schema's columns, a slice of whole lines at
/// a time.
pub struct LineDecoder {
    schema: SchemaRef,
    columns: Vec<Slot>,
    keys: Keys,
    batch_size: usize,
    rows: usize,
    /// Counts the objects read: a column's [`Slot::stamp`] equal to the current
    /// object's means the column already has its value for that object.
    stamp: u64,
    batches: Vec<RecordBatch>,
}

impl LineDecoder {
    /// A decoder of `schema`'s columns in batches of `batch_size` rows; `None` when
    /// the schema has a column type this decoder does not read.
    pub fn new(schema: &SchemaRef, batch_size: usize) -> Option<Self> {
        let columns = schema
            .fields()
            .iter()
            .map(|f| Column::new(f.data_type(), batch_size).map(Slot::new))
            .collect::<Option<Vec<_>>>()?;
        Some(LineDecoder {
            schema: Arc::clone(schema),
            keys: Keys::new(schema.fields()),
            columns,
            batch_size: batch_size.max(1),
            rows: 0,
            stamp: 0,
            batches: Vec::new(),
        })
    }

    /// Decodes `text`: whole lines (it ends with a line break, or the file does).
    /// After [`Declined`] the decoder holds part of a row: drop it.
    pub fn decode(&mut self, text: &[u8]) -> Step {
        if std::str::from_utf8(text).is_err() {
            return Err(Declined);
        }
        let mut p = Parser { s: text, i: 0 };
        loop {
            p.skip_ws();
            if p.i == text.len() {
                return Ok(());
            }
            object(&mut p, &mut self.columns, &self.keys, &mut self.stamp, 0)?;
            self.rows += 1;
            if self.rows == self.batch_size {
                self.flush()?;
            }
        }
    }

    /// The batches of every row decoded.
    pub fn finish(mut self) -> Step<Vec<RecordBatch>> {
        if self.rows > 0 {
            self.flush()?;
        }
        Ok(self.batches)
    }

    fn flush(&mut self) -> Step {
        let rows = self.rows;
        let columns = self
            .columns
            .iter_mut()
            .map(|s| s.column.finish(rows))
            .collect::<Step<Vec<_>>>()?;
        let batch = RecordBatch::try_new_with_options(
            Arc::clone(&self.schema),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(rows)),
        )
        .map_err(|_| Declined)?;
        self.batches.push(batch);
        self.rows = 0;
        Ok(())
    }
}

/// Reads one object into `columns` (named by `keys`), the parser on its `{`.
fn object(
    p: &mut Parser<'_>,
    columns: &mut [Slot],
    keys: &Keys,
    stamp: &mut u64,
    depth: usize,
) -> Step {
    p.expect(b'{')?;
    *stamp += 1;
    let this = *stamp;
    p.skip_ws();
    if !p.eat(b'}') {
        loop {
            let key = p.key()?;
            p.skip_ws();
            p.expect(b':')?;
            p.skip_ws();
            match keys.find(key) {
                Some(c) => {
                    let slot = &mut columns[c];
                    if slot.stamp == this {
                        return Err(Declined);
                    }
                    slot.stamp = this;
                    slot.column.value(p, stamp, depth + 1)?;
                }
                None => p.skip_value(depth + 1)?,
            }
            p.skip_ws();
            match p.next()? {
                b',' => p.skip_ws(),
                b'}' => break,
                _ => return Err(Declined),
            }
        }
    }
    for slot in columns {
        if slot.stamp != this {
            slot.column.push_null();
        }
    }
    Ok(())
}

/// The columns of an object by key; a name given twice is the first column's (as
/// arrow-json finds it).
struct Keys {
    by_len: Vec<Vec<(Box<[u8]>, usize)>>,
}

impl Keys {
    fn new(fields: &Fields) -> Self {
        let mut by_len: Vec<Vec<(Box<[u8]>, usize)>> = Vec::new();
        for (i, f) in fields.iter().enumerate() {
            let name = f.name().as_bytes();
            if by_len.len() <= name.len() {
                by_len.resize_with(name.len() + 1, Vec::new);
            }
            if !by_len[name.len()].iter().any(|(k, _)| **k == *name) {
                by_len[name.len()].push((name.into(), i));
            }
        }
        Keys { by_len }
    }

    #[inline]
    fn find(&self, key: &[u8]) -> Option<usize> {
        self.by_len
            .get(key.len())?
            .iter()
            .find(|(k, _)| **k == *key)
            .map(|(_, i)| *i)
    }
}

/// A column and the last object that gave it a value.
struct Slot {
    column: Column,
    stamp: u64,
}

impl Slot {
    fn new(column: Column) -> Self {
        Slot { column, stamp: 0 }
    }
}

/// One column being built.
enum Column {
    Str {
        offsets: Vec<i32>,
        data: Vec<u8>,
        nulls: NullBufferBuilder,
    },
    Int {
        values: Vec<i32>,
        nulls: NullBufferBuilder,
    },
    Struct {
        fields: Fields,
        keys: Keys,
        children: Vec<Slot>,
        nulls: NullBufferBuilder,
    },
}

impl Column {
    fn new(ty: &DataType, rows: usize) -> Option<Self> {
        Some(match ty {
            DataType::Utf8 => Column::Str {
                offsets: offsets(rows),
                data: Vec::new(),
                nulls: NullBufferBuilder::new(rows),
            },
            DataType::Int32 => Column::Int {
                values: Vec::with_capacity(rows),
                nulls: NullBufferBuilder::new(rows),
            },
            DataType::Struct(fields) => Column::Struct {
                keys: Keys::new(fields),
                children: fields
                    .iter()
                    .map(|f| Column::new(f.data_type(), rows).map(Slot::new))
                    .collect::<Option<Vec<_>>>()?,
                fields: fields.clone(),
                nulls: NullBufferBuilder::new(rows),
            },
            _ => return None,
        })
    }

    fn push_null(&mut self) {
        match self {
            Column::Str {
                offsets,
                data: _,
                nulls,
            } => {
                offsets.push(offsets.last().copied().unwrap_or_default());
                nulls.append_null();
            }
            Column::Int { values, nulls } => {
                values.push(0);
                nulls.append_null();
            }
            Column::Struct {
                children, nulls, ..
            } => {
                for c in children {
                    c.column.push_null();
                }
                nulls.append_null();
            }
        }
    }

    /// Reads the value the parser is on into this column.
    fn value(&mut self, p: &mut Parser<'_>, stamp: &mut u64, depth: usize) -> Step {
        match self {
            Column::Str {
                offsets,
                data,
                nulls,
            } => {
                match p.peek()? {
                    b'"' => p.string_into(data)?,
                    b'n' => {
                        p.literal(b"null")?;
                        self.push_null();
                        return Ok(());
                    }
                    b't' => {
                        p.literal(b"true")?;
                        data.extend_from_slice(b"true");
                    }
                    b'f' => {
                        p.literal(b"false")?;
                        data.extend_from_slice(b"false");
                    }
                    b'-' | b'0'..=b'9' => data.extend_from_slice(p.number()?.0),
                    b'{' | b'[' => {
                        p.skip_value(depth)?;
                        self.push_null();
                        return Ok(());
                    }
                    _ => return Err(Declined),
                }
                offsets.push(i32::try_from(data.len()).map_err(|_| Declined)?);
                nulls.append_non_null();
            }
            Column::Int { values, nulls } => match p.peek()? {
                b'-' | b'0'..=b'9' => {
                    let (text, integer) = p.number()?;
                    let value = integer
                        .then(|| std::str::from_utf8(text).ok()?.parse::<i32>().ok())
                        .flatten()
                        .ok_or(Declined)?;
                    values.push(value);
                    nulls.append_non_null();
                }
                b'n' | b't' | b'f' | b'{' | b'[' => {
                    p.skip_value(depth)?;
                    self.push_null();
                }
                _ => return Err(Declined),
            },
            Column::Struct {
                keys,
                children,
                nulls,
                ..
            } => {
                if p.peek()? == b'{' {
                    object(p, children, keys, stamp, depth)?;
                    nulls.append_non_null();
                } else {
                    p.skip_value(depth)?;
                    self.push_null();
                }
            }
        }
        Ok(())
    }

    /// The column's array of the `rows` read since the last one; the column starts
    /// over, its buffers sized as this batch's were.
    fn finish(&mut self, rows: usize) -> Step<ArrayRef> {
        Ok(match self {
            Column::Str {
                offsets: o,
                data,
                nulls,
            } => {
                let size = data.len();
                let o = std::mem::replace(o, offsets(rows));
                let data = std::mem::replace(data, Vec::with_capacity(size + size / 8));
                let array = StringArray::try_new(
                    OffsetBuffer::new(ScalarBuffer::from(o)),
                    Buffer::from_vec(data),
                    nulls.finish(),
                )
                .map_err(|_| Declined)?;
                Arc::new(array)
            }
            Column::Int { values, nulls } => {
                let values = std::mem::replace(values, Vec::with_capacity(rows));
                Arc::new(
                    Int32Array::try_new(ScalarBuffer::from(values), nulls.finish())
                        .map_err(|_| Declined)?,
                )
            }
            Column::Struct {
                fields,
                children,
                nulls,
                ..
            } => {
                let arrays = children
                    .iter_mut()
                    .map(|c| c.column.finish(rows))
                    .collect::<Step<Vec<_>>>()?;
                Arc::new(
                    StructArray::try_new_with_length(fields.clone(), arrays, nulls.finish(), rows)
                        .map_err(|_| Declined)?,
                )
            }
        })
    }
}

fn offsets(rows: usize) -> Vec<i32> {
    let mut o = Vec::with_capacity(rows + 1);
    o.push(0);
    o
}

/// A cursor over strict JSON text; every method either consumes what it reads or
/// declines.
struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Parser<'a> {
    #[inline]
    fn peek(&self) -> Step<u8> {
        self.s.get(self.i).copied().ok_or(Declined)
    }

    #[inline]
    fn next(&mut self) -> Step<u8> {
        let b = self.peek()?;
        self.i += 1;
        Ok(b)
    }

    #[inline]
    fn eat(&mut self, b: u8) -> bool {
        let here = self.s.get(self.i) == Some(&b);
        self.i += usize::from(here);
        here
    }

    #[inline]
    fn expect(&mut self, b: u8) -> Step {
        if self.eat(b) { Ok(()) } else { Err(Declined) }
    }

    #[inline]
    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.s.get(self.i) {
            self.i += 1;
        }
    }

    fn literal(&mut self, word: &[u8]) -> Step {
        if self.s[self.i..].starts_with(word) {
            self.i += word.len();
            Ok(())
        } else {
            Err(Declined)
        }
    }

    /// An object's key, unescaped (a key with an escape is declined).
    #[inline]
    fn key(&mut self) -> Step<&'a [u8]> {
        self.expect(b'"')?;
        let rest = &self.s[self.i..];
        let at = memchr::memchr2(b'"', b'\\', rest).ok_or(Declined)?;
        if rest[at] == b'\\' {
            return Err(Declined);
        }
        self.i += at + 1;
        Ok(&rest[..at])
    }

    /// A string's value appended to `out`, escapes decoded.
    #[inline]
    fn string_into(&mut self, out: &mut Vec<u8>) -> Step {
        self.expect(b'"')?;
        loop {
            let rest = &self.s[self.i..];
            let at = memchr::memchr2(b'"', b'\\', rest).ok_or(Declined)?;
            out.extend_from_slice(&rest[..at]);
            self.i += at + 1;
            if rest[at] == b'"' {
                return Ok(());
            }
            self.escape(Some(out))?;
        }
    }

    fn skip_string(&mut self) -> Step {
        self.expect(b'"')?;
        loop {
            let rest = &self.s[self.i..];
            let at = memchr::memchr2(b'"', b'\\', rest).ok_or(Declined)?;
            self.i += at + 1;
            if rest[at] == b'"' {
                return Ok(());
            }
            self.escape(None)?;
        }
    }

    /// The escape after a backslash, written to `out` when given.
    fn escape(&mut self, out: Option<&mut Vec<u8>>) -> Step {
        let byte = match self.next()? {
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'b' => 8,
            b'f' => 12,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let hex = self.s.get(self.i..self.i + 4).ok_or(Declined)?;
                let code = hex
                    .iter()
                    .try_fold(0u32, |v, &h| char::from(h).to_digit(16).map(|d| v * 16 + d));
                // A surrogate is not a char: pairs are left to the general reader.
                let c = code.and_then(char::from_u32).ok_or(Declined)?;
                self.i += 4;
                if let Some(out) = out {
                    out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                }
                return Ok(());
            }
            _ => return Err(Declined),
        };
        if let Some(out) = out {
            out.push(byte);
        }
        Ok(())
    }

    /// A strict JSON number: its text, and whether it is an integer literal.
    fn number(&mut self) -> Step<(&'a [u8], bool)> {
        let s = self.s;
        let start = self.i;
        let mut i = start;
        let digits = |i: &mut usize| {
            let from = *i;
            while s.get(*i).is_some_and(u8::is_ascii_digit) {
                *i += 1;
            }
            *i > from
        };
        if s.get(i) == Some(&b'-') {
            i += 1;
        }
        match s.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => {
                digits(&mut i);
            }
            _ => return Err(Declined),
        }
        let mut integer = true;
        if s.get(i) == Some(&b'.') {
            integer = false;
            i += 1;
            if !digits(&mut i) {
                return Err(Declined);
            }
        }
        if matches!(s.get(i), Some(b'e' | b'E')) {
            integer = false;
            i += 1;
            if matches!(s.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            if !digits(&mut i) {
                return Err(Declined);
            }
        }
        // arrow-json's number runs on over these bytes: `01` or `1.2.3` is one
        // (loose) number there.
        if matches!(
            s.get(i),
            Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
        ) {
            return Err(Declined);
        }
        self.i = i;
        Ok((&s[start..i], integer))
    }

    /// Steps over one value, checking it is strict JSON.
    fn skip_value(&mut self, depth: usize) -> Step {
        match self.peek()? {
            b'"' => self.skip_string(),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.number().map(drop),
            open @ (b'{' | b'[') => {
                if depth >= MAX_DEPTH {
                    return Err(Declined);
                }
                let close = if open == b'{' { b'}' } else { b']' };
                self.i += 1;
                self.skip_ws();
                if self.eat(close) {
                    return Ok(());
                }
                loop {
                    if open == b'{' {
                        self.skip_string()?;
                        self.skip_ws();
                        self.expect(b':')?;
                        self.skip_ws();
                    }
                    self.skip_value(depth + 1)?;
                    self.skip_ws();
                    match self.next()? {
                        b',' => self.skip_ws(),
                        b if b == close => return Ok(()),
                        _ => return Err(Declined),
                    }
                }
            }
            _ => Err(Declined),
        }
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::compute::concat_batches;
    use datafusion::arrow::datatypes::{Field, Schema};

    use super::*;
    use crate::core::schema::Table;
    use crate::engine::arrow::json_schema;
    use crate::engine::jsonl::decode;
    use crate::test_rng::Rng;

    fn strict(text: &str, schema: &SchemaRef, batch_size: usize) -> Step<RecordBatch> {
        let mut d = LineDecoder::new(schema, batch_size).ok_or(Declined)?;
        d.decode(text.as_bytes())?;
        let batches = d.finish()?;
        Ok(concat_batches(schema, &batches).unwrap())
    }

    /// The general reader's (arrow-json's) rows for `text`, if it reads it.
    fn general(text: &str, schema: &SchemaRef) -> Option<RecordBatch> {
        let batches = decode(text.as_bytes(), schema, 7).ok()?;
        Some(concat_batches(schema, &batches).unwrap())
    }

    /// What the fast path reads, it reads as the general reader does.
    fn same_as_general(text: &str, schema: &SchemaRef) -> bool {
        match strict(text, schema, 3) {
            Ok(fast) => {
                let slow = general(text, schema)
                    .unwrap_or_else(|| panic!("only the fast path reads {text:?}"));
                assert_eq!(fast, slow, "{text:?}");
                true
            }
            Err(Declined) => false,
        }
    }

    /// The action table narrowed as a scan narrows it: some columns, a struct with
    /// some of its fields.
    fn narrowed() -> SchemaRef {
        let full = json_schema(Table::Action);
        let result = Field::new(
            "executionResult",
            DataType::Struct(Fields::from(vec![Field::new(
                "errorCode",
                DataType::Utf8,
                true,
            )])),
            true,
        );
        let keep = ["pipeline", "state", "executionAttempt"];
        let mut fields: Vec<Field> = keep
            .iter()
            .map(|k| full.field_with_name(k).unwrap().clone())
            .collect();
        fields.push(result);
        Arc::new(Schema::new(fields))
    }

    fn schemas() -> Vec<SchemaRef> {
        vec![
            json_schema(Table::Action),
            json_schema(Table::Pipeline),
            narrowed(),
            Arc::new(Schema::empty()),
        ]
    }

    #[test]
    fn records_as_the_transform_writes_them_take_the_fast_path() {
        let text = concat!(
            r#"{"timestamp":"2026-11-02T00:00:33Z","pipeline":"shop-api","version":"9","state":"FAILED","executionId":"49459c8f","stage":"Test","action":"Unit","type":{"owner":"AWS","category":"Test","provider":"CodeBuild","version":"1"},"executionAttempt":1,"executionResult":{"externalExecutionSummary":"said \"no\"\nthen caf\u00e9 \/ ünï 😀","errorCode":"JobFailed"}}"#,
            "\n",
            r#"{"timestamp":"2026-11-02T00:00:35Z","pipeline":"shop-api","state":"STARTED","executionAttempt":2147483647,"executionTrigger":{"triggerType":"Webhook","commitId":"abc"}}"#,
            "\r\n",
            "\n",
            r#"  { "pipeline" : "b" , "version" : 3.50 , "state" : true , "type" : null , "executionResult" : "oops" , "executionAttempt" : null , "extra" : [ 1 , { "x" : [ ] } , "y" ] }  "#,
            "\n",
            r#"{}"#,
        );
        for schema in schemas() {
            assert!(same_as_general(text, &schema), "{schema:?}");
        }
        let b = strict(text, &json_schema(Table::Action), 2).unwrap();
        assert_eq!(b.num_rows(), 4);
        let summary = b
            .column_by_name("executionResult")
            .unwrap()
            .as_any()
            .downcast_ref::<StructArray>()
            .unwrap()
            .column_by_name("externalExecutionSummary")
            .unwrap()
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap()
            .value(0)
            .to_owned();
        assert_eq!(summary, "said \"no\"\nthen café / ünï 😀");
    }

    #[test]
    fn text_it_would_read_otherwise_is_declined() {
        let action = json_schema(Table::Action);
        for text in [
            "[1,2]\n",
            "\u{feff}{}\n",
            "{\"pipeline\":\"a\" \"state\":\"b\"}\n",
            "{\"pipeline\":\"a\",}\n",
            "{,\"pipeline\":\"a\"}\n",
            "{\"version\":1-2}\n",
            "{\"version\":01}\n",
            "{\"pipe\\u006cine\":\"a\"}\n",
            "{\"pipeline\":\"a\",\"pipeline\":\"b\"}\n",
            "{\"pipeline\":\"\\ud83d\\ude00\"}\n",
            "{\"pipeline\":\"\\x\"}\n",
            "{\"executionAttempt\":\"2\"}\n",
            "{\"executionAttempt\":1.0}\n",
            "{\"executionAttempt\":2147483648}\n",
            "{\"pipeline\":\"a\"",
            "{\"pipeline\":nul}\n",
        ] {
            assert_eq!(strict(text, &action, 8).err(), Some(Declined), "{text:?}");
        }
        let deep = format!("{{\"x\":{}{}}}\n", "[".repeat(70), "]".repeat(70));
        assert_eq!(strict(&deep, &action, 8).err(), Some(Declined));
        let mut not_utf8 = b"{\"pipeline\":\"a".to_vec();
        not_utf8.extend_from_slice(&[0xff, b'"', b'}', b'\n']);
        let mut d = LineDecoder::new(&action, 8).unwrap();
        assert_eq!(d.decode(&not_utf8), Err(Declined));
    }

    const KEYS: &[&str] = &[
        "pipeline",
        "state",
        "version",
        "executionAttempt",
        "type",
        "executionResult",
        "executionTrigger",
        "category",
        "errorCode",
        "triggerType",
        "Pipeline",
        "STATE",
        "other",
        "",
    ];

    /// One of `good`, or now and then one of `bad`.
    fn either(r: &mut Rng, good: &[&str], bad: &[&str]) -> String {
        let from = if r.one_in(25) { bad } else { good };
        (*r.pick(from)).to_owned()
    }

    fn string(r: &mut Rng) -> String {
        let good = [
            "a", "ok", "é", "😀", "\\\"", "\\\\", "\\/", "\\n", "\\t", "\\b", "\\u00e9", "\\u0041",
            "\\u0000", "\t", ",", ":", "{",
        ];
        let bad = ["\\ud83d\\ude00", "\\x", "\\u12"];
        let n = r.below(4);
        let body: String = (0..n).map(|_| either(r, &good, &bad)).collect();
        format!("\"{body}\"")
    }

    fn value(r: &mut Rng, depth: usize) -> String {
        match r.below(if depth > 3 { 3 } else { 6 }) {
            0 => string(r),
            1 => either(
                r,
                &[
                    "0",
                    "-1",
                    "42",
                    "2147483647",
                    "-2147483648",
                    "1.5",
                    "1e3",
                    "-0",
                    "3.0E+2",
                ],
                &[
                    "2147483648",
                    "-2147483649",
                    "01",
                    "1-2",
                    "1.2.3",
                    "-",
                    "1.",
                    ".5",
                    "1e",
                ],
            ),
            2 => either(r, &["true", "false", "null"], &["nul", "tru", "nulll"]),
            3 | 4 => object(r, depth + 1),
            _ => {
                let n = r.below(3);
                let items: Vec<String> = (0..n).map(|_| value(r, depth + 1)).collect();
                format!("[{}]", items.join(sep(r)))
            }
        }
    }

    fn sep(r: &mut Rng) -> &'static str {
        match r.below(100) {
            0 => "",
            1 => ",,",
            2..=5 => " , ",
            6..=9 => ",\t",
            _ => ",",
        }
    }

    fn ws(r: &mut Rng) -> &'static str {
        match r.below(12) {
            0 => " ",
            1 => "\t",
            2 => " \r ",
            _ => "",
        }
    }

    fn object(r: &mut Rng, depth: usize) -> String {
        let n = r.below(6);
        let fields: Vec<String> = (0..n)
            .map(|_| {
                let key = *r.pick(KEYS);
                format!("{}\"{key}\"{}:{}{}", ws(r), ws(r), ws(r), value(r, depth))
            })
            .collect();
        let trailing = if r.one_in(100) { "," } else { "" };
        format!("{{{}{trailing}{}}}", fields.join(sep(r)), ws(r))
    }

    fn text(r: &mut Rng) -> String {
        let lines = 1 + r.below(5);
        let mut out = String::new();
        for _ in 0..lines {
            match r.below(100) {
                0 => out.push_str("[1]"),
                1 => out.push_str("\"a\""),
                _ => out.push_str(&object(r, 0)),
            }
            out.push_str(if r.one_in(10) { "\r\n" } else { "\n" });
        }
        out
    }

    #[test]
    fn whatever_the_fast_path_reads_the_general_reader_reads_the_same() {
        let mut r = Rng(0x5eed_cafe_f00d_1234);
        let schemas = schemas();
        let (mut taken, mut declined) = (0, 0);
        for _ in 0..4000 {
            let t = text(&mut r);
            for schema in &schemas {
                if same_as_general(&t, schema) {
                    taken += 1;
                } else {
                    declined += 1;
                }
            }
        }
        // Both sides are exercised: many cases are read, many declined.
        assert!(
            taken > 2000 && declined > 2000,
            "{taken} read, {declined} declined"
        );
    }
}
