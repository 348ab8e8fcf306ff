//! Finding the bytes a JSON string cannot hold as they are (`"`, `\` and the control
//! characters): where a string ends, or where writing one must escape; text that
//! needs no UTF-8 check (printable ASCII); and the end of JSON whitespace. Eight bytes at a time in safe code, for the
//! event scanner, the record writer and the Lambda's request scanner.

/// One in every byte of a word.
const ONES: u64 = u64::MAX / 255;
/// The high bit of every byte.
const HIGH: u64 = ONES << 7;

/// Index of the first byte at or after `from` that a JSON string cannot hold as it is
/// (`"`, `\` or a control character), or `bytes.len()`.
///
/// Eight bytes at a time (the SWAR test serde_json uses): the lowest flagged byte is
/// always a true match, because a borrow only runs from a matching byte upwards.
pub(crate) fn find_json_special(bytes: &[u8], from: usize) -> usize {
    let mut i = from;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let c = u64::from_le_bytes(word);
        let ctrl = c.wrapping_sub(ONES * 0x20) & !c;
        let q = c ^ (ONES * u64::from(b'"'));
        let quote = q.wrapping_sub(ONES) & !q;
        let b = c ^ (ONES * u64::from(b'\\'));
        let backslash = b.wrapping_sub(ONES) & !b;
        let found = (ctrl | quote | backslash) & HIGH;
        if found != 0 {
            return i + (found.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while let Some(&c) = bytes.get(i) {
        if is_special(c) {
            return i;
        }
        i += 1;
    }
    bytes.len()
}

/// Moves `pos` past JSON whitespace (space, tab, newline, carriage return) in `bytes`.
#[inline(always)]
pub fn skip_ws(bytes: &[u8], pos: &mut usize) {
    while let Some(b' ' | b'\n' | b'\t' | b'\r') = bytes.get(*pos) {
        *pos += 1;
    }
}

/// Whether every byte is printable ASCII (0x20 to 0x7f): text that is valid UTF-8 and
/// a valid JSON string body unless it holds `"` or `\`. Eight bytes at a time.
pub fn is_printable_ascii(bytes: &[u8]) -> bool {
    let mut words = bytes.chunks_exact(8);
    let printable = words.by_ref().all(|chunk| {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let c = u64::from_le_bytes(word);
        // Without high bits, a byte is at least 0x20 exactly when adding 0x60 sets
        // its high bit (no carry leaves a byte: 0x7f + 0x60 < 0x100).
        c & HIGH == 0 && c.wrapping_add(ONES * 0x60) & HIGH == HIGH
    });
    printable && words.remainder().iter().all(|&b| (0x20..0x80).contains(&b))
}

fn is_special(c: u8) -> bool {
    c < 0x20 || c == b'"' || c == b'\\'
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(b: &[u8], from: usize) -> usize {
        (from..b.len())
            .find(|&i| is_special(b[i]))
            .unwrap_or(b.len())
    }

    #[test]
    fn printable_ascii_is_told_from_every_other_byte_in_every_place() {
        for len in 0..=24 {
            let text = vec![b'~'; len];
            assert!(is_printable_ascii(&text));
            for at in 0..len {
                for c in 0..=255u8 {
                    let mut bytes = text.clone();
                    bytes[at] = c;
                    assert_eq!(
                        is_printable_ascii(&bytes),
                        (0x20..0x80).contains(&c),
                        "{c:#x} at {at} of {len}"
                    );
                }
            }
        }
    }

    #[test]
    fn special_bytes_are_found_wherever_they_are() {
        // Every special byte (and none) at every position of strings around the
        // search's 8-byte steps, searched from every start.
        for len in [0, 1, 7, 8, 15, 16, 17, 31, 32, 33, 64, 100] {
            for special in [
                None,
                Some(b'"'),
                Some(b'\\'),
                Some(0u8),
                Some(0x1f),
                Some(b'\n'),
            ] {
                for at in 0..len.max(1) {
                    let mut bytes = vec![b'a'; len];
                    if let (Some(c), Some(slot)) = (special, bytes.get_mut(at)) {
                        *slot = c;
                    }
                    // A later quote, so a control character must win over it.
                    bytes.push(b'"');
                    for from in 0..=bytes.len() {
                        assert_eq!(
                            find_json_special(&bytes, from),
                            naive(&bytes, from),
                            "{bytes:?} from {from}"
                        );
                    }
                }
            }
        }
        assert_eq!(find_json_special(b"abc", 7), 3);
        assert_eq!(find_json_special("é\u{7f}中\"".as_bytes(), 0), 6);
    }
}
