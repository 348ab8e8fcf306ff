//! The event scanner's memory of the text between an event's values: for each member
//! of the last event read on this thread, the separator, key and colon before its
//! value. The events of a batch share their keys, order and spacing, so the next
//! event's members are mostly recognised by one comparison each instead of a scan of
//! their keys.

use std::cell::RefCell;

/// Members remembered per event; later members are read without the memory.
const MEMBERS: usize = 64;
/// Longest gap remembered (a separator, a key and a colon); longer ones are not.
const LONGEST: usize = 48;

/// One member's gap: its bytes, and where its key lies in them.
#[derive(Clone, Copy)]
struct Gap {
    bytes: [u8; LONGEST],
    len: u8,
    key_start: u8,
    key_len: u8,
    /// First member of its object (no comma before it).
    first: bool,
}

/// What a recognised gap gives: the key's range in the text, and where the value
/// begins (just after the colon).
pub(crate) struct Known {
    /// The key's range (without its quotes).
    pub(crate) key: std::ops::Range<usize>,
    /// Just past the colon.
    pub(crate) end: usize,
}

/// The gaps of the last event read on this thread, by member number (members counted
/// in the order they are read, nested objects' members included).
pub(crate) struct Gaps {
    gaps: Vec<Option<Gap>>,
}

thread_local! {
    static GAPS: RefCell<Gaps> = const { RefCell::new(Gaps { gaps: Vec::new() }) };
}

impl Gaps {
    /// Runs `read` with this thread's memory, or with an empty one if it is in use.
    pub(crate) fn with<T>(read: impl FnOnce(&mut Gaps) -> T) -> T {
        GAPS.with(|gaps| match gaps.try_borrow_mut() {
            Ok(mut gaps) => read(&mut gaps),
            Err(_) => read(&mut Gaps { gaps: Vec::new() }),
        })
    }

    /// Member `n`'s gap if `text` repeats it at `at` and it was, as now, `first` in
    /// its object or not: then the bytes are the same that were read as a separator,
    /// a key without escapes and a colon, and read the same again.
    #[inline(always)]
    pub(crate) fn recognise(&self, n: usize, first: bool, text: &[u8], at: usize) -> Option<Known> {
        let gap = self.gaps.get(n)?.as_ref()?;
        let len = usize::from(gap.len);
        if gap.first != first || !same(text.get(at..at + len)?, gap.bytes.get(..len)?) {
            return None;
        }
        let key_start = at + usize::from(gap.key_start);
        Some(Known {
            key: key_start..key_start + usize::from(gap.key_len),
            end: at + len,
        })
    }

    /// Remembers member `n`'s gap, `text[at..end]`, whose key is `key` (read from it).
    pub(crate) fn learn(
        &mut self,
        n: usize,
        first: bool,
        text: &[u8],
        at: usize,
        end: usize,
        key: std::ops::Range<usize>,
    ) {
        if n >= MEMBERS {
            return;
        }
        if self.gaps.len() <= n {
            self.gaps.resize(n + 1, None);
        }
        let gap = match (text.get(at..end), key.start.checked_sub(at)) {
            (Some(bytes), Some(key_start)) if bytes.len() <= LONGEST => {
                let mut gap = Gap {
                    bytes: [0; LONGEST],
                    len: 0,
                    key_start: 0,
                    key_len: 0,
                    first,
                };
                gap.bytes[..bytes.len()].copy_from_slice(bytes);
                // All under LONGEST (48), so they fit a byte.
                gap.len = u8::try_from(bytes.len()).unwrap_or(0);
                gap.key_start = u8::try_from(key_start).unwrap_or(0);
                gap.key_len = u8::try_from(key.len()).unwrap_or(0);
                Some(gap)
            }
            _ => None,
        };
        self.gaps[n] = gap;
    }
}

/// `a == b` for slices of the same length, eight bytes at a time: gaps are short,
/// and a call to `memcmp` cost more than the comparison.
#[inline(always)]
fn same(a: &[u8], b: &[u8]) -> bool {
    let word = |s: &[u8]| -> u64 {
        let mut w = [0u8; 8];
        w.copy_from_slice(s);
        u64::from_le_bytes(w)
    };
    if a.len() != b.len() {
        return false;
    }
    if a.len() < 8 {
        return a == b;
    }
    // Whole words, then the last eight bytes (overlapping the last word).
    let whole = a
        .chunks_exact(8)
        .zip(b.chunks_exact(8))
        .all(|(x, y)| word(x) == word(y));
    let tail = a.len() - 8;
    whole && word(&a[tail..]) == word(&b[tail..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_are_the_same_only_when_every_byte_is() {
        for len in 0..=LONGEST {
            let a: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            assert!(same(&a, &a.clone()), "{len}");
            for at in 0..len {
                let mut b = a.clone();
                b[at] ^= 0x80;
                assert!(!same(&a, &b), "{len} at {at}");
            }
            assert!(!same(&a, &[a.as_slice(), b"x"].concat()));
        }
    }

    #[test]
    fn a_gap_is_recognised_only_where_it_is_repeated_in_the_same_place() {
        let mut gaps = Gaps { gaps: Vec::new() };
        let a = br#"{"x":1, "key" :2}"#;
        // Member 1: `, "key" :` from 6 to 15, key at 9..12.
        gaps.learn(1, false, a, 6, 15, 9..12);
        let b = br#"{"yy":3, "key" :4}"#;
        let known = gaps.recognise(1, false, b, 7).expect("the same gap");
        assert_eq!(&b[known.key], b"key");
        assert_eq!(known.end, 16);
        // Another place in the object, another member number, another text.
        assert!(gaps.recognise(1, true, b, 7).is_none());
        assert!(gaps.recognise(0, false, b, 7).is_none());
        assert!(gaps.recognise(1, false, b, 6).is_none());
        assert!(
            gaps.recognise(1, false, br#"{"yy":3, "kez" :4}"#, 7)
                .is_none()
        );
        // Cut short by the end of the text.
        assert!(gaps.recognise(1, false, br#"{"yy":3, "key" "#, 7).is_none());
        // Too long a gap, or one past the member limit, is not remembered.
        let long = format!(r#"{{"{}":1}}"#, "k".repeat(60));
        gaps.learn(0, true, long.as_bytes(), 1, 64, 2..62);
        assert!(gaps.recognise(0, true, long.as_bytes(), 1).is_none());
        gaps.learn(MEMBERS, false, a, 6, 15, 9..12);
        assert!(gaps.recognise(MEMBERS, false, a, 6).is_none());
    }
}
