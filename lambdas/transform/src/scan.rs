//! The request scanner: reads the records of a plain Firehose request in place
//! (`{"invocationId": "…", …, "records": [{"recordId": "…",
//! "approximateArrivalTimestamp": 1…, "data": "…"}, …]}`, fields in any order, any
//! whitespace), whole ([`scan_request`]) or piece by piece as the body arrives
//! ([`Streaming`]). Anything else is left to serde_json.

use std::ops::Range;

use cplogs::core::event::Str;
use cplogs::core::special::{is_printable_ascii, skip_ws};

use crate::batch::{BorrowedRecord, RawData};

/// The records of a plain request, or `None` to leave the request to serde_json.
///
/// Strings with escapes, other kinds of values, repeated or missing fields all give
/// `None`. The base64 text is found with SIMD and checked later, in parallel: when it
/// is not base64 the renderer checks that it is a valid JSON string.
pub(crate) fn scan_request(body: &[u8]) -> Option<Vec<BorrowedRecord<'_>>> {
    let mut c = Scan { body, pos: 0 };
    c.head()?;
    // A record is at least ~40 bytes of request; reserving for that many saves
    // regrowing the list.
    let mut records = Vec::with_capacity(body.len() / 1024);
    if c.peek()? == b']' {
        c.pos += 1;
    } else {
        loop {
            records.push(c.record()?.resolve(body)?);
            if c.list_closed()? {
                break;
            }
        }
    }
    c.tail()?;
    Some(records)
}

/// Where a record's fields lie in the text it was scanned from.
pub(crate) struct RecordSpan {
    id: Range<usize>,
    data: Range<usize>,
}

impl RecordSpan {
    /// The record, borrowed from `text` (the text it was scanned from, or a copy of
    /// it with the same offsets).
    pub(crate) fn resolve(self, text: &[u8]) -> Option<BorrowedRecord<'_>> {
        let id = std::str::from_utf8(text.get(self.id)?).ok()?;
        Some(BorrowedRecord {
            record_id: Str::from(id),
            data: RawData::Unchecked(text.get(self.data)?),
        })
    }
}

/// Where the scan of a request that arrives in pieces stands.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    /// Before `"records": [`.
    Head,
    /// Right after the `[`.
    Open,
    /// After a record's `,`.
    Next,
    /// After the `]`: the other fields, then the end.
    Tail,
    /// The whole request read.
    Done,
}

/// The scan of a request read as it arrives: [`Streaming::step`] is handed the text
/// not yet consumed each time more has arrived, and gives every record it completes
/// exactly as [`scan_request`] reads the whole body.
pub(crate) struct Streaming {
    phase: Phase,
}

impl Streaming {
    /// A scan at the start of a request.
    pub(crate) fn new() -> Streaming {
        Streaming { phase: Phase::Head }
    }

    /// Whether the scan has read the whole request.
    pub(crate) fn done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// Scans `text` (the request from where the last step stopped to what has arrived;
    /// `complete` when that is the rest of the body), pushing the span of each record
    /// it completes into `records` (offsets into `text`). Returns how many bytes of
    /// `text` it is done with, or `None` when the request is not of the plain shape
    /// (which can only be known for sure at the end, so `None` comes with `complete`
    /// or with bytes no plain request holds).
    pub(crate) fn step(
        &mut self,
        text: &[u8],
        complete: bool,
        records: &mut Vec<RecordSpan>,
    ) -> Option<usize> {
        let mut c = Scan { body: text, pos: 0 };
        let mut done = 0;
        // Text that ends inside a value waits for more, unless there is no more.
        let short = |done| (!complete).then_some(done);
        loop {
            match self.phase {
                Phase::Head => {
                    if c.head().is_none() {
                        return short(done);
                    }
                    self.phase = Phase::Open;
                }
                Phase::Open | Phase::Next => {
                    if self.phase == Phase::Open {
                        match c.peek() {
                            None => return short(done),
                            Some(b']') => {
                                c.pos += 1;
                                self.phase = Phase::Tail;
                                done = c.pos;
                                continue;
                            }
                            Some(_) => {}
                        }
                    }
                    let Some(record) = c.record() else {
                        return short(done);
                    };
                    match c.list_closed() {
                        None => return short(done),
                        Some(closed) => {
                            records.push(record);
                            self.phase = if closed { Phase::Tail } else { Phase::Next };
                        }
                    }
                }
                Phase::Tail if !complete => return Some(done),
                Phase::Tail => {
                    c.tail()?;
                    self.phase = Phase::Done;
                }
                Phase::Done => return Some(c.pos),
            }
            done = c.pos;
        }
    }
}

