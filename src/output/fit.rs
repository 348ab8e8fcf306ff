//! Fitting a table to a terminal: which width each column gets, and long cells cut
//! with an ellipsis (in the middle for URLs and paths, whose both ends say most, at the
//! end otherwise) instead of wrapping a URL over fifteen lines.

use unicode_width::UnicodeWidthStr;

/// The narrowest a column is cut to (a header may be cut too, as `pipel…`).
const MIN_COLUMN: usize = 6;

/// What a table's frame takes besides the cells: `│ a │ b │` is one character before
/// each column, two of padding per column and one at the end.
fn frame(columns: usize) -> usize {
    3 * columns + 1
}

/// The display width of `text` (wide characters count twice).
pub fn display_width(text: &str) -> usize {
    text.lines().map(UnicodeWidthStr::width).max().unwrap_or(0)
}

/// The width each column may take so the whole table fits in `total` characters:
/// every column wider than a common cap is cut to it (the widest give way first and
/// equally), none below [`MIN_COLUMN`] (or its natural width when that is smaller). A
/// table that cannot fit even so gets the minimums.
pub fn column_widths(natural: &[usize], total: usize) -> Vec<usize> {
    let budget = total.saturating_sub(frame(natural.len()));
    let capped = |cap: usize| natural.iter().map(|&w| w.min(cap)).sum::<usize>();
    let widest = natural.iter().copied().max().unwrap_or(0);
    if capped(widest) <= budget {
        return natural.to_vec();
    }
    if capped(MIN_COLUMN) >= budget {
        return natural.iter().map(|&w| w.min(MIN_COLUMN)).collect();
    }
    // The largest cap that fits: capped() grows with the cap.
    let (mut lo, mut hi) = (MIN_COLUMN, widest);
    while lo + 1 < hi {
        let mid = lo + (hi - lo) / 2;
        if capped(mid) <= budget {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let mut widths: Vec<usize> = natural.iter().map(|&w| w.min(lo)).collect();
    // What is left over goes, a character each, to the columns the cap cut.
    let mut left = budget - capped(lo);
    for (w, &n) in widths.iter_mut().zip(natural) {
        if left == 0 {
            break;
        }
        if n > *w {
            *w += 1;
            left -= 1;
        }
    }
    widths
}

/// `text` cut to at most `width` display columns with `…`: in the middle when it looks
/// like a URL or a path, at the end otherwise. Text that fits is returned as it is.
pub fn cut(text: &str, width: usize) -> String {
    if display_width(text) <= width {
        return text.to_owned();
    }
    // One line only: a cut cell shows where it starts.
    let line = text.lines().next().unwrap_or("");
    if width <= 1 {
        return "…".to_owned();
    }
    let keep = width - 1;
    let middle = line.contains("://") || line.starts_with('/');
    if middle {
        let head = take_width(line, keep.div_ceil(2));
        let tail = take_width_from_end(line, keep / 2);
        format!("{head}…{tail}")
    } else {
        format!("{}…", take_width(line, keep))
    }
}

fn take_width(text: &str, width: usize) -> &str {
    let mut used = 0;
    for (i, c) in text.char_indices() {
        used += UnicodeWidthStr::width(c.encode_utf8(&mut [0; 4]) as &str);
        if used > width {
            return &text[..i];
        }
    }
    text
}

fn take_width_from_end(text: &str, width: usize) -> &str {
    let mut used = 0;
    for (i, c) in text.char_indices().rev() {
        used += UnicodeWidthStr::width(c.encode_utf8(&mut [0; 4]) as &str);
        if used > width {
            return &text[i + c.len_utf8()..];
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_fit_the_total_taking_from_the_widest() {
        // pipeline 12, failures 8, url 120 into 80: the url gives way.
        let w = column_widths(&[12, 8, 120], 80);
        assert_eq!(w.iter().sum::<usize>() + frame(3), 80);
        assert_eq!(&w[..2], &[12, 8]);
        // Two wide columns share the cut.
        let w = column_widths(&[100, 100, 5], 60);
        assert_eq!(w.iter().sum::<usize>() + frame(3), 60);
        assert!(w[0].abs_diff(w[1]) <= 1, "{w:?}");
        assert_eq!(w[2], 5);
        // What fits stays as it is.
        assert_eq!(column_widths(&[3, 4], 80), vec![3, 4]);
        // A table that cannot fit gets the minimums, never zero.
        assert_eq!(column_widths(&[50, 50, 50], 10), vec![MIN_COLUMN; 3]);
    }

    #[test]
    fn cells_are_cut_with_an_ellipsis() {
        let url =
            "https://console.aws.amazon.com/codesuite/codebuild/projects/api/build/api:1234/log";
        let c = cut(url, 30);
        assert_eq!(display_width(&c), 30);
        assert!(
            c.starts_with("https://consol") && c.ends_with("1234/log"),
            "{c}"
        );
        assert!(c.contains('…'));
        let c = cut("The build failed because the unit tests did not pass", 20);
        assert_eq!(c, "The build failed be…");
        assert_eq!(cut("short", 20), "short");
        // Wide characters count twice; no character is split.
        let c = cut("日本語のエラーメッセージ", 9);
        assert!(display_width(&c) <= 9, "{c}");
        assert!(c.ends_with('…'));
        assert_eq!(cut("abc", 1), "…");
        // A multi-line cell shows its first line.
        assert_eq!(cut("first line\nsecond line", 8), "first l…");
    }
}
