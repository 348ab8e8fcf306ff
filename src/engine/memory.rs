//! How much memory the local engine may use: sizes as people write them (`512MB`,
//! `2GiB`) and a default derived from the machine.

use std::fmt;

/// The smallest limit accepted: below it not even a small report can run.
pub const MIN_MEMORY_LIMIT: u64 = 16 << 20;
/// The largest limit accepted (1 PiB): anything above is a typo, not a machine.
pub const MAX_MEMORY_LIMIT: u64 = 1 << 50;
/// The default when the machine's memory cannot be read.
const FALLBACK_MEMORY_LIMIT: u64 = 2 << 30;

/// A size that is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SizeError {
    /// Not a number followed by a unit.
    #[error("{0:?} is not a size (e.g. 512MB, 2GiB, 1.5GB)")]
    Syntax(String),
    /// A memory size outside the accepted range.
    #[error("{0:?} is out of range: from 16MiB to 1PiB")]
    Range(String),
    /// A size too large for 64 bits.
    #[error("{0:?} is too large")]
    TooLarge(String),
}

/// Parses a memory size ([`parse_bytes`]); sizes outside
/// [`MIN_MEMORY_LIMIT`]..=[`MAX_MEMORY_LIMIT`] are refused.
pub fn parse_size(text: &str) -> Result<u64, SizeError> {
    let bytes = parse_bytes(text).map_err(|e| match e {
        SizeError::TooLarge(t) => SizeError::Range(t),
        other => other,
    })?;
    if !(MIN_MEMORY_LIMIT..=MAX_MEMORY_LIMIT).contains(&bytes) {
        return Err(SizeError::Range(text.to_owned()));
    }
    Ok(bytes)
}

/// Parses a size: a decimal number (`2`, `1.5`) and an optional unit, `B`,
/// `KB`/`MB`/`GB`/`TB` (powers of 1000) or `KiB`/`MiB`/`GiB`/`TiB` (powers of 1024),
/// case-insensitive; no sign, no exponent; what does not fit in 64 bits is refused.
pub fn parse_bytes(text: &str) -> Result<u64, SizeError> {
    let syntax = || SizeError::Syntax(text.to_owned());
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        _ => return Err(syntax()),
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return Err(syntax());
    }
    if !fraction.bytes().all(|b| b.is_ascii_digit())
        || (number.contains('.') && fraction.is_empty())
    {
        return Err(syntax());
    }
    let range = || SizeError::TooLarge(text.to_owned());
    // Integer arithmetic only, so no value rounds or overflows silently.
    let whole: u64 = whole.parse().map_err(|_| range())?;
    let mut bytes = whole.checked_mul(factor).ok_or_else(range)?;
    let mut scale = factor;
    for digit in fraction.bytes().take(18) {
        scale /= 10;
        bytes = bytes
            .checked_add(u64::from(digit - b'0') * scale)
            .ok_or_else(range)?;
    }
    Ok(bytes)
}

/// A byte count as a short size, for messages: in the powers (of 1024 or of 1000)
/// that divide it best, as it was likely given (`2.0 GiB`, `64.0 MB`).
pub struct Size(pub u64);

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let exact = |base: u64| {
            let (mut n, mut k) = (self.0, 0);
            while n != 0 && n % base == 0 {
                n /= base;
                k += 1;
            }
            k
        };
        let (base, units) = if exact(1024) >= exact(1000) {
            (1024.0, ["B", "KiB", "MiB", "GiB", "TiB", "PiB"])
        } else {
            (1000.0, ["B", "KB", "MB", "GB", "TB", "PB"])
        };
        let mut v = self.0 as f64;
        let mut u = 0;
        while v >= base && u + 1 < units.len() {
            v /= base;
            u += 1;
        }
        if u == 0 {
            write!(f, "{} B", self.0)
        } else {
            write!(f, "{v:.1} {}", units[u])
        }
    }
}

/// The default limit: half of the memory this process can have (the machine's, or
/// its cgroup's when that is lower), so a runaway query fails before the system
/// kills the process.
pub fn default_memory_limit() -> u64 {
    let total = [meminfo_total(), cgroup_limit()]
        .into_iter()
        .flatten()
        .min();
    match total {
        Some(t) => (t / 2).clamp(MIN_MEMORY_LIMIT, MAX_MEMORY_LIMIT),
        None => FALLBACK_MEMORY_LIMIT,
    }
}

/// `MemTotal` of /proc/meminfo, in bytes.
fn meminfo_total() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// The cgroup v2 (or v1) memory limit of this process, when it has one.
fn cgroup_limit() -> Option<u64> {
    [
        "/sys/fs/cgroup/memory.max",
        "/sys/fs/cgroup/memory/memory.limit_in_bytes",
    ]
    .iter()
    .find_map(|p| std::fs::read_to_string(p).ok()?.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_strictly() {
        assert_eq!(parse_size("512MB"), Ok(512_000_000));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert_eq!(parse_size("1.5gb"), Ok(1_500_000_000));
        assert_eq!(parse_size("64 MiB"), Ok(64 << 20));
        assert_eq!(parse_size("100000000"), Ok(100_000_000));
        assert_eq!(parse_size("1TiB"), Ok(1 << 40));
        for bad in [
            "", "MB", "-1", "+5MB", "1e999", "1e3MB", "5 meg", "1..5GB", "1.GB", ".5GB", "0x10MB",
            "NaN", "inf",
        ] {
            assert!(
                matches!(parse_size(bad), Err(SizeError::Syntax(_))),
                "{bad}"
            );
        }
        for absurd in [
            "99999999TB",
            "0",
            "1MB",
            "2048TiB",
            "18446744073709551616",
            "99999999999999999999999",
        ] {
            assert!(
                matches!(parse_size(absurd), Err(SizeError::Range(_))),
                "{absurd}"
            );
        }
    }

    #[test]
    fn the_default_is_within_the_accepted_range() {
        let d = default_memory_limit();
        assert!((MIN_MEMORY_LIMIT..=MAX_MEMORY_LIMIT).contains(&d), "{d}");
        assert_eq!(Size(64 << 20).to_string(), "64.0 MiB");
        assert_eq!(Size(512).to_string(), "512 B");
        assert_eq!(Size(64_000_000).to_string(), "64.0 MB");
    }
}