struct Scan<'a> {
    body: &'a [u8],
    pos: usize,
}

impl<'a> Scan<'a> {
    fn ws(&mut self) {
        skip_ws(self.body, &mut self.pos);
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.body.get(self.pos).copied()
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.pos += 1)
    }

    /// A string without escapes: the range of its content, not yet checked for
    /// control characters or UTF-8.
    fn raw_string(&mut self) -> Option<Range<usize>> {
        self.eat(b'"')?;
        let rest = self.body.get(self.pos..)?;
        let end = memchr::memchr2(b'"', b'\\', rest)?;
        if rest.get(end) != Some(&b'"') {
            return None;
        }
        let range = self.pos..self.pos + end;
        self.pos += end + 1;
        Some(range)
    }

    /// A string without escapes, checked as serde_json checks the strings it reads:
    /// the range of its content.
    fn plain_string(&mut self) -> Option<Range<usize>> {
        let range = self.raw_string()?;
        let raw = self.body.get(range.clone())?;
        // Printable ASCII, the usual key and record id, is valid as it is; std's UTF-8
        // check costs a hundred instructions even on a short string.
        if !is_printable_ascii(raw) {
            if raw.iter().any(|&b| b < 0x20) {
                return None;
            }
            std::str::from_utf8(raw).ok()?;
        }
        Some(range)
    }

    /// A key without escapes and its `:`.
    fn key(&mut self) -> Option<&'a [u8]> {
        let range = self.plain_string()?;
        self.eat(b':')?;
        self.body.get(range)
    }

    /// The request object up to and including the `[` of its records; the fields
    /// before them must be plain strings (invocationId, deliveryStreamArn, region,
    /// sourceKinesisStreamArn).
    fn head(&mut self) -> Option<()> {
        self.eat(b'{')?;
        if self.peek()? == b'}' {
            return None; // no records
        }
        loop {
            if self.key()? == b"records" {
                return self.eat(b'[');
            }
            self.plain_string()?;
            match self.peek()? {
                b',' => self.pos += 1,
                _ => return None, // `}`: no records
            }
        }
    }

    /// After a record: `Some(true)` at the `]`, `Some(false)` at a `,`, each
    /// consumed.
    fn list_closed(&mut self) -> Option<bool> {
        let closed = match self.peek()? {
            b']' => true,
            b',' => false,
            _ => return None,
        };
        self.pos += 1;
        Some(closed)
    }

    /// After the records' `]`: the other fields (plain strings, records never again),
    /// the `}` and nothing but whitespace after it.
    fn tail(&mut self) -> Option<()> {
        loop {
            match self.peek()? {
                b',' => {
                    self.pos += 1;
                    if self.key()? == b"records" {
                        return None;
                    }
                    self.plain_string()?;
                }
                b'}' => {
                    self.pos += 1;
                    break;
                }
                _ => return None,
            }
        }
        self.ws();
        (self.pos == self.body.len()).then_some(())
    }

    /// A record object: where its id and data lie.
    fn record(&mut self) -> Option<RecordSpan> {
        self.eat(b'{')?;
        let (mut id, mut data, mut arrival) = (None, None, false);
        if self.peek()? == b'}' {
            return None; // no id, no data
        }
        loop {
            match self.key()? {
                b"recordId" if id.is_none() => id = Some(self.plain_string()?),
                b"data" if data.is_none() => data = Some(self.raw_string()?),
                b"approximateArrivalTimestamp" if !arrival => {
                    arrival = true;
                    self.ws();
                    let start = self.pos;
                    while self.body.get(self.pos).is_some_and(u8::is_ascii_digit) {
                        self.pos += 1;
                    }
                    // Digits, without a leading zero (JSON's integers).
                    match self.body.get(start..self.pos)? {
                        [b'0', _, ..] | [] => return None,
                        _ => {}
                    }
                }
                _ => return None,
            }
            match self.peek()? {
                b',' => self.pos += 1,
                b'}' => {
                    self.pos += 1;
                    break;
                }
                _ => return None,
            }
        }
        Some(RecordSpan {
            id: id?,
            data: data?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The differential tests in tests/batch.rs compare outcomes; this checks that
    /// plain requests do take the scanner's path, and odd ones serde_json's.
    #[test]
    fn plain_requests_are_scanned_and_odd_ones_left_to_serde() {
        let plain = r#"{"invocationId":"i","deliveryStreamArn":"a","region":"r","records":[{"recordId":"1","approximateArrivalTimestamp":1700000000000,"data":"e30="}, {"data":"!!","recordId":"2","approximateArrivalTimestamp":0}]}"#;
        let records = scan_request(plain.as_bytes()).expect("scanned");
        assert_eq!(records.len(), 2);
        assert_eq!(&*records[1].record_id, "2");
        assert_eq!(records[1].data.bytes(), b"!!");
        assert!(scan_request(b" { \"records\" : [ ] } ").is_some());
        // Ids beyond printable ASCII: valid UTF-8 and DEL are read here, as serde_json
        // reads them; invalid UTF-8 is left to it (which refuses it).
        for id in ["é中", "a\u{7f}", "\u{10ffff}"] {
            let request = format!(r#"{{"records":[{{"recordId":"{id}","data":"e30="}}]}}"#);
            let records = scan_request(request.as_bytes()).expect("scanned");
            assert_eq!(&*records[0].record_id, id);
        }
        assert!(scan_request(b"{\"records\":[{\"recordId\":\"\xff\",\"data\":\"\"}]}").is_none());
        assert!(scan_request(b"{\"records\":[{\"recordId\":\"a\xc3\",\"data\":\"\"}]}").is_none());
        for odd in ODD {
            assert!(scan_request(odd.as_bytes()).is_none(), "{odd}");
        }
    }

    const ODD: [&str; 13] = [
        r#"{"records":[,{"recordId":"1","data":""}]}"#,
        r#"{"records":[{"recordId":"1\n","data":"e30="}]}"#,
        r#"{"records":[{"recordId":"1","data":"e30\/"}]}"#,
        r#"{"records":[{"recordId":"1","data":"e30=","x":1}]}"#,
        r#"{"records":[{"recordId":"1","data":"e30=","data":"e30="}]}"#,
        r#"{"records":[{"recordId":"1"}]}"#,
        r#"{"records":[{"recordId":"1","approximateArrivalTimestamp":1.5,"data":""}]}"#,
        r#"{"records":[],"records":[]}"#,
        r#"{"records":[],"n":1}"#,
        r#"{"records":[]} x"#,
        r#"{"records":[{"recordId":"1","data":""},]}"#,
        r#"{"region":"r"}"#,
        r#"[]"#,
    ];

    /// Every split of a request into two pieces gives what the whole scan gives.
    #[test]
    fn a_request_in_pieces_reads_as_the_whole() {
        let plain = r#" {"invocationId":"i", "records" : [ {"recordId":"1","approximateArrivalTimestamp":17,"data":"e30="} ,{"data":"!!","recordId":"2"}, {"recordId":"3","data":""} ] , "region":"r" } "#;
        let mut requests: Vec<&str> = vec![plain, r#"{"records":[]}"#];
        requests.extend(ODD);
        for request in requests {
            let body = request.as_bytes();
            let whole = scan_request(body).map(|records| {
                records
                    .iter()
                    .map(|r| (r.record_id.to_string(), r.data.bytes().to_vec()))
                    .collect::<Vec<_>>()
            });
            for cut in 0..=body.len() {
                let mut scan = Streaming::new();
                let mut got = Vec::new();
                let mut start = 0;
                let mut ok = true;
                for end in [cut, body.len()] {
                    let mut spans = Vec::new();
                    let Some(used) = scan.step(&body[start..end], end == body.len(), &mut spans)
                    else {
                        ok = false;
                        break;
                    };
                    for span in spans {
                        let r = span.resolve(&body[start..end]).unwrap();
                        got.push((r.record_id.to_string(), r.data.bytes().to_vec()));
                    }
                    start += used;
                }
                let streamed = (ok && scan.done()).then_some(got);
                assert_eq!(streamed, whole, "{request} cut at {cut}");
            }
        }
    }
}
